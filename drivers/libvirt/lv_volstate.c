/* cloudgate libvirt driver: volume records in SQLite (lv_driver.h,
 * lv_volstate_*).
 *
 * libvirt knows a volume's bytes; this table knows what EC2 and CIMI say
 * about it (name, zone, attachment, tags).  Attach and delete are
 * conditional statements (WHERE instance_id = ''), so two requests racing
 * for one volume cannot both win.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../../gateway/store.h"
#include "lv_driver.h"
#include "lv_rows.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS volumes ("
    " id TEXT PRIMARY KEY, name TEXT, description TEXT, zone TEXT NOT NULL,"
    " format TEXT NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL,"
    " instance_id TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '',"
    " delete_on_termination INTEGER NOT NULL DEFAULT 0,"
    " snapshot_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS volumes_by_instance ON volumes (instance_id);"
    "CREATE TABLE IF NOT EXISTS volume_tags ("
    " volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (volume_id, key));";

#define VOL_COLS \
    "id, name, description, zone, format, size, created, instance_id, device," \
    " delete_on_termination, snapshot_id"

/* Columns added since the volumes table was first created: CREATE TABLE IF
 * NOT EXISTS leaves an older database's table as it was.  0 or -1. */
static int migrate(sqlite3 *db, cg_error *err)
{
    static const char *const added[][2] = {
        {"delete_on_termination", "ALTER TABLE volumes ADD COLUMN delete_on_termination"
                                  " INTEGER NOT NULL DEFAULT 0"},
        {"snapshot_id", "ALTER TABLE volumes ADD COLUMN snapshot_id TEXT NOT NULL DEFAULT ''"},
    };
    long long has;
    size_t i;

    for (i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
        has = 0;
        if (cg_db_int(db, err, &has, "SELECT count(*) FROM pragma_table_info('volumes')"
                                     " WHERE name = ?", "s", added[i][0]) < 0 ||
            (!has && cg_db_exec(db, added[i][1], err) < 0))
            return -1;
    }
    return 0;
}

int lv_volstate_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = cg_db_exec(db, schema, err) < 0 ? -1 : migrate(db, err);

    lv_state_db_unlock(st);
    return ret;
}

/* A row of VOL_COLS and its tags into vol.  0 or -1 (reported). */
static int from_row(sqlite3 *db, sqlite3_stmt *s, cg_volume *vol, cg_error *err)
{
    sqlite3_stmt *t = NULL;
    int oom = 0, rc, ret = -1;

    memset(vol, 0, sizeof(*vol));
    cg_db_col_copy(s, 0, vol->id, sizeof(vol->id));
    vol->name = cg_db_col_dup(s, 1, &oom);
    vol->description = cg_db_col_dup(s, 2, &oom);
    cg_db_col_copy(s, 3, vol->zone, sizeof(vol->zone));
    cg_db_col_copy(s, 4, vol->format, sizeof(vol->format));
    vol->size_bytes = (unsigned long long)sqlite3_column_int64(s, 5);
    vol->created = (time_t)sqlite3_column_int64(s, 6);
    cg_db_col_copy(s, 7, vol->attached_to, sizeof(vol->attached_to));
    cg_db_col_copy(s, 8, vol->device, sizeof(vol->device));
    vol->delete_on_termination = sqlite3_column_int(s, 9) != 0;
    cg_db_col_copy(s, 10, vol->snapshot_id, sizeof(vol->snapshot_id));
    snprintf(vol->state, sizeof(vol->state), "%s", vol->attached_to[0] ? "in-use" : "available");
    if (oom || !(t = cg_db_prep(db, err, "SELECT key, value FROM volume_tags"
                                         " WHERE volume_id = ? ORDER BY rowid", "s", vol->id)))
        goto cleanup;
    while ((rc = cg_db_step(t, err, "read volume tags")) == 1) {
        if (cg_tags_set(&vol->tags, (const char *)sqlite3_column_text(t, 0),
                        (const char *)sqlite3_column_text(t, 1)) < 0) {
            oom = 1;
            goto cleanup;
        }
    }
    if (rc < 0)
        goto cleanup;
    ret = 0;

cleanup:
    if (oom)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    if (ret < 0)
        cg_volume_release(vol);
    cg_db_done(t);
    return ret;
}

