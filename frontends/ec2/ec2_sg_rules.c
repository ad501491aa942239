/* cloudgate: EC2 security group rules: AuthorizeSecurityGroupIngress/Egress,
 * RevokeSecurityGroupIngress/Egress and DescribeSecurityGroupRules.
 *
 * IpPermissions.N becomes one rule per IpRanges.M / Groups.M entry (the
 * driver's unit, and AWS's security group rule).  The older top-level form
 * (IpProtocol, FromPort, ToPort, CidrIp) is one more permission.  Only IPv4
 * is filtered here (clean-traffic drops guest IPv6): Ipv6Ranges and
 * PrefixListIds are refused.
 */
#include "ec2_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* AWS's default quota of rules per group and direction. */
#define SG_RULES_MAX 60

static const char *const rule_filters[] = {
    "group-id", "security-group-rule-id", "tag-key", "tag-value", "tag:", NULL,
};

static const char *owner(const ec2_call *c)
{
    return c->ctx->cfg->account_id ? c->ctx->cfg->account_id : "";
}

/* Integer parameter name in lo..hi, or def when absent.  0 or -1. */
static int param_port(ec2_call *c, const char *name, int lo, int hi, int def, int *out)
{
    const char *s = ec2_params_get(c->params, name);
    char *end = NULL;
    long v;

    *out = def;
    if (!s)
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter %s is invalid.",
                        s, name);
    *out = (int)v;
    return 0;
}

/* AWS's protocol names and numbers to ours ("tcp", "udp", "icmp", "-1"). */
static int param_protocol(ec2_call *c, const char *name, char *out, size_t len)
{
    static const char *const names[][2] = {
        {"tcp", "tcp"}, {"6", "tcp"}, {"udp", "udp"}, {"17", "udp"},
        {"icmp", "icmp"}, {"1", "icmp"}, {"-1", "-1"},
    };
    const char *s = ec2_params_get(c->params, name);
    size_t i;

    if (!s || !*s)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                        "ipProtocol");
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i][0]) == 0) {
            snprintf(out, len, "%s", names[i][1]);
            return 0;
        }
    }
    return ec2_fail(c, "InvalidParameterValue", "Invalid value '%.32s' for IP protocol. "
                    "Supported here: tcp, udp, icmp, -1 (or 6, 17, 1).", s);
}

/* The protocol and ports of permission prefix ("IpPermissions.N." or "")
 * into proto, checked as AWS does.  0 or -1. */
static int param_proto_ports(ec2_call *c, const char *prefix, cg_sg_rule *proto)
{
    char name[96];

    memset(proto, 0, sizeof(*proto));
    snprintf(name, sizeof(name), "%sIpProtocol", prefix);
    if (param_protocol(c, name, proto->protocol, sizeof(proto->protocol)) < 0)
        return -1;
    if (strcmp(proto->protocol, "-1") == 0) {
        proto->from_port = proto->to_port = -1;
        return 0;
    }
    if (strcmp(proto->protocol, "icmp") == 0) {
        /* Type and code, -1 for any. */
        snprintf(name, sizeof(name), "%sFromPort", prefix);
        if (param_port(c, name, -1, 255, -1, &proto->from_port) < 0)
            return -1;
        snprintf(name, sizeof(name), "%sToPort", prefix);
        if (param_port(c, name, -1, 255, -1, &proto->to_port) < 0)
            return -1;
        if (proto->from_port == -1 && proto->to_port != -1)
            return ec2_fail(c, "InvalidParameterValue", "ICMP code (%d) given without a type.",
                            proto->to_port);
        return 0;
    }
    snprintf(name, sizeof(name), "%sFromPort", prefix);
    if (param_port(c, name, 0, 65535, -2, &proto->from_port) < 0)
        return -1;
    snprintf(name, sizeof(name), "%sToPort", prefix);
    if (param_port(c, name, 0, 65535, -2, &proto->to_port) < 0)
        return -1;
    if (proto->from_port == -2 || proto->to_port == -2 || proto->from_port > proto->to_port)
        return ec2_fail(c, "InvalidParameterValue", "Invalid %s port range %d-%d: both ports "
                        "in 0..65535, from not above to.", proto->protocol,
                        proto->from_port, proto->to_port);
    return 0;
}

