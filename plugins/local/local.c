/* local: the `local` backend keeps each key as one file under a root directory.
 *
 * Key "releases/ns/web/3.json.gz" is the file ROOT/releases/ns/web/3.json.gz.  Files are
 * 0600 and directories 0700; directories are made on demand and pruned when a remove
 * leaves them empty.  Below the root nothing is reached by path: every open, mkdir,
 * rename, unlink and readdir is relative to a directory fd, with openat2(2)
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it and one O_NOFOLLOW openat
 * per segment where not, so a symlink inside the store is refused (or skipped by list)
 * and never followed out of it.  The root itself may be reached through symlinks: the
 * user chose that path.  A root that other users can write to is refused.
 *
 * A put streams the reader into a hidden temp file (".rm-tmp.TAG-PID.RANDOM") in the
 * key's directory and moves it over the key, so a reader or a crash sees the old object
 * or the new one, never a mix.  Without RM_OPEN_BARRIER (a 1.0 core) the temp file is
 * fsynced before the move and the directory after it, so each put is durable when it
 * returns.  With the barrier a put only records what it changed and sync makes all of it
 * durable at once (see local_sync).  The etag is the SHA-256 of the content.  Creating
 * puts link(2) the finished temp file to the key, which fails atomically if the key
 * exists; replacing puts and removes hold flock(2) on the current file while they check
 * and replace it, so two if-match writers cannot both win.  list walks the tree in key
 * order (a directory sorts as NAME "/"), pages with a token that encodes the last key
 * returned, and on writable handles removes the temp files of writers that are gone.
 * Every callback may run on any thread at once: the handle's mutable state (what the
 * next sync must flush) is behind a mutex.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif
#if defined(SYS_openat2) && defined(RESOLVE_NO_SYMLINKS)
#define LOCAL_HAVE_OPENAT2 1
#endif
#endif

#include <openssl/evp.h>

#include <releasemanager/backend.h>

/* Helpers the Criterion tests call directly (they compile this file into the test). */
#ifdef RM_UNITTEST
#define LOCAL_UNITTEST
int local_errno_code (int errnum);
int local_tmp_name (const char *tag, long pid, char *out, size_t size);
const char *local_test_tag (void *handle);
void local_test_no_openat2 (void *handle);
#else
#define LOCAL_UNITTEST static
#endif

static const struct rm_config_key local_keys[] = {
  { RM_PATH_KEY, RM_KEY_PATH, NULL,
    "directory that holds the stored keys, created with mode 0700 if missing",
    RM_KEY_REQUIRED, NULL },
  { "fsync", RM_KEY_BOOL, "true",
    "fsync each file and its directory before a put or remove returns (or, when the core "
    "uses the write barrier, before sync returns)", 0, NULL },
  { NULL, 0, NULL, NULL, 0, NULL }
};

/* Temp files start with this; keys may not have a segment that does (local_key_check). */
#define LOCAL_TMP_PREFIX     ".rm-tmp."
#define LOCAL_TMP_NAME_MAX   96
/* A temp file whose writer cannot be checked (another machine or boot, an older
 * release's name) is stale once it has not been written for this long. */
#define LOCAL_TMP_MAX_AGE    (24 * 60 * 60)
#define LOCAL_BUFSIZE        (64 * 1024)
#define LOCAL_LIST_DEFAULT   1000
/* A concurrent remove may prune a directory between our mkdir and our temp file. */
#define LOCAL_CREATE_TRIES   100
/* A lock is retried while other writers keep replacing the file under it. */
#define LOCAL_LOCK_TRIES     1000
/* sync flushes up to this many files one by one; more, and one syncfs(2) is cheaper
 * (bench/RESULTS.md: 2000 files of 8 KiB, 7.4 s of fsyncs against 0.06 s of syncfs). */
#define LOCAL_SYNC_EACH_MAX  16

/* True when the caller-sized struct p carries field. */
#define LOCAL_HAS(p, type, field) RM_STRUCT_HAS (p, type, field)

/* A set of relative paths ("" is the root): what the next sync must flush. */
struct local_set {
  char **v;                   /* open addressing; NULL = free slot */
  size_t n, cap;              /* cap is 0 or a power of two */
};

struct local {
  const struct rm_host *host;
  char *root;                 /* absolute; no trailing '/' unless it is "/" */
  size_t baselen;             /* bytes of root before the '/' that joins a key */
  bool fsync;                 /* fsync=true */
  bool readonly;              /* RM_OPEN_READONLY: put and remove are refused */
  bool barrier;               /* RM_OPEN_BARRIER: durability waits for sync */
  char tag[64];               /* "BOOT-PIDNS": who may judge our temp files; "" unknown */
  int sync_fd;                /* the root, held for syncfs(2) from open; -1: fsync each */
  dev_t root_dev;             /* the filesystem sync_fd flushes */
  atomic_bool no_openat2;     /* the kernel refused openat2: walk segment by segment */
  pthread_mutex_t sync_lock;  /* one sync at a time, so a sync returns only when what
                                 every earlier put wrote is on disk */
  pthread_mutex_t lock;       /* guards the fields below */
  struct local_set files;     /* keys written since the last sync */
  struct local_set dirs;      /* directories whose entries changed since then */
  bool other_dev;             /* one of them is on another filesystem than sync_fd */
  char *sync_failed;          /* sticky: why a sync failed; NULL if none did */
};

/* ---- errors ---------------------------------------------------------------------- */

/* The one place errno becomes an RM_E_* code. */
LOCAL_UNITTEST int
local_errno_code (int errnum)
{
  switch (errnum) {
  case 0:            return RM_E_INTERNAL;  /* a failure without a cause is our bug */
  case ENOENT:
  case ENOTDIR:      return RM_E_NOT_FOUND; /* a parent is a file: no such key either */
  case EACCES:
  case EPERM:
  case EROFS:        return RM_E_PERMISSION;
  case ENOSPC:
  case EDQUOT:       return RM_E_NOSPACE;
  case EEXIST:       return RM_E_EXISTS;
  case ENOMEM:       return RM_E_NOMEM;
  case ENAMETOOLONG: return RM_E_INVALID;   /* the key is too long for this filesystem */
  case ELOOP:        return RM_E_PERMISSION; /* a symlink in the store: never followed */
  case EAGAIN:
  case EINTR:        return RM_E_TRANSIENT;
  default:           return RM_E_IO;
  }
}

/* strerror_r is GNU (returns char *) or XSI (returns int) depending on the libc. */
static inline const char *
local_strerror_gnu (char *r, char *buf)
{
  (void) buf;
  return r;
}

static inline const char *
local_strerror_xsi (int r, char *buf)
{
  return r == 0 ? buf : "Unknown error";
}

#define local_strerror(e, buf)                                              \
  _Generic (strerror_r ((e), (buf), sizeof (buf)),                          \
            char *: local_strerror_gnu, int: local_strerror_xsi)            \
    (strerror_r ((e), (buf), sizeof (buf)), (buf))

/* Fill err for a failed system call on path: "PATH: WHAT: Strerror" (WHAT optional). */
static int
local_fail (struct rm_error *err, int errnum, const char *path, const char *what)
{
  char buf[256];
  const char *text = local_strerror (errnum, buf);
  int code = local_errno_code (errnum);

  if (what)
    return rm_error_set (err, code, "%s: %s: %s", path, what, text);
  return rm_error_set (err, code, "%s: %s", path, text);
}

static int
local_nomem (struct rm_error *err)
{
  return rm_error_set (err, RM_E_NOMEM, "out of memory");
}

/* The refusal of a symlink at ROOT/rel[0..len). */
static int
local_symlink_fail (const struct local *h, const char *rel, size_t len, struct rm_error *err)
{
  return rm_error_set (err, RM_E_PERMISSION, "%s/%.*s: is a symbolic link; the local "
                       "backend never follows a symbolic link inside the store (replace "
                       "it with the real directory or file)", h->root, (int) len, rel);
}

/* local_fail for ROOT/rel[0..len). */
static int
local_fail_rel (const struct local *h, int errnum, const char *rel, size_t len,
                const char *what, struct rm_error *err)
{
  char buf[256];
  const char *text = local_strerror (errnum, buf);

  return rm_error_set (err, local_errno_code (errnum), "%s/%.*s: %s%s%s", h->root,
                       (int) len, rel, what ? what : "", what ? ": " : "", text);
}

static int
local_readonly (const struct local *h, struct rm_error *err)
{
  return rm_error_set (err, RM_E_PERMISSION, "%s: opened read-only", h->root);
}

/* ---- keys and paths -------------------------------------------------------------- */

/* rm_key_check, plus what a directory tree needs: no segment may look like one of our
 * temp files, and no segment may exceed the filesystem's name limit. */
