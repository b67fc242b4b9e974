/* s3 backend: stores each key as an object in one bucket of any S3-compatible store
 * (AWS S3, MinIO, Ceph RGW, Cloudflare R2, moto).  This file holds the key table,
 * open/close, get, list, remove, the conditional-write probe and the descriptor;
 * put() is in s3put.c, stat() in s3stat.c, signed HTTP with retries in s3http.c, XML in s3xml.c, the
 * credential chain in s3creds.c, the SigV4 signer in sigv4.c.
 *
 * Keys arrive already prefixed with the user's --path (this plugin declares no "path"
 * key), so the prefix is a plain key prefix inside the bucket; describe() shows it from
 * rm_host_key_prefix().  Open never writes (no bucket is created); a handle opened
 * RM_OPEN_READONLY also skips the conditional-write probe, which writes a scratch key. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <releasemanager/backend.h>

#include "s3creds.h"
#include "s3handle.h"
#include "s3http.h"
#include "s3util.h"
#include "s3xml.h"

static const struct rm_config_key s3_keys[] = {
  { "bucket", RM_KEY_STRING, NULL, "Bucket name", RM_KEY_REQUIRED, NULL },
  { "region", RM_KEY_STRING, "us-east-1", "Region used for signing and the default endpoint", 0, NULL },
  { "endpoint", RM_KEY_STRING, NULL,
    "Endpoint URL of an S3-compatible store, e.g. https://minio:9000 (default: AWS)", 0, NULL },
  { "path_style", RM_KEY_STRING, "auto",
    "Path-style addressing: auto (on for a custom endpoint or a dotted bucket), true or false", 0, NULL },
  { "ca_bundle", RM_KEY_PATH, NULL, "PEM file of CA certificates to trust instead of the system's", 0, NULL },
  { "insecure_skip_tls_verify", RM_KEY_BOOL, "false",
    "Do not verify the server's TLS certificate (dangerous; for testing only)", 0, NULL },
  { "access_key_id", RM_KEY_STRING, NULL, "Access key id (else the AWS credential chain)", 0, "accessKeyID" },
  { "secret_access_key", RM_KEY_STRING, NULL, "Secret access key", RM_KEY_SECRET, "secretAccessKey" },
  { "session_token", RM_KEY_STRING, NULL, "Session token of temporary credentials", RM_KEY_SECRET,
    "sessionToken" },
  { "profile", RM_KEY_STRING, NULL, "Profile in the AWS shared config/credentials files", 0, NULL },
  { "sse", RM_KEY_STRING, NULL, "Server-side encryption: AES256 or aws:kms", 0, NULL },
  { "sse_kms_key_id", RM_KEY_STRING, NULL, "KMS key id or ARN for sse=aws:kms", 0, NULL },
  { "storage_class", RM_KEY_STRING, NULL, "Storage class of new objects, e.g. STANDARD_IA", 0, NULL },
  { "multipart_threshold", RM_KEY_SIZE, "8MiB",
    "Objects larger than this are uploaded in parts", 0, NULL },
  { "multipart_chunk_size", RM_KEY_SIZE, "8MiB", "Size of each uploaded part (5 MiB to 5 GiB)", 0, NULL },
  { "max_attempts", RM_KEY_INT, "5", "Attempts per request, the first included", 0, NULL },
  { "retry_base_delay_ms", RM_KEY_INT, "100", "Backoff base: retry n waits up to base * 2^(n-1)", 0, NULL },
  { "retry_max_delay_ms", RM_KEY_INT, "20000", "Upper bound of one backoff wait, Retry-After included", 0, NULL },
  { "connect_timeout", RM_KEY_INT, "10", "Seconds to wait for a connection", 0, NULL },
  { "read_timeout", RM_KEY_INT, "60", "Seconds without any transfer progress before a request fails", 0, NULL },
  { "conditional_writes", RM_KEY_STRING, "auto",
    "Advertise If-None-Match/If-Match puts: auto (probe the server once), true or false", 0, NULL },
  { "verify_etag", RM_KEY_BOOL, "true",
    "Check downloaded bodies against a plain MD5 ETag", 0, NULL },
  { NULL, 0, NULL, NULL, 0, NULL }
};

/* ---- configuration ---- */

