/* Fuzz target: the snapshot index reader (core/store/index.c).  An index it accepts must
 * survive writing and reading back unchanged, and every record must be found by key. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct store_index *ix = NULL;
  struct rm_error err;
  if (store_index_from_json ((const char *) data, size, &ix, &err) != RM_OK) {
    FUZZ_ASSERT (!ix && err.message[0]);
    return 0;
  }
  for (size_t i = 0; i < ix->n; i++)
    FUZZ_ASSERT (store_index_find (ix, ix->records[i].key) != NULL);
  char *text = store_index_to_json (ix);
  FUZZ_ASSERT (text);
  struct store_index *again = NULL;
  int rc = store_index_from_json (text, strlen (text), &again, &err);
  if (rc != RM_OK)
    fuzz_fail (__FILE__, __LINE__, err.message);
  FUZZ_ASSERT (store_index_same_records (ix, again));
  store_index_free (again);
  free (text);
  store_index_free (ix);
  return 0;
}
