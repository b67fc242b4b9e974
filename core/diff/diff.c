/* The diff engine: each side becomes its releases' heads (the newest revision of each
 * release in the scope), sorted by namespace and release, and one merge of the two
 * lists gives the changes.  The cluster's heads come from a metadata-only LIST (labels
 * name, version and status); a cluster record is read in full (GET) only when the
 * snapshot does not hold that revision of that object, for its chart, and for
 * --manifests.  Stored records are read only for --manifests. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/linediff.h"
#include "base/log.h"
#include "diff/diff.h"
#include "helm/helm.h"

/* The newest revision of one release on one side. */
struct head {
  const char *namespace, *release;
  int revision;
  const char *status;
  const struct store_record *rec;     /* a snapshot's record of it */
  /* The cluster's object holding it (metadata only), when from the cluster. */
  enum helm_driver driver;
  char *object, *uid, *rv, *mem_ns, *mem_release, *mem_status;
};

struct heads {
  struct head *v;
  size_t n, cap;
};

static void
heads_free (struct heads *h)
{
  for (size_t i = 0; i < h->n; i++) {
    free (h->v[i].object);
    free (h->v[i].uid);
    free (h->v[i].rv);
    free (h->v[i].mem_ns);
    free (h->v[i].mem_release);
    free (h->v[i].mem_status);
  }
  free (h->v);
}

static struct head *
heads_add (struct heads *h)
{
  if (h->n == h->cap)
    h->v = xrealloc (h->v, (h->cap = h->cap ? h->cap * 2 : 64) * sizeof *h->v);
  struct head *x = &h->v[h->n++];
  memset (x, 0, sizeof *x);
  return x;
}

static bool
wanted (const struct diff_opts *o, const char *ns, const char *release)
{
  if (o->only_ns && o->only_ns->n && !strlist_contains (o->only_ns, ns))
    return false;
  if (o->skip_ns && strlist_contains (o->skip_ns, ns))
    return false;
  if (o->only_release && o->only_release->n && !strlist_contains (o->only_release, release))
    return false;
  return true;
}

/* Whether a stored record of that driver is in the scope (as export_in_scope: a record
 * of unknown driver only when both are compared). */
static bool
driver_in_scope (bool secrets, bool configmaps, const char *driver)
{
  if (driver && strcmp (driver, "secret") == 0)
    return secrets;
  if (driver && strcmp (driver, "configmap") == 0)
    return configmaps;
  return secrets && configmaps;
}

/* Namespace, release, then newest revision first. */
static int
cmp_head (const void *pa, const void *pb)
{
  const struct head *a = pa, *b = pb;
  int c = strcmp (a->namespace, b->namespace);
  if (!c)
    c = strcmp (a->release, b->release);
  if (!c)
    c = (b->revision > a->revision) - (b->revision < a->revision);
  /* Secrets before ConfigMaps for the same revision (--helm-driver auto). */
  return c ? c : (int) a->driver - (int) b->driver;
}

/* Keep the first (the newest) of each release. */
static void
heads_finish (struct heads *h)
{
  if (h->n)
    qsort (h->v, h->n, sizeof *h->v, cmp_head);
  size_t w = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (w && strcmp (h->v[w - 1].namespace, h->v[i].namespace) == 0
        && strcmp (h->v[w - 1].release, h->v[i].release) == 0) {
      struct head *x = &h->v[i];
      free (x->object), free (x->uid), free (x->rv);
      free (x->mem_ns), free (x->mem_release), free (x->mem_status);
      continue;
    }
    h->v[w++] = h->v[i];
  }
  h->n = w;
}

