/* cloudgate libvirt driver: volume records in SQLite (lv_driver.h,
 * lv_volstate_*).
 *
 * libvirt knows a volume's bytes; this table knows what EC2 and CIMI say
 * about it (name, zone, attachment, tags).  Attach and delete are
 * conditional statements (WHERE instance_id = ''), so two requests racing
 * for one volume cannot both win.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../../gateway/store.h"
#include "lv_driver.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS volumes ("
    " id TEXT PRIMARY KEY, name TEXT, description TEXT, zone TEXT NOT NULL,"
    " format TEXT NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL,"
    " instance_id TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS volume_tags ("
    " volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (volume_id, key));";

#define VOL_COLS "id, name, description, zone, format, size, created, instance_id, device"

static void db_fail(sqlite3 *db, cg_error *err, const char *what)
{
    cg_error_set(err, CG_ERR_INTERNAL, "database: %s: %s", what, sqlite3_errmsg(db));
}

/* Prepare sql and bind the strings args[0..n) (NULL binds SQL NULL). */
static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const char *const *args, int n,
                          cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int i;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_fail(db, err, "prepare");
        sqlite3_finalize(s);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (args[i])
            sqlite3_bind_text(s, i + 1, args[i], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(s, i + 1);
    }
    return s;
}

/* Run a statement without rows; the number of rows changed, or -1. */
static int change(sqlite3 *db, const char *sql, const char *const *args, int n, cg_error *err)
{
    sqlite3_stmt *s = prep(db, sql, args, n, err);
    int ret = -1;

    if (!s)
        return -1;
    if (sqlite3_step(s) == SQLITE_DONE)
        ret = sqlite3_changes(db);
    else if (sqlite3_errcode(db) == SQLITE_CONSTRAINT)
        cg_error_set(err, CG_ERR_CONFLICT, "volume %s already exists", args[0]);
    else
        db_fail(db, err, "write volume");
    sqlite3_finalize(s);
    return ret;
}

int lv_volstate_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = cg_db_exec(db, schema, err);

    lv_state_db_unlock(st);
    return ret;
}

static void col_copy(sqlite3_stmt *s, int i, char *buf, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static char *col_dup(sqlite3_stmt *s, int i, int *oom)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    char *d = NULL;

    if (t && !(d = strdup((const char *)t)))
        *oom = 1;
    return d;
}

/* A row of VOL_COLS and its tags into vol.  0 or -1 (reported). */
static int from_row(sqlite3 *db, sqlite3_stmt *s, cg_volume *vol, cg_error *err)
{
    sqlite3_stmt *t = NULL;
    const char *id;
    int oom = 0, rc, ret = -1;

    memset(vol, 0, sizeof(*vol));
    col_copy(s, 0, vol->id, sizeof(vol->id));
    vol->name = col_dup(s, 1, &oom);
    vol->description = col_dup(s, 2, &oom);
    col_copy(s, 3, vol->zone, sizeof(vol->zone));
    col_copy(s, 4, vol->format, sizeof(vol->format));
    vol->size_bytes = (unsigned long long)sqlite3_column_int64(s, 5);
    vol->created = (time_t)sqlite3_column_int64(s, 6);
    col_copy(s, 7, vol->attached_to, sizeof(vol->attached_to));
    col_copy(s, 8, vol->device, sizeof(vol->device));
    snprintf(vol->state, sizeof(vol->state), "%s", vol->attached_to[0] ? "in-use" : "available");
    id = vol->id;
    if (oom || !(t = prep(db, "SELECT key, value FROM volume_tags WHERE volume_id = ?"
                              " ORDER BY rowid", &id, 1, err)))
        goto cleanup;
    while ((rc = sqlite3_step(t)) == SQLITE_ROW) {
        if (cg_tags_set(&vol->tags, (const char *)sqlite3_column_text(t, 0),
                        (const char *)sqlite3_column_text(t, 1)) < 0) {
            oom = 1;
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        db_fail(db, err, "read volume tags");
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (oom)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    if (ret < 0)
        cg_volume_release(vol);
    sqlite3_finalize(t);
    return ret;
}

/* The INSERTs of lv_volstate_add, inside its transaction.  0 or -1. */
static int insert(sqlite3 *db, const cg_volume *vol, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    const char *row[] = {vol->id, vol->name, vol->description, vol->zone, vol->format};
    size_t i;
    int ret = -1;

    if (!(s = prep(db, "INSERT INTO volumes (" VOL_COLS ") VALUES (?,?,?,?,?,?,?,?,?)", row, 5,
                   err)))
        return -1;
    sqlite3_bind_int64(s, 6, (sqlite3_int64)vol->size_bytes);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)vol->created);
    sqlite3_bind_text(s, 8, vol->attached_to, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 9, vol->device, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_errcode(db) == SQLITE_CONSTRAINT)
            cg_error_set(err, CG_ERR_CONFLICT, "volume %s already exists", vol->id);
        else
            db_fail(db, err, "insert volume");
        goto cleanup;
    }
    for (i = 0; i < vol->tags.n; i++) {
        const char *tag[] = {vol->id, vol->tags.v[i].key,
                             vol->tags.v[i].value ? vol->tags.v[i].value : ""};

        if (change(db, "INSERT INTO volume_tags (volume_id, key, value) VALUES (?,?,?)", tag, 3,
                   err) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    return ret;
}

int lv_volstate_add(lv_state *st, const cg_volume *vol, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_exec(db, "BEGIN IMMEDIATE", err) == 0) {
        if (insert(db, vol, err) == 0 && cg_db_exec(db, "COMMIT", err) == 0)
            ret = 0;
        else
            cg_db_exec(db, "ROLLBACK", NULL);
    }
    lv_state_db_unlock(st);
    return ret;
}

