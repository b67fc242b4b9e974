/* Test harness for the s3 plugin: loads the built s3.so exactly as the core does
 * (dlopen RTLD_NOW | RTLD_LOCAL, one dlsym of rm_backend_init), supplies a host table,
 * and builds the configuration from "key=value" lines.  Header-only; used by
 * tests/plugins/s3/s3tool.c and tests/plugins/test_s3_plugin.c. */
#ifndef S3_TEST_HARNESS_H
#define S3_TEST_HARNESS_H

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <releasemanager/backend.h>

static int harness_verbose;
static char harness_log[1 << 16];     /* everything logged, for assertions */
static size_t harness_log_len;
static pthread_mutex_t harness_log_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format (printf, 3, 4)))
static void
harness_logf (const struct rm_host *host, int level, const char *fmt, ...)
{
  char line[2048];
  va_list ap;
  (void) host;
  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  pthread_mutex_lock (&harness_log_lock);     /* host->log must be thread-safe */
  if (harness_log_len + strlen (line) + 2 < sizeof harness_log) {
    harness_log_len += (size_t) snprintf (harness_log + harness_log_len,
                                          sizeof harness_log - harness_log_len, "%d %s\n",
                                          level, line);
  }
  if (harness_verbose >= level || level == RM_LOG_WARN || level == RM_LOG_ERROR)
    fprintf (stderr, "[plugin %d] %s\n", level, line);
  pthread_mutex_unlock (&harness_log_lock);
}

static int
harness_should_stop (const struct rm_host *host)
{
  (void) host;
  return 0;
}

static const struct rm_host harness_host = {
  .struct_size = sizeof (struct rm_host),
  .abi_major = RM_BACKEND_ABI_MAJOR,
  .abi_minor = RM_BACKEND_ABI_MINOR,
  .version = "test",
  .user_agent = "releasemanager-test/0",
  .log = harness_logf,
  .should_stop = harness_should_stop,
};

/* Path of the built plugin: $S3_PLUGIN, else $abs_top_builddir/plugins/s3/.libs/s3.so. */
static const struct rm_backend *
harness_load (char *errbuf, size_t errsz)
{
  static char path[4096];
  const char *p = getenv ("S3_PLUGIN"), *b = getenv ("abs_top_builddir");
  void *dl;
  rm_backend_init_fn init;
  if (p == NULL) {
    snprintf (path, sizeof path, "%s/plugins/s3/.libs/s3.so", b ? b : ".");
    p = path;
  }
  dl = dlopen (p, RTLD_NOW | RTLD_LOCAL);
  if (dl == NULL) {
    snprintf (errbuf, errsz, "dlopen %s: %s", p, dlerror ());
    return NULL;
  }
  init = (rm_backend_init_fn) (uintptr_t) dlsym (dl, RM_BACKEND_INIT_SYMBOL);
  if (init == NULL) {
    snprintf (errbuf, errsz, "%s: no %s", p, RM_BACKEND_INIT_SYMBOL);
    return NULL;
  }
  return init ();
}

/* Configuration: every declared key, in table order, from "k=v" settings; later
 * settings override earlier ones; unset keys get their default.  Returns a
 * NULL-terminated array; the values point into settings. */
static struct rm_kv *
harness_config (const struct rm_backend *be, const char *const *settings, size_t n)
{
  size_t nkeys = 0, i, j;
  const struct rm_config_key *k;
  struct rm_kv *kv;
  for (k = be->config_keys; k->name; k++)
    nkeys++;
  kv = calloc (nkeys + 1, sizeof *kv);
  for (i = 0; i < nkeys; i++) {
    k = &be->config_keys[i];
    kv[i].key = k->name;
    kv[i].value = k->default_value;
    for (j = 0; j < n; j++) {
      size_t l = strlen (k->name);
      if (strncmp (settings[j], k->name, l) == 0 && settings[j][l] == '=')
        kv[i].value = settings[j] + l + 1;
    }
  }
  return kv;
}

static char *harness_opts_copy;

/* Settings from $S3_TEST_OPTS (newline-separated k=v) followed by extra ones.  Free
 * with harness_config_free. */
static struct rm_kv *
harness_env_config (const struct rm_backend *be, const char *const *extra, size_t nextra)
{
  const char *env = getenv ("S3_TEST_OPTS");
  char *save = NULL, *line;
  const char *all[128];
  size_t n = 0, i;
  free (harness_opts_copy);
  harness_opts_copy = strdup (env ? env : "");
  for (line = strtok_r (harness_opts_copy, "\n", &save); line && n < 64;
       line = strtok_r (NULL, "\n", &save))
    all[n++] = line;
  for (i = 0; i < nextra && n < 128; i++)
    all[n++] = extra[i];
  return harness_config (be, all, n);
}

static void
harness_config_free (struct rm_kv *kv)
{
  free (kv);
  free (harness_opts_copy);
  harness_opts_copy = NULL;
}

#endif
