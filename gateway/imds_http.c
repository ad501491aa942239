/* cloudgate: the metadata service's listener (imds_http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "imds.h"
#include "imds_http.h"
#include "log.h"

#define MAX_TOKENS 65536
#define REQUEST_TIMEOUT_SEC 10
#define MAX_HEADERS_BYTES 8192

struct gw_imds_http {
    const gw_ctx *ctx;
    gw_pool *pool;
    struct evhttp *http;
    struct event *tick;
    gw_imds *imds;
    int refreshing;            /* a refresh is queued or running */
};

/* One refresh: built on a worker, handed over on the loop thread. */
typedef struct refresh_job {
    gw_imds_http *h;
    gw_imds_instance *v;
    size_t n;
    int ok;                    /* the data is complete: serve it */
} refresh_job;

/* ---- refresh (worker thread) -------------------------------------------- */

static void refresh_work(void *arg)
{
    refresh_job *job = arg;
    const gw_ctx *ctx = job->h->ctx;
    cg_instance_list list = {0};
    cg_keypair kp;
    cg_error err = {0};
    size_t i;

    if (CG_DRV_CALL(ctx->driver, ctx->drv, instance_list, &err, &list) < 0) {
        cg_warn("metadata service: instances: %s", err.message);
        return;
    }
    if (list.n && !(job->v = calloc(list.n, sizeof(*job->v))))
        goto cleanup;
    for (i = 0; i < list.n; i++) {
        const cg_instance *s = &list.v[i];
        gw_imds_instance *d = &job->v[job->n];

        /* Only instances that can run a guest are served. */
        if (s->state != CG_STATE_RUNNING && s->state != CG_STATE_PENDING)
            continue;
        if (gw_imds_instance_from(d, s) < 0)
            goto cleanup;
        job->n++;
        memset(&err, 0, sizeof(err));
        /* NOT_FOUND: a launch not finished yet (its user-data comes next). */
        if (CG_DRV_CALL(ctx->driver, ctx->drv, instance_user_data, &err, s->id, &d->user_data,
                        &d->user_data_len) < 0 && err.kind != CG_ERR_NOT_FOUND)
            cg_warn("metadata service: user-data of %s: %s", s->id, err.message);
        if (!d->user_data_len) {
            free(d->user_data);
            d->user_data = NULL;
        }
        memset(&kp, 0, sizeof(kp));
        if (s->key_name[0] && cg_keypair_get(ctx->keys, s->key_name, &kp, &err) == 0) {
            d->public_key = kp.public_key;
            kp.public_key = NULL;
        }
        cg_keypair_release(&kp);
    }
    job->ok = 1;

cleanup:
    cg_instance_list_release(&list);
}

/* ---- loop thread -------------------------------------------------------- */

static void refresh_done(void *arg, int ran)
{
    refresh_job *job = arg;
    size_t i;

    job->h->refreshing = 0;
    /* A failed refresh keeps serving the last good data. */
    if (ran && job->ok) {
        gw_imds_set_instances(job->h->imds, job->v, job->n);
    } else {
        for (i = 0; i < job->n; i++)
            gw_imds_instance_release(&job->v[i]);
        free(job->v);
    }
    free(job);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    gw_imds_http *h = arg;
    refresh_job *job;

    (void)fd;
    (void)what;
    if (h->refreshing || !(job = calloc(1, sizeof(*job))))
        return;
    job->h = h;
    if (gw_pool_submit(h->pool, refresh_work, refresh_done, job) < 0) {
        free(job);    /* a busy pool: the next tick tries again */
        return;
    }
    h->refreshing = 1;
}

/* The link-layer address the neighbour table has for IPv4 ip, into mac
 * ("" when none).  /proc/net/arp: "IP HWtype Flags HWaddress Mask Device". */
