#!/usr/bin/env bash
# Builds the real Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler), etcd and Helm from the Go modules pinned under hack/k8s/*/go.mod, into a
# cache directory keyed by their versions, so only the first run pays. Prints that directory
# on its last line of stdout (progress goes to stderr).
#
#   hack/k8s/build.sh            build what is missing, print the bin directory
#   hack/k8s/build.sh --bin-dir  only print the bin directory (builds nothing)
#   hack/k8s/build.sh --with-kubelet  also build the kubelet (same module and version stamps;
#                                     only hack/k8s/kubelet-node needs it)
#
# KC_K8S_CACHE overrides the cache root (default ${XDG_CACHE_HOME:-~/.cache}/kong-cluster).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
go=${KC_GO:-/usr/local/go/bin/go}
[ -x "$go" ] || go=$(command -v go || true)

# The version a module pins, read from its go.mod (a require line, alone or in a block).
pinned() { awk -v m="$2" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m { print $2; exit }' "$here/$1/go.mod"; }

k8s_version=$(pinned kubernetes k8s.io/kubernetes)
etcd_version=$(pinned etcd go.etcd.io/etcd/server/v3)
helm_version=$(pinned helm helm.sh/helm/v4)
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] && [ -n "$helm_version" ] ||
  { echo "k8s build: cannot read the pinned versions from $here/*/go.mod" >&2; exit 1; }
cache_root=${KC_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kong-cluster}
bin_dir="$cache_root/k8s-$k8s_version-etcd-$etcd_version-helm-$helm_version/bin"

with_kubelet=0
case "${1:-}" in
  --bin-dir)
    echo "$bin_dir"
    exit 0
    ;;
  --with-kubelet) with_kubelet=1 ;;
  "") ;;
  *)
    echo "usage: $0 [--bin-dir | --with-kubelet]" >&2
    exit 2
    ;;
esac

# Version stamps a release build links in (`go build` of a module leaves the defaults:
# Kubernetes would call itself v0.0.0-master, which version checks and charts' kubeVersion
# constraints reject, and Helm v4.3).
k8s_minor=${k8s_version#v1.}
k8s_minor=${k8s_minor%%.*}
k8s_stamp=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_stamp+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$k8s_minor -X $p.gitTreeState=clean"
done
helm_stamp="-X helm.sh/helm/v4/internal/version.version=$helm_version"

# name  module-dir  package
targets=(
  "etcd                    etcd       go.etcd.io/etcd/server/v3"
  "kube-apiserver          kubernetes k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler          kubernetes k8s.io/kubernetes/cmd/kube-scheduler"
  "helm                    helm       helm.sh/helm/v4/cmd/helm"
)
if [ "$with_kubelet" = 1 ]; then
  targets+=("kubelet                 kubernetes k8s.io/kubernetes/cmd/kubelet")
fi

mkdir -p "$bin_dir"
# One builder at a time (tests started in parallel on a fresh machine all land here).
exec 9>"$bin_dir/.lock"
flock 9

missing=()
for t in "${targets[@]}"; do
  read -r name _ _ <<<"$t"
  [ -x "$bin_dir/$name" ] || missing+=("$t")
done

if [ ${#missing[@]} -gt 0 ]; then
  [ -x "$go" ] || { echo "k8s build: no Go toolchain (looked for /usr/local/go/bin/go and go)" >&2; exit 1; }
  echo "k8s build: building ${#missing[@]} binaries into $bin_dir" >&2
  echo "k8s build: Kubernetes $k8s_version, etcd $etcd_version, Helm $helm_version with $("$go" env GOVERSION)" >&2
  echo "k8s build: the first build takes 20-30 minutes on 2 cores (30 measured for all six" \
    "beside a C++ build); later runs use this cache and take no time" >&2
  start=$(date +%s)
  # One `go build` per module, with all of that module's missing binaries: Go then schedules
  # every package of the Kubernetes binaries in one graph, so the links and the last big
  # packages of one binary overlap the compiling of the others instead of running alone.
  declare -A names_of=() pkgs_of=()
  dirs=()
  for t in "${missing[@]}"; do
    read -r name dir pkg <<<"$t"
    [ -n "${names_of[$dir]:-}" ] || dirs+=("$dir")
    names_of[$dir]+=" $name"
    pkgs_of[$dir]+=" $pkg"
  done
  i=0
  for dir in "${dirs[@]}"; do
    i=$((i + 1))
    case $dir in
      kubernetes) stamp=$k8s_stamp ;;
      helm) stamp=$helm_stamp ;;
      *) stamp="" ;;
    esac
    echo "k8s build: [$i/${#dirs[@]}]${names_of[$dir]} at +$(($(date +%s) - start))s" >&2
    # Into a temporary directory first: an interrupted build never looks cached.
    partial=$(mktemp -d "$bin_dir/.partial.XXXXXX")
    read -ra names <<<"${names_of[$dir]}"
    read -ra pkgs <<<"${pkgs_of[$dir]}"
    # With several packages go build names each executable after its import path's last
    # element (cmd/kube-apiserver: kube-apiserver); one package gets its name here (etcd's
    # path ends in the major version, /v3).
    out=$partial/
    [ ${#pkgs[@]} -gt 1 ] || out=$partial/${names[0]}
    (cd "$here/$dir" && GOFLAGS=-buildvcs=false "$go" build -trimpath -ldflags="-s -w $stamp" \
      -o "$out" "${pkgs[@]}")
    for name in "${names[@]}"; do
      mv "$partial/$name" "$bin_dir/$name"
    done
    rm -rf "$partial"
  done
  echo "k8s build: done in $(($(date +%s) - start))s" >&2
fi
echo "$bin_dir"
