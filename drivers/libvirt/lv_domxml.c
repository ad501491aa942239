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

#define XC(s) ((const xmlChar *)(s))

/* The instance's string attributes as metadata elements, in document order;
 * the builder and the parser both walk this table. */
#define MD_STRING(e, m) e, offsetof(cg_instance, m), sizeof(((cg_instance *)0)->m)
static const struct {
    const char *elem;
    size_t offset;
    size_t size;
} md_strings[] = {
    {MD_STRING("id", id)},
    {MD_STRING("image-id", image_id)},
    {MD_STRING("reservation-id", reservation_id)},
    {MD_STRING("instance-type", instance_type)},
    {MD_STRING("zone", zone)},
    {MD_STRING("key-name", key_name)},
    {MD_STRING("client-token", client_token)},
};
#define N_MD_STRINGS (sizeof(md_strings) / sizeof(md_strings[0]))

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

static void build_nic(lv_xb *xb, xmlNodePtr devices, const lv_domain_spec *spec)
{
    xmlNodePtr nic = xb_el_attr(xb, devices, "interface", "type", "network");

    xb_el_attr(xb, nic, "source", "network", spec->network);
    xb_el_attr(xb, nic, "mac", "address", spec->mac);
    xb_el_attr(xb, nic, "model", "type", "virtio");
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
    xb_instance(&xb, doc, xb_el(&xb, dom, "metadata", NULL), spec->meta);
    xb_attr(&xb, xb_el_ull(&xb, dom, "memory", kib), "unit", "KiB");
    xb_attr(&xb, xb_el_ull(&xb, dom, "currentMemory", kib), "unit", "KiB");
    xb_el_ull(&xb, dom, "vcpu", spec->vcpus);
    build_os(&xb, dom, spec);
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

    /* One builder per device; a display device (VNC, SPICE) gets its own
     * build_* next to build_console when instance shapes grow one. */
    devices = xb_el(&xb, dom, "devices", NULL);
    build_disk(&xb, devices, spec);
    build_nic(&xb, devices, spec);
    build_console(&xb, devices, spec);
    xb_el_attr(&xb, devices, "memballoon", "model", "virtio");

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

/* ---- parsing -------------------------------------------------------------- */

static int is_el(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, XC(name));
}

static int in_md_ns(xmlNodePtr n)
{
    return n->ns && n->ns->href && xmlStrEqual(n->ns->href, XC(LV_METADATA_NS));
}

/* The first child element name of a domain element (no namespace). */
static xmlNodePtr dom_child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n;

    for (n = parent ? parent->children : NULL; n; n = n->next) {
        if (is_el(n, name) && !n->ns)
            return n;
    }
    return NULL;
}

/* The first child element name of a metadata element.  Unqualified children
 * are accepted too: `virsh metadata --set` of hand-written XML gives them. */
static xmlNodePtr md_child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n;

    for (n = parent ? parent->children : NULL; n; n = n->next) {
        if (is_el(n, name) && (!n->ns || in_md_ns(n)))
            return n;
    }
    return NULL;
}

/* Copy text (NULL: "") into a fixed field; refuse rather than truncate. */
static int copy_field(const xmlChar *text, const char *what, char *dst, size_t dstlen,
                      cg_error *err)
{
    size_t len = text ? strlen((const char *)text) : 0;

    if (len >= dstlen) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML: %s is too long (%zu bytes)", what, len);
        return -1;
    }
    memcpy(dst, text ? (const char *)text : "", len);
    dst[len] = '\0';
    return 0;
}

static int md_field(xmlNodePtr inst, const char *name, char *dst, size_t dstlen, cg_error *err)
{
    xmlNodePtr n = md_child(inst, name);
    xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
    int ret = copy_field(text, name, dst, dstlen, err);

    xmlFree(text);
    return ret;
}

/* Strict unsigned decimal, surrounding whitespace allowed. */
static int parse_ull(const xmlChar *text, unsigned long long *out)
{
    const char *s = (const char *)text;
    unsigned long long v = 0;
    int digits = 0;

    if (!s)
        return -1;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (!digits || *s)
        return -1;
    *out = v;
    return 0;
}

