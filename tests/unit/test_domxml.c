/* cloudgate unit tests: domain, metadata and volume XML (drivers/libvirt/lv_domxml.c)
 * and the shared helpers of drivers/driver.c.
 *
 * Built XML is compared byte for byte with golden files in
 * $CG_TOP_SRCDIR/tests/domxml/ (default "."); CG_REGENERATE=1 rewrites them
 * instead, for review with git diff.  Goldens are also checked against
 * libvirt's schemas with virt-xml-validate, and the domain XML is defined on
 * libvirt's test:///default driver and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "drivers/libvirt/lv_display.h"
#include "drivers/libvirt/lv_domxml.h"

extern char **environ;

/* ---- fixtures ------------------------------------------------------------ */

/* The awkward tag values: markup characters, entity look-alikes, quotes,
 * whitespace that XML normalises unless escaped, non-ASCII text. */
static const char *const tricky_tags[][2] = {
    {"Name", "web <b>1</b> & \"friends\" 'n' more"},
    {"<&>\"'", "&amp; is not &; ]]> <!-- no comment --> <![CDATA[x]]>"},
    {"whitespace", "  lead\ttab\r\ncrlf trail  "},
    {" key\twith\r\nbreaks ", "attribute values normalise whitespace unless escaped"},
    {"blank", "   "},
    {"empty", ""},
    {"unicode", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x90\xa7"},
};

static void fill_meta(cg_instance *m, int tricky)
{
    size_t i;

    memset(m, 0, sizeof(*m));
    strcpy(m->id, "i-0123456789abcdef0");
    strcpy(m->image_id, "ami-0fedcba9876543210");
    strcpy(m->reservation_id, "r-00112233445566778");
    strcpy(m->instance_type, "t2.micro");
    strcpy(m->zone, "cloudgate-a");
    strcpy(m->key_name, tricky ? "ops <key> & \"co\"" : "ops-key");
    strcpy(m->client_token, tricky ? "tok'en&" : "");
    m->launch_time = 1763807362; /* 2025-11-22T10:29:22Z */
    m->ami_launch_index = 2;
    if (tricky) {
        for (i = 0; i < sizeof(tricky_tags) / sizeof(tricky_tags[0]); i++)
            assert_int_equal(cg_tags_set(&m->tags, tricky_tags[i][0], tricky_tags[i][1]), 0);
    } else {
        assert_int_equal(cg_tags_set(&m->tags, "Name", "web-1"), 0);
        assert_int_equal(cg_tags_set(&m->tags, "env", "prod"), 0);
    }
}

static void fill_spec(lv_domain_spec *s, const char *type, const cg_instance *m)
{
    memset(s, 0, sizeof(*s));
    s->domain_type = type;
    s->name = m->id;
    s->vcpus = 2;
    s->memory_mib = 512;
    s->disk_path = "/var/lib/libvirt/images/i-0123456789abcdef0.qcow2";
    s->disk_format = "qcow2";
    s->network = "cloudgate";
    s->mac = "52:54:00:a1:b2:c3";
    s->console_log = "/var/lib/cloudgate/console/i-0123456789abcdef0.log";
    /* Every instance has its cloud-init seed. */
    s->seed_path = "/var/lib/libvirt/images/i-0123456789abcdef0-seed.iso";
    s->meta = m;
}

static void fill_direct_kernel(lv_domain_spec *s)
{
    s->kernel = "/var/lib/cloudgate/kernels/vmlinuz-6.1.0-28-amd64";
    s->initrd = "/var/lib/cloudgate/kernels/initrd.img-6.1.0-28-amd64";
    s->cmdline = "console=ttyS0 root=/dev/vda rw quiet";
}

/* ---- golden files ---------------------------------------------------------- */

static void golden_path(char *path, size_t len, const char *name)
{
    const char *top = getenv("CG_TOP_SRCDIR");

    snprintf(path, len, "%s/tests/domxml/%s", top && *top ? top : ".", name);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1))) {
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        } else {
            buf[size] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* Compare actual with the golden file name, or rewrite it under
 * CG_REGENERATE=1.  Takes ownership of actual. */
static void check_golden(const char *name, char *actual)
{
    const char *regen = getenv("CG_REGENERATE");
    char path[PATH_MAX];
    char *expected;
    size_t i, line = 1;
    FILE *f;

    assert_non_null(actual);
    golden_path(path, sizeof(path), name);
    if (regen && strcmp(regen, "1") == 0) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(actual, 1, strlen(actual), f), strlen(actual));
        assert_int_equal(fclose(f), 0);
        fprintf(stderr, "regenerated %s\n", path);
        free(actual);
        return;
    }
    expected = read_file(path);
    if (!expected) {
        free(actual);
        fail_msg("cannot read %s (set CG_TOP_SRCDIR, or CG_REGENERATE=1 to create it)", path);
    }
    for (i = 0; expected[i] && expected[i] == actual[i]; i++)
        line += expected[i] == '\n';
    if (expected[i] != actual[i]) {
        while (i > 0 && expected[i - 1] != '\n')
            i--;
        fprintf(stderr, "%s: line %zu differs\n  expected: %.*s\n  actual:   %.*s\n", path, line,
                (int)strcspn(expected + i, "\n"), expected + i, (int)strcspn(actual + i, "\n"),
                actual + i);
        free(expected);
        free(actual);
        fail_msg("output differs from %s", name);
    }
    free(expected);
    free(actual);
}

