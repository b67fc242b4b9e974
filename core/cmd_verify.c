/* `releasemanager verify`: check the stored snapshot against its index, as restic's
 * `check` does: every record the index lists read back (size, gzip, SHA-256, the release
 * it holds; store/verify.c), the state file, and the keys no index entry lists.  Each
 * problem is a line naming the key.  --repair reads a damaged or missing record's source
 * object from the cluster and puts it back when the cluster still holds exactly the
 * indexed content. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "base/sha256.h"
#include "helm/helm.h"
#include "import/import.h"
#include "kube/kube.h"
#include "store/crypt.h"
#include "store/history.h"
#include "store/legacy.h"
#include "store/lock.h"
#include "store/verify.h"

static const struct cli_option verify_options[] = {
  { "repair", 0, CLI_FLAG, NULL, NULL,
    "put damaged or missing records back from the cluster (needs --kubeconfig)", 0 },
  { "threads", 0, CLI_VALUE, "N", "8", "records read in parallel", 0 },
  { "output", 'o', CLI_VALUE, "FORMAT", "text", "text or json", CLI_NO_FILE | CLI_NO_ENV },
  { "lock-timeout", 0, CLI_VALUE, "DURATION", "0",
    "--repair: wait up to DURATION (30s, 5m) for another writer's store lock; 0: fail at once",
    0 },
  { "snapshot", 0, CLI_VALUE, "ID|TIME", NULL,
    "the snapshot to verify: an id, or the newest at or before TIME (default: the newest)",
    CLI_NO_FILE | CLI_NO_ENV },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* What --repair did for one record. */
enum repair_state {
  REPAIR_NONE,            /* not asked, or nothing to repair */
  REPAIR_DONE,            /* put back and verified */
  REPAIR_WOULD,           /* --dry-run: the cluster holds the content */
  REPAIR_FAILED,          /* why says why */
};

struct verify_cmd {
  bool json, repair;
  struct store_index *ix;
  bool legacy;
  struct strlist bad;                 /* legacy: "KEY: why" of each unreadable file */
  struct store_check *chk;            /* one per ix record */
  enum repair_state *rs;
  char **rwhy;
  double lock_timeout;
  struct store_lock *lock;            /* --repair: held from before the index is read */
};

static int
check_verify (struct cmd_ctx *x)
{
  const char *format = cli_get (x->cli, "output");
  if (strcmp (format, "text") != 0 && strcmp (format, "json") != 0) {
    log_error ("--output: '%s' is not a format (use text or json)", format);
    return EXIT_USAGE;
  }
  struct verify_cmd *v = xcalloc (1, sizeof *v);
  x->opts = v;
  v->json = strcmp (format, "json") == 0;
  v->repair = cli_flag (x->cli, "repair");
  struct rm_error err;
  const char *lt = cli_get (x->cli, "lock-timeout");
  if (store_lock_parse_timeout (lt, &v->lock_timeout, &err) != RM_OK) {
    log_error ("--lock-timeout: '%s' %s", lt, err.message);
    return EXIT_USAGE;
  }
  /* Only --repair writes (and not on a dry run), and only it reads the cluster. */
  x->read_only = !v->repair || x->dry_run;
  x->cluster = v->repair;
  return EXIT_OK;
}

