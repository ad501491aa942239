/* cloudgate: the shared listing of instances (engine/instance_view.c),
 * against a driver table whose version and listing the test controls.
 * Every wait is bounded (WAIT_SECONDS); no assertion depends on a sleep. */
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

#include "engine/instance_view.h"

#define WAIT_SECONDS 20
#define READERS 8

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t version;   /* what instances_version answers */
static unsigned listed;    /* instance_list calls */
static unsigned decorated; /* decorate calls */
static unsigned volumes_listed; /* volume_list calls */
static unsigned versions_read;
static unsigned hold_for; /* instance_list waits until this many versions were read */
static int fail_next;     /* the next instance_list fails */

/* Two drivers: only their addresses matter to the view. */
static int drv_a, drv_b;
#define DRV_A ((cg_drv *)(void *)&drv_a)
#define DRV_B ((cg_drv *)(void *)&drv_b)

static uint64_t fake_version(cg_drv *drv)
{
    uint64_t v;

    (void)drv;
    pthread_mutex_lock(&mu);
    v = version;
    versions_read++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return v;
}

/* One instance whose id tells which listing it was: "i-<n>". */
static int fake_list(cg_drv *drv, cg_instance_list *out, cg_error *err)
{
    struct timespec until;
    cg_instance inst;
    unsigned n;

    (void)drv;
    pthread_mutex_lock(&mu);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_SECONDS;
    while (versions_read < hold_for && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    n = ++listed;
    if (fail_next) {
        fail_next = 0;
        pthread_mutex_unlock(&mu);
        cg_error_set(err, CG_ERR_UNAVAILABLE, "zone away");
        return -1;
    }
    pthread_mutex_unlock(&mu);
    memset(&inst, 0, sizeof(inst));
    snprintf(inst.id, sizeof(inst.id), "i-%u", n);
    return cg_instance_list_append(out, &inst);
}

/* One volume, attached to the listing's instance. */
static int fake_volumes(cg_drv *drv, cg_volume_list *out, cg_error *err)
{
    (void)drv;
    pthread_mutex_lock(&mu);
    volumes_listed++;
    pthread_mutex_unlock(&mu);
    if (!(out->v = calloc(1, sizeof(*out->v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    out->n = 1;
    snprintf(out->v[0].id, sizeof(out->v[0].id), "vol-%u", volumes_listed);
    return 0;
}

static int decorate(cg_instance_list *list, cg_error *err)
{
    (void)err;
    pthread_mutex_lock(&mu);
    decorated++;
    pthread_mutex_unlock(&mu);
    /* What EC2 does here: tags on the listing, once. */
    return list->n ? cg_tags_set(&list->v[0].tags, "cloudgate:display", "headless") : 0;
}

static const cg_driver versioned = {
    .instance_list = fake_list, .instances_version = fake_version, .volume_list = fake_volumes};
static const cg_driver unversioned = {.instance_list = fake_list};

static int setup(void **state)
{
    (void)state;
    version = 1;
    listed = decorated = versions_read = hold_for = volumes_listed = 0;
    fail_next = 0;
    return 0;
}

static const cg_listing *get(cg_instance_view *v, const cg_driver *d, cg_drv *drv)
{
    cg_error err = {0};
    const cg_listing *l = cg_instance_view_get(v, d, drv, &err);

    if (!l)
        fail_msg("view: %s", err.message);
    return l;
}

/* While the version stays, requests share one listing, decorated once,
 * and the volumes listed with it. */
static void test_shared_while_unchanged(void **state)
{
    cg_instance_view v = CG_INSTANCE_VIEW_INIT(decorate);
    const cg_listing *a, *b;
    unsigned long lists, shared;

    (void)state;
    a = get(&v, &versioned, DRV_A);
    b = get(&v, &versioned, DRV_A);
    assert_ptr_equal(a, b);
    assert_int_equal(listed, 1);
    assert_int_equal(decorated, 1);
    assert_int_equal(a->list.n, 1);
    assert_string_equal(a->list.v[0].tags.v[0].value, "headless");
    assert_int_equal(volumes_listed, 1);
    assert_int_equal(a->volumes.n, 1);
    assert_string_equal(a->volumes.v[0].id, "vol-1");
    cg_instance_view_stats(&v, &lists, &shared);
    assert_int_equal(lists, 1);
    assert_int_equal(shared, 1);
    cg_instance_view_put(&v, a);
    cg_instance_view_put(&v, b);
    cg_instance_view_clear(&v);
}

/* A moved version lists afresh; a holder of the old listing keeps reading
 * it until it gives it back.  Another driver never gets drv's listing. */
static void test_new_version_lists_again(void **state)
{
    cg_instance_view v = CG_INSTANCE_VIEW_INIT(decorate);
    const cg_listing *old, *now, *other;

    (void)state;
    old = get(&v, &versioned, DRV_A);
    version = 2;
    now = get(&v, &versioned, DRV_A);
    assert_ptr_not_equal(old, now);
    assert_string_equal(old->list.v[0].id, "i-1"); /* still whole */
    assert_string_equal(now->list.v[0].id, "i-2");
    assert_string_equal(old->volumes.v[0].id, "vol-1");
    assert_string_equal(now->volumes.v[0].id, "vol-2");
    other = get(&v, &versioned, DRV_B);
    assert_string_equal(other->list.v[0].id, "i-3");
    assert_int_equal(listed, 3);
    cg_instance_view_put(&v, old);
    cg_instance_view_put(&v, now);
    cg_instance_view_put(&v, other);
    cg_instance_view_clear(&v);
}

/* Without instances_version, every request lists; a failed listing is
 * reported and not kept. */
static void test_unversioned_and_failure(void **state)
{
    cg_instance_view v = CG_INSTANCE_VIEW_INIT(decorate);
    const cg_listing *a, *b;
    cg_error err = {0};

    (void)state;
    a = get(&v, &unversioned, DRV_A);
    b = get(&v, &unversioned, DRV_A);
    assert_ptr_not_equal(a, b);
    assert_int_equal(listed, 2);
    cg_instance_view_put(&v, a);
    cg_instance_view_put(&v, b);

    fail_next = 1;
    assert_null(cg_instance_view_get(&v, &versioned, DRV_A, &err));
    assert_int_equal(err.kind, CG_ERR_UNAVAILABLE);
    a = get(&v, &versioned, DRV_A); /* the next one lists again */
    assert_int_equal(listed, 4);
    cg_instance_view_put(&v, a);
    cg_instance_view_clear(&v);
}

static cg_instance_view shared_view = CG_INSTANCE_VIEW_INIT(decorate);

static void *reader(void *arg)
{
    const cg_listing **out = arg;

    *out = get(&shared_view, &versioned, DRV_A);
    return NULL;
}

/* READERS requests at once, all of one version: the listing is made once
 * and the others wait for it (the first listing waits until every reader
 * has read the version, so they all overlap it). */
static void test_concurrent_readers_one_listing(void **state)
{
    pthread_t t[READERS];
    const cg_listing *got[READERS];
    unsigned long lists, shared;
    int i;

    (void)state;
    hold_for = READERS;
    for (i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &got[i]), 0);
    for (i = 0; i < READERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(versions_read, READERS);
    assert_int_equal(listed, 1);
    cg_instance_view_stats(&shared_view, &lists, &shared);
    assert_int_equal(lists, 1);
    assert_int_equal(shared, READERS - 1);
    for (i = 0; i < READERS; i++) {
        assert_ptr_equal(got[i], got[0]);
        cg_instance_view_put(&shared_view, got[i]);
    }
    cg_instance_view_clear(&shared_view);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_shared_while_unchanged, setup),
        cmocka_unit_test_setup(test_new_version_lists_again, setup),
        cmocka_unit_test_setup(test_unversioned_and_failure, setup),
        cmocka_unit_test_setup(test_concurrent_readers_one_listing, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
