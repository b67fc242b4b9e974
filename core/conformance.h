/* `releasemanager backends check`: the conformance suite any backend plugin must pass. */
#ifndef RM_CONFORMANCE_H
#define RM_CONFORMANCE_H

#include <stdio.h>

#include "backend_wrap.h"

struct conformance_opts {
  unsigned list_keys;         /* keys for the pagination check (default 2600) */
  size_t big_size;            /* bytes of the large streamed object (default 10 MiB) */
  unsigned threads;           /* parallel puts when the thread model allows (default 8) */
  FILE *out;                  /* TAP-style report */
};

/* Run every check under a fresh random prefix and remove what it wrote.  Returns the
 * number of failed checks. */
int conformance_run (struct backend *b, const struct conformance_opts *opts);

#endif
