#!/usr/bin/env bash
# Checks (default) or applies the repo's .clang-format on every tracked C++ file, with Debian's
# clang-format-14 (the version of the installed clang: another version formats differently).
#
#   hack/lint/format.sh [--check|--fix] [file...]
#
# --check: exits 1 and lists the files whose formatting differs. --fix: formats them in place.
# Without file arguments: every tracked *.cpp / *.h / *.hpp / *.cc (fuzz corpora are not C++).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=check
case ${1:-} in
  --check) shift ;;
  --fix) mode=fix; shift ;;
  -*) echo "format.sh: unknown argument $1 (--check or --fix)" >&2; exit 2 ;;
esac

fmt=$(command -v clang-format-14 || true)
[ -n "$fmt" ] || { echo "format.sh: clang-format-14 not found (hack/deps.sh installs it)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  cd "$root"
  mapfile -t files < <(git ls-files -- '*.cpp' '*.h' '*.hpp' '*.cc')
fi
[ ${#files[@]} -gt 0 ] || { echo "format.sh: no C++ files" >&2; exit 2; }

if [ "$mode" = fix ]; then
  "$fmt" -i --style=file "${files[@]}"
  echo "format.sh: formatted ${#files[@]} files"
  exit 0
fi

for f in "${files[@]}"; do
  [ -r "$f" ] || { echo "format.sh: cannot read $f" >&2; exit 2; }
done
# One clang-format for all files (a process per file is slow on a busy machine). With --dry-run
# -Werror it reports each place that would change as "FILE:LINE:COL: error: ...
# [-Wclang-format-violations]" followed by the source line; any other error (an unreadable
# .clang-format) fails the check.
other_error='^(error:|[^[:space:]]+: error:|No such file)'
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$fmt" --style=file --dry-run -Werror "${files[@]}" 2>"$err" >/dev/null || true
if grep -v 'clang-format-violations' "$err" | grep -qE "$other_error"; then
  echo "format.sh: clang-format failed:" >&2
  grep -v 'clang-format-violations' "$err" | grep -E "$other_error" | head -5 >&2
  exit 2
fi
mapfile -t differ < <(sed -nE 's/^(.*):[0-9]+:[0-9]+: error: .*\[-Wclang-format-violations\]$/\1/p' "$err" | sort -u)
if [ ${#differ[@]} -gt 0 ]; then
  echo "format.sh: ${#differ[@]} of ${#files[@]} files differ from .clang-format (hack/lint/format.sh --fix):"
  printf '  %s\n' "${differ[@]}"
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
