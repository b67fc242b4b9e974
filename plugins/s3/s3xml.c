/* Expat-based parsing of S3 XML responses into a small tree, plus extractors for the
 * documents the plugin reads (errors, ListObjectsV2, multipart results, DeleteObjects).
 * Never string search: a key or message that contains "<Key>" cannot confuse it. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "s3xml.h"

struct builder {
  XML_Parser parser;
  struct s3xml_node *root;
  struct s3xml_node *stack[64];
  struct s3xml_node *last[64];   /* last child at each depth, for O(1) append */
  int depth;
  int failed;
};

static void
stop (struct builder *b)
{
  b->failed = 1;
  XML_StopParser (b->parser, XML_FALSE);
}

static void XMLCALL
on_start (void *ud, const XML_Char *name, const XML_Char **attrs)
{
  struct builder *b = ud;
  struct s3xml_node *n;
  const char *colon = strrchr (name, ':');
  (void) attrs;
  if (b->failed)
    return;
  if (b->depth >= 63 || (b->depth == 0 && b->root)) {
    stop (b);
    return;
  }
  n = calloc (1, sizeof *n);
  if (n == NULL || (n->name = strdup (colon ? colon + 1 : name)) == NULL) {
    free (n);
    stop (b);
    return;
  }
  if (b->depth == 0)
    b->root = n;
  else {
    struct s3xml_node *parent = b->stack[b->depth - 1];
    if (b->last[b->depth])
      b->last[b->depth]->next = n;
    else
      parent->child = n;
    b->last[b->depth] = n;
  }
  b->stack[b->depth++] = n;
  b->last[b->depth] = NULL;
}

static void XMLCALL
on_end (void *ud, const XML_Char *name)
{
  struct builder *b = ud;
  (void) name;
  if (!b->failed && b->depth > 0)
    b->depth--;
}

static void XMLCALL
on_text (void *ud, const XML_Char *s, int len)
{
  struct builder *b = ud;
  if (b->failed || b->depth == 0)
    return;
  if (s3buf_add (&b->stack[b->depth - 1]->text, s, (size_t) len) < 0)
    stop (b);
}

static void XMLCALL
on_doctype (void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
            int has_internal_subset)
{
  (void) name; (void) sysid; (void) pubid; (void) has_internal_subset;
  stop (ud);                    /* S3 never sends one; refusing it rules out entity games */
}

struct s3xml_node *
s3xml_parse (const char *data, size_t len)
{
  struct builder b;
  memset (&b, 0, sizeof b);
  if (len > (size_t) 64 * 1024 * 1024 || data == NULL)
    return NULL;
  b.parser = XML_ParserCreate ("UTF-8");
  if (b.parser == NULL)
    return NULL;
  XML_SetUserData (b.parser, &b);
  XML_SetElementHandler (b.parser, on_start, on_end);
  XML_SetCharacterDataHandler (b.parser, on_text);
  XML_SetStartDoctypeDeclHandler (b.parser, on_doctype);
  if (XML_Parse (b.parser, data, (int) len, XML_TRUE) != XML_STATUS_OK || b.failed
      || b.root == NULL) {
    XML_ParserFree (b.parser);
    s3xml_free (b.root);
    return NULL;
  }
  XML_ParserFree (b.parser);
  return b.root;
}

void
s3xml_free (struct s3xml_node *n)
{
  while (n) {
    struct s3xml_node *next = n->next;
    s3xml_free (n->child);
    free (n->name);
    s3buf_free (&n->text);
    free (n);
    n = next;
  }
}

const struct s3xml_node *
s3xml_child (const struct s3xml_node *n, const char *name)
{
  const struct s3xml_node *c;
  for (c = n ? n->child : NULL; c; c = c->next)
    if (strcmp (c->name, name) == 0)
      return c;
  return NULL;
}

static const char *
text_of (const struct s3xml_node *n)
{
  return n->text.data ? n->text.data : "";
}

const char *
s3xml_child_text (const struct s3xml_node *n, const char *name)
{
  const struct s3xml_node *c = s3xml_child (n, name);
  return c ? text_of (c) : NULL;
}

static void
copy (char *dst, size_t size, const char *src)
{
  if (size)
    snprintf (dst, size, "%s", src ? src : "");
}

int
s3xml_error (const char *data, size_t len, char *code, size_t codesz,
             char *message, size_t msgsz, char *request_id, size_t ridsz)
{
  struct s3xml_node *root = s3xml_parse (data, len);
  int rc = -1;
  copy (code, codesz, "");
  copy (message, msgsz, "");
  copy (request_id, ridsz, "");
  if (root && strcmp (root->name, "Error") == 0) {
    copy (code, codesz, s3xml_child_text (root, "Code"));
    copy (message, msgsz, s3xml_child_text (root, "Message"));
    copy (request_id, ridsz, s3xml_child_text (root, "RequestId"));
    rc = 0;
  }
  s3xml_free (root);
  return rc;
}

