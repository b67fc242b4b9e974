/* The Kubernetes client: configuration resolved the way kubectl resolves it (kubeconfig
 * files merged by kubectl's rules, or the in-cluster service account), credentials
 * (tokens, token files, client certificates, basic auth, exec plugins), and an HTTP layer
 * on libcurl (one connection pool, keep-alive, HTTP/2, gzip, retries with backoff,
 * Status errors) with LIST/GET/POST/PUT/PATCH/DELETE and WATCH on top.
 *
 * Errors: every call returns a KUBE_* code (an extended code of base/error.h) and fills a
 * caller-owned struct rm_error whose message is ready for a user ("Forbidden: secrets is
 * forbidden: User \"x\" cannot list resource \"secrets\" ... (check the RBAC of your kubeconfig user)").  Nothing
 * here prints, except debug logging, and no code here exits.
 *
 * Threads: a struct kube_client may be used by many threads at once; connections, DNS
 * and TLS sessions are shared.  A kube_config is read-only once loaded. */
#ifndef RM_KUBE_H
#define RM_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"

/* Result codes: extended codes of the core's one convention (base/error.h), block
 * 0x10-0x1f; rm_primary() gives the RM_E_* code.  Never renumber; append. */
enum kube_code {
  KUBE_OK = 0,
  /* No usable kubeconfig / in-cluster configuration. */
  KUBE_E_CONFIG = ERR_EXT (RM_E_CONFIG, 0x10),
  /* Credentials unavailable (exec plugin, token file) or HTTP 401. */
  KUBE_E_AUTH = ERR_EXT (RM_E_AUTH, 0x10),
  KUBE_E_FORBIDDEN = ERR_EXT (RM_E_PERMISSION, 0x10),   /* HTTP 403 */
  KUBE_E_NOT_FOUND = ERR_EXT (RM_E_NOT_FOUND, 0x10),    /* HTTP 404 */
  /* HTTP 409 other than AlreadyExists (Conflict: the object changed meanwhile...). */
  KUBE_E_CONFLICT = ERR_EXT (RM_E_EXISTS, 0x10),
  /* HTTP 410 (Expired / Gone): resourceVersion or continue token too old. */
  KUBE_E_GONE = ERR_EXT (RM_E_PRECONDITION, 0x10),
  /* HTTP 400 / 422: the request was refused as malformed. */
  KUBE_E_INVALID = ERR_EXT (RM_E_INVALID, 0x10),
  /* HTTP 429 / 5xx still failing after the retries. */
  KUBE_E_TRANSIENT = ERR_EXT (RM_E_TRANSIENT, 0x10),
  /* Could not connect / connection lost / timed out, after the retries. */
  KUBE_E_NETWORK = ERR_EXT (RM_E_TRANSIENT, 0x11),
  /* TLS handshake or certificate verification failed (a retry will not fix it). */
  KUBE_E_TLS = ERR_EXT (RM_E_IO, 0x10),
  /* The server's answer is not what the API promises (bad JSON, corrupt gzip...). */
  KUBE_E_PROTOCOL = ERR_EXT (RM_E_IO, 0x11),
  KUBE_E_HTTP = ERR_EXT (RM_E_IO, 0x12),                /* any other HTTP status */
  KUBE_E_ABORTED = ERR_EXT (RM_E_ABORTED, 0x10),        /* a callback asked to stop */
  /* HTTP 406 / 415: media type or operation not supported. */
  KUBE_E_UNSUPPORTED = ERR_EXT (RM_E_UNSUPPORTED, 0x10),
  /* HTTP 409 with Status reason AlreadyExists (a create found the name taken). */
  KUBE_E_ALREADY_EXISTS = ERR_EXT (RM_E_EXISTS, 0x11),
};

/* The HTTP status and the Status reason are in the message ("Forbidden: secrets is
 * forbidden: ... (check the RBAC of your kubeconfig user)", "HTTP 502 from GET /x: ...");
 * a caller that must tell them apart compares codes. */

/* The text of a KUBE_* code (err_strerror does the same for every code). */
const char *kube_strerror (int code);

/* ---- configuration (kubeconfig.c, incluster.c; kube_config_free in common.c) ---- */

