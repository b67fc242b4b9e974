/* The daemon's metric definitions (rmmetrics.h): one table in enum order, registered
 * into a fresh registry.  Names follow Prometheus' conventions: a releasemanager_ prefix,
 * base units (seconds, bytes), _total on counters, _info for the build's labels. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "daemon/rmmetrics.h"

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
    "Time from the API server accepting a release change to the store's index listing it",
    METRIC_HISTOGRAM, { NULL }, latency_buckets, ARRAY_SIZE (latency_buckets) },
  [RMM_ERRORS] = { "releasemanager_errors_total",
    "Errors by kind (api, backend, record, commit, lease, config); the daemon retries or skips",
    METRIC_COUNTER, { "kind", NULL }, NULL, 0 },
  [RMM_API_REQUESTS] = { "releasemanager_api_requests_total",
    "Kubernetes API requests by operation and result",
    METRIC_COUNTER, { "operation", "result", NULL }, NULL, 0 },
  [RMM_BACKEND_REQUESTS] = { "releasemanager_backend_requests_total",
    "Storage backend requests by operation and result",
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
