/* How to make N freshly renamed files durable at once (the choice behind local_sync in
 * plugins/local/local.c), without the plugin: each mode writes N files of 8 KiB into 50
 * directories through a temp file and rename(2), then flushes them.
 *   0  fsync file before the rename, fsync its directory after (ABI 1.0, each put)
 *   1  no flush at put; at the end fsync each file, then each directory
 *   2  as 1, plus sync_file_range(SYNC_FILE_RANGE_WRITE) at put to start write-back
 *   3  no flush at put; at the end one syncfs(2) on the directory
 *   4  as 3, plus sync_file_range at put
 *   cc -O2 -o strategies bench/local_sync_strategies.c && ./strategies MODE N EMPTY_DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NDIRS 50

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static void
flush_path (const char *p, int flags)
{
  int fd = open (p, O_RDONLY | flags);
  if (fd < 0 || fsync (fd) < 0)
    perror (p);
  if (fd >= 0)
    close (fd);
}

int
main (int argc, char **argv)
{
  char buf[8192], p[4096], t[4096];
  int mode, n, i, k;
  double t0, t1, t2;

  if (argc != 4)
    return fprintf (stderr, "usage: %s MODE N EMPTY_DIR\n", argv[0]), 2;
  mode = atoi (argv[1]);
  n = atoi (argv[2]);
  for (i = 0; i < NDIRS; i++) {
    snprintf (p, sizeof p, "%s/d%d", argv[3], i);
    mkdir (p, 0700);
  }
  t0 = now ();
  for (i = 0; i < n; i++) {
    int fd;
    snprintf (p, sizeof p, "%s/d%d/f%d", argv[3], i % NDIRS, i);
    snprintf (t, sizeof t, "%s/d%d/.tmp%d", argv[3], i % NDIRS, i);
    for (k = 0; k < (int) sizeof buf; k++)
      buf[k] = (char) (i * 31 + k);
    fd = open (t, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write (fd, buf, sizeof buf) != (ssize_t) sizeof buf)
      return perror (t), 1;
    if (mode == 0)
      fsync (fd);
    if (mode == 2 || mode == 4)
      sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    close (fd);
    if (rename (t, p) < 0)
      return perror (p), 1;
    if (mode == 0) {
      snprintf (t, sizeof t, "%s/d%d", argv[3], i % NDIRS);
      flush_path (t, O_DIRECTORY);
    }
  }
  t1 = now ();
  if (mode == 1 || mode == 2) {
    for (i = 0; i < n; i++) {
      snprintf (p, sizeof p, "%s/d%d/f%d", argv[3], i % NDIRS, i);
      flush_path (p, 0);
    }
    for (i = 0; i < NDIRS; i++) {
      snprintf (p, sizeof p, "%s/d%d", argv[3], i);
      flush_path (p, O_DIRECTORY);
    }
  }
  if (mode == 3 || mode == 4) {
    int fd = open (argv[3], O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs (fd) < 0)
      return perror (argv[3]), 1;
    close (fd);
  }
  t2 = now ();
  printf ("mode %d: puts %.3f s, flush %.3f s, total %.3f s\n", mode, t1 - t0, t2 - t1, t2 - t0);
  return 0;
}
