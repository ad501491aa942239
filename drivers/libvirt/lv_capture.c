/* cloudgate libvirt driver: capture an instance's root disk as a new image
 * (CIMI capture, EC2 CreateImage).
 *
 * A stopped instance's overlay is copied with virStorageVolCreateXMLFrom
 * (qemu-img convert: the copy comes out flattened).  A running one holds
 * its disk's lock, so it is paused and copied by a block-copy job into a
 * fresh volume (the job is ended without pivoting: the domain keeps its
 * disk), then resumed: crash-consistent, like CreateImage with NoReboot.
 * Other zones get the copy through a local file, uploaded as
 * image_register does.  Any failure removes the volumes, files and row.
 * The attached volumes arrive as snapshots the capture job made
 * (engine/capture.c): they become the image's further disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_driver.h"
#include "lv_seed.h"
#include "lv_storage.h"

/* Bound on one disk copy; the demo disk takes about a second. */
#define COPY_WAIT_SEC 900.0

/* The block-copy destination: <disk type='file'><source file=path/>
 * <driver type='qcow2'/></disk>.  malloc'd or NULL (reported). */
static char *dest_xml(const char *path, cg_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr disk = NULL, n;
    xmlChar *buf = NULL;
    char *xml = NULL;
    int len = 0;

    if (doc && (disk = xmlNewNode(NULL, BAD_CAST "disk"))) {
        xmlDocSetRootElement(doc, disk);
        if (xmlNewProp(disk, BAD_CAST "type", BAD_CAST "file") &&
            (n = xmlNewChild(disk, NULL, BAD_CAST "source", NULL)) &&
            xmlNewProp(n, BAD_CAST "file", BAD_CAST path) &&
            (n = xmlNewChild(disk, NULL, BAD_CAST "driver", NULL)) &&
            xmlNewProp(n, BAD_CAST "type", BAD_CAST "qcow2"))
            xmlDocDumpMemory(doc, &buf, &len);
    }
    if (!buf || !(xml = strdup((const char *)buf)))
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    xmlFree(buf);
    xmlFreeDoc(doc);
    return xml;
}

/* Mirror the active domain's disk src into the existing volume at dst and
 * end the job once in sync, leaving dst a standalone copy.  0 or -1. */
static int copy_live(virConnectPtr conn, virDomainPtr dom, const char *src, const char *dst,
                     cg_error *err)
{
    virDomainBlockJobInfo info;
    double deadline = cg_monotonic() + COPY_WAIT_SEC;
    char *xml = NULL;
    int rc, started = 0, ret = -1;

    if (!(xml = dest_xml(dst, err)))
        goto cleanup;
    /* TRANSIENT_JOB: allowed on a persistent domain, which copies refuse
     * otherwise; REUSE_EXT: the volume was made through the pool. */
    if (virDomainBlockCopy(dom, src, xml, NULL, 0,
                           VIR_DOMAIN_BLOCK_COPY_REUSE_EXT |
                               VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "copy disk %s", src);
        goto cleanup;
    }
    started = 1;
    /* libvirt shows cur == end only once the mirror is ready. */
    while ((rc = virDomainGetBlockJobInfo(dom, src, &info, 0)) == 1 &&
           !(info.end > 0 && info.cur == info.end)) {
        if (cg_monotonic() > deadline) {
            cg_error_set(err, CG_ERR_INTERNAL, "copying disk %s took over %.0f s", src,
                         COPY_WAIT_SEC);
            goto cleanup;
        }
        usleep(100000);
    }
    if (rc != 1) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_INTERNAL, "the copy of disk %s stopped", src);
        else
            lv_report(err, conn, CG_ERR_INTERNAL, "copy of disk %s", src);
        goto cleanup;
    }
    if (virDomainBlockJobAbort(dom, src, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "finish the copy of disk %s", src);
        goto cleanup;
    }
    started = 0;
    ret = 0;

cleanup:
    if (started && virDomainBlockJobAbort(dom, src, 0) < 0)
        cg_warn("copy of %s: job not ended: %s", src, virGetLastErrorMessage());
    free(xml);
    return ret;
}

