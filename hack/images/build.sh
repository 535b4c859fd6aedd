#!/usr/bin/env bash
# Builds the agent and operator images from deploy/docker/<name>.Dockerfile around the binaries
# the project's build made (hack/build.sh), so the images carry exactly what the tests tested.
#
#   hack/images/build.sh [--build-dir DIR] [agent|operator]...
#       DIR: the build tree whose bin/ holds the binaries (default: build/ of the repository);
#       names default to both. Prints "name tag" per image on stdout, progress on stderr.
#
# Stages <DIR>/image-context/: `objcopy --strip-all` copies of the binaries (the code is
# byte-identical to the tested binary; only the debug sections and the symbol table go). Each image is labelled with
# the sha256 and the GNU build id of the tested binaries (kong-cluster.sha256.<binary>,
# kong-cluster.build-id.<binary>); tests/k8s/nodes/test_images.py compares them with <DIR>/bin.
# Plain `docker build` (the legacy builder): no BuildKit. Images are tagged
# kong-cluster/<name>:dev; the base image comes from hack/images/base.sh. Timings are in
# docs/kubernetes-nodes.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
usage() { echo "usage: $0 [--build-dir DIR] [agent|operator]..." >&2; exit 2; }

build_dir=$ROOT/build
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) [ $# -ge 2 ] || usage; build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    agent|operator) names+=("$1"); shift ;;
    *) usage ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(agent operator)

binaries_of() {
  case $1 in
    agent) echo kong-cluster ;;
    operator) echo kong-cluster-operator kong-cluster ;;
  esac
}

missing=()
for b in $(for name in "${names[@]}"; do binaries_of "$name"; done | tr ' ' '\n' | sort -u); do
  [ -x "$build_dir/bin/$b" ] || missing+=("$build_dir/bin/$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "images: missing ${missing[*]}: run hack/build.sh first (or pass --build-dir DIR of a build that has them)" >&2
  exit 1
fi
command -v objcopy >/dev/null || { echo "images: objcopy missing (binutils; hack/deps.sh)" >&2; exit 1; }

"$ROOT/hack/images/base.sh" >/dev/null

context=$build_dir/image-context
mkdir -p "$context"
declare -A staged=()
for name in "${names[@]}"; do
  labels=()
  for b in $(binaries_of "$name"); do
    if [ -z "${staged[$b]:-}" ]; then
      # Into a temporary name first: an interrupted copy never looks staged.
      objcopy --strip-all "$build_dir/bin/$b" "$context/$b.tmp"
      mv "$context/$b.tmp" "$context/$b"
      staged[$b]=1
    fi
    sha=$(sha256sum "$build_dir/bin/$b" | cut -d' ' -f1)
    build_id=$(readelf -n "$build_dir/bin/$b" | sed -n 's/^ *Build ID: *//p')
    labels+=(--label "kong-cluster.sha256.$b=$sha" --label "kong-cluster.build-id.$b=${build_id:-none}")
  done
  tag="kong-cluster/$name:dev"
  start=$SECONDS
  echo "images: building $tag from deploy/docker/$name.Dockerfile around $(binaries_of "$name") of $build_dir/bin" >&2
  # Docker's step-by-step output only when the build fails: a test that builds images around its
  # run keeps its output to what the test says (CI shows a failing test's output cut short).
  build_log=$(mktemp)
  if ! DOCKER_BUILDKIT=0 docker build --force-rm "${labels[@]}" -f "$ROOT/deploy/docker/$name.Dockerfile" \
    -t "$tag" "$context" >"$build_log" 2>&1; then
    cat "$build_log" >&2
    rm -f "$build_log"
    echo "images: docker build of $tag failed" >&2
    exit 1
  fi
  rm -f "$build_log"
  size=$(docker image inspect -f '{{.Size}}' "$tag")
  echo "images: $tag built in $((SECONDS - start))s, $((size / 1000000)) MB" >&2
  echo "$name $tag"
done
