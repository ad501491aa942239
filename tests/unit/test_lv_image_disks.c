/* Unit tests: a template's further disks made by a job (lv_imagework.c's
 * disk sink with a device, lv_images.c's discard of a pending image),
 * against libvirt's test driver, which keeps volumes without contents: the
 * bytes are tested on real guests (tests/system/test_v2v_ova_qemu.py,
 * test_snapshots_qemu.py).  The fixtures are in lv_world.c. */
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
#include "gateway/log.h"

#include "lv_world.h"

#define GIB (1ULL << 30)

/* A pending template (its id into id) with an empty root disk. */
static void pending_with_root(world *w, const char *name, char *id)
{
    cg_pending_image_spec ps = {.name = name, .job_id = "job-00000000000000001"};
    cg_sink_spec ss = {.format = "qcow2", .virtual_size = GIB};
    cg_disk_sink *sink = NULL;
    cg_image img;
    cg_error err = {0};

    assert_int_equal(lv_driver.image_create_pending(w->drv, &ps, &img, &err), 0);
    snprintf(id, 24, "%s", img.id);
    cg_image_release(&img);
    ss.image_id = id;
    assert_int_equal(lv_driver.disk_sink_open(w->drv, &ss, &sink, &err), 0);
    assert_int_equal(lv_driver.disk_sink_finish(w->drv, sink, NULL, 0, &err), 0);
}

/* Store a further disk of image id on device; its snapshot's id into sid
 * (24 bytes).  The sink's result. */
static int further(world *w, const char *id, const char *device, char *sid, cg_error *err)
{
    cg_sink_spec ss = {
        .image_id = id, .device = device, .format = "qcow2", .virtual_size = 2 * GIB};
    cg_disk_sink *sink = NULL;

    if (lv_driver.disk_sink_open(w->drv, &ss, &sink, err) < 0)
        return -1;
    return lv_driver.disk_sink_finish(w->drv, sink, sid, 24, err);
}

/* Snapshot sid from snapshot_list into out; 0 when absent. */
static int find_snapshot(world *w, const char *sid, cg_snapshot *out)
{
    cg_snapshot_list sl = {0};
    cg_error err = {0};
    size_t i;
    int found = 0;

    assert_int_equal(lv_driver.snapshot_list(w->drv, &sl, &err), 0);
    for (i = 0; i < sl.n && !found; i++)
        if (strcmp(sl.v[i].id, sid) == 0)
            found = cg_snapshot_copy(out, &sl.v[i]) == 0;
    cg_snapshot_list_release(&sl);
    return found;
}

/* Image id from image_list into out; 0 when absent. */
static int find_image(world *w, const char *id, cg_image *out)
{
    cg_image_list il = {0};
    cg_error err = {0};
    size_t i;
    int found = 0;

    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    for (i = 0; i < il.n && !found; i++)
        if (strcmp(il.v[i].id, id) == 0)
            found = cg_image_copy(out, &il.v[i]) == 0;
    cg_image_list_release(&il);
    return found;
}

static void vol_name(const char *sid, char *buf, size_t len)
{
    snprintf(buf, len, "%s.qcow2", sid);
}

static void test_further_disk_is_a_mapped_snapshot(void **state)
{
    world *w = *state;
    cg_snapshot snap;
    cg_image img;
    cg_error err = {0};
    char id[24], sid[24], name[64];
    static const char *const bad[] = {"vda", "sdb", "vdbb", "vd{", ""};
    size_t i;

    pending_with_root(w, "two-disks", id);
    assert_int_equal(further(w, id, "vdb", sid, &err), 0);
    assert_memory_equal(sid, "snap-", 5);
    vol_name(sid, name, sizeof(name));
    assert_true(has_volume(w, name));

    assert_true(find_image(w, id, &img));
    assert_int_equal(img.n_mappings, 1);
    assert_string_equal(img.mappings[0].device, "vdb");
    assert_string_equal(img.mappings[0].snapshot_id, sid);
    assert_true(img.mappings[0].size_bytes == 2 * GIB);
    assert_int_equal(img.mappings[0].delete_on_termination, 1);
    cg_image_release(&img);

    assert_true(find_snapshot(w, sid, &snap));
    assert_string_equal(snap.state, "completed");
    assert_string_equal(snap.zone, ZONE);
    assert_string_equal(snap.volume_id, "vol-ffffffff");
    assert_true(snap.size_bytes == 2 * GIB);
    assert_non_null(strstr(snap.description, id));
    cg_snapshot_release(&snap);

    /* Refused devices make nothing. */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char none[24] = "";

        cg_error_clear(&err);
        assert_int_equal(further(w, id, bad[i], none, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INVALID);
    }
    assert_int_equal(count_volumes_named(w, "snap-"), 1);

    /* An aborted one leaves neither row nor volume. */
    {
        cg_sink_spec ss = {.image_id = id, .device = "vdc", .format = "qcow2", .virtual_size = GIB};
        cg_disk_sink *sink = NULL;

        assert_int_equal(lv_driver.disk_sink_open(w->drv, &ss, &sink, &err), 0);
        assert_int_equal(count_volumes_named(w, "snap-"), 2);
        lv_driver.disk_sink_abort(w->drv, sink);
        assert_int_equal(count_volumes_named(w, "snap-"), 1);
        assert_true(find_image(w, id, &img));
        assert_int_equal(img.n_mappings, 1);
        cg_image_release(&img);
    }

    /* Discarding the pending image (a failed job) takes its further disk. */
    assert_int_equal(lv_driver.image_discard(w->drv, id, &err), 0);
    assert_false(find_image(w, id, &img));
    assert_false(find_snapshot(w, sid, &snap));
    assert_false(has_volume(w, name));
}

static void test_published_image_keeps_its_snapshots(void **state)
{
    world *w = *state;
    cg_snapshot snap;
    cg_image img;
    cg_error err = {0};
    char id[24], sid[24], name[64];

    pending_with_root(w, "published", id);
    assert_int_equal(further(w, id, "vdc", sid, &err), 0);
    assert_int_equal(lv_driver.image_publish(w->drv, id, &err), 0);
    assert_true(find_image(w, id, &img));
    assert_string_equal(img.state, "available");
    cg_image_release(&img);
    /* Not a pending image's any more: a further disk cannot be added. */
    assert_int_equal(further(w, id, "vdd", (char[24]){0}, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    /* In use while the image lives; kept after it, as in EC2. */
    cg_error_clear(&err);
    assert_int_equal(lv_driver.snapshot_delete(w->drv, sid, 0, &err), -1);
    assert_int_equal(lv_driver.image_deregister(w->drv, id, &err), 0);
    assert_true(find_snapshot(w, sid, &snap));
    cg_snapshot_release(&snap);
    vol_name(sid, name, sizeof(name));
    assert_true(has_volume(w, name));
    assert_int_equal(lv_driver.snapshot_delete(w->drv, sid, 0, &err), 0);
    assert_false(has_volume(w, name));
}

int main(void)
{
    cg_log_init(NULL, CG_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_further_disk_is_a_mapped_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_published_image_keeps_its_snapshots, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
