/* Functions shared between the files of core/kube/ and nothing else: error helpers, file
 * reading, the credential provider (auth.c) and the exec plugin runner (exec.c). */
#ifndef RM_KUBE_INTERNAL_H
#define RM_KUBE_INTERNAL_H

#include <stdarg.h>
#include <time.h>

#include "kube/kube.h"

/* Errors are filled with err_set (base/error.h). */

/* Read a whole file into b (NUL-terminated).  Returns 0 or -1 with errno set. */
int kube_read_file (const char *path, struct kube_blob *b);
void kube_blob_free (struct kube_blob *b);
void kube_blob_copy (struct kube_blob *dst, const struct kube_blob *src);

/* Credentials for one request: a snapshot the caller owns. */
struct kube_creds {
  char *token;               /* bearer token or NULL */
  struct kube_blob cert, key;  /* client certificate (PEM), empty when none */
  unsigned long generation;  /* which credential set this is, for kube_auth_unauthorized */
  bool refreshable;          /* a 401 may be cured by asking again (exec, token file) */
};
void kube_creds_free (struct kube_creds *cr);

/* The '@' ending the user:password of url, or NULL when it has none; *auth is where the
 * authority starts (after "scheme://"). */
const char *kube_url_userinfo (const char *url, const char **auth);

struct kube_auth;
struct kube_auth *kube_auth_new (const struct kube_config *cfg, long exec_timeout_ms);
void kube_auth_free (struct kube_auth *a);
/* Current credentials: static ones, the token file (re-read when it changed), or the
 * exec plugin's (run again once expired).  Thread-safe. */
int kube_auth_get (struct kube_auth *a, struct kube_creds *out, struct rm_error *err);
/* The server answered 401 to a request made with cr: drop cached exec credentials of that
 * generation.  Returns true when asking again may give different credentials. */
bool kube_auth_unauthorized (struct kube_auth *a, const struct kube_creds *cr);
unsigned long kube_auth_exec_runs (struct kube_auth *a);

/* What an exec plugin returned. */
struct kube_exec_result {
  char *token;
  struct kube_blob cert, key;
  time_t expiry;             /* 0 = none given: valid until a 401 */
};
void kube_exec_result_free (struct kube_exec_result *r);
/* Run cfg->exec once (exec.c). */
int kube_exec_run (const struct kube_config *cfg, long timeout_ms, struct kube_exec_result *out,
                   struct rm_error *err);
/* RFC 3339 to time_t (UTC); -1 when malformed. */
time_t kube_parse_time (const char *s);

/* One HTTP exchange (http.c), with the retries, auth refresh and Status errors. */
struct kube_http_req {
  const char *method;
  const char *path;          /* from '/', with the query */
  const char *content_type;  /* of body; NULL = application/json */
  const char *body;          /* NULL = none */
  size_t body_len;
  const char *accept;        /* NULL = application/json */
  bool stream;               /* WATCH: no overall or stall timeout... */
  long stream_timeout_ms;    /* ...except this one, when not 0 */
  /* When set, a 2xx body goes here as it arrives instead of into resp->body; returning
   * non-zero stops the transfer (KUBE_E_ABORTED). */
  int (*sink) (void *ud, const char *data, size_t len);
  void (*on_retry) (void *ud);   /* the request starts again: reset what sink collected */
  void *sink_ud;
  /* When set, polled with sink_ud while the transfer waits (about once a second when no
   * byte moves) and before each retry: true ends the request at once (KUBE_E_ABORTED). */
  bool (*cancel) (void *ud);
};
int kube_http_do (struct kube_client *c, const struct kube_http_req *req,
                  struct kube_response *resp, struct rm_error *err);
int kube_code_for_status (long status);
/* Append "?key=value" or "&key=value" (value percent-encoded) to a path; nothing when
 * value is NULL or empty (api.c). */
void kube_query_add (struct strbuf *sb, const char *key, const char *value);
/* Describe a failed answer from its Status object (c may be NULL). */
void kube_status_error (const struct kube_client *c, const char *method, const char *path,
                        long status, const char *body, size_t len, struct rm_error *err);

#endif
