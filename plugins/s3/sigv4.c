/* AWS Signature Version 4 signer on OpenSSL HMAC-SHA256.  Builds the canonical request
 * exactly as the SigV4 specification (and S3's variant of it) describes, then derives
 * the signing key from the secret, date, region and service.  Verified byte for byte
 * against aws-c-auth's test suite and the S3 API Reference examples (tests/). */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3util.h"
#include "sigv4.h"

char *
sigv4_uri_encode (const char *s, size_t len, int keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc (3 * len + 1), *o = out;
  size_t i;
  if (out == NULL)
    return NULL;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char) s[i];
    if (isalnum (c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
      *o++ = (char) c;
    else {
      *o++ = '%';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o = '\0';
  return out;
}

void
sigv4_uri_decode (char *s)
{
  s3_percent_decode (s, false);
}

/* RFC 3986 remove_dot_segments plus empty-segment removal, keeping a trailing '/'.
 * Only for generic services (aws-c-auth's should_normalize_uri_path). */
static char *
normalize_path (const char *path)
{
  size_t len = strlen (path), n = 0, i;
  char *copy = strdup (path), *save = NULL, *seg;
  char **segs = calloc (len + 1, sizeof *segs);
  struct s3buf b = S3BUF_INIT;
  int trailing = len > 0 && path[len - 1] == '/';
  if (copy == NULL || segs == NULL)
    goto fail;
  for (seg = strtok_r (copy, "/", &save); seg; seg = strtok_r (NULL, "/", &save)) {
    if (strcmp (seg, ".") == 0)
      continue;
    if (strcmp (seg, "..") == 0) {
      if (n > 0)
        n--;
      continue;
    }
    segs[n++] = seg;
  }
  if (s3buf_putc (&b, '/') < 0)
    goto fail;
  for (i = 0; i < n; i++) {
    if (s3buf_puts (&b, segs[i]) < 0)
      goto fail;
    if ((i + 1 < n || trailing) && s3buf_putc (&b, '/') < 0)
      goto fail;
  }
  free (copy);
  free (segs);
  return s3buf_detach (&b);
fail:
  free (copy);
  free (segs);
  s3buf_free (&b);
  return NULL;
}

struct qparam {
  char *name;                   /* encoded */
  char *value;                  /* encoded */
};

static int
qparam_cmp (const void *a, const void *b)
{
  const struct qparam *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  return c ? c : strcmp (x->value, y->value);
}

struct hdr {
  char *name;                   /* lower case */
  struct s3buf value;           /* trimmed, whitespace squashed, repeats joined */
  size_t order;
};

static int
hdr_cmp (const void *a, const void *b)
{
  const struct hdr *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  if (c)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Append value trimmed, with runs of whitespace squashed to one space. */
static int
add_trimmed (struct s3buf *b, const char *v)
{
  int space = 0, any = 0;
  for (; *v; v++) {
    if (isspace ((unsigned char) *v)) {
      space = 1;
      continue;
    }
    if (space && any && s3buf_putc (b, ' ') < 0)
      return -1;
    if (s3buf_putc (b, *v) < 0)
      return -1;
    space = 0;
    any = 1;
  }
  return 0;
}

static int
hmac (const void *key, size_t keylen, const char *msg, size_t msglen, unsigned char out[32])
{
  unsigned int n = 32;
  return HMAC (EVP_sha256 (), key, (int) keylen, (const unsigned char *) msg, msglen, out, &n)
         ? 0 : -1;
}

static int
has_header (const struct sigv4_request *req, const char *name)
{
  size_t i;
  for (i = 0; i < req->nheaders; i++)
    if (strcasecmp (req->headers[i].name, name) == 0)
      return 1;
  return 0;
}

void
sigv4_result_free (struct sigv4_result *r)
{
  size_t i;
  free (r->canonical_request);
  free (r->string_to_sign);
  free (r->authorization);
  free (r->query);
  free (r->canonical_uri);
  for (i = 0; i < r->nadded; i++) {
    free ((char *) r->added[i].name);
    free ((char *) r->added[i].value);
  }
  memset (r, 0, sizeof *r);
}

static int
add_pair (struct sigv4_pair *arr, size_t *n, const char *name, const char *value)
{
  arr[*n].name = strdup (name);
  arr[*n].value = strdup (value);
  if (arr[*n].name == NULL || arr[*n].value == NULL) {
    free ((char *) arr[*n].name);
    free ((char *) arr[*n].value);
    return -1;
  }
  (*n)++;
  return 0;
}

int
sigv4_sign (const struct sigv4_request *req, const struct sigv4_params *p,
            struct sigv4_result *out)
{
  char amz_date[17], date[9], scope[256];
  const char *payload = req->payload_hash ? req->payload_hash : s3_empty_sha256_hex;
  struct sigv4_pair extra_q[6];
  size_t nextra_q = 0, nq = 0, nh = 0, i, j;
  struct qparam *qs = NULL;
  struct hdr *hs = NULL;
  struct s3buf canon = S3BUF_INIT, signed_headers = S3BUF_INIT, sts = S3BUF_INIT,
               query = S3BUF_INIT, auth = S3BUF_INIT, key = S3BUF_INIT;
  char *path = NULL, crhash[65], cred[512];
  unsigned char k[32];
  int in_headers_token = p->session_token && !p->omit_session_token && !p->query_mode;
  int rc = -1;

  memset (out, 0, sizeof *out);
  memset (extra_q, 0, sizeof extra_q);
  s3_amz_date (p->when, amz_date);
  memcpy (date, amz_date, 8);
  date[8] = '\0';
  snprintf (scope, sizeof scope, "%s/%s/%s/aws4_request", date, p->region, p->service);
  snprintf (cred, sizeof cred, "%s/%s", p->access_key_id, scope);

  /* Headers the signer adds (header mode). */
  if (!p->query_mode) {
    if (!has_header (req, "x-amz-date") && add_pair (out->added, &out->nadded, "x-amz-date", amz_date) < 0)
      goto done;
    if (p->add_content_sha256 && !has_header (req, "x-amz-content-sha256")
        && add_pair (out->added, &out->nadded, "x-amz-content-sha256", payload) < 0)
      goto done;
    if (in_headers_token && !has_header (req, "x-amz-security-token")
        && add_pair (out->added, &out->nadded, "x-amz-security-token", p->session_token) < 0)
      goto done;
  }

  /* Canonical headers: lower-case names, sorted, repeats joined in order. */
  hs = calloc (req->nheaders + out->nadded + 1, sizeof *hs);
  if (hs == NULL)
    goto done;
  for (i = 0; i < req->nheaders + out->nadded; i++) {
    const struct sigv4_pair *h = i < req->nheaders ? &req->headers[i] : &out->added[i - req->nheaders];
    struct hdr *slot = NULL;
    char *lname = strdup (h->name);
    if (lname == NULL)
      goto done;
    for (j = 0; lname[j]; j++)
      lname[j] = (char) tolower ((unsigned char) lname[j]);
    for (j = 0; j < nh; j++)
      if (strcmp (hs[j].name, lname) == 0)
        slot = &hs[j];
    if (slot) {
      free (lname);
      if (s3buf_putc (&slot->value, ',') < 0)
        goto done;
    }
    else {
      slot = &hs[nh];
      slot->name = lname;
      slot->order = nh++;
      if (s3buf_puts (&slot->value, "") < 0)
        goto done;
    }
    if (add_trimmed (&slot->value, h->value ? h->value : "") < 0)
      goto done;
  }
  qsort (hs, nh, sizeof *hs, hdr_cmp);
  for (i = 0; i < nh; i++)
    if ((i && s3buf_putc (&signed_headers, ';') < 0) || s3buf_puts (&signed_headers, hs[i].name) < 0)
      goto done;
  if (nh == 0 && s3buf_puts (&signed_headers, "") < 0)
    goto done;

  /* Canonical query. */
  if (p->query_mode) {
    char expires[32];
    snprintf (expires, sizeof expires, "%ld", p->expires);
    extra_q[nextra_q++] = (struct sigv4_pair) { "X-Amz-Algorithm", "AWS4-HMAC-SHA256" };
    extra_q[nextra_q++] = (struct sigv4_pair) { "X-Amz-Credential", cred };
    extra_q[nextra_q++] = (struct sigv4_pair) { "X-Amz-Date", amz_date };
    extra_q[nextra_q++] = (struct sigv4_pair) { "X-Amz-Expires", NULL };
    extra_q[nextra_q++] = (struct sigv4_pair) { "X-Amz-SignedHeaders", signed_headers.data };
    if (p->session_token && !p->omit_session_token)
      extra_q[nextra_q++] = (struct sigv4_pair) { "X-Amz-Security-Token", p->session_token };
    qs = calloc (req->nquery + nextra_q + 1, sizeof *qs);
    if (qs == NULL)
      goto done;
    for (i = 0; i < nextra_q; i++) {
      const char *v = extra_q[i].value ? extra_q[i].value : expires;
      qs[nq].name = sigv4_uri_encode (extra_q[i].name, strlen (extra_q[i].name), 0);
      qs[nq].value = sigv4_uri_encode (v, strlen (v), 0);
      nq++;
      if (qs[nq - 1].name == NULL || qs[nq - 1].value == NULL)
        goto done;
    }
  }
  else {
    qs = calloc (req->nquery + 1, sizeof *qs);
    if (qs == NULL)
      goto done;
  }
  for (i = 0; i < req->nquery; i++) {
    const char *v = req->query[i].value ? req->query[i].value : "";
    qs[nq].name = sigv4_uri_encode (req->query[i].name, strlen (req->query[i].name), 0);
    qs[nq].value = sigv4_uri_encode (v, strlen (v), 0);
    nq++;
    if (qs[nq - 1].name == NULL || qs[nq - 1].value == NULL)
      goto done;
  }
  qsort (qs, nq, sizeof *qs, qparam_cmp);
  if (s3buf_puts (&query, "") < 0)
    goto done;
  for (i = 0; i < nq; i++)
    if (s3buf_printf (&query, "%s%s=%s", i ? "&" : "", qs[i].name, qs[i].value) < 0)
      goto done;

  /* Canonical URI. */
  if (req->path_encoded)
    path = strdup (req->path);
  else {
    char *norm = p->normalize_path ? normalize_path (req->path) : strdup (req->path);
    if (norm == NULL)
      goto done;
    path = sigv4_uri_encode (norm, strlen (norm), 1);
    free (norm);
  }
  if (path == NULL)
    goto done;

  /* Canonical request. */
  if (s3buf_printf (&canon, "%s\n%s\n%s\n", req->method, path, query.data) < 0)
    goto done;
  for (i = 0; i < nh; i++)
    if (s3buf_printf (&canon, "%s:%s\n", hs[i].name, hs[i].value.data) < 0)
      goto done;
  if (s3buf_printf (&canon, "\n%s\n%s", signed_headers.data, payload) < 0)
    goto done;

  /* String to sign and signature. */
  s3_sha256_hex (canon.data, canon.len, crhash);
  if (s3buf_printf (&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, crhash) < 0)
    goto done;
  if (s3buf_printf (&key, "AWS4%s", p->secret_access_key) < 0)
    goto done;
  if (hmac (key.data, key.len, date, strlen (date), k) < 0
      || hmac (k, 32, p->region, strlen (p->region), k) < 0
      || hmac (k, 32, p->service, strlen (p->service), k) < 0
      || hmac (k, 32, "aws4_request", 12, k) < 0
      || hmac (k, 32, sts.data, sts.len, k) < 0)
    goto done;
  s3_hex (k, 32, out->signature);

  if (p->query_mode) {
    if (s3buf_printf (&query, "%sX-Amz-Signature=%s", query.len ? "&" : "", out->signature) < 0)
      goto done;
    /* The unsigned token goes on the wire but not into the canonical request. */
    if (p->session_token && p->omit_session_token) {
      char *t = sigv4_uri_encode (p->session_token, strlen (p->session_token), 0);
      if (t == NULL || s3buf_printf (&query, "&X-Amz-Security-Token=%s", t) < 0) {
        free (t);
        goto done;
      }
      free (t);
    }
  }
  else {
    if (s3buf_printf (&auth, "AWS4-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s",
                      cred, signed_headers.data, out->signature) < 0)
      goto done;
    if (p->session_token && p->omit_session_token && !has_header (req, "x-amz-security-token")
        && add_pair (out->added, &out->nadded, "x-amz-security-token", p->session_token) < 0)
      goto done;
    out->authorization = s3buf_detach (&auth);
  }
  out->canonical_request = s3buf_detach (&canon);
  out->string_to_sign = s3buf_detach (&sts);
  out->query = s3buf_detach (&query);
  out->canonical_uri = path;
  path = NULL;
  rc = 0;
  if (out->canonical_request == NULL || out->string_to_sign == NULL || out->query == NULL
      || (!p->query_mode && out->authorization == NULL))
    rc = -1;

done:
  OPENSSL_cleanse (k, sizeof k);
  if (key.data)
    OPENSSL_cleanse (key.data, key.len);
  s3buf_free (&key);
  free (path);
  for (i = 0; hs && i < nh; i++) {
    free (hs[i].name);
    s3buf_free (&hs[i].value);
  }
  free (hs);
  for (i = 0; qs && i < nq; i++) {
    free (qs[i].name);
    free (qs[i].value);
  }
  free (qs);
  s3buf_free (&canon);
  s3buf_free (&signed_headers);
  s3buf_free (&sts);
  s3buf_free (&query);
  s3buf_free (&auth);
  if (rc < 0)
    sigv4_result_free (out);
  return rc;
}
