/* cloudgate libvirt driver: RunInstances.  The request validates, reserves,
 * records and queues; each instance's disks, seed, definition and start are
 * made on its zone's launch queue (lv_launchq.c).  See lv_launch.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"
#include "lv_imds.h"
#include "lv_launch.h"
#include "lv_seed.h"
#include "lv_sg.h"
#include "lv_storage.h"
#include "lv_vpc.h"

struct lv_launch_batch {
    int refs;                    /* atomic */
    cg_launch_spec spec;         /* its pointers point at the members below */
    cg_image img;
    cg_tags tags;
    cg_launch_disk *disks;
    cg_tags *disk_tags;
    char **strings;              /* every string copied, freed together */
    size_t n_strings;
};

/* ---- the batch: what the jobs of one call share ---- */

/* A copy of s kept in b (NULL stays NULL); 0 or -1 (OOM). */
static int keep(lv_launch_batch *b, const char *s, const char **out)
{
    char **grown;

    *out = NULL;
    if (!s)
        return 0;
    if (!(grown = realloc(b->strings, (b->n_strings + 1) * sizeof(*grown))))
        return -1;
    b->strings = grown;
    if (!(b->strings[b->n_strings] = strdup(s)))
        return -1;
    *out = b->strings[b->n_strings++];
    return 0;
}

static void batch_free(lv_launch_batch *b)
{
    size_t i;

    for (i = 0; i < b->n_strings; i++)
        free(b->strings[i]);
    free(b->strings);
    for (i = 0; b->disk_tags && i < b->spec.n_disks; i++)
        cg_tags_release(&b->disk_tags[i]);
    free(b->disk_tags);
    free(b->disks);
    free((void *)b->spec.group_ids);
    free((void *)b->spec.user_data);
    cg_tags_release(&b->tags);
    cg_image_release(&b->img);
    free(b);
}

/* The disks (the image's and the request's, lv_launch_disks_merge) and
 * groups of spec into b.  0 or -1 (OOM). */
static int batch_copy_lists(lv_launch_batch *b, const cg_launch_spec *spec, const cg_image *img)
{
    const char **groups;
    size_t i, n;

    b->spec.disks = NULL;
    b->spec.n_disks = 0;
    b->spec.volume_tags = NULL;
    b->spec.group_ids = NULL;
    /* The merged list is the batch's own; what it borrows is copied in place. */
    if (lv_launch_disks_merge(img, spec, &b->disks, &n) < 0)
        return -1;
    if (n) {
        if (!(b->disk_tags = calloc(n, sizeof(*b->disk_tags))))
            return -1;
        b->spec.disks = b->disks;
        for (i = 0; i < n; i++) {
            const cg_tags *tags = b->disks[i].tags;

            b->disks[i].tags = NULL;
            b->spec.n_disks = i + 1;
            if ((tags && cg_tags_copy(&b->disk_tags[i], tags) < 0) ||
                keep(b, b->disks[i].snapshot_id, &b->disks[i].snapshot_id) < 0)
                return -1;
            if (tags)
                b->disks[i].tags = &b->disk_tags[i];
        }
    }
    if (spec->n_groups) {
        if (!(groups = calloc(spec->n_groups, sizeof(*groups))))
            return -1;
        b->spec.group_ids = groups;
        for (i = 0; i < spec->n_groups; i++) {
            if (keep(b, spec->group_ids[i], &groups[i]) < 0)
                return -1;
        }
    }
    return 0;
}

