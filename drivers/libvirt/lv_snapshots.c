/* cloudgate libvirt driver: snapshots (EBS snapshots) of a volume or of an
 * instance's root disk, and volumes made from them.
 *
 * A snapshot's bytes are the standalone qcow2 volume "<snap-id>.qcow2" in
 * its zone's pool; its record is a row of the snapshots table
 * (lv_snapstate.c).  The copy is point in time and crash-consistent:
 *  - a disk of a running domain is copied by libvirt's push-mode backup
 *    (virDomainBackupBegin): qemu copies the disk as it was when the job
 *    started while the guest keeps running, never paused;
 *  - any other disk (volume not attached, instance not running, another
 *    snapshot) is copied with virStorageVolCreateXMLFrom (qemu-img convert,
 *    flattened: no backing chain into the source).
 * libvirt's test driver has no backup API: a running disk's copy fails
 * there, as capture's block copy does, and the job rolls back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_driver.h"
#include "lv_storage.h"

/* Bound on one backup job; qemu copies a sparse 10 GiB disk in seconds. */
#define BACKUP_WAIT_SEC 3600.0

/* Where a snapshot's bytes come from. */
typedef struct snap_source {
    char storage[64];       /* the storage volume in the zone's pool */
    char domain[24];        /* the running domain using it, "" when none */
    char target[16];        /* its disk target in that domain ("vdb") */
} snap_source;

/* The copy's reporting: progress into the row (DescribeSnapshots reads
 * it) and to the caller; the caller's cancel. */
typedef struct copy_ctx {
    cg_drv *drv;
    const char *id;
    cg_progress_fn progress;
    cg_cancelled_fn cancelled;
    void *arg;
    int pct;                /* last stored; -1 none yet */
} copy_ctx;

static void report(copy_ctx *cc, unsigned long long done, unsigned long long total)
{
    int pct = total ? (int)(done * 100.0 / total) : 0;

    if (pct > 99)
        pct = 99; /* 100 is "completed", set with the state */
    if (pct != cc->pct && lv_snapstate_progress(cc->drv->state, cc->id, pct, NULL) == 0)
        cc->pct = pct;
    if (cc->progress)
        cc->progress(done, total, cc->arg);
}

static int stop_asked(copy_ctx *cc, cg_error *err)
{
    if (cc->cancelled && cc->cancelled(cc->arg)) {
        cg_error_set(err, CG_ERR_STATE, "cancelled");
        return 1;
    }
    return 0;
}

static void snap_storage(const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s.qcow2", id);
}

static void volume_storage(const cg_volume *vol, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", vol->id, strcmp(vol->format, "raw") == 0 ? "img" : "qcow2");
}

static int snapshot_get(cg_drv *drv, const char *id, cg_snapshot *out, cg_error *err)
{
    int rc = lv_snapstate_get(drv->state, id, out, err);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", id);
    return rc == 1 ? 0 : -1;
}

int lv_snapshot_list(cg_drv *drv, cg_snapshot_list *out, cg_error *err)
{
    memset(out, 0, sizeof(*out));
    if (lv_snapstate_list(drv->state, out, err) < 0) {
        cg_snapshot_list_release(out);
        return -1;
    }
    return 0;
}

/* The instance id (not terminated) into *inst; 0 or -1 (CG_ERR_NOT_FOUND). */
static int instance_get(cg_drv *drv, const char *id, cg_instance *inst, cg_error *err)
{
    lv_host *h = lv_instance_take_live(drv, id, inst, err);

    if (!h)
        return -1;
    lv_cache_release(lv_host_cache(h), id);
    return 0;
}

