/* cloudgate: the metadata-options documents (ModifyInstanceMetadataOptions,
 * DescribeInstances' metadataOptions) against golden files, which
 * tests/ec2/check_botocore.py parses with botocore's own EC2 parser. */
#include "tests/unit/ec2_golden.h"

#include <time.h>

static void fill(cg_instance *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "i-0dddddddddddddddd");
    snprintf(a->image_id, sizeof(a->image_id), "ami-0a1b2c3d4e5f60718");
    snprintf(a->reservation_id, sizeof(a->reservation_id), "r-0333333333333333c");
    snprintf(a->instance_type, sizeof(a->instance_type), "t2.micro");
    snprintf(a->zone, sizeof(a->zone), "cloudgate-a");
    snprintf(a->mac, sizeof(a->mac), "52:54:00:ab:cd:ef");
    a->state = CG_STATE_RUNNING;
    a->launch_time = a->state_time = (time_t)1795429762;
    a->vcpus = 1;
    a->memory_mib = 1024;
}

static void test_modify_answer(void **state)
{
    cg_metadata_options o = {CG_MD_TOKENS_REQUIRED, CG_MD_ENDPOINT_ENABLED, 3};
    size_t len = 0;
    char *doc;

    (void)state;
    doc = ec2_xml_modify_metadata_options(RID, "i-0dddddddddddddddd", &o, &len);
    assert_xpath(doc, len, "//e:instanceMetadataOptions/e:httpTokens", "required");
    assert_xpath(doc, len, "//e:instanceMetadataOptions/e:httpPutResponseHopLimit", "3");
    assert_xpath(doc, len, "//e:instanceMetadataOptions/e:state", "applied");
    check_golden("modify_instance_metadata_options", doc, len);
}

/* Stored options in DescribeInstances; a record without any (0 fields)
 * shows the defaults. */
static void test_describe(void **state)
{
    static cg_config cfg = {.account_id = "123456789012", .region = "cloudgate"};
    cg_instance a, b;
    const cg_instance *v[2] = {&a, &b};
    size_t len = 0;
    char *doc;

    (void)state;
    fill(&a);
    fill(&b);
    snprintf(b.id, sizeof(b.id), "i-0eeeeeeeeeeeeeeee");
    b.ami_launch_index = 1;
    a.metadata = (cg_metadata_options){CG_MD_TOKENS_REQUIRED, CG_MD_ENDPOINT_DISABLED, 64};
    doc = ec2_xml_describe_instances(RID, &cfg, v, 2, NULL, &len);
    assert_xpath(doc, len, "//e:instancesSet/e:item[1]/e:metadataOptions/e:httpEndpoint",
                 "disabled");
    assert_xpath(doc, len, "//e:instancesSet/e:item[2]/e:metadataOptions/e:httpTokens",
                 "optional");
    check_golden("describe_instances_metadata_options", doc, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modify_answer),
        cmocka_unit_test(test_describe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
