/* The storage layout: index round trip and validation, records stored gzip'd and
 * verified on the way back, the state file (ours and the original tool's field names),
 * the `list` and `clear` commands on a snapshot built here through the real local
 * plugin, and the original Go tool's layout (store/legacy.c) on files laid out here as
 * that tool writes them. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/gzip.h"
#include "base/sha256.h"
#include "backend_wrap.h"
#include "plugin.h"
#include "import/import.h"
#include "store/legacy.h"
#include "store/snapshot.h"
#include "store/store.h"

#define STORE_FIXTURE_TEMPLATE "/tmp/rm-store-XXXXXX"
#include "store_fixture.h"

TestSuite (store, .init = store_fixture_setup, .fini = store_fixture_teardown);

static int
cmp_strp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

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
  struct store_index *back;
  struct rm_error err;
  cr_assert_eq (store_index_from_json (text, strlen (text), &back, &err), RM_OK, "%s",
                err.message);
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
    struct store_index *ix;
    struct rm_error err;
    cr_assert_eq (store_index_from_json (bad[i].text, strlen (bad[i].text), &ix, &err), RM_E_IO);
    cr_assert_null (ix);
    cr_assert (strstr (err.message, bad[i].msg), "'%s' not in '%s'", bad[i].msg, err.message);
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

static void
make_dir_at (const char *key, bool make)
{
  char *p = xasprintf ("%s/%s", dir, key);
  cr_assert_eq (make ? mkdir (p, 0755) : rmdir (p), 0, "%s", p);
  free (p);
}

/* Commit: nothing is deleted until the new index and the state file are in place. */
Test (store, snapshot_commit_deletes_only_after_the_index)
{
  struct backend *b = open_local ();
  struct store_index *ix = sample_index (b);
  struct rm_error err;
  struct store_record gone = { 0 };
  gone.key = store_record_key ("old", "gone", 1);
  cr_assert_eq (store_put_record (b, &gone, release_json, strlen (release_json), &err), RM_OK);
  struct strlist keys = STRLIST_INIT, stale = STRLIST_INIT;
  cr_assert_eq (snapshot_keys_finish (snapshot_keys_start (b), &keys, &err), RM_OK, "%s",
                err.message);
  cr_assert_eq (keys.n, 4, "the early listing sees every stored record");
  for (size_t i = 0; i < keys.n; i++)
    if (!store_index_find (ix, keys.items[i]))
      strlist_push (&stale, keys.items[i]);
  cr_assert_eq (stale.n, 1);
  cr_assert_str_eq (stale.items[0], gone.key);
  struct store_state st = { "rm", "ops", dir, "local" };
  struct snapshot_commit_opts co = { .base = NULL };

  /* The index cannot be written (a directory is in its place): no delete, no state. */
  make_dir_at (STORE_INDEX_KEY, true);
  cr_assert_neq (snapshot_commit (b, ix, &st, &stale, &co, &err), RM_OK);
  cr_assert (exists_in_dir (gone.key), "a stale record was deleted before the index was written");
  cr_assert (!exists_in_dir (STORE_STATE_KEY), "the state file was written before the index");
  make_dir_at (STORE_INDEX_KEY, false);

  /* The state file cannot be written: the index is, still no delete. */
  make_dir_at (STORE_STATE_KEY, true);
  cr_assert_neq (snapshot_commit (b, ix, &st, &stale, &co, &err), RM_OK);
  cr_assert (exists_in_dir (STORE_INDEX_KEY), "the index is written first");
  cr_assert (exists_in_dir (gone.key), "a stale record was deleted before the state file");
  make_dir_at (STORE_STATE_KEY, false);

  /* A dry run touches nothing. */
  struct snapshot_commit_opts dry = { .dry = true };
  cr_assert_eq (snapshot_commit (b, ix, &st, &stale, &dry, &err), RM_OK);
  cr_assert (exists_in_dir (gone.key) && !exists_in_dir (STORE_STATE_KEY));

  cr_assert_eq (snapshot_commit (b, ix, &st, &stale, &co, &err), RM_OK, "%s", err.message);
  cr_assert (exists_in_dir (STORE_INDEX_KEY) && exists_in_dir (STORE_STATE_KEY));
  cr_assert (!exists_in_dir (gone.key), "the stale record is deleted after the commit");
  for (size_t i = 0; i < ix->n; i++)
    cr_assert (exists_in_dir (ix->records[i].key), "%s", ix->records[i].key);
  store_record_clear (&gone);
  strlist_free (&keys);
  strlist_free (&stale);
  store_index_free (ix);
  backend_close (b);
}

/* Clear: the index first, then the records, the state file last. */
Test (store, snapshot_clear_order)
{
  struct backend *b = open_local ();
  struct store_index *ix = sample_index (b);
  struct rm_error err;
  struct store_state st = { "rm", "ops", dir, "local" };
  struct strlist none = STRLIST_INIT;
  struct snapshot_commit_opts co = { .base = NULL };
  cr_assert_eq (snapshot_commit (b, ix, &st, &none, &co, &err), RM_OK, "%s", err.message);

  struct snapshot_clear_result res;
  cr_assert_eq (snapshot_clear (b, true, &res, &err), RM_OK, "%s", err.message);
  cr_assert_eq (res.keys.n, 5);
  cr_assert_str_eq (res.keys.items[0], STORE_INDEX_KEY);
  for (size_t i = 1; i < 4; i++)
    cr_assert (str_has_prefix (res.keys.items[i], STORE_RELEASES_PREFIX), "%s", res.keys.items[i]);
  cr_assert_str_eq (res.keys.items[4], STORE_STATE_KEY);
  cr_assert (res.index && res.state && res.records == 3 && res.failed == 0);
  cr_assert (exists_in_dir (STORE_INDEX_KEY), "the dry run deleted the index");
  strlist_free (&res.keys);

  cr_assert_eq (snapshot_clear (b, false, &res, &err), RM_OK, "%s", err.message);
  cr_assert_eq (res.failed, 0);
  cr_assert_eq (res.keys.n, 5);
  for (size_t i = 0; i < ix->n; i++)
    cr_assert (!exists_in_dir (ix->records[i].key), "%s", ix->records[i].key);
  cr_assert (!exists_in_dir (STORE_INDEX_KEY) && !exists_in_dir (STORE_STATE_KEY));
  strlist_free (&res.keys);

  cr_assert_eq (snapshot_clear (b, false, &res, &err), RM_OK, "%s", err.message);
  cr_assert (res.keys.n == 0 && !res.index && !res.state);
  strlist_free (&res.keys);
  store_index_free (ix);
  backend_close (b);
}

