#!/bin/sh
# make check: each fuzz target, built without libFuzzer (fuzz/standalone.c as main), over
# its regression inputs (fuzz/regress/NAME/: every crash the fuzzers found, minimised)
# and its seed corpus (fuzz/corpus/NAME/).  Under --enable-sanitizers a sanitizer report
# fails the run as a crash does.
set -u
: "${abs_top_srcdir:?}" "${abs_top_builddir:?}"
rc=0
for t in jscan yamljson helm kubeconfig manifest index conffile s3xml sigv4; do
  set --
  for d in regress corpus; do
    [ -d "$abs_top_srcdir/fuzz/$d/$t" ] && set -- "$@" "$abs_top_srcdir/fuzz/$d/$t"
  done
  if ! sh "$abs_top_srcdir/tests/sanitizer-check.sh" "$abs_top_builddir/fuzz/regress-$t" "$@"; then
    echo "FAIL: fuzz target $t" >&2
    rc=1
  fi
done
exit $rc
