/* cloudgate: EC2 displays and screenshots.
 *
 * EC2 has no headless/VNC/SPICE setting, so cloudgate uses what AWS tools
 * already send:
 *   - tag cloudgate:display=headless|vnc|spice in RunInstances'
 *     TagSpecification (consumed: it picks the display, it is not stored as a
 *     tag) and in CreateTags on an instance (a stored change, applied at the
 *     next start) or an image (the default of machines made from it);
 *   - read-only pseudo tags in DescribeInstances and DescribeImages (not in
 *     DescribeTags, which lists the tags users set):
 *     cloudgate:display (the stored choice), and while running
 *     cloudgate:display-live (what runs now) and cloudgate:display-address
 *     (host:port of its VNC/SPICE server);
 *   - StartInstances AdditionalInfo=cloudgate:run-once=DISPLAY;
 *   - ModifyInstanceAttribute Attribute=cloudgateDisplay Value=DISPLAY.
 * GetConsoleScreenshot returns a PNG (AWS returns JPG).
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../gateway/util.h"

#define RUN_ONCE_PREFIX "cloudgate:run-once="

static int bad_display(ec2_call *c, const char *what, const char *value)
{
    return ec2_fail(c, "InvalidParameterValue",
                    "Value (%.64s) for %s is invalid. Expecting headless, vnc or spice.", value,
                    what);
}

int ec2_display_parse(ec2_call *c, const char *what, const char *value, cg_display *out)
{
    if (!value || cg_display_parse(value, out) < 0)
        return bad_display(c, what, value ? value : "");
    return 0;
}

int ec2_display_tag_take(ec2_call *c, cg_tags *tags, cg_display *display)
{
    const char *v;

    *display = CG_DISPLAY_DEFAULT;
    if (ec2_tags_refuse_reserved(c, tags, EC2_TAG_DISPLAY) < 0)
        return -1;
    if (!(v = cg_tags_get(tags, EC2_TAG_DISPLAY)))
        return 0;
    if (ec2_display_parse(c, "tag " EC2_TAG_DISPLAY, v, display) < 0)
        return -1;
    cg_tags_remove(tags, EC2_TAG_DISPLAY, NULL);
    return 0;
}

static int pseudo(cg_tags *tags, const cg_instance *inst)
{
    char addr[96];

    if (inst->state == CG_STATE_TERMINATED)
        return 0;
    if (cg_tags_set(tags, EC2_TAG_DISPLAY, cg_display_name(inst->display ? inst->display
                                                                           : CG_DISPLAY_HEADLESS)) < 0)
        return -1;
    if (inst->state != CG_STATE_RUNNING || inst->display_live == CG_DISPLAY_DEFAULT)
        return 0;
    if (cg_tags_set(tags, EC2_TAG_DISPLAY_LIVE, cg_display_name(inst->display_live)) < 0)
        return -1;
    if (inst->display_live == CG_DISPLAY_HEADLESS || inst->display_port <= 0)
        return 0;
    /* An IPv6 listen address needs brackets before the port. */
    snprintf(addr, sizeof(addr), strchr(inst->display_addr, ':') ? "[%s]:%d" : "%s:%d",
             inst->display_addr[0] ? inst->display_addr : "127.0.0.1", inst->display_port);
    return cg_tags_set(tags, EC2_TAG_DISPLAY_ADDRESS, addr);
}

int ec2_instances_pseudo_tags(cg_instance_list *instances, cg_error *err)
{
    size_t i;

    for (i = 0; i < instances->n; i++) {
        if (pseudo(&instances->v[i].tags, &instances->v[i]) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return -1;
        }
    }
    return 0;
}

int ec2_images_pseudo_tags(ec2_call *c, cg_image_list *images)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
    size_t i;

    for (i = 0; i < images->n; i++) {
        const cg_image *img = &images->v[i];

        char os[96];

        if (cg_tags_set(&images->v[i].tags, EC2_TAG_DISPLAY,
                        cg_display_name(img->display ? img->display : CG_DISPLAY_HEADLESS)) < 0)
            return ec2_fail_cg(c, &oom, NULL);
        /* What inspection found: "linux/debian/12", "windows/windows/10.0". */
        if (img->os.type[0]) {
            snprintf(os, sizeof(os), "%s/%s/%s", img->os.type, img->os.distro, img->os.version);
            if (cg_tags_set(&images->v[i].tags, EC2_TAG_OS, os) < 0)
                return ec2_fail_cg(c, &oom, NULL);
        }
    }
    return 0;
}

int ec2_display_set(ec2_call *c, const char *id, cg_display display)
{
    cg_instance_change chg = {.disable_api_termination = -1, .display = display};
    cg_error err = {0};
    int rc;

    if (display == CG_DISPLAY_DEFAULT)
        return 0;
    if (strncmp(id, "ami-", 4) == 0)
        rc = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_set_display, &err, id, display);
    else
        rc = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_modify, &err, id, &chg);
    return rc < 0 ? ec2_fail_cg(c, &err, id) : 0;
}

int ec2_run_once_param(ec2_call *c, cg_display *once)
{
    const char *info = ec2_params_get(c->params, "AdditionalInfo");

    *once = CG_DISPLAY_DEFAULT;
    /* Anything else is EC2's "reserved" field: ignored as EC2 does. */
    if (!info || strncasecmp(info, RUN_ONCE_PREFIX, strlen(RUN_ONCE_PREFIX)) != 0)
        return 0;
    return ec2_display_parse(c, "AdditionalInfo " RUN_ONCE_PREFIX "...",
                             info + strlen(RUN_ONCE_PREFIX), once);
}

/* ---- GetConsoleScreenshot ------------------------------------------------- */

int ec2_get_console_screenshot(ec2_call *c)
{
    cg_instance_list list = {0};
    const char *id;
    const cg_instance *inst;
    unsigned char *data = NULL;
    char *b64 = NULL, mime[64] = "";
    size_t data_len = 0, len = 0;
    cg_error err = {0};
    int wake, ret = -1;

    if (!(id = ec2_params_get(c->params, "InstanceId")) || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter InstanceId");
        goto cleanup;
    }
    /* WakeUp: a keystroke for a sleeping guest; a screenshot never needs it here. */
    if (ec2_param_bool(c, "WakeUp", 0, &wake) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (ec2_check_instance_ids(c, &id, 1, &list) < 0)
        goto cleanup;
    inst = ec2_find_instance(&list, id);
    if (inst->state != CG_STATE_RUNNING) {
        ec2_fail(c, "IncorrectInstanceState", "The instance '%s' is not in the 'running' state.",
                 id);
        goto cleanup;
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_screenshot, &err, id, &data, &data_len,
                    mime, sizeof(mime)) < 0) {
        if (err.kind == CG_ERR_UNSUPPORTED)
            ec2_fail(c, "UnsupportedOperation",
                     "The instance '%s' is headless: it has no display to take a screenshot of. "
                     "Read its serial console with GetConsoleOutput, or give it a display "
                     "(tag " EC2_TAG_DISPLAY "=vnc or spice).", id);
        else if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectInstanceState",
                     "The instance '%s' is not in the 'running' state.", id);
        else
            ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    if (!(b64 = cg_base64_encode(data, data_len))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_console_screenshot(c->req->request_id, id, b64, &len), &len);

cleanup:
    free(b64);
    free(data);
    cg_instance_list_release(&list);
    return ret;
}
