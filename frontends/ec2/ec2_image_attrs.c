/* cloudgate: EC2 AMI bookkeeping: DeregisterImage, DescribeImageAttribute,
 * ModifyImageAttribute, ResetImageAttribute.
 *
 * DeregisterImage is refused (IncorrectState) while instances that are not
 * terminated use the image: their disks are thin overlays on its volume,
 * where an EC2 instance's root volume is a copy.  IncorrectState because
 * the request is right and the image's situation is what stands in the way
 * (EC2 has no InvalidAMIID.InUse; InvalidParameterValue would blame the
 * id).  A pending image (its import or capture job owns it) is refused the
 * same way.
 *
 * Launch permissions: group "all" makes the image public (isPublic,
 * is-public).  Account ids (12 digits) are stored and listed as AWS lists
 * them; there is one account here, so they grant nothing.  Organization
 * ARNs, product codes and imdsSupport are UnsupportedOperation.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EC2_ACCOUNT_ID_LEN 12

/* botocore's ImageAttributeName enum: what DescribeImageAttribute knows. */
static const char *const image_attributes[] = {
    "description",        "kernel",          "ramdisk",  "launchPermission", "productCodes",
    "blockDeviceMapping", "sriovNetSupport", "bootMode", "tpmSupport",       "uefiData",
    "lastLaunchedTime",   "imdsSupport",     NULL,
};

static int attribute_known(const char *attr)
{
    size_t i;

    for (i = 0; image_attributes[i]; i++) {
        if (strcmp(image_attributes[i], attr) == 0)
            return 1;
    }
    return 0;
}

static int unknown_attribute(ec2_call *c, const char *attr)
{
    return ec2_fail(c, "InvalidParameterValue",
                    "Value (%.64s) for parameter attribute is invalid. Unknown attribute.", attr);
}

/* ---- the response ------------------------------------------------------- */

/* <name><value>value</value></name>; value NULL writes <name/>, as AWS
 * answers for an image without the attribute. */
static void attribute_value(ec2_xml *x, const char *name, const char *value)
{
    ec2_xml_start(x, name);
    if (value)
        ec2_xml_str(x, "value", value);
    ec2_xml_end(x);
}

static void launch_permissions(ec2_xml *x, const cg_image *img)
{
    char id[EC2_ACCOUNT_ID_LEN + 1];
    const char *p;

    ec2_xml_start(x, "launchPermission");
    if (img->is_public) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "group", "all");
        ec2_xml_end(x);
    }
    for (p = img->launch_users; p && *p;) {
        size_t w = strcspn(p, " ");

        if (w == EC2_ACCOUNT_ID_LEN) {
            snprintf(id, sizeof(id), "%.*s", (int)w, p);
            ec2_xml_start(x, "item");
            ec2_xml_str(x, "userId", id);
            ec2_xml_end(x);
        }
        p += w + (p[w] == ' ');
    }
    ec2_xml_end(x);
}

