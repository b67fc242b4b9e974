# Shared helpers for the shell tests: assertions that print what went wrong.
# Sourced by the shell tests (tests/*/test_*.sh); expects RM_BIN and abs_top_builddir from the harness.
set -u
: "${RM_BIN:?run through make check}"
FIXTURES="$abs_top_builddir/tests/plugins/.libs"
LOCAL_DIR="$abs_top_builddir/plugins/local/.libs"
TMP=$(mktemp -d /tmp/rm-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
checks=0

# run EXPECTED_STATUS CMD...: runs CMD, keeps stdout in $TMP/out and stderr in $TMP/err.
run () {
  want=$1; shift
  checks=$((checks + 1))
  "$@" >"$TMP/out" 2>"$TMP/err"
  got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: exit status $got, expected $want: $*"
    sed 's/^/  stdout: /' "$TMP/out" | head -20
    sed 's/^/  stderr: /' "$TMP/err" | head -20
    failures=$((failures + 1))
    return 1
  fi
  return 0
}

# expect FILE TEXT: FILE ($TMP/out or $TMP/err) contains TEXT literally.
expect () {
  checks=$((checks + 1))
  if ! grep -qF -- "$2" "$1"; then
    echo "FAIL: $(basename "$1") lacks: $2"
    sed 's/^/  | /' "$1" | head -20
    failures=$((failures + 1))
  fi
}

# reject FILE TEXT: FILE does not contain TEXT.
reject () {
  checks=$((checks + 1))
  if grep -qF -- "$2" "$1"; then
    echo "FAIL: $(basename "$1") must not contain: $2"
    sed 's/^/  | /' "$1" | head -20
    failures=$((failures + 1))
  fi
}

finish () {
  echo "$checks checks, $failures failures"
  [ "$failures" = 0 ]
  exit $?
}
