#!/usr/bin/env bash
# Builds the agent and operator images into the local Docker engine (no registry needed).
#
#   hack/images/build.sh [--real|--fast] [agent|operator]...   # default: --fast, both
#
#   --real  docker build -f deploy/docker/<name>.Dockerfile, exactly as users build them: the
#           build stage installs the toolchain with apt and compiles inside the image. Slow the
#           first time (a full C++ build); Docker's layer cache makes an unchanged tree instant.
#           Tags kong-cluster/<name>:dockerfile.
#   --fast  the same Dockerfile's runtime stage, with the binaries built on this machine
#           (build/bin, Debian bookworm too) copied in instead of the build stage's; for tests
#           that need the images but not the image build. Tags kong-cluster/<name>:fast.
#
# Prints one "name tag" line per image. The base image comes from hack/images/base.sh.
# The build context is the tracked source tree (git ls-files), never build trees or logs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN_DIR=${KC_BIN_DIR:-$ROOT/build/bin}
mode=fast
names=()
for a in "$@"; do
  case $a in
    --real) mode=real ;;
    --fast) mode=fast ;;
    agent|operator) names+=("$a") ;;
    *) echo "usage: $0 [--real|--fast] [agent|operator]..." >&2; exit 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(agent operator)

"$ROOT/hack/images/base.sh" >/dev/null
export DOCKER_BUILDKIT=0 # the engine here has no BuildKit front end to pull

# The binaries a Dockerfile's runtime stage copies from its build stage.
binaries_of() { sed -n 's|^COPY --from=build /build/bin/\([^ ]*\) .*|\1|p' "$1"; }

build_real() {
  local name=$1 df="deploy/docker/$1.Dockerfile" tag="kong-cluster/$1:dockerfile"
  local start=$SECONDS
  echo "images: docker build -f $df (first run compiles the project inside the image: 10-40 min)" >&2
  (cd "$ROOT" && git ls-files -z -co --exclude-standard | grep -zv '^build' \
     | tar --null -T - -c -f - ) \
    | docker build -q --force-rm -f "$df" -t "$tag" - >/dev/null
  echo "images: $tag built in $((SECONDS - start))s" >&2
  echo "$name $tag"
}

build_fast() {
  local name=$1 df="$ROOT/deploy/docker/$1.Dockerfile" tag="kong-cluster/$1:fast"
  local ctx
  ctx=$(mktemp -d /tmp/kc-image-ctx.XXXXXX)
  trap 'rm -rf "$ctx"' RETURN
  # Everything from the runtime stage's FROM on, with COPY --from=build taken from the context.
  awk '/^FROM debian:bookworm-slim/{on=1} on' "$df" \
    | sed 's|^COPY --from=build /build/bin/\([^ ]*\) |COPY \1 |' >"$ctx/Dockerfile"
  for b in $(binaries_of "$df"); do
    [ -x "$BIN_DIR/$b" ] || { echo "images: $BIN_DIR/$b not built (cmake --build build --target $b)" >&2; return 1; }
    strip -o "$ctx/$b" "$BIN_DIR/$b"
  done
  docker build -q --force-rm -t "$tag" "$ctx" >/dev/null
  echo "$name $tag"
}

for n in "${names[@]}"; do
  "build_$mode" "$n"
done
