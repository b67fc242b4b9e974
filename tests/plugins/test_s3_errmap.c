/* The s3 plugin's single error-mapping function (HTTP status + S3 <Code> -> RM_E_*),
 * libcurl result mapping, and the backoff schedule (capped, full jitter, Retry-After). */
#include <config.h>

#include <criterion/criterion.h>

#include "plugins/s3/s3http.h"

Test (s3errmap, table)
{
  static const struct { long status; const char *code; int want; } t[] = {
    { 404, "NoSuchKey", RM_E_NOT_FOUND },
    { 404, "", RM_E_NOT_FOUND },                  /* HEAD: no body */
    { 404, "NoSuchBucket", RM_E_CONFIG },
    { 404, "NoSuchUpload", RM_E_NOT_FOUND },
    { 403, "AccessDenied", RM_E_PERMISSION },
    { 403, "", RM_E_PERMISSION },
    { 403, "InvalidAccessKeyId", RM_E_AUTH },
    { 403, "SignatureDoesNotMatch", RM_E_AUTH },
    { 400, "ExpiredToken", RM_E_AUTH },
    { 403, "RequestTimeTooSkewed", RM_E_AUTH },
    { 400, "AuthorizationHeaderMalformed", RM_E_CONFIG },
    { 301, "PermanentRedirect", RM_E_CONFIG },
    { 412, "PreconditionFailed", RM_E_PRECONDITION },
    { 412, "", RM_E_PRECONDITION },
    { 409, "ConditionalRequestConflict", RM_E_TRANSIENT },
    { 503, "SlowDown", RM_E_TRANSIENT },
    { 503, "", RM_E_TRANSIENT },
    { 500, "InternalError", RM_E_TRANSIENT },
    { 500, "", RM_E_TRANSIENT },
    { 502, "", RM_E_TRANSIENT },
    { 504, "", RM_E_TRANSIENT },
    { 400, "RequestTimeout", RM_E_TRANSIENT },
    { 429, "", RM_E_TRANSIENT },
    { 400, "BadDigest", RM_E_TRANSIENT },
    { 400, "XAmzContentSHA256Mismatch", RM_E_TRANSIENT },
    { 400, "IncompleteBody", RM_E_TRANSIENT },
    { 400, "InvalidArgument", RM_E_INVALID },
    { 400, "EntityTooSmall", RM_E_INVALID },
    { 400, "KeyTooLongError", RM_E_INVALID },
    { 400, "", RM_E_INVALID },
    { 507, "XMinioStorageFull", RM_E_NOSPACE },
    { 501, "NotImplemented", RM_E_UNSUPPORTED },
    { 405, "", RM_E_UNSUPPORTED },
    { 418, "", RM_E_IO },
    { 200, "", RM_OK },
    { 204, "", RM_OK },
    { 200, "InternalError", RM_E_TRANSIENT },     /* 200 with an <Error> body */
    { 403, "SomeFutureCode", RM_E_PERMISSION },   /* unknown code: the status decides */
  };
  size_t i;
  for (i = 0; i < sizeof t / sizeof t[0]; i++)
    cr_expect_eq (s3_map_error (t[i].status, t[i].code), t[i].want, "HTTP %ld %s -> %d, want %d",
                  t[i].status, t[i].code, s3_map_error (t[i].status, t[i].code), t[i].want);
}

Test (s3errmap, curl)
{
  cr_expect_eq (s3_map_curl (CURLE_OK), RM_OK);
  cr_expect_eq (s3_map_curl (CURLE_COULDNT_CONNECT), RM_E_TRANSIENT);
  cr_expect_eq (s3_map_curl (CURLE_PARTIAL_FILE), RM_E_TRANSIENT);
  cr_expect_eq (s3_map_curl (CURLE_GOT_NOTHING), RM_E_TRANSIENT);
  cr_expect_eq (s3_map_curl (CURLE_OPERATION_TIMEDOUT), RM_E_TRANSIENT);
  cr_expect_eq (s3_map_curl (CURLE_RECV_ERROR), RM_E_TRANSIENT);
  cr_expect_eq (s3_map_curl (CURLE_COULDNT_RESOLVE_HOST), RM_E_TRANSIENT);
  cr_expect_eq (s3_map_curl (CURLE_PEER_FAILED_VERIFICATION), RM_E_CONFIG);
  cr_expect_eq (s3_map_curl (CURLE_WRITE_ERROR), RM_E_ABORTED);
  cr_expect_eq (s3_map_curl (CURLE_OUT_OF_MEMORY), RM_E_NOMEM);
}

Test (s3errmap, backoff)
{
  unsigned seed = 1;
  int attempt, k;
  for (attempt = 1; attempt <= 12; attempt++) {
    long long cap = 100LL << (attempt - 1), seen_max = 0;
    if (cap > 20000)
      cap = 20000;
    for (k = 0; k < 200; k++) {
      long long d = s3_backoff_ms (100, 20000, attempt, -1, &seed);
      cr_assert (d >= 0 && d <= cap, "attempt %d: %lld > cap %lld", attempt, d, cap);
      if (d > seen_max)
        seen_max = d;
    }
    /* full jitter really spreads over [0, cap] */
    cr_expect (seen_max > cap / 2, "attempt %d: max %lld of cap %lld", attempt, seen_max, cap);
  }
  /* Retry-After is a floor, bounded by the configured maximum. */
  cr_expect_geq (s3_backoff_ms (100, 20000, 1, 3000, &seed), 3000);
  cr_expect_eq (s3_backoff_ms (100, 20000, 1, 999999, &seed), 20000);
  cr_expect_eq (s3_backoff_ms (0, 0, 3, -1, &seed), 0);
}
