/* cloudgate: EC2 VPC actions: CreateVpc, DeleteVpc, DescribeVpcs,
 * CreateSubnet, DeleteSubnet, DescribeSubnets and DescribeAddresses, over
 * the driver's vpc_* and subnet_* operations.
 *
 * The gateway's configured instance network is the default VPC, with a
 * default subnet per zone; neither may be deleted here (OperationNotPermitted):
 * AWS lets an account delete its default VPC, but here it is the network
 * every existing instance sits on and the operator's choice, not a user's.
 * There are no Elastic IPs: DescribeAddresses answers an empty set.
 */
#include "ec2_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The block sizes AWS allows for VPCs and subnets. */
#define PREFIX_MIN 16
#define PREFIX_MAX 28

static const char *const vpc_filters[] = {
    /* cidr-block and cidrBlock: old names AWS still takes (ec2_vpc_net sends one). */
    "vpc-id", "cidr", "cidr-block", "cidrBlock", "cidr-block-association.cidr-block",
    "is-default", "state", "owner-id", "dhcp-options-id", "tag-key", "tag-value", "tag:", NULL,
};

static const char *const subnet_filters[] = {
    "vpc-id", "subnet-id", "availability-zone", "availability-zone-id", "cidr-block", "cidr",
    "cidrBlock", "default-for-az", "defaultForAz", "state", "owner-id",
    "available-ip-address-count", "subnet-arn", "tag-key", "tag-value", "tag:", NULL,
};

static const char *const address_filters[] = {
    "allocation-id", "association-id", "domain", "instance-id", "network-interface-id",
    "network-interface-owner-id", "private-ip-address", "public-ip", "tag-key", "tag-value",
    "tag:", NULL,
};

static const char *owner(const ec2_call *c)
{
    return c->ctx->cfg->account_id ? c->ctx->cfg->account_id : "";
}

static const char *region(const ec2_call *c)
{
    return c->ctx->cfg->region ? c->ctx->cfg->region : "";
}

/* ---- ids and lists ------------------------------------------------------ */

static int fail_vpc_id(ec2_call *c, const char *id, int malformed)
{
    if (malformed)
        return ec2_fail(c, "InvalidVpcID.Malformed", "Invalid id: \"%.64s\" (expecting \"vpc-...\")",
                        id);
    return ec2_fail(c, "InvalidVpcID.NotFound", "The vpc ID '%.64s' does not exist", id);
}

static int fail_subnet_id(ec2_call *c, const char *id, int malformed)
{
    if (malformed)
        return ec2_fail(c, "InvalidSubnetID.Malformed",
                        "Invalid id: \"%.64s\" (expecting \"subnet-...\")", id);
    return ec2_fail(c, "InvalidSubnetID.NotFound", "The subnet ID '%.64s' does not exist", id);
}

/* All VPCs into list; with id (checked: shape, existence) the one called id
 * into *vpc.  0 or -1. */
static int load_vpcs(ec2_call *c, cg_vpc_list *list, const char *id, const cg_vpc **vpc)
{
    cg_error err = {0};
    size_t i;

    if (id && !ec2_id_valid(id, "vpc-"))
        return fail_vpc_id(c, id, 1);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; id && i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0) {
            *vpc = &list->v[i];
            return 0;
        }
    }
    return id ? fail_vpc_id(c, id, 0) : 0;
}

static int load_subnets(ec2_call *c, cg_subnet_list *list, const char *id,
                        const cg_subnet **sub)
{
    cg_error err = {0};
    size_t i;

    if (id && !ec2_id_valid(id, "subnet-"))
        return fail_subnet_id(c, id, 1);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; id && i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0) {
            *sub = &list->v[i];
            return 0;
        }
    }
    return id ? fail_subnet_id(c, id, 0) : 0;
}

int ec2_check_vpc(ec2_call *c, const char *id)
{
    cg_vpc_list list = {0};
    const cg_vpc *vpc = NULL;
    int ret;

    if (!id || !*id)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter vpcId");
    ret = load_vpcs(c, &list, id, &vpc);
    cg_vpc_list_release(&list);
    return ret;
}

int ec2_check_subnet(ec2_call *c, const char *id)
{
    cg_subnet_list list = {0};
    const cg_subnet *sub = NULL;
    int ret;

    if (!id || !*id)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter subnetId");
    ret = load_subnets(c, &list, id, &sub);
    cg_subnet_list_release(&list);
    return ret;
}

