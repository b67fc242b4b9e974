/* Fuzz target: the S3 response parser (plugins/s3/s3xml.c), each entry point the plugin
 * calls on a response body, on the same bytes. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "s3xml.h"
#include "fuzz.h"

static int
on_object (void *opaque, const struct s3xml_object *o)
{
  FUZZ_ASSERT (o->key != NULL);
  ++*(size_t *) opaque;
  return 0;
}

static void
on_result (void *opaque, const char *key, const char *code, const char *msg)
{
  (void) code;
  (void) msg;
  FUZZ_ASSERT (key != NULL);
  ++*(size_t *) opaque;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  struct s3xml_node *root = s3xml_parse (text, size);
  if (root) {
    (void) s3xml_child_text (root, "Key");
    s3xml_free (root);
  }
  char code[64], msg[256], rid[64];
  if (s3xml_error (text, size, code, sizeof code, msg, sizeof msg, rid, sizeof rid) == 0)
    FUZZ_ASSERT (strlen (code) < sizeof code && strlen (msg) < sizeof msg);
  size_t n = 0;
  int truncated = -1;
  char token[128];
  if (s3xml_list (text, size, on_object, &n, &truncated, token, sizeof token) == 0)
    FUZZ_ASSERT (strlen (token) < sizeof token);
  free (s3xml_upload_id (text, size));
  char etag[128];
  (void) s3xml_complete (text, size, etag, sizeof etag);
  (void) s3xml_delete_result (text, size, on_result, &n);

  /* The escaper and the form decoder on the raw bytes. */
  char *s = fuzz_strndup (data, size);
  struct s3buf b;
  memset (&b, 0, sizeof b);
  if (s3xml_escape (&b, s) == 0 && b.data)
    FUZZ_ASSERT (!strpbrk (b.data, "<>\"'"));
  free (b.data);
  s3xml_form_decode (s);
  free (s);
  return 0;
}
