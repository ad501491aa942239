/* cloudgate: security group documents against golden files
 * (tests/ec2/NAME.expected; CG_REGENERATE=1 rewrites them), which
 * tests/ec2/check_botocore.py parses with botocore's own EC2 parser. */
#include "tests/unit/ec2_golden.h"

#include "frontends/ec2/ec2_internal.h"

#define OWNER "123456789012"

static void make_rule(cg_sg_rule *r, const char *id, int egress, const char *proto, int from,
                      int to, const char *cidr, const char *group, const char *desc)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->egress = egress;
    snprintf(r->protocol, sizeof(r->protocol), "%s", proto);
    r->from_port = from;
    r->to_port = to;
    snprintf(r->cidr, sizeof(r->cidr), "%s", cidr);
    snprintf(r->group, sizeof(r->group), "%s", group);
    snprintf(r->description, sizeof(r->description), "%s", desc);
}

static void make_group(cg_sg *g, const char *id, const char *name, int is_default,
                       cg_sg_rule *rules, size_t n)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->id, sizeof(g->id), "%s", id);
    snprintf(g->vpc_id, sizeof(g->vpc_id), "vpc-0aaaaaaaaaaaaaaaa");
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(g->description, sizeof(g->description), "%s group", name);
    g->is_default = is_default;
    g->rules = rules;
    g->n_rules = n;
}

static void test_groups(void **state)
{
    cg_sg_rule def[2], web[4];
    cg_sg a, b;
    const cg_sg *v[2] = {&a, &b};
    size_t len = 0;
    char *doc;

    (void)state;
    make_rule(&def[0], "sgr-0000000000000000a", 0, "-1", -1, -1, "", "sg-0aaaaaaaaaaaaaaaa", "");
    make_rule(&def[1], "sgr-0000000000000000b", 1, "-1", -1, -1, "0.0.0.0/0", "", "");
    make_group(&a, "sg-0aaaaaaaaaaaaaaaa", "default", 1, def, 2);
    /* Two ranges on one port: one IpPermission with both. */
    make_rule(&web[0], "sgr-0000000000000000c", 0, "tcp", 22, 22, "10.0.0.0/8", "", "ssh <&>");
    make_rule(&web[1], "sgr-0000000000000000d", 0, "tcp", 80, 443, "0.0.0.0/0", "", "");
    make_rule(&web[2], "sgr-0000000000000000e", 0, "tcp", 22, 22, "192.168.1.0/24", "", "");
    make_rule(&web[3], "sgr-0000000000000000f", 1, "-1", -1, -1, "0.0.0.0/0", "", "");
    make_group(&b, "sg-0bbbbbbbbbbbbbbbb", "web", 0, web, 4);
    assert_int_equal(cg_tags_set(&b.tags, "Name", "web"), 0);
    doc = ec2_xml_create_security_group(RID, &b, &len);
    assert_xpath(doc, len, "//e:groupId", "sg-0bbbbbbbbbbbbbbbb");
    check_golden("create_security_group", doc, len);
    doc = ec2_xml_describe_security_groups(RID, v, 2, OWNER, "bmV4dA==", &len);
    assert_xpath(doc, len, "count(//e:securityGroupInfo/e:item[2]/e:ipPermissions/e:item)", "2");
    assert_xpath(doc, len, "count(//e:securityGroupInfo/e:item[2]/e:ipPermissions/e:item[1]"
                 "/e:ipRanges/e:item)", "2");
    check_golden("describe_security_groups", doc, len);
    doc = ec2_xml_describe_security_groups(RID, NULL, 0, OWNER, NULL, &len);
    check_golden("describe_security_groups_empty", doc, len);
    doc = ec2_xml_return_true("DeleteSecurityGroup", RID, &len);
    check_golden("delete_security_group", doc, len);
    doc = ec2_xml_return_true("RevokeSecurityGroupIngress", RID, &len);
    check_golden("revoke_security_group_ingress", doc, len);
    doc = ec2_xml_return_true("RevokeSecurityGroupEgress", RID, &len);
    check_golden("revoke_security_group_egress", doc, len);
    cg_tags_release(&b.tags);
}

