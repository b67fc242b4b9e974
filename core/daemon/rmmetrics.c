/* The daemon's metric definitions (rmmetrics.h): one table in enum order, registered
 * into a fresh registry.  Names follow Prometheus' conventions: a releasemanager_ prefix,
 * base units (seconds, bytes), _total on counters, _info for the build's labels. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "daemon/rmmetrics.h"
#include "kube/kube.h"

/* Seconds: a sync is a LIST and a few writes (tens of ms) up to a full export of
 * thousands of releases (minutes). */
static const double sync_buckets[] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300
};
/* Seconds: the target is under 1 s, the original tool's was one polling interval (30 s). */
static const double latency_buckets[] = {
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30, 60
};

static const struct metric_desc rmm_descs[RMM_COUNT] = {
  [RMM_BUILD_INFO] = { "releasemanager_build_info",
    "Always 1; the labels name the releasemanager version and the backend ABI it provides",
    METRIC_GAUGE, { "version", "abi", NULL }, NULL, 0 },
  [RMM_STORE_RECORDS] = { "releasemanager_store_records",
    "Release records listed in the store's committed index", METRIC_GAUGE, { NULL }, NULL, 0 },
  [RMM_STORE_BYTES] = { "releasemanager_store_bytes",
    "Stored (compressed) bytes of the release records in the committed index",
    METRIC_GAUGE, { NULL }, NULL, 0 },
  [RMM_LAST_SYNC] = { "releasemanager_last_successful_sync_timestamp_seconds",
    "Unix time at which the last successful sync with the cluster finished",
    METRIC_GAUGE, { NULL }, NULL, 0 },
  [RMM_SYNC_DURATION] = { "releasemanager_sync_duration_seconds",
    "Duration of a sync: the first full export, a periodic resync, or a batch of watched changes",
    METRIC_HISTOGRAM, { "kind", NULL }, sync_buckets, ARRAY_SIZE (sync_buckets) },
  [RMM_CHANGE_LATENCY] = { "releasemanager_change_to_backup_latency_seconds",
    "Seconds from the daemon receiving the watch event of a release change (the first of its "
    "batch) to the store's committed index listing it; the API server's acceptance time is not "
    "known finer than creationTimestamp's whole seconds, so it is not the start",
    METRIC_HISTOGRAM, { NULL }, latency_buckets, ARRAY_SIZE (latency_buckets) },
  [RMM_ERRORS] = { "releasemanager_errors_total",
    "Errors by kind (api, backend, record, commit, lease, config); the daemon retries or skips",
    METRIC_COUNTER, { "kind", NULL }, NULL, 0 },
  [RMM_API_REQUESTS] = { "releasemanager_api_requests_total",
    "Kubernetes API requests (HTTP exchanges, retries included) of the daemon and its export "
    "cycles, by operation (the Kubernetes verb; lease_VERB for the leader Lease) and result "
    "(ok, not_found, conflict, cancelled, error)",
    METRIC_COUNTER, { "operation", "result", NULL }, NULL, 0 },
  [RMM_BACKEND_REQUESTS] = { "releasemanager_backend_requests_total",
    "Storage backend operations of the daemon and its export cycles, by operation (put, get, "
    "stat, list, delete, sync) and result (ok, not_found, error)",
    METRIC_COUNTER, { "operation", "result", NULL }, NULL, 0 },
  [RMM_WATCH_RESTARTS] = { "releasemanager_watch_restarts_total",
    "Watches of release Secrets or ConfigMaps started again, by reason (gone, dropped, error)",
    METRIC_COUNTER, { "reason", NULL }, NULL, 0 },
  [RMM_LEADER] = { "releasemanager_leader",
    "1 while this replica holds the leader Lease and writes the store, else 0",
    METRIC_GAUGE, { NULL }, NULL, 0 },
  [RMM_FAILED_CYCLES] = { "releasemanager_consecutive_failed_cycles",
    "Sync cycles failed in a row; /healthz fails from --unhealthy-after on",
    METRIC_GAUGE, { NULL }, NULL, 0 },
  [RMM_API_BYTES] = { "releasemanager_api_received_bytes_total",
    "Response body bytes received from the Kubernetes API, counted after gzip decoding",
    METRIC_COUNTER, { NULL }, NULL, 0 },
};

const char *const rmm_error_kinds[] = {
  "api", "backend", "record", "commit", "lease", "config", NULL
};

struct metrics *
rmmetrics_new (void)
{
  struct metrics *m = metrics_new ();
  for (int i = 0; i < RMM_COUNT; i++) {
    struct rm_error err = { 0, "" };
    if (metrics_register (m, &rmm_descs[i], &err) != i) {
      /* The table is constant: only a programming error gets here. */
      log_error ("%s", err.message);
      abort ();
    }
  }
  char abi[32];
  snprintf (abi, sizeof abi, "%d.%d", RM_BACKEND_ABI_MAJOR, RM_BACKEND_ABI_MINOR);
  metrics_set (m, RMM_BUILD_INFO, (const char *[]) { PACKAGE_VERSION, abi, NULL }, 1);
  for (size_t i = 0; rmm_error_kinds[i]; i++)
    metrics_touch (m, RMM_ERRORS, (const char *[]) { rmm_error_kinds[i], NULL });
  for (const char *const *r = (const char *const[]) { "gone", "dropped", "error", NULL }; *r; r++)
    metrics_touch (m, RMM_WATCH_RESTARTS, (const char *[]) { *r, NULL });
  return m;
}

void
rmmetrics_observe_kube (void *ud, const char *verb, const char *resource, int rc,
                        unsigned long bytes)
{
  struct metrics *m = ud;
  char op[48];
  snprintf (op, sizeof op, "%s%s", !strcmp (resource, "leases") ? "lease_" : "", verb);
  const char *result = rc == KUBE_OK ? "ok" : rc == KUBE_E_NOT_FOUND ? "not_found"
                       : rc == KUBE_E_CONFLICT ? "conflict" : rc == KUBE_E_ABORTED ? "cancelled"
                       : "error";
  metrics_add (m, RMM_API_REQUESTS, (const char *[]) { op, result, NULL }, 1);
  if (bytes)
    metrics_add (m, RMM_API_BYTES, NULL, (double) bytes);
}

void
rmmetrics_observe_backend (void *ud, const char *op, int rc)
{
  struct metrics *m = ud;
  const char *result = rc == RM_OK ? "ok" : rc == RM_E_NOT_FOUND ? "not_found" : "error";
  metrics_add (m, RMM_BACKEND_REQUESTS, (const char *[]) { op, result, NULL }, 1);
}
