/* The s3 plugin's SigV4 signer against every case of aws-c-auth's SigV4 test suite
 * (header and query mode: canonical request, string to sign, signature), the S3 API
 * Reference worked examples, and URI-encoding edge cases.  Data: tests/data/sigv4. */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "plugins/s3/s3util.h"
#include "plugins/s3/sigv4.h"

static const char *
data_dir (void)
{
  static char buf[2048];
  const char *top = getenv ("abs_top_srcdir");
  snprintf (buf, sizeof buf, "%.1900s/tests/data/sigv4", top ? top : TOP_SRCDIR);
  return buf;
}

static char *
slurp (const char *dir, const char *name, size_t *lenp)
{
  char path[4096];
  FILE *f;
  char *buf;
  long n;
  snprintf (path, sizeof path, "%s/%s", dir, name);
  f = fopen (path, "rb");
  cr_assert_not_null (f, "cannot open %s", path);
  fseek (f, 0, SEEK_END);
  n = ftell (f);
  fseek (f, 0, SEEK_SET);
  buf = malloc ((size_t) n + 1);
  cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
  buf[n] = '\0';
  fclose (f);
  if (lenp)
    *lenp = (size_t) n;
  return buf;
}

struct parsed {
  char *method, *path;
  struct sigv4_pair q[16], h[16];
  size_t nq, nh;
  const char *body;
  size_t bodylen;
  char *joined[16];               /* continuation lines joined here, freed by the caller */
  size_t njoined;
};

/* request.txt: "METHOD SP URI SP HTTP/1.1", Name:value lines (continuations start with
 * whitespace), optional empty line + body. */
static void
parse_request (char *req, size_t len, struct parsed *r)
{
  char *line = req, *end = req + len, *sp, *uri, *qm;
  memset (r, 0, sizeof *r);
  r->body = "";
  char *nl = memchr (line, '\n', (size_t) (end - line));
  cr_assert_not_null (nl);
  *nl = '\0';
  sp = strchr (line, ' ');
  *sp = '\0';
  r->method = line;
  uri = sp + 1;
  sp = strrchr (uri, ' ');
  *sp = '\0';
  qm = strchr (uri, '?');
  if (qm) {
    char *save = NULL, *pair;
    *qm = '\0';
    for (pair = strtok_r (qm + 1, "&", &save); pair; pair = strtok_r (NULL, "&", &save)) {
      char *eq = strchr (pair, '=');
      if (eq)
        *eq = '\0';
      sigv4_uri_decode (pair);
      if (eq)
        sigv4_uri_decode (eq + 1);
      r->q[r->nq].name = pair;
      r->q[r->nq].value = eq ? eq + 1 : NULL;
      r->nq++;
    }
  }
  r->path = uri;
  line = nl + 1;
  while (line < end) {
    nl = memchr (line, '\n', (size_t) (end - line));
    if (nl == NULL)
      nl = end;
    *nl = '\0';
    if (*line == '\0') {            /* blank line: body follows */
      r->body = nl + 1;
      r->bodylen = nl + 1 <= end ? (size_t) (end - (nl + 1)) : 0;
      break;
    }
    if (*line == ' ' || *line == '\t') {   /* continuation */
      struct sigv4_pair *prev = &r->h[r->nh - 1];
      char *joined = malloc (strlen (prev->value) + strlen (line) + 2);
      sprintf (joined, "%s %s", prev->value, line);
      prev->value = joined;
      cr_assert_lt (r->njoined, 16);
      r->joined[r->njoined++] = joined;
    }
    else {
      char *colon = strchr (line, ':');
      cr_assert_not_null (colon);
      *colon = '\0';
      r->h[r->nh].name = line;
      r->h[r->nh].value = colon + 1;
      r->nh++;
    }
    line = nl + 1;
  }
}

static long long
iso_time (const char *s)
{
  long long t = s3_parse_time (s);
  cr_assert_neq (t, -1, "bad timestamp %s", s);
  return t;
}

