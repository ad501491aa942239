/* cloudgate libvirt driver: images, user-data, cloud-init seeds, client
 * tokens and terminated instances in SQLite. */
#include "lv_state.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/store.h"

struct lv_state {
    sqlite3 *db;
    /* The handle is shared by worker threads; BEGIN..COMMIT spans several
     * calls, so one thread's transaction must not take in another's rows. */
    pthread_mutex_t lock;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS images ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,"
    " volume TEXT NOT NULL, owned INTEGER NOT NULL DEFAULT 0, kernel TEXT, initrd TEXT,"
    " cmdline TEXT, architecture TEXT NOT NULL, state TEXT NOT NULL,"
    " created INTEGER NOT NULL, size INTEGER NOT NULL,"
    " seed_format TEXT NOT NULL DEFAULT 'nocloud',"
    " display TEXT NOT NULL DEFAULT 'headless', source_instance TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS image_tags ("
    " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (image_id, key));"
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
    " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (instance_id, key));";

static void db_fail(lv_state *st, cg_error *err, const char *what)
{
    cg_error_set(err, CG_ERR_INTERNAL, "database: %s: %s", what, sqlite3_errmsg(st->db));
}

static sqlite3_stmt *prep(lv_state *st, const char *sql, cg_error *err)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_fail(st, err, "prepare");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* malloc'd copy of a text column, NULL for SQL NULL; *oom set on failure. */
static char *col_dup(sqlite3_stmt *s, int i, int *oom)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    char *d;

    if (!t)
        return NULL;
    if (!(d = strdup((const char *)t)))
        *oom = 1;
    return d;
}

static void col_copy(sqlite3_stmt *s, int i, char *buf, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    strncpy(buf, t ? (const char *)t : "", size - 1);
    buf[size - 1] = '\0';
}

/* Run a statement that returns no rows; 0 or -1. */
static int run(lv_state *st, sqlite3_stmt *s, cg_error *err, const char *what)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_CONSTRAINT)
            cg_error_set(err, CG_ERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(st->db));
        else
            db_fail(st, err, what);
        return -1;
    }
    return 0;
}

static int exec(lv_state *st, const char *sql, cg_error *err)
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
        if (rc != SQLITE_OK && exec(st, migrations[i].alter, err) < 0)
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
    if (!(st->db = cg_db_open(cfg, err)) || exec(st, schema, err) < 0 || migrate(st, err) < 0) {
        lv_state_close(st);
        return NULL;
    }
    return st;
}

