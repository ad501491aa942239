/* cloudgate: EC2 per-instance extras: DescribeInstanceAttribute,
 * ModifyInstanceAttribute, GetConsoleOutput, GetPasswordData.
 *
 * Supported attributes: userData, instanceType, disableApiTermination,
 * blockDeviceMapping, rootDeviceName and groupSet (read here; changed in
 * ec2_sg_instances.c).  The
 * other names botocore knows are UnsupportedOperation; anything else is
 * InvalidParameterValue.  State rules (type and user data only while
 * stopped) are the driver's: it answers CG_ERR_STATE.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../gateway/util.h"

/* What GetConsoleOutput returns: EC2 gives the most recent 64 KiB. */
#define EC2_CONSOLE_MAX 65536

/* botocore's InstanceAttributeName enum. */
static const char *const known_attributes[] = {
    "instanceType",
    "kernel",
    "ramdisk",
    "userData",
    "disableApiTermination",
    "instanceInitiatedShutdownBehavior",
    "rootDeviceName",
    "blockDeviceMapping",
    "productCodes",
    "sourceDestCheck",
    "groupSet",
    "ebsOptimized",
    "sriovNetSupport",
    "enaSupport",
    "enclaveOptions",
    "disableApiStop",
    NULL,
};

/* ModifyInstanceAttribute's structured forms of attributes we do not
 * support (NAME.Value, or list members). */
static const char *const unsupported_modify[] = {
    "Kernel.Value",
    "Ramdisk.Value",
    "SourceDestCheck.Value",
    "EbsOptimized.Value",
    "EnaSupport.Value",
    "SriovNetSupport.Value",
    "DisableApiStop.Value",
    "InstanceInitiatedShutdownBehavior.Value",
    NULL,
};

/* cloudgateDisplay: our own (headless, vnc, spice); botocore sends it (it
 * does not check enums) but drops it from DescribeInstanceAttribute's
 * answer: the cloudgate:display pseudo tag is the visible way. */
#define ATTR_DISPLAY "cloudgateDisplay"

static int supported(const char *attr)
{
    return strcmp(attr, "userData") == 0 || strcmp(attr, "instanceType") == 0 ||
           strcmp(attr, "disableApiTermination") == 0 || strcmp(attr, ATTR_DISPLAY) == 0 ||
           strcmp(attr, "blockDeviceMapping") == 0 || strcmp(attr, "rootDeviceName") == 0 ||
           strcmp(attr, "groupSet") == 0;
}

/* Check attr: 0 when we support it, else -1 with UnsupportedOperation (a
 * name EC2 knows) or InvalidParameterValue. */
static int check_attribute(ec2_call *c, const char *attr)
{
    size_t i;

    if (supported(attr))
        return 0;
    for (i = 0; known_attributes[i]; i++) {
        if (strcmp(known_attributes[i], attr) == 0)
            return ec2_fail(c, "UnsupportedOperation",
                            "The instance attribute '%s' is not supported by this cloud.", attr);
    }
    return ec2_fail(c, "InvalidParameterValue",
                    "Value (%.64s) for parameter attribute is invalid. Unknown attribute.", attr);
}

int ec2_load_instance(ec2_call *c, cg_instance_list *list, const cg_instance **inst,
                      const char **id)
{
    cg_error err = {0};

    if (!(*id = ec2_params_get(c->params, "InstanceId")) || !**id)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter InstanceId");
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    if (ec2_check_instance_ids(c, id, 1, list) < 0)
        return -1;
    *inst = ec2_find_instance(list, *id);
    return 0;
}

/* ---- DescribeInstanceAttribute ------------------------------------------- */

/* The instance's user data, base64 as EC2 answers it; *out NULL when there
 * is none.  0 or -1. */
static int user_data_b64(ec2_call *c, const char *id, char **out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cg_error err = {0};

    *out = NULL;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_user_data, &err, id, &data, &len) < 0)
        return ec2_fail_cg(c, &err, id);
    if (len && !(*out = cg_base64_encode(data, len))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        free(data);
        return ec2_fail_cg(c, &err, NULL);
    }
    free(data);
    return 0;
}

