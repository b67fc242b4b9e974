/* The libFuzzer entry points every fuzz_<name>.c defines (LLVMFuzzerInitialize is
 * optional), declared once for -Wmissing-prototypes.  The same files link either with
 * libFuzzer (`make fuzz`, clang) or with standalone.c (the regression runs of `make
 * check`, any compiler). */
#ifndef RM_FUZZ_H
#define RM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* data as a NUL-terminated copy; caller frees. */
char *fuzz_strndup (const uint8_t *data, size_t size);

/* A property the target checks failed: report it on stderr and abort (a crash to
 * libFuzzer, a failed test to standalone.c). */
#define FUZZ_ASSERT(cond) \
  do { if (!(cond)) fuzz_fail (__FILE__, __LINE__, #cond); } while (0)
void fuzz_fail (const char *file, int line, const char *what) __attribute__((noreturn));

#endif
