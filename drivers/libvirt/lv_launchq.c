/* cloudgate libvirt driver: a zone's launch queue and its workers (see
 * lv_launch.h).  A bounded FIFO of launches (places are reserved by the
 * request before it records anything, so a full queue refuses the call and
 * changes nothing) and LV_LAUNCH_WORKERS threads, each running one launch at
 * a time: the instances of one RunInstances proceed in parallel within that
 * bound.  Like the host's own thread, the workers are the only ones here that
 * make the slow libvirt calls of a launch. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_launch.h"

#define ZONE_WAIT_SEC 60.0
#define LAUNCH_ATTEMPTS 3

struct lv_launchq {
    cg_drv *drv;
    lv_host *h;
    pthread_mutex_t lock;
    pthread_cond_t work;          /* a launch was queued, or quit */
    pthread_cond_t done;          /* a launch ended (lv_launch_cancel waits on it) */
    lv_launched *head, *tail;     /* queued, oldest first */
    lv_launched *running[LV_LAUNCH_WORKERS];
    unsigned places;              /* queued + reserved */
    int quit;                     /* written under lock, read also by wait_for_zone */
    pthread_t threads[LV_LAUNCH_WORKERS];
    unsigned n_threads;
};

/* The reason a failed launch's record shows: EC2's code, then the cause,
 * cut to the record's size (len > the code's; the log has it whole). */
static void failure_reason(const cg_error *err, char *buf, size_t len)
{
    static const char code[] = "Server.InternalError: launch failed: ";
    const char *cause = err->message[0] ? err->message : "unknown error";
    size_t n = sizeof(code) - 1, m = strlen(cause);

    if (n + m >= len)
        m = len - n - 1;
    memcpy(buf, code, n);
    memcpy(buf + n, cause, m);
    buf[n + m] = '\0';
}

/* Free a launch that is off the queue and over. */
static void launched_free(lv_launched *l)
{
    lv_launch_batch_unref(l->batch);
    cg_instance_release(&l->inst);
    free(l);
}

/* A zone away for a moment (libvirtd restarting, or closing the connection
 * on a keepalive timeout when it is overloaded) does not fail the launches
 * queued behind it: each waits up to ZONE_WAIT_SEC for it to come back, or
 * until the queue stops (1).  lost: a connection that went (still referenced,
 * so no new one can have its address), which the zone's thread may not have
 * noticed yet: waited past too.  Woken by the zone's thread when it
 * connects, so a launch goes on at once. */
static int wait_for_zone(lv_launchq *q, const lv_launched *l, virConnectPtr lost)
{
    /* A deadline already past: only asks. */
    if (lv_host_wait_available(q->h, lost, 0, &q->quit))
        return 0;
    cg_info("zone %s: launch of %s waits for the zone to be available", lv_host_zone(q->h),
            l->inst.id);
    lv_host_wait_available(q->h, lost, cg_monotonic() + ZONE_WAIT_SEC, &q->quit);
    return __atomic_load_n(&q->quit, __ATOMIC_ACQUIRE);
}

/* 1 when the build that just failed on conn failed because the connection
 * went (a keepalive timeout, libvirtd restarting): it may start over. */
static int connection_lost(lv_launchq *q, virConnectPtr conn)
{
    return virConnectIsAlive(conn) != 1 || !lv_host_has_conn(q->h, conn);
}

/* Run launch l on this worker: made and started, or undone and recorded
 * as terminated with the cause.  A build cut short by a lost connection
 * starts over once the zone is back (at most LAUNCH_ATTEMPTS in all), after
 * what it made is removed: the user asked for a running instance, and the
 * host did nothing wrong.  Further volumes included: one whose removal
 * failed cuts the clear short, and the launch is undone instead. */
