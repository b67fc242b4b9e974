/* A main() for the fuzz targets without libFuzzer, after LLVM's
 * StandaloneFuzzTargetMain.c: run LLVMFuzzerTestOneInput once on each file named on the
 * command line (a directory: on each file in it).  `make check` runs the targets so,
 * built by the normal compiler, over fuzz/regress/NAME/ and fuzz/corpus/NAME/; a crash or
 * a sanitizer report fails the test. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets that need no set-up do not define it. */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__((weak));

static int
run_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  if (!f) {
    fprintf (stderr, "%s: %s\n", path, strerror (errno));
    return -1;
  }
  size_t cap = 4096, len = 0, got;
  uint8_t *buf = malloc (cap);
  while (buf && (got = fread (buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      uint8_t *more = realloc (buf, cap *= 2);
      if (!more)
        free (buf);
      buf = more;
    }
  }
  int bad = ferror (f) || !buf;
  fclose (f);
  if (bad) {
    fprintf (stderr, "%s: cannot read\n", path);
    free (buf);
    return -1;
  }
  /* The exact size, so ASan sees a read past the end of the input. */
  uint8_t *data = malloc (len ? len : 1);
  if (!data)
    abort ();
  memcpy (data, buf, len);
  free (buf);
  LLVMFuzzerTestOneInput (data, len);
  free (data);
  return 0;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
run_dir (const char *dir, size_t *count)
{
  DIR *d = opendir (dir);
  if (!d) {
    fprintf (stderr, "%s: %s\n", dir, strerror (errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir (d))) {
    if (e->d_name[0] == '.')
      continue;
    names = realloc (names, (n + 1) * sizeof *names);
    if (!names)
      abort ();
    size_t sz = strlen (dir) + strlen (e->d_name) + 2;
    names[n] = malloc (sz);
    if (!names[n])
      abort ();
    snprintf (names[n++], sz, "%s/%s", dir, e->d_name);
  }
  closedir (d);
  qsort (names, n, sizeof *names, cmp_names);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (run_file (names[i]) != 0)
      rc = -1;
    else
      ++*count;
    free (names[i]);
  }
  free (names);
  return rc;
}

int
main (int argc, char **argv)
{
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize (&argc, &argv);
  size_t count = 0;
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat (argv[i], &st) == 0 && S_ISDIR (st.st_mode))
      rc |= run_dir (argv[i], &count);
    else if (run_file (argv[i]) == 0)
      count++;
    else
      rc = -1;
  }
  fprintf (stderr, "%s: %zu inputs run\n", argv[0], count);
  return rc ? 1 : 0;
}
