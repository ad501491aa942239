/* cloudgate: the shared listing of instances (engine/instance_view.c) on
 * the libvirt driver's instances_version, against libvirt's test driver:
 * every kind of change a DescribeInstances shows (its volumes' attachments
 * included) gives a new listing that shows it, and nothing else does.  Fixtures: lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_driver.h"
#include "engine/instance_view.h"

#include "lv_world.h"

static cg_instance_view view = CG_INSTANCE_VIEW_INIT(NULL);

static const cg_listing *listing(world *w)
{
    cg_error err = {0};
    const cg_listing *l = cg_instance_view_get(&view, &lv_driver, w->drv, &err);

    if (!l)
        fail_msg("view: %s", err.message);
    return l;
}

static const cg_instance *in(const cg_listing *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->list.n; i++) {
        if (strcmp(l->list.v[i].id, id) == 0)
            return &l->list.v[i];
    }
    fail_msg("%s is not listed", id);
    return NULL;
}

static const char *tag(const cg_instance *inst, const char *key)
{
    size_t i;

    for (i = 0; i < inst->tags.n; i++) {
        if (strcmp(inst->tags.v[i].key, key) == 0)
            return inst->tags.v[i].value;
    }
    return NULL;
}

static void set_tag(world *w, const char *id, const char *key, const char *value)
{
    cg_tags tags = {0};
    cg_error err = {0};

    assert_int_equal(cg_tags_set(&tags, key, value), 0);
    if (lv_driver.tags_set(w->drv, id, &tags, &err) < 0)
        fail_msg("tags: %s", err.message);
    cg_tags_release(&tags);
}

/* A listing that a second request shares: nothing changed between the two.
 * The zone's thread may still be writing the tail of a launch or a
 * terminate (rows, each a change), and the version has the second in it:
 * pause between tries, within a bound. */
static const cg_listing *settled(world *w)
{
    const cg_listing *a = NULL, *b;
    int i;

    for (i = 0; i < EVENT_WAIT_SECONDS * 20; i++) {
        if (i)
            usleep(50 * 1000);
        cg_instance_view_put(&view, a);
        a = listing(w);
        b = listing(w);
        cg_instance_view_put(&view, b);
        if (a == b)
            return a;
    }
    fail_msg("every listing was new");
    return NULL;
}

static void test_each_change_is_shown(void **state)
{
    world *w = *state;
    const cg_listing *before, *after;
    cg_error err = {0};
    char id[24];

    run_one(w, id);
    wait_state(w, id, CG_STATE_RUNNING);
    before = settled(w);
    assert_int_equal(in(before, id)->state, CG_STATE_RUNNING);

    set_tag(w, id, "Name", "web"); /* the cache's tags */
    after = listing(w);
    assert_ptr_not_equal(after, before);
    assert_string_equal(tag(in(after, id), "Name"), "web");
    assert_null(tag(in(before, id), "Name")); /* a held listing stays as it was */
    cg_instance_view_put(&view, before);
    cg_instance_view_put(&view, after);

    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, NULL, &err), 0);
    wait_state(w, id, CG_STATE_STOPPED); /* the cache, from libvirt's event */
    after = listing(w);
    assert_int_equal(in(after, id)->state, CG_STATE_STOPPED);
    cg_instance_view_put(&view, after);

    /* Written by another connection: PRAGMA data_version. */
    before = settled(w);
    state_sql(w, "INSERT OR REPLACE INTO instance_metadata_options VALUES (%Q, 2, 1, 7)", id);
    after = listing(w);
    assert_ptr_not_equal(after, before);
    assert_int_equal(in(after, id)->metadata.hop_limit, 7);
    assert_int_equal(in(after, id)->metadata.http_tokens, CG_MD_TOKENS_REQUIRED);
    cg_instance_view_put(&view, before);
    cg_instance_view_put(&view, after);

    assert_int_equal(lv_driver.instance_terminate(w->drv, id, NULL, &err), 0);
    after = listing(w);
    assert_int_equal(in(after, id)->state, CG_STATE_TERMINATED);
    cg_instance_view_put(&view, after);

    /* A terminated record's tags live in SQLite only. */
    before = settled(w);
    set_tag(w, id, "Name", "gone");
    after = listing(w);
    assert_string_equal(tag(in(after, id), "Name"), "gone");
    cg_instance_view_put(&view, before);
    cg_instance_view_put(&view, after);
    cg_instance_view_clear(&view);
}

/* The volume of id in l, or NULL. */
static const cg_volume *vol_in(const cg_listing *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->volumes.n; i++) {
        if (strcmp(l->volumes.v[i].id, id) == 0)
            return &l->volumes.v[i];
    }
    return NULL;
}

/* The volumes come with the listing (DescribeInstances shows the attached
 * ones): a create, an attach, a detach and a delete each give one that
 * shows them.  (The test driver has no device hot-plug: the attachment is
 * the row's, which is what volume_list shows.) */
static void test_volume_changes_are_shown(void **state)
{
    world *w = *state;
    cg_volume_spec spec = {.zone = ZONE, .size_bytes = 1 << 20};
    const cg_listing *before, *after;
    cg_volume vol;
    cg_error err = {0};
    char id[24];

    run_one(w, id);
    before = settled(w);
    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &vol, &err), 0);
    after = listing(w);
    assert_ptr_not_equal(after, before);
    assert_null(vol_in(before, vol.id));
    assert_string_equal(vol_in(after, vol.id)->attached_to, "");
    cg_instance_view_put(&view, before);
    cg_instance_view_put(&view, after);

    assert_int_equal(lv_volstate_attach(w->drv->state, vol.id, id, "vdb", &err), 1);
    after = listing(w);
    assert_string_equal(vol_in(after, vol.id)->attached_to, id);
    cg_instance_view_put(&view, after);

    assert_int_equal(lv_volstate_detach(w->drv->state, vol.id, id, &err), 0);
    after = listing(w);
    assert_string_equal(vol_in(after, vol.id)->attached_to, "");
    cg_instance_view_put(&view, after);

    assert_int_equal(lv_driver.volume_delete(w->drv, vol.id, &err), 0);
    after = listing(w);
    assert_null(vol_in(after, vol.id));
    cg_instance_view_put(&view, after);
    cg_volume_release(&vol);
    cg_instance_view_clear(&view);
}

/* Two drivers opened one after the other (a restart in one process): the
 * new one never gets the listing of the one before, even at its address. */
static void test_a_new_driver_lists_anew(void **state)
{
    world *w = *state;
    const cg_listing *a, *b;
    char id[24];

    run_one(w, id);
    a = listing(w);
    lv_driver.close(w->drv);
    w->drv = open_drv(w);
    b = listing(w);
    assert_ptr_not_equal(a, b);
    assert_true(b->version > a->version);
    cg_instance_view_put(&view, a);
    cg_instance_view_put(&view, b);
    cg_instance_view_clear(&view);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_change_is_shown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_new_driver_lists_anew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_changes_are_shown, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
