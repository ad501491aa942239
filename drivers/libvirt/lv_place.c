/* cloudgate libvirt driver: which zone a launch that names none goes to.
 *
 * A scheduler's two passes (OpenStack's filters and weighers, oVirt's
 * policy units): the reachable zones are weighed by the memory committed
 * there (defined instances plus launches in flight), least first to spread
 * launches over the hosts (`placement = spread`, OpenStack's RAMWeigher,
 * oVirt's "even distribution") or most first to fill one host before the
 * next (`pack`, oVirt's "power saving"); then, in that order, the first
 * zone where lv_capacity_reserve finds room for the launch takes it.  The
 * reservation is the filter: it is atomic per zone, so the capacity a zone
 * was weighed by cannot be taken twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_driver.h"

size_t lv_place_order(const unsigned long long *committed_mib, const int *available, size_t n,
                      int pack, size_t *order)
{
    size_t i, j, m = 0;

    /* Insertion sort, stable: ties keep the configuration's order. */
    for (i = 0; i < n; i++) {
        if (!available[i])
            continue;
        for (j = m; j > 0; j--) {
            unsigned long long prev = committed_mib[order[j - 1]];
            if (pack ? prev >= committed_mib[i] : prev <= committed_mib[i])
                break;
            order[j] = order[j - 1];
        }
        order[j] = i;
        m++;
    }
    return m;
}

/* Reserve up to spec->max_count in h: 1 with at least min_count (*conn
 * open, *fit reserved), else 0 with err (CG_ERR_CAPACITY when short, the
 * connection's error when unreachable) and nothing kept. */
static int try_zone(lv_host *h, const cg_launch_spec *spec, virConnectPtr *conn, unsigned *fit,
                    char *why, size_t whylen, cg_error *err)
{
    *fit = 0;
    if (!(*conn = lv_host_conn(h, err)))
        return 0;
    if (lv_capacity_reserve(lv_host_capacity(h), *conn, lv_host_cache(h), spec->type,
                            spec->max_count, fit, why, whylen, err) < 0)
        goto fail;
    if (*fit >= spec->min_count)
        return 1;
    lv_capacity_release(lv_host_capacity(h), spec->type, *fit);
    cg_error_set(err, CG_ERR_CAPACITY,
                 "zone %s has room for %u instance(s) of type %s, at least %u requested (%s)",
                 lv_host_zone(h), *fit, spec->type->name, spec->min_count, why);
    *fit = 0;
fail:
    virConnectClose(*conn);
    *conn = NULL;
    return 0;
}

int lv_drv_place(cg_drv *drv, const cg_launch_spec *spec, lv_host **h, virConnectPtr *conn,
                 unsigned *fit, cg_error *err)
{
    unsigned long long *committed = NULL;
    int *available = NULL, short_somewhere = 0, rc = -1;
    size_t *order = NULL, i, n, used = 0;
    char why[160], tried[512] = "";

    *h = NULL;
    if (spec->zone || drv->n_hosts < 2) {
        if (!(*h = lv_drv_pick_zone(drv, spec->zone, err)))
            return -1;
        rc = try_zone(*h, spec, conn, fit, why, sizeof(why), err);
        goto cleanup;
    }
    if (!(committed = calloc(drv->n_hosts, sizeof(*committed))) ||
        !(available = calloc(drv->n_hosts, sizeof(*available))) ||
        !(order = calloc(drv->n_hosts, sizeof(*order)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < drv->n_hosts; i++) {
        available[i] = lv_host_available(drv->hosts[i]);
        if (available[i])
            committed[i] = lv_capacity_committed_mib(lv_host_capacity(drv->hosts[i]),
                                                     lv_host_cache(drv->hosts[i]));
    }
    n = lv_place_order(committed, available, drv->n_hosts, drv->cfg->placement_pack, order);
    if (n == 0) {
        cg_error_set(err, CG_ERR_UNAVAILABLE, "no availability zone is reachable");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        *h = drv->hosts[order[i]];
        cg_error_clear(err);
        if ((rc = try_zone(*h, spec, conn, fit, why, sizeof(why), err)) != 0)
            goto cleanup;
        /* Not here: say why, and try the next. */
        short_somewhere |= err->kind == CG_ERR_CAPACITY;
        if (used < sizeof(tried))
            used += (size_t)snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? "; " : "",
                                     err->message);
    }
    cg_error_clear(err); /* the first error set would stay */
    cg_error_set(err, short_somewhere ? CG_ERR_CAPACITY : CG_ERR_UNAVAILABLE,
                 "no availability zone can take the launch: %s", tried);

cleanup:
    if (rc != 1)
        *h = NULL;
    free(committed);
    free(available);
    free(order);
    return rc == 1 ? 0 : -1;
}
