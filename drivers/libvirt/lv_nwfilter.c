/* cloudgate libvirt driver: security groups as libvirt nwfilters
 * (lv_nwfilter.h).
 *
 * The XML is built with libxml2's tree (a description can never become
 * markup).  Rules are state-tracked: a group rule accepts NEW connections,
 * the NIC filter accepts ESTABLISHED,RELATED both ways (libvirt's defaults
 * would drop RELATED ICMP and cut flows when a rule goes) and drops the
 * rest.
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
#include "lv_driver.h"
#include "lv_nwfilter.h"
#include "lv_sg_guard.h"

/* Rule priorities in the root chain the NIC filter flattens into (lower
 * first): state, then groups' accepts, then the final drop. */
#define PRIO_STATE "100"
#define PRIO_GROUP "500"
#define PRIO_DROP "1000"

void lv_nwfilter_group_name(const char *group_id, char *buf, size_t len)
{
    snprintf(buf, len, LV_NWFILTER_GROUP "%s", group_id);
}

unsigned long long lv_nwfilter_mix(unsigned long long h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ids[0..n) sorted into out (n <= CG_INSTANCE_GROUPS_MAX): the groups'
 * order does not change what a NIC lets in, so it does not name a filter. */
static size_t sorted_ids(const char *const *ids, size_t n, const char **out)
{
    size_t i;

    if (n > CG_INSTANCE_GROUPS_MAX)
        n = CG_INSTANCE_GROUPS_MAX;
    for (i = 0; i < n; i++)
        out[i] = ids[i];
    qsort(out, n, sizeof(*out), cmp_str);
    return n;
}

void lv_nwfilter_nic_name(const char *const *group_ids, size_t n, char *buf, size_t len)
{
    const char *ids[CG_INSTANCE_GROUPS_MAX];
    unsigned long long h = 14695981039346656037ULL;
    size_t i;

    n = sorted_ids(group_ids, n, ids);
    for (i = 0; i < n; i++)
        h = lv_nwfilter_mix(h, ids[i]);
    snprintf(buf, len, LV_NWFILTER_NICS "%016llx", h);
}

int lv_nwfilter_is_nic(const char *name)
{
    return name && (strncmp(name, LV_NWFILTER_NICS, strlen(LV_NWFILTER_NICS)) == 0 ||
                    strncmp(name, LV_NWFILTER_NIC, strlen(LV_NWFILTER_NIC)) == 0);
}

int lv_nwfilter_rule_by_set(const cg_sg_rule *r)
{
    /* libvirt 9.0 keeps ipset= only on <all>: on <tcp>, <udp> or <icmp>
     * it drops it without a word, and the rule would accept anyone. */
    return r->group[0] && strcmp(r->protocol, "-1") == 0;
}

/* The filter document's text, malloc'd (doc freed), or NULL (reported). */
static char *finish(xmlDocPtr doc, int ok, cg_error *err)
{
    xmlChar *text = NULL;
    char *out = NULL;
    int len = 0;

    if (ok)
        xmlDocDumpFormatMemory(doc, &text, &len, 1);
    if (text)
        out = strdup((const char *)text);
    if (!out)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory building a network filter");
    xmlFree(text);
    xmlFreeDoc(doc);
    return out;
}

/* <filter name=NAME chain='root'>, as doc's root: it, or NULL. */
static xmlNodePtr new_filter(xmlDocPtr doc, const char *name)
{
    xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST "filter") : NULL;

    if (!root)
        return NULL;
    xmlDocSetRootElement(doc, root);
    if (!xmlNewProp(root, BAD_CAST "name", BAD_CAST name) ||
        !xmlNewProp(root, BAD_CAST "chain", BAD_CAST "root"))
        return NULL;
    return root;
}

/* <rule action= direction= priority=><PROTO .../></rule>: the protocol
 * element, or NULL. */
static xmlNodePtr new_rule(xmlNodePtr parent, const char *action, const char *direction,
                           const char *priority, const char *proto)
{
    xmlNodePtr rule = xmlNewChild(parent, NULL, BAD_CAST "rule", NULL);

    if (!rule || !xmlNewProp(rule, BAD_CAST "action", BAD_CAST action) ||
        !xmlNewProp(rule, BAD_CAST "direction", BAD_CAST direction) ||
        !xmlNewProp(rule, BAD_CAST "priority", BAD_CAST priority))
        return NULL;
    return xmlNewChild(rule, NULL, BAD_CAST proto, NULL);
}

static int set_int(xmlNodePtr n, const char *name, int v)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "%d", v);
    return xmlNewProp(n, BAD_CAST name, BAD_CAST buf) ? 0 : -1;
}