int ec2_describe_instance_attribute(ec2_call *c)
{
    cg_instance_list list = {0};
    const cg_instance *inst;
    const char *id, *attr, *value = NULL;
    char *owned = NULL;
    size_t len = 0;
    int ret = -1;

    if (!(attr = ec2_params_get(c->params, "Attribute")) || !*attr) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter Attribute");
        goto cleanup;
    }
    if (check_attribute(c, attr) < 0 || ec2_load_instance(c, &list, &inst, &id) < 0)
        goto cleanup;
    if (strcmp(attr, "blockDeviceMapping") == 0) {
        cg_volume_list vols = {0};

        if (c->ctx->driver->volume_list && ec2_load_volumes(c, &vols, NULL, NULL) < 0)
            goto cleanup;
        ret = ec2_reply(c, ec2_xml_instance_block_devices(c->req->request_id, inst, &vols, &len),
                        &len);
        cg_volume_list_release(&vols);
        goto cleanup;
    }
    if (strcmp(attr, "groupSet") == 0) {
        ret = ec2_reply(c, ec2_xml_instance_group_set(c->req->request_id, inst, &len), &len);
        goto cleanup;
    }
    if (strcmp(attr, "userData") == 0) {
        if (user_data_b64(c, id, &owned) < 0)
            goto cleanup;
        value = owned;
    } else if (strcmp(attr, "rootDeviceName") == 0) {
        value = "/dev/vda";      /* what DescribeImages and DescribeInstances say */
    } else if (strcmp(attr, "instanceType") == 0) {
        value = inst->instance_type;
    } else if (strcmp(attr, ATTR_DISPLAY) == 0) {
        value = cg_display_name(inst->display ? inst->display : CG_DISPLAY_HEADLESS);
    } else {
        value = inst->disable_api_termination ? "true" : "false";
    }
    ret = ec2_reply(c, ec2_xml_instance_attribute(c->req->request_id, id, attr, value, &len), &len);

cleanup:
    free(owned);
    cg_instance_list_release(&list);
    return ret;
}

/* ---- ModifyInstanceAttribute --------------------------------------------- */

/* Which attribute the request changes and to what: "InstanceType.Value=x"
 * style or "Attribute=instanceType&Value=x".  EC2 changes one per call. */
static int modify_target(ec2_call *c, const char **attr, const char **value)
{
    static const struct {
        const char *param;
        const char *attr;
    } forms[] = {
        {"InstanceType.Value", "instanceType"},
        {"UserData.Value", "userData"},
        {"DisableApiTermination.Value", "disableApiTermination"},
    };
    const char *generic = ec2_params_get(c->params, "Attribute");
    const char *v;
    size_t i, found = 0;

    *attr = *value = NULL;
    for (i = 0; unsupported_modify[i]; i++) {
        if (ec2_params_get(c->params, unsupported_modify[i]))
            return ec2_fail(c, "UnsupportedOperation",
                            "Modifying %.40s is not supported by this cloud.",
                            unsupported_modify[i]);
    }
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if ((v = ec2_params_get(c->params, forms[i].param))) {
            *attr = forms[i].attr;
            *value = v;
            found++;
        }
    }
    if (generic) {
        if (check_attribute(c, generic) < 0)
            return -1;
        /* Readable, but not changed by Attribute/Value. */
        if (strcmp(generic, "rootDeviceName") == 0 || strcmp(generic, "blockDeviceMapping") == 0 ||
            strcmp(generic, "groupSet") == 0)
            return ec2_fail(c, "UnsupportedOperation",
                            "The instance attribute '%s' cannot be modified this way%s.", generic,
                            generic[0] == 'b'   ? ": use BlockDeviceMapping.N.Ebs."
                                                  "DeleteOnTermination"
                            : generic[0] == 'g' ? ": use GroupId.N"
                                                : "");
        if (!(v = ec2_params_get(c->params, "Value")))
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter Value");
        *attr = generic;
        *value = v;
        found++;
    }
    if (found == 0)
        return ec2_fail(c, "MissingParameter",
                        "The request must name an attribute to modify (for example "
                        "InstanceType.Value, UserData.Value or DisableApiTermination.Value)");
    if (found > 1)
        return ec2_fail(c, "InvalidParameterCombination",
                        "Fields for multiple attribute types specified; modify one attribute "
                        "per request.");
    return 0;
}

