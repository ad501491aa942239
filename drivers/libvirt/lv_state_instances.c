/* cloudgate libvirt driver: what SQLite keeps per instance: user-data,
 * what rebuilds its cloud-init seed, client tokens and the terminated
 * instances still shown. */
#include "lv_state.h"
#include "lv_state_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/store.h"

/* ---- user-data ---- */

int lv_state_user_data_put(lv_state *st, const char *id, const unsigned char *data, size_t len,
                           cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = lvs_prep(st, "INSERT OR REPLACE INTO user_data (instance_id, data) VALUES (?, ?)",
                      err))) {
        lvs_bind_str(s, 1, id);
        sqlite3_bind_blob64(s, 2, data ? (const void *)data : "", len, SQLITE_TRANSIENT);
        ret = lvs_run(st, s, err, "store user-data");
        cg_db_done(s);
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
    if (!(s = lvs_prep(st, "SELECT data FROM user_data WHERE instance_id = ?", err)))
        goto cleanup;
    lvs_bind_str(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        lvs_db_fail(st, err, "read user-data");
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
    cg_db_done(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_user_data_delete(lv_state *st, const char *id, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = lvs_delete_by_id(st, "user_data", "instance_id", id, err);
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
    if ((s = lvs_prep(st,
                      "INSERT OR REPLACE INTO seeds (instance_id, format, public_key)"
                      " VALUES (?, ?, ?)",
                      err))) {
        lvs_bind_str(s, 1, id);
        lvs_bind_str(s, 2, format);
        lvs_bind_str(s, 3, public_key);
        ret = lvs_run(st, s, err, "store seed");
        cg_db_done(s);
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
    if (!(s = lvs_prep(st, "SELECT format, public_key FROM seeds WHERE instance_id = ?", err)))
        goto cleanup;
    lvs_bind_str(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto cleanup;
    }
    if (rc != SQLITE_ROW) {
        lvs_db_fail(st, err, "read seed");
        goto cleanup;
    }
    cg_db_col_copy(s, 0, format, format_len);
    *public_key = cg_db_col_dup(s, 1, &oom);
    if (oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    ret = 1;

cleanup:
    cg_db_done(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_seed_delete(lv_state *st, const char *id, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = lvs_delete_by_id(st, "seeds", "instance_id", id, err);
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

int lv_state_token_claim(lv_state *st, const char *token, const lv_token *mine, lv_token *existing,
                         cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int oom = 0, ret = -1;

    memset(existing, 0, sizeof(*existing));
    pthread_mutex_lock(&st->lock);
    if (!(s = lvs_prep(st,
                       "INSERT OR IGNORE INTO client_tokens (token, reservation_id, image_id, zone,"
                       " created) VALUES (?, ?, ?, ?, strftime('%s','now'))",
                       err)))
        goto cleanup;
    lvs_bind_str(s, 1, token);
    lvs_bind_str(s, 2, mine->reservation_id);
    lvs_bind_str(s, 3, mine->image_id);
    lvs_bind_str(s, 4, mine->zone);
    if (lvs_run(st, s, err, "claim client token") < 0)
        goto cleanup;
    /* Under the lock no other thread's statement ran in between. */
    if (sqlite3_changes(st->db) == 1) {
        ret = 1;
        goto cleanup;
    }
    cg_db_done(s);
    if (!(s = lvs_prep(st,
                       "SELECT reservation_id, image_id, zone, instance_ids FROM client_tokens"
                       " WHERE token = ?",
                       err)))
        goto cleanup;
    lvs_bind_str(s, 1, token);
    if (sqlite3_step(s) != SQLITE_ROW) {
        lvs_db_fail(st, err, "read client token");
        goto cleanup;
    }
    cg_db_col_copy(s, 0, existing->reservation_id, sizeof(existing->reservation_id));
    cg_db_col_copy(s, 1, existing->image_id, sizeof(existing->image_id));
    cg_db_col_copy(s, 2, existing->zone, sizeof(existing->zone));
    existing->instance_ids = cg_db_col_dup(s, 3, &oom);
    if (oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    ret = 0;

cleanup:
    cg_db_done(s);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_token_finish(lv_state *st, const char *token, const char *zone,
                          const char *instance_ids, cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = lvs_prep(st, "UPDATE client_tokens SET instance_ids = ?, zone = ? WHERE token = ?",
                      err))) {
        lvs_bind_str(s, 1, instance_ids);
        lvs_bind_str(s, 2, zone);
        lvs_bind_str(s, 3, token);
        ret = lvs_run(st, s, err, "record client token");
        cg_db_done(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_token_drop(lv_state *st, const char *token, cg_error *err)
{
    int ret;

    pthread_mutex_lock(&st->lock);
    ret = lvs_delete_by_id(st, "client_tokens", "token", token, err);
    pthread_mutex_unlock(&st->lock);
    return ret < 0 ? -1 : 0;
}

/* ---- terminated instances ---- */

#define TERM_COLS LVS_INST_COLS

void lvs_inst_bind(sqlite3_stmt *s, const cg_instance *inst)
{
    lvs_bind_str(s, 1, inst->id);
    lvs_bind_str(s, 2, inst->image_id);
    lvs_bind_str(s, 3, inst->reservation_id);
    lvs_bind_str(s, 4, inst->instance_type);
    lvs_bind_str(s, 5, inst->zone);
    lvs_bind_str(s, 6, inst->key_name);
    lvs_bind_str(s, 7, inst->client_token);
    lvs_bind_str(s, 8, inst->private_ip);
    lvs_bind_str(s, 9, inst->mac);
    lvs_bind_str(s, 10, inst->state_reason);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)inst->launch_time);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)inst->state_time);
    sqlite3_bind_int64(s, 13, inst->ami_launch_index);
    sqlite3_bind_int64(s, 14, inst->vcpus);
    sqlite3_bind_int64(s, 15, inst->memory_mib);
}

void lvs_inst_from_row(sqlite3_stmt *s, cg_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
    cg_db_col_copy(s, 0, inst->id, sizeof(inst->id));
    cg_db_col_copy(s, 1, inst->image_id, sizeof(inst->image_id));
    cg_db_col_copy(s, 2, inst->reservation_id, sizeof(inst->reservation_id));
    cg_db_col_copy(s, 3, inst->instance_type, sizeof(inst->instance_type));
    cg_db_col_copy(s, 4, inst->zone, sizeof(inst->zone));
    cg_db_col_copy(s, 5, inst->key_name, sizeof(inst->key_name));
    cg_db_col_copy(s, 6, inst->client_token, sizeof(inst->client_token));
    cg_db_col_copy(s, 7, inst->private_ip, sizeof(inst->private_ip));
    cg_db_col_copy(s, 8, inst->mac, sizeof(inst->mac));
    cg_db_col_copy(s, 9, inst->state_reason, sizeof(inst->state_reason));
    inst->launch_time = (time_t)sqlite3_column_int64(s, 10);
    inst->state_time = (time_t)sqlite3_column_int64(s, 11);
    inst->ami_launch_index = (unsigned)sqlite3_column_int64(s, 12);
    inst->vcpus = (unsigned)sqlite3_column_int64(s, 13);
    inst->memory_mib = (unsigned)sqlite3_column_int64(s, 14);
}

/* The statements of lv_state_terminated_add, inside its transaction. */
static int terminated_insert(lv_state *st, const cg_instance *inst, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int ret = -1;

    if (!(s = lvs_prep(st,
                       "INSERT OR REPLACE INTO terminated (" TERM_COLS ") VALUES"
                       " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       err)))
        goto cleanup;
    lvs_inst_bind(s, inst);
    if (lvs_run(st, s, err, "store terminated instance") < 0 ||
        lvs_tags_write(st, "terminated_tags", "instance_id", inst->id, &inst->tags, err) < 0 ||
        lvs_delete_by_id(st, "user_data", "instance_id", inst->id, err) < 0 ||
        lvs_delete_by_id(st, "seeds", "instance_id", inst->id, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    cg_db_done(s);
    return ret;
}

int lv_state_terminated_add(lv_state *st, const cg_instance *inst, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (lvs_exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = lvs_tx_end(st, terminated_insert(st, inst, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lvs_inst_collect(lv_state *st, sqlite3_stmt *s, const char *tags_table,
                     void (*more)(sqlite3_stmt *s, cg_instance *inst), cg_instance_list *out,
                     cg_error *err)
{
    cg_instance inst;
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        lvs_inst_from_row(s, &inst);
        more(s, &inst);
        if (lvs_tags_read(st, tags_table, "instance_id", inst.id, &inst.tags, err) < 0) {
            cg_instance_release(&inst);
            return -1;
        }
        rc = cg_instance_list_append(out, &inst);
        cg_instance_release(&inst);
        if (rc < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return -1;
        }
    }
    if (rc != SQLITE_DONE) {
        lvs_db_fail(st, err, "read instances");
        return -1;
    }
    return 0;
}

static void term_more(sqlite3_stmt *s, cg_instance *inst)
{
    (void)s;
    inst->state = CG_STATE_TERMINATED;
}

/* Rows of `sql` (TERM_COLS, its one parameter bound to id, or else to
 * since) appended to out. */
static int term_query(lv_state *st, const char *sql, const char *id, time_t since,
                      cg_instance_list *out, cg_error *err)
{
    sqlite3_stmt *s;
    int ret;

    if (!(s = lvs_prep(st, sql, err)))
        return -1;
    if (id)
        lvs_bind_str(s, 1, id);
    else
        sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
    ret = lvs_inst_collect(st, s, "terminated_tags", term_more, out, err);
    cg_db_done(s);
    return ret;
}

int lv_state_terminated_get(lv_state *st, const char *id, cg_instance *out, cg_error *err)
{
    cg_instance_list l = {0};
    int ret = -1;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    if (term_query(st, "SELECT " TERM_COLS " FROM terminated WHERE id = ?", id, 0, &l, err) == 0) {
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

int lv_state_terminated_has(lv_state *st, const char *id, cg_error *err)
{
    long long one;
    int rc;

    pthread_mutex_lock(&st->lock);
    rc = cg_db_int(st->db, err, &one, "SELECT 1 FROM terminated WHERE id = ?", "s", id);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int lv_state_terminated_list(lv_state *st, time_t since, cg_instance_list *out, cg_error *err)
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

int lv_state_terminated_set_tags(lv_state *st, const char *id, const cg_tags *tags, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (lvs_exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = lvs_tx_end(
            st, lvs_tags_write(st, "terminated_tags", "instance_id", id, tags, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

int lv_state_terminated_prune(lv_state *st, time_t before, cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if ((s = lvs_prep(st, "DELETE FROM terminated WHERE state_time < ?", err))) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)before);
        ret = lvs_run(st, s, err, "prune terminated instances");
        cg_db_done(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}
