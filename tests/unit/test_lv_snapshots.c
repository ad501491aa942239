/* Unit tests: snapshots in the libvirt driver (lv_snapshots.c) against
 * libvirt's test driver, which copies volumes but has no backup API: a
 * snapshot of a volume or of a stopped instance's root disk completes; one
 * of a running instance's root disk fails and leaves no volume.  Volumes
 * made from a snapshot (lv_volumes.c) keep its id.  The real backup of a
 * running disk is tests/system/test_snapshots_qemu.py.  Fixtures: lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_driver.h"

#include "lv_world.h"

typedef struct seen {
    unsigned long long done, total;
    int calls;
    int cancel;
} seen;

static void on_progress(unsigned long long done, unsigned long long total, void *arg)
{
    seen *s = arg;

    s->done = done;
    s->total = total;
    s->calls++;
}

static int on_cancelled(void *arg)
{
    return ((seen *)arg)->cancel;
}

static void snap_name(const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s.qcow2", id);
}

static size_t count_snapshots(world *w)
{
    cg_snapshot_list l = {0};
    cg_error err = {0};
    size_t n;

    assert_int_equal(lv_driver.snapshot_list(w->drv, &l, &err), 0);
    n = l.n;
    cg_snapshot_list_release(&l);
    return n;
}

static void test_volume_snapshot_and_restore(void **state)
{
    world *w = *state;
    cg_volume_spec vs = {.size_bytes = 2ULL << 30};
    cg_volume vol = {0}, from = {0};
    cg_snapshot_spec ss = {0};
    cg_snapshot snap = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    seen s = {0};
    char name[64], sid[24];

    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &vol, &err), 0);
    assert_int_equal(cg_tags_set(&tags, "Name", "nightly"), 0);
    ss.source_id = vol.id;
    ss.description = "d";
    ss.tags = &tags;
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &snap, &err), 0);
    assert_string_equal(snap.state, "pending");
    assert_string_equal(snap.zone, ZONE);
    assert_int_equal(snap.size_bytes, 2ULL << 30);
    assert_string_equal(cg_tags_get(&snap.tags, "Name"), "nightly");
    snap_name(snap.id, name, sizeof(name));
    assert_false(has_volume(w, name));
    snprintf(sid, sizeof(sid), "%s", snap.id);

    /* Not completed: no volume from it, no delete without force. */
    vs.snapshot_id = sid;
    vs.size_bytes = 0;
    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &from, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.snapshot_delete(w->drv, snap.id, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);

    assert_int_equal(lv_driver.snapshot_copy(w->drv, sid, on_progress, on_cancelled, &s,
                                             &err), 0);
    assert_true(has_volume(w, name));
    assert_true(s.calls >= 1);
    assert_int_equal(s.done, s.total);
    cg_snapshot_release(&snap);
    /* A second copy of a completed snapshot is refused. */
    assert_int_equal(lv_driver.snapshot_copy(w->drv, sid, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);

    /* A volume from it: the snapshot's size by default, never less. */
    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &from, &err), 0);
    assert_int_equal(from.size_bytes, 2ULL << 30);
    assert_string_equal(from.snapshot_id, sid);
    cg_volume_release(&from);
    vs.size_bytes = 3ULL << 30;   /* larger: grown (test:// takes the capacity asked) */
    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &from, &err), 0);
    assert_int_equal(from.size_bytes, 3ULL << 30);
    cg_volume_release(&from);
    vs.size_bytes = 1ULL << 30;
    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &from, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    vs.zone = "nowhere";
    vs.size_bytes = 0;
    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &from, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    vs.zone = NULL;
    vs.snapshot_id = "snap-0000000000000000f";
    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &from, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);

    cg_tags_release(&tags);
    cg_volume_release(&vol);
}

