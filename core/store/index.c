/* The snapshot index in memory and as index.json.  A long-running exporter holds one for
 * its whole life, so a record costs its struct plus one allocation for all its strings,
 * the reader scans index.json record by record (jscan) instead of building a tree of the
 * whole document, the writer prints straight into one buffer, and a sorted index is
 * searched by bisection.  The text written is byte for byte what cJSON_Print wrote
 * before (tests/test_store.c compares them): existing stores and tests depend on it. */
#include <config.h>

#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"
#include "store/store.h"

char *
store_record_key (const char *namespace, const char *release, int revision)
{
  return xasprintf ("%s%s/%s/%d.json.gz", STORE_RELEASES_PREFIX, namespace, release, revision);
}

struct store_record *
store_index_add (struct store_index *ix)
{
  if (ix->n == ix->cap) {
    ix->cap = ix->cap ? ix->cap * 2 : 64;
    ix->records = xrealloc (ix->records, ix->cap * sizeof *ix->records);
  }
  struct store_record *r = &ix->records[ix->n++];
  memset (r, 0, sizeof *r);
  ix->sorted = false;
  return r;
}

static int
cmp_record (const void *a, const void *b)
{
  const struct store_record *x = a, *y = b;
  int c = strcmp (x->namespace, y->namespace);
  if (!c)
    c = strcmp (x->release, y->release);
  if (!c)
    c = (x->revision > y->revision) - (x->revision < y->revision);
  return c;
}

void
store_index_sort (struct store_index *ix)
{
  if (ix->n)
    qsort (ix->records, ix->n, sizeof *ix->records, cmp_record);
  ix->sorted = true;
}

char *
store_record_key_sha (const char *namespace, const char *release, int revision,
                      const char *sha256)
{
  return xasprintf ("%s%s/%s/%d.%s.json.gz", STORE_RELEASES_PREFIX, namespace, release, revision,
                    sha256);
}

