/* releasemanager backend plugin ABI 1.1
 *
 * This header is the whole contract between the releasemanager core and a storage
 * backend plugin, a shared object the core loads with dlopen(3).  Its comments are the
 * reference: releasemanager-backend(3) prints them, generated from this file, next to a
 * tutorial, a complete example, and how to build, install and test a plugin.
 *
 * A plugin includes only this header, exports exactly one symbol, rm_backend_init(),
 * and never links against the core.  The core reaches the plugin only through the
 * descriptor (struct rm_backend) that rm_backend_init() returns; the plugin reaches the
 * core only through the host table (struct rm_host) passed to open().  A backend stores,
 * fetches, lists and deletes whole objects under keys; it knows nothing about Kubernetes,
 * Helm or what the keys mean.
 */
#ifndef RELEASEMANAGER_BACKEND_H
#define RELEASEMANAGER_BACKEND_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------
 * Versions and compatibility
 *
 * The ABI has a major and a minor version.  RM_BACKEND_PREFIX() records both in the
 * plugin's descriptor at compile time; `releasemanager --version` prints the core's.
 *   - The major changes only for an incompatible change.  The core refuses a plugin
 *     whose abi_major differs from its own, reading nothing of the descriptor but the
 *     frozen prefix (struct_size, abi_major, abi_minor, name).
 *   - The minor grows when fields are APPENDED to a struct.  Fields are never
 *     reordered, resized or removed; a retired callback keeps its slot as _unusedN.
 *   - The core copies min(struct_size, sizeof its own descriptor) into a zeroed struct:
 *     a plugin built against an older minor loads and the callbacks it does not know
 *     read as NULL ("unsupported"); a plugin built against a newer minor loads too, and
 *     the core ignores the fields it does not know (--debug says so).
 *   - Every struct passed between core and plugin that may grow begins with struct_size
 *     (struct rm_backend, struct rm_host, struct rm_object_info, struct
 *     rm_put_options); struct rm_config_key grows too, walked with the stride
 *     config_key_size.  struct rm_error, struct rm_reader and struct rm_writer are
 *     frozen: they never grow.
 *   - Error codes are never renumbered or reused.
 * So a plugin keeps working across minor releases without a rebuild.  Before it reads a
 * field that a minor later than the one it requires added to a struct the core passes
 * (or writes one of a struct the core owns, like struct rm_object_info), it checks
 * RM_STRUCT_HAS; before it calls such a host service, RM_HOST_HAS.
 * ------------------------------------------------------------------------------- */
#define RM_BACKEND_ABI_MAJOR 1
#define RM_BACKEND_ABI_MINOR 1

/* ---------------------------------------------------------------------------------
 * Error codes
 *
 * Every operation returns RM_OK (0) or one of these and fills the caller's struct
 * rm_error.  rm_strerror() gives each code's fixed text.  A plugin returns only these
 * codes; the core turns anything else into RM_E_INTERNAL.
 * ------------------------------------------------------------------------------- */
#define RM_OK              0  /* success */
#define RM_E_NOT_FOUND     1  /* the key does not exist: get, stat or remove of an absent
                                 key, a put with if_match on one (ENOENT, S3 NoSuchKey) */
#define RM_E_EXISTS        2  /* put with RM_PUT_IF_NONE_MATCH: the key already exists
                                 (EEXIST, HTTP 412 to If-None-Match: *) */
#define RM_E_PRECONDITION  3  /* put with if_match: the stored etag differs (HTTP 412) */
#define RM_E_AUTH          4  /* credentials missing, wrong or expired (HTTP 401, S3
                                 InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken) */
#define RM_E_PERMISSION    5  /* credentials valid but not allowed (HTTP 403, EACCES,
                                 EPERM, EROFS) */
#define RM_E_TRANSIENT     6  /* temporary failure; retrying the same call may succeed
                                 (HTTP 5xx and 429, time-outs, reset connections, EAGAIN,
                                 EINTR); also what to return when should_stop() ends a
                                 retry loop early */
#define RM_E_INVALID       7  /* bad argument: an invalid key, a legal key this store
                                 cannot represent, a bad option value (HTTP 400,
                                 ENAMETOOLONG) */
#define RM_E_IO            8  /* I/O or protocol failure that a retry will not fix (EIO,
                                 a malformed answer, a checksum mismatch, an unexpected
                                 HTTP status) */