static int
parse_bool (const char *v, int *out)
{
  if (v == NULL)
    return -1;
  if (!strcasecmp (v, "true") || !strcasecmp (v, "yes") || !strcasecmp (v, "on") || !strcmp (v, "1"))
    *out = 1;
  else if (!strcasecmp (v, "false") || !strcasecmp (v, "no") || !strcasecmp (v, "off") || !strcmp (v, "0"))
    *out = 0;
  else
    return -1;
  return 0;
}

/* Decimal bytes (what the core passes), tolerating the suffixes of RM_KEY_SIZE. */
static int
parse_size (const char *v, long long *out)
{
  char *end;
  long long n, mult = 1;
  if (v == NULL || !isdigit ((unsigned char) *v))
    return -1;
  n = strtoll (v, &end, 10);
  if (*end) {
    char u = (char) toupper ((unsigned char) *end);
    const char *rest = end + 1;
    if (u == 'K') mult = 1LL << 10;
    else if (u == 'M') mult = 1LL << 20;
    else if (u == 'G') mult = 1LL << 30;
    else if (u == 'T') mult = 1LL << 40;
    else return -1;
    if (*rest && strcasecmp (rest, "iB") && strcasecmp (rest, "B"))
      return -1;
  }
  if (n < 0 || n > (1LL << 50) / mult)
    return -1;
  *out = n * mult;
  return 0;
}

static int
parse_int (const char *v, long lo, long hi, long *out)
{
  char *end;
  long n;
  if (v == NULL)
    return -1;
  n = strtol (v, &end, 10);
  if (*end || end == v || n < lo || n > hi)
    return -1;
  *out = n;
  return 0;
}

static int
tri (const char *v, int *out)
{
  if (v == NULL || strcasecmp (v, "auto") == 0) {
    *out = -1;
    return 0;
  }
  return parse_bool (v, out);
}

/* Split an endpoint URL into scheme and host[:port]; a bare host means https. */
static int
parse_endpoint (const char *ep, char **scheme, char **hostport)
{
  const char *p = strstr (ep, "://"), *h;
  size_t n;
  if (p) {
    if ((size_t) (p - ep) == 4 && strncasecmp (ep, "http", 4) == 0)
      *scheme = strdup ("http");
    else if ((size_t) (p - ep) == 5 && strncasecmp (ep, "https", 5) == 0)
      *scheme = strdup ("https");
    else
      return -1;
    h = p + 3;
  }
  else {
    *scheme = strdup ("https");
    h = ep;
  }
  n = strcspn (h, "/?#");
  if (n == 0 || (h[n] && strcmp (h + n, "/") != 0) || memchr (h, '@', n)) {
    free (*scheme);
    *scheme = NULL;
    return -1;                  /* no base paths, queries or userinfo */
  }
  /* An explicit default port would differ from the Host header curl sends. */
  if (n > 4 && strcmp (*scheme, "https") == 0 && strncmp (h + n - 4, ":443", 4) == 0)
    n -= 4;
  else if (n > 3 && strcmp (*scheme, "http") == 0 && strncmp (h + n - 3, ":80", 3) == 0)
    n -= 3;
  *hostport = strndup (h, n);
  return 0;
}

static void
s3_close (void *handle)
{
  struct s3_handle *s = handle;
  if (s == NULL)
    return;
  s3_client_cleanup (&s->client);
  s3_creds_provider_free (s->client.creds);
  free (s->client.scheme);
  free (s->client.hostport);
  free (s->client.bucket);
  free (s->client.region);
  free (s->client.ca_bundle);
  free (s->client.user_agent);
  free (s->sse);
  free (s->sse_kms_key_id);
  free (s->storage_class);
  free (s->where);
  pthread_mutex_destroy (&s->cap_lock);
  free (s);
}

