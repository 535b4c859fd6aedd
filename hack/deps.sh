#!/usr/bin/env bash
# Installs every system package that the build, the tests and the demo need.
# Idempotent: a second run installs nothing. Needs root (or sudo) for apt-get.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config clang libclang-rt-14-dev ccache
  # Ninja for new build dirs (hack/build_env.sh): one scheduler for the whole tree; mold, the
  # linker cmake/KcBuildSpeed.cmake picks when installed; lld, which lays the agent's executed
  # functions out together (cmake/KcFootprint.cmake, KC_TEXT_ORDER)
  ninja-build mold lld
  libboost-all-dev nlohmann-json3-dev libmsgpack-cxx-dev libssl-dev zlib1g-dev
  libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libcpprest-dev
  libyaml-dev libre2-dev
  # tests and demo: real peers and real servers
  serf postgresql iproute2 iptables procps psmisc python3 python3-yaml
  prometheus openssl curl
  # hack/text_order.py (regenerates agent/text-order.txt): callgrind and lackey, perf
  valgrind linux-perf
  # lint (hack/lint/): the clang-format and clang-tidy of the installed clang (14), flake8
  clang-format-14 clang-tidy-14 flake8
  # k8s nodes and images: the Debian base image (hack/images/base.sh); the real kubelet Node's
  # runtime (hack/k8s/kubelet-node: a second containerd with CRI, runc, CNI plugins)
  debootstrap containerd runc containernetworking-plugins
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "deps: all ${#packages[@]} packages present"
fi

# kubectl is not a Debian package; the machines ship it. The Kubernetes tests (tests/k8s,
# tests/e2e, tests/deploy) fail with a clear message when it is absent.
command -v kubectl >/dev/null || echo "deps: note: kubectl not found; the Kubernetes tests will fail"
