/* export_probe: one export engine run again and again in one process, for
 * tests/e2e/test_export.py.  It opens the local backend at --path and the cluster of
 * --kubeconfig, creates one engine, and runs it; after each run it prints the result
 * as one JSON line and waits for a line on stdin before the next run.  End of input
 * ends it.
 *
 *   export_probe --kubeconfig F --plugin DIR/local.so --path DIR [--namespace NS]...
 *
 * Exit status: 0, 1 (a run or the set-up failed: the message on stderr), 2 usage. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/export.h"
#include "plugin.h"

static struct backend *
open_local (const char *plugin, const char *path)
{
  struct rm_error error = { 0, "" };
  struct plugin *p = plugin_load (plugin, "local", &error);
  if (!p) {
    fprintf (stderr, "%s\n", error.message);
    return NULL;
  }
  struct backend_opts o = { NULL, 0 };
  backend_opts_add (&o, "path", path, "probe");
  backend_opts_add (&o, "fsync", "false", "probe");
  struct rm_kv *kv = backend_resolve_config (p, &o, &error);
  backend_opts_free (&o);
  struct backend *b = kv ? backend_open (p, kv, NULL, RM_OPEN_BARRIER, &error) : NULL;
  if (!kv)
    plugin_unload (p);
  if (!b)
    fprintf (stderr, "%s\n", error.message);
  return b;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "kubeconfig", required_argument, NULL, 'k' }, { "plugin", required_argument, NULL, 'p' },
    { "path", required_argument, NULL, 'P' }, { "namespace", required_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 }
  };
  struct kube_config_opts co = { 0 };
  const char *plugin = NULL, *path = NULL;
  struct strlist only = STRLIST_INIT;
  int ch;
  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case 'k': co.kubeconfig = optarg; break;
    case 'p': plugin = optarg; break;
    case 'P': path = optarg; break;
    case 'n': strlist_push (&only, optarg); break;
    default: strlist_free (&only); return 2;
    }
  }
  if (!plugin || !path || optind != argc) {
    fputs ("usage: export_probe --kubeconfig F --plugin SO --path DIR [--namespace NS]...\n",
           stderr);
    strlist_free (&only);
    return 2;
  }
  struct backend *b = open_local (plugin, path);
  struct kube_config *cfg = NULL;
  struct kube_client *kc = NULL;
  struct rm_error kerr;
  if (b && (kube_config_load (&co, &cfg, &kerr) != KUBE_OK
            || kube_client_new (cfg, NULL, &kc, &kerr) != KUBE_OK)) {
    fprintf (stderr, "%s\n", kerr.message);
    backend_close (b);
    b = NULL;
  }
  if (!b) {
    strlist_free (&only);
    return 1;
  }
  struct export_opts o = { .secrets = true, .only_ns = &only, .threads = 4, .path = path };
  struct export_engine *e = export_engine_new (b, kc, &o);
  int rc = 0;
  char line[64];
  for (unsigned run = 1; rc == 0; run++) {
    struct export_result r;
    struct rm_error err;
    if (export_engine_run (e, &r, &err) != RM_OK) {
      fprintf (stderr, "run %u: %s\n", run, err.message);
      rc = 1;
      break;
    }
    printf ("{\"run\": %u, \"records\": %zu, \"written\": %zu, \"unchanged\": %zu, "
            "\"deleted\": %zu, \"skipped\": %zu, \"failed\": %zu}\n", run, r.records, r.written,
            r.unchanged, r.deleted, r.skipped, r.failed);
    fflush (stdout);
    if (!fgets (line, sizeof line, stdin))
      break;
  }
  export_engine_free (e);
  kube_client_free (kc);
  backend_close (b);
  strlist_free (&only);
  return rc;
}
