/* cloudgate libvirt driver: VPCs and subnets on libvirt networks (lv_vpc.h).
 *
 * libvirt is the truth for what exists (a network and its <ip>), SQLite for
 * what EC2 says about it.  Every change is made in libvirt first and
 * recorded last, and undone in libvirt when the record cannot be written, so
 * a failure leaves neither a network nor a row; a crash in between leaves a
 * "cg-vpc-..." network without a row, which the zone's reconcile removes.
 * Changes are serialized by one lock: the overlap checks read what the
 * changes before them wrote.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_imds.h"
#include "lv_vpc.h"

#define NET_PREFIX "cg-"

pthread_mutex_t lv_vpc_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- network XML -------------------------------------------------------- */

/* Dotted quad into host order.  0 or -1. */
static int parse_addr(const char *s, unsigned *out)
{
    cg_cidr c;
    char buf[32];

    snprintf(buf, sizeof(buf), "%s/32", s ? s : "");
    if (cg_cidr_parse(buf, &c) < 0)
        return -1;
    *out = c.addr;
    return 0;
}

/* The block of the first IPv4 <ip> of a network's XML.  0 or -1 (reported). */
static int block_of_xml(const char *xml, cg_cidr *out, cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, n;
    xmlChar *addr = NULL, *prefix = NULL, *netmask = NULL, *family = NULL;
    unsigned a = 0, mask = 0, bits = 0;
    int ret = -1;
    size_t len = strlen(xml);

    if (len > INT_MAX ||
        !(doc = xmlReadMemory(xml, (int)len, "network.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) ||
        !(root = xmlDocGetRootElement(doc))) {
        cg_error_set(err, CG_ERR_INTERNAL, "network XML is not well-formed");
        goto cleanup;
    }
    for (n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "ip") != 0)
            continue;
        family = xmlGetProp(n, BAD_CAST "family");
        if (family && xmlStrcmp(family, BAD_CAST "ipv4") != 0) {
            xmlFree(family);
            family = NULL;
            continue;
        }
        addr = xmlGetProp(n, BAD_CAST "address");
        prefix = xmlGetProp(n, BAD_CAST "prefix");
        netmask = xmlGetProp(n, BAD_CAST "netmask");
        break;
    }
    if (!addr || parse_addr((const char *)addr, &a) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "network has no IPv4 <ip address>");
        goto cleanup;
    }
    if (prefix) {
        bits = (unsigned)strtoul((const char *)prefix, NULL, 10);
    } else if (netmask && parse_addr((const char *)netmask, &mask) == 0) {
        while (bits < 32 && (mask & (0x80000000u >> bits)))
            bits++;
    } else {
        bits = 24; /* libvirt's own default for an address without either */
    }
    if (bits < 1 || bits > 30) {
        cg_error_set(err, CG_ERR_INTERNAL, "network has an unusable prefix /%u", bits);
        goto cleanup;
    }
    out->prefix = bits;
    out->addr = a & (0xffffffffu << (32 - bits));
    ret = 0;

cleanup:
    xmlFree(addr);
    xmlFree(prefix);
    xmlFree(netmask);
    xmlFree(family);
    xmlFreeDoc(doc);
    return ret;
}

/* The block of network name in zone h, as "a.b.c.d/n" into buf.  0 or -1. */
static int network_block(lv_host *h, const char *name, char *buf, size_t len, cg_error *err)
{
    virConnectPtr conn = lv_host_conn(h, err);
    virNetworkPtr net = NULL;
    char *xml = NULL;
    cg_cidr c;
    int ret = -1;

    if (!conn)
        return -1;
    if (!(net = virNetworkLookupByName(conn, name)) || !(xml = virNetworkGetXMLDesc(net, 0))) {
        lv_report(err, conn, CG_ERR_NOT_FOUND, "network %s", name);
        goto cleanup;
    }
    if (block_of_xml(xml, &c, err) < 0)
        goto cleanup;
    cg_cidr_format(&c, buf, len);
    ret = 0;

cleanup:
    free(xml);
    if (net)
        virNetworkFree(net);
    virConnectClose(conn);
    return ret;
}

