/* Tests for kubeconfig resolution (core/kube/kubeconfig.c, incluster.c, yaml.c): every
 * cluster and user field, kubectl's file order and merge rules, relative paths, the
 * in-cluster fallback, validation and error messages with file and line.  When a kubectl
 * binary is around, it is asked the same questions and must agree. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/util.h"
#include "base/log.h"
#include "base/base64.h"
#include "kube/kube.h"
#include "base/yamljson.h"

static char tmp[PATH_MAX];

static void
setup (void)
{
  snprintf (tmp, sizeof tmp, "%s/rm-kubecfg-XXXXXX", getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
  cr_assert (mkdtemp (tmp), "mkdtemp: %s", strerror (errno));
  unsetenv ("KUBECONFIG");
  unsetenv ("KUBERNETES_SERVICE_HOST");
  unsetenv ("KUBERNETES_SERVICE_PORT");
  unsetenv ("POD_NAMESPACE");
  unsetenv ("HELM_KUBECONTEXT");
  char *home = xasprintf ("%s/home", tmp);
  mkdir (home, 0700);
  setenv ("HOME", home, 1);
  free (home);
}

static void
teardown (void)
{
  char *cmd = xasprintf ("rm -rf '%s'", tmp);
  cr_expect_eq (system (cmd), 0);
  free (cmd);
}

TestSuite (kubeconfig, .init = setup, .fini = teardown);
TestSuite (incluster, .init = setup, .fini = teardown);
TestSuite (kubectl_agrees, .init = setup, .fini = teardown);

/* Write tmp/rel (parents created); returns the full path, caller frees. */
static char *
put (const char *rel, const char *content)
{
  char *path = xasprintf ("%s/%s", tmp, rel);
  for (char *p = path + strlen (tmp) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir (path, 0700);
      *p = '/';
    }
  FILE *f = fopen (path, "w");
  cr_assert (f, "%s: %s", path, strerror (errno));
  fputs (content, f);
  fclose (f);
  return path;
}

static char *
path_of (const char *rel)
{
  return xasprintf ("%s/%s", tmp, rel);
}

static struct kube_config *
load_ok (const char *kubeconfig, const char *context)
{
  struct kube_config_opts o = { .kubeconfig = kubeconfig, .context = context };
  struct kube_config *cfg = NULL;
  struct rm_error err;
  int rc = kube_config_load (&o, &cfg, &err);
  cr_assert_eq (rc, KUBE_OK, "kube_config_load: %s", err.message);
  cr_assert_not_null (cfg);
  return cfg;
}

/* Load must fail with code and a message containing want (each of the '|'-separated
 * parts, in order). */
static void
load_err (const char *kubeconfig, const char *context, int code, const char *want)
{
  struct kube_config_opts o = { .kubeconfig = kubeconfig, .context = context };
  struct kube_config *cfg = NULL;
  struct rm_error err;
  int rc = kube_config_load (&o, &cfg, &err);
  cr_expect_eq (rc, code, "rc %d (%s), want %d", rc, err.message, code);
  cr_expect_null (cfg);
  kube_config_free (cfg);
  char *w = xstrdup (want), *save = NULL;
  const char *at = err.message;
  for (char *part = strtok_r (w, "|", &save); part; part = strtok_r (NULL, "|", &save)) {
    const char *hit = strstr (at, part);
    cr_expect (hit, "message '%s' lacks '%s'", err.message, part);
    if (hit)
      at = hit + strlen (part);
  }
  free (w);
}

static void
expect_blob (const struct kube_blob *b, const char *text)
{
  cr_expect_eq (b->len, strlen (text), "blob length %zu, want %zu", b->len, strlen (text));
  cr_expect (b->data && memcmp (b->data, text, b->len) == 0, "blob differs");
}

/* ---- every field ---- */

Test (kubeconfig, every_cluster_field)
{
  char *ca = base64_encode ("CA PEM\n", 7, NULL);
  char *text = xasprintf (
    "apiVersion: v1\nkind: Config\n"
    "clusters:\n"
    "- name: prod\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:6443/k8s/clusters/c-1/\n"
    "    certificate-authority-data: %s\n"
    "    tls-server-name: kubernetes.default\n"
    "    proxy-url: socks5://proxy.local:1080\n"
    "    disable-compression: true\n"
    "    extensions:\n"
    "    - name: client.authentication.k8s.io/exec\n"
    "      extension: {audience: sts, n: 3}\n"
    "contexts:\n"
    "- name: p\n"
    "  context: {cluster: prod, namespace: team-a}\n"
    "current-context: p\n", ca);
  char *f = put ("kc", text);
  struct kube_config *cfg = load_ok (f, NULL);
  cr_expect_str_eq (cfg->server, "https://10.0.0.1:6443/k8s/clusters/c-1");
  expect_blob (&cfg->ca, "CA PEM\n");
  cr_expect_null (cfg->ca_file);
  cr_expect_str_eq (cfg->tls_server_name, "kubernetes.default");
  cr_expect_str_eq (cfg->proxy_url, "socks5://proxy.local:1080");
  cr_expect (cfg->disable_compression);
  cr_expect_not (cfg->insecure);
  cr_expect_str_eq (cfg->namespace, "team-a");
  cr_expect_str_eq (cfg->context, "p");
  cr_expect_str_eq (cfg->cluster_name, "prod");
  cr_expect_null (cfg->user_name);
  cr_expect_null (cfg->exec);    /* the extension alone configures no plugin */
  cr_expect_not (cfg->in_cluster);
  cr_expect (strstr (cfg->source, f), "%s", cfg->source);
  kube_config_free (cfg);
  free (f);
  free (text);
  free (ca);
}

