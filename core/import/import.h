/* The restore engine behind `releasemanager import` (DESIGN.md section 4): a stored
 * release becomes what `helm install` would have left in the target cluster.
 *
 *   manifest.c   rendered manifest, chart crds/ and hooks -> objects in Helm's order
 *   discovery.c  apiVersion + kind -> API resource and scope (cached, thread-safe)
 *   convert.c    API versions the cluster no longer serves -> their served replacements
 *                (convert.h; doc/api-conversions.md), the preflight of one release
 *   apply.c      one object: namespace, Helm's ownership metadata, create or take over,
 *                delete, wait for readiness
 *   hooks.c      pre-/post-install hooks by weight with their delete policies
 *   records.c    the release records back as Helm's own storage (Secret or ConfigMap)
 *   values.c     --update-values and --new-path: parse, apply to the values a release
 *                has, render with a helm binary (helm template) into a new revision
 *   release.c    one release from stored records to a Helm-owned release
 *   run.c        what those steps share: the first failure, the dry-run plan, the clock
 *   lock.c       the import lock: a Lease in the target cluster, one import of a store
 *                at a time
 *   engine.c     a whole run: reads the store (index.json or the original tool's files),
 *                groups revisions per release, applies the filters, restores releases
 *                in parallel and counts the outcomes
 * cmd_import.c turns the options into a struct imp_request and prints the result. */
#ifndef RM_IMPORT_H
#define RM_IMPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "backend_wrap.h"
#include "helm/helm.h"
#include "kube/kube.h"
#include "base/util.h"

/* ---- describe.c ---- */

struct store_record;
/* A store_describe_fn (store/legacy.h): r's index fields from one release JSON. */
int imp_describe_record (const char *json, size_t len, const char *key, struct store_record *r,
                         struct rm_error *err);

/* ---- manifest.c ---- */

#define IMP_HOOK_BEFORE_CREATION (1u << 0)
#define IMP_HOOK_SUCCEEDED       (1u << 1)
#define IMP_HOOK_FAILED          (1u << 2)

struct imp_object {
  cJSON *obj;              /* owned */
  const char *api_version; /* point into obj */
  const char *kind;
  const char *name;
  int order;               /* index in Helm's install order; unknown kinds sort last */
  /* hooks only */
  char *hook;              /* the hook's name in the release */
  int weight;
  unsigned policies;       /* IMP_HOOK_* */
};

struct imp_objects {
  struct imp_object *v;
  size_t n, cap;
};

void imp_objects_free (struct imp_objects *l);
/* Position of kind in Helm's InstallOrder; unknown kinds get the same large value. */
int imp_kind_order (const char *kind);
/* Split a multi-document YAML manifest into objects (empty documents and comments
 * skipped) and append them to out.  what names the source in messages.  Returns RM_OK,
 * or with err filled a YAMLJSON_E_* code (not YAML) or RM_E_INVALID (not objects). */
int imp_split_manifest (const char *text, const char *what, struct imp_objects *out,
                        struct rm_error *err);
/* Stable sort by install order; unknown kinds last, ordered by kind name like Helm. */
void imp_sort_install_order (struct imp_objects *l);
/* The chart's crds/ files (release.chart.files, base64) as objects, in file order: RM_OK,
 * or a code with err filled (a file that is not base64, YAML, or a CRD). */
int imp_chart_crds (const cJSON *release, struct imp_objects *out, struct rm_error *err);
/* The hooks of release that run on event ("pre-install"...), sorted by weight then name:
 * RM_OK, or imp_split_manifest's code and err. */
int imp_hooks_for (const cJSON *release, const char *event, struct imp_objects *out,
                   struct rm_error *err);

/* ---- discovery.c ---- */

struct imp_discovery;
struct imp_discovery *imp_discovery_new (struct kube_client *kc);
void imp_discovery_free (struct imp_discovery *d);
/* Resource name (caller frees) and scope of apiVersion/kind.  KUBE_E_NOT_FOUND when the
 * server does not serve that kind (after one fresh look). */
int imp_discover (struct imp_discovery *d, const char *api_version, const char *kind,
                  char **resource, bool *namespaced, struct rm_error *err);
