/* Fuzz target: the configuration file reader (core/conffile.c), the input being the
 * file; every entry found is looked up again. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "fuzz.h"
#include "fuzz_file.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = fuzz_write_file ("config", data, size);
  struct rm_error err;
  struct config_file *cf = config_load (path, &err);
  if (!cf) {
    FUZZ_ASSERT (err.message[0]);
    return 0;
  }
  for (size_t i = 0; i < cf->n; i++) {
    FUZZ_ASSERT (cf->entries[i].key && cf->entries[i].line >= 0);
    FUZZ_ASSERT (config_get (cf, cf->entries[i].key) != NULL);
  }
  for (size_t i = 0; i < cf->nbackends; i++)
    FUZZ_ASSERT (config_backend (cf, cf->backends[i].name) != NULL);
  config_free (cf);
  return 0;
}
