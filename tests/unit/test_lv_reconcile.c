/* Unit tests: the start-up reconciliation (lv_reconcile.c) against
 * libvirt's test driver.  Each test makes, through the driver's own
 * connection, what a gateway killed at one point of an operation leaves (the
 * intent row and the objects made so far), runs the zone's reconciliation as
 * start-up would and checks what stays.  The SIGKILL test on real guests is
 * tests/system/test_sigkill_qemu.py.  Fixtures: lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_cache.h"
#include "drivers/libvirt/lv_driver.h"
#include "drivers/libvirt/lv_host.h"
#include "drivers/libvirt/lv_launch.h"
#include "drivers/libvirt/lv_seed.h"
#include "drivers/libvirt/lv_storage.h"
#include "gateway/log.h"

#include "lv_world.h"

#define VOL_ID "vol-0123456789abcdef0"
#define AMI_ID "ami-0123456789abcdef0"

static void reconcile(world *w)
{
    virConnectPtr conn = zone_conn(w);

    /* As a start-up does: the tokens at open, then each zone. */
    lv_reconcile_tokens(w->drv);
    lv_reconcile_zone(lv_drv_find_zone(w->drv, ZONE), conn, 1, w->drv);
    virConnectClose(conn);
}

static void intent(world *w, const char *kind, const char *name, const char *data)
{
    cg_error err = {0};

    if (lv_intent_add(w->drv->state, kind, name, ZONE, data, &err) < 0)
        fail_msg("intent: %s", err.message);
}

static int has_domain(world *w, const char *id)
{
    virConnectPtr conn = zone_conn(w);
    virDomainPtr dom = virDomainLookupByName(conn, id);

    if (dom)
        virDomainFree(dom);
    virConnectClose(conn);
    return dom != NULL;
}

/* The zone's reconcile as a connection runs it: first 1 at the first one,
 * 0 at a reconnect. */
static void reconcile_zone(world *w, int first)
{
    virConnectPtr conn = zone_conn(w);

    lv_reconcile_zone(lv_drv_find_zone(w->drv, ZONE), conn, first, w->drv);
    virConnectClose(conn);
}

/* id is terminated with neither domain nor overlay left. */
static void assert_gone(world *w, const char *id)
{
    char overlay[64];
    cg_instance inst;

    assert_false(has_domain(w, id));
    snprintf(overlay, sizeof(overlay), "%s.qcow2", id);
    assert_false(has_volume(w, overlay));
    assert_int_equal(find(w, id, &inst), 1);
    assert_int_equal(inst.state, CG_STATE_TERMINATED);
    cg_instance_release(&inst);
}