/* Whether block meets the IPv4 block of a network libvirt has in any
 * reachable zone, ours or not: a VPC left by a killed gateway, libvirt's
 * "default", an operator's own.  libvirt would refuse to start a second
 * network on a routed block ("already in use by interface"); saying which
 * one is a clearer answer.  1 (reported as CG_ERR_CONFLICT) or 0. */
static int overlaps_zone_network(cg_drv *drv, const char *cidr, const cg_cidr *block, cg_error *err)
{
    virNetworkPtr *nets = NULL;
    virConnectPtr conn;
    cg_error ignored = {0};
    char *xml;
    cg_cidr other;
    size_t i;
    int j, n, found = 0;

    for (i = 0; i < drv->n_hosts && !found; i++) {
        if (!lv_host_available(drv->hosts[i]) || !(conn = lv_host_conn(drv->hosts[i], &ignored)))
            continue; /* network_add reports an unreachable zone */
        n = virConnectListAllNetworks(conn, &nets, 0);
        for (j = 0; j < n; j++) {
            if (!found && (xml = virNetworkGetXMLDesc(nets[j], VIR_NETWORK_XML_INACTIVE))) {
                if (block_of_xml(xml, &other, &ignored) == 0 && cg_cidr_overlap(block, &other)) {
                    char b[64];

                    cg_cidr_format(&other, b, sizeof(b));
                    cg_error_set(err, CG_ERR_CONFLICT,
                                 "The CIDR '%s' overlaps network %s's %s in zone %s", cidr,
                                 virNetworkGetName(nets[j]), b, lv_host_zone(drv->hosts[i]));
                    found = 1;
                }
                free(xml);
            }
            virNetworkFree(nets[j]);
        }
        free(nets);
        nets = NULL;
        virConnectClose(conn);
    }
    return found;
}

/* <network><name>NAME</name><ip address=GW prefix=N/></network>: no
 * <forward>, so isolated, unless nat (<forward mode='nat'/>: libvirt
 * masquerades the block behind the host); no <bridge>, so libvirt picks
 * the name.  Its DHCP gives guests a route to the metadata service
 * (lv_imds_net.c).  Malloc'd text or NULL. */
static char *vpc_network_xml(const char *name, const cg_cidr *block, int nat)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root, ip, opts, fwd;
    xmlNsPtr ns;
    xmlChar *text = NULL;
    char gw[32], prefix[8], route[128], *out = NULL;
    cg_cidr first = {block->addr + 1, 32};
    int len = 0;

    if (!doc || !(root = xmlNewNode(NULL, BAD_CAST "network")))
        goto cleanup;
    xmlDocSetRootElement(doc, root);
    cg_cidr_format(&first, gw, sizeof(gw));
    *strchr(gw, '/') = '\0';
    snprintf(prefix, sizeof(prefix), "%u", block->prefix);
    if (!xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST name) ||
        (nat && (!(fwd = xmlNewChild(root, NULL, BAD_CAST "forward", NULL)) ||
                 !xmlNewProp(fwd, BAD_CAST "mode", BAD_CAST "nat"))) ||
        !(ip = xmlNewChild(root, NULL, BAD_CAST "ip", NULL)) ||
        !xmlNewProp(ip, BAD_CAST "address", BAD_CAST gw) ||
        !xmlNewProp(ip, BAD_CAST "prefix", BAD_CAST prefix) ||
        lv_imds_dhcp_route(gw, route, sizeof(route)) < 0 ||
        !(ns = xmlNewNs(root, BAD_CAST "http://libvirt.org/schemas/network/dnsmasq/1.0",
                        BAD_CAST "dnsmasq")) ||
        !(opts = xmlNewChild(root, ns, BAD_CAST "options", NULL)) ||
        !(opts = xmlNewChild(opts, ns, BAD_CAST "option", NULL)) ||
        !xmlNewProp(opts, BAD_CAST "value", BAD_CAST route))
        goto cleanup;
    xmlDocDumpFormatMemory(doc, &text, &len, 0);
    if (text)
        out = strdup((const char *)text);

cleanup:
    xmlFree(text);
    xmlFreeDoc(doc);
    return out;
}

/* <range start=.. end=../> for a subnet: its addresses minus AWS's five
 * reserved ones (network, router, DNS, future, broadcast). */
