/* `releasemanager export`: back up every Helm release record of the cluster.  Option
 * handling, one run of the export engine (core/export/) on the backend and the cluster
 * main() opened, and the summary line.  A corrupt record is reported by name and skipped; the exit
 * status then says partial. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "commands.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "export/export.h"
#include "store/lock.h"

static const struct cli_option export_options[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "export only releases in NS", 0 },
  { "namespaces", 0, CLI_LIST, "NS,NS", NULL, "the same as --namespace (the original tool's name)",
    0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS,NS", NULL, "skip releases in these namespaces", 0 },
  { "release", 0, CLI_LIST, "NAME", NULL, "export only the releases named NAME", 0 },
  { "helm-driver", 0, CLI_VALUE, "DRIVER", "auto",
    "where Helm keeps releases: secret, configmap, or auto (both)", 0 },
  { "threads", 0, CLI_VALUE, "N", "8", "parallel reads and uploads", 0 },
  { "release-name", 0, CLI_VALUE, "NAME", NULL,
    "the Helm release this manager runs as (recorded in the state file); alias --self-release",
    0 },
  { "self-release", 0, CLI_VALUE, "NAME", NULL, NULL, CLI_HIDDEN },
  { "self-namespace", 0, CLI_VALUE, "NS", NULL, "namespace of --release-name", 0 },
  { "daemon", 0, CLI_FLAG, NULL, NULL,
    "run on: watch the cluster and export each change, resync every --polling-interval", 0 },
  { "polling-interval", 'p', CLI_VALUE, "SECONDS", "30", "the daemon's resync interval", 0 },
  { "force", 0, CLI_FLAG, NULL, NULL,
    "replace a stored snapshot of another cluster (another kube-system UID)", 0 },
  { "lock-timeout", 0, CLI_VALUE, "DURATION", "0",
    "wait up to DURATION (30s, 5m) for another writer's store lock; 0: fail at once", 0 },
  { "listen", 0, CLI_VALUE, "ADDR", ":8080",
    "the daemon's HTTP address (/healthz /readyz /releases /metrics): :PORT, HOST:PORT", 0 },
  { "unhealthy-after", 0, CLI_VALUE, "N", "2",
    "the daemon's /healthz fails after N failed sync cycles in a row", 0 },
  { "leader-elect", 0, CLI_FLAG, NULL, NULL,
    "daemon replicas elect one writer with a Lease (default: on when a namespace is known)",
    0 },
  { "lease-name", 0, CLI_VALUE, "NAME", NULL,
    "the leader election Lease (default: --release-name, else releasemanager)", 0 },
  { "lease-namespace", 0, CLI_VALUE, "NS", NULL,
    "the Lease's namespace (default: the pod's, else --self-namespace)", 0 },
  { "lease-duration", 0, CLI_VALUE, "DURATION", "15s",
    "how long standby replicas wait before taking a Lease not renewed", 0 },
  { "renew-deadline", 0, CLI_VALUE, "DURATION", "10s",
    "how long the leader retries renewing before it stops writing", 0 },
  { "retry-period", 0, CLI_VALUE, "DURATION", "2s", "between leader election attempts", 0 },
  CMD_RETENTION_OPTIONS,
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* Where an in-cluster pod finds its own namespace. */
#define SA_NAMESPACE_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

/* The engine's options, with the namespace lists they point to. */
struct export_cmd {
  struct export_opts o;
  struct strlist only, skip, releases;
  double lock_timeout;
  bool daemon;
  struct daemon_opts d;
  char *lease_ns, *lease_name;
};

/* The engine's options from the command line; EXIT_OK or EXIT_USAGE (said why).
 * main() adds --threads. */
/* The one of two aliases given (the last on the command line, else the environment's or
 * the file's): --release-name (the original tool's name) or --self-release. */
static const char *
self_release (const struct cli *c)
{
  char *a = cli_origin (c, "release-name"), *b = cli_origin (c, "self-release");
  bool a_cli = a[0] == '-', b_cli = b[0] == '-';
  free (a);
  free (b);
  if (b_cli && !a_cli)
    return cli_get (c, "self-release");
  return cli_get (c, "release-name") ? cli_get (c, "release-name") : cli_get (c, "self-release");
}

