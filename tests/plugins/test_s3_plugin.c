/* The built s3.so against a real S3 protocol server (moto on loopback, started by
 * tests/plugins/test_s3_moto.py, which passes the endpoint and keys in $S3_TEST_OPTS).  Covers
 * the ABI contract: round trips with awkward keys, stat, NOT_FOUND, conditional puts,
 * multipart (known and unknown size), list pagination, bulk delete, parallel use of one
 * handle, reader/writer failures and wrong credentials.  Skips when run without moto. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "s3/harness.h"

static const struct rm_backend *be;
static void *h;
static struct rm_kv *cfg;

static void
setup (void)
{
  char e[4200];
  struct rm_error err = { 0, "" };
  if (getenv ("S3_TEST_OPTS") == NULL)
    cr_skip_test ("S3_TEST_OPTS not set: run through tests/plugins/test_s3_moto.py");
  be = harness_load (e, sizeof e);
  cr_assert_not_null (be, "%s", e);
  cfg = harness_env_config (be, NULL, 0);
  cr_assert_eq (be->open (&harness_host, cfg, &h, &err), RM_OK, "open: %s", err.message);
}

static void
teardown (void)
{
  if (be && h)
    be->close (h);
  h = NULL;
  if (cfg)
    harness_config_free (cfg);
  cfg = NULL;
}

TestSuite (s3plugin, .init = setup, .fini = teardown, .timeout = 300);

/* ---- memory reader / writer ---- */

struct mem {
  unsigned char *data;
  size_t len, off, cap;
  long long fail_at;            /* reader fails once off reaches this (-1 never) */
  int write_fail;
};

static long long
mem_read (void *opaque, void *buf, size_t len)
{
  struct mem *m = opaque;
  size_t n = m->len - m->off;
  if (m->fail_at >= 0 && (long long) m->off >= m->fail_at)
    return -1;
  if (n > len)
    n = len;
  if (n > 100000)
    n = 100000;                 /* short reads, like a pipe */
  memcpy (buf, m->data + m->off, n);
  m->off += n;
  return (long long) n;
}

static int
mem_rewind (void *opaque)
{
  ((struct mem *) opaque)->off = 0;
  return 0;
}

static int
mem_write (void *opaque, const void *buf, size_t len)
{
  struct mem *m = opaque;
  if (m->write_fail)
    return -1;
  if (m->len + len > m->cap) {
    m->cap = (m->len + len) * 2;
    m->data = realloc (m->data, m->cap);
  }
  memcpy (m->data + m->len, buf, len);
  m->len += len;
  return 0;
}

static int
mem_reset (void *opaque)
{
  ((struct mem *) opaque)->len = 0;
  return 0;
}

static int
put_bytes (const char *key, const void *data, size_t len, long long announced,
           const struct rm_put_options *o, struct rm_object_info *info, struct rm_error *err)
{
  struct mem m = { (unsigned char *) data, len, 0, 0, -1, 0 };
  struct rm_reader r = { mem_read, mem_rewind, announced, &m };
  return be->put (h, key, &r, o, info, err);
}

static int
get_bytes (const char *key, struct mem *out, struct rm_object_info *info, struct rm_error *err)
{
  struct rm_writer w = { mem_write, mem_reset, out };
  memset (out, 0, sizeof *out);
  return be->get (h, key, &w, info, err);
}

static unsigned char *
pattern (size_t len, unsigned seed)
{
  unsigned char *p = malloc (len);
  size_t i;
  for (i = 0; i < len; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (unsigned char) (seed >> 16);
  }
  return p;
}

/* ---- tests ---- */

Test (s3plugin, roundtrip_awkward_keys)
{
  static const char *keys[] = {
    "rt/plain.json.gz", "rt/with space", "rt/plus+sign", "rt/tilde~x", "rt/percent%20lit",
    "rt/eq=colon:at@", "rt/utf8-\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa6", "rt/amp&lt<gt>", "rt/q?hash#",
    "rt/nested/deeper/file",
  };
  size_t i;
  for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    struct rm_error err = { 0, "" };
    struct rm_object_info info = { sizeof info, -1, -1, "" };
    struct mem got;
    char body[256];
    int n = snprintf (body, sizeof body, "body of %s", keys[i]);
    cr_assert_eq (put_bytes (keys[i], body, (size_t) n, n, NULL, &info, &err), RM_OK,
                  "put %s: %s", keys[i], err.message);
    cr_expect_eq (info.size, n);
    cr_expect_neq (info.etag[0], '\0');
    cr_assert_eq (get_bytes (keys[i], &got, &info, &err), RM_OK, "get %s: %s", keys[i], err.message);
    cr_expect (got.len == (size_t) n && memcmp (got.data, body, (size_t) n) == 0, "%s", keys[i]);
    cr_expect_eq (info.size, n);
    cr_expect_gt (info.mtime, 1600000000LL);
    free (got.data);
  }
}

