/* cloudgate: the CIMI HTTP binding: Basic auth, Accept / Content-Type
 * negotiation, routing by path and method, the collection query parameters
 * ($filter, $select, $orderby, $first, $last) and error answers. */
#include "cimi.h"
#include "cimi_filter.h"
#include "cimi_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../gateway/auth.h"
#include "../../gateway/log.h"
#include "../../gateway/params.h"

#define CIMI_PREFIX "/cimi"
#define MAX_SELECT 64
#define MAX_ORDER 8

typedef struct cimi_call {
    const gw_ctx *ctx;
    const gw_request *req;
    gw_response *resp;
    int xml;        /* answer in XML (else JSON) */
    char base[512]; /* baseURI, ending in '/' */
    gw_params query;
    int status; /* the error to send, 0 when none (first report wins) */
    char message[512];
} cimi_call;

/* The list of one collection's entries, built from the driver or a store. */
typedef int (*cimi_list_fn)(cimi_call *c, cimi_obj ***out, size_t *n);

typedef struct cimi_collection {
    const char *path;    /* URL segment = CloudEntryPoint attribute */
    const char *type;    /* entry type */
    const char *entries; /* JSON array of the entries */
    cimi_list_fn list;
} cimi_collection;

static int list_machines(cimi_call *c, cimi_obj ***out, size_t *n);
static int list_configs(cimi_call *c, cimi_obj ***out, size_t *n);
static int list_images(cimi_call *c, cimi_obj ***out, size_t *n);
static int list_credentials(cimi_call *c, cimi_obj ***out, size_t *n);
static int list_jobs(cimi_call *c, cimi_obj ***out, size_t *n);

static const cimi_collection collections[] = {
    {"machines", "Machine", "machines", list_machines},
    {"machineConfigs", "MachineConfiguration", "machineConfigurations", list_configs},
    {"machineImages", "MachineImage", "machineImages", list_images},
    {"credentials", "Credential", "credentials", list_credentials},
    {"jobs", "Job", "jobs", list_jobs},
};

/* Operations the frontend serves on machines (as jobs, cimi_actions.c);
 * a machine advertises those its current state allows. */
static const unsigned served_machine_ops =
    CIMI_OP_START | CIMI_OP_STOP | CIMI_OP_RESTART | CIMI_OP_DELETE;

/* ---- errors -------------------------------------------------------------- */

static int cimi_fail(cimi_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cimi_fail(cimi_call *c, int status, const char *fmt, ...)
{
    va_list ap;

    if (c->status)
        return -1;
    c->status = status;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int cimi_fail_cg(cimi_call *c, const cg_error *err)
{
    static const struct {
        cg_errkind kind;
        int status;
    } map[] = {
        {CG_ERR_INVALID, 400},   {CG_ERR_MISSING, 400},     {CG_ERR_MALFORMED, 400},
        {CG_ERR_NOT_FOUND, 404}, {CG_ERR_STATE, 409},       {CG_ERR_CONFLICT, 409},
        {CG_ERR_FORBIDDEN, 403}, {CG_ERR_UNSUPPORTED, 501}, {CG_ERR_UNAVAILABLE, 503},
        {CG_ERR_CAPACITY, 503},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].kind == err->kind)
            return cimi_fail(c, map[i].status, "%s", err->message);
    }
    cg_err("cimi %s %s (request %s): %s", c->req->method, c->req->path, c->req->request_id,
           err->message);
    return cimi_fail(c, 500, "internal error: %s", err->message);
}

/* baseURI from the scheme and the Host the client used (when it is a plain
 * host[:port]), else the listening address. */
static void make_base(cimi_call *c)
{
    const char *host = gw_request_header(c->req, "Host");
    const cg_config *cfg = c->ctx ? c->ctx->cfg : NULL;
    size_t n = host ? strlen(host) : 0;

    if (!host || n == 0 || n > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != n)
        snprintf(c->base, sizeof(c->base), "%s://%s:%u" CIMI_PREFIX "/",
                 c->req->tls ? "https" : "http",
                 cfg && cfg->listen_addr ? cfg->listen_addr : "127.0.0.1",
                 cfg ? cfg->listen_port : 8773);
    else
        snprintf(c->base, sizeof(c->base), "%s://%s" CIMI_PREFIX "/",
                 c->req->tls ? "https" : "http", host);
}

/* ---- entries ----------------------------------------------------------------- */

static void free_objs(cimi_obj **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        cimi_obj_free(v[i]);
    free(v);
}

/* Room for n entries; -1 (reported) on OOM. */
static int alloc_objs(cimi_call *c, cimi_obj ***out, size_t n)
{
    if (!(*out = calloc(n ? n : 1, sizeof(**out))))
        return cimi_fail(c, 500, "out of memory");
    return 0;
}

