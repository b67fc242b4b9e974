/* Tests of the local backend (plugins/local/local.c, compiled into this program and
 * reached through rm_backend_init()).  Each test gets a fresh directory under /tmp with
 * the backend opened on DIR/root; the fixture removes it afterwards.  Tests that need
 * privileges (a small tmpfs for ENOSPC, setuid for EACCES) say why when they skip. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include <releasemanager/backend.h>

/* Under LeakSanitizer, each test checks for leaks at its end: Criterion reports a
 * test's result before its worker exits and ignores failures in .fini, so the exit-time
 * leak report would go unnoticed. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_LSAN 1
#endif
#endif
#ifdef TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* From local.c, visible because it is built with -DRM_UNITTEST. */
int local_errno_code (int errnum);
int local_tmp_name (const char *tag, long pid, char *out, size_t size);
const char *local_test_tag (void *handle);
void local_test_no_openat2 (void *handle);

/* ---- write(2) shim (-Wl,--wrap=write): fail after a byte budget ------------------- */

ssize_t __real_write (int fd, const void *buf, size_t n);
ssize_t __wrap_write (int fd, const void *buf, size_t n);
static int shim_errno;             /* 0: pass everything through */
static long long shim_budget;      /* bytes still allowed before writes fail */
static size_t shim_short;          /* if set, write at most this many bytes per call */

ssize_t
__wrap_write (int fd, const void *buf, size_t n)
{
  if (shim_short && n > shim_short)
    n = shim_short;
  if (shim_errno) {
    if (shim_budget <= 0) {
      errno = shim_errno;
      return -1;
    }
    if ((long long) n > shim_budget)
      n = (size_t) shim_budget;
    shim_budget -= (long long) n;
  }
  return __real_write (fd, buf, n);
}

/* ---- fsync(2) and syncfs(2) shims (-Wl,--wrap): count calls, fail on demand -------- */

int __real_fsync (int fd);
int __wrap_fsync (int fd);
int __real_syncfs (int fd);
int __wrap_syncfs (int fd);
static atomic_int fsync_calls, syncfs_calls;
static int sync_errno;             /* 0: pass through; else fail fsync and syncfs */

int
__wrap_fsync (int fd)
{
  atomic_fetch_add (&fsync_calls, 1);
  if (sync_errno) {
    errno = sync_errno;
    return -1;
  }
  return __real_fsync (fd);
}

int
__wrap_syncfs (int fd)
{
  atomic_fetch_add (&syncfs_calls, 1);
  if (sync_errno) {
    errno = sync_errno;
    return -1;
  }
  return __real_syncfs (fd);
}

/* ---- fixture ----------------------------------------------------------------------- */

/* Warnings and errors the backend logged, for tests that expect one. */
static char logged[16384];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void test_log (const struct rm_host *host, int level, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
test_log (const struct rm_host *host, int level, const char *fmt, ...)
{
  va_list ap;
  size_t n;

  (void) host;
  if (level > RM_LOG_WARN)
    return;
  pthread_mutex_lock (&log_lock);
  n = strlen (logged);
  va_start (ap, fmt);
  vsnprintf (logged + n, sizeof logged - n, fmt, ap);
  va_end (ap);
  n = strlen (logged);
  if (n + 1 < sizeof logged)
    strcpy (logged + n, "\n");
  pthread_mutex_unlock (&log_lock);
}

static const struct rm_host host = {
  .struct_size = sizeof (struct rm_host),
  .abi_major = RM_BACKEND_ABI_MAJOR,
  .abi_minor = RM_BACKEND_ABI_MINOR,
  .version = "test",
  .user_agent = "releasemanager-test",
  .log = test_log,
};

static char dir[64];              /* the test's temp directory */
static char root[PATH_MAX];       /* dir/root: the backend's path */
static char mounted[PATH_MAX];    /* a tmpfs to unmount in teardown, or "" */
static const struct rm_backend *be;
static void *h;

static int
open_at (const char *path, const char *fsync_value, void **out, struct rm_error *err)
{
  struct rm_kv config[] = { { "path", path }, { "fsync", fsync_value }, { NULL, NULL } };
  return be->open (&host, config, out, err);
}

/* Open as a 1.1 core does, with RM_OPEN_* flags.  The host table must outlive the
 * handle, so there is one per combination of the two flags. */
static int
open_flags (const char *path, const char *fsync_value, uint32_t flags, void **out,
            struct rm_error *err)
{
  static struct rm_host hosts[4];
  struct rm_kv config[] = { { "path", path }, { "fsync", fsync_value }, { NULL, NULL } };
  struct rm_host *hp = &hosts[flags & 3];

  *hp = host;
  hp->open_flags = flags;
  return be->open (hp, config, out, err);
}

static void
setup (void)
{
  struct rm_error err = { 0, "" };

  umask (022);
  snprintf (dir, sizeof dir, "/tmp/rm-local-test.XXXXXX");
  cr_assert_not_null (mkdtemp (dir));
  snprintf (root, sizeof root, "%s/root", dir);
  be = rm_backend_init ();
  cr_assert_not_null (be);
  cr_assert_eq (open_at (root, "true", &h, &err), RM_OK, "open: %s", err.message);
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP)
    chmod (path, 0700);
  return remove (path);
}

