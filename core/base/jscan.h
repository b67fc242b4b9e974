/* A validating one-pass JSON scanner that captures the values at a few key paths without
 * building a tree.  Export reads ~200 KiB of release JSON per record for half a dozen
 * short fields; a tree (cJSON) costs an allocation per node and a copy of every string,
 * this costs one pass and no allocation.  Validation follows RFC 8259 as Go's
 * encoding/json applies it (Helm's reader), including its nesting limit of 10000. */
#ifndef RM_HELM_JSCAN_H
#define RM_HELM_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

enum jscan_type {
  JSCAN_ABSENT = 0,
  JSCAN_OBJECT,
  JSCAN_ARRAY,
  JSCAN_STRING,
  JSCAN_NUMBER,
  JSCAN_TRUE,
  JSCAN_FALSE,
  JSCAN_NULL,
};

#define JSCAN_MAX_PATH 4       /* keys from the root to a captured value */
#define JSCAN_MAX_FIELDS 32
#define JSCAN_MAX_DEPTH 10000  /* Go's encoding/json maxNestingDepth */

/* One value to capture: path[] holds up to JSCAN_MAX_PATH object keys from the root,
 * NULL-terminated (an empty path is the root value itself).  After jscan() returns 0,
 * type says what the document holds there (JSCAN_ABSENT: nothing) and at/len the
 * token: for a string its contents between the quotes, still escaped (escaped says
 * whether there is any backslash); for a number or literal the text; for an object or
 * array only its first byte.  A key given twice keeps its last value, as Go's does. */
struct jscan_field {
  const char *path[JSCAN_MAX_PATH + 1];
  enum jscan_type type;
  const char *at;
  size_t len;
  bool escaped;
};

/* Scan json[0..len) as one JSON value with nothing but white space after it.  Returns 0
 * and fills fields[0..n); JSCAN_E_INVALID, or JSCAN_E_TRAILING when a whole value is
 * followed by more than white space, with *err_at set to the offset of the first byte
 * that is not valid JSON (len when the text ends too early) and why to a short reason. */
#define JSCAN_E_INVALID (-1)
#define JSCAN_E_TRAILING (-2)
int jscan (const char *json, size_t len, struct jscan_field *fields, size_t n,
           size_t *err_at, const char **why);

/* A captured string's value, unescaped to UTF-8 (an unpaired surrogate becomes U+FFFD,
 * as in Go); NULL unless f holds a string.  Caller frees. */
char *jscan_string (const struct jscan_field *f);

#endif
