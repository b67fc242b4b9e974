/* put() of the s3 plugin.  The reader is read exactly once, in memory blocks: an
 * object of at most multipart_threshold bytes (or of its announced size) is buffered
 * whole and sent as one PutObject; a larger one becomes a multipart upload of
 * multipart_chunk_size parts, buffered one at a time.  Every body has a known length,
 * Content-MD5 and a signed SHA-256 before it is sent, so retries resend identical bytes
 * without reader->rewind and the store rejects anything short or altered; a failed
 * multipart upload is aborted.  Conditional writes whose answer was lost are resolved
 * by reading the ETag back. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <releasemanager/backend.h>

#include "s3handle.h"
#include "s3xml.h"

struct block {
  unsigned char *data;
  size_t len, cap;
};

/* Read until b holds `want` bytes or the reader ends.  Returns 1 at end of data, 0 if
 * more may follow, -1 if the reader failed, -2 out of memory. */
static int
fill (const struct rm_reader *rd, struct block *b, size_t want)
{
  if (want > b->cap) {
    unsigned char *p = realloc (b->data, want);
    if (p == NULL)
      return -2;
    b->data = p;
    b->cap = want;
  }
  while (b->len < want) {
    long long n = rd->read (rd->opaque, b->data + b->len, want - b->len);
    if (n < 0)
      return -1;
    if (n == 0)
      return 1;
    b->len += (size_t) n;
  }
  return 0;
}

void
s3_md5 (const void *data, size_t len, unsigned char md[16])
{
  unsigned int n = 16;
  EVP_Digest (data, len, md, &n, EVP_md5 (), NULL);
}

/* Headers every new object gets.  Strings must outlive the request. */
static void
object_headers (struct s3_handle *s, struct s3_request *r, const struct rm_put_options *opts)
{
  s3_req_header (r, "content-type", opts && opts->content_type ? opts->content_type
                                                               : "application/octet-stream");
  if (s->sse)
    s3_req_header (r, "x-amz-server-side-encryption", s->sse);
  if (s->sse_kms_key_id)
    s3_req_header (r, "x-amz-server-side-encryption-aws-kms-key-id", s->sse_kms_key_id);
  if (s->storage_class)
    s3_req_header (r, "x-amz-storage-class", s->storage_class);
}

static void
cond_headers (struct s3_request *r, const struct rm_put_options *opts)
{
  if (opts && (opts->flags & RM_PUT_IF_NONE_MATCH))
    s3_req_header (r, "if-none-match", "*");
  if (opts && opts->if_match)
    s3_req_header (r, "if-match", opts->if_match);
}

/* A conditional write that was retried may have succeeded on an attempt whose answer
 * was lost; the retry then fails its precondition against our own object.  If the
 * stored ETag is the one our bytes produce, the put succeeded. */
static int
ours_after_all (struct s3_handle *s, const char *key, const char *want_etag)
{
  struct rm_object_info oi = { sizeof oi, -1, -1, "" };
  struct rm_error e = { 0, "" };
  return s3_stat (s, key, &oi, &e) == RM_OK && strcmp (oi.etag, want_etag) == 0;
}

static int
precondition_code (const struct rm_put_options *opts, int rc)
{
  if (rc == RM_E_PRECONDITION && opts && (opts->flags & RM_PUT_IF_NONE_MATCH) && !opts->if_match)
    return RM_E_EXISTS;
  return rc;
}

static void
fill_info (struct rm_object_info *info, long long size, const char *etag)
{
  if (!RM_STRUCT_HAS (info, struct rm_object_info, etag))
    return;
  info->size = size;
  info->mtime = (long long) time (NULL);
  snprintf (info->etag, sizeof info->etag, "%s", etag);
}

int
s3_put_single (struct s3_handle *s, const char *key, const unsigned char *data, size_t len,
               const struct rm_put_options *opts, struct rm_object_info *info,
               struct rm_error *err)
{
  struct s3_request r;
  unsigned char md[16];
  char md5b64[32], md5hex[33], sha[S3_SHA256_HEX_LEN + 1], want_etag[40];
  int rc;
  memset (&r, 0, sizeof r);
  s3_md5 (data, len, md);
  s3_base64 (md, 16, md5b64);
  s3_hex (md, 16, md5hex);
  snprintf (want_etag, sizeof want_etag, "\"%s\"", md5hex);
  s3_sha256_hex (data, len, sha);
  r.op = "put";
  r.method = "PUT";
  r.key = key;
  r.body = (const char *) data;
  r.body_len = len;
  r.body_sha256 = sha;
  s3_req_header (&r, "content-md5", md5b64);
  object_headers (s, &r, opts);
  cond_headers (&r, opts);
  rc = s3_request_do (&s->client, &r, err);
  if (rc == RM_E_PRECONDITION && r.sends > 1 && ours_after_all (s, key, want_etag)) {
    rc = RM_OK;
    r.etag[0] = '\0';            /* r.etag came with the 412, not with our write */
  }
  if (rc == RM_OK)
    fill_info (info, (long long) len, r.etag[0] ? r.etag : want_etag);
  else
    rc = err->code = precondition_code (opts, rc);
  s3_req_free (&r);
  return rc;
}