static void destroy(world *w, const char *id)
{
    virConnectPtr conn = zone_conn(w);
    virDomainPtr dom = virDomainLookupByName(conn, id);

    assert_non_null(dom);
    assert_int_equal(virDomainDestroy(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
}

static void make_volume(world *w, const char *name)
{
    virConnectPtr conn = zone_conn(w);
    cg_error err = {0};
    char *path = lv_storage_create(conn, "cloudgate", name, 1 << 20, "qcow2", &err);

    if (!path)
        fail_msg("create %s: %s", name, err.message);
    free(path);
    virConnectClose(conn);
}

static void drop_volume(world *w, const char *name)
{
    virConnectPtr conn = zone_conn(w);

    assert_int_equal(lv_storage_delete(conn, "cloudgate", name, NULL), 1);
    virConnectClose(conn);
}

/* A launch cut short before its start: domain, overlay and seed go; one
 * that started (the last step) stays, and a second pass changes nothing. */
static void test_launch(void **state)
{
    world *w = *state;
    char whole[24], half[24], seed[64], overlay[64];

    run_one(w, whole);
    run_one(w, half);
    destroy(w, half);   /* defined, never started */
    intent(w, LV_INTENT_LAUNCH, whole, "");
    intent(w, LV_INTENT_LAUNCH, half, "");
    reconcile(w);
    assert_true(has_domain(w, whole));
    assert_int_equal(state_of(w, whole), CG_STATE_RUNNING);
    assert_false(has_domain(w, half));
    snprintf(overlay, sizeof(overlay), "%s.qcow2", half);
    lv_seed_volume_name(half, seed, sizeof(seed));
    assert_false(has_volume(w, overlay));
    assert_false(has_volume(w, seed));
    assert_int_equal(count_domains(w), 1);
    /* The intents are gone: again, nothing changes. */
    reconcile(w);
    assert_true(has_domain(w, whole));
}

/* With a client token, the token decides: finished -> adopted; unfinished
 * (with a zone or none) -> the instance goes and the token can be used
 * again. */
static void test_launch_token(void **state)
{
    world *w = *state;
    cg_instance_list out;
    cg_error err = {0};
    lv_token mine = {0}, prev = {0};
    char id[24];

    assert_int_equal(run(w, 1, 1, "tok-done", NULL, &out, &err), 0);
    snprintf(id, sizeof(id), "%s", out.v[0].id);
    cg_instance_list_release(&out);
    destroy(w, id);   /* stopped, but the launch had committed */
    intent(w, LV_INTENT_LAUNCH, id, "tok-done");

    snprintf(mine.reservation_id, sizeof(mine.reservation_id), "r-0");
    snprintf(mine.image_id, sizeof(mine.image_id), "%s", w->ami);
    snprintf(mine.zone, sizeof(mine.zone), "%s", ZONE);
    assert_int_equal(lv_state_token_claim(w->drv->state, "tok-open", &mine, &prev, &err), 1);
    mine.zone[0] = '\0'; /* claimed before placement, no zone asked for */
    assert_int_equal(lv_state_token_claim(w->drv->state, "tok-nozone", &mine, &prev, &err), 1);
    reconcile(w);
    assert_true(has_domain(w, id));
    assert_int_equal(lv_state_token_claim(w->drv->state, "tok-open", &mine, &prev, &err), 1);
    assert_int_equal(lv_state_token_claim(w->drv->state, "tok-nozone", &mine, &prev, &err), 1);
    assert_int_equal(lv_state_token_claim(w->drv->state, "tok-done", &mine, &prev, &err), 0);
    lv_token_release(&prev);
}

/* Volumes: storage without a row goes, a row without storage goes, a
 * volume whose create finished stays, an attachment libvirt lacks is
 * dropped from the row. */
static void test_volumes(void **state)
{
    world *w = *state;
    cg_volume_spec spec = {.zone = ZONE, .size_bytes = 1 << 20};
    cg_volume kept, lost, got;
    cg_error err = {0};
    char id[24], name[64];

    make_volume(w, VOL_ID ".qcow2");
    intent(w, LV_INTENT_VOLUME, VOL_ID, VOL_ID ".qcow2");
    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &kept, &err), 0);
    intent(w, LV_INTENT_VOLUME, kept.id, "");
    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &lost, &err), 0);
    snprintf(name, sizeof(name), "%s.qcow2", lost.id);
    drop_volume(w, name);
    run_one(w, id);
    /* The row claimed first, then killed before libvirt attached it. */
    assert_int_equal(lv_volstate_attach(w->drv->state, kept.id, id, "vdf", &err), 1);

    reconcile(w);
    assert_false(has_volume(w, VOL_ID ".qcow2"));
    assert_int_equal(lv_volstate_get(w->drv->state, lost.id, &got, &err), 0);
    assert_int_equal(lv_volstate_get(w->drv->state, kept.id, &got, &err), 1);
    assert_string_equal(got.state, "available");
    assert_string_equal(got.attached_to, "");
    snprintf(name, sizeof(name), "%s.qcow2", kept.id);
    assert_true(has_volume(w, name));
    cg_volume_release(&got);
    cg_volume_release(&kept);
    cg_volume_release(&lost);
}

/* A capture killed after pausing the instance and making the template
 * volume: the volume goes, the instance runs again.  A finished one stays. */
