/* cloudgate: the HTTP(S) front door (see http.h). */
#include "http.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../frontends/cimi/cimi.h"
#include "../frontends/ec2/ec2.h"
#include "connections.h"
#include "log.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

typedef void (*route_handler)(const gw_ctx *ctx, const gw_request *req, gw_response *resp);
typedef void (*route_overloaded)(const gw_request *req, gw_response *resp);
typedef int (*route_on_loop)(const gw_request *req);

/* Longest request path written to the access log. */
#define LOG_PATH_MAX 200

/* Most bytes one write to a client's socket may take (libevent: 16 KiB). */
#define GW_WRITE_MAX (1024 * 1024)

/* Path prefix -> frontend.  The EC2 Query API owns "/" exactly. */
typedef struct gw_route {
    const char *prefix;
    int exact;
    route_handler handle;
    route_overloaded overloaded;
    route_on_loop on_loop; /* NULL, or: this request may be handled on the loop */
    void (*idle)(void);    /* NULL, or: the gateway is idle (gw_conns_new) */
} gw_route;

static const gw_route routes[] = {
    {"/", 1, ec2_handle, ec2_overloaded, ec2_on_loop, ec2_idle},
    {"/cimi", 0, cimi_handle, cimi_overloaded, NULL, cimi_idle},
};

static void routes_idle(void)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].idle)
            routes[i].idle();
}

struct gw_http {
    struct event_base *base;
    struct evhttp *evhttp;
    struct evhttp_bound_socket *sock;
    const gw_ctx *ctx;
    gw_pool *pool;
    SSL_CTX *ssl_ctx;
    gw_conns *conns;
    size_t queued_body;     /* body bytes of requests handed to the pool */
};

typedef struct http_job {
    gw_http *http;
    struct evhttp_request *evreq;
    const gw_route *route;
    gw_request *req;
    gw_response resp;
    double started;
} http_job;

static const gw_route *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t n = strlen(routes[i].prefix);
        if (routes[i].exact ? !strcmp(path, routes[i].prefix)
                            : (!strncmp(path, routes[i].prefix, n) &&
                               (path[n] == '\0' || path[n] == '/')))
            return &routes[i];
    }
    return NULL;
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

/* Copy what a frontend needs out of libevent's structures. */
static gw_request *copy_request(struct evhttp_request *evreq, int tls)
{
    gw_request *req = calloc(1, sizeof(*req));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
    struct evkeyvalq *hdrs = evhttp_request_get_input_headers(evreq);
    struct evbuffer *in = evhttp_request_get_input_buffer(evreq);
    struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
    struct evkeyval *kv;
    const char *path, *query;
    size_t n = 0;

    if (!req)
        return NULL;
    cg_uuid4(req->request_id);
    snprintf(req->method, sizeof(req->method), "%s",
             method_name(evhttp_request_get_command(evreq)));
    path = uri ? evhttp_uri_get_path(uri) : NULL;
    query = uri ? evhttp_uri_get_query(uri) : NULL;
    req->path = strdup(path && *path ? path : "/");
    req->query = strdup(query ? query : "");
    TAILQ_FOREACH(kv, hdrs, next)
        n++;
    req->headers = calloc(n ? n : 1, sizeof(*req->headers));
    if (!req->path || !req->query || !req->headers)
        goto error;
    TAILQ_FOREACH(kv, hdrs, next) {
        gw_header *h = &req->headers[req->n_headers];
        h->name = strdup(kv->key);
        h->value = strdup(kv->value);
        req->n_headers++;
        if (!h->name || !h->value)
            goto error;
    }
    req->body_len = evbuffer_get_length(in);
    req->body = malloc(req->body_len + 1);
    if (!req->body)
        goto error;
    /* Move, not copy: evhttp would otherwise hold a second copy of every
     * body until the reply is sent. */
    if (evbuffer_remove(in, req->body, req->body_len) != (int)req->body_len)
        goto error;
    req->body[req->body_len] = '\0';
    if (evcon) {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evcon, &addr, &port);
        snprintf(req->peer, sizeof(req->peer), "%s:%u", addr ? addr : "?", port);
    }
    req->tls = tls;
    return req;

error:
    gw_request_free(req);
    return NULL;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* The path as the access log shows it: client bytes, so control and
 * non-ASCII characters are escaped and the length is capped (a log line must
 * not be forgeable or huge). */
