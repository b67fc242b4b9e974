/* kube_watch_probe: drives the daemon's Kubernetes groundwork (core/kube/watch.c,
 * lease.c, the metadata-only LIST) against the fake API server for test_watch.py and
 * test_lease.py.  Output is JSON, one object per line, flushed at once.
 *
 *   kube_watch_probe --kubeconfig F follow PATH [--label SEL] [--timeout S] [--bookmarks]
 *                    [--max-event N] [--step]
 *       LIST (metadata only, limit 2 to page) then WATCH from its resourceVersion, for
 *       ever: a watch that ends (server timeout, dropped connection) resumes from the last
 *       resourceVersion seen, 410 Gone (or an oversized event) re-LISTs.  Lines: {"list": RV, "items": [[ns, name,
 *       uid, rv, owner-label, has-data]], "pages": N, "metadata_only": B}, {"type": T, "ns", "name",
 *       "uid", "rv"}, {"end": CODE, "last_rv": RV, "message": M}.  --step: after each
 *       end, wait for a line on stdin before going on.  SIGTERM ends the watch through its
 *       stop function: {"end": "ABORTED"...}, exit 0.
 *   kube_watch_probe ... lease NS NAME ID [--duration MS] [--renew MS] [--retry MS]
 *       kube_lease_run until SIGTERM (then the Lease is released): {"lease": "started" |
 *       "stopped" | "leader", "id": ID, "holder": H}.
 *   kube_watch_probe ... lease-steps NS NAME
 *       Two contenders a and b on stepped clocks, one attempt at a time (see test_lease.py):
 *       {"step": S, "rc": CODE, "a": B, "b": B, "holder": H, "transitions": N}.
 *
 * Exit status: 0, 1 (an unexpected client error: "ERROR <code>: <message>" on stderr),
 * 2 usage. */
#include <config.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/log.h"
#include "kube/kube.h"

static struct kube_client *client;
static volatile sig_atomic_t stop_flag;

static void
on_term (int sig)
{
  (void) sig;
  stop_flag = 1;
}

static bool
stop_requested (void *ud)
{
  (void) ud;
  return stop_flag != 0;
}

static void
die_kube (const struct rm_error *err)
{
  fprintf (stderr, "ERROR %s: %s\n", kube_strerror (err->code), err->message);
  kube_client_free (client);
  exit (1);
}

static void
emit (cJSON *o)
{
  char *s = cJSON_PrintUnformatted (o);
  puts (s);
  fflush (stdout);
  free (s);
  cJSON_Delete (o);
}

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

/* ---- follow ---- */

static int
list_item (void *ud, const cJSON *item)
{
  cJSON *items = ud;
  struct kube_meta m;
  if (!kube_object_meta (item, &m))
    return 1;
  cJSON *row = cJSON_CreateArray ();
  const char *f[] = { m.namespace, m.name, m.uid, m.resource_version, kube_meta_label (&m, "owner") };
  for (size_t i = 0; i < ARRAY_SIZE (f); i++)
    cJSON_AddItemToArray (row, cJSON_CreateString (or_empty (f[i])));
  /* A metadata-only item has no data. */
  cJSON_AddItemToArray (row, cJSON_CreateBool (cJSON_HasObjectItem (item, "data")));
  cJSON_AddItemToArray (items, row);
  return 0;
}

static void
list_restart (void *ud)
{
  cJSON *items = ud;
  while (cJSON_GetArraySize (items))
    cJSON_DeleteItemFromArray (items, 0);
}

static char *
relist (const char *path, const char *label)
{
  struct kube_list_opts o = { .label_selector = label, .limit = 2, .metadata_only = true };
  struct kube_list_info info;
  struct rm_error err;
  cJSON *items = cJSON_CreateArray ();
  if (kube_list (client, path, &o, list_item, list_restart, items, &info, &err) != KUBE_OK)
    die_kube (&err);
  cJSON *out = cJSON_CreateObject ();
  cJSON_AddStringToObject (out, "list", or_empty (info.resource_version));
  cJSON_AddItemToObject (out, "items", items);
  cJSON_AddNumberToObject (out, "pages", info.pages);
  cJSON_AddBoolToObject (out, "metadata_only", info.metadata_only);
  emit (out);
  char *rv = info.resource_version;
  info.resource_version = NULL;
  kube_list_info_free (&info);
  return rv;
}

static int
on_event (void *ud, enum kube_watch_type type, const cJSON *obj)
{
  (void) ud;
  static const char *const names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK" };
  struct kube_meta m;
  kube_object_meta (obj, &m);
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "type", names[type]);
  cJSON_AddStringToObject (o, "ns", or_empty (m.namespace));
  cJSON_AddStringToObject (o, "name", or_empty (m.name));
  cJSON_AddStringToObject (o, "uid", or_empty (m.uid));
  cJSON_AddStringToObject (o, "rv", or_empty (m.resource_version));
  emit (o);
  return 0;
}