struct part {
  char etag[RM_ETAG_MAX];
  unsigned char md5[16];
};

static void
mp_abort (struct s3_handle *s, const char *key, const char *upload_id)
{
  struct s3_request r;
  struct rm_error e = { 0, "" };
  memset (&r, 0, sizeof r);
  r.op = "abort multipart upload of";
  r.method = "DELETE";
  r.key = key;
  s3_req_query (&r, "uploadId", upload_id);
  if (s3_request_do (&s->client, &r, &e) != RM_OK && RM_HOST_HAS (s->client.host, log))
    s->client.host->log (s->client.host, RM_LOG_WARN, "s3: %s (the incomplete upload is invisible "
                         "but keeps its storage until a lifecycle rule removes it)", e.message);
  s3_req_free (&r);
}

static int
mp_part (struct s3_handle *s, const char *key, const char *upload_id, int number,
         const unsigned char *data, size_t len, struct part *out, struct rm_error *err)
{
  struct s3_request r;
  char num[16], md5b64[32], sha[S3_SHA256_HEX_LEN + 1];
  int rc;
  memset (&r, 0, sizeof r);
  s3_md5 (data, len, out->md5);
  s3_base64 (out->md5, 16, md5b64);
  s3_sha256_hex (data, len, sha);
  snprintf (num, sizeof num, "%d", number);
  r.op = "put (part)";
  r.method = "PUT";
  r.key = key;
  r.body = (const char *) data;
  r.body_len = len;
  r.body_sha256 = sha;
  s3_req_query (&r, "partNumber", num);
  s3_req_query (&r, "uploadId", upload_id);
  s3_req_header (&r, "content-md5", md5b64);
  rc = s3_request_do (&s->client, &r, err);
  if (rc == RM_OK) {
    if (r.etag[0] == '\0')
      rc = rm_error_set (err, RM_E_IO, "put '%s': part %d: the server sent no ETag", key, number);
    else
      snprintf (out->etag, sizeof out->etag, "%s", r.etag);
  }
  s3_req_free (&r);
  return rc;
}

static int
put_multipart (struct s3_handle *s, const char *key, const struct rm_reader *rd,
               struct block *pending, int eof, const struct rm_put_options *opts,
               struct rm_object_info *info, struct rm_error *err)
{
  struct s3_request r;
  struct part *parts = NULL;
  size_t nparts = 0, cap = 0, i;
  char *upload_id = NULL, want_etag[64];
  struct s3buf xml = S3BUF_INIT;
  long long total = 0;
  int rc;

  memset (&r, 0, sizeof r);
  r.op = "put (start multipart upload)";
  r.method = "POST";
  r.key = key;
  s3_req_query (&r, "uploads", NULL);
  object_headers (s, &r, opts);
  rc = s3_request_do (&s->client, &r, err);
  if (rc == RM_OK && (upload_id = s3xml_upload_id (r.body_out.data, r.body_out.len)) == NULL)
    rc = rm_error_set (err, RM_E_IO, "put '%s': unexpected answer to CreateMultipartUpload", key);
  s3_req_free (&r);
  if (rc != RM_OK)
    return rc;

  for (;;) {
    size_t n;
    if (!eof) {
      int f = fill (rd, pending, (size_t) s->chunk);
      if (f == -1) {
        rc = rm_error_set (err, RM_E_ABORTED, "put '%s': the reader failed", key);
        goto fail;
      }
      if (f == -2) {
        rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
        goto fail;
      }
      eof = f == 1;
    }
    if (pending->len == 0)
      break;
    if (nparts == S3_MAX_PARTS) {
      rc = rm_error_set (err, RM_E_INVALID, "put '%s': more than %d parts of %lld bytes: raise "
                         "multipart_chunk_size", key, S3_MAX_PARTS, s->chunk);
      goto fail;
    }
    if (nparts == cap) {
      struct part *p = realloc (parts, (cap = cap ? 2 * cap : 16) * sizeof *p);
      if (p == NULL) {
        rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
        goto fail;
      }
      parts = p;
    }
    n = pending->len < (size_t) s->chunk ? pending->len : (size_t) s->chunk;
    if (RM_HOST_HAS (s->client.host, should_stop) && s->client.host->should_stop (s->client.host)) {
      rc = rm_error_set (err, RM_E_TRANSIENT, "put '%s': stopped", key);
      goto fail;
    }
    rc = mp_part (s, key, upload_id, (int) nparts + 1, pending->data, n, &parts[nparts], err);
    if (rc != RM_OK)
      goto fail;
    nparts++;
    total += (long long) n;
    memmove (pending->data, pending->data + n, pending->len - n);
    pending->len -= n;
    if (eof && pending->len == 0)
      break;
  }
  if (rd->size >= 0 && total != rd->size) {
    rc = rm_error_set (err, RM_E_ABORTED, "put '%s': the reader gave %lld bytes, announced %lld",
                       key, total, rd->size);
    goto fail;
  }