int lv_volstate_get(lv_state *st, const char *id, cg_volume *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (!(s = prep(db, "SELECT " VOL_COLS " FROM volumes WHERE id = ?", &id, 1, err)))
        goto cleanup;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        ret = from_row(db, s, out, err) < 0 ? -1 : 1;
    else if (rc == SQLITE_DONE)
        ret = 0;
    else
        db_fail(db, err, "read volume");

cleanup:
    sqlite3_finalize(s);
    lv_state_db_unlock(st);
    return ret;
}

int lv_volstate_list(lv_state *st, cg_volume_list *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    cg_volume vol, *grown;
    int rc, ret = -1;

    if (!(s = prep(db, "SELECT " VOL_COLS " FROM volumes ORDER BY created, rowid", NULL, 0, err)))
        goto cleanup;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (from_row(db, s, &vol, err) < 0)
            goto cleanup;
        if (!(grown = realloc(out->v, (out->n + 1) * sizeof(*grown)))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            cg_volume_release(&vol);
            goto cleanup;
        }
        out->v = grown;
        out->v[out->n++] = vol;
    }
    if (rc != SQLITE_DONE) {
        db_fail(db, err, "list volumes");
        goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    lv_state_db_unlock(st);
    return ret;
}

/* One conditional statement under the lock: rows changed or -1. */
static int locked_change(lv_state *st, const char *sql, const char *const *args, int n,
                         cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = change(db, sql, args, n, err);

    lv_state_db_unlock(st);
    return ret;
}

int lv_volstate_delete_available(lv_state *st, const char *id, cg_error *err)
{
    int rc = locked_change(st, "DELETE FROM volumes WHERE id = ? AND instance_id = ''", &id, 1,
                           err);

    return rc < 0 ? -1 : rc > 0;
}

int lv_volstate_attach(lv_state *st, const char *id, const char *instance_id,
                       const char *device, cg_error *err)
{
    const char *args[] = {instance_id, device, id};
    int rc = locked_change(st, "UPDATE volumes SET instance_id = ?, device = ?"
                               " WHERE id = ? AND instance_id = ''", args, 3, err);

    return rc < 0 ? -1 : rc > 0;
}

int lv_volstate_detach(lv_state *st, const char *id, const char *instance_id, cg_error *err)
{
    const char *args[] = {id, instance_id};

    return locked_change(st, "UPDATE volumes SET instance_id = '', device = ''"
                             " WHERE id = ? AND instance_id = ?", args, 2, err) < 0 ? -1 : 0;
}

int lv_volstate_release_instance(lv_state *st, const char *instance_id, cg_error *err)
{
    return locked_change(st, "UPDATE volumes SET instance_id = '', device = ''"
                             " WHERE instance_id = ?", &instance_id, 1, err) < 0 ? -1 : 0;
}