static void
teardown (void)
{
  if (h)
    be->close (h);
  h = NULL;
  if (mounted[0])
    umount2 (mounted, MNT_DETACH);
  nftw (dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite (local, .init = setup, .fini = teardown, .timeout = 120);

static void
leak_check (void)
{
#ifdef TEST_LSAN
  cr_assert_eq (__lsan_do_recoverable_leak_check (), 0, "memory leaked (report above)");
#endif
}

/* A test of the suite whose body is followed by the leak check. */
#define LOCAL_TEST(name)                                                    \
  static void name##_body (void);                                           \
  Test (local, name) { name##_body (); leak_check (); }                     \
  static void name##_body (void)

/* ---- readers, writers and helpers -------------------------------------------------- */

/* Bytes of a deterministic stream, so large objects never need a buffer. */
static unsigned char
gen_byte (long long i, unsigned seed)
{
  uint64_t x = (uint64_t) i * 0x9E3779B97F4A7C15ull + seed;
  x ^= x >> 29;
  return (unsigned char) (x * 0xBF58476D1CE4E5B9ull >> 56);
}

struct src {
  const unsigned char *data;  /* or NULL: gen_byte (i, seed) */
  long long len, off;
  unsigned seed;
  size_t chunk;               /* max bytes per read; 0 = as asked */
  bool vary;                  /* chunk sizes 1..chunk, changing every call */
  long long fail_at;          /* return -1 once off reaches this; -1 = never */
  long long kill_at;          /* SIGKILL ourselves once off reaches this; -1 = never */
  pthread_barrier_t *eof_barrier;  /* wait here before reporting the end */
  const char *watch_dir;      /* check a temp file grows in here while we read */
  bool saw_partial;           /* a temp file held some but not all bytes */
  unsigned calls;
};

static long long
count_tmp_bytes (const char *d);

static long long
src_read (void *opaque, void *buf, size_t len)
{
  struct src *s = opaque;
  size_t n, i;

  s->calls++;
  if (s->fail_at >= 0 && s->off >= s->fail_at)
    return -1;
  if (s->kill_at >= 0 && s->off >= s->kill_at)
    raise (SIGKILL);
  if (s->watch_dir && s->off > 0) {
    long long have = count_tmp_bytes (s->watch_dir);
    if (have > 0 && have < s->len)
      s->saw_partial = true;
  }
  if (s->off == s->len) {
    if (s->eof_barrier)
      pthread_barrier_wait (s->eof_barrier);
    return 0;
  }
  n = len;
  if (s->chunk) {
    size_t c = s->vary ? 1 + (size_t) (s->calls * 7919u % s->chunk) : s->chunk;
    if (n > c)
      n = c;
  }
  if ((long long) n > s->len - s->off)
    n = (size_t) (s->len - s->off);
  for (i = 0; i < n; i++)
    ((unsigned char *) buf)[i] = s->data ? s->data[s->off + (long long) i]
                                         : gen_byte (s->off + (long long) i, s->seed);
  s->off += (long long) n;
  return (long long) n;
}

static struct src
src_mem (const void *data, size_t len)
{
  struct src s = { .data = data, .len = (long long) len, .fail_at = -1, .kill_at = -1 };
  return s;
}

static struct rm_reader
reader_of (struct src *s)
{
  struct rm_reader r = { .read = src_read, .size = s->len, .opaque = s };
  return r;
}

static int
put_src (void *hd, const char *key, struct src *s, const struct rm_put_options *opts,
         struct rm_object_info *info, struct rm_error *err)
{
  struct rm_reader r = reader_of (s);
  return be->put (hd, key, &r, opts, info, err);
}

static int
put_str (const char *key, const char *text, struct rm_error *err)
{
  struct src s = src_mem (text, strlen (text));
  return put_src (h, key, &s, NULL, NULL, err);
}

static void
put_ok (const char *key, const char *text)
{
  struct rm_error err = { 0, "" };
  cr_assert_eq (put_str (key, text, &err), RM_OK, "put %s: %s", key, err.message);
}

struct sink {
  unsigned char *data;
  size_t len, cap;
  unsigned calls;
  size_t max_chunk;
  long long fail_at;          /* return -1 once len reaches this; -1 = never */
};

static int
sink_write (void *opaque, const void *buf, size_t len)
{
  struct sink *s = opaque;

  s->calls++;
  if (len > s->max_chunk)
    s->max_chunk = len;
  if (s->fail_at >= 0 && (long long) s->len >= s->fail_at)
    return -1;
  if (s->len + len + 1 > s->cap) {
    s->cap = (s->len + len + 1) * 2;
    s->data = realloc (s->data, s->cap);
    cr_assert_not_null (s->data);
  }
  memcpy (s->data + s->len, buf, len);
  s->len += len;
  s->data[s->len] = '\0';
  return 0;
}

/* Get key into a NUL-terminated string (caller frees), or NULL with *code set. */
static char *
get_str (void *hd, const char *key, int *code, struct rm_object_info *info)
{
  struct sink s = { .fail_at = -1 };
  struct rm_writer w = { .write = sink_write, .opaque = &s };
  struct rm_error err = { 0, "" };

  *code = be->get (hd, key, &w, info, &err);
  if (*code != RM_OK) {
    free (s.data);
    return NULL;
  }
  if (!s.data)
    s.data = (unsigned char *) strdup ("");
  return (char *) s.data;
}

static void
assert_content (const char *key, const char *want)
{
  int code;
  char *got = get_str (h, key, &code, NULL);
  cr_assert_eq (code, RM_OK, "get %s: code %d", key, code);
  cr_assert_str_eq (got, want, "content of %s", key);
  free (got);
}

static void
sha256_hex_gen (long long len, unsigned seed, const void *data, char out[65])
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  unsigned char d[32], block[4096];
  unsigned n, i;
  long long off;

  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  if (data)
    EVP_DigestUpdate (md, data, (size_t) len);
  else
    for (off = 0; off < len; off += (long long) sizeof block) {
      size_t k = len - off < (long long) sizeof block ? (size_t) (len - off) : sizeof block;
      for (i = 0; i < k; i++)
        block[i] = gen_byte (off + i, seed);
      EVP_DigestUpdate (md, block, k);
    }
  EVP_DigestFinal_ex (md, d, &n);
  EVP_MD_CTX_free (md);
  for (i = 0; i < 32; i++)
    sprintf (out + 2 * i, "%02x", d[i]);
}

static struct rm_object_info
new_info (void)
{
  struct rm_object_info info;
  memset (&info, 0, sizeof info);
  info.struct_size = sizeof info;
  info.size = -2;
  info.mtime = -2;
  return info;
}

/* Temp files anywhere under d: how many, and how many bytes they hold. */
static long long tmp_count, tmp_bytes;

static int
tmp_visit (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (flag == FTW_F && strncmp (path + ftw->base, ".rm-tmp.", 8) == 0) {
    tmp_count++;
    tmp_bytes += st->st_size;
  }
  return 0;
}

static long long
count_tmp (const char *d)
{
  tmp_count = tmp_bytes = 0;
  nftw (d, tmp_visit, 16, FTW_PHYS);
  return tmp_count;
}

static long long
count_tmp_bytes (const char *d)
{
  count_tmp (d);
  return tmp_bytes;
}

static bool
exists (const char *rel)
{
  char p[PATH_MAX * 2];
  struct stat st;
  snprintf (p, sizeof p, "%s/%s", root, rel);
  return lstat (p, &st) == 0;
}

/* Listing collected into an array. */
struct keys {
  char **k;
  size_t n, cap;
  int stop_after;             /* emit returns 1 after this many; 0 = never */
};

static int
keys_emit (void *opaque, const struct rm_list_entry *e)
{
  struct keys *ks = opaque;

  cr_assert_not_null (e->key);
  cr_assert_geq (e->size, 0);
  cr_assert_gt (e->mtime, 0);
  if (ks->n == ks->cap) {
    ks->cap = ks->cap ? ks->cap * 2 : 64;
    ks->k = realloc (ks->k, ks->cap * sizeof *ks->k);
    cr_assert_not_null (ks->k);
  }
  ks->k[ks->n++] = strdup (e->key);
  return ks->stop_after && ks->n >= (size_t) ks->stop_after;
}

static void
keys_free (struct keys *ks)
{
  while (ks->n)
    free (ks->k[--ks->n]);
  free (ks->k);
  ks->k = NULL;
  ks->cap = 0;
}

/* List prefix page by page with max per page, appending to ks; returns the page count. */
static unsigned
list_all (void *hd, const char *prefix, unsigned max, struct keys *ks)
{
  char token[RM_LIST_TOKEN_MAX] = "", next[RM_LIST_TOKEN_MAX];
  unsigned pages = 0;

  for (;;) {
    struct rm_error err = { 0, "" };
    size_t before = ks->n;
    int r = be->list (hd, prefix, token, max, keys_emit, ks, next, sizeof next, &err);
    cr_assert_eq (r, RM_OK, "list '%s': %s", prefix, err.message);
    pages++;
    if (next[0])
      cr_assert_eq (ks->n - before, max ? max : 1000u, "a non-final page is full");
    else
      break;
    for (const char *p = next; *p; p++)
      cr_assert (strchr ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                         *p), "token '%s' is printable base64url", next);
    strcpy (token, next);
  }
  return pages;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
assert_keys (const struct keys *got, char **want, size_t n, const char *what)
{
  size_t i;
  cr_assert_eq (got->n, n, "%s: %zu keys listed, expected %zu", what, got->n, n);
  for (i = 0; i < n; i++)
    cr_assert_str_eq (got->k[i], want[i], "%s: key %zu", what, i);
}

/* ---- descriptor and open ------------------------------------------------------------ */

LOCAL_TEST (descriptor)
{
  const struct rm_config_key *k = be->config_keys;

  cr_assert_eq (be->struct_size, sizeof (struct rm_backend));
  cr_assert_eq (be->abi_major, RM_BACKEND_ABI_MAJOR);
  cr_assert_eq (be->abi_minor, RM_BACKEND_ABI_MINOR);
  cr_assert_str_eq (be->name, "local");
  cr_assert_eq (be->thread_model, RM_THREAD_PARALLEL);
  cr_assert_eq (be->caps, RM_CAP_CONDITIONAL_PUT | RM_CAP_ATOMIC_PUT);
  cr_assert_eq (be->config_key_size, sizeof (struct rm_config_key));
  cr_assert_str_eq (k[0].name, RM_PATH_KEY);
  cr_assert_eq (k[0].type, RM_KEY_PATH);
  cr_assert_null (k[0].default_value);
  cr_assert_eq (k[0].flags, RM_KEY_REQUIRED);
  cr_assert_str_eq (k[1].name, "fsync");
  cr_assert_eq (k[1].type, RM_KEY_BOOL);
  cr_assert_str_eq (k[1].default_value, "true");
  cr_assert_eq (k[1].flags, 0u);
  cr_assert_null (k[2].name);
  cr_assert (be->open && be->close && be->put && be->get && be->list && be->remove);
  cr_assert (be->stat && be->remove_many && be->describe);
}

LOCAL_TEST (open_errors)
{
  struct rm_kv none[] = { { NULL, NULL } };
  struct rm_error err = { 0, "" };
  char file[PATH_MAX + 8];
  void *x = NULL;
  int fd;

  cr_assert_eq (be->open (&host, none, &x, &err), RM_E_CONFIG);
  cr_assert (strstr (err.message, "path"), "%s", err.message);
  cr_assert_eq (open_at (root, "maybe", &x, &err), RM_E_CONFIG);
  cr_assert (strstr (err.message, "fsync"), "%s", err.message);
  snprintf (file, sizeof file, "%s/file", dir);
  fd = open (file, O_CREAT | O_WRONLY, 0600);
  cr_assert_geq (fd, 0);
  close (fd);
  cr_assert_eq (open_at (file, "true", &x, &err), RM_E_CONFIG);
  cr_assert (strstr (err.message, "not a directory"), "%s", err.message);
  cr_assert_null (x);
}

LOCAL_TEST (open_creates_root_0700_and_describes)
{
  char buf[PATH_MAX + 64], want[PATH_MAX + 64];
  struct rm_error err = { 0, "" };
  struct stat st;
  void *x;

  cr_assert_eq (stat (root, &st), 0, "open created the root");
  cr_assert_eq (st.st_mode & 07777, 0700);
  snprintf (want, sizeof want, "local directory %s", root);
  cr_assert_eq (be->describe (h, buf, sizeof buf), 0);
  cr_assert_str_eq (buf, want);
  cr_assert_eq (be->describe (h, buf, 10), -1, "truncation is reported");

  /* A relative path is made absolute at open, and trailing slashes go. */
  cr_assert_eq (chdir (dir), 0);
  cr_assert_eq (open_at ("rel/deeper//", "false", &x, &err), RM_OK, "%s", err.message);
  cr_assert_eq (chdir ("/"), 0);
  snprintf (want, sizeof want, "local directory %s/rel/deeper", dir);
  cr_assert_eq (be->describe (x, buf, sizeof buf), 0);
  cr_assert_str_eq (buf, want);
  be->close (x);
}

/* ---- round trips -------------------------------------------------------------------- */

static void
roundtrip (const char *key, const void *data, size_t len)
{
  struct rm_object_info pi = new_info (), gi = new_info (), si = new_info ();
  struct rm_error err = { 0, "" };
  struct src s = src_mem (data, len);
  struct sink k = { .fail_at = -1 };
  struct rm_writer w = { .write = sink_write, .opaque = &k };
  char want[65];

  sha256_hex_gen ((long long) len, 0, data, want);
  cr_assert_eq (put_src (h, key, &s, NULL, &pi, &err), RM_OK, "put: %s", err.message);
  cr_assert_eq (pi.size, (long long) len);
  cr_assert_gt (pi.mtime, 0);
  cr_assert_str_eq (pi.etag, want);
  cr_assert_eq (be->get (h, key, &w, &gi, &err), RM_OK, "get: %s", err.message);
  cr_assert_eq (k.len, len);
  cr_assert (len == 0 || memcmp (k.data, data, len) == 0);
  cr_assert_eq (gi.size, (long long) len);
  cr_assert_eq (gi.mtime, pi.mtime);
  cr_assert_str_eq (gi.etag, want);
  cr_assert_eq (be->stat (h, key, &si, &err), RM_OK, "stat: %s", err.message);
  cr_assert_eq (si.size, (long long) len);
  cr_assert_eq (si.mtime, pi.mtime);
  cr_assert_str_eq (si.etag, want);
  free (k.data);
}

LOCAL_TEST (roundtrip_empty)
{
  struct rm_object_info info = new_info ();
  struct rm_error err = { 0, "" };

  roundtrip ("empty", "", 0);
  cr_assert_eq (be->stat (h, "empty", &info, &err), RM_OK);
  cr_assert_str_eq (info.etag,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    "the etag is the SHA-256 of the content");
}

LOCAL_TEST (roundtrip_one_byte)
{
  roundtrip ("a/b/one", "x", 1);
}

LOCAL_TEST (roundtrip_large_streamed)
{
  const long long len = 5 * 1024 * 1024 + 13;
  struct rm_object_info pi = new_info (), gi = new_info ();
  struct rm_error err = { 0, "" };
  struct src s = { .len = len, .seed = 7, .chunk = 4099, .vary = true, .fail_at = -1,
                   .kill_at = -1 };
  struct sink k = { .fail_at = -1 };
  struct rm_writer w = { .write = sink_write, .opaque = &k };
  char want[65], keydir[PATH_MAX + 16];
  long long i;

  snprintf (keydir, sizeof keydir, "%s/big", root);
  s.watch_dir = keydir;
  sha256_hex_gen (len, 7, NULL, want);
  cr_assert_eq (put_src (h, "big/blob", &s, NULL, &pi, &err), RM_OK, "%s", err.message);
  cr_assert (s.saw_partial, "put writes while it reads (a temp file grew mid-stream)");
  cr_assert_gt (s.calls, 1000u, "the reader was called in small chunks");
  cr_assert_eq (pi.size, len);
  cr_assert_str_eq (pi.etag, want);
  cr_assert_eq (count_tmp (root), 0);

  cr_assert_eq (be->get (h, "big/blob", &w, &gi, &err), RM_OK, "%s", err.message);
  cr_assert_eq ((long long) k.len, len);
  for (i = 0; i < len; i++)
    if (k.data[i] != gen_byte (i, 7))
      cr_assert_fail ("byte %lld differs", i);
  cr_assert_gt (k.calls, 1u, "get streams in pieces");
  cr_assert_leq (k.max_chunk, (size_t) 1024 * 1024, "get never hands over the whole object");
  cr_assert_str_eq (gi.etag, want);
  free (k.data);
}

LOCAL_TEST (overwrite_and_info_struct_size)
{
  struct rm_object_info a = new_info (), b = new_info (), small;
  struct rm_error err = { 0, "" };
  struct src s1 = src_mem ("first", 5), s2 = src_mem ("second!", 7);

  cr_assert_eq (put_src (h, "k", &s1, NULL, &a, &err), RM_OK, "%s", err.message);
  cr_assert_eq (put_src (h, "k", &s2, NULL, &b, &err), RM_OK, "%s", err.message);
  cr_assert_str_neq (a.etag, b.etag);
  assert_content ("k", "second!");

  /* A caller whose struct ends before etag gets size and mtime only. */
  memset (&small, 0x55, sizeof small);
  small.struct_size = offsetof (struct rm_object_info, etag);
  cr_assert_eq (be->stat (h, "k", &small, &err), RM_OK);
  cr_assert_eq (small.size, 7);
  cr_assert_eq (small.etag[0], 0x55, "etag beyond struct_size untouched");
}

LOCAL_TEST (fsync_off_roundtrip)
{
  struct rm_error err = { 0, "" };
  void *x;
  int code;
  char *got;

  cr_assert_eq (open_at (root, "false", &x, &err), RM_OK, "%s", err.message);
  struct src s = src_mem ("no sync", 7);
  cr_assert_eq (put_src (x, "n/s", &s, NULL, NULL, &err), RM_OK, "%s", err.message);
  got = get_str (x, "n/s", &code, NULL);
  cr_assert_str_eq (got, "no sync");
  free (got);
  cr_assert_eq (be->remove (x, "n/s", &err), RM_OK);
  be->close (x);
}

/* ---- atomicity, modes, temp files ---------------------------------------------------- */

LOCAL_TEST (modes_0600_0700)
{
  char p[PATH_MAX + 32];
  struct stat st;

  umask (0);                  /* modes must not depend on the caller's umask */
  put_ok ("m1/m2/file", "data");
  put_ok ("m1/m2/file", "data again");
  snprintf (p, sizeof p, "%s/m1/m2/file", root);
  cr_assert_eq (stat (p, &st), 0);
  cr_assert_eq (st.st_mode & 07777, 0600, "file mode %o", st.st_mode & 07777);
  snprintf (p, sizeof p, "%s/m1/m2", root);
  cr_assert_eq (stat (p, &st), 0);
  cr_assert_eq (st.st_mode & 07777, 0700, "dir mode %o", st.st_mode & 07777);
  snprintf (p, sizeof p, "%s/m1", root);
  cr_assert_eq (stat (p, &st), 0);
  cr_assert_eq (st.st_mode & 07777, 0700, "dir mode %o", st.st_mode & 07777);
  cr_assert_eq (count_tmp (root), 0, "no temp file stays behind");

  umask (0277);               /* nor be narrowed by a strict one */
  put_ok ("u1/u2/file", "data");
  snprintf (p, sizeof p, "%s/u1/u2/file", root);
  cr_assert_eq (stat (p, &st), 0);
  cr_assert_eq (st.st_mode & 07777, 0600, "file mode %o", st.st_mode & 07777);
  snprintf (p, sizeof p, "%s/u1", root);
  cr_assert_eq (stat (p, &st), 0);
  cr_assert_eq (st.st_mode & 07777, 0700, "dir mode %o", st.st_mode & 07777);
  umask (022);
}

LOCAL_TEST (temp_files_are_hidden_and_reserved)
{
  struct keys ks = { 0 };
  struct rm_error err = { 0, "" };
  char p[PATH_MAX + 32];
  int fd, code;

  put_ok ("d/real", "1");
  snprintf (p, sizeof p, "%s/.rm-tmp.abc123", root);
  fd = open (p, O_CREAT | O_WRONLY, 0600);
  cr_assert_geq (fd, 0);
  close (fd);
  snprintf (p, sizeof p, "%s/d/.rm-tmp.zzzzzz", root);
  fd = open (p, O_CREAT | O_WRONLY, 0600);
  cr_assert_geq (fd, 0);
  close (fd);
  list_all (h, "", 0, &ks);
  cr_assert_eq (ks.n, 1);
  cr_assert_str_eq (ks.k[0], "d/real");
  keys_free (&ks);
  list_all (h, ".rm-tmp.", 0, &ks);
  cr_assert_eq (ks.n, 0);
  list_all (h, "d/.rm-tmp.", 0, &ks);
  cr_assert_eq (ks.n, 0);
  cr_assert_null (get_str (h, ".rm-tmp.abc123", &code, NULL));
  cr_assert_eq (code, RM_E_INVALID);
  cr_assert_eq (put_str ("d/.rm-tmp.zzzzzz", "x", &err), RM_E_INVALID);
  cr_assert_eq (be->remove (h, "d/.rm-tmp.zzzzzz", &err), RM_E_INVALID);
  /* Only the exact prefix is reserved. */
  put_ok (".rm-tmp", "ok");
  put_ok ("d/.rm-tmpx", "ok");
  put_ok ("x.rm-tmp.y", "ok");
}

/* ---- keys ------------------------------------------------------------------------------ */

LOCAL_TEST (bad_keys_rejected)
{
  char longkey[RM_KEY_MAX + 2], longseg[NAME_MAX + 8];
  const char *bad[] = {
    "", "/abs", "/", "a/", "a//b", ".", "..", "../escape", "a/../b", "a/..", "./a", "a/./b",
    "a\\b", "\\", "a\x01" "b", "tab\there", "new\nline", "del\x7f", ".rm-tmp.x",
    "a/.rm-tmp.abc/b", "a/.rm-tmp.", longkey, longseg,
  };
  struct rm_object_info info = new_info ();
  struct keys ks = { 0 };
  size_t i;

  memset (longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = '\0';
  memset (longseg, 's', sizeof longseg - 1);
  longseg[sizeof longseg - 1] = '\0';
  longseg[0] = 'x';
  longseg[1] = '/';           /* "x/" then a segment of NAME_MAX + 5 bytes */

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct rm_error err = { 0, "" };
    struct src s = src_mem ("evil", 4);
    struct sink k = { .fail_at = -1 };
    struct rm_writer w = { .write = sink_write, .opaque = &k };
    const char *keys[1] = { bad[i] };
    int codes[1] = { -1 };

    cr_assert_eq (put_src (h, bad[i], &s, NULL, NULL, &err), RM_E_INVALID, "put #%zu", i);
    cr_assert_eq (err.code, RM_E_INVALID);
    cr_assert (strstr (err.message, "invalid key"), "message: %s", err.message);
    cr_assert_eq (s.calls, 0u, "the reader is not touched");
    cr_assert_eq (be->get (h, bad[i], &w, &info, &err), RM_E_INVALID, "get #%zu", i);
    cr_assert_eq (k.calls, 0u);
    cr_assert_eq (be->stat (h, bad[i], &info, &err), RM_E_INVALID, "stat #%zu", i);
    cr_assert_eq (be->remove (h, bad[i], &err), RM_E_INVALID, "remove #%zu", i);
    cr_assert_eq (be->remove_many (h, keys, 1, codes, &err), RM_OK);
    cr_assert_eq (codes[0], RM_E_INVALID);
  }
  /* Nothing was written, in the root or beside it. */
  list_all (h, "", 0, &ks);
  cr_assert_eq (ks.n, 0);
  cr_assert_not (exists ("x"));
  cr_assert_not (exists ("a"));
  {
    char p[PATH_MAX + 16];
    struct stat st;
    snprintf (p, sizeof p, "%s/escape", dir);
    cr_assert_neq (stat (p, &st), 0, "../escape was not created");
  }
}

LOCAL_TEST (unusual_legal_keys)
{
  static const char *keys[] = {
    "sp ace/with space.json", "plus+tilde~pct%25eq=colon:at@", "ünïcödé/ключ/鍵",
    "...", ".hidden", "-dash", "a/b/c/d/e/f/g/h/i/j", "quote'\"`$(x)", "star*?[x]",
    "#hash&amp;", "trailing.", "x", "x.y",
  };
  size_t n = sizeof keys / sizeof keys[0], i;
  char *sorted[sizeof keys / sizeof keys[0]];
  struct keys ks = { 0 };

  for (i = 0; i < n; i++)
    put_ok (keys[i], keys[i]);
  for (i = 0; i < n; i++)
    assert_content (keys[i], keys[i]);
  memcpy (sorted, keys, sizeof sorted);
  qsort (sorted, n, sizeof sorted[0], cmp_str);
  list_all (h, "", 0, &ks);
  assert_keys (&ks, sorted, n, "all");
  keys_free (&ks);
  list_all (h, "", 1, &ks);             /* every key goes through a token */
  assert_keys (&ks, sorted, n, "one per page");
  keys_free (&ks);
}

/* ---- conditional put --------------------------------------------------------------------- */

LOCAL_TEST (if_none_match)
{
  struct rm_put_options o = { .struct_size = sizeof o, .flags = RM_PUT_IF_NONE_MATCH };
  struct rm_object_info info = new_info ();
  struct rm_error err = { 0, "" };
  struct src a = src_mem ("one", 3), b = src_mem ("two", 3);

  cr_assert_eq (put_src (h, "c/lease", &a, &o, &info, &err), RM_OK, "%s", err.message);
  cr_assert_eq (info.size, 3);
  cr_assert_eq (put_src (h, "c/lease", &b, &o, NULL, &err), RM_E_EXISTS);
  cr_assert (strstr (err.message, "c/lease"), "%s", err.message);
  assert_content ("c/lease", "one");
  cr_assert_eq (count_tmp (root), 0);
}

LOCAL_TEST (if_match)
{
  struct rm_put_options o = { .struct_size = sizeof o };
  struct rm_object_info i1 = new_info (), i2 = new_info ();
  struct rm_error err = { 0, "" };
  struct src s;

  o.if_match = "0000";
  s = src_mem ("v1", 2);
  cr_assert_eq (put_src (h, "c/absent", &s, &o, NULL, &err), RM_E_NOT_FOUND);
  cr_assert_not (exists ("c"), "a failed put leaves no directories");

  s = src_mem ("v1", 2);
  cr_assert_eq (put_src (h, "c/k", &s, NULL, &i1, &err), RM_OK);
  o.if_match = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  s = src_mem ("v2", 2);
  cr_assert_eq (put_src (h, "c/k", &s, &o, NULL, &err), RM_E_PRECONDITION);
  cr_assert (strstr (err.message, i1.etag), "message names the stored etag: %s", err.message);
  assert_content ("c/k", "v1");

  o.if_match = i1.etag;
  s = src_mem ("v2", 2);
  cr_assert_eq (put_src (h, "c/k", &s, &o, &i2, &err), RM_OK, "%s", err.message);
  assert_content ("c/k", "v2");
  cr_assert_str_neq (i1.etag, i2.etag);
  s = src_mem ("v3", 2);
  cr_assert_eq (put_src (h, "c/k", &s, &o, NULL, &err), RM_E_PRECONDITION, "old etag is stale");
  assert_content ("c/k", "v2");
  cr_assert_eq (count_tmp (root), 0);

  /* Contradictory or unknown options are refused before anything is read. */
  o.flags = RM_PUT_IF_NONE_MATCH;
  s = src_mem ("v4", 2);
  cr_assert_eq (put_src (h, "c/k", &s, &o, NULL, &err), RM_E_INVALID);
  o.flags = 1u << 7;
  o.if_match = NULL;
  cr_assert_eq (put_src (h, "c/k", &s, &o, NULL, &err), RM_E_UNSUPPORTED);
  cr_assert_eq (s.calls, 0u);
}

#define RACERS 4
#define ROUNDS 25

struct racer {
  pthread_barrier_t *barrier;
  const char *key;
  const char *if_match;
  char body[32];
  int code;
};

static void *
race_put (void *arg)
{
  struct racer *r = arg;
  struct rm_put_options o = { .struct_size = sizeof o };
  struct rm_error err = { 0, "" };
  struct src s = src_mem (r->body, strlen (r->body));

  if (r->if_match)
    o.if_match = r->if_match;
  else
    o.flags = RM_PUT_IF_NONE_MATCH;
  s.eof_barrier = r->barrier;           /* everyone commits at the same moment */
  r->code = put_src (h, r->key, &s, &o, NULL, &err);
  return NULL;
}

/* RACERS threads put the same key at once, each with the condition; exactly one wins. */
static void
race (const char *key, const char *if_match, int loser_code)
{
  struct racer rs[RACERS];
  pthread_t t[RACERS];
  pthread_barrier_t barrier;
  int i, wins = 0, winner = -1;

  pthread_barrier_init (&barrier, NULL, RACERS);
  for (i = 0; i < RACERS; i++) {
    rs[i] = (struct racer) { .barrier = &barrier, .key = key, .if_match = if_match };
    snprintf (rs[i].body, sizeof rs[i].body, "writer %d", i);
    cr_assert_eq (pthread_create (&t[i], NULL, race_put, &rs[i]), 0);
  }
  for (i = 0; i < RACERS; i++)
    pthread_join (t[i], NULL);
  pthread_barrier_destroy (&barrier);
  for (i = 0; i < RACERS; i++) {
    if (rs[i].code == RM_OK) {
      wins++;
      winner = i;
    }
    else
      cr_assert_eq (rs[i].code, loser_code, "%s: racer %d got %d", key, i, rs[i].code);
  }
  cr_assert_eq (wins, 1, "%s: exactly one conditional writer wins, not %d", key, wins);
  assert_content (key, rs[winner].body);
}

LOCAL_TEST (race_if_none_match)
{
  char key[32];
  int round;

  for (round = 0; round < ROUNDS; round++) {
    snprintf (key, sizeof key, "race/%d", round);
    race (key, NULL, RM_E_EXISTS);
  }
  cr_assert_eq (count_tmp (root), 0);
}

LOCAL_TEST (race_if_match)
{
  struct rm_object_info info = new_info ();
  struct rm_error err = { 0, "" };
  int round;

  for (round = 0; round < ROUNDS; round++) {
    struct src s = src_mem ("base", 4);
    cr_assert_eq (put_src (h, "race/m", &s, NULL, &info, &err), RM_OK);
    race ("race/m", info.etag, RM_E_PRECONDITION);
  }
  cr_assert_eq (count_tmp (root), 0);
}

/* Threads share parent directories that removes keep pruning while puts recreate them. */
struct churn {
  int id;
  int failures;
  char why[RM_ERROR_MESSAGE_MAX];
};

static void *
churn_run (void *arg)
{
  struct churn *c = arg;
  char key[64], body[32];
  int i, code;

  for (i = 0; i < 300 && !c->failures; i++) {
    struct rm_error err = { 0, "" };
    char *got;
    snprintf (key, sizeof key, "shared/d%d/t%d/k%d", i % 2, c->id, i);
    snprintf (body, sizeof body, "%d/%d", c->id, i);
    if (put_str (key, body, &err) != RM_OK) {
      c->failures++;
      snprintf (c->why, sizeof c->why, "put %s: %s", key, err.message);
      break;
    }
    got = get_str (h, key, &code, NULL);
    if (!got || strcmp (got, body) != 0) {
      c->failures++;
      snprintf (c->why, sizeof c->why, "get %s: code %d", key, code);
    }
    free (got);
    if (be->remove (h, key, &err) != RM_OK) {
      c->failures++;
      snprintf (c->why, sizeof c->why, "remove %s: %s", key, err.message);
    }
  }
  return NULL;
}

LOCAL_TEST (parallel_put_remove_share_directories)
{
  struct churn c[4];
  pthread_t t[4];
  struct rm_error err = { 0, "" };
  int i;

  be->close (h);              /* without fsync: this is about races, not the disk */
  h = NULL;
  cr_assert_eq (open_at (root, "false", &h, &err), RM_OK);
  for (i = 0; i < 4; i++) {
    c[i] = (struct churn) { .id = i };
    pthread_create (&t[i], NULL, churn_run, &c[i]);
  }
  for (i = 0; i < 4; i++)
    pthread_join (t[i], NULL);
  for (i = 0; i < 4; i++)
    cr_assert_eq (c[i].failures, 0, "thread %d: %s", i, c[i].why);
  cr_assert_not (exists ("shared"), "everything was pruned");
}

/* ---- list ---------------------------------------------------------------------------- */

static const char *order_keys[] = {
  "a-c", "a.b", "a/b", "a/b-", "a/b0", "a/c/d", "a/c/e/f", "a0", "b", "A", "Z/z", "~",
  "ü", "a/c-", "a/c0", "releases/ns/web/1.json.gz", "releases/ns/web/10.json.gz",
  "releases/ns/web/2.json.gz", "releases/ns/we", "releases/ns/weather/1",
  "releases/ns2/web/1", "releases/n/x", "index.json",
};
#define NORDER (sizeof order_keys / sizeof order_keys[0])

static void
put_order_keys (char **sorted)
{
  size_t i;
  for (i = 0; i < NORDER; i++)
    put_ok (order_keys[i], "x");
  memcpy (sorted, order_keys, sizeof order_keys);
  qsort (sorted, NORDER, sizeof sorted[0], cmp_str);
}

LOCAL_TEST (list_sorted_in_byte_order)
{
  char *sorted[NORDER];
  struct keys ks = { 0 };
  unsigned max;

  put_order_keys (sorted);
  for (max = 0; max <= 5; max++) {
    list_all (h, "", max, &ks);
    assert_keys (&ks, sorted, NORDER, "sorted");
    keys_free (&ks);
  }
}

LOCAL_TEST (list_prefix)
{
  static const char *prefixes[] = {
    "", "a", "a/", "a/b", "a/c", "a/c/", "a/c/e/f", "a/c/e/f/", "releases/ns/we",
    "releases/ns/web/1", "releases/ns/", "releases/n", "releases/ns", "zz", "nothing/here/",
    "../", "a//", "a/../a/", ".rm-tmp.", "a/.rm-tmp./", "ü", "\xc3", "a/c/d/e",
  };
  char *sorted[NORDER], *want[NORDER];
  struct keys ks = { 0 };
  size_t p, i, n;

  put_order_keys (sorted);
  for (p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
    for (n = i = 0; i < NORDER; i++)
      if (strncmp (sorted[i], prefixes[p], strlen (prefixes[p])) == 0)
        want[n++] = sorted[i];
    list_all (h, prefixes[p], 0, &ks);
    assert_keys (&ks, want, n, prefixes[p]);
    keys_free (&ks);
    list_all (h, prefixes[p], 2, &ks);
    assert_keys (&ks, want, n, prefixes[p]);
    keys_free (&ks);
  }
}

LOCAL_TEST (list_paginates_past_2500_keys)
{
  const size_t n = 2600;
  struct rm_error err = { 0, "" };
  struct keys ks = { 0 };
  char **want = calloc (n, sizeof *want);
  size_t i, m = 0;
  void *x;

  cr_assert_eq (open_at (root, "false", &x, &err), RM_OK);  /* bulk load without fsync */
  for (i = 0; i < n; i++) {
    char key[64];
    struct src s = src_mem ("v", 1);
    if (i % 5 == 0)
      snprintf (key, sizeof key, "top%04zu", i);
    else
      snprintf (key, sizeof key, "p/d%02zu/k%04zu", i % 37, i);
    cr_assert_eq (put_src (x, key, &s, NULL, NULL, &err), RM_OK, "%s", err.message);
    want[m++] = strdup (key);
  }
  be->close (x);
  qsort (want, m, sizeof *want, cmp_str);

  cr_assert_eq (list_all (h, "", 0, &ks), 3u, "1000 + 1000 + 600");
  assert_keys (&ks, want, m, "default page size");
  keys_free (&ks);
  cr_assert_eq (list_all (h, "", 7, &ks), (unsigned) ((n + 6) / 7));
  assert_keys (&ks, want, m, "pages of 7");
  keys_free (&ks);
  cr_assert_eq (list_all (h, "", (unsigned) n, &ks), 1u, "an exact fit needs no token");
  keys_free (&ks);
  list_all (h, "p/", 999, &ks);
  assert_keys (&ks, want, n - n / 5, "prefix p/");
  keys_free (&ks);
  for (i = 0; i < m; i++)
    free (want[i]);
  free (want);
}

LOCAL_TEST (list_tokens_survive_any_key)
{
  char big[RM_KEY_MAX + 1];
  static char *keys[8];
  struct keys ks = { 0 };
  char token[RM_LIST_TOKEN_MAX], next[RM_LIST_TOKEN_MAX];
  struct rm_error err = { 0, "" };
  size_t i, n = 0;

  /* The longest legal key: segments of 200 bytes, including multi-byte UTF-8. */
  for (i = 0; i < RM_KEY_MAX; i++)
    big[i] = (i % 201 == 200) ? '/' : (char) "\xc3\xa9+= %~"[i % 7];
  big[RM_KEY_MAX] = '\0';
  if (big[RM_KEY_MAX - 1] == '/')
    big[RM_KEY_MAX - 1] = 'z';
  keys[n++] = big;
  keys[n++] = (char *) "a b/c%2Fd";
  keys[n++] = (char *) "=/==";
  keys[n++] = (char *) "\xe2\x82\xac/\xf0\x9f\x98\x80";
  keys[n++] = (char *) "z:/@!";
  for (i = 0; i < n; i++)
    put_ok (keys[i], "v");
  qsort (keys, n, sizeof keys[0], cmp_str);
  list_all (h, "", 1, &ks);
  assert_keys (&ks, keys, n, "tokens");
  keys_free (&ks);

  /* The token after the longest key still fits and resumes right after it. */
  token[0] = '\0';
  for (i = 0; i < n; i++) {
    cr_assert_eq (be->list (h, "", token, 1, keys_emit, &ks, next, sizeof next, &err), RM_OK);
    cr_assert_lt (strlen (next), (size_t) RM_LIST_TOKEN_MAX);
    strcpy (token, next);
  }
  cr_assert_str_empty (token);
  keys_free (&ks);
}

LOCAL_TEST (list_bad_tokens_and_abort)
{
  static const char *bad[] = {
    "!!!!", "a", "abc$", "L2Ficw", /* "/abs" */ "YQBi", /* "a\0b" */ "Lg", /* "." */
    "YWJj=", "YR", /* trailing bits set: not canonical */
  };
  char next[RM_LIST_TOKEN_MAX];
  struct keys ks = { 0 };
  size_t i;

  put_ok ("k1", "1");
  put_ok ("k2", "2");
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct rm_error err = { 0, "" };
    cr_assert_eq (be->list (h, "", bad[i], 0, keys_emit, &ks, next, sizeof next, &err),
                  RM_E_INVALID, "token '%s'", bad[i]);
    cr_assert (strstr (err.message, "token"), "%s", err.message);
    cr_assert_eq (ks.n, 0);
  }
  {
    struct rm_error err = { 0, "" };
    ks.stop_after = 1;
    cr_assert_eq (be->list (h, "", NULL, 0, keys_emit, &ks, next, sizeof next, &err),
                  RM_E_ABORTED);
    cr_assert_eq (ks.n, 1);
    keys_free (&ks);
  }
}

LOCAL_TEST (list_empty)
{
  char next[RM_LIST_TOKEN_MAX] = "junk";
  struct rm_error err = { 0, "" };
  struct keys ks = { 0 };

  cr_assert_eq (be->list (h, "", "", 0, keys_emit, &ks, next, sizeof next, &err), RM_OK);
  cr_assert_eq (ks.n, 0);
  cr_assert_str_empty (next);
  /* The root vanishing under us is an empty store, not an error. */
  cr_assert_eq (rmdir (root), 0);
  cr_assert_eq (be->list (h, "", NULL, 0, keys_emit, &ks, next, sizeof next, &err), RM_OK);
  cr_assert_eq (ks.n, 0);
  put_ok ("back", "the root is recreated on demand");
}

/* ---- remove and not-found ------------------------------------------------------------- */

LOCAL_TEST (remove_prunes_empty_directories)
{
  struct rm_error err = { 0, "" };
  struct stat st;

  put_ok ("a/b/c/d", "1");
  put_ok ("a/x", "2");
  cr_assert_eq (be->remove (h, "a/b/c/d", &err), RM_OK, "%s", err.message);
  cr_assert_not (exists ("a/b/c/d"));
  cr_assert_not (exists ("a/b"), "a/b and a/b/c were empty and are gone");
  cr_assert (exists ("a/x"));
  cr_assert_eq (be->remove (h, "a/x", &err), RM_OK);
  cr_assert_not (exists ("a"));
  cr_assert_eq (stat (root, &st), 0, "the root itself stays");
  cr_assert_eq (be->remove (h, "a/x", &err), RM_E_NOT_FOUND);
}

LOCAL_TEST (not_found_codes)
{
  struct rm_object_info info = new_info ();
  struct rm_error err = { 0, "" };
  char want[PATH_MAX + 32];
  int code;

  put_ok ("dir/file", "x");
  cr_assert_null (get_str (h, "nope", &code, NULL));
  cr_assert_eq (code, RM_E_NOT_FOUND);
  cr_assert_eq (be->stat (h, "nope", &info, &err), RM_E_NOT_FOUND);
  snprintf (want, sizeof want, "%s/nope: No such file or directory", root);
  cr_assert_str_eq (err.message, want, "the message names the file and the problem");
  cr_assert_eq (be->remove (h, "nope", &err), RM_E_NOT_FOUND);
  cr_assert_eq (be->remove (h, "no/such/dir", &err), RM_E_NOT_FOUND);
  /* A directory is not a key, and nothing lives under a file. */
  cr_assert_null (get_str (h, "dir", &code, NULL));
  cr_assert_eq (code, RM_E_NOT_FOUND);
  cr_assert_eq (be->stat (h, "dir", &info, &err), RM_E_NOT_FOUND);
  cr_assert_eq (be->remove (h, "dir", &err), RM_E_NOT_FOUND);
  cr_assert_null (get_str (h, "dir/file/sub", &code, NULL));
  cr_assert_eq (code, RM_E_NOT_FOUND);
  cr_assert_eq (be->remove (h, "dir/file/sub", &err), RM_E_NOT_FOUND);
  /* ... and cannot be created either: a key is a file or a parent, not both. */
  cr_assert_eq (put_str ("dir/file/sub", "y", &err), RM_E_INVALID);
  cr_assert (strstr (err.message, "conflicts"), "%s", err.message);
  cr_assert_eq (put_str ("dir", "y", &err), RM_E_INVALID);
  cr_assert (strstr (err.message, "conflicts"), "%s", err.message);
  assert_content ("dir/file", "x");
  cr_assert_eq (count_tmp (root), 0);
}

LOCAL_TEST (remove_many)
{
  const char *keys[] = { "m/1", "m/absent", "../bad", "m/2" };
  int codes[4] = { -1, -1, -1, -1 };
  struct rm_error err = { 0, "" };

  put_ok ("m/1", "1");
  put_ok ("m/2", "2");
  cr_assert_eq (be->remove_many (h, keys, 4, codes, &err), RM_OK);
  cr_assert_eq (codes[0], RM_OK);
  cr_assert_eq (codes[1], RM_E_NOT_FOUND);
  cr_assert_eq (codes[2], RM_E_INVALID);
  cr_assert_eq (codes[3], RM_OK);
  cr_assert_not (exists ("m"));
}

/* ---- errors ------------------------------------------------------------------------------ */

LOCAL_TEST (errno_table)
{
  static const struct { int e, code; } table[] = {
    { ENOENT, RM_E_NOT_FOUND }, { ENOTDIR, RM_E_NOT_FOUND },
    { EACCES, RM_E_PERMISSION }, { EPERM, RM_E_PERMISSION }, { EROFS, RM_E_PERMISSION },
    { ENOSPC, RM_E_NOSPACE }, { EDQUOT, RM_E_NOSPACE },
    { EEXIST, RM_E_EXISTS }, { ENOMEM, RM_E_NOMEM },
    { ENAMETOOLONG, RM_E_INVALID }, { EAGAIN, RM_E_TRANSIENT }, { EINTR, RM_E_TRANSIENT },
    { ELOOP, RM_E_PERMISSION },
    { EIO, RM_E_IO }, { EISDIR, RM_E_IO }, { EBADF, RM_E_IO },
    { EFBIG, RM_E_IO }, { EXDEV, RM_E_IO }, { 0, RM_E_INTERNAL },
  };
  size_t i;

  for (i = 0; i < sizeof table / sizeof table[0]; i++)
    cr_assert_eq (local_errno_code (table[i].e), table[i].code, "errno %d (%s)", table[i].e,
                  strerror (table[i].e));
}

LOCAL_TEST (reader_failure_keeps_old_file)
{
  struct rm_error err = { 0, "" };
  struct src s = { .len = 1 << 20, .chunk = 4096, .fail_at = 300000, .kill_at = -1 };

  put_ok ("r/k", "old content");
  cr_assert_eq (put_src (h, "r/k", &s, NULL, NULL, &err), RM_E_ABORTED);
  cr_assert (strstr (err.message, "r/k"), "%s", err.message);
  assert_content ("r/k", "old content");
  cr_assert_eq (count_tmp (root), 0, "the temp file is gone");

  s.off = 0;
  cr_assert_eq (put_src (h, "new/dir/k", &s, NULL, NULL, &err), RM_E_ABORTED);
  cr_assert_not (exists ("new"), "directories made for a failed put are pruned");
}

LOCAL_TEST (reader_size_mismatch_aborts)
{
  struct rm_error err = { 0, "" };
  struct src s = { .len = 300000, .chunk = 8192, .fail_at = -1, .kill_at = -1 };
  struct rm_reader r = reader_of (&s);

  put_ok ("z/k", "old content");
  r.size = 400000;                      /* the data ends early */
  cr_assert_eq (be->put (h, "z/k", &r, NULL, NULL, &err), RM_E_ABORTED);
  cr_assert (strstr (err.message, "declared"), "%s", err.message);
  s.off = 0;
  r.size = 200000;                      /* the data goes on past its size */
  cr_assert_eq (be->put (h, "z/k", &r, NULL, NULL, &err), RM_E_ABORTED);
  cr_assert_leq (s.off, 200000 + 65536, "reading stopped soon after the declared size");
  assert_content ("z/k", "old content");
  cr_assert_eq (count_tmp (root), 0);
  s.off = 0;
  r.size = -1;                          /* unknown: whatever comes is the object */
  cr_assert_eq (be->put (h, "z/k", &r, NULL, NULL, &err), RM_OK, "%s", err.message);
}

LOCAL_TEST (writer_failure_aborts)
{
  struct sink k = { .fail_at = 1 };
  struct rm_writer w = { .write = sink_write, .opaque = &k };
  struct rm_error err = { 0, "" };

  put_ok ("w", "abc");
  k.fail_at = 0;
  cr_assert_eq (be->get (h, "w", &w, NULL, &err), RM_E_ABORTED);
  free (k.data);
}

LOCAL_TEST (crash_mid_write_keeps_old_file)
{
  struct keys ks = { 0 };
  pid_t pid;
  int status;

  put_ok ("crash/k", "old and intact");
  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0) {
    struct src s = { .len = 4 << 20, .chunk = 65536, .fail_at = -1, .kill_at = 3 * 65536 };
    put_src (h, "crash/k", &s, NULL, NULL, NULL);
    _exit (0);                          /* not reached: the reader kills us */
  }
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "status %#x", status);
  cr_assert_eq (count_tmp (root), 1, "the killed writer left its temp file");
  cr_assert_eq (tmp_bytes, 3 * 65536, "... holding what it had written");
  assert_content ("crash/k", "old and intact");
  list_all (h, "", 0, &ks);
  cr_assert_eq (ks.n, 1, "list shows the key and not the temp file");
  cr_assert_str_eq (ks.k[0], "crash/k");
  keys_free (&ks);
  /* The next put replaces the old object normally. */
  put_ok ("crash/k", "new");
  assert_content ("crash/k", "new");
}

