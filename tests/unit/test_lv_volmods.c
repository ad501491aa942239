/* cloudgate: the libvirt driver's volume operations of RunInstances'
 * mappings, DeleteOnTermination, ModifyVolume and the volumes table's
 * migration, against libvirt's test driver (fixtures in lv_world.c).
 *
 * The test driver has neither virStorageVolResize nor virDomainBlockResize:
 * a grow there is CG_ERR_UNSUPPORTED and changes nothing; growing itself is
 * shown on qemu:///system (tests/system/test_volume_modify_qemu.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "drivers/libvirt/lv_driver.h"
#include "gateway/log.h"
#include "gateway/store.h"
#include "lv_world.h"

#define GIB (1024ULL * 1024ULL * 1024ULL)

static int count_vol_storage(world *w)
{
    return count_volumes_named(w, "vol-");
}

static size_t count_rows(world *w)
{
    cg_volume_list l = {0};
    cg_error err = {0};
    size_t n;

    assert_int_equal(lv_driver.volume_list(w->drv, &l, &err), 0);
    n = l.n;
    cg_volume_list_release(&l);
    return n;
}

static int launch_with(world *w, unsigned count, const cg_launch_disk *disks, size_t n,
                       unsigned long long root, cg_instance_list *out, cg_error *err)
{
    cg_launch_spec spec = {.image_id = w->ami, .type = &w->small, .zone = ZONE,
                           .min_count = count, .max_count = count, .disks = disks,
                           .n_disks = n, .root_size_bytes = root};

    memset(out, 0, sizeof(*out));
    return settle(w, lv_driver.instance_run(w->drv, &spec, out, err), out, err);
}

/* The volume called id (or, id NULL, the one attached to instance as dev),
 * copied into *out; 0 when there is none. */
static int find_vol(world *w, const char *id, const char *instance, const char *dev,
                    cg_volume *out)
{
    cg_volume_list l = {0};
    cg_error err = {0};
    size_t i;
    int found = 0;

    assert_int_equal(lv_driver.volume_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n && !found; i++) {
        const cg_volume *v = &l.v[i];

        if (id ? strcmp(v->id, id) == 0
               : strcmp(v->attached_to, instance) == 0 && strcmp(v->device, dev) == 0)
            found = cg_volume_copy(out, v) == 0;
    }
    cg_volume_list_release(&l);
    return found;
}

static int attached(world *w, const char *instance, const char *dev, cg_volume *out)
{
    return find_vol(w, NULL, instance, dev, out);
}

static int find_volume(world *w, const char *id, cg_volume *out)
{
    return find_vol(w, id, NULL, NULL, out);
}

