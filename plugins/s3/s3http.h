/* HTTP transport of the s3 plugin: one signed S3 request over libcurl with retries
 * (capped exponential backoff, full jitter, Retry-After), a pool of easy handles that
 * share one connection cache, and the single table that maps S3 errors to RM_E_*. */
#ifndef S3_HTTP_H
#define S3_HTTP_H

#include <pthread.h>

#include <curl/curl.h>

#include <releasemanager/backend.h>

#include "s3creds.h"
#include "s3curl.h"
#include "s3util.h"
#include "sigv4.h"

struct s3_client {
  const struct rm_host *host;
  char *scheme;                 /* "https" */
  char *hostport;               /* "s3.us-east-1.amazonaws.com" or "127.0.0.1:9000" */
  char *bucket;
  char *region;
  int path_style;
  char *ca_bundle;              /* or NULL */
  int insecure;
  int max_attempts;
  long retry_base_ms;
  long retry_max_ms;
  long connect_timeout;         /* seconds */
  long read_timeout;            /* seconds without progress before giving up */
  int verify_md5;               /* check GET bodies against a plain-MD5 ETag */
  char *user_agent;
  struct s3_creds_provider *creds;

  CURLSH *share;
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
  pthread_mutex_t pool_lock;     /* also guards clock_skew */
  long long clock_skew;         /* seconds to add to our clock (RequestTimeTooSkewed) */
  CURL **pool;                  /* idle easy handles */
  size_t npool, pool_cap;
};

int s3_client_init (struct s3_client *c, struct rm_error *err);   /* share + pool */
void s3_client_cleanup (struct s3_client *c);

#define S3_MAX_QUERY 8
#define S3_MAX_HEADERS 16

struct s3_request {
  /* Input. */
  const char *op;               /* "put", "get", ... for messages */
  const char *method;
  const char *key;              /* object key, or NULL for the bucket */
  struct sigv4_pair query[S3_MAX_QUERY];
  size_t nquery;
  struct sigv4_pair headers[S3_MAX_HEADERS];  /* extra headers, all signed */
  size_t nheaders;
  const char *body;             /* request body in memory (PUT/POST), or NULL */
  size_t body_len;
  const char *body_sha256;      /* hex SHA-256 of body (computed if NULL) */
  const struct rm_writer *writer;  /* GET: stream a 2xx body here; else collect */
  int no_retry;                 /* one attempt only */

  /* Output of the last attempt. */
  long status;
  struct s3buf body_out;        /* collected body (non-writer or error) */
  char etag[RM_ETAG_MAX];
  long long content_length;     /* -1 if absent */
  long long last_modified;      /* -1 if absent */
  char request_id[128];
  char s3_code[64];             /* <Code> of an error body, or "" */
  char sse[32];                 /* x-amz-server-side-encryption */
  char bucket_region[64];       /* x-amz-bucket-region (sent with region errors) */
  long long retry_after_ms;     /* -1 if absent */
  long long server_date;        /* Date header, Unix time, or -1 */
  int attempts;
  int sends;                    /* times the request went out, over all attempts: libcurl
                                   itself resends once on a reused connection that died */
  /* Internal per-attempt state. */
  long long received;
  int aborted;                  /* the writer failed */
  int streaming;                /* body bytes were given to the writer this attempt */
  void *md5;                    /* EVP_MD_CTX * over the streamed body */
  size_t upload_off;
};

/* Append a header / query parameter (name and value must outlive the request). */
void s3_req_header (struct s3_request *r, const char *name, const char *value);
void s3_req_query (struct s3_request *r, const char *name, const char *value);

/* Perform the request, retrying TRANSIENT failures up to c->max_attempts.  Returns
 * RM_OK for a 2xx status, else the mapped RM_E_* with *err filled ("<op> <key>: ...
 * (HTTP 403 AccessDenied, request id X)").  Free with s3_req_free. */
int s3_request_do (struct s3_client *c, struct s3_request *r, struct rm_error *err);
void s3_req_free (struct s3_request *r);

/* THE mapping from an HTTP status and an S3 error <Code> ("" if none) to RM_E_*. */
int s3_map_error (long status, const char *code);
/* libcurl result -> RM_E_* (connection failures are TRANSIENT). */
int s3_map_curl (CURLcode rc);

/* Delay before retry number `attempt` (1-based): full jitter over
 * min(max_ms, base_ms * 2^(attempt-1)), but at least retry_after_ms when >= 0. */
long long s3_backoff_ms (long base_ms, long max_ms, int attempt, long long retry_after_ms,
                         unsigned *seed);

#endif
