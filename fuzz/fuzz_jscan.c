/* Fuzz target: the JSON scanner (core/base/jscan.c) over arbitrary bytes, capturing the
 * paths export and the index reader ask for, and unescaping every captured string. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct jscan_field f[] = {
    { .path = { NULL } },
    { .path = { "name", NULL } },
    { .path = { "version", NULL } },
    { .path = { "info", "status", NULL } },
    { .path = { "chart", "metadata", "name", NULL } },
    { .path = { "records", NULL } },
    { .path = { "a", "b", "c", "d", NULL } },
    { .path = { "", NULL } },
  };
  size_t n = sizeof f / sizeof f[0];
  size_t at = (size_t) -1;
  const char *why = NULL;
  int rc = jscan ((const char *) data, size, f, n, &at, &why);
  if (rc != 0) {
    FUZZ_ASSERT (rc == JSCAN_E_INVALID || rc == JSCAN_E_TRAILING);
    FUZZ_ASSERT (at <= size && why != NULL);
    return 0;
  }
  FUZZ_ASSERT (f[0].type != JSCAN_ABSENT);
  for (size_t i = 0; i < n; i++) {
    if (f[i].type == JSCAN_ABSENT)
      continue;
    const char *base = (const char *) data;
    FUZZ_ASSERT (f[i].at >= base && f[i].at + f[i].len <= base + size);
    char *s = jscan_string (&f[i]);
    FUZZ_ASSERT ((s != NULL) == (f[i].type == JSCAN_STRING));
    if (s && !f[i].escaped)
      FUZZ_ASSERT (strlen (s) <= f[i].len);
    free (s);
  }
  return 0;
}