/* The index (or the original tool's files), before any cluster is opened. */
static int
prepare_verify (struct cmd_ctx *x)
{
  struct verify_cmd *v = x->opts;
  struct rm_error err;
  /* A repair writes: one writer per store, and the index read under the lock. */
  struct store_lock_opts lo = { .command = "verify --repair", .timeout = v->lock_timeout };
  if (!x->read_only && store_lock_acquire (x->b, &lo, &v->lock, &err) != RM_OK) {
    char *where = backend_describe (x->b);
    log_error ("cannot lock %s: %s", where, err.message);
    free (where);
    return EXIT_ERROR;
  }
  int rc = store_snapshot_load_any (x->b, cli_get (x->cli, "snapshot"), imp_describe_record,
                                    &v->ix, &v->legacy, &v->bad, &err);
  if (rc == RM_E_NOT_FOUND) {
    char *where = backend_describe (x->b);
    log_error ("no snapshot in %s (no %s, no NAME-VERSION-N%s files): nothing to verify", where,
               STORE_INDEX_KEY, STORE_LEGACY_EXT);
    free (where);
    return EXIT_ERROR;
  }
  if (rc != RM_OK) {
    log_error ("%s", err.message);
    return EXIT_ERROR;
  }
  if (v->legacy && v->repair) {
    log_error ("--repair: the store was written by the original tool (k8s-release-manager): "
               "without %s nothing says where a record came from", STORE_INDEX_KEY);
    return EXIT_ERROR;
  }
  return EXIT_OK;
}

static void
release_verify (struct cmd_ctx *x)
{
  struct verify_cmd *v = x->opts;
  if (!v)
    return;
  for (size_t i = 0; v->chk && i < v->ix->n; i++) {
    store_check_free (&v->chk[i]);
    free (v->rwhy[i]);
  }
  free (v->chk);
  free (v->rs);
  free (v->rwhy);
  store_index_free (v->ix);
  strlist_free (&v->bad);
  struct rm_error err;
  if (store_lock_release (v->lock, &err) != RM_OK)
    log_warn ("releasing the store lock: %s", err.message);
  free (v);
}

/* The decoded object is the content the index entry vouches for. */
static bool
same_content (struct backend *b, const struct store_record *rec, const struct helm_release *rel)
{
  char sha[65];
  store_digest_hex (b, rel->json, rel->json_len, sha);
  return (long long) rel->json_len == rec->size && strcmp (sha, rec->sha256) == 0;
}

/* Read rec's source object from the cluster and put the record back when it holds the
 * indexed content.  Sets *why when it cannot. */
static enum repair_state
repair_one (struct cmd_ctx *x, const struct store_record *rec, char **why)
{
  const char *slash = rec->source ? strchr (rec->source, '/') : NULL;
  bool secret = rec->driver && strcmp (rec->driver, "secret") == 0;
  if (!slash || !rec->driver || (!secret && strcmp (rec->driver, "configmap") != 0)) {
    *why = xstrdup ("cannot repair: the index entry does not name its source object");
    return REPAIR_FAILED;
  }
  char *ns = xasprintf ("%.*s", (int) (slash - rec->source), rec->source);
  char *path = kube_path ("v1", ns, secret ? "secrets" : "configmaps", slash + 1);
  free (ns);
  cJSON *obj = NULL;
  struct rm_error err;
  int rc = kube_get (x->kc, path, &obj, &err);
  free (path);
  enum repair_state st = REPAIR_FAILED;
  struct helm_release rel;
  memset (&rel, 0, sizeof rel);
  if (rc == KUBE_E_NOT_FOUND)
    *why = xasprintf ("cannot repair: the cluster no longer holds this revision's content "
                      "(%s %s is gone)", rec->driver, rec->source);
  else if (rc != KUBE_OK)
    *why = xasprintf ("cannot repair: %s", err.message);
  else if (helm_release_decode (obj, secret ? HELM_DRIVER_SECRET : HELM_DRIVER_CONFIGMAP, NULL,
                                &rel, &err) != HELM_OK)
    *why = xasprintf ("cannot repair: the cluster no longer holds this revision's content "
                      "(%s %s does not decode: %s)", rec->driver, rec->source, err.message);
  else if (!same_content (x->b, rec, &rel))
    *why = xasprintf ("cannot repair: the cluster no longer holds this revision's content "
                      "(%s %s holds other content)", rec->driver, rec->source);
  else if (x->dry_run)
    st = REPAIR_WOULD;
  else if (store_repair_record (x->b, rec, rel.json, rel.json_len, rel.gzip, rel.gzip_len,
                                &err) == RM_OK)
    st = REPAIR_DONE;
  else
    *why = xasprintf ("cannot repair: %s", err.message);
  helm_release_free (&rel);
  cJSON_Delete (obj);
  return st;
}

