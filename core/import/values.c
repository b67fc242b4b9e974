/* --update-values and --new-path.  The option is parsed as the original tool's flag
 * (pflag StringToString) and, as the original, changes only values a release already
 * has.  Changing values means rendering the chart again, which needs Helm's
 * template engine, so this runs a `helm` binary from PATH.  The chart is rebuilt from the
 * release record (Chart.yaml from chart.metadata, values.yaml, values.schema.json,
 * templates and files) in a temporary directory and the restored release is upgraded
 * with its stored user values plus the updates.  Helm does not store subcharts in a
 * release, so a chart with dependencies cannot be rebuilt: that is refused, never
 * rendered without its subcharts. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base64.h"
#include "import/import.h"
#include "base/log.h"

extern char **environ;

char *
imp_find_helm (void)
{
  const char *path = getenv ("PATH");
  struct strlist dirs = STRLIST_INIT;
  strlist_push_split (&dirs, path ? path : "/usr/bin:/bin", ':');
  char *found = NULL;
  for (size_t i = 0; i < dirs.n && !found; i++) {
    char *f = xasprintf ("%s/helm", dirs.items[i]);
    if (access (f, X_OK) == 0)
      found = f;
    else
      free (f);
  }
  strlist_free (&dirs);
  return found;
}

/* ---- --update-values: the original tool's StringToString flag ---- */

/* The first CSV record of text, as Go's encoding/csv reads it (the original's flag parser
 * does): fields split at ',', a field that starts with '"' quoted ("" inside is one '"'),
 * a '"' elsewhere an error.  Fields go to out; RM_OK or RM_E_INVALID with err filled. */
static int
csv_record (const char *text, struct strlist *out, struct rm_error *err)
{
  const char *p = text;
  struct strbuf f = STRBUF_INIT;
  for (;;) {
    f.len = 0;
    strbuf_add (&f, "", 0);
    if (*p == '"') {
      for (p++;; p++) {
        if (!*p) {
          strbuf_free (&f);
          return err_set (err, RM_E_INVALID, "--update-values: '%s': a quoted field has no "
                          "closing '\"'", text);
        }
        if (*p == '"' && p[1] == '"')
          p++;
        else if (*p == '"')
          break;
        strbuf_add (&f, p, 1);
      }
      p++;
      if (*p && *p != ',' && *p != '\n' && !(*p == '\r' && p[1] == '\n')) {
        strbuf_free (&f);
        return err_set (err, RM_E_INVALID, "--update-values: '%s': text after a quoted "
                        "field's closing '\"'", text);
      }
    }
    else {
      size_t n = strcspn (p, ",\n");
      if (n && p[n] == '\n' && p[n - 1] == '\r')
        n--;
      if (memchr (p, '"', n)) {
        strbuf_free (&f);
        return err_set (err, RM_E_INVALID, "--update-values: '%s': a '\"' inside a field "
                        "that does not start with one (quote the whole KEY=VALUE)", text);
      }
      strbuf_add (&f, p, n);
      p += n;
    }
    strlist_push (out, f.data);
    if (*p != ',')
      break;
    p++;
  }
  strbuf_free (&f);
  p += strspn (p, "\r\n");
  if (*p)
    return err_set (err, RM_E_INVALID, "--update-values: '%s': one line of KEY=VALUE pairs "
                    "expected, not several", text);
  return RM_OK;
}

