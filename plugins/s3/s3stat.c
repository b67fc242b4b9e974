/* The stat() callback of the s3 plugin (HeadObject, with a one-byte GET to learn S3's
 * <Code> when a HEAD fails without one), and the response-to-rm_object_info mapping
 * that get() shares.  Apart from s3.c because put() (s3put.c) reads an ETag back
 * through stat(), and s3.c calls into s3put.c: neither calls the other now. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include <releasemanager/backend.h>

#include "s3handle.h"

void
s3_object_info (struct rm_object_info *info, const struct s3_request *r)
{
  if (!RM_STRUCT_HAS (info, struct rm_object_info, etag))
    return;
  info->size = r->content_length;
  info->mtime = r->last_modified;
  snprintf (info->etag, sizeof info->etag, "%s", r->etag);
}

int
s3_stat (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err)
{
  struct s3_handle *s = handle;
  struct s3_request r;
  int rc;
  if ((rc = rm_key_check (key, err)) != RM_OK)
    return rc;
  memset (&r, 0, sizeof r);
  r.op = "stat";
  r.method = "HEAD";
  r.key = key;
  rc = s3_request_do (&s->client, &r, err);
  if (rc == RM_OK)
    s3_object_info (info, &r);
  else if (rc != RM_E_NOT_FOUND && rc != RM_E_TRANSIENT && r.s3_code[0] == '\0' && r.status >= 400) {
    /* A HEAD error has no body, so "403" cannot tell a bad signature from a missing
     * permission.  Ask again with a one-byte GET to get S3's <Code> for the message. */
    struct s3_request g;
    struct rm_error e2 = { 0, "" };
    int rc2;
    memset (&g, 0, sizeof g);
    g.op = "stat";
    g.method = "GET";
    g.key = key;
    g.no_retry = 1;
    s3_req_header (&g, "range", "bytes=0-0");
    rc2 = s3_request_do (&s->client, &g, &e2);
    if (rc2 != RM_OK && g.s3_code[0]) {
      rc = rc2;
      *err = e2;
    }
    s3_req_free (&g);
  }
  s3_req_free (&r);
  return rc;
}
