/* The Helm release codec: turns the Secret or ConfigMap objects Helm 3 and 4 store
 * releases in into the release JSON, byte for byte as Helm wrote it, plus the few fields
 * the index needs; and turns release JSON back into such objects, as Helm's storage
 * drivers build them (helm pkg/storage/driver: secrets.go, cfgmaps.go, util.go).
 *
 * Layers, as the API server returns them:
 *   Secret     data.release = base64( base64( [gzip]( JSON ) ) )   type helm.sh/release.v1
 *   ConfigMap  data.release = base64( [gzip]( JSON ) )
 * gzip is undone only when the bytes start with 1f 8b 08, like Helm's decodeRelease.
 * Helm 2 (Tiller) records are recognised and reported as HELM_V2, never decoded as JSON. */
#ifndef RM_HELM_H
#define RM_HELM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"

/* Result codes: extended codes of the core's one convention (base/error.h), block
 * 0x20-0x2f; rm_primary() gives the RM_E_* code.  A payload that cannot be decoded is
 * RM_E_IO-based (the data read is broken, as with a read error: no argument of the
 * caller's is wrong); the other failures are RM_E_INVALID-based.  Never renumber; append. */
enum helm_code {
  HELM_OK = 0,
  /* A Helm 2 (Tiller) record: not an error, skip it with a warning. */
  HELM_V2 = ERR_EXT (RM_E_UNSUPPORTED, 0x20),
  /* Not a Helm release object at all (wrong kind/type, no data.release). */
  HELM_E_NOT_RELEASE = ERR_EXT (RM_E_INVALID, 0x20),
  /* A release object whose payload cannot be decoded. */
  HELM_E_CORRUPT = ERR_EXT (RM_E_IO, 0x20),
  /* Decoded payload exceeds helm_opts.max_decoded. */
  HELM_E_TOO_LARGE = ERR_EXT (RM_E_INVALID, 0x21),
  /* encode: the release JSON handed in is not a usable release. */
  HELM_E_INVALID = ERR_EXT (RM_E_INVALID, 0x22),
};

/* Every failing call fills a struct rm_error.  Its message names the object when there is
 * one: "secret web/sh.helm.release.v1.web.v3: data.release: inner base64: invalid
 * character '!' at offset 12". */

enum helm_driver {
  HELM_DRIVER_AUTO = 0,  /* decode: from "kind", else "type" (list items have no kind) */
  HELM_DRIVER_SECRET,
  HELM_DRIVER_CONFIGMAP,
};

/* The absolute cap on a decoded (inflated) release: a small gzip stream can claim any
 * size, and nothing from outside (not the index, not the object) raises this.  Helm's
 * own limit is the 1 MiB of an etcd object; the biggest real releases inflate to a few
 * MiB. */
#define HELM_MAX_DECODED ((size_t) 256 << 20)   /* 256 MiB */
#define HELM_DEFAULT_MAX_DECODED HELM_MAX_DECODED
#define HELM_STORAGE_TYPE "helm.sh/release.v1"
#define HELM_KEY_PREFIX "sh.helm.release.v1."

struct helm_opts {
  size_t max_decoded;    /* cap on the decompressed JSON; 0 or above HELM_MAX_DECODED:
                            HELM_MAX_DECODED */
};

/* One decoded record.  Every pointer is owned by the struct; helm_release_free() frees
 * them.  Strings the record lacks are NULL. */
struct helm_release {
  enum helm_driver driver;
  char *object_name;        /* metadata.name of the Secret/ConfigMap */
  char *object_namespace;   /* metadata.namespace (may differ from namespace below) */
  char *resource_version;   /* metadata.resourceVersion, if present */

  /* The release JSON exactly as Helm stored it (after base64 and gunzip).  NUL-terminated
   * for convenience; json_len excludes the NUL. */
  char *json;
  size_t json_len;
  bool was_gzip;            /* false: Helm stored it uncompressed */
  unsigned char *gzip;      /* when was_gzip: Helm's gzip bytes, which inflate to json */
  size_t gzip_len;

