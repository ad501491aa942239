/* cloudgate: CIMI Networks and NetworkPorts, read-only, from the driver's
 * VPCs, subnets and instances.
 *
 * CIMI has no subnet: a Network is a VPC (one libvirt network in every
 * zone), and its subnets are properties of it (the ids in "subnets", each
 * one's block and zone in "subnet.ID.cidr" / "subnet.ID.zone").  A
 * NetworkPort is an instance's one interface ("eni-" id); its MAC, address,
 * subnet, machine and security groups are properties, as DSP8009 gives a
 * port no such attributes.  networks/ID/networkPorts lists a Network's
 * ports.  Nothing here changes anything: mutations answer 405. */
#include "cimi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a libvirt bridge gives every port: no QoS classes. */
#define NET_CLASS_OF_SERVICE "best-effort"

/* "a,b,c" of n strings of stride bytes from first (malloc'd; "" for none). */
static char *join_ids(const char *first, size_t stride, size_t n)
{
    size_t i, len = 1;
    char *s, *p;

    for (i = 0; i < n; i++)
        len += strlen(first + i * stride) + 1;
    if (!(s = malloc(len)))
        return NULL;
    p = s;
    *p = '\0';
    for (i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", first + i * stride);
    return s;
}

/* Tags (but Name and Description) as the "properties" attribute. */
static void add_props(cimi_obj *o, const cg_tags *props)
{
    cimi_attr *attr = NULL;
    size_t i;

    for (i = 0; i < props->n; i++) {
        if (strcmp(props->v[i].key, "Name") == 0 || strcmp(props->v[i].key, "Description") == 0)
            continue;
        if (!attr && !(attr = cimi_add_props(o)))
            return;
        cimi_pair_push(o, attr, props->v[i].key, props->v[i].value);
    }
}

static void add_href(cimi_obj *o, const char *name, const char *base, const char *coll,
                     const char *id, const char *sub)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s%s/%s%s", base, coll, id, sub ? sub : "");
    cimi_add_ref(o, name, buf, NULL);
}

/* ---- machines' security groups as properties ----------------------------------- */

int cimi_machine_group_props(const cg_instance *inst, cg_tags *props)
{
    char key[64], *ids;
    unsigned i;
    int r = 0;

    if (!inst->n_groups)
        return 0;
    if (!(ids = join_ids(inst->group_ids[0], sizeof(inst->group_ids[0]), inst->n_groups)))
        return -1;
    r |= cg_tags_set(props, "securityGroups", ids);
    for (i = 0; i < inst->n_groups && i < CG_INSTANCE_GROUPS_MAX; i++) {
        snprintf(key, sizeof(key), "securityGroup.%s", inst->group_ids[i]);
        r |= cg_tags_set(props, key, inst->group_names[i]);
    }
    free(ids);
    return r ? -1 : 0;
}

int cimi_machine_prop_derived(const char *key)
{
    return strcmp(key, "securityGroups") == 0 || strncmp(key, "securityGroup.", 14) == 0;
}

void cimi_drop_derived_props(cg_tags *tags)
{
    size_t i = 0;

    while (i < tags->n) {
        if (cimi_machine_prop_derived(tags->v[i].key))
            cg_tags_remove(tags, tags->v[i].key, NULL);
        else
            i++;
    }
}

/* ---- builders ------------------------------------------------------------------------ */

static const char *network_state(const char *vpc_state)
{
    if (strcmp(vpc_state, "available") == 0)
        return "STARTED";
    if (strcmp(vpc_state, "pending") == 0)
        return "CREATING";
    return "ERROR";
}

