/* `releasemanager export`: back up every Helm release record of the cluster.  Option
 * handling, the backend and the cluster, one run of the export engine (core/export/),
 * and the summary line.  A corrupt record is reported by name and skipped; the exit
 * status then says partial. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "commands.h"
#include "export/export.h"

static const struct cli_option export_options[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "export only releases in NS", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS,NS", NULL, "skip releases in these namespaces", 0 },
  { "release-name", 0, CLI_VALUE, "NAME", NULL, "export only the release NAME", 0 },
  { "helm-driver", 0, CLI_VALUE, "DRIVER", "secret",
    "where Helm keeps releases: secret, configmap, or auto (both)", 0 },
  { "threads", 0, CLI_VALUE, "N", "8", "parallel reads and uploads", 0 },
  { "self-release", 0, CLI_VALUE, "NAME", NULL,
    "the Helm release this manager runs as (recorded in the state file)", 0 },
  { "self-namespace", 0, CLI_VALUE, "NS", NULL, "namespace of --self-release", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* The engine's options from the command line; EXIT_OK or EXIT_USAGE (said why). */
static int
parse_options (struct cli *c, struct export_opts *o, struct strlist *only, struct strlist *skip)
{
  if (c->positional.n > 1) {
    log_error ("export: unexpected operand '%s'", c->positional.items[1]);
    return EXIT_USAGE;
  }
  const char *driver = cli_get (c, "helm-driver");
  if (strcmp (driver, "secret") && strcmp (driver, "configmap") && strcmp (driver, "auto")) {
    log_error ("--helm-driver: '%s' is not secret, configmap or auto", driver);
    return EXIT_USAGE;
  }
  const char *why;
  char *tv = backend_normalize_value (RM_KEY_INT, cli_get (c, "threads"), &why);
  long threads = tv ? atol (tv) : 0;
  free (tv);
  if (threads < 1 || threads > 256) {
    log_error ("--threads: '%s' is not a number from 1 to 256", cli_get (c, "threads"));
    return EXIT_USAGE;
  }
  /* Both are repeatable and comma-separated. */
  cli_get_list (c, "namespace", ',', only);
  cli_get_list (c, "exclude-namespaces", ',', skip);
  *o = (struct export_opts) {
    .secrets = strcmp (driver, "configmap") != 0,
    .configmaps = strcmp (driver, "secret") != 0,
    .only_ns = only, .skip_ns = skip,
    .only_release = cli_get (c, "release-name"),
    .threads = (unsigned) threads,
    .dry_run = cli_flag (c, "dry-run"),
    .self_release = cli_get (c, "self-release"),
    .self_namespace = cli_get (c, "self-namespace"),
    .path = cli_get (c, "path"),
    .progress = isatty (2) && log_get_level () < RM_LOG_INFO,
  };
  return EXIT_OK;
}

static int
run_export (struct cli *c)
{
  struct export_opts o;
  struct strlist only = STRLIST_INIT, skip = STRLIST_INIT;
  int rc = parse_options (c, &o, &only, &skip);
  char *error = NULL;
  bool usage;
  struct backend *b = rc == EXIT_OK ? cli_open_backend (c, true, &error, &usage) : NULL;
  if (rc == EXIT_OK && !b) {
    log_error ("%s", error);
    free (error);
    rc = usage ? EXIT_USAGE : EXIT_ERROR;
  }
  if (rc != EXIT_OK) {
    strlist_free (&only);
    strlist_free (&skip);
    return rc;
  }
  char *where = backend_describe (b);
  struct kube_config_opts ko = { cli_get (c, "kubeconfig"), cli_get (c, "kubecontext"), NULL };
  struct kube_config *kcfg = NULL;
  struct kube_client *kc = NULL;
  struct rm_error kerr;
  if (kube_config_load (&ko, &kcfg, &kerr) != KUBE_OK
      || kube_client_new (kcfg, NULL, &kc, &kerr) != KUBE_OK) {
    log_error ("%s", kerr.message);
    rc = EXIT_ERROR;
    goto out;
  }
  log_info ("exporting from %s to %s", kube_client_config (kc)->source, where);

  struct export_engine *e = export_engine_new (b, kc, &o);
  struct export_result r;
  struct rm_error err;
  if (export_engine_run (e, &r, &err) != RM_OK) {
    log_error ("%s", err.message);
    rc = EXIT_ERROR;
  }
  export_engine_free (e);
  if (r.complete) {
    printf ("%s %zu release records to %s: %zu written, %zu unchanged, %zu deleted, "
            "%zu skipped, %zu failed\n", o.dry_run ? "dry run: would export" : "exported",
            r.records, where, r.written, r.unchanged, r.deleted, r.skipped, r.failed);
    if (rc == EXIT_OK && r.failed)
      rc = EXIT_ERROR;
    else if (rc == EXIT_OK && r.skipped)
      rc = EXIT_PARTIAL;
  }
out:
  kube_client_free (kc);
  strlist_free (&only);
  strlist_free (&skip);
  free (where);
  backend_close (b);
  return rc;
}

const struct command cmd_export = {
  "export",
  "back up every Helm release record of the cluster",
  "[BACKEND] [BACKEND OPTIONS] [--namespace NS]... [--exclude-namespaces A,B] "
  "[--release-name NAME]",
  "Reads every Helm release record (all revisions Helm keeps) through the Kubernetes API\n"
  "and stores it under --path: releases/NAMESPACE/RELEASE/REVISION.json.gz, then\n"
  "index.json, then rlsmgrstate.json.  Unchanged records cost no upload and, when the\n"
  "release object is unchanged, no read.  Records no longer in the cluster (or no longer\n"
  "selected by the filters) are deleted after the new index is written.  A corrupt\n"
  "record is reported and skipped (exit status 3).  --dry-run prints every write and\n"
  "delete it would do and does none.",
  export_options,
  run_export,
};