static void range_xml(const cg_cidr *c, char *buf, size_t len)
{
    unsigned size = 1u << (32 - c->prefix);
    cg_cidr lo = {c->addr + 4, 32}, hi = {c->addr + size - 2, 32};
    char a[32], b[32];

    cg_cidr_format(&lo, a, sizeof(a));
    cg_cidr_format(&hi, b, sizeof(b));
    *strchr(a, '/') = '\0';
    *strchr(b, '/') = '\0';
    snprintf(buf, len, "<range start='%s' end='%s'/>", a, b);
}

/* Remove network name from conn (destroy, undefine); gone already is fine. */
static int network_remove(virConnectPtr conn, const char *name, cg_error *err)
{
    virNetworkPtr net = virNetworkLookupByName(conn, name);
    int ret = 0;

    if (!net)
        return 0;
    if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0)
        ret = -1;
    if (ret == 0 && virNetworkUndefine(net) < 0)
        ret = -1;
    if (ret < 0)
        lv_report(err, conn, CG_ERR_INTERNAL, "remove network %s", name);
    virNetworkFree(net);
    return ret;
}

/* Define, start and autostart network xml (called name) in zone h.  On
 * failure nothing of it stays.  0 or -1. */
static int network_add(lv_host *h, const char *name, const char *xml, cg_error *err)
{
    virConnectPtr conn = lv_host_conn(h, err);
    virNetworkPtr net = NULL;
    int ret = -1;

    if (!conn)
        return -1;
    if (!(net = virNetworkDefineXML(conn, xml)) || virNetworkCreate(net) < 0 ||
        virNetworkSetAutostart(net, 1) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "network %s in zone %s", name, lv_host_zone(h));
        if (net)
            network_remove(conn, name, NULL);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (net)
        virNetworkFree(net);
    virConnectClose(conn);
    return ret;
}

/* Remove network name from zones 0..n-1 (a rollback: failures logged). */
static void network_remove_from(cg_drv *drv, const char *name, size_t n)
{
    cg_error err = {0};
    virConnectPtr conn;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!(conn = lv_host_conn(drv->hosts[i], &err)) || network_remove(conn, name, &err) < 0)
            cg_warn("network %s in zone %s stays: %s", name, lv_host_zone(drv->hosts[i]),
                    err.message);
        if (conn)
            virConnectClose(conn);
    }
}

/* Add (add 1) or delete the DHCP range of block in network name of zone h,
 * live and in its definition.  0 or -1. */
