/* cloudgate libvirt driver: the steps engine/images.c runs as jobs.
 *
 * A template made by a job is a row in state "pending" first (so EC2 shows
 * it pending and nothing launches it); its disk arrives in the first zone
 * through a disk sink (an upload stream into a new storage volume) or a
 * capture; image_publish copies it to the other zones and makes it
 * "available".  The row names its volume before the volume exists, so a
 * pending row always says what to delete; a volume import has no row until
 * it is whole and is covered by a "volume" intent instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_seed.h"
#include "lv_storage.h"

struct cg_disk_sink {
    char image_id[24];        /* a template's disk, or "" */
    cg_volume vol;            /* a volume import: its record-to-be */
    cg_image_mapping map;     /* a template's further disk (map.device set): */
    cg_snapshot snap;         /* its snapshot's record-to-be */
    char volume[64];          /* the storage volume's name */
    char zone[64];
    virConnectPtr conn;
    virStorageVolPtr sv;
    virStreamPtr st;          /* upload stream, when not fd */
    int fd;                   /* the volume's file, opened here (local zones), or -1 */
    unsigned long long virtual_size, length, written;
};

int lv_image_create_pending(cg_drv *drv, const cg_pending_image_spec *spec, cg_image *out,
                            cg_error *err)
{
    cg_image img;
    int ret = -1;

    memset(&img, 0, sizeof(img));
    if (!spec->name || !*spec->name) {
        cg_error_set(err, CG_ERR_MISSING, "an image needs a name");
        return -1;
    }
    cg_new_id(img.id, sizeof(img.id), "ami-");
    if (!(img.name = strdup(spec->name)) || !(img.volume = strdup("")) ||
        (spec->description && !(img.description = strdup(spec->description))) ||
        (spec->tags && cg_tags_copy(&img.tags, spec->tags) < 0)) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    snprintf(img.architecture, sizeof(img.architecture), "x86_64");
    snprintf(img.state, sizeof(img.state), "pending");
    snprintf(img.seed_format, sizeof(img.seed_format), "%s", LV_SEED_NOCLOUD);
    snprintf(img.job_id, sizeof(img.job_id), "%s", spec->job_id ? spec->job_id : "");
    snprintf(img.source_instance, sizeof(img.source_instance), "%s",
             spec->source_instance ? spec->source_instance : "");
    img.display = spec->display != CG_DISPLAY_DEFAULT ? spec->display : lv_display_default(drv);
    img.created = time(NULL);
    if (lv_state_image_add(drv->state, &img, 1, err) < 0)
        goto cleanup;
    if (out) {
        *out = img;
        memset(&img, 0, sizeof(img));
    }
    ret = 0;

cleanup:
    cg_image_release(&img);
    return ret;
}

/* The pending image id, into img (released by the caller).  0 or -1. */
static int get_pending(cg_drv *drv, const char *id, cg_image *img, cg_error *err)
{
    int rc = lv_state_image_get(drv->state, id, img, NULL, err);

    if (rc <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", id);
        return -1;
    }
    if (strcmp(img->state, "pending") != 0) {
        cg_error_set(err, CG_ERR_STATE, "image %s is %s, not pending", id, img->state);
        cg_image_release(img);
        return -1;
    }
    return 0;
}

/* A zone whose pool files this process can open: its URI names no host. */
static int is_local(lv_host *h)
{
    const char *uri = lv_host_uri(h);

    return strncmp(uri, "qemu:///", 8) == 0;
}

/* The new volume's file, for writing from its start, when it is a plain
 * file here (a dir or fs pool); else -1 and the upload stream is used. */
