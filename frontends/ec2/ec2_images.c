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
#include <stdlib.h>
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

/* CreateImage's BlockDeviceMapping.N: DeviceName with NoDevice leaves that
 * attached volume out of the image (every other one is in it, as in EC2).
 * Adding or resizing disks here is refused: attach a volume first.  Into
 * devs (n of them, "vdb"...).  0 or -1 (answered). */
static int create_image_skips(ec2_call *c, char devs[][8], size_t max, size_t *n)
{
    size_t count = ec2_params_list_len(c->params, "BlockDeviceMapping"), i;

    *n = 0;
    if (count > max)
        return ec2_fail(c, "InvalidParameterValue",
                        "Too many BlockDeviceMapping items (vdb..vdz).");
    for (i = 1; i <= count; i++) {
        const char *name = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.DeviceName", i);

        if (!name || !*name)
            return ec2_fail(c, "MissingParameter",
                            "The request must contain the parameter "
                            "BlockDeviceMapping.%zu.DeviceName",
                            i);
        if (ec2_is_root_device(name))
            return ec2_fail(c, "InvalidBlockDeviceMapping",
                            "The root device %.32s cannot be left out of an image", name);
        if (ec2_volume_device(c, name, devs[*n], 8) < 0)
            return -1;
        if (!ec2_params_getf(c->params, "BlockDeviceMapping.%zu.NoDevice", i))
            return ec2_fail(c, "InvalidParameterValue",
                            "BlockDeviceMapping.%zu: CreateImage takes every attached volume "
                            "and NoDevice to leave one out; attach a volume to add a disk",
                            i);
        (*n)++;
    }
    return 0;
}

int ec2_seal_tag_take(ec2_call *c, cg_tags *tags, int *seal)
{
    const char *v;

    *seal = 0;
    if (!(v = cg_tags_get(tags, EC2_TAG_SEAL)))
        return 0;
    if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0)
        return ec2_fail(c, "InvalidParameterValue", "Tag %s must be true or false, not '%.32s'",
                        EC2_TAG_SEAL, v);
    *seal = strcasecmp(v, "true") == 0;
    cg_tags_remove(tags, EC2_TAG_SEAL, NULL); /* a request, not a tag */
    return 0;
}

