/* cloudgate libvirt driver: the last known instances of each zone in SQLite
 * (tables known and known_tags; lv_known.c decides when). */
#include "lv_state.h"
#include "lv_state_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "../../gateway/store.h"

#define KNOWN_COLS LVS_INST_COLS ", state, sub, display, disable_api_termination"

/* The statements of lv_state_known_save, inside its transaction. */
static int known_replace(lv_state *st, const char *zone, const cg_instance_list *l, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    size_t i;
    int ret = -1;

    if (!(s = lvs_prep(st, "DELETE FROM known WHERE zone = ?", err)))
        goto cleanup;
    lvs_bind_str(s, 1, zone);
    if (lvs_run(st, s, err, "forget known instances") < 0)
        goto cleanup;
    cg_db_done(s);
    if (!(s = lvs_prep(st,
                       "INSERT OR REPLACE INTO known (" KNOWN_COLS ") VALUES"
                       " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       err)))
        goto cleanup;
    for (i = 0; i < l->n; i++) {
        const cg_instance *inst = &l->v[i];

        sqlite3_reset(s);
        lvs_inst_bind(s, inst);
        /* Whatever zone the record names, it is kept under the one saved. */
        lvs_bind_str(s, 5, zone);
        sqlite3_bind_int64(s, 16, inst->state);
        sqlite3_bind_int64(s, 17, inst->sub);
        sqlite3_bind_int64(s, 18, inst->display);
        sqlite3_bind_int64(s, 19, inst->disable_api_termination);
        if (lvs_run(st, s, err, "store known instance") < 0 ||
            lvs_tags_write(st, "known_tags", "instance_id", inst->id, &inst->tags, err) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    cg_db_done(s);
    return ret;
}

int lv_state_known_save(lv_state *st, const char *zone, const cg_instance_list *l, cg_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    if (lvs_exec(st, "BEGIN IMMEDIATE", err) == 0)
        ret = lvs_tx_end(st, known_replace(st, zone, l, err) == 0, err);
    pthread_mutex_unlock(&st->lock);
    return ret;
}

static void known_more(sqlite3_stmt *s, cg_instance *inst)
{
    inst->state = (cg_instance_state)sqlite3_column_int64(s, 15);
    inst->sub = (cg_instance_sub)sqlite3_column_int64(s, 16);
    inst->display = (cg_display)sqlite3_column_int64(s, 17);
    inst->disable_api_termination = sqlite3_column_int64(s, 18) != 0;
}

int lv_state_known_list(lv_state *st, const char *zone, cg_instance_list *out, cg_error *err)
{
    sqlite3_stmt *s;
    int ret = -1;

    pthread_mutex_lock(&st->lock);
    /* A terminate saved as terminated but not yet as gone here (a SIGKILL
     * between the two) is terminated. */
    if ((s = lvs_prep(st,
                      "SELECT " KNOWN_COLS " FROM known WHERE zone = ?"
                      " AND id NOT IN (SELECT id FROM terminated) ORDER BY id",
                      err))) {
        lvs_bind_str(s, 1, zone);
        ret = lvs_inst_collect(st, s, "known_tags", known_more, out, err);
        cg_db_done(s);
    }
    pthread_mutex_unlock(&st->lock);
    return ret;
}
