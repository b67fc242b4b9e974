/* The storage layout on top of a backend (DESIGN.md section 3): record keys, the
 * snapshot index written last, and the manager's state file.  Keys are relative to the
 * user's --path; the backend wrapper applies that prefix.
 *
 *   releases/<namespace>/<release>/<revision>.json.gz   one Helm release record each
 *   index.json                                          the snapshot, written LAST
 *   rlsmgrstate.json                                    the manager's own identity
 *
 * A record is the release JSON byte-for-byte as Helm stored it, gzip-compressed.  The
 * index lists each record with the SHA-256 of that JSON, so export skips unchanged
 * records and import verifies what it reads. */
#ifndef RM_STORE_H
#define RM_STORE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "backend_wrap.h"
#include "base/util.h"

#define STORE_INDEX_KEY "index.json"
#define STORE_STATE_KEY "rlsmgrstate.json"
#define STORE_RELEASES_PREFIX "releases/"
#define STORE_INDEX_API "releasemanager.io/v1"
#define STORE_INDEX_KIND "Snapshot"

struct store_record {
  char *key;               /* releases/ns/name/rev.json.gz */
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

/* "releases/NS/NAME/REV.json.gz"; caller frees. */
char *store_record_key (const char *namespace, const char *release, int revision);

struct store_record *store_index_add (struct store_index *ix);   /* zeroed, owned by ix */
/* Deep copy into one allocation (dst's previous contents are not freed) and release of
 * one record. */
void store_record_copy (struct store_record *dst, const struct store_record *src);
void store_record_clear (struct store_record *r);
/* Sort by namespace, release, revision (the order of keys in the store). */
void store_index_sort (struct store_index *ix);
/* The first record whose key is key, or NULL: O(log n) on a sorted index whose
 * releases/ keys are store_record_key of their record (as the reader checks), else a
 * scan.  Adding a record unsorts the index. */
const struct store_record *store_index_find (const struct store_index *ix, const char *key);
void store_index_free (struct store_index *ix);
/* Whether the two say the same in index.json (every field; how a string is allocated
 * does not matter), record by record and in order; with no text built, unlike comparing
 * store_index_to_json of both. */
bool store_record_same (const struct store_record *a, const struct store_record *b);
bool store_index_same_records (const struct store_index *a, const struct store_index *b);

/* JSON text of the index; caller frees. */
char *store_index_to_json (const struct store_index *ix);
/* Parse and validate into *out (the caller's): RM_OK, or RM_E_IO with *out NULL and err
 * naming what is wrong. */
int store_index_from_json (const char *text, size_t len, struct store_index **out,
                           struct rm_error *err);

/* Read index.json.  RM_E_NOT_FOUND when there is no snapshot; RM_E_IO with a message
 * when it is not a valid index. */
int store_index_load (struct backend *b, struct store_index **out, struct rm_error *err);
int store_index_save (struct backend *b, const struct store_index *ix, struct rm_error *err);

/* gzip json and put it under rec->key; sets rec->size, stored_size and sha256. */
int store_put_record (struct backend *b, struct store_record *rec, const char *json, size_t len,
                      struct rm_error *err);
/* The same with gzip bytes the caller already has (Helm's own, which inflate to json).
 * For both, a rec->sha256 already set is taken as json's (the caller hashed it to
 * compare with the index); an empty one is computed. */
int store_put_record_gz (struct backend *b, struct store_record *rec, const char *json,
                         size_t len, const void *gz, size_t gz_len, struct rm_error *err);
/* Get, gunzip and verify against rec->sha256/size; json receives the release JSON. */
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
