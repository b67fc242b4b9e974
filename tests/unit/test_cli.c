/* Command-line parsing, configuration file reading and setting precedence. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"

static const struct cli_option global[] = {
  { "config", 0, CLI_VALUE, "FILE", NULL, "config", CLI_NO_FILE },
  { "path", 0, CLI_VALUE, "PATH", NULL, "path", 0 },
  { "backend", 0, CLI_VALUE, "NAME", NULL, "backend", 0 },
  { "backend-opt", 0, CLI_LIST, "K=V", NULL, "opt", CLI_NO_ENV | CLI_NO_FILE },
  { "plugin-dir", 0, CLI_LIST, "DIR", NULL, "dir", CLI_NO_ENV },
  { "debug", 0, CLI_FLAG, NULL, NULL, "debug", 0 },
  { "verbose", 'v', CLI_FLAG, NULL, NULL, "verbose", 0 },
  { "log-format", 0, CLI_VALUE, "F", "text", "format", 0 },
  { "dry-run", 0, CLI_FLAG, NULL, NULL, "dry run", 0 },
  { "kubeconfig", 0, CLI_VALUE, "FILE", NULL, "kubeconfig", 0 },
  { "kubecontext", 0, CLI_VALUE, "NAME", NULL, "context", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

static char *
write_file (const char *text)
{
  char *path = xstrdup ("/tmp/rm-cfg-XXXXXX.yaml");
  int fd = mkstemps (path, 5);
  cr_assert (fd >= 0);
  cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
  return path;
}

static void
parse (struct cli *c, char *const *args, int ok)
{
  int argc = 0;
  while (args[argc])
    argc++;
  struct rm_error err;
  int rc = cli_parse (c, argc, (char **) args, global, NULL, &err);
  if (ok)
    cr_assert_eq (rc, RM_OK, "%s", err.message);
}

Test (cli, command_found_after_global_options_with_values)
{
  char *args[] = { "rm", "--path", "export", "-v", "backends", "check", NULL };
  cr_assert_str_eq (cli_find_command (6, args, global), "backends");
}

Test (cli, positional_backend_and_pending_keys)
{
  struct cli c = { 0 };
  char *args[] = { "rm", "export", "s3", "--bucket", "b1", "--accessKeyID=AK", "--insecure",
                   "--path", "prefix", "-v", NULL };
  parse (&c, args, 1);
  cr_assert_str_eq (c.command, "export");
  cr_assert_eq (c.positional.n, 1);
  cr_assert_str_eq (c.positional.items[0], "s3");
  cr_assert_eq (c.pending.n, 3);
  cr_assert_str_eq (c.pending.items[0].key, "bucket");
  cr_assert_str_eq (c.pending.items[0].value, "b1");
  cr_assert_str_eq (c.pending.items[1].key, "accessKeyID");
  cr_assert_str_eq (c.pending.items[1].value, "AK");
  cr_assert_str_eq (c.pending.items[2].key, "insecure");
  cr_assert_str_eq (c.pending.items[2].origin, "", "a bare option has no value");
  cr_assert_str_eq (cli_get (&c, "path"), "prefix");
  cr_assert (cli_flag (&c, "verbose"));
  cli_free (&c);
}

Test (cli, missing_value_and_bad_flag_value)
{
  struct cli c = { 0 };
  char *args[] = { "rm", "backends", "--path", NULL };
  struct rm_error err;
  cr_assert_eq (cli_parse (&c, 3, args, global, NULL, &err), CLI_E_USAGE);
  cr_assert_str_eq (err.message, "option --path needs a value (PATH)");
  cli_free (&c);
  struct cli c2 = { 0 };
  char *args2[] = { "rm", "backends", "--debug=perhaps", NULL };
  cr_assert_eq (cli_parse (&c2, 3, args2, global, NULL, &err), CLI_E_USAGE);
  cr_assert_str_eq (err.message, "option --debug: 'perhaps' is not a boolean (use true or false)");
  cli_free (&c2);
}

Test (cli, precedence_flag_env_file_default)
{
  char *file = write_file ("path: from-file\nlog-format: json\nverbose: true\n");
  struct cli c = { 0 };
  char *args[] = { "rm", "backends", "--config", file, NULL };
  parse (&c, args, 1);
  struct rm_error err;
  cr_assert_eq (cli_load_config (&c, &err), RM_OK, "%s", err.message);
  unsetenv ("RELEASEMANAGER_PATH");
  cr_assert_str_eq (cli_get (&c, "path"), "from-file");
  char *origin = cli_origin (&c, "path");
  char *want = xasprintf ("%s:1", file);
  cr_assert_str_eq (origin, want);
  free (origin);
  free (want);
  setenv ("RELEASEMANAGER_PATH", "from-env", 1);
  cr_assert_str_eq (cli_get (&c, "path"), "from-env");
  cr_assert_str_eq (cli_get (&c, "log-format"), "json");
  cr_assert (cli_flag (&c, "verbose"));
  cr_assert (!cli_flag (&c, "debug"));
  cli_free (&c);
  struct cli c2 = { 0 };
  char *args2[] = { "rm", "backends", "--config", file, "--path=from-flag", NULL };
  parse (&c2, args2, 1);
  cr_assert_eq (cli_load_config (&c2, &err), RM_OK, "%s", err.message);
  cr_assert_str_eq (cli_get (&c2, "path"), "from-flag");
  unsetenv ("RELEASEMANAGER_PATH");
  cr_assert_str_eq (cli_get (&c2, "log-format"), "json");
  cli_free (&c2);
  unlink (file);
  free (file);
}

static char *
config_error (const char *text)
{
  char *file = write_file (text);
  struct cli c = { 0 };
  char *args[] = { "rm", "backends", "--config", file, NULL };
  parse (&c, args, 1);
  struct rm_error err;
  cr_assert_neq (cli_load_config (&c, &err), RM_OK, "config should be refused: %s", text);
  cr_assert (err.code == CLI_E_USAGE || rm_primary (err.code) == RM_E_CONFIG, "%s: code %s",
             text, err_name (err.code));
  char *msg = xstrdup (err.message + strlen (file));   /* drop the file name */
  cli_free (&c);
  unlink (file);
  free (file);
  return msg;
}

