/* cloudgate libvirt driver: instances made by a virt-v2v import job
 * (driver.h instance_import_*).
 *
 * The lock is a row in v2v_locks (instance id -> job id), written before the
 * domain is defined: the daemon and the admin CLI share the database, so a
 * lock taken by the CLI's job is seen by the daemon's next request.  While
 * the row exists lv_instance_take refuses the instance (CG_ERR_STATE) and
 * lv_v2v_lock_apply shows it "pending".  The domain is defined at once with
 * its root volume's path (POOLDIR/ID.qcow2, the name every instance's root
 * has); the converted disk is renamed there when the conversion ends.
 * Further converted disks become volumes (lv_volume_adopt: vdb, vdc, ...,
 * DeleteOnTermination), attached while the lock holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <sqlite3.h>

#include "../../gateway/log.h"
#include "../../gateway/store.h"
#include "../../gateway/util.h"
#include "lv_cache.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_host.h"
#include "lv_storage.h"
#include "lv_vpc.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS v2v_locks ("
    " instance_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, zone TEXT NOT NULL,"
    " created INTEGER NOT NULL);";

int lv_v2v_lock_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = cg_db_exec(db, schema, err);

    lv_state_db_unlock(st);
    return ret;
}

int lv_v2v_locked(lv_state *st, const char *id, char *job_id, size_t len)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = cg_db_prep(db, NULL, "SELECT job_id FROM v2v_locks WHERE instance_id = ?",
                                 "s", id);
    int rc = s ? cg_db_step(s, NULL, "v2v lock") : -1;

    if (rc == 1 && job_id)
        cg_db_col_copy(s, 0, job_id, len);
    cg_db_done(s);
    lv_state_db_unlock(st);
    return rc;
}

/* One query for the whole list: locks are few (one per running import), a
 * listing has every instance, so a lookup per instance would cost a
 * statement per instance on every DescribeInstances. */
void lv_v2v_lock_apply(lv_state *st, cg_instance_list *list)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = cg_db_prep(db, NULL, "SELECT instance_id, job_id FROM v2v_locks", "");
    char id[sizeof(list->v[0].id)];
    cg_instance *inst;
    size_t i;

    while (s && cg_db_step(s, NULL, "v2v locks") == 1) {
        cg_db_col_copy(s, 0, id, sizeof(id));
        for (i = 0; i < list->n && strcmp(list->v[i].id, id) != 0; i++)
            ;
        if (i == list->n)
            continue;
        inst = &list->v[i];
        cg_db_col_copy(s, 1, inst->locked_by, sizeof(inst->locked_by));
        inst->state = CG_STATE_PENDING;
        inst->sub = CG_SUB_NONE;
        if (!inst->locked_by[0]) /* a lock row written without its job */
            snprintf(inst->locked_by, sizeof(inst->locked_by), "unknown");
    }
    cg_db_done(s);
    lv_state_db_unlock(st);
}

static int lock_put(lv_state *st, const char *id, const char *job_id, const char *zone,
                    cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc = cg_db_run(db, err, "v2v lock",
                       "INSERT INTO v2v_locks (instance_id, job_id, zone, created)"
                       " VALUES (?, ?, ?, ?)", "sssI", id, job_id ? job_id : "", zone,
                       (long long)time(NULL));

    lv_state_db_unlock(st);
    return rc < 0 ? -1 : 0;
}

static void lock_drop(lv_state *st, const char *id)
{
    sqlite3 *db = lv_state_db_lock(st);

    cg_db_run(db, NULL, "v2v unlock", "DELETE FROM v2v_locks WHERE instance_id = ?", "s", id);
    lv_state_db_unlock(st);
}

/* The zone (host) of a locked instance: from its lock row, which outlives
 * a crash of the process that made it. */
static lv_host *lock_host(cg_drv *drv, const char *id)
{
    sqlite3 *db = lv_state_db_lock(drv->state);
    sqlite3_stmt *s = cg_db_prep(db, NULL, "SELECT zone FROM v2v_locks WHERE instance_id = ?",
                                 "s", id);
    char zone[64] = "";

    if (s && cg_db_step(s, NULL, "v2v lock") == 1)
        cg_db_col_copy(s, 0, zone, sizeof(zone));
    cg_db_done(s);
    lv_state_db_unlock(drv->state);
    return zone[0] ? lv_drv_pick_zone(drv, zone, NULL) : lv_drv_find_instance(drv, id);
}

/* POOLDIR/ID.qcow2 into buf (the path the domain is defined with).  0 or -1. */
static int root_path(cg_drv *drv, const char *id, char *buf, size_t len, cg_error *err)
{
    char dir[4000];

    if (lv_pool_local_dir(drv, dir, sizeof(dir), err) < 0)
        return -1;
    snprintf(buf, len, "%s/%s.qcow2", dir, id);
    return 0;
}

