#!/bin/sh
# Documentation tests, after nbdkit's test-plugin-docs.sh and curl's tests 1119/1477:
#  1. the built releasemanager-backend(3) renders with groff without a warning, the
#     listing of the example plugin in the rendered page reads exactly as
#     sdk/example/example.c (which make inserted), and every other code block marked in
#     the page compiles;
#  2. each plugin built in-tree has exactly its keys as the items of the PARAMETERS
#     section of its man page releasemanager-NAME(1), in both directions;
#  3. every global option printed by `releasemanager --help` appears in
#     releasemanager(1) and in README.md.
# (That every RM_E_* code is documented is checked by tests/docs/test_header.sh.)
. "$abs_top_srcdir/tests/testlib.sh"
man="$abs_top_srcdir/man"
inc="$abs_top_srcdir/sdk/include"
py=${PYTHON3:-python3}
skip_why=

fail () {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Turn roff source into plain text: \e is a backslash, \- a minus, \(aq \(ga \(dq are
# quotes, \& \% \: are zero-width, and font changes (\fB, \f(CW, \f[I]) go.  \e first,
# through a placeholder, so that "\e-" stays a backslash and a minus.
cat > "$TMP/unroff.sed" <<'EOF'
s/\\e/<rm-backslash>/g
s/\\-/-/g
s/\\(aq/'/g
s/\\(ga/`/g
s/\\(dq/"/g
s/\\f\[[^]]*\]//g
s/\\f([A-Za-z][A-Za-z]//g
s/\\f[A-Za-z1-4]//g
s/\\&//g
s/\\%//g
s/\\://g
s/<rm-backslash>/\\/g
EOF
unroff () {
  sed -f "$TMP/unroff.sed" "$@"
}

# ---- 1. the code in releasemanager-backend(3) ----------------------------------------
# The page is built (man/local.mk puts sdk/example/example.c into it), so read it from the
# build tree.
page3="$abs_top_builddir/man/releasemanager-backend.3"
example="$abs_top_srcdir/sdk/example/example.c"
checks=$((checks + 1))
if [ ! -f "$page3" ]; then
  fail "$page3 was not built"
else
  # Blocks run from '.\" example-begin NAME' to '.\" example-end'; roff requests and
  # comments inside them (lines starting with '.' or "'") are not code.  The block named
  # example.c is checked on the rendered page below.
  mkdir "$TMP/blocks" "$TMP/raw"
  awk -v dir="$TMP/raw" '
    /^\.\\" example-begin/ { n++; name = $3 != "" ? $3 : "block" n
                             if (name !~ /\.c$/) name = name ".c"
                             file = dir "/" name; printf "" > file; inblock = 1; next }
    /^\.\\" example-end/   { if (inblock) close (file); inblock = 0; next }
    inblock && /^[.\047]/  { next }
    inblock                { print > file }' "$page3"
  rm -f "$TMP/raw/example.c"
  for r in "$TMP/raw"/*.c; do
    [ -f "$r" ] && unroff "$r" > "$TMP/blocks/$(basename "$r")"
  done
  nblocks=$(ls "$TMP/blocks" | wc -l)
  [ "$nblocks" -gt 0 ] || fail "releasemanager-backend.3 has no '.\\\" example-begin' block"
  for c in "$TMP/blocks"/*.c; do
    [ -f "$c" ] || continue
    b=$(basename "$c" .c)
    mkdir -p "$TMP/so-$b"
    run 0 ${CC:-cc} -std=c11 -Wall -Wextra -pedantic -Werror -shared -fPIC -I"$inc" \
      -Wl,-z,defs -o "$TMP/so-$b/$b.so" "$c" || sed 's/^/  | /' "$c" | head -40
  done

  # Render as a reader sees it (plain text: no bold/underline overstrikes, no SGR).
  checks=$((checks + 1))
  if ! command -v groff >/dev/null 2>&1; then
    skip_why="no groff to render releasemanager-backend(3)"
    echo "note: $skip_why: rendered listing not checked"
  else
    LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -P-c -P-b -P-u "$page3" > "$TMP/page3.txt" 2> "$TMP/groff.err"
    if [ -s "$TMP/groff.err" ]; then
      fail "groff warns about releasemanager-backend.3:"; sed 's/^/  | /' "$TMP/groff.err" | head -20
    fi
    # The listing: from the rendered line that is example.c's first line, as many lines as
    # example.c has, less the indentation of that first line.
    "$py" - "$TMP/page3.txt" "$example" "$TMP/rendered-example.c" <<'PY' || fail "the listing in the rendered releasemanager-backend(3) differs from sdk/example/example.c"
import sys
page = open(sys.argv[1], encoding="utf-8").read().split("\n")
want = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
starts = [i for i, l in enumerate(page) if l.strip() == want[0].strip() and l.endswith(want[0])]
if not starts:
    print("  the rendered page has no line reading %r" % want[0]); sys.exit(1)
i = starts[0]
indent = len(page[i]) - len(want[0])
got = [l[indent:] if l[:indent].strip() == "" else "<not indented> " + l for l in page[i:i + len(want)]]
open(sys.argv[3], "w", encoding="utf-8").write("\n".join(got) + "\n")
if got != want:
    import difflib
    for d in list(difflib.unified_diff(want, got, "example.c", "rendered page", lineterm=""))[:40]:
        print("  | " + d)
    sys.exit(1)
PY
    if [ -f "$TMP/rendered-example.c" ]; then
      # What the page shows is a plugin the real program loads.
      mkdir -p "$TMP/so-example"
      run 0 ${CC:-cc} -std=c11 -Wall -Wextra -pedantic -Werror -shared -fPIC -I"$inc" \
        -Wl,-z,defs -o "$TMP/so-example/example.so" "$TMP/rendered-example.c" &&
        run 0 "$RM_BIN" backends --plugin-dir "$TMP/so-example" &&
        expect "$TMP/out" "example 1.0 (ABI 1.1)"
    fi
  fi
fi

# ---- 2. plugin keys against the PARAMETERS section of the plugin's man page ----------
if ! "$py" -c 'import json' >/dev/null 2>&1; then
  skip_why="no python3 ($py) to read the JSON of \`releasemanager backends -o json\`"
  echo "note: $skip_why: plugin PARAMETERS checks not run"
else
  for name in local s3; do
    dir="$abs_top_builddir/plugins/$name/.libs"
    page="$man/releasemanager-$name.1"
    if [ ! -f "$dir/$name.so" ]; then
      echo "note: $name: no $dir/$name.so built, PARAMETERS check skipped"; continue
    fi
    if [ ! -f "$page" ]; then
      echo "note: $name: no man/releasemanager-$name.1, PARAMETERS check skipped"; continue
    fi
    run 0 "$RM_BIN" backends --plugin-dir "$dir" -o json || continue
    # The first (unshadowed) plugin called NAME is the one from --plugin-dir.
    "$py" -c '
import json, sys
for p in json.load (sys.stdin):
    if p["name"] == sys.argv[1] and not p["shadowed"]:
        for o in p["options"]:
            print (o["name"])
        break
' "$name" < "$TMP/out" | sort > "$TMP/keys-$name"
    # Items are the tags of the .TP paragraphs at the outer level of PARAMETERS (not
    # inside .RS/.RE; .TQ alias lines ignored).  A tag like ".BR path = \fIDIR\fR",
    # "\fB\-\-fsync\fR" or "bucket=NAME" names the key before any '=' or space, with
    # leading dashes dropped and '-' read as '_'.
    unroff "$page" | awk '
      /^\.SH/               { insec = ($0 ~ /^\.SH[ \t]+"?PARAMETERS"?[ \t]*$/); depth = 0
                              if (insec) seen = 1; next }
      !insec                { next }
      /^\.RS/               { depth++; next }
      /^\.RE/               { if (depth) depth--; next }
      /^\.TP/               { if (depth == 0) tag = 1; next }
      tag && /^\.\\"/       { next }
      tag                   { print; tag = 0 }
      END                   { if (!seen) print "<no PARAMETERS section>" }' |
      sed -e 's/^\.[A-Za-z]*[ \t]*//' -e 's/"//g' -e 's/^[ \t-]*//' \
          -e 's/^\([A-Za-z0-9_-]*\).*/\1/' -e 's/-/_/g' | sort > "$TMP/doc-$name"
    checks=$((checks + 1))
    if grep -q '^<no' "$TMP/doc-$name"; then
      fail "man/releasemanager-$name.1 has no PARAMETERS section"; continue
    fi
    missing=$(comm -23 "$TMP/keys-$name" "$TMP/doc-$name" | tr '\n' ' ')
    extra=$(comm -13 "$TMP/keys-$name" "$TMP/doc-$name" | tr '\n' ' ')
    [ -z "$missing" ] || fail "$name: keys missing from PARAMETERS of releasemanager-$name.1: $missing"
    [ -z "$extra" ] || fail "$name: PARAMETERS of releasemanager-$name.1 lists what is not a key: $extra"
    [ -s "$TMP/keys-$name" ] || fail "$name: \`backends -o json\` listed no keys for it"
  done
fi

# ---- 3. global options in releasemanager(1) and README.md ----------------------------
run 0 "$RM_BIN" --help
sed -n -e 's/^  -[A-Za-z0-9], \(--[a-z0-9][a-z0-9-]*\).*/\1/p' \
       -e 's/^      \(--[a-z0-9][a-z0-9-]*\).*/\1/p' "$TMP/out" > "$TMP/options"
checks=$((checks + 1))
[ -s "$TMP/options" ] || fail "no global options found in \`releasemanager --help\`"
for doc in "$man/releasemanager.1" "$abs_top_srcdir/README.md"; do
  checks=$((checks + 1))
  if [ ! -f "$doc" ]; then
    fail "$doc does not exist: every option of \`releasemanager --help\` must be documented there"
    continue
  fi
  unroff "$doc" > "$TMP/doc.txt"
  missing=
  while read -r opt; do
    # The whole option: --backend is not found inside --backend-opt.
    grep -Eq -- "(^|[^A-Za-z0-9-])$opt([^A-Za-z0-9-]|\$)" "$TMP/doc.txt" || missing="$missing $opt"
  done < "$TMP/options"
  [ -z "$missing" ] || fail "$(basename "$doc") lacks global options of --help:$missing"
done

if [ -n "$skip_why" ] && [ "$failures" = 0 ]; then
  echo "SKIP: $skip_why"
  exit 77
fi
finish
