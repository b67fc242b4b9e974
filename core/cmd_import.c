/* `releasemanager import`: restore the stored releases into the current cluster so that
 * Helm owns them afterwards (DESIGN.md section 4).  This file turns the options into a
 * struct imp_request, runs the import engine (core/import/engine.c: read the store,
 * group and filter releases, restore them in parallel) and prints one line per release,
 * restored, skipped (why) or failed (why), then the counts.  Exit 0, 1 when nothing
 * could be restored after a failure, 3 when some releases failed and others were
 * restored. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/log.h"
#include "commands.h"
#include "import/import.h"

static const struct cli_option import_options[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "import only releases stored from NS", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS,NS", NULL, "skip releases stored from these namespaces", 0 },
  { "release", 0, CLI_LIST, "NAME", NULL,
    "import only the releases named NAME (or comma-separated names)", 0 },
  { "release-name", 0, CLI_LIST, "NAME", NULL,
    "alias of --release (command line only)", 0 },
  { "target-namespace", 0, CLI_VALUE, "NS", NULL, "restore every release into NS", 0 },
  { "create-namespace", 0, CLI_FLAG, NULL, "true",
    "create missing namespaces; --create-namespace=false: a missing namespace fails the "
    "release", 0 },
  { "replace", 0, CLI_FLAG, NULL, NULL,
    "overwrite a release that already exists (else skipped) and take over objects not "
    "owned by the release", 0 },
  { "wait", 0, CLI_FLAG, NULL, NULL,
    "wait until Deployments, StatefulSets and DaemonSets are ready and Jobs complete", 0 },
  { "atomic", 0, CLI_FLAG, NULL, NULL,
    "when a release fails, delete what its import created; implies --wait", 0 },
  { "release-timeout", 0, CLI_VALUE, "DURATION", "300s",
    "time allowed per release for hooks and --wait (e.g. 90s, 5m)", 0 },
  { "threads", 0, CLI_VALUE, "N", "50", "releases restored in parallel", 0 },
  { "no-hooks", 0, CLI_FLAG, NULL, NULL, "do not run pre-/post-install hooks", 0 },
  { "helm-driver", 0, CLI_VALUE, "DRIVER", NULL,
    "write every release record as a secret or a configmap (default: where Helm kept "
    "each release; secret for the original tool's stores)", 0 },
  { "force", 0, CLI_FLAG, NULL, NULL,
    "also import the manager's own release (named in the state file)", 0 },
  { "new-path", 0, CLI_VALUE, "PATH", NULL,
    "import the manager's own release with its value 'path' and/or 'backend.path' (the "
    "original tool's chart), whichever it has, set to PATH (needs helm)", 0 },
  { "convert-apis", 0, CLI_FLAG, NULL, "true",
    "convert objects of API versions the cluster no longer serves to the served "
    "replacement (see releasemanager(1)), in the objects and the records", 0 },
  { "no-convert-apis", 0, CLI_FLAG, NULL, NULL,
    "refuse such objects instead: the release fails, nothing of it written", 0 },
  { "update-values", 0, CLI_LIST, "KEY=VALUE[,...]", NULL,
    "change values the releases already have (KEY: a top-level key, else a.b.c) and "
    "render those releases again with helm template (needs helm on PATH) as one more "
    "revision, converted and restored like the stored ones", 0 },
  { "lock-namespace", 0, CLI_VALUE, "NS", "default",
    "keep the import lock (a Lease) in namespace NS: one where the importer may create "
    "and update Leases", 0 },
  { "snapshot", 0, CLI_VALUE, "ID|TIME", NULL,
    "restore this snapshot: an id, or the newest at or before TIME (default: the newest; "
    "see list --snapshots)", CLI_NO_FILE | CLI_NO_ENV },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* --release-timeout in whole seconds (a fraction rounds up), or -1. */
static long
parse_duration (const char *s)
{
  double secs;
  struct rm_error err;
  /* A year at most: no wait that long makes sense. */
  if (duration_parse (s, true, 366 * 86400.0, &secs, &err) != RM_OK)
    return -1;
  return (long) ceil (secs);
}

