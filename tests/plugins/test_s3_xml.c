/* The s3 plugin's XML layer (expat) on real S3/moto response bodies: errors,
 * ListObjectsV2 pages (url-encoded keys), multipart results, DeleteObjects, and bodies
 * that must be refused (not XML, DOCTYPE/entities, wrong root). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/s3/s3xml.h"

static char *
sample (const char *name, size_t *len)
{
  char path[4096];
  const char *top = getenv ("abs_top_srcdir");
  FILE *f;
  char *buf;
  long n;
  snprintf (path, sizeof path, "%.2000s/tests/data/s3xml/%s", top ? top : TOP_SRCDIR, name);
  f = fopen (path, "rb");
  cr_assert_not_null (f, "cannot open %s", path);
  fseek (f, 0, SEEK_END);
  n = ftell (f);
  fseek (f, 0, SEEK_SET);
  buf = malloc ((size_t) n + 1);
  cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
  buf[n] = '\0';
  fclose (f);
  *len = (size_t) n;
  return buf;
}

Test (s3xml, errors)
{
  static const struct { const char *file, *code, *rid; } cases[] = {
    { "moto-error-nosuchkey.xml", "NoSuchKey", "OQI5t0tlicSNiiAvYtSWkOP3kp5GS7K20XBDmKFlB0knFPTeq00H" },
    { "moto-error-signature.xml", "SignatureDoesNotMatch", "EEiYKM2b0Q8Uj2MtziCDfOIhj4WMj6WrvzaOZGe13mfFVHauLKMx" },
    { "moto-error-precondition.xml", "PreconditionFailed", "yTHwsd9rBczhmp2Kb818nsh2YXKdDwglzCUNa6wBTqkry5U2d7s4" },
    { "aws-error-accessdenied.xml", "AccessDenied", "656c76696e6727732072657175657374" },
  };
  size_t i, n;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char code[64], msg[256], rid[128];
    char *body = sample (cases[i].file, &n);
    cr_expect_eq (s3xml_error (body, n, code, sizeof code, msg, sizeof msg, rid, sizeof rid), 0);
    cr_expect_str_eq (code, cases[i].code, "%s", cases[i].file);
    cr_expect_str_eq (rid, cases[i].rid, "%s", cases[i].file);
    cr_expect_neq (msg[0], '\0');
    free (body);
  }
  /* Not an error document. */
  {
    char code[64], msg[64], rid[64];
    char *body = sample ("moto-initiate.xml", &n);
    cr_expect_eq (s3xml_error (body, n, code, sizeof code, msg, sizeof msg, rid, sizeof rid), -1);
    cr_expect_eq (s3xml_error ("<html>oops", 10, code, sizeof code, msg, sizeof msg, rid, sizeof rid), -1);
    cr_expect_eq (s3xml_error ("", 0, code, sizeof code, msg, sizeof msg, rid, sizeof rid), -1);
    free (body);
  }
}

struct collected {
  char keys[8][128];
  long long sizes[8], mtimes[8];
  char etags[8][64];
  int n;
  int stop_after;
};

static int
collect (void *opaque, const struct s3xml_object *o)
{
  struct collected *c = opaque;
  snprintf (c->keys[c->n], sizeof c->keys[0], "%s", o->key);
  snprintf (c->etags[c->n], sizeof c->etags[0], "%s", o->etag ? o->etag : "");
  c->sizes[c->n] = o->size;
  c->mtimes[c->n] = o->mtime;
  c->n++;
  return c->stop_after && c->n >= c->stop_after ? 42 : 0;
}

Test (s3xml, list_pages_url_encoded)
{
  size_t n;
  int trunc;
  char token[256];
  struct collected c = { .n = 0 };
  char *p1 = sample ("moto-list-page1.xml", &n);
  cr_assert_eq (s3xml_list (p1, n, collect, &c, &trunc, token, sizeof token), 0);
  cr_expect_eq (trunc, 1);
  cr_expect_str_eq (token, "356d79c29e59b967b9b0b15a5b0128a7");
  cr_expect_eq (c.n, 2);
  cr_expect_str_eq (c.keys[0], "a");
  cr_expect_str_eq (c.keys[1], "b & c <d>");
  cr_expect_eq (c.sizes[0], 5);
  cr_expect_eq (c.mtimes[0], 1795618824LL);   /* 2026-11-25T15:00:24Z */
  cr_expect_str_eq (c.etags[0], "\"5d41402abc4b2a76b9719d911017c592\"");
  free (p1);

  memset (&c, 0, sizeof c);
  char *p2 = sample ("moto-list-page2.xml", &n);
  cr_assert_eq (s3xml_list (p2, n, collect, &c, &trunc, token, sizeof token), 0);
  cr_expect_eq (trunc, 0);
  cr_expect_str_eq (token, "");
  cr_expect_eq (c.n, 2);
  cr_expect_str_eq (c.keys[0], "dir/x y+z");
  cr_expect_str_eq (c.keys[1], "utf-\xc3\xa9");
  free (p2);
}

