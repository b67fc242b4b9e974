/* YAML documents to cJSON trees with libyaml's event parser.  An explicit stack instead
 * of recursion, a depth limit and a node budget (so alias "billion laughs" files fail
 * cleanly), and a node -> line table for error messages. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/util.h"
#include "base/yamljson.h"

#define MAX_DEPTH 256
#define MAX_NODES 2000000

struct yamljson_line {
  const cJSON *node;
  int line;
};

struct frame {
  cJSON *node;
  char *key;        /* map: pending key, or NULL when the next scalar is a key */
  int key_line;
};

struct anchor {
  char *name;
  cJSON *node;
};

struct parse {
  struct yamljson *y;
  struct frame stack[MAX_DEPTH];
  int depth;
  struct anchor *anchors;
  size_t nanchors;
  size_t nodes;
  struct rm_error *err;
  unsigned flags;   /* YAMLJSON_* */
  cJSON *graveyard; /* nodes taken out of the tree that an anchor may still name (an
                       anchored mapping key, a value replaced by a duplicate key): kept
                       until the end of the parse so an alias never reads freed memory */
};

/* Keep node (out of the tree) alive until the parse ends. */
static void
bury (struct parse *p, cJSON *node)
{
  if (!p->graveyard)
    p->graveyard = cJSON_CreateArray ();
  cJSON_AddItemToArray (p->graveyard, node);
}

static void
note_line (struct yamljson *y, const cJSON *node, int line)
{
  if (y->nlines == y->caplines) {
    y->caplines = y->caplines ? y->caplines * 2 : 64;
    y->lines = xrealloc (y->lines, y->caplines * sizeof *y->lines);
  }
  y->lines[y->nlines].node = node;
  y->lines[y->nlines].line = line;
  y->nlines++;
}

int
yamljson_line (const struct yamljson *y, const cJSON *node)
{
  for (size_t i = 0; i < y->nlines; i++)
    if (y->lines[i].node == node)
      return y->lines[i].line;
  return 0;
}

const char *
yamljson_text (const cJSON *node)
{
  if (!node || cJSON_IsObject (node) || cJSON_IsArray (node))
    return NULL;
  return node->valuestring;
}

static bool
is_one_of (const char *s, const char *const *list)
{
  for (; *list; list++)
    if (strcmp (s, *list) == 0)
      return true;
  return false;
}

/* YAML 1.1 numbers as go-yaml v2 reads them (decimal, 0x, 0o/leading-0 octal, floats,
 * .inf/.nan).  Returns true and *out on a match. */
static bool
parse_number (const char *s, double *out)
{
  static const char *const inf[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
  static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
  if (is_one_of (s, inf)) { *out = HUGE_VAL; return true; }
  if (is_one_of (s, ninf)) { *out = -HUGE_VAL; return true; }
  const char *p = s;
  if (*p == '+' || *p == '-')
    p++;
  if (!*p)
    return false;
  char clean[128];
  size_t n = 0;
  /* Underscores are digit separators in YAML 1.1. */
  for (const char *q = s; *q; q++) {
    if (*q == '_')
      continue;
    if (n + 1 >= sizeof clean)
      return false;
    clean[n++] = *q;
  }
  clean[n] = '\0';
  char *end;
  errno = 0;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) {
    long long v = strtoll (clean + (p - s) + 2, &end, p[1] == 'x' ? 16 : 8);
    if (*end || end == clean + (p - s) + 2)
      return false;
    *out = (double) (s[0] == '-' ? -v : v);
    return true;
  }
  for (const char *q = p; *q; q++)
    if (!strchr ("0123456789._eE+-", *q))
      return false;
  if (!strpbrk (p, "0123456789"))
    return false;
  double v = strtod (clean, &end);
  if (*end)
    return false;
  *out = v;
  return true;
}

static cJSON *
make_scalar (const yaml_event_t *ev)
{
  const char *v = (const char *) ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  const char *tag = (const char *) ev->data.scalar.tag;
  cJSON *node;
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  bool str_tag = tag && strcmp (tag, YAML_STR_TAG) == 0;

  static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
  static const char *const trues[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                       "on", "On", "ON", NULL };
  static const char *const falses[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                        "off", "Off", "OFF", NULL };
  double d;
  /* A NUL inside a scalar would truncate it silently: keep it a string up to the NUL,
   * kubeconfig fields never contain one. */
  if (!plain || str_tag || strlen (v) != len)
    node = cJSON_CreateString (v);
  else if (is_one_of (v, nulls))
    node = cJSON_CreateNull ();
  else if (is_one_of (v, trues))
    node = cJSON_CreateTrue ();
  else if (is_one_of (v, falses))
    node = cJSON_CreateFalse ();
  else if (parse_number (v, &d))
    node = cJSON_CreateNumber (d);
  else
    node = cJSON_CreateString (v);
  if (!node) {
    fputs ("releasemanager: out of memory\n", stderr);
    exit (1);
  }
  if (!cJSON_IsString (node))
    node->valuestring = xstrdup (v);
  return node;
}