/* One line per release, one per unreadable file, then the counts. */
static void
report (const struct imp_request *rq, const struct imp_result *res)
{
  static const char *const words[] = {
    [IMP_PENDING] = "pending", [IMP_RESTORED] = "restored", [IMP_SKIPPED] = "skipped",
    [IMP_FAILED] = "failed",
  };
  bool dry = rq->s.dry;
  for (size_t i = 0; i < res->n; i++) {
    const struct imp_outcome *o = &res->releases[i];
    const char *word = dry && o->state == IMP_RESTORED ? "would restore" : words[o->state];
    if (rq->s.target_ns && o->state == IMP_RESTORED)
      printf ("%s %s/%s into %s: %s\n", word, o->ns, o->name, rq->s.target_ns, o->why);
    else
      printf ("%s %s/%s: %s\n", word, o->ns, o->name, o->why ? o->why : "");
    if (o->state == IMP_FAILED)
      log_error ("%s/%s: %s", o->ns, o->name, o->why);
  }
  for (size_t i = 0; i < res->bad.n; i++) {
    printf ("failed %s\n", res->bad.items[i]);
    log_error ("%s", res->bad.items[i]);
  }
  printf ("%s %zu releases from %s: %zu %s, %zu skipped, %zu failed\n",
          dry ? "dry run: would import" : "imported", res->n + res->bad.n, res->where,
          res->restored, dry ? "to restore" : "restored", res->skipped, res->failed);
}

/* The command-line values of option name (none: NULL). */
static const struct strlist *
cli_values (const struct cli *c, const char *name)
{
  for (size_t i = 0; i < c->nvals; i++)
    if (strcmp (c->vals[i].opt->name, name) == 0)
      return c->vals[i].values.n ? &c->vals[i].values : NULL;
  return NULL;
}

/* --update-values into updates, each value parsed as the original tool's flag parses
 * one argument (imp_updates_add): the command line's values, else the environment's,
 * else every update-values entry of the configuration file, an item of a mapping
 * (valueUpdates: {KEY: VALUE}) being one pair as it is.  EXIT_OK or EXIT_USAGE (said
 * why). */
static int
update_values (const struct cli *c, struct strlist *updates)
{
  const struct strlist *given = cli_values (c, "update-values");
  char *origin = cli_origin (c, "update-values");
  struct rm_error err;
  int rc = RM_OK;
  if (given)
    for (size_t i = 0; i < given->n && rc == RM_OK; i++)
      rc = imp_updates_add (updates, given->items[i], &err);
  else if (str_has_prefix (origin, "environment "))
    rc = imp_updates_add (updates, cli_get (c, "update-values"), &err);
  else
    for (size_t i = 0; c->file && i < c->file->n && rc == RM_OK; i++) {
      const struct config_entry *e = &c->file->entries[i];
      if (!e->ignored && strcmp (e->key, "update-values") == 0)
        rc = e->from_map ? imp_updates_add_pair (updates, e->value, &err)
                         : imp_updates_add (updates, e->value, &err);
    }
  if (rc != RM_OK) {
    if (given)
      log_error ("%s", err.message);
    else
      log_error ("%s (from %s)", err.message, origin);
  }
  free (origin);
  return rc == RM_OK ? EXIT_OK : EXIT_USAGE;
}

/* The request and what it points to. */
struct import_cmd {
  struct imp_request rq;
  struct imp_engine *engine;
  struct imp_result res;
  struct strlist only_ns, skip_ns, updates, releases;
  char *helm;
};

/* The request from the command line, its values checked before touching anything;
 * EXIT_OK, or EXIT_USAGE or EXIT_ERROR (no helm), said why.  main() adds --threads, the
 * backend and the cluster. */
