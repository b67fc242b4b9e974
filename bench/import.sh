#!/bin/sh
# Import benchmark (issue 6): releasemanager import vs a kubectl apply loop, same run.
#   bench/import.sh [BUILD_DIR] [N]
# BUILD_DIR holds the built releasemanager (default: the source tree); N releases
# (default 100).  Needs the test tools (tests/fakekube/get-tools.sh) and GNU time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
exec python3 "$here/import_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" -n "${2:-100}"
