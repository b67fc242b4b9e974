/* Parses the command line (long options may appear anywhere, as in the original tool),
 * resolves each setting by precedence (flags > RELEASEMANAGER_* environment > config
 * file > default), and turns the backend selection into an opened backend. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "base/log.h"

static const struct err_name cli_names[] = {
  { CLI_E_USAGE, "CLI_E_USAGE", "usage error" },
  { 0, NULL, NULL }
};
ERR_TABLE (cli_table, cli_names)

#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/releasemanager/backends-1"
#endif

static const struct cli_option *
find_opt (const struct cli_option *table, const char *name, char short_name)
{
  for (; table && table->name; table++)
    if ((name && strcmp (table->name, name) == 0) || (short_name && table->short_name == short_name))
      return table;
  return NULL;
}

const char *
cli_find_command (int argc, char **argv, const struct cli_option *global)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp (a, "--") == 0)
      return i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] == '-' && a[1] == '-') {
      const char *eq = strchr (a + 2, '=');
      char *name = eq ? strndup (a + 2, (size_t) (eq - a - 2)) : xstrdup (a + 2);
      const struct cli_option *o = find_opt (global, name, 0);
      free (name);
      if (o && o->arg != CLI_FLAG && !eq)
        i++;
      continue;
    }
    if (a[0] == '-' && a[1]) {
      const struct cli_option *o = find_opt (global, NULL, a[1]);
      if (o && o->arg != CLI_FLAG && !a[2])
        i++;
      continue;
    }
    return a;
  }
  return NULL;
}

static struct cli_value *
val_for (const struct cli *c, const char *name)
{
  for (size_t i = 0; i < c->nvals; i++)
    if (strcmp (c->vals[i].opt->name, name) == 0)
      return &c->vals[i];
  return NULL;
}

static void
add_table (struct cli *c, const struct cli_option *t)
{
  for (; t && t->name; t++) {
    c->vals = xrealloc (c->vals, (c->nvals + 1) * sizeof *c->vals);
    c->vals[c->nvals].opt = t;
    c->vals[c->nvals].values = (struct strlist) STRLIST_INIT;
    c->nvals++;
  }
}

/* "-5", "-0.5": an operand that starts with '-' but is a value, not an option. */
static bool
negative_number (const char *a)
{
  return a[0] == '-' && (isdigit ((unsigned char) a[1])
                         || (a[1] == '.' && isdigit ((unsigned char) a[2])));
}

int
cli_parse (struct cli *c, int argc, char **argv, const struct cli_option *global,
           const struct cli_option *command_opts, struct rm_error *err)
{
  add_table (c, global);
  add_table (c, command_opts);
  bool seen_command = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp (a, "--") == 0) {
      for (i++; i < argc; i++) {
        if (!seen_command) {
          c->command = argv[i];
          seen_command = true;
        }
        else
          strlist_push (&c->positional, argv[i]);
      }
      break;
    }
    const struct cli_option *o = NULL;
    char *name = NULL;
    const char *value = NULL;
    if (a[0] == '-' && a[1] == '-') {
      const char *eq = strchr (a + 2, '=');
      name = eq ? strndup (a + 2, (size_t) (eq - a - 2)) : xstrdup (a + 2);
      value = eq ? eq + 1 : NULL;
      o = find_opt (command_opts, name, 0);
      if (!o)
        o = find_opt (global, name, 0);
      if (!o) {
        /* Not ours: perhaps a backend key.  It takes the next operand as its value
         * unless that looks like an option (a bare boolean); a negative number
         * ("--busy-timeout -5") is a value, never an option. */
        if (!value && i + 1 < argc && (argv[i + 1][0] != '-' || negative_number (argv[i + 1])))
          value = argv[++i];
        backend_opts_add (&c->pending, name, value ? value : "", value ? "command line" : "");
        free (name);
        continue;
      }
    }
    else if (a[0] == '-' && a[1]) {
      o = find_opt (command_opts, NULL, a[1]);
      if (!o)
        o = find_opt (global, NULL, a[1]);
      if (!o || a[2]) {
        err_set (err, CLI_E_USAGE, "unknown option '%s'", a);
        return CLI_E_USAGE;
      }
      name = xstrdup (o->name);
    }
    else {
      if (!seen_command) {
        c->command = a;
        seen_command = true;
      }
      else
        strlist_push (&c->positional, a);
      continue;
    }
    struct cli_value *v = val_for (c, o->name);
    if (o->arg == CLI_FLAG) {
      if (value) {
        char *norm;
        struct rm_error nerr;
        if (backend_normalize_value (RM_KEY_BOOL, value, &norm, &nerr) != RM_OK) {
          err_set (err, CLI_E_USAGE, "option --%s: '%s' is %s", o->name, value, nerr.message);
          free (name);
          return CLI_E_USAGE;
        }
        strlist_push (&v->values, norm);
        free (norm);
      }
      else
        strlist_push (&v->values, "true");
    }
    else {
      if (!value) {
        if (i + 1 >= argc) {
          err_set (err, CLI_E_USAGE, "option --%s needs a value (%s)", o->name,
                   o->metavar ? o->metavar : "VALUE");
          free (name);
          return CLI_E_USAGE;
        }
        value = argv[++i];
      }
      strlist_push (&v->values, value);
    }
    free (name);
  }
  return RM_OK;
}

