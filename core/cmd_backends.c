/* `releasemanager backends` lists the plugins found along the search path with their
 * options (never their secret values); `releasemanager backends check NAME` runs the
 * conformance suite against one of them. */
#include <config.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "conformance.h"
#include "base/log.h"

static const struct cli_option backends_options[] = {
  { "output", 'o', CLI_VALUE, "FORMAT", "text", "output format of the listing: text or json",
    CLI_NO_FILE | CLI_NO_ENV },
  { "list-keys", 0, CLI_VALUE, "N", "2600", "check: keys for the pagination test",
    CLI_NO_FILE | CLI_NO_ENV },
  { "big-size", 0, CLI_VALUE, "SIZE", "10MiB", "check: size of the large streamed object",
    CLI_NO_FILE | CLI_NO_ENV },
  { "threads", 0, CLI_VALUE, "N", "8", "check: parallel uploads when the backend allows",
    CLI_NO_FILE | CLI_NO_ENV },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
print_text (const struct plugin *p, bool shadowed)
{
  const struct rm_backend *d = &p->desc;
  char *caps = plugin_caps_string (d->caps);
  printf ("%s %s (ABI %u.%u)%s\n", d->name, d->version ? d->version : "(no version)",
          (unsigned) d->abi_major, (unsigned) d->abi_minor,
          shadowed ? "  [shadowed by an earlier directory]" : "");
  printf ("  file: %s\n", p->path);
  if (d->description)
    printf ("  %s\n", d->description);
  printf ("  threads: %s; capabilities: %s\n", plugin_thread_model_name (d->thread_model), caps);
  free (caps);
  if (p->nkeys)
    printf ("  options:\n");
  for (size_t k = 0; k < p->nkeys; k++) {
    const struct rm_config_key *key = &p->keys[k];
    char left[128];
    snprintf (left, sizeof left, "%s (%s)", key->name, plugin_key_type_name (key->type));
    printf ("    %-32s %s", left, key->help);
    if (key->flags & RM_KEY_REQUIRED)
      printf (" [required]");
    if (key->default_value && !(key->flags & RM_KEY_SECRET))
      printf (" [default: %s]", key->default_value);
    if (key->flags & RM_KEY_SECRET)
      printf (" [secret]");
    if (key->aliases)
      printf (" [also: --%s]", key->aliases);
    printf ("\n");
  }
}

static cJSON *
plugin_json (const struct plugin *p, bool shadowed)
{
  const struct rm_backend *d = &p->desc;
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "name", d->name);
  cJSON_AddStringToObject (o, "version", d->version ? d->version : "");
  char abi[32];
  snprintf (abi, sizeof abi, "%u.%u", (unsigned) d->abi_major, (unsigned) d->abi_minor);
  cJSON_AddStringToObject (o, "abi", abi);
  cJSON_AddStringToObject (o, "file", p->path);
  cJSON_AddStringToObject (o, "description", d->description ? d->description : "");
  cJSON_AddStringToObject (o, "threads", plugin_thread_model_name (d->thread_model));
  char *caps = plugin_caps_string (d->caps);
  cJSON_AddStringToObject (o, "capabilities", caps);
  free (caps);
  cJSON_AddBoolToObject (o, "shadowed", shadowed);
  cJSON *opts = cJSON_AddArrayToObject (o, "options");
  for (size_t k = 0; k < p->nkeys; k++) {
    const struct rm_config_key *key = &p->keys[k];
    cJSON *ko = cJSON_CreateObject ();
    cJSON_AddStringToObject (ko, "name", key->name);
    cJSON_AddStringToObject (ko, "type", plugin_key_type_name (key->type));
    cJSON_AddStringToObject (ko, "help", key->help);
    cJSON_AddBoolToObject (ko, "required", (key->flags & RM_KEY_REQUIRED) != 0);
    cJSON_AddBoolToObject (ko, "secret", (key->flags & RM_KEY_SECRET) != 0);
    if (key->default_value && !(key->flags & RM_KEY_SECRET))
      cJSON_AddStringToObject (ko, "default", key->default_value);
    if (key->aliases)
      cJSON_AddStringToObject (ko, "aliases", key->aliases);
    cJSON_AddItemToArray (opts, ko);
  }
  return o;
}

