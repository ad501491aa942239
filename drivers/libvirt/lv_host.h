/* cloudgate libvirt driver: one libvirt host (= availability zone).
 *
 * A host owns its virConnectPtr (shared by the worker threads: libvirt
 * connections are thread-safe), its instance cache, and a maintenance thread
 * of its own.  That thread makes every libvirt call the host needs on its own
 * account: it connects and reconnects (pausing 2 s after a failed attempt,
 * doubling up to 10 s), re-syncs the cache, re-reads the domains events named,
 * refreshes DHCP leases and powers off instances whose graceful stop timed out
 * (lv_upkeep.c).
 *
 * Any of those calls waits as long as the daemon does, and a daemon that hangs
 * (rather than exits) keeps its socket accepting and never answers.  So none of
 * them runs on the one process-wide thread that runs libvirt's default event
 * loop: that thread only dispatches events and keepalive, and the callbacks it
 * runs only note work for the host's thread.  Keepalive can then turn a hung
 * daemon into a lost connection, and one hung host holds up no other.
 */
#ifndef LV_HOST_H
#define LV_HOST_H

#include <libvirt/libvirt.h>

#include "../../gateway/config.h"
#include "../../gateway/error.h"
#include "lv_cache.h"
#include "lv_capacity.h"

typedef struct lv_host lv_host;

/* Start the shared event thread (refcounted; the first call also registers
 * libvirt's default event implementation, before any connection is opened).
 * 0 or -1 (reported). */
int lv_event_start(cg_error *err);
/* Drop one reference; the last stops and joins the thread. */
void lv_event_stop(void);

/* What the driver does for a host (arg: the driver's own, given to each). */
typedef struct lv_host_hooks {
    /* In lv_host_new, before the thread starts: may fill the cache with what
     * is known from before (lv_known.c); the first connection replaces it. */
    void (*starting)(lv_host *h, void *arg);
    /* On the host's thread each time a connection succeeds: after the cache
     * is filled, before the zone takes work (it is still unavailable).
     * first is 1 the first time in the host's life, when it may repair what
     * a crash left (lv_reconcile.c); on a reconnect (first 0) operations of
     * this process may be in flight, so only what their failure left is
     * finished. */
    void (*connected)(lv_host *h, virConnectPtr conn, int first, void *arg);
    /* On the host's thread while connected, when the cache changed, at most
     * every LV_HOST_CHANGED_SEC, and once more as the thread finishes.  0:
     * that change is dealt with; -1: offer it again. */
    int (*changed)(lv_host *h, void *arg);
    /* On the host's thread: 1 when instance id has ended for good (its
     * failure or termination is recorded), so an event for a domain of
     * it that libvirt still holds must not cache it again (lv_upkeep.c). */
    int (*ended)(const char *id, void *arg);
    void *arg;
} lv_host_hooks;

#define LV_HOST_CHANGED_SEC 2.0

/* A host for zone, its thread started on the first connection attempt: the
 * zone is unavailable until that succeeds.  cfg must outlive the host's
 * creation only; hooks (may be NULL, and any of its functions) is copied and
 * called as described above.  NULL (reported) on OOM or when no thread can
 * be started. */
lv_host *lv_host_new(const cg_config *cfg, const cg_zone_config *zone, const lv_host_hooks *hooks,
                     cg_error *err);
/* Wait until the host's first connection attempt is over (1) or until
 * deadline, a cg_monotonic() time (0). */
int lv_host_wait_attempt(lv_host *h, double deadline);
/* Wait until the zone is available on a connection other than lost (NULL:
 * any), until deadline (a cg_monotonic() time), until the host stops, or
 * until *stop is set (read atomically: whoever sets it then calls
 * lv_host_wake_waiters).  1 when available. */
int lv_host_wait_available(lv_host *h, virConnectPtr lost, double deadline, const int *stop);
/* Have the threads in lv_host_wait_available look again. */
void lv_host_wake_waiters(lv_host *h);
/* Ask the host's thread to disconnect and finish; returns at once.  Accepts NULL. */
void lv_host_stop(lv_host *h);
/* Stop the host, wait until deadline (a cg_monotonic() time) for its thread,
 * and free it.  A thread still inside a libvirt call then (a hung daemon) is
 * left to the process exit, and the host with it (logged).  Accepts NULL.
 * Call while the event thread still runs (before lv_event_stop). */
void lv_host_free(lv_host *h, double deadline);

const char *lv_host_zone(const lv_host *h);
/* The zone's libvirt URI. */
const char *lv_host_uri(const lv_host *h);
lv_cache *lv_host_cache(lv_host *h);
/* 1 while connected. */
int lv_host_available(lv_host *h);
/* A count that moves whenever lv_host_available's answer may have. */
uint64_t lv_host_flips(lv_host *h);

/* A new reference to the connection (release it with virConnectClose), or
 * NULL with CG_ERR_UNAVAILABLE reported while the host is disconnected. */
virConnectPtr lv_host_conn(lv_host *h, cg_error *err);
/* 1 when conn is h's current connection (a reference lv_host_conn gave). */
int lv_host_has_conn(lv_host *h, virConnectPtr conn);
/* virConnectGetType(conn), one caller at a time: libvirt's remote driver
 * (9.0) caches the answer in the connection without a lock, so two threads
 * asking at once leak a copy.  Every caller in the driver comes here. */
const char *lv_conn_type(virConnectPtr conn);
/* 1 when conn is libvirt's test driver. */
int lv_conn_is_test(virConnectPtr conn);

/* The zone's capacity for new instances (lv_capacity.h). */
lv_capacity *lv_host_capacity(lv_host *h);

/* Report the calling thread's last libvirt error into err as "WHAT: why",
 * with kind, or CG_ERR_UNAVAILABLE when conn turns out to be dead. */
void lv_report(cg_error *err, virConnectPtr conn, cg_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The libvirt error code of the calling thread's last error (VIR_ERR_OK: none). */
int lv_last_error_code(void);

#endif