Test (kubeconfig, insecure_and_ca_file)
{
  free (put ("certs/ca.pem", "FILE CA\n"));
  char *f = put ("kc",
    "clusters:\n"
    "- {name: a, cluster: {server: 'https://a:1', certificate-authority: certs/ca.pem}}\n"
    "- {name: b, cluster: {server: b.example:8443, insecure-skip-tls-verify: yes}}\n"
    "- {name: c, cluster: {server: 'http://plain:8080'}}\n"
    "contexts:\n"
    "- {name: a, context: {cluster: a}}\n"
    "- {name: b, context: {cluster: b}}\n"
    "- {name: c, context: {cluster: c}}\n");
  struct kube_config *cfg = load_ok (f, "a");
  char *ca = path_of ("certs/ca.pem");
  cr_expect_str_eq (cfg->ca_file, ca);
  expect_blob (&cfg->ca, "FILE CA\n");
  kube_config_free (cfg);
  cfg = load_ok (f, "b");
  cr_expect (cfg->insecure);
  cr_expect_str_eq (cfg->server, "https://b.example:8443");   /* no scheme + TLS: https */
  cr_expect_eq (cfg->ca.len, 0);
  kube_config_free (cfg);
  cfg = load_ok (f, "c");
  cr_expect_str_eq (cfg->server, "http://plain:8080");
  kube_config_free (cfg);
  free (ca);
  free (f);
}

Test (kubeconfig, user_token_and_token_file)
{
  free (put ("tokens/t", "file-token\n"));
  char *f = put ("kc",
    "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
    "users:\n"
    "- name: t\n"
    "  user: {token: 12345}\n"          /* a number in YAML, a string to kubectl */
    "- name: tf\n"
    "  user: {tokenFile: tokens/t, as: alice, as-groups: [dev, ops], as-uid: u-1}\n"
    "contexts:\n"
    "- {name: t, context: {cluster: c, user: t}}\n"
    "- {name: tf, context: {cluster: c, user: tf}}\n");
  struct kube_config *cfg = load_ok (f, "t");
  cr_expect_str_eq (cfg->token, "12345");
  cr_expect_null (cfg->token_file);
  cr_expect_str_eq (cfg->user_name, "t");
  kube_config_free (cfg);
  cfg = load_ok (f, "tf");
  char *tf = path_of ("tokens/t");
  cr_expect_str_eq (cfg->token_file, tf);
  cr_expect_str_eq (cfg->impersonate_user, "alice");
  cr_expect_str_eq (cfg->impersonate_uid, "u-1");
  cr_expect_eq (cfg->impersonate_groups.n, 2);
  cr_expect_str_eq (cfg->impersonate_groups.items[1], "ops");
  kube_config_free (cfg);
  free (tf);
  free (f);
}

Test (kubeconfig, user_client_certificates)
{
  free (put ("pki/crt.pem", "CERT\n"));
  free (put ("pki/key.pem", "KEY\n"));
  char *cd = base64_encode ("CERTDATA", 8, NULL), *kd = base64_encode ("KEYDATA", 7, NULL);
  char *text = xasprintf (
    "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
    "users:\n"
    "- name: files\n"
    "  user: {client-certificate: pki/crt.pem, client-key: pki/key.pem}\n"
    "- name: data\n"
    "  user:\n"
    "    client-certificate-data: %s\n"
    "    client-key-data: |\n"
    "      %s\n"
    "contexts:\n"
    "- {name: f, context: {cluster: c, user: files}}\n"
    "- {name: d, context: {cluster: c, user: data}}\n", cd, kd);
  char *f = put ("kc", text);
  struct kube_config *cfg = load_ok (f, "f");
  expect_blob (&cfg->client_cert, "CERT\n");
  expect_blob (&cfg->client_key, "KEY\n");
  char *p = path_of ("pki/key.pem");
  cr_expect_str_eq (cfg->client_key_file, p);
  free (p);
  kube_config_free (cfg);
  cfg = load_ok (f, "d");
  expect_blob (&cfg->client_cert, "CERTDATA");
  expect_blob (&cfg->client_key, "KEYDATA");
  cr_expect_null (cfg->client_cert_file);
  kube_config_free (cfg);
  free (f);
  free (text);
  free (cd);
  free (kd);
}

Test (kubeconfig, user_basic_auth_and_secrets_are_redacted)
{
  char *f = put ("kc",
    "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
    "users: [{name: b, user: {username: admin, password: s3cr3t-pw}},\n"
    "        {name: t, user: {token: tok-abcdef-123456}}]\n"
    "contexts: [{name: b, context: {cluster: c, user: b}}, {name: t, context: {cluster: c, user: t}}]\n");
  struct kube_config *cfg = load_ok (f, "b");
  cr_expect_str_eq (cfg->username, "admin");
  cr_expect_str_eq (cfg->password, "s3cr3t-pw");
  kube_config_free (cfg);
  cfg = load_ok (f, "t");
  kube_config_free (cfg);
  char line[200] = "pw=s3cr3t-pw tok=tok-abcdef-123456 basic=YWRtaW46czNjcjN0LXB3";
  log_redact (line, sizeof line);
  cr_expect_str_eq (line, "pw=*** tok=*** basic=***");
  free (f);
}