struct listed {
  char keys[64][128];
  int n;
};

static int
collect (void *opaque, const struct rm_list_entry *e)
{
  struct listed *l = opaque;
  if (l->n < 64)
    snprintf (l->keys[l->n++], sizeof l->keys[0], "%s", e->key);
  return 0;
}

Test (s3plugin, list_exact_keys_in_order)
{
  static const char *keys[] = { "ls/a b", "ls/a+b", "ls/a~b", "ls/\xc3\xa9", "ls/z/1" };
  struct listed l = { .n = 0 };
  char tok[RM_LIST_TOKEN_MAX];
  struct rm_error err = { 0, "" };
  size_t i;
  for (i = 0; i < 5; i++)
    cr_assert_eq (put_bytes (keys[i], "x", 1, 1, NULL, NULL, &err), RM_OK, "%s", err.message);
  cr_assert_eq (be->list (h, "ls/", NULL, 0, collect, &l, tok, sizeof tok, &err), RM_OK, "%s",
                err.message);
  cr_expect_str_eq (tok, "");
  cr_assert_eq (l.n, 5);
  /* ascending byte order: ' ' < '+' < 'z' < '~' < 0xc3 */
  cr_expect_str_eq (l.keys[0], "ls/a b");
  cr_expect_str_eq (l.keys[1], "ls/a+b");
  cr_expect_str_eq (l.keys[2], "ls/a~b");
  cr_expect_str_eq (l.keys[3], "ls/z/1");
  cr_expect_str_eq (l.keys[4], "ls/\xc3\xa9");
  /* A prefix that needs encoding in the query. */
  l.n = 0;
  cr_assert_eq (be->list (h, "ls/a+", NULL, 0, collect, &l, tok, sizeof tok, &err), RM_OK);
  cr_expect_eq (l.n, 1);
  cr_expect_str_eq (l.keys[0], "ls/a+b");
}

