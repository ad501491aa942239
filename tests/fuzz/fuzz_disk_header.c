/* cloudgate fuzz target: an imported image's first bytes
 * (engine/disk_header.c).  Input: one byte picks the declared format (0
 * none, 1 qcow2, 2 raw, else "vmdk"), then the header bytes; the image's
 * total size is the header's length.  Checks: an accepted image is qcow2
 * exactly when it has the magic, a raw one's virtual size is its length, an
 * accepted qcow2 names no backing file and has a size; a refusal says why. */
#include "fuzz.h"
#include "engine/disk_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const declared[] = {NULL, "qcow2", "raw", "vmdk"};
    const char *format = NULL, *decl;
    unsigned long long vsize = 0;
    cg_error err = {0};
    unsigned char *hdr;
    size_t n;
    int rc, magic;

    if (size < 1)
        return 0;
    decl = declared[data[0] % 4];
    n = size - 1;
    if (n > CG_DISK_HEADER_MAX)
        n = CG_DISK_HEADER_MAX;
    /* An exact copy, so ASan sees any read past the bytes given. */
    if (!(hdr = malloc(n ? n : 1)))
        return 0;
    memcpy(hdr, data + 1, n);
    rc = cg_disk_header_check(hdr, n, n, decl, &format, &vsize, &err);
    magic = n >= 4 && memcmp(hdr, "QFI\xfb", 4) == 0;
    if (rc == 0) {
        FZ_CHECK(format != NULL);
        FZ_CHECK(strcmp(format, magic ? "qcow2" : "raw") == 0);
        FZ_CHECK(!decl || strcmp(decl, format) == 0);
        if (magic) {
            FZ_CHECK(n >= 72 && vsize > 0);
            FZ_CHECK(memcmp(hdr + 8, "\0\0\0\0\0\0\0\0", 8) == 0); /* no backing file */
        } else {
            FZ_CHECK(vsize == n && n > 0);
        }
    } else {
        FZ_CHECK(rc == -1 && err.kind == CG_ERR_INVALID && err.message[0]);
    }
    free(hdr);
    return 0;
}
