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
  RMM_CHANGE_LATENCY,      /* histogram: API server accepted a change -> the index lists it */
  RMM_ERRORS,              /* counter {kind}: the kinds in rmm_error_kinds, touched at 0 */
  RMM_API_REQUESTS,        /* counter {operation = list | get | watch | lease_get |
                              lease_create | lease_update, result = ok | error} */
  RMM_BACKEND_REQUESTS,    /* counter {operation = put | get | list | delete | stat | sync,
                              result = ok | error} */
  RMM_WATCH_RESTARTS,      /* counter {reason = gone | dropped | error} */
  RMM_LEADER,              /* gauge: 1 while this replica holds the Lease, else 0 */
  RMM_FAILED_CYCLES,       /* gauge: consecutive failed sync cycles (/healthz's input) */
  RMM_COUNT
};

/* The values of RMM_ERRORS's kind label, NULL-terminated: api (Kubernetes API failures),
 * backend (storage failures), record (a corrupt release record, skipped), commit (an
 * index commit refused or failed), lease (leader election), config (a SIGHUP reload). */
extern const char *const rmm_error_kinds[];

/* A registry holding every metric above, RMM_BUILD_INFO set to 1 for this build. */
struct metrics *rmmetrics_new (void);

#endif