int
imp_updates_add (struct strlist *updates, const char *text, struct rm_error *err)
{
  struct strlist pairs = STRLIST_INIT;
  size_t eqs = 0;
  for (const char *p = text; *p; p++)
    eqs += *p == '=';
  if (!*text)
    return RM_OK;
  if (eqs == 0)
    return err_set (err, RM_E_INVALID, "--update-values: '%s' must be formatted as KEY=VALUE",
                    text);
  if (eqs == 1) {
    /* One pair: the text after '=' is the value, commas and all (quotes trimmed at both
     * ends, as the original does). */
    size_t b = strspn (text, "\""), e = strlen (text);
    while (e > b && text[e - 1] == '"')
      e--;
    char *pair = strndup (text + b, e - b);
    strlist_push (&pairs, pair);
    free (pair);
  }
  else {
    int rc = csv_record (text, &pairs, err);
    if (rc != RM_OK) {
      strlist_free (&pairs);
      return rc;
    }
  }
  int rc = RM_OK;
  for (size_t i = 0; i < pairs.n && rc == RM_OK; i++) {
    rc = imp_updates_add_pair (updates, pairs.items[i], err);
    if (rc != RM_OK && !strchr (pairs.items[i], '='))
      err_set (err, rc, "--update-values: '%s' (in '%s') must be formatted as KEY=VALUE",
               pairs.items[i], text);
  }
  strlist_free (&pairs);
  return rc;
}

int
imp_updates_add_pair (struct strlist *updates, const char *pair, struct rm_error *err)
{
  const char *eq = strchr (pair, '=');
  if (!eq)
    return err_set (err, RM_E_INVALID, "--update-values: '%s' must be formatted as KEY=VALUE",
                    pair);
  if (eq == pair)
    return err_set (err, RM_E_INVALID, "--update-values: '%s' has no KEY before '='", pair);
  /* A later key wins: drop an earlier pair with the same key, keep the order. */
  size_t klen = (size_t) (eq - pair) + 1, w = 0;
  for (size_t j = 0; j < updates->n; j++)
    if (strncmp (updates->items[j], pair, klen) == 0)
      free (updates->items[j]);
    else
      updates->items[w++] = updates->items[j];
  updates->n = w;
  strlist_push (updates, pair);
  return RM_OK;
}

/* The new value in the type of the one it replaces when the text is one of that type
 * (true/false for a boolean, a number for a number), else a string, as the original
 * tool sets every value. */
static cJSON *
typed_like (const cJSON *old, const char *v)
{
  if (cJSON_IsBool (old) && (strcmp (v, "true") == 0 || strcmp (v, "false") == 0))
    return cJSON_CreateBool (strcmp (v, "true") == 0);
  if (cJSON_IsNumber (old) && *v && !isspace ((unsigned char) *v)) {
    char *end;
    errno = 0;
    double d = strtod (v, &end);
    if (!*end && !errno && isfinite (d))
      return cJSON_CreateNumber (d);
  }
  return cJSON_CreateString (v);
}

/* The object holding the existing value KEY of values (a literal top-level key first, as
 * the original, else a dotted path a.b.c through objects), and in *leaf the last part;
 * NULL when values has no such value. */
static cJSON *
find_value (cJSON *values, const char *key, const char **leaf)
{
  if (!cJSON_IsObject (values))
    return NULL;
  if (cJSON_GetObjectItemCaseSensitive (values, key)) {
    *leaf = key;
    return values;
  }
  cJSON *at = values;
  const char *part = key;
  for (const char *dot; (dot = strchr (part, '.'));) {
    char *name = strndup (part, (size_t) (dot - part));
    at = *name ? cJSON_GetObjectItemCaseSensitive (at, name) : NULL;
    free (name);
    if (!cJSON_IsObject (at))
      return NULL;
    part = dot + 1;
  }
  if (part == key || !*part || !cJSON_GetObjectItemCaseSensitive (at, part))
    return NULL;
  *leaf = part;
  return at;
}

static void
replace_value (cJSON *obj, const char *leaf, const char *v)
{
  cJSON *item = typed_like (cJSON_GetObjectItemCaseSensitive (obj, leaf), v);
  cJSON_ReplaceItemInObjectCaseSensitive (obj, leaf, item);
}

size_t
imp_update_values (cJSON *values, const struct strlist *updates, const char *who)
{
  size_t applied = 0;
  for (size_t i = 0; updates && i < updates->n; i++) {
    const char *eq = strchr (updates->items[i], '=');
    char *key = strndup (updates->items[i], (size_t) (eq - updates->items[i]));
    const char *leaf;
    cJSON *obj = find_value (values, key, &leaf);
    if (obj) {
      replace_value (obj, leaf, eq + 1);
      applied++;
    }
    else
      log_warn ("%s: value %s doesn't exist in the stored release, so refusing to update it",
                who, key);
    free (key);
  }
  return applied;
}

