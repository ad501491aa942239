/* cloudgate: EC2 volume actions: CreateVolume, DescribeVolumes, AttachVolume,
 * DetachVolume, DeleteVolume, over the driver's volume_* operations.
 *
 * Volumes are plain disks: no encryption or IOPS (a volume may be made from
 * a snapshot: CreateVolume's SnapshotId); every volume
 * reports volumeType "standard".  Attach and detach finish before the answer
 * (EC2 answers "attaching"/"detaching" and finishes later): the answer says
 * "attached" / "detached".  A device "/dev/sdf", "xvdf", "/dev/vdf" or "vdf"
 * is the guest's virtio disk vdf, reported as "/dev/vdf".  A volume outlives
 * its instance (DeleteOnTermination false).
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GIB (1024ULL * 1024ULL * 1024ULL)
#define EC2_VOLUME_GIB_MAX 16384

static const char *const volume_types[] = {"standard", "gp2", "gp3", "io1", "io2", "sc1", "st1",
                                           NULL};
static const char *const volume_filters[] = {
    "volume-id", "status", "availability-zone", "size", "volume-type",
    "attachment.instance-id", "attachment.device", "attachment.status",
    "attachment.delete-on-termination", "tag-key", "tag-value", "tag:", "snapshot-id", NULL,
};

/* ---- documents ---------------------------------------------------------- */

static void xml_attachment(ec2_xml *x, const cg_volume *v, const char *instance_id,
                           const char *device, const char *status, time_t when)
{
    char dev[32];

    snprintf(dev, sizeof(dev), "/dev/%s", device);
    ec2_xml_time(x, "attachTime", when);
    ec2_xml_str(x, "device", dev);
    ec2_xml_str(x, "instanceId", instance_id);
    ec2_xml_str(x, "status", status);
    ec2_xml_str(x, "volumeId", v->id);
    ec2_xml_bool(x, "deleteOnTermination", v->delete_on_termination);
}

/* One volume's fields (CreateVolume's top level, DescribeVolumes' items). */
static void xml_volume(ec2_xml *x, const cg_volume *v)
{
    ec2_xml_str(x, "volumeId", v->id);
    ec2_xml_int(x, "size", (long long)((v->size_bytes + GIB - 1) / GIB));
    ec2_xml_str(x, "snapshotId", v->snapshot_id);
    ec2_xml_str(x, "availabilityZone", v->zone);
    ec2_xml_str(x, "status", v->state);
    ec2_xml_time(x, "createTime", v->created);
    ec2_xml_start(x, "attachmentSet");
    if (v->attached_to[0]) {
        ec2_xml_start(x, "item");
        /* No attach time is kept: the creation time stands in. */
        xml_attachment(x, v, v->attached_to, v->device, "attached", v->created);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    ec2_xml_tags(x, &v->tags);
    ec2_xml_str(x, "volumeType", "standard");
    ec2_xml_bool(x, "encrypted", 0);
    ec2_xml_bool(x, "multiAttachEnabled", 0);
}

char *ec2_xml_create_volume(const char *request_id, const cg_volume *v, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CreateVolume", request_id);

    if (!x)
        return NULL;
    xml_volume(x, v);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_volumes(const char *request_id, const cg_volume *const *v, size_t n,
                               size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeVolumes", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "volumeSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        xml_volume(x, v[i]);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_volume_attachment(const char *action, const char *request_id, const cg_volume *v,
                                const char *instance_id, const char *device,
                                const char *status, time_t when, size_t *len)
{
    ec2_xml *x = ec2_xml_new(action, request_id);

    if (!x)
        return NULL;
    xml_attachment(x, v, instance_id, device, status, when);
    return ec2_xml_finish(x, len);
}

/* ---- helpers ------------------------------------------------------------ */

int ec2_fail_volume_not_found(ec2_call *c, const char *id)
{
    return ec2_fail(c, "InvalidVolume.NotFound", "The volume '%.64s' does not exist.", id);
}

int ec2_load_volumes(ec2_call *c, cg_volume_list *list, const char *id, const cg_volume **vol)
{
    cg_error err = {0};
    size_t i;

    if (id && !ec2_id_valid(id, "vol-"))
        return ec2_fail(c, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\"", id);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    if (!id)
        return 0;
    for (i = 0; i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0) {
            *vol = &list->v[i];
            return 0;
        }
    }
    return ec2_fail_volume_not_found(c, id);
}

const char *ec2_param_volume_id(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "VolumeId");

    if (!id || !*id)
        ec2_fail(c, "MissingParameter", "The request must contain the parameter VolumeId");
    return id && *id ? id : NULL;
}

int ec2_volume_device(ec2_call *c, const char *dev, char *out, size_t len)
{
    const char *s = dev;
    size_t n;

    if (strncmp(s, "/dev/", 5) == 0)
        s += 5;
    if (strncmp(s, "xvd", 3) == 0)
        s += 3;
    else if (strncmp(s, "sd", 2) == 0 || strncmp(s, "vd", 2) == 0)
        s += 2;
    else
        s = "";
    n = strlen(s);
    if (n != 1 || s[0] < 'b' || s[0] > 'z')
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.32s) for parameter device is invalid. %.32s is not a valid "
                        "EBS device name.", dev, dev);
    snprintf(out, len, "vd%c", s[0]);
    return 0;
}

