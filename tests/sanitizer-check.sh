#!/bin/sh
# Log compiler for the Criterion test programs: run one, and fail it when a sanitizer
# reported anything.  Criterion ignores what happens in its forked workers after a test
# has reported (LeakSanitizer runs at their exit), so without this a leak passes.
log=$(mktemp "${TMPDIR:-/tmp}/rm-san.XXXXXX")
"$@" 2>"$log"
rc=$?
cat "$log" >&2
if grep -q -e 'ERROR: LeakSanitizer' -e 'ERROR: AddressSanitizer' -e ': runtime error: ' "$log"; then
  echo "sanitizer-check: the sanitizer report above fails this test" >&2
  rc=1
fi
rm -f "$log"
exit $rc
