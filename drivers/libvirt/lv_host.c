/* cloudgate libvirt driver: one libvirt host, its connection and events. */
#include "lv_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"

#define TICK_MS 1000
#define RECONNECT_SEC 2.0
#define LEASES_SEC 2.0
#define RELEASE_WAIT_SEC 5
#define MAX_STOPS_PER_TICK 32

struct lv_host {
    const cg_config *cfg;
    char *zone;
    char *uri;
    lv_cache *cache;

    pthread_mutex_t lock;    /* guards everything below up to refs */
    pthread_cond_t cond;     /* signalled when refs or timer_live drop */
    virConnectPtr conn;      /* NULL while disconnected */
    int lost;                /* the close callback fired */
    int cb_lifecycle;        /* callback ids on conn, -1: none */
    int cb_metadata;
    int refs;                /* domain event registrations holding this host */
    int timer_live;          /* the tick timer still holds this host */
    int timer;

    /* Touched only by the event thread once the host is set up. */
    virNetworkPtr net;
    int leases_unsupported;
    double next_reconnect;
    double next_leases;

    pthread_mutex_t reserve_lock;
    unsigned long long reserved_mib;
};

/* ---- errors ---- */

int lv_last_error_code(void)
{
    virErrorPtr e = virGetLastError();

    return e ? e->code : VIR_ERR_OK;
}

void lv_report(cg_error *err, virConnectPtr conn, cg_errkind kind, const char *fmt, ...)
{
    char what[256];
    char why[384];
    virErrorPtr e = virGetLastError();
    va_list ap;

    /* Copy first: any libvirt call below resets the thread's last error. */
    snprintf(why, sizeof(why), "%s", e && e->message ? e->message : "unknown libvirt error");
    if (e && e->code == VIR_ERR_NO_CONNECT)
        kind = CG_ERR_UNAVAILABLE;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (conn && virConnectIsAlive(conn) == 0)
        kind = CG_ERR_UNAVAILABLE;
    cg_error_set(err, kind, "%s: %s", what, why);
}

/* ---- the shared event thread ---- */

static pthread_once_t ev_once = PTHREAD_ONCE_INIT;
static int ev_impl_ok;
static char ev_impl_error[256];
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned ev_users;
static pthread_t ev_thread;
static int ev_quit;
static int ev_wake_timer = -1;

/* Errors are reported once, into cg_error, by whoever hits them: libvirt's
 * default handler would print each of them to stderr a second time. */
static void quiet_errors(void *opaque, virErrorPtr e)
{
}

static void ev_register_impl(void)
{
    virSetErrorFunc(NULL, quiet_errors);
    if (virEventRegisterDefaultImpl() < 0) {
        virErrorPtr e = virGetLastError();

        snprintf(ev_impl_error, sizeof(ev_impl_error), "%s",
                 e && e->message ? e->message : "unknown error");
        return;
    }
    ev_impl_ok = 1;
}

static void ev_noop(int timer, void *opaque)
{
}

static void *ev_main(void *arg)
{
    while (!__atomic_load_n(&ev_quit, __ATOMIC_ACQUIRE)) {
        if (virEventRunDefaultImpl() < 0) {
            cg_err("libvirt event loop failed: %s",
                   virGetLastErrorMessage() ? virGetLastErrorMessage() : "unknown");
            /* Do not spin on a broken loop. */
            nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 100000000}, NULL);
        }
    }
    return NULL;
}

int lv_event_start(cg_error *err)
{
    int ret = -1;

    pthread_once(&ev_once, ev_register_impl);
    if (!ev_impl_ok) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot register the libvirt event loop: %s",
                     ev_impl_error);
        return -1;
    }
    pthread_mutex_lock(&ev_lock);
    if (ev_users == 0) {
        __atomic_store_n(&ev_quit, 0, __ATOMIC_RELEASE);
        /* A periodic timer makes the loop come round at least once a second,
         * and lv_event_stop fires it at once to wake the thread up. */
        if ((ev_wake_timer = virEventAddTimeout(TICK_MS, ev_noop, NULL, NULL)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "cannot add a libvirt event timer");
            goto cleanup;
        }
        if ((errno = pthread_create(&ev_thread, NULL, ev_main, NULL)) != 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "cannot start the event thread: %s",
                         strerror(errno));
            virEventRemoveTimeout(ev_wake_timer);
            ev_wake_timer = -1;
            goto cleanup;
        }
    }
    ev_users++;
    ret = 0;

cleanup:
    pthread_mutex_unlock(&ev_lock);
    return ret;
}