static void log_path(const char *path, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    for (i = 0; path[i] && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)path[i];

        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"') {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (path[i] && o + 4 <= outlen)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

static void free_body(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

/* data into buf as it is, not as a copy, when libevent takes the
 * reference: then 1, and unref (NULL for static data) is the buffer's to
 * call once the bytes are written.  Else a copy, and 0. */
static int add_by_reference(struct evbuffer *buf, const void *data, size_t len,
                            evbuffer_ref_cleanup_cb unref, void *owner)
{
    if (evbuffer_add_reference(buf, data, len, unref, owner) == 0)
        return 1;
    evbuffer_add(buf, data, len);
    return 0;
}

/* Loop thread: send resp for evreq and write the access-log line. */
static void send_response(struct evhttp_request *evreq, const gw_request *req,
                          gw_response *resp, double started)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
    struct evbuffer *buf = evbuffer_new();
    char path[LOG_PATH_MAX + 8];

    if (resp->status == 0) {
        /* A frontend that set nothing is a bug; say so rather than hang. */
        resp->status = 500;
        snprintf(resp->error_code, sizeof(resp->error_code), "InternalError");
    }
    evhttp_add_header(out, "Server", "cloudgate/" PACKAGE_VERSION);
    evhttp_add_header(out, "x-amzn-RequestId", req->request_id);
    if (resp->content_type)
        evhttp_add_header(out, "Content-Type", resp->content_type);
    for (size_t i = 0; i < resp->n_headers; i++)
        evhttp_add_header(out, resp->headers[i].name, resp->headers[i].value);
    /* The body goes to the socket's buffer as it is, not as a copy: a
     * multi-MB DescribeInstances would otherwise exist twice until sent.
     * Pieces go the same way, each released once written. */
    for (size_t i = 0; buf && i < resp->n_pieces; i++) {
        gw_piece *pc = &resp->pieces[i];

        if (add_by_reference(buf, pc->data, pc->len, pc->unref, pc->owner))
            pc->unref = NULL; /* the buffer owns that reference now */
    }
    if (buf && resp->body_len && !resp->n_pieces &&
        add_by_reference(buf, resp->body, resp->body_len, free_body, NULL)) {
        resp->body = NULL;
        resp->body_len = 0;
    }
    evhttp_send_reply(evreq, resp->status, reason_phrase(resp->status), buf);
    if (buf)
        evbuffer_free(buf);

    log_path(req->path, path, sizeof(path));
    cg_info("request id=%s peer=%s %s %s action=%s status=%d error=%s ms=%.1f", req->request_id,
            req->peer, req->method, path, resp->action[0] ? resp->action : "-",
            resp->status, resp->error_code[0] ? resp->error_code : "-",
            (cg_monotonic() - started) * 1000.0);
}

static void job_work(void *arg)
{
    http_job *job = arg;

    job->route->handle(job->http->ctx, job->req, &job->resp);
}

static struct bufferevent *request_bev(struct evhttp_request *evreq)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);

    return evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
}

/* Loop thread: answer, and forget the request.  ran = 0: the daemon is
 * stopping and no worker took it; the client gets the frontend's 503. */
static void job_done(void *arg, int ran)
{
    http_job *job = arg;
    struct bufferevent *bev = request_bev(job->evreq);

    if (!ran) {
        gw_response_release(&job->resp);
        memset(&job->resp, 0, sizeof(job->resp));
        job->route->overloaded(job->req, &job->resp);
    }
    job->http->queued_body -= job->req->body_len;
    send_response(job->evreq, job->req, &job->resp, job->started);
    gw_conns_set_busy(job->http->conns, bev, 0);
    gw_response_release(&job->resp);
    gw_request_free(job->req);
    free(job);
}

static void plain_reply(gw_response *resp, int status, const char *text)
{
    char *body = strdup(text);

    gw_response_set_body(resp, status, "text/plain; charset=utf-8", body,
                         body ? strlen(body) : 0);
}

/* libevent writes a response in chunks: without TCP_NODELAY the last
 * partial chunk waits ~40 ms for the client's delayed ACK on keep-alive
 * connections.  evhttp offers no hook at accept time, so set it per request. */
static void set_nodelay(struct evhttp_request *evreq)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;

    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Two Content-Length headers that disagree leave the body's end ambiguous
 * (request smuggling, RFC 7230 3.3.3): evhttp reads by the first. */
static int conflicting_length(const gw_request *req)
{
    const char *first = NULL;

    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "Content-Length") != 0)
            continue;
        if (first && strcmp(first, req->headers[i].value) != 0)
            return 1;
        first = req->headers[i].value;
    }
    return 0;
}