/* Learn gv's APIResourceList (taken), read by someone else. */
void imp_discovery_prime (struct imp_discovery *d, const char *gv, cJSON *list);
/* Forget what was learnt (CRDs were created). */
void imp_discovery_invalidate (struct imp_discovery *d);
/* Whether the server serves kind in api_version, from what was learnt or one read of its
 * group version (never waiting for CRDs): RM_OK with *served set, or a code with err
 * filled (the server could not be asked). */
int imp_discovery_serves (struct imp_discovery *d, const char *api_version, const char *kind,
                          bool *served, struct rm_error *err);
/* What `helm upgrade` against this cluster reads as its Capabilities: *version, /version's
 * gitVersion ("" when the server names none; caller frees), and api_versions (appended):
 * every served group version and group version/Kind, as Helm lists them.  What it reads
 * stays cached for the lookups above.  KUBE_OK, or a code with err filled. */
int imp_discovery_capabilities (struct imp_discovery *d, char **version,
                                struct strlist *api_versions, struct rm_error *err);

/* ---- shared settings of one import run (read-only while releases run) ---- */

struct imp_settings {
  struct kube_client *kc;
  struct imp_discovery *disc;
  enum helm_driver driver;  /* where the records go: Secret or ConfigMap for every
                               release (--helm-driver), or HELM_DRIVER_AUTO: the driver
                               each release was stored from (Secret when unknown) */
  const char *target_ns;    /* --target-namespace or NULL */
  bool dry, replace, wait, atomic, no_hooks, create_ns;
  bool convert_apis;         /* --convert-apis (default) or --no-convert-apis: refuse */
  long timeout_s;           /* --release-timeout */
  const struct strlist *updates;   /* --update-values KEY=VALUE */
  const char *helm_bin;     /* for updates; NULL = none found */
  const char *kubeconfig, *kubecontext;
  pthread_mutex_t *out_lock;       /* serialises dry-run plans on stdout */
};

/* ---- one release being restored ---- */

struct imp_run {
  const struct imp_settings *s;
  const char *name;         /* release name */
  const char *ns;           /* namespace it is restored into */
  const char *orig_ns;      /* namespace it was stored from */
  enum helm_driver driver;  /* where its records go: Secret or ConfigMap */
  double deadline;          /* monotonic seconds */
  struct strlist created;   /* API paths of objects this run created, in order (--atomic) */
  struct strbuf plan;       /* --dry-run: the plan text */
  size_t found;             /* objects already there and owned by this release (an
                               interrupted import left them): taken over, or in a dry
                               run would be */
  char *error;              /* the failure, once set */
  size_t converted;         /* objects imp_convert_release converted (logged only when
                               the release is written) */
};

/* ---- run.c: shared by the steps below (and calling none of them) ---- */