static void test_golden_direct_kernel_qemu(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};

    fill_meta(&m, 0);
    fill_spec(&s, "qemu", &m);
    fill_direct_kernel(&s);
    check_golden("direct-kernel-qemu.xml", lv_domxml_build(&s, &err));
    assert_int_equal(err.kind, CG_ERR_NONE);
    cg_instance_release(&m);
}

/* No seed ISO: the guest learns it is on EC2 from SMBIOS (serial = uuid =
 * "ec2..."), so cloud-init reads the metadata service. */
static void test_golden_smbios_imds(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};

    (void)state;
    fill_meta(&m, 0);
    fill_spec(&s, "qemu", &m);
    s.seed_path = NULL;
    s.smbios_uuid = "ec2a1b2c-3d4e-5f60-7180-000000000000";
    check_golden("smbios-imds-qemu.xml", lv_domxml_build(&s, &err));
    assert_int_equal(err.kind, CG_ERR_NONE);
    cg_instance_release(&m);
}

/* A NIC under security groups: its filter, the address learned by DHCP. */
static void test_golden_nwfilter(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};

    fill_meta(&m, 0);
    fill_spec(&s, "qemu", &m);
    fill_direct_kernel(&s);
    s.nwfilter = "cg-nic-545bf456643bf879";
    check_golden("nwfilter-qemu.xml", lv_domxml_build(&s, &err));
    assert_int_equal(err.kind, CG_ERR_NONE);
    cg_instance_release(&m);
}

/* As lv_nwfilter_is_nic (kept out of this test's link). */
static int is_nic(const char *name)
{
    return strncmp(name, "cg-nic-", 7) == 0 || strncmp(name, "cg-i-", 5) == 0;
}

/* A group change swaps the NIC's filter: the device for
 * virDomainUpdateDeviceFlags keeps everything but the filter's name. */
static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("no '%s' in:\n%s", part, text);
}

static void test_nic_refiltered(void **state)
{
    static const char live[] =
        "<domain type='qemu'><name>i-1</name><devices>"
        "<interface type='network'><source network='default'/></interface>"
        "<interface type='network'><mac address='52:54:00:aa:bb:cc'/>"
        "<source network='cg'/><target dev='vnet3'/>"
        "<filterref filter='cg-i-i-1'><parameter name='CTRL_IP_LEARNING' value='dhcp'/>"
        "</filterref><alias name='net1'/></interface></devices></domain>";
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};
    char *xml, *dev;

    (void)state;
    fill_meta(&m, 0);
    fill_spec(&s, "qemu", &m);
    s.nwfilter = "cg-nic-545bf456643bf879";
    xml = lv_domxml_build(&s, &err);
    assert_non_null(xml);
    dev = lv_domxml_nic_refiltered(xml, is_nic, "cg-nic-6be0121dc9cf3067", &err);
    assert_non_null(dev);
    assert_has(dev, "<filterref filter=\"cg-nic-6be0121dc9cf3067\">");
    assert_has(dev, "<parameter name=\"CTRL_IP_LEARNING\" value=\"dhcp\"/>");
    assert_null(strstr(dev, "545bf456643bf879"));
    assert_int_equal(strncmp(dev, "<interface type=\"network\">", 26), 0);
    assert_has(dev, s.mac);
    free(dev);
    free(xml);
    /* A live definition from before shared filters: the NIC with the
     * filter, not the first one; its target and alias kept. */
    dev = lv_domxml_nic_refiltered(live, is_nic, "cg-nic-6be0121dc9cf3067", &err);
    assert_non_null(dev);
    assert_has(dev, "<target dev=\"vnet3\"/>");
    assert_has(dev, "<alias name=\"net1\"/>");
    assert_has(dev, "52:54:00:aa:bb:cc");
    assert_has(dev, "<filterref filter=\"cg-nic-6be0121dc9cf3067\">");
    free(dev);
    /* No filtered NIC; not XML. */
    s.nwfilter = NULL;
    xml = lv_domxml_build(&s, &err);
    assert_null(lv_domxml_nic_refiltered(xml, is_nic, "cg-nic-6be0121dc9cf3067", &err));
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_null(lv_domxml_nic_refiltered("<domain", is_nic, "cg-nic-6be0121dc9cf3067", &err));
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    free(xml);
    cg_instance_release(&m);
}

static void test_golden_disk_boot_kvm(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};

    fill_meta(&m, 0);
    fill_spec(&s, "kvm", &m);
    s.memory_mib = 4096;
    check_golden("disk-boot-kvm.xml", lv_domxml_build(&s, &err));
    cg_instance_release(&m);
}

/* The shape the integration tests define on test:///default; no console
 * log.  Also the shape without a seed (instances from before seeds). */
static void test_golden_test_driver(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};

    fill_meta(&m, 0);
    fill_spec(&s, "test", &m);
    s.network = "default";
    s.console_log = NULL;
    s.seed_path = NULL;
    check_golden("test-driver.xml", lv_domxml_build(&s, &err));
    cg_instance_release(&m);
}

static void test_golden_tags_escaping(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};
    char *xml;

    fill_meta(&m, 1);
    fill_spec(&s, "qemu", &m);
    xml = lv_domxml_build(&s, &err);
    assert_non_null(xml);
    /* No user value may appear as markup. */
    assert_null(strstr(xml, "<b>"));
    assert_null(strstr(xml, "<!--"));
    assert_null(strstr(xml, "<![CDATA["));
    assert_null(strstr(xml, "<key>"));
    check_golden("tags-escaping.xml", xml);
    cg_instance_release(&m);
}