static size_t
count_nodes (const cJSON *n)
{
  size_t c = 1;
  for (const cJSON *k = n->child; k; k = k->next)
    c += count_nodes (k);
  return c;
}

/* Attach node to the innermost open collection (or make it the document root).
 * Returns 0, or -1 with an error set. */
static int
attach (struct parse *p, cJSON *node, int line, cJSON **root, bool is_scalar)
{
  if (++p->nodes > MAX_NODES) {
    err_set (p->err, YAMLJSON_E_SYNTAX, "%s:%d: document too large (more than %d nodes)",
             p->y->file, line, MAX_NODES);
    cJSON_Delete (node);
    return -1;
  }
  if (p->depth == 0) {
    *root = node;
    note_line (p->y, node, line);
    return 0;
  }
  struct frame *f = &p->stack[p->depth - 1];
  if (cJSON_IsArray (f->node)) {
    cJSON_AddItemToArray (f->node, node);
    note_line (p->y, node, line);
    return 0;
  }
  if (!f->key) {
    if (!is_scalar) {
      err_set (p->err, YAMLJSON_E_SYNTAX, "%s:%d: a map or list as a mapping key is not supported",
                p->y->file, line);
      cJSON_Delete (node);
      return -1;
    }
    f->key = xstrdup (node->valuestring ? node->valuestring : "");
    f->key_line = line;
    if (p->nanchors && p->anchors[p->nanchors - 1].node == node)
      bury (p, node);                 /* "&a key: ..." and later "*a" */
    else
      cJSON_Delete (node);
    return 0;
  }
  /* Duplicate keys: the last one wins, as in kubectl, unless the caller keeps them. */
  if (!(p->flags & YAMLJSON_DUPLICATE_KEYS)) {
    cJSON *old = cJSON_DetachItemFromObjectCaseSensitive (f->node, f->key);
    if (old)
      bury (p, old);                  /* an anchor inside it may be aliased later */
  }
  cJSON_AddItemToObject (f->node, f->key, node);
  note_line (p->y, node, line);
  free (f->key);
  f->key = NULL;
  return 0;
}

static void
remember_anchor (struct parse *p, const unsigned char *anchor, cJSON *node)
{
  if (!anchor)
    return;
  p->anchors = xrealloc (p->anchors, (p->nanchors + 1) * sizeof *p->anchors);
  p->anchors[p->nanchors].name = xstrdup ((const char *) anchor);
  p->anchors[p->nanchors].node = node;
  p->nanchors++;
}

static const struct err_name yamljson_names[] = {
  { YAMLJSON_E_SYNTAX, "YAMLJSON_E_SYNTAX", "invalid YAML" },
  { YAMLJSON_E_NO_FILE, "YAMLJSON_E_NO_FILE", "no such file" },
  { YAMLJSON_E_READ, "YAMLJSON_E_READ", "cannot read file" },
  { 0, NULL, NULL }
};
ERR_TABLE (yamljson_table, yamljson_names)

int
yamljson_parse (const char *text, size_t len, const char *file, struct yamljson *y,
                struct rm_error *err)
{
  return yamljson_parse_flags (text, len, file, 0, y, err);
}

int
yamljson_parse_flags (const char *text, size_t len, const char *file, unsigned flags,
                      struct yamljson *y, struct rm_error *err)
{
  memset (y, 0, sizeof *y);
  y->file = xstrdup (file ? file : "<input>");
  y->docs = cJSON_CreateArray ();

  yaml_parser_t parser;
  if (!yaml_parser_initialize (&parser)) {
    return err_set (err, RM_E_NOMEM, "%s: libyaml initialisation failed", y->file);
  }
  yaml_parser_set_input_string (&parser, (const unsigned char *) text, len);