int ec2_default_vpc_id(ec2_call *c, char *buf, size_t len)
{
    cg_vpc_list list = {0};
    cg_error err = {0};
    size_t i;

    buf[0] = '\0';
    if (!c->ctx->driver->vpc_list)
        return 0;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_list, &err, &list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < list.n; i++) {
        if (list.v[i].is_default)
            snprintf(buf, len, "%s", list.v[i].id);
    }
    cg_vpc_list_release(&list);
    return 0;
}

/* A required CIDR parameter name (AWS's wire name wire) with a prefix AWS
 * allows; range_code is the error for a block too big or too small. */
static int param_cidr(ec2_call *c, const char *name, const char *wire, const char *range_code,
                      const char **out)
{
    const char *s = ec2_params_get(c->params, name);
    cg_cidr block;

    if (!s || !*s)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter %s", wire);
    if (cg_cidr_parse(s, &block) < 0)
        return ec2_fail(c, "InvalidParameterValue", "Value (%.64s) for parameter %s is invalid. "
                        "This is not a valid CIDR block.", s, wire);
    if (block.prefix < PREFIX_MIN || block.prefix > PREFIX_MAX)
        return ec2_fail(c, range_code, "The CIDR '%.64s' is invalid.", s);
    *out = s;
    return 0;
}

/* What a Describe action of one kind reads: ids (ID_PARAM.N, shaped
 * PREFIX...), filters, MaxResults/NextToken; over a driver list whose
 * elements are size bytes apart with their id array at id_at. */
typedef struct ec2_kind {
    const char *id_param;
    const char *prefix;
    const char *page_kind;
    const char *const *filters;
    ec2_field_fn field;
    ec2_key_fn key;
    size_t size, id_at;
    int (*fail_id)(ec2_call *c, const char *id, int malformed);
} ec2_kind;

/* The request's choice, then the elements it picked, sorted and paged. */
typedef struct ec2_picked {
    const char **ids;
    size_t n_ids;
    ec2_filters filters;
    ec2_page page;
    const void **v;
    size_t n;
    char *next;
} ec2_picked;

static void picked_release(ec2_picked *p)
{
    free(p->ids);
    free(p->v);
    free(p->next);
    ec2_filters_release(&p->filters);
    ec2_page_release(&p->page);
}

/* Read and check the ids, filters and page (before any driver call).  0 or -1. */
static int pick_ids(ec2_call *c, const ec2_kind *k, ec2_picked *p)
{
    size_t i;

    if (ec2_param_list(c, k->id_param, 0, &p->ids, &p->n_ids) < 0 ||
        ec2_param_filters(c, k->filters, &p->filters) < 0 ||
        ec2_param_page(c, k->page_kind, 5, 1000, &p->page) < 0)
        return -1;
    for (i = 0; i < p->n_ids; i++) {
        if (!ec2_id_valid(p->ids[i], k->prefix))
            return k->fail_id(c, p->ids[i], 1);
    }
    return 0;
}

/* Was id asked for (or were no ids asked for)? */
static int asked(const ec2_picked *p, const char *id)
{
    size_t i;

    for (i = 0; i < p->n_ids; i++) {
        if (strcmp(p->ids[i], id) == 0)
            return 1;
    }
    return !p->n_ids;
}

/* Pick from base[0..count): every asked-for id must exist (else NotFound),
 * then those asked for that pass the filters (ud goes to the field
 * function), sorted and paged into p.  0 or -1. */
