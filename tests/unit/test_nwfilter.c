/* cloudgate: security group rules -> libvirt nwfilter XML (lv_nwfilter.c),
 * read back with libxml2's XPath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "drivers/libvirt/lv_nwfilter.h"
#include "drivers/libvirt/lv_sg_ipset.h"

/* expr evaluated on xml, as a string (malloc'd). */
static char *xpath(const char *xml, const char *expr)
{
    xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "f.xml", NULL, XML_PARSE_NONET);
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr obj;
    xmlChar *s;
    char *out;

    assert_non_null(d);
    ctx = xmlXPathNewContext(d);
    obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    assert_non_null(obj);
    s = xmlXPathCastToString(obj);
    out = strdup((char *)s);
    xmlFree(s);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(d);
    return out;
}

static void assert_xp(const char *xml, const char *expr, const char *want)
{
    char *got = xpath(xml, expr);

    if (strcmp(got, want) != 0)
        fail_msg("%s: got '%s', want '%s'\n%s", expr, got, want, xml);
    free(got);
}

/* libvirt's own schema accepts xml as a filter (skipped without
 * virt-xml-validate). */
static void assert_valid(const char *xml)
{
    char path[] = "/tmp/cg-nwfilter-XXXXXX", cmd[128];
    int fd = mkstemp(path), rc;
    FILE *f;

    assert_true(fd >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    assert_int_equal(fputs(xml, f) >= 0, 1);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "virt-xml-validate %s nwfilter >/dev/null 2>&1", path);
    rc = system(cmd);
    unlink(path);
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 127)
        return; /* libvirt-clients not installed */
    if (rc != 0)
        fail_msg("virt-xml-validate rejects:\n%s", xml);
}

static cg_sg_rule rule(int egress, const char *proto, int from, int to, const char *cidr,
                       const char *group, const char *desc)
{
    cg_sg_rule r;

    memset(&r, 0, sizeof(r));
    r.egress = egress;
    snprintf(r.protocol, sizeof(r.protocol), "%s", proto);
    r.from_port = from;
    r.to_port = to;
    snprintf(r.cidr, sizeof(r.cidr), "%s", cidr);
    snprintf(r.group, sizeof(r.group), "%s", group);
    snprintf(r.description, sizeof(r.description), "%s", desc);
    return r;
}

static void test_group_rules(void **state)
{
    static const char *const web_ips[] = {"192.168.250.10", "192.168.250.11"};
    lv_sg_peers peers[] = {{"sg-0bbbbbbbbbbbbbbbb", web_ips, 2}};
    cg_sg_rule r[5];
    cg_error err = {0};
    cg_sg g;
    char *xml;

    (void)state;
    r[0] = rule(0, "tcp", 22, 22, "10.0.0.0/8", "", "ssh </filter>");
    r[1] = rule(0, "udp", 5000, 5010, "0.0.0.0/0", "", "");
    r[2] = rule(0, "icmp", 8, -1, "192.168.1.0/24", "", "");
    r[3] = rule(0, "-1", -1, -1, "", "sg-0bbbbbbbbbbbbbbbb", "");
    r[4] = rule(1, "-1", -1, -1, "0.0.0.0/0", "", "");
    memset(&g, 0, sizeof(g));
    snprintf(g.id, sizeof(g.id), "sg-0aaaaaaaaaaaaaaaa");
    g.rules = r;
    g.n_rules = 5;
    xml = lv_nwfilter_group_xml(&g, peers, 1, 0, &err);
    assert_non_null(xml);
    assert_xp(xml, "/filter/@name", "cg-sg-sg-0aaaaaaaaaaaaaaaa");
    assert_xp(xml, "/filter/@chain", "root");
    /* tcp 22 from 10/8, state-tracked. */
    assert_xp(xml, "/filter/rule[1]/@action", "accept");
    assert_xp(xml, "/filter/rule[1]/@direction", "in");
    assert_xp(xml, "/filter/rule[1]/tcp/@srcipaddr", "10.0.0.0");
    assert_xp(xml, "/filter/rule[1]/tcp/@srcipmask", "8");
    assert_xp(xml, "/filter/rule[1]/tcp/@dstportstart", "22");
    assert_xp(xml, "/filter/rule[1]/tcp/@dstportend", "22");
    assert_xp(xml, "/filter/rule[1]/tcp/@state", "NEW");
    /* 0.0.0.0/0 is "anywhere": no address match at all. */
    assert_xp(xml, "count(/filter/rule[2]/udp/@srcipaddr)", "0");
    assert_xp(xml, "/filter/rule[2]/udp/@dstportend", "5010");
    /* icmp: type 8, any code. */
    assert_xp(xml, "/filter/rule[3]/icmp/@type", "8");
    assert_xp(xml, "count(/filter/rule[3]/icmp/@code)", "0");
    /* The source group expands to one rule per member address. */
    assert_xp(xml, "/filter/rule[4]/all/@srcipaddr", "192.168.250.10");
    assert_xp(xml, "/filter/rule[4]/all/@srcipmask", "32");
    assert_xp(xml, "/filter/rule[5]/all/@srcipaddr", "192.168.250.11");
    /* Egress matches the destination. */
    assert_xp(xml, "/filter/rule[6]/@direction", "out");
    assert_xp(xml, "count(/filter/rule)", "6");
    /* Descriptions never reach the filter (nor break it). */
    assert_null(strstr(xml, "ssh"));
    assert_valid(xml);
    free(xml);
    /* Without members the group rule is no rule: nothing is let in. */
    xml = lv_nwfilter_group_xml(&g, NULL, 0, 0, &err);
    assert_non_null(xml);
    assert_xp(xml, "count(/filter/rule)", "4");
    assert_xp(xml, "count(/filter/rule/all[@srcipaddr])", "0");
    free(xml);
    /* With sets: one rule naming the source group's set, whoever its
     * members are; the CIDR rules stay as they were. */
    xml = lv_nwfilter_group_xml(&g, peers, 1, 1, &err);
    assert_non_null(xml);
    assert_xp(xml, "count(/filter/rule)", "5");
    assert_xp(xml, "/filter/rule[1]/tcp/@srcipaddr", "10.0.0.0");
    assert_xp(xml, "/filter/rule[4]/all/@ipset", "cg-sg-sg-0bbbbbbbbbbbbbbbb");
    assert_xp(xml, "/filter/rule[4]/all/@ipsetflags", "src");
    assert_xp(xml, "count(/filter/rule/all[@srcipaddr])", "0");
    assert_xp(xml, "/filter/rule[4]/all/@state", "NEW");
    assert_valid(xml);
    free(xml);
}

