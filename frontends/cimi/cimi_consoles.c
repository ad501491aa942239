/* cloudgate: the graphicsConsoles collection (not in DSP8009; modelled on
 * oVirt's graphicsconsoles) shared by machines, machine images and machine
 * templates: at most one console, the owner's VNC or SPICE display (none:
 * headless).  POST a GraphicsConsole to choose a protocol, DELETE the
 * console to go headless; each owner stores the choice its own way. */
#include "cimi_internal.h"

#include <stdio.h>
#include <string.h>

int cimi_console_path(const char *rest, const char **proto)
{
    const char *slash = strchr(rest, '/');

    *proto = slash ? slash + 1 : NULL;
    if (strncmp(rest, "graphicsConsoles", 16) != 0 || (rest[16] && rest[16] != '/'))
        return 0;
    return !*proto || (**proto && !strchr(*proto, '/'));
}

void cimi_reply_consoles(cimi_call *c, const char *owner, cg_display d,
                         const cimi_console_live *live, const char *proto)
{
    cimi_obj **items = NULL, *o;
    char coll[700];
    size_t n = 0;

    if (cimi_alloc_objs(c, &items, 1) < 0)
        return;
    if (d == CG_DISPLAY_VNC || d == CG_DISPLAY_SPICE) {
        o = cimi_build_graphics_console(c->base, owner, d, live ? live->addr : NULL,
                                        live ? live->port : 0);
        if (live)
            cimi_add_str(o, "state", live->state);
        items[n++] = o;
    }
    if (proto && (!n || strcmp(proto, cg_display_name(d)) != 0)) {
        cimi_fail(c, 404, "%s has no %.16s graphics console", owner, proto);
    } else if (proto) {
        cimi_reply(c, 200, items[0]);
    } else {
        snprintf(coll, sizeof(coll), "%s%s/graphicsConsoles", c->base, owner);
        cimi_reply_entries(c, coll, "GraphicsConsoleCollection", "graphicsConsoles",
                           "GraphicsConsole", items, n);
    }
    cimi_free_objs(items, n);
}

/* The protocol of the request's GraphicsConsole body (VNC or SPICE). */
static int body_protocol(cimi_call *c, cg_display *out)
{
    json_object *body = cimi_body(c, "GraphicsConsole");
    const char *p = NULL;
    int ret = -1;

    if (!body)
        return -1;
    if (cimi_body_str(c, body, "protocol", "GraphicsConsole", &p) == 0) {
        if (!p || cg_display_parse(p, out) < 0 || *out == CG_DISPLAY_HEADLESS)
            cimi_fail(c, 400, "a GraphicsConsole needs a protocol: vnc or spice");
        else
            ret = 0;
    }
    json_object_put(body);
    return ret;
}

int cimi_console_request(cimi_call *c, const char *owner, cg_display cur, const char *proto,
                         cg_display *out)
{
    if (!proto && strcmp(c->req->method, "POST") == 0)
        return body_protocol(c, out);
    if (proto && strcmp(c->req->method, "DELETE") == 0) {
        if (strcmp(proto, cg_display_name(cur)) != 0)
            return cimi_fail(c, 404, "%s has no %.16s graphics console", owner, proto);
        *out = CG_DISPLAY_HEADLESS; /* deleting the last console makes it headless */
        return 0;
    }
    gw_response_add_header(c->resp, "Allow", proto ? "GET, DELETE" : "GET, POST");
    return cimi_fail(c, 405, "%s is not allowed here", c->req->method);
}

void cimi_console_changed(cimi_call *c, const char *owner, cg_display d, const char *state)
{
    cimi_obj *o;

    if (d == CG_DISPLAY_HEADLESS) {
        gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, NULL, 0);
        return;
    }
    o = cimi_build_graphics_console(c->base, owner, d, NULL, 0);
    if (o && state)
        cimi_add_str(o, "state", state);
    cimi_reply_created(c, o);
    cimi_obj_free(o);
}