static int pick(ec2_call *c, const ec2_kind *k, const void *base, size_t count, void *ud,
                ec2_picked *p)
{
    const char *elem = base;
    cg_error err = {0};
    size_t i, j;

    for (i = 0; i < p->n_ids; i++) {
        for (j = 0; j < count && strcmp(elem + j * k->size + k->id_at, p->ids[i]) != 0; j++)
            ;
        if (j == count)
            return k->fail_id(c, p->ids[i], 0);
    }
    if (count && !(p->v = calloc(count, sizeof(*p->v)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        return ec2_fail_cg(c, &err, NULL);
    }
    for (i = 0; i < count; i++, elem += k->size) {
        if (asked(p, elem + k->id_at) && ec2_filters_match(&p->filters, elem, k->field, ud))
            p->v[p->n++] = elem;
    }
    ec2_sort(p->v, p->n, sizeof(*p->v), k->key);
    if (ec2_page_take(&p->page, p->v, &p->n, sizeof(*p->v), k->key, &p->next, &err) < 0)
        return ec2_fail_cg(c, &err, NULL);
    return 0;
}

/* The answer to a Delete of id (a noun: "vpc", "subnet") whose driver call
 * returned rc, with err.  0 or -1. */
static int delete_answer(ec2_call *c, const char *id, const char *noun,
                         int (*fail_id)(ec2_call *c, const char *id, int malformed), int rc,
                         const cg_error *err)
{
    size_t len = 0;

    if (rc == 0)
        return ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);
    if (err->kind == CG_ERR_NOT_FOUND)
        return fail_id(c, id, 0);
    if (err->kind == CG_ERR_CONFLICT)
        return ec2_fail(c, "DependencyViolation", "The %s '%s' has dependencies and cannot be "
                        "deleted.", noun, id);
    return ec2_fail_cg(c, err, NULL);
}

/* ---- VPCs --------------------------------------------------------------- */

int ec2_create_vpc(ec2_call *c)
{
    const char *cidr = NULL, *tenancy = ec2_params_get(c->params, "InstanceTenancy");
    cg_tags tags = {0};
    cg_vpc vpc = {0};
    cg_error err = {0};
    size_t len = 0;
    int ipv6 = 0, ret = -1;

    if (param_cidr(c, "CidrBlock", "cidrBlock", "InvalidVpc.Range", &cidr) < 0 ||
        ec2_param_bool(c, "AmazonProvidedIpv6CidrBlock", 0, &ipv6) < 0 ||
        ec2_param_tag_specs(c, "vpc", &tags) < 0)
        goto cleanup;
    if (ipv6) {
        ec2_fail(c, "InvalidParameterValue", "IPv6 blocks are not supported by this cloud.");
        goto cleanup;
    }
    if (tenancy && strcmp(tenancy, "default") != 0) {
        ec2_fail(c, "InvalidParameterValue", "Value (%.64s) for parameter instanceTenancy is "
                 "invalid. Only 'default' is supported.", tenancy);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_create, &err, cidr, &tags, &vpc) < 0) {
        /* Every VPC is routed on the same hosts, so blocks may not overlap. */
        if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidVpc.Range", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_create_vpc(c->req->request_id, &vpc, owner(c), &len), &len);

cleanup:
    cg_tags_release(&vpc.tags);
    cg_tags_release(&tags);
    return ret;
}

int ec2_delete_vpc(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "VpcId");
    cg_vpc_list list = {0};
    const cg_vpc *vpc = NULL;
    cg_error err = {0};
    int rc, ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter vpcId");
        goto cleanup;
    }
    if (load_vpcs(c, &list, id, &vpc) < 0)
        goto cleanup;
    if (vpc->is_default) {
        ec2_fail(c, "OperationNotPermitted", "The default VPC '%s' is this cloud's instance "
                 "network and cannot be deleted.", id);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    rc = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_delete, &err, id);
    ret = delete_answer(c, id, "vpc", fail_vpc_id, rc, &err);

cleanup:
    cg_vpc_list_release(&list);
    return ret;
}

static void vpc_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_vpc *v = obj;

    if (ec2_match_tags(m, name, &v->tags))
        return;
    if (strcmp(name, "vpc-id") == 0)
        ec2_match_offer(m, v->id);
    else if (strcmp(name, "cidr") == 0 || strcmp(name, "cidr-block") == 0 ||
             strcmp(name, "cidrBlock") == 0 ||
             strcmp(name, "cidr-block-association.cidr-block") == 0)
        ec2_match_offer(m, v->cidr);
    else if (strcmp(name, "is-default") == 0)
        ec2_match_offer(m, v->is_default ? "true" : "false");
    else if (strcmp(name, "state") == 0)
        ec2_match_offer(m, v->state);
    else if (strcmp(name, "owner-id") == 0)
        ec2_match_offer(m, ud);
    else if (strcmp(name, "dhcp-options-id") == 0)
        ec2_match_offer(m, "default");
}

static const char *vpc_key(const void *elem)
{
    return (*(const cg_vpc *const *)elem)->id;
}