static int range_update(lv_host *h, const char *name, const cg_cidr *block, int add,
                        cg_error *err)
{
    virConnectPtr conn = lv_host_conn(h, err);
    virNetworkPtr net = NULL;
    char xml[128];
    int ret = -1;

    if (!conn)
        return -1;
    range_xml(block, xml, sizeof(xml));
    if (!(net = virNetworkLookupByName(conn, name)) ||
        virNetworkUpdate(net, add ? VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
                                  : VIR_NETWORK_UPDATE_COMMAND_DELETE,
                         VIR_NETWORK_SECTION_IP_DHCP_RANGE, -1, xml,
                         VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "%s DHCP range of %s in zone %s",
                  add ? "add" : "delete", name, lv_host_zone(h));
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (net)
        virNetworkFree(net);
    virConnectClose(conn);
    return ret;
}

/* ---- listing ------------------------------------------------------------ */

/* The first reachable zone's block of the default network into buf ("" when
 * none can be read: the VPC still lists). */
static void default_block(cg_drv *drv, const char *zone, char *buf, size_t len)
{
    cg_error err = {0};
    size_t i;

    buf[0] = '\0';
    for (i = 0; i < drv->n_hosts && !buf[0]; i++) {
        if ((zone && strcmp(lv_host_zone(drv->hosts[i]), zone) != 0) ||
            !lv_host_available(drv->hosts[i]))
            continue;
        if (network_block(drv->hosts[i], drv->cfg->network ? drv->cfg->network : "", buf, len,
                          &err) < 0) {
            cg_debug("default vpc: %s", err.message);
            buf[0] = '\0';
        }
    }
}

int lv_vpc_list(cg_drv *drv, cg_vpc_list *out, cg_error *err)
{
    size_t i;

    if (lv_netstate_vpcs(drv->state, out, err) < 0)
        return -1;
    for (i = 0; i < out->n; i++) {
        if (out->v[i].is_default)
            default_block(drv, NULL, out->v[i].cidr, sizeof(out->v[i].cidr));
    }
    return 0;
}

/* Addresses in use in subnet s: its instances that are not terminated. */
static unsigned long long addresses_used(const cg_subnet *s, const cg_instance_list *insts)
{
    unsigned long long n = 0;
    size_t i;

    for (i = 0; i < insts->n; i++) {
        if (insts->v[i].state != CG_STATE_TERMINATED && strcmp(insts->v[i].subnet_id, s->id) == 0)
            n++;
    }
    return n;
}

int lv_subnet_list(cg_drv *drv, cg_subnet_list *out, cg_error *err)
{
    cg_instance_list insts = {0};
    cg_cidr c;
    unsigned long long used, size;
    size_t i;
    int ret = -1;

    if (lv_netstate_subnets(drv->state, out, err) < 0 ||
        lv_driver.instance_list(drv, &insts, err) < 0)
        goto cleanup;
    for (i = 0; i < out->n; i++) {
        cg_subnet *s = &out->v[i];

        if (s->default_for_az)
            default_block(drv, s->zone, s->cidr, sizeof(s->cidr));
        used = addresses_used(s, &insts);
        if (cg_cidr_parse(s->cidr, &c) == 0) {
            size = 1ULL << (32 - c.prefix);
            s->available_ips = size > 5 + (unsigned long long)used ? size - 5 - used : 0;
        }
    }
    ret = 0;

cleanup:
    cg_instance_list_release(&insts);
    if (ret < 0)
        cg_subnet_list_release(out);
    return ret;
}

/* ---- VPCs --------------------------------------------------------------- */

/* The intent name of network in zone h: "NETWORK@ZONE" (one per zone). */
static void intent_name(const char *network, lv_host *h, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%s", network, lv_host_zone(h));
}

/* Find id in list: its index, or -1 with CG_ERR_NOT_FOUND reported. */
static long find_vpc(const cg_vpc_list *l, const char *id, cg_error *err)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].id, id) == 0)
            return (long)i;
    }
    cg_error_set(err, CG_ERR_NOT_FOUND, "The vpc ID '%s' does not exist", id);
    return -1;
}

int lv_vpc_create(cg_drv *drv, const char *cidr, const cg_tags *tags, cg_vpc *out,
                  cg_error *err)
{
    cg_vpc_list l = {0};
    cg_vpc vpc = {0};
    cg_cidr block, other;
    char *xml = NULL, name[320];
    size_t i, made = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (cg_cidr_parse(cidr, &block) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "'%s' is not a CIDR block", cidr);
        return -1;
    }
    pthread_mutex_lock(&lv_vpc_lock);
    if (lv_vpc_list(drv, &l, err) < 0)
        goto cleanup;
    /* Every VPC's network is routed on the same hosts: blocks must not meet. */
    for (i = 0; i < l.n; i++) {
        if (cg_cidr_parse(l.v[i].cidr, &other) == 0 && cg_cidr_overlap(&block, &other)) {
            cg_error_set(err, CG_ERR_CONFLICT, "The CIDR '%s' overlaps %s's %s", cidr,
                         l.v[i].id, l.v[i].cidr);
            goto cleanup;
        }
    }
    if (overlaps_zone_network(drv, cidr, &block, err))
        goto cleanup;
    cg_new_id(vpc.id, sizeof(vpc.id), "vpc-");
    snprintf(vpc.network, sizeof(vpc.network), NET_PREFIX "%s", vpc.id);
    cg_cidr_format(&block, vpc.cidr, sizeof(vpc.cidr));
    snprintf(vpc.state, sizeof(vpc.state), "available");
    if ((tags && cg_tags_copy(&vpc.tags, tags) < 0) ||
        !(xml = vpc_network_xml(vpc.network, &block,
                                      drv->cfg->vpc_forward &&
                                      !strcmp(drv->cfg->vpc_forward, "nat")))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    /* All zones or none: a VPC spans them all.  Each network is announced
     * first (an intent), so a crash before the row leaves nothing a start
     * cannot find: lv_vpc_fix_intent removes it. */
    for (made = 0; made < drv->n_hosts; made++) {
        intent_name(vpc.network, drv->hosts[made], name, sizeof(name));
        if (lv_intent_add(drv->state, LV_INTENT_VPC, name, lv_host_zone(drv->hosts[made]),
                          vpc.network, err) < 0)
            goto cleanup;
        if (network_add(drv->hosts[made], vpc.network, xml, err) < 0) {
            lv_intent_done(drv->state, name);
            goto cleanup;
        }
    }
    if (lv_netstate_vpc_add(drv->state, &vpc, err) < 0)
        goto cleanup;
    cg_info("vpc %s: network %s, %s", vpc.id, vpc.network, vpc.cidr);
    *out = vpc;
    memset(&vpc, 0, sizeof(vpc));
    ret = 0;

cleanup:
    if (ret < 0 && made)
        network_remove_from(drv, vpc.network, made);
    for (i = 0; i < made; i++) {
        intent_name(vpc.network, drv->hosts[i], name, sizeof(name));
        lv_intent_done(drv->state, name);
    }
    pthread_mutex_unlock(&lv_vpc_lock);
    free(xml);
    cg_tags_release(&vpc.tags);
    cg_vpc_list_release(&l);
    return ret;
}

