/* Finds backend plugins along the search path, loads them with RTLD_NOW | RTLD_LOCAL
 * and validates the descriptor before anything but rm_backend_init() runs: the frozen
 * prefix first (size, ABI major, name), then the required operations and the option
 * table.  Every failure is a message naming the file, the problem and the fix. */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "plugin.h"

/* The 1.0 layout of struct rm_config_key: the smallest stride we accept. */
#define KEY_MIN_SIZE (offsetof (struct rm_config_key, aliases) + sizeof (const char *))
#define MAX_KEYS 256

/* Fill err with code and msg (which is freed), unload p, return NULL. */
static struct plugin *
fail (struct plugin *p, struct rm_error *err, int code, char *msg)
{
  err_set (err, code, "%s", msg);
  free (msg);
  plugin_unload (p);
  return NULL;
}

static const struct err_name plugin_names[] = {
  { PLUGIN_E_NOT_FOUND, "PLUGIN_E_NOT_FOUND", "backend plugin not found" },
  { PLUGIN_E_LOAD, "PLUGIN_E_LOAD", "cannot load backend plugin" },
  { PLUGIN_E_ABI, "PLUGIN_E_ABI", "backend plugin built for another ABI" },
  { PLUGIN_E_INVALID, "PLUGIN_E_INVALID", "not a valid backend plugin" },
  { 0, NULL, NULL }
};
ERR_TABLE (plugin_table, plugin_names)

static bool
valid_name (const char *s, bool allow_dash)
{
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'
          || (allow_dash && *s == '-')))
      return false;
  return true;
}

/* Copy and check the key table, walking it with the plugin's own stride. */
static char *
load_keys (struct plugin *p)
{
  const struct rm_backend *d = &p->desc;
  if (!d->config_keys)
    return NULL;
  if (d->config_key_size < KEY_MIN_SIZE)
    return xasprintf ("%s: config_key_size %zu is smaller than ABI 1.0's struct rm_config_key "
                      "(%zu bytes): rebuild the plugin", p->path, d->config_key_size,
                      (size_t) KEY_MIN_SIZE);
  const char *base = (const char *) d->config_keys;
  size_t copy = d->config_key_size < sizeof (struct rm_config_key)
                ? d->config_key_size : sizeof (struct rm_config_key);
  for (size_t i = 0;; i++) {
    if (i == MAX_KEYS)
      return xasprintf ("%s: option table has no terminating entry (name = NULL) within %d "
                        "entries", p->path, MAX_KEYS);
    struct rm_config_key k;
    memset (&k, 0, sizeof k);
    memcpy (&k, base + i * d->config_key_size, copy);
    if (k.name == NULL)
      break;
    if (!valid_name (k.name, false))
      return xasprintf ("%s: option %zu has an invalid name '%s' (use [a-z0-9_])",
                        p->path, i + 1, k.name);
    if (k.type < RM_KEY_STRING || k.type > RM_KEY_SIZE)
      return xasprintf ("%s: option '%s' has unknown type %d", p->path, k.name, k.type);
    for (size_t j = 0; j < p->nkeys; j++)
      if (strcmp (p->keys[j].name, k.name) == 0)
        return xasprintf ("%s: option '%s' is declared twice", p->path, k.name);
    if (!k.help)
      k.help = "";
    p->keys = xrealloc (p->keys, (p->nkeys + 1) * sizeof *p->keys);
    p->keys[p->nkeys++] = k;
    if (strcmp (k.name, RM_PATH_KEY) == 0)
      p->has_path_key = true;
  }
  return NULL;
}

static const char *
base_name (const char *path)
{
  const char *s = strrchr (path, '/');
  return s ? s + 1 : path;
}

