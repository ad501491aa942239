/* cloudgate libvirt driver: instance lifecycle (start, stop, reboot,
 * terminate; RunInstances is in lv_launch.c).  Attributes (user-data, tags,
 * modify, console) are in lv_attrs.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_launch.h"
#include "lv_seed.h"
#include "lv_sg.h"
#include "lv_storage.h"
#include "lv_vpc.h"

/* ---- small helpers ---- */

void lv_random_mac(char *buf, size_t len)
{
    unsigned char b[3] = {0};

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        /* getrandom on Linux only fails before the pool is ready; still unique enough. */
        unsigned r = (unsigned)time(NULL) ^ (unsigned)getpid();

        b[0] = r & 0xff;
        b[1] = (r >> 8) & 0xff;
        b[2] = (r >> 16) & 0xff;
    }
    /* 52:54:00 is the prefix QEMU and libvirt use for locally made NICs. */
    snprintf(buf, len, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
}

/* Undefine with everything libvirt may keep beside the definition, falling
 * back to fewer flags for drivers (and versions) that refuse some. */
static int undefine(virDomainPtr dom)
{
    static const unsigned flags[] = {
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM,
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
        0,
    };
    size_t i;

    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        int code;

        if (virDomainUndefineFlags(dom, flags[i]) == 0)
            return 0;
        code = lv_last_error_code();
        if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT &&
            code != VIR_ERR_ARGUMENT_UNSUPPORTED)
            return -1;
    }
    return virDomainUndefine(dom);
}

virDomainPtr lv_domain_get(virConnectPtr conn, const char *id, cg_error *err)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);

    if (!dom) {
        cg_errkind kind = lv_last_error_code() == VIR_ERR_NO_DOMAIN ? CG_ERR_NOT_FOUND
                                                                    : CG_ERR_INTERNAL;

        lv_report(err, conn, kind, "instance %s", id);
    }
    return dom;
}

/* Read the domain's state (and sub-state) into the cache; returns the EC2
 * base state. */
static cg_instance_state sync_state(lv_cache *c, virDomainPtr dom, const char *id)
{
    return lv_power_sync(c, dom, id);
}

lv_host *lv_instance_take(cg_drv *drv, const char *id, cg_instance *inst, int *terminated,
                          cg_error *err)
{
    lv_host *h = lv_drv_find_instance(drv, id);
    char job[32] = "";
    int rc;

    *terminated = 0;
    memset(inst, 0, sizeof(*inst));
again:
    if (h) {
        switch (lv_cache_acquire(lv_host_cache(h), id, inst)) {
        case LV_ACQ_OK:
            if (lv_v2v_locked(drv->state, id, job, sizeof(job)) != 1)
                return h;
            lv_cache_release(lv_host_cache(h), id);
            cg_instance_release(inst);
            cg_error_set(err, CG_ERR_STATE, "instance %s is being imported (job %s): it is "
                                            "locked until the conversion ends", id, job);
            return NULL;
        case LV_ACQ_BUSY:
            /* A pending instance being launched: the operation follows it
             * (the launch either makes it or terminates it). */
            if (lv_launch_wait(drv, id)) {
                h = lv_drv_find_instance(drv, id);
                goto again;
            }
            cg_error_set(err, CG_ERR_STATE, "instance %s has another operation in progress", id);
            return NULL;
        case LV_ACQ_NOMEM:
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return NULL;
        case LV_ACQ_NOT_FOUND:
            break;   /* terminated meanwhile: look below */
        }
    }
    rc = lv_state_terminated_get(drv->state, id, inst, err);
    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "instance %s does not exist", id);
    *terminated = rc == 1;
    return NULL;
}

lv_host *lv_instance_take_live(cg_drv *drv, const char *id, cg_instance *inst, cg_error *err)
{
    int terminated;
    lv_host *h = lv_instance_take(drv, id, inst, &terminated, err);

    if (!h) {
        if (terminated)
            cg_error_set(err, CG_ERR_STATE, "instance %s is terminated", id);
        cg_instance_release(inst);
    }
    return h;
}

