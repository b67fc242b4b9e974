/* Point-in-time snapshots: the keys of snapshots/, the history of a store (one list and
 * one get), picking a snapshot by id or time, the retention rules, and prune, which
 * deletes forgotten snapshots before the records only they referenced. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/log.h"
#include "base/sha256.h"
#include "store/crypt.h"
#include "store/history.h"
#include "store/lock.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long
days_from_civil (long long y, unsigned m, unsigned d)
{
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned) (y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long) doe - 719468;
}

/* n digits at s into *v; false when any is not a digit. */
static bool
digits (const char *s, int n, int *v)
{
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

/* Y M D h m s from their digits at the offsets given (separators checked by callers). */
static bool
civil (const char *s, const int off[6], long long *t)
{
  static const int width[6] = { 4, 2, 2, 2, 2, 2 };
  int v[6];
  for (int i = 0; i < 6; i++)
    if (!digits (s + off[i], width[i], &v[i]))
      return false;
  static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] || v[3] > 23 || v[4] > 59
      || v[5] > 60)
    return false;
  long long days = days_from_civil (v[0], (unsigned) v[1], (unsigned) v[2]);
  *t = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
  return true;
}

bool
store_time_parse (const char *text, long long *t)
{
  static const int off[6] = { 0, 5, 8, 11, 14, 17 };
  return text && strlen (text) == 20 && text[4] == '-' && text[7] == '-' && text[10] == 'T'
         && text[13] == ':' && text[16] == ':' && text[19] == 'Z' && civil (text, off, t);
}

/* Proleptic Gregorian date of days since 1970-01-01 (civil_from_days). */
static void
civil_from_days (long long z, long long *y, unsigned *m, unsigned *d)
{
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned) (z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (long long) yoe + era * 400 + (*m <= 2);
}

char *
store_snapshot_key (long long ms, const char *text, size_t len)
{
  char sha[SHA256_HEX_SIZE];
  sha256_hex (text, len, sha);
  long long secs = ms / 1000, days = secs / 86400, rest = secs % 86400;
  long long y;
  unsigned m, d;
  civil_from_days (days, &y, &m, &d);
  return xasprintf ("%s%04lld%02u%02uT%02lld%02lld%02lld.%03lldZ-%.*s.json",
                    STORE_SNAPSHOTS_PREFIX, y, m, d, rest / 3600, rest / 60 % 60, rest % 60,
                    ms % 1000, STORE_SNAPSHOT_ID_LEN, sha);
}

long long
store_snapshot_next_ms (const struct strlist *snaps)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  long long ms = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  struct store_snapshot s;
  for (size_t i = 0; snaps && i < snaps->n; i++)
    if (store_snapshot_key_parse (snaps->items[i], &s) && s.t >= ms)
      ms = s.t + 1;
  return ms;
}

