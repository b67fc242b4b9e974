/* The AWS credential chain for the s3 plugin, in the AWS CLI's order.  open() walks it
 * once and remembers which source answered; temporary credentials from that source are
 * fetched again when they come within S3_CREDS_REFRESH_WINDOW of expiring.  Errors and
 * logs name sources and files, never key material. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "s3creds.h"
#include "s3curl.h"
#include "s3util.h"
#include "s3xml.h"
#include "sigv4.h"

enum source {
  SRC_OPTIONS, SRC_ENV, SRC_WEB_IDENTITY, SRC_PROFILE, SRC_PROCESS, SRC_CONTAINER, SRC_IMDS
};

struct s3_creds_provider {
  pthread_mutex_t lock;
  enum source source;
  char source_text[600];
  struct s3_creds cur;
  /* What refresh needs (copies; no secrets beyond cur). */
  char *profile;
  char *process;                /* credential_process command line */
  int wi_profile;               /* web identity came from the profile, not env */
  char *region;
  char *user_agent;
  const struct rm_host *host;
  const char *(*getenv) (const char *);
};

void
s3_creds_clear (struct s3_creds *c)
{
  if (c->secret_access_key)
    OPENSSL_cleanse (c->secret_access_key, strlen (c->secret_access_key));
  if (c->session_token)
    OPENSSL_cleanse (c->session_token, strlen (c->session_token));
  free (c->access_key_id);
  free (c->secret_access_key);
  free (c->session_token);
  c->access_key_id = c->secret_access_key = c->session_token = NULL;
  c->expiration = -1;
}

static int
creds_set (struct s3_creds *c, const char *akid, const char *secret, const char *token,
           long long expiration)
{
  s3_creds_clear (c);
  c->access_key_id = strdup (akid);
  c->secret_access_key = strdup (secret);
  c->session_token = token && *token ? strdup (token) : NULL;
  c->expiration = expiration;
  if (c->access_key_id == NULL || c->secret_access_key == NULL
      || (token && *token && c->session_token == NULL)) {
    s3_creds_clear (c);
    return -1;
  }
  return 0;
}

static const char *
env (const struct s3_creds_provider *p, const char *name)
{
  const char *v = p->getenv (name);
  return v && *v ? v : NULL;
}

#define logf_(p, level, ...)                                \
  do {                                                      \
    if (RM_HOST_HAS ((p)->host, log))                       \
      (p)->host->log ((p)->host, (level), __VA_ARGS__);     \
  } while (0)

/* ---- INI files (~/.aws/credentials, ~/.aws/config) ---- */

static char *
trim (char *s)
{
  char *e;
  while (isspace ((unsigned char) *s))
    s++;
  e = s + strlen (s);
  while (e > s && isspace ((unsigned char) e[-1]))
    *--e = '\0';
  return s;
}

S3_UNITTEST char *
s3_creds_ini_get (const char *path, const char *section, const char *key)
{
  FILE *f = fopen (path, "r");
  char line[8192], *out = NULL;
  int in = 0;
  if (f == NULL)
    return NULL;
  while (fgets (line, sizeof line, f)) {
    char *s, *eq;
    if (line[0] == ' ' || line[0] == '\t') {
      /* A nested value (e.g. "s3 =" then indented lines): not a top-level key. */
      continue;
    }
    s = trim (line);
    if (*s == '#' || *s == ';' || *s == '\0')
      continue;
    if (*s == '[') {
      char *end = strchr (s, ']');
      if (end) {
        *end = '\0';
        in = strcmp (trim (s + 1), section) == 0;
      }
      continue;
    }
    if (!in || (eq = strchr (s, '=')) == NULL)
      continue;
    *eq = '\0';
    if (strcmp (trim (s), key) == 0) {
      free (out);
      out = strdup (trim (eq + 1));   /* the last occurrence wins, like configparser */
    }
  }
  fclose (f);
  return out;
}

static void
file_paths (const struct s3_creds_provider *p, char *creds, size_t cs, char *conf, size_t cfs)
{
  const char *home = env (p, "HOME");
  const char *c = env (p, "AWS_SHARED_CREDENTIALS_FILE"), *k = env (p, "AWS_CONFIG_FILE");
  if (c)
    snprintf (creds, cs, "%s", c);
  else
    snprintf (creds, cs, "%s/.aws/credentials", home ? home : "");
  if (k)
    snprintf (conf, cfs, "%s", k);
  else
    snprintf (conf, cfs, "%s/.aws/config", home ? home : "");
}

