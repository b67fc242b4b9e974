/* `releasemanager list`: what a stored snapshot holds, read from its index alone, or
 * the records of a store the original Go tool wrote (store/legacy.c reads them as import
 * sees them), as a table or as JSON in the index's format. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "import/import.h"
#include "store/history.h"
#include "store/legacy.h"
#include "store/store.h"

static const struct cli_option list_options[] = {
  { "output", 'o', CLI_VALUE, "FORMAT", "table", "table or json", CLI_NO_FILE | CLI_NO_ENV },
  { "snapshots", 0, CLI_FLAG, NULL, NULL,
    "list the stored snapshots (time, id, cluster, records, bytes) instead", CLI_NO_FILE },
  { "snapshot", 0, CLI_VALUE, "ID|TIME", NULL,
    "the snapshot to list: an id, or the newest at or before TIME (default: the newest)",
    CLI_NO_FILE | CLI_NO_ENV },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

static void
human_size (long long n, char *buf, size_t size)
{
  if (n < 1024)
    snprintf (buf, size, "%lld B", n);
  else if (n < 1024 * 1024)
    snprintf (buf, size, "%.1f KiB", (double) n / 1024);
  else
    snprintf (buf, size, "%.1f MiB", (double) n / (1024 * 1024));
}

static const char *
or_dash (const char *s)
{
  return s && *s ? s : "-";
}

static void
print_table (const struct store_index *ix)
{
  printf ("%-20s %-30s %-8s %-16s %-30s %-14s %-30s %s\n", "NAMESPACE", "RELEASE", "REVISION",
          "STATUS", "CHART", "APP VERSION", "UPDATED", "SIZE");
  for (size_t i = 0; i < ix->n; i++) {
    const struct store_record *r = &ix->records[i];
    char chart[256], size[32];
    snprintf (chart, sizeof chart, "%s-%s", or_dash (r->chart), or_dash (r->chart_version));
    human_size (r->size, size, sizeof size);
    printf ("%-20s %-30s %-8d %-16s %-30s %-14s %-30s %s\n", r->namespace, r->release,
            r->revision, or_dash (r->status), chart, or_dash (r->app_version),
            or_dash (r->updated), size);
  }
}

/* list --snapshots: every snapshot of the store, oldest first, each read for its
 * cluster, record count and bytes (the stored size of the records it references). */
static int
list_snapshots (struct backend *b, bool json)
{
  struct store_history h;
  struct rm_error err;
  char *where = backend_describe (b);
  int rc = store_history_read (b, &h, &err);
  if (rc != RM_OK) {
    if (rc == RM_E_NOT_FOUND)
      log_error ("no snapshot in %s (no %s, nothing under %s): run `releasemanager export` "
                 "first", where, STORE_INDEX_KEY, STORE_SNAPSHOTS_PREFIX);
    else
      log_error ("%s", err.message);
    free (where);
    return EXIT_ERROR;
  }
  int status = EXIT_OK;
  cJSON *arr = json ? cJSON_CreateArray () : NULL;
  if (!json)
    printf ("%-24s %-12s %-7s %-36s %8s %12s\n", "TIME", "ID", "CURRENT", "CLUSTER", "RECORDS",
            "BYTES");
  for (size_t i = 0; i < h.n; i++) {
    const struct store_snapshot *s = &h.v[i];
    struct store_index *ix;
    if (store_snapshot_load (b, &h, s, &ix, &err) != RM_OK) {
      log_error ("%s", err.message);
      status = EXIT_ERROR;
      continue;
    }
    long long bytes = 0;
    for (size_t j = 0; j < ix->n; j++)
      bytes += ix->records[j].stored_size > 0 ? ix->records[j].stored_size : 0;
    if (json) {
      cJSON *o = cJSON_CreateObject ();
      cJSON_AddStringToObject (o, "id", s->id);
      cJSON_AddStringToObject (o, "time", s->time);
      cJSON_AddStringToObject (o, "key", s->key);
      cJSON_AddBoolToObject (o, "current", s->current);
      if (ix->cluster_uid)
        cJSON_AddStringToObject (o, "cluster", ix->cluster_uid);
      cJSON_AddNumberToObject (o, "records", (double) ix->n);
      cJSON_AddNumberToObject (o, "bytes", (double) bytes);
      cJSON_AddItemToArray (arr, o);
    }
    else
      printf ("%-24s %-12s %-7s %-36s %8zu %12lld\n", s->time, s->id, s->current ? "*" : "",
              or_dash (ix->cluster_uid), ix->n, bytes);
    store_index_free (ix);
  }
  if (json) {
    char *text = cJSON_Print (arr);
    printf ("%s\n", text);
    free (text);
    cJSON_Delete (arr);
  }
  store_history_free (&h);
  free (where);
  return status;
}

