# Sourced by hack/build.sh and hack/test.sh: `kc_build_env DIR` sets kc_cmake_args, the cmake
# configure arguments every build dir of the project gets, and exports ccache's settings.
kc_build_env() {
  local dir=$1
  kc_cmake_args=()
  # Ninja (hack/deps.sh installs it) for a new build dir: it starts no recursive make per
  # directory and schedules the whole tree at once. A configured dir keeps its generator (cmake
  # refuses another), and an explicit CMAKE_GENERATOR wins.
  if [ -z "${CMAKE_GENERATOR:-}" ] && [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then
    kc_cmake_args+=(-G Ninja)
  fi
  # ccache (hack/deps.sh installs it) makes a rebuild of an unchanged file a cache hit, also from
  # another clone (CI builds a fresh clone each time): paths are hashed relative to the checkout.
  # A precompiled header is cached only with these sloppinesses (its __DATE__/__TIME__ and its
  # macros are not hashed).
  if command -v ccache >/dev/null; then
    kc_cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
    export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:+$CCACHE_SLOPPINESS,}pch_defines,time_macros
  fi
}
