/* The s3 plugin's HTTP layer.  Each request is signed afresh per attempt (the clock
 * and the credentials may change between attempts), sent on a pooled curl easy handle
 * whose connections live in a CURLSH shared by the whole handle, and retried while the
 * failure is TRANSIENT.  Bodies we send are always in memory, so a retry resends
 * exactly the same bytes; a GET that streams to the writer is restarted only when
 * the writer can reset. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "s3http.h"
#include "s3xml.h"

static void
share_lock (CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
  struct s3_client *c = userptr;
  (void) h; (void) access;
  pthread_mutex_lock (&c->share_locks[data]);
}

static void
share_unlock (CURL *h, curl_lock_data data, void *userptr)
{
  struct s3_client *c = userptr;
  (void) h;
  pthread_mutex_unlock (&c->share_locks[data]);
}

int
s3_client_init (struct s3_client *c, struct rm_error *err)
{
  int i;
  CURLcode grc = s3_curl_global_init ();
  if (grc != CURLE_OK)
    return rm_error_set (err, RM_E_INTERNAL, "libcurl initialization failed: %s",
                         curl_easy_strerror (grc));
  for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init (&c->share_locks[i], NULL);
  pthread_mutex_init (&c->pool_lock, NULL);
  c->share = curl_share_init ();
  if (c->share == NULL)
    return rm_error_set (err, RM_E_NOMEM, "out of memory (curl share)");
  curl_share_setopt (c->share, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt (c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt (c->share, CURLSHOPT_USERDATA, c);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  return RM_OK;
}

void
s3_client_cleanup (struct s3_client *c)
{
  size_t i;
  int j;
  for (i = 0; i < c->npool; i++)
    curl_easy_cleanup (c->pool[i]);
  free (c->pool);
  c->pool = NULL;
  c->npool = 0;
  if (c->share)
    curl_share_cleanup (c->share);
  c->share = NULL;
  for (j = 0; j < CURL_LOCK_DATA_LAST; j++)
    pthread_mutex_destroy (&c->share_locks[j]);
  pthread_mutex_destroy (&c->pool_lock);
}

static CURL *
pool_get (struct s3_client *c)
{
  CURL *h = NULL;
  pthread_mutex_lock (&c->pool_lock);
  if (c->npool > 0)
    h = c->pool[--c->npool];
  pthread_mutex_unlock (&c->pool_lock);
  if (h == NULL)
    h = curl_easy_init ();
  return h;
}

static void
pool_put (struct s3_client *c, CURL *h)
{
  pthread_mutex_lock (&c->pool_lock);
  if (c->npool == c->pool_cap) {
    size_t cap = c->pool_cap ? 2 * c->pool_cap : 8;
    CURL **p = realloc (c->pool, cap * sizeof *p);
    if (p == NULL) {
      pthread_mutex_unlock (&c->pool_lock);
      curl_easy_cleanup (h);
      return;
    }
    c->pool = p;
    c->pool_cap = cap;
  }
  c->pool[c->npool++] = h;
  pthread_mutex_unlock (&c->pool_lock);
}

void
s3_req_header (struct s3_request *r, const char *name, const char *value)
{
  if (r->nheaders < S3_MAX_HEADERS)
    r->headers[r->nheaders++] = (struct sigv4_pair) { name, value };
}

void
s3_req_query (struct s3_request *r, const char *name, const char *value)
{
  if (r->nquery < S3_MAX_QUERY)
    r->query[r->nquery++] = (struct sigv4_pair) { name, value };
}

void
s3_req_free (struct s3_request *r)
{
  s3buf_free (&r->body_out);
  if (r->md5)
    EVP_MD_CTX_free (r->md5);
  r->md5 = NULL;
}

/* ---- error mapping: the one place that turns S3 answers into RM_E_* ---- */

