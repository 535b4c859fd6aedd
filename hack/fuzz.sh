#!/usr/bin/env bash
# Runs every libFuzzer target with ASan+UBSan for a while and keeps what it finds useful.
#
#   hack/fuzz.sh [--seconds N] [--jobs J] [--timeout T] [--no-build] [--no-merge] [target ...]
#
# Builds build-fuzz/ with clang (KC_FUZZ=ON, KC_SANITIZE=ON), then runs each target (default:
# all: lzw decrypt packet stream rpc config http receive_udp receive_tcp pg_receive) for N seconds
# (default 540) on a scratch copy of its corpus in tests/fuzz/corpus/<target>. New inputs
# that add coverage are merged back into tests/fuzz/corpus/<target> (libFuzzer -merge=1, so
# only coverage-increasing inputs land); crashes are left as crash-* files in the log folder
# and make the script exit 1. --timeout (default 10) is libFuzzer's per-input wall-clock
# limit: raise it when fuzzing at low priority on a busy machine, where a starved input would
# otherwise be reported as a hang. The last stats line of each run (executions, coverage,
# features) is printed as a table: that is what docs/reliability.md reports.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=540
jobs=1
timeout=10
build=1
merge=1
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-merge) merge=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "hack/fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(lzw decrypt packet stream rpc config http receive_udp receive_tcp pg_receive)
command -v clang++ >/dev/null || { echo "hack/fuzz.sh: clang++ is required (apt-get install clang)" >&2; exit 2; }

if ((build)); then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DKC_FUZZ=ON -DKC_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/%/_fuzz}"
fi

logs=$(mktemp -d /tmp/kc-fuzz.XXXXXX)
echo "fuzzing ${targets[*]} for ${seconds}s each; logs and crashes in $logs"
status=0
declare -A summary
for t in "${targets[@]}"; do
  bin=build-fuzz/tests/fuzz/${t}_fuzz
  keep=tests/fuzz/corpus/$t
  work=$logs/$t-corpus
  mkdir -p "$work" "$keep"
  cp -r "$keep"/. "$work"/ 2>/dev/null || true
  before=$(ls "$keep" | wc -l)
  set +e
  parallel=()
  ((jobs > 1)) && parallel=(-jobs="$jobs" -workers="$jobs")  # then logs go to fuzz-N.log
  (cd "$logs" && "$root/$bin" "$work" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
     -print_final_stats=1 "${parallel[@]}" -artifact_prefix="$logs/$t-" >"$logs/$t.log" 2>&1)
  rc=$?
  set -e
  stats=$(grep -aE '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$logs/$t.log" | tail -1 || true)
  execs=$(grep -aE '^stat::number_of_executed_units' "$logs/$t.log" | awk '{s+=$2} END {print s+0}' || true)
  if ((rc != 0)) || ls "$logs/$t-"crash-* "$logs/$t-"leak-* "$logs/$t-"timeout-* >/dev/null 2>&1; then
    echo "$t: FINDING (exit $rc), see $logs/$t.log"
    status=1
  fi
  if ((merge)); then
    "$root/$bin" -merge=1 "$keep" "$work" >"$logs/$t-merge.log" 2>&1 || true
  fi
  after=$(ls "$keep" | wc -l)
  summary[$t]="$execs|$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$stats")|$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$stats")|$before -> $after"
  echo "$t: $execs executions; last: $stats"
done

printf '\n%-8s %12s %8s %9s %s\n' target executions cov features corpus
for t in "${targets[@]}"; do
  IFS='|' read -r e c f k <<<"${summary[$t]}"
  printf '%-8s %12s %8s %9s %s\n' "$t" "$e" "$c" "$f" "$k"
done
exit $status
