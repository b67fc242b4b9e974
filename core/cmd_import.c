/* `releasemanager import`: restore the stored releases into the current cluster so that
 * Helm owns them afterwards (DESIGN.md section 4; the engine is core/import/).
 *
 * 1. Read index.json and the state file (import never writes to the backend).  2. Group
 * the records by release, apply the filters and the self-metadata rule (the manager's
 * own release is not imported unless --force or --new-path).  3. Restore releases in
 * parallel (--threads), each in helm install's order.  4. Print one line per release:
 * restored, skipped (why) or failed (why).  Exit 0, 1 when nothing could be restored
 * after a failure, 3 when some releases failed and others were restored. */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "import/import.h"
#include "log.h"
#include "store/store.h"

static const struct cli_option import_options[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "import only releases stored from NS", 0 },
  { "exclude-namespaces", 0, CLI_VALUE, "NS,NS", NULL, "skip releases stored from these namespaces", 0 },
  { "release-name", 0, CLI_VALUE, "NAME", NULL, "import only the release NAME", 0 },
  { "target-namespace", 0, CLI_VALUE, "NS", NULL, "restore every release into NS", 0 },
  { "create-namespace", 0, CLI_FLAG, NULL, NULL, "create missing namespaces", 0 },
  { "replace", 0, CLI_FLAG, NULL, NULL,
    "take over existing objects and release records not owned by the release", 0 },
  { "wait", 0, CLI_FLAG, NULL, NULL,
    "wait until Deployments, StatefulSets and DaemonSets are ready and Jobs complete", 0 },
  { "atomic", 0, CLI_FLAG, NULL, NULL,
    "when a release fails, delete what its import created", 0 },
  { "release-timeout", 0, CLI_VALUE, "DURATION", "300s",
    "time allowed per release for hooks and --wait (e.g. 90s, 5m)", 0 },
  { "threads", 0, CLI_VALUE, "N", "50", "releases restored in parallel", 0 },
  { "no-hooks", 0, CLI_FLAG, NULL, NULL, "do not run pre-/post-install hooks", 0 },
  { "helm-driver", 0, CLI_VALUE, "DRIVER", "secret",
    "where the release records go: secret or configmap", 0 },
  { "force", 0, CLI_FLAG, NULL, NULL,
    "also import the manager's own release (named in the state file)", 0 },
  { "new-path", 0, CLI_VALUE, "PATH", NULL,
    "import the manager's own release with its value 'path' set to PATH (needs helm)", 0 },
  { "update-values", 0, CLI_LIST, "KEY=VALUE", NULL,
    "change a value (a.b.c=v) and re-render with helm upgrade (needs helm on PATH)", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* One release of the store. */
struct rel {
  const char *ns, *name;            /* into the index */
  size_t first, count;              /* its records in the (sorted) index */
  bool self;                        /* the manager's own release */
  int state;                        /* 0 pending, 1 restored, 2 skipped, 3 failed */
  char *why;
};

struct run {
  struct backend *b;
  struct store_index *ix;
  struct imp_settings s;
  struct rel *rels;
  size_t n;
  atomic_size_t next;
  pthread_mutex_t store_lock;
  bool serial_store;                /* the backend wants one call at a time */
  struct strlist self_updates;      /* --update-values plus path=--new-path */
  struct strlist *updates;
};

/* "300", "300s", "5m", "1h". */
static long
parse_duration (const char *s)
{
  char *end;
  long v = strtol (s, &end, 10);
  if (end == s || v < 0)
    return -1;
  if (!*end || strcmp (end, "s") == 0)
    return v;
  if (strcmp (end, "m") == 0)
    return v * 60;
  if (strcmp (end, "h") == 0)
    return v * 3600;
  return -1;
}

static void
restore (struct run *run, struct rel *rl)
{
  struct imp_revision *revs = xcalloc (rl->count, sizeof *revs);
  for (size_t i = 0; i < rl->count; i++) {
    const struct store_record *rec = &run->ix->records[rl->first + i];
    struct strbuf sb = STRBUF_INIT;
    struct rm_error err;
    if (run->serial_store)
      pthread_mutex_lock (&run->store_lock);
    int rc = store_get_record (run->b, rec, &sb, &err);
    if (run->serial_store)
      pthread_mutex_unlock (&run->store_lock);
    revs[i].revision = rec->revision;
    revs[i].key = rec->key;
    revs[i].len = sb.len;
    revs[i].json = strbuf_detach (&sb);
    if (rc != RM_OK) {
      rl->state = 3;
      rl->why = xasprintf ("stored record unusable: %s", err.message);
      break;
    }
  }
  if (!rl->state) {
    int rc = imp_restore_release (&run->s, rl->ns, rl->name, revs, rl->count,
                                  rl->self ? &run->self_updates : run->updates, &rl->why);
    rl->state = rc == 0 ? 1 : rc > 0 ? 2 : 3;
  }
  for (size_t i = 0; i < rl->count; i++)
    free (revs[i].json);
  free (revs);
}

static void *
worker (void *arg)
{
  struct run *run = arg;
  for (;;) {
    size_t i = atomic_fetch_add (&run->next, 1);
    if (i >= run->n)
      break;
    if (run->rels[i].state == 0)
      restore (run, &run->rels[i]);
  }
  return NULL;
}

static bool
wanted (const struct strlist *only_ns, const struct strlist *skip_ns, const char *release,
        const struct store_record *r)
{
  if (only_ns->n && !strlist_contains (only_ns, r->namespace))
    return false;
  if (strlist_contains (skip_ns, r->namespace))
    return false;
  return !release || strcmp (release, r->release) == 0;
}

static int
run_import (struct cli *c)
{
  if (c->positional.n > 1) {
    log_error ("import: unexpected operand '%s'", c->positional.items[1]);
    return EXIT_USAGE;
  }
  struct run run;
  memset (&run, 0, sizeof run);
  struct imp_settings *s = &run.s;
  s->dry = cli_flag (c, "dry-run");
  s->replace = cli_flag (c, "replace");
  s->wait = cli_flag (c, "wait");
  s->atomic = cli_flag (c, "atomic");
  s->no_hooks = cli_flag (c, "no-hooks");
  s->create_ns = cli_flag (c, "create-namespace");
  s->target_ns = cli_get (c, "target-namespace");
  s->kubeconfig = cli_get (c, "kubeconfig");
  s->kubecontext = cli_get (c, "kubecontext");
  const char *driver = cli_get (c, "helm-driver");
  if (strcmp (driver, "secret") == 0)
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
  const char *why;
  char *tv = backend_normalize_value (RM_KEY_INT, cli_get (c, "threads"), &why);
  long threads = tv ? atol (tv) : 0;
  free (tv);
  if (threads < 1 || threads > 256) {
    log_error ("--threads: '%s' is not a number from 1 to 256", cli_get (c, "threads"));
    return EXIT_USAGE;
  }
  struct strlist only_ns = STRLIST_INIT, skip_ns = STRLIST_INIT, updates = STRLIST_INIT;
  for (size_t i = 0; i < c->nvals; i++) {
    const char *name = c->vals[i].opt->name;
    for (size_t j = 0; j < c->vals[i].values.n; j++) {
      if (strcmp (name, "namespace") == 0)
        strlist_push_split (&only_ns, c->vals[i].values.items[j], ',');
      else if (strcmp (name, "update-values") == 0)
        strlist_push (&updates, c->vals[i].values.items[j]);
    }
  }
  if (!only_ns.n && cli_get (c, "namespace"))
    strlist_push_split (&only_ns, cli_get (c, "namespace"), ',');
  if (!updates.n && cli_get (c, "update-values"))
    strlist_push_split (&updates, cli_get (c, "update-values"), ',');
  if (cli_get (c, "exclude-namespaces"))
    strlist_push_split (&skip_ns, cli_get (c, "exclude-namespaces"), ',');
  const char *only_release = cli_get (c, "release-name");
  const char *new_path = cli_get (c, "new-path");
  int rc = EXIT_OK;
  char *helm = NULL, *error = NULL, *where = NULL;
  struct kube_client *kc = NULL;
  struct store_state st = { 0 };
  pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
  s->out_lock = &out_lock;
  pthread_mutex_init (&run.store_lock, NULL);

  /* Check the values before touching anything. */
  cJSON *probe = cJSON_CreateObject ();
  for (size_t i = 0; i < updates.n; i++)
    if (imp_set_value (probe, updates.items[i], &error) < 0) {
      log_error ("%s", error);
      rc = EXIT_USAGE;
    }
  cJSON_Delete (probe);
  if (rc != EXIT_OK)
    goto out;
  run.updates = &updates;
  for (size_t i = 0; i < updates.n; i++)
    strlist_push (&run.self_updates, updates.items[i]);
  if (new_path) {
    char *a = xasprintf ("path=%s", new_path);
    strlist_push (&run.self_updates, a);
    free (a);
  }
  if (updates.n || new_path) {
    helm = imp_find_helm ();
    if (!helm) {
      log_error ("%s needs a helm binary on PATH: changing values means re-rendering the "
                 "chart, which only helm can do", updates.n ? "--update-values" : "--new-path");
      rc = EXIT_ERROR;
      goto out;
    }
    s->helm_bin = helm;
  }

  bool usage;
  run.b = cli_open_backend (c, true, &error, &usage);
  if (!run.b) {
    log_error ("%s", error);
    rc = usage ? EXIT_USAGE : EXIT_ERROR;
    goto out;
  }
  run.serial_store = backend_max_parallel (run.b, 2) < 2;
  where = backend_describe (run.b);
  struct rm_error err;
  int lrc = store_index_load (run.b, &run.ix, &err);
  if (lrc == RM_E_NOT_FOUND) {
    log_error ("no snapshot in %s (no %s): run export first", where, STORE_INDEX_KEY);
    rc = EXIT_ERROR;
    goto out;
  }
  if (lrc != RM_OK) {
    log_error ("%s", err.message);
    rc = EXIT_ERROR;
    goto out;
  }
  lrc = store_state_load (run.b, &st, &err);
  if (lrc != RM_OK && lrc != RM_E_NOT_FOUND)
    log_warn ("%s (the manager's own release cannot be recognised)", err.message);
  store_index_sort (run.ix);

  /* Releases: runs of records with the same namespace and name. */
  run.rels = xcalloc (run.ix->n ? run.ix->n : 1, sizeof *run.rels);
  for (size_t i = 0; i < run.ix->n; i++) {
    const struct store_record *r = &run.ix->records[i];
    struct rel *last = run.n ? &run.rels[run.n - 1] : NULL;
    if (last && strcmp (last->ns, r->namespace) == 0 && strcmp (last->name, r->release) == 0) {
      last->count++;
      continue;
    }
    if (!wanted (&only_ns, &skip_ns, only_release, r))
      continue;
    struct rel *rl = &run.rels[run.n++];
    rl->ns = r->namespace;
    rl->name = r->release;
    rl->first = i;
    rl->count = 1;
    rl->self = st.release && strcmp (st.release, r->release) == 0
               && (!st.namespace || strcmp (st.namespace, r->namespace) == 0);
    if (rl->self && !cli_flag (c, "force") && !new_path) {
      rl->state = 2;
      rl->why = xstrdup ("the manager's own release (named in " STORE_STATE_KEY "): a second "
                         "manager would write to the same path; --force imports it, "
                         "--new-path PATH imports it writing to PATH");
    }
  }

  struct kube_config_opts ko = { s->kubeconfig, s->kubecontext, NULL };
  struct kube_config *kcfg = NULL;
  struct kube_error kerr;
  if (kube_config_load (&ko, &kcfg, &kerr) != KUBE_OK
      || kube_client_new (kcfg, NULL, &kc, &kerr) != KUBE_OK) {
    log_error ("%s", kerr.message);
    rc = EXIT_ERROR;
    goto out;
  }
  /* Fail fast, once, when the cluster is unreachable. */
  if (kube_get (kc, "/api/v1", NULL, &kerr) != KUBE_OK) {
    log_error ("%s", kerr.message);
    rc = EXIT_ERROR;
    goto out;
  }
  s->kc = kc;
  s->disc = imp_discovery_new (kc);
  log_info ("importing %zu releases from %s into %s", run.n, where,
            kube_client_config (kc)->source);

  unsigned nt = (unsigned) threads;
  if (nt > run.n)
    nt = run.n ? (unsigned) run.n : 1;
  pthread_t *tids = xcalloc (nt, sizeof *tids);
  for (unsigned t = 0; t < nt; t++)
    pthread_create (&tids[t], NULL, worker, &run);
  for (unsigned t = 0; t < nt; t++)
    pthread_join (tids[t], NULL);
  free (tids);

  size_t restored = 0, skipped = 0, failed = 0;
  static const char *const words[] = { "pending", "restored", "skipped", "failed" };
  for (size_t i = 0; i < run.n; i++) {
    struct rel *rl = &run.rels[i];
    restored += rl->state == 1;
    skipped += rl->state == 2;
    failed += rl->state == 3;
    const char *word = s->dry && rl->state == 1 ? "would restore" : words[rl->state];
    if (s->target_ns && rl->state == 1)
      printf ("%s %s/%s into %s: %s\n", word, rl->ns, rl->name, s->target_ns, rl->why);
    else
      printf ("%s %s/%s: %s\n", word, rl->ns, rl->name, rl->why ? rl->why : "");
    if (rl->state == 3)
      log_error ("%s/%s: %s", rl->ns, rl->name, rl->why);
  }
  printf ("%s %zu releases from %s: %zu restored, %zu skipped, %zu failed\n",
          s->dry ? "dry run: would import" : "imported", run.n, where, restored, skipped,
          failed);
  if (failed)
    rc = restored ? EXIT_PARTIAL : EXIT_ERROR;
out:
  for (size_t i = 0; i < run.n; i++)
    free (run.rels[i].why);
  free (run.rels);
  imp_discovery_free (s->disc);
  kube_client_free (kc);
  store_index_free (run.ix);
  store_state_free (&st);
  backend_close (run.b);
  strlist_free (&only_ns);
  strlist_free (&skip_ns);
  strlist_free (&updates);
  strlist_free (&run.self_updates);
  pthread_mutex_destroy (&run.store_lock);
  free (helm);
  free (error);
  free (where);
  return rc;
}

const struct command cmd_import = {
  "import",
  "restore the stored Helm releases into the cluster, owned by Helm",
  "[BACKEND] [BACKEND OPTIONS] [--namespace NS]... [--release-name NAME] "
  "[--target-namespace NS] [--replace] [--wait] [--atomic]",
  "Restores every release stored under --path (or those the filters select) as if helm\n"
  "install and its upgrades had run in this cluster: the chart's CRDs first (skipped when\n"
  "they exist), pre-install hooks, the objects of the last deployed revision's manifest in\n"
  "Helm's install order with Helm's ownership labels and annotations, post-install hooks,\n"
  "then every stored revision as Helm's own release record.  helm list, history, get,\n"
  "upgrade, rollback and uninstall then work on the restored releases.  An existing object\n"
  "is taken over only when it belongs to the release (or with --replace).  The manager's\n"
  "own release is not imported unless --force or --new-path.  Nothing is written to the\n"
  "backend.  --dry-run prints the plan and writes nothing.  Exit status 3 when some\n"
  "releases failed and others were restored.",
  import_options,
  run_import,
};