/* write(2) fails part-way through a large put; the old object and the store are as
 * before, and the message names the key's file and the error. */
static void
check_write_failure (void *hd, const char *r, int errnum, int code, const char *text)
{
  struct rm_error err = { 0, "" };
  struct src s = { .len = 256 * 1024, .chunk = 8192, .fail_at = -1, .kill_at = -1 };
  char want[PATH_MAX + 128];
  struct keys ks = { 0 };
  int c;
  char *got;

  cr_assert_eq (put_src (hd, "releases/a/b/1.json.gz", &s, NULL, NULL, &err), code,
                "errno %d: %s", errnum, err.message);
  snprintf (want, sizeof want, "%s/releases/a/b/1.json.gz: %s", r, text);
  cr_assert_str_eq (err.message, want);
  shim_errno = 0;
  got = get_str (hd, "releases/a/b/1.json.gz", &c, NULL);
  cr_assert_str_eq (got, "old", "the old object is intact");
  free (got);
  cr_assert_eq (count_tmp (r), 0, "no temp file is left behind");
  s = (struct src) { .len = 256 * 1024, .chunk = 8192, .fail_at = -1, .kill_at = -1 };
  if (errnum)
    shim_errno = errnum, shim_budget = 100000;
  cr_assert_eq (put_src (hd, "fresh/x/y", &s, NULL, NULL, &err), code);
  shim_errno = 0;
  cr_assert_eq (count_tmp (r), 0);
  be->list (hd, "", NULL, 0, keys_emit, &ks, want, sizeof want, &err);
  cr_assert_eq (ks.n, 1, "only the old key is stored");
  keys_free (&ks);
}

