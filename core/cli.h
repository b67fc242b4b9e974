/* Command-line parsing and setting resolution shared by every command: long options
 * anywhere on the line, the precedence flags > RELEASEMANAGER_* environment > config
 * file > default, and turning the user's backend selection and options into an opened
 * backend (both `--backend=NAME` and the positional `COMMAND NAME --KEY VALUE` form). */
#ifndef RM_CLI_H
#define RM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "backend_wrap.h"
#include "conffile.h"
#include "base/util.h"

enum cli_arg {
  CLI_FLAG,           /* boolean switch: --debug (also --debug=false) */
  CLI_VALUE,          /* --name VALUE or --name=VALUE; the last one given wins */
  CLI_LIST,           /* repeatable; every value kept in order */
};

/* Extended code (base/error.h, block 0x40-0x4f, shared with conffile and the plugin
 * loader): the command line, the environment or the configuration file is at fault, a
 * usage error (exit status 2). */
enum cli_code {
  CLI_E_USAGE = ERR_EXT (RM_E_INVALID, 0x44),
};

#define CLI_NO_ENV   (1u << 0)  /* not read from RELEASEMANAGER_<NAME> */
#define CLI_NO_FILE  (1u << 1)  /* not read from the configuration file */
#define CLI_HIDDEN   (1u << 2)  /* not shown in --help */

struct cli_option {
  const char *name;           /* long name without "--"; NULL ends a table */
  char short_name;            /* or 0 */
  enum cli_arg arg;
  const char *metavar;        /* e.g. "FILE" */
  const char *def;            /* default value text, or NULL */
  const char *help;
  unsigned flags;
};

struct cli_value {
  const struct cli_option *opt;
  struct strlist values;      /* from the command line, in order */
};

struct cli {
  const char *command;                /* NULL when none was given */
  struct strlist positional;          /* operands after the command */
  struct cli_value *vals;             /* one per option of the global + command tables */
  size_t nvals;
  struct backend_opts pending;        /* unknown --KEY [VALUE]: candidates for a backend */
  struct config_file *file;           /* may be NULL */
  /* Set by the caller before cli_load_config: every command's option table, NULL
   * terminated, so that a file setting of another command is not "unknown". */
  const struct cli_option *const *all_options;
  struct strlist warnings;            /* what cli_load_config found to warn about */
  bool require_path;                  /* cli_open_backend: a backend that keeps its store
                                         under a key prefix needs --path */
};

/* The first operand of argv that is not an option or an option's value (the command),
 * knowing only the global options; NULL if there is none. */
const char *cli_find_command (int argc, char **argv, const struct cli_option *global);

/* Parse argv with both tables.  Unknown long options are kept in c->pending for the
 * backend; whether they are acceptable is decided when the backend is opened.  Returns
 * RM_OK, or CLI_E_USAGE with err filled. */
int cli_parse (struct cli *c, int argc, char **argv, const struct cli_option *global,
               const struct cli_option *command_opts, struct rm_error *err);

/* Load the configuration file (from --config, RELEASEMANAGER_CONFIG or the default
 * locations, config_default_path) and map each top-level key to the option it sets:
 * our option names, and the original tool's viper keys (camelCase, any case: dryRun,
 * releaseTimeout, target, ...), each used only by the commands that take it; the
 * original's s3 keys (bucket, region, accessKeyID, ...) go to the backend that declares
 * them.  A key no command takes adds "FILE:LINE: unknown setting 'x' ignored" to
 * c->warnings.  Returns RM_OK, or with err filled a CONFFILE_E_* code (unreadable, not a
 * configuration) or CLI_E_USAGE (a setting given twice, a mapping where a value
 * belongs, a setting that is not allowed in the file). */
int cli_load_config (struct cli *c, struct rm_error *err);

/* The configuration file read again (SIGHUP): a new cli with c's command, operands and
 * command-line values, the file loaded and its values checked as cli_load_config and
 * cli_check_values do.  Returns it (free with cli_free, then free), or NULL with err
 * filled ("FILE:LINE: problem") when the file no longer reads or parses. */
struct cli *cli_reload (const struct cli *c, struct rm_error *err);

/* Resolved values: command line > environment > configuration file > default. */
const char *cli_get (const struct cli *c, const char *name);
bool cli_flag (const struct cli *c, const char *name);
/* Every value of option name split at sep, appended to out: all command-line values
 * when there are any (a CLI_LIST, or a CLI_VALUE given several times), else the
 * environment's or the configuration file's. */
void cli_get_list (const struct cli *c, const char *name, char sep, struct strlist *out);
/* Where the resolved value came from: "--NAME", "environment RELEASEMANAGER_X", "FILE:LINE"
 * or "default"; allocated. */
char *cli_origin (const struct cli *c, const char *name);
/* Check that every FLAG value from the environment or file is a valid boolean: RM_OK, or
 * CLI_E_USAGE with err filled. */
int cli_check_values (const struct cli *c, struct rm_error *err);

/* The plugin search path in order: --plugin-dir, RELEASEMANAGER_PLUGIN_PATH,
 * plugin-dir of the configuration file, the compiled-in directory. */
void cli_plugin_dirs (const struct cli *c, struct strlist *dirs);

/* The backend name from the positional operand (if positional_ok) or --backend; NULL
 * with err filled (CLI_E_USAGE) when there is none or two. */
const char *cli_backend_name (const struct cli *c, bool positional_ok, struct rm_error *err);

/* Select, load, configure and open the backend into *out.  Returns RM_OK, or with err
 * filled CLI_E_USAGE when the user's options were at fault (no backend named, unknown or
 * malformed option, missing required option), else the code of the plugin loader or of
 * the plugin (the plugin or the store is at fault).  open_flags: RM_OPEN_* (see
 * backend_open). */
int cli_open_backend (struct cli *c, bool positional_ok, unsigned open_flags,
                      struct backend **out, struct rm_error *err);

/* Collect backend option values for plugin p in precedence order (exposed for tests and
 * for `backends check`): RM_OK, or CLI_E_USAGE with err filled. */
int cli_backend_opts (const struct cli *c, const struct plugin *p, struct backend_opts *out,
                      struct rm_error *err);

void cli_print_options (FILE *f, const struct cli_option *table);
void cli_free (struct cli *c);

#endif