static int
list_backends (struct cli *c)
{
  if (c->pending.n) {
    log_error ("unknown option '--%s' (see releasemanager backends --help)", c->pending.items[0].key);
    return EXIT_USAGE;
  }
  const char *format = cli_get (c, "output");
  bool json = strcmp (format, "json") == 0;
  if (!json && strcmp (format, "text") != 0) {
    log_error ("--output: '%s' is not a format (use text or json)", format);
    return EXIT_USAGE;
  }
  struct strlist dirs = STRLIST_INIT, seen = STRLIST_INIT;
  cli_plugin_dirs (c, &dirs);
  cJSON *arr = cJSON_CreateArray ();
  int broken = 0, found = 0;
  for (size_t i = 0; i < dirs.n; i++) {
    DIR *d = opendir (dirs.items[i]);
    if (!d) {
      log_info ("plugin directory %s: not readable, skipped", dirs.items[i]);
      continue;
    }
    struct strlist files = STRLIST_INIT;
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
      if (str_has_suffix (e->d_name, ".so") && e->d_name[0] != '.')
        strlist_push (&files, e->d_name);
    closedir (d);
    if (files.n)
      qsort (files.items, files.n, sizeof *files.items, cmp_str);
    for (size_t f = 0; f < files.n; f++) {
      char *path = xasprintf ("%s/%s", dirs.items[i], files.items[f]);
      struct rm_error err;
      struct plugin *p = plugin_load (path, NULL, &err);
      if (!p && err.code == PLUGIN_E_ABI) {
        /* Not broken: meant for a releasemanager of another ABI major, which keeps its
         * plugins in its own directory (the default one names the major), so both can be
         * installed during a transition.  Say so, and keep listing. */
        log_warn ("skipped %s.  Each ABI major has its own plugin directory (this "
                  "releasemanager's: %s), and its Debian packages depend on "
                  "releasemanager-backend-abi-N, so two majors install side by side",
                  err.message, PLUGINDIR);
      }
      else if (!p) {
        log_error ("%s", err.message);
        broken++;
      }
      else {
        bool shadowed = strlist_contains (&seen, p->desc.name);
        strlist_push (&seen, p->desc.name);
        if (json)
          cJSON_AddItemToArray (arr, plugin_json (p, shadowed));
        else {
          if (found)
            printf ("\n");
          print_text (p, shadowed);
        }
        found++;
        plugin_unload (p);
      }
      free (path);
    }
    strlist_free (&files);
  }
  if (json) {
    char *s = cJSON_PrintUnformatted (arr);
    printf ("%s\n", s);
    free (s);
  }
  else if (!found) {
    printf ("no backends found; searched: ");
    for (size_t i = 0; i < dirs.n; i++)
      printf ("%s%s", i ? ", " : "", dirs.items[i]);
    printf ("\n");
  }
  cJSON_Delete (arr);
  strlist_free (&dirs);
  strlist_free (&seen);
  return broken ? EXIT_ERROR : EXIT_OK;
}

static int
check_backend (struct cli *c)
{
  if (c->positional.n != 2) {
    log_error ("usage: releasemanager backends check NAME [--path P] [--backend-opt K=V]... "
               "[--KEY VALUE]...");
    return EXIT_USAGE;
  }
  /* `backends check NAME`: NAME is the second operand. */
  struct cli sub = *c;
  struct strlist pos = STRLIST_INIT;
  strlist_push (&pos, c->positional.items[1]);
  sub.positional = pos;
  struct conformance_opts o = { 2600, 10u << 20, 8, stdout };
  char *v;
  struct rm_error err;
  backend_normalize_value (RM_KEY_INT, cli_get (c, "list-keys"), &v, &err);
  if (!v || atoll (v) < 0 || atoll (v) > 1000000) {
    log_error ("--list-keys: '%s' is not a number from 0 to 1000000", cli_get (c, "list-keys"));
    free (v);
    strlist_free (&pos);
    return EXIT_USAGE;
  }
  o.list_keys = (unsigned) atoll (v);
  free (v);
  if (backend_normalize_value (RM_KEY_SIZE, cli_get (c, "big-size"), &v, &err) != RM_OK) {
    log_error ("--big-size: '%s' is %s", cli_get (c, "big-size"), err.message);
    strlist_free (&pos);
    return EXIT_USAGE;
  }
  o.big_size = (size_t) strtoull (v, NULL, 10);
  free (v);
  backend_normalize_value (RM_KEY_INT, cli_get (c, "threads"), &v, &err);
  if (!v || atoll (v) < 1 || atoll (v) > 256) {
    log_error ("--threads: '%s' is not a number from 1 to 256", cli_get (c, "threads"));
    free (v);
    strlist_free (&pos);
    return EXIT_USAGE;
  }
  o.threads = (unsigned) atoll (v);
  free (v);

  struct backend *b;
  int rc = cli_open_backend (&sub, true, RM_OPEN_BARRIER, &b, &err);
  strlist_free (&pos);
  if (rc != RM_OK) {
    /* The report is TAP: a consumer reading standard output learns why there is none. */
    printf ("Bail out! %s\n", err.message);
    fflush (stdout);
    log_error ("%s", err.message);
    return rc == CLI_E_USAGE ? EXIT_USAGE : EXIT_ERROR;
  }
  int failed = conformance_run (b, &o);
  backend_close (b);
  return failed ? EXIT_ERROR : EXIT_OK;
}

static int
run_backends (struct cmd_ctx *x)
{
  struct cli *c = x->cli;
  if (c->positional.n == 0)
    return list_backends (c);
  if (strcmp (c->positional.items[0], "check") == 0)
    return check_backend (c);
  if (strcmp (c->positional.items[0], "list") == 0 && c->positional.n == 1)
    return list_backends (c);
  log_error ("backends: unknown operand '%s' (use `backends` or `backends check NAME`)",
             c->positional.items[0]);
  return EXIT_USAGE;
}

const struct command cmd_backends = {
  "backends",
  "list the backend plugins found, or check one for conformance",
  "[check NAME [BACKEND OPTIONS]]",
  "Without operands, lists every backend plugin found along the plugin search path: name,\n"
  "version, ABI, file, capabilities and options (secret values are never shown).\n"
  "`backends check NAME` runs the conformance suite against backend NAME, configured like\n"
  "any command (--path, --backend-opt KEY=VALUE, --KEY VALUE, environment, config file):\n"
  "round trips, listing and pagination, deletion, not-found codes, conditional writes,\n"
  "unusual and invalid keys, failed uploads, the sync barrier (ABI 1.1), and that a\n"
  "read-only open of a new store creates nothing.  It writes under a random prefix and\n"
  "removes everything it wrote.  The report is TAP on standard output (`Bail out!` and\n"
  "the reason when the backend cannot be opened).  Exit status 0 when every check passes.",
  backends_options,
  0,
  CMD_ANY_OPERANDS,
  NULL,
  NULL,
  run_backends,
  NULL,
};
