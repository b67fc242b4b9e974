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

#include "base/duration.h"
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
  { "polling-interval", 'p', CLI_VALUE, "SECONDS", "30",
    "the daemon's resync interval: whole seconds, or a duration (500ms, 1.5s, 2m)", 0 },
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


/* The engine's options, with the namespace lists they point to. */
struct export_cmd {
  struct export_opts o;
  struct strlist only, skip, releases;
  double lock_timeout;
  bool daemon;
  struct daemon_opts d;
  char *lease_ns, *lease_name;
  char *self_ns;                   /* --self-namespace, else the pod's with --release-name */
  struct cli *cli;                 /* main()'s: what the daemon started with */
  struct daemon_gen **gens;        /* one per SIGHUP that changed something */
  size_t ngens;
  const struct daemon_opts *cur;   /* the options in effect: &d or the last gen's */
  struct cli *cur_cli;
};

/* The options of the daemon after a SIGHUP: the cli they were read from and the lists
 * they point to (kept until the command ends: the daemon may hold pointers into them). */
struct daemon_gen {
  struct cli *cli;
  struct strlist only, skip, releases;
  struct daemon_opts d;
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

/* A whole number from 1 to max, or -1. */
static long
count_value (const char *v, long max)
{
  char *end;
  errno = 0;
  long n = strtol (v, &end, 10);
  if (*v < '0' || *v > '9' || *end || errno || n < 1 || n > max)
    return -1;
  return n;
}

/* --polling-interval in ms, or -1: a bare number is whole seconds, as the original tool's
 * integer flag; a duration may be shorter (a benchmark's thousands of resyncs), from 10ms. */
static long
polling_interval_ms (const char *pi)
{
  double secs;
  struct rm_error err;
  size_t n = strlen (pi);
  if (n && pi[n - 1] >= '0' && pi[n - 1] <= '9' && strspn (pi, "0123456789") != n)
    return -1;
  if (duration_parse (pi, true, (double) INT_MAX, &secs, &err) != RM_OK || secs < 0.01)
    return -1;
  return (long) (secs * 1000 + 0.5);
}

#define POLLING_INTERVAL_FORMS "whole seconds (30) nor a duration from 10ms (500ms, 1.5s, 2m)"

/* A duration option of the daemon in ms, > 0; false when it is not one (said why). */
static bool
duration_ms (const struct cli *c, const char *name, long *ms)
{
  double secs;
  struct rm_error err;
  const char *v = cli_get (c, name);
  if (duration_parse (v, true, 86400, &secs, &err) != RM_OK) {
    log_error ("--%s: '%s' %s", name, v, err.message);
    return false;
  }
  if (secs <= 0) {
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
  char *file = xasprintf ("%s/namespace", kube_serviceaccount_dir ());
  FILE *f = fopen (file, "r");
  free (file);
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
check_daemon (struct cli *c, struct export_cmd *e, long polling_interval_ms)
{
  struct daemon_opts *d = &e->d;
  e->daemon = true;
  d->polling_interval_ms = polling_interval_ms;
  d->listen = cli_get (c, "listen");
  struct http_addr addr;
  struct rm_error err;
  if (http_addr_parse (d->listen, &addr, &err) != RM_OK) {
    log_error ("--listen: %s", err.message);
    return EXIT_USAGE;
  }
  const char *ua = cli_get (c, "unhealthy-after");
  long n = count_value (ua, 1000000);
  if (n < 0) {
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
               "a pod, where %s/namespace does not exist)", kube_serviceaccount_dir ());
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
  long pi_ms = polling_interval_ms (pi);
  if (pi_ms < 0) {
    log_error ("--polling-interval: '%s' is neither " POLLING_INTERVAL_FORMS, pi);
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
  if (cli_flag (c, "daemon") && check_daemon (c, e, pi_ms) != EXIT_OK)
    return EXIT_USAGE;   /* release_export frees e */
  /* All are repeatable and comma-separated; --namespace and --namespaces add up. */
  cli_get_list (c, "namespace", ',', &e->only);
  cli_get_list (c, "namespaces", ',', &e->only);
  cli_get_list (c, "exclude-namespaces", ',', &e->skip);
  cli_get_list (c, "release", ',', &e->releases);
  /* In a pod, the manager's own release is in the pod's namespace. */
  const char *sns = cli_get (c, "self-namespace");
  e->self_ns = sns ? xstrdup (sns) : self_release (c) ? pod_namespace () : NULL;
  e->o = (struct export_opts) {
    .secrets = strcmp (driver, "configmap") != 0,
    .configmaps = strcmp (driver, "secret") != 0,
    .only_ns = &e->only, .skip_ns = &e->skip,
    .only_release = &e->releases,
    .dry_run = x->dry_run,
    .self_release = self_release (c),
    .self_namespace = e->self_ns,
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
  free (e->self_ns);
  for (size_t i = 0; i < e->ngens; i++) {
    struct daemon_gen *g = e->gens[i];
    strlist_free (&g->only);
    strlist_free (&g->skip);
    strlist_free (&g->releases);
    cli_free (g->cli);
    free (g->cli);
    free (g);
  }
  free (e->gens);
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

/* ---- SIGHUP (daemon_opts.reload) ---- */

/* Settings a running daemon cannot change: SIGHUP names them and keeps their value. */
static const char *const restart_keys[] = {
  "backend", "path", "plugin-dir", "kubeconfig", "kubecontext", "threads", "listen",
  "lease-name", "lease-namespace", "lease-duration", "renew-deadline", "retry-period",
  "release-name", "self-release", "self-namespace",
};

/* A setting's resolved value as one string (a list's values joined by newlines). */
static char *
setting_text (const struct cli *c, const char *name)
{
  struct strlist l = STRLIST_INIT;
  cli_get_list (c, name, '\n', &l);
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < l.n; i++)
    strbuf_printf (&sb, "%s%s", i ? "\n" : "", l.items[i]);
  strlist_free (&l);
  return strbuf_detach (&sb);
}

static bool
setting_changed (const struct cli *a, const struct cli *b, const char *name)
{
  char *x = setting_text (a, name), *y = setting_text (b, name);
  bool changed = strcmp (x, y) != 0;
  free (x);
  free (y);
  return changed;
}

/* The file's backend options (its backends: sections and the original tool's top-level
 * s3 keys), to compare; never logged (they may hold credentials). */
static char *
file_backend_opts (const struct cli *c)
{
  struct strbuf sb = STRBUF_INIT;
  const struct config_file *f = c->file;
  for (size_t i = 0; f && i < f->n; i++)
    if (f->entries[i].backend_key)
      strbuf_printf (&sb, "%s=%s\n", f->entries[i].given, f->entries[i].value);
  for (size_t i = 0; f && i < f->nbackends; i++)
    for (size_t j = 0; j < f->backends[i].n; j++)
      strbuf_printf (&sb, "%s.%s=%s\n", f->backends[i].name, f->backends[i].entries[j].key,
                     f->backends[i].entries[j].value);
  return strbuf_detach (&sb);
}

/* Whether every value of want is in have (an empty want is everything: then have must be
 * empty too). */
static bool
covered (const struct strlist *want, const struct strlist *have)
{
  if (!have->n)
    return true;
  if (!want->n)
    return false;
  for (size_t i = 0; i < want->n; i++)
    if (!strlist_contains (have, want->items[i]))
      return false;
  return true;
}

/* Log that name changed and needs a restart. */
static void
needs_restart (const struct cli *c, const char *name)
{
  char *origin = cli_origin (c, name);
  log_warn ("SIGHUP: '%s' changed (now from %s): it applies only when the daemon restarts; "
            "keeping the value in effect", name, origin);
  free (origin);
}

static const struct daemon_opts *
reload_config (void *ud)
{
  struct export_cmd *e = ud;
  struct rm_error err;
  struct cli *nc = cli_reload (e->cli, &err);
  if (!nc) {
    log_error ("SIGHUP: %s: keeping the configuration in effect", err.message);
    return NULL;
  }
  const char *file = nc->file ? nc->file->path : NULL;
  for (size_t i = 0; i < nc->warnings.n; i++)
    log_warn ("SIGHUP: %s", nc->warnings.items[i]);
  const struct daemon_opts *cur = e->cur;
  struct daemon_gen *g = xcalloc (1, sizeof *g);
  g->cli = nc;
  g->d = *cur;
  struct strbuf applied = STRBUF_INIT;
#define APPLIED(name) strbuf_printf (&applied, "%s%s", applied.len ? ", " : "", name)

  /* What only a restart applies: compared with what the daemon started with. */
  for (size_t i = 0; i < ARRAY_SIZE (restart_keys); i++)
    if (setting_changed (e->cli, nc, restart_keys[i]))
      needs_restart (nc, restart_keys[i]);
  if (cli_flag (e->cli, "leader-elect") != cli_flag (nc, "leader-elect"))
    needs_restart (nc, "leader-elect");
  if (!cli_flag (nc, "daemon"))
    needs_restart (nc, "daemon");
  char *bo0 = file_backend_opts (e->cli), *bo1 = file_backend_opts (nc);
  if (strcmp (bo0, bo1) != 0)
    log_warn ("SIGHUP: the backend's options in %s changed: they apply only when the daemon "
              "restarts; keeping those in effect", nc->file ? nc->file->path : "the file");
  free (bo0);
  free (bo1);

  /* Logging, at once. */
  const char *fmt = cli_get (nc, "log-format");
  if (strcmp (fmt, "json") && strcmp (fmt, "text")) {
    char *origin = cli_origin (nc, "log-format");
    log_error ("SIGHUP: %s: log-format: '%s' is not a format (use text or json); keeping "
               "the one in effect", origin, fmt);
    free (origin);
  }
  else if (setting_changed (e->cur_cli, nc, "log-format")) {
    log_set_format (strcmp (fmt, "json") == 0 ? LOG_JSON : LOG_TEXT);
    APPLIED ("log-format");
  }
  int level = cli_flag (nc, "debug") ? RM_LOG_DEBUG : cli_flag (nc, "verbose") ? RM_LOG_INFO
              : RM_LOG_WARN;
  if (level != log_get_level ()) {
    log_set_level (level);
    APPLIED (level == RM_LOG_DEBUG ? "debug" : level == RM_LOG_INFO ? "verbose" : "quiet");
  }

  /* The loop's settings, from the next cycle. */
  const char *pi = cli_get (nc, "polling-interval");
  long pi_ms = polling_interval_ms (pi);
  if (pi_ms < 0) {
    char *origin = cli_origin (nc, "polling-interval");
    log_error ("SIGHUP: %s: polling-interval: '%s' is neither " POLLING_INTERVAL_FORMS
               "; keeping %ldms", origin, pi, cur->polling_interval_ms);
    free (origin);
  }
  else if (pi_ms != cur->polling_interval_ms) {
    g->d.polling_interval_ms = pi_ms;
    APPLIED ("polling-interval");
  }
  const char *ua = cli_get (nc, "unhealthy-after");
  long n = count_value (ua, 1000000);
  if (n < 0) {
    char *origin = cli_origin (nc, "unhealthy-after");
    log_error ("SIGHUP: %s: unhealthy-after: '%s' is not a positive whole number; keeping %u",
               origin, ua, cur->unhealthy_after);
    free (origin);
  }
  else if (n != (long) cur->unhealthy_after) {
    g->d.unhealthy_after = (unsigned) n;
    APPLIED ("unhealthy-after");
  }
  bool dry = cli_flag (nc, "dry-run");
  if (!dry && !e->d.write && cur->export.dry_run)
    log_warn ("SIGHUP: 'dry-run' turned off: the daemon started as a dry run opened the store "
              "read-only; restart it to write");
  else if (dry != cur->export.dry_run) {
    g->d.export.dry_run = dry;
    g->d.write = !dry;
    APPLIED ("dry-run");
  }
  g->d.export.force = cli_flag (nc, "force");
  if (g->d.export.force != cur->export.force)
    APPLIED ("force");

  /* The engine's filters.  The watches stay those the daemon started with: a namespace or
   * a Helm driver they do not cover needs a restart. */
  cli_get_list (nc, "exclude-namespaces", ',', &g->skip);
  cli_get_list (nc, "release", ',', &g->releases);
  cli_get_list (nc, "namespace", ',', &g->only);
  cli_get_list (nc, "namespaces", ',', &g->only);
  g->d.export.skip_ns = &g->skip;
  g->d.export.only_release = &g->releases;
  g->d.export.only_ns = &g->only;
  if (setting_changed (e->cur_cli, nc, "exclude-namespaces"))
    APPLIED ("exclude-namespaces");
  if (setting_changed (e->cur_cli, nc, "release"))
    APPLIED ("release");
  bool ns_changed = setting_changed (e->cur_cli, nc, "namespace")
                    || setting_changed (e->cur_cli, nc, "namespaces");
  if (ns_changed && !covered (&g->only, &e->only)) {
    needs_restart (nc, cli_get (nc, "namespaces") ? "namespaces" : "namespace");
    strlist_free (&g->only);
    for (size_t i = 0; cur->export.only_ns && i < cur->export.only_ns->n; i++)
      strlist_push (&g->only, cur->export.only_ns->items[i]);
  }
  else if (ns_changed)
    APPLIED ("namespaces");
  const char *driver = cli_get (nc, "helm-driver");
  bool sec = strcmp (driver, "configmap") != 0, cm = strcmp (driver, "secret") != 0;
  if (strcmp (driver, "secret") && strcmp (driver, "configmap") && strcmp (driver, "auto")) {
    char *origin = cli_origin (nc, "helm-driver");
    log_error ("SIGHUP: %s: helm-driver: '%s' is not secret, configmap or auto; keeping the "
               "one in effect", origin, driver);
    free (origin);
  }
  else if ((sec && !e->d.export.secrets) || (cm && !e->d.export.configmaps))
    needs_restart (nc, "helm-driver");
  else if (sec != cur->export.secrets || cm != cur->export.configmaps) {
    g->d.export.secrets = sec;
    g->d.export.configmaps = cm;
    APPLIED ("helm-driver");
  }
#undef APPLIED

  if (applied.len)
    log_info ("SIGHUP: read %s again: applied %s", file ? file : "the configuration",
              applied.data);
  else
    log_info ("SIGHUP: read %s again: nothing to change", file ? file : "the configuration");
  strbuf_free (&applied);
  e->gens = xrealloc (e->gens, (e->ngens + 1) * sizeof *e->gens);
  e->gens[e->ngens++] = g;
  e->cur = &g->d;
  e->cur_cli = nc;
  return &g->d;
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
    e->d.reload = reload_config;
    e->d.reload_ud = e;
    e->cli = e->cur_cli = x->cli;
    e->cur = &e->d;
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
