/* One release, from its stored revisions to a release Helm owns in the target cluster,
 * in `helm install`'s order: the namespace, the chart's CRDs, pre-install hooks, the
 * manifest's objects in install order, --wait, post-install hooks, then the release
 * records (the whole history).  When --update-values or --new-path changed a value, helm
 * renders the chart with the new values first (helm template, values.c) into one more
 * revision, which is then restored like the stored ones: every manifest applied or
 * written goes through the same conversion and preflight.  Everything that can be refused (unreadable records, a manifest
 * that does not parse) is refused before the first write.  The records come last, so a
 * release whose records are there is complete: when they are exactly the ones this
 * import writes it was restored already and is skipped; when only some are (an import
 * stopped while writing them) the rest are written, the hooks not run again; when none
 * are, objects an interrupted import left (this release's ownership annotations) are
 * taken over.  A release with other records is someone else's: skipped unless
 * --replace.  API versions the cluster no longer serves are converted first (convert.c),
 * before the records are compared, so a resumed import compares converted with converted.
 * A failure after the first write deletes what this run created. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import.h"
#include "import/convert.h"
#include "base/log.h"

static bool
transient_status (const char *st)
{
  return st && (str_has_prefix (st, "pending-") || strcmp (st, "uninstalling") == 0);
}

static int
ensure_namespace (struct imp_run *r)
{
  char *path = kube_path ("v1", NULL, "namespaces", r->ns);
  struct rm_error err;
  int rc = kube_get (r->s->kc, path, NULL, &err);
  free (path);
  if (rc == KUBE_OK)
    return 0;
  if (rc != KUBE_E_NOT_FOUND)
    return imp_fail (r, "reading namespace %s: %s", r->ns, err.message);
  if (!r->s->create_ns)
    return imp_fail (r, "namespace %s does not exist and --create-namespace=false: create "
                     "it, or import without --create-namespace=false", r->ns);
  if (r->s->dry) {
    imp_plan (r, "  create Namespace %s: POST /api/v1/namespaces\n", r->ns);
    return 0;
  }
  cJSON *ns = cJSON_CreateObject ();
  cJSON_AddStringToObject (ns, "apiVersion", "v1");
  cJSON_AddStringToObject (ns, "kind", "Namespace");
  cJSON_AddStringToObject (cJSON_AddObjectToObject (ns, "metadata"), "name", r->ns);
  rc = kube_create (r->s->kc, "/api/v1/namespaces", ns, NULL, &err);
  cJSON_Delete (ns);
  /* Another release of this run may have created it a moment ago. */
  if (rc != KUBE_OK && rc != KUBE_E_ALREADY_EXISTS)
    return imp_fail (r, "creating namespace %s: %s", r->ns, err.message);
  log_info ("%s/%s: created namespace %s", r->ns, r->name, r->ns);
  return 0;
}

/* Records are written back byte for byte as stored, except when one of these changes the
 * parsed record (each stored record is parsed once, in imp_restore_release): then it is
 * re-serialised with cJSON.  With --target-namespace the release's own "namespace" field
 * must name the new namespace (helm reads it). */
static void
set_string (cJSON *obj, const char *key, const char *value)
{
  cJSON_DeleteItemFromObjectCaseSensitive (obj, key);
  cJSON_AddStringToObject (obj, key, value);
}

/* An older revision still marked deployed (Helm keeps one deployed revision; a store
 * can hold two after an interrupted upgrade) is written back as superseded.  Whether
 * rel changed. */
static bool
supersede (cJSON *rel)
{
  cJSON *info = cJSON_GetObjectItemCaseSensitive (rel, "info");
  if (!cJSON_IsObject (info))
    return false;
  set_string (info, "status", "superseded");
  return true;
}

static bool
waitable (const char *kind)
{
  return strcmp (kind, "Deployment") == 0 || strcmp (kind, "StatefulSet") == 0
         || strcmp (kind, "DaemonSet") == 0 || strcmp (kind, "Job") == 0;
}

/* The release's user values with the updates applied and, for the manager's own release
 * (new_path), its storage path set, into *out; NULL when nothing changed (no re-render).
 * RM_OK, or RM_E_UNSUPPORTED with err filled: a value changed but the chart cannot be
 * rebuilt from the record. */
