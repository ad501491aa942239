/* cloudgate: long-running operations as jobs (see jobs.h).
 *
 * Table jobs in STATE_DIR/cloudgate.db on a connection of its own, a FIFO
 * queue in memory and N job threads.  Behaviour the header leaves open:
 *
 * - Ownership of arg passes to the store only when cg_jobs_submit returns 0;
 *   after that free_arg runs exactly once: after the job's final state is
 *   written, or when it is cancelled (cg_jobs_cancel or cg_jobs_close).  On
 *   -1 nothing was recorded and the caller still owns arg.
 * - SUCCESS sets progress to 100; FAILED keeps the last reported value and
 *   puts err->message into status_message.
 * - Each row names the pid that owns it.  At open, QUEUED/RUNNING rows whose
 *   owner is gone (or is this very process, from an earlier open) become
 *   FAILED: the admin CLI may open the store while the daemon runs, and
 *   must not fail the daemon's live jobs.
 * - Those rows are also marked for recovery: what they made is rolled back
 *   by their owner's hook (cg_jobs_recover) from what they recorded with
 *   cg_job_set_undo, once, when the owner asks.
 * - cg_job_progress writes at most every PROGRESS_INTERVAL seconds per job;
 *   the newest value is kept in memory, shown by get/list at once and
 *   written when the job ends, so the last value always lands.
 */
#include "jobs.h"
#include "jobs_db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "../gateway/store.h"
#include "../gateway/util.h"

#define PROGRESS_INTERVAL 0.5

/* A queued job: what its thread needs to run it. */
typedef struct job_item {
    char id[32];
    cg_job_fn fn;
    void *arg;
    void (*free_arg)(void *);
    struct job_item *next;
} job_item;

/* A running job's unwritten progress; lives on its job thread's stack. */
typedef struct running {
    const char *id;
    int progress;
    char message[512];
    int has_message;
    double last_write;
    int cancel;               /* a cancel was asked for */
    double last_cancel_check; /* when the row's cancel column was last read */
    struct running *next;
} running;

struct cg_jobs {
    sqlite3 *db;
    /* The handle is serialized, but sqlite3_errmsg and sqlite3_changes tell
     * about whichever statement ran last: every use of the handle holds
     * dbmu.  Lock order where both are held: dbmu, then mu. */
    pthread_mutex_t dbmu;
    pthread_mutex_t mu; /* queue, running list, stopping */
    pthread_cond_t cv;  /* work queued, or stopping */
    pthread_cond_t ended_cv; /* a job left the running list (cg_jobs_wait_end) */
    job_item *head, *tail;
    running *running;
    int stopping;
    unsigned nthreads;
    pthread_t *threads;
    char *log_dir;      /* STATE_DIR/jobs */
};

/* ---- database (callers hold dbmu) ------------------------------------- */

sqlite3 *cg_jobs_db_lock(cg_jobs *jobs)
{
    pthread_mutex_lock(&jobs->dbmu);
    return jobs->db;
}

void cg_jobs_db_unlock(cg_jobs *jobs)
{
    pthread_mutex_unlock(&jobs->dbmu);
}

/* Move job id from state `from` to `to` (takes dbmu); progress < 0 and a
 * NULL message leave those alone.  Failures are logged too: the job threads
 * and close have no caller to tell.  Rows changed (0: not in `from`) or -1. */
static int set_state(cg_jobs *jobs, const char *id, cg_job_state from, cg_job_state to,
                     int progress, const char *message, cg_error *err)
{
    cg_error e = {0};
    int n;

    pthread_mutex_lock(&jobs->dbmu);
    n = cg_db_run(jobs->db, &e, "job state",
                  "UPDATE jobs SET state = ?1, changed = ?2,"
                  " progress = CASE WHEN ?3 < 0 THEN progress ELSE ?3 END,"
                  " status_message = COALESCE(?4, status_message) WHERE id = ?5 AND state = ?6",
                  "sIisss", cg_job_state_name(to), (long long)time(NULL), progress, message, id,
                  cg_job_state_name(from));
    pthread_mutex_unlock(&jobs->dbmu);
    if (n < 0) {
        cg_err("job %s: cannot record %s: %s", id, cg_job_state_name(to), e.message);
        cg_error_set(err, e.kind, "%s", e.message);
    }
    return n;
}

