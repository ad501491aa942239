/* cloudgate: the CIMI resource tree (see cimi_model.h). */
#include "cimi_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cimi_obj *cimi_obj_new(const char *type)
{
    cimi_obj *o = calloc(1, sizeof(*o));

    if (o && type && !(o->type = strdup(type))) {
        free(o);
        return NULL;
    }
    return o;
}

static void attr_release(cimi_attr *a)
{
    size_t i;

    free(a->name);
    free(a->item_name);
    free(a->s);
    cimi_obj_free(a->obj);
    for (i = 0; a->items && i < a->n; i++)
        cimi_obj_free(a->items[i]);
    free(a->items);
    for (i = 0; a->pairs && i < a->n; i++) {
        free(a->pairs[i].a);
        free(a->pairs[i].b);
    }
    free(a->pairs);
}

void cimi_obj_free(cimi_obj *o)
{
    size_t i;

    if (!o)
        return;
    for (i = 0; i < o->n; i++)
        attr_release(&o->attrs[i]);
    free(o->attrs);
    free(o->type);
    free(o);
}

int cimi_obj_failed(const cimi_obj *o)
{
    size_t i, j;

    if (!o || o->failed)
        return 1;
    for (i = 0; i < o->n; i++) {
        const cimi_attr *a = &o->attrs[i];
        if (a->obj && cimi_obj_failed(a->obj))
            return 1;
        for (j = 0; a->kind == CIMI_V_LIST && j < a->n; j++) {
            if (cimi_obj_failed(a->items[j]))
                return 1;
        }
    }
    return 0;
}

/* A new zeroed attribute at the end of o, or NULL (o marked failed). */
static cimi_attr *attr_push(cimi_obj *o, const char *name, cimi_vkind kind)
{
    cimi_attr *a;

    if (!o || o->failed)
        return NULL;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        cimi_attr *v = realloc(o->attrs, cap * sizeof(*v));
        if (!v) {
            o->failed = 1;
            return NULL;
        }
        o->attrs = v;
        o->cap = cap;
    }
    a = &o->attrs[o->n];
    memset(a, 0, sizeof(*a));
    if (!(a->name = strdup(name))) {
        o->failed = 1;
        return NULL;
    }
    a->kind = kind;
    o->n++;
    return a;
}

static void add_text(cimi_obj *o, const char *name, const char *value, cimi_vkind kind)
{
    cimi_attr *a;

    if (!value || !(a = attr_push(o, name, kind)))
        return;
    if (!(a->s = strdup(value)))
        o->failed = 1;
}

void cimi_add_str(cimi_obj *o, const char *name, const char *value)
{
    add_text(o, name, value, CIMI_V_STR);
}

void cimi_add_bytes(cimi_obj *o, const char *name, const char *value)
{
    add_text(o, name, value, CIMI_V_BYTES);
}

void cimi_add_xattr(cimi_obj *o, const char *name, const char *value)
{
    add_text(o, name, value, CIMI_V_XATTR);
}

static void add_number(cimi_obj *o, const char *name, long long v, cimi_vkind kind)
{
    cimi_attr *a = attr_push(o, name, kind);

    if (a)
        a->i = v;
}

void cimi_add_int(cimi_obj *o, const char *name, long long value)
{
    add_number(o, name, value, CIMI_V_INT);
}

void cimi_add_bool(cimi_obj *o, const char *name, int value)
{
    add_number(o, name, value ? 1 : 0, CIMI_V_BOOL);
}

void cimi_add_time(cimi_obj *o, const char *name, time_t value)
{
    add_number(o, name, (long long)value, CIMI_V_TIME);
}

void cimi_add_ref(cimi_obj *o, const char *name, const char *href, cimi_obj *body)
{
    cimi_attr *a = attr_push(o, name, CIMI_V_REF);

    if (!a) {
        cimi_obj_free(body);
        return;
    }
    a->obj = body;
    if (href && !(a->s = strdup(href)))
        o->failed = 1;
}

void cimi_add_obj(cimi_obj *o, const char *name, cimi_obj *value)
{
    cimi_attr *a;

    if (!value) {
        if (o)
            o->failed = 1;
        return;
    }
    if (!(a = attr_push(o, name, CIMI_V_OBJ))) {
        cimi_obj_free(value);
        return;
    }
    a->obj = value;
}

cimi_attr *cimi_add_list(cimi_obj *o, const char *name, const char *item_name)
{
    cimi_attr *a = attr_push(o, name, CIMI_V_LIST);

    if (a && !(a->item_name = strdup(item_name))) {
        o->failed = 1;
        return NULL;
    }
    return a;
}

