/* cloudgate libvirt driver: one libvirt host (= availability zone).
 *
 * A host owns its virConnectPtr (shared by the worker threads: libvirt
 * connections are thread-safe), its instance cache, and the event handling
 * that keeps the cache true.  One process-wide event thread runs libvirt's
 * default event loop for every host; per host a 1 s timer on it reconnects
 * after the daemon went away (every 2 s), refreshes DHCP leases (one call per
 * 2 s) and powers off instances whose graceful stop timed out.
 */
#ifndef LV_HOST_H
#define LV_HOST_H

#include <libvirt/libvirt.h>

#include "../../gateway/config.h"
#include "../../gateway/error.h"
#include "lv_cache.h"

typedef struct lv_host lv_host;

/* Start the shared event thread (refcounted; the first call also registers
 * libvirt's default event implementation, before any connection is opened).
 * 0 or -1 (reported). */
int lv_event_start(cg_error *err);
/* Drop one reference; the last stops and joins the thread. */
void lv_event_stop(void);

/* A host for zone, connected when possible: a host that cannot be reached
 * is still returned, marked unavailable, and reconnects on its own; *reason
 * (may be NULL) then gets why.  cfg must outlive the host.  NULL on OOM. */
lv_host *lv_host_new(const cg_config *cfg, const cg_zone_config *zone, char *reason,
                     size_t reason_len);
/* Stop the host's event handling, disconnect and free.  Accepts NULL.
 * Call while the event thread still runs (before lv_event_stop). */
void lv_host_free(lv_host *h);

const char *lv_host_zone(const lv_host *h);
lv_cache *lv_host_cache(lv_host *h);
/* 1 while connected. */
int lv_host_available(lv_host *h);

/* A new reference to the connection (release it with virConnectClose), or
 * NULL with CG_ERR_UNAVAILABLE reported while the host is disconnected. */
virConnectPtr lv_host_conn(lv_host *h, cg_error *err);

/* Set aside memory for `want` instances of `mib` MiB each: as many as fit
 * in the host's free memory (less what other launches set aside), written
 * to *got.  0 or -1 (reported).  Give it back with lv_host_unreserve. */
int lv_host_reserve(lv_host *h, virConnectPtr conn, unsigned mib, unsigned want, unsigned *got,
                    cg_error *err);
void lv_host_unreserve(lv_host *h, unsigned long long mib);

/* Report the calling thread's last libvirt error into err as "WHAT: why",
 * with kind, or CG_ERR_UNAVAILABLE when conn turns out to be dead. */
void lv_report(cg_error *err, virConnectPtr conn, cg_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The libvirt error code of the calling thread's last error (VIR_ERR_OK: none). */
int lv_last_error_code(void);

#endif