static void run_one(lv_launchq *q, lv_launched *l)
{
    cg_error err = {0}, lost = {0};
    virConnectPtr conn = NULL;
    char why[sizeof(l->inst.state_reason)];
    unsigned attempt;
    int ok = 0, quit;

    for (attempt = 1;; attempt++) {
        quit = wait_for_zone(q, l, conn);
        if (conn)
            virConnectClose(conn);
        conn = NULL;
        if (quit && attempt > 1) {
            err = lost; /* the gateway stops: no new attempt now */
            break;
        }
        if (!(conn = lv_host_conn(q->h, &err)))
            break;
        if (attempt > 1 && lv_launch_clear(q->drv, conn, l) < 0) {
            err = lost;
            break;
        }
        if (lv_launch_build(q->drv, q->h, conn, l->batch, l, &err) == 0) {
            ok = 1;
            break;
        }
        if (attempt == LAUNCH_ATTEMPTS || !connection_lost(q, conn))
            break;
        cg_warn("zone %s: launch of %s lost its connection (%s); it starts over when the zone "
                "is back",
                lv_host_zone(q->h), l->inst.id, err.message);
        lost = err;
        cg_error_clear(&err);
        virResetLastError();
    }
    if (ok) {
        lv_launch_commit(q->drv, q->h, l->batch, l);
        /* Where time to running goes (bench/README.md). */
        cg_info("zone %s: instance %s launched%s: queued %.0f ms, then disk %.0f, volumes %.0f, "
                "seed %.0f, filter %.0f, define %.0f, start %.0f ms",
                lv_host_zone(q->h), l->inst.id, attempt > 1 ? " on a new connection" : "",
                l->ms_wait, l->ms_disk, l->ms_volumes, l->ms_seed, l->ms_filter, l->ms_define,
                l->ms_start);
    } else {
        failure_reason(&err, why, sizeof(why));
        cg_warn("zone %s: launch of %s failed, undone: %s", lv_host_zone(q->h), l->inst.id,
                err.message);
        lv_launch_undo(q->drv, q->h, conn, l, why);
    }
    if (conn)
        virConnectClose(conn);
}

static void *worker_main(void *arg)
{
    lv_launchq *q = arg;
    lv_launched *l;
    unsigned slot;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->quit && !q->head)
            pthread_cond_wait(&q->work, &q->lock);
        if (q->quit)
            break;
        l = q->head;
        if (!(q->head = l->next))
            q->tail = NULL;
        l->next = NULL;
        for (slot = 0; q->running[slot]; slot++)
            ;   /* one free slot per worker, and this worker's is free */
        q->running[slot] = l;
        pthread_mutex_unlock(&q->lock);
        run_one(q, l);
        pthread_mutex_lock(&q->lock);
        q->running[slot] = NULL;
        q->places--;
        pthread_cond_broadcast(&q->done);
        pthread_mutex_unlock(&q->lock);
        launched_free(l);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

lv_launchq *lv_launchq_new(cg_drv *drv, lv_host *h, cg_error *err)
{
    lv_launchq *q = calloc(1, sizeof(*q));
    char name[16];
    unsigned i;

    if (!q) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    q->drv = drv;
    q->h = h;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    for (i = 0; i < LV_LAUNCH_WORKERS; i++) {
        if ((errno = pthread_create(&q->threads[i], NULL, worker_main, q)) != 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "zone %s: cannot start a launch worker: %s",
                         lv_host_zone(h), strerror(errno));
            lv_launchq_free(q);
            return NULL;
        }
        q->n_threads++;
        /* "launch:ZONE" in gdb and top; the name is cut to 15 characters. */
        snprintf(name, sizeof(name), "launch:%s", lv_host_zone(h));
        pthread_setname_np(q->threads[i], name);
    }
    return q;
}

