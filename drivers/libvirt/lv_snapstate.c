/* cloudgate libvirt driver: snapshot records in SQLite (lv_snapstate_*).
 *
 * libvirt knows a snapshot's bytes (the volume "<snap-id>.qcow2" in its
 * zone's pool, or the one named in volume_name: the snapshot recorded when
 * an image is published is the image's own volume in that zone); this
 * table knows what EC2 says about it: source, state, progress,
 * description, tags, and the image that uses it.  Deleting is one
 * conditional statement (no live image, not pending unless forced), so a
 * delete racing with an image taking the snapshot cannot both win.  An
 * image_id whose image row is gone (a crash between deregistering and
 * releasing) does not hold the snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../../gateway/store.h"
#include "lv_driver.h"
#include "lv_rows.h"

/* Most tags one snapshot carries (EC2's limit per resource). */
#define SNAP_TAGS_MAX 50

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS snapshots ("
    " id TEXT PRIMARY KEY, volume_id TEXT NOT NULL, zone TEXT NOT NULL,"
    " state TEXT NOT NULL, progress INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL,"
    " started INTEGER NOT NULL, description TEXT, owner TEXT NOT NULL,"
    " image_id TEXT NOT NULL DEFAULT '', copy_of TEXT NOT NULL DEFAULT '',"
    " job_id TEXT NOT NULL DEFAULT '', volume_name TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS snapshot_tags ("
    " snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (snapshot_id, key));";

#define SNAP_COLS                                                                        \
    "id, volume_id, zone, state, progress, size, started, description, owner, image_id, " \
    "copy_of, job_id"
/* SNAP_COLS as read: an image_id naming no image reads as "". */
#define SNAP_READ                                                                        \
    "id, volume_id, zone, state, progress, size, started, description, owner,"            \
    " CASE WHEN image_id IN (SELECT id FROM images) THEN image_id ELSE '' END,"            \
    " copy_of, job_id"

/* "the image row is gone or there is none" (image_id of snapshots). */
#define NO_LIVE_IMAGE "(image_id = '' OR image_id NOT IN (SELECT id FROM images))"

int lv_snapstate_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *probe = NULL;
    int ret = cg_db_exec(db, schema, err);

    /* volume_name came after the table: an older database lacks it. */
    if (ret == 0 &&
        sqlite3_prepare_v2(db, "SELECT volume_name FROM snapshots LIMIT 0", -1, &probe, NULL) !=
            SQLITE_OK)
        ret = cg_db_exec(db, "ALTER TABLE snapshots ADD COLUMN volume_name TEXT NOT NULL"
                             " DEFAULT ''", err);
    sqlite3_finalize(probe);
    lv_state_db_unlock(st);
    return ret;
}

