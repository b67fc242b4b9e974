/* Finding, loading and validating backend plugins.  This is the only part of the core
 * that sees dlopen(); everything else uses the validated descriptor copy in struct
 * plugin (and, once opened, struct backend from backend.h). */
#ifndef RM_PLUGIN_H
#define RM_PLUGIN_H

#include <stdbool.h>

#include <releasemanager/backend.h>

#include "base/util.h"

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
 * the descriptor must carry.  On failure returns NULL and sets *error to an allocated
 * message that names the file, the problem and the fix. */
struct plugin *plugin_load (const char *path, const char *expect_name, char **error);

/* Find backend NAME: NAME itself if it contains a '/' or ends in ".so", else NAME.so in
 * each directory of dirs in order.  On failure *error lists every directory searched. */
struct plugin *plugin_find (const char *name, const struct strlist *dirs, char **error);

void plugin_unload (struct plugin *p);

/* Look a declared key up by name, accepting '-' for '_' and the key's aliases. */
const struct rm_config_key *plugin_key (const struct plugin *p, const char *name);

const char *plugin_thread_model_name (int model);
/* Comma-separated names of the capability bits, e.g. "conditional-put, atomic-put". */
char *plugin_caps_string (uint64_t caps);
const char *plugin_key_type_name (int type);

#endif
