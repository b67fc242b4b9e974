/* Tests for the validating JSON scanner (core/helm/jscan.c) that export uses instead of a
 * full parse: what it accepts and rejects (RFC 8259 as Go's encoding/json applies it),
 * where it says the error is, the values it captures at key paths, string unescaping, and
 * agreement with cJSON on every field of the real records. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "base/util.h"
#include "base/jscan.h"

static int
scan (const char *text, size_t *at, const char **why)
{
  return jscan (text, strlen (text), NULL, 0, at, why);
}

Test (jscan, accepts_valid_json)
{
  static const char *ok[] = {
    "{}", "[]", " \t\r\n{ } \n", "0", "-0", "1.5e+10", "-12.25E-3", "1E9", "\"\"", "true",
    "false", "null", "[1,\"a\",{\"b\":[null,false,true]},-0.0]", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    "\"\\u00e9\\uD83D\\uDE00\"", "\"caf\xc3\xa9 \xff raw bytes\"", "{\"a\":{\"b\":{\"c\":{}}}}",
    "[[[[[[[[[[]]]]]]]]]]", "{\"\":0}", "{\"a\":1,\"a\":2}",
  };
  for (size_t i = 0; i < ARRAY_SIZE (ok); i++) {
    size_t at = 0;
    const char *why = NULL;
    cr_expect_eq (scan (ok[i], &at, &why), 0, "rejected %s: %s at %zu", ok[i], why, at);
  }
}

Test (jscan, rejects_invalid_json_and_says_where)
{
  static const struct { const char *text; size_t at; const char *why; } bad[] = {
    { "", 0, "unexpected end" },
    { "   ", 3, "unexpected end" },
    { "{", 1, "unexpected end" },
    { "{\"a\"", 4, "unexpected end" },
    { "{\"a\":", 5, "unexpected end" },
    { "{\"a\":1", 6, "unexpected end" },
    { "[1,", 3, "unexpected end" },
    { "\"abc", 4, "unexpected end" },
    { "01", 1, "after top-level value" },
    { "1.", 2, "unexpected end" },
    { "1.x", 2, "numeric literal" },
    { ".5", 0, "beginning of value" },
    { "+1", 0, "beginning of value" },
    { "1e", 2, "unexpected end" },
    { "1e+]", 3, "numeric literal" },
    { "-", 1, "unexpected end" },
    { "-a", 1, "numeric literal" },
    { "tru", 3, "unexpected end" },
    { "trUe", 2, "literal" },
    { "nul", 3, "unexpected end" },
    { "NaN", 0, "beginning of value" },
    { "\"a\\x\"", 3, "invalid escape" },
    { "\"\\u12g4\"", 5, "invalid escape" },
    { "\"\\u12", 5, "unexpected end" },
    { "\"tab\there\"", 4, "control character" },
    { "\"nl\n\"", 3, "control character" },
    { "{\"a\":1,}", 7, "object key" },
    { "[1,]", 3, "beginning of value" },
    { "{\"a\" 1}", 5, "after object key" },
    { "{1:2}", 1, "object key" },
    { "{\"a\":1 \"b\":2}", 7, "key:value pair" },
    { "[1 2]", 3, "array element" },
    { "{}x", 2, "after top-level value" },
    { "{} {}", 3, "after top-level value" },
    { "[}", 1, "beginning of value" },
    { "{]", 1, "object key" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    size_t at = 999;
    const char *why = NULL;
    int want = strstr (bad[i].why, "after top-level") ? JSCAN_E_TRAILING : JSCAN_E_INVALID;
    cr_expect_eq (scan (bad[i].text, &at, &why), want, "%s: wrong result", bad[i].text);
    cr_expect_eq (at, bad[i].at, "%s: error at %zu, want %zu (%s)", bad[i].text, at, bad[i].at,
                  why);
    cr_expect (why && strstr (why, bad[i].why), "%s: %s, want %s", bad[i].text, why, bad[i].why);
  }
}

/* A NUL inside the text is a control character, not the end of it. */
Test (jscan, embedded_nul_is_invalid)
{
  size_t at;
  const char *why;
  cr_expect_eq (jscan ("\"a\0b\"", 5, NULL, 0, &at, &why), JSCAN_E_INVALID);
  cr_expect_eq (at, 2);
  cr_expect_eq (jscan ("{}\0", 3, NULL, 0, &at, &why), JSCAN_E_TRAILING);
  cr_expect_eq (at, 2);
}

/* Every proper prefix of an object is incomplete, and the scanner must say so without
 * reading past the end (ASan watches the exact-size copies). */
