/* Credentials for each request: the static ones from the kubeconfig, a token file that
 * is re-read whenever it changes on disk (projected service account tokens rotate), or
 * an exec plugin's, cached until their expirationTimestamp and dropped when the server
 * answers 401 to them (client-go's exec Authenticator does the same).  One lock guards
 * the cache, so concurrent requests run a plugin once. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

struct kube_auth {
  pthread_mutex_t lock;
  const struct kube_config *cfg;
  long exec_timeout_ms;
  unsigned long generation;

  /* token file */
  char *file_token;
  struct stat file_st;
  bool file_loaded;

  /* exec plugin */
  struct kube_exec_result exec;
  bool exec_valid;
  unsigned long exec_runs;
};

struct kube_auth *
kube_auth_new (const struct kube_config *cfg, long exec_timeout_ms)
{
  struct kube_auth *a = xcalloc (1, sizeof *a);
  pthread_mutex_init (&a->lock, NULL);
  a->cfg = cfg;
  a->exec_timeout_ms = exec_timeout_ms;
  a->generation = 1;
  return a;
}

void
kube_auth_free (struct kube_auth *a)
{
  if (!a)
    return;
  pthread_mutex_destroy (&a->lock);
  free (a->file_token);
  kube_exec_result_free (&a->exec);
  free (a);
}

void
kube_creds_free (struct kube_creds *cr)
{
  free (cr->token);
  kube_blob_free (&cr->cert);
  kube_blob_free (&cr->key);
  memset (cr, 0, sizeof *cr);
}

unsigned long
kube_auth_exec_runs (struct kube_auth *a)
{
  pthread_mutex_lock (&a->lock);
  unsigned long n = a->exec_runs;
  pthread_mutex_unlock (&a->lock);
  return n;
}

static bool
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
         && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* (Re)load the token file if it changed.  Caller holds the lock.  Returns 0, or -1 with
 * err set when there is no token at all. */
static int
refresh_token_file_locked (struct kube_auth *a, struct rm_error *err)
{
  const char *path = a->cfg->token_file;
  struct stat st;
  /* stat follows symlinks: the kubelet swaps ..data links when it rotates. */
  if (stat (path, &st) == 0 && a->file_loaded && same_file (&st, &a->file_st))
    return 0;
  struct kube_blob b;
  if (kube_read_file (path, &b) < 0) {
    int e = errno;
    if (a->file_token) {
      log_warn ("cannot re-read token file %s (%s); using the previous token", path, strerror (e));
      return 0;
    }
    return err_set (err, KUBE_E_AUTH, "cannot read token file %s: %s", path, strerror (e)), -1;
  }
  char *t = (char *) b.data;
  size_t n = b.len;
  while (n && strchr (" \t\r\n", t[n - 1]))
    t[--n] = '\0';
  size_t lead = strspn (t, " \t\r\n");
  if (!t[lead]) {
    kube_blob_free (&b);
    if (a->file_token)
      return 0;
    return err_set (err, KUBE_E_AUTH, "token file %s is empty", path), -1;
  }
  bool changed = !a->file_token || strcmp (a->file_token, t + lead) != 0;
  if (changed) {
    free (a->file_token);
    a->file_token = xstrdup (t + lead);
    log_add_secret (a->file_token);
    a->generation++;
    log_debug ("read token file %s", path);
  }
  kube_blob_free (&b);
  a->file_st = st;
  a->file_loaded = true;
  return 0;
}

int
kube_auth_get (struct kube_auth *a, struct kube_creds *out, struct rm_error *err)
{
  const struct kube_config *cfg = a->cfg;
  memset (out, 0, sizeof *out);
  pthread_mutex_lock (&a->lock);
  int rc = KUBE_OK;
  const char *token = cfg->token;
  const struct kube_blob *cert = &cfg->client_cert, *key = &cfg->client_key;

  if (cfg->exec) {
    time_t now = time (NULL);
    if (a->exec_valid && a->exec.expiry && now >= a->exec.expiry) {
      log_debug ("exec plugin credentials expired, running %s again", cfg->exec->command);
      a->exec_valid = false;
    }
    if (!a->exec_valid) {
      kube_exec_result_free (&a->exec);
      a->exec_runs++;
      rc = kube_exec_run (cfg, a->exec_timeout_ms, &a->exec, err);
      if (rc != KUBE_OK)
        goto out;
      a->exec_valid = true;
      a->generation++;
    }
    if (a->exec.token)
      token = a->exec.token;
    if (a->exec.cert.len) {
      cert = &a->exec.cert;
      key = &a->exec.key;
    }
    out->refreshable = true;
  }
  else if (cfg->token_file) {
    if (refresh_token_file_locked (a, err) < 0) {
      rc = err->code;
      goto out;
    }
    token = a->file_token;
    out->refreshable = true;
  }
  out->token = token ? xstrdup (token) : NULL;
  kube_blob_copy (&out->cert, cert);
  kube_blob_copy (&out->key, key);
  out->generation = a->generation;
out:
  pthread_mutex_unlock (&a->lock);
  return rc;
}

bool
kube_auth_unauthorized (struct kube_auth *a, const struct kube_creds *cr)
{
  bool retry = false;
  pthread_mutex_lock (&a->lock);
  if (a->cfg->exec) {
    if (cr->generation == a->generation && a->exec_valid) {
      log_debug ("server answered 401: dropping the exec plugin credentials");
      a->exec_valid = false;
    }
    retry = true;
  }
  else if (a->cfg->token_file) {
    struct rm_error ignored;
    refresh_token_file_locked (a, &ignored);
    retry = cr->generation != a->generation;
  }
  pthread_mutex_unlock (&a->lock);
  return retry;
}
