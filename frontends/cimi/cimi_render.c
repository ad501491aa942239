/* cloudgate: render a CIMI resource tree as JSON (json-c) or XML (libxml2).
 * The format rules are the table in cimi_model.h; nothing here knows a
 * resource type. */
#include "cimi_model.h"

#include <json-c/json.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/xml_writer.h"

static void format_time(long long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* ---- JSON ---------------------------------------------------------------- */

static json_object *json_text(const char *s)
{
    char *clean = cimi_clean_text(s ? s : "");
    json_object *j = clean ? json_object_new_string(clean) : NULL;

    free(clean);
    return j;
}

/* Add j under name; j NULL or a failed add sets *failed. */
static void json_put(json_object *parent, const char *name, json_object *j, int *failed)
{
    if (!j || json_object_object_add(parent, name, j) != 0) {
        json_object_put(j);
        *failed = 1;
    }
}

static json_object *json_of(const cimi_obj *o, int *failed);

static json_object *json_attr(const cimi_attr *a, int *failed)
{
    json_object *j = NULL, *sub;
    char buf[64];
    size_t i;

    switch (a->kind) {
    case CIMI_V_STR:
    case CIMI_V_BYTES:
    case CIMI_V_XATTR:
        return json_text(a->s);
    case CIMI_V_INT:
        return json_object_new_int64(a->i);
    case CIMI_V_BOOL:
        return json_object_new_boolean(a->i ? 1 : 0);
    case CIMI_V_TIME:
        format_time(a->i, buf, sizeof(buf));
        return json_object_new_string(buf);
    case CIMI_V_REF:
        j = a->obj ? json_of(a->obj, failed) : json_object_new_object();
        if (j && a->s)
            json_put(j, "href", json_text(a->s), failed);
        return j;
    case CIMI_V_OBJ:
        return json_of(a->obj, failed);
    case CIMI_V_LIST:
        if (!(j = json_object_new_array()))
            return NULL;
        for (i = 0; i < a->n; i++) {
            sub = json_of(a->items[i], failed);
            if (!sub || json_object_array_add(j, sub) != 0) {
                json_object_put(sub);
                *failed = 1;
            }
        }
        return j;
    case CIMI_V_PROPS:
        if (!(j = json_object_new_object()))
            return NULL;
        for (i = 0; i < a->n; i++) {
            char *key = cimi_clean_text(a->pairs[i].a);
            if (key)
                json_put(j, key, json_text(a->pairs[i].b), failed);
            else
                *failed = 1;
            free(key);
        }
        return j;
    case CIMI_V_OPS:
        if (!(j = json_object_new_array()))
            return NULL;
        for (i = 0; i < a->n; i++) {
            sub = json_object_new_object();
            if (!sub || json_object_array_add(j, sub) != 0) {
                json_object_put(sub);
                *failed = 1;
                continue;
            }
            json_put(sub, "rel", json_text(a->pairs[i].a), failed);
            json_put(sub, "href", json_text(a->pairs[i].b), failed);
        }
        return j;
    case CIMI_V_REFS:
        if (!(j = json_object_new_array()))
            return NULL;
        for (i = 0; i < a->n; i++) {
            sub = json_object_new_object();
            if (!sub || json_object_array_add(j, sub) != 0) {
                json_object_put(sub);
                *failed = 1;
                continue;
            }
            json_put(sub, "href", json_text(a->pairs[i].b), failed);
        }
        return j;
    }
    return NULL;
}

static json_object *json_of(const cimi_obj *o, int *failed)
{
    json_object *j = json_object_new_object();
    char uri[256];
    size_t i;

    if (!j)
        return NULL;
    if (o->type)
        json_put(j, "resourceURI",
                 json_object_new_string(cimi_resource_uri(o->type, uri, sizeof(uri))), failed);
    for (i = 0; i < o->n; i++)
        json_put(j, o->attrs[i].name, json_attr(&o->attrs[i], failed), failed);
    return j;
}

char *cimi_render_json(const cimi_obj *o, size_t *len)
{
    json_object *j;
    const char *text;
    char *out = NULL;
    int failed = 0;

    if (cimi_obj_failed(o))
        return NULL;
    if (!(j = json_of(o, &failed)) || failed)
        goto cleanup;
    text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text && (out = malloc(strlen(text) + 2))) {
        *len = (size_t)sprintf(out, "%s\n", text);
    }

cleanup:
    json_object_put(j);
    return out;
}

/* ---- XML ----------------------------------------------------------------- */

/* No CIMI document comes near this; a bound on a runaway one. */
#define CIMI_XML_MAX (256u << 20)

typedef struct xml_out {
    xmlTextWriterPtr w;
    int failed;
} xml_out;

#define X(call)                                                                                    \
    do {                                                                                           \
        if (!x->failed && (call) < 0)                                                              \
            x->failed = 1;                                                                         \
    } while (0)

static void xml_text_element(xml_out *x, const char *name, const char *value)
{
    char *clean = cimi_clean_text(value ? value : "");

    if (!clean) {
        x->failed = 1;
        return;
    }
    X(xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST clean));
    free(clean);
}

static void xml_attribute(xml_out *x, const char *name, const char *value)
{
    char *clean = cimi_clean_text(value ? value : "");

    if (!clean) {
        x->failed = 1;
        return;
    }
    X(xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST clean));
    free(clean);
}