struct kube_config_opts {
  const char *kubeconfig;         /* --kubeconfig: this file only, it must exist */
  const char *context;            /* --kubecontext: overrides current-context */
  const char *serviceaccount_dir; /* NULL = /var/run/secrets/kubernetes.io/serviceaccount */
};

struct kube_exec {
  char *api_version;       /* client.authentication.k8s.io/v1 or /v1beta1 */
  char *command;           /* resolved against the kubeconfig's directory if it has a '/' */
  struct strlist args;
  struct strlist env;      /* "NAME=VALUE" */
  char *install_hint;
  bool provide_cluster_info;
  char *interactive_mode;  /* Never, IfAvailable, Always */
  char *cluster_config;    /* JSON of the cluster's client.authentication.k8s.io/exec extension */
};

/* A blob read from a *-data field or a file: bytes plus NUL. */
struct kube_blob {
  unsigned char *data;
  size_t len;
};

/* The resolved configuration: one cluster, one user, one namespace.  All owned. */
struct kube_config {
  char *source;            /* for messages: "kubeconfig /a:/b, context x" or "in-cluster" */
  bool in_cluster;
  char *context;           /* context name (NULL in-cluster) */
  char *cluster_name;
  char *user_name;
  char *namespace;         /* context namespace / service account namespace; NULL = unset */

  char *server;            /* scheme://host[:port][/prefix], no trailing '/', and never a
                              user:password@ (kube_server_display): the form shown in
                              messages and stored in the index */
  char *server_url;        /* the server as configured when it has a user:password@ (curl
                              sends it as basic auth, as Go's client does); NULL when
                              server is the whole URL.  Requests only, never shown. */
  char *ca_file;           /* where ca came from (path), NULL for -data */
  struct kube_blob ca;     /* PEM; empty = system trust store */
  bool insecure;           /* insecure-skip-tls-verify */
  char *tls_server_name;
  char *proxy_url;
  bool disable_compression;

  char *token;             /* static bearer token */
  char *token_file;        /* re-read when it changes (wins over token) */
  char *client_cert_file, *client_key_file;   /* for messages */
  struct kube_blob client_cert, client_key;   /* PEM */
  char *username, *password;
  struct kube_exec *exec;
  char *impersonate_user;  /* as */
  char *impersonate_uid;   /* as-uid */
  struct strlist impersonate_groups;  /* as-groups */
};

/* Resolve the configuration like kubectl: opts->kubeconfig, else $KUBECONFIG (a ':' list
 * merged: for clusters, users and contexts the first file defining a name wins;
 * current-context comes from the first file that sets it), else ~/.kube/config, else the
 * in-cluster service account.  Relative paths resolve against the directory of the file
 * that holds them.  Secrets read are registered with log_add_secret.  opts may be NULL.
 * On success *out is the caller's (kube_config_free). */
int kube_config_load (const struct kube_config_opts *opts, struct kube_config **out,
                      struct rm_error *err);
/* The service account's directory in a pod: /var/run/secrets/kubernetes.io/serviceaccount,
 * or, for tests only, $RELEASEMANAGER_SERVICEACCOUNT_DIR (ignored when setuid). */
const char *kube_serviceaccount_dir (void);
/* In-cluster configuration only (what kube_config_load falls back to); a NULL
 * serviceaccount_dir is kube_serviceaccount_dir(). */
int kube_config_in_cluster (const char *serviceaccount_dir, struct kube_config **out,
                            struct rm_error *err);
void kube_config_free (struct kube_config *cfg);

/* ---- client (http.c) ---- */

struct kube_client_opts {
  long connect_timeout_ms;  /* 0 = 10 s */
  long timeout_ms;          /* whole request (not WATCH); 0 = none */
  long stall_timeout_s;     /* abort a transfer that moves no byte for this long; 0 = 60 */
  int max_retries;          /* on 429, 5xx and connection errors; 0 = 5, -1 = none */
  long backoff_base_ms;     /* first delay, doubled each retry, +-25% jitter; 0 = 200 */
  long backoff_max_ms;      /* cap on one delay (Retry-After included); 0 = 30 s */
  long exec_timeout_ms;     /* exec credential plugins; 0 = 60 s */
  const char *user_agent;   /* NULL = releasemanager/VERSION */
};

