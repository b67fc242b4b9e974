/* Fuzz target: the kubeconfig reader (core/kube/kubeconfig.c): the input is the one
 * file given with --kubeconfig, resolved to a cluster, user and namespace as kubectl
 * does.  Files it names (certificate-authority, tokenFile...) are read relative to a
 * private directory; inputs naming /dev, /proc or /sys (or using a YAML escape, which
 * could spell them) are skipped.  No exec plugin runs while loading. */
#include <config.h>

#include <stdlib.h>

#include "base/log.h"
#include "kube/kube.h"
#include "fuzz.h"
#include "fuzz_file.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  /* Never fall back to the in-cluster configuration. */
  unsetenv ("KUBERNETES_SERVICE_HOST");
  unsetenv ("KUBERNETES_SERVICE_PORT");
  unsetenv ("KUBECONFIG");
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (fuzz_names_device (data, size))
    return 0;
  struct kube_config_opts opts = {
    .kubeconfig = fuzz_write_file ("kubeconfig", data, size),
    .serviceaccount_dir = "/nonexistent",
  };
  struct kube_config *cfg = NULL;
  struct rm_error err;
  int rc = kube_config_load (&opts, &cfg, &err);
  if (rc == KUBE_OK) {
    FUZZ_ASSERT (cfg && cfg->server && cfg->source);
    kube_config_free (cfg);
  }
  else
    FUZZ_ASSERT (!cfg && err.message[0]);
  log_clear_secrets ();
  return 0;
}
