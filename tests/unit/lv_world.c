/* Shared fixtures of the libvirt driver's unit tests (lv_world.h). */
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

#include <libvirt/virterror.h>
#include <sqlite3.h>

#include "drivers/libvirt/lv_driver.h"
#include "drivers/libvirt/lv_launch.h"
#include "lv_world.h"

int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void set_str(char **dst, const char *value)
{
    free(*dst);
    *dst = strdup(value);
    assert_non_null(*dst);
}

/* Configure w for uri with a fresh state directory. */
void configure(world *w, const char *uri, const char *pool, const char *network)
{
    char console[128];

    assert_int_equal(cg_config_defaults(&w->cfg), 0);
    snprintf(w->dir, sizeof(w->dir), "/tmp/cg-lvtest-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(console, sizeof(console), "%s/console", w->dir);
    set_str(&w->cfg.state_dir, w->dir);
    set_str(&w->cfg.console_dir, console);
    set_str(&w->cfg.domain_type, "test");
    set_str(&w->cfg.storage_pool, pool);
    set_str(&w->cfg.network, network);
    set_str(&w->cfg.zones[0].name, ZONE);
    set_str(&w->cfg.zones[0].uri, uri);
    w->cfg.stop_timeout_sec = 1;
    w->cfg.terminated_retention_sec = 3600;
    w->small.name = "t2.micro";
    w->small.vcpus = 1;
    w->small.memory_mib = 512;
}

void node_uri(char *buf, size_t len)
{
    const char *top = getenv("CG_TOP_SRCDIR");
    char rel[PATH_MAX], abs[PATH_MAX];

    snprintf(rel, sizeof(rel), "%s/tests/integration/testnode.xml", top ? top : ".");
    assert_non_null(realpath(rel, abs));
    snprintf(buf, len, "test://%s", abs);
}

cg_drv *open_drv(world *w)
{
    cg_error err = {0};
    cg_drv *drv = lv_driver.open(&w->cfg, &err);

    if (!drv)
        fail_msg("open: %s", err.message);
    return drv;
}

void register_volume(world *w, const char *name, const char *volume, char *ami)
{
    cg_image_spec spec = {.name = name, .volume = volume, .description = "demo"};
    cg_image img;
    cg_error err = {0};

    if (lv_driver.image_register(w->drv, &spec, &img, &err) < 0)
        fail_msg("image_register: %s", err.message);
    assert_true(strncmp(img.id, "ami-", 4) == 0);
    snprintf(ami, 24, "%s", img.id);
    cg_image_release(&img);
}

int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    char uri[PATH_MAX + 16];

    assert_non_null(w);
    node_uri(uri, sizeof(uri));
    configure(w, uri, "cloudgate", "cloudgate-isolated");
    w->drv = open_drv(w);
    register_volume(w, "demo", "demo.qcow2", w->ami);
    *state = w;
    return 0;
}

