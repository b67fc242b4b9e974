/* The storage layout: index round trip and validation, records stored gzip'd and
 * verified on the way back, the state file (ours and the original tool's field names),
 * and the `list` and `clear` commands on a snapshot built here through the real local
 * plugin. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/sha256.h"
#include "backend_wrap.h"
#include "plugin.h"
#include "store/store.h"

static char dir[64];

static struct backend *
open_local (void)
{
  const char *top = getenv ("abs_top_builddir");
  cr_assert (top, "run through make check");
  char *path = xasprintf ("%s/plugins/local/.libs/local.so", top);
  struct rm_error errs = { 0, "" };
  const char *error = errs.message;
  struct plugin *p = plugin_load (path, "local", &errs);
  cr_assert_not_null (p, "%s", error);
  free (path);
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "path", dir, "test");
  backend_opts_add (&o, "fsync", "false", "test");
  struct rm_kv *kv = backend_resolve_config (p, &o, &errs);
  backend_opts_free (&o);
  cr_assert_not_null (kv, "%s", error);
  struct backend *b = backend_open (p, kv, NULL, &errs);
  cr_assert_not_null (b, "%s", error);
  return b;
}

static void
setup (void)
{
  snprintf (dir, sizeof dir, "/tmp/rm-store-XXXXXX");
  cr_assert_not_null (mkdtemp (dir));
}

static void
teardown (void)
{
  char *cmd = xasprintf ("rm -rf '%s'", dir);
  cr_assert_eq (system (cmd), 0);
  free (cmd);
}

TestSuite (store, .init = setup, .fini = teardown);

static const char release_json[] =
  "{\"name\":\"web\",\"namespace\":\"prod\",\"version\":3,\"info\":{\"status\":\"deployed\"},"
  "\"unknownHelm4Field\":{\"kept\":true}}";

static struct store_index *
sample_index (struct backend *b)
{
  struct store_index *ix = xcalloc (1, sizeof *ix);
  ix->cluster_uid = xstrdup ("6f1c-uid");
  ix->exporter = xstrdup ("releasemanager test");
  ix->time = xstrdup ("2026-11-25T12:00:00Z");
  static const struct { const char *ns, *rel; int rev; } recs[] = {
    { "prod", "web", 3 }, { "dev", "web", 1 }, { "prod", "web", 2 },
  };
  for (size_t i = 0; i < 3; i++) {
    struct store_record *r = store_index_add (ix);
    r->namespace = xstrdup (recs[i].ns);
    r->release = xstrdup (recs[i].rel);
    r->revision = recs[i].rev;
    r->status = xstrdup (i == 0 ? "deployed" : "superseded");
    r->chart = xstrdup ("web");
    r->chart_version = xstrdup ("1.2.3");
    r->key = store_record_key (r->namespace, r->release, r->revision);
    struct rm_error err;
    if (b)
      cr_assert_eq (store_put_record (b, r, release_json, strlen (release_json), &err), RM_OK,
                    "%s", err.message);
    else
      sha256_hex (release_json, strlen (release_json), r->sha256), r->size = 10;
  }
  store_index_sort (ix);
  return ix;
}

Test (store, keys_are_namespaced)
{
  char *k = store_record_key ("prod", "web", 12);
  cr_assert_str_eq (k, "releases/prod/web/12.json.gz");
  free (k);
}

Test (store, index_round_trip_sorted)
{
  struct store_index *ix = sample_index (NULL);
  cr_assert_str_eq (ix->records[0].namespace, "dev");
  cr_assert_eq (ix->records[1].revision, 2);
  char *text = store_index_to_json (ix);
  char *error = NULL;
  struct store_index *back = store_index_from_json (text, strlen (text), &error);
  cr_assert_not_null (back, "%s", error);
  cr_assert_eq (back->n, 3);
  cr_assert_str_eq (back->cluster_uid, "6f1c-uid");
  cr_assert_str_eq (back->records[2].key, "releases/prod/web/3.json.gz");
  cr_assert_str_eq (back->records[2].sha256, ix->records[2].sha256);
  char *again = store_index_to_json (back);
  cr_assert_str_eq (again, text, "serialization is stable");
  free (again);
  free (text);
  store_index_free (back);
  store_index_free (ix);
}

Test (store, index_validation)
{
  static const struct { const char *text, *msg; } bad[] = {
    { "{", "not valid JSON" },
    { "{\"apiVersion\":\"v9\",\"records\":[]}", "apiVersion is not releasemanager.io/v1" },
    { "{\"apiVersion\":\"releasemanager.io/v1\"}", "has no records array" },
    { "{\"apiVersion\":\"releasemanager.io/v1\",\"records\":[{\"key\":\"releases/a/b/1.json.gz\","
      "\"namespace\":\"a\",\"release\":\"b\",\"revision\":1,\"size\":3}]}",
      "record 1 is incomplete" },
    { "{\"apiVersion\":\"releasemanager.io/v1\",\"records\":[{\"key\":\"releases/a/b/2.json.gz\","
      "\"namespace\":\"a\",\"release\":\"b\",\"revision\":1,\"size\":3,\"sha256\":"
      "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
      "record 1: key 'releases/a/b/2.json.gz' does not match" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    char *error = NULL;
    cr_assert_null (store_index_from_json (bad[i].text, strlen (bad[i].text), &error));
    cr_assert (strstr (error, bad[i].msg), "'%s' not in '%s'", bad[i].msg, error);
    free (error);
  }
}

Test (store, records_round_trip_and_corruption_is_detected)
{
  struct backend *b = open_local ();
  struct store_index *ix = sample_index (b);
  struct rm_error err;
  cr_assert_eq (store_index_save (b, ix, &err), RM_OK, "%s", err.message);
  struct store_index *loaded = NULL;
  cr_assert_eq (store_index_load (b, &loaded, &err), RM_OK, "%s", err.message);
  cr_assert_eq (loaded->n, 3);
  struct strbuf json = STRBUF_INIT;
  cr_assert_eq (store_get_record (b, &loaded->records[2], &json, &err), RM_OK, "%s", err.message);
  cr_assert_eq (json.len, strlen (release_json));
  cr_assert (memcmp (json.data, release_json, json.len) == 0, "byte-exact");
  /* The stored object is gzip. */
  char *file = xasprintf ("%s/releases/prod/web/3.json.gz", dir);
  FILE *f = fopen (file, "rb");
  unsigned char magic[3];
  cr_assert_eq (fread (magic, 1, 3, f), 3);
  fclose (f);
  cr_assert (magic[0] == 0x1f && magic[1] == 0x8b && magic[2] == 8);
  /* Replace it with another valid gzip: the sha256 check catches it. */
  const char other[] = "{\"name\":\"evil\"}";
  struct store_record fake = loaded->records[2];
  cr_assert_eq (store_put_record (b, &fake, other, strlen (other), &err), RM_OK);
  cr_assert_eq (store_get_record (b, &loaded->records[2], &json, &err), RM_E_IO);
  cr_assert (strstr (err.message, "corrupt record: content does not match the index"), "%s",
             err.message);
  /* And a truncated gzip is a clear error too. */
  f = fopen (file, "r+b");
  cr_assert_eq (ftruncate (fileno (f), 12), 0);
  fclose (f);
  cr_assert_eq (store_get_record (b, &loaded->records[2], &json, &err), RM_E_IO);
  cr_assert (strstr (err.message, "releases/prod/web/3.json.gz: corrupt record"), "%s",
             err.message);
  strbuf_free (&json);
  free (file);
  store_index_free (loaded);
  store_index_free (ix);
  backend_close (b);
}

