/* cloudgate: EC2 Describe actions about the cloud itself: DescribeRegions,
 * DescribeAvailabilityZones, DescribeAccountAttributes, DescribeInstanceTypes
 * and DescribeImages. */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_oom(ec2_call *c)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

    return ec2_fail_cg(c, &oom, NULL);
}

static int listed(const char *const *v, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    return 0;
}

/* ---- DescribeRegions ---------------------------------------------------- */

static const char *const region_filters[] = {"region-name", "endpoint", "opt-in-status", NULL};

static void region_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const ec2_region *r = obj;

    if (strcmp(name, "region-name") == 0)
        ec2_match_offer(m, r->name);
    else if (strcmp(name, "endpoint") == 0)
        ec2_match_offer(m, r->endpoint);
    else if (strcmp(name, "opt-in-status") == 0)
        ec2_match_offer(m, "opt-in-not-required");
}

int ec2_describe_regions(ec2_call *c)
{
    const cg_config *cfg = c->ctx->cfg;
    const char **names = NULL;
    ec2_filters filters = {0};
    ec2_region region;
    char endpoint[300];
    const char *host;
    size_t n_names = 0, i, n = 0, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "RegionName", 0, &names, &n_names) < 0 ||
        ec2_param_filters(c, region_filters, &filters) < 0)
        goto cleanup;
    for (i = 0; i < n_names; i++) {
        if (strcmp(names[i], cfg->region) != 0) {
            ec2_fail(c, "InvalidParameterValue", "Invalid region: %.64s", names[i]);
            goto cleanup;
        }
    }
    /* The endpoint is where this client reached us; there is one region. */
    host = c->req ? gw_request_header(c->req, "Host") : NULL;
    if (host && *host)
        snprintf(endpoint, sizeof(endpoint), "%s", host);
    else
        snprintf(endpoint, sizeof(endpoint), "%s:%u", cfg->listen_addr ? cfg->listen_addr : "",
                 cfg->listen_port);
    region.name = cfg->region;
    region.endpoint = endpoint;
    if (ec2_filters_match(&filters, &region, region_field, c))
        n = 1;
    ret = ec2_reply(c, ec2_xml_describe_regions(c->req->request_id, &region, n, &len), &len);

cleanup:
    free(names);
    ec2_filters_release(&filters);
    return ret;
}

/* ---- DescribeAvailabilityZones ------------------------------------------ */

static const char *const zone_filters[] = {
    "zone-name", "zone-id",    "state",         "region-name",
    "zone-type", "group-name", "opt-in-status", "network-border-group",
    NULL,
};

static void zone_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_zone *z = obj;
    const ec2_call *c = ud;

    if (strcmp(name, "zone-name") == 0 || strcmp(name, "zone-id") == 0)
        ec2_match_offer(m, z->name);
    else if (strcmp(name, "state") == 0)
        ec2_match_offer(m, z->state);
    else if (strcmp(name, "region-name") == 0 || strcmp(name, "group-name") == 0 ||
             strcmp(name, "network-border-group") == 0)
        ec2_match_offer(m, c->ctx->cfg->region);
    else if (strcmp(name, "zone-type") == 0)
        ec2_match_offer(m, "availability-zone");
    else if (strcmp(name, "opt-in-status") == 0)
        ec2_match_offer(m, "opt-in-not-required");
}