/* One accept rule of r with the peer block addr/prefix ("1.2.3.4", "32"),
 * or (set not NULL) the peers in the ipset set. */
static int add_accept(xmlNodePtr root, const cg_sg_rule *r, const char *addr, const char *prefix,
                      const char *set)
{
    const char *proto = strcmp(r->protocol, "-1") == 0 ? "all" : r->protocol;
    xmlNodePtr p = new_rule(root, "accept", r->egress ? "out" : "in", PRIO_GROUP, proto);

    if (!p)
        return -1;
    /* Ingress matches where a packet comes from, egress where it goes. */
    if (set && (!xmlNewProp(p, BAD_CAST "ipset", BAD_CAST set) ||
                !xmlNewProp(p, BAD_CAST "ipsetflags", BAD_CAST(r->egress ? "dst" : "src"))))
        return -1;
    if (!set && strcmp(prefix, "0") != 0 &&
        (!xmlNewProp(p, BAD_CAST(r->egress ? "dstipaddr" : "srcipaddr"), BAD_CAST addr) ||
         !xmlNewProp(p, BAD_CAST(r->egress ? "dstipmask" : "srcipmask"), BAD_CAST prefix)))
        return -1;
    if ((strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0) &&
        (set_int(p, "dstportstart", r->from_port) < 0 ||
         set_int(p, "dstportend", r->to_port) < 0))
        return -1;
    /* icmp: FromPort is the type, ToPort the code; -1 is any. */
    if (strcmp(proto, "icmp") == 0 &&
        ((r->from_port >= 0 && set_int(p, "type", r->from_port) < 0) ||
         (r->from_port >= 0 && r->to_port >= 0 && set_int(p, "code", r->to_port) < 0)))
        return -1;
    return xmlNewProp(p, BAD_CAST "state", BAD_CAST "NEW") ? 0 : -1;
}

/* The accept rules of r: one for its CIDR, one for its source group's set
 * (by_set), or one per member of its source group.  0 or -1. */
static int add_rule(xmlNodePtr root, const cg_sg_rule *r, const lv_sg_peers *peers, size_t n_peers,
                    int by_set)
{
    char addr[48], *slash, set[64];
    size_t i, j;

    if (r->cidr[0]) {
        snprintf(addr, sizeof(addr), "%s", r->cidr);
        if (!(slash = strchr(addr, '/')))
            return -1;
        *slash = '\0';
        return add_accept(root, r, addr, slash + 1, NULL);
    }
    if (by_set && lv_nwfilter_rule_by_set(r)) {
        lv_nwfilter_group_name(r->group, set, sizeof(set));
        return add_accept(root, r, NULL, "32", set);
    }
    for (i = 0; i < n_peers; i++) {
        if (strcmp(peers[i].group_id, r->group) != 0)
            continue;
        for (j = 0; j < peers[i].n; j++) {
            if (add_accept(root, r, peers[i].ips[j], "32", NULL) < 0)
                return -1;
        }
    }
    return 0;
}

char *lv_nwfilter_group_xml(const cg_sg *g, const lv_sg_peers *peers, size_t n_peers, int by_set,
                            cg_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root;
    char name[64];
    size_t i;
    int ok = 0;

    lv_nwfilter_group_name(g->id, name, sizeof(name));
    if (!(root = new_filter(doc, name)))
        goto cleanup;
    for (i = 0; i < g->n_rules; i++) {
        if (add_rule(root, &g->rules[i], peers, n_peers, by_set) < 0)
            goto cleanup;
    }
    ok = 1;

cleanup:
    return finish(doc, ok, err);
}

/* <filterref filter=NAME>, with IP and MAC passed on when param (the
 * NIC's own variables reach referenced filters without it). */
static int add_ref(xmlNodePtr root, const char *name)
{
    xmlNodePtr ref = xmlNewChild(root, NULL, BAD_CAST "filterref", NULL);

    return ref && xmlNewProp(ref, BAD_CAST "filter", BAD_CAST name) ? 0 : -1;
}

