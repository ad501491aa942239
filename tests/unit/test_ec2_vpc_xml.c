/* cloudgate: VPC, subnet, address and account documents against golden
 * files (tests/ec2/NAME.expected; CG_REGENERATE=1 rewrites them), which
 * tests/ec2/check_botocore.py parses with botocore's own EC2 parser. */
#include "tests/unit/ec2_golden.h"

#include "frontends/ec2/ec2_internal.h"

#define OWNER "123456789012"

static void make_vpc(cg_vpc *v, const char *id, const char *cidr, int is_default)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->id, sizeof(v->id), "%s", id);
    snprintf(v->cidr, sizeof(v->cidr), "%s", cidr);
    snprintf(v->state, sizeof(v->state), "available");
    v->is_default = is_default;
}

static void make_subnet(cg_subnet *s, const char *id, const char *vpc, const char *cidr,
                        int is_default, unsigned long long free_ips)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->vpc_id, sizeof(s->vpc_id), "%s", vpc);
    snprintf(s->cidr, sizeof(s->cidr), "%s", cidr);
    snprintf(s->zone, sizeof(s->zone), "cloudgate-a");
    snprintf(s->state, sizeof(s->state), "available");
    s->default_for_az = is_default;
    s->available_ips = free_ips;
}

static void test_vpcs(void **state)
{
    cg_vpc a, b;
    const cg_vpc *v[2] = {&a, &b};
    size_t len = 0;
    char *doc;

    (void)state;
    make_vpc(&a, "vpc-0aaaaaaaaaaaaaaaa", "192.168.250.0/24", 1);
    make_vpc(&b, "vpc-0bbbbbbbbbbbbbbbb", "10.20.0.0/16", 0);
    assert_int_equal(cg_tags_set(&b.tags, "Name", "blue <&>"), 0);
    doc = ec2_xml_create_vpc(RID, &b, OWNER, &len);
    assert_xpath(doc, len, "//e:vpc/e:isDefault", "false");
    check_golden("create_vpc", doc, len);
    doc = ec2_xml_describe_vpcs(RID, v, 2, OWNER, "bmV4dA==", &len);
    assert_xpath(doc, len, "//e:vpcSet/e:item[1]/e:cidrBlock", "192.168.250.0/24");
    check_golden("describe_vpcs", doc, len);
    doc = ec2_xml_describe_vpcs(RID, NULL, 0, OWNER, NULL, &len);
    check_golden("describe_vpcs_empty", doc, len);
    doc = ec2_xml_return_true("DeleteVpc", RID, &len);
    check_golden("delete_vpc", doc, len);
    cg_tags_release(&b.tags);
}

static void test_subnets(void **state)
{
    cg_subnet a, b;
    const cg_subnet *v[2] = {&a, &b};
    size_t len = 0;
    char *doc;

    (void)state;
    make_subnet(&a, "subnet-0aaaaaaaaaaaaaaaa", "vpc-0aaaaaaaaaaaaaaaa", "192.168.250.0/24", 1,
                249);
    make_subnet(&b, "subnet-0bbbbbbbbbbbbbbbb", "vpc-0bbbbbbbbbbbbbbbb", "10.20.1.0/28", 0, 11);
    assert_int_equal(cg_tags_set(&b.tags, "tier", "web"), 0);
    doc = ec2_xml_create_subnet(RID, &b, OWNER, "cloudgate", &len);
    assert_xpath(doc, len, "//e:subnet/e:availableIpAddressCount", "11");
    check_golden("create_subnet", doc, len);
    doc = ec2_xml_describe_subnets(RID, v, 2, OWNER, "cloudgate", NULL, &len);
    assert_xpath(doc, len, "//e:subnetSet/e:item[1]/e:defaultForAz", "true");
    check_golden("describe_subnets", doc, len);
    doc = ec2_xml_describe_subnets(RID, NULL, 0, OWNER, "cloudgate", NULL, &len);
    check_golden("describe_subnets_empty", doc, len);
    doc = ec2_xml_return_true("DeleteSubnet", RID, &len);
    check_golden("delete_subnet", doc, len);
    cg_tags_release(&b.tags);
}