Test (cli, config_file_errors_name_file_and_line)
{
  char *m = config_error ("path: [a, b]\n");
  cr_assert_str_eq (m, ":1: 'path' takes one value, not a list");
  free (m);
  m = config_error ("path: p\n  bad: indent\n");
  cr_assert (strncmp (m, ":2:", 3) == 0, "invalid YAML must name the line: %s", m);
  cr_assert_not_null (strstr (m, "invalid YAML"), "%s", m);
  free (m);
  m = config_error ("- just\n- a list\n");
  cr_assert_str_eq (m, ":1: the configuration must be a mapping of settings");
  free (m);
  m = config_error ("backends:\n  s3: notamap\n");
  cr_assert_str_eq (m, ":2: 'backends.s3' must be a mapping of option names to values");
  free (m);
}

Test (cli, config_backend_sections_and_plugin_dirs)
{
  char *file = write_file ("plugin-dir:\n  - /abs/one\n  - rel/two\nbackends:\n  local:\n"
                           "    fsync: false\n  s3:\n    bucket: b\n    region: eu-west-1\n");
  struct cli c = { 0 };
  char *args[] = { "rm", "backends", "--config", file, "--plugin-dir", "/flag/a:/flag/b", NULL };
  parse (&c, args, 1);
  struct rm_error err;
  cr_assert_eq (cli_load_config (&c, &err), RM_OK, "%s", err.message);
  const struct config_section *s3 = config_backend (c.file, "s3");
  cr_assert_not_null (s3);
  cr_assert_eq (s3->n, 2);
  cr_assert_str_eq (s3->entries[1].key, "region");
  cr_assert_eq (s3->entries[1].line, 9);
  setenv ("RELEASEMANAGER_PLUGIN_PATH", "/env/x", 1);
  struct strlist dirs = STRLIST_INIT;
  cli_plugin_dirs (&c, &dirs);
  unsetenv ("RELEASEMANAGER_PLUGIN_PATH");
  cr_assert_eq (dirs.n, 6);
  cr_assert_str_eq (dirs.items[0], "/flag/a");
  cr_assert_str_eq (dirs.items[1], "/flag/b");
  cr_assert_str_eq (dirs.items[2], "/env/x");
  cr_assert_str_eq (dirs.items[3], "/abs/one");
  char *rel = xasprintf ("/tmp/rel/two");
  cr_assert_str_eq (dirs.items[4], rel, "relative plugin-dir resolves against the file's dir");
  cr_assert_str_eq (dirs.items[5], PLUGINDIR);
  free (rel);
  strlist_free (&dirs);
  cli_free (&c);
  unlink (file);
  free (file);
}

