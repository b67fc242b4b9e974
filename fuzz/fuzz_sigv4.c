/* Fuzz target: SigV4 canonicalisation (plugins/s3/sigv4.c).  Input: one byte of switches,
 * then lines: the method, the path, the region, and any number of "?name=value" query
 * parameters, "name:value" headers and one "!token" session token.  Checks that the
 * canonical URI holds only what SigV4 allows and that URI encoding round-trips. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"
#include "fuzz.h"

#define MAX_PAIRS 64

static void
check_encoding (const char *s, int keep_slash)
{
  char *enc = sigv4_uri_encode (s, strlen (s), keep_slash);
  FUZZ_ASSERT (enc);
  for (const char *p = enc; *p; p++)
    FUZZ_ASSERT (isalnum ((unsigned char) *p) || strchr ("-._~%", *p)
                 || (keep_slash && *p == '/'));
  sigv4_uri_decode (enc);
  FUZZ_ASSERT (strcmp (enc, s) == 0);
  free (enc);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  unsigned sw = data[0];
  char *text = fuzz_strndup (data + 1, size - 1);
  const char *lines[3] = { "GET", "/", "us-east-1" };
  struct sigv4_pair query[MAX_PAIRS], headers[MAX_PAIRS];
  size_t nq = 0, nh = 0, nl = 0;
  const char *token = NULL;
  char *save = NULL;
  for (char *l = strtok_r (text, "\n", &save); l; l = strtok_r (NULL, "\n", &save)) {
    if (nl < 3)
      lines[nl++] = l;
    else if (l[0] == '?' && nq < MAX_PAIRS) {
      char *eq = strchr (l + 1, '=');
      if (eq)
        *eq++ = '\0';
      query[nq++] = (struct sigv4_pair) { l + 1, eq };
    }
    else if (l[0] == '!')
      token = l + 1;
    else if (nh < MAX_PAIRS) {
      char *colon = strchr (l, ':');
      if (colon)
        *colon++ = '\0';
      headers[nh++] = (struct sigv4_pair) { l, colon };
    }
  }
  struct sigv4_request req = {
    .method = lines[0],
    .path = lines[1],
    .path_encoded = sw & 1,
    .query = query,
    .nquery = nq,
    .headers = headers,
    .nheaders = nh,
    .payload_hash = sw & 2 ? "UNSIGNED-PAYLOAD" : NULL,
  };
  struct sigv4_params p = {
    .access_key_id = "AKIDEXAMPLE",
    .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    .session_token = token,
    .region = lines[2],
    .service = "s3",
    .when = 1440938160 + (time_t) (sw >> 6) * 86400 * 3653,
    .normalize_path = (sw >> 2) & 1,
    .add_content_sha256 = (sw >> 3) & 1,
    .omit_session_token = (sw >> 4) & 1,
    .query_mode = (sw >> 5) & 1,
    .expires = 86400,
  };
  struct sigv4_result r;
  FUZZ_ASSERT (sigv4_sign (&req, &p, &r) == 0);
  FUZZ_ASSERT (strlen (r.signature) == 64);
  FUZZ_ASSERT (r.canonical_request && r.string_to_sign && r.query && r.canonical_uri);
  FUZZ_ASSERT ((r.authorization != NULL) == !p.query_mode);
  if (!req.path_encoded)
    for (const char *c = r.canonical_uri; *c; c++)
      FUZZ_ASSERT (isalnum ((unsigned char) *c) || strchr ("-._~%/", *c));
  sigv4_result_free (&r);

  check_encoding (lines[1], 1);
  check_encoding (lines[1], 0);
  for (size_t i = 0; i < nq; i++)
    check_encoding (query[i].name, 0);
  free (text);
  return 0;
}