#define RM_E_NOSPACE       9  /* storage full or quota exceeded (ENOSPC, EDQUOT, HTTP 507) */
#define RM_E_UNSUPPORTED  10  /* operation or option not supported by this backend; the
                                 core returns it itself for an optional callback that is
                                 NULL */
#define RM_E_NOMEM        11  /* out of memory */
#define RM_E_CONFIG       12  /* configuration incomplete or inconsistent: from open(),
                                 or from any operation when only the store reveals it
                                 (no such bucket, wrong region or endpoint) */
#define RM_E_ABORTED      13  /* a reader, writer or emit callback reported failure, or a
                                 reader yielded fewer or more bytes than it declared */
#define RM_E_INTERNAL     14  /* a bug: an invariant of the plugin or core was broken
                                 (e.g. list returned the token it was given) */
#define RM_E_LAST_        14  /* highest code defined by this header (not a code) */

/* Caller-owned error report.  The caller clears it (code = 0, message[0] = 0) before a
 * call; the plugin fills it when it returns a non-zero code.
 *
 * The core adds the context, the plugin the specifics.  The core prefixes the message
 * with the backend name, the operation and the key, so a message never starts with the
 * plugin's name and never repeats the key: it names what only the plugin knows (file
 * path, HTTP status, remote error code and request id, errno text).  The user reads e.g.
 *   releasemanager: s3: put releases/ns/web/3.json.gz: access denied (HTTP 403)
 * An empty message stands for rm_strerror(code).  A message never contains the value of
 * a key flagged RM_KEY_SECRET, nor any other secret (a token, a signed URL); the core
 * redacts secret values from every message as a last line of defence.
 *
 * Plugins never print: no output on stdout or stderr and no exit(); what the user should
 * see goes into the message or through host->log.  The struct is frozen. */
#define RM_ERROR_MESSAGE_MAX 1024
struct rm_error {
  int code;                               /* same value the operation returned */
  char message[RM_ERROR_MESSAGE_MAX];     /* NUL-terminated, no trailing newline */
};

/* Fill *err (which may be NULL) with code and a printf-style message, truncated to fit,
 * and return code, so plugins can write
 *   return rm_error_set (err, RM_E_NOT_FOUND, "no such object");  */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format (printf, 3, 4)))
#endif
static inline int
rm_error_set (struct rm_error *err, int code, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    err->code = code;
    va_start (ap, fmt);
    vsnprintf (err->message, sizeof err->message, fmt, ap);
    va_end (ap);
  }
  return code;
}

/* ---------------------------------------------------------------------------------
 * Keys
 *
 * A key is a NUL-terminated UTF-8 string of '/'-separated segments, at most RM_KEY_MAX
 * bytes, e.g. "releases/default/web/3.json.gz".  Invalid keys:
 *   empty; longer than RM_KEY_MAX; starting or ending with '/'; containing an empty
 *   segment ("a//b"), a "." or ".." segment, a backslash, or a control character
 *   (bytes 0x01-0x1f and 0x7f).
 * Everything else is legal, including spaces, '+', '~', '%', '=', ':', '@', quotes,
 * brackets, '*', '?', '#', segments that merely start or end with dots (".hidden") and
 * non-ASCII UTF-8.  rm_key_check() implements exactly this rule.
 *
 * A plugin rejects invalid keys with RM_E_INVALID (calling rm_key_check() first in put,
 * get, remove, stat and for each key of remove_many does that).  A legal key it accepts
 * it stores without loss: exactly these bytes come back from list ("%20" is three
 * characters, not a space); a store that cannot hold some byte in a name encodes it.  A
 * legal key the store cannot represent at all (on a filesystem: a key that is also the
 * directory of other keys, or a segment longer than the filesystem allows) is refused
 * with RM_E_INVALID and a message naming the conflict, never stored under another name;
 * releasemanager's own keys never do that.  Keys sort in ascending byte order, as
 * strcmp() compares them.
 * ------------------------------------------------------------------------------- */
#define RM_KEY_MAX 1024

