/* cloudgate: EC2 documents for security groups and their rules
 * (ec2_internal.h), in botocore's ec2 2016-11-15 shapes. */
#include "ec2_internal.h"

#include <stdio.h>
#include <string.h>

void ec2_xml_instance_groups(ec2_xml *x, const cg_instance *inst)
{
    unsigned i;

    ec2_xml_start(x, "groupSet");
    for (i = 0; i < inst->n_groups; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "groupId", inst->group_ids[i]);
        ec2_xml_str(x, "groupName", inst->group_names[i]);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
}

char *ec2_xml_instance_group_set(const char *request_id, const cg_instance *inst, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeInstanceAttribute", request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "instanceId", inst->id);
    ec2_xml_instance_groups(x, inst);
    return ec2_xml_finish(x, len);
}

/* Do rules a and b belong in one IpPermission (same direction, protocol
 * and ports)? */
static int same_permission(const cg_sg_rule *a, const cg_sg_rule *b)
{
    return a->egress == b->egress && strcmp(a->protocol, b->protocol) == 0 &&
           a->from_port == b->from_port && a->to_port == b->to_port;
}

static void xml_ports(ec2_xml *x, const cg_sg_rule *r)
{
    /* All protocols: AWS shows no ports. */
    if (strcmp(r->protocol, "-1") == 0)
        return;
    ec2_xml_int(x, "fromPort", r->from_port);
    ec2_xml_int(x, "toPort", r->to_port);
}

/* One IpPermission: rule i of g and every later rule sharing its protocol
 * and ports, unless an earlier rule already showed them. */
static void xml_permission(ec2_xml *x, const cg_sg *g, size_t i, const char *owner)
{
    const cg_sg_rule *r = &g->rules[i];
    size_t j;

    ec2_xml_start(x, "item");
    ec2_xml_str(x, "ipProtocol", r->protocol);
    xml_ports(x, r);
    ec2_xml_start(x, "groups");
    for (j = i; j < g->n_rules; j++) {
        if (!same_permission(r, &g->rules[j]) || !g->rules[j].group[0])
            continue;
        ec2_xml_start(x, "item");
        if (g->rules[j].description[0])
            ec2_xml_str(x, "description", g->rules[j].description);
        ec2_xml_str(x, "groupId", g->rules[j].group);
        ec2_xml_str(x, "userId", owner);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    ec2_xml_start(x, "ipRanges");
    for (j = i; j < g->n_rules; j++) {
        if (!same_permission(r, &g->rules[j]) || !g->rules[j].cidr[0])
            continue;
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "cidrIp", g->rules[j].cidr);
        if (g->rules[j].description[0])
            ec2_xml_str(x, "description", g->rules[j].description);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    ec2_xml_start(x, "ipv6Ranges");
    ec2_xml_end(x);
    ec2_xml_start(x, "prefixListIds");
    ec2_xml_end(x);
    ec2_xml_end(x);
}

static void xml_permissions(ec2_xml *x, const char *name, const cg_sg *g, int egress,
                            const char *owner)
{
    size_t i, j;

    ec2_xml_start(x, name);
    for (i = 0; i < g->n_rules; i++) {
        if (g->rules[i].egress != egress)
            continue;
        for (j = 0; j < i && !same_permission(&g->rules[j], &g->rules[i]); j++)
            ;
        if (j == i)
            xml_permission(x, g, i, owner);
    }
    ec2_xml_end(x);
}

char *ec2_xml_create_security_group(const char *request_id, const cg_sg *g, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CreateSecurityGroup", request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "groupId", g->id);
    ec2_xml_tags(x, &g->tags);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_security_groups(const char *request_id, const cg_sg *const *v, size_t n,
                                       const char *owner, const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeSecurityGroups", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "securityGroupInfo");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "ownerId", owner);
        ec2_xml_str(x, "groupId", v[i]->id);
        ec2_xml_str(x, "groupName", v[i]->name);
        ec2_xml_str(x, "groupDescription", v[i]->description);
        ec2_xml_str(x, "vpcId", v[i]->vpc_id);
        xml_permissions(x, "ipPermissions", v[i], 0, owner);
        xml_permissions(x, "ipPermissionsEgress", v[i], 1, owner);
        ec2_xml_tags(x, &v[i]->tags);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

/* One SecurityGroupRule. */
static void xml_rule(ec2_xml *x, const ec2_sg_rule_row *row, const char *owner)
{
    const cg_sg_rule *r = row->rule;

    ec2_xml_start(x, "item");
    ec2_xml_str(x, "securityGroupRuleId", r->id);
    ec2_xml_str(x, "groupId", row->sg->id);
    ec2_xml_str(x, "groupOwnerId", owner);
    ec2_xml_bool(x, "isEgress", r->egress);
    ec2_xml_str(x, "ipProtocol", r->protocol);
    ec2_xml_int(x, "fromPort", r->from_port);
    ec2_xml_int(x, "toPort", r->to_port);
    if (r->cidr[0]) {
        ec2_xml_str(x, "cidrIpv4", r->cidr);
    } else {
        ec2_xml_start(x, "referencedGroupInfo");
        ec2_xml_str(x, "groupId", r->group);
        ec2_xml_str(x, "userId", owner);
        ec2_xml_end(x);
    }
    if (r->description[0])
        ec2_xml_str(x, "description", r->description);
    ec2_xml_tags(x, &r->tags);
    ec2_xml_end(x);
}

char *ec2_xml_authorize_security_group(const char *action, const char *request_id,
                                       const ec2_sg_rule_row *v, size_t n, const char *owner,
                                       size_t *len)
{
    ec2_xml *x = ec2_xml_new(action, request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_bool(x, "return", 1);
    ec2_xml_start(x, "securityGroupRuleSet");
    for (i = 0; i < n; i++)
        xml_rule(x, &v[i], owner);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_security_group_rules(const char *request_id, const ec2_sg_rule_row *v,
                                            size_t n, const char *owner,
                                            const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeSecurityGroupRules", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "securityGroupRuleSet");
    for (i = 0; i < n; i++)
        xml_rule(x, &v[i], owner);
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}
