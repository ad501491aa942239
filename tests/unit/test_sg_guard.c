/* cloudgate: the security group guard's iptables rules and where its jump
 * goes in FORWARD (lv_sg_guard.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/libvirt/lv_sg_guard.h"
#include "engine/tool_run.h"

static void test_rules(void **state)
{
    const char *nics[] = {"vnet3", "vnet12"};
    cg_error err = {0};
    char *r = lv_sg_guard_rules(nics, 2, &err);

    (void)state;
    assert_non_null(r);
    assert_string_equal(r, "*filter\n"
                           ":CG-SG-GUARD - [0:0]\n"
                           "-A CG-SG-GUARD -m physdev --physdev-out vnet3 --physdev-is-bridged "
                           "-j DROP\n"
                           "-A CG-SG-GUARD -m physdev --physdev-out vnet12 --physdev-is-bridged "
                           "-j DROP\n"
                           "COMMIT\n");
    free(r);
}

/* No NIC: the chain is declared (so flushed) and left empty. */
static void test_rules_empty(void **state)
{
    cg_error err = {0};
    char *r = lv_sg_guard_rules(NULL, 0, &err);

    (void)state;
    assert_non_null(r);
    assert_string_equal(r, "*filter\n:CG-SG-GUARD - [0:0]\nCOMMIT\n");
    free(r);
}

/* A name that could carry more rules or options is refused whole. */
static void test_rules_refuse_bad_names(void **state)
{
    const char *bad[] = {"vnet1 -j ACCEPT", "vnet1\n-A FORWARD -j ACCEPT", "",
                         "averyveryverylongname", "vnet+", "-x"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *nics[] = {"vnet0", bad[i]};
        cg_error err = {0};

        assert_null(lv_sg_guard_rules(nics, 2, &err));
        assert_int_equal(err.kind, CG_ERR_INTERNAL);
        assert_non_null(strstr(err.message, "not an interface name"));
    }
}

static void test_ifname_ok(void **state)
{
    (void)state;
    assert_true(lv_sg_guard_ifname_ok("vnet0"));
    assert_true(lv_sg_guard_ifname_ok("tap_a.1-b"));
    assert_true(lv_sg_guard_ifname_ok("abcdefghijklmno"));
    assert_false(lv_sg_guard_ifname_ok("abcdefghijklmnop"));
    assert_false(lv_sg_guard_ifname_ok(NULL));
    assert_false(lv_sg_guard_ifname_ok("vnet*"));
    assert_false(lv_sg_guard_ifname_ok("-j"));
}

/* libvirt's order as iptables -S FORWARD prints it (libvirt 9.0). */
static void test_forward_pos(void **state)
{
    const char *libvirt[] = {"-P FORWARD ACCEPT", "-A FORWARD -j libvirt-in",
                             "-A FORWARD -j libvirt-out", "-A FORWARD -j libvirt-in-post",
                             "-A FORWARD -j LIBVIRT_FWX", "-A FORWARD -j LIBVIRT_FWI"};
    const char *guarded[] = {"-P FORWARD ACCEPT", "-A FORWARD -j libvirt-in",
                             "-A FORWARD -j libvirt-out", "-A FORWARD -j libvirt-in-post",
                             "-A FORWARD -j CG-SG-GUARD", "-A FORWARD -j LIBVIRT_FWX"};
    const char *bare[] = {"-P FORWARD ACCEPT", "-A FORWARD -j LIBVIRT_FWX"};
    /* A rule that only mentions the chain is not the jump. */
    const char *lookalike[] = {"-P FORWARD ACCEPT", "-A FORWARD -j libvirt-in-postX",
                               "-A FORWARD -m comment --comment CG-SG-GUARD -j ACCEPT",
                               "-A FORWARD -j libvirt-in-post"};

    (void)state;
    assert_int_equal(lv_sg_guard_forward_pos(libvirt, 6), 4);
    assert_int_equal(lv_sg_guard_forward_pos(guarded, 6), 0);
    assert_int_equal(lv_sg_guard_forward_pos(bare, 2), 1);
    assert_int_equal(lv_sg_guard_forward_pos(NULL, 0), 1);
    assert_int_equal(lv_sg_guard_forward_pos(lookalike, 4), 4);
}

/* Entries of dir other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The restore tools' input goes through a file the tool is given by
 * name, under TMPDIR, and gone afterwards, whatever the tool said. */
static void test_tool_input(void **state)
{
    char dir[] = "/tmp/cg-tool-input-XXXXXX";
    char *argv[] = {"grep", "-q", "^COMMIT$", CG_TOOL_INPUT, NULL};
    cg_tool_spec spec = {.argv = argv, .package = "grep", .log_fd = -1};
    cg_error err = {0};
    char *buf = NULL;
    size_t size = 0;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(setenv("TMPDIR", dir, 1), 0);
    assert_int_equal(cg_tool_run_input(&spec, "*filter\nCOMMIT\n", &err), 0);
    assert_int_equal(entries(dir), 0);
    assert_int_equal(cg_tool_run_input(&spec, "*filter\n", &err), -1);
    assert_string_equal(err.message, "grep failed (exit 1)");
    assert_int_equal(entries(dir), 0);
    /* The text built for it: kept when ok, freed when not. */
    f = open_memstream(&buf, &size);
    fputs("x", f);
    assert_string_equal(cg_tool_input_done(f, &buf, 1, &err), "x");
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &size);
    fputs("x", f);
    assert_null(cg_tool_input_done(f, &buf, 0, &err));
    assert_null(buf);
    unsetenv("TMPDIR");
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_rules_empty),
        cmocka_unit_test(test_rules_refuse_bad_names),
        cmocka_unit_test(test_ifname_ok),
        cmocka_unit_test(test_forward_pos),
        cmocka_unit_test(test_tool_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
