/* The daemon's HTTP server (http.h).  The listening socket is made here (so an address
 * is parsed and bound with our own messages, ":PORT" listens on IPv6 and IPv4 alike, and
 * the bound port is known) and handed to libmicrohttpd, which runs either one polling
 * thread or a thread per connection and closes the socket on stop. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/error.h"
#include "base/log.h"
#include "daemon/http.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

struct http_server {
  struct MHD_Daemon *d;
  struct http_handlers h;
  unsigned port;
};

static int
bad_addr (struct rm_error *err, const char *text, const char *why)
{
  return err_set (err, RM_E_INVALID,
                  "listen address '%s': %s (expected :PORT, HOST:PORT or [IPV6]:PORT)", text, why);
}

int
http_addr_parse (const char *text, struct http_addr *out, struct rm_error *err)
{
  memset (out, 0, sizeof *out);
  if (!text || !*text)
    return bad_addr (err, text ? text : "", "empty");
  const char *colon;
  if (text[0] == '[') {
    const char *close = strchr (text, ']');
    if (!close)
      return bad_addr (err, text, "no ']' after the IPv6 address");
    size_t n = (size_t) (close - text - 1);
    if (n == 0 || n >= sizeof out->host)
      return bad_addr (err, text, "not an IPv6 address in the brackets");
    memcpy (out->host, text + 1, n);
    struct in6_addr a6;
    if (inet_pton (AF_INET6, out->host, &a6) != 1)
      return bad_addr (err, text, "not an IPv6 address in the brackets");
    if (close[1] != ':')
      return bad_addr (err, text, "no ':PORT' after the brackets");
    colon = close + 1;
  } else {
    colon = strrchr (text, ':');
    if (!colon)
      return bad_addr (err, text, "no port");
    if (memchr (text, ':', (size_t) (colon - text)))
      return bad_addr (err, text, "an IPv6 address needs brackets");
    size_t n = (size_t) (colon - text);
    if (n >= sizeof out->host)
      return bad_addr (err, text, "host name too long");
    for (size_t i = 0; i < n; i++) {
      char c = text[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '.' || c == '-'))
        return bad_addr (err, text, "not a host name or IPv4 address before the port");
    }
    memcpy (out->host, text, n);
  }
  const char *p = colon + 1;
  size_t digits = strspn (p, "0123456789");
  if (digits == 0 || p[digits] != '\0')
    return bad_addr (err, text, "the port is not a number");
  if (digits > 5 || strtoul (p, NULL, 10) > 65535)
    return bad_addr (err, text, "the port is above 65535");
  out->port = (unsigned) strtoul (p, NULL, 10);
  return 0;
}

/* A socket bound to ai and listening, or -1 with errno. */
static int
listen_on (const struct sockaddr *sa, socklen_t len, bool dual)
{
  int fd = socket (sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int on = 1, off = 0;
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0
      || (sa->sa_family == AF_INET6
          && setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &off : &on, sizeof on) < 0)
      || bind (fd, sa, len) < 0 || listen (fd, 64) < 0) {
    int e = errno;
    close (fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* The listening socket for a, or -1 with err filled. */
static int
open_listener (const char *text, const struct http_addr *a, struct rm_error *err)
{
  int fd;
  if (!a->host[0]) {
    /* Every address: one IPv6 socket that takes IPv4 too, or IPv4 alone on a machine
     * without IPv6. */
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons (a->port),
                               .sin6_addr = IN6ADDR_ANY_INIT };
    fd = listen_on ((struct sockaddr *) &s6, sizeof s6, true);
    if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
      struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons (a->port),
                                .sin_addr.s_addr = htonl (INADDR_ANY) };
      fd = listen_on ((struct sockaddr *) &s4, sizeof s4, false);
    }
    if (fd < 0)
      err_set (err, RM_E_IO, "listen address '%s': %s", text, strerror (errno));
    return fd;
  }
  struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                            .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res;
  char port[8];
  snprintf (port, sizeof port, "%u", a->port);
  int rc = getaddrinfo (a->host, port, &hints, &res);
  if (rc != 0) {
    err_set (err, RM_E_INVALID, "listen address '%s': cannot resolve %s: %s", text, a->host,
             gai_strerror (rc));
    return -1;
  }
  int e = 0;
  fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
    if ((fd = listen_on (ai->ai_addr, ai->ai_addrlen, false)) < 0)
      e = errno;
  freeaddrinfo (res);
  if (fd < 0)
    err_set (err, RM_E_IO, "listen address '%s': %s", text, strerror (e));
  return fd;
}

static void mhd_log (void *cls, const char *fmt, va_list ap) __attribute__((format (printf, 2, 0)));

/* libmicrohttpd's own messages, at debug level: most are about clients (one that connects
 * and closes, as a TCP probe does, is "detected connection closure"), and a failure to
 * start is reported by http_start itself. */
static void
mhd_log (void *cls, const char *fmt, va_list ap)
{
  (void) cls;
  char buf[512];
  vsnprintf (buf, sizeof buf, fmt, ap);
  buf[strcspn (buf, "\n")] = '\0';
  log_debug ("http: %s", buf);
}

/* Queue body (freed here) as the answer.  redact: the text came from a callback, so any
 * registered secret in it becomes "***" (in place; a short secret may cut the tail). */