static char *
env_name (const char *prefix, const char *name)
{
  char *e = xasprintf ("RELEASEMANAGER_%s%s", prefix, name);
  for (char *p = e; *p; p++)
    *p = *p == '-' ? '_' : (char) toupper ((unsigned char) *p);
  return e;
}

static const char *
env_value (const struct cli_option *o)
{
  if (o->flags & CLI_NO_ENV)
    return NULL;
  char *e = env_name ("", o->name);
  const char *v = secure_getenv (e);
  free (e);
  return v && *v ? v : NULL;
}

/* The original tool's configuration keys (viper's, so matched in any case) that are not
 * spelled like our options, and those it scopes to one command where ours would apply
 * to every command having the option (its `force` is import's; our export --force,
 * which replaces another cluster's snapshot, is never taken from a shared file). */
static const struct file_key {
  const char *key;
  const char *option;       /* NULL: a backend key (the original's s3 options) */
  const char *command;      /* NULL: every command having the option */
} file_keys[] = {
  { "dryRun", "dry-run", NULL },
  { "daemon", "daemon", "export" },
  { "pollingInterval", "polling-interval", "export" },
  { "releaseName", "release-name", "export" },   /* the manager's own release, never
                                                    import's filter */
  { "namespaces", "namespaces", "export" },
  { "createNamespace", "create-namespace", "import" },
  { "excludeNamespaces", "exclude-namespaces", "import" },
  { "force", "force", "import" },
  { "newPath", "new-path", "import" },
  { "releaseTimeout", "release-timeout", "import" },
  { "target", "target-namespace", "import" },
  { "valueUpdates", "update-values", "import" },
  { "accessKeyID", NULL, NULL },
  { "bucket", NULL, NULL },
  { "region", NULL, NULL },
  { "secretAccessKey", NULL, NULL },
  { "sessionToken", NULL, NULL },
};

static const struct cli_option *
find_opt_ci (const struct cli_option *table, const char *name)
{
  for (; table && table->name; table++)
    if (strcasecmp (table->name, name) == 0)
      return table;
  return NULL;
}

/* An option of this command (or a global one) spelled name, in any case. */
static struct cli_value *
val_for_ci (const struct cli *c, const char *name)
{
  for (size_t i = 0; i < c->nvals; i++)
    if (strcasecmp (c->vals[i].opt->name, name) == 0)
      return &c->vals[i];
  return NULL;
}

/* An option of any command spelled name, in any case; with from_file only one that
 * may be set in the configuration file. */
static const struct cli_option *
any_command_opt (const struct cli *c, const char *name, bool from_file)
{
  for (const struct cli_option *const *t = c->all_options; t && *t; t++) {
    const struct cli_option *o = find_opt_ci (*t, name);
    if (o && !(from_file && (o->flags & CLI_NO_FILE)))
      return o;
  }
  return NULL;
}

/* Add "FILE:LINE: what" to c->warnings; what is freed. */
static void
warn (struct cli *c, const struct config_entry *e, char *what)
{
  char *w = e->line ? xasprintf ("%s:%d: %s", c->file->path, e->line, what)
    : xasprintf ("%s: %s", c->file->path, what);
  /* A key given as a list warns once. */
  if (!strlist_contains (&c->warnings, w))
    strlist_push (&c->warnings, w);
  free (w);
  free (what);
}

/* Map one top-level entry to its option (e->key), or mark it ignored (another command's,
 * a backend's, unknown: then a warning).  RM_OK, or CLI_E_USAGE with err filled. */
