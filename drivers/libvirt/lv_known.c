/* cloudgate libvirt driver: the last known instances of each zone (see
 * lv_known.h). */
#include "lv_known.h"

#include "../../gateway/log.h"
#include "lv_cache.h"
#include "lv_driver.h"
#include "lv_state.h"

void lv_known_load(lv_host *h, void *arg)
{
    cg_drv *drv = arg;
    cg_instance_list l = {0};
    cg_error err = {0};
    size_t i;

    if (lv_state_known_list(drv->state, lv_host_zone(h), &l, &err) < 0) {
        cg_warn("zone %s: last known instances: %s", lv_host_zone(h), err.message);
        return;
    }
    for (i = 0; i < l.n; i++) {
        if (lv_cache_update(lv_host_cache(h), &l.v[i], l.v[i].state) < 0) {
            cg_warn("zone %s: last known instances: out of memory", lv_host_zone(h));
            break;
        }
    }
    if (l.n)
        cg_debug("zone %s: %zu instance(s) known from before", lv_host_zone(h), l.n);
    cg_instance_list_release(&l);
}

int lv_known_save(lv_host *h, void *arg)
{
    cg_drv *drv = arg;
    cg_instance_list l = {0};
    cg_error err = {0};
    int ret = -1;

    if (!drv->reconciles)
        return 0;
    if (lv_cache_snapshot(lv_host_cache(h), &l) < 0) {
        cg_warn("zone %s: saving its instances: out of memory", lv_host_zone(h));
        goto cleanup;
    }
    if (lv_state_known_save(drv->state, lv_host_zone(h), &l, &err) < 0) {
        cg_warn("zone %s: saving its instances: %s", lv_host_zone(h), err.message);
        goto cleanup;
    }
    ret = 0;

cleanup:
    cg_instance_list_release(&l);
    return ret;
}
