/* Command-line parsing, configuration file reading and setting precedence. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  char *m = config_error ("path: p\ncolour: red\n");
  cr_assert_str_eq (m, ":2: unknown setting 'colour'");
  free (m);
  m = config_error ("path: p\nbackend-opt: x=y\n");
  cr_assert_str_eq (m, ":2: unknown setting 'backend-opt' (it cannot be set in the configuration "
                    "file)");
  free (m);
  m = config_error ("path: [a, b]\n");
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