/* ---- The index: the writer against cJSON, the reader, find, record packing. ---- */

static void
ref_str (cJSON *o, const char *name, const char *v)
{
  if (v)
    cJSON_AddStringToObject (o, name, v);
}

/* store_index_to_json as it was written with cJSON (releasemanager 0.1.0): the writer must
 * produce these bytes, which existing stores and their readers hold. */
static char *
reference_json (const struct store_index *ix)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "apiVersion", STORE_INDEX_API);
  cJSON_AddStringToObject (root, "kind", STORE_INDEX_KIND);
  cJSON *cluster = cJSON_AddObjectToObject (root, "cluster");
  ref_str (cluster, "uid", ix->cluster_uid);
  ref_str (cluster, "server", ix->cluster_server);
  ref_str (root, "exporter", ix->exporter);
  ref_str (root, "time", ix->time);
  cJSON *recs = cJSON_AddArrayToObject (root, "records");
  for (size_t i = 0; i < ix->n; i++) {
    const struct store_record *r = &ix->records[i];
    cJSON *o = cJSON_CreateObject ();
    ref_str (o, "key", r->key);
    ref_str (o, "namespace", r->namespace);
    ref_str (o, "release", r->release);
    cJSON_AddNumberToObject (o, "revision", r->revision);
    ref_str (o, "status", r->status);
    ref_str (o, "chart", r->chart);
    ref_str (o, "chartVersion", r->chart_version);
    ref_str (o, "appVersion", r->app_version);
    ref_str (o, "updated", r->updated);
    ref_str (o, "driver", r->driver);
    ref_str (o, "source", r->source);
    ref_str (o, "sourceUID", r->source_uid);
    ref_str (o, "sourceResourceVersion", r->source_version);
    cJSON_AddNumberToObject (o, "size", (double) r->size);
    cJSON_AddNumberToObject (o, "storedSize", (double) r->stored_size);
    cJSON_AddStringToObject (o, "sha256", r->sha256);
    cJSON_AddItemToArray (recs, o);
  }
  char *text = cJSON_Print (root);
  cJSON_Delete (root);
  char *out = xasprintf ("%s\n", text);
  free (text);
  return out;
}

static void
assert_writer_matches (const struct store_index *ix, const char *what)
{
  char *want = reference_json (ix), *got = store_index_to_json (ix);
  size_t i = 0;
  while (want[i] && want[i] == got[i])
    i++;
  cr_assert (want[i] == got[i], "%s: first difference at byte %zu:\nwant ...%.40s\ngot  ...%.40s",
             what, i, want + (i > 20 ? i - 20 : 0), got + (i > 20 ? i - 20 : 0));
  free (want);
  free (got);
}

Test (store, index_writer_is_byte_identical_to_cjson)
{
  struct store_index *ix = xcalloc (1, sizeof *ix);
  assert_writer_matches (ix, "empty index");
  ix->cluster_server = xstrdup ("https://10.0.0.1:6443");
  assert_writer_matches (ix, "cluster server only");
  ix->cluster_uid = xstrdup ("uid-1");
  ix->exporter = xstrdup ("releasemanager 0.1.0");
  ix->time = xstrdup ("2026-12-01T12:00:00Z");
  /* Every byte below 0x80, then UTF-8, quotes, backslashes and a slash. */
  char all[128];
  for (int c = 1; c < 128; c++)
    all[c - 1] = (char) c;
  all[127] = '\0';
  static const long long sizes[] = {
    0, 1, 2147483647LL, 2147483648LL, 3000000000LL, 999999999999999LL, 1000000000000001LL,
    12345678901234567LL, 9223372036854775807LL, -1, -2147483648LL, -2147483649LL,
  };
  for (size_t i = 0; i < ARRAY_SIZE (sizes); i++) {
    struct store_record *r = store_index_add (ix);
    r->key = xasprintf ("releases/ns/r%zu/%zu.json.gz", i, i + 1);
    r->namespace = xstrdup ("ns");
    r->release = xasprintf ("r%zu", i);
    r->revision = i == 3 ? 2147483647 : i == 4 ? -5 : (int) i + 1;
    r->status = i % 3 ? xstrdup ("deployed") : NULL;
    r->chart = xstrdup (i == 1 ? all : "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80");
    r->chart_version = i == 2 ? xstrdup ("\"quoted\" back\\slash a/b") : NULL;
    r->app_version = i == 5 ? xstrdup ("") : NULL;
    r->updated = xstrdup ("2020-05-19T15:41:23.178317-06:00");
    r->driver = xstrdup (i % 2 ? "configmap" : "secret");
    r->source = xasprintf ("ns/sh.helm.release.v1.r%zu.v%zu", i, i + 1);
    r->source_uid = i == 6 ? NULL : xstrdup ("0a0b0c0d-1111-2222-3333-444455556666");
    r->source_version = xstrdup ("12345");
    r->size = sizes[i];
    r->stored_size = sizes[ARRAY_SIZE (sizes) - 1 - i];
    if (i != 7)
      sha256_hex (r->key, strlen (r->key), r->sha256);
  }
  assert_writer_matches (ix, "edge cases");
  store_index_free (ix);
}

static char *
read_fixture (const char *name, size_t *len)
{
  const char *top = getenv ("abs_top_srcdir");
  cr_assert (top, "run through make check");
  char *path = xasprintf ("%s/tests/data/store/%s", top, name);
  FILE *f = fopen (path, "rb");
  cr_assert_not_null (f, "%s", path);
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    strbuf_add (&sb, buf, n);
  fclose (f);
  free (path);
  *len = sb.len;
  return strbuf_detach (&sb);
}

/* index-0.1.json was written by releasemanager 0.1.0 (the cJSON writer) exporting 8
 * releases of up to 8 revisions from the fake API server. */
