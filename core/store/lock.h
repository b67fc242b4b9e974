/* One writer per store: a lease held in the object lock.json at the store root (next to
 * index.json).  A writing verb (export, clear, verify --repair) acquires it before its
 * first write, calls store_lock_check right before it commits, and releases it at the
 * end; read-only verbs and dry runs take no lock.
 *
 * Where the backend advertises RM_CAP_CONDITIONAL_PUT the lock is created with
 * RM_PUT_IF_NONE_MATCH and renewed and taken over with if_match, so two writers can
 * never both hold it.  Elsewhere it is advisory: a put, then a read-back of the id.
 * A holder that dies leaves the lock behind: the next run on the same host takes it over
 * at once (the pid is gone), any other after the lease expires. */
#ifndef RM_STORE_LOCK_H
#define RM_STORE_LOCK_H

#include "backend_wrap.h"
#include "base/error.h"

#define STORE_LOCK_KEY "lock.json"
#define STORE_LOCK_KIND "Lock"
/* The lease, in seconds.  A holder renews it every third of this; a run that cannot
 * renew for two thirds of it stops before its commit (store_lock_check). */
#define STORE_LOCK_TTL 60

/* Extended codes (the store's block, from its top end). */
#define STORE_E_LOCKED     ERR_EXT (RM_E_EXISTS, 0x3e)        /* another writer holds it */
#define STORE_E_LOCK_LOST  ERR_EXT (RM_E_PRECONDITION, 0x3f)  /* ours was taken or expired */

struct store_lock_opts {
  const char *command;     /* the verb, recorded for whoever finds the lock: "export" */
  const char *cluster;     /* kube-system UID of the cluster, or NULL */
  double timeout;          /* seconds to wait for a held lock; 0: fail at once */
  int ttl;                 /* the lease in seconds; 0: STORE_LOCK_TTL */
  /* Called (when not NULL) each time the lock was found held and the caller is about to
   * wait, with what store_lock_acquire would fail with; for tests and progress. */
  void (*on_wait) (void *opaque, const struct rm_error *held);
  void *opaque;
};

struct store_lock;

/* Acquire the lock of the store b (b must outlive the lock).  RM_OK with *out the held
 * lock and its renewal thread started.  STORE_E_LOCKED when another writer holds it past
 * the timeout: err names the holder (host, pid, user, command, since, until) and what to
 * do.  Any other error is the backend's, err filled. */
int store_lock_acquire (struct backend *b, const struct store_lock_opts *o,
                        struct store_lock **out, struct rm_error *err);

/* May the holder commit now?  RM_OK, or STORE_E_LOCK_LOST with err saying why: the lock
 * was taken over or removed (a renewal found it changed), or the lease ends within a
 * third of the TTL because renewals keep failing.  Costs no backend call. */
int store_lock_check (struct store_lock *l, struct rm_error *err);

/* Renew the lease now (the renewal thread does this every TTL/3): RM_OK, or
 * STORE_E_LOCK_LOST when the stored lock is no longer ours (later checks fail too), or
 * the backend's error (a later renewal retries). */
int store_lock_renew (struct store_lock *l, struct rm_error *err);

/* Stop renewing, remove lock.json if it is still ours, and free l (NULL is fine).
 * RM_OK, or an error (err filled) when it could not be removed: the lease then expires
 * on its own. */
int store_lock_release (struct store_lock *l, struct rm_error *err);

/* --lock-timeout: "0", "90" (seconds), "30s", "5m", "1h", "1m30s", "500ms".  RM_OK with *seconds,
 * or RM_E_INVALID with err's message the reason, to follow "'TEXT' ". */
int store_lock_parse_timeout (const char *text, double *seconds, struct rm_error *err);

#endif
