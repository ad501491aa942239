/* cloudgate: the instance metadata service's answers (imds.h).
 *
 * Each request builds the caller's few dozen leaves (path -> text) from its
 * instance record; a path naming a leaf answers its text, a path naming a
 * directory lists the names under it ("name/" for sub-directories), as
 * EC2's service does.  IMDSv2 tokens are random strings bound to the
 * instance that asked for them, kept in a bounded table.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <json-c/json.h>

#include "imds.h"
#include "util.h"

#define TOKEN_TTL_MAX 21600
#define TOKEN_BYTES 32
#define TOKEN_CHARS 44            /* base64 of TOKEN_BYTES, padding included */
#define TOKENS_PER_INSTANCE 32    /* one guest cannot take every slot */
#define PATH_MAX_LEN 512
#define MAX_LEAVES 48

typedef struct imds_token {
    char token[TOKEN_CHARS + 1];
    char instance_id[24];
    time_t expires;
} imds_token;

struct gw_imds {
    char *account_id;
    char *region;
    gw_imds_instance *v;
    size_t n;
    imds_token *tokens;
    size_t n_tokens, max_tokens;
};

typedef struct leaf {
    char path[192];           /* under /latest/, e.g. "meta-data/instance-id" */
    char *text;               /* malloc'd */
    size_t len;
} leaf;

typedef struct leaves {
    leaf v[MAX_LEAVES];
    size_t n;
    int oom;
} leaves;

void gw_imds_instance_release(gw_imds_instance *inst)
{
    if (!inst)
        return;
    free(inst->key_name);
    free(inst->public_key);
    free(inst->user_data);
    inst->key_name = NULL;
    inst->public_key = NULL;
    inst->user_data = NULL;
    for (unsigned i = 0; i < CG_INSTANCE_GROUPS_MAX; i++) {
        free(inst->group_names[i]);
        inst->group_names[i] = NULL;
    }
    inst->n_groups = 0;
}

int gw_imds_instance_add_group(gw_imds_instance *inst, const char *id, const char *name)
{
    char *copy;

    if (inst->n_groups >= CG_INSTANCE_GROUPS_MAX)
        return 0;
    if (!(copy = strndup(name ? name : "", 255)))
        return -1;
    snprintf(inst->group_ids[inst->n_groups], sizeof(inst->group_ids[0]), "%s", id ? id : "");
    inst->group_names[inst->n_groups++] = copy;
    return 0;
}

int gw_imds_instance_from(gw_imds_instance *d, const cg_instance *s)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", s->id);
    snprintf(d->image_id, sizeof(d->image_id), "%s", s->image_id);
    snprintf(d->instance_type, sizeof(d->instance_type), "%s", s->instance_type);
    snprintf(d->zone, sizeof(d->zone), "%s", s->zone);
    snprintf(d->private_ip, sizeof(d->private_ip), "%s", s->private_ip);
    snprintf(d->mac, sizeof(d->mac), "%s", s->mac);
    snprintf(d->vpc_id, sizeof(d->vpc_id), "%s", s->vpc_id);
    snprintf(d->subnet_id, sizeof(d->subnet_id), "%s", s->subnet_id);
    snprintf(d->eni_id, sizeof(d->eni_id), "%s", s->eni_id);
    if (s->key_name[0] && !(d->key_name = strdup(s->key_name)))
        return -1;
    for (unsigned i = 0; i < s->n_groups && i < CG_INSTANCE_GROUPS_MAX; i++) {
        if (gw_imds_instance_add_group(d, s->group_ids[i], s->group_names[i]) < 0) {
            gw_imds_instance_release(d);
            return -1;
        }
    }
    d->launch_index = s->ami_launch_index;
    d->launch_time = s->launch_time;
    d->md = s->metadata;
    return 0;
}

gw_imds *gw_imds_new(const char *account_id, const char *region, size_t max_tokens)
{
    gw_imds *m = calloc(1, sizeof(*m));

    if (!m || !(m->account_id = strdup(account_id ? account_id : "")) ||
        !(m->region = strdup(region ? region : "")) ||
        !(m->tokens = calloc(max_tokens ? max_tokens : 1, sizeof(*m->tokens)))) {
        gw_imds_free(m);
        return NULL;
    }
    m->max_tokens = max_tokens ? max_tokens : 1;
    return m;
}

static void release_instances(gw_imds_instance *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        gw_imds_instance_release(&v[i]);
    free(v);
}

void gw_imds_free(gw_imds *m)
{
    if (!m)
        return;
    release_instances(m->v, m->n);
    free(m->tokens);
    free(m->account_id);
    free(m->region);
    free(m);
}