static int
s3_open (const struct rm_host *host, const struct rm_kv *config, void **handle,
         struct rm_error *err)
{
  struct s3_handle *s = calloc (1, sizeof *s);
  struct s3_client *c;
  const char *bucket = rm_config_get (config, "bucket");
  const char *region = rm_config_get (config, "region");
  const char *endpoint = rm_config_get (config, "endpoint");
  const char *v;
  struct s3_creds_config cc;
  long n;
  int ps, rc, b;
  char ua[256];

  *handle = NULL;
  if (s == NULL)
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
  pthread_mutex_init (&s->cap_lock, NULL);
  c = &s->client;
  c->host = host;
  s->readonly = (rm_host_open_flags (host) & RM_OPEN_READONLY) != 0;
  if (region == NULL || *region == '\0')
    region = "us-east-1";
  if (bucket == NULL || *bucket == '\0' || strchr (bucket, '/') || strlen (bucket) > 255) {
    rc = rm_error_set (err, RM_E_CONFIG, "bucket: '%s' is not a bucket name", bucket ? bucket : "");
    goto fail;
  }
  c->bucket = strdup (bucket);
  c->region = strdup (region);
  if (endpoint && *endpoint) {
    if (parse_endpoint (endpoint, &c->scheme, &c->hostport) < 0) {
      rc = rm_error_set (err, RM_E_CONFIG, "endpoint: '%s' is not http(s)://HOST[:PORT]", endpoint);
      goto fail;
    }
  }
  else {
    c->scheme = strdup ("https");
    if (asprintf (&c->hostport, "s3.%s.amazonaws.com", region) < 0)
      c->hostport = NULL;
  }
  if (tri (rm_config_get (config, "path_style"), &ps) < 0) {
    rc = rm_error_set (err, RM_E_CONFIG, "path_style: expected auto, true or false");
    goto fail;
  }
  /* Dotted buckets break TLS wildcard certificates in virtual-hosted style; custom
   * endpoints rarely have per-bucket DNS names. */
  c->path_style = ps >= 0 ? ps : (endpoint && *endpoint) || strchr (bucket, '.') != NULL;
  {
    /* As the AWS CLI: the option, AWS_CA_BUNDLE, the profile's ca_bundle.  A bundle
     * that cannot be read fails here, naming it, not as a TLS error on first use. */
    char src[600];
    char *cab = s3_ca_bundle (rm_config_get (config, "ca_bundle"), rm_config_get (config, "profile"),
                              NULL, src, sizeof src);
    FILE *cf = cab ? fopen (cab, "r") : NULL;
    if (cab && !cf) {
      rc = rm_error_set (err, RM_E_CONFIG, "ca_bundle: cannot read the CA bundle %s (from %s): %s",
                         cab, src, strerror (errno));
      free (cab);
      goto fail;
    }
    if (cf)
      fclose (cf);
    c->ca_bundle = cab;
  }
  if (parse_bool (rm_config_get (config, "insecure_skip_tls_verify") ?: "false", &b) < 0) {
    rc = rm_error_set (err, RM_E_CONFIG, "insecure_skip_tls_verify: expected true or false");
    goto fail;
  }
  c->insecure = b;
  if (c->insecure && RM_HOST_HAS (host, log))
    host->log (host, RM_LOG_WARN, "s3: WARNING: insecure_skip_tls_verify is on: the server's "
               "TLS certificate is NOT verified, so anyone on the network path can read and "
               "alter backups and steal credentials");
  if (parse_bool (rm_config_get (config, "verify_etag") ?: "true", &c->verify_md5) < 0) {
    rc = rm_error_set (err, RM_E_CONFIG, "verify_etag: expected true or false");
    goto fail;
  }
#define INT_KEY(name, lo, hi, def, field)                                            \
  if (parse_int (rm_config_get (config, name) ?: def, lo, hi, &n) < 0) {              \
    rc = rm_error_set (err, RM_E_CONFIG, "%s: expected an integer from %ld to %ld",   \
                       name, (long) (lo), (long) (hi));                               \
    goto fail;                                                                        \
  }                                                                                   \
  field = n;
  INT_KEY ("max_attempts", 1, 100, "5", c->max_attempts);
  INT_KEY ("retry_base_delay_ms", 0, 600000, "100", c->retry_base_ms);
  INT_KEY ("retry_max_delay_ms", 0, 3600000, "20000", c->retry_max_ms);
  INT_KEY ("connect_timeout", 1, 3600, "10", c->connect_timeout);
  INT_KEY ("read_timeout", 1, 86400, "60", c->read_timeout);
#undef INT_KEY
  if (parse_size (rm_config_get (config, "multipart_threshold") ?: "8388608", &s->threshold) < 0
      || s->threshold > S3_MAX_PART) {
    rc = rm_error_set (err, RM_E_CONFIG, "multipart_threshold: expected a size up to 5 GiB");
    goto fail;
  }
  if (parse_size (rm_config_get (config, "multipart_chunk_size") ?: "8388608", &s->chunk) < 0
      || s->chunk < S3_MIN_PART || s->chunk > S3_MAX_PART) {
    rc = rm_error_set (err, RM_E_CONFIG, "multipart_chunk_size: expected a size from 5 MiB to 5 GiB "
                       "(S3's part size limits)");
    goto fail;
  }
  if (tri (rm_config_get (config, "conditional_writes"), &s->cond_mode) < 0) {
    rc = rm_error_set (err, RM_E_CONFIG, "conditional_writes: expected auto, true or false");
    goto fail;
  }
  if ((v = rm_config_get (config, "sse")) && *v) {
    if (strcmp (v, "AES256") != 0 && strcmp (v, "aws:kms") != 0) {
      rc = rm_error_set (err, RM_E_CONFIG, "sse: expected AES256 or aws:kms, not '%s'", v);
      goto fail;
    }
    s->sse = strdup (v);
  }
  if ((v = rm_config_get (config, "sse_kms_key_id")) && *v) {
    if (s->sse == NULL || strcmp (s->sse, "aws:kms") != 0) {
      rc = rm_error_set (err, RM_E_CONFIG, "sse_kms_key_id needs sse=aws:kms");
      goto fail;
    }
    s->sse_kms_key_id = strdup (v);
  }
  if ((v = rm_config_get (config, "storage_class")) && *v)
    s->storage_class = strdup (v);
  snprintf (ua, sizeof ua, "%s s3/%s", host && host->user_agent ? host->user_agent
            : "releasemanager", PACKAGE_VERSION);
  c->user_agent = strdup (ua);
  if (asprintf (&s->where, "s3://%s/%s (%s://%s, %s, %s)", bucket, rm_host_key_prefix (host),
                c->scheme ? c->scheme : "", c->hostport ? c->hostport : "", region,
                c->path_style ? "path-style" : "virtual-hosted") < 0)
    s->where = NULL;
  if (!c->bucket || !c->region || !c->scheme || !c->hostport || !c->user_agent || !s->where) {
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
    goto fail;
  }

