/* Checking a stored snapshot (store/verify.h): each record the index lists read back and
 * compared with its entry, in parallel; the keys under releases/ compared with the
 * index; and a damaged record put back from a copy of its content. */
#include <config.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/gzip.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/seal.h"
#include "store/verify.h"

static void
found (struct store_check *c, enum store_problem p, const char *fmt, ...)
  __attribute__((format (printf, 3, 4)));

static void
found (struct store_check *c, enum store_problem p, const char *fmt, ...)
{
  struct strbuf sb = STRBUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&sb, fmt, ap);
  va_end (ap);
  strlist_push (&c->why, sb.data ? sb.data : "");
  strbuf_free (&sb);
  if (c->problem == STORE_PROBLEM_NONE)
    c->problem = p;
}

/* The namespace, release and revision inside the JSON are the entry's. */
static void
check_identity (const struct store_record *rec, const struct strbuf *json,
                store_describe_fn describe, struct store_check *out)
{
  struct store_record got;
  struct rm_error err;
  memset (&got, 0, sizeof got);
  if (describe (json->data ? json->data : "", json->len, rec->key, &got, &err) != RM_OK)
    found (out, STORE_PROBLEM_DAMAGED, "not a Helm release: %s", err.message);
  else if (strcmp (got.namespace, rec->namespace) != 0 || strcmp (got.release, rec->release) != 0
           || got.revision != rec->revision)
    found (out, STORE_PROBLEM_DAMAGED, "holds %s/%s revision %d, index says %s/%s revision %d",
           got.namespace, got.release, got.revision, rec->namespace, rec->release,
           rec->revision);
  store_record_clear (&got);
}

void
store_check_record (struct backend *b, const struct store_record *rec, store_describe_fn describe,
                    struct store_check *out)
{
  struct strbuf gz = STRBUF_INIT, json = STRBUF_INIT;
  struct rm_error err;
  int rc = backend_get_mem (b, rec->key, &gz, NULL, &err);
  if (rc == RM_E_NOT_FOUND) {
    found (out, STORE_PROBLEM_MISSING, "missing");
    goto out;
  }
  if (rc != RM_OK) {
    found (out, STORE_PROBLEM_UNREADABLE, "unreadable: %s", err.message);
    goto out;
  }
  /* The object's size: an encrypted one is SEAL_OVERHEAD longer than its gzip. */
  size_t stored = gz.len + (backend_seal (b) ? SEAL_OVERHEAD : 0);
  if (rec->stored_size >= 0 && (long long) stored != rec->stored_size)
    found (out, STORE_PROBLEM_DAMAGED, "stored size mismatch: index says %lld bytes, object has "
           "%zu", rec->stored_size, stored);
  rc = gzip_inflate (gz.data ? gz.data : "", gz.len, STORE_VERIFY_MAX_JSON, &json, &err);
  if (rc == GZIP_E_TOO_LARGE) {
    found (out, STORE_PROBLEM_DAMAGED, "inflates to more than %zu MiB (index says %lld bytes)",
           STORE_VERIFY_MAX_JSON >> 20, rec->size);
    goto out;
  }
  if (rc != 0) {
    found (out, STORE_PROBLEM_DAMAGED, "not a valid gzip: %s", err.message);
    goto out;
  }
  if ((long long) json.len != rec->size)
    found (out, STORE_PROBLEM_DAMAGED, "size mismatch: index says %lld bytes, record has %zu",
           rec->size, json.len);
  char sha[65];
  store_digest_hex (b, json.data ? json.data : "", json.len, sha);
  if (strcmp (sha, rec->sha256) != 0)
    found (out, STORE_PROBLEM_DAMAGED, "sha256 mismatch: index says %s, record has %s",
           rec->sha256, sha);
  else
    /* Content the index vouches for: then it must also be the release the entry names. */
    check_identity (rec, &json, describe, out);
out:
  strbuf_free (&gz);
  strbuf_free (&json);
}

void
store_check_free (struct store_check *c)
{
  strlist_free (&c->why);
  c->problem = STORE_PROBLEM_NONE;
}

struct check_all {
  struct backend *b;
  const struct store_index *ix;
  store_describe_fn describe;
  struct store_check *out;
  atomic_size_t next;
};

static void *
check_worker (void *arg)
{
  struct check_all *a = arg;
  for (;;) {
    size_t i = atomic_fetch_add (&a->next, 1);
    if (i >= a->ix->n)
      return NULL;
    store_check_record (a->b, &a->ix->records[i], a->describe, &a->out[i]);
  }
}

void
store_check_all (struct backend *b, const struct store_index *ix, store_describe_fn describe,
                 unsigned threads, struct store_check *out)
{
  struct check_all a = { .b = b, .ix = ix, .describe = describe, .out = out };
  atomic_init (&a.next, 0);
  unsigned nt = backend_max_parallel (b, threads ? threads : 1);
  if (nt > ix->n)
    nt = ix->n ? (unsigned) ix->n : 1;
  pthread_t *tids = xcalloc (nt, sizeof *tids);
  unsigned started = 0;
  /* This thread is one of the nt. */
  for (; started + 1 < nt; started++) {
    int rc = pthread_create (&tids[started], NULL, check_worker, &a);
    if (rc != 0) {
      log_debug ("verify: started %u of %u threads: %s", started, nt - 1, strerror (rc));
      break;
    }
  }
  check_worker (&a);
  for (unsigned t = 0; t < started; t++)
    pthread_join (tids[t], NULL);
  free (tids);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

struct listed {
  const char **keys;          /* the index's keys, sorted */
  size_t n;
  struct strlist *unreferenced;
};

static int
listed_key (void *opaque, const struct rm_list_entry *entry)
{
  struct listed *l = opaque;
  if (!bsearch (&entry->key, l->keys, l->n, sizeof *l->keys, cmp_str))
    strlist_push (l->unreferenced, entry->key);
  return 0;
}

int
store_check_keys (struct backend *b, const struct store_index *ix, struct strlist *dups,
                  struct strlist *unreferenced, struct rm_error *err)
{
  struct listed l = { xcalloc (ix->n ? ix->n : 1, sizeof *l.keys), ix->n, unreferenced };
  for (size_t i = 0; i < ix->n; i++)
    l.keys[i] = ix->records[i].key;
  qsort (l.keys, l.n, sizeof *l.keys, cmp_str);
  for (size_t i = 1; i < l.n; i++)
    if (strcmp (l.keys[i - 1], l.keys[i]) == 0 && (i < 2 || strcmp (l.keys[i - 2], l.keys[i]) != 0))
      strlist_push (dups, l.keys[i]);
  int rc = backend_list_all (b, STORE_RELEASES_PREFIX, listed_key, &l, err);
  free (l.keys);
  return rc;
}

int
store_repair_record (struct backend *b, const struct store_record *rec, const char *json,
                     size_t len, const void *gz, size_t gz_len, struct rm_error *err)
{
  char sha[65];
  store_digest_hex (b, json, len, sha);
  if ((long long) len != rec->size || strcmp (sha, rec->sha256) != 0)
    return rm_error_set (err, RM_E_INVALID, "%s: the copy is not the indexed content (%zu bytes, "
                         "sha256 %s)", rec->key, len, sha);
  struct store_record put;
  memset (&put, 0, sizeof put);
  put.key = rec->key;
  memcpy (put.sha256, sha, sizeof sha);
  /* put only borrows rec's key: nothing of it is freed. */
  return gz ? store_put_record_gz (b, &put, json, len, gz, gz_len, err)
            : store_put_record (b, &put, json, len, err);
}
