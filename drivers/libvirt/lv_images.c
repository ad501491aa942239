/* cloudgate libvirt driver: images (templates). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_driver.h"
#include "lv_seed.h"
#include "lv_storage.h"

int lv_image_list(cg_drv *drv, cg_image_list *out, cg_error *err)
{
    size_t first = out->n;
    cg_image_list mine;

    if (lv_state_image_list(drv->state, out, err) < 0)
        return -1;
    /* Only the images this call appended. */
    mine.v = out->v + first;
    mine.n = out->n - first;
    return lv_snapstate_image_roots(drv->state, &mine, err);
}

/* Copy a local file to dst (created, must not exist).  0 or -1 (reported). */
static int copy_file(const char *src, const char *dst, cg_error *err)
{
    char buf[65536];
    ssize_t n;
    int in = -1, out = -1, ret = -1;

    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "cannot read %s: %s", src, strerror(errno));
        goto cleanup;
    }
    if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot create %s: %s", dst, strerror(errno));
        goto cleanup;
    }
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        ssize_t off = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "reading %s: %s", src, strerror(errno));
            goto cleanup;
        }
        while (off < n) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                cg_error_set(err, CG_ERR_INTERNAL, "writing %s: %s", dst, strerror(errno));
                goto cleanup;
            }
            off += w;
        }
    }
    if (close(out) < 0) {
        out = -1;
        cg_error_set(err, CG_ERR_INTERNAL, "writing %s: %s", dst, strerror(errno));
        goto cleanup;
    }
    out = -1;
    ret = 0;

cleanup:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (ret < 0)
        unlink(dst);
    return ret;
}

void lv_image_unplace(cg_drv *drv, const char *volume, size_t n, const int *made)
{
    virConnectPtr conn;
    size_t i;

    for (i = 0; i < n; i++) {
        if ((!made || made[i]) && (conn = lv_host_conn(drv->hosts[i], NULL))) {
            lv_storage_delete(conn, drv->cfg->storage_pool, volume, NULL);
            virConnectClose(conn);
        }
    }
}

void lv_image_remove_boot_files(cg_drv *drv, const char *id)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/images/%s/kernel", drv->cfg->state_dir, id);
    unlink(path);
    snprintf(path, sizeof(path), "%s/images/%s/initrd", drv->cfg->state_dir, id);
    unlink(path);
    snprintf(path, sizeof(path), "%s/images/%s", drv->cfg->state_dir, id);
    rmdir(path);
}

