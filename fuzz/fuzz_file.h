/* For the targets whose reader takes a path (kubeconfig, configuration file): the input
 * written to a file in a private temporary directory, created once. */
#ifndef RM_FUZZ_FILE_H
#define RM_FUZZ_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write data to DIR/name and return its path (static storage), or abort. */
const char *fuzz_write_file (const char *name, const uint8_t *data, size_t size);

/* Whether the input names a device or kernel file (/dev/, /proc/, /sys/) a reader would
 * follow: such inputs are skipped, since reading /dev/zero or /dev/stdin never ends. */
bool fuzz_names_device (const uint8_t *data, size_t size);

#endif