static void
expect_file (const char *dir, const char *casename, const char *prefix, const char *name,
             const char *got)
{
  char fname[256];
  size_t n;
  char *want;
  snprintf (fname, sizeof fname, "%s%s", prefix, name);
  want = slurp (dir, fname, &n);
  cr_expect (strlen (got) == n && memcmp (want, got, n) == 0,
             "%s: %s differs\n--- want\n%s\n--- got\n%s", casename, fname, want, got);
  free (want);
}

static int
check_case (const char *dir, const char *casename, int query_mode)
{
  size_t n;
  char *req = slurp (dir, "request.txt", &n), *ctxt = slurp (dir, "context.json", NULL);
  cJSON *ctx = cJSON_Parse (ctxt), *cred;
  struct parsed r;
  struct sigv4_request sreq;
  struct sigv4_params p;
  struct sigv4_result out;
  char body_hash[65];
  int sign_body;
  cr_assert_not_null (ctx);
  parse_request (req, n, &r);
  cred = cJSON_GetObjectItem (ctx, "credentials");
  sign_body = cJSON_IsTrue (cJSON_GetObjectItem (ctx, "sign_body"));
  s3_sha256_hex (r.body, r.bodylen, body_hash);

  memset (&sreq, 0, sizeof sreq);
  sreq.method = r.method;
  sreq.path = r.path;
  sreq.query = r.q;
  sreq.nquery = r.nq;
  sreq.headers = r.h;
  sreq.nheaders = r.nh;
  sreq.payload_hash = sign_body ? body_hash : NULL;

  memset (&p, 0, sizeof p);
  p.access_key_id = cJSON_GetObjectItem (cred, "access_key_id")->valuestring;
  p.secret_access_key = cJSON_GetObjectItem (cred, "secret_access_key")->valuestring;
  p.session_token = cJSON_GetObjectItem (cred, "token")
                    ? cJSON_GetObjectItem (cred, "token")->valuestring : NULL;
  p.region = cJSON_GetObjectItem (ctx, "region")->valuestring;
  p.service = cJSON_GetObjectItem (ctx, "service")->valuestring;
  p.when = (time_t) iso_time (cJSON_GetObjectItem (ctx, "timestamp")->valuestring);
  p.normalize_path = cJSON_IsTrue (cJSON_GetObjectItem (ctx, "normalize"));
  p.add_content_sha256 = sign_body && !query_mode;
  p.omit_session_token = cJSON_IsTrue (cJSON_GetObjectItem (ctx, "omit_session_token"));
  p.query_mode = query_mode;
  p.expires = (long) cJSON_GetObjectItem (ctx, "expiration_in_seconds")->valuedouble;

  cr_assert_eq (sigv4_sign (&sreq, &p, &out), 0);
  const char *prefix = query_mode ? "query-" : "header-";
  expect_file (dir, casename, prefix, "canonical-request.txt", out.canonical_request);
  expect_file (dir, casename, prefix, "string-to-sign.txt", out.string_to_sign);
  expect_file (dir, casename, prefix, "signature.txt", out.signature);
  if (!query_mode)
    cr_expect (strstr (out.authorization, out.signature) != NULL);
  else
    cr_expect (strstr (out.query, out.signature) != NULL);
  sigv4_result_free (&out);
  for (size_t j = 0; j < r.njoined; j++)
    free (r.joined[j]);
  cJSON_Delete (ctx);
  free (ctxt);
  free (req);
  return 1;
}