/* The VPC's own facts and its subnets' (those with its id) over its tags. */
static int network_props(const cg_vpc *vpc, const cg_subnet *subnets, size_t n, cg_tags *props)
{
    char key[96], *ids = NULL, *p;
    size_t i, mine = 0;
    int r = cg_tags_copy(props, &vpc->tags);

    if (r == 0 && vpc->cidr[0])
        r |= cg_tags_set(props, "cidr", vpc->cidr);
    if (r == 0)
        r |= cg_tags_set(props, "isDefault", vpc->is_default ? "true" : "false");
    if (r == 0 && vpc->network[0])
        r |= cg_tags_set(props, "libvirtNetwork", vpc->network);
    /* Each id is shorter than its field: room for the commas. */
    if (r == 0 && !(ids = calloc(n + 1, sizeof(subnets[0].id))))
        r = -1;
    for (i = 0, p = ids; r == 0 && i < n; i++) {
        if (strcmp(subnets[i].vpc_id, vpc->id) != 0)
            continue;
        p += sprintf(p, "%s%s", mine++ ? "," : "", subnets[i].id);
        snprintf(key, sizeof(key), "subnet.%s.cidr", subnets[i].id);
        r |= cg_tags_set(props, key, subnets[i].cidr);
        snprintf(key, sizeof(key), "subnet.%s.zone", subnets[i].id);
        r |= cg_tags_set(props, key, subnets[i].zone);
    }
    if (mine && r == 0)
        r |= cg_tags_set(props, "subnets", ids);
    free(ids);
    return r ? -1 : 0;
}

cimi_obj *cimi_build_network(const char *base, const cg_vpc *vpc, const cg_subnet *subnets,
                             size_t n)
{
    cimi_obj *o = cimi_obj_new("Network");
    const char *name = cg_tags_get(&vpc->tags, "Name");
    cg_tags props = {0};
    char id[1024];

    if (!o)
        return NULL;
    if (network_props(vpc, subnets, n, &props) < 0)
        o->failed = 1;
    snprintf(id, sizeof(id), "%snetworks/%s", base, vpc->id);
    cimi_add_str(o, "id", id);
    cimi_add_str(o, "name", name && *name ? name : vpc->id);
    cimi_add_str(o, "description", cg_tags_get(&vpc->tags, "Description"));
    add_props(o, &props);
    cg_tags_release(&props);
    cimi_add_str(o, "state", network_state(vpc->state));
    /* Guests reach the outside only through the host's NAT, when at all. */
    cimi_add_str(o, "networkType", "PRIVATE");
    cimi_add_str(o, "classOfService", NET_CLASS_OF_SERVICE);
    add_href(o, "networkPorts", base, "networks", vpc->id, "/networkPorts");
    return o;
}

/* An interface's state follows its instance's. */
static const char *port_state(cg_instance_state s)
{
    switch (s) {
    case CG_STATE_PENDING:
        return "STARTING";
    case CG_STATE_RUNNING:
        return "STARTED";
    case CG_STATE_STOPPING:
        return "STOPPING";
    case CG_STATE_STOPPED:
        return "STOPPED";
    case CG_STATE_SHUTTING_DOWN:
    case CG_STATE_TERMINATED:
        return "DELETING";
    }
    return "ERROR";
}

static int port_props(const char *base, const cg_instance *inst, cg_tags *props)
{
    char machine[700];
    int r = 0;

    snprintf(machine, sizeof(machine), "%smachines/%s", base, inst->id);
    r |= cg_tags_set(props, "machine", machine);
    if (inst->mac[0])
        r |= cg_tags_set(props, "mac", inst->mac);
    if (inst->private_ip[0])
        r |= cg_tags_set(props, "ip", inst->private_ip);
    if (inst->subnet_id[0])
        r |= cg_tags_set(props, "subnet", inst->subnet_id);
    if (r == 0)
        r |= cimi_machine_group_props(inst, props);
    return r ? -1 : 0;
}

cimi_obj *cimi_build_network_port(const char *base, const cg_instance *inst)
{
    cimi_obj *o = cimi_obj_new("NetworkPort");
    cg_tags props = {0};
    char id[1024], desc[96];

    if (!o)
        return NULL;
    if (port_props(base, inst, &props) < 0)
        o->failed = 1;
    snprintf(id, sizeof(id), "%snetworkPorts/%s", base, inst->eni_id);
    snprintf(desc, sizeof(desc), "the network interface of Machine %s", inst->id);
    cimi_add_str(o, "id", id);
    cimi_add_str(o, "name", inst->eni_id);
    cimi_add_str(o, "description", desc);
    if (inst->launch_time)
        cimi_add_time(o, "created", inst->launch_time);
    add_props(o, &props);
    cg_tags_release(&props);
    cimi_add_str(o, "state", port_state(inst->state));
    if (inst->vpc_id[0])
        add_href(o, "network", base, "networks", inst->vpc_id, NULL);
    cimi_add_str(o, "portType", "ACCESS");
    cimi_add_str(o, "classOfService", NET_CLASS_OF_SERVICE);
    return o;
}