void lv_event_stop(void)
{
    pthread_mutex_lock(&ev_lock);
    if (ev_users > 0 && --ev_users == 0) {
        __atomic_store_n(&ev_quit, 1, __ATOMIC_RELEASE);
        virEventUpdateTimeout(ev_wake_timer, 0);
        pthread_join(ev_thread, NULL);
        virEventRemoveTimeout(ev_wake_timer);
        ev_wake_timer = -1;
    }
    pthread_mutex_unlock(&ev_lock);
}

/* ---- reference counting of the host by libvirt registrations ---- */

static void host_unref(void *opaque)
{
    lv_host *h = opaque;

    pthread_mutex_lock(&h->lock);
    h->refs--;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void timer_released(void *opaque)
{
    lv_host *h = opaque;

    pthread_mutex_lock(&h->lock);
    h->timer_live = 0;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* Wait until *counter is 0 (the event thread drops it); 0, or -1 on timeout. */
static int wait_zero(lv_host *h, const int *counter)
{
    struct timespec until;
    int ret = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RELEASE_WAIT_SEC;
    pthread_mutex_lock(&h->lock);
    while (*counter != 0 && ret == 0) {
        if (pthread_cond_timedwait(&h->cond, &h->lock, &until) == ETIMEDOUT)
            ret = -1;
    }
    pthread_mutex_unlock(&h->lock);
    return ret;
}

/* ---- reading domains into the cache ---- */

/* Read one domain's XML and, when it is a cloudgate instance, cache it. */
static void load_domain(lv_host *h, virDomainPtr dom, const char *name)
{
    cg_instance inst;
    cg_error err = {0};
    char *xml;
    int state, reason;

    memset(&inst, 0, sizeof(inst));
    /* The domain may be gone already (an event for one just undefined). */
    if (!(xml = virDomainGetXMLDesc(dom, 0)) || virDomainGetState(dom, &state, &reason, 0) < 0) {
        cg_debug("zone %s: cannot read domain %s: %s", h->zone, name,
                 virGetLastErrorMessage());
        free(xml);
        return;
    }
    if (lv_domxml_parse(xml, &inst, &err) == 1) {
        snprintf(inst.zone, sizeof(inst.zone), "%s", h->zone);
        if (lv_cache_update(h->cache, &inst, lv_state_from_libvirt(state)) < 0)
            cg_err("zone %s: out of memory caching %s", h->zone, name);
    } else if (err.kind != CG_ERR_NONE) {
        cg_warn("zone %s: domain %s: %s", h->zone, name, err.message);
    }
    cg_instance_release(&inst);
    free(xml);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                        void *opaque)
{
    lv_host *h = opaque;
    const char *name = virDomainGetName(dom);
    int state, reason;

    if (!name)
        return 0;
    if (event == VIR_DOMAIN_EVENT_UNDEFINED) {
        /* A busy entry is being terminated or rolled back by its operation. */
        if (!lv_cache_is_busy(h->cache, name) && lv_cache_remove(h->cache, name))
            cg_info("zone %s: instance %s was undefined outside cloudgate", h->zone, name);
        return 0;
    }
    if (!lv_cache_contains(h->cache, name)) {
        load_domain(h, dom, name);
        return 0;
    }
    /* Ask for the state rather than trusting the event: events arrive late,
     * and a late one must not undo what a newer operation already did. */
    if (virDomainGetState(dom, &state, &reason, 0) == 0)
        lv_cache_set_base(h->cache, name, lv_state_from_libvirt(state));
    return 0;
}

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri,
                        void *opaque)
{
    lv_host *h = opaque;
    const char *name = virDomainGetName(dom);

    if (!name || type != VIR_DOMAIN_METADATA_ELEMENT || !nsuri ||
        strcmp(nsuri, LV_METADATA_NS) != 0)
        return;
    /* Our own tag operations update the cache themselves. */
    if (!lv_cache_is_busy(h->cache, name))
        load_domain(h, dom, name);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    lv_host *h = opaque;

    /* Only note it: the connection must not be closed from its own callback. */
    pthread_mutex_lock(&h->lock);
    h->lost = 1;
    pthread_mutex_unlock(&h->lock);
}

/* Fill the cache from every domain of conn. 0 or -1 (reason set). */
static int host_sync(lv_host *h, virConnectPtr conn, char *reason, size_t len)
{
    virDomainPtr *doms = NULL;
    cg_instance *v = NULL;
    cg_instance_state *base = NULL;
    cg_error err = {0};
    size_t k = 0;
    int i, n, ret = -1;

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
            snprintf(v[k].zone, sizeof(v[k].zone), "%s", h->zone);
            base[k++] = lv_state_from_libvirt(state);
        } else {
            if (err.kind != CG_ERR_NONE)
                cg_warn("zone %s: domain %s: %s", h->zone, virDomainGetName(doms[i]),
                        err.message);
            cg_instance_release(&v[k]);
        }
        free(xml);
    }
    if (lv_cache_sync(h->cache, v, base, k) < 0) {
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

/* Deregister and close the current connection, if any. */
static void host_disconnect(lv_host *h)
{
    virConnectPtr conn;
    int lifecycle, metadata;

    pthread_mutex_lock(&h->lock);
    conn = h->conn;
    lifecycle = h->cb_lifecycle;
    metadata = h->cb_metadata;
    h->conn = NULL;
    h->cb_lifecycle = h->cb_metadata = -1;
    pthread_mutex_unlock(&h->lock);
    if (h->net) {
        virNetworkFree(h->net);
        h->net = NULL;
    }
    if (!conn)
        return;
    /* On a dead connection these fail after dropping the local registration,
     * which is all that matters here. */
    if (lifecycle >= 0)
        virConnectDomainEventDeregisterAny(conn, lifecycle);
    if (metadata >= 0)
        virConnectDomainEventDeregisterAny(conn, metadata);
    virConnectUnregisterCloseCallback(conn, on_close);
    /* Worker threads may still hold references; the last one frees it. */
    virConnectClose(conn);
    virResetLastError();
}

/* Open the connection, register for events and (re)fill the cache.
 * 0 or -1 with reason set and nothing left open. */
static int host_connect(lv_host *h, char *reason, size_t len)
{
    virConnectPtr conn;
    int lifecycle = -1, metadata = -1;

    if (!(conn = virConnectOpen(h->uri))) {
        snprintf(reason, len, "%s", virGetLastErrorMessage());
        return -1;
    }
    /* Notices a daemon that hangs rather than exits; drivers without
     * keepalive (test://) refuse, which is fine. */
    if (virConnectSetKeepAlive(conn, 5, 3) < 0)
        virResetLastError();
    if (virConnectRegisterCloseCallback(conn, on_close, h, NULL) < 0)
        virResetLastError();
    lifecycle = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), h,
                                                 host_unref);
    if (lifecycle < 0) {
        snprintf(reason, len, "domain events: %s", virGetLastErrorMessage());
        goto error;
    }
    pthread_mutex_lock(&h->lock);
    h->refs++;
    pthread_mutex_unlock(&h->lock);
    metadata = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                VIR_DOMAIN_EVENT_CALLBACK(on_metadata), h,
                                                host_unref);
    if (metadata < 0) {
        /* Only external tag edits go unnoticed without it. */
        cg_debug("zone %s: no metadata events: %s", h->zone, virGetLastErrorMessage());
        virResetLastError();
    } else {
        pthread_mutex_lock(&h->lock);
        h->refs++;
        pthread_mutex_unlock(&h->lock);
    }
    /* Registered before listing, so no change falls between the two. */
    if (host_sync(h, conn, reason, len) < 0)
        goto error;
    h->leases_unsupported = 0;
    h->next_leases = 0;
    pthread_mutex_lock(&h->lock);
    h->conn = conn;
    h->lost = 0;
    h->cb_lifecycle = lifecycle;
    h->cb_metadata = metadata;
    pthread_mutex_unlock(&h->lock);
    return 0;

