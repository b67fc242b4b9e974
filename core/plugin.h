/* Finding, loading and validating backend plugins.  This is the only part of the core
 * that sees dlopen(); everything else uses the validated descriptor copy in struct
 * plugin (and, once opened, struct backend from backend.h). */
#ifndef RM_PLUGIN_H
#define RM_PLUGIN_H

#include <stdbool.h>

#include <releasemanager/backend.h>

#include "base/error.h"
#include "base/util.h"

/* Extended codes (base/error.h, block 0x40-0x4f, shared with the backend wrapper). */
enum plugin_code {
  PLUGIN_E_NOT_FOUND = ERR_EXT (RM_E_NOT_FOUND, 0x40),  /* no such file, no NAME.so found */
  PLUGIN_E_LOAD = ERR_EXT (RM_E_IO, 0x40),              /* unreadable, not ELF, dlopen failed */
  PLUGIN_E_ABI = ERR_EXT (RM_E_UNSUPPORTED, 0x40),      /* built for another ABI major */
  PLUGIN_E_INVALID = ERR_EXT (RM_E_INVALID, 0x40),      /* broken descriptor or key table */
};

struct plugin {
  char *path;                 /* the file that was loaded */
  void *dl;                   /* dlopen handle */
  struct rm_backend desc;     /* min(struct_size, sizeof desc) of the plugin's, rest zero */
  uint32_t plugin_struct_size;
  struct rm_config_key *keys; /* the key table re-laid to our struct layout */
  size_t nkeys;
  bool has_path_key;          /* declares RM_PATH_KEY: --path goes to the plugin */
};

/* Load and validate the plugin file at path.  expect_name, if not NULL, is the name
 * the descriptor must carry.  On failure returns NULL and fills err (a PLUGIN_E_* code, a
 * message that names the file, the problem and the fix); err may be NULL. */
struct plugin *plugin_load (const char *path, const char *expect_name, struct rm_error *err);

/* Find backend NAME: NAME itself if it contains a '/' or ends in ".so", else NAME.so in
 * each directory of dirs in order.  On failure err's message lists every directory
 * searched. */
struct plugin *plugin_find (const char *name, const struct strlist *dirs, struct rm_error *err);

void plugin_unload (struct plugin *p);

/* Look a declared key up by name, accepting '-' for '_' and the key's aliases. */
const struct rm_config_key *plugin_key (const struct plugin *p, const char *name);

const char *plugin_thread_model_name (int model);
/* Comma-separated names of the capability bits, e.g. "conditional-put, atomic-put". */
char *plugin_caps_string (uint64_t caps);
const char *plugin_key_type_name (int type);

#endif
