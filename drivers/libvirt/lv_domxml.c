/* cloudgate libvirt driver: domain and volume XML (lv_domxml.h).
 *
 * Every document is built as a libxml2 tree and serialised by libxml2, so a
 * value (a tag, a path, a name) is escaped at the one place it enters markup
 * and can never become markup itself.  Values that XML 1.0 cannot carry at
 * all (control characters, invalid UTF-8) are refused instead of emitted.
 */
#include "lv_domxml.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "lv_display.h"
#include "lv_domxml_int.h"

/* ---- building ------------------------------------------------------------ */

/* A document under construction.  The first failure is reported into err
 * and turns every later call into a no-op, so a builder checks once, at the
 * end, instead of after each of its dozens of nodes. */
typedef struct lv_xb {
    cg_error *err;
    int failed;
} lv_xb;

/* 1 when s is well-formed UTF-8 made only of characters XML 1.0 allows
 * (#x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF).  libxml2
 * would write anything else as a character reference that no parser,
 * libvirt's included, accepts back. */
static int xml_text_ok(const char *s)
{
    static const unsigned min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    const unsigned char *p = (const unsigned char *)s;
    unsigned c;
    int len, i;

    while (*p) {
        if (*p < 0x80) {
            c = *p;
            len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1F;
            len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0F;
            len = 3;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p & 0x07;
            len = 4;
        } else {
            return 0;
        }
        for (i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
                return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (len > 1 && c < min_for_len[len]) /* overlong encoding */
            return 0;
        if (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD)
            return 0;
        if ((c >= 0xD800 && c <= 0xDFFF) || c == 0xFFFE || c == 0xFFFF || c > 0x10FFFF)
            return 0;
        p += len;
    }
    return 1;
}

static int xb_check(lv_xb *xb, const char *what, const char *value)
{
    if (xb->failed)
        return -1;
    if (value && !xml_text_ok(value)) {
        cg_error_set(xb->err, CG_ERR_INVALID,
                     "%s: value is not valid UTF-8 or holds characters XML cannot carry", what);
        xb->failed = 1;
        return -1;
    }
    return 0;
}

static void xb_oom(lv_xb *xb)
{
    cg_error_set(xb->err, CG_ERR_INTERNAL, "out of memory building XML");
    xb->failed = 1;
}

/* <name>text</name> under parent; text NULL gives an empty element.  The new
 * element inherits parent's namespace (libxml2's rule for a NULL ns). */
static xmlNodePtr xb_el(lv_xb *xb, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr node;

    if (!parent)
        xb->failed = 1; /* the parent's failure is already reported */
    if (xb_check(xb, name, text) < 0)
        return NULL;
    /* xmlNewTextChild, unlike xmlNewChild, escapes text rather than reading
     * entity references out of it. */
    if (!(node = xmlNewTextChild(parent, NULL, XC(name), XC(text))))
        xb_oom(xb);
    return node;
}

static xmlNodePtr xb_el_ull(lv_xb *xb, xmlNodePtr parent, const char *name, unsigned long long v)
{
    char num[32];

    snprintf(num, sizeof(num), "%llu", v);
    return xb_el(xb, parent, name, num);
}

/* name="value" on node; xmlNewProp stores value as text, escaped on output. */
static void xb_attr(lv_xb *xb, xmlNodePtr node, const char *name, const char *value)
{
    if (!node)
        xb->failed = 1;
    if (xb_check(xb, name, value) < 0)
        return;
    if (!xmlNewProp(node, XC(name), XC(value)))
        xb_oom(xb);
}

/* <name attr="value"/>: the shape of most device sub-elements. */
static xmlNodePtr xb_el_attr(lv_xb *xb, xmlNodePtr parent, const char *name, const char *attr,
                             const char *value)
{
    xmlNodePtr node = xb_el(xb, parent, name, NULL);

    xb_attr(xb, node, attr, value);
    return node;
}

static xmlDocPtr xb_new_doc(lv_xb *xb, const char *root_name, xmlNodePtr *root)
{
    xmlDocPtr doc = xmlNewDoc(XC("1.0"));

    *root = NULL;
    if (!doc || !(*root = xmlNewDocNode(doc, NULL, XC(root_name), NULL))) {
        xmlFreeDoc(doc);
        xb_oom(xb);
        return NULL;
    }
    xmlDocSetRootElement(doc, *root);
    return doc;
}

/* Serialise doc without an XML declaration, indented or not.  malloc'd or NULL. */
static char *xb_dump(lv_xb *xb, xmlDocPtr doc, int indent)
{
    xmlBufferPtr buf = NULL;
    xmlSaveCtxtPtr save = NULL;
    char *out = NULL;

    if (xb->failed)
        return NULL;
    if (!(buf = xmlBufferCreate()))
        goto cleanup;
    /* With an explicit UTF-8 encoding libxml2 writes non-ASCII characters as
     * they are instead of as character references. */
    if (!(save = xmlSaveToBuffer(buf, "UTF-8", (indent ? XML_SAVE_FORMAT : 0) | XML_SAVE_NO_DECL)))
        goto cleanup;
    if (xmlSaveDoc(save, doc) < 0) {
        xmlSaveClose(save);
        goto cleanup;
    }
    if (xmlSaveClose(save) < 0)
        goto cleanup;
    out = strdup((const char *)xmlBufferContent(buf));

cleanup:
    if (!out)
        xb_oom(xb);
    xmlBufferFree(buf);
    return out;
}

/* The <cloudgate:instance> element, as a child of parent or, with parent
 * NULL, as the root of doc.  Every child is in the cloudgate namespace.
 *
 * Standalone, the namespace is the default one (no prefix): libvirt's
 * virDomainSetMetadata declares its key as a prefix on the element and fails
 * ("failed to create a new XML namespace") when that prefix is declared
 * there already. */
static void xb_instance(lv_xb *xb, xmlDocPtr doc, xmlNodePtr parent, const cg_instance *meta)
{
    xmlNodePtr inst, tags, tag;
    xmlNsPtr ns = NULL;
    struct tm tm;
    char when[32];
    size_t i;

    if (xb->failed)
        return;
    if (!gmtime_r(&meta->launch_time, &tm) ||
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        cg_error_set(xb->err, CG_ERR_INVALID, "launch time %lld is out of range",
                     (long long)meta->launch_time);
        xb->failed = 1;
        return;
    }

    if (parent) {
        inst = xmlNewChild(parent, NULL, XC("instance"), NULL);
    } else {
        inst = xmlNewDocNode(doc, NULL, XC("instance"), NULL);
        if (inst)
            xmlDocSetRootElement(doc, inst);
    }
    if (inst)
        ns = xmlNewNs(inst, XC(LV_METADATA_NS), parent ? XC(LV_METADATA_PREFIX) : NULL);
    if (!inst || !ns) {
        xb_oom(xb);
        return;
    }
    xmlSetNs(inst, ns);

    for (i = 0; i < N_MD_STRINGS; i++)
        xb_el(xb, inst, md_strings[i].elem, (const char *)meta + md_strings[i].offset);
    xb_el(xb, inst, "launch-time", when);
    xb_el_ull(xb, inst, "ami-launch-index", meta->ami_launch_index);
    xb_el(xb, inst, MD_DISPLAY,
          cg_display_name(meta->display ? meta->display : CG_DISPLAY_HEADLESS));
    if (meta->disable_api_termination)
        xb_el(xb, inst, MD_DISABLE_API_TERMINATION, "true");
    tags = xb_el(xb, inst, "tags", NULL);
    for (i = 0; i < meta->tags.n; i++) {
        const cg_tag *t = &meta->tags.v[i];

        tag = xb_el(xb, tags, "tag", t->value ? t->value : "");
        xb_attr(xb, tag, "key", t->key);
    }
}

static int nonempty(const char *s)
{
    return s && *s;
}

static int domspec_check(const lv_domain_spec *spec, cg_error *err)
{
    const char *missing = NULL;

    if (!spec || !spec->meta) {
        cg_error_set(err, CG_ERR_INVALID, "domain spec without instance metadata");
        return -1;
    }
    if (!nonempty(spec->domain_type) ||
        (strcmp(spec->domain_type, "kvm") != 0 && strcmp(spec->domain_type, "qemu") != 0 &&
         strcmp(spec->domain_type, "test") != 0)) {
        cg_error_set(err, CG_ERR_INVALID, "domain type '%s' is not one of kvm, qemu, test",
                     spec->domain_type ? spec->domain_type : "");
        return -1;
    }
    if (!nonempty(spec->name))
        missing = "name";
    else if (!nonempty(spec->disk_path))
        missing = "disk path";
    else if (!nonempty(spec->network))
        missing = "network";
    else if (!nonempty(spec->mac))
        missing = "mac address";
    if (missing) {
        cg_error_set(err, CG_ERR_INVALID, "domain spec without a %s", missing);
        return -1;
    }
    if (spec->vcpus == 0 || spec->memory_mib == 0) {
        cg_error_set(err, CG_ERR_INVALID, "domain needs at least one vcpu and 1 MiB of memory");
        return -1;
    }
    /* An initrd or command line without a kernel would be silently ignored
     * by a disk boot: refuse the inconsistent image instead. */
    if (!nonempty(spec->kernel) && (nonempty(spec->initrd) || nonempty(spec->cmdline))) {
        cg_error_set(err, CG_ERR_INVALID, "initrd or kernel command line without a kernel");
        return -1;
    }
    return 0;
}

static void build_os(lv_xb *xb, xmlNodePtr dom, const lv_domain_spec *spec)
{
    xmlNodePtr os = xb_el(xb, dom, "os", NULL);

    xb_attr(xb, xb_el(xb, os, "type", "hvm"), "arch", "x86_64");
    if (nonempty(spec->kernel)) {
        xb_el(xb, os, "kernel", spec->kernel);
        if (nonempty(spec->initrd))
            xb_el(xb, os, "initrd", spec->initrd);
        if (nonempty(spec->cmdline))
            xb_el(xb, os, "cmdline", spec->cmdline);
    } else {
        xb_el_attr(xb, os, "boot", "dev", "hd");
    }
    if (nonempty(spec->smbios_uuid))
        xb_el_attr(xb, os, "smbios", "mode", "sysinfo");
}

/* SMBIOS type 1 as EC2's Nitro guests see it: serial = uuid = "ec2...". */
static void build_sysinfo(lv_xb *xb, xmlNodePtr dom, const lv_domain_spec *spec)
{
    xmlNodePtr sys;

    if (!nonempty(spec->smbios_uuid))
        return;
    sys = xb_el(xb, xb_el_attr(xb, dom, "sysinfo", "type", "smbios"), "system", NULL);
    xb_attr(xb, xb_el(xb, sys, "entry", "Amazon EC2"), "name", "manufacturer");
    xb_attr(xb, xb_el(xb, sys, "entry", "cloudgate"), "name", "product");
    xb_attr(xb, xb_el(xb, sys, "entry", spec->smbios_uuid), "name", "serial");
    xb_attr(xb, xb_el(xb, sys, "entry", spec->smbios_uuid), "name", "uuid");
}

static void build_disk(lv_xb *xb, xmlNodePtr devices, const lv_domain_spec *spec)
{
    xmlNodePtr disk = xb_el_attr(xb, devices, "disk", "type", "file");
    xmlNodePtr node;

    xb_attr(xb, disk, "device", "disk");
    node = xb_el_attr(xb, disk, "driver", "name", "qemu");
    xb_attr(xb, node, "type", nonempty(spec->disk_format) ? spec->disk_format : "qcow2");
    xb_el_attr(xb, disk, "source", "file", spec->disk_path);
    node = xb_el_attr(xb, disk, "target", "dev", "vda");
    xb_attr(xb, node, "bus", "virtio");
}

static void build_extra_disks(lv_xb *xb, xmlNodePtr devices, const lv_domain_spec *spec)
{
    xmlNodePtr disk, node;
    size_t i;

    for (i = 0; i < spec->n_extra_disks; i++) {
        const lv_domain_disk *d = &spec->extra_disks[i];

        disk = xb_el_attr(xb, devices, "disk", "type", "file");
        xb_attr(xb, disk, "device", "disk");
        node = xb_el_attr(xb, disk, "driver", "name", "qemu");
        xb_attr(xb, node, "type", d->format);
        xb_el_attr(xb, disk, "source", "file", d->path);
        node = xb_el_attr(xb, disk, "target", "dev", d->dev);
        xb_attr(xb, node, "bus", "virtio");
        if (nonempty(d->serial))
            xb_el(xb, disk, "serial", d->serial);
    }
}

/* The cloud-init seed as a read-only CD-ROM on IDE: the default machine type
 * ("pc", i440fx) has an IDE controller and every guest kernel drives it (a
 * q35 template would need bus='sata').  hdc is the secondary master, where a
 * PC's CD-ROM usually sits. */
static void build_seed(lv_xb *xb, xmlNodePtr devices, const lv_domain_spec *spec)
{
    xmlNodePtr disk, node;

    if (!nonempty(spec->seed_path))
        return;
    disk = xb_el_attr(xb, devices, "disk", "type", "file");
    xb_attr(xb, disk, "device", "cdrom");
    node = xb_el_attr(xb, disk, "driver", "name", "qemu");
    xb_attr(xb, node, "type", "raw");
    xb_el_attr(xb, disk, "source", "file", spec->seed_path);
    node = xb_el_attr(xb, disk, "target", "dev", "hdc");
    xb_attr(xb, node, "bus", "ide");
    xb_el(xb, disk, "readonly", NULL);
}

static void build_nic(lv_xb *xb, xmlNodePtr devices, const lv_domain_spec *spec)
{
    xmlNodePtr nic = xb_el_attr(xb, devices, "interface", "type", "network");

    xb_el_attr(xb, nic, "source", "network", spec->network);
    xb_el_attr(xb, nic, "mac", "address", spec->mac);
    xb_el_attr(xb, nic, "model", "type", "virtio");
    /* Security groups: libvirt learns the guest's address from its DHCP
     * exchange ($IP for clean-traffic); $MAC is the <mac> above. */
    if (spec->nwfilter) {
        xmlNodePtr ref = xb_el_attr(xb, nic, "filterref", "filter", spec->nwfilter);

        xb_attr(xb, xb_el_attr(xb, ref, "parameter", "name", "CTRL_IP_LEARNING"), "value",
                "dhcp");
    }
}

/* The serial port is the instance's console: logged to a file so
 * GetConsoleOutput works without anyone attached to the pty. */
static void build_console(lv_xb *xb, xmlNodePtr devices, const lv_domain_spec *spec)
{
    xmlNodePtr serial = xb_el_attr(xb, devices, "serial", "type", "pty");
    xmlNodePtr console, node;

    if (nonempty(spec->console_log)) {
        node = xb_el_attr(xb, serial, "log", "file", spec->console_log);
        xb_attr(xb, node, "append", "on");
    }
    xb_el_attr(xb, serial, "target", "port", "0");
    console = xb_el_attr(xb, devices, "console", "type", "pty");
    node = xb_el_attr(xb, console, "target", "type", "serial");
    xb_attr(xb, node, "port", "0");
}

char *lv_domxml_build(const lv_domain_spec *spec, cg_error *err)
{
    lv_xb xb = {err, 0};
    xmlDocPtr doc = NULL;
    xmlNodePtr dom, node, devices;
    unsigned long long kib;
    char *xml = NULL;

    if (domspec_check(spec, err) < 0)
        return NULL;
    kib = (unsigned long long)spec->memory_mib * 1024;
    if (!(doc = xb_new_doc(&xb, "domain", &dom)))
        goto cleanup;

    xb_attr(&xb, dom, "type", spec->domain_type);
    xb_el(&xb, dom, "name", spec->name);
    if (nonempty(spec->smbios_uuid))
        xb_el(&xb, dom, "uuid", spec->smbios_uuid);
    xb_instance(&xb, doc, xb_el(&xb, dom, "metadata", NULL), spec->meta);
    xb_attr(&xb, xb_el_ull(&xb, dom, "memory", kib), "unit", "KiB");
    xb_attr(&xb, xb_el_ull(&xb, dom, "currentMemory", kib), "unit", "KiB");
    xb_el_ull(&xb, dom, "vcpu", spec->vcpus);
    build_os(&xb, dom, spec);
    build_sysinfo(&xb, dom, spec);
    node = xb_el(&xb, dom, "features", NULL);
    xb_el(&xb, node, "acpi", NULL);
    xb_el(&xb, node, "apic", NULL);
    /* host-passthrough aborts qemu under TCG, so only kvm gets it. */
    if (strcmp(spec->domain_type, "kvm") == 0)
        xb_el_attr(&xb, dom, "cpu", "mode", "host-passthrough");
    xb_el_attr(&xb, dom, "clock", "offset", "utc");
    xb_el(&xb, dom, "on_poweroff", "destroy");
    xb_el(&xb, dom, "on_reboot", "restart");
    xb_el(&xb, dom, "on_crash", "destroy");

    /* One builder per device; the display devices come from lv_display.c,
     * which also edits them in existing definitions. */
    devices = xb_el(&xb, dom, "devices", NULL);
    build_disk(&xb, devices, spec);
    build_extra_disks(&xb, devices, spec);
    build_seed(&xb, devices, spec);
    build_nic(&xb, devices, spec);
    build_console(&xb, devices, spec);
    xb_el_attr(&xb, devices, "memballoon", "model", "virtio");
    if (!xb.failed) {
        lv_display_opts o = {spec->display_listen, spec->display_password};

        if (xb_check(&xb, "display listen address", o.listen) < 0 ||
            xb_check(&xb, "display password", o.password) < 0)
            goto cleanup;
        if (lv_display_apply(dom, spec->display, &o) < 0)
            xb_oom(&xb);
    }

    xml = xb_dump(&xb, doc, 1);

cleanup:
    xmlFreeDoc(doc);
    return xml;
}

char *lv_metadata_build(const cg_instance *meta, cg_error *err)
{
    lv_xb xb = {err, 0};
    xmlDocPtr doc = NULL;
    char *xml = NULL;

    if (!meta) {
        cg_error_set(err, CG_ERR_INVALID, "no instance metadata to build");
        return NULL;
    }
    if (!(doc = xmlNewDoc(XC("1.0")))) {
        xb_oom(&xb);
        goto cleanup;
    }
    xb_instance(&xb, doc, NULL, meta);
    /* Not indented: libvirt keeps whitespace it is given inside metadata,
     * but indents an element without any to the depth it lands at. */
    xml = xb_dump(&xb, doc, 0);

cleanup:
    xmlFreeDoc(doc);
    return xml;
}

/* The first child element `name` of the domain element root (no namespace). */
static xmlNodePtr domain_child(xmlNodePtr root, const char *name)
{
    xmlNodePtr n;

    for (n = root->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, XC(name)))
            return n;
    }
    return NULL;
}

