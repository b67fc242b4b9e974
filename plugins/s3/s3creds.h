/* AWS credentials for the s3 plugin, found in the AWS CLI's order: explicit options,
 * environment, web identity (STS AssumeRoleWithWebIdentity), shared credentials/config
 * files (static keys or credential_process), ECS container endpoint, EC2 IMDSv2.
 * Temporary credentials are refreshed before they expire.  Thread-safe. */
#ifndef S3_CREDS_H
#define S3_CREDS_H

#include <releasemanager/backend.h>

struct s3_creds {
  char *access_key_id;
  char *secret_access_key;
  char *session_token;          /* or NULL */
  long long expiration;         /* Unix time, or -1 for long-term keys */
};

struct s3_creds_config {
  const char *access_key_id;    /* explicit options, or NULL */
  const char *secret_access_key;
  const char *session_token;
  const char *profile;          /* option "profile", or NULL: AWS_PROFILE, "default" */
  const char *region;           /* for the STS endpoint */
  const char *user_agent;
  const struct rm_host *host;   /* for logging; may be NULL */
  /* Environment lookup (getenv in production; tests may substitute). */
  const char *(*getenv) (const char *name);
};

struct s3_creds_provider;

/* Walk the chain and keep the first source that yields credentials.  RM_E_AUTH when
 * none does (the message lists what was tried), RM_E_CONFIG for a broken source (an
 * unreadable token file, a credential_process that fails, a missing profile that was
 * asked for by name). */
int s3_creds_provider_new (const struct s3_creds_config *cfg, struct s3_creds_provider **out,
                           struct rm_error *err);
void s3_creds_provider_free (struct s3_creds_provider *p);

/* A copy of the current credentials (free with s3_creds_clear), refreshed first when
 * they expire within the refresh window.  If a refresh fails but the old credentials
 * are still valid they are returned (with a warning logged). */
int s3_creds_get (struct s3_creds_provider *p, struct s3_creds *out, struct rm_error *err);
void s3_creds_clear (struct s3_creds *c);

/* "options", "environment", "web identity", "profile NAME (FILE)", "credential_process
 * of profile NAME", "container", "instance metadata": never a secret. */
const char *s3_creds_source (const struct s3_creds_provider *p);

/* The CA bundle the AWS CLI would use: option (the ca_bundle key) when set, else
 * AWS_CA_BUNDLE, else ca_bundle of the profile (profile when set, else AWS_PROFILE, else
 * "default") in the shared config file (AWS_CONFIG_FILE, else ~/.aws/config).  Returns
 * a malloc'ed path with where it came from in source ("option ca_bundle",
 * "AWS_CA_BUNDLE", "profile NAME in FILE"), or NULL: the system's CAs.  The file itself
 * is not checked.  getenv_fn NULL means getenv. */
char *s3_ca_bundle (const char *option, const char *profile,
                    const char *(*getenv_fn) (const char *name), char *source, size_t srcsz);

/* Refresh this many seconds before expiry (the AWS CLI uses 10-15 minutes). */
#define S3_CREDS_REFRESH_WINDOW 600

#ifdef RM_UNITTEST
/* Parse an INI-style AWS file; return a malloc'ed value of key in section, or NULL. */
char *s3_creds_ini_get (const char *path, const char *section, const char *key);
/* Parse credential_process / ECS / IMDS JSON into c.  Returns 0 or -1. */
int s3_creds_parse_json (const char *json, struct s3_creds *c, const char *token_field);
/* Force the next s3_creds_get to refresh (tests). */
void s3_creds_expire_now (struct s3_creds_provider *p);
#endif

#endif
