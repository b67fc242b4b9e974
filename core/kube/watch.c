/* WATCH: one streamed GET (?watch=1) read as newline-delimited JSON, each event handed to
 * the caller as soon as its line is complete; only the current line is buffered, up to a
 * bound.  How a watch ends tells the caller what to do next: the server ended it
 * (timeoutSeconds: resume from the last resourceVersion), the connection dropped (resume,
 * after a backoff), 410 Gone as an HTTP status or an ERROR event (re-LIST), the caller
 * stopped it (a callback's answer, or a stop function polled while the stream is idle).
 * Also the metadata fields every event and metadata-only LIST item carry. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

#define DEFAULT_MAX_EVENT (16u << 20)

struct watch {
  struct strbuf line;      /* the event being received */
  size_t scanned;          /* bytes of line known to hold no newline */
  size_t max_event;
  const struct kube_watch_opts *opts;
  kube_watch_fn fn;
  void *ud;
  char *last_rv;
  const char *path;
  struct rm_error *err;    /* set when the stream itself ends the watch */
  bool failed;
};

static void
watch_reset (void *ud)
{
  struct watch *w = ud;
  w->line.len = 0;
  w->scanned = 0;
}

static bool
watch_cancelled (void *ud)
{
  struct watch *w = ud;
  return w->opts->stop && w->opts->stop (w->opts->stop_ud);
}

static int
fail (struct watch *w, int code, const char *what)
{
  err_set (w->err, code, "WATCH %s: %s", w->path, what);
  w->failed = true;
  return 1;
}

/* An ERROR event: its object is a Status (410 Expired: the resourceVersion is too old). */
static int
watch_error (struct watch *w, const cJSON *status)
{
  char *body = cJSON_PrintUnformatted (status);
  const cJSON *code = cJSON_GetObjectItemCaseSensitive (status, "code");
  kube_status_error (NULL, "WATCH", w->path,
                     cJSON_IsNumber (code)
                       ? double_to_long_or (code->valuedouble, 100, 599, 500) : 500,
                     body, strlen (body), w->err);
  free (body);
  w->failed = true;
  return 1;
}

