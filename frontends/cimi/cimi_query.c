/* cloudgate: GET of CIMI collections and entries with the query parameters
 * DSP0263 defines: $filter (cimi_filter.c), $select, $expand, $orderby,
 * $first and $last.  Works on the cimi_obj trees the resources build, so it
 * knows no resource type. */
#include "cimi_filter.h"
#include "cimi_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64
#define MAX_ORDER 8
#define MAX_FILTERS 16 /* $filter parameters (ANDed); each is bounded itself */
/* Each expansion lists a whole collection from the driver: past this many
 * in one answer, references stay hrefs (page with $first/$last). */
#define MAX_EXPANSIONS 64

typedef struct order_key {
    char name[64];
    int desc;
} order_key;

typedef struct cimi_query {
    cimi_filter **filters; /* one per $filter parameter, ANDed */
    size_t n_filters;
    char select[MAX_NAMES][64];
    size_t n_select; /* 0: all attributes */
    char expand[MAX_NAMES][64];
    size_t n_expand;
    int expand_all; /* $expand=* */
    order_key order[MAX_ORDER];
    size_t n_order;
    long long first, last; /* 1-based, inclusive; 0 when not given */
    size_t expansions;     /* references expanded so far */
} cimi_query;

void cimi_free_objs(cimi_obj **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        cimi_obj_free(v[i]);
    free(v);
}

int cimi_alloc_objs(cimi_call *c, cimi_obj ***out, size_t n)
{
    if (!(*out = calloc(n ? n : 1, sizeof(**out))))
        return cimi_fail(c, 500, "out of memory");
    return 0;
}

static void query_release(cimi_query *q)
{
    size_t i;

    for (i = 0; i < q->n_filters; i++)
        cimi_filter_free(q->filters[i]);
    free(q->filters);
}

static int valid_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (i = 1; i < n; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    }
    return 1;
}

static int parse_index(cimi_call *c, const char *name, const char *v, long long *out)
{
    char *end;
    long long x;

    if (!*v || !isdigit((unsigned char)*v))
        return cimi_fail(c, 400, "%s must be a positive integer, not '%.64s'", name, v);
    x = strtoll(v, &end, 10);
    if (*end || x < 1 || x > 1000000000LL)
        return cimi_fail(c, 400, "%s must be a positive integer, not '%.64s'", name, v);
    *out = x;
    return 0;
}

/* A comma-separated list of attribute names ($select, $expand) into names. */
static int parse_names(cimi_call *c, const char *param, const char *v, char (*names)[64],
                       size_t *n_names)
{
    const char *p = v, *comma;
    size_t n;

    for (; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (!valid_name(p, n))
            return cimi_fail(c, 400, "%s: '%.*s' is not an attribute name", param,
                             (int)(n > 64 ? 64 : n), p);
        if (*n_names == MAX_NAMES)
            return cimi_fail(c, 400, "%s: more than %d attributes", param, MAX_NAMES);
        memcpy(names[*n_names], p, n);
        names[(*n_names)++][n] = '\0';
    }
    return 0;
}

/* $orderby=name[:asc|:desc][,...] */
static int parse_order(cimi_call *c, cimi_query *q, const char *v)
{
    const char *p = v, *comma, *colon;
    size_t n, nn;

    for (; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        n = comma ? (size_t)(comma - p) : strlen(p);
        colon = memchr(p, ':', n);
        nn = colon ? (size_t)(colon - p) : n;
        if (!valid_name(p, nn))
            return cimi_fail(c, 400, "$orderby: '%.*s' is not an attribute name",
                             (int)(nn > 64 ? 64 : nn), p);
        if (q->n_order == MAX_ORDER)
            return cimi_fail(c, 400, "$orderby: more than %d keys", MAX_ORDER);
        memcpy(q->order[q->n_order].name, p, nn);
        q->order[q->n_order].name[nn] = '\0';
        q->order[q->n_order].desc = 0;
        if (colon) {
            size_t dn = n - nn - 1;
            if (dn == 4 && strncmp(colon + 1, "desc", 4) == 0)
                q->order[q->n_order].desc = 1;
            else if (!(dn == 3 && strncmp(colon + 1, "asc", 3) == 0))
                return cimi_fail(c, 400, "$orderby: direction must be asc or desc");
        }
        q->n_order++;
    }
    return 0;
}