static const struct {
  const char *code;
  int rm;
} code_map[] = {
  { "NoSuchKey", RM_E_NOT_FOUND },
  { "NoSuchUpload", RM_E_NOT_FOUND },
  { "NotFound", RM_E_NOT_FOUND },
  { "NoSuchBucket", RM_E_CONFIG },
  { "PermanentRedirect", RM_E_CONFIG },
  { "AuthorizationHeaderMalformed", RM_E_CONFIG },
  { "IllegalLocationConstraintException", RM_E_CONFIG },
  { "PreconditionFailed", RM_E_PRECONDITION },
  { "AccessDenied", RM_E_PERMISSION },
  { "AllAccessDisabled", RM_E_PERMISSION },
  { "AccountProblem", RM_E_PERMISSION },
  { "InvalidObjectState", RM_E_PERMISSION },
  { "InvalidAccessKeyId", RM_E_AUTH },
  { "SignatureDoesNotMatch", RM_E_AUTH },
  { "ExpiredToken", RM_E_AUTH },
  { "InvalidToken", RM_E_AUTH },
  { "TokenRefreshRequired", RM_E_AUTH },
  { "MissingSecurityHeader", RM_E_AUTH },
  { "RequestTimeTooSkewed", RM_E_AUTH },
  { "InvalidSecurity", RM_E_AUTH },
  { "SlowDown", RM_E_TRANSIENT },
  { "ServiceUnavailable", RM_E_TRANSIENT },
  { "InternalError", RM_E_TRANSIENT },
  { "RequestTimeout", RM_E_TRANSIENT },
  { "Throttling", RM_E_TRANSIENT },
  { "ThrottlingException", RM_E_TRANSIENT },
  { "RequestLimitExceeded", RM_E_TRANSIENT },
  { "TooManyRequests", RM_E_TRANSIENT },
  { "OperationAborted", RM_E_TRANSIENT },
  { "ConditionalRequestConflict", RM_E_TRANSIENT },
  { "BadDigest", RM_E_TRANSIENT },              /* corrupted in transit: resend */
  { "XAmzContentSHA256Mismatch", RM_E_TRANSIENT },
  { "IncompleteBody", RM_E_TRANSIENT },
  { "XMinioServerNotInitialized", RM_E_TRANSIENT },
  { "EntityTooLarge", RM_E_INVALID },
  { "EntityTooSmall", RM_E_INVALID },
  { "InvalidArgument", RM_E_INVALID },
  { "InvalidRequest", RM_E_INVALID },
  { "InvalidDigest", RM_E_INVALID },
  { "KeyTooLongError", RM_E_INVALID },
  { "InvalidBucketName", RM_E_CONFIG },
  { "MalformedXML", RM_E_INVALID },
  { "InvalidPart", RM_E_INVALID },
  { "InvalidPartOrder", RM_E_INVALID },
  { "InvalidStorageClass", RM_E_CONFIG },
  { "KMS.NotFoundException", RM_E_CONFIG },
  { "QuotaExceeded", RM_E_NOSPACE },
  { "XMinioStorageFull", RM_E_NOSPACE },
  { "NotImplemented", RM_E_UNSUPPORTED },
};

int
s3_map_error (long status, const char *code)
{
  size_t i;
  if (code && *code)
    for (i = 0; i < sizeof code_map / sizeof code_map[0]; i++)
      if (strcmp (code_map[i].code, code) == 0)
        return code_map[i].rm;
  if (status >= 200 && status < 300)
    return RM_OK;
  switch (status) {
  case 301: case 307: return RM_E_CONFIG;      /* wrong region or endpoint */
  case 304: case 412: return RM_E_PRECONDITION;
  case 400: return RM_E_INVALID;
  case 401: return RM_E_AUTH;
  case 403: return RM_E_PERMISSION;
  case 404: return RM_E_NOT_FOUND;
  case 405: case 501: return RM_E_UNSUPPORTED;
  case 408: case 409: case 429: return RM_E_TRANSIENT;
  case 413: return RM_E_INVALID;
  case 507: return RM_E_NOSPACE;
  default: break;
  }
  if (status >= 500 && status < 600)
    return RM_E_TRANSIENT;
  return RM_E_IO;
}

