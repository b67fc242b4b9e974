/* kubeconfig resolution, following kubectl (client-go tools/clientcmd): which files are
 * read, how they merge, which context/cluster/user is picked, how relative paths
 * resolve, and the same validation (one auth method, cert with key, CA data xor file).
 * The result is a flat struct kube_config; the in-cluster fallback is in incluster.c. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/util.h"
#include "base/log.h"
#include "base/base64.h"
#include "kube/internal.h"
#include "base/yamljson.h"

struct kfile {
  char *path;
  char *dir;               /* absolute directory, for relative paths in the file */
  struct yamljson y;
};

struct entry {
  const char *name;
  const cJSON *body;       /* the cluster/user/context map (may be NULL) */
  const cJSON *item;       /* the list item, for its line */
  struct kfile *file;
};

struct entries {
  struct entry *v;
  size_t n;
};

struct merged {
  struct kfile **files;
  size_t nfiles;
  struct entries clusters, users, contexts;
  const char *current_context;
  struct strlist tried;    /* every file considered, for messages */
};

static const struct entry *
find (const struct entries *e, const char *name)
{
  for (size_t i = 0; i < e->n; i++)
    if (strcmp (e->v[i].name, name) == 0)
      return &e->v[i];
  return NULL;
}

static void
free_merged (struct merged *m)
{
  for (size_t i = 0; i < m->nfiles; i++) {
    yamljson_free (&m->files[i]->y);
    free (m->files[i]->path);
    free (m->files[i]->dir);
    free (m->files[i]);
  }
  free (m->files);
  free (m->clusters.v);
  free (m->users.v);
  free (m->contexts.v);
  strlist_free (&m->tried);
}

/* "FILE:LINE: " for a node. */
static void
where (const struct kfile *f, const cJSON *node, char *buf, size_t size)
{
  int line = node ? yamljson_line (&f->y, node) : 0;
  if (line)
    snprintf (buf, size, "%s:%d", f->path, line);
  else
    snprintf (buf, size, "%s", f->path);
}

/* A string field: absent or null -> *out NULL; any scalar -> its text (kubectl turns
 * `token: 12345` into "12345"); a map or list is an error. */
