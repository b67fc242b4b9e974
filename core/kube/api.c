/* The REST verbs on top of http.c, for single objects: GET, POST (create), PUT
 * (replace), PATCH (merge, strategic, JSON patch, server-side apply) and DELETE, plus API
 * path building and query escaping. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "kube/internal.h"

char *
kube_escape (const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  struct strbuf sb = STRBUF_INIT;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
        || strchr ("-._~", *p))
      strbuf_add (&sb, p, 1);
    else {
      char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
      strbuf_add (&sb, e, 3);
    }
  }
  return strbuf_detach (&sb);
}

void
kube_query_add (struct strbuf *sb, const char *key, const char *value)
{
  if (!value || !*value)
    return;
  char *e = kube_escape (value);
  strbuf_printf (sb, "%c%s=%s", sb->data && strchr (sb->data, '?') ? '&' : '?', key, e);
  free (e);
}

char *
kube_path (const char *group_version, const char *ns, const char *resource, const char *name)
{
  struct strbuf sb = STRBUF_INIT;
  /* The core group lives under /api, the others under /apis. */
  strbuf_puts (&sb, strchr (group_version, '/') ? "/apis/" : "/api/");
  strbuf_puts (&sb, group_version);
  const char *parts[] = { ns ? "namespaces" : NULL, ns, resource, name };
  for (size_t i = 0; i < ARRAY_SIZE (parts); i++) {
    if (!parts[i])
      continue;
    char *e = kube_escape (parts[i]);
    strbuf_printf (&sb, "/%s", e);
    free (e);
  }
  return strbuf_detach (&sb);
}

/* One JSON request; *out gets the parsed answer when asked for. */
static int
json_call (struct kube_client *c, const char *method, const char *path, const char *ctype,
           const char *body, cJSON **out, struct rm_error *err)
{
  struct kube_response resp;
  if (out)
    *out = NULL;
  int rc = kube_request (c, method, path, ctype, body, body ? strlen (body) : 0, NULL, &resp, err);
  if (rc == KUBE_OK && out) {
    *out = cJSON_ParseWithLength (resp.body.data ? resp.body.data : "", resp.body.len);
    if (!*out)
      rc = err_set (err, KUBE_E_PROTOCOL, "%s %s: the answer is not JSON (%zu bytes, %s)",
                    method, path, resp.body.len,
                    resp.content_type ? resp.content_type : "no content type");
  }
  kube_response_free (&resp);
  return rc;
}

static int
json_obj_call (struct kube_client *c, const char *method, const char *path, const char *ctype,
               const cJSON *obj, cJSON **out, struct rm_error *err)
{
  char *body = obj ? cJSON_PrintUnformatted (obj) : NULL;
  int rc = json_call (c, method, path, ctype, body, out, err);
  free (body);
  return rc;
}

int
kube_get (struct kube_client *c, const char *path, cJSON **out, struct rm_error *err)
{
  return json_call (c, "GET", path, NULL, NULL, out, err);
}

int
kube_create (struct kube_client *c, const char *path, const cJSON *obj, cJSON **out,
             struct rm_error *err)
{
  return json_obj_call (c, "POST", path, "application/json", obj, out, err);
}

int
kube_replace (struct kube_client *c, const char *path, const cJSON *obj, cJSON **out,
              struct rm_error *err)
{
  return json_obj_call (c, "PUT", path, "application/json", obj, out, err);
}

int
kube_patch (struct kube_client *c, const char *path, enum kube_patch type, const char *patch,
            cJSON **out, struct rm_error *err)
{
  static const char *const types[] = {
    [KUBE_PATCH_MERGE] = "application/merge-patch+json",
    [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
    [KUBE_PATCH_JSON] = "application/json-patch+json",
    [KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
  };
  if ((unsigned) type >= ARRAY_SIZE (types))
    return err_set (err, KUBE_E_INVALID, "unknown patch type %d", (int) type);
  return json_call (c, "PATCH", path, types[type], patch, out, err);
}

int
kube_delete (struct kube_client *c, const char *path, const cJSON *options,
             struct rm_error *err)
{
  return json_obj_call (c, "DELETE", path, "application/json", options, NULL, err);
}