Test (store, real_index_round_trips_byte_for_byte)
{
  size_t len;
  char *text = read_fixture ("index-0.1.json", &len);
  struct store_index *ix;
  struct rm_error err;
  cr_assert_eq (store_index_from_json (text, len, &ix, &err), RM_OK, "%s", err.message);
  cr_assert_eq (ix->n, 36);
  cr_assert (ix->sorted, "written sorted, read as sorted");
  cr_assert_str_eq (ix->exporter, "releasemanager 0.1.0");
  cr_assert_str_eq (ix->records[35].key, "releases/ns07/rel00007/8.json.gz");
  cr_assert_str_eq (ix->records[35].status, "deployed");
  cr_assert_str_eq (ix->records[35].driver, "secret");
  cr_assert_not_null (ix->records[35].mem, "a record's strings are one allocation");
  char *again = store_index_to_json (ix);
  cr_assert_eq (strlen (again), len);
  cr_assert (memcmp (again, text, len) == 0, "read and written again, byte for byte");
  assert_writer_matches (ix, "the real index");
  struct store_index *twin;
  cr_assert_eq (store_index_from_json (again, len, &twin, &err), RM_OK, "%s", err.message);
  cr_assert (store_index_same_records (ix, twin));
  twin->records[20].revision++;
  cr_assert_not (store_index_same_records (ix, twin));
  twin->n--;
  cr_assert_not (store_index_same_records (ix, twin));
  twin->n++;
  store_index_free (twin);
  free (again);
  store_index_free (ix);
  free (text);
}

Test (store, find_on_a_big_index)
{
  /* 2000 releases of 10 revisions, added out of order. */
  struct store_index *ix = xcalloc (1, sizeof *ix);
  const size_t nrel = 2000, nrev = 10;
  for (size_t k = 0; k < nrel * nrev; k++) {
    size_t j = (k * 7919) % (nrel * nrev);   /* a permutation: 7919 is prime */
    struct store_record *r = store_index_add (ix);
    r->namespace = xasprintf ("ns%zu", j / nrev % 20);
    r->release = xasprintf ("rel%zu", j / nrev);
    r->revision = (int) (j % nrev) + 1;
    r->key = store_record_key (r->namespace, r->release, r->revision);
    sha256_hex (r->key, strlen (r->key), r->sha256);
  }
  cr_assert_not (ix->sorted);
  cr_assert_str_eq (store_index_find (ix, "releases/ns3/rel3/4.json.gz")->release, "rel3",
                    "an unsorted index is scanned");
  store_index_sort (ix);
  cr_assert (ix->sorted);
  for (size_t j = 0; j < nrel * nrev; j++) {
    char *key = xasprintf ("releases/ns%zu/rel%zu/%zu.json.gz", j / nrev % 20, j / nrev,
                           j % nrev + 1);
    const struct store_record *r = store_index_find (ix, key);
    cr_assert_not_null (r, "%s", key);
    cr_assert_str_eq (r->key, key);
    free (key);
  }
  static const char *const absent[] = {
    "releases/ns3/rel3/11.json.gz", "releases/ns3/rel3/0.json.gz", "releases/ns3/rel3/04.json.gz",
    "releases/ns4/rel3/4.json.gz", "releases/ns3/rel3/4.json", "releases/ns3/rel3/4.json.gzz",
    "releases/ns3/4.json.gz", "releases/", "releases/ns3/rel3/99999999999.json.gz",
    "index.json", "", "releases/ns0/rel0/1.json.gz/x",
  };
  for (size_t i = 0; i < ARRAY_SIZE (absent); i++)
    cr_assert_null (store_index_find (ix, absent[i]), "%s", absent[i]);
  cr_assert_null (store_index_find (NULL, "releases/ns3/rel3/4.json.gz"));

  /* Read back from its text: sorted, and found the same way. */
  char *text = store_index_to_json (ix);
  struct store_index *back;
  struct rm_error err;
  cr_assert_eq (store_index_from_json (text, strlen (text), &back, &err), RM_OK, "%s",
                err.message);
  cr_assert (back->sorted);
  cr_assert_str_eq (back->records[back->n - 1].key, "releases/ns9/rel989/10.json.gz");
  cr_assert_eq (store_index_find (back, "releases/ns9/rel989/10.json.gz"),
                &back->records[back->n - 1]);
  cr_assert_eq (store_index_find (back, "releases/ns0/rel0/1.json.gz"), &back->records[0]);
  /* Adding unsorts it; what is found stays right. */
  struct store_record *extra = store_index_add (back);
  extra->namespace = xstrdup ("a");
  extra->release = xstrdup ("b");
  extra->revision = 1;
  extra->key = store_record_key ("a", "b", 1);
  cr_assert_not (back->sorted);
  cr_assert_eq (store_index_find (back, "releases/a/b/1.json.gz"), extra);
  store_index_free (back);
  free (text);

  /* The same key twice: the first is found, sorted or not. */
  struct store_index *dup = xcalloc (1, sizeof *dup);
  for (int i = 0; i < 3; i++) {
    struct store_record *r = store_index_add (dup);
    r->namespace = xstrdup ("ns");
    r->release = xstrdup (i == 2 ? "a" : "b");
    r->revision = 1;
    r->key = store_record_key (r->namespace, r->release, 1);
    r->size = i;
  }
  cr_assert_eq (store_index_find (dup, "releases/ns/b/1.json.gz")->size, 0);
  store_index_sort (dup);
  const struct store_record *first = store_index_find (dup, "releases/ns/b/1.json.gz");
  cr_assert_eq (first, &dup->records[1], "the first of the two, after the sort");
  store_index_free (dup);
  store_index_free (ix);
}

#define REC(key, rev, more) \
  "{\"key\":\"" key "\",\"namespace\":\"a\",\"release\":\"b\",\"revision\":" #rev "," \
  "\"size\":3,\"sha256\":\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
  "\"" more "}"
#define DOC(recs) "{\"apiVersion\":\"releasemanager.io/v1\",\"records\":[" recs "]}"

/* Stale keys: one merge of the index's keys and the listed ones, in the listing's order,
 * whether or not either is sorted, duplicates and all. */
