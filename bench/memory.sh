#!/bin/sh
# Memory benchmark (issue 10): peak RSS of export, unchanged re-export and list against
# the number of records in the snapshot index, with kubectl as the peer, same run.
#   bench/memory.sh [BUILD_DIR] [RELEASES]
# BUILD_DIR holds the built releasemanager (default: the source tree); RELEASES is a
# comma-separated ascending list of release counts (default 1,1000,2000,4000: about
# 1, 5500, 11000 and 22000 records; release i has i % 10 + 1 revisions).
# Needs the test tools (tests/fakekube/get-tools.sh) and GNU time (/usr/bin/time).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
exec python3 "$here/memory_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" --releases "${2:-1,1000,2000,4000}" --label "$build"
