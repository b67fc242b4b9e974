/* Helpers for the Kubernetes client tests that talk to the fake API server
 * (tests/fakekube/) in scripted mode, where it answers only what a test's rules say: start
 * and stop it, script its answers, read back its request log, and build a client from a
 * kubeconfig pointing at it. */
#ifndef RM_TESTS_KUBE_STUB_H
#define RM_TESTS_KUBE_STUB_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "kube/kube.h"

struct stub {
  pid_t pid;
  int port, proxy_port;
  char dir[PATH_MAX];     /* ca.pem, client.pem, client-key.pem (links into the server's
                           * state, CN fakekube-admin), kubeconfigs and scripts of this test */
};

extern struct stub stub;

/* Start the fake API server, with a CONNECT proxy when proxy (skips the test, with the
 * reason, when python3 or openssl is missing). */
void stub_start (bool proxy);
void stub_stop (void);
/* Append rules: a JSON list of {"method", "path" (exact, without query), "query_has",
 * "query_lacks", "accept_has", "times" (default 1, -1 = always), "auth" (the exact
 * Authorization header, else 401 and the rule stays unused), "client_cn" (likewise),
 * "status" (default 200), "headers", "json" or "body", "gzip", "drop", "stream"
 * ([{"line", "delay"}], chunked)}.  They become fakekube fault rules (action=respond,
 * tests/fakekube/fakekube/faults.py); a request no rule answers gets 404 NotFound. */
void stub_rules (const char *json);
/* Requests seen so far, oldest first (fakekube's log: method, path, query, headers, body,
 * clientPort, sni, time, status...); caller deletes. */
cJSON *stub_log (void);
/* Count logged requests to path (NULL = all). */
int stub_count (const char *path);
/* Write dir/name and return its path (caller frees). */
char *stub_file (const char *name, const char *content, int mode);
/* A client from a kubeconfig whose cluster entry gets cluster_extra lines and whose user
 * entry is user_yaml ("{}" for none).  server NULL = https://127.0.0.1:PORT. */
struct kube_client *stub_client (const char *server, const char *cluster_extra,
                                 const char *user_yaml, const struct kube_client_opts *opts);

#endif
