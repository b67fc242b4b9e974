/* The opened-backend wrapper: option resolution against the plugin's key table, the
 * host services table, thread-model locking, the --path key prefix, and error context.
 * Every call into a plugin from the core goes through here. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend_wrap.h"
#include "base/error.h"
#include "base/log.h"
#include "base/seal.h"

struct backend {
  struct plugin *plugin;
  struct rm_kv *config;
  char *prefix;               /* "" or "p/" */
  void *handle;
  pthread_mutex_t lock;       /* RM_THREAD_SERIALIZE_HANDLE */
  struct rm_host host;
  atomic_int dirty;           /* a put or remove since the last sync (RM_OPEN_BARRIER) */
  backend_observer_fn observer;   /* set before the backend is shared */
  void *observer_ud;
  const struct seal_key *seal;    /* objects sealed with it, but those of plain_keys */
  const char *const *plain_keys;
};

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;  /* SERIALIZE_ALL */
static volatile sig_atomic_t stop_requested;

void
backend_request_stop (void)
{
  stop_requested = 1;
}

bool
backend_stop_requested (void)
{
  return stop_requested != 0;
}

/* ---- options ---- */

void
backend_opts_add (struct backend_opts *o, const char *key, const char *value, const char *origin)
{
  o->items = xrealloc (o->items, (o->n + 1) * sizeof *o->items);
  o->items[o->n].key = xstrdup (key);
  o->items[o->n].value = xstrdup (value);
  o->items[o->n].origin = xstrdup (origin);
  o->n++;
}

void
backend_opts_free (struct backend_opts *o)
{
  for (size_t i = 0; i < o->n; i++) {
    free (o->items[i].key);
    free (o->items[i].value);
    free (o->items[i].origin);
  }
  free (o->items);
  o->items = NULL;
  o->n = 0;
}

static bool
parse_ll (const char *s, long long *out)
{
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno || end == s || *end)
    return false;
  *out = v;
  return true;
}

/* The normalized text, or NULL with *why set to a static reason. */
static char *
normalize (int type, const char *value, const char **why)
{
  switch (type) {
  case RM_KEY_STRING:
    return xstrdup (value);
  case RM_KEY_PATH: {
    if (!*value) {
      *why = "an empty path";
      return NULL;
    }
    if (value[0] == '/')
      return xstrdup (value);
    char cwd[PATH_MAX];
    if (!getcwd (cwd, sizeof cwd)) {
      *why = "a relative path, and the current directory is unknown";
      return NULL;
    }
    if (strcmp (value, ".") == 0)
      return xstrdup (cwd);
    return xasprintf ("%s/%s", strcmp (cwd, "/") == 0 ? "" : cwd,
                      str_has_prefix (value, "./") ? value + 2 : value);
  }
  case RM_KEY_BOOL: {
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < ARRAY_SIZE (yes); i++) {
      if (strcasecmp (value, yes[i]) == 0)
        return xstrdup ("true");
      if (strcasecmp (value, no[i]) == 0)
        return xstrdup ("false");
    }
    *why = "not a boolean (use true or false)";
    return NULL;
  }
  case RM_KEY_INT: {
    long long v;
    if (!parse_ll (value, &v)) {
      *why = "not an integer";
      return NULL;
    }
    return xasprintf ("%lld", v);
  }
  case RM_KEY_SIZE: {
    static const struct { const char *suffix; int shift; } units[] = {
      { "", 0 }, { "b", 0 },
      { "k", 10 }, { "kb", 10 }, { "kib", 10 },
      { "m", 20 }, { "mb", 20 }, { "mib", 20 },
      { "g", 30 }, { "gb", 30 }, { "gib", 30 },
      { "t", 40 }, { "tb", 40 }, { "tib", 40 },
    };
    char *end;
    errno = 0;
    unsigned long long v = strtoull (value, &end, 10);
    if (errno || end == value || value[0] == '-') {
      *why = "not a size (use e.g. 8388608, 8M or 8MiB)";
      return NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE (units); i++)
      if (strcasecmp (end, units[i].suffix) == 0) {
        if (units[i].shift && v > (ULLONG_MAX >> 1) >> units[i].shift) {
          *why = "too large";
          return NULL;
        }
        return xasprintf ("%llu", v << units[i].shift);
      }
    *why = "not a size (use e.g. 8388608, 8M or 8MiB)";
    return NULL;
  }
  }
  *why = "of an unknown type";
  return NULL;
}