static int
map_entry (struct cli *c, struct config_entry *e, struct rm_error *err)
{
  const struct file_key *fk = NULL;
  for (size_t i = 0; i < ARRAY_SIZE (file_keys) && !fk; i++)
    if (strcasecmp (e->given, file_keys[i].key) == 0)
      fk = &file_keys[i];
  const char *option = fk ? fk->option : e->given;
  if (fk && !fk->option) {
    e->ignored = true;
    e->backend_key = true;
    return RM_OK;
  }
  struct cli_value *cv = val_for_ci (c, option);
  if (fk && fk->command && (!c->command || strcmp (c->command, fk->command) != 0)) {
    if (cv && strcmp (e->given, option) == 0 && c->command && strcmp (e->value, "false") != 0)
      warn (c, e, xasprintf ("'%s' in the configuration file is an option of %s only (as in "
                             "the original tool); give it on the command line here", e->given,
                             fk->command));
    e->ignored = true;
    return RM_OK;
  }
  if (!cv || (cv->opt->flags & CLI_NO_FILE)) {
    e->ignored = true;
    const struct cli_option *other = any_command_opt (c, option, true);
    if (other)
      return RM_OK;   /* another command's option: only the commands having it use it */
    if (cv || any_command_opt (c, option, false))
      warn (c, e, xasprintf ("setting '%s' cannot be given in the configuration file (only on "
                             "the command line); ignored", e->given));
    else if (fk)
      warn (c, e, xasprintf ("setting '%s' (--%s) is not supported by this releasemanager; "
                             "ignored", e->given, option));
    else
      warn (c, e, xasprintf ("unknown setting '%s' ignored", e->given));
    return RM_OK;
  }
  if (e->from_map && strcmp (cv->opt->name, "update-values") != 0) {
    return err_set (err, CLI_E_USAGE, "%s:%d: %s: expected a value or a list, found a mapping",
                    c->file->path, e->line, e->given);
  }
  free (e->key);
  e->key = xstrdup (cv->opt->name);
  return RM_OK;
}

int
cli_load_config (struct cli *c, struct rm_error *err)
{
  char *path = NULL;
  struct cli_value *v = val_for (c, "config");
  if (v && v->values.n)
    path = xstrdup (v->values.items[v->values.n - 1]);
  else if (secure_getenv ("RELEASEMANAGER_CONFIG") && *secure_getenv ("RELEASEMANAGER_CONFIG"))
    path = xstrdup (secure_getenv ("RELEASEMANAGER_CONFIG"));
  else
    path = config_default_path ();
  if (!path)
    return RM_OK;
  c->file = config_load (path, err);
  free (path);
  if (!c->file)
    return err->code;
  for (size_t i = 0; i < c->file->n; i++)
    if (map_entry (c, &c->file->entries[i], err) != RM_OK)
      return err->code;
  for (size_t i = 0; i < c->file->n; i++) {
    const struct config_entry *e = &c->file->entries[i];
    struct cli_value *cv = e->ignored ? NULL : val_for (c, e->key);
    if (!cv || cv->opt->arg == CLI_LIST)
      continue;
    /* A list given for a single-valued setting, or two spellings of one setting, is a
     * mistake worth naming. */
    for (size_t j = 0; j < c->file->n; j++) {
      const struct config_entry *o = &c->file->entries[j];
      if (j == i || o->ignored || strcmp (o->key, e->key) != 0)
        continue;
      if (strcmp (o->given, e->given) == 0)
        return err_set (err, CLI_E_USAGE, "%s:%d: '%s' takes one value, not a list",
                        c->file->path, e->line, e->given);
      return err_set (err, CLI_E_USAGE, "%s:%d: '%s' and '%s' (line %d) set the same option "
                      "--%s: keep one", c->file->path, e->line, e->given, o->given, o->line,
                      e->key);
    }
  }
  return RM_OK;
}

struct cli *
cli_reload (const struct cli *c, struct rm_error *err)
{
  struct cli *n = xcalloc (1, sizeof *n);
  n->command = c->command;
  n->all_options = c->all_options;
  n->require_path = c->require_path;
  for (size_t i = 0; i < c->positional.n; i++)
    strlist_push (&n->positional, c->positional.items[i]);
  n->vals = xcalloc (c->nvals ? c->nvals : 1, sizeof *n->vals);
  n->nvals = c->nvals;
  for (size_t i = 0; i < c->nvals; i++) {
    n->vals[i].opt = c->vals[i].opt;
    for (size_t j = 0; j < c->vals[i].values.n; j++)
      strlist_push (&n->vals[i].values, c->vals[i].values.items[j]);
  }
  if (cli_load_config (n, err) != RM_OK || cli_check_values (n, err) != RM_OK) {
    cli_free (n);
    free (n);
    return NULL;
  }
  return n;
}

