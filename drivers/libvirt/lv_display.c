/* cloudgate libvirt driver: the display shapes of a domain (lv_display.h).
 *
 * Changes edit the existing definition instead of rebuilding it, so disks
 * hot-plugged meanwhile, the uuid and whatever libvirt added stay.
 */
#include "lv_display.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "lv_domxml_int.h"

cg_display lv_display_choose(cg_display image, cg_display launch, cg_display fallback)
{
    if (launch != CG_DISPLAY_DEFAULT)
        return launch;
    if (image != CG_DISPLAY_DEFAULT)
        return image;
    return fallback != CG_DISPLAY_DEFAULT ? fallback : CG_DISPLAY_HEADLESS;
}

cg_display lv_display_for_start(cg_display stored, cg_display once)
{
    if (once != CG_DISPLAY_DEFAULT)
        return once;
    return stored != CG_DISPLAY_DEFAULT ? stored : CG_DISPLAY_HEADLESS;
}

/* ---- editing ------------------------------------------------------------- */

static int is_el(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, XC(name));
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n;

    for (n = parent ? parent->children : NULL; n; n = n->next) {
        if (is_el(n, name))
            return n;
    }
    return NULL;
}

static int has_attr(xmlNodePtr n, const char *attr, const char *value)
{
    xmlChar *v = xmlGetNoNsProp(n, XC(attr));
    int eq = v && xmlStrEqual(v, XC(value));

    xmlFree(v);
    return eq;
}

/* Is n a device that belongs to a display shape (and so is replaced)? */
static int display_device(xmlNodePtr n)
{
    if (is_el(n, "graphics") || is_el(n, "video"))
        return 1;
    if (is_el(n, "input"))
        return has_attr(n, "type", "tablet");
    if (is_el(n, "channel"))
        return has_attr(n, "type", "spicevmc");
    return 0;
}

/* <name a1=v1 [a2=v2]/> under parent; NULL when out of memory. */
static xmlNodePtr add(xmlNodePtr parent, const char *name, const char *a1, const char *v1,
                      const char *a2, const char *v2)
{
    xmlNodePtr n = parent ? xmlNewChild(parent, NULL, XC(name), NULL) : NULL;

    if (!n || (a1 && !xmlNewProp(n, XC(a1), XC(v1))) || (a2 && !xmlNewProp(n, XC(a2), XC(v2))))
        return NULL;
    return n;
}

/* <bios useserial='yes'/> in <os>: the firmware talks on the serial
 * console too, which is all a headless machine has. */
static int bios_useserial(xmlNodePtr root)
{
    xmlNodePtr os = child(root, "os"), bios;

    if (!os && !(os = xmlNewChild(root, NULL, XC("os"), NULL)))
        return -1;
    if (!(bios = child(os, "bios")) && !(bios = xmlNewChild(os, NULL, XC("bios"), NULL)))
        return -1;
    return xmlSetProp(bios, XC("useserial"), XC("yes")) ? 0 : -1;
}

static int add_graphics(xmlNodePtr devices, const char *type, const lv_display_opts *o)
{
    const char *listen = o && o->listen && *o->listen ? o->listen : "127.0.0.1";
    xmlNodePtr g = add(devices, "graphics", "type", type, "autoport", "yes");

    if (!g || !xmlNewProp(g, XC("listen"), XC(listen)))
        return -1;
    if (o && o->password && *o->password && !xmlNewProp(g, XC("passwd"), XC(o->password)))
        return -1;
    return add(g, "listen", "type", "address", "address", listen) ? 0 : -1;
}

int lv_display_apply(xmlNodePtr root, cg_display display, const lv_display_opts *o)
{
    xmlNodePtr devices, n, next, video, ch;

    if (!root)
        return -1;
    if (!(devices = child(root, "devices")) &&
        !(devices = xmlNewChild(root, NULL, XC("devices"), NULL)))
        return -1;
    for (n = devices->children; n; n = next) {
        next = n->next;
        if (display_device(n)) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }
    if (bios_useserial(root) < 0)
        return -1;
    switch (display) {
    case CG_DISPLAY_VNC:
        if (add_graphics(devices, "vnc", o) < 0)
            return -1;
        video = add(devices, "video", NULL, NULL, NULL, NULL);
        if (!add(video, "model", "type", "vga", NULL, NULL))
            return -1;
        break;
    case CG_DISPLAY_SPICE:
        if (add_graphics(devices, "spice", o) < 0)
            return -1;
        video = add(devices, "video", NULL, NULL, NULL, NULL);
        if (!add(video, "model", "type", "qxl", NULL, NULL))
            return -1;
        ch = add(devices, "channel", "type", "spicevmc", NULL, NULL);
        if (!add(ch, "target", "type", "virtio", "name", "com.redhat.spice.0"))
            return -1;
        break;
    default:
        /* An explicit "none": without <video> libvirt adds a default one. */
        video = add(devices, "video", NULL, NULL, NULL, NULL);
        return add(video, "model", "type", "none", NULL, NULL) ? 0 : -1;
    }
    /* Absolute pointer: the VNC/SPICE cursor and the guest's stay together. */
    return add(devices, "input", "type", "tablet", "bus", "usb") ? 0 : -1;
}

char *lv_domxml_display(const char *xml, cg_display display, const lv_display_opts *o,
                        cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    xmlBufferPtr buf = NULL;
    xmlSaveCtxtPtr save = NULL;
    char *out = NULL;
    size_t len = xml ? strlen(xml) : 0;

    if (!xml || len > INT_MAX ||
        !(doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) ||
        !(root = xmlDocGetRootElement(doc)) || !is_el(root, "domain")) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML is not a libvirt <domain>");
        goto cleanup;
    }
    if (lv_display_apply(root, display, o) < 0 || !(buf = xmlBufferCreate()) ||
        !(save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory editing domain XML");
        goto cleanup;
    }
    if (xmlSaveDoc(save, doc) < 0 || xmlSaveClose(save) < 0 ||
        !(out = strdup((const char *)xmlBufferContent(buf))))
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory writing domain XML");
    save = NULL;

cleanup:
    if (save)
        xmlSaveClose(save);
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return out;
}

/* ---- reading ------------------------------------------------------------- */

void lv_display_read(xmlNodePtr root, cg_display *display, char *addr, size_t addr_len,
                     int *port)
{
    xmlNodePtr n, l;
    xmlChar *type = NULL, *p = NULL, *a = NULL;

    *display = CG_DISPLAY_HEADLESS;
    if (addr_len)
        addr[0] = '\0';
    *port = 0;
    n = child(root, "devices");
    for (n = n ? n->children : NULL; n; n = n->next) {
        if (!is_el(n, "graphics"))
            continue;
        type = xmlGetNoNsProp(n, XC("type"));
        if (type && (xmlStrEqual(type, XC("vnc")) || xmlStrEqual(type, XC("spice"))))
            break;
        xmlFree(type);
        type = NULL;
    }
    if (!n || !type)
        return;
    *display = xmlStrEqual(type, XC("vnc")) ? CG_DISPLAY_VNC : CG_DISPLAY_SPICE;
    if ((p = xmlGetNoNsProp(n, XC("port"))))
        *port = atoi((const char *)p) > 0 ? atoi((const char *)p) : 0;
    if (!(a = xmlGetNoNsProp(n, XC("listen"))) && (l = child(n, "listen")))
        a = xmlGetNoNsProp(l, XC("address"));
    if (a && addr_len)
        snprintf(addr, addr_len, "%s", (const char *)a);
    xmlFree(type);
    xmlFree(p);
    xmlFree(a);
}
