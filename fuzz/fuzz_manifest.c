/* Fuzz target: the manifest splitter (core/import/manifest.c).  Even first byte: the
 * input is a rendered manifest, split and sorted in install order.  Odd: it is release
 * JSON, whose hooks and chart crds/ files are split. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "import/import.h"
#include "fuzz.h"

static void
check (const struct imp_objects *l)
{
  for (size_t i = 0; i < l->n; i++)
    FUZZ_ASSERT (l->v[i].obj != NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  char *text = fuzz_strndup (data + 1, size - 1);
  struct imp_objects l;
  struct rm_error err;
  memset (&l, 0, sizeof l);
  if (!(data[0] & 1)) {
    if (imp_split_manifest (text, "fuzz", &l, &err) == RM_OK) {
      imp_sort_install_order (&l);
      check (&l);
    }
    else
      FUZZ_ASSERT (err.message[0]);
    imp_objects_free (&l);
  }
  else {
    cJSON *release = cJSON_Parse (text);
    if (release) {
      static const char *const events[] = { "pre-install", "post-install", "test" };
      if (imp_hooks_for (release, events[(data[0] >> 1) % 3], &l, &err) == RM_OK)
        check (&l);
      imp_objects_free (&l);
      memset (&l, 0, sizeof l);
      if (imp_chart_crds (release, &l, &err) == RM_OK)
        check (&l);
      imp_objects_free (&l);
      cJSON_Delete (release);
    }
  }
  free (text);
  return 0;
}
