/* cloudgate engine: what the first bytes of a disk image say.
 *
 * An imported image is checked before any of it reaches a storage pool:
 * a qcow2 whose header names a backing file or an external data file would
 * make qemu open a file of the host's choosing (the image's author's,
 * really), so such images are refused; a declared format must match the
 * bytes.  Pure functions: unit-tested and fuzzed.
 */
#ifndef CG_ENGINE_DISK_HEADER_H
#define CG_ENGINE_DISK_HEADER_H

#include <stddef.h>

#include "../gateway/error.h"

/* How many leading bytes cg_disk_header_check wants (less at end of file). */
#define CG_DISK_HEADER_MAX 65536

/* Check the first n bytes of an image of length total bytes.  declared:
 * "qcow2", "raw" or NULL (then qcow2 by its magic, else raw).  On success
 * *format is "qcow2" or "raw" (static) and *virtual_size the disk's size
 * as a guest sees it.  0, or -1 with CG_ERR_INVALID and why. */
int cg_disk_header_check(const unsigned char *buf, size_t n, unsigned long long total,
                         const char *declared, const char **format,
                         unsigned long long *virtual_size, cg_error *err);

#endif
