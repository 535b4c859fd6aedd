#!/usr/bin/env bash
# Runs clang-tidy (Debian's clang-tidy-14, the version of the installed clang) with the repo's
# .clang-tidy over the translation units of a build dir's compile_commands.json.
#
#   hack/lint/tidy.sh [--build DIR] [--base REF] [--jobs N] [--log FILE] [file...]
#
# Default: every project source file in DIR/compile_commands.json (DIR defaults to build/).
# --base REF: only the sources changed since REF (git diff REF); when a header changed, every
#             source, since any of them may include it.
# file...: only these sources (they must be in the compile_commands.json).
# --log FILE: also writes the findings there.
# Prints each finding once (a header included by many sources is reported once), then a count per
# check; exits 1 when there is any finding, 2 when it could not run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
base=""
jobs=$(nproc)
log=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --base) base=$2; shift 2 ;;
    --jobs|-j) jobs=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    -*) echo "tidy.sh: unknown argument $1" >&2; exit 2 ;;
    *) break ;;
  esac
done

tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$tidy" ] || { echo "tidy.sh: clang-tidy-14 not found (hack/deps.sh installs it)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || {
  echo "tidy.sh: $build/compile_commands.json missing: configure the build dir first (hack/build.sh)" >&2; exit 2; }

# Project translation units (not generated files under the build dir).
mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" "$build" <<'PY'
import json, os, sys
db, root, build = sys.argv[1], sys.argv[2] + "/", sys.argv[3] + "/"
seen = set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(root) and not f.startswith(build) and f not in seen:
        seen.add(f)
        print(f)
PY
)

if [ $# -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
elif [ -n "$base" ]; then
  mapfile -t changed < <(cd "$root" && git diff --name-only "$base" -- '*.cpp' '*.h' | sed "s|^|$root/|")
  if printf '%s\n' "${changed[@]}" | grep -q '\.h$'; then
    echo "tidy.sh: a header changed since $base: checking every file"
  else
    keep=()
    for f in "${files[@]}"; do
      printf '%s\n' "${changed[@]}" | grep -qxF "$f" && keep+=("$f")
    done
    files=("${keep[@]+"${keep[@]}"}")
  fi
fi
echo "tidy.sh: ${#files[@]} files, -j$jobs, $tidy"
[ ${#files[@]} -gt 0 ] || exit 0

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
# One clang-tidy per file; GCC-only warning flags in the database are not errors for clang.
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
  '"$1" -p "$2" --quiet --header-filter="^$3/" --extra-arg=-Wno-unknown-warning-option "$4" \
     >"$5/$(echo "$4" | tr / _).log" 2>&1 || true' _ "$tidy" "$build" "$root" {} "$out"
echo "tidy.sh: $(( $(date +%s) - start )) s"

# A finding is "file:line:col: warning: text [check]"; the same header finding comes from every
# file that includes it, so keep the first of each.
{ cat "$out"/*.log | grep -E '^/.*:[0-9]+:[0-9]+: (warning|error): ' || true; } | sed "s|^$root/||" | sort -u \
  >"$out/findings"
[ -z "$log" ] || cp "$out/findings" "$log"
if grep -q ': error: ' "$out/findings"; then
  echo "tidy.sh: clang-tidy could not compile some files:" >&2
  grep ': error: ' "$out/findings" | head -20 >&2
fi
n=$(wc -l <"$out/findings")
if [ "$n" -eq 0 ]; then
  echo "tidy.sh: no findings"
  exit 0
fi
cat "$out/findings"
echo "tidy.sh: $n findings, per check:"
sed -E 's/.*\[([^]]+)\]$/\1/' "$out/findings" | sort | uniq -c | sort -rn
exit 1