void lv_state_close(lv_state *st)
{
    if (!st)
        return;
    cg_db_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* ---- tags (shared by images and terminated instances) ---- */

static int tags_write(lv_state *st, const char *table, const char *col, const char *id,
                      const cg_tags *tags, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    char sql[160];
    size_t i;
    int ret = -1;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?", table, col);
    if (!(s = prep(st, sql, err)))
        goto cleanup;
    bind_str(s, 1, id);
    if (run(st, s, err, "delete tags") < 0)
        goto cleanup;
    sqlite3_finalize(s);
    snprintf(sql, sizeof(sql), "INSERT INTO %s (%s, key, value) VALUES (?, ?, ?)", table, col);
    if (!(s = prep(st, sql, err)))
        goto cleanup;
    for (i = 0; tags && i < tags->n; i++) {
        sqlite3_reset(s);
        bind_str(s, 1, id);
        bind_str(s, 2, tags->v[i].key);
        bind_str(s, 3, tags->v[i].value ? tags->v[i].value : "");
        if (run(st, s, err, "insert tag") < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    return ret;
}

static int tags_read(lv_state *st, const char *table, const char *col, const char *id,
                     cg_tags *out, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    char sql[160];
    int rc, ret = -1;

    /* rowid order is insertion order: tags come back as they were set. */
    snprintf(sql, sizeof(sql), "SELECT key, value FROM %s WHERE %s = ? ORDER BY rowid", table,
             col);
    if (!(s = prep(st, sql, err)))
        goto cleanup;
    bind_str(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (cg_tags_set(out, (const char *)sqlite3_column_text(s, 0),
                        (const char *)sqlite3_column_text(s, 1)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        db_fail(st, err, "read tags");
        goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    return ret;
}

/* Close a BEGIN IMMEDIATE: COMMIT when ok, else ROLLBACK.  0 or -1. */
static int tx_end(lv_state *st, int ok, cg_error *err)
{
    if (ok && exec(st, "COMMIT", err) == 0)
        return 0;
    cg_db_exec(st->db, "ROLLBACK", NULL);
    return -1;
}

/* ---- images ---- */

#define IMAGE_COLS                                                                          \
    "id, name, description, volume, owned, kernel, initrd, cmdline, architecture, state, " \
    "created, size, seed_format, display, source_instance"

/* The INSERTs of lv_state_image_add, inside its transaction. */
static int image_insert(lv_state *st, const cg_image *img, int owned, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int ret = -1;

    if (!(s = prep(st, "INSERT INTO images (" IMAGE_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   err)))
        goto cleanup;
    bind_str(s, 1, img->id);
    bind_str(s, 2, img->name);
    bind_str(s, 3, img->description);
    bind_str(s, 4, img->volume);
    sqlite3_bind_int(s, 5, owned);
    bind_str(s, 6, img->kernel);
    bind_str(s, 7, img->initrd);
    bind_str(s, 8, img->cmdline);
    bind_str(s, 9, img->architecture);
    bind_str(s, 10, img->state);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)img->created);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)img->size_bytes);
    bind_str(s, 13, img->seed_format[0] ? img->seed_format : "nocloud");
    bind_str(s, 14, cg_display_name(img->display ? img->display : CG_DISPLAY_HEADLESS));
    bind_str(s, 15, img->source_instance);
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_errcode(st->db) == SQLITE_CONSTRAINT)
            cg_error_set(err, CG_ERR_CONFLICT, "an image named '%s' already exists", img->name);
        else
            db_fail(st, err, "insert image");
        goto cleanup;
    }
    ret = tags_write(st, "image_tags", "image_id", img->id, &img->tags, err);

cleanup:
    sqlite3_finalize(s);
    return ret;
}

