/* cloudgate: EC2 ModifyVolume, DescribeVolumesModifications and
 * DescribeVolumeStatus, over the driver's volume_modify / volume_mod_list.
 *
 * ModifyVolume grows a volume (Size, GiB; never shrinks).  Volumes here are
 * plain disks that report volumeType "standard": VolumeType "standard" or
 * "gp2" is accepted as no change, other types, Iops, Throughput and
 * MultiAttachEnabled=true are refused.  The grow finishes before the answer
 * (online through qemu when the volume's instance runs), so the
 * modification is "completed" at once; EC2 passes through "optimizing",
 * which tools waiting for "optimizing or completed" accept either way.
 * DescribeVolumesModifications shows each volume's latest change, as EC2.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GIB (1024ULL * 1024ULL * 1024ULL)

static const char *const modification_filters[] = {
    "volume-id", "modification-state", "target-size", "original-size", "start-time",
    "target-volume-type", "original-volume-type", NULL,
};
/* The event and action filters are accepted: no volume has any. */
static const char *const status_filters[] = {
    "volume-id", "availability-zone", "volume-status.status", "volume-status.details-name",
    "volume-status.details-status", "action.code", "action.description", "action.event-id",
    "event.description", "event.event-id", "event.event-type", "event.not-after",
    "event.not-before", NULL,
};

static unsigned long long gib_of(unsigned long long bytes)
{
    return (bytes + GIB - 1) / GIB;
}

static void fail_oom(ec2_call *c)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

    ec2_fail_cg(c, &oom, NULL);
}

/* ---- documents ---------------------------------------------------------- */

static void xml_modification(ec2_xml *x, const cg_volume_mod *m)
{
    int done = strcmp(m->state, "modifying") != 0;

    ec2_xml_str(x, "volumeId", m->volume_id);
    ec2_xml_str(x, "modificationState", m->state);
    if (m->message[0])
        ec2_xml_str(x, "statusMessage", m->message);
    ec2_xml_int(x, "targetSize", (long long)gib_of(m->target_bytes));
    ec2_xml_str(x, "targetVolumeType", "standard");
    ec2_xml_bool(x, "targetMultiAttachEnabled", 0);
    ec2_xml_int(x, "originalSize", (long long)gib_of(m->original_bytes));
    ec2_xml_str(x, "originalVolumeType", "standard");
    ec2_xml_bool(x, "originalMultiAttachEnabled", 0);
    ec2_xml_int(x, "progress", strcmp(m->state, "completed") == 0 ? 100 : 0);
    ec2_xml_time(x, "startTime", m->start);
    if (done)
        ec2_xml_time(x, "endTime", m->end);
}

char *ec2_xml_modify_volume(const char *request_id, const cg_volume_mod *m, size_t *len)
{
    ec2_xml *x = ec2_xml_new("ModifyVolume", request_id);

    if (!x)
        return NULL;
    ec2_xml_start(x, "volumeModification");
    xml_modification(x, m);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_volumes_modifications(const char *request_id, const cg_volume_mod *const *v,
                                    size_t n, const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeVolumesModifications", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "volumeModificationSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        xml_modification(x, v[i]);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_volume_status(const char *request_id, const cg_volume *const *v, size_t n,
                            const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeVolumeStatus", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "volumeStatusSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "volumeId", v[i]->id);
        ec2_xml_str(x, "availabilityZone", v[i]->zone);
        ec2_xml_start(x, "volumeStatus");
        ec2_xml_str(x, "status", "ok");
        ec2_xml_start(x, "details");
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "name", "io-enabled");
        ec2_xml_str(x, "status", "passed");
        ec2_xml_end(x);
        ec2_xml_end(x);
        ec2_xml_end(x);
        ec2_xml_start(x, "eventsSet");
        ec2_xml_end(x);
        ec2_xml_start(x, "actionsSet");
        ec2_xml_end(x);
        ec2_xml_start(x, "attachmentStatuses");
        if (v[i]->attached_to[0]) {
            ec2_xml_start(x, "item");
            ec2_xml_str(x, "instanceId", v[i]->attached_to);
            ec2_xml_end(x);
        }
        ec2_xml_end(x);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

/* ---- ModifyVolume ------------------------------------------------------- */

/* Refuse what a plain disk cannot change.  0 or -1. */
static int check_unchangeable(ec2_call *c)
{
    const char *type = ec2_params_get(c->params, "VolumeType");
    const char *iops = ec2_params_get(c->params, "Iops");
    const char *thr = ec2_params_get(c->params, "Throughput");
    int multi = 0;

    if (type && strcmp(type, "standard") != 0 && strcmp(type, "gp2") != 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.32s) for parameter volumeType is not supported: volumes here "
                        "are plain disks of type standard, which cannot change type.", type);
    if (iops || thr)
        return ec2_fail(c, "InvalidParameterValue",
                        "The parameter %s is not supported for volumes of type standard.",
                        iops ? "iops" : "throughput");
    if (ec2_param_bool(c, "MultiAttachEnabled", 0, &multi) < 0)
        return -1;
    if (multi)
        return ec2_fail(c, "InvalidParameterValue",
                        "Multi-Attach is not supported for volumes of type standard.");
    return 0;
}