/* Seconds since the epoch, or ISO 8601 UTC ("2026-11-22T10:29:22Z", with or
 * without fractional seconds) as lv_metadata_build writes it. */
static int parse_time(const xmlChar *text, time_t *out)
{
    unsigned long long secs;
    struct tm tm;
    int used = 0;
    const char *rest;

    if (parse_ull(text, &secs) == 0) {
        if (secs > (unsigned long long)LLONG_MAX)
            return -1;
        *out = (time_t)secs;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (!text || sscanf((const char *)text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return -1;
    rest = (const char *)text + used;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    if (strcmp(rest, "Z") != 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}

/* <memory unit='...'> in MiB.  libvirt writes KiB; its other units are
 * accepted so a hand-edited domain still reads correctly. */
static int parse_memory(xmlNodePtr mem, unsigned *mib, cg_error *err)
{
    static const struct {
        const char *unit;
        unsigned long long scale;
    } units[] = {
        {"b", 1},          {"bytes", 1},        {"KB", 1000ULL},
        {"k", 1ULL << 10}, {"KiB", 1ULL << 10}, {"MB", 1000000ULL},
        {"M", 1ULL << 20}, {"MiB", 1ULL << 20}, {"GB", 1000000000ULL},
        {"G", 1ULL << 30}, {"GiB", 1ULL << 30}, {"TB", 1000000000000ULL},
        {"T", 1ULL << 40}, {"TiB", 1ULL << 40},
    };
    xmlChar *unit = NULL;
    xmlChar *text = NULL;
    unsigned long long value, scale = 0, bytes;
    size_t i;
    int ret = -1;

    if (!mem) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML without <memory>");
        return -1;
    }
    unit = xmlGetNoNsProp(mem, XC("unit"));
    text = xmlNodeGetContent(mem);
    if (!unit)
        scale = 1ULL << 10;
    for (i = 0; unit && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp((const char *)unit, units[i].unit) == 0)
            scale = units[i].scale;
    }
    if (!scale || parse_ull(text, &value) < 0 || value > ULLONG_MAX / scale ||
        (bytes = value * scale) >> 20 > UINT_MAX) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML: bad <memory> '%s' unit '%s'",
                     text ? (const char *)text : "", unit ? (const char *)unit : "");
        goto cleanup;
    }
    *mib = (unsigned)(bytes >> 20);
    ret = 0;

cleanup:
    xmlFree(unit);
    xmlFree(text);
    return ret;
}

