/* cloudgate libvirt driver: growing volumes (EC2 ModifyVolume) and the
 * record of each size change (DescribeVolumesModifications).
 *
 * A change is a row in volume_modifications, inserted "modifying" before
 * libvirt is asked; only one may be "modifying" per volume (the INSERT is
 * conditional), which is EC2's IncorrectModificationState.  A detached
 * volume, or one whose instance is not running, grows with
 * virStorageVolResize; one attached to a running instance grows through
 * qemu with virDomainBlockResize, so the guest sees the new size at once.
 * Success sets the volume's size and completes the row in one transaction;
 * failure marks the row "failed" with libvirt's reason.  A driver that
 * has no such call at all (libvirt's test driver) is UnsupportedOperation,
 * and the row goes: nothing changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>
#include <sqlite3.h>

#include "../../gateway/log.h"
#include "../../gateway/store.h"
#include "lv_driver.h"
#include "lv_storage.h"

#define VOLUME_MAX_BYTES (16ULL << 40)   /* as lv_volumes.c: 16 TiB */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS volume_modifications ("
    " volume_id TEXT NOT NULL, state TEXT NOT NULL, original_size INTEGER NOT NULL,"
    " target_size INTEGER NOT NULL, start_time INTEGER NOT NULL,"
    " end_time INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS volume_modifications_volume"
    " ON volume_modifications(volume_id);"
    /* A volume's changes go with it, however it is deleted; rows older
     * than the trigger are pruned at start-up (lv_volmods_init). */
    "CREATE TRIGGER IF NOT EXISTS volume_modifications_gone AFTER DELETE ON volumes"
    " BEGIN DELETE FROM volume_modifications WHERE volume_id = old.id; END;";

#define MOD_COLS "volume_id, state, original_size, target_size, start_time, end_time, message"

int lv_volmods_init(lv_state *st, int repair, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = cg_db_exec(db, schema, err);

    /* A change cut short by a restart is over: say so rather than block
     * the volume's next change forever. */
    if (ret == 0 && repair &&
        cg_db_run(db, err, "prune volume modifications",
                  "DELETE FROM volume_modifications WHERE volume_id NOT IN"
                  " (SELECT id FROM volumes)", NULL) < 0)
        ret = -1;
    if (ret == 0 && repair &&
        cg_db_run(db, err, "close interrupted volume modifications",
                  "UPDATE volume_modifications SET state = 'failed', end_time = ?,"
                  " message = 'interrupted by a restart of cloudgate'"
                  " WHERE state = 'modifying'", "I", (long long)time(NULL)) < 0)
        ret = -1;
    lv_state_db_unlock(st);
    return ret;
}

/* Start a change unless one is in progress: 1 started (*rowid set), 0 one
 * is in progress, -1 error. */
static int mod_begin(lv_state *st, const cg_volume_mod *m, long long *rowid, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc;

    rc = cg_db_run(db, err, "record volume modification",
                   "INSERT INTO volume_modifications (" MOD_COLS ")"
                   " SELECT ?, 'modifying', ?, ?, ?, 0, '' WHERE NOT EXISTS"
                   " (SELECT 1 FROM volume_modifications WHERE volume_id = ?"
                   "  AND state = 'modifying')", "sIIIs", m->volume_id,
                   (long long)m->original_bytes, (long long)m->target_bytes,
                   (long long)m->start, m->volume_id);
    if (rc > 0)
        *rowid = sqlite3_last_insert_rowid(db);
    lv_state_db_unlock(st);
    return rc < 0 ? -1 : rc > 0;
}

/* A change libvirt cannot make at all was never one: its row goes. */
static void mod_drop(lv_state *st, long long rowid)
{
    sqlite3 *db = lv_state_db_lock(st);
    cg_error err = {0};

    if (cg_db_run(db, &err, "drop volume modification",
                  "DELETE FROM volume_modifications WHERE rowid = ?", "I", rowid) < 0)
        cg_warn("volume modification %lld left: %s", rowid, err.message);
    lv_state_db_unlock(st);
}

/* Finish the change: completed (and the volume's size set, atomically) or
 * failed with message.  0 or -1. */
static int mod_end(lv_state *st, long long rowid, const cg_volume_mod *m, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ok, ret = -1;

    if (cg_db_begin(db, err) == 0) {
        ok = cg_db_run(db, err, "finish volume modification",
                       "UPDATE volume_modifications SET state = ?, end_time = ?, message = ?"
                       " WHERE rowid = ?", "sIsI", m->state, (long long)m->end, m->message,
                       rowid) >= 0;
        if (ok && strcmp(m->state, "completed") == 0)
            ok = cg_db_run(db, err, "set volume size", "UPDATE volumes SET size = ? WHERE id = ?",
                           "Is", (long long)m->target_bytes, m->volume_id) >= 0;
        ret = cg_db_end(db, ok, err);
    }
    lv_state_db_unlock(st);
    return ret;
}

/* After a libvirt call failed with VIR_ERR_NO_SUPPORT (libvirt's test
 * driver has no resize at all): said plainly, nothing recorded.  -1. */
static int resize_unsupported(virConnectPtr conn, const cg_volume *vol, const char *what,
                              cg_error *err)
{
    const char *type = lv_conn_type(conn);

    cg_error_set(err, CG_ERR_UNSUPPORTED, "volume %s: libvirt's %s driver has no %s", vol->id,
                 type ? type : "?", what);
    return -1;
}

/* Grow the storage volume behind a detached (or offline) volume. */
static int grow_storage(cg_drv *drv, virConnectPtr conn, const cg_volume *vol,
                        unsigned long long bytes, cg_error *err)
{
    char name[64];

    snprintf(name, sizeof(name), "%s.%s", vol->id, strcmp(vol->format, "raw") == 0 ? "img"
                                                                                   : "qcow2");
    if (lv_storage_resize(conn, drv->cfg->storage_pool, name, bytes, err) == 0)
        return 0;
    if (err->kind != CG_ERR_UNSUPPORTED)
        return -1;
    cg_error_clear(err);
    return resize_unsupported(conn, vol, "storage volume resize", err);
}

/* Grow the volume: through the running domain when it is attached to one
 * (the guest is told), else its storage.  h: the host of the instance it
 * is attached to, taken (busy) by the caller, or NULL. */
static int grow(cg_drv *drv, lv_host *h, const cg_volume *vol, unsigned long long bytes,
                cg_error *err)
{
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int active = 0, ret = -1;

    if (!(conn = h ? lv_host_conn(h, err) : lv_driver_zone_conn(drv, vol->zone, err)))
        goto cleanup;
    if (h && !(dom = lv_domain_get(conn, vol->attached_to, err)))
        goto cleanup;
    if (dom && (active = virDomainIsActive(dom)) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "domain %s", vol->attached_to);
        goto cleanup;
    }
    if (!active) {
        ret = grow_storage(drv, conn, vol, bytes, err);
        goto cleanup;
    }
    if (virDomainBlockResize(dom, vol->device, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0) {
        if (lv_last_error_code() == VIR_ERR_NO_SUPPORT)
            ret = resize_unsupported(conn, vol, "online block resize", err);
        else
            lv_report(err, conn, CG_ERR_INTERNAL, "resize %s of instance %s", vol->device,
                      vol->attached_to);
        goto cleanup;
    }
    cg_info("volume %s grown online in %s (%s)", vol->id, vol->attached_to, vol->device);
    ret = 0;

cleanup:
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    return ret;
}

/* The instance vol is attached to, taken busy so that it neither stops nor
 * lets the disk go under the resize: its host, or NULL with *err clear when
 * there is none to hold (detached, or the instance is gone).  A busy
 * instance is CG_ERR_UNAVAILABLE: nothing was done, try again. */
static lv_host *take_holder(cg_drv *drv, const cg_volume *vol, cg_error *err)
{
    cg_instance inst;
    lv_host *h;
    int terminated = 0;

    if (!vol->attached_to[0])
        return NULL;
    h = lv_instance_take(drv, vol->attached_to, &inst, &terminated, err);
    cg_instance_release(&inst);
    if (h || terminated || err->kind == CG_ERR_NOT_FOUND)
        cg_error_clear(err);
    else if (err->kind == CG_ERR_STATE)
        err->kind = CG_ERR_UNAVAILABLE;
    return h;
}

int lv_volume_modify(cg_drv *drv, const char *volume_id, unsigned long long size_bytes,
                     cg_volume_mod *out, cg_error *err)
{
    cg_volume vol;
    cg_volume_mod m;
    cg_error why = {0};
    lv_host *h = NULL;
    long long rowid = 0;
    int rc, ret = -1;

    memset(&m, 0, sizeof(m));
    if ((rc = lv_volstate_get(drv->state, volume_id, &vol, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "volume %s does not exist", volume_id);
        return -1;
    }
    if (size_bytes <= vol.size_bytes || size_bytes > VOLUME_MAX_BYTES) {
        cg_error_set(err, CG_ERR_INVALID, "volume %s has %llu bytes: it can only grow, to at "
                     "most 16 TiB", volume_id, vol.size_bytes);
        goto cleanup;
    }
    if (!(h = take_holder(drv, &vol, err)) && err->kind != CG_ERR_NONE)
        goto cleanup;
    snprintf(m.volume_id, sizeof(m.volume_id), "%s", volume_id);
    snprintf(m.state, sizeof(m.state), "modifying");
    m.original_bytes = vol.size_bytes;
    m.target_bytes = size_bytes;
    m.start = time(NULL);
    if ((rc = mod_begin(drv->state, &m, &rowid, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_STATE, "volume %s is already being modified", volume_id);
        goto cleanup;
    }
    rc = grow(drv, h, &vol, size_bytes, &why);
    if (rc < 0 && why.kind == CG_ERR_UNSUPPORTED) {
        mod_drop(drv->state, rowid);
        *err = why;
        goto cleanup;
    }
    snprintf(m.state, sizeof(m.state), "%s", rc == 0 ? "completed" : "failed");
    snprintf(m.message, sizeof(m.message), "%.150s", rc == 0 ? "" : why.message);
    m.end = time(NULL);
    if (mod_end(drv->state, rowid, &m, err) < 0)
        goto cleanup;
    if (rc < 0) {
        *err = why;
        goto cleanup;
    }
    cg_info("volume %s grown from %llu to %llu MiB", volume_id, m.original_bytes >> 20,
            m.target_bytes >> 20);
    if (out)
        *out = m;
    ret = 0;

cleanup:
    if (h)
        lv_cache_release(lv_host_cache(h), vol.attached_to);
    cg_volume_release(&vol);
    return ret;
}

int lv_volume_mod_list(cg_drv *drv, cg_volume_mod_list *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(drv->state);
    sqlite3_stmt *s;
    cg_volume_mod *grown;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!(s = cg_db_prep(db, err, "SELECT " MOD_COLS " FROM volume_modifications ORDER BY rowid",
                         NULL)))
        goto cleanup;
    while ((rc = cg_db_step(s, err, "list volume modifications")) == 1) {
        cg_volume_mod *m;

        if (!(grown = realloc(out->v, (out->n + 1) * sizeof(*grown)))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            rc = -1;
            break;
        }
        out->v = grown;
        m = &out->v[out->n++];
        memset(m, 0, sizeof(*m));
        cg_db_col_copy(s, 0, m->volume_id, sizeof(m->volume_id));
        cg_db_col_copy(s, 1, m->state, sizeof(m->state));
        m->original_bytes = (unsigned long long)sqlite3_column_int64(s, 2);
        m->target_bytes = (unsigned long long)sqlite3_column_int64(s, 3);
        m->start = (time_t)sqlite3_column_int64(s, 4);
        m->end = (time_t)sqlite3_column_int64(s, 5);
        cg_db_col_copy(s, 6, m->message, sizeof(m->message));
    }

cleanup:
    cg_db_done(s);
    lv_state_db_unlock(drv->state);
    if (rc < 0) {
        free(out->v);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}
