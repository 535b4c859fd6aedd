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

differ=()
for f in "${files[@]}"; do
  # --dry-run -Werror exits non-zero when the file would change; any other failure (a missing
  # file, an unreadable .clang-format) is an error of the check, not a formatting difference.
  if ! err=$("$fmt" --style=file --dry-run -Werror "$f" 2>&1 >/dev/null); then
    if grep -q 'clang-format-violations' <<<"$err"; then
      differ+=("$f")
    else
      echo "format.sh: clang-format failed on $f:" >&2
      echo "$err" | head -5 >&2
      exit 2
    fi
  fi
done
if [ ${#differ[@]} -gt 0 ]; then
  echo "format.sh: ${#differ[@]} of ${#files[@]} files differ from .clang-format (hack/lint/format.sh --fix):"
  printf '  %s\n' "${differ[@]}"
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