/* A duration option of the daemon in ms, > 0; false when it is not one (said why). */
static bool
duration_ms (const struct cli *c, const char *name, long *ms)
{
  double secs;
  struct rm_error err;
  const char *v = cli_get (c, name);
  if (store_lock_parse_timeout (v, &secs, &err) != RM_OK) {
    log_error ("--%s: '%s' %s", name, v, err.message);
    return false;
  }
  if (secs <= 0 || secs > 86400) {
    log_error ("--%s: '%s' is not a duration from 1s to 24h", name, v);
    return false;
  }
  *ms = (long) (secs * 1000);
  return true;
}

/* The pod's own namespace, from the service account's namespace file; NULL outside a
 * pod. */
static char *
pod_namespace (void)
{
  FILE *f = fopen (SA_NAMESPACE_FILE, "r");
  if (!f)
    return NULL;
  char buf[256] = "";
  char *ns = fgets (buf, sizeof buf, f) ? buf : NULL;
  fclose (f);
  if (ns)
    ns[strcspn (ns, " \t\r\n")] = 0;
  return ns && *ns ? xstrdup (ns) : NULL;
}

/* --daemon's options; EXIT_OK or EXIT_USAGE (said why).  The export options are
 * filled by the caller afterwards (e->o). */
static int
check_daemon (struct cli *c, struct export_cmd *e, int polling_interval)
{
  struct daemon_opts *d = &e->d;
  e->daemon = true;
  d->polling_interval = polling_interval;
  d->listen = cli_get (c, "listen");
  struct http_addr addr;
  struct rm_error err;
  if (http_addr_parse (d->listen, &addr, &err) != RM_OK) {
    log_error ("--listen: %s", err.message);
    return EXIT_USAGE;
  }
  const char *ua = cli_get (c, "unhealthy-after");
  char *end;
  errno = 0;
  long n = strtol (ua, &end, 10);
  if (*ua < '0' || *ua > '9' || *end || errno || n < 1 || n > 1000000) {
    log_error ("--unhealthy-after: '%s' is not a positive whole number of cycles", ua);
    return EXIT_USAGE;
  }
  d->unhealthy_after = (unsigned) n;
  if (!duration_ms (c, "lease-duration", &d->lease_duration_ms)
      || !duration_ms (c, "renew-deadline", &d->renew_deadline_ms)
      || !duration_ms (c, "retry-period", &d->retry_period_ms))
    return EXIT_USAGE;
  const char *ns = cli_get (c, "lease-namespace");
  e->lease_ns = ns ? xstrdup (ns) : pod_namespace ();
  if (!e->lease_ns && cli_get (c, "self-namespace"))
    e->lease_ns = xstrdup (cli_get (c, "self-namespace"));
  char *origin = cli_origin (c, "leader-elect");
  bool given = strcmp (origin, "default") != 0;
  free (origin);
  d->leader_elect = given ? cli_flag (c, "leader-elect") : e->lease_ns != NULL;
  d->leader_elect_given = given;
  if (d->leader_elect && !e->lease_ns) {
    log_error ("--leader-elect: no namespace for the Lease: give --lease-namespace (outside "
               "a pod, where %s does not exist)", SA_NAMESPACE_FILE);
    return EXIT_USAGE;
  }
  const char *ln = cli_get (c, "lease-name");
  e->lease_name = xstrdup (ln ? ln : self_release (c) ? self_release (c) : "releasemanager");
  d->lease_namespace = e->lease_ns;
  d->lease_name = e->lease_name;
  if (d->leader_elect && !(d->lease_duration_ms > d->renew_deadline_ms
                           && d->renew_deadline_ms * 10 > d->retry_period_ms * 12)) {
    log_error ("--lease-duration, --renew-deadline, --retry-period: leader election needs "
               "lease duration > renew deadline > 1.2 x retry period");
    return EXIT_USAGE;
  }
  d->config_file = cli_get (c, "config");
  return EXIT_OK;
}

/* The engine's options from the command line; EXIT_OK or EXIT_USAGE (said why).
 * main() adds --threads. */