/* Append proto with cidr or group (and description) to *v.  0 or -1. */
static int add_rule(ec2_call *c, const cg_sg_rule *proto, const char *cidr, const char *group,
                    const char *desc, cg_sg_rule **v, size_t *n)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
    cg_sg_rule *bigger;
    cg_cidr block;

    if (cidr && cg_cidr_parse(cidr, &block) < 0)
        return ec2_fail(c, "InvalidParameterValue", "CIDR block %.64s is malformed", cidr);
    if (group && !ec2_id_valid(group, "sg-"))
        return ec2_sg_fail_id(c, group, 1);
    if (desc && *desc && ec2_sg_text_check(c, "Description", desc) < 0)
        return -1;
    if (*n >= SG_RULES_MAX)
        return ec2_fail(c, "RulesPerSecurityGroupLimitExceeded", "The maximum number of rules "
                        "per security group has been reached.");
    if (!(bigger = realloc(*v, (*n + 1) * sizeof(**v))))
        return ec2_fail_cg(c, &oom, NULL);
    *v = bigger;
    bigger[*n] = *proto;
    if (cidr)
        cg_cidr_format(&block, bigger[*n].cidr, sizeof(bigger[*n].cidr));
    snprintf(bigger[*n].group, sizeof(bigger[*n].group), "%s", group ? group : "");
    snprintf(bigger[*n].description, sizeof(bigger[*n].description), "%s", desc ? desc : "");
    (*n)++;
    return 0;
}

/* The sources of permission prefix: IpRanges.M and Groups.M.  0 or -1. */
static int param_sources(ec2_call *c, const char *prefix, const cg_sg_rule *proto,
                         cg_sg_rule **v, size_t *n)
{
    size_t before = *n, m, count;
    char name[128];

    snprintf(name, sizeof(name), "%sIpv6Ranges", prefix);
    count = ec2_params_list_len(c->params, name);
    snprintf(name, sizeof(name), "%sPrefixListIds", prefix);
    if (count || ec2_params_list_len(c->params, name))
        return ec2_fail(c, "InvalidParameterValue", "IPv6 ranges and prefix lists are not "
                        "supported by this cloud.");
    snprintf(name, sizeof(name), "%sIpRanges", prefix);
    count = ec2_params_list_len(c->params, name);
    for (m = 1; m <= count; m++) {
        const char *cidr = ec2_params_getf(c->params, "%sIpRanges.%zu.CidrIp", prefix, m);
        const char *desc = ec2_params_getf(c->params, "%sIpRanges.%zu.Description", prefix, m);

        if (!cidr || !*cidr)
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                            "cidrIp");
        if (add_rule(c, proto, cidr, NULL, desc, v, n) < 0)
            return -1;
    }
    snprintf(name, sizeof(name), "%sGroups", prefix);
    count = ec2_params_list_len(c->params, name);
    for (m = 1; m <= count; m++) {
        const char *gid = ec2_params_getf(c->params, "%sGroups.%zu.GroupId", prefix, m);
        const char *desc = ec2_params_getf(c->params, "%sGroups.%zu.Description", prefix, m);

        if (!gid || !*gid)
            return ec2_fail(c, "InvalidParameterValue", "Groups.%zu: a source group is named "
                            "by its GroupId here.", m);
        if (add_rule(c, proto, NULL, gid, desc, v, n) < 0)
            return -1;
    }
    if (*n == before)
        return ec2_fail(c, "InvalidParameterValue", "A permission must name at least one IP "
                        "range or security group.");
    return 0;
}

/* IpPermissions.N (and the top-level form) into rules *v (n), direction
 * egress.  0 or -1. */