Test (cli, repeated_values_as_a_list)
{
  struct cli c = { 0 };
  char *args[] = { "rm", "backends", "--path", "a,b", "--path=c", NULL };
  parse (&c, args, 1);
  struct strlist l = STRLIST_INIT;
  cli_get_list (&c, "path", ',', &l);
  cr_assert_eq (l.n, 3);
  cr_assert_str_eq (l.items[2], "c");
  strlist_free (&l);
  cr_assert_str_eq (cli_get (&c, "path"), "c", "a single-valued read takes the last");
  cli_free (&c);
  struct cli c2 = { 0 };
  char *args2[] = { "rm", "backends", NULL };
  parse (&c2, args2, 1);
  setenv ("RELEASEMANAGER_PATH", "x,y", 1);
  cli_get_list (&c2, "path", ',', &l);
  unsetenv ("RELEASEMANAGER_PATH");
  cr_assert_eq (l.n, 2, "from the environment when the command line has none");
  strlist_free (&l);
  cli_free (&c2);
}

/* A plugin's key table without a plugin file: what cli_backend_opts and
 * backend_resolve_config need (the loader is test_plugin's job). */
static const struct rm_config_key typed_keys[] = {
  { "busy_timeout", RM_KEY_INT, "1000", "ms", 0, NULL },
  { "flag", RM_KEY_BOOL, "false", "a switch", 0, NULL },
  { "size", RM_KEY_SIZE, "1MiB", "a size", 0, NULL },
  { "name", RM_KEY_STRING, NULL, "a name", 0, NULL },
  { "dir", RM_KEY_PATH, NULL, "a directory", 0, NULL },
  { "offset", RM_KEY_INT, "0", "another number", 0, NULL },
  { NULL, 0, NULL, NULL, 0, NULL },
};

static struct rm_kv *
resolve_typed (char *const *args, struct rm_error *err)
{
  struct plugin p = { 0 };
  p.desc.name = "typed";
  p.keys = (struct rm_config_key *) typed_keys;
  p.nkeys = ARRAY_SIZE (typed_keys) - 1;
  struct cli c = { 0 };
  parse (&c, args, 1);
  struct backend_opts opts = { NULL, 0 };
  struct rm_kv *kv = NULL;
  if (cli_backend_opts (&c, &p, &opts, err) == RM_OK)
    kv = backend_resolve_config (&p, &opts, err);
  backend_opts_free (&opts);
  cli_free (&c);
  return kv;
}

Test (cli, name_equals_value_for_every_key_type)
{
  char *args[] = { "rm", "list", "typed", "--busy-timeout=250", "--flag=yes", "--size=2MiB",
                   "--name=a=b", "--dir=/srv/x", NULL };
  struct rm_error err = { 0, "" };
  struct rm_kv *kv = resolve_typed (args, &err);
  cr_assert_not_null (kv, "%s", err.message);
  cr_expect_str_eq (rm_config_get (kv, "busy_timeout"), "250");
  cr_expect_str_eq (rm_config_get (kv, "flag"), "true");
  cr_expect_str_eq (rm_config_get (kv, "size"), "2097152");
  cr_expect_str_eq (rm_config_get (kv, "name"), "a=b", "only the first '=' separates");
  cr_expect_str_eq (rm_config_get (kv, "dir"), "/srv/x");
  backend_config_free (kv);
}

Test (cli, negative_number_is_a_value_not_an_option)
{
  struct cli c = { 0 };
  char *args[] = { "rm", "list", "typed", "--busy-timeout", "-5", "--offset=-7", "--flag",
                   "-v", "--name", "-0.5", NULL };
  parse (&c, args, 1);
  cr_assert_eq (c.pending.n, 4);
  cr_expect_str_eq (c.pending.items[0].value, "-5");
  cr_expect_str_eq (c.pending.items[1].value, "-7");
  cr_expect_str_eq (c.pending.items[2].origin, "", "--flag before -v is a bare boolean");
  cr_expect_str_eq (c.pending.items[3].value, "-0.5");
  cr_expect (cli_flag (&c, "verbose"), "-v stays an option");
  cr_expect_eq (c.positional.n, 1, "-5 is not an operand");
  cli_free (&c);

  struct rm_error err = { 0, "" };
  struct rm_kv *kv = resolve_typed (args, &err);
  cr_assert_not_null (kv, "%s", err.message);
  cr_expect_str_eq (rm_config_get (kv, "busy_timeout"), "-5");
  cr_expect_str_eq (rm_config_get (kv, "offset"), "-7");
  cr_expect_str_eq (rm_config_get (kv, "flag"), "true");
  backend_config_free (kv);

  char *bo[] = { "rm", "list", "typed", "--backend-opt", "busy_timeout=-5", NULL };
  kv = resolve_typed (bo, &err);
  cr_assert_not_null (kv, "%s", err.message);
  cr_expect_str_eq (rm_config_get (kv, "busy_timeout"), "-5");
  backend_config_free (kv);

  char *neg_size[] = { "rm", "list", "typed", "--size", "-1", NULL };
  cr_assert_null (resolve_typed (neg_size, &err));
  cr_expect_str_eq (err.message, "backend 'typed': option 'size' from --size: '-1' is not a "
                    "size (use e.g. 8388608, 8M or 8MiB)");
}

