/* Tests for core/base/log.c's structured fields (--log-format json): a per-thread stack of
 * key/value pairs added to every JSON line as keys, popped back to a mark, copied to a
 * worker thread; text lines unchanged; values redacted as messages are. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "base/log.h"
#include "base/util.h"

/* Run fn with stderr in a temporary file; returns what it wrote. */
static char *
captured (void (*fn) (void *), void *arg)
{
  FILE *f = tmpfile ();
  cr_assert_not_null (f);
  fflush (stderr);
  int saved = dup (2);
  dup2 (fileno (f), 2);
  fn (arg);
  fflush (stderr);
  dup2 (saved, 2);
  close (saved);
  long n = ftell (f);
  char *buf = xcalloc (1, (size_t) n + 1);
  rewind (f);
  cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
  fclose (f);
  return buf;
}

static void
log_two (void *arg)
{
  (void) arg;
  size_t m = log_fields_mark ();
  log_field_int ("cycle", 7);
  log_field ("sync", "batch");
  size_t m2 = log_fields_mark ();
  log_field ("release", "web");
  log_field_int ("revision", 3);
  log_field ("action", "store");
  log_field ("msg", "not this");          /* cannot replace the message */
  log_field ("action", "skip");           /* hides "store" until popped */
  log_info ("first");
  log_fields_pop (m2);
  log_field_num ("duration", 0.25);
  log_field ("token", "tok-s3cr3t-value");
  log_info ("second");
  log_fields_pop (m);
  cr_expect_eq (log_fields_mark (), 0);
  log_info ("third");
}

static cJSON *
line (const char *text, int n)
{
  const char *p = text;
  for (int i = 0; i < n && p; i++) {
    p = strchr (p, '\n');
    p = p ? p + 1 : NULL;
  }
  cr_assert_not_null (p, "line %d of:\n%s", n, text);
  char *l = strndup (p, strcspn (p, "\n"));
  cJSON *o = cJSON_Parse (l);
  cr_assert_not_null (o, "not JSON: %s", l);
  free (l);
  return o;
}

static const char *
str (const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, k);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static double
num (const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, k);
  cr_assert (cJSON_IsNumber (v), "%s is not a number", k);
  return v->valuedouble;
}

Test (log_fields, json_keys_marks_and_redaction)
{
  log_set_level (RM_LOG_INFO);
  log_set_format (LOG_JSON);
  log_add_secret ("tok-s3cr3t-value");
  char *out = captured (log_two, NULL);
  cJSON *a = line (out, 0), *b = line (out, 1), *c = line (out, 2);
  cr_expect_str_eq (str (a, "msg"), "first");
  cr_expect_eq (num (a, "cycle"), 7);
  cr_expect_str_eq (str (a, "sync"), "batch");
  cr_expect_str_eq (str (a, "release"), "web");
  cr_expect_eq (num (a, "revision"), 3);
  cr_expect_str_eq (str (a, "action"), "skip");
  cr_expect_str_eq (str (b, "msg"), "second");
  cr_expect_null (str (b, "release"));
  cr_expect_null (str (b, "action"));
  cr_expect_eq (num (b, "duration"), 0.25);
  cr_expect_str_eq (str (b, "token"), "***");
  cr_expect_str_eq (str (c, "msg"), "third");
  cr_expect_null (cJSON_GetObjectItemCaseSensitive (c, "cycle"));
  cr_expect_null (strstr (out, "s3cr3t"));
  cJSON_Delete (a);
  cJSON_Delete (b);
  cJSON_Delete (c);
  free (out);
  /* Text lines are as before: the fields are not printed. */
  log_set_format (LOG_TEXT);
  out = captured (log_two, NULL);
  cr_expect_str_eq (out, "releasemanager: first\nreleasemanager: second\nreleasemanager: third\n");
  free (out);
  log_clear_secrets ();
}

static void *
worker (void *arg)
{
  log_fields_adopt (arg);
  log_field ("release", "api");
  log_info ("from the worker");
  log_fields_pop (0);
  return NULL;
}

static void
log_threads (void *arg)
{
  (void) arg;
  log_field_int ("cycle", 9);
  struct log_fields *f = log_fields_copy ();
  pthread_t t;
  cr_assert_eq (pthread_create (&t, NULL, worker, f), 0);
  pthread_join (t, NULL);
  log_fields_free (f);
  log_info ("from the caller");
  log_fields_pop (0);
}

Test (log_fields, a_worker_inherits_the_callers)
{
  log_set_level (RM_LOG_INFO);
  log_set_format (LOG_JSON);
  char *out = captured (log_threads, NULL);
  cJSON *a = line (out, 0), *b = line (out, 1);
  cr_expect_str_eq (str (a, "msg"), "from the worker");
  cr_expect_eq (num (a, "cycle"), 9);
  cr_expect_str_eq (str (a, "release"), "api");
  cr_expect_str_eq (str (b, "msg"), "from the caller");
  cr_expect_eq (num (b, "cycle"), 9);
  cr_expect_null (str (b, "release"));
  cr_expect_null (log_fields_copy ());
  cJSON_Delete (a);
  cJSON_Delete (b);
  free (out);
}
