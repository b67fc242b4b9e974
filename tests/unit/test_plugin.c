/* The loader's failure matrix (one test per way loading can break, each asserting the
 * exact message), ABI compatibility across minors, option-table validation, and secret
 * redaction.  Fixture plugins come from tests/plugins/fixture.c. */
#include <config.h>

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend_wrap.h"
#include "base/log.h"
#include "plugin.h"

static char *
fixture (const char *name)
{
  const char *top = getenv ("abs_top_builddir");
  cr_assert (top, "abs_top_builddir must be set (run through make check)");
  return xasprintf ("%s/tests/plugins/.libs/%s.so", top, name);
}

static char *marker;

static void
setup (void)
{
  marker = xasprintf ("/tmp/rm-fixture-marker-%d", (int) getpid ());
  unlink (marker);
  setenv ("RM_FIXTURE_MARKER", marker, 1);
}

static void
teardown (void)
{
  unlink (marker);
  free (marker);
}

static char *
read_marker (void)
{
  struct strbuf sb = STRBUF_INIT;
  FILE *f = fopen (marker, "r");
  char buf[256];
  size_t n;
  while (f && (n = fread (buf, 1, sizeof buf, f)) > 0)
    strbuf_add (&sb, buf, n);
  if (f)
    fclose (f);
  return strbuf_detach (&sb);
}

/* Load path and expect failure with exactly the message "PATH" + suffix. */
static void
expect_load_error (const char *path, const char *suffix)
{
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, NULL, &errs);
  cr_assert_null (p, "loading %s should fail", path);
  char *want = xasprintf ("%s%s", path, suffix);
  cr_assert_str_eq (error, want);
  free (want);
}

TestSuite (loader, .init = setup, .fini = teardown);

Test (loader, good_fixture_loads)
{
  char *path = fixture ("good");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, "good", &errs);
  cr_assert_not_null (p, "%s", error);
  cr_assert_str_eq (p->desc.name, "good");
  cr_assert_eq (p->nkeys, 7);
  cr_assert_eq (p->desc.thread_model, RM_THREAD_SERIALIZE_HANDLE);
  cr_assert_not_null (p->desc.stat);
  plugin_unload (p);
  free (path);
}

Test (loader, missing_file)
{
  expect_load_error ("/nonexistent/dir/ghost.so", ": no such file");
}

Test (loader, not_elf)
{
  char path[] = "/tmp/rm-notelf-XXXXXX";
  int fd = mkstemp (path);
  cr_assert (fd >= 0);
  cr_assert_eq (write (fd, "#!/bin/sh\necho hi\n", 18), 18);
  close (fd);
  char *so = xasprintf ("%s.so", path);
  cr_assert_eq (rename (path, so), 0);
  expect_load_error (so, ": not an ELF shared object: not a backend plugin");
  unlink (so);
  free (so);
}

Test (loader, empty_file)
{
  char path[] = "/tmp/rm-empty-XXXXXX";
  int fd = mkstemp (path);
  close (fd);
  expect_load_error (path, ": not an ELF shared object: not a backend plugin");
  unlink (path);
}

Test (loader, unreadable_file)
{
  /* Root reads everything, so drop to nobody in a child first. */
  char *src = fixture ("good");
  char dir[] = "/tmp/rm-unread-XXXXXX";
  cr_assert_not_null (mkdtemp (dir));
  chmod (dir, 0755);
  char *path = xasprintf ("%s/good.so", dir);
  char *cmd = xasprintf ("cp '%s' '%s'", src, path);
  cr_assert_eq (system (cmd), 0);
  chmod (path, 0);
  pid_t pid = fork ();
  if (pid == 0) {
    if (geteuid () == 0 && (setgid (65534) != 0 || setuid (65534) != 0))
      _exit (3);
    struct rm_error errs = { 0, "" };
    const char *error = errs.message;
    struct plugin *p = plugin_load (path, NULL, &errs);
    char *want = xasprintf ("%s: cannot read: Permission denied", path);
    _exit (p == NULL && error && strcmp (error, want) == 0 ? 0 : 1);
  }
  int status;
  waitpid (pid, &status, 0);
  cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0,
             "an unreadable plugin must fail with 'cannot read: Permission denied' (status %d)",
             status);
  unlink (path);
  rmdir (dir);
  free (cmd);
  free (path);
  free (src);
}

