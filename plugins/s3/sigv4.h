/* AWS Signature Version 4 (AWS4-HMAC-SHA256) on OpenSSL: canonical request, string to
 * sign, signature, and either an Authorization header or presigned query parameters.
 * Self-contained: knows nothing about HTTP transport or S3 operations.
 *
 * S3 rules (the plugin's use): path given raw and URI-encoded exactly once, no path
 * normalization, x-amz-content-sha256 added and signed, session token signed.  The
 * generic-service switches (normalize_path, omit_session_token) exist for the AWS test
 * suite. */
#ifndef S3_SIGV4_H
#define S3_SIGV4_H

#include <stddef.h>
#include <time.h>

struct sigv4_pair {
  const char *name;
  const char *value;            /* may be NULL for a query parameter: signed as "name=" */
};

struct sigv4_request {
  const char *method;           /* "GET" */
  const char *path;             /* "/bucket/some key" raw, or wire form if path_encoded */
  int path_encoded;             /* path is already SigV4-encoded: used unchanged */
  const struct sigv4_pair *query;   /* decoded names and values; any order */
  size_t nquery;
  const struct sigv4_pair *headers; /* all are signed; repeated names join with ',' */
  size_t nheaders;
  const char *payload_hash;     /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD";
                                   NULL = hash of the empty body */
};

struct sigv4_params {
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;    /* or NULL */
  const char *region;
  const char *service;          /* "s3" */
  time_t when;                  /* signing time (UTC) */
  int normalize_path;           /* generic services only; never for S3 */
  int add_content_sha256;       /* add a signed x-amz-content-sha256 header (S3: yes) */
  int omit_session_token;       /* send the token unsigned (generic STS style; never S3) */
  int query_mode;               /* presign: auth in the query, not in a header */
  long expires;                 /* query mode: X-Amz-Expires */
};

/* Headers the caller must add to the request (header mode) besides Authorization. */
#define SIGV4_MAX_ADDED 3

struct sigv4_result {
  char *canonical_request;
  char *string_to_sign;
  char signature[65];
  char *authorization;          /* header mode: the Authorization header value */
  char *query;                  /* wire query string, canonical order, with the
                                   X-Amz-* parameters in query mode; "" if none */
  char *canonical_uri;          /* also the wire path */
  struct sigv4_pair added[SIGV4_MAX_ADDED];  /* header mode: x-amz-date, ... (owned) */
  size_t nadded;
};

/* Sign.  Returns 0, or -1 when memory ran out (result then freed).  Free the result
 * with sigv4_result_free. */
int sigv4_sign (const struct sigv4_request *req, const struct sigv4_params *p,
                struct sigv4_result *out);
void sigv4_result_free (struct sigv4_result *r);

/* URI-encode every byte except A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash), with
 * upper-case hex.  Returns a malloc'ed string or NULL. */
char *sigv4_uri_encode (const char *s, size_t len, int keep_slash);

/* Decode %XX in place (no '+' handling). */
void sigv4_uri_decode (char *s);

#endif
