/* A line diff of two texts (Myers' O(ND) algorithm in linear space, "An O(ND)
 * Difference Algorithm and Its Variations", 1986) written as a unified diff, the format
 * of `diff -u`: `---`/`+++` labels, hunks of changes with their context lines, and
 * "\ No newline at end of file" after a last line without one. */
#ifndef RM_LINEDIFF_H
#define RM_LINEDIFF_H

#include <stddef.h>

#include "base/util.h"

/* The unified diff turning text a (alen bytes) into b, with context lines of context
 * around each change (hunks closer than 2 * context lines are joined, as diff does),
 * appended to out under the header "--- label_a" / "+++ label_b".  Returns the number
 * of hunks: 0 when the texts are the same (nothing is appended then). */
size_t linediff_unified (const char *a, size_t alen, const char *b, size_t blen,
                         const char *label_a, const char *label_b, unsigned context,
                         struct strbuf *out);

#endif
