/* cloudgate: one state change applied to several instances
 * (engine/instance_ops.c), against a driver table whose operations block on
 * a condition the test controls.  Every wait is bounded (WAIT_SECONDS); no
 * assertion depends on a sleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/instance_ops.h"

#define WAIT_SECONDS 20
#define N 20

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int in_flight, most_in_flight, calls[N], stopped_force[N], done_late;
/* Ops wait until this many are in flight at once (then none waits again):
 * run one after the other, the first would wait out WAIT_SECONDS. */
static int hold_until, released;
static int gate; /* 1: ops wait until the test opens it */

static int index_of(const char *id)
{
    return atoi(id + 2); /* "i-7" */
}

/* Wait (bounded) until pred() under mu. */
static void wait_locked(int (*pred)(void))
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECONDS;
    while (!pred() && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
}

static int enough_in_flight(void)
{
    if (in_flight >= hold_until)
        released = 1;
    return released;
}

static int late_done(void)
{
    return done_late;
}

static int gate_open(void)
{
    return !gate;
}

/* i-3 and i-7 fail; i-3 only after i-7 has failed, so the lowest failing
 * index must win whatever the order of completion. */
static int op(const char *id, cg_state_change *chg, cg_error *err)
{
    int i = index_of(id), rc = 0;

    pthread_mutex_lock(&mu);
    calls[i]++;
    in_flight++;
    if (in_flight > most_in_flight)
        most_in_flight = in_flight;
    pthread_cond_broadcast(&cv);
    wait_locked(enough_in_flight);
    released = 1; /* also after a timeout: the assertions say what happened */
    /* A change recorded for good may be answered before it ends; i-12's
     * is recorded only once the gate opens. */
    if (chg && i != 12) {
        pthread_mutex_unlock(&mu);
        cg_change_recorded();
        pthread_mutex_lock(&mu);
    }
    wait_locked(gate_open);
    if (chg && i == 12) {
        pthread_mutex_unlock(&mu);
        cg_change_recorded();
        pthread_mutex_lock(&mu);
    }
    if (i == 3) {
        wait_locked(late_done);
        cg_error_set(err, CG_ERR_STATE, "i-3 refuses");
        rc = -1;
    } else if (i == 7) {
        cg_error_set(err, CG_ERR_INTERNAL, "i-7 breaks");
        done_late = 1;
        pthread_cond_broadcast(&cv);
        rc = -1;
    } else if (chg) {
        chg->previous = CG_STATE_RUNNING;
        chg->current = CG_STATE_TERMINATED;
    }
    in_flight--;
    pthread_mutex_unlock(&mu);
    return rc;
}

static int t_terminate(cg_drv *d, const char *id, cg_state_change *chg, cg_error *err)
{
    (void)d;
    return op(id, chg, err);
}

static int t_stop(cg_drv *d, const char *id, int force, cg_state_change *chg, cg_error *err)
{
    (void)d;
    stopped_force[index_of(id)] = force;
    return op(id, chg, err);
}

static const cg_driver table = {
    .name = "ops-test",
    .instance_terminate = t_terminate,
    .instance_stop = t_stop,
};

static char names[N][16];
static const char *ids[N];

static int setup(void **state)
{
    int i;

    (void)state;
    memset(calls, 0, sizeof(calls));
    memset(stopped_force, 0, sizeof(stopped_force));
    in_flight = most_in_flight = done_late = released = gate = 0;
    hold_until = 2;
    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "i-%d", i);
        ids[i] = names[i];
    }
    return 0;
}

static void test_all_tried_in_parallel_lowest_failure_wins(void **state)
{
    cg_instance_ops ops = {.op = CG_IOP_TERMINATE, .ids = ids, .n = N};
    cg_state_change chg[N];
    cg_error err = {0};
    size_t failed = 99;
    int i;

    (void)state;
    memset(chg, 0, sizeof(chg));
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), -1);
    assert_int_equal(failed, 3);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_string_equal(err.message, "i-3 refuses");
    for (i = 0; i < N; i++) {
        assert_int_equal(calls[i], 1); /* each once, the failing ones' neighbours too */
        if (i != 3 && i != 7)
            assert_int_equal(chg[i].current, CG_STATE_TERMINATED);
    }
    /* Each op waited for a second one to be in flight: had they run one
     * after the other, the first would have waited out WAIT_SECONDS and
     * most_in_flight would be 1. */
    assert_true(most_in_flight >= 2);
    assert_true(most_in_flight <= CG_INSTANCE_OPS_PARALLEL);
}