int ec2_volume_gib(ec2_call *c, const char *size, unsigned long long *gib)
{
    size_t i, n = strlen(size);

    *gib = 0;
    /* Digits only: strtoull alone would take " 2", "+2" and "-1". */
    for (i = 0; i < n && i < 6 && size[i] >= '0' && size[i] <= '9'; i++)
        *gib = *gib * 10 + (unsigned long long)(size[i] - '0');
    if (n == 0 || i != n || *gib < 1 || *gib > EC2_VOLUME_GIB_MAX)
        return ec2_fail(c, "InvalidParameterValue",
                        "Volume of size %.16s is not valid: 1 to %d GiB are allowed.", size,
                        EC2_VOLUME_GIB_MAX);
    return 0;
}

/* InvalidZone.NotFound unless zone is one of the driver's.  0 or -1. */
int ec2_zone_known(ec2_call *c, const char *zone)
{
    cg_zone_list zones = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, zone_list, &err, &zones) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < zones.n && ret < 0; i++)
        ret = strcmp(zones.v[i].name, zone) == 0 ? 0 : -1;
    if (ret < 0)
        ec2_fail(c, "InvalidZone.NotFound", "The zone '%.64s' does not exist.", zone);
    cg_zone_list_release(&zones);
    return ret;
}

/* The snapshot a volume is made from: it exists, is completed, in zone,
 * and fits in gib (0: the snapshot's size).  0 or -1. */
static int snapshot_fits(ec2_call *c, const char *id, const char *zone, unsigned long long gib)
{
    cg_snapshot_list list = {0};
    const cg_snapshot *s = NULL;
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_list, &err, &list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < list.n && !s; i++)
        s = strcmp(list.v[i].id, id) == 0 ? &list.v[i] : NULL;
    if (!s)
        ec2_fail(c, "InvalidSnapshot.NotFound", "The snapshot '%.64s' does not exist.", id);
    else if (strcmp(s->state, "completed") != 0)
        ec2_fail(c, "IncorrectState", "Snapshot '%s' is in the '%s' state.", id, s->state);
    else if (strcmp(s->zone, zone) != 0)
        ec2_fail(c, "InvalidParameterValue", "Snapshot '%s' is in availability zone %s; "
                 "volumes from it are made there.", id, s->zone);
    else if (gib && gib * GIB < s->size_bytes)
        ec2_fail(c, "InvalidParameterValue", "Volume of %llu GiB is smaller than snapshot '%s', "
                 "expect size >= %llu GiB", gib, id, (s->size_bytes + GIB - 1) / GIB);
    else
        ret = 0;
    cg_snapshot_list_release(&list);
    return ret;
}

/* ---- actions ------------------------------------------------------------ */