/* Return RM_OK or RM_E_INVALID (filling *err, which may be NULL). */
static inline int
rm_key_check (const char *key, struct rm_error *err)
{
  size_t len, seg = 0, i;
  if (key == NULL || key[0] == '\0')
    return rm_error_set (err, RM_E_INVALID, "invalid key: empty");
  len = strlen (key);
  if (len > RM_KEY_MAX)
    return rm_error_set (err, RM_E_INVALID, "invalid key: longer than %d bytes", RM_KEY_MAX);
  if (key[0] == '/')
    return rm_error_set (err, RM_E_INVALID, "invalid key: absolute (starts with '/')");
  for (i = 0; i <= len; i++) {
    unsigned char c = (unsigned char) key[i];
    if (c == '/' || c == '\0') {
      size_t n = i - seg;
      if (n == 0)
        return rm_error_set (err, RM_E_INVALID, "invalid key: empty path segment");
      if ((n == 1 && key[seg] == '.') || (n == 2 && key[seg] == '.' && key[seg + 1] == '.'))
        return rm_error_set (err, RM_E_INVALID, "invalid key: '.' or '..' segment");
      seg = i + 1;
    }
    else if (c == '\\')
      return rm_error_set (err, RM_E_INVALID, "invalid key: backslash");
    else if (c < 0x20 || c == 0x7f)
      return rm_error_set (err, RM_E_INVALID, "invalid key: control character 0x%02x at byte %u",
                           c, (unsigned) i);
  }
  return RM_OK;
}

/* ---------------------------------------------------------------------------------
 * Configuration
 *
 * A plugin declares its keys in a static table; the core builds --help, `releasemanager
 * backends`, validation and secret redaction from it alone, and the plugin never parses
 * a command line, an environment variable or a configuration file.  Users set a key, in
 * this order of precedence:
 *   1. on the command line: --backend-opt KEY=VALUE (repeatable), or, after a positional
 *      backend name, --KEY VALUE or --KEY=VALUE, for every type.  '-' may stand for '_'
 *      in KEY (--secret-access-key), and an alias (below) for the name.  A value may
 *      begin with '-': a negative RM_KEY_INT is --KEY -5 or --KEY=-5.  A RM_KEY_BOOL key
 *      given as a bare --KEY means true;
 *   2. in the environment: RELEASEMANAGER_<BACKEND>_<KEY>, upper case, '-' as '_'
 *      (RELEASEMANAGER_S3_SECRET_ACCESS_KEY);
 *   3. in the configuration file, under backends.<name>.<key>;
 *   4. the key's default_value.
 * A key the plugin did not declare is an error listing the keys it has; an invalid value
 * is an error naming the key and where the value came from (without a secret's value).
 * ------------------------------------------------------------------------------- */

/* Value types.  The core checks and normalizes every value (a default too) before
 * open() sees it, so open() receives one canonical text form. */
#define RM_KEY_STRING   0  /* any text, passed unchanged */
#define RM_KEY_PATH     1  /* a non-empty filesystem path; the core makes a relative path
                              absolute (against the current directory) */
#define RM_KEY_BOOL     2  /* accepted: true/false/yes/no/on/off/1/0 in any case; given
                              as "true"/"false" */
#define RM_KEY_INT      3  /* a signed decimal 64-bit integer; given in decimal */
#define RM_KEY_SIZE     4  /* bytes, with optional suffix K, M, G, T (powers of 1024),
                              KiB/MiB/GiB/TiB or KB/MB/GB/TB (powers of 1024 too); given
                              as decimal bytes ("8M" arrives as "8388608") */

/* Key flags. */
#define RM_KEY_REQUIRED (1u << 0)  /* open() is not called unless the key has a value (a
                                      default counts) */
#define RM_KEY_SECRET   (1u << 1)  /* the value never appears in output, logs or errors:
                                      the core hides it in `releasemanager backends` and
                                      --debug and redacts it from every message */

/* One configuration key.  A table is terminated by an entry whose name is NULL; set
 * config_keys and config_key_size with RM_BACKEND_CONFIG(table), or leave config_keys
 * NULL when there are no settings.  The core walks the table with the stride
 * config_key_size and copies at most its own sizeof (struct rm_config_key) of each entry,
 * so fields appended in a later minor stay compatible both ways.  A stride smaller than
 * ABI 1.0's struct, no terminator within 256 entries, an invalid or repeated name or an
 * unknown type fails the load. */
struct rm_config_key {
  const char *name;           /* lower case, [a-z0-9_], unique, e.g. "secret_access_key" */
  int type;                   /* RM_KEY_* value type */
  const char *default_value;  /* text form of the default, or NULL for none; normalized
                                 like a user's value; a secret's is never shown */
  const char *help;           /* one line, no trailing period; shown by `releasemanager
                                 backends` and in the error for a missing required key */
  unsigned flags;             /* RM_KEY_REQUIRED | RM_KEY_SECRET */
  const char *aliases;        /* NULL, or comma-separated other spellings accepted as
                                 --ALIAS after a positional backend name, e.g. the
                                 original tool's "accessKeyID" */
};