static void test_copy_cancel_delete(void **state)
{
    world *w = *state;
    cg_volume_spec vs = {.size_bytes = 1ULL << 30};
    cg_volume vol = {0};
    cg_snapshot_spec ss = {0};
    cg_snapshot a = {0}, b = {0};
    cg_error err = {0};
    seen s = {.cancel = 1};
    char name[64];

    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &vol, &err), 0);
    ss.source_id = vol.id;
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &a, &err), 0);
    /* Cancelled: no volume left, the row for the caller to delete. */
    assert_int_equal(lv_driver.snapshot_copy(w->drv, a.id, on_progress, on_cancelled, &s,
                                             &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    snap_name(a.id, name, sizeof(name));
    assert_false(has_volume(w, name));
    assert_int_equal(lv_driver.snapshot_delete(w->drv, a.id, 1, &err), 0);
    assert_int_equal(count_snapshots(w), 0);
    cg_snapshot_release(&a);

    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &a, &err), 0);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, a.id, NULL, NULL, NULL, &err), 0);
    /* A copy of a snapshot stands alone. */
    ss.source_id = a.id;
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &b, &err), 0);
    assert_string_equal(b.copy_of, a.id);
    assert_string_equal(b.volume_id, vol.id);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, b.id, NULL, NULL, NULL, &err), 0);
    assert_int_equal(lv_driver.snapshot_delete(w->drv, a.id, 0, &err), 0);
    snap_name(a.id, name, sizeof(name));
    assert_false(has_volume(w, name));
    snap_name(b.id, name, sizeof(name));
    assert_true(has_volume(w, name));
    assert_int_equal(lv_driver.snapshot_delete(w->drv, a.id, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.snapshot_delete(w->drv, b.id, 0, &err), 0);
    assert_false(has_volume(w, name));

    /* Unknown sources. */
    ss.source_id = "vol-0000000000000000f";
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &b, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    ss.source_id = "i-0000000000000000f";
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &b, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    ss.source_id = "ami-0000000000000000f";
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &b, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_int_equal(count_snapshots(w), 0);
    cg_snapshot_release(&a);
    cg_snapshot_release(&b);
    cg_volume_release(&vol);
}

static void test_root_disk(void **state)
{
    world *w = *state;
    cg_snapshot_spec ss = {0};
    cg_snapshot snap = {0};
    cg_state_change chg;
    cg_error err = {0};
    char id[24], name[64];

    run_one(w, id);
    ss.source_id = id;
    /* Running: the test driver has no backup API; nothing is left. */
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &snap, &err), 0);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, snap.id, NULL, NULL, NULL, &err), -1);
    cg_error_clear(&err);
    snap_name(snap.id, name, sizeof(name));
    assert_false(has_volume(w, name));
    assert_int_equal(lv_driver.snapshot_delete(w->drv, snap.id, 1, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);
    cg_snapshot_release(&snap);

    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &chg, &err), 0);
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &snap, &err), 0);
    assert_true(snap.size_bytes > 0);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, snap.id, NULL, NULL, NULL, &err), 0);
    snap_name(snap.id, name, sizeof(name));
    assert_true(has_volume(w, name));
    /* Tags through the table the driver's tags_set uses for snap- ids. */
    {
        cg_tags t = {0};
        cg_snapshot_list l = {0};

        assert_int_equal(cg_tags_set(&t, "k", "v"), 0);
        assert_int_equal(lv_driver.tags_set(w->drv, snap.id, &t, &err), 0);
        assert_int_equal(lv_driver.snapshot_list(w->drv, &l, &err), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(cg_tags_get(&l.v[0].tags, "k"), "v");
        cg_snapshot_list_release(&l);
        assert_int_equal(lv_driver.tags_delete(w->drv, snap.id, &t, &err), 0);
        assert_int_equal(lv_driver.snapshot_list(w->drv, &l, &err), 0);
        assert_int_equal(l.v[0].tags.n, 0);
        cg_snapshot_list_release(&l);
        cg_tags_release(&t);
    }
    assert_int_equal(lv_driver.snapshot_delete(w->drv, snap.id, 0, &err), 0);
    assert_false(has_volume(w, name));
    cg_snapshot_release(&snap);
}

/* A completed snapshot of a new empty volume of gib GiB; its id into sid. */
static void completed_snapshot(world *w, unsigned gib, char *sid)
{
    cg_volume_spec vs = {.size_bytes = (unsigned long long)gib << 30};
    cg_snapshot_spec ss = {0};
    cg_volume vol = {0};
    cg_snapshot snap = {0};
    cg_error err = {0};

    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &vol, &err), 0);
    ss.source_id = vol.id;
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &snap, &err), 0);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, snap.id, NULL, NULL, NULL, &err), 0);
    assert_int_equal(lv_driver.volume_delete(w->drv, vol.id, &err), 0);
    snprintf(sid, 24, "%s", snap.id);
    cg_snapshot_release(&snap);
    cg_volume_release(&vol);
}

