/* The backend conformance suite behind `releasemanager backends check NAME`: the
 * executable statement of what backend.h promises.  Each check runs through the same
 * wrapper the real commands use, under a random prefix, and reports in TAP style so a
 * plugin author sees exactly which promise is broken. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "conformance.h"
#include "base/log.h"

struct suite {
  struct backend *b;
  const struct conformance_opts *o;
  char prefix[64];
  int n, failed, skipped;
  char why[2048];
};

/* ---- data sources and sinks ---- */

/* Deterministic pseudo-random bytes (xorshift64*), rewindable, optionally failing. */
struct gen {
  unsigned long long seed, state;
  long long total, pos;
  long long fail_at;          /* -1, or return -1 once pos reaches this */
  size_t max_chunk;
};

static long long
gen_read (void *opaque, void *buf, size_t len)
{
  struct gen *g = opaque;
  if (g->fail_at >= 0 && g->pos >= g->fail_at)
    return -1;
  if (len > g->max_chunk)
    len = g->max_chunk;
  if ((long long) len > g->total - g->pos)
    len = (size_t) (g->total - g->pos);
  if (g->fail_at >= 0 && (long long) len > g->fail_at - g->pos)
    len = (size_t) (g->fail_at - g->pos);
  unsigned char *p = buf;
  for (size_t i = 0; i < len; i++) {
    if (((g->pos + (long long) i) & 7) == 0) {
      g->state ^= g->state >> 12;
      g->state ^= g->state << 25;
      g->state ^= g->state >> 27;
    }
    p[i] = (unsigned char) ((g->state * 2685821657736338717ULL) >> (8 * ((g->pos + (long long) i) & 7)));
  }
  g->pos += (long long) len;
  return (long long) len;
}

static int
gen_rewind (void *opaque)
{
  struct gen *g = opaque;
  g->state = g->seed;
  g->pos = 0;
  return 0;
}

static void
gen_init (struct gen *g, unsigned long long seed, long long total)
{
  g->seed = seed ? seed : 1;
  g->total = total;
  g->fail_at = -1;
  g->max_chunk = 65536;
  gen_rewind (g);
}

/* SHA-256 of the generator's whole output. */
static void
gen_digest (unsigned long long seed, long long total, unsigned char out[32])
{
  struct gen g;
  gen_init (&g, seed, total);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
  unsigned char buf[65536];
  long long n;
  while ((n = gen_read (&g, buf, sizeof buf)) > 0)
    EVP_DigestUpdate (ctx, buf, (size_t) n);
  EVP_DigestFinal_ex (ctx, out, NULL);
  EVP_MD_CTX_free (ctx);
}

struct sink {
  EVP_MD_CTX *ctx;
  long long bytes;
  int resets;
};

static int
sink_write (void *opaque, const void *buf, size_t len)
{
  struct sink *s = opaque;
  EVP_DigestUpdate (s->ctx, buf, len);
  s->bytes += (long long) len;
  return 0;
}

static int
sink_reset (void *opaque)
{
  struct sink *s = opaque;
  EVP_DigestInit_ex (s->ctx, EVP_sha256 (), NULL);
  s->bytes = 0;
  s->resets++;
  return 0;
}

/* ---- reporting ---- */

static void
report (struct suite *s, const char *name, int result)   /* 0 ok, 1 fail, 2 skip */
{
  s->n++;
  if (result == 0)
    fprintf (s->o->out, "ok %d - %s\n", s->n, name);
  else if (result == 2) {
    s->skipped++;
    fprintf (s->o->out, "ok %d - %s # SKIP %s\n", s->n, name, s->why);
  }
  else {
    s->failed++;
    fprintf (s->o->out, "not ok %d - %s\n#   %s\n", s->n, name, s->why);
  }
  fflush (s->o->out);
  s->why[0] = '\0';
}

#define FAIL(...) do { snprintf (s->why, sizeof s->why, __VA_ARGS__); return 1; } while (0)
#define SKIP(...) do { snprintf (s->why, sizeof s->why, __VA_ARGS__); return 2; } while (0)

static char *
key (struct suite *s, const char *rest)
{
  return xasprintf ("%s%s", s->prefix, rest);
}

