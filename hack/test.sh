#!/usr/bin/env bash
# The one command that runs every test on a fresh machine:
# installs dependencies, configures, builds, runs ctest. Extra args go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh
hack/build.sh
cd "${KC_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" "$@"
