/* The in-cluster configuration, as rest.InClusterConfig builds it: the API server from
 * KUBERNETES_SERVICE_HOST/_PORT, the service account's token (a file that is re-read
 * when it changes, since projected tokens rotate), its CA and its namespace.  The
 * service account directory can be moved, for tests. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

#define SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

const char *
kube_serviceaccount_dir (void)
{
  /* A test runs the daemon as a pod runs it without writing under /var/run. */
  const char *d = secure_getenv ("RELEASEMANAGER_SERVICEACCOUNT_DIR");
  return d && *d ? d : SERVICEACCOUNT_DIR;
}

int
kube_config_in_cluster (const char *dir, struct kube_config **out, struct rm_error *err)
{
  *out = NULL;
  if (!dir || !*dir)
    dir = kube_serviceaccount_dir ();
  const char *host = getenv ("KUBERNETES_SERVICE_HOST"), *port = getenv ("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return err_set (err, KUBE_E_CONFIG,
                    "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                    "KUBERNETES_SERVICE_PORT must be defined");

  struct kube_config *cfg = xcalloc (1, sizeof *cfg);
  cfg->in_cluster = true;
  cfg->source = xasprintf ("in-cluster service account (%s)", dir);
  /* An IPv6 address needs brackets (net.JoinHostPort). */
  cfg->server = strchr (host, ':') ? xasprintf ("https://[%s]:%s", host, port)
                                   : xasprintf ("https://%s:%s", host, port);
  cfg->token_file = xasprintf ("%s/token", dir);
  if (access (cfg->token_file, R_OK) != 0) {
    int e = errno;
    err_set (err, KUBE_E_CONFIG, "in-cluster configuration: cannot read the service account token %s: %s",
             cfg->token_file, strerror (e));
    kube_config_free (cfg);
    return KUBE_E_CONFIG;
  }
  char *ca = xasprintf ("%s/ca.crt", dir);
  if (kube_read_file (ca, &cfg->ca) == 0)
    cfg->ca_file = ca;
  else {
    /* client-go logs this and goes on with the system trust store. */
    log_warn ("in-cluster configuration: cannot read %s (%s); using the system CA certificates",
              ca, strerror (errno));
    free (ca);
  }
  const char *pod_ns = getenv ("POD_NAMESPACE");
  if (pod_ns && *pod_ns)
    cfg->namespace = xstrdup (pod_ns);
  else {
    char *nsf = xasprintf ("%s/namespace", dir);
    struct kube_blob b;
    if (kube_read_file (nsf, &b) == 0) {
      char *s = (char *) b.data;
      size_t n = b.len;
      while (n && strchr (" \t\r\n", s[n - 1]))
        s[--n] = '\0';
      cfg->namespace = n ? xstrdup (s) : NULL;
      kube_blob_free (&b);
    }
    free (nsf);
    if (!cfg->namespace)
      cfg->namespace = xstrdup ("default");
  }
  log_debug ("using %s: %s", cfg->source, cfg->server);
  *out = cfg;
  return KUBE_OK;
}
