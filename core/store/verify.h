/* Checking a stored snapshot against its index (`releasemanager verify`): each record the
 * index lists is read and checked, on worker threads, and the keys under releases/ that
 * no index entry lists are found.  Only the index entries' key, size, stored_size and
 * sha256 are trusted, never a key scheme, and a record inflates under a fixed cap. */
#ifndef RM_STORE_VERIFY_H
#define RM_STORE_VERIFY_H

#include <stdbool.h>

#include "store/legacy.h"
#include "store/store.h"

/* The most release JSON a record may inflate to, whatever its index entry says: the
 * store's own cap where store.h has one, else Helm's decoder cap (HELM_DEFAULT_MAX_DECODED). */
#ifdef STORE_RECORD_MAX
#define STORE_VERIFY_MAX_JSON ((size_t) STORE_RECORD_MAX)
#else
#define STORE_VERIFY_MAX_JSON ((size_t) 256 << 20)
#endif

enum store_problem {
  STORE_PROBLEM_NONE = 0,
  STORE_PROBLEM_MISSING,       /* no object under the key */
  STORE_PROBLEM_UNREADABLE,    /* the backend failed to read it */
  STORE_PROBLEM_DAMAGED,       /* read, but not what the index says */
};

/* What one record's check found. */
struct store_check {
  enum store_problem problem;
  struct strlist why;          /* each finding, without the key: "sha256 mismatch: index
                                  says X, record has Y" */
};

/* Read rec->key and check: it exists; its size is rec->stored_size (when the index has
 * one); it gunzips within STORE_VERIFY_MAX_JSON; the JSON's size and SHA-256 are
 * rec->size and rec->sha256; and describe (the Helm codec's reader, which the store
 * does not call itself) finds the namespace, release and revision of the entry in it.
 * out is the caller's (zero it, store_check_free it). */
void store_check_record (struct backend *b, const struct store_record *rec,
                         store_describe_fn describe, struct store_check *out);
void store_check_free (struct store_check *c);

/* store_check_record for every record of ix on up to threads threads (as many as the
 * backend allows); out[i] is the check of ix->records[i]. */
void store_check_all (struct backend *b, const struct store_index *ix, store_describe_fn describe,
                      unsigned threads, struct store_check *out);

/* Keys listed twice in ix (each once) into dups, and keys under releases/ that ix does
 * not list into unreferenced, in listing order.  The listing's failure is returned with
 * err filled (the lists then hold what was found). */
int store_check_keys (struct backend *b, const struct store_index *ix, struct strlist *dups,
                      struct strlist *unreferenced, struct rm_error *err);

/* Put back the record of rec from a release JSON read elsewhere (the cluster) whose
 * size and SHA-256 are rec's: gz (its source's own gzip, NULL when it has none) as it
 * is, else json compressed, as an export stores it.  RM_E_INVALID when json is not
 * rec's content; the put's code otherwise. */
int store_repair_record (struct backend *b, const struct store_record *rec, const char *json,
                         size_t len, const void *gz, size_t gz_len, struct rm_error *err);

#endif
