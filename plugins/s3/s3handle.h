/* What the s3 plugin's files share about a handle: its state, the S3 size limits, and
 * the entry points s3.c, s3put.c and s3stat.c call (s3.c uses s3put.c and s3stat.c,
 * s3put.c uses s3stat.c; nothing calls back into s3.c).  Internal: never installed. */
#ifndef S3_HANDLE_H
#define S3_HANDLE_H

#include <pthread.h>
#include <stdint.h>

#include <releasemanager/backend.h>

#include "s3http.h"

#define S3_MIN_PART ((long long) 5 << 20)
#define S3_MAX_PART ((long long) 5 << 30)
#define S3_MAX_PARTS 10000
#define S3_DELETE_BATCH 1000

struct s3_handle {
  struct s3_client client;
  char *sse;
  char *sse_kms_key_id;
  char *storage_class;
  long long threshold;
  long long chunk;
  int cond_mode;                /* -1 auto, 0 off, 1 on */
  pthread_mutex_t cap_lock;
  int cap_probed;
  uint64_t cond_caps;
  char *where;                  /* for describe() */
  int readonly;                 /* opened RM_OPEN_READONLY: no request that writes */
};

/* s3put.c: the put() callback, and one PutObject from memory (also used by the
 * conditional-write probe). */
int s3_put (void *handle, const char *key, const struct rm_reader *reader,
            const struct rm_put_options *opts, struct rm_object_info *info, struct rm_error *err);
int s3_put_single (struct s3_handle *s, const char *key, const unsigned char *data, size_t len,
                   const struct rm_put_options *opts, struct rm_object_info *info,
                   struct rm_error *err);
/* Binary MD5 of data (Content-MD5, multipart ETags). */
void s3_md5 (const void *data, size_t len, unsigned char md[16]);

/* s3stat.c: the stat() callback (HeadObject), and the size, mtime and ETag of a
 * finished request into info (info may be NULL). */
int s3_stat (void *handle, const char *key, struct rm_object_info *info, struct rm_error *err);
void s3_object_info (struct rm_object_info *info, const struct s3_request *r);

#endif