/* Copy a running instance's disk (pausing it meanwhile) into volume name. */
static int copy_running(cg_drv *drv, lv_host *h, virConnectPtr conn, const cg_instance *inst,
                        const char *src_vol, const char *name, unsigned long long *size,
                        cg_error *err)
{
    virDomainPtr dom = NULL;
    char *src = NULL, *dst = NULL;
    int paused = 0, ret = -1;

    if (!(dom = lv_domain_get(conn, inst->id, err)) ||
        lv_storage_find(conn, drv->cfg->storage_pool, src_vol, size, err) < 0 ||
        !(src = lv_storage_path(conn, drv->cfg->storage_pool, src_vol, err)))
        goto cleanup;
    if (inst->sub != CG_SUB_PAUSED) {
        if (virDomainSuspend(dom) < 0) {
            lv_report(err, conn, CG_ERR_INTERNAL, "pause instance %s", inst->id);
            goto cleanup;
        }
        paused = 1;
    }
    if (!(dst = lv_storage_create(conn, drv->cfg->storage_pool, name, *size, "qcow2", err)))
        goto cleanup;
    if (copy_live(conn, dom, src, dst, err) < 0) {
        lv_storage_delete(conn, drv->cfg->storage_pool, name, NULL);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (paused && virDomainResume(dom) < 0) {
        /* The image is good; the instance shows as paused and can be started. */
        cg_err("capture of %s: instance left paused: %s", inst->id, virGetLastErrorMessage());
    }
    if (dom) {
        lv_power_sync(lv_host_cache(h), dom, inst->id);
        virDomainFree(dom);
    }
    free(src);
    free(dst);
    return ret;
}

/* Write volume name of conn's pool into the local file path.  0 or -1. */
static int download(virConnectPtr conn, const char *pool, const char *name, const char *path,
                    cg_error *err)
{
    virStoragePoolPtr p = NULL;
    virStorageVolPtr v = NULL;
    virStreamPtr st = NULL;
    char buf[65536];
    int fd = -1, n, ret = -1;

    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!(p = virStoragePoolLookupByName(conn, pool)) || !(v = virStorageVolLookupByName(p, name)) ||
        !(st = virStreamNew(conn, 0)) || virStorageVolDownload(v, st, 0, 0, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "download volume '%s'", name);
        goto cleanup;
    }
    while ((n = virStreamRecv(st, buf, sizeof(buf))) > 0) {
        if (write(fd, buf, (size_t)n) != n) {
            cg_error_set(err, CG_ERR_INTERNAL, "writing %s: %s", path, strerror(errno));
            virStreamAbort(st);
            goto cleanup;
        }
    }
    if (n < 0 || virStreamFinish(st) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "download volume '%s'", name);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (fd >= 0)
        close(fd);
    if (st)
        virStreamFree(st);
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    return ret;
}

