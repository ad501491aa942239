/* cloudgate libvirt driver: crash safety.  At start-up each zone is
 * reconciled with the database before it takes work.
 *
 * What a SIGKILL between two steps leaves behind, and the rule that repairs it
 * (kill point -> leftover -> rule):
 *
 * RunInstances, asynchronous (the request: launch intent with the instance's
 * metadata, cache entry, NIC and security group rows, client token finished;
 * then a launch worker: overlay, seed row, seed ISO, define, user-data row,
 * start, intent dropped):
 *   intent left, domain running -> the launch had started it -> adopt;
 *   intent left, anything less (still queued, or cut short in the worker) ->
 *     delete domain, volumes, rows, log and record the instance (from the
 *     intent's metadata) as terminated, "Server.InternalError: ...": the
 *     client that was answered pending sees it end as a failed launch.
 * RunInstances of an earlier version (synchronous; per instance: overlay,
 * seed row, seed ISO, define, user-data row, start; then the client token
 * is finished; intent data: the token):
 *   before the domain is defined -> overlay and/or seed ISO, seed row, console
 *     log, no domain -> delete them all;
 *   defined, not started -> a stopped domain nobody asked for -> delete it and
 *     its volumes and rows;
 *   started, token (if any) not finished -> with a token: delete (the client
 *     retries with the token and gets a fresh launch); without one the
 *     instance is whole and running -> adopt;
 *   token finished -> adopt;
 *   token claimed, no instance yet -> a token that says "in progress" forever
 *     -> drop every unfinished token of the zone.
 * CreateImage / capture (pause, new volume ami-X.qcow2, block copy, resume,
 *   copy to other zones, boot files, image row):
 *   before the row -> a template volume without image, maybe a block job
 *     still mirroring and the instance left paused -> abort the job, resume
 *     the instance if the capture paused it, delete volume and boot files;
 *   row written -> the image is whole -> keep it.
 * CreateVolume (storage volume, then row) and DeleteVolume (row, then storage):
 *   between the two -> vol-X volume without a row -> delete it: it was never
 *   announced (create) or its deletion was asked for (delete); nobody can
 *   name it, so adopting it would only leak a disk.
 * AttachVolume (row claims the volume, then libvirt attaches) and
 * DetachVolume (libvirt detaches, then the row lets go):
 *   between the two -> a row says attached, the domain has no such disk ->
 *   fix the row from libvirt (libvirt is the truth for disks).
 * TerminateInstances (destroy, undefine, release volumes, delete overlay,
 *   seed, log, record the terminated instance):
 *   before the undefine -> the instance is still there (maybe stopped) ->
 *     keep it: the client may terminate again;
 *   after -> volumes, rows and files of a gone instance -> finish the
 *     termination (from the domain XML kept with the intent).
 * CIMI machine create (the request launches, the job attaches and reaches
 *   initialState): the launch is RunInstances above; the job is failed and
 *   rolled back by its owner's recovery hook (gateway/jobs.c).
 * Independent of any intent: a volume row whose storage volume is gone, and
 *   an image row whose volume is gone, are removed (the image only with one
 *   zone: with several, a zone lacking it is only logged).
 *
 * The scheme: an operation that makes libvirt objects first writes an intent
 * row (kind, the id it names its objects by, zone, data) and drops it once
 * its commit point is reached (the token, image or volume row).  Only
 * objects named by an intent, or by this gateway's own rows, are touched:
 * several gateways may share one libvirtd and pool (the test hosts do), so
 * an unknown i-* or vol-* volume is never taken for ours.  An intent found at
 * start-up belongs to a dead process: nothing else writes this database then.
 *
 * Only the process holding STATE_DIR/reconcile.lock reconciles: the admin CLI
 * opens the driver too, while the daemon runs, and must not undo the
 * daemon's operations in flight.  It runs once per zone, on the first
 * successful connection (lv_host_hooks.connected); a reconnect later skips it, as
 * the intents then are this process's own live operations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <sqlite3.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_imds.h"
#include "lv_seed.h"
#include "lv_storage.h"
#include "lv_sg.h"
#include "lv_vpc.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS intents ("
    " name TEXT PRIMARY KEY, kind TEXT NOT NULL, zone TEXT NOT NULL,"
    " data TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);";

typedef struct intent {
    char name[192];   /* a filter's "cg-sg-<id>@<zone>" is longer than an instance id */
    char kind[16];
    char *data;
} intent;