int lv_instance_import_begin(cg_drv *drv, const cg_import_instance_spec *spec, cg_instance *out,
                             cg_error *err)
{
    lv_host *h;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    lv_domain_spec ds;
    cg_instance inst;
    char disk[4096], log[4096], net[256], *xml = NULL;
    int locked = 0, ret = -1;

    memset(&inst, 0, sizeof(inst));
    if (!(h = lv_drv_pick_zone(drv, spec->zone, err)) || !(conn = lv_host_conn(h, err)))
        goto cleanup;
    cg_new_id(inst.id, sizeof(inst.id), "i-");
    cg_new_id(inst.reservation_id, sizeof(inst.reservation_id), "r-");
    snprintf(inst.instance_type, sizeof(inst.instance_type), "%s",
             spec->type_name ? spec->type_name : "");
    snprintf(inst.zone, sizeof(inst.zone), "%s", lv_host_zone(h));
    lv_random_mac(inst.mac, sizeof(inst.mac));
    inst.state = CG_STATE_PENDING;
    inst.launch_time = inst.state_time = time(NULL);
    inst.vcpus = spec->vcpus;
    inst.memory_mib = spec->memory_mib;
    inst.display = spec->display == CG_DISPLAY_DEFAULT ? lv_display_default(drv) : spec->display;
    if (spec->tags && cg_tags_copy(&inst.tags, spec->tags) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (root_path(drv, inst.id, disk, sizeof(disk), err) < 0 ||
        lv_vpc_launch_network(drv, NULL, lv_host_zone(h), net, sizeof(net), err) < 0)
        goto cleanup;
    lv_drv_console_path(drv, NULL, log, sizeof(log));
    if (cg_mkdir_p(log, 0755) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot create %s: %s", log, strerror(errno));
        goto cleanup;
    }
    lv_drv_console_path(drv, inst.id, log, sizeof(log));
    /* The lock first: a crash from here on leaves a row recovery finds. */
    if (lock_put(drv->state, inst.id, spec->job_id, lv_host_zone(h), err) < 0)
        goto cleanup;
    locked = 1;
    memset(&ds, 0, sizeof(ds));
    ds.domain_type = drv->cfg->domain_type;
    ds.name = inst.id;
    ds.vcpus = inst.vcpus;
    ds.memory_mib = inst.memory_mib;
    ds.disk_path = disk;
    ds.disk_format = "qcow2";
    ds.network = net;
    ds.mac = inst.mac;
    ds.console_log = log;
    ds.meta = &inst;
    lv_display_domspec(drv, NULL, &ds);
    if (!(xml = lv_domxml_build(&ds, err)))
        goto cleanup;
    if (!(dom = virDomainDefineXML(conn, xml))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "define instance %s", inst.id);
        goto cleanup;
    }
    /* Readable at once: the job names the instance as its target as soon as
     * this returns, before the define event reaches the cache. */
    if (lv_cache_update(lv_host_cache(h), &inst, lv_state_from_libvirt(VIR_DOMAIN_SHUTOFF)) < 0 ||
        cg_instance_copy(out, &inst) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    cg_info("instance %s defined, locked for import job %s", inst.id, spec->job_id);
    ret = 0;

cleanup:
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    if (ret < 0 && locked)
        lv_instance_import_drop(drv, inst.id);
    cg_instance_release(&inst);
    free(xml);
    return ret;
}

int lv_instance_import_adopt(cg_drv *drv, const char *id, const char *const *disks, size_t n,
                             cg_error *err)
{
    lv_host *h = lock_host(drv, id);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    char dir[4000], root[64], dev[8];
    int ret = -1;

    if (lv_v2v_locked(drv->state, id, NULL, 0) != 1) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is not being imported", id);
        return -1;
    }
    if (n < 1 || n > CG_IMPORT_MAX_DISKS) {
        cg_error_set(err, CG_ERR_INVALID, "the guest converted to %zu disks; an imported "
                     "instance takes 1 to %d", n, CG_IMPORT_MAX_DISKS);
        return -1;
    }
    if (!h || !(conn = lv_host_conn(h, err)) || lv_pool_local_dir(drv, dir, sizeof(dir), err) < 0)
        goto cleanup;
    snprintf(root, sizeof(root), "%s.qcow2", id);
    if (lv_storage_adopt(conn, drv->cfg->storage_pool, dir, disks[0], root, err) < 0)
        goto cleanup;
    /* The others as EBS volumes, in the converted order (virt-v2v keeps the
     * source's), while the lock holds: drop deletes them with the domain. */
    if (n > 1 && !(dom = lv_domain_get(conn, id, err)))
        goto cleanup;
    for (size_t i = 1; i < n; i++) {
        snprintf(dev, sizeof(dev), "vd%c", (char)('a' + i));
        if (lv_volume_adopt(drv, conn, dom, id, lv_host_zone(h), dev, dir, disks[i], err) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    return ret;
}

int lv_instance_import_finish(cg_drv *drv, const char *id, int start, cg_error *err)
{
    lv_host *h = lock_host(drv, id);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int ret = -1;

    if (!h || !(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, id, err)))
        goto cleanup;
    lock_drop(drv->state, id);
    if (start && virDomainCreate(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "start instance %s", id);
        goto cleanup;
    }
    cg_info("instance %s imported%s", id, start ? " and started" : "");
    ret = 0;

cleanup:
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    return ret;
}

void lv_instance_import_drop(cg_drv *drv, const char *id)
{
    lv_host *h = lock_host(drv, id);
    virConnectPtr conn = h ? lv_host_conn(h, NULL) : NULL;
    char path[4096];
    cg_error e = {0};

    if (conn) {
        if (lv_domain_remove(conn, id, &e) < 0)
            cg_warn("import %s: domain left behind: %s", id, e.message);
        cg_error_clear(&e);
        snprintf(path, sizeof(path), "%s.qcow2", id);
        if (lv_storage_delete(conn, drv->cfg->storage_pool, path, &e) < 0)
            cg_warn("import %s: volume left behind: %s", id, e.message);
        /* Its further disks: rows attached with DeleteOnTermination. */
        lv_volumes_release_instance(drv, id);
        virConnectClose(conn);
    } else {
        cg_warn("import %s: its zone is unreachable: domain and volume left behind", id);
    }
    if (h)
        lv_cache_remove(lv_host_cache(h), id);
    lv_drv_console_path(drv, id, path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        cg_warn("import %s: %s: %s", id, path, strerror(errno));
    /* The lock last: while it exists the instance stays refused. */
    if (conn)
        lock_drop(drv->state, id);
    virResetLastError();
}
