#!/usr/bin/env bash
# Runs clang-tidy (Debian's clang-tidy-14, the version of the installed clang) with the repo's
# .clang-tidy over the translation units of a build dir's compile_commands.json.
#
#   hack/lint/tidy.sh [--build DIR] [--all | --base REF] [--jobs N] [--log FILE] [--need-base]
#                     [--list] [file...]
#
# The project sources are those of the libraries (common/, datastore/, kube/, serf_client/), agent/
# and operator/ in DIR/compile_commands.json. tests/ is not checked yet: it has never been scanned
# (about 100 more sources, doubling a full run).
# A full run costs about 12 s of CPU per source (some 20 minutes on 2 cores), too much for every
# CI run, so by default only what changed since the last clean full run is checked:
# (default)   the sources changed since the commit in hack/lint/tidy-base (git diff against the
#             work tree), and every source that includes a changed header, directly or through
#             other headers. Every source when .clang-tidy changed, or when tidy-base is missing
#             or names a commit this clone does not have.
# --all:      every project source in DIR/compile_commands.json (DIR defaults to build/). When it
#             finds nothing and no tracked C++ file differs from HEAD, writes HEAD to
#             hack/lint/tidy-base: commit that file.
# --base REF: as the default, with REF instead of tidy-base.
# --need-base: with no usable base (tidy-base empty, or a commit this clone lacks), checks nothing
#             and exits 77 (ctest's skip) rather than every source: for lint_tidy, which must
#             stay cheap. A .clang-tidy changed since the base still means every source.
# file...:    only these sources (they must be in the compile_commands.json).
# --log FILE: also writes the findings there.
# --list:     prints the sources it would check, and checks nothing.
# Prints each finding once (a header included by many sources is reported once), then a count per
# check; exits 1 when there is any finding, 2 when it could not run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
base=""
all=0
jobs=$(nproc)
log=""
need_base=0
list=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --base) base=$2; shift 2 ;;
    --all) all=1; shift ;;
    --jobs|-j) jobs=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --need-base) need_base=1; shift ;;
    --list) list=1; shift ;;
    -*) echo "tidy.sh: unknown argument $1" >&2; exit 2 ;;
    *) break ;;
  esac
done

tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$tidy" ] || { echo "tidy.sh: clang-tidy-14 not found (hack/deps.sh installs it)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || {
  echo "tidy.sh: $build/compile_commands.json missing: configure the build dir first (hack/build.sh)" >&2; exit 2; }

# Project translation units (not generated files under the build dir, not tests/).
mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" "$build" <<'PY'
import json, os, sys
db, root, build = sys.argv[1], sys.argv[2] + "/", sys.argv[3] + "/"
dirs = tuple(root + d + "/" for d in ("common", "datastore", "kube", "serf_client", "agent", "operator"))
seen = set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(dirs) and not f.startswith(build) and f not in seen:
        seen.add(f)
        print(f)
PY
)

base_file=$root/hack/lint/tidy-base
if [ $# -gt 0 ]; then
  all=0
  files=()
  for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
elif [ "$all" -eq 0 ]; then
  if [ -z "$base" ] && [ -f "$base_file" ]; then base=$(grep -Eo '^[0-9a-f]{40}' "$base_file" || true); fi
  if [ -z "$base" ] || ! (cd "$root" && git cat-file -e "$base^{commit}" 2>/dev/null); then
    why="no base commit in hack/lint/tidy-base"
    [ -z "$base" ] || why="base $base is not in this clone"
    if [ "$need_base" -eq 1 ]; then
      echo "tidy.sh: $why: skipped (a clean hack/lint/tidy.sh --all records one)"
      exit 77
    fi
    echo "tidy.sh: $why: checking every file"
  elif ! (cd "$root" && git diff --quiet "$base" -- .clang-tidy); then
    echo "tidy.sh: .clang-tidy changed since $base: checking every file"
  else
    echo "tidy.sh: sources changed since $base and the includers of changed headers"
    # The sources to check: those changed, and those that include a changed header through any
    # chain of project headers ("dir/file.h" includes, relative to the root as in this tree).
    changed=$(cd "$root" && git diff --name-only "$base" -- '*.cpp' '*.h')
    mapfile -t files < <(CHANGED=$changed python3 - "$root" "${files[@]+"${files[@]}"}" <<'PY'
import os, re, subprocess, sys
root, sources = sys.argv[1], sys.argv[2:]
changed = set(os.environ["CHANGED"].split())
tracked = subprocess.run(["git", "-C", root, "ls-files", "*.cpp", "*.h"], capture_output=True,
                         text=True, check=True).stdout.split()
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
includes = {}
for f in tracked:
    try:
        includes[f] = set(include.findall(open(os.path.join(root, f), errors="replace").read()))
    except OSError:
        includes[f] = set()
dirty = set(changed)
grew = True
while grew:  # a file that includes a dirty header is dirty, until nothing changes
    grew = False
    for f, inc in includes.items():
        if f not in dirty and inc & dirty:
            dirty.add(f)
            grew = True
for s in sources:
    if os.path.relpath(s, root) in dirty:
        print(s)
PY
)
  fi
fi
echo "tidy.sh: ${#files[@]} files, -j$jobs, $tidy"
if [ "$list" -eq 1 ]; then
  [ ${#files[@]} -eq 0 ] || printf '%s\n' "${files[@]#"$root"/}"
  exit 0
fi
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
  if [ "$all" -eq 1 ]; then
    if (cd "$root" && git diff --quiet HEAD -- '*.cpp' '*.h' .clang-tidy); then
      {
        echo "# The commit at which \`hack/lint/tidy.sh --all\` last found nothing; lint_tidy checks what"
        echo "# changed since (docs/development.md). Written by tidy.sh --all."
        cd "$root" && git rev-parse HEAD
      } >"$base_file"
      echo "tidy.sh: the whole tree is clean at $(tail -1 "$base_file"): wrote hack/lint/tidy-base (commit it)"
    else
      echo "tidy.sh: C++ files differ from HEAD: hack/lint/tidy-base left as it was"
    fi
  fi
  exit 0
fi
cat "$out/findings"
echo "tidy.sh: $n findings, per check:"
sed -E 's/.*\[([^]]+)\]$/\1/' "$out/findings" | sort | uniq -c | sort -rn
exit 1