char *ec2_xml_image_attribute(const char *request_id, const cg_image *img, const char *attribute,
                              time_t last_launched, size_t *len)
{
    ec2_xml *x;
    struct tm tm;
    char when[32];

    if (!attribute_known(attribute) || !(x = ec2_xml_new("DescribeImageAttribute", request_id)))
        return NULL;
    ec2_xml_str(x, "imageId", img->id);
    if (strcmp(attribute, "description") == 0) {
        attribute_value(x, "description", img->description);
    } else if (strcmp(attribute, "launchPermission") == 0) {
        launch_permissions(x, img);
    } else if (strcmp(attribute, "blockDeviceMapping") == 0) {
        ec2_xml_image_block_devices(x, img);
    } else if (strcmp(attribute, "productCodes") == 0) {
        ec2_xml_start(x, "productCodes");
        ec2_xml_end(x);
    } else if (strcmp(attribute, "bootMode") == 0) {
        /* Our domains have no UEFI firmware: SeaBIOS boots them all. */
        attribute_value(x, "bootMode", "legacy-bios");
    } else if (strcmp(attribute, "lastLaunchedTime") == 0) {
        when[0] = '\0';
        if (last_launched && gmtime_r(&last_launched, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        attribute_value(x, "lastLaunchedTime", when[0] ? when : NULL);
    } else {
        /* kernel and ramdisk (no aki-/ari- resources here, as for an HVM
         * AMI), sriovNetSupport, tpmSupport, uefiData, imdsSupport. */
        attribute_value(x, attribute, NULL);
    }
    return ec2_xml_finish(x, len);
}

/* ---- shared checks ------------------------------------------------------ */

/* ImageId: required, well formed, existing; *img points into list.  0 or -1. */
static int load_image(ec2_call *c, cg_image_list *list, const cg_image **img, const char **id)
{
    cg_error err = {0};

    if (!(*id = ec2_params_get(c->params, "ImageId")) || !**id)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter ImageId");
    if (!ec2_id_valid(*id, "ami-"))
        return ec2_fail(c, "InvalidAMIID.Malformed",
                        "Invalid id: \"%.100s\" (expecting \"ami-...\")", *id);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    if (!(*img = ec2_find_image(list, *id)))
        return ec2_fail_not_found(c, id, 1);
    return 0;
}

/* The latest launch of img: recorded at each launch, or (launched before
 * that was recorded) the latest among the instances on record.  0 when
 * none.  0 or -1 (reported). */
static int last_launch(ec2_call *c, const cg_image *img, time_t *when)
{
    cg_instance_list list = {0};
    cg_error err = {0};
    size_t i;

    *when = img->last_launched;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < list.n; i++) {
        if (strcmp(list.v[i].image_id, img->id) == 0 && list.v[i].launch_time > *when)
            *when = list.v[i].launch_time;
    }
    cg_instance_list_release(&list);
    return 0;
}

/* ---- DeregisterImage, and the changes ------------------------------------ */

/* The image named by ImageId (checked, then DryRun) deregistered (chg
 * NULL) or changed by chg; <return>true</return> answers.  0 or -1. */
static int act_on_image(ec2_call *c, const cg_image_change *chg)
{
    cg_image_list list = {0};
    const cg_image *img;
    const char *id;
    cg_error err = {0};
    size_t len = 0;
    int rc, ret = -1;

    if (load_image(c, &list, &img, &id) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    if (chg)
        rc = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_modify, &err, id, chg, NULL);
    else
        rc = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_deregister, &err, id);
    if (rc < 0) {
        /* In use by instances, or pending (see the top of the file). */
        if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectState", "%s", err.message);
        else
            ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    cg_image_list_release(&list);
    return ret;
}

int ec2_deregister_image(ec2_call *c)
{
    return act_on_image(c, NULL);
}

/* ---- DescribeImageAttribute --------------------------------------------- */

int ec2_describe_image_attribute(ec2_call *c)
{
    const char *attr = ec2_params_get(c->params, "Attribute");
    cg_image_list list = {0};
    const cg_image *img;
    const char *id;
    time_t last = 0;
    size_t len = 0;
    int ret = -1;

    if (!attr || !*attr) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter Attribute");
        goto cleanup;
    }
    if (!attribute_known(attr)) {
        unknown_attribute(c, attr);
        goto cleanup;
    }
    if (load_image(c, &list, &img, &id) < 0)
        goto cleanup;
    if (strcmp(attr, "lastLaunchedTime") == 0 && last_launch(c, img, &last) < 0)
        goto cleanup;
    ret = ec2_reply(c, ec2_xml_image_attribute(c->req->request_id, img, attr, last, &len), &len);

cleanup:
    cg_image_list_release(&list);
    return ret;
}

/* ---- ModifyImageAttribute ----------------------------------------------- */

/* One ModifyImageAttribute call, parsed.  The string arrays are malloc'd
 * and borrow the request's parameters. */
typedef struct image_edit {
    const char *description;
    const char **add, **remove;
    size_t n_add, n_remove;
    int add_all, remove_all;
    int launch; /* launch permissions named (either form) */
} image_edit;

static void image_edit_release(image_edit *e)
{
    free(e->add);
    free(e->remove);
}