Test (loader, no_entry_point)
{
  char *path = fixture ("noentry");
  expect_load_error (path, ": no rm_backend_init() entry point: not a releasemanager backend "
                     "plugin");
  free (path);
}

Test (loader, init_returns_null)
{
  char *path = fixture ("nullinit");
  expect_load_error (path, ": rm_backend_init() returned NULL");
  free (path);
}

Test (loader, struct_size_below_prefix)
{
  char *path = fixture ("smallsize"), *want = NULL;
  want = xasprintf (": descriptor struct_size 4 is smaller than the ABI prefix (%zu bytes): "
                    "not a valid backend plugin", (size_t) RM_BACKEND_PREFIX_SIZE);
  expect_load_error (path, want);
  free (want);
  free (path);
}

Test (loader, other_abi_major_refused_before_any_other_code)
{
  char *path = fixture ("abi2");
  char *want = xasprintf (": built for backend ABI %d.0, this releasemanager provides %d.%d: "
                          "rebuild the plugin against this releasemanager's SDK, or use it "
                          "with a releasemanager of ABI %d", RM_BACKEND_ABI_MAJOR + 1,
                          RM_BACKEND_ABI_MAJOR, RM_BACKEND_ABI_MINOR, RM_BACKEND_ABI_MAJOR + 1);
  expect_load_error (path, want);
  char *ran = read_marker ();
  cr_assert_str_eq (ran, "init\n", "only rm_backend_init may run, but the marker says: %s", ran);
  free (ran);
  free (want);
  free (path);
}

Test (loader, name_must_match_file)
{
  char *path = fixture ("badname");
  expect_load_error (path, ": plugin calls itself 'someothername' but the file is named "
                     "'badname.so': install it as someothername.so");
  free (path);
}

Test (loader, name_missing)
{
  char *path = fixture ("noname");
  expect_load_error (path, ": descriptor has no name: not a valid backend plugin");
  free (path);
}

Test (loader, required_operation_missing)
{
  char *path = fixture ("noput");
  expect_load_error (path, ": required operation 'put' is missing (NULL in the descriptor)");
  free (path);
}

Test (loader, unknown_thread_model)
{
  char *path = fixture ("badthreads");
  expect_load_error (path, ": unknown thread model 42");
  free (path);
}

Test (loader, invalid_key_name)
{
  char *path = fixture ("badkey");
  expect_load_error (path, ": option 8 has an invalid name 'Bad-Name' (use [a-z0-9_])");
  free (path);
}

Test (loader, key_table_stride_too_small)
{
  char *path = fixture ("smallkeys");
  char *want = xasprintf (": config_key_size 8 is smaller than ABI 1.0's struct "
                          "rm_config_key (%zu bytes): rebuild the plugin",
                          sizeof (struct rm_config_key));
  expect_load_error (path, want);
  free (want);
  free (path);
}

Test (loader, expected_name)
{
  char *path = fixture ("good");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  cr_assert_null (plugin_load (path, "s3", &errs));
  char *want = xasprintf ("%s: plugin calls itself 'good', expected 's3'", path);
  cr_assert_str_eq (error, want);
  cr_assert_eq (errs.code, PLUGIN_E_INVALID);
  free (want);
  free (path);
}