static void test_rules(void **state)
{
    cg_sg_rule r[2];
    cg_sg g;
    ec2_sg_rule_row rows[2];
    size_t len = 0;
    char *doc;

    (void)state;
    make_rule(&r[0], "sgr-0000000000000000c", 0, "tcp", 22, 22, "10.0.0.0/8", "", "ssh");
    make_rule(&r[1], "sgr-0000000000000000a", 0, "-1", -1, -1, "", "sg-0aaaaaaaaaaaaaaaa", "");
    make_group(&g, "sg-0bbbbbbbbbbbbbbbb", "web", 0, r, 2);
    rows[0].sg = rows[1].sg = &g;
    rows[0].rule = &r[0];
    rows[1].rule = &r[1];
    doc = ec2_xml_authorize_security_group("AuthorizeSecurityGroupIngress", RID, rows, 1, OWNER,
                                           &len);
    assert_xpath(doc, len, "//e:securityGroupRuleSet/e:item/e:fromPort", "22");
    check_golden("authorize_security_group_ingress", doc, len);
    doc = ec2_xml_authorize_security_group("AuthorizeSecurityGroupEgress", RID, NULL, 0, OWNER,
                                           &len);
    check_golden("authorize_security_group_egress", doc, len);
    doc = ec2_xml_describe_security_group_rules(RID, rows, 2, OWNER, NULL, &len);
    assert_xpath(doc, len, "//e:item[2]/e:referencedGroupInfo/e:groupId",
                 "sg-0aaaaaaaaaaaaaaaa");
    check_golden("describe_security_group_rules", doc, len);
    doc = ec2_xml_error(RID, "InvalidPermission.Duplicate", "the specified rule \"peer: "
                        "10.0.0.0/8, tcp, 22-22, ALLOW\" already exists", &len);
    check_golden("error_security_group_duplicate_permission", doc, len);
}

/* An instance in two groups: groupSet on the instance and its interface. */
static void test_instance_groups(void **state)
{
    static cg_config cfg = {.account_id = OWNER, .region = "cloudgate"};
    cg_instance a;
    const cg_instance *v[1] = {&a};
    size_t len = 0;
    char *doc;

    (void)state;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "i-0cccccccccccccccc");
    snprintf(a.image_id, sizeof(a.image_id), "ami-0a1b2c3d4e5f60718");
    snprintf(a.reservation_id, sizeof(a.reservation_id), "r-0222222222222222b");
    snprintf(a.instance_type, sizeof(a.instance_type), "t2.micro");
    snprintf(a.zone, sizeof(a.zone), "cloudgate-a");
    snprintf(a.private_ip, sizeof(a.private_ip), "10.20.1.5");
    snprintf(a.mac, sizeof(a.mac), "52:54:00:12:34:56");
    snprintf(a.vpc_id, sizeof(a.vpc_id), "vpc-0aaaaaaaaaaaaaaaa");
    snprintf(a.subnet_id, sizeof(a.subnet_id), "subnet-0aaaaaaaaaaaaaaaa");
    snprintf(a.eni_id, sizeof(a.eni_id), "eni-0cccccccccccccccc");
    assert_int_equal(cg_instance_add_group(&a, "sg-0aaaaaaaaaaaaaaaa", "default"), 0);
    assert_int_equal(cg_instance_add_group(&a, "sg-0bbbbbbbbbbbbbbbb", "web <&>"), 0);
    a.state = CG_STATE_RUNNING;
    a.launch_time = a.state_time = (time_t)1795429762;
    a.vcpus = 1;
    a.memory_mib = 1024;
    doc = ec2_xml_describe_instances(RID, &cfg, v, 1, NULL, &len);
    assert_xpath(doc, len, "//e:instancesSet/e:item/e:groupSet/e:item[2]/e:groupName",
                 "web <&>");
    assert_xpath(doc, len, "count(//e:networkInterfaceSet/e:item/e:groupSet/e:item)", "2");
    check_golden("describe_instances_security_groups", doc, len);
    doc = ec2_xml_describe_network_interfaces(RID, v, 1, OWNER, "cloudgate", NULL, &len);
    assert_xpath(doc, len, "//e:networkInterfaceSet/e:item/e:groupSet/e:item[1]/e:groupId",
                 "sg-0aaaaaaaaaaaaaaaa");
    check_golden("describe_network_interfaces_security_groups", doc, len);
    doc = ec2_xml_instance_group_set(RID, &a, &len);
    assert_xpath(doc, len, "count(/e:DescribeInstanceAttributeResponse/e:groupSet/e:item)", "2");
    check_golden("describe_instance_attribute_group_set", doc, len);
    cg_instance_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_instance_groups),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