Test (store, state_file_ours_and_original_tools)
{
  struct backend *b = open_local ();
  struct store_state st = { "releasemanager", "ops", "/backups/prod", "local" }, back;
  struct rm_error err;
  cr_assert_eq (store_state_save (b, &st, &err), RM_OK);
  cr_assert_eq (store_state_load (b, &back, &err), RM_OK);
  cr_assert_str_eq (back.release, "releasemanager");
  cr_assert_str_eq (back.namespace, "ops");
  cr_assert_str_eq (back.path, "/backups/prod");
  store_state_free (&back);
  const char go[] = "{\"releaseName\":\"rlsmgr\",\"releaseNamespace\":\"kube-system\"}";
  cr_assert_eq (backend_put_mem (b, STORE_STATE_KEY, go, strlen (go), NULL, NULL, &err), RM_OK);
  cr_assert_eq (store_state_load (b, &back, &err), RM_OK);
  cr_assert_str_eq (back.release, "rlsmgr");
  cr_assert_str_eq (back.namespace, "kube-system");
  store_state_free (&back);
  /* What k8s-release-manager (the original tool) actually writes. */
  const char go2[] = "{\"ReleaseName\":\"release-manager\"}";
  cr_assert_eq (backend_put_mem (b, STORE_STATE_KEY, go2, strlen (go2), NULL, NULL, &err), RM_OK);
  cr_assert_eq (store_state_load (b, &back, &err), RM_OK);
  cr_assert_str_eq (back.release, "release-manager");
  cr_assert_null (back.namespace);
  store_state_free (&back);
  backend_close (b);
}