/* The configuration open() receives: every key the plugin declared, in table order,
 * with value = the user's value, else the default, else NULL.  Terminated by an entry
 * whose key is NULL.  Owned by the core; valid until close() returns, so a plugin may
 * keep pointers into it.  Convert a RM_KEY_SIZE or RM_KEY_INT value with strtoll(), a
 * RM_KEY_BOOL value by comparing it with "true". */
struct rm_kv {
  const char *key;
  const char *value;
};

/* Look a key up in the configuration given to open().  NULL when unset. */
static inline const char *
rm_config_get (const struct rm_kv *config, const char *key)
{
  for (; config && config->key; config++)
    if (strcmp (config->key, key) == 0)
      return config->value;
  return NULL;
}

/* The core's global --path PATH (also RELEASEMANAGER_PATH and path in the configuration
 * file) says where the state lives.  If a plugin declares a key named "path", the core
 * passes --path to it through that key and passes its keys unprefixed (local: the root
 * directory); a required "path" key without a value is the error "backend 'NAME' needs
 * --path".  Otherwise the core prepends --path and '/' to every key it passes, and strips
 * them again from the keys list emits (s3: a prefix inside the bucket): the plugin sees
 * and stores full keys and needs to do nothing (rm_host_key_prefix() tells it the
 * prefix, for describe()). */
#define RM_PATH_KEY "path"

/* ---------------------------------------------------------------------------------
 * Host services
 *
 * The core's table, passed to open() and valid until close() returns.  It is the only
 * way to reach the core: plugins are loaded RTLD_NOW | RTLD_LOCAL into an executable
 * linked without -rdynamic, and must not resolve symbols in it.  There is no allocation
 * service: use malloc() and free().
 * ------------------------------------------------------------------------------- */

#define RM_LOG_ERROR 0
#define RM_LOG_WARN  1
#define RM_LOG_INFO  2   /* shown with -v */
#define RM_LOG_DEBUG 3   /* shown with --debug */

struct rm_host {
  uint32_t struct_size;       /* sizeof (struct rm_host) as the core was compiled */
  uint16_t abi_major;         /* the core's ABI version */
  uint16_t abi_minor;
  const char *version;        /* releasemanager's version, e.g. "0.1.0" */
  const char *user_agent;     /* for HTTP backends' User-Agent, e.g. "releasemanager/0.1.0" */

  /* Log a printf-style message at an RM_LOG_* level through the core (stderr, or JSON
   * lines, per the user's flags); the core prefixes the backend name and drops a
   * trailing newline.  Thread-safe.  The core also redacts the values of SECRET keys,
   * but a plugin must not pass them in the first place. */
  void (*log) (const struct rm_host *host, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format (printf, 3, 4)))
#endif
    ;

  /* Non-zero once the core wants the current operation to finish early (SIGTERM, as
   * when the daemon stops).  Long retry loops check it between attempts and then return
   * RM_E_TRANSIENT.  Thread-safe. */
  int (*should_stop) (const struct rm_host *host);

  void *host_data;            /* private to the core */

  /* ---- ABI 1.1: read these with rm_host_open_flags() and rm_host_key_prefix(),
   *      which give the ABI 1.0 meaning when the core is older ---- */
  uint32_t open_flags;        /* RM_OPEN_* bits for this open */
  const char *key_prefix;     /* see rm_host_key_prefix() */
};

/* Open flags (ABI 1.1): what the core will do with the handle, in the host table given to
 * open().  A core older than ABI 1.1 passes none (rm_host_open_flags() returns 0). */

/* Read-only open: on this handle the core calls only get, list, stat, capabilities and
 * describe, never put, remove, remove_many or sync.  open() and every call on the handle
 * must create and change nothing: no directory, bucket, file, lock or probe object.  A
 * store that does not exist yet opens and reads as empty (get and stat return
 * RM_E_NOT_FOUND, list emits nothing); a store that cannot be one (a path that is a
 * file) is still RM_E_CONFIG. */
#define RM_OPEN_READONLY (1u << 0)

/* Barrier open: the core calls sync() before it relies on what it wrote, so a put or
 * remove that returns RM_OK need not be durable yet; sync() makes it so.  Without this
 * flag (and from a core older than ABI 1.1) every put and remove is durable when it
 * returns, as in ABI 1.0, and sync() is never called.  A plugin without sync() ignores
 * the flag and keeps every write durable on its own. */
#define RM_OPEN_BARRIER  (1u << 1)

