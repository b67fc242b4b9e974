/* `releasemanager clear`: delete a stored snapshot (records, index, state file) without
 * any cluster access.  The order (index first, so a reader never sees an index that
 * points at deleted records) is the snapshot protocol's, in store/snapshot.c. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "store/snapshot.h"

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
  if (snapshot_clear (b, dry, &res, &err) != RM_OK) {
    log_error ("%s", err.message);
    rc = EXIT_ERROR;
    goto out;
  }
  ix_s = res.index ? ", the index" : "";
  st_s = res.state ? ", the state file" : "";
  if (res.keys.n == 0)
    printf ("nothing to clear in %s\n", where);
  else if (dry)
    printf ("dry run: would delete %zu records%s%s from %s\n", res.records, ix_s, st_s, where);
  else if (res.failed) {
    log_error ("clear: %zu of %zu keys could not be deleted from %s", res.failed, res.keys.n,
               where);
    rc = EXIT_ERROR;
  }
  else
    printf ("cleared %s: %zu records%s%s\n", where, res.records, ix_s, st_s);
out:
  strlist_free (&res.keys);
  free (where);
  return rc;
}

const struct command cmd_clear = {
  "clear",
  "delete the stored snapshot (no cluster needed)",
  "[BACKEND] [BACKEND OPTIONS]",
  "Deletes the snapshot stored under --path: the index first (so no reader sees a\n"
  "partial snapshot), then every release record, then the manager's state file.  A\n"
  "store of the original Go tool loses its NAME-VERSION-N.release files, then its\n"
  "state file.\n"
  "No cluster access.  With --dry-run, lists what it would delete and deletes nothing.",
  NULL,
  CMD_NEEDS_BACKEND | CMD_WRITES_STORE,
  1,
  NULL,
  NULL,
  run_clear,
  NULL,
};