/* Termination protection: one more metadata element, only while set. */
static void test_golden_protected(void **state)
{
    cg_instance m, out;
    lv_domain_spec s;
    cg_error err = {0};
    char *xml;

    fill_meta(&m, 0);
    m.disable_api_termination = 1;
    fill_spec(&s, "qemu", &m);
    xml = lv_domxml_build(&s, &err);
    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(xml, &out, &err), 1);
    assert_int_equal(out.disable_api_termination, 1);
    cg_instance_release(&out);
    check_golden("protected.xml", xml);
    cg_instance_release(&m);
}

static void test_golden_metadata(void **state)
{
    cg_instance m;
    cg_error err = {0};

    fill_meta(&m, 1);
    check_golden("metadata.xml", lv_metadata_build(&m, &err));
    cg_instance_release(&m);
}

static void test_golden_volumes(void **state)
{
    cg_error err = {0};

    check_golden("volume-overlay.xml",
                 lv_volxml_build("i-0123456789abcdef0.qcow2", 10737418240ULL, "qcow2",
                                 "/var/lib/libvirt/images/ami-0fedcba9876543210.qcow2", "qcow2",
                                 &err));
    check_golden("volume-plain.xml", lv_volxml_build("ami-0fedcba9876543210.raw", 2147483648ULL,
                                                     "raw", NULL, NULL, &err));
    /* The cloud-init seed image, as lv_storage_upload creates it. */
    check_golden("volume-seed.xml", lv_volxml_build("i-0123456789abcdef0-seed.iso", 376832ULL,
                                                    "raw", NULL, NULL, &err));
    assert_int_equal(err.kind, CG_ERR_NONE);
}

/* ---- displays: headless, VNC, SPICE, run-once ----------------------------- */

/* stored: the metadata's choice; shape: the devices (they differ in a run-once). */
static char *build_display(cg_display stored, cg_display shape)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err = {0};
    char *xml;

    fill_meta(&m, 0);
    m.display = stored;
    fill_spec(&s, "qemu", &m);
    fill_direct_kernel(&s);
    s.display = shape;
    s.display_listen = "127.0.0.1";
    s.display_password = shape == CG_DISPLAY_HEADLESS ? NULL : "s3cret";
    xml = lv_domxml_build(&s, &err);
    assert_int_equal(err.kind, CG_ERR_NONE);
    cg_instance_release(&m);
    return xml;
}

static void test_golden_displays(void **state)
{
    /* stored choice, device shape, golden, what must (+) or must not (-) be there */
    static const struct {
        cg_display stored, shape;
        const char *golden;
        const char *checks[4];
    } cases[] = {
        {CG_DISPLAY_HEADLESS, CG_DISPLAY_HEADLESS, "display-headless.xml",
         {"-<graphics", "+<model type=\"none\"/>", "+<bios useserial=\"yes\"/>",
          "+<console type=\"pty\">"}},
        {CG_DISPLAY_VNC, CG_DISPLAY_VNC, "display-vnc.xml",
         {"+<graphics type=\"vnc\" autoport=\"yes\"", "+<input type=\"tablet\" bus=\"usb\"/>",
          "+<console type=\"pty\">", "+<model type=\"vga\"/>"}},
        {CG_DISPLAY_SPICE, CG_DISPLAY_SPICE, "display-spice.xml",
         {"+<graphics type=\"spice\" autoport=\"yes\"", "+<model type=\"qxl\"/>",
          "+name=\"com.redhat.spice.0\"", "+<console type=\"pty\">"}},
        /* A headless machine started once with SPICE: the metadata keeps headless. */
        {CG_DISPLAY_HEADLESS, CG_DISPLAY_SPICE, "display-run-once.xml",
         {"+<cloudgate:display>headless</cloudgate:display>", "+<graphics type=\"spice\"",
          "-<model type=\"none\"/>", "+<bios useserial=\"yes\"/>"}},
    };
    size_t i, j;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *xml = build_display(cases[i].stored, cases[i].shape);

        for (j = 0; j < 4; j++) {
            const char *c = cases[i].checks[j];

            if ((strstr(xml, c + 1) != NULL) != (c[0] == '+'))
                fail_msg("%s: '%s' %s", cases[i].golden, c + 1,
                         c[0] == '+' ? "missing" : "present");
        }
        check_golden(cases[i].golden, xml);
    }
}