/* Zone and size of the source into snap.  0 or -1 (reported). */
static int source_describe(cg_drv *drv, const char *source, cg_snapshot *snap, cg_error *err)
{
    cg_volume vol;
    cg_instance inst;
    cg_snapshot src;
    virConnectPtr conn = NULL;
    char name[64];
    int rc, ret = -1;

    if (strncmp(source, "vol-", 4) == 0) {
        if ((rc = lv_volstate_get(drv->state, source, &vol, err)) <= 0) {
            if (rc == 0)
                cg_error_set(err, CG_ERR_NOT_FOUND, "volume %s does not exist", source);
            return -1;
        }
        snprintf(snap->zone, sizeof(snap->zone), "%s", vol.zone);
        snap->size_bytes = vol.size_bytes;
        cg_volume_release(&vol);
        return 0;
    }
    if (strncmp(source, "snap-", 5) == 0) {
        if (snapshot_get(drv, source, &src, err) < 0)
            return -1;
        if (strcmp(src.state, "completed") != 0) {
            cg_error_set(err, CG_ERR_STATE, "snapshot %s is %s, not completed", source,
                         src.state);
        } else {
            snprintf(snap->zone, sizeof(snap->zone), "%s", src.zone);
            snprintf(snap->volume_id, sizeof(snap->volume_id), "%s", src.volume_id);
            snprintf(snap->copy_of, sizeof(snap->copy_of), "%s", src.id);
            snap->size_bytes = src.size_bytes;
            ret = 0;
        }
        cg_snapshot_release(&src);
        return ret;
    }
    if (strncmp(source, "i-", 2) != 0) {
        cg_error_set(err, CG_ERR_INVALID, "'%.32s' is not a volume, instance or snapshot",
                     source);
        return -1;
    }
    if (instance_get(drv, source, &inst, err) < 0)
        return -1;
    snprintf(snap->zone, sizeof(snap->zone), "%s", inst.zone);
    snprintf(name, sizeof(name), "%s.qcow2", inst.id);
    if ((conn = lv_driver_zone_conn(drv, inst.zone, err)) &&
        lv_storage_find(conn, drv->cfg->storage_pool, name, &snap->size_bytes, err) == 0)
        ret = 0;
    if (conn)
        virConnectClose(conn);
    cg_instance_release(&inst);
    return ret;
}

int lv_snapshot_create_pending(cg_drv *drv, const cg_snapshot_spec *spec, cg_snapshot *out,
                               cg_error *err)
{
    cg_snapshot snap;
    int ret = -1;

    memset(&snap, 0, sizeof(snap));
    if (!spec->source_id || strlen(spec->source_id) >= sizeof(snap.volume_id)) {
        cg_error_set(err, CG_ERR_MISSING, "a volume, instance or snapshot to copy is required");
        return -1;
    }
    snprintf(snap.volume_id, sizeof(snap.volume_id), "%s", spec->source_id);
    if (source_describe(drv, spec->source_id, &snap, err) < 0)
        goto cleanup;
    cg_new_id(snap.id, sizeof(snap.id), "snap-");
    snprintf(snap.state, sizeof(snap.state), "pending");
    snprintf(snap.owner, sizeof(snap.owner), "%s",
             drv->cfg->account_id ? drv->cfg->account_id : "");
    snprintf(snap.job_id, sizeof(snap.job_id), "%s", spec->job_id ? spec->job_id : "");
    snap.started = time(NULL);
    if ((spec->description && !(snap.description = strdup(spec->description))) ||
        cg_tags_copy(&snap.tags, spec->tags) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (lv_snapstate_add(drv->state, &snap, err) < 0)
        goto cleanup;
    cg_info("snapshot %s of %s pending (%llu bytes)", snap.id, snap.volume_id, snap.size_bytes);
    if (out) {
        *out = snap;
        memset(&snap, 0, sizeof(snap));
    }
    ret = 0;

cleanup:
    cg_snapshot_release(&snap);
    return ret;
}

/* Is domain id running (or paused) now?  1, 0 (also when it is gone), or
 * -1 (reported). */
static int domain_running(virConnectPtr conn, const char *id, cg_error *err)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);
    int active = 0;

    if (!dom) {
        if (lv_last_error_code() == VIR_ERR_NO_DOMAIN)
            return 0;
        lv_report(err, conn, CG_ERR_INTERNAL, "domain %s", id);
        return -1;
    }
    if ((active = virDomainIsActive(dom)) < 0)
        lv_report(err, conn, CG_ERR_INTERNAL, "domain %s", id);
    virDomainFree(dom);
    return active;
}