static int push(ec2_call *c, const char ***v, size_t *n, const char *s)
{
    const char **grown = realloc(*v, (*n + 1) * sizeof(**v));

    if (!grown)
        return ec2_fail(c, "InternalError", "An internal error has occurred: out of memory");
    grown[(*n)++] = s;
    *v = grown;
    return 0;
}

/* A user id or group to add or remove (add: 1 or 0), checked. */
static int permission_item(ec2_call *c, image_edit *e, int add, const char *user, const char *group)
{
    size_t i;

    if (group) {
        if (strcmp(group, "all") != 0)
            return ec2_fail(c, "InvalidAMIAttributeItemValue",
                            "Invalid attribute item value \"%.64s\" for userGroup item type.",
                            group);
        *(add ? &e->add_all : &e->remove_all) = 1;
    }
    if (user) {
        for (i = 0; user[i] >= '0' && user[i] <= '9'; i++)
            ;
        if (i != EC2_ACCOUNT_ID_LEN || user[i])
            return ec2_fail(c, "InvalidAMIAttributeItemValue",
                            "Invalid attribute item value \"%.64s\" for userId item type.", user);
        if (push(c, add ? &e->add : &e->remove, add ? &e->n_add : &e->n_remove, user) < 0)
            return -1;
    }
    e->launch = 1;
    return 0;
}

/* LaunchPermission.Add.N.* / LaunchPermission.Remove.N.* (how = "Add" or
 * "Remove"). */
static int parse_structured(ec2_call *c, image_edit *e, const char *how)
{
    char prefix[40];
    const char *user, *group;
    size_t n, i;

    snprintf(prefix, sizeof(prefix), "LaunchPermission.%s", how);
    if ((n = ec2_params_list_len(c->params, prefix)) > EC2_LIST_MAX)
        return ec2_fail(c, "InvalidParameterValue", "Too many launch permissions");
    for (i = 1; i <= n; i++) {
        if (ec2_params_getf(c->params, "%s.%zu.OrganizationArn", prefix, i) ||
            ec2_params_getf(c->params, "%s.%zu.OrganizationalUnitArn", prefix, i))
            return ec2_fail(c, "UnsupportedOperation",
                            "Organizations are not supported by this cloud");
        user = ec2_params_getf(c->params, "%s.%zu.UserId", prefix, i);
        group = ec2_params_getf(c->params, "%s.%zu.Group", prefix, i);
        if (!user && !group)
            return ec2_fail(c, "MissingParameter", "%s.%zu needs a UserId or a Group", prefix, i);
        if (permission_item(c, e, how[0] == 'A', user, group) < 0)
            return -1;
    }
    return 0;
}