int lv_op_take(cg_drv *drv, const char *id, lv_op *op, cg_error *err)
{
    memset(op, 0, sizeof(*op));
    if (!(op->h = lv_instance_take_live(drv, id, &op->inst, err)))
        return -1;
    op->c = lv_host_cache(op->h);
    return 0;
}

int lv_op_open(lv_op *op, cg_error *err)
{
    if (!(op->conn = lv_host_conn(op->h, err)) ||
        !(op->dom = lv_domain_get(op->conn, op->inst.id, err)))
        return -1;
    return 0;
}

void lv_op_end(lv_op *op)
{
    if (op->h)
        lv_cache_release(op->c, op->inst.id);
    if (op->dom)
        virDomainFree(op->dom);
    if (op->conn)
        virConnectClose(op->conn);
    cg_instance_release(&op->inst);
    memset(op, 0, sizeof(*op));
}

static void change(cg_state_change *chg, const char *id, cg_instance_state prev,
                   cg_instance_state cur)
{
    if (!chg)
        return;
    snprintf(chg->id, sizeof(chg->id), "%s", id);
    chg->previous = prev;
    chg->current = cur;
}

/* The state the cache shows now. */
static cg_instance_state shown(lv_host *h, const char *id, cg_instance_state fallback)
{
    cg_instance now;
    cg_instance_state st = fallback;

    if (lv_cache_get(lv_host_cache(h), id, &now) == 1) {
        st = now.state;
        cg_instance_release(&now);
    }
    return st;
}

/* ---- start / stop / reboot / terminate ---- */

int lv_instance_start(cg_drv *drv, const char *id, cg_state_change *chg, cg_error *err)
{
    lv_op op;
    int ret = -1;

    if (lv_op_take(drv, id, &op, err) < 0)
        return -1;
    switch (op.inst.state) {
    case CG_STATE_RUNNING:
        if (op.inst.sub == CG_SUB_PAUSED && lv_power_resume(op.h, id, err) < 0)
            goto cleanup;
        /* fall through */
    case CG_STATE_PENDING:
        change(chg, id, op.inst.state, op.inst.state);
        ret = 0;
        goto cleanup;
    case CG_STATE_STOPPED:
        break;
    default:
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s and cannot be started", id,
                     cg_instance_state_name(op.inst.state));
        goto cleanup;
    }
    if (lv_op_open(&op, err) < 0)
        goto cleanup;
    lv_cache_set_overlay(op.c, id, CG_STATE_PENDING, 0);
    if (virDomainCreate(op.dom) < 0) {
        lv_report(err, op.conn, CG_ERR_INTERNAL, "start instance %s", id);
        lv_cache_set_overlay(op.c, id, LV_NO_OVERLAY, 0);
        goto cleanup;
    }
    lv_cache_set_reason(op.c, id, "");
    sync_state(op.c, op.dom, id);
    lv_display_sync(op.c, op.dom, id);
    lv_cache_set_overlay(op.c, id, LV_NO_OVERLAY, 0);
    change(chg, id, op.inst.state, shown(op.h, id, CG_STATE_RUNNING));
    ret = 0;

cleanup:
    lv_op_end(&op);
    return ret;
}

int lv_instance_stop(cg_drv *drv, const char *id, int force, cg_state_change *chg,
                     cg_error *err)
{
    lv_op op;
    char reason[128];
    int ret = -1;

    if (lv_op_take(drv, id, &op, err) < 0)
        return -1;
    if (op.inst.state == CG_STATE_STOPPED || (op.inst.state == CG_STATE_STOPPING && !force)) {
        change(chg, id, op.inst.state, op.inst.state);
        ret = 0;
        goto cleanup;
    }
    if (op.inst.state != CG_STATE_RUNNING && op.inst.state != CG_STATE_STOPPING) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s and cannot be stopped", id,
                     cg_instance_state_name(op.inst.state));
        goto cleanup;
    }
    if (lv_op_open(&op, err) < 0)
        goto cleanup;
    lv_user_initiated(reason, sizeof(reason));
    if (!force && virDomainShutdown(op.dom) < 0) {
        /* A guest that cannot be asked (no ACPI) is powered off instead. */
        cg_warn("instance %s: graceful shutdown refused (%s); powering off", id,
                virGetLastErrorMessage());
        force = 1;
    }
    if (force && virDomainIsActive(op.dom) == 1 && virDomainDestroy(op.dom) < 0) {
        lv_report(err, op.conn, CG_ERR_INTERNAL, "power off instance %s", id);
        goto cleanup;
    }
    lv_cache_set_reason(op.c, id, reason);
    if (sync_state(op.c, op.dom, id) == CG_STATE_STOPPED)
        lv_cache_set_overlay(op.c, id, LV_NO_OVERLAY, 0);
    else
        lv_cache_set_overlay(op.c, id, CG_STATE_STOPPING,
                             cg_monotonic() + (double)drv->cfg->stop_timeout_sec);
    change(chg, id, op.inst.state, shown(op.h, id, CG_STATE_STOPPING));
    ret = 0;