/* A job running here may have newer progress than its row: show that. */
static void overlay_running(cg_jobs *jobs, cg_job *j)
{
    running *r;

    if (j->state != CG_JOB_RUNNING)
        return;
    pthread_mutex_lock(&jobs->mu);
    for (r = jobs->running; r && strcmp(r->id, j->id) != 0; r = r->next)
        ;
    if (r) {
        j->progress = r->progress;
        if (r->has_message)
            snprintf(j->status_message, sizeof(j->status_message), "%s", r->message);
    }
    pthread_mutex_unlock(&jobs->mu);
}

/* The rows (all, newest first, or the one with id), with live progress. */
static int db_select(cg_jobs *jobs, const char *id, cg_job_list *out, cg_error *err)
{
    size_t i;
    int rc;

    pthread_mutex_lock(&jobs->dbmu);
    rc = cg_jobs_store_select(jobs->db, id, out, err);
    pthread_mutex_unlock(&jobs->dbmu);
    for (i = 0; rc == 0 && i < out->n; i++)
        overlay_running(jobs, &out->v[i]);
    return rc;
}

/* ---- job threads -------------------------------------------------------- */

static void run_one(cg_jobs *jobs, job_item *it, running *r)
{
    cg_error err = {0};
    int ok, progress, cancelled;
    char message[512];
    const char *final_msg;
    cg_job_state end;
    running **pp;

    set_state(jobs, it->id, CG_JOB_QUEUED, CG_JOB_RUNNING, -1, NULL, NULL);
    ok = it->fn(jobs, it->id, it->arg, &err) == 0;
    cancelled = !ok && cg_job_cancelled(jobs, it->id);

    pthread_mutex_lock(&jobs->mu);
    progress = r->progress;
    snprintf(message, sizeof(message), "%s", r->message);
    final_msg = r->has_message ? message : NULL;
    pthread_mutex_unlock(&jobs->mu);
    if (!ok) {
        final_msg = err.message[0] ? err.message : "the job failed without a reason";
        if (cancelled)
            final_msg = "cancelled";
        cg_job_log(jobs, it->id, "%s: %s", cancelled ? "cancelled" : "failed",
                   err.message[0] ? err.message : "no reason given");
        if (!cancelled)
            cg_warn("job %s failed: %s", it->id, final_msg);
    }
    end = ok ? CG_JOB_SUCCESS : cancelled ? CG_JOB_CANCELLED : CG_JOB_FAILED;
    set_state(jobs, it->id, CG_JOB_RUNNING, end, ok ? 100 : progress, final_msg, NULL);
    /* Only now leave the running list: until the final row is written,
     * readers keep seeing the newest progress rather than the row's. */
    pthread_mutex_lock(&jobs->mu);
    for (pp = &jobs->running; *pp != r; pp = &(*pp)->next)
        ;
    *pp = r->next;
    pthread_cond_broadcast(&jobs->ended_cv);
    pthread_mutex_unlock(&jobs->mu);
    /* Last: when free_arg runs, the final state can be read back. */
    if (it->free_arg)
        it->free_arg(it->arg);
}

/* Whether job id is queued or running here (caller holds mu). */
static int here_locked(cg_jobs *jobs, const char *id)
{
    for (job_item *it = jobs->head; it; it = it->next)
        if (strcmp(it->id, id) == 0)
            return 1;
    for (running *r = jobs->running; r; r = r->next)
        if (strcmp(r->id, id) == 0)
            return 1;
    return 0;
}

int cg_jobs_wait_end(cg_jobs *jobs, const char *id, long timeout_ms)
{
    struct timespec until;
    int here, rc = 0, waited = 0;

    cg_realtime_after(&until, (double)timeout_ms / 1000);
    pthread_mutex_lock(&jobs->mu);
    while ((here = here_locked(jobs, id)) && rc == 0) {
        rc = pthread_cond_timedwait(&jobs->ended_cv, &jobs->mu, &until);
        waited = 1;
    }
    pthread_mutex_unlock(&jobs->mu);
    return waited ? !here : -1;
}