LOCAL_TEST (enospc_small_tmpfs)
{
  struct rm_error err = { 0, "" };
  char r[PATH_MAX + 16];
  struct stat st;
  void *x;
  int r1;

  snprintf (mounted, sizeof mounted, "%s/small", dir);
  cr_assert_eq (mkdir (mounted, 0700), 0);
  /* A private mount namespace: the tmpfs vanishes with this test process. */
  if (unshare (CLONE_NEWNS) == 0)
    mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  r1 = mount ("tmpfs", mounted, "tmpfs", 0, "size=64k,mode=0700");
  if (r1 != 0) {
    int e = errno;
    mounted[0] = '\0';
    cr_skip_test ("cannot mount a 64k tmpfs (%s); the write() shim test covers ENOSPC",
                  strerror (e));
  }
  snprintf (r, sizeof r, "%s/root", mounted);
  cr_assert_eq (open_at (r, "true", &x, &err), RM_OK, "%s", err.message);
  {
    struct src s = src_mem ("old", 3);
    cr_assert_eq (put_src (x, "releases/a/b/1.json.gz", &s, NULL, NULL, &err), RM_OK);
  }
  check_write_failure (x, r, 0, RM_E_NOSPACE, "No space left on device");
  cr_assert_eq (stat (r, &st), 0);
  {
    /* The space of the failed temp files was given back. */
    struct src s = { .len = 40 * 1024, .chunk = 8192, .fail_at = -1, .kill_at = -1 };
    cr_assert_eq (put_src (x, "after", &s, NULL, NULL, &err), RM_OK, "%s", err.message);
  }
  be->close (x);
}