/* --repair: each damaged or missing record put back when the cluster still holds it,
 * then the barrier, then each put-back record checked again. */
static void
repair_all (struct cmd_ctx *x, struct verify_cmd *v)
{
  bool put = false;
  struct rm_error err;
  if (v->lock && store_lock_check (v->lock, &err) != RM_OK) {
    log_error ("%s", err.message);
    for (size_t i = 0; i < v->ix->n; i++)
      if (v->chk[i].problem != STORE_PROBLEM_NONE) {
        v->rs[i] = REPAIR_FAILED;
        v->rwhy[i] = xasprintf ("cannot repair: %s", err.message);
      }
    return;
  }
  for (size_t i = 0; i < v->ix->n; i++)
    if (v->chk[i].problem != STORE_PROBLEM_NONE) {
      v->rs[i] = repair_one (x, &v->ix->records[i], &v->rwhy[i]);
      put |= v->rs[i] == REPAIR_DONE;
    }
  if (!put)
    return;
  if (backend_sync (x->b, &err) != RM_OK) {
    log_error ("%s", err.message);
    for (size_t i = 0; i < v->ix->n; i++)
      if (v->rs[i] == REPAIR_DONE) {
        v->rs[i] = REPAIR_FAILED;
        v->rwhy[i] = xasprintf ("cannot repair: %s", err.message);
      }
    return;
  }
  for (size_t i = 0; i < v->ix->n; i++) {
    if (v->rs[i] != REPAIR_DONE)
      continue;
    struct store_check again = { 0 };
    store_check_record (x->b, &v->ix->records[i], imp_describe_record, &again);
    if (again.problem != STORE_PROBLEM_NONE) {
      v->rs[i] = REPAIR_FAILED;
      v->rwhy[i] = xasprintf ("cannot repair: put back, but %s", again.why.items[0]);
    }
    store_check_free (&again);
  }
}

/* Whether the state file is still sealed with the old key of a rekey stopped between its
 * commit's two writes (store/crypt.h, store_crypt_committed): the rekey run again
 * rewrites it. */
static bool
state_of_stopped_rekey (struct backend *b)
{
  struct store_crypt c;
  struct rm_error e;
  bool committed = false;
  char id[SEAL_KEY_ID_HEX] = "";
  return store_crypt_read (b, &c, &e) == RM_OK
         && store_crypt_committed (b, &c, &committed, &e) == RM_OK && committed && backend_sealed_key_id (b, STORE_STATE_KEY, id, &e) == RM_OK
         && strcmp (id, c.key_id) == 0;
}

/* Counts of the summary line (and of -o json). */
struct tally {
  size_t records, damaged, missing, unreadable, unreferenced, repaired;
  size_t index;                       /* index or state file problems */
};

static const char *
problem_name (enum store_problem p)
{
  return p == STORE_PROBLEM_MISSING ? "missing"
         : p == STORE_PROBLEM_UNREADABLE ? "unreadable" : "damaged";
}

static const char *
repair_line (const struct verify_cmd *v, size_t i)
{
  return v->rs[i] == REPAIR_DONE ? "repaired from the cluster"
         : v->rs[i] == REPAIR_WOULD ? "would repair from the cluster (dry run)"
         : v->rwhy[i];
}

static cJSON *
json_problem (cJSON *arr, const char *key, const char *problem, const char *message)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "key", key);
  cJSON_AddStringToObject (o, "problem", problem);
  cJSON *m = cJSON_AddArrayToObject (o, "messages");
  if (message)
    cJSON_AddItemToArray (m, cJSON_CreateString (message));
  cJSON_AddItemToArray (arr, o);
  return o;
}