  memset (&cc, 0, sizeof cc);
  cc.access_key_id = rm_config_get (config, "access_key_id");
  cc.secret_access_key = rm_config_get (config, "secret_access_key");
  cc.session_token = rm_config_get (config, "session_token");
  cc.profile = rm_config_get (config, "profile");
  cc.region = region;
  cc.user_agent = ua;
  cc.host = host;
  if (cc.access_key_id && !*cc.access_key_id) cc.access_key_id = NULL;
  if (cc.secret_access_key && !*cc.secret_access_key) cc.secret_access_key = NULL;
  if (cc.session_token && !*cc.session_token) cc.session_token = NULL;
  rc = s3_creds_provider_new (&cc, &c->creds, err);
  if (rc != RM_OK)
    goto fail;
  rc = s3_client_init (c, err);
  if (rc != RM_OK)
    goto fail;
  *handle = s;
  return RM_OK;
fail:
  s3_close (s);
  return rc;
}

/* ---- get ---- */

static int
s3_get (void *handle, const char *key, const struct rm_writer *writer,
        struct rm_object_info *info, struct rm_error *err)
{
  struct s3_handle *s = handle;
  struct s3_request r;
  int rc;
  if ((rc = rm_key_check (key, err)) != RM_OK)
    return rc;
  memset (&r, 0, sizeof r);
  r.op = "get";
  r.method = "GET";
  r.key = key;
  r.writer = writer;
  rc = s3_request_do (&s->client, &r, err);
  if (rc == RM_OK)
    s3_object_info (info, &r);
  s3_req_free (&r);
  return rc;
}

