/* cloudgate engine: one state change applied to several instances (see
 * instance_ops.h).
 *
 * The request's thread only waits: threads of the run take the next index
 * from a shared counter, and the run is freed by the last of them and the
 * request, whichever lets go last, so the answer can leave before the work
 * ends.  Each failure is kept by index, and the lowest one known at the
 * answer is reported, so the answer does not depend on which thread ran
 * what. */
#include "instance_ops.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../gateway/log.h"
#include "../gateway/util.h"

typedef struct ops_run ops_run;

struct ops_run {
    const cg_driver *d;
    cg_drv *drv;
    cg_instance_ops ops; /* ids: the run's own copies */
    char **ids;
    cg_state_change *chg; /* chg[i] read by the request only once done[i] */
    unsigned char *done, *begun, *started;
    struct begun_slot {
        struct ops_run *r;
        size_t i;
    } * slots; /* what cg_change_watch gets for index i */
    pthread_mutex_t lock;
    pthread_cond_t cond;         /* an index is done */
    size_t next, n_done, failed; /* failed: lowest failing index, ops.n: none */
    size_t threads;              /* threads started */
    size_t unrecorded;           /* terminates taken, neither begun nor done */
    cg_error err;                /* its error */
    int refs, answered;
};

/* Runs whose threads outlive their answer, for cg_instance_ops_drain. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cond = PTHREAD_COND_INITIALIZER;
static unsigned live_threads;

static const char *op_name(cg_iop op)
{
    switch (op) {
    case CG_IOP_START:
        return "start";
    case CG_IOP_STOP:
        return "stop";
    case CG_IOP_REBOOT:
        return "reboot";
    case CG_IOP_TERMINATE:
        return "terminate";
    }
    return "change";
}

/* What an instance still being changed at the answer shows. */
static cg_instance_state in_progress(cg_iop op, cg_instance_state previous)
{
    switch (op) {
    case CG_IOP_START:
        return CG_STATE_PENDING;
    case CG_IOP_STOP:
        return CG_STATE_STOPPING;
    case CG_IOP_TERMINATE:
        return CG_STATE_SHUTTING_DOWN;
    case CG_IOP_REBOOT:
        break;
    }
    return previous;
}

static int one(ops_run *r, size_t i, cg_error *err)
{
    const cg_instance_ops *o = &r->ops;
    const char *id = o->ids[i];

    switch (o->op) {
    case CG_IOP_START:
        if (o->once != CG_DISPLAY_DEFAULT)
            return CG_DRV_CALL(r->d, r->drv, instance_run_once, err, id, o->once, &r->chg[i]);
        return CG_DRV_CALL(r->d, r->drv, instance_start, err, id, &r->chg[i]);
    case CG_IOP_STOP:
        return CG_DRV_CALL(r->d, r->drv, instance_stop, err, id, o->force, &r->chg[i]);
    case CG_IOP_REBOOT:
        return CG_DRV_CALL(r->d, r->drv, instance_reboot, err, id);
    case CG_IOP_TERMINATE:
        return CG_DRV_CALL(r->d, r->drv, instance_terminate, err, id, &r->chg[i]);
    }
    return cg_driver_unsupported(err, "instance operation");
}

