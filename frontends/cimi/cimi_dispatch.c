/* cloudgate: the CIMI HTTP binding: Basic auth, Accept / Content-Type
 * negotiation, routing by path and method to the handlers of each resource
 * (cimi_machines.c, cimi_volumes.c, cimi_templates.c, cimi_images.c,
 * cimi_catalog.c, cimi_networks.c), and
 * the answers (errors, 201, 202 with a job). */
#include "cimi.h"
#include "cimi_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/auth.h"
#include "../../gateway/log.h"

#define CIMI_PREFIX "/cimi"

/* The collections, in CloudEntryPoint order.  GET of a collection and of an
 * entry is generic (cimi_query.c); the rest is each resource's handlers. */
static const cimi_collection collections[] = {
    {"machines", "Machine", "machines", cimi_list_machines, cimi_machine_create, cimi_machine_edit,
     cimi_machine_action, cimi_machine_delete, cimi_machine_sub, 1},
    {"machineTemplates", "MachineTemplate", "machineTemplates", cimi_list_machine_templates,
     cimi_machine_template_create, NULL, NULL, cimi_machine_template_delete,
     cimi_machine_template_sub, 0},
    {"machineConfigs", "MachineConfiguration", "machineConfigurations", cimi_list_configs, NULL,
     NULL, NULL, NULL, NULL, 0},
    {"machineImages", "MachineImage", "machineImages", cimi_list_images, cimi_image_create, NULL,
     NULL, cimi_image_delete, cimi_image_sub, 1},
    {"credentials", "Credential", "credentials", cimi_list_credentials, cimi_credential_create,
     NULL, NULL, cimi_credential_delete, NULL, 0},
    {"volumes", "Volume", "volumes", cimi_list_volumes, cimi_volume_create, NULL, NULL,
     cimi_volume_delete, NULL, 0},
    {"volumeTemplates", "VolumeTemplate", "volumeTemplates", cimi_list_volume_templates,
     cimi_volume_template_create, NULL, NULL, cimi_volume_template_delete, NULL, 0},
    {"volumeConfigs", "VolumeConfiguration", "volumeConfigurations", cimi_list_volume_configs,
     cimi_volume_config_create, NULL, NULL, cimi_volume_config_delete, NULL, 0},
    {"volumeImages", "VolumeImage", "volumeImages", cimi_list_volume_images, NULL, NULL, NULL,
     cimi_volume_image_delete, NULL, 0},
    {"networks", "Network", "networks", cimi_list_networks, NULL, NULL, NULL, NULL,
     cimi_network_sub, 0},
    {"networkPorts", "NetworkPort", "networkPorts", cimi_list_network_ports, NULL, NULL, NULL,
     NULL, NULL, 0},
    {"jobs", "Job", "jobs", cimi_list_jobs, NULL, NULL, cimi_job_action, NULL, NULL, 0},
};

const cimi_collection *cimi_find_collection(const char *seg, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(collections) / sizeof(collections[0]); i++) {
        if (strlen(collections[i].path) == n && strncmp(collections[i].path, seg, n) == 0)
            return &collections[i];
    }
    return NULL;
}

/* ---- answers ------------------------------------------------------------------ */

int cimi_fail(cimi_call *c, int status, const char *fmt, ...)
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

int cimi_fail_cg(cimi_call *c, const cg_error *err)
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

void cimi_reply(cimi_call *c, int status, const cimi_obj *o)
{
    size_t len = 0;
    char *body;

    if (c->status)
        return;
    if (!o) {
        cimi_fail(c, 500, "out of memory");
        return;
    }
    body = c->xml ? cimi_render_xml(o, &len) : cimi_render_json(o, &len);
    if (!body) {
        cimi_fail(c, 500, "out of memory rendering the response");
        return;
    }
    gw_response_set_body(c->resp, status, c->xml ? CIMI_XML : CIMI_JSON, body, len);
}

