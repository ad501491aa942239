/* cloudgate: EC2 security group actions: CreateSecurityGroup,
 * DeleteSecurityGroup and DescribeSecurityGroups over the driver's sg_*
 * operations (rules: ec2_sg_rules.c).
 *
 * Names follow AWS's VPC rules: 1..255 characters from a-z A-Z 0-9, space
 * and ._-:/()#,@[]+=&;{}!$*, not starting with "sg-"; a name is unique in
 * its VPC.  GroupName alone (no GroupId) names a group of the default VPC,
 * as on AWS.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AWS's limit on names, descriptions and rule descriptions. */
#define SG_TEXT_MAX 255

static const char *const sg_filters[] = {
    "group-id", "group-name", "vpc-id", "description", "owner-id",
    "ip-permission.protocol", "ip-permission.from-port", "ip-permission.to-port",
    "ip-permission.cidr", "ip-permission.group-id",
    "egress.ip-permission.protocol", "egress.ip-permission.from-port",
    "egress.ip-permission.to-port", "egress.ip-permission.cidr",
    "egress.ip-permission.group-id", "tag-key", "tag-value", "tag:", NULL,
};

static const char *owner(const ec2_call *c)
{
    return c->ctx->cfg->account_id ? c->ctx->cfg->account_id : "";
}

int ec2_sg_fail_id(ec2_call *c, const char *id, int malformed)
{
    if (malformed)
        return ec2_fail(c, "InvalidGroupId.Malformed",
                        "Invalid id: \"%.64s\" (expecting \"sg-...\")", id);
    return ec2_fail(c, "InvalidGroup.NotFound", "The security group '%.64s' does not exist", id);
}

int ec2_sg_text_check(ec2_call *c, const char *param, const char *s)
{
    static const char extra[] = " ._-:/()#,@[]+=&;{}!$*";
    size_t i, len = s ? strlen(s) : 0;

    if (!s || !*s)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter %s",
                        param);
    if (len > SG_TEXT_MAX)
        return ec2_fail(c, "InvalidParameterValue", "Value for parameter %s is invalid: longer "
                        "than %d characters.", param, SG_TEXT_MAX);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr(extra, ch)))
            return ec2_fail(c, "InvalidParameterValue", "Value for parameter %s is invalid. "
                            "Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;"
                            "{}!$*", param);
    }
    return 0;
}

int ec2_sg_load(ec2_call *c, cg_sg_list *list, const char *id, const char *name,
                const cg_sg **out)
{
    char vpc[24];
    cg_error err = {0};
    size_t i;

    *out = NULL;
    if (id && !ec2_id_valid(id, "sg-"))
        return ec2_sg_fail_id(c, id, 1);
    if ((!id && name && ec2_default_vpc_id(c, vpc, sizeof(vpc)) < 0) ||
        CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_list, &err, list) < 0)
        return err.kind ? ec2_fail_cg(c, &err, NULL) : -1;
    for (i = 0; i < list->n; i++) {
        if ((id && strcmp(list->v[i].id, id) == 0) ||
            (!id && name && strcmp(list->v[i].vpc_id, vpc) == 0 &&
             strcmp(list->v[i].name, name) == 0)) {
            *out = &list->v[i];
            return 0;
        }
    }
    if (id)
        return ec2_sg_fail_id(c, id, 0);
    if (name)
        return ec2_fail(c, "InvalidGroup.NotFound", "The security group '%.255s' does not "
                        "exist in default VPC '%s'", name, vpc);
    return 0;
}

/* ---- CreateSecurityGroup -------------------------------------------------- */

