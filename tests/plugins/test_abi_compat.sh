#!/bin/sh
# ABI compatibility across minors, both ways (issue 17):
#  - plugins built against the frozen ABI 1.0 header (tests/plugins/abi/1.0) load and
#    pass `backends check` with today's core (mem10, in memory);
#  - today's local.so works under a host that knows only ABI 1.0 (host10: a 1.0-sized
#    host table, never a sync call), reading open_flags as 0;
#  - the 1.1 checks themselves: a plugin with sync passes the barrier check, one that
#    ignores RM_OPEN_READONLY fails the read-only check (a key store, and a store in one
#    file, whose read-only open is tried beside it), and cleans up after itself.
. "$abs_top_srcdir/tests/testlib.sh"
RM="$RM_BIN"

run 0 "$RM" backends check mem10 --plugin-dir "$FIXTURES" --list-keys 2100 --big-size 1MiB
expect "$TMP/out" "# backend mem10 0.0.1 (ABI 1.0)"
expect "$TMP/out" "# 14 passed, 0 failed, 2 skipped"
expect "$TMP/out" "sync (the barrier) with nothing written, after puts and a delete # SKIP the backend has no sync"
expect "$TMP/out" "ok 14 - a read-only open of a new store reads as empty and creates nothing"
reject "$TMP/out" "not ok"

run 0 "$RM" backends check mem11 --plugin-dir "$FIXTURES" --list-keys 50 --big-size 1MiB
expect "$TMP/out" "# backend mem11 0.0.1 (ABI 1.1)"
expect "$TMP/out" "ok 15 - sync (the barrier) with nothing written, after puts and a delete"
reject "$TMP/out" "ok 15 - sync (the barrier) with nothing written, after puts and a delete # SKIP"
expect "$TMP/out" "# 15 passed, 0 failed, 1 skipped"

run 1 "$RM" backends check memcareless --plugin-dir "$FIXTURES" --list-keys 50 --big-size 1MiB
expect "$TMP/out" "not ok 14 - a read-only open of a new store reads as empty and creates nothing"
expect "$TMP/out" "'.lock'"

# A store in one file ("path" names a file): the read-only open goes beside it.
mkdir "$TMP/db"
run 0 "$RM" backends check memfile --plugin-dir "$FIXTURES" --path "$TMP/db/store.db" --list-keys 50 --big-size 1MiB
expect "$TMP/out" "# 15 passed, 0 failed, 1 skipped"
run 1 "$RM" backends check memfilecareless --plugin-dir "$FIXTURES" --path "$TMP/db/store.db" --list-keys 50 --big-size 1MiB
expect "$TMP/out" "not ok 14 - a read-only open of a new store reads as empty and creates nothing"
expect "$TMP/out" "#   a read-only open of $TMP/db/store.db.rm-check-"
expect "$TMP/out" "-ro-store created $TMP/db/store.db.rm-check-"
run 0 ls "$TMP/db"
run 0 test "$(cat "$TMP/out")" = "store.db"

# --debug: one line per backend call, never without it.
run 0 "$RM" backends check mem11 --plugin-dir "$FIXTURES" --list-keys 30 --big-size 1KiB --debug
expect "$TMP/err" "backend mem11: open (barrier): ok ("
expect "$TMP/err" "backend mem11: open (read-only): ok ("
expect "$TMP/err" "backend mem11: sync: ok ("
expect "$TMP/err" "backend mem11: get rm-check-"
expect "$TMP/err" "/objects/never-written: RM_E_NOT_FOUND ("
expect "$TMP/err" "/page/: ok, 30 keys ("
expect "$TMP/err" "backend mem11: delete rm-check-"
run 0 "$RM" backends check mem11 --plugin-dir "$FIXTURES" --list-keys 30 --big-size 1KiB
reject "$TMP/err" "backend mem11:"

run 0 "$abs_top_builddir/tests/plugins/host10" "$LOCAL_DIR/local.so" "$TMP/h10/store"
expect "$TMP/err" "host10: ok"
expect "$TMP/err" "ABI 1.1, through a 1.0 host table of"

finish
