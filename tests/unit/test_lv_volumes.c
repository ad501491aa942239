/* Unit tests: pause/suspend, image capture and volumes in the libvirt driver
 * (lv_power.c, lv_capture.c, lv_volumes.c, lv_volstate.c) against libvirt's
 * test driver.  That driver has virDomainSuspend/Resume and managed save,
 * and copies volumes (virStorageVolCreateXMLFrom), but has neither
 * virDomainAttachDeviceFlags nor block copy: attaching and capturing a
 * running instance are tested here through their failure paths (nothing
 * may change), and for real in tests/system/test_volumes_capture_qemu.py.
 * The fixtures are in lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_driver.h"
#include "gateway/store.h"
#include "gateway/log.h"

#include "lv_world.h"

static cg_instance_sub sub_of(world *w, const char *id)
{
    cg_instance inst;
    cg_instance_sub sub;

    assert_true(find(w, id, &inst));
    sub = inst.sub;
    cg_instance_release(&inst);
    return sub;
}

static int managed_save(world *w, const char *id)
{
    virConnectPtr conn = zone_conn(w);
    virDomainPtr dom = virDomainLookupByName(conn, id);
    int rc;

    assert_non_null(dom);
    rc = virDomainHasManagedSaveImage(dom, 0);
    virDomainFree(dom);
    virConnectClose(conn);
    return rc;
}

static void test_pause_resume(void **state)
{
    world *w = *state;
    cg_state_change chg;
    cg_error err = {0};
    char id[24];

    run_one(w, id);
    assert_int_equal(sub_of(w, id), CG_SUB_NONE);
    assert_int_equal(lv_driver.instance_pause(w->drv, id, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);
    assert_int_equal(sub_of(w, id), CG_SUB_PAUSED);
    assert_int_equal(lv_driver.instance_pause(w->drv, id, &err), 0);   /* again: no-op */
    /* The SUSPENDED event re-read by the host's thread keeps it paused. */
    usleep(300000);
    assert_int_equal(sub_of(w, id), CG_SUB_PAUSED);

    assert_int_equal(lv_driver.instance_start(w->drv, id, &chg, &err), 0);
    assert_int_equal(chg.current, CG_STATE_RUNNING);
    assert_int_equal(sub_of(w, id), CG_SUB_NONE);
    usleep(300000);
    assert_int_equal(sub_of(w, id), CG_SUB_NONE);

    /* A paused instance still stops (force). */
    assert_int_equal(lv_driver.instance_pause(w->drv, id, &err), 0);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &chg, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_STOPPED);
    assert_int_equal(sub_of(w, id), CG_SUB_NONE);
    assert_int_equal(lv_driver.instance_pause(w->drv, id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_pause(w->drv, "i-0000000000000000f", &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

/* Wait up to EVENT_WAIT_SECONDS for the event thread to show sub for id. */
static void wait_sub(world *w, const char *id, cg_instance_sub sub)
{
    int i;

    for (i = 0; i < EVENT_WAIT_SECONDS * 10 && sub_of(w, id) != sub; i++)
        usleep(100000);
    assert_int_equal(sub_of(w, id), sub);
}

/* Paused or saved behind cloudgate's back: the events keep the cache true. */
static void test_sub_from_events(void **state)
{
    world *w = *state;
    virConnectPtr conn;
    virDomainPtr dom;
    char id[24];

    run_one(w, id);
    conn = zone_conn(w);
    assert_non_null(dom = virDomainLookupByName(conn, id));
    assert_int_equal(virDomainSuspend(dom), 0);
    wait_sub(w, id, CG_SUB_PAUSED);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);
    assert_int_equal(virDomainResume(dom), 0);
    wait_sub(w, id, CG_SUB_NONE);
    assert_int_equal(virDomainManagedSave(dom, 0), 0);
    wait_state(w, id, CG_STATE_STOPPED);
    wait_sub(w, id, CG_SUB_SUSPENDED);
    assert_int_equal(virDomainManagedSaveRemove(dom, 0), 0);
    virDomainFree(dom);
    virConnectClose(conn);
}

static void test_suspend_start(void **state)
{
    world *w = *state;
    cg_instance_type big = {.name = "t2.large", .vcpus = 2, .memory_mib = 1024};
    cg_instance_change chg = {.disable_api_termination = -1, .type = &big};
    cg_state_change sc;
    cg_error err = {0};
    char id[24];

    run_one(w, id);
    assert_int_equal(lv_driver.instance_pause(w->drv, id, &err), 0);
    assert_int_equal(lv_driver.instance_suspend(w->drv, id, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_STOPPED);
    assert_int_equal(sub_of(w, id), CG_SUB_SUSPENDED);
    assert_int_equal(managed_save(w, id), 1);
    assert_int_equal(lv_driver.instance_suspend(w->drv, id, &err), 0);   /* again: no-op */
    usleep(300000);
    assert_int_equal(sub_of(w, id), CG_SUB_SUSPENDED);

    /* The saved memory would keep the old size: refused. */
    assert_int_equal(lv_driver.instance_modify(w->drv, id, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);

    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);
    assert_int_equal(sub_of(w, id), CG_SUB_NONE);
    assert_int_equal(managed_save(w, id), 0);

    /* Terminating a suspended instance removes its save image with it. */
    assert_int_equal(lv_driver.instance_suspend(w->drv, id, &err), 0);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &sc, &err), 0);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);

    /* Only running instances suspend. */
    run_one(w, id);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &sc, &err), 0);
    assert_int_equal(lv_driver.instance_suspend(w->drv, id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
}

/* ---- volumes ---- */

static void create_volume(world *w, const char *format, cg_volume *out)
{
    cg_tag tag = {.key = "Name", .value = "data"};
    cg_tags tags = {.v = &tag, .n = 1};
    cg_volume_spec spec = {.name = "data", .description = "scratch", .size_bytes = 1000000,
                           .format = format, .tags = &tags};
    cg_error err = {0};

    if (lv_driver.volume_create(w->drv, &spec, out, &err) < 0)
        fail_msg("volume_create: %s", err.message);
}

static cg_volume *listed(cg_volume_list *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    }
    return NULL;
}