static int
local_key_check (const char *key, struct rm_error *err)
{
  const char *seg, *end;
  int r = rm_key_check (key, err);

  if (r != RM_OK)
    return r;
  for (seg = key;; seg = end + 1) {
    size_t n;
    end = strchr (seg, '/');
    n = end ? (size_t) (end - seg) : strlen (seg);
    if (n >= sizeof LOCAL_TMP_PREFIX - 1
        && memcmp (seg, LOCAL_TMP_PREFIX, sizeof LOCAL_TMP_PREFIX - 1) == 0)
      return rm_error_set (err, RM_E_INVALID,
                           "invalid key '%s': a segment starting with '" LOCAL_TMP_PREFIX
                           "' is reserved for the local backend's temporary files", key);
    if (n > NAME_MAX)
      return rm_error_set (err, RM_E_INVALID,
                           "invalid key '%s': a segment is longer than %d bytes, the "
                           "filesystem's limit", key, NAME_MAX);
    if (!end)
      return RM_OK;
  }
}

/* A directory entry that can be a key segment: what local_key_check accepts. */
static bool
local_name_ok (const char *name)
{
  const unsigned char *p;

  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0
      || strncmp (name, LOCAL_TMP_PREFIX, sizeof LOCAL_TMP_PREFIX - 1) == 0)
    return false;
  for (p = (const unsigned char *) name; *p; p++)
    if (*p == '\\' || *p < 0x20 || *p == 0x7f)
      return false;
  return true;
}

/* ROOT "/" key, allocated, for messages; NULL when out of memory. */
static char *
local_path (const struct local *h, const char *key)
{
  size_t klen = strlen (key);
  char *p = malloc (h->baselen + 1 + klen + 1);

  if (p) {
    memcpy (p, h->root, h->baselen);
    p[h->baselen] = '/';
    memcpy (p + h->baselen + 1, key, klen + 1);
  }
  return p;
}

/* The directory part of key: its length (0: the root) and where the last segment starts. */
static size_t
local_dirlen (const char *key, const char **base)
{
  const char *slash = strrchr (key, '/');

  *base = slash ? slash + 1 : key;
  return slash ? (size_t) (slash - key) : 0;
}

/* ---- the set of paths the next sync flushes ------------------------------------------ */

static uint64_t
local_set_hash (const char *s, size_t len)
{
  uint64_t x = 14695981039346656037ull;        /* FNV-1a */
  size_t i;

  for (i = 0; i < len; i++)
    x = (x ^ (unsigned char) s[i]) * 1099511628211ull;
  return x;
}

/* Add s[0..len) unless present.  -1 when out of memory. */
static int
local_set_add (struct local_set *set, const char *s, size_t len)
{
  size_t i;

  if ((set->n + 1) * 2 > set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64, j;
    char **v = calloc (cap, sizeof *v);
    if (!v)
      return -1;
    for (j = 0; j < set->cap; j++)
      if (set->v[j]) {
        i = local_set_hash (set->v[j], strlen (set->v[j])) & (cap - 1);
        while (v[i])
          i = (i + 1) & (cap - 1);
        v[i] = set->v[j];
      }
    free (set->v);
    set->v = v;
    set->cap = cap;
  }
  for (i = local_set_hash (s, len) & (set->cap - 1); set->v[i]; i = (i + 1) & (set->cap - 1))
    if (strncmp (set->v[i], s, len) == 0 && set->v[i][len] == '\0')
      return 0;
  set->v[i] = strndup (s, len);
  if (!set->v[i])
    return -1;
  set->n++;
  return 0;
}

static void
local_set_free (struct local_set *set)
{
  size_t i;

  for (i = 0; i < set->cap; i++)
    free (set->v[i]);
  free (set->v);
  memset (set, 0, sizeof *set);
}

/* ---- directories, below the root and never through a symlink ------------------------- */

/* A directory entry changed in the directory dfd, ROOT/rel[0..len): without the barrier
 * flush it now (EINVAL: this filesystem cannot sync directories), with it record it for
 * sync.  0, or -1 with errno. */
static int
local_dir_changed (struct local *h, int dfd, const char *rel, size_t len)
{
  int r = 0;

  if (!h->fsync)
    return 0;
  if (!h->barrier)
    return fsync (dfd) < 0 && errno != EINVAL ? -1 : 0;
  pthread_mutex_lock (&h->lock);
  if (local_set_add (&h->dirs, rel, len) < 0) {
    errno = ENOMEM;
    r = -1;
  }
  pthread_mutex_unlock (&h->lock);
  return r;
}

/* Open ROOT/rel[0..len) one segment at a time, each with O_NOFOLLOW; with create, make
 * the missing ones (0700 whatever the umask).  0 and *out, or an errno: ENOTDIR when a
 * segment is a symlink or a file. */