cleanup:
    lv_op_end(&op);
    return ret;
}

int lv_instance_reboot(cg_drv *drv, const char *id, cg_error *err)
{
    lv_op op;
    int ret = -1;

    if (lv_op_take(drv, id, &op, err) < 0)
        return -1;
    if (op.inst.state != CG_STATE_RUNNING) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s and cannot be rebooted", id,
                     cg_instance_state_name(op.inst.state));
        goto cleanup;
    }
    if (lv_op_open(&op, err) < 0)
        goto cleanup;
    if (virDomainReboot(op.dom, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN) < 0) {
        cg_debug("instance %s: ACPI reboot refused (%s); resetting", id,
                 virGetLastErrorMessage());
        if (virDomainReset(op.dom, 0) < 0) {
            lv_report(err, op.conn, CG_ERR_INTERNAL, "reboot instance %s", id);
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    lv_op_end(&op);
    return ret;
}

/* How many times a removal tries to power off a domain libvirtd is busy with. */
#define REMOVE_TRIES 3

int lv_domain_remove(virConnectPtr conn, const char *id, cg_error *err)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);
    unsigned tries;
    int ret = -1;

    if (!dom) {
        if (lv_last_error_code() == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            return 0;
        }
        lv_report(err, conn, CG_ERR_INTERNAL, "instance %s", id);
        return -1;
    }
    /* libvirtd runs one job per domain: a start still under way (that of a
     * call whose answer went with a lost connection) holds the lock, and
     * the destroy gives up after libvirtd's wait.  It is tried again. */
    for (tries = 1; virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0; tries++) {
        int code = lv_last_error_code();

        /* It went off between the two calls: a libvirtd that has just
         * restarted shows a domain running until it finds its qemu gone.
         * Off is what was wanted. */
        if (code == VIR_ERR_OPERATION_INVALID && virDomainIsActive(dom) == 0) {
            cg_info("instance %s: it stopped before its power off", id);
            virResetLastError();
            break;
        }
        if (code != VIR_ERR_OPERATION_TIMEOUT || tries == REMOVE_TRIES) {
            lv_report(err, conn, CG_ERR_INTERNAL, "power off instance %s", id);
            goto cleanup;
        }
        cg_warn("instance %s: libvirt is busy with it; power off again", id);
    }
    if (undefine(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "undefine instance %s", id);
        goto cleanup;
    }
    ret = 0;

cleanup:
    virDomainFree(dom);
    return ret;
}

/* The terminate intent, with the definition: a restart that finds the
 * domain gone records the terminated instance from it.  0 or -1. */
static int terminate_intent(cg_drv *drv, lv_host *h, virConnectPtr conn, const char *id,
                            cg_error *err)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);
    char *xml = dom ? virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE) : NULL;
    int ret;

    if (dom)
        virDomainFree(dom);
    virResetLastError();
    ret = lv_intent_add(drv->state, LV_INTENT_TERMINATE, id, lv_host_zone(h), xml ? xml : "",
                        err);
    free(xml);
    return ret;
}