int lv_vpc_delete(cg_drv *drv, const char *vpc_id, cg_error *err)
{
    cg_vpc_list l = {0};
    virConnectPtr conn = NULL;
    char name[320];
    long at = -1;
    size_t i, announced = 0;
    int n, ret = -1;

    pthread_mutex_lock(&lv_vpc_lock);
    if (lv_netstate_vpcs(drv->state, &l, err) < 0 || (at = find_vpc(&l, vpc_id, err)) < 0)
        goto cleanup;
    if (l.v[at].is_default) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "The default VPC '%s' is the gateway's configured "
                     "network and cannot be deleted here", vpc_id);
        goto cleanup;
    }
    /* Every zone reachable first, so that the networks go everywhere or nowhere. */
    for (i = 0; i < drv->n_hosts; i++) {
        if (!lv_host_available(drv->hosts[i])) {
            cg_error_set(err, CG_ERR_UNAVAILABLE, "zone %s is unreachable",
                         lv_host_zone(drv->hosts[i]));
            goto cleanup;
        }
    }
    /* Announced first: were the process to die once the row is gone, the
     * next start removes what is left (lv_vpc_fix_intent). */
    for (i = 0; i < drv->n_hosts; i++) {
        intent_name(l.v[at].network, drv->hosts[i], name, sizeof(name));
        if (lv_intent_add(drv->state, LV_INTENT_VPC, name, lv_host_zone(drv->hosts[i]),
                          l.v[at].network, err) < 0)
            goto cleanup;
        announced = i + 1;
    }
    if ((n = lv_netstate_vpc_delete(drv->state, vpc_id, err)) < 0)
        goto cleanup;
    if (n == 0) {
        cg_error_set(err, CG_ERR_CONFLICT, "The vpc '%s' has dependencies and cannot be deleted.",
                     vpc_id);
        goto cleanup;
    }
    for (i = 0; i < drv->n_hosts; i++) {
        cg_error gone = {0};

        /* The row is gone: a network that stays keeps its intent for the
         * next start to remove. */
        if (!(conn = lv_host_conn(drv->hosts[i], &gone)) ||
            network_remove(conn, l.v[at].network, &gone) < 0) {
            cg_warn("vpc %s deleted; its network stays in zone %s until the next start: %s",
                    vpc_id, lv_host_zone(drv->hosts[i]), gone.message);
        } else {
            intent_name(l.v[at].network, drv->hosts[i], name, sizeof(name));
            lv_intent_done(drv->state, name);
        }
        if (conn)
            virConnectClose(conn);
        conn = NULL;
    }
    announced = 0;
    cg_info("vpc %s deleted", vpc_id);
    ret = 0;

cleanup:
    for (i = 0; i < announced; i++) {
        intent_name(l.v[at].network, drv->hosts[i], name, sizeof(name));
        lv_intent_done(drv->state, name);
    }
    pthread_mutex_unlock(&lv_vpc_lock);
    cg_vpc_list_release(&l);
    return ret;
}

