/* releasemanager backend plugin ABI.
 *
 * This header is the whole contract between the releasemanager core and a storage
 * backend plugin (a shared object loaded with dlopen).  A plugin includes only this
 * header, exports exactly one symbol, rm_backend_init(), and never links against the
 * core.  The core reaches the plugin only through the descriptor that rm_backend_init()
 * returns; the plugin reaches the core only through the host table passed to open().
 *
 * Compatibility guarantee
 *   - RM_BACKEND_ABI_MAJOR changes only for an incompatible change.  The core refuses a
 *     plugin whose abi_major differs from its own before calling anything but
 *     rm_backend_init().
 *   - RM_BACKEND_ABI_MINOR grows when fields are APPENDED to a struct.  Fields are never
 *     reordered, resized or removed; a retired callback keeps its slot as _unusedN.
 *     The core copies min(struct_size, sizeof its own descriptor) into a zeroed struct, so
 *     a plugin built against an older minor loads and its missing callbacks read as NULL
 *     ("unsupported").  A plugin built against a newer minor also loads; the core ignores
 *     the fields it does not know.
 *   - Every struct passed between core and plugin that may grow begins with struct_size.
 *   - Error codes are never renumbered or reused.
 *
 * See releasemanager-backend(3) for the full reference and a complete example.
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
 * Versions
 * ------------------------------------------------------------------------------- */

/* The ABI this header describes.  RM_BACKEND_PREFIX() records both numbers in the
 * plugin's descriptor at compile time. */
#define RM_BACKEND_ABI_MAJOR 1
#define RM_BACKEND_ABI_MINOR 1

/* ---------------------------------------------------------------------------------
 * Error codes.  Every operation returns RM_OK (0) or one of these, and fills the
 * caller's struct rm_error with a human-readable message.  Never renumbered.
 * ------------------------------------------------------------------------------- */
#define RM_OK              0  /* success */
#define RM_E_NOT_FOUND     1  /* the key does not exist */
#define RM_E_EXISTS        2  /* put with RM_PUT_IF_NONE_MATCH: the key already exists */
#define RM_E_PRECONDITION  3  /* put with if_match: the stored etag differs */
#define RM_E_AUTH          4  /* credentials missing, wrong or expired */
#define RM_E_PERMISSION    5  /* credentials valid but not allowed (HTTP 403, EACCES) */
#define RM_E_TRANSIENT     6  /* temporary failure; retrying the same call may succeed */
#define RM_E_INVALID       7  /* bad argument: malformed key, bad option value */
#define RM_E_IO            8  /* I/O or protocol failure that a retry will not fix */
#define RM_E_NOSPACE       9  /* storage full or quota exceeded (ENOSPC, EDQUOT) */
#define RM_E_UNSUPPORTED  10  /* operation or option not supported by this backend */
#define RM_E_NOMEM        11  /* out of memory */
#define RM_E_CONFIG       12  /* configuration incomplete or inconsistent (from open, or
                                 when the store reveals it: wrong region, bad endpoint) */
#define RM_E_ABORTED      13  /* a reader or writer callback reported failure */
#define RM_E_INTERNAL     14  /* a bug: an invariant of the plugin or core was broken */
#define RM_E_LAST_        14  /* highest code defined by this header (not a code) */

/* Caller-owned error report.  The caller zeroes it (or sets code = 0, message[0] = 0)
 * before a call; the plugin fills it when it returns a non-zero code.  The message
 * names the specifics (file path, HTTP status, remote error code and request id, errno
 * text); the core adds the context (plugin name, operation, key), so the message need
 * not repeat the key.  A message must never contain the value of a
 * key flagged RM_KEY_SECRET.  The struct is frozen: it never grows. */
#define RM_ERROR_MESSAGE_MAX 1024
struct rm_error {
  int code;                               /* same value the operation returned */
  char message[RM_ERROR_MESSAGE_MAX];     /* NUL-terminated, no trailing newline */
};

