/* Tests for the core's error convention (core/base/error.c): every extended code of kube,
 * helm, the plugin loader and the base layer has a primary RM_E_* code, no two modules mint the same code,
 * err_strerror and err_name name each code, and err_set / err_prefix fill a struct rm_error
 * the way callers rely on (NULL-tolerant, truncating, redacting secrets). */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/base64.h"
#include "base/error.h"
#include "base/gzip.h"
#include "base/log.h"
#include "base/yamljson.h"
#include "helm/helm.h"
#include "kube/kube.h"
#include "conffile.h"
#include "plugin.h"

struct code {
  int code;
  const char *name;
  const char *text;    /* what err_strerror says today (messages and tests rely on it) */
  int primary;
};

static const struct code codes[] = {
  { KUBE_E_CONFIG, "KUBE_E_CONFIG", "Kubernetes configuration error", RM_E_CONFIG },
  { KUBE_E_AUTH, "KUBE_E_AUTH", "authentication failed", RM_E_AUTH },
  { KUBE_E_FORBIDDEN, "KUBE_E_FORBIDDEN", "forbidden", RM_E_PERMISSION },
  { KUBE_E_NOT_FOUND, "KUBE_E_NOT_FOUND", "not found", RM_E_NOT_FOUND },
  { KUBE_E_CONFLICT, "KUBE_E_CONFLICT", "conflict", RM_E_EXISTS },
  { KUBE_E_ALREADY_EXISTS, "KUBE_E_ALREADY_EXISTS", "already exists", RM_E_EXISTS },
  { KUBE_E_GONE, "KUBE_E_GONE", "resource version expired", RM_E_PRECONDITION },
  { KUBE_E_INVALID, "KUBE_E_INVALID", "invalid request", RM_E_INVALID },
  { KUBE_E_TRANSIENT, "KUBE_E_TRANSIENT", "server unavailable", RM_E_TRANSIENT },
  { KUBE_E_NETWORK, "KUBE_E_NETWORK", "network error", RM_E_TRANSIENT },
  { KUBE_E_TLS, "KUBE_E_TLS", "TLS error", RM_E_IO },
  { KUBE_E_PROTOCOL, "KUBE_E_PROTOCOL", "unexpected response", RM_E_IO },
  { KUBE_E_HTTP, "KUBE_E_HTTP", "HTTP error", RM_E_IO },
  { KUBE_E_ABORTED, "KUBE_E_ABORTED", "aborted", RM_E_ABORTED },
  { KUBE_E_UNSUPPORTED, "KUBE_E_UNSUPPORTED", "not supported", RM_E_UNSUPPORTED },
  { HELM_V2, "HELM_V2", "Helm 2 (Tiller) release", RM_E_UNSUPPORTED },
  { HELM_E_NOT_RELEASE, "HELM_E_NOT_RELEASE", "not a Helm release object", RM_E_INVALID },
  { HELM_E_CORRUPT, "HELM_E_CORRUPT", "corrupt Helm release record", RM_E_IO },
  { HELM_E_TOO_LARGE, "HELM_E_TOO_LARGE", "Helm release record too large", RM_E_INVALID },
  { HELM_E_INVALID, "HELM_E_INVALID", "invalid Helm release", RM_E_INVALID },
  { GZIP_E_CORRUPT, "GZIP_E_CORRUPT", "corrupt gzip data", RM_E_IO },
  { GZIP_E_TOO_LARGE, "GZIP_E_TOO_LARGE", "decompressed data too large", RM_E_INVALID },
  { YAMLJSON_E_SYNTAX, "YAMLJSON_E_SYNTAX", "invalid YAML", RM_E_INVALID },
  { YAMLJSON_E_NO_FILE, "YAMLJSON_E_NO_FILE", "no such file", RM_E_NOT_FOUND },
  { YAMLJSON_E_READ, "YAMLJSON_E_READ", "cannot read file", RM_E_IO },
  { BASE64_E_INVALID, "BASE64_E_INVALID", "invalid base64", RM_E_INVALID },
  { CONFFILE_E_READ, "CONFFILE_E_READ", "cannot read the configuration file", RM_E_CONFIG },
  { CONFFILE_E_SYNTAX, "CONFFILE_E_SYNTAX", "configuration file is not YAML", RM_E_CONFIG },
  { CONFFILE_E_INVALID, "CONFFILE_E_INVALID", "invalid configuration file", RM_E_CONFIG },
  { PLUGIN_E_NOT_FOUND, "PLUGIN_E_NOT_FOUND", "backend plugin not found", RM_E_NOT_FOUND },
  { PLUGIN_E_LOAD, "PLUGIN_E_LOAD", "cannot load backend plugin", RM_E_IO },
  { PLUGIN_E_ABI, "PLUGIN_E_ABI", "backend plugin built for another ABI", RM_E_UNSUPPORTED },
  { PLUGIN_E_INVALID, "PLUGIN_E_INVALID", "not a valid backend plugin", RM_E_INVALID },
};
#define NCODES (sizeof codes / sizeof codes[0])

