/* A host that knows only ABI 1.0: compiled against the frozen header in
 * tests/plugins/abi/1.0, it loads a plugin built against a newer minor (the in-tree
 * local.so) and drives open, put, get, stat, list and remove with a 1.0-sized host
 * table.  The bytes just past that table, where ABI 1.1 keeps open_flags and
 * key_prefix, are 0xff: a plugin that read them without checking struct_size would see
 * RM_OPEN_READONLY (and refuse to write) or follow a wild key_prefix pointer.  So the
 * plugin must read open_flags as 0 and behave as under 1.0: a writable store, each put
 * durable when it returns (this host never calls sync, which it does not know).
 *
 * Usage: host10 PLUGIN.so DIR (DIR need not exist).  Exit 0 when everything worked, 1
 * with a message otherwise. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <releasemanager/backend.h>

#if RM_BACKEND_ABI_MINOR != 0
#error host10.c must be compiled against the frozen ABI 1.0 header
#endif

static int failures;

#define CHECK(cond, ...)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf (stderr, "host10: FAIL line %d: ", __LINE__);                 \
      fprintf (stderr, __VA_ARGS__);                                        \
      fputc ('\n', stderr);                                                 \
      failures++;                                                           \
    }                                                                       \
  } while (0)

static void host_log (const struct rm_host *host, int level, const char *fmt, ...)
  __attribute__((format (printf, 3, 4)));

static void
host_log (const struct rm_host *host, int level, const char *fmt, ...)
{
  (void) host;
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "host10: plugin log (%d): ", level);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
}

static int
host_should_stop (const struct rm_host *host)
{
  (void) host;
  return 0;
}

/* The 1.0 host table, followed by what a newer plugin must never read. */
static struct {
  struct rm_host host;
  unsigned char poison[64];
} table;

struct membuf {
  char data[256];
  size_t len;
};

static int
mb_write (void *opaque, const void *buf, size_t len)
{
  struct membuf *m = opaque;
  if (m->len + len >= sizeof m->data)
    return -1;
  memcpy (m->data + m->len, buf, len);
  m->len += len;
  return 0;
}

static int
mb_reset (void *opaque)
{
  ((struct membuf *) opaque)->len = 0;
  return 0;
}

struct src {
  const char *data;
  size_t len, pos;
};

static long long
src_read (void *opaque, void *buf, size_t len)
{
  struct src *s = opaque;
  size_t n = s->len - s->pos < len ? s->len - s->pos : len;
  memcpy (buf, s->data + s->pos, n);
  s->pos += n;
  return (long long) n;
}

static int
src_rewind (void *opaque)
{
  ((struct src *) opaque)->pos = 0;
  return 0;
}

static int
collect (void *opaque, const struct rm_list_entry *e)
{
  char *keys = opaque;
  size_t n = strlen (keys);
  snprintf (keys + n, 1024 - n, "%s%s", n ? " " : "", e->key);
  return 0;
}

static void
list_keys (const struct rm_backend *d, void *h, char keys[1024])
{
  char next[RM_LIST_TOKEN_MAX] = "";
  struct rm_error err = { 0, "" };
  keys[0] = '\0';
  int rc = d->list (h, "", "", 0, collect, keys, next, sizeof next, &err);
  CHECK (rc == RM_OK, "list: %s", err.message);
  CHECK (next[0] == '\0', "list: a continuation token for one key");
}