static void test_capture(void **state)
{
    world *w = *state;
    virConnectPtr conn;
    virDomainPtr dom;
    cg_capture_spec spec = {.name = "done"};
    cg_image img;
    cg_error err = {0};
    cg_image_list il = {0};
    char id[24], data[40], name[64];
    int st, reason;

    run_one(w, id);
    conn = zone_conn(w);
    dom = virDomainLookupByName(conn, id);
    assert_int_equal(virDomainSuspend(dom), 0);
    make_volume(w, AMI_ID ".qcow2");
    snprintf(data, sizeof(data), "%s pause", id);
    intent(w, LV_INTENT_CAPTURE, AMI_ID, data);
    spec.instance_id = id;
    assert_int_equal(virDomainResume(dom), 0);
    assert_int_equal(virDomainDestroy(dom), 0);   /* stopped: copied without block jobs */
    wait_state(w, id, CG_STATE_STOPPED);
    assert_int_equal(lv_driver.image_capture(w->drv, &spec, &img, &err), 0);
    intent(w, LV_INTENT_CAPTURE, img.id, id);
    assert_int_equal(virDomainCreate(dom), 0);
    assert_int_equal(virDomainSuspend(dom), 0);

    reconcile(w);
    assert_false(has_volume(w, AMI_ID ".qcow2"));
    assert_int_equal(virDomainGetState(dom, &st, &reason, 0), 0);
    assert_int_equal(st, VIR_DOMAIN_RUNNING);
    snprintf(name, sizeof(name), "%s.qcow2", img.id);
    assert_true(has_volume(w, name));
    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    assert_int_equal(il.n, 2);   /* demo and the finished capture */
    cg_image_list_release(&il);
    cg_image_release(&img);
    virDomainFree(dom);
    virConnectClose(conn);
}

/* An image whose volume vanished is no longer listed. */
static void test_image_without_volume(void **state)
{
    world *w = *state;
    cg_image_list il = {0};
    cg_error err = {0};
    char ami[24];

    make_volume(w, "fragile.qcow2");
    register_volume(w, "fragile", "fragile.qcow2", ami);
    drop_volume(w, "fragile.qcow2");
    reconcile(w);
    assert_int_equal(lv_driver.image_list(w->drv, &il, &err), 0);
    assert_int_equal(il.n, 1);
    assert_string_equal(il.v[0].id, w->ami);
    cg_image_list_release(&il);
}

/* A terminate killed after the undefine: volumes and rows go, the
 * instance shows as terminated.  One killed before it (TerminateInstances
 * may have answered shutting-down) is finished: its domain goes too. */
static void test_terminate(void **state)
{
    world *w = *state;
    virConnectPtr conn;
    char gone[24], kept[24], *xml;
    cg_error err = {0};

    run_one(w, gone);
    run_one(w, kept);
    xml = domain_xml(w, gone);
    intent(w, LV_INTENT_TERMINATE, gone, xml);
    intent(w, LV_INTENT_TERMINATE, kept, "");
    conn = zone_conn(w);
    assert_int_equal(lv_domain_remove(conn, gone, &err), 0);
    virConnectClose(conn);

    reconcile(w);
    assert_gone(w, gone);
    /* Recorded from the domain's own definition (its intent had none). */
    assert_gone(w, kept);
    free(xml);
}

/* A reconnect finishes only the terminates a lost connection cut (their
 * intents kept: the outcome was unknown); a launch in flight, whose intent
 * is as legitimate, is left to its worker. */
