# Sourced by hack/test.sh and hack/demo.sh: a step that runs beside another (a Go build beside
# the C++ build, the sanitizer build beside the tests), in its own process group so that
# stopping it stops all its children, with its output in a log shown only if it fails.

# bg_start LOG CMD...: starts CMD in the background (setsid), its output in LOG; sets bg_pid.
bg_start() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 &
  bg_pid=$!
}

# bg_wait PID LOG WHAT: waits for PID; when it failed, prints the end of LOG and "WHAT failed"
# on stderr and returns 1.
bg_wait() {
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq 0 ] && return 0
  tail -n 100 "$2" >&2
  echo "$3 failed (above, exit $status)" >&2
  return 1
}

# bg_stop PID...: stops the process group of each PID given (empty ones are skipped).
bg_stop() {
  local pid
  for pid in "$@"; do
    [ -z "$pid" ] || kill -- -"$pid" 2>/dev/null || true
  done
}
