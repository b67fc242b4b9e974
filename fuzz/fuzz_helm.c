/* Fuzz target: the Helm record decoder (core/helm/decode.c).  The first byte picks the
 * entry point: a Secret/ConfigMap object as the API returns it (JSON), Helm's own blob
 * (base64 of [gzip] JSON), or the release JSON itself; a fourth mode encodes the input
 * as a blob and checks that decoding gives the same bytes back. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "helm/helm.h"
#include "fuzz.h"

/* Small, so a gzip bomb costs the fuzzer little; the cap is the same code path. */
static const struct helm_opts opts = { .max_decoded = 1 << 20 };

static void
check_release (const struct helm_release *rel)
{
  FUZZ_ASSERT (rel->name && rel->namespace && rel->status);
  FUZZ_ASSERT (rel->version >= 1);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  unsigned mode = data[0] & 3;
  const char *text = (const char *) data + 1;
  size_t len = size - 1;
  struct helm_release rel;
  struct rm_error err;
  int rc;
  memset (&rel, 0, sizeof rel);
  switch (mode) {
  case 0: {
    cJSON *obj = cJSON_ParseWithLength (text, len);
    if (!obj)
      return 0;
    for (int d = HELM_DRIVER_AUTO; d <= HELM_DRIVER_CONFIGMAP; d++) {
      rc = helm_release_decode (obj, (enum helm_driver) d, &opts, &rel, &err);
      if (rc == HELM_OK) {
        check_release (&rel);
        FUZZ_ASSERT (rel.json && strlen (rel.json) <= rel.json_len);
      }
      else
        FUZZ_ASSERT (err.message[0]);
      helm_release_free (&rel);
    }
    cJSON_Delete (obj);
    break;
  }
  case 1:
    rc = helm_release_decode_blob (text, len, "fuzz", &opts, &rel, &err);
    if (rc == HELM_OK)
      check_release (&rel);
    helm_release_free (&rel);
    break;
  case 2:
    rc = helm_release_parse_json (text, len, "fuzz", &rel, &err);
    if (rc == HELM_OK)
      check_release (&rel);
    helm_release_free (&rel);
    break;
  default: {
    bool raw = data[0] & 4;
    char *blob = helm_encode_blob (text, len, raw);
    FUZZ_ASSERT (blob);
    rc = helm_release_decode_blob (blob, strlen (blob), "fuzz", &opts, &rel, &err);
    free (blob);
    if (rc == HELM_OK) {
      check_release (&rel);
      FUZZ_ASSERT (rel.json_len == len && memcmp (rel.json, text, len) == 0);
      FUZZ_ASSERT (rel.was_gzip == !raw);
    }
    helm_release_free (&rel);
    break;
  }
  }
  return 0;
}
