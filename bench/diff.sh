#!/bin/sh
# diff benchmark (issue 15): `releasemanager diff`, unchanged and after 1% of the releases
# upgraded, against the metadata-only LIST floor, at 1000 releases (5500 records) and
# 10,000 records, with peak RSS (bench/diff_bench.py).
#   bench/diff.sh [BUILD_DIR]        SIZES="5500 10000" REPEAT=3 by default
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
exec python3 "$here/diff_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" --sizes "${SIZES:-5500 10000}" \
  --repeat "${REPEAT:-3}" --label "$build"