/* The state the volume list shows for id ("" when absent). */
static const char *vol_state(world *w, const char *id)
{
    static char st[16];
    cg_volume_list l = {0};
    cg_error err = {0};
    cg_volume *v;

    assert_int_equal(lv_driver.volume_list(w->drv, &l, &err), 0);
    v = listed(&l, id);
    snprintf(st, sizeof(st), "%s", v ? v->state : "");
    cg_volume_list_release(&l);
    return st;
}

static void test_volume_create_list_delete(void **state)
{
    world *w = *state;
    cg_volume q, r, *v;
    cg_volume_list l = {0};
    cg_volume_spec bad = {.size_bytes = 0};
    char name[64];
    cg_error err = {0};

    create_volume(w, NULL, &q);
    create_volume(w, "raw", &r);
    assert_true(strncmp(q.id, "vol-", 4) == 0 && strlen(q.id) == 21);
    assert_string_equal(q.state, "available");
    assert_string_equal(q.zone, ZONE);
    assert_string_equal(q.format, "qcow2");
    assert_true(q.size_bytes == 1048576);   /* rounded up to a MiB */
    snprintf(name, sizeof(name), "%s.qcow2", q.id);
    assert_true(has_volume(w, name));
    snprintf(name, sizeof(name), "%s.img", r.id);
    assert_true(has_volume(w, name));

    assert_int_equal(lv_driver.volume_list(w->drv, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_non_null(v = listed(&l, q.id));
    assert_string_equal(v->name, "data");
    assert_string_equal(v->description, "scratch");
    assert_string_equal(cg_tags_get(&v->tags, "Name"), "data");
    assert_string_equal(v->attached_to, "");
    cg_volume_list_release(&l);

    /* Bad requests make nothing. */
    assert_int_equal(lv_driver.volume_create(w->drv, &bad, &q, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    bad.size_bytes = 1 << 20;
    bad.format = "vmdk";
    assert_int_equal(lv_driver.volume_create(w->drv, &bad, &q, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    bad.format = NULL;
    bad.zone = "elsewhere";
    assert_int_equal(lv_driver.volume_create(w->drv, &bad, &q, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);

    assert_int_equal(lv_driver.volume_delete(w->drv, r.id, &err), 0);
    assert_false(has_volume(w, name));
    assert_int_equal(lv_driver.volume_delete(w->drv, r.id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_delete(w->drv, q.id, &err), 0);
    assert_int_equal(lv_driver.volume_list(w->drv, &l, &err), 0);
    assert_int_equal(l.n, 0);
    cg_volume_list_release(&l);
    cg_volume_release(&q);
    cg_volume_release(&r);
}

/* tags_set / tags_delete on a vol- id: the volume_tags rows, all or
 * none, and gone with the volume. */
static void test_volume_tags(void **state)
{
    world *w = *state;
    cg_volume q, got;
    cg_tags t = {0};
    cg_error err = {0};
    sqlite3 *db;
    long long rows = -1;

    create_volume(w, NULL, &q);
    cg_tags_set(&t, "env", "prod");
    cg_tags_set(&t, "Name", "renamed");
    assert_int_equal(lv_driver.tags_set(w->drv, q.id, &t, &err), 0);
    assert_int_equal(lv_volstate_get(w->drv->state, q.id, &got, &err), 1);
    assert_string_equal(cg_tags_get(&got.tags, "Name"), "renamed");
    assert_string_equal(cg_tags_get(&got.tags, "env"), "prod");
    cg_volume_release(&got);

    /* A value that does not match deletes nothing; a NULL value, any. */
    cg_tags_release(&t);
    cg_tags_set(&t, "env", "dev");
    assert_int_equal(lv_driver.tags_delete(w->drv, q.id, &t, &err), 0);
    assert_int_equal(lv_volstate_get(w->drv->state, q.id, &got, &err), 1);
    assert_string_equal(cg_tags_get(&got.tags, "env"), "prod");
    cg_volume_release(&got);
    free(t.v[0].value);
    t.v[0].value = NULL;
    assert_int_equal(lv_driver.tags_delete(w->drv, q.id, &t, &err), 0);
    assert_int_equal(lv_volstate_get(w->drv->state, q.id, &got, &err), 1);
    assert_null(cg_tags_get(&got.tags, "env"));
    assert_int_equal(got.tags.n, 1);
    cg_volume_release(&got);

    assert_int_equal(lv_driver.tags_set(w->drv, "vol-0123456789abcdef0", &t, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_delete(w->drv, q.id, &err), 0);
    db = lv_state_db_lock(w->drv->state);
    assert_int_equal(cg_db_int(db, &err, &rows, "SELECT count(*) FROM volume_tags", NULL), 1);
    lv_state_db_unlock(w->drv->state);
    assert_int_equal(rows, 0); /* ON DELETE CASCADE */
    assert_int_equal(lv_driver.tags_delete(w->drv, q.id, &t, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_tags_release(&t);
    cg_volume_release(&q);
}

static void test_volume_attach_failures(void **state)
{
    world *w = *state;
    cg_volume vol, out;
    cg_state_change sc;
    cg_error err = {0};
    char id[24];

    create_volume(w, NULL, &vol);
    run_one(w, id);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &sc, &err), 0);

    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, "i-0000000000000000f", NULL, &out,
                                             &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_attach(w->drv, "vol-0000000000000000f", id, NULL, &out,
                                             &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, id, "sda", &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, id, "vda", &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    /* The test driver refuses virDomainAttachDeviceFlags: the claim on the
     * row is given back. */
    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, id, NULL, &out, &err), -1);
    cg_error_clear(&err);
    assert_string_equal(vol_state(w, vol.id), "available");
    assert_int_equal(lv_driver.volume_detach(w->drv, vol.id, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    /* The instance was left idle by every failure. */
    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    cg_volume_release(&vol);
}

static void test_volume_in_use(void **state)
{
    world *w = *state;
    cg_volume vol, out;
    cg_state_change sc;
    cg_error err = {0};
    char id[24], other[24];

    create_volume(w, NULL, &vol);
    run_one(w, id);
    run_one(w, other);
    /* As if attached (the test driver cannot attach): the row alone. */
    assert_int_equal(lv_volstate_attach(w->drv->state, vol.id, id, "vdb", &err), 1);
    assert_string_equal(vol_state(w, vol.id), "in-use");
    assert_int_equal(lv_volstate_attach(w->drv->state, vol.id, other, "vdc", &err), 0);
    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, other, NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_delete(w->drv, vol.id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_string_equal(vol_state(w, vol.id), "in-use");

    /* Detach: the domain has no vdb, so only the row changes. */
    assert_int_equal(lv_driver.volume_detach(w->drv, vol.id, &out, &err), 0);
    assert_string_equal(out.state, "available");
    assert_string_equal(out.attached_to, "");
    cg_volume_release(&out);

    /* Terminating the instance keeps the volume and frees it. */
    assert_int_equal(lv_volstate_attach(w->drv->state, vol.id, id, "vdb", &err), 1);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &sc, &err), 0);
    assert_string_equal(vol_state(w, vol.id), "available");
    assert_int_equal(lv_driver.volume_delete(w->drv, vol.id, &err), 0);
    cg_volume_release(&vol);
}

/* ---- capture ---- */

static size_t image_count(world *w)
{
    cg_image_list il = {0};
    cg_error err = {0};
    size_t n;

    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    n = il.n;
    cg_image_list_release(&il);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_capture_stopped(void **state)
{
    world *w = *state;
    char kernel[128], initrd[128], id[24], name[192];
    cg_image_spec direct = {.name = "direct", .volume = "demo.qcow2", .kernel = kernel,
                            .initrd = initrd, .cmdline = "console=ttyS0"};
    cg_capture_spec cap = {.name = "snap", .description = "captured"};
    cg_image img, src;
    cg_instance_list out;
    cg_state_change sc;
    cg_error err = {0};

    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", w->dir);
    snprintf(initrd, sizeof(initrd), "%s/initrd.img", w->dir);
    write_file(kernel, "kernel");
    write_file(initrd, "initrd");
    assert_int_equal(lv_driver.image_register(w->drv, &direct, &src, &err), 0);
    snprintf(w->ami, sizeof(w->ami), "%s", src.id);
    run_one(w, id);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &sc, &err), 0);

    cap.instance_id = id;
    if (lv_driver.image_capture(w->drv, &cap, &img, &err) < 0)
        fail_msg("capture: %s", err.message);
    assert_string_equal(img.state, "available");
    assert_string_equal(img.name, "snap");
    assert_string_equal(img.description, "captured");
    assert_string_equal(img.source_instance, id);
    assert_int_equal(img.display, CG_DISPLAY_HEADLESS);
    assert_string_equal(img.cmdline, "console=ttyS0");
    assert_string_equal(img.seed_format, "nocloud");
    assert_true(img.size_bytes == 512ULL << 20);
    snprintf(name, sizeof(name), "%s/images/%s/kernel", w->dir, img.id);
    assert_string_equal(img.kernel, name);
    assert_int_equal(access(img.kernel, R_OK), 0);
    assert_int_equal(access(img.initrd, R_OK), 0);
    snprintf(name, sizeof(name), "%s.qcow2", img.id);
    assert_true(has_volume(w, name));
    assert_int_equal(image_count(w), 3);

    /* The captured image launches. */
    snprintf(w->ami, sizeof(w->ami), "%s", img.id);
    if (run(w, 1, 1, NULL, NULL, &out, &err) < 0)
        fail_msg("run from the capture: %s", err.message);
    assert_string_equal(out.v[0].image_id, img.id);
    cg_instance_list_release(&out);

    /* A taken name: refused before copying anything. */
    assert_int_equal(lv_driver.image_capture(w->drv, &cap, &src, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    cg_error_clear(&err);
    assert_int_equal(image_count(w), 3);
    cap.name = "";
    assert_int_equal(lv_driver.image_capture(w->drv, &cap, &src, &err), -1);
    assert_int_equal(err.kind, CG_ERR_MISSING);
    cg_error_clear(&err);
    cap.name = "other";
    cap.instance_id = "i-0000000000000000f";
    assert_int_equal(lv_driver.image_capture(w->drv, &cap, &src, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_image_release(&img);
    cg_image_release(&src);
}

static int ami_volumes(world *w)
{
    virConnectPtr conn = zone_conn(w);
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, w->cfg.storage_pool);
    virStorageVolPtr *vols = NULL;
    int i, n, found = 0;

    n = virStoragePoolListAllVolumes(pool, &vols, 0);
    for (i = 0; i < n; i++) {
        found += strncmp(virStorageVolGetName(vols[i]), "ami-", 4) == 0;
        virStorageVolFree(vols[i]);
    }
    free(vols);
    virStoragePoolFree(pool);
    virConnectClose(conn);
    return found;
}

static void test_capture_running_rolls_back(void **state)
{
    world *w = *state;
    cg_capture_spec cap = {.name = "live"};
    cg_image img;
    cg_error err = {0};
    char id[24];

    run_one(w, id);
    cap.instance_id = id;
    /* No block copy on the test driver: the failure must leave the
     * instance running (resumed) and no image, volume or file behind. */
    assert_int_equal(lv_driver.image_capture(w->drv, &cap, &img, &err), -1);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);
    assert_int_equal(sub_of(w, id), CG_SUB_NONE);
    assert_int_equal(image_count(w), 1);
    assert_int_equal(ami_volumes(w), 0);
    /* The instance is free for the next operation. */
    assert_int_equal(lv_driver.instance_pause(w->drv, id, &err), 0);
}

/* A second zone on the same test node (its own private world). */
static int setup_two_zones(void **state)
{
    world *w = calloc(1, sizeof(*w));
    char uri[PATH_MAX + 16];
    cg_zone_config *z;

    assert_non_null(w);
    node_uri(uri, sizeof(uri));
    configure(w, uri, "cloudgate", "cloudgate-isolated");
    assert_non_null(z = realloc(w->cfg.zones, 2 * sizeof(*z)));
    w->cfg.zones = z;
    z[1].name = strdup("cloudgate-b");
    z[1].uri = strdup(uri);
    w->cfg.n_zones = 2;
    w->drv = open_drv(w);
    register_volume(w, "demo", "demo.qcow2", w->ami);
    *state = w;
    return 0;
}

static void test_two_zones(void **state)
{
    world *w = *state;
    cg_volume_spec spec = {.zone = "cloudgate-b", .size_bytes = 1 << 20};
    cg_capture_spec cap = {.name = "snap"};
    cg_state_change sc;
    cg_volume vol, out;
    cg_image img;
    cg_error err = {0};
    char id[24];

    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &vol, &err), 0);
    assert_string_equal(vol.zone, "cloudgate-b");
    run_one(w, id);   /* in zone a */
    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, id, NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_string_equal(vol_state(w, vol.id), "available");

    /* A suspended instance keeps its devices. */
    assert_int_equal(lv_driver.instance_suspend(w->drv, id, &err), 0);
    spec.zone = ZONE;
    cg_volume_release(&vol);
    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &vol, &err), 0);
    assert_int_equal(lv_driver.volume_attach(w->drv, vol.id, id, NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);

    /* Capture must reach zone b too; the test driver cannot carry the
     * bytes there, so it fails, and the copy made in zone a goes again. */
    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &sc, &err), 0);
    cap.instance_id = id;
    assert_int_equal(lv_driver.image_capture(w->drv, &cap, &img, &err), -1);
    assert_int_equal(ami_volumes(w), 0);
    assert_int_equal(image_count(w), 1);
    cg_volume_release(&vol);
}

int main(void)
{
    cg_log_init(NULL, CG_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_from_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_create_list_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_attach_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_running_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_zones, setup_two_zones, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
