/* Tests for import's value updates (core/import/values.c): --update-values parsed as the
 * original tool's flag (pflag StringToString: one '=' is one pair, several are one CSV
 * record, a later key wins), applied only to values a release already has (a literal
 * top-level key first, else a dotted path), typed like the value replaced, and
 * --new-path setting 'path' and/or 'backend.path'. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "base/log.h"
#include "base/util.h"
#include "import/import.h"

/* The pairs of the arguments, joined by '|', or "ERR: message". */
static char *
parse (const char *const *args)
{
  struct strlist u = STRLIST_INIT;
  struct rm_error err;
  struct strbuf sb = STRBUF_INIT;
  for (; *args; args++)
    if (imp_updates_add (&u, *args, &err) != RM_OK) {
      strlist_free (&u);
      return xasprintf ("ERR: %s", err.message);
    }
  for (size_t i = 0; i < u.n; i++)
    strbuf_printf (&sb, "%s%s", i ? "|" : "", u.items[i]);
  strlist_free (&u);
  return sb.data ? strbuf_detach (&sb) : xstrdup ("");
}

#define PARSES(want, ...) do {                                          \
    const char *const a_[] = { __VA_ARGS__, NULL };                     \
    char *got_ = parse (a_);                                            \
    cr_expect_str_eq (got_, want, "%s", a_[0]);                          \
    free (got_);                                                        \
  } while (0)

Test (update_values, parsed_like_the_original)
{
  PARSES ("a=1", "a=1");
  PARSES ("a=1,2", "a=1,2");              /* one '=': the value keeps its commas */
  PARSES ("a=1|b=2", "a=1,b=2");
  PARSES ("a=x=y", "a=x=y");             /* several '=', one field */
  PARSES ("a=1,2|b=3", "\"a=1,2\",b=3");   /* quotes honoured */
  PARSES ("a=say \"hi\"|b=1", "\"a=say \"\"hi\"\"\",b=1");
  PARSES ("a=v", "\"a=v\"");              /* one '=': quotes trimmed at both ends */
  PARSES ("b=2|a=3", "a=1", "b=2", "a=3");  /* a later key wins */
  PARSES ("b=2|a=3", "a=1,b=2,a=3");
  PARSES ("image.tag=1.10|path=/x", "image.tag=1.10", "path=/x");
  PARSES ("", "");
}

Test (update_values, errors_name_the_pair)
{
  PARSES ("ERR: --update-values: 'nothing' must be formatted as KEY=VALUE", "nothing");
  PARSES ("ERR: --update-values: 'c' (in 'a=1,b=2,c') must be formatted as KEY=VALUE",
          "a=1,b=2,c");
  PARSES ("ERR: --update-values: '=1' has no KEY before '='", "=1");
  char *got = parse ((const char *const[]) { "a=1,\"b=2", NULL });
  cr_expect (strstr (got, "no closing"), "%s", got);
  free (got);
  got = parse ((const char *const[]) { "a=1,b=x\"y=", NULL });
  cr_expect (strstr (got, "'\"' inside a field"), "%s", got);
  free (got);
}

static char *
apply (const char *values, const char *const *updates, size_t *n)
{
  struct strlist u = STRLIST_INIT;
  for (; *updates; updates++)
    strlist_push (&u, *updates);
  cJSON *v = cJSON_Parse (values);
  *n = imp_update_values (v, &u, "ns/rel");
  char *out = cJSON_PrintUnformatted (v);
  cJSON_Delete (v);
  strlist_free (&u);
  return out;
}

#define APPLIES(values, want, wantn, ...) do {                          \
    const char *const u_[] = { __VA_ARGS__, NULL };                     \
    size_t n_;                                                          \
    char *got_ = apply (values, u_, &n_);                               \
    cr_expect_str_eq (got_, want);                                      \
    cr_expect_eq (n_, (size_t) (wantn), "%s: %zu changed", values, n_); \
    free (got_);                                                        \
  } while (0)

Test (update_values, only_existing_values)
{
  log_set_level (RM_LOG_ERROR);           /* the refusals are warnings */
  APPLIES ("{\"a\":\"x\"}", "{\"a\":\"y\"}", 1, "a=y");
  APPLIES ("{\"a\":\"x\"}", "{\"a\":\"x\"}", 0, "b=y");
  APPLIES ("{}", "{}", 0, "a=y");
  /* a literal top-level key first, as the original; else the dotted path */
  APPLIES ("{\"a.b\":1,\"a\":{\"b\":2}}", "{\"a.b\":5,\"a\":{\"b\":2}}", 1, "a.b=5");
  APPLIES ("{\"a\":{\"b\":{\"c\":\"x\"}}}", "{\"a\":{\"b\":{\"c\":\"v\"}}}", 1, "a.b.c=v");
  APPLIES ("{\"a\":{\"b\":{}}}", "{\"a\":{\"b\":{}}}", 0, "a.b.c=v");
  APPLIES ("{\"a\":\"s\"}", "{\"a\":\"s\"}", 0, "a.b=v");
  APPLIES ("{\"a\":{\"\":1}}", "{\"a\":{\"\":1}}", 0, "a.=v");
}

Test (update_values, typed_like_the_value_replaced)
{
  APPLIES ("{\"n\":1,\"b\":true,\"s\":\"1\",\"o\":{\"k\":1}}",
           "{\"n\":3.5,\"b\":false,\"s\":\"2\",\"o\":\"x\"}", 4, "n=3.5", "b=false", "s=2", "o=x");
  /* text not of the old type: a string, as the original sets every value */
  APPLIES ("{\"n\":1,\"b\":true,\"z\":null}", "{\"n\":\"many\",\"b\":\"yes\",\"z\":\"7\"}", 3,
           "n=many", "b=yes", "z=7");
  APPLIES ("{\"tag\":\"1.10\"}", "{\"tag\":\"1.20\"}", 1, "tag=1.20");
}

static char *
new_path (const char *values, const char *defaults, size_t *n)
{
  cJSON *v = cJSON_Parse (values), *d = cJSON_Parse (defaults);
  *n = imp_set_new_path (v, d, "/new");
  char *out = cJSON_PrintUnformatted (v);
  cJSON_Delete (v);
  cJSON_Delete (d);
  return out;
}

#define NEW_PATH(values, defaults, want, wantn) do {                    \
    size_t n_;                                                          \
    char *got_ = new_path (values, defaults, &n_);                      \
    cr_expect_str_eq (got_, want, "%s %s", values, defaults);           \
    cr_expect_eq (n_, (size_t) (wantn));                                \
    free (got_);                                                        \
  } while (0)

Test (new_path, wherever_the_release_keeps_it)
{
  NEW_PATH ("{\"path\":\"/old\"}", "{}", "{\"path\":\"/new\"}", 1);
  NEW_PATH ("{\"backend\":{\"path\":\"/old\",\"type\":\"s3\"}}", "{}",
            "{\"backend\":{\"path\":\"/new\",\"type\":\"s3\"}}", 1);
  NEW_PATH ("{\"path\":\"/a\",\"backend\":{\"path\":\"/b\"}}", "null",
            "{\"path\":\"/new\",\"backend\":{\"path\":\"/new\"}}", 2);
  /* from the chart's defaults only (the original's chart: backend.path: "") */
  NEW_PATH ("{}", "{\"backend\":{\"path\":\"\",\"type\":\"s3\"}}",
            "{\"backend\":{\"path\":\"/new\"}}", 1);
  NEW_PATH ("{\"x\":1}", "{\"y\":2}", "{\"x\":1}", 0);
}