/* Credentials in the server URL (issue 11): server, what messages and the index show,
 * never holds them; server_url keeps them for the requests (curl sends basic auth). */
Test (kubeconfig, server_userinfo_is_never_shown)
{
  char *f = put ("kc",
    "clusters: [{name: c, cluster: {server: 'https://ops:Pa%40ss-w0rd-9@api.example:6443/k8s/'}},\n"
    "           {name: p, cluster: {server: 'https://api.example:6443', proxy-url: 'ftp://pu:proxy-secret-77@p:3128'}},\n"
    "           {name: n, cluster: {server: 'https://api.example:6443/x@y'}}]\n"
    "users: [{name: u, user: {}}]\n"
    "contexts: [{name: c, context: {cluster: c, user: u}}, {name: p, context: {cluster: p, user: u}},\n"
    "           {name: n, context: {cluster: n, user: u}}]\n");
  struct kube_config *cfg = load_ok (f, "c");
  cr_expect_str_eq (cfg->server, "https://api.example:6443/k8s");
  cr_expect_str_eq (cfg->server_url, "https://ops:Pa%40ss-w0rd-9@api.example:6443/k8s");
  kube_config_free (cfg);
  /* An '@' in the path is not userinfo. */
  cfg = load_ok (f, "n");
  cr_expect_str_eq (cfg->server, "https://api.example:6443/x@y");
  cr_expect_null (cfg->server_url);
  kube_config_free (cfg);
  load_err (f, "p", KUBE_E_CONFIG, "invalid proxy-url \"ftp://p:3128\"");
  /* Both the raw and the decoded password are redacted from log lines. */
  char line[200] = "a=Pa%40ss-w0rd-9 b=Pa@ss-w0rd-9";
  log_redact (line, sizeof line);
  cr_expect_str_eq (line, "a=*** b=***");
  free (f);
}

