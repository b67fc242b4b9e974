#!/bin/sh
# Scale benchmark (issue 20): first export, unchanged re-export, export after 1% changed,
# list and import --dry-run at 1,000 / 10,000 / 50,000 release records, each as a ratio
# to the LIST floor measured in the same run, with peak RSS and the growth per 10x.
#   bench/scale.sh [BUILD_DIR]
#   SIZES="1000 10000" REPEAT=1 bench/scale.sh BUILD_DIR     (quick, for development)
# BUILD_DIR holds the built releasemanager (default: the source tree).  Needs python3,
# GNU time (/usr/bin/time) and openssl (the fake API server's certificates); no helm
# or kubectl: the fake server is seeded with release Secrets directly.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
exec python3 "$here/scale_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" --sizes "${SIZES:-1000 10000 50000}" \
  --repeat "${REPEAT:-3}" --label "$build" ${SCALE_ARGS:-}
