/* s3tool: drive the s3 plugin from scripts (integration, fault and interop tests, the
 * benchmark).  Options come from $S3_TEST_OPTS and -o key=value.
 *   s3tool [-v] [-o k=v]... put KEY FILE [--if-none-match] [--if-match ETAG] [--unknown-size]
 *                             get KEY FILE | stat KEY | list PREFIX | rm KEY
 *                             rm-many KEY... | caps | describe | put-dir DIR PREFIX [THREADS]
 * Exit status: 0, or 10 + the RM_E_* code (message on stderr). */
#include <config.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

static const struct rm_backend *be;
static void *handle;

struct file_reader {
  FILE *f;
  long long fail_after;         /* -1: never */
  long long done;
};

static long long
fr_read (void *opaque, void *buf, size_t len)
{
  struct file_reader *r = opaque;
  size_t n;
  if (r->fail_after >= 0 && r->done >= r->fail_after)
    return -1;
  n = fread (buf, 1, len, r->f);
  r->done += (long long) n;
  return ferror (r->f) ? -1 : (long long) n;
}

static int
fr_rewind (void *opaque)
{
  struct file_reader *r = opaque;
  r->done = 0;
  return fseek (r->f, 0, SEEK_SET) == 0 ? 0 : -1;
}

struct file_writer {
  const char *path;
  FILE *f;
};

static int
fw_write (void *opaque, const void *buf, size_t len)
{
  struct file_writer *w = opaque;
  return fwrite (buf, 1, len, w->f) == len ? 0 : -1;
}

static int
fw_reset (void *opaque)
{
  struct file_writer *w = opaque;
  if (w->f == stdout)
    return -1;
  return freopen (w->path, "wb", w->f) ? 0 : -1;
}

static int
fail (int rc, const struct rm_error *err)
{
  fprintf (stderr, "s3tool: %s: %s\n", rm_strerror (rc), err->message);
  return 10 + rc;
}

static int
emit_print (void *opaque, const struct rm_list_entry *e)
{
  (void) opaque;
  printf ("%s\t%lld\t%s\n", e->key, e->size, e->etag ? e->etag : "");
  return 0;
}

static int
put_file (const char *key, const char *path, const struct rm_put_options *o, int unknown,
          struct rm_error *err)
{
  struct file_reader fr = { strcmp (path, "-") ? fopen (path, "rb") : stdin, -1, 0 };
  struct rm_reader rd;
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  struct stat st;
  const char *fa = getenv ("S3TOOL_READ_FAIL_AFTER");
  int rc;
  if (fr.f == NULL) {
    perror (path);
    return RM_E_IO;
  }
  if (fa)
    fr.fail_after = atoll (fa);
  rd.read = fr_read;
  rd.rewind = fr.f == stdin ? NULL : fr_rewind;
  rd.size = !unknown && fr.f != stdin && fstat (fileno (fr.f), &st) == 0 ? (long long) st.st_size : -1;
  rd.opaque = &fr;
  rc = be->put (handle, key, &rd, o, &info, err);
  if (fr.f != stdin)
    fclose (fr.f);
  if (rc == RM_OK && o)
    printf ("%s\n", info.etag);
  return rc;
}

struct job {
  char **files;
  const char *dir, *prefix;
  size_t n, next;
  int rc;
  pthread_mutex_t lock;
};

static void *
put_worker (void *arg)
{
  struct job *j = arg;
  for (;;) {
    size_t i;
    char path[4096], key[2048];
    struct rm_error err = { 0, "" };
    int rc;
    pthread_mutex_lock (&j->lock);
    i = j->next++;
    pthread_mutex_unlock (&j->lock);
    if (i >= j->n)
      return NULL;
    snprintf (path, sizeof path, "%s/%s", j->dir, j->files[i]);
    snprintf (key, sizeof key, "%s%s", j->prefix, j->files[i]);
    rc = put_file (key, path, NULL, 0, &err);
    if (rc != RM_OK) {
      pthread_mutex_lock (&j->lock);
      j->rc = fail (rc, &err);
      pthread_mutex_unlock (&j->lock);
    }
  }
}