/* An image's further disks: checked and kept with it, listed, holding
 * their snapshots until it is deregistered. */
static void test_image_further_disks(void **state)
{
    world *w = *state;
    char root[24], data[24];
    cg_image_mapping maps[2] = {{.device = "vdb", .delete_on_termination = 1},
                                {.device = "vdc", .size_bytes = 3ULL << 30}};
    cg_image_spec spec = {.name = "with-disks", .mappings = maps, .n_mappings = 2};
    cg_image img = {0};
    cg_image_list l = {0};
    cg_error err = {0};
    size_t i;

    completed_snapshot(w, 1, root);
    completed_snapshot(w, 2, data);
    spec.snapshot_id = root;
    /* A snapshot that is not there, then one too small for its size. */
    snprintf(maps[0].snapshot_id, sizeof(maps[0].snapshot_id), "snap-0000000000000000f");
    assert_int_equal(lv_driver.image_register(w->drv, &spec, &img, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    snprintf(maps[0].snapshot_id, sizeof(maps[0].snapshot_id), "%s", data);
    maps[0].size_bytes = 1ULL << 30;
    assert_int_equal(lv_driver.image_register(w->drv, &spec, &img, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    snprintf(maps[1].device, sizeof(maps[1].device), "vdb");
    maps[0].size_bytes = 0;
    assert_int_equal(lv_driver.image_register(w->drv, &spec, &img, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID); /* vdb twice */
    cg_error_clear(&err);
    snprintf(maps[1].device, sizeof(maps[1].device), "vdc");
    assert_int_equal(lv_driver.image_register(w->drv, &spec, &img, &err), 0);

    /* Read back from the store: the snapshot's size filled in. */
    assert_int_equal(lv_driver.image_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n && strcmp(l.v[i].id, img.id) != 0; i++)
        ;
    assert_true(i < l.n);
    assert_int_equal(l.v[i].n_mappings, 2);
    assert_string_equal(l.v[i].mappings[0].device, "vdb");
    assert_string_equal(l.v[i].mappings[0].snapshot_id, data);
    assert_true(l.v[i].mappings[0].size_bytes == 2ULL << 30);
    assert_int_equal(l.v[i].mappings[0].delete_on_termination, 1);
    assert_string_equal(l.v[i].mappings[1].snapshot_id, "");
    assert_true(l.v[i].mappings[1].size_bytes == 3ULL << 30);
    assert_int_equal(l.v[i].mappings[1].delete_on_termination, 0);
    cg_image_list_release(&l);

    /* The image holds its disks' snapshot, until it goes. */
    assert_int_equal(lv_driver.snapshot_delete(w->drv, data, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    assert_non_null(strstr(err.message, img.id));
    cg_error_clear(&err);
    assert_int_equal(lv_driver.image_deregister(w->drv, img.id, &err), 0);
    assert_int_equal(lv_driver.snapshot_delete(w->drv, data, 0, &err), 0);
    assert_int_equal(lv_driver.snapshot_delete(w->drv, root, 0, &err), 0);
    cg_image_release(&img);
}

/* What a launch makes of an image's further disks and the request's own. */
static void test_launch_disks_merge(void **state)
{
    cg_image_mapping maps[3] = {
        {.device = "vdb",
         .snapshot_id = "snap-0000000000000000b",
         .size_bytes = 2ULL << 30,
         .delete_on_termination = 1},
        {.device = "vdc", .size_bytes = 3ULL << 30},
        {.device = "vdd", .snapshot_id = "snap-0000000000000000d", .size_bytes = 1ULL << 30}};
    cg_image img = {.mappings = maps, .n_mappings = 3};
    cg_tags mine = {0}, all = {0};
    cg_launch_disk asked[4] = {
        {.device = "vdb", .no_device = 1},
        {.device = "vdc", .size_bytes = 4ULL << 30, .delete_on_termination = 1, .tags = &mine},
        {.device = "vde", .size_bytes = 1ULL << 30},
        {.device = "vdf", .no_device = 1}};
    cg_launch_spec spec = {.disks = asked, .n_disks = 4, .volume_tags = &all};
    cg_launch_disk *d;
    size_t n;

    (void)state;
    assert_int_equal(lv_launch_disks_merge(&img, &spec, &d, &n), 0);
    assert_int_equal(n, 3); /* vdb dropped, vdc changed, vdd as is, vde added */
    assert_string_equal(d[0].device, "vdc");
    assert_true(d[0].size_bytes == 4ULL << 30 && d[0].delete_on_termination == 1);
    assert_null(d[0].snapshot_id);
    assert_ptr_equal(d[0].tags, &mine);
    assert_string_equal(d[1].device, "vdd");
    assert_string_equal(d[1].snapshot_id, "snap-0000000000000000d");
    assert_int_equal(d[1].delete_on_termination, 0);
    assert_ptr_equal(d[1].tags, &all);
    assert_string_equal(d[2].device, "vde");
    assert_null(d[2].snapshot_id);
    assert_ptr_equal(d[2].tags, &all);
    free(d);

    /* Only DeleteOnTermination asked: snapshot and size from the image. */
    asked[0] = (cg_launch_disk){.device = "vdb"};
    spec.n_disks = 1;
    spec.volume_tags = NULL;
    assert_int_equal(lv_launch_disks_merge(&img, &spec, &d, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(d[0].device, "vdb");
    assert_string_equal(d[0].snapshot_id, "snap-0000000000000000b");
    assert_true(d[0].size_bytes == 2ULL << 30);
    assert_int_equal(d[0].delete_on_termination, 0);
    assert_null(d[0].tags);
    free(d);

    /* Neither: nothing made. */
    img.n_mappings = 0;
    spec.n_disks = 0;
    assert_int_equal(lv_launch_disks_merge(&img, &spec, &d, &n), 0);
    assert_int_equal(n, 0);
    assert_null(d);
}

/* A DeleteSnapshot killed after its row went (intent left): start-up
 * removes the volume; a snapshot whose row is still there keeps its own. */
static void test_reconcile_delete(void **state)
{
    world *w = *state;
    cg_volume_spec vs = {.size_bytes = 1ULL << 30};
    cg_volume vol = {0};
    cg_snapshot_spec ss = {0};
    cg_snapshot kept = {0}, lost = {0};
    cg_error err = {0};
    virConnectPtr conn;
    char kname[64], lname[64];

    assert_int_equal(lv_driver.volume_create(w->drv, &vs, &vol, &err), 0);
    ss.source_id = vol.id;
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &kept, &err), 0);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, kept.id, NULL, NULL, NULL, &err), 0);
    assert_int_equal(lv_driver.snapshot_create_pending(w->drv, &ss, &lost, &err), 0);
    assert_int_equal(lv_driver.snapshot_copy(w->drv, lost.id, NULL, NULL, NULL, &err), 0);
    snap_name(kept.id, kname, sizeof(kname));
    snap_name(lost.id, lname, sizeof(lname));
    assert_int_equal(lv_intent_add(w->drv->state, LV_INTENT_VOLUME, kept.id, ZONE, kname,
                                   &err), 0);
    assert_int_equal(lv_intent_add(w->drv->state, LV_INTENT_VOLUME, lost.id, ZONE, lname,
                                   &err), 0);
    assert_int_equal(lv_snapstate_delete(w->drv->state, lost.id, 0, &err), 1);

    conn = zone_conn(w);
    lv_reconcile_zone(lv_drv_find_zone(w->drv, ZONE), conn, 1, w->drv);
    virConnectClose(conn);
    assert_false(has_volume(w, lname));
    assert_true(has_volume(w, kname));
    assert_int_equal(count_snapshots(w), 1);
    cg_snapshot_release(&kept);
    cg_snapshot_release(&lost);
    cg_volume_release(&vol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_volume_snapshot_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_cancel_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_further_disks, setup, teardown),
        cmocka_unit_test(test_launch_disks_merge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
