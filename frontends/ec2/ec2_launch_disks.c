/* cloudgate: RunInstances' BlockDeviceMapping.N.
 *
 * The mapping named after the image's root device (/dev/vda, as
 * DescribeImages says; /dev/sda1 and /dev/xvda are taken as the same disk)
 * sets the root disk's size, never below the image's.  Any other device
 * (/dev/sdf, /dev/xvdf, /dev/vdf: the guest's vdf) with Ebs.VolumeSize
 * makes an empty volume per instance, attached at launch, and with
 * Ebs.SnapshotId a copy of that snapshot (at least its size; the instances
 * go to the snapshot's zone); DeleteOnTermination defaults to true, as on
 * EC2 for mappings given at launch.  A device the image maps itself (its
 * further disks, cg_image_mapping) is changed by the mapping (what it
 * leaves out, DeleteOnTermination included, comes from the image) or
 * dropped by NoDevice; the driver merges the two (lv_launch_disks_merge).
 * Ephemeral (VirtualName) disks and a snapshot on the root device (it comes
 * from the image) are refused.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024ULL * 1024ULL * 1024ULL)

static const char *const launch_volume_types[] = {"standard", "gp2", "gp3", "io1", "io2", "sc1",
                                                  "st1", NULL};

int ec2_is_root_device(const char *name)
{
    return strcmp(name, "/dev/vda") == 0 || strcmp(name, "/dev/sda1") == 0 ||
           strcmp(name, "/dev/xvda") == 0;
}

static int fail_mapping(ec2_call *c, const char *why, const char *name)
{
    return ec2_fail(c, "InvalidBlockDeviceMapping", "%s (device %.32s)", why, name);
}

/* BlockDeviceMapping.i.Ebs.VolumeSize in GiB into *gib (0: absent).  0 or -1. */
int ec2_mapping_size(ec2_call *c, size_t i, unsigned long long *gib)
{
    const char *size = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.VolumeSize", i);

    *gib = 0;
    return size ? ec2_volume_gib(c, size, gib) : 0;
}

/* The Ebs members a plain disk cannot honour.  0 or -1. */
int ec2_mapping_refusals(ec2_call *c, size_t i, const char *name)
{
    const char *type = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.VolumeType", i);
    const char *enc = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.Encrypted", i);
    size_t t;

    if (ec2_params_getf(c->params, "BlockDeviceMapping.%zu.VirtualName", i))
        return fail_mapping(c, "Instance store (ephemeral) volumes are not supported by this "
                            "cloud: map an EBS volume (Ebs.VolumeSize) instead", name);
    if (ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.Iops", i) ||
        ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.Throughput", i))
        return ec2_fail(c, "InvalidParameterValue", "Iops and Throughput are not supported for "
                        "volumes of type standard (device %.32s)", name);
    if (enc && strcmp(enc, "false") != 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "Encrypted volumes are not supported (device %.32s)", name);
    for (t = 0; type && launch_volume_types[t] && strcmp(launch_volume_types[t], type); t++)
        ;
    if (type && !launch_volume_types[t])
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.32s) for parameter volumeType is invalid.", type);
    return 0;
}

int ec2_launch_zone_pin(ec2_call *c, cg_launch_spec *spec, const char *zone, const char *what)
{
    const char *asked = ec2_params_get(c->params, "Placement.AvailabilityZone");
    size_t i;

    if ((asked && *asked && strcmp(asked, zone) != 0) ||
        (spec->zone && strcmp(spec->zone, zone) != 0))
        return ec2_fail(c, "InvalidParameterValue", "%s is in availability zone %s: instances "
                        "using it are launched there", what, zone);
    /* The zone's name as configured outlives this request's lists. */
    for (i = 0; i < c->ctx->cfg->n_zones && !spec->zone; i++)
        if (strcmp(c->ctx->cfg->zones[i].name, zone) == 0)
            spec->zone = c->ctx->cfg->zones[i].name;
    if (!spec->zone)
        return ec2_fail(c, "InvalidParameterValue", "%s is in zone %s, which is not configured "
                        "any more", what, zone);
    return 0;
}

/* Ebs.SnapshotId of a non-root mapping: the snapshot must exist and be
 * completed; it decides the zone (Placement must agree) and the least size
 * (*gib: 0 takes the snapshot's).  0 or -1. */