  /* The ETag S3 will compute: MD5 of the parts' binary MD5s, then "-N". */
  {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
    unsigned char md[16];
    unsigned int mdlen = 16;
    char hex[33];
    if (ctx == NULL) {
      rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
      goto fail;
    }
    EVP_DigestInit_ex (ctx, EVP_md5 (), NULL);
    for (i = 0; i < nparts; i++)
      EVP_DigestUpdate (ctx, parts[i].md5, 16);
    EVP_DigestFinal_ex (ctx, md, &mdlen);
    EVP_MD_CTX_free (ctx);
    s3_hex (md, 16, hex);
    snprintf (want_etag, sizeof want_etag, "\"%s-%zu\"", hex, nparts);
  }

  s3buf_puts (&xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
  for (i = 0; i < nparts; i++) {
    s3buf_printf (&xml, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
    s3xml_escape (&xml, parts[i].etag);
    s3buf_puts (&xml, "</ETag></Part>");
  }
  if (s3buf_puts (&xml, "</CompleteMultipartUpload>") < 0) {
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
    goto fail;
  }
  memset (&r, 0, sizeof r);
  r.op = "put (complete multipart upload)";
  r.method = "POST";
  r.key = key;
  r.body = xml.data;
  r.body_len = xml.len;
  s3_req_query (&r, "uploadId", upload_id);
  s3_req_header (&r, "content-type", "application/xml");
  cond_headers (&r, opts);
  rc = s3_request_do (&s->client, &r, err);
  if (rc != RM_OK && r.sends > 1 && (rc == RM_E_NOT_FOUND || rc == RM_E_PRECONDITION)
      && ours_after_all (s, key, want_etag))
    rc = RM_OK;                   /* an earlier attempt completed it */
  if (rc == RM_OK) {
    char etag[RM_ETAG_MAX];
    if (r.body_out.len && s3xml_complete (r.body_out.data, r.body_out.len, etag, sizeof etag) == 0
        && etag[0])
      fill_info (info, total, etag);
    else
      fill_info (info, total, want_etag);
    s3_req_free (&r);
    goto done;
  }
  rc = err->code = precondition_code (opts, rc);
  s3_req_free (&r);
fail:
  mp_abort (s, key, upload_id);
done:
  s3buf_free (&xml);
  free (parts);
  free (upload_id);
  return rc;
}

int
s3_put (void *handle, const char *key, const struct rm_reader *reader,
        const struct rm_put_options *opts, struct rm_object_info *info, struct rm_error *err)
{
  struct s3_handle *s = handle;
  struct block b = { NULL, 0, 0 };
  int rc, f;
  if ((rc = rm_key_check (key, err)) != RM_OK)
    return rc;
  if (opts && !RM_STRUCT_HAS (opts, struct rm_put_options, content_type))
    return rm_error_set (err, RM_E_INVALID, "put '%s': rm_put_options too small", key);
  if (s->readonly)
    return rm_error_set (err, RM_E_PERMISSION, "put '%s': the handle was opened read-only", key);
  /* Read one byte past the threshold (or past the announced size, which spares small
   * objects a threshold-sized buffer) to learn which way to upload. */
  if (reader->size >= 0 && reader->size > s->threshold)
    f = 0;
  else
    f = fill (reader, &b, (size_t) (reader->size >= 0 ? reader->size : s->threshold) + 1);
  if (f == 0 && reader->size >= 0 && reader->size <= s->threshold)
    f = fill (reader, &b, (size_t) s->threshold + 1);   /* more than announced */
  if (f == -1)
    rc = rm_error_set (err, RM_E_ABORTED, "put '%s': the reader failed", key);
  else if (f == -2)
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory buffering '%s'", key);
  else if (f == 1 && reader->size >= 0 && (long long) b.len != reader->size)
    rc = rm_error_set (err, RM_E_ABORTED, "put '%s': the reader gave %zu bytes, announced %lld",
                       key, b.len, reader->size);
  else if (f == 1)
    rc = s3_put_single (s, key, b.data ? b.data : (const unsigned char *) "", b.len, opts, info, err);
  else
    rc = put_multipart (s, key, reader, &b, 0, opts, info, err);
  free (b.data);
  return rc;
}