/* ---- the CA bundle (AWS_CA_BUNDLE) ---- */

static const char *
plain_getenv (const char *name)
{
  return getenv (name);
}

char *
s3_ca_bundle (const char *option, const char *profile,
              const char *(*getenv_fn) (const char *name), char *source, size_t srcsz)
{
  const char *(*ge) (const char *) = getenv_fn ? getenv_fn : plain_getenv;
  const char *v;
  char conf[4096], section[300];
  char *out;
  if (option && *option) {
    snprintf (source, srcsz, "option ca_bundle");
    return strdup (option);
  }
  if ((v = ge ("AWS_CA_BUNDLE")) && *v) {
    snprintf (source, srcsz, "AWS_CA_BUNDLE");
    return strdup (v);
  }
  if (!(profile && *profile))
    profile = (v = ge ("AWS_PROFILE")) && *v ? v : "default";
  if ((v = ge ("AWS_CONFIG_FILE")) && *v)
    snprintf (conf, sizeof conf, "%s", v);
  else
    snprintf (conf, sizeof conf, "%s/.aws/config", (v = ge ("HOME")) ? v : "");
  /* The config file names a profile's section "profile NAME", the default "default". */
  if (strcmp (profile, "default") == 0)
    snprintf (section, sizeof section, "default");
  else
    snprintf (section, sizeof section, "profile %s", profile);
  out = s3_creds_ini_get (conf, section, "ca_bundle");
  if (out == NULL && strcmp (profile, "default") == 0)
    out = s3_creds_ini_get (conf, "profile default", "ca_bundle");
  if (out != NULL && *out == '\0') {
    free (out);
    out = NULL;
  }
  if (out != NULL)
    snprintf (source, srcsz, "profile %.200s in %.300s", profile, conf);
  return out;
}

/* ---- JSON answers: credential_process, ECS, IMDS ---- */

S3_UNITTEST int
s3_creds_parse_json (const char *json, struct s3_creds *c, const char *token_field)
{
  cJSON *root = cJSON_Parse (json);
  const cJSON *ak, *sk, *tok, *exp;
  long long expiration = -1;
  int rc = -1;
  if (root == NULL)
    return -1;
  ak = cJSON_GetObjectItemCaseSensitive (root, "AccessKeyId");
  sk = cJSON_GetObjectItemCaseSensitive (root, "SecretAccessKey");
  tok = cJSON_GetObjectItemCaseSensitive (root, token_field);
  exp = cJSON_GetObjectItemCaseSensitive (root, "Expiration");
  if (cJSON_IsString (exp)) {
    expiration = s3_parse_time (exp->valuestring);
    if (expiration < 0)
      goto out;
  }
  if (cJSON_IsString (ak) && cJSON_IsString (sk) && *ak->valuestring && *sk->valuestring)
    rc = creds_set (c, ak->valuestring, sk->valuestring,
                    cJSON_IsString (tok) ? tok->valuestring : NULL, expiration);
out:
  cJSON_Delete (root);
  return rc;
}

/* Each source returns 1 (found, *c set), 0 (not configured here: try the next one) or
 * -1 (configured but failed: errbuf says why; the chain stops). */

static int
src_options (struct s3_creds_provider *p, const struct s3_creds_config *cfg,
             struct s3_creds *c, char *errbuf, size_t errsz)
{
  (void) p;
  if (cfg->access_key_id == NULL && cfg->secret_access_key == NULL)
    return 0;
  if (cfg->access_key_id == NULL || cfg->secret_access_key == NULL) {
    snprintf (errbuf, errsz, "access_key_id and secret_access_key must be given together");
    return -1;
  }
  return creds_set (c, cfg->access_key_id, cfg->secret_access_key, cfg->session_token, -1) < 0
         ? -1 : 1;
}