/* obj's string member key set to v, in its place when it exists. */
static void
set_string (cJSON *obj, const char *key, const char *v)
{
  if (cJSON_GetObjectItemCaseSensitive (obj, key))
    cJSON_ReplaceItemInObjectCaseSensitive (obj, key, cJSON_CreateString (v));
  else
    cJSON_AddStringToObject (obj, key, v);
}

size_t
imp_set_new_path (cJSON *values, const cJSON *defaults, const char *path)
{
  size_t set = 0;
  /* Ours: top-level "path". */
  if (cJSON_GetObjectItemCaseSensitive (values, "path")
      || cJSON_GetObjectItemCaseSensitive (defaults, "path")) {
    set_string (values, "path", path);
    set++;
  }
  /* The original tool's chart: backend.path. */
  cJSON *backend = cJSON_GetObjectItemCaseSensitive (values, "backend");
  const cJSON *dbackend = cJSON_GetObjectItemCaseSensitive (defaults, "backend");
  if ((cJSON_IsObject (backend) && cJSON_GetObjectItemCaseSensitive (backend, "path"))
      || (!backend && cJSON_IsObject (dbackend)
          && cJSON_GetObjectItemCaseSensitive (dbackend, "path"))) {
    if (!backend)
      backend = cJSON_AddObjectToObject (values, "backend");
    set_string (backend, "path", path);
    set++;
  }
  return set;
}

int
imp_chart_rebuildable (const cJSON *release, struct rm_error *err)
{
  const cJSON *chart = cJSON_GetObjectItemCaseSensitive (release, "chart");
  const cJSON *deps = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (chart, "metadata"), "dependencies");
  if (cJSON_GetArraySize (deps) > 0)
    return err_set (err, RM_E_UNSUPPORTED, "its chart has dependencies (subcharts), which Helm "
                    "does not store in the release, so it cannot be re-rendered from the "
                    "store: import it without --update-values, then run helm upgrade with the "
                    "original chart");
  return RM_OK;
}

static int
write_file (const char *dir, const char *name, const void *data, size_t len)
{
  if (strstr (name, "..") || name[0] == '/')
    return -1;
  char *path = xasprintf ("%s/%s", dir, name);
  for (char *p = path + strlen (dir) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir (path, 0700);
      *p = '/';
    }
  FILE *f = fopen (path, "wb");
  free (path);
  if (!f)
    return -1;
  bool ok = fwrite (data, 1, len, f) == len;
  return (fclose (f) == 0 && ok) ? 0 : -1;
}

static int
write_b64_list (const char *dir, const cJSON *list)
{
  const cJSON *f;
  cJSON_ArrayForEach (f, list) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive (f, "name");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive (f, "data");
    if (!cJSON_IsString (n) || !cJSON_IsString (d))
      continue;
    size_t len;
    unsigned char *raw = base64_decode (d->valuestring, strlen (d->valuestring), &len, NULL);
    int rc = raw ? write_file (dir, n->valuestring, raw, len) : -1;
    free (raw);
    if (rc < 0)
      return -1;
  }
  return 0;
}

static int
write_json (const char *dir, const char *name, const cJSON *v)
{
  char *text = v && !cJSON_IsNull (v) ? cJSON_Print (v) : xstrdup ("{}");
  int rc = write_file (dir, name, text, strlen (text));
  free (text);
  return rc;
}

static int
rm_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void) sb; (void) flag; (void) ftw;
  return remove (path);
}

static char *
read_all (const char *path)
{
  struct strbuf sb = STRBUF_INIT;
  if (strbuf_read_file (&sb, path) != 0) {
    int e = errno;
    strbuf_free (&sb);
    errno = e;
    return NULL;
  }
  return strbuf_detach (&sb);
}

/* The document of a helm template output starting at p ("---\n# Source: PATH\n"): its
 * path and body (caller frees both) and where the next one starts. */
