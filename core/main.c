/* releasemanager: parse the command line, set up logging and configuration, and hand
 * over to the command.  Only main() and the cmd_*.c files decide exit codes. */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "base/log.h"
#include "kube/kube.h"

static const struct cli_option global_options[] = {
  { "config", 0, CLI_VALUE, "FILE", NULL,
    "YAML or JSON configuration file (default ~/.config/releasemanager/config.yaml, "
    "else /etc/releasemanager/config.*, if present)",
    CLI_NO_FILE },
  { "backend", 0, CLI_VALUE, "NAME", NULL, "storage backend plugin (name or path to a .so)", 0 },
  { "backend-opt", 0, CLI_LIST, "KEY=VALUE", NULL, "set an option of the backend",
    CLI_NO_ENV | CLI_NO_FILE },
  { "path", 0, CLI_VALUE, "PATH", NULL,
    "where the state lives: directory (local) or key prefix (s3); required", 0 },
  { "plugin-dir", 0, CLI_LIST, "DIR", NULL, "search DIR for backend plugins first",
    CLI_NO_ENV },
  { "kubeconfig", 0, CLI_VALUE, "FILE", NULL, "kubeconfig file (as kubectl)", 0 },
  { "kubecontext", 0, CLI_VALUE, "NAME", NULL,
    "kubeconfig context to use (else HELM_KUBECONTEXT, else the current-context)", 0 },
  { "dry-run", 0, CLI_FLAG, NULL, NULL, "show what would change, change nothing", 0 },
  { "encrypt-key-file", 0, CLI_VALUE, "FILE", NULL,
    "encrypt the store client-side (AES-256-GCM) with the 32-byte key in FILE (raw or base64)",
    0 },
  { "verbose", 'v', CLI_FLAG, NULL, NULL, "report progress and each step", 0 },
  { "debug", 0, CLI_FLAG, NULL, NULL, "log everything, including backend calls", 0 },
  { "log-format", 0, CLI_VALUE, "FORMAT", "text", "log lines as text or json", 0 },
  { "help", 'h', CLI_FLAG, NULL, NULL, "show help and exit", CLI_NO_ENV | CLI_NO_FILE },
  { "version", 0, CLI_FLAG, NULL, NULL, "show the version and exit", CLI_NO_ENV | CLI_NO_FILE },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

static const struct command *const commands[] = {
  &cmd_export,
  &cmd_import,
  &cmd_list,
  &cmd_clear,
  &cmd_verify,
  &cmd_prune,
  &cmd_diff,
  &cmd_rekey,
  &cmd_backends,
  &cmd_completion,
  &cmd_docs,
};

static const struct command *
find_command (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (strcmp (commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

static void
print_version (void)
{
  printf ("%s %s (backend ABI %d.%d)\n", PACKAGE_NAME, PACKAGE_VERSION, RM_BACKEND_ABI_MAJOR,
          RM_BACKEND_ABI_MINOR);
}

static void
print_help (FILE *f)
{
  fprintf (f,
           "Usage: releasemanager [OPTIONS] COMMAND [BACKEND] [OPTIONS]\n"
           "\n"
           "Back up the Helm releases of a Kubernetes cluster to a storage backend and\n"
           "restore them into another cluster.\n"
           "\n"
           "Commands:\n");
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    fprintf (f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
  fprintf (f, "  %-12s %s\n", "help", "show help for a command");
  fprintf (f, "\nOptions (anywhere on the line):\n");
  cli_print_options (f, global_options);
  fprintf (f,
           "\n"
           "Backends are plugins.  Select one with --backend=NAME or as the operand after the\n"
           "command (`releasemanager COMMAND NAME --KEY VALUE`); set its options with\n"
           "--backend-opt KEY=VALUE, --KEY VALUE after the name, RELEASEMANAGER_<NAME>_<KEY>, or\n"
           "backends.NAME.KEY in the configuration file.  `releasemanager backends` lists them.\n"
           "\n"
           "Settings come from the command line, then RELEASEMANAGER_<OPTION> environment\n"
           "variables (e.g. RELEASEMANAGER_PATH), then the configuration file, then defaults.\n"
           "Plugins are searched in --plugin-dir, RELEASEMANAGER_PLUGIN_PATH, the configuration\n"
           "file's plugin-dir, then %s.\n"
           "\n"
           "Exit status: 0 success, 1 error, 2 usage error, 3 partial success.\n"
           "See releasemanager(1).\n", PLUGINDIR);
}

static const struct cmd_program program = {
  commands, ARRAY_SIZE (commands), global_options, print_help,
};

static void
print_command_help (FILE *f, const struct command *cmd)
{
  fprintf (f, "Usage: releasemanager [OPTIONS] %s %s\n\n%s\n", cmd->name, cmd->usage,
           cmd->description);
  if (cmd->options && cmd->options->name) {
    fprintf (f, "\nOptions of %s:\n", cmd->name);
    cli_print_options (f, cmd->options);
  }
  fprintf (f, "\nGlobal options: see `releasemanager --help`.\n");
}

/* --threads of a verb that has it: EXIT_OK or EXIT_USAGE (said why). */
static int
parse_threads (struct cmd_ctx *x)
{
  const char *v = cli_get (x->cli, "threads");
  char *tv;
  long threads = backend_normalize_value (RM_KEY_INT, v, &tv, NULL) == RM_OK ? atol (tv) : 0;
  free (tv);
  if (threads < 1 || threads > 256) {
    log_error ("--threads: '%s' is not a number from 1 to 256", v);
    return EXIT_USAGE;
  }
  x->threads = (unsigned) threads;
  return EXIT_OK;
}

/* The backend, when the user's options were at fault a usage error. */
static int
open_backend (struct cmd_ctx *x)
{
  struct rm_error err;
  x->cli->require_path = true;
  int rc = cli_open_backend (x->cli, true, x->read_only ? RM_OPEN_READONLY : RM_OPEN_BARRIER,
                             &x->b, &err);
  if (rc == RM_OK)
    return cmd_encrypt_attach (x);
  log_error ("%s", err.message);
  return rc == CLI_E_USAGE ? EXIT_USAGE : EXIT_ERROR;
}

/* A client of the cluster of --kubeconfig and --kubecontext (nothing is sent yet). */
static int
open_cluster (struct cmd_ctx *x)
{
  struct kube_config_opts ko = { cli_get (x->cli, "kubeconfig"), cli_get (x->cli, "kubecontext"),
                                 NULL };
  struct kube_config *kcfg = NULL;
  struct rm_error err;
  if (kube_config_load (&ko, &kcfg, &err) != KUBE_OK
      || kube_client_new (kcfg, NULL, &x->kc, &err) != KUBE_OK) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  return EXIT_OK;
}

/* The prologue every verb shares (struct command says which steps), the verb, and what
 * the prologue opened, closed. */
static int
run_command (const struct command *cmd, struct cli *c)
{
  if (cmd->max_operands != CMD_ANY_OPERANDS && c->positional.n > cmd->max_operands) {
    log_error ("%s: unexpected operand '%s'", cmd->name, c->positional.items[cmd->max_operands]);
    return EXIT_USAGE;
  }
  struct cmd_ctx x = { .cli = c, .dry_run = cli_flag (c, "dry-run") };
  x.read_only = !(cmd->needs & CMD_WRITES_STORE) || x.dry_run;
  x.cluster = (cmd->needs & CMD_NEEDS_CLUSTER) != 0;
  x.program = &program;
  int rc = cmd->check ? cmd->check (&x) : EXIT_OK;
  if (rc == EXIT_OK && (cmd->needs & CMD_THREADS))
    rc = parse_threads (&x);
  if (rc == EXIT_OK && (cmd->needs & CMD_NEEDS_BACKEND))
    rc = open_backend (&x);
  if (rc == EXIT_OK && cmd->prepare)
    rc = cmd->prepare (&x);
  if (rc == EXIT_OK && x.cluster)
    rc = open_cluster (&x);
  bool ran = rc == EXIT_OK;
  if (ran)
    rc = cmd->run (&x);
  if (!ran && rc == EXIT_ERROR && (cmd->needs & CMD_DIFF_STATUS))
    rc = EXIT_TROUBLE;
  if (cmd->release)
    cmd->release (&x);
  kube_client_free (x.kc);
  backend_close (x.b);
  return rc;
}

static void
on_signal (int sig)
{
  (void) sig;
  backend_request_stop ();
}

int
main (int argc, char **argv)
{
  struct cli c = { 0 };
  struct rm_error err;
  int rc = EXIT_USAGE;

  const char *name = cli_find_command (argc, argv, global_options);
  const struct command *cmd = NULL;
  bool help_cmd = name && strcmp (name, "help") == 0;
  if (name && !help_cmd) {
    cmd = find_command (name);
    if (!cmd) {
      fprintf (stderr, "releasemanager: unknown command '%s' (see releasemanager --help)\n", name);
      return EXIT_USAGE;
    }
  }
  if (cli_parse (&c, argc, argv, global_options, cmd ? cmd->options : NULL, &err) != RM_OK) {
    fprintf (stderr, "releasemanager: %s (see releasemanager --help)\n", err.message);
    goto out;
  }
  if (cli_flag (&c, "version")) {
    print_version ();
    rc = EXIT_OK;
    goto out;
  }
  if (help_cmd) {
    const struct command *h = c.positional.n ? find_command (c.positional.items[0]) : NULL;
    if (c.positional.n && !h) {
      fprintf (stderr, "releasemanager: unknown command '%s'\n", c.positional.items[0]);
      goto out;
    }
    if (h)
      print_command_help (stdout, h);
    else
      print_help (stdout);
    rc = EXIT_OK;
    goto out;
  }
  if (cli_flag (&c, "help")) {
    if (cmd)
      print_command_help (stdout, cmd);
    else
      print_help (stdout);
    rc = EXIT_OK;
    goto out;
  }
  if (!cmd) {
    print_help (stderr);
    goto out;
  }
  const struct cli_option *tables[ARRAY_SIZE (commands) + 1];
  size_t ntables = 0;
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (commands[i]->options)
      tables[ntables++] = commands[i]->options;
  tables[ntables] = NULL;
  c.all_options = tables;
  if (cli_load_config (&c, &err) != RM_OK || cli_check_values (&c, &err) != RM_OK) {
    fprintf (stderr, "releasemanager: %s\n", err.message);
    rc = EXIT_USAGE;
    goto out;
  }
  const char *fmt = cli_get (&c, "log-format");
  if (strcmp (fmt, "json") == 0)
    log_set_format (LOG_JSON);
  else if (strcmp (fmt, "text") != 0) {
    fprintf (stderr, "releasemanager: --log-format: '%s' is not a format (use text or json)\n",
             fmt);
    goto out;
  }
  log_set_level (cli_flag (&c, "debug") ? RM_LOG_DEBUG
                 : cli_flag (&c, "verbose") ? RM_LOG_INFO : RM_LOG_WARN);
  for (size_t i = 0; i < c.warnings.n; i++)
    log_warn ("%s", c.warnings.items[i]);

  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction (SIGTERM, &sa, NULL);
  /* Ctrl-C too ends the run through its normal path (which releases the store lock); a
   * second one kills at once (the lock is then taken over at once on this host). */
  sa.sa_flags = SA_RESETHAND;
  sigaction (SIGINT, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  rc = run_command (cmd, &c);

out:
  cli_free (&c);
  log_clear_secrets ();
  return rc;
}
