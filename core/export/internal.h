/* What the files of the export engine share: the engine, one item per release object
 * found in the cluster, and each file's entry points.  items.c holds the items and the
 * scope; plan.c lists the cluster and compares with the previous snapshot; record.c turns one object into a stored record;
 * fetch.c reads the changed objects on worker threads; engine.c runs and commits. */
#ifndef RM_EXPORT_INTERNAL_H
#define RM_EXPORT_INTERNAL_H

#include <stdatomic.h>
#include <time.h>

#include "export/export.h"
#include "helm/helm.h"
#include "store/store.h"

enum item_state {
  ITEM_PENDING,          /* to read */
  ITEM_UNCHANGED,        /* same uid and resourceVersion as in the previous snapshot */
  ITEM_WRITTEN,          /* stored (or would be, on a dry run) */
  ITEM_SAME_HASH,        /* read again, but its JSON hash is the stored one */
  ITEM_SKIPPED,          /* not exportable (Helm 2, corrupt, deleted meanwhile): why */
  ITEM_FAILED,           /* could not be read or stored: why */
  ITEM_SUPERSEDED,       /* --helm-driver auto: the other object of the same revision is
                            exported (fetch.c resolve_duplicates): why */
};

/* One release object found in the cluster, for the length of one run. */
struct item {
  enum helm_driver driver;
  enum item_state state;
  /* namespace, object, uid, rv, release and key point into mem (one allocation per
   * item: a run holds one item per release record in the cluster). */
  const char *namespace, *object, *uid, *rv;
  const char *release;
  int revision;
  const char *key;                  /* store_record_key: the revision's identity (sorting,
                                       matching); the record's key is rec.key */
  char *mem;
  struct store_record *old;         /* in the previous snapshot, or NULL */
  struct store_record rec;          /* the new index entry: UNCHANGED, WRITTEN, SAME_HASH */
  char *why;                        /* SKIPPED, FAILED, SUPERSEDED: the reason */
  cJSON *obj;                       /* the full object, while a full LIST holds it */
  bool queued;                      /* handed to the workers by the full LIST */
  bool corrupt;                     /* skipped because it does not decode */
  bool repair;                      /* its stored record is damaged: put it even when
                                       its content is the stored one */
};

struct export_engine {
  struct backend *b;
  struct kube_client *kc;
  struct export_opts o;             /* the strings below are the engine's copies */
  struct strlist only_ns, skip_ns, only_release;
  char *self_release, *self_namespace, *path;
  struct store_index *old;          /* the last committed snapshot (NULL: none) */
  struct store_index_base base;     /* index.json as read or last written: the commit's
                                       condition */
  bool loaded;                      /* old has been read from the store */
  bool unreadable;                  /* index.json could not be read: delete nothing until
                                       a commit replaces it */
  bool state_saved;                 /* the state file is known to say what ours does */
  /* Point-in-time snapshots: the key of the snapshot old is (NULL: unknown), and the
   * record keys of other kept snapshots already read (snapshot objects never change). */
  char *old_snap;
  struct strlist snap_keys;         /* snapshot keys ... */
  struct strlist *snap_records;     /* ... and the record keys of each, at the same index */
  bool forbidden_warned[2];         /* a driver refused us: said once (secrets, configmaps) */
  struct strlist skipped;           /* the objects the last run skipped ("uid@rv"): a
                                       later run warns of them again only in --debug */
  /* One run. */
  bool list_secrets, list_configmaps;  /* the drivers listed: in the run's scope */
  bool foreign;                     /* old is another cluster's, replaced (--force): the
                                       scope keeps none of it */
  struct item *items;
  size_t n, cap;
  atomic_size_t next;               /* fetch: the next item to take */
  atomic_size_t done;
  atomic_ullong bytes;              /* release JSON bytes read so far */
  size_t progress_total;
  struct timespec started;
  struct log_fields *log_fields;    /* the caller's log fields, for the worker threads */
  /* Added for the daemon's batches (incremental.c): the changes export_engine_apply
   * hands to this run's plan instead of a LIST (NULL: a LIST), and whether the plan
   * listed anyway. */
  const struct export_change *changes;
  size_t nchanges;
  bool changes_listed;
  /* The cluster's identity, read once per engine while its runs reach the cluster (a
   * run that cannot read it again after an error). */
  bool cluster_known;
  char *cluster_uid;
  bool tiller_checked;              /* the Helm 2 records check ran (once per engine) */
};

/* plan.c: list the release objects as metadata only, one item each, sorted by key, the
 * superseded ConfigMaps and the unchanged objects marked.  Returns a KUBE_* code. */
int export_plan (struct export_engine *e, struct rm_error *kerr);
/* The same for a first export (no previous snapshot, or an empty one: nothing can be
 * unchanged): the first driver's full LIST is the plan, each object recorded as its page
 * arrives (export_fetch_listing), instead of a metadata-only LIST and then a full one. */
int export_plan_first (struct export_engine *e, struct rm_error *kerr);
/* export_plan in two halves, for a run that reads the previous snapshot meanwhile: the
 * metadata LISTs (they need no snapshot), then, with e->old read, the probes, the sort
 * and the comparison. */
int export_plan_list (struct export_engine *e, struct rm_error *kerr);
void export_plan_finish (struct export_engine *e);
/* items.c: one item for a listed object (metadata or full) of driver into *it, or false
 * when it is not a release record (warned) or not wanted. */
bool export_item_init (const struct export_engine *e, enum helm_driver driver,
                       const cJSON *obj, struct item *it);
void export_item_free (struct item *it);
/* Room for n items in e->items (which may move). */
void export_items_reserve (struct export_engine *e, size_t n);
/* incremental.c: the plan of export_engine_apply: one item per entry of the previous
 * snapshot in the scope, the changes applied; the same as export_plan when a change
 * needs a LIST (e->changes_listed).  Returns a KUBE_* code. */
int export_plan_changes (struct export_engine *e, struct rm_error *kerr);
/* The collections to list for driver: one per --namespace, else the cluster-wide one. */
void export_collection_paths (const struct export_engine *e, enum helm_driver driver,
                              struct strlist *paths);
void export_items_free (struct export_engine *e);
/* Whether a record of that namespace, release and driver ("secret", "configmap"; NULL:
 * unknown) is in the scope of this run (the filters and the drivers listed), and whether
 * the scope is the whole cluster. */
bool export_in_scope (const struct export_engine *e, const char *ns, const char *release,
                      const char *driver);
bool export_whole_cluster (const struct export_engine *e);

/* record.c: decode obj (the item's object), compare with the previous snapshot, and
 * store it; sets it->state, it->rec and it->why. */
void export_record (struct export_engine *e, struct item *it, const cJSON *obj);
/* Push the log fields naming it (namespace, release, revision, and action unless
 * NULL: base/log.h); returns the mark to pop back to. */
size_t export_log_item (const struct item *it, const char *action);

/* fetch.c: read and store every pending item, in parallel. */
void export_fetch (struct export_engine *e);
/* fetch.c, for export_plan_first: list driver's objects in full, each one an item
 * appended to e->items and recorded on the worker threads as its page arrives (the
 * progress line's total is unknown until the end).  Returns a KUBE_* code; on an error
 * the items of the collection that failed are dropped (what was stored is unreferenced:
 * no index names it).  Without a worker thread, a metadata LIST as export_plan's. */
int export_fetch_listing (struct export_engine *e, enum helm_driver driver,
                          struct rm_error *kerr);

#endif
