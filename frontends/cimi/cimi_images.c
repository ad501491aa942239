/* cloudgate: CIMI MachineImages: list, create (an import from a URL, or a
 * capture of a machine: both the engine's jobs, engine/images.h), delete,
 * and the graphics consoles the image gives its machines. */
#include "cimi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every image (pending and failed ones too) into *out; -1 reported. */
static int images(cimi_call *c, cg_image_list *out)
{
    cg_error err = {0};

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, out) < 0)
        return cimi_fail_cg(c, &err);
    return 0;
}

int cimi_list_images(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_image_list imgs = {0};
    size_t i;
    int ret = -1;

    if (images(c, &imgs) < 0)
        return -1;
    if (cimi_alloc_objs(c, out, imgs.n) < 0)
        goto cleanup;
    for (i = 0; i < imgs.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_machine_image(c->base, c->ctx->cfg, &imgs.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_image_list_release(&imgs);
    return ret;
}

/* The image id into *out (a copy the caller releases); 404 reported. */
static int image_get(cimi_call *c, const char *id, cg_image *out)
{
    cg_image_list imgs = {0};
    size_t i;
    int ret = -1;

    if (images(c, &imgs) < 0)
        return -1;
    for (i = 0; i < imgs.n && strcmp(imgs.v[i].id, id) != 0; i++)
        ;
    if (i == imgs.n)
        cimi_fail(c, 404, "MachineImage '%.64s' does not exist", id);
    else if (cg_image_copy(out, &imgs.v[i]) < 0)
        cimi_fail(c, 500, "out of memory");
    else
        ret = 0;
    cg_image_list_release(&imgs);
    return ret;
}

/* ---- create ------------------------------------------------------------------------- */

/* What a MachineImage (create) asks for. */
typedef struct image_request {
    const char *name, *description, *location;
    int seal;
    const char *format; /* NULL: from the source */
    cg_tags tags;       /* the other properties */
} image_request;

/* 1 when location names a machine (a capture), else 0 (an import). */
static int is_machine_ref(const char *location)
{
    return strstr(location, "/cimi/machines/") || strncmp(location, "machines/", 9) == 0;
}

/* Schemes an import reads (the engine checks the rest: provider, path). */
static int is_import_url(const char *location)
{
    static const char *const schemes[] = {"glance://", "http://", "https://", "file://"};
    size_t i;

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strncmp(location, schemes[i], strlen(schemes[i])) == 0)
            return 1;
    }
    return 0;
}

static int parse_image_request(cimi_call *c, json_object *body, image_request *r)
{
    const char *type = NULL, *seal, *format;

    if (cimi_body_str(c, body, "name", "name", &r->name) < 0 ||
        cimi_body_str(c, body, "description", "description", &r->description) < 0 ||
        cimi_body_str(c, body, "type", "type", &type) < 0 ||
        cimi_body_str(c, body, "imageLocation", "imageLocation", &r->location) < 0 ||
        cimi_body_props(c, body, "MachineImage", &r->tags) < 0)
        return -1;
    if (type && strcmp(type, "IMAGE") != 0)
        return cimi_fail(c, 501, "only IMAGE machine images can be made, not %.32s", type);
    if (!r->location || !*r->location)
        return cimi_fail(c, 400,
                         "a MachineImage needs an imageLocation: a machine's URI (capture), or "
                         "a glance://PROVIDER/ID, http(s):// or file:/// URL (import)");
    if ((r->name && strlen(r->name) > 127) || (r->description && strlen(r->description) > 255))
        return cimi_fail(c, 400, "name is at most 127 and description 255 characters");
    /* seal and format steer the job; they are not the image's properties. */
    if ((seal = cg_tags_get(&r->tags, "seal")) && cimi_parse_seal(c, seal, &r->seal) < 0)
        return -1;
    if ((format = cg_tags_get(&r->tags, "format"))) {
        if (strcmp(format, "qcow2") != 0 && strcmp(format, "raw") != 0)
            return cimi_fail(c, 400, "the format property must be qcow2 or raw, not '%.32s'",
                             format);
        r->format = strcmp(format, "qcow2") == 0 ? "qcow2" : "raw";
    }
    cg_tags_remove(&r->tags, "seal", NULL);
    cg_tags_remove(&r->tags, "format", NULL);
    return 0;
}

/* DSP0263 5.14.7.1: a MachineImage whose imageLocation is a machine
 * captures it; the machine's state must allow capture. */
