/* cloudgate libvirt driver: reading domain XML (lv_domxml.h): the EC2
 * attributes from the <cloudgate:instance> metadata and the sizes and MAC
 * address from the definition. */
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

#include "lv_display.h"
#include "lv_domxml_int.h"

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
        xmlFree(text);
        text = NULL;
    }
    if ((n = md_child(inst, MD_DISABLE_API_TERMINATION))) {
        text = xmlNodeGetContent(n);
        tmp.disable_api_termination =
            text && (xmlStrEqual(text, XC("true")) || xmlStrEqual(text, XC("1")));
    }
    xmlFree(text);
    text = NULL;
    tmp.display = CG_DISPLAY_HEADLESS;
    if ((n = md_child(inst, MD_DISPLAY)) && (text = xmlNodeGetContent(n)) &&
        cg_display_parse((const char *)text, &tmp.display) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML: bad display '%s'", (const char *)text);
        goto cleanup;
    }
    /* Only a running domain's XML carries an id; its devices are what runs. */
    if (xmlHasProp(root, XC("id")))
        lv_display_read(root, &tmp.display_live, tmp.display_addr, sizeof(tmp.display_addr),
                        &tmp.display_port);
    if (parse_definition(root, &tmp, err) < 0 || parse_tags(inst, &tmp.tags, err) < 0)
        goto cleanup;

    /* Only now touch out: a failed parse leaves the caller's copy intact. */
    for (i = 0; i < N_MD_STRINGS; i++)
        memcpy((char *)out + md_strings[i].offset, (char *)&tmp + md_strings[i].offset,
               md_strings[i].size);
    memcpy(out->mac, tmp.mac, sizeof(out->mac));
    out->launch_time = tmp.launch_time;
    out->ami_launch_index = tmp.ami_launch_index;
    out->disable_api_termination = tmp.disable_api_termination;
    out->display = tmp.display;
    out->display_live = tmp.display_live;
    memcpy(out->display_addr, tmp.display_addr, sizeof(out->display_addr));
    out->display_port = tmp.display_port;
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

/* ---- a NIC's filter ------------------------------------------------------- */

/* The filterref of nic when ours(the filter's name), else NULL. */
static xmlNodePtr nic_filterref(xmlNodePtr nic, int (*ours_fn)(const char *))
{
    xmlNodePtr ref = dom_child(nic, "filterref");
    xmlChar *name = ref ? xmlGetProp(ref, BAD_CAST "filter") : NULL;
    int ours = name && ours_fn((const char *)name);

    xmlFree(name);
    return ours ? ref : NULL;
}

char *lv_domxml_nic_refiltered(const char *xml, int (*ours)(const char *), const char *filter,
                               cg_error *err)
{
    size_t len = xml ? strlen(xml) : 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr devices, nic, ref = NULL;
    xmlBufferPtr buf = NULL;
    char *out = NULL;

    if (len > INT_MAX ||
        !(doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING))) {
        cg_error_set(err, CG_ERR_INTERNAL, "domain XML is not well-formed");
        return NULL;
    }
    devices = dom_child(xmlDocGetRootElement(doc), "devices");
    for (nic = devices ? devices->children : NULL; nic && !ref; nic = nic->next) {
        if (is_el(nic, "interface"))
            ref = nic_filterref(nic, ours);
    }
    if (!ref) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "the domain has no NIC with a security group filter");
        goto cleanup;
    }
    if (!xmlSetProp(ref, BAD_CAST "filter", BAD_CAST filter) || !(buf = xmlBufferCreate()) ||
        xmlNodeDump(buf, doc, ref->parent, 0, 0) < 0 ||
        !(out = strdup((const char *)xmlBufferContent(buf))))
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory rewriting a NIC's filter");

cleanup:
    if (buf)
        xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return out;
}