/* Fill *err (which may be NULL) and return code, so plugins can write
 *   return rm_error_set (err, RM_E_NOT_FOUND, "%s: no such key", key);  */
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
 * Keys.  A key is a NUL-terminated UTF-8 string of '/'-separated segments, at most
 * RM_KEY_MAX bytes, e.g. "releases/default/web/3.json.gz".  Invalid keys:
 *   empty; longer than RM_KEY_MAX; starting or ending with '/'; containing an empty
 *   segment ("a//b"), a "." or ".." segment, a backslash, or a control character
 *   (bytes 0x01-0x1f and 0x7f).
 * Everything else is legal, including spaces, '+', '~', '%', '=', ':', '@' and
 * non-ASCII UTF-8.  Plugins must reject invalid keys with RM_E_INVALID and must store
 * legal keys without loss.  rm_key_check() implements exactly this rule.  A backend may
 * still refuse, with RM_E_INVALID and a message naming the conflict, a legal key it
 * cannot represent (on a filesystem: a key that is also the directory of other keys, or
 * a segment longer than the filesystem allows); releasemanager's own keys never do that.
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
    return rm_error_set (err, RM_E_INVALID, "invalid key '%s': absolute (starts with '/')", key);
  for (i = 0; i <= len; i++) {
    unsigned char c = (unsigned char) key[i];
    if (c == '/' || c == '\0') {
      size_t n = i - seg;
      if (n == 0)
        return rm_error_set (err, RM_E_INVALID, "invalid key '%s': empty path segment", key);
      if ((n == 1 && key[seg] == '.') || (n == 2 && key[seg] == '.' && key[seg + 1] == '.'))
        return rm_error_set (err, RM_E_INVALID, "invalid key '%s': '.' or '..' segment", key);
      seg = i + 1;
    }
    else if (c == '\\')
      return rm_error_set (err, RM_E_INVALID, "invalid key '%s': backslash", key);
    else if (c < 0x20 || c == 0x7f)
      return rm_error_set (err, RM_E_INVALID, "invalid key: control character 0x%02x at byte %u",
                           c, (unsigned) i);
  }
  return RM_OK;
}

/* ---------------------------------------------------------------------------------
 * Configuration.  A plugin declares its keys in a static table; the core builds
 * --help, `releasemanager backends`, validation and secret redaction from it alone.
 * Users set keys as --backend-opt KEY=VALUE, as --KEY VALUE after a positional backend
 * name, through RELEASEMANAGER_<BACKEND>_<KEY> in the environment, or in the config
 * file under backends.<name>.<key>.
 * ------------------------------------------------------------------------------- */

/* Value types.  The core checks and normalizes values before open() sees them. */
#define RM_KEY_STRING   0  /* any text */
#define RM_KEY_PATH     1  /* a filesystem path; the core makes a relative path absolute */
#define RM_KEY_BOOL     2  /* accepted: true/false/yes/no/on/off/1/0; given as "true"/"false" */
#define RM_KEY_INT      3  /* a signed decimal 64-bit integer; given in decimal */
#define RM_KEY_SIZE     4  /* bytes, with optional suffix K, M, G, T (powers of 1024),
                              KiB/MiB/GiB/TiB or KB/MB/GB/TB; given as decimal bytes */

/* Key flags. */
#define RM_KEY_REQUIRED (1u << 0)  /* open() is not called unless the key has a value */
#define RM_KEY_SECRET   (1u << 1)  /* the value never appears in output, logs or errors */

/* One configuration key.  A table is terminated by an entry whose name is NULL.
 * The core walks the table with the stride config_key_size from the descriptor, so
 * fields appended here in a later minor version stay compatible. */
struct rm_config_key {
  const char *name;           /* lower case, [a-z0-9_], e.g. "secret_access_key" */
  int type;                   /* RM_KEY_* value type */
  const char *default_value;  /* text form of the default, or NULL for none */
  const char *help;           /* one line, no trailing period */
  unsigned flags;             /* RM_KEY_REQUIRED | RM_KEY_SECRET */
  const char *aliases;        /* NULL, or comma-separated other spellings accepted as
                                 --ALIAS after a positional backend name, e.g. the
                                 original tool's "accessKeyID" */
};

/* The configuration open() receives: every key the plugin declared, in table order,
 * with value = the user's value, else the default, else NULL.  Terminated by an entry
 * whose key is NULL.  Owned by the core; valid until close() returns. */
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

/* The core's --path.  If a plugin declares a key named "path", the core passes --path
 * to it through that key and uses the keys of DESIGN.md unprefixed (local: the root
 * directory).  Otherwise the core prefixes every key with --path and '/' (s3: a prefix
 * inside the bucket). */
