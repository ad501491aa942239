/* cloudgate engine: one state change applied to several instances (see
 * instance_ops.h).  Threads take the next index from a shared counter; each
 * remembers its lowest failing index, and the lowest of those is the one
 * reported, so the answer does not depend on which thread ran what. */
#include "instance_ops.h"

#include <pthread.h>
#include <string.h>

typedef struct ops_run {
    const cg_driver *d;
    cg_drv *drv;
    const cg_instance_ops *ops;
    cg_state_change *chg;
    pthread_mutex_t lock;
    size_t next;   /* under lock */
    size_t failed; /* lowest failing index so far, ops->n: none (under lock) */
    cg_error err;  /* its error (under lock) */
} ops_run;

static int one(ops_run *r, size_t i, cg_error *err)
{
    const cg_instance_ops *o = r->ops;
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

static void *run_thread(void *arg)
{
    ops_run *r = arg;
    cg_error err;
    size_t i;

    for (;;) {
        pthread_mutex_lock(&r->lock);
        i = r->next < r->ops->n ? r->next++ : r->ops->n;
        pthread_mutex_unlock(&r->lock);
        if (i == r->ops->n)
            return NULL;
        memset(&err, 0, sizeof(err));
        if (one(r, i, &err) < 0) {
            pthread_mutex_lock(&r->lock);
            if (i < r->failed) {
                r->failed = i;
                r->err = err;
            }
            pthread_mutex_unlock(&r->lock);
        }
    }
}

int cg_instance_ops_apply(const cg_driver *d, cg_drv *drv, const cg_instance_ops *ops,
                          cg_state_change *chg, size_t *failed, cg_error *err)
{
    ops_run r = {.d = d, .drv = drv, .ops = ops, .chg = chg, .failed = ops->n};
    pthread_t threads[CG_INSTANCE_OPS_PARALLEL - 1];
    size_t want = ops->n < CG_INSTANCE_OPS_PARALLEL ? ops->n : CG_INSTANCE_OPS_PARALLEL;
    size_t started = 0, i;

    pthread_mutex_init(&r.lock, NULL);
    /* The caller is one of the threads; one it cannot start is work the
     * others do. */
    while (want > 1 && started < want - 1 &&
           pthread_create(&threads[started], NULL, run_thread, &r) == 0)
        started++;
    run_thread(&r);
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&r.lock);
    if (r.failed == ops->n)
        return 0;
    *failed = r.failed;
    if (err && err->kind == CG_ERR_NONE)
        *err = r.err;
    return -1;
}
