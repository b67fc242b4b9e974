/* Client-side encryption on the command line (issue 15): --encrypt-key-file, checked
 * against the store's marker (store/crypt.h) before a verb reads or writes anything. */
#include <config.h>

#include <stdlib.h>

#include "commands.h"
#include "base/log.h"
#include "store/crypt.h"

/* The key of this run; a process has one store. */
static struct seal_key run_key;

int
cmd_encrypt_attach (struct cmd_ctx *x)
{
  const char *file = cli_get (x->cli, "encrypt-key-file");
  struct rm_error err;
  if (file && *file && seal_key_load (file, &run_key, &err) != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_USAGE;
  }
  if (file && *file)
    log_info ("encryption key id %s (%s)", run_key.id_hex, file);
  if (store_crypt_attach (x->b, file && *file ? &run_key : NULL, !x->read_only, &err) != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  return EXIT_OK;
}
