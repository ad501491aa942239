/* Unit tests: instance attributes in the libvirt driver (lv_attrs.c), against
 * libvirt's test driver: ModifyInstanceAttribute (type and user-data only
 * while stopped, termination protection) and the console output.  The
 * fixtures are in lv_world.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "drivers/driver.h"
#include "drivers/libvirt/lv_domxml.h"
#include "drivers/libvirt/lv_driver.h"
#include "drivers/libvirt/lv_state.h"
#include "gateway/log.h"

#include "lv_world.h"

static void stop(world *w, const char *id)
{
    cg_state_change chg;
    cg_error err = {0};

    assert_int_equal(lv_driver.instance_stop(w->drv, id, 1, &chg, &err), 0);
    assert_int_equal(state_of(w, id), CG_STATE_STOPPED);
}

static const cg_instance_change unchanged = {.disable_api_termination = -1};

static int modify(world *w, const char *id, const cg_instance_change *chg, cg_error *err)
{
    cg_error_clear(err);
    return lv_driver.instance_modify(w->drv, id, chg, err);
}

static void test_modify_while_running(void **state)
{
    world *w = *state;
    cg_instance_type big = {.name = "t2.large", .vcpus = 2, .memory_mib = 1024};
    cg_instance_change chg = unchanged;
    cg_error err = {0};
    cg_instance inst;
    char id[24];

    run_one(w, id);
    chg.type = &big;
    assert_int_equal(modify(w, id, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    chg = unchanged;
    chg.set_user_data = 1;
    assert_int_equal(modify(w, id, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_true(find(w, id, &inst));
    assert_string_equal(inst.instance_type, "t2.micro");
    assert_int_equal(inst.vcpus, 1);
    cg_instance_release(&inst);

    /* The protection may change any time. */
    chg = unchanged;
    chg.disable_api_termination = 1;
    assert_int_equal(modify(w, id, &chg, &err), 0);
    assert_true(find(w, id, &inst));
    assert_int_equal(inst.disable_api_termination, 1);
    assert_int_equal(inst.state, CG_STATE_RUNNING);
    cg_instance_release(&inst);

    assert_int_equal(modify(w, "i-00000000000000000", &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

static void test_modify_type_while_stopped(void **state)
{
    world *w = *state;
    cg_instance_type big = {.name = "t2.large", .vcpus = 2, .memory_mib = 1024};
    cg_instance_change chg = unchanged;
    virConnectPtr conn;
    virDomainPtr dom;
    virDomainInfo info;
    cg_state_change sc;
    cg_error err = {0};
    cg_instance inst;
    char id[24], *xml;

    run_one(w, id);
    stop(w, id);
    chg.type = &big;
    if (modify(w, id, &chg, &err) < 0)
        fail_msg("modify: %s", err.message);

    conn = zone_conn(w);
    dom = virDomainLookupByName(conn, id);
    assert_non_null(dom);
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.nrVirtCpu, 2);
    assert_int_equal(info.maxMem, 1024 * 1024);
    virDomainFree(dom);
    virConnectClose(conn);
    xml = domain_xml(w, id);
    assert_non_null(strstr(xml, ">t2.large</"));
    assert_non_null(strstr(xml, "-seed.iso")); /* the rest of the definition stays */
    free(xml);

    assert_true(find(w, id, &inst));
    assert_string_equal(inst.instance_type, "t2.large");
    assert_int_equal(inst.vcpus, 2);
    assert_int_equal(inst.memory_mib, 1024);
    assert_int_equal(inst.state, CG_STATE_STOPPED);
    cg_instance_release(&inst);

    /* It starts with the new size, and what a restarted driver would read
     * from the domain (test:///FILE worlds do not outlive the driver's
     * connection) is the new type too. */
    assert_int_equal(lv_driver.instance_start(w->drv, id, &sc, &err), 0);
    assert_int_equal(sc.current, CG_STATE_RUNNING);
    xml = domain_xml(w, id);
    memset(&inst, 0, sizeof(inst));
    assert_int_equal(lv_domxml_parse(xml, &inst, &err), 1);
    assert_string_equal(inst.instance_type, "t2.large");
    assert_int_equal(inst.vcpus, 2);
    assert_int_equal(inst.memory_mib, 1024);
    cg_instance_release(&inst);
    free(xml);
}

static void test_modify_user_data(void **state)
{
    world *w = *state;
    static const unsigned char fresh[] = "#cloud-config\nhostname: \0fresh\n";
    cg_instance_change chg = unchanged;
    cg_error err = {0};
    unsigned char *ud = NULL;
    size_t len = 0;
    char id[24], seed[64];

    run_one(w, id);
    stop(w, id);
    snprintf(seed, sizeof(seed), "%s-seed.iso", id);
    chg.set_user_data = 1;
    chg.user_data = fresh;
    chg.user_data_len = sizeof(fresh) - 1;
    if (modify(w, id, &chg, &err) < 0)
        fail_msg("modify: %s", err.message);
    assert_int_equal(lv_driver.instance_user_data(w->drv, id, &ud, &len, &err), 0);
    assert_int_equal(len, sizeof(fresh) - 1);
    assert_memory_equal(ud, fresh, len);
    free(ud);
    assert_true(has_volume(w, seed)); /* rebuilt in place */
    assert_int_equal(count_volumes(w), 2);

    /* Cleared: no user-data, still a seed (NoCloud needs one anyway). */
    chg.user_data = NULL;
    chg.user_data_len = 0;
    assert_int_equal(modify(w, id, &chg, &err), 0);
    assert_int_equal(lv_driver.instance_user_data(w->drv, id, &ud, &len, &err), 0);
    assert_int_equal(len, 0);
    free(ud);
    assert_true(has_volume(w, seed));

    /* A seed that cannot be built leaves the old user-data in place. */
    chg.user_data = fresh;
    chg.user_data_len = sizeof(fresh) - 1;
    {
        char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

        setenv("PATH", "/nonexistent", 1);
        assert_int_equal(modify(w, id, &chg, &err), -1);
        setenv("PATH", path, 1);
        free(path);
    }
    assert_non_null(strstr(err.message, "xorriso"));
    assert_int_equal(lv_driver.instance_user_data(w->drv, id, &ud, &len, &err), 0);
    assert_int_equal(len, 0);
    free(ud);
    assert_true(has_volume(w, seed));
    /* The instance is not left busy. */
    chg = unchanged;
    chg.disable_api_termination = 0;
    assert_int_equal(modify(w, id, &chg, &err), 0);
}

static void test_termination_protection(void **state)
{
    world *w = *state;
    cg_instance_change chg = unchanged;
    cg_state_change sc;
    cg_error err = {0};
    cg_instance inst;
    char id[24], *xml;

    run_one(w, id);
    chg.disable_api_termination = 1;
    assert_int_equal(modify(w, id, &chg, &err), 0);
    xml = domain_xml(w, id);
    assert_non_null(strstr(xml, "disable-api-termination>true<"));
    free(xml);

    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &sc, &err), -1);
    assert_int_equal(err.kind, CG_ERR_FORBIDDEN);
    assert_int_equal(count_domains(w), 1);
    assert_int_equal(state_of(w, id), CG_STATE_RUNNING);

    /* It lives in the domain's metadata, where a restarted driver reads it;
     * stopping is still allowed, terminating while stopped is not. */
    xml = domain_xml(w, id);
    memset(&inst, 0, sizeof(inst));
    assert_int_equal(lv_domxml_parse(xml, &inst, &err), 1);
    assert_int_equal(inst.disable_api_termination, 1);
    cg_instance_release(&inst);
    free(xml);
    stop(w, id);
    assert_true(find(w, id, &inst));
    assert_int_equal(inst.disable_api_termination, 1);
    cg_instance_release(&inst);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &sc, &err), -1);
    assert_int_equal(err.kind, CG_ERR_FORBIDDEN);

    chg.disable_api_termination = 0;
    assert_int_equal(modify(w, id, &chg, &err), 0);
    xml = domain_xml(w, id);
    assert_null(strstr(xml, "disable-api-termination"));
    free(xml);
    cg_error_clear(&err);
    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &sc, &err), 0);
    assert_int_equal(sc.current, CG_STATE_TERMINATED);
    assert_int_equal(count_domains(w), 0);
    assert_int_equal(count_volumes(w), 0);

    chg.disable_api_termination = 1;
    assert_int_equal(modify(w, id, &chg, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
}

static void write_log(world *w, const char *id, const char *text, time_t mtime)
{
    char path[4096];
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
    FILE *f;

    lv_drv_console_path(w->drv, id, path, sizeof(path));
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(utimes(path, tv), 0);
}

static void console(world *w, const char *id, size_t max, const char *want, time_t when)
{
    unsigned char *data = NULL;
    size_t len = 99;
    time_t at = 0;
    cg_error err = {0};

    if (lv_driver.instance_console(w->drv, id, max, &data, &len, &at, &err) < 0)
        fail_msg("console %s: %s", id, err.message);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    assert_int_equal(data[len], '\0');
    if (when)
        assert_int_equal(at, when);
    else
        assert_true(at >= time(NULL) - 5);
    free(data);
}

static void test_console(void **state)
{
    world *w = *state;
    static const char log[] = "Linux version 6.1\r\nbooting...\r\ncloudgate-demo: booted\r\n";
    cg_state_change sc;
    cg_error err = {0};
    unsigned char *data = NULL;
    size_t len;
    time_t at;
    char id[24];

    run_one(w, id);
    /* The test driver writes no log: none yet is no output, as of now. */
    console(w, id, 64 * 1024, "", 0);

    write_log(w, id, log, 1700000000);
    console(w, id, 64 * 1024, log, 1700000000);
    console(w, id, 24, log + sizeof(log) - 1 - 24, 1700000000);
    console(w, id, 0, "", 1700000000);
    stop(w, id);
    console(w, id, 10, log + sizeof(log) - 1 - 10, 1700000000); /* stopped: still there */

    assert_int_equal(lv_driver.instance_terminate(w->drv, id, &sc, &err), 0);
    console(w, id, 1024, "", 0); /* the log goes with the instance */
    assert_int_equal(
        lv_driver.instance_console(w->drv, "i-00000000000000000", 10, &data, &len, &at, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    assert_null(data);
}

/* Each instance shows its own metadata options (matched to its row by id),
 * whatever order the listing and the rows come in. */
static void test_metadata_options_per_instance(void **state)
{
    world *w = *state;
    cg_instance_list l = {0};
    cg_metadata_options chg = {.http_tokens = CG_MD_TOKENS_REQUIRED, .hop_limit = 7}, out;
    cg_error err = {0};
    char ids[5][24];
    size_t i, j, seen = 0;
    int k;

    for (k = 0; k < 5; k++)
        run_one(w, ids[k]);
    assert_int_equal(lv_driver.instance_metadata_options(w->drv, ids[3], &chg, &out, &err), 0);
    chg.hop_limit = 9;
    assert_int_equal(lv_driver.instance_metadata_options(w->drv, ids[0], &chg, &out, &err), 0);
    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n; i++) {
        for (j = 0; j < 5 && strcmp(l.v[i].id, ids[j]) != 0; j++)
            ;
        if (j == 5)
            continue;
        seen++;
        if (j == 3 || j == 0) {
            assert_int_equal(l.v[i].metadata.http_tokens, CG_MD_TOKENS_REQUIRED);
            assert_int_equal(l.v[i].metadata.hop_limit, j == 3 ? 7 : 9);
        } else {
            assert_int_equal(l.v[i].metadata.http_tokens, CG_MD_TOKENS_OPTIONAL);
            assert_int_equal(l.v[i].metadata.hop_limit, 1);
        }
        assert_int_equal(l.v[i].metadata.http_endpoint, CG_MD_ENDPOINT_ENABLED);
    }
    assert_int_equal(seen, 5);
    cg_instance_list_release(&l);
}

/* An instance being terminated is for a moment both live and recorded
 * terminated: listed once, live.  Others recorded terminated are listed
 * after the live ones. */
static void test_listed_once_while_terminating(void **state)
{
    world *w = *state;
    cg_instance_list l = {0};
    cg_instance inst;
    cg_error err = {0};
    char ids[4][24];
    size_t i, seen[4] = {0};
    int k;

    for (k = 0; k < 4; k++)
        run_one(w, ids[k]);
    assert_int_equal(lv_driver.instance_terminate(w->drv, ids[0], NULL, &err), 0);
    for (k = 1; k <= 2; k++) { /* recorded, but still live */
        assert_int_equal(find(w, ids[k], &inst), 1);
        inst.state = CG_STATE_TERMINATED;
        assert_int_equal(lv_state_terminated_add(w->drv->state, &inst, &err), 0);
        cg_instance_release(&inst);
    }
    assert_int_equal(lv_driver.instance_list(w->drv, &l, &err), 0);
    for (i = 0; i < l.n; i++) {
        for (k = 0; k < 4; k++) {
            if (strcmp(l.v[i].id, ids[k]) != 0)
                continue;
            seen[k]++;
            assert_int_equal(l.v[i].state, k == 0 ? CG_STATE_TERMINATED : CG_STATE_RUNNING);
        }
    }
    for (k = 0; k < 4; k++)
        assert_int_equal(seen[k], 1);
    cg_instance_list_release(&l);
}

int main(void)
{
    cg_log_init(NULL, CG_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modify_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify_type_while_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify_user_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_termination_protection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_options_per_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listed_once_while_terminating, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
