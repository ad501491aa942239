/* cloudgate libvirt driver: the host-side guard behind security group
 * filters (lv_sg_guard.h says why and where).
 *
 * The guard's rules go in with one iptables-restore --noflush (one nft
 * transaction: the chain is never half-written); the jumps are checked
 * and added one at a time, only when missing.  iptables here is whatever
 * libvirt's nwfilter uses (the same binary on PATH), so the guard sits in
 * the same table as libvirt's chains and the order holds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libvirt/virterror.h>

#include "../../engine/tool_run.h"
#include "../../gateway/log.h"
#include "lv_driver.h"
#include "lv_nwfilter.h"
#include "lv_sg_guard.h"

#define JUMP_SPEC "-j " LV_SG_GUARD_CHAIN

/* One refresh at a time: filter defines run on parallel threads. */
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;

int lv_sg_guard_ifname_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;

    /* No leading '-': iptables would read it as an option. */
    return len > 0 && len < 16 && name[0] != '-' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

char *lv_sg_guard_rules(const char *const *ifnames, size_t n, cg_error *err)
{
    char *buf = NULL;
    size_t size = 0, i;
    FILE *f = open_memstream(&buf, &size);
    int ok = 0;

    if (!f) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    /* A chain declared in --noflush input is flushed first: the chain
     * below is all it holds afterwards. */
    fprintf(f, "*filter\n:%s - [0:0]\n", LV_SG_GUARD_CHAIN);
    for (i = 0; i < n; i++) {
        if (!lv_sg_guard_ifname_ok(ifnames[i])) {
            cg_error_set(err, CG_ERR_INTERNAL, "not an interface name: \"%.32s\"",
                         ifnames[i] ? ifnames[i] : "");
            goto cleanup;
        }
        fprintf(f, "-A %s -m physdev --physdev-out %s --physdev-is-bridged -j DROP\n",
                LV_SG_GUARD_CHAIN, ifnames[i]);
    }
    fprintf(f, "COMMIT\n");
    ok = 1;

cleanup:
    return cg_tool_input_done(f, &buf, ok, err);
}

/* The rule "-A FORWARD ... -j CHAIN" (and nothing else after it). */
static int jumps_to(const char *line, const char *chain)
{
    size_t ll = strlen(line), lc = strlen(chain);

    return strncmp(line, "-A FORWARD ", 11) == 0 && ll > lc + 3 &&
           strncmp(line + ll - lc - 3, "-j ", 3) == 0 && strcmp(line + ll - lc, chain) == 0;
}

int lv_sg_guard_forward_pos(const char *const *lines, size_t n)
{
    size_t i;
    int rule = 0, post = 0;

    for (i = 0; i < n; i++) {
        if (strncmp(lines[i], "-A FORWARD ", 11) != 0)
            continue;
        rule++;
        if (jumps_to(lines[i], LV_SG_GUARD_CHAIN))
            return 0;
        if (!post && jumps_to(lines[i], "libvirt-in-post"))
            post = rule;
    }
    return post + 1;
}

/* ---- the host ------------------------------------------------------------- */

/* Lines kept from a tool's output, or NIC names; oom set when one could
 * not be kept (a NIC left out of the guard would go unguarded). */
typedef struct lines {
    char **v;
    size_t n, cap;
    int oom;
} lines;

static void keep_line(const char *line, void *arg)
{
    lines *l = arg;
    char **grown;

    if (l->n == l->cap) {
        if (!(grown = realloc(l->v, (l->cap ? 2 * l->cap : 16) * sizeof(*grown)))) {
            l->oom = 1;
            return;
        }
        l->v = grown;
        l->cap = l->cap ? 2 * l->cap : 16;
    }
    if ((l->v[l->n] = strdup(line)))
        l->n++;
    else
        l->oom = 1;
}

/* iptables -w ARGS...; with out: its output lines.  0 on exit 0. */
static int iptables(lines *out, cg_error *err, const char *a1, const char *a2,
                    const char *a3, const char *a4, const char *a5, const char *a6)
{
    char *argv[] = {"iptables", "-w", (char *)a1, (char *)a2, (char *)a3,
                    (char *)a4, (char *)a5, (char *)a6, NULL};
    cg_tool_spec spec = {.argv = argv, .package = "iptables", .log_fd = -1,
                         .on_line = out ? keep_line : NULL, .arg = out};

    return cg_tool_run(&spec, err);
}

static void free_lines(lines *l)
{
    while (l->n)
        free(l->v[--l->n]);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

/* nic's bridge port when its filter is a cloudgate one: kept in nics. */
static void add_nic(xmlNodePtr nic, lines *nics)
{
    xmlChar *filter = NULL, *port = NULL;
    xmlNodePtr c;

    for (c = nic->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!filter && !xmlStrcmp(c->name, BAD_CAST "filterref"))
            filter = xmlGetProp(c, BAD_CAST "filter");
        else if (!port && !xmlStrcmp(c->name, BAD_CAST "target"))
            port = xmlGetProp(c, BAD_CAST "dev");
    }
    if (filter && port && lv_nwfilter_is_nic((const char *)filter) &&
        lv_sg_guard_ifname_ok((const char *)port))
        keep_line((const char *)port, nics);
    xmlFree(filter);
    xmlFree(port);
}

