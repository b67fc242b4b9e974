/* LIST and WATCH.  A LIST is read page by page (limit + continue); when the continue
 * token expires (410) the list starts over, telling the caller to forget what it saw.
 * A metadata-only LIST asks for PartialObjectMetadataList, which real API servers serve,
 * and falls back to the full objects where it is refused.  A WATCH is read as a stream
 * of JSON lines, one event each. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

#define META_ACCEPT "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
#define MAX_RESTARTS 5

void
kube_list_info_free (struct kube_list_info *info)
{
  free (info->resource_version);
  memset (info, 0, sizeof *info);
}

static void
add_param (struct strbuf *sb, const char *key, const char *value)
{
  if (!value || !*value)
    return;
  char *e = kube_escape (value);
  strbuf_printf (sb, "%c%s=%s", strchr (sb->data, '?') ? '&' : '?', key, e);
  free (e);
}

static int
list_pages (struct kube_client *c, const char *path, const struct kube_list_opts *opts,
            bool give, kube_item_fn item, kube_restart_fn restart, void *ud,
            struct kube_list_info *info, struct rm_error *err)
{
  static const struct kube_list_opts defaults;
  struct kube_list_info local;
  if (!opts)
    opts = &defaults;
  if (!info)
    info = &local;
  memset (info, 0, sizeof *info);
  err_clear (err);
  unsigned limit = opts->limit ? opts->limit : 500;
  bool meta = opts->metadata_only;
  char *cont = NULL;
  int rc = KUBE_OK;

  for (;;) {
    struct strbuf p = STRBUF_INIT;
    strbuf_puts (&p, path);
    char lim[32];
    snprintf (lim, sizeof lim, "%u", limit);
    add_param (&p, "limit", lim);
    add_param (&p, "labelSelector", opts->label_selector);
    add_param (&p, "fieldSelector", opts->field_selector);
    add_param (&p, "continue", cont);
    struct kube_response resp;
    rc = kube_request (c, "GET", p.data, NULL, NULL, 0, meta ? META_ACCEPT : NULL, &resp, err);
    strbuf_free (&p);

    bool start_over = false;
    if (rc != KUBE_OK && meta
        && (resp.status == 406 || resp.status == 415 || resp.status == 400)) {
      log_debug ("LIST %s: metadata-only list refused (HTTP %ld), listing full objects", path,
                 resp.status);
      meta = false;
      start_over = true;
    }
    else if (rc == KUBE_E_GONE && cont) {
      if (++info->restarts > MAX_RESTARTS) {
        size_t n = strlen (err->message);
        snprintf (err->message + n, sizeof err->message - n,
                  " (the list expired %d times in a row while paging)", MAX_RESTARTS);
        kube_response_free (&resp);
        break;
      }
      log_info ("LIST %s: continue token expired; listing again from the start", path);
      start_over = true;
    }
    if (start_over) {
      kube_response_free (&resp);
      free (cont);
      cont = NULL;
      if (info->items && restart)
        restart (ud);
      info->items = 0;
      rc = KUBE_OK;
      continue;
    }
    if (rc != KUBE_OK) {
      kube_response_free (&resp);
      break;
    }

    cJSON *page = cJSON_ParseWithLength (resp.body.data ? resp.body.data : "", resp.body.len);
    kube_response_free (&resp);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (page, "items");
    if (!cJSON_IsObject (page) || (items && !cJSON_IsNull (items) && !cJSON_IsArray (items))) {
      cJSON_Delete (page);
      rc = err_set (err, KUBE_E_PROTOCOL, "LIST %s: the answer is not a list", path);
      break;
    }
    info->pages++;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive (page, "kind");
    info->metadata_only = meta && cJSON_IsString (kind)
                          && strcmp (kind->valuestring, "PartialObjectMetadataList") == 0;
    cJSON *it = cJSON_IsArray (items) ? items->child : NULL;
    while (it) {
      cJSON *next = it->next;
      info->items++;
      if (give && item)
        cJSON_DetachItemViaPointer ((cJSON *) items, it);
      if (item && item (ud, it) != 0) {
        rc = err_set (err, KUBE_E_ABORTED, "LIST %s: stopped by the caller", path);
        break;
      }
      it = next;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive (page, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive (md, "resourceVersion");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive (md, "continue");
    if (cJSON_IsString (rv)) {
      free (info->resource_version);
      info->resource_version = xstrdup (rv->valuestring);
    }
    free (cont);
    cont = cJSON_IsString (next) && *next->valuestring ? xstrdup (next->valuestring) : NULL;
    cJSON_Delete (page);
    if (rc != KUBE_OK || !cont)
      break;
  }
  free (cont);
  if (info == &local)
    kube_list_info_free (&local);
  return rc;
}

int
kube_list (struct kube_client *c, const char *path, const struct kube_list_opts *opts,
           kube_item_fn item, kube_restart_fn restart, void *ud, struct kube_list_info *info,
           struct rm_error *err)
{
  return list_pages (c, path, opts, false, item, restart, ud, info, err);
}

int
kube_list_owned (struct kube_client *c, const char *path, const struct kube_list_opts *opts,
                 kube_item_fn item, kube_restart_fn restart, void *ud,
                 struct kube_list_info *info, struct rm_error *err)
{
  return list_pages (c, path, opts, true, item, restart, ud, info, err);
}

/* ---- WATCH ---- */