static void test_launch_disks_and_terminate(void **state)
{
    world *w = *state;
    cg_launch_disk disks[2] = {{.device = "vdf", .size_bytes = 2 * GIB, .delete_on_termination = 1},
                                {.device = "vdg", .size_bytes = 1 * GIB}};
    cg_instance_list out = {0}, other = {0};
    cg_state_change sc;
    cg_volume f = {0}, g = {0};
    cg_error err = {0};
    char *xml;

    assert_int_equal(launch_with(w, 1, disks, 2, 3 * GIB, &out, &err), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(count_domains(w), 1);
    assert_int_equal(count_vol_storage(w), 2);
    /* Another instance with a DeleteOnTermination volume: the terminate
     * below must leave it alone. */
    assert_int_equal(launch_with(w, 1, disks, 1, 3 * GIB, &other, &err), 0);
    assert_int_equal(count_vol_storage(w), 3);
    assert_true(attached(w, out.v[0].id, "vdf", &f));
    assert_true(attached(w, out.v[0].id, "vdg", &g));
    assert_string_equal(f.state, "in-use");
    assert_true(f.size_bytes == 2 * GIB && f.delete_on_termination == 1);
    assert_true(g.size_bytes == 1 * GIB && g.delete_on_termination == 0);
    /* Both disks are in the definition, with their serials. */
    xml = domain_xml(w, out.v[0].id);
    assert_non_null(strstr(xml, "<target dev='vdf' bus='virtio'/>"));
    assert_non_null(strstr(xml, "<target dev='vdg' bus='virtio'/>"));
    assert_non_null(strstr(xml, f.id + 4));
    free(xml);

    /* Flip both flags, then terminate: only the flagged one goes. */
    assert_int_equal(lv_driver.volume_set_delete_on_termination(w->drv, out.v[0].id, "vdf", 0,
                                                                &err), 0);
    assert_int_equal(lv_driver.volume_set_delete_on_termination(w->drv, out.v[0].id, "vdg", 1,
                                                                &err), 0);
    assert_int_equal(lv_driver.volume_set_delete_on_termination(w->drv, out.v[0].id, "vdh", 1,
                                                                &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_terminate(w->drv, out.v[0].id, &sc, &err), 0);
    assert_int_equal(count_domains(w), 1);
    assert_int_equal(count_vol_storage(w), 2);
    assert_int_equal(count_rows(w), 2);
    cg_volume_release(&g);
    assert_false(attached(w, out.v[0].id, "vdf", &g));
    assert_true(attached(w, other.v[0].id, "vdf", &g));
    assert_string_equal(g.state, "in-use");
    assert_int_equal(lv_driver.volume_delete(w->drv, f.id, &err), 0);   /* available now */
    assert_int_equal(count_vol_storage(w), 1);
    assert_int_equal(lv_driver.instance_terminate(w->drv, other.v[0].id, &sc, &err), 0);
    assert_int_equal(count_vol_storage(w), 0);
    assert_int_equal(count_rows(w), 0);
    cg_volume_release(&g);
    cg_volume_release(&f);
    cg_instance_list_release(&other);
    cg_instance_list_release(&out);
}

/* The instance that is not terminated. */
static const char *out_id_live(world *w)
{
    static char id[24];
    cg_instance_list l = {0};
    cg_error err = {0};
    size_t i;

    id[0] = '\0';
    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n; i++) {
        if (l.v[i].state != CG_STATE_TERMINATED)
            snprintf(id, sizeof(id), "%s", l.v[i].id);
    }
    cg_instance_list_release(&l);
    assert_true(id[0]);
    return id;
}

static void test_launch_disks_all_or_nothing(void **state)
{
    world *w = *state;
    /* The test pool holds 100 GiB: the second instance's 60 GiB disk does
     * not fit after the first's. */
    cg_launch_disk disks[2] = {
        {.device = "vdb", .size_bytes = 1 * GIB, .delete_on_termination = 1},
        {.device = "vdc", .size_bytes = 60 * GIB, .delete_on_termination = 1}};
    cg_instance_list out = {0};
    cg_error err = {0};

    /* One launch per instance: one of the two ends terminated, leaving
     * nothing; the other runs with its disks until terminated. */
    assert_int_equal(launch_with(w, 2, disks, 2, 0, &out, &err), -1);
    assert_int_equal(out.n, 0);
    assert_true(strncmp(err.message, "Server.InternalError: ", 22) == 0);
    assert_int_equal(count_domains(w), 1);
    assert_int_equal(lv_driver.instance_terminate(w->drv, out_id_live(w), NULL, &err), 0);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);     /* overlays and seeds */
    assert_int_equal(count_vol_storage(w), 0);
    assert_int_equal(count_rows(w), 0);
    cg_error_clear(&err);
    /* A bad device makes nothing either. */
    disks[1].size_bytes = GIB;
    snprintf(disks[1].device, sizeof(disks[1].device), "vda");
    assert_int_equal(launch_with(w, 1, disks, 2, 0, &out, &err), -1);
    assert_int_equal(count_domains(w) + count_volumes(w) + count_vol_storage(w), 0);
    assert_int_equal(count_rows(w), 0);
    cg_instance_list_release(&out);
}

/* A launch cut short by a crash, after its disks were made: the restart's
 * repair (the launch intent) removes the domain and every disk, whatever
 * DeleteOnTermination was asked (the asked flags are set only at commit). */
static void test_launch_disks_crash_repair(void **state)
{
    world *w = *state;
    cg_launch_disk disks[2] = {{.device = "vdb", .size_bytes = GIB, .delete_on_termination = 1},
                                {.device = "vdc", .size_bytes = GIB}};
    cg_instance_list out = {0};
    cg_error err = {0};
    virConnectPtr conn;
    virDomainPtr dom;

    assert_int_equal(launch_with(w, 1, disks, 2, 0, &out, &err), 0);
    /* As before the commit: defined, not started, both disks flagged. */
    conn = zone_conn(w);
    assert_non_null(dom = virDomainLookupByName(conn, out.v[0].id));
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
    assert_int_equal(lv_driver.volume_set_delete_on_termination(w->drv, out.v[0].id, "vdc", 1,
                                                                &err), 0);
    assert_int_equal(lv_intent_add(w->drv->state, LV_INTENT_LAUNCH, out.v[0].id, ZONE, "", &err),
                     0);
    lv_reconcile_zone(lv_drv_find_zone(w->drv, ZONE), conn, 1, w->drv);
    virConnectClose(conn);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);
    assert_int_equal(count_vol_storage(w), 0);
    assert_int_equal(count_rows(w), 0);
    cg_instance_list_release(&out);
}

static void test_modify(void **state)
{
    world *w = *state;
    cg_volume_spec spec = {.zone = ZONE, .size_bytes = GIB};
    cg_volume vol = {0}, now = {0};
    cg_volume_mod m = {0};
    cg_volume_mod_list mods = {0};
    cg_error err = {0};

    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &vol, &err), 0);
    /* No resize in the test driver: refused, nothing recorded. */
    assert_int_equal(lv_driver.volume_modify(w->drv, vol.id, 3 * GIB, &m, &err), -1);
    assert_int_equal(err.kind, CG_ERR_UNSUPPORTED);
    cg_error_clear(&err);
    assert_true(find_volume(w, vol.id, &now));
    assert_true(now.size_bytes == GIB);
    cg_volume_release(&now);
    assert_int_equal(lv_driver.volume_modify(w->drv, vol.id, GIB, &m, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_modify(w->drv, "vol-0123456789abcdef0", 2 * GIB, &m, &err),
                     -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.volume_mod_list(w->drv, &mods, &err), 0);
    assert_int_equal(mods.n, 0);
    free(mods.v);
    cg_volume_release(&vol);
}