int ec2_describe_vpcs(ec2_call *c)
{
    static const ec2_kind kind = {"VpcId", "vpc-", "vpcs", vpc_filters, vpc_field, vpc_key,
                                  sizeof(cg_vpc), offsetof(cg_vpc, id), fail_vpc_id};
    cg_vpc_list list = {0};
    cg_error err = {0};
    ec2_picked p = {0};
    size_t len = 0;
    int ret = -1;

    if (pick_ids(c, &kind, &p) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (pick(c, &kind, list.v, list.n, (void *)owner(c), &p) == 0)
        ret = ec2_reply(c, ec2_xml_describe_vpcs(c->req->request_id, (const cg_vpc *const *)p.v,
                                                 p.n, owner(c), p.next, &len), &len);

cleanup:
    picked_release(&p);
    cg_vpc_list_release(&list);
    return ret;
}

/* ---- subnets ------------------------------------------------------------ */

int ec2_create_subnet(ec2_call *c)
{
    const char *vpc_id = ec2_params_get(c->params, "VpcId"), *cidr = NULL;
    const char *zone = ec2_params_get(c->params, "AvailabilityZone");
    const char *zone_id = ec2_params_get(c->params, "AvailabilityZoneId");
    cg_subnet_spec spec = {0};
    cg_vpc_list vpcs = {0};
    const cg_vpc *vpc = NULL;
    cg_subnet sub = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!vpc_id || !*vpc_id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter vpcId");
        goto cleanup;
    }
    /* Zone names are their own ids here. */
    if (zone && zone_id && strcmp(zone, zone_id) != 0) {
        ec2_fail(c, "InvalidParameterCombination",
                 "Only one of availabilityZone and availabilityZoneId may be given.");
        goto cleanup;
    }
    zone = zone && *zone ? zone : zone_id && *zone_id ? zone_id : NULL;
    if (param_cidr(c, "CidrBlock", "cidrBlock", "InvalidSubnet.Range", &cidr) < 0 ||
        ec2_param_tag_specs(c, "subnet", &tags) < 0 || (zone && ec2_zone_known(c, zone) < 0) ||
        load_vpcs(c, &vpcs, vpc_id, &vpc) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    spec.vpc_id = vpc_id;
    spec.cidr = cidr;
    spec.zone = zone;
    spec.tags = &tags;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_create, &err, &spec, &sub) < 0) {
        if (err.kind == CG_ERR_NOT_FOUND)
            fail_vpc_id(c, vpc_id, 0);
        else if (err.kind == CG_ERR_INVALID)
            ec2_fail(c, "InvalidSubnet.Range", "The CIDR '%.64s' is invalid.", cidr);
        else if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidSubnet.Conflict", "The CIDR '%.64s' conflicts with another "
                     "subnet", cidr);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_create_subnet(c->req->request_id, &sub, owner(c), region(c),
                                             &len), &len);

cleanup:
    cg_tags_release(&sub.tags);
    cg_tags_release(&tags);
    cg_vpc_list_release(&vpcs);
    return ret;
}

int ec2_delete_subnet(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "SubnetId");
    cg_subnet_list list = {0};
    const cg_subnet *sub = NULL;
    cg_error err = {0};
    int rc, ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter subnetId");
        goto cleanup;
    }
    if (load_subnets(c, &list, id, &sub) < 0)
        goto cleanup;
    if (sub->default_for_az) {
        ec2_fail(c, "OperationNotPermitted", "The default subnet '%s' of zone %s cannot be "
                 "deleted.", id, sub->zone);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    rc = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_delete, &err, id);
    ret = delete_answer(c, id, "subnet", fail_subnet_id, rc, &err);

cleanup:
    cg_subnet_list_release(&list);
    return ret;
}

static void subnet_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_subnet *s = obj;
    const ec2_call *c = ud;
    char arn[160];

    if (ec2_match_tags(m, name, &s->tags))
        return;
    if (strcmp(name, "vpc-id") == 0)
        ec2_match_offer(m, s->vpc_id);
    else if (strcmp(name, "subnet-id") == 0)
        ec2_match_offer(m, s->id);
    else if (strcmp(name, "availability-zone") == 0 || strcmp(name, "availability-zone-id") == 0)
        ec2_match_offer(m, s->zone);
    else if (strcmp(name, "cidr-block") == 0 || strcmp(name, "cidr") == 0 ||
             strcmp(name, "cidrBlock") == 0)
        ec2_match_offer(m, s->cidr);
    else if (strcmp(name, "default-for-az") == 0 || strcmp(name, "defaultForAz") == 0)
        ec2_match_offer(m, s->default_for_az ? "true" : "false");
    else if (strcmp(name, "state") == 0)
        ec2_match_offer(m, s->state);
    else if (strcmp(name, "owner-id") == 0)
        ec2_match_offer(m, owner(c));
    else if (strcmp(name, "available-ip-address-count") == 0)
        ec2_match_offer_uint(m, s->available_ips);
    else if (strcmp(name, "subnet-arn") == 0) {
        snprintf(arn, sizeof(arn), "arn:aws:ec2:%s:%s:subnet/%s", region(c), owner(c), s->id);
        ec2_match_offer(m, arn);
    }
}

