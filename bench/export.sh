#!/bin/sh
# Export benchmark (issue 5): releasemanager vs kubectl and a bare curl LIST, same run.
#   bench/export.sh [BUILD_DIR] [N] [REPEAT]
# BUILD_DIR holds the built releasemanager (default: the source tree); N releases
# (default 1000); each row runs REPEAT times (default 5) and the median is reported.
# Needs the test tools (tests/fakekube/get-tools.sh), GNU time, moto and the AWS CLI;
# the S3 floor row needs tests/plugins/s3/s3tool (built by make check).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
exec python3 "$here/export_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" --s3-plugins "$build/plugins/s3/.libs" \
  -n "${2:-1000}" --repeat "${3:-5}"
