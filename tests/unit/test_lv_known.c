/* Unit tests: the last known instances of a zone (lv_known.c) against
 * libvirt's test driver.  A gateway that starts while its host is away shows
 * the instances it knew, impaired, with their last states; the first
 * connection replaces them with what libvirt has.  The same with a real
 * libvirtd: tests/integration/test_reconnect.py.  Fixtures: lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_driver.h"
#include "drivers/libvirt/lv_state.h"
#include "gateway/log.h"

#include "lv_world.h"

/* Nothing listens there: the zone stays unavailable. */
#define AWAY_URI "test+unix:///default?socket=/nonexistent/cloudgate-test-sock"

static void tag(world *w, const char *id, const char *key, const char *value)
{
    cg_tag t = {(char *)key, (char *)value};
    cg_tags tags = {&t, 1};
    cg_error err = {0};

    if (lv_driver.tags_set(w->drv, id, &tags, &err) < 0)
        fail_msg("tags_set: %s", err.message);
}

/* The known rows of the zone, waited for until there are n (5 s). */
static void wait_known(world *w, size_t n, cg_instance_list *out)
{
    cg_error err = {0};
    int i;

    for (i = 0; i < EVENT_WAIT_SECONDS * 20; i++) {
        memset(out, 0, sizeof(*out));
        assert_int_equal(lv_state_known_list(w->drv->state, ZONE, out, &err), 0);
        if (out->n == n)
            return;
        cg_instance_list_release(out);
        usleep(50 * 1000);
    }
    fail_msg("the zone's known instances did not become %zu", n);
}

static const cg_instance *in(const cg_instance_list *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    return NULL;
}

static void reopen(world *w, const char *uri)
{
    lv_driver.close(w->drv);
    set_str(&w->cfg.zones[0].uri, uri);
    w->drv = open_drv(w);
}

/* Saved while running, not only at a stop: a SIGKILL keeps them. */
static void test_saved_while_running(void **state)
{
    world *w = *state;
    cg_instance_list known;
    char a[24], b[24];

    run_one(w, a);
    run_one(w, b);
    wait_known(w, 2, &known);
    assert_non_null(in(&known, a));
    assert_non_null(in(&known, b));
    assert_string_equal(in(&known, a)->zone, ZONE);
    cg_instance_list_release(&known);
}

static void test_shown_impaired_while_the_host_is_away(void **state)
{
    world *w = *state;
    cg_instance_list l = {0};
    cg_instance inst;
    cg_error err = {0};
    char running[24], stopped[24], terminated[24];
    time_t launched;

    run_one(w, running);
    run_one(w, stopped);
    run_one(w, terminated);
    tag(w, running, "Name", "web");
    assert_int_equal(lv_driver.instance_stop(w->drv, stopped, 1, NULL, &err), 0);
    wait_state(w, stopped, CG_STATE_STOPPED);
    assert_int_equal(lv_driver.instance_terminate(w->drv, terminated, NULL, &err), 0);
    assert_int_equal(find(w, running, &inst), 1);
    launched = inst.launch_time;
    cg_instance_release(&inst);

    reopen(w, AWAY_URI);
    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    assert_non_null(in(&l, running));
    assert_int_equal(in(&l, running)->state, CG_STATE_RUNNING);
    assert_true(in(&l, running)->impaired);
    assert_string_equal(in(&l, running)->zone, ZONE);
    assert_string_equal(in(&l, running)->image_id, w->ami);
    assert_string_equal(in(&l, running)->key_name, "mykey");
    assert_int_equal(in(&l, running)->launch_time, launched);
    assert_int_equal(in(&l, running)->tags.n, 1);
    assert_string_equal(in(&l, running)->tags.v[0].key, "Name");
    assert_string_equal(in(&l, running)->tags.v[0].value, "web");
    assert_non_null(in(&l, stopped));
    assert_int_equal(in(&l, stopped)->state, CG_STATE_STOPPED);
    assert_true(in(&l, stopped)->impaired);
    /* a terminated one stays terminated (its own record), not impaired */
    assert_non_null(in(&l, terminated));
    assert_int_equal(in(&l, terminated)->state, CG_STATE_TERMINATED);
    assert_false(in(&l, terminated)->impaired);
    cg_instance_list_release(&l);
    /* changes are refused: the host is away */
    assert_int_equal(lv_driver.instance_stop(w->drv, running, 1, NULL, &err), -1);
    assert_int_equal(err.kind, CG_ERR_UNAVAILABLE);

    /* The host is back, with a world of its own (testnode.xml: each
     * connection a fresh one, none of these domains): libvirt's view wins,
     * and the saved rows follow it. */
    {
        char uri[PATH_MAX + 16];

        node_uri(uri, sizeof(uri));
        reopen(w, uri);
    }
    assert_int_equal(find(w, running, &inst), 0);
    assert_int_equal(find(w, stopped, &inst), 0);
    wait_known(w, 0, &l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_saved_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shown_impaired_while_the_host_is_away, setup,
                                        teardown),
    };

    cg_log_init(NULL, CG_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