lv_launch_batch *lv_launch_batch_new(const cg_launch_spec *spec, const cg_image *img)
{
    lv_launch_batch *b = calloc(1, sizeof(*b));
    unsigned char *ud;

    if (!b)
        return NULL;
    b->refs = 1;
    b->spec = *spec;
    if (cg_image_copy(&b->img, img) < 0) {
        free(b);
        return NULL;
    }
    b->spec.user_data = NULL;
    if (spec->user_data) {
        /* One byte more: an empty user-data still needs a buffer. */
        if (!(ud = malloc(spec->user_data_len + 1)))
            goto fail;
        memcpy(ud, spec->user_data, spec->user_data_len);
        b->spec.user_data = ud;
    }
    b->spec.tags = NULL;
    if (spec->tags) {
        if (cg_tags_copy(&b->tags, spec->tags) < 0)
            goto fail;
        b->spec.tags = &b->tags;
    }
    if (keep(b, spec->image_id, &b->spec.image_id) < 0 || keep(b, spec->zone, &b->spec.zone) < 0 ||
        keep(b, spec->key_name, &b->spec.key_name) < 0 ||
        keep(b, spec->public_key, &b->spec.public_key) < 0 ||
        keep(b, spec->client_token, &b->spec.client_token) < 0 ||
        keep(b, spec->display_password, &b->spec.display_password) < 0 ||
        keep(b, spec->subnet_id, &b->spec.subnet_id) < 0 || batch_copy_lists(b, spec, img) < 0)
        goto fail;
    return b;

fail:
    batch_free(b);
    return NULL;
}

void lv_launch_batch_unref(lv_launch_batch *b)
{
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
        batch_free(b);
}

void lv_launch_batch_ref(lv_launch_batch *b)
{
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
}

/* ---- undo ---- */

/* What undo_built could not remove. */
enum {
    LEFT_IN_LIBVIRT = 1, /* a marked piece (a step failed, or no connection) */
    LEFT_VOLUME = 2,     /* a further volume, now shown as available */
};

/* Remove what lv_launch_build made (domain, root overlay, further volumes,
 * seed, console log, user-data), clearing the mark of each piece removed:
 * one that stays keeps its mark, so a later undo (lv_launch_undo after a
 * cut lv_launch_clear) tries it again.  0, or LEFT_* bits. */
static int undo_built(cg_drv *drv, virConnectPtr conn, lv_launched *l)
{
    const char *id = l->inst.id;
    char path[4096];
    cg_error e = {0};
    int left = 0;

    if (l->defined) {
        if (lv_domain_remove(conn, id, &e) < 0) {
            cg_warn("rollback %s: %s", id, e.message);
            left |= LEFT_IN_LIBVIRT;
        } else {
            l->defined = 0;
        }
    }
    if (l->volume) {
        cg_error_clear(&e);
        snprintf(path, sizeof(path), "%s.qcow2", id);
        if (lv_storage_delete(conn, drv->cfg->storage_pool, path, &e) < 0) {
            cg_warn("rollback %s: %s", id, e.message);
            left |= LEFT_IN_LIBVIRT;
        } else {
            l->volume = 0;
        }
    }
    if (l->disks) {
        /* Deletes them (still flagged DeleteOnTermination).  One left shows
         * as available, and the next call would not find it attached: the
         * mark goes either way. */
        if (lv_volumes_release_instance(drv, id) < 0)
            left |= LEFT_VOLUME;
        l->disks = 0;
    }
    if (l->seed) {
        cg_error_clear(&e);
        if (!conn || lv_seed_delete(conn, drv->cfg->storage_pool, id, &e) < 0) {
            if (conn)
                cg_warn("rollback %s: %s", id, e.message);
            left |= LEFT_IN_LIBVIRT;
        } else {
            lv_state_seed_delete(drv->state, id, NULL);
            l->seed = 0;
        }
    }
    if (l->log) {
        lv_drv_console_path(drv, id, path, sizeof(path));
        unlink(path);
        l->log = 0;
    }
    if (l->user_data) {
        lv_state_user_data_delete(drv->state, id, NULL);
        l->user_data = 0;
    }
    return left;
}

