/* kube_probe: drives the Kubernetes client and the Helm codec from the command line so
 * that Python tests can point them at the fake API server (tests/fakekube/) and check
 * the results.  Output is JSON, one object per line.
 *
 *   kube_probe [--kubeconfig F] [--context C] list PATH [--label SEL] [--limit N] [--metadata]
 *   kube_probe ... get PATH
 *   kube_probe ... releases [--namespace NS] [--limit N] [--threads N] [--configmaps]
 *   kube_probe ... watch PATH [--rv RV] [--timeout S] [--max N]
 *
 * Exit status: 0, 1 (the client reported an error: "ERROR <code>: <message>" on
 * stderr), 2 usage.  `releases` is the export's read path in miniature: a metadata-only
 * LIST of the release Secrets, a GET of each on worker threads, and the decode. */
#include <config.h>

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/util.h"
#include "base/log.h"
#include "helm/helm.h"
#include "kube/kube.h"

static struct kube_client *client;

static void
die_kube (const struct rm_error *err)
{
  fprintf (stderr, "ERROR %s: %s\n", kube_strerror (err->code), err->message);
  kube_client_free (client);
  exit (1);
}

static void
print_stats (const char *what, const struct kube_list_info *info)
{
  struct kube_stats st;
  kube_client_stats (client, &st);
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "summary", what);
  if (info) {
    cJSON_AddNumberToObject (o, "items", (double) info->items);
    cJSON_AddNumberToObject (o, "pages", info->pages);
    cJSON_AddNumberToObject (o, "restarts", info->restarts);
    cJSON_AddBoolToObject (o, "metadata_only", info->metadata_only);
    if (info->resource_version)
      cJSON_AddStringToObject (o, "resource_version", info->resource_version);
  }
  cJSON_AddNumberToObject (o, "requests", (double) st.requests);
  cJSON_AddNumberToObject (o, "retries", (double) st.retries);
  char *s = cJSON_PrintUnformatted (o);
  puts (s);
  free (s);
  cJSON_Delete (o);
}

static int
print_item (void *ud, const cJSON *item)
{
  (void) ud;
  const cJSON *md = cJSON_GetObjectItem (item, "metadata");
  cJSON *o = cJSON_CreateObject ();
  const cJSON *ns = cJSON_GetObjectItem (md, "namespace"), *n = cJSON_GetObjectItem (md, "name");
  cJSON_AddStringToObject (o, "namespace", cJSON_IsString (ns) ? ns->valuestring : "");
  cJSON_AddStringToObject (o, "name", cJSON_IsString (n) ? n->valuestring : "");
  cJSON_AddBoolToObject (o, "has_data", cJSON_HasObjectItem (item, "data"));
  char *s = cJSON_PrintUnformatted (o);
  puts (s);
  free (s);
  cJSON_Delete (o);
  return 0;
}

static void
restarted (void *ud)
{
  (void) ud;
  puts ("{\"restart\": true}");
}

/* ---- releases ---- */

struct job {
  char *path;
  char *line;      /* result, JSON */
};

struct work {
  struct job *jobs;
  size_t n, next;
  bool configmaps;
  pthread_mutex_t lock;
};

static char *
describe (const struct helm_release *rel, int rc, const struct rm_error *herr, const char *path)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "path", path);
  if (rc == HELM_OK) {
    unsigned char md[32];
    unsigned int mdlen;
    char hex[65];
    EVP_Digest (rel->json, rel->json_len, md, &mdlen, EVP_sha256 (), NULL);
    for (int i = 0; i < 32; i++)
      sprintf (hex + 2 * i, "%02x", md[i]);
    cJSON_AddStringToObject (o, "namespace", rel->namespace);
    cJSON_AddStringToObject (o, "name", rel->name);
    cJSON_AddNumberToObject (o, "version", rel->version);
    cJSON_AddStringToObject (o, "status", rel->status);
    cJSON_AddStringToObject (o, "chart", rel->chart_name ? rel->chart_name : "");
    cJSON_AddStringToObject (o, "chart_version", rel->chart_version ? rel->chart_version : "");
    cJSON_AddStringToObject (o, "app_version", rel->app_version ? rel->app_version : "");
    cJSON_AddStringToObject (o, "sha256", hex);
    cJSON_AddNumberToObject (o, "bytes", (double) rel->json_len);
    cJSON_AddBoolToObject (o, "gzip", rel->was_gzip);
    cJSON_AddBoolToObject (o, "helm4", rel->helm4);
  }
  else {
    cJSON_AddStringToObject (o, "result", helm_strerror (rc));
    cJSON_AddStringToObject (o, "message", herr->message);
  }
  char *s = cJSON_PrintUnformatted (o);
  cJSON_Delete (o);
  return s;
}