/* The effective display: image default x launch override x run-once. */
static void test_display_inheritance_matrix(void **state)
{
    static const cg_display images[] = {CG_DISPLAY_HEADLESS, CG_DISPLAY_VNC, CG_DISPLAY_SPICE};
    static const cg_display choices[] = {CG_DISPLAY_DEFAULT, CG_DISPLAY_HEADLESS, CG_DISPLAY_VNC,
                                         CG_DISPLAY_SPICE};
    size_t i, j, k;

    for (i = 0; i < 3; i++) {
        for (j = 0; j < 4; j++) {
            cg_display stored = lv_display_choose(images[i], choices[j], CG_DISPLAY_VNC);
            cg_display want = choices[j] != CG_DISPLAY_DEFAULT ? choices[j] : images[i];

            assert_int_equal(stored, want);
            for (k = 0; k < 4; k++) {
                cg_display once = choices[k];

                /* A run-once runs its display; an ordinary start the stored one. */
                assert_int_equal(lv_display_for_start(stored, once),
                                 once != CG_DISPLAY_DEFAULT ? once : stored);
                /* ...and the next ordinary start is back to the stored one. */
                assert_int_equal(lv_display_for_start(stored, CG_DISPLAY_DEFAULT), stored);
            }
        }
    }
    /* An image without a choice (DEFAULT) takes the gateway default. */
    assert_int_equal(lv_display_choose(CG_DISPLAY_DEFAULT, CG_DISPLAY_DEFAULT, CG_DISPLAY_SPICE),
                     CG_DISPLAY_SPICE);
    assert_int_equal(lv_display_choose(CG_DISPLAY_DEFAULT, CG_DISPLAY_DEFAULT, CG_DISPLAY_DEFAULT),
                     CG_DISPLAY_HEADLESS);
    assert_int_equal(lv_display_for_start(CG_DISPLAY_DEFAULT, CG_DISPLAY_DEFAULT),
                     CG_DISPLAY_HEADLESS);
    assert_string_equal(cg_display_name(CG_DISPLAY_SPICE), "spice");
}

/* Switching edits libvirt's own definition: a hot-plugged disk and the
 * uuid stay, the devices of the other shapes go. */
static void test_display_edit(void **state)
{
    static const cg_display seq[] = {CG_DISPLAY_VNC, CG_DISPLAY_SPICE, CG_DISPLAY_HEADLESS};
    lv_display_opts o = {"127.0.0.1", NULL};
    cg_instance m, out;
    lv_domain_spec s;
    cg_error err = {0};
    virConnectPtr conn;
    virDomainPtr dom;
    char uuid[VIR_UUID_STRING_BUFLEN], uuid2[VIR_UUID_STRING_BUFLEN];
    char *xml, *back, *edited;
    size_t i;

    fill_meta(&m, 0);
    fill_spec(&s, "test", &m);
    s.network = "default";
    xml = lv_domxml_build(&s, &err);
    assert_non_null(xml);
    /* A disk attached later (the test driver cannot hot-plug). */
    back = strstr(xml, "<memballoon");
    assert_non_null(back);
    edited = malloc(strlen(xml) + 200);
    sprintf(edited, "%.*s<disk type='file' device='disk'><source file='/tmp/vol-1.qcow2'/>"
                    "<target dev='vdb' bus='virtio'/></disk>%s",
            (int)(back - xml), xml, back);
    conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    dom = virDomainDefineXML(conn, edited);
    free(edited);
    assert_non_null(dom);
    assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
    virDomainFree(dom);
    for (i = 0; i < 3; i++) {
        dom = virDomainLookupByName(conn, m.id);
        back = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        virDomainFree(dom);
        edited = lv_domxml_display(back, seq[i], &o, &err);
        assert_non_null(edited);
        dom = virDomainDefineXML(conn, edited);
        assert_non_null(dom);
        assert_int_equal(virDomainGetUUIDString(dom, uuid2), 0);
        assert_string_equal(uuid, uuid2);
        free(back);
        back = virDomainGetXMLDesc(dom, 0);
        assert_non_null(strstr(back, "/tmp/vol-1.qcow2"));
        assert_non_null(strstr(back, "<console type='pty'>"));
        assert_int_equal(strstr(back, "<graphics") != NULL, seq[i] != CG_DISPLAY_HEADLESS);
        assert_int_equal(strstr(back, "spicevmc") != NULL, seq[i] == CG_DISPLAY_SPICE);
        assert_int_equal(strstr(back, "tablet") != NULL, seq[i] != CG_DISPLAY_HEADLESS);
        /* Inactive: the metadata's choice, nothing live. */
        memset(&out, 0, sizeof(out));
        assert_int_equal(lv_domxml_parse(back, &out, &err), 1);
        assert_int_equal(out.display, CG_DISPLAY_HEADLESS);
        assert_int_equal(out.display_live, CG_DISPLAY_DEFAULT);
        cg_instance_release(&out);
        free(back);
        free(edited);
        virDomainFree(dom);
    }
    dom = virDomainLookupByName(conn, m.id);
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
    free(xml);
    cg_instance_release(&m);
}

/* A running domain's XML (with an id) tells what runs and where. */
static void test_display_parse_live(void **state)
{
    const char *xml =
        "<domain type='qemu' id='7'><name>i-1</name><metadata><c:instance xmlns:c='" LV_METADATA_NS
        "'><c:display>headless</c:display></c:instance></metadata>"
        "<memory unit='MiB'>256</memory><vcpu>1</vcpu><devices>"
        "<graphics type='spice' port='5901' autoport='yes' listen='127.0.0.1'>"
        "<listen type='address' address='127.0.0.1'/></graphics></devices></domain>";
    const char *old = "<domain type='qemu'><name>i-2</name><metadata><c:instance xmlns:c='"
                      LV_METADATA_NS "'/></metadata><memory>1024</memory><vcpu>1</vcpu></domain>";
    const char *bad = "<domain type='qemu'><name>i-3</name><metadata><c:instance xmlns:c='"
                      LV_METADATA_NS "'><c:display>hologram</c:display></c:instance></metadata>"
                      "<memory>1024</memory><vcpu>1</vcpu></domain>";
    cg_instance out;
    cg_error err = {0};

    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(xml, &out, &err), 1);
    assert_int_equal(out.display, CG_DISPLAY_HEADLESS);
    assert_int_equal(out.display_live, CG_DISPLAY_SPICE);
    assert_string_equal(out.display_addr, "127.0.0.1");
    assert_int_equal(out.display_port, 5901);
    cg_instance_release(&out);

    /* Made before displays existed: headless. */
    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(old, &out, &err), 1);
    assert_int_equal(out.display, CG_DISPLAY_HEADLESS);
    assert_int_equal(out.display_live, CG_DISPLAY_DEFAULT);
    cg_instance_release(&out);

    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(bad, &out, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
}