static const gw_imds_instance *find_id(const gw_imds *m, const char *id)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].id, id) == 0)
            return &m->v[i];
    }
    return NULL;
}

/* Drop expired tokens and, with now 0, those of instances no longer served. */
static void prune_tokens(gw_imds *m, time_t now)
{
    size_t i, k = 0;

    for (i = 0; i < m->n_tokens; i++) {
        if ((now && m->tokens[i].expires <= now) ||
            (!now && !find_id(m, m->tokens[i].instance_id)))
            continue;
        m->tokens[k++] = m->tokens[i];
    }
    memset(&m->tokens[k], 0, (m->n_tokens - k) * sizeof(*m->tokens));
    m->n_tokens = k;
}

void gw_imds_set_instances(gw_imds *m, gw_imds_instance *v, size_t n)
{
    release_instances(m->v, m->n);
    m->v = v;
    m->n = n;
    prune_tokens(m, 0);
}

size_t gw_imds_token_count(const gw_imds *m)
{
    return m->n_tokens;
}

/* The caller's instance: by its address, else (no lease known for an
 * instance) by the MAC the neighbour table gives for that address. */
static const gw_imds_instance *find_caller(const gw_imds *m, const char *ip, const char *mac)
{
    size_t i;

    if (!ip || !*ip)
        return NULL;
    for (i = 0; i < m->n; i++) {
        if (m->v[i].private_ip[0] && strcmp(m->v[i].private_ip, ip) == 0)
            return &m->v[i];
    }
    for (i = 0; mac && *mac && i < m->n; i++) {
        if (!m->v[i].private_ip[0] && strcasecmp(m->v[i].mac, mac) == 0)
            return &m->v[i];
    }
    return NULL;
}

/* ---- leaves ------------------------------------------------------------- */

static void add_bytes(leaves *l, const char *path, const void *data, size_t len)
{
    leaf *f;

    if (l->oom || l->n >= MAX_LEAVES) {
        l->oom = 1;
        return;
    }
    f = &l->v[l->n];
    snprintf(f->path, sizeof(f->path), "%s", path);
    if (!(f->text = malloc(len + 1))) {
        l->oom = 1;
        return;
    }
    memcpy(f->text, data, len);
    f->text[len] = '\0';
    f->len = len;
    l->n++;
}

static void add(leaves *l, const char *path, const char *text)
{
    add_bytes(l, path, text, strlen(text));
}

static void release_leaves(leaves *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i].text);
}

/* The instance's groups (ids or names), one a line. */
static void groups_text(const gw_imds_instance *inst, int names, char *buf, size_t size)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < inst->n_groups && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "\n" : "",
                                 names ? inst->group_names[i] : inst->group_ids[i]);
}

