/* Converting objects of API versions the target cluster no longer serves (issue 16),
 * the table of doc/api-conversions.md: pure functions from one object and the set of
 * served group/versions (a callback) to the converted object, what changed and the
 * warnings; a manifest's text the same way, document by document; and, for one release
 * being restored, the one call that converts its objects, hooks and records and checks
 * that everything left is served before anything is written. */
#ifndef RM_IMPORT_CONVERT_H
#define RM_IMPORT_CONVERT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "import/import.h"

/* Whether the cluster serves kind in api_version (discovery, or a test's table). */
struct imp_served {
  bool (*serves) (void *ctx, const char *api_version, const char *kind);
  void *ctx;
};

enum imp_conv_result {
  IMP_CONV_KEPT,        /* served as it is */
  IMP_CONV_CONVERTED,   /* rewritten to c->to */
  IMP_CONV_DROPPED,     /* a kind removed with no replacement (PodSecurityPolicy) */
  IMP_CONV_UNSERVED,    /* not served; c->to names the served replacement, if any (with
                           convert false, or a kind/version the table does not know) */
};

/* What happened to one object. */
struct imp_conversion {
  enum imp_conv_result result;
  char *kind, *name;    /* for messages */
  char *from, *to;      /* apiVersions; to NULL when nothing is served */
  struct strlist changes;   /* the fields changed, "spec.selector: from the template's labels" */
  struct strlist warnings;  /* meaning that could not be kept exactly, or dropped objects */
};

void imp_conversion_free (struct imp_conversion *c);

/* Convert obj in place when its apiVersion is not served and convert is true: to the
 * first served replacement of the table, with the field changes it needs.  obj keeps
 * its apiVersion when it is served, when convert is false, or when no replacement is
 * served (c->result says which).  c is the caller's (imp_conversion_free). */
void imp_convert_object (cJSON *obj, const struct imp_served *sv, bool convert,
                         struct imp_conversion *c);

/* One line for c: "Ingress web: networking.k8s.io/v1beta1 -> networking.k8s.io/v1
 * (change; change)".  Caller frees. */
char *imp_conversion_describe (const struct imp_conversion *c);

/* A multi-document manifest with every document imp_convert_object converted: documents
 * that are kept stay byte for byte, a converted one is written as YAML after its own
 * leading comments ("# Source: ...").  Each document's conversion (kept ones too) is
 * appended to convs (n, grown by the function; imp_conversion_free each, free the
 * array).  *out is the new text (caller frees), or NULL when nothing changed.  RM_OK, or
 * a code with err filled (a document is not YAML). */
int imp_convert_manifest (const char *text, const char *what, const struct imp_served *sv,
                          bool convert, char **out, struct imp_conversion **convs, size_t *n,
                          struct rm_error *err);

/* cJSON as block YAML (strings double-quoted), ending in a newline.  Caller frees. */
char *imp_yaml_emit (const cJSON *obj);

/* The one call of the restore path (release.c), after the records were read and the
 * manifest split, before the first write: convert (--convert-apis, s->convert_apis) or
 * refuse (--no-convert-apis) what the cluster does not serve in the chart's CRDs, the
 * manifest's objects (dropped ones removed from objs), the hooks of rel, and the manifest
 * and hooks of every record (records[i], each parsed once by the caller, rel being one of
 * them, converted in place and changed[i] set when one changed: the restored history
 * matches what was applied); then preflight: every object's kind and version served
 * (CRDs the release installs count), every namespace named exists or is created, and,
 * unless --replace, no manifest object is already there owned by another release or by
 * none (one GET per object; this release's own, left by an interrupted import, are
 * taken over).  Every problem of the release is reported at once.  The checks that read
 * objects (namespaces, owners) come last, after restored(ud) (when not NULL; called once,
 * the records converted, when the conversion found no problem) said the release is not
 * one the caller skips (restored already): a skipped release's objects are not read.
 * r->converted says how many objects were converted (release.c logs it for a release it
 * writes).  Returns 0, or -1 with r->error set. */
typedef bool (*imp_restored_fn) (void *ud);
int imp_convert_release (struct imp_run *r, cJSON *rel, struct imp_objects *crds,
                         struct imp_objects *objs, cJSON **records, bool *changed, size_t nrec,
                         imp_restored_fn restored, void *ud);

#endif
