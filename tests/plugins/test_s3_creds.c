/* The s3 plugin's credential chain in the AWS CLI's order: options, environment, web
 * identity (STS), shared files (static keys, credential_process), ECS, IMDSv2, plus
 * refresh before expiry and the INI/JSON parsers.  Network sources talk to loopback
 * servers started by tests/plugins/test_s3_creds.py ($CREDS_SERVER). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "plugins/s3/s3creds.h"
#include "plugins/s3/s3http.h"

static char dir[256];

static const char *const aws_vars[] = {
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE",
};

static void
setup (void)
{
  size_t i;
  for (i = 0; i < sizeof aws_vars / sizeof aws_vars[0]; i++)
    unsetenv (aws_vars[i]);
  snprintf (dir, sizeof dir, "/tmp/s3creds-XXXXXX");
  cr_assert_not_null (mkdtemp (dir));
  setenv ("HOME", dir, 1);                  /* never the real ~/.aws */
  setenv ("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void
teardown (void)
{
  char cmd[300];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    cr_log_warn ("could not remove %s", dir);
}

TestSuite (s3creds, .init = setup, .fini = teardown, .timeout = 60);

static const char *
server (void)
{
  const char *s = getenv ("CREDS_SERVER");
  if (s == NULL)
    cr_skip_test ("CREDS_SERVER not set: run through tests/plugins/test_s3_creds.py");
  return s;
}

static char *
write_file (const char *name, const char *content)
{
  static char path[8][512];
  static int k;
  char *p = path[k++ % 8];
  FILE *f;
  snprintf (p, 512, "%s/%s", dir, name);
  f = fopen (p, "w");
  cr_assert_not_null (f);
  fputs (content, f);
  fclose (f);
  return p;
}

static int
resolve (const struct s3_creds_config *cfg, struct s3_creds *out, struct rm_error *err,
         char *source, size_t sz)
{
  struct s3_creds_provider *p = NULL;
  int rc = s3_creds_provider_new (cfg, &p, err);
  if (rc != RM_OK)
    return rc;
  snprintf (source, sz, "%s", s3_creds_source (p));
  rc = s3_creds_get (p, out, err);
  s3_creds_provider_free (p);
  return rc;
}

static int
count (const char *name)
{
  char url[512];
  long status;
  struct s3buf b = S3BUF_INIT;
  char e[256];
  int n;
  snprintf (url, sizeof url, "%s/count/%s", server (), name);
  cr_assert_eq (s3_http_simple ("GET", url, NULL, NULL, 5, 1, NULL, &status, &b, e, sizeof e), 0, "%s", e);
  n = atoi (b.data);
  s3buf_free (&b);
  return n;
}

Test (s3creds, options_before_environment)
{
  struct s3_creds_config cfg = { .access_key_id = "AKIAOPT", .secret_access_key = "opt-secret",
                                 .session_token = "opt-token" };
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char src[600];
  setenv ("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv ("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "AKIAOPT");
  cr_expect_str_eq (c.session_token, "opt-token");
  cr_expect_str_eq (src, "options");
  cr_expect_eq (c.expiration, -1);
  s3_creds_clear (&c);
  /* half of a pair is a configuration error, not a silent fallback */
  struct s3_creds_config half = { .access_key_id = "AKIAOPT" };
  cr_expect_eq (resolve (&half, &c, &err, src, sizeof src), RM_E_CONFIG);
  cr_expect (strstr (err.message, "together") != NULL, "%s", err.message);
}

Test (s3creds, environment)
{
  struct s3_creds_config cfg = { 0 };
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char src[600];
  setenv ("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv ("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  setenv ("AWS_SESSION_TOKEN", "env-token", 1);
  write_file ("credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = f\n");
  setenv ("AWS_SHARED_CREDENTIALS_FILE", write_file ("credentials", "[default]\naws_access_key_id="
                                                     "AKIAFILE\naws_secret_access_key=f\n"), 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "AKIAENV");
  cr_expect_str_eq (c.secret_access_key, "env-secret");
  cr_expect_str_eq (c.session_token, "env-token");
  cr_expect_str_eq (src, "environment");
  s3_creds_clear (&c);
}

Test (s3creds, shared_files_and_profiles)
{
  struct s3_creds_config cfg = { 0 };
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char src[600];
  char *cred = write_file ("creds",
    "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d-secret\n"
    "\n[other]\n; another comment\naws_access_key_id=AKIAOTHER\naws_secret_access_key=o-secret\n"
    "aws_session_token = o-token\ns3 =\n  max_concurrent_requests = 20\n");
  char *conf = write_file ("config",
    "[default]\nregion = eu-west-1\n[profile cfgonly]\naws_access_key_id = AKIACFG\n"
    "aws_secret_access_key = c-secret\n[profile norole]\nrole_arn = arn:aws:iam::1:role/x\n"
    "source_profile = default\n");
  setenv ("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
  setenv ("AWS_CONFIG_FILE", conf, 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "AKIADEFAULT");
  cr_expect_null (c.session_token);
  cr_expect (strstr (src, "profile default") == src, "%s", src);
  s3_creds_clear (&c);

  setenv ("AWS_PROFILE", "other", 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "AKIAOTHER");
  cr_expect_str_eq (c.session_token, "o-token");
  s3_creds_clear (&c);

  /* the profile option beats AWS_PROFILE and environment keys */
  setenv ("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv ("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  cfg.profile = "cfgonly";
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "AKIACFG");
  s3_creds_clear (&c);

  cfg.profile = "nosuch";
  cr_expect_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_E_CONFIG);
  cr_expect (strstr (err.message, "nosuch") != NULL, "%s", err.message);
  cfg.profile = "norole";
  cr_expect_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_E_CONFIG);
  cr_expect (strstr (err.message, "role_arn") != NULL, "%s", err.message);
}

/* AWS_CA_BUNDLE as the AWS CLI: the option ca_bundle, else AWS_CA_BUNDLE, else the
 * profile's ca_bundle in the config file. */
Test (s3creds, ca_bundle_like_the_aws_cli)
{
  char src[600];
  char *v;
  cr_expect_null (s3_ca_bundle (NULL, NULL, NULL, src, sizeof src), "none: the system's CAs");
  char *conf = write_file ("config", "[default]\nca_bundle = /etc/default-ca.pem\n"
                           "[profile corp]\nca_bundle = /etc/corp-ca.pem\n[profile bare]\n"
                           "region = x\n");
  setenv ("AWS_CONFIG_FILE", conf, 1);
  cr_expect_str_eq ((v = s3_ca_bundle (NULL, NULL, NULL, src, sizeof src)), "/etc/default-ca.pem");
  free (v);
  char *want = NULL;
  cr_assert (asprintf (&want, "profile default in %s", conf) > 0);
  cr_expect_str_eq (src, want);
  free (want);
  setenv ("AWS_PROFILE", "corp", 1);
  cr_expect_str_eq ((v = s3_ca_bundle (NULL, NULL, NULL, src, sizeof src)), "/etc/corp-ca.pem");
  free (v);
  cr_expect_null (s3_ca_bundle (NULL, "bare", NULL, src, sizeof src),
                  "the profile option over AWS_PROFILE; a profile without one: the system's");
  setenv ("AWS_CA_BUNDLE", "/env/ca.pem", 1);
  cr_expect_str_eq ((v = s3_ca_bundle (NULL, "corp", NULL, src, sizeof src)), "/env/ca.pem");
  free (v);
  cr_expect_str_eq (src, "AWS_CA_BUNDLE");
  cr_expect_str_eq ((v = s3_ca_bundle ("/opt/ca.pem", "corp", NULL, src, sizeof src)),
                    "/opt/ca.pem");
  free (v);
  cr_expect_str_eq (src, "option ca_bundle");
  setenv ("AWS_CA_BUNDLE", "", 1);
  cr_expect_str_eq ((v = s3_ca_bundle ("", NULL, NULL, src, sizeof src)), "/etc/corp-ca.pem",
                    "empty values are unset");
  free (v);
}

Test (s3creds, ini_parser)
{
  char *f = write_file ("ini", "[a]\nk = 1\n[ b ]\nk=2\n  k = nested\nk = 3\n[c]\n#k=4\n");
  char *v;
  cr_expect_str_eq ((v = s3_creds_ini_get (f, "a", "k")), "1");
  free (v);
  cr_expect_str_eq ((v = s3_creds_ini_get (f, "b", "k")), "3");   /* last wins; nested ignored */
  free (v);
  cr_expect_null (s3_creds_ini_get (f, "c", "k"));
  cr_expect_null (s3_creds_ini_get (f, "zz", "k"));
  cr_expect_null (s3_creds_ini_get ("/nonexistent/file", "a", "k"));
}

Test (s3creds, json_parser)
{
  struct s3_creds c = { NULL, NULL, NULL, -1 };
  cr_assert_eq (s3_creds_parse_json ("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                                     "\"Token\":\"T\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
                                     &c, "Token"), 0);
  cr_expect_str_eq (c.session_token, "T");
  cr_expect_eq (c.expiration, 1893456000LL);
  s3_creds_clear (&c);
  cr_expect_eq (s3_creds_parse_json ("{\"AccessKeyId\":\"A\"}", &c, "Token"), -1);
  cr_expect_eq (s3_creds_parse_json ("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                                     "\"Expiration\":\"soon\"}", &c, "Token"), -1);
  cr_expect_eq (s3_creds_parse_json ("not json", &c, "Token"), -1);
}

Test (s3creds, credential_process_and_refresh)
{
  struct s3_creds_config cfg = { 0 };
  struct s3_creds_provider *p = NULL;
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char conf[1024], counter[600], script[2048];
  time_t soon = time (NULL) + 120;            /* inside the refresh window */
  struct tm tm;
  char iso[32];
  gmtime_r (&soon, &tm);
  strftime (iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  snprintf (counter, sizeof counter, "%s/runs", dir);
  snprintf (script, sizeof script,
            "#!/bin/sh\necho x >> '%s'\nprintf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
            "\"SecretAccessKey\": \"p-secret\", \"SessionToken\": \"p-token\", \"Expiration\": \"%s\"}'\n",
            counter, iso);
  char *sh = write_file ("proc.sh", script);
  chmod (sh, 0755);
  snprintf (conf, sizeof conf, "[profile proc]\ncredential_process = %s --flag\n", sh);
  setenv ("AWS_CONFIG_FILE", write_file ("config", conf), 1);
  cfg.profile = "proc";
  cr_assert_eq (s3_creds_provider_new (&cfg, &p, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (s3_creds_source (p), "credential_process of profile proc");
  cr_assert_eq (s3_creds_get (p, &c, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "ASIAPROC");
  cr_expect_str_eq (c.session_token, "p-token");
  s3_creds_clear (&c);
  cr_assert_eq (s3_creds_get (p, &c, &err), RM_OK);
  s3_creds_clear (&c);
  s3_creds_provider_free (p);
  /* 1 run at open + 1 per get, because each answer expires within the window */
  FILE *f = fopen (counter, "r");
  int lines = 0, ch;
  cr_assert_not_null (f);
  while ((ch = fgetc (f)) != EOF)
    lines += ch == '\n';
  fclose (f);
  cr_expect_eq (lines, 3);

  /* a failing process is a configuration error that says so */
  snprintf (conf, sizeof conf, "[profile bad]\ncredential_process = sh -c 'exit 3'\n");
  setenv ("AWS_CONFIG_FILE", write_file ("config2", conf), 1);
  cfg.profile = "bad";
  cr_expect_eq (s3_creds_provider_new (&cfg, &p, &err), RM_E_CONFIG);
  cr_expect (strstr (err.message, "exit status 3") != NULL, "%s", err.message);
}

Test (s3creds, web_identity)
{
  char url[512];
  struct s3_creds_config cfg = { .region = "eu-central-1" };
  struct s3_creds_provider *p = NULL;
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  int before;
  snprintf (url, sizeof url, "%s/sts", server ());
  setenv ("AWS_ENDPOINT_URL_STS", url, 1);
  setenv ("AWS_WEB_IDENTITY_TOKEN_FILE", write_file ("token", "eyJ.web-identity-token.sig\n"), 1);
  setenv ("AWS_ROLE_ARN", "arn:aws:iam::123:role/short-lived", 1);
  /* web identity comes after the environment keys but before the files */
  setenv ("AWS_SHARED_CREDENTIALS_FILE", write_file ("c", "[default]\naws_access_key_id=A\naws_secret_access_key=B\n"), 1);
  before = count ("sts");
  cr_assert_eq (s3_creds_provider_new (&cfg, &p, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (s3_creds_source (p), "web identity");
  cr_assert_eq (s3_creds_get (p, &c, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "ASIAWEBIDENTITY");
  cr_expect_str_eq (c.secret_access_key, "wi-secret");
  cr_expect_str_eq (c.session_token, "wi-session-token");
  cr_expect_gt (c.expiration, (long long) time (NULL));
  s3_creds_clear (&c);
  /* 300 s credentials are inside the 600 s window: the get above refreshed them (at
   * least two STS calls; Criterion runs other tests that use the same loopback STS in
   * parallel, so the count may be higher, as in one CI run) */
  cr_expect_geq (count ("sts"), before + 2);
  s3_creds_provider_free (p);

  setenv ("AWS_WEB_IDENTITY_TOKEN_FILE", write_file ("token2", "forged-token"), 1);
  cr_expect_eq (s3_creds_provider_new (&cfg, &p, &err), RM_E_AUTH);
  cr_expect (strstr (err.message, "InvalidIdentityToken") != NULL, "%s", err.message);
  cr_expect (strstr (err.message, "forged-token") == NULL, "%s", err.message);
}

Test (s3creds, web_identity_from_profile)
{
  char url[512], conf[1024];
  struct s3_creds_config cfg = { .profile = "eks" };
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char src[600];
  snprintf (url, sizeof url, "%s/sts", server ());
  setenv ("AWS_ENDPOINT_URL_STS", url, 1);
  snprintf (conf, sizeof conf, "[profile eks]\nrole_arn = arn:aws:iam::123:role/from-profile\n"
            "web_identity_token_file = %s\n", write_file ("tok", "eyJ.web-identity-token.sig"));
  setenv ("AWS_CONFIG_FILE", write_file ("config", conf), 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "ASIAWEBIDENTITY");
  cr_expect_str_eq (src, "web identity of profile eks");
  s3_creds_clear (&c);
}

Test (s3creds, container_endpoint)
{
  char url[512];
  struct s3_creds_config cfg = { 0 };
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char src[600];
  snprintf (url, sizeof url, "%s/ecs", server ());
  setenv ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
  setenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ecs-secret-token", 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "ASIAECS");
  cr_expect_str_eq (c.session_token, "ecs-session");
  cr_expect_str_eq (src, "container");
  s3_creds_clear (&c);
  /* token from a file (EKS Pod Identity style), trailing newline trimmed */
  unsetenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  setenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", write_file ("ecs-token", "Bearer ecs-secret-token\n"), 1);
  cr_assert_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "ASIAECS");
  s3_creds_clear (&c);
  /* a wrong token fails loudly instead of falling through to IMDS */
  unsetenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  setenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
  cr_expect_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_E_AUTH);
  cr_expect (strstr (err.message, "HTTP 401") != NULL, "%s", err.message);
  cr_expect (strstr (err.message, "wrong") == NULL, "%s", err.message);
}

Test (s3creds, imdsv2_and_refresh)
{
  struct s3_creds_config cfg = { 0 };
  struct s3_creds_provider *p = NULL;
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  int before;
  unsetenv ("AWS_EC2_METADATA_DISABLED");
  setenv ("AWS_EC2_METADATA_SERVICE_ENDPOINT", server (), 1);
  before = count ("imds");
  cr_assert_eq (s3_creds_provider_new (&cfg, &p, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (s3_creds_source (p), "instance metadata");
  cr_assert_eq (s3_creds_get (p, &c, &err), RM_OK, "%s", err.message);
  cr_expect_str_eq (c.access_key_id, "ASIAIMDS");
  cr_expect_str_eq (c.session_token, "imds-session");
  s3_creds_clear (&c);
  cr_expect_eq (count ("imds"), before + 1, "1-hour credentials are not refetched");
  s3_creds_expire_now (p);
  cr_assert_eq (s3_creds_get (p, &c, &err), RM_OK, "%s", err.message);
  s3_creds_clear (&c);
  cr_expect_eq (count ("imds"), before + 2, "expired credentials are refetched");
  /* the endpoint goes away after expiry: a clear AUTH error */
  setenv ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
  s3_creds_expire_now (p);
  cr_expect_eq (s3_creds_get (p, &c, &err), RM_E_AUTH);
  cr_expect (strstr (err.message, "expired") != NULL, "%s", err.message);
  s3_creds_provider_free (p);
}

Test (s3creds, nothing_found)
{
  struct s3_creds_config cfg = { 0 };
  struct s3_creds c;
  struct rm_error err = { 0, "" };
  char src[600];
  unsetenv ("AWS_EC2_METADATA_DISABLED");
  setenv ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);   /* closed port */
  cr_expect_eq (resolve (&cfg, &c, &err, src, sizeof src), RM_E_AUTH);
  cr_expect (strstr (err.message, "no AWS credentials found") != NULL, "%s", err.message);
  cr_expect (strstr (err.message, "instance metadata") != NULL, "%s", err.message);
}
