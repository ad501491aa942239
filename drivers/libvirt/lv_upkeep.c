/* cloudgate libvirt driver: keeping one host's instance cache true. */
#include "lv_upkeep.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_host.h"
#include "lv_sg_guard.h"
#include "lv_vpc.h"

#define LEASES_SEC 2.0
#define STOP_RETRY_SEC 2.0
#define MAX_STOPS_PER_ROUND 32

/* A domain an event named, to be re-read by the host's thread. */
typedef struct lv_mark {
    virDomainPtr dom;    /* a reference of our own */
    int reload;          /* re-read the XML, not only the state */
} lv_mark;

struct lv_upkeep {
    char *zone;
    char *network;
    lv_cache *cache;
    int (*ended)(const char *id, void *arg);
    void *ended_arg;

    pthread_mutex_t lock;    /* guards the marks: the event thread adds to them */
    lv_mark *marks;
    size_t n_marks, cap_marks;

    /* The host's thread only. */
    virNetworkPtr net;
    int leases_unsupported;
    double next_leases;
};

lv_upkeep *lv_upkeep_new(const char *zone, const char *network, lv_cache *cache,
                         int (*ended)(const char *id, void *arg), void *ended_arg)
{
    lv_upkeep *u = calloc(1, sizeof(*u));

    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->cache = cache;
    u->ended = ended;
    u->ended_arg = ended_arg;
    if (!(u->zone = strdup(zone)) || !(u->network = strdup(network))) {
        lv_upkeep_free(u);
        return NULL;
    }
    return u;
}