Test (store, unreferenced_keys_by_one_merge)
{
  struct store_index *ix = xcalloc (1, sizeof *ix);
  const size_t n = 5000;
  for (size_t k = 0; k < n; k++) {
    size_t j = (k * 7919) % n;           /* added out of order */
    struct store_record *r = store_index_add (ix);
    r->namespace = xasprintf ("ns%zu", j % 7);
    r->release = xasprintf ("rel%zu", j / 10);
    r->revision = (int) (j % 10) + 1;
    r->key = store_record_key (r->namespace, r->release, r->revision);
  }
  struct strlist keys = STRLIST_INIT, stale = STRLIST_INIT;
  /* Every even record of the index is listed, plus a stale key after every tenth. */
  for (size_t j = 0; j < n; j += 2) {
    strlist_push (&keys, ix->records[j].key);
    if (j % 10 == 0) {
      char *extra = xasprintf ("releases/gone/r%zu/1.json.gz", j);
      strlist_push (&keys, extra);
      free (extra);
    }
  }
  strlist_push (&keys, "releases/gone/r0/1.json.gz");     /* listed twice */
  size_t expect = 0;
  for (size_t i = 0; i < keys.n; i++)
    expect += !store_index_find (ix, keys.items[i]);
  cr_assert_eq (expect, n / 10 + 1);
  /* Unsorted on both sides. */
  store_index_unreferenced (ix, &keys, &stale);
  cr_assert_eq (stale.n, expect);
  for (size_t i = 0, k = 0; i < keys.n; i++)
    if (!store_index_find (ix, keys.items[i]))
      cr_assert_str_eq (stale.items[k++], keys.items[i], "in the listing's order");
  strlist_free (&stale);
  /* Sorted on both sides, as a backend lists and the engine builds them. */
  store_index_sort (ix);
  qsort (keys.items, keys.n, sizeof *keys.items, cmp_strp);
  store_index_unreferenced (ix, &keys, &stale);
  cr_assert_eq (stale.n, expect);
  for (size_t i = 1; i < stale.n; i++)
    cr_assert (strcmp (stale.items[i - 1], stale.items[i]) <= 0);
  cr_assert_str_eq (stale.items[0], "releases/gone/r0/1.json.gz");
  cr_assert_str_eq (stale.items[1], "releases/gone/r0/1.json.gz");
  strlist_free (&stale);
  /* No index, an empty listing. */
  store_index_unreferenced (NULL, &keys, &stale);
  cr_assert_eq (stale.n, keys.n);
  strlist_free (&stale);
  struct strlist none = STRLIST_INIT;
  store_index_unreferenced (ix, &none, &stale);
  cr_assert_eq (stale.n, 0);
  strlist_free (&keys);
  store_index_free (ix);
}