void cimi_list_push(cimi_obj *o, cimi_attr *list, cimi_obj *item)
{
    cimi_obj **v;

    if (!o || o->failed || !list || !item) {
        cimi_obj_free(item);
        if (o)
            o->failed = 1;
        return;
    }
    if (!(v = realloc(list->items, (list->n + 1) * sizeof(*v)))) {
        cimi_obj_free(item);
        o->failed = 1;
        return;
    }
    list->items = v;
    list->items[list->n++] = item;
}

cimi_attr *cimi_add_props(cimi_obj *o)
{
    return attr_push(o, "properties", CIMI_V_PROPS);
}

cimi_attr *cimi_add_ops(cimi_obj *o)
{
    return attr_push(o, "operations", CIMI_V_OPS);
}

cimi_attr *cimi_add_refs(cimi_obj *o, const char *name, const char *item_name)
{
    cimi_attr *a = attr_push(o, name, CIMI_V_REFS);

    if (a && !(a->item_name = strdup(item_name))) {
        o->failed = 1;
        return NULL;
    }
    return a;
}

void cimi_pair_push(cimi_obj *o, cimi_attr *attr, const char *a, const char *b)
{
    cimi_pair *v;

    if (!o || o->failed || !attr)
        return;
    if (!(v = realloc(attr->pairs, (attr->n + 1) * sizeof(*v)))) {
        o->failed = 1;
        return;
    }
    attr->pairs = v;
    v[attr->n].a = strdup(a ? a : "");
    v[attr->n].b = strdup(b ? b : "");
    if (!v[attr->n].a || !v[attr->n].b) {
        free(v[attr->n].a);
        free(v[attr->n].b);
        o->failed = 1;
        return;
    }
    attr->n++;
}

const cimi_attr *cimi_obj_get(const cimi_obj *o, const char *name)
{
    size_t i;

    for (i = 0; o && i < o->n; i++) {
        if (strcmp(o->attrs[i].name, name) == 0)
            return &o->attrs[i];
    }
    return NULL;
}

const char *cimi_obj_prop(const cimi_obj *o, const char *key)
{
    const cimi_attr *a = cimi_obj_get(o, "properties");
    size_t i;

    for (i = 0; a && a->kind == CIMI_V_PROPS && i < a->n; i++) {
        if (strcmp(a->pairs[i].a, key) == 0)
            return a->pairs[i].b;
    }
    return NULL;
}

void cimi_obj_select(cimi_obj *o, const char *const *names, size_t n)
{
    size_t i, j, keep = 0;

    if (!o)
        return;
    for (i = 0; i < o->n; i++) {
        int wanted = strcmp(o->attrs[i].name, "operations") == 0;
        for (j = 0; !wanted && j < n; j++)
            wanted = strcmp(o->attrs[i].name, names[j]) == 0;
        if (wanted)
            o->attrs[keep++] = o->attrs[i];
        else
            attr_release(&o->attrs[i]);
    }
    o->n = keep;
}

int cimi_obj_compare(const cimi_obj *a, const cimi_obj *b, const char *name)
{
    const cimi_attr *x = cimi_obj_get(a, name), *y = cimi_obj_get(b, name);
    const char *sx, *sy;

    if (!x || !y)
        return (x != NULL) - (y != NULL);
    if ((x->kind == CIMI_V_INT || x->kind == CIMI_V_BOOL || x->kind == CIMI_V_TIME) &&
        x->kind == y->kind)
        return (x->i > y->i) - (x->i < y->i);
    sx = x->s ? x->s : "";
    sy = y->s ? y->s : "";
    return strcmp(sx, sy);
}

const char *cimi_resource_uri(const char *type, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", CIMI_NS, type ? type : "");
    return buf;
}

/* Length of the UTF-8 sequence at s if it is valid and XML 1.0 allows the
 * character, else 0. */
static size_t good_char(const unsigned char *s)
{
    unsigned cp;
    size_t n, i;

    if (s[0] < 0x80)
        return (s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') ? 1 : 0;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates, U+FFFE/FFFF and beyond U+10FFFF. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff || cp > 0x10ffff)
        return 0;
    return n;
}

char *cimi_clean_text(const char *s)
{
    size_t len = strlen(s), i = 0, o = 0, n;
    char *out = malloc(len + 1);

    if (!out)
        return NULL;
    while (i < len) {
        if ((n = good_char((const unsigned char *)s + i))) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
    return out;
}