/* Run virt-xml-validate FILE TYPE, its output shown only when verbose; its
 * exit status, or -1 when it is not installed. */
static int run_validate(const char *path, const char *type, int verbose)
{
    char *argv[] = {"virt-xml-validate", (char *)path, (char *)type, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = -1, rc;

    posix_spawn_file_actions_init(&fa);
    if (!verbose) {
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    }
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -2;
    return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
}

static void test_goldens_validate(void **state)
{
    static const char *const files[][2] = {
        {"direct-kernel-qemu.xml", "domain"}, {"disk-boot-kvm.xml", "domain"},
        {"test-driver.xml", "domain"},        {"tags-escaping.xml", "domain"},
        {"volume-overlay.xml", "storagevol"}, {"volume-plain.xml", "storagevol"},
        {"volume-seed.xml", "storagevol"},    {"protected.xml", "domain"},
        {"display-headless.xml", "domain"},   {"display-vnc.xml", "domain"},
        {"display-spice.xml", "domain"},      {"display-run-once.xml", "domain"},
        {"nwfilter-qemu.xml", "domain"},
    };
    char path[PATH_MAX];
    size_t i;
    int rc;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        golden_path(path, sizeof(path), files[i][0]);
        rc = run_validate(path, files[i][1], 0);
        if (rc == -1)
            skip(); /* libvirt-clients not installed */
        if (rc != 0) {
            run_validate(path, files[i][1], 1); /* again, to show why */
            fail_msg("virt-xml-validate %s %s: exit %d", path, files[i][1], rc);
        }
    }
}

/* ---- round trips ----------------------------------------------------------- */

static void assert_same_instance(const cg_instance *got, const cg_instance *want,
                                 const lv_domain_spec *s)
{
    size_t i;

    assert_string_equal(got->id, want->id);
    assert_string_equal(got->image_id, want->image_id);
    assert_string_equal(got->reservation_id, want->reservation_id);
    assert_string_equal(got->instance_type, want->instance_type);
    assert_string_equal(got->zone, want->zone);
    assert_string_equal(got->key_name, want->key_name);
    assert_string_equal(got->client_token, want->client_token);
    assert_int_equal(got->launch_time, want->launch_time);
    assert_int_equal(got->ami_launch_index, want->ami_launch_index);
    assert_string_equal(got->mac, s->mac);
    assert_int_equal(got->vcpus, s->vcpus);
    assert_int_equal(got->memory_mib, s->memory_mib);
    assert_int_equal(got->tags.n, want->tags.n);
    for (i = 0; i < want->tags.n; i++) {
        assert_string_equal(got->tags.v[i].key, want->tags.v[i].key);
        assert_string_equal(got->tags.v[i].value, want->tags.v[i].value);
    }
}

static void test_roundtrip(void **state)
{
    static const char *const types[] = {"qemu", "kvm", "test"};
    cg_instance m, out;
    lv_domain_spec s;
    cg_error err = {0};
    char *xml;
    size_t t;

    for (t = 0; t < 3; t++) {
        fill_meta(&m, t != 1);
        fill_spec(&s, types[t], &m);
        if (t == 0)
            fill_direct_kernel(&s);
        xml = lv_domxml_build(&s, &err);
        assert_non_null(xml);

        /* What parse must leave alone, and stale tags it must replace. */
        memset(&out, 0, sizeof(out));
        out.state = CG_STATE_RUNNING;
        strcpy(out.private_ip, "192.168.122.10");
        strcpy(out.state_reason, "kept");
        out.state_time = 42;
        assert_int_equal(cg_tags_set(&out.tags, "stale", "x"), 0);

        assert_int_equal(lv_domxml_parse(xml, &out, &err), 1);
        assert_int_equal(err.kind, CG_ERR_NONE);
        assert_same_instance(&out, &m, &s);
        assert_null(cg_tags_get(&out.tags, "stale"));
        assert_int_equal(out.state, CG_STATE_RUNNING);
        assert_string_equal(out.private_ip, "192.168.122.10");
        assert_string_equal(out.state_reason, "kept");
        assert_int_equal(out.state_time, 42);
        free(xml);
        cg_instance_release(&out);
        cg_instance_release(&m);
    }
}

/* Define on libvirt's test driver, read libvirt's own serialisation back,
 * then replace the metadata as lv_driver does for CreateTags. */
