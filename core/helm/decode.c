/* Decoding Helm release objects: Secret or ConfigMap JSON in, release JSON (byte-exact)
 * and index fields out.  The checks follow what Helm itself accepts (decodeRelease in
 * helm pkg/storage/driver/util.go), so a record we call corrupt is one Helm cannot read
 * either, and each message says which object and which layer failed. */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/gzip.h"
#include "base/util.h"
#include "base/log.h"
#include "base/base64.h"
#include "helm/helm.h"
#include "base/jscan.h"

static int fail (struct rm_error *err, int code, const char *fmt, ...)
  __attribute__((format (printf, 3, 4)));

static int
fail (struct rm_error *err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  err_vset (err, code, fmt, ap);
  va_end (ap);
  return code;
}

static const struct err_name helm_names[] = {
  { HELM_V2, "HELM_V2", "Helm 2 (Tiller) release" },
  { HELM_E_NOT_RELEASE, "HELM_E_NOT_RELEASE", "not a Helm release object" },
  { HELM_E_CORRUPT, "HELM_E_CORRUPT", "corrupt Helm release record" },
  { HELM_E_TOO_LARGE, "HELM_E_TOO_LARGE", "Helm release record too large" },
  { HELM_E_INVALID, "HELM_E_INVALID", "invalid Helm release" },
  { 0, NULL, NULL }
};
ERR_TABLE (helm_table, helm_names)

const char *
helm_strerror (int code)
{
  return err_strerror (code);
}

void
helm_release_free (struct helm_release *rel)
{
  free (rel->object_name);
  free (rel->object_namespace);
  free (rel->resource_version);
  free (rel->json);
  free (rel->gzip);
  free (rel->name);
  free (rel->namespace);
  free (rel->status);
  free (rel->chart_name);
  free (rel->chart_version);
  free (rel->app_version);
  free (rel->first_deployed);
  free (rel->last_deployed);
  free (rel->description);
  memset (rel, 0, sizeof *rel);
}

char *
helm_release_key (const char *name, int version)
{
  return xasprintf (HELM_KEY_PREFIX "%s.v%d", name, version);
}

bool
helm_revision_parse (const char *s, size_t len, int *revision)
{
  if (len == 0 || len > 10 || s[0] < '1' || s[0] > '9')
    return false;
  long long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v > INT_MAX)
    return false;
  *revision = (int) v;
  return true;
}

bool
helm_object_name_parse (const char *obj, char **name, int *revision)
{
  if (!str_has_prefix (obj, HELM_KEY_PREFIX))
    return false;
  const char *s = obj + strlen (HELM_KEY_PREFIX);
  const char *dot = strrchr (s, '.');
  int v;
  if (!dot || dot == s || dot[1] != 'v' || !helm_revision_parse (dot + 2, strlen (dot + 2), &v))
    return false;
  *name = xasprintf ("%.*s", (int) (dot - s), s);
  *revision = v;
  return true;
}

/* A copy of a string member, or NULL when it is missing, not a string, or empty. */
static char *
dup_str (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
  if (cJSON_IsString (v) && v->valuestring && *v->valuestring)
    return xstrdup (v->valuestring);
  return NULL;
}

/* The fields of a release JSON the index needs, in the order of fields[] below. */
enum { F_ROOT, F_NAME, F_VERSION, F_NAMESPACE, F_INFO, F_STATUS, F_FIRST, F_LAST, F_DESC,
       F_CHART_NAME, F_CHART_VERSION, F_APP_VERSION, F_APPLY_METHOD, F_COUNT };

/* A non-empty string field, unescaped, or NULL. */
static char *
field_str (const struct jscan_field *f)
{
  if (f->type != JSCAN_STRING || f->len == 0)
    return NULL;
  char *s = jscan_string (f);
  if (!*s) {
    free (s);
    return NULL;
  }
  return s;
}

/* Validates the whole text as JSON in one pass and picks out the index fields, without
 * building a tree: this runs on every record an export reads (jscan.h). */