struct plugin *
plugin_load (const char *path, const char *expect_name, struct rm_error *err)
{
  struct plugin *p = xcalloc (1, sizeof *p);
  /* dlopen searches the library path for names without '/': never do that. */
  p->path = strchr (path, '/') ? xstrdup (path) : xasprintf ("./%s", path);

  int fd = open (p->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return fail (p, err, PLUGIN_E_NOT_FOUND, xasprintf ("%s: no such file", p->path));
    return fail (p, err, PLUGIN_E_LOAD, xasprintf ("%s: cannot read: %s", p->path, strerror (e)));
  }
  unsigned char magic[4] = { 0 };
  ssize_t n = read (fd, magic, sizeof magic);
  int e = errno;
  close (fd);
  if (n < 0)
    return fail (p, err, PLUGIN_E_LOAD, xasprintf ("%s: cannot read: %s", p->path, strerror (e)));
  if (n < 4 || memcmp (magic, "\177ELF", 4) != 0)
    return fail (p, err, PLUGIN_E_LOAD,
                 xasprintf ("%s: not an ELF shared object: not a backend plugin",
                            p->path));

  dlerror ();
  p->dl = dlopen (p->path, RTLD_NOW | RTLD_LOCAL);
  if (!p->dl) {
    const char *de = dlerror ();
    return fail (p, err, PLUGIN_E_LOAD,
                 xasprintf ("%s: cannot load: %s", p->path, de ? de : "unknown error"));
  }
  rm_backend_init_fn init;
  void *sym = dlsym (p->dl, RM_BACKEND_INIT_SYMBOL);
  memcpy (&init, &sym, sizeof init);   /* object pointer -> function pointer, POSIX-style */
  if (!init)
    return fail (p, err, PLUGIN_E_INVALID,
                 xasprintf ("%s: no %s() entry point: not a releasemanager backend "
                            "plugin", p->path, RM_BACKEND_INIT_SYMBOL));
  const struct rm_backend *d = init ();
  if (!d)
    return fail (p, err, PLUGIN_E_INVALID,
                 xasprintf ("%s: %s() returned NULL", p->path, RM_BACKEND_INIT_SYMBOL));

  /* The frozen prefix: nothing beyond it is read from a foreign major. */
  if (d->struct_size < RM_BACKEND_PREFIX_SIZE)
    return fail (p, err, PLUGIN_E_INVALID,
                 xasprintf ("%s: descriptor struct_size %u is smaller than the ABI "
                            "prefix (%zu bytes): not a valid backend plugin", p->path,
                            (unsigned) d->struct_size, (size_t) RM_BACKEND_PREFIX_SIZE));
  if (d->abi_major != RM_BACKEND_ABI_MAJOR)
    return fail (p, err, PLUGIN_E_ABI,
                 xasprintf ("%s: built for backend ABI %u.%u, this releasemanager "
                            "provides %d.%d: rebuild the plugin against this "
                            "releasemanager's SDK, or use it with a releasemanager of "
                            "ABI %u", p->path,
                            (unsigned) d->abi_major, (unsigned) d->abi_minor,
                            RM_BACKEND_ABI_MAJOR, RM_BACKEND_ABI_MINOR,
                            (unsigned) d->abi_major));
  if (!valid_name (d->name, true))
    return fail (p, err, PLUGIN_E_INVALID,
                 xasprintf ("%s: descriptor has %s name: not a valid backend plugin",
                            p->path, d->name ? "an invalid" : "no"));
  const char *file = base_name (p->path);
  size_t nlen = strlen (d->name);
  if (strncmp (file, d->name, nlen) != 0 || strcmp (file + nlen, ".so") != 0)
    return fail (p, err, PLUGIN_E_INVALID,
                 xasprintf ("%s: plugin calls itself '%s' but the file is named '%s': "
                            "install it as %s.so", p->path, d->name, file, d->name));
  if (expect_name && strcmp (expect_name, d->name) != 0)
    return fail (p, err, PLUGIN_E_INVALID,
                 xasprintf ("%s: plugin calls itself '%s', expected '%s'", p->path,
                            d->name, expect_name));

  p->plugin_struct_size = d->struct_size;
  memcpy (&p->desc, d, d->struct_size < sizeof p->desc ? d->struct_size : sizeof p->desc);
  p->desc.struct_size = sizeof p->desc;

  static const struct { const char *name; size_t off; } required[] = {
    { "open", offsetof (struct rm_backend, open) },
    { "close", offsetof (struct rm_backend, close) },
    { "put", offsetof (struct rm_backend, put) },
    { "get", offsetof (struct rm_backend, get) },
    { "list", offsetof (struct rm_backend, list) },
    { "remove", offsetof (struct rm_backend, remove) },
  };
  for (size_t i = 0; i < ARRAY_SIZE (required); i++) {
    void *fn;
    memcpy (&fn, (const char *) &p->desc + required[i].off, sizeof fn);
    if (!fn)
      return fail (p, err, PLUGIN_E_INVALID,
                   xasprintf ("%s: required operation '%s' is missing (NULL in the "
                              "descriptor)", p->path, required[i].name));
  }
  if (p->desc.thread_model < RM_THREAD_SERIALIZE_ALL || p->desc.thread_model > RM_THREAD_PARALLEL)
    return fail (p, err, PLUGIN_E_INVALID, xasprintf ("%s: unknown thread model %d", p->path,
                                      p->desc.thread_model));
  char *kerr = load_keys (p);
  if (kerr)
    return fail (p, err, PLUGIN_E_INVALID, kerr);
  if (d->abi_minor > RM_BACKEND_ABI_MINOR)
    log_debug ("%s: built for ABI %u.%u, newer than this releasemanager's %d.%d: fields added "
               "since are ignored", p->path, (unsigned) d->abi_major, (unsigned) d->abi_minor,
               RM_BACKEND_ABI_MAJOR, RM_BACKEND_ABI_MINOR);
  log_debug ("loaded backend '%s' %s (ABI %u.%u) from %s", d->name,
             p->desc.version ? p->desc.version : "?", (unsigned) d->abi_major,
             (unsigned) d->abi_minor, p->path);
  return p;
}

