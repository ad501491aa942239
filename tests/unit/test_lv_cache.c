/* cloudgate: the instance cache (drivers/libvirt/lv_cache.c): entries kept
 * in id order, and the revision each record carries (cg_instance.rev),
 * which a listing's fragments are keyed by: every change of a record
 * gives it a new one, nothing else does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "drivers/libvirt/lv_cache.h"

static void add(lv_cache *c, const char *id)
{
    cg_instance inst = {0};

    snprintf(inst.id, sizeof(inst.id), "%s", id);
    snprintf(inst.mac, sizeof(inst.mac), "52:54:00:00:00:%s", id + 17);
    assert_int_equal(lv_cache_update(c, &inst, CG_STATE_STOPPED), 0);
}

static uint64_t rev_of(lv_cache *c, const char *id)
{
    cg_instance inst;
    uint64_t rev;

    assert_int_equal(lv_cache_get(c, id, &inst), 1);
    rev = inst.rev;
    cg_instance_release(&inst);
    return rev;
}

static void test_sorted_by_id(void **state)
{
    static const char *const ids[] = {"i-000000000000000c3", "i-000000000000000a1",
                                      "i-000000000000000b2", "i-000000000000000d4"};
    cg_instance_list l = {0};
    lv_cache *c = lv_cache_new();

    (void)state;
    for (size_t i = 0; i < 4; i++)
        add(c, ids[i]);
    assert_int_equal(lv_cache_remove(c, "i-000000000000000b2"), 1);
    assert_int_equal(lv_cache_remove(c, "i-000000000000000b2"), 0);
    assert_int_equal(lv_cache_snapshot(c, &l), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].id, "i-000000000000000a1");
    assert_string_equal(l.v[1].id, "i-000000000000000c3");
    assert_string_equal(l.v[2].id, "i-000000000000000d4");
    assert_true(lv_cache_contains(c, "i-000000000000000d4"));
    assert_false(lv_cache_contains(c, "i-000000000000000b2"));
    cg_instance_list_release(&l);
    lv_cache_free(c);
}

static void test_revision_per_change(void **state)
{
    const char *a = "i-000000000000000a1", *b = "i-000000000000000b2";
    lv_lease lease = {"52:54:00:00:00:a1", "10.0.0.5"};
    cg_tags tags = {0};
    cg_instance_list l = {0};
    lv_cache *c = lv_cache_new();
    uint64_t r;

    (void)state;
    add(c, a);
    add(c, b);
    r = rev_of(c, a);
    assert_true(r != 0);
    assert_true(rev_of(c, b) != r);
    /* Reading, marking busy and the same lease again change nothing. */
    assert_int_equal(lv_cache_acquire(c, a, NULL), LV_ACQ_OK);
    lv_cache_release(c, a);
    lv_cache_set_leases(c, &lease, 1);
    assert_true(rev_of(c, a) != r);
    r = rev_of(c, a);
    lv_cache_set_leases(c, &lease, 1);
    assert_true(rev_of(c, a) == r);
    /* A listing's copy carries the revision; a later change does not
     * touch that copy. */
    assert_int_equal(lv_cache_snapshot(c, &l), 0);
    assert_true(l.v[0].rev == r);
    lv_cache_set_reason(c, a, "User initiated");
    assert_true(rev_of(c, a) != r);
    assert_true(l.v[0].rev == r);
    assert_string_equal(l.v[0].state_reason, "");
    r = rev_of(c, a);
    assert_int_equal(cg_tags_set(&tags, "Name", "web"), 0);
    assert_int_equal(lv_cache_set_tags(c, a, &tags), 0);
    assert_true(rev_of(c, a) != r);
    r = rev_of(c, a);
    lv_cache_set_overlay(c, a, CG_STATE_STOPPING, 0);
    assert_true(rev_of(c, a) != r);
    r = rev_of(c, a);
    lv_cache_set_base(c, a, CG_STATE_RUNNING);
    assert_true(rev_of(c, a) != r);
    r = rev_of(c, a);
    lv_cache_set_sub(c, a, CG_SUB_PAUSED);
    assert_true(rev_of(c, a) != r);
    r = rev_of(c, a);
    lv_cache_set_display(c, a, CG_DISPLAY_VNC, "127.0.0.1", 5900);
    assert_true(rev_of(c, a) != r);
    r = rev_of(c, a);
    add(c, a); /* re-read from libvirt */
    assert_true(rev_of(c, a) != r);
    cg_tags_release(&tags);
    cg_instance_list_release(&l);
    lv_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_by_id),
        cmocka_unit_test(test_revision_per_change),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
