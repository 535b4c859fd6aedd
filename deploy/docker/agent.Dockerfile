# The agent image: `kong-cluster` (agent and CLI subcommands) on Debian bookworm, non-root.
#
#   docker build -f deploy/docker/agent.Dockerfile -t kong-cluster/agent:0.1.0 .
#
# Build context: the repository root. hack/images/build.sh builds this file as it is (from the
# debootstrap base of hack/images/base.sh, no registry needed) and the k8s tests run the image;
# sizes and build times are in docs/kubernetes-nodes.md.

# ---------------------------------------------------------------- build
# This stage is the same text in agent.Dockerfile and operator.Dockerfile up to `ARG TARGETS`,
# so the two builds share its layers and its caches. Needs BuildKit (the default builder of
# Docker 23 and later; older engines: DOCKER_BUILDKIT=1 with the buildx plugin).
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
# The build half of hack/deps.sh (GoogleTest is needed at configure time), and ccache. Before
# the source is copied, so Docker reuses this layer until the list changes.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      cmake g++ make pkg-config ca-certificates ccache \
      libboost-all-dev nlohmann-json3-dev libmsgpack-cxx-dev libssl-dev zlib1g-dev \
      libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libpq-dev libcpprest-dev \
      libyaml-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
# ccache's store lives in a BuildKit cache mount, kept by the engine between builds: after a
# source change only the changed files are compiled, the rest are ccache hits. (Not the build
# tree: make trusts timestamps, and a tree copied in with older timestamps than the cached
# objects would link stale objects; ccache looks at the contents.)
ENV CCACHE_DIR=/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=2G
WORKDIR /src
# The whole tree as the context (.dockerignore keeps out VCS data, build trees and the folders
# no compile reads), so moving sources between folders needs no change here.
COPY . .
# RelWithDebInfo's -O2 without -g (the binaries are stripped anyway; the objects compile faster):
# the optimisation hack/build.sh and CI build warning-free under -Werror (GCC 12 at -O3 stops on a
# false -Wrestrict). Only the image's binaries are built, never the test suite.
ARG TARGETS="kong-cluster"
RUN --mount=type=cache,id=kong-cluster-ccache,target=/ccache,sharing=locked \
    cmake -S . -B /tmp/tree -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null \
 && cmake --build /tmp/tree --target ${TARGETS} -j"$(nproc)" \
 && mkdir -p /build/bin \
 && for t in ${TARGETS}; do strip -o /build/bin/$t /tmp/tree/bin/$t; done \
 && ccache --show-stats | grep -E 'Hits|Misses' \
 && rm -rf /tmp/tree

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Only the shared libraries the binary links (from `ldd build/bin/kong-cluster` mapped to
# packages with `dpkg -S`); apt adds their own dependencies (Kerberos, LDAP, GnuTLS for libpq).
# libyaml: the agent reads kubeconfig files (its Node lookup; the GET itself is Beast + OpenSSL).
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates libpq5 libssl3 zlib1g libspdlog1.10 libfmt9 libyaml-0-2 \
      libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kong-cluster \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/kong-cluster --create-home \
      --shell /usr/sbin/nologin kong-cluster
COPY --from=build /build/bin/kong-cluster /usr/local/bin/kong-cluster
# Fails the build if a linked library is missing from the list above.
RUN ! ldd /usr/local/bin/kong-cluster | grep 'not found'
USER 10001:10001
WORKDIR /var/lib/kong-cluster
# gossip (TCP and UDP), RPC, HTTP API (/healthz, /readyz, /metrics)
EXPOSE 7946/tcp 7946/udp 7373/tcp 8946/tcp
# SIGTERM (what Kubernetes sends) is a graceful leave.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kong-cluster"]
CMD ["agent", "--bind=0.0.0.0:7946", "--http-addr=0.0.0.0:8946"]
