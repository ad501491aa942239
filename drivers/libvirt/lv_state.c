/* cloudgate libvirt driver: the SQLite store (schema, migrations, helpers
 * shared with lv_state_images.c, lv_state_instances.c and lv_state_known.c
 * through lv_state_int.h). */
#include "lv_state.h"
#include "lv_state_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/store.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS images ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,"
    " volume TEXT NOT NULL, owned INTEGER NOT NULL DEFAULT 0, kernel TEXT, initrd TEXT,"
    " cmdline TEXT, architecture TEXT NOT NULL, state TEXT NOT NULL,"
    " created INTEGER NOT NULL, size INTEGER NOT NULL,"
    " seed_format TEXT NOT NULL DEFAULT 'nocloud',"
    " display TEXT NOT NULL DEFAULT 'headless', source_instance TEXT NOT NULL DEFAULT '',"
    " os_type TEXT NOT NULL DEFAULT '', os_distro TEXT NOT NULL DEFAULT '',"
    " os_version TEXT NOT NULL DEFAULT '', os_arch TEXT NOT NULL DEFAULT '',"
    " os_product TEXT NOT NULL DEFAULT '', os_cloud_init INTEGER NOT NULL DEFAULT -1,"
    " state_reason TEXT NOT NULL DEFAULT '', job_id TEXT NOT NULL DEFAULT '',"
    " public INTEGER NOT NULL DEFAULT 0, launch_users TEXT NOT NULL DEFAULT '',"
    " last_launched INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS image_tags ("
    " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (image_id, key));"
    /* An image's further disks (cg_image_mapping). */
    "CREATE TABLE IF NOT EXISTS image_mappings ("
    " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " device TEXT NOT NULL, snapshot_id TEXT NOT NULL, size INTEGER NOT NULL,"
    " delete_on_termination INTEGER NOT NULL, PRIMARY KEY (image_id, device));"
    "CREATE INDEX IF NOT EXISTS image_mappings_snapshot ON image_mappings (snapshot_id);"
    "CREATE TABLE IF NOT EXISTS user_data ("
    " instance_id TEXT PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS seeds ("
    " instance_id TEXT PRIMARY KEY, format TEXT NOT NULL, public_key TEXT);"
    "CREATE TABLE IF NOT EXISTS client_tokens ("
    " token TEXT PRIMARY KEY, reservation_id TEXT NOT NULL, image_id TEXT NOT NULL,"
    " zone TEXT NOT NULL, instance_ids TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS terminated ("
    " id TEXT PRIMARY KEY, image_id TEXT NOT NULL, reservation_id TEXT NOT NULL,"
    " instance_type TEXT NOT NULL, zone TEXT NOT NULL, key_name TEXT NOT NULL,"
    " client_token TEXT NOT NULL, private_ip TEXT NOT NULL, mac TEXT NOT NULL,"
    " state_reason TEXT NOT NULL, launch_time INTEGER NOT NULL, state_time INTEGER NOT NULL,"
    " ami_launch_index INTEGER NOT NULL, vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS terminated_tags ("
    " instance_id TEXT NOT NULL REFERENCES terminated(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (instance_id, key));"
    /* The last known instances of each zone (lv_known.c). */
    "CREATE TABLE IF NOT EXISTS known ("
    " id TEXT PRIMARY KEY, image_id TEXT NOT NULL, reservation_id TEXT NOT NULL,"
    " instance_type TEXT NOT NULL, zone TEXT NOT NULL, key_name TEXT NOT NULL,"
    " client_token TEXT NOT NULL, private_ip TEXT NOT NULL, mac TEXT NOT NULL,"
    " state_reason TEXT NOT NULL, launch_time INTEGER NOT NULL, state_time INTEGER NOT NULL,"
    " ami_launch_index INTEGER NOT NULL, vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL,"
    " state INTEGER NOT NULL, sub INTEGER NOT NULL, display INTEGER NOT NULL,"
    " disable_api_termination INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS known_zone ON known (zone);"
    "CREATE TABLE IF NOT EXISTS known_tags ("
    " instance_id TEXT NOT NULL REFERENCES known(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (instance_id, key));";

void lvs_db_fail(lv_state *st, cg_error *err, const char *what)
{
    cg_error_set(err, CG_ERR_INTERNAL, "database: %s: %s", what, sqlite3_errmsg(st->db));
}

sqlite3_stmt *lvs_prep(lv_state *st, const char *sql, cg_error *err)
{
    return cg_db_prep(st->db, err, sql, "");
}

void lvs_bind_str(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* Run a statement that returns no rows; 0 or -1. */
int lvs_run(lv_state *st, sqlite3_stmt *s, cg_error *err, const char *what)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_CONSTRAINT)
            cg_error_set(err, CG_ERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(st->db));
        else
            lvs_db_fail(st, err, what);
        return -1;
    }
    return 0;
}

int lvs_exec(lv_state *st, const char *sql, cg_error *err)
{
    return cg_db_exec(st->db, sql, err);
}

/* Columns added since a table was first created: CREATE TABLE IF NOT EXISTS
 * leaves an older database's table as it was. */
