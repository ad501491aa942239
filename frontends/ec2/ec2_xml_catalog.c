/* cloudgate: EC2 response documents of the catalog -- images, regions,
 * zones, account attributes, instance types, tags (see ec2_xml.h).  The
 * instance documents and the writer itself are in ec2_xml.c. */
#include "ec2_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ec2_xml_image_block_devices(ec2_xml *x, const cg_image *img)
{
    unsigned long long gib;

    ec2_xml_start(x, "blockDeviceMapping");
    if (img->size_bytes) {
        /* The root disk, in whole GiB as EBS reports volume sizes. */
        gib = (img->size_bytes + (1ULL << 30) - 1) >> 30;
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "deviceName", "/dev/vda");
        ec2_xml_start(x, "ebs");
        if (img->root_snapshot[0])
            ec2_xml_str(x, "snapshotId", img->root_snapshot);
        ec2_xml_int(x, "volumeSize", (long long)gib);
        ec2_xml_bool(x, "deleteOnTermination", 1);
        ec2_xml_str(x, "volumeType", "standard");
        ec2_xml_end(x);
        ec2_xml_end(x);
    }
    for (size_t i = 0; i < img->n_mappings; i++) {
        const cg_image_mapping *m = &img->mappings[i];
        char dev[16];

        snprintf(dev, sizeof(dev), "/dev/%s", m->device);
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "deviceName", dev);
        ec2_xml_start(x, "ebs");
        if (m->snapshot_id[0])
            ec2_xml_str(x, "snapshotId", m->snapshot_id);
        ec2_xml_int(x, "volumeSize", (long long)((m->size_bytes + (1ULL << 30) - 1) >> 30));
        ec2_xml_bool(x, "deleteOnTermination", m->delete_on_termination);
        ec2_xml_str(x, "volumeType", "standard");
        ec2_xml_end(x);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
}

static void write_image(ec2_xml *x, const cg_config *cfg, const cg_image *img)
{
    char location[512];

    snprintf(location, sizeof(location), "%s/%s", cfg->account_id, img->name ? img->name : "");
    ec2_xml_str(x, "imageId", img->id);
    ec2_xml_str(x, "imageLocation", location);
    ec2_xml_str(x, "imageState", img->state);
    if (img->state_reason[0]) {
        ec2_xml_start(x, "stateReason");
        ec2_xml_str(x, "code", "Client.ImageError");
        ec2_xml_str(x, "message", img->state_reason);
        ec2_xml_end(x);
    }
    /* From inspection; EC2 says "Linux/UNIX" for any non-Windows image. */
    if (strcmp(img->os.type, "windows") == 0)
        ec2_xml_str(x, "platform", "windows");
    ec2_xml_str(x, "platformDetails",
                strcmp(img->os.type, "windows") == 0 ? "Windows" : "Linux/UNIX");
    ec2_xml_str(x, "usageOperation", strcmp(img->os.type, "windows") == 0 ? "RunInstances:0002"
                                                                          : "RunInstances");
    ec2_xml_str(x, "imageOwnerId", cfg->account_id);
    ec2_xml_time(x, "creationDate", img->created);
    ec2_xml_bool(x, "isPublic", img->is_public);
    ec2_xml_str(x, "architecture", img->architecture);
    ec2_xml_str(x, "imageType", "machine");
    ec2_xml_str(x, "name", img->name);
    if (img->description)
        ec2_xml_str(x, "description", img->description);
    ec2_xml_str(x, "rootDeviceType", "ebs");
    ec2_xml_str(x, "rootDeviceName", "/dev/vda");
    ec2_xml_image_block_devices(x, img);
    ec2_xml_str(x, "virtualizationType", "hvm");
    ec2_xml_tags(x, &img->tags);
    ec2_xml_start(x, "productCodes");
    ec2_xml_end(x);
}

