/* One release object to one stored record: decode it with the Helm codec, fill the new
 * index entry, and store the record unless its JSON hash is already the stored one. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "export/internal.h"

size_t
export_log_item (const struct item *it, const char *action)
{
  size_t m = log_fields_mark ();
  log_field ("namespace", it->namespace);
  log_field ("release", it->release);
  log_field_int ("revision", it->revision);
  if (action)
    log_field ("action", action);
  return m;
}

void
export_record (struct export_engine *e, struct item *it, const cJSON *obj)
{
  const char *kind = it->driver == HELM_DRIVER_SECRET ? "secret" : "configmap";
  struct helm_release rel;
  struct rm_error herr;
  memset (&rel, 0, sizeof rel);
  int rc = helm_release_decode (obj, it->driver, NULL, &rel, &herr);
  if (rc == HELM_V2) {
    it->state = ITEM_SKIPPED;
    it->why = xasprintf ("%s %s/%s is a Helm 2 record: skipped", kind, it->namespace, it->object);
    helm_release_free (&rel);
    return;
  }
  if (rc != HELM_OK) {
    it->state = ITEM_SKIPPED;
    it->corrupt = true;
    it->why = xstrdup (herr.message);
    helm_release_free (&rel);
    return;
  }
  struct store_record *r = &it->rec;
  r->namespace = xstrdup (it->namespace);
  r->release = xstrdup (it->release);
  r->revision = it->revision;
  r->status = xstrdup_or_null (rel.status);
  r->chart = xstrdup_or_null (rel.chart_name);
  r->chart_version = xstrdup_or_null (rel.chart_version);
  r->app_version = xstrdup_or_null (rel.app_version);
  r->updated = xstrdup_or_null (rel.last_deployed);
  r->driver = xstrdup (kind);
  r->source = xasprintf ("%s/%s", it->namespace, it->object);
  r->source_uid = xstrdup_or_null (it->uid);
  r->source_version = xstrdup_or_null (it->rv);
  if (rel.name && strcmp (rel.name, it->release) != 0)
    log_warn ("%s %s/%s holds release '%s' revision %d; stored under its object name", kind,
              it->namespace, it->object, rel.name, rel.version);
  /* Hashed once: it names the record's key (a changed record gets a new key, so no
   * committed record is overwritten) and is stored with it. */
  store_digest_hex (e->b, rel.json, rel.json_len, r->sha256);
  r->key = store_record_key_sha (it->namespace, it->release, it->revision, r->sha256);
  if (it->old && strcmp (it->old->key, r->key) == 0 && !it->repair) {
    r->size = (long long) rel.json_len;
    r->stored_size = it->old->stored_size;
    it->state = ITEM_SAME_HASH;
  }
  else if (e->o.dry_run) {
    r->size = (long long) rel.json_len;
    printf ("would put %s (%zu bytes of release JSON)\n", r->key, rel.json_len);
    it->state = ITEM_WRITTEN;
  }
  else {
    struct rm_error err;
    /* Helm's own gzip of the record, when it has one, saves compressing it again. */
    int prc = rel.gzip ? store_put_record_gz (e->b, r, rel.json, rel.json_len, rel.gzip,
                                              rel.gzip_len, &err)
                       : store_put_record (e->b, r, rel.json, rel.json_len, &err);
    if (prc != RM_OK) {
      it->state = ITEM_FAILED;
      it->why = xstrdup (err.message);
    }
    else {
      size_t m = export_log_item (it, "store");
      log_info ("stored %s (%lld bytes, %lld gzip)", r->key, r->size, r->stored_size);
      log_fields_pop (m);
      it->state = ITEM_WRITTEN;
    }
  }
  helm_release_free (&rel);
}
