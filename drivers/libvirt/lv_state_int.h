/* cloudgate libvirt driver: what lv_state.c and lv_state_instances.c share
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
/* Close a BEGIN IMMEDIATE: COMMIT when ok, else ROLLBACK.  0 or -1. */
int lvs_tx_end(lv_state *st, int ok, cg_error *err);
/* DELETE FROM table WHERE col = id; rows deleted or -1. */
int lvs_delete_by_id(lv_state *st, const char *table, const char *col, const char *id,
                     cg_error *err);

#endif