/* An egress rule to a group matches where packets go; only an
 * all-protocol rule names the set. */
static void test_group_set_egress(void **state)
{
    cg_error err = {0};
    cg_sg_rule r[2];
    cg_sg g;
    char *xml;
    const char *ips[] = {"192.168.250.12"};
    lv_sg_peers peers[1] = {{"sg-0dddddddddddddddd", ips, 1}};

    (void)state;
    r[0] = rule(1, "-1", -1, -1, "", "sg-0dddddddddddddddd", "");
    r[1] = rule(1, "tcp", 80, 80, "", "sg-0dddddddddddddddd", "");
    memset(&g, 0, sizeof(g));
    snprintf(g.id, sizeof(g.id), "sg-0aaaaaaaaaaaaaaaa");
    g.rules = r;
    g.n_rules = 2;
    xml = lv_nwfilter_group_xml(&g, peers, 1, 1, &err);
    assert_non_null(xml);
    assert_xp(xml, "/filter/rule[1]/@direction", "out");
    assert_xp(xml, "/filter/rule[1]/all/@ipset", "cg-sg-sg-0dddddddddddddddd");
    assert_xp(xml, "/filter/rule[1]/all/@ipsetflags", "dst");
    /* libvirt keeps ipset= only on <all>: a port rule names each member. */
    assert_xp(xml, "count(/filter/rule[2]/tcp/@ipset)", "0");
    assert_xp(xml, "/filter/rule[2]/tcp/@dstipaddr", "192.168.250.12");
    assert_xp(xml, "/filter/rule[2]/tcp/@dstportstart", "80");
    assert_xp(xml, "count(/filter/rule)", "2");
    assert_valid(xml);
    free(xml);
}

/* The restore input: every set filled aside and swapped in; what is not
 * an IPv4 address never reaches ipset. */
static void test_ipset_script(void **state)
{
    const char *ips_a[] = {"192.168.250.10", "10.0.0.1 -exist\nflush x", "fe80::1",
                           "192.168.250.11"};
    lv_sg_peers p[2] = {{"sg-0aaaaaaaaaaaaaaaa", ips_a, 4}, {"sg-0bbbbbbbbbbbbbbbb", NULL, 0}};
    lv_sg_peers bad = {"sg-x y", NULL, 0};
    lv_sg_peers long_id = {"sg-0123456789abcdef0123456", NULL, 0};
    cg_error err = {0};
    char *s;

    (void)state;
    s = lv_sg_ipset_script(p, 2, 1, &err);
    assert_non_null(s);
    assert_string_equal(s, "create cg-sg-sg-0aaaaaaaaaaaaaaaa hash:ip family inet -exist\n"
                           "create cg-sg-sg-0aaaaaaaaaaaaaaaa-t hash:ip family inet -exist\n"
                           "flush cg-sg-sg-0aaaaaaaaaaaaaaaa-t\n"
                           "add cg-sg-sg-0aaaaaaaaaaaaaaaa-t 192.168.250.10 -exist\n"
                           "add cg-sg-sg-0aaaaaaaaaaaaaaaa-t 192.168.250.11 -exist\n"
                           "swap cg-sg-sg-0aaaaaaaaaaaaaaaa-t cg-sg-sg-0aaaaaaaaaaaaaaaa\n"
                           "destroy cg-sg-sg-0aaaaaaaaaaaaaaaa-t\n"
                           "create cg-sg-sg-0bbbbbbbbbbbbbbbb hash:ip family inet -exist\n"
                           "create cg-sg-sg-0bbbbbbbbbbbbbbbb-t hash:ip family inet -exist\n"
                           "flush cg-sg-sg-0bbbbbbbbbbbbbbbb-t\n"
                           "swap cg-sg-sg-0bbbbbbbbbbbbbbbb-t cg-sg-sg-0bbbbbbbbbbbbbbbb\n"
                           "destroy cg-sg-sg-0bbbbbbbbbbbbbbbb-t\n");
    free(s);
    /* Without fill: made when missing, its members kept. */
    s = lv_sg_ipset_script(p, 1, 0, &err);
    assert_non_null(s);
    assert_string_equal(s, "create cg-sg-sg-0aaaaaaaaaaaaaaaa hash:ip family inet -exist\n");
    free(s);
    /* A group id that would not make a set name is refused. */
    assert_null(lv_sg_ipset_script(&bad, 1, 1, &err));
    cg_error_clear(&err);
    assert_null(lv_sg_ipset_script(&long_id, 1, 1, &err));
}

