/* rekey: re-encrypting a store to a new key (crypt.h, store_rekey).  Apart from crypt.c
 * because it reads the snapshots (store/history.h), which read the marker. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "store/crypt.h"
#include "store/history.h"
#include "store/store.h"

struct moved {
  char *from, *to;
  char sha[65];
};

static int
cmp_moved (const void *a, const void *b)
{
  return strcmp (((const struct moved *) a)->from, ((const struct moved *) b)->from);
}

/* Put data sealed with k (b is attached to back again after). */
static int
put_with (struct backend *b, const struct seal_key *k, const struct seal_key *back,
          const char *key, const void *data, size_t len, const char *type, struct rm_error *err)
{
  backend_set_seal (b, k, store_crypt_plain_keys);
  struct rm_put_options o = { sizeof o, 0, NULL, type };
  int rc = backend_put_mem (b, key, data, len, &o, NULL, err);
  backend_set_seal (b, back, store_crypt_plain_keys);
  return rc;
}

static void
free_indexes (struct store_index **ix, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (ix[i])
      store_index_free (ix[i]);
  free (ix);
}

static int
collect_key (void *opaque, const struct rm_list_entry *e)
{
  strlist_push (opaque, e->key);
  return 0;
}

/* Before a rekey starts over: remove what an unfinished one left (the store's marker
 * says it went to key id to): its snapshots (h->leftover) and the records no snapshot
 * references (its records, and any an interrupted export left).  ref: the records the
 * snapshots of h reference.  A delete that fails stops the rekey before it writes. */
static int
remove_leftovers (struct backend *b, const struct store_history *h, const struct moved *ref,
                  size_t nref, const char *to, size_t *removed, struct rm_error *err)
{
  struct strlist gone = STRLIST_INIT, refs = STRLIST_INIT;
  for (size_t i = 0; i < h->leftover.n; i++)
    strlist_push (&gone, h->leftover.items[i]);
  int rc = backend_list_all (b, STORE_RELEASES_PREFIX, collect_key, &gone, err);
  for (size_t i = 0; i < nref; i++)
    strlist_push (&refs, ref[i].from);
  store_keys_subtract (&gone, &refs);
  if (rc == RM_OK && gone.n)
    log_info ("a rekey to key id %s did not finish: removing the %zu objects it left (or "
              "that no snapshot references) before starting over", to, gone.n);
  for (size_t i = 0; rc == RM_OK && i < gone.n; i++) {
    rc = backend_remove (b, gone.items[i], err);
    if (rm_primary (rc) == RM_E_NOT_FOUND)
      rc = RM_OK;
    if (rc == RM_OK)
      ++*removed;
  }
  strlist_free (&gone);
  strlist_free (&refs);
  return rc;
}

/* The rest of a rekey from old to new stopped between its commit's two writes (index.json
 * is sealed with new, the marker still names old): the marker, the state file, and every
 * object still sealed with old deleted.  b is attached to new on return. */
/* The state file, read with old and written again with new (a missing or unreadable one is
 * left as it is: it is not part of the commit); the backend seals with new after it. */
static void
reseal_state (struct backend *b, const struct seal_key *old, const struct seal_key *new)
{
  struct store_state st;
  struct rm_error serr;
  backend_set_seal (b, old, store_crypt_plain_keys);
  if (store_state_load (b, &st, &serr) == RM_OK) {
    backend_set_seal (b, new, store_crypt_plain_keys);
    if (store_state_save (b, &st, &serr) != RM_OK)
      log_warn ("%s: %s", STORE_STATE_KEY, serr.message);
    store_state_free (&st);
  }
  backend_set_seal (b, new, store_crypt_plain_keys);
}

