/* cloudgate libvirt driver: volumes (extra disks, like EBS volumes).
 *
 * A volume is a storage volume "<vol-id>.qcow2" (or ".img" when raw) in its
 * zone's pool, described by a row in the volumes table (lv_volstate.c).
 * Attached, it is a virtio disk vdb..vdz of the instance's domain: in the
 * definition always, hot-plugged too while the domain is active.  The row
 * is claimed before libvirt is asked and given back when libvirt refuses, so
 * no row claims an attachment libvirt does not have.  Attach and detach hold
 * the instance busy (lv_instance_take_live) like every instance operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_domxml.h"
#include "lv_driver.h"
#include "lv_storage.h"

#define MIB (1024ULL * 1024ULL)
#define VOLUME_MAX_BYTES (16ULL << 40)   /* 16 TiB, EBS gp3's limit */
/* How long a live detach waits for the guest to let go of the disk. */
#define DETACH_WAIT_SEC 15.0

/* Bit n set: target "vd" + ('a' + n) is in use. */
typedef unsigned int lv_targets;

static void storage_name(const cg_volume *vol, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", vol->id, strcmp(vol->format, "raw") == 0 ? "img" : "qcow2");
}

/* Is dev one of vdb..vdz? */
static int device_ok(const char *dev)
{
    return dev && strlen(dev) == 3 && strncmp(dev, "vd", 2) == 0 && dev[2] >= 'b' &&
           dev[2] <= 'z';
}

/* Add the vdX targets of a domain XML to *used.  0 or -1 (reported). */
static int targets_of(const char *xml, lv_targets *used, cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr obj = NULL;
    int i, ret = -1;

    doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc || !(ctx = xmlXPathNewContext(doc)) ||
        !(obj = xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk/target/@dev", ctx))) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot read the domain XML libvirt returned");
        goto cleanup;
    }
    for (i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
        xmlChar *dev = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);

        if (dev && strlen((char *)dev) == 3 && strncmp((char *)dev, "vd", 2) == 0 &&
            dev[2] >= 'a' && dev[2] <= 'z')
            *used |= 1u << (dev[2] - 'a');
        xmlFree(dev);
    }
    ret = 0;

cleanup:
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return ret;
}

/* The targets of the domain's definition (*config) and, when it is active,
 * of the running domain (*live, else 0).  *active gets virDomainIsActive.
 * They differ after a live unplug the guest has not finished.  0 or -1. */
static int domain_targets(virConnectPtr conn, virDomainPtr dom, lv_targets *config,
                          lv_targets *live, int *active, cg_error *err)
{
    char *xml = NULL;
    int ret = -1;

    *config = *live = 0;
    if ((*active = virDomainIsActive(dom)) < 0 ||
        !(xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "domain %s", virDomainGetName(dom));
        goto cleanup;
    }
    if (targets_of(xml, config, err) < 0)
        goto cleanup;
    if (*active) {
        free(xml);
        if (!(xml = virDomainGetXMLDesc(dom, 0))) {
            lv_report(err, conn, CG_ERR_INTERNAL, "domain %s", virDomainGetName(dom));
            goto cleanup;
        }
        if (targets_of(xml, live, err) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    free(xml);
    return ret;
}

/* <disk type='file' device='disk'> for the volume at path as target dev.
 * The serial is "vol" + the id's digits, as EC2's NVMe disks show it. */
static char *disk_xml(const cg_volume *vol, const char *path, const char *dev, cg_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr disk = NULL, n;
    xmlChar *buf = NULL;
    char serial[24];
    char *xml = NULL;
    int len = 0, ok;

    snprintf(serial, sizeof(serial), "vol%s", vol->id + 4);
    ok = doc && (disk = xmlNewNode(NULL, BAD_CAST "disk"));
    if (ok) {
        xmlDocSetRootElement(doc, disk);
        ok = xmlNewProp(disk, BAD_CAST "type", BAD_CAST "file") &&
             xmlNewProp(disk, BAD_CAST "device", BAD_CAST "disk") &&
             (n = xmlNewChild(disk, NULL, BAD_CAST "driver", NULL)) &&
             xmlNewProp(n, BAD_CAST "name", BAD_CAST "qemu") &&
             xmlNewProp(n, BAD_CAST "type", BAD_CAST vol->format) &&
             (n = xmlNewChild(disk, NULL, BAD_CAST "source", NULL)) &&
             xmlNewProp(n, BAD_CAST "file", BAD_CAST path) &&
             (n = xmlNewChild(disk, NULL, BAD_CAST "target", NULL)) &&
             xmlNewProp(n, BAD_CAST "dev", BAD_CAST dev) &&
             xmlNewProp(n, BAD_CAST "bus", BAD_CAST "virtio") &&
             xmlNewTextChild(disk, NULL, BAD_CAST "serial", BAD_CAST serial);
    }
    if (ok) {
        xmlDocDumpMemory(doc, &buf, &len);
        if (buf)
            xml = strdup((const char *)buf);
    }
    if (!xml)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    xmlFree(buf);
    xmlFreeDoc(doc);
    return xml;
}

/* Disks change only on running or stopped instances: a suspended one
 * resumes with the devices it was saved with.  0 or -1 (CG_ERR_STATE). */
static int check_instance(const cg_instance *inst, cg_error *err)
{
    if (inst->state != CG_STATE_RUNNING && inst->state != CG_STATE_STOPPED) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s; volumes change only while it is "
                     "running or stopped", inst->id, cg_instance_state_name(inst->state));
        return -1;
    }
    if (inst->sub == CG_SUB_SUSPENDED) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is suspended; start it first", inst->id);
        return -1;
    }
    return 0;
}

