/* cloudgate libvirt driver: pause (virDomainSuspend) and suspend (managed
 * save) of instances, and the sub-state the cache shows for them.
 *
 * EC2 has no word for either: a paused instance stays "running" and a
 * suspended one is "stopped"; cg_instance.sub tells them apart for CIMI.
 * instance_start (lv_instances.c) resumes a paused instance and, through
 * virDomainCreate, restores a suspended one from its managed save image.
 */
#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "lv_driver.h"

cg_instance_sub lv_power_sub(virDomainPtr dom, int state)
{
    if (state == VIR_DOMAIN_PAUSED)
        return CG_SUB_PAUSED;
    if (state == VIR_DOMAIN_SHUTOFF && virDomainHasManagedSaveImage(dom, 0) == 1)
        return CG_SUB_SUSPENDED;
    virResetLastError();
    return CG_SUB_NONE;
}

cg_instance_state lv_power_sync(lv_cache *c, virDomainPtr dom, const char *id)
{
    int state, reason;
    cg_instance_state st;

    if (virDomainGetState(dom, &state, &reason, 0) < 0) {
        virResetLastError();
        return CG_STATE_PENDING;
    }
    st = lv_state_from_libvirt(state);
    lv_cache_set_base(c, id, st);
    lv_cache_set_sub(c, id, lv_power_sub(dom, state));
    return st;
}

int lv_power_resume(lv_host *h, const char *id, cg_error *err)
{
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int ret = -1;

    if (!(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, id, err)))
        goto cleanup;
    if (virDomainResume(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "resume instance %s", id);
        goto cleanup;
    }
    lv_power_sync(lv_host_cache(h), dom, id);
    cg_info("instance %s resumed", id);
    ret = 0;

cleanup:
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    return ret;
}

int lv_instance_pause(cg_drv *drv, const char *id, cg_error *err)
{
    lv_op op;
    int ret = -1;

    if (lv_op_take(drv, id, &op, err) < 0)
        return -1;
    if (op.inst.state != CG_STATE_RUNNING) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s and cannot be paused", id,
                     cg_instance_state_name(op.inst.state));
        goto cleanup;
    }
    if (op.inst.sub == CG_SUB_PAUSED) {
        ret = 0;
        goto cleanup;
    }
    if (lv_op_open(&op, err) < 0)
        goto cleanup;
    if (virDomainSuspend(op.dom) < 0) {
        lv_report(err, op.conn, CG_ERR_INTERNAL, "pause instance %s", id);
        goto cleanup;
    }
    lv_power_sync(op.c, op.dom, id);
    cg_info("instance %s paused", id);
    ret = 0;

cleanup:
    lv_op_end(&op);
    return ret;
}

int lv_instance_suspend(cg_drv *drv, const char *id, cg_error *err)
{
    lv_op op;
    char reason[128];
    int ret = -1;

    if (lv_op_take(drv, id, &op, err) < 0)
        return -1;
    if (op.inst.state == CG_STATE_STOPPED && op.inst.sub == CG_SUB_SUSPENDED) {
        ret = 0;
        goto cleanup;
    }
    if (op.inst.state != CG_STATE_RUNNING) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s and cannot be suspended", id,
                     cg_instance_state_name(op.inst.state));
        goto cleanup;
    }
    if (lv_op_open(&op, err) < 0)
        goto cleanup;
    /* Saving the memory takes a while: shown as stopping meanwhile. */
    lv_cache_set_overlay(op.c, id, CG_STATE_STOPPING, 0);
    /* SAVE_RUNNING: a paused instance comes back running at the next start,
     * as instance_start promises. */
    if (virDomainManagedSave(op.dom, VIR_DOMAIN_SAVE_RUNNING) < 0) {
        lv_report(err, op.conn, CG_ERR_INTERNAL, "suspend instance %s", id);
        lv_cache_set_overlay(op.c, id, LV_NO_OVERLAY, 0);
        goto cleanup;
    }
    lv_user_initiated(reason, sizeof(reason));
    lv_cache_set_reason(op.c, id, reason);
    lv_power_sync(op.c, op.dom, id);
    lv_cache_set_overlay(op.c, id, LV_NO_OVERLAY, 0);
    cg_info("instance %s suspended", id);
    ret = 0;

cleanup:
    lv_op_end(&op);
    return ret;
}
