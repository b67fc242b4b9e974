/* fuzz_file.h: the input as a file, for readers that take a path. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_file.h"

static char dir[256];

static void
remove_dir (void)
{
  char path[512];
  static const char *const names[] = { "config", "kubeconfig", NULL };
  for (size_t i = 0; names[i]; i++) {
    snprintf (path, sizeof path, "%s/%s", dir, names[i]);
    unlink (path);
  }
  rmdir (dir);
}

const char *
fuzz_write_file (const char *name, const uint8_t *data, size_t size)
{
  static char path[512];
  if (!dir[0]) {
    const char *tmp = getenv ("TMPDIR");
    snprintf (dir, sizeof dir, "%s/rm-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (dir))
      abort ();
    atexit (remove_dir);
  }
  snprintf (path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen (path, "wb");
  if (!f || (size && fwrite (data, 1, size, f) != size) || fclose (f) != 0)
    abort ();
  return path;
}

bool
fuzz_names_device (const uint8_t *data, size_t size)
{
  static const char *const bad[] = { "/dev", "/proc", "/sys", "\\", NULL };
  for (size_t i = 0; bad[i]; i++)
    if (memmem (data, size, bad[i], strlen (bad[i])))
      return true;
  return false;
}