static void run_free(ops_run *r)
{
    size_t i;

    for (i = 0; i < r->ops.n; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->chg);
    free(r->done);
    free(r->begun);
    free(r->started);
    free(r->slots);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Drop one reference (under r->lock); the last frees the run. */
static void run_unref_locked(ops_run *r)
{
    int last = --r->refs == 0;

    pthread_mutex_unlock(&r->lock);
    if (last)
        run_free(r);
}

/* The driver recorded change i for good. */
static void on_begun(void *arg)
{
    struct begun_slot *s = arg;

    pthread_mutex_lock(&s->r->lock);
    if (!s->r->begun[s->i] && !s->r->done[s->i] && s->r->ops.op == CG_IOP_TERMINATE)
        s->r->unrecorded--;
    s->r->begun[s->i] = 1;
    pthread_cond_broadcast(&s->r->cond);
    pthread_mutex_unlock(&s->r->lock);
}

/* Take and run indexes until none is left.  Called and returns with
 * r->lock held. */
static void work(ops_run *r)
{
    cg_error err;
    size_t i;
    int rc;

    while (r->next < r->ops.n) {
        i = r->next++;
        r->started[i] = 1;
        if (r->ops.op == CG_IOP_TERMINATE)
            r->unrecorded++;
        /* the answer may wait for every thread's first take */
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        memset(&err, 0, sizeof(err));
        cg_change_watch(on_begun, &r->slots[i]);
        rc = one(r, i, &err);
        cg_change_watch(NULL, NULL);
        pthread_mutex_lock(&r->lock);
        if (!r->begun[i] && r->ops.op == CG_IOP_TERMINATE)
            r->unrecorded--;
        r->done[i] = 1;
        r->n_done++;
        if (rc < 0 && r->answered)
            cg_warn("%s %s, after its answer: %s", op_name(r->ops.op), r->ops.ids[i], err.message);
        else if (rc < 0 && i < r->failed) {
            r->failed = i;
            r->err = err;
        }
        pthread_cond_broadcast(&r->cond);
    }
}

static void *run_thread(void *arg)
{
    ops_run *r = arg;

    pthread_mutex_lock(&r->lock);
    work(r);
    run_unref_locked(r);
    pthread_mutex_lock(&live_lock);
    live_threads--;
    pthread_cond_broadcast(&live_cond);
    pthread_mutex_unlock(&live_lock);
    return NULL;
}

/* A terminate is answered shutting-down only once its driver recorded it:
 * a crash then finishes it, where before the instance would come back after
 * an answer that it was going.  One not started yet is answered as it is
 * now (it goes later all the same). */
static int recorded(const ops_run *r, size_t i)
{
    return r->done[i] || r->begun[i] || r->ops.op != CG_IOP_TERMINATE;
}

/* Whether the answer may go: every thread has taken its first index (or
 * none is left), so what is answered in progress does not depend on how soon
 * the threads were scheduled, and every terminate taken is recorded (its
 * take and intent: milliseconds, unless it waits for its launch). */
static int answerable(const ops_run *r)
{
    size_t first = r->threads < r->ops.n ? r->threads : r->ops.n;

    return r->next >= first && r->unrecorded == 0;
}

static ops_run *run_new(const cg_driver *d, cg_drv *drv, const cg_instance_ops *ops,
                        const cg_state_change *chg)
{
    ops_run *r = calloc(1, sizeof(*r));
    size_t i, n = ops->n ? ops->n : 1;

    if (!r)
        return NULL;
    r->ids = calloc(n, sizeof(*r->ids));
    r->chg = calloc(n, sizeof(*r->chg));
    r->done = calloc(n, 1);
    r->begun = calloc(n, 1);
    r->started = calloc(n, 1);
    r->slots = calloc(n, sizeof(*r->slots));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    for (i = 0; r->ids && i < ops->n; i++) {
        if (!(r->ids[i] = strdup(ops->ids[i])))
            break;
    }
    if (!r->ids || !r->chg || !r->done || !r->begun || !r->started || !r->slots || i < ops->n) {
        r->ops.n = r->ids ? i : 0;
        run_free(r);
        return NULL;
    }
    r->d = d;
    r->drv = drv;
    r->ops = *ops;
    r->ops.ids = (const char *const *)r->ids;
    for (i = 0; i < ops->n; i++) {
        r->chg[i] = chg[i];
        r->slots[i].r = r;
        r->slots[i].i = i;
    }
    r->failed = ops->n;
    r->refs = 1;
    return r;
}

int cg_instance_ops_apply(const cg_driver *d, cg_drv *drv, const cg_instance_ops *ops,
                          cg_state_change *chg, size_t *failed, cg_error *err)
{
    ops_run *r = run_new(d, drv, ops, chg);
    size_t want = ops->n < CG_INSTANCE_OPS_PARALLEL ? ops->n : CG_INSTANCE_OPS_PARALLEL;
    size_t started = 0, i;
    struct timespec until;
    pthread_attr_t attr;
    pthread_t t;
    double t0 = cg_monotonic();
    int ret = 0, late = 0;

    if (!r) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        *failed = 0;
        return -1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&r->lock);
    for (started = 0; started < want; started++) {
        r->refs++;
        pthread_mutex_lock(&live_lock);
        live_threads++;
        pthread_mutex_unlock(&live_lock);
        if (pthread_create(&t, &attr, run_thread, r) != 0) {
            r->refs--;
            pthread_mutex_lock(&live_lock);
            live_threads--;
            pthread_mutex_unlock(&live_lock);
            break;
        }
    }
    pthread_attr_destroy(&attr);
    r->threads = started;
    if (started == 0) {
        work(r); /* no thread: all of it here, however long */
    } else {
        cg_realtime_after(&until, ops->answer_sec);
        /* All done, or answer_sec passed and every terminate started is
         * recorded. */
        while (r->n_done < ops->n && !(late && answerable(r))) {
            if (ops->answer_sec <= 0 || late)
                pthread_cond_wait(&r->cond, &r->lock);
            else if (pthread_cond_timedwait(&r->cond, &r->lock, &until) != 0)
                late = 1;
        }
    }
    r->answered = 1;
    for (i = 0; i < ops->n; i++) {
        if (r->done[i]) {
            memcpy(chg[i].id, r->chg[i].id, sizeof(chg[i].id));
            chg[i].previous = r->chg[i].previous;
            chg[i].current = r->chg[i].current;
        } else if (recorded(r, i)) {
            chg[i].current = in_progress(ops->op, chg[i].previous);
        } /* else: as it is now (the caller's default) */
    }
    if (r->n_done < ops->n)
        cg_info("%s of %zu instance(s): answered after %.1f s with %zu still in progress",
                op_name(ops->op), ops->n, cg_monotonic() - t0, ops->n - r->n_done);
    if (r->failed < ops->n) {
        *failed = r->failed;
        if (err && err->kind == CG_ERR_NONE)
            *err = r->err;
        ret = -1;
    }
    run_unref_locked(r);
    return ret;
}

unsigned cg_instance_ops_drain(double timeout_sec)
{
    struct timespec until;
    unsigned left;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_sec + 1;
    pthread_mutex_lock(&live_lock);
    while (live_threads > 0 && pthread_cond_timedwait(&live_cond, &live_lock, &until) == 0)
        ;
    left = live_threads;
    pthread_mutex_unlock(&live_lock);
    return left;
}
