/* The daemon's HTTP server on libmicrohttpd: /healthz and /readyz (200 "ok", or 503 and
 * the reason, from a callback), /releases (JSON from a callback), /metrics (the registry
 * in the Prometheus text format) and /debug/vars (the registry as expvar-style JSON).
 * Anything else is 404; a known path asked with another method than GET or HEAD is 405.
 * Every text a callback gives passes through the log redactor before it is sent. */
#ifndef RM_DAEMON_HTTP_H
#define RM_DAEMON_HTTP_H

#include <stdbool.h>

#include "base/util.h"
#include "daemon/metrics.h"
#include <releasemanager/backend.h>   /* struct rm_error */

/* A listen address: ":PORT" (every address, IPv6 and IPv4), "HOST:PORT" (an IPv4 address
 * or a host name) or "[IPV6]:PORT"; PORT is 0-65535, 0 picks a free port. */
struct http_addr {
  char host[256];   /* "" for every address; an IPv6 address without its brackets */
  unsigned port;
};
/* Parse text strictly; 0, or RM_E_INVALID with a message naming the address. */
int http_addr_parse (const char *text, struct http_addr *out, struct rm_error *err);

/* A health check: true when healthy; otherwise it writes why into reason (one line). */
typedef bool (*http_check_fn) (void *arg, struct strbuf *reason);
/* /releases: append a JSON document to body and return 0, or return an error code with
 * err filled (answered as 500 with err's message). */
typedef int (*http_json_fn) (void *arg, struct strbuf *body, struct rm_error *err);

struct http_handlers {
  http_check_fn healthz;      /* NULL: always healthy */
  http_check_fn readyz;       /* NULL: always ready */
  http_json_fn releases;      /* NULL: answers [] */
  struct metrics *metrics;    /* NULL: /metrics and /debug/vars are empty */
  void *arg;                  /* passed to the callbacks */
};

enum http_mode {
  HTTP_MODE_INTERNAL_THREAD,        /* one thread polls every connection */
  HTTP_MODE_THREAD_PER_CONNECTION,  /* a thread per connection (slow callbacks) */
};

struct http_server;

/* Listen on listen_addr and serve until http_stop.  Callbacks run on the server's
 * threads, possibly at the same time (thread per connection): they must be thread-safe.
 * h is copied.  Returns NULL with err filled (a bad address, or the bind failing) on
 * failure. */
struct http_server *http_start (const char *listen_addr, enum http_mode mode,
                                const struct http_handlers *h, struct rm_error *err);
/* The port bound (the one picked when the address asked for port 0). */
unsigned http_port (const struct http_server *s);
/* Stop serving: close the listening socket and every connection, join the server's
 * threads, free s.  Returns promptly, whatever the clients do.  s may be NULL. */
void http_stop (struct http_server *s);

#endif