int ec2_describe_availability_zones(ec2_call *c)
{
    cg_zone_list zones = {0};
    ec2_filters filters = {0};
    const char **names = NULL, **ids = NULL;
    const cg_zone **view = NULL;
    size_t n_names = 0, n_ids = 0, n = 0, i, j, len = 0;
    cg_error err = {0};
    int ret = -1, found;

    if (ec2_param_list(c, "ZoneName", 0, &names, &n_names) < 0 ||
        ec2_param_list(c, "ZoneId", 0, &ids, &n_ids) < 0 ||
        ec2_param_filters(c, zone_filters, &filters) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, zone_list, &err, &zones) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    /* Named zones must exist (zone ids are the zone names here). */
    for (i = 0; i < n_names + n_ids; i++) {
        const char *want = i < n_names ? names[i] : ids[i - n_names];

        for (j = 0, found = 0; j < zones.n && !found; j++)
            found = strcmp(zones.v[j].name, want) == 0;
        if (!found) {
            ec2_fail(c, "InvalidParameterValue", "The zone '%.64s' does not exist.", want);
            goto cleanup;
        }
    }
    if (zones.n && !(view = calloc(zones.n, sizeof(*view)))) {
        fail_oom(c);
        goto cleanup;
    }
    for (i = 0; i < zones.n; i++) {
        if ((n_names || n_ids) && !listed(names, n_names, zones.v[i].name) &&
            !listed(ids, n_ids, zones.v[i].name))
            continue;
        if (ec2_filters_match(&filters, &zones.v[i], zone_field, c))
            view[n++] = &zones.v[i];
    }
    ret = ec2_reply(
        c, ec2_xml_describe_zones(c->req->request_id, c->ctx->cfg->region, view, n, &len), &len);

cleanup:
    free(view);
    free(names);
    free(ids);
    ec2_filters_release(&filters);
    cg_zone_list_release(&zones);
    return ret;
}

/* ---- DescribeAccountAttributes ------------------------------------------ */

/* Instances live in VPCs (libvirt networks; the configured one is the
 * default VPC, its id filled in per request); there are no elastic IPs.
 * max-instances and the security group limit are AWS's defaults for a new
 * account: nothing here enforces a lower one. */
static const char *const attr_platforms[] = {"VPC"};
static const char *const attr_none[] = {"none"};
static const char *const attr_zero[] = {"0"};
static const char *const attr_max_instances[] = {"20"};
static const char *const attr_groups_per_nic[] = {"5"};

static const ec2_account_attr account_attrs[] = {
    {"supported-platforms", attr_platforms, 1},
    {"vpc-max-security-groups-per-interface", attr_groups_per_nic, 1},
    {"max-elastic-ips", attr_zero, 1},
    {"max-instances", attr_max_instances, 1},
    {"vpc-max-elastic-ips", attr_zero, 1},
    {"default-vpc", attr_none, 1},
};

int ec2_describe_account_attributes(ec2_call *c)
{
    const size_t n_all = sizeof(account_attrs) / sizeof(account_attrs[0]);
    ec2_account_attr chosen[sizeof(account_attrs) / sizeof(account_attrs[0])];
    char vpc_id[24];
    const char *const default_vpc[] = {vpc_id};
    const char **names = NULL;
    size_t n_names = 0, n = 0, i, j, len = 0;
    int ret = -1, known;

    if (ec2_param_list(c, "AttributeName", 0, &names, &n_names) < 0)
        goto cleanup;
    for (i = 0; i < n_names; i++) {
        for (j = 0, known = 0; j < n_all && !known; j++)
            known = strcmp(account_attrs[j].name, names[i]) == 0;
        if (!known) {
            ec2_fail(c, "InvalidParameterValue",
                     "Value (%.64s) for parameter attributeName is invalid.", names[i]);
            goto cleanup;
        }
    }
    if (ec2_default_vpc_id(c, vpc_id, sizeof(vpc_id)) < 0)
        goto cleanup;
    for (i = 0; i < n_all; i++) {
        if (!n_names || listed(names, n_names, account_attrs[i].name))
            chosen[n++] = account_attrs[i];
        if (n && vpc_id[0] && strcmp(chosen[n - 1].name, "default-vpc") == 0)
            chosen[n - 1].values = default_vpc;
    }
    ret = ec2_reply(c, ec2_xml_account_attributes(c->req->request_id, chosen, n, &len), &len);

cleanup:
    free(names);
    return ret;
}

/* ---- DescribeInstanceTypes ---------------------------------------------- */

