/* The daemon's metrics (issue 13): their names, help texts, labels and buckets, defined
 * once so that the daemon only updates them.  rmmetrics_new() registers them all in this
 * order, so an enum value is the metric's id in the registry:
 *   metrics_add (m, RMM_ERRORS, (const char *[]) { "backend", NULL }, 1);
 *   metrics_observe (m, RMM_SYNC_DURATION, (const char *[]) { "resync", NULL }, secs);
 * Label values the daemon is expected to use are listed with each metric. */
#ifndef RM_DAEMON_RMMETRICS_H
#define RM_DAEMON_RMMETRICS_H

#include "daemon/metrics.h"

enum rmm_id {
  RMM_BUILD_INFO,          /* gauge 1 {version, abi}: set by rmmetrics_new */
  RMM_STORE_RECORDS,       /* gauge: release records in the committed index */
  RMM_STORE_BYTES,         /* gauge: their stored (compressed) bytes */
  RMM_LAST_SYNC,           /* gauge: Unix time of the last successful sync */
  RMM_SYNC_DURATION,       /* histogram {kind = full | resync | batch} */
  RMM_CHANGE_LATENCY,      /* histogram: a change's watch event received -> the index lists
                              it (the API server's acceptance time has second resolution) */
  RMM_ERRORS,              /* counter {kind}: the kinds in rmm_error_kinds, touched at 0 */
  RMM_API_REQUESTS,        /* counter {operation = list | get | watch | create | ... |
                              lease_get | lease_create | lease_update, result = ok |
                              not_found | conflict | cancelled | error}: every exchange of
                              the daemon's kube client (rmmetrics_observe_kube) */
  RMM_BACKEND_REQUESTS,    /* counter {operation = put | get | list | delete | stat | sync,
                              result = ok | not_found | error}: every operation of its
                              backend (rmmetrics_observe_backend) */
  RMM_WATCH_RESTARTS,      /* counter {reason = gone | dropped | error} */
  RMM_LEADER,              /* gauge: 1 while this replica holds the Lease, else 0 */
  RMM_FAILED_CYCLES,       /* gauge: consecutive failed sync cycles (/healthz's input) */
  RMM_API_BYTES,           /* counter: response body bytes from the API (decoded) */
  RMM_COUNT
};

/* The values of RMM_ERRORS's kind label, NULL-terminated: api (Kubernetes API failures),
 * backend (storage failures), record (a corrupt release record, skipped), commit (an
 * index commit refused or failed), lease (leader election), config (a SIGHUP reload). */
extern const char *const rmm_error_kinds[];

/* A registry holding every metric above, RMM_BUILD_INFO set to 1 for this build. */
struct metrics *rmmetrics_new (void);

/* Observers counting into RMM_API_REQUESTS and RMM_API_BYTES, and RMM_BACKEND_REQUESTS:
 * ud is the registry.  The daemon installs them on its client and backend
 * (kube_client_set_observer, backend_set_observer), so the engine's requests are counted
 * too, without the lower layers knowing of metrics. */
void rmmetrics_observe_kube (void *ud, const char *verb, const char *resource, int rc,
                             unsigned long bytes);
void rmmetrics_observe_backend (void *ud, const char *op, int rc);

#endif
