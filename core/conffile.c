/* Reads the YAML configuration file through the base layer's YAML reader (yamljson) and
 * flattens the tree into top-level entries and per-backend sections, keeping line
 * numbers so that every complaint about the file can point at the line. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/yamljson.h"
#include "conffile.h"

static void
add_entry (struct config_entry **v, size_t *n, const char *key, const char *value, int line)
{
  *v = xrealloc (*v, (*n + 1) * sizeof **v);
  (*v)[*n].key = xstrdup (key);
  (*v)[*n].value = xstrdup (value);
  (*v)[*n].line = line;
  (*n)++;
}

/* The line of node; a node copied from an alias has none of its own: its parent's. */
static int
line_of (const struct yamljson *y, const cJSON *node, int parent_line)
{
  int line = yamljson_line (y, node);
  return line ? line : parent_line;
}

/* A scalar with no text at all ("key:" with nothing after it). */
static bool
is_empty (const cJSON *node)
{
  const char *t = yamljson_text (node);
  return !cJSON_IsObject (node) && !cJSON_IsArray (node) && (!t || !*t);
}

/* Fill *v from a mapping of scalars (or lists of scalars).  Keys given twice are all
 * kept (YAMLJSON_DUPLICATE_KEYS), so the caller can tell a repeated setting. */
static char *
read_map (const struct yamljson *y, const cJSON *map, int map_line, const char *path,
          const char *where, struct config_entry **v, size_t *n, bool allow_backends,
          struct config_file *cf)
{
  for (const cJSON *val = map->child; val; val = val->next) {
    const char *key = val->string;
    int line = line_of (y, val, map_line);
    if (allow_backends && strcmp (key, "backends") == 0) {
      if (is_empty (val))
        continue;   /* "backends:" with nothing under it */
      if (!cJSON_IsObject (val))
        return xasprintf ("%s:%d: 'backends' must be a mapping of backend names to their "
                          "options", path, line);
      for (const cJSON *bv = val->child; bv; bv = bv->next) {
        int bline = line_of (y, bv, line);
        if (is_empty (bv))
          continue;
        if (!cJSON_IsObject (bv))
          return xasprintf ("%s:%d: 'backends.%s' must be a mapping of option names to values",
                            path, bline, bv->string);
        cf->backends = xrealloc (cf->backends, (cf->nbackends + 1) * sizeof *cf->backends);
        struct config_section *s = &cf->backends[cf->nbackends++];
        memset (s, 0, sizeof *s);
        s->name = xstrdup (bv->string);
        char *where2 = xasprintf ("backends.%s", s->name);
        char *err = read_map (y, bv, bline, path, where2, &s->entries, &s->n, false, cf);
        free (where2);
        if (err)
          return err;
      }
      continue;
    }
    if (cJSON_IsArray (val)) {
      for (const cJSON *item = val->child; item; item = item->next) {
        if (cJSON_IsObject (item) || cJSON_IsArray (item))
          return xasprintf ("%s:%d: %s%s%s: list items must be plain values", path,
                            line_of (y, item, line), where, *where ? "." : "", key);
        add_entry (v, n, key, yamljson_text (item), line_of (y, item, line));
      }
    }
    else if (cJSON_IsObject (val))
      return xasprintf ("%s:%d: %s%s%s: expected a value or a list, found a mapping", path,
                        line, where, *where ? "." : "", key);
    else
      add_entry (v, n, key, yamljson_text (val), line);
  }
  return NULL;
}

/* yamljson's "FILE:LINE[:COLUMN]: problem" as "FILE:LINE[:COLUMN]: invalid YAML: problem". */
static char *
invalid_yaml (const char *path, const char *err)
{
  size_t plen = strlen (path);
  const char *p = err + plen;
  if (strncmp (err, path, plen) != 0 || *p != ':' || !strchr ("0123456789", p[1]))
    return xasprintf ("%s: invalid YAML: %s", path, err);
  p++;
  while (*p && strchr ("0123456789:", *p))
    p++;
  if (*p == ' ')
    p++;
  return xasprintf ("%.*s invalid YAML: %s", (int) (p - err - 1), err, p);
}

