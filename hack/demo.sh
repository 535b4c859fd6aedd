#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, run the local demo.
# Arguments go to hack/demo.py (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh >/dev/null
hack/build.sh
exec python3 hack/demo.py "$@"
