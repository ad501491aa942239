/* cloudgate libvirt driver: what keeps one host's instance cache true.
 *
 * Reading domains into the cache (the full re-sync after a (re)connect, and
 * single domains an event named), powering off instances whose graceful stop
 * timed out, and refreshing DHCP leases.  Each of these asks libvirt and so may
 * block for as long as the daemon does: only the host's own maintenance thread
 * (lv_host.c) calls them.  The one exception is lv_upkeep_mark, which the event
 * callbacks call on the shared libvirt event thread: it only notes the domain.
 */
#ifndef LV_UPKEEP_H
#define LV_UPKEEP_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "lv_cache.h"

typedef struct lv_upkeep lv_upkeep;

/* Upkeep of cache for zone, whose DHCP leases come from network (both are
 * copied).  ended (may be NULL): 1 for an instance that has ended for good;
 * an event for its domain does not bring it back into the cache (a failed
 * launch whose undo was cut leaves the domain to the next reconcile).
 * NULL on OOM; lv_upkeep_free accepts NULL. */
lv_upkeep *lv_upkeep_new(const char *zone, const char *network, lv_cache *cache,
                         int (*ended)(const char *id, void *arg), void *ended_arg);
void lv_upkeep_free(lv_upkeep *u);

/* Note that dom changed; reload: its XML too (1), not only its state, or
 * LV_MARK_DISPLAY: its state and the running display (the live XML's
 * graphics; nothing else is replaced).  Never blocks.  Returns 1 when the
 * thread has new work, 0 if dom was noted already, -1 on OOM (logged: the
 * change is missed until the next re-sync). */
#define LV_MARK_DISPLAY 2
int lv_upkeep_mark(lv_upkeep *u, virDomainPtr dom, int reload);

/* Forget the marks and the network handle: their connection is going away.
 * Call after the event callbacks are deregistered, before closing it. */
void lv_upkeep_reset(lv_upkeep *u);

/* Fill the cache from every domain of conn (after a (re)connect; the events
 * are registered first, so no change falls between the two).  Also starts
 * the lease refresh afresh.  0, or -1 with reason set. */
int lv_upkeep_sync(lv_upkeep *u, virConnectPtr conn, char *reason, size_t len);

/* One round on a live connection: re-read the marked domains (looked up on
 * conn: events come on a connection of their own), power off
 * instances whose stop timed out, refresh the leases (at most every 2 s). */
void lv_upkeep_run(lv_upkeep *u, virConnectPtr conn, double now);

#endif
