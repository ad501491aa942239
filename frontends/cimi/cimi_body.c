/* cloudgate: CIMI request bodies.  JSON is parsed by json-c; XML (libxml2)
 * is converted into the same JSON shape, so each handler reads one form.
 * Readers name the member that is wrong in their 400 messages.
 *
 * Bodies come from the network: both parsers are bounded (nesting depth,
 * number of values) before anything is built from them, XML with a DOCTYPE
 * is refused before its internal subset is read (so no entity is ever
 * declared, let alone expanded) and nothing is loaded from the network. */
#include "cimi_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* No CIMI body nests more than ~6 levels or holds more than a few hundred
 * values; these bounds only stop hostile ones. */
#define MAX_BODY_DEPTH 16
#define MAX_BODY_NODES 10000
/* Properties become tags: EC2 allows 50 per resource, name and description
 * included. */
#define MAX_PROPERTIES 48

/* XML elements that repeat inside a parent and become a JSON array (the
 * JSON binding names arrays in the plural). */
static const struct {
    const char *parent;
    const char *item;
    const char *array;
} xml_lists[] = {
    {"machineTemplate", "volume", "volumes"},
    {"MachineTemplate", "volume", "volumes"},
    {"machineTemplate", "volumeTemplate", "volumeTemplates"},
    {"MachineTemplate", "volumeTemplate", "volumeTemplates"},
    {"machineTemplate", "networkInterface", "networkInterfaces"},
    {"MachineTemplate", "networkInterface", "networkInterfaces"},
};

static const char *list_name(const char *parent, const char *item)
{
    size_t i;

    for (i = 0; i < sizeof(xml_lists) / sizeof(xml_lists[0]); i++) {
        if (strcmp(xml_lists[i].parent, parent) == 0 && strcmp(xml_lists[i].item, item) == 0)
            return xml_lists[i].array;
    }
    return NULL;
}

/* The element's text, trimmed, as a JSON string; NULL (reported) on OOM. */
static json_object *xml_text(cimi_call *c, xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    size_t a = 0, b;
    json_object *j = NULL;

    if (t) {
        b = strlen((char *)t);
        while (a < b && strchr(" \t\r\n", t[a]))
            a++;
        while (b > a && strchr(" \t\r\n", t[b - 1]))
            b--;
        j = json_object_new_string_len((char *)t + a, (int)(b - a));
        xmlFree(t);
    }
    if (!j)
        cimi_fail(c, 500, "out of memory");
    return j;
}

static int has_element_children(xmlNode *n)
{
    for (n = n->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return 1;
    }
    return 0;
}

/* Add v (taken) to j as name.  Attributes, child elements, <property>
 * and repeated list items all land in one JSON object, so a name given
 * twice (<href> beside href="", <properties> beside <property>) is a 400
 * naming it, never a silent overwrite. */
static int add_member(cimi_call *c, json_object *j, const char *name, json_object *v,
                      const char *parent)
{
    if (json_object_object_get_ex(j, name, NULL)) {
        json_object_put(v);
        return cimi_fail(c, 400,
                         "<%.64s> appears more than once in <%.64s> (as an element, "
                         "an attribute or a list)",
                         name, parent);
    }
    if (json_object_object_add(j, name, v) < 0)
        return cimi_fail(c, 500, "out of memory");
    return 0;
}

/* The member name of j that collects items of <item> (a list or the
 * properties): made when missing; a member of that name but another type
 * is a 400 naming it. */
static json_object *collector(cimi_call *c, json_object *j, const char *name, json_type type,
                              const char *item, const char *parent)
{
    json_object *v;

    if (json_object_object_get_ex(j, name, &v)) {
        if (json_object_is_type(v, type))
            return v;
        cimi_fail(c, 400, "'%.64s' in <%.64s> is given both as a member and by <%.64s> elements",
                  name, parent, item);
        return NULL;
    }
    v = type == json_type_array ? json_object_new_array() : json_object_new_object();
    if (!v || add_member(c, j, name, v, parent) < 0) {
        cimi_fail(c, 500, "out of memory");
        return NULL;
    }
    return v;
}

static json_object *xml_to_json(cimi_call *c, xmlNode *el, int depth);