static void test_reconnect_finishes_cut_terminates(void **state)
{
    world *w = *state;
    virConnectPtr conn;
    char gone[24], kept[24], launching[24], overlay[64];
    cg_error err = {0};

    run_one(w, gone);
    run_one(w, kept);
    run_one(w, launching);
    destroy(w, launching); /* defined, its start still to come */
    intent(w, LV_INTENT_TERMINATE, gone, "");
    intent(w, LV_INTENT_TERMINATE, kept, "");
    intent(w, LV_INTENT_LAUNCH, launching, "");
    conn = zone_conn(w);
    /* one undefine went through before the reply was lost, one never came */
    assert_int_equal(lv_domain_remove(conn, gone, &err), 0);
    virConnectClose(conn);
    reconcile_zone(w, 0);
    assert_gone(w, kept);
    snprintf(overlay, sizeof(overlay), "%s.qcow2", gone);
    assert_false(has_volume(w, overlay));
    /* the launch is untouched: its domain and overlay stay */
    assert_true(has_domain(w, launching));
    snprintf(overlay, sizeof(overlay), "%s.qcow2", launching);
    assert_true(has_volume(w, overlay));
}

/* A launch that failed and was answered terminated, its undo cut by a lost
 * connection after the start went through (lv_launch_undo keeps the intent):
 * its running domain, overlay and seed stay.  At the reconnect (first 0) or
 * the next start (first 1) they go, the instance is never adopted, and its
 * record keeps the failure's reason. */
/* id out of h's cache for good, as a failed launch leaves it (its
 * terminated row written first).  An event of its launch still on its way
 * (late under load) must not put it back (lv_upkeep.c asks the driver
 * whether the instance has ended), else the reconcile would take it for a
 * launch in flight: it stays out for a second. */
static void uncache(lv_host *h, const char *id)
{
    int i;

    lv_cache_remove(lv_host_cache(h), id);
    for (i = 0; i < 10; i++) {
        usleep(100000);
        assert_false(lv_cache_contains(lv_host_cache(h), id));
    }
}

static void cut_failed_launch(world *w, int first)
{
    lv_host *h = lv_drv_find_zone(w->drv, ZONE);
    char id[24], *xml;
    cg_instance inst;
    cg_error err = {0};

    run_one(w, id);
    assert_int_equal(find(w, id, &inst), 1);
    inst.state = CG_STATE_TERMINATED;
    snprintf(inst.state_reason, sizeof(inst.state_reason), "%s",
             "Server.InternalError: launch failed: Cannot recv data");
    assert_int_equal(lv_state_terminated_has(w->drv->state, id, &err), 0);
    assert_int_equal(lv_state_terminated_add(w->drv->state, &inst, &err), 0);
    assert_int_equal(lv_state_terminated_has(w->drv->state, id, &err), 1);
    cg_instance_release(&inst);
    uncache(h, id);
    xml = domain_xml(w, id);
    intent(w, LV_INTENT_LAUNCH, id, xml);
    free(xml);

    reconcile_zone(w, first);
    assert_gone(w, id);
    assert_int_equal(find(w, id, &inst), 1);
    assert_string_equal(inst.state_reason, "Server.InternalError: launch failed: Cannot recv data");
    cg_instance_release(&inst);
    /* done: a later reconcile has nothing left of it */
    reconcile_zone(w, 1);
    assert_false(has_domain(w, id));
}

static void test_reconnect_removes_a_cut_failed_launch(void **state)
{
    cut_failed_launch(*state, 0);
}

static void test_start_never_adopts_a_failed_launch(void **state)
{
    cut_failed_launch(*state, 1);
}

/* How many intent rows name name. */
static int intent_rows(world *w, const char *name)
{
    return (int)state_sql(w, "SELECT count(*) FROM intents WHERE name = %Q", name);
}

/* A launched instance with its intent, as a launch worker holds it once
 * built: every piece marked. */
static void launched(world *w, lv_launched *l)
{
    memset(l, 0, sizeof(*l));
    run_one(w, l->inst.id);
    intent(w, LV_INTENT_LAUNCH, l->inst.id, "");
    assert_int_equal(intent_rows(w, l->inst.id), 1);
    l->intent = l->cached = l->defined = l->volume = l->seed = 1;
}

/* A launch that starts over on a new connection first removes what it made
 * (lv_launch_clear).  When that removal is cut short, each piece left keeps
 * its mark, so the undo that follows removes it: nothing stays in libvirt
 * as a stopped instance nobody asked for, and the intent goes with it. */