int
main (int argc, char **argv)
{
  if (argc != 3) {
    fprintf (stderr, "usage: host10 PLUGIN.so DIR\n");
    return 2;
  }
  void *dl = dlopen (argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    fprintf (stderr, "host10: %s\n", dlerror ());
    return 1;
  }
  const struct rm_backend *(*init) (void);
  *(void **) &init = dlsym (dl, "rm_backend_init");
  const struct rm_backend *d = init ? init () : NULL;
  if (!d) {
    fprintf (stderr, "host10: %s: no descriptor\n", argv[1]);
    return 1;
  }
  /* What a 1.0 core's loader accepts: same major, a descriptor at least 1.0-sized. */
  CHECK (d->abi_major == RM_BACKEND_ABI_MAJOR, "ABI major %u", (unsigned) d->abi_major);
  CHECK (d->struct_size >= sizeof (struct rm_backend), "descriptor of %u bytes",
         (unsigned) d->struct_size);
  fprintf (stderr, "host10: %s %s, ABI %u.%u, through a 1.0 host table of %zu bytes\n",
           d->name, d->version ? d->version : "", (unsigned) d->abi_major,
           (unsigned) d->abi_minor, sizeof table.host);

  memset (&table, 0xff, sizeof table);
  table.host.struct_size = sizeof table.host;
  table.host.abi_major = 1;
  table.host.abi_minor = 0;
  table.host.version = "1.0-host";
  table.host.user_agent = "host10/1.0";
  table.host.log = host_log;
  table.host.should_stop = host_should_stop;
  table.host.host_data = NULL;

  struct rm_kv config[] = { { "path", argv[2] }, { "fsync", "true" }, { NULL, NULL } };
  struct rm_error err = { 0, "" };
  void *h = NULL;
  int rc = d->open (&table.host, config, &h, &err);
  if (rc != RM_OK) {
    fprintf (stderr, "host10: FAIL: open %s: %s\n", argv[2], err.message);
    return 1;
  }

  const char *key = "releases/ns/web/1.json.gz", *text = "release record v1";
  struct src s = { text, strlen (text), 0 };
  struct rm_reader r = { src_read, src_rewind, (long long) s.len, &s };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  rc = d->put (h, key, &r, NULL, &info, &err);
  CHECK (rc == RM_OK, "put %s (a plugin that saw RM_OPEN_READONLY refuses): %s", key,
         err.message);
  CHECK (info.size == -1 || info.size == (long long) s.len, "put reported size %lld",
         info.size);

  struct membuf m = { "", 0 };
  struct rm_writer w = { mb_write, mb_reset, &m };
  rc = d->get (h, key, &w, NULL, &err);
  CHECK (rc == RM_OK && m.len == s.len && memcmp (m.data, text, m.len) == 0,
         "get %s: %s (%zu bytes)", key, rc ? err.message : "other content", m.len);

  if (d->stat) {
    struct rm_object_info st = { sizeof st, -1, -1, "" };
    rc = d->stat (h, key, &st, &err);
    CHECK (rc == RM_OK && st.size == (long long) s.len, "stat %s: %s, size %lld", key,
           rc ? err.message : "ok", st.size);
  }

  char keys[1024];
  list_keys (d, h, keys);
  CHECK (strcmp (keys, key) == 0, "list returned [%s], expected [%s]", keys, key);
  d->close (h);

  /* Durable without a sync: a new handle, and the filesystem, see the record. */
  char file[4096];
  snprintf (file, sizeof file, "%s/%s", argv[2], key);
  struct stat sb;
  CHECK (stat (file, &sb) == 0 && sb.st_size == (off_t) s.len,
         "%s is not on disk after close", file);
  rc = d->open (&table.host, config, &h, &err);
  CHECK (rc == RM_OK, "second open: %s", err.message);
  if (rc == RM_OK) {
    m.len = 0;
    rc = d->get (h, key, &w, NULL, &err);
    CHECK (rc == RM_OK && m.len == s.len, "get after reopening: %s", err.message);
    rc = d->remove (h, key, &err);
    CHECK (rc == RM_OK, "remove %s: %s", key, err.message);
    rc = d->get (h, key, &w, NULL, &err);
    CHECK (rc == RM_E_NOT_FOUND, "get after remove: %s", rm_strerror (rc));
    list_keys (d, h, keys);
    CHECK (keys[0] == '\0', "list after remove returned [%s]", keys);
    d->close (h);
  }
  dlclose (dl);
  if (failures)
    return 1;
  fprintf (stderr, "host10: ok\n");
  return 0;
}