/* The guarded NICs of one domain's live XML. */
static void add_domain_nics(const char *xml, lines *nics)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, dev, nic;

    for (dev = root ? root->children : NULL; dev; dev = dev->next) {
        if (dev->type != XML_ELEMENT_NODE || xmlStrcmp(dev->name, BAD_CAST "devices"))
            continue;
        for (nic = dev->children; nic; nic = nic->next) {
            if (nic->type == XML_ELEMENT_NODE && !xmlStrcmp(nic->name, BAD_CAST "interface"))
                add_nic(nic, nics);
        }
    }
    xmlFreeDoc(doc);
}

/* The bridge ports of running domains whose NIC filter is a cloudgate
 * one, appended to nics.  0, or -1 with err. */
static int guarded_nics(virConnectPtr conn, lines *nics, cg_error *err)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    int i, ret = -1;
    char *xml;

    if (n < 0) {
        lv_report(err, conn, CG_ERR_UNAVAILABLE, "list domains");
        return -1;
    }
    for (i = 0; i < n; i++) {
        /* A domain gone meanwhile has no NIC to guard. */
        if ((xml = virDomainGetXMLDesc(doms[i], 0)))
            add_domain_nics(xml, nics);
        virResetLastError();
        free(xml);
    }
    if (nics->oom)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory listing guest NICs");
    else
        ret = 0;
    for (i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    return ret;
}

/* Write the guard chain from rules (iptables-restore reads a file). */
static int restore(const char *rules, cg_error *err)
{
    char *argv[] = {"iptables-restore", "-w", "--noflush", CG_TOOL_INPUT, NULL};
    cg_tool_spec spec = {.argv = argv, .package = "iptables", .log_fd = -1};

    return cg_tool_run_input(&spec, rules, err);
}

/* The jumps to the guard: top of libvirt-in-post (made here if libvirt
 * has not yet: its own -N ignores "exists"), and FORWARD behind the jump
 * to libvirt-in-post.  0, or -1 with err. */
static int link_guard(cg_error *err)
{
    lines fwd = {0};
    cg_error ignored = {0};
    char pos[16];
    int at, ret = -1;

    if (iptables(NULL, &ignored, "-C", "libvirt-in-post", "-j", LV_SG_GUARD_CHAIN, NULL,
                 NULL) < 0) {
        iptables(NULL, &ignored, "-N", "libvirt-in-post", NULL, NULL, NULL, NULL);
        if (iptables(NULL, err, "-I", "libvirt-in-post", "1", "-j", LV_SG_GUARD_CHAIN,
                     NULL) < 0)
            goto cleanup;
    }
    if (iptables(&fwd, err, "-S", "FORWARD", NULL, NULL, NULL, NULL) < 0)
        goto cleanup;
    if (fwd.oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory reading FORWARD");
        goto cleanup;
    }
    at = lv_sg_guard_forward_pos((const char *const *)fwd.v, fwd.n);
    snprintf(pos, sizeof(pos), "%d", at);
    if (at > 0 && iptables(NULL, err, "-I", "FORWARD", pos, "-j", LV_SG_GUARD_CHAIN, NULL) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    free_lines(&fwd);
    return ret;
}

/* No cloudgate NIC left: the jumps and the chain go (each step may find
 * its part gone already). */
static void unlink_guard(void)
{
    cg_error ignored = {0};

    while (iptables(NULL, &ignored, "-D", "libvirt-in-post", "-j", LV_SG_GUARD_CHAIN, NULL,
                    NULL) == 0)
        ;
    while (iptables(NULL, &ignored, "-D", "FORWARD", "-j", LV_SG_GUARD_CHAIN, NULL, NULL) == 0)
        ;
    iptables(NULL, &ignored, "-F", LV_SG_GUARD_CHAIN, NULL, NULL, NULL, NULL);
    iptables(NULL, &ignored, "-X", LV_SG_GUARD_CHAIN, NULL, NULL, NULL, NULL);
}

/* 1 when conn's libvirt runs on this machine (no host in its URI). */
static int is_local(virConnectPtr conn)
{
    char *uri = virConnectGetURI(conn);
    const char *sep = uri ? strstr(uri, "://") : NULL;
    int local = sep && sep[3] == '/';

    virResetLastError();
    free(uri);
    return local;
}

int lv_sg_guard_refresh(virConnectPtr conn, cg_error *err)
{
    static int warned;
    lines nics = {0};
    char *rules = NULL;
    int ret = -1;

    if (lv_conn_is_test(conn))
        return 0;
    pthread_mutex_lock(&guard_lock);
    if (!is_local(conn)) {
        if (!warned++)
            cg_warn("security groups: no host-side guard on a remote zone's host "
                    "(rule changes there may pass traffic for a moment)");
        ret = 0;
        goto cleanup;
    }
    if (guarded_nics(conn, &nics, err) < 0)
        goto cleanup;
    if (nics.n == 0) {
        unlink_guard();
        ret = 0;
        goto cleanup;
    }
    if (!(rules = lv_sg_guard_rules((const char *const *)nics.v, nics.n, err)) ||
        restore(rules, err) < 0 || link_guard(err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    pthread_mutex_unlock(&guard_lock);
    free(rules);
    free_lines(&nics);
    return ret;
}