int lv_state_image_add(lv_state *st, const cg_image *img, int owned, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = tx_end(st, image_insert(st, img, owned, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

/* Fill img from a row of IMAGE_COLS.  0 or -1 (OOM). */
static int image_from_row(sqlite3_stmt *s, cg_image *img, int *owned)
{
    int oom = 0;

    memset(img, 0, sizeof(*img));
    col_copy(s, 0, img->id, sizeof(img->id));
    img->name = col_dup(s, 1, &oom);
    img->description = col_dup(s, 2, &oom);
    img->volume = col_dup(s, 3, &oom);
    if (owned)
        *owned = sqlite3_column_int(s, 4);
    img->kernel = col_dup(s, 5, &oom);
    img->initrd = col_dup(s, 6, &oom);
    img->cmdline = col_dup(s, 7, &oom);
    col_copy(s, 8, img->architecture, sizeof(img->architecture));
    col_copy(s, 9, img->state, sizeof(img->state));
    img->created = (time_t)sqlite3_column_int64(s, 10);
    img->size_bytes = (unsigned long long)sqlite3_column_int64(s, 11);
    col_copy(s, 12, img->seed_format, sizeof(img->seed_format));
    if (!sqlite3_column_text(s, 13) ||
        cg_display_parse((const char *)sqlite3_column_text(s, 13), &img->display) < 0)
        img->display = CG_DISPLAY_HEADLESS;
    col_copy(s, 14, img->source_instance, sizeof(img->source_instance));
    if (oom) {
        cg_image_release(img);
        return -1;
    }
    return 0;
}

int lv_state_image_get(lv_state *st, const char *id, cg_image *out, int *owned, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    if (!(s = prep(st, "SELECT " IMAGE_COLS " FROM images WHERE id = ?", err)))
        goto cleanup;
    bind_str(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        db_fail(st, err, "read image");
        goto cleanup;
    }
    if (image_from_row(s, out, owned) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (tags_read(st, "image_tags", "image_id", id, &out->tags, err) < 0) {
        cg_image_release(out);
        goto cleanup;
    }
    ret = 1;

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_image_list(lv_state *st, cg_image_list *out, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    cg_image img;
    cg_image *grown;
    int rc, ret = -1;

    pthread_mutex_lock(&st->lock);
    if (!(s = prep(st, "SELECT " IMAGE_COLS " FROM images ORDER BY created, rowid", err)))
        goto cleanup;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (image_from_row(s, &img, NULL) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        if (tags_read(st, "image_tags", "image_id", img.id, &img.tags, err) < 0 ||
            !(grown = realloc(out->v, (out->n + 1) * sizeof(*grown)))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            cg_image_release(&img);
            goto cleanup;
        }
        out->v = grown;
        out->v[out->n++] = img;
    }
    if (rc != SQLITE_DONE) {
        db_fail(st, err, "list images");
        goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

/* DELETE FROM table WHERE col = id; returns rows deleted or -1. */
static int delete_by_id(lv_state *st, const char *table, const char *col, const char *id,
                        cg_error *err)
{
    sqlite3_stmt *s;
    char sql[128];
    int ret = -1;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?", table, col);
    if (!(s = prep(st, sql, err)))
        return -1;
    bind_str(s, 1, id);
    if (run(st, s, err, "delete") == 0)
        ret = sqlite3_changes(st->db);
    sqlite3_finalize(s);
    return ret;
}

int lv_state_image_delete(lv_state *st, const char *id, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = delete_by_id(st, "images", "id", id, err);
    pthread_mutex_unlock(&st->lock);
    return ret < 0 ? -1 : ret > 0;
}

int lv_state_image_set_tags(lv_state *st, const char *id, const cg_tags *tags, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = tx_end(st, tags_write(st, "image_tags", "image_id", id, tags, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_image_set_display(lv_state *st, const char *id, cg_display display, cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = prep(st, "UPDATE images SET display = ? WHERE id = ?", err))) {
        bind_str(s, 1, cg_display_name(display));
        bind_str(s, 2, id);
        ret = run(st, s, err, "store the image's display");
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
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

/* ---- user-data ---- */

int lv_state_user_data_put(lv_state *st, const char *id, const unsigned char *data, size_t len,
                           cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = prep(st, "INSERT OR REPLACE INTO user_data (instance_id, data) VALUES (?, ?)",
                  err))) {
        bind_str(s, 1, id);
        sqlite3_bind_blob64(s, 2, data ? (const void *)data : "", len, SQLITE_TRANSIENT);
        ret = run(st, s, err, "store user-data");
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_user_data_get(lv_state *st, const char *id, unsigned char **data, size_t *len,
                           cg_error *err)
{
    sqlite3_stmt *s = NULL;
    const void *blob;
    size_t n;
    int rc, ret = -1;

    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&st->lock);
    if (!(s = prep(st, "SELECT data FROM user_data WHERE instance_id = ?", err)))
        goto cleanup;
    bind_str(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        db_fail(st, err, "read user-data");
        goto cleanup;
    }
    blob = sqlite3_column_blob(s, 0);
    n = (size_t)sqlite3_column_bytes(s, 0);
    if (!(*data = malloc(n + 1))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (n)
        memcpy(*data, blob, n);
    (*data)[n] = '\0';
    *len = n;
    ret = 1;

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_user_data_delete(lv_state *st, const char *id, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = delete_by_id(st, "user_data", "instance_id", id, err);
    pthread_mutex_unlock(&st->lock);
    return ret < 0 ? -1 : 0;
}

/* ---- cloud-init seeds ---- */

int lv_state_seed_put(lv_state *st, const char *id, const char *format, const char *public_key,
                      cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = prep(st,
                  "INSERT OR REPLACE INTO seeds (instance_id, format, public_key)"
                  " VALUES (?, ?, ?)",
                  err))) {
        bind_str(s, 1, id);
        bind_str(s, 2, format);
        bind_str(s, 3, public_key);
        ret = run(st, s, err, "store seed");
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_seed_get(lv_state *st, const char *id, char *format, size_t format_len,
                      char **public_key, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc, oom = 0, ret = -1;

    *public_key = NULL;
    pthread_mutex_lock(&st->lock);
    if (!(s = prep(st, "SELECT format, public_key FROM seeds WHERE instance_id = ?", err)))
        goto cleanup;
    bind_str(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        db_fail(st, err, "read seed");
        goto cleanup;
    }
    col_copy(s, 0, format, format_len);
    *public_key = col_dup(s, 1, &oom);
    if (oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    ret = 1;

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_seed_delete(lv_state *st, const char *id, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = delete_by_id(st, "seeds", "instance_id", id, err);
    pthread_mutex_unlock(&st->lock);
    return ret < 0 ? -1 : 0;
}

/* ---- client tokens ---- */

void lv_token_release(lv_token *tok)
{
    if (!tok)
        return;
    free(tok->instance_ids);
    tok->instance_ids = NULL;
}

int lv_state_token_claim(lv_state *st, const char *token, const lv_token *mine,
                         lv_token *existing, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int oom = 0, ret = -1;

    memset(existing, 0, sizeof(*existing));
    pthread_mutex_lock(&st->lock);
    if (!(s = prep(st,
                   "INSERT OR IGNORE INTO client_tokens (token, reservation_id, image_id, zone,"
                   " created) VALUES (?, ?, ?, ?, strftime('%s','now'))",
                   err)))
        goto cleanup;
    bind_str(s, 1, token);
    bind_str(s, 2, mine->reservation_id);
    bind_str(s, 3, mine->image_id);
    bind_str(s, 4, mine->zone);
    if (run(st, s, err, "claim client token") < 0)
        goto cleanup;
    /* Under the lock no other thread's statement ran in between. */
    if (sqlite3_changes(st->db) == 1) {
        ret = 1;
        goto cleanup;
    }
    sqlite3_finalize(s);
    if (!(s = prep(st,
                   "SELECT reservation_id, image_id, zone, instance_ids FROM client_tokens"
                   " WHERE token = ?",
                   err)))
        goto cleanup;
    bind_str(s, 1, token);
    if (sqlite3_step(s) != SQLITE_ROW) {
        db_fail(st, err, "read client token");
        goto cleanup;
    }
    col_copy(s, 0, existing->reservation_id, sizeof(existing->reservation_id));
    col_copy(s, 1, existing->image_id, sizeof(existing->image_id));
    col_copy(s, 2, existing->zone, sizeof(existing->zone));
    existing->instance_ids = col_dup(s, 3, &oom);
    if (oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_token_finish(lv_state *st, const char *token, const char *instance_ids,
                          cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = prep(st, "UPDATE client_tokens SET instance_ids = ? WHERE token = ?", err))) {
        bind_str(s, 1, instance_ids);
        bind_str(s, 2, token);
        ret = run(st, s, err, "record client token");
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_token_drop(lv_state *st, const char *token, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = delete_by_id(st, "client_tokens", "token", token, err);
    pthread_mutex_unlock(&st->lock);
    return ret < 0 ? -1 : 0;
}

/* ---- terminated instances ---- */

#define TERM_COLS                                                                       \
    "id, image_id, reservation_id, instance_type, zone, key_name, client_token, "      \
    "private_ip, mac, state_reason, launch_time, state_time, ami_launch_index, vcpus, " \
    "memory_mib"

/* The statements of lv_state_terminated_add, inside its transaction. */
static int terminated_insert(lv_state *st, const cg_instance *inst, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int ret = -1;

    if (!(s = prep(st,
                   "INSERT OR REPLACE INTO terminated (" TERM_COLS ") VALUES"
                   " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   err)))
        goto cleanup;
    bind_str(s, 1, inst->id);
    bind_str(s, 2, inst->image_id);
    bind_str(s, 3, inst->reservation_id);
    bind_str(s, 4, inst->instance_type);
    bind_str(s, 5, inst->zone);
    bind_str(s, 6, inst->key_name);
    bind_str(s, 7, inst->client_token);
    bind_str(s, 8, inst->private_ip);
    bind_str(s, 9, inst->mac);
    bind_str(s, 10, inst->state_reason);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)inst->launch_time);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)inst->state_time);
    sqlite3_bind_int64(s, 13, inst->ami_launch_index);
    sqlite3_bind_int64(s, 14, inst->vcpus);
    sqlite3_bind_int64(s, 15, inst->memory_mib);
    if (run(st, s, err, "store terminated instance") < 0 ||
        tags_write(st, "terminated_tags", "instance_id", inst->id, &inst->tags, err) < 0 ||
        delete_by_id(st, "user_data", "instance_id", inst->id, err) < 0 ||
        delete_by_id(st, "seeds", "instance_id", inst->id, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    return ret;
}

int lv_state_terminated_add(lv_state *st, const cg_instance *inst, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = tx_end(st, terminated_insert(st, inst, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

static void term_from_row(sqlite3_stmt *s, cg_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
    col_copy(s, 0, inst->id, sizeof(inst->id));
    col_copy(s, 1, inst->image_id, sizeof(inst->image_id));
    col_copy(s, 2, inst->reservation_id, sizeof(inst->reservation_id));
    col_copy(s, 3, inst->instance_type, sizeof(inst->instance_type));
    col_copy(s, 4, inst->zone, sizeof(inst->zone));
    col_copy(s, 5, inst->key_name, sizeof(inst->key_name));
    col_copy(s, 6, inst->client_token, sizeof(inst->client_token));
    col_copy(s, 7, inst->private_ip, sizeof(inst->private_ip));
    col_copy(s, 8, inst->mac, sizeof(inst->mac));
    col_copy(s, 9, inst->state_reason, sizeof(inst->state_reason));
    inst->launch_time = (time_t)sqlite3_column_int64(s, 10);
    inst->state_time = (time_t)sqlite3_column_int64(s, 11);
    inst->ami_launch_index = (unsigned)sqlite3_column_int64(s, 12);
    inst->vcpus = (unsigned)sqlite3_column_int64(s, 13);
    inst->memory_mib = (unsigned)sqlite3_column_int64(s, 14);
    inst->state = CG_STATE_TERMINATED;
}

/* Rows of `sql` (TERM_COLS, its one parameter bound to id, or else to
 * since) appended to out. */
static int term_query(lv_state *st, const char *sql, const char *id, time_t since,
                      cg_instance_list *out, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    cg_instance inst;
    int rc, ret = -1;

    if (!(s = prep(st, sql, err)))
        return -1;
    if (id)
        bind_str(s, 1, id);
    else
        sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        term_from_row(s, &inst);
        if (tags_read(st, "terminated_tags", "instance_id", inst.id, &inst.tags, err) < 0) {
            cg_instance_release(&inst);
            goto cleanup;
        }
        rc = cg_instance_list_append(out, &inst);
        cg_instance_release(&inst);
        if (rc < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        db_fail(st, err, "read terminated instances");
        goto cleanup;
    }
    ret = 0;

cleanup:
    sqlite3_finalize(s);
    return ret;
}

int lv_state_terminated_get(lv_state *st, const char *id, cg_instance *out, cg_error *err)
{
    cg_instance_list l = {0};
    int ret = -1;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    if (term_query(st, "SELECT " TERM_COLS " FROM terminated WHERE id = ?", id, 0, &l, err) ==
        0) {
        ret = l.n > 0;
        if (ret) {
            *out = l.v[0];
            l.n = 0;
        }
    }
    pthread_mutex_unlock(&st->lock);
    cg_instance_list_release(&l);
    return ret;
}

int lv_state_terminated_list(lv_state *st, time_t since, cg_instance_list *out,
                             cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = term_query(st,
                     "SELECT " TERM_COLS " FROM terminated WHERE state_time >= ?"
                     " ORDER BY state_time, rowid",
                     NULL, since, out, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_terminated_set_tags(lv_state *st, const char *id, const cg_tags *tags,
                                 cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = tx_end(st, tags_write(st, "terminated_tags", "instance_id", id, tags, err) == 0,
                     err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_terminated_prune(lv_state *st, time_t before, cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = prep(st, "DELETE FROM terminated WHERE state_time < ?", err))) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)before);
        ret = run(st, s, err, "prune terminated instances");
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}
