#!/usr/bin/env bash
# Configures and builds into build/ (or $KC_BUILD_DIR). Extra args go to cmake configure.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${KC_BUILD_DIR:-build}
# The generator (Ninja for a new dir) and ccache: hack/build_env.sh.
source hack/build_env.sh
kc_build_env "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${KC_BUILD_TYPE:-RelWithDebInfo} "${kc_cmake_args[@]+"${kc_cmake_args[@]}"}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