int
s3_map_curl (CURLcode rc)
{
  switch (rc) {
  case CURLE_OK: return RM_OK;
  case CURLE_OUT_OF_MEMORY: return RM_E_NOMEM;
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_PARTIAL_FILE:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_READ_ERROR:
  case CURLE_WEIRD_SERVER_REPLY:
    return RM_E_TRANSIENT;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return RM_E_CONFIG;
  case CURLE_ABORTED_BY_CALLBACK:
  case CURLE_WRITE_ERROR:
    return RM_E_ABORTED;
  default:
    return RM_E_IO;
  }
}

long long
s3_backoff_ms (long base_ms, long max_ms, int attempt, long long retry_after_ms,
               unsigned *seed)
{
  long long cap = base_ms, d;
  int i;
  for (i = 1; i < attempt && cap < max_ms; i++)
    cap *= 2;
  if (cap > max_ms)
    cap = max_ms;
  d = cap > 0 ? (long long) (rand_r (seed) % (cap + 1)) : 0;
  if (retry_after_ms >= 0) {
    /* Honour the server's wish, but never wait longer than the configured cap. */
    if (retry_after_ms > d)
      d = retry_after_ms;
    if (d > max_ms)
      d = max_ms;
  }
  return d;
}

/* ---- one attempt ---- */

struct attempt {
  struct s3_client *c;
  struct s3_request *r;
  CURL *h;
};

static void
reset_response (struct s3_request *r)
{
  r->etag[0] = r->request_id[0] = r->s3_code[0] = r->sse[0] = r->bucket_region[0] = '\0';
  r->content_length = r->last_modified = r->retry_after_ms = r->server_date = -1;
}

static void
copy_field (char *dst, size_t size, const char *src)
{
  size_t n = strlen (src);
  if (n >= size)
    n = size - 1;
  memcpy (dst, src, n);
  dst[n] = '\0';
}

static size_t
on_header (char *buf, size_t size, size_t nitems, void *ud)
{
  struct attempt *a = ud;
  struct s3_request *r = a->r;
  size_t n = size * nitems, vlen;
  char name[64], value[512];
  const char *colon = memchr (buf, ':', n), *v, *end = buf + n;
  if (n >= 5 && memcmp (buf, "HTTP/", 5) == 0) {
    reset_response (r);           /* a new response (e.g. after 100 Continue) */
    return n;
  }
  if (colon == NULL || (size_t) (colon - buf) >= sizeof name)
    return n;
  memcpy (name, buf, (size_t) (colon - buf));
  name[colon - buf] = '\0';
  for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
    ;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  vlen = (size_t) (end - v) < sizeof value - 1 ? (size_t) (end - v) : sizeof value - 1;
  memcpy (value, v, vlen);
  value[vlen] = '\0';
  if (strcasecmp (name, "ETag") == 0)
    copy_field (r->etag, sizeof r->etag, value);
  else if (strcasecmp (name, "Content-Length") == 0)
    r->content_length = strtoll (value, NULL, 10);
  else if (strcasecmp (name, "Last-Modified") == 0)
    r->last_modified = s3_parse_time (value);
  else if (strcasecmp (name, "x-amz-request-id") == 0)
    copy_field (r->request_id, sizeof r->request_id, value);
  else if (strcasecmp (name, "x-amz-server-side-encryption") == 0)
    copy_field (r->sse, sizeof r->sse, value);
  else if (strcasecmp (name, "Date") == 0)
    r->server_date = s3_parse_time (value);
  else if (strcasecmp (name, "x-amz-bucket-region") == 0)
    copy_field (r->bucket_region, sizeof r->bucket_region, value);
  else if (strcasecmp (name, "Retry-After") == 0) {
    char *e;
    long long secs = strtoll (value, &e, 10);
    if (e != value && *e == '\0' && secs >= 0)
      r->retry_after_ms = secs * 1000;
    else {
      long long t = s3_parse_time (value);
      if (t >= 0)
        r->retry_after_ms = t > (long long) time (NULL) ? (t - (long long) time (NULL)) * 1000 : 0;
    }
  }
  return n;
}