static const char *
next_document (const char *p, char **path, char **body)
{
  *path = NULL;
  *body = NULL;
  while (str_has_prefix (p, "---\n"))
    p += 4;
  if (!*p)
    return NULL;
  const char *end = strstr (p, "\n---\n");
  size_t len = end ? (size_t) (end - p) + 1 : strlen (p);
  if (str_has_prefix (p, "# Source: ")) {
    const char *nl = memchr (p, '\n', len);
    size_t plen = nl ? (size_t) (nl - p) : len;
    *path = xasprintf ("%.*s", (int) (plen - 10), p + 10);
    p += nl ? plen + 1 : plen;
    len -= nl ? plen + 1 : plen;
  }
  /* helm prints each body followed by one newline of its own */
  size_t blen = len && p[len - 1] == '\n' ? len - 1 : len;
  *body = xasprintf ("%.*s", (int) blen, p);
  return p + len;
}

static cJSON *
split_list (const char *text)
{
  cJSON *a = cJSON_CreateArray ();
  struct strlist l = STRLIST_INIT;
  strlist_push_split (&l, text, ',');
  for (size_t i = 0; i < l.n; i++) {
    char *t = l.items[i];
    while (isspace ((unsigned char) *t))
      t++;
    size_t n = strlen (t);
    while (n && isspace ((unsigned char) t[n - 1]))
      t[--n] = '\0';
    if (*t)
      cJSON_AddItemToArray (a, cJSON_CreateString (t));
  }
  strlist_free (&l);
  return a;
}

/* helm template's output as a release's manifest (the documents that are not hooks, in
 * Helm's own "---\n# Source: PATH\nBODY\n" form) and hooks (Helm's release.Hook fields).
 * RM_OK, or a code with err filled (a document is not YAML). */
static int
split_rendered (const char *text, const char *what, char **manifest, cJSON **hooks,
                struct rm_error *err)
{
  struct strbuf m = STRBUF_INIT;
  *hooks = cJSON_CreateArray ();
  char *path, *body;
  for (const char *p = text; (p = next_document (p, &path, &body));) {
    struct imp_objects objs = { 0 };
    int rc = imp_split_manifest (body, path ? path : what, &objs, err);
    if (rc != RM_OK) {
      free (path);
      free (body);
      strbuf_free (&m);
      cJSON_Delete (*hooks);
      *hooks = NULL;
      return rc;
    }
    const cJSON *ann = objs.n ? cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (objs.v[0].obj, "metadata"), "annotations") : NULL;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive (ann, "helm.sh/hook");
    if (objs.n && cJSON_IsString (ev)) {
      cJSON *h = cJSON_CreateObject ();
      cJSON_AddStringToObject (h, "name", objs.v[0].name ? objs.v[0].name : "");
      cJSON_AddStringToObject (h, "kind", objs.v[0].kind ? objs.v[0].kind : "");
      cJSON_AddStringToObject (h, "path", path ? path : "");
      cJSON_AddStringToObject (h, "manifest", body);
      cJSON_AddItemToObject (h, "events", split_list (ev->valuestring));
      cJSON_AddItemToObject (h, "last_run", cJSON_CreateObject ());
      const cJSON *w = cJSON_GetObjectItemCaseSensitive (ann, "helm.sh/hook-weight");
      if (cJSON_IsString (w) && atoi (w->valuestring))
        cJSON_AddNumberToObject (h, "weight", atoi (w->valuestring));
      const cJSON *dp = cJSON_GetObjectItemCaseSensitive (ann, "helm.sh/hook-delete-policy");
      if (cJSON_IsString (dp))
        cJSON_AddItemToObject (h, "delete_policies", split_list (dp->valuestring));
      cJSON_AddItemToArray (*hooks, h);
    }
    else if (objs.n)
      strbuf_printf (&m, "---\n# Source: %s\n%s\n", path ? path : what, body);
    imp_objects_free (&objs);
    free (path);
    free (body);
  }
  *manifest = strbuf_detach (&m);
  return RM_OK;
}