/* xs:hexBinary of the bytes of s. */
static void xml_hex_element(xml_out *x, const char *name, const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = strlen(s), i;
    char *hex = malloc(2 * n + 1);

    if (!hex) {
        x->failed = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[(unsigned char)s[i] >> 4];
        hex[2 * i + 1] = digits[(unsigned char)s[i] & 15];
    }
    hex[2 * n] = '\0';
    X(xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST hex));
    free(hex);
}

static void xml_children(xml_out *x, const cimi_obj *o);

static void xml_attr(xml_out *x, const cimi_attr *a)
{
    char buf[64];
    size_t i;

    switch (a->kind) {
    case CIMI_V_STR:
        xml_text_element(x, a->name, a->s);
        break;
    case CIMI_V_BYTES:
        xml_hex_element(x, a->name, a->s ? a->s : "");
        break;
    case CIMI_V_INT:
        snprintf(buf, sizeof(buf), "%lld", a->i);
        xml_text_element(x, a->name, buf);
        break;
    case CIMI_V_BOOL:
        xml_text_element(x, a->name, a->i ? "true" : "false");
        break;
    case CIMI_V_TIME:
        format_time(a->i, buf, sizeof(buf));
        xml_text_element(x, a->name, buf);
        break;
    case CIMI_V_REF:
        X(xmlTextWriterStartElement(x->w, BAD_CAST a->name));
        if (a->s)
            xml_attribute(x, "href", a->s);
        if (a->obj)
            xml_children(x, a->obj);
        X(xmlTextWriterEndElement(x->w));
        break;
    case CIMI_V_OBJ:
        X(xmlTextWriterStartElement(x->w, BAD_CAST a->name));
        xml_children(x, a->obj);
        X(xmlTextWriterEndElement(x->w));
        break;
    case CIMI_V_LIST:
        for (i = 0; i < a->n; i++) {
            X(xmlTextWriterStartElement(x->w, BAD_CAST a->item_name));
            xml_children(x, a->items[i]);
            X(xmlTextWriterEndElement(x->w));
        }
        break;
    case CIMI_V_PROPS:
        for (i = 0; i < a->n; i++) {
            char *clean = cimi_clean_text(a->pairs[i].b);
            X(xmlTextWriterStartElement(x->w, BAD_CAST "property"));
            /* DSP8009 1.0.0 requires name=, not the key= some servers wrote. */
            xml_attribute(x, "name", a->pairs[i].a);
            if (!clean)
                x->failed = 1;
            else
                X(xmlTextWriterWriteString(x->w, BAD_CAST clean));
            free(clean);
            X(xmlTextWriterEndElement(x->w));
        }
        break;
    case CIMI_V_OPS:
        for (i = 0; i < a->n; i++) {
            X(xmlTextWriterStartElement(x->w, BAD_CAST "operation"));
            xml_attribute(x, "rel", a->pairs[i].a);
            xml_attribute(x, "href", a->pairs[i].b);
            X(xmlTextWriterEndElement(x->w));
        }
        break;
    case CIMI_V_REFS:
        for (i = 0; i < a->n; i++) {
            X(xmlTextWriterStartElement(x->w, BAD_CAST a->item_name));
            xml_attribute(x, "href", a->pairs[i].b);
            X(xmlTextWriterEndElement(x->w));
        }
        break;
    case CIMI_V_XATTR:
        break; /* written by xml_children before the elements */
    }
}

static void xml_children(xml_out *x, const cimi_obj *o)
{
    size_t i;

    /* Attributes first: the writer closes the start tag at the first child. */
    for (i = 0; i < o->n && !x->failed; i++) {
        if (o->attrs[i].kind == CIMI_V_XATTR)
            xml_attribute(x, o->attrs[i].name, o->attrs[i].s);
    }
    for (i = 0; i < o->n && !x->failed; i++)
        xml_attr(x, &o->attrs[i]);
}

static int is_collection(const char *type)
{
    size_t n = type ? strlen(type) : 0;

    return n >= 10 && strcmp(type + n - 10, "Collection") == 0;
}

char *cimi_render_xml(const cimi_obj *o, size_t *len)
{
    cg_dynbuf buf;
    xml_out xo = {0}, *x = &xo;
    char uri[256];
    char *out = NULL;

    if (cimi_obj_failed(o) || !o->type)
        return NULL;
    cg_dynbuf_init(&buf, CIMI_XML_MAX);
    if (!(x->w = cg_xml_writer_new(&buf)))
        goto cleanup;
    X(xmlTextWriterSetIndent(x->w, 1));
    X(xmlTextWriterSetIndentString(x->w, BAD_CAST "  "));
    X(xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL));
    X(xmlTextWriterStartElementNS(
        x->w, NULL, BAD_CAST(is_collection(o->type) ? "Collection" : o->type), BAD_CAST CIMI_NS));
    if (is_collection(o->type))
        xml_attribute(x, "resourceURI", cimi_resource_uri(o->type, uri, sizeof(uri)));
    xml_children(x, o);
    X(xmlTextWriterEndDocument(x->w));
    /* Freeing the writer flushes what it still holds into buf. */
    xmlFreeTextWriter(x->w);
    x->w = NULL;
    if (!x->failed)
        out = cg_dynbuf_take(&buf, len);

cleanup:
    if (x->w)
        xmlFreeTextWriter(x->w);
    cg_dynbuf_free(&buf);
    return out;
}