/* ---- subnets ------------------------------------------------------------ */

int lv_subnet_create(cg_drv *drv, const cg_subnet_spec *spec, cg_subnet *out, cg_error *err)
{
    cg_vpc_list vpcs = {0};
    cg_subnet_list subs = {0};
    cg_subnet sub = {0};
    cg_cidr block, vblock, other;
    lv_host *h;
    long at;
    size_t i;
    int ranged = 0, ret = -1;

    memset(out, 0, sizeof(*out));
    if (cg_cidr_parse(spec->cidr, &block) < 0) {
        cg_error_set(err, CG_ERR_INVALID, "'%s' is not a CIDR block", spec->cidr);
        return -1;
    }
    pthread_mutex_lock(&lv_vpc_lock);
    if (!(h = lv_drv_pick_zone(drv, spec->zone, err)) || lv_vpc_list(drv, &vpcs, err) < 0 ||
        (at = find_vpc(&vpcs, spec->vpc_id, err)) < 0 || lv_subnet_list(drv, &subs, err) < 0)
        goto cleanup;
    if (cg_cidr_parse(vpcs.v[at].cidr, &vblock) < 0 || !cg_cidr_contains(&vblock, &block)) {
        cg_error_set(err, CG_ERR_INVALID, "The CIDR '%s' is invalid for the VPC %s (%s).",
                     spec->cidr, spec->vpc_id, vpcs.v[at].cidr);
        goto cleanup;
    }
    for (i = 0; i < subs.n; i++) {
        if (strcmp(subs.v[i].vpc_id, spec->vpc_id) == 0 &&
            cg_cidr_parse(subs.v[i].cidr, &other) == 0 && cg_cidr_overlap(&block, &other)) {
            cg_error_set(err, CG_ERR_CONFLICT, "The CIDR '%s' conflicts with another subnet",
                         spec->cidr);
            goto cleanup;
        }
    }
    cg_new_id(sub.id, sizeof(sub.id), "subnet-");
    snprintf(sub.vpc_id, sizeof(sub.vpc_id), "%s", spec->vpc_id);
    cg_cidr_format(&block, sub.cidr, sizeof(sub.cidr));
    snprintf(sub.zone, sizeof(sub.zone), "%s", lv_host_zone(h));
    snprintf(sub.state, sizeof(sub.state), "available");
    sub.available_ips = (1ULL << (32 - block.prefix)) - 5;
    if (spec->tags && cg_tags_copy(&sub.tags, spec->tags) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (range_update(h, vpcs.v[at].network, &block, 1, err) < 0)
        goto cleanup;
    ranged = 1;
    if (lv_netstate_subnet_add(drv->state, &sub, err) < 0)
        goto cleanup;
    cg_info("subnet %s: %s in %s, zone %s", sub.id, sub.cidr, sub.vpc_id, sub.zone);
    *out = sub;
    memset(&sub, 0, sizeof(sub));
    ret = 0;

cleanup:
    if (ret < 0 && ranged) {
        cg_error undo = {0};

        if (range_update(h, vpcs.v[at].network, &block, 0, &undo) < 0)
            cg_warn("subnet %s: DHCP range stays: %s", sub.id, undo.message);
    }
    pthread_mutex_unlock(&lv_vpc_lock);
    cg_tags_release(&sub.tags);
    cg_subnet_list_release(&subs);
    cg_vpc_list_release(&vpcs);
    return ret;
}

int lv_subnet_delete(cg_drv *drv, const char *subnet_id, cg_error *err)
{
    cg_instance_list insts = {0};
    cg_vpc_list vpcs = {0};
    cg_subnet_list subs = {0};
    const cg_subnet *s = NULL;
    cg_cidr block;
    lv_host *h;
    long at;
    size_t i;
    int n, ret = -1;

    pthread_mutex_lock(&lv_vpc_lock);
    if (lv_netstate_vpcs(drv->state, &vpcs, err) < 0 ||
        lv_netstate_subnets(drv->state, &subs, err) < 0)
        goto cleanup;
    for (i = 0; i < subs.n && !s; i++)
        s = strcmp(subs.v[i].id, subnet_id) == 0 ? &subs.v[i] : NULL;
    if (!s) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "The subnet ID '%s' does not exist", subnet_id);
        goto cleanup;
    }
    if (s->default_for_az) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "The default subnet '%s' of zone %s cannot be "
                     "deleted here", subnet_id, s->zone);
        goto cleanup;
    }
    if ((at = find_vpc(&vpcs, s->vpc_id, err)) < 0 || cg_cidr_parse(s->cidr, &block) < 0)
        goto cleanup;
    if (!(h = lv_drv_find_zone(drv, s->zone)) || !lv_host_available(h)) {
        cg_error_set(err, CG_ERR_UNAVAILABLE, "zone %s is unreachable", s->zone);
        goto cleanup;
    }
    /* NICs of terminated instances hold nothing; the others are dependencies. */
    if (lv_driver.instance_list(drv, &insts, err) < 0 ||
        lv_netstate_nic_prune(drv->state, subnet_id, &insts, err) < 0 ||
        (n = lv_netstate_subnet_delete(drv->state, subnet_id, err)) < 0)
        goto cleanup;
    if (n == 0) {
        cg_error_set(err, CG_ERR_CONFLICT, "The subnet '%s' has dependencies and cannot be "
                     "deleted.", subnet_id);
        goto cleanup;
    }
    /* The row is gone and nothing can launch into it: a range left behind
     * serves no one (logged). */
    if (range_update(h, vpcs.v[at].network, &block, 0, err) < 0)
        cg_warn("subnet %s deleted; its DHCP range stays: %s", subnet_id, err->message);
    cg_error_clear(err);
    ret = 0;