static void *job_thread(void *opaque)
{
    cg_jobs *jobs = opaque;
    job_item *it;

    for (;;) {
        running r = {0};

        pthread_mutex_lock(&jobs->mu);
        while (!jobs->head && !jobs->stopping)
            pthread_cond_wait(&jobs->cv, &jobs->mu);
        if (jobs->stopping) { /* close cancels what is still queued */
            pthread_mutex_unlock(&jobs->mu);
            return NULL;
        }
        it = jobs->head;
        if (!(jobs->head = it->next))
            jobs->tail = NULL;
        /* Registered in the same step that dequeues, so a job is always
         * either queued or running for cancel and progress. */
        r.id = it->id;
        r.last_write = -1e9;
        r.next = jobs->running;
        jobs->running = &r;
        pthread_mutex_unlock(&jobs->mu);

        run_one(jobs, it, &r);
        free(it);
    }
}

/* ---- public ------------------------------------------------------------- */

cg_jobs *cg_jobs_open(const cg_config *cfg, unsigned nthreads, cg_error *err)
{
    cg_jobs *jobs;

    if (nthreads == 0) {
        cg_error_set(err, CG_ERR_INVALID, "jobs: at least one job thread is needed");
        return NULL;
    }
    if (!(jobs = calloc(1, sizeof(*jobs))) ||
        !(jobs->threads = calloc(nthreads, sizeof(*jobs->threads)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        free(jobs);
        return NULL;
    }
    pthread_mutex_init(&jobs->dbmu, NULL);
    pthread_mutex_init(&jobs->mu, NULL);
    pthread_cond_init(&jobs->cv, NULL);
    pthread_cond_init(&jobs->ended_cv, NULL);
    if (!(jobs->log_dir = cg_asprintf("%s/jobs", cfg->state_dir))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    if (!(jobs->db = cg_db_open(cfg, err)) || cg_jobs_store_open(jobs->db, err) < 0)
        goto fail;
    for (; jobs->nthreads < nthreads; jobs->nthreads++) {
        if (pthread_create(&jobs->threads[jobs->nthreads], NULL, job_thread, jobs) != 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "jobs: cannot start job threads");
            goto fail;
        }
    }
    return jobs;

fail:
    cg_jobs_close(jobs); /* joins the threads started so far */
    return NULL;
}

/* Close: every queued job becomes CANCELLED and its arg is freed. */
static void cancel_queue(cg_jobs *jobs)
{
    job_item *it, *next;

    pthread_mutex_lock(&jobs->mu);
    it = jobs->head;
    jobs->head = jobs->tail = NULL;
    pthread_mutex_unlock(&jobs->mu);
    for (; it; it = next) {
        next = it->next;
        set_state(jobs, it->id, CG_JOB_QUEUED, CG_JOB_CANCELLED, -1,
                  "cancelled: the gateway stopped", NULL);
        if (it->free_arg)
            it->free_arg(it->arg);
        free(it);
    }
}

void cg_jobs_close(cg_jobs *jobs)
{
    unsigned i;

    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->mu);
    jobs->stopping = 1;
    pthread_cond_broadcast(&jobs->cv);
    pthread_mutex_unlock(&jobs->mu);
    cancel_queue(jobs);
    for (i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    /* Again: running jobs may have submitted more while we waited. */
    cancel_queue(jobs);
    cg_db_close(jobs->db);
    pthread_cond_destroy(&jobs->cv);
    pthread_cond_destroy(&jobs->ended_cv);
    pthread_mutex_destroy(&jobs->mu);
    pthread_mutex_destroy(&jobs->dbmu);
    free(jobs->threads);
    free(jobs->log_dir);
    free(jobs);
}

int cg_jobs_submit(cg_jobs *jobs, const char *action, const char *target, cg_job_fn fn, void *arg,
                   void (*free_arg)(void *), cg_job *out, cg_error *err)
{
    cg_job_opts o = {.action = action, .target = target};

    return cg_jobs_submit_opts(jobs, &o, fn, arg, free_arg, out, err);
}

/* Does s fit in a field of size n?  NULL fits. */
#define FITS(s, n) (!(s) || strlen(s) < (n))

int cg_jobs_submit_opts(cg_jobs *jobs, const cg_job_opts *o, cg_job_fn fn, void *arg,
                        void (*free_arg)(void *), cg_job *out, cg_error *err)
{
    job_item *it;
    cg_job j = {0};
    int rc;

    if (!o->action || !*o->action || !fn) {
        cg_error_set(err, CG_ERR_MISSING, "jobs: an action and a function are required");
        return -1;
    }
    if (!FITS(o->action, sizeof(j.action)) || !FITS(o->target, sizeof(j.target)) ||
        !FITS(o->description, sizeof(j.description)) || !FITS(o->source, sizeof(j.source)) ||
        !FITS(o->format, sizeof(j.format)) || !FITS(o->id_prefix, sizeof(j.id) - 17) ||
        !FITS(o->id, sizeof(j.id))) {
        cg_error_set(err, CG_ERR_INVALID, "jobs: a field of the job is too long");
        return -1;
    }
    if (!(it = calloc(1, sizeof(*it)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (o->id && *o->id)
        snprintf(j.id, sizeof(j.id), "%s", o->id);
    else
        cg_new_id(j.id, sizeof(j.id), o->id_prefix ? o->id_prefix : "job-");
    snprintf(j.action, sizeof(j.action), "%s", o->action);
    snprintf(j.target, sizeof(j.target), "%s", o->target ? o->target : "");
    snprintf(j.description, sizeof(j.description), "%s", o->description ? o->description : "");
    snprintf(j.source, sizeof(j.source), "%s", o->source ? o->source : "");
    snprintf(j.format, sizeof(j.format), "%s", o->format ? o->format : "");
    j.state = CG_JOB_QUEUED;
    j.created = j.changed = time(NULL);
    j.cancellable = 1;

    /* The row and its tags in one transaction: a job is never seen untagged. */
    pthread_mutex_lock(&jobs->dbmu);
    if ((rc = cg_db_begin(jobs->db, err)) == 0) {
        rc = cg_db_run(jobs->db, err, "record job",
                       "INSERT INTO jobs (id, action, target, state, created, changed, owner,"
                       " description, source, format, can_cancel)"
                       " VALUES (?, ?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?, ?)",
                       "sssIIIsssi", j.id, j.action, j.target, (long long)j.created,
                       (long long)j.changed, (long long)getpid(), j.description, j.source,
                       j.format, o->can_cancel_running != 0);
        rc = cg_db_end(jobs->db, rc == 1 && cg_job_tags_insert(jobs->db, j.id, o->tags, err) == 0,
                       err);
    }
    pthread_mutex_unlock(&jobs->dbmu);
    if (rc < 0) {
        free(it);
        return -1;
    }

    memcpy(it->id, j.id, sizeof(it->id));
    it->fn = fn;
    it->arg = arg;
    it->free_arg = free_arg;
    pthread_mutex_lock(&jobs->mu);
    if (jobs->tail)
        jobs->tail->next = it;
    else
        jobs->head = it;
    jobs->tail = it;
    pthread_cond_signal(&jobs->cv);
    pthread_mutex_unlock(&jobs->mu);
    if (out)
        *out = j;
    return 0;
}

int cg_job_progress(cg_jobs *jobs, const char *id, int percent, const char *message)
{
    running *r;
    cg_error e = {0};
    int rc = -1, progress = 0, write = 0;
    char msg[512];

    percent = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    /* dbmu first, and the value is read under it: concurrent reports for one
     * job cannot land an older value after a newer one. */
    pthread_mutex_lock(&jobs->dbmu);
    pthread_mutex_lock(&jobs->mu);
    for (r = jobs->running; r && strcmp(r->id, id) != 0; r = r->next)
        ;
    if (r) {
        double now = cg_monotonic();

        r->progress = progress = percent;
        if (message) {
            snprintf(r->message, sizeof(r->message), "%s", message);
            r->has_message = 1;
        }
        snprintf(msg, sizeof(msg), "%s", r->message);
        rc = 0;
        /* Throttled calls only update memory; the job's end writes it. */
        if ((write = now - r->last_write >= PROGRESS_INTERVAL))
            r->last_write = now;
    }
    pthread_mutex_unlock(&jobs->mu);
    if (write && cg_db_run(jobs->db, &e, "job progress",
                           "UPDATE jobs SET progress = ?, status_message = ?"
                           " WHERE id = ? AND state = 'RUNNING'",
                           "iss", progress, msg, id) < 0) {
        cg_err("job %s: cannot record progress: %s", id, e.message);
        rc = -1;
    }
    pthread_mutex_unlock(&jobs->dbmu);
    return rc;
}

int cg_job_set_target(cg_jobs *jobs, const char *id, const char *target, const char *affected)
{
    cg_error e = {0};
    cg_job j;
    int n;

    if ((target && strlen(target) >= sizeof(j.target)) ||
        (affected && strlen(affected) >= sizeof(j.affected))) {
        cg_err("job %s: target or affected resources too long", id);
        return -1;
    }
    pthread_mutex_lock(&jobs->dbmu);
    n = cg_db_run(jobs->db, &e, "job target",
                  "UPDATE jobs SET target = COALESCE(?, target), affected = COALESCE(?, affected)"
                  " WHERE id = ?",
                  "sss", target, affected, id);
    if (n != 1)
        cg_err("job %s: cannot record target: %s", id, n == 0 ? "no such job" : e.message);
    pthread_mutex_unlock(&jobs->dbmu);
    return n == 1 ? 0 : -1;
}

int cg_jobs_cancel(cg_jobs *jobs, const char *id, cg_error *err)
{
    job_item *it, *prev = NULL;
    cg_job j;
    int n;

    pthread_mutex_lock(&jobs->mu);
    for (it = jobs->head; it && strcmp(it->id, id) != 0; prev = it, it = it->next)
        ;
    if (it) {
        if (prev)
            prev->next = it->next;
        else
            jobs->head = it->next;
        if (jobs->tail == it)
            jobs->tail = prev;
    }
    pthread_mutex_unlock(&jobs->mu);

    if (it) {
        n = set_state(jobs, id, CG_JOB_QUEUED, CG_JOB_CANCELLED, -1, NULL, err);
        /* Out of the queue either way: it will never run, so arg goes now. */
        if (it->free_arg)
            it->free_arg(it->arg);
        free(it);
        return n < 0 ? -1 : 0;
    }
    if (cg_jobs_get(jobs, id, &j, err) < 0)
        return -1;
    if (j.state == CG_JOB_RUNNING && (j.cancellable || j.cancel_requested)) {
        running *r;

        /* The row reaches a job run by another process (it polls it); the
         * flag in memory reaches ours at once. */
        pthread_mutex_lock(&jobs->dbmu);
        n = cg_db_run(jobs->db, err, "job cancel",
                      "UPDATE jobs SET cancel = 1 WHERE id = ? AND state = 'RUNNING'", "s", id);
        pthread_mutex_unlock(&jobs->dbmu);
        pthread_mutex_lock(&jobs->mu);
        for (r = jobs->running; r && strcmp(r->id, id) != 0; r = r->next)
            ;
        if (r)
            r->cancel = 1;
        pthread_mutex_unlock(&jobs->mu);
        if (n < 0)
            return -1;
        if (n == 1 || r) {
            cg_job_log(jobs, id, "cancel requested");
            return 0;
        }
        if (cg_jobs_get(jobs, id, &j, err) < 0)
            return -1;
    }
    /* QUEUED but not in our queue: a job thread is just taking it (or the
     * row belongs to another process).  Too late to cancel either way. */
    cg_error_set(err, CG_ERR_STATE, "job %s is %s and can no longer be cancelled", id,
                 j.state == CG_JOB_QUEUED ? "starting" : cg_job_state_name(j.state));
    return -1;
}

int cg_job_cancelled(cg_jobs *jobs, const char *id)
{
    running *r;
    int cancel = 0, check = 0;
    double now = cg_monotonic();

    pthread_mutex_lock(&jobs->mu);
    for (r = jobs->running; r && strcmp(r->id, id) != 0; r = r->next)
        ;
    if (r) {
        cancel = r->cancel;
        if (!cancel && now - r->last_cancel_check >= 1.0) {
            r->last_cancel_check = now;
            check = 1;
        }
    }
    pthread_mutex_unlock(&jobs->mu);
    if (check) {
        long long asked = 0;

        /* Another process (the admin CLI, the daemon) may have asked. */
        pthread_mutex_lock(&jobs->dbmu);
        if (cg_db_int(jobs->db, NULL, &asked, "SELECT cancel FROM jobs WHERE id = ?", "s",
                      id) == 1)
            cancel = asked != 0;
        pthread_mutex_unlock(&jobs->dbmu);
        if (cancel) {
            pthread_mutex_lock(&jobs->mu);
            for (r = jobs->running; r && strcmp(r->id, id) != 0; r = r->next)
                ;
            if (r)
                r->cancel = 1;
            pthread_mutex_unlock(&jobs->mu);
        }
    }
    return cancel;
}

int cg_job_set_size(cg_jobs *jobs, const char *id, unsigned long long size)
{
    int n;

    pthread_mutex_lock(&jobs->dbmu);
    n = cg_db_run(jobs->db, NULL, "job size", "UPDATE jobs SET size = ? WHERE id = ?", "Is",
                  (long long)size, id);
    pthread_mutex_unlock(&jobs->dbmu);
    return n == 1 ? 0 : -1;
}

int cg_job_log_path(cg_jobs *jobs, const char *id, char *buf, size_t len)
{
    /* Ids are ours ("job-..."/"import-ami-..."), but a name from a request
     * must never walk out of the directory. */
    if (!id || !*id || strchr(id, '/') || id[0] == '.')
        return -1;
    return snprintf(buf, len, "%s/%s.log", jobs->log_dir, id) < (int)len ? 0 : -1;
}

void cg_job_log(cg_jobs *jobs, const char *id, const char *fmt, ...)
{
    char path[4096], line[2048], when[32];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;
    int fd, n;

    if (cg_job_log_path(jobs, id, path, sizeof(path)) < 0)
        return;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(line, sizeof(line), "%s ", when);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    n = (int)strlen(line);
    line[n++] = '\n';
    cg_mkdir_p(jobs->log_dir, 0750);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0)
        return;
    if (write(fd, line, (size_t)n) < 0)
        cg_debug("job %s: log: %s", id, strerror(errno));
    close(fd);
}

int cg_jobs_get(cg_jobs *jobs, const char *id, cg_job *out, cg_error *err)
{
    cg_job_list l;

    if (db_select(jobs, id, &l, err) < 0)
        return -1;
    if (l.n == 0) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "job %s does not exist", id);
        return -1;
    }
    *out = l.v[0];
    cg_job_list_release(&l);
    return 0;
}

int cg_jobs_list(cg_jobs *jobs, cg_job_list *out, cg_error *err)
{
    return db_select(jobs, NULL, out, err);
}

void cg_job_list_release(cg_job_list *list)
{
    if (!list)
        return;
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

int cg_job_set_undo(cg_jobs *jobs, const char *id, const char *undo)
{
    cg_error e = {0};
    int n;

    pthread_mutex_lock(&jobs->dbmu);
    n = cg_db_run(jobs->db, &e, "job undo", "UPDATE jobs SET undo = ? WHERE id = ?", "ss",
                  undo ? undo : "", id);
    if (n != 1)
        cg_err("job %s: cannot record what to undo: %s", id, n == 0 ? "no such job" : e.message);
    pthread_mutex_unlock(&jobs->dbmu);
    return n == 1 ? 0 : -1;
}

int cg_jobs_recover(cg_jobs *jobs, const char *action, cg_job_recover_fn fn, void *arg,
                    cg_error *err)
{
    cg_job_list l = {0};
    char **undo = NULL;
    size_t i;
    int rc;

    pthread_mutex_lock(&jobs->dbmu);
    rc = cg_jobs_store_recovery(jobs->db, action, &l, &undo, err);
    pthread_mutex_unlock(&jobs->dbmu);
    if (rc < 0)
        return -1;
    for (i = 0; i < l.n; i++) {
        fn(&l.v[i], undo[i], arg);
        /* Once: a hook that fails has logged what stays. */
        pthread_mutex_lock(&jobs->dbmu);
        cg_db_run(jobs->db, NULL, "job recovered", "UPDATE jobs SET recover = 0 WHERE id = ?",
                  "s", l.v[i].id);
        pthread_mutex_unlock(&jobs->dbmu);
        free(undo[i]);
    }
    free(undo);
    cg_job_list_release(&l);
    return (int)i;
}