static int
new_values (const cJSON *rel, const char *ns, const char *name, const struct strlist *updates,
            const char *new_path, cJSON **out, struct rm_error *err)
{
  *out = NULL;
  if (!(updates && updates->n) && !new_path)
    return RM_OK;
  char *who = xasprintf ("%s/%s", ns, name);
  const cJSON *config = cJSON_GetObjectItemCaseSensitive (rel, "config");
  cJSON *values = cJSON_IsObject (config) ? cJSON_Duplicate (config, true) : cJSON_CreateObject ();
  size_t changed = imp_update_values (values, updates, who);
  if (new_path) {
    const cJSON *defaults = cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (rel, "chart"), "values");
    size_t set = imp_set_new_path (values, defaults, new_path);
    if (!set)
      log_warn ("%s: --new-path: the manager's release has neither 'path' (our chart) nor "
                "'backend.path' (the original tool's chart) in its values: restored with its "
                "stored values; change its path with helm upgrade", who);
    changed += set;
  }
  free (who);
  int rc = RM_OK;
  struct rm_error why;
  if (changed && (rc = imp_chart_rebuildable (rel, &why)) != RM_OK)
    err_set (err, rc, "--update-values: %s", why.message);
  if (!changed || rc != RM_OK)
    cJSON_Delete (values);
  else
    *out = values;
  return rc;
}

/* The records compared with the cluster's (imp_check_existing), once they are converted:
 * from imp_convert_release, so that a release restored already is skipped without its
 * objects being read. */
struct existing_check {
  struct imp_run *r;
  enum helm_driver stored;   /* the deployed revision's driver */
  char **records;
  cJSON **parsed;
  const bool *dirty;
  const int *versions;
  size_t nrec;
  struct strlist *existing, *present;
  char **why;
  int ex;
  bool done;
};

static void
check_existing (struct existing_check *c)
{
  struct imp_run *r = c->r;
  const struct imp_settings *s = r->s;
  /* The records as they are written and compared: as stored unless changed. */
  for (size_t i = 0; i < c->nrec; i++)
    if (c->dirty[i]) {
      free (c->records[i]);
      c->records[i] = cJSON_PrintUnformatted (c->parsed[i]);
    }
  /* The records go where Helm kept the deployed revision, unless --helm-driver. */
  r->driver = s->driver != HELM_DRIVER_AUTO ? s->driver
              : c->stored == HELM_DRIVER_CONFIGMAP ? HELM_DRIVER_CONFIGMAP
              : HELM_DRIVER_SECRET;
  c->ex = imp_check_existing (r, c->records, c->versions, c->nrec, c->existing, c->present,
                              c->why);
  c->done = true;
}

/* imp_restored_fn: whether the release is skipped (or failed) without more checks. */
static bool
restored_already (void *ud)
{
  struct existing_check *c = ud;
  check_existing (c);
  return c->ex < 0 || (c->ex == IMP_EXIST_SAME && !c->r->s->replace);
}

/* Everything after the checks: the writes, in helm install's order. */
static int
apply_all (struct imp_run *r, const cJSON *rel, struct imp_objects *crds,
           struct imp_objects *objs, char **records, size_t nrec, const struct strlist *existing,
           const struct strlist *present, int ex)
{
  /* Some records are there: they are written after the post-install hooks, which ran. */
  bool hooks = !r->s->no_hooks && !(ex == IMP_EXIST_PARTIAL && !r->s->replace);
  if (ensure_namespace (r) < 0)
    return -1;
  for (size_t i = 0; i < crds->n; i++)
    if (imp_apply (r, &crds->v[i], IMP_CRD_FILE) < 0)
      return -1;
  if (hooks && imp_run_hooks (r, rel, "pre-install") < 0)
    return -1;
  for (size_t i = 0; i < objs->n; i++)
    if (imp_apply (r, &objs->v[i], IMP_RESOURCE) < 0)
      return -1;
  if (r->s->wait) {
    for (size_t i = 0; i < objs->n; i++) {
      struct imp_object *o = &objs->v[i];
      if (!waitable (o->kind))
        continue;
      if (r->s->dry) {
        imp_plan (r, "  wait for %s %s to be ready\n", o->kind, o->name);
        continue;
      }
      char *coll, *path;
      if (imp_prepare (r, o, IMP_RESOURCE, &coll, &path) < 0)
        return -1;
      int rc = imp_wait_ready (r, o, path);
      free (coll);
      free (path);
      if (rc < 0)
        return -1;
    }
  }
  if (hooks && imp_run_hooks (r, rel, "post-install") < 0)
    return -1;
  return imp_write_records (r, records, nrec, existing, present);
}