static void *
worker (void *ud)
{
  struct work *w = ud;
  for (;;) {
    pthread_mutex_lock (&w->lock);
    size_t i = w->next++;
    pthread_mutex_unlock (&w->lock);
    if (i >= w->n)
      return NULL;
    struct job *j = &w->jobs[i];
    cJSON *obj;
    struct rm_error err;
    if (kube_get (client, j->path, &obj, &err) != KUBE_OK) {
      j->line = xasprintf ("{\"path\": \"%s\", \"result\": \"kube error\", \"code\": %d}", j->path, err.code);
      continue;
    }
    struct helm_release rel;
    struct rm_error herr;
    int rc = helm_release_decode (obj, w->configmaps ? HELM_DRIVER_CONFIGMAP : HELM_DRIVER_SECRET,
                                  NULL, &rel, &herr);
    j->line = describe (&rel, rc, &herr, j->path);
    helm_release_free (&rel);
    cJSON_Delete (obj);
  }
}

static int
collect (void *ud, const cJSON *item)
{
  struct work *w = ud;
  const cJSON *md = cJSON_GetObjectItem (item, "metadata");
  const cJSON *ns = cJSON_GetObjectItem (md, "namespace"), *n = cJSON_GetObjectItem (md, "name");
  if (!cJSON_IsString (ns) || !cJSON_IsString (n))
    return 0;
  w->jobs = xrealloc (w->jobs, (w->n + 1) * sizeof *w->jobs);
  w->jobs[w->n].path = kube_path ("v1", ns->valuestring, w->configmaps ? "configmaps" : "secrets",
                                  n->valuestring);
  w->jobs[w->n].line = NULL;
  w->n++;
  return 0;
}

static void
forget (void *ud)
{
  struct work *w = ud;
  for (size_t i = 0; i < w->n; i++)
    free (w->jobs[i].path);
  w->n = 0;
}

static int
releases (const char *ns, unsigned limit, int threads, bool configmaps)
{
  struct work w = { NULL, 0, 0, configmaps, PTHREAD_MUTEX_INITIALIZER };
  char *path = kube_path ("v1", ns, configmaps ? "configmaps" : "secrets", NULL);
  struct kube_list_opts o = { .label_selector = "owner=helm", .limit = limit, .metadata_only = true };
  struct kube_list_info info;
  struct rm_error err;
  if (kube_list (client, path, &o, collect, forget, &w, &info, &err) != KUBE_OK)
    die_kube (&err);
  pthread_t t[64];
  if (threads < 1 || threads > 64)
    threads = 4;
  for (int i = 0; i < threads; i++)
    pthread_create (&t[i], NULL, worker, &w);
  for (int i = 0; i < threads; i++)
    pthread_join (t[i], NULL);
  for (size_t i = 0; i < w.n; i++) {
    puts (w.jobs[i].line);
    free (w.jobs[i].line);
    free (w.jobs[i].path);
  }
  free (w.jobs);
  print_stats ("releases", &info);
  kube_list_info_free (&info);
  free (path);
  return 0;
}

/* ---- watch ---- */

struct watch_state {
  int max, n;
};