bool
store_snapshot_key_parse (const char *key, struct store_snapshot *s)
{
  /* snapshots/YYYYMMDDTHHMMSS.mmmZ-<12 hex>.json */
  static const int off[6] = { 0, 4, 6, 9, 11, 13 };
  size_t plen = strlen (STORE_SNAPSHOTS_PREFIX);
  if (strncmp (key, STORE_SNAPSHOTS_PREFIX, plen) != 0)
    return false;
  const char *p = key + plen;
  if (strlen (p) != 20 + 1 + STORE_SNAPSHOT_ID_LEN + 5 || p[8] != 'T' || p[15] != '.'
      || p[19] != 'Z' || p[20] != '-' || strcmp (p + 21 + STORE_SNAPSHOT_ID_LEN, ".json") != 0)
    return false;
  for (int i = 0; i < STORE_SNAPSHOT_ID_LEN; i++) {
    char c = p[21 + i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  long long t;
  int ms;
  if (!civil (p, off, &t) || !digits (p + 16, 3, &ms))
    return false;
  s->t = t * 1000 + ms;
  memcpy (s->id, p + 21, STORE_SNAPSHOT_ID_LEN);
  s->id[STORE_SNAPSHOT_ID_LEN] = '\0';
  snprintf (s->time, sizeof s->time, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%.3sZ", p, p + 4, p + 6,
            p + 9, p + 11, p + 13, p + 16);
  s->current = false;
  return true;
}

static struct store_snapshot *
history_push (struct store_history *h)
{
  if (h->n == h->cap) {
    h->cap = h->cap ? 2 * h->cap : 16;
    h->v = xrealloc (h->v, h->cap * sizeof *h->v);
  }
  struct store_snapshot *s = &h->v[h->n++];
  memset (s, 0, sizeof *s);
  return s;
}

bool
store_history_add (struct store_history *h, const char *key)
{
  struct store_snapshot s;
  if (!store_snapshot_key_parse (key, &s))
    return false;
  s.key = xstrdup (key);
  *history_push (h) = s;
  return true;
}

static int
cmp_snapshot (const void *a, const void *b)
{
  const struct store_snapshot *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return strcmp (x->id, y->id);
}

void
store_history_finish (struct store_history *h, const char *current_id, const char *current_time)
{
  bool found = false;
  for (size_t i = 0; current_id && i < h->n; i++)
    if (strcmp (h->v[i].id, current_id) == 0)
      found = h->v[i].current = true;
  long long t;
  if (!found && current_id && current_time && store_time_parse (current_time, &t)) {
    struct store_snapshot *s = history_push (h);
    s->key = xstrdup (STORE_INDEX_KEY);
    snprintf (s->id, sizeof s->id, "%s", current_id);
    snprintf (s->time, sizeof s->time, "%s", current_time);
    s->t = t * 1000;
    s->current = true;
  }
  if (h->n)
    qsort (h->v, h->n, sizeof *h->v, cmp_snapshot);
}

void
store_history_free (struct store_history *h)
{
  for (size_t i = 0; i < h->n; i++)
    free (h->v[i].key);
  free (h->v);
  store_index_free (h->current);
  strlist_free (&h->leftover);
  memset (h, 0, sizeof *h);
}

static int
collect_snapshot (void *opaque, const struct rm_list_entry *entry)
{
  if (!store_history_add (opaque, entry->key))
    log_warn ("%s: not a snapshot's name (snapshots/YYYYMMDDTHHMMSSZ-ID.json): ignored",
              entry->key);
  return 0;
}

int
store_history_read (struct backend *b, struct store_history *h, struct rm_error *err)
{
  memset (h, 0, sizeof *h);
  int rc = backend_list_all (b, STORE_SNAPSHOTS_PREFIX, collect_snapshot, h, err);
  if (rc != RM_OK)
    return rc;
  rc = store_history_drop_leftovers (b, h, err);
  if (rc != RM_OK) {
    store_history_free (h);
    return rc;
  }
  struct strbuf sb = STRBUF_INIT;
  rc = backend_get_mem (b, STORE_INDEX_KEY, &sb, NULL, err);
  char sha[SHA256_HEX_SIZE] = "";
  if (rc == RM_OK) {
    sha256_hex (sb.data ? sb.data : "", sb.len, sha);
    sha[STORE_SNAPSHOT_ID_LEN] = '\0';
    rc = store_index_from_json (sb.data ? sb.data : "", sb.len, &h->current, err);
    if (rc != RM_OK)
      err_prefix (err, "%s: ", STORE_INDEX_KEY);
  }
  strbuf_free (&sb);
  if (rm_primary (rc) == RM_E_NOT_FOUND)
    rc = RM_OK;
  if (rc != RM_OK) {
    store_history_free (h);
    return rc;
  }
  store_history_finish (h, h->current ? sha : NULL, h->current ? h->current->time : NULL);
  if (h->n == 0) {
    store_history_free (h);
    return err_set (err, RM_E_NOT_FOUND, "no snapshot (no %s, nothing under %s)",
                    STORE_INDEX_KEY, STORE_SNAPSHOTS_PREFIX);
  }
  return RM_OK;
}

int
store_history_drop_leftovers (struct backend *b, struct store_history *h, struct rm_error *err)
{
  const struct seal_key *k = backend_seal (b);
  if (!k || !h->n)
    return RM_OK;
  struct store_crypt c;
  int rc = store_crypt_read (b, &c, err);
  if (rc != RM_OK || !c.rekey_to[0])
    return rc;
  /* The skipped key: the rekey's, or, when it committed index.json but not the marker
   * and k is its key (store_crypt_attach let it read), the old one's objects. */
  const char *skip = c.rekey_to;
  if (strcmp (c.rekey_to, k->id_hex) == 0) {
    bool committed = false;
    rc = store_crypt_committed (b, &c, &committed, err);
    if (rc != RM_OK || !committed)
      return rc;
    skip = c.key_id;
  }
  size_t w = 0;
  for (size_t i = 0; i < h->n; i++) {
    char id[SEAL_KEY_ID_HEX] = "";
    if (strcmp (h->v[i].key, STORE_INDEX_KEY) != 0) {
      rc = backend_sealed_key_id (b, h->v[i].key, id, err);
      if (rm_primary (rc) == RM_E_NOT_FOUND)
        rc = RM_OK;   /* deleted since it was listed */
      else if (rc != RM_OK)
        return rc;
    }
    if (strcmp (id, skip) == 0) {
      if (skip == c.key_id)
        log_warn ("%s: sealed with key id %s, of before the rekey to key id %s whose commit "
                  "did not finish: skipped (running the rekey again removes it)", h->v[i].key,
                  c.key_id, c.rekey_to);
      else
        log_warn ("%s: left over by a rekey to key id %s that did not finish: skipped (the "
                  "next export, prune or rekey removes it)", h->v[i].key, c.rekey_to);
      strlist_push (&h->leftover, h->v[i].key);
      free (h->v[i].key);
    }
    else
      h->v[w++] = h->v[i];
  }
  h->n = w;
  return RM_OK;
}

/* which as a time in ms: RFC 3339 UTC (with or without milliseconds; without, the
 * whole second), "YYYY-MM-DD HH:MM:SS", or "YYYY-MM-DD" (its midnight). */
static bool
parse_when (const char *which, long long *ms)
{
  static const int off[6] = { 0, 5, 8, 11, 14, 17 };
  size_t len = strlen (which);
  long long t;
  int frac;
  if (len == 10 && which[4] == '-' && which[7] == '-') {
    char full[21];
    snprintf (full, sizeof full, "%sT00:00:00Z", which);
    if (!store_time_parse (full, &t))
      return false;
    *ms = t * 1000 + 999;
    return true;
  }
  if (len == 24 && which[19] == '.' && which[23] == 'Z' && digits (which + 20, 3, &frac)) {
    char full[21];
    snprintf (full, sizeof full, "%.19sZ", which);
    if (!store_time_parse (full, &t))
      return false;
    *ms = t * 1000 + frac;
    return true;
  }
  if (len == 19 && which[4] == '-' && which[7] == '-' && (which[10] == ' ' || which[10] == 'T')
      && which[13] == ':' && which[16] == ':' && civil (which, off, &t)) {
    *ms = t * 1000 + 999;
    return true;
  }
  if (!store_time_parse (which, &t))
    return false;
  *ms = t * 1000 + 999;
  return true;
}

long
store_history_find (const struct store_history *h, const char *which, struct rm_error *err)
{
  size_t len = strlen (which);
  bool hex = len >= 4 && len <= STORE_SNAPSHOT_ID_LEN;
  for (size_t i = 0; hex && i < len; i++)
    hex = (which[i] >= '0' && which[i] <= '9') || (which[i] >= 'a' && which[i] <= 'f');
  if (hex) {
    long found = -1;
    for (size_t i = 0; i < h->n; i++)
      if (strncmp (h->v[i].id, which, len) == 0) {
        if (found >= 0) {
          err_set (err, RM_E_INVALID, "--snapshot '%s': more than one snapshot's id begins so "
                   "(%s, %s): give more digits", which, h->v[found].id, h->v[i].id);
          return -1;
        }
        found = (long) i;
      }
    if (found < 0)
      err_set (err, RM_E_NOT_FOUND, "--snapshot '%s': no snapshot has that id (see list "
               "--snapshots)", which);
    return found;
  }
  long long t;
  if (!parse_when (which, &t)) {
    err_set (err, RM_E_INVALID, "--snapshot '%s' is neither a snapshot id (4 to %d hex digits) "
             "nor a time (2026-12-02T06:35:46Z, 2026-12-02T06:35:46.123Z, '2026-12-02 06:35:46' UTC, "
             "2026-12-02)", which,
             STORE_SNAPSHOT_ID_LEN);
    return -1;
  }
  /* The newest at or before t (h is sorted oldest first). */
  long found = -1;
  for (size_t i = 0; i < h->n && h->v[i].t <= t; i++)
    found = (long) i;
  if (found < 0)
    err_set (err, RM_E_NOT_FOUND, "--snapshot '%s': no snapshot was taken at or before it (the "
             "oldest is of %s)", which, h->n ? h->v[0].time : "-");
  return found;
}

int
store_snapshot_load (struct backend *b, const struct store_history *h,
                     const struct store_snapshot *s, struct store_index **out,
                     struct rm_error *err)
{
  *out = NULL;
  if (s->current && h->current) {
    /* Already read: a copy that the caller may free. */
    struct store_index *ix = xcalloc (1, sizeof *ix);
    const struct store_index *c = h->current;
    ix->cluster_uid = xstrdup_or_null (c->cluster_uid);
    ix->cluster_server = xstrdup_or_null (c->cluster_server);
    ix->exporter = xstrdup_or_null (c->exporter);
    ix->time = xstrdup_or_null (c->time);
    ix->cap = c->n ? c->n : 1;
    ix->records = xmalloc (ix->cap * sizeof *ix->records);
    for (size_t i = 0; i < c->n; i++)
      store_record_copy (store_index_add (ix), &c->records[i]);
    ix->sorted = c->sorted;
    *out = ix;
    return RM_OK;
  }
  struct strbuf sb = STRBUF_INIT;
  int rc = backend_get_mem (b, s->key, &sb, NULL, err);
  if (rc == RM_OK && strcmp (s->key, STORE_INDEX_KEY) != 0) {
    char sha[SHA256_HEX_SIZE];
    sha256_hex (sb.data ? sb.data : "", sb.len, sha);
    if (strncmp (sha, s->id, STORE_SNAPSHOT_ID_LEN) != 0)
      rc = err_set (err, RM_E_IO, "%s is damaged: its content does not hash to its id %s",
                    s->key, s->id);
  }
  if (rc == RM_OK) {
    rc = store_index_from_json (sb.data ? sb.data : "", sb.len, out, err);
    if (rc != RM_OK)
      err_prefix (err, "%s: ", s->key);
  }
  strbuf_free (&sb);
  return rc;
}

int
store_snapshot_load_any (struct backend *b, const char *which, store_describe_fn describe,
                         struct store_index **out, bool *legacy, struct strlist *bad,
                         struct rm_error *err)
{
  if (!which)
    return store_legacy_load_any (b, describe, out, legacy, bad, err);
  *legacy = false;
  *out = NULL;
  struct store_history h;
  int rc = store_history_read (b, &h, err);
  if (rc != RM_OK)
    return rc;
  long i = store_history_find (&h, which, err);
  rc = i < 0 ? err->code : store_snapshot_load (b, &h, &h.v[i], out, err);
  if (i >= 0 && rc == RM_OK)
    log_info ("snapshot %s of %s (%s)", h.v[i].id, h.v[i].time, h.v[i].key);
  store_history_free (&h);
  /* Not found here is an error of the option, not "no snapshot at all". */
  if (rc == RM_E_NOT_FOUND)
    rc = STORE_E_NO_SUCH_SNAPSHOT;
  return rc;
}

int
store_history_refs (struct backend *b, struct strlist *ref, struct rm_error *err)
{
  struct store_history h;
  int rc = store_history_read (b, &h, err);
  for (size_t i = 0; rc == RM_OK && i < h.n; i++) {
    struct store_index *ix;
    rc = store_snapshot_load (b, &h, &h.v[i], &ix, err);
    for (size_t j = 0; rc == RM_OK && j < ix->n; j++)
      strlist_push (ref, ix->records[j].key);
    if (rc == RM_OK)
      store_index_free (ix);
  }
  store_history_free (&h);
  return rc;
}

int
store_retention_parse_within (const char *text, long long *secs, struct rm_error *err)
{
  double d;
  int rc = duration_parse (text, false, 100 * 365 * 86400.0, &d, err);
  *secs = rc == RM_OK ? llround (d) : 0;
  return rc;
}

void
store_retention_apply (const struct store_retention *r, const struct store_history *h,
                       bool *keep)
{
  if (h->n == 0)
    return;
  long long newest = h->v[h->n - 1].t;
  long long day_ms = 86400 * 1000LL;
  int days = 0;
  long long last_day = LLONG_MIN;
  for (size_t k = 0; k < h->n; k++) {
    size_t i = h->n - 1 - k;         /* newest first */
    const struct store_snapshot *s = &h->v[i];
    long long day = s->t >= 0 ? s->t / day_ms : (s->t - day_ms + 1) / day_ms;
    keep[i] = k == 0 || s->current;
    if (r->last > 0 && k < (size_t) r->last)
      keep[i] = true;
    if (r->within > 0 && s->t >= newest - r->within * 1000)
      keep[i] = true;
    if (r->daily > 0 && day != last_day && days < r->daily) {
      keep[i] = true;
      days++;
    }
    last_day = day;
  }
}

void
store_retention_describe (const struct store_retention *r, char *buf, size_t size)
{
  size_t n = 0;
  buf[0] = '\0';
  if (r->last > 0)
    n += (size_t) snprintf (buf + n, size - n, " --keep-last %d", r->last);
  if (r->within > 0 && n < size)
    n += (size_t) snprintf (buf + n, size - n, " --keep-within %llds", r->within);
  if (r->daily > 0 && n < size)
    n += (size_t) snprintf (buf + n, size - n, " --keep-daily %d", r->daily);
  if (n == 0)
    snprintf (buf, size, " (the newest only)");
  memmove (buf, buf + 1, strlen (buf));
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
store_keys_subtract (struct strlist *keys, const struct strlist *ref)
{
  if (!ref->n || !keys->n)
    return;
  const char **sorted = xmalloc (ref->n * sizeof *sorted);
  for (size_t i = 0; i < ref->n; i++)
    sorted[i] = ref->items[i];
  qsort (sorted, ref->n, sizeof *sorted, cmp_str);
  size_t w = 0;
  for (size_t i = 0; i < keys->n; i++) {
    const char *k = keys->items[i];
    if (bsearch (&k, sorted, ref->n, sizeof *sorted, cmp_str))
      free (keys->items[i]);
    else
      keys->items[w++] = keys->items[i];
  }
  keys->n = w;
  free (sorted);
}

/* ---- prune ---- */

struct prune_listing {
  struct strlist records;
  long long *sizes;
  size_t cap;
};

static int
collect_record (void *opaque, const struct rm_list_entry *entry)
{
  struct prune_listing *l = opaque;
  if (l->records.n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 256;
    l->sizes = xrealloc (l->sizes, l->cap * sizeof *l->sizes);
  }
  l->sizes[l->records.n] = entry->size;
  strlist_push (&l->records, entry->key);
  return 0;
}

/* Delete keys in one call; returns how many failed (each logged). */
static size_t
delete_keys (struct backend *b, char **keys, size_t n)
{
  if (!n)
    return 0;
  int *codes = xcalloc (n, sizeof *codes);
  struct rm_error derr;
  size_t failed = 0;
  if (backend_remove_many (b, (const char *const *) keys, n, codes, &derr) != RM_OK) {
    log_error ("%s", derr.message);
    failed = n;
  }
  else
    for (size_t i = 0; i < n; i++)
      if (codes[i] != RM_OK && codes[i] != RM_E_NOT_FOUND) {
        log_error ("delete %s: %s", keys[i], rm_strerror (codes[i]));
        failed++;
      }
      else
        log_info ("deleted %s", keys[i]);
  free (codes);
  return failed;
}

int
store_prune (struct backend *b, const struct store_retention *r, struct store_lock *lock,
             bool dry, struct store_prune_result *res, struct rm_error *err)
{
  memset (res, 0, sizeof *res);
  struct store_history h;
  int rc = store_history_read (b, &h, err);
  if (rc != RM_OK)
    return rc;
  struct prune_listing l = { STRLIST_INIT, NULL, 0 };
  rc = backend_list_all (b, STORE_RELEASES_PREFIX, collect_record, &l, err);
  bool *keep = xcalloc (h.n, sizeof *keep);
  store_retention_apply (r, &h, keep);
  /* What the kept snapshots reference, each read whole: one that cannot be read stops
   * the prune before any delete. */
  struct strlist ref = STRLIST_INIT, forget = STRLIST_INIT;
  for (size_t i = 0; rc == RM_OK && i < h.n; i++) {
    if (!keep[i]) {
      strlist_push (&forget, h.v[i].key);
      continue;
    }
    struct store_index *ix;
    rc = store_snapshot_load (b, &h, &h.v[i], &ix, err);
    if (rc != RM_OK) {
      err_prefix (err, "snapshot %s (kept): ", h.v[i].id);
      err_prefix (err, "nothing deleted: ");
      break;
    }
    for (size_t j = 0; j < ix->n; j++)
      strlist_push (&ref, ix->records[j].key);
    store_index_free (ix);
  }
  /* A stopped rekey's new copies go with the snapshots forgotten, and the records only
   * they reference with the unreferenced ones. */
  for (size_t i = 0; i < h.leftover.n; i++)
    strlist_push (&forget, h.leftover.items[i]);
  res->snapshots = h.n;
  res->records = l.records.n;
  struct strlist gone = STRLIST_INIT;
  if (rc == RM_OK) {
    for (size_t i = 0; i < h.n; i++)
      res->kept += keep[i];
    for (size_t i = 0; i < l.records.n; i++)
      strlist_push (&gone, l.records.items[i]);
    store_keys_subtract (&gone, &ref);
    /* The freed bytes, from the listing (gone keeps the listing's order). */
    for (size_t i = 0, j = 0; i < l.records.n && j < gone.n; i++)
      if (strcmp (l.records.items[i], gone.items[j]) == 0) {
        res->freed += l.sizes[i] > 0 ? l.sizes[i] : 0;
        j++;
      }
    res->forgotten = forget.n;
    res->deleted = gone.n;
  }
  if (rc == RM_OK && dry) {
    for (size_t i = 0; i < forget.n; i++)
      printf ("would delete %s\n", forget.items[i]);
    for (size_t i = 0; i < gone.n; i++)
      printf ("would delete %s\n", gone.items[i]);
  }
  else if (rc == RM_OK && (forget.n || gone.n)) {
    rc = lock ? store_lock_check (lock, err) : RM_OK;
    /* The snapshots first: an interruption after them leaves records that nothing
     * references (the next prune removes them), never a snapshot without its records. */
    if (rc == RM_OK)
      res->failed = delete_keys (b, forget.items, forget.n);
    if (rc == RM_OK && res->failed) {
      res->forgotten -= res->failed;
      log_warn ("%zu snapshot%s not deleted: their records are kept", res->failed,
                res->failed == 1 ? "" : "s");
      res->deleted = 0;
      res->freed = 0;
    }
    else if (rc == RM_OK) {
      size_t f = delete_keys (b, gone.items, gone.n);
      res->failed += f;
      res->deleted -= f;
    }
  }
  free (keep);
  free (l.sizes);
  strlist_free (&l.records);
  strlist_free (&ref);
  strlist_free (&forget);
  strlist_free (&gone);
  store_history_free (&h);
  return rc;
}
