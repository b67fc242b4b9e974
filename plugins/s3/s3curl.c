/* libcurl set-up shared by the s3 plugin's HTTP layer and its credential chain: the
 * process-wide curl_global_init, the http/https-only protocol restriction, and
 * s3_http_simple, the plain request the credential endpoints (STS, ECS, IMDS) use.
 * Nothing here calls s3http.c or s3creds.c. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "s3curl.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void
global_init (void)
{
  /* Never cleaned up: curl_global_cleanup while another plugin or the host still uses
   * libcurl is worse than the few bytes this keeps. */
  global_rc = curl_global_init (CURL_GLOBAL_DEFAULT);
}

CURLcode
s3_curl_global_init (void)
{
  pthread_once (&global_once, global_init);
  return global_rc;
}

void
s3_curl_protocols (CURL *h)
{
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt (h, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

struct simple_ctx {
  struct s3buf *resp;
};

static size_t
simple_body (char *buf, size_t size, size_t nmemb, void *ud)
{
  struct simple_ctx *s = ud;
  size_t n = size * nmemb;
  if (s->resp->len + n > S3_ERRBODY_MAX || s3buf_add (s->resp, buf, n) < 0)
    return 0;
  return n;
}

int
s3_http_simple (const char *method, const char *url, const char *const *headers,
                const char *body, long timeout_s, int direct, const char *user_agent,
                long *status, struct s3buf *resp, char *errbuf, size_t errsz)
{
  CURL *h;
  struct curl_slist *list = NULL, *tmp;
  struct simple_ctx s = { resp };
  char curlerr[CURL_ERROR_SIZE] = "";
  CURLcode crc;
  (void) s3_curl_global_init ();  /* a failed init shows as curl_easy_init () == NULL */
  h = curl_easy_init ();
  if (h == NULL) {
    snprintf (errbuf, errsz, "out of memory");
    return -1;
  }
  for (; headers && *headers; headers++) {
    if ((tmp = curl_slist_append (list, *headers)) == NULL) {
      curl_slist_free_all (list);
      curl_easy_cleanup (h);
      snprintf (errbuf, errsz, "out of memory");
      return -1;
    }
    list = tmp;
  }
  s3buf_reset (resp);
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, timeout_s);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, curlerr);
  s3_curl_protocols (h);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, simple_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &s);
  if (user_agent)
    curl_easy_setopt (h, CURLOPT_USERAGENT, user_agent);
  if (direct)
    curl_easy_setopt (h, CURLOPT_NOPROXY, "*");
  if (strcmp (method, "POST") == 0) {
    curl_easy_setopt (h, CURLOPT_POST, 1L);
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, body ? body : "");
  }
  else if (strcmp (method, "GET") != 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
  crc = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all (list);
  curl_easy_cleanup (h);
  if (crc != CURLE_OK) {
    snprintf (errbuf, errsz, "%s", curlerr[0] ? curlerr : curl_easy_strerror (crc));
    return -1;
  }
  if (resp->data == NULL && s3buf_puts (resp, "") < 0) {
    snprintf (errbuf, errsz, "out of memory");
    return -1;
  }
  return 0;
}