static int
check_list (struct cmd_ctx *x)
{
  const char *format = cli_get (x->cli, "output");
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0) {
    log_error ("--output: '%s' is not a format (use table or json)", format);
    return EXIT_USAGE;
  }
  if (cli_flag (x->cli, "snapshots") && cli_get (x->cli, "snapshot")) {
    log_error ("--snapshots lists every snapshot: --snapshot ID|TIME picks one for the other "
               "listing; give one of them");
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static int
run_list (struct cmd_ctx *x)
{
  const char *format = cli_get (x->cli, "output");
  struct backend *b = x->b;
  struct store_index *ix = NULL;
  struct strlist bad = STRLIST_INIT;
  struct rm_error err;
  bool legacy;
  char *where = backend_describe (b);
  if (cli_flag (x->cli, "snapshots")) {
    free (where);
    return list_snapshots (b, strcmp (format, "json") == 0);
  }
  int rc = store_snapshot_load_any (b, cli_get (x->cli, "snapshot"), imp_describe_record, &ix,
                                    &legacy, &bad, &err);
  if (rc != RM_OK) {
    if (rc == RM_E_NOT_FOUND)
      log_error ("no snapshot in %s (no %s, no NAME-VERSION-N%s files): run `releasemanager "
                 "export` first", where, STORE_INDEX_KEY, STORE_LEGACY_EXT);
    else
      log_error ("%s", err.message);
    free (where);
    return EXIT_ERROR;
  }
  for (size_t i = 0; i < bad.n; i++)
    log_warn ("%s", bad.items[i]);
  if (legacy)
    log_warn ("%s was written by the original tool (k8s-release-manager): no %s, %zu records "
              "read from its NAME-VERSION-N%s files (%zu unreadable), as import reads them",
              where, STORE_INDEX_KEY, ix->n, STORE_LEGACY_EXT, bad.n);
  int status = EXIT_OK;
  if (strcmp (format, "json") == 0) {
    /* A few records at a time: memory does not grow with the index's text. */
    if (!store_index_print (ix, stdout) || fflush (stdout) != 0) {
      log_error ("writing the index to standard output: %s", strerror (errno));
      status = EXIT_ERROR;
    }
  }
  else {
    print_table (ix);
    if (!legacy)
      log_info ("snapshot of cluster %s taken %s by %s: %zu records", or_dash (ix->cluster_uid),
                or_dash (ix->time), or_dash (ix->exporter), ix->n);
  }
  store_index_free (ix);
  strlist_free (&bad);
  free (where);
  return status;
}

const struct command cmd_list = {
  "list",
  "show what a stored snapshot holds",
  "[BACKEND] [BACKEND OPTIONS] [-o table|json] [--snapshots | --snapshot ID|TIME]",
  "Lists every release record of the snapshot stored under --path, from its index:\n"
  "namespace, release, revision, status, chart, app version, last deployed, size.\n"
  "Without index.json, the original Go tool's NAME-VERSION-N.release files are read\n"
  "and listed the same way (as import would restore them), with a warning saying so;\n"
  "files that are not a release are named in warnings.\n"
  "--snapshot ID|TIME lists a past snapshot instead of the newest: its id (or a unique\n"
  "prefix of 4 digits or more), or a time (2026-12-02T06:35:46Z, '2026-12-02 06:35:46'\n"
  "UTC, or a date: its midnight UTC), which picks the newest taken at or before it.\n"
  "--snapshots lists the snapshots themselves, oldest first: time, id, whether\n"
  "index.json is it (CURRENT), cluster, records and the bytes of their records.",
  list_options,
  CMD_NEEDS_BACKEND,
  1,
  check_list,
  NULL,
  run_list,
  NULL,
};