Test (store, index_errors_name_the_problem_and_the_place)
{
  static const struct { const char *text, *msg; } bad[] = {
    { DOC (REC ("releases/a/b/1.json.gz", 1, "")), NULL },
    { DOC (REC ("releases/a/b/1.json.gz", 1, "") "," REC ("releases/a/b/2.json.gz", 2, "")
           ", {\"key\":\"releases/a/b/3.json.gz\"}"), "record 3 is incomplete" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, "") ", 7"), "record 2 is incomplete" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, "") "," REC ("releases/a/b/01.json.gz", 1, "")),
      "record 2: key 'releases/a/b/01.json.gz' does not match" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"size\":9e18")),
      "record 1 (releases/a/b/1.json.gz): size 9e18 is not a whole number" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"size\":1e400")), "size 1e400 is not" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"size\":2.5")), "size 2.5 is not" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"size\":\"3\"")),
      "(releases/a/b/1.json.gz): size is not a number" },
    { DOC (REC ("releases/a/b/1.json.gz", 1e10, "")), "revision 1e10 is not" },
    { DOC (REC ("releases/a/b/1.json.gz", -1, "")), "revision -1 is not" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"storedSize\":-2")), "storedSize -2 is not" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"storedSize\":9.1e15")), "storedSize 9.1e15" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"storedSize\":-1")), NULL },
    { DOC (REC ("releases/a/b/1.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                ".json.gz", 1, "")), NULL },
    { DOC (REC ("releases/a/b/1.1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                ".json.gz", 1, "")), "does not match its namespace, release, revision and sha256" },
    { DOC (REC ("releases/a/b/1.json.gz", 0, "")),
      "record 1 (releases/a/b/1.json.gz): revision 0 is not a whole number from 1 to 2147483647" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"size\":-1")),
      "record 1 (releases/a/b/1.json.gz): size -1 is not a whole number from 0 to 67108864" },
    { DOC (REC ("releases/a/b/1.json.gz", 1, ",\"sha256\":\"ABC\"")), "record 1 is incomplete" },
    { "{\"apiVersion\":\"releasemanager.io/v1\",\"records\":[{\"key\":}]}",
      "not valid JSON (near byte 55: invalid character looking for beginning of value)" },
    { "{\"apiVersion\":\"releasemanager.io/v1\",\"records\":[", "not valid JSON (near byte 48: "
      "unexpected end of JSON input)" },
    { "", "not valid JSON (near byte 0" },
    { "[]", "apiVersion is not releasemanager.io/v1" },
    { "{\"apiVersion\":\"releasemanager.io/v1\",\"records\":{}}", "has no records array" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    struct store_index *ix;
    struct rm_error err;
    int rc = store_index_from_json (bad[i].text, strlen (bad[i].text), &ix, &err);
    if (!bad[i].msg) {
      cr_assert_eq (rc, RM_OK, "%s", err.message);
      store_index_free (ix);
      continue;
    }
    cr_assert_eq (rc, RM_E_IO, "%s", bad[i].text);
    cr_assert_null (ix, "%s", bad[i].text);
    cr_assert (strstr (err.message, bad[i].msg), "'%s' not in '%s'", bad[i].msg, err.message);
  }
  /* Escapes are read, and what follows the document is ignored, as cJSON did. */
  const char ok[] = DOC (REC ("releases\\/a\\/b/1.json.gz", 1, ",\"status\":\"d\\u00e9ploy\\u00E9\""))
                    "\n\nx";
  struct store_index *ix;
  struct rm_error err;
  cr_assert_eq (store_index_from_json (ok, strlen (ok), &ix, &err), RM_OK, "%s", err.message);
  cr_assert_str_eq (ix->records[0].key, "releases/a/b/1.json.gz");
  cr_assert_str_eq (ix->records[0].status, "d\xc3\xa9ploy\xc3\xa9");
  cr_assert_eq (ix->records[0].stored_size, -1);
  cr_assert_null (ix->cluster_uid);
  store_index_free (ix);
}

Test (store, record_copy_is_one_allocation_and_independent)
{
  struct store_record loose;
  memset (&loose, 0, sizeof loose);
  loose.key = store_record_key ("ns", "web", 2);
  loose.namespace = xstrdup ("ns");
  loose.release = xstrdup ("web");
  loose.revision = 2;
  loose.updated = xstrdup ("");
  loose.size = 42;
  sha256_hex ("x", 1, loose.sha256);
  struct store_record a, b;
  store_record_copy (&a, &loose);
  store_record_clear (&loose);
  cr_assert_not_null (a.mem);
  cr_assert_eq (a.key, a.mem, "the key opens the allocation");
  cr_assert_str_eq (a.key, "releases/ns/web/2.json.gz");
  cr_assert_str_eq (a.release, "web");
  cr_assert_str_eq (a.updated, "");
  cr_assert_null (a.status);
  cr_assert_null (a.source_version);
  cr_assert_eq (a.size, 42);
  store_record_copy (&b, &a);
  cr_assert_neq (b.mem, a.mem);
  cr_assert (store_record_same (&a, &b));
  b.status = "deployed";
  cr_assert_not (store_record_same (&a, &b), "a string only one of them has");
  b.status = NULL;
  b.stored_size = 1;
  cr_assert_not (store_record_same (&a, &b));
  b.stored_size = a.stored_size;
  store_record_clear (&a);
  cr_assert_str_eq (b.namespace, "ns");
  cr_assert_str_eq (b.sha256, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  store_record_clear (&b);
}

/* ---- the original Go tool's layout ---- */

/* Write a file under dir as the original tool would (or as a user left it). */
static void
put_file (const char *name, const void *data, size_t len)
{
  char *path = xasprintf ("%s/%s", dir, name);
  char *slash = strrchr (path, '/');
  *slash = 0;
  mkdir (path, 0755);
  *slash = '/';
  FILE *f = fopen (path, "wb");
  cr_assert_not_null (f, "%s", path);
  cr_assert_eq (fwrite (data, 1, len, f), len);
  cr_assert_eq (fclose (f), 0);
  free (path);
}

static char *
legacy_json (const char *ns, const char *name, int version, const char *status,
             const char *deployed)
{
  return xasprintf ("{\"name\":\"%s\",\"info\":{\"first_deployed\":\"2020-01-01T00:00:00Z\","
                    "\"last_deployed\":\"%s\",\"status\":\"%s\"},\"chart\":{\"metadata\":"
                    "{\"name\":\"%s\",\"version\":\"1.%d.0\",\"appVersion\":\"2.0\"}},"
                    "\"manifest\":\"\",\"version\":%d,\"namespace\":\"%s\"}",
                    name, deployed, status, name, version, version, ns);
}

/* A store as the original tool leaves it: web with two revisions (the second gzipped by
 * someone, and present twice, reinstalled), db with one, a state file in Go field
 * names, and files that are not its records. */
static void
legacy_layout (void)
{
  char *j = legacy_json ("apps", "web", 1, "superseded", "2020-01-01T00:00:00Z");
  put_file ("web-1-7.release", j, strlen (j));
  free (j);
  j = legacy_json ("apps", "web", 2, "deployed", "2020-02-01T00:00:00Z");
  struct strbuf gz = STRBUF_INIT;
  gzip_deflate (j, strlen (j), &gz);
  put_file ("web-2-14.release", gz.data, gz.len);
  strbuf_free (&gz);
  free (j);
  j = legacy_json ("apps", "web", 2, "deployed", "2001-01-01T00:00:00Z");
  put_file ("web-2-59.release", j, strlen (j));
  free (j);
  j = legacy_json ("data", "db", 4, "deployed", "2020-03-01T00:00:00Z");
  put_file ("db-4.release", j, strlen (j));   /* the older tool's name, no second */
  free (j);
  put_file ("broken-1-3.release", "{not json", 9);
  put_file ("nons-1-3.release", "{\"name\":\"nons\",\"version\":1}", 27);
  put_file ("notes.txt", "cruft", 5);
  put_file ("old/web-9-1.release", "not at the top level", 20);
  put_file ("web.release", "no version", 10);
  const char st[] = "{\"ReleaseFilename\":\"rlsmgr-1-7.release\",\"ReleaseName\":\"rlsmgr\","
                    "\"ReleaseVersion\":1}";
  put_file (STORE_STATE_KEY, st, strlen (st));
}

/* ---- Immutable records: keys carrying the SHA-256, and the conditional commit ---- */

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test (store, keys_parse_strictly)
{
  struct store_key k;
  cr_assert (store_key_parse ("releases/prod/web/12.json.gz", &k));
  cr_assert (k.namespace_len == 4 && strncmp (k.namespace, "prod", 4) == 0);
  cr_assert (k.release_len == 3 && strncmp (k.release, "web", 3) == 0);
  cr_assert (k.revision == 12 && k.sha256 == NULL);
  cr_assert (store_key_parse ("releases/prod/web/12." HEX64 ".json.gz", &k));
  cr_assert (k.revision == 12 && k.sha256 && strncmp (k.sha256, HEX64, 64) == 0);
  cr_assert (store_key_parse ("releases/a/b/2147483647.json.gz", &k) && k.revision == 2147483647);
  static const char *const bad[] = {
    "releases/a/b/01.json.gz", "releases/a/b/0.json.gz", "releases/a/b/+1.json.gz",
    "releases/a/b/-1.json.gz", "releases/a/b/ 1.json.gz", "releases/a/b/1 .json.gz",
    "releases/a/b/2147483648.json.gz", "releases/a/b/99999999999999999999.json.gz",
    "releases/a/b/.json.gz", "releases/a/b/1.json", "releases/a/b/1.json.gzz",
    "releases/a/1.json.gz", "releases/a/b/c/1.json.gz", "releases//b/1.json.gz",
    "releases/a//1.json.gz", "release/a/b/1.json.gz", "releases/a/b/1.." HEX64 ".json.gz",
    "releases/a/b/1." HEX64 "0.json.gz",
    ("releases/a/b/1.0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.json.gz"),
    "releases/a/b/1.0123.json.gz",
    "releases/a/b/1.g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.json.gz",
    "index.json", "",
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    cr_assert (!store_key_parse (bad[i], &k), "%s", bad[i]);
  char *key = store_record_key_sha ("prod", "web", 3, HEX64);
  cr_assert_str_eq (key, "releases/prod/web/3." HEX64 ".json.gz");
  struct store_record r = { 0 };
  r.namespace = "prod";
  r.release = "web";
  r.revision = 3;
  r.key = key;
  memcpy (r.sha256, HEX64, 65);
  cr_assert (store_record_key_current (&r));
  r.sha256[0] = '1';
  cr_assert (!store_record_key_current (&r), "a key whose hash is not the record's");
  char *old = store_record_key ("prod", "web", 3);
  r.key = old;
  cr_assert (!store_record_key_current (&r), "a key of the older layout");
  r.key = NULL;
  free (key);
  free (old);
}

/* store_put_record names a record by its hash; a changed record gets a new key and the
 * index finds both layouts by key and by revision. */
Test (store, records_go_to_keys_of_their_content)
{
  struct backend *b = open_local ();
  struct rm_error err;
  struct store_index *ix = xcalloc (1, sizeof *ix);
  const char *v1 = "{\"name\":\"web\",\"info\":{\"status\":\"deployed\"}}";
  const char *v2 = "{\"name\":\"web\",\"info\":{\"status\":\"superseded\"}}";
  struct store_record *a = store_index_add (ix);
  a->namespace = xstrdup ("prod");
  a->release = xstrdup ("web");
  a->revision = 1;
  cr_assert_eq (store_put_record (b, a, v1, strlen (v1), &err), RM_OK, "%s", err.message);
  char want[65];
  sha256_hex (v1, strlen (v1), want);
  char *k1 = store_record_key_sha ("prod", "web", 1, want);
  cr_assert_str_eq (a->key, k1);
  struct store_record b2 = { 0 };
  b2.namespace = "prod";
  b2.release = "web";
  b2.revision = 1;
  cr_assert_eq (store_put_record (b, &b2, v2, strlen (v2), &err), RM_OK, "%s", err.message);
  cr_assert_str_neq (b2.key, a->key, "changed content, same key");
  struct strbuf json = STRBUF_INIT;
  cr_assert_eq (store_get_record (b, a, &json, &err), RM_OK, "the first copy was overwritten: %s",
                err.message);
  cr_assert (json.len == strlen (v1) && memcmp (json.data, v1, json.len) == 0);
  free (b2.key);
  struct store_record *c = store_index_add (ix);
  c->namespace = xstrdup ("prod");
  c->release = xstrdup ("web");
  c->revision = 2;
  c->key = store_record_key ("prod", "web", 2);   /* the older layout */
  memcpy (c->sha256, HEX64, 65);
  store_index_sort (ix);
  cr_assert_eq (store_index_find (ix, k1), &ix->records[0]);
  cr_assert_eq (store_index_find (ix, "releases/prod/web/2.json.gz"), &ix->records[1]);
  cr_assert_null (store_index_find (ix, "releases/prod/web/1.json.gz"));
  cr_assert_null (store_index_find (ix, "releases/prod/web/2." HEX64 ".json.gz"));
  cr_assert_eq (store_index_find_revision (ix, "prod", "web", 2), &ix->records[1]);
  cr_assert_eq (store_index_find_revision (ix, "prod", "web", 1), &ix->records[0]);
  cr_assert_null (store_index_find_revision (ix, "prod", "web", 3));
  cr_assert_null (store_index_find_revision (ix, "prod", "we", 1));
  ix->sorted = false;
  cr_assert_eq (store_index_find (ix, k1), &ix->records[0]);
  cr_assert_eq (store_index_find_revision (ix, "prod", "web", 2), &ix->records[1]);
  free (k1);
  strbuf_free (&json);
  store_index_free (ix);
  backend_close (b);
}

/* Reading a record inflates at most STORE_RECORD_MAX, whatever the index says. */
Test (store, inflate_cap_is_fixed)
{
  struct backend *b = open_local ();
  struct rm_error err;
  size_t big = (size_t) STORE_RECORD_MAX + 1;
  char *zeros = xcalloc (1, big);
  struct strbuf gz = STRBUF_INIT;
  gzip_deflate (zeros, big, &gz);
  free (zeros);
  struct store_record r = { 0 };
  r.key = xstrdup ("releases/a/b/1.json.gz");
  r.size = 4096;
  memcpy (r.sha256, HEX64, 65);
  struct rm_put_options o = { sizeof o, 0, NULL, NULL };
  cr_assert_eq (backend_put_mem (b, r.key, gz.data, gz.len, &o, NULL, &err), RM_OK);
  strbuf_free (&gz);
  struct strbuf json = STRBUF_INIT;
  r.size = STORE_RECORD_MAX;       /* the index cannot raise the cap */
  cr_assert_eq (store_get_record (b, &r, &json, &err), RM_E_IO);
  cr_assert (strstr (err.message, "releases/a/b/1.json.gz: corrupt record"), "%s", err.message);
  cr_assert (json.len <= (size_t) STORE_RECORD_MAX, "%zu", json.len);
  strbuf_free (&json);
  /* A release JSON above the cap is not stored at all. */
  struct store_record w = { 0 };
  w.namespace = "a";
  w.release = "b";
  w.revision = 2;
  cr_assert_eq (store_put_record_gz (b, &w, "", big, "", 0, &err), RM_E_INVALID);
  cr_assert (strstr (err.message, "larger than a record may be"), "%s", err.message);
  cr_assert_null (w.key);
  free (r.key);
  backend_close (b);
}

/* index.json is committed only over the index the writer read. */
Test (store, index_commit_is_conditional)
{
  struct backend *b = open_local ();
  cr_assert (backend_caps (b) & RM_CAP_CONDITIONAL_PUT,
             "the local backend offers conditional puts");
  struct rm_error err;
  struct store_index *ix = sample_index (b), *got;
  struct store_index_base base, other;
  cr_assert_eq (store_index_read (b, &got, &base, &err), RM_E_NOT_FOUND);
  cr_assert (base.known && base.absent);
  /* Another writer creates the index meanwhile: create-only fails. */
  cr_assert_eq (store_index_read (b, &got, &other, &err), RM_E_NOT_FOUND);
  cr_assert_eq (store_index_commit (b, ix, &other, &err), RM_OK, "%s", err.message);
  cr_assert_eq (store_index_commit (b, ix, &base, &err), RM_E_PRECONDITION);
  cr_assert_str_eq (err.message, "index.json changed since this export read it: another writer "
                    "committed; nothing deleted, run again");
  /* Read, commit again (the etag follows the write), then a change behind our back. */
  cr_assert_eq (store_index_read (b, &got, &base, &err), RM_OK, "%s", err.message);
  store_index_free (got);
  cr_assert (base.known && !base.absent && base.etag[0]);
  cr_assert_eq (store_index_commit (b, ix, &base, &err), RM_OK, "%s", err.message);
  free (ix->time);
  ix->time = xstrdup ("2026-11-26T00:00:00Z");
  cr_assert_eq (store_index_commit (b, ix, &base, &err), RM_OK, "the etag of our own write: %s",
                err.message);
  char *path = xasprintf ("%s/%s", dir, STORE_INDEX_KEY);
  FILE *f = fopen (path, "a");
  cr_assert_not_null (f);
  fputs ("\n", f);
  fclose (f);
  cr_assert_eq (store_index_commit (b, ix, &base, &err), RM_E_PRECONDITION);
  /* A corrupt index still has an etag: it is replaced only if unchanged. */
  f = fopen (path, "w");
  fputs ("{ not json", f);
  fclose (f);
  cr_assert_eq (store_index_read (b, &got, &base, &err), RM_E_IO);
  cr_assert (strstr (err.message, "index.json: not valid JSON"), "%s", err.message);
  cr_assert (base.known && !base.absent && base.etag[0]);
  cr_assert_eq (store_index_commit (b, ix, &base, &err), RM_OK, "%s", err.message);
  /* Deleted behind our back. */
  cr_assert_eq (unlink (path), 0);
  cr_assert_eq (store_index_commit (b, ix, &base, &err), RM_E_PRECONDITION);
  cr_assert (strstr (err.message, "index.json was deleted since this export read it"), "%s",
             err.message);
  free (path);
  store_index_free (ix);
  backend_close (b);
}

/* A run with a failure commits but deletes nothing; a clean one reports what it deleted. */
Test (store, snapshot_commit_keeps_stale_after_a_failure)
{
  struct backend *b = open_local ();
  struct store_index *ix = sample_index (b);
  struct rm_error err;
  struct store_record gone = { 0 };
  gone.namespace = "old";
  gone.release = "gone";
  gone.revision = 1;
  cr_assert_eq (store_put_record (b, &gone, release_json, strlen (release_json), &err), RM_OK);
  struct strlist stale = STRLIST_INIT;
  strlist_push (&stale, gone.key);
  struct store_state st = { "rm", "ops", dir, "local" };
  struct store_index_base base;
  struct store_index *none;
  cr_assert_eq (store_index_read (b, &none, &base, &err), RM_E_NOT_FOUND);
  struct snapshot_commit_opts co = { .base = &base, .keep_stale = true, .deleted = 99 };
  cr_assert_eq (snapshot_commit (b, ix, &st, &stale, &co, &err), RM_OK, "%s", err.message);
  cr_assert (exists_in_dir (STORE_INDEX_KEY));
  cr_assert (exists_in_dir (gone.key), "a run with a failure deleted a stale record");
  cr_assert_eq (co.deleted, 0);
  co.keep_stale = false;
  cr_assert_eq (snapshot_commit (b, ix, &st, &stale, &co, &err), RM_OK, "%s", err.message);
  cr_assert (!exists_in_dir (gone.key));
  cr_assert_eq (co.deleted, 1);
  /* Conflict: nothing deleted. */
  struct store_record g2 = { 0 };
  g2.namespace = "old";
  g2.release = "gone";
  g2.revision = 2;
  cr_assert_eq (store_put_record (b, &g2, release_json, strlen (release_json), &err), RM_OK);
  strlist_free (&stale);
  strlist_push (&stale, g2.key);
  struct store_index_base stale_base = base;
  free (ix->time);
  ix->time = xstrdup ("2026-11-26T00:00:00Z");     /* another index (the local etag is
                                                     the content's hash) */
  co.keep_stale = true;
  cr_assert_eq (snapshot_commit (b, ix, &st, &stale, &co, &err), RM_OK, "%s", err.message);
  cr_assert_eq (snapshot_commit (b, ix, &st, &stale, &(struct snapshot_commit_opts) {
                  .base = &stale_base }, &err), RM_E_PRECONDITION);
  cr_assert (exists_in_dir (g2.key), "a stale record was deleted after a conflict");
  free (gone.key);
  free (g2.key);
  strlist_free (&stale);
  store_index_free (ix);
  backend_close (b);
}

TestSuite (legacy, .init = store_fixture_setup, .fini = store_fixture_teardown);

Test (legacy, which_keys_are_records)
{
  static const struct { const char *key; bool yes; } keys[] = {
    { "web-1-7.release", true },       { "web-1.release", true },
    { "my-app-12-59.release", true },  { "a-1.release", true },
    { "web.release", false },          { "-1.release", false },
    { "web-.release", false },         { "web-x.release", false },
    { "old/web-1-7.release", false },  { "web-1-7.release.bak", false },
    { ".release", false },             { "rlsmgrstate.json", false },
  };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    cr_expect_eq (store_legacy_key (keys[i].key), keys[i].yes, "%s", keys[i].key);
}

Test (legacy, records_as_an_index)
{
  legacy_layout ();
  struct backend *b = open_local ();
  struct store_index *ix = NULL;
  struct strlist bad = STRLIST_INIT;
  struct rm_error err;
  bool legacy = false;
  cr_assert_eq (store_legacy_load_any (b, imp_describe_record, &ix, &legacy, &bad, &err), RM_OK,
                "%s", err.message);
  cr_assert (legacy);
  cr_assert_eq (ix->n, 3, "apps/web 1, apps/web 2 once, data/db 4");
  const struct store_record *w1 = &ix->records[0], *w2 = &ix->records[1],
                            *db = &ix->records[2];
  cr_assert_str_eq (db->key, "db-4.release");
  cr_assert_str_eq (db->namespace, "data");
  cr_assert_str_eq (db->release, "db");
  cr_assert_eq (db->revision, 4);
  cr_assert_str_eq (w1->key, "web-1-7.release");
  cr_assert_str_eq (w1->status, "superseded");
  cr_assert_str_eq (w1->chart, "web");
  cr_assert_str_eq (w1->chart_version, "1.1.0");
  cr_assert_str_eq (w1->app_version, "2.0");
  cr_assert_str_eq (w1->updated, "2020-01-01T00:00:00Z");
  cr_assert_str_eq (w2->key, "web-2-14.release", "the revision deployed last wins");
  cr_assert_str_eq (w2->updated, "2020-02-01T00:00:00Z");
  /* size and sha256 are the release JSON's, gunzipped */
  char *j = legacy_json ("apps", "web", 2, "deployed", "2020-02-01T00:00:00Z");
  char sha[65];
  sha256_hex (j, strlen (j), sha);
  cr_assert_str_eq (w2->sha256, sha);
  cr_assert_eq (w2->size, (long long) strlen (j));
  struct strbuf json = STRBUF_INIT;
  cr_assert_eq (store_legacy_get (b, w2, &json, &err), RM_OK, "%s", err.message);
  cr_assert_eq (json.len, strlen (j));
  cr_assert (memcmp (json.data, j, json.len) == 0, "gunzipped byte for byte");
  free (j);
  /* the files that are not a release, each with its reason */
  cr_assert_eq (bad.n, 2);
  cr_assert (strstr (bad.items[0], "broken-1-3.release: not a Helm 3 release"), "%s",
             bad.items[0]);
  cr_assert (strstr (bad.items[1], "nons-1-3.release: not a Helm 3 release: ")
             && strstr (bad.items[1], "no \"namespace\""), "%s", bad.items[1]);
  /* a file changed after listing is refused */
  put_file ("db-4.release", "{}", 2);
  cr_assert_eq (store_legacy_get (b, db, &json, &err), RM_E_IO);
  cr_assert_str_eq (err.message, "db-4.release: changed while importing");
  put_file ("web-1-7.release", "\x1f\x8b junk", 7);
  cr_assert_eq (store_legacy_get (b, w1, &json, &err), RM_E_IO);
  cr_assert (strstr (err.message, "web-1-7.release: corrupt gzip"), "%s", err.message);
  strbuf_free (&json);
  strlist_free (&bad);
  store_index_free (ix);
  /* the state file: the original tool's fields, read by the one state-file reader */
  struct store_state st;
  cr_assert_eq (store_state_load (b, &st, &err), RM_OK, "%s", err.message);
  cr_assert_str_eq (st.release, "rlsmgr");
  cr_assert_null (st.namespace);
  store_state_free (&st);
  const char upper[] = "{\"RELEASENAME\":\"rm2\"}";
  put_file (STORE_STATE_KEY, upper, strlen (upper));
  cr_assert_eq (store_state_load (b, &st, &err), RM_OK, "%s", err.message);
  cr_assert_str_eq (st.release, "rm2", "Go matches field names case-insensitively");
  store_state_free (&st);
  backend_close (b);
}

Test (legacy, every_key_for_clear)
{
  struct backend *b = open_local ();
  struct strlist keys = STRLIST_INIT;
  struct rm_error err;
  cr_assert_eq (store_legacy_keys (b, &keys, &err), RM_E_NOT_FOUND, "an empty store");
  const char st[] = "{\"ReleaseName\":\"rlsmgr\"}";
  put_file (STORE_STATE_KEY, st, strlen (st));
  cr_assert_eq (store_legacy_keys (b, &keys, &err), RM_E_NOT_FOUND,
                "a state file alone is not a legacy store");
  cr_assert_eq (keys.n, 0);
  legacy_layout ();
  cr_assert_eq (store_legacy_keys (b, &keys, &err), RM_OK, "%s", err.message);
  static const char *const want[] = {
    "broken-1-3.release", "db-4.release", "nons-1-3.release", "web-1-7.release",
    "web-2-14.release", "web-2-59.release", STORE_STATE_KEY,
  };
  cr_assert_eq (keys.n, ARRAY_SIZE (want));
  for (size_t i = 0; i < keys.n; i++)
    cr_expect_str_eq (keys.items[i], want[i], "key %zu", i);
  strlist_free (&keys);
  /* Without a state file, only the records. */
  char *path = xasprintf ("%s/%s", dir, STORE_STATE_KEY);
  cr_assert_eq (unlink (path), 0);
  free (path);
  cr_assert_eq (store_legacy_keys (b, &keys, &err), RM_OK, "%s", err.message);
  cr_assert_eq (keys.n, ARRAY_SIZE (want) - 1);
  cr_assert_str_eq (keys.items[keys.n - 1], "web-2-59.release");
  strlist_free (&keys);
  backend_close (b);
}

/* clear deletes the original tool's store too: its .release files, then its state file;
 * a file that is not a release record of it (no .release suffix) stays. */
Test (legacy, clear_deletes_the_store)
{
  legacy_layout ();
  put_file ("notes.txt", "keep", 4);
  struct backend *b = open_local ();
  struct snapshot_clear_result res;
  struct rm_error err;
  cr_assert_eq (snapshot_clear (b, true, &res, &err), RM_OK, "%s", err.message);
  cr_assert_eq (res.records, 6);
  cr_assert (!res.index && res.state);
  cr_assert_str_eq (res.keys.items[res.keys.n - 1], STORE_STATE_KEY);
  strlist_free (&res.keys);
  cr_assert (exists_in_dir ("web-1-7.release"), "a dry run deletes nothing");
  cr_assert_eq (snapshot_clear (b, false, &res, &err), RM_OK, "%s", err.message);
  cr_assert_eq (res.failed, 0);
  for (size_t i = 0; i < res.keys.n; i++)
    cr_assert (!exists_in_dir (res.keys.items[i]), "%s", res.keys.items[i]);
  cr_assert (exists_in_dir ("notes.txt"));
  strlist_free (&res.keys);
  cr_assert_eq (snapshot_clear (b, false, &res, &err), RM_OK, "%s", err.message);
  cr_assert_eq (res.keys.n, 0, "nothing left to clear");
  strlist_free (&res.keys);
  backend_close (b);
}

Test (legacy, an_index_comes_first)
{
  legacy_layout ();
  struct backend *b = open_local ();
  struct store_index *ix = sample_index (b);
  struct rm_error err;
  cr_assert_eq (store_index_save (b, ix, &err), RM_OK, "%s", err.message);
  store_index_free (ix);
  struct strlist bad = STRLIST_INIT;
  bool legacy = true;
  cr_assert_eq (store_legacy_load_any (b, imp_describe_record, &ix, &legacy, &bad, &err), RM_OK,
                "%s", err.message);
  cr_assert (!legacy);
  cr_assert_eq (ix->n, 3);
  cr_assert_str_eq (ix->records[0].key, "releases/dev/web/1.json.gz");
  cr_assert_eq (bad.n, 0);
  store_index_free (ix);
  backend_close (b);
}

Test (legacy, list_command)
{
  legacy_layout ();
  char *out, *args = xasprintf ("list local --path '%s'", dir);
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "was written by the original tool (k8s-release-manager): no "
                     "index.json, 3 records read from its NAME-VERSION-N.release files (2 "
                     "unreadable)"), "%s", out);
  cr_assert (strstr (out, "warning: broken-1-3.release: not a Helm 3 release"), "%s", out);
  cr_assert (strstr (out, "hold the same revision 2 of apps/web: using web-2-14.release"),
             "%s", out);
  cr_assert (strstr (out, "\ndata                 db                             4        "
                     "deployed         db-1.4.0 "), "%s", out);
  cr_assert (strstr (out, "\napps                 web                            2        "
                     "deployed         web-1.2.0 "), "%s", out);
  free (out);
  free (args);
  args = xasprintf ("list local --path '%s' -o json", dir);
  cr_assert_eq (rm (&out, args), 0, "%s", out);
  cr_assert (strstr (out, "\"key\":\t\"web-2-14.release\""), "%s", out);
  free (out);
  free (args);
}