/* ---- the intents table ---- */

int lv_intent_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = 0;

    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: intents: %s", sqlite3_errmsg(db));
        ret = -1;
    }
    lv_state_db_unlock(st);
    return ret;
}

/* Run sql with text arguments; rows changed or -1 (reported when err). */
static int db_change(lv_state *st, const char *sql, const char *const *args, int n,
                     cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = NULL;
    int i, ret = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        goto cleanup;
    for (i = 0; i < n; i++)
        sqlite3_bind_text(s, i + 1, args[i], -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_DONE)
        ret = sqlite3_changes(db);

cleanup:
    if (ret < 0)
        cg_error_set(err, CG_ERR_INTERNAL, "database: intents: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    lv_state_db_unlock(st);
    return ret;
}

int lv_intent_add(lv_state *st, const char *kind, const char *name, const char *zone,
                  const char *data, cg_error *err)
{
    char now[24];
    const char *args[] = {name, kind, zone, data ? data : "", now};

    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    return db_change(st,
                     "INSERT OR REPLACE INTO intents (name, kind, zone, data, created)"
                     " VALUES (?, ?, ?, ?, CAST(? AS INTEGER))",
                     args, 5, err) < 0 ? -1 : 0;
}

void lv_intent_done(lv_state *st, const char *name)
{
    const char *args[] = {name};
    cg_error err = {0};

    /* A row left behind is repaired at the next start: only logged. */
    if (db_change(st, "DELETE FROM intents WHERE name = ?", args, 1, &err) < 0)
        cg_warn("%s: %s", name, err.message);
}

/* The intents of zone, oldest first (caller frees v[i].data and v). */
static int intents_of(lv_state *st, const char *zone, intent **out, size_t *n)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = NULL;
    intent *v = NULL, *grown;
    size_t cap = 0;
    int rc, ret = -1;

    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT name, kind, data FROM intents WHERE zone = ?"
                               " ORDER BY created, rowid", -1, &s, NULL) != SQLITE_OK)
        goto cleanup;
    sqlite3_bind_text(s, 1, zone, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            if (!(grown = realloc(v, cap * sizeof(*v))))
                goto cleanup;
            v = grown;
        }
        snprintf(v[*n].name, sizeof(v[*n].name), "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(v[*n].kind, sizeof(v[*n].kind), "%s", (const char *)sqlite3_column_text(s, 1));
        if (!(v[*n].data = strdup((const char *)sqlite3_column_text(s, 2))))
            goto cleanup;
        (*n)++;
    }
    ret = rc == SQLITE_DONE ? 0 : -1;

cleanup:
    if (ret < 0)
        cg_err("reconcile: cannot read the intents: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    lv_state_db_unlock(st);
    *out = v;
    return ret;
}

/* 1 when client token `token` recorded its instances (the launch finished). */
static int token_finished(lv_state *st, const char *token)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = NULL;
    int done = 0;

    if (sqlite3_prepare_v2(db, "SELECT instance_ids FROM client_tokens WHERE token = ?", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, token, -1, SQLITE_TRANSIENT);
        done = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
               *sqlite3_column_text(s, 0);
    }
    sqlite3_finalize(s);
    lv_state_db_unlock(st);
    return done;
}

/* ---- repairs ---- */

/* Delete volume name from the zone's pool, logged when it was there. */
static void drop_volume(cg_drv *drv, virConnectPtr conn, const char *name, const char *why)
{
    cg_error err = {0};
    int rc, tries = 0;

    /* A create the dead gateway asked for goes on inside libvirtd, which
     * refuses to delete the volume until its allocation ends: wait for it
     * (bounded), or the volume would outlive the intent that names it. */
    while ((rc = lv_storage_delete(conn, drv->cfg->storage_pool, name, &err)) < 0 &&
           strstr(err.message, "being allocated") && ++tries < 100) {
        cg_error_clear(&err);
        usleep(100 * 1000);
    }
    if (rc > 0)
        cg_info("reconcile: removed orphan volume %s (%s)", name, why);
    else if (rc < 0)
        cg_warn("reconcile: volume %s stays: %s", name, err.message);
}

