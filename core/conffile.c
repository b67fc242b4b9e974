/* Reads the configuration file, YAML through the base layer's YAML reader (yamljson) or
 * JSON through cJSON, and flattens the tree into top-level entries and per-backend
 * sections, keeping line numbers so that every complaint about the file can point at
 * the line.  Also finds the file when none is named (our default, then the original
 * tool's /etc/releasemanager/config.*). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/yamljson.h"
#include "conffile.h"

/* Where each node of the parsed tree came from: yamljson's table for YAML, ours for
 * JSON (cJSON keeps no positions). */
struct node_line {
  const cJSON *node;
  int line;
};
struct tree {
  const struct yamljson *y;   /* YAML, or NULL */
  struct node_line *lines;    /* JSON */
  size_t nlines;
};

static void
add_entry (struct config_entry **v, size_t *n, const char *key, const char *value, int line,
           bool from_map)
{
  *v = xrealloc (*v, (*n + 1) * sizeof **v);
  memset (&(*v)[*n], 0, sizeof **v);
  (*v)[*n].key = xstrdup (key);
  (*v)[*n].given = xstrdup (key);
  (*v)[*n].value = xstrdup (value ? value : "");
  (*v)[*n].line = line;
  (*v)[*n].from_map = from_map;
  (*n)++;
}

/* The line of node; a node copied from an alias has none of its own: its parent's. */
static int
line_of (const struct tree *t, const cJSON *node, int parent_line)
{
  int line = 0;
  if (t->y)
    line = yamljson_line (t->y, node);
  for (size_t i = 0; !t->y && i < t->nlines; i++)
    if (t->lines[i].node == node)
      line = t->lines[i].line;
  return line ? line : parent_line;
}

/* A scalar with no text at all ("key:" with nothing after it). */
static bool
is_empty (const cJSON *node)
{
  const char *t = yamljson_text (node);
  return !cJSON_IsObject (node) && !cJSON_IsArray (node) && (!t || !*t);
}

/* A mapping given as a setting's value (valueUpdates: {image.tag: v2}) as "KEY=VALUE"
 * entries named top_key; nested mappings give dotted keys (a: {b: 1} is a.b=1). */
static char *
read_pairs (const struct tree *t, const cJSON *map, int map_line, const char *path,
            const char *top_key, const char *prefix, struct config_entry **v, size_t *n)
{
  for (const cJSON *val = map->child; val; val = val->next) {
    int line = line_of (t, val, map_line);
    char *k = *prefix ? xasprintf ("%s.%s", prefix, val->string) : xstrdup (val->string);
    char *err = NULL;
    if (cJSON_IsObject (val))
      err = read_pairs (t, val, line, path, top_key, k, v, n);
    else if (cJSON_IsArray (val))
      err = xasprintf ("%s:%d: %s.%s: expected a value, found a list", path, line, top_key, k);
    else {
      char *kv = xasprintf ("%s=%s", k, yamljson_text (val) ? yamljson_text (val) : "");
      add_entry (v, n, top_key, kv, line, true);
      free (kv);
    }
    free (k);
    if (err)
      return err;
  }
  return NULL;
}

/* Fill *v from a mapping of scalars (or lists of scalars, or at the top level
 * mappings of scalars).  Keys given twice are all kept (YAMLJSON_DUPLICATE_KEYS), so
 * the caller can tell a repeated setting. */
