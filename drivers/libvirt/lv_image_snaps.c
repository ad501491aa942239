/* cloudgate libvirt driver: images and the snapshots of their disks.
 *
 * EC2 ties the two together: an AMI's root device is an EBS snapshot.  Here
 * a published image records a snapshot whose bytes are the image's own
 * volume in the zone that made it (no second copy), and RegisterImage makes
 * an image whose disk is a completed snapshot's volume, used in place.
 * Either way the snapshot is in use while the image lives (DeleteSnapshot
 * answers InvalidSnapshot.InUse) and keeps its bytes after the image is
 * deregistered, as in EC2.  So are the snapshots of the image's further
 * disks (cg_image_mapping), which each launch copies into volumes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_driver.h"
#include "lv_seed.h"
#include "lv_storage.h"

/* spec's further disks into img->mappings, checked: a device vdb..vdz
 * named once, and a completed snapshot in the root's zone (its size when
 * none is given, never less) or, without one, a size.  0 or -1. */
static int take_mappings(cg_drv *drv, const cg_image_spec *spec, const char *zone, cg_image *img,
                         cg_error *err)
{
    cg_snapshot snap;
    size_t i, j;
    int rc;

    if (!spec->n_mappings)
        return 0;
    if (!(img->mappings = calloc(spec->n_mappings, sizeof(*img->mappings)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < spec->n_mappings; i++) {
        cg_image_mapping *m = &img->mappings[i];

        *m = spec->mappings[i];
        img->n_mappings = i + 1;
        if (strlen(m->device) != 3 || strncmp(m->device, "vd", 2) != 0 || m->device[2] < 'b' ||
            m->device[2] > 'z') {
            cg_error_set(err, CG_ERR_INVALID, "device %.8s: further disks are vdb..vdz", m->device);
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(img->mappings[j].device, m->device) == 0) {
                cg_error_set(err, CG_ERR_INVALID, "device %s is mapped more than once", m->device);
                return -1;
            }
        }
        if (!m->snapshot_id[0]) {
            if (!m->size_bytes) {
                cg_error_set(err, CG_ERR_INVALID, "device %s: a snapshot or a size is needed",
                             m->device);
                return -1;
            }
            continue;
        }
        if ((rc = lv_snapstate_get(drv->state, m->snapshot_id, &snap, err)) <= 0) {
            if (rc == 0)
                cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", m->snapshot_id);
            return -1;
        }
        rc = -1;
        if (strcmp(snap.state, "completed") != 0)
            cg_error_set(err, CG_ERR_STATE, "snapshot %s is %s, not completed", snap.id,
                         snap.state);
        else if (strcmp(snap.zone, zone) != 0)
            cg_error_set(err, CG_ERR_INVALID,
                         "snapshot %s (device %s) is in zone %s, the "
                         "root's in %s: an image's disks are in one zone",
                         snap.id, m->device, snap.zone, zone);
        else if (m->size_bytes && m->size_bytes < snap.size_bytes)
            cg_error_set(err, CG_ERR_INVALID, "device %s: snapshot %s needs at least %llu GiB",
                         m->device, snap.id, (snap.size_bytes + (1ULL << 30) - 1) >> 30);
        else
            rc = 0;
        if (!m->size_bytes)
            m->size_bytes = snap.size_bytes;
        cg_snapshot_release(&snap);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int lv_image_register_snapshot(cg_drv *drv, const cg_image_spec *spec, cg_image *out,
                               cg_error *err)
{
    cg_snapshot snap;
    cg_image img;
    virConnectPtr conn = NULL;
    unsigned long long cap = 0;
    char vol[64];
    int claimed = 0, rc, ret = -1;

    memset(&img, 0, sizeof(img));
    if ((rc = lv_snapstate_get(drv->state, spec->snapshot_id, &snap, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", spec->snapshot_id);
        return -1;
    }
    if (strcmp(snap.state, "completed") != 0) {
        cg_error_set(err, CG_ERR_STATE, "snapshot %s is %s, not completed", snap.id, snap.state);
        goto cleanup;
    }
    if (spec->kernel) {
        cg_error_set(err, CG_ERR_INVALID, "an image of a snapshot boots from its disk");
        goto cleanup;
    }
    if (spec->size_bytes && spec->size_bytes < snap.size_bytes) {
        cg_error_set(err, CG_ERR_INVALID,
                     "the root volume of snapshot %s needs at least %llu GiB", snap.id,
                     (snap.size_bytes + (1ULL << 30) - 1) >> 30);
        goto cleanup;
    }
    if (take_mappings(drv, spec, snap.zone, &img, err) < 0)
        goto cleanup;
    /* The bytes must be there before an image promises them. */
    if (lv_snapstate_storage(drv->state, snap.id, vol, sizeof(vol), err) < 0 ||
        !(conn = lv_driver_zone_conn(drv, snap.zone, err)) ||
        lv_storage_find(conn, drv->cfg->storage_pool, vol, &cap, err) < 0)
        goto cleanup;
    cg_new_id(img.id, sizeof(img.id), "ami-");
    /* Claimed before the row: a crash in between leaves an image_id that
     * names no image, which holds nothing. */
    if ((rc = lv_snapstate_claim(drv->state, snap.id, img.id, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_CONFLICT, "snapshot %s is in use by image %s", snap.id,
                         snap.image_id[0] ? snap.image_id : "(another)");
        goto cleanup;
    }
    claimed = 1;
    if (!(img.volume = strdup(vol)) || !(img.name = strdup(spec->name)) ||
        (spec->description && !(img.description = strdup(spec->description))) ||
        (spec->tags && cg_tags_copy(&img.tags, spec->tags) < 0)) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    snprintf(img.architecture, sizeof(img.architecture), "%s",
             spec->architecture ? spec->architecture : "x86_64");
    snprintf(img.state, sizeof(img.state), "available");
    snprintf(img.seed_format, sizeof(img.seed_format), "%s",
             spec->seed_format ? spec->seed_format : LV_SEED_NOCLOUD);
    img.display = spec->display != CG_DISPLAY_DEFAULT ? spec->display : lv_display_default(drv);
    img.created = time(NULL);
    img.size_bytes = spec->size_bytes > cap ? spec->size_bytes : cap;
    /* Not owned: deregistering leaves the disk to the snapshot. */
    if (lv_state_image_add(drv->state, &img, 0, err) < 0)
        goto cleanup;
    snprintf(img.root_snapshot, sizeof(img.root_snapshot), "%s", snap.id);
    snprintf(img.zone, sizeof(img.zone), "%s", snap.zone);
    cg_info("image %s registered from snapshot %s (volume %s in zone %s)", img.id, snap.id, vol,
            snap.zone);
    if (out) {
        *out = img;
        memset(&img, 0, sizeof(img));
    }
    ret = 0;

cleanup:
    if (ret < 0 && claimed)
        lv_snapstate_release_image(drv->state, img.id, NULL);
    if (conn)
        virConnectClose(conn);
    cg_image_release(&img);
    cg_snapshot_release(&snap);
    return ret;
}

void lv_image_record_snapshot(cg_drv *drv, const cg_image *img, const char *zone,
                              unsigned long long size)
{
    cg_snapshot snap;
    cg_error err = {0};

    memset(&snap, 0, sizeof(snap));
    cg_new_id(snap.id, sizeof(snap.id), "snap-");
    /* EC2's names: the instance for CreateImage, "vol-ffffffff" when the
     * disk came from no volume (an import). */
    snprintf(snap.volume_id, sizeof(snap.volume_id), "%s",
             img->source_instance[0] ? img->source_instance : "vol-ffffffff");
    snprintf(snap.zone, sizeof(snap.zone), "%s", zone);
    snprintf(snap.state, sizeof(snap.state), "completed");
    snap.progress = 100;
    snap.size_bytes = size;
    snap.started = time(NULL);
    snprintf(snap.owner, sizeof(snap.owner), "%s", drv->cfg->account_id);
    snprintf(snap.image_id, sizeof(snap.image_id), "%s", img->id);
    if (img->source_instance[0])
        snap.description = cg_asprintf("Created by CreateImage(%s) for %s", img->source_instance,
                                       img->id);
    else
        snap.description = cg_asprintf("Created for %s", img->id);
    /* Without the record the image still works; it only lacks a snapshot. */
    if (!snap.description || lv_snapstate_add_on(drv->state, &snap, img->volume, &err) < 0)
        cg_warn("image %s: no snapshot recorded: %s", img->id,
                snap.description ? err.message : "out of memory");
    else
        cg_info("image %s: root disk recorded as snapshot %s", img->id, snap.id);
    cg_snapshot_release(&snap);
}

/* ---- what a launch of an image makes ---- */

/* The asked disk on dev, or NULL. */
static const cg_launch_disk *asked_for(const cg_launch_disk *asked, size_t n, const char *dev)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(asked[i].device, dev) == 0)
            return &asked[i];
    return NULL;
}

int lv_launch_disks_merge(const cg_image *img, const cg_launch_spec *spec, cg_launch_disk **out,
                          size_t *n_out)
{
    const cg_launch_disk *a;
    cg_launch_disk *d;
    size_t i, n = 0;

    *out = NULL;
    *n_out = 0;
    if (!img->n_mappings && !spec->n_disks)
        return 0;
    if (!(d = calloc(img->n_mappings + spec->n_disks, sizeof(*d))))
        return -1;
    for (i = 0; i < img->n_mappings; i++) {
        const cg_image_mapping *m = &img->mappings[i];

        if (!(a = asked_for(spec->disks, spec->n_disks, m->device))) {
            snprintf(d[n].device, sizeof(d[n].device), "%s", m->device);
            d[n].size_bytes = m->size_bytes;
            d[n].delete_on_termination = m->delete_on_termination;
            d[n].snapshot_id = m->snapshot_id[0] ? m->snapshot_id : NULL;
            d[n++].tags = spec->volume_tags;
        } else if (!a->no_device) {
            /* The request changes the image's disk: what it leaves out
             * comes from the image. */
            d[n] = *a;
            if (!a->snapshot_id && m->snapshot_id[0])
                d[n].snapshot_id = m->snapshot_id;
            if (!a->size_bytes && !a->snapshot_id)
                d[n].size_bytes = m->size_bytes;
            if (!d[n].tags)
                d[n].tags = spec->volume_tags;
            n++;
        }
    }
    for (i = 0; i < spec->n_disks; i++) {
        a = &spec->disks[i];
        if (a->no_device || cg_image_mapping_find(img, a->device))
            continue;
        d[n] = *a;
        if (!d[n].tags)
            d[n].tags = spec->volume_tags;
        n++;
    }
    if (!n) {
        free(d);
        d = NULL;
    }
    *out = d;
    *n_out = n;
    return 0;
}