  struct parse p;
  memset (&p, 0, sizeof p);
  p.y = y;
  p.err = err;
  p.flags = flags;
  cJSON *root = NULL;
  int rc = YAMLJSON_E_SYNTAX;
  bool done = false;

  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse (&parser, &ev)) {
      const char *problem = parser.problem ? parser.problem : "syntax error";
      if (parser.context)
        err_set (err, YAMLJSON_E_SYNTAX, "%s:%zu:%zu: %s (%s at line %zu)", y->file,
                 parser.problem_mark.line + 1, parser.problem_mark.column + 1, problem,
                 parser.context, parser.context_mark.line + 1);
      else
        err_set (err, YAMLJSON_E_SYNTAX, "%s:%zu:%zu: %s", y->file, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, problem);
      goto out;
    }
    int line = (int) ev.start_mark.line + 1;
    int bad = 0;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      root = NULL;
      break;
    case YAML_DOCUMENT_END_EVENT:
      cJSON_AddItemToArray (y->docs, root ? root : cJSON_CreateNull ());
      root = NULL;
      for (size_t i = 0; i < p.nanchors; i++)
        free (p.anchors[i].name);
      p.nanchors = 0;
      if (flags & YAMLJSON_FIRST_DOCUMENT)
        done = true;
      break;
    case YAML_SCALAR_EVENT: {
      cJSON *n = make_scalar (&ev);
      remember_anchor (&p, ev.data.scalar.anchor, n);
      bad = attach (&p, n, line, &root, true);
      break;
    }
    case YAML_ALIAS_EVENT: {
      cJSON *target = NULL;
      for (size_t i = p.nanchors; i-- > 0;)
        if (strcmp (p.anchors[i].name, (const char *) ev.data.alias.anchor) == 0) {
          target = p.anchors[i].node;
          break;
        }
      if (!target) {
        err_set (err, YAMLJSON_E_SYNTAX, "%s:%d: unknown alias *%s", y->file, line,
                 (const char *) ev.data.alias.anchor);
        bad = -1;
        break;
      }
      size_t size = count_nodes (target);
      if (p.nodes + size > MAX_NODES) {
        err_set (err, YAMLJSON_E_SYNTAX,
                 "%s:%d: document too large (aliases expand to more than %d nodes)", y->file, line,
                 MAX_NODES);
        bad = -1;
        break;
      }
      p.nodes += size - 1;
      bad = attach (&p, cJSON_Duplicate (target, 1), line, &root, !target->child);
      break;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      if (p.depth >= MAX_DEPTH) {
        err_set (err, YAMLJSON_E_SYNTAX, "%s:%d: nesting deeper than %d levels", y->file, line,
                 MAX_DEPTH);
        bad = -1;
        break;
      }
      bool map = ev.type == YAML_MAPPING_START_EVENT;
      cJSON *n = map ? cJSON_CreateObject () : cJSON_CreateArray ();
      remember_anchor (&p, map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor, n);
      bad = attach (&p, n, line, &root, false);
      if (!bad) {
        p.stack[p.depth].node = n;
        p.stack[p.depth].key = NULL;
        p.depth++;
      }
      break;
    }
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      p.depth--;
      free (p.stack[p.depth].key);
      p.stack[p.depth].key = NULL;
      break;
    default:
      break;
    }
    yaml_event_delete (&ev);
    if (bad)
      goto out;
  }
  rc = 0;
out:
  /* Nodes still open belong to root (or to the document array). */
  for (int i = 0; i < p.depth; i++)
    free (p.stack[i].key);
  if (rc != 0 && root)
    cJSON_Delete (root);
  for (size_t i = 0; i < p.nanchors; i++)
    free (p.anchors[i].name);
  free (p.anchors);
  cJSON_Delete (p.graveyard);
  yaml_parser_delete (&parser);
  if (rc != 0)
    yamljson_free (y);
  return rc;
}

int
yamljson_load (const char *path, struct yamljson *y, struct rm_error *err)
{
  memset (y, 0, sizeof *y);
  struct strbuf sb = STRBUF_INIT;
  if (strbuf_read_file (&sb, path) != 0) {
    int e = errno;
    strbuf_free (&sb);
    err_set (err, e == ENOENT ? YAMLJSON_E_NO_FILE : YAMLJSON_E_READ, "%s: %s", path,
             strerror (e));
    errno = e;
    return e == ENOENT ? YAMLJSON_E_NO_FILE : YAMLJSON_E_READ;
  }
  int rc = yamljson_parse (sb.data ? sb.data : "", sb.len, path, y, err);
  strbuf_free (&sb);
  return rc;
}

void
yamljson_free (struct yamljson *y)
{
  cJSON_Delete (y->docs);
  free (y->file);
  free (y->lines);
  memset (y, 0, sizeof *y);
}
