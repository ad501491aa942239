/* cloudgate: CIMI Volumes (libvirt storage volumes through the driver), a
 * machine's volumes collection: add = attach (hot-plug when running),
 * delete = detach, both as jobs; and VolumeImages (the driver's snapshots,
 * made by EC2 CreateSnapshot/CopySnapshot: listed and deleted here). */
#include "cimi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int list_all(cimi_call *c, cg_volume_list *vols)
{
    cg_error err = {0};

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_list, &err, vols) < 0)
        return cimi_fail_cg(c, &err);
    return 0;
}

int cimi_list_volumes(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_volume_list vols = {0};
    size_t i;
    int ret = -1;

    if (list_all(c, &vols) < 0)
        return -1;
    if (cimi_alloc_objs(c, out, vols.n) < 0)
        goto cleanup;
    for (i = 0; i < vols.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_volume(c->base, &vols.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_volume_list_release(&vols);
    return ret;
}

/* The VolumeCreate's volumeTemplate: a stored one (href) or by value. */
static int template_size(cimi_call *c, json_object *body, unsigned long long *bytes, char *format,
                         size_t flen)
{
    json_object *vt = NULL, *cfg = NULL;
    const char *href = NULL;
    cimi_stored st = {0};
    cg_error err = {0};
    char id[48];
    int r;

    if (cimi_body_obj(c, body, "volumeTemplate", "volumeTemplate", &vt) < 0)
        return -1;
    if (!vt)
        return cimi_fail(c, 400, "the VolumeCreate needs a volumeTemplate");
    if (cimi_body_str(c, vt, "href", "volumeTemplate.href", &href) < 0)
        return -1;
    if (href) {
        if (cimi_href_id(c, href, "volumeTemplates", "volumeTemplate.href", id, sizeof(id)) < 0)
            return -1;
        if ((r = cimi_store_get(c->ctx->cimi, "volumeTemplates", id, &st, &err)) != 0)
            return r < 0 ? cimi_fail_cg(c, &err)
                         : cimi_fail(c, 400,
                                     "volumeTemplate.href: VolumeTemplate '%.64s' does "
                                     "not exist",
                                     id);
        json_object_object_get_ex(st.body, "volumeConfig", &cfg);
        r = cimi_volume_config_bytes(c, cfg, "volumeTemplate.volumeConfig", bytes, format, flen);
        cimi_stored_release(&st);
        return r;
    }
    if (cimi_body_obj(c, vt, "volumeConfig", "volumeTemplate.volumeConfig", &cfg) < 0)
        return -1;
    if (!cfg)
        return cimi_fail(c, 400, "the volumeTemplate needs a volumeConfig (capacity in KB)");
    return cimi_volume_config_bytes(c, cfg, "volumeTemplate.volumeConfig", bytes, format, flen);
}

/* A volumeTemplate whose volumeImage (by value) has an imageLocation URL:
 * the volume is imported from it, as a job (the job's targetResource once
 * made); volumeConfig.format, when given, declares the source's format.
 * 1 when the body asks for an import (answered), 0 when not, -1 reported. */
static int volume_import(cimi_call *c, json_object *body, const cg_tags *tags)
{
    json_object *vt = NULL, *image = NULL, *cfg = NULL;
    const char *url = NULL, *href = NULL, *format = NULL, *name = NULL, *desc = NULL;
    cg_import_spec spec = {.as = CG_IMPORT_VOLUME};
    cg_job job;

    if (cimi_body_obj(c, body, "volumeTemplate", "volumeTemplate", &vt) < 0 ||
        cimi_body_obj(c, vt, "volumeImage", "volumeTemplate.volumeImage", &image) < 0)
        return -1;
    if (!image)
        return 0;
    if (cimi_body_str(c, image, "href", "volumeTemplate.volumeImage.href", &href) < 0 ||
        cimi_body_str(c, image, "imageLocation", "volumeTemplate.volumeImage.imageLocation",
                      &url) < 0 ||
        cimi_body_obj(c, vt, "volumeConfig", "volumeTemplate.volumeConfig", &cfg) < 0 ||
        cimi_body_str(c, cfg, "format", "volumeTemplate.volumeConfig.format", &format) < 0 ||
        cimi_body_str(c, body, "name", "name", &name) < 0 ||
        cimi_body_str(c, body, "description", "description", &desc) < 0)
        return -1;
    if (href && !url)
        return 0;   /* a stored VolumeImage (snapshot): volume_image_ref */
    if (href || !url || !*url)
        return cimi_fail(c, 400,
                         "volumeTemplate.volumeImage: give a stored VolumeImage by href, or "
                         "one by value with an imageLocation (glance://, http(s):// or "
                         "file:/// URL) to import the volume from");
    if (format && strcmp(format, "qcow2") != 0 && strcmp(format, "raw") != 0)
        return cimi_fail(c, 400, "volumeTemplate.volumeConfig.format must be qcow2 or raw");
    spec.url = url;
    spec.format = format;
    spec.name = name && *name ? name : NULL;
    spec.description = desc;
    spec.tags = tags->n ? tags : NULL;
    if (cimi_import_submit(c, &spec, "volumeTemplate.volumeImage.imageLocation", &job) < 0)
        return -1;
    cimi_reply_job(c, &job, NULL);
    return 1;
}

/* A volumeTemplate whose volumeImage is a stored one (href): the volume is
 * a copy of that snapshot, its volumeConfig (capacity, optional) at least
 * as large.  1 with id filled, 0 when there is none, -1 reported. */
static int volume_image_ref(cimi_call *c, json_object *body, char *id, size_t len)
{
    json_object *vt = NULL, *image = NULL;
    const char *href = NULL;

    if (cimi_body_obj(c, body, "volumeTemplate", "volumeTemplate", &vt) < 0 ||
        cimi_body_obj(c, vt, "volumeImage", "volumeTemplate.volumeImage", &image) < 0 ||
        cimi_body_str(c, image, "href", "volumeTemplate.volumeImage.href", &href) < 0)
        return -1;
    if (!href)
        return 0;
    if (cimi_href_id(c, href, "volumeImages", "volumeTemplate.volumeImage.href", id, len) < 0)
        return -1;
    return 1;
}

void cimi_volume_create(cimi_call *c)
{
    json_object *body = cimi_body(c, "VolumeCreate");
    const char *name = NULL, *desc = NULL;
    cg_volume_spec spec = {0};
    cg_volume vol = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    char format[16], snap[48];
    int from_image = 0;
    cimi_obj *o = NULL;

    if (!body)
        return;
    if (cimi_body_str(c, body, "name", "name", &name) < 0 ||
        cimi_body_str(c, body, "description", "description", &desc) < 0 ||
        cimi_body_props(c, body, "VolumeCreate", &tags) < 0 ||
        volume_import(c, body, &tags) != 0 ||
        (from_image = volume_image_ref(c, body, snap, sizeof(snap))) < 0)
        goto cleanup;
    if (from_image) {
        json_object *vt = NULL, *cfg = NULL;

        /* The snapshot's size unless a larger capacity is asked for. */
        snprintf(format, sizeof(format), "qcow2");
        json_object_object_get_ex(body, "volumeTemplate", &vt);
        if (vt && json_object_object_get_ex(vt, "volumeConfig", &cfg) &&
            cimi_volume_config_bytes(c, cfg, "volumeTemplate.volumeConfig", &spec.size_bytes,
                                     format, sizeof(format)) < 0)
            goto cleanup;
        spec.snapshot_id = snap;
    } else if (template_size(c, body, &spec.size_bytes, format, sizeof(format)) < 0) {
        goto cleanup;
    }
    spec.name = name;
    spec.description = desc;
    spec.format = format;
    spec.tags = &tags;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_create, &err, &spec, &vol) < 0) {
        if (from_image && err.kind == CG_ERR_NOT_FOUND)
            cimi_fail(c, 400, "volumeTemplate.volumeImage.href: VolumeImage '%.64s' does not "
                      "exist", snap);
        else
            cimi_fail_cg(c, &err);
        goto cleanup;
    }
    o = cimi_build_volume(c->base, &vol);
    cimi_reply_created(c, o);

cleanup:
    cimi_obj_free(o);
    cg_volume_release(&vol);
    cg_tags_release(&tags);
    json_object_put(body);
}