void lv_launchq_free(lv_launchq *q)
{
    virConnectPtr conn;
    lv_launched *l, *next;
    unsigned i;

    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    __atomic_store_n(&q->quit, 1, __ATOMIC_RELEASE); /* read by wait_for_zone unlocked */
    l = q->head;
    q->head = q->tail = NULL;
    pthread_cond_broadcast(&q->work);
    pthread_mutex_unlock(&q->lock);
    lv_host_wake_waiters(q->h);
    /* Running launches finish; the queued ones end here, as a restart would
     * end them (lv_reconcile.c), with nothing half-made. */
    for (i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    conn = l ? lv_host_conn(q->h, NULL) : NULL;
    for (; l; l = next) {
        next = l->next;
        lv_launch_undo(q->drv, q->h, conn, l,
                       "Server.InternalError: launch failed: the gateway stopped first");
        launched_free(l);
    }
    if (conn)
        virConnectClose(conn);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

lv_launchq *lv_launchq_of(cg_drv *drv, lv_host *h)
{
    size_t i;

    for (i = 0; i < drv->n_hosts && drv->launchq; i++) {
        if (drv->hosts[i] == h)
            return drv->launchq[i];
    }
    return NULL;
}

int lv_launchq_reserve(lv_launchq *q, unsigned n, cg_error *err)
{
    unsigned free_places;
    int ret = -1;

    pthread_mutex_lock(&q->lock);
    free_places = LV_LAUNCH_QUEUE_MAX - q->places;
    if (q->quit)
        cg_error_set(err, CG_ERR_UNAVAILABLE, "zone %s is shutting down", lv_host_zone(q->h));
    else if (n > free_places)
        cg_error_set(err, CG_ERR_CAPACITY,
                     "zone %s has %u launch(es) in progress and room for %u more, %u requested",
                     lv_host_zone(q->h), q->places, free_places, n);
    else {
        q->places += n;
        ret = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void lv_launchq_unreserve(lv_launchq *q, unsigned n)
{
    pthread_mutex_lock(&q->lock);
    q->places -= n <= q->places ? n : q->places;
    pthread_mutex_unlock(&q->lock);
}

void lv_launchq_push(lv_launchq *q, lv_launch_batch *b, lv_launched *l)
{
    lv_launch_batch_ref(b);
    l->batch = b;
    l->next = NULL;
    l->queued = cg_monotonic();
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = l;
    else
        q->head = l;
    q->tail = l;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
}

/* With q->lock held: take id off the queue (returned), or 1 in *running
 * when a worker runs it. */
static lv_launched *find_locked(lv_launchq *q, const char *id, int *running)
{
    lv_launched *l, *prev = NULL;
    unsigned i;

    *running = 0;
    for (i = 0; i < LV_LAUNCH_WORKERS; i++) {
        if (q->running[i] && strcmp(q->running[i]->inst.id, id) == 0) {
            *running = 1;
            return NULL;
        }
    }
    for (l = q->head; l; prev = l, l = l->next) {
        if (strcmp(l->inst.id, id) != 0)
            continue;
        if (prev)
            prev->next = l->next;
        else
            q->head = l->next;
        if (q->tail == l)
            q->tail = prev;
        l->next = NULL;
        q->places--;
        return l;
    }
    return NULL;
}

/* With q->lock held: is id queued or running? */
static int launching_locked(lv_launchq *q, const char *id)
{
    lv_launched *l;
    unsigned i;

    for (i = 0; i < LV_LAUNCH_WORKERS; i++) {
        if (q->running[i] && strcmp(q->running[i]->inst.id, id) == 0)
            return 1;
    }
    for (l = q->head; l; l = l->next) {
        if (strcmp(l->inst.id, id) == 0)
            return 1;
    }
    return 0;
}

int lv_launch_wait(cg_drv *drv, const char *id)
{
    lv_launchq *q;
    size_t i;
    int waited = 0;

    for (i = 0; i < drv->n_hosts && drv->launchq; i++) {
        q = drv->launchq[i];
        pthread_mutex_lock(&q->lock);
        while (launching_locked(q, id)) {
            waited = 1;
            pthread_cond_wait(&q->done, &q->lock);
        }
        pthread_mutex_unlock(&q->lock);
    }
    return waited;
}

int lv_launch_cancel(cg_drv *drv, const char *id)
{
    lv_launchq *q = NULL;
    lv_launched *l = NULL;
    virConnectPtr conn;
    char why[sizeof(l->inst.state_reason)];
    size_t i;
    int running = 0;

    for (i = 0; i < drv->n_hosts && drv->launchq && !l; i++) {
        q = drv->launchq[i];
        pthread_mutex_lock(&q->lock);
        while (!(l = find_locked(q, id, &running)) && running)
            pthread_cond_wait(&q->done, &q->lock);
        pthread_mutex_unlock(&q->lock);
    }
    if (!l)
        return 0;
    /* Never started: only its records, and its security groups' filter. */
    lv_user_initiated(why, sizeof(why));
    conn = lv_host_conn(q->h, NULL);
    lv_launch_undo(drv, q->h, conn, l, why);
    if (conn)
        virConnectClose(conn);
    cg_info("instance %s terminated before its launch began", id);
    launched_free(l);
    return 1;
}

void lv_launch_drain(cg_drv *drv)
{
    lv_launchq *q;
    size_t i;
    unsigned w;
    int busy;

    for (i = 0; i < drv->n_hosts && drv->launchq; i++) {
        q = drv->launchq[i];
        pthread_mutex_lock(&q->lock);
        do {
            for (busy = q->head != NULL, w = 0; w < LV_LAUNCH_WORKERS; w++)
                busy |= q->running[w] != NULL;
            if (busy)
                pthread_cond_wait(&q->done, &q->lock);
        } while (busy);
        pthread_mutex_unlock(&q->lock);
    }
}