int lv_instance_terminate(cg_drv *drv, const char *id, cg_state_change *chg, cg_error *err)
{
    cg_instance inst;
    lv_host *h;
    lv_cache *c;
    virConnectPtr conn = NULL;
    char path[4096];
    cg_error e = {0};
    cg_instance_state prev;
    double t0 = cg_monotonic(), t_domain = 0, t_filter = 0, t_disks = 0;
    int terminated, ret = -1;

    /* Still queued: taken off the queue and terminated at once.  Being
     * launched: waited for, then terminated as usual. */
    if (lv_launch_cancel(drv, id) == 1) {
        change(chg, id, CG_STATE_PENDING, CG_STATE_TERMINATED);
        return 0;
    }
    if (!(h = lv_instance_take(drv, id, &inst, &terminated, err))) {
        if (terminated) {
            change(chg, id, CG_STATE_TERMINATED, CG_STATE_TERMINATED);
            ret = 0;
        }
        cg_instance_release(&inst);
        return ret;
    }
    c = lv_host_cache(h);
    prev = inst.state;
    if (inst.disable_api_termination) {
        cg_error_set(err, CG_ERR_FORBIDDEN,
                     "instance %s has termination protection (disableApiTermination)", id);
        goto cleanup;
    }
    if (!(conn = lv_host_conn(h, err)))
        goto cleanup;
    if (terminate_intent(drv, h, conn, id, err) < 0)
        goto cleanup;
    lv_cache_set_overlay(c, id, CG_STATE_SHUTTING_DOWN, 0);
    /* From here a crash is finished at the next start (fix_terminate). */
    cg_change_recorded();
    if (lv_domain_remove(conn, id, err) < 0) {
        if (err->kind == CG_ERR_UNAVAILABLE) {
            /* The connection failed: the domain may be gone all the same
             * (its reply lost).  The intent stays and the zone's reconnect
             * (or the next start) finishes the terminate; until then it is
             * shutting-down, as answered. */
            cg_warn("terminate %s: finished when zone %s reconnects: %s", id, lv_host_zone(h),
                    err->message);
            cg_error_clear(err);
            change(chg, id, prev, CG_STATE_SHUTTING_DOWN);
            ret = 0;
            goto cleanup;
        }
        lv_cache_set_overlay(c, id, LV_NO_OVERLAY, 0);
        lv_intent_done(drv->state, id);
        goto cleanup;
    }
    /* The domain is gone: from here on the instance is terminated whatever
     * else fails, and leftovers are only logged. */
    t_domain = cg_monotonic();
    lv_sg_instance_gone(drv, conn, id);
    t_filter = cg_monotonic();
    lv_volumes_release_instance(drv, id);
    snprintf(path, sizeof(path), "%s.qcow2", id);
    if (lv_storage_delete(conn, drv->cfg->storage_pool, path, &e) < 0)
        cg_warn("terminate %s: volume left behind: %s", id, e.message);
    cg_error_clear(&e);
    if (lv_seed_delete(conn, drv->cfg->storage_pool, id, &e) < 0)
        cg_warn("terminate %s: seed volume left behind: %s", id, e.message);
    lv_drv_console_path(drv, id, path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        cg_warn("terminate %s: %s: %s", id, path, strerror(errno));
    t_disks = cg_monotonic();
    inst.state = CG_STATE_TERMINATED;
    inst.state_time = time(NULL);
    inst.private_ip[0] = '\0';
    lv_user_initiated(inst.state_reason, sizeof(inst.state_reason));
    if (lv_state_terminated_add(drv->state, &inst, err) < 0) {
        cg_err("terminate %s: the record of the terminated instance was lost", id);
        lv_cache_remove(c, id);
        lv_intent_done(drv->state, id);
        goto cleanup;
    }
    lv_intent_done(drv->state, id);
    lv_cache_remove(c, id);
    /* Where a terminate's time goes (bench/README.md). */
    cg_info("instance %s terminated: domain %.0f ms, then filters %.0f, disks %.0f, record %.0f ms",
            id, (t_domain - t0) * 1000.0, (t_filter - t_domain) * 1000.0,
            (t_disks - t_filter) * 1000.0, (cg_monotonic() - t_disks) * 1000.0);
    change(chg, id, prev, CG_STATE_TERMINATED);
    ret = 0;

cleanup:
    lv_cache_release(c, id);
    if (conn)
        virConnectClose(conn);
    cg_instance_release(&inst);
    return ret;
}