LOCAL_TEST (write_errors_via_shim)
{
  static const struct { int e, code; const char *text; } cases[] = {
    { ENOSPC, RM_E_NOSPACE, "No space left on device" },
    { EDQUOT, RM_E_NOSPACE, "Disk quota exceeded" },
    { EIO, RM_E_IO, "Input/output error" },
  };
  size_t i;

  put_ok ("releases/a/b/1.json.gz", "old");
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    shim_errno = cases[i].e;
    shim_budget = 100000;               /* fail part-way through the 256 KiB object */
    check_write_failure (h, root, cases[i].e, cases[i].code, cases[i].text);
  }
}

LOCAL_TEST (short_writes_are_completed)
{
  struct rm_error err = { 0, "" };
  struct src s = { .len = 100000, .seed = 3, .fail_at = -1, .kill_at = -1 };
  char want[65];
  struct rm_object_info info = new_info ();

  shim_short = 999;                     /* write(2) may always return less than asked */
  cr_assert_eq (put_src (h, "short", &s, NULL, NULL, &err), RM_OK, "%s", err.message);
  shim_short = 0;
  sha256_hex_gen (s.len, 3, NULL, want);
  cr_assert_eq (be->stat (h, "short", &info, &err), RM_OK);
  cr_assert_eq (info.size, s.len);
  cr_assert_str_eq (info.etag, want);
}