/* The INSERTs of lv_volstate_add, inside its transaction.  0 or -1. */
static int insert(sqlite3 *db, const cg_volume *vol, cg_error *err)
{
    size_t i;

    if (cg_db_run(db, err, "insert volume",
                  "INSERT INTO volumes (" VOL_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  "sssssIIssis", vol->id, vol->name, vol->description, vol->zone, vol->format,
                  (long long)vol->size_bytes, (long long)vol->created, vol->attached_to,
                  vol->device, vol->delete_on_termination, vol->snapshot_id) < 0)
        return -1;
    for (i = 0; i < vol->tags.n; i++) {
        if (cg_db_run(db, err, "insert volume tag",
                      "INSERT INTO volume_tags (volume_id, key, value) VALUES (?,?,?)", "sss",
                      vol->id, vol->tags.v[i].key,
                      vol->tags.v[i].value ? vol->tags.v[i].value : "") < 0)
            return -1;
    }
    return 0;
}

int lv_volstate_add(lv_state *st, const cg_volume *vol, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, insert(db, vol, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_volstate_get(lv_state *st, const char *id, cg_volume *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (!(s = cg_db_prep(db, err, "SELECT " VOL_COLS " FROM volumes WHERE id = ?", "s", id)))
        goto cleanup;
    rc = cg_db_step(s, err, "read volume");
    ret = rc == 1 ? (from_row(db, s, out, err) < 0 ? -1 : 1) : rc;

cleanup:
    cg_db_done(s);
    lv_state_db_unlock(st);
    return ret;
}

int lv_volstate_list(lv_state *st, const char *instance_id, cg_volume_list *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    cg_volume *vol;
    int rc, ret = -1;

    if (instance_id)
        s = cg_db_prep(db, err,
                       "SELECT " VOL_COLS " FROM volumes WHERE instance_id = ?"
                       " ORDER BY created, rowid",
                       "s", instance_id);
    else
        s = cg_db_prep(db, err, "SELECT " VOL_COLS " FROM volumes ORDER BY created, rowid", NULL);
    if (!s)
        goto cleanup;
    while ((rc = cg_db_step(s, err, "list volumes")) == 1) {
        if (!(vol = lv_rows_grow((void **)&out->v, out->n, sizeof(*vol), err)))
            goto cleanup;
        if (from_row(db, s, vol, err) < 0)
            goto cleanup;
        out->n++;
    }
    if (rc == 0)
        ret = 0;

cleanup:
    cg_db_done(s);
    lv_state_db_unlock(st);
    return ret;
}

/* One conditional statement under the lock: rows changed or -1. */
static int locked_run(lv_state *st, cg_error *err, const char *sql, const char *fmt, ...)
{
    sqlite3 *db = lv_state_db_lock(st);
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = cg_db_vrun(db, err, "write volume", sql, fmt, ap);
    va_end(ap);
    lv_state_db_unlock(st);
    return rc;
}

int lv_volstate_delete_available(lv_state *st, const char *id, cg_error *err)
{
    int rc = locked_run(st, err, "DELETE FROM volumes WHERE id = ? AND instance_id = ''", "s", id);

    return rc < 0 ? -1 : rc > 0;
}

int lv_volstate_attach(lv_state *st, const char *id, const char *instance_id,
                       const char *device, cg_error *err)
{
    int rc = locked_run(st, err, "UPDATE volumes SET instance_id = ?, device = ?,"
                                 " delete_on_termination = 0"
                                 " WHERE id = ? AND instance_id = ''", "sss",
                        instance_id, device, id);

    return rc < 0 ? -1 : rc > 0;
}

int lv_volstate_detach(lv_state *st, const char *id, const char *instance_id, cg_error *err)
{
    return locked_run(st, err, "UPDATE volumes SET instance_id = '', device = ''"
                               " WHERE id = ? AND instance_id = ?", "ss", id, instance_id) < 0
               ? -1 : 0;
}

int lv_volstate_release_instance(lv_state *st, const char *instance_id, cg_error *err)
{
    return locked_run(st, err, "UPDATE volumes SET instance_id = '', device = ''"
                               " WHERE instance_id = ?", "s", instance_id) < 0 ? -1 : 0;
}

int lv_volstate_set_delete_on_termination(lv_state *st, const char *instance_id,
                                          const char *device, int flag, cg_error *err)
{
    int rc = locked_run(st, err, "UPDATE volumes SET delete_on_termination = ?"
                                 " WHERE instance_id = ? AND device = ?", "iss",
                        flag ? 1 : 0, instance_id, device);

    return rc < 0 ? -1 : rc > 0;
}

/* The statements of lv_volstate_tags, inside its transaction. */
static int tags_edit(sqlite3 *db, const char *id, const cg_tags *tags, int remove, cg_error *err)
{
    long long one;
    int rc = cg_db_int(db, err, &one, "SELECT 1 FROM volumes WHERE id = ?", "s", id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "volume %s does not exist", id);
    if (rc <= 0)
        return -1;
    return cg_db_tags_write(db, "volume_tags", "volume_id", id, tags, remove, err);
}

int lv_volstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, tags_edit(db, id, tags, remove, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}
