/* cloudgate: CIMI request bodies.  JSON is parsed by json-c; XML (libxml2)
 * is converted into the same JSON shape, so each handler reads one form.
 * Readers name the member that is wrong in their 400 messages. */
#include "cimi_internal.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BODY_DEPTH 16

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

/* The element's text, trimmed, as a JSON string. */
static json_object *xml_text(xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    size_t a = 0, b;
    json_object *j;

    if (!t)
        return NULL;
    b = strlen((char *)t);
    while (a < b && strchr(" \t\r\n", t[a]))
        a++;
    while (b > a && strchr(" \t\r\n", t[b - 1]))
        b--;
    j = json_object_new_string_len((char *)t + a, (int)(b - a));
    xmlFree(t);
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

static json_object *xml_to_json(cimi_call *c, xmlNode *el, int depth);

/* Attributes (href, initialLocation, ...) as members of j. */
static int add_xml_attrs(xmlNode *el, json_object *j)
{
    xmlAttr *a;
    xmlChar *v;

    for (a = el->properties; a; a = a->next) {
        if (a->ns) /* xmlns:*, xsi:* and extensions are not CIMI attributes */
            continue;
        if (!(v = xmlNodeGetContent((xmlNode *)a)))
            return -1;
        json_object_object_add(j, (const char *)a->name, json_object_new_string((char *)v));
        xmlFree(v);
    }
    return 0;
}

/* One child element into the object j (a member, a list item or a property). */
static int add_xml_child(cimi_call *c, xmlNode *parent, xmlNode *n, json_object *j, int depth)
{
    const char *name = (const char *)n->name, *arr;
    json_object *v, *list, *props;
    xmlChar *key;

    if (strcmp(name, "property") == 0) {
        if (!(key = xmlGetProp(n, BAD_CAST "name")) && !(key = xmlGetProp(n, BAD_CAST "key")))
            return cimi_fail(c, 400, "<property> needs a name attribute");
        if (!json_object_object_get_ex(j, "properties", &props)) {
            props = json_object_new_object();
            json_object_object_add(j, "properties", props);
        }
        json_object_object_add(props, (const char *)key, xml_text(n));
        xmlFree(key);
        return 0;
    }
    if (strcmp(name, "operation") == 0)
        return 0; /* what a client may do is the server's to say */
    if (!(v = xml_to_json(c, n, depth + 1)))
        return -1;
    if ((arr = list_name((const char *)parent->name, name))) {
        if (!json_object_object_get_ex(j, arr, &list)) {
            list = json_object_new_array();
            json_object_object_add(j, arr, list);
        }
        json_object_array_add(list, v);
        return 0;
    }
    if (json_object_object_get_ex(j, name, NULL)) {
        json_object_put(v);
        return cimi_fail(c, 400, "<%.64s> appears more than once in <%.64s>", name,
                         (const char *)parent->name);
    }
    json_object_object_add(j, name, v);
    return 0;
}

static json_object *xml_to_json(cimi_call *c, xmlNode *el, int depth)
{
    json_object *j;
    xmlNode *n;

    if (depth > MAX_BODY_DEPTH) {
        cimi_fail(c, 400, "the body nests deeper than %d elements", MAX_BODY_DEPTH);
        return NULL;
    }
    /* A leaf without attributes is a value; anything else an object. */
    if (!has_element_children(el) && !el->properties)
        return xml_text(el);
    if (!(j = json_object_new_object()) || add_xml_attrs(el, j) < 0) {
        json_object_put(j);
        cimi_fail(c, 500, "out of memory");
        return NULL;
    }
    for (n = el->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns && strcmp((const char *)n->ns->href, CIMI_NS) != 0)
            continue; /* extensions in other namespaces are ignored */
        if (add_xml_child(c, el, n, j, depth) < 0) {
            json_object_put(j);
            return NULL;
        }
    }
    return j;
}

static json_object *parse_xml(cimi_call *c, const char *type)
{
    xmlDoc *doc = xmlReadMemory(c->req->body, (int)c->req->body_len, "body.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root;
    json_object *j = NULL;

    if (!doc || !(root = xmlDocGetRootElement(doc))) {
        cimi_fail(c, 400, "the body is not an XML document");
        goto cleanup;
    }
    if (strcmp((const char *)root->name, type) != 0 ||
        (root->ns && strcmp((const char *)root->ns->href, CIMI_NS) != 0)) {
        cimi_fail(c, 400, "the root element must be <%s xmlns=\"%s\">, not <%.64s>", type, CIMI_NS,
                  (const char *)root->name);
        goto cleanup;
    }
    j = xml_to_json(c, root, 0);
    if (j && !json_object_is_type(j, json_type_object)) {
        /* <Type/> with nothing in it: an empty resource */
        json_object_put(j);
        j = json_object_new_object();
    }

cleanup:
    xmlFreeDoc(doc);
    return j;
}

static json_object *parse_json(cimi_call *c, const char *type)
{
    json_tokener *tok = json_tokener_new_ex(MAX_BODY_DEPTH);
    json_object *j = NULL, *v;
    char uri[256];

    if (!tok) {
        cimi_fail(c, 500, "out of memory");
        return NULL;
    }
    j = json_tokener_parse_ex(tok, c->req->body, (int)c->req->body_len);
    if (!j || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != c->req->body_len) {
        cimi_fail(c, 400, "the body is not a JSON document");
        goto fail;
    }
    if (!json_object_is_type(j, json_type_object)) {
        cimi_fail(c, 400, "the body must be a JSON object (a %s)", type);
        goto fail;
    }
    cimi_resource_uri(type, uri, sizeof(uri));
    if (json_object_object_get_ex(j, "resourceURI", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         strcmp(json_object_get_string(v), uri) != 0)) {
        cimi_fail(c, 400, "resourceURI must be %s", uri);
        goto fail;
    }
    json_tokener_free(tok);
    return j;

fail:
    json_object_put(j);
    json_tokener_free(tok);
    return NULL;
}

json_object *cimi_body(cimi_call *c, const char *type)
{
    const char *ct = gw_request_header(c->req, "Content-Type");

    if (!c->req->body || c->req->body_len == 0) {
        cimi_fail(c, 400, "a %s body is required", type);
        return NULL;
    }
    if (ct && strncasecmp(ct, "application/json", 16) == 0)
        return parse_json(c, type);
    return parse_xml(c, type);
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
        *out = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v); /* XML gives every value as text */
        *out = strtoll(s, &end, 10);
        if (!*s || *end)
            return cimi_fail(c, 400, "'%s' in %s must be an integer, not '%.64s'", key, what, s);
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