Test (loader, older_minor_loads_and_missing_callbacks_are_unsupported)
{
  char *path = fixture ("oldminor");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, NULL, &errs);
  cr_assert_not_null (p, "%s", error);
  cr_assert_null (p->desc.stat, "stat lies beyond the plugin's struct_size and must read as NULL");
  cr_assert_null (p->desc.remove_many);
  cr_assert_null (p->desc.describe);
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "user", "u", "test");
  struct rm_kv *kv = backend_resolve_config (p, &o, &errs);
  backend_opts_free (&o);
  cr_assert_not_null (kv, "%s", error);
  struct backend *b = backend_open (p, kv, NULL, RM_OPEN_BARRIER, &errs);
  cr_assert_not_null (b, "%s", error);
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct rm_error err;
  cr_assert_eq (backend_stat (b, "k", &info, &err), RM_E_UNSUPPORTED);
  cr_assert_str_eq (err.message, "oldminor: stat k: stat is not supported by this backend");
  backend_close (b);
  char *ran = read_marker ();
  cr_assert_null (strstr (ran, "stat called"), "%s", ran);
  free (ran);
  free (path);
}

Test (loader, newer_minor_loads)
{
  char *path = fixture ("future");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, NULL, &errs);
  cr_assert_not_null (p, "%s", error);
  cr_assert_eq (p->desc.abi_minor, RM_BACKEND_ABI_MINOR + 7);
  cr_assert_gt (p->plugin_struct_size, sizeof (struct rm_backend));
  cr_assert_eq (p->desc.struct_size, sizeof (struct rm_backend));
  plugin_unload (p);
  free (path);
}

Test (loader, frozen_abi_1_0_header_plugin_loads)
{
  char *path = fixture ("abi10");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, NULL, &errs);
  cr_assert_not_null (p, "a plugin built against the released ABI 1.0 header must load: %s",
                      error);
  cr_assert_eq (p->desc.abi_major, 1);
  cr_assert_eq (p->desc.abi_minor, 0);
  plugin_unload (p);
  free (path);
}

Test (loader, find_lists_every_directory)
{
  struct strlist dirs = STRLIST_INIT;
  strlist_push (&dirs, "/first/dir");
  strlist_push (&dirs, "/second/dir");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  cr_assert_null (plugin_find ("nosuch", &dirs, &errs));
  cr_assert_str_eq (error, "backend 'nosuch' not found: no nosuch.so in /first/dir, /second/dir "
                    "(see `releasemanager backends`)");
  cr_assert_eq (errs.code, PLUGIN_E_NOT_FOUND);
  cr_assert_eq (rm_primary (errs.code), RM_E_NOT_FOUND);
  strlist_free (&dirs);
}

Test (loader, find_by_explicit_path_and_search_order)
{
  char *path = fixture ("good");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_find (path, NULL, &errs);
  cr_assert_not_null (p, "%s", error);
  plugin_unload (p);
  struct strlist dirs = STRLIST_INIT;
  strlist_push (&dirs, "/nonexistent");
  char *dir = xstrdup (path);
  *strrchr (dir, '/') = '\0';
  strlist_push (&dirs, dir);
  p = plugin_find ("good", &dirs, &errs);
  cr_assert_not_null (p, "%s", error);
  cr_assert_str_eq (p->path, path);
  plugin_unload (p);
  strlist_free (&dirs);
  free (dir);
  free (path);
}

/* ---- option tables ---- */

static struct plugin *
good (void)
{
  char *path = fixture ("good");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, NULL, &errs);
  cr_assert_not_null (p, "%s", error);
  free (path);
  return p;
}

static char *
resolve_error (struct backend_opts *o)
{
  struct plugin *p = good ();
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct rm_kv *kv = backend_resolve_config (p, o, &errs);
  cr_assert_null (kv);
  plugin_unload (p);
  backend_opts_free (o);
  return xstrdup (error);
}

TestSuite (options);

Test (options, unknown_key)
{
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "user", "u", "--backend-opt");
  backend_opts_add (&o, "colour", "red", "--backend-opt");
  char *e = resolve_error (&o);
  cr_assert_str_eq (e, "backend 'good' has no option 'colour' (from --backend-opt); its options "
                    "are: user, password, count, flag, size, fail_open, token");
  free (e);
}