int
helm_release_parse_json (const char *json, size_t len, const char *what,
                         struct helm_release *rel, struct rm_error *err)
{
  struct jscan_field f[F_COUNT] = {
    [F_ROOT] = { .path = { NULL } },
    [F_NAME] = { .path = { "name", NULL } },
    [F_VERSION] = { .path = { "version", NULL } },
    [F_NAMESPACE] = { .path = { "namespace", NULL } },
    [F_INFO] = { .path = { "info", NULL } },
    [F_STATUS] = { .path = { "info", "status", NULL } },
    [F_FIRST] = { .path = { "info", "first_deployed", NULL } },
    [F_LAST] = { .path = { "info", "last_deployed", NULL } },
    [F_DESC] = { .path = { "info", "description", NULL } },
    [F_CHART_NAME] = { .path = { "chart", "metadata", "name", NULL } },
    [F_CHART_VERSION] = { .path = { "chart", "metadata", "version", NULL } },
    [F_APP_VERSION] = { .path = { "chart", "metadata", "appVersion", NULL } },
    [F_APPLY_METHOD] = { .path = { "apply_method", NULL } },
  };
  size_t at;
  const char *why;
  int jrc = jscan (json, len, f, F_COUNT, &at, &why);
  if (jrc != 0) {
    if (jrc == JSCAN_E_TRAILING)
      return fail (err, HELM_E_CORRUPT, "%s: release payload has data after the JSON value (byte %zu of %zu)",
                   what, at, len);
    return fail (err, HELM_E_CORRUPT, "%s: release payload is not valid JSON: %s (byte %zu of %zu)",
                 what, why, at, len);
  }
  if (f[F_ROOT].type != JSCAN_OBJECT)
    return fail (err, HELM_E_CORRUPT, "%s: release payload is JSON but not an object", what);
  char *name = field_str (&f[F_NAME]);
  if (!name)
    return fail (err, HELM_E_CORRUPT, "%s: release JSON has no \"name\"", what);
  int rc = HELM_E_CORRUPT;
  char *ns = NULL, *status = NULL;
  if (f[F_VERSION].type != JSCAN_NUMBER) {
    fail (err, rc, "%s: release JSON has no numeric \"version\"", what);
    goto out;
  }
  int v;
  if (!helm_revision_parse (f[F_VERSION].at, f[F_VERSION].len, &v)) {
    /* Helm's int field: 1.0, 1e0 and 1.5 do not unmarshal into it either. */
    fail (err, rc, "%s: release JSON \"version\" %.*s%s is not a revision number", what,
          (int) (f[F_VERSION].len < 40 ? f[F_VERSION].len : 40), f[F_VERSION].at,
          f[F_VERSION].len < 40 ? "" : "...");
    goto out;
  }
  ns = field_str (&f[F_NAMESPACE]);
  if (!ns) {
    fail (err, rc, "%s: release JSON has no \"namespace\"", what);
    goto out;
  }
  status = f[F_INFO].type == JSCAN_OBJECT ? field_str (&f[F_STATUS]) : NULL;
  if (!status) {
    fail (err, rc, "%s: release JSON has no \"info.status\"", what);
    goto out;
  }
  rel->name = name;
  rel->namespace = ns;
  rel->version = v;
  rel->status = status;
  rel->chart_name = field_str (&f[F_CHART_NAME]);
  rel->chart_version = field_str (&f[F_CHART_VERSION]);
  rel->app_version = field_str (&f[F_APP_VERSION]);
  rel->first_deployed = field_str (&f[F_FIRST]);
  rel->last_deployed = field_str (&f[F_LAST]);
  rel->description = field_str (&f[F_DESC]);
  rel->helm4 = f[F_APPLY_METHOD].type != JSCAN_ABSENT;
  return HELM_OK;
out:
  free (name);
  free (ns);
  free (status);
  return rc;
}

/* Helm 2 payloads are protobuf (hapi.release.Release); field 1, the name, is
 * length-delimited, so the first byte is 0x0a.  JSON never starts with it... except as
 * white space, so this is asked only after JSON parsing failed. */
static bool
looks_like_helm2_protobuf (const char *p, size_t len)
{
  return len >= 2 && p[0] == 0x0a;
}

