/* libcurl set-up the s3 plugin's HTTP layer (s3http.c) and its credential chain
 * (s3creds.c) both use: the once-per-process global init, the protocol restriction, and
 * plain unsigned requests for the credential endpoints.  Kept apart from s3http.c so
 * that s3http.c (which asks s3creds.c for keys) and s3creds.c (which fetches keys over
 * HTTP) do not call each other.  Internal: never installed. */
#ifndef S3_CURL_H
#define S3_CURL_H

#include <stddef.h>

#include <curl/curl.h>

#include "s3util.h"

/* The largest response body kept for an error message or a credential document. */
#define S3_ERRBODY_MAX (1 << 20)

/* curl_global_init, once per process; its result on every call. */
CURLcode s3_curl_global_init (void);
/* Allow only http and https on an easy handle. */
void s3_curl_protocols (CURL *h);

/* A plain (unsigned) HTTP request for the credential endpoints.  headers is a NULL-
 * terminated array of "Name: value" lines.  direct: never through a proxy (the
 * link-local ECS and instance metadata endpoints).  Returns 0 and sets *status and
 * body, or -1 with a message in err (no secrets). */
int s3_http_simple (const char *method, const char *url, const char *const *headers,
                    const char *body, long timeout_s, int direct, const char *user_agent,
                    long *status, struct s3buf *resp, char *errbuf, size_t errsz);

#endif
