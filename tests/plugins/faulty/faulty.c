/* faulty: a backend that wraps another plugin and makes chosen calls fail, for the fault
 * campaign (tests/faults/) and the tests that need a store failing at a given point.
 *
 *   --backend faulty --backend-opt inner=/path/to/local.so
 *                    --backend-opt inner_options=path=/srv/store,fsync=true
 *                    --backend-opt fail=put:5:nospace,sync:1+,get:p0.1:io
 *
 * fail is a comma-separated list of OP:WHEN[:CODE[:after]]:
 *   OP    put, get, list, remove, remove_many, stat, sync, or any
 *   WHEN  N (the Nth call of OP, from 1), N+ (the Nth and every later call), or pF (each
 *         call with probability F, from the seed option)
 *   CODE  nospace, io (default), transient, auth, permission, notfound, aborted, or hang:
 *         the call never returns (logged first), for a test that kills the process there
 *   after the call reaches the inner plugin first, then reports the failure (a reply lost
 *         after the store acted: a put that was stored, a delete that happened)
 * Calls are counted per OP over the handle's life.  Every injected failure is logged at
 * warning level ("faulty: injected nospace into put #5 KEY"), so a campaign can tell an
 * injected failure from a real one.  inner_options values cannot contain ','. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <releasemanager/backend.h>

enum op { OP_PUT, OP_GET, OP_LIST, OP_REMOVE, OP_REMOVE_MANY, OP_STAT, OP_SYNC, OP_N_ };
static const char *const op_names[OP_N_] = {
  "put", "get", "list", "remove", "remove_many", "stat", "sync",
};

struct rule {
  int op;                 /* enum op, or -1 for any */
  long long n;            /* the Nth call, or 0 with prob */
  int from;               /* N+ */
  double prob;            /* pF */
  int code;
  int after;
};

struct faulty {
  const struct rm_host *host;
  void *dl;
  const struct rm_backend *in;
  void *ih;                       /* the inner handle */
  struct rm_kv *iconf;            /* the inner's configuration */
  char *istore;                   /* strings of iconf */
  struct rule *rules;
  size_t nrules;
  atomic_llong calls[OP_N_];
  pthread_mutex_t lock;           /* serializes calls when the inner asks for it, and rand */
  int serialize;
  unsigned seed;
};

static const struct rm_config_key faulty_keys[] = {
  { "inner", RM_KEY_PATH, NULL, "the plugin (.so) to wrap", RM_KEY_REQUIRED, NULL },
  { "inner_options", RM_KEY_STRING, "", "its options, KEY=VALUE,...", 0, NULL },
  { "fail", RM_KEY_STRING, "", "the calls to fail: OP:WHEN[:CODE[:after]],...", 0, NULL },
  { "seed", RM_KEY_INT, "1", "seed of the pF rules", 0, NULL },
  { NULL, 0, NULL, NULL, 0, NULL },
};

/* Not a code: the call blocks for good (the test kills the process). */
#define CODE_HANG 0x7fff

static int
code_of (const char *s)
{
  static const struct { const char *name; int code; } t[] = {
    { "nospace", RM_E_NOSPACE }, { "io", RM_E_IO }, { "transient", RM_E_TRANSIENT },
    { "auth", RM_E_AUTH }, { "permission", RM_E_PERMISSION }, { "notfound", RM_E_NOT_FOUND },
    { "aborted", RM_E_ABORTED }, { "hang", CODE_HANG },
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp (s, t[i].name) == 0)
      return t[i].code;
  return -1;
}

/* Parse one OP:WHEN[:CODE[:after]] (modified in place). */
static int
parse_rule (char *s, struct rule *r, struct rm_error *err)
{
  char *part[4] = { NULL, NULL, NULL, NULL };
  int n = 0;
  for (char *p = s; n < 4; n++) {
    part[n] = p;
    p = strchr (p, ':');
    if (!p) {
      n++;
      break;
    }
    *p++ = '\0';
  }
  if (n < 2)
    return rm_error_set (err, RM_E_CONFIG, "fail: '%s': expected OP:WHEN[:CODE[:after]]", s);
  memset (r, 0, sizeof *r);
  r->op = -2;
  if (strcmp (part[0], "any") == 0)
    r->op = -1;
  for (int i = 0; i < OP_N_; i++)
    if (strcmp (part[0], op_names[i]) == 0)
      r->op = i;
  if (r->op == -2)
    return rm_error_set (err, RM_E_CONFIG, "fail: unknown operation '%s'", part[0]);
  char *end;
  if (part[1][0] == 'p') {
    r->prob = strtod (part[1] + 1, &end);
    if (end == part[1] + 1 || *end || r->prob < 0 || r->prob > 1)
      return rm_error_set (err, RM_E_CONFIG, "fail: '%s' is not a probability", part[1]);
  }
  else {
    r->n = strtoll (part[1], &end, 10);
    if (end == part[1] || r->n < 1 || (*end && strcmp (end, "+") != 0))
      return rm_error_set (err, RM_E_CONFIG, "fail: '%s' is not N or N+", part[1]);
    r->from = *end == '+';
  }
  r->code = RM_E_IO;
  if (n >= 3 && (r->code = code_of (part[2])) < 0)
    return rm_error_set (err, RM_E_CONFIG, "fail: unknown code '%s'", part[2]);
  if (n >= 4) {
    if (strcmp (part[3], "after") != 0)
      return rm_error_set (err, RM_E_CONFIG, "fail: '%s': expected 'after'", part[3]);
    r->after = 1;
  }
  return RM_OK;
}