/* ---- the original tool's configuration file (issue 12) ---- */

/* Command tables shaped like the real ones (cmd_export.c, cmd_import.c), with the
 * original's options. */
static const struct cli_option export_t[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "ns", 0 },
  { "namespaces", 0, CLI_LIST, "NS", NULL, "ns", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS", NULL, "skip", 0 },
  { "release-name", 0, CLI_VALUE, "NAME", NULL, "self", 0 },
  { "daemon", 0, CLI_FLAG, NULL, NULL, "daemon", 0 },
  { "polling-interval", 'p', CLI_VALUE, "N", "30", "interval", 0 },
  { "threads", 0, CLI_VALUE, "N", "8", "threads", 0 },
  { "force", 0, CLI_FLAG, NULL, NULL, "other cluster", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};
static const struct cli_option import_t[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "ns", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS", NULL, "skip", 0 },
  { "release-name", 0, CLI_VALUE, "NAME", NULL, "filter", 0 },
  { "target-namespace", 0, CLI_VALUE, "NS", NULL, "target", 0 },
  { "create-namespace", 0, CLI_FLAG, NULL, NULL, "create", 0 },
  { "replace", 0, CLI_FLAG, NULL, NULL, "replace", 0 },
  { "wait", 0, CLI_FLAG, NULL, NULL, "wait", 0 },
  { "atomic", 0, CLI_FLAG, NULL, NULL, "atomic", 0 },
  { "release-timeout", 0, CLI_VALUE, "D", "300s", "timeout", 0 },
  { "threads", 0, CLI_VALUE, "N", "50", "threads", 0 },
  { "force", 0, CLI_FLAG, NULL, NULL, "force", 0 },
  { "new-path", 0, CLI_VALUE, "PATH", NULL, "new path", 0 },
  { "update-values", 0, CLI_LIST, "K=V", NULL, "values", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};
static const struct cli_option list_t[] = {
  { "output", 'o', CLI_VALUE, "F", "table", "format", CLI_NO_FILE | CLI_NO_ENV },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};
static const struct cli_option *const all_t[] = { export_t, import_t, list_t, NULL };

static char *
write_file_ext (const char *text, const char *ext)
{
  char *path = xasprintf ("/tmp/rm-cfg-XXXXXX%s", ext);
  int fd = mkstemps (path, (int) strlen (ext));
  cr_assert (fd >= 0);
  cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
  return path;
}

/* Parse argv for a command of all_t and load the file; RM_OK or the error. */
static int
load_for (struct cli *c, char *const *args, struct rm_error *err)
{
  int argc = 0;
  while (args[argc])
    argc++;
  const struct cli_option *cmd = strcmp (args[1], "export") == 0 ? export_t
    : strcmp (args[1], "import") == 0 ? import_t : list_t;
  cr_assert_eq (cli_parse (c, argc, (char **) args, global, cmd, err), RM_OK, "%s", err->message);
  c->all_options = all_t;
  return cli_load_config (c, err);
}

static void
clear_env (void)
{
  static const char *const vars[] = { "RELEASEMANAGER_PATH", "RELEASEMANAGER_DEBUG",
    "RELEASEMANAGER_DRY_RUN", "RELEASEMANAGER_VERBOSE", "RELEASEMANAGER_POLLING_INTERVAL",
    "RELEASEMANAGER_CONFIG", "RELEASEMANAGER_S3_BUCKET", "RELEASEMANAGER_S3_REGION", NULL };
  for (size_t i = 0; vars[i]; i++)
    unsetenv (vars[i]);
}

/* A key table like the s3 plugin's, for where the file's top-level s3 keys go. */
static const struct rm_config_key s3ish_keys[] = {
  { "bucket", RM_KEY_STRING, NULL, "bucket", RM_KEY_REQUIRED, NULL },
  { "region", RM_KEY_STRING, "us-east-1", "region", 0, NULL },
  { "access_key_id", RM_KEY_STRING, NULL, "ak", 0, "accessKeyID" },
  { "secret_access_key", RM_KEY_STRING, NULL, "sk", RM_KEY_SECRET, "secretAccessKey" },
  { "session_token", RM_KEY_STRING, NULL, "tok", RM_KEY_SECRET, "sessionToken" },
  { NULL, 0, NULL, NULL, 0, NULL },
};

static struct rm_kv *
s3ish_config (const struct cli *c, struct rm_error *err)
{
  struct plugin p = { 0 };
  p.desc.name = "s3";
  p.keys = (struct rm_config_key *) s3ish_keys;
  p.nkeys = ARRAY_SIZE (s3ish_keys) - 1;
  struct backend_opts opts = { NULL, 0 };
  struct rm_kv *kv = NULL;
  if (cli_backend_opts (c, &p, &opts, err) == RM_OK)
    kv = backend_resolve_config (&p, &opts, err);
  backend_opts_free (&opts);
  return kv;
}

/* The original chart's templates/configmap.yaml rendered for an s3 backend, exactly
 * (values.yaml's defaults, backend.path=X, s3.bucket=B), read for the chart's own
 * command line: export --config FILE --daemon s3 --release-name RELEASE. */
static void
check_chart_config (const char *file)
{
  clear_env ();
  struct cli c = { 0 };
  char *args[] = { "rm", "export", "--config", (char *) file, "--daemon", "s3",
                   "--release-name", "rm-release", NULL };
  struct rm_error err;
  cr_assert_eq (load_for (&c, args, &err), RM_OK, "%s", err.message);
  cr_assert_eq (cli_check_values (&c, &err), RM_OK, "%s", err.message);
  cr_expect_eq (c.warnings.n, 0, "no warning for the chart's file: %s",
                c.warnings.n ? c.warnings.items[0] : "");
  cr_expect (!cli_flag (&c, "debug"));
  cr_expect (!cli_flag (&c, "dry-run"));
  cr_expect (!cli_flag (&c, "verbose"));
  cr_expect (cli_flag (&c, "daemon"));
  cr_expect_str_eq (cli_get (&c, "path"), "X");
  cr_expect_str_eq (cli_get (&c, "polling-interval"), "30");
  char *origin = cli_origin (&c, "polling-interval");
  char *want = xasprintf ("%s:4", file);
  cr_expect_str_eq (origin, want, "pollingInterval is line 4");
  free (origin);
  free (want);
  cr_expect_str_eq (cli_get (&c, "release-name"), "rm-release");
  cr_expect_eq (c.positional.n, 1);
  cr_expect_str_eq (c.positional.items[0], "s3", "--daemon takes no value");
  struct rm_kv *kv = s3ish_config (&c, &err);
  cr_assert_not_null (kv, "%s", err.message);
  cr_expect_str_eq (rm_config_get (kv, "bucket"), "B");
  cr_expect_str_eq (rm_config_get (kv, "region"), "us-east-1");
  cr_expect_null (rm_config_get (kv, "access_key_id"), "the chart passes keys in AWS_*");
  backend_config_free (kv);
  cli_free (&c);
}

Test (cli, original_chart_config_yaml)
{
  char *file = write_file_ext ("debug: false\ndryRun: false\npath: X\npollingInterval: 30\n"
                               "verbose: false\nregion: us-east-1\nbucket: B\n", ".yaml");
  check_chart_config (file);
  unlink (file);
  free (file);
}

Test (cli, original_chart_config_as_json)
{
  char *file = write_file_ext ("{\n  \"debug\": false,\n  \"dryRun\": false,\n  \"path\": \"X\",\n"
                               "  \"pollingInterval\": 30,\n  \"verbose\": false,\n"
                               "  \"region\": \"us-east-1\",\n  \"bucket\": \"B\"\n}\n", ".json");
  /* The same lines as the YAML but one: the brace; pollingInterval is on line 5. */
  clear_env ();
  struct cli c = { 0 };
  char *args[] = { "rm", "export", "--config", file, "--daemon", "s3", NULL };
  struct rm_error err;
  cr_assert_eq (load_for (&c, args, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (cli_get (&c, "polling-interval"), "30");
  char *origin = cli_origin (&c, "polling-interval");
  char *want = xasprintf ("%s:5", file);
  cr_expect_str_eq (origin, want);
  free (origin);
  free (want);
  cr_expect_str_eq (cli_get (&c, "path"), "X");
  cr_expect (!cli_flag (&c, "dry-run"));
  struct rm_kv *kv = s3ish_config (&c, &err);
  cr_assert_not_null (kv, "%s", err.message);
  cr_expect_str_eq (rm_config_get (kv, "bucket"), "B");
  backend_config_free (kv);
  cli_free (&c);
  unlink (file);
  free (file);
}

static const char original_import[] =
  "atomic: true\n"
  "createNamespace: false\n"
  "excludeNamespaces: [kube-system, monitoring]\n"
  "force: true\n"
  "namespace: apps\n"
  "newPath: new/prefix\n"
  "releaseTimeout: 120\n"
  "replace: true\n"
  "target: restored\n"
  "threads: 4\n"
  "valueUpdates:\n  image.tag: v2\n  backend:\n    path: nested\n"
  "wait: true\n"
  "releaseName: rm-self\n"
  "daemon: false\n"
  "pollingInterval: 60\n"
  "namespaces: [a, b]\n"
  "accessKeyID: AKID\n"
  "secretAccessKey: SECRET\n"
  "sessionToken: TOKEN\n"
  "kubecontext: prod\n"
  "Kubeconfig: /k/config\n";

Test (cli, original_keys_reach_import_options)
{
  clear_env ();
  char *file = write_file_ext (original_import, ".yml");
  struct cli c = { 0 };
  char *args[] = { "rm", "import", "s3", "--config", file, "--bucket", "bk", NULL };
  struct rm_error err;
  cr_assert_eq (load_for (&c, args, &err), RM_OK, "%s", err.message);
  cr_assert_eq (cli_check_values (&c, &err), RM_OK, "%s", err.message);
  cr_expect_eq (c.warnings.n, 0, "%s", c.warnings.n ? c.warnings.items[0] : "");
  cr_expect (cli_flag (&c, "atomic"));
  cr_expect (!cli_flag (&c, "create-namespace"));
  cr_expect (cli_flag (&c, "force"));
  cr_expect (cli_flag (&c, "replace"));
  cr_expect (cli_flag (&c, "wait"));
  cr_expect_str_eq (cli_get (&c, "namespace"), "apps");
  cr_expect_str_eq (cli_get (&c, "new-path"), "new/prefix");
  cr_expect_str_eq (cli_get (&c, "release-timeout"), "120");
  cr_expect_str_eq (cli_get (&c, "target-namespace"), "restored");
  cr_expect_str_eq (cli_get (&c, "threads"), "4");
  cr_expect_str_eq (cli_get (&c, "kubecontext"), "prod");
  cr_expect_str_eq (cli_get (&c, "kubeconfig"), "/k/config", "keys in any case, as viper");
  cr_expect_null (cli_get (&c, "release-name"), "releaseName is export's, never import's filter");
  struct strlist l = STRLIST_INIT;
  cli_get_list (&c, "exclude-namespaces", ',', &l);
  cr_expect_eq (l.n, 2, "every item of a list");
  cr_expect_str_eq (l.items[1], "monitoring");
  strlist_free (&l);
  cli_get_list (&c, "update-values", ',', &l);
  cr_assert_eq (l.n, 2);
  cr_expect_str_eq (l.items[0], "image.tag=v2");
  cr_expect_str_eq (l.items[1], "backend.path=nested", "a nested mapping gives dotted keys");
  strlist_free (&l);
  struct rm_kv *kv = s3ish_config (&c, &err);
  cr_assert_not_null (kv, "%s", err.message);
  cr_expect_str_eq (rm_config_get (kv, "access_key_id"), "AKID");
  cr_expect_str_eq (rm_config_get (kv, "secret_access_key"), "SECRET");
  cr_expect_str_eq (rm_config_get (kv, "session_token"), "TOKEN");
  backend_config_free (kv);
  cli_free (&c);

  /* The same shared file for export: import's keys are not errors, and not used. */
  struct cli e = { 0 };
  char *eargs[] = { "rm", "export", "s3", "--config", file, NULL };
  cr_assert_eq (load_for (&e, eargs, &err), RM_OK, "%s", err.message);
  cr_assert_eq (cli_check_values (&e, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (cli_get (&e, "release-name"), "rm-self");
  cr_expect (!cli_flag (&e, "daemon"), "daemon: false trips nothing");
  cr_expect_str_eq (cli_get (&e, "polling-interval"), "60");
  cli_get_list (&e, "namespaces", ',', &l);
  cr_expect_eq (l.n, 2);
  strlist_free (&l);
  cr_expect (!cli_flag (&e, "force"), "import's force never turns on export --force");
  cr_expect_str_eq (cli_get (&e, "threads"), "4", "our own key: every command having it");
  cr_assert_eq (e.warnings.n, 1);
  char *w = xasprintf ("%s:4: 'force' in the configuration file is an option of import only "
                       "(as in the original tool); give it on the command line here", file);
  cr_expect_str_eq (e.warnings.items[0], w);
  free (w);
  cli_free (&e);

  /* And for list, which has none of them. */
  struct cli l2 = { 0 };
  char *largs[] = { "rm", "list", "s3", "--config", file, NULL };
  cr_assert_eq (load_for (&l2, largs, &err), RM_OK, "%s", err.message);
  cr_expect_eq (l2.warnings.n, 0, "%s", l2.warnings.n ? l2.warnings.items[0] : "");
  cli_free (&l2);
  unlink (file);
  free (file);
}

Test (cli, unknown_keys_warn_with_file_and_line)
{
  clear_env ();
  char *file = write_file_ext ("path: p\ncolour: red\nwait: true\nbackend-opt: x=y\n"
                               "output: json\nmystery: [a, b]\n", ".yaml");
  struct cli c = { 0 };
  char *args[] = { "rm", "export", "--config", file, NULL };
  struct rm_error err;
  cr_assert_eq (load_for (&c, args, &err), RM_OK, "%s", err.message);
  cr_assert_eq (c.warnings.n, 4, "output (list's, never from a file) warns too");
  char *w1 = xasprintf ("%s:2: unknown setting 'colour' ignored", file);
  char *w2 = xasprintf ("%s:4: setting 'backend-opt' cannot be given in the configuration file "
                        "(only on the command line); ignored", file);
  char *w3 = xasprintf ("%s:6: unknown setting 'mystery' ignored", file);
  cr_expect_str_eq (c.warnings.items[0], w1);
  cr_expect_str_eq (c.warnings.items[1], w2);
  cr_expect_str_eq (c.warnings.items[3], w3, "a list warns once");
  free (w1);
  free (w2);
  free (w3);
  cr_expect_str_eq (cli_get (&c, "path"), "p");
  cli_free (&c);
  unlink (file);
  free (file);
}

Test (cli, same_setting_twice_and_mapping_misplaced)
{
  char *m = config_error ("dryRun: true\ndry-run: false\n");
  cr_assert_str_eq (m, ":1: 'dryRun' and 'dry-run' (line 2) set the same option --dry-run: keep "
                    "one");
  free (m);
  m = config_error ("path:\n  a: b\n");
  cr_assert_str_eq (m, ":2: path: expected a value or a list, found a mapping");
  free (m);
}

static char *
load_error (const char *text, const char *ext)
{
  char *file = write_file_ext (text, ext);
  struct config_file *cf;
  struct rm_error err;
  cf = config_load (file, &err);
  cr_assert_null (cf, "%s should be refused", text);
  char *msg = xstrdup (err.message + strlen (file));
  unlink (file);
  free (file);
  return msg;
}

Test (cli, formats_json_and_the_ones_we_do_not_read)
{
  char *m = load_error ("{\n  \"path\": \"x\",\n  \"debug\": tru\n}\n", ".json");
  cr_expect_str_eq (m, ":3: invalid JSON");
  free (m);
  m = load_error ("{\"path\": \"x\"", ".json");
  cr_expect_str_eq (m, ":1: invalid JSON");
  free (m);
  m = load_error ("{\"path\": \"x\"} trailing", ".json");
  cr_expect_str_eq (m, ":1: invalid JSON");
  free (m);
  static const struct { const char *ext, *format; } other[] = {
    { ".toml", "TOML" }, { ".hcl", "HCL" }, { ".tfvars", "HCL (tfvars)" },
    { ".properties", "Java properties" }, { ".props", "Java properties" },
    { ".prop", "Java properties" }, { ".env", "dotenv" }, { ".dotenv", "dotenv" },
    { ".ini", "INI" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (other); i++) {
    m = load_error ("path = \"x\"\n", other[i].ext);
    char *want = xasprintf (": the configuration file is in %s format, which releasemanager "
                            "does not read: convert it to YAML (.yaml) or JSON (.json)",
                            other[i].format);
    cr_expect_str_eq (m, want);
    free (want);
    free (m);
  }
  /* JSON: lists, nested backends, null, numbers as written, lines for each key. */
  char *file = write_file_ext ("{\"path\": \"p\",\n \"excludeNamespaces\": [\"a\",\n \"b\"],\n"
                               " \"threads\": 1e1, \"newPath\": null,\n"
                               " \"backends\": {\"s3\": {\"bucket\": \"bk\",\n"
                               "   \"max_attempts\": 3}}}", ".json");
  struct rm_error err;
  struct config_file *cf = config_load (file, &err);
  cr_assert_not_null (cf, "%s", err.message);
  cr_assert_eq (cf->n, 5);
  cr_expect_str_eq (cf->entries[1].value, "a");
  cr_expect_eq (cf->entries[1].line, 2);
  cr_expect_str_eq (cf->entries[2].value, "b");
  cr_expect_str_eq (cf->entries[3].value, "1e1", "a number as written");
  cr_expect_eq (cf->entries[3].line, 4);
  cr_expect_str_eq (cf->entries[4].value, "");
  const struct config_section *s3 = config_backend (cf, "s3");
  cr_assert_not_null (s3);
  cr_assert_eq (s3->n, 2);
  cr_expect_str_eq (s3->entries[1].value, "3");
  cr_expect_eq (s3->entries[1].line, 6);
  config_free (cf);
  unlink (file);
  free (file);
}

Test (cli, system_config_dir_searched_in_viper_order)
{
  clear_env ();
  char dir[] = "/tmp/rm-etc-XXXXXX";
  cr_assert_not_null (mkdtemp (dir));
  char *home = xasprintf ("%s/home", dir);
  cr_assert_eq (mkdir (home, 0700), 0);
  setenv ("HOME", home, 1);
  unsetenv ("XDG_CONFIG_HOME");
  setenv ("RELEASEMANAGER_SYSTEM_CONFIG_DIR", dir, 1);
  cr_expect_null (config_default_path (), "nothing there");
  char *yml = xasprintf ("%s/config.yml", dir);
  char *toml = xasprintf ("%s/config.toml", dir);
  char *json = xasprintf ("%s/config.json", dir);
  FILE *f = fopen (yml, "w");
  fputs ("path: from-etc\n", f);
  fclose (f);
  char *p = config_default_path ();
  cr_expect_str_eq (p, yml);
  free (p);
  struct cli c = { 0 };
  char *args[] = { "rm", "list", NULL };
  struct rm_error err;
  cr_assert_eq (load_for (&c, args, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (cli_get (&c, "path"), "from-etc");
  cli_free (&c);
  f = fopen (toml, "w");
  fclose (f);
  p = config_default_path ();
  cr_expect_str_eq (p, toml, "toml comes before yml in viper's order");
  free (p);
  struct cli c2 = { 0 };
  cr_assert_neq (load_for (&c2, args, &err), RM_OK);
  cr_expect_eq (err.code, CONFFILE_E_FORMAT);
  cli_free (&c2);
  f = fopen (json, "w");
  fputs ("{}", f);
  fclose (f);
  p = config_default_path ();
  cr_expect_str_eq (p, json, "json first");
  free (p);
  /* Our own default comes before the system directory. */
  char *ours = xasprintf ("%s/.config/releasemanager", home);
  char *mine = xasprintf ("%s/config.yaml", ours);
  char *dotconfig = xasprintf ("%s/.config", home);
  cr_assert_eq (mkdir (dotconfig, 0700), 0);
  cr_assert_eq (mkdir (ours, 0700), 0);
  f = fopen (mine, "w");
  fclose (f);
  p = config_default_path ();
  cr_expect_str_eq (p, mine);
  free (p);
  unlink (mine);
  rmdir (ours);
  rmdir (dotconfig);
  unlink (json);
  unlink (toml);
  unlink (yml);
  rmdir (home);
  rmdir (dir);
  free (mine);
  free (ours);
  free (dotconfig);
  free (json);
  free (toml);
  free (yml);
  free (home);
  unsetenv ("RELEASEMANAGER_SYSTEM_CONFIG_DIR");
}
