/* cloudgate: the bounded worker pool.
 *
 * The loop thread submits jobs; N worker threads run them (blocking libvirt,
 * SQLite, curl calls are fine there); each finished job's completion runs back
 * on the loop thread, which alone touches libevent/evhttp objects.
 */
#ifndef GW_WORKERS_H
#define GW_WORKERS_H

#include <event2/event.h>

typedef struct gw_pool gw_pool;

typedef void (*gw_work_fn)(void *arg);          /* runs on a worker thread */
/* Runs on the loop thread afterwards; ran is 0 when the pool stopped before
 * a worker took the job (its work function never ran). */
typedef void (*gw_done_fn)(void *arg, int ran);

/* Start nthreads workers; at most queue_max jobs may wait.  Requires
 * evthread_use_pthreads() before base was created.  NULL on failure. */
gw_pool *gw_pool_new(struct event_base *base, unsigned nthreads, unsigned queue_max);

/* Queue a job (loop thread only).  Returns -1 when the queue is full or the
 * pool is shutting down: the caller answers 503 itself. */
int gw_pool_submit(gw_pool *pool, gw_work_fn work, gw_done_fn done, void *arg);

/* Jobs queued or running, completions not yet delivered included. */
unsigned gw_pool_in_flight(const gw_pool *pool);

/* 1 once gw_pool_stop or gw_pool_free began: new jobs are refused. */
int gw_pool_stopping(gw_pool *pool);

/* Refuse new jobs, drop the queued ones (their completion runs with ran=0),
 * wait up to timeout_sec for the running ones and deliver every completion
 * that arrived.  Loop thread only.  Returns how many jobs are still running:
 * when that is not 0, whatever those jobs use must stay allocated, so the
 * caller must not free the pool or anything the jobs touch. */
unsigned gw_pool_stop(gw_pool *pool, double timeout_sec);

/* Stop (waiting as long as it takes), join the threads, free.  Loop thread
 * only.  Accepts NULL. */
void gw_pool_free(gw_pool *pool);

#endif