/* Run argv (argv[0] a path) with HELM_DRIVER unset, stdout to out and stderr to errf.
 * 0, or -1 with r->error set. */
static int
run_helm (struct imp_run *r, const char *const *argv, const char *out, const char *errf)
{
  struct strlist env = STRLIST_INIT;
  for (char **e = environ; *e; e++)
    if (!str_has_prefix (*e, "HELM_DRIVER="))
      strlist_push (&env, *e);
  char **envp = xcalloc (env.n + 1, sizeof *envp);
  memcpy (envp, env.items, env.n * sizeof *envp);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen (&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  int err = posix_spawn (&pid, argv[0], &fa, NULL, (char *const *) argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  free (envp);
  strlist_free (&env);
  if (err)
    return imp_fail (r, "--update-values: running %s: %s", argv[0], strerror (err));
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
    char text[2048] = "";
    FILE *f = fopen (errf, "r");
    if (f) {
      size_t n = fread (text, 1, sizeof text - 1, f);
      text[n] = '\0';
      fclose (f);
    }
    text[strcspn (text, "\n")] = '\0';
    return imp_fail (r, "--update-values: helm template failed: %s", text);
  }
  return 0;
}

int
imp_render_release (struct imp_run *r, const cJSON *release, const cJSON *values, int version,
                    cJSON **out_rel)
{
  *out_rel = NULL;
  struct rm_error verr;
  if (imp_chart_rebuildable (release, &verr) != RM_OK)
    return imp_fail (r, "--update-values: %s", verr.message);
  if (!r->s->helm_bin)
    return imp_fail (r, "--update-values needs a helm binary on PATH to re-render the chart");
  const char *tmp = getenv ("TMPDIR");
  char *dir = xasprintf ("%s/releasemanager-chart-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int rc = -1;
  if (!mkdtemp (dir)) {
    imp_fail (r, "--update-values: cannot create a temporary directory: %s", strerror (errno));
    free (dir);
    return -1;
  }
  const cJSON *chart = cJSON_GetObjectItemCaseSensitive (release, "chart");
  const cJSON *schema = cJSON_GetObjectItemCaseSensitive (chart, "schema");
  char *cdir = xasprintf ("%s/chart", dir);
  mkdir (cdir, 0700);
  char *vfile = xasprintf ("%s/values.json", dir);
  char *out = xasprintf ("%s/helm.out", dir);
  char *errf = xasprintf ("%s/helm.err", dir);
  char *text = NULL, *manifest = NULL, *kube_version = NULL;
  cJSON *hooks = NULL;
  /* JSON is YAML: Chart.yaml and values.yaml are written as JSON. */
  if (write_json (cdir, "Chart.yaml", cJSON_GetObjectItemCaseSensitive (chart, "metadata")) < 0
      || write_json (cdir, "values.yaml", cJSON_GetObjectItemCaseSensitive (chart, "values")) < 0
      || write_b64_list (cdir, cJSON_GetObjectItemCaseSensitive (chart, "templates")) < 0
      || write_b64_list (cdir, cJSON_GetObjectItemCaseSensitive (chart, "files")) < 0
      || write_json (dir, "values.json", values) < 0) {
    imp_fail (r, "--update-values: cannot write the chart to %s", dir);
    goto out;
  }
  if (cJSON_IsString (schema)) {
    size_t len;
    unsigned char *raw = base64_decode (schema->valuestring, strlen (schema->valuestring), &len,
                                        NULL);
    if (raw)
      write_file (cdir, "values.schema.json", raw, len);
    free (raw);
  }
  /* Rendered as helm upgrade against the target cluster renders: with its version and
   * the API versions it serves (helm template's own are built in), read through the
   * discovery the conversion below reuses.  Helm adds --api-versions to its built-in
   * group versions; the kinds (group/version/Kind) are the cluster's alone. */
  struct rm_error err;
  struct strlist apis = STRLIST_INIT;
  int drc = imp_discovery_capabilities (r->s->disc, &kube_version, &apis, &err);
  if (drc != KUBE_OK) {
    strlist_free (&apis);
    imp_fail (r, "--update-values: reading the cluster's version and API versions for "
              "helm template: %s", err.message);
    goto out;
  }
  /* Rendered only: the objects and the records go through the import's own conversion,
   * preflight and apply like every other release (release.c), never through helm.  One
   * --api-versions per entry: a cluster with thousands of CRDs would make one
   * comma-separated argument longer than the kernel takes (128 KiB). */
  struct strlist args = STRLIST_INIT;
  const char *fixed[] = { r->s->helm_bin, "template", r->name, cdir, "--namespace", r->ns,
                          "-f", vfile, "--is-upgrade" };
  for (size_t i = 0; i < ARRAY_SIZE (fixed); i++)
    strlist_push (&args, fixed[i]);
  for (size_t i = 0; i < apis.n; i++) {
    char *a = xasprintf ("--api-versions=%s", apis.items[i]);
    strlist_push (&args, a);
    free (a);
  }
  if (*kube_version) {
    char *a = xasprintf ("--kube-version=%s", kube_version);
    strlist_push (&args, a);
    free (a);
  }
  else
    log_warn ("%s/%s: the cluster's /version names no gitVersion: helm template renders with "
              "its built-in Kubernetes version", r->ns, r->name);
  size_t napis = apis.n;
  strlist_free (&apis);
  const char **argv = xcalloc (args.n + 1, sizeof *argv);
  memcpy (argv, args.items, args.n * sizeof *argv);
  int hrc = run_helm (r, argv, out, errf);
  free (argv);
  strlist_free (&args);
  if (hrc < 0)
    goto out;
  if (!(text = read_all (out))) {
    imp_fail (r, "--update-values: reading helm's output %s: %s", out, strerror (errno));
    goto out;
  }
  if (split_rendered (text, "helm template", &manifest, &hooks, &err) != RM_OK) {
    imp_fail (r, "--update-values: helm template's output: %s", err.message);
    goto out;
  }
  /* What helm upgrade would store: the next revision, deployed, with the new values. */
  cJSON *rel = cJSON_Duplicate (release, true);
  const char *keys[] = { "namespace", "version", "config", "manifest", "hooks" };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    cJSON_DeleteItemFromObjectCaseSensitive (rel, keys[i]);
  cJSON_AddStringToObject (rel, "namespace", r->ns);
  cJSON_AddNumberToObject (rel, "version", version);
  cJSON_AddItemToObject (rel, "config", cJSON_Duplicate (values, true));
  cJSON_AddStringToObject (rel, "manifest", manifest);
  cJSON_AddItemToObject (rel, "hooks", hooks);
  hooks = NULL;
  cJSON *info = cJSON_GetObjectItemCaseSensitive (rel, "info");
  if (!cJSON_IsObject (info)) {
    cJSON_DeleteItemFromObjectCaseSensitive (rel, "info");
    info = cJSON_AddObjectToObject (rel, "info");
  }
  cJSON_DeleteItemFromObjectCaseSensitive (info, "status");
  cJSON_DeleteItemFromObjectCaseSensitive (info, "description");
  cJSON_AddStringToObject (info, "status", "deployed");
  cJSON_AddStringToObject (info, "description", "Upgrade complete");
  if (r->s->dry) {
    char *v = cJSON_PrintUnformatted (values);
    imp_plan (r, "  helm template %s (chart rebuilt from the record) -n %s with values %s: "
              "revision %d (Kubernetes %s, %zu API versions)\n", r->name, r->ns, v, version,
              *kube_version ? kube_version : "version unknown", napis);
    free (v);
  }
  else
    log_info ("%s/%s: rendered with the updated values as revision %d (Kubernetes %s, %zu "
              "API versions)", r->ns, r->name, version,
              *kube_version ? kube_version : "version unknown", napis);
  *out_rel = rel;
  rc = 0;
out:
  nftw (dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (text);
  free (manifest);
  free (kube_version);
  cJSON_Delete (hooks);
  free (cdir);
  free (vfile);
  free (out);
  free (errf);
  free (dir);
  return rc;
}