/* True when *ptr, a struct of TYPE that begins with struct_size (struct rm_host,
 * struct rm_object_info, struct rm_put_options), is large enough to hold FIELD: the
 * other side was built against an ABI minor that has it.  Touch a field added after the
 * minor your plugin requires only when this is true, e.g.
 *   if (RM_STRUCT_HAS (opts, struct rm_put_options, content_type)) ...
 * ptr may be NULL (then it is false). */
#define RM_STRUCT_HAS(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof (type, field) + sizeof (((type *) 0)->field))

/* True when the host table offers the service FIELD (inside the core's struct_size and
 * not NULL): use it before calling a service added after the ABI minor a plugin requires,
 * e.g.
 *   if (RM_HOST_HAS (host, log)) host->log (host, RM_LOG_DEBUG, "root %s", root); */
#define RM_HOST_HAS(host, field) \
  (RM_STRUCT_HAS (host, struct rm_host, field) && (host)->field != NULL)

/* The RM_OPEN_* flags of this open; 0 from a core older than ABI 1.1. */
static inline uint32_t
rm_host_open_flags (const struct rm_host *host)
{
  return RM_STRUCT_HAS (host, struct rm_host, open_flags) ? host->open_flags : 0;
}

/* The prefix the core prepends to every key it passes on this handle ("p/q/", or ""),
 * from --path; "" from a core older than ABI 1.1 and when the plugin takes --path itself
 * through a "path" key.  The keys a plugin receives already carry it and the keys it
 * emits from list must too, so a plugin never prepends it: it is for describe(). */
static inline const char *
rm_host_key_prefix (const struct rm_host *host)
{
  return RM_STRUCT_HAS (host, struct rm_host, key_prefix) && host->key_prefix
    ? host->key_prefix : "";
}

/* ---------------------------------------------------------------------------------
 * Streaming
 *
 * put() pulls bytes from a reader; get() pushes bytes to a writer, so an object never
 * needs two copies in memory.  Both structs are owned by the core, valid only during
 * the call, called only on the thread that called the plugin, and frozen (they never
 * grow).
 * ------------------------------------------------------------------------------- */

struct rm_reader {
  /* Read up to len bytes into buf.  Returns the number of bytes read (> 0, possibly
   * fewer than asked), 0 at end of data, or -1 on failure (then the operation must fail
   * with RM_E_ABORTED). */
  long long (*read) (void *opaque, void *buf, size_t len);
  /* Start again from the first byte, so a retried upload can resend.  NULL, or a return
   * of -1, means the data cannot be re-read: the plugin must then fail the put rather
   * than store a partial object. */
  int (*rewind) (void *opaque);
  long long size;             /* total bytes the reader yields, or -1 if unknown.  When
                                 size >= 0 and the reader ends early or yields more, the
                                 upload is truncated or corrupt: put must fail with
                                 RM_E_ABORTED and leave the previous object in place.  So
                                 read until read returns 0 even when size bytes came, and
                                 compare before committing the object. */
  void *opaque;               /* passed to read and rewind */
};

struct rm_writer {
  /* Consume all len bytes.  Returns 0, or -1 to abort (operation -> RM_E_ABORTED). */
  int (*write) (void *opaque, const void *buf, size_t len);
  /* Discard everything written so far, so a retried download can start over.  NULL,
   * or a return of -1, means it cannot: the plugin must then fail the get.  A plugin
   * that verifies downloads (an MD5 etag, a checksum) does so before it returns RM_OK:
   * the caller may already have used the bytes, so a mismatch is RM_E_IO, or a reset
   * and a retry. */
  int (*reset) (void *opaque);
  void *opaque;               /* passed to write and reset */
};

/* Metadata of a stored object. */
#define RM_ETAG_MAX 256
struct rm_object_info {
  uint32_t struct_size;       /* set by the caller to sizeof (struct rm_object_info) */
  long long size;             /* bytes, or -1 if unknown */
  long long mtime;            /* seconds since the Unix epoch, or -1 if unknown */
  char etag[RM_ETAG_MAX];     /* opaque version tag usable with if_match; "" if none */
};

/* Options of put(). */
#define RM_PUT_IF_NONE_MATCH (1u << 0)  /* store only if the key does not exist, else
                                           RM_E_EXISTS (create-only) */
