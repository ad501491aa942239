/* cloudgate libvirt driver: which zone a launch that names none goes to.
 *
 * The weigher of a scheduler (OpenStack's RAMWeigher, oVirt's "even
 * distribution"): among the reachable zones, the one with the least memory
 * committed (defined instances plus launches in flight), so launches
 * spread over the hosts instead of filling the first one.  Whether the
 * launch fits is lv_capacity_reserve's call, in the zone chosen here.
 */
#include <stdlib.h>

#include "lv_driver.h"

size_t lv_place_least_committed(const unsigned long long *committed_mib, const int *available,
                                size_t n)
{
    size_t i, best = n;

    for (i = 0; i < n; i++) {
        /* Ties keep the configuration's order: the first zone wins. */
        if (available[i] && (best == n || committed_mib[i] < committed_mib[best]))
            best = i;
    }
    return best;
}

lv_host *lv_drv_place_zone(cg_drv *drv, const char *zone, cg_error *err)
{
    unsigned long long *committed = NULL;
    int *available = NULL;
    lv_host *h = NULL;
    size_t i, best;

    if (zone || drv->n_hosts < 2)
        return lv_drv_pick_zone(drv, zone, err);
    if (!(committed = calloc(drv->n_hosts, sizeof(*committed))) ||
        !(available = calloc(drv->n_hosts, sizeof(*available)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < drv->n_hosts; i++) {
        available[i] = lv_host_available(drv->hosts[i]);
        if (available[i])
            committed[i] = lv_capacity_committed_mib(lv_host_capacity(drv->hosts[i]),
                                                     lv_host_cache(drv->hosts[i]));
    }
    best = lv_place_least_committed(committed, available, drv->n_hosts);
    if (best == drv->n_hosts) {
        cg_error_set(err, CG_ERR_UNAVAILABLE, "no availability zone is reachable");
        goto cleanup;
    }
    h = drv->hosts[best];

cleanup:
    free(committed);
    free(available);
    return h;
}