static int
local_walk_dirs (struct local *h, int rootfd, const char *rel, size_t len, bool create,
                 int *out)
{
  char seg[NAME_MAX + 1];
  size_t pos = 0;
  int fd = openat (rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;

  if (fd < 0)
    return errno;
  while (pos < len) {
    const char *end = memchr (rel + pos, '/', len - pos);
    size_t n = end ? (size_t) (end - (rel + pos)) : len - pos;
    int next;

    if (n > NAME_MAX) {
      close (fd);
      return ENAMETOOLONG;
    }
    memcpy (seg, rel + pos, n);
    seg[n] = '\0';
    next = openat (fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat (fd, seg, 0700) == 0) {
        if (local_dir_changed (h, fd, rel, pos ? pos - 1 : 0) < 0) {
          e = errno;
          close (fd);
          return e;
        }
        next = openat (fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next >= 0)
          (void) fchmod (next, 0700);   /* a umask such as 0277 took bits we need */
      }
      else if (errno == EEXIST)         /* made meanwhile by another put */
        next = openat (fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      e = errno;
      close (fd);
      return e;
    }
    close (fd);
    fd = next;
    pos += n + 1;
  }
  *out = fd;
  return 0;
}

/* Open the directory ROOT/rel[0..len) (len 0: the root) relative to rootfd without
 * following a symlink; with create, make what is missing.  0 and *out, or an errno
 * (ENOENT, ENOTDIR or ELOOP for a symlink or a file on the way, ...). */
static int
local_dir_open (struct local *h, int rootfd, const char *rel, size_t len, bool create,
                int *out)
{
#ifdef LOCAL_HAVE_OPENAT2
  if (len > 0 && !atomic_load (&h->no_openat2)) {
    struct open_how how;
    char buf[RM_KEY_MAX + 1];
    int fd, e;

    if (len > RM_KEY_MAX)
      return ENAMETOOLONG;
    memcpy (buf, rel, len);
    buf[len] = '\0';
    memset (&how, 0, sizeof how);
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    fd = (int) syscall (SYS_openat2, rootfd, buf, &how, sizeof how);
    if (fd >= 0) {
      *out = fd;
      return 0;
    }
    e = errno;
    if (e == ENOSYS || e == EPERM || e == E2BIG || e == EINVAL)
      atomic_store (&h->no_openat2, true);      /* an old kernel, or a seccomp filter */
    else if (e != EAGAIN && !(e == ENOENT && create))
      return e;
  }
#endif
  return local_walk_dirs (h, rootfd, rel, len, create, out);
}

/* Why ROOT/rel[0..len) cannot be opened as a directory when that failed with ENOTDIR
 * or ELOOP: 1 and *at (the length of rel up to the culprit) when a segment is a
 * symlink, 2 when it is something else that is not a directory, 0 if neither now. */
static int
local_find_nondir (int rootfd, const char *rel, size_t len, size_t *at)
{
  char seg[NAME_MAX + 1];
  size_t pos = 0;
  int fd = openat (rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), kind = 0;

  while (fd >= 0 && pos < len) {
    const char *end = memchr (rel + pos, '/', len - pos);
    size_t n = end ? (size_t) (end - (rel + pos)) : len - pos;
    struct stat st;
    int next;

    if (n > NAME_MAX)
      break;
    memcpy (seg, rel + pos, n);
    seg[n] = '\0';
    if (fstatat (fd, seg, &st, AT_SYMLINK_NOFOLLOW) < 0)
      break;
    if (!S_ISDIR (st.st_mode)) {
      kind = S_ISLNK (st.st_mode) ? 1 : 2;
      *at = pos + n;
      break;
    }
    next = openat (fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close (fd);
    fd = next;
    pos += n + 1;
  }
  if (fd >= 0)
    close (fd);
  return kind;
}

/* Fill err for local_dir_open (ROOT/rel[0..len)) failing with e, for key at path:
 * a symlink is named; a file in the way is a conflict for a put (put) and "no such key"
 * otherwise. */
static int
local_dir_fail (const struct local *h, int rootfd, const char *rel, size_t len, int e,
                bool put, const char *path, struct rm_error *err)
{
  size_t at = 0;

  if (e == ENOTDIR || e == ELOOP)
    switch (local_find_nondir (rootfd, rel, len, &at)) {
    case 1:
      return local_symlink_fail (h, rel, at, err);
    case 2:
      if (put)
        return rm_error_set (err, RM_E_INVALID,
                             "%s: conflicts with a stored key: a key cannot be both an "
                             "object and the parent of other keys in a local directory",
                             path);
      return rm_error_set (err, RM_E_NOT_FOUND, "%s: no such key", path);
    default:
      break;
    }
  return local_fail (err, e, path, NULL);
}

/* mkdir -p of the root itself, with mode 0700 whatever the umask.  The root's own path
 * may go through symlinks.  dir is modified temporarily.  -1 with errno on failure. */
static int
local_mkdirs (const struct local *h, char *dir)
{
  char *slash;
  int r;

  if (mkdir (dir, 0700) == 0)
    goto made;
  if (errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return -1;
  slash = strrchr (dir, '/');
  if (!slash || slash == dir)
    return -1;
  *slash = '\0';
  r = local_mkdirs (h, dir);
  *slash = '/';
  if (r < 0)
    return -1;
  if (mkdir (dir, 0700) < 0)
    return errno == EEXIST ? 0 : -1;
made:
  (void) chmod (dir, 0700);             /* a umask such as 0277 took bits we need */
  if (h->fsync) {                       /* make the new entry durable in its parent now */
    slash = strrchr (dir, '/');
    if (slash && slash != dir) {
      int fd;
      *slash = '\0';
      fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0) {
        (void) fsync (fd);
        close (fd);
      }
      *slash = '/';
    }
  }
  return 0;
}

/* Open the root for one operation; with create (a put), make it if it is missing. */
static int
local_root_open (const struct local *h, bool create, int *fd, struct rm_error *err)
{
  char *dir;

  *fd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0 && errno == ENOENT && create) {
    dir = strdup (h->root);
    if (!dir)
      return local_nomem (err);
    if (local_mkdirs (h, dir) < 0) {
      int e = errno;
      free (dir);
      return local_fail (err, e, h->root, "cannot create directory");
    }
    free (dir);
    *fd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (*fd < 0)
    return local_fail (err, errno, h->root, NULL);
  return RM_OK;
}

/* Remove the directories of key[0..dirlen) that are now empty, deepest first, up to (not
 * including) the root.  Stops at the first that is not empty; a concurrent put makes
 * again what it needs. */
static void
local_prune (struct local *h, int rootfd, const char *key, size_t dirlen)
{
  char name[NAME_MAX + 1];

  while (dirlen > 0) {
    const char *slash = memrchr (key, '/', dirlen);
    size_t plen = slash ? (size_t) (slash - key) : 0;
    size_t n = dirlen - (slash ? plen + 1 : 0);
    int pfd, r;

    if (n > NAME_MAX || local_dir_open (h, rootfd, key, plen, false, &pfd) != 0)
      return;
    memcpy (name, key + dirlen - n, n);
    name[n] = '\0';
    r = unlinkat (pfd, name, AT_REMOVEDIR);
    close (pfd);
    if (r < 0)
      return;
    dirlen = plen;
  }
}

/* ---- temp files ------------------------------------------------------------------- */

/* Who we are for temp-file names: the boot and the pid namespace, so that a later run
 * that finds the same two can tell from the pid alone whether the writer is still alive
 * (the host name would not tell two containers apart).  "" when /proc cannot say. */
static void
local_tag_init (struct local *h)
{
  char boot[64] = "", ns[64], *p, *q;
  FILE *f = fopen ("/proc/sys/kernel/random/boot_id", "re");
  ssize_t n;

  h->tag[0] = '\0';
  if (!f)
    return;
  if (!fgets (boot, sizeof boot, f))
    boot[0] = '\0';
  fclose (f);
  for (p = q = boot; *p; p++)             /* the hex digits of the first 16 */
    if (strchr ("0123456789abcdef", *p) && q - boot < 16)
      *q++ = *p;
  *q = '\0';
  n = readlink ("/proc/self/ns/pid", ns, sizeof ns - 1);    /* "pid:[4026531836]" */
  if (q - boot != 16 || n <= 0)
    return;
  ns[n] = '\0';
  p = strchr (ns, '[');
  q = p ? strchr (p, ']') : NULL;
  if (!q || q == p + 1 || q - p > 21)
    return;
  *q = '\0';
  snprintf (h->tag, sizeof h->tag, "%s-%s", boot, p + 1);
}

/* The name of a new temp file: LOCAL_TMP_PREFIX TAG "-" PID "." RANDOM (TAG "x" when
 * unknown).  Returns 0, or -1 if size is too small. */
LOCAL_UNITTEST int
local_tmp_name (const char *tag, long pid, char *out, size_t size)
{
  static atomic_uint_fast64_t counter;
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  struct timespec ts;
  uint64_t x;
  char rnd[9];
  int i, n;

  clock_gettime (CLOCK_REALTIME, &ts);
  x = atomic_fetch_add (&counter, 1) * 0x9E3779B97F4A7C15ull
      ^ (uint64_t) ts.tv_nsec * 0xBF58476D1CE4E5B9ull ^ (uint64_t) pid << 32;
  for (i = 0; i < 8; i++) {
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    rnd[i] = chars[(x >> 40) % (sizeof chars - 1)];
  }
  rnd[8] = '\0';
  n = snprintf (out, size, LOCAL_TMP_PREFIX "%s-%ld.%s", *tag ? tag : "x", pid, rnd);
  return n < 0 || (size_t) n >= size ? -1 : 0;
}

/* True when the temp file name in directory dfd belongs to a writer that is gone: one
 * of our boot and pid namespace whose pid is dead, or any (another machine's, an older
 * release's ".rm-tmp.XXXXXX", a writer stuck for a day) not written for
 * LOCAL_TMP_MAX_AGE. */
static bool
local_tmp_stale (const struct local *h, int dfd, const char *name, time_t now)
{
  const char *tag = name + sizeof LOCAL_TMP_PREFIX - 1;
  const char *dot = strrchr (tag, '.'), *dash;
  struct stat st;

  if (dot && h->tag[0]) {
    for (dash = dot; dash > tag && dash[-1] != '-'; dash--)
      ;
    if (dash > tag && (size_t) (dash - 1 - tag) == strlen (h->tag)
        && memcmp (tag, h->tag, strlen (h->tag)) == 0 && dot - dash > 0 && dot - dash < 11
        && dash[0] != '0') {
      long pid = 0;
      const char *p;
      for (p = dash; p < dot && *p >= '0' && *p <= '9'; p++)
        pid = pid * 10 + (*p - '0');
      if (p == dot && pid > 0 && pid <= INT_MAX && kill ((pid_t) pid, 0) < 0
          && errno == ESRCH)
        return true;
    }
  }
  return fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)
         && now - st.st_mtime > LOCAL_TMP_MAX_AGE;
}

/* ---- hashing --------------------------------------------------------------------- */

static void
local_hex (const unsigned char *md, unsigned n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  unsigned i;

  for (i = 0; i < n; i++) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  out[2 * n] = '\0';
}

static int
local_hash_finish (EVP_MD_CTX *md, char etag[RM_ETAG_MAX], struct rm_error *err)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned n = 0;

  if (EVP_DigestFinal_ex (md, digest, &n) != 1)
    return rm_error_set (err, RM_E_INTERNAL, "SHA-256 failed");
  local_hex (digest, n, etag);
  return RM_OK;
}

static EVP_MD_CTX *
local_hash_new (struct rm_error *err)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();

  if (md && EVP_DigestInit_ex (md, EVP_sha256 (), NULL) == 1)
    return md;
  EVP_MD_CTX_free (md);
  local_nomem (err);
  return NULL;
}

/* Read fd from offset 0 to its end, hashing and (if writer is set) passing bytes on.
 * Fills etag and *total.  path names the file in errors. */
static int
local_read_all (int fd, const char *path, const struct rm_writer *writer, char *etag,
                long long *total, struct rm_error *err)
{
  EVP_MD_CTX *md = local_hash_new (err);
  unsigned char *buf = malloc (LOCAL_BUFSIZE);
  long long off = 0;
  int r = RM_OK;

  if (!md || !buf) {
    r = md ? local_nomem (err) : RM_E_NOMEM;
    goto out;
  }
  for (;;) {
    ssize_t n = pread (fd, buf, LOCAL_BUFSIZE, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = local_fail (err, errno, path, NULL);
      goto out;
    }
    if (n == 0)
      break;
    if (EVP_DigestUpdate (md, buf, (size_t) n) != 1) {
      r = rm_error_set (err, RM_E_INTERNAL, "SHA-256 failed");
      goto out;
    }
    if (writer && writer->write (writer->opaque, buf, (size_t) n) != 0) {
      r = rm_error_set (err, RM_E_ABORTED, "%s: the writer failed after %lld bytes",
                        path, off);
      goto out;
    }
    off += n;
  }
  *total = off;
  r = local_hash_finish (md, etag, err);
out:
  EVP_MD_CTX_free (md);
  free (buf);
  return r;
}

