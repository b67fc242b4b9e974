/* example: the smallest complete releasemanager backend: objects in memory for one process
 * (enough for `releasemanager backends check example`).  Build it with ./Makefile. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <releasemanager/backend.h>
struct obj { char *key; char *data; size_t len; };
struct store { struct obj *v; size_t n; long long max; uint32_t flags; };   /* v sorted */
static const struct rm_config_key example_keys[] = {   /* name type default help flags aliases */
  { "max_size", RM_KEY_SIZE, "64MiB", "largest object accepted", 0, NULL },
  { NULL, 0, NULL, NULL, 0, NULL } };
static int example_open (const struct rm_host *host, const struct rm_kv *config, void **handle,
                         struct rm_error *err) {
  struct store *s = calloc (1, sizeof *s);   /* the objects come with the first put */
  if (!s) return rm_error_set (err, RM_E_NOMEM, "out of memory");
  s->max = atoll (rm_config_get (config, "max_size"));   /* the core normalized it */
  s->flags = rm_host_open_flags (host);   /* RM_OPEN_READONLY: create nothing (a file store
                                             does not mkdir), a missing store reads empty */
  *handle = s; return RM_OK;
}
static void example_close (void *handle) {
  struct store *s = handle;
  for (size_t i = 0; i < s->n; i++) { free (s->v[i].key); free (s->v[i].data); }
  free (s->v); free (s);
}
static size_t find (const struct store *s, const char *key, int *found) {   /* or where it goes */
  size_t i = 0; while (i < s->n && strcmp (s->v[i].key, key) < 0) i++;
  *found = i < s->n && strcmp (s->v[i].key, key) == 0; return i;
}
static int example_put (void *handle, const char *key, const struct rm_reader *r,
                        const struct rm_put_options *opts, struct rm_object_info *info,
                        struct rm_error *err) {
  struct store *s = handle; char *buf = NULL, *nb; void *nv; size_t len = 0;
  long long n = 1; int found;
  (void) opts;   /* no RM_CAP_CONDITIONAL_PUT, so the core never sets conditions */
  if (rm_key_check (key, err)) return RM_E_INVALID;
  if (s->flags & RM_OPEN_READONLY) return rm_error_set (err, RM_E_PERMISSION, "read-only open");
  while (n > 0 && (long long) len <= s->max) {   /* read it all first: failures change nothing */
    if (!(nb = realloc (buf, len + 65536))) { n = -2; break; }
    buf = nb; n = r->read (r->opaque, buf + len, 65536); len += n > 0 ? (size_t) n : 0;
  }
  if (n != 0 || (r->size >= 0 && (long long) len != r->size) || (long long) len > s->max) {
    free (buf); return rm_error_set (err, n == -2 ? RM_E_NOMEM : RM_E_ABORTED,
                                     "upload failed, truncated or over max_size");
  }
  size_t i = find (s, key, &found);
  if (!found) {
    char *k = strdup (key);
    if (!k || !(nv = realloc (s->v, (s->n + 1) * sizeof *s->v)))
      { free (k); free (buf); return rm_error_set (err, RM_E_NOMEM, "out of memory"); }
    s->v = nv; memmove (&s->v[i + 1], &s->v[i], (s->n++ - i) * sizeof *s->v);
    s->v[i].key = k; s->v[i].data = NULL;
  }
  free (s->v[i].data); s->v[i].data = buf; s->v[i].len = len;
  if (info) { info->size = (long long) len; info->mtime = -1; info->etag[0] = '\0'; }
  return RM_OK;
}
static int example_get (void *handle, const char *key, const struct rm_writer *w,
                        struct rm_object_info *info, struct rm_error *err) {
  struct store *s = handle; int found; (void) info;   /* optional: left "unknown" */
  if (rm_key_check (key, err)) return RM_E_INVALID;
  size_t i = find (s, key, &found);
  if (!found) return rm_error_set (err, RM_E_NOT_FOUND, "no such object");
  return w->write (w->opaque, s->v[i].data, s->v[i].len) < 0
    ? rm_error_set (err, RM_E_ABORTED, "writer failed") : RM_OK;
}
static int example_list (void *handle, const char *prefix, const char *token, unsigned max,
                         rm_list_emit_fn emit, void *opaque, char *next, size_t next_size,
                         struct rm_error *err) {
  struct store *s = handle; int found; unsigned count = 0;
  size_t i = find (s, token && *token ? token : prefix, &found);
  if (token && *token && found) i++;    /* the token is the last key already returned */
  for (next[0] = '\0'; i < s->n && strncmp (s->v[i].key, prefix, strlen (prefix)) == 0; i++) {
    if (count++ == (max ? max : 1000)) { snprintf (next, next_size, "%s", s->v[i - 1].key); break; }
    struct rm_list_entry e = { s->v[i].key, (long long) s->v[i].len, -1, NULL };
    if (emit (opaque, &e)) return rm_error_set (err, RM_E_ABORTED, "listing stopped");
  }
  return RM_OK;
}
static int example_remove (void *handle, const char *key, struct rm_error *err) {
  struct store *s = handle; int found;
  if (rm_key_check (key, err)) return RM_E_INVALID;
  size_t i = find (s, key, &found);
  if (!found) return rm_error_set (err, RM_E_NOT_FOUND, "no such object");
  free (s->v[i].key); free (s->v[i].data);
  memmove (&s->v[i], &s->v[i + 1], (--s->n - i) * sizeof *s->v);
  return RM_OK;
}
/* The barrier: a file store fsyncs here what it wrote since the last sync, not in each put. */
static int example_sync (void *h, struct rm_error *err) { (void) h; (void) err; return RM_OK; }
static const struct rm_backend example_backend = {
  RM_BACKEND_PREFIX ("example"), .version = "1.0", .caps = RM_CAP_ATOMIC_PUT,
  .description = "objects in memory, for one process (SDK example)",
  .thread_model = RM_THREAD_SERIALIZE_ALL,   /* the safest, for people who copy this file */
  RM_BACKEND_CONFIG (example_keys),
  .open = example_open, .close = example_close, .put = example_put, .get = example_get,
  .list = example_list, .remove = example_remove, .sync = example_sync,
};
RM_BACKEND_EXPORT const struct rm_backend *rm_backend_init (void) { return &example_backend; }