static const char *
code_name (int rc)
{
  switch (rc) {
  case KUBE_OK: return "OK";
  case KUBE_E_NETWORK: return "NETWORK";
  case KUBE_E_GONE: return "GONE";
  case KUBE_E_ABORTED: return "ABORTED";
  case KUBE_E_PROTOCOL: return "PROTOCOL";
  case KUBE_E_CONFLICT: return "CONFLICT";
  default: return kube_strerror (rc);
  }
}

static int
follow (const char *path, const char *label, long timeout, bool bookmarks, size_t max_event,
        bool step)
{
  char *rv = relist (path, label);
  for (;;) {
    struct kube_watch_opts o = { .label_selector = label, .resource_version = rv,
                                 .timeout_seconds = timeout, .bookmarks = bookmarks,
                                 .stop = stop_requested, .max_event_bytes = max_event };
    char *last = NULL;
    struct rm_error err;
    int rc = kube_watch (client, path, &o, on_event, NULL, &last, &err);
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddStringToObject (e, "end", code_name (rc));
    cJSON_AddStringToObject (e, "last_rv", or_empty (last));
    cJSON_AddStringToObject (e, "message", rc == KUBE_OK ? "" : err.message);
    emit (e);
    free (rv);
    rv = last;
    if (rc == KUBE_E_ABORTED) {
      free (rv);
      return 0;
    }
    if (step) {
      char buf[64];
      if (!fgets (buf, sizeof buf, stdin))
        break;
    }
    /* 410, or an event we cannot take (resuming would meet it again): LIST again. */
    if (rc == KUBE_E_GONE || rc == KUBE_E_PROTOCOL) {
      free (rv);
      rv = relist (path, label);
    }
    else if (rc != KUBE_OK && rc != KUBE_E_NETWORK) {
      free (rv);
      die_kube (&err);
    }
  }
  free (rv);
  return 0;
}

/* ---- lease ---- */

struct contender {
  const char *id;
  struct kube_lease *l;
};

static void
say (const struct contender *c, const char *what, const char *holder)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "lease", what);
  cJSON_AddStringToObject (o, "id", c->id);
  cJSON_AddStringToObject (o, "holder", holder);
  emit (o);
}

static void
started (void *ud)
{
  say (ud, "started", ((struct contender *) ud)->id);
}

static void
stopped (void *ud)
{
  say (ud, "stopped", "");
}

static void
new_leader (void *ud, const char *id)
{
  say (ud, "leader", id);
}

static bool
lease_stop (void *ud)
{
  return stop_requested (ud);
}

static int
lease (const char *ns, const char *name, const char *id, long dur, long renew, long retry)
{
  struct kube_lease_opts o = { .namespace = ns, .name = name, .identity = id,
                               .lease_duration_ms = dur, .renew_deadline_ms = renew,
                               .retry_period_ms = retry };
  struct contender c = { id, NULL };
  struct rm_error err;
  if (kube_lease_new (client, &o, &c.l, &err) != KUBE_OK)
    die_kube (&err);
  struct kube_lease_callbacks cb = { started, stopped, new_leader, lease_stop, &c };
  int rc = kube_lease_run (c.l, &cb, &err);
  kube_lease_free (c.l);
  if (rc != KUBE_OK)
    die_kube (&err);
  say (&c, "released", "");
  return 0;
}

/* Two contenders on clocks the test steps. */
struct stepped {
  long long now;
  struct kube_lease *other;     /* before_update: this one writes first */
  bool fired;
};

static long long
step_clock (void *ud)
{
  return ((struct stepped *) ud)->now;
}

static void
interleave (void *ud)
{
  struct stepped *s = ud;
  if (!s->other || s->fired)
    return;
  s->fired = true;
  struct rm_error err;
  bool leading;
  int rc = kube_lease_try (s->other, &leading, &err);
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "interleaved", code_name (rc));
  cJSON_AddBoolToObject (o, "leading", leading);
  emit (o);
}

static void
report (const char *step, int rc, struct kube_lease *a, struct kube_lease *b)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "step", step);
  cJSON_AddStringToObject (o, "rc", code_name (rc));
  cJSON_AddBoolToObject (o, "a", kube_lease_leading (a));
  cJSON_AddBoolToObject (o, "b", kube_lease_leading (b));
  cJSON *got = NULL;
  struct rm_error err;
  char *p = kube_path ("coordination.k8s.io/v1", "lease-steps", "leases", "steps");
  if (kube_get (client, p, &got, &err) == KUBE_OK) {
    const cJSON *spec = cJSON_GetObjectItem (got, "spec");
    const cJSON *h = cJSON_GetObjectItem (spec, "holderIdentity");
    cJSON_AddStringToObject (o, "holder", cJSON_IsString (h) ? h->valuestring : "");
    cJSON_AddItemToObject (o, "spec", cJSON_Duplicate (spec, true));
  }
  free (p);
  cJSON_Delete (got);
  emit (o);
}