/* Where snap's bytes come from, now (a volume may have been attached or its
 * instance started since the request).  0 or -1. */
static int source_locate(cg_drv *drv, virConnectPtr conn, const cg_snapshot *snap,
                         snap_source *src, cg_error *err)
{
    cg_volume vol;
    int rc;

    memset(src, 0, sizeof(*src));
    if (snap->copy_of[0])
        return lv_snapstate_storage(drv->state, snap->copy_of, src->storage,
                                    sizeof(src->storage), err);
    if (strncmp(snap->volume_id, "vol-", 4) == 0) {
        if ((rc = lv_volstate_get(drv->state, snap->volume_id, &vol, err)) <= 0) {
            if (rc == 0)
                cg_error_set(err, CG_ERR_NOT_FOUND, "volume %s was deleted", snap->volume_id);
            return -1;
        }
        volume_storage(&vol, src->storage, sizeof(src->storage));
        snprintf(src->domain, sizeof(src->domain), "%s", vol.attached_to);
        snprintf(src->target, sizeof(src->target), "%s", vol.device);
        cg_volume_release(&vol);
    } else {
        snprintf(src->storage, sizeof(src->storage), "%s.qcow2", snap->volume_id);
        snprintf(src->domain, sizeof(src->domain), "%s", snap->volume_id);
        snprintf(src->target, sizeof(src->target), "vda");
    }
    if (src->domain[0] && (rc = domain_running(conn, src->domain, err)) <= 0) {
        if (rc < 0)
            return -1;
        src->domain[0] = src->target[0] = '\0';
    }
    return 0;
}

/* The disk targets of dom's live definition (malloc'd array of n strings). */
static int disk_targets(virConnectPtr conn, virDomainPtr dom, char ***out, int *n,
                        cg_error *err)
{
    char *xml = virDomainGetXMLDesc(dom, 0);
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr obj = NULL;
    int i, ret = -1;

    *out = NULL;
    *n = 0;
    if (!xml) {
        lv_report(err, conn, CG_ERR_INTERNAL, "domain %s", virDomainGetName(dom));
        return -1;
    }
    doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || !(ctx = xmlXPathNewContext(doc)) ||
        !(obj = xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk/target/@dev", ctx))) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot read the domain XML libvirt returned");
        goto cleanup;
    }
    if (obj->nodesetval && obj->nodesetval->nodeNr > 0 &&
        !(*out = calloc((size_t)obj->nodesetval->nodeNr, sizeof(**out)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
        xmlChar *dev = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);

        (*out)[(*n)++] = dev ? strdup((char *)dev) : NULL;
        xmlFree(dev);
    }
    ret = 0;

cleanup:
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    free(xml);
    return ret;
}

/* <domainbackup><disks>: target backed up into path (qcow2), every other
 * disk backup='no'.  malloc'd or NULL (reported). */
