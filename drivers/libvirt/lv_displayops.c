/* cloudgate libvirt driver: display operations: the choice at launch, a
 * stored change, run-once, screenshots and an image's default.  The domain
 * XML edits themselves are in lv_display.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/png.h"
#include "lv_display.h"
#include "lv_domxml.h"
#include "lv_driver.h"

/* A screenshot bigger than this is not a screen. */
#define SCREENSHOT_MAX (64u << 20)

cg_display lv_display_default(const cg_drv *drv)
{
    cg_display d = CG_DISPLAY_HEADLESS;

    if (drv->cfg->default_display)
        cg_display_parse(drv->cfg->default_display, &d);
    return d;
}

/* Only the display fields change: the rest of the entry may be newer than
 * this read.  Called by whoever started the domain, so that a read after the
 * start shows its display, and again on libvirt's started event. */
void lv_display_sync(lv_cache *c, virDomainPtr dom, const char *id)
{
    cg_instance inst;
    cg_error err = {0};
    char *xml = virDomainGetXMLDesc(dom, 0);

    memset(&inst, 0, sizeof(inst));
    if (!xml)
        virResetLastError();
    else if (lv_domxml_parse(xml, &inst, &err) == 1)
        lv_cache_set_display(c, id, inst.display_live, inst.display_addr, inst.display_port);
    cg_instance_release(&inst);
    free(xml);
}

void lv_display_launch(cg_drv *drv, const cg_launch_spec *spec, const cg_image *img,
                       cg_instance *inst)
{
    inst->display = lv_display_choose(img->display, spec->display, lv_display_default(drv));
    /* oVirt's headless page: nothing but the serial console to reach it. */
    if (inst->display == CG_DISPLAY_HEADLESS && !spec->key_name &&
        (!spec->user_data || spec->user_data_len == 0))
        cg_warn("instance %s is headless and has no key pair and no user-data: only its "
                "serial console (GetConsoleOutput, cloudgate-admin console) reaches it",
                inst->id);
}

void lv_display_domspec(const cg_drv *drv, const cg_launch_spec *spec, lv_domain_spec *ds)
{
    ds->display = ds->meta ? ds->meta->display : CG_DISPLAY_HEADLESS;
    ds->display_listen = drv->cfg->display_listen;
    ds->display_password = spec && spec->display_password ? spec->display_password
                                                           : drv->cfg->display_password;
}

static void opts(const cg_drv *drv, lv_display_opts *o)
{
    o->listen = drv->cfg->display_listen;
    o->password = drv->cfg->display_password;
}

/* The persistent definition, passwords included (they would be lost in a
 * redefinition otherwise).  malloc'd or NULL (reported). */
static char *persistent_xml(virConnectPtr conn, virDomainPtr dom, const char *id, cg_error *err)
{
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);

    if (!xml)
        lv_report(err, conn, CG_ERR_INTERNAL, "read instance %s", id);
    return xml;
}

static int define(virConnectPtr conn, const char *xml, const char *id, cg_error *err)
{
    virDomainPtr again = virDomainDefineXML(conn, xml);

    if (!again) {
        lv_report(err, conn, CG_ERR_INTERNAL, "redefine instance %s", id);
        return -1;
    }
    virDomainFree(again);
    return 0;
}

/* ---- a stored change (ModifyInstanceAttribute, CreateTags) ---- */

int lv_display_store(cg_drv *drv, virConnectPtr conn, virDomainPtr dom, cg_instance *inst,
                     cg_display display, cg_error *err)
{
    lv_display_opts o;
    char *xml = NULL, *upd = NULL, *shaped = NULL, *md = NULL;
    int active, ret = -1;

    if (display == CG_DISPLAY_DEFAULT || display == inst->display)
        return 0;
    opts(drv, &o);
    inst->display = display;
    if (!(xml = persistent_xml(conn, dom, inst->id, err)) ||
        !(upd = lv_domxml_update(xml, inst, err)) ||
        !(shaped = lv_domxml_display(upd, display, &o, err)) ||
        define(conn, shaped, inst->id, err) < 0)
        goto cleanup;
    /* libvirt keeps the running configuration apart: the devices change at
     * the next start, the stored choice (the metadata) now. */
    if ((active = virDomainIsActive(dom)) == 1) {
        if (!(md = lv_metadata_build(inst, err)))
            goto cleanup;
        if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, md, LV_METADATA_PREFIX,
                                 LV_METADATA_NS, VIR_DOMAIN_AFFECT_LIVE) < 0) {
            lv_report(err, conn, CG_ERR_INTERNAL, "update instance %s", inst->id);
            goto cleanup;
        }
    }
    cg_info("instance %s: display set to %s%s", inst->id, cg_display_name(display),
            active == 1 ? "; it applies at the next start (the running machine keeps its "
                          "display)" : "");
    ret = 0;

