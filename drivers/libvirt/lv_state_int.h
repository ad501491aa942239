/* cloudgate libvirt driver: what lv_state.c, lv_state_images.c,
 * lv_state_instances.c and lv_state_known.c share
 * (not used elsewhere).  Every helper reports into err (when given) and
 * expects the caller to hold st->lock. */
#ifndef LV_STATE_INT_H
#define LV_STATE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "lv_state.h"

struct lv_state {
    sqlite3 *db;
    /* The handle is shared by worker threads; BEGIN..COMMIT spans several
     * calls, so one thread's transaction must not take in another's rows. */
    pthread_mutex_t lock;
    /* lv_state_version's: a connection of its own to the same file (so
     * that asking never waits for a transaction on db), under its own lock;
     * the last data_version read, and how many reads failed (each moves
     * the version: a listing then is never reused). */
    sqlite3 *watch;
    pthread_mutex_t watch_lock;
    long long data_version;
    uint64_t version_misses;
};

void lvs_db_fail(lv_state *st, cg_error *err, const char *what);
/* A prepared statement, or NULL (reported). */
sqlite3_stmt *lvs_prep(lv_state *st, const char *sql, cg_error *err);
/* Bind text, or NULL for a NULL v. */
void lvs_bind_str(sqlite3_stmt *s, int i, const char *v);
/* Run a statement that returns no rows; 0 or -1 (constraint: CONFLICT). */
int lvs_run(lv_state *st, sqlite3_stmt *s, cg_error *err, const char *what);
int lvs_exec(lv_state *st, const char *sql, cg_error *err);
/* Replace the tags of id in table (column col); read them back. */
int lvs_tags_write(lv_state *st, const char *table, const char *col, const char *id,
                   const cg_tags *tags, cg_error *err);
int lvs_tags_read(lv_state *st, const char *table, const char *col, const char *id, cg_tags *tags,
                  cg_error *err);
/* The columns an instance row starts with (tables terminated and known), in
 * this order: bound as parameters 1..15, read as columns 0..14. */
#define LVS_INST_COLS                                                                              \
    "id, image_id, reservation_id, instance_type, zone, key_name, client_token, "                  \
    "private_ip, mac, state_reason, launch_time, state_time, ami_launch_index, vcpus, "            \
    "memory_mib"
void lvs_inst_bind(sqlite3_stmt *s, const cg_instance *inst);
/* Zeroes inst first; the state and everything after these columns are left 0. */
void lvs_inst_from_row(sqlite3_stmt *s, cg_instance *inst);
/* Step s to its end: each row (LVS_INST_COLS first) read by lvs_inst_from_row,
 * then more, its tags from tags_table (column instance_id), appended to out.
 * 0 or -1. */
int lvs_inst_collect(lv_state *st, sqlite3_stmt *s, const char *tags_table,
                     void (*more)(sqlite3_stmt *s, cg_instance *inst), cg_instance_list *out,
                     cg_error *err);
/* Close a BEGIN IMMEDIATE: COMMIT when ok, else ROLLBACK.  0 or -1. */
int lvs_tx_end(lv_state *st, int ok, cg_error *err);
/* DELETE FROM table WHERE col = id; rows deleted or -1. */
int lvs_delete_by_id(lv_state *st, const char *table, const char *col, const char *id,
                     cg_error *err);

#endif