Test (jscan, every_truncation_is_rejected)
{
  const char *doc = "{\"name\":\"w\\u00e9b\",\"version\":12,\"info\":{\"status\":\"deployed\","
                    "\"notes\":\"line\\nline \\\"q\\\"\"},\"list\":[1,-2.5e3,true,false,null,"
                    "{\"k\":[]}],\"long\":\"0123456789abcdef0123456789abcdef0123456789\"}";
  size_t n = strlen (doc);
  for (size_t cut = 0; cut < n; cut++) {
    char *copy = xmalloc (cut ? cut : 1);
    memcpy (copy, doc, cut);
    size_t at;
    const char *why;
    cr_expect_eq (jscan (copy, cut, NULL, 0, &at, &why), JSCAN_E_INVALID, "prefix of %zu accepted", cut);
    free (copy);
  }
  size_t at;
  const char *why;
  char *copy = xmalloc (n);
  memcpy (copy, doc, n);
  cr_expect_eq (jscan (copy, n, NULL, 0, &at, &why), 0, "%s at %zu", why, at);
  free (copy);
}

Test (jscan, nesting_limit_is_gos)
{
  size_t n = JSCAN_MAX_DEPTH + 1;
  char *deep = xmalloc (2 * n);
  memset (deep, '[', n);
  memset (deep + n, ']', n);
  size_t at;
  const char *why;
  cr_expect_eq (jscan (deep + 1, 2 * n - 2, NULL, 0, &at, &why), 0, "%s", why);
  cr_expect_eq (jscan (deep, 2 * n, NULL, 0, &at, &why), JSCAN_E_INVALID);
  cr_expect (strstr (why, "max depth"), "%s", why);
  cr_expect_eq (at, JSCAN_MAX_DEPTH);
  free (deep);
}

Test (jscan, captures_values_at_paths)
{
  const char *doc =
    "{\"name\":\"first\",\"chart\":{\"metadata\":{\"name\":\"web\",\"version\":\"1.2.3\"},"
    "\"templates\":[{\"name\":\"not-me\"}]},\"info\":{\"status\":\"deployed\",\"deleted\":\"\"},"
    "\"version\":3,\"name\":\"last-wins\",\"n\\u0061mespace\":\"esc\",\"flag\":true,"
    "\"nested\":{\"name\":\"no\"},\"arr\":[{\"version\":9}]}";
  struct jscan_field f[] = {
    { .path = { NULL } },
    { .path = { "name", NULL } },
    { .path = { "chart", "metadata", "name", NULL } },
    { .path = { "chart", "metadata", "version", NULL } },
    { .path = { "info", NULL } },
    { .path = { "info", "deleted", NULL } },
    { .path = { "version", NULL } },
    { .path = { "namespace", NULL } },
    { .path = { "flag", NULL } },
    { .path = { "missing", NULL } },
    { .path = { "info", "status", "deeper", NULL } },
    { .path = { "chart", "templates", NULL } },
  };
  size_t at;
  const char *why;
  cr_assert_eq (jscan (doc, strlen (doc), f, ARRAY_SIZE (f), &at, &why), 0, "%s", why);
  cr_expect_eq (f[0].type, JSCAN_OBJECT);
  cr_expect_eq (f[0].at, doc);
  char *s = jscan_string (&f[1]);
  cr_expect_str_eq (s, "last-wins");
  free (s);
  s = jscan_string (&f[2]);
  cr_expect_str_eq (s, "web");
  free (s);
  s = jscan_string (&f[3]);
  cr_expect_str_eq (s, "1.2.3");
  free (s);
  cr_expect_eq (f[4].type, JSCAN_OBJECT);
  cr_expect_eq (f[5].type, JSCAN_STRING);
  cr_expect_eq (f[5].len, 0);
  cr_expect_eq (f[6].type, JSCAN_NUMBER);
  cr_expect_eq (f[6].len, 1);
  cr_expect_eq (f[6].at[0], '3');
  s = jscan_string (&f[7]);
  cr_expect_str_eq (s, "esc", "an escaped key matches its plain form");
  free (s);
  cr_expect_eq (f[8].type, JSCAN_TRUE);
  cr_expect_null (jscan_string (&f[8]));
  cr_expect_eq (f[9].type, JSCAN_ABSENT);
  cr_expect_eq (f[10].type, JSCAN_ABSENT, "status is a string, not an object");
  cr_expect_eq (f[11].type, JSCAN_ARRAY);
}

