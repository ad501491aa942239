/* cloudgate: the CIMI resource model, one description rendered twice.
 *
 * A handler turns driver/store records into a cimi_obj tree: a resource type
 * and its attributes in DSP8009 (XSD) sequence order.  That tree is the only
 * description of a resource: cimi_render_json() (json-c) and
 * cimi_render_xml() (libxml2, namespace CIMI_NS) both walk it, and $filter,
 * $select and $orderby work on it too.  The renderers own the format rules:
 *
 *   attribute kind   JSON                         XML
 *   STR/INT/BOOL     "name": value                <name>value</name>
 *   TIME             "name": "2012-...Z"          <name>2012-...Z</name>
 *   BYTES            "name": "text as is"         <name>hex of the bytes</name> (hexBinary)
 *   REF              "name": {"href": ...}        <name href="..."/> (+ body when inline)
 *   OBJ              "name": {...}                <name>...</name>
 *   LIST             "name": [{...}, ...]         <item_name>...</item_name> repeated
 *   PROPS            "properties": {"k": "v"}     <property name="k">v</property> repeated
 *   OPS              "operations": [{rel, href}]  <operation rel=".." href=".."/> repeated
 *   REFS             "name": [{"href"}, ...]      <item_name href=".."/> repeated
 *   XATTR            "name": "value"              name="value" on the enclosing element
 *
 * A root object carries "resourceURI" in JSON.  In XML a type ending in
 * "Collection" becomes <Collection resourceURI="...">; other roots are
 * <Type> (the XSD allows no unqualified resourceURI attribute there).
 *
 * Builders never fail half-way: out of memory is sticky in the object
 * (cimi_obj_failed) and checked once before rendering.
 */
#ifndef CIMI_MODEL_H
#define CIMI_MODEL_H

#include <stddef.h>
#include <time.h>

#define CIMI_NS "http://schemas.dmtf.org/cimi/1"
#define CIMI_SPEC_VERSION "1.0.1"
#define CIMI_JSON "application/json"
#define CIMI_XML "application/xml"

typedef enum {
    CIMI_V_STR,
    CIMI_V_INT,
    CIMI_V_BOOL,
    CIMI_V_TIME,
    CIMI_V_BYTES,
    CIMI_V_REF,
    CIMI_V_OBJ,
    CIMI_V_LIST,
    CIMI_V_PROPS,
    CIMI_V_OPS,
    CIMI_V_REFS,
    CIMI_V_XATTR,
} cimi_vkind;

typedef struct cimi_obj cimi_obj;

typedef struct cimi_pair {
    char *a; /* property key, or operation rel */
    char *b; /* property value, or operation href */
} cimi_pair;

typedef struct cimi_attr {
    char *name;      /* JSON member and XML element name */
    char *item_name; /* LIST: the XML element of each item ("disk", "Machine") */
    cimi_vkind kind;
    char *s;          /* STR, BYTES; REF: the href */
    long long i;      /* INT, BOOL (0/1), TIME (time_t) */
    cimi_obj *obj;    /* OBJ; REF: the inline body or NULL */
    cimi_obj **items; /* LIST */
    cimi_pair *pairs; /* PROPS, OPS, REFS (b = href) */
    size_t n;         /* items or pairs */
} cimi_attr;

struct cimi_obj {
    char *type; /* "Machine", "MachineCollection"; NULL for a plain struct */
    cimi_attr *attrs;
    size_t n, cap;
    int failed; /* sticky: an allocation failed somewhere in the tree */
};

/* A new object of type (NULL: an anonymous struct such as a disk).  NULL on OOM. */
cimi_obj *cimi_obj_new(const char *type);
/* Free the tree.  Accepts NULL. */
void cimi_obj_free(cimi_obj *o);
/* 1 when any allocation in the tree failed (or o is NULL). */
int cimi_obj_failed(const cimi_obj *o);

/* Append attributes (in XSD order).  A NULL string value adds nothing. */
void cimi_add_str(cimi_obj *o, const char *name, const char *value);
void cimi_add_int(cimi_obj *o, const char *name, long long value);
void cimi_add_bool(cimi_obj *o, const char *name, int value);
void cimi_add_time(cimi_obj *o, const char *name, time_t value);
void cimi_add_bytes(cimi_obj *o, const char *name, const char *value);
/* A string written as an XML attribute of the enclosing element (a
 * MachineTemplate volume's href and initialLocation), a member in JSON. */
void cimi_add_xattr(cimi_obj *o, const char *name, const char *value);
/* A reference {"href"}; body (taken, may be NULL) is the inline value. */
void cimi_add_ref(cimi_obj *o, const char *name, const char *href, cimi_obj *body);
/* A nested value (taken). */
void cimi_add_obj(cimi_obj *o, const char *name, cimi_obj *value);
/* An empty list; fill it with cimi_list_push. Returns the attribute or NULL. */
cimi_attr *cimi_add_list(cimi_obj *o, const char *name, const char *item_name);
/* Append item (taken) to list; on failure frees item and marks o failed. */
void cimi_list_push(cimi_obj *o, cimi_attr *list, cimi_obj *item);
/* The "properties" attribute (filled with cimi_pair_push). */
cimi_attr *cimi_add_props(cimi_obj *o);
/* The "operations" attribute (filled with cimi_pair_push, a = rel, b = href). */
cimi_attr *cimi_add_ops(cimi_obj *o);
/* A list of references (filled with cimi_pair_push, a = NULL, b = href);
 * item_name is the XML element of each ("affectedResource"). */
cimi_attr *cimi_add_refs(cimi_obj *o, const char *name, const char *item_name);
void cimi_pair_push(cimi_obj *o, cimi_attr *attr, const char *a, const char *b);

/* The attribute called name, or NULL. */
const cimi_attr *cimi_obj_get(const cimi_obj *o, const char *name);
/* The value of property key, or NULL. */
const char *cimi_obj_prop(const cimi_obj *o, const char *key);

/* Keep only the attributes named in names (n of them); "operations" is
 * always kept so that what a client may do stays visible. */
void cimi_obj_select(cimi_obj *o, const char *const *names, size_t n);

/* Order two resources by attribute name: <0, 0, >0.  A missing attribute
 * sorts first; numbers and times numerically, strings bytewise. */
int cimi_obj_compare(const cimi_obj *a, const cimi_obj *b, const char *name);

/* "http://schemas.dmtf.org/cimi/1/" + type into buf.  Returns buf. */
const char *cimi_resource_uri(const char *type, char *buf, size_t len);

/* Render the tree as a malloc'd document (length in *len); NULL on OOM or
 * when the tree is marked failed. */
char *cimi_render_json(const cimi_obj *o, size_t *len);
char *cimi_render_xml(const cimi_obj *o, size_t *len);

/* A copy of s fit for JSON and XML 1.0: invalid UTF-8 and characters XML
 * forbids become '?'.  malloc'd; NULL on OOM. */
char *cimi_clean_text(const char *s);

#endif