/* EC2's instance identity document, as JSON. */
static void add_identity(leaves *l, const gw_imds *m, const gw_imds_instance *inst)
{
    json_object *o = json_object_new_object();
    char when[32];
    const char *s;
    struct tm tm;

    if (!o) {
        l->oom = 1;
        return;
    }
    gmtime_r(&inst->launch_time, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_object_add(o, "accountId", json_object_new_string(m->account_id));
    json_object_object_add(o, "architecture", json_object_new_string("x86_64"));
    json_object_object_add(o, "availabilityZone", json_object_new_string(inst->zone));
    json_object_object_add(o, "billingProducts", NULL);
    json_object_object_add(o, "devpayProductCodes", NULL);
    json_object_object_add(o, "marketplaceProductCodes", NULL);
    json_object_object_add(o, "imageId", json_object_new_string(inst->image_id));
    json_object_object_add(o, "instanceId", json_object_new_string(inst->id));
    json_object_object_add(o, "instanceType", json_object_new_string(inst->instance_type));
    json_object_object_add(o, "kernelId", NULL);
    json_object_object_add(o, "pendingTime", json_object_new_string(when));
    json_object_object_add(o, "privateIp", inst->private_ip[0]
                                               ? json_object_new_string(inst->private_ip)
                                               : NULL);
    json_object_object_add(o, "ramdiskId", NULL);
    json_object_object_add(o, "region", json_object_new_string(m->region));
    json_object_object_add(o, "version", json_object_new_string("2017-09-30"));
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    if (s)
        add(l, "dynamic/instance-identity/document", s);
    else
        l->oom = 1;
    json_object_put(o);
}

static void build_leaves(leaves *l, const gw_imds *m, const gw_imds_instance *inst)
{
    char host[128] = "", buf[CG_INSTANCE_GROUPS_MAX * 260], dir[96], path[192];
    size_t i;

    /* ip-10-1-2-3.REGION.compute.internal, as DescribeInstances' privateDnsName. */
    if (inst->private_ip[0]) {
        char dashed[48];

        snprintf(dashed, sizeof(dashed), "%s", inst->private_ip);
        for (i = 0; dashed[i]; i++)
            dashed[i] = dashed[i] == '.' ? '-' : dashed[i];
        snprintf(host, sizeof(host), "ip-%s.%s.compute.internal", dashed, m->region);
    }
    add(l, "meta-data/ami-id", inst->image_id);
    snprintf(buf, sizeof(buf), "%u", inst->launch_index);
    add(l, "meta-data/ami-launch-index", buf);
    add(l, "meta-data/hostname", host);
    add(l, "meta-data/instance-action", "none");
    add(l, "meta-data/instance-id", inst->id);
    add(l, "meta-data/instance-life-cycle", "on-demand");
    add(l, "meta-data/instance-type", inst->instance_type);
    add(l, "meta-data/local-hostname", host);
    add(l, "meta-data/local-ipv4", inst->private_ip);
    add(l, "meta-data/mac", inst->mac);
    add(l, "meta-data/placement/availability-zone", inst->zone);
    add(l, "meta-data/placement/region", m->region);
    if (inst->public_key)
        add(l, "meta-data/public-keys/0/openssh-key", inst->public_key);
    groups_text(inst, 1, buf, sizeof(buf));
    add(l, "meta-data/security-groups", buf);
    snprintf(dir, sizeof(dir), "meta-data/network/interfaces/macs/%s/", inst->mac);
#define MAC_LEAF(name, text)                                                      \
    do {                                                                          \
        snprintf(path, sizeof(path), "%s%s", dir, name);                          \
        add(l, path, text);                                                       \
    } while (0)
    MAC_LEAF("device-number", "0");
    MAC_LEAF("interface-id", inst->eni_id);
    MAC_LEAF("local-hostname", host);
    MAC_LEAF("local-ipv4s", inst->private_ip);
    MAC_LEAF("mac", inst->mac);
    MAC_LEAF("owner-id", m->account_id);
    groups_text(inst, 0, buf, sizeof(buf));
    MAC_LEAF("security-group-ids", buf);
    groups_text(inst, 1, buf, sizeof(buf));
    MAC_LEAF("security-groups", buf);
    MAC_LEAF("subnet-id", inst->subnet_id);
    MAC_LEAF("vpc-id", inst->vpc_id);
#undef MAC_LEAF
    add_identity(l, m, inst);
    if (inst->user_data)
        add_bytes(l, "user-data", inst->user_data, inst->user_data_len);
}

/* ---- requests ----------------------------------------------------------- */

static int reply_text(gw_imds_reply *out, int status, const char *ctype, const char *text,
                      size_t len)
{
    out->status = status;
    out->content_type = ctype;
    if (!(out->body = malloc(len + 1))) {
        out->status = 500;
        return -1;
    }
    memcpy(out->body, text, len);
    out->body[len] = '\0';
    out->len = len;
    return 0;
}

/* The error pages EC2's service sends: a status and a short HTML page. */
static int reply_error(gw_imds_reply *out, int status)
{
    const char *what = status == 400   ? "Bad Request"
                       : status == 401 ? "Unauthorized"
                       : status == 403 ? "Forbidden"
                       : status == 405 ? "Method Not Allowed"
                       : status == 503 ? "Service Unavailable"
                                       : "Not Found";
    char page[512];
    int n = snprintf(page, sizeof(page),
                     "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
                     "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
                     "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
                     "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
                     " <head>\n  <title>%d - %s</title>\n </head>\n <body>\n  <h1>%d - %s</h1>\n"
                     " </body>\n</html>\n",
                     status, what, status, what);

    return reply_text(out, status, "text/html", page, (size_t)n);
}

/* path (query cut, "//" kept out, no "." or ".." segments, printable
 * ASCII) into buf, without its leading "/".  0 or -1 (a bad path). */
static int clean_path(const char *path, char *buf, size_t size)
{
    size_t i, n = 0;
    const char *seg;

    if (!path || path[0] != '/')
        return -1;
    for (i = 1; path[i] && path[i] != '?' && path[i] != '#'; i++) {
        unsigned char ch = (unsigned char)path[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '\\' || n + 1 >= size ||
            (ch == '/' && n && buf[n - 1] == '/'))
            return -1;
        buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    for (seg = buf; *seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : seg + strlen(seg)) {
        if ((seg[0] == '.' && (seg[1] == '/' || !seg[1])) ||
            (seg[0] == '.' && seg[1] == '.' && (seg[2] == '/' || !seg[2])))
            return -1;
    }
    return 0;
}

/* 1 when text[0..used) has a line equal to name. */
static int has_line(const char *text, size_t used, const char *name)
{
    size_t nl = strlen(name), i = 0;

    while (i < used) {
        const char *eol = memchr(text + i, '\n', used - i);
        size_t ll = eol ? (size_t)(eol - (text + i)) : used - i;

        if (ll == nl && memcmp(text + i, name, nl) == 0)
            return 1;
        i += ll + 1;
    }
    return 0;
}

/* The listing of directory dir ("" or ending in "/"): each name under it
 * once, sub-directories with a trailing "/".  0 found, 1 no such
 * directory, -1 OOM. */
static int listing(const leaves *l, const char *dir, const gw_imds_instance *inst,
                   gw_imds_reply *out)
{
    char *text = NULL, name[300];
    size_t dl = strlen(dir), used = 0, cap = 0, i;
    int found = 0;

    /* EC2 lists keys as INDEX=NAME. */
    if (strcmp(dir, "meta-data/public-keys/") == 0) {
        if (!inst->public_key)
            return 1;
        snprintf(name, sizeof(name), "0=%s", inst->key_name ? inst->key_name : "");
        return reply_text(out, 200, "text/plain", name, strlen(name));
    }
    for (i = 0; i < l->n; i++) {
        const char *rest, *slash;
        size_t nl;

        if (strncmp(l->v[i].path, dir, dl) != 0)
            continue;
        rest = l->v[i].path + dl;
        slash = strchr(rest, '/');
        nl = slash ? (size_t)(slash - rest) + 1 : strlen(rest);
        snprintf(name, sizeof(name), "%.*s", (int)nl, rest);
        if (has_line(text, used, name))
            continue;
        if (used + nl + 2 > cap) {
            char *t = realloc(text, cap = (used + nl + 2) * 2);

            if (!t) {
                free(text);
                return -1;
            }
            text = t;
        }
        used += (size_t)sprintf(text + used, "%s%s", found ? "\n" : "", name);
        found = 1;
    }
    if (!found)
        return 1;
    out->status = 200;
    out->content_type = "text/plain";
    out->body = text;
    out->len = used;
    return 0;
}

static int token_mint(gw_imds *m, const gw_imds_instance *inst, long ttl, time_t now,
                      gw_imds_reply *out)
{
    unsigned char raw[TOKEN_BYTES];
    char *b64 = NULL;
    size_t i, mine = 0, oldest = 0;
    imds_token *t;

    prune_tokens(m, now);
    for (i = 0; i < m->n_tokens; i++) {
        if (strcmp(m->tokens[i].instance_id, inst->id) != 0)
            continue;
        if (!mine++ || m->tokens[i].expires < m->tokens[oldest].expires)
            oldest = i;
    }
    /* A guest over its share loses its own oldest token, never another's. */
    if (mine >= TOKENS_PER_INSTANCE)
        t = &m->tokens[oldest];
    else if (m->n_tokens < m->max_tokens)
        t = &m->tokens[m->n_tokens++];
    else
        return reply_error(out, 503);
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw) ||
        !(b64 = cg_base64_encode(raw, sizeof(raw)))) {
        free(b64);
        memset(t, 0, sizeof(*t));
        if (t == &m->tokens[m->n_tokens - 1])
            m->n_tokens--;
        return reply_error(out, 503);
    }
    snprintf(t->token, sizeof(t->token), "%s", b64);
    snprintf(t->instance_id, sizeof(t->instance_id), "%s", inst->id);
    t->expires = now + ttl;
    free(b64);
    out->ttl = ttl;
    out->hop_limit = inst->md.hop_limit;
    return reply_text(out, 200, "text/plain", t->token, strlen(t->token));
}