static void test_libvirt_accepts(void **state)
{
    cg_instance m, out;
    lv_domain_spec s;
    cg_error err = {0};
    virConnectPtr conn;
    virDomainPtr dom;
    char *xml, *back, *md;

    fill_meta(&m, 1);
    fill_spec(&s, "test", &m);
    s.network = "default";
    xml = lv_domxml_build(&s, &err);
    assert_non_null(xml);

    conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    dom = virDomainDefineXML(conn, xml);
    assert_non_null(dom);
    back = virDomainGetXMLDesc(dom, 0);
    assert_non_null(back);
    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(back, &out, &err), 1);
    assert_same_instance(&out, &m, &s);
    free(back);
    cg_instance_release(&out);

    /* New tags through virDomainSetMetadata, under our prefix and under
     * another one: parse matches the namespace URI, not the prefix. */
    assert_int_equal(cg_tags_set(&m.tags, "added", "<new> & \"improved\""), 0);
    cg_tags_remove(&m.tags, "blank", NULL);
    md = lv_metadata_build(&m, &err);
    assert_non_null(md);
    assert_int_equal(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, md, LV_METADATA_PREFIX,
                                          LV_METADATA_NS, VIR_DOMAIN_AFFECT_CONFIG),
                     0);
    back = virDomainGetXMLDesc(dom, 0);
    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(back, &out, &err), 1);
    assert_same_instance(&out, &m, &s);
    free(back);
    cg_instance_release(&out);

    assert_int_equal(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, md, "other",
                                          LV_METADATA_NS, VIR_DOMAIN_AFFECT_CONFIG),
                     0);
    back = virDomainGetXMLDesc(dom, 0);
    assert_non_null(strstr(back, "other"));
    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(back, &out, &err), 1);
    assert_same_instance(&out, &m, &s);
    assert_int_equal(err.kind, CG_ERR_NONE);

    free(back);
    free(md);
    free(xml);
    cg_instance_release(&out);
    cg_instance_release(&m);
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
}

/* ModifyInstanceAttribute's redefinition: libvirt's own XML back with a new
 * size and metadata, everything else (seed CD-ROM, uuid) kept. */
static void test_update(void **state)
{
    cg_instance m, out;
    lv_domain_spec s;
    cg_error err = {0};
    virConnectPtr conn;
    virDomainPtr dom;
    char uuid[VIR_UUID_STRING_BUFLEN], uuid2[VIR_UUID_STRING_BUFLEN];
    char *xml, *back, *upd;

    fill_meta(&m, 1);
    fill_spec(&s, "test", &m);
    s.network = "default";
    xml = lv_domxml_build(&s, &err);
    conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    dom = virDomainDefineXML(conn, xml);
    assert_non_null(dom);
    assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
    back = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    virDomainFree(dom);

    m.vcpus = 4;
    m.memory_mib = 2048;
    strcpy(m.instance_type, "m5.large");
    m.disable_api_termination = 1;
    assert_int_equal(cg_tags_set(&m.tags, "new", "<tag>"), 0);
    upd = lv_domxml_update(back, &m, &err);
    assert_non_null(upd);
    dom = virDomainDefineXML(conn, upd);
    assert_non_null(dom);
    assert_int_equal(virDomainGetUUIDString(dom, uuid2), 0);
    assert_string_equal(uuid, uuid2);
    free(back);
    back = virDomainGetXMLDesc(dom, 0);
    assert_non_null(strstr(back, s.seed_path));
    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(back, &out, &err), 1);
    s.vcpus = 4;
    s.memory_mib = 2048;
    assert_same_instance(&out, &m, &s);
    assert_int_equal(out.disable_api_termination, 1);
    cg_instance_release(&out);

    /* Cleared again: the element goes. */
    m.disable_api_termination = 0;
    free(upd);
    upd = lv_domxml_update(back, &m, &err);
    assert_null(strstr(upd, "disable-api-termination"));
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
    free(upd);
    free(back);
    free(xml);

    /* A hand-made domain: "current" vcpus dropped, missing elements added. */
    upd = lv_domxml_update("<domain type='test'><name>x</name><memory unit='MiB'>256</memory>"
                           "<vcpu placement='static' current='1'>2</vcpu></domain>",
                           &m, &err);
    assert_non_null(upd);
    assert_non_null(strstr(upd, "<vcpu placement=\"static\">4</vcpu>"));
    assert_non_null(strstr(upd, "<memory unit=\"KiB\">2097152</memory>"));
    assert_non_null(strstr(upd, "<currentMemory unit=\"KiB\">2097152</currentMemory>"));
    assert_non_null(strstr(upd, "<cloudgate:instance-type>m5.large<"));
    free(upd);

    assert_null(lv_domxml_update("<network/>", &m, &err));
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    cg_error_clear(&err);
    m.vcpus = 0;
    assert_null(lv_domxml_update("<domain/>", &m, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_instance_release(&m);
}

/* ---- parse: foreign and broken input --------------------------------------- */

/* A domain somebody else defined, with the metadata given. */
#define DOM_HEAD "<domain type='qemu'><name>other-vm</name>"
#define DOM_TAIL "<memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
#define PLAIN_DOMAIN(metadata) DOM_HEAD metadata DOM_TAIL

static void test_parse_rejects_garbage(void **state)
{
    static const char *const bad[] = {
        "",
        "not xml at all",
        "<domain type='qemu'><name>x</name>",
        "<network/>",
        "<x:domain xmlns:x='urn:x'/>",
    };
    cg_instance out;
    cg_error err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&out, 0, sizeof(out));
        strcpy(out.id, "untouched");
        cg_error_clear(&err);
        assert_int_equal(lv_domxml_parse(bad[i], &out, &err), -1);
        assert_int_not_equal(err.kind, CG_ERR_NONE);
        assert_string_equal(out.id, "untouched");
    }
}

