/* core/base/seal.c: the AES-256-GCM object format of client-side encryption (issue 15):
 * round trips, the wrong key, the wrong object key, every single-byte change, every
 * truncation, empty and large objects, streaming in odd chunks, and the key file. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/seal.h"

static struct seal_key k1, k2;

static void
keys (void)
{
  unsigned char a[32], b[32];
  for (int i = 0; i < 32; i++) {
    a[i] = (unsigned char) i;
    b[i] = (unsigned char) (i + 1);
  }
  seal_key_from_raw (a, &k1);
  seal_key_from_raw (b, &k2);
}

static const char AD[] = "releases/ns/web/3.0123.json.gz";

/* A sealed copy of text under AD. */
static struct strbuf
sealed (const char *text, size_t len)
{
  struct strbuf sb = STRBUF_INIT;
  struct rm_error err;
  cr_assert_eq (seal_buf (&k1, AD, text, len, &sb, &err), RM_OK);
  cr_assert_eq (sb.len, len + SEAL_OVERHEAD);
  return sb;
}

static int
try_open (const struct seal_key *k, const char *ad, const struct strbuf *sb, size_t len,
          struct rm_error *err)
{
  unsigned char *c = malloc (len + 1);
  memcpy (c, sb->data, len);
  size_t n = len;
  int rc = seal_open (k, ad, c, &n, err);
  free (c);
  return rc;
}

Test (seal, round_trip, .init = keys)
{
  const char *text = "{\"name\":\"web\",\"config\":{\"password\":\"hunter2\"}}";
  struct strbuf sb = sealed (text, strlen (text));
  cr_expect (seal_is_sealed (sb.data, sb.len, NULL));
  cr_expect_null (memmem (sb.data, sb.len, "hunter2", 7), "plaintext in the sealed bytes");
  char id[SEAL_KEY_ID_HEX];
  cr_expect (seal_is_sealed (sb.data, sb.len, id));
  cr_expect_str_eq (id, k1.id_hex);
  size_t n = sb.len;
  struct rm_error err;
  cr_assert_eq (seal_open (&k1, AD, (unsigned char *) sb.data, &n, &err), RM_OK, "%s", err.message);
  cr_expect_eq (n, strlen (text));
  cr_expect_eq (memcmp (sb.data, text, n), 0);
  strbuf_free (&sb);
}

Test (seal, fresh_nonce_each_time, .init = keys)
{
  struct strbuf a = sealed ("same", 4), b = sealed ("same", 4);
  cr_expect_neq (memcmp (a.data, b.data, a.len), 0);
  strbuf_free (&a);
  strbuf_free (&b);
}

Test (seal, wrong_key_names_both_ids, .init = keys)
{
  struct strbuf sb = sealed ("x", 1);
  struct rm_error err;
  cr_expect_eq (try_open (&k2, AD, &sb, sb.len, &err), RM_E_IO);
  cr_expect (strstr (err.message, k1.id_hex) && strstr (err.message, k2.id_hex), "%s", err.message);
  /* The right id with the wrong key material (a forged header) fails the tag. */
  struct seal_key forged = k2;
  memcpy (forged.id, k1.id, sizeof forged.id);
  cr_expect_eq (try_open (&forged, AD, &sb, sb.len, &err), RM_E_IO);
  cr_expect (strstr (err.message, "not authentic"), "%s", err.message);
  strbuf_free (&sb);
}

Test (seal, wrong_object_key, .init = keys)
{
  struct strbuf sb = sealed ("record", 6);
  struct rm_error err;
  cr_expect_eq (try_open (&k1, "releases/ns/web/4.0123.json.gz", &sb, sb.len, &err), RM_E_IO);
  cr_expect (strstr (err.message, "not authentic"), "%s", err.message);
  strbuf_free (&sb);
}

Test (seal, every_byte_changed, .init = keys)
{
  const char *text = "a small release record";
  struct strbuf sb = sealed (text, strlen (text));
  for (size_t i = 0; i < sb.len; i++)
    for (int bit = 0; bit < 8; bit += 7) {
      struct strbuf t = STRBUF_INIT;
      strbuf_add (&t, sb.data, sb.len);
      t.data[i] ^= (char) (1 << bit);
      struct rm_error err;
      cr_expect_eq (try_open (&k1, AD, &t, t.len, &err), RM_E_IO, "byte %zu bit %d", i, bit);
      strbuf_free (&t);
    }
  strbuf_free (&sb);
}

