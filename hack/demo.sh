#!/usr/bin/env bash
# The main job on a fresh machine: kong-cluster on Kubernetes as a user meets it (hack/demo_k8s.py).
# Installs the system packages, builds only what the demo runs, then `helm install`s the chart on
# a real control plane with Nodes whose pods are Docker containers, Postgres and a real serf
# agent, runs `helm test`, and shows members, ClusterNodes, the nodes table, a user event run by
# every member's handler script, timed cleanups and a leader handover.
#
# Builds (each cached; a later run reuses them in seconds):
#   the agent and operator binaries  cmake targets only, not the test suite (~15 min first)
#   their images                     hack/images/build.sh   ~7 min first (apt layer), then seconds
#   kube-apiserver, etcd, Helm, ... hack/k8s/build.sh      first run 20-30 min (Go, 2 cores)
#   the node stand-in               hack/nodeagent/build.sh  ~1 min
# Needs root and a Docker engine. Arguments go to hack/demo_k8s.py (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  case "$a" in -h|--help) exec /usr/bin/python3 hack/demo_k8s.py --help ;; esac
done
step() { echo "demo: $1" >&2; }
hack/deps.sh >/dev/null
start=$SECONDS
# The Go builds (Kubernetes binaries, the node stand-in) run beside the C++ build: on a fresh
# machine they overlap instead of adding up. Their output goes to a log shown if they fail.
step "building the Kubernetes binaries and the node stand-in in the background (first run 20-30 min; cached afterwards)"
# In the background (hack/background.sh), stopped if the C++ build fails.
source hack/background.sh
go_log=$(mktemp)
go_pid=
trap 'bg_stop "$go_pid"; rm -f "$go_log"' EXIT
bg_start "$go_log" bash -ec 'hack/k8s/build.sh; hack/nodeagent/build.sh'
go_pid=$bg_pid
if [ -z "${KC_IMAGES:-}" ]; then  # KC_IMAGES="agent=repo:tag,operator=repo:tag": built already
  # The images carry the binaries of this build tree; only the two binaries, not the tests.
  step "building kong-cluster and kong-cluster-operator (first run ~15 min; incremental afterwards)"
  build=${KC_BUILD_DIR:-build}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${KC_BUILD_TYPE:-RelWithDebInfo} >/dev/null
  cmake --build "$build" -j"$(nproc)" --target kong-cluster kong-cluster-operator >/dev/null
  step "building the agent and operator images (first run ~7 min; seconds afterwards)"
  hack/images/build.sh --build-dir "$build" >/dev/null
fi
step "waiting for the Kubernetes binaries and the node stand-in"
bg_wait "$go_pid" "$go_log" "demo: building the Go components"
go_pid=
rm -f "$go_log"
step "builds ready in $((SECONDS - start))s"
exec /usr/bin/python3 hack/demo_k8s.py "$@"