int ec2_modify_volume(ec2_call *c)
{
    const char *id = ec2_param_volume_id(c);
    const char *size = ec2_params_get(c->params, "Size");
    cg_volume_list vols = {0};
    const cg_volume *vol = NULL;
    cg_volume_mod mod;
    cg_error err = {0};
    unsigned long long gib = 0;
    size_t len = 0;
    int ret = -1;

    memset(&mod, 0, sizeof(mod));
    if (!id || check_unchangeable(c) < 0)
        goto cleanup;
    if (!size) {
        ec2_fail(c, "InvalidParameterValue", "No modification requested: give a larger Size "
                 "(the volume type standard cannot change).");
        goto cleanup;
    }
    if (ec2_volume_gib(c, size, &gib) < 0 || ec2_load_volumes(c, &vols, id, &vol) < 0)
        goto cleanup;
    if (gib * GIB <= vol->size_bytes) {
        ec2_fail(c, "InvalidParameterValue",
                 "New size (%llu GiB) must be larger than the current size (%llu GiB): "
                 "volumes can only grow.", gib, gib_of(vol->size_bytes));
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_modify, &err, id, gib * GIB, &mod) < 0) {
        if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectModificationState", "%s", err.message);
        else if (err.kind == CG_ERR_NOT_FOUND)
            ec2_fail_volume_not_found(c, id);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_modify_volume(c->req->request_id, &mod, &len), &len);

cleanup:
    cg_volume_list_release(&vols);
    return ret;
}

/* ---- DescribeVolumesModifications / DescribeVolumeStatus ---------------- */

/* VolumeId.N: each well formed and existing (InvalidVolume.NotFound, as
 * EC2), with the volumes loaded into list.  0 or -1. */
static int param_volume_ids(ec2_call *c, const char ***ids, size_t *n, cg_volume_list *list)
{
    size_t i, j;

    if (ec2_param_list(c, "VolumeId", 0, ids, n) < 0)
        return -1;
    for (i = 0; i < *n; i++) {
        if (!ec2_id_valid((*ids)[i], "vol-"))
            return ec2_fail(c, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\"", (*ids)[i]);
    }
    if (ec2_load_volumes(c, list, NULL, NULL) < 0)
        return -1;
    for (i = 0; i < *n; i++) {
        for (j = 0; j < list->n && strcmp(list->v[j].id, (*ids)[i]) != 0; j++)
            ;
        if (j == list->n)
            return ec2_fail_volume_not_found(c, (*ids)[i]);
    }
    return 0;
}

static int id_listed(const char *const *ids, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0)
            return 1;
    }
    return n == 0;
}

static void offer_time(ec2_match *m, time_t t)
{
    char buf[32];
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    ec2_match_offer(m, buf);
}

