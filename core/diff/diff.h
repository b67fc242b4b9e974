/* `releasemanager diff`: what changed between a stored snapshot and the cluster, or
 * between two snapshots, release by release.  A release is its newest revision on each
 * side.  From the metadata alone (the snapshot's index, and a metadata-only LIST of the
 * release Secrets/ConfigMaps, whose labels name the release, revision and status) it
 * tells added, removed, upgraded and status-changed releases; a release record is read
 * in full only for what neither holds: the chart of a cluster revision the snapshot does
 * not have, and the manifests of --manifests.  The engine returns changes and counts;
 * the verb prints them and picks the exit status. */
#ifndef RM_DIFF_H
#define RM_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "backend_wrap.h"
#include "base/util.h"
#include "kube/kube.h"
#include "store/store.h"

enum diff_kind {
  DIFF_ADDED,              /* only on the "to" side (the cluster, or --to-snapshot) */
  DIFF_REMOVED,            /* only on the "from" side */
  DIFF_UPGRADED,           /* a newer revision */
  DIFF_ROLLED_BACK,        /* a newer revision that `helm rollback` made (its record says
                              "Rollback to N": told against the cluster only) */
  DIFF_DOWNGRADED,         /* an older revision (the "to" side is the older) */
  DIFF_STATUS,             /* the same revision, another status */
};

/* One side of a release: its newest revision (0: absent). Strings NULL when unknown. */
struct diff_side {
  int revision;
  char *status, *chart, *chart_version, *app_version;
};

struct diff_change {
  enum diff_kind kind;
  char *namespace, *release;
  struct diff_side before, after;
  char *manifest_diff;     /* --manifests, revisions differ: the unified diff ("" when the
                              manifests are the same), else NULL */
};

struct diff_opts {
  const struct strlist *only_ns;       /* only these namespaces (none: all) */
  const struct strlist *skip_ns;       /* never these */
  const struct strlist *only_release;  /* only these release names (none: all) */
  bool secrets, configmaps;            /* the Helm drivers compared (both: auto; then a
                                          driver the cluster refuses to list is left out
                                          with a warning, on both sides) */
  bool manifests;                      /* diff the manifests of changed revisions */
  const char *from_label, *to_label;   /* the sides in --- and +++ ("snapshot TIME") */
};

struct diff_result {
  struct diff_change *v;   /* sorted by namespace, then release */
  size_t n, cap;
  size_t unchanged;        /* releases the same on both sides */
  size_t listed;           /* release objects in the metadata LIST (cluster only) */
  size_t cluster_reads;    /* release objects read in full (GET) */
  size_t store_reads;      /* stored records read */
};

/* The snapshot from (borrowed) against the cluster (kc).  RM_OK, or an error with err
 * naming the input and the problem (a LIST or GET refused, a record that does not
 * decode, a stored record damaged). */
int diff_cluster (struct backend *b, struct kube_client *kc, const struct store_index *from,
                  const struct diff_opts *o, struct diff_result *r, struct rm_error *err);
/* The snapshot from against the snapshot to (both borrowed). */
int diff_snapshots (struct backend *b, const struct store_index *from,
                    const struct store_index *to, const struct diff_opts *o,
                    struct diff_result *r, struct rm_error *err);
void diff_result_free (struct diff_result *r);
const char *diff_kind_name (enum diff_kind k);   /* "added", "rolled-back", ... */

#endif