struct watch {
  struct strbuf line;
  kube_watch_fn fn;
  void *ud;
  char *last_rv;
  const char *path;
  struct rm_error *err;    /* set when the stream itself reports an error */
  bool failed;
};

static void
watch_reset (void *ud)
{
  struct watch *w = ud;
  w->line.len = 0;
}

/* One event line.  Returns 0 to go on. */
static int
watch_event (struct watch *w, const char *text, size_t len)
{
  while (len && (text[len - 1] == '\r' || text[len - 1] == ' '))
    len--;
  if (!len)
    return 0;
  cJSON *ev = cJSON_ParseWithLength (text, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (ev, "type");
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive (ev, "object");
  int stop = 0;
  if (!cJSON_IsString (type) || !cJSON_IsObject (obj)) {
    err_set (w->err, KUBE_E_PROTOCOL, "WATCH %s: malformed event", w->path);
    w->failed = true;
    stop = 1;
    goto out;
  }
  const char *t = type->valuestring;
  if (strcmp (t, "ERROR") == 0) {
    /* The object is a Status; 410 means the resourceVersion is too old: relist. */
    char *body = cJSON_PrintUnformatted (obj);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive (obj, "code");
    kube_status_error (NULL, "WATCH", w->path,
                       cJSON_IsNumber (code)
                         ? double_to_long_or (code->valuedouble, 100, 599, 500) : 500, body,
                       strlen (body), w->err);
    free (body);
    w->failed = true;
    stop = 1;
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
  const cJSON *rv = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (obj, "metadata"),
                                                      "resourceVersion");
  if (cJSON_IsString (rv)) {
    free (w->last_rv);
    w->last_rv = xstrdup (rv->valuestring);
  }
  if (w->fn (w->ud, wt, obj) != 0) {
    err_set (w->err, KUBE_E_ABORTED, "WATCH %s: stopped by the caller", w->path);
    w->failed = true;
    stop = 1;
  }
out:
  cJSON_Delete (ev);
  return stop;
}

static int
watch_sink (void *ud, const char *data, size_t len)
{
  struct watch *w = ud;
  strbuf_add (&w->line, data, len);
  size_t start = 0;
  for (size_t i = 0; i < w->line.len; i++) {
    if (w->line.data[i] != '\n')
      continue;
    if (watch_event (w, w->line.data + start, i - start))
      return 1;
    start = i + 1;
  }
  memmove (w->line.data, w->line.data + start, w->line.len - start);
  w->line.len -= start;
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
  add_param (&p, "watch", "1");
  add_param (&p, "labelSelector", opts->label_selector);
  add_param (&p, "resourceVersion", opts->resource_version);
  if (opts->timeout_seconds > 0) {
    char t[32];
    snprintf (t, sizeof t, "%ld", opts->timeout_seconds);
    add_param (&p, "timeoutSeconds", t);
  }
  if (opts->bookmarks)
    add_param (&p, "allowWatchBookmarks", "true");

  struct rm_error stream_err;
  err_clear (&stream_err);
  struct watch w = { STRBUF_INIT, fn, ud, NULL, path, &stream_err, false };
  struct kube_http_req req = { .method = "GET", .path = p.data, .stream = true,
                               .stream_timeout_ms = opts->timeout_seconds > 0
                                                    ? (opts->timeout_seconds + 30) * 1000 : 0,
                               .sink = watch_sink, .on_retry = watch_reset, .sink_ud = &w };
  struct kube_response resp;
  int rc = kube_http_do (c, &req, &resp, err);
  if (rc == KUBE_E_ABORTED && w.failed)
    *err = stream_err;
  rc = rc == KUBE_E_ABORTED && w.failed ? stream_err.code : rc;
  /* A last event without its newline, when the server closed cleanly. */
  if (rc == KUBE_OK && w.line.len && watch_event (&w, w.line.data, w.line.len) && w.failed) {
    *err = stream_err;
    rc = stream_err.code;
  }
  kube_response_free (&resp);
  strbuf_free (&w.line);
  strbuf_free (&p);
  if (last_rv)
    *last_rv = w.last_rv;
  else
    free (w.last_rv);
  return rc;
}
