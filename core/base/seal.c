/* AES-256-GCM sealing of stored objects and the store key file (seal.h has the format).
 * OpenSSL's EVP interface does the cipher; HKDF (RFC 5869) is written out with one-shot
 * HMAC calls so that OpenSSL 1.1, which has no EVP_KDF, builds it too. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/base64.h"
#include "base/log.h"
#include "base/seal.h"

#define KEY_ID_LABEL "releasemanager key id"
#define ENC_INFO "releasemanager encryption v1"
#define ADDR_INFO "releasemanager address v1"

static void
hmac (const unsigned char *key, size_t key_len, const void *data, size_t len,
      unsigned char out[32])
{
  unsigned int n = 32;
  HMAC (EVP_sha256 (), key, (int) key_len, data, len, out, &n);
}

/* HKDF-SHA256 with an empty salt and one output block (32 bytes). */
static void
hkdf (const unsigned char raw[SEAL_KEY_LEN], const char *info, unsigned char out[32])
{
  unsigned char zero[32] = { 0 }, prk[32], t[64];
  hmac (zero, sizeof zero, raw, SEAL_KEY_LEN, prk);
  size_t il = strlen (info);
  memcpy (t, info, il);
  t[il] = 1;
  hmac (prk, sizeof prk, t, il + 1, out);
  OPENSSL_cleanse (prk, sizeof prk);
}

void
seal_key_from_raw (const unsigned char raw[SEAL_KEY_LEN], struct seal_key *k)
{
  unsigned char id[32];
  hkdf (raw, ENC_INFO, k->enc);
  hkdf (raw, ADDR_INFO, k->addr);
  hmac (raw, SEAL_KEY_LEN, KEY_ID_LABEL, strlen (KEY_ID_LABEL), id);
  memcpy (k->id, id, SEAL_KEY_ID_LEN);
  for (int i = 0; i < SEAL_KEY_ID_LEN; i++)
    snprintf (k->id_hex + 2 * i, 3, "%02x", k->id[i]);
}

void
seal_key_clear (struct seal_key *k)
{
  OPENSSL_cleanse (k, sizeof *k);
}

int
seal_key_load (const char *path, struct seal_key *k, struct rm_error *err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return rm_error_set (err, RM_E_CONFIG, "encryption key file %s: %s", path, strerror (errno));
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    close (fd);
    return rm_error_set (err, RM_E_CONFIG, "encryption key file %s: not a regular file", path);
  }
  /* A warning, not a refusal as ssh does: a Kubernetes Secret mounted as a volume is
   * 0644 unless its defaultMode says otherwise, and the pod is its only reader. */
  if (st.st_mode & 077)
    log_warn ("encryption key file %s is readable by other users (mode %04o); chmod 600 it",
              path, (unsigned) (st.st_mode & 07777));
  unsigned char buf[256];
  size_t n = 0;
  for (;;) {
    ssize_t r = read (fd, buf + n, sizeof buf - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      close (fd);
      return rm_error_set (err, RM_E_CONFIG, "encryption key file %s: %s", path, strerror (e));
    }
    if (r == 0 || (n += (size_t) r) == sizeof buf)
      break;
  }
  close (fd);
  int rc = RM_OK;
  if (n == SEAL_KEY_LEN)
    seal_key_from_raw (buf, k);
  else {
    size_t b = 0, e = n;
    while (b < e && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n' || buf[b] == '\r'))
      b++;
    while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\n'
                     || buf[e - 1] == '\r'))
      e--;
    size_t rl = 0;
    unsigned char *raw = n < sizeof buf ? base64_decode ((const char *) buf + b, e - b, &rl, NULL)
                                        : NULL;
    if (raw && rl == SEAL_KEY_LEN)
      seal_key_from_raw (raw, k);
    else
      rc = rm_error_set (err, RM_E_CONFIG, "encryption key file %s: not a key: it must hold "
                         "exactly 32 bytes, or the base64 of 32 bytes (%s bytes read); make "
                         "one with: head -c 32 /dev/urandom | base64 > FILE", path,
                         n == sizeof buf ? "256 or more" : n == 0 ? "0" : "another count of");
    if (raw) {
      OPENSSL_cleanse (raw, rl);
      free (raw);
    }
  }
  OPENSSL_cleanse (buf, sizeof buf);
  return rc;
}