int ec2_create_volume(ec2_call *c)
{
    const char *zone = ec2_params_get(c->params, "AvailabilityZone");
    const char *size = ec2_params_get(c->params, "Size");
    const char *type = ec2_params_get(c->params, "VolumeType");
    const char *snap = ec2_params_get(c->params, "SnapshotId");
    cg_volume_spec spec = {0};
    cg_volume vol = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    unsigned long long gib = 0;
    size_t i, len = 0;
    int ret = -1;

    if (!zone || !*zone) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter AvailabilityZone");
        goto cleanup;
    }
    if (!size && (!snap || !*snap)) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter size/snapshot");
        goto cleanup;
    }
    if (snap && !ec2_id_valid(snap, "snap-")) {
        ec2_fail(c, "InvalidSnapshotID.Malformed", "Invalid id: \"%.64s\" (expecting \"snap-...\")",
                 snap);
        goto cleanup;
    }
    if (size && ec2_volume_gib(c, size, &gib) < 0)
        goto cleanup;
    for (i = 0; type && volume_types[i] && strcmp(volume_types[i], type) != 0; i++)
        ;
    if (type && !volume_types[i]) {
        ec2_fail(c, "InvalidParameterValue", "Value (%.32s) for parameter volumeType is invalid.",
                 type);
        goto cleanup;
    }
    if (ec2_param_tag_specs(c, "volume", &tags) < 0 || ec2_zone_known(c, zone) < 0 ||
        (snap && snapshot_fits(c, snap, zone, gib) < 0) || ec2_dry_run(c) < 0)
        goto cleanup;
    spec.zone = zone;
    spec.size_bytes = gib * GIB;
    spec.name = cg_tags_get(&tags, "Name");
    spec.tags = &tags;
    spec.snapshot_id = snap;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_create, &err, &spec, &vol) < 0) {
        if (snap && err.kind == CG_ERR_NOT_FOUND)
            ec2_fail(c, "InvalidSnapshot.NotFound", "The snapshot '%.64s' does not exist.", snap);
        else if (snap && err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectState", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_create_volume(c->req->request_id, &vol, &len), &len);

cleanup:
    cg_volume_release(&vol);
    cg_tags_release(&tags);
    return ret;
}

static void volume_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_volume *v = obj;
    char dev[32];

    if (ec2_match_tags(m, name, &v->tags))
        return;
    if (strcmp(name, "volume-id") == 0)
        ec2_match_offer(m, v->id);
    else if (strcmp(name, "status") == 0)
        ec2_match_offer(m, v->state);
    else if (strcmp(name, "availability-zone") == 0)
        ec2_match_offer(m, v->zone);
    else if (strcmp(name, "size") == 0)
        ec2_match_offer_uint(m, (v->size_bytes + GIB - 1) / GIB);
    else if (strcmp(name, "snapshot-id") == 0)
        ec2_match_offer(m, v->snapshot_id);
    else if (strcmp(name, "volume-type") == 0)
        ec2_match_offer(m, "standard");
    else if (strcmp(name, "attachment.instance-id") == 0 && v->attached_to[0])
        ec2_match_offer(m, v->attached_to);
    else if (strcmp(name, "attachment.status") == 0 && v->attached_to[0])
        ec2_match_offer(m, "attached");
    else if (strcmp(name, "attachment.delete-on-termination") == 0 && v->attached_to[0])
        ec2_match_offer(m, v->delete_on_termination ? "true" : "false");
    else if (strcmp(name, "attachment.device") == 0 && v->attached_to[0]) {
        snprintf(dev, sizeof(dev), "/dev/%s", v->device);
        ec2_match_offer(m, dev);
    }
}

int ec2_describe_volumes(ec2_call *c)
{
    cg_volume_list list = {0};
    const cg_volume **view = NULL;
    const char **ids = NULL;
    ec2_filters filters = {0};
    size_t n_ids = 0, n = 0, i, j, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "VolumeId", 0, &ids, &n_ids) < 0 ||
        ec2_param_filters(c, volume_filters, &filters) < 0)
        goto cleanup;
    for (i = 0; i < n_ids; i++) {
        if (!ec2_id_valid(ids[i], "vol-")) {
            ec2_fail(c, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\"", ids[i]);
            goto cleanup;
        }
    }
    if (ec2_load_volumes(c, &list, NULL, NULL) < 0)
        goto cleanup;
    /* Asked-for ids must all exist, as on EC2. */
    for (i = 0; i < n_ids; i++) {
        for (j = 0; j < list.n && strcmp(list.v[j].id, ids[i]) != 0; j++)
            ;
        if (j == list.n) {
            ec2_fail_volume_not_found(c, ids[i]);
            goto cleanup;
        }
    }
    if (list.n && !(view = calloc(list.n, sizeof(*view)))) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

        ec2_fail_cg(c, &oom, NULL);
        goto cleanup;
    }
    for (i = 0; i < list.n; i++) {
        for (j = 0; j < n_ids && strcmp(list.v[i].id, ids[j]) != 0; j++)
            ;
        if ((n_ids && j == n_ids) || !ec2_filters_match(&filters, &list.v[i], volume_field, NULL))
            continue;
        view[n++] = &list.v[i];
    }
    ret = ec2_reply(c, ec2_xml_describe_volumes(c->req->request_id, view, n, &len), &len);