struct kube_client;

/* Create a client.  It takes ownership of cfg (freed by kube_client_free, also on
 * failure).  opts may be NULL. */
int kube_client_new (struct kube_config *cfg, const struct kube_client_opts *opts,
                     struct kube_client **out, struct rm_error *err);
void kube_client_free (struct kube_client *c);
const struct kube_config *kube_client_config (const struct kube_client *c);

/* Counters, for tests, benchmarks and the daemon's metrics. */
struct kube_stats {
  unsigned long requests;       /* HTTP exchanges, retries included */
  unsigned long retries;
  unsigned long exec_runs;      /* exec credential plugin runs */
  unsigned long bytes_received; /* decoded body bytes */
};
void kube_client_stats (struct kube_client *c, struct kube_stats *out);

/* An observer of every HTTP exchange of a client (each retry is one), for a caller's
 * metrics: called on the thread that made the exchange, once it ended, with the
 * Kubernetes verb of the request (get, list, watch, create, update, patch, delete,
 * deletecollection), the resource its path names ("secrets", "leases"; "" for a path
 * naming none, such as /version), rc (KUBE_OK, else the exchange's error: a KUBE_E_*
 * code; KUBE_E_ABORTED when the caller stopped it) and the body bytes received (as
 * kube_stats counts them: after gzip decoding).  It
 * must be quick and thread-safe.  Set it before the client is shared between threads;
 * fn NULL removes it. */
typedef void (*kube_observer_fn) (void *ud, const char *verb, const char *resource, int rc,
                                  unsigned long bytes);
void kube_client_set_observer (struct kube_client *c, kube_observer_fn fn, void *ud);
/* The verb and resource of a request, as the observer gets them: resource is copied
 * into buf (NUL-terminated, cut to size); returns the verb (a static string). */
const char *kube_request_verb (const char *method, const char *path, char *buf, size_t size);

struct kube_response {
  long status;
  struct strbuf body;
  char *content_type;
};
void kube_response_free (struct kube_response *r);

/* One request.  path begins with '/' and may carry a query ("/api/v1/secrets?limit=5").
 * body may be NULL.  accept NULL = application/json.  Returns KUBE_OK for 2xx, else the
 * error from the server's Status (resp keeps the body either way; resp may be NULL). */
int kube_request (struct kube_client *c, const char *method, const char *path,
                  const char *content_type, const char *body, size_t body_len,
                  const char *accept, struct kube_response *resp, struct rm_error *err);

/* JSON helpers.  *out (may be NULL to discard) is the parsed answer, caller deletes. */
int kube_get (struct kube_client *c, const char *path, cJSON **out, struct rm_error *err);
int kube_create (struct kube_client *c, const char *path, const cJSON *obj, cJSON **out,
                 struct rm_error *err);                       /* POST */
int kube_replace (struct kube_client *c, const char *path, const cJSON *obj, cJSON **out,
                  struct rm_error *err);                      /* PUT */
enum kube_patch {
  KUBE_PATCH_MERGE,       /* application/merge-patch+json */
  KUBE_PATCH_STRATEGIC,   /* application/strategic-merge-patch+json */
  KUBE_PATCH_JSON,        /* application/json-patch+json */
  KUBE_PATCH_APPLY,       /* application/apply-patch+yaml (server-side apply; JSON is YAML) */
};
int kube_patch (struct kube_client *c, const char *path, enum kube_patch type,
                const char *patch, cJSON **out, struct rm_error *err);
int kube_delete (struct kube_client *c, const char *path, const cJSON *options,
                 struct rm_error *err);                       /* options: DeleteOptions */

/* API paths.  group_version is "v1" (core, under /api) or "group/version" (under /apis);
 * ns and name may be NULL.  Each part is percent-encoded.  Caller frees. */
/* url without its user:password@ ("https://u:p@h:6443/x" -> "https://h:6443/x"): what a
 * message, a log line or the index may show of a server or proxy URL.  Caller frees. */
char *kube_server_display (const char *url);

char *kube_path (const char *group_version, const char *ns, const char *resource,
                 const char *name);
/* Percent-encode for a query value.  Caller frees. */
char *kube_escape (const char *s);

