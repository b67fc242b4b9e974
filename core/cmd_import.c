/* `releasemanager import`: restore the stored releases into the current cluster so that
 * Helm owns them afterwards (DESIGN.md section 4; the engine is core/import/).
 *
 * 1. Read index.json (or, without one, the original tool's .release files) and the state
 * file (import never writes to the backend).  2. Group
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

#include "base/sha256.h"
#include "base/gzip.h"
#include "commands.h"
#include "import/import.h"
#include "base/log.h"
#include "store/store.h"

/* The original Go tool's layout (logicmonitor/k8s-release-manager, Helm 3 version): one
 * file per stored release revision directly under --path, named NAME-VERSION-S.release
 * (S: a second of the last deployment; older versions NAME-VERSION.release), holding
 * the release JSON exactly as Helm's json.Marshal wrote it, uncompressed; its state file
 * rlsmgrstate.json is {"ReleaseFilename": ..., "ReleaseName": ..., "ReleaseVersion": N}. */
#define LEGACY_EXT ".release"

static const struct cli_option import_options[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "import only releases stored from NS", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS,NS", NULL, "skip releases stored from these namespaces", 0 },
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
    "import the manager's own release with its value 'path' (the original tool's: "
    "'backend.path') set to PATH (needs helm)", 0 },
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
  struct strlist self_updates;      /* --update-values plus path=--new-path (legacy:
                                       backend.path=, the original tool's chart value) */
  struct strlist *updates;
  bool legacy;                      /* the original tool's .release files, no index */
  struct strlist bad;               /* legacy: "KEY: why" of files that are no release */
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

/* A legacy file's key: directly under --path, NAME-VERSION[-S].release. */
static bool
legacy_key (const char *key)
{
  size_t n = strlen (key), e = strlen (LEGACY_EXT);
  if (strchr (key, '/') || n <= e || strcmp (key + n - e, LEGACY_EXT) != 0)
    return false;
  /* at least "-VERSION" before the extension */
  const char *p = key + n - e;
  while (p > key && p[-1] >= '0' && p[-1] <= '9')
    p--;
  return p < key + n - e && p > key + 1 && p[-1] == '-';
}

static int
collect_legacy (void *opaque, const struct rm_list_entry *entry)
{
  if (legacy_key (entry->key))
    strlist_push (opaque, entry->key);
  return 0;
}

/* A legacy file's release JSON: the file as is (gunzipped, should someone have
 * compressed them). */
static int
legacy_read (struct backend *b, const char *key, struct strbuf *json, struct rm_error *err)
{
  struct strbuf raw = STRBUF_INIT;
  int rc = backend_get_mem (b, key, &raw, NULL, err);
  json->len = 0;
  if (rc == RM_OK && raw.len >= 2 && (unsigned char) raw.data[0] == 0x1f
      && (unsigned char) raw.data[1] == 0x8b) {
    struct rm_error gerr;
    if (gzip_inflate (raw.data, raw.len, (size_t) 1 << 30, json, &gerr) != 0)
      rc = rm_error_set (err, RM_E_IO, "%s: corrupt gzip: %s", key, gerr.message);
  }
  else if (rc == RM_OK) {
    strbuf_free (json);
    *json = raw;
    return RM_OK;
  }
  strbuf_free (&raw);
  return rc;
}

/* The same, checked against what was read when listing. */
static int
legacy_get (struct backend *b, const struct store_record *rec, struct strbuf *json,
            struct rm_error *err)
{
  int rc = legacy_read (b, rec->key, json, err);
  if (rc != RM_OK)
    return rc;
  char sha[65];
  sha256_hex (json->data ? json->data : "", json->len, sha);
  if (strcmp (sha, rec->sha256) != 0)
    return rm_error_set (err, RM_E_IO, "%s: changed while importing", rec->key);
  return RM_OK;
}

/* An index built from the original tool's files under --path: each one read and parsed
 * (namespace, name and revision come from the release JSON; the file name only says
 * which keys are releases).  Files that are not a release go to run->bad.  When two files
 * hold the same revision of a release, the one deployed last wins.  RM_E_NOT_FOUND when
 * there are no such files. */