static char *
read_map (const struct tree *y, const cJSON *map, int map_line, const char *path,
          const char *where, struct config_entry **v, size_t *n, bool allow_backends,
          struct config_file *cf)
{
  for (const cJSON *val = map->child; val; val = val->next) {
    const char *key = val->string;
    int line = line_of (y, val, map_line);
    if (allow_backends && strcasecmp (key, "backends") == 0) {
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
        add_entry (v, n, key, yamljson_text (item), line_of (y, item, line), false);
      }
    }
    else if (cJSON_IsObject (val) && allow_backends) {
      /* Whether this setting takes a mapping is cli.c's to say. */
      char *err = read_pairs (y, val, line, path, key, "", v, n);
      if (err)
        return err;
    }
    else if (cJSON_IsObject (val))
      return xasprintf ("%s:%d: %s%s%s: expected a value or a list, found a mapping", path,
                        line, where, *where ? "." : "", key);
    else
      add_entry (v, n, key, yamljson_text (val), line, false);
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
  { CONFFILE_E_FORMAT, "CONFFILE_E_FORMAT", "configuration file format not supported" },
  { 0, NULL, NULL }
};
ERR_TABLE (conffile_table, conffile_names)

/* viper's formats by extension, in viper's search order (SupportedExts). */
static const struct {
  const char *ext;
  const char *format;     /* NULL: one we read */
} formats[] = {
  { "json", NULL }, { "toml", "TOML" }, { "yaml", NULL }, { "yml", NULL },
  { "properties", "Java properties" }, { "props", "Java properties" },
  { "prop", "Java properties" }, { "hcl", "HCL" }, { "tfvars", "HCL (tfvars)" },
  { "dotenv", "dotenv" }, { "env", "dotenv" }, { "ini", "INI" },
};

static const char *
extension (const char *path)
{
  const char *slash = strrchr (path, '/');
  const char *dot = strrchr (slash ? slash : path, '.');
  return dot ? dot + 1 : "";
}

/* JSON positions.  cJSON validates and builds the tree; this pass walks the same (valid)
 * text and lists its tokens in order: member names with their line, and scalar values
 * with their line and text.  A pre-order walk of the tree meets them in the same order,
 * so each node gets its line, and each number or literal its text as written. */
struct jtok {
  bool key;
  bool scalar;            /* number, true, false, null (a string is neither) */
  const char *at;
  size_t len;
  int line;
};

static size_t
json_tokens (const char *text, size_t len, struct jtok **out)
{
  size_t n = 0, cap = 0;
  int line = 1;
  *out = NULL;
  for (size_t i = 0; i < len; i++) {
    char ch = text[i];
    if (ch == '\n')
      line++;
    if (ch != '"' && ch != '-' && ch != 't' && ch != 'f' && ch != 'n'
        && !(ch >= '0' && ch <= '9'))
      continue;
    struct jtok t = { false, ch != '"', text + i, 0, line };
    if (ch == '"') {
      for (i++; i < len && text[i] != '"'; i++)
        if (text[i] == '\\')
          i++;
      size_t j = i + 1;
      while (j < len && text[j] && strchr (" \t\r\n", text[j]))
        j++;
      t.key = j < len && text[j] == ':';
    }
    else {
      while (i + 1 < len && strchr ("0123456789+-.eEtruefalsn", text[i + 1]))
        i++;
      t.len = (size_t) (text + i + 1 - t.at);
    }
    if (n == cap)
      *out = xrealloc (*out, (cap = cap ? 2 * cap : 64) * sizeof **out);
    (*out)[n++] = t;
  }
  return n;
}

static void
json_walk (struct tree *t, cJSON *node, bool member, const struct jtok *tok, size_t ntok,
           size_t *k, int line)
{
  if (member && *k < ntok && tok[*k].key)
    line = tok[(*k)++].line;
  if (cJSON_IsObject (node) || cJSON_IsArray (node)) {
    for (cJSON *c = node->child; c; c = c->next)
      json_walk (t, c, cJSON_IsObject (node), tok, ntok, k, line);
  }
  else if (*k < ntok) {
    const struct jtok *v = &tok[(*k)++];
    if (!member)
      line = v->line;
    if (v->scalar && !cJSON_IsString (node)) {
      /* Keep the text as written (yamljson does the same); null reads as empty. */
      free (node->valuestring);
      node->valuestring = cJSON_IsNull (node) ? xstrdup ("") : strndup (v->at, v->len);
    }
  }
  t->lines = xrealloc (t->lines, (t->nlines + 1) * sizeof *t->lines);
  t->lines[t->nlines++] = (struct node_line) { node, line };
}

