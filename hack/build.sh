#!/usr/bin/env bash
# Configures and builds into build/ (or $KC_BUILD_DIR). Extra args go to cmake configure.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${KC_BUILD_DIR:-build}
# ccache (hack/deps.sh installs it) makes a rebuild of an unchanged file a cache hit, also from
# another clone (CI builds a fresh clone each time): paths are hashed relative to the checkout.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${KC_BUILD_TYPE:-RelWithDebInfo} "${launcher[@]+"${launcher[@]}"}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