static const char *const type_filters[] = {
    "instance-type",
    "vcpu-info.default-vcpus",
    "vcpu-info.default-cores",
    "memory-info.size-in-mib",
    "current-generation",
    "free-tier-eligible",
    "bare-metal",
    "hibernation-supported",
    "burstable-performance-supported",
    "supported-usage-class",
    "supported-root-device-type",
    "supported-virtualization-type",
    NULL,
};

static void type_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_instance_type *t = obj;

    if (strcmp(name, "instance-type") == 0)
        ec2_match_offer(m, t->name);
    else if (strcmp(name, "vcpu-info.default-vcpus") == 0 ||
             strcmp(name, "vcpu-info.default-cores") == 0)
        ec2_match_offer_uint(m, t->vcpus);
    else if (strcmp(name, "memory-info.size-in-mib") == 0)
        ec2_match_offer_uint(m, t->memory_mib);
    else if (strcmp(name, "current-generation") == 0)
        ec2_match_offer(m, "true");
    else if (strcmp(name, "supported-usage-class") == 0)
        ec2_match_offer(m, "on-demand");
    else if (strcmp(name, "supported-root-device-type") == 0)
        ec2_match_offer(m, "ebs");
    else if (strcmp(name, "supported-virtualization-type") == 0)
        ec2_match_offer(m, "hvm");
    else
        ec2_match_offer(m, "false"); /* the remaining flags are all false */
}

static const char *type_key(const void *elem)
{
    return (*(const cg_instance_type *const *)elem)->name;
}

int ec2_describe_instance_types(ec2_call *c)
{
    const cg_config *cfg = c->ctx->cfg;
    const char **names = NULL;
    const cg_instance_type **view = NULL;
    ec2_filters filters = {0};
    ec2_page page = {0};
    size_t n_names = 0, n_missing = 0, n = 0, i, len = 0, used = 0;
    char *token = NULL, list[400] = "";
    cg_error err = {0};
    int ret = -1;

    if (ec2_param_list(c, "InstanceType", 0, &names, &n_names) < 0 ||
        ec2_param_filters(c, type_filters, &filters) < 0 ||
        ec2_param_page(c, "types", 5, 100, &page) < 0)
        goto cleanup;
    for (i = 0; i < n_names && used < sizeof(list); i++) {
        if (!cg_config_find_type(cfg, names[i])) {
            int w = snprintf(list + used, sizeof(list) - used, "%s%.64s", n_missing ? ", " : "",
                             names[i]);
            if (w < 0)
                break;
            used += (size_t)w;
            n_missing++;
        }
    }
    if (n_missing) {
        ec2_fail(c, "InvalidInstanceType",
                 "The following supplied instance types do not exist: [%s]", list);
        goto cleanup;
    }
    if (cfg->n_types && !(view = calloc(cfg->n_types, sizeof(*view)))) {
        fail_oom(c);
        goto cleanup;
    }
    for (i = 0; i < cfg->n_types; i++) {
        if (n_names && !listed(names, n_names, cfg->types[i].name))
            continue;
        if (ec2_filters_match(&filters, &cfg->types[i], type_field, c))
            view[n++] = &cfg->types[i];
    }
    ec2_sort(view, n, sizeof(*view), type_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), type_key, &token, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_instance_types(c->req->request_id, view, n, token, &len), &len);

cleanup:
    free(token);
    free(view);
    free(names);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    return ret;
}

/* ---- DescribeImages ----------------------------------------------------- */

static const char *const image_filters[] = {
    "name",
    "image-id",
    "state",
    "architecture",
    "owner-id",
    "description",
    "image-type",
    "is-public",
    "root-device-type",
    "root-device-name",
    "virtualization-type",
    "tag-key",
    "tag-value",
    "tag:",
    NULL,
};

