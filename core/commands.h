/* The verbs of releasemanager.  Each lives in its own cmd_*.c file; main.c dispatches. */
#ifndef RM_COMMANDS_H
#define RM_COMMANDS_H

#include "cli.h"

/* Exit codes (documented in releasemanager(1)). */
#define EXIT_OK       0
#define EXIT_ERROR    1
#define EXIT_USAGE    2
#define EXIT_PARTIAL  3

struct kube_client;
struct cmd_program;
struct plugin;

/* What a verb needs from main()'s prologue (struct command's needs). */
#define CMD_NEEDS_BACKEND  (1u << 0)  /* the backend opened (operand or --backend) */
#define CMD_NEEDS_CLUSTER  (1u << 1)  /* a client of the --kubeconfig cluster */
#define CMD_THREADS        (1u << 2)  /* has --threads N, N from 1 to 256 */
#define CMD_WRITES_STORE   (1u << 3)  /* writes the store unless --dry-run: the backend is
                                         opened RM_OPEN_BARRIER, else RM_OPEN_READONLY */
#define CMD_DIFF_STATUS    (1u << 4)  /* exits as diff(1) does: 0 equal, 1 different (the
                                         verb's EXIT_DIFFERENT), 2 trouble: main() turns
                                         the prologue's EXIT_ERROR into EXIT_TROUBLE */
#define EXIT_DIFFERENT 1
#define EXIT_TROUBLE   2

/* Operands a verb takes when it checks them itself (struct command's max_operands). */
#define CMD_ANY_OPERANDS   ((size_t) -1)

/* What main() hands to a verb, each part only when the verb needs it (struct command
 * says in which order); main() closes the backend and the cluster after run(). */
struct cmd_ctx {
  struct cli *cli;
  void *opts;                         /* the verb's parsed options (its check() fills) */
  unsigned threads;                   /* --threads, when CMD_THREADS */
  struct backend *b;                  /* when CMD_NEEDS_BACKEND, else NULL */
  struct kube_client *kc;             /* when CMD_NEEDS_CLUSTER, else NULL */
  bool dry_run;                       /* --dry-run */
  bool read_only;                     /* open the backend RM_OPEN_READONLY: main() sets it
                                         from CMD_WRITES_STORE and --dry-run before
                                         check(), which may change it */
  bool cluster;                       /* open the cluster: main() sets it from
                                         CMD_NEEDS_CLUSTER before check(), which may change
                                         it (verify --repair needs one) */
  const struct cmd_program *program;  /* every verb and the global options (main.c) */
};

/* main() runs a verb as: at most max_operands operands ("VERB: unexpected operand 'X'"),
 * check() (the verb's own options), --threads, the backend, prepare() (what needs only
 * the backend: import reads the store before it touches the cluster), the cluster,
 * run(); each step says what went wrong and returns an exit code, and main() stops at
 * the first that is not EXIT_OK.  Then release() and main() closes what it opened. */
struct command {
  const char *name;
  const char *summary;                /* one line for `releasemanager --help` */
  const char *usage;                  /* operands after the command name */
  const char *description;            /* paragraph for `releasemanager COMMAND --help` */
  const struct cli_option *options;   /* command-specific options, or NULL */
  unsigned needs;                     /* CMD_NEEDS_BACKEND | CMD_NEEDS_CLUSTER | CMD_THREADS */
  size_t max_operands;                /* the backend name counts; or CMD_ANY_OPERANDS */
  int (*check) (struct cmd_ctx *x);   /* or NULL; may set x->opts */
  int (*prepare) (struct cmd_ctx *x); /* or NULL */
  int (*run) (struct cmd_ctx *x);
  void (*release) (struct cmd_ctx *x);  /* frees x->opts (also after a failed check);
                                           or NULL */
};

extern const struct command cmd_backends;
extern const struct command cmd_clear;
extern const struct command cmd_export;
extern const struct command cmd_import;
extern const struct command cmd_list;
extern const struct command cmd_verify;


/* The whole command line as main() knows it, for the verbs that describe it (completion,
 * docs): they print from the same tables as --help, so the two never disagree. */
struct cmd_program {
  const struct command *const *commands;
  size_t ncommands;
  const struct cli_option *global;    /* main()'s options, valid anywhere on the line */
  void (*print_help) (FILE *f);       /* `releasemanager --help` */
};

extern const struct command cmd_completion;

/* Point-in-time snapshots (issue 15): `prune`, and the retention options export and
 * prune share (core/cmd_retention.c). */
extern const struct command cmd_prune;
struct store_retention;
#define CMD_RETENTION_OPTIONS \
  { "keep-last", 0, CLI_VALUE, "N", NULL, \
    "keep the N newest snapshots (default, with no --keep-*: 10)", 0 }, \
  { "keep-within", 0, CLI_VALUE, "DURATION", NULL, \
    "keep the snapshots taken within DURATION (30d, 12h, 1y2w) of the newest", 0 }, \
  { "keep-daily", 0, CLI_VALUE, "N", NULL, \
    "keep the newest snapshot of each of the N newest days (default, with no --keep-*: 7)", 0 }
/* The --keep-* options into r: those given, else the defaults (STORE_KEEP_*_DEFAULT).
 * EXIT_OK, or EXIT_USAGE (said why). */
int cmd_retention_parse (const struct cli *c, struct store_retention *r);
extern const struct command cmd_docs;
/* `diff` (issue 15): a snapshot against the cluster, or two snapshots. */
extern const struct command cmd_diff;

/* Client-side encryption (issue 15, core/cmd_encrypt.c): --encrypt-key-file (or
 * RELEASEMANAGER_ENCRYPT_KEY_FILE) loaded and checked against the store's marker, and
 * the key attached to x->b; EXIT_OK, or the exit status after saying why.  The key lives
 * until the program ends.  And the `rekey` verb. */
int cmd_encrypt_attach (struct cmd_ctx *x);
extern const struct command cmd_rekey;

/* Every backend plugin that loads along c's plugin search path, the first of each name,
 * sorted by name (core/cmd_plugins.c; a file that does not load is skipped, logged at
 * --verbose).  The caller frees them with cmd_plugins_free(). */
struct plugin **cmd_plugins_found (const struct cli *c, size_t *n);
void cmd_plugins_free (struct plugin **p, size_t n);

#endif