int
backend_normalize_value (int type, const char *value, char **out, struct rm_error *err)
{
  const char *why = NULL;
  *out = normalize (type, value, &why);
  return *out ? RM_OK : err_set (err, RM_E_INVALID, "%s", why);
}

struct rm_kv *
backend_resolve_config (const struct plugin *p, const struct backend_opts *given,
                        struct rm_error *err)
{
  const char *name = p->desc.name;
  /* Every given key must be declared. */
  for (size_t i = 0; i < given->n; i++)
    if (!plugin_key (p, given->items[i].key)) {
      struct strbuf sb = STRBUF_INIT;
      strbuf_printf (&sb, "backend '%s' has no option '%s' (from %s)", name,
                     given->items[i].key, given->items[i].origin);
      if (p->nkeys) {
        strbuf_puts (&sb, "; its options are: ");
        for (size_t k = 0; k < p->nkeys; k++)
          strbuf_printf (&sb, "%s%s", k ? ", " : "", p->keys[k].name);
      }
      else
        strbuf_puts (&sb, "; it takes no options");
      err_set (err, RM_E_CONFIG, "%s", sb.data);
      strbuf_free (&sb);
      return NULL;
    }

  struct rm_kv *kv = xcalloc (p->nkeys + 1, sizeof *kv);
  for (size_t k = 0; k < p->nkeys; k++) {
    const struct rm_config_key *key = &p->keys[k];
    const struct backend_opt *win = NULL;
    for (size_t i = 0; i < given->n && !win; i++)
      if (plugin_key (p, given->items[i].key) == key)
        win = &given->items[i];
    kv[k].key = xstrdup (key->name);
    const char *raw = win ? win->value : key->default_value;
    if (raw) {
      char *norm;
      struct rm_error nerr;
      if (backend_normalize_value (key->type, raw, &norm, &nerr) != RM_OK) {
        const char *why = nerr.message;
        if (key->flags & RM_KEY_SECRET)
          err_set (err, RM_E_CONFIG, "backend '%s': option '%s'%s%s: the value is %s", name,
                   key->name, win ? " from " : " default", win ? win->origin : "", why);
        else
          err_set (err, RM_E_CONFIG, "backend '%s': option '%s'%s%s: '%s' is %s", name,
                   key->name, win ? " from " : " default", win ? win->origin : "", raw, why);
        kv[k].value = NULL;
        backend_config_free (kv);
        return NULL;
      }
      kv[k].value = norm;
      if (key->flags & RM_KEY_SECRET)
        log_add_secret (norm);
    }
    else if (key->flags & RM_KEY_REQUIRED) {
      if (strcmp (key->name, RM_PATH_KEY) == 0)
        err_set (err, RM_E_CONFIG, "backend '%s' needs --path (%s)", name, key->help);
      else
        err_set (err, RM_E_CONFIG, "backend '%s' needs option '%s' (%s): give --backend-opt "
                 "%s=VALUE, or --%s VALUE after the backend name", name, key->name, key->help,
                 key->name, key->name);
      backend_config_free (kv);
      return NULL;
    }
  }
  return kv;
}

void
backend_config_free (struct rm_kv *config)
{
  if (!config)
    return;
  for (struct rm_kv *c = config; c->key; c++) {
    free ((char *) c->key);
    free ((char *) c->value);
  }
  free (config);
}

/* ---- host services ---- */

static void host_log (const struct rm_host *host, int level, const char *fmt, ...)
  __attribute__((format (printf, 3, 4)));

static void
host_log (const struct rm_host *host, int level, const char *fmt, ...)
{
  const struct backend *b = host->host_data;
  struct strbuf sb = STRBUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&sb, fmt, ap);
  va_end (ap);
  log_msg (level, "%s: %s", b->plugin->desc.name, sb.data);
  strbuf_free (&sb);
}

static int
host_should_stop (const struct rm_host *host)
{
  (void) host;
  return stop_requested != 0;
}

/* ---- --debug: one line per plugin call ---- */

/* The start of a traced call in ms, or -1 when debug logging is off (then no clock is
 * read and trace_end prints nothing). */
