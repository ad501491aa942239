/* cloudgate: tags of jobs (jobs.h), shown as the Tags of EC2 import tasks.
 *
 * Table job_tags beside jobs, on the store's connection and under its lock;
 * a job's tags go when its row goes (ON DELETE CASCADE).  Edits run in one
 * transaction: all of a request's tags land, or none.
 */
#include <stdlib.h>
#include <string.h>

#include "../drivers/driver.h"
#include "../gateway/store.h"
#include "jobs_db.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS job_tags ("
                             " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
                             " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (job_id, key));";

int cg_job_tags_init(sqlite3 *db, cg_error *err)
{
    return cg_db_exec(db, schema, err);
}

int cg_job_tags_insert(sqlite3 *db, const char *id, const cg_tags *tags, cg_error *err)
{
    return cg_db_tags_write(db, "job_tags", "job_id", id, tags, 0, err);
}

/* 1 when job id exists, 0 (CG_ERR_NOT_FOUND reported) or -1. */
static int job_exists(sqlite3 *db, const char *id, cg_error *err)
{
    long long one;
    int rc = cg_db_int(db, err, &one, "SELECT 1 FROM jobs WHERE id = ?", "s", id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "job %s does not exist", id);
    return rc;
}

int cg_job_tags_get(cg_jobs *jobs, const char *id, cg_tags *out, cg_error *err)
{
    sqlite3 *db = cg_jobs_db_lock(jobs);
    sqlite3_stmt *s = NULL;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    if (job_exists(db, id, err) <= 0 ||
        !(s = cg_db_prep(db, err,
                         "SELECT key, value FROM job_tags WHERE job_id = ?"
                         " ORDER BY rowid",
                         "s", id)))
        goto cleanup;
    while ((rc = cg_db_step(s, err, "read job tags")) == 1) {
        if (cg_tags_set(out, (const char *)sqlite3_column_text(s, 0),
                        (const char *)sqlite3_column_text(s, 1)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    if (rc == 0)
        ret = 0;

cleanup:
    cg_db_done(s);
    cg_jobs_db_unlock(jobs);
    if (ret < 0)
        cg_tags_release(out);
    return ret;
}

/* The statements of cg_job_tags_edit, inside its transaction. */
static int edit(sqlite3 *db, const char *id, const cg_tags *tags, int remove, cg_error *err)
{
    if (job_exists(db, id, err) <= 0)
        return -1;
    return cg_db_tags_write(db, "job_tags", "job_id", id, tags, remove, err);
}

int cg_job_tags_edit(cg_jobs *jobs, const char *id, const cg_tags *tags, int remove, cg_error *err)
{
    sqlite3 *db = cg_jobs_db_lock(jobs);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, edit(db, id, tags, remove, err) == 0, err);
    cg_jobs_db_unlock(jobs);
    return ret;
}
