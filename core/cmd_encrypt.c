/* Client-side encryption on the command line (issue 15): --encrypt-key-file, checked
 * against the store's marker (store/crypt.h) before a verb reads or writes anything. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "store/crypt.h"
#include "store/lock.h"

/* The key of this run; a process has one store. */
static struct seal_key run_key;
/* This run is rekey (check_rekey): the old key may open a store whose rekey committed
 * index.json but not the marker, to finish it. */
static bool rekeying;

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
  if (store_crypt_attach (x->b, file && *file ? &run_key : NULL, !x->read_only, rekeying,
                          &err) != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  return EXIT_OK;
}

/* ---- rekey ---- */

static const struct cli_option rekey_options[] = {
  { "new-key-file", 0, CLI_VALUE, "FILE", NULL,
    "the key to re-encrypt the store with (32 bytes, raw or base64)", 0 },
  { "lock-timeout", 0, CLI_VALUE, "DURATION", "0",
    "wait up to DURATION (30s, 5m) for another writer's store lock; 0: fail at once", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

static struct seal_key new_key;

static int
check_rekey (struct cmd_ctx *x)
{
  const char *file = cli_get (x->cli, "new-key-file");
  struct rm_error err;
  if (!file || !*file) {
    log_error ("rekey: --new-key-file FILE is required");
    return EXIT_USAGE;
  }
  if (seal_key_load (file, &new_key, &err) != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_USAGE;
  }
  const char *cur = cli_get (x->cli, "encrypt-key-file");
  if (!cur || !*cur) {
    log_error ("rekey: --encrypt-key-file FILE (the store's current key) is required");
    return EXIT_USAGE;
  }
  if (x->dry_run) {
    log_error ("rekey: --dry-run is not supported");
    return EXIT_USAGE;
  }
  rekeying = true;
  return EXIT_OK;
}

static int
run_rekey (struct cmd_ctx *x)
{
  if (memcmp (run_key.id, new_key.id, sizeof new_key.id) == 0) {
    log_error ("rekey: the new key is the current key (id %s)", new_key.id_hex);
    return EXIT_USAGE;
  }
  struct rm_error err;
  double timeout = 0;
  const char *lt = cli_get (x->cli, "lock-timeout");
  if (store_lock_parse_timeout (lt, &timeout, &err) != RM_OK) {
    log_error ("--lock-timeout: '%s' %s", lt, err.message);
    return EXIT_USAGE;
  }
  char *where = backend_describe (x->b);
  struct store_lock *lock = NULL;
  struct store_lock_opts lo = { .command = "rekey", .timeout = timeout };
  if (store_lock_acquire (x->b, &lo, &lock, &err) != RM_OK) {
    log_error ("cannot lock %s: %s", where, err.message);
    free (where);
    return EXIT_ERROR;
  }
  struct store_rekey_result res;
  int rc = store_rekey (x->b, &run_key, &new_key, &res, &err);
  int status = EXIT_OK;
  if (rc != RM_OK && res.finished) {
    log_error ("rekey %s: %s (finishing the stopped rekey to key id %s: run it again)", where,
               err.message, new_key.id_hex);
    status = EXIT_ERROR;
  } else if (rc != RM_OK) {
    log_error ("rekey %s: %s (nothing committed: the store still reads with key id %s)", where,
               err.message, run_key.id_hex);
    status = EXIT_ERROR;
  } else if (res.finished) {
    printf ("finished the rekey of %s from key id %s to %s that was stopped between its two "
            "commit writes: %s names the new key, %zu old objects deleted\n", where,
            run_key.id_hex, new_key.id_hex, STORE_CRYPT_KEY, res.deleted);
    if (res.failed) {
      log_error ("rekey: %zu old objects could not be deleted (unreferenced; prune removes "
                 "them)", res.failed);
      status = EXIT_ERROR;
    }
  } else {
    printf ("rekeyed %s from key id %s to %s: %zu records, %zu snapshots rewritten, %zu old "
            "objects deleted\n", where, run_key.id_hex, new_key.id_hex, res.records,
            res.snapshots, res.deleted);
    if (res.leftovers)
      printf ("removed %zu objects an unfinished rekey left before starting over\n",
              res.leftovers);
    if (res.failed) {
      log_error ("rekey: %zu old objects could not be deleted (unreferenced; prune removes "
                 "them)", res.failed);
      status = EXIT_ERROR;
    }
  }
  if (store_lock_release (lock, &err) != RM_OK)
    log_warn ("releasing the store lock: %s", err.message);
  free (where);
  return status;
}

const struct command cmd_rekey = {
  "rekey",
  "re-encrypt an encrypted store with a new key (no cluster needed)",
  "[BACKEND] [BACKEND OPTIONS] --encrypt-key-file OLD --new-key-file NEW",
  "Re-encrypts every record, snapshot, index.json and the state file of the store under\n"
  "--path from the key of --encrypt-key-file to the key of --new-key-file, holding the\n"
  "store lock.  Records get new names (their HMAC under the new key) and the snapshots\n"
  "are rewritten to point at them; index.json and encryption.json are written last,\n"
  "only when every object was rewritten (the commit), and the old objects are deleted\n"
  "after it.  A rekey stopped before its commit leaves the store readable with the old\n"
  "key as it was; its new copies are skipped, the next export or prune removes them, and\n"
  "the next rekey (to the same key or another) removes them and starts over.  A rekey\n"
  "killed between the two commit writes leaves index.json sealed with the new key: the\n"
  "new key reads but does not write, the old key is refused, and this rekey run again\n"
  "with the same keys finishes it.",
  rekey_options,
  CMD_NEEDS_BACKEND | CMD_WRITES_STORE,
  1,
  check_rekey,
  NULL,
  run_rekey,
  NULL,
};
