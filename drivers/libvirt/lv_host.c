/* cloudgate libvirt driver: one libvirt host, its connection, events and thread. */
#include "lv_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"
#include "lv_sg_guard.h"
#include "lv_upkeep.h"

#define TICK_MS 1000
#define TICK_SEC 1.0
#define RECONNECT_MIN_SEC 2.0
#define RECONNECT_MAX_SEC 10.0

struct lv_host {
    char *zone;
    char *uri;
    lv_cache *cache;
    lv_upkeep *upkeep;
    lv_host_hooks hooks; /* see lv_host_hooks */
    int connected_once;  /* hooks.connected has been called with first = 1 */

    pthread_mutex_t lock;    /* guards everything below up to the thread's own */
    pthread_cond_t cond;     /* on CLOCK_MONOTONIC; wakes the thread, and waiters on it */
    virConnectPtr conn;      /* NULL while disconnected; all calls go here */
    virConnectPtr events;    /* domain events only (host_connect says why); set with conn */
    int lost;                /* a close callback fired */
    uint64_t flips;          /* changes of conn and lost: lv_host_flips */
    int cb_lifecycle;        /* callback ids on events, -1: none */
    int cb_metadata;
    int refs;                /* domain event registrations holding this host */
    int work;                /* an event callback noted work for the thread */
    int quit;                /* lv_host_stop: disconnect and finish */
    int attempted;           /* the first connection attempt is over */
    int finished;            /* the thread is done with the connection */

    pthread_t thread;
    int thread_started;

    /* The thread's own. */
    double next_connect;     /* cg_monotonic() time of the next attempt */
    double pause;            /* after the next failed attempt */
    uint64_t seen_changes;   /* lv_cache_changes() hooks.changed dealt with */
    double next_changed;     /* cg_monotonic() time it may be called again */

