/* Unit tests: domain XML -> disk list of a v2v source VM
 * (drivers/libvirt/lv_v2v_source.c), the import checks, the v2v provider
 * kind's URI checks and [v2v NAME] configuration sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/libvirt/lv_v2v_source.h"
#include "gateway/config.h"
#include "gateway/providers.h"
#include "gateway/store.h"
#include "gateway/v2v_provider.h"

static const char two_disks[] =
    "<domain type='kvm'><name>web</name><devices>"
    "<emulator>/usr/bin/qemu</emulator>"
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "<source file='/var/lib/libvirt/images/web.qcow2'/><target dev='vda' bus='virtio'/></disk>"
    "<interface type='network'><source network='default'/></interface>"
    "<disk type='block' device='disk'><driver name='qemu' type='raw'/>"
    "<source dev='/dev/vg/data'/><target dev='vdb' bus='virtio'/></disk>"
    "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
    "<disk type='volume' device='disk'><source pool='default' volume='extra.img'/>"
    "<target dev='sda' bus='scsi'/></disk>"
    "<disk type='network' device='disk'><driver type='raw'/>"
    "<source protocol='nbd' name='export1'><host name='h'/></source>"
    "<target dev='vdc'/></disk>"
    "</devices></domain>";

static void test_parse_disks(void **state)
{
    lv_v2v_vm vm = {0};
    cg_error err = {0};

    assert_int_equal(lv_v2v_parse_disks(two_disks, &vm, &err), 0);
    assert_int_equal(vm.n_disks, 5);
    assert_string_equal(vm.disks[0].target, "vda");
    assert_string_equal(vm.disks[0].bus, "virtio");
    assert_string_equal(vm.disks[0].device, "disk");
    assert_string_equal(vm.disks[0].type, "file");
    assert_string_equal(vm.disks[0].format, "qcow2");
    assert_string_equal(vm.disks[0].source, "/var/lib/libvirt/images/web.qcow2");
    assert_int_equal(vm.disks[0].capacity, -1);
    assert_string_equal(vm.disks[1].source, "/dev/vg/data");
    assert_string_equal(vm.disks[1].format, "raw");
    assert_string_equal(vm.disks[2].device, "cdrom");
    assert_null(vm.disks[2].source);
    assert_null(vm.disks[2].format);
    assert_string_equal(vm.disks[3].source, "default/extra.img");
    assert_null(vm.disks[3].format);
    assert_string_equal(vm.disks[4].source, "export1");
    assert_null(vm.disks[4].bus);
    lv_v2v_vm_release(&vm);
}

static void test_parse_no_disks_and_default_device(void **state)
{
    lv_v2v_vm vm = {0};
    cg_error err = {0};

    assert_int_equal(lv_v2v_parse_disks("<domain><name>x</name></domain>", &vm, &err), 0);
    assert_int_equal(vm.n_disks, 0);
    assert_int_equal(lv_v2v_parse_disks("<domain><devices><disk type='file'>"
                                        "<source file='/a'/><target dev='hda'/></disk>"
                                        "</devices></domain>", &vm, &err), 0);
    assert_int_equal(vm.n_disks, 1);
    assert_string_equal(vm.disks[0].device, "disk");
    lv_v2v_vm_release(&vm);
}

static void test_parse_hostile(void **state)
{
    static const char *const bad[] = {
        "", "not xml", "<domain><devices><disk", "<network/>",
        "<domain><devices><disk type='file'><source file='/a'/></disk></devices></domain>",
        "<domain><devices><disk><target dev=''/></disk></devices></domain>",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lv_v2v_vm vm = {0};
        cg_error err = {0};

        assert_int_equal(lv_v2v_parse_disks(bad[i], &vm, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INVALID);
        assert_int_equal(vm.n_disks, 0);
        lv_v2v_vm_release(&vm);
    }
}

/* An external entity must not be read into a disk source. */
static void test_parse_no_entities(void **state)
{
    static const char xxe[] =
        "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
        "<domain><devices><disk><source file='&x;'/><target dev='vda'/></disk>"
        "</devices></domain>";
    lv_v2v_vm vm = {0};
    cg_error err = {0};

    /* Refused, or parsed without the file's text (root:x:0:0:...). */
    if (lv_v2v_parse_disks(xxe, &vm, &err) == 0) {
        assert_int_equal(vm.n_disks, 1);
        assert_true(!vm.disks[0].source || !strstr(vm.disks[0].source, "root:"));
    } else {
        assert_int_equal(err.kind, CG_ERR_INVALID);
    }
    lv_v2v_vm_release(&vm);
}