LOCAL_TEST (eacces_as_unprivileged_user)
{
  char ro[PATH_MAX + 8], p[PATH_MAX + 32];
  struct rm_error err = { 0, "" };
  void *x;
  pid_t pid;
  int status;

  if (geteuid () != 0)
    cr_skip_test ("needs root to setuid to 65534 (running as uid %d)", (int) geteuid ());
  snprintf (ro, sizeof ro, "%s/ro", dir);
  cr_assert_eq (chmod (dir, 0755), 0);
  cr_assert_eq (open_at (ro, "true", &x, &err), RM_OK);
  {
    struct src s = src_mem ("root's", 6);
    cr_assert_eq (put_src (x, "a/old", &s, NULL, NULL, &err), RM_OK);
    s = src_mem ("readable", 8);
    cr_assert_eq (put_src (x, "a/readable", &s, NULL, NULL, &err), RM_OK);
  }
  be->close (x);
  cr_assert_eq (chmod (ro, 0755), 0);
  snprintf (p, sizeof p, "%s/a", ro);
  cr_assert_eq (chmod (p, 0755), 0);
  snprintf (p, sizeof p, "%s/a/readable", ro);
  cr_assert_eq (chmod (p, 0644), 0);    /* opens and locks, but cannot be unlinked */

  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0) {
    struct src s = src_mem ("nobody's", 8);
    struct sink k = { .fail_at = -1 };
    struct rm_writer w = { .write = sink_write, .opaque = &k };
    void *y = NULL, *z = NULL;
    char sub[PATH_MAX + 16];

    if (setgroups (0, NULL) != 0 || setgid (65534) != 0 || setuid (65534) != 0)
      _exit (100);
    if (open_at (ro, "true", &y, &err) != RM_OK)
      _exit (1);
    if (put_src (y, "a/new", &s, NULL, NULL, &err) != RM_E_PERMISSION)
      _exit (2);
    if (!strstr (err.message, "/ro/a/new") || !strstr (err.message, "Permission denied"))
      _exit (3);
    s.off = 0;
    if (put_src (y, "a/old", &s, NULL, NULL, &err) != RM_E_PERMISSION)
      _exit (4);
    s.off = 0;
    if (put_src (y, "b/x", &s, NULL, NULL, &err) != RM_E_PERMISSION)
      _exit (5);
    if (be->get (y, "a/old", &w, NULL, &err) != RM_E_PERMISSION)
      _exit (6);
    if (be->remove (y, "a/old", &err) != RM_E_PERMISSION)
      _exit (7);
    if (be->remove (y, "a/readable", &err) != RM_E_PERMISSION)
      _exit (9);
    if (be->get (y, "a/readable", &w, NULL, &err) != RM_OK)
      _exit (10);
    snprintf (sub, sizeof sub, "%s/sub", ro);
    if (open_at (sub, "true", &z, &err) != RM_E_PERMISSION)
      _exit (8);
    be->close (y);
    _exit (0);
  }
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  cr_assert (WIFEXITED (status), "status %#x", status);
  cr_assert_eq (WEXITSTATUS (status), 0, "step %d of the unprivileged child failed",
                WEXITSTATUS (status));
  cr_assert_eq (count_tmp (ro), 0);
  snprintf (p, sizeof p, "%s/b", ro);
  cr_assert_neq (access (p, F_OK), 0, "no directory was made");
  cr_assert_eq (open_at (ro, "true", &x, &err), RM_OK);
  {
    int code;
    char *got = get_str (x, "a/old", &code, NULL);
    cr_assert_str_eq (got, "root's");
    free (got);
    got = get_str (x, "a/readable", &code, NULL);
    cr_assert_str_eq (got, "readable");
    free (got);
  }
  be->close (x);
}

/* ---- ABI 1.1: read-only opens ------------------------------------------------------------ */