cleanup:
    pthread_mutex_unlock(&lv_vpc_lock);
    cg_instance_list_release(&insts);
    cg_subnet_list_release(&subs);
    cg_vpc_list_release(&vpcs);
    return ret;
}

/* ---- reconcile ---------------------------------------------------------- */

int lv_vpc_fix_intent(cg_drv *drv, virConnectPtr conn, const char *network)
{
    cg_vpc_list l = {0};
    cg_error err = {0};
    size_t j;
    int ret = -1;

    if (lv_netstate_vpcs(drv->state, &l, &err) < 0) {
        cg_warn("reconcile: vpc network %s: %s", network, err.message);
        goto cleanup;
    }
    for (j = 0; j < l.n && strcmp(l.v[j].network, network) != 0; j++)
        ;
    /* Made by a create that never recorded it: never shown to anyone. */
    if (j == l.n) {
        if (network_remove(conn, network, &err) < 0) {
            cg_warn("reconcile: network %s: %s", network, err.message);
            goto cleanup;
        }
        cg_info("reconcile: removed network %s (its vpc was never recorded)", network);
    }
    ret = 0;

cleanup:
    cg_vpc_list_release(&l);
    return ret;
}

void lv_vpc_reconcile_zone(cg_drv *drv, lv_host *h, virConnectPtr conn)
{
    cg_vpc_list l = {0};
    cg_error err = {0};
    virNetworkPtr net;
    size_t j;

    /* The configured count: a zone's thread reconciles as soon as it
     * connects, possibly before the driver has counted its host. */
    if (drv->cfg->n_zones != 1)
        return; /* a zone added since may lack a network: not a deleted VPC */
    if (lv_netstate_vpcs(drv->state, &l, &err) < 0) {
        cg_warn("reconcile vpcs in zone %s: %s", lv_host_zone(h), err.message);
        return;
    }
    for (j = 0; j < l.n; j++) {
        if (l.v[j].is_default)
            continue;
        if ((net = virNetworkLookupByName(conn, l.v[j].network))) {
            virNetworkFree(net);
            continue;
        }
        if (lv_last_error_code() != VIR_ERR_NO_NETWORK)
            continue; /* unknown: judge nothing */
        /* libvirt says the network is gone, so the VPC is, with its
         * subnets (no instance can use them without the network). */
        if (lv_netstate_vpc_forget(drv->state, l.v[j].id, &err) == 0)
            cg_info("reconcile: removed vpc %s (its network %s is gone)", l.v[j].id,
                    l.v[j].network);
    }
    virResetLastError();
    cg_vpc_list_release(&l);
}
