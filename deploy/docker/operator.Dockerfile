# The operator image: `kong-cluster-operator` on Debian bookworm, non-root. The `kong-cluster`
# CLI is included too, for `kubectl exec ... -- kong-cluster members -rpc-addr POD_IP:7373`.
#
# The image carries the binaries the project's build made and its tests ran, never a second
# compile: hack/images/build.sh stages them (`objcopy --strip-all` copies: the same code,
# without the symbol table and debug sections) into <build dir>/image-context/ and builds this file with that
# directory as the context, with the legacy builder (no BuildKit needed):
#
#   hack/build.sh && hack/images/build.sh        # tags kong-cluster/operator:dev
#
# The binaries must come from a Debian 12 (bookworm) build, the release this image runs, so
# their glibc and libstdc++ match; docs/deploy.md has the two commands for other hosts.
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# First, so Docker reuses this layer until the list changes. Runtime libraries only (from
# `ldd build/bin/kong-cluster-operator` mapped with `dpkg -S`): cpprestsdk (Kubernetes REST
# client), libyaml (kubeconfig), OpenSSL, zlib, Boost (spdlog and fmt are compiled in, the
# Postgres client speaks the protocol itself); ca-certificates for TLS to the API server and Postgres.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      ca-certificates libcpprest2.10 libyaml-0-2 libssl3 zlib1g \
      libboost-system1.74.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kong-cluster \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin kong-cluster
COPY kong-cluster-operator /usr/local/bin/kong-cluster-operator
COPY kong-cluster /usr/local/bin/kong-cluster
# Fails the build if a linked library is missing from the list above.
RUN ! ldd /usr/local/bin/kong-cluster-operator /usr/local/bin/kong-cluster | grep 'not found'
USER 10001:10001
# metrics, health probes
EXPOSE 8080/tcp 8081/tcp
ENTRYPOINT ["/usr/local/bin/kong-cluster-operator"]
