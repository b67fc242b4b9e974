/* Point-in-time snapshots (issue 15): every committed index is also kept, byte for byte,
 * as an immutable object
 *
 *   snapshots/<YYYYMMDDTHHMMSS.mmmZ>-<id>.json   id: the first 12 hex digits of its SHA-256
 *
 * The time is the commit's, in milliseconds (a daemon may commit several batches a
 * second), and a writer makes it later than the newest snapshot's, so the keys sort in
 * commit order.
 * written create-only before index.json (the commit point, still one get for the newest),
 * so a crash between the two leaves an extra complete snapshot, never an index.json
 * without its snapshot or a snapshot without its records (they are written before it).
 * Records are shared: a snapshot costs its index only.  Listing the snapshots is one list
 * of snapshots/ (time and id are in the key); index.json is the snapshot whose id is the
 * hash of its text.  A store written before has no snapshots/: its index.json is its only
 * snapshot.
 *
 * Retention (restic's `forget`): the rules pick the snapshots kept; the newest and
 * index.json's are always kept.  Removing a snapshot deletes its object first and then
 * the records no kept snapshot references, so an interrupted removal leaves every kept
 * snapshot whole (store_prune, and the export engine after each commit). */
#ifndef RM_STORE_HISTORY_H
#define RM_STORE_HISTORY_H

#include <stdbool.h>

#include "store/legacy.h"
#include "store/store.h"

#define STORE_SNAPSHOTS_PREFIX "snapshots/"
#define STORE_SNAPSHOT_ID_LEN 12

/* --snapshot ID|TIME names no snapshot of the store (which has some). */
#define STORE_E_NO_SUCH_SNAPSHOT ERR_EXT (RM_E_NOT_FOUND, 0x3d)

/* The default rules, when no --keep-* option is given: a daemon that commits often keeps
 * its last 10 batches and one snapshot a day for a week, at most 17 snapshots. */
#define STORE_KEEP_LAST_DEFAULT 10
#define STORE_KEEP_DAILY_DEFAULT 7

struct store_snapshot {
  char *key;               /* snapshots/...json, or STORE_INDEX_KEY for an index.json
                              that has no snapshot object (a store written before) */
  char id[STORE_SNAPSHOT_ID_LEN + 1];
  char time[25];           /* RFC 3339 UTC, "2026-12-02T06:35:46.123Z" */
  long long t;             /* the same in milliseconds since the epoch */
  bool current;            /* index.json is this snapshot */
};

/* The snapshots of a store, oldest first (by time, then id). */
struct store_history {
  struct store_snapshot *v;
  size_t n, cap;
  struct store_index *current;   /* index.json as read by store_history_read, or NULL */
  struct strlist leftover;       /* snapshots/ keys left over by an unfinished rekey: sealed
                                    with the key the marker's "rekeyTo" names (not in v) */
};

/* Retention rules; 0 disables a rule.  Whatever they say, the newest snapshot and
 * index.json's are kept. */
struct store_retention {
  int last;                /* the N newest */
  long long within;        /* those taken within this many seconds of the newest */
  int daily;               /* the newest of each of the N newest days (UTC) that have one */
};

/* The key of the snapshot whose index text is text, committed at ms (milliseconds since
 * the epoch).  Caller frees. */
char *store_snapshot_key (long long ms, const char *text, size_t len);
/* The milliseconds of a new snapshot's key: now, or 1 ms after the newest of snaps (keys,
 * any order) when the clock says otherwise. */
long long store_snapshot_next_ms (const struct strlist *snaps);
/* Parse a key of snapshots/ strictly into s (s->key not set); false for any other. */
bool store_snapshot_key_parse (const char *key, struct store_snapshot *s);
/* "2026-12-02T06:35:46Z" into seconds since the epoch; false when it is not one. */
bool store_time_parse (const char *text, long long *t);

/* Add the snapshot whose key is key (a snapshots/ key; others are ignored, false). */
bool store_history_add (struct store_history *h, const char *key);
/* Sort oldest first and mark the one whose id is current_id (or NULL) current; when no
 * listed snapshot has that id and current_time is given, add an entry for index.json. */
void store_history_finish (struct store_history *h, const char *current_id,
                           const char *current_time);