/* One event line.  Returns 0 to go on. */
static int
watch_event (struct watch *w, const char *text, size_t len)
{
  while (len && (text[len - 1] == '\r' || text[len - 1] == ' '))
    len--;
  if (!len)
    return 0;
  if (watch_cancelled (w))
    return fail (w, KUBE_E_ABORTED, "stopped by the caller");
  cJSON *ev = cJSON_ParseWithLength (text, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (ev, "type");
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive (ev, "object");
  int stop = 0;
  if (!cJSON_IsString (type) || !cJSON_IsObject (obj)) {
    stop = fail (w, KUBE_E_PROTOCOL, "malformed event");
    goto out;
  }
  const char *t = type->valuestring;
  if (strcmp (t, "ERROR") == 0) {
    stop = watch_error (w, obj);
    goto out;
  }
  enum kube_watch_type wt;
  if (strcmp (t, "ADDED") == 0) wt = KUBE_WATCH_ADDED;
  else if (strcmp (t, "MODIFIED") == 0) wt = KUBE_WATCH_MODIFIED;
  else if (strcmp (t, "DELETED") == 0) wt = KUBE_WATCH_DELETED;
  else if (strcmp (t, "BOOKMARK") == 0) wt = KUBE_WATCH_BOOKMARK;
  else {
    log_debug ("WATCH %s: ignoring event type %s", w->path, t);
    goto out;
  }
  struct kube_meta m;
  if (kube_object_meta (obj, &m) && m.resource_version && *m.resource_version) {
    free (w->last_rv);
    w->last_rv = xstrdup (m.resource_version);
  }
  if (w->fn (w->ud, wt, obj) != 0)
    stop = fail (w, KUBE_E_ABORTED, "stopped by the caller");
out:
  cJSON_Delete (ev);
  return stop;
}

/* Bytes as they arrive: every complete line is an event; the rest waits for more. */
static int
watch_sink (void *ud, const char *data, size_t len)
{
  struct watch *w = ud;
  strbuf_add (&w->line, data, len);
  size_t start = 0;
  for (size_t i = w->scanned; i < w->line.len; i++) {
    if (w->line.data[i] != '\n')
      continue;
    if (i - start > w->max_event) {
      char what[96];
      snprintf (what, sizeof what, "an event of %zu bytes is over the limit of %zu bytes",
                i - start, w->max_event);
      return fail (w, KUBE_E_PROTOCOL, what);
    }
    if (watch_event (w, w->line.data + start, i - start))
      return 1;
    start = i + 1;
  }
  memmove (w->line.data, w->line.data + start, w->line.len - start);
  w->line.len -= start;
  w->scanned = w->line.len;
  if (w->line.len > w->max_event) {
    char what[96];
    snprintf (what, sizeof what, "an event of more than %zu bytes is over the limit",
              w->max_event);
    return fail (w, KUBE_E_PROTOCOL, what);
  }
  return 0;
}

int
kube_watch (struct kube_client *c, const char *path, const struct kube_watch_opts *opts,
            kube_watch_fn fn, void *ud, char **last_rv, struct rm_error *err)
{
  static const struct kube_watch_opts defaults;
  if (!opts)
    opts = &defaults;
  if (last_rv)
    *last_rv = NULL;
  struct strbuf p = STRBUF_INIT;
  strbuf_puts (&p, path);
  kube_query_add (&p, "watch", "1");
  kube_query_add (&p, "labelSelector", opts->label_selector);
  kube_query_add (&p, "fieldSelector", opts->field_selector);
  kube_query_add (&p, "resourceVersion", opts->resource_version);
  if (opts->timeout_seconds > 0) {
    char t[32];
    snprintf (t, sizeof t, "%ld", opts->timeout_seconds);
    kube_query_add (&p, "timeoutSeconds", t);
  }
  if (opts->bookmarks)
    kube_query_add (&p, "allowWatchBookmarks", "true");

  struct rm_error stream_err;
  err_clear (&stream_err);
  struct watch w = {
    .line = STRBUF_INIT, .max_event = opts->max_event_bytes ? opts->max_event_bytes : DEFAULT_MAX_EVENT,
    .opts = opts, .fn = fn, .ud = ud, .path = path, .err = &stream_err,
    .last_rv = opts->resource_version ? xstrdup (opts->resource_version) : NULL,
  };
  /* A WATCH the server promised to end: wait at most 30 s more for a connection that
   * died without a word. */
  struct kube_http_req req = { .method = "GET", .path = p.data, .stream = true,
                               .stream_timeout_ms = opts->timeout_seconds > 0
                                                    ? (opts->timeout_seconds + 30) * 1000 : 0,
                               .sink = watch_sink, .on_retry = watch_reset, .sink_ud = &w,
                               .cancel = opts->stop ? watch_cancelled : NULL };
  struct kube_response resp;
  int rc = kube_http_do (c, &req, &resp, err);
  if (rc == KUBE_E_ABORTED && w.failed) {
    *err = stream_err;
    rc = stream_err.code;
  }
  /* A last event without its newline, when the server closed cleanly. */
  if (rc == KUBE_OK && w.line.len && watch_event (&w, w.line.data, w.line.len) && w.failed) {
    *err = stream_err;
    rc = stream_err.code;
  }
  if (rc != KUBE_OK)
    log_debug ("WATCH %s: ended at resourceVersion %s: %s", path,
               w.last_rv ? w.last_rv : "(none)", err->message);
  kube_response_free (&resp);
  strbuf_free (&w.line);
  strbuf_free (&p);
  if (last_rv)
    *last_rv = w.last_rv;
  else
    free (w.last_rv);
  return rc;
}

bool
kube_object_meta (const cJSON *obj, struct kube_meta *out)
{
  memset (out, 0, sizeof *out);
  const cJSON *md = cJSON_GetObjectItemCaseSensitive (obj, "metadata");
  if (!cJSON_IsObject (md))
    return false;
  const char **fields[] = { &out->name, &out->namespace, &out->uid, &out->resource_version };
  static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion" };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (md, keys[i]);
    *fields[i] = cJSON_IsString (v) ? v->valuestring : NULL;
  }
  const cJSON *labels = cJSON_GetObjectItemCaseSensitive (md, "labels");
  out->labels = cJSON_IsObject (labels) ? labels : NULL;
  return true;
}

const char *
kube_meta_label (const struct kube_meta *m, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (m->labels, key);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}