static mhd_result
respond (struct MHD_Connection *c, unsigned status, const char *type, struct strbuf *body,
         bool redact)
{
  strbuf_puts (body, "");   /* never NULL */
  if (redact)
    log_redact (body->data, body->len + 1);
  struct MHD_Response *r =
    MHD_create_response_from_buffer (strlen (body->data), body->data, MHD_RESPMEM_MUST_COPY);
  strbuf_free (body);
  if (!r)
    return MHD_NO;
  MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header (r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header (r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  mhd_result ret = MHD_queue_response (c, status, r);
  MHD_destroy_response (r);
  return ret;
}

#define TEXT_TYPE "text/plain; charset=utf-8"
#define JSON_TYPE "application/json; charset=utf-8"

static mhd_result
probe (struct MHD_Connection *c, http_check_fn check, void *arg)
{
  struct strbuf body = STRBUF_INIT;
  if (!check || check (arg, &body)) {
    strbuf_free (&body);
    strbuf_puts (&body, "ok");
    return respond (c, MHD_HTTP_OK, TEXT_TYPE, &body, false);
  }
  if (body.len == 0)
    strbuf_puts (&body, "unhealthy");
  return respond (c, MHD_HTTP_SERVICE_UNAVAILABLE, TEXT_TYPE, &body, true);
}

static mhd_result
handle (void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
  (void) version;
  (void) upload_data;
  static int started;
  struct http_server *s = cls;
  /* The first call has only the headers; a request body is read and dropped. */
  if (!*state) {
    *state = &started;
    return MHD_YES;
  }
  if (*upload_data_size) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  struct strbuf body = STRBUF_INIT;
  bool known = !strcmp (url, "/healthz") || !strcmp (url, "/readyz") || !strcmp (url, "/releases")
               || !strcmp (url, "/metrics") || !strcmp (url, "/debug/vars");
  if (!known) {
    strbuf_puts (&body, "404 page not found\n");
    return respond (c, MHD_HTTP_NOT_FOUND, TEXT_TYPE, &body, false);
  }
  if (strcmp (method, MHD_HTTP_METHOD_GET) && strcmp (method, MHD_HTTP_METHOD_HEAD)) {
    strbuf_puts (&body, "405 method not allowed: use GET or HEAD\n");
    return respond (c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT_TYPE, &body, false);
  }
  if (!strcmp (url, "/healthz"))
    return probe (c, s->h.healthz, s->h.arg);
  if (!strcmp (url, "/readyz"))
    return probe (c, s->h.readyz, s->h.arg);
  if (!strcmp (url, "/metrics")) {
    if (s->h.metrics)
      metrics_render_text (s->h.metrics, &body);
    return respond (c, MHD_HTTP_OK, METRICS_TEXT_CONTENT_TYPE, &body, false);
  }
  if (!strcmp (url, "/debug/vars")) {
    if (s->h.metrics)
      metrics_render_json (s->h.metrics, &body);
    else
      strbuf_puts (&body, "{}");
    strbuf_puts (&body, "\n");
    return respond (c, MHD_HTTP_OK, JSON_TYPE, &body, false);
  }
  /* /releases */
  if (!s->h.releases) {
    strbuf_puts (&body, "[]");
    return respond (c, MHD_HTTP_OK, JSON_TYPE, &body, false);
  }
  struct rm_error err = { 0, "" };
  if (s->h.releases (s->h.arg, &body, &err) != 0) {
    strbuf_free (&body);
    strbuf_printf (&body, "error retrieving stored releases: %s\n",
                   err.message[0] ? err.message : err_strerror (err.code));
    return respond (c, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT_TYPE, &body, true);
  }
  return respond (c, MHD_HTTP_OK, JSON_TYPE, &body, true);
}

struct http_server *
http_start (const char *listen_addr, enum http_mode mode, const struct http_handlers *h,
            struct rm_error *err)
{
  struct http_addr a;
  if (http_addr_parse (listen_addr, &a, err) != 0)
    return NULL;
  int fd = open_listener (listen_addr, &a, err);
  if (fd < 0)
    return NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname (fd, (struct sockaddr *) &ss, &sl) < 0) {
    err_set (err, RM_E_IO, "listen address '%s': getsockname: %s", listen_addr, strerror (errno));
    close (fd);
    return NULL;
  }
  struct http_server *s = xcalloc (1, sizeof *s);
  s->h = *h;
  s->port = ntohs (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                            : ((struct sockaddr_in *) &ss)->sin_port);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
  flags |= mode == HTTP_MODE_THREAD_PER_CONNECTION ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL
                                                   : MHD_USE_AUTO;
  s->d = MHD_start_daemon (flags, 0, NULL, NULL, handle, s,
                           MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,   /* first */
                           MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned) 128,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
                           MHD_OPTION_END);
  if (!s->d) {
    err_set (err, RM_E_IO, "listen address '%s': the HTTP server did not start", listen_addr);
    close (fd);
    free (s);
    return NULL;
  }
  return s;
}

unsigned
http_port (const struct http_server *s)
{
  return s->port;
}

void
http_stop (struct http_server *s)
{
  if (!s)
    return;
  MHD_stop_daemon (s->d);
  free (s);
}
