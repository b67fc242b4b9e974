#!/bin/sh
# Commands that only read the store create nothing (issues 11 and 17): `list`, `import`,
# `import --dry-run`, `export --dry-run` and `clear --dry-run` open the backend
# RM_OPEN_READONLY (core/main.c, from CMD_WRITES_STORE) and the local plugin then
# creates no directory.  --debug shows the open flags, so a command that failed before
# opening the backend cannot pass this test by accident.  No cluster is needed: the
# backend is opened before the cluster, and a missing kubeconfig fails afterwards.
. "$abs_top_srcdir/tests/testlib.sh"
RM="$RM_BIN"
NOKUBE="--kubeconfig $TMP/no-such-kubeconfig"

for cmd in "list" "import $NOKUBE" "import --dry-run $NOKUBE" "export --dry-run $NOKUBE" "clear --dry-run"; do
  P="$TMP/absent/store"
  # shellcheck disable=SC2086
  "$RM" $cmd local --plugin-dir "$LOCAL_DIR" --path "$P" --debug >"$TMP/out" 2>"$TMP/err"
  expect "$TMP/err" "backend local: open (read-only): ok ("
  checks=$((checks + 1))
  if [ -e "$TMP/absent" ]; then
    echo "FAIL: '$cmd' on a --path that does not exist created $(find "$TMP/absent" | tail -1)"
    sed 's/^/  stderr: /' "$TMP/err" | head -10
    failures=$((failures + 1))
    rm -rf "$TMP/absent"
  fi
done

# A command that writes opens with the barrier.
run 0 "$RM" clear local --plugin-dir "$LOCAL_DIR" --path "$TMP/written" --debug
expect "$TMP/err" "backend local: open (barrier): ok ("

finish
