#!/usr/bin/env bash
# Builds the node agent once per content: the binary is cached under
# ${KC_CACHE_DIR:-~/.cache/kong-cluster}/nodeagent/<hash of go.mod, go.sum, *.go and Go version>/
# and a second run only prints its path. Static (CGO_ENABLED=0): it also runs as the pause
# process inside scratch images.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cache=${KC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kong-cluster}/nodeagent
key=$( (cd "$HERE" && cat go.mod go.sum ./*.go; go version) | sha256sum | cut -c1-16)
out="$cache/$key/nodeagent"
if [ ! -x "$out" ]; then
  echo "nodeagent: building (first time about 1-3 minutes: client-go)" >&2
  mkdir -p "$cache/$key"
  (cd "$HERE" && CGO_ENABLED=0 go build -trimpath -ldflags=-s\ -w -o "$out.tmp" .)
  mv "$out.tmp" "$out"
fi
echo "$out"