Test (options, bad_types)
{
  static const struct { const char *key, *value, *msg; } cases[] = {
    { "count", "three", "backend 'good': option 'count' from --x: 'three' is not an integer" },
    { "flag", "maybe", "backend 'good': option 'flag' from --x: 'maybe' is not a boolean (use "
      "true or false)" },
    { "size", "12 parsecs", "backend 'good': option 'size' from --x: '12 parsecs' is not a size "
      "(use e.g. 8388608, 8M or 8MiB)" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    struct backend_opts o = { NULL, 0 };
    backend_opts_add (&o, "user", "u", "--x");
    backend_opts_add (&o, cases[i].key, cases[i].value, "--x");
    char *e = resolve_error (&o);
    cr_assert_str_eq (e, cases[i].msg);
    free (e);
  }
}

Test (options, missing_required)
{
  struct backend_opts o = { NULL, 0 };
  char *e = resolve_error (&o);
  cr_assert_str_eq (e, "backend 'good' needs option 'user' (user name): give --backend-opt "
                    "user=VALUE, or --user VALUE after the backend name");
  free (e);
}

Test (options, normalization_defaults_aliases_and_precedence)
{
  struct plugin *p = good ();
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "userName", "alias-wins", "--userName");   /* alias, first = flag */
  backend_opts_add (&o, "user", "env-loses", "environment");
  backend_opts_add (&o, "flag", "YES", "--flag");
  backend_opts_add (&o, "size", "8MiB", "--size");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct rm_kv *kv = backend_resolve_config (p, &o, &errs);
  cr_assert_not_null (kv, "%s", error);
  cr_assert_str_eq (rm_config_get (kv, "user"), "alias-wins");
  cr_assert_str_eq (rm_config_get (kv, "flag"), "true");
  cr_assert_str_eq (rm_config_get (kv, "size"), "8388608");
  cr_assert_str_eq (rm_config_get (kv, "count"), "3", "default applies");
  cr_assert_null (rm_config_get (kv, "password"), "unset without default");
  backend_config_free (kv);
  backend_opts_free (&o);
  plugin_unload (p);
}

