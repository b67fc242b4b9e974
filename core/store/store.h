/* The storage layout on top of a backend (DESIGN.md section 3): record keys, the
 * snapshot index written last, and the manager's state file.  Keys are relative to the
 * user's --path; the backend wrapper applies that prefix.
 *
 *   releases/<namespace>/<release>/<revision>.<sha256>.json.gz   one Helm release record
 *   index.json                                                   the snapshot, written LAST
 *   rlsmgrstate.json                                             the manager's own identity
 *
 * A record is the release JSON byte-for-byte as Helm stored it, gzip-compressed; <sha256>
 * is the 64 lowercase hex digits of the SHA-256 of that JSON, and <revision> a decimal
 * from 1 without leading zeros.  A record is immutable once written: a changed release
 * JSON (helm upgrade rewrites the previous revision's status) gets a new key, so an
 * export never overwrites a key the committed index references.  The index lists each
 * record with its key, size and SHA-256; export skips unchanged records and import
 * verifies what it reads.  A snapshot is its index: keeping an older index.json keeps
 * that snapshot, as long as the records it names are not deleted.
 *
 * Commit (store/snapshot.c): the new records; the barrier (backend_sync); index.json in
 * one put, conditional on the etag read at the start of the run where the backend
 * offers conditional puts; the barrier; the state file; then the keys under releases/
 * the new index does not reference, and only after a run without any failure.
 *
 * Stores written before (keys releases/<ns>/<release>/<revision>.json.gz, without the
 * hash) are read the same way: the index says each record's key.  The first export onto
 * such a store writes every record again under its hashed key and, after the commit,
 * deletes the old keys.  The original Go tool's layout is store/legacy.h's. */
#ifndef RM_STORE_H
#define RM_STORE_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "backend_wrap.h"
#include "base/util.h"

#define STORE_INDEX_KEY "index.json"
#define STORE_STATE_KEY "rlsmgrstate.json"
#define STORE_RELEASES_PREFIX "releases/"
#define STORE_INDEX_API "releasemanager.io/v1"
#define STORE_INDEX_KIND "Snapshot"

/* The largest release JSON a record may hold, whatever the index says: reading a record
 * inflates at most this much before it checks size and SHA-256.  Helm keeps a release in
 * one Secret or ConfigMap (1 MiB after gzip and base64), so a release JSON of more than
 * a few tens of MiB is not a real one. */
#define STORE_RECORD_MAX ((long long) 64 << 20)
/* The largest byte count the index may give for the gzip object (2^53: a double holds
 * every integer up to it). */
#define STORE_SIZE_MAX 9007199254740992LL

struct store_record {
  char *key;               /* releases/ns/name/rev.sha256.json.gz (older stores: without
                              .sha256) */
  char *namespace;
  char *release;
  int revision;
  char *status;            /* info.status */
  char *chart;             /* chart.metadata.name */
  char *chart_version;
  char *app_version;
  char *updated;           /* info.last_deployed, RFC 3339, or NULL */
  char *driver;            /* "secret" or "configmap": where Helm kept it */
  char *source;            /* "namespace/object-name" of the Secret/ConfigMap */
  char *source_uid;        /* metadata.uid and resourceVersion of that object, to */
  char *source_version;    /* skip unchanged records without reading them */
  long long size;          /* bytes of the release JSON */
  long long stored_size;   /* bytes of the gzip object */
  char sha256[65];         /* hex SHA-256 of the release JSON */
  /* When set, the one allocation holding all the strings above (store_record_copy and
   * the index reader pack them so), freed by store_record_clear; to change one string of
   * such a record, replace the record.  When NULL, each string is its own allocation. */
  char *mem;
};

struct store_index {
  char *cluster_uid;       /* kube-system namespace UID */
  char *cluster_server;    /* API server URL, informational */
  char *exporter;          /* "releasemanager 0.1.0" */
  char *time;              /* RFC 3339 UTC of the export */
  struct store_record *records;
  size_t n, cap;
  bool sorted;             /* records in store_index_sort order: find bisects */
};

/* "releases/NS/NAME/REV.json.gz": the key of the layout before hashed keys, and the
 * identity of a release revision (the export engine sorts and matches by it); caller
 * frees. */
char *store_record_key (const char *namespace, const char *release, int revision);
/* "releases/NS/NAME/REV.SHA256.json.gz", the key a record is written under; caller
 * frees. */
char *store_record_key_sha (const char *namespace, const char *release, int revision,
                            const char *sha256);
/* Whether r->key is store_record_key_sha of r's namespace, release, revision and sha256
 * (false for a key of the older layout: an export writes such a record again). */
bool store_record_key_current (const struct store_record *r);

/* A record key taken apart (pointers into the key, not terminated). */
struct store_key {
  const char *namespace, *release;
  size_t namespace_len, release_len;
  int revision;                /* 1 to INT_MAX, written without sign or leading zero */
  const char *sha256;          /* the 64 hex digits, or NULL (the older layout) */
};
/* Parse a key of either layout strictly: "releases/", a namespace and a release without
 * '/', the revision, optionally '.' and 64 lowercase hex digits, ".json.gz".  False for
 * anything else ("01", "+1", " 1", a 63-digit hash, an uppercase one). */
bool store_key_parse (const char *key, struct store_key *k);