char *lv_nwfilter_nic_xml(const char *const *group_ids, size_t n, int anti_spoofing, cg_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root, p;
    const char *ids[CG_INSTANCE_GROUPS_MAX];
    char name[64];
    size_t i;
    int ok = 0;

    lv_nwfilter_nic_name(group_ids, n, name, sizeof(name));
    n = sorted_ids(group_ids, n, ids);
    /* clean-traffic: the guest keeps its own MAC and IP ($MAC, $IP). */
    if (!(root = new_filter(doc, name)) || (anti_spoofing && add_ref(root, "clean-traffic") < 0))
        goto cleanup;
    for (i = 0; i < n; i++) {
        lv_nwfilter_group_name(ids[i], name, sizeof(name));
        if (add_ref(root, name) < 0)
            goto cleanup;
    }
    if (!(p = new_rule(root, "accept", "inout", PRIO_STATE, "all")) ||
        !xmlNewProp(p, BAD_CAST "state", BAD_CAST "ESTABLISHED,RELATED"))
        goto cleanup;
    /* The guest's DHCP requests, whatever its egress rules say. */
    if (!(p = new_rule(root, "accept", "out", PRIO_STATE, "udp")) ||
        set_int(p, "dstportstart", 67) < 0 || set_int(p, "dstportend", 67) < 0)
        goto cleanup;
    if (!new_rule(root, "drop", "inout", PRIO_DROP, "all"))
        goto cleanup;
    ok = 1;

cleanup:
    return finish(doc, ok, err);
}

int lv_nwfilter_nic_groups(const char *xml, char (*ids)[32], size_t max)
{
    size_t len = xml ? strlen(xml) : 0, n = 0, plen = strlen(LV_NWFILTER_GROUP);
    xmlDocPtr doc = len && len < INT_MAX
                        ? xmlReadMemory(xml, (int)len, "nwfilter.xml", NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                        : NULL;
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, c;
    xmlChar *name;
    int ret = root ? 0 : -1;

    for (c = root ? root->children : NULL; c && ret == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "filterref"))
            continue;
        name = xmlGetProp(c, BAD_CAST "filter");
        if (name && strncmp((const char *)name, LV_NWFILTER_GROUP, plen) == 0) {
            if (n < max && strlen((const char *)name + plen) < sizeof(ids[0]))
                snprintf(ids[n++], sizeof(ids[0]), "%s", (const char *)name + plen);
            else
                ret = -1;
        }
        xmlFree(name);
    }
    xmlFreeDoc(doc);
    return ret < 0 ? -1 : (int)n;
}

/* ---- libvirt calls -------------------------------------------------------- */

/* libvirt's test:// driver has no nwfilter at all: there, and only there,
 * a filter call is skipped so the EC2 bookkeeping stays testable.  A real
 * driver's failure is always reported. */
static int no_nwfilter(virConnectPtr conn)
{
    return lv_conn_is_test(conn);
}

/* xml with <uuid> of the filter already defined under its name inserted
 * first (libvirt refuses a redefinition without it), or a copy of xml;
 * *existed says which. */
