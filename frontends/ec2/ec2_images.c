/* cloudgate: EC2 CreateImage and RegisterImage (DescribeImages is in
 * ec2_describe.c).
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

/* CreateImageResponse / RegisterImageResponse: <imageId>. */
static char *image_id_reply(const char *action, const char *request_id, const char *image_id,
                            size_t *len)
{
    ec2_xml *x = ec2_xml_new(action, request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "imageId", image_id);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_create_image(const char *request_id, const char *image_id, size_t *len)
{
    return image_id_reply("CreateImage", request_id, image_id, len);
}

char *ec2_xml_register_image(const char *request_id, const char *image_id, size_t *len)
{
    return image_id_reply("RegisterImage", request_id, image_id, len);
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

/* Name present and as ami_name_ok wants; Description (may be NULL) not
 * too long.  0 or -1 (answered). */
static int ami_name_check(ec2_call *c, const char *name, const char *desc)
{
    if (!name)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter Name");
    if (!ami_name_ok(name))
        return ec2_fail(c, "InvalidAMIName.Malformed",
                        "AMI names must be between 3 and 128 characters long, and may contain "
                        "letters, numbers, '(', ')', '.', '-', '/', '_', '[', ']', ' ', '@' and "
                        "'''");
    if (desc && ec2_xml_text_chars(desc) > EC2_AMI_DESCRIPTION_MAX)
        return ec2_fail(c, "InvalidParameterValue",
                        "The description must be at most %d characters",
                        EC2_AMI_DESCRIPTION_MAX);
    return 0;
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
    if (ami_name_check(c, name, desc) < 0)
        goto cleanup;
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

/* ---- RegisterImage --------------------------------------------------------
 *
 * From a root snapshot only (BlockDeviceMapping.N.Ebs.SnapshotId on the
 * RootDeviceName mapping): there is no S3 here for ImageLocation manifests.
 * The snapshot's volume becomes the image's disk in place (no copy), so the
 * image is available at once and launches in the snapshot's zone; the
 * snapshot is in use until the image is deregistered.  Images have one disk:
 * other mappings are refused (RunInstances can add volumes).
 */

/* Architecture, VirtualizationType, BootMode, KernelId, RamdiskId and
 * ImageLocation: what a disk booted by our domains cannot be.  0 or -1. */
static int register_refusals(ec2_call *c, const char **arch)
{
    const char *a = ec2_params_get(c->params, "Architecture");
    const char *virt = ec2_params_get(c->params, "VirtualizationType");
    const char *boot = ec2_params_get(c->params, "BootMode");

    if (ec2_params_get(c->params, "ImageLocation"))
        return ec2_fail(c, "InvalidParameterValue", "ImageLocation (an S3 manifest) is not "
                        "supported by this cloud: register from a snapshot (BlockDeviceMapping "
                        "with Ebs.SnapshotId for the root device)");
    if (a && strcmp(a, "x86_64") != 0)
        return ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter architecture "
                        "is invalid. This cloud runs x86_64 only.", a);
    if (virt && strcmp(virt, "hvm") != 0)
        return ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter "
                        "virtualizationType is invalid. Only hvm is supported.", virt);
    if (boot && strcmp(boot, "legacy-bios") != 0)
        return ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter bootMode is "
                        "invalid. Only legacy-bios is supported.", boot);
    if (ec2_params_get(c->params, "KernelId") || ec2_params_get(c->params, "RamdiskId"))
        return ec2_fail(c, "InvalidParameterValue", "KernelId and RamdiskId are not supported: "
                        "an image registered from a snapshot boots from its disk");
    *arch = "x86_64";
    return 0;
}