static void
local_fill_info (struct rm_object_info *info, long long size, const struct stat *st,
                 const char *etag)
{
  if (!info)
    return;
  if (LOCAL_HAS (info, struct rm_object_info, size))
    info->size = size;
  if (LOCAL_HAS (info, struct rm_object_info, mtime))
    info->mtime = (long long) st->st_mtime;
  if (LOCAL_HAS (info, struct rm_object_info, etag))
    snprintf (info->etag, sizeof info->etag, "%s", etag);
}

/* ---- open / close ---------------------------------------------------------------- */

/* Whether one syncfs(2) on the root flushes what fsync of each file would, and reports
 * a failed write-back: since Linux 5.8 it returns the filesystem's write-back errors
 * seen since the fd was opened (we hold it from open), and these filesystems write
 * back every dirty inode and commit their journal in sync_fs.  Elsewhere (FUSE, NFS,
 * older kernels) sync fsyncs each file and directory. */
static bool
local_syncfs_trusted (int fd)
{
#ifdef __linux__
  static const unsigned long types[] = {
    0xEF53,                   /* ext2/3/4 */
    0x58465342,               /* xfs */
    0x9123683E,               /* btrfs */
    0xF2F52010,               /* f2fs */
    0x01021994,               /* tmpfs: nothing to flush */
  };
  struct utsname u;
  struct statfs sf;
  unsigned major = 0, minor = 0;
  size_t i;

  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &major, &minor) != 2
      || major * 1000 + minor < 5008 || fstatfs (fd, &sf) < 0)
    return false;
  for (i = 0; i < sizeof types / sizeof types[0]; i++)
    if ((unsigned long) sf.f_type == types[i])
      return true;
#else
  (void) fd;
#endif
  return false;
}

/* Refuse (writable handles) or warn about (read-only ones) a root that other users can
 * change, as ssh does for ~/.ssh: group- or world-writable, or owned by someone other
 * than this user or root.  Root-owned is fine: root can change anything anyway. */
static int
local_check_root (const struct local *h, const struct stat *st, struct rm_error *err)
{
  char msg[2 * PATH_MAX + 256];

  if (st->st_mode & (S_IWGRP | S_IWOTH))
    snprintf (msg, sizeof msg, "%s: mode %04o lets other users change the stored "
              "releases (group- or world-writable); fix: chmod go-w %s",
              h->root, (unsigned) (st->st_mode & 07777), h->root);
  else if (st->st_uid != geteuid () && st->st_uid != 0)
    snprintf (msg, sizeof msg, "%s: owned by uid %u, not by this user (uid %u) or root, "
              "so another user controls the stored releases; fix: chown %u %s, or run "
              "as uid %u", h->root, (unsigned) st->st_uid, (unsigned) geteuid (),
              (unsigned) geteuid (), h->root, (unsigned) st->st_uid);
  else
    return RM_OK;
  if (!h->readonly)
    return rm_error_set (err, RM_E_PERMISSION, "%s", msg);
  if (RM_HOST_HAS (h->host, log))
    h->host->log (h->host, RM_LOG_WARN, "local: %s", msg);
  return RM_OK;
}

static int
local_open (const struct rm_host *host, const struct rm_kv *config, void **handle,
            struct rm_error *err)
{
  const char *path = rm_config_get (config, RM_PATH_KEY);
  const char *sync = rm_config_get (config, "fsync");
  uint32_t flags = rm_host_open_flags (host);
  struct local *h;
  struct stat st;
  char *cwd = NULL;
  size_t len;
  int r;

  if (!path || !*path)
    return rm_error_set (err, RM_E_CONFIG, "path is required: the directory that holds "
                         "the stored keys");
  h = calloc (1, sizeof *h);
  if (!h)
    return local_nomem (err);
  h->host = host;
  h->sync_fd = -1;
  h->readonly = (flags & RM_OPEN_READONLY) != 0;
  h->barrier = (flags & RM_OPEN_BARRIER) != 0 && !h->readonly;
  atomic_init (&h->no_openat2, false);
  if (!sync || strcmp (sync, "true") == 0)
    h->fsync = true;
  else if (strcmp (sync, "false") == 0)
    h->fsync = false;
  else {
    free (h);
    return rm_error_set (err, RM_E_CONFIG, "fsync: expected true or false, not '%s'", sync);
  }

  /* The core makes the path absolute; do it here too so a later chdir cannot move us. */
  if (path[0] != '/') {
    cwd = getcwd (NULL, 0);
    if (!cwd) {
      r = local_fail (err, errno, path, "cannot make the path absolute");
      free (h);
      return r;
    }
  }
  if (asprintf (&h->root, "%s%s%s", cwd ? cwd : "", cwd ? "/" : "", path) < 0) {
    free (cwd);
    free (h);
    return local_nomem (err);
  }
  free (cwd);
  for (len = strlen (h->root); len > 1 && h->root[len - 1] == '/'; len--)
    h->root[len - 1] = '\0';
  h->baselen = strcmp (h->root, "/") == 0 ? 0 : len;

  /* A read-only open creates nothing: a missing root is an empty store. */
  if (!h->readonly && local_mkdirs (h, h->root) < 0) {
    r = local_fail (err, errno, h->root, "cannot create directory");
    goto fail;
  }
  if (stat (h->root, &st) < 0) {
    if (!(errno == ENOENT && h->readonly)) {
      r = local_fail (err, errno, h->root, NULL);
      goto fail;
    }
  }
  else if (!S_ISDIR (st.st_mode)) {
    r = rm_error_set (err, RM_E_CONFIG, "%s: not a directory", h->root);
    goto fail;
  }
  else if ((r = local_check_root (h, &st, err)) != RM_OK)
    goto fail;
  if (!h->readonly)
    local_tag_init (h);
  if (h->barrier && h->fsync) {
    h->sync_fd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h->sync_fd < 0) {
      r = local_fail (err, errno, h->root, NULL);
      goto fail;
    }
    if (fstat (h->sync_fd, &st) == 0 && local_syncfs_trusted (h->sync_fd))
      h->root_dev = st.st_dev;
    else {
      close (h->sync_fd);
      h->sync_fd = -1;
    }
  }
  pthread_mutex_init (&h->lock, NULL);
  pthread_mutex_init (&h->sync_lock, NULL);
  if (RM_HOST_HAS (host, log))
    host->log (host, RM_LOG_DEBUG, "local: root %s, %s, fsync %s%s", h->root,
               h->readonly ? "read-only" : "writable", h->fsync ? "on" : "off",
               !h->barrier || !h->fsync ? ""
               : h->sync_fd >= 0 ? " at sync (syncfs)" : " at sync (each file)");
  *handle = h;
  return RM_OK;

fail:
  free (h->root);
  free (h);
  return r;
}

static void
local_close (void *handle)
{
  struct local *h = handle;

  if (h) {
    if (h->sync_fd >= 0)
      close (h->sync_fd);
    pthread_mutex_destroy (&h->lock);
    pthread_mutex_destroy (&h->sync_lock);
    local_set_free (&h->files);
    local_set_free (&h->dirs);
    free (h->sync_failed);
    free (h->root);
    free (h);
  }
}

/* ---- put ------------------------------------------------------------------------- */

/* Error for a key that cannot exist beside another: "a" and "a/b" cannot both be stored,
 * because "a" would have to be a file and a directory. */
static int
local_conflict (struct rm_error *err, const char *path)
{
  return rm_error_set (err, RM_E_INVALID,
                       "%s: conflicts with a stored key: a key cannot be both an object "
                       "and the parent of other keys in a local directory", path);
}

/* Create the hidden temp file in the directory key[0..dirlen), making directories as
 * needed: sets *dfd (that directory), *fd and tmp (the temp file's name). */
static int
local_create_temp (struct local *h, int rootfd, const char *key, size_t dirlen,
                   const char *path, int *dfd, int *fd, char tmp[LOCAL_TMP_NAME_MAX],
                   struct rm_error *err)
{
  int tries, k, e;