/* Attributes (href, initialLocation, ...) as members of j. */
static int add_xml_attrs(cimi_call *c, xmlNode *el, json_object *j)
{
    xmlAttr *a;
    xmlChar *v;
    json_object *s;

    for (a = el->properties; a; a = a->next) {
        if (a->ns) /* xmlns:*, xsi:* and extensions are not CIMI attributes */
            continue;
        if (!(v = xmlNodeGetContent((xmlNode *)a)))
            return cimi_fail(c, 500, "out of memory");
        s = json_object_new_string((char *)v);
        xmlFree(v);
        if (!s || add_member(c, j, (const char *)a->name, s, (const char *)el->name) < 0)
            return cimi_fail(c, 500, "out of memory");
    }
    return 0;
}

/* <property name="k">v</property> into j's "properties" object. */
static int add_xml_property(cimi_call *c, xmlNode *parent, xmlNode *n, json_object *j)
{
    json_object *props, *v = NULL;
    xmlChar *key;
    int ret = -1;

    if (!(key = xmlGetProp(n, BAD_CAST "name")) && !(key = xmlGetProp(n, BAD_CAST "key")))
        return cimi_fail(c, 400, "<property> needs a name attribute");
    if (!(props = collector(c, j, "properties", json_type_object, "property",
                            (const char *)parent->name)))
        goto cleanup;
    if (json_object_object_get_ex(props, (const char *)key, NULL)) {
        cimi_fail(c, 400, "<property name='%.64s'> appears more than once in <%.64s>",
                  (const char *)key, (const char *)parent->name);
        goto cleanup;
    }
    if (!(v = xml_text(c, n)))
        goto cleanup;
    if (json_object_object_add(props, (const char *)key, v) < 0) {
        cimi_fail(c, 500, "out of memory");
        goto cleanup;
    }
    ret = 0;

cleanup:
    xmlFree(key);
    return ret;
}

/* One child element into the object j (a member, a list item or a property). */
static int add_xml_child(cimi_call *c, xmlNode *parent, xmlNode *n, json_object *j, int depth)
{
    const char *name = (const char *)n->name, *arr;
    json_object *v, *list;

    if (strcmp(name, "property") == 0)
        return add_xml_property(c, parent, n, j);
    if (strcmp(name, "operation") == 0)
        return 0; /* what a client may do is the server's to say */
    if ((arr = list_name((const char *)parent->name, name))) {
        if (!(list = collector(c, j, arr, json_type_array, name, (const char *)parent->name)))
            return -1;
        if (!(v = xml_to_json(c, n, depth + 1)))
            return -1;
        if (json_object_array_add(list, v) < 0) {
            json_object_put(v);
            return cimi_fail(c, 500, "out of memory");
        }
        return 0;
    }
    if (!(v = xml_to_json(c, n, depth + 1)))
        return -1;
    return add_member(c, j, name, v, (const char *)parent->name);
}

static json_object *xml_to_json(cimi_call *c, xmlNode *el, int depth)
{
    json_object *j;
    xmlNode *n;

    if (depth > MAX_BODY_DEPTH) {
        cimi_fail(c, 400, "the body nests deeper than %d elements (the limit)", MAX_BODY_DEPTH);
        return NULL;
    }
    /* A leaf without attributes is a value; anything else an object. */
    if (!has_element_children(el) && !el->properties)
        return xml_text(c, el);
    if (!(j = json_object_new_object())) {
        cimi_fail(c, 500, "out of memory");
        return NULL;
    }
    if (add_xml_attrs(c, el, j) < 0)
        goto fail;
    for (n = el->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns && strcmp((const char *)n->ns->href, CIMI_NS) != 0)
            continue; /* extensions in other namespaces are ignored */
        if (add_xml_child(c, el, n, j, depth) < 0)
            goto fail;
    }
    return j;

fail:
    json_object_put(j);
    return NULL;
}

/* ---- parsing XML safely ----------------------------------------------------- */

/* Watches the parse through libxml2's SAX2 callbacks (ctxt->_private). */
typedef struct xml_guard {
    int refused;                  /* 1 DOCTYPE, 2 too deep, 3 too many nodes */
    size_t nodes;                 /* elements, attributes and xmlns declarations so far */
    startElementNsSAX2Func start; /* libxml2's tree builder */
} xml_guard;

/* Any <!DOCTYPE>: stop before its internal subset (where entities would
 * be declared) is read. */
static void guard_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard *g = ctxt->_private;

    (void)name, (void)ext, (void)sys;
    g->refused = 1;
    xmlStopParser(ctxt);
}