void
seal_address_hex (const struct seal_key *k, const void *data, size_t len, char out[65])
{
  unsigned char md[32];
  hmac (k->addr, sizeof k->addr, data, len, md);
  for (int i = 0; i < 32; i++)
    snprintf (out + 2 * i, 3, "%02x", md[i]);
}

bool
seal_is_sealed (const void *buf, size_t len, char *key_id_hex)
{
  const unsigned char *p = buf;
  if (len < SEAL_HEADER_LEN || memcmp (p, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
    return false;
  if (key_id_hex)
    for (int i = 0; i < SEAL_KEY_ID_LEN; i++)
      snprintf (key_id_hex + 2 * i, 3, "%02x", p[8 + i]);
  return true;
}

/* The cipher context set up for one object: key, nonce, associated data (the header
 * and the object's key). */
static EVP_CIPHER_CTX *
start (const struct seal_key *k, const unsigned char header[SEAL_HEADER_LEN], const char *ad,
       bool enc)
{
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
  int n;
  if (!c
      || !EVP_CipherInit_ex (c, EVP_aes_256_gcm (), NULL, NULL, NULL, enc)
      || !EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL)
      || !EVP_CipherInit_ex (c, NULL, NULL, k->enc, header + 16, enc)
      || !EVP_CipherUpdate (c, NULL, &n, header, SEAL_HEADER_LEN)
      || !EVP_CipherUpdate (c, NULL, &n, (const unsigned char *) ad, (int) strlen (ad))) {
    EVP_CIPHER_CTX_free (c);
    return NULL;
  }
  return c;
}

int
seal_reader_init (struct seal_reader *s, const struct seal_key *k, const char *ad,
                  const void *src, size_t len, struct rm_error *err)
{
  memset (s, 0, sizeof *s);
  s->k = k;
  s->ad = ad;
  s->src = src;
  s->len = len;
  memcpy (s->header, SEAL_MAGIC, SEAL_MAGIC_LEN);
  s->header[6] = SEAL_VERSION;
  s->header[7] = SEAL_ALG_AES256GCM;
  memcpy (s->header + 8, k->id, SEAL_KEY_ID_LEN);
  if (RAND_bytes (s->header + 16, SEAL_NONCE_LEN) != 1)
    return rm_error_set (err, RM_E_INTERNAL, "no random nonce: RAND_bytes failed");
  s->ctx = start (k, s->header, ad, true);
  if (!s->ctx)
    return rm_error_set (err, RM_E_INTERNAL, "AES-256-GCM setup failed");
  return RM_OK;
}

long long
seal_reader_read (void *opaque, void *buf, size_t len)
{
  struct seal_reader *s = opaque;
  unsigned char *o = buf;
  size_t given = 0;
  if (s->failed)
    return -1;
  while (given < len) {
    if (s->out < SEAL_HEADER_LEN) {
      size_t n = SEAL_HEADER_LEN - s->out < len - given ? SEAL_HEADER_LEN - s->out : len - given;
      memcpy (o + given, s->header + s->out, n);
      s->out += n;
      given += n;
    } else if (s->pos < s->len) {
      size_t n = s->len - s->pos < len - given ? s->len - s->pos : len - given;
      if (n > (1u << 30))
        n = 1u << 30;
      int m = 0;
      if (!EVP_EncryptUpdate (s->ctx, o + given, &m, s->src + s->pos, (int) n) || (size_t) m != n) {
        s->failed = true;
        return -1;
      }
      s->pos += n;
      s->out += n;
      given += n;
      if (s->pos == s->len) {
        int f = 0;
        if (!EVP_EncryptFinal_ex (s->ctx, s->tag, &f)
            || !EVP_CIPHER_CTX_ctrl (s->ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, s->tag)) {
          s->failed = true;
          return -1;
        }
      }
    } else {
      if (s->len == 0 && s->out == SEAL_HEADER_LEN) {
        int f = 0;
        if (!EVP_EncryptFinal_ex (s->ctx, s->tag, &f)
            || !EVP_CIPHER_CTX_ctrl (s->ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, s->tag)) {
          s->failed = true;
          return -1;
        }
      }
      size_t done = s->out - SEAL_HEADER_LEN - s->len;
      if (done >= SEAL_TAG_LEN)
        break;
      size_t n = SEAL_TAG_LEN - done < len - given ? SEAL_TAG_LEN - done : len - given;
      memcpy (o + given, s->tag + done, n);
      s->out += n;
      given += n;
    }
  }
  return (long long) given;
}

int
seal_reader_rewind (void *opaque)
{
  struct seal_reader *s = opaque;
  EVP_CIPHER_CTX_free (s->ctx);
  s->ctx = start (s->k, s->header, s->ad, true);
  s->pos = s->out = 0;
  s->failed = s->ctx == NULL;
  return s->failed ? -1 : 0;
}

void
seal_reader_free (struct seal_reader *s)
{
  EVP_CIPHER_CTX_free (s->ctx);
  s->ctx = NULL;
}

int
seal_buf (const struct seal_key *k, const char *ad, const void *src, size_t len,
          struct strbuf *out, struct rm_error *err)
{
  struct seal_reader s;
  int rc = seal_reader_init (&s, k, ad, src, len, err);
  if (rc != RM_OK)
    return rc;
  strbuf_reserve (out, len + SEAL_OVERHEAD);
  long long n = seal_reader_read (&s, out->data + out->len, len + SEAL_OVERHEAD);
  seal_reader_free (&s);
  if (n != (long long) (len + SEAL_OVERHEAD))
    return rm_error_set (err, RM_E_INTERNAL, "AES-256-GCM encryption failed");
  out->len += len + SEAL_OVERHEAD;
  out->data[out->len] = '\0';
  return RM_OK;
}

int
seal_open (const struct seal_key *k, const char *ad, unsigned char *buf, size_t *len,
           struct rm_error *err)
{
  char id[SEAL_KEY_ID_HEX];
  if (!seal_is_sealed (buf, *len, id)) {
    if (*len >= SEAL_MAGIC_LEN && memcmp (buf, SEAL_MAGIC, SEAL_MAGIC_LEN) == 0)
      return rm_error_set (err, RM_E_IO, "truncated encrypted object (%zu bytes)", *len);
    return rm_error_set (err, RM_E_IO, "not an encrypted object (no %s header)", SEAL_MAGIC);
  }
  if (buf[6] != SEAL_VERSION || buf[7] != SEAL_ALG_AES256GCM)
    return rm_error_set (err, RM_E_IO, "encrypted with format version %u algorithm %u; this "
                         "releasemanager reads version %d algorithm %d", buf[6], buf[7],
                         SEAL_VERSION, SEAL_ALG_AES256GCM);
  if (memcmp (buf + 8, k->id, SEAL_KEY_ID_LEN) != 0)
    return rm_error_set (err, RM_E_IO, "encrypted with key id %s, the key given has id %s", id,
                         k->id_hex);
  if (*len < SEAL_OVERHEAD)
    return rm_error_set (err, RM_E_IO, "truncated encrypted object (%zu bytes)", *len);
  size_t n = *len - SEAL_OVERHEAD;
  EVP_CIPHER_CTX *c = start (k, buf, ad, false);
  if (!c)
    return rm_error_set (err, RM_E_INTERNAL, "AES-256-GCM setup failed");
  unsigned char *body = buf + SEAL_HEADER_LEN;
  int ok = EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, body + n);
  size_t done = 0;
  while (ok && done < n) {
    size_t step = n - done < (1u << 30) ? n - done : (1u << 30);
    int m = 0;
    /* In place: OpenSSL allows out == in. */
    ok = EVP_DecryptUpdate (c, body + done, &m, body + done, (int) step) && (size_t) m == step;
    done += step;
  }
  int f = 0;
  ok = ok && EVP_DecryptFinal_ex (c, body + n, &f) > 0;
  EVP_CIPHER_CTX_free (c);
  if (!ok) {
    OPENSSL_cleanse (body, n);
    return rm_error_set (err, RM_E_IO, "not authentic: the object was altered, truncated, or "
                         "is another object's (the tag does not match)");
  }
  memmove (buf, body, n);
  buf[n] = '\0';
  *len = n;
  return RM_OK;
}