static int param_rules(ec2_call *c, int egress, cg_sg_rule **v, size_t *n)
{
    size_t count = ec2_params_list_len(c->params, "IpPermissions"), i;
    const char *cidr = ec2_params_get(c->params, "CidrIp");
    char prefix[48];
    cg_sg_rule proto;

    *v = NULL;
    *n = 0;
    if (count > EC2_LIST_MAX)
        return ec2_fail(c, "InvalidParameterValue", "Too many IpPermissions.");
    for (i = 1; i <= count; i++) {
        snprintf(prefix, sizeof(prefix), "IpPermissions.%zu.", i);
        if (param_proto_ports(c, prefix, &proto) < 0 ||
            param_sources(c, prefix, &proto, v, n) < 0)
            return -1;
    }
    if (ec2_params_get(c->params, "IpProtocol") || cidr) {
        if (param_proto_ports(c, "", &proto) < 0 ||
            add_rule(c, &proto, cidr && *cidr ? cidr : "0.0.0.0/0", NULL, NULL, v, n) < 0)
            return -1;
    }
    if (ec2_params_get(c->params, "SourceSecurityGroupName"))
        return ec2_fail(c, "InvalidParameterValue", "Name a source group in "
                        "IpPermissions.N.Groups.M.GroupId.");
    if (!*n)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                        "ipPermissions");
    for (i = 0; i < *n; i++)
        (*v)[i].egress = egress;
    return 0;
}

/* Each source group of rules[0..n) exists in g's VPC; with existing (the
 * rules g has) the direction stays within its quota.  0 or -1. */
static int check_rules(ec2_call *c, const cg_sg_list *list, const cg_sg *g,
                       const cg_sg_rule *rules, size_t n, int adding)
{
    size_t i, j, have = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < list->n && strcmp(list->v[j].id, rules[i].group) != 0; j++)
            ;
        if (rules[i].group[0] && j == list->n)
            return ec2_sg_fail_id(c, rules[i].group, 0);
        if (rules[i].group[0] && strcmp(list->v[j].vpc_id, g->vpc_id) != 0)
            return ec2_fail(c, "InvalidParameterValue", "Security group %s is in another VPC "
                            "than %s.", rules[i].group, g->id);
    }
    for (i = 0; i < g->n_rules; i++)
        have += g->rules[i].egress == rules[0].egress;
    if (adding && have + n > SG_RULES_MAX)
        return ec2_fail(c, "RulesPerSecurityGroupLimitExceeded", "The maximum number of rules "
                        "per security group has been reached.");
    return 0;
}

/* Do a and b name the same rule (all but id and description)? */
static int same_rule(const cg_sg_rule *a, const cg_sg_rule *b)
{
    return a->egress == b->egress && strcmp(a->protocol, b->protocol) == 0 &&
           a->from_port == b->from_port && a->to_port == b->to_port &&
           strcmp(a->cidr, b->cidr) == 0 && strcmp(a->group, b->group) == 0;
}

/* Answer an Authorize with the rules just made (read back for their ids). */
static int authorize_answer(ec2_call *c, const char *group_id, const cg_sg_rule *rules,
                            size_t n)
{
    ec2_sg_rule_row *rows = n ? calloc(n, sizeof(*rows)) : NULL;
    cg_sg_list list = {0};
    const cg_sg *g = NULL;
    size_t i, j, found = 0, len = 0;
    int ret = -1;

    if (n && !rows) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

        ec2_fail_cg(c, &oom, NULL);
        goto cleanup;
    }
    if (ec2_sg_load(c, &list, group_id, NULL, &g) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        for (j = 0; j < g->n_rules && !same_rule(&g->rules[j], &rules[i]); j++)
            ;
        if (j < g->n_rules) {
            rows[found].sg = g;
            rows[found++].rule = &g->rules[j];
        }
    }
    ret = ec2_reply(c, ec2_xml_authorize_security_group(c->action, c->req->request_id, rows,
                                                        found, owner(c), &len), &len);

cleanup:
    free(rows);
    cg_sg_list_release(&list);
    return ret;
}

/* The four rule actions: authorize or revoke, ingress or egress. */
static int change_rules(ec2_call *c, int egress, int revoke)
{
    const char *id = ec2_params_get(c->params, "GroupId");
    const char *name = egress ? NULL : ec2_params_get(c->params, "GroupName");
    cg_sg_rule *rules = NULL;
    cg_sg_list list = {0};
    const cg_sg *g = NULL;
    cg_error err = {0};
    char gid[32];
    size_t n = 0, len = 0;
    int ret = -1;

    if ((!id || !*id) && (!name || !*name)) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter groupId");
        goto cleanup;
    }
    if (param_rules(c, egress, &rules, &n) < 0 ||
        ec2_sg_load(c, &list, id && *id ? id : NULL, name, &g) < 0 ||
        check_rules(c, &list, g, rules, n, !revoke) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    snprintf(gid, sizeof(gid), "%s", g->id);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_rules_change, &err, gid, revoke, rules,
                    n) < 0) {
        if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidPermission.Duplicate", "%s", err.message);
        else if (err.kind == CG_ERR_NOT_FOUND)
            ec2_fail(c, "InvalidPermission.NotFound", "The specified rule does not exist in "
                     "this security group.");
        else if (err.kind == CG_ERR_MISSING)
            ec2_fail(c, "InvalidGroup.NotFound", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (revoke)
        ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);
    else
        ret = authorize_answer(c, gid, rules, n);

cleanup:
    free(rules);
    cg_sg_list_release(&list);
    return ret;
}