static int
check_export (struct cmd_ctx *x)
{
  struct cli *c = x->cli;
  const char *pi = cli_get (c, "polling-interval");
  char *end;
  errno = 0;
  long secs = strtol (pi, &end, 10);
  if (*pi < '0' || *pi > '9' || *end || errno || secs < 1 || secs > INT_MAX) {
    log_error ("--polling-interval: '%s' is not a positive whole number of seconds", pi);
    return EXIT_USAGE;
  }
  const char *driver = cli_get (c, "helm-driver");
  if (strcmp (driver, "secret") && strcmp (driver, "configmap") && strcmp (driver, "auto")) {
    log_error ("--helm-driver: '%s' is not secret, configmap or auto", driver);
    return EXIT_USAGE;
  }
  double lock_timeout;
  struct rm_error err;
  const char *lt = cli_get (c, "lock-timeout");
  if (store_lock_parse_timeout (lt, &lock_timeout, &err) != RM_OK) {
    log_error ("--lock-timeout: '%s' %s", lt, err.message);
    return EXIT_USAGE;
  }
  struct export_cmd *e = xcalloc (1, sizeof *e);
  x->opts = e;
  e->lock_timeout = lock_timeout;
  if (cli_flag (c, "daemon") && check_daemon (c, e, (int) secs) != EXIT_OK)
    return EXIT_USAGE;   /* release_export frees e */
  /* All are repeatable and comma-separated; --namespace and --namespaces add up. */
  cli_get_list (c, "namespace", ',', &e->only);
  cli_get_list (c, "namespaces", ',', &e->only);
  cli_get_list (c, "exclude-namespaces", ',', &e->skip);
  cli_get_list (c, "release", ',', &e->releases);
  e->o = (struct export_opts) {
    .secrets = strcmp (driver, "configmap") != 0,
    .configmaps = strcmp (driver, "secret") != 0,
    .only_ns = &e->only, .skip_ns = &e->skip,
    .only_release = &e->releases,
    .dry_run = x->dry_run,
    .self_release = self_release (c),
    .self_namespace = cli_get (c, "self-namespace"),
    .path = cli_get (c, "path"),
    .progress = isatty (2) && log_get_level () < RM_LOG_INFO,
    .force = cli_flag (c, "force"),
  };
  return cmd_retention_parse (c, &e->o.retention);
}

static void
release_export (struct cmd_ctx *x)
{
  struct export_cmd *e = x->opts;
  if (!e)
    return;
  strlist_free (&e->only);
  strlist_free (&e->skip);
  strlist_free (&e->releases);
  free (e->lease_ns);
  free (e->lease_name);
  free (e);
}

/* The kube-system namespace's uid, recorded in the store lock; NULL when unknown (the
 * engine reports why when it asks again). */
static char *
cluster_uid (struct kube_client *kc)
{
  cJSON *ks = NULL;
  struct rm_error err;
  char *uid = NULL;
  if (kube_get (kc, "/api/v1/namespaces/kube-system", &ks, &err) == KUBE_OK) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (ks,
                                                       "metadata"), "uid");
    uid = cJSON_IsString (v) ? xstrdup (v->valuestring) : NULL;
  }
  cJSON_Delete (ks);
  return uid;
}

