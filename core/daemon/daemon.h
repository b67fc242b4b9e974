/* `export --daemon` (issue 13): one full export, then WATCH release Secrets and
 * ConfigMaps and export each burst of changes as one snapshot, a resync every polling
 * interval, errors retried with backoff, /healthz /readyz /releases /metrics served, and,
 * with several replicas, one leader elected with a Lease writes. */
#ifndef RM_DAEMON_DAEMON_H
#define RM_DAEMON_DAEMON_H

#include <stdbool.h>

#include "backend_wrap.h"
#include "export/export.h"
#include "kube/kube.h"

struct daemon_opts {
  struct export_opts export;     /* the engine's options (lock: set by the daemon) */
  long polling_interval_ms;      /* between resyncs */
  const char *listen;            /* the HTTP server's address (http_addr_parse) */
  unsigned unhealthy_after;      /* /healthz fails after this many failed cycles in a row */
  bool write;                    /* take the store lock (not a dry run) */
  const char *cluster_uid;       /* kube-system's uid, recorded in the lock; may be NULL */
  bool leader_elect;             /* contend for the Lease below; only its holder writes */
  bool leader_elect_given;       /* asked for explicitly: a Lease we may not read is then
                                    an error retried, not a reason to run alone */
  const char *lease_name, *lease_namespace;
  long lease_duration_ms, renew_deadline_ms, retry_period_ms;
  const char *config_file;       /* for SIGHUP's message; may be NULL */
  /* SIGHUP: read the configuration again.  Returns the options to run with from the next
   * cycle (valid until daemon_run returns; what needs a restart keeps its value), or
   * NULL to keep the current ones (the callback logged why).  NULL: SIGHUP is logged
   * and ignored. */
  const struct daemon_opts *(*reload) (void *ud);
  void *reload_ud;
};

/* Run until SIGTERM or SIGINT: then stop watching, finish and commit the batch in
 * flight, release the Lease and the store lock, and return 0.  Errors of the cluster or
 * the store never end it; only a failure to start (the listen address, the Lease
 * options) returns non-zero, with err filled. */
int daemon_run (struct backend *b, struct kube_client *kc, const struct daemon_opts *o,
                struct rm_error *err);

#endif