Test (options, size_and_bool_normalization)
{
  static const struct { int type; const char *in, *out; } ok[] = {
    { RM_KEY_SIZE, "0", "0" }, { RM_KEY_SIZE, "1k", "1024" }, { RM_KEY_SIZE, "8M", "8388608" },
    { RM_KEY_SIZE, "2GiB", "2147483648" }, { RM_KEY_SIZE, "1TB", "1099511627776" },
    { RM_KEY_BOOL, "on", "true" }, { RM_KEY_BOOL, "0", "false" }, { RM_KEY_INT, "-5", "-5" },
    { RM_KEY_PATH, "/abs", "/abs" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (ok); i++) {
    char *v;
    struct rm_error err;
    cr_assert_eq (backend_normalize_value (ok[i].type, ok[i].in, &v, &err), RM_OK, "'%s': %s",
                  ok[i].in, err.message);
    cr_assert_str_eq (v, ok[i].out);
    free (v);
  }
  static const struct { int type; const char *in; } bad[] = {
    { RM_KEY_SIZE, "-1" }, { RM_KEY_SIZE, "5 X" }, { RM_KEY_SIZE, "99999999999T" },
    { RM_KEY_INT, "1.5" }, { RM_KEY_INT, "" }, { RM_KEY_BOOL, "" }, { RM_KEY_PATH, "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    char *v;
    struct rm_error err;
    cr_assert_eq (backend_normalize_value (bad[i].type, bad[i].in, &v, &err), RM_E_INVALID,
                  "'%s' must be refused", bad[i].in);
    cr_assert_null (v);
    cr_assert (err.message[0], "'%s': a reason", bad[i].in);
  }
  char cwd[4096];
  cr_assert_not_null (getcwd (cwd, sizeof cwd));
  char *v;
  cr_assert_eq (backend_normalize_value (RM_KEY_PATH, "./rel/dir", &v, NULL), RM_OK);
  char *want = xasprintf ("%s/rel/dir", cwd);
  cr_assert_str_eq (v, want);
  free (v);
  free (want);
}

Test (options, secret_value_never_quoted_in_type_errors)
{
  struct plugin *p = good ();
  /* A secret key of a checked type is the worst case: fabricate one by reusing "count". */
  for (size_t i = 0; i < p->nkeys; i++)
    if (strcmp (p->keys[i].name, "count") == 0)
      p->keys[i].flags |= RM_KEY_SECRET;
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "user", "u", "--x");
  backend_opts_add (&o, "count", "hunter2-secret", "--x");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  cr_assert_null (backend_resolve_config (p, &o, &errs));
  cr_assert_null (strstr (error, "hunter2"), "secret leaked: %s", error);
  cr_assert_str_eq (error, "backend 'good': option 'count' from --x: the value is not an integer");
  cr_assert_eq (errs.code, RM_E_CONFIG);
  backend_opts_free (&o);
  plugin_unload (p);
}

Test (options, secret_redacted_from_plugin_errors_and_logs)
{
  struct plugin *p = good ();
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "user", "alice", "--x");
  backend_opts_add (&o, "password", "s3cr3t-Pa55", "--x");
  backend_opts_add (&o, "fail_open", "true", "--x");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct rm_kv *kv = backend_resolve_config (p, &o, &errs);
  cr_assert_not_null (kv, "%s", error);
  backend_opts_free (&o);
  /* The fixture's open() logs the password at debug level and quotes it in its error. */
  int saved = dup (2);
  char path[] = "/tmp/rm-log-XXXXXX";
  int fd = mkstemp (path);
  dup2 (fd, 2);
  log_set_level (RM_LOG_DEBUG);
  struct backend *b = backend_open (p, kv, NULL, RM_OPEN_BARRIER, &errs);
  log_set_level (RM_LOG_WARN);
  fflush (stderr);
  dup2 (saved, 2);
  close (saved);
  cr_assert_null (b);
  cr_assert_str_eq (error, "good: login refused for password '***'");
  cr_assert_eq (errs.code, RM_E_AUTH, "the plugin's own code reaches the caller");
  char logbuf[4096] = "";
  lseek (fd, 0, SEEK_SET);
  ssize_t n = read (fd, logbuf, sizeof logbuf - 1);
  close (fd);
  unlink (path);
  cr_assert_gt (n, 0, "the plugin's debug line must reach the log");
  logbuf[n] = '\0';
  cr_assert_null (strstr (logbuf, "s3cr3t"), "secret in the log: %s", logbuf);
  cr_assert_not_null (strstr (logbuf, "good: opening as alice with password ***"), "%s", logbuf);
  log_clear_secrets ();
}

Test (options, conditional_put_refused_by_the_core_without_the_capability)
{
  struct plugin *p = good ();
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "user", "u", "--x");
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct rm_kv *kv = backend_resolve_config (p, &o, &errs);
  backend_opts_free (&o);
  struct backend *b = backend_open (p, kv, NULL, RM_OPEN_BARRIER, &errs);
  cr_assert_not_null (b, "%s", error);
  struct rm_put_options create = { sizeof create, RM_PUT_IF_NONE_MATCH, NULL, NULL };
  struct rm_error err;
  /* The fixture's put would answer "not implemented" (RM_E_IO): it must not be reached. */
  cr_assert_eq (backend_put_mem (b, "k", "x", 1, &create, NULL, &err), RM_E_UNSUPPORTED);
  cr_assert_str_eq (err.message, "good: put k: conditional writes are not supported by this "
                    "backend");
  cr_assert_eq (backend_put_mem (b, "k", "x", 1, NULL, NULL, &err), RM_E_IO);
  backend_close (b);
}