cleanup:
    free(view);
    free(ids);
    ec2_filters_release(&filters);
    cg_volume_list_release(&list);
    return ret;
}

int ec2_attach_volume(ec2_call *c)
{
    const char *id = ec2_param_volume_id(c);
    const char *iid = ec2_params_get(c->params, "InstanceId");
    const char *dev = ec2_params_get(c->params, "Device");
    cg_volume_list vols = {0};
    cg_instance_list insts = {0};
    const cg_volume *vol = NULL;
    const cg_instance *inst;
    cg_volume out = {0};
    cg_error err = {0};
    char device[8];
    size_t len = 0;
    int ret = -1;

    if (!id)
        goto cleanup;
    if (!iid || !*iid || !dev || !*dev) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter %s",
                 !iid || !*iid ? "InstanceId" : "Device");
        goto cleanup;
    }
    if (ec2_volume_device(c, dev, device, sizeof(device)) < 0 || ec2_load_volumes(c, &vols, id, &vol) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_check_instance_ids(c, &iid, 1, &insts) < 0)
        goto cleanup;
    inst = ec2_find_instance(&insts, iid);
    if (strcmp(inst->zone, vol->zone) != 0) {
        ec2_fail(c, "InvalidVolume.ZoneMismatch",
                 "The volume '%s' is not in the same availability zone as instance '%s'", id, iid);
        goto cleanup;
    }
    if (vol->attached_to[0]) {
        ec2_fail(c, "VolumeInUse", "%s is already attached to an instance", id);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_attach, &err, id, iid, device, &out) < 0) {
        /* Attached elsewhere meanwhile; other states are the instance's. */
        if (err.kind == CG_ERR_STATE && strstr(err.message, "attached"))
            ec2_fail(c, "VolumeInUse", "%s is already attached to an instance", id);
        else
            ec2_fail_cg(c, &err, iid);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_volume_attachment(c->action, c->req->request_id, &out, iid,
                                                 out.device, "attached", time(NULL), &len),
                    &len);

cleanup:
    cg_volume_release(&out);
    cg_volume_list_release(&vols);
    cg_instance_list_release(&insts);
    return ret;
}

int ec2_detach_volume(ec2_call *c)
{
    const char *id = ec2_param_volume_id(c);
    const char *iid = ec2_params_get(c->params, "InstanceId");
    cg_volume_list vols = {0};
    const cg_volume *vol = NULL;
    cg_volume out = {0};
    cg_error err = {0};
    char was[24], dev[16];
    size_t len = 0;
    int force, ret = -1;

    if (!id || ec2_param_bool(c, "Force", 0, &force) < 0 || ec2_load_volumes(c, &vols, id, &vol) < 0)
        goto cleanup;
    if (!vol->attached_to[0] || (iid && *iid && strcmp(iid, vol->attached_to) != 0)) {
        ec2_fail(c, "IncorrectState", "Volume '%s' is in the 'available' state.", id);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    snprintf(was, sizeof(was), "%s", vol->attached_to);
    snprintf(dev, sizeof(dev), "%s", vol->device);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_detach, &err, id, &out) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_volume_attachment(c->action, c->req->request_id, &out, was, dev,
                                                 "detached", time(NULL), &len),
                    &len);

cleanup:
    cg_volume_release(&out);
    cg_volume_list_release(&vols);
    return ret;
}

int ec2_delete_volume(ec2_call *c)
{
    const char *id = ec2_param_volume_id(c);
    cg_volume_list vols = {0};
    const cg_volume *vol = NULL;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!id || ec2_load_volumes(c, &vols, id, &vol) < 0)
        goto cleanup;
    if (vol->attached_to[0]) {
        ec2_fail(c, "VolumeInUse", "Volume %s is currently attached to %s", id, vol->attached_to);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_delete, &err, id) < 0) {
        if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "VolumeInUse", "%s", err.message);
        else if (err.kind == CG_ERR_NOT_FOUND)
            ec2_fail_volume_not_found(c, id);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    cg_volume_list_release(&vols);
    return ret;
}
