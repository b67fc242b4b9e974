/* An opened backend: the one wrapper through which the core uses a plugin.  It turns
 * user options into the plugin's validated configuration, supplies the host table,
 * enforces the plugin's thread model, applies the --path key prefix, and adds context
 * ("local: put KEY: ...") to the plugin's error messages. */
#ifndef RM_BACKEND_H
#define RM_BACKEND_H

#include <stdbool.h>

#include <releasemanager/backend.h>

#include "plugin.h"
#include "base/util.h"

/* One user-supplied option value and where it came from ("--backend-opt",
 * "environment RELEASEMANAGER_S3_BUCKET", "config.yaml"), for error messages. */
struct backend_opt {
  char *key;
  char *value;
  char *origin;
};

/* Option values in precedence order: the first value given for a key wins. */
struct backend_opts {
  struct backend_opt *items;
  size_t n;
};

void backend_opts_add (struct backend_opts *o, const char *key, const char *value,
                       const char *origin);
void backend_opts_free (struct backend_opts *o);

/* Build the configuration open() receives: every declared key with the winning value,
 * else its default; unknown keys, bad values and missing required keys are errors
 * naming the key, the backend and the origin.  Values of SECRET keys are registered
 * with the log redactor and never quoted.  Returns NULL with err (RM_E_CONFIG) filled on
 * failure; err may be NULL. */
struct rm_kv *backend_resolve_config (const struct plugin *p, const struct backend_opts *given,
                                      struct rm_error *err);
void backend_config_free (struct rm_kv *config);

/* Check and normalize one value of the given type (see RM_KEY_* in backend.h) into *out
 * (the caller's).  Returns RM_OK, or RM_E_INVALID with *out NULL and err's message the
 * reason, to follow "'VALUE' is " ("not an integer"). */
int backend_normalize_value (int type, const char *value, char **out, struct rm_error *err);

struct backend;

/* Open plugin p with config (ownership of both passes to the backend, also on
 * failure).  prefix, when not NULL or empty, is prepended with '/' to every key.
 * flags: RM_OPEN_* for the plugin (host open_flags); with RM_OPEN_BARRIER the caller
 * calls backend_sync before it relies on what it wrote, and backend_close syncs.
 * Returns NULL with err filled on failure: the plugin's own (primary) code, the message
 * prefixed with the backend name. */
struct backend *backend_open (struct plugin *p, struct rm_kv *config, const char *prefix,
                              unsigned flags, struct rm_error *err);
void backend_close (struct backend *b);

/* Open the plugin of b once more, with b's configuration, on a new store beside b's
 * (for the conformance suite's read-only check): sub ("rm-check-x/ro", no leading or
 * trailing '/') goes into the "path" key when the plugin takes --path itself (see
 * backend_beside_path), else it is appended to b's key prefix.  NULL with err filled on
 * failure. */
struct backend *backend_open_beside (struct backend *b, const char *sub, unsigned flags,
                                     struct rm_error *err);
/* The "path" value backend_open_beside gives the plugin (allocated): PATH/SUB when b's
 * path is a directory or does not exist, PATH.SUB with '/' turned into '-' when it is a
 * file (a store in one file); NULL when the plugin has no "path" key. */
char *backend_beside_path (const struct backend *b, const char *sub);

const struct plugin *backend_plugin (const struct backend *b);
const char *backend_name (const struct backend *b);
uint64_t backend_caps (struct backend *b);
/* How many threads may call into this backend at once. */
unsigned backend_max_parallel (const struct backend *b, unsigned wanted);
/* "local directory /srv/x", or the backend's name when it cannot describe itself. */
char *backend_describe (struct backend *b);
bool backend_has_stat (const struct backend *b);
bool backend_has_remove_many (const struct backend *b);

int backend_put (struct backend *b, const char *key, const struct rm_reader *reader,
                 const struct rm_put_options *opts, struct rm_object_info *info,
                 struct rm_error *err);
int backend_get (struct backend *b, const char *key, const struct rm_writer *writer,
                 struct rm_object_info *info, struct rm_error *err);
int backend_list (struct backend *b, const char *prefix, const char *token, unsigned max_keys,
                  rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
                  struct rm_error *err);
int backend_remove (struct backend *b, const char *key, struct rm_error *err);
int backend_stat (struct backend *b, const char *key, struct rm_object_info *info,
                  struct rm_error *err);
/* Uses the plugin's remove_many when it has one, else remove() per key.  Any n: the whole
 * array goes to the plugin, which batches by its store's own limit. */
int backend_remove_many (struct backend *b, const char *const *keys, size_t n, int *codes,
                         struct rm_error *err);

bool backend_has_sync (const struct backend *b);

/* The write barrier: make every put and remove so far durable.  The plugin's sync (ABI
 * 1.1) when the backend was opened with RM_OPEN_BARRIER and wrote something since the
 * last sync; else RM_OK at once (a 1.0 plugin makes each put durable on its own). */
int backend_sync (struct backend *b, struct rm_error *err);
/* As backend_sync, but calls the plugin's sync even when nothing was written since the
 * last one (the conformance suite checks that this is harmless). */
int backend_sync_always (struct backend *b, struct rm_error *err);

/* Convenience: whole objects in memory. */
int backend_put_mem (struct backend *b, const char *key, const void *data, size_t len,
                     const struct rm_put_options *opts, struct rm_object_info *info,
                     struct rm_error *err);
int backend_get_mem (struct backend *b, const char *key, struct strbuf *out,
                     struct rm_object_info *info, struct rm_error *err);
/* Every key under prefix, all pages, in order. */
int backend_list_all (struct backend *b, const char *prefix, rm_list_emit_fn emit,
                      void *opaque, struct rm_error *err);

/* An observer of every operation of b, for a caller's metrics: called on the thread
 * that made it, once it returned, with the operation (put, get, stat, list, delete, sync;
 * a remove_many batch is one delete) and its primary code (RM_OK, RM_E_NOT_FOUND, ...).
 * Quick and thread-safe; set it before b is shared between threads; fn NULL removes it. */
typedef void (*backend_observer_fn) (void *ud, const char *op, int rc);
void backend_set_observer (struct backend *b, backend_observer_fn fn, void *ud);

/* Client-side encryption (base/seal.h): from now on every object put is sealed with k
 * and every object got is opened with it (its key, relative to --path, authenticated),
 * except the keys of plain_keys (a NULL-terminated array; both outlive b).  Streaming
 * put and get then go through memory.  Without a key, getting a sealed object is an
 * error that says it is encrypted.  Set before b is shared between threads. */
struct seal_key;
void backend_set_seal (struct backend *b, const struct seal_key *k, const char *const *plain_keys);
const struct seal_key *backend_seal (const struct backend *b);
/* The id of the key the object key was sealed with, as hex into id_hex (SEAL_KEY_ID_HEX
 * bytes), "" when it is not sealed: the header is read without opening the object (a
 * rekey's leftovers, sealed with a key this run does not have). */
int backend_sealed_key_id (struct backend *b, const char *key, char *id_hex,
                           struct rm_error *err);

/* Ask every backend's long operations to finish early (host should_stop()). */
void backend_request_stop (void);
/* Whether backend_request_stop was called (a signal): long waits give up. */
bool backend_stop_requested (void);

#endif