/* Everything parse reads from the definition (not the metadata). */
static int parse_definition(xmlNodePtr root, cg_instance *tmp, cg_error *err)
{
    xmlNodePtr n;
    xmlChar *text = NULL;
    unsigned long long vcpus;
    int ret = -1;

    /* The domain name is the instance id; metadata without <id> falls back. */
    if (!tmp->id[0] && (n = dom_child(root, "name"))) {
        text = xmlNodeGetContent(n);
        if (copy_field(text, "name", tmp->id, sizeof(tmp->id), err) < 0)
            goto cleanup;
        xmlFree(text);
        text = NULL;
    }
    text = (n = dom_child(root, "vcpu")) ? xmlNodeGetContent(n) : NULL;
    if (parse_ull(text, &vcpus) < 0 || vcpus == 0 || vcpus > UINT_MAX) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML: bad or missing <vcpu>");
        goto cleanup;
    }
    tmp->vcpus = (unsigned)vcpus;
    if (parse_memory(dom_child(root, "memory"), &tmp->memory_mib, err) < 0)
        goto cleanup;
    xmlFree(text);
    text = NULL;
    /* The first NIC is the instance's: cloudgate defines exactly one. */
    n = dom_child(dom_child(dom_child(root, "devices"), "interface"), "mac");
    if (n && (text = xmlGetNoNsProp(n, XC("address"))) &&
        copy_field(text, "mac address", tmp->mac, sizeof(tmp->mac), err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    xmlFree(text);
    return ret;
}

static int parse_tags(xmlNodePtr inst, cg_tags *tags, cg_error *err)
{
    xmlNodePtr n;
    xmlChar *key = NULL;
    xmlChar *value = NULL;
    int ret = -1;

    for (n = md_child(md_child(inst, "tags"), "tag"); n; n = n->next) {
        if (!is_el(n, "tag") || (n->ns && !in_md_ns(n)))
            continue;
        if (!(key = xmlGetNoNsProp(n, XC("key")))) {
            cg_error_set(err, CG_ERR_INTERNAL, "domain XML: metadata <tag> without a key");
            goto cleanup;
        }
        if (!(value = xmlNodeGetContent(n)) ||
            cg_tags_set(tags, (const char *)key, (const char *)value) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory reading tags");
            goto cleanup;
        }
        xmlFree(key);
        xmlFree(value);
        key = value = NULL;
    }
    ret = 0;

cleanup:
    xmlFree(key);
    xmlFree(value);
    return ret;
}

int lv_domxml_parse(const char *xml, cg_instance *out, cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, n, inst = NULL;
    xmlChar *text = NULL;
    cg_instance tmp;
    unsigned long long index;
    size_t len, i;
    int ret = -1;

    memset(&tmp, 0, sizeof(tmp));
    if (!xml || !out) {
        cg_error_set(err, CG_ERR_INTERNAL, "lv_domxml_parse: no XML or no output");
        return -1;
    }
    len = strlen(xml);
    /* NONET and no DTD loading: the document comes from libvirtd, but a
     * parser that fetches nothing is one less thing to trust. */
    if (len > INT_MAX ||
        !(doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING))) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML is not well-formed");
        goto cleanup;
    }
    root = xmlDocGetRootElement(doc);
    if (!root || root->ns || !is_el(root, "domain")) {
        cg_error_set(err, CG_ERR_INTERNAL, "XML is not a libvirt <domain>");
        goto cleanup;
    }

    /* Matched by namespace URI: libvirt keeps the URI but may rename the
     * prefix when it re-serialises. */
    n = dom_child(root, "metadata");
    for (n = n ? n->children : NULL; n; n = n->next) {
        if (is_el(n, "instance") && in_md_ns(n)) {
            inst = n;
            break;
        }
    }
    if (!inst) {
        ret = 0;
        goto cleanup;
    }

    for (i = 0; i < N_MD_STRINGS; i++) {
        if (md_field(inst, md_strings[i].elem, (char *)&tmp + md_strings[i].offset,
                     md_strings[i].size, err) < 0)
            goto cleanup;
    }
    if ((n = md_child(inst, "launch-time"))) {
        text = xmlNodeGetContent(n);
        if (parse_time(text, &tmp.launch_time) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "domain XML: bad launch-time '%s'",
                         text ? (const char *)text : "");
            goto cleanup;
        }
        xmlFree(text);
        text = NULL;
    }
    if ((n = md_child(inst, "ami-launch-index"))) {
        text = xmlNodeGetContent(n);
        if (parse_ull(text, &index) < 0 || index > UINT_MAX) {
            cg_error_set(err, CG_ERR_INTERNAL, "domain XML: bad ami-launch-index");
            goto cleanup;
        }
        tmp.ami_launch_index = (unsigned)index;
    }
    if (parse_definition(root, &tmp, err) < 0 || parse_tags(inst, &tmp.tags, err) < 0)
        goto cleanup;

    /* Only now touch out: a failed parse leaves the caller's copy intact. */
    for (i = 0; i < N_MD_STRINGS; i++)
        memcpy((char *)out + md_strings[i].offset, (char *)&tmp + md_strings[i].offset,
               md_strings[i].size);
    memcpy(out->mac, tmp.mac, sizeof(out->mac));
    out->launch_time = tmp.launch_time;
    out->ami_launch_index = tmp.ami_launch_index;
    out->vcpus = tmp.vcpus;
    out->memory_mib = tmp.memory_mib;
    cg_tags_release(&out->tags);
    out->tags = tmp.tags;
    tmp.tags.v = NULL;
    tmp.tags.n = 0;
    ret = 1;

cleanup:
    xmlFree(text);
    cg_tags_release(&tmp.tags);
    xmlFreeDoc(doc);
    return ret;
}