/* ---- collections -------------------------------------------------------------------- */

int cimi_list_networks(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_vpc_list vpcs = {0};
    cg_subnet_list subnets = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_list, &err, &vpcs) < 0 ||
        CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_list, &err, &subnets) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    if (cimi_alloc_objs(c, out, vpcs.n) < 0)
        goto cleanup;
    for (i = 0; i < vpcs.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_network(c->base, &vpcs.v[i], subnets.v, subnets.n))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_subnet_list_release(&subnets);
    cg_vpc_list_release(&vpcs);
    return ret;
}

/* The ports of the instances not terminated, all or those in vpc_id. */
static int list_ports(cimi_call *c, const char *vpc_id, cimi_obj ***out, size_t *n)
{
    cg_instance_list insts = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    *out = NULL;
    *n = 0;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0)
        return cimi_fail_cg(c, &err);
    if (cimi_alloc_objs(c, out, insts.n) < 0)
        goto cleanup;
    for (i = 0; i < insts.n; i++) {
        const cg_instance *inst = &insts.v[i];
        if (inst->state == CG_STATE_TERMINATED || !inst->eni_id[0] ||
            (vpc_id && strcmp(inst->vpc_id, vpc_id) != 0))
            continue;
        if (!((*out)[(*n)++] = cimi_build_network_port(c->base, inst))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_instance_list_release(&insts);
    return ret;
}

int cimi_list_network_ports(cimi_call *c, cimi_obj ***out, size_t *n)
{
    return list_ports(c, NULL, out, n);
}

/* 1 when vpc_id is a VPC the driver knows, 0 not (404 reported), -1 error. */
static int network_exists(cimi_call *c, const char *vpc_id)
{
    cg_vpc_list vpcs = {0};
    cg_error err = {0};
    size_t i;
    int found = 0;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_list, &err, &vpcs) < 0)
        return cimi_fail_cg(c, &err);
    for (i = 0; i < vpcs.n && !found; i++)
        found = strcmp(vpcs.v[i].id, vpc_id) == 0;
    cg_vpc_list_release(&vpcs);
    if (!found)
        cimi_fail(c, 404, "Network '%.128s' does not exist", vpc_id);
    return found;
}

cimi_obj *cimi_network_subcollection(cimi_call *c, const char *id_and_sub)
{
    const char *slash = strchr(id_and_sub, '/');
    int saved = c->status;
    cimi_obj *o = NULL, **items = NULL;
    char id[64], path[128];
    size_t n = 0;

    if (!slash || (size_t)(slash - id_and_sub) >= sizeof(id) ||
        strcmp(slash + 1, "networkPorts") != 0)
        return NULL;
    memcpy(id, id_and_sub, (size_t)(slash - id_and_sub));
    id[slash - id_and_sub] = '\0';
    snprintf(path, sizeof(path), "networks/%s/networkPorts", id);
    if (network_exists(c, id) == 1 && list_ports(c, id, &items, &n) == 0)
        o = cimi_collection_of(c->base, path, "NetworkPortCollection", "networkPorts",
                               "NetworkPort", items, n);
    cimi_free_objs(items, n);
    c->status = saved; /* an unexpandable reference stays an href */
    return o;
}

int cimi_network_sub(cimi_call *c, const char *id, const char *rest)
{
    cimi_obj **items = NULL;
    char coll[700];
    size_t n = 0;

    if (strcmp(rest, "networkPorts") != 0 || strlen(id) >= 64)
        return 1;
    if (network_exists(c, id) != 1)
        return 0;
    if (strcmp(c->req->method, "GET") != 0) {
        gw_response_add_header(c->resp, "Allow", "GET");
        cimi_fail(c, 405, "%s is not allowed here (only GET)", c->req->method);
        return 0;
    }
    snprintf(coll, sizeof(coll), "%snetworks/%s/networkPorts", c->base, id);
    if (list_ports(c, id, &items, &n) == 0)
        cimi_reply_entries(c, coll, "NetworkPortCollection", "networkPorts", "NetworkPort", items,
                           n);
    cimi_free_objs(items, n);
    return 0;
}