error:
    if (lifecycle >= 0)
        virConnectDomainEventDeregisterAny(conn, lifecycle);
    if (metadata >= 0)
        virConnectDomainEventDeregisterAny(conn, metadata);
    virConnectUnregisterCloseCallback(conn, on_close);
    virConnectClose(conn);
    virResetLastError();
    return -1;
}

/* ---- periodic work, in the event thread ---- */

/* Power off instances whose graceful stop outlived stop_timeout_sec. */
static void host_due_stops(lv_host *h, virConnectPtr conn, double now)
{
    char ids[MAX_STOPS_PER_TICK][24];
    size_t i, n = lv_cache_due_stops(h->cache, now, ids, MAX_STOPS_PER_TICK);

    for (i = 0; i < n; i++) {
        virDomainPtr dom;
        int state = VIR_DOMAIN_SHUTOFF, reason;

        if (lv_cache_acquire(h->cache, ids[i], NULL) != LV_ACQ_OK)
            continue;
        if ((dom = virDomainLookupByName(conn, ids[i]))) {
            if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
                cg_warn("zone %s: power off %s after the stop timeout: %s", h->zone, ids[i],
                        virGetLastErrorMessage());
            else
                cg_info("zone %s: %s powered off after the stop timeout", h->zone, ids[i]);
            if (virDomainGetState(dom, &state, &reason, 0) < 0)
                state = VIR_DOMAIN_NOSTATE;
            virDomainFree(dom);
        }
        if (lv_state_from_libvirt(state) == CG_STATE_STOPPED) {
            lv_cache_set_base(h->cache, ids[i], CG_STATE_STOPPED);
            lv_cache_set_overlay(h->cache, ids[i], LV_NO_OVERLAY, 0);
        } else {
            /* Try again shortly rather than leave it stopping forever. */
            lv_cache_set_overlay(h->cache, ids[i], CG_STATE_STOPPING, now + RECONNECT_SEC);
        }
        lv_cache_release(h->cache, ids[i]);
    }
}