static int parse_query(cimi_call *c, cimi_query *q)
{
    cg_error err = {0};
    cimi_filter **v;
    size_t i;

    for (i = 0; i < c->query.n; i++) {
        const char *name = c->query.v[i].name, *val = c->query.v[i].value;
        if (strcmp(name, "$filter") == 0) {
            if (q->n_filters == MAX_FILTERS)
                return cimi_fail(c, 400, "more than %d $filter parameters (the limit)",
                                 MAX_FILTERS);
            if (!(v = realloc(q->filters, (q->n_filters + 1) * sizeof(*v))))
                return cimi_fail(c, 500, "out of memory");
            q->filters = v;
            if (!(q->filters[q->n_filters] = cimi_filter_parse(val, &err)))
                return cimi_fail_cg(c, &err);
            q->n_filters++;
        } else if (strcmp(name, "$select") == 0) {
            if (strcmp(val, "*") != 0 &&
                parse_names(c, "$select", val, q->select, &q->n_select) < 0)
                return -1;
        } else if (strcmp(name, "$expand") == 0) {
            if (strcmp(val, "*") == 0)
                q->expand_all = 1;
            else if (parse_names(c, "$expand", val, q->expand, &q->n_expand) < 0)
                return -1;
        } else if (strcmp(name, "$orderby") == 0) {
            if (parse_order(c, q, val) < 0)
                return -1;
        } else if (strcmp(name, "$first") == 0) {
            if (parse_index(c, "$first", val, &q->first) < 0)
                return -1;
        } else if (strcmp(name, "$last") == 0) {
            if (parse_index(c, "$last", val, &q->last) < 0)
                return -1;
        }
        /* Other parameters are ignored, as DSP0263 asks of unknown ones. */
    }
    if (q->first && q->last && q->last < q->first)
        return cimi_fail(c, 400, "$last (%lld) is before $first (%lld)", q->last, q->first);
    return 0;
}

int cimi_query_parse(const char *query, size_t len, cg_error *err)
{
    cimi_call c = {0};
    cimi_query q = {0};
    int ret = -1;

    if (gw_params_parse(&c.query, query, len) < 0)
        cimi_fail(&c, 400, "the query string is not valid URL encoding");
    else
        ret = parse_query(&c, &q);
    if (ret < 0)
        cg_error_set(err, c.status == 400 ? CG_ERR_INVALID : CG_ERR_INTERNAL, "%s", c.message);
    query_release(&q);
    gw_params_release(&c.query);
    return ret;
}

static int matches(const cimi_query *q, const cimi_obj *o)
{
    size_t i;

    for (i = 0; i < q->n_filters; i++) {
        if (!cimi_filter_match(q->filters[i], o))
            return 0;
    }
    return 1;
}

/* ---- $expand ------------------------------------------------------------------ */

/* The resource an href names (an entry of a collection, a machine's
 * disks/volumes collection or a network's networkPorts), built afresh;
 * NULL when it names nothing. */
static cimi_obj *resolve(cimi_call *c, const char *href)
{
    size_t blen = strlen(c->base), n, i, count = 0;
    const cimi_collection *coll;
    const cimi_attr *id;
    cimi_obj **all = NULL, *found = NULL;
    const char *path, *slash;
    int saved = c->status;

    if (strncmp(href, c->base, blen) != 0)
        return NULL;
    path = href + blen;
    slash = strchr(path, '/');
    if (!slash || !(coll = cimi_find_collection(path, (size_t)(slash - path))))
        return NULL;
    if (strchr(slash + 1, '/'))
        return strcmp(coll->path, "networks") == 0 ? cimi_network_subcollection(c, slash + 1)
                                                   : cimi_machine_subcollection(c, slash + 1);
    if (coll->list(c, &all, &count) < 0) {
        c->status = saved; /* an unexpandable reference stays an href */
        return NULL;
    }
    for (i = 0; i < count; i++) {
        id = cimi_obj_get(all[i], "id");
        n = id && id->s ? strlen(id->s) : 0;
        if (n && strcmp(id->s, href) == 0) {
            found = all[i];
            all[i] = NULL;
            break;
        }
    }
    cimi_free_objs(all, count);
    return found;
}

static int wants_expand(const cimi_query *q, const char *name)
{
    size_t i;

    if (q->expand_all)
        return 1;
    for (i = 0; i < q->n_expand; i++) {
        if (strcmp(q->expand[i], name) == 0)
            return 1;
    }
    return 0;
}

static void apply_expand(cimi_call *c, cimi_query *q, cimi_obj *o)
{
    size_t i;

    if (!q->expand_all && !q->n_expand)
        return;
    for (i = 0; i < o->n && q->expansions < MAX_EXPANSIONS; i++) {
        cimi_attr *a = &o->attrs[i];
        if (a->kind == CIMI_V_REF && a->s && !a->obj && wants_expand(q, a->name)) {
            a->obj = resolve(c, a->s);
            q->expansions++;
        }
    }
}

static void apply_select(const cimi_query *q, cimi_obj *o)
{
    const char *names[MAX_NAMES];
    size_t i;

    if (!q->n_select)
        return;
    for (i = 0; i < q->n_select; i++)
        names[i] = q->select[i];
    cimi_obj_select(o, names, q->n_select);
}

/* ---- collections and entries ---------------------------------------------------- */

typedef struct sort_item {
    cimi_obj *obj;
    size_t index; /* position in the driver's list: makes the sort stable */
} sort_item;

