/* Encoding release JSON into the Secret or ConfigMap object Helm's storage drivers
 * create (newSecretsObject / newConfigMapsObject in helm pkg/storage/driver), for import.
 * The JSON goes in as given: gzip (level 9, Go's header bytes) then base64. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/gzip.h"
#include "base/util.h"
#include "base/base64.h"
#include "helm/helm.h"

char *
helm_encode_blob (const char *json, size_t len, bool uncompressed)
{
  if (uncompressed)
    return base64_encode (json, len, NULL);
  struct strbuf gz = STRBUF_INIT;
  gzip_deflate (json, len, &gz);
  char *b64 = base64_encode (gz.data, gz.len, NULL);
  strbuf_free (&gz);
  return b64;
}

/* Set (or replace) a string member. */
static void
set_str (cJSON *obj, const char *key, const char *value)
{
  cJSON_DeleteItemFromObjectCaseSensitive (obj, key);
  cJSON_AddStringToObject (obj, key, value);
}

int
helm_release_encode (const char *json, size_t len, enum helm_driver driver,
                     const struct helm_encode_opts *opts, cJSON **out, struct rm_error *err)
{
  static const struct helm_encode_opts defaults;
  if (!opts)
    opts = &defaults;
  *out = NULL;
  err->code = HELM_OK;
  err->message[0] = '\0';
  if (driver == HELM_DRIVER_AUTO)
    driver = HELM_DRIVER_SECRET;

  struct helm_release rel;
  memset (&rel, 0, sizeof rel);
  int rc = helm_release_parse_json (json, len, "release to encode", &rel, err);
  if (rc != HELM_OK) {
    err->code = HELM_E_INVALID;
    return HELM_E_INVALID;
  }

  cJSON *obj = cJSON_CreateObject ();
  cJSON_AddStringToObject (obj, "apiVersion", "v1");
  cJSON_AddStringToObject (obj, "kind", driver == HELM_DRIVER_SECRET ? "Secret" : "ConfigMap");
  cJSON *md = cJSON_AddObjectToObject (obj, "metadata");
  char *key = helm_release_key (rel.name, rel.version);
  cJSON_AddStringToObject (md, "name", key);
  free (key);
  cJSON_AddStringToObject (md, "namespace", opts->namespace ? opts->namespace : rel.namespace);

  /* Labels: the caller's first (Helm: lbs.fromMap(rls.Labels)), then createdAt, then
   * Helm's four system labels over them. */
  cJSON *labels = cJSON_AddObjectToObject (md, "labels");
  const cJSON *l;
  cJSON_ArrayForEach (l, opts->labels) {
    if (cJSON_IsString (l) && l->string)
      set_str (labels, l->string, l->valuestring);
  }
  if (opts->created_at > 0) {
    char ts[32];
    snprintf (ts, sizeof ts, "%lld", (long long) opts->created_at);
    set_str (labels, "createdAt", ts);
  }
  char ver[16];
  snprintf (ver, sizeof ver, "%d", rel.version);
  set_str (labels, "name", rel.name);
  set_str (labels, "owner", "helm");
  set_str (labels, "status", rel.status);
  set_str (labels, "version", ver);

  char *inner = helm_encode_blob (json, len, opts->uncompressed);
  cJSON *data = cJSON_AddObjectToObject (obj, "data");
  if (driver == HELM_DRIVER_SECRET) {
    /* Secret data is []byte: the API carries it base64-encoded once more. */
    char *outer = base64_encode (inner, strlen (inner), NULL);
    cJSON_AddStringToObject (data, "release", outer);
    free (outer);
    cJSON_AddStringToObject (obj, "type", HELM_STORAGE_TYPE);
  }
  else
    cJSON_AddStringToObject (data, "release", inner);
  free (inner);
  helm_release_free (&rel);
  *out = obj;
  return HELM_OK;
}