struct store_record *store_index_add (struct store_index *ix);   /* zeroed, owned by ix */
/* Deep copy into one allocation (dst's previous contents are not freed) and release of
 * one record. */
void store_record_copy (struct store_record *dst, const struct store_record *src);
void store_record_clear (struct store_record *r);
/* Sort by namespace, release, revision (the order of keys in the store). */
void store_index_sort (struct store_index *ix);
/* The first record whose key is key, or NULL: O(log n) on a sorted index whose
 * releases/ keys name their record's namespace, release and revision (as the reader
 * checks), else a scan.  Adding a record unsorts the index. */
const struct store_record *store_index_find (const struct store_index *ix, const char *key);
/* The first record of that release revision, whatever its key, or NULL; O(log n) on a
 * sorted index. */
const struct store_record *store_index_find_revision (const struct store_index *ix,
                                                      const char *namespace,
                                                      const char *release, int revision);
/* The keys of keys (in any order) that no record of ix has as its key, appended to out
 * in the order of keys: the stale records after a commit.  One sort of ix's keys and one
 * of keys' (O(n log n), no search per key), then one merge of the two sorted lists. */
void store_index_unreferenced (const struct store_index *ix, const struct strlist *keys,
                               struct strlist *out);
void store_index_free (struct store_index *ix);
/* Whether the two say the same in index.json (every field; how a string is allocated
 * does not matter), record by record and in order; with no text built, unlike comparing
 * store_index_to_json of both. */
bool store_record_same (const struct store_record *a, const struct store_record *b);
bool store_index_same_records (const struct store_index *a, const struct store_index *b);

/* JSON text of the index; caller frees. */
char *store_index_to_json (const struct store_index *ix);
/* The same text written to f a few records at a time (memory does not grow with the
 * index); false when a write failed. */
bool store_index_print (const struct store_index *ix, FILE *f);
/* Parse and validate into *out (the caller's): RM_OK, or RM_E_IO with *out NULL and err
 * naming what is wrong. */
int store_index_from_json (const char *text, size_t len, struct store_index **out,
                           struct rm_error *err);

/* Read index.json.  RM_E_NOT_FOUND when there is no snapshot; RM_E_IO with a message
 * when it is not a valid index. */
int store_index_load (struct backend *b, struct store_index **out, struct rm_error *err);
int store_index_save (struct backend *b, const struct store_index *ix, struct rm_error *err);

/* What index.json was when a writer read it: the condition of its commit. */
struct store_index_base {
  bool known;              /* false: the read failed, the commit cannot be conditional */
  bool absent;             /* there was no index.json */
  char etag[RM_ETAG_MAX];  /* its etag; "" when the backend gives none */
};
/* Whether index.json may exist, by one stat: false only when the backend can stat and
 * says it does not (a first export then needs no previous snapshot). */
bool store_index_may_exist (struct backend *b);
/* store_index_load that also fills base (also when the index is not valid: base then
 * says what to replace). */
int store_index_read (struct backend *b, struct store_index **out, struct store_index_base *base,
                      struct rm_error *err);
/* Write ix as index.json in one put: where the backend offers conditional puts and base
 * is known, only if index.json is still what base says (if_match its etag, or create-only
 * when it was absent).  RM_E_PRECONDITION with err saying another writer committed when
 * it is not; base then describes the index written. */
int store_index_commit (struct backend *b, const struct store_index *ix,
                        struct store_index_base *base, struct rm_error *err);
/* The same with the index's text (store_index_to_json) at hand. */
int store_index_commit_text (struct backend *b, const char *text, struct store_index_base *base,
                             struct rm_error *err);

/* The digest that names a record and that the index keeps as its "sha256": the SHA-256
 * of the release JSON, or on an encrypted store (backend_seal) its HMAC-SHA256 under the
 * address subkey, so that the names of records do not tell the store which records are
 * equal to a guess.  64 lowercase hex digits. */
void store_digest_hex (struct backend *b, const void *data, size_t len, char out[65]);

/* gzip json and put it under rec->key (when NULL: set to store_record_key_sha of the
 * record); sets rec->size, stored_size and sha256.  RM_E_INVALID for a release JSON of
 * more than STORE_RECORD_MAX bytes. */
int store_put_record (struct backend *b, struct store_record *rec, const char *json, size_t len,
                      struct rm_error *err);
/* The same with gzip bytes the caller already has (Helm's own, which inflate to json).
 * For both, a rec->sha256 already set is taken as json's (the caller hashed it to
 * compare with the index); an empty one is computed. */
int store_put_record_gz (struct backend *b, struct store_record *rec, const char *json,
                         size_t len, const void *gz, size_t gz_len, struct rm_error *err);
/* Get, gunzip (at most STORE_RECORD_MAX bytes, whatever rec->size says) and verify
 * against rec->sha256/size; json receives the release JSON. */
int store_get_record (struct backend *b, const struct store_record *rec, struct strbuf *json,
                      struct rm_error *err);

/* The manager's own identity (the original tool's rlsmgrstate.json). */
struct store_state {
  char *release;           /* the Helm release the exporting manager runs as, or NULL */
  char *namespace;
  char *path;              /* the --path it writes to */
  char *backend;           /* backend name */
};
int store_state_load (struct backend *b, struct store_state *st, struct rm_error *err);
int store_state_save (struct backend *b, const struct store_state *st, struct rm_error *err);
void store_state_free (struct store_state *st);

#endif