/* A database from before DeleteOnTermination: the column is added, the
 * old rows read as not flagged, and a change still "modifying" from before
 * a restart is closed as failed. */
static int setup_old_database(void **state)
{
    world *w = calloc(1, sizeof(*w));
    char uri[PATH_MAX + 16], path[PATH_MAX];
    sqlite3 *db = NULL;

    assert_non_null(w);
    node_uri(uri, sizeof(uri));
    configure(w, uri, "cloudgate", "cloudgate-isolated");
    snprintf(path, sizeof(path), "%s/cloudgate.db", w->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE TABLE volumes (id TEXT PRIMARY KEY, name TEXT, description TEXT,"
        " zone TEXT NOT NULL, format TEXT NOT NULL, size INTEGER NOT NULL,"
        " created INTEGER NOT NULL, instance_id TEXT NOT NULL DEFAULT '',"
        " device TEXT NOT NULL DEFAULT '');"
        "INSERT INTO volumes VALUES ('vol-0123456789abcdef0', NULL, NULL, 'cloudgate-a',"
        " 'qcow2', 1048576, 1, 'i-0123456789abcdef0', 'vdb');"
        "CREATE TABLE volume_modifications (volume_id TEXT NOT NULL, state TEXT NOT NULL,"
        " original_size INTEGER NOT NULL, target_size INTEGER NOT NULL,"
        " start_time INTEGER NOT NULL, end_time INTEGER NOT NULL DEFAULT 0,"
        " message TEXT NOT NULL DEFAULT '');"
        "INSERT INTO volume_modifications VALUES ('vol-0123456789abcdef0', 'modifying',"
        " 1048576, 2097152, 1, 0, '');", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    w->drv = open_drv(w);
    *state = w;
    return 0;
}

static void test_old_database(void **state)
{
    world *w = *state;
    cg_volume_mod_list mods = {0};
    cg_error err = {0};
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;

    /* The column is there (the row itself goes at reconcile: the test
     * world has no storage volume for it). */
    snprintf(path, sizeof(path), "%s/cloudgate.db", w->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('volumes')"
                                            " WHERE name = 'delete_on_termination'", -1, &s,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    cg_db_done(s);
    sqlite3_close(db);
    /* Reconcile dropped the volume (no storage here), and its changes
     * went with it (the trigger on volumes). */
    assert_int_equal(count_rows(w), 0);
    assert_int_equal(lv_driver.volume_mod_list(w->drv, &mods, &err), 0);
    assert_int_equal(mods.n, 0);
    free(mods.v);
}

/* Without a driver (no reconcile): the store alone closes a change left
 * "modifying" by a restart, and prunes changes of volumes that are gone. */
static void test_interrupted_change_closed(void **state)
{
    world *w = *state;
    cg_config cfg = {0};
    lv_state *st;
    sqlite3 *db;
    sqlite3_stmt *s;
    cg_error err = {0};

    lv_driver.close(w->drv);
    w->drv = NULL;
    cfg.state_dir = w->dir;
    assert_non_null(st = lv_state_open(&cfg, &err));
    db = lv_state_db_lock(st);
    assert_true(cg_db_run(db, &err, "t", "INSERT INTO volumes (id, zone, format, size, created)"
                          " VALUES ('vol-0000000000000000a', 'z', 'qcow2', 1, 1)", NULL) == 1);
    assert_true(cg_db_run(db, &err, "t", "INSERT INTO volume_modifications (volume_id, state,"
                          " original_size, target_size, start_time) VALUES"
                          " ('vol-0000000000000000a', 'modifying', 1, 2, 1),"
                          " ('vol-0000000000000000b', 'completed', 1, 2, 1)", NULL) == 2);
    lv_state_db_unlock(st);
    assert_int_equal(lv_volmods_init(st, 1, &err), 0);
    db = lv_state_db_lock(st);
    assert_non_null(s = cg_db_prep(db, &err, "SELECT volume_id, state, message"
                                   " FROM volume_modifications", NULL));
    assert_int_equal(cg_db_step(s, &err, "t"), 1);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "vol-0000000000000000a");
    assert_string_equal((const char *)sqlite3_column_text(s, 1), "failed");
    assert_non_null(strstr((const char *)sqlite3_column_text(s, 2), "restart"));
    assert_int_equal(cg_db_step(s, &err, "t"), 0);
    cg_db_done(s);
    /* Deleting the volume takes its changes along. */
    assert_true(cg_db_run(db, &err, "t", "DELETE FROM volumes", NULL) == 1);
    assert_true(cg_db_run(db, &err, "t", "DELETE FROM volume_modifications", NULL) == 0);
    lv_state_db_unlock(st);
    lv_state_close(st);
}

int main(void)
{
    cg_log_init(NULL, CG_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_launch_disks_and_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_launch_disks_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_launch_disks_crash_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_database, setup_old_database, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_change_closed, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