static void on_request(struct evhttp_request *evreq, void *arg)
{
    gw_http *http = arg;
    double started = cg_monotonic();
    http_job *job = calloc(1, sizeof(*job));
    gw_response immediate = {0};

    set_nodelay(evreq);
    if (!job || !(job->req = copy_request(evreq, http->ssl_ctx != NULL))) {
        free(job);
        evhttp_send_error(evreq, 500, "Out of memory");
        return;
    }
    gw_conns_set_busy(http->conns, request_bev(evreq), 1);
    job->http = http;
    job->evreq = evreq;
    job->started = started;
    job->route = find_route(job->req->path);
    if (conflicting_length(job->req)) {
        plain_reply(&immediate, 400, "conflicting Content-Length headers\n");
        gw_response_add_header(&immediate, "Connection", "close");
        goto reply_now;
    }
    if (!job->route) {
        plain_reply(&immediate, 404, "no such resource\n");
        goto reply_now;
    }
    /* Answers that need no blocking call (DescribeRegions: configuration and
     * in-memory credentials only) are made here: no hand-off to a worker and
     * back, and they come back even when every worker is busy.  While
     * stopping they get the 503 below, as before. */
    if (job->route->on_loop && job->route->on_loop(job->req) && !gw_pool_stopping(http->pool)) {
        job->route->handle(http->ctx, job->req, &immediate);
        goto reply_now;
    }
    /* Bodies wait in memory until a worker is done with them: cap their
     * sum, or a flood of large bodies holds queue_max x max_body. */
    if (http->queued_body + job->req->body_len <= http->ctx->cfg->max_queued_body &&
        gw_pool_submit(http->pool, job_work, job_done, job) == 0) {
        http->queued_body += job->req->body_len;
        return;
    }
    /* Queue full (or shutting down): answer at once, in the frontend's shape. */
    job->route->overloaded(job->req, &immediate);

reply_now:
    send_response(evreq, job->req, &immediate, started);
    gw_conns_set_busy(http->conns, request_bev(evreq), 0);
    gw_response_release(&immediate);
    gw_request_free(job->req);
    free(job);
}

/* evhttp asks for each new connection's bufferevent here: plain or TLS,
 * and registered with the connection limits. */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    gw_http *http = arg;
    struct bufferevent *bev;
    SSL *ssl = NULL;

    if (http->ssl_ctx) {
        if (!(ssl = SSL_new(http->ssl_ctx)))
            return NULL;
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (!bev)
            SSL_free(ssl);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (bev && gw_conns_add(http->conns, bev) < 0) {
        bufferevent_free(bev);
        bev = NULL;
    }
    /* libevent writes at most 16 KiB per call unless told: a 3.5 MB
     * DescribeInstances then takes over 200 writes, and the loopback
     * send costs the client more than the gateway's own work
     * (bench/README.md: the p50 at 1,000 instances). */
    if (bev)
        bufferevent_set_max_single_write(bev, GW_WRITE_MAX);
    return bev;
}

static int setup_tls(gw_http *http, const cg_config *cfg, char *errbuf, size_t errlen)
{
    http->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!http->ssl_ctx)
        goto error;
    SSL_CTX_set_min_proto_version(http->ssl_ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(http->ssl_ctx, cfg->tls_cert) != 1) {
        snprintf(errbuf, errlen, "tls_cert %s: %s", cfg->tls_cert,
                 ERR_reason_error_string(ERR_get_error()));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(http->ssl_ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(http->ssl_ctx) != 1) {
        snprintf(errbuf, errlen, "tls_key %s: %s", cfg->tls_key,
                 ERR_reason_error_string(ERR_get_error()));
        return -1;
    }
    return 0;

error:
    snprintf(errbuf, errlen, "TLS setup failed: %s", ERR_reason_error_string(ERR_get_error()));
    return -1;
}

gw_http *gw_http_new(struct event_base *base, const gw_ctx *ctx, gw_pool *pool, char *errbuf,
                     size_t errlen)
{
    const cg_config *cfg = ctx->cfg;
    gw_http *http = calloc(1, sizeof(*http));

    if (!http || !(http->evhttp = evhttp_new(base))) {
        snprintf(errbuf, errlen, "out of memory");
        goto error;
    }
    http->base = base;
    http->ctx = ctx;
    http->pool = pool;
    if (!(http->conns = gw_conns_new(base, cfg, routes_idle))) {
        snprintf(errbuf, errlen, "out of memory");
        goto error;
    }
    evhttp_set_bevcb(http->evhttp, make_bev, http);
    evhttp_set_max_headers_size(http->evhttp, (ev_ssize_t)cfg->max_headers);
    evhttp_set_max_body_size(http->evhttp, (ev_ssize_t)cfg->max_body);
    evhttp_set_timeout(http->evhttp, (int)cfg->timeout_sec);
    evhttp_set_allowed_methods(http->evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                                 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                 EVHTTP_REQ_HEAD);
    evhttp_set_gencb(http->evhttp, on_request, http);
    if (cfg->tls_cert && setup_tls(http, cfg, errbuf, errlen) < 0)
        goto error;
    http->sock = evhttp_bind_socket_with_handle(http->evhttp, cfg->listen_addr, cfg->listen_port);
    if (!http->sock) {
        snprintf(errbuf, errlen, "cannot listen on %s:%u (key 'listen')", cfg->listen_addr,
                 cfg->listen_port);
        goto error;
    }
    return http;

error:
    gw_http_free(http);
    return NULL;
}

void gw_http_stop_accepting(gw_http *http)
{
    if (http && http->sock) {
        evhttp_del_accept_socket(http->evhttp, http->sock);
        http->sock = NULL;
    }
}

void gw_http_free(gw_http *http)
{
    if (!http)
        return;
    if (http->evhttp)
        evhttp_free(http->evhttp);
    gw_conns_free(http->conns); /* after evhttp: it drops the connections */
    if (http->ssl_ctx)
        SSL_CTX_free(http->ssl_ctx);
    free(http);
}
