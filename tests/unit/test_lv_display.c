/* Unit tests: displays in the libvirt driver (lv_displayops.c) against
 * libvirt's test driver: a stored change while running, run-once keeping
 * the stored definition, screenshots and image defaults.  The fixtures are
 * in lv_world.c. */
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
#include "drivers/libvirt/lv_driver.h"
#include "drivers/libvirt/lv_domxml.h"
#include "gateway/log.h"

#include "lv_world.h"

/* The persistent definition (what the next ordinary start uses). */
static char *stored_xml(world *w, const char *id)
{
    virConnectPtr conn = zone_conn(w);
    virDomainPtr dom = virDomainLookupByName(conn, id);
    char *xml;

    assert_non_null(dom);
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_non_null(xml);
    virDomainFree(dom);
    virConnectClose(conn);
    return xml;
}

static int has(char *xml, const char *needle)
{
    int found = strstr(xml, needle) != NULL;

    free(xml);
    return found;
}

static void stop(world *w, const char *id)
{
    cg_state_change chg;
    cg_error err = {0};

    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &chg, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_STOPPED);
}

/* The running display as a read right after a launch or start shows it:
 * whoever started the domain read it, without waiting for libvirt's event. */
static void live_now(world *w, const char *id, cg_display want)
{
    cg_instance inst;

    assert_true(find(w, id, &inst));
    assert_int_equal(inst.display_live, want);
    cg_instance_release(&inst);
}

static void test_change_while_running(void **state)
{
    world *w = *state;
    cg_instance_change chg = {.disable_api_termination = -1, .display = CG_DISPLAY_VNC};
    cg_state_change sc;
    cg_instance inst;
    cg_error err = {0};
    char id[24], *xml;

    run_one(w, id);
    assert_true(find(w, id, &inst));
    assert_int_equal(inst.display, CG_DISPLAY_HEADLESS);
    cg_instance_release(&inst);
    live_now(w, id, CG_DISPLAY_HEADLESS);

    assert_int_equal(lv_driver.instance_modify(w->drv, id, &chg, &err), 0);
    assert_true(find(w, id, &inst));
    assert_int_equal(inst.display, CG_DISPLAY_VNC);          /* stored now */
    assert_int_equal(inst.display_live, CG_DISPLAY_HEADLESS); /* still running headless */
    cg_instance_release(&inst);
    assert_true(has(stored_xml(w, id), "<graphics type='vnc'"));
    assert_false(has(domain_xml(w, id), "<graphics"));
    /* The live metadata has the choice too: a re-read keeps it. */
    xml = domain_xml(w, id);
    memset(&inst, 0, sizeof(inst));
    assert_int_equal(lv_domxml_parse(xml, &inst, &err), 1);
    assert_int_equal(inst.display, CG_DISPLAY_VNC);
    cg_instance_release(&inst);
    free(xml);

    stop(w, id);
    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    assert_true(has(domain_xml(w, id), "<graphics type='vnc'"));
    live_now(w, id, CG_DISPLAY_VNC);
}

static void test_run_once(void **state)
{
    world *w = *state;
    cg_state_change sc;
    cg_instance inst;
    cg_error err = {0};
    char id[24];

    run_one(w, id);
    assert_int_equal(lv_driver.instance_run_once(w->drv, id, CG_DISPLAY_SPICE, &sc, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    stop(w, id);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_run_once(w->drv, id, CG_DISPLAY_DEFAULT, &sc, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);

    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_run_once(w->drv, id, CG_DISPLAY_SPICE, &sc, &err), 0);
    assert_int_equal(sc.previous, CG_STATE_STOPPED);
    assert_int_equal(sc.current, CG_STATE_RUNNING);
    assert_true(has(domain_xml(w, id), "<graphics type='spice'"));
    assert_false(has(stored_xml(w, id), "<graphics"));
    live_now(w, id, CG_DISPLAY_SPICE);
    assert_true(find(w, id, &inst));
    assert_int_equal(inst.display, CG_DISPLAY_HEADLESS);
    cg_instance_release(&inst);

    /* The next ordinary start is headless again. */
    stop(w, id);
    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    assert_false(has(domain_xml(w, id), "<graphics"));
    live_now(w, id, CG_DISPLAY_HEADLESS);
}

static void test_screenshot(void **state)
{
    world *w = *state;
    cg_instance_change chg = {.disable_api_termination = -1, .display = CG_DISPLAY_VNC};
    cg_state_change sc;
    cg_error err = {0};
    unsigned char *data = NULL;
    size_t len = 0;
    char mime[64] = "", id[24];

    run_one(w, id);
    assert_int_equal(lv_driver.instance_screenshot(w->drv, id, &data, &len, mime, sizeof(mime),
                                                   &err),
                     -1);
    assert_int_equal(err.kind, CG_ERR_UNSUPPORTED); /* headless */
    stop(w, id);
    assert_int_equal(lv_driver.instance_modify(w->drv, id, &chg, &err), 0);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_screenshot(w->drv, id, &data, &len, mime, sizeof(mime),
                                                   &err),
                     -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    live_now(w, id, CG_DISPLAY_VNC);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_screenshot(w->drv, id, &data, &len, mime, sizeof(mime),
                                                   &err),
                     0);
    assert_true(len > 8);
    assert_true(strncmp(mime, "image/", 6) == 0);
    /* A PPM from the driver comes back as PNG. */
    if (strcmp(mime, "image/png") == 0)
        assert_memory_equal(data, "\x89PNG", 4);
    free(data);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_screenshot(w->drv, "i-00000000000000000", &data, &len,
                                                   mime, sizeof(mime), &err),
                     -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

static void test_image_default(void **state)
{
    world *w = *state;
    cg_image_list images = {0};
    cg_instance inst;
    cg_error err = {0};
    char id[24];

    assert_int_equal(lv_driver.image_set_display(w->drv, w->ami, CG_DISPLAY_SPICE, &err), 0);
    assert_int_equal(lv_driver.image_list(w->drv, &images, &err), 0);
    assert_int_equal(images.v[0].display, CG_DISPLAY_SPICE);
    cg_image_list_release(&images);
    run_one(w, id);
    assert_true(find(w, id, &inst));
    assert_int_equal(inst.display, CG_DISPLAY_SPICE);
    cg_instance_release(&inst);
    assert_true(has(domain_xml(w, id), "com.redhat.spice.0"));
    assert_int_equal(lv_driver.image_set_display(w->drv, "ami-00000000000000000",
                                                 CG_DISPLAY_VNC, &err),
                     -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

int main(void)
{
    cg_log_init(NULL, CG_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_change_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_screenshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_default, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
