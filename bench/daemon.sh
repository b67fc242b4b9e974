#!/bin/sh
# Daemon benchmark (issue 13): change-to-backup latency over 200 real `helm upgrade`s on
# a cluster of 1000 releases (p50, p99, from the API server's commit of the new record to
# index.json listing it), idle API requests and bytes per minute against the original's
# full LIST every 30 s, and RSS and open descriptors over 2000 sync cycles.
#   bench/daemon.sh [BUILD_DIR]
#   UPGRADES=50 IDLE=60 CYCLES=500 bench/daemon.sh BUILD_DIR      (quick, for development)
# BUILD_DIR holds the built releasemanager (default: the source tree).  Needs python3,
# openssl (the fake API server's certificates) and helm 3 (tests/fakekube/get-tools.sh).
# Results: bench/RESULTS.md, section "Daemon".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
exec python3 "$here/daemon_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" --releases "${RELEASES:-1000}" \
  --upgrades "${UPGRADES:-200}" --idle "${IDLE:-120}" --cycles "${CYCLES:-2000}" \
  --label "$build" ${DAEMON_ARGS:-}