static int by_expiry(const void *a, const void *b)
{
    const virNetworkDHCPLeasePtr x = *(const virNetworkDHCPLeasePtr *)a;
    const virNetworkDHCPLeasePtr y = *(const virNetworkDHCPLeasePtr *)b;

    return (x->expirytime < y->expirytime) - (x->expirytime > y->expirytime);
}

/* One virNetworkGetDHCPLeases for the whole host; MACs give the instances. */
static void host_leases(lv_host *h, virConnectPtr conn)
{
    virNetworkDHCPLeasePtr *leases = NULL;
    lv_lease *v = NULL;
    size_t k = 0, j;
    int i, n;

    if (h->leases_unsupported || lv_cache_size(h->cache) == 0)
        return;
    if (!h->net && !(h->net = virNetworkLookupByName(conn, h->cfg->network))) {
        cg_debug("zone %s: network %s: %s", h->zone, h->cfg->network,
                 virGetLastErrorMessage());
        return;
    }
    if ((n = virNetworkGetDHCPLeases(h->net, NULL, &leases, 0)) < 0) {
        if (lv_last_error_code() == VIR_ERR_NO_SUPPORT) {
            cg_info("zone %s: no DHCP lease information from this host", h->zone);
            h->leases_unsupported = 1;
        }
        virNetworkFree(h->net);
        h->net = NULL;
        return;
    }
    /* Newest lease first: a MAC that had several addresses keeps its latest. */
    qsort(leases, (size_t)n, sizeof(*leases), by_expiry);
    if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
        goto cleanup;
    for (i = 0; i < n; i++) {
        if (!leases[i]->mac || !leases[i]->ipaddr || leases[i]->type != VIR_IP_ADDR_TYPE_IPV4)
            continue;
        for (j = 0; j < k && strcasecmp(v[j].mac, leases[i]->mac) != 0; j++)
            ;
        if (j < k)
            continue;
        snprintf(v[k].mac, sizeof(v[k].mac), "%s", leases[i]->mac);
        snprintf(v[k].ip, sizeof(v[k].ip), "%s", leases[i]->ipaddr);
        k++;
    }
    lv_cache_set_leases(h->cache, v, k);

cleanup:
    for (i = 0; i < n; i++)
        virNetworkDHCPLeaseFree(leases[i]);
    free(leases);
    free(v);
}

static void on_tick(int timer, void *opaque)
{
    lv_host *h = opaque;
    virConnectPtr conn = NULL;
    char reason[256];
    double now = cg_monotonic();
    int lost;

    pthread_mutex_lock(&h->lock);
    lost = h->lost || (h->conn && virConnectIsAlive(h->conn) == 0);
    pthread_mutex_unlock(&h->lock);
    if (lost) {
        cg_warn("zone %s: connection to %s lost; reconnecting", h->zone, h->uri);
        host_disconnect(h);
        pthread_mutex_lock(&h->lock);
        h->lost = 0;
        pthread_mutex_unlock(&h->lock);
        h->next_reconnect = now;
    }
    if (!(conn = lv_host_conn(h, NULL))) {
        virResetLastError();
        if (now < h->next_reconnect)
            return;
        h->next_reconnect = now + RECONNECT_SEC;
        if (host_connect(h, reason, sizeof(reason)) == 0)
            cg_info("zone %s: connected to %s", h->zone, h->uri);
        else
            cg_debug("zone %s: reconnect to %s failed: %s", h->zone, h->uri, reason);
        return;
    }
    host_due_stops(h, conn, now);
    if (now >= h->next_leases) {
        h->next_leases = now + LEASES_SEC;
        host_leases(h, conn);
    }
    virConnectClose(conn);
    virResetLastError();
}