/* Count and bound elements before libxml2 builds them. */
static void guard_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                        int n_ns, const xmlChar **ns, int n_attrs, int n_defaulted,
                        const xmlChar **attrs)
{
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard *g = ctxt->_private;

    g->nodes += 1 + (size_t)(n_attrs > 0 ? n_attrs : 0) + (size_t)(n_ns > 0 ? n_ns : 0);
    if (ctxt->nodeNr > MAX_BODY_DEPTH)
        g->refused = 2;
    else if (g->nodes > MAX_BODY_NODES)
        g->refused = 3;
    if (g->refused) {
        xmlStopParser(ctxt);
        return;
    }
    g->start(ctx, local, prefix, uri, n_ns, ns, n_attrs, n_defaulted, attrs);
}

/* data as an XML document, or NULL (reported). */
static xmlDoc *read_xml(cimi_call *c, const char *data, size_t len)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDoc *doc = NULL;
    xml_guard g = {0};

    if (len > INT_MAX) {
        cimi_fail(c, 400, "the body is too large");
        goto cleanup;
    }
    if (!(ctxt = xmlNewParserCtxt()) || !ctxt->sax) {
        cimi_fail(c, 500, "out of memory");
        goto cleanup;
    }
    ctxt->_private = &g;
    g.start = ctxt->sax->startElementNs;
    ctxt->sax->startElementNs = guard_start;
    ctxt->sax->internalSubset = guard_doctype;
    ctxt->sax->externalSubset = NULL;
    /* No NOENT (entities stay references), no DTDLOAD, NONET. */
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, "body.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (g.refused == 1 || (doc && (doc->intSubset || doc->extSubset)))
        cimi_fail(c, 400, "XML bodies with a DOCTYPE (DTD) are not accepted");
    else if (g.refused == 2)
        cimi_fail(c, 400, "the body nests deeper than %d elements (the limit)", MAX_BODY_DEPTH);
    else if (g.refused == 3)
        cimi_fail(c, 400, "the body has more than %d elements and attributes (the limit)",
                  MAX_BODY_NODES);
    else if (!doc || !xmlDocGetRootElement(doc))
        cimi_fail(c, 400, "the body is not an XML document");
    if (c->status) {
        xmlFreeDoc(doc);
        doc = NULL;
    }

cleanup:
    xmlFreeParserCtxt(ctxt);
    return doc;
}

/* Is name one of types ("MachineCreate", or "MachineCreate|Action")? */
static int type_matches(const char *types, const char *name)
{
    size_t n = strlen(name);

    if (!n || strchr(name, '|'))
        return 0;
    for (const char *t = types; t; t = strchr(t, '|') ? strchr(t, '|') + 1 : NULL)
        if (strncmp(t, name, n) == 0 && (t[n] == '\0' || t[n] == '|'))
            return 1;
    return 0;
}

static json_object *parse_xml(cimi_call *c, const char *data, size_t len, const char *type)
{
    xmlDoc *doc = read_xml(c, data, len);
    xmlNode *root;
    json_object *j = NULL;

    if (!doc)
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!type_matches(type, (const char *)root->name) ||
        (root->ns && strcmp((const char *)root->ns->href, CIMI_NS) != 0)) {
        cimi_fail(c, 400, "the root element must be <%s xmlns=\"%s\">, not <%.64s>", type, CIMI_NS,
                  (const char *)root->name);
        goto cleanup;
    }
    j = xml_to_json(c, root, 0);
    if (j && !json_object_is_type(j, json_type_object)) {
        /* <Type/> with nothing in it: an empty resource */
        json_object_put(j);
        if (!(j = json_object_new_object()))
            cimi_fail(c, 500, "out of memory");
    }
    if (j && strchr(type, '|') && !json_object_object_get_ex(j, "resourceURI", NULL)) {
        /* One of several types: the root's name says which, as in JSON. */
        char uri[256];

        cimi_resource_uri((const char *)root->name, uri, sizeof(uri));
        json_object_object_add(j, "resourceURI", json_object_new_string(uri));
    }

cleanup:
    xmlFreeDoc(doc);
    return j;
}

/* ---- parsing JSON safely ----------------------------------------------------- */

/* What a pass over the raw JSON text finds, before json-c builds anything:
 * json-c keeps the last of duplicate names and cuts names at \u0000, so
 * both are found here. */
typedef struct json_scan {
    size_t names;  /* "name": pairs */
    size_t values; /* a lower bound on the number of values */
    int nul;       /* a \u0000 escape (or a raw NUL) in a string */
} json_scan;