static void test_parse_foreign_domains(void **state)
{
    static const char *const foreign[] = {
        PLAIN_DOMAIN(""),
        PLAIN_DOMAIN("<metadata><app:vm xmlns:app='urn:app'><id>i-1</id></app:vm></metadata>"),
        /* our prefix bound to somebody else's namespace is not ours */
        PLAIN_DOMAIN("<metadata><cloudgate:instance xmlns:cloudgate='urn:not-cloudgate'>"
                     "<cloudgate:id>i-1</cloudgate:id></cloudgate:instance></metadata>"),
        PLAIN_DOMAIN("<metadata><instance><id>i-1</id></instance></metadata>"),
    };
    cg_instance out;
    cg_error err = {0};
    size_t i;

    for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        memset(&out, 0, sizeof(out));
        assert_int_equal(lv_domxml_parse(foreign[i], &out, &err), 0);
        assert_int_equal(err.kind, CG_ERR_NONE);
        assert_string_equal(out.id, "");
        assert_int_equal(out.vcpus, 0);
    }
}

static void test_parse_other_prefix_and_units(void **state)
{
    const char *xml = PLAIN_DOMAIN(
        "<metadata><q:instance xmlns:q='" LV_METADATA_NS "'><q:image-id>ami-1</q:image-id>"
        "<q:launch-time>1700000000</q:launch-time><q:tags><q:tag key='a'>1</q:tag>"
        "<q:tag key='a'>2</q:tag><q:tag key='b'/></q:tags></q:instance></metadata>");
    cg_instance out;
    cg_error err = {0};

    memset(&out, 0, sizeof(out));
    assert_int_equal(lv_domxml_parse(xml, &out, &err), 1);
    assert_string_equal(out.id, "other-vm"); /* no <id>: the domain name */
    assert_string_equal(out.image_id, "ami-1");
    assert_int_equal(out.launch_time, 1700000000);
    assert_int_equal(out.memory_mib, 256);
    assert_int_equal(out.vcpus, 1);
    assert_string_equal(out.mac, "");
    assert_int_equal(out.tags.n, 2);
    assert_string_equal(cg_tags_get(&out.tags, "a"), "2");
    assert_string_equal(cg_tags_get(&out.tags, "b"), "");
    cg_instance_release(&out);
}

static void test_parse_rejects_bad_fields(void **state)
{
    static const char *const bad[] = {
        PLAIN_DOMAIN("<metadata><c:instance xmlns:c='" LV_METADATA_NS "'>"
                     "<c:id>i-0123456789abcdef0123456789</c:id></c:instance></metadata>"),
        PLAIN_DOMAIN("<metadata><c:instance xmlns:c='" LV_METADATA_NS "'>"
                     "<c:launch-time>yesterday</c:launch-time></c:instance></metadata>"),
        PLAIN_DOMAIN("<metadata><c:instance xmlns:c='" LV_METADATA_NS "'>"
                     "<c:ami-launch-index>-1</c:ami-launch-index></c:instance></metadata>"),
        PLAIN_DOMAIN("<metadata><c:instance xmlns:c='" LV_METADATA_NS "'>"
                     "<c:tags><c:tag>no key</c:tag></c:tags></c:instance></metadata>"),
        "<domain><metadata><c:instance xmlns:c='" LV_METADATA_NS "'/></metadata>"
        "<memory unit='parsecs'>1</memory><vcpu>1</vcpu></domain>",
    };
    cg_instance out;
    cg_error err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&out, 0, sizeof(out));
        cg_error_clear(&err);
        assert_int_equal(lv_domxml_parse(bad[i], &out, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INTERNAL);
        assert_int_equal(out.tags.n, 0);
    }
}

/* ---- build: refused input -------------------------------------------------- */

