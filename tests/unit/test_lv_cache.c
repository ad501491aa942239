/* cloudgate: the instance cache (drivers/libvirt/lv_cache.c): entries kept
 * in id order, and the revision each record carries (cg_instance.rev),
 * which a listing's fragments are keyed by: every change of a record
 * gives it a new one, nothing else does.  Also the rows a listing matches
 * to its instances by id (lv_rows_sort_by_id, lv_rows_find_id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/libvirt/lv_cache.h"
#include "drivers/libvirt/lv_rows.h"

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

typedef struct {
    char instance_id[24];
    char group_id[32];
} member;

static void test_rows_by_id(void **state)
{
    /* Insertion order of each instance's groups must survive the sort. */
    member m[] = {{"i-c", "sg-3"}, {"i-a", "sg-9"}, {"i-c", "sg-1"}, {"i-b", "sg-5"},
                  {"i-a", "sg-2"}, {"i-c", "sg-2"}, {"i-a", "sg-7"}};
    size_t n = sizeof(m) / sizeof(m[0]), at;

    (void)state;
    assert_int_equal(lv_rows_sort_by_id(m, n, sizeof(m[0])), 0);
    at = lv_rows_find_id(m, n, sizeof(m[0]), "i-a");
    assert_int_equal(at, 0);
    assert_string_equal(m[0].group_id, "sg-9");
    assert_string_equal(m[1].group_id, "sg-2");
    assert_string_equal(m[2].group_id, "sg-7");
    assert_int_equal(lv_rows_find_id(m, n, sizeof(m[0]), "i-b"), 3);
    at = lv_rows_find_id(m, n, sizeof(m[0]), "i-c");
    assert_int_equal(at, 4);
    assert_string_equal(m[4].group_id, "sg-3");
    assert_string_equal(m[5].group_id, "sg-1");
    assert_string_equal(m[6].group_id, "sg-2");
    assert_int_equal(lv_rows_find_id(m, n, sizeof(m[0]), "i-0"), n);
    assert_int_equal(lv_rows_find_id(m, n, sizeof(m[0]), "i-bb"), n);
    assert_int_equal(lv_rows_find_id(m, 0, sizeof(m[0]), "i-a"), 0);
}

/* Rows grown one at a time keep every earlier row and zero each new one,
 * across the doublings (1, 2, 4 ... 1024). */
static void test_rows_grow(void **state)
{
    struct row {
        unsigned n;
        char pad[13];
    } *v = NULL, *r;
    cg_error err = {0};
    unsigned i;

    (void)state;
    for (i = 0; i < 1000; i++) {
        r = lv_rows_grow((void **)&v, i, sizeof(*v), &err);
        assert_non_null(r);
        assert_ptr_equal(r, &v[i]);
        assert_int_equal(r->n, 0);
        assert_int_equal(r->pad[12], 0);
        r->n = i + 1;
        memset(r->pad, 'x', sizeof(r->pad));
    }
    for (i = 0; i < 1000; i++)
        assert_int_equal(v[i].n, i + 1);
    free(v);
}

/* A reader of libvirt (the zone's thread re-reading a domain after an
 * event) updates an entry only if nothing changed it since the reader
 * looked: a request's newer write (DeleteTags) is not undone by an older
 * read (the XML from before it). */
static void test_update_only_if_unchanged(void **state)
{
    const char *id = "i-000000000000000e5";
    cg_instance old = {0}, got;
    cg_tags none = {0};
    lv_cache *c = lv_cache_new();
    uint64_t rev;

    (void)state;
    assert_int_equal(lv_cache_rev(c, id), 0);
    snprintf(old.id, sizeof(old.id), "%s", id);
    assert_int_equal(cg_tags_set(&old.tags, "team", "red"), 0);
    /* Absent: rev 0 adds it; then a stale 0 no longer does. */
    assert_int_equal(lv_cache_update_if(c, &old, CG_STATE_RUNNING, 0), 1);
    rev = lv_cache_rev(c, id);
    assert_true(rev != 0);
    /* The reader looks (rev), a request changes the entry, the reader's
     * older read arrives: refused, the request's change stays. */
    assert_int_equal(lv_cache_set_tags(c, id, &none), 0);
    assert_int_equal(lv_cache_update_if(c, &old, CG_STATE_RUNNING, rev), 0);
    assert_int_equal(lv_cache_get(c, id, &got), 1);
    assert_int_equal(got.tags.n, 0);
    cg_instance_release(&got);
    /* Read again, after the change: applied. */
    assert_int_equal(lv_cache_update_if(c, &old, CG_STATE_STOPPED, lv_cache_rev(c, id)), 1);
    assert_int_equal(lv_cache_get(c, id, &got), 1);
    assert_int_equal(got.tags.n, 1);
    assert_int_equal(got.state, CG_STATE_STOPPED);
    cg_instance_release(&got);
    cg_instance_release(&old);
    lv_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_by_id),        cmocka_unit_test(test_update_only_if_unchanged),
        cmocka_unit_test(test_revision_per_change), cmocka_unit_test(test_rows_by_id),
        cmocka_unit_test(test_rows_grow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