const char *
cli_get (const struct cli *c, const char *name)
{
  struct cli_value *v = val_for (c, name);
  if (!v)
    return NULL;
  if (v->values.n)
    return v->values.items[v->values.n - 1];
  const char *e = env_value (v->opt);
  if (e)
    return e;
  if (!(v->opt->flags & CLI_NO_FILE)) {
    const struct config_entry *fe = config_get (c->file, name);
    if (fe)
      return fe->value;
  }
  return v->opt->def;
}

void
cli_get_list (const struct cli *c, const char *name, char sep, struct strlist *out)
{
  struct cli_value *v = val_for (c, name);
  if (!v)
    return;
  for (size_t i = 0; i < v->values.n; i++)
    strlist_push_split (out, v->values.items[i], sep);
  if (v->values.n)
    return;
  if (!env_value (v->opt) && !(v->opt->flags & CLI_NO_FILE) && config_get (c->file, name)) {
    /* Every value the file gives (a YAML list is one entry per item). */
    for (size_t i = 0; i < c->file->n; i++) {
      const struct config_entry *e = &c->file->entries[i];
      if (!e->ignored && strcmp (e->key, name) == 0)
        strlist_push_split (out, e->value, sep);
    }
    return;
  }
  const char *rest = cli_get (c, name);
  if (rest)
    strlist_push_split (out, rest, sep);
}

char *
cli_origin (const struct cli *c, const char *name)
{
  struct cli_value *v = val_for (c, name);
  if (!v)
    return xstrdup ("unknown");
  if (v->values.n)
    return xasprintf ("--%s", name);
  if (env_value (v->opt)) {
    char *e = env_name ("", name);
    char *r = xasprintf ("environment %s", e);
    free (e);
    return r;
  }
  const struct config_entry *fe = (v->opt->flags & CLI_NO_FILE) ? NULL : config_get (c->file, name);
  if (fe)
    return xasprintf ("%s:%d", c->file->path, fe->line);
  return xstrdup ("default");
}

bool
cli_flag (const struct cli *c, const char *name)
{
  const char *v = cli_get (c, name);
  char *norm = NULL;
  if (v)
    backend_normalize_value (RM_KEY_BOOL, v, &norm, NULL);
  bool r = norm && strcmp (norm, "true") == 0;
  free (norm);
  return r;
}

int
cli_check_values (const struct cli *c, struct rm_error *err)
{
  for (size_t i = 0; i < c->nvals; i++) {
    if (c->vals[i].opt->arg != CLI_FLAG)
      continue;
    const char *v = cli_get (c, c->vals[i].opt->name);
    char *norm = NULL;
    struct rm_error nerr;
    if (v && backend_normalize_value (RM_KEY_BOOL, v, &norm, &nerr) != RM_OK) {
      char *origin = cli_origin (c, c->vals[i].opt->name);
      err_set (err, CLI_E_USAGE, "%s: '%s' is %s", origin, v, nerr.message);
      free (origin);
      return CLI_E_USAGE;
    }
    free (norm);
  }
  return RM_OK;
}

void
cli_plugin_dirs (const struct cli *c, struct strlist *dirs)
{
  struct cli_value *v = val_for (c, "plugin-dir");
  for (size_t i = 0; v && i < v->values.n; i++)
    strlist_push_split (dirs, v->values.items[i], ':');
  /* secure_getenv: a setuid or setgid releasemanager never loads code named by the
   * environment. */
  const char *env = secure_getenv ("RELEASEMANAGER_PLUGIN_PATH");
  if (env)
    strlist_push_split (dirs, env, ':');
  for (size_t i = 0; c->file && i < c->file->n; i++)
    if (strcmp (c->file->entries[i].key, "plugin-dir") == 0) {
      const char *d = c->file->entries[i].value;
      if (d[0] == '/' || !strrchr (c->file->path, '/'))
        strlist_push (dirs, d);
      else {
        /* Relative to the configuration file's directory. */
        const char *slash = strrchr (c->file->path, '/');
        char *p = xasprintf ("%.*s/%s", (int) (slash - c->file->path), c->file->path, d);
        strlist_push (dirs, p);
        free (p);
      }
    }
  strlist_push (dirs, PLUGINDIR);
}