int
helm_release_decode_blob (const char *b64, size_t len, const char *what,
                          const struct helm_opts *opts, struct helm_release *rel,
                          struct rm_error *err)
{
  struct rm_error why;
  size_t max = opts && opts->max_decoded && opts->max_decoded < HELM_MAX_DECODED
               ? opts->max_decoded : HELM_MAX_DECODED;
  size_t blen;
  unsigned char *bytes = base64_decode (b64, len, &blen, &why);
  if (!bytes) {
    if (gzip_is_gzip (b64, len) || (len && b64[0] == '{'))
      return fail (err, HELM_E_CORRUPT,
                   "%s: release is not base64 encoded (raw %s; Helm cannot read it either)",
                   what, b64[0] == '{' ? "JSON" : "gzip");
    return fail (err, HELM_E_CORRUPT, "%s: release: invalid base64 (%s)", what, why.message);
  }
  struct strbuf payload = STRBUF_INIT;
  bool gz = false;
  /* Helm: len(b) > 3 && b[0:3] == magicGzip. */
  if (blen > 3 && gzip_is_gzip (bytes, blen)) {
    gz = true;
    struct rm_error gerr;
    int r = gzip_inflate (bytes, blen, max, &payload, &gerr);
    if (r != 0) {
      free (bytes);
      strbuf_free (&payload);
      if (r == GZIP_E_TOO_LARGE)
        return fail (err, HELM_E_TOO_LARGE, "release data of %s inflates beyond %zu %s", what,
                     max % (1 << 20) ? max : max >> 20, max % (1 << 20) ? "bytes" : "MiB");
      return fail (err, HELM_E_CORRUPT, "%s: release: %s", what, gerr.message);
    }
  }
  else {
    if (blen > max) {
      free (bytes);
      return fail (err, HELM_E_TOO_LARGE, "release data of %s is %zu bytes, beyond %zu %s", what,
                   blen, max % (1 << 20) ? max : max >> 20, max % (1 << 20) ? "bytes" : "MiB");
    }
    payload.data = (char *) bytes;
    payload.len = blen;
    payload.cap = blen + 1;
  }
  if (!payload.data)
    strbuf_add (&payload, "", 0);

  int rc = helm_release_parse_json (payload.data, payload.len, what, rel, err);
  if (rc == HELM_E_CORRUPT && looks_like_helm2_protobuf (payload.data, payload.len)) {
    if (gz)
      free (bytes);
    strbuf_free (&payload);
    return fail (err, HELM_V2, "%s: Helm 2 (Tiller) release payload (protobuf, not JSON)", what);
  }
  if (rc != HELM_OK) {
    if (gz)
      free (bytes);
    strbuf_free (&payload);
    helm_release_free (rel);
    return rc;
  }
  rel->was_gzip = gz;
  if (gz) {
    /* Keep Helm's own compressed bytes: storing them saves compressing again. */
    rel->gzip = bytes;
    rel->gzip_len = blen;
  }
  rel->json_len = payload.len;
  rel->json = payload.data;   /* strbuf keeps a NUL after len */
  return HELM_OK;
}

