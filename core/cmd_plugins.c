/* The backend plugins found along the plugin search path, loaded, for the verbs that
 * describe them (completion and docs): each name once, the first found winning as it
 * does when a verb opens a backend by name. */
#include <config.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "plugin.h"
#include "base/log.h"

static int
cmp_plugin (const void *a, const void *b)
{
  return strcmp ((*(struct plugin *const *) a)->desc.name,
                 (*(struct plugin *const *) b)->desc.name);
}

struct plugin **
cmd_plugins_found (const struct cli *c, size_t *n)
{
  struct strlist dirs = STRLIST_INIT;
  cli_plugin_dirs (c, &dirs);
  struct plugin **out = NULL;
  *n = 0;
  for (size_t i = 0; i < dirs.n; i++) {
    DIR *d = opendir (dirs.items[i]);
    if (!d)
      continue;
    struct strlist files = STRLIST_INIT;
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
      if (str_has_suffix (e->d_name, ".so") && e->d_name[0] != '.')
        strlist_push (&files, e->d_name);
    closedir (d);
    for (size_t f = 0; f < files.n; f++) {
      char *path = xasprintf ("%s/%s", dirs.items[i], files.items[f]);
      struct rm_error err;
      struct plugin *p = plugin_load (path, NULL, &err);
      free (path);
      if (!p) {
        log_info ("%s", err.message);
        continue;
      }
      bool seen = false;
      for (size_t k = 0; k < *n && !seen; k++)
        seen = strcmp (out[k]->desc.name, p->desc.name) == 0;
      if (seen) {
        plugin_unload (p);
        continue;
      }
      out = xrealloc (out, (*n + 1) * sizeof *out);
      out[(*n)++] = p;
    }
    strlist_free (&files);
  }
  strlist_free (&dirs);
  if (*n)
    qsort (out, *n, sizeof *out, cmp_plugin);
  return out;
}

void
cmd_plugins_free (struct plugin **p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    plugin_unload (p[i]);
  free (p);
}