  for (tries = 0;; tries++) {
    tmp[0] = '\0';                      /* no temp file to clean up yet */
    e = local_dir_open (h, rootfd, key, dirlen, true, dfd);
    if (e == ENOENT && tries < LOCAL_CREATE_TRIES)
      continue;                         /* a remove pruned a parent as we made it */
    if (e != 0) {
      *dfd = -1;
      if (e == ENOTDIR || e == ELOOP)
        return local_dir_fail (h, rootfd, key, dirlen, e, true, path, err);
      return local_fail (err, e, path, "cannot create directory");
    }
    for (k = 0; k < 100; k++) {
      if (local_tmp_name (h->tag, (long) getpid (), tmp, LOCAL_TMP_NAME_MAX) < 0)
        return rm_error_set (err, RM_E_INTERNAL, "%s: temp file name too long", path);
      *fd = openat (*dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (*fd >= 0) {
        (void) fchmod (*fd, 0600);      /* 0600 minus the umask */
        return RM_OK;
      }
      if (errno != EEXIST)
        break;
    }
    e = errno;
    close (*dfd);
    *dfd = -1;
    tmp[0] = '\0';
    if (e != ENOENT || tries == LOCAL_CREATE_TRIES)
      return local_fail (err, e, path, "cannot create a temporary file");
  }
}

/* Copy the reader into fd, hashing as we go. */
static int
local_stream_in (int fd, const struct rm_reader *reader, const char *path, char *etag,
                 long long *total, struct rm_error *err)
{
  EVP_MD_CTX *md = local_hash_new (err);
  unsigned char *buf = malloc (LOCAL_BUFSIZE);
  long long sum = 0;
  int r = RM_OK;

  if (!md || !buf) {
    r = md ? local_nomem (err) : RM_E_NOMEM;
    goto out;
  }
  for (;;) {
    long long n = reader->read (reader->opaque, buf, LOCAL_BUFSIZE);
    size_t done = 0;
    if (n == 0)
      break;
    if (n < 0) {
      r = rm_error_set (err, RM_E_ABORTED, "%s: the reader failed after %lld bytes; "
                        "nothing was changed", path, sum);
      goto out;
    }
    if (n > LOCAL_BUFSIZE) {
      r = rm_error_set (err, RM_E_INTERNAL, "%s: the reader returned %lld bytes for a "
                        "%d-byte buffer", path, n, LOCAL_BUFSIZE);
      goto out;
    }
    if (EVP_DigestUpdate (md, buf, (size_t) n) != 1) {
      r = rm_error_set (err, RM_E_INTERNAL, "SHA-256 failed");
      goto out;
    }
    while (done < (size_t) n) {
      ssize_t w = write (fd, buf + done, (size_t) n - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0) {
        r = local_fail (err, errno, path, NULL);
        goto out;
      }
      done += (size_t) w;
    }
    sum += n;
    if (reader->size >= 0 && sum > reader->size)
      break;
  }
  /* A declared size that the data does not match means the data is not what the
   * caller meant to store: a truncated upload must not replace a good object. */
  if (reader->size >= 0 && sum != reader->size) {
    r = rm_error_set (err, RM_E_ABORTED, "%s: the reader yielded %s%lld bytes of a declared "
                      "%lld; nothing was changed", path, sum > reader->size ? "over " : "",
                      sum, reader->size);
    goto out;
  }
  *total = sum;
  r = local_hash_finish (md, etag, err);
out:
  EVP_MD_CTX_free (md);
  free (buf);
  return r;
}

/* Open and flock the regular file name in directory dfd, retrying until the locked
 * file is still the one there (a writer may have replaced it while we waited).  Everyone
 * who replaces or removes an existing file holds this lock, so while we do, the file is
 * ours to check and replace.  Returns the fd, or -1 with errno (EISDIR: not a regular
 * file; ELOOP: a symlink, which is never followed). */
static int
local_lock (int dfd, const char *name)
{
  int tries;

  for (tries = 0; tries < LOCAL_LOCK_TRIES; tries++) {
    struct stat held, now;
    int fd = openat (dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK), e;
    if (fd < 0)
      return -1;
    if (fstat (fd, &held) < 0)
      goto fail;
    if (!S_ISREG (held.st_mode)) {
      errno = EISDIR;
      goto fail;
    }
    while (flock (fd, LOCK_EX) < 0)
      if (errno != EINTR)
        goto fail;
    if (fstatat (dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0) {
      if (now.st_dev == held.st_dev && now.st_ino == held.st_ino)
        return fd;
    }
    else if (errno != ENOENT)
      goto fail;
    close (fd);                         /* replaced or removed meanwhile: look again */
    continue;
  fail:
    e = errno;
    close (fd);
    errno = e;
    return -1;
  }
  errno = EAGAIN;
  return -1;
}

/* Fill err for a failed local_lock or link of the key at path (its last segment is
 * name, ROOT/key[0..keylen)). */
static int
local_key_fail (const struct local *h, const char *key, int e, const char *path,
                struct rm_error *err)
{
  if (e == ELOOP)
    return local_symlink_fail (h, key, strlen (key), err);
  return e == EISDIR ? local_conflict (err, path) : local_fail (err, e, path, NULL);
}

/* The hint when link(2) is refused: some filesystems (FAT, some FUSE) have no hard links. */
static int
local_link_fail (struct rm_error *err, int e, const char *path)
{
  if (e == EPERM || e == EOPNOTSUPP || e == EMLINK)
    return local_fail (err, e, path, "cannot create (conditional puts need a filesystem "
                       "with hard links)");
  return local_fail (err, e, path, "cannot create");
}

/* Replace the file name in dfd with tmp, holding the lock on the current file. */
static int
local_commit_replace (const struct local *h, int dfd, const char *tmp, const char *name,
                      const char *key, const char *path, const char *if_match,
                      struct rm_error *err)
{
  int tries;

  for (tries = 0; tries < LOCAL_LOCK_TRIES; tries++) {
    int fd = local_lock (dfd, name), e, r;

    if (fd < 0 && errno == ENOENT) {
      if (if_match)
        return rm_error_set (err, RM_E_NOT_FOUND, "%s: no such key (if_match %s)",
                             path, if_match);
      /* Absent: create it the way if-none-match does, so that a file that appears
       * meanwhile is locked and replaced rather than overwritten unseen. */
      if (linkat (dfd, tmp, dfd, name, 0) == 0) {
        unlinkat (dfd, tmp, 0);
        return RM_OK;
      }
      e = errno;
      if (e == EEXIST)
        continue;
      if (e == EPERM || e == EOPNOTSUPP || e == EMLINK) {  /* no hard links here */
        if (renameat (dfd, tmp, dfd, name) == 0)
          return RM_OK;
        e = errno;
      }
      return local_key_fail (h, key, e, path, err);
    }
    if (fd < 0)
      return local_key_fail (h, key, errno, path, err);
    if (if_match) {
      char etag[RM_ETAG_MAX];
      long long size;
      r = local_read_all (fd, path, NULL, etag, &size, err);
      if (r == RM_OK && strcmp (etag, if_match) != 0)
        r = rm_error_set (err, RM_E_PRECONDITION, "%s: stored etag %s, if_match %s",
                          path, etag, if_match);
      if (r != RM_OK) {
        close (fd);
        return r;
      }
    }
    r = renameat (dfd, tmp, dfd, name) == 0 ? RM_OK : local_fail (err, errno, path, NULL);
    close (fd);                         /* releases the lock on the old file */
    return r;
  }
  return rm_error_set (err, RM_E_TRANSIENT, "%s: replaced by others %d times in a row",
                       path, LOCAL_LOCK_TRIES);
}

/* Move the finished temp file to the key as opts say.  On failure tmp is left for the
 * caller to remove. */
static int
local_commit (const struct local *h, int dfd, const char *tmp, const char *name,
              const char *key, const char *path, unsigned flags, const char *if_match,
              struct rm_error *err)
{
  if (flags & RM_PUT_IF_NONE_MATCH) {
    if (linkat (dfd, tmp, dfd, name, 0) == 0) {
      unlinkat (dfd, tmp, 0);
      return RM_OK;
    }
    if (errno == EEXIST)
      return rm_error_set (err, RM_E_EXISTS, "%s: already exists", path);
    return local_link_fail (err, errno, path);
  }
  return local_commit_replace (h, dfd, tmp, name, key, path, if_match, err);
}

/* A put of key (a file on filesystem dev) committed, or a remove (key NULL), in the
 * directory dfd = ROOT/dir[0..dirlen): make it durable now, or record it for sync. */
static int
local_changed (struct local *h, int dfd, const char *key, const char *dir, size_t dirlen,
               dev_t dev, const char *path, struct rm_error *err)
{
  int r = RM_OK;

  if (!h->fsync)
    return RM_OK;
  if (!h->barrier) {
    if (fsync (dfd) < 0 && errno != EINVAL)
      return local_fail (err, errno, path, "fsync directory");
    return RM_OK;
  }
  pthread_mutex_lock (&h->lock);
  if ((key && local_set_add (&h->files, key, strlen (key)) < 0)
      || local_set_add (&h->dirs, dir, dirlen) < 0)
    r = local_nomem (err);
  if (key && dev != h->root_dev)
    h->other_dev = true;
  pthread_mutex_unlock (&h->lock);
  return r;
}

static int
local_put (void *handle, const char *key, const struct rm_reader *reader,
           const struct rm_put_options *opts, struct rm_object_info *info,
           struct rm_error *err)
{
  struct local *h = handle;
  char etag[RM_ETAG_MAX], *path = NULL, tmp[LOCAL_TMP_NAME_MAX] = "";
  const char *if_match = NULL, *name;
  unsigned flags = 0;
  long long size = 0;
  size_t dirlen;
  struct stat st;
  int rootfd = -1, dfd = -1, fd = -1, r;

  if ((r = local_key_check (key, err)) != RM_OK)
    return r;
  if (!reader || !reader->read)
    return rm_error_set (err, RM_E_INVALID, "put %s: no reader", key);
  if (opts) {
    if (LOCAL_HAS (opts, struct rm_put_options, flags))
      flags = opts->flags;
    if (LOCAL_HAS (opts, struct rm_put_options, if_match))
      if_match = opts->if_match;
  }
  if (flags & ~RM_PUT_IF_NONE_MATCH)
    return rm_error_set (err, RM_E_UNSUPPORTED, "put %s: unknown flags 0x%x", key,
                         flags & ~RM_PUT_IF_NONE_MATCH);
  if ((flags & RM_PUT_IF_NONE_MATCH) && if_match)
    return rm_error_set (err, RM_E_INVALID, "put %s: RM_PUT_IF_NONE_MATCH and if_match "
                         "together can never succeed", key);
  if (h->readonly)
    return local_readonly (h, err);

  path = local_path (h, key);
  if (!path)
    return local_nomem (err);
  dirlen = local_dirlen (key, &name);
  r = local_root_open (h, true, &rootfd, err);
  if (r != RM_OK)
    goto out;
  r = local_create_temp (h, rootfd, key, dirlen, path, &dfd, &fd, tmp, err);
  if (r != RM_OK)
    goto out;
  r = local_stream_in (fd, reader, path, etag, &size, err);
  if (r != RM_OK)
    goto out;
  if (h->fsync && !h->barrier && fsync (fd) < 0) {
    r = local_fail (err, errno, path, NULL);
    goto out;
  }
#ifdef SYNC_FILE_RANGE_WRITE
  /* sync will fsync this file: start its write-back now, while we go on (halves the
   * time of those fsyncs; syncfs gains nothing from it, bench/RESULTS.md). */
  if (h->fsync && h->barrier && h->sync_fd < 0)
    (void) sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  if (fstat (fd, &st) < 0) {
    r = local_fail (err, errno, path, NULL);
    goto out;
  }
  r = close (fd);
  fd = -1;
  if (r < 0) {                          /* NFS reports a failed write-back here */
    r = local_fail (err, errno, path, NULL);
    goto out;
  }
  r = local_commit (h, dfd, tmp, name, key, path, flags, if_match, err);
  if (r != RM_OK)
    goto out;
  tmp[0] = '\0';                        /* committed: nothing to clean up */
  r = local_changed (h, dfd, key, key, dirlen, st.st_dev, path, err);
  if (r == RM_OK)
    local_fill_info (info, size, &st, etag);

out:
  if (fd >= 0)
    close (fd);
  if (tmp[0]) {                         /* failed: leave no trace, not even directories */
    unlinkat (dfd, tmp, 0);
    local_prune (h, rootfd, key, dirlen);
  }
  if (dfd >= 0)
    close (dfd);
  if (rootfd >= 0)
    close (rootfd);
  free (path);
  return r;
}

/* ---- get / stat ------------------------------------------------------------------ */

/* Open the stored object key (at path) for reading into *fd; NOT_FOUND unless it is a
 * regular file, PERMISSION (naming it) for a symlink on the way or at the key. */
static int
local_open_object (struct local *h, const char *key, const char *path, int *fd,
                   struct stat *st, struct rm_error *err)
{
  const char *name;
  size_t dirlen = local_dirlen (key, &name);
  int rootfd, dfd, e, r;

  *fd = -1;
  rootfd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)                       /* a store that does not exist holds nothing */
    return local_fail (err, errno, path, NULL);
  e = local_dir_open (h, rootfd, key, dirlen, false, &dfd);
  if (e != 0) {
    r = local_dir_fail (h, rootfd, key, dirlen, e, false, path, err);
    close (rootfd);
    return r;
  }
  close (rootfd);
  *fd = openat (dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
  e = errno;
  close (dfd);
  if (*fd < 0)
    return e == ELOOP ? local_symlink_fail (h, key, strlen (key), err)
                      : local_fail (err, e, path, NULL);
  if (fstat (*fd, st) < 0)
    r = local_fail (err, errno, path, NULL);
  else if (!S_ISREG (st->st_mode))
    r = rm_error_set (err, RM_E_NOT_FOUND, "%s: not a stored key (%s)", path,
                      S_ISDIR (st->st_mode) ? "a directory" : "not a regular file");
  else
    return RM_OK;
  close (*fd);
  *fd = -1;
  return r;
}

static int
local_get (void *handle, const char *key, const struct rm_writer *writer,
           struct rm_object_info *info, struct rm_error *err)
{
  struct local *h = handle;
  char etag[RM_ETAG_MAX], *path;
  long long size = 0;
  struct stat st;
  int fd, r;

  if ((r = local_key_check (key, err)) != RM_OK)
    return r;
  if (!writer || !writer->write)
    return rm_error_set (err, RM_E_INVALID, "get %s: no writer", key);
  path = local_path (h, key);
  if (!path)
    return local_nomem (err);
  r = local_open_object (h, key, path, &fd, &st, err);
  if (r != RM_OK) {
    free (path);
    return r;
  }
  r = local_read_all (fd, path, writer, etag, &size, err);
  if (r == RM_OK)
    local_fill_info (info, size, &st, etag);
  close (fd);
  free (path);
  return r;
}

static int
local_stat (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err)
{
  struct local *h = handle;
  char etag[RM_ETAG_MAX], *path;
  long long size = 0;
  struct stat st;
  int fd, r;

  if ((r = local_key_check (key, err)) != RM_OK)
    return r;
  path = local_path (h, key);
  if (!path)
    return local_nomem (err);
  r = local_open_object (h, key, path, &fd, &st, err);
  if (r != RM_OK) {
    free (path);
    return r;
  }
  /* The etag is the content hash, so stat reads the file (no cache to go stale). */
  r = local_read_all (fd, path, NULL, etag, &size, err);
  if (r == RM_OK)
    local_fill_info (info, size, &st, etag);
  close (fd);
  free (path);
  return r;
}

/* ---- list ------------------------------------------------------------------------ */

/* Continuation tokens are the last key returned in unpadded base64url, so they are
 * printable and survive any legal key.  1024 bytes of key encode to 1366 characters. */
static const char local_b64[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
local_token_encode (const char *key, char *out, size_t size)
{
  const unsigned char *p = (const unsigned char *) key;
  size_t n = strlen (key), i, o = 0;

  if ((n + 2) / 3 * 4 + 1 > size)
    return -1;
  for (i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t) p[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t) p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    out[o++] = local_b64[(v >> 18) & 63];
    out[o++] = local_b64[(v >> 12) & 63];
    if (i + 1 < n)
      out[o++] = local_b64[(v >> 6) & 63];
    if (i + 2 < n)
      out[o++] = local_b64[v & 63];
  }
  out[o] = '\0';
  return 0;
}

/* Decode into out (RM_KEY_MAX + 1 bytes); -1 unless it yields a valid key. */
static int
local_token_decode (const char *token, char *out)
{
  size_t n = strlen (token), i, o = 0;
  uint32_t v = 0;
  int bits = 0;

  if (n % 4 == 1 || n > (RM_KEY_MAX + 2) / 3 * 4)
    return -1;
  for (i = 0; i < n; i++) {
    const char *c = token[i] ? strchr (local_b64, token[i]) : NULL;
    if (!c)
      return -1;
    v = (v << 6) | (uint32_t) (c - local_b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o == RM_KEY_MAX)
        return -1;
      out[o++] = (char) ((v >> bits) & 0xff);
    }
  }
  if (v & ((1u << bits) - 1))           /* non-canonical trailing bits */
    return -1;
  out[o] = '\0';
  if (strlen (out) != o || rm_key_check (out, NULL) != RM_OK)
    return -1;
  return 0;
}

struct local_list {
  struct local *h;
  const char *after;          /* resume strictly after this key, or NULL */
  unsigned max, emitted;
  bool more;                  /* stopped with keys left */
  rm_list_emit_fn emit;
  void *opaque;
  time_t now;
  char *key;                  /* the key (or directory, ending in '/') being visited */
  char last[RM_KEY_MAX + 1];  /* last key emitted */
};

struct local_dirent {
  char *name;                 /* a directory's name ends in '/', so they sort as keys do */
  size_t len;
};

static int
local_dirent_cmp (const void *a, const void *b)
{
  return strcmp (((const struct local_dirent *) a)->name,
                 ((const struct local_dirent *) b)->name);
}

/* A symlink met by list: not a key, never followed. */
static void
local_skip_symlink (const struct local_list *c, size_t keylen, const char *name)
{
  const struct local *h = c->h;

  if (RM_HOST_HAS (h->host, log))
    h->host->log (h->host, RM_LOG_WARN, "local: list: skipping %s/%.*s%s: a symbolic "
                  "link; the local backend never follows a symbolic link inside the store",
                  h->root, (int) keylen, c->key, name);
}

/* The entries of the directory dfd, whose key is c->key[0..keylen) (names that can be
 * key segments and start with filter), sorted; directories marked with a trailing '/'.
 * Symlinks are skipped with a warning; on a writable handle the temp files of writers
 * that are gone are removed on the way. */
static int
local_readdir (struct local_list *c, int dfd, size_t keylen, const char *filter,
               struct local_dirent **out, size_t *count, struct rm_error *err)
{
  struct local_dirent *v = NULL;
  size_t n = 0, cap = 0, flen = filter ? strlen (filter) : 0;
  struct dirent *de;
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = RM_OK;
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;

