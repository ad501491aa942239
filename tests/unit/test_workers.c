/* Unit tests: the bounded worker pool (queue limit, completions on the loop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "gateway/workers.h"

typedef struct probe {
    pthread_mutex_t *gate;     /* workers block here until the test opens it */
    pthread_t loop_thread;
    volatile int started;
    int ran;
    int done_ran;   /* what the completion was told */
    int done_on_loop;
    int *done_count;
    int expected;
    struct event_base *base;
} probe;

static void blocking_work(void *arg)
{
    probe *p = arg;

    __atomic_store_n(&p->started, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(p->gate);
    pthread_mutex_unlock(p->gate);
    p->ran = 1;
}

static void record_done(void *arg, int ran)
{
    probe *p = arg;

    p->done_ran = ran;
    p->done_on_loop = pthread_equal(pthread_self(), p->loop_thread);
    if (++*p->done_count == p->expected)
        event_base_loopbreak(p->base);
}

static void noop(evutil_socket_t fd, short what, void *arg)
{
}

static void wait_started(probe *p)
{
    while (!__atomic_load_n(&p->started, __ATOMIC_SEQ_CST))
        sched_yield();
}

/* nworkers busy at the gate plus queue_max waiting: the next one is refused. */
static void check_pool(unsigned nworkers, unsigned queue_max)
{
    struct event_base *base = event_base_new();
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    unsigned total = nworkers + queue_max;
    probe *p = calloc(total + 1, sizeof(*p));
    int done = 0;
    gw_pool *pool;

    assert_non_null(base);
    assert_non_null(p);
    pool = gw_pool_new(base, nworkers, queue_max);
    assert_non_null(pool);
    pthread_mutex_lock(&gate);
    for (unsigned i = 0; i <= total; i++)
        p[i] = (probe){.gate = &gate, .loop_thread = pthread_self(), .done_count = &done,
                       .expected = (int)total, .base = base};
    for (unsigned i = 0; i < nworkers; i++) {
        assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[i]), 0);
        wait_started(&p[i]);
    }
    for (unsigned i = nworkers; i < total; i++)
        assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[i]), 0);
    assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[total]), -1);
    assert_int_equal(gw_pool_in_flight(pool), total);

    /* The daemon's loop always has its listener; give this one a timer so
     * dispatch waits for the completions instead of returning at once. */
    struct event *keepalive = event_new(base, -1, EV_PERSIST, noop, NULL);
    struct timeval tick = {1, 0};
    event_add(keepalive, &tick);
    pthread_mutex_unlock(&gate);
    event_base_dispatch(base);
    event_free(keepalive);
    assert_int_equal(done, (int)total);
    for (unsigned i = 0; i < total; i++) {
        assert_true(p[i].ran);
        assert_true(p[i].done_on_loop);
    }
    assert_false(p[total].ran);
    assert_int_equal(gw_pool_in_flight(pool), 0);
    gw_pool_free(pool);
    event_base_free(base);
    free(p);
}

/* Shutdown with a job stuck in a worker: gw_pool_stop drops the queued ones
 * (completion with ran = 0, on this thread), gives up on the stuck one after
 * the timeout and says so, and only gw_pool_free later waits for it. */
static void test_stop_with_stuck_job(void **state)
{
    struct event_base *base = event_base_new();
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    probe p[3];
    int done = 0;
    gw_pool *pool = gw_pool_new(base, 1, 4);

    assert_non_null(pool);
    pthread_mutex_lock(&gate);
    for (unsigned i = 0; i < 3; i++)
        p[i] = (probe){.gate = &gate, .loop_thread = pthread_self(), .done_count = &done,
                       .expected = 99, .base = base, .done_ran = -1};
    assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[0]), 0);
    wait_started(&p[0]);
    assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[1]), 0);
    assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[2]), 0);

    assert_int_equal(gw_pool_stop(pool, 0.2), 1);
    assert_int_equal(done, 2);
    assert_int_equal(p[1].done_ran, 0);
    assert_int_equal(p[2].done_ran, 0);
    assert_true(p[1].done_on_loop);
    assert_false(p[1].ran);
    assert_int_equal(p[0].done_ran, -1);    /* still running: no completion */
    assert_int_equal(gw_pool_submit(pool, blocking_work, record_done, &p[1]), -1);

    pthread_mutex_unlock(&gate);
    gw_pool_free(pool);
    assert_int_equal(done, 3);
    assert_int_equal(p[0].done_ran, 1);
    assert_true(p[0].ran);
    event_base_free(base);
}

static void test_one_worker(void **state)
{
    check_pool(1, 2);
}

static void test_several_workers(void **state)
{
    check_pool(3, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_worker),
        cmocka_unit_test(test_several_workers),
        cmocka_unit_test(test_stop_with_stuck_job),
    };
    evthread_use_pthreads();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
