#!/bin/sh
# `releasemanager docs [--output DIR]` (issue 12): one page per command named as the
# original's cobra GenMarkdownTree names them, plus releasemanager_VERB_BACKEND.md for each
# plugin found; every option line of `releasemanager VERB --help` is in the page's Options
# and nothing else is, the global options of `releasemanager --help` are the inherited
# ones, and a backend page lists exactly the plugin's keys.  No backend, no cluster needed;
# DIR is created; a DIR that cannot be written is an error naming it.
. "$abs_top_srcdir/tests/testlib.sh"
RM="$RM_BIN"
S3_DIR="$abs_top_builddir/plugins/s3/.libs"
unset RELEASEMANAGER_PLUGIN_PATH
py=${PYTHON3:-python3}

# OPTION LINES of a --help text or of a page's code block: "  -x, --name ..." or
# "      --name ...".
option_lines () {
  grep -E '^  (-[a-zA-Z], |    )--[a-z]' "$@" | sort
}
# block FILE TITLE: the lines of the code block under "### TITLE".
block () {
  awk -v t="### $2" '$0 == t { on = 1; next } on && /^```/ { if (++n == 2) exit; next }
                     on && n == 1 { print }' "$1"
}
same () {   # same WHAT A B: files A and B hold the same lines
  checks=$((checks + 1))
  if [ ! -s "$2" ] || ! cmp -s "$2" "$3"; then
    echo "FAIL: $1 (< page, > --help):"
    diff "$2" "$3" | sed 's/^/  /' | head -20
    failures=$((failures + 1))
  fi
}

D="$TMP/pages/nested/docs"
run 0 "$RM" docs --output "$D" --plugin-dir "$LOCAL_DIR" --plugin-dir "$S3_DIR" \
  --kubeconfig /nonexistent/kubeconfig
expect "$TMP/out" "pages written to $D"

# The pages: the root, every command of --help, and VERB_BACKEND for the backend verbs.
"$RM" --help > "$TMP/help"
verbs=$(sed -n '/^Commands:/,/^$/p' "$TMP/help" | awk 'NF > 1 && $1 != "help" { print $1 }')
checks=$((checks + 1))
[ -n "$verbs" ] || { echo "FAIL: no commands in --help"; failures=$((failures + 1)); }
: > "$TMP/want"
echo releasemanager.md >> "$TMP/want"
for v in $verbs; do
  echo "releasemanager_$v.md" >> "$TMP/want"
done
for v in export import list clear verify prune diff rekey; do
  for b in local s3; do echo "releasemanager_${v}_$b.md" >> "$TMP/want"; done
done
sort -o "$TMP/want" "$TMP/want"
ls "$D" | sort > "$TMP/got"
same "the pages written" "$TMP/got" "$TMP/want"

# The root page: --help's global options; a link to every command page.
option_lines "$TMP/help" > "$TMP/h"
block "$D/releasemanager.md" Options | option_lines > "$TMP/p"
same "releasemanager.md Options" "$TMP/p" "$TMP/h"
for v in $verbs; do
  expect "$D/releasemanager.md" "- [releasemanager $v](releasemanager_$v.md) - "
done
expect "$D/releasemanager.md" "Exit status: 0 success"

# Each command: its --help options are the page's Options (both ways), the globals are
# the inherited ones, the usage line is --help's.
for v in $verbs; do
  page="$D/releasemanager_$v.md"
  "$RM" "$v" --help > "$TMP/vh"
  sed -n '/^Options of /,/^$/p' "$TMP/vh" | option_lines > "$TMP/h"
  block "$page" Options | option_lines > "$TMP/p"
  if [ -s "$TMP/h" ] || [ -s "$TMP/p" ]; then
    same "$v: Options" "$TMP/p" "$TMP/h"
  fi
  option_lines "$TMP/help" > "$TMP/h"
  block "$page" "Options inherited from parent commands" | option_lines > "$TMP/p"
  same "$v: inherited options" "$TMP/p" "$TMP/h"
  expect "$page" "## releasemanager $v"
  expect "$page" "$(sed -n 's/^Usage: //p' "$TMP/vh")"
  expect "$page" "- [releasemanager](releasemanager.md)"
done
expect "$D/releasemanager_export.md" "- [releasemanager export s3](releasemanager_export_s3.md)"
expect "$D/releasemanager_docs.md" "--output DIR"

# A backend page: exactly the plugin's keys as `backends -o json` lists them (both ways),
# then the verb's and the global options as inherited.
if command -v "$py" >/dev/null 2>&1; then
  for b in local s3; do
    "$RM" backends -o json --plugin-dir "$LOCAL_DIR" --plugin-dir "$S3_DIR" > "$TMP/json"
    "$py" -c 'import json, sys
for p in json.load(open(sys.argv[1])):
    if p["name"] == sys.argv[2]:
        for o in p["options"]: print("--" + o["name"])' "$TMP/json" "$b" | sort > "$TMP/h"
    for v in export import list clear verify; do
      page="$D/releasemanager_${v}_$b.md"
      block "$page" Options | sed -n 's/^ *\(--[a-z_0-9]*\).*/\1/p' | sort > "$TMP/p"
      same "$v $b: backend options" "$TMP/p" "$TMP/h"
      { "$RM" "$v" --help | sed -n '/^Options of /,/^$/p'; cat "$TMP/help"; } | option_lines > "$TMP/hh"
      block "$page" "Options inherited from parent commands" | option_lines > "$TMP/p"
      same "$v $b: inherited options" "$TMP/p" "$TMP/hh"
      expect "$page" "## releasemanager $v $b"
      expect "$page" "releasemanager [OPTIONS] $v $b [OPTIONS]"
    done
  done
  expect "$D/releasemanager_export_s3.md" "(also --accessKeyID)"
  expect "$D/releasemanager_export_s3.md" "RELEASEMANAGER_S3_<KEY>"
else
  echo "SKIP (part): $py not found; backend pages not compared with backends -o json"
fi

# Default ./docs, no plugin found: command pages only, and a warning saying why.
mkdir "$TMP/cwd"
(cd "$TMP/cwd" && "$RM" docs --plugin-dir /nonexistent > "$TMP/out" 2> "$TMP/err")
checks=$((checks + 1))
[ -f "$TMP/cwd/docs/releasemanager_export.md" ] && [ ! -f "$TMP/cwd/docs/releasemanager_export_local.md" ] \
  || { echo "FAIL: default ./docs: $(ls "$TMP/cwd/docs" 2>&1)"; failures=$((failures + 1)); }
expect "$TMP/err" "no backend plugins found"

# A DIR that cannot be made or written: exit 1, naming it.
: > "$TMP/afile"
run 1 "$RM" docs --output "$TMP/afile/sub" --plugin-dir /nonexistent
expect "$TMP/err" "docs: cannot create directory $TMP/afile/sub: Not a directory"
mkdir -p "$TMP/blocked/releasemanager.md"
run 1 "$RM" docs --output "$TMP/blocked" --plugin-dir /nonexistent
expect "$TMP/err" "docs: cannot write $TMP/blocked/releasemanager.md: Is a directory"
run 2 "$RM" docs somewhere && expect "$TMP/err" "docs: unexpected operand 'somewhere'"
finish