/* Attribute=launchPermission, OperationType, UserId.N, UserGroup.N. */
static int parse_flat_launch(ec2_call *c, image_edit *e)
{
    const char *op = ec2_params_get(c->params, "OperationType");
    const char **users = NULL, **groups = NULL;
    size_t n_users = 0, n_groups = 0, i;
    int add, ret = -1;

    if (!op || (strcmp(op, "add") != 0 && strcmp(op, "remove") != 0)) {
        ec2_fail(c, op ? "InvalidParameterValue" : "MissingParameter",
                 "OperationType must be add or remove for attribute launchPermission");
        goto cleanup;
    }
    add = strcmp(op, "add") == 0;
    if (ec2_param_list(c, "UserId", 0, &users, &n_users) < 0 ||
        ec2_param_list(c, "UserGroup", 0, &groups, &n_groups) < 0)
        goto cleanup;
    if (n_users + n_groups == 0) {
        ec2_fail(c, "MissingParameter",
                 "The request must contain the parameter UserId or "
                 "UserGroup");
        goto cleanup;
    }
    for (i = 0; i < n_users; i++) {
        if (permission_item(c, e, add, users[i], NULL) < 0)
            goto cleanup;
    }
    for (i = 0; i < n_groups; i++) {
        if (permission_item(c, e, add, NULL, groups[i]) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    free(users);
    free(groups);
    return ret;
}

/* Everything ModifyImageAttribute may carry, into e.  One attribute per
 * call, as EC2.  0 or -1. */
static int parse_modify(ec2_call *c, image_edit *e)
{
    const char *attr = ec2_params_get(c->params, "Attribute");
    const char *value = ec2_params_get(c->params, "Value");
    const char *desc = ec2_params_get(c->params, "Description.Value");
    int flat_launch;
    long chars;

    if (!desc)
        desc = ec2_params_get(c->params, "Description");
    if (ec2_params_get(c->params, "ProductCode.1") || (attr && strcmp(attr, "productCodes") == 0))
        return ec2_fail(c, "UnsupportedOperation",
                        "Product codes are not supported by this "
                        "cloud");
    if (ec2_params_get(c->params, "ImdsSupport.Value") ||
        (attr && strcmp(attr, "imdsSupport") == 0))
        return ec2_fail(c, "UnsupportedOperation",
                        "The image attribute imdsSupport is not "
                        "supported by this cloud");
    if (ec2_params_get(c->params, "OrganizationArn.1") ||
        ec2_params_get(c->params, "OrganizationalUnitArn.1"))
        return ec2_fail(c, "UnsupportedOperation",
                        "Organizations are not supported by this "
                        "cloud");
    flat_launch = ec2_params_get(c->params, "OperationType") ||
                  ec2_params_list_len(c->params, "UserId") ||
                  ec2_params_list_len(c->params, "UserGroup");
    if (attr && strcmp(attr, "description") == 0) {
        if (!desc)
            desc = value;
        if (!desc)
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter Value");
    } else if (attr && strcmp(attr, "launchPermission") == 0) {
        flat_launch = 1;
    } else if (attr && attribute_known(attr)) {
        return ec2_fail(c, "InvalidParameterValue",
                        "The image attribute %s cannot be modified (valid values: description "
                        "| imdsSupport | launchPermission)",
                        attr);
    } else if (attr) {
        return unknown_attribute(c, attr);
    }
    if ((flat_launch && parse_flat_launch(c, e) < 0) || parse_structured(c, e, "Add") < 0 ||
        parse_structured(c, e, "Remove") < 0)
        return -1;
    if (desc && e->launch)
        return ec2_fail(c, "InvalidParameterCombination",
                        "Only one attribute can be modified at a time");
    if (!desc && !e->launch)
        return ec2_fail(c, "InvalidParameterCombination", "No attributes specified.");
    if (desc && ((chars = ec2_xml_text_chars(desc)) < 0 || chars > EC2_AMI_DESCRIPTION_MAX))
        return ec2_fail(c, "InvalidParameterValue",
                        "The description must be at most %d characters of valid text",
                        EC2_AMI_DESCRIPTION_MAX);
    e->description = desc;
    return 0;
}

int ec2_modify_image_attribute(ec2_call *c)
{
    image_edit e = {0};
    cg_image_change chg = {0};
    int ret = -1;

    if (parse_modify(c, &e) < 0)
        goto cleanup;
    chg.description = e.description;
    /* Added first, then removed, as the account ids are. */
    chg.set_public = e.remove_all ? 0 : e.add_all ? 1 : -1;
    chg.add_users = e.add;
    chg.n_add_users = e.n_add;
    chg.remove_users = e.remove;
    chg.n_remove_users = e.n_remove;
    ret = act_on_image(c, &chg);

cleanup:
    image_edit_release(&e);
    return ret;
}

/* ---- ResetImageAttribute ------------------------------------------------ */

int ec2_reset_image_attribute(ec2_call *c)
{
    const char *attr = ec2_params_get(c->params, "Attribute");
    cg_image_change chg = {.set_public = -1, .reset_launch = 1};

    if (!attr || !*attr)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter Attribute");
    if (!attribute_known(attr))
        return unknown_attribute(c, attr);
    /* botocore's ResetImageAttributeName has launchPermission alone. */
    if (strcmp(attr, "launchPermission") != 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "The image attribute %s cannot be reset (valid values: launchPermission)",
                        attr);
    return act_on_image(c, &chg);
}