/* The volume row of id; CG_ERR_NOT_FOUND when there is none.  0 or -1. */
static int volume_get(cg_drv *drv, const char *id, cg_volume *out, cg_error *err)
{
    int rc = lv_volstate_get(drv->state, id, out, err);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "volume %s does not exist", id);
    return rc == 1 ? 0 : -1;
}

/* A connection to the volume's zone, or NULL (reported). */
static virConnectPtr zone_conn(cg_drv *drv, const cg_volume *vol, cg_error *err)
{
    lv_host *h = lv_drv_find_zone(drv, vol->zone);

    if (!h) {
        cg_error_set(err, CG_ERR_INTERNAL, "volume %s is in zone %s, which is not configured",
                     vol->id, vol->zone);
        return NULL;
    }
    return lv_host_conn(h, err);
}

int lv_volume_list(cg_drv *drv, cg_volume_list *out, cg_error *err)
{
    memset(out, 0, sizeof(*out));
    if (lv_volstate_list(drv->state, NULL, out, err) < 0) {
        cg_volume_list_release(out);
        return -1;
    }
    return 0;
}

static int check_spec(const cg_volume_spec *spec, const char **format, cg_error *err)
{
    *format = spec->format ? spec->format : "qcow2";
    if (strcmp(*format, "qcow2") != 0 && strcmp(*format, "raw") != 0) {
        cg_error_set(err, CG_ERR_INVALID, "volume format '%s' is not qcow2 or raw", *format);
        return -1;
    }
    if (spec->instance_id && !device_ok(spec->device)) {
        cg_error_set(err, CG_ERR_INVALID, "device '%s' is not one of vdb..vdz",
                     spec->device ? spec->device : "");
        return -1;
    }
    if ((spec->size_bytes == 0 && !spec->snapshot_id) || spec->size_bytes > VOLUME_MAX_BYTES) {
        cg_error_set(err, CG_ERR_INVALID, "a volume's size must be between 1 byte and 16 TiB");
        return -1;
    }
    return 0;
}

/* A volume from a snapshot: the snapshot (completed) decides the zone and
 * the least size.  Into vol: zone, snapshot_id, size (unrounded).  0 or -1. */
