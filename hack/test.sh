#!/usr/bin/env bash
# The one command that runs every test on a fresh machine:
# installs dependencies, configures, builds, runs ctest. Extra args go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh
hack/build.sh
# The real Kubernetes control plane and Helm for the k8s tests (cached after the first build).
hack/k8s/build.sh >/dev/null
cd "${KC_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" "$@"
