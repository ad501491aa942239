/* cloudgate libvirt driver: the metadata-service options of instances
 * (HttpTokens, HttpEndpoint, HttpPutResponseHopLimit) in SQLite.
 *
 * libvirt has no place for them and the gateway's metadata service reads
 * them through instance_list, so they live beside the other instance rows.
 * An instance without a row has the defaults: optional, enabled, 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../../gateway/log.h"
#include "../../gateway/store.h"
#include "lv_cache.h"
#include "lv_host.h"
#include "lv_imds.h"
#include "lv_rows.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS instance_metadata_options ("
    " instance_id TEXT PRIMARY KEY, http_tokens INTEGER NOT NULL,"
    " http_endpoint INTEGER NOT NULL, hop_limit INTEGER NOT NULL);";

int lv_imds_init(lv_state *st, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = cg_db_exec(db, schema, err);

    lv_state_db_unlock(st);
    return ret;
}

/* Fields of chg that are set replace those of opts. */
static void apply(cg_metadata_options *opts, const cg_metadata_options *chg)
{
    if (chg->http_tokens)
        opts->http_tokens = chg->http_tokens;
    if (chg->http_endpoint)
        opts->http_endpoint = chg->http_endpoint;
    if (chg->hop_limit)
        opts->hop_limit = chg->hop_limit;
}

static const cg_metadata_options defaults = {
    .http_tokens = CG_MD_TOKENS_OPTIONAL,
    .http_endpoint = CG_MD_ENDPOINT_ENABLED,
    .hop_limit = 1,
};

static int valid(const cg_metadata_options *o)
{
    return o->http_tokens >= 0 && o->http_tokens <= CG_MD_TOKENS_REQUIRED &&
           o->http_endpoint >= 0 && o->http_endpoint <= CG_MD_ENDPOINT_DISABLED &&
           o->hop_limit >= 0 && o->hop_limit <= 64;
}

/* Write opts as instance_id's row (db locked by the caller).  0 or -1. */
static int store(sqlite3 *db, const char *instance_id, const cg_metadata_options *opts,
                 cg_error *err)
{
    return cg_db_run(db, err, "store metadata options",
                     "INSERT OR REPLACE INTO instance_metadata_options"
                     " (instance_id, http_tokens, http_endpoint, hop_limit) VALUES (?,?,?,?)",
                     "siii", instance_id, opts->http_tokens, opts->http_endpoint,
                     opts->hop_limit) < 0 ? -1 : 0;
}

/* instance_id's options into out (defaults without a row).  0 or -1. */
static int load(sqlite3 *db, const char *instance_id, cg_metadata_options *out, cg_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = defaults;
    if (!(s = cg_db_prep(db, err, "SELECT http_tokens, http_endpoint, hop_limit"
                                  " FROM instance_metadata_options WHERE instance_id = ?",
                         "s", instance_id)))
        return -1;
    if ((rc = cg_db_step(s, err, "read metadata options")) == 1) {
        out->http_tokens = sqlite3_column_int(s, 0);
        out->http_endpoint = sqlite3_column_int(s, 1);
        out->hop_limit = sqlite3_column_int(s, 2);
    }
    cg_db_done(s);
    return rc < 0 ? -1 : 0;
}

int lv_imds_put(lv_state *st, const char *instance_id, const cg_metadata_options *opts,
                cg_error *err)
{
    cg_metadata_options o = defaults;
    sqlite3 *db;
    int ret;

    if (!valid(opts)) {
        cg_error_set(err, CG_ERR_INVALID, "invalid metadata options");
        return -1;
    }
    apply(&o, opts);
    db = lv_state_db_lock(st);
    ret = store(db, instance_id, &o, err);
    lv_state_db_unlock(st);
    return ret;
}

void lv_imds_forget(lv_state *st, const char *instance_id)
{
    sqlite3 *db = lv_state_db_lock(st);
    cg_error err = {0};

    if (cg_db_run(db, &err, "forget metadata options",
                  "DELETE FROM instance_metadata_options WHERE instance_id = ?", "s",
                  instance_id) < 0)
        cg_warn("%s: %s", instance_id, err.message);
    lv_state_db_unlock(st);
}

/* One row of instance_metadata_options; the id first (lv_rows_sort_by_id). */
typedef struct md_row {
    char id[24];
    cg_metadata_options o;
} md_row;

/* Every launch writes a row: matched by a binary search, since rows x
 * instances string compares were a million per DescribeInstances of 1,000. */
void lv_imds_fill_instances(cg_drv *drv, cg_instance_list *list)
{
    sqlite3 *db;
    sqlite3_stmt *s = NULL;
    cg_error err = {0};
    md_row *rows = NULL, *r;
    size_t i, j, n = 0;
    int rc;

    for (i = 0; i < list->n; i++)
        list->v[i].metadata = defaults;
    if (!list->n)
        return;
    db = lv_state_db_lock(drv->state);
    if (!(s = cg_db_prep(db, &err, "SELECT instance_id, http_tokens, http_endpoint, hop_limit"
                                   " FROM instance_metadata_options", "")))
        goto unlock;
    while ((rc = cg_db_step(s, &err, "read metadata options")) == 1) {
        if (!(r = lv_rows_grow((void **)&rows, n, sizeof(*rows), &err)))
            break;
        cg_db_col_copy(s, 0, r->id, sizeof(r->id));
        r->o.http_tokens = sqlite3_column_int(s, 1);
        r->o.http_endpoint = sqlite3_column_int(s, 2);
        r->o.hop_limit = sqlite3_column_int(s, 3);
        n++;
    }

unlock:
    cg_db_done(s);
    lv_state_db_unlock(drv->state);
    if (err.message[0])
        cg_warn("instance metadata options: %s", err.message);
    if (lv_rows_sort_by_id(rows, n, sizeof(*rows)) == 0) {
        for (i = 0; i < list->n; i++) {
            if ((j = lv_rows_find_id(rows, n, sizeof(*rows), list->v[i].id)) < n)
                list->v[i].metadata = rows[j].o;
        }
    } else {
        cg_warn("instance metadata options: out of memory");
    }
    free(rows);
}

int lv_imds_options(cg_drv *drv, const char *instance_id, const cg_metadata_options *chg,
                    cg_metadata_options *out, cg_error *err)
{
    cg_instance inst;
    cg_metadata_options o;
    lv_host *h = lv_drv_find_instance(drv, instance_id);
    sqlite3 *db = NULL;
    int ret = -1, found = 0;

    memset(&inst, 0, sizeof(inst));
    if (!valid(chg)) {
        cg_error_set(err, CG_ERR_INVALID, "invalid metadata options");
        return -1;
    }
    if (h && lv_cache_get(lv_host_cache(h), instance_id, &inst) == 1)
        found = inst.state != CG_STATE_TERMINATED;
    cg_instance_release(&inst);
    if (!found) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "instance %s does not exist", instance_id);
        return -1;
    }
    db = lv_state_db_lock(drv->state);
    if (cg_db_begin(db, err) < 0)
        goto cleanup;
    ret = load(db, instance_id, &o, err);
    if (ret == 0) {
        apply(&o, chg);
        ret = store(db, instance_id, &o, err);
    }
    ret = cg_db_end(db, ret == 0, err) < 0 ? -1 : ret;
    if (ret == 0)
        *out = o;

cleanup:
    lv_state_db_unlock(drv->state);
    return ret;
}
