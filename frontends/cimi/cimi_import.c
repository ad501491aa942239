/* cloudgate: CIMI's import operation on the machines and machineImages
 * collections (DSP0263 defines import and export on collections; the
 * collection advertises rel http://schemas.dmtf.org/cimi/1/action/import
 * with its own href).  The Action:
 *
 *   {"resourceURI": "http://schemas.dmtf.org/cimi/1/Action",
 *    "action": "http://schemas.dmtf.org/cimi/1/action/import",
 *    "source": "v2v://PROVIDER/VM" | "file:///PATH.ova|.vmdk|.vhdx",
 *    "name": "...", "description": "..." (images),
 *    "machineConfig": {"href": ".../machineConfigs/TYPE"} (machines),
 *    "properties": {"display": "headless|vnc|spice", "zone": "Z" (machines);
 *                   "seal": "true|false", others: the image's (images)}}
 *
 * A machine import makes a locked Machine (CREATING, no operations, 409 on
 * every action) through an import-instance job; an image import a
 * MachineImage (CREATING) through the import-image job that EC2 shows as
 * an import task.  Both answer 202 with the Job (Location and CIMI-Job-URI);
 * its targetResource is the machine or image once defined.  Refusals
 * (engine/v2v_request.h) make nothing: 400 malformed, 404 unknown provider
 * or VM, 409 a running VM, 501 no local pool directory. */
#include "cimi_internal.h"

#include <stdio.h>
#include <string.h>

#include "../../engine/v2v_request.h"

/* The machineConfig reference's id into type (size len): 0 (none given:
 * type ""), or -1 reported. */
static int config_ref(cimi_call *c, json_object *action, char *type, size_t len)
{
    json_object *ref = NULL;
    const char *href = NULL;

    type[0] = '\0';
    if (cimi_body_obj(c, action, "machineConfig", "Action", &ref) < 0)
        return -1;
    if (!ref)
        return 0;
    if (cimi_body_str(c, ref, "href", "machineConfig", &href) < 0)
        return -1;
    if (!href)
        return cimi_fail(c, 400, "machineConfig must be a reference ({\"href\": ...}) into "
                                 "machineConfigs");
    return cimi_href_id(c, href, "machineConfigs", "machineConfig", type, len);
}

/* display, zone and seal out of props (the rest stays: an image's). */
static int steering_props(cimi_call *c, cg_tags *props, cg_v2v_request *r, char *zone,
                          size_t len)
{
    const char *display = cg_tags_get(props, "display"), *z = cg_tags_get(props, "zone");
    const char *seal = cg_tags_get(props, "seal");

    if (display && (cg_display_parse(display, &r->display) < 0 ||
                    r->display == CG_DISPLAY_DEFAULT))
        return cimi_fail(c, 400, "the display property must be headless, vnc or spice, not "
                                 "'%.32s'", display);
    if (seal && cimi_parse_seal(c, seal, &r->seal) < 0)
        return -1;
    if (z) {
        if (!*z || strlen(z) >= len)
            return cimi_fail(c, 400, "the zone property must name a zone");
        snprintf(zone, len, "%s", z);
        r->zone = zone;
    }
    cg_tags_remove(props, "display", NULL);
    cg_tags_remove(props, "zone", NULL);
    cg_tags_remove(props, "seal", NULL);
    return 0;
}

/* The action URI must be CIMI's import. */
static int check_action(cimi_call *c, json_object *action)
{
    const char *uri = NULL;

    if (cimi_body_str(c, action, "action", "Action", &uri) < 0)
        return -1;
    if (!uri)
        return cimi_fail(c, 400, "the Action has no 'action'");
    if (strcmp(uri, CIMI_ACTION_NS "import") != 0)
        return cimi_fail(c, 400, "a collection takes only the %simport action, not '%.128s'",
                         CIMI_ACTION_NS, uri);
    return 0;
}

void cimi_import(cimi_call *c, json_object *action, int as_template)
{
    cg_v2v_request r = {.as_template = as_template};
    cg_tags props = {0};
    cg_error err = {0};
    char type[72], zone[72];
    cg_job job;

    if (check_action(c, action) < 0 ||
        cimi_body_str(c, action, "source", "Action", &r.source) < 0 ||
        cimi_body_str(c, action, "name", "Action", &r.name) < 0 ||
        cimi_body_str(c, action, "description", "Action", &r.description) < 0 ||
        config_ref(c, action, type, sizeof(type)) < 0 ||
        cimi_body_props(c, action, "Action", &props) < 0 ||
        steering_props(c, &props, &r, zone, sizeof(zone)) < 0)
        goto cleanup;
    if (!r.source || !*r.source) {
        cimi_fail(c, 400, "the import Action needs a source: v2v://PROVIDER/VM or "
                          "file:///PATH (.ova, .vmdk, .vhdx under import_dirs)");
        goto cleanup;
    }
    if ((r.name && (!*r.name || strlen(r.name) > 127)) ||
        (r.description && strlen(r.description) > 255)) {
        cimi_fail(c, 400, "name is 1 to 127 and description at most 255 characters");
        goto cleanup;
    }
    if (!as_template && props.n) {
        cimi_fail(c, 400, "a machine import takes the properties display and zone, not '%.64s'",
                  props.v[0].key);
        goto cleanup;
    }
    r.type_name = type[0] ? type : NULL;
    r.tags = props.n ? &props : NULL;
    if (!c->ctx->core.jobs) {
        cimi_fail(c, 501, "no job store is configured");
        goto cleanup;
    }
    if (cg_v2v_request_submit(&c->ctx->core, &r, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    cimi_reply_job(c, &job, NULL);

cleanup:
    cg_tags_release(&props);
}
