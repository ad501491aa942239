/* cloudgate libvirt driver: storage volumes (overlays, uploads, adoption). */
#include "lv_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "lv_domxml.h"
#include "lv_host.h"

#define UPLOAD_CHUNK (256 * 1024)

static virStoragePoolPtr pool_open(virConnectPtr conn, const char *pool, cg_error *err)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);

    /* A missing pool is a host set up wrong, not a bad request. */
    if (!p)
        lv_report(err, conn, CG_ERR_INTERNAL, "storage pool '%s'", pool);
    return p;
}

/* The volume, refreshing the pool once: a file dropped into a directory
 * pool by hand is unknown to libvirt until the next refresh. */
static virStorageVolPtr vol_open(virConnectPtr conn, virStoragePoolPtr p, const char *name,
                                 cg_error *err)
{
    virStorageVolPtr v = virStorageVolLookupByName(p, name);

    if (!v && lv_last_error_code() == VIR_ERR_NO_STORAGE_VOL &&
        virStoragePoolRefresh(p, 0) == 0)
        v = virStorageVolLookupByName(p, name);
    if (!v) {
        cg_errkind kind = lv_last_error_code() == VIR_ERR_NO_STORAGE_VOL ? CG_ERR_NOT_FOUND
                                                                         : CG_ERR_INTERNAL;

        lv_report(err, conn, kind, "volume '%s'", name);
    }
    return v;
}

/* The <target><format type=...> of a volume, "raw" when it has none. */
static char *vol_format(virConnectPtr conn, virStorageVolPtr v, cg_error *err)
{
    char *xml = virStorageVolGetXMLDesc(v, 0);
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr obj = NULL;
    char *fmt = NULL;

    if (!xml) {
        lv_report(err, conn, CG_ERR_INTERNAL, "volume XML");
        goto cleanup;
    }
    doc = xmlReadMemory(xml, (int)strlen(xml), "volume.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || !(ctx = xmlXPathNewContext(doc)) ||
        !(obj = xmlXPathEvalExpression(BAD_CAST "string(/volume/target/format/@type)", ctx))) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot read the volume XML libvirt returned");
        goto cleanup;
    }
    fmt = strdup(obj->stringval && *obj->stringval ? (const char *)obj->stringval : "raw");
    if (!fmt)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");

cleanup:
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    free(xml);
    return fmt;
}

/* Create volume name in p from xml; its path (malloc'd), or NULL with
 * nothing left behind (reported). */
static char *vol_create(virConnectPtr conn, virStoragePoolPtr p, const char *xml,
                        const char *name, cg_error *err)
{
    virStorageVolPtr vol = virStorageVolCreateXML(p, xml, 0);
    char *path = NULL;

    if (!vol) {
        lv_report(err, conn, CG_ERR_INTERNAL, "create volume '%s'", name);
        return NULL;
    }
    if (!(path = virStorageVolGetPath(vol))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "path of volume '%s'", name);
        virStorageVolDelete(vol, 0);
    }
    virStorageVolFree(vol);
    return path;
}

char *lv_storage_overlay_create(virConnectPtr conn, const char *pool, const char *base,
                                const char *name, unsigned long long capacity, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr bv = NULL;
    virStorageVolInfo info;
    char *base_path = NULL, *base_fmt = NULL, *xml = NULL, *path = NULL;

    if (!(p = pool_open(conn, pool, err)) || !(bv = vol_open(conn, p, base, err)))
        goto cleanup;
    if (!(base_path = virStorageVolGetPath(bv)) || virStorageVolGetInfo(bv, &info) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "template volume '%s'", base);
        goto cleanup;
    }
    if (!(base_fmt = vol_format(conn, bv, err)))
        goto cleanup;
    if ((xml = lv_volxml_build(name, capacity > info.capacity ? capacity : info.capacity,
                               "qcow2", base_path, base_fmt, err)))
        path = vol_create(conn, p, xml, name, err);

cleanup:
    if (bv)
        virStorageVolFree(bv);
    if (p)
        virStoragePoolFree(p);
    free(base_path);
    free(base_fmt);
    free(xml);
    return path;
}

int lv_storage_delete(virConnectPtr conn, const char *pool, const char *name, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr v = NULL;
    int ret = -1;

    if (!(p = pool_open(conn, pool, err)))
        goto cleanup;
    if (!(v = virStorageVolLookupByName(p, name))) {
        if (lv_last_error_code() == VIR_ERR_NO_STORAGE_VOL) {
            virResetLastError();
            ret = 0;
        } else {
            lv_report(err, conn, CG_ERR_INTERNAL, "volume '%s'", name);
        }
        goto cleanup;
    }
    if (virStorageVolDelete(v, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "delete volume '%s'", name);
        goto cleanup;
    }
    ret = 1;

cleanup:
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    return ret;
}