/* 1: token is a live token of inst (*left: its seconds left), else 0. */
static int token_valid(gw_imds *m, const gw_imds_instance *inst, const char *token, time_t now,
                       long *left)
{
    size_t i;

    prune_tokens(m, now);
    if (strlen(token) != TOKEN_CHARS)
        return 0;
    for (i = 0; i < m->n_tokens; i++) {
        if (strcmp(m->tokens[i].token, token) == 0 &&
            strcmp(m->tokens[i].instance_id, inst->id) == 0) {
            *left = (long)(m->tokens[i].expires - now);
            return 1;
        }
    }
    return 0;
}

/* PUT /latest/api/token. */
static int answer_put(gw_imds *m, const gw_imds_request *rq, const gw_imds_instance *inst,
                      const char *path, gw_imds_reply *out)
{
    char *end = NULL;
    long ttl;

    if (strcmp(path, "latest/api/token") != 0)
        return reply_error(out, strncmp(path, "latest/", 7) == 0 ? 405 : 404);
    /* As EC2: a token is never handed out through a proxy. */
    if (rq->forwarded)
        return reply_error(out, 403);
    if (!rq->ttl || !*rq->ttl)
        return reply_error(out, 400);
    ttl = strtol(rq->ttl, &end, 10);
    if (*end || ttl < 1 || ttl > TOKEN_TTL_MAX)
        return reply_error(out, 400);
    return token_mint(m, inst, ttl, rq->now, out);
}