/* Parse JSON text into *root with positions in t; NULL, or the message. */
static char *
parse_json (const char *text, size_t len, const char *path, cJSON **root, struct tree *t)
{
  const char *end = NULL;
  *root = cJSON_ParseWithLengthOpts (text, len, &end, false);
  if (*root) {
    while (end < text + len && strchr (" \t\r\n", *end))
      end++;
    if (end < text + len) {
      cJSON_Delete (*root);
      *root = NULL;
    }
  }
  if (!*root) {
    if (!end)
      end = cJSON_GetErrorPtr ();
    int line = 1;
    for (const char *p = text; end && p < end && p < text + len; p++)
      line += *p == '\n';
    return xasprintf ("%s:%d: invalid JSON", path, line);
  }
  struct jtok *tok;
  size_t ntok = json_tokens (text, len, &tok), k = 0;
  json_walk (t, *root, false, tok, ntok, &k, 1);
  free (tok);
  return NULL;
}

struct config_file *
config_load (const char *path, struct rm_error *error)
{
  const char *ext = extension (path);
  for (size_t i = 0; i < ARRAY_SIZE (formats); i++)
    if (formats[i].format && strcasecmp (ext, formats[i].ext) == 0) {
      err_set (error, CONFFILE_E_FORMAT, "%s: the configuration file is in %s format, which "
               "releasemanager does not read: convert it to YAML (.yaml) or JSON (.json)",
               path, formats[i].format);
      return NULL;
    }
  bool json = strcasecmp (ext, "json") == 0;
  struct strbuf text = STRBUF_INIT;
  if (strbuf_read_file (&text, path) != 0) {
    err_set (error, CONFFILE_E_READ, "%s: cannot read the configuration file: %s", path,
             strerror (errno));
    strbuf_free (&text);
    return NULL;
  }
  struct yamljson y = { 0 };
  struct tree t = { NULL, NULL, 0 };
  const cJSON *root = NULL;
  cJSON *jroot = NULL;
  if (json) {
    char *msg = parse_json (text.data ? text.data : "", text.len, path, &jroot, &t);
    strbuf_free (&text);
    if (msg) {
      err_set (error, CONFFILE_E_SYNTAX, "%s", msg);
      free (msg);
      return NULL;
    }
    root = jroot;
  }
  else {
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
    t.y = &y;
    /* Only the first document is read (as libyaml's yaml_parser_load did). */
    root = cJSON_GetArrayItem (y.docs, 0);
  }
  struct config_file *cf = xcalloc (1, sizeof *cf);
  cf->path = xstrdup (path);
  char *err = NULL;
  if (root && !is_empty (root) && !cJSON_IsNull (root)) {
    if (!cJSON_IsObject (root))
      err = xasprintf ("%s:%d: the configuration must be a mapping of settings", path,
                       line_of (&t, root, 1));
    else
      err = read_map (&t, root, line_of (&t, root, 1), path, "", &cf->entries, &cf->n, true,
                      cf);
  }
  if (json)
    cJSON_Delete (jroot);
  else
    yamljson_free (&y);
  free (t.lines);
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
    free (v[i].given);
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
    if (!cf->entries[i].ignored && strcmp (cf->entries[i].key, key) == 0)
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
  /* The original tool's place, searched as viper does: config.EXT for each of its
   * formats in its order, the first that exists (one we cannot read is an error then,
   * which says so). */
  const char *dir = secure_getenv ("RELEASEMANAGER_SYSTEM_CONFIG_DIR");
  if (!dir || !*dir)
    dir = CONFIG_SYSTEM_DIR;
  for (size_t i = 0; i < ARRAY_SIZE (formats); i++) {
    p = xasprintf ("%s/config.%s", dir, formats[i].ext);
    if (access (p, F_OK) == 0)
      return p;
    free (p);
  }
  return NULL;
}