static int sort_cmp(const void *a, const void *b, void *arg)
{
    const sort_item *x = a, *y = b;
    const cimi_query *q = arg;
    size_t i;
    int r;

    for (i = 0; i < q->n_order; i++) {
        if ((r = cimi_obj_compare(x->obj, y->obj, q->order[i].name)))
            return q->order[i].desc ? -r : r;
    }
    return (x->index > y->index) - (x->index < y->index);
}

cimi_obj *cimi_collection_object(const char *id, const char *ctype, long long count,
                                 const char *entries, const char *type, cimi_obj **items, size_t n,
                                 int can_add, int can_import)
{
    cimi_obj *o = cimi_obj_new(ctype);
    cimi_attr *list;
    size_t i;

    /* Each call accepts o NULL (out of memory): the items are freed. */
    cimi_add_str(o, "id", id);
    cimi_add_int(o, "count", count);
    list = cimi_add_list(o, entries, type);
    for (i = 0; i < n; i++) {
        cimi_list_push(o, list, items[i]);
        items[i] = NULL;
    }
    cimi_add_collection_ops(o, id, can_add, can_import);
    return o;
}

/* Filter, order, page, expand and select items (taken) into a collection. */
static void reply_query(cimi_call *c, cimi_query *q, const char *id, const char *ctype,
                        const char *entries, const char *type, cimi_obj **all, size_t n,
                        int can_add, int can_import)
{
    cimi_obj *o = NULL, **page = NULL;
    sort_item *items = NULL;
    size_t m = 0, i, from, to, k = 0;

    if (!(items = calloc(n ? n : 1, sizeof(*items))) ||
        !(page = calloc(n ? n : 1, sizeof(*page)))) {
        cimi_fail(c, 500, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        if (matches(q, all[i])) {
            items[m].obj = all[i];
            items[m].index = i;
            m++;
        }
    }
    if (q->n_order)
        qsort_r(items, m, sizeof(*items), sort_cmp, q);
    from = q->first ? (size_t)q->first - 1 : 0;
    to = q->last && (size_t)q->last < m ? (size_t)q->last : m;
    for (i = from; i < to; i++) {
        apply_expand(c, q, items[i].obj);
        apply_select(q, items[i].obj);
        all[items[i].index] = NULL; /* the collection takes the entry over */
        page[k++] = items[i].obj;
    }
    /* count is the number of entries that match, before paging. */
    o = cimi_collection_object(id, ctype, (long long)m, entries, type, page, k, can_add,
                               can_import);
    cimi_reply(c, 200, o);

cleanup:
    cimi_obj_free(o);
    free(page);
    free(items);
}

void cimi_get_collection(cimi_call *c, const cimi_collection *coll)
{
    cimi_query q = {0};
    cimi_obj **all = NULL;
    size_t n = 0;
    char id[700], ctype[96];

    /* Machines without a query option: from their kept fragments. */
    if (coll->list == cimi_list_machines && cimi_machines_from_fragments(c, coll) == 0)
        return;
    if (parse_query(c, &q) < 0 || coll->list(c, &all, &n) < 0)
        goto cleanup;
    snprintf(id, sizeof(id), "%s%s", c->base, coll->path);
    snprintf(ctype, sizeof(ctype), "%sCollection", coll->type);
    reply_query(c, &q, id, ctype, coll->entries, coll->type, all, n, coll->create != NULL,
                coll->imports);

cleanup:
    cimi_free_objs(all, n);
    query_release(&q);
}

void cimi_reply_entries(cimi_call *c, const char *id, const char *ctype, const char *entries,
                        const char *type, cimi_obj **items, size_t n)
{
    cimi_query q = {0};

    if (parse_query(c, &q) == 0)
        reply_query(c, &q, id, ctype, entries, type, items, n, 0, 0);
    query_release(&q);
}

cimi_obj *cimi_collection_of(const char *base, const char *path, const char *ctype,
                             const char *entries, const char *type, cimi_obj **items, size_t n)
{
    cimi_obj *o = cimi_build_collection(base, path, ctype, (long long)n);
    cimi_attr *list;
    size_t i;

    if (!o)
        return NULL;
    list = cimi_add_list(o, entries, type);
    for (i = 0; i < n; i++) {
        cimi_list_push(o, list, items[i]);
        items[i] = NULL;
    }
    return o;
}

void cimi_get_entry(cimi_call *c, const cimi_collection *coll, const char *seg)
{
    cimi_query q = {0};
    cimi_obj **all = NULL;
    const cimi_attr *id;
    size_t n = 0, i, plen = strlen(c->base) + strlen(coll->path);

    if (parse_query(c, &q) < 0 || coll->list(c, &all, &n) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        id = cimi_obj_get(all[i], "id");
        if (id && id->s && strlen(id->s) > plen + 1 && strcmp(id->s + plen + 1, seg) == 0) {
            apply_expand(c, &q, all[i]);
            apply_select(&q, all[i]);
            cimi_reply(c, 200, all[i]);
            goto cleanup;
        }
    }
    cimi_fail(c, 404, "%s '%.128s' does not exist", coll->type, seg);

cleanup:
    cimi_free_objs(all, n);
    query_release(&q);
}