static const struct err_name conffile_names[] = {
  { CONFFILE_E_READ, "CONFFILE_E_READ", "cannot read the configuration file" },
  { CONFFILE_E_SYNTAX, "CONFFILE_E_SYNTAX", "configuration file is not YAML" },
  { CONFFILE_E_INVALID, "CONFFILE_E_INVALID", "invalid configuration file" },
  { 0, NULL, NULL }
};
ERR_TABLE (conffile_table, conffile_names)

struct config_file *
config_load (const char *path, struct rm_error *error)
{
  FILE *f = fopen (path, "rb");
  if (!f) {
    err_set (error, CONFFILE_E_READ, "%s: cannot read the configuration file: %s", path,
             strerror (errno));
    return NULL;
  }
  struct strbuf text = STRBUF_INIT;
  char buf[8192];
  size_t got;
  while ((got = fread (buf, 1, sizeof buf, f)) > 0)
    strbuf_add (&text, buf, got);
  int read_errno = ferror (f) ? (errno ? errno : EIO) : 0;
  fclose (f);
  if (read_errno) {
    err_set (error, CONFFILE_E_READ, "%s: cannot read the configuration file: %s", path,
             strerror (read_errno));
    strbuf_free (&text);
    return NULL;
  }
  struct yamljson y;
  struct rm_error yerr;
  int rc = yamljson_parse_flags (text.data ? text.data : "", text.len, path,
                                 YAMLJSON_DUPLICATE_KEYS | YAMLJSON_FIRST_DOCUMENT, &y, &yerr);
  strbuf_free (&text);
  if (rc != 0) {
    char *msg = invalid_yaml (path, yerr.message);
    err_set (error, CONFFILE_E_SYNTAX, "%s", msg);
    free (msg);
    return NULL;
  }
  struct config_file *cf = xcalloc (1, sizeof *cf);
  cf->path = xstrdup (path);
  char *err = NULL;
  /* Only the first document is read (as libyaml's yaml_parser_load did). */
  const cJSON *root = cJSON_GetArrayItem (y.docs, 0);
  if (root && !is_empty (root)) {
    if (!cJSON_IsObject (root))
      err = xasprintf ("%s:%d: the configuration must be a mapping of settings", path,
                       line_of (&y, root, 1));
    else
      err = read_map (&y, root, line_of (&y, root, 1), path, "", &cf->entries, &cf->n, true,
                      cf);
  }
  yamljson_free (&y);
  if (err) {
    err_set (error, CONFFILE_E_INVALID, "%s", err);
    free (err);
    config_free (cf);
    return NULL;
  }
  return cf;
}

static void
free_entries (struct config_entry *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free (v[i].key);
    free (v[i].value);
  }
  free (v);
}

void
config_free (struct config_file *cf)
{
  if (!cf)
    return;
  free_entries (cf->entries, cf->n);
  for (size_t i = 0; i < cf->nbackends; i++) {
    free (cf->backends[i].name);
    free_entries (cf->backends[i].entries, cf->backends[i].n);
  }
  free (cf->backends);
  free (cf->path);
  free (cf);
}

const struct config_entry *
config_get (const struct config_file *cf, const char *key)
{
  const struct config_entry *found = NULL;
  for (size_t i = 0; cf && i < cf->n; i++)
    if (strcmp (cf->entries[i].key, key) == 0)
      found = &cf->entries[i];
  return found;
}

const struct config_section *
config_backend (const struct config_file *cf, const char *name)
{
  for (size_t i = 0; cf && i < cf->nbackends; i++)
    if (strcmp (cf->backends[i].name, name) == 0)
      return &cf->backends[i];
  return NULL;
}

char *
config_default_path (void)
{
  const char *xdg = getenv ("XDG_CONFIG_HOME");
  const char *home = getenv ("HOME");
  char *p = NULL;
  if (xdg && *xdg)
    p = xasprintf ("%s/releasemanager/config.yaml", xdg);
  else if (home && *home)
    p = xasprintf ("%s/.config/releasemanager/config.yaml", home);
  if (p && access (p, F_OK) == 0)
    return p;
  free (p);
  return NULL;
}
