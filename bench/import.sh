#!/bin/sh
# Import benchmark (issue 6): releasemanager import vs a kubectl apply loop, same run.
#   bench/import.sh [BUILD_DIR] [N] [OPTIONS...]
# BUILD_DIR holds the built releasemanager (default: the source tree); N releases
# (default 100); OPTIONS go to import_bench.py (--dry-run-only [--before OTHER_BUILD/
# releasemanager] [--repeat 3]: time only import --dry-run).  Needs the test tools (tests/fakekube/get-tools.sh) and GNU time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
n=${2:-100}
[ $# -gt 2 ] && shift 2 || set --
exec python3 "$here/import_bench.py" --rm "$build/releasemanager" \
  --plugins "$build/plugins/local/.libs" -n "$n" "$@"