/* ---- list ---- */

struct list_ctx {
  rm_list_emit_fn emit;
  void *opaque;
  unsigned count;
};

static int
list_one (void *opaque, const struct s3xml_object *o)
{
  struct list_ctx *l = opaque;
  struct rm_list_entry e = { o->key, o->size, o->mtime, o->etag };
  l->count++;
  return l->emit (l->opaque, &e) ? 1 : 0;
}

static int
s3_list (void *handle, const char *prefix, const char *token, unsigned max_keys,
         rm_list_emit_fn emit, void *opaque, char *next_token, size_t next_token_size,
         struct rm_error *err)
{
  struct s3_handle *s = handle;
  struct s3_request r;
  struct list_ctx l = { emit, opaque, 0 };
  char maxbuf[16], tok[RM_LIST_TOKEN_MAX];
  int rc, truncated = 0, prc;
  if (next_token && next_token_size)
    next_token[0] = '\0';
  if (max_keys == 0 || max_keys > 1000)
    max_keys = 1000;
  snprintf (maxbuf, sizeof maxbuf, "%u", max_keys);
  memset (&r, 0, sizeof r);
  r.op = "list";
  r.method = "GET";
  s3_req_query (&r, "list-type", "2");
  s3_req_query (&r, "max-keys", maxbuf);
  s3_req_query (&r, "encoding-type", "url");
  if (prefix && *prefix)
    s3_req_query (&r, "prefix", prefix);
  if (token && *token)
    s3_req_query (&r, "continuation-token", token);
  rc = s3_request_do (&s->client, &r, err);
  if (rc != RM_OK) {
    s3_req_free (&r);
    return rc;
  }
  prc = s3xml_list (r.body_out.data, r.body_out.len, list_one, &l, &truncated, tok, sizeof tok);
  s3_req_free (&r);
  if (prc < 0)
    return rm_error_set (err, RM_E_IO, "list '%s' in bucket '%s': malformed ListObjectsV2 answer",
                         prefix ? prefix : "", s->client.bucket);
  if (prc > 0)
    return rm_error_set (err, RM_E_ABORTED, "list: stopped by the caller");
  if (truncated) {
    if (tok[0] == '\0')
      return rm_error_set (err, RM_E_IO, "list: truncated page without a continuation token");
    if (strlen (tok) >= next_token_size)
      return rm_error_set (err, RM_E_INTERNAL, "list: continuation token longer than %zu bytes",
                           next_token_size);
    snprintf (next_token, next_token_size, "%s", tok);
  }
  return RM_OK;
}

/* ---- remove ---- */

static int
s3_remove (void *handle, const char *key, struct rm_error *err)
{
  struct s3_handle *s = handle;
  struct s3_request r;
  int rc;
  if (s->readonly)
    return rm_error_set (err, RM_E_PERMISSION, "delete on a handle opened read-only");
  /* S3 answers 204 whether or not the key existed; the contract wants NOT_FOUND. */
  rc = s3_stat (s, key, NULL, err);
  if (rc != RM_OK)
    return rc;
  memset (&r, 0, sizeof r);
  r.op = "remove";
  r.method = "DELETE";
  r.key = key;
  rc = s3_request_do (&s->client, &r, err);
  s3_req_free (&r);
  return rc;
}

