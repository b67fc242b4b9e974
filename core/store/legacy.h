/* The original Go tool's store (logicmonitor/k8s-release-manager, its Helm 3 version),
 * read in one place for import, list and clear.  It keeps one file per stored release
 * revision directly under --path, and no index:
 *
 *   NAME-VERSION-S.release   the release JSON exactly as Helm's json.Marshal wrote it,
 *                            uncompressed (S: a second of the last deployment; older
 *                            versions write NAME-VERSION.release)
 *   rlsmgrstate.json         {"ReleaseFilename": ..., "ReleaseName": ..., "ReleaseVersion": N}
 *
 * Its state file is read by store_state_load, which knows both field spellings. */
#ifndef RM_STORE_LEGACY_H
#define RM_STORE_LEGACY_H

#include <stdbool.h>

#include "backend_wrap.h"
#include "base/util.h"
#include "store/store.h"

#define STORE_LEGACY_EXT ".release"

/* Fill r's namespace, release, revision, status, chart, chart_version, app_version and
 * updated from one record's release JSON, or return a code with err saying why it is
 * not a Helm 3 release.  The store sits below the Helm codec and never parses a release
 * itself: readers of a legacy store pass the codec's reader (imp_describe_record). */
typedef int (*store_describe_fn) (const char *json, size_t len, const char *key,
                                  struct store_record *r, struct rm_error *err);

/* Whether key names a record of the original tool: directly under --path,
 * NAME-VERSION[-S].release. */
bool store_legacy_key (const char *key);

/* Every key of a legacy store, for clear: its .release files in listing order, then the
 * state file when there is one.  RM_E_NOT_FOUND (keys untouched) when the store holds
 * no .release file: a state file alone does not make a legacy store. */
int store_legacy_keys (struct backend *b, struct strlist *keys, struct rm_error *err);

/* An index built from the original tool's files: each one read and parsed (namespace,
 * name, revision, status, chart and last deployment come from the release JSON; the
 * file name only says which keys are releases); key, size and sha256 are the file's.
 * Files that are not a release are not in the index: "KEY: why" goes to bad.  When two
 * files hold the same revision of a release, the one deployed last wins (with a
 * warning).  Sorted like store_index_sort.  RM_E_NOT_FOUND when there are no such
 * files. */
int store_legacy_load (struct backend *b, store_describe_fn describe,
                       struct store_index **out, struct strlist *bad, struct rm_error *err);

/* What a reader of the store sees: the snapshot's index.json or, without one, the
 * original tool's files as an index (*legacy set, unreadable files in bad).
 * RM_E_NOT_FOUND when the store holds neither; other codes with err filled. */
int store_legacy_load_any (struct backend *b, store_describe_fn describe,
                           struct store_index **out, bool *legacy, struct strlist *bad,
                           struct rm_error *err);

/* One legacy file's release JSON: the file as is (gunzipped, should someone have
 * compressed it). */
int store_legacy_read (struct backend *b, const char *key, struct strbuf *json,
                       struct rm_error *err);
/* The same for a record of store_legacy_load's index, checked against the sha256 read
 * when listing (RM_E_IO when the file changed since). */
int store_legacy_get (struct backend *b, const struct store_record *rec, struct strbuf *json,
                      struct rm_error *err);

#endif
