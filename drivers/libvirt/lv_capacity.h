/* cloudgate libvirt driver: how many instances a zone can still take.
 *
 * Placement counts what is committed, as oVirt's and OpenStack's schedulers
 * do, not the host's momentary free memory (virNodeGetFreeMemory reports
 * one NUMA cell on some hosts, and ignores what stopped instances will need
 * when they start): capacity = the host's memory and CPUs times the
 * configured overcommit ratios, less every defined instance's memory and
 * vCPUs (the zone's cache), less what launches in flight set aside.
 */
#ifndef LV_CAPACITY_H
#define LV_CAPACITY_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "../../gateway/config.h"
#include "../../gateway/error.h"
#include "lv_cache.h"

typedef struct lv_capacity lv_capacity;

lv_capacity *lv_capacity_new(double memory_overcommit, double cpu_overcommit);
void lv_capacity_free(lv_capacity *cap);

/* What a zone has: the host's totals, the ratios, what is committed. */
typedef struct lv_capacity_view {
    unsigned long long host_mib, committed_mib, reserved_mib;
    unsigned host_cpus, committed_vcpus, reserved_vcpus;
    double memory_overcommit, cpu_overcommit;
} lv_capacity_view;

/* Set aside room for up to want instances of type: *got of them fit (it
 * may be less than want, even 0; why then says what is short).  Atomic
 * with respect to other reservations on cap.  0 or -1 (libvirt failed). */
int lv_capacity_reserve(lv_capacity *cap, virConnectPtr conn, lv_cache *cache,
                        const cg_instance_type *type, unsigned want, unsigned *got, char *why,
                        size_t whylen, cg_error *err);
/* Add a launching instance to the zone's cache (lv_cache_add_launching)
 * and turn one instance of its reservation into that cache entry.  0 or -1
 * (not added; the reservation stays for lv_capacity_release). */
int lv_capacity_admit(lv_capacity *cap, lv_cache *cache, const cg_instance *inst,
                      const cg_instance_type *type);
/* Give back n instances of type set aside by lv_capacity_reserve. */
void lv_capacity_release(lv_capacity *cap, const cg_instance_type *type, unsigned n);

/* Memory committed in the zone (its cache) plus set aside, MiB: placement's
 * weight (lv_drv_place). */
unsigned long long lv_capacity_committed_mib(lv_capacity *cap, lv_cache *cache);

/* How many instances of mib/vcpus fit in view (pure: the unit tests' way in). */
unsigned lv_capacity_fit(const lv_capacity_view *v, unsigned mib, unsigned vcpus, unsigned want,
                         char *why, size_t whylen);

#endif