/* Conditions (RM_PUT_IF_NONE_MATCH, if_match) are for handles that advertise
 * RM_CAP_CONDITIONAL_PUT, and there the check and the store are one atomic step (a check
 * followed by a separate write is not a conditional put).  The core sets a condition
 * only on such handles; for others it fails the put with RM_E_UNSUPPORTED itself, so a
 * plugin without the capability may ignore opts (or, to be strict, return
 * RM_E_UNSUPPORTED for a condition rather than store unconditionally). */
struct rm_put_options {
  uint32_t struct_size;       /* set by the caller to sizeof (struct rm_put_options) */
  uint32_t flags;             /* RM_PUT_* */
  const char *if_match;       /* store only if the current etag equals this, else
                                 RM_E_PRECONDITION (RM_E_NOT_FOUND if absent); or NULL */
  const char *content_type;   /* MIME type hint, or NULL; a store without types ignores it */
};

/* One listed object.  It and the strings it points to are valid only during the emit
 * callback: the core copies what it keeps. */
struct rm_list_entry {
  const char *key;            /* full key, as put stored it */
  long long size;             /* bytes, or -1 if unknown */
  long long mtime;            /* seconds since the epoch, or -1 */
  const char *etag;           /* or NULL */
};

/* Called once per listed key, in ascending byte order, on the thread that called list.
 * Returns 0 to go on, non-zero to stop (the list call then returns RM_E_ABORTED). */
typedef int (*rm_list_emit_fn) (void *opaque, const struct rm_list_entry *entry);

/* Size of the continuation token buffer, NUL included.  A token derived from a key must
 * fit: base64url of an RM_KEY_MAX key does (1366 bytes), hex does not. */
#define RM_LIST_TOKEN_MAX 2048

/* ---------------------------------------------------------------------------------
 * Thread models and capabilities
 *
 * In every thread model: open and close never run while another call on the same handle
 * runs; capabilities and describe may be called at any time between them, also while an
 * operation runs; the host's log and should_stop may be called from any thread; any
 * thread may make any call, so keep no state in thread-local storage between calls.  The
 * core ignores SIGPIPE; a plugin installs no signal handlers.  A plugin allows several
 * handles at once, each with its own configuration: keep per-handle state in the handle.
 * ------------------------------------------------------------------------------- */

/* What concurrency the plugin supports.  The core never exceeds it. */
#define RM_THREAD_SERIALIZE_ALL     0  /* one call at a time in the whole process: the core
                                          holds one process-wide lock around every put, get,
                                          list, remove, stat, remove_many and sync.  For
                                          plugins (or libraries) with unprotected globals */
#define RM_THREAD_SERIALIZE_HANDLE  1  /* one call at a time per handle: the core holds the
                                          handle's lock around each such call */
#define RM_THREAD_PARALLEL          2  /* any calls at once, on one handle too: the core
                                          takes no lock.  Only these plugins get parallel
                                          work (concurrent uploads, `backends check`) */

/* Capability bits (descriptor .caps, or the optional capabilities() callback), so the
 * core can pick strategies.  Advertise only what is true: the core relies on them, and
 * a capability a plugin cannot keep is worse than a missing one. */
#define RM_CAP_CONDITIONAL_PUT  (1ull << 0)  /* honours RM_PUT_IF_NONE_MATCH and if_match,
                                                atomically (checked by `backends check`) */
#define RM_CAP_ATOMIC_PUT       (1ull << 1)  /* readers never see a partially written object */
#define RM_CAP_VERSIONING       (1ull << 2)  /* overwritten objects stay retrievable */
#define RM_CAP_ENCRYPTION       (1ull << 3)  /* data encrypted at rest by the store */
#define RM_CAP_REMOTE           (1ull << 4)  /* network store: the core may parallelize */

/* ---------------------------------------------------------------------------------
 * The descriptor
 *
 * rm_backend_init() returns it; the callbacks follow in descriptor order.  Every
 * callback but open receives the handle open set; those that can fail return RM_OK or
 * an RM_E_* code and fill err.  The six required callbacks are never NULL; an optional
 * one that is NULL means "unsupported", and the core, not the plugin, deals with that.
 * The core passes keys (and list's prefix) with rm_host_key_prefix() already prepended.
 * ------------------------------------------------------------------------------- */

struct rm_backend {
  /* ---- frozen prefix: identical in every ABI version ---- */
  uint32_t struct_size;       /* sizeof (struct rm_backend) the plugin was compiled with */
  uint16_t abi_major;         /* RM_BACKEND_ABI_MAJOR the plugin was compiled with */
  uint16_t abi_minor;         /* RM_BACKEND_ABI_MINOR the plugin was compiled with */
  const char *name;           /* backend name, [a-z0-9_-]; must equal the file name
                                 without ".so" */