Test (seal, every_truncation, .init = keys)
{
  struct strbuf sb = sealed ("truncate me", 11);
  for (size_t n = 0; n < sb.len; n++) {
    struct rm_error err;
    cr_expect_eq (try_open (&k1, AD, &sb, n, &err), RM_E_IO, "%zu bytes", n);
  }
  strbuf_free (&sb);
}

Test (seal, empty_plaintext, .init = keys)
{
  struct strbuf sb = sealed ("", 0);
  size_t n = sb.len;
  struct rm_error err;
  cr_expect_eq (seal_open (&k1, AD, (unsigned char *) sb.data, &n, &err), RM_OK, "%s", err.message);
  cr_expect_eq (n, 0);
  strbuf_free (&sb);
}

Test (seal, large_in_odd_chunks, .init = keys)
{
  size_t len = (16u << 20) + 7;
  char *big = malloc (len);
  for (size_t i = 0; i < len; i++)
    big[i] = (char) (i * 31 + (i >> 12));
  struct seal_reader s;
  struct rm_error err;
  cr_assert_eq (seal_reader_init (&s, &k1, AD, big, len, &err), RM_OK);
  struct strbuf out = STRBUF_INIT;
  for (int pass = 0; pass < 2; pass++) {
    out.len = 0;
    char chunk[4099];
    long long n;
    size_t step = 1;
    while ((n = seal_reader_read (&s, chunk, step)) > 0) {
      strbuf_add (&out, chunk, (size_t) n);
      step = step * 3 % sizeof chunk + 1;
    }
    cr_assert_eq (n, 0);
    cr_assert_eq (out.len, len + SEAL_OVERHEAD);
    cr_assert_eq (seal_reader_rewind (&s), 0);   /* a retried upload: same bytes */
  }
  seal_reader_free (&s);
  size_t m = out.len;
  cr_assert_eq (seal_open (&k1, AD, (unsigned char *) out.data, &m, &err), RM_OK, "%s", err.message);
  cr_expect_eq (m, len);
  cr_expect_eq (memcmp (out.data, big, len), 0);
  strbuf_free (&out);
  free (big);
}

Test (seal, address_is_keyed, .init = keys)
{
  char a[65], b[65];
  seal_address_hex (&k1, "same", 4, a);
  seal_address_hex (&k2, "same", 4, b);
  cr_expect_str_neq (a, b);
  cr_expect_eq (strlen (a), 64);
}

static int
write_key_file (const char *path, const void *data, size_t len)
{
  FILE *f = fopen (path, "wb");
  cr_assert_not_null (f);
  fwrite (data, 1, len, f);
  fclose (f);
  return chmod (path, 0600);
}

Test (seal, key_file_raw_and_base64)
{
  char path[] = "/tmp/rm-seal-XXXXXX";
  int fd = mkstemp (path);
  cr_assert_geq (fd, 0);
  close (fd);
  unsigned char raw[32];
  for (int i = 0; i < 32; i++)
    raw[i] = (unsigned char) (200 + i);
  struct seal_key want, got;
  seal_key_from_raw (raw, &want);
  struct rm_error err;
  write_key_file (path, raw, 32);
  cr_expect_eq (seal_key_load (path, &got, &err), RM_OK, "%s", err.message);
  cr_expect_eq (memcmp (&got, &want, sizeof got), 0);
  const char *b64 = "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc=\n";
  write_key_file (path, b64, strlen (b64));
  cr_expect_eq (seal_key_load (path, &got, &err), RM_OK, "%s", err.message);
  cr_expect_eq (memcmp (&got, &want, sizeof got), 0);
  static const char *bad[] = { "", "short", "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5g==",
                               "not base64 at all, but 44 characters long!!" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_key_file (path, bad[i], strlen (bad[i]));
    cr_expect_eq (seal_key_load (path, &got, &err), RM_E_CONFIG, "%s", bad[i]);
    cr_expect (strstr (err.message, path), "%s", err.message);
    if (*bad[i])
      cr_expect_null (strstr (err.message, bad[i]), "the content is quoted: %s", err.message);
  }
  unlink (path);
  cr_expect_eq (seal_key_load (path, &got, &err), RM_E_CONFIG);
  cr_expect (strstr (err.message, path), "%s", err.message);
}