int ec2_authorize_security_group_ingress(ec2_call *c)
{
    return change_rules(c, 0, 0);
}

int ec2_authorize_security_group_egress(ec2_call *c)
{
    return change_rules(c, 1, 0);
}

int ec2_revoke_security_group_ingress(ec2_call *c)
{
    return change_rules(c, 0, 1);
}

int ec2_revoke_security_group_egress(ec2_call *c)
{
    return change_rules(c, 1, 1);
}

/* ---- DescribeSecurityGroupRules --------------------------------------------- */

static void rule_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const ec2_sg_rule_row *row = obj;

    (void)ud;
    if (ec2_match_tags(m, name, &row->rule->tags))
        return;
    if (strcmp(name, "group-id") == 0)
        ec2_match_offer(m, row->sg->id);
    else if (strcmp(name, "security-group-rule-id") == 0)
        ec2_match_offer(m, row->rule->id);
}

static const char *rule_key(const void *elem)
{
    return ((const ec2_sg_rule_row *)elem)->rule->id;
}

int ec2_describe_security_group_rules(ec2_call *c)
{
    const char **ids = NULL;
    ec2_sg_rule_row *rows = NULL, *grown;
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_sg_list list = {0};
    const cg_sg *none;
    cg_error err = {0};
    char *next = NULL;
    size_t n_ids = 0, n = 0, i, j, k, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "SecurityGroupRuleId", 0, &ids, &n_ids) < 0 ||
        ec2_param_filters(c, rule_filters, &filters) < 0 ||
        ec2_param_page(c, "security-group-rules", 5, 1000, &page) < 0)
        goto cleanup;
    for (i = 0; i < n_ids; i++) {
        if (!ec2_id_valid(ids[i], "sgr-")) {
            ec2_fail(c, "InvalidSecurityGroupRuleId.Malformed", "Invalid id: \"%.64s\" "
                     "(expecting \"sgr-...\")", ids[i]);
            goto cleanup;
        }
    }
    if (ec2_sg_load(c, &list, NULL, NULL, &none) < 0)
        goto cleanup;
    for (i = 0; i < list.n; i++) {
        for (j = 0; j < list.v[i].n_rules; j++) {
            for (k = 0; k < n_ids && strcmp(ids[k], list.v[i].rules[j].id) != 0; k++)
                ;
            if (n_ids && k == n_ids)
                continue;
            if (!(grown = realloc(rows, (n + 1) * sizeof(*rows)))) {
                cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
                ec2_fail_cg(c, &err, NULL);
                goto cleanup;
            }
            rows = grown;
            rows[n].sg = &list.v[i];
            rows[n].rule = &list.v[i].rules[j];
            if (ec2_filters_match(&filters, &rows[n], rule_field, NULL))
                n++;
        }
    }
    for (k = 0; k < n_ids; k++) {
        for (i = 0; i < n && strcmp(rows[i].rule->id, ids[k]) != 0; i++)
            ;
        if (i == n && !filters.n) {
            ec2_fail(c, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID "
                     "'%.64s' does not exist", ids[k]);
            goto cleanup;
        }
    }
    ec2_sort(rows, n, sizeof(*rows), rule_key);
    if (ec2_page_take(&page, rows, &n, sizeof(*rows), rule_key, &next, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_describe_security_group_rules(c->req->request_id, rows, n,
                                                             owner(c), next, &len), &len);

cleanup:
    free(ids);
    free(rows);
    free(next);
    ec2_filters_release(&filters);
    ec2_page_release(&page);
    cg_sg_list_release(&list);
    return ret;
}