  *out = NULL;
  *count = 0;
  if (!d) {
    r = local_fail_rel (c->h, errno, c->key, keylen, NULL, err);
    if (fd >= 0)
      close (fd);
    return r;
  }
  for (errno = 0; (de = readdir (d)) != NULL; errno = 0) {
    struct stat st;
    bool isdir;
    size_t len;

    if (strncmp (de->d_name, LOCAL_TMP_PREFIX, sizeof LOCAL_TMP_PREFIX - 1) == 0) {
      if (!c->h->readonly && local_tmp_stale (c->h, dfd, de->d_name, c->now)
          && unlinkat (dfd, de->d_name, 0) == 0 && RM_HOST_HAS (c->h->host, log))
        c->h->host->log (c->h->host, RM_LOG_DEBUG, "local: removed %s/%.*s%s, the temp "
                         "file of a writer that is gone", c->h->root, (int) keylen,
                         c->key, de->d_name);
      continue;
    }
    if (!local_name_ok (de->d_name) || strncmp (de->d_name, filter ? filter : "", flen) != 0)
      continue;
    if (de->d_type == DT_DIR)
      isdir = true;
    else if (de->d_type == DT_REG)
      isdir = false;
    else if (de->d_type == DT_LNK) {
      local_skip_symlink (c, keylen, de->d_name);
      continue;
    }
    else {
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISLNK (st.st_mode)) {
        local_skip_symlink (c, keylen, de->d_name);
        continue;
      }
      isdir = S_ISDIR (st.st_mode);
      if (!isdir && !S_ISREG (st.st_mode))
        continue;
    }
    if (n == cap) {
      struct local_dirent *nv = realloc (v, (cap = cap ? 2 * cap : 64) * sizeof *v);
      if (!nv)
        goto nomem;
      v = nv;
    }
    len = strlen (de->d_name);
    v[n].name = malloc (len + 2);
    if (!v[n].name)
      goto nomem;
    memcpy (v[n].name, de->d_name, len);
    if (isdir)
      v[n].name[len++] = '/';
    v[n].name[len] = '\0';
    v[n].len = len;
    n++;
  }
  if (errno != 0)
    r = local_fail_rel (c->h, errno, c->key, keylen, NULL, err);
  closedir (d);
  if (n)
    qsort (v, n, sizeof *v, local_dirent_cmp);
  *out = v;
  *count = n;
  return r;

nomem:
  closedir (d);
  while (n > 0)
    free (v[--n].name);
  free (v);
  return local_nomem (err);
}