void lv_upkeep_free(lv_upkeep *u)
{
    if (!u)
        return;
    lv_upkeep_reset(u);
    free(u->marks);
    free(u->zone);
    free(u->network);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

/* ---- marks: from the event thread to the host's thread ---- */

int lv_upkeep_mark(lv_upkeep *u, virDomainPtr dom, int reload)
{
    const char *name = virDomainGetName(dom);
    size_t i;
    int ret = -1;

    pthread_mutex_lock(&u->lock);
    /* One mark per domain: a burst of events costs one re-read. */
    for (i = 0; i < u->n_marks; i++) {
        if (virDomainGetConnect(u->marks[i].dom) == virDomainGetConnect(dom) &&
            strcmp(virDomainGetName(u->marks[i].dom), name) == 0) {
            u->marks[i].reload |= reload;
            ret = 0;
            goto cleanup;
        }
    }
    if (u->n_marks == u->cap_marks) {
        size_t cap = u->cap_marks ? u->cap_marks * 2 : 16;
        lv_mark *grown = realloc(u->marks, cap * sizeof(*grown));

        if (!grown) {
            cg_err("zone %s: out of memory noting a change of %s", u->zone, name);
            goto cleanup;
        }
        u->marks = grown;
        u->cap_marks = cap;
    }
    /* Only a reference count: virDomainRef never talks to the daemon. */
    virDomainRef(dom);
    u->marks[u->n_marks++] = (lv_mark){.dom = dom, .reload = reload};
    ret = 1;

cleanup:
    pthread_mutex_unlock(&u->lock);
    return ret;
}

/* Take all marks (the caller frees them and their references). */
static lv_mark *take_marks(lv_upkeep *u, size_t *n)
{
    lv_mark *v;

    pthread_mutex_lock(&u->lock);
    v = u->marks;
    *n = u->n_marks;
    u->marks = NULL;
    u->n_marks = u->cap_marks = 0;
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void free_marks(lv_mark *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        virDomainFree(v[i].dom);
    free(v);
}

void lv_upkeep_reset(lv_upkeep *u)
{
    lv_mark *v;
    size_t n;

    v = take_marks(u, &n);
    free_marks(v, n);
    if (u->net) {
        virNetworkFree(u->net);
        u->net = NULL;
    }
    virResetLastError();
}

/* ---- reading domains into the cache ---- */

/* Read one domain's XML and, when it is a cloudgate instance, cache it:
 * 1 done, 0 the entry changed while it was read (read again), -1 not. */
static int load_once(lv_upkeep *u, virDomainPtr dom, const char *name)
{
    /* Before the read: a change by a request after it (CreateTags,
     * DeleteTags write libvirt, then the cache) is newer than what we read. */
    uint64_t rev = lv_cache_rev(u->cache, name);
    cg_instance inst;
    cg_error err = {0};
    char *xml;
    int state, reason, ours, rc = -1;

    memset(&inst, 0, sizeof(inst));
    /* The domain may be gone already (an event for one just undefined). */
    if (!(xml = virDomainGetXMLDesc(dom, 0)) || virDomainGetState(dom, &state, &reason, 0) < 0) {
        cg_debug("zone %s: cannot read domain %s: %s", u->zone, name,
                 virGetLastErrorMessage());
        free(xml);
        return -1;
    }
    ours = lv_domxml_parse(xml, &inst, &err) == 1;
    if (ours && rev == 0 && u->ended && u->ended(inst.id, u->ended_arg) == 1) {
        /* Not cached and ended: a late event of a failed launch, whose
         * domain the undo could not remove.  Not shown again. */
        cg_debug("zone %s: domain %s is of an ended instance: not cached", u->zone, name);
        rc = 1;
    } else if (ours) {
        snprintf(inst.zone, sizeof(inst.zone), "%s", u->zone);
        inst.sub = lv_power_sub(dom, state);
        rc = lv_cache_update_if(u->cache, &inst, lv_state_from_libvirt(state), rev);
        if (rc < 0)
            cg_err("zone %s: out of memory caching %s", u->zone, name);
    } else if (err.kind != CG_ERR_NONE) {
        cg_warn("zone %s: domain %s: %s", u->zone, name, err.message);
    }
    cg_instance_release(&inst);
    free(xml);
    return rc;
}

static void load_domain(lv_upkeep *u, virDomainPtr dom, const char *name)
{
    int i;

    /* A few tries; a domain changed that often is marked again anyway. */
    for (i = 0; i < 3 && load_once(u, dom, name) == 0; i++)
        ;
}

/* The marked domain on conn.  Events come on a connection of their own,
 * which makes no calls (lv_host.c, host_connect): the domain is looked up
 * again, by UUID, which also serves a mark left from a replaced connection. */
static virDomainPtr calls_domain(virConnectPtr conn, virDomainPtr dom)
{
    unsigned char uuid[VIR_UUID_BUFLEN];

    if (virDomainGetConnect(dom) == conn)
        return virDomainRef(dom) == 0 ? dom : NULL;
    /* A copy from the handle: no call. */
    if (virDomainGetUUID(dom, uuid) < 0)
        return NULL;
    return virDomainLookupByUUID(conn, uuid);
}

/* What an event for the marked domain means for the cache, found out now. */
static void reread_domain(lv_upkeep *u, virConnectPtr conn, const lv_mark *m)
{
    const char *name = virDomainGetName(m->dom);
    virDomainPtr dom;
    int state, reason;

    /* Gone already (an event for one just undefined): nothing to read. */
    if (!name || !(dom = calls_domain(conn, m->dom))) {
        cg_debug("zone %s: cannot find domain %s: %s", u->zone, name ? name : "?",
                 virGetLastErrorMessage());
        return;
    }
    if ((m->reload & 1) || !lv_cache_contains(u->cache, name)) {
        load_domain(u, dom, name);
        goto cleanup;
    }
    /* Ask for the state rather than trusting the event: events arrive late,
     * and a late one must not undo what a newer operation already did. */
    if (virDomainGetState(dom, &state, &reason, 0) == 0) {
        lv_cache_set_base(u->cache, name, lv_state_from_libvirt(state));
        lv_cache_set_sub(u->cache, name, lv_power_sub(dom, state));
    }
    /* After the state: the display of an entry not running is cleared. */
    if (m->reload & LV_MARK_DISPLAY)
        lv_display_sync(u->cache, dom, name);

cleanup:
    virDomainFree(dom);
}

int lv_upkeep_sync(lv_upkeep *u, virConnectPtr conn, char *reason, size_t len)
{
    virDomainPtr *doms = NULL;
    cg_instance *v = NULL;
    cg_instance_state *base = NULL;
    cg_error err = {0};
    size_t k = 0;
    int i, n, ret = -1;

    u->leases_unsupported = 0;
    u->next_leases = 0;
    if ((n = virConnectListAllDomains(conn, &doms, 0)) < 0) {
        snprintf(reason, len, "list domains: %s", virGetLastErrorMessage());
        return -1;
    }
    if (n > 0 && (!(v = calloc((size_t)n, sizeof(*v))) || !(base = calloc((size_t)n,
                                                                           sizeof(*base))))) {
        snprintf(reason, len, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        int state, why;

        cg_error_clear(&err);
        if (xml && lv_domxml_parse(xml, &v[k], &err) == 1 &&
            virDomainGetState(doms[i], &state, &why, 0) == 0) {
            snprintf(v[k].zone, sizeof(v[k].zone), "%s", u->zone);
            v[k].sub = lv_power_sub(doms[i], state);
            base[k++] = lv_state_from_libvirt(state);
        } else {
            if (err.kind != CG_ERR_NONE)
                cg_warn("zone %s: domain %s: %s", u->zone, virDomainGetName(doms[i]),
                        err.message);
            cg_instance_release(&v[k]);
        }
        free(xml);
    }
    if (lv_cache_sync(u->cache, v, base, k) < 0) {
        snprintf(reason, len, "out of memory");
        goto cleanup;
    }
    ret = 0;

cleanup:
    for (i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    for (i = 0; (size_t)i < k; i++)
        cg_instance_release(&v[i]);
    free(v);
    free(base);
    return ret;
}

/* ---- stop timeouts and leases ---- */

/* Power off instances whose graceful stop outlived stop_timeout_sec. */
static void due_stops(lv_upkeep *u, virConnectPtr conn, double now)
{
    char ids[MAX_STOPS_PER_ROUND][24];
    size_t i, n = lv_cache_due_stops(u->cache, now, ids, MAX_STOPS_PER_ROUND);

    for (i = 0; i < n; i++) {
        virDomainPtr dom;
        int state = VIR_DOMAIN_SHUTOFF, reason;

        if (lv_cache_acquire(u->cache, ids[i], NULL) != LV_ACQ_OK)
            continue;
        if ((dom = virDomainLookupByName(conn, ids[i]))) {
            if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
                cg_warn("zone %s: power off %s after the stop timeout: %s", u->zone, ids[i],
                        virGetLastErrorMessage());
            else
                cg_info("zone %s: %s powered off after the stop timeout", u->zone, ids[i]);
            if (virDomainGetState(dom, &state, &reason, 0) < 0)
                state = VIR_DOMAIN_NOSTATE;
            virDomainFree(dom);
        }
        if (lv_state_from_libvirt(state) == CG_STATE_STOPPED) {
            lv_cache_set_base(u->cache, ids[i], CG_STATE_STOPPED);
            lv_cache_set_overlay(u->cache, ids[i], LV_NO_OVERLAY, 0);
        } else {
            /* Try again shortly rather than leave it stopping forever. */
            lv_cache_set_overlay(u->cache, ids[i], CG_STATE_STOPPING, now + STOP_RETRY_SEC);
        }
        lv_cache_release(u->cache, ids[i]);
    }
}

static int by_expiry(const void *a, const void *b)
{
    const virNetworkDHCPLeasePtr x = *(const virNetworkDHCPLeasePtr *)a;
    const virNetworkDHCPLeasePtr y = *(const virNetworkDHCPLeasePtr *)b;

    return (x->expirytime < y->expirytime) - (x->expirytime > y->expirytime);
}

/* One virNetworkGetDHCPLeases for the whole host; MACs give the instances. */
static void leases(lv_upkeep *u, virConnectPtr conn)
{
    virNetworkDHCPLeasePtr *all = NULL;
    lv_lease *v = NULL;
    size_t k = 0, j;
    int i, n;

    if (u->leases_unsupported || lv_cache_size(u->cache) == 0)
        return;
    if (!u->net && !(u->net = virNetworkLookupByName(conn, u->network))) {
        cg_debug("zone %s: network %s: %s", u->zone, u->network, virGetLastErrorMessage());
        return;
    }
    if ((n = virNetworkGetDHCPLeases(u->net, NULL, &all, 0)) < 0) {
        if (lv_last_error_code() == VIR_ERR_NO_SUPPORT) {
            cg_info("zone %s: no DHCP lease information from this host", u->zone);
            u->leases_unsupported = 1;
        }
        virNetworkFree(u->net);
        u->net = NULL;
        return;
    }
    n = lv_vpc_add_leases(conn, &all, n);   /* instances in VPC subnets */
    /* Newest lease first: a MAC that had several addresses keeps its latest. */
    qsort(all, (size_t)n, sizeof(*all), by_expiry);
    if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
        goto cleanup;
    for (i = 0; i < n; i++) {
        if (!all[i]->mac || !all[i]->ipaddr || all[i]->type != VIR_IP_ADDR_TYPE_IPV4)
            continue;
        for (j = 0; j < k && strcasecmp(v[j].mac, all[i]->mac) != 0; j++)
            ;
        if (j < k)
            continue;
        snprintf(v[k].mac, sizeof(v[k].mac), "%s", all[i]->mac);
        snprintf(v[k].ip, sizeof(v[k].ip), "%s", all[i]->ipaddr);
        k++;
    }
    lv_cache_set_leases(u->cache, v, k);

cleanup:
    for (i = 0; i < n; i++)
        virNetworkDHCPLeaseFree(all[i]);
    free(all);
    free(v);
}

void lv_upkeep_run(lv_upkeep *u, virConnectPtr conn, double now)
{
    cg_error guard_err = {0};
    lv_mark *v;
    size_t i, n;

    v = take_marks(u, &n);
    for (i = 0; i < n; i++)
        reread_domain(u, conn, &v[i]);
    free_marks(v, n);
    /* A domain started or stopped: its NIC joins or leaves the security
     * group guard (a started NIC before libvirt learns its address and
     * rebuilds its chain; a stopped one's name may be reused). */
    if (n > 0 && lv_sg_guard_refresh(conn, &guard_err) < 0)
        cg_warn("zone %s: security group guard: %s", u->zone, guard_err.message);
    due_stops(u, conn, now);
    if (now >= u->next_leases) {
        u->next_leases = now + LEASES_SEC;
        leases(u, conn);
    }
    virResetLastError();
}