LOCAL_TEST (readonly_open_creates_nothing)
{
  const char *keys[] = { "a" };
  char missing[PATH_MAX + 16], next[RM_LIST_TOKEN_MAX];
  struct rm_object_info info = new_info ();
  struct rm_error err = { 0, "" };
  struct keys ks = { 0 };
  struct src s = src_mem ("x", 1);
  int codes[1], code;
  void *x;

  snprintf (missing, sizeof missing, "%s/missing/deeper", dir);
  cr_assert_eq (open_flags (missing, "true", RM_OPEN_READONLY, &x, &err), RM_OK, "%s",
                err.message);
  cr_assert_neq (access (missing, F_OK), 0, "open made nothing");
  cr_assert_eq (be->list (x, "", NULL, 0, keys_emit, &ks, next, sizeof next, &err), RM_OK,
                "%s", err.message);
  cr_assert_eq (ks.n, 0, "a missing root lists as empty");
  cr_assert_eq (be->list (x, "releases/ns/", NULL, 0, keys_emit, &ks, next, sizeof next,
                          &err), RM_OK);
  cr_assert_eq (ks.n, 0);
  cr_assert_null (get_str (x, "releases/a", &code, NULL));
  cr_assert_eq (code, RM_E_NOT_FOUND);
  cr_assert_eq (be->stat (x, "a", &info, &err), RM_E_NOT_FOUND);
  cr_assert_eq (put_src (x, "a", &s, NULL, NULL, &err), RM_E_PERMISSION);
  cr_assert (strstr (err.message, "opened read-only"), "%s", err.message);
  cr_assert_eq (be->remove (x, "a", &err), RM_E_PERMISSION);
  cr_assert (strstr (err.message, "opened read-only"), "%s", err.message);
  cr_assert_eq (be->remove_many (x, keys, 1, codes, &err), RM_E_PERMISSION);
  cr_assert_eq (be->sync (x, &err), RM_OK, "nothing to sync");
  be->close (x);
  snprintf (missing, sizeof missing, "%s/missing", dir);
  cr_assert_neq (access (missing, F_OK), 0, "nothing was made at any point");

  /* On an existing store: reads work, writes touch nothing. */
  put_ok ("k/v", "stored");
  cr_assert_eq (open_flags (root, "true", RM_OPEN_READONLY, &x, &err), RM_OK);
  {
    char *got = get_str (x, "k/v", &code, NULL);
    cr_assert_str_eq (got, "stored");
    free (got);
  }
  s.off = 0;
  cr_assert_eq (put_src (x, "k/v", &s, NULL, NULL, &err), RM_E_PERMISSION);
  cr_assert_eq (put_src (x, "new/dir/v", &s, NULL, NULL, &err), RM_E_PERMISSION);
  cr_assert_eq (be->remove (x, "k/v", &err), RM_E_PERMISSION);
  be->close (x);
  assert_content ("k/v", "stored");
  cr_assert_not (exists ("new"));
  cr_assert_eq (count_tmp (root), 0);
}

/* ---- ABI 1.1: the write barrier ---------------------------------------------------------- */

/* Whether sync may use syncfs on the filesystem of path (local_syncfs_trusted). */
static bool
syncfs_fs (const char *path)
{
  struct statfs sf;
  if (statfs (path, &sf) < 0)
    return false;
  switch ((unsigned long) sf.f_type) {
  case 0xEF53: case 0x58465342: case 0x9123683E: case 0xF2F52010: case 0x01021994:
    return true;
  default:
    return false;
  }
}

LOCAL_TEST (barrier_defers_fsync_to_sync)
{
  struct rm_error err = { 0, "" };
  void *x;

  /* 1.0 core: each put flushes the file and its directory (and new directories). */
  atomic_store (&fsync_calls, 0);
  put_ok ("one/a", "1");
  cr_assert_geq (atomic_load (&fsync_calls), 2, "file and directory: %d",
                 atomic_load (&fsync_calls));
  atomic_store (&fsync_calls, 0);
  put_ok ("one/a", "2");
  cr_assert_eq (atomic_load (&fsync_calls), 2);

  cr_assert_eq (open_flags (root, "true", RM_OPEN_BARRIER, &x, &err), RM_OK, "%s",
                err.message);
  atomic_store (&fsync_calls, 0);
  atomic_store (&syncfs_calls, 0);
  {
    struct src s = src_mem ("b", 1);
    int i;
    for (i = 0; i < 3; i++) {           /* the same key thrice: flushed once */
      s.off = 0;
      cr_assert_eq (put_src (x, "two/b", &s, NULL, NULL, &err), RM_OK, "%s", err.message);
    }
  }
  cr_assert_eq (be->remove (x, "one/a", &err), RM_OK);
  cr_assert_eq (atomic_load (&fsync_calls), 0, "puts and removes wait for sync");
  cr_assert_eq (be->sync (x, &err), RM_OK, "%s", err.message);
  /* two/b, its directory "two", the root (gained "two", lost "one"), "one" (pruned: gone). */
  cr_assert_eq (atomic_load (&fsync_calls), 3, "fsyncs: %d", atomic_load (&fsync_calls));
  cr_assert_eq (atomic_load (&syncfs_calls), 0, "a few files are fsynced one by one");
  atomic_store (&fsync_calls, 0);
  cr_assert_eq (be->sync (x, &err), RM_OK);
  cr_assert_eq (atomic_load (&fsync_calls), 0, "nothing new to flush");

  /* Many files: one syncfs where the filesystem is trusted with it, else each. */
  {
    char key[32];
    int i;
    for (i = 0; i < 40; i++) {
      struct src s = src_mem ("data", 4);
      snprintf (key, sizeof key, "ns%d/rel/%d", i % 4, i);
      cr_assert_eq (put_src (x, key, &s, NULL, NULL, &err), RM_OK, "%s", err.message);
    }
  }
  cr_assert_eq (atomic_load (&fsync_calls), 0);
  cr_assert_eq (be->sync (x, &err), RM_OK, "%s", err.message);
  if (syncfs_fs (root)) {
    cr_assert_eq (atomic_load (&syncfs_calls), 1);
    cr_assert_eq (atomic_load (&fsync_calls), 0);
  }
  else {
    cr_assert_eq (atomic_load (&syncfs_calls), 0);
    cr_assert_eq (atomic_load (&fsync_calls), 40 + 4 + 4 + 1, "files, rel dirs, ns dirs, root");
  }
  be->close (x);

  /* fsync=false keeps meaning "never": not at put, not at sync. */
  cr_assert_eq (open_flags (root, "false", RM_OPEN_BARRIER, &x, &err), RM_OK);
  atomic_store (&fsync_calls, 0);
  atomic_store (&syncfs_calls, 0);
  {
    struct src s = src_mem ("c", 1);
    cr_assert_eq (put_src (x, "three/c", &s, NULL, NULL, &err), RM_OK);
  }
  cr_assert_eq (be->sync (x, &err), RM_OK);
  cr_assert_eq (atomic_load (&fsync_calls) + atomic_load (&syncfs_calls), 0);
  be->close (x);
  assert_content ("two/b", "b");
  assert_content ("three/c", "c");
  cr_assert_not (exists ("one"));
}

LOCAL_TEST (barrier_sync_failure_is_sticky)
{
  struct rm_error err = { 0, "" };
  struct src s = src_mem ("x", 1);
  void *x;

  cr_assert_eq (open_flags (root, "true", RM_OPEN_BARRIER, &x, &err), RM_OK);
  cr_assert_eq (put_src (x, "a/b", &s, NULL, NULL, &err), RM_OK);
  sync_errno = EIO;
  cr_assert_eq (be->sync (x, &err), RM_E_IO);
  cr_assert (strstr (err.message, "Input/output error"), "%s", err.message);
  sync_errno = 0;
  s.off = 0;
  cr_assert_eq (put_src (x, "a/c", &s, NULL, NULL, &err), RM_OK);
  cr_assert_eq (be->sync (x, &err), RM_E_IO, "a later sync cannot vouch for the lost one");
  cr_assert (strstr (err.message, "an earlier sync failed"), "%s", err.message);
  be->close (x);
}

#define BARRIER_THREADS 4
#define BARRIER_KEYS 30

static void *
barrier_putter (void *arg)
{
  void **xp = arg;
  static atomic_int next;
  int t = atomic_fetch_add (&next, 1), i;

  for (i = 0; i < BARRIER_KEYS; i++) {
    struct rm_error err = { 0, "" };
    struct src s = src_mem ("parallel", 8);
    char key[64];
    snprintf (key, sizeof key, "p%d/%d", i % 3, t * BARRIER_KEYS + i);
    if (put_src (*xp, key, &s, NULL, NULL, &err) != RM_OK)
      return (void *) 1;
    if (i % 10 == 9 && be->sync (*xp, &err) != RM_OK)
      return (void *) 2;
  }
  return NULL;
}

LOCAL_TEST (barrier_parallel_puts_and_syncs)
{
  pthread_t th[BARRIER_THREADS];
  struct rm_error err = { 0, "" };
  struct keys ks = { 0 };
  void *x, *ret;
  int i;

  cr_assert_eq (open_flags (root, "true", RM_OPEN_BARRIER, &x, &err), RM_OK);
  for (i = 0; i < BARRIER_THREADS; i++)
    cr_assert_eq (pthread_create (&th[i], NULL, barrier_putter, &x), 0);
  for (i = 0; i < BARRIER_THREADS; i++) {
    cr_assert_eq (pthread_join (th[i], &ret), 0);
    cr_assert_null (ret, "thread %d failed at step %p", i, ret);
  }
  cr_assert_eq (be->sync (x, &err), RM_OK, "%s", err.message);
  list_all (x, "", 0, &ks);
  cr_assert_eq (ks.n, BARRIER_THREADS * BARRIER_KEYS);
  keys_free (&ks);
  be->close (x);
}

/* ---- symlinks inside the store are never followed ----------------------------------------- */

/* A file outside the store, with content. */
static void
make_outside (const char *rel, const char *text)
{
  char p[PATH_MAX * 2];
  FILE *f;

  snprintf (p, sizeof p, "%s/outside/%s", dir, rel);
  for (char *q = strchr (p + strlen (dir) + 1, '/'); q; q = strchr (q + 1, '/')) {
    *q = '\0';
    mkdir (p, 0700);
    *q = '/';
  }
  f = fopen (p, "w");
  cr_assert_not_null (f);
  fputs (text, f);
  fclose (f);
}