/* Everything of instance id but its domain: volumes, rows, log, cache. */
static void drop_instance_rest(cg_drv *drv, lv_host *h, virConnectPtr conn, const char *id,
                               const char *why)
{
    char name[64], path[4096];

    snprintf(name, sizeof(name), "%s.qcow2", id);
    drop_volume(drv, conn, name, why);
    lv_seed_volume_name(id, name, sizeof(name));
    drop_volume(drv, conn, name, why);
    lv_volumes_release_instance(drv, id);
    lv_sg_instance_gone(drv, conn, id);
    lv_state_seed_delete(drv->state, id, NULL);
    lv_state_user_data_delete(drv->state, id, NULL);
    lv_drv_console_path(drv, id, path, sizeof(path));
    unlink(path);
    lv_cache_remove(lv_host_cache(h), id);
}

/* Remove instance id's domain (if any) and the rest.  0, or -1 when the
 * domain stays (the intent is kept for the next start). */
static int drop_instance(cg_drv *drv, lv_host *h, virConnectPtr conn, const char *id,
                         const char *why)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);
    cg_error err = {0};

    if (dom) {
        virDomainFree(dom);
        if (lv_domain_remove(conn, id, &err) < 0) {
            cg_warn("reconcile: instance %s stays: %s", id, err.message);
            return -1;
        }
        cg_info("reconcile: removed domain %s (%s)", id, why);
    }
    virResetLastError();
    drop_instance_rest(drv, h, conn, id, why);
    return 0;
}

/* An asynchronous launch cut short (queued or in a worker): started (its
 * last step) is adopted, anything less is removed and recorded as a
 * terminated instance with the cause.  data: lv_launch_intent_data. */
static int fix_queued_launch(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it,
                             int active)
{
    cg_instance inst;
    cg_error err = {0};

    if (active) {
        cg_info("reconcile: adopted instance %s (its launch had started it)", it->name);
        return 0;
    }
    if (drop_instance(drv, h, conn, it->name, "launch interrupted") < 0)
        return -1;
    lv_netstate_nic_delete(drv->state, it->name);
    lv_imds_forget(drv->state, it->name);
    memset(&inst, 0, sizeof(inst));
    if (lv_domxml_parse(it->data, &inst, &err) == 1) {
        snprintf(inst.zone, sizeof(inst.zone), "%s", lv_host_zone(h));
        inst.state = CG_STATE_TERMINATED;
        inst.state_time = time(NULL);
        snprintf(inst.state_reason, sizeof(inst.state_reason), "%s",
                 "Server.InternalError: launch failed: the gateway restarted before it ended");
        if (lv_state_terminated_add(drv->state, &inst, &err) < 0)
            cg_warn("reconcile: %s: %s", it->name, err.message);
    }
    cg_instance_release(&inst);
    cg_info("reconcile: instance %s terminated (its launch was interrupted)", it->name);
    return 0;
}

/* A launch that did not reach its end.  data: lv_launch_intent_data, or
 * (a synchronous launch of an earlier version) its client token or "". */
/* 1 when id is recorded terminated: a launch that failed and was answered
 * so, its undo cut short (lv_launch_undo kept the intent). */
static int failed_launch(cg_drv *drv, const char *id)
{
    cg_instance inst;
    int rc = lv_state_terminated_get(drv->state, id, &inst, NULL);

    if (rc == 1)
        cg_instance_release(&inst);
    return rc == 1;
}

static int fix_launch(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it)
{
    virDomainPtr dom;
    int active;

    /* Never adopted, even started: it is terminated for every client. */
    if (failed_launch(drv, it->name))
        return drop_instance(drv, h, conn, it->name, "its launch had failed");
    dom = virDomainLookupByName(conn, it->name);
    active = dom && virDomainIsActive(dom) == 1;
    if (dom)
        virDomainFree(dom);
    virResetLastError();
    if (it->data[0] == '<')
        return fix_queued_launch(drv, h, conn, it, active);
    /* Whole (started, the last step) and either no token to finish or a
     * token that names it already: an instance like any other. */
    if ((it->data[0] && token_finished(drv->state, it->data)) || (!it->data[0] && active)) {
        cg_info("reconcile: adopted instance %s (its launch had finished)", it->name);
        return 0;
    }
    return drop_instance(drv, h, conn, it->name, "launch interrupted");
}