static int
finish_commit (struct backend *b, const struct seal_key *old, const struct seal_key *new,
               struct store_rekey_result *res, struct rm_error *err)
{
  log_info ("a rekey from key id %s to %s was stopped between its two commit writes (%s is "
            "sealed with key id %s): finishing it", old->id_hex, new->id_hex, STORE_INDEX_KEY,
            new->id_hex);
  res->finished = true;
  int rc = store_crypt_write (b, new->id_hex, NULL, err);
  if (rc == RM_OK)
    rc = backend_sync (b, err);
  if (rc != RM_OK)
    return rc;
  reseal_state (b, old, new);
  /* The old objects: whatever is still sealed with old (its header says so). */
  struct strlist all = STRLIST_INIT;
  struct rm_error lerr;
  if (backend_list_all (b, "", collect_key, &all, &lerr) != RM_OK) {
    log_warn ("listing the old objects to delete: %s", lerr.message);
    res->failed++;
  }
  for (size_t i = 0; i < all.n; i++) {
    char id[SEAL_KEY_ID_HEX] = "";
    struct rm_error derr;
    int drc = backend_sealed_key_id (b, all.items[i], id, &derr);
    if (drc == RM_OK && strcmp (id, old->id_hex) != 0)
      continue;
    if (drc == RM_OK)
      drc = backend_remove (b, all.items[i], &derr);
    if (drc == RM_OK || rm_primary (drc) == RM_E_NOT_FOUND)
      res->deleted += drc == RM_OK;
    else {
      res->failed++;
      log_warn ("%s", derr.message);
    }
  }
  strlist_free (&all);
  return RM_OK;
}

