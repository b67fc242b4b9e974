/* Fuzz target: YAML to cJSON (core/base/yamljson.c), with each combination of flags (the
 * first byte), then every node's line and source text, and the result printed. */
#include <config.h>

#include <stdlib.h>

#include "base/yamljson.h"
#include "fuzz.h"

static void
walk (const struct yamljson *y, const cJSON *node, int depth)
{
  for (; node; node = node->next) {
    FUZZ_ASSERT (yamljson_line (y, node) >= 0);
    (void) yamljson_text (node);
    if (depth < 200)
      walk (y, node->child, depth + 1);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  unsigned flags = data[0] & (YAMLJSON_DUPLICATE_KEYS | YAMLJSON_FIRST_DOCUMENT);
  struct yamljson y;
  struct rm_error err;
  int rc = yamljson_parse_flags ((const char *) data + 1, size - 1, "fuzz.yaml", flags, &y,
                                 &err);
  if (rc != 0) {
    FUZZ_ASSERT (rc == YAMLJSON_E_SYNTAX && err.message[0]);
    return 0;
  }
  FUZZ_ASSERT (cJSON_IsArray (y.docs));
  walk (&y, y.docs->child, 0);
  char *text = cJSON_PrintUnformatted (y.docs);
  free (text);
  yamljson_free (&y);
  return 0;
}