struct del_ctx {
  const char *const *keys;
  int *codes;
  char *seen;
  size_t n;
  const struct rm_host *host;
};

static void
del_result (void *opaque, const char *key, const char *code, const char *msg)
{
  struct del_ctx *d = opaque;
  size_t i;
  for (i = 0; i < d->n; i++) {
    if (d->seen[i] || strcmp (d->keys[i], key) != 0)
      continue;
    d->seen[i] = 1;
    d->codes[i] = code ? s3_map_error (0, code) : RM_OK;
    if (code && d->codes[i] == RM_OK)
      d->codes[i] = RM_E_IO;
    if (code && RM_HOST_HAS (d->host, log))
      d->host->log (d->host, RM_LOG_INFO, "s3: delete '%s': %s: %s", key, code, msg ? msg : "");
    return;
  }
}

static int
s3_remove_many (void *handle, const char *const *keys, size_t n, int *codes,
                struct rm_error *err)
{
  struct s3_handle *s = handle;
  size_t start, i;
  if (s->readonly)
    return rm_error_set (err, RM_E_PERMISSION, "delete on a handle opened read-only");
  for (i = 0; i < n; i++)
    codes[i] = rm_key_check (keys[i], NULL);
  for (start = 0; start < n; start += S3_DELETE_BATCH) {
    size_t cnt = n - start < S3_DELETE_BATCH ? n - start : S3_DELETE_BATCH, sent = 0;
    struct s3buf xml = S3BUF_INIT;
    struct s3_request r;
    unsigned char md[16];
    char md5b64[32];
    char seen[S3_DELETE_BATCH];
    struct del_ctx d = { keys + start, codes + start, seen, cnt, s->client.host };
    int rc;
    memset (seen, 0, sizeof seen);
    s3buf_puts (&xml, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>false</Quiet>");
    for (i = 0; i < cnt; i++) {
      if (codes[start + i] != RM_OK) {
        seen[i] = 1;              /* invalid key: never sent */
        continue;
      }
      codes[start + i] = RM_E_IO; /* until the server reports on it */
      s3buf_puts (&xml, "<Object><Key>");
      s3xml_escape (&xml, keys[start + i]);
      s3buf_puts (&xml, "</Key></Object>");
      sent++;
    }
    if (s3buf_puts (&xml, "</Delete>") < 0) {
      s3buf_free (&xml);
      return rm_error_set (err, RM_E_NOMEM, "out of memory");
    }
    if (sent == 0) {
      s3buf_free (&xml);
      continue;
    }
    s3_md5 (xml.data, xml.len, md);
    s3_base64 (md, 16, md5b64);
    memset (&r, 0, sizeof r);
    r.op = "remove (DeleteObjects)";
    r.method = "POST";
    r.body = xml.data;
    r.body_len = xml.len;
    s3_req_query (&r, "delete", NULL);
    s3_req_header (&r, "content-md5", md5b64);   /* required by S3 for DeleteObjects */
    s3_req_header (&r, "content-type", "application/xml");
    rc = s3_request_do (&s->client, &r, err);
    if (rc == RM_OK && s3xml_delete_result (r.body_out.data, r.body_out.len, del_result, &d) < 0)
      rc = rm_error_set (err, RM_E_IO, "remove: malformed DeleteObjects answer");
    s3_req_free (&r);
    s3buf_free (&xml);
    if (rc != RM_OK) {
      for (i = start; i < n; i++)
        if (codes[i] == RM_E_IO || (i >= start + cnt && codes[i] == RM_OK))
          codes[i] = rc;
      return rc;
    }
  }
  return RM_OK;
}

/* ---- capabilities, describe ---- */

/* Does the server honour If-None-Match: * and If-Match on PutObject?  Many
 * S3-compatible stores (and older ones) silently ignore them, which would make a lease
 * unsafe, so it is tested once per handle on a scratch key. */
static uint64_t
probe_conditional (struct s3_handle *s)
{
  unsigned char rnd[8];
  char hex[17], key[64];
  struct rm_put_options o = { sizeof o, RM_PUT_IF_NONE_MATCH, NULL, "text/plain" };
  struct rm_put_options m = { sizeof m, 0, "\"00000000000000000000000000000000\"", "text/plain" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct rm_error e = { 0, "" };
  uint64_t caps = 0;
  int r1, r2, r3;
  if (RAND_bytes (rnd, sizeof rnd) != 1)
    return 0;
  s3_hex (rnd, sizeof rnd, hex);
  snprintf (key, sizeof key, ".releasemanager-probe-%s", hex);
  r1 = s3_put_single (s, key, (const unsigned char *) "1", 1, &o, &info, &e);
  r2 = r1 == RM_OK ? s3_put_single (s, key, (const unsigned char *) "2", 1, &o, NULL, &e) : r1;
  r3 = r1 == RM_OK ? s3_put_single (s, key, (const unsigned char *) "3", 1, &m, NULL, &e) : r1;
  if (r1 == RM_OK && r2 == RM_E_EXISTS && r3 == RM_E_PRECONDITION)
    caps = RM_CAP_CONDITIONAL_PUT;
  if (RM_HOST_HAS (s->client.host, log))
    s->client.host->log (s->client.host, RM_LOG_INFO, "s3: conditional writes %s (probe: %s, %s, %s)",
                         caps ? "honoured" : "NOT honoured", rm_strerror (r1), rm_strerror (r2),
                         rm_strerror (r3));
  if (r1 == RM_OK) {
    struct s3_request r;
    memset (&r, 0, sizeof r);
    r.op = "remove probe";
    r.method = "DELETE";
    r.key = key;
    s3_request_do (&s->client, &r, &e);
    s3_req_free (&r);
  }
  return caps;
}

static uint64_t
s3_capabilities (void *handle)
{
  struct s3_handle *s = handle;
  uint64_t caps = RM_CAP_ATOMIC_PUT | RM_CAP_REMOTE | (s->sse ? RM_CAP_ENCRYPTION : 0);
  pthread_mutex_lock (&s->cap_lock);
  if (!s->cap_probed) {
    /* Read-only: the probe writes, and no conditional put will follow anyway. */
    s->cond_caps = s->cond_mode == 1 ? RM_CAP_CONDITIONAL_PUT
                   : s->cond_mode == 0 || s->readonly ? 0 : probe_conditional (s);
    s->cap_probed = 1;
  }
  caps |= s->cond_caps;
  pthread_mutex_unlock (&s->cap_lock);
  return caps;
}

static int
s3_describe (void *handle, char *buf, size_t size)
{
  struct s3_handle *s = handle;
  return snprintf (buf, size, "%s", s->where) < 0 ? -1 : 0;
}

static const struct rm_backend s3_backend = {
  RM_BACKEND_PREFIX ("s3"),
  .version = PACKAGE_VERSION,
  .description = "any S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2...)",
  .thread_model = RM_THREAD_PARALLEL,
  .caps = RM_CAP_ATOMIC_PUT | RM_CAP_REMOTE,
  RM_BACKEND_CONFIG (s3_keys),
  .open = s3_open,
  .close = s3_close,
  .put = s3_put,
  .get = s3_get,
  .list = s3_list,
  .remove = s3_remove,
  .stat = s3_stat,
  .remove_many = s3_remove_many,
  .capabilities = s3_capabilities,
  .describe = s3_describe,
  /* No sync (ABI 1.1 barrier): a PutObject, CompleteMultipartUpload or DeleteObject that
   * succeeded is durable when it returns, which is what a NULL sync promises. */
};

RM_BACKEND_EXPORT const struct rm_backend *
rm_backend_init (void)
{
  return &s3_backend;
}
