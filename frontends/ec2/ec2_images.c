/* cloudgate: EC2 CreateImage (DescribeImages is in ec2_describe.c).
 *
 * As on AWS the answer comes at once: the engine records the image as
 * "pending" and a job (engine/images.h, cg_capture_submit) copies the
 * instance's root disk, inspects it, seals it when asked and makes it
 * "available" (`aws ec2 wait image-available`).  A running instance is
 * paused for the copy, never rebooted: NoReboot is accepted, and
 * NoReboot=false (EC2's default, a clean shutdown first) is served the same
 * crash-consistent way.  TagSpecification (ResourceType image) tags the
 * image; its cloudgate:seal=true asks for sealing (consumed, not stored).
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EC2_AMI_NAME_MIN 3
#define EC2_AMI_NAME_MAX 128

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
    cg_tags tags = {0};
    cg_job job;
    const char *seal;
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
    if (ec2_param_bool(c, "NoReboot", 0, &no_reboot) < 0 ||
        ec2_param_tag_specs(c, "image", &tags) < 0)
        goto cleanup;
    if ((seal = cg_tags_get(&tags, EC2_TAG_SEAL))) {
        if (strcasecmp(seal, "true") != 0 && strcasecmp(seal, "false") != 0) {
            ec2_fail(c, "InvalidParameterValue", "Tag %s must be true or false, not '%.32s'",
                     EC2_TAG_SEAL, seal);
            goto cleanup;
        }
        spec.seal = strcasecmp(seal, "true") == 0;
        cg_tags_remove(&tags, EC2_TAG_SEAL, NULL);
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_check_instance_ids(c, &id, 1, &list) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    spec.instance_id = id;
    spec.name = name;
    spec.description = desc;
    spec.tags = tags.n ? &tags : NULL;
    if (cg_capture_submit(&c->ctx->core, &spec, &img, &job, &err) < 0) {
        if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidAMIName.Duplicate", "AMI name %.128s is already in use by an AMI",
                     name);
        else
            ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_create_image(c->req->request_id, img.id, &len), &len);

cleanup:
    cg_tags_release(&tags);
    cg_image_release(&img);
    cg_instance_list_release(&list);
    return ret;
}