/* <name [unit=...]>v</name> under root, replacing the element's content. */
static xmlNodePtr set_number(lv_xb *xb, xmlNodePtr root, const char *name,
                             unsigned long long v, const char *unit)
{
    xmlNodePtr n = domain_child(root, name);
    char num[32];

    snprintf(num, sizeof(num), "%llu", v);
    if (!n)
        n = xb_el(xb, root, name, num);
    else
        xmlNodeSetContent(n, XC(num));
    if (n && unit && !xmlSetProp(n, XC("unit"), XC(unit)))
        xb_oom(xb);
    return n;
}

char *lv_domxml_update(const char *xml, const cg_instance *meta, cg_error *err)
{
    lv_xb xb = {err, 0};
    xmlDocPtr doc = NULL;
    xmlNodePtr root = NULL, md, n, next;
    unsigned long long kib;
    char *out = NULL;
    size_t len;

    if (!xml || !meta || meta->vcpus == 0 || meta->memory_mib == 0) {
        cg_error_set(err, CG_ERR_INVALID, "domain update without XML, vcpus or memory");
        return NULL;
    }
    len = strlen(xml);
    if (len > INT_MAX ||
        !(doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) ||
        !(root = xmlDocGetRootElement(doc)) || root->ns || !xmlStrEqual(root->name, XC("domain"))) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML is not a libvirt <domain>");
        goto cleanup;
    }
    kib = (unsigned long long)meta->memory_mib * 1024;
    /* A "current" below the new count would leave vcpus offline. */
    if ((n = set_number(&xb, root, "vcpu", meta->vcpus, NULL)))
        xmlUnsetProp(n, XC("current"));
    set_number(&xb, root, "memory", kib, "KiB");
    set_number(&xb, root, "currentMemory", kib, "KiB");
    if (!(md = domain_child(root, "metadata")))
        md = xb_el(&xb, root, "metadata", NULL);
    /* Matched by namespace URI, whatever prefix libvirt wrote. */
    for (n = md ? md->children : NULL; n; n = next) {
        next = n->next;
        if (n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
            xmlStrEqual(n->ns->href, XC(LV_METADATA_NS))) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }
    xb_instance(&xb, doc, md, meta);
    /* Not re-indented: libvirt formats what it stores anyway. */
    out = xb_dump(&xb, doc, 0);