/* ---- LIST (list.c) and WATCH (watch.c) ---- */

struct kube_list_opts {
  const char *label_selector;
  const char *field_selector;
  unsigned limit;           /* page size; 0 = 500 */
  bool metadata_only;       /* ask for PartialObjectMetadataList (falls back to full) */
};

struct kube_list_info {
  char *resource_version;   /* of the list, for a WATCH that follows; caller frees */
  bool metadata_only;       /* the server sent PartialObjectMetadata items */
  unsigned long items;
  unsigned pages;
  unsigned restarts;        /* times the list restarted after 410 on continue */
};

/* Called for each item; the item belongs to the page (copy what you keep).  Return 0 to
 * go on, anything else to stop (kube_list then returns KUBE_E_ABORTED). */
typedef int (*kube_item_fn) (void *ud, const cJSON *item);
/* Called when the list starts over after its continue token expired (410): forget the
 * items seen so far.  May be NULL when the caller collects nothing. */
typedef void (*kube_restart_fn) (void *ud);

/* LIST path (a collection, no query) page by page with limit and continue. */
int kube_list (struct kube_client *c, const char *path, const struct kube_list_opts *opts,
               kube_item_fn item, kube_restart_fn restart, void *ud,
               struct kube_list_info *info, struct rm_error *err);
/* The same, but each item is detached from its page before the callback, which owns it
 * then (cJSON_Delete it; cast the const away), whatever it returns: keeping an object
 * costs no copy. */
int kube_list_owned (struct kube_client *c, const char *path, const struct kube_list_opts *opts,
                     kube_item_fn item, kube_restart_fn restart, void *ud,
                     struct kube_list_info *info, struct rm_error *err);
void kube_list_info_free (struct kube_list_info *info);

/* The event types a WATCH hands to its callback.  An ERROR event is not handed over: it
 * ends the watch and becomes its result (410 Expired: KUBE_E_GONE). */
enum kube_watch_type { KUBE_WATCH_ADDED, KUBE_WATCH_MODIFIED, KUBE_WATCH_DELETED,
                       KUBE_WATCH_BOOKMARK };
/* One event, as soon as its line is complete; the object belongs to the event (copy what
 * you keep).  A BOOKMARK's object has only metadata.resourceVersion (and annotations).
 * Return 0 to go on watching, anything else to stop (kube_watch returns KUBE_E_ABORTED). */
typedef int (*kube_watch_fn) (void *ud, enum kube_watch_type type, const cJSON *object);

struct kube_watch_opts {
  const char *label_selector;
  const char *resource_version;   /* from kube_list_info or the last watch; NULL = from now */
  long timeout_seconds;           /* server-side timeout; 0 = server default */
  bool bookmarks;                 /* allowWatchBookmarks */
  /* Appended for the daemon: */
  const char *field_selector;
  /* Polled before each event and about once a second while the stream is idle (and
   * between retries of the request): true ends the watch (KUBE_E_ABORTED).  It may read a
   * flag a signal handler or another thread sets.  NULL = never. */
  bool (*stop) (void *stop_ud);
  void *stop_ud;
  /* The longest event line accepted; a longer one ends the watch with KUBE_E_PROTOCOL
   * ("an event of N bytes is over the limit of M bytes").  0 = 16 MiB.  Only the event
   * being received is ever held in memory. */
  size_t max_event_bytes;
};

/* WATCH path (a collection, no query).  *last_rv (if last_rv is not NULL; caller frees)
 * is the resourceVersion of the last event seen, bookmarks included, else
 * opts->resource_version: where the next watch starts.  The result says what to do next:
 *   KUBE_OK           the server ended the stream (timeoutSeconds): watch again from *last_rv;
 *   KUBE_E_NETWORK    the connection failed or dropped: back off, watch again from *last_rv;
 *   KUBE_E_GONE       410 Gone / Expired (HTTP status or ERROR event): the resourceVersion is
 *                     too old: LIST again and watch from the list's resourceVersion;
 *   KUBE_E_ABORTED    the callback or opts->stop asked to stop;
 *   KUBE_E_PROTOCOL   a malformed or oversized event;
 *   anything else     as kube_request (401, 403, ...).
 * The request itself is retried (5xx, 429, connection refused) as any GET, but never once
 * an event has arrived. */