static int
src_env (struct s3_creds_provider *p, struct s3_creds *c, char *errbuf, size_t errsz)
{
  const char *ak = env (p, "AWS_ACCESS_KEY_ID"), *sk = env (p, "AWS_SECRET_ACCESS_KEY");
  if (ak == NULL || sk == NULL)
    return 0;
  if (creds_set (c, ak, sk, env (p, "AWS_SESSION_TOKEN"), -1) < 0) {
    snprintf (errbuf, errsz, "out of memory");
    return -1;
  }
  return 1;
}

static char *
form_encode (const char *s)
{
  return sigv4_uri_encode (s, strlen (s), 0);
}

static char *
read_small_file (const char *path, char *errbuf, size_t errsz)
{
  FILE *f = fopen (path, "r");
  struct s3buf b = S3BUF_INIT;
  char buf[4096];
  size_t n;
  if (f == NULL) {
    snprintf (errbuf, errsz, "cannot read %s: %s", path, strerror (errno));
    return NULL;
  }
  while ((n = fread (buf, 1, sizeof buf, f)) > 0 && b.len < 1024 * 1024)
    s3buf_add (&b, buf, n);
  fclose (f);
  return s3buf_detach (&b);
}

static int
src_web_identity_with (struct s3_creds_provider *p, const char *token_file, const char *role,
                       const char *session, struct s3_creds *c, char *errbuf, size_t errsz)
{
  char *token, *t_enc = NULL, *r_enc = NULL, *s_enc = NULL, url[1024], sess[128];
  const char *endpoint = env (p, "AWS_ENDPOINT_URL_STS");
  struct s3buf body = S3BUF_INIT, resp = S3BUF_INIT;
  const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
                         "Accept: application/xml", NULL };
  struct s3xml_node *root = NULL;
  const struct s3xml_node *res, *cr;
  long status = 0;
  int rc = -1;
  char curlerr[256];

  token = read_small_file (token_file, errbuf, errsz);
  if (token == NULL)
    return -1;
  /* trim the newline an editor or a projected volume may leave */
  trim (token);
  if (endpoint == NULL)
    endpoint = env (p, "AWS_ENDPOINT_URL");
  if (endpoint)
    snprintf (url, sizeof url, "%s", endpoint);
  else
    snprintf (url, sizeof url, "https://sts.%s.amazonaws.com/", p->region);
  if (session == NULL) {
    snprintf (sess, sizeof sess, "releasemanager-%lld", (long long) time (NULL));
    session = sess;
  }
  t_enc = form_encode (token);
  r_enc = form_encode (role);
  s_enc = form_encode (session);
  if (t_enc == NULL || r_enc == NULL || s_enc == NULL
      || s3buf_printf (&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s"
                       "&RoleSessionName=%s&WebIdentityToken=%s", r_enc, s_enc, t_enc) < 0) {
    snprintf (errbuf, errsz, "out of memory");
    goto out;
  }
  if (s3_http_simple ("POST", url, hdrs, body.data, 10, 0, p->user_agent, &status, &resp,
                      curlerr, sizeof curlerr) < 0) {
    snprintf (errbuf, errsz, "web identity: STS at %.300s: %.200s", url, curlerr);
    goto out;
  }
  root = s3xml_parse (resp.data, resp.len);
  if (status != 200 || root == NULL) {
    const struct s3xml_node *e = root ? s3xml_child (root, "Error") : NULL;
    const char *code = e ? s3xml_child_text (e, "Code") : NULL;
    const char *msg = e ? s3xml_child_text (e, "Message") : NULL;
    snprintf (errbuf, errsz, "web identity: STS AssumeRoleWithWebIdentity for %s failed: "
              "HTTP %ld%s%s%s%s", role, status, code ? " " : "", code ? code : "",
              msg ? ": " : "", msg ? msg : "");
    goto out;
  }
  res = s3xml_child (root, "AssumeRoleWithWebIdentityResult");
  cr = s3xml_child (res, "Credentials");
  if (cr == NULL || s3xml_child_text (cr, "AccessKeyId") == NULL
      || s3xml_child_text (cr, "SecretAccessKey") == NULL) {
    snprintf (errbuf, errsz, "web identity: STS answer has no credentials");
    goto out;
  }
  if (creds_set (c, s3xml_child_text (cr, "AccessKeyId"), s3xml_child_text (cr, "SecretAccessKey"),
                 s3xml_child_text (cr, "SessionToken"),
                 s3_parse_time (s3xml_child_text (cr, "Expiration"))) < 0) {
    snprintf (errbuf, errsz, "out of memory");
    goto out;
  }
  rc = 1;
