/* The export engine: backs up every Helm release record of a cluster into a store, and
 * can do so again and again in one process (the one-shot `export` calls it once, a
 * daemon on every tick).  The engine keeps the snapshot it last committed in memory, so
 * a later run reads only the release objects whose uid or resourceVersion changed and
 * stores only the records whose hash changed.  It never exits and never decides an exit
 * status: it returns errors and counts. */
#ifndef RM_EXPORT_H
#define RM_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend_wrap.h"
#include "base/util.h"
#include "kube/kube.h"
#include "store/history.h"

struct store_lock;
struct store_index;

struct export_opts {
  bool secrets, configmaps;          /* the Helm drivers to read (both: "auto"; then a
                                        driver the cluster refuses to list is left out of
                                        the run's scope with a warning) */
  const struct strlist *only_ns;     /* only these namespaces (none: all) */
  const struct strlist *skip_ns;     /* never these */
  const struct strlist *only_release;  /* only these release names (none or NULL: all) */
  unsigned threads;                  /* parallel reads and uploads, >= 1 */
  bool dry_run;                      /* print every write and delete, do none */
  const char *self_release;          /* recorded in the state file; may be NULL */
  const char *self_namespace;
  const char *path;                  /* the --path, for the state file */
  bool progress;                     /* a progress line on stderr (a terminal) */
  bool force;                        /* export over a snapshot of another cluster */
  struct store_lock *lock;           /* the held store lock, checked right before the
                                        commit (store_lock_check), or NULL */
  /* Added for issue 15.  Each commit also keeps its index as a snapshot
   * (store/history.h); after it, the snapshots these rules do not keep are deleted, then
   * the records no kept snapshot references.  All zero: the newest only (as before). */
  struct store_retention retention;
};

struct export_result {
  size_t records;                    /* in the new snapshot, in the run's scope */
  size_t written, unchanged, deleted, skipped, failed;
  size_t skipped_new;                /* of skipped: those this engine's previous run did
                                        not skip (the same object and resourceVersion), so
                                        a daemon reports each corrupt record once */
  size_t kept;                       /* stale records not deleted (see kept_why) */
  size_t repaired;                   /* stored records found missing or truncated, read
                                        again from the cluster (among written) */
  const char *kept_why;              /* why they were kept: a static string, or NULL */
  bool scoped;                       /* a filter (or a driver not listed) left part of the
                                        cluster out of this run */
  size_t outside;                    /* entries of the previous snapshot outside the scope,
                                        kept as they were (not in records) */
  size_t legacy;                     /* the original tool's .release files deleted (would
                                        be, on a dry run) after the commit */
  bool complete;                     /* the records were processed: the counts are valid */
  bool committed;                    /* the new index was written (or nothing changed) */
  size_t forgotten;                  /* past snapshots deleted by the retention rules
                                        (would be, on a dry run) */
};

/* b and kc are borrowed and must outlive the engine; opts is copied. */
struct export_engine *export_engine_new (struct backend *b, struct kube_client *kc,
                                         const struct export_opts *opts);
/* One export.  Returns RM_OK, or an error with err filled: before result->complete the
 * cluster could not be read, or the store holds another cluster's snapshot (without
 * force), and the store is untouched; after, the snapshot could not be committed (the
 * store keeps the previous one, and every record it references: new records go to new
 * keys).  Records that failed or were skipped are logged and counted in result, not
 * returned.  Stale records are deleted only after a commit, and not after a run with
 * any failure (result->kept).  The filters (namespaces, release names, drivers) scope a
 * run: what the previous snapshot holds outside the scope is kept as it was, entry and
 * record; only records in the scope are added, replaced or deleted.  A store of the
 * original tool (store/legacy.h) is converted: its .release files are deleted after the
 * commit, those the run's scope covers; its first export may not be filtered by
 * namespace or release (RM_E_INVALID, nothing written). */
int export_engine_run (struct export_engine *e, struct export_result *result,
                       struct rm_error *err);
void export_engine_free (struct export_engine *e);

/* For a daemon (added for issue 13).  The snapshot the engine holds in memory (the one
 * it committed or read last), or NULL; valid until the next run or recheck. */
const struct store_index *export_engine_snapshot (const struct export_engine *e);
/* Whether index.json is still the one the engine holds (its periodic resync): one read
 * of index.json, no record.  When it was deleted, edited or replaced behind the
 * engine's back, *changed is true and the engine forgets its copy: the next run reads
 * the store's again and repairs it from the cluster.  An error (err filled) leaves the
 * engine as it was. */
int export_engine_recheck (struct export_engine *e, bool *changed, struct rm_error *err);

/* For a daemon's batches of watched changes (added for issue 13's latency target).  One
 * change: a WATCH event's object (a release Secret, or a ConfigMap when configmap), whole
 * as the watch delivered it, and whether the event deleted it. */
struct export_change {
  bool deleted;
  bool configmap;
  cJSON *object;                     /* owned by the caller */
};
/* One export of the changes only, in their order: the snapshot the engine holds with
 * each change applied (the last change of an object wins; an object outside the filters
 * or the drivers of the engine's last run is ignored), the records of the changed objects
 * taken from the changes themselves (no GET, no LIST), then committed as
 * export_engine_run commits: one snapshot, the same retention, and only in-scope entries
 * removed (a deleted object's).  It relies on the engine's previous run (run or apply)
 * having succeeded: otherwise, and when a change needs what only a LIST can tell (a
 * revision held by both a Secret and a ConfigMap), it runs export_engine_run instead.
 * Returns as export_engine_run does; *listed (may be NULL) says whether it did. */
int export_engine_apply (struct export_engine *e, const struct export_change *changes,
                         size_t n, struct export_result *result, bool *listed,
                         struct rm_error *err);

#endif
