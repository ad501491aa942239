/* cloudgate: EC2 documents for VPCs, subnets, addresses and network
 * interfaces (ec2_internal.h), in botocore's ec2 2016-11-15 shapes. */
#include "ec2_internal.h"

#include <stdio.h>

/* One VPC's fields (CreateVpc's <vpc>, DescribeVpcs' items). */
static void xml_vpc(ec2_xml *x, const cg_vpc *v, const char *owner)
{
    char assoc[40];

    ec2_xml_str(x, "vpcId", v->id);
    ec2_xml_str(x, "ownerId", owner);
    ec2_xml_str(x, "state", v->state);
    ec2_xml_str(x, "cidrBlock", v->cidr);
    ec2_xml_start(x, "cidrBlockAssociationSet");
    ec2_xml_start(x, "item");
    /* One block per VPC: its association is named after the VPC. */
    snprintf(assoc, sizeof(assoc), "vpc-cidr-assoc-%s", v->id + 4);
    ec2_xml_str(x, "associationId", assoc);
    ec2_xml_str(x, "cidrBlock", v->cidr);
    ec2_xml_start(x, "cidrBlockState");
    ec2_xml_str(x, "state", "associated");
    ec2_xml_end(x);
    ec2_xml_end(x);
    ec2_xml_end(x);
    ec2_xml_start(x, "ipv6CidrBlockAssociationSet");
    ec2_xml_end(x);
    ec2_xml_str(x, "dhcpOptionsId", "default");
    ec2_xml_str(x, "instanceTenancy", "default");
    ec2_xml_bool(x, "isDefault", v->is_default);
    ec2_xml_tags(x, &v->tags);
}

static void xml_subnet(ec2_xml *x, const cg_subnet *s, const char *owner, const char *region)
{
    char arn[160];

    ec2_xml_str(x, "subnetId", s->id);
    snprintf(arn, sizeof(arn), "arn:aws:ec2:%s:%s:subnet/%s", region, owner, s->id);
    ec2_xml_str(x, "subnetArn", arn);
    ec2_xml_str(x, "state", s->state);
    ec2_xml_str(x, "ownerId", owner);
    ec2_xml_str(x, "vpcId", s->vpc_id);
    ec2_xml_str(x, "cidrBlock", s->cidr);
    ec2_xml_start(x, "ipv6CidrBlockAssociationSet");
    ec2_xml_end(x);
    ec2_xml_int(x, "availableIpAddressCount", (long long)s->available_ips);
    ec2_xml_str(x, "availabilityZone", s->zone);
    ec2_xml_str(x, "availabilityZoneId", s->zone);
    ec2_xml_bool(x, "defaultForAz", s->default_for_az);
    /* No public addresses here: guests stay on their hosts' networks. */
    ec2_xml_bool(x, "mapPublicIpOnLaunch", 0);
    ec2_xml_bool(x, "assignIpv6AddressOnCreation", 0);
    ec2_xml_tags(x, &s->tags);
}

char *ec2_xml_create_vpc(const char *request_id, const cg_vpc *v, const char *owner,
                         size_t *len)
{
    ec2_xml *x = ec2_xml_new("CreateVpc", request_id);

    if (!x)
        return NULL;
    ec2_xml_start(x, "vpc");
    xml_vpc(x, v, owner);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_vpcs(const char *request_id, const cg_vpc *const *v, size_t n,
                            const char *owner, const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeVpcs", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "vpcSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        xml_vpc(x, v[i], owner);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_create_subnet(const char *request_id, const cg_subnet *s, const char *owner,
                            const char *region, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CreateSubnet", request_id);

    if (!x)
        return NULL;
    ec2_xml_start(x, "subnet");
    xml_subnet(x, s, owner, region);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_subnets(const char *request_id, const cg_subnet *const *v, size_t n,
                               const char *owner, const char *region,
                               const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeSubnets", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "subnetSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        xml_subnet(x, v[i], owner, region);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_addresses(const char *request_id, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeAddresses", request_id);

    if (!x)
        return NULL;
    ec2_xml_start(x, "addressesSet");
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

/* One instance's interface; full: as DescribeNetworkInterfaces shows it
 * (zone, the attachment's instance, tags), else as inside an instance. */
static void xml_nic(ec2_xml *x, const cg_instance *inst, const char *owner, const char *region,
                    int full)
{
    char dns[160], attach[40];

    ec2_private_dns_name(inst->private_ip, region, dns, sizeof(dns));
    ec2_xml_str(x, "networkInterfaceId", inst->eni_id);
    ec2_xml_str(x, "subnetId", inst->subnet_id);
    ec2_xml_str(x, "vpcId", inst->vpc_id);
    if (full)
        ec2_xml_str(x, "availabilityZone", inst->zone);
    ec2_xml_str(x, "description", NULL);
    if (owner)
        ec2_xml_str(x, "ownerId", owner);
    ec2_xml_str(x, "status", "in-use");
    ec2_xml_str(x, "macAddress", inst->mac);
    /* The address is known once the guest holds a DHCP lease. */
    if (inst->private_ip[0]) {
        ec2_xml_str(x, "privateIpAddress", inst->private_ip);
        ec2_xml_str(x, "privateDnsName", dns);
    }
    ec2_xml_bool(x, "sourceDestCheck", 1);
    ec2_xml_str(x, "interfaceType", "interface");
    ec2_xml_instance_groups(x, inst);
    ec2_xml_start(x, "ipv6AddressesSet");
    ec2_xml_end(x);
    ec2_xml_start(x, "attachment");
    snprintf(attach, sizeof(attach), "eni-attach-%s", inst->eni_id + 4);
    ec2_xml_str(x, "attachmentId", attach);
    if (full) {
        ec2_xml_str(x, "instanceId", inst->id);
        ec2_xml_str(x, "instanceOwnerId", owner);
    }
    ec2_xml_int(x, "deviceIndex", 0);
    ec2_xml_int(x, "networkCardIndex", 0);
    ec2_xml_str(x, "status", "attached");
    ec2_xml_time(x, "attachTime", inst->launch_time);
    ec2_xml_bool(x, "deleteOnTermination", 1);
    ec2_xml_end(x);
    ec2_xml_start(x, "privateIpAddressesSet");
    if (inst->private_ip[0]) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "privateIpAddress", inst->private_ip);
        ec2_xml_str(x, "privateDnsName", dns);
        ec2_xml_bool(x, "primary", 1);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (full) {
        ec2_xml_bool(x, "requesterManaged", 0);
        ec2_xml_tags(x, NULL);
    }
}

void ec2_xml_instance_network(ec2_xml *x, const cg_instance *inst, const char *region)
{
    if (inst->vpc_id[0]) {
        ec2_xml_str(x, "vpcId", inst->vpc_id);
        ec2_xml_str(x, "subnetId", inst->subnet_id);
    }
    ec2_xml_start(x, "networkInterfaceSet");
    if (inst->eni_id[0]) {
        ec2_xml_start(x, "item");
        xml_nic(x, inst, NULL, region, 0);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
}

char *ec2_xml_describe_network_interfaces(const char *request_id, const cg_instance *const *v,
                                          size_t n, const char *owner, const char *region,
                                          const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeNetworkInterfaces", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "networkInterfaceSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        xml_nic(x, v[i], owner, region, 1);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_vpc_attribute(const char *request_id, const char *vpc_id, const char *name,
                            int value, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeVpcAttribute", request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "vpcId", vpc_id);
    ec2_xml_start(x, name);
    ec2_xml_bool(x, "value", value);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}