static void modification_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_volume_mod *v = obj;

    (void)ud;
    if (strcmp(name, "volume-id") == 0)
        ec2_match_offer(m, v->volume_id);
    else if (strcmp(name, "modification-state") == 0)
        ec2_match_offer(m, v->state);
    else if (strcmp(name, "target-size") == 0)
        ec2_match_offer_uint(m, gib_of(v->target_bytes));
    else if (strcmp(name, "original-size") == 0)
        ec2_match_offer_uint(m, gib_of(v->original_bytes));
    else if (strcmp(name, "start-time") == 0)
        offer_time(m, v->start);
    else
        ec2_match_offer(m, "standard");   /* target-/original-volume-type */
}

static const char *modification_key(const void *elem)
{
    return (*(const cg_volume_mod *const *)elem)->volume_id;
}

int ec2_describe_volumes_modifications(ec2_call *c)
{
    cg_volume_list vols = {0};
    cg_volume_mod_list mods = {0};
    const cg_volume_mod **view = NULL;
    const char **ids = NULL;
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_error err = {0};
    char *token = NULL;
    size_t n_ids = 0, n = 0, i, j, len = 0;
    int ret = -1;

    if (param_volume_ids(c, &ids, &n_ids, &vols) < 0 ||
        ec2_param_filters(c, modification_filters, &filters) < 0 ||
        ec2_param_page(c, "volume-modifications", 1, 500, &page) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_mod_list, &err, &mods) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (mods.n && !(view = calloc(mods.n, sizeof(*view)))) {
        fail_oom(c);
        goto cleanup;
    }
    /* Only each volume's latest change (the list is oldest first), and
     * filters apply to that one; volumes deleted since are not shown. */
    for (i = mods.n; i-- > 0;) {
        const cg_volume_mod *m = &mods.v[i];

        for (j = i + 1; j < mods.n && strcmp(mods.v[j].volume_id, m->volume_id) != 0; j++)
            ;
        if (j < mods.n || !id_listed(ids, n_ids, m->volume_id))
            continue;
        for (j = 0; j < vols.n && strcmp(vols.v[j].id, m->volume_id) != 0; j++)
            ;
        if (j == vols.n || !ec2_filters_match(&filters, m, modification_field, NULL))
            continue;
        view[n++] = m;
    }
    ec2_sort(view, n, sizeof(*view), modification_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), modification_key, &token, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_volumes_modifications(c->req->request_id, view, n, token, &len),
                    &len);

cleanup:
    free(token);
    free(view);
    free(ids);
    free(mods.v);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_volume_list_release(&vols);
    return ret;
}

static void status_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_volume *v = obj;

    (void)ud;
    if (strcmp(name, "volume-id") == 0)
        ec2_match_offer(m, v->id);
    else if (strcmp(name, "availability-zone") == 0)
        ec2_match_offer(m, v->zone);
    else if (strcmp(name, "volume-status.status") == 0)
        ec2_match_offer(m, "ok");
    else if (strcmp(name, "volume-status.details-name") == 0)
        ec2_match_offer(m, "io-enabled");
    else if (strcmp(name, "volume-status.details-status") == 0)
        ec2_match_offer(m, "passed");
    /* action.* and event.*: no volume has any, so nothing matches. */
}

static const char *volume_key(const void *elem)
{
    return (*(const cg_volume *const *)elem)->id;
}

int ec2_describe_volume_status(ec2_call *c)
{
    cg_volume_list vols = {0};
    const cg_volume **view = NULL;
    const char **ids = NULL;
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_error err = {0};
    char *token = NULL;
    size_t n_ids = 0, n = 0, i, len = 0;
    int ret = -1;

    if (param_volume_ids(c, &ids, &n_ids, &vols) < 0 ||
        ec2_param_filters(c, status_filters, &filters) < 0 ||
        ec2_param_page(c, "volume-status", 5, 1000, &page) < 0)
        goto cleanup;
    /* As EC2: a page size and a list of ids do not go together. */
    if (n_ids && ec2_params_get(c->params, "MaxResults")) {
        ec2_fail(c, "InvalidParameterCombination",
                 "The parameter volumeSet cannot be used with the parameter maxResults");
        goto cleanup;
    }
    if (vols.n && !(view = calloc(vols.n, sizeof(*view)))) {
        fail_oom(c);
        goto cleanup;
    }
    for (i = 0; i < vols.n; i++) {
        if (id_listed(ids, n_ids, vols.v[i].id) &&
            ec2_filters_match(&filters, &vols.v[i], status_field, NULL))
            view[n++] = &vols.v[i];
    }
    ec2_sort(view, n, sizeof(*view), volume_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), volume_key, &token, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_volume_status(c->req->request_id, view, n, token, &len), &len);