static void test_bound_and_arguments(void **state)
{
    cg_instance_ops ops = {.op = CG_IOP_STOP, .force = 1, .ids = ids + 8, .n = 12};
    cg_state_change chg[12];
    cg_error err = {0};
    size_t failed = 99;
    int i;

    (void)state;
    /* All the threads at once, never more. */
    hold_until = CG_INSTANCE_OPS_PARALLEL;
    memset(chg, 0, sizeof(chg));
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), 0);
    assert_int_equal(failed, 99);
    assert_int_equal(err.kind, CG_ERR_NONE);
    assert_int_equal(most_in_flight, CG_INSTANCE_OPS_PARALLEL);
    for (i = 8; i < N; i++) {
        assert_int_equal(calls[i], 1);
        assert_int_equal(stopped_force[i], 1);
    }
    for (i = 0; i < 8; i++)
        assert_int_equal(calls[i], 0);
}

static void test_one_and_unsupported(void **state)
{
    cg_instance_ops ops = {.op = CG_IOP_TERMINATE, .ids = ids, .n = 1};
    cg_state_change chg[3]; /* one per id */
    cg_error err = {0};
    size_t failed = 99;

    (void)state;
    memset(chg, 0, sizeof(chg));
    hold_until = 1;
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), 0);
    assert_int_equal(most_in_flight, 1);
    /* A driver without the operation: every id reports it, the first wins. */
    ops.op = CG_IOP_REBOOT;
    ops.ids = ids + 1;
    ops.n = 3;
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), -1);
    assert_int_equal(failed, 0);
    assert_int_equal(err.kind, CG_ERR_UNSUPPORTED);
    /* Nothing to do is success. */
    ops.n = 0;
    cg_error_clear(&err);
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), 0);
}

/* What is not done at answer_sec is answered in its transitional state
 * and finishes behind the answer; a failure then is only logged. */
static void test_answer_before_the_work_ends(void **state)
{
    const char *some[3] = {ids[10], ids[7], ids[11]};
    cg_instance_ops ops = {.op = CG_IOP_TERMINATE, .ids = some, .n = 3, .answer_sec = 0.2};
    cg_state_change chg[3];
    cg_error err = {0};
    size_t failed = 99;
    int i;

    (void)state;
    hold_until = 1;
    gate = 1;
    for (i = 0; i < 3; i++) {
        chg[i].previous = chg[i].current = CG_STATE_RUNNING;
        snprintf(chg[i].id, sizeof(chg[i].id), "%s", some[i]);
    }
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), 0);
    assert_int_equal(failed, 99);
    for (i = 0; i < 3; i++) {
        assert_int_equal(chg[i].previous, CG_STATE_RUNNING);
        assert_int_equal(chg[i].current, CG_STATE_SHUTTING_DOWN);
        assert_string_equal(chg[i].id, some[i]);
    }
    /* Still at work: the drain waits for them, and only them. */
    assert_int_equal(cg_instance_ops_drain(0.1), 3);
    pthread_mutex_lock(&mu);
    assert_int_equal(in_flight, 3);
    gate = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    assert_int_equal(cg_instance_ops_drain(WAIT_SECONDS), 0);
    assert_int_equal(calls[10] + calls[7] + calls[11], 3);
    assert_int_equal(in_flight, 0);
}

static void *open_gate_later(void *arg)
{
    struct timespec pause = {0, 300 * 1000 * 1000};

    (void)arg;
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&mu);
    gate = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* A terminate the driver has not recorded yet is not answered
 * shutting-down: a crash would bring the instance back.  One started waits
 * past answer_sec until it is (here: once the gate opened, 0.3 s later). */