static int open_local(virStorageVolPtr sv)
{
    virStorageVolInfo info;
    char *path = NULL;
    struct stat sb;
    int fd = -1;

    if (virStorageVolGetInfo(sv, &info) == 0 && info.type == VIR_STORAGE_VOL_FILE &&
        (path = virStorageVolGetPath(sv)) &&
        (fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0 &&
        (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
        close(fd);
        fd = -1;
    }
    virResetLastError();
    free(path);
    return fd;
}

static void sink_free(cg_disk_sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->st)
        virStreamFree(s->st);
    if (s->sv)
        virStorageVolFree(s->sv);
    if (s->conn)
        virConnectClose(s->conn);
    cg_volume_release(&s->vol);
    cg_snapshot_release(&s->snap);
    free(s);
}

/* The record a volume import will have once whole. */
static int sink_volume_record(cg_disk_sink *s, const cg_sink_spec *spec, cg_error *err)
{
    cg_new_id(s->vol.id, sizeof(s->vol.id), "vol-");
    snprintf(s->vol.zone, sizeof(s->vol.zone), "%s", s->zone);
    snprintf(s->vol.state, sizeof(s->vol.state), "available");
    snprintf(s->vol.format, sizeof(s->vol.format), "%s", spec->format);
    s->vol.size_bytes = spec->virtual_size;
    s->vol.created = time(NULL);
    if ((spec->name && !(s->vol.name = strdup(spec->name))) ||
        (spec->description && !(s->vol.description = strdup(spec->description))) ||
        (spec->tags && cg_tags_copy(&s->vol.tags, spec->tags) < 0)) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    snprintf(s->volume, sizeof(s->volume), "%s.%s", s->vol.id,
             strcmp(spec->format, "raw") == 0 ? "img" : "qcow2");
    return 0;
}

/* The record a template's further disk will have once whole: a completed
 * snapshot (as EC2's imports make), the image's mapping on spec->device. */
static int sink_snapshot_record(cg_drv *drv, cg_disk_sink *s, const cg_sink_spec *spec,
                                cg_error *err)
{
    const char *d = spec->device;

    if (strlen(d) != 3 || strncmp(d, "vd", 2) != 0 || d[2] < 'b' || d[2] > 'z') {
        cg_error_set(err, CG_ERR_INVALID, "device %.8s: further disks are vdb..vdz", d);
        return -1;
    }
    snprintf(s->map.device, sizeof(s->map.device), "%s", d);
    s->map.size_bytes = spec->virtual_size;
    s->map.delete_on_termination = 1;
    cg_new_id(s->snap.id, sizeof(s->snap.id), "snap-");
    snprintf(s->map.snapshot_id, sizeof(s->map.snapshot_id), "%s", s->snap.id);
    snprintf(s->snap.volume_id, sizeof(s->snap.volume_id), "vol-ffffffff");
    snprintf(s->snap.zone, sizeof(s->snap.zone), "%s", s->zone);
    snprintf(s->snap.state, sizeof(s->snap.state), "completed");
    snprintf(s->snap.owner, sizeof(s->snap.owner), "%s",
             drv->cfg->account_id ? drv->cfg->account_id : "");
    s->snap.progress = 100;
    s->snap.size_bytes = spec->virtual_size;
    s->snap.started = time(NULL);
    if (!(s->snap.description = cg_asprintf("Created for %s (%s)", spec->image_id, d))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    snprintf(s->volume, sizeof(s->volume), "%s.%s", s->snap.id,
             strcmp(spec->format, "raw") == 0 ? "img" : "qcow2");
    return 0;
}

int lv_disk_sink_open(cg_drv *drv, const cg_sink_spec *spec, cg_disk_sink **out, cg_error *err)
{
    cg_disk_sink *s;
    cg_image img;
    lv_host *h;
    char *xml = NULL;
    const char *type;
    int ret = -1;

    memset(&img, 0, sizeof(img));
    if (!spec->format || (strcmp(spec->format, "qcow2") && strcmp(spec->format, "raw"))) {
        cg_error_set(err, CG_ERR_INVALID, "a disk must be qcow2 or raw");
        return -1;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    s->fd = -1;
    s->virtual_size = spec->virtual_size;
    s->length = spec->length;
    /* A template starts in the first reachable zone; publish copies it on. */
    if (!(h = lv_drv_pick_zone(drv, spec->image_id ? NULL : spec->zone, err)))
        goto cleanup;
    snprintf(s->zone, sizeof(s->zone), "%s", lv_host_zone(h));
    if (spec->image_id && spec->device) {
        /* No row until it is whole: the intent covers the volume. */
        snprintf(s->image_id, sizeof(s->image_id), "%s", spec->image_id);
        if (get_pending(drv, spec->image_id, &img, err) < 0 ||
            sink_snapshot_record(drv, s, spec, err) < 0 ||
            lv_intent_add(drv->state, LV_INTENT_VOLUME, s->snap.id, s->zone, s->volume, err) < 0)
            goto cleanup;
    } else if (spec->image_id) {
        snprintf(s->image_id, sizeof(s->image_id), "%s", spec->image_id);
        snprintf(s->volume, sizeof(s->volume), "%s.%s", spec->image_id,
                 strcmp(spec->format, "raw") == 0 ? "img" : "qcow2");
        /* The row names the volume before it exists: its deletion finds it. */
        if (get_pending(drv, spec->image_id, &img, err) < 0 ||
            lv_state_image_set_state(drv->state, spec->image_id, "pending", NULL, s->volume,
                                     spec->virtual_size, err) < 0)
            goto cleanup;
    } else if (sink_volume_record(s, spec, err) < 0 ||
               lv_intent_add(drv->state, LV_INTENT_VOLUME, s->vol.id, s->zone, s->volume, err) <
                   0) {
        goto cleanup;
    }
    /* A connection of its own: on the zone's shared one (event callbacks
     * registered) every stream message goes through libvirt's client event
     * loop thread, which made uploads 3x slower than virsh vol-upload.  A
     * test:///FILE world exists only in the shared connection. */
    if (strncmp(lv_host_uri(h), "test:", 5) == 0)
        s->conn = lv_host_conn(h, err);
    else if (!(s->conn = virConnectOpen(lv_host_uri(h))))
        lv_report(err, NULL, CG_ERR_UNAVAILABLE, "zone %s: connect to %s", s->zone,
                  lv_host_uri(h));
    if (!s->conn ||
        !(xml = lv_volxml_build(s->volume, spec->virtual_size, spec->format, NULL, NULL, err)))
        goto cleanup;
    {
        virStoragePoolPtr p = virStoragePoolLookupByName(s->conn, drv->cfg->storage_pool);

        if (p) {
            s->sv = virStorageVolCreateXML(p, xml, 0);
            virStoragePoolFree(p);
        }
        if (!s->sv) {
            lv_report(err, s->conn, CG_ERR_INTERNAL, "create volume '%s'", s->volume);
            goto cleanup;
        }
    }
    /* libvirt's test driver keeps volumes without contents (no upload). */
    type = lv_conn_type(s->conn);
    if (type && strcmp(type, "TEST") == 0) {
        /* nothing to write to */
    } else if (is_local(h) && (s->fd = open_local(s->sv)) >= 0) {
        /* The volume's file is on this host: written directly, as curl
         * would write a file (libvirt's RPC stream is a third as fast);
         * libvirt re-reads the volume at finish. */
    } else if (!(s->st = virStreamNew(s->conn, 0)) ||
               virStorageVolUpload(s->sv, s->st, 0, spec->length, 0) < 0) {
        lv_report(err, s->conn, CG_ERR_INTERNAL, "upload into volume '%s'", s->volume);
        goto cleanup;
    }
    *out = s;
    s = NULL;
    ret = 0;

cleanup:
    if (s)
        lv_disk_sink_abort(drv, s);
    cg_image_release(&img);
    free(xml);
    return ret;
}

int lv_disk_sink_write(cg_drv *drv, cg_disk_sink *s, const void *buf, size_t len, cg_error *err)
{
    size_t off = 0;

    if (s->written + len > s->length) {
        cg_error_set(err, CG_ERR_INVALID, "more data than the announced %llu bytes", s->length);
        return -1;
    }
    while (s->fd >= 0 && off < len) {
        ssize_t n = write(s->fd, (const char *)buf + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "writing volume '%s': %s", s->volume,
                         strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    /* A blocking stream may take less than offered. */
    while (s->st && off < len) {
        int n = virStreamSend(s->st, (const char *)buf + off, len - off);

        if (n < 0) {
            lv_report(err, s->conn, CG_ERR_INTERNAL, "writing volume '%s'", s->volume);
            return -1;
        }
        off += (size_t)n;
    }
    s->written += len;
    return 0;
}

int lv_disk_sink_finish(cg_drv *drv, cg_disk_sink *s, char *out_volume_id, size_t len,
                        cg_error *err)
{
    int ret = -1;

    if (s->written != s->length) {
        cg_error_set(err, CG_ERR_INVALID, "got %llu of %llu bytes", s->written, s->length);
        goto cleanup;
    }
    if (s->st && virStreamFinish(s->st) < 0) {
        lv_report(err, s->conn, CG_ERR_INTERNAL, "finish writing volume '%s'", s->volume);
        goto cleanup;
    }
    if (s->st) {
        virStreamFree(s->st);
        s->st = NULL;
    }
    if (s->fd >= 0) {
        virStorageVolInfo info;

        /* The file ends where the image ends (qemu-img made a longer one);
         * then libvirt re-reads the volume (GetInfo refreshes it).  No
         * fdatasync, as libvirt's own upload: the page cache survives a
         * gateway crash, and a host crash loses the libvirt volume too. */
        if (ftruncate(s->fd, (off_t)s->length) < 0 ||
            close(s->fd) < 0) {
            s->fd = -1;
            cg_error_set(err, CG_ERR_INTERNAL, "finish writing volume '%s': %s", s->volume,
                         strerror(errno));
            goto cleanup;
        }
        s->fd = -1;
        if (virStorageVolGetInfo(s->sv, &info) < 0) {
            lv_report(err, s->conn, CG_ERR_INTERNAL, "volume '%s'", s->volume);
            goto cleanup;
        }
    }
    if (s->map.device[0]) {
        /* The rows are the commit point of a further disk. */
        if (lv_snapstate_add_mapped(drv->state, &s->snap, s->volume, s->image_id, &s->map, err) < 0)
            goto cleanup;
        lv_intent_done(drv->state, s->snap.id);
        cg_info("image %s: disk %s stored as snapshot %s (%llu bytes) in zone %s", s->image_id,
                s->map.device, s->snap.id, s->virtual_size, s->zone);
    } else if (!s->image_id[0]) {
        /* The row is the commit point of a volume import. */
        if (lv_volstate_add(drv->state, &s->vol, err) < 0)
            goto cleanup;
        lv_intent_done(drv->state, s->vol.id);
        cg_info("volume %s imported (%s, %llu bytes) in zone %s", s->vol.id, s->vol.format,
                s->virtual_size, s->zone);
    }
    if (out_volume_id)
        snprintf(out_volume_id, len, "%s",
                 s->map.device[0] ? s->snap.id
                 : s->image_id[0] ? s->volume
                                  : s->vol.id);
    sink_free(s);
    return 0;

cleanup:
    lv_disk_sink_abort(drv, s);
    return ret;
}

void lv_disk_sink_abort(cg_drv *drv, cg_disk_sink *s)
{
    if (!s)
        return;
    if (s->st) {
        virStreamAbort(s->st);
        virStreamFree(s->st);
        s->st = NULL;
    }
    if (s->sv && virStorageVolDelete(s->sv, 0) < 0) {
        /* Its intent stays: the next start removes it. */
        cg_warn("import: volume %s left in zone %s: %s", s->volume, s->zone,
                virGetLastErrorMessage());
    } else if (!s->image_id[0] && s->vol.id[0]) {
        lv_intent_done(drv->state, s->vol.id);
    } else if (s->map.device[0]) {
        lv_intent_done(drv->state, s->snap.id);
    }
    sink_free(s);
}

/* The local file of volume name in conn's pool, or NULL. */
static char *local_file(cg_drv *drv, virConnectPtr conn, const char *name)
{
    char *path = lv_storage_path(conn, drv->cfg->storage_pool, name, NULL);

    if (path && access(path, R_OK) < 0) {
        free(path);
        path = NULL;
    }
    return path;
}

/* Into out (n files, each set or NULL): the pending image's further disks,
 * the snapshots its job made, in the zone of conn.  0 or -1. */
static int mapping_files(cg_drv *drv, virConnectPtr conn, const cg_image *img, cg_disk_paths *out,
                         cg_error *err)
{
    char name[64];
    size_t i;

    for (i = 0; i < img->n_mappings; i++) {
        const char *sid = img->mappings[i].snapshot_id;
        size_t k = out->n;

        if (!sid[0])
            continue;
        if (lv_snapstate_storage(drv->state, sid, name, sizeof(name), err) < 0)
            return -1;
        if (!(out->path[k] = local_file(drv, conn, name))) {
            cg_error_set(err, CG_ERR_UNSUPPORTED, "snapshot %s of image %s is not in a local file",
                         sid, img->id);
            return -1;
        }
        out->n++;
        if (!(out->format[k] = strdup(strstr(name, ".img") ? "raw" : "qcow2"))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return -1;
        }
    }
    return 0;
}

int lv_image_disk_paths(cg_drv *drv, const char *image_id, cg_disk_paths *out, cg_error *err)
{
    cg_image img;
    virConnectPtr conn = NULL;
    char *path = NULL;
    size_t i;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if ((rc = lv_state_image_get(drv->state, image_id, &img, NULL, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", image_id);
        return -1;
    }
    for (i = 0; i < drv->n_hosts && !path; i++) {
        if (!is_local(drv->hosts[i]) || !(conn = lv_host_conn(drv->hosts[i], NULL)))
            continue;
        if (!(path = local_file(drv, conn, img.volume))) {
            virConnectClose(conn);
            conn = NULL;
        }
    }
    if (!path) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no zone holds image %s's disk in a local file",
                     image_id);
        goto cleanup;
    }
    /* The root first: virt-sysprep and inspection see the guest's disks
     * in the order it has them. */
    if (!(out->path = calloc(1 + img.n_mappings, sizeof(char *))) ||
        !(out->format = calloc(1 + img.n_mappings, sizeof(char *))) ||
        !(out->format[0] = strdup(strstr(img.volume, ".img") ? "raw" : "qcow2"))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    out->path[0] = path;
    out->n = 1;
    path = NULL;
    /* Only while the job makes it: a published image's snapshots may back
     * other images and volumes, and nothing seals them then. */
    if (strcmp(img.state, "pending") == 0 && mapping_files(drv, conn, &img, out, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    if (ret < 0)
        cg_disk_paths_release(out); /* frees what was allocated (NULLs are fine) */
    if (conn)
        virConnectClose(conn);
    free(path);
    cg_image_release(&img);
    return ret;
}

int lv_image_set_os(cg_drv *drv, const char *image_id, const cg_os_info *os, cg_error *err)
{
    if (!os)
        return 0;
    if (lv_state_image_set_os(drv->state, image_id, os, err) < 0)
        return -1;
    /* Windows guests read their seed with cloudbase-init, which knows
     * OpenStack's config drive; everything else gets NoCloud. */
    if (strcmp(os->type, "windows") == 0)
        return lv_state_image_set_seed_format(drv->state, image_id, LV_SEED_CONFIGDRIVE, err);
    return 0;
}

int lv_image_publish(cg_drv *drv, const char *image_id, cg_error *err)
{
    cg_image img;
    lv_host *src = NULL;
    virConnectPtr conn = NULL;
    unsigned long long cap;
    int *made = NULL, ret = -1;
    size_t i;

    if (get_pending(drv, image_id, &img, err) < 0)
        return -1;
    if (!img.volume[0]) {
        cg_error_set(err, CG_ERR_STATE, "image %s has no disk yet", image_id);
        goto cleanup;
    }
    if (!(made = calloc(drv->n_hosts, sizeof(*made)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    /* The zone that holds the disk: the first one where the volume exists. */
    for (i = 0; i < drv->n_hosts && !src; i++) {
        if (!(conn = lv_host_conn(drv->hosts[i], NULL)))
            continue;
        if (lv_storage_find(conn, drv->cfg->storage_pool, img.volume, &cap, NULL) == 0) {
            src = drv->hosts[i];
        } else {
            virConnectClose(conn);
            conn = NULL;
        }
    }
    if (!src) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "image %s: volume %s is in no zone", image_id,
                     img.volume);
        goto cleanup;
    }
    /* made[] marks the copies this call makes: only those go on failure. */
    if (lv_image_replicate(drv, src, conn, img.volume, made, err) < 0)
        goto cleanup;
    if (lv_state_image_set_state(drv->state, image_id, "available", NULL, NULL, 0, err) < 0)
        goto cleanup;
    cg_info("image %s available: '%s'", image_id, img.name);
    lv_image_record_snapshot(drv, &img, lv_host_zone(src), cap);
    ret = 0;

cleanup:
    if (ret < 0 && made)
        lv_image_unplace(drv, img.volume, drv->n_hosts, made);
    if (conn)
        virConnectClose(conn);
    free(made);
    cg_image_release(&img);
    return ret;
}