#define RM_PATH_KEY "path"

/* ---------------------------------------------------------------------------------
 * Host services: the core's table, passed to open().  Plugins must not resolve symbols
 * in the executable; they are loaded RTLD_NOW | RTLD_LOCAL without -rdynamic.
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
  const char *user_agent;     /* for HTTP backends, e.g. "releasemanager/0.1.0" */

  /* Log a message through the core (stderr, or JSON lines, per the user's flags).
   * Thread-safe.  The core also redacts the values of SECRET keys, but a plugin must
   * not pass them in the first place. */
  void (*log) (const struct rm_host *host, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format (printf, 3, 4)))
#endif
    ;

  /* Non-zero once the core wants the current operation to finish early (SIGTERM in
   * the daemon).  Long retry loops should check it between attempts and then return
   * RM_E_TRANSIENT.  Thread-safe. */
  int (*should_stop) (const struct rm_host *host);

  void *host_data;            /* private to the core */

  /* ---- ABI 1.1 (read with rm_host_open_flags / rm_host_key_prefix) ---- */
  uint32_t open_flags;        /* RM_OPEN_* bits for this open */
  const char *key_prefix;     /* see rm_host_key_prefix() */
};

/* Open flags (ABI 1.1), in the host table passed to open(). */
#define RM_OPEN_READONLY (1u << 0)  /* the core will call only get, list, stat,
                                       capabilities and describe on this handle: open
                                       must create and change nothing (no directory, no
                                       bucket, no file, no lock); a store that does not
                                       exist yet opens and reads as empty */
#define RM_OPEN_BARRIER  (1u << 1)  /* the core calls sync() before it relies on what
                                       it wrote (before it commits an index, and before
                                       close): until sync returns RM_OK, a put or remove
                                       need not be durable on its own.  Without this
                                       flag every put and remove must be durable when it
                                       returns, as in ABI 1.0 */

/* True when *ptr, a struct of TYPE that begins with struct_size (struct rm_host,
 * struct rm_object_info, struct rm_put_options), is large enough to hold FIELD: the
 * other side was built against an ABI minor that has it.  Read a field added after the
 * minor your plugin requires only when this is true, e.g.
 *   if (RM_STRUCT_HAS (opts, struct rm_put_options, content_type)) ...            */
#define RM_STRUCT_HAS(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof (type, field) + sizeof (((type *) 0)->field))

/* True when the host table offers the service FIELD (present and not NULL): use before
 * calling a service that was added after the ABI minor a plugin requires. */
#define RM_HOST_HAS(host, field) \
  (RM_STRUCT_HAS (host, struct rm_host, field) && (host)->field != NULL)

/* The open flags of this open (RM_OPEN_*), 0 from a core older than ABI 1.1. */
static inline uint32_t
rm_host_open_flags (const struct rm_host *host)
{
  return RM_STRUCT_HAS (host, struct rm_host, open_flags) ? host->open_flags : 0;
}

/* The prefix the core prepends to every key it passes ("p/q/", or "" for none), from
 * --path; "" from a core older than ABI 1.1 or when the plugin takes --path itself
 * through a "path" key.  For describe(): the plugin never needs to prepend it. */
static inline const char *
rm_host_key_prefix (const struct rm_host *host)
{
  return RM_STRUCT_HAS (host, struct rm_host, key_prefix) && host->key_prefix
    ? host->key_prefix : "";
}

/* ---------------------------------------------------------------------------------
 * Streaming.  put() pulls bytes from a reader; get() pushes bytes to a writer.  Both
 * structs are owned by the core and are frozen (they never grow).
 * ------------------------------------------------------------------------------- */

struct rm_reader {
  /* Read up to len bytes into buf.  Returns the number of bytes read (> 0), 0 at end of
   * data, or -1 on failure (then the operation must fail with RM_E_ABORTED). */
  long long (*read) (void *opaque, void *buf, size_t len);
  /* Start again from the first byte, so a retried upload can resend.  NULL, or a return
   * of -1, means the data cannot be re-read: the plugin must then fail the put rather
   * than store a partial object. */
  int (*rewind) (void *opaque);
  long long size;             /* total bytes the reader yields, or -1 if unknown.  When
                                 size >= 0 and the reader ends early or yields more, the
                                 upload is truncated or corrupt: put must fail with
                                 RM_E_ABORTED and leave the previous object in place. */
  void *opaque;
};