static void
index_heads (const struct store_index *ix, const struct diff_opts *o, bool secrets,
             bool configmaps, struct heads *h)
{
  for (size_t i = 0; ix && i < ix->n; i++) {
    const struct store_record *r = &ix->records[i];
    if (!wanted (o, r->namespace, r->release)
        || !driver_in_scope (secrets, configmaps, r->driver))
      continue;
    struct head *x = heads_add (h);
    x->namespace = r->namespace;
    x->release = r->release;
    x->revision = r->revision;
    x->status = r->status;
    x->rec = r;
    x->driver = r->driver && strcmp (r->driver, "configmap") == 0 ? HELM_DRIVER_CONFIGMAP
                                                                   : HELM_DRIVER_SECRET;
  }
  heads_finish (h);
}

/* ---- the cluster's side: one metadata-only LIST per driver (and --namespace) ---- */

struct list_ctx {
  const struct diff_opts *o;
  enum helm_driver driver;
  struct heads *h;
  size_t start;
  size_t *listed;
};

static const char *
meta_str (const cJSON *obj, const char *field)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (obj, "metadata"), field);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static const char *
label (const cJSON *obj, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (obj, "metadata"),
                                      "labels"), name);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static void
list_restart (void *ud)
{
  struct list_ctx *l = ud;
  struct heads *h = l->h;
  for (size_t i = l->start; i < h->n; i++) {
    free (h->v[i].object), free (h->v[i].uid), free (h->v[i].rv);
    free (h->v[i].mem_ns), free (h->v[i].mem_release), free (h->v[i].mem_status);
  }
  h->n = l->start;
}

static int
list_item (void *ud, const cJSON *obj)
{
  struct list_ctx *l = ud;
  const char *ns = meta_str (obj, "namespace"), *name = meta_str (obj, "name");
  const char *what = l->driver == HELM_DRIVER_SECRET ? "secret" : "configmap";
  char *release = NULL;
  int rev = 0;
  if (!ns || !name)
    return 0;
  if (!helm_object_name_parse (name, &release, &rev)) {
    log_warn ("%s %s/%s has label owner=helm but is not named like a Helm release record "
              "(sh.helm.release.v1.NAME.vN): skipped", what, ns, name);
    return 0;
  }
  if (!wanted (l->o, ns, release)) {
    free (release);
    return 0;
  }
  /* The labels Helm writes from the release: a record whose labels disagree with its
   * name is reported by the export that reads it; here the name decides. */
  const char *status = label (obj, "status");
  (*l->listed)++;
  struct head *x = heads_add (l->h);
  x->namespace = x->mem_ns = xstrdup (ns);
  x->release = x->mem_release = release;
  x->revision = rev;
  x->status = x->mem_status = xstrdup_or_null (status);
  x->driver = l->driver;
  x->object = xstrdup (name);
  x->uid = xstrdup_or_null (meta_str (obj, "uid"));
  x->rv = xstrdup_or_null (meta_str (obj, "resourceVersion"));
  return 0;
}

static int
list_driver (struct kube_client *kc, const struct diff_opts *o, enum helm_driver driver,
             struct heads *h, size_t *listed, struct rm_error *err)
{
  struct kube_list_opts lo = { "owner=helm", NULL, 500, true };
  const char *resource = driver == HELM_DRIVER_SECRET ? "secrets" : "configmaps";
  size_t nns = o->only_ns && o->only_ns->n ? o->only_ns->n : 1;
  int rc = KUBE_OK;
  for (size_t i = 0; i < nns && rc == KUBE_OK; i++) {
    char *p = kube_path ("v1", o->only_ns && o->only_ns->n ? o->only_ns->items[i] : NULL,
                         resource, NULL);
    struct list_ctx l = { o, driver, h, h->n, listed };
    struct kube_list_info info = { 0 };
    rc = kube_list (kc, p, &lo, list_item, list_restart, &l, &info, err);
    log_debug ("listed %s: %lu items in %u pages%s", p, info.items, info.pages,
               info.metadata_only ? " (metadata only)" : "");
    kube_list_info_free (&info);
    free (p);
  }
  return rc;
}

/* ---- reading a record in full ---- */