cleanup:
    xmlFreeDoc(doc);
    return out;
}

char *lv_volxml_build(const char *name, unsigned long long capacity_bytes, const char *format,
                      const char *backing_path, const char *backing_format, cg_error *err)
{
    lv_xb xb = {err, 0};
    xmlDocPtr doc = NULL;
    xmlNodePtr vol, node;
    char *xml = NULL;

    if (!nonempty(name) || !nonempty(format)) {
        cg_error_set(err, CG_ERR_INVALID, "volume needs a name and a format");
        return NULL;
    }
    if (!(doc = xb_new_doc(&xb, "volume", &vol)))
        goto cleanup;
    xb_el(&xb, vol, "name", name);
    xb_attr(&xb, xb_el_ull(&xb, vol, "capacity", capacity_bytes), "unit", "bytes");
    node = xb_el(&xb, vol, "target", NULL);
    xb_el_attr(&xb, node, "format", "type", format);
    if (nonempty(backing_path)) {
        node = xb_el(&xb, vol, "backingStore", NULL);
        xb_el(&xb, node, "path", backing_path);
        /* Without a format libvirt probes the backing file; callers that
         * know it should say so. */
        if (nonempty(backing_format))
            xb_el_attr(&xb, node, "format", "type", backing_format);
    }
    xml = xb_dump(&xb, doc, 1);

cleanup:
    xmlFreeDoc(doc);
    return xml;
}