Test (s3xml, list_aws_plain_keys_and_stop)
{
  size_t n;
  int trunc;
  char token[16];
  struct collected c = { .n = 0 };
  char *body = sample ("aws-list.xml", &n);
  cr_assert_eq (s3xml_list (body, n, collect, &c, &trunc, token, sizeof token), 0);
  cr_expect_eq (c.n, 2);
  cr_expect_str_eq (c.keys[0], "my-image.jpg");
  /* Without EncodingType keys are literal: '+' stays, markup arrives unescaped. */
  cr_expect_str_eq (c.keys[1], "a & b <Key>x</Key>");
  cr_expect_eq (c.sizes[0], 434234);
  cr_expect_eq (c.sizes[1], 0);
  memset (&c, 0, sizeof c);
  c.stop_after = 1;
  cr_expect_eq (s3xml_list (body, n, collect, &c, &trunc, token, sizeof token), 42);
  cr_expect_eq (c.n, 1);
  cr_expect_eq (s3xml_list ("<Error><Code>x</Code></Error>", 29, collect, &c, &trunc, token,
                            sizeof token), -1);
  free (body);
}

Test (s3xml, multipart)
{
  size_t n;
  char etag[128];
  char *body = sample ("moto-initiate.xml", &n);
  char *id = s3xml_upload_id (body, n);
  cr_expect_str_eq (id, "dqIcA8fJJC5H3hcjwsWeATdRny62UeY3Z47vnm5CfLy6ebc5tiWLjow");
  free (id);
  free (body);
  body = sample ("moto-complete.xml", &n);
  cr_expect_eq (s3xml_complete (body, n, etag, sizeof etag), 0);
  cr_expect_str_eq (etag, "\"cb8d7289925309a05b2db09b7709c264-1\"");
  free (body);
  body = sample ("aws-complete.xml", &n);
  cr_expect_eq (s3xml_complete (body, n, etag, sizeof etag), 0);
  cr_expect_str_eq (etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
  free (body);
  /* 200 OK with an <Error> body: not a completed upload. */
  body = sample ("aws-complete-error.xml", &n);
  cr_expect_eq (s3xml_complete (body, n, etag, sizeof etag), -1);
  cr_expect_null (s3xml_upload_id (body, n));
  free (body);
}

struct dels {
  char out[512];
};

static void
on_del (void *opaque, const char *key, const char *code, const char *msg)
{
  struct dels *d = opaque;
  size_t l = strlen (d->out);
  snprintf (d->out + l, sizeof d->out - l, "[%s|%s|%s]", key, code ? code : "-", msg ? msg : "-");
}

Test (s3xml, delete_results)
{
  size_t n;
  struct dels d = { "" };
  char *body = sample ("moto-delete.xml", &n);
  cr_expect_eq (s3xml_delete_result (body, n, on_del, &d), 0);
  cr_expect_str_eq (d.out, "[a|-|-][b & c <d>|-|-]");
  free (body);
  d.out[0] = '\0';
  body = sample ("aws-delete-errors.xml", &n);
  cr_expect_eq (s3xml_delete_result (body, n, on_del, &d), 0);
  cr_expect_str_eq (d.out, "[sample1.txt|-|-][sample2.txt|AccessDenied|Access Denied]");
  free (body);
}

Test (s3xml, refuses_doctype_and_garbage)
{
  static const char bomb[] =
    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
    "<Error><Code>&lol2;</Code></Error>";
  cr_expect_null (s3xml_parse (bomb, sizeof bomb - 1));
  cr_expect_null (s3xml_parse ("<a><b></a>", 10));
  cr_expect_null (s3xml_parse ("not xml", 7));
  static const char prefixed[] = "<a:Root xmlns:a=\"x\"><a:K>v</a:K></a:Root>";
  struct s3xml_node *n = s3xml_parse (prefixed, sizeof prefixed - 1);
  cr_assert_not_null (n);
  cr_expect_str_eq (n->name, "Root");
  cr_expect_str_eq (s3xml_child_text (n, "K"), "v");
  s3xml_free (n);
}

Test (s3xml, escape)
{
  struct s3buf b = S3BUF_INIT;
  cr_assert_eq (s3xml_escape (&b, "a&b<c>\"d'e"), 0);
  cr_expect_str_eq (b.data, "a&amp;b&lt;c&gt;&quot;d&apos;e");
  s3buf_free (&b);
}