Test (error, every_extended_code_has_a_primary)
{
  for (size_t i = 0; i < NCODES; i++) {
    int p = rm_primary (codes[i].code);
    cr_expect (p >= 1 && p <= RM_E_LAST_, "%s: primary %d", codes[i].name, p);
    cr_expect_eq (p, codes[i].primary, "%s: primary %d", codes[i].name, p);
    cr_expect_neq (codes[i].code, p, "%s is a primary, not an extended code", codes[i].name);
    cr_expect (codes[i].code > 0 && codes[i].code < (1 << 16), "%s: 0x%x", codes[i].name,
               (unsigned) codes[i].code);
  }
  cr_expect_eq (KUBE_OK, RM_OK);
  cr_expect_eq (HELM_OK, RM_OK);
}

Test (error, codes_are_unique)
{
  for (size_t i = 0; i < NCODES; i++)
    for (size_t j = i + 1; j < NCODES; j++)
      cr_expect_neq (codes[i].code, codes[j].code, "%s == %s", codes[i].name, codes[j].name);
}

/* Each module stays in its block of N (error.h), so a new code cannot collide with
 * another module's by accident. */
Test (error, codes_stay_in_their_module_block)
{
  for (size_t i = 0; i < NCODES; i++) {
    int n = codes[i].code >> 8;
    const char *nm = codes[i].name;
    if (strncmp (nm, "KUBE_", 5) == 0)
      cr_expect (n >= 0x10 && n <= 0x1f, "%s: N 0x%x", nm, (unsigned) n);
    else if (strncmp (nm, "HELM_", 5) == 0)
      cr_expect (n >= 0x20 && n <= 0x2f, "%s: N 0x%x", nm, (unsigned) n);
    else if (strncmp (nm, "PLUGIN_", 7) == 0 || strncmp (nm, "CONFFILE_", 9) == 0)
      cr_expect (n >= 0x40 && n <= 0x4f, "%s: N 0x%x", nm, (unsigned) n);
    else
      cr_expect (n >= 0x01 && n <= 0x0f, "%s: N 0x%x", nm, (unsigned) n);
  }
}

Test (error, strerror_names_every_code)
{
  for (size_t i = 0; i < NCODES; i++) {
    cr_expect_str_eq (err_strerror (codes[i].code), codes[i].text, "%s", codes[i].name);
    cr_expect_str_eq (err_name (codes[i].code), codes[i].name);
  }
  /* The module functions agree with the core one (kube_probe prints them). */
  cr_expect_str_eq (kube_strerror (KUBE_E_TRANSIENT), "server unavailable");
  cr_expect_str_eq (kube_strerror (KUBE_OK), "success");
  cr_expect_str_eq (helm_strerror (HELM_E_CORRUPT), "corrupt Helm release record");
  /* Primaries, and an extended code nobody defined, read as their primary. */
  cr_expect_str_eq (err_strerror (RM_E_PERMISSION), "permission denied");
  cr_expect_str_eq (err_name (RM_E_PERMISSION), "RM_E_PERMISSION");
  cr_expect_str_eq (err_name (RM_OK), "RM_OK");
  cr_expect_str_eq (err_strerror (ERR_EXT (RM_E_NOSPACE, 0x7f)), "no space left");
  cr_expect_null (err_name (ERR_EXT (RM_E_NOSPACE, 0x7f)));
  cr_expect_str_eq (err_strerror (-1), "unknown error");
}

