/* The YAML configuration file (releasemanager.yaml(5)): top-level settings named like
 * the long options, and per-backend options under `backends:`.  This file only reads
 * and checks the file; main.c decides precedence (flags > environment > file). */
#ifndef RM_CONFIG_H
#define RM_CONFIG_H

#include <stdbool.h>

#include "base/error.h"
#include "base/util.h"

struct config_entry {
  char *key;          /* "path", or "KEY" of a backend */
  char *value;        /* scalar text; for a list, one entry per item with the same key */
  int line;           /* 1-based line in the file */
};

struct config_section {
  char *name;                   /* backend name */
  struct config_entry *entries;
  size_t n;
};

struct config_file {
  char *path;
  struct config_entry *entries;  /* top level, lists flattened to repeated keys */
  size_t n;
  struct config_section *backends;
  size_t nbackends;
};

/* Extended codes (base/error.h, block 0x40-0x4f, shared with the plugin loader). */
enum conffile_code {
  CONFFILE_E_READ = ERR_EXT (RM_E_CONFIG, 0x41),     /* the file cannot be opened */
  CONFFILE_E_SYNTAX = ERR_EXT (RM_E_CONFIG, 0x42),   /* not YAML */
  CONFFILE_E_INVALID = ERR_EXT (RM_E_CONFIG, 0x43),  /* YAML, but not a valid configuration */
};

/* Parse FILE.  Returns NULL with error filled ("FILE:LINE: problem", a CONFFILE_E_* code)
 * on failure; error may be NULL. */
struct config_file *config_load (const char *path, struct rm_error *error);
void config_free (struct config_file *cf);

/* The last value of a top-level key, or NULL. */
const struct config_entry *config_get (const struct config_file *cf, const char *key);
/* The section of backend NAME, or NULL. */
const struct config_section *config_backend (const struct config_file *cf, const char *name);

/* The file to read: explicit (from --config or RELEASEMANAGER_CONFIG) if given, else
 * $XDG_CONFIG_HOME/releasemanager/config.yaml or ~/.config/releasemanager/config.yaml
 * when it exists, else NULL. */
char *config_default_path (void);

#endif
