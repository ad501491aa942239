/* cloudgate libvirt driver: the images in the SQLite store (tables images,
 * image_tags and image_mappings; the schema is in lv_state.c). */
#include "lv_state.h"
#include "lv_state_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/store.h"
#include "lv_rows.h"

/* ---- images ---- */

#define IMAGE_COLS                                                                                 \
    "id, name, description, volume, owned, kernel, initrd, cmdline, architecture, state, "         \
    "created, size, seed_format, display, source_instance, os_type, os_distro, os_version, "       \
    "os_arch, os_product, os_cloud_init, state_reason, job_id, public, launch_users, "             \
    "last_launched"

/* img's further disks into image_mappings (inside the caller's transaction). */
static int mappings_write(lv_state *st, const cg_image *img, cg_error *err)
{
    size_t i;

    int rc;

    for (i = 0; i < img->n_mappings; i++) {
        const cg_image_mapping *m = &img->mappings[i];

        /* The snapshot is checked here too, in the same transaction: one
         * deleted since the caller looked must not be promised. */
        rc = cg_db_run(st->db, err, "insert image mapping",
                       "INSERT INTO image_mappings (image_id, device, snapshot_id, size,"
                       " delete_on_termination) SELECT ?, ?, ?, ?, ?"
                       " WHERE ?3 = '' OR EXISTS (SELECT 1 FROM snapshots WHERE id = ?3"
                       " AND state = 'completed')",
                       "sssIi", img->id, m->device, m->snapshot_id, (long long)m->size_bytes,
                       m->delete_on_termination != 0);
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", m->snapshot_id);
        if (rc <= 0)
            return -1;
    }
    return 0;
}

int lv_state_image_mapping_user(lv_state *st, const char *snapshot_id, char *image_id, size_t len,
                                cg_error *err)
{
    sqlite3_stmt *s;
    int rc = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = cg_db_prep(st->db, err,
                        "SELECT image_id FROM image_mappings WHERE snapshot_id = ?"
                        " LIMIT 1",
                        "s", snapshot_id)) &&
        (rc = cg_db_step(s, err, "read image mappings")) == 1)
        cg_db_col_copy(s, 0, image_id, len);
    cg_db_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* The mapping in s's row (device, snapshot_id, size, delete_on_termination
 * from column first on) appended to img->mappings.  0 or -1. */
static int mapping_append(sqlite3_stmt *s, int first, cg_image *img, cg_error *err)
{
    cg_image_mapping *m;

    if (!(m = lv_rows_grow((void **)&img->mappings, img->n_mappings, sizeof(*m), err)))
        return -1;
    cg_db_col_copy(s, first, m->device, sizeof(m->device));
    cg_db_col_copy(s, first + 1, m->snapshot_id, sizeof(m->snapshot_id));
    m->size_bytes = (unsigned long long)sqlite3_column_int64(s, first + 2);
    m->delete_on_termination = sqlite3_column_int(s, first + 3) != 0;
    img->n_mappings++;
    return 0;
}

/* The further disks of img (its id set) into img->mappings.  0 or -1. */
static int mappings_read(lv_state *st, cg_image *img, cg_error *err)
{
    sqlite3_stmt *s;
    int rc = -1;

    if (!(s = cg_db_prep(st->db, err,
                         "SELECT device, snapshot_id, size, delete_on_termination"
                         " FROM image_mappings WHERE image_id = ? ORDER BY device",
                         "s", img->id)))
        return -1;
    while ((rc = cg_db_step(s, err, "read image mappings")) == 1)
        if (mapping_append(s, 0, img, err) < 0) {
            rc = -1;
            break;
        }
    cg_db_done(s);
    return rc < 0 ? -1 : 0;
}

