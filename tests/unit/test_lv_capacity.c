/* cloudgate: placement capacity (drivers/libvirt/lv_capacity.c): what fits
 * by memory and vCPUs with overcommit, what the refusal says is short, and
 * that concurrent reservations never take more than there is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "drivers/libvirt/lv_capacity.h"
#include "drivers/libvirt/lv_driver.h"

static void test_fit_by_memory_and_cpu(void **state)
{
    /* 24 GiB, 2 CPUs: the test machine. */
    lv_capacity_view v = {.host_mib = 24576, .host_cpus = 2, .memory_overcommit = 1.0,
                          .cpu_overcommit = 16.0};
    char why[160];

    (void)state;
    /* t2.micro: 1 GiB, 1 vCPU.  Memory allows 24, vCPUs 32. */
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 100, why, sizeof(why)), 24);
    assert_non_null(strstr(why, "memory: 24576 MiB left of 24576 MiB x 1 overcommit"));
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 20, why, sizeof(why)), 20);
    assert_string_equal(why, "");
    /* Committed instances (stopped ones included) and reservations count. */
    v.committed_mib = 20480;
    v.reserved_mib = 2048;
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 100, why, sizeof(why)), 2);
    /* With 4x memory overcommit the vCPUs run out first: 32 - 30 = 2. */
    v.memory_overcommit = 4.0;
    v.committed_vcpus = 25;
    v.reserved_vcpus = 5;
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 100, why, sizeof(why)), 2);
    assert_non_null(strstr(why, "vCPUs: 2 left of 2 x 16 overcommit"));
    /* Over-committed already (a ratio lowered after launches): nothing, no wrap. */
    v.cpu_overcommit = 1.0;
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 5, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "vCPUs: 0 left"));
}

static void test_hundred_small_instances_with_overcommit(void **state)
{
    lv_capacity_view v = {.host_mib = 24576, .host_cpus = 2, .memory_overcommit = 4.5,
                          .cpu_overcommit = 64.0};

    (void)state;
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 100, NULL, 0), 100);
    v.memory_overcommit = 1.0;
    assert_int_equal(lv_capacity_fit(&v, 1024, 1, 100, NULL, 0), 24);
}

typedef struct {
    lv_capacity *cap;
    virConnectPtr conn;
    lv_cache *cache;
    const cg_instance_type *type;
    unsigned got;
} racer;

static void test_placement_prefers_the_least_committed_zone(void **state)
{
    unsigned long long committed[3] = {2048, 1024, 1024};
    int available[3] = {1, 1, 1};
    size_t order[3];

    (void)state;
    /* Least committed first; on a tie, the zone configured first. */
    assert_int_equal(lv_place_order(committed, available, 3, 0, order), 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 0);
    /* A launch there tips the balance back to the other. */
    committed[1] += 512;
    lv_place_order(committed, available, 3, 0, order);
    assert_int_equal(order[0], 2);
    /* An unreachable zone is never a candidate, however empty. */
    committed[0] = 0;
    available[0] = 0;
    assert_int_equal(lv_place_order(committed, available, 3, 0, order), 2);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    available[1] = available[2] = 0;
    assert_int_equal(lv_place_order(committed, available, 3, 0, order), 0);
    assert_int_equal(lv_place_order(committed, available, 0, 0, order), 0);
}

static void test_placement_pack_fills_the_most_committed_zone(void **state)
{
    unsigned long long committed[4] = {1024, 4096, 0, 4096};
    int available[4] = {1, 1, 1, 1};
    size_t order[4];

    (void)state;
    /* Most committed first, ties in configuration order; then the rest,
     * tried in turn when the first has no room. */
    assert_int_equal(lv_place_order(committed, available, 4, 1, order), 4);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 0);
    assert_int_equal(order[3], 2);
    available[1] = 0;
    assert_int_equal(lv_place_order(committed, available, 4, 1, order), 3);
    assert_int_equal(order[0], 3);
}

static void *race(void *arg)
{
    racer *r = arg;
    cg_error err = {0};

    if (lv_capacity_reserve(r->cap, r->conn, r->cache, r->type, 1, &r->got, NULL, 0, &err) < 0)
        r->got = 1000;   /* counted as a failure below */
    return NULL;
}

static void test_concurrent_reservations_take_each_slot_once(void **state)
{
    /* test:///default: 3 GiB, 16 CPUs.  1 GiB instances, memory 1.0: 3 slots. */
    cg_instance_type type = {.name = "t", .vcpus = 1, .memory_mib = 1024};
    virConnectPtr conn = virConnectOpen("test:///default");
    lv_cache *cache = lv_cache_new();
    lv_capacity *cap = lv_capacity_new(1.0, 16.0);
    racer r[12];
    pthread_t t[12];
    unsigned total = 0, got = 0;
    cg_error err = {0};
    char why[160];

    (void)state;
    assert_non_null(conn);
    assert_non_null(cache);
    assert_non_null(cap);
    for (int i = 0; i < 12; i++) {
        r[i] = (racer){cap, conn, cache, &type, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 12; i++) {
        pthread_join(t[i], NULL);
        total += r[i].got;
    }
    assert_int_equal(total, 3);
    assert_int_equal(lv_capacity_reserve(cap, conn, cache, &type, 1, &got, why, sizeof(why),
                                         &err), 0);
    assert_int_equal(got, 0);
    assert_non_null(strstr(why, "memory: 0 MiB left of 3072 MiB"));
    /* Given back, the slots are there again. */
    lv_capacity_release(cap, &type, 3);
    assert_int_equal(lv_capacity_reserve(cap, conn, cache, &type, 5, &got, NULL, 0, &err), 0);
    assert_int_equal(got, 3);
    lv_capacity_free(cap);
    lv_cache_free(cache);
    virConnectClose(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_by_memory_and_cpu),
        cmocka_unit_test(test_hundred_small_instances_with_overcommit),
        cmocka_unit_test(test_concurrent_reservations_take_each_slot_once),
        cmocka_unit_test(test_placement_prefers_the_least_committed_zone),
        cmocka_unit_test(test_placement_pack_fills_the_most_committed_zone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
