/* local: the `local` backend keeps each key as one file under a root directory.
 *
 * Key "releases/ns/web/3.json.gz" is the file ROOT/releases/ns/web/3.json.gz.  Files are
 * 0600 and directories 0700; directories are made on demand and pruned when a remove
 * leaves them empty.  A put streams the reader into a hidden temp file (".rm-tmp.XXXXXX")
 * in the key's directory, fsyncs it, moves it over the key and fsyncs the directory, so a
 * reader or a crash sees the old object or the new one, never a mix.  The etag is the
 * SHA-256 of the content.  Creating puts link(2) the finished temp file to the key, which
 * fails atomically if the key exists; replacing puts and removes hold flock(2) on the
 * current file while they check and replace it, so two if-match writers cannot both win.
 * list walks the tree in key order (a directory sorts as NAME "/") and pages with a token
 * that encodes the last key returned.  The handle never changes after open, so every
 * callback may run on any thread at once.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <releasemanager/backend.h>

/* Helpers the Criterion tests call directly (they compile this file into the test). */
#ifdef RM_UNITTEST
#define LOCAL_UNITTEST
int local_errno_code (int errnum);
#else
#define LOCAL_UNITTEST static
#endif

static const struct rm_config_key local_keys[] = {
  { RM_PATH_KEY, RM_KEY_PATH, NULL,
    "directory that holds the stored keys, created with mode 0700 if missing",
    RM_KEY_REQUIRED, NULL },
  { "fsync", RM_KEY_BOOL, "true",
    "fsync each file and its directory before a put or remove returns", 0, NULL },
  { NULL, 0, NULL, NULL, 0, NULL }
};

/* Temp files start with this; keys may not have a segment that does (local_key_check). */
#define LOCAL_TMP_PREFIX     ".rm-tmp."
#define LOCAL_TMP_NAME       LOCAL_TMP_PREFIX "XXXXXX"
#define LOCAL_BUFSIZE        (64 * 1024)
#define LOCAL_LIST_DEFAULT   1000
/* A concurrent remove may prune a directory between our mkdir and our mkstemp. */
#define LOCAL_CREATE_TRIES   100
/* A lock is retried while other writers keep replacing the file under it. */
#define LOCAL_LOCK_TRIES     1000

/* True when the caller-sized struct p carries field. */
#define LOCAL_HAS(p, type, field) \
  ((p)->struct_size >= offsetof (type, field) + sizeof ((p)->field))

struct local {
  const struct rm_host *host;
  char *root;                 /* absolute; no trailing '/' unless it is "/" */
  size_t baselen;             /* bytes of root before the '/' that joins a key */
  bool fsync;
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

/* ROOT "/" key, allocated; NULL when out of memory. */
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

static void
local_fsync_dir (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0) {
    (void) fsync (fd);
    close (fd);
  }
}

/* fsync the directory holding path (path must contain a '/'), reporting failures that
 * mean the change may not be durable.  EINVAL: this filesystem cannot sync directories. */
static int
local_sync_parent (const struct local *h, const char *path, struct rm_error *err)
{
  const char *slash = strrchr (path, '/');
  char *dir;
  int fd, r = RM_OK;

  if (!h->fsync)
    return RM_OK;
  dir = strndup (path, slash == path ? 1 : (size_t) (slash - path));
  if (!dir)
    return local_nomem (err);
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (fsync (fd) < 0 && errno != EINVAL))
    r = local_fail (err, errno, dir, "fsync directory");
  if (fd >= 0)
    close (fd);
  free (dir);
  return r;
}

/* mkdir -p with mode 0700 whatever the umask.  dir is modified temporarily.  -1 with
 * errno on failure. */
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
  if (h->fsync) {                       /* make the new entry durable in its parent */
    slash = strrchr (dir, '/');
    if (slash && slash != dir) {
      *slash = '\0';
      local_fsync_dir (dir);
      *slash = '/';
    }
  }
  return 0;
}

/* Remove the directories above path that are now empty, up to (not including) root.
 * Stops at the first that is not empty; a concurrent put recreates what it needs.
 * Truncates path. */
