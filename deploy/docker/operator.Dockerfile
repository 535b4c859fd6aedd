# syntax=docker/dockerfile:1
# The operator image: `kong-cluster-operator` on Debian bookworm, non-root. The `kong-cluster`
# CLI is included too, for `kubectl exec ... -- kong-cluster members -rpc-addr POD_IP:7373`.
#
#   docker build -f deploy/docker/operator.Dockerfile -t kong-cluster/operator:0.1.0 .
#
# Build context: the repository root. hack/images/build.sh --real builds this file as it is
# (from the debootstrap base of hack/images/base.sh, no registry needed) and the k8s tests run
# the image; sizes and build times are in docs/kubernetes-nodes.md.

# ---------------------------------------------------------------- build
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
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
 && cmake --build /build --target kong-cluster-operator kong-cluster -j"$(nproc)" \
 && strip /build/bin/kong-cluster-operator /build/bin/kong-cluster

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (from `ldd build/bin/kong-cluster-operator` mapped with `dpkg -S`):
# cpprestsdk (Kubernetes REST client), libyaml (kubeconfig), libpq, prometheus-cpp core,
# spdlog/fmt, OpenSSL, zlib, Boost; ca-certificates for TLS to the API server and Postgres.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates libcpprest2.10 libyaml-0-2 libpq5 libssl3 zlib1g libspdlog1.10 libfmt9 \
      libboost-system1.74.0 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kong-cluster \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin kong-cluster
COPY --from=build /build/bin/kong-cluster-operator /usr/local/bin/kong-cluster-operator
COPY --from=build /build/bin/kong-cluster /usr/local/bin/kong-cluster
RUN ! ldd /usr/local/bin/kong-cluster-operator /usr/local/bin/kong-cluster | grep 'not found'
USER 10001:10001
# metrics, health probes
EXPOSE 8080/tcp 8081/tcp
ENTRYPOINT ["/usr/local/bin/kong-cluster-operator"]