int lv_image_copy_boot_files(cg_drv *drv, const char *kernel, const char *initrd,
                             cg_image *img, cg_error *err)
{
    char *dir = NULL;
    int ret = -1;

    if (!kernel)
        return 0;
    if (!(dir = cg_asprintf("%s/images/%s", drv->cfg->state_dir, img->id)) ||
        !(img->kernel = cg_asprintf("%s/kernel", dir)) ||
        (initrd && !(img->initrd = cg_asprintf("%s/initrd", dir)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (cg_mkdir_p(dir, 0755) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot create %s: %s", dir, strerror(errno));
        goto cleanup;
    }
    if (copy_file(kernel, img->kernel, err) < 0 ||
        (initrd && copy_file(initrd, img->initrd, err) < 0))
        goto cleanup;
    ret = 0;

cleanup:
    free(dir);
    return ret;
}

static int check_spec(const cg_image_spec *spec, cg_error *err)
{
    if (!spec->name || !*spec->name) {
        cg_error_set(err, CG_ERR_MISSING, "an image needs a name");
        return -1;
    }
    if ((spec->disk_path != NULL) + (spec->volume != NULL) + (spec->snapshot_id != NULL) != 1) {
        cg_error_set(err, CG_ERR_INVALID, "give exactly one of a disk file, a volume or a "
                                          "snapshot");
        return -1;
    }
    if (!spec->kernel && (spec->initrd || spec->cmdline)) {
        cg_error_set(err, CG_ERR_INVALID, "an initrd or kernel command line needs a kernel");
        return -1;
    }
    if (spec->kernel && access(spec->kernel, R_OK) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "cannot read kernel %s: %s", spec->kernel,
                     strerror(errno));
        return -1;
    }
    if (!lv_seed_format_ok(spec->seed_format)) {
        cg_error_set(err, CG_ERR_INVALID, "seed format '%s' is not one of %s, %s, %s",
                     spec->seed_format, LV_SEED_NOCLOUD, LV_SEED_CONFIGDRIVE, LV_SEED_IMDS);
        return -1;
    }
    if (spec->initrd && access(spec->initrd, R_OK) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "cannot read initrd %s: %s", spec->initrd,
                     strerror(errno));
        return -1;
    }
    return 0;
}

int lv_image_register(cg_drv *drv, const cg_image_spec *spec, cg_image *out, cg_error *err)
{
    cg_image img;
    const char *format = NULL;
    unsigned long long capacity = 0, size = 0;
    virConnectPtr conn;
    size_t i, uploaded = 0;
    int boot_files = 0, ret = -1;

    memset(&img, 0, sizeof(img));
    if (check_spec(spec, err) < 0)
        return -1;
    if (spec->snapshot_id)
        return lv_image_register_snapshot(drv, spec, out, err);
    if (spec->n_mappings) {
        cg_error_set(err, CG_ERR_INVALID,
                     "further disks are made from snapshots: register "
                     "the image from a root snapshot");
        return -1;
    }
    cg_new_id(img.id, sizeof(img.id), "ami-");
    if (spec->disk_path) {
        if (lv_storage_probe(spec->disk_path, &format, &size, err) < 0)
            goto cleanup;
        img.volume = cg_asprintf("%s.%s", img.id, strcmp(format, "qcow2") ? "img" : "qcow2");
    } else {
        img.volume = strdup(spec->volume);
    }
    if (!img.volume || !(img.name = strdup(spec->name)) ||
        (spec->description && !(img.description = strdup(spec->description))) ||
        (spec->cmdline && !(img.cmdline = strdup(spec->cmdline)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    /* Every zone must hold the template: an instance may land in any. */
    for (i = 0; i < drv->n_hosts; i++) {
        int rc;

        if (!(conn = lv_host_conn(drv->hosts[i], err)))
            goto cleanup;
        if (spec->disk_path)
            rc = lv_storage_upload(conn, drv->cfg->storage_pool, img.volume, spec->disk_path,
                                   &capacity, err);
        else
            rc = lv_storage_find(conn, drv->cfg->storage_pool, img.volume, &capacity, err);
        virConnectClose(conn);
        if (rc < 0)
            goto cleanup;
        if (spec->disk_path)
            uploaded = i + 1;
        if (i == 0)
            size = capacity;
    }
    boot_files = 1;
    if (lv_image_copy_boot_files(drv, spec->kernel, spec->initrd, &img, err) < 0)
        goto cleanup;
    snprintf(img.architecture, sizeof(img.architecture), "x86_64");
    snprintf(img.state, sizeof(img.state), "available");
    img.display = spec->display != CG_DISPLAY_DEFAULT ? spec->display : lv_display_default(drv);
    snprintf(img.seed_format, sizeof(img.seed_format), "%s",
             spec->seed_format ? spec->seed_format : LV_SEED_NOCLOUD);
    img.created = time(NULL);
    img.size_bytes = size;
    if (lv_state_image_add(drv->state, &img, spec->disk_path != NULL, err) < 0)
        goto cleanup;
    cg_info("image %s registered: '%s', volume %s", img.id, img.name, img.volume);
    if (out) {
        *out = img;
        memset(&img, 0, sizeof(img));
    }
    ret = 0;

cleanup:
    if (ret < 0) {
        /* Nothing of a failed registration stays behind. */
        lv_image_unplace(drv, img.volume, uploaded, NULL);
        if (boot_files)
            lv_image_remove_boot_files(drv, img.id);
    }
    cg_image_release(&img);
    return ret;
}

/* Into buf: "i-a, i-b" naming the instances that are not terminated (the
 * caches hold only those) launched from image_id.  Returns their number,
 * or -1 (OOM). */
static long image_users(cg_drv *drv, const char *image_id, char *buf, size_t len, cg_error *err)
{
    cg_instance_list all = {0};
    size_t i, used = 0;
    int full = 0;
    long n = 0;

    buf[0] = '\0';
    for (i = 0; i < drv->n_hosts; i++) {
        /* A zone we cannot see may hold users: do not guess. */
        if (!lv_host_available(drv->hosts[i])) {
            cg_error_set(err, CG_ERR_UNAVAILABLE,
                         "zone %s is unreachable: cannot tell whether instances there use "
                         "image %s", lv_host_zone(drv->hosts[i]), image_id);
            cg_instance_list_release(&all);
            return -1;
        }
        if (lv_cache_snapshot(lv_host_cache(drv->hosts[i]), &all) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            cg_instance_list_release(&all);
            return -1;
        }
    }
    for (i = 0; i < all.n; i++) {
        if (strcmp(all.v[i].image_id, image_id) != 0 || all.v[i].state == CG_STATE_TERMINATED)
            continue;
        n++;
        /* Room is kept for ", ..." when the names do not all fit. */
        if (!full && used + strlen(all.v[i].id) + 8 < len) {
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", all.v[i].id);
        } else if (!full) {
            snprintf(buf + used, len - used, ", ...");
            full = 1;
        }
    }
    cg_instance_list_release(&all);
    return n;
}

/* Into keep: the zone whose copy of img's disk a snapshot owns, or "".
 * 0 or -1. */
static int keeper_zone(cg_drv *drv, cg_image *img, char *keep, size_t len, cg_error *err)
{
    cg_image_list one = {.v = img, .n = 1};
    cg_snapshot snap;
    char vol[64];
    int rc;

    keep[0] = '\0';
    /* image_roots writes only root_snapshot and zone: img is ours. */
    one.v->root_snapshot[0] = '\0';
    if (lv_snapstate_image_roots(drv->state, &one, err) < 0)
        return -1;
    if (!img->root_snapshot[0])
        return 0;
    if ((rc = lv_snapstate_get(drv->state, img->root_snapshot, &snap, err)) <= 0)
        return rc;
    if (lv_snapstate_storage(drv->state, snap.id, vol, sizeof(vol), err) == 0 &&
        strcmp(vol, img->volume) == 0)
        snprintf(keep, len, "%s", snap.zone);
    cg_snapshot_release(&snap);
    return 0;
}

/* pending: 1 removes only a pending image (its job's rollback), 0 only
 * one that is not (a job is still making it: cancel the job instead).
 * Into own_snap: the snapshot recorded for the image (its bytes are the
 * image's volume), or "".  Called with image_use_lock held alone. */
static int image_remove(cg_drv *drv, const char *image_id, int pending, char own_snap[24],
                        cg_error *err)
{
    cg_image img;
    virConnectPtr conn;
    cg_error derr;
    char users[512], keep[64];
    long n_users;
    size_t i;
    int owned = 0, rc, ret = -1;

    rc = lv_state_image_get(drv->state, image_id, &img, &owned, err);
    if (rc <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", image_id);
        return -1;
    }
    if ((strcmp(img.state, "pending") == 0) != pending) {
        if (pending)
            cg_error_set(err, CG_ERR_STATE, "image %s is %s, not pending", image_id, img.state);
        else
            cg_error_set(err, CG_ERR_STATE,
                         "image %s is pending: job %s is making it (cancel the job instead)",
                         image_id, img.job_id[0] ? img.job_id : "(unknown)");
        goto cleanup;
    }
    /* Unlike EC2, where an instance's root volume is a full copy, our
     * instances' disks are thin overlays on the template's volume (and
     * direct-boot ones use its kernel): removing it under them would break
     * them, so we refuse until they are terminated. */
    if ((n_users = image_users(drv, image_id, users, sizeof(users), err)) < 0)
        goto cleanup;
    if (n_users > 0) {
        cg_error_set(err, CG_ERR_STATE,
                     "Image %s is in use by instance%s %s (their disks are overlays on it); "
                     "terminate them first",
                     image_id, n_users > 1 ? "s" : "", users);
        goto cleanup;
    }
    /* The snapshot recorded when the image was published keeps the disk
     * in its zone: it outlives the image, as in EC2. */
    if ((rc = keeper_zone(drv, &img, keep, sizeof(keep), err)) < 0 ||
        lv_state_image_delete(drv->state, image_id, err) < 0)
        goto cleanup;
    /* Never an operator's volume that image-register only pointed at. */
    if (keep[0] && owned)
        memcpy(own_snap, img.root_snapshot, sizeof(img.root_snapshot));
    /* After the row: a crash in between leaves a stale image_id, which
     * holds nothing (lv_snapstate.c). */
    if (lv_snapstate_release_image(drv->state, image_id, &derr) < 0)
        cg_warn("image %s: snapshots not released: %s", image_id, derr.message);
    for (i = 0; owned && img.volume[0] && i < drv->n_hosts; i++) {
        if (strcmp(lv_host_zone(drv->hosts[i]), keep) == 0)
            continue;
        cg_error_clear(&derr);
        if (!(conn = lv_host_conn(drv->hosts[i], &derr)) ||
            lv_storage_delete(conn, drv->cfg->storage_pool, img.volume, &derr) < 0)
            cg_warn("image %s: volume %s left in zone %s: %s", image_id, img.volume,
                    lv_host_zone(drv->hosts[i]), derr.message);
        if (conn)
            virConnectClose(conn);
    }
    lv_image_remove_boot_files(drv, image_id);
    /* A pending image's further disks are snapshots its job made for it
     * (capture, conversion): they go with it.  A published image's stay,
     * as in EC2. */
    for (i = 0; pending && i < img.n_mappings; i++) {
        const char *sid = img.mappings[i].snapshot_id;

        cg_error_clear(&derr);
        if (sid[0] && lv_snapshot_delete(drv, sid, 1, &derr) < 0 && derr.kind != CG_ERR_NOT_FOUND)
            cg_warn("image %s: snapshot %s left: %s", image_id, sid, derr.message);
    }
    cg_info("image %s %s", image_id, pending ? "removed (its job did not finish)" : "deregistered");
    ret = 0;

cleanup:
    cg_image_release(&img);
    return ret;
}

static int image_remove_alone(cg_drv *drv, const char *image_id, int pending, char own_snap[24],
                              cg_error *err)
{
    int ret;

    own_snap[0] = '\0';
    /* No launch may read the image while we look for its users. */
    pthread_rwlock_wrlock(&drv->image_use_lock);
    ret = image_remove(drv, image_id, pending, own_snap, err);
    pthread_rwlock_unlock(&drv->image_use_lock);
    return ret;
}

int lv_image_deregister(cg_drv *drv, const char *image_id, cg_error *err)
{
    char own_snap[24];

    return image_remove_alone(drv, image_id, 0, own_snap, err);
}

int lv_image_delete(cg_drv *drv, const char *image_id, cg_error *err)
{
    char own_snap[24];
    cg_error derr = {0};

    if (image_remove_alone(drv, image_id, 0, own_snap, err) < 0)
        return -1;
    /* The image is gone whatever happens here; a snapshot registered as
     * another image meanwhile stays (in use). */
    if (own_snap[0] && lv_snapshot_delete(drv, own_snap, 0, &derr) < 0)
        cg_warn("image %s: its snapshot %s stays: %s", image_id, own_snap, derr.message);
    else if (own_snap[0])
        cg_info("image %s: its snapshot %s deleted with it", image_id, own_snap);
    return 0;
}

int lv_image_discard(cg_drv *drv, const char *image_id, cg_error *err)
{
    char own_snap[24];

    return image_remove_alone(drv, image_id, 1, own_snap, err);
}

/* lv_image_tags under tags_lock. */
static int image_tags_locked(cg_drv *drv, const char *image_id, const cg_tags *tags,
                             int remove, cg_error *err)
{
    cg_image img;
    size_t i;
    int rc, ret = -1;

    rc = lv_state_image_get(drv->state, image_id, &img, NULL, err);
    if (rc <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", image_id);
        return -1;
    }
    for (i = 0; tags && i < tags->n; i++) {
        if (remove) {
            cg_tags_remove(&img.tags, tags->v[i].key, tags->v[i].value);
        } else if (cg_tags_set(&img.tags, tags->v[i].key, tags->v[i].value) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    ret = lv_state_image_set_tags(drv->state, image_id, &img.tags, err);

cleanup:
    cg_image_release(&img);
    return ret;
}

int lv_image_tags(cg_drv *drv, const char *image_id, const cg_tags *tags, int remove,
                  cg_error *err)
{
    int ret;

    /* Read-modify-write of the stored set: one edit at a time. */
    pthread_mutex_lock(&drv->tags_lock);
    ret = image_tags_locked(drv, image_id, tags, remove, err);
    pthread_mutex_unlock(&drv->tags_lock);
    return ret;
}

/* ---- attributes (ModifyImageAttribute) ---- */

/* Most account ids one image lists: bounds the stored text. */
#define LV_LAUNCH_USERS_MAX 1000
#define LV_ACCOUNT_ID_LEN 12

typedef char lv_account[LV_ACCOUNT_ID_LEN + 1];

static int account_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int account_find(const lv_account *v, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v[i], id) == 0)
            return (int)i;
    }
    return -1;
}

/* The launch users after chg, applied to stored (space-separated, may be
 * NULL): adds, then removes.  A malloc'd sorted space-separated string
 * ("" for none) or NULL (reported). */
static char *launch_users_edit(const char *stored, const cg_image_change *chg, cg_error *err)
{
    size_t n_old = 0, n = 0, i, cap;
    lv_account *v = NULL;
    const char *p;
    char *out = NULL;
    int at;

    for (p = stored; p && *p; p++)
        n_old += *p == ' ';
    cap = (stored && *stored ? n_old + 1 : 0) + chg->n_add_users + 1;
    if (!(v = calloc(cap, sizeof(*v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (p = stored; p && *p;) {
        size_t w = strcspn(p, " ");

        if (w == LV_ACCOUNT_ID_LEN)
            snprintf(v[n++], sizeof(v[0]), "%.*s", (int)w, p);
        p += w + (p[w] == ' ');
    }
    for (i = 0; i < chg->n_add_users; i++) {
        if (strlen(chg->add_users[i]) != LV_ACCOUNT_ID_LEN) {
            cg_error_set(err, CG_ERR_INVALID, "'%.32s' is not an account id", chg->add_users[i]);
            goto cleanup;
        }
        if (account_find(v, n, chg->add_users[i]) < 0)
            snprintf(v[n++], sizeof(v[0]), "%s", chg->add_users[i]);
    }
    for (i = 0; i < chg->n_remove_users; i++) {
        if ((at = account_find(v, n, chg->remove_users[i])) >= 0)
            memmove(v[at], v[--n], sizeof(v[0]));
    }
    if (n > LV_LAUNCH_USERS_MAX) {
        cg_error_set(err, CG_ERR_INVALID, "an image may list at most %d account ids",
                     LV_LAUNCH_USERS_MAX);
        goto cleanup;
    }
    qsort(v, n, sizeof(v[0]), account_cmp);
    if (!(out = calloc(n ? n * (LV_ACCOUNT_ID_LEN + 1) : 1, 1))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    /* Fixed-width entries: id i at i * 13, a space after all but the last. */
    for (i = 0; i < n; i++) {
        memcpy(out + i * (LV_ACCOUNT_ID_LEN + 1), v[i], LV_ACCOUNT_ID_LEN);
        if (i + 1 < n)
            out[i * (LV_ACCOUNT_ID_LEN + 1) + LV_ACCOUNT_ID_LEN] = ' ';
    }

cleanup:
    free(v);
    return out;
}

/* lv_image_modify under tags_lock (a read-modify-write of the row). */
static int image_modify_locked(cg_drv *drv, const char *image_id, const cg_image_change *chg,
                               cg_image *out, cg_error *err)
{
    cg_image img;
    char *users = NULL;
    int is_public, rc, ret = -1;

    rc = lv_state_image_get(drv->state, image_id, &img, NULL, err);
    if (rc <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", image_id);
        return -1;
    }
    is_public = chg->reset_launch ? 0 : img.is_public;
    if (chg->set_public >= 0)
        is_public = chg->set_public;
    if (!(users = launch_users_edit(chg->reset_launch ? NULL : img.launch_users, chg, err)))
        goto cleanup;
    if (lv_state_image_set_access(drv->state, image_id,
                                  chg->description ? chg->description : img.description, is_public,
                                  users, err) < 0)
        goto cleanup;
    if (out && (rc = lv_state_image_get(drv->state, image_id, out, NULL, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", image_id);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(users);
    cg_image_release(&img);
    return ret;
}

int lv_image_modify(cg_drv *drv, const char *image_id, const cg_image_change *chg, cg_image *out,
                    cg_error *err)
{
    int ret;

    pthread_mutex_lock(&drv->tags_lock);
    ret = image_modify_locked(drv, image_id, chg, out, err);
    pthread_mutex_unlock(&drv->tags_lock);
    return ret;
}