/* Build the inner plugin's configuration from inner_options, with its defaults. */
static int
inner_config (struct faulty *f, const char *opts, struct rm_error *err)
{
  const struct rm_backend *in = f->in;
  size_t nkeys = 0;
  const char *base = (const char *) in->config_keys;
  for (; base && ((const struct rm_config_key *) (base + nkeys * in->config_key_size))->name; nkeys++)
    ;
  f->istore = strdup (opts);
  f->iconf = calloc (nkeys + 1, sizeof *f->iconf);
  if (!f->istore || !f->iconf)
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
  for (size_t i = 0; i < nkeys; i++) {
    const struct rm_config_key *k = (const void *) (base + i * in->config_key_size);
    f->iconf[i].key = k->name;
    f->iconf[i].value = k->default_value;
  }
  for (char *save = NULL, *kv = strtok_r (f->istore, ",", &save); kv;
       kv = strtok_r (NULL, ",", &save)) {
    char *eq = strchr (kv, '=');
    if (!eq)
      return rm_error_set (err, RM_E_CONFIG, "inner_options: '%s' is not KEY=VALUE", kv);
    *eq = '\0';
    size_t i = 0;
    while (i < nkeys && strcmp (f->iconf[i].key, kv) != 0)
      i++;
    if (i == nkeys)
      return rm_error_set (err, RM_E_CONFIG, "inner_options: %s has no option '%s'", in->name, kv);
    f->iconf[i].value = eq + 1;
  }
  return RM_OK;
}

static void
faulty_close (void *handle)
{
  struct faulty *f = handle;
  if (f->ih)
    f->in->close (f->ih);
  if (f->dl)
    dlclose (f->dl);
  pthread_mutex_destroy (&f->lock);
  free (f->iconf);
  free (f->istore);
  free (f->rules);
  free (f);
}

static int
faulty_open (const struct rm_host *host, const struct rm_kv *config, void **handle,
             struct rm_error *err)
{
  struct faulty *f = calloc (1, sizeof *f);
  if (!f)
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
  f->host = host;
  pthread_mutex_init (&f->lock, NULL);
  const char *seed = rm_config_get (config, "seed");
  f->seed = seed ? (unsigned) strtoul (seed, NULL, 10) : 1;
  int rc = RM_OK;
  const char *path = rm_config_get (config, "inner");
  f->dl = dlopen (path, RTLD_NOW | RTLD_LOCAL);
  rm_backend_init_fn init = f->dl ? (rm_backend_init_fn) dlsym (f->dl, RM_BACKEND_INIT_SYMBOL) : NULL;
  f->in = init ? init () : NULL;
  if (!f->in)
    rc = rm_error_set (err, RM_E_CONFIG, "inner: cannot load %s: %s", path,
                       f->dl ? "no descriptor" : dlerror ());
  else if (f->in->abi_major != RM_BACKEND_ABI_MAJOR || f->in->struct_size < sizeof (struct rm_backend))
    rc = rm_error_set (err, RM_E_CONFIG, "inner: %s is not an ABI %d.%d plugin", path,
                       RM_BACKEND_ABI_MAJOR, RM_BACKEND_ABI_MINOR);
  if (rc == RM_OK)
    rc = inner_config (f, rm_config_get (config, "inner_options"), err);
  const char *spec = rm_config_get (config, "fail");
  char *copy = rc == RM_OK && spec ? strdup (spec) : NULL;
  for (char *save = NULL, *r = copy ? strtok_r (copy, ",", &save) : NULL; r && rc == RM_OK;
       r = strtok_r (NULL, ",", &save)) {
    f->rules = realloc (f->rules, (f->nrules + 1) * sizeof *f->rules);
    rc = parse_rule (r, &f->rules[f->nrules++], err);
  }
  free (copy);
  if (rc == RM_OK) {
    f->serialize = f->in->thread_model != RM_THREAD_PARALLEL;
    rc = f->in->open (host, f->iconf, &f->ih, err);
    if (rc != RM_OK)
      f->ih = NULL;
  }
  if (rc != RM_OK) {
    faulty_close (f);
    return rc;
  }
  *handle = f;
  return RM_OK;
}