int ec2_create_image(ec2_call *c)
{
    char skip[25][8];
    const char *skip_ptr[25];
    size_t n_skip = 0, k;
    const char *id = ec2_params_get(c->params, "InstanceId");
    const char *name = ec2_params_get(c->params, "Name");
    const char *desc = ec2_params_get(c->params, "Description");
    cg_capture_spec spec = {0};
    cg_instance_list list = {0};
    cg_image img = {0};
    cg_error err = {0};
    cg_tags tags = {0};
    cg_job job;
    size_t len = 0;
    int no_reboot, ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter InstanceId");
        goto cleanup;
    }
    if (ami_name_check(c, name, desc) < 0)
        goto cleanup;
    if (ec2_param_bool(c, "NoReboot", 0, &no_reboot) < 0 ||
        ec2_param_tag_specs(c, "image", &tags) < 0 ||
        create_image_skips(c, skip, sizeof(skip) / sizeof(skip[0]), &n_skip) < 0)
        goto cleanup;
    for (k = 0; k < n_skip; k++)
        skip_ptr[k] = skip[k];
    /* As in RegisterImage: cloudgate:display is the image's setting, never a stored tag. */
    if (ec2_seal_tag_take(c, &tags, &spec.seal) < 0 ||
        ec2_display_tag_take(c, &tags, &spec.display) < 0)
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
    spec.tags = tags.n ? &tags : NULL;
    spec.skip_devices = n_skip ? skip_ptr : NULL;
    spec.n_skip = n_skip;
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
 * snapshot is in use until the image is deregistered.  Other mappings
 * (/dev/sdb.., /dev/xvdb.., /dev/vdb..: the guest's vdb..) are the image's
 * further disks: a completed snapshot in the root's zone (at least its
 * size) or an empty volume of Ebs.VolumeSize, made for each instance;
 * DeleteOnTermination defaults to true.  NoDevice on them is accepted
 * (there is nothing of the image's to suppress).  TagSpecification's
 * cloudgate:display sets the image's display; other cloudgate: keys are
 * refused.
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

/* A further mapping (i, on device name): into *m, unless NoDevice (nothing
 * of the image is there to suppress: 0 with m->device "").  0 or -1. */
static int register_further(ec2_call *c, size_t i, const char *name, cg_image_mapping *m)
{
    const char *sid = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.SnapshotId", i);
    unsigned long long gib;
    char key[64];

    memset(m, 0, sizeof(*m));
    if (ec2_volume_device(c, name, m->device, sizeof(m->device)) < 0)
        return -1;
    if (ec2_params_getf(c->params, "BlockDeviceMapping.%zu.NoDevice", i)) {
        m->device[0] = '\0';
        return 0;
    }
    snprintf(key, sizeof(key), "BlockDeviceMapping.%zu.Ebs.DeleteOnTermination", i);
    if (ec2_mapping_refusals(c, i, name) < 0 || ec2_mapping_size(c, i, &gib) < 0 ||
        ec2_param_bool(c, key, 1, &m->delete_on_termination) < 0)
        return -1;
    if (sid && !ec2_id_valid(sid, "snap-"))
        return ec2_fail(c, "InvalidSnapshotID.Malformed",
                        "Invalid id: \"%.64s\" (expecting \"snap-...\")", sid);
    if (!sid && !gib)
        return ec2_fail(c, "InvalidBlockDeviceMapping",
                        "snapshotId or volumeSize must be "
                        "specified (device %.32s)",
                        name);
    snprintf(m->snapshot_id, sizeof(m->snapshot_id), "%s", sid ? sid : "");
    m->size_bytes = gib << 30;
    return 0;
}

/* The root mapping's snapshot and size (bytes, 0: the snapshot's), and the
 * further disks (*maps, malloc'd, *n_maps of them).  0 or -1. */
static int register_mappings(ec2_call *c, cg_image_spec *spec, cg_image_mapping **maps)
{
    const char *root = ec2_params_get(c->params, "RootDeviceName");
    size_t n = ec2_params_list_len(c->params, "BlockDeviceMapping"), i, j;
    unsigned long long gib;
    cg_image_mapping *m;
    int dot;

    spec->snapshot_id = NULL;
    *maps = NULL;
    if (!root || !*root)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                        "RootDeviceName");
    if (!ec2_is_root_device(root))
        return ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter "
                        "rootDeviceName is invalid. The root device is /dev/vda (/dev/sda1 and "
                        "/dev/xvda name it too).", root);
    if (n > 26)
        return ec2_fail(c, "InvalidParameterValue",
                        "Too many BlockDeviceMapping items (vda..vdz).");
    if (n && !(*maps = calloc(n, sizeof(**maps)))) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

        return ec2_fail_cg(c, &oom, NULL);
    }
    for (i = 1; i <= n; i++) {
        const char *name = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.DeviceName", i);
        char key[64];

        if (!name || !*name)
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                            "BlockDeviceMapping.%zu.DeviceName", i);
        if (!ec2_is_root_device(name)) {
            m = &(*maps)[spec->n_mappings];
            if (register_further(c, i, name, m) < 0)
                return -1;
            for (j = 0; m->device[0] && j < spec->n_mappings; j++)
                if (strcmp((*maps)[j].device, m->device) == 0)
                    return ec2_fail(c, "InvalidBlockDeviceMapping",
                                    "The device %.32s is "
                                    "mapped more than once",
                                    name);
            if (m->device[0])
                spec->n_mappings++;
            continue;
        }
        if (strcmp(name, root) != 0)
            return ec2_fail(c, "InvalidBlockDeviceMapping",
                            "%.32s names the root device "
                            "%.32s by another name",
                            name, root);
        if (spec->snapshot_id)
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
        spec->snapshot_id = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.SnapshotId", i);
        if (!spec->snapshot_id || !*spec->snapshot_id)
            return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                            "BlockDeviceMapping.%zu.Ebs.SnapshotId", i);
        if (!ec2_id_valid(spec->snapshot_id, "snap-"))
            return ec2_fail(c, "InvalidSnapshotID.Malformed",
                            "Invalid id: \"%.64s\" (expecting \"snap-...\")", spec->snapshot_id);
        spec->size_bytes = gib << 30;
    }
    if (!spec->snapshot_id)
        return ec2_fail(c, "MissingParameter", "The request must contain a BlockDeviceMapping "
                        "with Ebs.SnapshotId for the root device %.32s", root);
    spec->mappings = *maps;
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
    cg_image_mapping *maps = NULL;
    cg_image img = {0};
    cg_error err = {0};
    cg_tags tags = {0};
    size_t len = 0;
    int ret = -1;

    if (ami_name_check(c, name, desc) < 0)
        goto cleanup;
    /* cloudgate:display is the image's setting, as with CreateTags, never a stored tag. */
    if (register_refusals(c, &spec.architecture) < 0 || register_mappings(c, &spec, &maps) < 0 ||
        ec2_param_tag_specs(c, "image", &tags) < 0 ||
        ec2_display_tag_take(c, &tags, &spec.display) < 0 ||
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
        else if (err.kind == CG_ERR_INVALID)
            ec2_fail(c, "InvalidBlockDeviceMapping", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_register_image(c->req->request_id, img.id, &len), &len);

cleanup:
    free(maps);
    cg_tags_release(&tags);
    cg_image_release(&img);
    return ret;
}