static void json_prescan(const char *s, size_t len, json_scan *out)
{
    int in_str = 0, after_str = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < len; i++) {
        if (in_str) {
            if (s[i] == '\\' && i + 1 < len) {
                if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
                    out->nul = 1;
                i++;
            } else if (s[i] == '"') {
                in_str = 0;
                after_str = 1;
            } else if (s[i] == '\0') {
                out->nul = 1;
            }
            continue;
        }
        if (s[i] == '"')
            in_str = 1;
        else if (s[i] == ':' && after_str)
            out->names++;
        /* Each container and each comma starts at least one value. */
        if (s[i] == '{' || s[i] == '[' || s[i] == ',')
            out->values++;
        if (!isspace((unsigned char)s[i]) && s[i] != '"')
            after_str = 0;
    }
}

/* The values and object members of j (depth is bounded by the tokener). */
static void json_count(json_object *j, size_t *values, size_t *members)
{
    size_t i, n;

    (*values)++;
    if (json_object_is_type(j, json_type_object)) {
        *members += (size_t)json_object_object_length(j);
        json_object_object_foreach(j, k, v)
        {
            (void)k;
            json_count(v, values, members);
        }
    } else if (json_object_is_type(j, json_type_array)) {
        for (i = 0, n = json_object_array_length(j); i < n; i++)
            json_count(json_object_array_get_idx(j, i), values, members);
    }
}

static json_object *parse_json(cimi_call *c, const char *data, size_t len, const char *type)
{
    json_tokener *tok = NULL;
    json_object *j = NULL, *v;
    enum json_tokener_error e;
    size_t values = 0, members = 0;
    json_scan scan;
    char uri[256];

    json_prescan(data, len, &scan);
    if (scan.values > MAX_BODY_NODES) {
        cimi_fail(c, 400, "the body has more than %d values (the limit)", MAX_BODY_NODES);
        goto fail;
    }
    if (scan.nul) {
        cimi_fail(c, 400, "the body has a NUL character (\\u0000) in a string");
        goto fail;
    }
    if (len > INT_MAX || !(tok = json_tokener_new_ex(MAX_BODY_DEPTH))) {
        cimi_fail(c, len > INT_MAX ? 400 : 500, "the body is too large or memory is short");
        goto fail;
    }
    /* Strict: RFC 8259 only (no trailing commas, single quotes...). */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    j = json_tokener_parse_ex(tok, data, (int)len);
    e = json_tokener_get_error(tok);
    if (e == json_tokener_error_depth) {
        cimi_fail(c, 400, "the body nests deeper than %d levels (the limit)", MAX_BODY_DEPTH);
        goto fail;
    }
    if (e == json_tokener_error_parse_utf8_string) {
        cimi_fail(c, 400, "the body is not valid UTF-8");
        goto fail;
    }
    if (!j || e != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
        cimi_fail(c, 400, "the body is not a JSON document (%s at offset %zu)",
                  e == json_tokener_success ? "trailing text" : json_tokener_error_desc(e),
                  json_tokener_get_parse_end(tok));
        goto fail;
    }
    if (!json_object_is_type(j, json_type_object)) {
        cimi_fail(c, 400, "the body must be a JSON object (a %s)", type);
        goto fail;
    }
    json_count(j, &values, &members);
    if (values > MAX_BODY_NODES) {
        cimi_fail(c, 400, "the body has more than %d values (the limit)", MAX_BODY_NODES);
        goto fail;
    }
    if (members != scan.names) {
        cimi_fail(c, 400, "the body repeats a member name in one object");
        goto fail;
    }
    cimi_resource_uri(type, uri, sizeof(uri));
    if (json_object_object_get_ex(j, "resourceURI", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         strncmp(json_object_get_string(v), CIMI_NS "/", strlen(CIMI_NS "/")) != 0 ||
         !type_matches(type, json_object_get_string(v) + strlen(CIMI_NS "/")))) {
        cimi_fail(c, 400, "resourceURI must be %s", uri);
        goto fail;
    }
    json_tokener_free(tok);
    return j;

fail:
    json_object_put(j);
    if (tok) /* json-c 0.16's free does not take NULL */
        json_tokener_free(tok);
    return NULL;
}

/* JSON for application/json (any case, parameters ignored), else XML. */
static json_object *parse_body(cimi_call *c, const char *ctype, const char *data, size_t len,
                               const char *type)
{
    if (!data || len == 0) {
        cimi_fail(c, 400, "a %s body is required", type);
        return NULL;
    }
    if (ctype && strncasecmp(ctype, "application/json", 16) == 0)
        return parse_json(c, data, len, type);
    return parse_xml(c, data, len, type);
}

json_object *cimi_body(cimi_call *c, const char *type)
{
    return parse_body(c, gw_request_header(c->req, "Content-Type"), c->req->body, c->req->body_len,
                      type);
}

