/* `releasemanager diff`: a stored snapshot against the cluster, or against another
 * snapshot (--to-snapshot), release by release (core/diff/diff.c), printed one line per
 * change and a summary, or as JSON; exit 0 equal, 1 different, 2 trouble (diff(1)). */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "base/log.h"
#include "diff/diff.h"
#include "import/import.h"
#include "store/history.h"

static const struct cli_option diff_options[] = {
  { "output", 'o', CLI_VALUE, "FORMAT", "text", "text or json", CLI_NO_FILE | CLI_NO_ENV },
  { "snapshot", 0, CLI_VALUE, "ID|TIME", NULL,
    "the snapshot to compare: an id, or the newest at or before TIME (default: the newest)",
    CLI_NO_FILE | CLI_NO_ENV },
  { "to-snapshot", 0, CLI_VALUE, "ID|TIME", NULL,
    "compare with this snapshot instead of the cluster (the newer side)",
    CLI_NO_FILE | CLI_NO_ENV },
  { "manifests", 0, CLI_FLAG, NULL, NULL,
    "show a unified diff of the manifests of each release whose revision changed",
    CLI_NO_FILE },
  { "namespace", 'n', CLI_LIST, "NS", NULL, "compare only releases in NS", 0 },
  { "namespaces", 0, CLI_LIST, "NS,NS", NULL, "the same as --namespace", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS,NS", NULL, "leave out releases in these namespaces",
    0 },
  { "release", 0, CLI_LIST, "NAME", NULL, "compare only the releases named NAME", 0 },
  { "helm-driver", 0, CLI_VALUE, "DRIVER", "auto",
    "compare releases Helm keeps in secret, configmap or both (auto)", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

struct diff_cmd {
  struct strlist only, skip, releases;
  struct diff_opts o;
  bool json;
  struct store_index *from, *to;     /* prepare() reads them, before the cluster */
};

static int
check_diff (struct cmd_ctx *x)
{
  struct diff_cmd *d = xcalloc (1, sizeof *d);
  x->opts = d;
  const struct cli *c = x->cli;
  const char *format = cli_get (c, "output");
  if (strcmp (format, "text") != 0 && strcmp (format, "json") != 0) {
    log_error ("--output: '%s' is not a format (use text or json)", format);
    return EXIT_USAGE;
  }
  d->json = strcmp (format, "json") == 0;
  const char *drv = cli_get (c, "helm-driver");
  if (strcmp (drv, "auto") != 0 && strcmp (drv, "secret") != 0 && strcmp (drv, "configmap") != 0) {
    log_error ("--helm-driver: '%s' is not a driver (use secret, configmap or auto)", drv);
    return EXIT_USAGE;
  }
  cli_get_list (c, "namespace", ',', &d->only);
  cli_get_list (c, "namespaces", ',', &d->only);
  cli_get_list (c, "exclude-namespaces", ',', &d->skip);
  cli_get_list (c, "release", ',', &d->releases);
  d->o.only_ns = &d->only;
  d->o.skip_ns = &d->skip;
  d->o.only_release = &d->releases;
  d->o.secrets = strcmp (drv, "configmap") != 0;
  d->o.configmaps = strcmp (drv, "secret") != 0;
  d->o.manifests = cli_flag (c, "manifests");
  /* Two snapshots: no cluster. */
  if (cli_get (c, "to-snapshot"))
    x->cluster = false;
  return EXIT_OK;
}

static void
release_diff (struct cmd_ctx *x)
{
  struct diff_cmd *d = x->opts;
  if (!d)
    return;
  strlist_free (&d->only);
  strlist_free (&d->skip);
  strlist_free (&d->releases);
  store_index_free (d->from);
  store_index_free (d->to);
  free (d);
}

/* The snapshot which names (NULL: the newest), or EXIT_TROUBLE (said why). */
static int
load_snapshot (struct backend *b, const char *which, const char *option, struct store_index **ix)
{
  struct strlist bad = STRLIST_INIT;
  struct rm_error err;
  bool legacy;
  int rc = store_snapshot_load_any (b, which, imp_describe_record, ix, &legacy, &bad, &err);
  for (size_t i = 0; i < bad.n; i++)
    log_warn ("%s", bad.items[i]);
  strlist_free (&bad);
  if (rc == RM_OK) {
    if (legacy)
      log_warn ("the store was written by the original tool (k8s-release-manager): its "
                "NAME-VERSION-N%s files are compared", STORE_LEGACY_EXT);
    return EXIT_OK;
  }
  char *where = backend_describe (b);
  if (rc == RM_E_NOT_FOUND)
    log_error ("no snapshot in %s (no %s, no NAME-VERSION-N%s files): run `releasemanager "
               "export` first", where, STORE_INDEX_KEY, STORE_LEGACY_EXT);
  else if (which)
    log_error ("%s %s: %s", option, which, err.message);
  else
    log_error ("%s", err.message);
  free (where);
  return EXIT_TROUBLE;
}

static const char *
or_dash (const char *s)
{
  return s && *s ? s : "-";
}

static char *
chart_text (const struct diff_side *s)
{
  return xasprintf ("%s-%s", or_dash (s->chart), or_dash (s->chart_version));
}

static void
print_change (const struct diff_change *c, int width)
{
  static const char marks[] = { '+', '-', '~', '~', '~', '!' };
  char *name = xasprintf ("%s/%s", c->namespace, c->release);
  printf ("%c %-*s %-11s ", marks[c->kind], width, name, diff_kind_name (c->kind));
  const struct diff_side *a = &c->before, *b = &c->after;
  if (c->kind == DIFF_ADDED || c->kind == DIFF_REMOVED) {
    const struct diff_side *s = c->kind == DIFF_ADDED ? b : a;
    char *ch = chart_text (s);
    printf ("revision %d  chart %s  status %s\n", s->revision, ch, or_dash (s->status));
    free (ch);
  }
  else if (c->kind == DIFF_STATUS)
    printf ("revision %d  status %s -> %s\n", a->revision, or_dash (a->status),
            or_dash (b->status));
  else {
    char *ca = chart_text (a), *cb = chart_text (b);
    printf ("revision %d -> %d  chart %s", a->revision, b->revision, ca);
    if (strcmp (ca, cb) != 0)
      printf (" -> %s", cb);
    if (str_same (a->status, b->status))
      printf ("  status %s\n", or_dash (b->status));
    else
      printf ("  status %s -> %s\n", or_dash (a->status), or_dash (b->status));
    free (ca);
    free (cb);
  }
  if (c->manifest_diff)
    fputs (c->manifest_diff, stdout);
  free (name);
}

static void
count_kinds (const struct diff_result *r, size_t counts[6])
{
  memset (counts, 0, 6 * sizeof *counts);
  for (size_t i = 0; i < r->n; i++)
    counts[r->v[i].kind]++;
}

static void
print_text (const struct diff_result *r, bool cluster)
{
  int width = 0;
  for (size_t i = 0; i < r->n; i++) {
    int w = (int) (strlen (r->v[i].namespace) + 1 + strlen (r->v[i].release));
    width = w > width ? w : width;
  }
  for (size_t i = 0; i < r->n; i++)
    print_change (&r->v[i], width);
  size_t k[6];
  count_kinds (r, k);
  static const char *const words[] = { "added", "removed", "upgraded", "rolled back",
                                       "downgraded", "status changed" };
  printf ("%zu release%s changed", r->n, r->n == 1 ? "" : "s");
  const char *sep = ": ";
  for (size_t i = 0; i < 6; i++)
    if (k[i]) {
      printf ("%s%zu %s", sep, k[i], words[i]);
      sep = ", ";
    }
  printf ("; %zu unchanged", r->unchanged);
  if (cluster)
    printf (" (%zu release objects listed, %zu read in full", r->listed, r->cluster_reads);
  else
    printf (" (from the indexes");
  if (r->store_reads)
    printf (", %zu stored records read", r->store_reads);
  printf (")\n");
}

static cJSON *
side_json (const struct diff_side *s)
{
  if (!s->revision)
    return cJSON_CreateNull ();
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddNumberToObject (o, "revision", s->revision);
  const char *names[] = { "status", "chart", "chartVersion", "appVersion" };
  const char *vals[] = { s->status, s->chart, s->chart_version, s->app_version };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    if (vals[i])
      cJSON_AddStringToObject (o, names[i], vals[i]);
    else
      cJSON_AddNullToObject (o, names[i]);
  return o;
}

static void
side_info (cJSON *o, const char *what, const struct store_index *ix, const char *which)
{
  cJSON *s = cJSON_AddObjectToObject (o, what);
  if (!ix) {
    cJSON_AddStringToObject (s, "type", "cluster");
    return;
  }
  cJSON_AddStringToObject (s, "type", "snapshot");
  if (which)
    cJSON_AddStringToObject (s, "snapshot", which);
  else
    cJSON_AddNullToObject (s, "snapshot");
  if (ix->time)
    cJSON_AddStringToObject (s, "time", ix->time);
  if (ix->cluster_uid)
    cJSON_AddStringToObject (s, "cluster", ix->cluster_uid);
}

static bool
print_json (const struct diff_result *r, const struct store_index *from, const char *from_which,
            const struct store_index *to, const char *to_which)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "apiVersion", "releasemanager.io/v1");
  cJSON_AddStringToObject (o, "kind", "Diff");
  side_info (o, "from", from, from_which);
  side_info (o, "to", to, to_which);
  cJSON_AddBoolToObject (o, "equal", r->n == 0);
  cJSON *arr = cJSON_AddArrayToObject (o, "changes");
  for (size_t i = 0; i < r->n; i++) {
    const struct diff_change *c = &r->v[i];
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddStringToObject (e, "namespace", c->namespace);
    cJSON_AddStringToObject (e, "release", c->release);
    cJSON_AddStringToObject (e, "change", diff_kind_name (c->kind));
    cJSON_AddItemToObject (e, "before", side_json (&c->before));
    cJSON_AddItemToObject (e, "after", side_json (&c->after));
    if (c->manifest_diff)
      cJSON_AddStringToObject (e, "manifestDiff", c->manifest_diff);
    cJSON_AddItemToArray (arr, e);
  }
  size_t k[6];
  count_kinds (r, k);
  cJSON *s = cJSON_AddObjectToObject (o, "summary");
  const char *names[] = { "added", "removed", "upgraded", "rolledBack", "downgraded", "status" };
  for (size_t i = 0; i < 6; i++)
    cJSON_AddNumberToObject (s, names[i], (double) k[i]);
  cJSON_AddNumberToObject (s, "unchanged", (double) r->unchanged);
  cJSON *rd = cJSON_AddObjectToObject (o, "reads");
  cJSON_AddNumberToObject (rd, "listed", (double) r->listed);
  cJSON_AddNumberToObject (rd, "cluster", (double) r->cluster_reads);
  cJSON_AddNumberToObject (rd, "store", (double) r->store_reads);
  char *text = cJSON_Print (o);
  bool ok = printf ("%s\n", text) >= 0;
  free (text);
  cJSON_Delete (o);
  return ok;
}

