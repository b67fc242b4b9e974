/* --update-values: changing values means rendering the chart again, which needs Helm's
 * template engine, so this runs a `helm` binary from PATH.  The chart is rebuilt from the
 * release record (Chart.yaml from chart.metadata, values.yaml, values.schema.json,
 * templates and files) in a temporary directory and the restored release is upgraded
 * with its stored user values plus the updates.  Helm does not store subcharts in a
 * release, so a chart with dependencies cannot be rebuilt: that is refused, never
 * rendered without its subcharts. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

/* Typed like helm --set: integers, true/false, null; anything else a string. */
static cJSON *
typed (const char *v)
{
  if (strcmp (v, "true") == 0)
    return cJSON_CreateTrue ();
  if (strcmp (v, "false") == 0)
    return cJSON_CreateFalse ();
  if (strcmp (v, "null") == 0)
    return cJSON_CreateNull ();
  char *end;
  errno = 0;
  long long n = strtoll (v, &end, 10);
  if (*v && !*end && !errno && (v[0] != '0' || !v[1]))
    return cJSON_CreateNumber ((double) n);
  return cJSON_CreateString (v);
}

int
imp_set_value (cJSON *values, const char *assignment, struct rm_error *err)
{
  const char *eq = strchr (assignment, '=');
  if (!eq || eq == assignment)
    return err_set (err, RM_E_INVALID, "--update-values: '%s' is not KEY=VALUE (KEY may be "
                    "a.b.c)", assignment);
  char *key = strndup (assignment, (size_t) (eq - assignment));
  cJSON *at = values;
  char *save = NULL;
  char *part = strtok_r (key, ".", &save);
  while (part) {
    char *next = strtok_r (NULL, ".", &save);
    if (!next) {
      cJSON_DeleteItemFromObjectCaseSensitive (at, part);
      cJSON_AddItemToObject (at, part, typed (eq + 1));
      break;
    }
    cJSON *sub = cJSON_GetObjectItemCaseSensitive (at, part);
    if (!cJSON_IsObject (sub)) {
      cJSON_DeleteItemFromObjectCaseSensitive (at, part);
      sub = cJSON_AddObjectToObject (at, part);
    }
    at = sub;
    part = next;
  }
  free (key);
  return RM_OK;
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

int
imp_helm_upgrade (struct imp_run *r, const cJSON *release, const struct strlist *updates)
{
  struct rm_error verr;
  if (imp_chart_rebuildable (release, &verr) != RM_OK)
    return imp_fail (r, "--update-values: %s", verr.message);
  if (!r->s->helm_bin)
    return imp_fail (r, "--update-values needs a helm binary on PATH to re-render the chart");
  cJSON *values = cJSON_Duplicate (cJSON_GetObjectItemCaseSensitive (release, "config"), true);
  if (!cJSON_IsObject (values)) {
    cJSON_Delete (values);
    values = cJSON_CreateObject ();
  }
  for (size_t i = 0; i < updates->n; i++)
    if (imp_set_value (values, updates->items[i], &verr) != RM_OK) {
      cJSON_Delete (values);
      return imp_fail (r, "%s", verr.message);
    }
  if (r->s->dry) {
    char *v = cJSON_PrintUnformatted (values);
    imp_plan (r, "  helm upgrade %s (chart rebuilt from the record) -n %s with values %s\n",
              r->name, r->ns, v);
    free (v);
    cJSON_Delete (values);
    return 0;
  }
  const char *tmp = getenv ("TMPDIR");
  char *dir = xasprintf ("%s/releasemanager-chart-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int rc = -1;
  if (!mkdtemp (dir)) {
    imp_fail (r, "--update-values: cannot create a temporary directory: %s", strerror (errno));
    free (dir);
    cJSON_Delete (values);
    return -1;
  }
  const cJSON *chart = cJSON_GetObjectItemCaseSensitive (release, "chart");
  const cJSON *schema = cJSON_GetObjectItemCaseSensitive (chart, "schema");
  char *cdir = xasprintf ("%s/chart", dir);
  mkdir (cdir, 0700);
  char *vfile = xasprintf ("%s/values.json", dir);
  char *out = xasprintf ("%s/helm.out", dir);
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
  {
    char timeout[32];
    snprintf (timeout, sizeof timeout, "%lds", r->s->timeout_s);
    const char *argv[24];
    int a = 0;
    argv[a++] = r->s->helm_bin;
    argv[a++] = "upgrade";
    argv[a++] = "--install";
    argv[a++] = r->name;
    argv[a++] = cdir;
    argv[a++] = "--namespace";
    argv[a++] = r->ns;
    argv[a++] = "-f";
    argv[a++] = vfile;
    argv[a++] = "--timeout";
    argv[a++] = timeout;
    if (r->s->wait)
      argv[a++] = "--wait";
    if (r->s->no_hooks)
      argv[a++] = "--no-hooks";
    if (r->s->kubeconfig) {
      argv[a++] = "--kubeconfig";
      argv[a++] = r->s->kubeconfig;
    }
    if (r->s->kubecontext) {
      argv[a++] = "--kube-context";
      argv[a++] = r->s->kubecontext;
    }
    argv[a] = NULL;
    /* The storage driver helm should use, for this child only. */
    struct strlist env = STRLIST_INIT;
    for (char **e = environ; *e; e++)
      if (!str_has_prefix (*e, "HELM_DRIVER="))
        strlist_push (&env, *e);
    strlist_push (&env, r->s->driver == HELM_DRIVER_CONFIGMAP ? "HELM_DRIVER=configmap"
                  : "HELM_DRIVER=secret");
    char **envp = xcalloc (env.n + 1, sizeof *envp);
    memcpy (envp, env.items, env.n * sizeof *envp);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2 (&fa, 1, 2);
    posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int err = posix_spawn (&pid, r->s->helm_bin, &fa, NULL, (char *const *) argv, envp);
    posix_spawn_file_actions_destroy (&fa);
    free (envp);
    strlist_free (&env);
    int status = 0;
    if (err) {
      imp_fail (r, "--update-values: running %s: %s", r->s->helm_bin, strerror (err));
      goto out;
    }
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
      char text[2048] = "";
      FILE *f = fopen (out, "r");
      if (f) {
        size_t n = fread (text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose (f);
      }
      text[strcspn (text, "\n")] = '\0';
      imp_fail (r, "--update-values: helm upgrade failed: %s", text);
      goto out;
    }
    log_info ("%s/%s: helm upgrade with the updated values done", r->ns, r->name);
    rc = 0;
  }
out:
  nftw (dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (cdir);
  free (vfile);
  free (out);
  free (dir);
  cJSON_Delete (values);
  return rc;
}
