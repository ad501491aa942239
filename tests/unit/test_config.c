/* Unit tests: configuration parsing and its error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/config.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/cg-config-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    return path;
}

/* Load text over the defaults; returns the rc and leaves the message in err. */
static int load_text(cg_config *cfg, const char *text, char *err, size_t errlen)
{
    char *path = write_tmp(text);
    int rc;

    assert_int_equal(cg_config_defaults(cfg), 0);
    rc = cg_config_load(cfg, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_defaults(void **state)
{
    cg_config cfg;

    assert_int_equal(cg_config_defaults(&cfg), 0);
    assert_string_equal(cfg.listen_addr, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8773);
    assert_string_equal(cfg.domain_type, "qemu");
    assert_int_equal(cfg.v2v_parallel, 1);
    assert_string_equal(cfg.v2v_slot_dir, "/run/lock/cloudgate-v2v");
    assert_int_equal(cfg.n_zones, 1);
    assert_string_equal(cfg.zones[0].uri, "qemu:///system");
    assert_non_null(cg_config_find_type(&cfg, "t2.micro"));
    assert_int_equal(cg_config_find_type(&cfg, "t2.micro")->memory_mib, 1024);
    assert_null(cg_config_find_type(&cfg, "x9.huge"));
    assert_null(cfg.tls_cert);
    cg_config_release(&cfg);
}

static void test_sample_file(void **state)
{
    const char *top = getenv("CG_TOP_SRCDIR");
    char path[1024], err[512] = "";
    cg_config cfg;

    snprintf(path, sizeof(path), "%s/etc/cloudgate.conf", top ? top : ".");
    assert_int_equal(cg_config_defaults(&cfg), 0);
    assert_int_equal(cg_config_load(&cfg, path, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg.n_types, 6);
    assert_int_equal(cfg.n_zones, 1);
    assert_string_equal(cfg.zones[0].name, "cloudgate-a");
    assert_int_equal(cfg.max_body, 1024 * 1024);
    assert_int_equal(cfg.max_headers, 64 * 1024);
    assert_int_equal(cfg.read_timeout_sec, 30);
    assert_int_equal(cfg.max_connections_per_peer, 128);
    assert_int_equal(cfg.max_queued_body, 64 * 1024 * 1024);
    cg_config_release(&cfg);
}

static void test_zones_and_types(void **state)
{
    char err[512] = "";
    cg_config cfg;

    assert_int_equal(load_text(&cfg,
                               "[gateway]\nlisten = 0.0.0.0:9000\nstate_dir = /srv/cg\n"
                               "[libvirt]\ndomain_type = kvm\n"
                               "[zone a]\nuri = test:///default\n"
                               "[zone b]\nuri = qemu+ssh://h/system\n"
                               "[instance-type big]\nvcpus = 8\nmemory = 16384\n",
                               err, sizeof(err)),
                     0);
    assert_string_equal(cfg.listen_addr, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.domain_type, "kvm");
    assert_int_equal(cfg.n_zones, 2);
    assert_string_equal(cfg.zones[1].uri, "qemu+ssh://h/system");
    assert_int_equal(cfg.n_types, 1);
    assert_int_equal(cfg.types[0].vcpus, 8);
    /* The console directory follows a changed state_dir. */
    assert_string_equal(cfg.console_dir, "/srv/cg/console");
    cg_config_release(&cfg);
}

static void expect_error(const char *text, const char *needle, int line)
{
    char err[512] = "", want[64];
    cg_config cfg;

    assert_int_equal(load_text(&cfg, text, err, sizeof(err)), -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    if (line > 0) {
        snprintf(want, sizeof(want), ":%d:", line);
        if (!strstr(err, want))
            fail_msg("error '%s' does not name line %d", err, line);
    }
    cg_config_release(&cfg);
}

static void test_errors_name_key_and_line(void **state)
{
    expect_error("[gateway]\n\nlistn = 1.2.3.4:5\n", "key 'listn'", 3);
    expect_error("[gateway]\nlisten = nowhere\n", "key 'listen'", 2);
    expect_error("[gateway]\nlisten = 1.2.3.4:99999\n", "key 'listen'", 2);
    expect_error("[gateway]\nworkers = many\n", "key 'workers'", 2);
    expect_error("[gateway]\nworkers = 0\n", "key 'workers'", 2);
    expect_error("[gateway]\nv2v_parallel = 0\n", "key 'v2v_parallel'", 2);
    expect_error("[gateway]\nv2v_parallel = 65\n", "key 'v2v_parallel'", 2);
    expect_error("[gateway]\nv2v_slot_dir = run/lock\n", "key 'v2v_slot_dir'", 2);
    expect_error("[libvirt]\ndomain_type = xen\n", "key 'domain_type'", 2);
    expect_error("[nonsense]\n", "unknown section", 1);
    expect_error("listen = 1.2.3.4:5\n", "outside of any section", 1);
    expect_error("[gateway]\njust words\n", "expected 'key = value'", 2);
    expect_error("[zone a]\n", "missing in [zone a]", 0);
    expect_error("[zone a]\nuri = x\n[zone a]\nuri = y\n", "defined twice", 3);
    expect_error("[instance-type x]\nvcpus = 1\n", "missing in [instance-type x]", 0);
    expect_error("[gateway]\ntls_cert = /a.pem\n", "tls_key", 0);
    expect_error("[gateway]\naccount_id = 12\n", "key 'account_id'", 2);
    expect_error("[libvirt]\ndefault_display = rdp\n", "key 'default_display'", 2);
    expect_error("[libvirt]\ndisplay_listen = <x>\n", "key 'display_listen'", 2);
    expect_error("[libvirt]\nvpc_forward = route\n", "key 'vpc_forward'", 2);
    expect_error("[libvirt]\ndisplay_password = way-too-long\n", "key 'display_password'", 2);
    expect_error("[libvirt]\ndisplay_password = a b\n", "key 'display_password'", 2);
    /* max_body = 0 was accepted, and refused every request. */
    expect_error("[gateway]\nmax_body = 0\n", "key 'max_body'", 2);
    expect_error("[gateway]\nmax_body = 100\n", "1024..", 2);
    expect_error("[gateway]\nmax_headers = 0\n", "key 'max_headers'", 2);
    expect_error("[gateway]\nmax_params = 0\n", "key 'max_params'", 2);
    expect_error("[gateway]\nmax_connections = 0\n", "key 'max_connections'", 2);
    expect_error("[gateway]\nread_timeout = 0\n", "key 'read_timeout'", 2);
    expect_error("[gateway]\nmax_body = 8M\nmax_queued_body = 4M\n", "max_queued_body", 0);
    expect_error("[gateway]\nmax_connections = 10\nmax_connections_per_peer = 20\n",
                 "max_connections_per_peer", 0);
}

static void test_display_keys(void **state)
{
    char err[512] = "";
    cg_config cfg;

    assert_int_equal(cg_config_defaults(&cfg), 0);
    assert_string_equal(cfg.default_display, "headless");
    assert_string_equal(cfg.display_listen, "127.0.0.1");
    assert_null(cfg.display_password);
    assert_string_equal(cfg.vpc_forward, "isolated");
    cg_config_release(&cfg);
    assert_int_equal(load_text(&cfg,
                               "[libvirt]\ndefault_display = spice\ndisplay_listen = ::1\n"
                               "display_password = s3cret\nvpc_forward = nat\n",
                               err, sizeof(err)),
                     0);
    assert_string_equal(cfg.default_display, "spice");
    assert_string_equal(cfg.display_listen, "::1");
    assert_string_equal(cfg.display_password, "s3cret");
    assert_string_equal(cfg.vpc_forward, "nat");
    cg_config_release(&cfg);
}

static void test_overcommit_ratios(void **state)
{
    static const char *const bad[] = {"memory_overcommit = 0", "memory_overcommit = 11",
                                      "cpu_overcommit = -1",   "cpu_overcommit = 1.5x",
                                      "cpu_overcommit = nan",  "memory_overcommit = ",
                                      "placement = random",    "placement = "};
    char err[512] = "";
    char text[128], key[64];
    cg_config cfg;

    (void)state;
    assert_int_equal(cg_config_defaults(&cfg), 0);
    assert_true(cfg.memory_overcommit == 1.0 && cfg.cpu_overcommit == 16.0);
    assert_int_equal(cfg.placement_pack, 0);
    cg_config_release(&cfg);
    assert_int_equal(load_text(&cfg,
                               "[libvirt]\nmemory_overcommit = 1.5\ncpu_overcommit = 4\n"
                               "placement = pack\n",
                               err, sizeof(err)),
                     0);
    assert_true(cfg.memory_overcommit == 1.5 && cfg.cpu_overcommit == 4.0);
    assert_int_equal(cfg.placement_pack, 1);
    cg_config_release(&cfg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[libvirt]\n%s\n", bad[i]);
        snprintf(key, sizeof(key), "key '%.*s'", (int)strcspn(bad[i], " "), bad[i]);
        expect_error(text, key, 2);
    }
}

static void test_change_wait(void **state)
{
    static const char *const bad[] = {"change_wait = -1", "change_wait = 51", "change_wait = 2s",
                                      "change_wait = "};
    char err[512] = "";
    char text[128];
    cg_config cfg;

    (void)state;
    assert_int_equal(cg_config_defaults(&cfg), 0);
    assert_int_equal(cfg.change_wait_sec, 20);
    cg_config_release(&cfg);
    assert_int_equal(load_text(&cfg, "[libvirt]\nchange_wait = 0\n", err, sizeof(err)), 0);
    assert_int_equal(cfg.change_wait_sec, 0);
    cg_config_release(&cfg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[libvirt]\n%s\n", bad[i]);
        expect_error(text, "key 'change_wait'", 2);
    }
}

static void test_missing_file(void **state)
{
    char err[512] = "";
    cg_config cfg;

    assert_int_equal(cg_config_defaults(&cfg), 0);
    assert_int_equal(cg_config_load(&cfg, "/nonexistent/cg.conf", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/cg.conf"));
    cg_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_sample_file),
        cmocka_unit_test(test_zones_and_types), cmocka_unit_test(test_errors_name_key_and_line),
        cmocka_unit_test(test_display_keys),    cmocka_unit_test(test_overcommit_ratios),
        cmocka_unit_test(test_change_wait),     cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
