/* `releasemanager clear`: delete a stored snapshot (records, index, state file) without
 * any cluster access.  The order (index first, so a reader never sees an index that
 * points at deleted records) is the snapshot protocol's, in store/snapshot.c. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "store/lock.h"
#include "store/snapshot.h"

static const struct cli_option clear_options[] = {
  { "lock-timeout", 0, CLI_VALUE, "DURATION", "0",
    "wait up to DURATION (30s, 5m) for another writer's store lock; 0: fail at once", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* --lock-timeout into x->opts (a double); EXIT_OK or EXIT_USAGE (said why). */
static int
check_clear (struct cmd_ctx *x)
{
  double *timeout = xcalloc (1, sizeof *timeout);
  x->opts = timeout;
  struct rm_error err;
  const char *lt = cli_get (x->cli, "lock-timeout");
  if (store_lock_parse_timeout (lt, timeout, &err) != RM_OK) {
    log_error ("--lock-timeout: '%s' %s", lt, err.message);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static void
release_clear (struct cmd_ctx *x)
{
  free (x->opts);
}

static int
run_clear (struct cmd_ctx *x)
{
  struct backend *b = x->b;
  bool dry = x->dry_run;
  char *where = backend_describe (b);
  struct snapshot_clear_result res;
  struct rm_error err;
  int rc = EXIT_OK;
  const char *ix_s = "", *st_s = "";
  /* The lock first, and its own lock.json last (when it is released). */
  struct store_lock *lock = NULL;
  struct store_lock_opts lo = { .command = "clear", .timeout = *(double *) x->opts };
  if (!x->read_only && store_lock_acquire (b, &lo, &lock, &err) != RM_OK) {
    log_error ("cannot lock %s: %s", where, err.message);
    free (where);
    return EXIT_ERROR;
  }
  if (snapshot_clear (b, dry, &res, &err) != RM_OK) {
    log_error ("%s", err.message);
    rc = EXIT_ERROR;
    goto out;
  }
  char snaps_s[64] = "";
  if (res.snapshots)
    snprintf (snaps_s, sizeof snaps_s, ", %zu past snapshot%s", res.snapshots,
              res.snapshots == 1 ? "" : "s");
  ix_s = res.index ? ", the index" : "";
  st_s = res.state ? ", the state file" : "";
  if (res.keys.n == 0)
    printf ("nothing to clear in %s\n", where);
  else if (dry)
    printf ("dry run: would delete %zu records%s%s%s from %s\n", res.records, ix_s, snaps_s,
            st_s, where);
  else if (res.failed) {
    log_error ("clear: %zu of %zu keys could not be deleted from %s", res.failed, res.keys.n,
               where);
    rc = EXIT_ERROR;
  }
  else
    printf ("cleared %s: %zu records%s%s%s\n", where, res.records, ix_s, snaps_s, st_s);
out:
  if (store_lock_release (lock, &err) != RM_OK)
    log_warn ("releasing the store lock: %s", err.message);
  strlist_free (&res.keys);
  free (where);
  return rc;
}

const struct command cmd_clear = {
  "clear",
  "delete the stored snapshot (no cluster needed)",
  "[BACKEND] [BACKEND OPTIONS]",
  "Deletes the snapshot stored under --path: the index first (so no reader sees a\n"
  "partial snapshot), then the past snapshots (snapshots/), then every release record,\n"
  "then the manager's state file.  A\n"
  "store of the original Go tool loses its NAME-VERSION-N.release files, then its\n"
  "state file.\n"
  "No cluster access.  With --dry-run, lists what it would delete and deletes nothing.\n"
  "Clear holds the store lock (lock.json) while it deletes, like export, and removes it\n"
  "last; --lock-timeout waits for another writer to finish.",
  clear_options,
  CMD_NEEDS_BACKEND | CMD_WRITES_STORE,
  1,
  check_clear,
  NULL,
  run_clear,
  release_clear,
};
