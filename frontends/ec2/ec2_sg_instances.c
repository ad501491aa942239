/* cloudgate: instances in security groups: RunInstances' SecurityGroupId.N,
 * SecurityGroup.N and NetworkInterface.1.SecurityGroupId.N, and
 * ModifyInstanceAttribute's GroupId.N (ec2_internal.h).
 *
 * A group must be of the instance's VPC (AWS answers InvalidParameter for
 * one of another network); names are looked up in that VPC.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The VPC of subnet (NULL: the default subnet, so the default VPC) into
 * buf.  0 or -1 (answered). */
static int vpc_of_subnet(ec2_call *c, const char *subnet, char *buf, size_t len)
{
    cg_subnet_list subs = {0};
    cg_error err = {0};
    size_t i;

    if (!subnet)
        return ec2_default_vpc_id(c, buf, len);
    buf[0] = '\0';
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_list, &err, &subs) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < subs.n; i++) {
        if (strcmp(subs.v[i].id, subnet) == 0)
            snprintf(buf, len, "%s", subs.v[i].vpc_id);
    }
    cg_subnet_list_release(&subs);
    return 0;
}

/* Add group g (of list) to out once; it must be in vpc.  0 or -1. */
static int add_group(ec2_call *c, const cg_sg *g, const char *vpc, ec2_group_choice *out)
{
    size_t i;

    if (strcmp(g->vpc_id, vpc) != 0)
        return ec2_fail(c, "InvalidParameter", "Security group %s and the instance's network "
                        "(%s) belong to different networks.", g->id, vpc);
    for (i = 0; i < out->n; i++) {
        if (strcmp(out->ids[i], g->id) == 0)
            return 0;
    }
    if (out->n == CG_INSTANCE_GROUPS_MAX)
        return ec2_fail(c, "SecurityGroupsPerInstanceLimitExceeded", "The maximum number of "
                        "security groups per interface has been reached (%d).",
                        CG_INSTANCE_GROUPS_MAX);
    snprintf(out->ids[out->n], sizeof(out->ids[0]), "%s", g->id);
    out->ptrs[out->n] = out->ids[out->n];
    out->n++;
    return 0;
}

/* The group called id (by_name 0) or name in vpc, from list.  NULL
 * answered. */
static const cg_sg *find_group(ec2_call *c, const cg_sg_list *list, const char *s, int by_name,
                               const char *vpc)
{
    size_t i;

    if (!by_name && !ec2_id_valid(s, "sg-")) {
        ec2_sg_fail_id(c, s, 1);
        return NULL;
    }
    for (i = 0; i < list->n; i++) {
        if (by_name ? strcmp(list->v[i].name, s) == 0 && strcmp(list->v[i].vpc_id, vpc) == 0
                    : strcmp(list->v[i].id, s) == 0)
            return &list->v[i];
    }
    if (by_name)
        ec2_fail(c, "InvalidGroup.NotFound", "The security group '%.255s' does not exist in "
                 "VPC '%s'", s, vpc);
    else
        ec2_sg_fail_id(c, s, 0);
    return NULL;
}

/* The groups named by list parameter prefix (by id or by name) into out. */
static int read_groups(ec2_call *c, const cg_sg_list *list, const char *prefix, int by_name,
                       const char *vpc, ec2_group_choice *out)
{
    const char **v = NULL;
    const cg_sg *g;
    size_t n = 0, i;
    int ret = -1;

    if (ec2_param_list(c, prefix, 0, &v, &n) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!(g = find_group(c, list, v[i], by_name, vpc)) || add_group(c, g, vpc, out) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    free(v);
    return ret;
}

int ec2_launch_groups(ec2_call *c, const char *subnet, ec2_group_choice *out)
{
    static const char *const params[] = {"SecurityGroupId", "SecurityGroup",
                                         "NetworkInterface.1.SecurityGroupId"};
    cg_sg_list list = {0};
    cg_error err = {0};
    char vpc[24];
    size_t i, asked = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < 3; i++)
        asked += ec2_params_list_len(c->params, params[i]);
    /* No groups asked for: the driver puts the instance in its VPC's
     * default group (a driver without groups has none). */
    if (!asked)
        return 0;
    if (!c->ctx->driver->sg_list)
        return ec2_fail(c, "UnsupportedOperation", "Security groups are not supported by this "
                        "cloud's driver.");
    if (vpc_of_subnet(c, subnet, vpc, sizeof(vpc)) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < 3; i++) {
        if (read_groups(c, &list, params[i], i == 1, vpc, out) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    cg_sg_list_release(&list);
    return ret;
}

int ec2_modify_instance_groups(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "InstanceId");
    cg_instance_list insts = {0};
    const cg_instance *inst;
    ec2_group_choice choice;
    cg_sg_list list = {0};
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter InstanceId");
        goto cleanup;
    }
    if (!c->ctx->driver->instance_set_groups) {
        ec2_fail(c, "UnsupportedOperation", "Modifying groupSet is not supported by this "
                 "cloud's driver.");
        goto cleanup;
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_check_instance_ids(c, &id, 1, &insts) < 0)
        goto cleanup;
    inst = ec2_find_instance(&insts, id);
    if (inst->state == CG_STATE_TERMINATED || !inst->vpc_id[0]) {
        ec2_fail(c, "IncorrectInstanceState", "The instance '%s' is not in a state from which "
                 "its groups can be changed.", id);
        goto cleanup;
    }
    memset(&choice, 0, sizeof(choice));
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (read_groups(c, &list, "GroupId", 0, inst->vpc_id, &choice) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_set_groups, &err, id, choice.ptrs,
                    choice.n) < 0) {
        ec2_fail_cg(c, &err, err.kind == CG_ERR_NOT_FOUND ? id : NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    cg_sg_list_release(&list);
    cg_instance_list_release(&insts);
    return ret;
}