static double
trace_start (void)
{
  if (log_get_level () < RM_LOG_DEBUG)
    return -1;
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

/* "backend local: put releases/a/b/1.json.gz: ok (0.4 ms)"; what is the full key (or
 * another description of the call's object) and may be NULL; extra, when not NULL,
 * follows the result (", 12 keys, more").  Never a value: secrets cannot reach it,
 * and the line passes the redactor anyway. */
static void
trace_end (const struct backend *b, double t0, const char *op, const char *what, int rc,
           const char *extra)
{
  if (t0 < 0)
    return;
  double ms = trace_start () - t0;
  const char *name = rc == RM_OK ? "ok" : err_name (rc);
  char code[32];
  if (!name) {
    snprintf (code, sizeof code, "error %d", rc);
    name = code;
  }
  log_debug ("backend %s: %s%s%s: %s%s (%.1f ms)", b->plugin->desc.name, op, what ? " " : "",
             what ? what : "", name, extra ? extra : "", ms < 0 ? 0.0 : ms);
}

/* ---- open / close ---- */

struct backend *
backend_open (struct plugin *p, struct rm_kv *config, const char *prefix, unsigned flags,
              struct rm_error *err)
{
  struct backend *b = xcalloc (1, sizeof *b);
  b->plugin = p;
  b->config = config;
  b->prefix = prefix && *prefix ? xasprintf ("%s/", prefix) : xstrdup ("");
  /* Tolerate "p/" and "/p" from users: keys never start with or double a '/'. */
  while (b->prefix[0] == '/')
    memmove (b->prefix, b->prefix + 1, strlen (b->prefix));
  size_t pl = strlen (b->prefix);
  while (pl >= 2 && b->prefix[pl - 2] == '/')
    b->prefix[--pl] = '\0';
  if (strcmp (b->prefix, "/") == 0)
    b->prefix[0] = '\0';
  pthread_mutex_init (&b->lock, NULL);
  b->host.struct_size = sizeof b->host;
  b->host.abi_major = RM_BACKEND_ABI_MAJOR;
  b->host.abi_minor = RM_BACKEND_ABI_MINOR;
  b->host.version = PACKAGE_VERSION;
  b->host.user_agent = PACKAGE_NAME "/" PACKAGE_VERSION;
  b->host.log = host_log;
  b->host.should_stop = host_should_stop;
  b->host.host_data = b;
  b->host.open_flags = flags;
  b->host.key_prefix = b->prefix;

  struct rm_error oerr = { 0, "" };
  double t0 = trace_start ();
  int rc = p->desc.open (&b->host, config, &b->handle, &oerr);
  trace_end (b, t0, "open", flags & RM_OPEN_READONLY ? "(read-only)"
             : flags & RM_OPEN_BARRIER ? "(barrier)" : NULL, rc, NULL);
  if (rc != RM_OK) {
    if (rc < 0 || rc > RM_E_LAST_)
      rc = RM_E_INTERNAL;   /* plugins return primaries only (see finish) */
    log_redact (oerr.message, sizeof oerr.message);
    err_set (err, rc, "%s: %s", p->desc.name, oerr.message[0] ? oerr.message : rm_strerror (rc));
    b->handle = NULL;
    backend_close (b);
    return NULL;
  }
  return b;
}

void
backend_close (struct backend *b)
{
  if (!b)
    return;
  if (b->handle) {
    struct rm_error serr = { 0, "" };
    if (backend_sync (b, &serr) != RM_OK)
      log_msg (RM_LOG_ERROR, "%s", serr.message);
    b->plugin->desc.close (b->handle);
  }
  pthread_mutex_destroy (&b->lock);
  backend_config_free (b->config);
  free (b->prefix);
  plugin_unload (b->plugin);
  free (b);
}

char *
backend_beside_path (const struct backend *b, const char *sub)
{
  const char *v = b->plugin->has_path_key ? rm_config_get (b->config, RM_PATH_KEY) : NULL;
  if (!v || !*v)
    return NULL;
  size_t vl = strlen (v);
  while (vl > 1 && v[vl - 1] == '/')
    vl--;
  struct stat st;
  if (stat (v, &st) == 0 && S_ISDIR (st.st_mode))
    return xasprintf ("%.*s/%s", (int) vl, v, sub);
  /* A store that is one file (a database): beside it, "FILE.SUB" with '/' as '-'. */
  char *r = xasprintf ("%.*s.%s", (int) vl, v, sub);
  for (char *c = r + vl + 1; *c; c++)
    if (*c == '/')
      *c = '-';
  return r;
}

struct backend *
backend_open_beside (struct backend *b, const char *sub, unsigned flags, struct rm_error *err)
{
  struct plugin *p = plugin_load (b->plugin->path, b->plugin->desc.name, err);
  if (!p)
    return NULL;
  char *path = backend_beside_path (b, sub);
  size_t n = 0;
  while (b->config[n].key)
    n++;
  struct rm_kv *kv = xcalloc (n + 1, sizeof *kv);
  for (size_t i = 0; i < n; i++) {
    kv[i].key = xstrdup (b->config[i].key);
    kv[i].value = path && strcmp (kv[i].key, RM_PATH_KEY) == 0 ? xstrdup (path)
                  : xstrdup_or_null (b->config[i].value);
  }
  char *prefix = path ? xstrdup (b->prefix) : xasprintf ("%s%s", b->prefix, sub);
  struct backend *nb = backend_open (p, kv, prefix, flags, err);
  free (prefix);
  free (path);
  return nb;
}

const struct plugin *backend_plugin (const struct backend *b) { return b->plugin; }
const char *backend_name (const struct backend *b) { return b->plugin->desc.name; }
bool backend_has_stat (const struct backend *b) { return b->plugin->desc.stat != NULL; }
bool backend_has_remove_many (const struct backend *b) { return b->plugin->desc.remove_many; }
bool backend_has_sync (const struct backend *b) { return b->plugin->desc.sync != NULL; }

uint64_t
backend_caps (struct backend *b)
{
  if (b->plugin->desc.capabilities)
    return b->plugin->desc.capabilities (b->handle);
  return b->plugin->desc.caps;
}

unsigned
backend_max_parallel (const struct backend *b, unsigned wanted)
{
  if (b->plugin->desc.thread_model != RM_THREAD_PARALLEL)
    return 1;
  return wanted ? wanted : 1;
}

char *
backend_describe (struct backend *b)
{
  char buf[1024] = "";
  if (b->plugin->desc.describe && b->plugin->desc.describe (b->handle, buf, sizeof buf) == 0
      && buf[0]) {
    log_redact (buf, sizeof buf);
    return xstrdup (buf);
  }
  return xstrdup (b->plugin->desc.name);
}

/* ---- operations ---- */

static void
enter (struct backend *b)
{
  if (b->plugin->desc.thread_model == RM_THREAD_SERIALIZE_ALL)
    pthread_mutex_lock (&global_lock);
  else if (b->plugin->desc.thread_model == RM_THREAD_SERIALIZE_HANDLE)
    pthread_mutex_lock (&b->lock);
}

static void
leave (struct backend *b)
{
  if (b->plugin->desc.thread_model == RM_THREAD_SERIALIZE_ALL)
    pthread_mutex_unlock (&global_lock);
  else if (b->plugin->desc.thread_model == RM_THREAD_SERIALIZE_HANDLE)
    pthread_mutex_unlock (&b->lock);
}

static char *
full_key (const struct backend *b, const char *key)
{
  return xasprintf ("%s%s", b->prefix, key ? key : "");
}

/* Normalize the plugin's result: code in err, message with context, secrets redacted. */
void
backend_set_observer (struct backend *b, backend_observer_fn fn, void *ud)
{
  b->observer = fn;
  b->observer_ud = ud;
}

static int
finish (struct backend *b, int rc, const char *op, const char *key, struct rm_error *err)
{
  if (b->observer)
    b->observer (b->observer_ud, op, rc < 0 || rc > RM_E_LAST_ ? RM_E_INTERNAL : rc);
  if (rc == RM_OK)
    return RM_OK;
  /* Plugins speak primary codes only (extended codes are the core's); anything else is a
   * plugin bug, reported as one rather than passed on for a caller to misread. */
  int bad = rc < 0 || rc > RM_E_LAST_ ? rc : 0;
  if (bad)
    rc = RM_E_INTERNAL;
  if (!err)
    return rc;
  if (bad) {
    char was[RM_ERROR_MESSAGE_MAX];
    snprintf (was, sizeof was, "%s", err->message[0] ? err->message : "no message");
    rm_error_set (err, rc, "invalid error code %d (%s)", bad, was);
  }
  struct strbuf sb = STRBUF_INIT;
  strbuf_printf (&sb, "%s: %s%s%s: %s", b->plugin->desc.name, op, key ? " " : "", key ? key : "",
                 err->message[0] ? err->message : rm_strerror (rc));
  size_t n = sb.len < sizeof err->message - 1 ? sb.len : sizeof err->message - 1;
  memcpy (err->message, sb.data, n);
  err->message[n] = '\0';
  strbuf_free (&sb);
  err->code = rc;
  log_redact (err->message, sizeof err->message);
  return rc;
}

static void
clear_err (struct rm_error *err)
{
  if (err) {
    err->code = 0;
    err->message[0] = '\0';
  }
}

static bool
is_plain_key (const struct backend *b, const char *key)
{
  for (const char *const *p = b->plain_keys; p && *p; p++)
    if (strcmp (*p, key) == 0)
      return true;
  return false;
}

static bool
sealed (const struct backend *b, const char *key)
{
  /* The plain keys first: the lock's renewal thread never reads b->seal, which rekey
   * changes between its own calls. */
  return !is_plain_key (b, key) && b->seal;
}

static int
put_raw (struct backend *b, const char *key, const struct rm_reader *reader,
         const struct rm_put_options *opts, struct rm_object_info *info, struct rm_error *err)
{
  char *k = full_key (b, key);
  clear_err (err);
  int rc;
  if (opts && ((opts->flags & RM_PUT_IF_NONE_MATCH) || opts->if_match)
      && !(backend_caps (b) & RM_CAP_CONDITIONAL_PUT))
    rc = rm_error_set (err, RM_E_UNSUPPORTED, "conditional writes are not supported by this "
                       "backend");
  else {
    double t0 = trace_start ();
    enter (b);
    b->dirty = 1;
    rc = b->plugin->desc.put (b->handle, k, reader, opts, info, err);
    leave (b);
    trace_end (b, t0, "put", k, rc, NULL);
  }
  rc = finish (b, rc, "put", k, err);
  free (k);
  return rc;
}

static int
get_raw (struct backend *b, const char *key, const struct rm_writer *writer,
         struct rm_object_info *info, struct rm_error *err)
{
  char *k = full_key (b, key);
  clear_err (err);
  double t0 = trace_start ();
  enter (b);
  int rc = b->plugin->desc.get (b->handle, k, writer, info, err);
  leave (b);
  trace_end (b, t0, "get", k, rc, NULL);
  rc = finish (b, rc, "get", k, err);
  free (k);
  return rc;
}

int
backend_stat (struct backend *b, const char *key, struct rm_object_info *info,
              struct rm_error *err)
{
  char *k = full_key (b, key);
  clear_err (err);
  int rc;
  if (!b->plugin->desc.stat)
    rc = rm_error_set (err, RM_E_UNSUPPORTED, "stat is not supported by this backend");
  else {
    double t0 = trace_start ();
    enter (b);
    rc = b->plugin->desc.stat (b->handle, k, info, err);
    leave (b);
    trace_end (b, t0, "stat", k, rc, NULL);
  }
  rc = finish (b, rc, "stat", k, err);
  free (k);
  return rc;
}

int
backend_remove (struct backend *b, const char *key, struct rm_error *err)
{
  char *k = full_key (b, key);
  clear_err (err);
  double t0 = trace_start ();
  enter (b);
  b->dirty = 1;
  int rc = b->plugin->desc.remove (b->handle, k, err);
  leave (b);
  trace_end (b, t0, "delete", k, rc, NULL);
  rc = finish (b, rc, "delete", k, err);
  free (k);
  return rc;
}

int
backend_remove_many (struct backend *b, const char *const *keys, size_t n, int *codes,
                     struct rm_error *err)
{
  clear_err (err);
  if (!b->plugin->desc.remove_many) {
    int first = RM_OK;
    for (size_t i = 0; i < n; i++) {
      struct rm_error e = { 0, "" };
      codes[i] = backend_remove (b, keys[i], &e);
      if (codes[i] != RM_OK && codes[i] != RM_E_NOT_FOUND && first == RM_OK && err) {
        first = codes[i];
        *err = e;
      }
    }
    return RM_OK;
  }
  char **full = xcalloc (n, sizeof *full);
  for (size_t i = 0; i < n; i++)
    full[i] = full_key (b, keys[i]);
  double t0 = trace_start ();
  enter (b);
  b->dirty = 1;
  int rc = b->plugin->desc.remove_many (b->handle, (const char *const *) full, n, codes, err);
  leave (b);
  if (t0 >= 0) {
    char what[64];
    snprintf (what, sizeof what, "of %zu keys", n);
    trace_end (b, t0, "batch delete", what, rc, NULL);
  }
  rc = finish (b, rc, "delete", NULL, err);
  for (size_t i = 0; i < n; i++) {
    if (rc == RM_OK && (codes[i] < 0 || codes[i] > RM_E_LAST_))
      codes[i] = RM_E_INTERNAL;   /* as finish() does for the call's own code */
    free (full[i]);
  }
  free (full);
  return rc;
}

struct strip_ctx {
  size_t prefix_len;
  rm_list_emit_fn emit;
  void *opaque;
  size_t emitted;             /* for --debug */
};

static int
sync_call (struct backend *b, bool always, struct rm_error *err)
{
  clear_err (err);
  if (!b->plugin->desc.sync || !(b->host.open_flags & RM_OPEN_BARRIER) || (!b->dirty && !always))
    return RM_OK;
  double t0 = trace_start ();
  enter (b);
  b->dirty = 0;
  int rc = b->plugin->desc.sync (b->handle, err);
  if (rc != RM_OK)
    b->dirty = 1;
  leave (b);
  trace_end (b, t0, "sync", NULL, rc, NULL);
  return finish (b, rc, "sync", NULL, err);
}

int
backend_sync (struct backend *b, struct rm_error *err)
{
  return sync_call (b, false, err);
}

int
backend_sync_always (struct backend *b, struct rm_error *err)
{
  return sync_call (b, true, err);
}

static int
strip_emit (void *opaque, const struct rm_list_entry *e)
{
  struct strip_ctx *c = opaque;
  struct rm_list_entry copy = *e;
  if (strlen (e->key) < c->prefix_len)
    return 0;   /* cannot happen with a correct plugin */
  copy.key = e->key + c->prefix_len;
  c->emitted++;
  return c->emit (c->opaque, &copy);
}

int
backend_list (struct backend *b, const char *prefix, const char *token, unsigned max_keys,
              rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
              struct rm_error *err)
{
  char *k = full_key (b, prefix);
  struct strip_ctx ctx = { strlen (b->prefix), emit, opaque, 0 };
  clear_err (err);
  next_token[0] = '\0';
  double t0 = trace_start ();
  enter (b);
  int rc = b->plugin->desc.list (b->handle, k, token, max_keys, strip_emit, &ctx, next_token,
                                 next_token_size, err);
  leave (b);
  if (t0 >= 0) {
    char extra[64];
    snprintf (extra, sizeof extra, ", %zu keys%s", ctx.emitted,
              rc == RM_OK && next_token[0] ? ", more" : "");
    trace_end (b, t0, "list", k[0] ? k : "(all keys)", rc, extra);
  }
  rc = finish (b, rc, "list", k[0] ? k : "(all keys)", err);
  free (k);
  return rc;
}

int
backend_list_all (struct backend *b, const char *prefix, rm_list_emit_fn emit, void *opaque,
                  struct rm_error *err)
{
  char *token = xcalloc (1, RM_LIST_TOKEN_MAX);
  char *next = xcalloc (1, RM_LIST_TOKEN_MAX);
  int rc;
  for (;;) {
    rc = backend_list (b, prefix, token, 0, emit, opaque, next, RM_LIST_TOKEN_MAX, err);
    if (rc != RM_OK || !next[0])
      break;
    if (strcmp (next, token) == 0) {
      rc = rm_error_set (err, RM_E_INTERNAL, "%s: list returned the same continuation token "
                         "twice", backend_name (b));
      break;
    }
    char *t = token;
    token = next;
    next = t;
  }
  free (token);
  free (next);
  return rc;
}

/* ---- whole objects in memory ---- */

struct mem_reader {
  const unsigned char *data;
  size_t len, pos;
};

static long long
mem_read (void *opaque, void *buf, size_t len)
{
  struct mem_reader *m = opaque;
  size_t n = m->len - m->pos < len ? m->len - m->pos : len;
  memcpy (buf, m->data + m->pos, n);
  m->pos += n;
  return (long long) n;
}

static int
mem_rewind (void *opaque)
{
  ((struct mem_reader *) opaque)->pos = 0;
  return 0;
}

int
backend_put_mem (struct backend *b, const char *key, const void *data, size_t len,
                 const struct rm_put_options *opts, struct rm_object_info *info,
                 struct rm_error *err)
{
  if (sealed (b, key)) {
    /* Encrypted as the plugin reads: no copy of the object is made. */
    struct seal_reader s;
    int rc = seal_reader_init (&s, b->seal, key, data, len, err);
    if (rc != RM_OK)
      return rc;
    struct rm_reader r = { seal_reader_read, seal_reader_rewind,
                           (long long) (len + SEAL_OVERHEAD), &s };
    rc = put_raw (b, key, &r, opts, info, err);
    seal_reader_free (&s);
    return rc;
  }
  struct mem_reader m = { data, len, 0 };
  struct rm_reader r = { mem_read, mem_rewind, (long long) len, &m };
  return put_raw (b, key, &r, opts, info, err);
}

static int
sb_write (void *opaque, const void *buf, size_t len)
{
  strbuf_add (opaque, buf, len);
  return 0;
}

static int
sb_reset (void *opaque)
{
  struct strbuf *sb = opaque;
  sb->len = 0;
  if (sb->data)
    sb->data[0] = '\0';
  return 0;
}

int
backend_get_mem (struct backend *b, const char *key, struct strbuf *out,
                 struct rm_object_info *info, struct rm_error *err)
{
  struct rm_writer w = { sb_write, sb_reset, out };
  sb_reset (out);
  int rc = get_raw (b, key, &w, info, err);
  if (rc != RM_OK)
    return rc;
  if (sealed (b, key)) {
    /* Opened in place: the plaintext takes the sealed bytes' buffer. */
    struct rm_error serr;
    if (seal_open (b->seal, key, (unsigned char *) (out->data ? out->data : ""), &out->len,
                   &serr) != RM_OK) {
      sb_reset (out);
      return err_set (err, serr.code, "%s: %s", key, serr.message);
    }
  } else if (!is_plain_key (b, key)) {
    char id[SEAL_KEY_ID_HEX];
    if (seal_is_sealed (out->data, out->len, id)) {
      sb_reset (out);
      return err_set (err, RM_E_IO, "%s: the object is encrypted (key id %s); pass "
                      "--encrypt-key-file", key, id);
    }
  }
  return RM_OK;
}

/* Streaming calls on a sealed store go through memory: the whole object is needed before
 * its tag says it may be used. */
int
backend_put (struct backend *b, const char *key, const struct rm_reader *reader,
             const struct rm_put_options *opts, struct rm_object_info *info, struct rm_error *err)
{
  if (!sealed (b, key))
    return put_raw (b, key, reader, opts, info, err);
  struct strbuf sb = STRBUF_INIT;
  char buf[65536];
  long long n;
  while ((n = reader->read (reader->opaque, buf, sizeof buf)) > 0)
    strbuf_add (&sb, buf, (size_t) n);
  int rc = n < 0 ? err_set (err, RM_E_ABORTED, "put %s: reading the data failed", key)
                 : backend_put_mem (b, key, sb.data ? sb.data : "", sb.len, opts, info, err);
  strbuf_free (&sb);
  return rc;
}

int
backend_get (struct backend *b, const char *key, const struct rm_writer *writer,
             struct rm_object_info *info, struct rm_error *err)
{
  if (!sealed (b, key))
    return get_raw (b, key, writer, info, err);
  struct strbuf sb = STRBUF_INIT;
  int rc = backend_get_mem (b, key, &sb, info, err);
  if (rc == RM_OK && sb.len && writer->write (writer->opaque, sb.data, sb.len) != 0)
    rc = err_set (err, RM_E_ABORTED, "get %s: writing the data failed", key);
  strbuf_free (&sb);
  return rc;
}

void
backend_set_seal (struct backend *b, const struct seal_key *k, const char *const *plain_keys)
{
  b->seal = k;
  b->plain_keys = plain_keys;
}

const struct seal_key *
backend_seal (const struct backend *b)
{
  return b->seal;
}

int
backend_sealed_key_id (struct backend *b, const char *key, char *id_hex, struct rm_error *err)
{
  struct strbuf sb = STRBUF_INIT;
  struct rm_writer w = { sb_write, sb_reset, &sb };
  id_hex[0] = '\0';
  int rc = get_raw (b, key, &w, NULL, err);
  if (rc == RM_OK && !seal_is_sealed (sb.data, sb.len, id_hex))
    id_hex[0] = '\0';
  strbuf_free (&sb);
  return rc;
}