/* A capture without its image row.  data: "<instance-id>[ pause]". */
static int fix_capture(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it)
{
    cg_image img;
    char inst[32] = "", src[64], vol[sizeof(((intent *)0)->name) + 8], *path = NULL;
    virDomainPtr dom = NULL;
    virDomainBlockJobInfo info;
    int state, reason, rc;

    memset(&img, 0, sizeof(img));
    rc = lv_state_image_get(drv->state, it->name, &img, NULL, NULL);
    /* A pending row is a capture job's: the engine's recovery deletes it. */
    if (rc == 1 && strcmp(img.state, "pending") != 0) {
        cg_image_release(&img);
        cg_info("reconcile: kept image %s (its capture had finished)", it->name);
        return 0;
    }
    cg_image_release(&img);
    if (rc < 0)
        return -1;
    sscanf(it->data, "%31s", inst);
    snprintf(src, sizeof(src), "%s.qcow2", inst);
    if (inst[0] && (dom = virDomainLookupByName(conn, inst)) && virDomainIsActive(dom) == 1) {
        /* libvirtd outlives us: a mirror job may still write the copy. */
        path = lv_storage_path(conn, drv->cfg->storage_pool, src, NULL);
        if (path && virDomainGetBlockJobInfo(dom, path, &info, 0) == 1) {
            if (virDomainBlockJobAbort(dom, path, 0) == 0)
                cg_info("reconcile: ended the disk copy job of %s (capture interrupted)", inst);
            else
                cg_warn("reconcile: copy job of %s: %s", inst, virGetLastErrorMessage());
        }
        if (strstr(it->data, " pause") && virDomainGetState(dom, &state, &reason, 0) == 0 &&
            state == VIR_DOMAIN_PAUSED) {
            if (virDomainResume(dom) == 0)
                cg_info("reconcile: resumed instance %s (paused by an interrupted capture)",
                        inst);
            else
                cg_warn("reconcile: %s stays paused: %s", inst, virGetLastErrorMessage());
            lv_power_sync(lv_host_cache(h), dom, inst);
        }
    }
    if (dom)
        virDomainFree(dom);
    virResetLastError();
    free(path);
    snprintf(vol, sizeof(vol), "%s.qcow2", it->name);
    drop_volume(drv, conn, vol, "capture interrupted, no image");
    if ((path = cg_asprintf("%s/%s.capture", drv->cfg->state_dir, vol))) {
        unlink(path);
        free(path);
    }
    lv_image_remove_boot_files(drv, it->name);
    return 0;
}

/* A volume created or deleted halfway.  data: the storage volume's name. */
static int fix_volume(cg_drv *drv, virConnectPtr conn, const intent *it)
{
    int snap = strncmp(it->name, "snap-", 5) == 0;
    cg_volume vol;
    cg_snapshot s;
    int rc;

    /* A snapshot's bytes are named by its row in the snapshots table. */
    if (snap && (rc = lv_snapstate_get(drv->state, it->name, &s, NULL)) == 1)
        cg_snapshot_release(&s);
    else if (!snap && (rc = lv_volstate_get(drv->state, it->name, &vol, NULL)) == 1)
        cg_volume_release(&vol);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    drop_volume(drv, conn, it->data, snap ? "no snapshot record" : "no volume record");
    return 0;
}

/* A terminate cut short: finished.  Its intent is written before the
 * domain is touched, and TerminateInstances may have answered
 * shutting-down already (engine/instance_ops.h), so the instance goes
 * whether or not its domain was removed; it is recorded as terminated from
 * the definition the intent kept, or from the domain's own. */
static int fix_terminate(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it)
{
    virDomainPtr dom = virDomainLookupByName(conn, it->name);
    char *xml = NULL;
    cg_instance inst;
    cg_error err = {0};

    memset(&inst, 0, sizeof(inst));
    if (dom) {
        xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        virDomainFree(dom);
    }
    virResetLastError();
    if (drop_instance(drv, h, conn, it->name, "instance terminated") < 0) {
        free(xml);
        return -1; /* the domain stays: tried again at the next start */
    }
    if (lv_domxml_parse(it->data && it->data[0] ? it->data : xml ? xml : "", &inst, &err) == 1) {
        snprintf(inst.zone, sizeof(inst.zone), "%s", lv_host_zone(h));
        inst.state = CG_STATE_TERMINATED;
        inst.state_time = time(NULL);
        inst.private_ip[0] = '\0';
        lv_user_initiated(inst.state_reason, sizeof(inst.state_reason));
        if (lv_state_terminated_add(drv->state, &inst, &err) < 0)
            cg_warn("reconcile: %s: %s", it->name, err.message);
    }
    cg_instance_release(&inst);
    free(xml);
    cg_info("reconcile: finished terminating instance %s", it->name);
    return 0;
}