int ec2_create_security_group(ec2_call *c)
{
    const char *name = ec2_params_get(c->params, "GroupName");
    const char *desc = ec2_params_get(c->params, "GroupDescription");
    const char *vpc_id = ec2_params_get(c->params, "VpcId");
    char def_vpc[24];
    cg_sg spec, made;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    memset(&spec, 0, sizeof(spec));
    memset(&made, 0, sizeof(made));
    if (ec2_sg_text_check(c, "GroupName", name) < 0 ||
        ec2_sg_text_check(c, "GroupDescription", desc) < 0 ||
        ec2_param_tag_specs(c, "security-group", &spec.tags) < 0)
        goto cleanup;
    if (strncmp(name, "sg-", 3) == 0) {
        ec2_fail(c, "InvalidParameterValue", "Group names may not be in the format sg-*.");
        goto cleanup;
    }
    if (vpc_id && !ec2_id_valid(vpc_id, "vpc-")) {
        ec2_fail(c, "InvalidVpcID.Malformed", "Invalid id: \"%.64s\" (expecting \"vpc-...\")",
                 vpc_id);
        goto cleanup;
    }
    if (!vpc_id || !*vpc_id) {
        if (ec2_default_vpc_id(c, def_vpc, sizeof(def_vpc)) < 0)
            goto cleanup;
        vpc_id = def_vpc;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    snprintf(spec.vpc_id, sizeof(spec.vpc_id), "%s", vpc_id);
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    snprintf(spec.description, sizeof(spec.description), "%s", desc);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_create, &err, &spec, &made) < 0) {
        if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidGroup.Duplicate", "The security group '%.255s' already exists "
                     "for VPC '%s'", name, vpc_id);
        else if (err.kind == CG_ERR_NOT_FOUND)
            ec2_fail(c, "InvalidVpcID.NotFound", "The vpc ID '%.64s' does not exist", vpc_id);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_create_security_group(c->req->request_id, &made, &len), &len);

cleanup:
    cg_sg_release(&made);
    cg_tags_release(&spec.tags);
    return ret;
}

/* ---- DeleteSecurityGroup -------------------------------------------------- */

int ec2_delete_security_group(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "GroupId");
    const char *name = ec2_params_get(c->params, "GroupName");
    cg_sg_list list = {0};
    const cg_sg *g = NULL;
    cg_error err = {0};
    char gid[32];
    size_t len = 0;
    int ret = -1;

    if ((!id || !*id) && (!name || !*name)) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter groupName or "
                 "groupId");
        goto cleanup;
    }
    if (ec2_sg_load(c, &list, id && *id ? id : NULL, name, &g) < 0)
        goto cleanup;
    if (g->is_default) {
        ec2_fail(c, "CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be "
                 "deleted by a user", g->id);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    snprintf(gid, sizeof(gid), "%s", g->id);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_delete, &err, gid) < 0) {
        if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "DependencyViolation", "resource %s has a dependent object", gid);
        else if (err.kind == CG_ERR_NOT_FOUND)
            ec2_sg_fail_id(c, gid, 0);
        else if (err.kind == CG_ERR_FORBIDDEN)
            ec2_fail(c, "CannotDelete", "the specified group: \"%s\" name: \"default\" cannot "
                     "be deleted by a user", gid);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    cg_sg_list_release(&list);
    return ret;
}

/* ---- DescribeSecurityGroups ----------------------------------------------- */

/* Offer the values of every rule of g in one direction for one field. */
static void offer_rules(const cg_sg *g, int egress, const char *field, ec2_match *m)
{
    char num[16];
    size_t i;

    for (i = 0; i < g->n_rules; i++) {
        const cg_sg_rule *r = &g->rules[i];

        if (r->egress != egress)
            continue;
        if (strcmp(field, "protocol") == 0) {
            ec2_match_offer(m, r->protocol);
        } else if (strcmp(field, "from-port") == 0 || strcmp(field, "to-port") == 0) {
            snprintf(num, sizeof(num), "%d", field[0] == 'f' ? r->from_port : r->to_port);
            ec2_match_offer(m, num);
        } else if (strcmp(field, "cidr") == 0 && r->cidr[0]) {
            ec2_match_offer(m, r->cidr);
        } else if (strcmp(field, "group-id") == 0 && r->group[0]) {
            ec2_match_offer(m, r->group);
        }
    }
}