/* The injected code for this call of op, or RM_OK; *after: act first, then fail. */
static int
inject (struct faulty *f, enum op op, const char *key, int *after)
{
  long long nth = atomic_fetch_add (&f->calls[op], 1) + 1;
  *after = 0;
  for (size_t i = 0; i < f->nrules; i++) {
    const struct rule *r = &f->rules[i];
    if (r->op != -1 && r->op != (int) op)
      continue;
    int hit;
    if (r->prob > 0) {
      pthread_mutex_lock (&f->lock);
      hit = (double) rand_r (&f->seed) / RAND_MAX < r->prob;
      pthread_mutex_unlock (&f->lock);
    }
    else
      hit = r->from ? nth >= r->n : nth == r->n;
    if (hit) {
      f->host->log (f->host, RM_LOG_WARN, "faulty: injected %s into %s #%lld%s%s%s",
                    rm_strerror (r->code), op_names[op], nth, key ? " " : "", key ? key : "",
                    r->after ? " (after the call)" : "");
      while (r->code == CODE_HANG)
        pause ();
      *after = r->after;
      return r->code;
    }
  }
  return RM_OK;
}

#define ENTER(f) do { if ((f)->serialize) pthread_mutex_lock (&(f)->lock); } while (0)
#define LEAVE(f) do { if ((f)->serialize) pthread_mutex_unlock (&(f)->lock); } while (0)

/* Run CALL unless a failure is injected before it; report the injected failure after
 * it when the rule says so. */
#define FORWARD(f, op, key, call)                                                   \
  do {                                                                              \
    int after_, code_ = inject (f, op, key, &after_);                               \
    int rc_ = RM_OK;                                                                \
    if (code_ == RM_OK || after_) {                                                 \
      ENTER (f);                                                                    \
      rc_ = (call);                                                                 \
      LEAVE (f);                                                                    \
    }                                                                               \
    if (code_ != RM_OK)                                                             \
      return rm_error_set (err, code_, "injected failure (%s)", rm_strerror (code_)); \
    return rc_;                                                                     \
  } while (0)

static int
faulty_put (void *handle, const char *key, const struct rm_reader *reader,
            const struct rm_put_options *opts, struct rm_object_info *info, struct rm_error *err)
{
  struct faulty *f = handle;
  FORWARD (f, OP_PUT, key, f->in->put (f->ih, key, reader, opts, info, err));
}

static int
faulty_get (void *handle, const char *key, const struct rm_writer *writer,
            struct rm_object_info *info, struct rm_error *err)
{
  struct faulty *f = handle;
  FORWARD (f, OP_GET, key, f->in->get (f->ih, key, writer, info, err));
}

static int
faulty_list (void *handle, const char *prefix, const char *token, unsigned max_keys,
             rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
             struct rm_error *err)
{
  struct faulty *f = handle;
  FORWARD (f, OP_LIST, prefix, f->in->list (f->ih, prefix, token, max_keys, emit, opaque,
                                            next_token, next_token_size, err));
}

static int
faulty_remove (void *handle, const char *key, struct rm_error *err)
{
  struct faulty *f = handle;
  FORWARD (f, OP_REMOVE, key, f->in->remove (f->ih, key, err));
}

static int
inner_remove_many (struct faulty *f, const char *const *keys, size_t n, int *codes,
                   struct rm_error *err)
{
  if (f->in->remove_many)
    return f->in->remove_many (f->ih, keys, n, codes, err);
  for (size_t i = 0; i < n; i++) {
    struct rm_error e = { 0, "" };
    codes[i] = f->in->remove (f->ih, keys[i], &e);
  }
  return RM_OK;
}

static int
faulty_remove_many (void *handle, const char *const *keys, size_t n, int *codes,
                    struct rm_error *err)
{
  struct faulty *f = handle;
  FORWARD (f, OP_REMOVE_MANY, NULL, inner_remove_many (f, keys, n, codes, err));
}

static int
faulty_stat (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err)
{
  struct faulty *f = handle;
  if (!f->in->stat)
    return rm_error_set (err, RM_E_UNSUPPORTED, "%s has no stat", f->in->name);
  FORWARD (f, OP_STAT, key, f->in->stat (f->ih, key, info, err));
}

static int
faulty_sync (void *handle, struct rm_error *err)
{
  struct faulty *f = handle;
  FORWARD (f, OP_SYNC, NULL, f->in->sync ? f->in->sync (f->ih, err) : RM_OK);
}

static uint64_t
faulty_capabilities (void *handle)
{
  struct faulty *f = handle;
  return f->in->capabilities ? f->in->capabilities (f->ih) : f->in->caps;
}

static int
faulty_describe (void *handle, char *buf, size_t size)
{
  struct faulty *f = handle;
  char inner[512] = "";
  if (f->in->describe)
    f->in->describe (f->ih, inner, sizeof inner);
  snprintf (buf, size, "faulty over %s", inner[0] ? inner : f->in->name);
  return 0;
}

static const struct rm_backend faulty = {
  RM_BACKEND_PREFIX ("faulty"),
  .version = "1.0",
  .description = "another backend with injected failures (tests only)",
  .thread_model = RM_THREAD_PARALLEL,
  .caps = 0,
  RM_BACKEND_CONFIG (faulty_keys),
  .open = faulty_open,
  .close = faulty_close,
  .put = faulty_put,
  .get = faulty_get,
  .list = faulty_list,
  .remove = faulty_remove,
  .stat = faulty_stat,
  .remove_many = faulty_remove_many,
  .capabilities = faulty_capabilities,
  .describe = faulty_describe,
  .sync = faulty_sync,
};

const struct rm_backend *
rm_backend_init (void)
{
  return &faulty;
}