void lv_launch_undo(cg_drv *drv, lv_host *h, virConnectPtr conn, lv_launched *l, const char *why)
{
    const char *id = l->inst.id;
    cg_error e = {0};
    /* A piece in libvirt may stay: the intent stays too. */
    int cut = undo_built(drv, conn, l) & LEFT_IN_LIBVIRT;

    if (l->nic)
        lv_netstate_nic_delete(drv->state, id);
    if (l->groups && conn)
        lv_sg_instance_gone(drv, conn, id);
    else if (l->groups)
        cut = 1;
    lv_imds_forget(drv->state, id);
    if (why) {
        /* As EC2 shows a launch that failed: terminated, with the reason. */
        l->inst.state = CG_STATE_TERMINATED;
        l->inst.state_time = time(NULL);
        l->inst.private_ip[0] = '\0';
        snprintf(l->inst.state_reason, sizeof(l->inst.state_reason), "%s", why);
        if (lv_state_terminated_add(drv->state, &l->inst, &e) < 0)
            cg_err("launch %s: the record of its failure was lost: %s", id, e.message);
    }
    if (l->cached)
        lv_cache_remove(lv_host_cache(h), id);
    /* Kept, the intent has the zone's reconnect (or the next start) remove
     * what libvirt may still hold: a recorded failure is never adopted. */
    if (l->intent && cut)
        cg_warn("rollback %s: what stays in libvirt goes when the zone reconnects", id);
    else if (l->intent)
        lv_intent_done(drv->state, id);
    virResetLastError();
}

int lv_launch_clear(cg_drv *drv, virConnectPtr conn, lv_launched *l)
{
    /* A define or start whose answer went with the connection may have
     * happened all the same: the domain goes by name (none is fine). */
    if (l->volume)
        l->defined = 1;
    return undo_built(drv, conn, l) ? -1 : 0; /* a volume left, too: no new attempt */
}

/* ---- the worker's part ---- */

/* The cloud-init seed ISO of a launch into *path.  0 or -1 (reported). */
static int make_seed(cg_drv *drv, virConnectPtr conn, const cg_launch_spec *spec,
                     const cg_image *img, lv_launched *l, char **path, cg_error *err)
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

/* Milliseconds since *mark, and *mark moved to now. */
static double lap(double *mark)
{
    double now = cg_monotonic(), ms = (now - *mark) * 1000.0;

    *mark = now;
    return ms;
}