const char *
cli_backend_name (const struct cli *c, bool positional_ok, struct rm_error *err)
{
  const char *flag = cli_get (c, "backend");
  if (positional_ok && c->positional.n) {
    const char *pos = c->positional.items[0];
    struct cli_value *v = val_for (c, "backend");
    if (v && v->values.n && strcmp (v->values.items[v->values.n - 1], pos) != 0) {
      err_set (err, CLI_E_USAGE, "two backends given: '%s' (operand) and --backend=%s: choose one",
               pos, v->values.items[v->values.n - 1]);
      return NULL;
    }
    return pos;
  }
  if (!flag || !*flag) {
    err_set (err, CLI_E_USAGE, "no backend selected: give --backend=NAME or NAME after the "
             "command (`releasemanager backends` lists them)");
    return NULL;
  }
  return flag;
}

/* Plugin p's key spelled name or one of its aliases, in any case (viper's keys). */
static const struct rm_config_key *
key_ci (const struct plugin *p, const char *name)
{
  for (size_t i = 0; i < p->nkeys; i++) {
    const struct rm_config_key *k = &p->keys[i];
    if (strcasecmp (k->name, name) == 0)
      return k;
    struct strlist al = STRLIST_INIT;
    if (k->aliases)
      strlist_push_split (&al, k->aliases, ',');
    bool hit = false;
    for (size_t j = 0; j < al.n && !hit; j++)
      hit = strcasecmp (al.items[j], name) == 0;
    strlist_free (&al);
    if (hit)
      return k;
  }
  return NULL;
}

int
cli_backend_opts (const struct cli *c, const struct plugin *p, struct backend_opts *out,
                  struct rm_error *err)
{
  const char *name = p->desc.name;
  /* 1. Command line: --KEY VALUE, --backend-opt KEY=VALUE, and --path for plugins that
   *    take it.  Each list is walked from its end: the last value given wins, as for
   *    every other option. */
  for (size_t r = c->pending.n; r > 0; r--) {
    size_t i = r - 1;
    const struct backend_opt *po = &c->pending.items[i];
    const struct rm_config_key *k = plugin_key (p, po->key);
    if (!k) {
      return err_set (err, CLI_E_USAGE, "unknown option '--%s' (not an option of "
                      "releasemanager, this command or backend '%s'; see --help and "
                      "`releasemanager backends`)", po->key, name);
    }
    const char *value = po->value;
    if (!po->origin[0]) {   /* given without a value */
      if (k->type != RM_KEY_BOOL) {
        return err_set (err, CLI_E_USAGE, "option --%s of backend '%s' needs a value", po->key,
                        name);
      }
      value = "true";
    }
    char *origin = xasprintf ("--%s", po->key);
    backend_opts_add (out, k->name, value, origin);
    free (origin);
  }
  struct cli_value *bo = val_for (c, "backend-opt");
  for (size_t r = bo ? bo->values.n : 0; r > 0; r--) {
    size_t i = r - 1;
    const char *kv = bo->values.items[i];
    const char *eq = strchr (kv, '=');
    if (!eq || eq == kv) {
      err_set (err, CLI_E_USAGE, "--backend-opt '%s': expected KEY=VALUE", kv);
      return CLI_E_USAGE;
    }
    char *key = strndup (kv, (size_t) (eq - kv));
    backend_opts_add (out, key, eq + 1, "--backend-opt");
    free (key);
  }
  struct cli_value *pv = val_for (c, "path");
  if (p->has_path_key && pv && pv->values.n)
    backend_opts_add (out, RM_PATH_KEY, pv->values.items[pv->values.n - 1], "--path");
  /* 2. Environment: RELEASEMANAGER_<BACKEND>_<KEY>, and RELEASEMANAGER_PATH. */
  char *bprefix = xasprintf ("%s_", name);
  for (size_t k = 0; k < p->nkeys; k++) {
    char *e = env_name (bprefix, p->keys[k].name);
    const char *v = secure_getenv (e);
    if (v && *v) {
      char *origin = xasprintf ("environment %s", e);
      backend_opts_add (out, p->keys[k].name, v, origin);
      free (origin);
    }
    free (e);
  }
  free (bprefix);
  if (p->has_path_key && pv && !pv->values.n && env_value (pv->opt))
    backend_opts_add (out, RM_PATH_KEY, env_value (pv->opt), "environment RELEASEMANAGER_PATH");
  /* 3. Configuration file: backends.NAME.KEY, and path. */
  const struct config_section *s = config_backend (c->file, name);
  for (size_t i = 0; s && i < s->n; i++) {
    char *origin = xasprintf ("%s:%d", c->file->path, s->entries[i].line);
    backend_opts_add (out, s->entries[i].key, s->entries[i].value, origin);
    free (origin);
  }
  const struct config_entry *fp = config_get (c->file, "path");
  if (p->has_path_key && fp) {
    char *origin = xasprintf ("%s:%d", c->file->path, fp->line);
    backend_opts_add (out, RM_PATH_KEY, fp->value, origin);
    free (origin);
  }
  /* The original tool's backend keys at the top level (bucket:, accessKeyID:), for the
   * backend that declares them; backends.NAME.KEY above wins. */
  for (size_t i = 0; c->file && i < c->file->n; i++) {
    const struct config_entry *e = &c->file->entries[i];
    const struct rm_config_key *k = e->backend_key ? key_ci (p, e->given) : NULL;
    if (k) {
      char *origin = xasprintf ("%s:%d", c->file->path, e->line);
      backend_opts_add (out, k->name, e->value, origin);
      free (origin);
    }
  }
  return RM_OK;
}