int
imp_restore_release (const struct imp_settings *s, const char *ns, const char *name,
                     struct imp_revision *revs, size_t n, const struct strlist *updates,
                     const char *new_path, char **why)
{
  struct imp_run r;
  memset (&r, 0, sizeof r);
  r.s = s;
  r.name = name;
  r.orig_ns = ns;
  r.ns = s->target_ns ? s->target_ns : ns;
  r.deadline = imp_now () + (double) s->timeout_s;

  struct helm_release *meta = xcalloc (n, sizeof *meta);
  /* one more for a revision rendered with new values */
  char **records = xcalloc (n + 1, sizeof *records);
  cJSON **parsed = xcalloc (n + 1, sizeof *parsed);   /* records[i], parsed once */
  bool *dirty = xcalloc (n + 1, sizeof *dirty);       /* parsed[i] changed: re-serialised */
  int *versions = xcalloc (n + 1, sizeof *versions);
  size_t nrec = 0;
  struct imp_objects crds = { 0 }, objs = { 0 };
  struct strlist existing = STRLIST_INIT, present = STRLIST_INIT;
  char *state = NULL;
  cJSON *rel = NULL, *values = NULL;   /* rel: the deployed revision, one of parsed[] */
  struct rm_error err;
  int result = -1;
  long dep = -1;
  size_t rec_dep = 0;   /* the deployed revision's index in records */
  int version;          /* the revision restored as deployed */

  for (size_t i = 0; i < n; i++) {
    struct rm_error herr;
    if (helm_release_parse_json (revs[i].json, revs[i].len, revs[i].key, &meta[i], &herr)
        != HELM_OK) {
      *why = xasprintf ("record %s: %s", revs[i].key, herr.message);
      goto out;
    }
  }
  for (size_t i = n; i-- > 0;)
    if (meta[i].status && strcmp (meta[i].status, "deployed") == 0) {
      dep = (long) i;
      break;
    }
  if (dep < 0) {
    *why = xasprintf ("no deployed revision to restore (revision %d is %s)", meta[n - 1].version,
                      meta[n - 1].status ? meta[n - 1].status : "without status");
    result = 1;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    if ((long) i > dep && transient_status (meta[i].status)) {
      log_warn ("%s/%s: revision %d is %s: restoring the last deployed revision %d instead", ns,
                name, meta[i].version, meta[i].status, meta[dep].version);
      continue;
    }
    if (!(parsed[nrec] = cJSON_ParseWithLength (revs[i].json, revs[i].len))) {
      *why = xasprintf ("record %s: not JSON", revs[i].key);
      goto out;
    }
    records[nrec] = xstrdup (revs[i].json);
    versions[nrec] = meta[i].version;
    if (strcmp (ns, r.ns) != 0) {
      set_string (parsed[nrec], "namespace", r.ns);
      dirty[nrec] = true;
    }
    if ((long) i < dep && meta[i].status && strcmp (meta[i].status, "deployed") == 0) {
      log_info ("%s/%s: revision %d is also marked deployed: written back as superseded", ns,
                name, meta[i].version);
      dirty[nrec] |= supersede (parsed[nrec]);
    }
    if ((long) i == dep)
      rec_dep = nrec;
    nrec++;
  }
  rel = parsed[rec_dep];
  version = meta[dep].version;
  if (new_values (rel, ns, name, updates, new_path, &values, &err) != RM_OK) {
    *why = xstrdup (err.message);
    goto out;
  }
  if (values) {
    /* New values: helm renders the next revision, restored as the deployed one. */
    cJSON *next;
    if (imp_render_release (&r, rel, values, meta[n - 1].version + 1, &next) < 0) {
      *why = xstrdup (r.error ? r.error : "failed");
      goto out;
    }
    rel = next;
    version = meta[n - 1].version + 1;
    dirty[rec_dep] |= supersede (parsed[rec_dep]);
    parsed[nrec] = next;
    dirty[nrec] = true;
    versions[nrec++] = version;
  }
  const cJSON *manifest = cJSON_GetObjectItemCaseSensitive (rel, "manifest");
  if (imp_chart_crds (rel, &crds, &err) != RM_OK
      || imp_split_manifest (cJSON_IsString (manifest) ? manifest->valuestring : "",
                             revs[dep].key, &objs, &err) != RM_OK) {
    *why = xasprintf ("revision %d: %s", version, err.message);
    goto out;
  }
  imp_sort_install_order (&objs);
  /* What the cluster no longer serves converted (or refused), everything checked: before
   * the first write, and before the records are compared with the cluster's. */
  struct existing_check chk = { &r, revs[dep].driver, records, parsed, dirty, versions, nrec,
                                &existing, &present, why, -1, false };
  if (imp_convert_release (&r, rel, &crds, &objs, parsed, dirty, nrec, restored_already,
                           &chk) < 0) {
    free (*why);   /* what the records' check said, if it ran */
    *why = xstrdup (r.error ? r.error : "failed");
    goto out;
  }
  if (!chk.done)
    check_existing (&chk);
  int ex = chk.ex;
  if (ex == IMP_EXIST_OTHER && !s->replace) {
    result = 1;
    goto out;
  }
  if (ex == IMP_EXIST_SAME && !s->replace) {
    result = 1;
    goto out;
  }
  size_t had = present.n;
  /* Said only for a release that is written: not for one already restored. */
  if (ex >= 0 && r.converted && !s->dry && !(ex == IMP_EXIST_SAME && !s->replace))
    log_warn ("%s/%s: %zu object%s converted to API versions this cluster serves, in the "
              "objects and the records (-v lists them)", r.ns, name, r.converted,
              r.converted == 1 ? "" : "s");
  if (ex >= 0 && apply_all (&r, rel, &crds, &objs, records, nrec, &existing, &present, ex)
      == 0) {
    result = 0;
    free (*why);
    /* --dry-run: done, half-done or to do; a run: what it resumed. */
    if ((had || r.found) && !s->replace)
      state = xasprintf ("%s (%zu of %zu object%s and %zu of %zu record%s there%s): ",
                         s->dry ? "half-done" : "resumed", r.found, objs.n,
                         objs.n == 1 ? "" : "s", had, nrec, nrec == 1 ? "" : "s",
                         had ? ", hooks ran" : "");
    else
      state = xstrdup (s->dry ? "to do: " : "");
    *why = xasprintf ("%srevision %d, chart %s-%s, %zu object%s, %zu record%s%s", state,
                      version, meta[dep].chart_name ? meta[dep].chart_name : "?",
                      meta[dep].chart_version ? meta[dep].chart_version : "?", objs.n,
                      objs.n == 1 ? "" : "s", nrec, nrec == 1 ? "" : "s",
                      (long) n - 1 > dep ? " (the last deployed revision)" : "");
  }
  else {
    /* Never objects no release owns (issue 16): what was created goes again. */
    free (*why);
    if (!s->dry && r.created.n) {
      log_warn ("%s/%s: %s; deleting the %zu objects this import created", r.ns, name,
                r.error, r.created.n);
      imp_undo (&r);
      *why = xasprintf ("%s (the %zu objects this import created were deleted)",
                        r.error ? r.error : "failed", r.created.n);
    }
    else
      *why = xstrdup (r.error ? r.error : "failed");
  }
  if (s->dry) {
    pthread_mutex_lock (s->out_lock);
    printf ("release %s/%s -> namespace %s: revision %d (%s-%s), %zu objects, %zu records\n%s",
            ns, name, r.ns, version, meta[dep].chart_name ? meta[dep].chart_name : "?",
            meta[dep].chart_version ? meta[dep].chart_version : "?", objs.n, nrec,
            r.plan.data ? r.plan.data : "");
    fflush (stdout);
    pthread_mutex_unlock (s->out_lock);
  }
out:
  for (size_t i = 0; i < n; i++)
    helm_release_free (&meta[i]);
  free (meta);
  for (size_t i = 0; i < nrec; i++) {
    free (records[i]);
    cJSON_Delete (parsed[i]);
  }
  free (records);
  free (parsed);
  free (dirty);
  free (versions);
  free (state);
  strlist_free (&present);
  imp_objects_free (&crds);
  imp_objects_free (&objs);
  strlist_free (&existing);
  strlist_free (&r.created);
  strbuf_free (&r.plan);
  free (r.error);
  cJSON_Delete (values);
  return result;
}