int lv_launch_build(cg_drv *drv, lv_host *h, virConnectPtr conn, lv_launch_batch *b,
                    lv_launched *l, cg_error *err)
{
    const cg_launch_spec *spec = &b->spec;
    const cg_image *img = &b->img;
    lv_domain_spec ds;
    char vol[64], log[4096];
    char *disk = NULL, *seed_path = NULL, *xml = NULL, uuid[40];
    lv_domain_disk *extra = NULL;
    virDomainPtr dom = NULL;
    double mark = l->queued;
    int ret = -1;

    l->ms_wait = lap(&mark);
    snprintf(vol, sizeof(vol), "%s.qcow2", l->inst.id);
    /* An image registered with a root size above its snapshot's grows. */
    l->volume = 1;
    if (!(disk = lv_storage_overlay_create(conn, drv->cfg->storage_pool, img->volume, vol,
                                           spec->root_size_bytes > img->size_bytes
                                               ? spec->root_size_bytes
                                               : img->size_bytes,
                                           err)))
        goto cleanup;
    l->ms_disk = lap(&mark);
    l->disks = spec->n_disks > 0;
    if (spec->n_disks && lv_volumes_launch_make(drv, conn, &l->inst, spec->disks, spec->n_disks,
                                                &extra, err) < 0)
        goto cleanup;
    l->ms_volumes = lap(&mark);
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
    l->ms_seed = lap(&mark);
    if (l->groups &&
        lv_sg_launch_filter(drv, conn, l->inst.id, l->filter, sizeof(l->filter), err) < 0)
        goto cleanup;
    l->ms_filter = lap(&mark);
    ds.domain_type = drv->cfg->domain_type;
    ds.name = l->inst.id;
    ds.vcpus = l->inst.vcpus;
    ds.memory_mib = l->inst.memory_mib;
    ds.disk_path = disk;
    ds.disk_format = "qcow2";
    ds.kernel = img->kernel;
    ds.initrd = img->initrd;
    ds.cmdline = img->cmdline;
    ds.network = l->net;
    ds.mac = l->inst.mac;
    ds.nwfilter = l->filter[0] ? l->filter : NULL;
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
    l->ms_define = lap(&mark);
    if (virDomainCreate(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "start instance %s", l->inst.id);
        goto cleanup;
    }
    l->ms_start = lap(&mark);
    /* The base state from libvirt now (running), not a moment later from the
     * event: clearing the pending overlay must never show it stopped. */
    lv_power_sync(lv_host_cache(h), dom, l->inst.id);
    lv_display_sync(lv_host_cache(h), dom, l->inst.id);
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

void lv_launch_commit(cg_drv *drv, lv_host *h, lv_launch_batch *b, lv_launched *l)
{
    lv_volumes_launch_commit(drv, l->inst.id, b->spec.disks, b->spec.n_disks);
    lv_intent_done(drv->state, l->inst.id);
    l->intent = 0;
    lv_cache_set_overlay(lv_host_cache(h), l->inst.id, LV_NO_OVERLAY, 0);
    lv_cache_release(lv_host_cache(h), l->inst.id);
}

/* ---- the request's part ---- */

char *lv_launch_intent_data(const cg_instance *inst, cg_error *err)
{
    char *meta = lv_metadata_build(inst, err), *xml;

    if (!meta)
        return NULL;
    xml = cg_asprintf("<domain><name>%s</name><metadata>%s</metadata>"
                      "<memory unit='KiB'>%llu</memory><vcpu>%u</vcpu></domain>",
                      inst->id, meta, (unsigned long long)inst->memory_mib * 1024, inst->vcpus);
    free(meta);
    if (!xml)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    return xml;
}

/* Record instance l->inst of a launch: the intent (so a crash from here on
 * leaves nothing a restart cannot find), the cache entry (pending, busy),
 * its network and security groups (checked now: their errors are the
 * caller's; the groups' filter is the worker's, lv_launch_build).  0 or -1
 * (reported), what was made in l. */
static int launch_record(cg_drv *drv, lv_host *h, const cg_launch_spec *spec, lv_launched *l,
                         cg_error *err)
{
    char *data = lv_launch_intent_data(&l->inst, err);
    int rc;

    if (!data)
        return -1;
    rc = lv_intent_add(drv->state, LV_INTENT_LAUNCH, l->inst.id, lv_host_zone(h), data, err);
    free(data);
    if (rc < 0)
        return -1;
    l->intent = 1;
    if (lv_capacity_admit(lv_host_capacity(h), lv_host_cache(h), &l->inst, spec->type) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot cache instance %s", l->inst.id);
        return -1;
    }
    l->cached = 1;
    if (lv_vpc_launch_network(drv, spec->subnet_id, lv_host_zone(h), l->net, sizeof(l->net),
                              err) < 0)
        return -1;
    if (spec->subnet_id) {
        if (lv_vpc_nic_add(drv, l->inst.id, spec->subnet_id, err) < 0)
            return -1;
        l->nic = 1;
    }
    l->groups = 1;
    return lv_sg_launch(drv, l->inst.id, spec->subnet_id, lv_host_zone(h), spec->group_ids,
                        spec->n_groups, err);
}

/* Fill inst for the idx-th instance of a launch accepted at time now. */
static int describe_new(lv_host *h, const cg_launch_spec *spec, const char *rid, unsigned idx,
                        time_t now, cg_instance *inst)
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
    inst->launch_time = inst->state_time = now;
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

/* The image of a launch, read and checked (available).  0 or -1. */
static int launch_image(cg_drv *drv, const cg_launch_spec *spec, cg_image *img, cg_error *err)
{
    int rc = lv_state_image_get(drv->state, spec->image_id, img, NULL, err);

    if (rc <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", spec->image_id);
        return -1;
    }
    if (strcmp(img->state, "available") != 0) {
        cg_error_set(err, CG_ERR_STATE, "image %s is %s and cannot be launched%s%s",
                     spec->image_id, img->state, img->state_reason[0] ? ": " : "",
                     img->state_reason);
        return -1;
    }
    /* Inspection found no cloud-init: the user-data will not be acted on. */
    if (spec->user_data_len && img->os.type[0] && img->os.cloud_init == 0)
        cg_warn("image %s (%s %s) has no cloud-init: the user-data given to RunInstances will "
                "not be run", img->id, img->os.distro, img->os.version);
    return 0;
}

/* The zone an image's disks tie its launches to, into zone ("" : any):
 * a registered image's snapshot's, or its further disks' snapshots' (a
 * launch copies them in their zone).  0, or -1 when spec asks for another
 * zone (CG_ERR_INVALID) or on error. */
static int image_zone(cg_drv *drv, const cg_launch_spec *spec, const cg_image *img, char *zone,
                      size_t len, cg_error *err)
{
    cg_snapshot snap;
    size_t i;
    int rc;

    snprintf(zone, len, "%s", img->zone);
    for (i = 0; !zone[0] && i < img->n_mappings; i++) {
        if (!img->mappings[i].snapshot_id[0])
            continue;
        memset(&snap, 0, sizeof(snap));
        if ((rc = lv_snapstate_get(drv->state, img->mappings[i].snapshot_id, &snap, err)) < 0)
            return -1;
        if (rc > 0)
            snprintf(zone, len, "%s", snap.zone);
        cg_snapshot_release(&snap);
    }
    if (zone[0] && spec->zone && strcmp(spec->zone, zone) != 0) {
        cg_error_set(err, CG_ERR_INVALID,
                     "image %s launches in zone %s, where the snapshots of its disks are", img->id,
                     zone);
        return -1;
    }
    return 0;
}

int lv_instance_run(cg_drv *drv, const cg_launch_spec *spec, cg_instance_list *out,
                    cg_error *err)
{
    cg_launch_spec pinned;
    char zone[64];
    cg_image img;
    lv_host *h = NULL;
    lv_launchq *q;
    lv_launch_batch *b = NULL;
    virConnectPtr conn = NULL;
    lv_token mine, prev = {0};
    lv_launched **l = NULL;
    char rid[24], *ids = NULL;
    unsigned fit = 0, i, made = 0, admitted = 0, queued = 0;
    int claimed = 0, image_locked = 0, rc, ret = -1;
    /* EC2's LaunchTime: when RunInstances accepted the launch, one value
     * for the reservation and the image's lastLaunchedTime alike. */
    time_t now = time(NULL);

    memset(&img, 0, sizeof(img));
    if (!spec->image_id || !spec->type || spec->min_count < 1 ||
        spec->max_count < spec->min_count) {
        cg_error_set(err, CG_ERR_INVALID, "invalid launch request");
        return -1;
    }
    cg_new_id(rid, sizeof(rid), "r-");
    if (spec->client_token && *spec->client_token) {
        memset(&mine, 0, sizeof(mine));
        snprintf(mine.reservation_id, sizeof(mine.reservation_id), "%s", rid);
        snprintf(mine.image_id, sizeof(mine.image_id), "%s", spec->image_id);
        /* The zone asked for: placement comes after the claim. */
        snprintf(mine.zone, sizeof(mine.zone), "%s", spec->zone ? spec->zone : "");
        if ((rc = lv_state_token_claim(drv->state, spec->client_token, &mine, &prev, err)) < 0)
            goto cleanup;
        if (rc == 0) {
            ret = replay(drv, spec, &prev, out, err);
            goto cleanup;
        }
        claimed = 1;
    }
    /* Shared until the instances are cached: see image_use_lock.  From then
     * on the cache entries keep the image from being deregistered. */
    pthread_rwlock_rdlock(&drv->image_use_lock);
    image_locked = 1;
    if (launch_image(drv, spec, &img, err) < 0 ||
        image_zone(drv, spec, &img, zone, sizeof(zone), err) < 0)
        goto cleanup;
    if (zone[0] && !spec->zone) {
        pinned = *spec;
        pinned.zone = zone;
        spec = &pinned;
    }
    if (lv_drv_place(drv, spec, &h, &conn, &fit, err) < 0)
        goto cleanup;
    if (!(q = lv_launchq_of(drv, h))) {
        cg_error_set(err, CG_ERR_INTERNAL, "zone %s has no launch workers", lv_host_zone(h));
        goto cleanup;
    }
    if (lv_launchq_reserve(q, fit, err) < 0)
        goto cleanup;
    queued = fit;
    if (!(l = calloc(fit, sizeof(*l))) || !(ids = calloc(fit, 24)) ||
        !(b = lv_launch_batch_new(spec, &img))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < fit; i++) {
        if (!(l[i] = calloc(1, sizeof(*l[i]))) ||
            describe_new(h, spec, rid, i, now, &l[i]->inst) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        made = i + 1;
        lv_display_launch(drv, spec, &img, &l[i]->inst);
        if (lv_imds_put(drv->state, l[i]->inst.id, &spec->metadata, err) < 0 ||
            launch_record(drv, h, spec, l[i], err) < 0)
            goto cleanup;
        if (i)
            strcat(ids, " ");
        strcat(ids, l[i]->inst.id);
    }
    /* The token names the instances now: a repeat gets them, pending or not. */
    if (claimed &&
        lv_state_token_finish(drv->state, spec->client_token, lv_host_zone(h), ids, err) < 0)
        goto cleanup;
    for (i = 0; i < made; i++) {
        if (cg_instance_list_append(out, &l[i]->inst) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            cg_instance_list_release(out);
            goto cleanup;
        }
    }
    lv_vpc_fill_instances(drv, out);
    lv_sg_fill_instances(drv, out, 0);
    lv_imds_fill_instances(drv, out);
    /* The workers own them from here: nothing below can fail. */
    for (i = 0; i < made; i++) {
        lv_launchq_push(q, b, l[i]);
        l[i] = NULL;
    }
    queued = 0;
    cg_info("zone %s: reservation %s: %u instance(s) of %s queued", lv_host_zone(h), rid, made,
            spec->image_id);
    /* EC2's lastLaunchedTime; the launch stands if it cannot be stored. */
    lv_state_image_set_launched(drv->state, spec->image_id, now, NULL);
    ret = 0;

cleanup:
    /* What was not admitted into the cache (lv_capacity_admit) is still reserved. */
    for (i = 0; ret < 0 && i < made; i++)
        admitted += l[i]->cached;
    if (ret < 0 && made) {
        cg_warn("zone %s: launch failed (%s); rolling back %u instance(s)", lv_host_zone(h),
                err ? err->message : "", made);
        for (i = made; i-- > 0;)
            lv_launch_undo(drv, h, conn, l[i], NULL);
    }
    for (i = 0; l && i < fit; i++) {
        if (l[i])
            cg_instance_release(&l[i]->inst);
        free(l[i]);
    }
    if (queued)
        lv_launchq_unreserve(q, queued);
    if (claimed && ret < 0)
        lv_state_token_drop(drv->state, spec->client_token, NULL);
    if (ret == 0)
        admitted = fit;
    if (fit > admitted && h)
        lv_capacity_release(lv_host_capacity(h), spec->type, fit - admitted);
    if (conn)
        virConnectClose(conn);
    if (image_locked)
        pthread_rwlock_unlock(&drv->image_use_lock);
    cg_image_release(&img);
    lv_launch_batch_unref(b);
    lv_token_release(&prev);
    free(ids);
    free(l);
    return ret;
}