static void test_importable(void **state)
{
    lv_v2v_vm vm = {0};
    cg_error err = {0};

    vm.name = strdup("web");
    vm.state = "running";
    vm.active = 1;
    assert_int_equal(lv_v2v_parse_disks(two_disks, &vm, &err), 0);
    assert_int_equal(lv_v2v_check_importable(&vm, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_non_null(strstr(err.message, "running"));
    assert_non_null(strstr(err.message, "shut"));

    cg_error_clear(&err);
    vm.active = 0;
    vm.state = "shut off";
    assert_int_equal(lv_v2v_check_importable(&vm, &err), 0);
    lv_v2v_vm_release(&vm);

    /* Only an empty CD-ROM: nothing to convert. */
    vm.name = strdup("cd");
    vm.state = "shut off";
    assert_int_equal(lv_v2v_parse_disks("<domain><devices><disk device='cdrom'>"
                                        "<target dev='hdc'/></disk></devices></domain>",
                                        &vm, &err), 0);
    assert_int_equal(lv_v2v_check_importable(&vm, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    lv_v2v_vm_release(&vm);
}

static void test_uri_check(void **state)
{
    static const char *const good[] = {
        "qemu:///system", "qemu+ssh://root@host.example/system", "test:///default",
        "vpx://admin%40vsphere.local@vcenter/Datacenter/cluster/esx1?no_verify=1",
        "esx://root@esx1/?no_verify=1", "xen+ssh://root@xenhost/", "qemu+tcp://127.0.0.1:1/system",
        "test:///tmp/node.xml",
    };
    static const char *const bad[] = {
        "", "system", "http://host/", "qemu", "qemu:/system", "qemu+ftp://h/system",
        "qemu:///sys tem", "qemu:///sys\ntem", "+ssh://h/", "foo+ssh://h/", "qemu+://h/",
        "esx://root:secret@esx1/", "vpx://a%40b:pw@vc/dc/host",
    };
    char why[256];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (cg_v2v_uri_check(good[i], why, sizeof(why)) < 0)
            fail_msg("%s refused: %s", good[i], why);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cg_v2v_uri_check(bad[i], why, sizeof(why)) == 0)
            fail_msg("%s accepted", bad[i]);
    assert_int_equal(cg_v2v_uri_check(NULL, why, sizeof(why)), -1);
}

static void test_provider_settings(void **state)
{
    cg_provider p = {0};
    char why[256];

    p.kind = strdup("v2v");
    p.name = strdup("src");
    assert_int_equal(cg_provider_check(&p, why, sizeof(why)), -1);   /* no uri */
    assert_int_equal(cg_provider_set(&p, "url", "x", why, sizeof(why)), -1);
    assert_int_equal(cg_provider_set(&p, "uri", "test:///default", why, sizeof(why)), 0);
    assert_int_equal(cg_provider_set(&p, "uri", "qemu:///system", why, sizeof(why)), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(cg_provider_get(&p, "uri"), "qemu:///system");
    assert_int_equal(cg_provider_check(&p, why, sizeof(why)), 0);
    assert_int_equal(cg_provider_set(&p, "password_file", "relative", why, sizeof(why)), 0);
    assert_int_equal(cg_provider_check(&p, why, sizeof(why)), -1);
    assert_int_equal(cg_provider_set(&p, "user", "a\tb", why, sizeof(why)), -1);
    free(p.name);
    p.name = strdup("-bad");
    assert_int_equal(cg_provider_set(&p, "password_file", "/etc/hostname", why, sizeof(why)), 0);
    assert_int_equal(cg_provider_check(&p, why, sizeof(why)), -1);
    cg_provider_release(&p);
    assert_int_equal(cg_v2v_password_file_check("/nonexistent/pw", why, sizeof(why)), -1);
    assert_int_equal(cg_v2v_password_file_check("/tmp", why, sizeof(why)), -1);
    assert_int_equal(cg_v2v_password_file_check("pw", why, sizeof(why)), -1);
}

static char *write_conf(const char *extra)
{
    char *path = strdup("/tmp/cg-v2v-conf-XXXXXX");
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");

    fprintf(fp, "[zone a]\nuri = test:///default\n%s", extra);
    fclose(fp);
    return path;
}

static int load(const char *extra, cg_config *cfg, char *why, size_t whylen)
{
    char *path = write_conf(extra);
    int rc;

    assert_int_equal(cg_config_defaults(cfg), 0);
    rc = cg_config_load(cfg, path, why, whylen);
    unlink(path);
    free(path);
    return rc;
}

static void test_config_sections(void **state)
{
    cg_config cfg;
    char why[512];

    assert_int_equal(load("[v2v kvm2]\nuri = qemu+ssh://root@kvm2/system\nuser = root\n"
                          "password_file = /etc/cloudgate/kvm2.pw\n"
                          "[v2v lab]\nuri = test:///default\n", &cfg, why, sizeof(why)), 0);
    assert_int_equal(cfg.providers.n, 2);
    assert_string_equal(cfg.providers.v[0].name, "kvm2");
    assert_string_equal(cfg.providers.v[0].kind, "v2v");
    assert_int_equal(cfg.providers.v[0].origin, CG_PROVIDER_FROM_CONFIG);
    assert_string_equal(cg_provider_get(&cfg.providers.v[0], "user"), "root");
    assert_string_equal(cg_provider_get(&cfg.providers.v[1], "uri"), "test:///default");
    cg_config_release(&cfg);

    assert_int_equal(load("[v2v a]\nuri = test:///default\n[v2v a]\nuri = test:///default\n",
                          &cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "twice"));
    cg_config_release(&cfg);
    assert_int_equal(load("[v2v a]\nuser = root\n", &cfg, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "uri"));
    cg_config_release(&cfg);
    assert_int_equal(load("[v2v a]\nuri = http://x/\n", &cfg, why, sizeof(why)), -1);
    cg_config_release(&cfg);
    assert_int_equal(load("[v2v a]\nuri = test:///default\npassword = x\n", &cfg, why,
                          sizeof(why)), -1);
    assert_non_null(strstr(why, "password"));
    cg_config_release(&cfg);
    assert_int_equal(load("[v2v]\nuri = test:///default\n", &cfg, why, sizeof(why)), -1);
    cg_config_release(&cfg);
}

/* The providers table: added ones after configured ones, conflicts with
 * both, removal, and a row edited by hand that is not a JSON object. */
static void test_store(void **state)
{
    char dir[] = "/tmp/cg-v2v-store-XXXXXX", why[256];
    cg_config cfg;
    cg_provider p = {0}, got = {0};
    cg_provider_list l = {0};
    cg_error err = {0};
    sqlite3 *db;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(load("[v2v conf]\nuri = test:///default\n", &cfg, why, sizeof(why)), 0);
    free(cfg.state_dir);
    cfg.state_dir = strdup(dir);
    assert_non_null(db = cg_db_open(&cfg, &err));

    p.kind = strdup("v2v");
    p.name = strdup("b");
    assert_int_equal(cg_providers_add(db, &cfg, &p, &err), -1);      /* no uri */
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_int_equal(cg_provider_set(&p, "uri", "qemu+ssh://root@h/system", why, sizeof(why)), 0);
    assert_int_equal(cg_provider_set(&p, "user", "root", why, sizeof(why)), 0);
    assert_int_equal(cg_providers_add(db, &cfg, &p, &err), 0);
    assert_int_equal(cg_providers_add(db, &cfg, &p, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    cg_error_clear(&err);
    free(p.name);
    p.name = strdup("conf");
    assert_int_equal(cg_providers_add(db, &cfg, &p, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    cg_error_clear(&err);
    free(p.name);
    p.name = strdup("a");
    assert_int_equal(cg_providers_add(db, &cfg, &p, &err), 0);

    assert_int_equal(cg_providers_list(db, &cfg, "v2v", &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].name, "conf");
    assert_int_equal(l.v[0].origin, CG_PROVIDER_FROM_CONFIG);
    assert_string_equal(l.v[1].name, "a");
    assert_string_equal(l.v[2].name, "b");
    assert_int_equal(l.v[2].origin, CG_PROVIDER_FROM_RUNTIME);
    assert_string_equal(cg_provider_get(&l.v[2], "user"), "root");
    cg_provider_list_release(&l);

    /* An edited row loses its settings, not the listing. */
    assert_int_equal(cg_db_run(db, &err, "edit", "UPDATE providers SET settings = ? WHERE "
                               "name = ?", "ss", "[1, 2", "a"), 1);
    assert_int_equal(cg_db_run(db, &err, "edit", "INSERT INTO providers (kind, name, settings)"
                               " VALUES ('v2v', 'c', '{\"uri\": 5, \"user\": \"u\"}')",
                               ""), 1);
    assert_int_equal(cg_provider_find(db, &cfg, "v2v", "a", &got, &err), 0);
    assert_int_equal(got.n, 0);
    cg_provider_release(&got);
    assert_int_equal(cg_provider_find(db, &cfg, "v2v", "c", &got, &err), 0);
    assert_null(cg_provider_get(&got, "uri"));
    assert_string_equal(cg_provider_get(&got, "user"), "u");
    cg_provider_release(&got);

    assert_int_equal(cg_providers_remove(db, &cfg, "v2v", "conf", &err), -1);
    assert_int_equal(err.kind, CG_ERR_FORBIDDEN);
    cg_error_clear(&err);
    assert_int_equal(cg_providers_remove(db, &cfg, "v2v", "b", &err), 0);
    assert_int_equal(cg_providers_remove(db, &cfg, "v2v", "b", &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_provider_find(db, &cfg, "v2v", "b", &got, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "see v2v-list"));
    cg_error_clear(&err);
    assert_int_equal(cg_providers_remove(db, &cfg, "nokind", "a", &err), -1);

    cg_provider_release(&p);
    cg_db_close(db);
    cg_config_release(&cfg);
    for (const char *const *f = (const char *const[]){"cloudgate.db", "cloudgate.db-wal",
                                                      "cloudgate.db-shm", NULL}; *f; f++) {
        char path[128];

        snprintf(path, sizeof(path), "%s/%s", dir, *f);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

/* libvirt's test driver in-process: a running domain and a stopped one with
 * a disk file from a custom node XML. */
static void test_list_and_find(void **state)
{
    char dir[] = "/tmp/cg-v2v-node-XXXXXX", node[128], disk[128], uri[160];
    cg_provider p = {0};
    lv_v2v_vm_list l = {0};
    lv_v2v_vm vm = {0};
    cg_error err = {0};
    char why[128];
    FILE *fp;

    assert_non_null(mkdtemp(dir));
    snprintf(node, sizeof(node), "%s/node.xml", dir);
    snprintf(disk, sizeof(disk), "%s/old.img", dir);
    assert_non_null(fp = fopen(disk, "w"));
    assert_int_equal(ftruncate(fileno(fp), 3 << 20), 0);
    fclose(fp);
    assert_non_null(fp = fopen(node, "w"));
    fprintf(fp, "<node><domain type='test'><name>old</name><memory>524288</memory>"
                "<vcpu>2</vcpu><os><type>hvm</type></os><devices>"
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
                "</devices></domain></node>", disk);
    fclose(fp);
    snprintf(uri, sizeof(uri), "test://%s", node);

    p.kind = strdup("v2v");
    p.name = strdup("t");
    assert_int_equal(cg_provider_set(&p, "uri", uri, why, sizeof(why)), 0);
    assert_int_equal(lv_v2v_list_vms(&p, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].name, "old");
    assert_int_equal(l.v[0].vcpus, 2);
    assert_int_equal(l.v[0].memory_mib, 512);
    assert_int_equal(l.v[0].n_disks, 1);
    assert_string_equal(l.v[0].disks[0].source, disk);
    lv_v2v_vm_list_release(&l);

    assert_int_equal(lv_v2v_find_vm(&p, "old", &vm, &err), 0);
    assert_non_null(vm.xml);
    assert_non_null(strstr(vm.xml, "<name>old</name>"));
    lv_v2v_vm_release(&vm);
    assert_int_equal(lv_v2v_find_vm(&p, "nosuch", &vm, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);

    cg_error_clear(&err);
    assert_int_equal(cg_provider_set(&p, "uri", "test:///default", why, sizeof(why)), 0);
    assert_int_equal(lv_v2v_find_vm(&p, "test", &vm, &err), 0);
    assert_true(vm.active);
    assert_string_equal(vm.state, "running");
    assert_int_equal(lv_v2v_check_importable(&vm, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    lv_v2v_vm_release(&vm);
    cg_provider_release(&p);
    unlink(node);
    unlink(disk);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_disks),
        cmocka_unit_test(test_parse_no_disks_and_default_device),
        cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_parse_no_entities),
        cmocka_unit_test(test_importable),
        cmocka_unit_test(test_uri_check),
        cmocka_unit_test(test_provider_settings),
        cmocka_unit_test(test_config_sections),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_list_and_find),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