int kube_watch (struct kube_client *c, const char *path, const struct kube_watch_opts *opts,
                kube_watch_fn fn, void *ud, char **last_rv, struct rm_error *err);

/* The identity of an object, a WATCH event's or a metadata-only LIST item's: pointers into
 * obj (valid while it is), NULL where a field is missing.  False when obj has no metadata. */
struct kube_meta {
  const char *name, *namespace, *uid, *resource_version;
  const cJSON *labels;            /* the labels object, or NULL */
};
bool kube_object_meta (const cJSON *obj, struct kube_meta *out);
/* A label's value, or NULL. */
const char *kube_meta_label (const struct kube_meta *m, const char *key);

/* ---- leader election (lease.c) ---- */

/* Options of one contender for a coordination.k8s.io/v1 Lease (client-go's
 * LeaderElectionConfig).  Durations in ms; the Lease records whole seconds. */
struct kube_lease_opts {
  const char *namespace, *name;   /* the Lease (required) */
  const char *identity;           /* this contender's holderIdentity (required, unique) */
  long lease_duration_ms;   /* others wait this long after the last change they saw; 0 = 15 s */
  long renew_deadline_ms;   /* the leader stops when it could not renew for this long; 0 = 10 s */
  long retry_period_ms;     /* between attempts; 0 = 2 s */
  /* A monotonic clock in ms for every decision; NULL = CLOCK_MONOTONIC.  Tests pass
   * their own to step time.  (acquireTime/renewTime are written from the real clock but
   * never read back for a decision.) */
  long long (*clock) (void *clock_ud);
  void *clock_ud;
  /* Tests: called between reading the Lease and writing it back, so that a test can
   * make another contender write first (a real 409 Conflict).  NULL in production. */
  void (*before_update) (void *clock_ud);
};

struct kube_lease;
/* A contender; nothing is sent yet.  The client must outlive it.  KUBE_E_INVALID when a
 * name is missing or the durations do not satisfy lease > renew deadline > 1.2 x retry. */
int kube_lease_new (struct kube_client *c, const struct kube_lease_opts *opts,
                    struct kube_lease **out, struct rm_error *err);
void kube_lease_free (struct kube_lease *l);

/* One attempt to acquire or renew (client-go's tryAcquireOrRenew): the leader renews what
 * it wrote last; otherwise the Lease is read (created when absent, as ours) and taken when
 * it has no holder or this contender saw it unchanged for its leaseDurationSeconds.  Every
 * write carries the resourceVersion read.  *leading (may be NULL) says whether we hold it
 * now.  KUBE_OK when the attempt came to a decision; KUBE_E_CONFLICT when another
 * contender wrote first (the next attempt reads again); other errors as kube_request. */
int kube_lease_try (struct kube_lease *l, bool *leading, struct rm_error *err);
/* Give the Lease up if we hold it: holder "", leaseDurationSeconds 1 (client-go's
 * ReleaseOnCancel), so another contender takes it within a second. */
int kube_lease_release (struct kube_lease *l, struct rm_error *err);
/* Thread-safe: whether this contender leads (as of its last attempt); the holder it saw
 * last ("" = none; caller frees); the leaseTransitions it saw last. */
bool kube_lease_leading (const struct kube_lease *l);
char *kube_lease_holder (struct kube_lease *l);
long kube_lease_transitions (const struct kube_lease *l);

struct kube_lease_callbacks {
  void (*started_leading) (void *ud);
  void (*stopped_leading) (void *ud);    /* lost, or released on stop */
  void (*new_leader) (void *ud, const char *identity);  /* each new holder seen */
  bool (*stop) (void *ud);               /* polled every 50 ms and after each attempt */
  void *ud;
};
/* Contend until cb->stop says so: attempts every retry period (jittered up to +120% while
 * not leading); the leader keeps leading through failed renewals until the renew
 * deadline, and stops at once when it sees another holder; on stop the Lease is released.
 * API errors are logged and retried, never returned; the result is the release's. */
int kube_lease_run (struct kube_lease *l, const struct kube_lease_callbacks *cb,
                    struct rm_error *err);

#endif
