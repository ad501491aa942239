/* cloudgate engine: checking an image's header (see disk_header.h).
 *
 * qcow2 (QEMU's docs/interop/qcow2.txt): magic "QFI\xfb", version (2 or 3)
 * at 4, backing_file_offset at 8 and its size at 16, virtual size at 24;
 * version 3 adds incompatible_features at 72 (bit 1 corrupt, bit 2 external
 * data file) and header_length at 100.  All big endian.
 */
#include "disk_header.h"

#include <stdint.h>
#include <string.h>

static uint64_t be64(const unsigned char *b)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Other formats people upload by mistake, by their magic. */
static const char *foreign_format(const unsigned char *b, size_t n)
{
    if (n >= 4 && memcmp(b, "KDMV", 4) == 0)
        return "vmdk";
    if (n >= 8 && memcmp(b, "vhdxfile", 8) == 0)
        return "vhdx";
    if (n >= 68 && memcmp(b + 64, "\x7f\x10\xda\xbe", 4) == 0)
        return "vdi";
    if (n >= 8 && memcmp(b, "conectix", 8) == 0)
        return "vhd";
    return NULL;
}

/* The backing file name, printable only, for the message. */
static void backing_name(const unsigned char *b, size_t n, char *out, size_t len)
{
    uint64_t off = be64(b + 8);
    uint32_t size = be32(b + 16), i, o = 0;

    out[0] = '\0';
    if (off >= n || size == 0 || size > n - off)
        return;
    for (i = 0; i < size && o + 1 < len; i++) {
        unsigned char ch = b[off + i];

        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[o] = '\0';
}

static int check_qcow2(const unsigned char *b, size_t n, unsigned long long *virtual_size,
                       cg_error *err)
{
    uint32_t version;
    char name[128];

    if (n < 72) {
        cg_error_set(err, CG_ERR_INVALID, "the qcow2 header is truncated");
        return -1;
    }
    version = be32(b + 4);
    if (version != 2 && version != 3) {
        cg_error_set(err, CG_ERR_INVALID, "qcow2 version %u is not supported", version);
        return -1;
    }
    if (be64(b + 8) != 0) {
        backing_name(b, n, name, sizeof(name));
        cg_error_set(err, CG_ERR_INVALID,
                     "the qcow2 image has a backing file%s%s%s: only standalone images are "
                     "imported",
                     name[0] ? " '" : "", name, name[0] ? "'" : "");
        return -1;
    }
    if (version == 3) {
        uint64_t incompatible;

        if (n < 104) {
            cg_error_set(err, CG_ERR_INVALID, "the qcow2 header is truncated");
            return -1;
        }
        incompatible = be64(b + 72);
        if (incompatible & 4) {
            cg_error_set(err, CG_ERR_INVALID,
                         "the qcow2 image keeps its data in an external file: only standalone "
                         "images are imported");
            return -1;
        }
        if (incompatible & 2) {
            cg_error_set(err, CG_ERR_INVALID, "the qcow2 image is marked corrupt");
            return -1;
        }
        /* Bits qemu 7.2 does not know (0 dirty, 3 compression type, 4
         * extended L2 are known). */
        if (incompatible & ~(uint64_t)0x1f) {
            cg_error_set(err, CG_ERR_INVALID, "the qcow2 image uses unknown features (0x%llx)",
                         (unsigned long long)incompatible);
            return -1;
        }
    }
    *virtual_size = be64(b + 24);
    if (*virtual_size == 0) {
        cg_error_set(err, CG_ERR_INVALID, "the qcow2 image has a virtual size of 0");
        return -1;
    }
    return 0;
}

int cg_disk_header_check(const unsigned char *buf, size_t n, unsigned long long total,
                         const char *declared, const char **format,
                         unsigned long long *virtual_size, cg_error *err)
{
    int is_qcow2 = n >= 4 && memcmp(buf, "QFI\xfb", 4) == 0;
    const char *other = foreign_format(buf, n);

    if (total == 0) {
        cg_error_set(err, CG_ERR_INVALID, "the image is empty");
        return -1;
    }
    if (declared && strcmp(declared, "qcow2") != 0 && strcmp(declared, "raw") != 0) {
        cg_error_set(err, CG_ERR_INVALID, "format '%.32s' is not qcow2 or raw", declared);
        return -1;
    }
    if (other && !is_qcow2) {
        cg_error_set(err, CG_ERR_INVALID, "the image is %s%s%s; import qcow2 or raw", other,
                     declared ? ", not " : "", declared ? declared : "");
        return -1;
    }
    if (declared && strcmp(declared, "qcow2") == 0 && !is_qcow2) {
        cg_error_set(err, CG_ERR_INVALID, "the image is not qcow2 (no qcow2 header)");
        return -1;
    }
    /* Taking a qcow2 file for raw would boot nothing useful; refuse. */
    if (declared && strcmp(declared, "raw") == 0 && is_qcow2) {
        cg_error_set(err, CG_ERR_INVALID, "the image is qcow2, not raw");
        return -1;
    }
    if (is_qcow2) {
        if (check_qcow2(buf, n, virtual_size, err) < 0)
            return -1;
        *format = "qcow2";
        return 0;
    }
    *format = "raw";
    *virtual_size = total;
    return 0;
}
