/* cloudgate: the bounded worker pool (see workers.h). */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct job {
    gw_work_fn work;
    gw_done_fn done;
    void *arg;
    int ran;
    struct job *next;
} job;

struct gw_pool {
    pthread_mutex_t lock;
    pthread_cond_t ready;          /* a job was queued, or stopping */
    pthread_cond_t idle;           /* a running job finished */
    job *queue_head, *queue_tail;  /* waiting for a worker */
    job *done_head, *done_tail;    /* finished, completion not yet run */
    unsigned queued;
    unsigned running;              /* taken by a worker, not yet finished */
    unsigned queue_max;
    unsigned in_flight;            /* touched by the loop thread only */
    int stopping;
    pthread_t *threads;
    unsigned nthreads;
    struct event *done_ev;         /* activated by workers, runs on the loop */
};

static void push(job **head, job **tail, job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void *worker_main(void *opaque)
{
    gw_pool *pool = opaque;

    for (;;) {
        job *j;

        pthread_mutex_lock(&pool->lock);
        while (!pool->queue_head && !pool->stopping)
            pthread_cond_wait(&pool->ready, &pool->lock);
        j = pool->queue_head;
        if (!j) {  /* stopping and nothing left to do */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pool->queue_head = j->next;
        if (!pool->queue_head)
            pool->queue_tail = NULL;
        pool->queued--;
        pool->running++;
        pthread_mutex_unlock(&pool->lock);

        j->work(j->arg);
        j->ran = 1;

        pthread_mutex_lock(&pool->lock);
        push(&pool->done_head, &pool->done_tail, j);
        pool->running--;
        pthread_cond_broadcast(&pool->idle);
        pthread_mutex_unlock(&pool->lock);
        /* Thread-safe with evthread_use_pthreads(): wakes the loop. */
        event_active(pool->done_ev, EV_READ, 0);
    }
}

/* Loop thread: run the completions of finished (or dropped) jobs. */
static void deliver_done(evutil_socket_t fd, short what, void *opaque)
{
    gw_pool *pool = opaque;
    job *list;

    pthread_mutex_lock(&pool->lock);
    list = pool->done_head;
    pool->done_head = pool->done_tail = NULL;
    pthread_mutex_unlock(&pool->lock);

    while (list) {
        job *next = list->next;
        pool->in_flight--;
        if (list->done)
            list->done(list->arg, list->ran);
        free(list);
        list = next;
    }
}

gw_pool *gw_pool_new(struct event_base *base, unsigned nthreads, unsigned queue_max)
{
    gw_pool *pool = calloc(1, sizeof(*pool));

    if (!pool)
        return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->ready, NULL);
    pthread_cond_init(&pool->idle, NULL);
    pool->queue_max = queue_max;
    pool->done_ev = event_new(base, -1, 0, deliver_done, pool);
    pool->threads = calloc(nthreads, sizeof(*pool->threads));
    if (!pool->done_ev || !pool->threads)
        goto error;
    for (; pool->nthreads < nthreads; pool->nthreads++)
        if (pthread_create(&pool->threads[pool->nthreads], NULL, worker_main, pool) != 0)
            goto error;
    return pool;

error:
    gw_pool_free(pool);
    return NULL;
}

int gw_pool_submit(gw_pool *pool, gw_work_fn work, gw_done_fn done, void *arg)
{
    job *j;

    pthread_mutex_lock(&pool->lock);
    if (pool->stopping || pool->queued >= pool->queue_max) {
        pthread_mutex_unlock(&pool->lock);
        return -1;
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        pthread_mutex_unlock(&pool->lock);
        return -1;
    }
    j->work = work;
    j->done = done;
    j->arg = arg;
    push(&pool->queue_head, &pool->queue_tail, j);
    pool->queued++;
    pool->in_flight++;
    pthread_cond_signal(&pool->ready);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

unsigned gw_pool_in_flight(const gw_pool *pool)
{
    return pool->in_flight;
}

int gw_pool_stopping(gw_pool *pool)
{
    int stopping;

    pthread_mutex_lock(&pool->lock);
    stopping = pool->stopping;
    pthread_mutex_unlock(&pool->lock);
    return stopping;
}

unsigned gw_pool_stop(gw_pool *pool, double timeout_sec)
{
    struct timespec until;
    unsigned running;
    job *j;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_sec;
    until.tv_nsec += (long)((timeout_sec - (double)(time_t)timeout_sec) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    /* Queued jobs never start: their completions say so (ran = 0). */
    while ((j = pool->queue_head)) {
        pool->queue_head = j->next;
        pool->queued--;
        push(&pool->done_head, &pool->done_tail, j);
    }
    pool->queue_tail = NULL;
    pthread_cond_broadcast(&pool->ready);
    while (pool->running > 0 && timeout_sec >= 0) {
        if (pthread_cond_timedwait(&pool->idle, &pool->lock, &until) == ETIMEDOUT)
            break;
    }
    running = pool->running;
    pthread_mutex_unlock(&pool->lock);
    if (pool->done_ev)
        deliver_done(-1, 0, pool);
    return running;
}

void gw_pool_free(gw_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->ready);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    if (pool->done_ev) {
        deliver_done(-1, 0, pool);
        event_free(pool->done_ev);
    }
    free(pool->threads);
    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}