static const char *subnet_key(const void *elem)
{
    return (*(const cg_subnet *const *)elem)->id;
}

int ec2_describe_subnets(ec2_call *c)
{
    static const ec2_kind kind = {"SubnetId", "subnet-", "subnets", subnet_filters,
                                  subnet_field, subnet_key, sizeof(cg_subnet),
                                  offsetof(cg_subnet, id), fail_subnet_id};
    cg_subnet_list list = {0};
    cg_error err = {0};
    ec2_picked p = {0};
    size_t len = 0;
    int ret = -1;

    if (pick_ids(c, &kind, &p) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (pick(c, &kind, list.v, list.n, c, &p) == 0)
        ret = ec2_reply(c, ec2_xml_describe_subnets(c->req->request_id,
                                                    (const cg_subnet *const *)p.v, p.n, owner(c),
                                                    region(c), p.next, &len), &len);

cleanup:
    picked_release(&p);
    cg_subnet_list_release(&list);
    return ret;
}

/* ---- RunInstances in a subnet ----------------------------------------- */

int ec2_launch_subnet(ec2_call *c, const char **zone, char *zone_buf, size_t zone_len,
                      char *subnet, size_t subnet_len)
{
    const char *id = ec2_params_get(c->params, "SubnetId");
    const char *nic_id = ec2_params_get(c->params, "NetworkInterface.1.SubnetId");
    const char *index = ec2_params_get(c->params, "NetworkInterface.1.DeviceIndex");
    cg_subnet_list list = {0};
    const cg_subnet *sub = NULL;
    int ret = -1;

    subnet[0] = '\0';
    if (id && nic_id) {
        ec2_fail(c, "InvalidParameterCombination", "Network interfaces and an instance-level "
                 "subnet ID may not be specified on the same request");
        goto cleanup;
    }
    /* One interface per instance, made with it. */
    if (ec2_params_list_len(c->params, "NetworkInterface") > 1 ||
        ec2_params_get(c->params, "NetworkInterface.1.NetworkInterfaceId")) {
        ec2_fail(c, "UnsupportedOperation", "Instances here have exactly one network interface, "
                 "made at launch.");
        goto cleanup;
    }
    if (index && strcmp(index, "0") != 0) {
        ec2_fail(c, "InvalidParameterValue", "Value (%.16s) for parameter deviceIndex is invalid: "
                 "the only interface is device 0.", index);
        goto cleanup;
    }
    if (!id)
        id = nic_id;
    if (!id) {
        ret = 0;
        goto cleanup;
    }
    if (load_subnets(c, &list, id, &sub) < 0)
        goto cleanup;
    if (*zone && strcmp(*zone, sub->zone) != 0) {
        ec2_fail(c, "InvalidParameterCombination", "The subnet '%s' is in availability zone %s, "
                 "not %.64s.", id, sub->zone, *zone);
        goto cleanup;
    }
    snprintf(zone_buf, zone_len, "%s", sub->zone);
    snprintf(subnet, subnet_len, "%s", sub->id);
    *zone = zone_buf;
    ret = 0;

cleanup:
    cg_subnet_list_release(&list);
    return ret;
}

/* ---- addresses ---------------------------------------------------------- */

int ec2_describe_addresses(ec2_call *c)
{
    const char **ips = NULL, **allocs = NULL;
    ec2_filters filters = {0};
    size_t n_ips = 0, n_allocs = 0, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "PublicIp", 0, &ips, &n_ips) < 0 ||
        ec2_param_list(c, "AllocationId", 0, &allocs, &n_allocs) < 0 ||
        ec2_param_filters(c, address_filters, &filters) < 0)
        goto cleanup;
    /* No Elastic IPs exist, so any one asked for is unknown. */
    if (n_ips) {
        ec2_fail(c, "InvalidAddress.NotFound", "Address '%.64s' not found.", ips[0]);
        goto cleanup;
    }
    if (n_allocs) {
        ec2_fail(c, "InvalidAllocationID.NotFound", "The allocation ID '%.64s' does not exist",
                 allocs[0]);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_describe_addresses(c->req->request_id, &len), &len);

cleanup:
    free(ips);
    free(allocs);
    ec2_filters_release(&filters);
    return ret;
}