static void test_build_rejects(void **state)
{
    cg_instance m;
    lv_domain_spec s;
    cg_error err;
    int i;

    for (i = 0; i < 8; i++) {
        fill_meta(&m, 0);
        fill_spec(&s, "qemu", &m);
        switch (i) {
        case 0:
            s.domain_type = "xen";
            break;
        case 1:
            s.name = "";
            break;
        case 2:
            s.vcpus = 0;
            break;
        case 3:
            s.meta = NULL;
            break;
        case 4:
            s.initrd = "/boot/initrd";
            break;
        case 5:
            assert_int_equal(cg_tags_set(&m.tags, "ctl", "bell\a"), 0);
            break;
        case 6:
            assert_int_equal(cg_tags_set(&m.tags, "utf8", "\xc3\x28"), 0);
            break;
        case 7: /* a UTF-16 surrogate */
            s.disk_path = "/tmp/\xed\xa0\x80";
            break;
        }
        cg_error_clear(&err);
        assert_null(lv_domxml_build(&s, &err));
        assert_int_equal(err.kind, CG_ERR_INVALID);
        assert_true(err.message[0] != '\0');
        cg_instance_release(&m);
    }
    cg_error_clear(&err);
    assert_null(lv_volxml_build(NULL, 1, "qcow2", NULL, NULL, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_null(lv_metadata_build(NULL, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
}

/* ---- drivers/driver.c helpers ---------------------------------------------- */

static void test_tags(void **state)
{
    cg_tags t = {0}, c = {0};

    assert_int_equal(cg_tags_set(&t, "a", "1"), 0);
    assert_int_equal(cg_tags_set(&t, "b", NULL), 0);
    assert_int_equal(cg_tags_set(&t, "c", "3"), 0);
    assert_int_equal(cg_tags_set(&t, "a", "one"), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(cg_tags_get(&t, "a"), "one");
    assert_string_equal(cg_tags_get(&t, "b"), "");
    assert_null(cg_tags_get(&t, "zz"));

    cg_tags_remove(&t, "a", "1"); /* value differs: kept */
    assert_int_equal(t.n, 3);
    cg_tags_remove(&t, "a", "one");
    cg_tags_remove(&t, "nope", NULL);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].key, "b"); /* order kept */
    assert_string_equal(t.v[1].key, "c");

    assert_int_equal(cg_tags_copy(&c, &t), 0);
    cg_tags_release(&t);
    assert_int_equal(c.n, 2);
    assert_string_equal(cg_tags_get(&c, "c"), "3");
    cg_tags_remove(&c, "b", NULL);
    cg_tags_remove(&c, "c", NULL);
    assert_int_equal(c.n, 0);
    assert_null(c.v);
    assert_int_equal(cg_tags_copy(&c, NULL), 0);
    cg_tags_release(&c);
    cg_tags_release(NULL);
}

static void test_instances_images(void **state)
{
    cg_instance m;
    cg_instance_list list = {0};
    cg_image img = {0}, copy;
    cg_image_list images = {0};
    cg_zone_list zones = {0};

    assert_string_equal(cg_instance_state_name(CG_STATE_PENDING), "pending");
    assert_string_equal(cg_instance_state_name(CG_STATE_RUNNING), "running");
    assert_string_equal(cg_instance_state_name(CG_STATE_SHUTTING_DOWN), "shutting-down");
    assert_string_equal(cg_instance_state_name(CG_STATE_TERMINATED), "terminated");
    assert_string_equal(cg_instance_state_name(CG_STATE_STOPPING), "stopping");
    assert_string_equal(cg_instance_state_name(CG_STATE_STOPPED), "stopped");

    fill_meta(&m, 1);
    assert_int_equal(cg_instance_list_append(&list, &m), 0);
    assert_int_equal(cg_instance_list_append(&list, &m), 0);
    cg_instance_release(&m);
    assert_int_equal(list.n, 2);
    assert_string_equal(list.v[1].id, "i-0123456789abcdef0");
    assert_string_equal(cg_tags_get(&list.v[1].tags, "Name"), tricky_tags[0][1]);
    assert_ptr_not_equal(list.v[0].tags.v, list.v[1].tags.v);
    cg_instance_list_release(&list);
    assert_int_equal(list.n, 0);
    cg_instance_list_release(NULL);
    cg_instance_release(NULL);

    strcpy(img.id, "ami-0fedcba9876543210");
    img.name = strdup("debian");
    img.kernel = strdup("/boot/vmlinuz");
    assert_int_equal(cg_tags_set(&img.tags, "os", "debian"), 0);
    assert_int_equal(cg_image_copy(&copy, &img), 0);
    cg_image_release(&img);
    assert_string_equal(copy.name, "debian");
    assert_null(copy.description);
    assert_string_equal(copy.kernel, "/boot/vmlinuz");
    assert_string_equal(cg_tags_get(&copy.tags, "os"), "debian");
    images.v = calloc(1, sizeof(*images.v));
    images.n = 1;
    images.v[0] = copy;
    cg_image_list_release(&images);
    cg_image_list_release(NULL);
    cg_image_release(NULL);

    zones.v = calloc(2, sizeof(*zones.v));
    zones.n = 2;
    cg_zone_list_release(&zones);
    assert_null(zones.v);
    cg_zone_list_release(NULL);
}

static void test_unsupported(void **state)
{
    static const cg_driver empty = {.name = "empty"};
    cg_error err = {0};

    assert_int_equal(CG_DRV_CALL(&empty, NULL, instance_reboot, &err, "i-1"), -1);
    assert_int_equal(err.kind, CG_ERR_UNSUPPORTED);
    assert_string_equal(err.message, "instance_reboot is not supported by this driver");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_direct_kernel_qemu),
        cmocka_unit_test(test_golden_smbios_imds),
        cmocka_unit_test(test_golden_nwfilter),
        cmocka_unit_test(test_golden_disk_boot_kvm),
        cmocka_unit_test(test_golden_test_driver),
        cmocka_unit_test(test_golden_tags_escaping),
        cmocka_unit_test(test_golden_protected),
        cmocka_unit_test(test_golden_metadata),
        cmocka_unit_test(test_golden_volumes),
        cmocka_unit_test(test_golden_displays),
        cmocka_unit_test(test_goldens_validate),
        cmocka_unit_test(test_display_inheritance_matrix),
        cmocka_unit_test(test_display_edit),
        cmocka_unit_test(test_display_parse_live),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_libvirt_accepts),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_parse_rejects_garbage),
        cmocka_unit_test(test_parse_foreign_domains),
        cmocka_unit_test(test_parse_other_prefix_and_units),
        cmocka_unit_test(test_parse_rejects_bad_fields),
        cmocka_unit_test(test_build_rejects),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_instances_images),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_nic_refiltered),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