cleanup:
    free(xml);
    free(upd);
    free(shaped);
    free(md);
    return ret;
}

/* ---- run-once ---- */

int lv_instance_run_once(cg_drv *drv, const char *id, cg_display display, cg_state_change *chg,
                         cg_error *err)
{
    cg_instance inst;
    lv_host *h;
    lv_cache *c;
    lv_display_opts o;
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    char *stored = NULL, *once = NULL;
    int state, reason, defined = 0, ret = -1;

    if (display == CG_DISPLAY_DEFAULT) {
        cg_error_set(err, CG_ERR_INVALID, "run-once needs a display (headless, vnc or spice)");
        return -1;
    }
    if (!(h = lv_instance_take_live(drv, id, &inst, err)))
        return -1;
    c = lv_host_cache(h);
    if (inst.state != CG_STATE_STOPPED) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s; run-once starts a stopped instance",
                     id, cg_instance_state_name(inst.state));
        goto cleanup;
    }
    /* A saved memory image restores the devices it was saved with. */
    if (inst.sub == CG_SUB_SUSPENDED) {
        cg_error_set(err, CG_ERR_STATE,
                     "instance %s is suspended; start it normally before a run-once", id);
        goto cleanup;
    }
    opts(drv, &o);
    if (!(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, id, err)) ||
        !(stored = persistent_xml(conn, dom, id, err)) ||
        !(once = lv_domxml_display(stored, display, &o, err)))
        goto cleanup;
    /* Define the once-shape, start it, and put the stored definition back at
     * once: the running domain keeps its own copy of what it started with. */
    lv_cache_set_overlay(c, id, CG_STATE_PENDING, 0);
    if (define(conn, once, id, err) < 0)
        goto cleanup;
    defined = 1;
    if (virDomainCreate(dom) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "start instance %s", id);
        goto cleanup;
    }
    ret = 0;
    cg_info("instance %s: started once with display %s (stored: %s)", id,
            cg_display_name(display), cg_display_name(inst.display));

cleanup:
    if (defined) {
        cg_error e = {0};

        if (define(conn, stored, id, &e) < 0)
            cg_err("instance %s: stored definition not restored after run-once: %s", id,
                   e.message);
    }
    if (dom && virDomainGetState(dom, &state, &reason, 0) == 0)
        lv_cache_set_base(c, id, lv_state_from_libvirt(state));
    virResetLastError();
    if (ret == 0)
        lv_display_sync(c, dom, id);
    lv_cache_set_overlay(c, id, LV_NO_OVERLAY, 0);
    if (ret == 0) {
        lv_cache_set_reason(c, id, "");
        if (chg) {
            cg_instance now;

            snprintf(chg->id, sizeof(chg->id), "%s", id);
            chg->previous = inst.state;
            chg->current = CG_STATE_RUNNING;
            if (lv_cache_get(c, id, &now) == 1) {
                chg->current = now.state;
                cg_instance_release(&now);
            }
        }
    }
    lv_cache_release(c, id);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    free(stored);
    free(once);
    cg_instance_release(&inst);
    return ret;
}

/* ---- screenshots ---- */