static const struct {
    const char *probe;
    const char *alter;
} migrations[] = {
    {"SELECT seed_format FROM images LIMIT 0",
     "ALTER TABLE images ADD COLUMN seed_format TEXT NOT NULL DEFAULT 'nocloud'"},
    {"SELECT display FROM images LIMIT 0",
     "ALTER TABLE images ADD COLUMN display TEXT NOT NULL DEFAULT 'headless'"},
    {"SELECT source_instance FROM images LIMIT 0",
     "ALTER TABLE images ADD COLUMN source_instance TEXT NOT NULL DEFAULT ''"},
    {"SELECT os_type FROM images LIMIT 0",
     "ALTER TABLE images ADD COLUMN os_type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN os_distro TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN os_version TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN os_arch TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN os_product TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN os_cloud_init INTEGER NOT NULL DEFAULT -1;"
     "ALTER TABLE images ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN job_id TEXT NOT NULL DEFAULT ''"},
    /* EC2 launch permissions: group "all", and account ids (space-separated);
     * EC2 lastLaunchedTime. */
    {"SELECT public FROM images LIMIT 0",
     "ALTER TABLE images ADD COLUMN public INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE images ADD COLUMN launch_users TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE images ADD COLUMN last_launched INTEGER NOT NULL DEFAULT 0"},
};

static int migrate(lv_state *st, cg_error *err)
{
    sqlite3_stmt *s;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
        s = NULL;
        rc = sqlite3_prepare_v2(st->db, migrations[i].probe, -1, &s, NULL);
        sqlite3_finalize(s);
        if (rc != SQLITE_OK && lvs_exec(st, migrations[i].alter, err) < 0)
            return -1;
    }
    return 0;
}

lv_state *lv_state_open(const cg_config *cfg, cg_error *err)
{
    lv_state *st = calloc(1, sizeof(*st));

    if (!st) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->watch_lock, NULL);
    if (!(st->db = cg_db_open(cfg, err)) || lvs_exec(st, schema, err) < 0 || migrate(st, err) < 0 ||
        !(st->watch = cg_db_open(cfg, err))) {
        lv_state_close(st);
        return NULL;
    }
    return st;
}

void lv_state_close(lv_state *st)
{
    if (!st)
        return;
    cg_db_close(st->watch);
    cg_db_close(st->db);
    pthread_mutex_destroy(&st->watch_lock);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* ---- tags (shared by images and terminated instances) ---- */

int lvs_tags_write(lv_state *st, const char *table, const char *col, const char *id,
                   const cg_tags *tags, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    char sql[160];
    size_t i;
    int ret = -1;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?", table, col);
    if (!(s = lvs_prep(st, sql, err)))
        goto cleanup;
    lvs_bind_str(s, 1, id);
    if (lvs_run(st, s, err, "delete tags") < 0)
        goto cleanup;
    cg_db_done(s);
    snprintf(sql, sizeof(sql), "INSERT INTO %s (%s, key, value) VALUES (?, ?, ?)", table, col);
    if (!(s = lvs_prep(st, sql, err)))
        goto cleanup;
    for (i = 0; tags && i < tags->n; i++) {
        sqlite3_reset(s);
        lvs_bind_str(s, 1, id);
        lvs_bind_str(s, 2, tags->v[i].key);
        lvs_bind_str(s, 3, tags->v[i].value ? tags->v[i].value : "");
        if (lvs_run(st, s, err, "insert tag") < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    cg_db_done(s);
    return ret;
}

int lvs_tags_read(lv_state *st, const char *table, const char *col, const char *id, cg_tags *out,
                  cg_error *err)
{
    sqlite3_stmt *s = NULL;
    char sql[160];
    int rc, ret = -1;

    /* rowid order is insertion order: tags come back as they were set. */
    snprintf(sql, sizeof(sql), "SELECT key, value FROM %s WHERE %s = ? ORDER BY rowid", table, col);
    if (!(s = lvs_prep(st, sql, err)))
        goto cleanup;
    lvs_bind_str(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cg_tags_set(out, (const char *)sqlite3_column_text(s, 0),
                        (const char *)sqlite3_column_text(s, 1)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        lvs_db_fail(st, err, "read tags");
        goto cleanup;
    }
    ret = 0;

cleanup:
    cg_db_done(s);
    return ret;
}

/* Close a BEGIN IMMEDIATE: COMMIT when ok, else ROLLBACK.  0 or -1. */
int lvs_tx_end(lv_state *st, int ok, cg_error *err)
{
    return cg_db_end(st->db, ok, err);
}

/* DELETE FROM table WHERE col = id; returns rows deleted or -1. */
int lvs_delete_by_id(lv_state *st, const char *table, const char *col, const char *id,
                     cg_error *err)
{
    sqlite3_stmt *s;
    char sql[128];
    int ret = -1;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?", table, col);
    if (!(s = lvs_prep(st, sql, err)))
        return -1;
    lvs_bind_str(s, 1, id);
    if (lvs_run(st, s, err, "delete") == 0)
        ret = sqlite3_changes(st->db);
    cg_db_done(s);
    return ret;
}

sqlite3 *lv_state_db_lock(lv_state *st)
{
    pthread_mutex_lock(&st->lock);
    return st->db;
}

void lv_state_db_unlock(lv_state *st)
{
    pthread_mutex_unlock(&st->lock);
}

uint64_t lv_state_version(lv_state *st)
{
    long long now;
    uint64_t v;

    pthread_mutex_lock(&st->watch_lock);
    /* SQLite moves a connection's data_version with every commit of any
     * other connection: the watch sees this store's own (on db) as well as
     * the admin CLI's and the job store's, and reads no table. */
    if (cg_db_int(st->watch, NULL, &now, "PRAGMA data_version", "") == 1 && now >= st->data_version)
        st->data_version = now;
    else
        st->version_misses++;
    v = (uint64_t)st->data_version + st->version_misses;
    pthread_mutex_unlock(&st->watch_lock);
    return v;
}