static void sg_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    static const char ingress[] = "ip-permission.", egress[] = "egress.ip-permission.";
    const cg_sg *g = obj;

    if (ec2_match_tags(m, name, &g->tags))
        return;
    if (strcmp(name, "group-id") == 0)
        ec2_match_offer(m, g->id);
    else if (strcmp(name, "group-name") == 0)
        ec2_match_offer(m, g->name);
    else if (strcmp(name, "vpc-id") == 0)
        ec2_match_offer(m, g->vpc_id);
    else if (strcmp(name, "description") == 0)
        ec2_match_offer(m, g->description);
    else if (strcmp(name, "owner-id") == 0)
        ec2_match_offer(m, ud);
    else if (strncmp(name, ingress, sizeof(ingress) - 1) == 0)
        offer_rules(g, 0, name + sizeof(ingress) - 1, m);
    else if (strncmp(name, egress, sizeof(egress) - 1) == 0)
        offer_rules(g, 1, name + sizeof(egress) - 1, m);
}

static const char *sg_key(const void *elem)
{
    return (*(const cg_sg *const *)elem)->id;
}

/* Was g asked for by GroupId.N / GroupName.N (names: default VPC only)? */
static int sg_asked(const cg_sg *g, const char **ids, size_t n_ids, const char **names,
                    size_t n_names, const char *def_vpc)
{
    size_t i;

    for (i = 0; i < n_ids; i++) {
        if (strcmp(ids[i], g->id) == 0)
            return 1;
    }
    for (i = 0; i < n_names; i++) {
        if (strcmp(names[i], g->name) == 0 && strcmp(g->vpc_id, def_vpc) == 0)
            return 1;
    }
    return !n_ids && !n_names;
}

int ec2_describe_security_groups(ec2_call *c)
{
    const char **ids = NULL, **names = NULL;
    const cg_sg **v = NULL;
    const cg_sg *found;
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_sg_list list = {0};
    cg_error err = {0};
    char def_vpc[24] = "", *next = NULL;
    size_t n_ids = 0, n_names = 0, n = 0, i, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "GroupId", 0, &ids, &n_ids) < 0 ||
        ec2_param_list(c, "GroupName", 0, &names, &n_names) < 0 ||
        ec2_param_filters(c, sg_filters, &filters) < 0 ||
        ec2_param_page(c, "security-groups", 5, 1000, &page) < 0)
        goto cleanup;
    if ((n_ids || n_names) && page.max) {
        ec2_fail(c, "InvalidParameterCombination", "The parameter groupIds and maxResults "
                 "cannot be used together");
        goto cleanup;
    }
    for (i = 0; i < n_ids; i++) {
        if (!ec2_id_valid(ids[i], "sg-")) {
            ec2_sg_fail_id(c, ids[i], 1);
            goto cleanup;
        }
    }
    if (ec2_default_vpc_id(c, def_vpc, sizeof(def_vpc)) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    /* Every id and name asked for must exist. */
    for (i = 0; i < n_ids + n_names; i++) {
        found = NULL;
        for (n = 0; n < list.n && !found; n++) {
            if (i < n_ids ? strcmp(list.v[n].id, ids[i]) == 0
                          : strcmp(list.v[n].name, names[i - n_ids]) == 0 &&
                                strcmp(list.v[n].vpc_id, def_vpc) == 0)
                found = &list.v[n];
        }
        if (!found) {
            if (i < n_ids)
                ec2_sg_fail_id(c, ids[i], 0);
            else
                ec2_fail(c, "InvalidGroup.NotFound", "The security group '%.255s' does not "
                         "exist in default VPC '%s'", names[i - n_ids], def_vpc);
            goto cleanup;
        }
    }
    n = 0;
    if (list.n && !(v = calloc(list.n, sizeof(*v)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < list.n; i++) {
        if (sg_asked(&list.v[i], ids, n_ids, names, n_names, def_vpc) &&
            ec2_filters_match(&filters, &list.v[i], sg_field, (void *)owner(c)))
            v[n++] = &list.v[i];
    }
    ec2_sort(v, n, sizeof(*v), sg_key);
    if (ec2_page_take(&page, v, &n, sizeof(*v), sg_key, &next, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_describe_security_groups(c->req->request_id, v, n, owner(c),
                                                        next, &len), &len);

cleanup:
    free(ids);
    free(names);
    free(v);
    free(next);
    ec2_filters_release(&filters);
    ec2_page_release(&page);
    cg_sg_list_release(&list);
    return ret;
}