static int
get_string (const struct kfile *f, const cJSON *map, const char *key, const char *what,
            char **out, struct rm_error *err)
{
  *out = NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (map, key);
  if (!v || cJSON_IsNull (v))
    return 0;
  const char *t = yamljson_text (v);
  if (!t) {
    char w[PATH_MAX + 32];
    where (f, v, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: %s.%s must be a string", w, what, key);
  }
  *out = *t ? xstrdup (t) : NULL;
  return 0;
}

static int
get_bool (const struct kfile *f, const cJSON *map, const char *key, const char *what,
          bool *out, struct rm_error *err)
{
  *out = false;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (map, key);
  if (!v || cJSON_IsNull (v))
    return 0;
  if (!cJSON_IsBool (v)) {
    char w[PATH_MAX + 32];
    where (f, v, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: %s.%s must be true or false", w, what, key);
  }
  *out = cJSON_IsTrue (v);
  return 0;
}

/* A path field, made absolute against the file's directory (clientcmd ResolvePaths). */
static int
get_path (const struct kfile *f, const cJSON *map, const char *key, const char *what,
          char **out, struct rm_error *err)
{
  if (get_string (f, map, key, what, out, err))
    return -1;
  if (*out && (*out)[0] != '/') {
    char *abs = xasprintf ("%s/%s", f->dir, *out);
    free (*out);
    *out = abs;
  }
  return 0;
}

/* A *-data field: base64 of the bytes. */
static int
get_data (const struct kfile *f, const cJSON *map, const char *key, const char *what,
          struct kube_blob *out, struct rm_error *err)
{
  char *text;
  memset (out, 0, sizeof *out);
  if (get_string (f, map, key, what, &text, err))
    return -1;
  if (!text)
    return 0;
  struct rm_error why;
  out->data = base64_decode (text, strlen (text), &out->len, &why);
  if (!out->data) {
    char w[PATH_MAX + 32];
    where (f, cJSON_GetObjectItemCaseSensitive (map, key), w, sizeof w);
    free (text);
    return err_set (err, KUBE_E_CONFIG, "%s: %s.%s: invalid base64 (%s)", w, what, key, why.message);
  }
  free (text);
  return 0;
}

static int
read_blob (const char *path, const char *field, const char *kind, const char *name,
           struct kube_blob *out, struct rm_error *err)
{
  if (kube_read_file (path, out) < 0)
    return err_set (err, KUBE_E_CONFIG, "unable to read %s %s for %s \"%s\": %s", field, path,
                    kind, name, strerror (errno));
  return 0;
}

/* Parse one list (clusters/users/contexts) of a file into e; first file wins. */
static int
add_entries (struct kfile *f, const cJSON *root, const char *list, const char *body_key,
             struct entries *e, struct rm_error *err)
{
  const cJSON *l = cJSON_GetObjectItemCaseSensitive (root, list);
  char w[PATH_MAX + 32];
  if (!l || cJSON_IsNull (l))
    return 0;
  if (!cJSON_IsArray (l)) {
    where (f, l, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: %s must be a list", w, list);
  }
  const cJSON *it;
  int i = 0;
  size_t mine_start = e->n;
  cJSON_ArrayForEach (it, l) {
    where (f, it, w, sizeof w);
    if (!cJSON_IsObject (it))
      return err_set (err, KUBE_E_CONFIG, "%s: %s[%d] must be a map", w, list, i);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive (it, "name");
    const char *n = yamljson_text (name);
    if (!n || !*n)
      return err_set (err, KUBE_E_CONFIG, "%s: %s[%d] has no name", w, list, i);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive (it, body_key);
    if (body && !cJSON_IsNull (body) && !cJSON_IsObject (body)) {
      where (f, body, w, sizeof w);
      return err_set (err, KUBE_E_CONFIG, "%s: %s[%d].%s must be a map", w, list, i, body_key);
    }
    /* Within one file a name may appear once (clientcmd: "duplicate name"). */
    for (size_t k = mine_start; k < e->n; k++)
      if (e->v[k].file == f && strcmp (e->v[k].name, n) == 0)
        return err_set (err, KUBE_E_CONFIG, "%s: duplicate name \"%s\" in %s", w, n, list);
    bool seen = false;
    for (size_t k = 0; k < e->n; k++)
      if (strcmp (e->v[k].name, n) == 0 && e->v[k].file != f)
        seen = true;
    if (!seen) {
      e->v = xrealloc (e->v, (e->n + 1) * sizeof *e->v);
      e->v[e->n].name = n;
      e->v[e->n].body = cJSON_IsObject (body) ? body : NULL;
      e->v[e->n].item = it;
      e->v[e->n].file = f;
      e->n++;
    }
    i++;
  }
  return 0;
}

static char *
absolute_dir (const char *path)
{
  char *copy = xstrdup (path);
  char *slash = strrchr (copy, '/');
  char *dir;
  if (slash == copy)
    dir = xstrdup ("/");
  else if (slash) {
    *slash = '\0';
    dir = copy[0] == '/' ? xstrdup (copy) : NULL;
    if (!dir) {
      char cwd[PATH_MAX];
      dir = xasprintf ("%s/%s", getcwd (cwd, sizeof cwd) ? cwd : ".", copy);
    }
  }
  else {
    char cwd[PATH_MAX];
    dir = xstrdup (getcwd (cwd, sizeof cwd) ? cwd : ".");
  }
  free (copy);
  return dir;
}

/* Load one file into m.  A missing file is skipped unless required. */
static int
load_one (struct merged *m, const char *path, bool required, struct rm_error *err)
{
  strlist_push (&m->tried, path);
  struct kfile *f = xcalloc (1, sizeof *f);
  struct rm_error yerr;
  int r = yamljson_load (path, &f->y, &yerr);
  if (r == YAMLJSON_E_NO_FILE && !required) {
    log_debug ("kubeconfig %s does not exist, skipped", path);
    free (f);
    return 0;
  }
  if (r != 0) {
    free (f);
    if (r == YAMLJSON_E_NO_FILE)
      return err_set (err, KUBE_E_CONFIG, "kubeconfig %s", yerr.message);
    return err_set (err, KUBE_E_CONFIG, "bad kubeconfig %s", yerr.message);
  }
  f->path = xstrdup (path);
  f->dir = absolute_dir (path);
  m->files = xrealloc (m->files, (m->nfiles + 1) * sizeof *m->files);
  m->files[m->nfiles++] = f;

  const cJSON *root = cJSON_GetArrayItem (f->y.docs, 0);
  if (!root || cJSON_IsNull (root))
    return 0;   /* an empty file is an empty config */
  if (!cJSON_IsObject (root)) {
    char w[PATH_MAX + 32];
    where (f, root, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: not a kubeconfig (the top level is not a map)", w);
  }
  if (add_entries (f, root, "clusters", "cluster", &m->clusters, err)
      || add_entries (f, root, "users", "user", &m->users, err)
      || add_entries (f, root, "contexts", "context", &m->contexts, err))
    return -1;
  const cJSON *cc = cJSON_GetObjectItemCaseSensitive (root, "current-context");
  const char *t = yamljson_text (cc);
  if (cc && !cJSON_IsNull (cc) && !t) {
    char w[PATH_MAX + 32];
    where (f, cc, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: current-context must be a string", w);
  }
  if (t && *t && !m->current_context)
    m->current_context = t;
  return 0;
}

static char *
home_dir (void)
{
  const char *h = getenv ("HOME");
  if (h && *h)
    return xstrdup (h);
  struct passwd *pw = getpwuid (getuid ());
  return pw && pw->pw_dir ? xstrdup (pw->pw_dir) : NULL;
}

static char *
joined (const struct strlist *l, const char *sep)
{
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < l->n; i++) {
    if (i)
      strbuf_puts (&sb, sep);
    strbuf_puts (&sb, l->items[i]);
  }
  return strbuf_detach (&sb);
}

static char *
names_of (const struct entries *e)
{
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < e->n; i++)
    strbuf_printf (&sb, "%s%s", i ? ", " : "", e->v[i].name);
  return strbuf_detach (&sb);
}

/* The user:password of a URL (raw and percent-decoded) are secrets: log lines redact them
 * even if some library repeats the URL. */
static void
register_userinfo (const char *url)
{
  const char *auth, *at = kube_url_userinfo (url, &auth);
  if (!at)
    return;
  char *info = xasprintf ("%.*s", (int) (at - auth), auth);
  char *colon = strchr (info, ':');
  const char *pw = colon ? colon + 1 : info;
  log_add_secret (info);
  log_add_secret (pw);
  char *dec = curl_easy_unescape (NULL, pw, 0, NULL);
  if (dec) {
    log_add_secret (dec);
    curl_free (dec);
  }
  free (info);
}

/* server without a scheme: https when TLS is configured, like rest.DefaultServerURL. */
static char *
normalise_server (const char *server, bool tls)
{
  char *s = strstr (server, "://") ? xstrdup (server)
          : xasprintf ("%s://%s", tls ? "https" : "http", server);
  size_t n = strlen (s);
  while (n > 0 && s[n - 1] == '/' && !str_has_suffix (s, "://"))
    s[--n] = '\0';
  return s;
}

static int
load_cluster (struct kube_config *cfg, const struct entry *e, struct rm_error *err)
{
  struct kfile *f = e->file;
  const cJSON *c = e->body;
  char what[300];
  snprintf (what, sizeof what, "clusters[%s].cluster", e->name);
  char w[PATH_MAX + 32];
  where (f, e->item, w, sizeof w);
  if (!c || !c->child)
    return err_set (err, KUBE_E_CONFIG, "%s: cluster \"%s\" is empty (no server)", w, e->name);

  char *server = NULL, *ca_data_text = NULL;
  if (get_string (f, c, "server", what, &server, err)
      || get_path (f, c, "certificate-authority", what, &cfg->ca_file, err)
      || get_bool (f, c, "insecure-skip-tls-verify", what, &cfg->insecure, err)
      || get_string (f, c, "tls-server-name", what, &cfg->tls_server_name, err)
      || get_string (f, c, "proxy-url", what, &cfg->proxy_url, err)
      || get_bool (f, c, "disable-compression", what, &cfg->disable_compression, err)
      || get_string (f, c, "certificate-authority-data", what, &ca_data_text, err)) {
    free (server);
    free (ca_data_text);
    return -1;
  }
  if (!server) {
    free (ca_data_text);
    return err_set (err, KUBE_E_CONFIG, "%s: no server found for cluster \"%s\"", w, e->name);
  }
  if (ca_data_text && cfg->ca_file) {
    free (server);
    free (ca_data_text);
    return err_set (err, KUBE_E_CONFIG,
                    "%s: certificate-authority-data and certificate-authority are both specified for cluster \"%s\"; keep one",
                    w, e->name);
  }
  free (ca_data_text);
  if (get_data (f, c, "certificate-authority-data", what, &cfg->ca, err)) {
    free (server);
    return -1;
  }
  if (cfg->ca_file && read_blob (cfg->ca_file, "certificate-authority", "cluster", e->name, &cfg->ca, err)) {
    free (server);
    return -1;
  }
  if (cfg->insecure && cfg->ca.len) {
    free (server);
    return err_set (err, KUBE_E_CONFIG,
                    "%s: cluster \"%s\" sets insecure-skip-tls-verify and a certificate authority; "
                    "specifying a root certificate with the insecure flag is not allowed", w, e->name);
  }
  if (cfg->proxy_url) {
    static const char *const schemes[] = { "http://", "https://", "socks5://", "socks5h://" };
    bool ok = false;
    for (size_t i = 0; i < ARRAY_SIZE (schemes); i++)
      ok |= str_has_prefix (cfg->proxy_url, schemes[i]) && cfg->proxy_url[strlen (schemes[i])];
    if (!ok) {
      free (server);
      char *shown = kube_server_display (cfg->proxy_url);
      err_set (err, KUBE_E_CONFIG,
               "%s: invalid proxy-url \"%s\" for cluster \"%s\": the scheme must be http, https or socks5",
               w, shown, e->name);
      free (shown);
      return -1;
    }
    register_userinfo (cfg->proxy_url);
  }
  cfg->server_url = normalise_server (server, cfg->ca.len || cfg->insecure);
  free (server);
  /* Credentials in the URL never reach a message or the index: server is the URL without
   * them, and server_url (kept for the requests) only exists when they are there. */
  cfg->server = kube_server_display (cfg->server_url);
  if (strcmp (cfg->server, cfg->server_url) == 0) {
    free (cfg->server_url);
    cfg->server_url = NULL;
  }
  else
    register_userinfo (cfg->server_url);

  /* The cluster's exec extension, handed to exec plugins with provideClusterInfo. */
  const cJSON *exts = cJSON_GetObjectItemCaseSensitive (c, "extensions");
  const cJSON *x;
  cJSON_ArrayForEach (x, (cJSON_IsArray (exts) ? exts : NULL)) {
    const char *n = yamljson_text (cJSON_GetObjectItemCaseSensitive (x, "name"));
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive (x, "extension");
    if (n && strcmp (n, "client.authentication.k8s.io/exec") == 0 && ext) {
      if (!cfg->exec)
        cfg->exec = xcalloc (1, sizeof *cfg->exec);
      free (cfg->exec->cluster_config);
      cfg->exec->cluster_config = cJSON_PrintUnformatted (ext);
    }
  }
  return 0;
}

static const char *
auth_provider_advice (const char *name)
{
  if (strcmp (name, "gcp") == 0)
    return "the gcp auth-provider was removed from Kubernetes clients: install the "
           "gke-gcloud-auth-plugin exec plugin and run `gcloud container clusters get-credentials` "
           "again, which rewrites this user to use it "
           "(https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke)";
  if (strcmp (name, "azure") == 0)
    return "the azure auth-provider was removed from Kubernetes clients: use the kubelogin exec "
           "plugin (https://github.com/Azure/kubelogin); `kubelogin convert-kubeconfig` rewrites "
           "this user to use it";
  if (strcmp (name, "oidc") == 0)
    return "the oidc auth-provider is not supported: use an exec credential plugin such as "
           "kubelogin / kubectl oidc-login (https://github.com/int128/kubelogin)";
  return "auth-provider plugins are not supported: configure an exec credential plugin "
         "(client.authentication.k8s.io/v1) for this user instead";
}

static int
load_exec (struct kube_config *cfg, struct kfile *f, const cJSON *x, const char *user,
           struct rm_error *err)
{
  char what[300], w[PATH_MAX + 32];
  snprintf (what, sizeof what, "users[%s].user.exec", user);
  where (f, x, w, sizeof w);
  if (!cJSON_IsObject (x))
    return err_set (err, KUBE_E_CONFIG, "%s: %s must be a map", w, what);
  char *cluster_config = cfg->exec ? cfg->exec->cluster_config : NULL;
  if (!cfg->exec)
    cfg->exec = xcalloc (1, sizeof *cfg->exec);
  struct kube_exec *e = cfg->exec;
  e->cluster_config = cluster_config;
  if (get_string (f, x, "apiVersion", what, &e->api_version, err)
      || get_string (f, x, "command", what, &e->command, err)
      || get_string (f, x, "installHint", what, &e->install_hint, err)
      || get_bool (f, x, "provideClusterInfo", what, &e->provide_cluster_info, err)
      || get_string (f, x, "interactiveMode", what, &e->interactive_mode, err))
    return -1;
  if (!e->command)
    return err_set (err, KUBE_E_CONFIG, "%s: command must be specified for user \"%s\" to use exec authentication plugin", w, user);
  if (!e->api_version)
    return err_set (err, KUBE_E_CONFIG, "%s: apiVersion must be specified for user \"%s\" to use exec authentication plugin", w, user);
  if (strcmp (e->api_version, "client.authentication.k8s.io/v1") != 0
      && strcmp (e->api_version, "client.authentication.k8s.io/v1beta1") != 0)
    return err_set (err, KUBE_E_CONFIG,
                    "%s: exec plugin apiVersion \"%s\" for user \"%s\" is not supported "
                    "(use client.authentication.k8s.io/v1 or v1beta1)", w, e->api_version, user);
  /* clientcmd defaults interactiveMode to IfAvailable for v1beta1; v1 must say. */
  if (!e->interactive_mode) {
    if (str_has_suffix (e->api_version, "/v1beta1"))
      e->interactive_mode = xstrdup ("IfAvailable");
    else
      return err_set (err, KUBE_E_CONFIG, "%s: interactiveMode must be specified for user \"%s\" to use exec authentication plugin", w, user);
  }
  if (strcmp (e->interactive_mode, "Never") && strcmp (e->interactive_mode, "IfAvailable")
      && strcmp (e->interactive_mode, "Always"))
    return err_set (err, KUBE_E_CONFIG, "%s: invalid interactiveMode for user \"%s\": \"%s\"", w, user, e->interactive_mode);
  /* Only a command with a '/' is a path; a bare name is looked up in PATH. */
  if (strchr (e->command, '/') && e->command[0] != '/') {
    char *abs = xasprintf ("%s/%s", f->dir, e->command);
    free (e->command);
    e->command = abs;
  }
  const cJSON *args = cJSON_GetObjectItemCaseSensitive (x, "args"), *a;
  if (args && !cJSON_IsNull (args) && !cJSON_IsArray (args)) {
    where (f, args, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: %s.args must be a list", w, what);
  }
  cJSON_ArrayForEach (a, (cJSON_IsArray (args) ? args : NULL)) {
    const char *t = yamljson_text (a);
    if (!t) {
      where (f, a, w, sizeof w);
      return err_set (err, KUBE_E_CONFIG, "%s: %s.args items must be strings", w, what);
    }
    strlist_push (&e->args, t);
  }
  const cJSON *env = cJSON_GetObjectItemCaseSensitive (x, "env"), *v;
  if (env && !cJSON_IsNull (env) && !cJSON_IsArray (env)) {
    where (f, env, w, sizeof w);
    return err_set (err, KUBE_E_CONFIG, "%s: %s.env must be a list", w, what);
  }
  cJSON_ArrayForEach (v, (cJSON_IsArray (env) ? env : NULL)) {
    const char *n = yamljson_text (cJSON_GetObjectItemCaseSensitive (v, "name"));
    const char *val = yamljson_text (cJSON_GetObjectItemCaseSensitive (v, "value"));
    if (!cJSON_IsObject (v) || !n || !*n) {
      where (f, v, w, sizeof w);
      return err_set (err, KUBE_E_CONFIG, "%s: env variable name must be specified for user \"%s\" to use exec authentication plugin", w, user);
    }
    char *kv = xasprintf ("%s=%s", n, val ? val : "");
    strlist_push (&e->env, kv);
    free (kv);
  }
  return 0;
}

static int
load_user (struct kube_config *cfg, const struct entry *e, struct rm_error *err)
{
  struct kfile *f = e->file;
  const cJSON *u = e->body;
  char what[300], w[PATH_MAX + 32];
  snprintf (what, sizeof what, "users[%s].user", e->name);
  where (f, e->item, w, sizeof w);
  if (!u)
    return 0;   /* anonymous */

  if (get_string (f, u, "token", what, &cfg->token, err)
      || get_path (f, u, "tokenFile", what, &cfg->token_file, err)
      || get_path (f, u, "client-certificate", what, &cfg->client_cert_file, err)
      || get_path (f, u, "client-key", what, &cfg->client_key_file, err)
      || get_data (f, u, "client-certificate-data", what, &cfg->client_cert, err)
      || get_data (f, u, "client-key-data", what, &cfg->client_key, err)
      || get_string (f, u, "username", what, &cfg->username, err)
      || get_string (f, u, "password", what, &cfg->password, err)
      || get_string (f, u, "as", what, &cfg->impersonate_user, err)
      || get_string (f, u, "as-uid", what, &cfg->impersonate_uid, err))
    return -1;
  log_add_secret (cfg->token);
  log_add_secret (cfg->password);
  char *key_text = NULL;
  if (get_string (f, u, "client-key-data", what, &key_text, err))
    return -1;
  log_add_secret (key_text);
  free (key_text);

  const cJSON *groups = cJSON_GetObjectItemCaseSensitive (u, "as-groups"), *g;
  cJSON_ArrayForEach (g, (cJSON_IsArray (groups) ? groups : NULL))
    if (yamljson_text (g))
      strlist_push (&cfg->impersonate_groups, yamljson_text (g));

  const cJSON *ap = cJSON_GetObjectItemCaseSensitive (u, "auth-provider");
  const cJSON *exec = cJSON_GetObjectItemCaseSensitive (u, "exec");
  if (ap && !cJSON_IsNull (ap)) {
    where (f, ap, w, sizeof w);
    if (exec && !cJSON_IsNull (exec))
      return err_set (err, KUBE_E_CONFIG,
                      "%s: authProvider cannot be provided in combination with an exec plugin for user \"%s\"",
                      w, e->name);
    const char *name = yamljson_text (cJSON_GetObjectItemCaseSensitive (ap, "name"));
    return err_set (err, KUBE_E_CONFIG, "%s: user \"%s\" uses auth-provider \"%s\": %s", w,
                    e->name, name ? name : "?", auth_provider_advice (name ? name : ""));
  }
  if (exec && !cJSON_IsNull (exec) && load_exec (cfg, f, exec, e->name, err))
    return -1;

  /* Validation as clientcmd's validateAuthInfo. */
  where (f, e->item, w, sizeof w);
  if ((cfg->token || cfg->token_file) && (cfg->username || cfg->password))
    return err_set (err, KUBE_E_CONFIG,
                    "%s: more than one authentication method found for user \"%s\"; found [token basicAuth], only one is allowed",
                    w, e->name);
  bool has_cert = cfg->client_cert_file || cfg->client_cert.len;
  bool has_key = cfg->client_key_file || cfg->client_key.len;
  if (cfg->client_cert_file && cfg->client_cert.len)
    return err_set (err, KUBE_E_CONFIG, "%s: client-certificate-data and client-certificate are both specified for user \"%s\"; keep one", w, e->name);
  if (cfg->client_key_file && cfg->client_key.len)
    return err_set (err, KUBE_E_CONFIG, "%s: client-key-data and client-key are both specified for user \"%s\"; keep one", w, e->name);
  if (has_cert && !has_key)
    return err_set (err, KUBE_E_CONFIG, "%s: client-key-data or client-key must be specified for user \"%s\" to use the clientCert authentication method", w, e->name);
  if (has_key && !has_cert)
    return err_set (err, KUBE_E_CONFIG, "%s: client-certificate-data or client-certificate must be specified for user \"%s\" to use the client key", w, e->name);
  if (cfg->client_cert_file
      && read_blob (cfg->client_cert_file, "client-cert", "user", e->name, &cfg->client_cert, err))
    return -1;
  if (cfg->client_key_file) {
    if (read_blob (cfg->client_key_file, "client-key", "user", e->name, &cfg->client_key, err))
      return -1;
    log_add_secret ((const char *) cfg->client_key.data);
  }
  else if (cfg->client_key.len)
    log_add_secret ((const char *) cfg->client_key.data);
  if (cfg->token_file && access (cfg->token_file, R_OK) != 0)
    return err_set (err, KUBE_E_CONFIG, "%s: tokenFile %s for user \"%s\": %s", w,
                    cfg->token_file, e->name, strerror (errno));
  if (cfg->username && cfg->password) {
    char *up = xasprintf ("%s:%s", cfg->username, cfg->password);
    char *b = base64_encode (up, strlen (up), NULL);
    log_add_secret (b);
    free (b);
    free (up);
  }
  return 0;
}

/* Possible when both variables are set, as rest.InClusterConfig requires. */
static bool
in_cluster_possible (void)
{
  const char *h = getenv ("KUBERNETES_SERVICE_HOST"), *p = getenv ("KUBERNETES_SERVICE_PORT");
  return h && *h && p && *p;
}

int
kube_config_load (const struct kube_config_opts *opts, struct kube_config **out,
                  struct rm_error *err)
{
  static const struct kube_config_opts none;
  if (!opts)
    opts = &none;
  *out = NULL;
  err_clear (err);

  struct merged m;
  memset (&m, 0, sizeof m);
  struct kube_config *cfg = NULL;
  int rc = KUBE_E_CONFIG;
  const char *env = getenv ("KUBECONFIG");

  if (opts->kubeconfig && *opts->kubeconfig) {
    if (load_one (&m, opts->kubeconfig, true, err))
      goto out;
  }
  else if (env && *env) {
    struct strlist files = STRLIST_INIT;
    strlist_push_split (&files, env, ':');
    for (size_t i = 0; i < files.n; i++) {
      bool dup = false;
      for (size_t k = 0; k < i; k++)
        dup |= strcmp (files.items[k], files.items[i]) == 0;
      if (!dup && load_one (&m, files.items[i], false, err)) {
        strlist_free (&files);
        goto out;
      }
    }
    strlist_free (&files);
  }
  else {
    char *home = home_dir ();
    if (home) {
      char *p = xasprintf ("%s/.kube/config", home);
      int r = load_one (&m, p, false, err);
      free (p);
      free (home);
      if (r)
        goto out;
    }
  }

  bool empty = m.clusters.n == 0 && m.users.n == 0 && m.contexts.n == 0;
  /* The context: --kubecontext, else HELM_KUBECONTEXT (Helm's, which the original tool
   * honoured through Helm's settings), else current-context.  An empty kubeconfig in a
   * pod still means in-cluster, as Helm's client does with no kubeconfig. */
  const char *ctxname = opts->context && *opts->context ? opts->context : NULL;
  const char *helm_ctx = getenv ("HELM_KUBECONTEXT");
  bool from_helm = false;
  if (!ctxname && helm_ctx && *helm_ctx && !(empty && in_cluster_possible ())) {
    ctxname = helm_ctx;
    from_helm = true;
  }
  if (!ctxname)
    ctxname = m.current_context;
  char *tried = joined (&m.tried, ", ");
  char *loaded_list;
  {
    struct strlist l = STRLIST_INIT;
    for (size_t i = 0; i < m.nfiles; i++)
      strlist_push (&l, m.files[i]->path);
    loaded_list = joined (&l, ":");
    strlist_free (&l);
  }

  /* Nothing usable in the files: kubectl falls back to the in-cluster configuration. */
  if (!ctxname && in_cluster_possible ()) {
    free (tried);
    free (loaded_list);
    free_merged (&m);
    return kube_config_in_cluster (opts->serviceaccount_dir, out, err);
  }
  if (!ctxname) {
    if (empty)
      err_set (err, KUBE_E_CONFIG,
               "no Kubernetes configuration: %s%s%s, and not running in a cluster "
               "(KUBERNETES_SERVICE_HOST is not set); pass --kubeconfig or set KUBECONFIG",
               m.tried.n ? "no kubeconfig found or it is empty (" : "no kubeconfig file given",
               tried, m.tried.n ? ")" : "");
    else {
      char *names = names_of (&m.contexts);
      err_set (err, KUBE_E_CONFIG, "kubeconfig %s has no current-context: choose one with --kubecontext%s%s%s",
               loaded_list, m.contexts.n ? " (contexts: " : "", names, m.contexts.n ? ")" : "");
      free (names);
    }
    free (tried);
    free (loaded_list);
    goto out;
  }
  free (tried);

  const struct entry *ctx = find (&m.contexts, ctxname);
  if (!ctx) {
    char *names = names_of (&m.contexts);
    err_set (err, KUBE_E_CONFIG, "context \"%s\"%s not found in kubeconfig %s%s%s%s", ctxname,
             from_helm ? " (from HELM_KUBECONTEXT)" : "",
             *loaded_list ? loaded_list : "(no file)", m.contexts.n ? " (contexts: " : "",
             names, m.contexts.n ? ")" : "");
    free (names);
    free (loaded_list);
    goto out;
  }
  cfg = xcalloc (1, sizeof *cfg);
  cfg->source = xasprintf ("kubeconfig %s, context \"%s\"", loaded_list, ctxname);
  free (loaded_list);
  cfg->context = xstrdup (ctxname);
  char what[300];
  snprintf (what, sizeof what, "contexts[%s].context", ctxname);
  char w[PATH_MAX + 32];
  where (ctx->file, ctx->item, w, sizeof w);
  if (get_string (ctx->file, ctx->body, "cluster", what, &cfg->cluster_name, err)
      || get_string (ctx->file, ctx->body, "user", what, &cfg->user_name, err)
      || get_string (ctx->file, ctx->body, "namespace", what, &cfg->namespace, err))
    goto out;
  if (!cfg->cluster_name) {
    err_set (err, KUBE_E_CONFIG, "%s: context \"%s\" names no cluster", w, ctxname);
    goto out;
  }
  const struct entry *cl = find (&m.clusters, cfg->cluster_name);
  if (!cl) {
    err_set (err, KUBE_E_CONFIG, "%s: cluster \"%s\" of context \"%s\" is not defined in the kubeconfig",
             w, cfg->cluster_name, ctxname);
    goto out;
  }
  const struct entry *us = NULL;
  if (cfg->user_name) {
    us = find (&m.users, cfg->user_name);
    if (!us) {
      err_set (err, KUBE_E_CONFIG, "%s: user \"%s\" of context \"%s\" is not defined in the kubeconfig",
               w, cfg->user_name, ctxname);
      goto out;
    }
  }
  if (load_cluster (cfg, cl, err))
    goto out;
  if (us && load_user (cfg, us, err))
    goto out;
  if (cfg->exec && !cfg->exec->command) {
    /* Only the cluster's exec extension was seen; no plugin configured. */
    free (cfg->exec->cluster_config);
    free (cfg->exec);
    cfg->exec = NULL;
  }
  log_debug ("using %s: cluster \"%s\" (%s), user \"%s\"", cfg->source, cfg->cluster_name,
             cfg->server, cfg->user_name ? cfg->user_name : "");
  rc = KUBE_OK;
  *out = cfg;
  cfg = NULL;
out:
  kube_config_free (cfg);
  free_merged (&m);
  return rc;
}