Test (jscan, unescapes_like_go)
{
  struct { const char *json, *want; } cases[] = {
    { "\"plain\"", "plain" },
    { "\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d" },
    { "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t" },
    { "\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac" },
    { "\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80" },            /* surrogate pair */
    { "\"\\uD83Dx\"", "\xef\xbf\xbdx" },                      /* lone high: U+FFFD */
    { "\"\\uDE00\"", "\xef\xbf\xbd" },                        /* lone low */
    { "\"\\uD83D\\u0041\"", "\xef\xbf\xbd" "A" },             /* high then not low */
    { "\"\"", "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    struct jscan_field f[] = { { .path = { NULL } } };
    size_t at;
    const char *why;
    cr_assert_eq (jscan (cases[i].json, strlen (cases[i].json), f, 1, &at, &why), 0, "%s: %s",
                  cases[i].json, why);
    char *s = jscan_string (&f[0]);
    cr_expect_str_eq (s, cases[i].want, "%s", cases[i].json);
    free (s);
  }
}

/* Long strings take the eight-bytes-at-a-time path: specials at every offset of a word
 * must still be seen. */
Test (jscan, specials_at_every_alignment)
{
  for (size_t pad = 0; pad < 24; pad++) {
    for (int kind = 0; kind < 3; kind++) {
      struct strbuf sb = STRBUF_INIT;
      strbuf_puts (&sb, "\"");
      for (size_t i = 0; i < pad; i++)
        strbuf_puts (&sb, "x");
      strbuf_puts (&sb, kind == 0 ? "\\n" : kind == 1 ? "\x1f" : "\"");
      strbuf_puts (&sb, "yyyyyyyyyyyyyyyy\"");
      size_t at;
      const char *why;
      struct jscan_field f[] = { { .path = { NULL } } };
      int rc = jscan (sb.data, sb.len, f, 1, &at, &why);
      if (kind == 0) {
        cr_expect_eq (rc, 0, "pad %zu: %s", pad, why);
        cr_expect (f[0].escaped);
        cr_expect_eq (f[0].len, pad + 18);
      }
      else {
        /* A raw control byte is the error; a quote ends the string, and the text after
         * it is. */
        cr_expect_eq (rc, kind == 1 ? JSCAN_E_INVALID : JSCAN_E_TRAILING, "pad %zu kind %d: %d",
                      pad, kind, rc);
        cr_expect_eq (at, pad + (size_t) kind, "pad %zu kind %d: at %zu", pad, kind, at);
      }
      strbuf_free (&sb);
    }
  }
}

/* Against cJSON on the release JSON of a real record: every captured string equals the
 * tree's. */
Test (jscan, agrees_with_cjson_on_a_real_release)
{
  const char *top = getenv ("abs_top_srcdir");
  char *path = xasprintf ("%s/tests/data/helm-releases/01-secret-basic-demo2.json",
                          top ? top : ".");
  FILE *fp = fopen (path, "rb");
  cr_assert_not_null (fp, "%s", path);
  struct strbuf sb = STRBUF_INIT;
  char buf[65536];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, fp)) > 0)
    strbuf_add (&sb, buf, n);
  fclose (fp);
  free (path);
  /* The Secret object itself is JSON with nested strings: scan it whole. */
  static const char *paths[][4] = {
    { "kind" }, { "type" }, { "metadata", "name" }, { "metadata", "namespace" },
    { "metadata", "labels", "owner" }, { "metadata", "labels", "status" }, { "data", "release" },
  };
  struct jscan_field f[ARRAY_SIZE (paths)];
  memset (f, 0, sizeof f);
  for (size_t i = 0; i < ARRAY_SIZE (paths); i++)
    for (size_t k = 0; k < 4 && paths[i][k]; k++)
      f[i].path[k] = paths[i][k];
  size_t at;
  const char *why;
  cr_assert_eq (jscan (sb.data, sb.len, f, ARRAY_SIZE (f), &at, &why), 0, "%s at %zu", why, at);
  cJSON *tree = cJSON_ParseWithLength (sb.data, sb.len);
  cr_assert_not_null (tree);
  for (size_t i = 0; i < ARRAY_SIZE (paths); i++) {
    const cJSON *v = tree;
    for (size_t k = 0; k < 4 && paths[i][k]; k++)
      v = cJSON_GetObjectItemCaseSensitive (v, paths[i][k]);
    cr_assert (cJSON_IsString (v), "%s", paths[i][0]);
    char *s = jscan_string (&f[i]);
    cr_expect_str_eq (s, v->valuestring, "%s...", paths[i][0]);
    free (s);
  }
  cJSON_Delete (tree);
  strbuf_free (&sb);
}