static int
legacy_load (struct run *run, struct store_index **out, struct rm_error *err)
{
  struct strlist keys = STRLIST_INIT;
  int rc = backend_list_all (run->b, "", collect_legacy, &keys, err);
  if (rc != RM_OK) {
    strlist_free (&keys);
    return rc;
  }
  if (!keys.n) {
    strlist_free (&keys);
    return RM_E_NOT_FOUND;
  }
  struct store_index *ix = xcalloc (1, sizeof *ix);
  for (size_t i = 0; i < keys.n; i++) {
    const char *key = keys.items[i];
    struct strbuf json = STRBUF_INIT;
    struct rm_error gerr;
    rc = legacy_read (run->b, key, &json, &gerr);
    if (rc != RM_OK) {
      char *line = xasprintf ("%s: %s", key, gerr.message);
      strlist_push (&run->bad, line);
      free (line);
      strbuf_free (&json);
      continue;
    }
    struct helm_release meta;
    struct rm_error herr;
    memset (&meta, 0, sizeof meta);
    if (helm_release_parse_json (json.data ? json.data : "", json.len, key, &meta, &herr)
            != HELM_OK
        || !meta.name || !meta.namespace || !*meta.namespace) {
      char *line = xasprintf ("%s: not a Helm 3 release: %s", key,
                              meta.name && !meta.namespace ? "no namespace" : herr.message);
      strlist_push (&run->bad, line);
      free (line);
    }
    else {
      struct store_record *r = store_index_add (ix);
      r->key = xstrdup (key);
      r->namespace = xstrdup (meta.namespace);
      r->release = xstrdup (meta.name);
      r->revision = meta.version;
      r->status = meta.status ? xstrdup (meta.status) : NULL;
      r->updated = meta.last_deployed ? xstrdup (meta.last_deployed) : NULL;
      r->size = (long long) json.len;
      sha256_hex (json.data ? json.data : "", json.len, r->sha256);
    }
    helm_release_free (&meta);
    strbuf_free (&json);
  }
  strlist_free (&keys);
  store_index_sort (ix);
  size_t w = 0;
  for (size_t i = 0; i < ix->n; i++) {
    struct store_record *r = &ix->records[i];
    if (w && strcmp (ix->records[w - 1].namespace, r->namespace) == 0
        && strcmp (ix->records[w - 1].release, r->release) == 0
        && ix->records[w - 1].revision == r->revision) {
      struct store_record *keep = &ix->records[w - 1];
      bool later = r->updated && (!keep->updated || strcmp (r->updated, keep->updated) > 0);
      log_warn ("%s and %s hold the same revision %d of %s/%s: using %s", keep->key, r->key,
                r->revision, r->namespace, r->release, later ? r->key : keep->key);
      if (later) {
        store_record_clear (keep);
        *keep = *r;
      }
      else
        store_record_clear (r);
      continue;
    }
    if (w != i)
      ix->records[w] = *r;
    w++;
  }
  ix->n = w;
  *out = ix;
  return RM_OK;
}

/* The original tool's state file names its release as "ReleaseName" (Go field names),
 * without a namespace. */
static void
legacy_state (struct backend *b, struct store_state *st)
{
  struct strbuf sb = STRBUF_INIT;
  struct rm_error err;
  if (backend_get_mem (b, STORE_STATE_KEY, &sb, NULL, &err) == RM_OK) {
    cJSON *root = cJSON_ParseWithLength (sb.data ? sb.data : "", sb.len);
    const cJSON *v = cJSON_GetObjectItem (root, "ReleaseName");   /* case-insensitive */
    if (cJSON_IsString (v) && *v->valuestring) {
      free (st->release);
      st->release = xstrdup (v->valuestring);
    }
    cJSON_Delete (root);
  }
  strbuf_free (&sb);
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
    int rc = run->legacy ? legacy_get (run->b, rec, &sb, &err)
                         : store_get_record (run->b, rec, &sb, &err);
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
  /* Repeatable; namespaces are also comma-separated.  An --update-values value may hold
   * commas itself (key=a,b), so only the environment or file form is split. */
  cli_get_list (c, "namespace", ',', &only_ns);
  cli_get_list (c, "exclude-namespaces", ',', &skip_ns);
  for (size_t i = 0; i < c->nvals; i++)
    if (strcmp (c->vals[i].opt->name, "update-values") == 0)
      for (size_t j = 0; j < c->vals[i].values.n; j++)
        strlist_push (&updates, c->vals[i].values.items[j]);
  if (!updates.n && cli_get (c, "update-values"))
    strlist_push_split (&updates, cli_get (c, "update-values"), ',');
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
    run.legacy = true;
    lrc = legacy_load (&run, &run.ix, &err);
    if (lrc == RM_OK)
      log_info ("%s has no %s but the original tool's files: %zu release revisions, %zu "
                "unreadable", where, STORE_INDEX_KEY, run.ix->n, run.bad.n);
  }
  if (lrc == RM_E_NOT_FOUND) {
    log_error ("no snapshot in %s (no %s, no NAME-VERSION-N%s files): run export first",
               where, STORE_INDEX_KEY, LEGACY_EXT);
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
  if (lrc == RM_OK && !st.release)
    legacy_state (run.b, &st);
  if (new_path) {
    /* The original tool's chart keeps the path in backend.path (its --new-path). */
    char *a = xasprintf ("%s=%s", run.legacy ? "backend.path" : "path", new_path);
    strlist_push (&run.self_updates, a);
    free (a);
  }
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
  struct rm_error kerr;
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
  for (size_t i = 0; i < run.bad.n; i++) {
    printf ("failed %s\n", run.bad.items[i]);
    log_error ("%s", run.bad.items[i]);
  }
  failed += run.bad.n;
  printf ("%s %zu releases from %s: %zu %s, %zu skipped, %zu failed\n",
          s->dry ? "dry run: would import" : "imported", run.n + run.bad.n, where, restored,
          s->dry ? "to restore" : "restored", skipped, failed);
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
  strlist_free (&run.bad);
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
  "backend.  Without index.json, the original Go tool's NAME-VERSION-N.release files\n"
  "and its rlsmgrstate.json are read instead.  --dry-run prints the plan and writes\n"
  "nothing.  Exit status 3 when some\n"
  "releases failed and others were restored.",
  import_options,
  run_import,
};