static void
run_suite (int query_mode)
{
  char base[8192], dir[16384];
  DIR *d;
  struct dirent *e;
  int ncases = 0;
  snprintf (base, sizeof base, "%s/aws-signing-test-suite/v4", data_dir ());
  d = opendir (base);
  cr_assert_not_null (d, "cannot open %s", base);
  while ((e = readdir (d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf (dir, sizeof dir, "%s/%s", base, e->d_name);
    ncases += check_case (dir, e->d_name, query_mode);
  }
  closedir (d);
  /* All 38 cases, so a lost directory cannot make the test pass vacuously. */
  cr_expect_eq (ncases, 38, "ran %d suite cases", ncases);
}

Test (sigv4_suite, header_mode) { run_suite (0); }
Test (sigv4_suite, query_mode) { run_suite (1); }

Test (sigv4_s3, examples)
{
  char *text = slurp (data_dir (), "s3-examples.json", NULL);
  cJSON *root = cJSON_Parse (text), *ex;
  int count = 0;
  cr_assert_not_null (root);
  cJSON_ArrayForEach (ex, cJSON_GetObjectItem (root, "examples")) {
    struct sigv4_pair q[8], h[8];
    size_t nq = 0, nh = 0;
    cJSON *it;
    const char *name = cJSON_GetObjectItem (ex, "name")->valuestring;
    cJSON_ArrayForEach (it, cJSON_GetObjectItem (ex, "query")) {
      q[nq].name = cJSON_GetArrayItem (it, 0)->valuestring;
      q[nq].value = cJSON_GetArrayItem (it, 1)->valuestring;
      nq++;
    }
    cJSON_ArrayForEach (it, cJSON_GetObjectItem (ex, "headers")) {
      h[nh].name = it->string;
      h[nh].value = it->valuestring;
      nh++;
    }
    struct sigv4_request r = {
      .method = cJSON_GetObjectItem (ex, "method")->valuestring,
      .path = cJSON_GetObjectItem (ex, "path")->valuestring,
      .query = q, .nquery = nq, .headers = h, .nheaders = nh,
      .payload_hash = cJSON_GetObjectItem (ex, "payload_hash")->valuestring,
    };
    char date[32];
    const char *amz = cJSON_GetObjectItem (ex, "amz_date")->valuestring;
    snprintf (date, sizeof date, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", amz, amz + 4, amz + 6,
              amz + 9, amz + 11, amz + 13);
    struct sigv4_params p = {
      .access_key_id = cJSON_GetObjectItem (ex, "access_key_id")->valuestring,
      .secret_access_key = cJSON_GetObjectItem (ex, "secret_access_key")->valuestring,
      .region = cJSON_GetObjectItem (ex, "region")->valuestring,
      .service = cJSON_GetObjectItem (ex, "service")->valuestring,
      .when = (time_t) iso_time (date),
      .add_content_sha256 = 1,
    };
    struct sigv4_result out;
    cr_assert_eq (sigv4_sign (&r, &p, &out), 0);
#define EXPECT_STR(field, got) \
    cr_expect_str_eq (got, cJSON_GetObjectItem (ex, field)->valuestring, "%s: %s", name, field)
    EXPECT_STR ("expected_canonical_uri", out.canonical_uri);
    EXPECT_STR ("expected_canonical_query", out.query);
    EXPECT_STR ("expected_canonical_request", out.canonical_request);
    EXPECT_STR ("expected_string_to_sign", out.string_to_sign);
    EXPECT_STR ("expected_signature", out.signature);
    EXPECT_STR ("expected_authorization", out.authorization);
    cr_expect_eq (out.nadded, 0, "%s: x-amz-date/content-sha256 given, nothing to add", name);
    sigv4_result_free (&out);
    count++;
  }
  cr_expect_eq (count, 4);
  cJSON_Delete (root);
  free (text);
}

/* S3 rules: the raw key is encoded once, '/' kept in the path, never normalized. */
Test (sigv4_encoding, path_edge_cases)
{
  static const struct { const char *in, *want; } cases[] = {
    { "/bucket/a b", "/bucket/a%20b" },
    { "/bucket/a+b", "/bucket/a%2Bb" },
    { "/bucket/a~b_c-d.e", "/bucket/a~b_c-d.e" },
    { "/bucket/test$file.text", "/bucket/test%24file.text" },
    { "/bucket/r\xc3\xa9sum\xc3\xa9", "/bucket/r%C3%A9sum%C3%A9" },
    { "/bucket/a//b/./c/../d", "/bucket/a//b/./c/../d" },
    { "/bucket/%41", "/bucket/%2541" },
    { "/bucket/k=v:x@y", "/bucket/k%3Dv%3Ax%40y" },
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct sigv4_pair h = { "host", "localhost:9000" };
    struct sigv4_request r = { .method = "GET", .path = cases[i].in, .headers = &h, .nheaders = 1 };
    struct sigv4_params p = { .access_key_id = "AK", .secret_access_key = "SK",
                              .region = "us-east-1", .service = "s3", .when = 0,
                              .add_content_sha256 = 1 };
    struct sigv4_result out;
    cr_assert_eq (sigv4_sign (&r, &p, &out), 0);
    cr_expect_str_eq (out.canonical_uri, cases[i].want, "path %s", cases[i].in);
    sigv4_result_free (&out);
  }
}

Test (sigv4_encoding, query_edge_cases)
{
  struct sigv4_pair q[] = {
    { "prefix", "a b/c+d~\xe1\x88\xb4" }, { "list-type", "2" }, { "delete", NULL },
    { "continuation-token", "x=y&z" },
  };
  struct sigv4_pair h = { "host", "h" };
  struct sigv4_request r = { .method = "GET", .path = "/b", .query = q, .nquery = 4,
                             .headers = &h, .nheaders = 1 };
  struct sigv4_params p = { .access_key_id = "AK", .secret_access_key = "SK",
                            .region = "us-east-1", .service = "s3", .add_content_sha256 = 1,
                            .session_token = "tok/+=" };
  struct sigv4_result out;
  cr_assert_eq (sigv4_sign (&r, &p, &out), 0);
  cr_expect_str_eq (out.query, "continuation-token=x%3Dy%26z&delete=&list-type=2&"
                    "prefix=a%20b%2Fc%2Bd~%E1%88%B4");
  /* S3: x-amz-date, x-amz-content-sha256 and the token are added and signed. */
  cr_expect_eq (out.nadded, 3);
  cr_expect (strstr (out.authorization,
                     "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,")
             != NULL, "%s", out.authorization);
  cr_expect (strstr (out.canonical_request, "x-amz-security-token:tok/+=\n") != NULL);
  cr_expect (strstr (out.authorization, "tok/+=") == NULL);
  sigv4_result_free (&out);
}

Test (sigv4_encoding, unsigned_payload)
{
  struct sigv4_pair h = { "Host", "h" };
  struct sigv4_request r = { .method = "PUT", .path = "/b/k", .headers = &h, .nheaders = 1,
                             .payload_hash = "UNSIGNED-PAYLOAD" };
  struct sigv4_params p = { .access_key_id = "AK", .secret_access_key = "SK",
                            .region = "eu-west-1", .service = "s3", .add_content_sha256 = 1 };
  struct sigv4_result out;
  cr_assert_eq (sigv4_sign (&r, &p, &out), 0);
  cr_expect (strstr (out.canonical_request, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n") != NULL);
  cr_expect (strcmp (out.canonical_request + strlen (out.canonical_request) - 17,
                     "\nUNSIGNED-PAYLOAD") == 0);
  cr_expect (strstr (out.authorization, "/19700101/eu-west-1/s3/aws4_request,") != NULL);
  sigv4_result_free (&out);
}

Test (s3util, parse_time)
{
  cr_expect_eq (s3_parse_time ("2015-08-30T12:36:00Z"), 1440938160LL);
  cr_expect_eq (s3_parse_time ("2015-08-30T12:36:00.000Z"), 1440938160LL);
  cr_expect_eq (s3_parse_time ("2015-08-30T12:36:00+00:00"), 1440938160LL);
  cr_expect_eq (s3_parse_time ("Sun, 30 Aug 2015 12:36:00 GMT"), 1440938160LL);
  cr_expect_eq (s3_parse_time ("garbage"), -1);
  cr_expect_eq (s3_parse_time ("2015-13-30T12:36:00Z"), -1);
}
