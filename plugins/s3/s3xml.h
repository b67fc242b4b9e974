/* S3 response bodies (XML) parsed with expat into a small element tree, and the few
 * request bodies the plugin sends (DeleteObjects, CompleteMultipartUpload).  Element
 * names are matched without namespace prefixes; DOCTYPEs are refused. */
#ifndef S3_XML_H
#define S3_XML_H

#include <stddef.h>

#include "s3util.h"

struct s3xml_node {
  char *name;                   /* local name, no prefix */
  struct s3buf text;            /* concatenated character data directly inside */
  struct s3xml_node *child;     /* first child */
  struct s3xml_node *next;      /* next sibling */
};

/* Parse a whole document.  Returns the root element, or NULL if the body is not
 * well-formed XML (or has a DOCTYPE, or memory ran out). */
struct s3xml_node *s3xml_parse (const char *data, size_t len);
void s3xml_free (struct s3xml_node *n);
/* First child element called name, or NULL. */
const struct s3xml_node *s3xml_child (const struct s3xml_node *n, const char *name);
/* Text of the first child called name, or NULL if there is no such child. */
const char *s3xml_child_text (const struct s3xml_node *n, const char *name);

/* <Error><Code/><Message/><RequestId/></Error>.  Fills the buffers ("" if absent);
 * returns 0 if the body was an S3 error document, else -1. */
int s3xml_error (const char *data, size_t len, char *code, size_t codesz,
                 char *message, size_t msgsz, char *request_id, size_t ridsz);

/* ListObjectsV2 result, keys decoded when <EncodingType>url</EncodingType>.  emit is
 * called for each <Contents> in document order; a
 * non-zero return stops and is returned.  *truncated and next_token are filled.
 * Returns 0, the callback's value, or -1 for a malformed body. */
struct s3xml_object {
  const char *key;
  long long size;               /* -1 if absent */
  long long mtime;              /* -1 if absent */
  const char *etag;             /* with its quotes as S3 sends it, or NULL */
};
int s3xml_list (const char *data, size_t len,
                int (*emit) (void *opaque, const struct s3xml_object *o), void *opaque,
                int *truncated, char *next_token, size_t tokensz);

/* InitiateMultipartUploadResult/UploadId.  Returns a malloc'ed id or NULL. */
char *s3xml_upload_id (const char *data, size_t len);

/* CompleteMultipartUploadResult/ETag into etag.  Returns 0, or -1 if the body is not a
 * CompleteMultipartUploadResult (S3 may answer 200 with an <Error> document). */
int s3xml_complete (const char *data, size_t len, char *etag, size_t etagsz);

/* DeleteResult: calls result(opaque, key, code) for each <Deleted> (code NULL) and each
 * <Error> (code = its <Code>, message in msg).  Returns 0, or -1 if malformed. */
int s3xml_delete_result (const char *data, size_t len,
                         void (*result) (void *opaque, const char *key, const char *code,
                                         const char *msg),
                         void *opaque);

/* Decode %XX and '+' (space) in place: keys of an encoding-type=url listing. */
void s3xml_form_decode (char *s);

/* Append s with &, <, >, " and ' escaped. */
int s3xml_escape (struct s3buf *b, const char *s);

#endif