static size_t
on_body (char *buf, size_t size, size_t nmemb, void *ud)
{
  struct attempt *a = ud;
  struct s3_request *r = a->r;
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo (a->h, CURLINFO_RESPONSE_CODE, &status);
  if (r->writer && status >= 200 && status < 300) {
    r->streaming = 1;
    if (r->md5)
      EVP_DigestUpdate (r->md5, buf, n);
    r->received += (long long) n;
    if (r->writer->write (r->writer->opaque, buf, n) != 0) {
      r->aborted = 1;
      return 0;
    }
    return n;
  }
  r->received += (long long) n;
  if (r->body_out.len + n > S3_ERRBODY_MAX)
    return n;                     /* keep the start; it holds the <Code> */
  if (s3buf_add (&r->body_out, buf, n) < 0)
    return 0;
  return n;
}

static size_t
on_read (char *buf, size_t size, size_t nitems, void *ud)
{
  struct attempt *a = ud;
  struct s3_request *r = a->r;
  size_t n = size * nitems, left = r->body_len - r->upload_off;
  if (n > left)
    n = left;
  memcpy (buf, r->body + r->upload_off, n);
  r->upload_off += n;
  return n;
}

static int
seek_cb (void *ud, curl_off_t offset, int origin)
{
  struct attempt *a = ud;
  if (origin != SEEK_SET || offset < 0 || (size_t) offset > a->r->body_len)
    return CURL_SEEKFUNC_FAIL;
  a->r->upload_off = (size_t) offset;
  return CURL_SEEKFUNC_OK;
}

/* Counts the request headers going out: more than one per attempt means libcurl
 * resent the request itself (a kept-alive connection closed under it), so an earlier
 * copy may have been applied by the server. */
static int
on_debug (CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
  struct attempt *a = ud;
  (void) h; (void) data; (void) size;
  if (type == CURLINFO_HEADER_OUT)
    a->r->sends++;
  return 0;
}

static int
is_plain_md5_etag (const char *etag)
{
  size_t i, n = strlen (etag);
  if (n != 34 || etag[0] != '"' || etag[33] != '"')
    return 0;
  for (i = 1; i < 33; i++)
    if (!isxdigit ((unsigned char) etag[i]))
      return 0;
  return 1;
}

static void
describe_failure (struct s3_client *c, struct s3_request *r, int rc, const char *detail,
                  struct rm_error *err)
{
  char what[RM_KEY_MAX + 64];
  if (r->key)
    snprintf (what, sizeof what, "%s '%s' in bucket '%s'", r->op, r->key, c->bucket);
  else
    snprintf (what, sizeof what, "%s in bucket '%s'", r->op, c->bucket);
  if (r->status > 0)
    rm_error_set (err, rc, "%s: %s (HTTP %ld%s%s%s%s)", what, detail, r->status,
                  r->s3_code[0] ? " " : "", r->s3_code,
                  r->request_id[0] ? ", request id " : "", r->request_id);
  else
    rm_error_set (err, rc, "%s: %s", what, detail);
  if (err && r->bucket_region[0] && strcmp (r->bucket_region, c->region) != 0) {
    size_t l = strlen (err->message);
    snprintf (err->message + l, sizeof err->message - l, "; the bucket is in region %s, "
              "not %s: set region=%s", r->bucket_region, c->region, r->bucket_region);
  }
  if (r->attempts > 1 && err) {
    size_t l = strlen (err->message);
    snprintf (err->message + l, sizeof err->message - l, " after %d attempts", r->attempts);
  }
}