Test (s3plugin, not_found)
{
  struct rm_error err = { 0, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct mem got;
  cr_expect_eq (get_bytes ("nf/missing", &got, NULL, &err), RM_E_NOT_FOUND);
  cr_expect (strstr (err.message, "NoSuchKey") != NULL, "%s", err.message);
  cr_expect (strstr (err.message, "request id") != NULL, "%s", err.message);
  free (got.data);
  cr_expect_eq (be->stat (h, "nf/missing", &info, &err), RM_E_NOT_FOUND);
  cr_expect_eq (be->remove (h, "nf/missing", &err), RM_E_NOT_FOUND);
  cr_expect_eq (put_bytes ("nf/x", "1", 1, 1, NULL, NULL, &err), RM_OK);
  cr_expect_eq (be->remove (h, "nf/x", &err), RM_OK, "%s", err.message);
  cr_expect_eq (be->stat (h, "nf/x", &info, &err), RM_E_NOT_FOUND);
}

Test (s3plugin, invalid_keys)
{
  struct rm_error err = { 0, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  cr_expect_eq (put_bytes ("a//b", "1", 1, 1, NULL, NULL, &err), RM_E_INVALID);
  cr_expect_eq (put_bytes ("../x", "1", 1, 1, NULL, NULL, &err), RM_E_INVALID);
  cr_expect_eq (be->stat (h, "/abs", &info, &err), RM_E_INVALID);
}

Test (s3plugin, conditional_puts)
{
  struct rm_error err = { 0, "" };
  struct rm_object_info i1 = { sizeof i1, -1, -1, "" }, i2 = { sizeof i2, -1, -1, "" };
  struct rm_put_options create = { sizeof create, RM_PUT_IF_NONE_MATCH, NULL, NULL };
  struct rm_put_options match = { sizeof match, 0, NULL, "application/json" };
  cr_expect (be->capabilities (h) & RM_CAP_CONDITIONAL_PUT, "moto honours If-None-Match");
  cr_assert_eq (put_bytes ("cond/lease", "v1", 2, 2, &create, &i1, &err), RM_OK, "%s", err.message);
  cr_expect_eq (put_bytes ("cond/lease", "v2", 2, 2, &create, NULL, &err), RM_E_EXISTS, "%s",
                err.message);
  match.if_match = i1.etag;
  cr_expect_eq (put_bytes ("cond/lease", "v3", 2, 2, &match, &i2, &err), RM_OK, "%s", err.message);
  cr_expect_str_neq (i1.etag, i2.etag);
  /* i1's etag is stale now */
  cr_expect_eq (put_bytes ("cond/lease", "v4", 2, 2, &match, NULL, &err), RM_E_PRECONDITION, "%s",
                err.message);
  match.if_match = i2.etag;
  cr_expect_eq (put_bytes ("cond/absent", "v", 1, 1, &match, NULL, &err), RM_E_NOT_FOUND, "%s",
                err.message);
  struct mem got;
  cr_assert_eq (get_bytes ("cond/lease", &got, NULL, &err), RM_OK);
  cr_expect (got.len == 2 && memcmp (got.data, "v3", 2) == 0);
  free (got.data);
}

static void
multipart_case (const char *key, long long announced)
{
  size_t len = 20u << 20;       /* 20 MiB: parts of 8 + 8 + 4 MiB */
  unsigned char *data = pattern (len, 7);
  struct rm_error err = { 0, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct mem got;
  cr_assert_eq (put_bytes (key, data, len, announced, NULL, &info, &err), RM_OK, "%s", err.message);
  cr_expect_eq (info.size, (long long) len);
  cr_expect (strstr (info.etag, "-3\"") != NULL, "multipart etag %s", info.etag);
  cr_assert_eq (get_bytes (key, &got, &info, &err), RM_OK, "%s", err.message);
  cr_expect (got.len == len && memcmp (got.data, data, len) == 0, "20 MiB differ");
  cr_expect_eq (info.size, (long long) len);
  free (got.data);
  free (data);
}

Test (s3plugin, multipart_known_size) { multipart_case ("mp/known", 20 << 20); }
Test (s3plugin, multipart_unknown_size) { multipart_case ("mp/unknown", -1); }

Test (s3plugin, exactly_threshold_is_single)
{
  size_t len = 8u << 20;
  unsigned char *data = pattern (len, 3);
  struct rm_error err = { 0, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  cr_assert_eq (put_bytes ("mp/eight", data, len, -1, NULL, &info, &err), RM_OK, "%s", err.message);
  cr_expect (strchr (info.etag, '-') == NULL, "single put etag %s", info.etag);
  free (data);
}

Test (s3plugin, empty_object)
{
  struct rm_error err = { 0, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct mem got;
  cr_assert_eq (put_bytes ("empty/x", "", 0, 0, NULL, NULL, &err), RM_OK, "%s", err.message);
  cr_assert_eq (get_bytes ("empty/x", &got, &info, &err), RM_OK, "%s", err.message);
  cr_expect_eq (got.len, 0);
  cr_expect_eq (info.size, 0);
  free (got.data);
}

Test (s3plugin, reader_failure_stores_nothing)
{
  size_t len = 12u << 20;
  unsigned char *data = pattern (len, 9);
  struct mem m = { data, len, 0, 0, 9 << 20, 0 };     /* fails inside part 2 */
  struct rm_reader r = { mem_read, NULL, (long long) len, &m };
  struct rm_error err = { 0, "" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  cr_expect_eq (be->put (h, "fail/reader", &r, NULL, NULL, &err), RM_E_ABORTED, "%s", err.message);
  cr_expect_eq (be->stat (h, "fail/reader", &info, &err), RM_E_NOT_FOUND);
  /* small object: fails before anything is sent */
  m.off = 0;
  m.fail_at = 10;
  r.size = 100;
  cr_expect_eq (be->put (h, "fail/reader2", &r, NULL, NULL, &err), RM_E_ABORTED);
  cr_expect_eq (be->stat (h, "fail/reader2", &info, &err), RM_E_NOT_FOUND);
  /* announced size disagrees with the data */
  cr_expect_eq (put_bytes ("fail/short", "abc", 3, 10, NULL, NULL, &err), RM_E_ABORTED);
  cr_expect_eq (be->stat (h, "fail/short", &info, &err), RM_E_NOT_FOUND);
  free (data);
}

Test (s3plugin, writer_failure)
{
  struct rm_error err = { 0, "" };
  struct mem out = { NULL, 0, 0, 0, -1, 1 };
  struct rm_writer w = { mem_write, NULL, &out };
  cr_assert_eq (put_bytes ("wf/x", "data", 4, 4, NULL, NULL, &err), RM_OK);
  cr_expect_eq (be->get (h, "wf/x", &w, NULL, &err), RM_E_ABORTED, "%s", err.message);
}

/* 1100 keys from 8 threads on one handle (RM_THREAD_PARALLEL), listed back in pages of
 * the server's maximum, then deleted in batches with remove_many.  (`backends check s3`
 * in tests/plugins/test_s3_moto.py does the same with 2600 keys through the core.) */
struct pjob {
  int start, count;
  int failures;
};

static void *
put_range (void *arg)
{
  struct pjob *j = arg;
  int i;
  for (i = j->start; i < j->start + j->count; i++) {
    char key[64], body[32];
    struct rm_error err = { 0, "" };
    int n = snprintf (body, sizeof body, "%d", i);
    snprintf (key, sizeof key, "many/k%05d", i);
    if (put_bytes (key, body, (size_t) n, n, NULL, NULL, &err) != RM_OK)
      j->failures++;
  }
  return NULL;
}

static int
count_emit (void *opaque, const struct rm_list_entry *e)
{
  int *n = opaque;
  char want[64];
  snprintf (want, sizeof want, "many/k%05d", *n);
  if (strcmp (e->key, want) != 0)
    return 1;                   /* order or content wrong: stops with ABORTED */
  (*n)++;
  return 0;
}

Test (s3plugin, pagination_parallel_bulk_delete)
{
  enum { N = 1100, T = 8 };
  pthread_t th[T];
  struct pjob jobs[T];
  char tok[RM_LIST_TOKEN_MAX] = "", prev[RM_LIST_TOKEN_MAX];
  struct rm_error err = { 0, "" };
  int t, n = 0, pages = 0, i;
  for (t = 0; t < T; t++) {
    jobs[t] = (struct pjob) { t * (N / T) + (t < N % T ? t : N % T), N / T + (t < N % T), 0 };
    pthread_create (&th[t], NULL, put_range, &jobs[t]);
  }
  for (t = 0; t < T; t++) {
    pthread_join (th[t], NULL);
    cr_assert_eq (jobs[t].failures, 0);
  }
  do {
    snprintf (prev, sizeof prev, "%s", tok);
    cr_assert_eq (be->list (h, "many/", prev, 0, count_emit, &n, tok, sizeof tok, &err), RM_OK,
                  "page %d: %s", pages, err.message);
    pages++;
  } while (tok[0]);
  cr_expect_eq (n, N);
  cr_expect_eq (pages, 2);
  /* a small max_keys gives small pages */
  n = 0;
  cr_assert_eq (be->list (h, "many/", NULL, 7, count_emit, &n, tok, sizeof tok, &err), RM_OK);
  cr_expect_eq (n, 7);
  cr_expect_neq (tok[0], '\0');

  const char **keys = calloc (N + 2, sizeof *keys);
  int *codes = calloc (N + 2, sizeof *codes);
  char (*names)[32] = calloc (N, sizeof *names);
  for (i = 0; i < N; i++) {
    snprintf (names[i], sizeof names[i], "many/k%05d", i);
    keys[i] = names[i];
  }
  keys[N] = "bad//key";
  keys[N + 1] = "many/never-existed";
  cr_assert_eq (be->remove_many (h, keys, N + 2, codes, &err), RM_OK, "%s", err.message);
  for (i = 0; i < N; i++)
    cr_expect_eq (codes[i], RM_OK, "%s: %d", keys[i], codes[i]);
  cr_expect_eq (codes[N], RM_E_INVALID);
  n = 0;
  cr_assert_eq (be->list (h, "many/", NULL, 0, count_emit, &n, tok, sizeof tok, &err), RM_OK);
  cr_expect_eq (n, 0);
  free (keys);
  free (codes);
  free (names);
}

Test (s3plugin, wrong_secret_is_auth)
{
  const char *extra[] = { "secret_access_key=definitely-Wrong-Secret" };
  struct rm_kv *bad = harness_env_config (be, extra, 1);
  void *bh = NULL;
  struct rm_error err = { 0, "" };
  struct mem got;
  struct rm_writer w = { mem_write, mem_reset, &got };
  memset (&got, 0, sizeof got);
  cr_assert_eq (be->open (&harness_host, bad, &bh, &err), RM_OK, "%s", err.message);
  cr_expect_eq (be->get (bh, "rt/plain.json.gz", &w, NULL, &err), RM_E_AUTH, "%s", err.message);
  cr_expect (strstr (err.message, "SignatureDoesNotMatch") != NULL, "%s", err.message);
  cr_expect (strstr (err.message, "definitely-Wrong-Secret") == NULL);
  cr_expect (strstr (harness_log, "definitely-Wrong-Secret") == NULL);
  be->close (bh);
  free (bad);
  free (got.data);
}

Test (s3plugin, describe_and_caps)
{
  char buf[512];
  cr_assert_eq (be->describe (h, buf, sizeof buf), 0);
  cr_expect (strstr (buf, "s3://") == buf, "%s", buf);
  cr_expect (strstr (buf, "path-style") != NULL, "%s", buf);
  cr_expect (be->capabilities (h) & RM_CAP_REMOTE);
  cr_expect_eq (be->thread_model, RM_THREAD_PARALLEL);
}

/* ABI 1.1: a handle opened RM_OPEN_READONLY reads, writes nothing (not even the
 * conditional-write probe's scratch key) and describes itself with the key prefix. */
Test (s3plugin, readonly_open_writes_nothing_and_describes_the_prefix)
{
  struct rm_host ro_host = harness_host;
  ro_host.open_flags = RM_OPEN_READONLY;
  ro_host.key_prefix = "ro-pre/";
  struct rm_error err = { 0, "" };
  void *ro = NULL;
  cr_assert_eq (put_bytes ("ro-pre/seen", "x", 1, 1, NULL, NULL, &err), RM_OK, "%s", err.message);
  cr_assert_eq (be->open (&ro_host, cfg, &ro, &err), RM_OK, "open read-only: %s", err.message);
  char buf[512];
  cr_assert_eq (be->describe (ro, buf, sizeof buf), 0);
  cr_expect (strstr (buf, "s3://") == buf && strstr (buf, "/ro-pre/ (") != NULL, "%s", buf);
  harness_log_len = 0;
  harness_log[0] = '\0';
  uint64_t caps = be->capabilities (ro);
  cr_expect (strstr (harness_log, "conditional writes") == NULL,
             "a read-only handle probed conditional writes (a write): %s", harness_log);
  cr_expect (caps & RM_CAP_REMOTE);
  struct mem m = { NULL, 0, 0, 0, -1, 0 };
  struct rm_writer w = { mem_write, mem_reset, &m };
  cr_expect_eq (be->get (ro, "ro-pre/seen", &w, NULL, &err), RM_OK, "%s", err.message);
  free (m.data);
  struct mem src = { (unsigned char *) "y", 1, 0, 0, -1, 0 };
  struct rm_reader r = { mem_read, mem_rewind, 1, &src };
  cr_expect_eq (be->put (ro, "ro-pre/new", &r, NULL, NULL, &err), RM_E_PERMISSION);
  cr_expect_eq (be->remove (ro, "ro-pre/seen", &err), RM_E_PERMISSION);
  be->close (ro);
  cr_expect_eq (be->remove (h, "ro-pre/seen", &err), RM_OK, "%s", err.message);
}

/* The CA bundle as the AWS CLI finds it (option, AWS_CA_BUNDLE, profile; the order is
 * test_s3_creds's): one that cannot be read fails the open, naming the file and where it
 * came from. */
Test (s3plugin, missing_ca_bundle_names_the_file)
{
  const char *extra[] = { "ca_bundle=/nonexistent/option-ca.pem" };
  struct rm_kv *bad = harness_env_config (be, extra, 1);
  void *bh = NULL;
  struct rm_error err = { 0, "" };
  cr_expect_eq (be->open (&harness_host, bad, &bh, &err), RM_E_CONFIG);
  cr_expect_str_eq (err.message, "ca_bundle: cannot read the CA bundle /nonexistent/option-ca.pem "
                    "(from option ca_bundle): No such file or directory");
  harness_config_free (bad);
  /* harness_env_config reuses one copy of $S3_TEST_OPTS: the fixture's cfg points into
   * the copy it just replaced, so take the settings again. */
  struct rm_kv *plain = harness_env_config (be, NULL, 0);
  setenv ("AWS_CA_BUNDLE", "/nonexistent/env-ca.pem", 1);
  cr_expect_eq (be->open (&harness_host, plain, &bh, &err), RM_E_CONFIG);
  cr_expect_str_eq (err.message, "ca_bundle: cannot read the CA bundle /nonexistent/env-ca.pem "
                    "(from AWS_CA_BUNDLE): No such file or directory");
  /* A readable one is taken (moto is plain HTTP here, so it is not used). */
  setenv ("AWS_CA_BUNDLE", "/dev/null", 1);
  cr_assert_eq (be->open (&harness_host, plain, &bh, &err), RM_OK, "%s", err.message);
  be->close (bh);
  unsetenv ("AWS_CA_BUNDLE");
  harness_config_free (plain);
}
