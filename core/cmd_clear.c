/* `releasemanager clear`: delete a stored snapshot (records, index, state file) without
 * any cluster access.  The index goes first, so a reader never sees an index that
 * points at deleted records. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "store/store.h"

static int
collect (void *opaque, const struct rm_list_entry *e)
{
  strlist_push (opaque, e->key);
  return 0;
}

static int
run_clear (struct cli *c)
{
  if (c->positional.n > 1) {
    log_error ("clear: unexpected operand '%s'", c->positional.items[1]);
    return EXIT_USAGE;
  }
  char *error = NULL;
  bool usage;
  struct backend *b = cli_open_backend (c, true, &error, &usage);
  if (!b) {
    log_error ("%s", error);
    free (error);
    return usage ? EXIT_USAGE : EXIT_ERROR;
  }
  bool dry = cli_flag (c, "dry-run");
  char *where = backend_describe (b);
  struct strlist keys = STRLIST_INIT;
  struct rm_error err;
  int rc = EXIT_OK;
  if (backend_list_all (b, STORE_RELEASES_PREFIX, collect, &keys, &err) != RM_OK) {
    log_error ("%s", err.message);
    rc = EXIT_ERROR;
    goto out;
  }
  /* The index and state file, when present, bracket the records: index first, state
   * file last. */
  struct strlist order = STRLIST_INIT;
  static const char *const meta[] = { STORE_INDEX_KEY, STORE_STATE_KEY };
  for (size_t m = 0; m < ARRAY_SIZE (meta); m++) {
    struct strbuf probe = STRBUF_INIT;
    struct rm_object_info info = { sizeof info, -1, -1, "" };
    int r = backend_has_stat (b) ? backend_stat (b, meta[m], &info, &err)
                                 : backend_get_mem (b, meta[m], &probe, NULL, &err);
    strbuf_free (&probe);
    if (r == RM_OK)
      strlist_push (&order, meta[m]);
    else if (r != RM_E_NOT_FOUND) {
      log_error ("%s", err.message);
      strlist_free (&order);
      rc = EXIT_ERROR;
      goto out;
    }
  }
  struct strlist all = STRLIST_INIT;
  if (strlist_contains (&order, STORE_INDEX_KEY))
    strlist_push (&all, STORE_INDEX_KEY);
  for (size_t i = 0; i < keys.n; i++)
    strlist_push (&all, keys.items[i]);
  if (strlist_contains (&order, STORE_STATE_KEY))
    strlist_push (&all, STORE_STATE_KEY);
  strlist_free (&order);

  if (all.n == 0) {
    printf ("nothing to clear in %s\n", where);
    strlist_free (&all);
    goto out;
  }
  if (dry) {
    for (size_t i = 0; i < all.n; i++)
      printf ("would delete %s\n", all.items[i]);
    printf ("dry run: would delete %zu records%s%s from %s\n", keys.n,
            strlist_contains (&all, STORE_INDEX_KEY) ? ", the index" : "",
            strlist_contains (&all, STORE_STATE_KEY) ? ", the state file" : "", where);
    strlist_free (&all);
    goto out;
  }
  size_t failed = 0;
  for (size_t i = 0; i < all.n; i += 1000) {
    size_t n = all.n - i < 1000 ? all.n - i : 1000;
    int *codes = xcalloc (n, sizeof *codes);
    if (backend_remove_many (b, (const char *const *) all.items + i, n, codes, &err) != RM_OK) {
      log_error ("%s", err.message);
      failed += n;
    }
    else
      for (size_t j = 0; j < n; j++)
        if (codes[j] != RM_OK && codes[j] != RM_E_NOT_FOUND) {
          log_error ("delete %s: %s", all.items[i + j], rm_strerror (codes[j]));
          failed++;
        }
        else
          log_info ("deleted %s", all.items[i + j]);
    free (codes);
  }
  if (failed) {
    log_error ("clear: %zu of %zu keys could not be deleted from %s", failed, all.n, where);
    rc = EXIT_ERROR;
  }
  else
    printf ("cleared %s: %zu records%s%s\n", where, keys.n,
            strlist_contains (&all, STORE_INDEX_KEY) ? ", the index" : "",
            strlist_contains (&all, STORE_STATE_KEY) ? ", the state file" : "");
  strlist_free (&all);
out:
  strlist_free (&keys);
  free (where);
  backend_close (b);
  return rc;
}

const struct command cmd_clear = {
  "clear",
  "delete the stored snapshot (no cluster needed)",
  "[BACKEND] [BACKEND OPTIONS]",
  "Deletes the snapshot stored under --path: the index first (so no reader sees a\n"
  "partial snapshot), then every release record, then the manager's state file.\n"
  "No cluster access.  With --dry-run, lists what it would delete and deletes nothing.",
  NULL,
  run_clear,
};
