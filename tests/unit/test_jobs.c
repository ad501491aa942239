/* cloudgate: the job store (gateway/jobs.c).
 *
 * Jobs run a test function driven by a "probe": the test decides when a job
 * may finish (a gate on a condition variable), what progress it reports and
 * whether it fails, and sees when it started and when its arg was freed.
 * Every wait is bounded (WAIT_SECONDS); no assertion depends on a sleep.
 * One check reads a clock: the progress throttle is judged only when the
 * job's burst of reports took less than the interval (else it is skipped).
 *
 * A gateway crash is simulated by writing QUEUED/RUNNING rows straight into
 * the database with sqlite3 (owned by this process, by a pid no process can
 * have and by a live process) and opening the store again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/jobs.h"
#include "gateway/util.h"

#define WAIT_SECONDS 20

static cg_config cfg;
static cg_jobs *jobs;
static char dir[64];

/* Everything a probe holds is read and written under tmu. */
static pthread_mutex_t tmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcv = PTHREAD_COND_INITIALIZER;
static int start_seq;   /* order in which jobs started */
static int release_all; /* teardown: let blocked jobs go after a failed test */

/* A thread closing the store while the test watches; teardown joins it. */
typedef struct closer {
    pthread_t t;
    int started, done;
} closer;
static closer cl;

typedef struct probe {
    int block;                     /* wait for release before finishing */
    int before[4], nbefore;        /* progress reported before blocking */
    int after[4], nafter;          /* ... and after */
    const char *message;           /* with the first report */
    int burst;                     /* report 1..burst back to back, before blocking */
    const char *target, *affected; /* cg_job_set_target before finishing */
    const char *fail;              /* fail with this message */
    struct probe *child;           /* submitted from inside the job after release */

    int started, reported, release, finished, freed, order;
    double burst_seconds;
    char seen_id[32];
    int child_rc;
    cg_job child_job;
} probe;

/* Probes are static: after a failed assertion the test's frame is gone
 * while its jobs may still run until teardown closes the store. */
/* clang-format off */
#define PROBE(name, ...) static probe name; name = (probe){__VA_ARGS__}
/* clang-format on */

typedef struct box {
    probe *p;
} box;

static void free_box(void *arg)
{
    box *b = arg;

    pthread_mutex_lock(&tmu);
    b->p->freed++;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
    free(b);
}

static int submit(probe *p, const char *target, cg_job *out, cg_error *err);

static int job_fn(cg_jobs *js, const char *id, void *arg, cg_error *err)
{
    probe *p = ((box *)arg)->p;
    struct timespec deadline;
    double t0;
    int i;

    for (i = 0; i < p->nbefore; i++)
        cg_job_progress(js, id, p->before[i], i == 0 ? p->message : NULL);
    t0 = cg_monotonic();
    for (i = 1; i <= p->burst; i++)
        cg_job_progress(js, id, i, NULL);

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2 * WAIT_SECONDS; /* a failed test must not hang the run */
    pthread_mutex_lock(&tmu);
    p->burst_seconds = cg_monotonic() - t0;
    snprintf(p->seen_id, sizeof(p->seen_id), "%s", id);
    p->started = 1;
    p->order = ++start_seq;
    p->reported = 1;
    pthread_cond_broadcast(&tcv);
    while (p->block && !p->release && !release_all)
        if (pthread_cond_timedwait(&tcv, &tmu, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&tmu);

    for (i = 0; i < p->nafter; i++)
        cg_job_progress(js, id, p->after[i], NULL);
    if (p->target || p->affected)
        cg_job_set_target(js, id, p->target, p->affected);
    if (p->child) {
        cg_error cerr = {0};
        int rc = submit(p->child, "child", &p->child_job, &cerr);

        pthread_mutex_lock(&tmu);
        p->child_rc = rc;
        pthread_mutex_unlock(&tmu);
    }
    pthread_mutex_lock(&tmu);
    p->finished = 1;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
    if (p->fail) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s", p->fail);
        return -1;
    }
    return 0;
}