struct rm_writer {
  /* Consume all len bytes.  Returns 0, or -1 to abort (operation -> RM_E_ABORTED). */
  int (*write) (void *opaque, const void *buf, size_t len);
  /* Discard everything written so far, so a retried download can start over.  NULL,
   * or a return of -1, means it cannot: the plugin must then fail the get. */
  int (*reset) (void *opaque);
  void *opaque;
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
/* The core sets RM_PUT_IF_NONE_MATCH or if_match only for handles that advertise
 * RM_CAP_CONDITIONAL_PUT; for others it fails the put with RM_E_UNSUPPORTED itself. */
struct rm_put_options {
  uint32_t struct_size;       /* set by the caller to sizeof (struct rm_put_options) */
  uint32_t flags;             /* RM_PUT_* */
  const char *if_match;       /* store only if the current etag equals this, else
                                 RM_E_PRECONDITION (RM_E_NOT_FOUND if absent); or NULL */
  const char *content_type;   /* MIME type hint, or NULL */
};

/* One listed object, valid only during the emit callback. */
struct rm_list_entry {
  const char *key;            /* full key */
  long long size;             /* bytes, or -1 if unknown */
  long long mtime;            /* seconds since the epoch, or -1 */
  const char *etag;           /* or NULL */
};

/* Called once per listed key, in ascending byte order.  Returns 0 to go on, non-zero
 * to stop (the list call then returns RM_E_ABORTED). */
typedef int (*rm_list_emit_fn) (void *opaque, const struct rm_list_entry *entry);

/* Size of the continuation token buffer, NUL included.  A token derived from a key must
 * fit: base64url of an RM_KEY_MAX key does (1366 bytes), hex does not. */
#define RM_LIST_TOKEN_MAX 2048

/* ---------------------------------------------------------------------------------
 * Thread models and capabilities
 * ------------------------------------------------------------------------------- */

/* What concurrency the plugin supports.  The core never exceeds it. */
#define RM_THREAD_SERIALIZE_ALL     0  /* one call at a time in the whole process */
#define RM_THREAD_SERIALIZE_HANDLE  1  /* one call at a time per handle */
#define RM_THREAD_PARALLEL          2  /* any calls at once, on one handle too */

/* Capability bits (descriptor .caps, or the optional capabilities() callback). */
#define RM_CAP_CONDITIONAL_PUT  (1ull << 0)  /* honours RM_PUT_IF_NONE_MATCH and if_match */
#define RM_CAP_ATOMIC_PUT       (1ull << 1)  /* readers never see a partially written object */
#define RM_CAP_VERSIONING       (1ull << 2)  /* overwritten objects stay retrievable */
#define RM_CAP_ENCRYPTION       (1ull << 3)  /* data encrypted at rest by the store */
#define RM_CAP_REMOTE           (1ull << 4)  /* network store: the core may parallelize */

/* ---------------------------------------------------------------------------------
 * The descriptor
 * ------------------------------------------------------------------------------- */

struct rm_backend {
  /* ---- frozen prefix: identical in every ABI version ---- */
  uint32_t struct_size;       /* sizeof (struct rm_backend) the plugin was compiled with */
  uint16_t abi_major;         /* RM_BACKEND_ABI_MAJOR the plugin was compiled with */
  uint16_t abi_minor;         /* RM_BACKEND_ABI_MINOR the plugin was compiled with */
  const char *name;           /* backend name; must equal the file name without ".so" */

  /* ---- ABI 1.0 ---- */
  const char *version;        /* the plugin's own version, e.g. "1.2.0" */
  const char *description;    /* one line for `releasemanager backends` */
  int thread_model;           /* RM_THREAD_* */
  uint64_t caps;              /* RM_CAP_* bits, true for every handle */
  const struct rm_config_key *config_keys;  /* NULL-name-terminated table, or NULL */
  size_t config_key_size;     /* sizeof (struct rm_config_key) in the plugin */

  /* Required.  Validate the configuration, connect if needed, and set *handle.  The
   * host table and config stay valid until close().  On failure return an RM_E_* code
   * (usually RM_E_CONFIG, RM_E_AUTH or RM_E_IO) and leave nothing to close. */
  int (*open) (const struct rm_host *host, const struct rm_kv *config, void **handle,
               struct rm_error *err);