static int from_snapshot(cg_drv *drv, const cg_volume_spec *spec, cg_volume *vol, cg_error *err)
{
    cg_snapshot snap;
    int rc, ret = -1;

    if ((rc = lv_snapstate_get(drv->state, spec->snapshot_id, &snap, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "snapshot %s does not exist", spec->snapshot_id);
        return -1;
    }
    if (strcmp(snap.state, "completed") != 0)
        cg_error_set(err, CG_ERR_STATE, "snapshot %s is %s", snap.id, snap.state);
    else if (spec->zone && strcmp(spec->zone, snap.zone) != 0)
        cg_error_set(err, CG_ERR_INVALID, "snapshot %s is in zone %s, not %s", snap.id,
                     snap.zone, spec->zone);
    else if (spec->size_bytes && spec->size_bytes < snap.size_bytes)
        cg_error_set(err, CG_ERR_INVALID, "a volume of snapshot %s needs at least %llu bytes",
                     snap.id, snap.size_bytes);
    else
        ret = 0;
    if (ret == 0) {
        snprintf(vol->zone, sizeof(vol->zone), "%s", snap.zone);
        snprintf(vol->snapshot_id, sizeof(vol->snapshot_id), "%s", snap.id);
        vol->size_bytes = spec->size_bytes ? spec->size_bytes : snap.size_bytes;
    }
    cg_snapshot_release(&snap);
    return ret;
}

/* A new volume's record in vol (size_bytes already set, zone h): id,
 * format, attachment, rounded size, names and tags.  0 or -1. */
static int new_record(const cg_volume_spec *spec, const char *format, lv_host *h, cg_volume *vol,
                      cg_error *err)
{
    cg_new_id(vol->id, sizeof(vol->id), "vol-");
    snprintf(vol->zone, sizeof(vol->zone), "%s", lv_host_zone(h));
    snprintf(vol->format, sizeof(vol->format), "%s", format);
    snprintf(vol->state, sizeof(vol->state), "%s", spec->instance_id ? "in-use" : "available");
    if (spec->instance_id) {
        /* A launch's or an import's disk: attached from the start (its
         * domain has it before the row exists), so no moment shows it
         * available. */
        snprintf(vol->attached_to, sizeof(vol->attached_to), "%s", spec->instance_id);
        snprintf(vol->device, sizeof(vol->device), "%s", spec->device ? spec->device : "");
        vol->delete_on_termination = spec->delete_on_termination;
    }
    vol->size_bytes = (vol->size_bytes + MIB - 1) / MIB * MIB;
    vol->created = time(NULL);
    if ((spec->name && !(vol->name = strdup(spec->name))) ||
        (spec->description && !(vol->description = strdup(spec->description))) ||
        cg_tags_copy(&vol->tags, spec->tags) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

int lv_volume_create(cg_drv *drv, const cg_volume_spec *spec, cg_volume *out, cg_error *err)
{
    cg_volume vol;
    const char *format;
    lv_host *h;
    virConnectPtr conn = NULL;
    char name[64], *path = NULL;
    int intent = 0, ret = -1;

    memset(&vol, 0, sizeof(vol));
    vol.size_bytes = spec->size_bytes;
    if (check_spec(spec, &format, err) < 0 ||
        (spec->snapshot_id && from_snapshot(drv, spec, &vol, err) < 0) ||
        !(h = lv_drv_pick_zone(drv, spec->snapshot_id ? vol.zone : spec->zone, err)))
        return -1;
    if (new_record(spec, format, h, &vol, err) < 0)
        goto cleanup;
    storage_name(&vol, name, sizeof(name));
    if (!(conn = lv_host_conn(h, err)) ||
        lv_intent_add(drv->state, LV_INTENT_VOLUME, vol.id, vol.zone, name, err) < 0)
        goto cleanup;
    intent = 1;
    if (spec->snapshot_id)
        path = lv_snapshot_restore(drv, conn, vol.snapshot_id, name, vol.size_bytes, format, err);
    else
        path = lv_storage_create(conn, drv->cfg->storage_pool, name, vol.size_bytes, format,
                                 err);
    if (!path)
        goto cleanup;
    if (lv_volstate_add(drv->state, &vol, err) < 0) {
        /* No record, no volume. */
        lv_storage_delete(conn, drv->cfg->storage_pool, name, NULL);
        goto cleanup;
    }
    cg_info("volume %s created in zone %s (%llu MiB, %s%s%s)", vol.id, vol.zone,
            vol.size_bytes / MIB, format, vol.snapshot_id[0] ? ", from " : "", vol.snapshot_id);
    /* The row is the commit point; vol's id moves to *out below. */
    lv_intent_done(drv->state, vol.id);
    intent = 0;
    if (out) {
        *out = vol;
        memset(&vol, 0, sizeof(vol));
    }
    ret = 0;

cleanup:
    if (intent)
        lv_intent_done(drv->state, vol.id);
    if (conn)
        virConnectClose(conn);
    free(path);
    cg_volume_release(&vol);
    return ret;
}

int lv_volume_delete(cg_drv *drv, const char *volume_id, cg_error *err)
{
    cg_volume vol;
    virConnectPtr conn = NULL;
    char name[64];
    int intent = 0, rc, ret = -1;

    if (volume_get(drv, volume_id, &vol, err) < 0)
        return -1;
    storage_name(&vol, name, sizeof(name));
    if (!(conn = zone_conn(drv, &vol, err)) ||
        lv_intent_add(drv->state, LV_INTENT_VOLUME, vol.id, vol.zone, name, err) < 0)
        goto cleanup;
    intent = 1;
    /* The row goes first, and only while available: an attach racing with
     * this delete either claimed the volume before (refused here) or finds
     * it gone. */
    if ((rc = lv_volstate_delete_available(drv->state, volume_id, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_STATE, "volume %s is in use by %s", volume_id,
                         vol.attached_to[0] ? vol.attached_to : "an instance");
        goto cleanup;
    }
    if (lv_storage_delete(conn, drv->cfg->storage_pool, name, err) < 0) {
        cg_error e = {0};

        if (lv_volstate_add(drv->state, &vol, &e) < 0)
            cg_err("volume %s: record lost after a failed delete: %s", volume_id, e.message);
        goto cleanup;
    }
    cg_info("volume %s deleted", volume_id);
    ret = 0;

cleanup:
    if (intent)
        lv_intent_done(drv->state, volume_id);
    if (conn)
        virConnectClose(conn);
    cg_volume_release(&vol);
    return ret;
}

/* The device to attach as: dev checked against used, or the first free. */
static int pick_device(const char *dev, lv_targets used, char *out, size_t len, cg_error *err)
{
    char c;

    if (dev) {
        if (!device_ok(dev)) {
            cg_error_set(err, CG_ERR_INVALID, "device '%s' is not one of vdb..vdz", dev);
            return -1;
        }
        if (used & (1u << (dev[2] - 'a'))) {
            cg_error_set(err, CG_ERR_INVALID, "device %s is already in use", dev);
            return -1;
        }
        snprintf(out, len, "%s", dev);
        return 0;
    }
    for (c = 'b'; c <= 'z'; c++) {
        if (!(used & (1u << (c - 'a')))) {
            snprintf(out, len, "vd%c", c);
            return 0;
        }
    }
    cg_error_set(err, CG_ERR_INVALID, "no free device name (vdb..vdz all in use)");
    return -1;
}

/* disk_xml of vol's storage volume in its pool as dev.  malloc'd or NULL. */
static char *volume_disk_xml(cg_drv *drv, virConnectPtr conn, const cg_volume *vol, const char *dev,
                             cg_error *err)
{
    char name[64], *path, *xml;

    storage_name(vol, name, sizeof(name));
    if (!(path = lv_storage_path(conn, drv->cfg->storage_pool, name, err)))
        return NULL;
    xml = disk_xml(vol, path, dev, err);
    free(path);
    return xml;
}

/* Put vol's disk into instance_id's domain as dev (flags: CONFIG, and LIVE
 * for a running one).  0 or -1 (reported). */
static int plug(cg_drv *drv, virConnectPtr conn, virDomainPtr dom, const cg_volume *vol,
                const char *instance_id, const char *dev, unsigned flags, cg_error *err)
{
    char *xml = NULL;
    int ret = -1;

    if (!(xml = volume_disk_xml(drv, conn, vol, dev, err)))
        goto cleanup;
    if (virDomainAttachDeviceFlags(dom, xml, flags) < 0) {
        /* libvirt's test driver has no disk hot-plug: a 400 the client will
         * not retry, rather than a 500 it retries for minutes. */
        lv_report(err, conn,
                  lv_last_error_code() == VIR_ERR_NO_SUPPORT ? CG_ERR_UNSUPPORTED : CG_ERR_INTERNAL,
                  "attach volume %s to instance %s", vol->id, instance_id);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(xml);
    return ret;
}

int lv_volume_attach(cg_drv *drv, const char *volume_id, const char *instance_id,
                     const char *device, cg_volume *out, cg_error *err)
{
    cg_volume vol;
    cg_instance inst;
    lv_host *h = NULL;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    lv_targets config, live;
    char dev[8];
    int active, claimed = 0, rc, ret = -1;

    memset(&inst, 0, sizeof(inst));
    if (volume_get(drv, volume_id, &vol, err) < 0)
        return -1;
    if (!(h = lv_instance_take_live(drv, instance_id, &inst, err)) ||
        check_instance(&inst, err) < 0)
        goto cleanup;
    if (strcmp(inst.zone, vol.zone) != 0) {
        cg_error_set(err, CG_ERR_INVALID, "volume %s is in zone %s, instance %s in zone %s",
                     volume_id, vol.zone, instance_id, inst.zone);
        goto cleanup;
    }
    if (vol.attached_to[0]) {
        cg_error_set(err, CG_ERR_STATE, "volume %s is already attached to %s", volume_id,
                     vol.attached_to);
        goto cleanup;
    }
    if (!(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, instance_id, err)) ||
        domain_targets(conn, dom, &config, &live, &active, err) < 0 ||
        pick_device(device, config | live, dev, sizeof(dev), err) < 0)
        goto cleanup;
    if ((rc = lv_volstate_attach(drv->state, volume_id, instance_id, dev, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_STATE, "volume %s was attached or deleted meanwhile",
                         volume_id);
        goto cleanup;
    }
    claimed = 1;
    if (plug(drv, conn, dom, &vol, instance_id, dev,
             VIR_DOMAIN_AFFECT_CONFIG | (active ? VIR_DOMAIN_AFFECT_LIVE : 0), err) < 0)
        goto cleanup;
    claimed = 0;
    cg_info("volume %s attached to %s as %s%s", volume_id, instance_id, dev,
            active ? " (hot-plugged)" : "");
    ret = out ? volume_get(drv, volume_id, out, err) : 0;

cleanup:
    if (claimed && lv_volstate_detach(drv->state, volume_id, instance_id, NULL) < 0)
        cg_err("volume %s: still recorded as attached to %s after a failed attach", volume_id,
               instance_id);
    if (h)
        lv_cache_release(lv_host_cache(h), instance_id);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    cg_instance_release(&inst);
    cg_volume_release(&vol);
    return ret;
}

/* Take the volume's disk out of the domain, from wherever it still is (a
 * retry after an unfinished live unplug finds it live only); a disk already
 * gone is fine.  A live unplug needs the guest's help: wait for it, bounded;
 * a guest that does not answer (still booting, no ACPI hotplug) keeps the
 * disk, and the volume stays in use until it lets go or the instance stops. */
static int unplug(cg_drv *drv, virConnectPtr conn, virDomainPtr dom, const cg_volume *vol,
                  cg_error *err)
{
    char *xml = NULL;
    lv_targets bit, config, live;
    unsigned flags;
    double deadline;
    int active, ret = -1;

    if (!device_ok(vol->device))
        return 0;
    bit = 1u << (vol->device[2] - 'a');
    if (domain_targets(conn, dom, &config, &live, &active, err) < 0)
        return -1;
    flags = (config & bit ? VIR_DOMAIN_AFFECT_CONFIG : 0) |
            (live & bit ? VIR_DOMAIN_AFFECT_LIVE : 0);
    if (!flags)
        return 0;
    if (!(xml = volume_disk_xml(drv, conn, vol, vol->device, err)))
        goto cleanup;
    if (virDomainDetachDeviceFlags(dom, xml, flags) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "detach volume %s from instance %s", vol->id,
                  vol->attached_to);
        goto cleanup;
    }
    deadline = cg_monotonic() + DETACH_WAIT_SEC;
    while ((live & bit) && cg_monotonic() < deadline) {
        usleep(200000);
        if (domain_targets(conn, dom, &config, &live, &active, err) < 0)
            goto cleanup;
    }
    if (live & bit) {
        cg_error_set(err, CG_ERR_STATE, "instance %s has not released %s (%s) yet; try again",
                     vol->attached_to, vol->id, vol->device);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(xml);
    return ret;
}

int lv_volume_detach(cg_drv *drv, const char *volume_id, cg_volume *out, cg_error *err)
{
    cg_volume vol;
    cg_instance inst;
    lv_host *h = NULL;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int terminated, ret = -1;

    memset(&inst, 0, sizeof(inst));
    if (volume_get(drv, volume_id, &vol, err) < 0)
        return -1;
    if (!vol.attached_to[0]) {
        cg_error_set(err, CG_ERR_STATE, "volume %s is not attached", volume_id);
        goto cleanup;
    }
    h = lv_instance_take(drv, vol.attached_to, &inst, &terminated, err);
    if (!h && (terminated || err->kind == CG_ERR_NOT_FOUND)) {
        /* The domain is gone, and the disk with it. */
        cg_error_clear(err);
    } else if (!h || check_instance(&inst, err) < 0) {
        goto cleanup;
    } else if (!(conn = lv_host_conn(h, err)) ||
               !(dom = lv_domain_get(conn, vol.attached_to, err)) ||
               unplug(drv, conn, dom, &vol, err) < 0) {
        goto cleanup;
    }
    if (lv_volstate_detach(drv->state, volume_id, vol.attached_to, err) < 0)
        goto cleanup;
    cg_info("volume %s detached from %s", volume_id, vol.attached_to);
    ret = out ? volume_get(drv, volume_id, out, err) : 0;

cleanup:
    if (h)
        lv_cache_release(lv_host_cache(h), vol.attached_to);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    cg_instance_release(&inst);
    cg_volume_release(&vol);
    return ret;
}

/* Terminate: the domain is gone.  Volumes attached with DeleteOnTermination
 * go with it (each as DeleteVolume would: intent, row, storage); the others
 * become available.  Failures are logged and counted: a terminate goes on
 * anyway, a launch that starts over does not (lv_launchq.c). */
int lv_volumes_release_instance(cg_drv *drv, const char *id)
{
    cg_volume_list mine = {0};
    cg_error err = {0};
    size_t i;
    int ret = 0;

    if (lv_volstate_list(drv->state, id, &mine, &err) < 0) {
        cg_warn("instance %s: cannot list its volumes: %s", id, err.message);
        ret = -1;
    }
    cg_error_clear(&err);
    if (lv_volstate_release_instance(drv->state, id, &err) < 0) {
        cg_warn("instance %s: its volumes still show as attached: %s", id, err.message);
        ret = -1;
    }
    for (i = 0; i < mine.n; i++) {
        if (!mine.v[i].delete_on_termination)
            continue;
        cg_error_clear(&err);
        if (lv_volume_delete(drv, mine.v[i].id, &err) < 0) {
            cg_warn("instance %s: volume %s (DeleteOnTermination) left behind: %s", id,
                    mine.v[i].id, err.message);
            ret = -1;
        } else {
            cg_info("volume %s deleted with instance %s", mine.v[i].id, id);
        }
    }
    cg_volume_list_release(&mine);
    return ret;
}

int lv_volume_set_delete_on_termination(cg_drv *drv, const char *instance_id,
                                        const char *device, int flag, cg_error *err)
{
    int rc = lv_volstate_set_delete_on_termination(drv->state, instance_id, device, flag, err);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "no volume is attached to %s as %s", instance_id,
                     device);
    return rc == 1 ? 0 : -1;
}

/* ---- RunInstances' mappings ---------------------------------------------- */

void lv_volumes_launch_free(struct lv_domain_disk *d, size_t n)
{
    size_t i;

    for (i = 0; d && i < n; i++) {
        free((char *)d[i].path);
        free((char *)d[i].serial);
    }
    free(d);
}

int lv_volumes_launch_make(cg_drv *drv, virConnectPtr conn, const cg_instance *inst,
                           const cg_launch_disk *disks, size_t n, struct lv_domain_disk **out,
                           cg_error *err)
{
    lv_domain_disk *d = NULL;
    cg_volume vol;
    char name[64], serial[32];
    size_t i;
    int ret = -1;

    memset(&vol, 0, sizeof(vol));
    *out = NULL;
    if (!(d = calloc(n, sizeof(*d)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        /* DeleteOnTermination until the launch commits: a rollback, or a
         * restart's repair of a cut-short launch, takes them with it. */
        cg_volume_spec spec = {.zone = inst->zone, .size_bytes = disks[i].size_bytes,
                               .instance_id = inst->id, .device = disks[i].device,
                               .delete_on_termination = 1, .tags = disks[i].tags,
                               .snapshot_id = disks[i].snapshot_id};

        if (lv_volume_create(drv, &spec, &vol, err) < 0)
            goto cleanup;
        storage_name(&vol, name, sizeof(name));
        snprintf(serial, sizeof(serial), "vol%.20s", vol.id + 4);
        d[i].format = "qcow2";
        d[i].dev = disks[i].device;
        if (!(d[i].path = lv_storage_path(conn, drv->cfg->storage_pool, name, err)))
            goto cleanup;
        if (!(d[i].serial = strdup(serial))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        cg_volume_release(&vol);
    }
    *out = d;
    d = NULL;
    ret = 0;

cleanup:
    cg_volume_release(&vol);
    lv_volumes_launch_free(d, n);
    return ret;
}

void lv_volumes_launch_commit(cg_drv *drv, const char *instance_id, const cg_launch_disk *disks,
                              size_t n)
{
    cg_error err = {0};
    size_t i;

    for (i = 0; i < n; i++) {
        if (disks[i].delete_on_termination)
            continue;
        if (lv_volstate_set_delete_on_termination(drv->state, instance_id, disks[i].device, 0,
                                                  &err) < 0)
            cg_err("instance %s: %s keeps DeleteOnTermination: %s", instance_id,
                   disks[i].device, err.message);
        cg_error_clear(&err);
    }
}

/* ---- an import's further disks ------------------------------------------- */

int lv_volume_adopt(cg_drv *drv, virConnectPtr conn, virDomainPtr dom, const char *instance_id,
                    const char *zone, const char *device, const char *dir, const char *src,
                    cg_error *err)
{
    /* DeleteOnTermination: the disk came with the instance, as an AMI's
     * mappings do (and an oVirt VM's disks go with the VM). */
    cg_volume_spec spec = {
        .zone = zone, .instance_id = instance_id, .device = device, .delete_on_termination = 1};
    cg_volume vol;
    const char *format;
    lv_host *h;
    char name[64];
    int intent = 0, moved = 0, ret = -1;

    memset(&vol, 0, sizeof(vol));
    if (lv_storage_probe(src, &spec.format, &spec.size_bytes, err) < 0 ||
        check_spec(&spec, &format, err) < 0 || !(h = lv_drv_pick_zone(drv, zone, err)))
        return -1;
    vol.size_bytes = spec.size_bytes;
    if (new_record(&spec, format, h, &vol, err) < 0)
        goto cleanup;
    storage_name(&vol, name, sizeof(name));
    if (lv_intent_add(drv->state, LV_INTENT_VOLUME, vol.id, vol.zone, name, err) < 0)
        goto cleanup;
    intent = 1;
    if (lv_storage_adopt(conn, drv->cfg->storage_pool, dir, src, name, err) < 0)
        goto cleanup;
    moved = 1;
    /* The disk in the domain before the row: a restart finding the row
     * attached to a domain without that disk would make it available (and
     * orphan it); a row never written leaves the intent, which deletes the
     * file (the domain is the locked import's, dropped by its recovery). */
    if (plug(drv, conn, dom, &vol, instance_id, device, VIR_DOMAIN_AFFECT_CONFIG, err) < 0 ||
        lv_volstate_add(drv->state, &vol, err) < 0)
        goto cleanup;
    cg_info("volume %s adopted from %s, attached to %s as %s (%llu MiB)", vol.id, src, instance_id,
            device, vol.size_bytes / MIB);
    ret = 0;

cleanup:
    if (ret < 0 && moved)
        lv_storage_delete(conn, drv->cfg->storage_pool, name, NULL);
    if (intent)
        lv_intent_done(drv->state, vol.id);
    cg_volume_release(&vol);
    return ret;
}