/* ---- the host ---- */

lv_host *lv_host_new(const cg_config *cfg, const cg_zone_config *zone, char *reason,
                     size_t reason_len)
{
    lv_host *h = calloc(1, sizeof(*h));
    char why[256] = "";

    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    pthread_mutex_init(&h->reserve_lock, NULL);
    h->cfg = cfg;
    h->cb_lifecycle = h->cb_metadata = h->timer = -1;
    if (!(h->zone = strdup(zone->name)) || !(h->uri = strdup(zone->uri)) ||
        !(h->cache = lv_cache_new())) {
        lv_host_free(h);
        return NULL;
    }
    if (host_connect(h, why, sizeof(why)) < 0) {
        cg_warn("zone %s: cannot connect to %s: %s", h->zone, h->uri, why);
        h->next_reconnect = cg_monotonic() + RECONNECT_SEC;
    }
    if (reason && reason_len)
        snprintf(reason, reason_len, "%s", why);
    if ((h->timer = virEventAddTimeout(TICK_MS, on_tick, h, timer_released)) < 0) {
        lv_host_free(h);
        return NULL;
    }
    h->timer_live = 1;
    return h;
}

void lv_host_free(lv_host *h)
{
    if (!h)
        return;
    /* The tick may be running right now: wait until libvirt lets it go. */
    if (h->timer >= 0) {
        virEventRemoveTimeout(h->timer);
        if (wait_zero(h, &h->timer_live) < 0) {
            cg_err("zone %s: event timer not released; leaking the host", h->zone);
            return;
        }
    }
    host_disconnect(h);
    if (wait_zero(h, &h->refs) < 0) {
        cg_err("zone %s: event callbacks not released; leaking the host", h->zone);
        return;
    }
    lv_cache_free(h->cache);
    free(h->zone);
    free(h->uri);
    pthread_mutex_destroy(&h->reserve_lock);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

const char *lv_host_zone(const lv_host *h)
{
    return h->zone;
}

lv_cache *lv_host_cache(lv_host *h)
{
    return h->cache;
}

int lv_host_available(lv_host *h)
{
    int up;

    pthread_mutex_lock(&h->lock);
    up = h->conn != NULL && !h->lost;
    pthread_mutex_unlock(&h->lock);
    return up;
}

virConnectPtr lv_host_conn(lv_host *h, cg_error *err)
{
    virConnectPtr conn = NULL;

    pthread_mutex_lock(&h->lock);
    if (h->conn && !h->lost && virConnectRef(h->conn) == 0)
        conn = h->conn;
    pthread_mutex_unlock(&h->lock);
    if (!conn)
        cg_error_set(err, CG_ERR_UNAVAILABLE, "zone %s: libvirt at %s is not reachable",
                     h->zone, h->uri);
    return conn;
}

int lv_host_reserve(lv_host *h, virConnectPtr conn, unsigned mib, unsigned want, unsigned *got,
                    cg_error *err)
{
    unsigned long long free_mib, fit;
    unsigned long long free_bytes;
    virNodeInfo info;
    int ret = -1;

    pthread_mutex_lock(&h->reserve_lock);
    free_bytes = virNodeGetFreeMemory(conn);
    if (free_bytes > 0) {
        free_mib = free_bytes >> 20;
    } else {
        /* Some drivers (test:// on a node file) report no free memory: take
         * the node's total less what the instances we know of hold. */
        unsigned long long used = lv_cache_active_mib(h->cache);

        if (virNodeGetInfo(conn, &info) < 0) {
            lv_report(err, conn, CG_ERR_INTERNAL, "zone %s: node memory", h->zone);
            goto cleanup;
        }
        free_mib = info.memory / 1024;
        free_mib = free_mib > used ? free_mib - used : 0;
    }
    free_mib = free_mib > h->reserved_mib ? free_mib - h->reserved_mib : 0;
    fit = mib ? free_mib / mib : want;
    if (fit > want)
        fit = want;
    h->reserved_mib += fit * mib;
    *got = (unsigned)fit;
    ret = 0;

cleanup:
    pthread_mutex_unlock(&h->reserve_lock);
    return ret;
}

void lv_host_unreserve(lv_host *h, unsigned long long mib)
{
    pthread_mutex_lock(&h->reserve_lock);
    h->reserved_mib = h->reserved_mib > mib ? h->reserved_mib - mib : 0;
    pthread_mutex_unlock(&h->reserve_lock);
}