int lv_storage_resize(virConnectPtr conn, const char *pool, const char *name,
                      unsigned long long capacity, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr v = NULL;
    int ret = -1;

    if (!(p = pool_open(conn, pool, err)) || !(v = vol_open(conn, p, name, err)))
        goto cleanup;
    if (virStorageVolResize(v, capacity, 0) < 0) {
        lv_report(err, conn, lv_last_error_code() == VIR_ERR_NO_SUPPORT ? CG_ERR_UNSUPPORTED
                                                                        : CG_ERR_INTERNAL,
                  "resize volume '%s'", name);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    return ret;
}

int lv_storage_find(virConnectPtr conn, const char *pool, const char *name,
                    unsigned long long *capacity, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr v = NULL;
    virStorageVolInfo info;
    int ret = -1;

    if (!(p = pool_open(conn, pool, err)) || !(v = vol_open(conn, p, name, err)))
        goto cleanup;
    if (virStorageVolGetInfo(v, &info) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "volume '%s'", name);
        goto cleanup;
    }
    *capacity = info.capacity;
    ret = 0;

cleanup:
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    return ret;
}

char *lv_storage_path(virConnectPtr conn, const char *pool, const char *name, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr v = NULL;
    char *path = NULL;

    if (!(p = pool_open(conn, pool, err)) || !(v = vol_open(conn, p, name, err)))
        goto cleanup;
    if (!(path = virStorageVolGetPath(v)))
        lv_report(err, conn, CG_ERR_INTERNAL, "path of volume '%s'", name);

cleanup:
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    return path;
}

int lv_storage_adopt(virConnectPtr conn, const char *pool, const char *dir, const char *src,
                     const char *name, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    char dst[4096];
    int ret = -1;

    if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst)) {
        cg_error_set(err, CG_ERR_INTERNAL, "pool directory path too long");
        return -1;
    }
    /* Same filesystem (the file was written inside the pool's directory):
     * a rename, no copy, and never a half-written volume. */
    if (rename(src, dst) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot move %s to %s: %s", src, dst, strerror(errno));
        return -1;
    }
    if (!(p = pool_open(conn, pool, err)))
        goto cleanup;
    if (virStoragePoolRefresh(p, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "refresh pool %s", pool);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (ret < 0 && rename(dst, src) < 0)
        unlink(dst); /* never a file in the pool its caller does not know of */
    if (p)
        virStoragePoolFree(p);
    return ret;
}

static uint64_t be64(const unsigned char *b)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

int lv_storage_probe(const char *path, const char **format, unsigned long long *virtual_size,
                     cg_error *err)
{
    unsigned char hdr[32];
    struct stat sb;
    ssize_t n;
    int fd, ret = -1;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
        cg_error_set(err, CG_ERR_INVALID, "%s is not a non-empty regular file", path);
        goto cleanup;
    }
    n = pread(fd, hdr, sizeof(hdr), 0);
    if (n == (ssize_t)sizeof(hdr) && memcmp(hdr, "QFI\xfb", 4) == 0) {
        /* qcow2 header: backing_file_offset at 8, virtual size at 24 (big endian). */
        if (be64(hdr + 8) != 0) {
            cg_error_set(err, CG_ERR_INVALID,
                         "%s has a backing file; convert it to a standalone image first", path);
            goto cleanup;
        }
        *format = "qcow2";
        *virtual_size = be64(hdr + 24);
    } else {
        *format = "raw";
        *virtual_size = (unsigned long long)sb.st_size;
    }
    ret = 0;

cleanup:
    if (fd >= 0)
        close(fd);
    return ret;
}

static int no_contents(virConnectPtr conn)
{
    return lv_conn_is_test(conn);
}

/* Send the whole file into an upload stream.  0 or -1 (reported). */
static int send_file(virConnectPtr conn, virStreamPtr st, int fd, const char *path,
                     cg_error *err)
{
    char *buf = malloc(UPLOAD_CHUNK);
    ssize_t got;
    int ret = -1;

    if (!buf) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    while ((got = read(fd, buf, UPLOAD_CHUNK)) != 0) {
        ssize_t off = 0;

        if (got < 0) {
            if (errno == EINTR)
                continue;
            cg_error_set(err, CG_ERR_INTERNAL, "reading %s: %s", path, strerror(errno));
            goto cleanup;
        }
        /* A blocking stream may still take less than offered. */
        while (off < got) {
            int sent = virStreamSend(st, buf + off, (size_t)(got - off));

            if (sent < 0) {
                lv_report(err, conn, CG_ERR_INTERNAL, "uploading %s", path);
                goto cleanup;
            }
            off += sent;
        }
    }
    ret = 0;

cleanup:
    free(buf);
    return ret;
}

