# releasemanager's container image: the daemon (`releasemanager export --daemon`) that the
# chart in deploy/helm/releasemanager runs, and every other command.
#
#   docker build -t releasemanager .
#   scripts/build-image.sh          # podman, with a base image made from Debian packages
#
# BASE names the Debian 12 slim image; scripts/build-image.sh passes a locally imported one
# when no image registry is reachable.
ARG BASE=debian:12-slim

# --- build: the project's own autotools build, installed into /out --------------------------
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential autoconf automake libtool pkg-config \
      libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev zlib1g-dev libdeflate-dev \
      libexpat1-dev libmicrohttpd-dev libcriterion-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# --prefix=/usr: the compiled-in plugin directory is /usr/lib/releasemanager/backends-1, where
# `make install` puts local.so and s3.so.  --sysconfdir=/etc as a distribution package has it.
RUN autoreconf -fi \
 && ./configure -q --prefix=/usr --sysconfdir=/etc \
 && make -j"$(nproc)" \
 && make install-strip DESTDIR=/out \
 && rm -rf /out/usr/include /out/usr/lib/pkgconfig /out/usr/share/man /out/usr/share/doc \
 && find /out -name '*.la' -delete \
 && /out/usr/bin/releasemanager --version

# --- runtime: the shared libraries the program and its plugins link, nothing else -----------
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcurl4 libcjson1 libyaml-0-2 libssl3 zlib1g libdeflate0 libexpat1 libmicrohttpd12 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY --from=build /out/usr/ /usr/
# The chart mounts its ConfigMap here; the directory exists so a bare `docker run` finds the
# same path empty rather than missing.
RUN mkdir -p /etc/releasemanager && releasemanager --version && releasemanager backends
# 65532: the conventional "nonroot" UID/GID of distroless images; no home, no shell needed.
USER 65532:65532
ENV HOME=/tmp
EXPOSE 8080
ENTRYPOINT ["releasemanager"]
CMD ["--help"]