/* Run the real program; stdout+stderr into *out. */
static int
rm (char **out, const char *args)
{
  const char *bin = getenv ("RM_BIN"), *top = getenv ("abs_top_builddir");
  char *cmd = xasprintf ("'%s' --plugin-dir '%s/plugins/local/.libs' %s 2>&1", bin, top, args);
  FILE *p = popen (cmd, "r");
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, p)) > 0)
    strbuf_add (&sb, buf, n);
  int status = pclose (p);
  free (cmd);
  *out = strbuf_detach (&sb);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

Test (store, list_and_clear_commands)
{
  struct backend *b = open_local ();
  struct store_index *ix = sample_index (b);
  struct rm_error err;
  cr_assert_eq (store_index_save (b, ix, &err), RM_OK);
  struct store_state st = { "rm", "ops", dir, "local" };
  cr_assert_eq (store_state_save (b, &st, &err), RM_OK);
  store_index_free (ix);
  backend_close (b);

  char *out, *args = xasprintf ("list local --path '%s'", dir);
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "NAMESPACE"), "%s", out);
  cr_assert (strstr (out, "dev "), "%s", out);
  cr_assert (strstr (out, "web-1.2.3"), "%s", out);
  free (out);
  free (args);
  args = xasprintf ("list --backend local --path '%s' -o json", dir);
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "\"key\":\t\"releases/prod/web/3.json.gz\""), "%s", out);
  free (out);
  free (args);

  args = xasprintf ("clear local --path '%s' --dry-run", dir);
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "would delete index.json\nwould delete releases/dev/web/1.json.gz\n"),
             "index first: %s", out);
  cr_assert (strstr (out, "would delete rlsmgrstate.json\ndry run: would delete 3 records, the "
                     "index, the state file"), "%s", out);
  free (out);
  free (args);
  char *idx = xasprintf ("%s/index.json", dir);
  cr_assert_eq (access (idx, F_OK), 0, "dry run deleted nothing");

  args = xasprintf ("clear local --path '%s'", dir);
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "cleared local directory"), "%s", out);
  cr_assert (strstr (out, "3 records, the index, the state file"), "%s", out);
  free (out);
  cr_assert_neq (access (idx, F_OK), 0);
  char *rel = xasprintf ("%s/releases", dir);
  cr_assert_neq (access (rel, F_OK), 0, "empty directories are pruned");
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "nothing to clear"), "%s", out);
  free (out);
  free (args);
  args = xasprintf ("list local --path '%s'", dir);
  cr_assert_eq (rm (&out, args), 1, "%s", out);
  cr_assert (strstr (out, "no snapshot in local directory"), "%s", out);
  free (out);
  free (args);
  free (idx);
  free (rel);
}