/* Monotonic seconds, the clock of imp_run.deadline. */
double imp_now (void);
/* Record the failure (the first one wins) and return -1. */
int imp_fail (struct imp_run *r, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
/* Append to the --dry-run plan. */
void imp_plan (struct imp_run *r, const char *fmt, ...) __attribute__((format (printf, 2, 3)));

/* ---- apply.c ---- */

enum imp_apply_mode {
  IMP_RESOURCE,   /* a manifest object: Helm's ownership metadata, take over per the rules */
  IMP_CRD_FILE,   /* a chart crds/ file: created as is, skipped when it exists */
  IMP_HOOK,       /* a hook: created as is (Helm does not label hooks) */
};

/* Fill in the namespace and metadata of o for this run and compute its paths: the
 * collection (*coll) and the object (*path).  Both caller-freed.  -1 on failure. */
int imp_prepare (struct imp_run *r, struct imp_object *o, enum imp_apply_mode mode,
                 char **coll, char **path);
/* Prepare and create o, or take it over / skip it per mode and the options.  In a dry run
 * only the plan is written.  Returns 0 or -1 (r->error set). */
int imp_apply (struct imp_run *r, struct imp_object *o, enum imp_apply_mode mode);
/* DELETE path (background propagation); not found is fine.  wait: until it is gone. */
int imp_delete (struct imp_run *r, const char *path, bool wait, struct rm_error *err);
/* --wait: o (already created at path) is ready per Helm's rules, or the deadline. */
int imp_wait_ready (struct imp_run *r, const struct imp_object *o, const char *path);
/* --atomic: delete what this run created, newest first. */
void imp_undo (struct imp_run *r);

/* ---- hooks.c ---- */

int imp_run_hooks (struct imp_run *r, const cJSON *release, const char *event);

/* Preflight (no write): whether o, a manifest object, already exists in the cluster owned
 * by another release or by none (its meta.helm.sh annotations), one GET.  0 absent or
 * this release's (an interrupted import left it), 1 a conflict, -1 unreadable; *problem
 * set on 1 and -1 (caller frees). */
int imp_check_owner (struct imp_run *r, const struct imp_object *o, char **problem);

/* ---- records.c ---- */

/* What the target namespace already holds of a release (imp_check_existing). */
enum imp_existing {
  IMP_EXIST_NONE,      /* no record: not restored yet (objects may be there, from an
                          interrupted import: they are taken over as this release's) */
  IMP_EXIST_PARTIAL,   /* some of the records this import writes, identical: an import of
                          this store stopped while writing them; its hooks ran */
  IMP_EXIST_SAME,      /* exactly the records this import writes: already restored */
  IMP_EXIST_OTHER,     /* records this import would not write: another release */
};
/* Compare the records of this release in the target namespace (under either driver) with
 * json[0..n) (revisions versions[]), the records this import would write.  existing gets
 * the names under r->driver (--replace overwrites them and deletes the rest), present
 * those identical to one of json (emptied with --replace: all are written again).
 * Returns an enum imp_existing, with *why set when the release is to be skipped (OTHER
 * without --replace; SAME without --replace: "already restored"), or -1 (r->error). */
int imp_check_existing (struct imp_run *r, char **json, const int *versions, size_t n,
                        struct strlist *existing, struct strlist *present, char **why);
/* Write each release JSON (revision order) as Helm's storage object, except those named
 * in present (may be NULL: there already); then, with --replace, delete the existing
 * records not overwritten. */
int imp_write_records (struct imp_run *r, char **json, size_t n, const struct strlist *existing,
                       const struct strlist *present);

/* ---- values.c ---- */

/* Parse one --update-values argument as the original tool's flag does (pflag
 * StringToString): with one '=' the whole text is one pair, the value being everything
 * after it, commas too; with several, the text is one CSV record (quotes honoured) of
 * KEY=VALUE pairs.  The pairs are appended to updates as "KEY=VALUE", an earlier pair
 * with the same key dropped (a later key wins).  RM_OK, or RM_E_INVALID with err naming
 * the text and the pair at fault. */
int imp_updates_add (struct strlist *updates, const char *text, struct rm_error *err);
/* One KEY=VALUE pair as it is (an item of a configuration file's mapping), appended the
 * same way: RM_OK, or RM_E_INVALID with err filled (no '=', no KEY). */
int imp_updates_add_pair (struct strlist *updates, const char *pair, struct rm_error *err);
/* Apply updates to a release's user values as the original tool does: only a value that
 * already exists there is changed (a literal top-level KEY first, else the dotted path
 * a.b.c through objects); any other key is refused with a warning naming who
 * ("ns/name").  The new value takes the type of the one it replaces when the text is
 * one of that type (true/false for a boolean, a number for a number), else it is a
 * string.  Returns how many values were changed. */
size_t imp_update_values (cJSON *values, const struct strlist *updates, const char *who);
/* --new-path: set the manager's storage path in values wherever the release keeps it:
 * top-level "path" (our chart) and nested "backend.path" (the original tool's chart),
 * each when values or the chart's defaults have it.  Returns how many were set (0: the
 * release keeps no path). */
size_t imp_set_new_path (cJSON *values, const cJSON *defaults, const char *path);
/* Render release's chart (rebuilt from the record) with `helm template` and values (its
 * stored user values with the updates applied) into *out: the release JSON helm upgrade
 * would store as revision version (deployed, "Upgrade complete", the new values,
 * manifest and hooks, namespace r->ns).  helm only renders: the result is converted,
 * preflighted, applied and written like any stored revision (release.c).  0, or -1 with
 * r->error set. */
int imp_render_release (struct imp_run *r, const cJSON *release, const cJSON *values, int version,
                        cJSON **out);
/* Whether the release's chart can be rebuilt from the record (no dependencies): RM_OK, or
 * RM_E_UNSUPPORTED with err saying why not. */
int imp_chart_rebuildable (const cJSON *release, struct rm_error *err);
/* The first executable "helm" on PATH, or NULL; caller frees. */
char *imp_find_helm (void);

/* ---- release.c ---- */

/* One stored revision of a release. */
struct imp_revision {
  int revision;
  char *key;      /* store key, for messages */
  char *json;     /* the release JSON, as stored */
  size_t len;
  enum helm_driver driver;  /* where Helm kept it (Secret when the store does not say) */
};

/* Restore one release from its stored revisions (ascending), with updates applied to
 * its values (imp_update_values) and, when new_path is not NULL (the manager's own
 * release), its storage path set (imp_set_new_path); re-rendered with helm only when a
 * value changed.  Returns 0 restored, 1 skipped (*why set), -1 failed (*why set). */
int imp_restore_release (const struct imp_settings *s, const char *ns, const char *name,
                         struct imp_revision *revs, size_t n, const struct strlist *updates,
                         const char *new_path, char **why);

/* ---- lock.c ---- */

/* The import lock of the store described by where in the cluster of kc, a Lease in
 * namespace ns (--lock-namespace); waits while another live import holds it (said once
 * on stderr).  RM_OK with *out the lock, or NULL after a warning when the cluster has no
 * Leases (the import goes on unlocked); an error with err filled, naming the namespace
 * and --lock-namespace, when the importer may not use Leases there (403) or the
 * namespace does not exist: nothing has been written then. */
struct imp_lock;
int imp_lock_take (struct kube_client *kc, const char *ns, const char *where,
                   struct imp_lock **out, struct rm_error *err);
/* Stop renewing it and give it up (NULL: nothing). */
void imp_lock_release (struct imp_lock *l);

/* ---- engine.c ---- */

enum imp_state {
  IMP_PENDING,
  IMP_RESTORED,             /* or, in a dry run, would be */
  IMP_SKIPPED,
  IMP_FAILED,
};

/* What to import and how; the caller keeps it all alive until imp_engine_free. */
struct imp_request {
  struct backend *b;                 /* the store; never written */
  struct imp_settings s;             /* for every release (kc, disc and out_lock are set
                                        by the engine) */
  const struct strlist *only_ns;     /* --namespace: only these namespaces (empty: all) */
  const struct strlist *skip_ns;     /* --exclude-namespaces */
  const struct strlist *only_releases;  /* --release (--release-name): only these
                                           release names (empty: all) */
  const struct strlist *updates;     /* --update-values, for every release */
  bool force;                        /* --force: the manager's own release too */
  const char *new_path;              /* --new-path: the manager's own release, its path
                                        value (the original tool's backend.path) set */
  unsigned threads;                  /* releases restored in parallel, >= 1 */
  const char *snapshot;              /* --snapshot ID|TIME (store/history.h), or NULL:
                                        the newest (added for issue 15) */
  const char *lock_ns;               /* --lock-namespace: where the import lock's Lease
                                        is (NULL: default) */
};

/* One release of the store that the filters selected. */
struct imp_outcome {
  char *ns, *name;
  enum imp_state state;
  char *why;                         /* what was restored, or why not; may be NULL */
};

struct imp_result {
  char *where;                       /* the store, described (backend_describe) */
  bool legacy;                       /* read from the original tool's .release files */
  struct imp_outcome *releases;      /* in store order */
  size_t n;
  struct strlist bad;                /* legacy: "KEY: why" of files that are no release */
  size_t restored, skipped, failed;  /* failed counts the bad files too */
};

/* An import in two steps, so that the store is read before the cluster is touched.
 * imp_engine_load reads the store and selects the releases: RM_OK, or an RM_E_* code with
 * err filled (no snapshot: RM_E_NOT_FOUND; an unreadable store).  imp_engine_run then
 * imports them into the cluster of kc: RM_OK once releases were attempted (each one's
 * outcome in *res), or an RM_E_* code with err filled (an unreachable cluster).  *res is
 * the caller's (imp_result_free), also on error, and so is *e (imp_engine_free), which
 * must outlive neither rq nor the backend.  Never exits; choosing an exit status is the
 * caller's job. */
struct imp_engine;
int imp_engine_load (const struct imp_request *rq, struct imp_result *res,
                     struct imp_engine **e, struct rm_error *err);
int imp_engine_run (struct imp_engine *e, struct kube_client *kc, struct imp_result *res,
                    struct rm_error *err);
void imp_engine_free (struct imp_engine *e);
void imp_result_free (struct imp_result *res);

#endif
