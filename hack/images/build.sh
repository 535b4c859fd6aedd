#!/usr/bin/env bash
# Builds the agent and operator images from deploy/docker/<name>.Dockerfile into the local
# Docker engine, exactly as users build them (the build stage compiles the binaries inside the
# image), with BuildKit so its cache mounts keep the build tree and ccache between runs.
#
#   hack/images/build.sh [agent|operator]...      # default: both; prints "name tag" per image
#
# The first build on a machine compiles both binaries (minutes; docs/kubernetes-nodes.md has
# the numbers); after a source change only the changed files are recompiled, and an unchanged
# tree is all cache hits. Images are tagged kong-cluster/<name>:dev. The base image comes from
# hack/images/base.sh, buildx from hack/images/buildx.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
names=()
for a in "$@"; do
  case $a in
    agent|operator) names+=("$a") ;;
    *) echo "usage: $0 [agent|operator]..." >&2; exit 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(agent operator)

"$ROOT/hack/images/base.sh" >/dev/null
buildx=$("$ROOT/hack/images/buildx.sh")

for name in "${names[@]}"; do
  tag="kong-cluster/$name:dev"
  start=$SECONDS
  echo "images: building $tag from deploy/docker/$name.Dockerfile (progress in plain text below)" >&2
  # --progress=plain: one line per step, so a long compile shows where it is in a CI log.
  "$buildx" build --builder default --progress=plain -f "$ROOT/deploy/docker/$name.Dockerfile" \
    -t "$tag" --load "$ROOT" >&2
  size=$(docker image inspect -f '{{.Size}}' "$tag")
  echo "images: $tag built in $((SECONDS - start))s, $((size / 1000000)) MB" >&2
  echo "$name $tag"
done
