/* cloudgate libvirt driver: the in-memory instance cache of one host.
 *
 * Filled once per (re)connect from libvirt and kept true by the lifecycle
 * events, so listing instances never asks libvirt anything.  An entry's state
 * is either derived from libvirt ("base") or an overlay the driver sets while
 * it is in the middle of something (pending, stopping, shutting-down).  All
 * functions are thread-safe.
 */
#ifndef LV_CACHE_H
#define LV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../driver.h"

/* No overlay: the state shown is the one derived from libvirt. */
#define LV_NO_OVERLAY (-1)

typedef struct lv_cache lv_cache;

typedef enum {
    LV_ACQ_OK = 0,
    LV_ACQ_NOT_FOUND,
    LV_ACQ_BUSY,
    LV_ACQ_NOMEM,
} lv_acquire_result;

/* One DHCP lease: which address a MAC got. */
typedef struct lv_lease {
    char mac[24];
    char ip[48];
} lv_lease;

/* The EC2 state for a virDomainState value. */
cg_instance_state lv_state_from_libvirt(int vir_state);

/* A new empty cache, or NULL (OOM).  lv_cache_free accepts NULL. */
lv_cache *lv_cache_new(void);
void lv_cache_free(lv_cache *c);

/* Add an instance being launched: busy, shown as pending.  0, or -1 when the
 * id is already there or memory runs out. */
int lv_cache_add_launching(lv_cache *c, const cg_instance *inst);

/* Add or refresh an instance read from libvirt with its libvirt-derived state.
 * An existing entry keeps its overlay, busy mark and private IP.  0 or -1. */
int lv_cache_update(lv_cache *c, const cg_instance *inst, cg_instance_state base);

/* The entry's revision (cg_instance.rev; 0: not cached), and
 * lv_cache_update only if it is still rev: 1 done, 0 the entry changed
 * meanwhile (a reader of libvirt then reads again: what it read may be
 * older than that change), -1 out of memory. */
uint64_t lv_cache_rev(lv_cache *c, const char *id);
int lv_cache_update_if(lv_cache *c, const cg_instance *inst, cg_instance_state base, uint64_t rev);

/* Make the cache hold exactly v[0..n) (after a (re)connect): missing entries
 * are dropped unless busy, present ones refreshed as lv_cache_update does. */
int lv_cache_sync(lv_cache *c, const cg_instance *v, const cg_instance_state *base, size_t n);

/* Drop an entry.  Returns 1 if it was there, 0 if not. */
int lv_cache_remove(lv_cache *c, const char *id);

/* Is the id cached; is it busy? */
int lv_cache_contains(lv_cache *c, const char *id);
int lv_cache_is_busy(lv_cache *c, const char *id);

/* Deep copy of one entry into out (caller releases).  1 found, 0 not, -1 OOM. */
int lv_cache_get(lv_cache *c, const char *id, cg_instance *out);

/* Mark an entry busy for one operation; out (may be NULL) receives a deep
 * copy on LV_ACQ_OK.  A busy entry is refused with LV_ACQ_BUSY. */
lv_acquire_result lv_cache_acquire(lv_cache *c, const char *id, cg_instance *out);
/* Clear the busy mark set by lv_cache_acquire or lv_cache_add_launching. */
void lv_cache_release(lv_cache *c, const char *id);

/* The libvirt-derived state changed (event or our own call).  A stopping
 * overlay ends when the base state becomes stopped. */
void lv_cache_set_base(lv_cache *c, const char *id, cg_instance_state base);
/* Set an overlay (a cg_instance_state) or LV_NO_OVERLAY.  deadline: the
 * cg_monotonic() time at which a stopping instance is powered off, 0 none. */
void lv_cache_set_overlay(lv_cache *c, const char *id, int overlay, double deadline);
void lv_cache_set_reason(lv_cache *c, const char *id, const char *reason);
/* Paused / suspended as libvirt shows it now (lv_power_sub). */
void lv_cache_set_sub(lv_cache *c, const char *id, cg_instance_sub sub);
/* Replace the tags of an entry.  0, or -1 (not found / OOM). */
int lv_cache_set_tags(lv_cache *c, const char *id, const cg_tags *tags);

/* What a running entry's display is now (from its live XML); cleared again
 * whenever the entry is not running. */
void lv_cache_set_display(lv_cache *c, const char *id, cg_display live, const char *addr,
                          int port);

/* Set every entry's private_ip from the leases, matched by MAC. */
void lv_cache_set_leases(lv_cache *c, const lv_lease *leases, size_t n);

/* Append deep copies of all entries to out.  0 or -1 (OOM). */
int lv_cache_snapshot(lv_cache *c, cg_instance_list *out);

/* Ids (at most max) of idle stopping entries whose power-off deadline passed. */
size_t lv_cache_due_stops(lv_cache *c, double now, char (*ids)[24], size_t max);

/* The memory and vCPUs of every defined instance, stopped ones included
 * (they take them back when they start): what placement counts. */
void lv_cache_committed(lv_cache *c, unsigned long long *mib, unsigned *vcpus);
/* Number of entries launched from image_id. */
size_t lv_cache_count_image(lv_cache *c, const char *image_id);
size_t lv_cache_size(lv_cache *c);
/* A count that moves with every change of the entries (lv_known.c saves a
 * zone's instances when it moved). */
uint64_t lv_cache_changes(lv_cache *c);

#endif