static int mapping_snapshot(ec2_call *c, const char *sid, const char *name, unsigned long long gib,
                            cg_launch_spec *spec)
{
    char what[128];
    cg_snapshot_list l = {0};
    cg_error err = {0};
    const cg_snapshot *snap = NULL;
    unsigned long long need;
    size_t i;
    int ret = -1;

    if (!ec2_id_valid(sid, "snap-"))
        return ec2_fail(c, "InvalidSnapshotID.Malformed",
                        "Invalid id: \"%.64s\" (expecting \"snap-...\")", sid);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_list, &err, &l) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < l.n && !snap; i++)
        if (strcmp(l.v[i].id, sid) == 0)
            snap = &l.v[i];
    if (!snap) {
        ec2_fail(c, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", sid);
        goto cleanup;
    }
    if (strcmp(snap->state, "completed") != 0) {
        ec2_fail(c, "IncorrectState", "Snapshot '%s' is %s: wait until it is completed.", sid,
                 snap->state);
        goto cleanup;
    }
    need = (snap->size_bytes + GIB - 1) / GIB;
    if (gib && gib * GIB < snap->size_bytes) {
        ec2_fail(c, "InvalidBlockDeviceMapping", "Volume of size %lluGB is smaller than "
                 "snapshot '%s', expect size >= %lluGB (device %.32s)", gib, sid, need, name);
        goto cleanup;
    }
    /* A snapshot's bytes are in one zone's pool: its volumes are made there. */
    snprintf(what, sizeof(what), "Snapshot '%s' (device %.32s)", sid, name);
    if (ec2_launch_zone_pin(c, spec, snap->zone, what) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    cg_snapshot_list_release(&l);
    return ret;
}

/* Has an earlier mapping (1..i-1) named the same disk? */
static int seen_device(const cg_launch_disk *d, size_t n, const char *dev, int root_seen,
                       int root)
{
    size_t j;

    if (root)
        return root_seen;
    for (j = 0; j < n; j++) {
        if (strcmp(d[j].device, dev) == 0)
            return 1;
    }
    return 0;
}

int ec2_param_launch_disks(ec2_call *c, const cg_image *img, cg_launch_spec *spec,
                           cg_launch_disk **out)
{
    cg_launch_disk *d = NULL;
    size_t n = ec2_params_list_len(c->params, "BlockDeviceMapping"), i, made = 0;
    unsigned long long gib;
    int root_seen = 0, ret = -1;

    *out = NULL;
    /* An image registered from a snapshot has its disk in one zone. */
    if (img->zone[0]) {
        char what[64];

        snprintf(what, sizeof(what), "Image '%s'", img->id);
        if (ec2_launch_zone_pin(c, spec, img->zone, what) < 0)
            return -1;
    }
    if (!n)
        return 0;
    if (n > 26) {
        ec2_fail(c, "InvalidParameterValue", "Too many BlockDeviceMapping items (vda..vdz).");
        return -1;
    }
    if (!(d = calloc(n, sizeof(*d)))) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

        return ec2_fail_cg(c, &oom, NULL);
    }
    for (i = 1; i <= n; i++) {
        const char *name = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.DeviceName", i);
        const char *nodev = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.NoDevice", i);
        const char *sid = ec2_params_getf(c->params, "BlockDeviceMapping.%zu.Ebs.SnapshotId", i);
        const cg_image_mapping *im;
        char key[64], dev[8] = "";
        int root, dot = 1;

        if (!name || !*name) {
            ec2_fail(c, "MissingParameter", "The request must contain the parameter "
                     "BlockDeviceMapping.%zu.DeviceName", i);
            goto cleanup;
        }
        root = ec2_is_root_device(name);
        if (ec2_mapping_refusals(c, i, name) < 0 || ec2_mapping_size(c, i, &gib) < 0)
            goto cleanup;
        snprintf(key, sizeof(key), "BlockDeviceMapping.%zu.Ebs.DeleteOnTermination", i);
        if (ec2_param_bool(c, key, 1, &dot) < 0)
            goto cleanup;
        if (!root && ec2_volume_device(c, name, dev, sizeof(dev)) < 0)
            goto cleanup;
        if (seen_device(d, made, dev, root_seen, root)) {
            fail_mapping(c, "The device is mapped more than once", name);
            goto cleanup;
        }
        if (root) {
            root_seen = 1;
            if (nodev) {
                fail_mapping(c, "The root device cannot be suppressed (NoDevice)", name);
                goto cleanup;
            }
            if (sid) {
                fail_mapping(c, "The root disk comes from the image: Ebs.SnapshotId cannot "
                             "replace it (register an image from the snapshot instead)", name);
                goto cleanup;
            }
            if (!dot) {
                fail_mapping(c, "The root disk is always deleted with the instance: "
                             "DeleteOnTermination cannot be false", name);
                goto cleanup;
            }
            if (gib && img->size_bytes && gib * GIB < img->size_bytes) {
                ec2_fail(c, "InvalidBlockDeviceMapping",
                         "Volume of size %lluGB is smaller than the image %s (%lluGB): "
                         "expect size >= %lluGB (device %.32s)", gib, img->id,
                         (img->size_bytes + GIB - 1) / GIB, (img->size_bytes + GIB - 1) / GIB,
                         name);
                goto cleanup;
            }
            spec->root_size_bytes = gib * GIB;
            continue;
        }
        snprintf(d[made].device, sizeof(d[made].device), "%s", dev);
        if (nodev) {
            d[made++].no_device = 1; /* drops the image's disk there, if any */
            continue;
        }
        im = cg_image_mapping_find(img, dev);
        /* What the mapping leaves out of the image's disk stays as the image has it. */
        if (im && !ec2_params_get(c->params, key))
            dot = im->delete_on_termination;
        if (!gib && !sid && !im) {
            fail_mapping(c, "snapshotId or volumeSize must be specified", name);
            goto cleanup;
        }
        if (sid && mapping_snapshot(c, sid, name, gib, spec) < 0)
            goto cleanup;
        if (!sid && im && gib && gib * GIB < im->size_bytes) {
            ec2_fail(c, "InvalidBlockDeviceMapping",
                     "Volume of size %lluGB is smaller than "
                     "the image's disk %s, expect size >= %lluGB (device %.32s)",
                     gib, dev, (im->size_bytes + GIB - 1) / GIB, name);
            goto cleanup;
        }
        d[made].snapshot_id = sid;
        d[made].size_bytes = gib * GIB;
        d[made].delete_on_termination = dot;
        made++;
    }
    spec->disks = made ? d : NULL;
    spec->n_disks = made;
    *out = d;
    d = NULL;
    ret = 0;

cleanup:
    free(d);
    return ret;
}