static void
local_prune (const struct local *h, char *path)
{
  char *slash;

  while ((slash = strrchr (path, '/')) != NULL && (size_t) (slash - path) > h->baselen) {
    *slash = '\0';
    if (rmdir (path) < 0)
      break;
  }
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

static int
local_open (const struct rm_host *host, const struct rm_kv *config, void **handle,
            struct rm_error *err)
{
  const char *path = rm_config_get (config, RM_PATH_KEY);
  const char *sync = rm_config_get (config, "fsync");
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

  if (local_mkdirs (h, h->root) < 0) {
    r = local_fail (err, errno, h->root, "cannot create directory");
    goto fail;
  }
  if (stat (h->root, &st) < 0) {
    r = local_fail (err, errno, h->root, NULL);
    goto fail;
  }
  if (!S_ISDIR (st.st_mode)) {
    r = rm_error_set (err, RM_E_CONFIG, "%s: not a directory", h->root);
    goto fail;
  }
  if (RM_HOST_HAS (host, log))
    host->log (host, RM_LOG_DEBUG, "local: root %s, fsync %s", h->root,
               h->fsync ? "on" : "off");
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

/* Create the hidden temp file in path's directory, making directories as needed, and
 * set *fd and *tmp (allocated). */
static int
local_create_temp (const struct local *h, const char *path, int *fd, char **tmp,
                   struct rm_error *err)
{
  size_t dirlen = (size_t) (strrchr (path, '/') - path);
  char *t = malloc (dirlen + 1 + sizeof LOCAL_TMP_NAME);
  int tries, e, r;

  if (!t)
    return local_nomem (err);
  for (tries = 0;; tries++) {
    memcpy (t, path, dirlen);
    t[dirlen] = '/';
    memcpy (t + dirlen + 1, LOCAL_TMP_NAME, sizeof LOCAL_TMP_NAME);
    *fd = mkostemp (t, O_CLOEXEC);
    if (*fd >= 0) {
      (void) fchmod (*fd, 0600);        /* mkostemp's 0600 minus the umask */
      *tmp = t;
      return RM_OK;
    }
    e = errno;
    if (e == ENOTDIR)
      break;
    if (e != ENOENT || tries == LOCAL_CREATE_TRIES) {
      r = local_fail (err, e, path, "cannot create a temporary file");
      free (t);
      return r;
    }
    t[dirlen] = '\0';
    if (local_mkdirs (h, t) < 0) {
      e = errno;
      if (e == ENOTDIR)
        break;
      if (e == ENOENT && tries < LOCAL_CREATE_TRIES)
        continue;                       /* a remove pruned a parent as we made it */
      r = local_fail (err, e, t, "cannot create directory");
      free (t);
      return r;
    }
  }
  free (t);
  return local_conflict (err, path);
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

/* Open and flock the regular file at path, retrying until the locked file is still the
 * one at path (a writer may have replaced it while we waited).  Everyone who replaces or
 * removes an existing file holds this lock, so while we do, the file at path is ours to
 * check and replace.  Returns the fd, or -1 with errno (EISDIR: not a regular file). */
static int
local_lock (const char *path)
{
  int tries;

  for (tries = 0; tries < LOCAL_LOCK_TRIES; tries++) {
    struct stat held, now;
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY), e;
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
    if (stat (path, &now) == 0) {
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

/* The hint when link(2) is refused: some filesystems (FAT, some FUSE) have no hard links. */
static int
local_link_fail (struct rm_error *err, int e, const char *path)
{
  if (e == EPERM || e == EOPNOTSUPP || e == EMLINK)
    return local_fail (err, e, path, "cannot create (conditional puts need a filesystem "
                       "with hard links)");
  return local_fail (err, e, path, "cannot create");
}

/* Replace the file at path with tmp, holding the lock on the current file. */
static int
local_commit_replace (const char *tmp, const char *path, const char *if_match,
                      struct rm_error *err)
{
  int tries;

  for (tries = 0; tries < LOCAL_LOCK_TRIES; tries++) {
    int fd = local_lock (path), e, r;

    if (fd < 0 && errno == ENOENT) {
      if (if_match)
        return rm_error_set (err, RM_E_NOT_FOUND, "%s: no such key (if_match %s)",
                             path, if_match);
      /* Absent: create it the way if-none-match does, so that a file that appears
       * meanwhile is locked and replaced rather than overwritten unseen. */
      if (link (tmp, path) == 0) {
        unlink (tmp);
        return RM_OK;
      }
      e = errno;
      if (e == EEXIST)
        continue;
      if (e == EPERM || e == EOPNOTSUPP || e == EMLINK) {  /* no hard links here */
        if (rename (tmp, path) == 0)
          return RM_OK;
        e = errno;
      }
      return e == EISDIR ? local_conflict (err, path) : local_fail (err, e, path, NULL);
    }
    if (fd < 0) {
      e = errno;
      return e == EISDIR ? local_conflict (err, path) : local_fail (err, e, path, NULL);
    }
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
    r = rename (tmp, path) == 0 ? RM_OK : local_fail (err, errno, path, NULL);
    close (fd);                         /* releases the lock on the old file */
    return r;
  }
  return rm_error_set (err, RM_E_TRANSIENT, "%s: replaced by others %d times in a row",
                       path, LOCAL_LOCK_TRIES);
}

/* Move the finished temp file to path as opts say.  On failure tmp is left for the caller
 * to remove. */
static int
local_commit (const char *tmp, const char *path, unsigned flags, const char *if_match,
              struct rm_error *err)
{
  if (flags & RM_PUT_IF_NONE_MATCH) {
    if (link (tmp, path) == 0) {
      unlink (tmp);
      return RM_OK;
    }
    if (errno == EEXIST)
      return rm_error_set (err, RM_E_EXISTS, "%s: already exists", path);
    return local_link_fail (err, errno, path);
  }
  return local_commit_replace (tmp, path, if_match, err);
}

static int
local_put (void *handle, const char *key, const struct rm_reader *reader,
           const struct rm_put_options *opts, struct rm_object_info *info,
           struct rm_error *err)
{
  struct local *h = handle;
  char etag[RM_ETAG_MAX], *path = NULL, *tmp = NULL;
  const char *if_match = NULL;
  unsigned flags = 0;
  long long size = 0;
  struct stat st;
  int fd = -1, r;

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

  path = local_path (h, key);
  if (!path)
    return local_nomem (err);
  r = local_create_temp (h, path, &fd, &tmp, err);
  if (r != RM_OK)
    goto out;
  r = local_stream_in (fd, reader, path, etag, &size, err);
  if (r != RM_OK)
    goto out;
  if (h->fsync && fsync (fd) < 0) {
    r = local_fail (err, errno, path, NULL);
    goto out;
  }
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
  r = local_commit (tmp, path, flags, if_match, err);
  if (r != RM_OK)
    goto out;
  free (tmp);
  tmp = NULL;                           /* committed: nothing to clean up */
  r = local_sync_parent (h, path, err);
  if (r == RM_OK)
    local_fill_info (info, size, &st, etag);

out:
  if (fd >= 0)
    close (fd);
  if (tmp) {                            /* failed: leave no trace, not even directories */
    unlink (tmp);
    free (tmp);
    local_prune (h, path);
  }
  free (path);
  return r;
}

/* ---- get / stat ------------------------------------------------------------------ */

/* Open the stored object at path for reading into *fd; NOT_FOUND unless it is a
 * regular file. */
static int
local_open_object (const char *path, int *fd, struct stat *st, struct rm_error *err)
{
  int r;

  *fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (*fd < 0)
    return local_fail (err, errno, path, NULL);
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
  r = local_open_object (path, &fd, &st, err);
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
  r = local_open_object (path, &fd, &st, err);
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
  const char *after;          /* resume strictly after this key, or NULL */
  unsigned max, emitted;
  bool more;                  /* stopped with keys left */
  rm_list_emit_fn emit;
  void *opaque;
  char *path;                 /* ROOT "/" key being visited */
  char *key;                  /* = path + baselen + 1 */
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

/* The entries of directory dir (names that can be key segments and start with filter),
 * sorted; directories marked with a trailing '/'.  Missing directory: none. */
static int
local_readdir (const char *dir, const char *filter, struct local_dirent **out, size_t *count,
               struct rm_error *err)
{
  struct local_dirent *v = NULL;
  size_t n = 0, cap = 0, flen = filter ? strlen (filter) : 0;
  struct dirent *de;
  DIR *d = opendir (dir);
  int r = RM_OK;

  *out = NULL;
  *count = 0;
  if (!d)
    return errno == ENOENT || errno == ENOTDIR ? RM_OK : local_fail (err, errno, dir, NULL);
  for (errno = 0; (de = readdir (d)) != NULL; errno = 0) {
    struct stat st;
    bool isdir;
    size_t len;

    if (!local_name_ok (de->d_name) || strncmp (de->d_name, filter ? filter : "", flen) != 0)
      continue;
    if (de->d_type == DT_DIR)
      isdir = true;
    else if (de->d_type == DT_REG)
      isdir = false;
    else {
      /* Symlinks to files count as files; we never follow one into a directory, so
       * the walk cannot loop. */
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISLNK (st.st_mode) && fstatat (dirfd (d), de->d_name, &st, 0) == 0)
        isdir = false;
      else
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
    r = local_fail (err, errno, dir, NULL);
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

/* Visit the directory named by c->key[0..keylen) (empty or ending in '/'): emit its keys
 * in order, descend into its subdirectories, stop after c->max keys. */
static int
local_walk (struct local_list *c, size_t keylen, const char *filter, struct rm_error *err)
{
  struct local_dirent *ents;
  size_t n, i;
  int r;

  c->key[keylen] = '\0';
  r = local_readdir (c->path, filter, &ents, &n, err);
  for (i = 0; r == RM_OK && !c->more && i < n; i++) {
    size_t len = keylen + ents[i].len;
    struct rm_list_entry e;
    struct stat st;

    if (len > RM_KEY_MAX)
      continue;
    memcpy (c->key + keylen, ents[i].name, ents[i].len + 1);
    if (c->key[len - 1] == '/') {
      /* Skip a subtree wholly at or before the resume point. */
      if (c->after && strcmp (c->key, c->after) < 0 && strncmp (c->key, c->after, len) != 0)
        continue;
      r = local_walk (c, len, NULL, err);
      continue;
    }
    if (c->after && strcmp (c->key, c->after) <= 0)
      continue;
    if (stat (c->path, &st) < 0 || !S_ISREG (st.st_mode))
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
  size_t dirlen;
  int r;

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

  c = calloc (1, sizeof *c);
  if (!c)
    return local_nomem (err);
  c->path = malloc (h->baselen + 1 + RM_KEY_MAX + NAME_MAX + 3);
  if (!c->path) {
    free (c);
    return local_nomem (err);
  }
  memcpy (c->path, h->root, h->baselen);
  c->path[h->baselen] = '/';
  c->key = c->path + h->baselen + 1;
  memcpy (c->key, prefix, dirlen);
  c->after = token && *token ? after : NULL;
  c->max = max_keys ? max_keys : LOCAL_LIST_DEFAULT;
  c->emit = emit;
  c->opaque = opaque;

  r = local_walk (c, dirlen, prefix + dirlen, err);
  if (r == RM_OK && c->more && local_token_encode (c->last, next_token, next_token_size) < 0)
    r = rm_error_set (err, RM_E_INVALID, "list: next_token buffer of %zu bytes is too small",
                      next_token_size);
  free (c->path);
  free (c);
  return r;
}

/* ---- remove ---------------------------------------------------------------------- */

static int
local_remove (void *handle, const char *key, struct rm_error *err)
{
  struct local *h = handle;
  char *path;
  int fd, r;

  if ((r = local_key_check (key, err)) != RM_OK)
    return r;
  path = local_path (h, key);
  if (!path)
    return local_nomem (err);
  fd = local_lock (path);               /* no if-match writer may be between check and rename */
  if (fd < 0) {
    if (errno == EISDIR)
      r = rm_error_set (err, RM_E_NOT_FOUND, "%s: not a stored key (a directory)", path);
    else
      r = local_fail (err, errno, path, NULL);
    free (path);
    return r;
  }
  r = unlink (path) == 0 ? RM_OK : local_fail (err, errno, path, NULL);
  close (fd);
  if (r == RM_OK)
    r = local_sync_parent (h, path, err);
  if (r == RM_OK)
    local_prune (h, path);
  free (path);
  return r;
}

static int
local_remove_many (void *handle, const char *const *keys, size_t n, int *codes,
                   struct rm_error *err)
{
  struct local *h = handle;
  size_t i;

  (void) err;
  for (i = 0; i < n; i++) {
    struct rm_error one = { 0, "" };
    codes[i] = local_remove (handle, keys[i], &one);
    if (codes[i] != RM_OK && codes[i] != RM_E_NOT_FOUND && RM_HOST_HAS (h->host, log))
      h->host->log (h->host, RM_LOG_DEBUG, "local: remove: %s", one.message);
  }
  return RM_OK;
}

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
  .thread_model = RM_THREAD_PARALLEL,   /* the handle is read-only after open */
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
};

RM_BACKEND_EXPORT const struct rm_backend *
rm_backend_init (void)
{
  return &local_backend;
}
