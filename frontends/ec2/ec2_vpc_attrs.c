/* cloudgate: EC2 VPC attribute actions that automation asks before it acts
 * (Ansible's ec2_vpc_net calls all three on every run): DescribeVpcAttribute,
 * ModifyVpcAttribute and DescribeVpcClassicLink.
 *
 * The attributes are facts of the libvirt network, not stored settings: its
 * dnsmasq answers DNS on the bridge (enableDnsSupport) and names DHCP clients
 * by their hostnames (enableDnsHostnames); there are no usage metrics.  So
 * ModifyVpcAttribute accepts a value that is already true of the network and
 * refuses, without changing anything, one that would need the network rebuilt.
 * EC2-Classic is gone: DescribeVpcClassicLink answers as AWS does in a region
 * without it.
 */
#include "ec2_internal.h"

#include <string.h>

static const struct vpc_attr {
    const char *name; /* Attribute= value and response element */
    const char *param; /* ModifyVpcAttribute's NAME.Value */
    int value;
} vpc_attrs[] = {
    {"enableDnsSupport", "EnableDnsSupport.Value", 1},
    {"enableDnsHostnames", "EnableDnsHostnames.Value", 1},
    {"enableNetworkAddressUsageMetrics", "EnableNetworkAddressUsageMetrics.Value", 0},
};

#define N_VPC_ATTRS (sizeof(vpc_attrs) / sizeof(vpc_attrs[0]))

int ec2_describe_vpc_attribute(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "VpcId");
    const char *name = ec2_params_get(c->params, "Attribute");
    const struct vpc_attr *attr = NULL;
    size_t i, len = 0;

    if (!name || !*name)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter attribute");
    for (i = 0; i < N_VPC_ATTRS && !attr; i++) {
        if (strcmp(vpc_attrs[i].name, name) == 0)
            attr = &vpc_attrs[i];
    }
    if (!attr)
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.64s) for parameter attribute is invalid. Unknown attribute.",
                        name);
    if (ec2_check_vpc(c, id) < 0)
        return -1;
    return ec2_reply(c, ec2_xml_vpc_attribute(c->req->request_id, id, attr->name, attr->value,
                                              &len), &len);
}

int ec2_modify_vpc_attribute(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "VpcId");
    const struct vpc_attr *attr = NULL;
    size_t i, len = 0;
    int want = 0;

    /* AWS takes exactly one attribute per call. */
    for (i = 0; i < N_VPC_ATTRS; i++) {
        if (!ec2_params_get(c->params, vpc_attrs[i].param))
            continue;
        if (attr)
            return ec2_fail(c, "InvalidParameterCombination",
                            "Fields for multiple attribute types specified: %s, %s", attr->name,
                            vpc_attrs[i].name);
        attr = &vpc_attrs[i];
    }
    if (!attr)
        return ec2_fail(c, "MissingParameter",
                        "The request must contain exactly one attribute to modify");
    if (ec2_param_bool(c, attr->param, 0, &want) < 0 || ec2_check_vpc(c, id) < 0)
        return -1;
    if (want != attr->value)
        return ec2_fail(c, "UnsupportedOperation", "The attribute %s of VPC '%.64s' is %s on "
                        "this cloud (its libvirt network) and cannot be changed.", attr->name, id,
                        attr->value ? "true" : "false");
    if (ec2_dry_run(c) < 0)
        return -1;
    return ec2_reply(c, ec2_xml_return_true("ModifyVpcAttribute", c->req->request_id, &len),
                     &len);
}

/* Before any check, as AWS answers in such a region whatever was asked. */
int ec2_describe_vpc_classic_link(ec2_call *c)
{
    return ec2_fail(c, "UnsupportedOperation",
                    "The functionality you requested is not available in this region.");
}