int lv_image_replicate(cg_drv *drv, lv_host *src, virConnectPtr conn, const char *name,
                       int *done, cg_error *err)
{
    char *tmp = NULL;
    unsigned long long cap;
    size_t i;
    int ret = -1;

    if (drv->n_hosts < 2)
        return 0;
    if (!(tmp = cg_asprintf("%s/%s.capture", drv->cfg->state_dir, name))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (download(conn, drv->cfg->storage_pool, name, tmp, err) < 0)
        goto cleanup;
    for (i = 0; i < drv->n_hosts; i++) {
        virConnectPtr c;
        int rc;

        if (drv->hosts[i] == src)
            continue;
        if (!(c = lv_host_conn(drv->hosts[i], err)))
            goto cleanup;
        rc = lv_storage_upload(c, drv->cfg->storage_pool, name, tmp, &cap, err);
        virConnectClose(c);
        if (rc < 0)
            goto cleanup;
        done[i] = 1;
    }
    ret = 0;

cleanup:
    unlink(tmp);
    free(tmp);
    return ret;
}

/* The pending image's record completed: its disk, the snapshots of its
 * further disks, the boot settings of the source image, the display asked
 * for (CreateImage's cloudgate:display tag) or else the instance's. */
static int describe(const cg_instance *inst, const cg_image *src, const cg_capture_spec *spec,
                    cg_image *img, unsigned long long size, cg_error *err)
{
    free(img->volume);
    free(img->mappings);
    img->mappings = NULL;
    img->n_mappings = 0;
    if (!(img->volume = cg_asprintf("%s.qcow2", img->id)) ||
        (src->cmdline && !(img->cmdline = strdup(src->cmdline))) ||
        (spec->n_mappings &&
         !(img->mappings = malloc(spec->n_mappings * sizeof(*img->mappings))))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (spec->n_mappings) {
        memcpy(img->mappings, spec->mappings, spec->n_mappings * sizeof(*img->mappings));
        img->n_mappings = spec->n_mappings;
    }
    snprintf(img->architecture, sizeof(img->architecture), "%s",
             src->architecture[0] ? src->architecture : "x86_64");
    snprintf(img->seed_format, sizeof(img->seed_format), "%s",
             src->seed_format[0] ? src->seed_format : LV_SEED_NOCLOUD);
    snprintf(img->source_instance, sizeof(img->source_instance), "%s", inst->id);
    img->display = spec->display != CG_DISPLAY_DEFAULT   ? spec->display
                   : inst->display != CG_DISPLAY_DEFAULT ? inst->display
                                                         : CG_DISPLAY_HEADLESS;
    img->os = src->os; /* until the copy is inspected */
    img->size_bytes = size;
    return 0;
}

/* CG_ERR_CONFLICT when an image is called name: checked before copying a
 * disk for nothing (the database's UNIQUE still decides a race). */
static int name_free(cg_drv *drv, const char *name, cg_error *err)
{
    cg_image_list il = {0};
    size_t i;
    int ret = 0;

    if (lv_state_image_list(drv->state, &il, err) < 0)
        return -1;
    for (i = 0; i < il.n && ret == 0; i++) {
        if (strcmp(il.v[i].name, name) == 0) {
            cg_error_set(err, CG_ERR_CONFLICT, "an image named '%s' already exists", name);
            ret = -1;
        }
    }
    cg_image_list_release(&il);
    return ret;
}

/* Copy the instance's disk into the pending image img (in the instance's
 * zone) and complete its row; it stays pending.  0 or -1: then the copy and
 * boot files are gone and the row is as it was. */
static int capture_into(cg_drv *drv, const cg_capture_spec *spec, cg_image *img, cg_error *err)
{
    cg_instance inst;
    cg_image src;
    lv_host *h;
    virConnectPtr conn = NULL;
    unsigned long long size = 0;
    char src_vol[64], data[40], vol[64];
    int copied = 0, boot_files = 0, intent = 0, rc, ret = -1;

    memset(&src, 0, sizeof(src));
    if (!(h = lv_instance_take_live(drv, spec->instance_id, &inst, err)))
        return -1;
    if (inst.state != CG_STATE_RUNNING && inst.state != CG_STATE_STOPPED) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s and cannot be captured now",
                     inst.id, cg_instance_state_name(inst.state));
        goto cleanup;
    }
    /* A deregistered source image leaves no boot settings: disk boot. */
    if ((rc = lv_state_image_get(drv->state, inst.image_id, &src, NULL, err)) < 0)
        goto cleanup;
    if (rc == 0 && inst.image_id[0])
        cg_warn("capture of %s: image %s is gone; the new image boots from its disk", inst.id,
                inst.image_id);
    if (!(conn = lv_host_conn(h, err)))
        goto cleanup;
    /* Before the volume; a restart also resumes what we paused. */
    snprintf(data, sizeof(data), "%s%s", inst.id,
             inst.state == CG_STATE_RUNNING && inst.sub != CG_SUB_PAUSED ? " pause" : "");
    if (lv_intent_add(drv->state, LV_INTENT_CAPTURE, img->id, lv_host_zone(h), data, err) < 0)
        goto cleanup;
    intent = 1;
    snprintf(src_vol, sizeof(src_vol), "%s.qcow2", inst.id);
    snprintf(vol, sizeof(vol), "%s.qcow2", img->id);
    if (inst.state == CG_STATE_RUNNING)
        rc = copy_running(drv, h, conn, &inst, src_vol, vol, &size, err);
    else
        rc = lv_storage_clone(conn, drv->cfg->storage_pool, src_vol, vol, &size, err);
    if (rc < 0)
        goto cleanup;
    copied = boot_files = 1;
    if (describe(&inst, &src, spec, img, size, err) < 0 ||
        lv_image_copy_boot_files(drv, src.kernel, src.initrd, img, err) < 0 ||
        lv_state_image_replace(drv->state, img, err) < 0)
        goto cleanup;
    cg_info("image %s: disk copied from instance %s", img->id, inst.id);
    ret = 0;

cleanup:
    if (ret < 0 && copied)
        lv_storage_delete(conn, drv->cfg->storage_pool, vol, NULL);
    if (ret < 0 && boot_files)
        lv_image_remove_boot_files(drv, img->id);
    /* The row now names the volume: deleting the image finds it. */
    if (intent)
        lv_intent_done(drv->state, img->id);
    lv_cache_release(lv_host_cache(h), inst.id);
    if (conn)
        virConnectClose(conn);
    cg_image_release(&src);
    cg_instance_release(&inst);
    return ret;
}

int lv_image_capture(cg_drv *drv, const cg_capture_spec *spec, cg_image *out, cg_error *err)
{
    cg_pending_image_spec ps = {.name = spec->name,
                                .description = spec->description,
                                .source_instance = spec->instance_id,
                                .tags = spec->tags};
    cg_image img;
    cg_error derr = {0};
    char id[24];
    int made = 0, ret = -1, rc;

    memset(&img, 0, sizeof(img));
    if (spec->image_id) {
        if ((rc = lv_state_image_get(drv->state, spec->image_id, &img, NULL, err)) <= 0) {
            if (rc == 0)
                cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", spec->image_id);
            return -1;
        }
    } else {
        /* Without a pending image: make one and publish it here (synchronous). */
        if (!spec->name || !*spec->name) {
            cg_error_set(err, CG_ERR_MISSING, "an image needs a name");
            return -1;
        }
        if (name_free(drv, spec->name, err) < 0 ||
            lv_image_create_pending(drv, &ps, &img, err) < 0)
            return -1;
        made = 1;
    }
    snprintf(id, sizeof(id), "%s", img.id);
    if (capture_into(drv, spec, &img, err) < 0 || (made && lv_image_publish(drv, id, err) < 0))
        goto cleanup;
    cg_image_release(&img);
    if ((rc = lv_state_image_get(drv->state, id, &img, NULL, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s vanished", id);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (ret < 0 && made && lv_image_discard(drv, id, &derr) < 0)
        cg_warn("capture: image %s left: %s", id, derr.message);
    if (ret == 0 && out) {
        *out = img;
        memset(&img, 0, sizeof(img));
    }
    cg_image_release(&img);
    return ret;
}
