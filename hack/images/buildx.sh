#!/usr/bin/env bash
# Prints the path of a `buildx` binary (Docker's BuildKit client), building it from its Go module
# the first time. deploy/docker/*.Dockerfile need BuildKit (cache mounts); Debian bookworm's
# docker.io 20.10 has no buildx package, and its `docker build` refuses DOCKER_BUILDKIT=1
# without the plugin. buildx runs standalone here (`buildx build`, the engine's own BuildKit
# through the "docker" driver), so nothing is installed into ~/.docker.
#
# Cached under ${KC_CACHE_DIR:-~/.cache/kong-cluster}/buildx-<version>/; a second run only prints it.
set -euo pipefail
# v0.15.1 (mid-2024): its go.mod has no replace directives, so `go install` builds it, and it
# drives the 20.10 engine's BuildKit (v0.8) here; much newer releases target newer engines.
VERSION=v0.15.1
cache=${KC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kong-cluster}/buildx-$VERSION
out=$cache/buildx
if [ ! -x "$out" ]; then
  start=$SECONDS
  echo "buildx: building github.com/docker/buildx $VERSION (first time only: 10-30 minutes)" >&2
  mkdir -p "$cache"
  GOBIN="$cache/tmp" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' \
    "github.com/docker/buildx/cmd/buildx@$VERSION" >&2
  mv "$cache/tmp/buildx" "$out"
  rmdir "$cache/tmp"
  echo "buildx: built in $((SECONDS - start))s" >&2
fi
echo "$out"