/* The INSERTs of lv_state_image_add, inside its transaction. */
static int image_insert(lv_state *st, const cg_image *img, int owned, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int ret = -1;

    if (!(s = lvs_prep(st,
                       "INSERT INTO images (" IMAGE_COLS ")"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       err)))
        goto cleanup;
    lvs_bind_str(s, 1, img->id);
    lvs_bind_str(s, 2, img->name);
    lvs_bind_str(s, 3, img->description);
    lvs_bind_str(s, 4, img->volume);
    sqlite3_bind_int(s, 5, owned);
    lvs_bind_str(s, 6, img->kernel);
    lvs_bind_str(s, 7, img->initrd);
    lvs_bind_str(s, 8, img->cmdline);
    lvs_bind_str(s, 9, img->architecture);
    lvs_bind_str(s, 10, img->state);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)img->created);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)img->size_bytes);
    lvs_bind_str(s, 13, img->seed_format[0] ? img->seed_format : "nocloud");
    lvs_bind_str(s, 14, cg_display_name(img->display ? img->display : CG_DISPLAY_HEADLESS));
    lvs_bind_str(s, 15, img->source_instance);
    lvs_bind_str(s, 16, img->os.type);
    lvs_bind_str(s, 17, img->os.distro);
    lvs_bind_str(s, 18, img->os.version);
    lvs_bind_str(s, 19, img->os.arch);
    lvs_bind_str(s, 20, img->os.product);
    sqlite3_bind_int(s, 21, img->os.type[0] ? img->os.cloud_init : -1);
    lvs_bind_str(s, 22, img->state_reason);
    lvs_bind_str(s, 23, img->job_id);
    sqlite3_bind_int(s, 24, img->is_public != 0);
    lvs_bind_str(s, 25, img->launch_users ? img->launch_users : "");
    sqlite3_bind_int64(s, 26, (sqlite3_int64)img->last_launched);
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_errcode(st->db) == SQLITE_CONSTRAINT)
            cg_error_set(err, CG_ERR_CONFLICT, "an image named '%s' already exists", img->name);
        else
            lvs_db_fail(st, err, "insert image");
        goto cleanup;
    }
    if (lvs_tags_write(st, "image_tags", "image_id", img->id, &img->tags, err) == 0)
        ret = mappings_write(st, img, err);

cleanup:
    cg_db_done(s);
    return ret;
}

