/* cloudgate libvirt driver: instance lifecycle (run, start, stop, reboot,
 * terminate).  Attributes (user-data, tags, modify, console) are in
 * lv_attrs.c. */
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
#include "lv_imds.h"
#include "lv_seed.h"
#include "lv_sg.h"
#include "lv_storage.h"
#include "lv_vpc.h"

/* What one launch made so far, so a failure can undo exactly that. */
typedef struct launched {
    cg_instance inst;
    int intent, cached, volume, log, seed, defined, user_data, disks, nic, groups;
} launched;

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

/* ---- run ---- */

/* Undo what launching l made; failures are logged, the first error stands. */
static void rollback(cg_drv *drv, lv_host *h, virConnectPtr conn, launched *l)
{
    const char *id = l->inst.id;
    char path[4096];
    cg_error e = {0};

    if (l->defined) {
        virDomainPtr dom = virDomainLookupByName(conn, id);

        if (dom) {
            if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
                cg_warn("rollback %s: destroy: %s", id, virGetLastErrorMessage());
            if (undefine(dom) < 0)
                cg_warn("rollback %s: undefine: %s", id, virGetLastErrorMessage());
            virDomainFree(dom);
        }
    }
    if (l->volume) {
        snprintf(path, sizeof(path), "%s.qcow2", id);
        if (lv_storage_delete(conn, drv->cfg->storage_pool, path, &e) < 0)
            cg_warn("rollback %s: %s", id, e.message);
    }
    if (l->disks)
        lv_volumes_release_instance(drv, id);   /* deletes them: still flagged */
    if (l->nic)
        lv_netstate_nic_delete(drv->state, id);
    if (l->groups)
        lv_sg_instance_gone(drv, conn, id);
    if (l->seed) {
        cg_error_clear(&e);
        if (lv_seed_delete(conn, drv->cfg->storage_pool, id, &e) < 0)
            cg_warn("rollback %s: %s", id, e.message);
        lv_state_seed_delete(drv->state, id, NULL);
    }
    if (l->log) {
        lv_drv_console_path(drv, id, path, sizeof(path));
        unlink(path);
    }
    if (l->user_data)
        lv_state_user_data_delete(drv->state, id, NULL);
    if (l->cached)
        lv_cache_remove(lv_host_cache(h), id);
    if (l->intent)
        lv_intent_done(drv->state, id);
    virResetLastError();
}

/* The cloud-init seed ISO of a launch into *path.  0 or -1 (reported). */
static int make_seed(cg_drv *drv, virConnectPtr conn, const cg_launch_spec *spec,
                     const cg_image *img, launched *l, char **path, cg_error *err)
{
    lv_seed_spec seed;

    /* The seed record first: a rollback removes it with the volume.  It keeps
     * what a rebuild (new user-data) needs once the image or key is gone. */
    l->seed = 1;
    memset(&seed, 0, sizeof(seed));
    seed.format = img->seed_format[0] ? img->seed_format : LV_SEED_NOCLOUD;
    if (lv_state_seed_put(drv->state, l->inst.id, seed.format, spec->public_key, err) < 0)
        return -1;
    seed.instance_id = l->inst.id;
    seed.key_name = spec->key_name;
    seed.public_key = spec->public_key;
    seed.user_data = spec->user_data;
    seed.user_data_len = spec->user_data_len;
    *path = lv_seed_create(conn, drv->cfg->storage_pool, &seed, NULL, err);
    return *path ? 0 : -1;
}

