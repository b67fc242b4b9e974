/* Helpers for the Kubernetes client tests that talk to tests/unit/kube_stub_apiserver.py:
 * start and stop it, script its answers, read back its request log, and build a client
 * from a kubeconfig pointing at it. */
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
  char dir[PATH_MAX];     /* certificates, kubeconfigs and scripts of this test */
};

extern struct stub stub;

/* Start the stub (skips the test, with the reason, when python3 or openssl is missing). */
void stub_start (bool proxy);
void stub_stop (void);
/* Append rules (a JSON list, see stub_apiserver.py). */
void stub_rules (const char *json);
/* Requests seen so far, oldest first; caller deletes. */
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