Test (error, set_and_prefix)
{
  struct rm_error e;
  cr_expect_eq (err_set (&e, KUBE_E_NOT_FOUND, "secrets \"%s\" not found", "s"), KUBE_E_NOT_FOUND);
  cr_expect_eq (e.code, KUBE_E_NOT_FOUND);
  cr_expect_str_eq (e.message, "secrets \"s\" not found");
  cr_expect_eq (err_prefix (&e, "secret %s/%s: ", "ns", "x"), KUBE_E_NOT_FOUND);
  cr_expect_str_eq (e.message, "secret ns/x: secrets \"s\" not found");
  cr_expect_eq (err_set (NULL, RM_E_IO, "dropped"), RM_E_IO);
  cr_expect_eq (err_prefix (NULL, "x"), 0);
  err_clear (&e);
  cr_expect_eq (e.code, 0);
  cr_expect_str_eq (e.message, "");
  err_clear (NULL);
}

Test (error, prefix_truncates)
{
  struct rm_error e;
  char big[2 * RM_ERROR_MESSAGE_MAX];
  memset (big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  err_set (&e, RM_E_IO, "%s", big);
  cr_expect_eq (strlen (e.message), RM_ERROR_MESSAGE_MAX - 1);
  err_prefix (&e, "ctx: ");
  cr_expect_eq (strlen (e.message), RM_ERROR_MESSAGE_MAX - 1);
  cr_expect (strncmp (e.message, "ctx: mmm", 8) == 0, "%.20s", e.message);
  err_prefix (&e, "%s", big);
  cr_expect_eq (strlen (e.message), RM_ERROR_MESSAGE_MAX - 1);
  cr_expect_eq (e.message[0], 'm');
}

Test (error, messages_are_redacted)
{
  log_add_secret ("hunter2-secret");
  struct rm_error e;
  err_set (&e, KUBE_E_AUTH, "token %s refused", "hunter2-secret");
  cr_expect_str_eq (e.message, "token *** refused");
  err_set (&e, KUBE_E_AUTH, "refused");
  err_prefix (&e, "token %s: ", "hunter2-secret");
  cr_expect_str_eq (e.message, "token ***: refused");
  log_clear_secrets ();
}

/* The base layer's own codes come from the functions that return them. */
Test (error, base_functions_return_their_codes)
{
  struct rm_error e;
  struct strbuf out = STRBUF_INIT;
  cr_expect_eq (gzip_inflate ("\x1f\x8b\x08\x00", 4, 100, &out, &e), GZIP_E_CORRUPT);
  cr_expect (strstr (e.message, "truncated") != NULL, "%s", e.message);
  strbuf_free (&out);
  struct yamljson y;
  cr_expect_eq (yamljson_parse ("a: [", 4, "t.yaml", &y, &e), YAMLJSON_E_SYNTAX);
  cr_expect (strncmp (e.message, "t.yaml:", 7) == 0, "%s", e.message);
  cr_expect_eq (yamljson_parse ("a: [", 4, "t.yaml", &y, NULL), YAMLJSON_E_SYNTAX);
  cr_expect_eq (yamljson_load ("/nonexistent/x.yaml", &y, &e), YAMLJSON_E_NO_FILE);
  cr_expect_eq (e.code, YAMLJSON_E_NO_FILE);
  size_t n;
  cr_expect_null (base64_decode ("Zm9v!", 5, &n, &e));
  cr_expect_eq (e.code, BASE64_E_INVALID);
  cr_expect_str_eq (e.message, "invalid character '!' at offset 4");
  cr_expect_null (base64_decode ("Zm9v!", 5, &n, NULL));
  cr_expect_null (plugin_load ("/nonexistent/x.so", NULL, &e));
  cr_expect_eq (e.code, PLUGIN_E_NOT_FOUND);
  cr_expect_null (config_load ("/nonexistent/config.yaml", &e));
  cr_expect_eq (e.code, CONFFILE_E_READ);
}