static int
attempt_once (struct s3_client *c, struct s3_request *r, CURL *h, struct rm_error *err)
{
  struct attempt a = { c, r, h };
  struct s3_creds cr;
  struct sigv4_pair hdrs[S3_MAX_HEADERS + 1];
  struct sigv4_request sreq;
  struct sigv4_params sp;
  struct sigv4_result sres;
  struct s3buf url = S3BUF_INIT, path = S3BUF_INIT, line = S3BUF_INIT;
  struct curl_slist *list = NULL, *tmp;
  char body_hash[S3_SHA256_HEX_LEN + 1], hostbuf[512], curlerr[CURL_ERROR_SIZE];
  CURLcode crc;
  size_t i;
  int rc;

  memset (&sres, 0, sizeof sres);
  memset (&cr, 0, sizeof cr);
  r->status = 0;
  r->received = 0;
  r->aborted = 0;
  r->streaming = 0;
  r->upload_off = 0;
  reset_response (r);
  s3buf_reset (&r->body_out);
  if (r->md5)
    EVP_MD_CTX_free (r->md5);
  r->md5 = NULL;
  if (r->writer && c->verify_md5) {
    r->md5 = EVP_MD_CTX_new ();
    if (r->md5 == NULL || !EVP_DigestInit_ex (r->md5, EVP_md5 (), NULL))
      return rm_error_set (err, RM_E_NOMEM, "out of memory");
  }

  rc = s3_creds_get (c->creds, &cr, err);
  if (rc != RM_OK)
    return rc;

  /* Host and path: virtual-hosted ("bucket.host/key") or path style ("host/bucket/key"). */
  if (c->path_style) {
    snprintf (hostbuf, sizeof hostbuf, "%s", c->hostport);
    s3buf_printf (&path, "/%s", c->bucket);
    if (r->key)
      s3buf_printf (&path, "/%s", r->key);
  }
  else {
    snprintf (hostbuf, sizeof hostbuf, "%s.%s", c->bucket, c->hostport);
    s3buf_printf (&path, "/%s", r->key ? r->key : "");
  }
  if (path.data == NULL) {
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
    goto done;
  }

  if (r->body_sha256 == NULL)
    s3_sha256_hex (r->body ? r->body : "", r->body ? r->body_len : 0, body_hash);
  hdrs[0] = (struct sigv4_pair) { "host", hostbuf };
  for (i = 0; i < r->nheaders; i++)
    hdrs[i + 1] = r->headers[i];
  memset (&sreq, 0, sizeof sreq);
  sreq.method = r->method;
  sreq.path = path.data;
  sreq.query = r->query;
  sreq.nquery = r->nquery;
  sreq.headers = hdrs;
  sreq.nheaders = r->nheaders + 1;
  sreq.payload_hash = r->body_sha256 ? r->body_sha256 : body_hash;
  memset (&sp, 0, sizeof sp);
  sp.access_key_id = cr.access_key_id;
  sp.secret_access_key = cr.secret_access_key;
  sp.session_token = cr.session_token;
  sp.region = c->region;
  sp.service = "s3";
  pthread_mutex_lock (&c->pool_lock);
  sp.when = time (NULL) + (time_t) c->clock_skew;
  pthread_mutex_unlock (&c->pool_lock);
  sp.add_content_sha256 = 1;
  if (sigv4_sign (&sreq, &sp, &sres) < 0) {
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory (signing)");
    goto done;
  }

  s3buf_printf (&url, "%s://%s%s%s%s", c->scheme, hostbuf, sres.canonical_uri,
                sres.query[0] ? "?" : "", sres.query);
  for (i = 0; i < r->nheaders + sres.nadded + 2; i++) {
    s3buf_reset (&line);
    if (i < r->nheaders)
      s3buf_printf (&line, "%s: %s", r->headers[i].name, r->headers[i].value);
    else if (i < r->nheaders + sres.nadded)
      s3buf_printf (&line, "%s: %s", sres.added[i - r->nheaders].name,
                    sres.added[i - r->nheaders].value);
    else if (i == r->nheaders + sres.nadded)
      s3buf_printf (&line, "Authorization: %s", sres.authorization);
    else
      s3buf_puts (&line, "Expect:");   /* no 100-continue round trip */
    if (line.data == NULL || (tmp = curl_slist_append (list, line.data)) == NULL) {
      rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
      goto done;
    }
    list = tmp;
  }
  if (url.data == NULL) {
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
    goto done;
  }

  curl_easy_reset (h);
  curlerr[0] = '\0';
  curl_easy_setopt (h, CURLOPT_URL, url.data);
  curl_easy_setopt (h, CURLOPT_SHARE, c->share);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt (h, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, curlerr);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, c->read_timeout);
  curl_easy_setopt (h, CURLOPT_TCP_KEEPALIVE, 1L);
  s3_curl_protocols (h);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, &a);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt (h, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt (h, CURLOPT_DEBUGDATA, &a);
  curl_easy_setopt (h, CURLOPT_VERBOSE, 1L);     /* only feeds on_debug */
  if (c->ca_bundle)
    curl_easy_setopt (h, CURLOPT_CAINFO, c->ca_bundle);
  if (c->insecure) {
    curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (strcmp (r->method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (strcmp (r->method, "PUT") == 0) {
    curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt (h, CURLOPT_READDATA, &a);
    curl_easy_setopt (h, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt (h, CURLOPT_SEEKDATA, &a);
    curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) (r->body ? r->body_len : 0));
  }
  else if (strcmp (r->method, "POST") == 0) {
    curl_easy_setopt (h, CURLOPT_POST, 1L);
    curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (r->body ? r->body_len : 0));
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
  }
  else if (strcmp (r->method, "GET") != 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, r->method);

  if (RM_HOST_HAS (c->host, log))
    c->host->log (c->host, RM_LOG_DEBUG, "s3: %s %s://%s%s%s%s", r->method, c->scheme, hostbuf,
                  sres.canonical_uri, sres.query[0] ? "?" : "", sres.query);
  crc = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &r->status);

  if (r->aborted) {
    rc = rm_error_set (err, RM_E_ABORTED, "%s '%s': the writer failed", r->op, r->key ? r->key : "");
    goto done;
  }
  if (crc != CURLE_OK) {
    char detail[CURL_ERROR_SIZE + 512];
    long st = r->status;
    rc = s3_map_curl (crc);
    snprintf (detail, sizeof detail, "%.5s://%.200s: %.256s", c->scheme, hostbuf,
              curlerr[0] ? curlerr : curl_easy_strerror (crc));
    r->status = 0;                /* a transport failure, whatever status came first */
    describe_failure (c, r, rc, detail, err);
    r->status = st;
    goto done;
  }
  /* S3 may answer a POST (CompleteMultipartUpload) with 200 and an <Error> document. */
  if (r->status < 200 || r->status >= 300
      || (strcmp (r->method, "POST") == 0 && r->body_out.len > 0
          && s3xml_error (r->body_out.data, r->body_out.len, NULL, 0, NULL, 0, NULL, 0) == 0)) {
    char message[512], rid[128];
    if (s3xml_error (r->body_out.data, r->body_out.len, r->s3_code, sizeof r->s3_code,
                     message, sizeof message, rid, sizeof rid) == 0) {
      if (r->request_id[0] == '\0')
        snprintf (r->request_id, sizeof r->request_id, "%s", rid);
    }
    else
      snprintf (message, sizeof message, "%s", r->status == 404 ? "not found" : "request failed");
    rc = s3_map_error (r->status, r->s3_code);
    if (rc == RM_OK)
      rc = RM_E_IO;
    describe_failure (c, r, rc, message[0] ? message : rm_strerror (rc), err);
    goto done;
  }
  /* 2xx.  A streamed body must be complete and, when the ETag is a plain MD5, intact. */
  if (r->writer && r->content_length >= 0 && r->received != r->content_length) {
    char detail[128];
    snprintf (detail, sizeof detail, "truncated body: %lld of %lld bytes", r->received,
              r->content_length);
    rc = RM_E_TRANSIENT;
    describe_failure (c, r, rc, detail, err);
    goto done;
  }
  if (r->writer && r->md5 && is_plain_md5_etag (r->etag) && strcmp (r->sse, "aws:kms") != 0) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    EVP_DigestFinal_ex (r->md5, md, &mdlen);
    s3_hex (md, mdlen, hex);
    if (strncasecmp (hex, r->etag + 1, 32) != 0) {
      rc = RM_E_TRANSIENT;
      describe_failure (c, r, rc, "body does not match its ETag (MD5): corrupted in transit", err);
      goto done;
    }
  }
  rc = RM_OK;

