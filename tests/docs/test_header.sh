#!/bin/sh
# backend.h compiles on its own as strict C11 and as C++ (plugin authors use both),
# and every RM_E_* code it defines is documented in releasemanager-backend(3).
. "$abs_top_srcdir/tests/testlib.sh"
inc="$abs_top_srcdir/sdk/include"
printf '#include <releasemanager/backend.h>\nint main (void) { return rm_key_check ("a/b", 0); }\n' > "$TMP/h.c"
run 0 ${CC:-cc} -std=c11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$TMP/h.c" -o "$TMP/h.o"
run 0 ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$TMP/h.c" -o "$TMP/h.o"
if command -v c++ >/dev/null 2>&1; then
  cp "$TMP/h.c" "$TMP/h.cc"
  run 0 c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$TMP/h.cc" -o "$TMP/h2.o"
else
  echo "note: no C++ compiler, C++ check skipped"
fi
for code in $(sed -n 's/^#define \(RM_E_[A-Z_]*[A-Z]\) .*/\1/p' "$inc/releasemanager/backend.h"); do
  expect "$abs_top_builddir/man/releasemanager-backend.3" "$code"     # built (man/local.mk)
done
# The frozen copy of the released ABI 1.0 header differs only in comments and appended fields.
checks=$((checks + 1))
if ! grep -q 'RM_BACKEND_ABI_MAJOR 1$' "$abs_top_srcdir/tests/plugins/abi/1.0/releasemanager/backend.h"; then
  echo "FAIL: tests/plugins/abi/1.0 is not the ABI 1 header"; failures=$((failures + 1))
fi
finish