static char *with_uuid(virConnectPtr conn, const char *xml, int *existed, cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, u;
    xmlChar *name = NULL;
    virNWFilterPtr old = NULL;
    char uuid[VIR_UUID_STRING_BUFLEN];
    size_t len = strlen(xml);
    char *out = NULL;

    if (len > INT_MAX ||
        !(doc = xmlReadMemory(xml, (int)len, "nwfilter.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) ||
        !(root = xmlDocGetRootElement(doc)) || !(name = xmlGetProp(root, BAD_CAST "name"))) {
        cg_error_set(err, CG_ERR_INTERNAL, "network filter XML is not well-formed");
        xmlFreeDoc(doc);
        goto cleanup;
    }
    old = virNWFilterLookupByName(conn, (const char *)name);
    *existed = old != NULL;
    if (old && virNWFilterGetUUIDString(old, uuid) == 0 &&
        (u = xmlNewNode(NULL, BAD_CAST "uuid"))) {
        xmlNodeSetContent(u, BAD_CAST uuid);
        if (root->children)
            xmlAddPrevSibling(root->children, u);
        else
            xmlAddChild(root, u);
    }
    out = finish(doc, 1, err);

cleanup:
    if (old)
        virNWFilterFree(old);
    virResetLastError();
    xmlFree(name);
    return out;
}

int lv_nwfilter_has_clean_traffic(virConnectPtr conn)
{
    return lv_nwfilter_exists(conn, "clean-traffic");
}

int lv_nwfilter_exists(virConnectPtr conn, const char *name)
{
    virNWFilterPtr f = virNWFilterLookupByName(conn, name);

    if (!f) {
        virResetLastError();
        return 0;
    }
    virNWFilterFree(f);
    return 1;
}

/* libvirt re-links the NICs' chains while it applies a filter: the guard
 * drops what falls past them meanwhile (lv_sg_guard.h). */
static void refresh_guard(virConnectPtr conn)
{
    cg_error err = {0};

    if (lv_sg_guard_refresh(conn, &err) < 0)
        cg_warn("security group guard not refreshed (a rule change may pass traffic "
                "for a moment): %s", err.message);
}

/* lv_nwfilter_define; with guard, the guard is refreshed first when the
 * filter exists already.  A filter defined for the first time is on no
 * NIC: libvirt re-applies nothing (a launch's NIC filter; the upkeep adds
 * the NIC to the guard when its domain starts), and the refresh would
 * only wait for iptables' lock behind libvirt's own commands. */
static int define_filter(virConnectPtr conn, const char *xml, int guard, cg_error *err)
{
    virNWFilterPtr f = NULL;
    char *full = NULL;
    int existed = 0, ret = -1;

    if (!(full = with_uuid(conn, xml, &existed, err)))
        goto cleanup;
    if (guard && existed)
        refresh_guard(conn);
    if (!(f = virNWFilterDefineXML(conn, full))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "define network filter");
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (f)
        virNWFilterFree(f);
    free(full);
    return ret;
}

int lv_nwfilter_define(virConnectPtr conn, const char *xml, cg_error *err)
{
    if (no_nwfilter(conn))
        return 1;
    return define_filter(conn, xml, 1, err);
}

int lv_nwfilter_undefine(virConnectPtr conn, const char *name, cg_error *err)
{
    virNWFilterPtr f;
    int ret = 0;

    if (no_nwfilter(conn))
        return 1;
    if (!(f = virNWFilterLookupByName(conn, name))) {
        virResetLastError();
        return 0;
    }
    if (virNWFilterUndefine(f) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "undefine network filter %s", name);
        ret = -1;
    }
    virNWFilterFree(f);
    return ret;
}

/* The guard on host's machine, refreshed before its filters are defined. */
static void guard_host(lv_host *host)
{
    cg_error err = {0};
    virConnectPtr conn = lv_host_conn(host, &err);

    if (!conn)
        return;     /* its defines fail (or are skipped) below */
    if (!no_nwfilter(conn))
        refresh_guard(conn);
    virConnectClose(conn);
}

/* One define of one filter in one zone, run on its own thread. */
typedef struct define_job {
    lv_host *host;
    const char *xml;
    pthread_t thread;
    int threaded;
    cg_error err;
    int rc;
    int unreachable;            /* no connection to its zone */
} define_job;

static void *define_one(void *arg)
{
    define_job *j = arg;
    virConnectPtr conn = lv_host_conn(j->host, &j->err);

    j->unreachable = !conn && j->err.kind == CG_ERR_UNAVAILABLE;
    j->rc = !conn ? -1 : no_nwfilter(conn) ? 1 : define_filter(conn, j->xml, 0, &j->err);
    if (conn)
        virConnectClose(conn);
    return NULL;
}

int lv_nwfilter_define_all(cg_drv *drv, char *const *xmls, size_t n, int skip_unreachable,
                           size_t *skipped, cg_error *err)
{
    size_t total = n * drv->n_hosts, i;
    define_job *jobs = total ? calloc(total, sizeof(*jobs)) : NULL;
    int ret = 0;

    if (total && !jobs) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    /* Once per host, not per filter: the defines below run in parallel. */
    for (i = 0; n && i < drv->n_hosts; i++)
        guard_host(drv->hosts[i]);
    for (i = 0; i < total; i++) {
        jobs[i].host = drv->hosts[i % drv->n_hosts];
        jobs[i].xml = xmls[i / drv->n_hosts];
        /* libvirt blocks each define until its NICs are re-applied: the
         * filters go in parallel, each on its own thread (inline when no
         * thread can be made). */
        jobs[i].threaded = pthread_create(&jobs[i].thread, NULL, define_one, &jobs[i]) == 0;
        if (!jobs[i].threaded)
            define_one(&jobs[i]);
    }
    for (i = 0; i < total; i++) {
        if (jobs[i].threaded)
            pthread_join(jobs[i].thread, NULL);
        if (jobs[i].rc < 0 && skip_unreachable && jobs[i].unreachable) {
            cg_warn("network filter left for later: %s", jobs[i].err.message);
            if (skipped)
                (*skipped)++;
            continue;
        }
        if (jobs[i].rc < 0 && ret == 0) {
            cg_error_set(err, jobs[i].err.kind, "%s", jobs[i].err.message);
            ret = -1;
        }
    }
    free(jobs);
    return ret;
}

int lv_nwfilter_undefine_all(cg_drv *drv, const char *name, cg_error *err)
{
    virConnectPtr conn;
    size_t i;
    int ret = 0;

    for (i = 0; i < drv->n_hosts; i++) {
        if (!(conn = lv_host_conn(drv->hosts[i], err))) {
            ret = -1;
            continue;
        }
        if (lv_nwfilter_undefine(conn, name, err) < 0)
            ret = -1;
        virConnectClose(conn);
    }
    return ret;
}
