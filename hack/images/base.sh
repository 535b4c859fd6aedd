#!/usr/bin/env bash
# Builds the Debian bookworm base image with debootstrap (minbase) and imports it into the
# local Docker engine: no registry is reachable here, so every image starts from this one.
#
#   hack/images/base.sh            # prints the image tag; a no-op when the recipe is unchanged
#
# The image is tagged kong-cluster/debian:bookworm and, because deploy/docker/*.Dockerfile name
# them, debian:bookworm and debian:bookworm-slim. It carries a label with the hash of this
# recipe (this script + mirror + suite), so a second run with the same recipe reuses it.
# Needs root (debootstrap chroots) and the debootstrap package (hack/deps.sh).
set -euo pipefail

SUITE=bookworm
MIRROR=${KC_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TAG=kong-cluster/debian:$SUITE
ALIASES=(debian:$SUITE debian:$SUITE-slim)

recipe=$( (cat "$0"; echo "$MIRROR $SUITE") | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "kong-cluster.recipe"}}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$recipe" ]; then
  for a in "${ALIASES[@]}"; do docker tag "$TAG" "$a"; done
  echo "$TAG"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "base.sh: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "base.sh: debootstrap missing (run hack/deps.sh)" >&2; exit 1; }

root=$(mktemp -d /tmp/kc-debootstrap.XXXXXX)
trap 'rm -rf --one-file-system "$root"' EXIT
start=$(date +%s)
echo "base.sh: debootstrap --variant=minbase $SUITE from $MIRROR (about 2-4 minutes)" >&2
debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 \
  || { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What the official slim images do: no docs, man pages or locales beyond C, no apt caches.
# Also the security and updates suites, so `apt-get install` in a Dockerfile gets the fixes.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
find "$root/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* \
       "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

tar -C "$root" --numeric-owner -c . | docker import \
  --change 'CMD ["bash"]' \
  --change "LABEL kong-cluster.recipe=$recipe" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$TAG" >/dev/null
for a in "${ALIASES[@]}"; do docker tag "$TAG" "$a"; done
echo "base.sh: imported $TAG in $(( $(date +%s) - start ))s" >&2
echo "$TAG"