/* The release JSON of the cluster's head x, decoded and checked against its object. */
static int
read_cluster (struct kube_client *kc, const struct head *x, struct helm_release *rel,
              struct rm_error *err)
{
  const char *resource = x->driver == HELM_DRIVER_SECRET ? "secrets" : "configmaps";
  char *p = kube_path ("v1", x->namespace, resource, x->object);
  cJSON *obj = NULL;
  struct rm_error kerr;
  int rc = kube_get (kc, p, &obj, &kerr);
  if (rc != KUBE_OK)
    rm_error_set (err, rc, "reading %s %s/%s: %s", x->driver == HELM_DRIVER_SECRET ? "secret"
                  : "configmap", x->namespace, x->object, kerr.message);
  else {
    rc = helm_release_decode (obj, x->driver, NULL, rel, &kerr);
    if (rc == HELM_OK && !helm_release_matches_object (rel, obj, &kerr))
      rc = kerr.code;
    if (rc != HELM_OK) {
      helm_release_free (rel);
      memset (rel, 0, sizeof *rel);
      rm_error_set (err, rc == HELM_V2 ? RM_E_INVALID : rc, "%s", kerr.message);
      rc = rc == HELM_V2 ? RM_E_INVALID : rc;
    }
  }
  cJSON_Delete (obj);
  free (p);
  return rc;
}

/* The manifest of a release JSON (NULL, "" or missing: ""); caller frees. */
static char *
manifest_of (const char *json, size_t len, const char *what, struct rm_error *err)
{
  cJSON *o = cJSON_ParseWithLength (json, len);
  if (!o) {
    rm_error_set (err, RM_E_IO, "%s: not a release (its JSON does not parse)", what);
    return NULL;
  }
  const cJSON *m = cJSON_GetObjectItemCaseSensitive (o, "manifest");
  char *s = xstrdup (cJSON_IsString (m) ? m->valuestring : "");
  cJSON_Delete (o);
  return s;
}

static char *
stored_manifest (struct backend *b, const struct store_record *r, struct diff_result *res,
                 struct rm_error *err)
{
  struct strbuf json = STRBUF_INIT;
  struct rm_error serr;
  res->store_reads++;
  int rc = store_get_record (b, r, &json, &serr);
  if (rc != RM_OK) {
    rm_error_set (err, rc, "stored record %s: %s", r->key, serr.message);
    strbuf_free (&json);
    return NULL;
  }
  char *m = manifest_of (json.data ? json.data : "", json.len, r->key, err);
  strbuf_free (&json);
  return m;
}

/* ---- the merge ---- */

static void
side_set (struct diff_side *s, int revision, const char *status, const char *chart,
          const char *chart_version, const char *app_version)
{
  s->revision = revision;
  s->status = xstrdup_or_null (status);
  s->chart = xstrdup_or_null (chart);
  s->chart_version = xstrdup_or_null (chart_version);
  s->app_version = xstrdup_or_null (app_version);
}

static void
side_from_record (struct diff_side *s, const struct store_record *r, const char *status)
{
  side_set (s, r->revision, status ? status : r->status, r->chart, r->chart_version,
            r->app_version);
}

static struct diff_change *
change_add (struct diff_result *r, enum diff_kind kind, const char *ns, const char *release)
{
  if (r->n == r->cap)
    r->v = xrealloc (r->v, (r->cap = r->cap ? r->cap * 2 : 16) * sizeof *r->v);
  struct diff_change *c = &r->v[r->n++];
  memset (c, 0, sizeof *c);
  c->kind = kind;
  c->namespace = xstrdup (ns);
  c->release = xstrdup (release);
  return c;
}

/* Whether the rollback record says so: Helm writes "Rollback to N". */
static bool
is_rollback (const char *description)
{
  return description && strncmp (description, "Rollback to ", 12) == 0;
}

struct merge {
  struct backend *b;
  struct kube_client *kc;            /* NULL: to is a snapshot */
  const struct store_index *from;
  const struct diff_opts *o;
  struct diff_result *r;
};

/* The "to" side of head y: from the from-snapshot's record of that very object and
 * revision when it has one (no read), else read in full (the cluster) or from its
 * record (a snapshot).  *manifest (when not NULL): the manifest of the record read. */
