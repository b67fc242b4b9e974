/* The snapshot protocol (DESIGN.md section 3): the order in which a snapshot's objects are
 * written and deleted so that a reader never sees an index that points at missing
 * records.  Commit: the records are already put (under keys no committed index
 * references); the barrier; index.json in one conditional put; the barrier; the state
 * file; then, after a run without failure, the records the new index no longer lists.
 * Clear: index.json first, then the records, then the state file.  Used by the export
 * engine and by `clear`. */
#ifndef RM_STORE_SNAPSHOT_H
#define RM_STORE_SNAPSHOT_H

#include <stdbool.h>

#include "store/store.h"

/* The keys under releases/ (and the original tool's files), listed on a thread of their own while the caller works (an
 * export lists the cluster meanwhile): against a big store the listing, a request per
 * 1000 keys, is then off the critical path.  When no thread can be started the listing
 * runs in snapshot_keys_start. */
struct snapshot_keys;
struct snapshot_keys *snapshot_keys_start (struct backend *b);
/* Waits for the listing and frees s; keys receives the keys (appended).  The listing's
 * error, if any, is returned with err filled; keys then holds what was listed. */
int snapshot_keys_finish (struct snapshot_keys *s, struct strlist *keys, struct rm_error *err);
/* The same, and *sizes (reallocated; the caller frees) receives the listed size of each
 * key appended to keys, at the same index (-1 when the backend did not say); legacy (or
 * NULL) receives the original tool's files (store_legacy_key) found at the top. */
int snapshot_keys_finish_sizes (struct snapshot_keys *s, struct strlist *keys,
                                long long **sizes, struct strlist *legacy,
                                struct rm_error *err);

/* The same, and snaps (or NULL) receives the keys under snapshots/ (store/history.h). */
int snapshot_keys_finish_all (struct snapshot_keys *s, struct strlist *keys, long long **sizes,
                              struct strlist *legacy, struct strlist *snaps,
                              struct rm_error *err);

struct snapshot_commit_opts {
  struct store_index_base *base;   /* index.json when the run read it (updated to the one
                                      written); NULL: put it unconditionally */
  bool keep_stale;                 /* the run had a failure: delete nothing */
  bool dry;                        /* print each write and delete instead, touch nothing */
  size_t deleted;                  /* out: stale keys deleted */
  size_t deleted_legacy;           /* out: of those, the original tool's .release files */
  /* Added for point-in-time snapshots (store/history.h). */
  const char *text;                /* ix as JSON (store_index_to_json), or NULL */
  const char *snapshot_key;        /* write that text here, create-only, before index.json
                                      (NULL: no snapshot object) */
  const struct strlist *forget;    /* snapshot keys to delete after the commit, before the
                                      stale records; NULL: none */
  size_t forgotten;                /* out: of forget, deleted */
};
/* Make the records durable (backend_sync), write ix's snapshot object (o->snapshot_key),
 * sync, write ix as index.json (store_index_commit), sync, write st as the state file,
 * then, unless o->keep_stale, delete the forgotten snapshots and, when all of those are
 * gone, the stale keys.  A
 * failure to sync or to write the index or the state file is returned (err filled;
 * RM_E_PRECONDITION when another writer committed meanwhile) and no key is deleted; a
 * failed delete is only logged (the next commit retries: the key is still not in the
 * index) and not counted in o->deleted. */
int snapshot_commit (struct backend *b, const struct store_index *ix, const struct store_state *st,
                     const struct strlist *stale, struct snapshot_commit_opts *o,
                     struct rm_error *err);

struct snapshot_clear_result {
  struct strlist keys;     /* everything found, in deletion order; the caller frees */
  size_t records;          /* of keys, the records under releases/ */
  bool index, state;       /* index.json / the state file were among keys */
  size_t snapshots;        /* of keys, the past snapshots under snapshots/ */
  size_t failed;           /* keys not deleted (each logged) */
};
/* Delete the snapshot: index first, the past snapshots, records, state file last.  dry: print "would delete"
 * for each key and delete nothing.  Returns an error (err filled) only when the snapshot
 * could not be listed; failed deletes are counted in res. */
int snapshot_clear (struct backend *b, bool dry, struct snapshot_clear_result *res,
                    struct rm_error *err);

#endif
