/* The verbs of releasemanager.  Each lives in its own cmd_*.c file; main.c dispatches. */
#ifndef RM_COMMANDS_H
#define RM_COMMANDS_H

#include "cli.h"

/* Exit codes (documented in releasemanager(1)). */
#define EXIT_OK       0
#define EXIT_ERROR    1
#define EXIT_USAGE    2
#define EXIT_PARTIAL  3

struct command {
  const char *name;
  const char *summary;                /* one line for `releasemanager --help` */
  const char *usage;                  /* operands after the command name */
  const char *description;            /* paragraph for `releasemanager COMMAND --help` */
  const struct cli_option *options;   /* command-specific options, or NULL */
  int (*run) (struct cli *c);         /* returns an exit code */
};

extern const struct command cmd_backends;
extern const struct command cmd_clear;
extern const struct command cmd_export;
extern const struct command cmd_import;
extern const struct command cmd_list;

#endif
