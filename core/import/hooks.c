/* Release hooks as `helm install` runs them (helm pkg/action/hooks.go execHook): the
 * hooks of one event by weight, each one deleted first under before-hook-creation (the
 * default), created, waited for when it is a Job or a Pod, then deleted per
 * hook-succeeded / hook-failed.  Test hooks are never run: only install events are asked
 * for.  Hooks get no ownership metadata, as Helm does not track them as resources, but
 * one annotation of ours (IMP_HOOK_MARK, "NS/NAME" of the release) so that an import run
 * again after an interruption knows a hook left behind as its own: it is deleted and run
 * again even when its delete policy lacks before-hook-creation. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "import/import.h"
#include "base/log.h"

static bool
waits (const char *kind)
{
  return strcmp (kind, "Job") == 0 || strcmp (kind, "Pod") == 0;
}

#define IMP_HOOK_MARK "releasemanager/restored-release"

static void
mark (struct imp_run *r, struct imp_object *h)
{
  cJSON *md = cJSON_GetObjectItemCaseSensitive (h->obj, "metadata");
  cJSON *ann = cJSON_GetObjectItemCaseSensitive (md, "annotations");
  if (!cJSON_IsObject (ann)) {
    cJSON_DeleteItemFromObjectCaseSensitive (md, "annotations");
    ann = cJSON_AddObjectToObject (md, "annotations");
  }
  char *who = xasprintf ("%s/%s", r->ns, r->name);
  cJSON_DeleteItemFromObjectCaseSensitive (ann, IMP_HOOK_MARK);
  cJSON_AddStringToObject (ann, IMP_HOOK_MARK, who);
  free (who);
}

/* Whether the hook at path is one an earlier import of this release left behind. */
static bool
ours (struct imp_run *r, const char *path)
{
  cJSON *live = NULL;
  struct rm_error err;
  if (kube_get (r->s->kc, path, &live, &err) != KUBE_OK) {
    cJSON_Delete (live);
    return false;
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (live, "metadata"),
                                      "annotations"), IMP_HOOK_MARK);
  char *who = xasprintf ("%s/%s", r->ns, r->name);
  bool yes = cJSON_IsString (v) && strcmp (v->valuestring, who) == 0;
  free (who);
  cJSON_Delete (live);
  return yes;
}

static int
run_one (struct imp_run *r, struct imp_object *h, const char *event)
{
  char *coll, *path;
  int rc = imp_prepare (r, h, IMP_HOOK, &coll, &path);
  if (rc < 0)
    return -1;
  if (r->s->dry) {
    if (rc == 0) {
      if (h->policies & IMP_HOOK_BEFORE_CREATION)
        imp_plan (r, "  %s hook %s (weight %d): DELETE %s if it exists\n", event, h->hook,
                  h->weight, path);
      imp_plan (r, "  %s hook %s (weight %d): create %s %s: POST %s%s\n", event, h->hook,
                h->weight, h->kind, h->name, coll, waits (h->kind) ? ", wait for completion" : "");
      if (h->policies & IMP_HOOK_SUCCEEDED)
        imp_plan (r, "  %s hook %s: DELETE %s when it succeeds\n", event, h->hook, path);
    }
    free (coll);
    free (path);
    return 0;
  }
  struct rm_error err;
  mark (r, h);
  if (((h->policies & IMP_HOOK_BEFORE_CREATION) || ours (r, path))
      && imp_delete (r, path, true, &err) != KUBE_OK) {
    rc = imp_fail (r, "%s hook %s: deleting the previous %s %s: %s", event, h->hook, h->kind,
                   h->name, err.message);
    goto out;
  }
  if (imp_apply (r, h, IMP_HOOK) < 0) {
    rc = -1;
    goto out;
  }
  /* Whatever the hook's outcome, the hook object is not a release resource: --atomic
   * leaves it to the delete policies, like helm. */
  if (r->created.n && strcmp (r->created.items[r->created.n - 1], path) == 0) {
    free (r->created.items[--r->created.n]);
  }
  rc = waits (h->kind) ? imp_wait_ready (r, h, path) : 0;
  if (rc < 0) {
    char *e = r->error;
    r->error = xasprintf ("%s hook %s failed: %s", event, h->hook, e);
    free (e);
    if ((h->policies & IMP_HOOK_FAILED) && imp_delete (r, path, false, &err) != KUBE_OK)
      log_warn ("%s/%s: deleting failed hook %s: %s", r->ns, r->name, h->hook, err.message);
    goto out;
  }
  log_info ("%s/%s: %s hook %s done", r->ns, r->name, event, h->hook);
  if ((h->policies & IMP_HOOK_SUCCEEDED) && imp_delete (r, path, false, &err) != KUBE_OK)
    log_warn ("%s/%s: deleting hook %s: %s", r->ns, r->name, h->hook, err.message);
out:
  free (coll);
  free (path);
  return rc;
}

int
imp_run_hooks (struct imp_run *r, const cJSON *release, const char *event)
{
  struct imp_objects hooks = { 0 };
  struct rm_error err;
  if (imp_hooks_for (release, event, &hooks, &err) != RM_OK) {
    imp_objects_free (&hooks);
    return imp_fail (r, "%s hooks: %s", event, err.message);
  }
  int rc = 0;
  for (size_t i = 0; i < hooks.n && rc == 0; i++)
    rc = run_one (r, &hooks.v[i], event);
  imp_objects_free (&hooks);
  return rc;
}