/* The snapshots, before the cluster is opened: a store's error is told first. */
static int
prepare_diff (struct cmd_ctx *x)
{
  struct diff_cmd *d = x->opts;
  const char *to_which = cli_get (x->cli, "to-snapshot");
  int status = load_snapshot (x->b, cli_get (x->cli, "snapshot"), "--snapshot", &d->from);
  if (status == EXIT_OK && to_which)
    status = load_snapshot (x->b, to_which, "--to-snapshot", &d->to);
  return status;
}

static int
run_diff (struct cmd_ctx *x)
{
  struct diff_cmd *d = x->opts;
  const char *from_which = cli_get (x->cli, "snapshot");
  const char *to_which = cli_get (x->cli, "to-snapshot");
  const struct store_index *from = d->from, *to = d->to;
  int status = EXIT_OK;
  char *from_label = xasprintf ("snapshot %s", or_dash (from->time));
  char *to_label = to ? xasprintf ("snapshot %s", or_dash (to->time)) : xstrdup ("cluster");
  d->o.from_label = from_label;
  d->o.to_label = to_label;
  struct diff_result r;
  struct rm_error err;
  int rc = to ? diff_snapshots (x->b, from, to, &d->o, &r, &err)
              : diff_cluster (x->b, x->kc, from, &d->o, &r, &err);
  if (rc != RM_OK) {
    log_error ("%s", err.message);
    status = EXIT_TROUBLE;
  }
  else {
    if (d->json ? !print_json (&r, from, from_which, to, to_which)
                : (print_text (&r, !to), false)) {
      log_error ("writing to standard output: %s", strerror (errno));
      status = EXIT_TROUBLE;
    }
    if (fflush (stdout) != 0) {
      log_error ("writing to standard output: %s", strerror (errno));
      status = EXIT_TROUBLE;
    }
    if (status == EXIT_OK && r.n)
      status = EXIT_DIFFERENT;
    log_info ("diff: %zu release objects listed, %zu read in full from the cluster, %zu "
              "stored records read", r.listed, r.cluster_reads, r.store_reads);
  }
  diff_result_free (&r);
  free (from_label);
  free (to_label);
  return status;
}