void cimi_reply_created(cimi_call *c, const cimi_obj *o)
{
    const cimi_attr *id = o ? cimi_obj_get(o, "id") : NULL;

    cimi_reply(c, 201, o);
    if (!c->status && id && id->s)
        gw_response_add_header(c->resp, "Location", id->s);
}

void cimi_reply_job(cimi_call *c, const cg_job *job, const char *location)
{
    cimi_obj *o = cimi_build_job(c->base, job);
    char uri[600];

    snprintf(uri, sizeof(uri), "%sjobs/%s", c->base, job->id);
    cimi_reply(c, 202, o);
    cimi_obj_free(o);
    if (c->status)
        return;
    gw_response_add_header(c->resp, "Location", location ? location : uri);
    gw_response_add_header(c->resp, "CIMI-Job-URI", uri);
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

static void get_cep(cimi_call *c)
{
    cimi_obj *o = cimi_build_cep(c->base, c->ctx->cfg);

    cimi_reply(c, 200, o);
    cimi_obj_free(o);
}

/* ---- routing ---------------------------------------------------------------------- */

static int is(const cimi_call *c, const char *method)
{
    return strcmp(c->req->method, method) == 0;
}

static void not_allowed(cimi_call *c, const char *path, const char *allow)
{
    gw_response_add_header(c->resp, "Allow", allow);
    cimi_fail(c, 405, "%s is not allowed on /cimi/%.128s (served: %s)", c->req->method, path,
              allow);
}

/* A collection: GET, and POST where creation is served. */
static void route_collection(cimi_call *c, const cimi_collection *coll, const char *path)
{
    if (is(c, "GET"))
        cimi_get_collection(c, coll);
    else if (is(c, "POST") && coll->create)
        coll->create(c);
    else
        not_allowed(c, path, coll->create ? "GET, POST" : "GET");
}

/* An entry: GET, and PUT / POST / DELETE where served. */
static void route_entry(cimi_call *c, const cimi_collection *coll, const char *id, const char *path)
{
    char allow[64];

    if (is(c, "GET")) {
        cimi_get_entry(c, coll, id);
    } else if (is(c, "PUT") && coll->edit) {
        coll->edit(c, id);
    } else if (is(c, "POST") && coll->action) {
        coll->action(c, id);
    } else if (is(c, "DELETE") && coll->remove) {
        coll->remove(c, id);
    } else {
        snprintf(allow, sizeof(allow), "GET%s%s%s", coll->edit ? ", PUT" : "",
                 coll->action ? ", POST" : "", coll->remove ? ", DELETE" : "");
        not_allowed(c, path, allow);
    }
}

/* path is below /cimi/: "collection[/id[/sub...]]". */
static void route(cimi_call *c, const char *path)
{
    const char *slash = strchr(path, '/'), *rest;
    size_t n = slash ? (size_t)(slash - path) : strlen(path);
    const cimi_collection *coll = cimi_find_collection(path, n);
    char id[160];

    if (c->req->body_len > 0 && !cimi_body_type_ok(c->req)) {
        cimi_fail(c, 415, "request bodies must be application/json or application/xml");
        return;
    }
    if (strcmp(path, "cloudEntryPoint") == 0) {
        if (is(c, "GET"))
            get_cep(c);
        else
            not_allowed(c, path, "GET");
        return;
    }
    if (!coll || (slash && !slash[1])) {
        cimi_fail(c, 404, "no CIMI resource at /cimi/%.128s", path);
        return;
    }
    if (!slash) {
        route_collection(c, coll, path);
        return;
    }
    rest = slash + 1;
    n = strcspn(rest, "/");
    if (n >= sizeof(id)) {
        cimi_fail(c, 404, "no CIMI resource at /cimi/%.128s", path);
        return;
    }
    memcpy(id, rest, n);
    id[n] = '\0';
    if (!rest[n]) {
        route_entry(c, coll, id, path);
        return;
    }
    if (!coll->sub || !rest[n + 1] || coll->sub(c, id, rest + n + 1) != 0)
        cimi_fail(c, 404, "no CIMI resource at /cimi/%.128s", path);
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
        char loc[1100];
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
