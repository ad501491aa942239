/* Unit tests: the libvirt driver against libvirt's test driver: images and
 * the instance lifecycle (attributes: test_lv_attrs.c).  The fixtures are in
 * lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <sqlite3.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_cache.h"
#include "drivers/libvirt/lv_domxml.h"
#include "drivers/libvirt/lv_driver.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/util.h"

#include "lv_world.h"

/* ---- tests ---- */

static void test_zones(void **state)
{
    world *w = *state;
    cg_zone_list zl = {0};
    cg_error err = {0};

    assert_int_equal(lv_driver.zone_list(w->drv, &zl, &err), 0);
    assert_int_equal(zl.n, 1);
    assert_string_equal(zl.v[0].name, ZONE);
    assert_string_equal(zl.v[0].state, "available");
    cg_zone_list_release(&zl);
}

static void test_images(void **state)
{
    world *w = *state;
    cg_image_spec missing = {.name = "nope", .volume = "missing.qcow2"};
    cg_image_spec dup = {.name = "demo", .volume = "demo.qcow2"};
    cg_image_list il = {0};
    cg_tags tags = {0};
    cg_image img;
    cg_error err = {0};

    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    assert_int_equal(il.n, 1);
    assert_string_equal(il.v[0].id, w->ami);
    assert_string_equal(il.v[0].name, "demo");
    assert_string_equal(il.v[0].description, "demo");
    assert_string_equal(il.v[0].volume, "demo.qcow2");
    assert_string_equal(il.v[0].state, "available");
    assert_string_equal(il.v[0].architecture, "x86_64");
    assert_true(il.v[0].size_bytes == 512ULL << 20);
    assert_null(il.v[0].kernel);
    assert_string_equal(il.v[0].seed_format, "nocloud");
    cg_image_list_release(&il);

    /* The seed format: stored and listed; anything else refused. */
    {
        cg_image_spec cd = {.name = "cd", .volume = "demo.qcow2", .seed_format = "configdrive"};

        assert_int_equal(lv_driver.image_register(w->drv, &cd, &img, &err), 0);
        assert_string_equal(img.seed_format, "configdrive");
        assert_int_equal(lv_driver.image_deregister(w->drv, img.id, &err), 0);
        cg_image_release(&img);
        assert_int_equal(lv_driver.image_register(w->drv, &cd, &img, &err), 0);
        assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
        assert_int_equal(il.n, 2);
        assert_string_equal(il.v[1].seed_format, "configdrive");
        cg_image_list_release(&il);
        assert_int_equal(lv_driver.image_deregister(w->drv, img.id, &err), 0);
        cg_image_release(&img);
        cd.seed_format = "vfat";
        assert_int_equal(lv_driver.image_register(w->drv, &cd, &img, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INVALID);
        cg_error_clear(&err);
    }

    assert_int_equal(lv_driver.image_register(w->drv, &missing, &img, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.image_register(w->drv, &dup, &img, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    cg_error_clear(&err);

    assert_int_equal(cg_tags_set(&tags, "Name", "web"), 0);
    assert_int_equal(cg_tags_set(&tags, "env", "test"), 0);
    assert_int_equal(lv_driver.tags_set(w->drv, w->ami, &tags, &err), 0);
    cg_tags_release(&tags);
    assert_int_equal(cg_tags_set(&tags, "env", "other"), 0);   /* value differs: kept */
    assert_int_equal(lv_driver.tags_delete(w->drv, w->ami, &tags, &err), 0);
    cg_tags_release(&tags);
    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    assert_int_equal(il.v[0].tags.n, 2);
    assert_string_equal(cg_tags_get(&il.v[0].tags, "Name"), "web");
    cg_image_list_release(&il);
    assert_int_equal(lv_driver.tags_set(w->drv, "ami-00000000000000000", &tags, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);

    assert_int_equal(lv_driver.image_deregister(w->drv, w->ami, &err), 0);
    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    assert_int_equal(il.n, 0);
    cg_image_list_release(&il);
    assert_int_equal(lv_driver.image_deregister(w->drv, w->ami, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

/* Deregistering is refused while an instance that is not terminated uses
 * the image (its disk is an overlay on the template's volume); afterwards an
 * uploaded volume goes from the pool. */
static void test_deregister_in_use(void **state)
{
    world *w = *state;
    cg_image_spec spec = {.name = "uploaded"};
    cg_state_change chg;
    cg_error err = {0};
    cg_instance inst;
    cg_image img;
    char path[128], ami[24], keep[24], id[24], vol[64];
    FILE *f;

    snprintf(path, sizeof(path), "%s/disk.raw", w->dir);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
    fclose(f);
    spec.disk_path = path;
    if (lv_driver.image_register(w->drv, &spec, &img, &err) < 0)
        fail_msg("register: %s", err.message);
    snprintf(ami, sizeof(ami), "%s", img.id);
    snprintf(vol, sizeof(vol), "%s", img.volume);
    cg_image_release(&img);
    assert_true(has_volume(w, vol));
    /* run_one launches w->ami. */
    snprintf(keep, sizeof(keep), "%s", w->ami);
    snprintf(w->ami, sizeof(w->ami), "%s", ami);
    assert_int_equal(lv_state_image_get(w->drv->state, ami, &img, NULL, &err), 1);
    assert_int_equal(img.last_launched, 0);
    cg_image_release(&img);
    run_one(w, id);
    snprintf(w->ami, sizeof(w->ami), "%s", keep);
    /* The launch is recorded with the image (EC2 lastLaunchedTime). */
    assert_true(find(w, id, &inst));
    assert_int_equal(lv_state_image_get(w->drv->state, ami, &img, NULL, &err), 1);
    assert_true(img.last_launched > 0 && img.last_launched == inst.launch_time);
    cg_image_release(&img);
    cg_instance_release(&inst);
    assert_int_equal(lv_driver.image_deregister(w->drv, ami, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_non_null(strstr(err.message, id));
    cg_error_clear(&err);
    assert_true(has_volume(w, vol));
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &chg, &err), 0);
    assert_int_equal(lv_driver.image_deregister(w->drv, ami, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &chg, &err), 0);
    if (lv_driver.image_deregister(w->drv, ami, &err) < 0)
        fail_msg("deregister: %s", err.message);
    assert_false(has_volume(w, vol));
}

/* image_modify: description and launch permissions, read back. */
static void test_image_modify(void **state)
{
    world *w = *state;
    const char *add[] = {"444455556666", "111122223333", "444455556666"};
    const char *remove[] = {"444455556666", "999999999999"};
    const char *bad[] = {"1234"};
    cg_image_change chg = {
        .set_public = 1, .add_users = add, .n_add_users = 3, .description = "new"};
    cg_error err = {0};
    cg_image img, stale;

    assert_int_equal(lv_state_image_get(w->drv->state, w->ami, &stale, NULL, &err), 1);
    assert_int_equal(lv_driver.image_modify(w->drv, w->ami, &chg, &img, &err), 0);
    assert_string_equal(img.description, "new");
    assert_int_equal(img.is_public, 1);
    assert_string_equal(img.launch_users, "111122223333 444455556666");
    cg_image_release(&img);
    /* A capture job rewrites the row from what it read before: the
     * attributes changed meanwhile stay. */
    assert_int_equal(lv_state_image_replace(w->drv->state, &stale, &err), 0);
    cg_image_release(&stale);
    assert_int_equal(lv_state_image_get(w->drv->state, w->ami, &img, NULL, &err), 1);
    assert_string_equal(img.description, "new");
    assert_int_equal(img.is_public, 1);
    assert_string_equal(img.launch_users, "111122223333 444455556666");
    cg_image_release(&img);
    chg = (cg_image_change){.set_public = -1, .remove_users = remove, .n_remove_users = 2};
    assert_int_equal(lv_driver.image_modify(w->drv, w->ami, &chg, &img, &err), 0);
    assert_string_equal(img.description, "new");
    assert_int_equal(img.is_public, 1);
    assert_string_equal(img.launch_users, "111122223333");
    cg_image_release(&img);
    /* Refused whole: nothing changes. */
    chg = (cg_image_change){.set_public = 0, .add_users = bad, .n_add_users = 1};
    assert_int_equal(lv_driver.image_modify(w->drv, w->ami, &chg, NULL, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    chg = (cg_image_change){.set_public = -1, .reset_launch = 1, .description = ""};
    assert_int_equal(lv_driver.image_modify(w->drv, w->ami, &chg, &img, &err), 0);
    assert_null(img.description);
    assert_int_equal(img.is_public, 0);
    assert_null(img.launch_users);
    cg_image_release(&img);
    assert_int_equal(lv_driver.image_modify(w->drv, "ami-00000000000000000", &chg, NULL, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

/* The images table before the launch-permission columns, with one image. */
static const char old_images[] =
    "CREATE TABLE images (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,"
    " volume TEXT NOT NULL, owned INTEGER NOT NULL DEFAULT 0, kernel TEXT, initrd TEXT,"
    " cmdline TEXT, architecture TEXT NOT NULL, state TEXT NOT NULL,"
    " created INTEGER NOT NULL, size INTEGER NOT NULL);"
    "INSERT INTO images (id, name, volume, architecture, state, created, size) VALUES"
    " ('ami-0123456789abcdef0', 'old', 'demo.qcow2', 'x86_64', 'available', 1, 2);";

/* A database made before the launch-permission columns: opening it adds
 * them, and its images read as private, never launched. */
static void test_image_columns_migrate(void **state)
{
    world w = {0};
    lv_state *st;
    sqlite3 *db;
    cg_error err = {0};
    cg_image img;
    char path[128], uri[PATH_MAX + 16];

    (void)state;
    node_uri(uri, sizeof(uri));
    configure(&w, uri, "cloudgate", "cloudgate-isolated");
    snprintf(path, sizeof(path), "%s/cloudgate.db", w.dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, old_images, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_non_null(st = lv_state_open(&w.cfg, &err));
    assert_int_equal(lv_state_image_get(st, "ami-0123456789abcdef0", &img, NULL, &err), 1);
    assert_string_equal(img.name, "old");
    assert_int_equal(img.is_public, 0);
    assert_null(img.launch_users);
    assert_int_equal(img.last_launched, 0);
    cg_image_release(&img);
    assert_int_equal(
        lv_state_image_set_access(st, "ami-0123456789abcdef0", "d", 1, "111122223333", &err), 0);
    assert_int_equal(lv_state_image_get(st, "ami-0123456789abcdef0", &img, NULL, &err), 1);
    assert_int_equal(img.is_public, 1);
    assert_string_equal(img.launch_users, "111122223333");
    cg_image_release(&img);
    lv_state_close(st);
    cg_config_release(&w.cfg);
    nftw(w.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_run_and_list(void **state)
{
    world *w = *state;
    cg_instance_list out, l = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    cg_instance a, b;
    unsigned char *ud = NULL;
    size_t len = 0;
    virConnectPtr conn;
    virDomainPtr dom;
    char *md;
    cg_tag name_tag = {.key = "Name", .value = NULL};
    const cg_tags any_name = {.v = &name_tag, .n = 1};

    assert_int_equal(cg_tags_set(&tags, "Name", "pair"), 0);
    if (run(w, 2, 2, NULL, &tags, &out, &err) < 0)
        fail_msg("run: %s", err.message);
    cg_tags_release(&tags);
    assert_int_equal(out.n, 2);
    /* Answered pending (settle checks), running once launched. */
    assert_int_equal(out.v[0].state, CG_STATE_RUNNING);
    assert_true(strncmp(out.v[0].id, "i-", 2) == 0 && strlen(out.v[0].id) == 19);
    assert_true(strncmp(out.v[0].reservation_id, "r-", 2) == 0);
    assert_string_equal(out.v[0].reservation_id, out.v[1].reservation_id);
    assert_string_not_equal(out.v[0].id, out.v[1].id);
    assert_int_equal(out.v[0].ami_launch_index, 0);
    assert_int_equal(out.v[1].ami_launch_index, 1);
    assert_true(strncmp(out.v[0].mac, "52:54:00:", 9) == 0);

    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    assert_int_equal(l.n, 2);
    cg_instance_list_release(&l);
    assert_true(find(w, out.v[0].id, &a));
    assert_true(find(w, out.v[1].id, &b));
    assert_int_equal(a.state, CG_STATE_RUNNING);
    assert_int_equal(b.state, CG_STATE_RUNNING);
    assert_string_equal(a.zone, ZONE);
    assert_string_equal(a.image_id, w->ami);
    assert_string_equal(a.instance_type, "t2.micro");
    assert_string_equal(a.key_name, "mykey");
    assert_string_equal(a.mac, out.v[0].mac);
    assert_int_equal(a.memory_mib, 512);
    assert_int_equal(a.vcpus, 1);
    assert_string_equal(cg_tags_get(&a.tags, "Name"), "pair");
    cg_instance_release(&b);

    assert_int_equal(count_domains(w), 2);
    /* An overlay and a cloud-init seed each, the seed as a read-only CD-ROM. */
    assert_int_equal(count_volumes(w), 4);
    for (size_t i = 0; i < 2; i++) {
        char seed[64], *xml;

        snprintf(seed, sizeof(seed), "%s-seed.iso", out.v[i].id);
        assert_true(has_volume(w, seed));
        xml = domain_xml(w, out.v[i].id);
        assert_non_null(strstr(xml, "<disk type='file' device='cdrom'>"));
        assert_non_null(strstr(xml, seed));
        assert_non_null(strstr(xml, "<target dev='hdc' bus='ide'/>"));
        assert_non_null(strstr(xml, "<readonly/>"));
        free(xml);
    }

    assert_int_equal(lv_driver.instance_user_data(w->drv, a.id, &ud, &len, &err), 0);
    assert_int_equal(len, strlen("#!/bin/sh\necho hello\n"));
    assert_memory_equal(ud, "#!/bin/sh\necho hello\n", len);
    free(ud);

    /* Tags go to the cache and into the domain's metadata. */
    assert_int_equal(cg_tags_set(&tags, "owner", "ops"), 0);
    assert_int_equal(lv_driver.tags_set(w->drv, a.id, &tags, &err), 0);
    cg_tags_release(&tags);
    /* A NULL value deletes the key whatever its value. */
    assert_int_equal(lv_driver.tags_delete(w->drv, a.id, &any_name, &err), 0);
    cg_instance_release(&a);
    assert_true(find(w, out.v[0].id, &a));
    assert_int_equal(a.tags.n, 1);
    assert_string_equal(cg_tags_get(&a.tags, "owner"), "ops");
    conn = zone_conn(w);
    dom = virDomainLookupByName(conn, a.id);
    assert_non_null(dom);
    md = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, LV_METADATA_NS,
                              VIR_DOMAIN_AFFECT_CONFIG);
    assert_non_null(md);
    assert_non_null(strstr(md, "owner"));
    assert_null(strstr(md, "pair"));
    free(md);
    virDomainFree(dom);
    virConnectClose(conn);
    cg_instance_release(&a);

    assert_int_equal(lv_driver.tags_set(w->drv, "i-00000000000000000", &tags, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_instance_list_release(&out);
}

static void test_lifecycle(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_state_change chg;
    cg_error err = {0};
    cg_instance t;
    unsigned char *ud = NULL;
    size_t len = 1;
    char id[24], seed[64];

    assert_int_equal(run(w, 1, 1, NULL, NULL, &out, &err), 0);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);

    /* The test driver's guests shut down at once. */
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 0, &chg, &err), 0);
    assert_string_equal(chg.id, id);
    assert_int_equal(chg.previous, CG_STATE_RUNNING);
    assert_int_equal(chg.current, CG_STATE_STOPPED);
    assert_int_equal(state_of(w, id), CG_STATE_STOPPED);
    assert_true(find(w, id, &t));
    assert_true(strncmp(t.state_reason, "User initiated", 14) == 0);
    cg_instance_release(&t);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 0, &chg, &err), 0);
    assert_int_equal(chg.current, CG_STATE_STOPPED);
    assert_int_equal(lv_driver.instance_reboot(w->drv, id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);

    assert_int_equal(lv_driver.instance_start(w->drv, id, &chg, &err), 0);
    assert_int_equal(chg.previous, CG_STATE_STOPPED);
    assert_int_equal(chg.current, CG_STATE_RUNNING);
    assert_int_equal(lv_driver.instance_start(w->drv, id, &chg, &err), 0);
    assert_int_equal(chg.previous, CG_STATE_RUNNING);
    assert_int_equal(lv_driver.instance_reboot(w->drv, id, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);

    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &chg, &err), 0);
    assert_int_equal(chg.current, CG_STATE_STOPPED);
    assert_int_equal(lv_driver.instance_start(w->drv, id, &chg, &err), 0);

    snprintf(seed, sizeof(seed), "%s-seed.iso", id);
    assert_true(has_volume(w, seed));
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &chg, &err), 0);
    assert_int_equal(chg.previous, CG_STATE_RUNNING);
    assert_int_equal(chg.current, CG_STATE_TERMINATED);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);   /* the seed went with the overlay */
    assert_false(has_volume(w, seed));
    assert_true(find(w, id, &t));
    assert_int_equal(t.state, CG_STATE_TERMINATED);
    assert_string_equal(t.image_id, w->ami);
    assert_string_equal(t.zone, ZONE);
    cg_instance_release(&t);

    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &chg, &err), 0);
    assert_int_equal(chg.previous, CG_STATE_TERMINATED);
    assert_int_equal(lv_driver.instance_start(w->drv, id, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_stop(w->drv, id, 0, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_user_data(w->drv, id, &ud, &len, &err), 0);
    assert_int_equal(len, 0);
    free(ud);
    assert_int_equal(lv_driver.instance_start(w->drv, "i-00000000000000000", &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);

    /* Past terminated_retention_sec it is no longer listed. */
    w->cfg.terminated_retention_sec = 1;
    sleep(2);
    assert_false(find(w, id, &t));
}

static void test_events(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_error err = {0};
    virConnectPtr conn;
    virDomainPtr dom;
    char id[24];

    assert_int_equal(run(w, 1, 1, NULL, NULL, &out, &err), 0);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);

    /* Changes made behind cloudgate's back reach the cache by events. */
    conn = zone_conn(w);
    dom = virDomainLookupByName(conn, id);
    assert_non_null(dom);
    assert_int_equal(virDomainDestroy(dom), 0);
    wait_state(w, id, CG_STATE_STOPPED);
    assert_int_equal(virDomainCreate(dom), 0);
    wait_state(w, id, CG_STATE_RUNNING);
    assert_int_equal(virDomainDestroy(dom), 0);
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
    {
        cg_instance gone;
        int i;

        for (i = 0; i < EVENT_WAIT_SECONDS * 10 && find(w, id, &gone); i++) {
            cg_instance_release(&gone);
            usleep(100000);
        }
        assert_false(find(w, id, &gone));
    }
}

static void test_stop_timeout(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_error err = {0};
    lv_host *h = lv_drv_find_zone(w->drv, ZONE);
    char id[24];

    assert_int_equal(run(w, 1, 1, NULL, NULL, &out, &err), 0);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);

    /* A guest that ignored its ACPI shutdown: the event thread powers it off. */
    lv_cache_set_overlay(lv_host_cache(h), id, CG_STATE_STOPPING, cg_monotonic() - 1);
    assert_int_equal(state_of(w, id), CG_STATE_STOPPING);
    wait_state(w, id, CG_STATE_STOPPED);
}

static void test_busy(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_state_change chg;
    cg_error err = {0};
    lv_host *h = lv_drv_find_zone(w->drv, ZONE);
    char id[24];

    assert_int_equal(run(w, 1, 1, NULL, NULL, &out, &err), 0);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);

    assert_int_equal(lv_cache_acquire(lv_host_cache(h), id, NULL), LV_ACQ_OK);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    cg_error_clear(&err);
    lv_cache_release(lv_host_cache(h), id);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &chg, &err), 0);
}

static void test_client_token(void **state)
{
    world *w = *state;
    cg_instance_list first, again;
    cg_error err = {0};
    char other[24];

    assert_int_equal(run(w, 1, 2, "token-1", NULL, &first, &err), 0);
    assert_int_equal(first.n, 2);
    assert_string_equal(first.v[0].client_token, "token-1");
    assert_int_equal(run(w, 1, 2, "token-1", NULL, &again, &err), 0);
    assert_int_equal(again.n, 2);
    assert_string_equal(again.v[0].id, first.v[0].id);
    assert_string_equal(again.v[1].id, first.v[1].id);
    assert_string_equal(again.v[0].reservation_id, first.v[0].reservation_id);
    assert_int_equal(count_domains(w), 2);
    cg_instance_list_release(&again);

    /* The same token with another image is a mismatch. */
    register_volume(w, "demo2", "demo.qcow2", other);
    snprintf(w->ami, sizeof(w->ami), "%s", other);
    assert_int_equal(run(w, 1, 1, "token-1", NULL, &again, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    cg_instance_list_release(&first);
}

/* Terminate every instance that is not terminated. */
static void terminate_live(world *w)
{
    cg_instance_list l = {0};
    cg_error err = {0};
    size_t i;

    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n; i++) {
        if (l.v[i].state != CG_STATE_TERMINATED)
            assert_int_equal(lv_driver.instance_terminate(w->drv, l.v[i].id, NULL, &err), 0);
    }
    cg_instance_list_release(&l);
}

static void test_rollback(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_error err = {0};
    virConnectPtr conn = zone_conn(w);
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "cloudgate");
    virStorageVolPtr vol;
    char gone[24], blocker[128], *saved;
    FILE *f;

    /* An image whose template volume disappeared: nothing may be left. */
    vol = virStorageVolCreateXML(pool,
                                 "<volume><name>tmp.qcow2</name><capacity>1048576</capacity>"
                                 "<target><format type='qcow2'/></target></volume>",
                                 0);
    assert_non_null(vol);
    register_volume(w, "doomed", "tmp.qcow2", gone);
    assert_int_equal(virStorageVolDelete(vol, 0), 0);
    virStorageVolFree(vol);
    snprintf(w->ami, sizeof(w->ami), "%s", gone);
    /* The launches fail in the workers: terminated, with EC2's reason. */
    assert_int_equal(run(w, 1, 2, "token-r", NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    assert_true(strncmp(err.message, "Server.InternalError: launch failed: ", 37) == 0);
    assert_non_null(strstr(err.message, "tmp.qcow2"));
    cg_error_clear(&err);
    /* The token names them: a repeat answers the same, terminated. */
    assert_int_equal(lv_driver.instance_run(w->drv, &(cg_launch_spec){.image_id = w->ami,
                     .type = &w->small, .zone = ZONE, .min_count = 1, .max_count = 2,
                     .client_token = "token-r"}, &out, &err), 0);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.v[0].state, CG_STATE_TERMINATED);
    assert_int_equal(out.v[1].state, CG_STATE_TERMINATED);
    cg_instance_list_release(&out);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);
    assert_int_equal(lv_cache_size(lv_host_cache(lv_drv_find_zone(w->drv, ZONE))), 0);

    /* A failure after the overlay was made (the console directory cannot be
     * created): the overlay goes too, and the client token is free again. */
    register_volume(w, "demo3", "demo.qcow2", w->ami);
    snprintf(blocker, sizeof(blocker), "%s/blocker", w->dir);
    assert_non_null(f = fopen(blocker, "w"));
    fclose(f);
    saved = w->cfg.console_dir;
    w->cfg.console_dir = cg_asprintf("%s/console", blocker);
    assert_int_equal(run(w, 1, 2, "token-r2", NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    cg_error_clear(&err);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);
    free(w->cfg.console_dir);
    w->cfg.console_dir = saved;

    /* The seed cannot be built (no xorriso): the overlay goes too. */
    saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", "/nonexistent", 1);
    assert_int_equal(run(w, 1, 1, "token-r3", NULL, &out, &err), -1);
    setenv("PATH", saved, 1);
    free(saved);
    assert_non_null(strstr(err.message, "xorriso"));
    cg_error_clear(&err);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);
    assert_int_equal(run(w, 1, 1, "token-r4", NULL, &out, &err), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(lv_driver.instance_terminate(w->drv, out.v[0].id, NULL, &err), 0);
    cg_instance_list_release(&out);

    /* One launch per instance: of two, the one whose overlay finds no room
     * (the test driver's pools hold 100 GiB: room for one 60 GiB overlay)
     * ends terminated with nothing left, the other runs. */
    vol = virStorageVolCreateXML(pool,
                                 "<volume><name>big.qcow2</name>"
                                 "<capacity unit='GiB'>60</capacity><allocation>0</allocation>"
                                 "<target><format type='qcow2'/></target></volume>",
                                 0);
    assert_non_null(vol);
    virStorageVolFree(vol);
    register_volume(w, "big", "big.qcow2", w->ami);
    assert_int_equal(run(w, 2, 2, NULL, NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "Not enough free space"));
    assert_int_equal(count_domains(w), 1);
    assert_int_equal(lv_cache_size(lv_host_cache(lv_drv_find_zone(w->drv, ZONE))), 1);
    terminate_live(w);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);
    assert_int_equal(lv_cache_size(lv_host_cache(lv_drv_find_zone(w->drv, ZONE))), 0);

    virStoragePoolFree(pool);
    virConnectClose(conn);
}

static void test_capacity(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_error err = {0};

    /* 32 GiB node: three 10 GiB instances fit, a 64 GiB one does not. */
    w->small.memory_mib = 65536;
    assert_int_equal(run(w, 1, 1, NULL, NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CAPACITY);
    cg_error_clear(&err);
    assert_int_equal(count_domains(w), 0);
    w->small.memory_mib = 10240;
    assert_int_equal(run(w, 4, 5, NULL, NULL, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CAPACITY);
    cg_error_clear(&err);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(run(w, 1, 5, NULL, NULL, &out, &err), 0);
    assert_int_equal(out.n, 3);
    assert_int_equal(count_domains(w), 3);
    cg_instance_list_release(&out);
}

static void test_unknown(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_launch_spec spec = {.image_id = w->ami, .type = &w->small, .zone = "nowhere",
                           .min_count = 1, .max_count = 1};
    cg_error err = {0};

    assert_int_equal(lv_driver.instance_run(w->drv, &spec, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    spec.zone = NULL;
    spec.image_id = "ami-00000000000000000";
    assert_int_equal(lv_driver.instance_run(w->drv, &spec, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

static void test_restart_keeps_state(void **state)
{
    world *w = *state;
    cg_instance_list out, again;
    cg_state_change chg;
    cg_tags tags = {0};
    cg_image_list il = {0};
    cg_error err = {0};
    cg_instance t;
    char id[24];

    assert_int_equal(cg_tags_set(&tags, "keep", "me"), 0);
    assert_int_equal(lv_driver.tags_set(w->drv, w->ami, &tags, &err), 0);
    assert_int_equal(run(w, 1, 1, "token-x", &tags, &out, &err), 0);
    cg_tags_release(&tags);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &chg, &err), 0);

    lv_driver.close(w->drv);
    w->drv = open_drv(w);

    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    assert_int_equal(il.n, 1);
    assert_string_equal(il.v[0].id, w->ami);
    assert_string_equal(cg_tags_get(&il.v[0].tags, "keep"), "me");
    cg_image_list_release(&il);
    assert_true(find(w, id, &t));
    assert_int_equal(t.state, CG_STATE_TERMINATED);
    assert_string_equal(cg_tags_get(&t.tags, "keep"), "me");
    assert_string_equal(t.client_token, "token-x");
    cg_instance_release(&t);
    assert_int_equal(run(w, 1, 1, "token-x", NULL, &again, &err), 0);
    assert_int_equal(again.n, 1);
    assert_string_equal(again.v[0].id, id);
    assert_int_equal(again.v[0].state, CG_STATE_TERMINATED);
    cg_instance_list_release(&again);
}

/* test:///default keeps its domains while any connection to it is open, so
 * here a restarted driver finds its instances again through their metadata. */
static void test_restart_resyncs_domains(void **state)
{
    world w;
    virConnectPtr keep = virConnectOpen("test:///default");
    virStoragePoolPtr pool;
    virStorageVolPtr vol;
    cg_instance_list out;
    cg_state_change chg;
    cg_tags tags = {0};
    cg_error err = {0};
    cg_instance t;
    char id[24];

    assert_non_null(keep);
    memset(&w, 0, sizeof(w));
    configure(&w, "test:///default", "default-pool", "default");
    w.small.memory_mib = 1;   /* test:///default reports 3 MiB free */
    pool = virStoragePoolLookupByName(keep, "default-pool");
    assert_non_null(pool);
    vol = virStorageVolCreateXML(pool,
                                 "<volume><name>base.qcow2</name><capacity>1048576</capacity>"
                                 "<target><format type='qcow2'/></target></volume>",
                                 0);
    assert_non_null(vol);
    w.drv = open_drv(&w);
    register_volume(&w, "base", "base.qcow2", w.ami);
    assert_int_equal(cg_tags_set(&tags, "Name", "survivor"), 0);
    assert_int_equal(run(&w, 1, 1, NULL, &tags, &out, &err), 0);
    cg_tags_release(&tags);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);

    lv_driver.close(w.drv);
    w.drv = open_drv(&w);
    assert_true(find(&w, id, &t));
    assert_int_equal(t.state, CG_STATE_RUNNING);
    assert_string_equal(t.image_id, w.ami);
    assert_string_equal(t.zone, ZONE);
    assert_string_equal(cg_tags_get(&t.tags, "Name"), "survivor");
    cg_instance_release(&t);
    assert_int_equal(lv_driver.instance_terminate(w.drv, id, &chg, &err), 0);
    assert_int_equal(chg.previous, CG_STATE_RUNNING);

    lv_driver.close(w.drv);
    virStorageVolDelete(vol, 0);
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
    virConnectClose(keep);
    cg_config_release(&w.cfg);
    nftw(w.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    /* Warnings (the rollbacks) only: the info lines would drown the results. */
    cg_log_init(NULL, CG_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_images, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deregister_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_modify, setup, teardown),
        cmocka_unit_test(test_image_columns_migrate),
        cmocka_unit_test_setup_teardown(test_run_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_state, setup, teardown),
        cmocka_unit_test(test_restart_resyncs_domains),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