static void test_unrecorded_terminate_holds_the_answer(void **state)
{
    const char *one_id[1] = {ids[12]};
    cg_instance_ops ops = {.op = CG_IOP_TERMINATE, .ids = one_id, .n = 1, .answer_sec = 0.05};
    cg_state_change chg = {.previous = CG_STATE_RUNNING, .current = CG_STATE_RUNNING};
    cg_error err = {0};
    size_t failed = 99;
    pthread_t t;

    (void)state;
    hold_until = 1;
    gate = 1;
    assert_int_equal(pthread_create(&t, NULL, open_gate_later, NULL), 0);
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, &chg, &failed, &err), 0);
    pthread_mutex_lock(&mu);
    assert_int_equal(gate, 0); /* answered only after the gate opened */
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    assert_true(chg.current == CG_STATE_SHUTTING_DOWN || chg.current == CG_STATE_TERMINATED);
    assert_int_equal(cg_instance_ops_drain(WAIT_SECONDS), 0);
    assert_int_equal(calls[12], 1);
}

/* Terminate the 11 ids below with every op held at the gate until the
 * answer; count what the answer said; then let them end.  *in_progress:
 * answered shutting-down, *as_they_are: answered running. */
static const char *eleven[11] = {"i-8",  "i-9",  "i-10", "i-11", "i-13", "i-14",
                                 "i-15", "i-16", "i-17", "i-18", "i-19"};

static void terminate_held(double answer_sec, int *in_progress, int *as_they_are)
{
    /* Neither i-3 nor i-7 (they fail) nor i-12 (recorded late). */
    cg_instance_ops ops = {
        .op = CG_IOP_TERMINATE, .ids = eleven, .n = 11, .answer_sec = answer_sec};
    cg_state_change chg[11];
    cg_error err = {0};
    size_t failed = 99;
    int i;

    hold_until = 1;
    gate = 1;
    for (i = 0; i < 11; i++)
        chg[i].previous = chg[i].current = CG_STATE_RUNNING;
    assert_int_equal(cg_instance_ops_apply(&table, NULL, &ops, chg, &failed, &err), 0);
    *in_progress = *as_they_are = 0;
    for (i = 0; i < 11; i++) {
        *in_progress += chg[i].current == CG_STATE_SHUTTING_DOWN;
        *as_they_are += chg[i].current == CG_STATE_RUNNING;
    }
    pthread_mutex_lock(&mu);
    gate = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    assert_int_equal(cg_instance_ops_drain(WAIT_SECONDS), 0);
}

/* Terminates whose turn has not come at answer_sec (all 8 threads busy)
 * are answered as they are and go later. */
static void test_terminates_not_started_answer_as_they_are(void **state)
{
    int i, in_progress, as_they_are;

    (void)state;
    terminate_held(0.2, &in_progress, &as_they_are);
    assert_int_equal(in_progress + as_they_are, 11);
    assert_true(as_they_are >= 3); /* 11 ids, 8 threads, all blocked at the answer */
    assert_true(in_progress >= 1);
    for (i = 0; i < 11; i++)
        assert_int_equal(calls[index_of(eleven[i])], 1);
}

/* Answered "at once" (answer_sec next to nothing, as [libvirt]
 * change_wait = 0 asks): not before every thread has taken its first
 * terminate and recorded it, however late the threads are scheduled.  So
 * exactly 8 of 11 are shutting-down and 3, whose turn has not come, are
 * answered as they are. */
static void test_answer_at_once_after_every_first_take(void **state)
{
    int round, in_progress, as_they_are;

    (void)state;
    for (round = 0; round < 20; round++) {
        setup(NULL);
        terminate_held(1e-9, &in_progress, &as_they_are);
        assert_int_equal(in_progress, CG_INSTANCE_OPS_PARALLEL);
        assert_int_equal(as_they_are, 11 - CG_INSTANCE_OPS_PARALLEL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_all_tried_in_parallel_lowest_failure_wins, setup),
        cmocka_unit_test_setup(test_bound_and_arguments, setup),
        cmocka_unit_test_setup(test_one_and_unsupported, setup),
        cmocka_unit_test_setup(test_answer_before_the_work_ends, setup),
        cmocka_unit_test_setup(test_unrecorded_terminate_holds_the_answer, setup),
        cmocka_unit_test_setup(test_terminates_not_started_answer_as_they_are, setup),
        cmocka_unit_test_setup(test_answer_at_once_after_every_first_take, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