static int
on_event (void *ud, enum kube_watch_type type, const cJSON *obj)
{
  static const char *const names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK" };
  struct watch_state *ws = ud;
  const cJSON *n = cJSON_GetObjectItem (cJSON_GetObjectItem (obj, "metadata"), "name");
  printf ("{\"type\": \"%s\", \"name\": \"%s\"}\n", names[type], cJSON_IsString (n) ? n->valuestring : "");
  fflush (stdout);
  return ws->max && ++ws->n >= ws->max;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "kubeconfig", required_argument, NULL, 'k' }, { "context", required_argument, NULL, 'c' },
    { "label", required_argument, NULL, 'l' }, { "limit", required_argument, NULL, 'n' },
    { "metadata", no_argument, NULL, 'm' }, { "namespace", required_argument, NULL, 'N' },
    { "threads", required_argument, NULL, 't' }, { "rv", required_argument, NULL, 'r' },
    { "timeout", required_argument, NULL, 'T' }, { "max", required_argument, NULL, 'x' },
    { "configmaps", no_argument, NULL, 'C' }, { "verbose", no_argument, NULL, 'v' },
    { NULL, 0, NULL, 0 }
  };
  struct kube_config_opts co = { 0 };
  const char *label = NULL, *ns = NULL, *rv = NULL;
  unsigned limit = 0;
  bool metadata = false, configmaps = false;
  int threads = 4, max = 0;
  long timeout = 0;
  int ch;
  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case 'k': co.kubeconfig = optarg; break;
    case 'c': co.context = optarg; break;
    case 'l': label = optarg; break;
    case 'n': limit = (unsigned) atoi (optarg); break;
    case 'm': metadata = true; break;
    case 'N': ns = optarg; break;
    case 't': threads = atoi (optarg); break;
    case 'r': rv = optarg; break;
    case 'T': timeout = atol (optarg); break;
    case 'x': max = atoi (optarg); break;
    case 'C': configmaps = true; break;
    case 'v': log_set_level (RM_LOG_DEBUG); break;
    default: return 2;
    }
  }
  if (optind >= argc) {
    fputs ("usage: kube_probe [options] list|get|releases|watch [PATH]\n", stderr);
    return 2;
  }
  const char *cmd = argv[optind];
  const char *path = optind + 1 < argc ? argv[optind + 1] : NULL;
  struct kube_config *cfg;
  struct rm_error err;
  if (kube_config_load (&co, &cfg, &err) != KUBE_OK)
    die_kube (&err);
  struct kube_client_opts opts = { .backoff_base_ms = 50, .backoff_max_ms = 3000 };
  if (kube_client_new (cfg, &opts, &client, &err) != KUBE_OK)
    die_kube (&err);
  int rc = 0;
  if (strcmp (cmd, "list") == 0 && path) {
    struct kube_list_opts o = { .label_selector = label, .limit = limit, .metadata_only = metadata };
    struct kube_list_info info;
    if (kube_list (client, path, &o, print_item, restarted, NULL, &info, &err) != KUBE_OK)
      die_kube (&err);
    print_stats ("list", &info);
    kube_list_info_free (&info);
  }
  else if (strcmp (cmd, "get") == 0 && path) {
    cJSON *obj;
    if (kube_get (client, path, &obj, &err) != KUBE_OK)
      die_kube (&err);
    char *s = cJSON_PrintUnformatted (obj);
    puts (s);
    free (s);
    cJSON_Delete (obj);
  }
  else if (strcmp (cmd, "releases") == 0)
    rc = releases (ns, limit, threads, configmaps);
  else if (strcmp (cmd, "watch") == 0 && path) {
    struct kube_watch_opts o = { .label_selector = label, .resource_version = rv,
                                 .timeout_seconds = timeout };
    struct watch_state ws = { max, 0 };
    char *last = NULL;
    int r = kube_watch (client, path, &o, on_event, &ws, &last, &err);
    if (r != KUBE_OK && r != KUBE_E_ABORTED)
      die_kube (&err);
    printf ("{\"summary\": \"watch\", \"last_rv\": \"%s\"}\n", last ? last : "");
    free (last);
  }
  else {
    fprintf (stderr, "kube_probe: unknown command %s\n", cmd);
    rc = 2;
  }
  kube_client_free (client);
  return rc;
}
