/* cloudgate: the zone thread's re-read of a domain an event named
 * (drivers/libvirt/lv_upkeep.c), on libvirt's test:///default driver.
 *
 * A failed launch whose undo was cut leaves its domain in libvirt and its
 * terminated row in the database; a late event for that domain must not
 * bring the instance back into the cache (the reconcile of the next
 * connection removes the domain).  The `ended` hook stands for the row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "drivers/libvirt/lv_cache.h"
#include "drivers/libvirt/lv_domxml.h"
#include "drivers/libvirt/lv_upkeep.h"
#include "gateway/log.h"
#include "gateway/util.h"

static const char *ended_id; /* the instance the hook calls ended */
static int ended_calls;

static int ended(const char *id, void *arg)
{
    (void)arg;
    ended_calls++;
    return ended_id && strcmp(id, ended_id) == 0;
}

typedef struct world {
    virConnectPtr conn;
    lv_cache *cache;
    lv_upkeep *up;
    virDomainPtr dom;
    char id[24];
} world;

/* A cloudgate instance's domain, defined on the test driver. */
static virDomainPtr define(virConnectPtr conn, const char *id)
{
    cg_instance meta;
    lv_domain_spec s;
    cg_error err = {0};
    virDomainPtr dom;
    char *xml;

    memset(&meta, 0, sizeof(meta));
    snprintf(meta.id, sizeof(meta.id), "%s", id);
    snprintf(meta.image_id, sizeof(meta.image_id), "ami-0123456789abcdef0");
    snprintf(meta.instance_type, sizeof(meta.instance_type), "t2.micro");
    memset(&s, 0, sizeof(s));
    s.domain_type = "test";
    s.name = id;
    s.vcpus = 1;
    s.memory_mib = 512;
    s.disk_path = "/nonexistent/upkeep.qcow2";
    s.disk_format = "qcow2";
    s.network = "default";
    s.mac = "52:54:00:a1:b2:c3";
    s.console_log = "/nonexistent/upkeep.log";
    s.meta = &meta;
    xml = lv_domxml_build(&s, &err);
    if (!xml)
        fail_msg("lv_domxml_build: %s", err.message);
    dom = virDomainDefineXML(conn, xml);
    free(xml);
    assert_non_null(dom);
    return dom;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    cg_new_id(w->id, sizeof(w->id), "i-");
    assert_non_null(w->conn = virConnectOpen("test:///default"));
    assert_non_null(w->cache = lv_cache_new());
    assert_non_null(w->up = lv_upkeep_new("zone-a", "default", w->cache, ended, NULL));
    w->dom = define(w->conn, w->id);
    ended_id = NULL;
    ended_calls = 0;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;

    virDomainUndefine(w->dom);
    virDomainFree(w->dom);
    lv_upkeep_free(w->up);
    lv_cache_free(w->cache);
    virConnectClose(w->conn);
    free(w);
    return 0;
}

/* An event for the domain, and the zone thread's round that follows. */
static void event_round(world *w)
{
    assert_true(lv_upkeep_mark(w->up, w->dom, 1) >= 0);
    lv_upkeep_run(w->up, w->conn, cg_monotonic());
}

/* The ordinary case: a domain of ours that the cache lacks is cached. */
static void test_event_caches_a_new_instance(void **state)
{
    world *w = *state;

    event_round(w);
    assert_true(lv_cache_contains(w->cache, w->id));
    assert_int_equal(ended_calls, 1);
}

/* Removed from the cache by the failed launch, ended for good: a late
 * event leaves it out. */
static void test_event_skips_an_ended_instance(void **state)
{
    world *w = *state;

    ended_id = w->id;
    event_round(w);
    assert_false(lv_cache_contains(w->cache, w->id));
    assert_int_equal(ended_calls, 1);
    event_round(w);
    assert_false(lv_cache_contains(w->cache, w->id));
}

/* Only an uncached instance is asked about: one the cache holds is
 * re-read as before, without a database read per event. */
static void test_cached_instance_is_reread(void **state)
{
    world *w = *state;
    cg_instance inst;

    event_round(w);
    assert_true(lv_cache_contains(w->cache, w->id));
    ended_id = w->id;
    ended_calls = 0;
    event_round(w);
    assert_int_equal(ended_calls, 0);
    assert_int_equal(lv_cache_get(w->cache, w->id, &inst), 1);
    assert_string_equal(inst.instance_type, "t2.micro");
    cg_instance_release(&inst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_event_caches_a_new_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_skips_an_ended_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_instance_is_reread, setup, teardown),
    };

    cg_log_init(NULL, CG_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
