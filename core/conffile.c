/* Reads the YAML configuration file with libyaml's document API and flattens it into
 * top-level entries and per-backend sections, keeping line numbers so that every
 * complaint about the file can point at the line. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

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

static int
line_of (const yaml_node_t *node)
{
  return (int) node->start_mark.line + 1;
}

static const char *
scalar (const yaml_node_t *node)
{
  return (const char *) node->data.scalar.value;
}

/* Fill *v from a mapping of scalars (or lists of scalars). */
static char *
read_map (yaml_document_t *doc, const yaml_node_t *map, const char *path, const char *where,
          struct config_entry **v, size_t *n, bool allow_backends, struct config_file *cf)
{
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *k = yaml_document_get_node (doc, pr->key);
    yaml_node_t *val = yaml_document_get_node (doc, pr->value);
    if (!k || k->type != YAML_SCALAR_NODE)
      return xasprintf ("%s:%d: %s: keys must be plain names", path, k ? line_of (k) : 0, where);
    const char *key = scalar (k);
    if (allow_backends && strcmp (key, "backends") == 0) {
      if (val->type == YAML_SCALAR_NODE && !*scalar (val))
        continue;   /* "backends:" with nothing under it */
      if (val->type != YAML_MAPPING_NODE)
        return xasprintf ("%s:%d: 'backends' must be a mapping of backend names to their "
                          "options", path, line_of (val));
      for (yaml_node_pair_t *bp = val->data.mapping.pairs.start;
           bp < val->data.mapping.pairs.top; bp++) {
        yaml_node_t *bk = yaml_document_get_node (doc, bp->key);
        yaml_node_t *bv = yaml_document_get_node (doc, bp->value);
        if (bk->type != YAML_SCALAR_NODE)
          return xasprintf ("%s:%d: backend names must be plain names", path, line_of (bk));
        if (bv->type == YAML_SCALAR_NODE && !*scalar (bv))
          continue;
        if (bv->type != YAML_MAPPING_NODE)
          return xasprintf ("%s:%d: 'backends.%s' must be a mapping of option names to values",
                            path, line_of (bv), scalar (bk));
        cf->backends = xrealloc (cf->backends, (cf->nbackends + 1) * sizeof *cf->backends);
        struct config_section *s = &cf->backends[cf->nbackends++];
        memset (s, 0, sizeof *s);
        s->name = xstrdup (scalar (bk));
        char *where2 = xasprintf ("backends.%s", s->name);
        char *err = read_map (doc, bv, path, where2, &s->entries, &s->n, false, cf);
        free (where2);
        if (err)
          return err;
      }
      continue;
    }
    if (val->type == YAML_SCALAR_NODE)
      add_entry (v, n, key, scalar (val), line_of (val));
    else if (val->type == YAML_SEQUENCE_NODE) {
      for (yaml_node_item_t *it = val->data.sequence.items.start;
           it < val->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node (doc, *it);
        if (item->type != YAML_SCALAR_NODE)
          return xasprintf ("%s:%d: %s%s%s: list items must be plain values", path,
                            line_of (item), where, *where ? "." : "", key);
        add_entry (v, n, key, scalar (item), line_of (item));
      }
    }
    else
      return xasprintf ("%s:%d: %s%s%s: expected a value or a list, found a mapping", path,
                        line_of (val), where, *where ? "." : "", key);
  }
  return NULL;
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
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_parser_initialize (&parser);
  yaml_parser_set_input_file (&parser, f);
  struct config_file *cf = xcalloc (1, sizeof *cf);
  cf->path = xstrdup (path);
  if (!yaml_parser_load (&parser, &doc)) {
    err_set (error, CONFFILE_E_SYNTAX, "%s:%zu:%zu: invalid YAML: %s%s%s", path,
             (size_t) parser.problem_mark.line + 1, (size_t) parser.problem_mark.column + 1,
             parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
             parser.context ? parser.context : "");
    yaml_parser_delete (&parser);
    fclose (f);
    config_free (cf);
    return NULL;
  }
  char *err = NULL;
  yaml_node_t *root = yaml_document_get_root_node (&doc);
  if (root && !(root->type == YAML_SCALAR_NODE && !*scalar (root))) {
    if (root->type != YAML_MAPPING_NODE)
      err = xasprintf ("%s:%d: the configuration must be a mapping of settings", path,
                       line_of (root));
    else
      err = read_map (&doc, root, path, "", &cf->entries, &cf->n, true, cf);
  }
  yaml_document_delete (&doc);
  yaml_parser_delete (&parser);
  fclose (f);
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