/* The root mapping's snapshot and size (bytes, 0: the snapshot's).  0 or -1. */
static int register_root(ec2_call *c, const char **sid, unsigned long long *size)
{
    const char *root = ec2_params_get(c->params, "RootDeviceName");
    size_t n = ec2_params_list_len(c->params, "BlockDeviceMapping"), i;
    unsigned long long gib;
    int dot;

    *sid = NULL;
    if (!root || !*root)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                        "RootDeviceName");
    if (!ec2_is_root_device(root))
        return ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter "
                        "rootDeviceName is invalid. The root device is /dev/vda (/dev/sda1 and "
                        "/dev/xvda name it too).", root);
    for (i = 1; i <= n; i++) {
        const char *name = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.DeviceName", i);
        char key[64];

        if (!name || !*name)
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                            "BlockDeviceMapping.%zu.DeviceName", i);
        if (strcmp(name, root) != 0)
            return ec2_fail(c, "InvalidBlockDeviceMapping", "Images here have one disk: only "
                            "the root device %.32s can be mapped, not %.32s (RunInstances can "
                            "add volumes)", root, name);
        if (*sid)
            return ec2_fail(c, "InvalidBlockDeviceMapping", "The device %.32s is mapped more "
                            "than once", name);
        if (ec2_params_getf(c->params, "BlockDeviceMapping.%zu.NoDevice", i))
            return ec2_fail(c, "InvalidBlockDeviceMapping", "The root device cannot be "
                            "suppressed (NoDevice)");
        snprintf(key, sizeof(key), "BlockDeviceMapping.%zu.Ebs.DeleteOnTermination", i);
        if (ec2_mapping_refusals(c, i, name) < 0 || ec2_mapping_size(c, i, &gib) < 0 ||
            ec2_param_bool(c, key, 1, &dot) < 0)
            return -1;
        if (!dot)
            return ec2_fail(c, "InvalidBlockDeviceMapping", "The root disk is always deleted "
                            "with the instance: DeleteOnTermination cannot be false");
        *sid = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.SnapshotId", i);
        if (!*sid || !**sid)
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                            "BlockDeviceMapping.%zu.Ebs.SnapshotId", i);
        if (!ec2_id_valid(*sid, "snap-"))
            return ec2_fail(c, "InvalidSnapshotID.Malformed",
                            "Invalid id: \"%.64s\" (expecting \"snap-...\")", *sid);
        *size = gib << 30;
    }
    if (!*sid)
        return ec2_fail(c, "MissingParameter", "The request must contain a BlockDeviceMapping "
                        "with Ebs.SnapshotId for the root device %.32s", root);
    return 0;
}

/* The snapshot sid must exist, be completed, and no image may use it; no
 * image may already be called name.  0 or -1 (answered). */
static int register_check(ec2_call *c, const char *sid, const char *name)
{
    cg_snapshot_list snaps = {0};
    cg_image_list images = {0};
    const cg_snapshot *snap = NULL;
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_list, &err, &snaps) < 0 ||
        CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &images) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < images.n; i++) {
        if (strcmp(images.v[i].name, name) == 0) {
            ec2_fail(c, "InvalidAMIName.Duplicate",
                     "AMI name %.128s is already in use by AMI %s", name, images.v[i].id);
            goto cleanup;
        }
    }
    for (i = 0; i < snaps.n && !snap; i++)
        if (strcmp(snaps.v[i].id, sid) == 0)
            snap = &snaps.v[i];
    if (!snap)
        ec2_fail(c, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", sid);
    else if (strcmp(snap->state, "completed") != 0)
        ec2_fail(c, "IncorrectState", "Snapshot '%s' is %s: wait until it is completed.", sid,
                 snap->state);
    else if (snap->image_id[0])
        ec2_fail(c, "InvalidSnapshot.InUse", "The snapshot %s is already the root device of "
                 "image %s (one image per snapshot here)", sid, snap->image_id);
    else
        ret = 0;

cleanup:
    cg_snapshot_list_release(&snaps);
    cg_image_list_release(&images);
    return ret;
}

int ec2_register_image(ec2_call *c)
{
    const char *name = ec2_params_get(c->params, "Name");
    const char *desc = ec2_params_get(c->params, "Description");
    cg_image_spec spec = {0};
    cg_image img = {0};
    cg_error err = {0};
    cg_tags tags = {0};
    size_t len = 0;
    int ret = -1;

    if (ami_name_check(c, name, desc) < 0)
        goto cleanup;
    if (register_refusals(c, &spec.architecture) < 0 ||
        register_root(c, &spec.snapshot_id, &spec.size_bytes) < 0 ||
        ec2_param_tag_specs(c, "image", &tags) < 0 ||
        register_check(c, spec.snapshot_id, name) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    spec.name = name;
    spec.description = desc && *desc ? desc : NULL;
    spec.tags = tags.n ? &tags : NULL;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_register, &err, &spec, &img) < 0) {
        /* Races with the checks above. */
        if (err.kind == CG_ERR_CONFLICT && strstr(err.message, "named"))
            ec2_fail(c, "InvalidAMIName.Duplicate", "AMI name %.128s is already in use", name);
        else if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidSnapshot.InUse", "%s", err.message);
        else if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectState", "%s", err.message);
        else if (err.kind == CG_ERR_NOT_FOUND)
            ec2_fail(c, "InvalidSnapshot.NotFound", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_register_image(c->req->request_id, img.id, &len), &len);

cleanup:
    cg_tags_release(&tags);
    cg_image_release(&img);
    return ret;
}
