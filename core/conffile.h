/* The configuration file (releasemanager.yaml(5)): top-level settings named like the
 * long options (or the original tool's camelCase keys), and per-backend options under
 * `backends:`; YAML, or JSON by the extension .json.  This file only reads the file and
 * finds it; cli.c maps the keys to options and decides precedence (flags > environment
 * > file). */
#ifndef RM_CONFIG_H
#define RM_CONFIG_H

#include <stdbool.h>

#include "base/error.h"
#include "base/util.h"

struct config_entry {
  char *key;          /* "path", or "KEY" of a backend; cli.c replaces a top-level key by
                         the option it sets */
  char *given;        /* the key as written in the file, for messages */
  char *value;        /* scalar text; for a list, one entry per item with the same key;
                         for a mapping (from_map), one "KEY=VALUE" entry per item */
  int line;           /* 1-based line in the file; 0 when unknown */
  bool from_map;      /* the value was a mapping (valueUpdates: {a.b: 1}) */
  bool ignored;       /* set by cli.c: not for this command; config_get skips it */
  bool backend_key;   /* set by cli.c: a backend's key at the top level (the original
                         tool's bucket:, region:, accessKeyID: ...) */
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
  CONFFILE_E_FORMAT = ERR_EXT (RM_E_CONFIG, 0x45),   /* a format viper reads and we do not */
};

/* Parse FILE: JSON when its name ends in .json (RFC 8259, through cJSON), YAML
 * otherwise; viper's other formats (.toml, .hcl, .tfvars, .properties, .props, .prop,
 * .env, .dotenv, .ini) are CONFFILE_E_FORMAT.  Returns NULL with error filled
 * ("FILE:LINE: problem", a CONFFILE_E_* code) on failure; error may be NULL. */
struct config_file *config_load (const char *path, struct rm_error *error);
void config_free (struct config_file *cf);

/* The last value of a top-level key not marked ignored, or NULL. */
const struct config_entry *config_get (const struct config_file *cf, const char *key);
/* The section of backend NAME, or NULL. */
const struct config_section *config_backend (const struct config_file *cf, const char *name);

/* The file to read when neither --config nor RELEASEMANAGER_CONFIG names one:
 * $XDG_CONFIG_HOME/releasemanager/config.yaml or ~/.config/releasemanager/config.yaml
 * when it exists, else the original tool's CONFIG_SYSTEM_DIR/config.EXT (the first of
 * viper's extensions, in viper's order, that exists; RELEASEMANAGER_SYSTEM_CONFIG_DIR
 * replaces the directory), else NULL. */
#define CONFIG_SYSTEM_DIR "/etc/releasemanager"
char *config_default_path (void);

#endif