static int
lease_steps (void)
{
  struct stepped ca = { 1000000, NULL, false }, cb = { 5000000, NULL, false };
  struct kube_lease_opts oa = { .namespace = "lease-steps", .name = "steps", .identity = "a",
                                .lease_duration_ms = 15000, .renew_deadline_ms = 10000,
                                .retry_period_ms = 2000, .clock = step_clock, .clock_ud = &ca,
                                .before_update = interleave };
  struct kube_lease_opts ob = oa;
  ob.identity = "b";
  ob.clock_ud = &cb;
  struct kube_lease *a = NULL, *b = NULL;
  struct rm_error err;
  if (kube_lease_new (client, &oa, &a, &err) != KUBE_OK || kube_lease_new (client, &ob, &b, &err) != KUBE_OK)
    die_kube (&err);
  int rc;
  rc = kube_lease_try (a, NULL, &err);
  report ("a-creates", rc, a, b);
  rc = kube_lease_try (b, NULL, &err);
  report ("b-sees-a", rc, a, b);
  ca.now += 2000;
  rc = kube_lease_try (a, NULL, &err);
  report ("a-renews", rc, a, b);
  cb.now += 10000;            /* b saw a renew 10 s ago by its clock: still valid */
  rc = kube_lease_try (b, NULL, &err);
  report ("b-waits", rc, a, b);
  cb.now += 15001;            /* a has not renewed for a lease duration, by b's clock */
  rc = kube_lease_try (b, NULL, &err);
  report ("b-takes-over", rc, a, b);
  ca.now += 1000;             /* a wakes up, still valid by its own clock: its PUT gets 409 */
  rc = kube_lease_try (a, NULL, &err);
  report ("a-sees-b", rc, a, b);
  rc = kube_lease_release (b, &err);
  report ("b-releases", rc, a, b);
  /* a and b both see the released Lease; a reads it, then b writes first: a's write is
   * refused (409) and a does not lead. */
  ca.other = b;
  rc = kube_lease_try (a, NULL, &err);
  report ("a-conflicts", rc, a, b);
  ca.other = NULL;
  rc = kube_lease_try (a, NULL, &err);
  report ("a-rereads", rc, a, b);
  kube_lease_free (a);
  kube_lease_free (b);
  return 0;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "kubeconfig", required_argument, NULL, 'k' }, { "label", required_argument, NULL, 'l' },
    { "timeout", required_argument, NULL, 'T' }, { "bookmarks", no_argument, NULL, 'b' },
    { "max-event", required_argument, NULL, 'M' }, { "step", no_argument, NULL, 's' },
    { "duration", required_argument, NULL, 'D' }, { "renew", required_argument, NULL, 'R' },
    { "retry", required_argument, NULL, 'P' }, { "verbose", no_argument, NULL, 'v' },
    { NULL, 0, NULL, 0 }
  };
  struct kube_config_opts co = { 0 };
  const char *label = NULL;
  long timeout = 0, dur = 0, renew = 0, retry = 0;
  size_t max_event = 0;
  bool bookmarks = false, step = false;
  int ch;
  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case 'k': co.kubeconfig = optarg; break;
    case 'l': label = optarg; break;
    case 'T': timeout = atol (optarg); break;
    case 'b': bookmarks = true; break;
    case 'M': max_event = (size_t) atol (optarg); break;
    case 's': step = true; break;
    case 'D': dur = atol (optarg); break;
    case 'R': renew = atol (optarg); break;
    case 'P': retry = atol (optarg); break;
    case 'v': log_set_level (RM_LOG_DEBUG); break;
    default: return 2;
    }
  }
  if (optind >= argc) {
    fputs ("usage: kube_watch_probe [options] follow PATH | lease NS NAME ID | lease-steps\n", stderr);
    return 2;
  }
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  const char *cmd = argv[optind];
  struct kube_config *cfg;
  struct rm_error err;
  if (kube_config_load (&co, &cfg, &err) != KUBE_OK)
    die_kube (&err);
  struct kube_client_opts opts = { .backoff_base_ms = 50, .backoff_max_ms = 1000 };
  if (kube_client_new (cfg, &opts, &client, &err) != KUBE_OK)
    die_kube (&err);
  int rc = 2;
  if (strcmp (cmd, "follow") == 0 && optind + 1 < argc)
    rc = follow (argv[optind + 1], label, timeout, bookmarks, max_event, step);
  else if (strcmp (cmd, "lease") == 0 && optind + 3 < argc)
    rc = lease (argv[optind + 1], argv[optind + 2], argv[optind + 3], dur, renew, retry);
  else if (strcmp (cmd, "lease-steps") == 0)
    rc = lease_steps ();
  else
    fprintf (stderr, "kube_watch_probe: unknown command %s\n", cmd);
  kube_client_free (client);
  return rc;
}