/* "ec2" and the 17 hex digits of instance id, padded, as a UUID into buf. */
static void smbios_uuid_of(const char *id, char *buf, size_t len)
{
    char hex[33];

    snprintf(hex, sizeof(hex), "ec2%.17s000000000000", strncmp(id, "i-", 2) == 0 ? id + 2 : id);
    snprintf(buf, len, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Launch one instance (l->inst already filled in).  0 or -1 (reported); what
 * was made is recorded in l either way. */
static int launch(cg_drv *drv, lv_host *h, virConnectPtr conn, const cg_launch_spec *spec,
                  const cg_image *img, launched *l, cg_error *err)
{
    lv_domain_spec ds;
    char vol[64], log[4096], net[256], filter[64];
    char *disk = NULL, *seed_path = NULL, *xml = NULL, uuid[40];
    lv_domain_disk *extra = NULL;
    virDomainPtr dom = NULL;
    int ret = -1;

    /* First: a crash from here on leaves nothing the next start cannot find. */
    if (lv_intent_add(drv->state, LV_INTENT_LAUNCH, l->inst.id, lv_host_zone(h),
                      spec->client_token ? spec->client_token : "", err) < 0)
        goto cleanup;
    l->intent = 1;
    if (lv_capacity_admit(lv_host_capacity(h), lv_host_cache(h), &l->inst, spec->type) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot cache instance %s", l->inst.id);
        goto cleanup;
    }
    l->cached = 1;
    if (lv_vpc_launch_network(drv, spec->subnet_id, lv_host_zone(h), net, sizeof(net), err) < 0)
        goto cleanup;
    if (spec->subnet_id) {
        if (lv_vpc_nic_add(drv, l->inst.id, spec->subnet_id, err) < 0)
            goto cleanup;
        l->nic = 1;
    }
    l->groups = 1;
    if (lv_sg_launch(drv, conn, l->inst.id, spec->subnet_id, lv_host_zone(h), spec->group_ids,
                     spec->n_groups, filter, sizeof(filter), err) < 0)
        goto cleanup;
    snprintf(vol, sizeof(vol), "%s.qcow2", l->inst.id);
    /* An image registered with a root size above its snapshot's grows. */
    if (!(disk = lv_storage_overlay_create(conn, drv->cfg->storage_pool, img->volume, vol,
                                           spec->root_size_bytes > img->size_bytes
                                               ? spec->root_size_bytes
                                               : img->size_bytes,
                                           err)))
        goto cleanup;
    l->volume = 1;
    l->disks = spec->n_disks > 0;
    if (spec->n_disks && lv_volumes_launch_make(drv, conn, &l->inst, spec->disks, spec->n_disks,
                                                &extra, err) < 0)
        goto cleanup;
    lv_drv_console_path(drv, NULL, log, sizeof(log));
    if (cg_mkdir_p(log, 0755) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot create %s: %s", log, strerror(errno));
        goto cleanup;
    }
    lv_drv_console_path(drv, l->inst.id, log, sizeof(log));
    l->log = 1;
    memset(&ds, 0, sizeof(ds));
    /* An "imds" image has no seed: the metadata service serves the guest. */
    if (strcmp(img->seed_format, LV_SEED_IMDS) == 0) {
        smbios_uuid_of(l->inst.id, uuid, sizeof(uuid));
        ds.smbios_uuid = uuid;
    } else if (make_seed(drv, conn, spec, img, l, &seed_path, err) < 0) {
        goto cleanup;
    }
    ds.domain_type = drv->cfg->domain_type;
    ds.name = l->inst.id;
    ds.vcpus = l->inst.vcpus;
    ds.memory_mib = l->inst.memory_mib;
    ds.disk_path = disk;
    ds.disk_format = "qcow2";
    ds.kernel = img->kernel;
    ds.initrd = img->initrd;
    ds.cmdline = img->cmdline;
    ds.network = net;
    ds.mac = l->inst.mac;
    ds.nwfilter = filter[0] ? filter : NULL;
    ds.console_log = log;
    ds.seed_path = seed_path;
    ds.meta = &l->inst;
    ds.extra_disks = extra;
    ds.n_extra_disks = spec->n_disks;
    lv_display_domspec(drv, spec, &ds);
    if (!(xml = lv_domxml_build(&ds, err)))
        goto cleanup;
    if (!(dom = virDomainDefineXML(conn, xml))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "define instance %s", l->inst.id);
        goto cleanup;
    }
    l->defined = 1;
    if (spec->user_data) {
        if (lv_state_user_data_put(drv->state, l->inst.id, spec->user_data, spec->user_data_len,
                                   err) < 0)
            goto cleanup;
        l->user_data = 1;
    }
    if (virDomainCreate(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "start instance %s", l->inst.id);
        goto cleanup;
    }
    sync_state(lv_host_cache(h), dom, l->inst.id);
    ret = 0;

cleanup:
    if (dom)
        virDomainFree(dom);
    lv_volumes_launch_free(extra, spec->n_disks);
    free(disk);
    free(seed_path);
    free(xml);
    return ret;
}

/* Fill inst for the idx-th instance of a launch. */
static int describe_new(cg_drv *drv, lv_host *h, const cg_launch_spec *spec, const char *rid,
                        unsigned idx, cg_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
    cg_new_id(inst->id, sizeof(inst->id), "i-");
    snprintf(inst->image_id, sizeof(inst->image_id), "%s", spec->image_id);
    snprintf(inst->reservation_id, sizeof(inst->reservation_id), "%s", rid);
    snprintf(inst->instance_type, sizeof(inst->instance_type), "%s", spec->type->name);
    snprintf(inst->zone, sizeof(inst->zone), "%s", lv_host_zone(h));
    snprintf(inst->key_name, sizeof(inst->key_name), "%s", spec->key_name ? spec->key_name : "");
    snprintf(inst->client_token, sizeof(inst->client_token), "%s",
             spec->client_token ? spec->client_token : "");
    lv_random_mac(inst->mac, sizeof(inst->mac));
    inst->state = CG_STATE_PENDING;
    inst->launch_time = inst->state_time = time(NULL);
    inst->ami_launch_index = idx;
    inst->vcpus = spec->type->vcpus;
    inst->memory_mib = spec->type->memory_mib;
    return cg_tags_copy(&inst->tags, spec->tags);
}

/* The instances of an earlier launch with the same client token. */
static int replay(cg_drv *drv, const cg_launch_spec *spec, const lv_token *tok,
                  cg_instance_list *out, cg_error *err)
{
    char *ids = NULL, *id, *save = NULL;
    cg_instance inst;
    int ret = -1;

    if (strcmp(tok->image_id, spec->image_id) != 0) {
        cg_error_set(err, CG_ERR_CONFLICT,
                     "client token %s was already used with different parameters",
                     spec->client_token);
        return -1;
    }
    if (!*tok->instance_ids) {
        cg_error_set(err, CG_ERR_CONFLICT, "a launch with client token %s is in progress",
                     spec->client_token);
        return -1;
    }
    if (!(ids = strdup(tok->instance_ids))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
        lv_host *h = lv_drv_find_instance(drv, id);
        int rc = h ? lv_cache_get(lv_host_cache(h), id, &inst) : 0;

        if (rc == 0)
            rc = lv_state_terminated_get(drv->state, id, &inst, err);
        if (rc < 0)
            goto cleanup;
        if (rc == 0)
            continue;   /* terminated long ago and pruned */
        rc = cg_instance_list_append(out, &inst);
        cg_instance_release(&inst);
        if (rc < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    free(ids);
    return ret;
}

lv_host *lv_drv_pick_zone(cg_drv *drv, const char *zone, cg_error *err)
{
    lv_host *h;
    size_t i;

    if (zone) {
        if (!(h = lv_drv_find_zone(drv, zone)))
            cg_error_set(err, CG_ERR_INVALID, "unknown availability zone '%s'", zone);
        return h;
    }
    for (i = 0; i < drv->n_hosts; i++) {
        if (lv_host_available(drv->hosts[i]))
            return drv->hosts[i];
    }
    cg_error_set(err, CG_ERR_UNAVAILABLE, "no availability zone is reachable");
    return NULL;
}

int lv_instance_run(cg_drv *drv, const cg_launch_spec *spec, cg_instance_list *out,
                    cg_error *err)
{
    cg_image img;
    lv_host *h = NULL;
    virConnectPtr conn = NULL;
    lv_token mine, prev = {0};
    launched *l = NULL;
    char rid[24], *ids = NULL;
    unsigned fit = 0, i, made = 0, admitted = 0;
    char short_of[160] = "";
    int claimed = 0, have_img = 0, image_locked = 0, rc, ret = -1;

    memset(&img, 0, sizeof(img));
    if (!spec->image_id || !spec->type || spec->min_count < 1 ||
        spec->max_count < spec->min_count) {
        cg_error_set(err, CG_ERR_INVALID, "invalid launch request");
        return -1;
    }
    if (!(h = lv_drv_place_zone(drv, spec->zone, err)))
        return -1;
    cg_new_id(rid, sizeof(rid), "r-");
    if (spec->client_token && *spec->client_token) {
        memset(&mine, 0, sizeof(mine));
        snprintf(mine.reservation_id, sizeof(mine.reservation_id), "%s", rid);
        snprintf(mine.image_id, sizeof(mine.image_id), "%s", spec->image_id);
        snprintf(mine.zone, sizeof(mine.zone), "%s", lv_host_zone(h));
        if ((rc = lv_state_token_claim(drv->state, spec->client_token, &mine, &prev, err)) < 0)
            goto cleanup;
        if (rc == 0) {
            ret = replay(drv, spec, &prev, out, err);
            goto cleanup;
        }
        claimed = 1;
    }
    /* Shared until the instances are cached: see image_use_lock. */
    pthread_rwlock_rdlock(&drv->image_use_lock);
    image_locked = 1;
    if ((rc = lv_state_image_get(drv->state, spec->image_id, &img, NULL, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", spec->image_id);
        goto cleanup;
    }
    have_img = 1;
    if (strcmp(img.state, "available") != 0) {
        cg_error_set(err, CG_ERR_STATE, "image %s is %s and cannot be launched%s%s",
                     spec->image_id, img.state, img.state_reason[0] ? ": " : "",
                     img.state_reason);
        goto cleanup;
    }
    /* Inspection found no cloud-init: the user-data will not be acted on. */
    if (spec->user_data_len && img.os.type[0] && img.os.cloud_init == 0)
        cg_warn("image %s (%s %s) has no cloud-init: the user-data given to RunInstances will "
                "not be run", img.id, img.os.distro, img.os.version);
    if (!(conn = lv_host_conn(h, err)))
        goto cleanup;
    if (lv_capacity_reserve(lv_host_capacity(h), conn, lv_host_cache(h), spec->type,
                            spec->max_count, &fit, short_of, sizeof(short_of), err) < 0)
        goto cleanup;
    if (fit < spec->min_count) {
        cg_error_set(err, CG_ERR_CAPACITY,
                     "zone %s has room for %u instance(s) of type %s, at least %u requested "
                     "(%s)", lv_host_zone(h), fit, spec->type->name, spec->min_count, short_of);
        goto cleanup;
    }
    if (!(l = calloc(fit, sizeof(*l))) || !(ids = calloc(fit, 24))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < fit; i++) {
        if (describe_new(drv, h, spec, rid, i, &l[i].inst) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        lv_display_launch(drv, spec, &img, &l[i].inst);
        made = i + 1;
        if (lv_imds_put(drv->state, l[i].inst.id, &spec->metadata, err) < 0 ||
            launch(drv, h, conn, spec, &img, &l[i], err) < 0)
            goto cleanup;
        if (i)
            strcat(ids, " ");
        strcat(ids, l[i].inst.id);
    }
    if (claimed && lv_state_token_finish(drv->state, spec->client_token, ids, err) < 0)
        goto cleanup;
    /* Committed (the token names them): no longer for a restart to undo. */
    for (i = 0; i < made; i++) {
        lv_intent_done(drv->state, l[i].inst.id);
        l[i].intent = 0;
        lv_volumes_launch_commit(drv, l[i].inst.id, spec->disks, spec->n_disks);
    }
    for (i = 0; i < made; i++) {
        if (cg_instance_list_append(out, &l[i].inst) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            cg_instance_list_release(out);
            goto cleanup;
        }
    }
    /* Every instance of the call stayed busy and pending until all made it,
     * so nothing could act on one that a rollback would then remove. */
    for (i = 0; i < made; i++) {
        lv_cache_set_overlay(lv_host_cache(h), l[i].inst.id, LV_NO_OVERLAY, 0);
        lv_cache_release(lv_host_cache(h), l[i].inst.id);
    }
    lv_vpc_fill_instances(drv, out);
    lv_sg_fill_instances(drv, out, 0);
    lv_imds_fill_instances(drv, out);
    cg_info("zone %s: reservation %s launched %u instance(s) of %s", lv_host_zone(h), rid,
            made, spec->image_id);
    /* EC2's lastLaunchedTime; the launch stands if it cannot be stored. */
    lv_state_image_set_launched(drv->state, spec->image_id, l[0].inst.launch_time, NULL);
    ret = 0;

cleanup:
    /* What was not admitted into the cache (lv_capacity_admit) is still reserved. */
    for (i = 0; i < made; i++)
        admitted += l[i].cached;
    if (ret < 0 && made) {
        cg_warn("zone %s: launch failed (%s); rolling back %u instance(s)", lv_host_zone(h),
                err ? err->message : "", made);
        for (i = made; i-- > 0;) {
            rollback(drv, h, conn, &l[i]);
            lv_imds_forget(drv->state, l[i].inst.id);
        }
    }
    for (i = 0; i < made; i++)
        cg_instance_release(&l[i].inst);
    if (claimed && ret < 0)
        lv_state_token_drop(drv->state, spec->client_token, NULL);
    if (fit > admitted && h)
        lv_capacity_release(lv_host_capacity(h), spec->type, fit - admitted);
    if (conn)
        virConnectClose(conn);
    if (image_locked)
        pthread_rwlock_unlock(&drv->image_use_lock);
    if (have_img)
        cg_image_release(&img);
    lv_token_release(&prev);
    free(ids);
    free(l);
    return ret;
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

int lv_domain_remove(virConnectPtr conn, const char *id, cg_error *err)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);
    int ret = -1;

    if (!dom) {
        if (lv_last_error_code() == VIR_ERR_NO_DOMAIN) {
            virResetLastError();
            return 0;
        }
        lv_report(err, conn, CG_ERR_INTERNAL, "instance %s", id);
        return -1;
    }
    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "power off instance %s", id);
        goto cleanup;
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
    int terminated, ret = -1;

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
    if (lv_domain_remove(conn, id, err) < 0) {
        lv_cache_set_overlay(c, id, LV_NO_OVERLAY, 0);
        lv_intent_done(drv->state, id);
        goto cleanup;
    }
    /* The domain is gone: from here on the instance is terminated whatever
     * else fails, and leftovers are only logged. */
    lv_sg_instance_gone(drv, conn, id);
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
    cg_info("instance %s terminated", id);
    change(chg, id, prev, CG_STATE_TERMINATED);
    ret = 0;

cleanup:
    lv_cache_release(c, id);
    if (conn)
        virConnectClose(conn);
    cg_instance_release(&inst);
    return ret;
}