static void neighbour_mac(const char *ip, char *mac, size_t len)
{
    char line[256], a[64], hw[64];
    unsigned type, flags;
    FILE *f = fopen("/proc/net/arp", "re");

    mac[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        /* Flags 0x2: a complete entry. */
        if (sscanf(line, "%63s 0x%x 0x%x %63s", a, &type, &flags, hw) == 4 &&
            strcmp(a, ip) == 0 && (flags & 0x2)) {
            snprintf(mac, len, "%s", hw);
            break;
        }
    }
    fclose(f);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_HEAD: return "HEAD";
    default: return "OTHER";
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    gw_imds_http *h = arg;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evhttp_request_get_output_buffer(req);
    char *peer = NULL, mac[64] = "", num[24];
    ev_uint16_t port = 0;
    gw_imds_request rq = {0};
    gw_imds_reply r;

    evhttp_connection_get_peer(conn, &peer, &port);
    rq.method = method_name(evhttp_request_get_command(req));
    rq.path = evhttp_request_get_uri(req);
    rq.src_ip = peer;
    if (peer)
        neighbour_mac(peer, mac, sizeof(mac));
    rq.src_mac = mac;
    rq.token = evhttp_find_header(in, "X-aws-ec2-metadata-token");
    rq.ttl = evhttp_find_header(in, "X-aws-ec2-metadata-token-ttl-seconds");
    rq.forwarded = evhttp_find_header(in, "X-Forwarded-For") != NULL;
    rq.now = time(NULL);
    gw_imds_answer(h->imds, &rq, &r);
    evhttp_add_header(hdrs, "Server", "EC2ws");
    if (r.content_type)
        evhttp_add_header(hdrs, "Content-Type", r.content_type);
    if (r.ttl >= 0) {
        snprintf(num, sizeof(num), "%ld", r.ttl);
        evhttp_add_header(hdrs, "X-aws-ec2-metadata-token-ttl-seconds", num);
    }
    /* HttpPutResponseHopLimit, as EC2: the token's answer goes no further. */
    if (r.hop_limit > 0) {
        int ttl = r.hop_limit;
        evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(conn));

        if (fd >= 0)
            setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
    }
    if (r.body && rq.method[0] != 'H')
        evbuffer_add(body, r.body, r.len);
    cg_info("metadata %s %s %.200s -> %d", peer ? peer : "?", rq.method, rq.path, r.status);
    evhttp_send_reply(req, r.status, r.status == 200 ? "OK" : "Error", NULL);
    gw_imds_reply_release(&r);
}

/* A listening socket on addr:port that may bind an address not (yet) on
 * any interface.  -1 with errbuf set. */
static evutil_socket_t listen_on(const char *addr, unsigned short port, char *errbuf,
                                 size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int one = 1;
    evutil_socket_t fd;

    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(errbuf, errlen, "metadata_listen: '%s' is not an IPv4 address", addr);
        return -1;
    }
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        snprintf(errbuf, errlen, "metadata_listen %s:%u: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int gw_imds_http_new(struct event_base *base, const gw_ctx *ctx, gw_pool *pool,
                     gw_imds_http **out, char *errbuf, size_t errlen)
{
    struct timeval every = {GW_IMDS_REFRESH_SEC, 0};
    gw_imds_http *h = NULL;
    evutil_socket_t fd = -1;

    *out = NULL;
    if (!ctx->cfg->metadata_addr)
        return 0;
    if (!(h = calloc(1, sizeof(*h))) ||
        !(h->imds = gw_imds_new(ctx->cfg->account_id, ctx->cfg->region, MAX_TOKENS)) ||
        !(h->http = evhttp_new(base)) ||
        !(h->tick = event_new(base, -1, EV_PERSIST, on_tick, h))) {
        snprintf(errbuf, errlen, "metadata service: out of memory");
        goto fail;
    }
    h->ctx = ctx;
    h->pool = pool;
    if ((fd = listen_on(ctx->cfg->metadata_addr, ctx->cfg->metadata_port, errbuf, errlen)) < 0)
        goto fail;
    if (!evhttp_accept_socket_with_handle(h->http, fd)) {
        snprintf(errbuf, errlen, "metadata_listen: cannot accept on the socket");
        close(fd);
        goto fail;
    }
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(h->http, MAX_HEADERS_BYTES);
    evhttp_set_max_body_size(h->http, 0);
    evhttp_set_timeout(h->http, REQUEST_TIMEOUT_SEC);
    evhttp_set_gencb(h->http, on_request, h);
    event_add(h->tick, &every);
    on_tick(-1, 0, h);    /* the first data now, not in two seconds */
    cg_info("metadata service listening on %s:%u", ctx->cfg->metadata_addr,
            ctx->cfg->metadata_port);
    *out = h;
    return 0;

fail:
    gw_imds_http_free(h);
    return -1;
}

void gw_imds_http_stop(gw_imds_http *h)
{
    if (!h)
        return;
    if (h->tick)
        event_del(h->tick);
    if (h->http) {
        evhttp_free(h->http);
        h->http = NULL;
    }
}

void gw_imds_http_free(gw_imds_http *h)
{
    if (!h)
        return;
    gw_imds_http_stop(h);
    if (h->tick)
        event_free(h->tick);
    gw_imds_free(h->imds);
    free(h);
}