static int
to_side (struct merge *m, const struct head *y, struct diff_side *s, bool *rollback,
         char **manifest, struct rm_error *err)
{
  *rollback = false;
  if (!m->kc) {
    side_from_record (s, y->rec, NULL);
    return RM_OK;
  }
  const struct store_record *known = store_index_find_revision (m->from, y->namespace,
                                                                y->release, y->revision);
  if (known && !manifest && y->uid && y->rv && str_same (known->source_uid, y->uid)
      && str_same (known->source_version, y->rv)) {
    side_from_record (s, known, y->status);
    return RM_OK;
  }
  struct helm_release rel;
  memset (&rel, 0, sizeof rel);
  m->r->cluster_reads++;
  int rc = read_cluster (m->kc, y, &rel, err);
  if (rc != RM_OK)
    return rc;
  side_set (s, y->revision, y->status ? y->status : rel.status, rel.chart_name,
            rel.chart_version, rel.app_version);
  *rollback = is_rollback (rel.description);
  if (manifest) {
    char *what = xasprintf ("%s %s/%s", y->driver == HELM_DRIVER_SECRET ? "secret" : "configmap",
                            y->namespace, y->object);
    *manifest = manifest_of (rel.json, rel.json_len, what, err);
    free (what);
    if (!*manifest)
      rc = err->code;
  }
  helm_release_free (&rel);
  return rc;
}

static int
compare_heads (struct merge *m, const struct head *x, const struct head *y, struct rm_error *err)
{
  struct diff_result *r = m->r;
  if (!y) {
    struct diff_change *c = change_add (r, DIFF_REMOVED, x->namespace, x->release);
    side_from_record (&c->before, x->rec, NULL);
    return RM_OK;
  }
  if (!x) {
    struct diff_change *c = change_add (r, DIFF_ADDED, y->namespace, y->release);
    bool rb;
    return to_side (m, y, &c->after, &rb, NULL, err);
  }
  if (x->revision == y->revision) {
    if (str_same (x->status, y->status)) {
      r->unchanged++;
      return RM_OK;
    }
    struct diff_change *c = change_add (r, DIFF_STATUS, x->namespace, x->release);
    side_from_record (&c->before, x->rec, NULL);
    /* The same revision: the same chart (the status alone changes in a record). */
    side_from_record (&c->after, x->rec, y->status);
    return RM_OK;
  }
  struct diff_change *c = change_add (r, y->revision > x->revision ? DIFF_UPGRADED
                                                                   : DIFF_DOWNGRADED,
                                      x->namespace, x->release);
  side_from_record (&c->before, x->rec, NULL);
  bool rb;
  char *after = NULL;
  int rc = to_side (m, y, &c->after, &rb, m->o->manifests && m->kc ? &after : NULL, err);
  if (rc == RM_OK && rb && c->kind == DIFF_UPGRADED)
    c->kind = DIFF_ROLLED_BACK;
  if (rc == RM_OK && m->o->manifests) {
    char *before = stored_manifest (m->b, x->rec, r, err);
    if (!m->kc && before)
      after = stored_manifest (m->b, y->rec, r, err);
    if (before && after) {
      char *la = xasprintf ("%s/%s/%s (revision %d)", m->o->from_label, x->namespace,
                            x->release, x->revision);
      char *lb = xasprintf ("%s/%s/%s (revision %d)", m->o->to_label, y->namespace,
                            y->release, y->revision);
      struct strbuf sb = STRBUF_INIT;
      linediff_unified (before, strlen (before), after, strlen (after), la, lb, 3, &sb);
      c->manifest_diff = strbuf_detach (&sb);
      free (la);
      free (lb);
    }
    else
      rc = err->code ? err->code : RM_E_IO;
    free (before);
  }
  free (after);
  return rc;
}