/* What the outside directory holds: "path=content;" for every file, in walk order. */
static char outside_state[8192];

static int
outside_visit (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  char buf[256] = "";
  FILE *f;

  (void) st;
  (void) ftw;
  if (flag == FTW_F && (f = fopen (path, "r")) != NULL) {
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose (f);
  }
  snprintf (outside_state + strlen (outside_state), sizeof outside_state - strlen (outside_state),
            "%s=%s;", path, buf);
  return 0;
}

static const char *
outside_snapshot (void)
{
  char p[PATH_MAX];
  outside_state[0] = '\0';
  snprintf (p, sizeof p, "%s/outside", dir);
  nftw (p, outside_visit, 16, FTW_PHYS);
  return outside_state;
}

static void
link_in_root (const char *rel, const char *target)
{
  char p[PATH_MAX * 2], t[PATH_MAX * 2];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  snprintf (t, sizeof t, "%s/outside/%s", dir, target);
  cr_assert_eq (symlink (t, p), 0, "symlink %s: %s", p, strerror (errno));
}

/* Export- and clear-style operations on keys below a symlink: all refused or skipped,
 * naming the symlink, and nothing outside changes. */
static void
check_symlink_refused (void *x, const char *key, const char *symlink_path, const char *prefix)
{
  char *before = strdup (outside_snapshot ()), want[PATH_MAX * 2];
  struct rm_error err = { 0, "" };
  struct rm_put_options create = { .struct_size = sizeof create, .flags = RM_PUT_IF_NONE_MATCH };
  struct keys ks = { 0 };
  struct src s = src_mem ("evil", 4);
  size_t i;
  int code;

  snprintf (want, sizeof want, "%s/%s", root, symlink_path);
  cr_assert_eq (put_src (x, key, &s, NULL, NULL, &err), RM_E_PERMISSION, "put %s", key);
  cr_assert (strstr (err.message, want) && strstr (err.message, "symbolic link"),
             "put %s: %s", key, err.message);
  s.off = 0;
  code = put_src (x, key, &s, &create, NULL, &err);
  cr_assert (code == RM_E_PERMISSION || code == RM_E_EXISTS, "create-only put: %d", code);
  cr_assert_eq (be->remove (x, key, &err), RM_E_PERMISSION, "remove %s", key);
  cr_assert (strstr (err.message, want), "remove %s: %s", key, err.message);
  cr_assert_null (get_str (x, key, &code, NULL));
  cr_assert_eq (code, RM_E_PERMISSION);

  /* clear: list everything, remove what was listed. */
  logged[0] = '\0';
  list_all (x, "", 0, &ks);
  for (i = 0; i < ks.n; i++) {
    cr_assert_neq (strncmp (ks.k[i], symlink_path, strlen (symlink_path)), 0,
                   "%s listed through the symlink", ks.k[i]);
    cr_assert_eq (be->remove (x, ks.k[i], &err), RM_OK, "%s", err.message);
  }
  cr_assert (strstr (logged, want) && strstr (logged, "symbolic link"), "warning: %s", logged);
  keys_free (&ks);
  logged[0] = '\0';
  list_all (x, prefix, 0, &ks);
  cr_assert_eq (ks.n, 0, "list '%s' through the symlink", prefix);
  cr_assert (strstr (logged, want), "warning for list '%s': %s", prefix, logged);
  keys_free (&ks);
  cr_assert_str_eq (outside_snapshot (), before, "nothing outside changed");
  free (before);
}

static void
symlink_cases (bool walk)
{
  struct rm_error err = { 0, "" };
  void *x;

  cr_assert_eq (open_flags (root, "true", RM_OPEN_BARRIER, &x, &err), RM_OK);
  if (walk)
    local_test_no_openat2 (x);
  make_outside ("ns/web/1.json.gz", "victim 1");
  make_outside ("web/2.json.gz", "victim 2");
  make_outside ("file", "victim 3");

  /* `releases` is a symlink to a directory outside. */
  put_ok ("index.json", "{}");
  link_in_root ("releases", "");
  check_symlink_refused (x, "releases/ns/web/1.json.gz", "releases", "releases/ns/");
  cr_assert_eq (unlink (strcat (strcpy ((char [PATH_MAX + 16]) { 0 }, root), "/releases")), 0);

  /* A namespace directory is a symlink. */
  put_ok ("releases/real/web/1.json.gz", "mine");
  link_in_root ("releases/ns", "ns");
  check_symlink_refused (x, "releases/ns/web/1.json.gz", "releases/ns", "releases/ns/web/");

  /* A key's file is a symlink. */
  put_ok ("releases/k/web/1.json.gz", "mine");
  link_in_root ("releases/k/web/2.json.gz", "file");
  check_symlink_refused (x, "releases/k/web/2.json.gz", "releases/k/web/2.json.gz",
                         "releases/k/web/");
  cr_assert_eq (be->sync (x, &err), RM_OK, "%s", err.message);
  be->close (x);
}

LOCAL_TEST (symlinks_never_followed)
{
  symlink_cases (false);
}

LOCAL_TEST (symlinks_never_followed_without_openat2)
{
  symlink_cases (true);
}

/* ---- a root other users can change ---------------------------------------------------------- */

LOCAL_TEST (root_writable_by_others_refused)
{
  struct rm_error err = { 0, "" };
  char want[PATH_MAX + 32];
  void *x;

  be->close (h);
  h = NULL;
  cr_assert_eq (chmod (root, 0777), 0);
  cr_assert_eq (open_at (root, "true", &x, &err), RM_E_PERMISSION);
  snprintf (want, sizeof want, "chmod go-w %s", root);
  cr_assert (strstr (err.message, root) && strstr (err.message, "0777")
             && strstr (err.message, want), "%s", err.message);
  cr_assert_eq (chmod (root, 0720), 0);
  cr_assert_eq (open_flags (root, "true", RM_OPEN_BARRIER, &x, &err), RM_E_PERMISSION,
                "group-writable");
  cr_assert (strstr (err.message, "0720"), "%s", err.message);
  logged[0] = '\0';
  cr_assert_eq (open_flags (root, "true", RM_OPEN_READONLY, &x, &err), RM_OK, "%s",
                err.message);
  cr_assert (strstr (logged, "0720") && strstr (logged, "chmod go-w"), "warning: %s", logged);
  be->close (x);
  cr_assert_eq (chmod (root, 0750), 0);
  cr_assert_eq (open_at (root, "true", &x, &err), RM_OK, "%s", err.message);
  be->close (x);

  if (geteuid () != 0)
    cr_skip_test ("the ownership half needs root to chown (running as uid %d)",
                  (int) geteuid ());
  cr_assert_eq (chown (root, 65534, 65534), 0);
  cr_assert_eq (open_at (root, "true", &x, &err), RM_E_PERMISSION);
  cr_assert (strstr (err.message, "owned by uid 65534") && strstr (err.message, "chown"),
             "%s", err.message);
  logged[0] = '\0';
  cr_assert_eq (open_flags (root, "true", RM_OPEN_READONLY, &x, &err), RM_OK);
  cr_assert (strstr (logged, "owned by uid 65534"), "warning: %s", logged);
  be->close (x);
}

/* ---- temp files of writers that are gone ------------------------------------------------------ */

static void
make_tmp (const char *name, time_t age)
{
  char p[PATH_MAX * 2];
  int fd;

  snprintf (p, sizeof p, "%s/d/%s", root, name);
  fd = open (p, O_CREAT | O_WRONLY | O_EXCL, 0600);
  cr_assert_geq (fd, 0, "%s: %s", p, strerror (errno));
  cr_assert_eq (write (fd, "partial", 7), 7);
  close (fd);
  if (age) {
    struct timeval tv[2];
    gettimeofday (&tv[0], NULL);
    tv[0].tv_sec -= age;
    tv[1] = tv[0];
    cr_assert_eq (utimes (p, tv), 0);
  }
}

static bool
tmp_exists (const char *name)
{
  char rel[PATH_MAX];
  snprintf (rel, sizeof rel, "d/%s", name);
  return exists (rel);
}

LOCAL_TEST (stale_temp_files_removed_by_writable_list)
{
  char dead[128], live[128], other[128];
  const char *tag = local_test_tag (h);
  struct rm_error err = { 0, "" };
  struct keys ks = { 0 };
  pid_t pid;
  void *x;

  cr_assert (tag[0], "this system tells boot and pid namespace apart");
  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    _exit (0);
  cr_assert_eq (waitpid (pid, NULL, 0), pid);   /* pid is now a writer that is gone */
  cr_assert_eq (local_tmp_name (tag, (long) pid, dead, sizeof dead), 0);
  cr_assert_eq (local_tmp_name (tag, (long) getpid (), live, sizeof live), 0);
  cr_assert_eq (strncmp (live, ".rm-tmp.", 8), 0, "%s", live);
  cr_assert_eq (local_tmp_name ("0123456789abcdef-1", 1, other, sizeof other), 0);
  cr_assert_eq (strncmp (other, ".rm-tmp.0123456789abcdef-1-1.", 29), 0, "%s", other);

  put_ok ("d/real", "1");
  make_tmp (dead, 0);
  make_tmp (live, 0);
  make_tmp (other, 0);                  /* another machine's, fresh: cannot tell, kept */
  make_tmp (".rm-tmp.abc123", 0);       /* an older release's name, fresh: kept */
  make_tmp (".rm-tmp.old123", 2 * 24 * 3600);   /* ... two days old: removed */

  /* A read-only list removes nothing. */
  cr_assert_eq (open_flags (root, "true", RM_OPEN_READONLY, &x, &err), RM_OK);
  list_all (x, "", 0, &ks);
  be->close (x);
  cr_assert_eq (ks.n, 1);
  keys_free (&ks);
  cr_assert (tmp_exists (dead) && tmp_exists (".rm-tmp.old123"));

  list_all (h, "", 0, &ks);
  cr_assert_eq (ks.n, 1, "temp files are never keys");
  cr_assert_str_eq (ks.k[0], "d/real");
  keys_free (&ks);
  cr_assert_not (tmp_exists (dead), "the dead writer's temp file is gone");
  cr_assert (tmp_exists (live), "our own (live) temp file is kept");
  cr_assert (tmp_exists (other));
  cr_assert (tmp_exists (".rm-tmp.abc123"));
  cr_assert_not (tmp_exists (".rm-tmp.old123"));
}