static void image_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_image *img = obj;
    const ec2_call *c = ud;

    if (ec2_match_tags(m, name, &img->tags))
        return;
    if (strcmp(name, "name") == 0)
        ec2_match_offer(m, img->name);
    else if (strcmp(name, "image-id") == 0)
        ec2_match_offer(m, img->id);
    else if (strcmp(name, "state") == 0)
        ec2_match_offer(m, img->state);
    else if (strcmp(name, "architecture") == 0)
        ec2_match_offer(m, img->architecture);
    else if (strcmp(name, "owner-id") == 0)
        ec2_match_offer(m, c->ctx->cfg->account_id);
    else if (strcmp(name, "description") == 0)
        ec2_match_offer(m, img->description);
    else if (strcmp(name, "image-type") == 0)
        ec2_match_offer(m, "machine");
    else if (strcmp(name, "is-public") == 0)
        ec2_match_offer(m, img->is_public ? "true" : "false");
    else if (strcmp(name, "root-device-type") == 0)
        ec2_match_offer(m, "ebs");
    else if (strcmp(name, "root-device-name") == 0)
        ec2_match_offer(m, "/dev/vda");
    else if (strcmp(name, "virtualization-type") == 0)
        ec2_match_offer(m, "hvm");
}

static const char *image_key(const void *elem)
{
    return (*(const cg_image *const *)elem)->id;
}

/* Owner.N: every image belongs to cfg->account_id ("self"); other owners
 * ("amazon", other accounts) own nothing here. */
static int owners_match(const cg_config *cfg, const char *const *owners, size_t n)
{
    size_t i;

    if (n == 0)
        return 1;
    for (i = 0; i < n; i++) {
        if (strcmp(owners[i], "self") == 0 || strcmp(owners[i], cfg->account_id) == 0)
            return 1;
    }
    return 0;
}

int ec2_describe_images(ec2_call *c)
{
    cg_image_list images = {0};
    ec2_filters filters = {0};
    const char **ids = NULL, **owners = NULL, **missing = NULL;
    const cg_image **view = NULL;
    size_t n_ids = 0, n_owners = 0, n_missing = 0, n = 0, i, len = 0;
    cg_error err = {0};
    int ret = -1;

    if (ec2_param_list(c, "ImageId", 0, &ids, &n_ids) < 0 ||
        ec2_param_list(c, "Owner", 0, &owners, &n_owners) < 0 ||
        ec2_param_filters(c, image_filters, &filters) < 0)
        goto cleanup;
    for (i = 0; i < n_ids; i++) {
        if (!ec2_id_valid(ids[i], "ami-")) {
            ec2_fail(c, "InvalidAMIID.Malformed", "Invalid id: \"%.100s\" (expecting \"ami-...\")",
                     ids[i]);
            goto cleanup;
        }
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &images) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_images_pseudo_tags(c, &images) < 0)
        goto cleanup;
    if (n_ids && !(missing = calloc(n_ids, sizeof(*missing)))) {
        fail_oom(c);
        goto cleanup;
    }
    for (i = 0; i < n_ids; i++) {
        if (!ec2_find_image(&images, ids[i]) && !listed(missing, n_missing, ids[i]))
            missing[n_missing++] = ids[i];
    }
    if (n_missing) {
        ec2_fail_not_found(c, missing, n_missing);
        goto cleanup;
    }
    if (images.n && !(view = calloc(images.n, sizeof(*view)))) {
        fail_oom(c);
        goto cleanup;
    }
    for (i = 0; i < images.n && owners_match(c->ctx->cfg, owners, n_owners); i++) {
        if (n_ids && !listed(ids, n_ids, images.v[i].id))
            continue;
        if (ec2_filters_match(&filters, &images.v[i], image_field, c))
            view[n++] = &images.v[i];
    }
    ec2_sort(view, n, sizeof(*view), image_key);
    ret =
        ec2_reply(c, ec2_xml_describe_images(c->req->request_id, c->ctx->cfg, view, n, &len), &len);

cleanup:
    free(view);
    free(ids);
    free(owners);
    free(missing);
    ec2_filters_release(&filters);
    cg_image_list_release(&images);
    return ret;
}