void
s3xml_form_decode (char *s)
{
  s3_percent_decode (s, true);
}

static long long
to_ll (const char *s)
{
  char *end;
  long long v;
  if (s == NULL || *s == '\0')
    return -1;
  v = strtoll (s, &end, 10);
  return *end == '\0' && v >= 0 ? v : -1;
}

int
s3xml_list (const char *data, size_t len,
            int (*emit) (void *opaque, const struct s3xml_object *o), void *opaque,
            int *truncated, char *next_token, size_t tokensz)
{
  struct s3xml_node *root = s3xml_parse (data, len);
  const struct s3xml_node *c;
  const char *t;
  int rc = 0, url;
  *truncated = 0;
  copy (next_token, tokensz, "");
  if (root == NULL || strcmp (root->name, "ListBucketResult") != 0) {
    s3xml_free (root);
    return -1;
  }
  t = s3xml_child_text (root, "IsTruncated");
  *truncated = t && strcmp (t, "true") == 0;
  copy (next_token, tokensz, s3xml_child_text (root, "NextContinuationToken"));
  t = s3xml_child_text (root, "EncodingType");
  url = t && strcmp (t, "url") == 0;
  for (c = root->child; c && rc == 0; c = c->next) {
    struct s3xml_object o;
    char *decoded = NULL;
    if (strcmp (c->name, "Contents") != 0)
      continue;
    o.key = s3xml_child_text (c, "Key");
    if (o.key == NULL) {
      rc = -1;
      break;
    }
    if (url) {
      /* encoding-type=url: keys are form-encoded ('+' is a space, '%2B' a plus). */
      if ((decoded = strdup (o.key)) == NULL) {
        rc = -1;
        break;
      }
      s3xml_form_decode (decoded);
      o.key = decoded;
    }
    o.size = to_ll (s3xml_child_text (c, "Size"));
    o.mtime = s3_parse_time (s3xml_child_text (c, "LastModified"));
    o.etag = s3xml_child_text (c, "ETag");
    rc = emit (opaque, &o);
    free (decoded);
  }
  s3xml_free (root);
  return rc;
}

char *
s3xml_upload_id (const char *data, size_t len)
{
  struct s3xml_node *root = s3xml_parse (data, len);
  const char *id;
  char *out = NULL;
  if (root && strcmp (root->name, "InitiateMultipartUploadResult") == 0
      && (id = s3xml_child_text (root, "UploadId")) != NULL && *id)
    out = strdup (id);
  s3xml_free (root);
  return out;
}

int
s3xml_complete (const char *data, size_t len, char *etag, size_t etagsz)
{
  struct s3xml_node *root = s3xml_parse (data, len);
  int rc = -1;
  copy (etag, etagsz, "");
  /* AWS names the root ...Result; moto 5.2 names it ...Response. */
  if (root && (strcmp (root->name, "CompleteMultipartUploadResult") == 0
               || strcmp (root->name, "CompleteMultipartUploadResponse") == 0)) {
    copy (etag, etagsz, s3xml_child_text (root, "ETag"));
    rc = 0;
  }
  s3xml_free (root);
  return rc;
}

int
s3xml_delete_result (const char *data, size_t len,
                     void (*result) (void *opaque, const char *key, const char *code,
                                     const char *msg),
                     void *opaque)
{
  struct s3xml_node *root = s3xml_parse (data, len);
  const struct s3xml_node *c;
  if (root == NULL || strcmp (root->name, "DeleteResult") != 0) {
    s3xml_free (root);
    return -1;
  }
  for (c = root->child; c; c = c->next) {
    const char *key = s3xml_child_text (c, "Key");
    if (key == NULL)
      continue;
    if (strcmp (c->name, "Deleted") == 0)
      result (opaque, key, NULL, NULL);
    else if (strcmp (c->name, "Error") == 0) {
      const char *code = s3xml_child_text (c, "Code");
      result (opaque, key, code ? code : "", s3xml_child_text (c, "Message"));
    }
  }
  s3xml_free (root);
  return 0;
}

int
s3xml_escape (struct s3buf *b, const char *s)
{
  for (; *s; s++) {
    const char *rep = NULL;
    switch (*s) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&apos;"; break;
    default: break;
    }
    if (rep ? s3buf_puts (b, rep) < 0 : s3buf_putc (b, *s) < 0)
      return -1;
  }
  return 0;
}