/* Visit the directory dfd, whose key is c->key[0..keylen) (empty or ending in '/'): emit
 * its keys in order, descend into its subdirectories, stop after c->max keys. */
static int
local_walk (struct local_list *c, int dfd, size_t keylen, const char *filter,
            struct rm_error *err)
{
  struct local_dirent *ents;
  size_t n, i;
  int r;

  c->key[keylen] = '\0';
  r = local_readdir (c, dfd, keylen, filter, &ents, &n, err);
  for (i = 0; r == RM_OK && !c->more && i < n; i++) {
    size_t len = keylen + ents[i].len;
    struct rm_list_entry e;
    struct stat st;

    if (len > RM_KEY_MAX)
      continue;
    memcpy (c->key + keylen, ents[i].name, ents[i].len + 1);
    if (c->key[len - 1] == '/') {
      int sub;
      /* Skip a subtree wholly at or before the resume point. */
      if (c->after && strcmp (c->key, c->after) < 0 && strncmp (c->key, c->after, len) != 0)
        continue;
      ents[i].name[ents[i].len - 1] = '\0';
      sub = openat (dfd, ents[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        if (errno == ENOTDIR || errno == ELOOP)   /* a symlink now: skipped */
          local_skip_symlink (c, keylen, ents[i].name);
        else if (errno != ENOENT)               /* ENOENT: removed meanwhile */
          r = local_fail_rel (c->h, errno, c->key, strlen (c->key), NULL, err);
        continue;
      }
      r = local_walk (c, sub, len, NULL, err);
      close (sub);
      continue;
    }
    if (c->after && strcmp (c->key, c->after) <= 0)
      continue;
    if (fstatat (dfd, ents[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
      continue;                         /* removed meanwhile */
    if (c->emitted == c->max) {
      c->more = true;
      break;
    }
    e.key = c->key;
    e.size = (long long) st.st_size;
    e.mtime = (long long) st.st_mtime;
    e.etag = NULL;                      /* would cost reading every file */
    if (c->emit (c->opaque, &e) != 0)
      r = rm_error_set (err, RM_E_ABORTED, "list: stopped by the caller at '%s'", c->key);
    memcpy (c->last, c->key, len + 1);
    c->emitted++;
  }
  for (i = 0; i < n; i++)
    free (ents[i].name);
  free (ents);
  return r;
}

static int
local_list (void *handle, const char *prefix, const char *token, unsigned max_keys,
            rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
            struct rm_error *err)
{
  struct local *h = handle;
  struct local_list *c;
  char after[RM_KEY_MAX + 1];
  const char *slash;
  size_t dirlen, at = 0;
  int rootfd, dfd, e, r;

  if (!next_token || next_token_size == 0 || !emit)
    return rm_error_set (err, RM_E_INVALID, "list: no emit callback or token buffer");
  next_token[0] = '\0';
  if (!prefix)
    prefix = "";
  if (token && *token && local_token_decode (token, after) < 0)
    return rm_error_set (err, RM_E_INVALID, "list: invalid continuation token '%.64s'",
                         token);

  /* Walk only the directory the prefix names; the rest of it filters that directory's
   * entries.  If that directory part cannot begin a valid key, nothing matches. */
  slash = strrchr (prefix, '/');
  dirlen = slash ? (size_t) (slash - prefix) + 1 : 0;
  if (dirlen > RM_KEY_MAX)
    return RM_OK;
  if (dirlen) {
    char dir[RM_KEY_MAX + 1];
    memcpy (dir, prefix, dirlen - 1);
    dir[dirlen - 1] = '\0';
    if (local_key_check (dir, NULL) != RM_OK)
      return RM_OK;
  }

  rootfd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)                       /* a store that does not exist is empty */
    return errno == ENOENT ? RM_OK : local_fail (err, errno, h->root, NULL);
  dfd = rootfd;
  if (dirlen) {
    e = local_dir_open (h, rootfd, prefix, dirlen - 1, false, &dfd);
    if (e != 0) {
      r = RM_OK;                        /* no such directory: nothing matches */
      if ((e == ENOTDIR || e == ELOOP)
          && local_find_nondir (rootfd, prefix, dirlen - 1, &at) == 1
          && RM_HOST_HAS (h->host, log))
        h->host->log (h->host, RM_LOG_WARN, "local: list: skipping %s/%.*s: a symbolic "
                      "link; the local backend never follows a symbolic link inside the "
                      "store", h->root, (int) at, prefix);
      else if (e != ENOENT && e != ENOTDIR && e != ELOOP)
        r = local_fail (err, e, h->root, prefix);
      close (rootfd);
      return r;
    }
  }

  c = calloc (1, sizeof *c);
  if (!c || !(c->key = malloc (RM_KEY_MAX + NAME_MAX + 3))) {
    free (c);
    r = local_nomem (err);
    goto out;
  }
  c->h = h;
  memcpy (c->key, prefix, dirlen);
  c->after = token && *token ? after : NULL;
  c->max = max_keys ? max_keys : LOCAL_LIST_DEFAULT;
  c->emit = emit;
  c->opaque = opaque;
  c->now = time (NULL);

  r = local_walk (c, dfd, dirlen, prefix + dirlen, err);
  if (r == RM_OK && c->more && local_token_encode (c->last, next_token, next_token_size) < 0)
    r = rm_error_set (err, RM_E_INVALID, "list: next_token buffer of %zu bytes is too small",
                      next_token_size);
  free (c->key);
  free (c);
out:
  if (dfd != rootfd)
    close (dfd);
  close (rootfd);
  return r;
}

/* ---- remove ---------------------------------------------------------------------- */

static int
local_remove (void *handle, const char *key, struct rm_error *err)
{
  struct local *h = handle;
  const char *name;
  size_t dirlen;
  char *path;
  int rootfd, dfd, fd, e, r;

  if ((r = local_key_check (key, err)) != RM_OK)
    return r;
  if (h->readonly)
    return local_readonly (h, err);
  path = local_path (h, key);
  if (!path)
    return local_nomem (err);
  dirlen = local_dirlen (key, &name);
  rootfd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    r = local_fail (err, errno, path, NULL);
    free (path);
    return r;
  }
  e = local_dir_open (h, rootfd, key, dirlen, false, &dfd);
  if (e != 0) {
    r = local_dir_fail (h, rootfd, key, dirlen, e, false, path, err);
    goto out;
  }
  fd = local_lock (dfd, name);          /* no if-match writer may be between check and unlink */
  if (fd < 0) {
    e = errno;
    if (e == EISDIR)
      r = rm_error_set (err, RM_E_NOT_FOUND, "%s: not a stored key (a directory)", path);
    else if (e == ELOOP)
      r = local_symlink_fail (h, key, strlen (key), err);
    else
      r = local_fail (err, e, path, NULL);
    close (dfd);
    goto out;
  }
  r = unlinkat (dfd, name, 0) == 0 ? RM_OK : local_fail (err, errno, path, NULL);
  close (fd);
  if (r == RM_OK)
    r = local_changed (h, dfd, NULL, key, dirlen, 0, path, err);
  close (dfd);
  if (r == RM_OK)
    local_prune (h, rootfd, key, dirlen);
out:
  close (rootfd);
  free (path);
  return r;
}

static int
local_remove_many (void *handle, const char *const *keys, size_t n, int *codes,
                   struct rm_error *err)
{
  struct local *h = handle;
  size_t i;

  if (h->readonly)
    return local_readonly (h, err);
  for (i = 0; i < n; i++) {
    struct rm_error one = { 0, "" };
    codes[i] = local_remove (handle, keys[i], &one);
    if (codes[i] != RM_OK && codes[i] != RM_E_NOT_FOUND && RM_HOST_HAS (h->host, log))
      h->host->log (h->host, RM_LOG_DEBUG, "local: remove: %s", one.message);
  }
  return RM_OK;
}

/* ---- sync (the write barrier) ------------------------------------------------------ */

/* fsync each file of files and each directory of dirs (relative to the root); one that
 * is gone was removed or pruned later, which its parent records. */
static int
local_sync_each (struct local *h, const struct local_set *files, const struct local_set *dirs,
                 struct rm_error *err)
{
  const struct local_set *sets[2] = { files, dirs };
  int rootfd, r = RM_OK, s;
  size_t i;

  rootfd = open (h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return local_fail (err, errno, h->root, NULL);
  for (s = 0; s < 2 && r == RM_OK; s++)
    for (i = 0; i < sets[s]->cap && r == RM_OK; i++) {
      const char *rel = sets[s]->v[i], *name;
      size_t dirlen;
      int dfd, fd, e;

      if (!rel)
        continue;
      if (s == 1) {                     /* a directory: open it whole */
        dirlen = strlen (rel);
        name = ".";
      }
      else
        dirlen = local_dirlen (rel, &name);
      e = local_dir_open (h, rootfd, rel, dirlen, false, &dfd);
      if (e == ENOENT)
        continue;
      if (e != 0) {
        r = local_dir_fail (h, rootfd, rel, dirlen, e, false, h->root, err);
        break;
      }
      fd = openat (dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
      e = errno;
      close (dfd);
      if (fd < 0) {
        if (e != ENOENT)
          r = local_fail_rel (h, e, rel, strlen (rel), "fsync", err);
        continue;
      }
      if (fsync (fd) < 0 && !(s == 1 && errno == EINVAL))
        r = local_fail_rel (h, errno, rel, strlen (rel), "fsync", err);
      close (fd);
    }
  close (rootfd);
  return r;
}

/* Make every put and remove that returned before this call durable.  Up to
 * LOCAL_SYNC_EACH_MAX files: fsync each file and changed directory (as a 1.0 put would
 * have); more, on a filesystem where it is trusted (local_syncfs_trusted): one syncfs of
 * the root's filesystem, which costs a journal commit instead of one per file.  A
 * failure is sticky: after a failed fsync the kernel may have dropped the dirty pages, so
 * a later sync that succeeds would not prove anything. */
static int
local_sync (void *handle, struct rm_error *err)
{
  struct local *h = handle;
  struct local_set files, dirs;
  bool other;
  int r;

  if (h->readonly || !h->fsync || !h->barrier)
    return RM_OK;                       /* nothing written, or already durable */
  pthread_mutex_lock (&h->sync_lock);
  pthread_mutex_lock (&h->lock);
  if (h->sync_failed) {
    r = rm_error_set (err, RM_E_IO, "%s (an earlier sync failed; what was written since "
                      "may not be on disk)", h->sync_failed);
    pthread_mutex_unlock (&h->lock);
    pthread_mutex_unlock (&h->sync_lock);
    return r;
  }
  files = h->files;
  dirs = h->dirs;
  other = h->other_dev;
  memset (&h->files, 0, sizeof h->files);
  memset (&h->dirs, 0, sizeof h->dirs);
  h->other_dev = false;
  pthread_mutex_unlock (&h->lock);

  if (files.n + dirs.n == 0)
    r = RM_OK;
  else if (h->sync_fd >= 0 && !other && files.n > LOCAL_SYNC_EACH_MAX)
    r = syncfs (h->sync_fd) == 0 ? RM_OK : local_fail (err, errno, h->root, "syncfs");
  else
    r = local_sync_each (h, &files, &dirs, err);
  if (RM_HOST_HAS (h->host, log))
    h->host->log (h->host, RM_LOG_DEBUG, "local: sync of %zu files and %zu directories "
                  "by %s: %s", files.n, dirs.n,
                  h->sync_fd >= 0 && !other && files.n > LOCAL_SYNC_EACH_MAX
                  ? "syncfs" : "fsync", r == RM_OK ? "ok" : err->message);
  local_set_free (&files);
  local_set_free (&dirs);
  if (r != RM_OK) {
    pthread_mutex_lock (&h->lock);
    if (!h->sync_failed)
      h->sync_failed = strdup (err->message);
    pthread_mutex_unlock (&h->lock);
  }
  pthread_mutex_unlock (&h->sync_lock);
  return r;
}

#ifdef RM_UNITTEST
/* The tag this handle writes into temp file names. */
const char *
local_test_tag (void *handle)
{
  return ((struct local *) handle)->tag;
}

/* Take the path a kernel without openat2 takes. */
void
local_test_no_openat2 (void *handle)
{
  atomic_store (&((struct local *) handle)->no_openat2, true);
}
#endif

static int
local_describe (void *handle, char *buf, size_t size)
{
  struct local *h = handle;
  int n = snprintf (buf, size, "local directory %s", h->root);

  return n < 0 || (size_t) n >= size ? -1 : 0;
}

static const struct rm_backend local_backend = {
  RM_BACKEND_PREFIX ("local"),
  .version      = PACKAGE_VERSION,
  .description  = "a directory on a local filesystem",
  .thread_model = RM_THREAD_PARALLEL,   /* what sync needs is behind the handle's mutex */
  .caps         = RM_CAP_CONDITIONAL_PUT | RM_CAP_ATOMIC_PUT,
  RM_BACKEND_CONFIG (local_keys),
  .open         = local_open,
  .close        = local_close,
  .put          = local_put,
  .get          = local_get,
  .list         = local_list,
  .remove       = local_remove,
  .stat         = local_stat,
  .remove_many  = local_remove_many,
  .describe     = local_describe,
  .sync         = local_sync,
};

RM_BACKEND_EXPORT const struct rm_backend *
rm_backend_init (void)
{
  return &local_backend;
}
