# syntax=docker/dockerfile:1
# The agent image: `kong-cluster` (agent and CLI subcommands) on Debian bookworm, non-root.
#
#   docker build -f deploy/docker/agent.Dockerfile -t kong-cluster/agent:0.1.0 .
#
# Build context: the repository root. hack/images/build.sh --real builds this file as it is
# (from the debootstrap base of hack/images/base.sh, no registry needed) and the k8s tests run
# the image; sizes and build times are in docs/kubernetes-nodes.md.

# ---------------------------------------------------------------- build
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
# The build half of hack/deps.sh (GoogleTest is needed at configure time).
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      cmake g++ make pkg-config ca-certificates \
      libboost-all-dev nlohmann-json3-dev libmsgpack-cxx-dev libssl-dev zlib1g-dev \
      libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libpq-dev libcpprest-dev \
      libyaml-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# RelWithDebInfo (-O2), the configuration hack/build.sh and CI build warning-free under -Werror;
# GCC 12 at -O3 (Release) stops on a false -Wrestrict in std::string concatenation. The
# debug info goes with strip.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build --target kong-cluster -j"$(nproc)" \
 && strip /build/bin/kong-cluster

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