void store_history_free (struct store_history *h);
/* One list of snapshots/ and one get of index.json (kept in h->current, parsed): the
 * store's snapshots, without a rekey's leftovers (store_history_drop_leftovers).  RM_E_NOT_FOUND when it has none (no index.json, no snapshot);
 * an unreadable index.json is an error (err names it). */
int store_history_read (struct backend *b, struct store_history *h, struct rm_error *err);

/* On an encrypted store whose marker says a rekey is under way (store/crypt.h, "rekeyTo"
 * another key than b's): move the snapshots of h sealed with that key (their header
 * says, read without the key) from h->v to h->leftover, each noted.  They are a rekey's
 * new copies written before it was stopped: no snapshot of the store as its key reads
 * it.  One get of the marker on an encrypted store, one get per snapshot while a rekey
 * is pending; nothing otherwise.  Call before store_history_finish. */
int store_history_drop_leftovers (struct backend *b, struct store_history *h,
                                  struct rm_error *err);

/* Which snapshot ID|TIME names: an id or a prefix of one (at least 4 hex digits, one
 * snapshot only), or a time ("2026-12-02T06:35:46Z", "2026-12-02 06:35:46", or a date
 * "2026-12-02" meaning its 00:00:00 UTC), the newest taken at or before it.  The index
 * into h->v, or -1 with err saying why (RM_E_INVALID: not an id or a time, RM_E_NOT_FOUND:
 * none matches). */
long store_history_find (const struct store_history *h, const char *which, struct rm_error *err);
/* The index of the snapshot s of h (index.json's own when it is current); caller frees
 * with store_index_free.  A snapshot object whose text does not hash to its id is
 * RM_E_IO, damaged. */
int store_snapshot_load (struct backend *b, const struct store_history *h,
                         const struct store_snapshot *s, struct store_index **out,
                         struct rm_error *err);
/* store_legacy_load_any when which is NULL (the newest, or the original tool's files);
 * else the snapshot which names (store_history_find).  For list, import and verify. */
int store_snapshot_load_any (struct backend *b, const char *which, store_describe_fn describe,
                             struct store_index **out, bool *legacy, struct strlist *bad,
                             struct rm_error *err);

/* Every record key any snapshot of the store references, pushed to ref (index.json's
 * too).  RM_E_NOT_FOUND when it has no snapshot; a snapshot that cannot be read is an
 * error (err names it). */
int store_history_refs (struct backend *b, struct strlist *ref, struct rm_error *err);

/* --keep-within: "30d", "12h", "2w", "1y", "90m" (minutes), "45s", or a sum "1d12h".
 * RM_OK with *secs, or RM_E_INVALID with err's message the reason, to follow "'TEXT' ". */
int store_retention_parse_within (const char *text, long long *secs, struct rm_error *err);
/* keep[i] for each snapshot of h (sorted): whether r keeps it. */
void store_retention_apply (const struct store_retention *r, const struct store_history *h,
                            bool *keep);
/* "--keep-last 10 --keep-daily 7" of r into buf. */
void store_retention_describe (const struct store_retention *r, char *buf, size_t size);

/* Remove the keys of keys that ref holds (in any order); keys keeps its order. */
void store_keys_subtract (struct strlist *keys, const struct strlist *ref);

struct store_lock;
struct store_prune_result {
  size_t snapshots, kept;  /* snapshots found, kept */
  size_t forgotten;        /* snapshot objects deleted (would be, dry) */
  size_t records, deleted; /* records found; deleted (would be) */
  long long freed;         /* bytes of those (as listed) */
  size_t failed;           /* deletes that failed (logged) */
};
/* Apply r to the store: delete the snapshots it does not keep, then every record under
 * releases/ that no kept snapshot references.  lock (or NULL) is checked before the
 * first delete.  dry: print each "would delete KEY", delete nothing.  RM_E_NOT_FOUND
 * when the store has no snapshot; an error (nothing deleted) when index.json or a kept
 * snapshot cannot be read. */
int store_prune (struct backend *b, const struct store_retention *r, struct store_lock *lock,
                 bool dry, struct store_prune_result *res, struct rm_error *err);

#endif