done:
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all (list);
  sigv4_result_free (&sres);
  s3_creds_clear (&cr);
  s3buf_free (&url);
  s3buf_free (&path);
  s3buf_free (&line);
  return rc;
}

static int
sleep_ms (struct s3_client *c, long long ms)
{
  while (ms > 0) {
    long long step = ms > 100 ? 100 : ms;
    struct timespec ts = { (time_t) (step / 1000), (long) (step % 1000) * 1000000L };
    if (RM_HOST_HAS (c->host, should_stop) && c->host->should_stop (c->host))
      return -1;
    nanosleep (&ts, NULL);
    ms -= step;
  }
  return 0;
}

int
s3_request_do (struct s3_client *c, struct s3_request *r, struct rm_error *err)
{
  CURL *h = pool_get (c);
  unsigned seed = (unsigned) time (NULL) ^ (unsigned) (uintptr_t) r;
  int rc = RM_E_INTERNAL, max = r->no_retry ? 1 : (c->max_attempts > 0 ? c->max_attempts : 1);
  if (h == NULL)
    return rm_error_set (err, RM_E_NOMEM, "out of memory (curl handle)");
  int skew_fixed = 0;
  for (r->attempts = 1;; r->attempts++) {
    rc = attempt_once (c, r, h, err);
    if (rc == RM_E_AUTH && !skew_fixed && r->attempts < max && r->server_date > 0
        && strcmp (r->s3_code, "RequestTimeTooSkewed") == 0) {
      /* Our clock is off (a container without NTP, a suspended VM): sign with the
       * server's time from now on, as the AWS SDKs do, and try again at once. */
      long long skew = r->server_date - (long long) time (NULL);
      pthread_mutex_lock (&c->pool_lock);
      c->clock_skew = skew;
      pthread_mutex_unlock (&c->pool_lock);
      skew_fixed = 1;
      if (RM_HOST_HAS (c->host, log))
        c->host->log (c->host, RM_LOG_WARN, "s3: the local clock differs from the server's by "
                      "%lld s; signing with the server's time (fix the clock: NTP)", skew);
      continue;
    }
    if (rc != RM_E_TRANSIENT || r->attempts >= max)
      break;
    if (r->writer && r->streaming
        && (r->writer->reset == NULL || r->writer->reset (r->writer->opaque) != 0)) {
      size_t l = strlen (err->message);
      snprintf (err->message + l, sizeof err->message - l,
                "; not retried: the partial download cannot be discarded");
      break;
    }
    {
      long long d = s3_backoff_ms (c->retry_base_ms, c->retry_max_ms, r->attempts,
                                   r->retry_after_ms, &seed);
      if (RM_HOST_HAS (c->host, log))
        c->host->log (c->host, RM_LOG_INFO, "s3: %s; retrying in %lld ms (attempt %d of %d)",
                      err->message, d, r->attempts + 1, max);
      if (sleep_ms (c, d) < 0) {
        size_t l = strlen (err->message);
        snprintf (err->message + l, sizeof err->message - l, "; stopped before retrying");
        break;
      }
    }
  }
  pool_put (c, h);
  if (rc != RM_OK && err)
    err->code = rc;
  return rc;
}