out:
  if (token)
    OPENSSL_cleanse (token, strlen (token));
  if (t_enc)
    OPENSSL_cleanse (t_enc, strlen (t_enc));
  free (token);
  free (t_enc);
  free (r_enc);
  free (s_enc);
  s3buf_free (&body);
  s3buf_free (&resp);
  s3xml_free (root);
  return rc;
}

static int
src_web_identity (struct s3_creds_provider *p, struct s3_creds *c, char *errbuf, size_t errsz)
{
  const char *file = env (p, "AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env (p, "AWS_ROLE_ARN");
  if (file == NULL || role == NULL)
    return 0;
  return src_web_identity_with (p, file, role, env (p, "AWS_ROLE_SESSION_NAME"), c, errbuf, errsz);
}

static int
run_process (struct s3_creds_provider *p, const char *cmd, struct s3_creds *c, char *errbuf,
             size_t errsz)
{
  FILE *f = popen (cmd, "r");
  struct s3buf out = S3BUF_INIT;
  char buf[4096];
  size_t n;
  int status, rc = -1;
  cJSON *root;
  (void) p;
  if (f == NULL) {
    snprintf (errbuf, errsz, "credential_process: cannot run: %s", strerror (errno));
    return -1;
  }
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    if (out.len < 1024 * 1024)
      s3buf_add (&out, buf, n);
  status = pclose (f);
  if (status == -1 || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
    snprintf (errbuf, errsz, "credential_process failed (exit status %d)",
              status != -1 && WIFEXITED (status) ? WEXITSTATUS (status) : -1);
    goto out;
  }
  root = cJSON_Parse (out.data ? out.data : "");
  if (root == NULL || !cJSON_IsNumber (cJSON_GetObjectItemCaseSensitive (root, "Version"))
      || cJSON_GetObjectItemCaseSensitive (root, "Version")->valueint != 1) {
    cJSON_Delete (root);
    snprintf (errbuf, errsz, "credential_process: output is not JSON with \"Version\": 1");
    goto out;
  }
  cJSON_Delete (root);
  if (s3_creds_parse_json (out.data, c, "SessionToken") < 0) {
    snprintf (errbuf, errsz, "credential_process: output lacks AccessKeyId/SecretAccessKey "
              "or has a bad Expiration");
    goto out;
  }
  rc = 1;
out:
  if (out.data)
    OPENSSL_cleanse (out.data, out.len);
  s3buf_free (&out);
  return rc;
}

static int
src_profile (struct s3_creds_provider *p, int named, struct s3_creds *c, char *errbuf,
             size_t errsz)
{
  char cpath[4096], kpath[4096], section[300];
  char *ak = NULL, *sk = NULL, *tok = NULL, *proc = NULL, *role = NULL, *wif = NULL;
  const char *where = NULL;
  int rc = 0;
  file_paths (p, cpath, sizeof cpath, kpath, sizeof kpath);
  /* Static keys: credentials file first, then the config file. */
  ak = s3_creds_ini_get (cpath, p->profile, "aws_access_key_id");
  sk = s3_creds_ini_get (cpath, p->profile, "aws_secret_access_key");
  if (ak && sk) {
    tok = s3_creds_ini_get (cpath, p->profile, "aws_session_token");
    where = cpath;
  }
  else {
    free (ak);
    free (sk);
    if (strcmp (p->profile, "default") == 0)
      snprintf (section, sizeof section, "default");
    else
      snprintf (section, sizeof section, "profile %s", p->profile);
    ak = s3_creds_ini_get (kpath, section, "aws_access_key_id");
    sk = s3_creds_ini_get (kpath, section, "aws_secret_access_key");
    if (ak && sk) {
      tok = s3_creds_ini_get (kpath, section, "aws_session_token");
      where = kpath;
    }
    else {
      role = s3_creds_ini_get (kpath, section, "role_arn");
      wif = s3_creds_ini_get (kpath, section, "web_identity_token_file");
      proc = s3_creds_ini_get (kpath, section, "credential_process");
      if (proc == NULL)
        proc = s3_creds_ini_get (cpath, p->profile, "credential_process");
    }
  }
  if (where) {
    rc = creds_set (c, ak, sk, tok, -1) < 0 ? -1 : 1;
    p->source = SRC_PROFILE;
    snprintf (p->source_text, sizeof p->source_text, "profile %.200s (%.300s)", p->profile, where);
  }
  else if (role && wif) {
    rc = src_web_identity_with (p, wif, role, NULL, c, errbuf, errsz);
    p->source = SRC_WEB_IDENTITY;
    p->wi_profile = 1;
    snprintf (p->source_text, sizeof p->source_text, "web identity of profile %s", p->profile);
  }
  else if (role) {
    snprintf (errbuf, errsz, "profile %s: role_arn with source_profile/credential_source is "
              "not supported; use credential_process or static keys", p->profile);
    rc = -1;
  }
  else if (proc) {
    free (p->process);
    p->process = proc;
    proc = NULL;
    rc = run_process (p, p->process, c, errbuf, errsz);
    p->source = SRC_PROCESS;
    snprintf (p->source_text, sizeof p->source_text, "credential_process of profile %s", p->profile);
  }
  else if (named) {
    snprintf (errbuf, errsz, "profile %.100s has no credentials in %.250s or %.250s", p->profile, cpath, kpath);
    rc = -1;
  }
  if (ak)
    OPENSSL_cleanse (ak, strlen (ak));
  if (sk)
    OPENSSL_cleanse (sk, strlen (sk));
  if (tok)
    OPENSSL_cleanse (tok, strlen (tok));
  free (ak);
  free (sk);
  free (tok);
  free (proc);
  free (role);
  free (wif);
  return rc;
}

static int
src_container (struct s3_creds_provider *p, struct s3_creds *c, char *errbuf, size_t errsz)
{
  const char *rel = env (p, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env (p, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  const char *tokfile = env (p, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *tok = env (p, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  char url[2048], *filetok = NULL, auth[4200], curlerr[256];
  const char *hdrs[2] = { NULL, NULL };
  struct s3buf resp = S3BUF_INIT;
  long status = 0;
  int rc = -1;
  if (rel)
    snprintf (url, sizeof url, "http://169.254.170.2%s", rel);
  else if (full)
    snprintf (url, sizeof url, "%s", full);
  else
    return 0;
  if (tokfile) {
    filetok = read_small_file (tokfile, errbuf, errsz);
    if (filetok == NULL)
      return -1;
    tok = trim (filetok);
  }
  if (tok) {
    snprintf (auth, sizeof auth, "Authorization: %s", tok);
    hdrs[0] = auth;
  }
  if (s3_http_simple ("GET", url, hdrs, NULL, 5, 1, p->user_agent, &status, &resp, curlerr,
                      sizeof curlerr) < 0)
    snprintf (errbuf, errsz, "container credentials at %.300s: %.200s", url, curlerr);
  else if (status != 200)
    snprintf (errbuf, errsz, "container credentials at %.300s: HTTP %ld", url, status);
  else if (s3_creds_parse_json (resp.data, c, "Token") < 0)
    snprintf (errbuf, errsz, "container credentials at %.300s: unexpected answer", url);
  else
    rc = 1;
  OPENSSL_cleanse (auth, sizeof auth);
  if (filetok)
    OPENSSL_cleanse (filetok, strlen (filetok));
  free (filetok);
  if (resp.data)
    OPENSSL_cleanse (resp.data, resp.len);
  s3buf_free (&resp);
  return rc;
}

static int
src_imds (struct s3_creds_provider *p, struct s3_creds *c, char *errbuf, size_t errsz)
{
  const char *dis = env (p, "AWS_EC2_METADATA_DISABLED");
  const char *base = env (p, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  char url[1024], tokhdr[1200], role[256], curlerr[256];
  const char *put_hdrs[] = { "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL };
  const char *get_hdrs[] = { tokhdr, NULL };
  struct s3buf resp = S3BUF_INIT;
  long status = 0;
  size_t n;
  int rc = 0;
  if (dis && strcasecmp (dis, "true") == 0)
    return 0;
  if (base == NULL)
    base = "http://169.254.169.254";
  n = strlen (base);
  while (n > 0 && base[n - 1] == '/')
    n--;
  /* Short timeouts and no retries, like the AWS CLI: off EC2 this must fail fast. */
  snprintf (url, sizeof url, "%.*s/latest/api/token", (int) n, base);
  if (s3_http_simple ("PUT", url, put_hdrs, NULL, 1, 1, p->user_agent, &status, &resp, curlerr,
                      sizeof curlerr) < 0 || status != 200 || resp.len == 0 || resp.len > 1000)
    goto out;                   /* not on EC2 (or IMDSv2 off): not found */
  snprintf (tokhdr, sizeof tokhdr, "X-aws-ec2-metadata-token: %s", trim (resp.data));
  snprintf (url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/", (int) n, base);
  if (s3_http_simple ("GET", url, get_hdrs, NULL, 1, 1, p->user_agent, &status, &resp, curlerr,
                      sizeof curlerr) < 0 || status != 200) {
    snprintf (errbuf, errsz, "instance metadata: no IAM role attached (HTTP %ld)", status);
    rc = status == 404 ? 0 : -1;
    goto out;
  }
  snprintf (role, sizeof role, "%s", trim (resp.data));
  role[strcspn (role, "\r\n")] = '\0';
  snprintf (url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/%s", (int) n, base, role);
  if (s3_http_simple ("GET", url, get_hdrs, NULL, 1, 1, p->user_agent, &status, &resp, curlerr,
                      sizeof curlerr) < 0 || status != 200
      || s3_creds_parse_json (resp.data, c, "Token") < 0) {
    snprintf (errbuf, errsz, "instance metadata: credentials of role %s unavailable (HTTP %ld)",
              role, status);
    rc = -1;
    goto out;
  }
  rc = 1;
out:
  OPENSSL_cleanse (tokhdr, sizeof tokhdr);
  if (resp.data)
    OPENSSL_cleanse (resp.data, resp.len);
  s3buf_free (&resp);
  return rc;
}

static int
fetch (struct s3_creds_provider *p, struct s3_creds *c, char *errbuf, size_t errsz)
{
  switch (p->source) {
  case SRC_WEB_IDENTITY:
    return p->wi_profile ? src_profile (p, 1, c, errbuf, errsz)
                         : src_web_identity (p, c, errbuf, errsz);
  case SRC_PROCESS: return run_process (p, p->process, c, errbuf, errsz);
  case SRC_CONTAINER: return src_container (p, c, errbuf, errsz);
  case SRC_IMDS: return src_imds (p, c, errbuf, errsz);
  default: return 0;            /* long-term keys never need a refresh */
  }
}

static const char *
default_getenv (const char *name)
{
  return getenv (name);
}

int
s3_creds_provider_new (const struct s3_creds_config *cfg, struct s3_creds_provider **out,
                       struct rm_error *err)
{
  struct s3_creds_provider *p = calloc (1, sizeof *p);
  char errbuf[700] = "";
  const char *prof;
  int named, r;
  *out = NULL;
  if (p == NULL)
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
  pthread_mutex_init (&p->lock, NULL);
  p->cur.expiration = -1;
  p->host = cfg->host;
  p->getenv = cfg->getenv ? cfg->getenv : default_getenv;
  p->region = strdup (cfg->region ? cfg->region : "us-east-1");
  p->user_agent = s3_strdup0 (cfg->user_agent);
  prof = cfg->profile && *cfg->profile ? cfg->profile : env (p, "AWS_PROFILE");
  named = prof != NULL;
  p->profile = strdup (prof ? prof : "default");
  if (p->region == NULL || p->profile == NULL) {
    s3_creds_provider_free (p);
    return rm_error_set (err, RM_E_NOMEM, "out of memory");
  }

  /* The AWS CLI's order.  A profile named explicitly (option or AWS_PROFILE) is
   * preferred to environment keys, as the CLI does for --profile. */
#define TRY(src_enum, text, call)                                         \
  do {                                                                    \
    p->source = (src_enum);                                               \
    snprintf (p->source_text, sizeof p->source_text, "%s", (text));       \
    r = (call);                                                           \
    if (r != 0)                                                           \
      goto decided;                                                       \
  } while (0)

  TRY (SRC_OPTIONS, "options", src_options (p, cfg, &p->cur, errbuf, sizeof errbuf));
  if (!(cfg->profile && *cfg->profile))
    TRY (SRC_ENV, "environment", src_env (p, &p->cur, errbuf, sizeof errbuf));
  TRY (SRC_WEB_IDENTITY, "web identity", src_web_identity (p, &p->cur, errbuf, sizeof errbuf));
  TRY (SRC_PROFILE, "profile", src_profile (p, named, &p->cur, errbuf, sizeof errbuf));
  TRY (SRC_CONTAINER, "container", src_container (p, &p->cur, errbuf, sizeof errbuf));
  TRY (SRC_IMDS, "instance metadata", src_imds (p, &p->cur, errbuf, sizeof errbuf));
#undef TRY
  {
    char cpath[4096], kpath[4096];
    file_paths (p, cpath, sizeof cpath, kpath, sizeof kpath);
    rm_error_set (err, RM_E_AUTH, "no AWS credentials found (tried: options access_key_id/"
                  "secret_access_key, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, "
                  "profile %s in %s and %s, container endpoint, instance metadata)",
                  p->profile, cpath, kpath);
    s3_creds_provider_free (p);
    return RM_E_AUTH;
  }
decided:
  if (r < 0) {
    int code = p->source == SRC_OPTIONS || p->source == SRC_PROFILE || p->source == SRC_PROCESS
               ? RM_E_CONFIG : RM_E_AUTH;
    rm_error_set (err, code, "credentials (%s): %s", p->source_text, errbuf);
    s3_creds_provider_free (p);
    return code;
  }
  logf_ (p, RM_LOG_INFO, "s3: using credentials from %s", p->source_text);
  *out = p;
  return RM_OK;
}

void
s3_creds_provider_free (struct s3_creds_provider *p)
{
  if (p == NULL)
    return;
  s3_creds_clear (&p->cur);
  free (p->profile);
  free (p->process);
  free (p->region);
  free (p->user_agent);
  pthread_mutex_destroy (&p->lock);
  free (p);
}

const char *
s3_creds_source (const struct s3_creds_provider *p)
{
  return p->source_text;
}

#ifdef RM_UNITTEST
void
s3_creds_expire_now (struct s3_creds_provider *p)
{
  pthread_mutex_lock (&p->lock);
  p->cur.expiration = (long long) time (NULL) - 1;
  pthread_mutex_unlock (&p->lock);
}
#endif

int
s3_creds_get (struct s3_creds_provider *p, struct s3_creds *out, struct rm_error *err)
{
  long long now = (long long) time (NULL);
  int rc = RM_OK;
  memset (out, 0, sizeof *out);
  out->expiration = -1;
  pthread_mutex_lock (&p->lock);
  if (p->cur.expiration >= 0 && p->cur.expiration - S3_CREDS_REFRESH_WINDOW <= now) {
    struct s3_creds fresh = { NULL, NULL, NULL, -1 };
    char errbuf[700] = "";
    if (fetch (p, &fresh, errbuf, sizeof errbuf) == 1) {
      s3_creds_clear (&p->cur);
      p->cur = fresh;
      logf_ (p, RM_LOG_DEBUG, "s3: refreshed temporary credentials from %s", p->source_text);
    }
    else {
      s3_creds_clear (&fresh);
      if (p->cur.expiration <= now) {
        rc = rm_error_set (err, RM_E_AUTH, "credentials (%s) expired and could not be "
                           "refreshed: %s", p->source_text, errbuf);
        pthread_mutex_unlock (&p->lock);
        return rc;
      }
      logf_ (p, RM_LOG_WARN, "s3: could not refresh credentials from %s; using the current "
             "ones until they expire", p->source_text);
    }
  }
  if (creds_set (out, p->cur.access_key_id, p->cur.secret_access_key, p->cur.session_token,
                 p->cur.expiration) < 0)
    rc = rm_error_set (err, RM_E_NOMEM, "out of memory");
  pthread_mutex_unlock (&p->lock);
  return rc;
}
