/* cloudgate: the jobs table (engine/jobs.c keeps the queue and threads).
 *
 * Every function takes the store's connection; jobs.c holds its lock
 * around each call.  Statements go through gateway/store.h.
 */
#include "jobs_db.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "../gateway/store.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS jobs ("
                             " seq INTEGER PRIMARY KEY," /* submission order */
                             " id TEXT NOT NULL UNIQUE,"
                             " action TEXT NOT NULL,"
                             " target TEXT NOT NULL DEFAULT '',"
                             " affected TEXT NOT NULL DEFAULT '',"
                             " state TEXT NOT NULL,"
                             " progress INTEGER NOT NULL DEFAULT 0,"
                             " status_message TEXT NOT NULL DEFAULT '',"
                             " created INTEGER NOT NULL,"
                             " changed INTEGER NOT NULL,"
                             " owner INTEGER NOT NULL DEFAULT 0);";

/* Columns added since the table was first created (ALTER fails harmlessly
 * when the column exists already). */
static const char *const migrations[] = {
    "ALTER TABLE jobs ADD COLUMN undo TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN recover INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN description TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN source TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN format TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN size INTEGER NOT NULL DEFAULT 0",
    /* can_cancel: the job polls cg_job_cancelled; cancel: asked for */
    "ALTER TABLE jobs ADD COLUMN can_cancel INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN cancel INTEGER NOT NULL DEFAULT 0",
};

static const char *const state_names[] = {"QUEUED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"};

const char *cg_job_state_name(cg_job_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "UNKNOWN";
}

static cg_job_state state_parse(const char *s)
{
    unsigned i;

    for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(s, state_names[i]) == 0)
            return (cg_job_state)i;
    return CG_JOB_FAILED; /* a row written by a newer version: not runnable here */
}

/* SQL cg_owner_gone(pid): the process that queued or ran a job is gone.
 * Our own pid can only come from an earlier open in this process, or from
 * a pid reused after a restart (pid 1 in a container): gone either way. */
static void owner_gone(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pid_t pid = (pid_t)sqlite3_value_int64(argv[0]);

    (void)argc;
    sqlite3_result_int(ctx, pid <= 0 || pid == getpid() || (kill(pid, 0) < 0 && errno == ESRCH));
}

int cg_jobs_store_open(sqlite3 *db, cg_error *err)
{
    size_t i;
    int n;

    if (cg_db_exec(db, schema, err) < 0 || cg_job_tags_init(db, err) < 0)
        return -1;
    for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
        sqlite3_exec(db, migrations[i], NULL, NULL, NULL);
    /* QUEUED/RUNNING rows whose process is gone: their work is lost. */
    if (sqlite3_create_function(db, "cg_owner_gone", 1, SQLITE_UTF8, NULL, owner_gone, NULL,
                                NULL) != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "jobs: recovery: %s", sqlite3_errmsg(db));
        return -1;
    }
    n = cg_db_run(db, err, "fail interrupted jobs",
                  "UPDATE jobs SET state = 'FAILED', changed = ?,"
                  " status_message = 'interrupted by a gateway restart', recover = 1"
                  " WHERE state IN ('QUEUED', 'RUNNING') AND cg_owner_gone(owner)",
                  "I", (long long)time(NULL));
    if (n > 0)
        cg_warn("jobs: %d job(s) interrupted by a restart marked FAILED", n);
    return n < 0 ? -1 : 0;
}

#define SELECT_JOBS                                                                                \
    "SELECT id, action, target, affected, state, progress, status_message, created, changed,"      \
    " description, source, format, size, can_cancel, cancel, undo FROM jobs"

static void row_to_job(sqlite3_stmt *st, cg_job *j)
{
    char state[16];

    memset(j, 0, sizeof(*j));
    cg_db_col_copy(st, 0, j->id, sizeof(j->id));
    cg_db_col_copy(st, 1, j->action, sizeof(j->action));
    cg_db_col_copy(st, 2, j->target, sizeof(j->target));
    cg_db_col_copy(st, 3, j->affected, sizeof(j->affected));
    cg_db_col_copy(st, 4, state, sizeof(state));
    j->state = state_parse(state);
    j->progress = sqlite3_column_int(st, 5);
    cg_db_col_copy(st, 6, j->status_message, sizeof(j->status_message));
    j->created = (time_t)sqlite3_column_int64(st, 7);
    j->changed = (time_t)sqlite3_column_int64(st, 8);
    cg_db_col_copy(st, 9, j->description, sizeof(j->description));
    cg_db_col_copy(st, 10, j->source, sizeof(j->source));
    cg_db_col_copy(st, 11, j->format, sizeof(j->format));
    j->size = (unsigned long long)sqlite3_column_int64(st, 12);
    j->cancel_requested = sqlite3_column_int(st, 14);
    j->cancellable = j->state == CG_JOB_QUEUED ||
                     (j->state == CG_JOB_RUNNING && sqlite3_column_int(st, 13) &&
                      !j->cancel_requested);
}

/* The rows st yields, appended to out; with undo, each one's undo text
 * too (a parallel array).  0 or -1. */
static int read_rows(sqlite3_stmt *st, cg_job_list *out, char ***undo, cg_error *err)
{
    size_t cap = 0;
    char **u = NULL;
    int rc;

    while ((rc = cg_db_step(st, err, "read jobs")) == 1) {
        if (out->n == cap) {
            cg_job *v = realloc(out->v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            char **w = undo ? realloc(u, cap * sizeof(*w)) : NULL;

            if (v)
                out->v = v;
            if (w)
                u = w;
            if (!v || (undo && !w)) {
                cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
                rc = -1;
                break;
            }
        }
        if (undo) {
            int oom = 0;

            if (!(u[out->n] = cg_db_col_dup(st, 15, &oom)) && !oom)
                u[out->n] = strdup("");
            if (!u[out->n]) {
                cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
                rc = -1;
                break;
            }
        }
        row_to_job(st, &out->v[out->n++]);
    }
    if (undo && rc == 0) {
        *undo = u;
        u = NULL;
    }
    for (cap = 0; u && cap < out->n; cap++)
        free(u[cap]);
    free(u);
    return rc;
}

int cg_jobs_store_select(sqlite3 *db, const char *id, cg_job_list *out, cg_error *err)
{
    sqlite3_stmt *st;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (id)
        st = cg_db_prep(db, err, SELECT_JOBS " WHERE id = ?", "s", id);
    else
        st = cg_db_prep(db, err, SELECT_JOBS " ORDER BY seq DESC", NULL);
    if (st)
        rc = read_rows(st, out, NULL, err);
    cg_db_done(st);
    if (rc < 0)
        cg_job_list_release(out);
    return rc < 0 ? -1 : 0;
}

int cg_jobs_store_recovery(sqlite3 *db, const char *action, cg_job_list *out, char ***undo,
                           cg_error *err)
{
    sqlite3_stmt *st;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *undo = NULL;
    st = cg_db_prep(db, err, SELECT_JOBS " WHERE action = ? AND recover = 1 ORDER BY seq DESC",
                    "s", action);
    if (st)
        rc = read_rows(st, out, undo, err);
    cg_db_done(st);
    if (rc < 0)
        cg_job_list_release(out);
    return rc < 0 ? -1 : 0;
}