int lv_state_image_add(lv_state *st, const cg_image *img, int owned, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (lvs_exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = lvs_tx_end(st, image_insert(st, img, owned, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

/* Fill img from a row of IMAGE_COLS.  0 or -1 (OOM). */
static int image_from_row(sqlite3_stmt *s, cg_image *img, int *owned)
{
    int oom = 0;

    memset(img, 0, sizeof(*img));
    cg_db_col_copy(s, 0, img->id, sizeof(img->id));
    img->name = cg_db_col_dup(s, 1, &oom);
    img->description = cg_db_col_dup(s, 2, &oom);
    img->volume = cg_db_col_dup(s, 3, &oom);
    if (owned)
        *owned = sqlite3_column_int(s, 4);
    img->kernel = cg_db_col_dup(s, 5, &oom);
    img->initrd = cg_db_col_dup(s, 6, &oom);
    img->cmdline = cg_db_col_dup(s, 7, &oom);
    cg_db_col_copy(s, 8, img->architecture, sizeof(img->architecture));
    cg_db_col_copy(s, 9, img->state, sizeof(img->state));
    img->created = (time_t)sqlite3_column_int64(s, 10);
    img->size_bytes = (unsigned long long)sqlite3_column_int64(s, 11);
    cg_db_col_copy(s, 12, img->seed_format, sizeof(img->seed_format));
    if (!sqlite3_column_text(s, 13) ||
        cg_display_parse((const char *)sqlite3_column_text(s, 13), &img->display) < 0)
        img->display = CG_DISPLAY_HEADLESS;
    cg_db_col_copy(s, 14, img->source_instance, sizeof(img->source_instance));
    cg_db_col_copy(s, 15, img->os.type, sizeof(img->os.type));
    cg_db_col_copy(s, 16, img->os.distro, sizeof(img->os.distro));
    cg_db_col_copy(s, 17, img->os.version, sizeof(img->os.version));
    cg_db_col_copy(s, 18, img->os.arch, sizeof(img->os.arch));
    cg_db_col_copy(s, 19, img->os.product, sizeof(img->os.product));
    img->os.cloud_init = sqlite3_column_int(s, 20);
    cg_db_col_copy(s, 21, img->state_reason, sizeof(img->state_reason));
    cg_db_col_copy(s, 22, img->job_id, sizeof(img->job_id));
    img->is_public = sqlite3_column_int(s, 23) != 0;
    /* "" is stored for none; the struct says NULL. */
    if (sqlite3_column_bytes(s, 24) > 0)
        img->launch_users = cg_db_col_dup(s, 24, &oom);
    img->last_launched = (time_t)sqlite3_column_int64(s, 25);
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
    if (!(s = lvs_prep(st, "SELECT " IMAGE_COLS " FROM images WHERE id = ?", err)))
        goto cleanup;
    lvs_bind_str(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        lvs_db_fail(st, err, "read image");
        goto cleanup;
    }
    if (image_from_row(s, out, owned) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (lvs_tags_read(st, "image_tags", "image_id", id, &out->tags, err) < 0 ||
        mappings_read(st, out, err) < 0) {
        cg_image_release(out);
        goto cleanup;
    }
    ret = 1;

cleanup:
    cg_db_done(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

static int by_id_order(const void *a, const void *b)
{
    return strcmp((*(cg_image *const *)a)->id, (*(cg_image *const *)b)->id);
}

static int by_id_key(const void *key, const void *elt)
{
    return strcmp(key, (*(cg_image *const *)elt)->id);
}

/* The image called id among by_id (n, sorted by by_id_order), or NULL (a
 * row of an image the listing does not have). */
static cg_image *by_id_find(cg_image **by_id, size_t n, const unsigned char *id)
{
    cg_image **hit = id ? bsearch(id, by_id, n, sizeof(*by_id), by_id_key) : NULL;

    return hit ? *hit : NULL;
}

/* Every listed image's tags and further disks: one query per table, not
 * one per image.  0 or -1. */
static int list_details(lv_state *st, cg_image_list *out, cg_error *err)
{
    cg_image **by_id = NULL, *img;
    sqlite3_stmt *s = NULL;
    size_t i;
    int rc = 0, ret = -1;

    if (!out->n)
        return 0;
    if (!(by_id = malloc(out->n * sizeof(*by_id)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < out->n; i++)
        by_id[i] = &out->v[i];
    qsort(by_id, out->n, sizeof(*by_id), by_id_order);
    /* rowid order is insertion order: each image's tags as they were set. */
    if (!(s = cg_db_prep(st->db, err, "SELECT image_id, key, value FROM image_tags ORDER BY rowid",
                         "")))
        goto cleanup;
    while ((rc = cg_db_step(s, err, "read image tags")) == 1) {
        if ((img = by_id_find(by_id, out->n, sqlite3_column_text(s, 0))) &&
            cg_tags_set(&img->tags, (const char *)sqlite3_column_text(s, 1),
                        (const char *)sqlite3_column_text(s, 2)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    cg_db_done(s);
    if (rc < 0 ||
        !(s = cg_db_prep(st->db, err,
                         "SELECT image_id, device, snapshot_id, size, delete_on_termination"
                         " FROM image_mappings ORDER BY image_id, device",
                         "")))
        goto cleanup;
    while ((rc = cg_db_step(s, err, "read image mappings")) == 1)
        if ((img = by_id_find(by_id, out->n, sqlite3_column_text(s, 0))) &&
            mapping_append(s, 1, img, err) < 0)
            goto cleanup;
    ret = rc < 0 ? -1 : 0;

cleanup:
    cg_db_done(s);
    free(by_id);
    return ret;
}

int lv_state_image_list(lv_state *st, cg_image_list *out, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    cg_image_list mine = {0}; /* appended to out at the end */
    cg_image img, *slot;
    int rc, ret = -1;

    pthread_mutex_lock(&st->lock);
    if (!(s = lvs_prep(st, "SELECT " IMAGE_COLS " FROM images ORDER BY created, rowid", err)))
        goto cleanup;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        /* Room doubles: growing by one image each row moved the whole list
         * every row (measured: most of a 500-image DescribeImages). */
        if (image_from_row(s, &img, NULL) < 0 ||
            !(slot = lv_rows_grow((void **)&mine.v, mine.n, sizeof(*slot), err))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            cg_image_release(&img);
            goto cleanup;
        }
        *slot = img;
        mine.n++;
    }
    if (rc != SQLITE_DONE) {
        lvs_db_fail(st, err, "list images");
        goto cleanup;
    }
    if (list_details(st, &mine, err) < 0)
        goto cleanup;
    if (mine.n && !out->v) {
        *out = mine;
        memset(&mine, 0, sizeof(mine));
    } else if (mine.n) {
        cg_image *v = realloc(out->v, (out->n + mine.n) * sizeof(*v));

        if (!v) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        memcpy(v + out->n, mine.v, mine.n * sizeof(*v));
        out->v = v;
        out->n += mine.n;
        free(mine.v); /* its images are out's now */
        memset(&mine, 0, sizeof(mine));
    }
    ret = 0;

cleanup:
    cg_db_done(s);
    pthread_mutex_unlock(&st->lock);
    cg_image_list_release(&mine);
    return ret;
}

int lv_state_image_delete(lv_state *st, const char *id, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = lvs_delete_by_id(st, "images", "id", id, err);
    pthread_mutex_unlock(&st->lock);
    return ret < 0 ? -1 : ret > 0;
}

int lv_state_image_set_tags(lv_state *st, const char *id, const cg_tags *tags, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (lvs_exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = lvs_tx_end(st, lvs_tags_write(st, "image_tags", "image_id", id, tags, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

/* UPDATE images SET <sql's column> = value WHERE id = id.  0 or -1. */
static int image_set_text(lv_state *st, const char *sql, const char *id, const char *value,
                          const char *what, cg_error *err)
{
    int n;

    pthread_mutex_lock(&st->lock);
    n = cg_db_run(st->db, err, what, sql, "ss", value, id);
    pthread_mutex_unlock(&st->lock);
    return n < 0 ? -1 : 0;
}

int lv_state_image_set_access(lv_state *st, const char *id, const char *description, int is_public,
                              const char *launch_users, cg_error *err)
{
    int n;

    pthread_mutex_lock(&st->lock);
    n = cg_db_run(st->db, err, "store the image's attributes",
                  "UPDATE images SET description = ?, public = ?, launch_users = ? WHERE id = ?",
                  "siss", description && *description ? description : NULL, is_public != 0,
                  launch_users ? launch_users : "", id);
    pthread_mutex_unlock(&st->lock);
    if (n == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", id);
    return n == 1 ? 0 : -1;
}

int lv_state_image_set_launched(lv_state *st, const char *id, time_t when, cg_error *err)
{
    int n;

    pthread_mutex_lock(&st->lock);
    n = cg_db_run(st->db, err, "store the image's last launch",
                  "UPDATE images SET last_launched = max(last_launched, ?) WHERE id = ?", "Is",
                  (long long)when, id);
    pthread_mutex_unlock(&st->lock);
    return n < 0 ? -1 : 0;
}

int lv_state_image_set_display(lv_state *st, const char *id, cg_display display, cg_error *err)
{
    return image_set_text(st, "UPDATE images SET display = ? WHERE id = ?", id,
                          cg_display_name(display), "store the image's display", err);
}

/* lv_state_image_replace inside its transaction.  The description and
 * launch permissions are kept as the row has them: ModifyImageAttribute may
 * have changed them since the caller (a capture job) read img. */
static int image_rewrite(lv_state *st, const cg_image *img, cg_error *err)
{
    cg_image row = *img; /* shallow: only the access fields are replaced */
    sqlite3_stmt *s;
    int oom = 0, rc, ret = -1;

    row.description = row.launch_users = NULL;
    if (!(s = cg_db_prep(st->db, err,
                         "SELECT description, public, launch_users FROM images"
                         " WHERE id = ?",
                         "s", img->id)))
        return -1;
    if ((rc = cg_db_step(s, err, "read image")) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", img->id);
        goto cleanup;
    }
    row.description = cg_db_col_dup(s, 0, &oom);
    row.is_public = sqlite3_column_int(s, 1) != 0;
    row.launch_users = cg_db_col_dup(s, 2, &oom);
    if (oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (lvs_delete_by_id(st, "images", "id", img->id, err) == 1 &&
        image_insert(st, &row, 1, err) == 0)
        ret = 0;

cleanup:
    cg_db_done(s);
    free(row.description);
    free(row.launch_users);
    return ret;
}

int lv_state_image_replace(lv_state *st, const cg_image *img, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (lvs_exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = lvs_tx_end(st, image_rewrite(st, img, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_image_set_state(lv_state *st, const char *id, const char *state, const char *reason,
                             const char *volume, unsigned long long size, cg_error *err)
{
    int n;

    pthread_mutex_lock(&st->lock);
    /* Only a pending image has a job making it. */
    n = cg_db_run(st->db, err, "store the image's state",
                  "UPDATE images SET state = ?1, state_reason = ?2,"
                  " volume = COALESCE(?3, volume),"
                  " size = CASE WHEN ?4 > 0 THEN ?4 ELSE size END,"
                  " job_id = CASE WHEN ?1 = 'pending' THEN job_id ELSE '' END"
                  " WHERE id = ?5",
                  "sssIs", state, reason ? reason : "", volume, (long long)size, id);
    pthread_mutex_unlock(&st->lock);
    return n < 0 ? -1 : 0;
}

int lv_state_image_set_seed_format(lv_state *st, const char *id, const char *format, cg_error *err)
{
    return image_set_text(st, "UPDATE images SET seed_format = ? WHERE id = ?", id, format,
                          "store the image's seed format", err);
}

int lv_state_image_set_os(lv_state *st, const char *id, const cg_os_info *os, cg_error *err)
{
    int n;

    pthread_mutex_lock(&st->lock);
    n = cg_db_run(st->db, err, "store the image's OS",
                  "UPDATE images SET os_type = ?1, os_distro = ?2, os_version = ?3, os_arch = ?4,"
                  " os_product = ?5, os_cloud_init = ?6,"
                  " architecture = CASE WHEN ?4 = '' THEN architecture ELSE ?4 END"
                  " WHERE id = ?7",
                  "sssssis", os->type, os->distro, os->version, os->arch, os->product,
                  os->cloud_init, id);
    pthread_mutex_unlock(&st->lock);
    return n < 0 ? -1 : 0;
}
