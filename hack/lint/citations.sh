#!/usr/bin/env bash
# Fails on comments and docs that cite things a reader of this repository cannot find: sections of
# an outside wire spec ("wire spec §3", "§11"), its file names and tools (serf-wire-spec.md,
# serfwire.py, fakenode.py, rpcprobe.py), DESIGN.md, shared/reference/, and the numbers of issues
# and their points ("issue 6, point 5", "(issue #8)"). Point at docs/wire.md or say the thing itself.
#
#   hack/lint/citations.sh [file...]
#
# Without arguments: every tracked text file (fuzz corpora excluded). Prints each citation with its
# place, then a count per file; exits 1 when there is any.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

pattern='wire spec|§ ?[0-9]|serf-wire-spec|serfwire|fakenode\.py|rpcprobe\.py|DESIGN\.md|shared/reference'
pattern+='|\b[Ii]ssues? #?[0-9]+|\b[Pp]oints? [0-9]+\b|What must be shown'

out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ $# -gt 0 ]; then
  grep -nHIE "$pattern" "$@" >"$out" || true
else
  # This script names the patterns it looks for, and its self-test plants them: neither is checked.
  (cd "$root" && git grep -nIE "$pattern" -- . ':!tests/fuzz/corpus' ':!hack/lint/citations.sh' \
    ':!tests/lint/checkers_test.sh') >"$out" || true
fi

if [ ! -s "$out" ]; then
  echo "citations.sh: no citation of an outside spec, issue or point"
  exit 0
fi
cut -c1-200 "$out"
echo "citations.sh: $(wc -l <"$out") lines cite what the repository does not hold (point at docs/wire.md"
echo "or state the fact); per file:"
cut -d: -f1 "$out" | sort | uniq -c | sort -rn
exit 1
