/* LIST.  A LIST is read page by page (limit + continue); when the continue token expires
 * (410) the list starts over, telling the caller to forget what it saw.  A metadata-only
 * LIST asks for PartialObjectMetadataList, which real API servers serve, and falls back to
 * the full objects where it is refused.  WATCH is in watch.c. */
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
    kube_query_add (&p, "limit", lim);
    kube_query_add (&p, "labelSelector", opts->label_selector);
    kube_query_add (&p, "fieldSelector", opts->field_selector);
    kube_query_add (&p, "continue", cont);
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