json_object *cimi_body_or_action(cimi_call *c, const char *type, int *is_action)
{
    char either[64], uri[256];
    json_object *j, *v;

    snprintf(either, sizeof(either), "%s|Action", type);
    if (!(j = cimi_body(c, either)))
        return NULL;
    cimi_resource_uri("Action", uri, sizeof(uri));
    if (json_object_object_get_ex(j, "resourceURI", &v))
        *is_action = strcmp(json_object_get_string(v), uri) == 0;
    else /* JSON without a resourceURI: an Action names its action */
        *is_action = json_object_object_get_ex(j, "action", NULL);
    return j;
}

json_object *cimi_body_parse(const char *ctype, const char *data, size_t len, const char *type,
                             cg_error *err)
{
    cimi_call c = {0};
    json_object *j = parse_body(&c, ctype, data, len, type);

    if (!j)
        cg_error_set(err, c.status == 400 ? CG_ERR_INVALID : CG_ERR_INTERNAL, "%s", c.message);
    return j;
}

/* ---- readers ------------------------------------------------------------------ */

int cimi_body_str(cimi_call *c, json_object *o, const char *key, const char *what, const char **out)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return cimi_fail(c, 400, "'%s' in %s must be a string", key, what);
    *out = json_object_get_string(v);
    return 0;
}

int cimi_body_int(cimi_call *c, json_object *o, const char *key, const char *what, long long *out,
                  int *present)
{
    json_object *v;
    const char *s;
    char *end;

    *present = 0;
    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        /* json-c saturates what does not fit: an unsigned above INT64_MAX */
        *out = json_object_get_int64(v);
        if (*out == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
            return cimi_fail(c, 400, "'%s' in %s is out of range", key, what);
    } else if (json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v); /* XML gives every value as text */
        errno = 0;
        *out = strtoll(s, &end, 10);
        if (!*s || *end || isspace((unsigned char)*s))
            return cimi_fail(c, 400, "'%s' in %s must be an integer, not '%.64s'", key, what, s);
        if (errno == ERANGE)
            return cimi_fail(c, 400, "'%s' in %s is out of range", key, what);
    } else {
        return cimi_fail(c, 400, "'%s' in %s must be an integer", key, what);
    }
    *present = 1;
    return 0;
}

int cimi_body_obj(cimi_call *c, json_object *o, const char *key, const char *what,
                  json_object **out)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return cimi_fail(c, 400, "'%s' in %s must be an object", key, what);
    *out = v;
    return 0;
}

int cimi_body_props(cimi_call *c, json_object *o, const char *what, cg_tags *tags)
{
    json_object *props = NULL;

    if (cimi_body_obj(c, o, "properties", what, &props) < 0)
        return -1;
    if (!props)
        return 0;
    if (json_object_object_length(props) > MAX_PROPERTIES)
        return cimi_fail(c, 400,
                         "%s: more than %d properties (the limit: with name and description, "
                         "the 50 tags EC2 allows)",
                         what, MAX_PROPERTIES);
    json_object_object_foreach(props, k, v)
    {
        if (!json_object_is_type(v, json_type_string))
            return cimi_fail(c, 400, "%s: property '%.64s' must be a string", what, k);
        if (!*k || strlen(k) > 127 || json_object_get_string_len(v) > 255)
            return cimi_fail(c, 400,
                             "%s: property '%.64s': names are 1-127 and values "
                             "0-255 characters",
                             what, k);
        if (cg_tags_set(tags, k, json_object_get_string(v)) < 0)
            return cimi_fail(c, 500, "out of memory");
    }
    return 0;
}

int cimi_href_id(cimi_call *c, const char *href, const char *coll, const char *what, char *id,
                 size_t len)
{
    char marker[96];
    const char *p;
    size_t n;

    /* Any scheme and host: clients behind proxies see other baseURIs. */
    snprintf(marker, sizeof(marker), "/cimi/%s/", coll);
    if ((p = strstr(href, marker)))
        p += strlen(marker);
    else if (strncmp(href, coll, strlen(coll)) == 0 && href[strlen(coll)] == '/')
        p = href + strlen(coll) + 1;
    else
        return cimi_fail(c, 400, "%s: '%.128s' is not a reference into %s", what, href, coll);
    n = strlen(p);
    if (n == 0 || n >= len || strchr(p, '/'))
        return cimi_fail(c, 400, "%s: '%.128s' is not a reference into %s", what, href, coll);
    memcpy(id, p, n + 1);
    return 0;
}
