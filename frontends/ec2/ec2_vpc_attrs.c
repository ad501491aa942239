/* cloudgate: EC2 VPC and subnet attribute actions that automation asks
 * before it acts (Ansible's ec2_vpc_net calls the first three on every run):
 * DescribeVpcAttribute, ModifyVpcAttribute, DescribeVpcClassicLink and
 * ModifySubnetAttribute.
 *
 * The attributes are facts of the libvirt network, not stored settings: its
 * dnsmasq answers DNS on the bridge (enableDnsSupport) and names DHCP clients
 * by their hostnames (enableDnsHostnames); there are no usage metrics.  So
 * ModifyVpcAttribute accepts a value that is already true of the network and
 * refuses, without changing anything, one that would need the network rebuilt.
 * Subnets likewise: no public or IPv6 addresses are handed out here, so
 * their launch attributes are all false (as DescribeSubnets shows them).
 * EC2-Classic is gone: DescribeVpcClassicLink answers as AWS does in a region
 * without it.
 */
#include "ec2_internal.h"

#include <string.h>

/* An attribute whose value is a fact of the network, not a setting. */
typedef struct fixed_attr {
    const char *name;  /* Attribute= value and response element */
    const char *param; /* the Modify action's NAME.Value */
    int value;
} fixed_attr;

static const fixed_attr vpc_attrs[] = {
    {"enableDnsSupport", "EnableDnsSupport.Value", 1},
    {"enableDnsHostnames", "EnableDnsHostnames.Value", 1},
    {"enableNetworkAddressUsageMetrics", "EnableNetworkAddressUsageMetrics.Value", 0},
};

static const fixed_attr subnet_attrs[] = {
    {"mapPublicIpOnLaunch", "MapPublicIpOnLaunch.Value", 0},
    {"assignIpv6AddressOnCreation", "AssignIpv6AddressOnCreation.Value", 0},
    {"mapCustomerOwnedIpOnLaunch", "MapCustomerOwnedIpOnLaunch.Value", 0},
    {"enableDns64", "EnableDns64.Value", 0},
    {"enableResourceNameDnsARecordOnLaunch", "EnableResourceNameDnsARecordOnLaunch.Value", 0},
    {"enableResourceNameDnsAAAARecordOnLaunch", "EnableResourceNameDnsAAAARecordOnLaunch.Value",
     0},
    {"disableLniAtDeviceIndex", "DisableLniAtDeviceIndex.Value", 0},
};

#define N_VPC_ATTRS (sizeof(vpc_attrs) / sizeof(vpc_attrs[0]))
#define N_SUBNET_ATTRS (sizeof(subnet_attrs) / sizeof(subnet_attrs[0]))

/* The one attribute of t[0..n) a Modify request sets, into *attr, and the
 * boolean it asks for into *want.  0 or -1 (none, several, not a boolean). */
static int modify_target(ec2_call *c, const fixed_attr *t, size_t n, const fixed_attr **attr,
                         int *want)
{
    size_t i;

    /* AWS takes exactly one attribute per call. */
    for (*attr = NULL, i = 0; i < n; i++) {
        if (!ec2_params_get(c->params, t[i].param))
            continue;
        if (*attr)
            return ec2_fail(c, "InvalidParameterCombination",
                            "Fields for multiple attribute types specified: %s, %s",
                            (*attr)->name, t[i].name);
        *attr = &t[i];
    }
    if (!*attr)
        return ec2_fail(c, "MissingParameter",
                        "The request must contain exactly one attribute to modify");
    return ec2_param_bool(c, (*attr)->param, 0, want);
}

/* After the resource is checked: accept the value it already has, refuse
 * any other (nothing changes either way), reply "true". */
static int modify_answer(ec2_call *c, const fixed_attr *attr, int want, const char *what,
                         const char *id)
{
    size_t len = 0;

    if (want != attr->value)
        return ec2_fail(c, "UnsupportedOperation", "The attribute %s of %s '%.64s' is %s on "
                        "this cloud (its libvirt network) and cannot be changed.", attr->name,
                        what, id, attr->value ? "true" : "false");
    if (ec2_dry_run(c) < 0)
        return -1;
    return ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);
}

int ec2_describe_vpc_attribute(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "VpcId");
    const char *name = ec2_params_get(c->params, "Attribute");
    const fixed_attr *attr = NULL;
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
    const fixed_attr *attr;
    int want = 0;

    if (modify_target(c, vpc_attrs, N_VPC_ATTRS, &attr, &want) < 0 || ec2_check_vpc(c, id) < 0)
        return -1;
    return modify_answer(c, attr, want, "VPC", id);
}

int ec2_modify_subnet_attribute(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "SubnetId");
    const fixed_attr *attr;
    int want = 0;

    /* Non-boolean launch settings that only name features absent here. */
    if (ec2_params_get(c->params, "CustomerOwnedIpv4Pool") ||
        ec2_params_get(c->params, "PrivateDnsHostnameTypeOnLaunch") ||
        ec2_params_get(c->params, "EnableLniAtDeviceIndex"))
        return ec2_fail(c, "UnsupportedOperation", "Customer-owned pools, resource-name "
                        "hostnames and LNI device indexes are not supported by this cloud.");
    if (modify_target(c, subnet_attrs, N_SUBNET_ATTRS, &attr, &want) < 0 ||
        ec2_check_subnet(c, id) < 0)
        return -1;
    return modify_answer(c, attr, want, "subnet", id);
}

/* Before any check, as AWS answers in such a region whatever was asked. */
int ec2_describe_vpc_classic_link(ec2_call *c)
{
    return ec2_fail(c, "UnsupportedOperation",
                    "The functionality you requested is not available in this region.");
}