  /* From the JSON (HELM_OK) or, for HELM_V2, from Tiller's labels. */
  char *name;
  char *namespace;
  int version;              /* revision, >= 1 */
  char *status;             /* info.status: deployed, superseded, failed, ... */
  char *chart_name;         /* chart.metadata.name */
  char *chart_version;      /* chart.metadata.version */
  char *app_version;        /* chart.metadata.appVersion */
  char *first_deployed;     /* RFC 3339 text; NULL when "", null or missing */
  char *last_deployed;
  char *description;        /* info.description */
  bool helm4;               /* the JSON has fields only Helm 4 writes (apply_method) */
};

void helm_release_free (struct helm_release *rel);

/* Decode one Secret or ConfigMap object as the API returns it (a list item or a GET).
 * driver says which one it is (HELM_DRIVER_AUTO: guess from kind/type).  On HELM_OK every
 * field the index needs is set; on HELM_V2 name/version/status come from the labels and
 * json is NULL.  On any other code rel is left empty and err says why.  opts may be NULL. */
int helm_release_decode (const cJSON *obj, enum helm_driver driver,
                         const struct helm_opts *opts, struct helm_release *rel,
                         struct rm_error *err);

/* Decode Helm's own encoding: base64( [gzip]( JSON ) ), i.e. a ConfigMap's data.release or
 * a Secret's data.release after the API's base64.  what names the object in messages. */
int helm_release_decode_blob (const char *b64, size_t len, const char *what,
                              const struct helm_opts *opts, struct helm_release *rel,
                              struct rm_error *err);

/* Parse release JSON (not re-encoding it) and fill name/namespace/version/status/chart
 * and time fields of rel.  what names the record in messages. */
int helm_release_parse_json (const char *json, size_t len, const char *what,
                             struct helm_release *rel, struct rm_error *err);

/* "sh.helm.release.v1.NAME.vVERSION" (Helm's storage key); caller frees. */
char *helm_release_key (const char *name, int version);
/* The inverse: release name and revision from an object name "sh.helm.release.v1.NAME.vREV".
 * False (and *name untouched) when obj is not named so; else *name is the caller's to free.
 * REV is parsed with helm_revision_parse: "v01", "v+1", "v 1", "v1x" and overflowing
 * numbers are not revision 1 (nor any other). */
bool helm_object_name_parse (const char *obj, char **name, int *revision);
/* A revision as Helm writes one (strconv.Itoa of a positive int): the len bytes at s are
 * decimal digits without sign, space or leading zero, the value in 1..INT_MAX.  Used for
 * object names, the "version" label and the release JSON's "version", so one record can
 * never be read as two revisions, nor two records as one. */
bool helm_revision_parse (const char *s, size_t len, int *revision);

/* Whether a decoded record agrees with the object holding it: the release name and
 * revision of the object name, the labels "name" and "version" when present, and the
 * object's namespace.  Helm writes them all from the release, so a disagreement means the
 * object was damaged or forged.  False and err (HELM_E_CORRUPT, naming the object and the
 * field) when they differ. */
bool helm_release_matches_object (const struct helm_release *rel, const cJSON *obj,
                                  struct rm_error *err);

/* Options for building a storage object. */
struct helm_encode_opts {
  /* Labels to start from (a JSON object of strings), e.g. the original object's labels,
   * so user labels (helm install --labels) survive.  Helm's own labels name, owner,
   * status and version are always set from the release, over these.  May be NULL. */
  const cJSON *labels;
  /* Helm's createdAt label (Unix seconds) when > 0, as Helm's Create writes it; when 0
   * the label is left as found in labels (or absent). */
  time_t created_at;
  /* metadata.namespace; NULL = the release's namespace. */
  const char *namespace;
  bool uncompressed;   /* store the JSON without gzip (Helm reads both) */
};

/* Helm's inner encoding: base64( gzip( json ) ).  Caller frees. */
char *helm_encode_blob (const char *json, size_t len, bool uncompressed);

/* Build the Secret or ConfigMap object Helm's driver would create for this release JSON,
 * with data.release in the API's representation (for a Secret that is base64 of the
 * inner encoding).  The JSON is stored as given, never re-serialised, so
 * decode(encode(x)) == x byte for byte.  Returns HELM_OK and *out (caller deletes) or an
 * error code with err filled.  opts may be NULL. */
int helm_release_encode (const char *json, size_t len, enum helm_driver driver,
                         const struct helm_encode_opts *opts, cJSON **out,
                         struct rm_error *err);

const char *helm_strerror (int code);

#endif
