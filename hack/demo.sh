#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, run the local demo (hack/demo.py):
# Postgres, kube-sim, agent pods backed by real agents, two operator replicas, a real serf agent,
# then members, ClusterNodes, the nodes table, a user event, pod deletions cleaned up (timed).
# As root each Node and its agent pod is a network namespace on a bridge (hack/netns), else all
# runs on loopback; --netns / --loopback choose.
# Arguments go to hack/demo.py: --duration S, --keep-running, --agents N, --keep, ... (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  case "$a" in -h|--help) exec python3 hack/demo.py --help ;; esac
done
hack/deps.sh >/dev/null
hack/build.sh
export KC_BIN_DIR="${KC_BIN_DIR:-${KC_BUILD_DIR:-build}/bin}"
exec python3 hack/demo.py "$@"
