/* `releasemanager prune`: apply the retention rules to a store without any cluster
 * access: delete the snapshots the rules do not keep, then the records that no kept
 * snapshot references (store/history.c does both, in that order). */
#include <config.h>

#include <stdlib.h>

#include "base/log.h"
#include "commands.h"
#include "store/history.h"
#include "store/lock.h"

static const struct cli_option prune_options[] = {
  CMD_RETENTION_OPTIONS,
  { "lock-timeout", 0, CLI_VALUE, "DURATION", "0",
    "wait up to DURATION (30s, 5m) for another writer's store lock; 0: fail at once", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

struct prune_cmd {
  struct store_retention r;
  double lock_timeout;
};

static int
check_prune (struct cmd_ctx *x)
{
  struct prune_cmd *p = xcalloc (1, sizeof *p);
  x->opts = p;
  if (cmd_retention_parse (x->cli, &p->r) != EXIT_OK)
    return EXIT_USAGE;
  struct rm_error err;
  const char *lt = cli_get (x->cli, "lock-timeout");
  if (store_lock_parse_timeout (lt, &p->lock_timeout, &err) != RM_OK) {
    log_error ("--lock-timeout: '%s' %s", lt, err.message);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static void
release_prune (struct cmd_ctx *x)
{
  free (x->opts);
}

static int
run_prune (struct cmd_ctx *x)
{
  struct prune_cmd *p = x->opts;
  char *where = backend_describe (x->b);
  struct rm_error err;
  struct store_lock *lock = NULL;
  struct store_lock_opts lo = { .command = "prune", .timeout = p->lock_timeout };
  if (!x->read_only && store_lock_acquire (x->b, &lo, &lock, &err) != RM_OK) {
    log_error ("cannot lock %s: %s", where, err.message);
    free (where);
    return EXIT_ERROR;
  }
  char rules[128];
  store_retention_describe (&p->r, rules, sizeof rules);
  log_info ("pruning %s: %s", where, rules);
  struct store_prune_result res;
  int rc = store_prune (x->b, &p->r, lock, x->dry_run, &res, &err);
  int status = EXIT_OK;
  if (rc == RM_E_NOT_FOUND) {
    log_error ("no snapshot in %s (no %s, nothing under %s): nothing to prune", where,
               STORE_INDEX_KEY, STORE_SNAPSHOTS_PREFIX);
    status = EXIT_ERROR;
  }
  else if (rc != RM_OK) {
    log_error ("%s", err.message);
    status = EXIT_ERROR;
  }
  else {
    printf ("%s %s: %zu of %zu snapshots kept (%s), %zu %s, %zu of %zu records %s "
            "(%lld bytes)\n", x->dry_run ? "dry run: would prune" : "pruned", where, res.kept,
            res.snapshots, rules, res.forgotten, x->dry_run ? "would be deleted" : "deleted",
            res.deleted, res.records, x->dry_run ? "would be deleted" : "deleted", res.freed);
    if (res.failed) {
      log_error ("prune: %zu deletes failed (the next prune retries)", res.failed);
      status = EXIT_ERROR;
    }
  }
  if (store_lock_release (lock, &err) != RM_OK)
    log_warn ("releasing the store lock: %s", err.message);
  free (where);
  return status;
}

const struct command cmd_prune = {
  "prune",
  "delete old snapshots by retention rules (no cluster needed)",
  "[BACKEND] [BACKEND OPTIONS] [--keep-last N] [--keep-within DURATION] [--keep-daily N]",
  "Applies the retention rules to the snapshots stored under --path, as export does\n"
  "after each commit: the snapshots the rules do not keep are deleted first, then every\n"
  "record under releases/ that no kept snapshot references (also records left by an\n"
  "interrupted export).  The newest snapshot and the one index.json is are always\n"
  "kept.  The rules given replace the defaults (--keep-last 10 --keep-daily 7); a\n"
  "snapshot is kept when any rule keeps it.  A kept snapshot that cannot be read stops\n"
  "the prune before any delete.  Holds the store lock (lock.json) like export; no\n"
  "cluster access.  With --dry-run, lists what it would delete and deletes nothing.",
  prune_options,
  CMD_NEEDS_BACKEND | CMD_WRITES_STORE,
  1,
  check_prune,
  NULL,
  run_prune,
  release_prune,
};