char *ec2_xml_describe_images(const char *request_id, const cg_config *cfg,
                              const cg_image *const *v, size_t n, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeImages", request_id)))
        return NULL;
    ec2_xml_start(x, "imagesSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        write_image(x, cfg, v[i]);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_regions(const char *request_id, const ec2_region *v, size_t n, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeRegions", request_id)))
        return NULL;
    ec2_xml_start(x, "regionInfo");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "regionName", v[i].name);
        ec2_xml_str(x, "regionEndpoint", v[i].endpoint);
        ec2_xml_str(x, "optInStatus", "opt-in-not-required");
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_zones(const char *request_id, const char *region, const cg_zone *const *v,
                             size_t n, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeAvailabilityZones", request_id)))
        return NULL;
    ec2_xml_start(x, "availabilityZoneInfo");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "zoneName", v[i]->name);
        ec2_xml_str(x, "zoneState", v[i]->state);
        ec2_xml_str(x, "regionName", region);
        ec2_xml_str(x, "zoneId", v[i]->name);
        ec2_xml_str(x, "zoneType", "availability-zone");
        ec2_xml_str(x, "optInStatus", "opt-in-not-required");
        ec2_xml_str(x, "groupName", region);
        ec2_xml_str(x, "networkBorderGroup", region);
        ec2_xml_start(x, "messageSet");
        ec2_xml_end(x);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_account_attributes(const char *request_id, const ec2_account_attr *v, size_t n,
                                 size_t *len)
{
    ec2_xml *x;
    size_t i, j;

    if (!(x = ec2_xml_new("DescribeAccountAttributes", request_id)))
        return NULL;
    ec2_xml_start(x, "accountAttributeSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "attributeName", v[i].name);
        ec2_xml_start(x, "attributeValueSet");
        for (j = 0; j < v[i].n_values; j++) {
            ec2_xml_start(x, "item");
            ec2_xml_str(x, "attributeValue", v[i].values[j]);
            ec2_xml_end(x);
        }
        ec2_xml_end(x);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

static void write_one_item_list(ec2_xml *x, const char *name, const char *value)
{
    ec2_xml_start(x, name);
    ec2_xml_str(x, "item", value);
    ec2_xml_end(x);
}

char *ec2_xml_instance_types(const char *request_id, const cg_instance_type *const *v, size_t n,
                             const char *next_token, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeInstanceTypes", request_id)))
        return NULL;
    ec2_xml_start(x, "instanceTypeSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "instanceType", v[i]->name);
        ec2_xml_bool(x, "currentGeneration", 1);
        ec2_xml_bool(x, "freeTierEligible", 0);
        write_one_item_list(x, "supportedUsageClasses", "on-demand");
        write_one_item_list(x, "supportedRootDeviceTypes", "ebs");
        write_one_item_list(x, "supportedVirtualizationTypes", "hvm");
        ec2_xml_bool(x, "bareMetal", 0);
        ec2_xml_start(x, "vCpuInfo");
        ec2_xml_int(x, "defaultVCpus", v[i]->vcpus);
        ec2_xml_int(x, "defaultCores", v[i]->vcpus);
        ec2_xml_int(x, "defaultThreadsPerCore", 1);
        ec2_xml_end(x);
        ec2_xml_start(x, "memoryInfo");
        ec2_xml_int(x, "sizeInMiB", v[i]->memory_mib);
        ec2_xml_end(x);
        ec2_xml_bool(x, "instanceStorageSupported", 0);
        ec2_xml_bool(x, "hibernationSupported", 0);
        ec2_xml_bool(x, "burstablePerformanceSupported", 0);
        ec2_xml_bool(x, "dedicatedHostsSupported", 0);
        ec2_xml_bool(x, "autoRecoverySupported", 0);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_tags(const char *request_id, const ec2_tag_row *const *v, size_t n,
                            const char *next_token, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeTags", request_id)))
        return NULL;
    ec2_xml_start(x, "tagSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "resourceId", v[i]->resource_id);
        ec2_xml_str(x, "resourceType", v[i]->resource_type);
        ec2_xml_str(x, "key", v[i]->key);
        ec2_xml_str(x, "value", v[i]->value);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}
