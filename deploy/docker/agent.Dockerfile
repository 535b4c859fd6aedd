# The agent image: `kong-cluster` (agent and CLI subcommands) on Debian bookworm, non-root.
#
# The image carries the binary the project's build made and its tests ran, never a second compile:
# hack/images/build.sh stages it (an `objcopy --strip-debug` copy: the same code, without the
# debug sections) into <build dir>/image-context/ and builds this file with that directory as the
# context, with the legacy builder (no BuildKit needed):
#
#   hack/build.sh && hack/images/build.sh        # tags kong-cluster/agent:dev
#
# The binary must come from a Debian 12 (bookworm) build, the release this image runs, so its
# glibc matches (libstdc++ and libgcc are linked in); docs/deploy.md has the two commands for
# other hosts.
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# First, so Docker reuses this layer until the list changes (a new binary only changes the COPY
# below). Only the shared libraries the binary links (`ldd build/bin/kong-cluster` mapped to
# packages with `dpkg -S`): none beyond libc6, which the base has. OpenSSL, zlib and libyaml
# are linked in (cmake/KcFootprint.cmake), and the datastore client speaks the Postgres protocol
# itself (no libpq). ca-certificates: TLS to Postgres and to the API server.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kong-cluster \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/kong-cluster --create-home \
      --shell /usr/sbin/nologin kong-cluster
COPY kong-cluster /usr/local/bin/kong-cluster
# `serf`: the binary speaks serf's command line under that name (docs/kong-serf.md). The chart's
# Kong mode init container copies /usr/local/bin/kong-cluster and what `ldd` lists for it (sh,
# ldd, awk and cp are in the base). The ldd check fails the build if a linked library is missing
# from the list above.
RUN ln -s kong-cluster /usr/local/bin/serf \
 && ! ldd /usr/local/bin/kong-cluster | grep 'not found'
USER 10001:10001
WORKDIR /var/lib/kong-cluster
# gossip (TCP and UDP), RPC, HTTP API (/healthz, /readyz, /metrics)
EXPOSE 7946/tcp 7946/udp 7373/tcp 8946/tcp
# SIGTERM (what Kubernetes sends) is a graceful leave.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kong-cluster"]
CMD ["agent", "--bind=0.0.0.0:7946", "--http-addr=0.0.0.0:8946"]