  /* ---- ABI 1.0 ---- */
  const char *version;        /* the plugin's own version, e.g. "1.2.0" */
  const char *description;    /* one line for `releasemanager backends` */
  int thread_model;           /* RM_THREAD_* */
  uint64_t caps;              /* RM_CAP_* bits, true for every handle */
  const struct rm_config_key *config_keys;  /* NULL-name-terminated table, or NULL */
  size_t config_key_size;     /* sizeof (struct rm_config_key) in the plugin */

  /* Required.  Validate the configuration, connect if needed, and set *handle: all
   * setup happens here (allocate the handle, initialize libraries, check combinations
   * of keys the core cannot check, probe the store if that finds a mistake early).
   * Honour rm_host_open_flags (host).  The host table and config stay valid until
   * close().  On failure return an RM_E_* code (usually RM_E_CONFIG, RM_E_AUTH or
   * RM_E_IO) and leave nothing to close: the core does not call close() after a failed
   * open() and calls nothing else; it reports the error as "NAME: MESSAGE". */
  int (*open) (const struct rm_host *host, const struct rm_kv *config, void **handle,
               struct rm_error *err);

  /* Required.  Release everything open() acquired.  Cannot fail.  Called once per handle
   * open() returned (never for a NULL one), after every other call on it has returned;
   * then the core may unload the plugin (dlclose), so leave no thread running and no
   * atexit() handler or library callback pointing into the plugin.  On a barrier handle
   * that wrote since its last sync, the core calls sync() first. */
  void (*close) (void *handle);

  /* Required.  Store the reader's bytes under key, replacing any previous object,
   * atomically: on any failure the previous object (or its absence) is unchanged (write
   * a temporary name and rename; complete a multipart upload only when every part is
   * in).  opts may be NULL (unconditional).  If info is not NULL, fill the new object's
   * metadata (at least size and etag).  Durable when it returns RM_OK, unless the
   * handle was opened with RM_OPEN_BARRIER and the plugin has sync(). */
  int (*put) (void *handle, const char *key, const struct rm_reader *reader,
              const struct rm_put_options *opts, struct rm_object_info *info,
              struct rm_error *err);

  /* Required.  Stream the object's bytes to the writer.  RM_E_NOT_FOUND if absent.
   * If info is not NULL, fill it.  When get fails, the writer may hold part of the
   * object: the caller discards it. */
  int (*get) (void *handle, const char *key, const struct rm_writer *writer,
              struct rm_object_info *info, struct rm_error *err);

  /* Required.  Emit the keys that start with prefix (a plain string prefix, not a
   * directory: "a/b" matches "a/b/c" and "a/bc"; "" = all), in ascending byte order, at
   * most max_keys of them (0 = the plugin's choice).  token is NULL or "" for the first
   * page, else the next_token of the previous page.  On return next_token (of
   * next_token_size bytes, >= RM_LIST_TOKEN_MAX) holds the token for the next page, or ""
   * when the listing is complete.
   * A token is opaque to the core (a key, a server's continuation token, an offset) and
   * must fit with its NUL.  Every page of one listing is asked for with the same prefix
   * (max_keys may differ), so a token need only work with the prefix it was made for.
   * token and next_token are never the same buffer: a plugin may write next_token
   * before it has finished with token.  Across pages the keys continue in ascending
   * order with no key repeated, and each page makes progress: the core fails a listing
   * with RM_E_INTERNAL when a page returns the token it was given. */
  int (*list) (void *handle, const char *prefix, const char *token, unsigned max_keys,
               rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
               struct rm_error *err);

  /* Required.  Delete key.  RM_E_NOT_FOUND if it was absent (the caller decides whether
   * that matters).  Durable when it returns, like put. */
  int (*remove) (void *handle, const char *key, struct rm_error *err);

  /* Optional.  Fill info for key without reading its data; RM_E_NOT_FOUND if absent.
   * The etag is the one put reported and if_match compares with.  NULL: the core
   * answers RM_E_UNSUPPORTED without calling the plugin. */
  int (*stat) (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err);