  /* Required.  Release everything open() acquired.  Cannot fail. */
  void (*close) (void *handle);

  /* Required.  Store the reader's bytes under key, replacing any previous object,
   * atomically: on any failure the previous object (or its absence) is unchanged.
   * opts may be NULL (unconditional).  If info is not NULL, fill the new object's
   * metadata (at least size and etag). */
  int (*put) (void *handle, const char *key, const struct rm_reader *reader,
              const struct rm_put_options *opts, struct rm_object_info *info,
              struct rm_error *err);

  /* Required.  Stream the object's bytes to the writer.  RM_E_NOT_FOUND if absent.
   * If info is not NULL, fill it.  When get fails, the writer may hold part of the
   * object: the caller discards it. */
  int (*get) (void *handle, const char *key, const struct rm_writer *writer,
              struct rm_object_info *info, struct rm_error *err);

  /* Required.  Emit the keys that start with prefix (plain string prefix; "" = all), in
   * ascending byte order, at most max_keys of them (0 = the plugin's choice).  token is
   * NULL or "" for the first page, else a next_token from the previous page.  On return
   * next_token (of next_token_size bytes, >= RM_LIST_TOKEN_MAX) holds the token for the
   * next page, or "" when the listing is complete. */
  int (*list) (void *handle, const char *prefix, const char *token, unsigned max_keys,
               rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
               struct rm_error *err);

  /* Required.  Delete key.  RM_E_NOT_FOUND if it was absent (the caller decides whether
   * that matters). */
  int (*remove) (void *handle, const char *key, struct rm_error *err);

  /* Optional.  Fill info for key without reading its data; RM_E_NOT_FOUND if absent. */
  int (*stat) (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err);

  /* Optional.  Delete n keys in as few requests as possible.  The host may pass any n
   * (a whole stale set at once): a store with a per-request limit splits the array
   * itself (S3's DeleteObjects takes 1000 keys).  codes[i] receives the
   * result for keys[i] (RM_OK or RM_E_NOT_FOUND or another code; a store that cannot
   * tell an absent key from a deleted one, like S3, may report RM_OK).  Returns RM_OK when
   * the batch was processed (inspect codes), or a code when it failed as a whole; err
   * then describes the batch failure (per-key details may go to host->log). */
  int (*remove_many) (void *handle, const char *const *keys, size_t n, int *codes,
                      struct rm_error *err);

  /* Optional.  Capabilities of this handle (e.g. probed from the server, which may take
   * network I/O the first time; a failed probe reports the capability absent); when
   * NULL the core uses caps. */
  uint64_t (*capabilities) (void *handle);

  /* Optional.  Write a one-line description of where this handle stores data, with no
   * secrets, e.g. "s3://bucket/prefix (https://minio:9000)".  Returns 0 or -1. */
  int (*describe) (void *handle, char *buf, size_t size);

  /* ---- ABI 1.1 ---- */

  /* Optional (the write barrier).  Make every put and remove that returned RM_OK on
   * this handle durable: after sync returns RM_OK they survive a crash or power loss of
   * this machine (local: fsync of the files and directories written; a store that is
   * durable when a request returns, like S3, returns RM_OK at once).  The core calls it
   * before it commits an index, after the commit, and before close on a handle that
   * was opened with RM_OPEN_BARRIER and wrote something.  NULL: every put and remove
   * is durable when it returns (ABI 1.0). */
  int (*sync) (void *handle, struct rm_error *err);
};

/* Fill the frozen prefix from the ABI this header describes. */
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

/* The plugin's single exported symbol.  It only returns a pointer to a static const
 * descriptor: no allocation, no I/O, no host calls (setup belongs in open()). */
#if defined(__GNUC__) || defined(__clang__)
#define RM_BACKEND_EXPORT __attribute__((visibility ("default")))
#else
#define RM_BACKEND_EXPORT
#endif

#define RM_BACKEND_INIT_SYMBOL "rm_backend_init"
typedef const struct rm_backend *(*rm_backend_init_fn) (void);

RM_BACKEND_EXPORT const struct rm_backend *rm_backend_init (void);

/* Fixed text for a code, e.g. rm_strerror (RM_E_NOT_FOUND) = "not found". */
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