static int
run_verify (struct cmd_ctx *x)
{
  struct verify_cmd *v = x->opts;
  struct tally t = { .records = v->ix->n + v->bad.n };
  struct strlist dups = STRLIST_INIT, unref = STRLIST_INIT, index_lines = STRLIST_INIT;
  struct rm_error err;
  char *where = backend_describe (x->b);
  cJSON *root = v->json ? cJSON_CreateObject () : NULL;
  cJSON *arr = cJSON_CreateArray ();

  if (v->legacy) {
    log_warn ("%s was written by the original tool (k8s-release-manager): no %s, so no sizes or "
              "hashes to check; each NAME-VERSION-N%s file was read and parsed as a release",
              where, STORE_INDEX_KEY, STORE_LEGACY_EXT);
    t.damaged = v->bad.n;
  }
  else {
    v->chk = xcalloc (v->ix->n ? v->ix->n : 1, sizeof *v->chk);
    v->rs = xcalloc (v->ix->n ? v->ix->n : 1, sizeof *v->rs);
    v->rwhy = xcalloc (v->ix->n ? v->ix->n : 1, sizeof *v->rwhy);
    log_info ("verifying %zu records in %s on up to %u threads", v->ix->n, where, x->threads);
    store_check_all (x->b, v->ix, imp_describe_record, x->threads, v->chk);
    struct store_state st;
    int rc = store_state_load (x->b, &st, &err);
    if (rc == RM_E_NOT_FOUND)
      log_warn ("%s: missing (the manager's identity; the next export writes it)",
                STORE_STATE_KEY);
    else if (rc != RM_OK && state_of_stopped_rekey (x->b))
      log_warn ("%s: still sealed with the old key of a rekey stopped between its two commit "
                "writes (running the rekey again rewrites it)", STORE_STATE_KEY);
    else if (rc != RM_OK) {
      char *line = xasprintf ("%s: unreadable: %s", STORE_STATE_KEY, err.message);
      strlist_push (&index_lines, line);
      free (line);
    }
    store_state_free (&st);
    if (store_check_keys (x->b, v->ix, &dups, &unref, &err) != RM_OK) {
      char *line = xasprintf ("%s: cannot list: %s", STORE_RELEASES_PREFIX, err.message);
      strlist_push (&index_lines, line);
      free (line);
    }
    else if (unref.n) {
      /* A record a past snapshot references is not unreferenced. */
      struct strlist ref = STRLIST_INIT;
      struct rm_error herr;
      int hrc = store_history_refs (x->b, &ref, &herr);
      if (hrc == RM_OK)
        store_keys_subtract (&unref, &ref);
      else if (hrc != RM_E_NOT_FOUND)
        log_warn ("past snapshots: %s (their records may be reported as unreferenced)",
                  herr.message);
      strlist_free (&ref);
    }
    for (size_t i = 0; i < dups.n; i++) {
      char *line = xasprintf ("%s: listed more than once in %s", dups.items[i], STORE_INDEX_KEY);
      strlist_push (&index_lines, line);
      free (line);
    }
    if (v->repair)
      repair_all (x, v);
  }

  /* The findings, in index order. */
  for (size_t i = 0; i < v->bad.n; i++) {
    if (root)
      json_problem (arr, "", "damaged", v->bad.items[i]);
    else
      printf ("%s\n", v->bad.items[i]);
  }
  for (size_t i = 0; v->chk && i < v->ix->n; i++) {
    const struct store_check *c = &v->chk[i];
    const char *key = v->ix->records[i].key;
    if (c->problem == STORE_PROBLEM_NONE)
      continue;
    *(c->problem == STORE_PROBLEM_MISSING ? &t.missing
      : c->problem == STORE_PROBLEM_UNREADABLE ? &t.unreadable : &t.damaged) += 1;
    t.repaired += v->rs[i] == REPAIR_DONE;
    if (root) {
      cJSON *o = json_problem (arr, key, problem_name (c->problem), NULL);
      cJSON *m = cJSON_GetObjectItemCaseSensitive (o, "messages");
      for (size_t j = 0; j < c->why.n; j++)
        cJSON_AddItemToArray (m, cJSON_CreateString (c->why.items[j]));
      if (v->rs[i] != REPAIR_NONE)
        cJSON_AddStringToObject (o, "repair", repair_line (v, i));
      continue;
    }
    for (size_t j = 0; j < c->why.n; j++)
      printf ("%s: %s\n", key, c->why.items[j]);
    if (v->rs[i] != REPAIR_NONE)
      printf ("%s: %s\n", key, repair_line (v, i));
  }
  t.index = index_lines.n;
  for (size_t i = 0; i < index_lines.n; i++) {
    if (root)
      json_problem (arr, "", "index", index_lines.items[i]);
    else
      printf ("%s\n", index_lines.items[i]);
  }
  t.unreferenced = unref.n;
  for (size_t i = 0; i < unref.n; i++) {
    if (root)
      json_problem (arr, unref.items[i], "unreferenced", "no index entry lists it");
    else
      printf ("%s: unreferenced: no index entry lists it (a warning; the next export deletes "
              "it)\n", unref.items[i]);
  }

  size_t left = t.damaged + t.missing + t.unreadable - t.repaired + t.index;
  if (root) {
    cJSON_AddStringToObject (root, "store", where);
    cJSON_AddBoolToObject (root, "legacy", v->legacy);
    cJSON_AddNumberToObject (root, "records", (double) t.records);
    cJSON_AddNumberToObject (root, "damaged", (double) t.damaged);
    cJSON_AddNumberToObject (root, "missing", (double) t.missing);
    cJSON_AddNumberToObject (root, "unreadable", (double) t.unreadable);
    cJSON_AddNumberToObject (root, "unreferenced", (double) t.unreferenced);
    cJSON_AddNumberToObject (root, "repaired", (double) t.repaired);
    cJSON_AddBoolToObject (root, "ok", left == 0);
    cJSON_AddItemToObject (root, "problems", arr);
    arr = NULL;
    char *text = cJSON_Print (root);
    printf ("%s\n", text);
    free (text);
    cJSON_Delete (root);
  }
  else {
    printf ("verified %zu records, %zu damaged, %zu missing, %zu unreadable, %zu unreferenced",
            t.records, t.damaged, t.missing, t.unreadable, t.unreferenced);
    if (v->repair)
      printf (", %zu repaired", t.repaired);
    printf ("\n");
  }
  cJSON_Delete (arr);
  strlist_free (&dups);
  strlist_free (&unref);
  strlist_free (&index_lines);
  free (where);
  return left ? EXIT_ERROR : EXIT_OK;
}

