/* The index fields of one stored release record, read with the Helm codec: what a reader
 * of the original tool's store (store/legacy.c, which sits below the codec) learns of a
 * file it cannot name by key alone. */
#include <config.h>

#include <string.h>

#include "base/util.h"
#include "helm/helm.h"
#include "import/import.h"
#include "store/store.h"

int
imp_describe_record (const char *json, size_t len, const char *key, struct store_record *r,
                     struct rm_error *err)
{
  struct helm_release meta;
  struct rm_error herr;
  memset (&meta, 0, sizeof meta);
  int rc = RM_OK;
  if (helm_release_parse_json (json, len, key, &meta, &herr) != HELM_OK)
    rc = rm_error_set (err, RM_E_INVALID, "%s", herr.message);
  else if (!meta.name)
    rc = rm_error_set (err, RM_E_INVALID, "no name");
  else if (!meta.namespace || !*meta.namespace)
    rc = rm_error_set (err, RM_E_INVALID, "no namespace");
  else {
    r->namespace = xstrdup (meta.namespace);
    r->release = xstrdup (meta.name);
    r->revision = meta.version;
    r->status = xstrdup_or_null (meta.status);
    r->chart = xstrdup_or_null (meta.chart_name);
    r->chart_version = xstrdup_or_null (meta.chart_version);
    r->app_version = xstrdup_or_null (meta.app_version);
    r->updated = xstrdup_or_null (meta.last_deployed);
  }
  helm_release_free (&meta);
  return rc;
}
