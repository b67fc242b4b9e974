#!/bin/sh
# Local backend write barrier (issues 17 and 11): N puts of SIZE bytes through local.so
# as a 1.0 core makes them (each put fsyncs its file and directory) and as a 1.1 core
# does (RM_OPEN_BARRIER, one sync at the end), on the same filesystem in the same run,
# alternating the two modes REPEAT times; prints each run and the ratio of the medians.
#   bench/local-barrier.sh [BUILD_DIR] [N] [SIZE_KIB] [REPEAT] [DIR]
# BUILD_DIR holds the built tree (default: the source tree): its plugins/local/.libs/
# local.so is driven by bench/local_barrier.c, compiled here.  Defaults: 2000 records of
# 8 KiB, 3 runs of each mode, in a fresh directory under DIR (default: $TMPDIR or /tmp).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
n=${2:-2000}
kib=${3:-8}
repeat=${4:-3}
base=${5:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$base/local-barrier.XXXXXX")
trap 'rm -rf "$work"' EXIT
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -I"$here/../sdk/include" -o "$work/driver" "$here/local_barrier.c" -ldl
so="$build/plugins/local/.libs/local.so"
fs=$(stat -f -c %T "$work")
echo "$n records x $kib KiB, $fs ($(df -P "$work" | awk 'NR == 2 { print $1 }')), $(uname -sr), $(nproc) CPUs"
i=0
: > "$work/times"
while [ "$i" -lt "$repeat" ]; do
  for mode in 1.0 1.1; do
    rm -rf "$work/store"
    sync
    "$work/driver" "$so" "$work/store" "$mode" "$n" $((kib * 1024)) | tee -a "$work/times" |
      awk '{ printf "%s: puts %7.3f s, sync %6.3f s, total %7.3f s, %7.1f records/s\n", $1, $2, $3, $4, '"$n"' / $4 }'
  done
  i=$((i + 1))
done
awk '{ t[$1] = t[$1] " " $4 }
     function median(s,   a, k, i, j, x) { k = split(s, a, " ")
       for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
       return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
     END { m0 = median(t["1.0"]); m1 = median(t["1.1"])
           printf "median: 1.0 %.3f s, 1.1 %.3f s, ratio 1.0/1.1 = %.1fx\n", m0, m1, m0 / m1 }' "$work/times"