/* Submit p's job; on failure the arg is still ours (jobs.c's contract). */
static int submit(probe *p, const char *target, cg_job *out, cg_error *err)
{
    box *b = malloc(sizeof(*b));
    int rc;

    assert_non_null(b);
    b->p = p;
    rc = cg_jobs_submit(jobs, "test", target, job_fn, b, free_box, out, err);
    if (rc < 0)
        free(b);
    return rc;
}

/* Wait (bounded) until *field >= want; returns whether it got there. */
static int wait_for(const int *field, int want)
{
    struct timespec deadline;
    int ok;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&tmu);
    while (*field < want)
        if (pthread_cond_timedwait(&tcv, &tmu, &deadline) == ETIMEDOUT)
            break;
    ok = *field >= want;
    pthread_mutex_unlock(&tmu);
    return ok;
}

static int read_int(const int *field)
{
    int v;

    pthread_mutex_lock(&tmu);
    v = *field;
    pthread_mutex_unlock(&tmu);
    return v;
}

static void release(probe *p)
{
    pthread_mutex_lock(&tmu);
    p->release = 1;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
}

static void reopen(unsigned nthreads)
{
    cg_error err = {0};

    cg_jobs_close(jobs);
    jobs = cg_jobs_open(&cfg, nthreads, &err);
    if (!jobs)
        fail_msg("cg_jobs_open: %s", err.message);
}

static int setup(void **state)
{
    cg_error err = {0};

    snprintf(dir, sizeof(dir), "/tmp/cg-jobs-XXXXXX");
    assert_non_null(mkdtemp(dir));
    memset(&cfg, 0, sizeof(cfg));
    cfg.state_dir = dir;
    start_seq = 0;
    release_all = 0;
    /* One job thread unless a test reopens with more: order is observable. */
    jobs = cg_jobs_open(&cfg, 1, &err);
    if (!jobs)
        fail_msg("cg_jobs_open: %s", err.message);
    return 0;
}

static int teardown(void **state)
{
    pthread_mutex_lock(&tmu);
    release_all = 1;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
    if (cl.started) { /* a failed test_close_and_reopen: the store is closing */
        pthread_join(cl.t, NULL);
        jobs = NULL;
    }
    memset(&cl, 0, sizeof(cl));
    cg_jobs_close(jobs);
    jobs = NULL;
    cg_rm_tree(dir); /* the database and the jobs' logs */
    return 0;
}

static cg_job get(const char *id)
{
    cg_error err = {0};
    cg_job j;

    if (cg_jobs_get(jobs, id, &j, &err) < 0)
        fail_msg("cg_jobs_get %s: %s", id, err.message);
    return j;
}

