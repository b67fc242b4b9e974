/* One source, many broken or unusual plugins for the loader's failure matrix
 * (tests/unit/test_plugin.c).  Each variant is selected with -DVARIANT_x; its name is the
 * file name it is built as.  Where a callback must never run, it aborts the process. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <releasemanager/backend.h>

#ifndef FIXTURE_NAME
#error FIXTURE_NAME must be defined
#endif

/* Proof that code ran: write the marker file named by $RM_FIXTURE_MARKER. */
static void
mark (const char *what)
{
  const char *m = getenv ("RM_FIXTURE_MARKER");
  FILE *f = m ? fopen (m, "a") : NULL;
  if (f) {
    fprintf (f, "%s\n", what);
    fclose (f);
  }
}

static const struct rm_config_key fixture_keys[] = {
  { "user", RM_KEY_STRING, NULL, "user name", RM_KEY_REQUIRED, "userName" },
  { "password", RM_KEY_STRING, NULL, "password", RM_KEY_SECRET, "passWord" },
  { "count", RM_KEY_INT, "3", "a number", 0, NULL },
  { "flag", RM_KEY_BOOL, "false", "a switch", 0, NULL },
  { "size", RM_KEY_SIZE, "1MiB", "a size", 0, NULL },
  { "fail_open", RM_KEY_BOOL, "false", "fail in open, quoting the password", 0, NULL },
  { "token", RM_KEY_STRING, "default-token-VALUE", "a secret with a default", RM_KEY_SECRET, NULL },
#ifdef VARIANT_badkey
  { "Bad-Name", RM_KEY_STRING, NULL, "invalid", 0, NULL },
#endif
  { NULL, 0, NULL, NULL, 0, NULL },
};

struct handle {
  const struct rm_host *host;
};

static int
fixture_open (const struct rm_host *host, const struct rm_kv *config, void **h,
              struct rm_error *err)
{
  mark ("open");
  const char *pw = rm_config_get (config, "password");
  /* Deliberately careless, to prove the core's redaction: */
  host->log (host, RM_LOG_DEBUG, "opening as %s with password %s, count=%s flag=%s size=%s",
             rm_config_get (config, "user"), pw ? pw : "(none)", rm_config_get (config, "count"),
             rm_config_get (config, "flag"), rm_config_get (config, "size"));
  if (strcmp (rm_config_get (config, "fail_open"), "true") == 0)
    return rm_error_set (err, RM_E_AUTH, "login refused for password '%s'", pw ? pw : "");
  struct handle *hd = calloc (1, sizeof *hd);
  hd->host = host;
  *h = hd;
  return RM_OK;
}

static void
fixture_close (void *h)
{
  free (h);
}

__attribute__((unused)) static int
fixture_put (void *h, const char *key, const struct rm_reader *r, const struct rm_put_options *o,
             struct rm_object_info *info, struct rm_error *err)
{
  (void) h; (void) r; (void) o; (void) info;
  return rm_error_set (err, RM_E_IO, "%s: put is not implemented in this fixture", key);
}

static int
fixture_get (void *h, const char *key, const struct rm_writer *w, struct rm_object_info *info,
             struct rm_error *err)
{
  (void) h; (void) w; (void) info;
  return rm_error_set (err, RM_E_NOT_FOUND, "%s: no such key", key);
}

static int
fixture_list (void *h, const char *prefix, const char *token, unsigned max, rm_list_emit_fn emit,
              void *opaque, char *next, size_t next_size, struct rm_error *err)
{
  (void) h; (void) prefix; (void) token; (void) max; (void) emit; (void) opaque; (void) err;
  (void) next_size;
  next[0] = '\0';
  return RM_OK;
}

static int
fixture_remove (void *h, const char *key, struct rm_error *err)
{
  (void) h;
  return rm_error_set (err, RM_E_NOT_FOUND, "%s: no such key", key);
}

/* Beyond an older plugin's struct_size: the core must never call this. */
static int
fixture_stat (void *h, const char *key, struct rm_object_info *info, struct rm_error *err)
{
  (void) h; (void) key; (void) info; (void) err;
#ifdef VARIANT_oldminor
  mark ("stat called beyond struct_size");
  abort ();
#endif
  return RM_E_NOT_FOUND;
}

/* A descriptor from a "future" minor version: ours plus fields we do not know. */
struct future_backend {
  struct rm_backend base;
  void (*future_callback) (void);
  char future_data[64];
};

__attribute__((unused)) static const struct future_backend fixture_backend = {
  .base = {
#if defined(VARIANT_future)
    .struct_size = sizeof (struct future_backend),
    .abi_major = RM_BACKEND_ABI_MAJOR,
    .abi_minor = RM_BACKEND_ABI_MINOR + 7,
    .name = FIXTURE_NAME,
#elif defined(VARIANT_abi2)
    .struct_size = sizeof (struct rm_backend),
    .abi_major = RM_BACKEND_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = FIXTURE_NAME,
#elif defined(VARIANT_smallsize)
    .struct_size = 4,
    .abi_major = RM_BACKEND_ABI_MAJOR,
    .abi_minor = RM_BACKEND_ABI_MINOR,
    .name = FIXTURE_NAME,
#elif defined(VARIANT_oldminor)
    /* As if built before stat and the later optional callbacks existed. */
    .struct_size = offsetof (struct rm_backend, stat),
    .abi_major = RM_BACKEND_ABI_MAJOR,
    .abi_minor = 0,
    .name = FIXTURE_NAME,
#elif defined(VARIANT_badname)
    RM_BACKEND_PREFIX ("someothername"),
#elif defined(VARIANT_noname)
    RM_BACKEND_PREFIX (NULL),
#else
    RM_BACKEND_PREFIX (FIXTURE_NAME),
#endif
    .version = "0.0.1",
    .description = "test fixture " FIXTURE_NAME,
#ifdef VARIANT_badthreads
    .thread_model = 42,
#else
    .thread_model = RM_THREAD_SERIALIZE_HANDLE,
#endif
    .caps = 0,
#ifdef VARIANT_smallkeys
    .config_keys = fixture_keys,
    .config_key_size = 8,
#else
    RM_BACKEND_CONFIG (fixture_keys),
#endif
    .open = fixture_open,
    .close = fixture_close,
#ifndef VARIANT_noput
    .put = fixture_put,
#endif
    .get = fixture_get,
    .list = fixture_list,
    .remove = fixture_remove,
    .stat = fixture_stat,
  },
};

#ifndef VARIANT_noentry
RM_BACKEND_EXPORT const struct rm_backend *
rm_backend_init (void)
{
  mark ("init");
#ifdef VARIANT_nullinit
  return NULL;
#else
  return &fixture_backend.base;
#endif
}
#else
/* Exports something else, so the file is a valid shared object. */
RM_BACKEND_EXPORT int rm_backend_init_typo (void);
RM_BACKEND_EXPORT int rm_backend_init_typo (void) { return (int) sizeof fixture_backend; }
#endif