/* A row of SNAP_COLS and its tags into snap.  0 or -1 (reported). */
static int from_row(sqlite3 *db, sqlite3_stmt *s, cg_snapshot *snap, cg_error *err)
{
    sqlite3_stmt *t = NULL;
    int oom = 0, rc, ret = -1;

    memset(snap, 0, sizeof(*snap));
    cg_db_col_copy(s, 0, snap->id, sizeof(snap->id));
    cg_db_col_copy(s, 1, snap->volume_id, sizeof(snap->volume_id));
    cg_db_col_copy(s, 2, snap->zone, sizeof(snap->zone));
    cg_db_col_copy(s, 3, snap->state, sizeof(snap->state));
    snap->progress = sqlite3_column_int(s, 4);
    snap->size_bytes = (unsigned long long)sqlite3_column_int64(s, 5);
    snap->started = (time_t)sqlite3_column_int64(s, 6);
    snap->description = cg_db_col_dup(s, 7, &oom);
    cg_db_col_copy(s, 8, snap->owner, sizeof(snap->owner));
    cg_db_col_copy(s, 9, snap->image_id, sizeof(snap->image_id));
    cg_db_col_copy(s, 10, snap->copy_of, sizeof(snap->copy_of));
    cg_db_col_copy(s, 11, snap->job_id, sizeof(snap->job_id));
    if (oom || !(t = cg_db_prep(db, err, "SELECT key, value FROM snapshot_tags"
                                         " WHERE snapshot_id = ? ORDER BY rowid", "s", snap->id)))
        goto cleanup;
    while ((rc = cg_db_step(t, err, "read snapshot tags")) == 1) {
        if (cg_tags_set(&snap->tags, (const char *)sqlite3_column_text(t, 0),
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
        cg_snapshot_release(snap);
    cg_db_done(t);
    return ret;
}

/* Set (or, remove, delete) tags of snapshot id inside a transaction.  0 or -1. */
static int write_tags(sqlite3 *db, const char *id, const cg_tags *tags, int remove,
                      cg_error *err)
{
    long long n = 0;
    size_t i;

    for (i = 0; tags && i < tags->n; i++) {
        const char *v = tags->v[i].value;
        int rc;

        if (remove)
            rc = cg_db_run(db, err, "delete snapshot tag",
                           "DELETE FROM snapshot_tags WHERE snapshot_id = ? AND key = ?"
                           " AND (?3 IS NULL OR value = ?3)", "sss", id, tags->v[i].key, v);
        else
            rc = cg_db_run(db, err, "set snapshot tag",
                           "INSERT INTO snapshot_tags (snapshot_id, key, value) VALUES (?,?,?)"
                           " ON CONFLICT (snapshot_id, key) DO UPDATE SET value = excluded.value",
                           "sss", id, tags->v[i].key, v ? v : "");
        if (rc < 0)
            return -1;
    }
    if (cg_db_int(db, err, &n, "SELECT COUNT(*) FROM snapshot_tags WHERE snapshot_id = ?", "s",
                  id) < 0)
        return -1;
    if (n > SNAP_TAGS_MAX) {
        cg_error_set(err, CG_ERR_INVALID, "a snapshot carries at most %d tags", SNAP_TAGS_MAX);
        return -1;
    }
    return 0;
}

static int insert(sqlite3 *db, const cg_snapshot *snap, const char *volume_name,
                  cg_error *err)
{
    if (cg_db_run(db, err, "insert snapshot",
                  "INSERT INTO snapshots (" SNAP_COLS ", volume_name)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  "ssssiIIssssss", snap->id, snap->volume_id, snap->zone, snap->state,
                  snap->progress, (long long)snap->size_bytes, (long long)snap->started,
                  snap->description, snap->owner, snap->image_id, snap->copy_of,
                  snap->job_id, volume_name ? volume_name : "") < 0)
        return -1;
    return write_tags(db, snap->id, &snap->tags, 0, err);
}

int lv_snapstate_add_on(lv_state *st, const cg_snapshot *snap, const char *volume_name,
                        cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, insert(db, snap, volume_name, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_snapstate_add_mapped(lv_state *st, const cg_snapshot *snap, const char *volume_name,
                            const char *image_id, const cg_image_mapping *m, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    /* One transaction: the pending image's discard finds every snapshot
     * that exists through its mappings. */
    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db,
                        insert(db, snap, volume_name, err) == 0 &&
                            cg_db_run(db, err, "insert image mapping",
                                      "INSERT INTO image_mappings (image_id, device, snapshot_id,"
                                      " size, delete_on_termination) VALUES (?, ?, ?, ?, ?)",
                                      "sssIi", image_id, m->device, snap->id,
                                      (long long)m->size_bytes, m->delete_on_termination != 0) == 1,
                        err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_snapstate_add(lv_state *st, const cg_snapshot *snap, cg_error *err)
{
    return lv_snapstate_add_on(st, snap, NULL, err);
}

int lv_snapstate_storage(lv_state *st, const char *id, char *buf, size_t len, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    int rc = -1;

    if ((s = cg_db_prep(db, err, "SELECT volume_name FROM snapshots WHERE id = ?", "s", id)) &&
        (rc = cg_db_step(s, err, "read snapshot volume")) == 1) {
        cg_db_col_copy(s, 0, buf, len);
        if (!buf[0])
            snprintf(buf, len, "%s.qcow2", id);
    } else if (rc == 0) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", id);
        rc = -1;
    }
    cg_db_done(s);
    lv_state_db_unlock(st);
    return rc == 1 ? 0 : -1;
}

int lv_snapstate_claim(lv_state *st, const char *id, const char *image_id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc = cg_db_run(db, err, "claim snapshot",
                       "UPDATE snapshots SET image_id = ? WHERE id = ? AND state = 'completed'"
                       " AND " NO_LIVE_IMAGE, "ss", image_id, id);

    lv_state_db_unlock(st);
    return rc < 0 ? -1 : rc > 0;
}

int lv_snapstate_release_image(lv_state *st, const char *image_id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc = cg_db_run(db, err, "release snapshot",
                       "UPDATE snapshots SET image_id = '' WHERE image_id = ?", "s", image_id);

    lv_state_db_unlock(st);
    return rc < 0 ? -1 : 0;
}

int lv_snapstate_image_roots(lv_state *st, cg_image_list *images, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    char own[64], vol[64];
    size_t i;
    int rc = -1;

    if (!(s = cg_db_prep(db, err, "SELECT id, image_id, zone, volume_name FROM snapshots"
                                  " WHERE image_id <> ''", NULL)))
        goto cleanup;
    while ((rc = cg_db_step(s, err, "read image snapshots")) == 1) {
        const char *sid = (const char *)sqlite3_column_text(s, 0);
        const char *iid = (const char *)sqlite3_column_text(s, 1);

        cg_db_col_copy(s, 3, vol, sizeof(vol));
        if (!vol[0])
            snprintf(vol, sizeof(vol), "%s.qcow2", sid);
        for (i = 0; i < images->n; i++) {
            cg_image *img = &images->v[i];

            if (strcmp(img->id, iid) != 0)
                continue;
            snprintf(img->root_snapshot, sizeof(img->root_snapshot), "%s", sid);
            /* A disk named after the image itself is its own, copied to
             * every zone; any other is the snapshot's, in its zone only. */
            snprintf(own, sizeof(own), "%s.", img->id);
            if (img->volume && strncmp(img->volume, own, strlen(own)) != 0 &&
                strcmp(img->volume, vol) == 0)
                cg_db_col_copy(s, 2, img->zone, sizeof(img->zone));
        }
    }

cleanup:
    cg_db_done(s);
    lv_state_db_unlock(st);
    return rc < 0 ? -1 : 0;
}

int lv_snapstate_get(lv_state *st, const char *id, cg_snapshot *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (!(s = cg_db_prep(db, err, "SELECT " SNAP_READ " FROM snapshots WHERE id = ?", "s", id)))
        goto cleanup;
    rc = cg_db_step(s, err, "read snapshot");
    ret = rc == 1 ? (from_row(db, s, out, err) < 0 ? -1 : 1) : rc;

cleanup:
    cg_db_done(s);
    lv_state_db_unlock(st);
    return ret;
}

int lv_snapstate_list(lv_state *st, cg_snapshot_list *out, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s;
    cg_snapshot snap, *grown;
    int rc, ret = -1;

    if (!(s = cg_db_prep(db, err, "SELECT " SNAP_READ " FROM snapshots ORDER BY started, rowid",
                         NULL)))
        goto cleanup;
    while ((rc = cg_db_step(s, err, "list snapshots")) == 1) {
        if (from_row(db, s, &snap, err) < 0)
            goto cleanup;
        if (!(grown = lv_rows_grow((void **)&out->v, out->n, sizeof(*grown), err))) {
            cg_snapshot_release(&snap);
            goto cleanup;
        }
        *grown = snap;
        out->n++;
    }
    if (rc == 0)
        ret = 0;

cleanup:
    cg_db_done(s);
    lv_state_db_unlock(st);
    return ret;
}

int lv_snapstate_progress(lv_state *st, const char *id, int progress, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc = cg_db_run(db, err, "snapshot progress",
                       "UPDATE snapshots SET progress = ? WHERE id = ? AND state = 'pending'",
                       "is", progress, id);

    lv_state_db_unlock(st);
    return rc < 0 ? -1 : 0;
}

int lv_snapstate_complete(lv_state *st, const char *id, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc = cg_db_run(db, err, "complete snapshot",
                       "UPDATE snapshots SET state = 'completed', progress = 100, job_id = ''"
                       " WHERE id = ? AND state = 'pending'", "s", id);

    lv_state_db_unlock(st);
    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s is no longer pending", id);
    return rc == 1 ? 0 : -1;
}

int lv_snapstate_delete(lv_state *st, const char *id, int force, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int rc = cg_db_run(db, err, "delete snapshot",
                       "DELETE FROM snapshots WHERE id = ?1 AND " NO_LIVE_IMAGE
                       " AND (state <> 'pending' OR ?2)"
                       " AND ?1 NOT IN (SELECT snapshot_id FROM image_mappings)",
                       "si", id, force);

    lv_state_db_unlock(st);
    return rc < 0 ? -1 : rc > 0;
}

int lv_snapstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove,
                      cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    long long found = 0;
    int ok, ret = -1;

    if (cg_db_begin(db, err) < 0)
        goto cleanup;
    ok = cg_db_int(db, err, &found, "SELECT 1 FROM snapshots WHERE id = ?", "s", id) >= 0;
    if (ok && !found) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", id);
        ok = 0;
    }
    ok = ok && write_tags(db, id, tags, remove, err) == 0;
    ret = cg_db_end(db, ok, err) == 0 && ok ? 0 : -1;

cleanup:
    lv_state_db_unlock(st);
    return ret;
}