int
main (int argc, char **argv)
{
  const char *settings[64];
  size_t ns = 0;
  struct rm_error err = { 0, "" };
  char loaderr[4200];
  struct rm_kv *cfg;
  const char *cmd;
  int i = 1, rc;

  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp (argv[i], "-v") == 0)
      harness_verbose = RM_LOG_DEBUG;
    else if (strcmp (argv[i], "-o") == 0 && i + 1 < argc && ns < 64)
      settings[ns++] = argv[++i];
    else {
      fprintf (stderr, "s3tool: bad option %s\n", argv[i]);
      return 2;
    }
  }
  if (i >= argc) {
    fprintf (stderr, "usage: s3tool [-v] [-o k=v]... COMMAND ARGS\n");
    return 2;
  }
  cmd = argv[i++];
  be = harness_load (loaderr, sizeof loaderr);
  if (be == NULL) {
    fprintf (stderr, "s3tool: %s\n", loaderr);
    return 2;
  }
  cfg = harness_env_config (be, settings, ns);
  rc = be->open (&harness_host, cfg, &handle, &err);
  if (rc != RM_OK) {
    harness_config_free (cfg);
    return fail (rc, &err);
  }

  if (strcmp (cmd, "put") == 0 && argc - i >= 2) {
    struct rm_put_options o = { sizeof o, 0, NULL, NULL };
    int unknown = 0, j;
    for (j = i + 2; j < argc; j++) {
      if (strcmp (argv[j], "--if-none-match") == 0)
        o.flags |= RM_PUT_IF_NONE_MATCH;
      else if (strcmp (argv[j], "--if-match") == 0 && j + 1 < argc)
        o.if_match = argv[++j];
      else if (strcmp (argv[j], "--unknown-size") == 0)
        unknown = 1;
    }
    rc = put_file (argv[i], argv[i + 1], &o, unknown, &err);
  }
  else if (strcmp (cmd, "get") == 0 && argc - i == 2) {
    struct file_writer w = { argv[i + 1], strcmp (argv[i + 1], "-") ? fopen (argv[i + 1], "wb") : stdout };
    struct rm_writer wr = { fw_write, fw_reset, &w };
    if (w.f == NULL) {
      perror (argv[i + 1]);
      be->close (handle);
      harness_config_free (cfg);
      return 2;
    }
    rc = be->get (handle, argv[i], &wr, NULL, &err);
    if (w.f != stdout)
      fclose (w.f);
  }
  else if (strcmp (cmd, "stat") == 0 && argc - i == 1) {
    struct rm_object_info info = { sizeof info, -1, -1, "" };
    rc = be->stat (handle, argv[i], &info, &err);
    if (rc == RM_OK)
      printf ("%lld %s %lld\n", info.size, info.etag, info.mtime);
  }
  else if (strcmp (cmd, "list") == 0 && argc - i >= 1) {
    char token[RM_LIST_TOKEN_MAX] = "";
    unsigned max = argc - i >= 2 ? (unsigned) atoi (argv[i + 1]) : 0;
    int pages = 0;
    do {
      char prev[RM_LIST_TOKEN_MAX];
      snprintf (prev, sizeof prev, "%s", token);
      rc = be->list (handle, argv[i], prev, max, emit_print, NULL, token, sizeof token, &err);
      pages++;
    } while (rc == RM_OK && token[0]);
    fprintf (stderr, "s3tool: %d pages\n", pages);
  }
  else if (strcmp (cmd, "rm") == 0 && argc - i == 1)
    rc = be->remove (handle, argv[i], &err);
  else if (strcmp (cmd, "rm-many") == 0) {
    int n = argc - i, j;
    int *codes = calloc ((size_t) n + 1, sizeof *codes);
    rc = be->remove_many (handle, (const char *const *) argv + i, (size_t) n, codes, &err);
    for (j = 0; rc == RM_OK && j < n; j++)
      printf ("%s\t%s\n", argv[i + j], rm_strerror (codes[j]));
    free (codes);
  }
  else if (strcmp (cmd, "caps") == 0) {
    unsigned long long c = be->capabilities (handle);
    printf ("%s%s%s%s\n", c & RM_CAP_CONDITIONAL_PUT ? "conditional " : "",
            c & RM_CAP_ATOMIC_PUT ? "atomic " : "", c & RM_CAP_ENCRYPTION ? "encryption " : "",
            c & RM_CAP_REMOTE ? "remote" : "");
    rc = RM_OK;
  }
  else if (strcmp (cmd, "describe") == 0) {
    char buf[1024];
    rc = be->describe (handle, buf, sizeof buf) == 0 ? RM_OK : RM_E_INTERNAL;
    printf ("%s\n", buf);
  }
  else if (strcmp (cmd, "put-dir") == 0 && argc - i >= 2) {
    struct job j = { NULL, argv[i], argv[i + 1], 0, 0, 0, PTHREAD_MUTEX_INITIALIZER };
    int nthreads = argc - i >= 3 ? atoi (argv[i + 2]) : 8, t;
    pthread_t th[64];
    DIR *d = opendir (j.dir);
    struct dirent *e;
    size_t cap = 0;
    if (d == NULL) {
      perror (j.dir);
      be->close (handle);
      harness_config_free (cfg);
      return 2;
    }
    while ((e = readdir (d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      if (j.n == cap)
        j.files = realloc (j.files, (cap = cap ? 2 * cap : 256) * sizeof *j.files);
      j.files[j.n++] = strdup (e->d_name);
    }
    closedir (d);
    if (nthreads < 1 || nthreads > 64)
      nthreads = 8;
    for (t = 0; t < nthreads; t++)
      pthread_create (&th[t], NULL, put_worker, &j);
    for (t = 0; t < nthreads; t++)
      pthread_join (th[t], NULL);
    be->close (handle);
    for (size_t k = 0; k < j.n; k++)
      free (j.files[k]);
    free (j.files);
    harness_config_free (cfg);
    return j.rc;
  }
  else {
    fprintf (stderr, "s3tool: bad command or arguments: %s\n", cmd);
    be->close (handle);
    harness_config_free (cfg);
    return 2;
  }
  be->close (handle);
  harness_config_free (cfg);
  return rc == RM_OK ? 0 : fail (rc, &err);
}