static char *backup_xml(char **disks, int n, const char *target, const char *path,
                        cg_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = NULL, list = NULL, d, t;
    xmlChar *buf = NULL;
    char *xml = NULL;
    int i, len = 0, ok, found = 0;

    ok = doc && (root = xmlNewNode(NULL, BAD_CAST "domainbackup")) &&
         (xmlDocSetRootElement(doc, root), 1) &&
         (list = xmlNewChild(root, NULL, BAD_CAST "disks", NULL));
    for (i = 0; ok && i < n; i++) {
        int mine;

        if (!disks[i])
            continue;
        mine = strcmp(disks[i], target) == 0;
        found |= mine;
        ok = (d = xmlNewChild(list, NULL, BAD_CAST "disk", NULL)) &&
             xmlNewProp(d, BAD_CAST "name", BAD_CAST disks[i]) &&
             xmlNewProp(d, BAD_CAST "backup", BAD_CAST(mine ? "yes" : "no"));
        if (ok && mine)
            ok = xmlNewProp(d, BAD_CAST "type", BAD_CAST "file") &&
                 (t = xmlNewChild(d, NULL, BAD_CAST "target", NULL)) &&
                 xmlNewProp(t, BAD_CAST "file", BAD_CAST path) &&
                 (t = xmlNewChild(d, NULL, BAD_CAST "driver", NULL)) &&
                 xmlNewProp(t, BAD_CAST "type", BAD_CAST "qcow2");
    }
    if (ok && !found)
        cg_error_set(err, CG_ERR_STATE, "the domain has no disk %s", target);
    else if (ok)
        xmlDocDumpMemory(doc, &buf, &len);
    if (ok && found && (!buf || !(xml = strdup((const char *)buf))))
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    if (!ok)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    xmlFree(buf);
    xmlFreeDoc(doc);
    return xml;
}

/* One look at the domain's job: 1 still running (done and total updated),
 * 0 ended well, -1 ended badly or could not be read (reported). */
static int backup_poll(virConnectPtr conn, virDomainPtr dom, unsigned long long *done,
                       unsigned long long *total, cg_error *err)
{
    virTypedParameterPtr params = NULL;
    const char *msg = NULL;
    int type = 0, n = 0, op = 0, ret = -1;

    if (virDomainGetJobStats(dom, &type, &params, &n, 0) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "backup job of %s", virDomainGetName(dom));
        return -1;
    }
    if (type != VIR_DOMAIN_JOB_NONE) {
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, done);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_TOTAL, total);
        ret = 1;
        goto cleanup;
    }
    /* Ended: the completed job's record says how. */
    virTypedParamsFree(params, n);
    params = NULL;
    n = 0;
    if (virDomainGetJobStats(dom, &type, &params, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "backup job of %s", virDomainGetName(dom));
        goto cleanup;
    }
    virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &op);
    virTypedParamsGetString(params, n, VIR_DOMAIN_JOB_ERRMSG, &msg);
    if (type == VIR_DOMAIN_JOB_COMPLETED && (op == 0 || op == VIR_DOMAIN_JOB_OPERATION_BACKUP)) {
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, done);
        ret = 0;
    } else if (type == VIR_DOMAIN_JOB_NONE && *total && *done == *total) {
        ret = 0; /* no record kept, but the last look saw every byte copied */
    } else {
        cg_error_set(err, CG_ERR_INTERNAL, "the backup of %s failed: %s",
                     virDomainGetName(dom), msg ? msg : "the job ended without a result");
    }

cleanup:
    virTypedParamsFree(params, n);
    return ret;
}

/* Copy disk src->target of the running domain into the existing volume at
 * path with a push-mode backup; the guest is never paused.  0 or -1. */