/* Everything the stream gives, into *buf.  0 or -1 (reported). */
static int stream_read_all(virConnectPtr conn, virStreamPtr st, unsigned char **buf,
                           size_t *len, cg_error *err)
{
    size_t cap = 1 << 20;
    int n;

    *len = 0;
    if (!(*buf = malloc(cap))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (;;) {
        if (cap - *len < 65536) {
            unsigned char *grown;

            if (cap >= SCREENSHOT_MAX || !(grown = realloc(*buf, cap * 2))) {
                cg_error_set(err, CG_ERR_INTERNAL, "screenshot too large");
                return -1;
            }
            *buf = grown;
            cap *= 2;
        }
        if ((n = virStreamRecv(st, (char *)*buf + *len, 65536)) < 0) {
            lv_report(err, conn, CG_ERR_INTERNAL, "screenshot");
            return -1;
        }
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    if (virStreamFinish(st) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "screenshot");
        return -1;
    }
    return 0;
}

int lv_instance_screenshot(cg_drv *drv, const char *id, unsigned char **data, size_t *len,
                           char *mime, size_t mime_len, cg_error *err)
{
    cg_instance inst;
    lv_host *h = lv_drv_find_instance(drv, id);
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    virStreamPtr st = NULL;
    unsigned char *raw = NULL, *png;
    char *type = NULL;
    size_t raw_len = 0, png_len = 0;
    cg_display shown;
    int ret = -1;

    *data = NULL;
    *len = 0;
    memset(&inst, 0, sizeof(inst));
    /* No busy mark: a screenshot changes nothing and may run beside anything. */
    if (!h || lv_cache_get(lv_host_cache(h), id, &inst) != 1) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "instance %s does not exist", id);
        return -1;
    }
    if (inst.state != CG_STATE_RUNNING) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is %s; screenshots need a running instance",
                     id, cg_instance_state_name(inst.state));
        goto cleanup;
    }
    shown = inst.display_live != CG_DISPLAY_DEFAULT ? inst.display_live : inst.display;
    if (shown == CG_DISPLAY_HEADLESS) {
        cg_error_set(err, CG_ERR_UNSUPPORTED,
                     "instance %s is headless (no display to take a screenshot of); read its "
                     "serial console with GetConsoleOutput", id);
        goto cleanup;
    }
    if (!(conn = lv_host_conn(h, err)) || !(dom = lv_domain_get(conn, id, err)))
        goto cleanup;
    if (!(st = virStreamNew(conn, 0))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "screenshot of %s", id);
        goto cleanup;
    }
    if (!(type = virDomainScreenshot(dom, st, 0, 0))) {
        lv_report(err, conn, CG_ERR_INTERNAL, "screenshot of %s", id);
        virStreamAbort(st);
        goto cleanup;
    }
    if (stream_read_all(conn, st, &raw, &raw_len, err) < 0) {
        virStreamAbort(st);
        goto cleanup;
    }
    /* qemu answers with a PPM; clients want something they can show. */
    if (strcmp(type, "image/x-portable-pixmap") == 0) {
        if (!(png = cg_png_from_ppm(raw, raw_len, &png_len, NULL, NULL))) {
            cg_error_set(err, CG_ERR_INTERNAL, "screenshot of %s: unreadable PPM from qemu", id);
            goto cleanup;
        }
        free(raw);
        raw = png;
        raw_len = png_len;
        snprintf(mime, mime_len, "image/png");
    } else {
        snprintf(mime, mime_len, "%s", type);
    }
    *data = raw;
    *len = raw_len;
    raw = NULL;
    ret = 0;

cleanup:
    if (st)
        virStreamFree(st);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    free(type);
    free(raw);
    cg_instance_release(&inst);
    return ret;
}

/* ---- images ---- */

int lv_image_set_display(cg_drv *drv, const char *image_id, cg_display display, cg_error *err)
{
    cg_image img;
    int rc;

    if (display == CG_DISPLAY_DEFAULT)
        return 0;
    memset(&img, 0, sizeof(img));
    if ((rc = lv_state_image_get(drv->state, image_id, &img, NULL, err)) <= 0) {
        if (rc == 0)
            cg_error_set(err, CG_ERR_NOT_FOUND, "image %s does not exist", image_id);
        return -1;
    }
    cg_image_release(&img);
    if (lv_state_image_set_display(drv->state, image_id, display, err) < 0)
        return -1;
    cg_info("image %s: display default set to %s", image_id, cg_display_name(display));
    return 0;
}