const struct command cmd_verify = {
  "verify",
  "check every stored record against the snapshot's index",
  "[BACKEND] [BACKEND OPTIONS] [--repair] [--threads N] [-o text|json]",
  "Reads index.json and the state file, then every record the index lists, and checks\n"
  "that it exists, that its stored size is the index's, that it gunzips (never past\n"
  "the store's fixed cap, whatever the index says), that the size and SHA-256 of the\n"
  "release JSON are the index's, and that it holds the namespace, release and revision\n"
  "of its entry.\n"
  "Each problem is a line naming the key; then a summary line.  Keys under releases/\n"
  "that no index entry lists (nor any past snapshot's) are reported as unreferenced, a\n"
  "warning (a killed export\n"
  "leaves them; the next export deletes them).  A store of the original Go tool has\n"
  "no index: each NAME-VERSION-N.release file is read and parsed as a release.\n"
  "Exit status 0 when every record verifies, 1 on any problem.  No cluster access.\n"
  "With --repair, each damaged or missing record is read again from its Secret or\n"
  "ConfigMap in the cluster (--kubeconfig) and put back when the cluster still holds\n"
  "exactly the indexed content; otherwise it says it cannot repair and the exit status\n"
  "stays 1.  --repair --dry-run says what it would repair and writes nothing.\n"
  "--snapshot ID|TIME verifies a past snapshot (see list --snapshots) instead of the\n"
  "newest.",
  verify_options,
  CMD_NEEDS_BACKEND | CMD_THREADS,
  1,
  check_verify,
  prepare_verify,
  run_verify,
  release_verify,
};