int teardown(void **state)
{
    world *w = *state;

    lv_driver.close(w->drv);
    cg_config_release(&w->cfg);
    nftw(w->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

/* ---- helpers ---- */

virConnectPtr zone_conn(world *w)
{
    cg_error err = {0};
    virConnectPtr conn = lv_driver_zone_conn(w->drv, ZONE, &err);

    if (!conn)
        fail_msg("zone conn: %s", err.message);
    return conn;
}

/* Number of cloudgate-named domains ("i-...") libvirt has. */
int count_domains(world *w)
{
    virConnectPtr conn = zone_conn(w);
    virDomainPtr *doms = NULL;
    int i, n, found = 0;

    n = virConnectListAllDomains(conn, &doms, 0);
    assert_true(n >= 0);
    for (i = 0; i < n; i++) {
        found += strncmp(virDomainGetName(doms[i]), "i-", 2) == 0;
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(conn);
    return found;
}

/* Number of volumes named "i-..." (overlays and seeds) in the pool. */
int count_volumes(world *w)
{
    return count_volumes_named(w, "i-");
}

int count_volumes_named(world *w, const char *prefix)
{
    virConnectPtr conn = zone_conn(w);
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, w->cfg.storage_pool);
    virStorageVolPtr *vols = NULL;
    int i, n, found = 0;

    assert_non_null(pool);
    n = virStoragePoolListAllVolumes(pool, &vols, 0);
    assert_true(n >= 0);
    for (i = 0; i < n; i++) {
        found += strncmp(virStorageVolGetName(vols[i]), prefix, strlen(prefix)) == 0;
        virStorageVolFree(vols[i]);
    }
    free(vols);
    virStoragePoolFree(pool);
    virConnectClose(conn);
    return found;
}

int run(world *w, unsigned min, unsigned max, const char *token, const cg_tags *tags,
        cg_instance_list *out, cg_error *err)
{
    static const unsigned char ud[] = "#!/bin/sh\necho hello\n";
    cg_launch_spec spec = {
        .image_id = w->ami,
        .type = &w->small,
        .zone = ZONE,
        .min_count = min,
        .max_count = max,
        .key_name = "mykey",
        .public_key = TEST_PUBLIC_KEY,
        .user_data = ud,
        .user_data_len = sizeof(ud) - 1,
        .client_token = token,
        .tags = tags,
    };

    memset(out, 0, sizeof(*out));
    return settle(w, lv_driver.instance_run(w->drv, &spec, out, err), out, err);
}

int settle(world *w, int rc, cg_instance_list *out, cg_error *err)
{
    cg_instance now;
    int *pending;
    size_t i;

    if (rc < 0)
        return rc;
    /* A repeat (client token) answers instances in whatever state. */
    assert_non_null(pending = calloc(out->n + 1, sizeof(*pending)));
    for (i = 0; i < out->n; i++)
        pending[i] = out->v[i].state == CG_STATE_PENDING;
    lv_launch_drain(w->drv);
    for (i = 0; i < out->n; i++) {
        if (!find(w, out->v[i].id, &now)) {
            cg_error_set(err, CG_ERR_INTERNAL, "instance %s is gone", out->v[i].id);
            rc = -1;
            continue;
        }
        if (pending[i] && now.state == CG_STATE_TERMINATED && rc == 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "%s", now.state_reason);
            rc = -1;
        }
        cg_instance_release(&out->v[i]);
        out->v[i] = now;
    }
    free(pending);
    if (rc < 0)
        cg_instance_list_release(out);
    return rc;
}

/* A copy of instance id from instance_list; 0 when absent. */
int find(world *w, const char *id, cg_instance *out)
{
    cg_instance_list l = {0};
    cg_error err = {0};
    size_t i;
    int found = 0;

    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n && !found; i++) {
        if (strcmp(l.v[i].id, id) == 0) {
            assert_int_equal(cg_instance_copy(out, &l.v[i]), 0);
            found = 1;
        }
    }
    cg_instance_list_release(&l);
    return found;
}

cg_instance_state state_of(world *w, const char *id)
{
    cg_instance inst;
    cg_instance_state st;

    if (!find(w, id, &inst))
        fail_msg("instance %s not listed", id);
    st = inst.state;
    cg_instance_release(&inst);
    return st;
}

/* Wait up to EVENT_WAIT_SECONDS for the event thread to bring id into state st. */
void wait_state(world *w, const char *id, cg_instance_state st)
{
    int i;

    for (i = 0; i < EVENT_WAIT_SECONDS * 10 && state_of(w, id) != st; i++)
        usleep(100000);
    assert_int_equal(state_of(w, id), st);
}

/* The id of the first instance instance_list shows. */
const char *out_id(world *w)
{
    static char id[24];
    cg_instance_list l = {0};
    cg_error err = {0};

    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    assert_true(l.n > 0);
    snprintf(id, sizeof(id), "%s", l.v[0].id);
    cg_instance_list_release(&l);
    return id;
}

int has_volume(world *w, const char *name)
{
    virConnectPtr conn = zone_conn(w);
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, w->cfg.storage_pool);
    virStorageVolPtr vol;

    assert_non_null(pool);
    vol = virStorageVolLookupByName(pool, name);
    if (vol)
        virStorageVolFree(vol);
    virResetLastError();
    virStoragePoolFree(pool);
    virConnectClose(conn);
    return vol != NULL;
}

char *domain_xml(world *w, const char *id)
{
    virConnectPtr conn = zone_conn(w);
    virDomainPtr dom = virDomainLookupByName(conn, id);
    char *xml;

    assert_non_null(dom);
    xml = virDomainGetXMLDesc(dom, 0);
    assert_non_null(xml);
    virDomainFree(dom);
    virConnectClose(conn);
    return xml;
}

void run_one(world *w, char *id)
{
    cg_instance_list out;
    cg_error err = {0};

    if (run(w, 1, 1, NULL, NULL, &out, &err) < 0)
        fail_msg("run: %s", err.message);
    snprintf(id, 24, "%s", out.v[0].id);
    cg_instance_list_release(&out);
}

long long state_sql(world *w, const char *fmt, ...)
{
    char path[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = 0;
    va_list ap;
    char *sql;
    int rc;

    va_start(ap, fmt);
    sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    assert_non_null(sql);
    snprintf(path, sizeof(path), "%s/cloudgate.db", w->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqlite3_free(sql);
    return n;
}
