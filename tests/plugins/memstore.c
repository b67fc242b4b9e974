/* A complete in-memory backend for the compatibility tests: one store per process,
 * shared by every handle (so a second handle sees what the first wrote), keys kept
 * sorted.  Built three ways (tests/plugins/local.mk):
 *   mem10        against the frozen ABI 1.0 header (tests/plugins/abi/1.0): no sync,
 *                no open flags; it must pass `backends check` against today's core;
 *   mem11        against today's header: honours RM_OPEN_READONLY, has sync;
 *   memcareless  as mem11, but creates a lock key on every open, read-only or not,
 *                so the conformance suite's read-only check must fail it;
 *   memfile      as mem11 with a "path" key naming a file that a writable open creates
 *                (like a database file), memfilecareless creating it on every open.
 * Thread model SERIALIZE_ALL: the core never calls two callbacks at once, so the shared
 * store needs no lock of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <releasemanager/backend.h>

#ifndef FIXTURE_NAME
#error FIXTURE_NAME must be defined
#endif

struct entry {
  char *key;
  unsigned char *data;
  size_t len;
  long long mtime;
  unsigned long long version;
};

/* One store per "path" value (memfile), or the one store of the process. */
struct store {
  char *path;
  struct entry *ents;
  size_t n;
};
static struct store *stores;
static size_t nstores;
static struct store *cur;     /* the store of the handle being called (SERIALIZE_ALL) */
static unsigned long long next_version = 1;
#define ents (cur->ents)
#define nents (cur->n)

static struct store *
mem_store_for (const char *path)
{
  for (size_t i = 0; i < nstores; i++)
    if (strcmp (stores[i].path, path) == 0)
      return &stores[i];
  struct store *n = realloc (stores, (nstores + 1) * sizeof *stores);
  if (!n)
    return NULL;
  stores = n;
  stores[nstores] = (struct store) { strdup (path), NULL, 0 };
  return &stores[nstores++];
}

/* The caller's rm_object_info may be filled (RM_STRUCT_HAS from ABI 1.1 on). */
#ifdef RM_STRUCT_HAS
#define INFO_OK(info) RM_STRUCT_HAS (info, struct rm_object_info, etag)
#else
#define INFO_OK(info) ((info) && (info)->struct_size >= sizeof *(info))
#endif

struct mem {
  const char *path;              /* its store's */
  int readonly;
  unsigned long long unsynced;   /* puts and removes since the last sync */
};