static int
run_export (struct cmd_ctx *x)
{
  struct export_cmd *e = x->opts;
  const struct export_opts *o = &e->o;
  e->o.threads = x->threads;
  int rc = EXIT_OK;
  char *where = backend_describe (x->b);
  log_info ("exporting from %s to %s", kube_client_config (x->kc)->source, where);

  struct rm_error err;
  if (e->daemon) {
    /* The daemon takes the store lock itself, when it leads (and again after losing
     * it). */
    e->d.export = e->o;
    e->d.write = !x->read_only;
    char *uid = cluster_uid (x->kc);
    e->d.cluster_uid = uid;
    int drc = daemon_run (x->b, x->kc, &e->d, &err);
    free (uid);
    free (where);
    if (drc != RM_OK) {
      log_error ("%s", err.message);
      return EXIT_ERROR;
    }
    return EXIT_OK;
  }

  struct store_lock *lock = NULL;
  if (!x->read_only) {
    char *uid = cluster_uid (x->kc);
    struct store_lock_opts lo = { .command = "export", .cluster = uid,
                                  .timeout = e->lock_timeout };
    int lrc = store_lock_acquire (x->b, &lo, &lock, &err);
    free (uid);
    if (lrc != RM_OK) {
      log_error ("cannot lock %s: %s", where, err.message);
      free (where);
      return EXIT_ERROR;
    }
    e->o.lock = lock;
  }

  struct export_engine *en = export_engine_new (x->b, x->kc, o);
  struct export_result r;
  if (export_engine_run (en, &r, &err) != RM_OK) {
    log_error ("%s", err.message);
    rc = EXIT_ERROR;
  }
  export_engine_free (en);
  e->o.lock = NULL;
  if (store_lock_release (lock, &err) != RM_OK)
    log_warn ("releasing the store lock: %s", err.message);
  if (r.complete && (r.committed || o->dry_run)) {
    printf ("%s %zu release records to %s: %zu written, %zu unchanged, %zu deleted, "
            "%zu skipped, %zu failed", o->dry_run ? "dry run: would export" : "exported",
            r.records, where, r.written, r.unchanged, r.deleted, r.skipped, r.failed);
    if (r.scoped && r.outside)
      printf ("; %zu kept outside the filter", r.outside);
    if (r.forgotten)
      printf ("; %zu old snapshot%s %s", r.forgotten, r.forgotten == 1 ? "" : "s",
              o->dry_run ? "would be forgotten" : "forgotten");
    putchar ('\n');
  }
  else if (r.complete)
    /* Nothing committed, so nothing deleted: say only what happened. */
    printf ("export to %s not committed: the previous snapshot stays as it was (%zu records "
            "stored under new keys, %zu skipped, %zu failed)\n", where, r.written, r.skipped,
            r.failed);
  if (r.complete && r.repaired)
    printf ("%zu damaged stored record%s (missing, or another size than the index says) "
            "read from the cluster again%s\n", r.repaired, r.repaired == 1 ? "" : "s",
            o->dry_run ? "" : " and rewritten");
  if (r.complete && r.legacy)
    printf ("%s %zu files of the original tool (NAME-VERSION-N.release) after the commit: "
            "the store %s this tool's layout\n", o->dry_run ? "would remove" : "removed",
            r.legacy, o->dry_run ? "would be in" : "is in");
  if (r.complete && r.kept)
    printf ("%zu stale record%s kept: %s; the next clean export removes %s\n", r.kept,
            r.kept == 1 ? "" : "s", r.kept_why, r.kept == 1 ? "it" : "them");
  if (r.complete) {
    if (rc == EXIT_OK && r.failed)
      rc = EXIT_ERROR;
    else if (rc == EXIT_OK && r.skipped)
      rc = EXIT_PARTIAL;
  }
  free (where);
  return rc;
}

const struct command cmd_export = {
  "export",
  "back up every Helm release record of the cluster",
  "[BACKEND] [BACKEND OPTIONS] [--namespace NS]... [--exclude-namespaces A,B] "
  "[--release NAME]... [--release-name SELF] [--force]",
  "Reads every Helm release record (all revisions Helm keeps) through the Kubernetes API\n"
  "and stores it under --path: releases/NAMESPACE/RELEASE/REVISION.SHA256.json.gz (a\n"
  "changed record gets a new key, so the stored snapshot stays whole until the new one\n"
  "is committed), then index.json in one put (refused when another writer committed\n"
  "meanwhile), then rlsmgrstate.json.  Unchanged records cost no upload and, when the\n"
  "release object is unchanged, no read.  Records no longer in the snapshot are deleted\n"
  "after the new index is written, and only after a run without failures.  Filters\n"
  "(--namespace, --namespaces, --exclude-namespaces, --release, --helm-driver) scope\n"
  "the run: stored records outside the scope are kept as they were.  By default both\n"
  "Helm drivers are read; a driver the cluster refuses to list (403) is a warning and\n"
  "keeps its stored records.  A --path holding the original tool's NAME-VERSION-N.release\n"
  "files is converted: they are deleted after the new index is committed.  A store\n"
  "holding another cluster's snapshot is refused unless --force.  A corrupt record is\n"
  "reported and skipped (exit status 3).  --dry-run prints every write and delete it\n"
  "would do and does none.\n"
  "One writer per store: export holds the lock lock.json under --path while it runs.\n"
  "When another writer holds it, export fails naming that writer, or waits up to\n"
  "--lock-timeout for it.  A lock left by a killed run is taken over once its lease\n"
  "(60 s) expires, at once on the same host when that process is gone.\n"
  "Each commit also keeps its index as a snapshot, snapshots/TIME-ID.json (list\n"
  "--snapshots; import, list and verify --snapshot ID|TIME); records are shared between\n"
  "snapshots.  After the commit, the snapshots that --keep-last, --keep-within and\n"
  "--keep-daily do not keep (without any: --keep-last 10 --keep-daily 7; the newest is\n"
  "always kept) are deleted, then the records no kept snapshot references.  The daemon\n"
  "applies them after each batch.",
  export_options,
  CMD_NEEDS_BACKEND | CMD_NEEDS_CLUSTER | CMD_THREADS | CMD_WRITES_STORE,
  1,
  check_export,
  NULL,
  run_export,
  release_export,
};
