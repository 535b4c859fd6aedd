# The agent image: `kong-cluster` (agent and CLI subcommands), non-root, on nothing but what it
# needs at run time: the static binary, the CA bundle, a passwd entry for its user and BusyBox's
# static shell and tools (event handlers run as serf runs them, `/bin/sh -c COMMAND`, and the
# chart's Kong-mode init container is a shell script). docs/deploy.md, "The images", says how to
# build it without the shell.
#
# The image carries the binary the project's build made and its tests ran, never a second compile:
# hack/images/build.sh stages it (an `objcopy --strip-all` copy: the same code, without the symbol table and
# debug sections) into <build dir>/image-context/ and builds this file with that directory as the
# context, with the legacy builder (no BuildKit needed):
#
#   hack/build.sh && hack/images/build.sh        # tags kong-cluster/agent:dev
#
# The binary is linked fully statically (cmake/KcFootprint.cmake, KC_STATIC_AGENT): no glibc,
# libstdc++, OpenSSL or libpq is needed in the image.

# The root filesystem, assembled in a Debian stage (hack/images/base.sh makes the base image).
FROM debian:bookworm-slim AS rootfs
ARG DEBIAN_FRONTEND=noninteractive
# WITH_SHELL=0 leaves BusyBox out: no shell, so no event handlers and no Kong-mode init container.
ARG WITH_SHELL=1
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends ca-certificates busybox-static \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /rootfs/bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/usr/local/bin \
      /rootfs/var/lib/kong-cluster \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && if [ "$WITH_SHELL" = 1 ]; then \
      cp /bin/busybox /rootfs/bin/busybox \
      && for applet in $(/bin/busybox --list); do ln -s busybox "/rootfs/bin/$applet"; done; \
    fi \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nkong-cluster:x:10001:10001::/var/lib/kong-cluster:/sbin/nologin\n' \
      > /rootfs/etc/passwd \
 && printf 'root:x:0:\nkong-cluster:x:10001:\n' > /rootfs/etc/group \
 && chown 10001:10001 /rootfs/var/lib/kong-cluster \
 && chmod 1777 /rootfs/tmp \
 && ln -s kong-cluster /rootfs/usr/local/bin/serf

FROM scratch
COPY --from=rootfs /rootfs /
# `serf` (a link made above): the binary speaks serf's command line under that name
# (docs/kong-serf.md).
COPY kong-cluster /usr/local/bin/kong-cluster
USER 10001:10001
WORKDIR /var/lib/kong-cluster
# gossip (TCP and UDP), RPC, HTTP API (/healthz, /readyz, /metrics)
EXPOSE 7946/tcp 7946/udp 7373/tcp 8946/tcp
# SIGTERM (what Kubernetes sends) is a graceful leave.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kong-cluster"]
CMD ["agent", "--bind=0.0.0.0:7946", "--http-addr=0.0.0.0:8946"]