void cimi_volume_delete(cimi_call *c, const char *id)
{
    cg_error err = {0};

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_delete, &err, id) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, NULL, 0);
}

/* ---- volumeImages ---------------------------------------------------------------- */

int cimi_list_volume_images(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_snapshot_list snaps = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_list, &err, &snaps) < 0)
        return cimi_fail_cg(c, &err);
    if (cimi_alloc_objs(c, out, snaps.n) < 0)
        goto cleanup;
    for (i = 0; i < snaps.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_volume_image(c->base, &snaps.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_snapshot_list_release(&snaps);
    return ret;
}

void cimi_volume_image_delete(cimi_call *c, const char *id)
{
    cg_error err = {0};

    /* Not while pending (its job owns it) nor while an image uses it: 409. */
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_delete, &err, id, 0) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, NULL, 0);
}

/* ---- machines/ID/volumes ------------------------------------------------------------- */

/* The volumes attached to machine id as MachineVolumes (items, n). */
static int machine_volumes(cimi_call *c, const char *id, cimi_obj ***items, size_t *n)
{
    cg_volume_list vols = {0};
    size_t i;
    int ret = -1;

    *items = NULL;
    *n = 0;
    if (list_all(c, &vols) < 0 || cimi_alloc_objs(c, items, vols.n) < 0)
        goto cleanup;
    for (i = 0; i < vols.n; i++) {
        if (strcmp(vols.v[i].attached_to, id) != 0)
            continue;
        if (!((*items)[(*n)++] = cimi_build_machine_volume(c->base, &vols.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_volume_list_release(&vols);
    return ret;
}

cimi_obj *cimi_machine_volumes_collection(cimi_call *c, const char *id)
{
    cimi_obj **items = NULL, *o = NULL;
    char path[128];
    size_t n = 0;

    snprintf(path, sizeof(path), "machines/%s/volumes", id);
    if (machine_volumes(c, id, &items, &n) == 0)
        o = cimi_collection_of(c->base, path, "MachineVolumeCollection", "machineVolumes",
                               "MachineVolume", items, n);
    cimi_free_objs(items, n);
    return o;
}

static void attach(cimi_call *c, const char *id)
{
    json_object *body = cimi_body(c, "MachineVolume"), *ref = NULL;
    const char *href = NULL, *loc = NULL;
    const cg_core *core = &c->ctx->core;
    cg_error err = {0};
    char vol[48], where[700];
    cg_job job;

    if (!body)
        return;
    if (cimi_body_obj(c, body, "volume", "volume", &ref) < 0 ||
        cimi_body_str(c, ref, "href", "volume.href", &href) < 0 ||
        cimi_body_str(c, body, "initialLocation", "initialLocation", &loc) < 0)
        goto cleanup;
    if (!href) {
        cimi_fail(c, 400, "the MachineVolume needs a volume reference ({\"href\": ...})");
        goto cleanup;
    }
    if (cimi_href_id(c, href, "volumes", "volume.href", vol, sizeof(vol)) < 0)
        goto cleanup;
    if (loc && strncmp(loc, "/dev/", 5) == 0)
        loc += 5;
    if (loc && *loc &&
        (strlen(loc) != 3 || strncmp(loc, "vd", 2) != 0 || loc[2] < 'b' || loc[2] > 'z')) {
        cimi_fail(c, 400, "initialLocation must be /dev/vdb ... /dev/vdz");
        goto cleanup;
    }
    if (cg_volume_attach_submit(core, vol, id, loc && *loc ? loc : NULL, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    snprintf(where, sizeof(where), "%smachines/%s/volumes/%s", c->base, id, vol);
    cimi_reply_job(c, &job, where);

cleanup:
    json_object_put(body);
}

int cimi_machine_volumes(cimi_call *c, const char *id, const char *vol)
{
    cimi_obj **items = NULL;
    cg_instance inst = {0};
    const cg_core *core = &c->ctx->core;
    const cimi_attr *a;
    cg_error err = {0};
    char coll[700], want[800];
    size_t n = 0, i;
    cg_job job;

    if (vol && (!*vol || strchr(vol, '/')))
        return 1;
    if (cimi_machine_get(c, id, &inst) < 0 ||
        (strcmp(c->req->method, "GET") != 0 && cimi_machine_unlocked(c, &inst) < 0)) {
        cg_instance_release(&inst);
        return 0;
    }
    cg_instance_release(&inst);
    snprintf(coll, sizeof(coll), "%smachines/%s/volumes", c->base, id);
    if (!vol && strcmp(c->req->method, "POST") == 0) {
        attach(c, id);
        return 0;
    }
    if (strcmp(c->req->method, "GET") != 0 && !(vol && strcmp(c->req->method, "DELETE") == 0)) {
        gw_response_add_header(c->resp, "Allow", vol ? "GET, DELETE" : "GET, POST");
        cimi_fail(c, 405, "%s is not allowed here", c->req->method);
        return 0;
    }
    if (machine_volumes(c, id, &items, &n) < 0)
        goto cleanup;
    if (!vol) {
        cimi_reply_entries(c, coll, "MachineVolumeCollection", "machineVolumes", "MachineVolume",
                           items, n);
        goto cleanup;
    }
    snprintf(want, sizeof(want), "%s/%s", coll, vol);
    for (i = 0; i < n; i++) {
        a = cimi_obj_get(items[i], "id");
        if (a && a->s && strcmp(a->s, want) == 0)
            break;
    }
    if (i == n) {
        cimi_fail(c, 404, "Volume %.64s is not attached to Machine %.64s", vol, id);
    } else if (c->req->method[0] == 'G') {
        cimi_reply(c, 200, items[i]);
    } else if (cg_volume_detach_submit(core, vol, id, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
    } else {
        cimi_reply_job(c, &job, NULL);
    }

cleanup:
    cimi_free_objs(items, n);
    return 0;
}