int ec2_modify_instance_attribute(ec2_call *c)
{
    cg_instance_list list = {0};
    cg_instance_change chg = {.disable_api_termination = -1};
    const cg_instance *inst;
    const char *id, *attr, *value;
    unsigned char *data = NULL;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    /* DeleteOnTermination of attached volumes: ec2_volume_ops.c. */
    if (ec2_params_get(c->params, "BlockDeviceMapping.1.DeviceName"))
        return ec2_modify_block_devices(c);
    /* groupSet: ec2_sg_instances.c. */
    if (ec2_params_get(c->params, "GroupId.1"))
        return ec2_modify_instance_groups(c);
    if (modify_target(c, &attr, &value) < 0)
        goto cleanup;
    if (strcmp(attr, "instanceType") == 0) {
        if (!(chg.type = cg_config_find_type(c->ctx->cfg, value))) {
            ec2_fail(c, "InvalidInstanceAttributeValue",
                     "Value (%.64s) for parameter instanceType is invalid. Unknown instance type.",
                     value);
            goto cleanup;
        }
    } else if (strcmp(attr, "userData") == 0) {
        if (ec2_user_data_decode(c, value, &data, &chg.user_data_len) < 0)
            goto cleanup;
        chg.set_user_data = 1;
        chg.user_data = data;
    } else if (strcmp(attr, ATTR_DISPLAY) == 0) {
        if (ec2_display_parse(c, "parameter " ATTR_DISPLAY, value, &chg.display) < 0)
            goto cleanup;
    } else if (strcasecmp(value, "true") == 0 || strcasecmp(value, "false") == 0) {
        chg.disable_api_termination = strcasecmp(value, "true") == 0;
    } else {
        ec2_fail(c, "InvalidParameterValue",
                 "Value (%.64s) for parameter disableApiTermination is invalid. Expecting a "
                 "boolean.",
                 value);
        goto cleanup;
    }
    if (ec2_load_instance(c, &list, &inst, &id) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_modify, &err, id, &chg) < 0) {
        /* EC2's words for the rule broken; other refusals (a terminated
         * instance) keep the driver's. */
        if (err.kind == CG_ERR_STATE && (chg.type || chg.set_user_data) &&
            inst->state != CG_STATE_TERMINATED)
            ec2_fail(c, "IncorrectInstanceState",
                     "The instance '%s' is not in the 'stopped' state.", id);
        else
            ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    free(data);
    cg_instance_list_release(&list);
    return ret;
}

/* ---- GetConsoleOutput, GetPasswordData ----------------------------------- */

int ec2_get_console_output(ec2_call *c)
{
    cg_instance_list list = {0};
    const cg_instance *inst;
    const char *id;
    unsigned char *data = NULL;
    size_t data_len = 0, len = 0;
    time_t when = 0;
    char *b64 = NULL;
    cg_error err = {0};
    int latest, ret = -1;

    /* Latest: EC2's newest-output-only switch; the newest 64 KiB is what we
     * always give. */
    if (ec2_param_bool(c, "Latest", 0, &latest) < 0 || ec2_load_instance(c, &list, &inst, &id) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_console, &err, id, EC2_CONSOLE_MAX, &data,
                    &data_len, &when) < 0) {
        ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    if (data_len > EC2_CONSOLE_MAX) {
        /* A driver that ignored max_bytes: keep the tail. */
        memmove(data, data + data_len - EC2_CONSOLE_MAX, EC2_CONSOLE_MAX);
        data_len = EC2_CONSOLE_MAX;
    }
    if (!(b64 = cg_base64_encode(data ? data : (const unsigned char *)"", data_len))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(
        c, ec2_xml_console_output(c->req->request_id, id, when ? when : time(NULL), b64, &len),
        &len);

cleanup:
    free(b64);
    free(data);
    cg_instance_list_release(&list);
    return ret;
}

int ec2_get_password_data(ec2_call *c)
{
    cg_instance_list list = {0};
    const cg_instance *inst;
    const char *id;
    size_t len = 0;
    int ret = -1;

    /* Linux guests only: there is never a Windows password to hand out. */
    if (ec2_load_instance(c, &list, &inst, &id) < 0)
        goto cleanup;
    ret =
        ec2_reply(c, ec2_xml_password_data(c->req->request_id, id, inst->launch_time, &len), &len);

cleanup:
    cg_instance_list_release(&list);
    return ret;
}