/* Called for each intent of the zone: 0 when the operation is now finished
 * or undone (the intent goes), -1 when it stays. */
typedef int (*intent_fix_fn)(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it);

static void each_intent(cg_drv *drv, lv_host *h, virConnectPtr conn, intent_fix_fn fix)
{
    intent *v = NULL;
    size_t i, n = 0;

    if (intents_of(drv->state, lv_host_zone(h), &v, &n) == 0) {
        for (i = 0; i < n; i++)
            if (fix(drv, h, conn, &v[i]) == 0)
                lv_intent_done(drv->state, v[i].name);
    }
    for (i = 0; i < n; i++)
        free(v[i].data);
    free(v);
}

/* At the first connection: every intent is a dead process's. */
static int fix_any(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it)
{
    if (strcmp(it->kind, LV_INTENT_LAUNCH) == 0)
        return fix_launch(drv, h, conn, it);
    if (strcmp(it->kind, LV_INTENT_CAPTURE) == 0)
        return fix_capture(drv, h, conn, it);
    if (strcmp(it->kind, LV_INTENT_VOLUME) == 0)
        return fix_volume(drv, conn, it);
    if (strcmp(it->kind, LV_INTENT_TERMINATE) == 0)
        return fix_terminate(drv, h, conn, it);
    if (strcmp(it->kind, LV_INTENT_VPC) == 0)
        return lv_vpc_fix_intent(drv, conn, it->data);
    if (strcmp(it->kind, LV_INTENT_SG) == 0)
        return lv_sg_fix_intent(drv, conn, it->data);
    return 0; /* a kind from a newer version: nothing we can judge */
}

/* Tokens claimed by launches that never finished.  Called at open, before
 * any request: a claim is made before placement, so it may name no zone,
 * and a zone's own reconcile (at its first connection, maybe while other
 * zones serve) could not tell a dead claim from one in flight. */
void lv_reconcile_tokens(cg_drv *drv)
{
    int n;

    if (!drv->reconciles)
        return;
    n = db_change(drv->state, "DELETE FROM client_tokens WHERE instance_ids = ''", NULL, 0, NULL);
    if (n > 0)
        cg_info("reconcile: dropped %d client token(s) of interrupted launches", n);
}

/* 1 when the domain's XML has the volume's disk (its serial), 0 not, -1 unknown. */
static int has_disk(virDomainPtr dom, const char *vol_id, unsigned flags)
{
    char serial[48], *xml = virDomainGetXMLDesc(dom, flags);
    int found;

    if (!xml)
        return -1;
    snprintf(serial, sizeof(serial), "<serial>vol%s</serial>", vol_id + 4);
    found = strstr(xml, serial) != NULL;
    free(xml);
    return found;
}

/* Volume rows of this zone: attachments as libvirt has them, rows whose
 * storage volume is gone removed. */