static int list_machines(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_instance_list insts = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0)
        return cimi_fail_cg(c, &err);
    if (alloc_objs(c, out, insts.n) < 0)
        goto cleanup;
    for (i = 0; i < insts.n; i++) {
        /* A terminated instance is a deleted machine: gone from CIMI. */
        if (insts.v[i].state == CG_STATE_TERMINATED)
            continue;
        if (!((*out)[(*n)++] =
                  cimi_build_machine(c->base, c->ctx->cfg, &insts.v[i], served_machine_ops))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_instance_list_release(&insts);
    return ret;
}

static int list_configs(cimi_call *c, cimi_obj ***out, size_t *n)
{
    const cg_config *cfg = c->ctx->cfg;
    size_t i;

    if (alloc_objs(c, out, cfg->n_types) < 0)
        return -1;
    for (i = 0; i < cfg->n_types; i++) {
        if (!((*out)[(*n)++] = cimi_build_machine_config(c->base, &cfg->types[i])))
            return cimi_fail(c, 500, "out of memory");
    }
    return 0;
}

static int list_images(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_image_list imgs = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &imgs) < 0)
        return cimi_fail_cg(c, &err);
    if (alloc_objs(c, out, imgs.n) < 0)
        goto cleanup;
    for (i = 0; i < imgs.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_machine_image(c->base, c->ctx->cfg, &imgs.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_image_list_release(&imgs);
    return ret;
}

static int list_credentials(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_keypair_list kps = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (!c->ctx->keys)
        return cimi_fail(c, 501, "no key-pair store is configured");
    if (cg_keypair_list_all(c->ctx->keys, &kps, &err) < 0)
        return cimi_fail_cg(c, &err);
    if (alloc_objs(c, out, kps.n) < 0)
        goto cleanup;
    for (i = 0; i < kps.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_credential(c->base, &kps.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_keypair_list_release(&kps);
    return ret;
}

static int list_jobs(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_job_list jobs = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (!c->ctx->jobs)
        return cimi_fail(c, 501, "no job store is configured");
    if (cg_jobs_list(c->ctx->jobs, &jobs, &err) < 0)
        return cimi_fail_cg(c, &err);
    if (alloc_objs(c, out, jobs.n) < 0)
        goto cleanup;
    for (i = 0; i < jobs.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_job(c->base, &jobs.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_job_list_release(&jobs);
    return ret;
}

/* ---- query parameters ------------------------------------------------------ */

typedef struct order_key {
    char name[64];
    int desc;
} order_key;

typedef struct cimi_query {
    cimi_filter **filters; /* one per $filter parameter, ANDed */
    size_t n_filters;
    char select[MAX_SELECT][64];
    size_t n_select; /* 0: all attributes */
    order_key order[MAX_ORDER];
    size_t n_order;
    long long first, last; /* 1-based, inclusive; 0 when not given */
} cimi_query;

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

static int parse_select(cimi_call *c, cimi_query *q, const char *v)
{
    const char *p = v, *comma;
    size_t n;

    if (strcmp(v, "*") == 0)
        return 0;
    for (; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (!valid_name(p, n))
            return cimi_fail(c, 400, "$select: '%.*s' is not an attribute name",
                             (int)(n > 64 ? 64 : n), p);
        if (q->n_select == MAX_SELECT)
            return cimi_fail(c, 400, "$select: more than %d attributes", MAX_SELECT);
        memcpy(q->select[q->n_select], p, n);
        q->select[q->n_select++][n] = '\0';
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
            if (!(v = realloc(q->filters, (q->n_filters + 1) * sizeof(*v))))
                return cimi_fail(c, 500, "out of memory");
            q->filters = v;
            if (!(q->filters[q->n_filters] = cimi_filter_parse(val, &err)))
                return cimi_fail_cg(c, &err);
            q->n_filters++;
        } else if (strcmp(name, "$select") == 0) {
            if (parse_select(c, q, val) < 0)
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
        /* $expand and anything else are ignored: references stay hrefs. */
    }
    if (q->first && q->last && q->last < q->first)
        return cimi_fail(c, 400, "$last (%lld) is before $first (%lld)", q->last, q->first);
    return 0;
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

static void apply_select(const cimi_query *q, cimi_obj *o)
{
    const char *names[MAX_SELECT];
    size_t i;

    if (!q->n_select)
        return;
    for (i = 0; i < q->n_select; i++)
        names[i] = q->select[i];
    cimi_obj_select(o, names, q->n_select);
}

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

/* ---- handlers ------------------------------------------------------------------ */

static void reply(cimi_call *c, cimi_obj *o)
{
    size_t len = 0;
    char *body;

    if (c->status)
        return;
    body = c->xml ? cimi_render_xml(o, &len) : cimi_render_json(o, &len);
    if (!body) {
        cimi_fail(c, 500, "out of memory rendering the response");
        return;
    }
    gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, body, len);
}

static void get_collection(cimi_call *c, const cimi_collection *coll)
{
    cimi_query q = {0};
    cimi_obj **all = NULL, *o = NULL;
    sort_item *items = NULL;
    size_t n = 0, m = 0, i, from, to;
    cimi_attr *list;
    char type[96];

    if (parse_query(c, &q) < 0 || coll->list(c, &all, &n) < 0)
        goto cleanup;
    if (!(items = calloc(n ? n : 1, sizeof(*items)))) {
        cimi_fail(c, 500, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        if (matches(&q, all[i])) {
            items[m].obj = all[i];
            items[m].index = i;
            m++;
        }
    }
    if (q.n_order)
        qsort_r(items, m, sizeof(*items), sort_cmp, &q);
    /* count is the number of entries that match, before paging. */
    snprintf(type, sizeof(type), "%sCollection", coll->type);
    if (!(o = cimi_build_collection(c->base, coll->path, type, (long long)m))) {
        cimi_fail(c, 500, "out of memory");
        goto cleanup;
    }
    from = q.first ? (size_t)q.first - 1 : 0;
    to = q.last && (size_t)q.last < m ? (size_t)q.last : m;
    list = cimi_add_list(o, coll->entries, coll->type);
    for (i = from; i < to; i++) {
        apply_select(&q, items[i].obj);
        /* The collection takes the entry over. */
        all[items[i].index] = NULL;
        cimi_list_push(o, list, items[i].obj);
    }
    reply(c, o);

cleanup:
    cimi_obj_free(o);
    free_objs(all, n);
    free(items);
    query_release(&q);
}

/* The entry of coll whose id is base + path + "/" + seg, with $select. */
static void get_entry(cimi_call *c, const cimi_collection *coll, const char *seg)
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
            apply_select(&q, all[i]);
            reply(c, all[i]);
            goto cleanup;
        }
    }
    cimi_fail(c, 404, "%s '%.128s' does not exist", coll->type, seg);

cleanup:
    free_objs(all, n);
    query_release(&q);
}

static void get_machine_nics(cimi_call *c, const char *id)
{
    cg_instance_list insts = {0};
    cg_error err = {0};
    cimi_obj *o = NULL;
    size_t i;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    for (i = 0; i < insts.n; i++) {
        if (strcmp(insts.v[i].id, id) == 0 && insts.v[i].state != CG_STATE_TERMINATED) {
            if (!(o = cimi_build_machine_nics(c->base, c->ctx->cfg, &insts.v[i])))
                cimi_fail(c, 500, "out of memory");
            reply(c, o);
            break;
        }
    }
    if (i == insts.n)
        cimi_fail(c, 404, "Machine '%.128s' does not exist", id);
    cimi_obj_free(o);
    cg_instance_list_release(&insts);
}

static void get_cep(cimi_call *c)
{
    cimi_obj *o = cimi_build_cep(c->base, c->ctx->cfg);

    if (!o)
        cimi_fail(c, 500, "out of memory");
    reply(c, o);
    cimi_obj_free(o);
}

/* POST (an Action) or DELETE on machine id: 202 with the job, whose URI is
 * also in Location and CIMI-Job-URI. */
static void machine_action(cimi_call *c, const char *id, int is_delete)
{
    cimi_action act = {.op = CIMI_OP_DELETE};
    cg_error err = {0};
    cg_job job;
    cimi_obj *o;
    char uri[600];
    size_t len = 0;
    char *body;

    if (!is_delete && cimi_parse_action(c->req, &act, &err) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    if (cimi_machine_submit(c->ctx, id, &act, served_machine_ops, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    if (!(o = cimi_build_job(c->base, &job))) {
        cimi_fail(c, 500, "out of memory");
        return;
    }
    body = c->xml ? cimi_render_xml(o, &len) : cimi_render_json(o, &len);
    cimi_obj_free(o);
    if (!body) {
        cimi_fail(c, 500, "out of memory rendering the response");
        return;
    }
    snprintf(uri, sizeof(uri), "%sjobs/%s", c->base, job.id);
    gw_response_set_body(c->resp, 202, c->xml ? CIMI_XML : CIMI_JSON, body, len);
    gw_response_add_header(c->resp, "Location", uri);
    gw_response_add_header(c->resp, "CIMI-Job-URI", uri);
}

static const cimi_collection *find_collection(const char *seg, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(collections) / sizeof(collections[0]); i++) {
        if (strlen(collections[i].path) == n && strncmp(collections[i].path, seg, n) == 0)
            return &collections[i];
    }
    return NULL;
}

/* Route path (below /cimi/) for c->req->method.  Everything is GET, but a
 * machine also takes POST (an Action) and DELETE; creation and edit are not
 * served. */
static void route(cimi_call *c, const char *path)
{
    const char *slash = strchr(path, '/'), *rest = NULL;
    int is_machine;
    size_t n = slash ? (size_t)(slash - path) : strlen(path);
    const cimi_collection *coll = find_collection(path, n);
    char seg[160];

    if (strcmp(path, "cloudEntryPoint") != 0 && !coll) {
        cimi_fail(c, 404, "no CIMI resource at /cimi/%.128s", path);
        return;
    }
    if (coll && slash) {
        rest = slash + 1;
        n = strcspn(rest, "/");
        if (n == 0 || n >= sizeof(seg) ||
            (rest[n] && !(strcmp(coll->path, "machines") == 0 &&
                          strcmp(rest + n, "/networkInterfaces") == 0))) {
            cimi_fail(c, 404, "no CIMI resource at /cimi/%.128s", path);
            return;
        }
    }
    if (c->req->body_len > 0 && !cimi_body_type_ok(c->req)) {
        cimi_fail(c, 415, "request bodies must be application/json or application/xml");
        return;
    }
    is_machine = coll && slash && !rest[n] && strcmp(coll->path, "machines") == 0;
    if (is_machine && (strcmp(c->req->method, "POST") == 0 ||
                       strcmp(c->req->method, "DELETE") == 0)) {
        memcpy(seg, rest, n);
        seg[n] = '\0';
        machine_action(c, seg, c->req->method[0] == 'D');
        return;
    }
    if (strcmp(c->req->method, "GET") != 0) {
        gw_response_add_header(c->resp, "Allow", is_machine ? "GET, POST, DELETE" : "GET");
        cimi_fail(c, 405, "%s is not allowed on /cimi/%.128s (%s)", c->req->method, path,
                  is_machine ? "GET, POST and DELETE are served" : "only GET is served");
        return;
    }
    if (!coll) {
        get_cep(c);
    } else if (!slash) {
        get_collection(c, coll);
    } else {
        memcpy(seg, slash + 1, n);
        seg[n] = '\0';
        if (slash[1 + n])
            get_machine_nics(c, seg);
        else
            get_entry(c, coll, seg);
    }
}

void cimi_handle(const gw_ctx *ctx, const gw_request *req, gw_response *resp)
{
    cimi_call call = {.ctx = ctx, .req = req, .resp = resp}, *c = &call;
    const char *path = req->path + strlen(CIMI_PREFIX);
    char key_id[128];
    gw_auth_result r;
    int fmt;

    snprintf(resp->action, sizeof(resp->action), "%.7s %.48s", req->method,
             *path == '/' ? path + 1 : path);
    fmt = cimi_negotiate(gw_request_header(req, "Accept"));
    c->xml = fmt == 1;
    make_base(c);

    /* /cimi and /cimi/ lead to the entry point (as Deltacloud: 301). */
    if (strcmp(path, "") == 0 || strcmp(path, "/") == 0) {
        char loc[600];
        snprintf(loc, sizeof(loc), "%scloudEntryPoint", c->base);
        gw_response_add_header(resp, "Location", loc);
        cimi_fail(c, 301, "the CIMI entry point is %s", loc);
        goto done;
    }
    r = gw_auth_verify_basic(req, ctx->creds, key_id, sizeof(key_id));
    if (r != GW_AUTH_OK) {
        gw_response_add_header(resp, "WWW-Authenticate", "Basic realm=\"cloudgate\"");
        cimi_fail(c, 401,
                  r == GW_AUTH_MISSING ? "HTTP Basic authentication (access key id and "
                                         "secret) is required"
                                       : "the access key id or secret is not valid");
        goto done;
    }
    if (fmt < 0) {
        cimi_fail(c, 406, "only application/json and application/xml can be produced");
        goto done;
    }
    if (req->query && *req->query &&
        gw_params_parse(&c->query, req->query, strlen(req->query)) < 0) {
        cimi_fail(c, 400, "the query string is not valid URL encoding");
        goto done;
    }
    route(c, path + 1);

done:
    if (c->status)
        cimi_error_response(resp, c->xml, c->status, c->message);
    gw_response_add_header(resp, "CIMI-Specification-Version", CIMI_SPEC_VERSION);
    gw_params_release(&c->query);
}

void cimi_overloaded(const gw_request *req, gw_response *resp)
{
    int fmt = cimi_negotiate(gw_request_header(req, "Accept"));

    cimi_error_response(resp, fmt == 1, 503, "the gateway is busy; try again shortly");
    gw_response_add_header(resp, "Retry-After", "1");
    gw_response_add_header(resp, "CIMI-Specification-Version", CIMI_SPEC_VERSION);
}