struct plugin *
plugin_find (const char *name, const struct strlist *dirs, struct rm_error *err)
{
  if (strchr (name, '/') || str_has_suffix (name, ".so"))
    return plugin_load (name, NULL, err);
  if (!valid_name (name, true)) {
    err_set (err, PLUGIN_E_INVALID, "invalid backend name '%s'", name);
    return NULL;
  }
  for (size_t i = 0; i < dirs->n; i++) {
    char *path = xasprintf ("%s/%s.so", dirs->items[i], name);
    if (access (path, F_OK) == 0) {
      struct plugin *p = plugin_load (path, name, err);
      free (path);
      return p;
    }
    free (path);
  }
  struct strbuf sb = STRBUF_INIT;
  strbuf_printf (&sb, "backend '%s' not found: no %s.so in ", name, name);
  if (dirs->n == 0)
    strbuf_puts (&sb, "any directory (the search path is empty)");
  for (size_t i = 0; i < dirs->n; i++)
    strbuf_printf (&sb, "%s%s", i ? ", " : "", dirs->items[i]);
  strbuf_puts (&sb, " (see `releasemanager backends`)");
  err_set (err, PLUGIN_E_NOT_FOUND, "%s", sb.data);
  strbuf_free (&sb);
  return NULL;
}

void
plugin_unload (struct plugin *p)
{
  if (!p)
    return;
#if !defined(__SANITIZE_ADDRESS__)
  /* Under ASan, keep the object mapped so leak reports can name plugin functions. */
  if (p->dl)
    dlclose (p->dl);
#endif
  free (p->keys);
  free (p->path);
  free (p);
}

const struct rm_config_key *
plugin_key (const struct plugin *p, const char *name)
{
  char *norm = xstrdup (name);
  for (char *c = norm; *c; c++)
    if (*c == '-')
      *c = '_';
  const struct rm_config_key *found = NULL;
  for (size_t i = 0; i < p->nkeys && !found; i++) {
    const struct rm_config_key *k = &p->keys[i];
    if (strcmp (k->name, norm) == 0)
      found = k;
    else if (k->aliases) {
      struct strlist al = STRLIST_INIT;
      strlist_push_split (&al, k->aliases, ',');
      if (strlist_contains (&al, name))
        found = k;
      strlist_free (&al);
    }
  }
  free (norm);
  return found;
}

const char *
plugin_thread_model_name (int model)
{
  switch (model) {
  case RM_THREAD_SERIALIZE_ALL: return "serialize-all";
  case RM_THREAD_SERIALIZE_HANDLE: return "serialize-handle";
  case RM_THREAD_PARALLEL: return "parallel";
  default: return "unknown";
  }
}

char *
plugin_caps_string (uint64_t caps)
{
  static const struct { uint64_t bit; const char *name; } names[] = {
    { RM_CAP_CONDITIONAL_PUT, "conditional-put" },
    { RM_CAP_ATOMIC_PUT, "atomic-put" },
    { RM_CAP_VERSIONING, "versioning" },
    { RM_CAP_ENCRYPTION, "encryption" },
    { RM_CAP_REMOTE, "remote" },
  };
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    if (caps & names[i].bit)
      strbuf_printf (&sb, "%s%s", sb.len ? ", " : "", names[i].name);
  if (!sb.len)
    strbuf_puts (&sb, "none");
  return strbuf_detach (&sb);
}

const char *
plugin_key_type_name (int type)
{
  switch (type) {
  case RM_KEY_STRING: return "string";
  case RM_KEY_PATH: return "path";
  case RM_KEY_BOOL: return "bool";
  case RM_KEY_INT: return "int";
  case RM_KEY_SIZE: return "size";
  default: return "?";
  }
}
