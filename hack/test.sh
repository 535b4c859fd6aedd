#!/usr/bin/env bash
# The one command that runs every test on a fresh machine:
# installs dependencies, configures, builds, runs ctest. Extra args go to ctest (e.g. -L unit).
# The sanitizer pass (below) follows the main tests: the unit, sim and fuzz tests again, built
# with AddressSanitizer and UndefinedBehaviorSanitizer; KC_ASAN=0 leaves it out. Phases and their
# times: docs/development.md, "The CI run".
#
# Every dependency a test needs is installed here, so a test that skips is a missing install:
# the run fails when any test skipped, unless KC_ALLOW_SKIPS=1 (e.g. on a machine without root).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh
# step CMD...: runs CMD with its stdout dropped and says how long it took.
step() { local t=$SECONDS; "$@" >/dev/null; echo "test.sh: ${*} done in $((SECONDS - t))s"; }

# Temporary logs and the background steps (hack/background.sh), stopped on any exit.
source hack/background.sh
side_log=$(mktemp)
log=$(mktemp)
asan_log=$(mktemp)
side_pid=
asan_pid=
trap 'bg_stop "$side_pid" "$asan_pid"; rm -f "$side_log" "$log" "$asan_log"' EXIT

# Beside the C++ build, what does not need its binaries: the real Kubernetes control plane, Helm
# and the kubelet (one real kubelet Node, k8s_nodes_kubelet_node), the node stand-in (all cached
# by version or content after the first build), and the Debian base image (debootstrap, mostly
# download). On a fresh machine the Go builds fill the C++ build's serial stretches (links, the
# last big files) and the downloads overlap compiling.
side_start=$SECONDS
export -f step
bg_start "$side_log" bash -ec '
  step hack/k8s/build.sh --with-kubelet
  step hack/nodeagent/build.sh
  if docker info >/dev/null 2>&1; then step hack/images/base.sh; fi
'
side_pid=$bg_pid
build_start=$SECONDS
hack/build.sh
echo "test.sh: C++ build done in $((SECONDS - build_start))s"
bg_wait "$side_pid" "$side_log" "test.sh: building the Kubernetes components, node stand-in or base image"
side_pid=
grep '^test.sh:' "$side_log" || true
echo "test.sh: Go components and base image ready $((SECONDS - side_start))s after they started"

# The agent and operator images, from deploy/docker/ around the binaries hack/build.sh just built
# (the ones ctest tests; no second compile: an unchanged binary is all cache hits, a changed one
# only its COPY layer). Timings: docs/kubernetes-nodes.md.
if docker info >/dev/null 2>&1; then
  step hack/images/build.sh --build-dir "${KC_BUILD_DIR:-build}"
else
  echo "test.sh: no Docker engine: the k8s node tests will skip" >&2
fi
status=0

# run_ctest DIR ARGS...: runs ctest in DIR, appends its output to $log, and fails the run (status)
# when a test failed.
run_ctest() {
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)" "$@") 2>&1 | tee -a "$log" || status=$?
}

# The sanitizer pass (on unless KC_ASAN=0): an AddressSanitizer+UndefinedBehaviorSanitizer
# build (build-asan/, or $KC_ASAN_BUILD_DIR) of only the executables of the tests labelled
# unit, sim and fuzz, at -O1 with line tables (less compile time than the main build's; stacks
# still name lines). It is compiled while the main tests run, at a lower priority: most of
# their time is spent waiting on clusters, pods and timeouts, and the build takes the CPU they
# leave. Its tests run after the main ones.
sanitized='unit|sim|fuzz'
if [ "${KC_ASAN:-1}" != 0 ]; then
  asan=${KC_ASAN_BUILD_DIR:-build-asan}
  # The generator (Ninja for a new dir: it builds the many test targets in parallel, where a
  # Makefile build takes command-line targets one after another) and ccache.
  source hack/build_env.sh
  kc_build_env "$asan"
  cmake -S . -B "$asan" -DKC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1" \
    "${kc_cmake_args[@]+"${kc_cmake_args[@]}"}" >/dev/null
  # Only the executables those tests run, not the daemons and tools that no sanitized test uses.
  mapfile -t targets < <(hack/label_targets.py "$asan" "$sanitized")
  bg_start "$asan_log" nice -n 10 bash -c 'start=$SECONDS; dir=$1; shift
    cmake --build "$dir" -j"$(nproc)" --target "$@"
    echo "test.sh: sanitizer build of $# test targets took $((SECONDS - start))s (beside the tests, niced)"' \
    _ "$asan" "${targets[@]}"
  asan_pid=$bg_pid
fi

# The resource file caps the clusters that tests bring up at once (tests/k8s/CMakeLists.txt).
run_ctest "${KC_BUILD_DIR:-build}" --resource-spec-file "$(pwd)/tests/k8s/ctest-resources.json" "$@"

if [ -n "$asan_pid" ]; then
  if ! bg_wait "$asan_pid" "$asan_log" "test.sh: the sanitizer build"; then
    asan_pid=
    status=1
  else
    asan_pid=
    tail -1 "$asan_log"
    # A finding aborts the test (UBSan does not recover: -fno-sanitize-recover), with its stack.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    run_ctest "$asan" -L "$sanitized"
  fi
fi

if grep -q '(Skipped)\|\*\*\*Skipped' "$log"; then
  echo "test.sh: these tests skipped:" >&2
  grep '(Skipped)\|\*\*\*Skipped' "$log" | sed 's/^/  /' >&2
  if [ "${KC_ALLOW_SKIPS:-0}" != 1 ]; then
    echo "test.sh: hack/deps.sh installs everything they need, so a skip here is a defect (KC_ALLOW_SKIPS=1 to accept)" >&2
    [ "$status" -ne 0 ] || status=1
  fi
fi
exit "$status"