/* Put the generator's output under k, then read it back and compare the digest. */
static int
roundtrip (struct suite *s, const char *rest, unsigned long long seed, long long size,
           bool size_known, size_t chunk)
{
  char *k = key (s, rest);
  struct gen g;
  gen_init (&g, seed, size);
  g.max_chunk = chunk;
  struct rm_reader r = { gen_read, gen_rewind, size_known ? size : -1, &g };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct rm_error err;
  int rc = backend_put (s->b, k, &r, NULL, &info, &err);
  if (rc) {
    free (k);
    FAIL ("put failed: %s (%s)", err.message, rm_strerror (rc));
  }
  if (info.size >= 0 && info.size != size) {
    free (k);
    FAIL ("put reported size %lld, expected %lld", info.size, size);
  }
  struct sink sk = { EVP_MD_CTX_new (), 0, 0 };
  EVP_DigestInit_ex (sk.ctx, EVP_sha256 (), NULL);
  struct rm_writer w = { sink_write, sink_reset, &sk };
  struct rm_object_info ginfo = { sizeof ginfo, -1, -1, "" };
  rc = backend_get (s->b, k, &w, &ginfo, &err);
  unsigned char got[32], want[32];
  EVP_DigestFinal_ex (sk.ctx, got, NULL);
  EVP_MD_CTX_free (sk.ctx);
  free (k);
  if (rc)
    FAIL ("get failed: %s (%s)", err.message, rm_strerror (rc));
  if (sk.bytes != size)
    FAIL ("get returned %lld bytes, expected %lld", sk.bytes, size);
  gen_digest (seed, size, want);
  if (memcmp (got, want, 32) != 0)
    FAIL ("get returned different bytes than were put (%lld bytes, SHA-256 differs)", size);
  if (ginfo.size >= 0 && ginfo.size != size)
    FAIL ("get reported size %lld, expected %lld", ginfo.size, size);
  return 0;
}

static int
expect_code (struct suite *s, int rc, int want, const char *what, const struct rm_error *err)
{
  if (rc == want)
    return 0;
  FAIL ("%s: expected %s, got %s%s%s", what, want ? rm_strerror (want) : "success",
        rc ? rm_strerror (rc) : "success", rc ? ": " : "", rc ? err->message : "");
}

static int
get_text (struct suite *s, const char *k, struct strbuf *out, struct rm_error *err)
{
  (void) s;
  return backend_get_mem (s->b, k, out, NULL, err);
}

/* ---- checks ---- */

static int
check_empty (struct suite *s)
{
  return roundtrip (s, "objects/empty", 11, 0, true, 65536);
}

static int
check_one_byte (struct suite *s)
{
  return roundtrip (s, "objects/one", 12, 1, false, 65536);
}

static int
check_big (struct suite *s)
{
  return roundtrip (s, "objects/big", 13, (long long) s->o->big_size, true, 65536 - 17);
}

static int
check_overwrite (struct suite *s)
{
  char *k = key (s, "objects/overwrite");
  struct rm_error err;
  struct strbuf sb = STRBUF_INIT;
  int rc = backend_put_mem (s->b, k, "first version", 13, NULL, NULL, &err);
  if (!rc)
    rc = backend_put_mem (s->b, k, "second", 6, NULL, NULL, &err);
  if (!rc)
    rc = get_text (s, k, &sb, &err);
  free (k);
  if (rc) {
    strbuf_free (&sb);
    FAIL ("%s (%s)", err.message, rm_strerror (rc));
  }
  bool ok = sb.len == 6 && memcmp (sb.data, "second", 6) == 0;
  strbuf_free (&sb);
  if (!ok)
    FAIL ("after overwriting, get did not return the new content");
  return 0;
}

static int
check_missing (struct suite *s)
{
  char *k = key (s, "objects/never-written");
  struct rm_error err;
  struct strbuf sb = STRBUF_INIT;
  int rc = get_text (s, k, &sb, &err);
  strbuf_free (&sb);
  int r = expect_code (s, rc, RM_E_NOT_FOUND, "get of a missing key", &err);
  if (!r && backend_has_stat (s->b)) {
    struct rm_object_info info = { sizeof info, -1, -1, "" };
    rc = backend_stat (s->b, k, &info, &err);
    r = expect_code (s, rc, RM_E_NOT_FOUND, "stat of a missing key", &err);
  }
  free (k);
  return r;
}