Test (kubeconfig, server_display)
{
  static const char *const cases[][2] = {
    { "https://u:p@h:6443", "https://h:6443" },
    { "https://u@h", "https://h" },
    { "https://u:p@ss@h/x", "https://h/x" },
    { "https://h/a@b", "https://h/a@b" },
    { "https://h?q=a@b", "https://h?q=a@b" },
    { "h:1", "h:1" },
    { "u:p@h:1", "h:1" },
    { "https://h", "https://h" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    char *d = kube_server_display (cases[i][0]);
    cr_expect_str_eq (d, cases[i][1], "%s", cases[i][0]);
    free (d);
  }
}

Test (kubeconfig, exec_plugin_fields)
{
  char *f = put ("dir/kc",
    "clusters:\n"
    "- name: c\n"
    "  cluster:\n"
    "    server: https://c\n"
    "    extensions:\n"
    "    - {name: client.authentication.k8s.io/exec, extension: {audience: x}}\n"
    "users:\n"
    "- name: v1\n"
    "  user:\n"
    "    exec:\n"
    "      apiVersion: client.authentication.k8s.io/v1\n"
    "      command: ./bin/get-token\n"
    "      args: [--region, eu-1, 42]\n"
    "      env: [{name: FOO, value: bar}, {name: EMPTY}]\n"
    "      installHint: install get-token from example.com\n"
    "      provideClusterInfo: true\n"
    "      interactiveMode: Never\n"
    "- name: beta\n"
    "  user:\n"
    "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}\n"
    "contexts:\n"
    "- {name: v1, context: {cluster: c, user: v1}}\n"
    "- {name: beta, context: {cluster: c, user: beta}}\n");
  struct kube_config *cfg = load_ok (f, "v1");
  cr_assert_not_null (cfg->exec);
  const struct kube_exec *x = cfg->exec;
  char *cmd = path_of ("dir/./bin/get-token");
  cr_expect_str_eq (x->command, cmd);
  free (cmd);
  cr_expect_str_eq (x->api_version, "client.authentication.k8s.io/v1");
  cr_expect_eq (x->args.n, 3);
  cr_expect_str_eq (x->args.items[2], "42");
  cr_expect_eq (x->env.n, 2);
  cr_expect_str_eq (x->env.items[0], "FOO=bar");
  cr_expect_str_eq (x->env.items[1], "EMPTY=");
  cr_expect_str_eq (x->install_hint, "install get-token from example.com");
  cr_expect (x->provide_cluster_info);
  cr_expect_str_eq (x->interactive_mode, "Never");
  cr_expect_str_eq (x->cluster_config, "{\"audience\":\"x\"}");
  kube_config_free (cfg);

  cfg = load_ok (f, "beta");
  cr_expect_str_eq (cfg->exec->command, "aws");            /* PATH lookup: left alone */
  cr_expect_str_eq (cfg->exec->interactive_mode, "IfAvailable");   /* v1beta1 default */
  kube_config_free (cfg);
  free (f);
}

Test (kubeconfig, exec_plugin_validation)
{
  char *f = put ("kc",
    "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
    "users:\n"
    "- {name: nomode, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: x}}}\n"
    "- {name: nocmd, user: {exec: {apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}}}\n"
    "- {name: alpha, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}\n"
    "- {name: badmode, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Sometimes}}}\n"
    "- {name: noenvname, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Never, env: [{value: v}]}}}\n"
    "contexts:\n"
    "- {name: nomode, context: {cluster: c, user: nomode}}\n"
    "- {name: nocmd, context: {cluster: c, user: nocmd}}\n"
    "- {name: alpha, context: {cluster: c, user: alpha}}\n"
    "- {name: badmode, context: {cluster: c, user: badmode}}\n"
    "- {name: noenvname, context: {cluster: c, user: noenvname}}\n");
  load_err (f, "nomode", KUBE_E_CONFIG, ":3: interactiveMode must be specified for user \"nomode\"");
  load_err (f, "nocmd", KUBE_E_CONFIG, ":4: command must be specified");
  load_err (f, "alpha", KUBE_E_CONFIG, "apiVersion \"client.authentication.k8s.io/v1alpha1\" for user \"alpha\" is not supported");
  load_err (f, "badmode", KUBE_E_CONFIG, "invalid interactiveMode for user \"badmode\": \"Sometimes\"");
  load_err (f, "noenvname", KUBE_E_CONFIG, "env variable name must be specified");
  free (f);
}

Test (kubeconfig, auth_providers_name_their_replacement)
{
  char *f = put ("kc",
    "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
    "users:\n"
    "- {name: g, user: {auth-provider: {name: gcp, config: {cmd-path: gcloud}}}}\n"
    "- {name: a, user: {auth-provider: {name: azure}}}\n"
    "- {name: o, user: {auth-provider: {name: oidc, config: {idp-issuer-url: 'https://x'}}}}\n"
    "- {name: z, user: {auth-provider: {name: zz}}}\n"
    "- {name: both, user: {auth-provider: {name: gcp}, exec: {command: x, apiVersion: client.authentication.k8s.io/v1}}}\n"
    "contexts:\n"
    "- {name: g, context: {cluster: c, user: g}}\n"
    "- {name: a, context: {cluster: c, user: a}}\n"
    "- {name: o, context: {cluster: c, user: o}}\n"
    "- {name: z, context: {cluster: c, user: z}}\n"
    "- {name: both, context: {cluster: c, user: both}}\n");
  load_err (f, "g", KUBE_E_CONFIG, ":3: user \"g\" uses auth-provider \"gcp\"|gke-gcloud-auth-plugin");
  load_err (f, "a", KUBE_E_CONFIG, "auth-provider \"azure\"|kubelogin|Azure/kubelogin");
  load_err (f, "o", KUBE_E_CONFIG, "auth-provider \"oidc\"|oidc-login|int128/kubelogin");
  load_err (f, "z", KUBE_E_CONFIG, "auth-provider \"zz\"|exec credential plugin");
  load_err (f, "both", KUBE_E_CONFIG, "authProvider cannot be provided in combination with an exec plugin");
  free (f);
}

Test (kubeconfig, validation_messages)
{
  char *ca = base64_encode ("x", 1, NULL);
  char *text = xasprintf (
    "clusters:\n"
    "- {name: both-ca, cluster: {server: 'https://c', certificate-authority: ca.pem, certificate-authority-data: %s}}\n"
    "- {name: insecure-ca, cluster: {server: 'https://c', insecure-skip-tls-verify: true, certificate-authority-data: %s}}\n"
    "- {name: noserver, cluster: {tls-server-name: x}}\n"
    "- {name: badproxy, cluster: {server: 'https://c', proxy-url: 'ftp://p'}}\n"
    "- {name: badb64, cluster: {server: 'https://c', certificate-authority-data: 'no!base64'}}\n"
    "- {name: missingca, cluster: {server: 'https://c', certificate-authority: nowhere.pem}}\n"
    "- {name: empty}\n"
    "- {name: ok, cluster: {server: 'https://c'}}\n"
    "users:\n"
    "- {name: two, user: {token: tok-two-xyz, username: someone, password: pass-two-xyz}}\n"
    "- {name: certonly, user: {client-certificate-data: %s}}\n"
    "- {name: keyonly, user: {client-key-data: %s}}\n"
    "- {name: nokeyfile, user: {client-certificate-data: %s, client-key: /nonexistent/key}}\n"
    "- {name: notokfile, user: {tokenFile: gone}}\n"
    "contexts:\n"
    "- {name: both-ca, context: {cluster: both-ca}}\n"
    "- {name: insecure-ca, context: {cluster: insecure-ca}}\n"
    "- {name: noserver, context: {cluster: noserver}}\n"
    "- {name: badproxy, context: {cluster: badproxy}}\n"
    "- {name: badb64, context: {cluster: badb64}}\n"
    "- {name: missingca, context: {cluster: missingca}}\n"
    "- {name: empty, context: {cluster: empty}}\n"
    "- {name: nocluster, context: {cluster: ghost}}\n"
    "- {name: nouser, context: {cluster: ok, user: ghost}}\n"
    "- {name: unnamed, context: {user: two}}\n"
    "- {name: two, context: {cluster: ok, user: two}}\n"
    "- {name: certonly, context: {cluster: ok, user: certonly}}\n"
    "- {name: keyonly, context: {cluster: ok, user: keyonly}}\n"
    "- {name: nokeyfile, context: {cluster: ok, user: nokeyfile}}\n"
    "- {name: notokfile, context: {cluster: ok, user: notokfile}}\n"
    "current-context: ok\n", ca, ca, ca, ca, ca);
  free (put ("ca.pem", "CA"));
  char *f = put ("kc", text);
  load_err (f, "both-ca", KUBE_E_CONFIG, ":2: certificate-authority-data and certificate-authority are both specified for cluster \"both-ca\"");
  load_err (f, "insecure-ca", KUBE_E_CONFIG, "insecure flag is not allowed");
  load_err (f, "noserver", KUBE_E_CONFIG, ":4: no server found for cluster \"noserver\"");
  load_err (f, "badproxy", KUBE_E_CONFIG, "invalid proxy-url \"ftp://p\" for cluster \"badproxy\"");
  load_err (f, "badb64", KUBE_E_CONFIG, ":6: clusters[badb64].cluster.certificate-authority-data: invalid base64 (invalid character '!' at offset 2)");
  load_err (f, "missingca", KUBE_E_CONFIG, "unable to read certificate-authority|nowhere.pem for cluster \"missingca\": No such file or directory");
  load_err (f, "empty", KUBE_E_CONFIG, "cluster \"empty\" is empty");
  load_err (f, "nocluster", KUBE_E_CONFIG, "cluster \"ghost\" of context \"nocluster\" is not defined");
  load_err (f, "nouser", KUBE_E_CONFIG, "user \"ghost\" of context \"nouser\" is not defined");
  load_err (f, "unnamed", KUBE_E_CONFIG, "context \"unnamed\" names no cluster");
  load_err (f, "two", KUBE_E_CONFIG, "more than one authentication method found for user \"two\"");
  load_err (f, "certonly", KUBE_E_CONFIG, "client-key-data or client-key must be specified for user \"certonly\"");
  load_err (f, "keyonly", KUBE_E_CONFIG, "client-certificate-data or client-certificate must be specified");
  load_err (f, "nokeyfile", KUBE_E_CONFIG, "unable to read client-key /nonexistent/key for user \"nokeyfile\"");
  load_err (f, "notokfile", KUBE_E_CONFIG, "tokenFile|/gone for user \"notokfile\": No such file or directory");
  load_err (f, "nope", KUBE_E_CONFIG, "context \"nope\" not found in kubeconfig|(contexts: both-ca, insecure-ca");
  free (f);
  free (text);
  free (ca);
}

/* ---- files, order and merging ---- */

Test (kubeconfig, explicit_file_must_exist)
{
  char *f = path_of ("missing");
  load_err (f, NULL, KUBE_E_CONFIG, "missing: No such file or directory");
  free (f);
}

Test (kubeconfig, explicit_file_wins_over_KUBECONFIG_and_home)
{
  char *a = put ("a", "clusters: [{name: c, cluster: {server: 'https://a'}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
  char *b = put ("b", "clusters: [{name: c, cluster: {server: 'https://b'}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
  free (put ("home/.kube/config", "clusters: [{name: c, cluster: {server: 'https://home'}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"));
  struct kube_config *cfg = load_ok (NULL, NULL);
  cr_expect_str_eq (cfg->server, "https://home");
  kube_config_free (cfg);
  setenv ("KUBECONFIG", b, 1);
  cfg = load_ok (NULL, NULL);
  cr_expect_str_eq (cfg->server, "https://b");     /* KUBECONFIG hides ~/.kube/config */
  kube_config_free (cfg);
  cfg = load_ok (a, NULL);
  cr_expect_str_eq (cfg->server, "https://a");
  kube_config_free (cfg);
  free (a);
  free (b);
}

static const char merge_a[] =
  "apiVersion: v1\n"
  "clusters:\n"
  "- name: shared\n"
  "  cluster: {server: 'https://from-a', certificate-authority: ca.pem}\n"
  "users:\n"
  "- {name: u, user: {token: token-from-a}}\n"
  "contexts:\n"
  "- {name: ctx, context: {cluster: shared, user: u, namespace: ns-a}}\n";
static const char merge_b[] =
  "clusters:\n"
  "- name: shared\n"
  "  cluster: {server: 'https://from-b'}\n"
  "- name: only-b\n"
  "  cluster: {server: 'https://only-b', certificate-authority: ca.pem}\n"
  "users:\n"
  "- {name: u, user: {token: token-from-b}}\n"
  "- {name: ub, user: {tokenFile: tok}}\n"
  "contexts:\n"
  "- {name: ctx, context: {cluster: only-b, user: ub}}\n"
  "- {name: ctx-b, context: {cluster: only-b, user: ub, namespace: ns-b}}\n"
  "current-context: ctx-b\n";
static const char merge_c[] = "current-context: ctx\n";

Test (kubeconfig, KUBECONFIG_merge_first_wins)
{
  char *a = put ("a/config", merge_a);
  char *b = put ("b/config", merge_b);
  char *c = put ("c/config", merge_c);
  free (put ("a/ca.pem", "CA of a"));
  free (put ("b/ca.pem", "CA of b"));
  free (put ("b/tok", "tok of b"));
  char *missing = path_of ("nothere");
  char *env = xasprintf ("%s::%s:%s:%s:%s", missing, a, b, a, c);  /* empty, dup, missing */
  setenv ("KUBECONFIG", env, 1);

  /* current-context: a has none, b says ctx-b (c's ctx comes too late). */
  struct kube_config *cfg = load_ok (NULL, NULL);
  cr_expect_str_eq (cfg->context, "ctx-b");
  cr_expect_str_eq (cfg->server, "https://only-b");
  expect_blob (&cfg->ca, "CA of b");           /* relative to b's directory */
  char *tok = path_of ("b/tok");
  cr_expect_str_eq (cfg->token_file, tok);
  free (tok);
  cr_expect_str_eq (cfg->namespace, "ns-b");
  kube_config_free (cfg);

  /* Context, cluster and user "ctx"/"shared"/"u" all come whole from a, the first file. */
  cfg = load_ok (NULL, "ctx");
  cr_expect_str_eq (cfg->server, "https://from-a");
  expect_blob (&cfg->ca, "CA of a");
  cr_expect_str_eq (cfg->token, "token-from-a");
  cr_expect_str_eq (cfg->namespace, "ns-a");
  cr_expect_str_eq (cfg->user_name, "u");
  kube_config_free (cfg);

  /* Reversed order: b first. */
  free (env);
  env = xasprintf ("%s:%s:%s", c, b, a);
  setenv ("KUBECONFIG", env, 1);
  cfg = load_ok (NULL, NULL);
  cr_expect_str_eq (cfg->context, "ctx");        /* from c */
  cr_expect_str_eq (cfg->cluster_name, "only-b"); /* b's ctx wins over a's */
  cr_expect_str_eq (cfg->user_name, "ub");
  cr_expect_null (cfg->namespace);
  kube_config_free (cfg);
  free (env);
  free (missing);
  free (a);
  free (b);
  free (c);
}

Test (kubeconfig, no_current_context_lists_contexts)
{
  char *f = put ("kc", "clusters: [{name: c, cluster: {server: 'https://c'}}]\n"
                       "contexts: [{name: one, context: {cluster: c}}, {name: two, context: {cluster: c}}]\n");
  load_err (f, NULL, KUBE_E_CONFIG, "has no current-context: choose one with --kubecontext (contexts: one, two)");
  free (f);
}

/* The original tool took the context from Helm's settings: --kubecontext, else
 * HELM_KUBECONTEXT, else current-context. */
Test (kubeconfig, HELM_KUBECONTEXT_between_flag_and_current_context)
{
  char *f = put ("kc", "clusters: [{name: c1, cluster: {server: 'https://one'}},\n"
                       "           {name: c2, cluster: {server: 'https://two'}}]\n"
                       "contexts: [{name: one, context: {cluster: c1}}, {name: two, context: {cluster: c2}}]\n"
                       "current-context: one\n");
  struct kube_config *cfg = load_ok (f, NULL);
  cr_expect_str_eq (cfg->context, "one");
  kube_config_free (cfg);
  setenv ("HELM_KUBECONTEXT", "two", 1);
  cfg = load_ok (f, NULL);
  cr_expect_str_eq (cfg->context, "two", "HELM_KUBECONTEXT over current-context");
  cr_expect_str_eq (cfg->server, "https://two");
  kube_config_free (cfg);
  cfg = load_ok (f, "one");
  cr_expect_str_eq (cfg->context, "one", "--kubecontext over HELM_KUBECONTEXT");
  kube_config_free (cfg);
  setenv ("HELM_KUBECONTEXT", "three", 1);
  load_err (f, NULL, KUBE_E_CONFIG, "context \"three\" (from HELM_KUBECONTEXT) not found|"
            "(contexts: one, two)");
  setenv ("HELM_KUBECONTEXT", "", 1);
  cfg = load_ok (f, NULL);
  cr_expect_str_eq (cfg->context, "one", "an empty HELM_KUBECONTEXT is unset");
  kube_config_free (cfg);
  unsetenv ("HELM_KUBECONTEXT");
  free (f);
}

Test (kubeconfig, nothing_at_all)
{
  load_err (NULL, NULL, KUBE_E_CONFIG, "no Kubernetes configuration|.kube/config|KUBERNETES_SERVICE_HOST is not set");
  char *e = put ("empty", "");
  setenv ("KUBECONFIG", e, 1);
  load_err (NULL, NULL, KUBE_E_CONFIG, "no Kubernetes configuration");
  free (e);
}

Test (kubeconfig, duplicate_names_within_a_file)
{
  char *f = put ("kc", "clusters:\n- {name: c, cluster: {server: 'https://1'}}\n- {name: c, cluster: {server: 'https://2'}}\n"
                       "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
  load_err (f, NULL, KUBE_E_CONFIG, ":3: duplicate name \"c\" in clusters");
  free (f);
}

/* ---- YAML errors name file and line ---- */

Test (kubeconfig, bad_yaml_names_file_and_line)
{
  char *f = put ("bad", "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: https://c\n"
                        "   bad: indentation\ncontexts: []\n");
  load_err (f, NULL, KUBE_E_CONFIG, "bad kubeconfig |/bad:6:");
  free (f);
  f = put ("bad2", "clusters: [ {name: c\n\ncurrent-context: x\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/bad2:3:");
  free (f);
  f = put ("tab", "clusters:\n\t- name: c\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/tab:2:1: found character that cannot start any token");
  free (f);
}

Test (kubeconfig, wrong_types_name_file_and_line)
{
  char *f = put ("t1", "apiVersion: v1\nclusters:\n  name: c\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/t1:3: clusters must be a list");
  free (f);
  f = put ("t2", "clusters:\n- name: c\n  cluster:\n    server: {a: b}\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/t2:4: clusters[c].cluster.server must be a string");
  free (f);
  f = put ("t3", "clusters:\n- name: c\n  cluster:\n    server: https://c\n    insecure-skip-tls-verify: \"true\"\n"
                 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/t3:5: clusters[c].cluster.insecure-skip-tls-verify must be true or false");
  free (f);
  f = put ("t4", "- just\n- a list\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/t4:1: not a kubeconfig");
  free (f);
  f = put ("t5", "clusters: [{cluster: {server: x}}]\n");
  load_err (f, NULL, KUBE_E_CONFIG, "/t5:1: clusters[0] has no name");
  free (f);
}

Test (kubeconfig, yaml_anchors_and_bombs)
{
  char *f = put ("anchors", "clusters:\n- name: c\n  cluster: &cl {server: 'https://anchored'}\n- name: d\n  cluster: *cl\n"
                            "contexts: [{name: x, context: {cluster: d}}]\ncurrent-context: x\n");
  struct kube_config *cfg = load_ok (f, NULL);
  cr_expect_str_eq (cfg->server, "https://anchored");
  kube_config_free (cfg);
  free (f);
  struct strbuf sb = STRBUF_INIT;
  strbuf_puts (&sb, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
  for (char c = 'b'; c <= 'k'; c++)
    strbuf_printf (&sb, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", c, c,
                   c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
  f = put ("bomb", sb.data);
  load_err (f, NULL, KUBE_E_CONFIG, "document too large");
  strbuf_free (&sb);
  free (f);
}

/* An alias of an anchor that left the tree (an anchored mapping key; a value replaced
 * by a later duplicate key) names what the anchor named, and is never a read of freed
 * memory (found by fuzz/fuzz_yamljson; the inputs are in fuzz/regress/). */
Test (kubeconfig, yaml_alias_of_a_replaced_or_key_anchor)
{
  char *f = put ("buried", "contexts: [{name: x, context: {cluster: e}}]\ncurrent-context: x\n"
                           "clusters:\n- name: d\n  cluster: &cl {server: 'https://replaced'}\n"
                           "  cluster: {server: 'https://second'}\n- name: e\n  cluster: *cl\n"
                           "preferences: {&pk colors: true}\nkind: *pk\n");
  struct kube_config *cfg = load_ok (f, NULL);
  cr_expect_str_eq (cfg->server, "https://replaced");
  kube_config_free (cfg);
  free (f);
}

/* ---- in-cluster ---- */

static char *
service_account (const char *token)
{
  free (put ("sa/token", token));
  free (put ("sa/ca.crt", "SA CA\n"));
  free (put ("sa/namespace", "releases\n"));
  return path_of ("sa");
}

Test (incluster, fallback_when_no_kubeconfig)
{
  char *sa = service_account ("sa-token-1");
  setenv ("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv ("KUBERNETES_SERVICE_PORT", "443", 1);
  struct kube_config_opts o = { .serviceaccount_dir = sa };
  struct kube_config *cfg;
  struct rm_error err;
  cr_assert_eq (kube_config_load (&o, &cfg, &err), KUBE_OK, "%s", err.message);
  cr_expect (cfg->in_cluster);
  cr_expect_str_eq (cfg->server, "https://10.96.0.1:443");
  expect_blob (&cfg->ca, "SA CA\n");
  cr_expect_str_eq (cfg->namespace, "releases");
  char *tok = path_of ("sa/token");
  cr_expect_str_eq (cfg->token_file, tok);
  free (tok);
  kube_config_free (cfg);

  /* HELM_KUBECONTEXT without any kubeconfig: still in-cluster, as Helm's client. */
  setenv ("HELM_KUBECONTEXT", "somewhere", 1);
  cr_assert_eq (kube_config_load (&o, &cfg, &err), KUBE_OK, "%s", err.message);
  cr_expect (cfg->in_cluster);
  kube_config_free (cfg);
  unsetenv ("HELM_KUBECONTEXT");

  /* POD_NAMESPACE wins over the file; IPv6 gets brackets. */
  setenv ("POD_NAMESPACE", "other", 1);
  setenv ("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  cr_assert_eq (kube_config_in_cluster (sa, &cfg, &err), KUBE_OK, "%s", err.message);
  cr_expect_str_eq (cfg->namespace, "other");
  cr_expect_str_eq (cfg->server, "https://[fd00::1]:443");
  kube_config_free (cfg);
  free (sa);
}

Test (incluster, kubeconfig_with_context_wins)
{
  char *sa = service_account ("t");
  setenv ("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv ("KUBERNETES_SERVICE_PORT", "443", 1);
  free (put ("home/.kube/config", "clusters: [{name: c, cluster: {server: 'https://home'}}]\n"
                                  "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"));
  struct kube_config_opts o = { .serviceaccount_dir = sa };
  struct kube_config *cfg;
  struct rm_error err;
  cr_assert_eq (kube_config_load (&o, &cfg, &err), KUBE_OK, "%s", err.message);
  cr_expect_str_eq (cfg->server, "https://home");
  kube_config_free (cfg);
  free (sa);
}

Test (incluster, errors)
{
  struct kube_config *cfg;
  struct rm_error err;
  char *sa = path_of ("nosa");
  cr_expect_eq (kube_config_in_cluster (sa, &cfg, &err), KUBE_E_CONFIG);
  cr_expect (strstr (err.message, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"), "%s", err.message);
  setenv ("KUBERNETES_SERVICE_HOST", "h", 1);
  setenv ("KUBERNETES_SERVICE_PORT", "1", 1);
  cr_expect_eq (kube_config_in_cluster (sa, &cfg, &err), KUBE_E_CONFIG);
  cr_expect (strstr (err.message, "cannot read the service account token") && strstr (err.message, "nosa/token"),
             "%s", err.message);
  /* No CA file: a warning, and the system trust store. */
  free (put ("nosa/token", "x"));
  cr_assert_eq (kube_config_in_cluster (sa, &cfg, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (cfg->ca.len, 0);
  cr_expect_str_eq (cfg->namespace, "default");
  kube_config_free (cfg);
  free (sa);
}

/* ---- the real kubectl, when there is one, resolves the same way ---- */

static const char *
kubectl (void)
{
  static char found[PATH_MAX];
  const char *env = getenv ("KUBECTL_BIN");
  if (env && access (env, X_OK) == 0)
    return env;
  const char *path = getenv ("PATH");
  char *copy = xstrdup (path ? path : "/usr/bin:/bin");
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save)) {
    snprintf (found, sizeof found, "%s/kubectl", d);
    if (access (found, X_OK) == 0) {
      free (copy);
      return found;
    }
  }
  free (copy);
  return NULL;
}

/* kubectl config view --minify --flatten: the context kubectl would use, files inlined. */
static cJSON *
kubectl_view (const char *context)
{
  const char *k = kubectl ();
  char *cmd = xasprintf ("'%s' config view --minify --flatten -o json %s%s 2>&1", k,
                         context ? "--context=" : "", context ? context : "");
  FILE *p = popen (cmd, "r");
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, p)) > 0)
    strbuf_add (&sb, buf, n);
  int st = pclose (p);
  cr_assert_eq (st, 0, "%s: %s", cmd, sb.data);
  cJSON *j = cJSON_Parse (sb.data);
  cr_assert (j, "kubectl output is not JSON: %s", sb.data);
  strbuf_free (&sb);
  free (cmd);
  return j;
}

static const char *
jstr (const cJSON *o, const char *path)
{
  char *copy = xstrdup (path), *save = NULL;
  const cJSON *cur = o;
  for (char *p = strtok_r (copy, ".", &save); p && cur; p = strtok_r (NULL, ".", &save))
    cur = isdigit ((unsigned char) *p) ? cJSON_GetArrayItem (cur, atoi (p))
                                       : cJSON_GetObjectItemCaseSensitive (cur, p);
  free (copy);
  return cJSON_IsString (cur) ? cur->valuestring : NULL;
}

static void
agree (const char *context)
{
  struct kube_config *ours = load_ok (NULL, context);
  cJSON *theirs = kubectl_view (context);
  cr_expect_str_eq (jstr (theirs, "current-context"), ours->context);
  cr_expect_str_eq (jstr (theirs, "clusters.0.cluster.server"), ours->server);
  const char *ns = jstr (theirs, "contexts.0.context.namespace");
  cr_expect ((!ns && !ours->namespace) || (ns && ours->namespace && !strcmp (ns, ours->namespace)),
             "namespace: kubectl %s, ours %s", ns, ours->namespace);
  const char *ca = jstr (theirs, "clusters.0.cluster.certificate-authority-data");
  char *our_ca = ours->ca.len ? base64_encode (ours->ca.data, ours->ca.len, NULL) : NULL;
  cr_expect ((!ca && !our_ca) || (ca && our_ca && !strcmp (ca, our_ca)), "CA: kubectl %s, ours %s", ca, our_ca);
  const char *tok = jstr (theirs, "users.0.user.token");
  cr_expect ((!tok && !ours->token) || (tok && ours->token && !strcmp (tok, ours->token)),
             "token: kubectl %s, ours %s", tok, ours->token);
  free (our_ca);
  cJSON_Delete (theirs);
  kube_config_free (ours);
}

Test (kubectl_agrees, merge_and_relative_paths)
{
  if (!kubectl ())
    cr_skip_test ("no kubectl in PATH or KUBECTL_BIN: cannot compare with the real resolver");
  char *a = put ("a/config", merge_a);
  char *b = put ("b/config", merge_b);
  char *c = put ("c/config", merge_c);
  free (put ("a/ca.pem", "CA of a"));
  free (put ("b/ca.pem", "CA of b"));
  free (put ("b/tok", "tok of b"));
  char *env = xasprintf ("%s:%s:%s", a, b, c);
  setenv ("KUBECONFIG", env, 1);
  agree (NULL);
  agree ("ctx");
  agree ("ctx-b");
  free (env);
  env = xasprintf ("%s:%s:%s", c, b, a);
  setenv ("KUBECONFIG", env, 1);
  agree (NULL);
  agree ("ctx");
  free (env);
  free (a);
  free (b);
  free (c);
}