int lv_storage_upload(virConnectPtr conn, const char *pool, const char *name, const char *path,
                      unsigned long long *capacity, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr vol = NULL;
    virStreamPtr st = NULL;
    const char *format = NULL;
    unsigned long long vsize = 0;
    struct stat sb;
    char *xml = NULL;
    int fd = -1, streaming = 0, ret = -1;

    if (lv_storage_probe(path, &format, &vsize, err) < 0)
        goto cleanup;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!(p = pool_open(conn, pool, err)) ||
        !(xml = lv_volxml_build(name, vsize, format, NULL, NULL, err)))
        goto cleanup;
    if (!(vol = virStorageVolCreateXML(p, xml, 0))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "create volume '%s'", name);
        goto cleanup;
    }
    /* libvirt's test driver keeps volumes as records without contents and
     * has no virStorageVolUpload: the volume is all there is to make. */
    if (no_contents(conn)) {
        *capacity = vsize;
        ret = 0;
        goto cleanup;
    }
    if (!(st = virStreamNew(conn, 0)) ||
        virStorageVolUpload(vol, st, 0, (unsigned long long)sb.st_size, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "upload into volume '%s'", name);
        goto cleanup;
    }
    streaming = 1;
    if (send_file(conn, st, fd, path, err) < 0)
        goto cleanup;
    streaming = 0;
    if (virStreamFinish(st) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "finish upload into volume '%s'", name);
        goto cleanup;
    }
    *capacity = vsize;
    ret = 0;

cleanup:
    if (st) {
        if (streaming)
            virStreamAbort(st);
        virStreamFree(st);
    }
    if (vol) {
        if (ret < 0)
            virStorageVolDelete(vol, 0);
        virStorageVolFree(vol);
    }
    if (p)
        virStoragePoolFree(p);
    if (fd >= 0)
        close(fd);
    free(xml);
    return ret;
}

char *lv_storage_create(virConnectPtr conn, const char *pool, const char *name,
                        unsigned long long capacity, const char *format, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    char *xml = NULL, *path = NULL;

    if ((p = pool_open(conn, pool, err)) &&
        (xml = lv_volxml_build(name, capacity, format, NULL, NULL, err)))
        path = vol_create(conn, p, xml, name, err);
    if (p)
        virStoragePoolFree(p);
    free(xml);
    return path;
}

/* Copy volume src into a new standalone volume name of format, at least
 * capacity bytes (0: src's size; larger: grown).  *cap gets the size, *path
 * (when not NULL) the new volume's path.  0, or -1 with nothing left. */
static int clone_volume(virConnectPtr conn, const char *pool, const char *src, const char *name,
                        unsigned long long capacity, const char *format,
                        unsigned long long *cap, char **path, cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr sv = NULL, vol = NULL;
    virStorageVolInfo info;
    char *xml = NULL;
    int ret = -1;

    if (!(p = pool_open(conn, pool, err)) || !(sv = vol_open(conn, p, src, err)))
        goto cleanup;
    if (virStorageVolGetInfo(sv, &info) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "volume '%s'", src);
        goto cleanup;
    }
    if (capacity < info.capacity)
        capacity = info.capacity;
    /* No backing store in the XML: the copy stands alone. */
    if (!(xml = lv_volxml_build(name, capacity, format, NULL, NULL, err)))
        goto cleanup;
    if (!(vol = virStorageVolCreateXMLFrom(p, xml, sv, 0))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "copy volume '%s' to '%s'", src, name);
        goto cleanup;
    }
    /* Grown when the copy kept the source's size (the guest grows its
     * filesystem, as on EC2). */
    if (virStorageVolGetInfo(vol, &info) < 0 ||
        (info.capacity < capacity && virStorageVolResize(vol, capacity, 0) < 0) ||
        (path && !(*path = virStorageVolGetPath(vol)))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "volume '%s'", name);
        virStorageVolDelete(vol, 0);
        goto cleanup;
    }
    *cap = capacity;
    ret = 0;

cleanup:
    if (vol)
        virStorageVolFree(vol);
    if (sv)
        virStorageVolFree(sv);
    if (p)
        virStoragePoolFree(p);
    free(xml);
    return ret;
}

int lv_storage_clone(virConnectPtr conn, const char *pool, const char *src, const char *name,
                     unsigned long long *capacity, cg_error *err)
{
    return clone_volume(conn, pool, src, name, 0, "qcow2", capacity, NULL, err);
}

char *lv_storage_clone_grown(virConnectPtr conn, const char *pool, const char *src,
                             const char *name, unsigned long long capacity, const char *format,
                             cg_error *err)
{
    unsigned long long cap;
    char *path = NULL;

    return clone_volume(conn, pool, src, name, capacity, format, &cap, &path, err) == 0 ? path
                                                                                        : NULL;
}