static int
merge_heads (struct merge *m, const struct heads *a, const struct heads *b, struct rm_error *err)
{
  size_t i = 0, j = 0;
  int rc = RM_OK;
  while (rc == RM_OK && (i < a->n || j < b->n)) {
    int c;
    if (i == a->n)
      c = 1;
    else if (j == b->n)
      c = -1;
    else {
      c = strcmp (a->v[i].namespace, b->v[j].namespace);
      if (!c)
        c = strcmp (a->v[i].release, b->v[j].release);
    }
    rc = compare_heads (m, c <= 0 ? &a->v[i] : NULL, c >= 0 ? &b->v[j] : NULL, err);
    i += c <= 0;
    j += c >= 0;
  }
  return rc;
}

int
diff_cluster (struct backend *b, struct kube_client *kc, const struct store_index *from,
              const struct diff_opts *o, struct diff_result *r, struct rm_error *err)
{
  memset (r, 0, sizeof *r);
  struct heads hc = { 0 }, hs = { 0 };
  bool secrets = false, configmaps = false;
  int rc = KUBE_OK;
  for (int d = 0; d < 2 && rc == KUBE_OK; d++) {
    bool want = d == 0 ? o->secrets : o->configmaps;
    if (!want)
      continue;
    size_t start = hc.n;
    rc = list_driver (kc, o, d == 0 ? HELM_DRIVER_SECRET : HELM_DRIVER_CONFIGMAP, &hc,
                      &r->listed, err);
    if (rc == KUBE_E_FORBIDDEN && o->secrets && o->configmaps) {
      /* auto: a driver we may not list is out of the scope on both sides. */
      log_warn ("%s (HTTP 403): releases stored by Helm's %s driver are not compared; "
                "use --helm-driver %s", err->message, d == 0 ? "Secret" : "ConfigMap",
                d == 0 ? "configmap" : "secret");
      struct list_ctx l = { o, 0, &hc, start, NULL };
      list_restart (&l);
      rc = KUBE_OK;
      continue;
    }
    if (rc == KUBE_OK)
      *(d == 0 ? &secrets : &configmaps) = true;
  }
  if (rc == KUBE_OK && !secrets && !configmaps) {
    rm_error_set (err, KUBE_E_FORBIDDEN, "neither release Secrets nor release ConfigMaps "
                  "may be listed (HTTP 403)");
    rc = KUBE_E_FORBIDDEN;
  }
  if (rc == KUBE_OK) {
    heads_finish (&hc);
    index_heads (from, o, secrets, configmaps, &hs);
    struct merge m = { b, kc, from, o, r };
    rc = merge_heads (&m, &hs, &hc, err);
  }
  heads_free (&hc);
  heads_free (&hs);
  return rc;
}

int
diff_snapshots (struct backend *b, const struct store_index *from, const struct store_index *to,
                const struct diff_opts *o, struct diff_result *r, struct rm_error *err)
{
  memset (r, 0, sizeof *r);
  struct heads ha = { 0 }, hb = { 0 };
  index_heads (from, o, o->secrets, o->configmaps, &ha);
  index_heads (to, o, o->secrets, o->configmaps, &hb);
  struct merge m = { b, NULL, from, o, r };
  int rc = merge_heads (&m, &ha, &hb, err);
  heads_free (&ha);
  heads_free (&hb);
  return rc;
}

static void
side_free (struct diff_side *s)
{
  free (s->status);
  free (s->chart);
  free (s->chart_version);
  free (s->app_version);
}

void
diff_result_free (struct diff_result *r)
{
  for (size_t i = 0; i < r->n; i++) {
    free (r->v[i].namespace);
    free (r->v[i].release);
    side_free (&r->v[i].before);
    side_free (&r->v[i].after);
    free (r->v[i].manifest_diff);
  }
  free (r->v);
  memset (r, 0, sizeof *r);
}

const char *
diff_kind_name (enum diff_kind k)
{
  static const char *const names[] = { "added", "removed", "upgraded", "rolled-back",
                                       "downgraded", "status" };
  return names[k];
}
