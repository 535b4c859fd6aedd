#!/usr/bin/env bash
# The full soak: 20 kong-cluster agents in network namespaces (two datacenters),
# SIGKILLed, restarted, partitioned and healed per a seeded schedule for 10 minutes, then one
# agreed view and the resources of the long-lived agents. Needs root.
#
#   hack/bench/soak.sh [SECONDS] [SEED]      # defaults: 600, 8
#
# Environment: KC_BUILD_DIR (build), KC_AGENT_BIN (else $KC_BUILD_DIR/bin/kong-cluster),
# KC_SOAK_AGENTS (20), KC_SOAK_CONVERGE (240), KC_NETNS_IMPL=serf (Debian's serf instead).
# Prints the test's RESULT lines and the JSON report (kept in $KC_SOAK_REPORT or a temp file).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${KC_BUILD_DIR:-build}
export KC_AGENT_BIN=${KC_AGENT_BIN:-$PWD/$build/bin/kong-cluster}
export KC_SOAK_SECONDS=${1:-${KC_SOAK_SECONDS:-600}}
export KC_SOAK_SEED=${2:-${KC_SOAK_SEED:-8}}
export KC_SOAK_CONVERGE=${KC_SOAK_CONVERGE:-240}
export KC_SOAK_REPORT=${KC_SOAK_REPORT:-$(mktemp /tmp/kc-soak-report.XXXXXX.json)}
export PYTHONDONTWRITEBYTECODE=1
if [ "$(id -u)" != 0 ]; then echo "soak.sh: needs root (network namespaces)" >&2; exit 2; fi
[ -x "$KC_AGENT_BIN" ] || { echo "soak.sh: $KC_AGENT_BIN not built" >&2; exit 2; }
echo "soak: ${KC_SOAK_SECONDS}s, seed ${KC_SOAK_SEED}, agent ${KC_AGENT_BIN}" >&2
start=$(date +%s)
set +e
/usr/bin/python3 tests/netns/test_soak.py -v 2>&1 | tee /tmp/kc-soak-last.log | grep -E 'RESULT|FAIL|Error|OK$|^Ran '
rc=${PIPESTATUS[0]}
set -e
echo "wall time: $(( $(date +%s) - start ))s, exit $rc; full log /tmp/kc-soak-last.log"
python3 - "$KC_SOAK_REPORT" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(0)
c = r["counts"]
print("report %s" % sys.argv[1])
print("agents %d, chaos %.0f s, seed %d" % (r["agents"], r["chaos_seconds"], r["seed"]))
print("kills %d, restarts %d, dc partitions %d, group partitions %d, heals %d" %
      (c["kills"], c["restarts"], c["dc_partitions"], c["group_partitions"], c["heals"]))
print("final agreement: %s after %.1f s, distinct views %d" % (r["converged"], r["final_convergence_s"], r["distinct_views"]))
for n, s in r["resources"].items():
    print("%s: rss %d -> %d KiB (max %d), fds %d -> %d (max %d), threads %d -> %d" %
          (n, s[0]["rss_kib"], s[-1]["rss_kib"], max(x["rss_kib"] for x in s), s[0]["fds"], s[-1]["fds"],
           max(x["fds"] for x in s), s[0]["threads"], s[-1]["threads"]))
PY
exit "$rc"
