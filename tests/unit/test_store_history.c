/* Point-in-time snapshots (store/history.c): snapshot keys and times, picking a snapshot
 * by id or time, the retention rules, the commit writing the snapshot object before
 * index.json and forgetting snapshots before their records, and prune, all through the
 * real local plugin. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"
#include "backend_wrap.h"
#include "plugin.h"
#include "store/history.h"
#include "store/snapshot.h"
#include "store/store.h"

#define STORE_FIXTURE_TEMPLATE "/tmp/rm-hist-XXXXXX"
#include "store_fixture.h"

TestSuite (history, .init = store_fixture_setup, .fini = store_fixture_teardown);

/* A history of keys at the given ms, ids made up. */
static void
history_of (struct store_history *h, const long long *ms, size_t n)
{
  memset (h, 0, sizeof *h);
  for (size_t i = 0; i < n; i++) {
    char text[32];
    snprintf (text, sizeof text, "snapshot %zu", i);
    char *key = store_snapshot_key (ms[i], text, strlen (text));
    cr_assert (store_history_add (h, key), "%s", key);
    free (key);
  }
  store_history_finish (h, NULL, NULL);
}

Test (history, keys_and_times)
{
  const char *text = "{}";
  char sha[SHA256_HEX_SIZE];
  sha256_hex (text, 2, sha);
  /* 2026-12-02T06:35:46.123Z */
  long long t;
  cr_assert (store_time_parse ("2026-12-02T06:35:46Z", &t));
  cr_assert_eq (t, 1796193346LL);
  char *key = store_snapshot_key (t * 1000 + 123, text, 2);
  char *want = xasprintf ("snapshots/20261202T063546.123Z-%.12s.json", sha);
  cr_assert_str_eq (key, want);
  struct store_snapshot s;
  cr_assert (store_snapshot_key_parse (key, &s));
  cr_assert_eq (s.t, t * 1000 + 123);
  cr_assert_str_eq (s.time, "2026-12-02T06:35:46.123Z");
  cr_assert_eq (strncmp (s.id, sha, 12), 0);
  free (key);
  free (want);
  /* Leap day and the epoch round trip. */
  cr_assert (store_time_parse ("2024-02-29T23:59:59Z", &t));
  key = store_snapshot_key (t * 1000, text, 2);
  cr_assert (strstr (key, "20240229T235959.000Z"), "%s", key);
  free (key);
  key = store_snapshot_key (0, text, 2);
  cr_assert (strstr (key, "19700101T000000.000Z"), "%s", key);
  free (key);
  static const char *const bad[] = {
    "snapshots/20261202T063546Z-0123456789ab.json",          /* no milliseconds */
    "snapshots/20261302T063546.123Z-0123456789ab.json",      /* month 13 */
    "snapshots/20261202T063546.123Z-0123456789AB.json",      /* uppercase */
    "snapshots/20261202T063546.123Z-0123456789a.json",       /* 11 digits */
    "snapshots/20261202T063546.123Z-0123456789ab.json.tmp",
    "releases/20261202T063546.123Z-0123456789ab.json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert (!store_snapshot_key_parse (bad[i], &s), "%s", bad[i]);
  cr_assert (!store_time_parse ("2026-02-30T00:00:00Z", &t));
  cr_assert (!store_time_parse ("2026-12-02 06:35:46", &t));
}

Test (history, next_ms_is_after_the_newest)
{
  struct strlist snaps = STRLIST_INIT;
  long long far = 4102444800000LL;    /* 2100-01-01: a clock behind the store */
  char *key = store_snapshot_key (far, "x", 1);
  strlist_push (&snaps, key);
  cr_assert_eq (store_snapshot_next_ms (&snaps), far + 1);
  free (key);
  strlist_free (&snaps);
  cr_assert_gt (store_snapshot_next_ms (NULL), 1700000000000LL);
}

Test (history, find_by_id_and_time)
{
  long long base;
  cr_assert (store_time_parse ("2026-12-01T10:00:00Z", &base));
  base *= 1000;
  const long long ms[] = { base, base + 500, base + 86400000, base + 2 * 86400000 };
  struct store_history h;
  history_of (&h, ms, 4);
  struct rm_error err;
  cr_assert_eq (store_history_find (&h, h.v[2].id, &err), 2);
  char prefix[8];
  snprintf (prefix, sizeof prefix, "%.6s", h.v[1].id);
  cr_assert_eq (store_history_find (&h, prefix, &err), 1);
  /* Times: the newest at or before; a time without milliseconds is its whole second. */
  cr_assert_eq (store_history_find (&h, "2026-12-01T10:00:00Z", &err), 1);
  cr_assert_eq (store_history_find (&h, "2026-12-01T10:00:00.100Z", &err), 0);
  cr_assert_eq (store_history_find (&h, "2026-12-02 12:00:00", &err), 2);
  cr_assert_eq (store_history_find (&h, "2026-12-03", &err), 2, "a date is its midnight");
  cr_assert_eq (store_history_find (&h, "2030-01-01T00:00:00Z", &err), 3);
  cr_assert_eq (store_history_find (&h, "2026-11-30", &err), -1);
  cr_assert_eq (rm_primary (err.code), RM_E_NOT_FOUND);
  cr_assert (strstr (err.message, "no snapshot was taken at or before it"), "%s", err.message);
  cr_assert_eq (store_history_find (&h, "last tuesday", &err), -1);
  cr_assert_eq (err.code, RM_E_INVALID);
  cr_assert (strstr (err.message, "'last tuesday' is neither a snapshot id"), "%s", err.message);
  cr_assert_eq (store_history_find (&h, "ffffff", &err), -1);
  cr_assert_eq (rm_primary (err.code), RM_E_NOT_FOUND);
  store_history_free (&h);
}

Test (history, retention_rules)
{
  long long base;
  cr_assert (store_time_parse ("2026-12-01T00:00:00Z", &base));
  base *= 1000;
  long long hour = 3600000, day = 24 * hour;
  /* Two a day for 10 days (at 06:00 and 18:00), oldest first. */
  long long ms[20];
  for (int i = 0; i < 20; i++)
    ms[i] = base + (i / 2) * day + (i % 2 ? 18 : 6) * hour;
  struct store_history h;
  history_of (&h, ms, 20);
  bool keep[20];
  size_t n;

  struct store_retention none = { 0 };
  store_retention_apply (&none, &h, keep);
  n = 0;
  for (int i = 0; i < 20; i++)
    n += keep[i];
  cr_assert (n == 1 && keep[19], "no rule: the newest only");

  struct store_retention last = { .last = 3 };
  store_retention_apply (&last, &h, keep);
  for (int i = 0; i < 20; i++)
    cr_assert_eq (keep[i], i >= 17, "--keep-last 3: %d", i);

  struct store_retention daily = { .daily = 4 };
  store_retention_apply (&daily, &h, keep);
  for (int i = 0; i < 20; i++)
    cr_assert_eq (keep[i], i >= 12 && i % 2 == 1, "--keep-daily 4: %d", i);

  struct store_retention within = { .within = 2 * 86400 };   /* 2d of the newest */
  store_retention_apply (&within, &h, keep);
  for (int i = 0; i < 20; i++)
    cr_assert_eq (keep[i], i >= 15, "--keep-within 2d: %d", i);

  struct store_retention both = { .last = 1, .daily = 2, .within = 12 * 3600 };
  store_retention_apply (&both, &h, keep);
  for (int i = 0; i < 20; i++)
    cr_assert_eq (keep[i], i == 17 || i == 18 || i == 19, "union of the rules: %d", i);

  /* index.json's snapshot is kept whatever the rules say. */
  h.v[4].current = true;
  store_retention_apply (&last, &h, keep);
  cr_assert (keep[4]);
  store_history_free (&h);

  long long secs;
  struct rm_error err;
  cr_assert_eq (store_retention_parse_within ("1d12h", &secs, &err), RM_OK);
  cr_assert_eq (secs, 36 * 3600);
  cr_assert_eq (store_retention_parse_within ("2w", &secs, &err), RM_OK);
  cr_assert_eq (secs, 14 * 86400);
  cr_assert_eq (store_retention_parse_within ("1y90m", &secs, &err), RM_OK);
  cr_assert_eq (secs, 365 * 86400 + 90 * 60);
  static const char *const bad[] = { "", "30", "d", "3 days", "-1d", "1x", "99999999999999999y" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq (store_retention_parse_within (bad[i], &secs, &err), RM_E_INVALID, "%s", bad[i]);
}

/* A snapshot of the given records (keys under releases/, content "k") committed through
 * snapshot_commit with a snapshot object at ms; returns its key. */
static char *
commit (struct backend *b, const char *const *keys, size_t n, long long ms,
        const struct strlist *forget, const struct strlist *stale)
{
  struct store_index *ix = xcalloc (1, sizeof *ix);
  ix->cluster_uid = xstrdup ("uid-1");
  ix->time = xstrdup ("2026-12-01T00:00:00Z");
  struct rm_error err;
  for (size_t i = 0; i < n; i++) {
    struct store_record *r = store_index_add (ix);
    r->namespace = xstrdup ("ns");
    r->release = xstrdup (keys[i]);
    r->revision = 1;
    const char *json = keys[i];
    cr_assert_eq (store_put_record (b, r, json, strlen (json), &err), RM_OK, "%s", err.message);
  }
  store_index_sort (ix);
  char *text = store_index_to_json (ix);
  char *key = store_snapshot_key (ms, text, strlen (text));
  struct store_state st = { NULL, NULL, NULL, "local" };
  struct strlist none = STRLIST_INIT;
  struct snapshot_commit_opts co = { .text = text, .snapshot_key = key, .forget = forget };
  cr_assert_eq (snapshot_commit (b, ix, &st, stale ? stale : &none, &co, &err), RM_OK, "%s",
                err.message);
  free (text);
  store_index_free (ix);
  return key;
}

static char *
record_key (const char *name)
{
  char sha[SHA256_HEX_SIZE];
  sha256_hex (name, strlen (name), sha);
  return store_record_key_sha ("ns", name, 1, sha);
}

Test (history, commit_writes_the_snapshot_and_forgets_before_records)
{
  struct backend *b = open_local ();
  const char *a[] = { "a", "b" }, *c[] = { "b", "c" };
  char *s1 = commit (b, a, 2, 1000000, NULL, NULL);
  cr_assert (exists_in_dir (s1) && exists_in_dir (STORE_INDEX_KEY));
  char *ka = record_key ("a");
  /* The second forgets the first and deletes a, which only the first references. */
  struct strlist forget = STRLIST_INIT, stale = STRLIST_INIT;
  strlist_push (&forget, s1);
  strlist_push (&stale, ka);
  char *s2 = commit (b, c, 2, 2000000, &forget, &stale);
  cr_assert (!exists_in_dir (s1) && exists_in_dir (s2));
  cr_assert (!exists_in_dir (ka));
  /* index.json is the newest snapshot, byte for byte. */
  struct store_history h;
  struct rm_error err;
  cr_assert_eq (store_history_read (b, &h, &err), RM_OK, "%s", err.message);
  cr_assert_eq (h.n, 1);
  cr_assert (h.v[0].current);
  cr_assert_str_eq (h.v[0].key, s2);
  store_history_free (&h);

  /* A forgotten snapshot that cannot be deleted keeps the stale records. */
  char *s3 = commit (b, a, 2, 3000000, NULL, NULL);
  strlist_free (&forget);
  strlist_free (&stale);
  strlist_push (&forget, "snapshots/../undeletable");   /* a key the backend refuses */
  char *kc = record_key ("c");
  strlist_push (&stale, kc);
  char *s4 = commit (b, a, 2, 4000000, &forget, &stale);
  cr_assert (exists_in_dir (kc), "a record was deleted while a snapshot to forget remained");
  free (kc);
  free (s1);
  free (s2);
  free (s3);
  free (s4);
  free (ka);
  strlist_free (&forget);
  strlist_free (&stale);
  backend_close (b);
}

Test (history, prune_keeps_what_kept_snapshots_reference)
{
  struct backend *b = open_local ();
  const char *s[4][2] = { { "a", "b" }, { "b", "c" }, { "c", "d" }, { "d", "e" } };
  char *keys[4];
  for (int i = 0; i < 4; i++)
    keys[i] = commit (b, s[i], 2, 1000000 + i * 1000, NULL, NULL);
  /* A record nothing references (an interrupted export). */
  struct store_record orphan = { 0 };
  orphan.namespace = "ns";
  orphan.release = "orphan";
  orphan.revision = 1;
  struct rm_error err;
  cr_assert_eq (store_put_record (b, &orphan, "orphan", 6, &err), RM_OK, "%s", err.message);
  struct store_retention r = { .last = 2 };
  struct store_prune_result res;
  cr_assert_eq (store_prune (b, &r, NULL, true, &res, &err), RM_OK, "%s", err.message);
  cr_assert_eq (res.snapshots, 4);
  cr_assert_eq (res.kept, 2);
  cr_assert_eq (res.forgotten, 2);
  cr_assert_eq (res.deleted, 3, "a, b and the orphan");
  cr_assert (exists_in_dir (keys[0]), "a dry run deleted");
  cr_assert_eq (store_prune (b, &r, NULL, false, &res, &err), RM_OK, "%s", err.message);
  cr_assert (!exists_in_dir (keys[0]) && !exists_in_dir (keys[1]));
  cr_assert (exists_in_dir (keys[2]) && exists_in_dir (keys[3]));
  const char *gone[] = { "a", "b", "orphan" }, *kept[] = { "c", "d", "e" };
  for (int i = 0; i < 3; i++) {
    char *g = record_key (gone[i]), *k = record_key (kept[i]);
    cr_assert (!exists_in_dir (g), "%s", g);
    cr_assert (exists_in_dir (k), "%s", k);
    free (g);
    free (k);
  }
  free (orphan.key);
  /* A kept snapshot that cannot be read stops the prune before any delete. */
  char *p = xasprintf ("%s/%s", dir, keys[2]);
  FILE *f = fopen (p, "a");
  fputs (" ", f);
  fclose (f);
  cr_assert_eq (store_prune (b, &r, NULL, false, &res, &err), RM_E_IO);
  cr_assert (strstr (err.message, "nothing deleted") && strstr (err.message, "damaged"), "%s",
             err.message);
  cr_assert (exists_in_dir (keys[2]));
  free (p);
  for (int i = 0; i < 4; i++)
    free (keys[i]);
  backend_close (b);
}