static int copy_backup(virConnectPtr conn, const snap_source *src, const char *path,
                       copy_ctx *cc, cg_error *err)
{
    virDomainPtr dom = NULL;
    char **disks = NULL, *xml = NULL;
    unsigned long long done = 0, total = 0;
    double start = cg_monotonic(), deadline = start + BACKUP_WAIT_SEC;
    int i, n = 0, rc, started = 0, ret = -1;

    if (!(dom = lv_domain_get(conn, src->domain, err)) ||
        disk_targets(conn, dom, &disks, &n, err) < 0 ||
        !(xml = backup_xml(disks, n, src->target, path, err)))
        goto cleanup;
    /* REUSE_EXTERNAL: the target volume was made through the pool. */
    if (virDomainBackupBegin(dom, xml, NULL, VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "back up disk %s of %s", src->target,
                  src->domain);
        goto cleanup;
    }
    started = 1;
    while ((rc = backup_poll(conn, dom, &done, &total, err)) == 1) {
        report(cc, done, total);
        if (stop_asked(cc, err))
            goto cleanup;
        if (cg_monotonic() > deadline) {
            cg_error_set(err, CG_ERR_INTERNAL, "the backup of %s took over %.0f s",
                         src->target, BACKUP_WAIT_SEC);
            goto cleanup;
        }
        /* Small sparse disks finish in a fraction of a second: look often
         * at first, then less. */
        usleep(cg_monotonic() - start < 2.0 ? 20000 : 200000);
    }
    started = 0;
    if (rc < 0)
        goto cleanup;
    report(cc, total, total);
    ret = 0;

cleanup:
    if (started && virDomainAbortJob(dom) < 0)
        cg_warn("backup of %s: job not aborted: %s", src->target, virGetLastErrorMessage());
    for (i = 0; i < n; i++)
        free(disks[i]);
    free(disks);
    free(xml);
    if (dom)
        virDomainFree(dom);
    return ret;
}

int lv_snapshot_copy(cg_drv *drv, const char *snapshot_id, cg_progress_fn progress,
                     cg_cancelled_fn cancelled, void *arg, cg_error *err)
{
    copy_ctx cc = {drv, snapshot_id, progress, cancelled, arg, -1};
    cg_snapshot snap;
    snap_source src;
    virConnectPtr conn = NULL;
    unsigned long long cap = 0;
    char name[64], *path = NULL;
    int made = 0, ret = -1;

    if (snapshot_get(drv, snapshot_id, &snap, err) < 0)
        return -1;
    if (strcmp(snap.state, "pending") != 0) {
        cg_error_set(err, CG_ERR_STATE, "snapshot %s is %s", snapshot_id, snap.state);
        goto cleanup;
    }
    snap_storage(snap.id, name, sizeof(name));
    if (!(conn = lv_driver_zone_conn(drv, snap.zone, err)) ||
        source_locate(drv, conn, &snap, &src, err) < 0)
        goto cleanup;
    if (stop_asked(&cc, err))
        goto cleanup;
    if (src.domain[0]) {
        cg_info("snapshot %s: backing up disk %s of running %s", snap.id, src.target,
                src.domain);
        made = !!(path = lv_storage_create(conn, drv->cfg->storage_pool, name, snap.size_bytes,
                                           "qcow2", err));
        if (!made || copy_backup(conn, &src, path, &cc, err) < 0)
            goto cleanup;
    } else {
        cg_info("snapshot %s: copying %s", snap.id, src.storage);
        if (lv_storage_clone(conn, drv->cfg->storage_pool, src.storage, name, &cap, err) < 0)
            goto cleanup;
        made = 1;
        report(&cc, cap, cap);
    }
    if (stop_asked(&cc, err))
        goto cleanup;
    if (lv_snapstate_complete(drv->state, snap.id, err) < 0)
        goto cleanup;
    cg_info("snapshot %s completed", snap.id);
    ret = 0;

cleanup:
    if (ret < 0 && made && lv_storage_delete(conn, drv->cfg->storage_pool, name, NULL) < 0)
        cg_warn("snapshot %s: partial volume %s not removed", snapshot_id, name);
    if (conn)
        virConnectClose(conn);
    free(path);
    cg_snapshot_release(&snap);
    return ret;
}

/* A pending snapshot being rolled back after a crash: the backup job the
 * dead gateway started may still run in qemu, writing into the volume
 * about to go and blocking the next backup of that domain.  Stop it. */