const struct command cmd_diff = {
  "diff",
  "compare a stored snapshot with the cluster, or two snapshots",
  "[BACKEND] [BACKEND OPTIONS] [--snapshot ID|TIME] [--to-snapshot ID|TIME] [--manifests] "
  "[-o text|json]",
  "Compares the releases of a stored snapshot (the newest, or --snapshot ID|TIME as\n"
  "list takes it) with the cluster's, or with a second snapshot (--to-snapshot ID|TIME,\n"
  "the newer side, as restic and borg name the two archives of their diff: old, new).\n"
  "A release is its newest revision.  One line per change, sorted by namespace and\n"
  "release: + added, - removed, ~ upgraded, rolled-back or downgraded (revision and\n"
  "chart before -> after), ! status changed (same revision); then a summary line.\n"
  "It works from the metadata where it can: the snapshot's index and a metadata-only\n"
  "LIST of the release Secrets/ConfigMaps (labels give revision and status); a record\n"
  "is read in full only for the chart of a cluster revision the snapshot does not hold\n"
  "(the summary counts them).  --manifests adds a unified diff (diff -u) of the\n"
  "rendered manifests of each release whose revision changed (manifests are printed as\n"
  "Helm stored them, as import applies them: nothing is redacted).  The filters scope\n"
  "both sides.  -o json: see releasemanager(1), DIFF.\n"
  "Exit status, as diff(1): 0 equal, 1 different, 2 trouble (an error).",
  diff_options,
  CMD_NEEDS_BACKEND | CMD_NEEDS_CLUSTER | CMD_DIFF_STATUS,
  1,
  check_diff,
  prepare_diff,
  run_diff,
  release_diff,
};