static void create_by_capture(cimi_call *c, const image_request *r)
{
    cimi_action act = {.op = CIMI_OP_CAPTURE, .seal = r->seal};
    cg_error err = {0};
    char id[64];
    cg_job job;

    if (r->format) {
        cimi_fail(c, 400, "the format property is for imports; a capture keeps the disk's");
        return;
    }
    if (cimi_href_id(c, r->location, "machines", "imageLocation", id, sizeof(id)) < 0)
        return;
    snprintf(act.image_name, sizeof(act.image_name), "%s", r->name ? r->name : "");
    snprintf(act.image_description, sizeof(act.image_description), "%s",
             r->description ? r->description : "");
    act.image_tags = r->tags.n ? &r->tags : NULL;
    if (cimi_machine_submit(c->ctx, id, &act, ~0u, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    cimi_reply_job(c, &job, NULL);
}

int cimi_import_submit(cimi_call *c, const cg_import_spec *spec, const char *what, cg_job *job)
{
    cg_error err = {0};

    if (!is_import_url(spec->url))
        return cimi_fail(c, 400,
                         "%s '%.128s' is not a glance://, http(s):// or file:/// URL",
                         what, spec->url);
    if (!c->ctx->core.jobs)
        return cimi_fail(c, 501, "no job store is configured");
    if (cg_import_submit(&c->ctx->core, spec, job, &err) < 0) {
        /* Nothing at this URL is missing: the body named something unknown
         * (a Glance provider, a file). */
        if (err.kind == CG_ERR_NOT_FOUND || err.kind == CG_ERR_INVALID)
            return cimi_fail(c, 400, "%s: %s", what, err.message);
        return cimi_fail_cg(c, &err);
    }
    return 0;
}

/* An import of imageLocation as a template: a job that makes a pending
 * image (the job's targetResource once known) and publishes it. */
static void create_by_import(cimi_call *c, const image_request *r)
{
    cg_import_spec spec = {
        .url = r->location,
        .format = r->format,
        .as = CG_IMPORT_TEMPLATE,
        .name = r->name && *r->name ? r->name : NULL,
        .description = r->description,
        .seal = r->seal,
        .tags = r->tags.n ? &r->tags : NULL,
    };
    cg_job job;

    if (cimi_import_submit(c, &spec, "imageLocation", &job) == 0)
        cimi_reply_job(c, &job, NULL);
}

void cimi_image_create(cimi_call *c)
{
    int is_action = 0;
    json_object *body = cimi_body_or_action(c, "MachineImage", &is_action);
    image_request r = {0};

    if (!body)
        return;
    if (is_action) /* the collection's import operation: a template */
        cimi_import(c, body, 1);
    else if (parse_image_request(c, body, &r) == 0) {
        if (is_machine_ref(r.location))
            create_by_capture(c, &r);
        else
            create_by_import(c, &r);
    }
    cg_tags_release(&r.tags);
    json_object_put(body);
}

/* ---- delete ------------------------------------------------------------------------- */

/* Only once no job is making it: a pending image is removed by cancelling
 * (or failing) its job. */
void cimi_image_delete(cimi_call *c, const char *id)
{
    cg_image img = {0};
    cg_error err = {0};

    if (image_get(c, id, &img) < 0)
        goto cleanup;
    if (strcmp(img.state, "pending") == 0) {
        cimi_fail(c, 409, "MachineImage %s is being made by job %s: stop the job to remove it",
                  img.id, img.job_id[0] ? img.job_id : "(unknown)");
        goto cleanup;
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_delete, &err, id) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, NULL, 0);

cleanup:
    cg_image_release(&img);
}

/* ---- graphics consoles ------------------------------------------------------------------ */

/* machineImages/ID/graphicsConsoles: the display machines made from the
 * image get (none: headless).  POST a GraphicsConsole to choose VNC or
 * SPICE, DELETE it to make the image's machines headless. */
int cimi_image_sub(cimi_call *c, const char *id, const char *rest)
{
    const char *proto;
    cg_image img = {0};
    cg_error err = {0};
    char owner[96];
    cg_display d;

    if (!cimi_console_path(rest, &proto))
        return 1;
    if (image_get(c, id, &img) < 0)
        goto cleanup;
    d = img.display;
    snprintf(owner, sizeof(owner), "machineImages/%s", id);
    if (strcmp(c->req->method, "GET") == 0) {
        cimi_reply_consoles(c, owner, d, NULL, proto);
        goto cleanup;
    }
    if (cimi_console_request(c, owner, d, proto, &d) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_set_display, &err, id, d) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    cimi_console_changed(c, owner, d, NULL);

cleanup:
    cg_image_release(&img);
    return 0;
}