static const char *
label (const cJSON *labels, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (labels, key);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* A "version" label as a revision; 0 when absent or not one (helm_revision_parse). */
static int
label_revision (const char *v)
{
  int rev;
  return v && helm_revision_parse (v, strlen (v), &rev) ? rev : 0;
}

bool
helm_release_matches_object (const struct helm_release *rel, const cJSON *obj,
                             struct rm_error *err)
{
  const cJSON *md = cJSON_GetObjectItemCaseSensitive (obj, "metadata");
  const cJSON *labels = cJSON_GetObjectItemCaseSensitive (md, "labels");
  const char *oname = label (md, "name"), *ons = label (md, "namespace");
  const char *kind = rel->driver == HELM_DRIVER_CONFIGMAP ? "configmap" : "secret";
  char what[400];
  snprintf (what, sizeof what, "%s %s%s%s", kind, ons ? ons : "", ons ? "/" : "",
            oname ? oname : "(unnamed)");
  char *name = NULL;
  int rev = 0;
  bool ok = false;
  const char *lname = label (labels, "name"), *lver = label (labels, "version");
  if (!rel->name || !rel->namespace)
    fail (err, HELM_E_CORRUPT, "%s: no release decoded", what);
  else if (!oname || !helm_object_name_parse (oname, &name, &rev))
    fail (err, HELM_E_CORRUPT, "%s: not named like a Helm release record "
          "(sh.helm.release.v1.NAME.vN)", what);
  else if (strcmp (name, rel->name) != 0 || rev != rel->version)
    fail (err, HELM_E_CORRUPT, "%s: holds release %s revision %d, not the one its name says",
          what, rel->name, rel->version);
  else if (lname && strcmp (lname, rel->name) != 0)
    fail (err, HELM_E_CORRUPT, "%s: label name=%s, but it holds release %s", what, lname,
          rel->name);
  else if (lver && label_revision (lver) != rel->version)
    fail (err, HELM_E_CORRUPT, "%s: label version=%s, but it holds revision %d", what, lver,
          rel->version);
  else if (ons && strcmp (ons, rel->namespace) != 0)
    fail (err, HELM_E_CORRUPT, "%s: holds a release of namespace %s", what, rel->namespace);
  else
    ok = true;
  free (name);
  return ok;
}

int
helm_release_decode (const cJSON *obj, enum helm_driver driver, const struct helm_opts *opts,
                     struct helm_release *rel, struct rm_error *err)
{
  memset (rel, 0, sizeof *rel);
  err->code = HELM_OK;
  err->message[0] = '\0';
  if (!cJSON_IsObject (obj))
    return fail (err, HELM_E_NOT_RELEASE, "release object is not a JSON object");

  const cJSON *kind = cJSON_GetObjectItemCaseSensitive (obj, "kind");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (obj, "type");
  if (driver == HELM_DRIVER_AUTO) {
    if (cJSON_IsString (kind))
      driver = strcmp (kind->valuestring, "Secret") == 0 ? HELM_DRIVER_SECRET
             : strcmp (kind->valuestring, "ConfigMap") == 0 ? HELM_DRIVER_CONFIGMAP
             : HELM_DRIVER_AUTO;
    else
      driver = type ? HELM_DRIVER_SECRET : HELM_DRIVER_CONFIGMAP;
    if (driver == HELM_DRIVER_AUTO)
      return fail (err, HELM_E_NOT_RELEASE, "object of kind %s is not a Secret or ConfigMap",
                   kind->valuestring);
  }
  const cJSON *md = cJSON_GetObjectItemCaseSensitive (obj, "metadata");
  const cJSON *labels = cJSON_GetObjectItemCaseSensitive (md, "labels");
  char *oname = dup_str (md, "name");
  char *ons = dup_str (md, "namespace");
  char what[400];
  snprintf (what, sizeof what, "%s %s%s%s", driver == HELM_DRIVER_SECRET ? "secret" : "configmap",
            ons ? ons : "", ons ? "/" : "", oname ? oname : "(unnamed)");
  int rc;

  /* Helm 2: Tiller labels its objects OWNER=TILLER (capitals). */
  const char *owner = label (labels, "OWNER");
  if (!owner)
    owner = label (labels, "owner");
  if (owner && strcmp (owner, "TILLER") == 0) {
    const char *n = label (labels, "NAME"), *v = label (labels, "VERSION"),
      *s = label (labels, "STATUS");
    rel->name = n ? xstrdup (n) : NULL;
    rel->version = label_revision (v);
    rel->status = s ? xstrdup (s) : NULL;
    fail (err, HELM_V2, "%s: Helm 2 (Tiller) release %s v%s: not a Helm 3 record (migrate it with helm-2to3)",
          what, n ? n : "?", v ? v : "?");
    rc = HELM_V2;
    goto out;
  }

  if (driver == HELM_DRIVER_SECRET && cJSON_IsString (type)
      && strcmp (type->valuestring, HELM_STORAGE_TYPE) != 0
      && !(owner && strcmp (owner, "helm") == 0)) {
    rc = fail (err, HELM_E_NOT_RELEASE, "%s: type %s is not %s", what, type->valuestring,
               HELM_STORAGE_TYPE);
    goto out;
  }
  const cJSON *data = cJSON_GetObjectItemCaseSensitive (obj, "data");
  const cJSON *blob = cJSON_GetObjectItemCaseSensitive (data, "release");
  if (!blob) {
    rc = fail (err, HELM_E_NOT_RELEASE, "%s: no data.release (not a Helm release record)", what);
    goto out;
  }
  if (!cJSON_IsString (blob)) {
    rc = fail (err, HELM_E_CORRUPT, "%s: data.release is not a string", what);
    goto out;
  }
  const char *text = blob->valuestring;
  size_t tlen = strlen (text);
  if (driver == HELM_DRIVER_SECRET) {
    /* The API's own base64 layer of Secret data. */
    struct rm_error why;
    size_t ilen;
    unsigned char *inner = base64_decode (text, tlen, &ilen, &why);
    if (!inner) {
      rc = fail (err, HELM_E_CORRUPT, "%s: data.release: invalid base64 (%s)", what, why.message);
      goto out;
    }
    rc = helm_release_decode_blob ((char *) inner, ilen, what, opts, rel, err);
    free (inner);
  }
  else
    rc = helm_release_decode_blob (text, tlen, what, opts, rel, err);
  if (rc == HELM_V2) {
    /* Protobuf payload under Helm 3 labels: keep what the labels say. */
    const char *n = label (labels, "name"), *v = label (labels, "version");
    rel->name = n ? xstrdup (n) : NULL;
    rel->version = label_revision (v);
  }

out:
  if (rc == HELM_OK || rc == HELM_V2) {
    rel->driver = driver;
    rel->object_name = oname;
    rel->object_namespace = ons;
    rel->resource_version = dup_str (md, "resourceVersion");
    return rc;
  }
  free (oname);
  free (ons);
  helm_release_free (rel);
  return rc;
}