    lv_capacity *capacity;   /* what launches set aside (lv_capacity.h) */
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

/* ---- waiting on the host's condition variable ---- */

/* Wait on h->cond (h->lock held) until woken or until deadline, a
 * cg_monotonic() time.  ETIMEDOUT once the deadline passed. */
static int wait_until(lv_host *h, double deadline)
{
    struct timespec ts;
    double whole;

    if (deadline <= cg_monotonic())
        return ETIMEDOUT;
    whole = (double)(time_t)deadline;
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((deadline - whole) * 1e9);
    return pthread_cond_timedwait(&h->cond, &h->lock, &ts);
}

/* ---- event callbacks: on the shared event thread, so they never block ---- */

/* Hand the host's thread something to do now. */
static void host_wake(lv_host *h)
{
    pthread_mutex_lock(&h->lock);
    h->work = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void host_unref(void *opaque)
{
    lv_host *h = opaque;

    pthread_mutex_lock(&h->lock);
    h->refs--;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                        void *opaque)
{
    lv_host *h = opaque;
    const char *name = virDomainGetName(dom);

    if (!name)
        return 0;
    if (event == VIR_DOMAIN_EVENT_UNDEFINED) {
        /* A busy entry is being terminated or rolled back by its operation. */
        if (!lv_cache_is_busy(h->cache, name) && lv_cache_remove(h->cache, name))
            cg_info("zone %s: instance %s was undefined outside cloudgate", h->zone, name);
        return 0;
    }
    /* Reading the domain asks the daemon: the host's thread does it.  A
     * start is re-read whole: the live XML has the display's port. */
    if (lv_upkeep_mark(h->upkeep, dom, event == VIR_DOMAIN_EVENT_STARTED ? LV_MARK_DISPLAY : 0) >
        0)
        host_wake(h);
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
    if (!lv_cache_is_busy(h->cache, name) && lv_upkeep_mark(h->upkeep, dom, 1) > 0)
        host_wake(h);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    lv_host *h = opaque;

    /* Only note it: the connection must not be closed from its own callback,
     * and closing may talk to the daemon. */
    pthread_mutex_lock(&h->lock);
    h->lost = 1;
    h->flips++;
    h->work = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* ---- connecting: in the host's thread ---- */

/* Let go of a pair of connections: deregister, then close.  On a dead
 * connection deregistering fails after dropping the local registration, which
 * is all that matters here; on a hung one it waits for the daemon. */
static void conns_release(lv_host *h, virConnectPtr conn, virConnectPtr events, int lifecycle,
                          int metadata)
{
    if (lifecycle >= 0)
        virConnectDomainEventDeregisterAny(events, lifecycle);
    if (metadata >= 0)
        virConnectDomainEventDeregisterAny(events, metadata);
    virConnectUnregisterCloseCallback(conn, on_close);
    if (events && events != conn)
        virConnectUnregisterCloseCallback(events, on_close);
    /* The marks hold references to the events connection. */
    lv_upkeep_reset(h->upkeep);
    if (events)
        virConnectClose(events);
    /* Worker threads may still hold references; the last one frees it. */
    virConnectClose(conn);
    virResetLastError();
}

/* Deregister and close the current connections, if any. */
static void host_disconnect(lv_host *h)
{
    virConnectPtr conn, events;
    int lifecycle, metadata;

    pthread_mutex_lock(&h->lock);
    conn = h->conn;
    events = h->events;
    lifecycle = h->cb_lifecycle;
    metadata = h->cb_metadata;
    h->conn = h->events = NULL;
    h->lost = 0;
    h->flips++;
    h->cb_lifecycle = h->cb_metadata = -1;
    pthread_mutex_unlock(&h->lock);
    if (conn)
        conns_release(h, conn, events, lifecycle, metadata);
}

/* A connection that notices a daemon which hangs rather than exits, and
 * tells the host when it closes; NULL with reason set. */
static virConnectPtr host_open(lv_host *h, char *reason, size_t len)
{
    /* Waits for as long as a hung daemon does: its socket still accepts. */
    virConnectPtr conn = virConnectOpen(h->uri);

    if (!conn) {
        snprintf(reason, len, "%s", virGetLastErrorMessage());
        return NULL;
    }
    /* Drivers without keepalive (test://) refuse, which is fine. */
    if (virConnectSetKeepAlive(conn, 5, 3) < 0)
        virResetLastError();
    if (virConnectRegisterCloseCallback(conn, on_close, h, NULL) < 0)
        virResetLastError();
    return conn;
}

/* Open the connections, register for events and (re)fill the cache.
 * 0 or -1 with reason set and nothing left open. */
static int host_connect(lv_host *h, char *reason, size_t len)
{
    cg_error guard_err = {0};
    virConnectPtr conn, events = NULL;
    int lifecycle = -1, metadata = -1;

    /* From here a close callback means these connections. */
    pthread_mutex_lock(&h->lock);
    h->lost = 0;
    pthread_mutex_unlock(&h->lock);
    if (!(conn = host_open(h, reason, len)))
        return -1;
    /* Events come on a connection that makes no calls.  libvirtd 9.0 (Debian
     * 12) can crash when a client holding event callbacks dies with calls in
     * flight: the reply that cannot be sent and the end of the socket each
     * run the callbacks' teardown, on two threads at once.  A gateway killed
     * mid-request was enough.  test:// runs in this process: one connection
     * (a second open of a test:///FILE would be a second world). */
    if (lv_conn_is_test(conn))
        events = virConnectRef(conn) == 0 ? conn : NULL;
    else
        events = host_open(h, reason, len);
    if (!events) {
        snprintf(reason, len, "events connection: %s", virGetLastErrorMessage());
        goto error;
    }
    lifecycle =
        virConnectDomainEventRegisterAny(events, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), h, host_unref);
    if (lifecycle < 0) {
        snprintf(reason, len, "domain events: %s", virGetLastErrorMessage());
        goto error;
    }
    pthread_mutex_lock(&h->lock);
    h->refs++;
    pthread_mutex_unlock(&h->lock);
    metadata =
        virConnectDomainEventRegisterAny(events, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_metadata), h, host_unref);
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
    if (lv_upkeep_sync(h->upkeep, conn, reason, len) < 0)
        goto error;
    /* Repairs the security group guard (a restarted libvirtd or host). */
    if (lv_sg_guard_refresh(conn, &guard_err) < 0)
        cg_warn("zone %s: security group guard: %s", h->zone, guard_err.message);
    /* Still unavailable to workers (h->conn is unset): nothing races it. */
    if (h->hooks.connected)
        h->hooks.connected(h, conn, !h->connected_once, h->hooks.arg);
    h->connected_once = 1;
    /* A loss during the sync stays noted in h->lost: the next round sees it. */
    pthread_mutex_lock(&h->lock);
    h->conn = conn;
    h->events = events;
    h->flips++;
    h->cb_lifecycle = lifecycle;
    h->cb_metadata = metadata;
    pthread_mutex_unlock(&h->lock);
    return 0;

error:
    conns_release(h, conn, events, lifecycle, metadata);
    return -1;
}

/* 1 when the host is connected but the connection died. */
static int host_lost(lv_host *h)
{
    int lost;

    pthread_mutex_lock(&h->lock);
    lost = h->conn &&
           (h->lost || virConnectIsAlive(h->conn) == 0 || virConnectIsAlive(h->events) == 0);
    pthread_mutex_unlock(&h->lock);
    return lost;
}

/* ---- the host's thread ---- */

/* Offer hooks.changed a change of the cache; force: now, however recent the
 * last call. */
static void host_changed(lv_host *h, double now, int force)
{
    uint64_t changes;

    if (!h->hooks.changed || (!force && now < h->next_changed))
        return;
    /* Read first: a change made while the hook runs is offered next time. */
    changes = lv_cache_changes(h->cache);
    if (changes == h->seen_changes)
        return;
    if (h->hooks.changed(h, h->hooks.arg) == 0)
        h->seen_changes = changes;
    h->next_changed = now + LV_HOST_CHANGED_SEC;
}

/* One round: notice a lost connection, (re)connect when it is time, or keep
 * the cache true.  Returns the cg_monotonic() time of the next round (earlier
 * when an event callback or lv_host_stop wakes the thread). */
static double host_round(lv_host *h)
{
    virConnectPtr conn;
    char reason[256];
    double now = cg_monotonic();
    int first;

    if (host_lost(h)) {
        cg_warn("zone %s: connection to %s lost; reconnecting", h->zone, h->uri);
        host_disconnect(h);
        h->next_connect = now;
        h->pause = RECONNECT_MIN_SEC;
    }
    /* Connected means h->conn, lost or not: only this thread clears it, and
     * connecting again before host_disconnect would leak the old one. */
    pthread_mutex_lock(&h->lock);
    if ((conn = h->conn))
        virConnectRef(conn);
    pthread_mutex_unlock(&h->lock);
    if (conn) {
        /* On a connection lost meanwhile these fail at once; the close
         * callback woke the thread for the next round, which reconnects. */
        lv_upkeep_run(h->upkeep, conn, now);
        host_changed(h, now, 0);
        virConnectClose(conn);
        virResetLastError();
        return now + TICK_SEC;
    }
    if (now < h->next_connect)
        return h->next_connect;
    if (host_connect(h, reason, sizeof(reason)) == 0) {
        cg_info("zone %s: connected to %s", h->zone, h->uri);
        h->pause = RECONNECT_MIN_SEC;
        now = cg_monotonic();
    } else {
        pthread_mutex_lock(&h->lock);
        first = !h->attempted;
        pthread_mutex_unlock(&h->lock);
        if (first)
            cg_warn("zone %s: cannot connect to %s: %s", h->zone, h->uri, reason);
        else
            cg_debug("zone %s: reconnect to %s failed: %s", h->zone, h->uri, reason);
        /* A host that stays away is asked less and less often, within bounds. */
        now = cg_monotonic();
        h->next_connect = now + h->pause;
        h->pause = h->pause * 2 < RECONNECT_MAX_SEC ? h->pause * 2 : RECONNECT_MAX_SEC;
    }
    pthread_mutex_lock(&h->lock);
    h->attempted = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    /* Connected: straight on to the upkeep (leases, events noted meanwhile). */
    return lv_host_available(h) ? now : h->next_connect;
}

static void *host_main(void *opaque)
{
    lv_host *h = opaque;
    double next;

    h->pause = RECONNECT_MIN_SEC;
    pthread_mutex_lock(&h->lock);
    while (!h->quit) {
        h->work = 0;
        pthread_mutex_unlock(&h->lock);
        next = host_round(h);
        pthread_mutex_lock(&h->lock);
        while (!h->quit && !h->work && wait_until(h, next) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&h->lock);
    /* What changed since the last call is not lost with the process.  Before
     * disconnecting, which a hung daemon may hold up. */
    if (h->connected_once)
        host_changed(h, cg_monotonic(), 1);
    /* Deregistering and closing talk to the daemon, so they happen here, where
     * a hung daemon keeps only this thread waiting (lv_host_free gives up). */
    host_disconnect(h);
    pthread_mutex_lock(&h->lock);
    h->finished = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ---- the host ---- */

lv_host *lv_host_new(const cg_config *cfg, const cg_zone_config *zone, const lv_host_hooks *hooks,
                     cg_error *err)
{
    lv_host *h = calloc(1, sizeof(*h));
    pthread_condattr_t attr;
    char name[16];

    if (!h) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    /* Deadlines are cg_monotonic() times: a clock step must not stretch them. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &attr);
    pthread_condattr_destroy(&attr);
    h->cb_lifecycle = h->cb_metadata = -1;
    if (hooks)
        h->hooks = *hooks;
    if (!(h->zone = strdup(zone->name)) || !(h->uri = strdup(zone->uri)) ||
        !(h->cache = lv_cache_new()) ||
        !(h->capacity = lv_capacity_new(cfg->memory_overcommit, cfg->cpu_overcommit)) ||
        !(h->upkeep =
              lv_upkeep_new(zone->name, cfg->network, h->cache, h->hooks.ended, h->hooks.arg))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        lv_host_free(h, 0);
        return NULL;
    }
    if (h->hooks.starting)
        h->hooks.starting(h, h->hooks.arg);
    h->seen_changes = lv_cache_changes(h->cache);
    if ((errno = pthread_create(&h->thread, NULL, host_main, h)) != 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "zone %s: cannot start its thread: %s", h->zone,
                     strerror(errno));
        lv_host_free(h, 0);
        return NULL;
    }
    h->thread_started = 1;
    /* "lv:ZONE" in gdb and top; the name is cut to 15 characters. */
    snprintf(name, sizeof(name), "lv:%s", h->zone);
    pthread_setname_np(h->thread, name);
    return h;
}

int lv_host_wait_attempt(lv_host *h, double deadline)
{
    int done;

    pthread_mutex_lock(&h->lock);
    while (!h->attempted && wait_until(h, deadline) != ETIMEDOUT)
        ;
    done = h->attempted;
    pthread_mutex_unlock(&h->lock);
    return done;
}

int lv_host_wait_available(lv_host *h, virConnectPtr lost, double deadline, const int *stop)
{
    int up;

    pthread_mutex_lock(&h->lock);
    /* h->cond is broadcast after every connection attempt and on lv_host_stop. */
    while (!(up = h->conn && !h->lost && h->conn != lost) && !h->quit &&
           !__atomic_load_n(stop, __ATOMIC_ACQUIRE) && wait_until(h, deadline) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&h->lock);
    return up;
}

void lv_host_wake_waiters(lv_host *h)
{
    pthread_mutex_lock(&h->lock);
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void lv_host_stop(lv_host *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->quit = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void lv_host_free(lv_host *h, double deadline)
{
    int finished, refs;

    if (!h)
        return;
    if (h->thread_started) {
        lv_host_stop(h);
        /* The event thread drops the references as it lets the callbacks go. */
        pthread_mutex_lock(&h->lock);
        while (!(h->finished && h->refs == 0) && wait_until(h, deadline) != ETIMEDOUT)
            ;
        finished = h->finished;
        refs = h->refs;
        pthread_mutex_unlock(&h->lock);
        if (!finished) {
            /* Joining could wait forever; process exit ends the thread. */
            cg_err("zone %s: still waiting on libvirt at %s; leaving it to the exit", h->zone,
                   h->uri);
            pthread_detach(h->thread);
            return;
        }
        pthread_join(h->thread, NULL);
        if (refs != 0) {
            cg_err("zone %s: event callbacks not released; leaking the host", h->zone);
            return;
        }
    }
    lv_upkeep_free(h->upkeep);
    lv_cache_free(h->cache);
    free(h->zone);
    free(h->uri);
    lv_capacity_free(h->capacity);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

const char *lv_host_zone(const lv_host *h)
{
    return h->zone;
}

const char *lv_host_uri(const lv_host *h)
{
    return h->uri;
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

uint64_t lv_host_flips(lv_host *h)
{
    uint64_t n;

    pthread_mutex_lock(&h->lock);
    n = h->flips;
    pthread_mutex_unlock(&h->lock);
    return n;
}

const char *lv_conn_type(virConnectPtr conn)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    const char *type;

    pthread_mutex_lock(&lock);
    type = virConnectGetType(conn);
    pthread_mutex_unlock(&lock);
    return type;
}

int lv_conn_is_test(virConnectPtr conn)
{
    const char *type = lv_conn_type(conn);

    return type && strcmp(type, "TEST") == 0;
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

int lv_host_has_conn(lv_host *h, virConnectPtr conn)
{
    int same;

    pthread_mutex_lock(&h->lock);
    same = conn && h->conn == conn;
    pthread_mutex_unlock(&h->lock);
    return same;
}

lv_capacity *lv_host_capacity(lv_host *h)
{
    return h->capacity;
}