static void fix_volume_rows(cg_drv *drv, lv_host *h, virConnectPtr conn)
{
    cg_volume_list l = {0};
    cg_error err = {0};
    unsigned long long cap;
    char name[64];
    size_t i;

    if (lv_volstate_list(drv->state, NULL, &l, &err) < 0) {
        cg_warn("reconcile: volumes: %s", err.message);
        cg_volume_list_release(&l);
        return;
    }
    for (i = 0; i < l.n; i++) {
        cg_volume *v = &l.v[i];
        virDomainPtr dom;
        int have = 0;

        if (strcmp(v->zone, lv_host_zone(h)) != 0)
            continue;
        if (v->attached_to[0]) {
            if ((dom = virDomainLookupByName(conn, v->attached_to))) {
                have = has_disk(dom, v->id, VIR_DOMAIN_XML_INACTIVE);
                if (have == 0 && virDomainIsActive(dom) == 1)
                    have = has_disk(dom, v->id, 0);
                virDomainFree(dom);
            } else if (lv_last_error_code() != VIR_ERR_NO_DOMAIN) {
                have = -1;
            }
            if (have == 0 && lv_volstate_detach(drv->state, v->id, v->attached_to, NULL) == 0) {
                cg_info("reconcile: volume %s detached in the records (%s does not have it)",
                        v->id, v->attached_to);
                v->attached_to[0] = '\0';
            }
        }
        virResetLastError();
        snprintf(name, sizeof(name), "%s.%s", v->id, strcmp(v->format, "raw") ? "qcow2" : "img");
        cg_error_clear(&err);
        if (!v->attached_to[0] &&
            lv_storage_find(conn, drv->cfg->storage_pool, name, &cap, &err) < 0 &&
            err.kind == CG_ERR_NOT_FOUND &&
            lv_volstate_delete_available(drv->state, v->id, NULL) == 1)
            cg_info("reconcile: removed volume record %s (no storage volume %s)", v->id, name);
    }
    cg_volume_list_release(&l);
}

/* Image rows whose volume this zone's pool lacks: removed (one zone). */
static void fix_image_rows(cg_drv *drv, virConnectPtr conn)
{
    cg_image_list l = {0};
    cg_error err = {0};
    unsigned long long cap;
    size_t i;

    if (lv_state_image_list(drv->state, &l, &err) < 0) {
        cg_warn("reconcile: images: %s", err.message);
        return;
    }
    for (i = 0; i < l.n; i++) {
        cg_error_clear(&err);
        /* Pending images are a job's, its recovery removes them. */
        if (strcmp(l.v[i].state, "pending") == 0)
            continue;
        if (lv_storage_find(conn, drv->cfg->storage_pool, l.v[i].volume, &cap, &err) == 0 ||
            err.kind != CG_ERR_NOT_FOUND)
            continue;
        /* With several zones, one lacking it (say, a zone added since) does
         * not make the image unusable in the others.  The configured count:
         * this runs as soon as a zone connects, maybe before the driver
         * counted all its hosts. */
        if (drv->cfg->n_zones > 1) {
            cg_warn("reconcile: image %s has no volume %s in this zone", l.v[i].id,
                    l.v[i].volume);
            continue;
        }
        if (lv_state_image_delete(drv->state, l.v[i].id, NULL) == 1) {
            lv_image_remove_boot_files(drv, l.v[i].id);
            cg_info("reconcile: removed image %s (its volume %s is missing)", l.v[i].id,
                    l.v[i].volume);
        }
    }
    cg_image_list_release(&l);
}

/* After a reconnect: the terminates whose connection failed while their
 * domain was being removed (the outcome unknown, the intent kept:
 * lv_instances.c), and the failed launches whose undo the connection cut
 * (lv_launch.c), are finished now rather than at the next start.  A
 * terminate still running (its entry busy) is left to its thread; a failed
 * launch is recorded terminated and out of the cache, a live one never. */
static int fix_cut(cg_drv *drv, lv_host *h, virConnectPtr conn, const intent *it)
{
    if (strcmp(it->kind, LV_INTENT_TERMINATE) == 0 && !lv_cache_is_busy(lv_host_cache(h), it->name))
        return fix_terminate(drv, h, conn, it);
    if (strcmp(it->kind, LV_INTENT_LAUNCH) == 0 && !lv_cache_contains(lv_host_cache(h), it->name) &&
        failed_launch(drv, it->name))
        return fix_launch(drv, h, conn, it);
    return -1; /* this process's own, in flight */
}

void lv_reconcile_zone(lv_host *h, virConnectPtr conn, int first, void *arg)
{
    cg_drv *drv = arg;

    if (!drv->reconciles)
        return;
    if (!first) {
        each_intent(drv, h, conn, fix_cut);
        virResetLastError();
        return;
    }
    cg_debug("zone %s: reconciling libvirt with the database", lv_host_zone(h));
    each_intent(drv, h, conn, fix_any);
    fix_volume_rows(drv, h, conn);
    fix_image_rows(drv, conn);
    lv_vpc_reconcile_zone(drv, h, conn);
    lv_sg_reconcile_zone(drv, conn);
    lv_sg_sets_reconcile(drv, conn);
    lv_imds_net_ensure(drv, h, conn);
    virResetLastError();
}