  /* Optional.  Delete n keys (n may be 0) in as few requests as possible.  The host may
   * pass any n (a whole stale set at once): a store with a per-request limit splits the
   * array itself (S3's DeleteObjects takes 1000 keys).  codes[i] receives the result
   * for keys[i]: RM_OK, RM_E_NOT_FOUND for an absent key, or another code; a store that
   * cannot tell an absent key from a deleted one, like S3, reports RM_OK for it.  Returns
   * RM_OK when the batch was processed (the caller inspects codes), or a code when it
   * failed as a whole; err then describes the batch failure (per-key details may go to
   * host->log).  NULL: the core calls remove once per key. */
  int (*remove_many) (void *handle, const char *const *keys, size_t n, int *codes,
                      struct rm_error *err);

  /* Optional.  Capabilities of this handle; NULL: the core uses caps.  The core calls it
   * often (before every conditional put) and without the thread model's lock, also
   * while other calls run: compute the answer once (in open, or on the first call:
   * probing the server may take network I/O then, and a failed probe reports the
   * capability absent), keep it, and later return it at once.  On a RM_OPEN_READONLY
   * handle a probe must not write. */
  uint64_t (*capabilities) (void *handle);

  /* Optional.  Write into buf (of size bytes) a one-line description of where this
   * handle stores data, with no secrets, e.g. "s3://bucket/prefix (https://minio:9000)".
   * Returns 0, or -1 when there is nothing to say.  The core shows it in logs and in
   * `backends check`, and shows the backend name when describe is NULL, fails or writes
   * "". */
  int (*describe) (void *handle, char *buf, size_t size);

  /* ---- ABI 1.1 ---- */

  /* Optional: the write barrier.  Make every put and remove that returned RM_OK on this
   * handle durable: when sync returns RM_OK they survive a crash or power loss (local:
   * fsync the files and directories written since the last sync; a store that is durable
   * when a request returns, like S3, returns RM_OK at once).  The core calls it only on
   * a handle opened with RM_OPEN_BARRIER, and only when a put, remove or remove_many ran
   * on it since the last successful sync: before it commits an index, after the commit,
   * and before close.  After a failed sync, the next one again covers everything since
   * the last successful one.  NULL: the plugin makes every put and remove durable when
   * it returns (ABI 1.0). */
  int (*sync) (void *handle, struct rm_error *err);
};

/* Fill the frozen prefix from the ABI this header describes, so the descriptor can
 * stay const: start every descriptor with RM_BACKEND_PREFIX ("name"). */
#define RM_BACKEND_PREFIX(backend_name)                                      \
  .struct_size = sizeof (struct rm_backend),                                 \
  .abi_major = RM_BACKEND_ABI_MAJOR,                                         \
  .abi_minor = RM_BACKEND_ABI_MINOR,                                         \
  .name = (backend_name)

/* Fill config_keys and config_key_size from a static table. */
#define RM_BACKEND_CONFIG(table)                                             \
  .config_keys = (table),                                                    \
  .config_key_size = sizeof ((table)[0])

/* Size of the frozen prefix: the core reads nothing else from a plugin whose abi_major
 * it does not speak. */
#define RM_BACKEND_PREFIX_SIZE (offsetof (struct rm_backend, name) + sizeof (const char *))

/* The plugin's single exported symbol (RM_BACKEND_EXPORT makes it visible under
 * -fvisibility=hidden).  It only returns a pointer to a static const descriptor: no
 * allocation, no I/O, no host calls, no threads, no library initialization (setup
 * belongs in open()).  `releasemanager backends` calls it, reads the descriptor and
 * unloads the plugin without ever calling open(). */
#if defined(__GNUC__) || defined(__clang__)
#define RM_BACKEND_EXPORT __attribute__((visibility ("default")))
#else
#define RM_BACKEND_EXPORT
#endif

#define RM_BACKEND_INIT_SYMBOL "rm_backend_init"
typedef const struct rm_backend *(*rm_backend_init_fn) (void);

RM_BACKEND_EXPORT const struct rm_backend *rm_backend_init (void);

/* Fixed text for a code, e.g. rm_strerror (RM_E_NOT_FOUND) = "not found"; "unknown
 * error" for a code outside RM_OK..RM_E_LAST_. */
static inline const char *
rm_strerror (int code)
{
  static const char *const text[] = {
    "success", "not found", "already exists", "precondition failed",
    "authentication failed", "permission denied", "temporary failure",
    "invalid argument", "input/output error", "no space left",
    "not supported", "out of memory", "configuration error", "aborted",
    "internal error",
  };
  if (code < 0 || code > RM_E_LAST_)
    return "unknown error";
  return text[code];
}

#ifdef __cplusplus
}
#endif

#endif /* RELEASEMANAGER_BACKEND_H */
