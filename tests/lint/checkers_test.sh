#!/usr/bin/env bash
# Each lint script of hack/lint/ run on planted input in a scratch dir: it must fail on a file with
# a defect (and name it) and pass on a clean one; format.sh --fix must make a file pass --check.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lint=$root/hack/lint
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0

# expect CODE WHAT COMMAND...: runs COMMAND, checks its exit code, keeps its output in $work/out.
expect() {
  local want=$1 what=$2
  shift 2
  "$@" >"$work/out" 2>&1
  local got=$?
  if [ "$got" -eq "$want" ]; then
    passed=$((passed + 1))
    echo "ok: $what"
  else
    failures=$((failures + 1))
    echo "FAILED: $what: exit $got, expected $want; output:"
    sed 's/^/    /' "$work/out"
  fi
}

# expect_output TEXT WHAT: the last command's output names TEXT.
expect_output() {
  if grep -qF -- "$1" "$work/out"; then
    passed=$((passed + 1))
    echo "ok: $2"
  else
    failures=$((failures + 1))
    echo "FAILED: $2: output lacks '$1':"
    sed 's/^/    /' "$work/out"
  fi
}

# clang-format: the repo's style file beside the planted sources (clang-format looks upward).
mkdir "$work/fmt"
cp "$root/.clang-format" "$work/fmt/"
printf 'int add(int a, int b) {\n  return a + b;\n}\n' >"$work/fmt/good.cpp"
printf 'int   add(int a,int b)\n{\nreturn a+b;\n}\n' >"$work/fmt/bad.cpp"
expect 0 "format.sh passes a formatted file" "$lint/format.sh" --check "$work/fmt/good.cpp"
expect 1 "format.sh fails a misformatted file" "$lint/format.sh" --check "$work/fmt/good.cpp" "$work/fmt/bad.cpp"
expect_output "$work/fmt/bad.cpp" "format.sh names the misformatted file"
expect 0 "format.sh --fix formats it" "$lint/format.sh" --fix "$work/fmt/bad.cpp"
expect 0 "format.sh passes the fixed file" "$lint/format.sh" --check "$work/fmt/bad.cpp"
expect 2 "format.sh reports a missing file as an error" "$lint/format.sh" --check "$work/fmt/missing.cpp"
mkdir "$work/badstyle"
printf 'BasedOnStyle: NoSuchStyle\n' >"$work/badstyle/.clang-format"
cp "$work/fmt/good.cpp" "$work/badstyle/"
expect 2 "format.sh reports an unreadable .clang-format as an error" "$lint/format.sh" --check "$work/badstyle/good.cpp"

# flake8 with the repo's .flake8.
printf 'import os\n\n\ndef f(x):\n    return x\n' >"$work/unused_import.py"
printf 'def f(x):\n    return y\n' >"$work/undefined_name.py"
printf 'import os\n\n\ndef f():\n    return os.sep\n' >"$work/clean.py"
expect 0 "python.sh passes a clean file" "$lint/python.sh" "$work/clean.py"
expect 1 "python.sh fails an unused import" "$lint/python.sh" "$work/unused_import.py"
expect_output "F401" "python.sh names the unused import (F401)"
expect 1 "python.sh fails an undefined name" "$lint/python.sh" "$work/undefined_name.py"
expect_output "F821" "python.sh names the undefined name (F821)"

# Citations of what the repository does not hold.
printf '// The ping message (docs/wire.md, "Probing").\n' >"$work/cites_repo.h"
printf '// The ping message (wire spec \xc2\xa73.3).\n' >"$work/cites_spec.h"
printf '# Pruning (issue 6, point 2).\n' >"$work/cites_issue.py"
expect 0 "citations.sh passes a pointer into the repo" "$lint/citations.sh" "$work/cites_repo.h"
expect 1 "citations.sh fails a spec section" "$lint/citations.sh" "$work/cites_spec.h"
expect 1 "citations.sh fails an issue and point number" "$lint/citations.sh" "$work/cites_issue.py"
expect_output "cites_issue.py:1:" "citations.sh names the place"

# clang-tidy with the repo's .clang-tidy, on a one-file compilation database.
mkdir "$work/tidy"
cp "$root/.clang-tidy" "$work/tidy/"
printf '#include <string>\nstd::size_t size_of(const std::string& s) { return s.size(); }\n' >"$work/tidy/good.cpp"
printf '#include <string>\nstd::size_t size_of(std::string s) { return s.size(); }\n' >"$work/tidy/bad.cpp"
printf '[{"directory": "%s", "file": "good.cpp", "command": "c++ -std=c++20 -c good.cpp"},\n' "$work/tidy" \
  >"$work/tidy/compile_commands.json"
printf ' {"directory": "%s", "file": "bad.cpp", "command": "c++ -std=c++20 -c bad.cpp"}]\n' "$work/tidy" \
  >>"$work/tidy/compile_commands.json"
expect 0 "tidy.sh passes a clean file" "$lint/tidy.sh" --build "$work/tidy" "$work/tidy/good.cpp"
expect 1 "tidy.sh fails a by-value string parameter" "$lint/tidy.sh" --build "$work/tidy" "$work/tidy/bad.cpp"
expect_output "performance-unnecessary-value-param" "tidy.sh names the check"
# lint_tidy's mode: without a base this clone has, it skips (ctest's 77) instead of checking all.
expect 77 "tidy.sh --need-base skips without a usable base" "$lint/tidy.sh" --build "$work/tidy" \
  --need-base --base 0000000000000000000000000000000000000001
expect_output "skipped" "tidy.sh says it skipped"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