static int
check_stat (struct suite *s)
{
  if (!backend_has_stat (s->b))
    SKIP ("the backend has no stat operation");
  char *k = key (s, "objects/stat");
  struct rm_error err;
  struct rm_object_info put_info = { sizeof put_info, -1, -1, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  int rc = backend_put_mem (s->b, k, "12345", 5, NULL, &put_info, &err);
  if (!rc)
    rc = backend_stat (s->b, k, &info, &err);
  free (k);
  if (rc)
    FAIL ("%s (%s)", err.message, rm_strerror (rc));
  if (info.size != 5)
    FAIL ("stat reported size %lld, expected 5", info.size);
  if (put_info.etag[0] && info.etag[0] && strcmp (put_info.etag, info.etag) != 0)
    FAIL ("stat etag '%s' differs from the etag put returned ('%s')", info.etag, put_info.etag);
  return 0;
}

static int
check_remove (struct suite *s)
{
  char *k = key (s, "objects/remove-me");
  struct rm_error err;
  struct strbuf sb = STRBUF_INIT;
  int rc = backend_put_mem (s->b, k, "x", 1, NULL, NULL, &err);
  if (rc) {
    free (k);
    FAIL ("put: %s", err.message);
  }
  rc = backend_remove (s->b, k, &err);
  int r = expect_code (s, rc, RM_OK, "delete of an existing key", &err);
  if (!r)
    r = expect_code (s, get_text (s, k, &sb, &err), RM_E_NOT_FOUND, "get after delete", &err);
  if (!r)
    r = expect_code (s, backend_remove (s->b, k, &err), RM_E_NOT_FOUND,
                     "delete of a missing key", &err);
  strbuf_free (&sb);
  free (k);
  return r;
}

struct collect {
  struct strlist keys;
  long long bad_size;         /* first emitted size that disagrees, or -2 */
  long long want_size;        /* -1: do not check */
};

static int
collect_emit (void *opaque, const struct rm_list_entry *e)
{
  struct collect *c = opaque;
  strlist_push (&c->keys, e->key);
  if (c->want_size >= 0 && e->size >= 0 && e->size != c->want_size && c->bad_size == -2)
    c->bad_size = e->size;
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* True if l is in strictly ascending byte order. */
static bool
sorted (const struct strlist *l)
{
  for (size_t i = 1; i < l->n; i++)
    if (strcmp (l->items[i - 1], l->items[i]) >= 0)
      return false;
  return true;
}

static int
check_list_prefix (struct suite *s)
{
  static const char *const names[] = { "list/a/b/2", "list/a/b/1", "list/a/c", "list/ab",
                                       "list/b" };
  struct rm_error err;
  for (size_t i = 0; i < ARRAY_SIZE (names); i++) {
    char *k = key (s, names[i]);
    int rc = backend_put_mem (s->b, k, "abc", 3, NULL, NULL, &err);
    free (k);
    if (rc)
      FAIL ("put: %s", err.message);
  }
  static const struct { const char *prefix; const char *expect; } cases[] = {
    { "list/a/b/", "list/a/b/1 list/a/b/2" },
    { "list/a", "list/a/b/1 list/a/b/2 list/a/c list/ab" },
    { "list/", "list/a/b/1 list/a/b/2 list/a/c list/ab list/b" },
    { "list/a/b/1", "list/a/b/1" },
    { "list/zzz", "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    char *p = key (s, cases[i].prefix);
    struct collect c = { STRLIST_INIT, -2, 3 };
    int rc = backend_list_all (s->b, p, collect_emit, &c, &err);
    free (p);
    if (rc) {
      strlist_free (&c.keys);
      FAIL ("list '%s': %s", cases[i].prefix, err.message);
    }
    struct strbuf got = STRBUF_INIT;
    size_t plen = strlen (s->prefix);
    for (size_t j = 0; j < c.keys.n; j++)
      strbuf_printf (&got, "%s%s", j ? " " : "",
                     str_has_prefix (c.keys.items[j], s->prefix) ? c.keys.items[j] + plen
                                                                 : c.keys.items[j]);
    bool ok = strcmp (got.data ? got.data : "", cases[i].expect) == 0;
    long long bad = c.bad_size;
    if (!ok)
      snprintf (s->why, sizeof s->why, "list with prefix '%s' returned [%s], expected [%s] "
                "(sorted by bytes)", cases[i].prefix, got.data ? got.data : "", cases[i].expect);
    strbuf_free (&got);
    strlist_free (&c.keys);
    if (!ok)
      return 1;
    if (bad != -2)
      FAIL ("list reported size %lld for a 3-byte object", bad);
  }
  return 0;
}

/* ---- pagination ---- */

struct put_job {
  struct suite *s;
  unsigned from, to;
  int rc;
  char msg[RM_ERROR_MESSAGE_MAX];
};

static char *
page_key (struct suite *s, unsigned i)
{
  /* Mixed directory depth and names whose byte order differs from numeric order. */
  return xasprintf ("%spage/d%u/k%u", s->prefix, i % 7, i);
}

static void *
put_range (void *arg)
{
  struct put_job *j = arg;
  for (unsigned i = j->from; i < j->to && !j->rc; i++) {
    char *k = page_key (j->s, i);
    struct rm_error err;
    j->rc = backend_put_mem (j->s->b, k, "p", 1, NULL, NULL, &err);
    if (j->rc)
      snprintf (j->msg, sizeof j->msg, "%s", err.message);
    free (k);
  }
  return NULL;
}

static int
list_pages (struct suite *s, unsigned page, struct strlist *all, unsigned *pages)
{
  char *p = xasprintf ("%spage/", s->prefix);
  char *token = xcalloc (1, RM_LIST_TOKEN_MAX), *next = xcalloc (1, RM_LIST_TOKEN_MAX);
  struct rm_error err;
  int r = 0;
  *pages = 0;
  for (;;) {
    struct collect c = { STRLIST_INIT, -2, -1 };
    int rc = backend_list (s->b, p, token, page, collect_emit, &c, next, RM_LIST_TOKEN_MAX, &err);
    (*pages)++;
    for (size_t i = 0; i < c.keys.n; i++)
      strlist_push (all, c.keys.items[i]);
    size_t got = c.keys.n;
    strlist_free (&c.keys);
    if (rc) {
      snprintf (s->why, sizeof s->why, "list page %u: %s", *pages, err.message);
      r = 1;
      break;
    }
    if (page && got > page) {
      snprintf (s->why, sizeof s->why, "list page %u returned %zu keys, max_keys was %u",
                *pages, got, page);
      r = 1;
      break;
    }
    if (!next[0])
      break;
    if (strcmp (next, token) == 0 || *pages > 100000) {
      snprintf (s->why, sizeof s->why, "list returned the same continuation token twice");
      r = 1;
      break;
    }
    memcpy (token, next, RM_LIST_TOKEN_MAX);
  }
  free (token);
  free (next);
  free (p);
  return r;
}

static int
check_pagination (struct suite *s)
{
  unsigned n = s->o->list_keys;
  unsigned threads = backend_max_parallel (s->b, s->o->threads ? s->o->threads : 8);
  if (threads > n)
    threads = n ? n : 1;
  struct put_job *jobs = xcalloc (threads, sizeof *jobs);
  pthread_t *tids = xcalloc (threads, sizeof *tids);
  bool *started = xcalloc (threads, sizeof *started);
  for (unsigned t = 0; t < threads; t++) {
    jobs[t].s = s;
    jobs[t].from = n * t / threads;
    jobs[t].to = n * (t + 1) / threads;
    /* A thread that cannot be started: its range is put on this thread. */
    started[t] = threads > 1 && pthread_create (&tids[t], NULL, put_range, &jobs[t]) == 0;
    if (!started[t])
      put_range (&jobs[t]);
  }
  int rc = 0;
  for (unsigned t = 0; t < threads; t++) {
    if (started[t])
      pthread_join (tids[t], NULL);
    if (jobs[t].rc && !rc) {
      rc = jobs[t].rc;
      snprintf (s->why, sizeof s->why, "put: %s", jobs[t].msg);
    }
  }
  free (jobs);
  free (tids);
  free (started);
  if (rc)
    return 1;

  char **want = xcalloc (n ? n : 1, sizeof *want);
  for (unsigned i = 0; i < n; i++)
    want[i] = page_key (s, i);
  qsort (want, n, sizeof *want, cmp_str);
  static const unsigned sizes[] = { 1000, 0, 999 };
  int r = 0;
  for (size_t z = 0; z < ARRAY_SIZE (sizes) && !r; z++) {
    struct strlist all = STRLIST_INIT;
    unsigned pages;
    r = list_pages (s, sizes[z], &all, &pages);
    if (!r && all.n != n)
      r = 1, snprintf (s->why, sizeof s->why, "listing %u keys with max_keys=%u returned %zu "
                       "keys in %u pages", n, sizes[z], all.n, pages);
    if (!r && !sorted (&all))
      r = 1, snprintf (s->why, sizeof s->why, "listing with max_keys=%u: keys not in ascending "
                       "byte order across pages (or repeated)", sizes[z]);
    for (unsigned i = 0; !r && i < n; i++)
      if (strcmp (all.items[i], want[i]) != 0)
        r = 1, snprintf (s->why, sizeof s->why, "listing with max_keys=%u: key %u is '%s', "
                         "expected '%s'", sizes[z], i, all.items[i], want[i]);
    if (!r && sizes[z] == 1000 && n > 1000 && pages < (n + 999) / 1000)
      r = 1, snprintf (s->why, sizeof s->why, "max_keys=1000 returned %u keys in only %u pages",
                       n, pages);
    strlist_free (&all);
  }
  /* Clean up with the batch delete (the backend's own when it has one). */
  int *codes = xcalloc (n ? n : 1, sizeof *codes);
  struct rm_error err;
  for (unsigned i = 0; i < n && !r; i += 1000) {
    unsigned m = n - i < 1000 ? n - i : 1000;
    int brc = backend_remove_many (s->b, (const char *const *) want + i, m, codes, &err);
    if (brc)
      r = 1, snprintf (s->why, sizeof s->why, "batch delete: %s", err.message);
    for (unsigned j = 0; j < m && !r; j++)
      if (codes[j] != RM_OK)
        r = 1, snprintf (s->why, sizeof s->why, "batch delete of '%s': %s", want[i + j],
                         rm_strerror (codes[j]));
  }
  if (!r) {
    char *p = xasprintf ("%spage/", s->prefix);
    struct collect c = { STRLIST_INIT, -2, -1 };
    if (backend_list_all (s->b, p, collect_emit, &c, &err) == RM_OK && c.keys.n)
      r = 1, snprintf (s->why, sizeof s->why, "%zu keys still listed after the batch delete",
                       c.keys.n);
    strlist_free (&c.keys);
    free (p);
  }
  free (codes);
  for (unsigned i = 0; i < n; i++)
    free (want[i]);
  free (want);
  return r;
}

static int
check_conditional (struct suite *s)
{
  if (!(backend_caps (s->b) & RM_CAP_CONDITIONAL_PUT))
    SKIP ("the backend does not advertise conditional-put");
  char *k = key (s, "cond/object");
  struct rm_error err;
  struct rm_put_options create = { sizeof create, RM_PUT_IF_NONE_MATCH, NULL, NULL };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  int r = expect_code (s, backend_put_mem (s->b, k, "v1", 2, &create, &info, &err), RM_OK,
                       "create-only put of a new key", &err);
  if (!r)
    r = expect_code (s, backend_put_mem (s->b, k, "v2", 2, &create, NULL, &err), RM_E_EXISTS,
                     "create-only put of an existing key", &err);
  if (!r && !info.etag[0] && backend_has_stat (s->b)) {
    info.struct_size = sizeof info;
    r = expect_code (s, backend_stat (s->b, k, &info, &err), RM_OK, "stat", &err);
  }
  if (!r && !info.etag[0])
    r = 1, snprintf (s->why, sizeof s->why, "no etag from put or stat: if_match is unusable");
  struct rm_put_options wrong = { sizeof wrong, 0, "\"not-the-etag\"", NULL };
  if (!r)
    r = expect_code (s, backend_put_mem (s->b, k, "v3", 2, &wrong, NULL, &err), RM_E_PRECONDITION,
                     "if-match put with a wrong etag", &err);
  struct rm_put_options right = { sizeof right, 0, info.etag, NULL };
  if (!r)
    r = expect_code (s, backend_put_mem (s->b, k, "v4", 2, &right, NULL, &err), RM_OK,
                     "if-match put with the current etag", &err);
  if (!r)
    r = expect_code (s, backend_put_mem (s->b, k, "v5", 2, &right, NULL, &err), RM_E_PRECONDITION,
                     "if-match put with a stale etag", &err);
  struct strbuf sb = STRBUF_INIT;
  if (!r)
    r = expect_code (s, get_text (s, k, &sb, &err), RM_OK, "get", &err);
  if (!r && !(sb.len == 2 && memcmp (sb.data, "v4", 2) == 0))
    r = 1, snprintf (s->why, sizeof s->why, "a refused conditional put changed the object");
  char *missing = key (s, "cond/missing");
  if (!r) {
    int rc = backend_put_mem (s->b, missing, "x", 1, &right, NULL, &err);
    if (rc != RM_E_NOT_FOUND && rc != RM_E_PRECONDITION)
      r = 1, snprintf (s->why, sizeof s->why, "if-match put of a missing key: expected not found "
                       "or precondition failed, got %s", rc ? rm_strerror (rc) : "success");
  }
  free (missing);
  strbuf_free (&sb);
  free (k);
  return r;
}

static const char *const odd_keys[] = {
  "odd/space in name", "odd/plus+sign", "odd/tilde~", "odd/percent%20not-decoded",
  "odd/utf8-\xc3\xbc\xc3\xb1\xc3\xaf\xc3\xa7\xc3\xb8\xc3\xb0\xc3\xa9",
  "odd/equals=and&amp", "odd/colon:at@semicolon;", "odd/quote'dq\"", "odd/brackets[]{}()",
  "odd/star*question?hash#", "odd/dash-underscore_dot.", "odd/..dots..", "odd/.hidden",
  "odd/comma,dollar$excl!", "odd/pipe|caret^back`tick", "odd/<angle>",
};

static int
check_odd_keys (struct suite *s)
{
  struct rm_error err;
  for (size_t i = 0; i < ARRAY_SIZE (odd_keys); i++) {
    char *k = key (s, odd_keys[i]);
    struct strbuf sb = STRBUF_INIT;
    int rc = backend_put_mem (s->b, k, odd_keys[i], strlen (odd_keys[i]), NULL, NULL, &err);
    if (!rc)
      rc = get_text (s, k, &sb, &err);
    bool same = !rc && sb.len == strlen (odd_keys[i]) && memcmp (sb.data, odd_keys[i], sb.len) == 0;
    strbuf_free (&sb);
    free (k);
    if (rc)
      FAIL ("key '%s': %s", odd_keys[i], err.message);
    if (!same)
      FAIL ("key '%s': get returned other content", odd_keys[i]);
  }
  char *p = key (s, "odd/");
  struct collect c = { STRLIST_INIT, -2, -1 };
  int rc = backend_list_all (s->b, p, collect_emit, &c, &err);
  free (p);
  if (rc) {
    strlist_free (&c.keys);
    FAIL ("list: %s", err.message);
  }
  int r = 0;
  if (c.keys.n != ARRAY_SIZE (odd_keys))
    r = 1, snprintf (s->why, sizeof s->why, "list returned %zu keys, expected %zu", c.keys.n,
                     ARRAY_SIZE (odd_keys));
  for (size_t i = 0; i < ARRAY_SIZE (odd_keys) && !r; i++) {
    char *k = key (s, odd_keys[i]);
    if (!strlist_contains (&c.keys, k))
      r = 1, snprintf (s->why, sizeof s->why, "key '%s' is not listed exactly as written",
                       odd_keys[i]);
    free (k);
  }
  if (!r && !sorted (&c.keys))
    r = 1, snprintf (s->why, sizeof s->why, "list is not in ascending byte order");
  strlist_free (&c.keys);
  return r;
}

static int
check_bad_keys (struct suite *s)
{
  /* Relative to the suite's prefix, each of these makes the full key invalid. */
  static const char *const bad[] = {
    "", "/absolute", "a//b", "a/../b", "..", "a/.", "./a", "trailing/", "back\\slash",
    "ctrl\001char", "tab\there", "del\177",
  };
  struct rm_error err;
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    char *k = key (s, bad[i]);
    struct strbuf sb = STRBUF_INIT;
    int rp = backend_put_mem (s->b, k, "x", 1, NULL, NULL, &err);
    int rg = get_text (s, k, &sb, &err);
    int rr = backend_remove (s->b, k, &err);
    strbuf_free (&sb);
    free (k);
    if (rp != RM_E_INVALID || rg != RM_E_INVALID || rr != RM_E_INVALID)
      FAIL ("key '%s%s': put/get/delete returned %s/%s/%s, expected invalid argument for all",
            s->prefix, bad[i], rm_strerror (rp), rm_strerror (rg), rm_strerror (rr));
  }
  char *longkey = xmalloc (RM_KEY_MAX + 2);
  memset (longkey, 'x', RM_KEY_MAX + 1);
  longkey[RM_KEY_MAX + 1] = '\0';
  int rc = backend_put_mem (s->b, longkey, "x", 1, NULL, NULL, &err);
  free (longkey);
  if (rc != RM_E_INVALID)
    FAIL ("a key of %d bytes: put returned %s, expected invalid argument", RM_KEY_MAX + 1,
          rm_strerror (rc));
  return 0;
}

static int
check_failed_reader (struct suite *s)
{
  char *k = key (s, "objects/keep-old");
  struct rm_error err;
  int rc = backend_put_mem (s->b, k, "old content", 11, NULL, NULL, &err);
  if (rc) {
    free (k);
    FAIL ("put: %s", err.message);
  }
  /* A reader that fails half-way, and one that ends before its declared size. */
  for (int variant = 0; variant < 2; variant++) {
    struct gen g;
    gen_init (&g, 21, 300000);
    struct rm_reader r = { gen_read, NULL, 300000, &g };
    if (variant == 0)
      g.fail_at = 150000;
    else
      g.total = 150000;
    rc = backend_put (s->b, k, &r, NULL, NULL, &err);
    if (rc == RM_OK) {
      free (k);
      FAIL ("%s: put reported success", variant == 0 ? "a reader failing half-way"
                                                     : "a reader ending before its declared size");
    }
    struct strbuf sb = STRBUF_INIT;
    rc = get_text (s, k, &sb, &err);
    bool same = !rc && sb.len == 11 && memcmp (sb.data, "old content", 11) == 0;
    strbuf_free (&sb);
    if (!same) {
      free (k);
      FAIL ("after a failed put (%s), the previous object was %s",
            variant == 0 ? "reader failed" : "reader short", rc ? "lost" : "changed");
    }
  }
  free (k);
  return 0;
}

/* ---- ABI 1.1: read-only opens and the write barrier ---- */

/* Keys under the suite's prefix + rest, as seen through the writable handle. */
static size_t
count_keys (struct suite *s, const char *rest, struct strbuf *first, struct rm_error *err,
            int *rc)
{
  char *p = key (s, rest);
  struct collect c = { STRLIST_INIT, -2, -1 };
  *rc = backend_list_all (s->b, p, collect_emit, &c, err);
  free (p);
  size_t n = c.keys.n;
  if (n)
    strbuf_puts (first, c.keys.items[0]);
  strlist_free (&c.keys);
  return n;
}

/* The longest leading part of path ending at a '/' (or path itself) that exists. */
static size_t
existing_len (const char *path)
{
  struct stat st;
  char *p = xstrdup (path);
  size_t n = strlen (p);
  while (n > 1 && lstat (p, &st) != 0) {
    char *slash = strrchr (p, '/');
    n = slash && slash != p ? (size_t) (slash - p) : 1;
    p[n] = '\0';
  }
  free (p);
  return n;
}

/* Remove what a careless read-only open made of path below its first base bytes (empty
 * directories and a file at path itself), deepest first. */
static void
remove_made (const char *path, size_t base)
{
  char *p = xstrdup (path);
  struct stat st;
  if (lstat (p, &st) == 0 && !S_ISDIR (st.st_mode))
    unlink (p);
  while (strlen (p) > base) {
    rmdir (p);
    char *slash = strrchr (p, '/');
    if (!slash)
      break;
    *slash = '\0';
  }
  free (p);
}

/* An open with RM_OPEN_READONLY on a store that does not exist yet opens, reads as
 * empty, and creates nothing: no directory, no file, no key. */
static int
check_readonly_open (struct suite *s)
{
  char *sub = xasprintf ("%sro/store", s->prefix);
  char *path = backend_beside_path (s->b, sub);   /* with a "path" key */
  size_t base = path ? existing_len (path) : 0;
  struct rm_error err;
  struct backend *ro = backend_open_beside (s->b, sub, RM_OPEN_READONLY, &err);
  free (sub);
  if (!ro) {
    if (path)
      remove_made (path, base);
    free (path);
    FAIL ("a read-only open of a store that does not exist yet failed: %s", err.message);
  }
  int r = 0;
  struct collect c = { STRLIST_INIT, -2, -1 };
  int rc = backend_list_all (ro, "", collect_emit, &c, &err);
  if (rc)
    r = 1, snprintf (s->why, sizeof s->why, "list on the read-only handle: %s", err.message);
  else if (c.keys.n)
    r = 1, snprintf (s->why, sizeof s->why, "list on a new read-only store returned %zu keys "
                     "(first '%s'), expected none", c.keys.n, c.keys.items[0]);
  strlist_free (&c.keys);
  struct strbuf sb = STRBUF_INIT;
  if (!r)
    r = expect_code (s, backend_get_mem (ro, "index.json", &sb, NULL, &err), RM_E_NOT_FOUND,
                     "get on a new read-only store", &err);
  strbuf_free (&sb);
  if (!r && backend_has_stat (ro)) {
    struct rm_object_info info = { sizeof info, -1, -1, "" };
    r = expect_code (s, backend_stat (ro, "index.json", &info, &err), RM_E_NOT_FOUND,
                     "stat on a new read-only store", &err);
  }
  (void) backend_caps (ro);
  free (backend_describe (ro));
  backend_close (ro);
  if (!r) {
    struct strbuf first = STRBUF_INIT;
    size_t n = count_keys (s, "ro/", &first, &err, &rc);
    if (rc)
      r = 1, snprintf (s->why, sizeof s->why, "list: %s", err.message);
    else if (n)
      r = 1, snprintf (s->why, sizeof s->why, "a read-only open created %zu keys (first '%s')",
                       n, first.data);
    strbuf_free (&first);
  }
  if (!r && path && existing_len (path) > base) {
    const char *next = strchr (path + base + 1, '/');   /* the first part made */
    r = 1, snprintf (s->why, sizeof s->why, "a read-only open of %s created %.*s", path,
                     (int) (next ? (size_t) (next - path) : strlen (path)), path);
  }
  if (path)   /* leave no trace of a failure either */
    remove_made (path, base);
  free (path);
  return r;
}

/* The barrier (ABI 1.1 sync), on a new handle opened RM_OPEN_BARRIER beside the
 * suite's: harmless before anything was written; after puts and a delete it returns
 * RM_OK and the objects read back as written. */
static int
check_barrier (struct suite *s)
{
  if (!backend_has_sync (s->b))
    SKIP ("the backend has no sync: each put and delete is durable when it returns");
  char *sub = xasprintf ("%sbarrier", s->prefix);
  char *path = backend_beside_path (s->b, sub);
  size_t base = path ? existing_len (path) : 0;
  struct rm_error err;
  struct backend *bb = backend_open_beside (s->b, sub, RM_OPEN_BARRIER, &err);
  free (sub);
  int r = 0;
  if (!bb)
    r = 1, snprintf (s->why, sizeof s->why, "open with RM_OPEN_BARRIER: %s", err.message);
  if (!r)
    r = expect_code (s, backend_sync_always (bb, &err), RM_OK, "sync with nothing written",
                     &err);
  static const char *const names[] = { "a", "b/c", "gone" };
  for (size_t i = 0; i < ARRAY_SIZE (names) && !r; i++)
    r = expect_code (s, backend_put_mem (bb, names[i], names[i], strlen (names[i]), NULL, NULL,
                                         &err), RM_OK, "put", &err);
  if (!r)
    r = expect_code (s, backend_remove (bb, "gone", &err), RM_OK, "delete", &err);
  if (!r)
    r = expect_code (s, backend_sync (bb, &err), RM_OK, "sync after puts and a delete", &err);
  if (!r)
    r = expect_code (s, backend_sync_always (bb, &err), RM_OK, "a second sync", &err);
  for (size_t i = 0; i < 2 && !r; i++) {
    struct strbuf sb = STRBUF_INIT;
    r = expect_code (s, backend_get_mem (bb, names[i], &sb, NULL, &err), RM_OK,
                     "get after sync", &err);
    if (!r && !(sb.len == strlen (names[i]) && memcmp (sb.data, names[i], sb.len) == 0))
      r = 1, snprintf (s->why, sizeof s->why, "after sync, '%s' reads back other content",
                       names[i]);
    strbuf_free (&sb);
  }
  struct strbuf sb = STRBUF_INIT;
  if (!r)
    r = expect_code (s, backend_get_mem (bb, "gone", &sb, NULL, &err), RM_E_NOT_FOUND,
                     "get of a key deleted before sync", &err);
  strbuf_free (&sb);
  if (bb) {
    struct rm_error e;
    for (size_t i = 0; i < ARRAY_SIZE (names); i++)
      backend_remove (bb, names[i], &e);
    backend_close (bb);
  }
  if (path)
    remove_made (path, base);
  free (path);
  return r;
}

static int
check_cleanup (struct suite *s)
{
  struct rm_error err;
  struct collect c = { STRLIST_INIT, -2, -1 };
  int rc = backend_list_all (s->b, s->prefix, collect_emit, &c, &err);
  if (rc) {
    strlist_free (&c.keys);
    FAIL ("list: %s", err.message);
  }
  int *codes = xcalloc (c.keys.n + 1, sizeof *codes);
  rc = backend_remove_many (s->b, (const char *const *) c.keys.items, c.keys.n, codes, &err);
  free (codes);
  strlist_free (&c.keys);
  if (rc)
    FAIL ("delete: %s", err.message);
  struct collect after = { STRLIST_INIT, -2, -1 };
  rc = backend_list_all (s->b, s->prefix, collect_emit, &after, &err);
  size_t left = after.keys.n;
  strlist_free (&after.keys);
  if (rc)
    FAIL ("list: %s", err.message);
  if (left)
    FAIL ("%zu keys remain under %s after deleting everything", left, s->prefix);
  return 0;
}

int
conformance_run (struct backend *b, const struct conformance_opts *o)
{
  struct suite s = { .b = b, .o = o };
  unsigned char rnd[6];
  if (RAND_bytes (rnd, sizeof rnd) != 1)
    memset (rnd, (int) getpid (), sizeof rnd);
  snprintf (s.prefix, sizeof s.prefix, "rm-check-%02x%02x%02x%02x%02x%02x/", rnd[0], rnd[1],
            rnd[2], rnd[3], rnd[4], rnd[5]);
  char *where = backend_describe (b);
  const struct plugin *p = backend_plugin (b);
  char *caps = plugin_caps_string (backend_caps (b));
  fprintf (o->out, "# backend %s %s (ABI %u.%u), %s\n# threads: %s; capabilities: %s\n"
           "# test prefix: %s\n", p->desc.name, p->desc.version ? p->desc.version : "",
           (unsigned) p->desc.abi_major, (unsigned) p->desc.abi_minor, where,
           plugin_thread_model_name (p->desc.thread_model), caps, s.prefix);
  free (where);
  free (caps);

  static const struct { const char *name; int (*fn) (struct suite *); } checks[] = {
    { "put and get an empty object", check_empty },
    { "put and get a 1-byte object of undeclared size", check_one_byte },
    { "put and get a large object streamed in odd-sized chunks", check_big },
    { "put replaces an existing object", check_overwrite },
    { "get and stat of a missing key report not found", check_missing },
    { "stat reports size and etag", check_stat },
    { "delete removes a key; deleting it again reports not found", check_remove },
    { "list filters by prefix and sorts by bytes", check_list_prefix },
    { "list paginates with continuation tokens; batch delete", check_pagination },
    { "conditional put: create-only and if-match", check_conditional },
    { "keys with unusual but legal characters round-trip", check_odd_keys },
    { "invalid keys are rejected", check_bad_keys },
    { "a failed or short upload keeps the previous object", check_failed_reader },
    { "a read-only open of a new store reads as empty and creates nothing",
      check_readonly_open },
    { "sync (the barrier) with nothing written, after puts and a delete", check_barrier },
    { "everything written is deleted again", check_cleanup },
  };
  fprintf (o->out, "1..%zu\n", ARRAY_SIZE (checks));
  for (size_t i = 0; i < ARRAY_SIZE (checks); i++) {
    char name[256];
    if (checks[i].fn == check_big)
      snprintf (name, sizeof name, "%s (%zu bytes)", checks[i].name, o->big_size);
    else if (checks[i].fn == check_pagination)
      snprintf (name, sizeof name, "%s (%u keys)", checks[i].name, o->list_keys);
    else
      snprintf (name, sizeof name, "%s", checks[i].name);
    report (&s, name, checks[i].fn (&s));
  }
  fprintf (o->out, "# %d passed, %d failed, %d skipped\n", s.n - s.failed - s.skipped, s.failed,
           s.skipped);
  return s.failed;
}
