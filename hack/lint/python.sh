#!/usr/bin/env bash
# Python lint: Debian's flake8 (pyflakes for real errors, pycodestyle for layout) with the repo's
# .flake8 over every tracked *.py file under hack/ and tests/, or over the files given.
#
#   hack/lint/python.sh [file...]
#
# Exits 1 and lists the findings when there are any.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
flake8=$(command -v flake8 || true)
[ -n "$flake8" ] || { echo "python.sh: flake8 not found (hack/deps.sh installs it)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  cd "$root"
  mapfile -t files < <(git ls-files -- 'hack/*.py' 'tests/*.py')
fi
[ ${#files[@]} -gt 0 ] || { echo "python.sh: no Python files" >&2; exit 2; }

status=0
"$flake8" --config "$root/.flake8" "${files[@]}" || status=$?
if [ "$status" -eq 0 ]; then
  echo "python.sh: ${#files[@]} files clean"
elif [ "$status" -eq 1 ]; then
  echo "python.sh: findings above (config: .flake8)"
fi
exit "$status"
