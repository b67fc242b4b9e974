/* Driver of bench/local-barrier.sh: put N records of SIZE bytes through local.so as a
 * 1.0 core does (no open flags: every put fsyncs its file and directory) or as a 1.1
 * core does (RM_OPEN_BARRIER: the puts only write, one sync at the end makes them all
 * durable), and print the seconds the puts and the sync took.
 *   local_barrier PLUGIN.so DIR 1.0|1.1 N SIZE
 * Records go to DIR/releases/nsK/relJ/I.json.gz (50 namespaces, 4 releases each), the
 * shape of an export; DIR must not exist yet or be empty. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <releasemanager/backend.h>

struct src {
  const unsigned char *data;
  long long len, off;
};

static long long
src_read (void *opaque, void *buf, size_t len)
{
  struct src *s = opaque;
  size_t n = (size_t) (s->len - s->off) < len ? (size_t) (s->len - s->off) : len;

  memcpy (buf, s->data + s->off, n);
  s->off += (long long) n;
  return (long long) n;
}

static void
host_log (const struct rm_host *host, int level, const char *fmt, ...)
{
  (void) host;
  (void) level;
  (void) fmt;
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  struct rm_host host = {
    .struct_size = sizeof host, .abi_major = RM_BACKEND_ABI_MAJOR,
    .abi_minor = RM_BACKEND_ABI_MINOR, .version = "bench", .user_agent = "bench",
    .log = host_log,
  };
  const struct rm_backend *(*init) (void);
  const struct rm_backend *be;
  struct rm_error err = { 0, "" };
  unsigned char *data;
  double t0, t1, t2;
  void *dl, *h;
  long n, size, i;
  bool barrier;

  if (argc != 6 || (strcmp (argv[3], "1.0") != 0 && strcmp (argv[3], "1.1") != 0)) {
    fprintf (stderr, "usage: %s PLUGIN.so DIR 1.0|1.1 N SIZE\n", argv[0]);
    return 2;
  }
  barrier = strcmp (argv[3], "1.1") == 0;
  n = atol (argv[4]);
  size = atol (argv[5]);
  dl = dlopen (argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!dl || !(init = (const struct rm_backend *(*) (void)) dlsym (dl, "rm_backend_init"))) {
    fprintf (stderr, "%s: %s\n", argv[1], dlerror ());
    return 1;
  }
  be = init ();
  host.open_flags = barrier ? RM_OPEN_BARRIER : 0;
  {
    struct rm_kv config[] = { { "path", argv[2] }, { "fsync", "true" }, { NULL, NULL } };
    if (be->open (&host, config, &h, &err) != RM_OK) {
      fprintf (stderr, "open: %s\n", err.message);
      return 1;
    }
  }
  data = malloc ((size_t) size);
  if (!data)
    return 1;
  t0 = now ();
  for (i = 0; i < n; i++) {
    char key[128];
    struct src s = { data, size, 0 };
    struct rm_reader r = { .read = src_read, .size = size, .opaque = &s };
    long j;
    for (j = 0; j < size; j++)        /* distinct content, as records are */
      data[j] = (unsigned char) ((uint64_t) (i + 1) * 0x9E3779B97F4A7C15ull >> ((j & 7) * 8)) ^ (unsigned char) j;
    snprintf (key, sizeof key, "releases/ns%ld/rel%ld/%ld.json.gz", i % 50, i / 50 % 4, i);
    if (be->put (h, key, &r, NULL, NULL, &err) != RM_OK) {
      fprintf (stderr, "put %s: %s\n", key, err.message);
      return 1;
    }
  }
  t1 = now ();
  if (barrier && be->sync (h, &err) != RM_OK) {
    fprintf (stderr, "sync: %s\n", err.message);
    return 1;
  }
  t2 = now ();
  be->close (h);
  printf ("%s %.3f %.3f %.3f\n", argv[3], t1 - t0, t2 - t1, t2 - t0);
  free (data);
  return 0;
}
