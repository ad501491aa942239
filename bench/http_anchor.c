/* http_anchor: what the HTTP stack alone can serve on this machine, the
 * anchor for the DescribeRegions req/s figure.
 *
 * The gateway speaks HTTP with libevent's evhttp (gateway/http.c); this is
 * the least an evhttp server can do per request: one event loop, every
 * request answered at once, from the loop thread, with a fixed body (the
 * gateway's own DescribeRegions response, so the bytes on the wire are the
 * same).  No SigV4, no parsing of the form, no hand-off to a worker thread,
 * no XML writing, no access log: the difference to the gateway is what those
 * cost.
 *
 *   http_anchor PORT BODY_FILE     listens on 127.0.0.1:PORT until SIGTERM
 *
 * Prints "listening" on stdout once it accepts connections.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct anchor {
    char *body;
    size_t len;
};

static void on_request(struct evhttp_request *req, void *arg)
{
    const struct anchor *a = arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    int one = 1;

    /* As the gateway does (no Nagle stall on keep-alive connections). */
    if (bev)
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/xml");
    evbuffer_add_reference(out, a->body, a->len, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static int read_file(const char *path, struct anchor *a)
{
    FILE *f = fopen(path, "rb");
    long n;
    int rc = -1;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
        goto cleanup;
    if (!(a->body = malloc((size_t)n + 1)) || fread(a->body, 1, (size_t)n, f) != (size_t)n)
        goto cleanup;
    a->len = (size_t)n;
    rc = 0;

cleanup:
    if (f)
        fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    struct anchor a = {0};
    struct event_base *base = NULL;
    struct evhttp *http = NULL;
    struct event *term = NULL, *intr = NULL;
    int port, rc = 1;

    if (argc != 3 || (port = atoi(argv[1])) <= 0 || port > 65535) {
        fprintf(stderr, "usage: http_anchor PORT BODY_FILE\n");
        return 2;
    }
    if (read_file(argv[2], &a) < 0) {
        fprintf(stderr, "http_anchor: cannot read %s\n", argv[2]);
        goto cleanup;
    }
    if (!(base = event_base_new()) || !(http = evhttp_new(base)))
        goto cleanup;
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(http, on_request, &a);
    if (evhttp_bind_socket(http, "127.0.0.1", (unsigned short)port) < 0) {
        fprintf(stderr, "http_anchor: cannot listen on 127.0.0.1:%d\n", port);
        goto cleanup;
    }
    term = evsignal_new(base, SIGTERM, on_signal, base);
    intr = evsignal_new(base, SIGINT, on_signal, base);
    if (!term || !intr || evsignal_add(term, NULL) < 0 || evsignal_add(intr, NULL) < 0)
        goto cleanup;
    printf("listening\n");
    fflush(stdout);
    event_base_dispatch(base);
    rc = 0;

cleanup:
    if (term)
        event_free(term);
    if (intr)
        event_free(intr);
    if (http)
        evhttp_free(http);
    if (base)
        event_base_free(base);
    free(a.body);
    return rc;
}