/* The versions the root lists (a few EC2 dates cloud-init knows, and latest). */
#define VERSIONS "2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\nlatest"

/* 1 when path starts with a YYYY-MM-DD segment. */
static int is_version(const char *p)
{
    int i;

    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7 ? p[i] != '-' : (p[i] < '0' || p[i] > '9'))
            return 0;
    }
    return p[10] == '\0' || p[10] == '/';
}

int gw_imds_answer(gw_imds *m, const gw_imds_request *rq, gw_imds_reply *out)
{
    const gw_imds_instance *inst;
    gw_imds_instance found;
    char path[PATH_MAX_LEN], dir[PATH_MAX_LEN + 1];
    leaves l;
    long left = -1;
    size_t i, pl;
    int rc, ret = -1;

    memset(out, 0, sizeof(*out));
    memset(&l, 0, sizeof(l));
    out->ttl = -1;
    if (!rq->method || clean_path(rq->path, path, sizeof(path)) < 0)
        return reply_error(out, 400);
    /* Unknown callers, and instances whose endpoint is disabled, get nothing. */
    inst = find_caller(m, rq->src_ip, rq->src_mac);
    if (!inst || inst->md.http_endpoint == CG_MD_ENDPOINT_DISABLED)
        return reply_error(out, 403);
    /* Found by its MAC before its lease was seen: the address it speaks
     * from is its address (anti-spoofing), so local-ipv4, hostname... */
    if (!inst->private_ip[0]) {
        found = *inst; /* a view: borrows inst's strings, never released */
        snprintf(found.private_ip, sizeof(found.private_ip), "%s", rq->src_ip);
        inst = &found;
    }
    if (strcmp(rq->method, "PUT") == 0)
        return answer_put(m, rq, inst, path, out);
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
        return reply_error(out, 405);
    /* A token sent is checked even when optional, as EC2 does. */
    if (rq->token && !token_valid(m, inst, rq->token, rq->now, &left))
        return reply_error(out, 401);
    if (!rq->token && inst->md.http_tokens == CG_MD_TOKENS_REQUIRED)
        return reply_error(out, 401);
    out->ttl = left;
    if (path[0] == '\0')
        return reply_text(out, 200, "text/plain", VERSIONS, strlen(VERSIONS));
    /* Dated API versions (cloud-init asks for 2021-03-23, 2009-04-04...)
     * are served as latest: the keys here exist in all of them. */
    if (is_version(path)) {
        memcpy(path, "latest", 6);
        memmove(path + 6, path + 10, strlen(path + 10) + 1);
    }
    if (strcmp(path, "latest") == 0 || strcmp(path, "latest/") == 0) {
        const char *top = inst->user_data ? "dynamic\nmeta-data\nuser-data"
                                          : "dynamic\nmeta-data";

        return reply_text(out, 200, "text/plain", top, strlen(top));
    }
    if (strncmp(path, "latest/", 7) != 0)
        return reply_error(out, 404);
    build_leaves(&l, m, inst);
    if (l.oom)
        goto cleanup;
    memmove(path, path + 7, strlen(path + 7) + 1);
    for (i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].path, path) == 0) {
            ret = reply_text(out, 200,
                             strcmp(path, "dynamic/instance-identity/document") == 0
                                 ? "application/json" : "text/plain",
                             l.v[i].text, l.v[i].len);
            goto cleanup;
        }
    }
    pl = strlen(path);
    snprintf(dir, sizeof(dir), "%s%s", path, pl && path[pl - 1] != '/' ? "/" : "");
    if ((rc = listing(&l, dir, inst, out)) < 0)
        goto cleanup;
    ret = rc == 0 ? 0 : reply_error(out, 404);

cleanup:
    release_leaves(&l);
    if (ret < 0 && !out->body)
        out->status = 500;
    return ret;
}

void gw_imds_reply_release(gw_imds_reply *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
}
