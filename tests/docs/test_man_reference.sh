#!/bin/sh
# One source of truth for the plugin documentation (issue 17), checked on what `make
# install` installs:
#  1. the REFERENCE section of the installed releasemanager-backend(3) is the installed
#     <releasemanager/backend.h>: undoing the page's roff (requests dropped, .SS headings
#     kept, escapes undone) gives back every line of the header less its comment
#     delimiters, with nothing added, lost or reordered;
#  2. no installed document (man pages, header, pkg-config file, version script) refers to
#     a file that is not installed (DESIGN.md, STYLE.md, a source file...), except the
#     example's example.c and Makefile, which releasemanager-backend(3) shows in full;
#  3. the code README.md shows under "Writing a backend" is taken from sdk/example/example.c.
. "$abs_top_srcdir/tests/testlib.sh"
stage="$TMP/stage"
run 0 ${MAKE:-make} -C "$abs_top_builddir" install DESTDIR="$stage" || finish

fail () {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

page=$(find "$stage" -name releasemanager-backend.3 | head -1)
header=$(find "$stage" -path '*/include/releasemanager/backend.h' | head -1)
checks=$((checks + 1))
if [ -z "$page" ] || [ -z "$header" ]; then
  fail "releasemanager-backend.3 or releasemanager/backend.h was not installed"
  finish
fi

# Roff source to text: drop requests and comments (except .SS, whose heading stays), undo
# the escapes of man/roff-listing.sed and font changes; \e last, through a placeholder.
cat > "$TMP/unroff.sed" <<'EOF'
s/^\.SS "\(.*\)"$/\1/
/^\.\\"/d
/^[.'][^\\]/d
/^\.$/d
s/\\e/<rm-backslash>/g
s/\\-/-/g
s/\\(aq/'/g
s/\\(ga/`/g
s/\\(ha/^/g
s/\\(ti/~/g
s/\\(dq/"/g
s/\\f\[[^]]*\]//g
s/\\f([A-Za-z][A-Za-z]//g
s/\\f[A-Za-z1-4]//g
s/\\&//g
s/\\%//g
s/<rm-backslash>/\\/g
s/[ 	]*$//
/^$/d
EOF

# ---- 1. the page's REFERENCE is the header ------------------------------------------
sed -n '/^\.\\" reference-begin$/,/^\.\\" reference-end$/p' "$page" > "$TMP/ref.roff"
checks=$((checks + 1))
if [ "$(grep -c . "$TMP/ref.roff")" -lt 100 ]; then
  fail "$page has no REFERENCE between '.\\\" reference-begin' and '.\\\" reference-end'"
else
  sed -f "$TMP/unroff.sed" "$TMP/ref.roff" > "$TMP/ref.txt"
  # The header, less what the page sets as text: the delimiters of comments that start
  # in column 0 ("/* ", " * ", " */") and their lines of dashes.  Code, and comments
  # inside code, stay as they are.
  sed -e '/^\/\*/{
s/^\/\* \{0,1\}//
s/[ 	]*\*\/[ 	]*$//
}' -e '/^ \*\( \|\/\|$\)/{
s/^ \*\/$//
s/^ \* \{0,1\}//
s/[ 	]*\*\/[ 	]*$//
}' -e '/^-*$/d' -e 's/[ 	]*$//' -e '/^$/d' "$header" > "$TMP/header.txt"
  if ! diff -u "$TMP/header.txt" "$TMP/ref.txt" > "$TMP/ref.diff"; then
    fail "the REFERENCE of the installed releasemanager-backend(3) is not the installed backend.h (- header, + page):"
    sed 's/^/  | /' "$TMP/ref.diff" | head -40
  fi
  # Every name the header defines is in it (a guard against both sides losing a part).
  for name in $(sed -n 's/^#define \(RM_[A-Z0-9_]*\).*/\1/p' "$header") struct_size sync \
              rm_host_open_flags rm_host_key_prefix RM_STRUCT_HAS; do
    checks=$((checks + 1))
    grep -q "$name" "$TMP/ref.txt" || fail "REFERENCE of releasemanager-backend(3) lacks $name"
  done
fi

# ---- 2. installed documents refer only to installed files ---------------------------
# Files the installed pages show in full instead of shipping them.
shown="example.c Makefile"
find "$stage" -type f | sed 's|.*/||' | sort -u > "$TMP/installed"
find "$stage" -type f \( -name '*.[1-9]' -o -name '*.h' -o -name '*.pc' -o -name '*.sym' \) \
  | sort > "$TMP/docs"
checks=$((checks + 1))
[ "$(grep -c . "$TMP/docs")" -ge 5 ] || fail "fewer than 5 installed documents found in $stage"
while read -r doc; do
  case "$doc" in
    *.[1-9]) grep -v '^\.\\"' "$doc" | sed -f "$TMP/unroff.sed" ;;
    *) cat "$doc" ;;
  esac |
    # <stdio.h> and the like are the system's; NAME.c and the like are placeholders.
    sed -e 's/<[^<> ]*\.h>//g' |
    grep -oE '(^|[^A-Za-z0-9_.$-])([A-Za-z0-9_./-]*/)?([A-Za-z0-9_+-]+\.)+(md|c|h|sh|sed|awk|mk|in|am|ac|py|sym|pc|txt)([^A-Za-z0-9_]|$)|(^|[^A-Za-z0-9_])(Makefile)([^A-Za-z0-9_.]|$)' |
    sed -e 's/^[^A-Za-z0-9_./-]//' -e 's/[^A-Za-z0-9_]$//' | sort -u > "$TMP/refs"
  while read -r ref; do
    base=${ref##*/}
    case "$base" in NAME.*|FILE.*|yours.*) continue ;; esac
    checks=$((checks + 1))
    if grep -qxF "$base" "$TMP/installed"; then
      continue
    fi
    case " $shown " in
      *" $base "*) [ "${doc##*/}" = releasemanager-backend.3 ] && continue ;;
    esac
    fail "${doc#$stage} refers to $ref, which is not installed"
  done < "$TMP/refs"
done < "$TMP/docs"
# What the page shows in full is really there, line for line.
for f in "$abs_top_srcdir/sdk/example/example.c" "$abs_top_srcdir/sdk/example/Makefile"; do
  checks=$((checks + 1))
  sed -f "$TMP/unroff.sed" "$page" > "$TMP/page.txt"
  sed -e 's/[ 	]*$//' -e '/^$/d' "$f" > "$TMP/shown"
  missing=$(grep -vxcF -f "$TMP/page.txt" "$TMP/shown")
  [ "$missing" = 0 ] || fail "releasemanager-backend(3) lacks $missing lines of ${f#$abs_top_srcdir/}"
done

# ---- 3. README's "Writing a backend" code is the example's ---------------------------
readme="$abs_top_srcdir/README.md"
sed -n '/^## Writing a backend/,/^## /p' "$readme" |
  awk '/^```/ { inside = !inside; next } inside' > "$TMP/readme-code"
checks=$((checks + 1))
if [ ! -s "$TMP/readme-code" ]; then
  fail "README.md's \"Writing a backend\" shows no code"
else
  # "..." marks left-out lines; every other line is a line of the example.
  grep -v '^ *\.\.\.$' "$TMP/readme-code" | sed -e 's/[ 	]*$//' -e '/^$/d' |
    grep -vxF -f "$abs_top_srcdir/sdk/example/example.c" > "$TMP/readme-extra"
  [ ! -s "$TMP/readme-extra" ] ||
    { fail "README.md shows lines that are not in sdk/example/example.c:"; sed 's/^/  | /' "$TMP/readme-extra"; }
fi
finish