static void test_cut_clear_keeps_its_marks(void **state)
{
    world *w = *state;
    lv_host *h = lv_drv_find_zone(w->drv, ZONE);
    virConnectPtr conn;
    lv_launched l;
    char seed[64];

    launched(w, &l);
    assert_int_equal(lv_launch_clear(w->drv, NULL, &l), -1); /* no connection: all cut */
    assert_true(l.defined && l.volume && l.seed);
    assert_true(has_domain(w, l.inst.id));

    conn = zone_conn(w);
    lv_launch_undo(w->drv, h, conn, &l, "Server.InternalError: launch failed: test");
    virConnectClose(conn);
    assert_gone(w, l.inst.id);
    lv_seed_volume_name(l.inst.id, seed, sizeof(seed));
    assert_false(has_volume(w, seed));
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(intent_rows(w, l.inst.id), 0);
}

/* A launch with further volumes that starts over removes them first
 * (DeleteOnTermination).  One whose removal fails is left available, and
 * the clear says so (-1): the launch is undone instead of made again, and
 * its intent goes, since nothing is left in libvirt unrecorded. */
static void test_clear_reports_a_volume_left(void **state)
{
    world *w = *state;
    lv_host *h = lv_drv_find_zone(w->drv, ZONE);
    cg_volume_spec spec = {.zone = ZONE, .size_bytes = 1 << 20};
    cg_volume gone, left, got;
    cg_error err = {0};
    virConnectPtr conn;
    lv_launched l;
    char name[64];

    launched(w, &l);
    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &gone, &err), 0);
    assert_int_equal(lv_driver.volume_create(w->drv, &spec, &left, &err), 0);
    assert_int_equal(lv_volstate_attach(w->drv->state, gone.id, l.inst.id, "vdf", &err), 1);
    assert_int_equal(lv_volstate_attach(w->drv->state, left.id, l.inst.id, "vdg", &err), 1);
    state_sql(w, "UPDATE volumes SET delete_on_termination = 1 WHERE instance_id = %Q", l.inst.id);
    /* Its zone is not one this driver reaches: the delete fails. */
    state_sql(w, "UPDATE volumes SET zone = 'elsewhere' WHERE id = %Q", left.id);
    l.disks = 1;

    conn = zone_conn(w);
    assert_int_equal(lv_launch_clear(w->drv, conn, &l), -1);
    assert_false(l.defined || l.volume || l.seed || l.disks); /* the rest went */
    assert_false(has_domain(w, l.inst.id));
    assert_int_equal(lv_volstate_get(w->drv->state, gone.id, &got, &err), 0);
    snprintf(name, sizeof(name), "%s.qcow2", gone.id);
    assert_false(has_volume(w, name));
    assert_int_equal(lv_volstate_get(w->drv->state, left.id, &got, &err), 1);
    assert_string_equal(got.state, "available");
    cg_volume_release(&got);

    lv_launch_undo(w->drv, h, conn, &l, "Server.InternalError: launch failed: test");
    virConnectClose(conn);
    assert_gone(w, l.inst.id);
    assert_int_equal(intent_rows(w, l.inst.id), 0);
    cg_volume_release(&gone);
    cg_volume_release(&left);
}

/* Only the first driver on a state directory reconciles: the admin CLI
 * opened beside the daemon must not undo the daemon's work in flight. */
static void test_one_reconciler(void **state)
{
    world *w = *state;
    cg_drv *second;

    assert_true(w->drv->reconciles);
    second = open_drv(w);
    assert_false(second->reconciles);
    lv_driver.close(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_launch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_launch_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_without_volume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_finishes_cut_terminates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_removes_a_cut_failed_launch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_start_never_adopts_a_failed_launch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_reconciler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_clear_keeps_its_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_reports_a_volume_left, setup, teardown),
    };

    cg_log_init(NULL, CG_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