/* The progress column as another process (the admin CLI) would read it. */
/* Run SQL on the database from a connection of the test's own. */
static void db_exec(const char *fmt, const char *id)
{
    char path[128], *sql = cg_asprintf(fmt, id);
    sqlite3 *db = NULL;

    assert_non_null(sql);
    snprintf(path, sizeof(path), "%s/cloudgate.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(sql);
}

static int db_progress(const char *id)
{
    char path[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;

    snprintf(path, sizeof(path), "%s/cloudgate.db", dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT progress FROM jobs WHERE id = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_success_with_progress(void **state)
{
    PROBE(p, .block = 1, .before = {30, 55}, .nbefore = 2, .message = "copying",
          .target = "ami-0123456789abcdef0", .affected = "vol-1,vol-2");
    cg_error err = {0};
    cg_job out, j;

    assert_int_equal(submit(&p, "i-0aaa", &out, &err), 0);
    assert_int_equal(strncmp(out.id, "job-", 4), 0);
    assert_int_equal(strlen(out.id), 4 + 17);
    assert_string_equal(out.action, "test");
    assert_string_equal(out.target, "i-0aaa");
    assert_int_equal(out.state, CG_JOB_QUEUED);
    assert_int_equal(out.cancellable, 1);
    assert_int_equal(out.progress, 0);

    assert_true(wait_for(&p.reported, 1));
    assert_string_equal(p.seen_id, out.id);
    j = get(out.id);
    assert_int_equal(j.state, CG_JOB_RUNNING);
    assert_int_equal(j.cancellable, 0);
    assert_int_equal(j.progress, 55);
    assert_string_equal(j.status_message, "copying");
    assert_int_equal(read_int(&p.freed), 0); /* not before the job ends */
    /* Back-date the row: the next state change must stamp it anew. */
    db_exec("UPDATE jobs SET created = 1000, changed = 1000 WHERE id = '%s'", out.id);

    release(&p);
    assert_true(wait_for(&p.freed, 1));
    j = get(out.id);
    assert_int_equal(j.state, CG_JOB_SUCCESS);
    assert_int_equal(j.progress, 100);
    assert_string_equal(j.status_message, "copying");
    assert_string_equal(j.target, "ami-0123456789abcdef0");
    assert_string_equal(j.affected, "vol-1,vol-2");
    assert_string_equal(j.action, "test");
    assert_int_equal(j.created, 1000);
    assert_true(j.changed >= out.created);
    assert_int_equal(j.cancellable, 0);
    assert_string_equal(cg_job_state_name(j.state), "SUCCESS");

    /* Outside a running job, progress is refused. */
    assert_int_equal(cg_job_progress(jobs, out.id, 10, NULL), -1);
    assert_int_equal(cg_job_set_target(jobs, "job-00000000000000000", "x", NULL), -1);
    cg_jobs_close(jobs);
    jobs = NULL;
    assert_int_equal(p.freed, 1);
}

/* cg_jobs_wait_end: a timeout while the job runs, then the end. */
static void test_wait_end(void **state)
{
    PROBE(p, .block = 1);
    cg_error err = {0};
    cg_job out, j;
    int rc;

    assert_int_equal(submit(&p, "i-0aaa", &out, &err), 0);
    assert_true(wait_for(&p.reported, 1));
    assert_int_equal(cg_jobs_wait_end(jobs, out.id, 20), 0); /* still blocked */
    assert_int_equal(get(out.id).state, CG_JOB_RUNNING);
    /* Neither queued nor running here: at once. */
    assert_int_equal(cg_jobs_wait_end(jobs, "job-00000000000000000", 1000L * 3600), -1);

    release(&p);
    /* 1 when it ended while we waited, -1 when it had already; either way
     * its final row is there (a whole WAIT_SECONDS bound, not an hour). */
    rc = cg_jobs_wait_end(jobs, out.id, 1000L * WAIT_SECONDS);
    assert_true(rc == 1 || rc == -1);
    j = get(out.id);
    assert_int_equal(j.state, CG_JOB_SUCCESS);
    assert_int_equal(cg_jobs_wait_end(jobs, out.id, 1000L * 3600), -1);
}

static void test_failure_and_clamping(void **state)
{
    PROBE(p, .block = 1, .before = {250}, .nbefore = 1, .after = {-7}, .nafter = 1,
          .fail = "disk full");
    cg_error err = {0};
    cg_job out, j;

    assert_int_equal(submit(&p, NULL, &out, &err), 0);
    assert_string_equal(out.target, "");
    assert_true(wait_for(&p.reported, 1));
    assert_int_equal(get(out.id).progress, 100);
    release(&p);
    assert_true(wait_for(&p.freed, 1));
    j = get(out.id);
    assert_int_equal(j.state, CG_JOB_FAILED);
    assert_string_equal(j.status_message, "disk full");
    assert_int_equal(j.progress, 0); /* the last report, clamped, kept on failure */
    assert_int_equal(db_progress(out.id), 0);
}

/* Many reports back to back: the newest shows at once, the row catches up
 * no later than the job's end. */
static void test_last_progress_lands(void **state)
{
    PROBE(p, .block = 1, .burst = 99, .fail = "stopped at 99");
    cg_error err = {0};
    cg_job out;
    int in_db;

    assert_int_equal(submit(&p, "i-0bbb", &out, &err), 0);
    assert_true(wait_for(&p.reported, 1));
    assert_int_equal(get(out.id).progress, 99);
    in_db = db_progress(out.id);
    assert_in_range(in_db, 1, 99); /* the first report is written at once */
    /* Throttled: a burst shorter than the interval (0.5 s) writes only its
     * first value; a slower machine proves nothing, so it is not judged. */
    if (p.burst_seconds < 0.4)
        assert_int_equal(in_db, 1);
    release(&p);
    assert_true(wait_for(&p.freed, 1));
    assert_int_equal(db_progress(out.id), 99);
    assert_int_equal(get(out.id).progress, 99);
    assert_int_equal(get(out.id).state, CG_JOB_FAILED);
}

static void test_fifo_and_list_order(void **state)
{
    static probe p[4];
    cg_error err = {0};
    cg_job out[4];
    cg_job_list l = {0};
    int i;

    memset(p, 0, sizeof(p));
    p[0].block = 1;

    for (i = 0; i < 4; i++)
        assert_int_equal(submit(&p[i], NULL, &out[i], &err), 0);
    assert_true(wait_for(&p[0].started, 1));
    assert_int_equal(read_int(&p[1].started), 0); /* one job thread, busy */
    release(&p[0]);
    for (i = 0; i < 4; i++) {
        assert_true(wait_for(&p[i].freed, 1));
        assert_int_equal(p[i].order, i + 1);
    }
    assert_int_equal(cg_jobs_list(jobs, &l, &err), 0);
    assert_int_equal(l.n, 4);
    for (i = 0; i < 4; i++) {
        assert_string_equal(l.v[i].id, out[3 - i].id); /* newest first */
        assert_int_equal(l.v[i].state, CG_JOB_SUCCESS);
    }
    cg_job_list_release(&l);
    assert_null(l.v);
    assert_int_equal(l.n, 0);
}

static void test_cancel(void **state)
{
    PROBE(a, .block = 1);
    PROBE(b, 0);
    PROBE(c, 0);
    cg_error err = {0};
    cg_job ja, jb, jc, j;

    assert_int_equal(submit(&a, NULL, &ja, &err), 0);
    assert_int_equal(submit(&b, NULL, &jb, &err), 0);
    assert_true(wait_for(&a.started, 1));
    j = get(jb.id);
    assert_int_equal(j.state, CG_JOB_QUEUED);
    assert_int_equal(j.cancellable, 1);
    db_exec("UPDATE jobs SET changed = 1000 WHERE id = '%s'", jb.id);

    assert_int_equal(cg_jobs_cancel(jobs, jb.id, &err), 0);
    assert_int_equal(read_int(&b.freed), 1); /* at once, not when the queue drains */
    j = get(jb.id);
    assert_int_equal(j.state, CG_JOB_CANCELLED);
    assert_int_equal(j.cancellable, 0);
    assert_true(j.changed >= jb.created); /* stamped by the cancel */

    cg_error_clear(&err);
    assert_int_equal(cg_jobs_cancel(jobs, ja.id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(cg_jobs_cancel(jobs, jb.id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(cg_jobs_cancel(jobs, "job-00000000000000000", &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_jobs_get(jobs, "job-00000000000000000", &j, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);

    /* b was ahead of c: had it stayed queued it would have run first. */
    cg_error_clear(&err);
    assert_int_equal(submit(&c, NULL, &jc, &err), 0);
    release(&a);
    assert_true(wait_for(&c.freed, 1));
    assert_int_equal(read_int(&b.started), 0);
    assert_int_equal(get(jb.id).state, CG_JOB_CANCELLED);
    assert_int_equal(get(ja.id).state, CG_JOB_SUCCESS);
    assert_int_equal(a.freed + b.freed + c.freed, 3);
}

/* A submit that must be refused: returns its error kind, or -1 if taken. */
static int refused(probe *p, const char *action, const char *target, cg_job_fn fn)
{
    box *b = malloc(sizeof(*b));
    cg_error err = {0};

    assert_non_null(b);
    b->p = p;
    if (cg_jobs_submit(jobs, action, target, fn, b, free_box, NULL, &err) == 0)
        return -1;
    free(b); /* still ours: valgrind would see a double free otherwise */
    return (int)err.kind;
}

static void test_submit_refused(void **state)
{
    PROBE(p, 0);
    char longname[200];
    cg_error err = {0};
    cg_job_list l = {0};

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(refused(&p, "test", NULL, NULL), CG_ERR_MISSING);
    assert_int_equal(refused(&p, "", NULL, job_fn), CG_ERR_MISSING);
    assert_int_equal(refused(&p, longname, NULL, job_fn), CG_ERR_INVALID);
    assert_int_equal(refused(&p, "test", longname, job_fn), CG_ERR_INVALID);
    /* Nothing recorded, and free_arg was not called. */
    assert_int_equal(cg_jobs_list(jobs, &l, &err), 0);
    assert_int_equal(l.n, 0);
    cg_job_list_release(&l);
    assert_int_equal(read_int(&p.freed), 0);

    cg_error_clear(&err);
    assert_null(cg_jobs_open(&cfg, 0, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_jobs_close(NULL);
}

static int null_fn(cg_jobs *js, const char *id, void *arg, cg_error *err)
{
    int *ran = arg;

    pthread_mutex_lock(&tmu);
    (*ran)++;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
    return 0;
}

/* free_arg may be NULL. */
static void test_no_free_arg(void **state)
{
    cg_error err = {0};
    cg_job out;
    int ran = 0;

    assert_int_equal(cg_jobs_submit(jobs, "noop", NULL, null_fn, &ran, NULL, &out, &err), 0);
    assert_true(wait_for(&ran, 1));
    cg_jobs_close(jobs); /* joins: the final state is written */
    jobs = NULL;
    reopen(1);
    assert_int_equal(get(out.id).state, CG_JOB_SUCCESS);
    assert_int_equal(ran, 1);
}

static void *close_thread(void *arg)
{
    closer *c = arg;

    cg_jobs_close(jobs);
    pthread_mutex_lock(&tmu);
    c->done = 1;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
    return NULL;
}

/* Close cancels the queue at once, waits for the running job (which submits
 * another job while the store closes), and the records survive a reopen. */
static void test_close_and_reopen(void **state)
{
    PROBE(child, 0);
    PROBE(a, .block = 1, .before = {40}, .nbefore = 1, .child = &child);
    PROBE(b, 0);
    PROBE(c, 0);
    cg_error err = {0};
    cg_job ja, jb, jc;
    cg_job_list l = {0};

    assert_int_equal(submit(&a, NULL, &ja, &err), 0);
    assert_int_equal(submit(&b, NULL, &jb, &err), 0);
    assert_int_equal(submit(&c, NULL, &jc, &err), 0);
    assert_true(wait_for(&a.started, 1));
    assert_int_equal(pthread_create(&cl.t, NULL, close_thread, &cl), 0);
    cl.started = 1;
    assert_true(wait_for(&b.freed, 1));
    assert_true(wait_for(&c.freed, 1));
    assert_int_equal(read_int(&cl.done), 0); /* a still runs: close must wait */
    release(&a);
    assert_true(wait_for(&cl.done, 1));
    pthread_join(cl.t, NULL);
    cl.started = 0;
    jobs = NULL;
    assert_int_equal(a.freed, 1);
    assert_int_equal(a.finished, 1);
    assert_int_equal(b.started + c.started + child.started, 0);
    assert_int_equal(a.child_rc, 0);
    assert_int_equal(a.child_job.state, CG_JOB_QUEUED);
    assert_int_equal(child.freed, 1);

    reopen(1);
    assert_int_equal(get(ja.id).state, CG_JOB_SUCCESS);
    assert_int_equal(get(jb.id).state, CG_JOB_CANCELLED);
    assert_int_equal(get(jc.id).state, CG_JOB_CANCELLED);
    assert_int_equal(get(a.child_job.id).state, CG_JOB_CANCELLED);
    assert_string_equal(get(a.child_job.id).target, "child");
    assert_int_equal(cg_jobs_list(jobs, &l, &err), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].id, a.child_job.id);
    assert_string_equal(l.v[3].id, ja.id);
    cg_job_list_release(&l);
}

static void test_persist_finished(void **state)
{
    PROBE(ok, .before = {20}, .nbefore = 1, .message = "half", .target = "ami-1");
    PROBE(bad, .before = {35}, .nbefore = 1, .fail = "no space left");
    cg_error err = {0};
    cg_job jo, jbad, j, before_ok;

    assert_int_equal(submit(&ok, "i-1", &jo, &err), 0);
    assert_int_equal(submit(&bad, "i-2", &jbad, &err), 0);
    assert_true(wait_for(&bad.freed, 1));
    before_ok = get(jo.id);
    reopen(1);
    j = get(jo.id);
    assert_int_equal(j.state, CG_JOB_SUCCESS);
    assert_int_equal(j.progress, 100);
    assert_string_equal(j.status_message, "half");
    assert_string_equal(j.target, "ami-1");
    assert_int_equal(j.created, before_ok.created);
    assert_int_equal(j.changed, before_ok.changed);
    j = get(jbad.id);
    assert_int_equal(j.state, CG_JOB_FAILED);
    assert_int_equal(j.progress, 35);
    assert_string_equal(j.status_message, "no space left");
    assert_string_equal(j.target, "i-2");
    assert_int_equal(ok.freed + bad.freed, 2);
}

static void insert_row(sqlite3 *db, const char *id, const char *state, long long owner)
{
    char *sql = cg_asprintf("INSERT INTO jobs (id, action, target, state, progress, created,"
                            " changed, owner) VALUES ('%s', 'import-image', 'ami-9', '%s', 60,"
                            " 1000, 1000, %lld)",
                            id, state, owner);

    assert_non_null(sql);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    free(sql);
}

/* A crash leaves rows QUEUED/RUNNING: those of gone processes fail at open,
 * a live process's are left alone. */
static void test_restart_fails_interrupted(void **state)
{
    /* Above the kernel's PID_MAX_LIMIT (2^22): no process can have it. */
    const long long dead = 0x7ffffff0;
    char path[128];
    sqlite3 *db = NULL;
    cg_job j;

    cg_jobs_close(jobs); /* the table exists now */
    jobs = NULL;
    snprintf(path, sizeof(path), "%s/cloudgate.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    insert_row(db, "job-0000000000000000a", "RUNNING", (long long)getpid());
    insert_row(db, "job-0000000000000000b", "QUEUED", dead);
    insert_row(db, "job-0000000000000000c", "RUNNING", (long long)getppid());
    insert_row(db, "job-0000000000000000d", "SUCCESS", dead);
    sqlite3_close(db);

    reopen(1);
    j = get("job-0000000000000000a");
    assert_int_equal(j.state, CG_JOB_FAILED);
    assert_string_equal(j.status_message, "interrupted by a gateway restart");
    assert_int_equal(j.progress, 60);
    assert_true(j.changed > 1000);
    assert_int_equal(j.created, 1000);
    j = get("job-0000000000000000b");
    assert_int_equal(j.state, CG_JOB_FAILED);
    assert_string_equal(j.status_message, "interrupted by a gateway restart");
    j = get("job-0000000000000000c");
    assert_int_equal(j.state, CG_JOB_RUNNING); /* the parent process lives */
    assert_int_equal(j.changed, 1000);
    j = get("job-0000000000000000d");
    assert_int_equal(j.state, CG_JOB_SUCCESS);
    assert_int_equal(j.changed, 1000);
}

typedef struct submitter {
    pthread_t t;
    probe p[10];
    int rc;
} submitter;

static void *submit_thread(void *arg)
{
    submitter *s = arg;
    cg_error err = {0};
    int i;

    for (i = 0; i < 10; i++)
        if (submit(&s->p[i], NULL, NULL, &err) < 0)
            s->rc = -1;
    return NULL;
}

/* Several job threads run jobs side by side; submits from many threads. */
static void test_threads(void **state)
{
    PROBE(x, .block = 1);
    PROBE(y, .block = 1);
    submitter *s = calloc(4, sizeof(*s));
    cg_error err = {0};
    cg_job_list l = {0};
    int i, k;

    assert_non_null(s);
    reopen(3);
    assert_int_equal(submit(&x, NULL, NULL, &err), 0);
    assert_int_equal(submit(&y, NULL, NULL, &err), 0);
    assert_true(wait_for(&x.started, 1));
    assert_true(wait_for(&y.started, 1)); /* needs a second job thread */
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&s[i].t, NULL, submit_thread, &s[i]), 0);
    for (i = 0; i < 4; i++) {
        pthread_join(s[i].t, NULL);
        assert_int_equal(s[i].rc, 0);
    }
    for (i = 0; i < 4; i++)
        for (k = 0; k < 10; k++)
            assert_true(wait_for(&s[i].p[k].freed, 1));
    release(&x);
    release(&y);
    assert_true(wait_for(&x.freed, 1));
    assert_true(wait_for(&y.freed, 1));
    assert_int_equal(cg_jobs_list(jobs, &l, &err), 0);
    assert_int_equal(l.n, 42);
    for (i = 0; i < (int)l.n; i++)
        assert_int_equal(l.v[i].state, CG_JOB_SUCCESS);
    cg_job_list_release(&l);
    for (i = 0; i < 4; i++)
        for (k = 0; k < 10; k++)
            assert_int_equal(s[i].p[k].freed, 1);
    free(s);
}

static void test_state_names(void **state)
{
    assert_string_equal(cg_job_state_name(CG_JOB_QUEUED), "QUEUED");
    assert_string_equal(cg_job_state_name(CG_JOB_RUNNING), "RUNNING");
    assert_string_equal(cg_job_state_name(CG_JOB_SUCCESS), "SUCCESS");
    assert_string_equal(cg_job_state_name(CG_JOB_FAILED), "FAILED");
    assert_string_equal(cg_job_state_name(CG_JOB_CANCELLED), "CANCELLED");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static int recovered;
static char recovered_undo[64];

static void on_recover(const cg_job *job, const char *undo, void *arg)
{
    assert_string_equal(job->target, "i-7");
    assert_int_equal(job->state, CG_JOB_FAILED);
    snprintf(recovered_undo, sizeof(recovered_undo), "%s", undo);
    recovered++;
}

/* The owner's hook rolls back an interrupted job once, from its undo text;
 * jobs of other actions, and finished ones, are not its business. */
static void test_restart_recovers(void **state)
{
    const long long dead = 0x7ffffff0;
    cg_error err = {0};
    char path[128];
    sqlite3 *db = NULL;

    cg_jobs_close(jobs);
    jobs = NULL;
    snprintf(path, sizeof(path), "%s/cloudgate.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    insert_row(db, "job-0000000000000000e", "RUNNING", dead);
    insert_row(db, "job-0000000000000000f", "RUNNING", dead);
    insert_row(db, "job-00000000000000010", "SUCCESS", dead);
    assert_int_equal(sqlite3_exec(db, "UPDATE jobs SET action = 'create', target = 'i-7'"
                                      " WHERE id <> 'job-0000000000000000f'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    reopen(1);
    assert_int_equal(cg_job_set_undo(jobs, "job-0000000000000000e", "vol-1 vol-2"), 0);

    assert_int_equal(cg_jobs_recover(jobs, "create", on_recover, NULL, &err), 1);
    assert_int_equal(recovered, 1);
    assert_string_equal(recovered_undo, "vol-1 vol-2");
    assert_int_equal(cg_jobs_recover(jobs, "create", on_recover, NULL, &err), 0);
    /* Not even after another restart. */
    reopen(1);
    assert_int_equal(cg_jobs_recover(jobs, "create", on_recover, NULL, &err), 0);
    assert_int_equal(recovered, 1);
}

/* A job that polls cg_job_cancelled until asked (or WAIT_SECONDS pass). */
static int polls_started;

static int run_polling(cg_jobs *j, const char *id, void *arg, cg_error *err)
{
    double end = cg_monotonic() + WAIT_SECONDS;

    pthread_mutex_lock(&tmu);
    polls_started++;
    pthread_cond_broadcast(&tcv);
    pthread_mutex_unlock(&tmu);
    cg_job_log(j, id, "polling");
    while (cg_monotonic() < end) {
        if (cg_job_cancelled(j, id)) {
            cg_error_set(err, CG_ERR_STATE, "stopped on request");
            return -1;
        }
        usleep(20 * 1000);
    }
    return 0;
}

static void wait_polls(int n)
{
    double end = cg_monotonic() + WAIT_SECONDS;

    pthread_mutex_lock(&tmu);
    while (polls_started < n && cg_monotonic() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&tcv, &tmu, &ts);
    }
    pthread_mutex_unlock(&tmu);
    assert_true(polls_started >= n);
}

static cg_job_state wait_end(cg_jobs *j, const char *id)
{
    double end = cg_monotonic() + WAIT_SECONDS;
    cg_error err = {0};
    cg_job job;

    do {
        assert_int_equal(cg_jobs_get(j, id, &job, &err), 0);
        if (job.state != CG_JOB_QUEUED && job.state != CG_JOB_RUNNING)
            return job.state;
        usleep(20 * 1000);
    } while (cg_monotonic() < end);
    fail_msg("job %s did not end", id);
    return CG_JOB_FAILED;
}

/* A running job that polls can be cancelled: at once from this process,
 * through the database from another (a second store on the same file
 * stands for the admin CLI).  It ends CANCELLED; its fields and log stay. */
static void test_cancel_running(void **state)
{
    cg_job_opts o = {.action = "import-image", .id_prefix = "import-ami-",
                     .can_cancel_running = 1, .description = "d", .source = "file:///x",
                     .format = "raw"};
    cg_job a, b, got;
    sqlite3 *db = NULL;
    cg_error err = {0};
    char path[256], text[512] = "";
    FILE *f;

    polls_started = 0;
    reopen(2);
    assert_int_equal(cg_jobs_submit_opts(jobs, &o, run_polling, NULL, NULL, &a, &err), 0);
    assert_int_equal(strncmp(a.id, "import-ami-", 11), 0);
    assert_int_equal(strlen(a.id), 28);
    assert_int_equal(cg_jobs_submit_opts(jobs, &o, run_polling, NULL, NULL, &b, &err), 0);
    wait_polls(2);
    assert_int_equal(cg_jobs_get(jobs, a.id, &got, &err), 0);
    assert_int_equal(got.state, CG_JOB_RUNNING);
    assert_int_equal(got.cancellable, 1);
    assert_string_equal(got.source, "file:///x");
    assert_string_equal(got.format, "raw");
    assert_string_equal(got.description, "d");
    assert_int_equal(cg_job_set_size(jobs, a.id, 12345), 0);

    assert_int_equal(cg_jobs_cancel(jobs, a.id, &err), 0);
    assert_int_equal(wait_end(jobs, a.id), CG_JOB_CANCELLED);
    assert_int_equal(cg_jobs_get(jobs, a.id, &got, &err), 0);
    assert_string_equal(got.status_message, "cancelled");
    assert_true(got.size == 12345);
    assert_int_equal(got.cancellable, 0);
    /* Once ended: no more cancelling. */
    assert_int_equal(cg_jobs_cancel(jobs, a.id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);

    /* Another process (a second store here would fail this process's
     * rows as a restart's): what its cg_jobs_cancel writes is the row's
     * cancel column, which the job's polling reads. */
    snprintf(path, sizeof(path), "%s/cloudgate.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    snprintf(text, sizeof(text), "UPDATE jobs SET cancel = 1 WHERE id = '%s'", b.id);
    assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(wait_end(jobs, b.id), CG_JOB_CANCELLED);
    text[0] = '\0';

    assert_int_equal(cg_job_log_path(jobs, a.id, path, sizeof(path)), 0);
    assert_int_equal(cg_job_log_path(jobs, "../etc/passwd", path + 200, 10), -1);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(text, "polling"));
    assert_non_null(strstr(text, "cancel requested"));
    assert_non_null(strstr(text, "cancelled: stopped on request"));
}

/* A job that does not poll cannot be cancelled once it runs. */
static void test_cancel_running_refused(void **state)
{
    PROBE(x, .block = 1);
    cg_error err = {0};
    cg_job got;

    assert_int_equal(submit(&x, NULL, NULL, &err), 0);
    assert_true(wait_for(&x.started, 1));
    assert_int_equal(cg_jobs_cancel(jobs, x.seen_id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_int_equal(cg_jobs_get(jobs, x.seen_id, &got, &err), 0);
    assert_int_equal(got.cancellable, 0);
    release(&x);
    assert_true(wait_for(&x.freed, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_success_with_progress),
        T(test_wait_end),
        T(test_failure_and_clamping),
        T(test_last_progress_lands),
        T(test_fifo_and_list_order),
        T(test_cancel),
        T(test_submit_refused),
        T(test_no_free_arg),
        T(test_close_and_reopen),
        T(test_persist_finished),
        T(test_restart_fails_interrupted),
        T(test_restart_recovers),
        T(test_threads),
        T(test_cancel_running),
        T(test_cancel_running_refused),
        cmocka_unit_test(test_state_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