cleanup:
    free(token);
    free(view);
    free(ids);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_volume_list_release(&vols);
    return ret;
}

/* ---- ModifyInstanceAttribute BlockDeviceMapping.N ------------------------ */

/* One mapping's change: the device ("vdX", or "vda" for the root disk) and
 * the flag.  0 or -1. */
static int block_device_change(ec2_call *c, size_t i, char *dev, size_t len, int *flag)
{
    const char *name = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.DeviceName", i);
    const char *dot = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.DeleteOnTermination",
                                      i);
    char key[64];

    if (ec2_params_getf(c->params, "BlockDeviceMapping.%zu.NoDevice", i) ||
        ec2_params_getf(c->params, "BlockDeviceMapping.%zu.VirtualName", i))
        return ec2_fail(c, "InvalidParameterCombination",
                        "Only Ebs.DeleteOnTermination of an attached volume can be modified.");
    if (!name || !*name)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                        "BlockDeviceMapping.%zu.DeviceName", i);
    if (!dot)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                        "BlockDeviceMapping.%zu.Ebs.DeleteOnTermination", i);
    snprintf(key, sizeof(key), "BlockDeviceMapping.%zu.Ebs.DeleteOnTermination", i);
    if (ec2_param_bool(c, key, 0, flag) < 0)
        return -1;
    if (strcmp(name, "/dev/vda") == 0 || strcmp(name, "/dev/sda1") == 0 ||
        strcmp(name, "/dev/xvda") == 0) {
        /* The root disk's overlay always goes with the instance. */
        if (!*flag)
            return ec2_fail(c, "InvalidParameterValue", "The root device %.32s is always "
                            "deleted with the instance: DeleteOnTermination cannot be false.",
                            name);
        snprintf(dev, len, "vda");
        return 0;
    }
    return ec2_volume_device(c, name, dev, len);
}

int ec2_modify_block_devices(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "InstanceId");
    cg_instance_list insts = {0};
    cg_volume_list vols = {0};
    cg_error err = {0};
    char (*devs)[8] = NULL;
    int *flags = NULL;
    size_t n, i, j, len = 0;
    int ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter InstanceId");
        goto cleanup;
    }
    n = ec2_params_list_len(c->params, "BlockDeviceMapping");
    if (n > EC2_LIST_MAX) {
        ec2_fail(c, "InvalidParameterValue", "Too many BlockDeviceMapping items.");
        goto cleanup;
    }
    if (!(devs = calloc(n, sizeof(*devs))) || !(flags = calloc(n, sizeof(*flags)))) {
        fail_oom(c);
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        if (block_device_change(c, i + 1, devs[i], sizeof(devs[i]), &flags[i]) < 0)
            goto cleanup;
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_check_instance_ids(c, &id, 1, &insts) < 0 ||
        ec2_load_volumes(c, &vols, NULL, NULL) < 0)
        goto cleanup;
    /* Every device must be mapped before anything changes. */
    for (i = 0; i < n; i++) {
        for (j = 0; j < vols.n; j++) {
            if (strcmp(vols.v[j].attached_to, id) == 0 && strcmp(vols.v[j].device, devs[i]) == 0)
                break;
        }
        if (strcmp(devs[i], "vda") != 0 && j == vols.n) {
            ec2_fail(c, "InvalidInstanceAttributeValue",
                     "No device is currently mapped at /dev/%s", devs[i]);
            goto cleanup;
        }
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        if (strcmp(devs[i], "vda") != 0 &&
            CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_set_delete_on_termination, &err, id,
                        devs[i], flags[i]) < 0) {
            ec2_fail_cg(c, &err, id);
            goto cleanup;
        }
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    free(devs);
    free(flags);
    cg_volume_list_release(&vols);
    cg_instance_list_release(&insts);
    return ret;
}
