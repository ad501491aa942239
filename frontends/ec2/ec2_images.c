/* cloudgate: EC2 CreateImage (DescribeImages is in ec2_describe.c).
 *
 * The driver copies the instance's root disk into a new image (image_capture)
 * and answers once it is available.  A running instance is paused for the
 * copy, never rebooted: NoReboot is accepted, and NoReboot=false (EC2's
 * default, a clean shutdown first) is served the same crash-consistent way.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <string.h>

#define EC2_AMI_NAME_MIN 3
#define EC2_AMI_NAME_MAX 128
#define EC2_AMI_DESCRIPTION_MAX 255

char *ec2_xml_create_image(const char *request_id, const char *image_id, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CreateImage", request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "imageId", image_id);
    return ec2_xml_finish(x, len);
}

/* EC2's rule: 3-128 of letters, digits, ()[] ./-'@_ */
static int ami_name_ok(const char *name)
{
    size_t i, n = strlen(name);

    if (n < EC2_AMI_NAME_MIN || n > EC2_AMI_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("()[] ./-'@_", ch)))
            return 0;
    }
    return 1;
}

int ec2_create_image(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "InstanceId");
    const char *name = ec2_params_get(c->params, "Name");
    const char *desc = ec2_params_get(c->params, "Description");
    cg_capture_spec spec = {0};
    cg_instance_list list = {0};
    cg_image img = {0};
    cg_error err = {0};
    size_t len = 0;
    int no_reboot, ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter InstanceId");
        goto cleanup;
    }
    if (!name) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter Name");
        goto cleanup;
    }
    if (!ami_name_ok(name)) {
        ec2_fail(c, "InvalidAMIName.Malformed",
                 "AMI names must be between 3 and 128 characters long, and may contain letters, "
                 "numbers, '(', ')', '.', '-', '/', '_', '[', ']', ' ', '@' and '''");
        goto cleanup;
    }
    if (desc && ec2_xml_text_chars(desc) > EC2_AMI_DESCRIPTION_MAX) {
        ec2_fail(c, "InvalidParameterValue", "The description must be at most %d characters",
                 EC2_AMI_DESCRIPTION_MAX);
        goto cleanup;
    }
    if (ec2_param_bool(c, "NoReboot", 0, &no_reboot) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_check_instance_ids(c, &id, 1, &list) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    spec.instance_id = id;
    spec.name = name;
    spec.description = desc;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_capture, &err, &spec, &img) < 0) {
        if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidAMIName.Duplicate", "AMI name %.128s is already in use by an AMI",
                     name);
        else
            ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_create_image(c->req->request_id, img.id, &len), &len);

cleanup:
    cg_image_release(&img);
    cg_instance_list_release(&list);
    return ret;
}