/* Index of the first entry whose key is >= key. */
static size_t
mem_lower (const char *key)
{
  size_t lo = 0, hi = nents;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp (ents[mid].key, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct entry *
mem_find (const char *key)
{
  size_t i = mem_lower (key);
  return i < nents && strcmp (ents[i].key, key) == 0 ? &ents[i] : NULL;
}

static int
mem_store (const char *key, unsigned char *data, size_t len)
{
  struct entry *e = mem_find (key);
  if (!e) {
    struct entry *n = realloc (ents, (nents + 1) * sizeof *ents);
    if (!n)
      return -1;
    ents = n;
    size_t i = mem_lower (key);
    memmove (&ents[i + 1], &ents[i], (nents - i) * sizeof *ents);
    nents++;
    e = &ents[i];
    e->key = strdup (key);
    e->data = NULL;
  }
  free (e->data);
  e->data = data;
  e->len = len;
  e->mtime = (long long) time (NULL);
  e->version = next_version++;
  return 0;
}

#ifdef VARIANT_file
static const struct rm_config_key mem_keys[] = {
  { RM_PATH_KEY, RM_KEY_PATH, NULL, "the store's file", RM_KEY_REQUIRED, NULL },
  { NULL, 0, NULL, NULL, 0, NULL },
};
#endif

static int
mem_open (const struct rm_host *host, const struct rm_kv *config, void **handle,
          struct rm_error *err)
{
  (void) config;
  struct mem *m = calloc (1, sizeof *m);
  if (!m)
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
#if RM_BACKEND_ABI_MINOR >= 1
  m->readonly = (rm_host_open_flags (host) & RM_OPEN_READONLY) != 0;
#if defined(VARIANT_file)
  const char *path = rm_config_get (config, RM_PATH_KEY);
#ifdef VARIANT_careless
  int create = 1;
#else
  int create = !m->readonly;
#endif
  FILE *f = create ? fopen (path, "a") : NULL;
  if (create && !f) {
    free (m);
    return rm_error_set (err, RM_E_IO, "%s: cannot create the store file", path);
  }
  if (f)
    fclose (f);
  m->path = path;
#elif defined(VARIANT_careless)
  /* The bug the suite must catch: a lock taken even by a read-only open. */
  m->path = "";
  cur = mem_store_for (m->path);
  char lock[RM_KEY_MAX + 16];
  snprintf (lock, sizeof lock, "%s.lock", rm_host_key_prefix (host));
  unsigned char *one = malloc (1);
  if (one) {
    one[0] = 'L';
    mem_store (lock, one, 1);
  }
#endif
#else
  (void) host;
#endif
  if (!m->path)
    m->path = "";
  *handle = m;
  return RM_OK;
}

/* Select the handle's store (the store's array may have moved since open). */
static struct mem *
mem_use (void *handle)
{
  struct mem *m = handle;
  cur = mem_store_for (m->path);
  return m;
}

static void
mem_close (void *handle)
{
  free (handle);
}

static int
mem_put (void *handle, const char *key, const struct rm_reader *r,
         const struct rm_put_options *opts, struct rm_object_info *info, struct rm_error *err)
{
  struct mem *m = mem_use (handle);
  (void) opts;
  int rc = rm_key_check (key, err);
  if (rc)
    return rc;
  if (m->readonly)
    return rm_error_set (err, RM_E_PERMISSION, "put on a read-only handle");
  size_t cap = 4096, len = 0;
  unsigned char *buf = malloc (cap);
  for (;;) {
    if (!buf)
      return rm_error_set (err, RM_E_NOMEM, "out of memory");
    if (len == cap) {
      unsigned char *nb = realloc (buf, cap *= 2);
      if (!nb)
        free (buf);
      buf = nb;
      continue;
    }
    long long n = r->read (r->opaque, buf + len, cap - len);
    if (n < 0) {
      free (buf);
      return rm_error_set (err, RM_E_ABORTED, "the reader failed");
    }
    if (n == 0)
      break;
    len += (size_t) n;
  }
  if (r->size >= 0 && (long long) len != r->size) {
    free (buf);
    return rm_error_set (err, RM_E_ABORTED, "the reader gave %zu bytes of %lld", len, r->size);
  }
  if (mem_store (key, buf, len) < 0) {
    free (buf);
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
  }
  m->unsynced++;
  if (INFO_OK (info)) {
    info->size = (long long) len;
    info->mtime = mem_find (key)->mtime;
    snprintf (info->etag, sizeof info->etag, "\"v%llu\"", mem_find (key)->version);
  }
  return RM_OK;
}

static int
mem_get (void *handle, const char *key, const struct rm_writer *w, struct rm_object_info *info,
         struct rm_error *err)
{
  mem_use (handle);
  int rc = rm_key_check (key, err);
  if (rc)
    return rc;
  struct entry *e = mem_find (key);
  if (!e)
    return rm_error_set (err, RM_E_NOT_FOUND, "no such key");
  if (e->len && w->write (w->opaque, e->data, e->len) < 0)
    return rm_error_set (err, RM_E_ABORTED, "the writer failed");
  if (INFO_OK (info)) {
    info->size = (long long) e->len;
    info->mtime = e->mtime;
    snprintf (info->etag, sizeof info->etag, "\"v%llu\"", e->version);
  }
  return RM_OK;
}

static int
mem_list (void *handle, const char *prefix, const char *token, unsigned max_keys,
          rm_list_emit_fn emit, void *opaque, char *next, size_t next_size, struct rm_error *err)
{
  mem_use (handle);
  size_t pl = strlen (prefix), i = mem_lower (prefix);
  if (token && token[0]) {
    size_t t = mem_lower (token);
    if (t < nents && strcmp (ents[t].key, token) == 0)
      t++;
    if (t > i)
      i = t;
  }
  unsigned max = max_keys ? max_keys : 1000, done = 0;
  next[0] = '\0';
  for (; i < nents && strncmp (ents[i].key, prefix, pl) == 0; i++) {
    if (done == max) {
      if (strlen (ents[i - 1].key) >= next_size)
        return rm_error_set (err, RM_E_INTERNAL, "continuation token too long");
      strcpy (next, ents[i - 1].key);
      break;
    }
    char etag[64];
    snprintf (etag, sizeof etag, "\"v%llu\"", ents[i].version);
    struct rm_list_entry le = { ents[i].key, (long long) ents[i].len, ents[i].mtime, etag };
    if (emit (opaque, &le) != 0)
      return rm_error_set (err, RM_E_ABORTED, "listing stopped by the caller");
    done++;
  }
  return RM_OK;
}

static int
mem_remove (void *handle, const char *key, struct rm_error *err)
{
  struct mem *m = mem_use (handle);
  int rc = rm_key_check (key, err);
  if (rc)
    return rc;
  if (m->readonly)
    return rm_error_set (err, RM_E_PERMISSION, "delete on a read-only handle");
  struct entry *e = mem_find (key);
  if (!e)
    return rm_error_set (err, RM_E_NOT_FOUND, "no such key");
  size_t i = (size_t) (e - ents);
  free (e->key);
  free (e->data);
  memmove (&ents[i], &ents[i + 1], (nents - i - 1) * sizeof *ents);
  nents--;
  m->unsynced++;
  return RM_OK;
}

static int
mem_stat (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err)
{
  mem_use (handle);
  int rc = rm_key_check (key, err);
  if (rc)
    return rc;
  struct entry *e = mem_find (key);
  if (!e)
    return rm_error_set (err, RM_E_NOT_FOUND, "no such key");
  if (INFO_OK (info)) {
    info->size = (long long) e->len;
    info->mtime = e->mtime;
    snprintf (info->etag, sizeof info->etag, "\"v%llu\"", e->version);
  }
  return RM_OK;
}

#if RM_BACKEND_ABI_MINOR >= 1
/* Memory is as durable as it gets: the barrier only counts. */
static int
mem_sync (void *handle, struct rm_error *err)
{
  struct mem *m = handle;
  (void) err;
  m->unsynced = 0;
  return RM_OK;
}
#endif

static const struct rm_backend mem_backend = {
  RM_BACKEND_PREFIX (FIXTURE_NAME),
  .version = "0.0.1",
  .description = "in-memory test store " FIXTURE_NAME,
  .thread_model = RM_THREAD_SERIALIZE_ALL,
  .caps = 0,
#ifdef VARIANT_file
  RM_BACKEND_CONFIG (mem_keys),
#endif
  .open = mem_open,
  .close = mem_close,
  .put = mem_put,
  .get = mem_get,
  .list = mem_list,
  .remove = mem_remove,
  .stat = mem_stat,
#if RM_BACKEND_ABI_MINOR >= 1
  .sync = mem_sync,
#endif
};

RM_BACKEND_EXPORT const struct rm_backend *
rm_backend_init (void)
{
  return &mem_backend;
}