int
store_rekey (struct backend *b, const struct seal_key *old, const struct seal_key *new,
             struct store_rekey_result *res, struct rm_error *err)
{
  memset (res, 0, sizeof *res);
  /* Stopped between the commit's two writes: finish it, or say which key it went to. */
  struct store_crypt c0;
  bool committed = false;
  int rc = store_crypt_read (b, &c0, err);
  if (rc == RM_OK)
    rc = store_crypt_committed (b, &c0, &committed, err);
  if (rc != RM_OK)
    return rc;
  if (committed && strcmp (c0.rekey_to, new->id_hex) == 0)
    return finish_commit (b, old, new, res, err);
  if (committed)
    return err_set (err, STORE_E_CRYPT, "a rekey from key id %s to %s was stopped between its "
                    "two commit writes (%s is sealed with key id %s); the key given has id %s: "
                    "pass the key of id %s as --new-key-file to finish it", c0.key_id,
                    c0.rekey_to, STORE_INDEX_KEY, c0.rekey_to, new->id_hex, c0.rekey_to);
  struct store_history h;
  rc = store_history_read (b, &h, err);
  if (rc != RM_OK)
    return rc;
  /* Every snapshot in memory (indexes are small), and the distinct records they name. */
  struct store_index **ix = xcalloc (h.n ? h.n : 1, sizeof *ix);
  struct moved *mv = NULL;
  size_t nmv = 0;
  for (size_t i = 0; rc == RM_OK && i < h.n; i++) {
    rc = store_snapshot_load (b, &h, &h.v[i], &ix[i], err);
    for (size_t j = 0; rc == RM_OK && j < ix[i]->n; j++) {
      mv = xrealloc (mv, (nmv + 1) * sizeof *mv);
      mv[nmv].from = xstrdup (ix[i]->records[j].key);
      mv[nmv].to = NULL;
      nmv++;
    }
  }
  qsort (mv, nmv, sizeof *mv, cmp_moved);
  /* A rekey that was stopped before its commit (to this key or another): start over,
   * its leftovers removed first (while the marker still names its key). */
  struct store_crypt c;
  if (rc == RM_OK)
    rc = store_crypt_read (b, &c, err);
  if (rc == RM_OK && c.rekey_to[0])
    rc = remove_leftovers (b, &h, mv, nmv, c.rekey_to, &res->leftovers, err);
  if (rc == RM_OK)
    rc = store_crypt_write (b, old->id_hex, new->id_hex, err);
  struct strlist old_keys = STRLIST_INIT;
  /* The records: read with the old key (checked against the index), written under the
   * new name with the new key.  One record in memory at a time. */
  for (size_t i = 0; rc == RM_OK && i < h.n; i++)
    for (size_t j = 0; rc == RM_OK && j < ix[i]->n; j++) {
      struct store_record *r = &ix[i]->records[j];
      struct moved key = { r->key, NULL, "" };
      struct moved *m = bsearch (&key, mv, nmv, sizeof *mv, cmp_moved);
      while (m > mv && strcmp (m[-1].from, r->key) == 0)
        m--;
      if (!m->to) {
        struct strbuf json = STRBUF_INIT, gz = STRBUF_INIT;
        rc = store_get_record (b, r, &json, err);
        if (rc == RM_OK)
          rc = backend_get_mem (b, r->key, &gz, NULL, err);
        if (rc == RM_OK) {
          seal_address_hex (new, json.data ? json.data : "", json.len, m->sha);
          m->to = store_record_key_sha (r->namespace, r->release, r->revision, m->sha);
          rc = put_with (b, new, old, m->to, gz.data ? gz.data : "", gz.len, "application/gzip",
                         err);
          strlist_push (&old_keys, r->key);
          res->records++;
        }
        strbuf_free (&json);
        strbuf_free (&gz);
      }
      if (rc == RM_OK) {
        /* The index's strings may share one allocation: replace the record. */
        struct store_record tmp = *r, nr;
        tmp.key = m->to;
        memcpy (tmp.sha256, m->sha, sizeof tmp.sha256);
        store_record_copy (&nr, &tmp);
        store_record_clear (r);
        *r = nr;
      }
    }
  /* The snapshots under their new names (same time, the id of the new text). */
  char *current_text = NULL;
  struct strlist old_snaps = STRLIST_INIT;
  for (size_t i = 0; rc == RM_OK && i < h.n; i++) {
    char *text = store_index_to_json (ix[i]);
    if (strcmp (h.v[i].key, STORE_INDEX_KEY) != 0) {
      char *key = store_snapshot_key (h.v[i].t, text, strlen (text));
      rc = put_with (b, new, old, key, text, strlen (text), "application/json", err);
      if (strcmp (key, h.v[i].key) != 0)
        strlist_push (&old_snaps, h.v[i].key);
      free (key);
      res->snapshots++;
    }
    if (h.v[i].current) {
      free (current_text);
      current_text = text;
    } else
      free (text);
  }
  /* The commit: index.json, then the marker. */
  if (rc == RM_OK && current_text)
    rc = put_with (b, new, old, STORE_INDEX_KEY, current_text, strlen (current_text),
                   "application/json", err);
  if (rc == RM_OK)
    rc = backend_sync (b, err);
  if (rc == RM_OK)
    rc = store_crypt_write (b, new->id_hex, NULL, err);
  if (rc == RM_OK)
    rc = backend_sync (b, err);
  free (current_text);
  if (rc == RM_OK) {
    reseal_state (b, old, new);
    /* After the commit: the old objects go (a failure leaves them unreferenced). */
    struct strlist *lists[] = { &old_snaps, &old_keys };
    for (size_t l = 0; l < 2; l++)
      for (size_t i = 0; i < lists[l]->n; i++) {
        struct rm_error derr;
        int drc = backend_remove (b, lists[l]->items[i], &derr);
        if (drc == RM_OK || rm_primary (drc) == RM_E_NOT_FOUND)
          res->deleted++;
        else {
          res->failed++;
          log_warn ("%s", derr.message);
        }
      }
  }
  for (size_t i = 0; i < nmv; i++) {
    free (mv[i].from);
    free (mv[i].to);
  }
  free (mv);
  strlist_free (&old_keys);
  strlist_free (&old_snaps);
  free_indexes (ix, h.n);
  store_history_free (&h);
  return rc;
}