/* A Kubernetes namespace name (RFC 1123 label). */
static bool
valid_namespace (const char *ns)
{
  size_t n = ns ? strlen (ns) : 0;
  if (n == 0 || n > 63 || !isalnum ((unsigned char) ns[0]) || !isalnum ((unsigned char) ns[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(islower ((unsigned char) ns[i]) || isdigit ((unsigned char) ns[i]) || ns[i] == '-'))
      return false;
  return true;
}

static int
check_import (struct cmd_ctx *x)
{
  struct cli *c = x->cli;
  struct import_cmd *ic = xcalloc (1, sizeof *ic);
  x->opts = ic;
  struct imp_request *rq = &ic->rq;
  struct imp_settings *s = &rq->s;
  s->dry = x->dry_run;
  s->replace = cli_flag (c, "replace");
  s->atomic = cli_flag (c, "atomic");
  s->wait = cli_flag (c, "wait") || s->atomic;   /* as helm install --atomic */
  s->no_hooks = cli_flag (c, "no-hooks");
  s->create_ns = cli_flag (c, "create-namespace");
  s->convert_apis = cli_flag (c, "convert-apis") && !cli_flag (c, "no-convert-apis");
  s->target_ns = cli_get (c, "target-namespace");
  rq->lock_ns = cli_get (c, "lock-namespace");
  if (!valid_namespace (rq->lock_ns)) {
    log_error ("--lock-namespace: '%s' is not a namespace name (lower-case letters, digits "
               "and '-', at most 63, starting and ending with a letter or digit)", rq->lock_ns);
    return EXIT_USAGE;
  }
  s->kubeconfig = cli_get (c, "kubeconfig");
  s->kubecontext = cli_get (c, "kubecontext");
  const char *driver = cli_get (c, "helm-driver");
  if (!driver)
    s->driver = HELM_DRIVER_AUTO;
  else if (strcmp (driver, "secret") == 0)
    s->driver = HELM_DRIVER_SECRET;
  else if (strcmp (driver, "configmap") == 0)
    s->driver = HELM_DRIVER_CONFIGMAP;
  else {
    log_error ("--helm-driver: '%s' is not secret or configmap", driver);
    return EXIT_USAGE;
  }
  s->timeout_s = parse_duration (cli_get (c, "release-timeout"));
  if (s->timeout_s <= 0) {
    log_error ("--release-timeout: '%s' is not a duration (e.g. 300s, 5m)",
               cli_get (c, "release-timeout"));
    return EXIT_USAGE;
  }
  /* Repeatable; namespaces and release names are also comma-separated. */
  cli_get_list (c, "namespace", ',', &ic->only_ns);
  cli_get_list (c, "exclude-namespaces", ',', &ic->skip_ns);
  cli_get_list (c, "release", ',', &ic->releases);
  /* In a configuration file shared with export, releaseName is export's own release:
   * import's --release-name alias is taken from the command line alone. */
  const struct strlist *alias = cli_values (c, "release-name");
  for (size_t i = 0; alias && i < alias->n; i++)
    strlist_push_split (&ic->releases, alias->items[i], ',');
  rq->only_ns = &ic->only_ns;
  rq->skip_ns = &ic->skip_ns;
  rq->only_releases = &ic->releases;
  rq->updates = &ic->updates;
  rq->new_path = cli_get (c, "new-path");
  rq->force = cli_flag (c, "force");
  int rc = update_values (c, &ic->updates);
  if (rc != EXIT_OK)
    return rc;
  if (ic->updates.n || rq->new_path) {
    ic->helm = imp_find_helm ();
    if (!ic->helm) {
      log_error ("%s needs a helm binary on PATH: changing values means re-rendering the "
                 "chart, which only helm can do", ic->updates.n ? "--update-values" : "--new-path");
      return EXIT_ERROR;
    }
    s->helm_bin = ic->helm;
  }
  return EXIT_OK;
}

static void
release_import (struct cmd_ctx *x)
{
  struct import_cmd *ic = x->opts;
  if (!ic)
    return;
  imp_engine_free (ic->engine);
  imp_result_free (&ic->res);
  strlist_free (&ic->only_ns);
  strlist_free (&ic->skip_ns);
  strlist_free (&ic->updates);
  strlist_free (&ic->releases);
  free (ic->helm);
  free (ic);
}

/* The store, read before the cluster is touched. */
static int
load_import (struct cmd_ctx *x)
{
  struct import_cmd *ic = x->opts;
  ic->rq.threads = x->threads;
  ic->rq.b = x->b;
  ic->rq.snapshot = cli_get (x->cli, "snapshot");
  struct rm_error err;
  if (imp_engine_load (&ic->rq, &ic->res, &ic->engine, &err) != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  return EXIT_OK;
}

static int
run_import (struct cmd_ctx *x)
{
  struct import_cmd *ic = x->opts;
  struct rm_error err;
  if (imp_engine_run (ic->engine, x->kc, &ic->res, &err) != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  report (&ic->rq, &ic->res);
  if (ic->res.failed)
    return ic->res.restored ? EXIT_PARTIAL : EXIT_ERROR;
  return EXIT_OK;
}

const struct command cmd_import = {
  "import",
  "restore the stored Helm releases into the cluster, owned by Helm",
  "[BACKEND] [BACKEND OPTIONS] [--namespace NS]... [--release NAME]... "
  "[--target-namespace NS] [--replace] [--wait] [--atomic]",
  "Restores every release stored under --path (or those the filters select) as if helm\n"
  "install and its upgrades had run in this cluster: the chart's CRDs first (skipped when\n"
  "they exist), pre-install hooks, the objects of the last deployed revision's manifest in\n"
  "Helm's install order with Helm's ownership labels and annotations, post-install hooks,\n"
  "then every stored revision as Helm's own release record, a Secret or a ConfigMap as\n"
  "Helm kept it (--helm-driver: all one way).  helm list, history, get, upgrade, rollback\n"
  "and uninstall then work on the restored releases.  The records come last: a release\n"
  "whose records are exactly the stored ones is already restored and skipped; one with\n"
  "other records is skipped, as the original tool does, unless --replace.  An existing\n"
  "object is taken over only when it belongs to the release (or with --replace).  To\n"
  "resume an interrupted import, run it again: --dry-run says what is done, half-done\n"
  "and to do.  One import of a store into a cluster at a time (a Lease in namespace\n"
  "default, or --lock-namespace NS: a 403 there or no such namespace is an error).\n"
  "Missing namespaces are created unless --create-namespace=false.  --atomic implies\n"
  "--wait, as in Helm.  The manager's own release is not imported unless --force or\n"
  "--new-path.  --update-values KEY=VALUE[,KEY=VALUE] changes only values a release\n"
  "already has, as the original tool does (others are refused with a warning), and then\n"
  "renders that release with helm template as one more revision, which is converted,\n"
  "checked and restored like the stored ones.  Nothing is written to the backend.  Without\n"
  "index.json, the original Go tool's NAME-VERSION-N.release files and its\n"
  "rlsmgrstate.json are read instead.  --dry-run prints the plan and writes nothing.\n"
  "Objects of API versions the cluster no longer serves (discovery) are converted to\n"
  "the served replacement (extensions/v1beta1 Deployment to apps/v1, Ingress v1beta1 to\n"
  "networking.k8s.io/v1, CRD v1beta1 to v1...; PodSecurityPolicy dropped with a\n"
  "warning), in the objects and in every record's manifest, so helm upgrade and rollback\n"
  "work; --no-convert-apis refuses them instead.  Each release is checked before its\n"
  "first write (served kinds, namespaces, and objects already there that another\n"
  "release or none owns, unless --replace), every problem at once; a release that fails\n"
  "after its first write has what its import created deleted again.\n"
  "Exit status 3 when some releases failed and others were restored.",
  import_options,
  CMD_NEEDS_BACKEND | CMD_NEEDS_CLUSTER | CMD_THREADS,
  1,
  check_import,
  load_import,
  run_import,
  release_import,
};