static bool
valid_hex64 (const char *s, size_t len)
{
  if (len != 64)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

bool
store_key_parse (const char *key, struct store_key *k)
{
  static const char suffix[] = ".json.gz";
  if (!str_has_prefix (key, STORE_RELEASES_PREFIX))
    return false;
  const char *ns = key + strlen (STORE_RELEASES_PREFIX);
  const char *slash1 = strchr (ns, '/');
  const char *rel = slash1 ? slash1 + 1 : NULL;
  const char *slash2 = rel ? strchr (rel, '/') : NULL;
  if (!slash2 || slash1 == ns || slash2 == rel || strchr (slash2 + 1, '/')
      || !str_has_suffix (slash2 + 1, suffix))
    return false;
  const char *d = slash2 + 1, *stop = key + strlen (key) - strlen (suffix);
  long long v = 0;
  if (d >= stop || *d < '1' || *d > '9')   /* no sign, no space, no leading zero */
    return false;
  for (; d < stop && *d >= '0' && *d <= '9'; d++) {
    v = v * 10 + (*d - '0');
    if (v > INT_MAX)
      return false;
  }
  const char *sha = NULL;
  if (d < stop) {
    if (*d != '.' || !valid_hex64 (d + 1, (size_t) (stop - d - 1)))
      return false;
    sha = d + 1;
  }
  k->namespace = ns;
  k->namespace_len = (size_t) (slash1 - ns);
  k->release = rel;
  k->release_len = (size_t) (slash2 - rel);
  k->revision = (int) v;
  k->sha256 = sha;
  return true;
}

/* strcmp of a NUL-terminated s with the len bytes at t (which hold no NUL). */
static int
cmp_part (const char *s, const char *t, size_t len)
{
  int c = strncmp (s, t, len);
  return c ? c : (s[len] != '\0');
}

/* key names exactly this record: its namespace, release and revision, and the record's
 * sha256 when it carries one. */
static bool
key_matches (const char *key, const char *namespace, const char *release, int revision,
             const char *sha256, bool *hashed)
{
  struct store_key k;
  if (!store_key_parse (key, &k) || cmp_part (namespace, k.namespace, k.namespace_len) != 0
      || cmp_part (release, k.release, k.release_len) != 0 || k.revision != revision)
    return false;
  *hashed = k.sha256 != NULL;
  return !k.sha256 || strncmp (k.sha256, sha256, 64) == 0;
}

bool
store_record_key_current (const struct store_record *r)
{
  bool hashed = false;
  return r->key && r->namespace && r->release && r->sha256[0]
         && key_matches (r->key, r->namespace, r->release, r->revision, r->sha256, &hashed)
         && hashed;
}

/* The first record of a sorted index not below (namespace, release, revision). */
static size_t
lower_bound (const struct store_index *ix, const char *ns, size_t ns_len, const char *rel,
             size_t rel_len, int rev)
{
  size_t lo = 0, hi = ix->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct store_record *r = &ix->records[mid];
    int c = cmp_part (r->namespace, ns, ns_len);
    if (!c)
      c = cmp_part (r->release, rel, rel_len);
    if (!c)
      c = (r->revision > rev) - (r->revision < rev);
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool
same_revision (const struct store_record *r, const char *ns, size_t ns_len, const char *rel,
               size_t rel_len, int rev)
{
  return cmp_part (r->namespace, ns, ns_len) == 0 && cmp_part (r->release, rel, rel_len) == 0
         && r->revision == rev;
}

/* A sorted index (store_index_sort, or read in order) is bisected on the namespace,
 * release and revision the key names, which store_index_from_json has checked against
 * each record's key; any other index, or a key not of that form, is searched in order.
 * Either way the first record with the key is found. */
const struct store_record *
store_index_find (const struct store_index *ix, const char *key)
{
  struct store_key k;
  if (!ix)
    return NULL;
  if (ix->sorted && store_key_parse (key, &k)) {
    for (size_t i = lower_bound (ix, k.namespace, k.namespace_len, k.release, k.release_len,
                                 k.revision);
         i < ix->n && same_revision (&ix->records[i], k.namespace, k.namespace_len, k.release,
                                     k.release_len, k.revision); i++)
      if (ix->records[i].key && strcmp (ix->records[i].key, key) == 0)
        return &ix->records[i];
    return NULL;
  }
  for (size_t i = 0; i < ix->n; i++)
    if (ix->records[i].key && strcmp (ix->records[i].key, key) == 0)
      return &ix->records[i];
  return NULL;
}

const struct store_record *
store_index_find_revision (const struct store_index *ix, const char *namespace,
                           const char *release, int revision)
{
  if (!ix)
    return NULL;
  size_t ns_len = strlen (namespace), rel_len = strlen (release);
  if (ix->sorted) {
    size_t i = lower_bound (ix, namespace, ns_len, release, rel_len, revision);
    return i < ix->n && same_revision (&ix->records[i], namespace, ns_len, release, rel_len,
                                       revision) ? &ix->records[i] : NULL;
  }
  for (size_t i = 0; i < ix->n; i++)
    if (same_revision (&ix->records[i], namespace, ns_len, release, rel_len, revision))
      return &ix->records[i];
  return NULL;
}

static int
cmp_str_ptr (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Whether a[0..n) is in strcmp order (a backend lists keys so): no sort needed then. */
static bool
strs_sorted (const char *const *a, size_t n)
{
  for (size_t i = 1; i < n; i++)
    if (strcmp (a[i - 1], a[i]) > 0)
      return false;
  return true;
}

struct key_pos {
  const char *key;
  size_t pos;
};

static int
cmp_key_pos (const void *a, const void *b)
{
  const struct key_pos *x = a, *y = b;
  int c = strcmp (x->key, y->key);
  return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

void
store_index_unreferenced (const struct store_index *ix, const struct strlist *keys,
                          struct strlist *out)
{
  size_t nk = keys->n, ni = 0;
  if (!nk)
    return;
  const char **mine = xmalloc ((ix && ix->n ? ix->n : 1) * sizeof *mine);
  for (size_t i = 0; ix && i < ix->n; i++)
    if (ix->records[i].key)
      mine[ni++] = ix->records[i].key;
  if (!strs_sorted (mine, ni))
    qsort (mine, ni, sizeof *mine, cmp_str_ptr);
  /* keys with their positions, sorted by key (a backend lists them so already). */
  struct key_pos *theirs = xmalloc (nk * sizeof *theirs);
  for (size_t i = 0; i < nk; i++)
    theirs[i] = (struct key_pos) { keys->items[i], i };
  if (!strs_sorted ((const char *const *) keys->items, nk))
    qsort (theirs, nk, sizeof *theirs, cmp_key_pos);
  /* One merge: a key of theirs that mine lacks is unreferenced. */
  bool *stale = xcalloc (nk, sizeof *stale);
  for (size_t i = 0, j = 0; i < nk; i++) {
    while (j < ni && strcmp (mine[j], theirs[i].key) < 0)
      j++;
    stale[theirs[i].pos] = !(j < ni && strcmp (mine[j], theirs[i].key) == 0);
  }
  for (size_t i = 0; i < nk; i++)
    if (stale[i])
      strlist_push (out, keys->items[i]);
  free (stale);
  free (theirs);
  free (mine);
}

/* The string fields of a record, in the order they are packed. */
#define RECORD_STRINGS(r) \
  { &(r)->key, &(r)->namespace, &(r)->release, &(r)->status, &(r)->chart, \
    &(r)->chart_version, &(r)->app_version, &(r)->updated, &(r)->driver, &(r)->source, \
    &(r)->source_uid, &(r)->source_version }
#define N_RECORD_STRINGS 12

void
store_record_clear (struct store_record *r)
{
  if (r->mem) {
    free (r->mem);
    r->mem = NULL;
    return;
  }
  char **s[N_RECORD_STRINGS] = RECORD_STRINGS (r);
  for (size_t i = 0; i < N_RECORD_STRINGS; i++)
    free (*s[i]);
}

/* Points each of dst's string fields at a copy of the text[i] (len[i] bytes, NULL for
 * none), all in one allocation that dst->mem owns. */
static void
pack_strings (struct store_record *dst, const char *const *text, const size_t *len)
{
  char **s[N_RECORD_STRINGS] = RECORD_STRINGS (dst);
  size_t total = 0;
  for (size_t i = 0; i < N_RECORD_STRINGS; i++)
    total += text[i] ? len[i] + 1 : 0;
  char *p = dst->mem = total ? xmalloc (total) : NULL;
  for (size_t i = 0; i < N_RECORD_STRINGS; i++) {
    if (!text[i]) {
      *s[i] = NULL;
      continue;
    }
    memcpy (p, text[i], len[i]);
    p[len[i]] = '\0';
    *s[i] = p;
    p += len[i] + 1;
  }
}

void
store_record_copy (struct store_record *dst, const struct store_record *src)
{
  /* src may be dst's own previous contents: read every string before writing any. */
  const char *text[N_RECORD_STRINGS];
  size_t len[N_RECORD_STRINGS];
  char *const *s[N_RECORD_STRINGS] = RECORD_STRINGS (src);
  for (size_t i = 0; i < N_RECORD_STRINGS; i++) {
    text[i] = *s[i];
    len[i] = text[i] ? strlen (text[i]) : 0;
  }
  struct store_record tmp = *src;
  pack_strings (&tmp, text, len);
  *dst = tmp;
}

bool
store_record_same (const struct store_record *a, const struct store_record *b)
{
  char *const *sa[N_RECORD_STRINGS] = RECORD_STRINGS (a);
  char *const *sb[N_RECORD_STRINGS] = RECORD_STRINGS (b);
  for (size_t i = 0; i < N_RECORD_STRINGS; i++)
    if (!str_same (*sa[i], *sb[i]))
      return false;
  return a->revision == b->revision && a->size == b->size && a->stored_size == b->stored_size
         && strcmp (a->sha256, b->sha256) == 0;
}

bool
store_index_same_records (const struct store_index *a, const struct store_index *b)
{
  if (a->n != b->n)
    return false;
  for (size_t i = 0; i < a->n; i++)
    if (!store_record_same (&a->records[i], &b->records[i]))
      return false;
  return true;
}

void
store_index_free (struct store_index *ix)
{
  if (!ix)
    return;
  for (size_t i = 0; i < ix->n; i++)
    store_record_clear (&ix->records[i]);
  free (ix->records);
  free (ix->cluster_uid);
  free (ix->cluster_server);
  free (ix->exporter);
  free (ix->time);
  free (ix);
}

/* ---- Writing: the bytes cJSON_Print (cJSON 1.7) produced, tabs and all. ---- */

static void
put_string (struct strbuf *sb, const char *s)
{
  strbuf_add (sb, "\"", 1);
  for (;;) {
    const char *run = s;
    while ((unsigned char) *s >= 0x20 && *s != '"' && *s != '\\')
      s++;
    strbuf_add (sb, run, (size_t) (s - run));
    if (!*s)
      break;
    char esc[8];
    switch (*s) {
    case '"': strbuf_add (sb, "\\\"", 2); break;
    case '\\': strbuf_add (sb, "\\\\", 2); break;
    case '\b': strbuf_add (sb, "\\b", 2); break;
    case '\f': strbuf_add (sb, "\\f", 2); break;
    case '\n': strbuf_add (sb, "\\n", 2); break;
    case '\r': strbuf_add (sb, "\\r", 2); break;
    case '\t': strbuf_add (sb, "\\t", 2); break;
    default:
      snprintf (esc, sizeof esc, "\\u%04x", (unsigned) (unsigned char) *s);
      strbuf_add (sb, esc, 6);
      break;
    }
    s++;
  }
  strbuf_add (sb, "\"", 1);
}

/* A member of an object at depth (tabs before it), comma-separated from the one before. */
static void
put_member (struct strbuf *sb, bool *first, int depth, const char *name)
{
  if (!*first)
    strbuf_add (sb, ",\n", 2);
  *first = false;
  strbuf_add (sb, "\t\t\t", (size_t) depth);
  strbuf_add (sb, "\"", 1);
  strbuf_puts (sb, name);                 /* our names need no escaping */
  strbuf_add (sb, "\":\t", 3);
}

static void
put_str (struct strbuf *sb, bool *first, int depth, const char *name, const char *v)
{
  if (!v)
    return;
  put_member (sb, first, depth, name);
  put_string (sb, v);
}

static double
dabs (double d)
{
  return d < 0 ? -d : d;
}

/* cJSON's print_number for a value held as a double: an int as %d, else the shortest of
 * %1.15g and %1.17g that reads back within DBL_EPSILON. */
static void
put_num (struct strbuf *sb, bool *first, int depth, const char *name, double d)
{
  put_member (sb, first, depth, name);
  int vi = d >= INT_MAX ? INT_MAX : d <= (double) INT_MIN ? INT_MIN : (int) d;
  char buf[32];
  if (d != d || dabs (d) > DBL_MAX)
    strbuf_puts (sb, "null");
  else if (d == (double) vi)
    strbuf_printf (sb, "%d", vi);
  else {
    snprintf (buf, sizeof buf, "%1.15g", d);
    double back = strtod (buf, NULL);
    double big = dabs (back) > dabs (d) ? dabs (back) : dabs (d);
    if (dabs (back - d) > big * DBL_EPSILON)
      snprintf (buf, sizeof buf, "%1.17g", d);
    strbuf_puts (sb, buf);
  }
}

static void
put_record (struct strbuf *sb, const struct store_record *r)
{
  bool first = true;
  strbuf_add (sb, "{\n", 2);
  put_str (sb, &first, 3, "key", r->key);
  put_str (sb, &first, 3, "namespace", r->namespace);
  put_str (sb, &first, 3, "release", r->release);
  put_num (sb, &first, 3, "revision", r->revision);
  put_str (sb, &first, 3, "status", r->status);
  put_str (sb, &first, 3, "chart", r->chart);
  put_str (sb, &first, 3, "chartVersion", r->chart_version);
  put_str (sb, &first, 3, "appVersion", r->app_version);
  put_str (sb, &first, 3, "updated", r->updated);
  put_str (sb, &first, 3, "driver", r->driver);
  put_str (sb, &first, 3, "source", r->source);
  put_str (sb, &first, 3, "sourceUID", r->source_uid);
  put_str (sb, &first, 3, "sourceResourceVersion", r->source_version);
  put_num (sb, &first, 3, "size", (double) r->size);
  put_num (sb, &first, 3, "storedSize", (double) r->stored_size);
  put_str (sb, &first, 3, "sha256", r->sha256);
  strbuf_add (sb, "\n\t\t}", 4);
}

/* The text of ix into sb; with f, written to f whenever sb holds 64 KiB, so that
 * memory stays at a few records' text.  False when writing to f failed. */
static bool
write_index (const struct store_index *ix, struct strbuf *sb, FILE *f)
{
  bool first = true, cfirst = true, ok = true;
  strbuf_add (sb, "{\n", 2);
  put_str (sb, &first, 1, "apiVersion", STORE_INDEX_API);
  put_str (sb, &first, 1, "kind", STORE_INDEX_KIND);
  put_member (sb, &first, 1, "cluster");
  strbuf_add (sb, "{\n", 2);
  put_str (sb, &cfirst, 2, "uid", ix->cluster_uid);
  put_str (sb, &cfirst, 2, "server", ix->cluster_server);
  strbuf_add (sb, cfirst ? "\t}" : "\n\t}", cfirst ? 2 : 3);
  put_str (sb, &first, 1, "exporter", ix->exporter);
  put_str (sb, &first, 1, "time", ix->time);
  put_member (sb, &first, 1, "records");
  strbuf_add (sb, "[", 1);
  for (size_t i = 0; i < ix->n; i++) {
    if (i)
      strbuf_add (sb, ", ", 2);
    put_record (sb, &ix->records[i]);
    if (f && sb->len >= 65536) {
      ok = ok && fwrite (sb->data, 1, sb->len, f) == sb->len;
      sb->len = 0;
    }
  }
  strbuf_add (sb, "]\n}\n", 4);
  if (f) {
    ok = ok && fwrite (sb->data, 1, sb->len, f) == sb->len;
    sb->len = 0;
  }
  return ok;
}

char *
store_index_to_json (const struct store_index *ix)
{
  struct strbuf sb = STRBUF_INIT;
  /* Sized once, not grown by doubling: ~600 bytes a record are used, and the pages
   * of the rest are never touched before the realloc below gives them back. */
  strbuf_reserve (&sb, 1024 + ix->n * 1024);
  write_index (ix, &sb, NULL);
  /* Give back what is unused. */
  sb.data = xrealloc (sb.data, sb.len + 1);
  return sb.data;
}

bool
store_index_print (const struct store_index *ix, FILE *f)
{
  struct strbuf sb = STRBUF_INIT;
  bool ok = write_index (ix, &sb, f);
  strbuf_free (&sb);
  return ok;
}

/* ---- Reading: validate the whole text in one pass, then scan each record. ---- */

enum {
  F_KEY, F_NAMESPACE, F_RELEASE, F_STATUS, F_CHART, F_CHART_VERSION, F_APP_VERSION,
  F_UPDATED, F_DRIVER, F_SOURCE, F_SOURCE_UID, F_SOURCE_VERSION,   /* RECORD_STRINGS order */
  F_REVISION, F_SIZE, F_STORED_SIZE, F_SHA256, N_FIELDS
};

static const char *const record_names[N_FIELDS] = {
  "key", "namespace", "release", "status", "chart", "chartVersion", "appVersion", "updated",
  "driver", "source", "sourceUID", "sourceResourceVersion", "revision", "size", "storedSize",
  "sha256",
};

/* A captured number as cJSON held it (a double); 0 unless f is a number. */
static double
num_value (const struct jscan_field *f)
{
  char buf[64];
  if (f->type != JSCAN_NUMBER)
    return 0;
  if (f->len >= sizeof buf) {
    char *s = strndup (f->at, f->len);
    double d = strtod (s, NULL);
    free (s);
    return d;
  }
  memcpy (buf, f->at, f->len);
  buf[f->len] = '\0';
  return strtod (buf, NULL);
}

/* The number field f of record i as a whole number from lo to hi into *out (absent:
 * dflt); RM_E_IO with err naming the record, its key and the field when it is not one.
 * The range is checked on the double, before any conversion. */
static int
whole_field (const struct jscan_field *f, size_t i, const char *key, const char *name,
             long long lo, long long hi, long long dflt, long long *out, struct rm_error *err)
{
  if (f->type == JSCAN_ABSENT) {
    *out = dflt;
    return RM_OK;
  }
  if (f->type != JSCAN_NUMBER)
    return err_set (err, RM_E_IO, "record %zu (%s): %s is not a number", i + 1, key, name);
  double d = num_value (f);
  if (!(d >= (double) lo && d <= (double) hi)
      || (double) (long long) d != d)
    return err_set (err, RM_E_IO, "record %zu (%s): %s %.*s is not a whole number from %lld "
                    "to %lld", i + 1, key, name, (int) (f->len < 40 ? f->len : 40), f->at, lo,
                    hi);
  *out = (long long) d;
  return RM_OK;
}

/* Fills r from the fields captured in one element (the i-th) of "records"; RM_E_IO with
 * err saying why when it lacks what a record needs or a number is out of range. */
static int
fill_record (struct store_record *r, const struct jscan_field *f, size_t i,
             struct rm_error *err)
{
  const char *text[N_RECORD_STRINGS];
  size_t len[N_RECORD_STRINGS];
  char *unescaped[N_RECORD_STRINGS] = { NULL };
  for (size_t j = 0; j < N_RECORD_STRINGS; j++) {
    text[j] = NULL;
    len[j] = 0;
    if (f[j].type != JSCAN_STRING)
      continue;
    if (f[j].escaped) {
      /* Rare: our own writer escapes only control characters, quotes and backslashes. */
      unescaped[j] = jscan_string (&f[j]);
      text[j] = unescaped[j];
      len[j] = strlen (unescaped[j]);
    }
    else {
      text[j] = f[j].at;
      len[j] = f[j].len;
    }
  }
  pack_strings (r, text, len);
  for (size_t j = 0; j < N_RECORD_STRINGS; j++)
    free (unescaped[j]);
  if (f[F_SHA256].type == JSCAN_STRING) {
    char *sha = f[F_SHA256].escaped ? jscan_string (&f[F_SHA256]) : NULL;
    const char *s = sha ? sha : f[F_SHA256].at;
    size_t l = sha ? strlen (sha) : f[F_SHA256].len;
    if (valid_hex64 (s, l)) {
      memcpy (r->sha256, s, 64);
      r->sha256[64] = '\0';
    }
    free (sha);
  }
  if (!r->key || !r->namespace || !r->release || f[F_REVISION].type == JSCAN_ABSENT
      || f[F_SIZE].type == JSCAN_ABSENT || !r->sha256[0])
    return err_set (err, RM_E_IO, "record %zu is incomplete (needs key, namespace, release, "
                    "revision, size and sha256)", i + 1);
  long long rev;
  int rc = whole_field (&f[F_REVISION], i, r->key, "revision", 1, INT_MAX, 0, &rev, err);
  if (rc == RM_OK)
    rc = whole_field (&f[F_SIZE], i, r->key, "size", 0, STORE_RECORD_MAX, 0, &r->size, err);
  /* -1: unknown, as this reader says for an absent one (and the writer writes back). */
  if (rc == RM_OK)
    rc = whole_field (&f[F_STORED_SIZE], i, r->key, "storedSize", -1, STORE_SIZE_MAX, -1,
                      &r->stored_size, err);
  r->revision = (int) rev;
  return rc;
}

static const char *
skip_ws (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

int
store_index_from_json (const char *text, size_t len, struct store_index **out,
                       struct rm_error *err)
{
  *out = NULL;
  enum { T_API, T_RECORDS, T_UID, T_SERVER, T_EXPORTER, T_TIME };
  struct jscan_field top[] = {
    [T_API] = { .path = { "apiVersion", NULL } },
    [T_RECORDS] = { .path = { "records", NULL } },
    [T_UID] = { .path = { "cluster", "uid", NULL } },
    [T_SERVER] = { .path = { "cluster", "server", NULL } },
    [T_EXPORTER] = { .path = { "exporter", NULL } },
    [T_TIME] = { .path = { "time", NULL } },
  };
  size_t at;
  const char *why;
  /* Whatever follows the document is ignored, as cJSON_ParseWithLength did. */
  if (jscan (text, len, top, ARRAY_SIZE (top), &at, &why) == JSCAN_E_INVALID) {
    return err_set (err, RM_E_IO, "not valid JSON (near byte %zu: %s)", at, why);
  }
  char *api = jscan_string (&top[T_API]);
  bool ours = api && strcmp (api, STORE_INDEX_API) == 0;
  free (api);
  if (!ours) {
    return err_set (err, RM_E_IO, "apiVersion is not %s: not a releasemanager snapshot index, "
                    "or one written by a newer releasemanager", STORE_INDEX_API);
  }
  if (top[T_RECORDS].type != JSCAN_ARRAY) {
    return err_set (err, RM_E_IO, "has no records array");
  }
  struct store_index *ix = xcalloc (1, sizeof *ix);
  ix->cluster_uid = jscan_string (&top[T_UID]);
  ix->cluster_server = jscan_string (&top[T_SERVER]);
  ix->exporter = jscan_string (&top[T_EXPORTER]);
  ix->time = jscan_string (&top[T_TIME]);

  /* Sized once from the text (a record takes ~600 bytes of it, never fewer than ~150),
   * rather than grown by doubling and copying; what is unused is given back below. */
  ix->cap = len / 400 + 16;
  ix->records = xmalloc (ix->cap * sizeof *ix->records);
  struct jscan_field f[N_FIELDS];
  memset (f, 0, sizeof f);
  for (size_t i = 0; i < N_FIELDS; i++)
    f[i].path[0] = record_names[i];
  /* The text is valid JSON: each element is a whole value followed by ',' or ']'. */
  const char *end = text + len, *p = skip_ws (top[T_RECORDS].at + 1, end);
  bool in_order = true;
  int rc;
  for (size_t i = 0; *p != ']'; i++) {
    if (jscan (p, (size_t) (end - p), f, N_FIELDS, &at, &why) != JSCAN_E_TRAILING) {
      rc = err_set (err, RM_E_IO, "record %zu: not valid JSON (near byte %zu)", i + 1,
                    (size_t) (p - text) + at);
      goto fail;
    }
    struct store_record *r = store_index_add (ix);
    rc = fill_record (r, f, i, err);
    if (rc != RM_OK)
      goto fail;
    bool hashed;
    if (!key_matches (r->key, r->namespace, r->release, r->revision, r->sha256, &hashed)) {
      rc = err_set (err, RM_E_IO, "record %zu: key '%s' does not match its namespace, release, "
                    "revision and sha256", i + 1, r->key);
      goto fail;
    }
    if (ix->n > 1 && cmp_record (&ix->records[ix->n - 2], r) > 0)
      in_order = false;
    p = skip_ws (p + at, end);
    if (*p == ',')
      p = skip_ws (p + 1, end);
  }
  /* Give back what the doubling of the array left unused. */
  if (ix->n && ix->n < ix->cap) {
    ix->records = xrealloc (ix->records, ix->n * sizeof *ix->records);
    ix->cap = ix->n;
  }
  ix->sorted = in_order;
  *out = ix;
  return RM_OK;
fail:
  store_index_free (ix);
  return rc;
}

bool
store_index_may_exist (struct backend *b)
{
  struct rm_object_info info;
  struct rm_error err;
  return !backend_has_stat (b) || backend_stat (b, STORE_INDEX_KEY, &info, &err) != RM_E_NOT_FOUND;
}

int
store_index_read (struct backend *b, struct store_index **out, struct store_index_base *base,
                  struct rm_error *err)
{
  struct strbuf sb = STRBUF_INIT;
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  *out = NULL;
  memset (base, 0, sizeof *base);
  int rc = backend_get_mem (b, STORE_INDEX_KEY, &sb, &info, err);
  base->known = rc == RM_OK || rm_primary (rc) == RM_E_NOT_FOUND;
  base->absent = rm_primary (rc) == RM_E_NOT_FOUND;
  if (rc == RM_OK)
    snprintf (base->etag, sizeof base->etag, "%s", info.etag);
  if (rc != RM_OK) {
    strbuf_free (&sb);
    return rc;
  }
  rc = store_index_from_json (sb.data ? sb.data : "", sb.len, out, err);
  strbuf_free (&sb);
  if (rc != RM_OK)
    err_prefix (err, "%s: ", STORE_INDEX_KEY);
  return rc;
}

int
store_index_load (struct backend *b, struct store_index **out, struct rm_error *err)
{
  struct store_index_base base;
  return store_index_read (b, out, &base, err);
}

int
store_index_save (struct backend *b, const struct store_index *ix, struct rm_error *err)
{
  char *text = store_index_to_json (ix);
  struct rm_put_options o = { sizeof o, 0, NULL, "application/json" };
  int rc = backend_put_mem (b, STORE_INDEX_KEY, text, strlen (text), &o, NULL, err);
  free (text);
  return rc;
}

int
store_index_commit (struct backend *b, const struct store_index *ix,
                    struct store_index_base *base, struct rm_error *err)
{
  char *text = store_index_to_json (ix);
  int rc = store_index_commit_text (b, text, base, err);
  free (text);
  return rc;
}

int
store_index_commit_text (struct backend *b, const char *text, struct store_index_base *base,
                         struct rm_error *err)
{
  struct rm_put_options o = { sizeof o, 0, NULL, "application/json" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  bool conditional = (backend_caps (b) & RM_CAP_CONDITIONAL_PUT) && base->known
                     && (base->absent || base->etag[0]);
  if (conditional && base->absent)
    o.flags = RM_PUT_IF_NONE_MATCH;
  else if (conditional)
    o.if_match = base->etag;
  int rc = backend_put_mem (b, STORE_INDEX_KEY, text, strlen (text), &o, &info, err);
  int p = rm_primary (rc);
  if (conditional && (p == RM_E_PRECONDITION || p == RM_E_EXISTS || p == RM_E_NOT_FOUND))
    return err_set (err, RM_E_PRECONDITION, "%s %s since this export read it: another writer "
                    "committed; nothing deleted, run again", STORE_INDEX_KEY,
                    p == RM_E_NOT_FOUND ? "was deleted" : "changed");
  if (rc == RM_OK) {
    base->known = true;
    base->absent = false;
    snprintf (base->etag, sizeof base->etag, "%s", info.etag);
  }
  return rc;
}