static void abort_orphan_backup(cg_drv *drv, virConnectPtr conn, const cg_snapshot *snap)
{
    virTypedParameterPtr params = NULL;
    virDomainPtr dom = NULL;
    snap_source src;
    cg_error ignored = {0};
    int type = 0, n = 0, op = 0;

    if (source_locate(drv, conn, snap, &src, &ignored) < 0 || !src.domain[0] ||
        !(dom = lv_domain_get(conn, src.domain, &ignored)))
        goto cleanup;
    if (virDomainGetJobStats(dom, &type, &params, &n, 0) == 0 && type != VIR_DOMAIN_JOB_NONE &&
        virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &op) == 1 &&
        op == VIR_DOMAIN_JOB_OPERATION_BACKUP) {
        if (virDomainAbortJob(dom) == 0)
            cg_info("snapshot %s: aborted the backup job left on %s", snap->id, src.domain);
        else
            cg_warn("snapshot %s: backup job on %s not aborted: %s", snap->id, src.domain,
                    virGetLastErrorMessage());
    }

cleanup:
    virTypedParamsFree(params, n);
    if (dom)
        virDomainFree(dom);
    virResetLastError();
}

int lv_snapshot_delete(cg_drv *drv, const char *snapshot_id, int force, cg_error *err)
{
    cg_snapshot snap;
    virConnectPtr conn = NULL;
    char name[64];
    int intent = 0, rc, ret = -1;

    if (snapshot_get(drv, snapshot_id, &snap, err) < 0)
        return -1;
    if (!snap.image_id[0] &&
        (rc = lv_state_image_mapping_user(drv->state, snapshot_id, snap.image_id,
                                          sizeof(snap.image_id), err)) < 0)
        goto cleanup;
    if (snap.image_id[0]) {
        cg_error_set(err, CG_ERR_CONFLICT, "snapshot %s is in use by %s", snapshot_id,
                     snap.image_id);
        goto cleanup;
    }
    if (!force && strcmp(snap.state, "pending") == 0) {
        cg_error_set(err, CG_ERR_STATE, "snapshot %s is still pending", snapshot_id);
        goto cleanup;
    }
    if (lv_snapstate_storage(drv->state, snap.id, name, sizeof(name), err) < 0)
        goto cleanup;
    if (!(conn = lv_driver_zone_conn(drv, snap.zone, err)))
        goto cleanup;
    if (strcmp(snap.state, "pending") == 0)
        abort_orphan_backup(drv, conn, &snap);
    /* A crash between the row and the volume: start-up removes the volume. */
    if (lv_intent_add(drv->state, LV_INTENT_VOLUME, snap.id, snap.zone, name, err) < 0)
        goto cleanup;
    intent = 1;
    /* The row goes first, conditionally: an image taking the snapshot
     * meanwhile keeps it. */
    if ((rc = lv_snapstate_delete(drv->state, snapshot_id, force, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_STATE, "snapshot %s changed meanwhile", snapshot_id);
        goto cleanup;
    }
    if (lv_storage_delete(conn, drv->cfg->storage_pool, name, err) < 0) {
        cg_error e = {0};

        if (lv_snapstate_add_on(drv->state, &snap, name, &e) < 0)
            cg_err("snapshot %s: record lost after a failed delete: %s", snapshot_id,
                   e.message);
        goto cleanup;
    }
    cg_info("snapshot %s deleted", snapshot_id);
    ret = 0;

cleanup:
    if (intent)
        lv_intent_done(drv->state, snapshot_id);
    if (conn)
        virConnectClose(conn);
    cg_snapshot_release(&snap);
    return ret;
}

int lv_snapshot_tags(cg_drv *drv, const char *snapshot_id, const cg_tags *tags, int remove,
                     cg_error *err)
{
    return lv_snapstate_tags(drv->state, snapshot_id, tags, remove, err);
}

char *lv_snapshot_restore(cg_drv *drv, virConnectPtr conn, const char *snapshot_id,
                          const char *name, unsigned long long capacity, const char *format,
                          cg_error *err)
{
    char src[64];

    if (lv_snapstate_storage(drv->state, snapshot_id, src, sizeof(src), err) < 0)
        return NULL;
    return lv_storage_clone_grown(conn, drv->cfg->storage_pool, src, name, capacity, format,
                                  err);
}