int
cli_open_backend (struct cli *c, bool positional_ok, unsigned open_flags,
                  struct backend **out, struct rm_error *err)
{
  *out = NULL;
  const char *name = cli_backend_name (c, positional_ok, err);
  if (!name)
    return err->code;
  struct strlist dirs = STRLIST_INIT;
  cli_plugin_dirs (c, &dirs);
  struct plugin *p = plugin_find (name, &dirs, err);
  strlist_free (&dirs);
  if (!p)
    return err->code;
  struct backend_opts opts = { NULL, 0 };
  struct rm_kv *config = NULL;
  if (cli_backend_opts (c, p, &opts, err) == RM_OK) {
    config = backend_resolve_config (p, &opts, err);
    if (!config)
      err->code = CLI_E_USAGE;     /* the message says which option is at fault */
  }
  backend_opts_free (&opts);
  if (!config) {
    plugin_unload (p);
    return err->code;
  }
  for (struct rm_kv *kv = config; kv->key; kv++)
    if (!(plugin_key (p, kv->key)->flags & RM_KEY_SECRET))
      log_debug ("backend %s: %s = %s", p->desc.name, kv->key, kv->value ? kv->value : "(unset)");
    else
      log_debug ("backend %s: %s = %s", p->desc.name, kv->key, kv->value ? "***" : "(unset)");
  const char *prefix = p->has_path_key ? NULL : cli_get (c, "path");
  if (c->require_path && !p->has_path_key && (!prefix || !*prefix)) {
    /* As the original tool ("You must specify --path"): without it the store would be
     * written at the root of the bucket, mixed with whatever else lives there. */
    err_set (err, CLI_E_USAGE, "no --path given: backend '%s' keeps the store under a key "
             "prefix; give --path PREFIX (or RELEASEMANAGER_PATH, or path: in the "
             "configuration file)", p->desc.name);
    backend_config_free (config);
    plugin_unload (p);
    return CLI_E_USAGE;
  }
  *out = backend_open (p, config, prefix, open_flags, err);
  return *out ? RM_OK : err->code;
}

void
cli_print_options (FILE *f, const struct cli_option *t)
{
  for (; t && t->name; t++) {
    if (t->flags & CLI_HIDDEN)
      continue;
    char left[64];
    char shortpart[8] = "    ";
    if (t->short_name)
      snprintf (shortpart, sizeof shortpart, "-%c, ", t->short_name);
    if (t->arg == CLI_FLAG)
      snprintf (left, sizeof left, "%s--%s", shortpart, t->name);
    else
      snprintf (left, sizeof left, "%s--%s %s", shortpart, t->name,
                t->metavar ? t->metavar : "VALUE");
    fprintf (f, "  %-28s %s", left, t->help);
    if (t->def)
      fprintf (f, " (default %s)", t->def);
    if (t->arg == CLI_LIST)
      fputs (" (repeatable)", f);
    fputc ('\n', f);
  }
}

void
cli_free (struct cli *c)
{
  for (size_t i = 0; i < c->nvals; i++)
    strlist_free (&c->vals[i].values);
  free (c->vals);
  strlist_free (&c->positional);
  backend_opts_free (&c->pending);
  strlist_free (&c->warnings);
  config_free (c->file);
  memset (c, 0, sizeof *c);
}