static void test_addresses_and_account(void **state)
{
    static const char *const plat[] = {"VPC"};
    static const char *const vpc[] = {"vpc-0aaaaaaaaaaaaaaaa"};
    static const char *const twenty[] = {"20"};
    ec2_account_attr attrs[] = {{"supported-platforms", plat, 1}, {"max-instances", twenty, 1},
                                {"default-vpc", vpc, 1}};
    size_t len = 0;
    char *doc;

    (void)state;
    doc = ec2_xml_describe_addresses(RID, &len);
    check_golden("describe_addresses_empty", doc, len);
    doc = ec2_xml_account_attributes(RID, attrs, 3, &len);
    check_golden("describe_account_attributes_vpc", doc, len);
    doc = ec2_xml_error(RID, "DependencyViolation",
                        "The vpc 'vpc-0bbbbbbbbbbbbbbbb' has dependencies and cannot be deleted.",
                        &len);
    check_golden("error_vpc_dependency_violation", doc, len);
    doc = ec2_xml_error(RID, "InvalidSubnet.Conflict",
                        "The CIDR '10.20.1.0/28' conflicts with another subnet", &len);
    check_golden("error_subnet_conflict", doc, len);
}

/* An instance in a subnet: vpcId, subnetId and its one interface, in
 * DescribeInstances and DescribeNetworkInterfaces. */
static void test_instance_network(void **state)
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
    snprintf(a.private_ip, sizeof(a.private_ip), "10.20.1.7");
    snprintf(a.mac, sizeof(a.mac), "52:54:00:12:34:56");
    snprintf(a.vpc_id, sizeof(a.vpc_id), "vpc-0bbbbbbbbbbbbbbbb");
    snprintf(a.subnet_id, sizeof(a.subnet_id), "subnet-0bbbbbbbbbbbbbbbb");
    snprintf(a.eni_id, sizeof(a.eni_id), "eni-0cccccccccccccccc");
    a.state = CG_STATE_RUNNING;
    a.launch_time = a.state_time = (time_t)1795429762;
    a.vcpus = 1;
    a.memory_mib = 1024;
    doc = ec2_xml_describe_instances(RID, &cfg, v, 1, NULL, &len);
    assert_xpath(doc, len, "//e:instancesSet/e:item/e:subnetId", "subnet-0bbbbbbbbbbbbbbbb");
    check_golden("describe_instances_vpc", doc, len);
    doc = ec2_xml_describe_network_interfaces(RID, v, 1, OWNER, "cloudgate", NULL, &len);
    assert_xpath(doc, len, "//e:networkInterfaceSet/e:item/e:attachment/e:instanceId",
                 "i-0cccccccccccccccc");
    check_golden("describe_network_interfaces", doc, len);
    doc = ec2_xml_describe_network_interfaces(RID, NULL, 0, OWNER, "cloudgate", NULL, &len);
    check_golden("describe_network_interfaces_empty", doc, len);
}

/* DescribeVpcAttribute answers the one attribute asked for; ClassicLink is
 * AWS's "not in this region" error; GetCallerIdentity is an STS document. */
static void test_vpc_attribute_and_identity(void **state)
{
    size_t len = 0;
    char *doc;

    (void)state;
    doc = ec2_xml_vpc_attribute(RID, "vpc-0bbbbbbbbbbbbbbbb", "enableDnsHostnames", 1, &len);
    assert_xpath(doc, len, "/e:DescribeVpcAttributeResponse/e:enableDnsHostnames/e:value",
                 "true");
    assert_xpath(doc, len, "count(//e:enableDnsSupport)", "0");
    check_golden("describe_vpc_attribute", doc, len);
    doc = ec2_xml_error(RID, "UnsupportedOperation",
                        "The functionality you requested is not available in this region.", &len);
    check_golden("error_vpc_classic_link_unsupported", doc, len);
    doc = ec2_xml_return_true("ModifyVpcAttribute", RID, &len);
    check_golden("modify_vpc_attribute", doc, len);
    doc = ec2_xml_return_true("ModifySubnetAttribute", RID, &len);
    check_golden("modify_subnet_attribute", doc, len);
    doc = ec2_xml_caller_identity(RID, OWNER, &len);
    assert_non_null(doc);
    assert_non_null(strstr(doc, "<GetCallerIdentityResponse "
                                "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    assert_non_null(strstr(doc, "<Arn>arn:aws:iam::123456789012:root</Arn>"));
    assert_non_null(strstr(doc, "<Account>123456789012</Account>"));
    assert_non_null(strstr(doc, "<RequestId>" RID "</RequestId>"));
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vpcs),
        cmocka_unit_test(test_subnets),
        cmocka_unit_test(test_addresses_and_account),
        cmocka_unit_test(test_instance_network),
        cmocka_unit_test(test_vpc_attribute_and_identity),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
