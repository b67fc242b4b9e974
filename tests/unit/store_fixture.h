/* The Criterion fixture shared by the unit tests of core/store/: a fresh temporary
 * directory `dir` for each test (made by store_fixture_setup, removed with everything in
 * it by store_fixture_teardown) and open_local(), the real local plugin from the build
 * tree opened on it, and exists_in_dir().  The including file defines STORE_FIXTURE_TEMPLATE, the mkdtemp
 * template naming its directories, and declares its suite:
 *
 *     #define STORE_FIXTURE_TEMPLATE "/tmp/rm-store-XXXXXX"
 *     #include "store_fixture.h"
 *     TestSuite (store, .init = store_fixture_setup, .fini = store_fixture_teardown);
 */
#ifndef RM_TESTS_UNIT_STORE_FIXTURE_H
#define RM_TESTS_UNIT_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend_wrap.h"
#include "plugin.h"

#ifndef STORE_FIXTURE_TEMPLATE
#error "define STORE_FIXTURE_TEMPLATE (a mkdtemp template) before including store_fixture.h"
#endif

static char dir[64];

/* The local plugin on dir, no fsync, opened with RM_OPEN_BARRIER. */
static struct backend *
open_local (void)
{
  const char *top = getenv ("abs_top_builddir");
  cr_assert (top, "run through make check");
  char *path = xasprintf ("%s/plugins/local/.libs/local.so", top);
  struct rm_error error = { 0, "" };
  struct plugin *p = plugin_load (path, "local", &error);
  cr_assert_not_null (p, "%s", error.message);
  free (path);
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "path", dir, "test");
  backend_opts_add (&o, "fsync", "false", "test");
  struct rm_kv *kv = backend_resolve_config (p, &o, &error);
  backend_opts_free (&o);
  cr_assert_not_null (kv, "%s", error.message);
  struct backend *b = backend_open (p, kv, NULL, RM_OPEN_BARRIER, &error);
  cr_assert_not_null (b, "%s", error.message);
  return b;
}

/* Whether the store holds a file at key (relative to dir). */
static inline bool
exists_in_dir (const char *key)
{
  char *p = xasprintf ("%s/%s", dir, key);
  bool yes = access (p, F_OK) == 0;
  free (p);
  return yes;
}

static void
store_fixture_setup (void)
{
  snprintf (dir, sizeof dir, "%s", STORE_FIXTURE_TEMPLATE);
  cr_assert_not_null (mkdtemp (dir));
}

static void
store_fixture_teardown (void)
{
  char *cmd = xasprintf ("rm -rf '%s'", dir);
  cr_assert_eq (system (cmd), 0);
  free (cmd);
}

#endif
