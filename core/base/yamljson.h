/* YAML to cJSON for kubeconfig files, the configuration file (conffile.c) and test
 * fixtures, on libyaml, remembering the line of every node so errors can say
 * "FILE:LINE: ...".
 *
 * Plain scalars are resolved like go-yaml v2 (which kubectl uses): null (~, null, empty),
 * YAML 1.1 booleans (true/false/yes/no/on/off, y/n), integers and floats; everything else
 * and every quoted scalar is a string.  Every scalar node also keeps its source text in
 * valuestring (cJSON frees it), so a field that wants a string can take `token: 12345`
 * the way kubectl does (yamljson_text). */
#ifndef RM_YAMLJSON_H
#define RM_YAMLJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/error.h"

struct yamljson_line;

struct yamljson {
  cJSON *docs;                   /* array: one entry per document (cJSON null if empty) */
  char *file;                    /* as given, for messages */
  struct yamljson_line *lines;  /* node -> line table */
  size_t nlines, caplines;
};

/* Extended codes (base/error.h, base block 0x01-0x0f). */
enum yamljson_code {
  YAMLJSON_E_SYNTAX = ERR_EXT (RM_E_INVALID, 0x02),   /* not YAML, or beyond our limits */
  YAMLJSON_E_NO_FILE = ERR_EXT (RM_E_NOT_FOUND, 0x02), /* the file does not exist */
  YAMLJSON_E_READ = ERR_EXT (RM_E_IO, 0x02),          /* the file cannot be opened or read */
};

/* Parse text (len bytes).  file names it in messages.  Returns 0, or YAMLJSON_E_SYNTAX
 * with "FILE:LINE:COLUMN: problem" in err (which may be NULL). */
int yamljson_parse (const char *text, size_t len, const char *file, struct yamljson *y,
                     struct rm_error *err);
/* yamljson_parse with flags.  YAMLJSON_DUPLICATE_KEYS: a key given twice in one mapping
 * stays twice in its object, in file order (the default keeps the last, like kubectl);
 * the configuration file reader reports such a key instead of taking one silently. */
#define YAMLJSON_DUPLICATE_KEYS 1u
/* YAMLJSON_FIRST_DOCUMENT: stop after the first document; what follows is not read. */
#define YAMLJSON_FIRST_DOCUMENT 2u
int yamljson_parse_flags (const char *text, size_t len, const char *file, unsigned flags,
                          struct yamljson *y, struct rm_error *err);
/* Read and parse a file.  Returns 0, a code of yamljson_parse, YAMLJSON_E_NO_FILE (errno
 * ENOENT kept) when the file does not exist, or YAMLJSON_E_READ; err may be NULL. */
int yamljson_load (const char *path, struct yamljson *y, struct rm_error *err);
void yamljson_free (struct yamljson *y);

/* 1-based line of a node, 0 if unknown (e.g. a node copied from an alias). */
int yamljson_line (const struct yamljson *y, const cJSON *node);
/* The source text of a scalar node (string, number, bool or null); NULL for maps/lists. */
const char *yamljson_text (const cJSON *node);

#endif
