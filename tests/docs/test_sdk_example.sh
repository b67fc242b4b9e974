#!/bin/sh
# The SDK as a third party sees it: install into a staging directory, build
# sdk/example/ OUT OF TREE with nothing but pkg-config, check what the plugin exports,
# then load it with the real program and run the conformance suite on it.
. "$abs_top_srcdir/tests/testlib.sh"
stage="$TMP/stage"
run 0 ${MAKE:-make} -C "$abs_top_builddir" install DESTDIR="$stage" || finish
pc=$(find "$stage" -name releasemanager-backend.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: releasemanager-backend.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"

src="$TMP/third-party"
mkdir -p "$src"
cp "$abs_top_srcdir/sdk/example/example.c" "$abs_top_srcdir/sdk/example/Makefile" "$src/"
lines=$(wc -l < "$src/example.c")
checks=$((checks + 1))
[ "$lines" -lt 100 ] || { echo "FAIL: the example has $lines lines, the promise is < 100"; failures=$((failures + 1)); }

run 0 pkg-config --cflags releasemanager-backend
expect "$TMP/out" "-I$stage"
run 0 pkg-config --variable=abi_major releasemanager-backend
expect "$TMP/out" "1"
# The version script path is a variable, not a flag, so pkg-config does not add the
# sysroot to it: do it here as a cross-building third party would.
vs=$(pkg-config --variable=versionscript releasemanager-backend)
case "$vs" in "$stage"*) ;; *) vs="$stage$vs" ;; esac
checks=$((checks + 1))
[ -f "$vs" ] || { echo "FAIL: version script $vs not installed"; failures=$((failures + 1)); }
run 0 make -C "$src" CC="${CC:-cc}" CFLAGS="-O2 -Werror" VERSIONSCRIPT="$vs" || finish

# Only the entry point is exported.
run 0 sh -c "nm -D --defined-only '$src/example.so' | awk '{print \$3}' | grep -v '^_' | sort"
checks=$((checks + 1))
if [ "$(cat "$TMP/out")" != "rm_backend_init" ]; then
  echo "FAIL: example.so exports more than rm_backend_init:"; cat "$TMP/out"; failures=$((failures + 1))
fi

run 0 "$RM_BIN" backends --plugin-dir "$src"
expect "$TMP/out" "example 1.0 (ABI 1.1)"
expect "$TMP/out" "max_size (size)"
run 0 "$RM_BIN" backends check example --plugin-dir "$src"
expect "$TMP/out" "# 14 passed, 0 failed, 2 skipped"
# Its option goes through the core's validation like any plugin's.
run 1 "$RM_BIN" backends check example --plugin-dir "$src" --max_size 1k
expect "$TMP/out" "not ok 3 - put and get a large object"
run 2 "$RM_BIN" backends check example --plugin-dir "$src" --max_size lots
expect "$TMP/err" "'lots' is not a size"

# The installed tree: program, plugin in backenddir, header, man pages.
bdir=$(pkg-config --variable=backenddir releasemanager-backend)
case "$bdir" in "$stage"*) ;; *) bdir="$stage$bdir" ;; esac
for f in "$bdir/local.so" "$(dirname "$pc")/../../include/releasemanager/backend.h"; do
  checks=$((checks + 1))
  [ -f "$f" ] || { echo "FAIL: not installed: $f"; failures=$((failures + 1)); }
done
for m in releasemanager.1 releasemanager-backend.3 releasemanager-local.1; do
  checks=$((checks + 1))
  find "$stage" -name "$m" | grep -q . || { echo "FAIL: man page $m not installed"; failures=$((failures + 1)); }
done
finish