static void test_empty_group(void **state)
{
    cg_error err = {0};
    cg_sg g;
    char *xml;

    (void)state;
    memset(&g, 0, sizeof(g));
    snprintf(g.id, sizeof(g.id), "sg-0cccccccccccccccc");
    xml = lv_nwfilter_group_xml(&g, NULL, 0, 0, &err);
    assert_non_null(xml);
    assert_xp(xml, "count(/filter/rule)", "0");
    free(xml);
}

static void test_nic_filter(void **state)
{
    static const char *const groups[] = {"sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"};
    cg_error err = {0};
    char *xml;
    static const char *const swapped[] = {"sg-0bbbbbbbbbbbbbbbb", "sg-0aaaaaaaaaaaaaaaa"};
    char ids[CG_INSTANCE_GROUPS_MAX][32];
    char name[64];

    (void)state;
    /* One filter per set of groups, whatever their order: the name is
     * FNV-1a over the sorted ids (tests/cgharness.py computes it too). */
    lv_nwfilter_nic_name(swapped, 2, name, sizeof(name));
    assert_string_equal(name, "cg-nic-545bf456643bf879");
    lv_nwfilter_nic_name(groups, 1, name, sizeof(name));
    assert_string_equal(name, "cg-nic-6be0121dc9cf3067");
    assert_true(lv_nwfilter_is_nic("cg-nic-6be0121dc9cf3067"));
    assert_true(lv_nwfilter_is_nic("cg-i-i-0123456789abcdef0"));
    assert_false(lv_nwfilter_is_nic("cg-sg-sg-0aaaaaaaaaaaaaaaa"));
    assert_false(lv_nwfilter_is_nic(NULL));
    xml = lv_nwfilter_nic_xml(swapped, 2, 1, &err);
    assert_non_null(xml);
    assert_xp(xml, "/filter/@name", "cg-nic-545bf456643bf879");
    assert_xp(xml, "/filter/filterref[1]/@filter", "clean-traffic");
    assert_xp(xml, "/filter/filterref[2]/@filter", "cg-sg-sg-0aaaaaaaaaaaaaaaa");
    assert_xp(xml, "/filter/filterref[3]/@filter", "cg-sg-sg-0bbbbbbbbbbbbbbbb");
    assert_xp(xml, "/filter/rule[all/@state='ESTABLISHED,RELATED']/@action", "accept");
    /* Whatever no group accepts is dropped, after the groups' rules. */
    assert_xp(xml, "/filter/rule[last()]/@action", "drop");
    assert_xp(xml, "/filter/rule[last()]/@direction", "inout");
    assert_xp(xml, "/filter/rule[last()]/@priority", "1000");
    assert_xp(xml, "/filter/rule[1]/@priority", "100");
    assert_valid(xml);
    /* Which groups a NIC filter names (the reconcile's test of whose it is). */
    assert_int_equal(lv_nwfilter_nic_groups(xml, ids, CG_INSTANCE_GROUPS_MAX), 2);
    assert_string_equal(ids[0], groups[0]);
    assert_string_equal(ids[1], groups[1]);
    assert_int_equal(lv_nwfilter_nic_groups(xml, ids, 1), -1);
    assert_int_equal(lv_nwfilter_nic_groups("<filter", ids, 1), -1);
    free(xml);
    /* A host without libvirt's stock filters: the groups alone. */
    xml = lv_nwfilter_nic_xml(groups, 1, 0, &err);
    assert_non_null(xml);
    assert_xp(xml, "count(/filter/filterref)", "1");
    assert_xp(xml, "/filter/filterref/@filter", "cg-sg-sg-0aaaaaaaaaaaaaaaa");
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_rules),      cmocka_unit_test(test_empty_group),
        cmocka_unit_test(test_group_set_egress), cmocka_unit_test(test_ipset_script),
        cmocka_unit_test(test_nic_filter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
