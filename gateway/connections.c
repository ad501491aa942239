/* cloudgate: limits on the HTTP connections a client may hold (see
 * connections.h). */
#include "connections.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../drivers/driver.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define SWEEP_MS 250
/* Give memory back after this long without a running request. */
#define TRIM_IDLE_SEC 1.0

typedef struct peer_key {
    int family;                 /* 0: not known yet */
    unsigned char addr[16];
} peer_key;

typedef struct conn {
    struct bufferevent *bev;    /* we hold a reference */
    double since;               /* opened, or last reply sent */
    peer_key peer;
    int busy;                   /* a request is with a worker */
    int closing;                /* we shut it down; evhttp will free it */
} conn;

struct gw_conns {
    const cg_config *cfg;
    struct event *sweep_ev;     /* every SWEEP_MS */
    struct event *kick_ev;      /* one sweep now (a new connection) */
    conn *v;
    size_t n, cap;
    size_t busy;                /* connections with busy set */
    double last_busy;           /* when a request last finished */
    int trimmed;                /* memory returned since then */
    void (*on_idle)(void);
};

/* evhttp frees a connection with bufferevent_free(), which clears the
 * callbacks; evhttp keeps an event callback on every live one. */
static int released_by_evhttp(struct bufferevent *bev)
{
    bufferevent_event_cb ecb = NULL;

    bufferevent_getcb(bev, NULL, NULL, &ecb, NULL);
    return ecb == NULL;
}

static void peer_of(struct bufferevent *bev, peer_key *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    evutil_socket_t fd = bufferevent_getfd(bev);

    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    memset(out, 0, sizeof(*out));
    if (ss.ss_family == AF_INET) {
        memcpy(out->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        out->family = AF_INET;
    } else if (ss.ss_family == AF_INET6) {
        memcpy(out->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        out->family = AF_INET6;
    }
}

static void close_conn(conn *c, const char *why)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    char addr[INET6_ADDRSTRLEN] = "?";

    if (c->peer.family)
        inet_ntop(c->peer.family, c->peer.addr, addr, sizeof(addr));
    cg_info("connection from %s closed: %s", addr, why);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    c->closing = 1;
}

/* The oldest live connection not waiting for a reply, among those of peer
 * (or all when peer is NULL); NULL when every one is busy. */
static conn *oldest_idle(gw_conns *cs, const peer_key *peer)
{
    conn *best = NULL;

    for (size_t i = 0; i < cs->n; i++) {
        conn *c = &cs->v[i];

        if (c->busy || c->closing || (peer && memcmp(&c->peer, peer, sizeof(*peer)) != 0))
            continue;
        if (!best || c->since < best->since)
            best = c;
    }
    return best;
}

static size_t count_live(const gw_conns *cs, const peer_key *peer)
{
    size_t n = 0;

    for (size_t i = 0; i < cs->n; i++)
        n += !cs->v[i].closing && (!peer || !memcmp(&cs->v[i].peer, peer, sizeof(*peer)));
    return n;
}

/* A newly known peer over its share, or all connections over the cap:
 * push out the oldest idle ones. */
static void enforce_caps(gw_conns *cs, const peer_key *peer)
{
    conn *c;

    while (peer && count_live(cs, peer) > cs->cfg->max_connections_per_peer &&
           (c = oldest_idle(cs, peer)))
        close_conn(c, "too many connections from this address");
    while (count_live(cs, NULL) > cs->cfg->max_connections && (c = oldest_idle(cs, NULL)))
        close_conn(c, "too many connections");
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
    gw_conns *cs = arg;
    double now = cg_monotonic();
    size_t i = 0;

    while (i < cs->n) {
        conn *c = &cs->v[i];

        if (released_by_evhttp(c->bev)) {
            if (c->busy)
                cs->busy--;
            bufferevent_decref(c->bev);
            cs->v[i] = cs->v[--cs->n];
            continue;
        }
        if (!c->peer.family) {
            peer_of(c->bev, &c->peer);
            if (c->peer.family)
                enforce_caps(cs, &c->peer);
        }
        if (!c->busy && !c->closing && now - c->since > cs->cfg->read_timeout_sec)
            close_conn(c, "no complete request within read_timeout");
        i++;
    }
    /* glibc keeps freed heap pages (large bodies, per-thread arenas) unless
     * asked: hand them back once the gateway is idle. */
    if (cs->busy == 0 && !cs->trimmed && now - cs->last_busy > TRIM_IDLE_SEC) {
        if (cs->on_idle)
            cs->on_idle();
        cg_instance_list_pool_trim();
        cg_db_release_memory();
        malloc_trim(0);
        cs->trimmed = 1;
    }
}

gw_conns *gw_conns_new(struct event_base *base, const cg_config *cfg, void (*on_idle)(void))
{
    gw_conns *cs = calloc(1, sizeof(*cs));
    struct timeval tick = {0, SWEEP_MS * 1000};

    if (!cs)
        return NULL;
    cs->cfg = cfg;
    cs->on_idle = on_idle;
    cs->trimmed = 1;
    cs->sweep_ev = event_new(base, -1, EV_PERSIST, sweep, cs);
    cs->kick_ev = event_new(base, -1, 0, sweep, cs);
    if (!cs->sweep_ev || !cs->kick_ev || event_add(cs->sweep_ev, &tick) < 0) {
        gw_conns_free(cs);
        return NULL;
    }
    return cs;
}

int gw_conns_add(gw_conns *cs, struct bufferevent *bev)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 64;
        conn *v = realloc(cs->v, cap * sizeof(*v));

        if (!v)
            return -1;
        cs->v = v;
        cs->cap = cap;
    }
    bufferevent_incref(bev);
    cs->v[cs->n++] = (conn){.bev = bev, .since = cg_monotonic()};
    /* evhttp gives the bufferevent its socket right after this returns:
     * sweep then, in this loop iteration, to learn the peer and apply the
     * per-address cap before the client can send anything.  Through an
     * event of its own: activating the periodic one with EV_TIMEOUT moves
     * its next run SWEEP_MS further on each time (libevent reschedules a
     * persistent timer from its last deadline), so a stream of new
     * connections pushed every sweep -- closed connections' buffers, the
     * idle trim, read_timeout -- minutes away. */
    event_active(cs->kick_ev, EV_TIMEOUT, 0);
    return 0;
}

void gw_conns_set_busy(gw_conns *cs, struct bufferevent *bev, int busy)
{
    for (size_t i = 0; bev && i < cs->n; i++) {
        conn *c = &cs->v[i];

        if (c->bev != bev || c->busy == !!busy)
            continue;
        c->busy = !!busy;
        c->since = cg_monotonic();
        if (busy) {
            cs->busy++;
        } else {
            cs->busy--;
            cs->last_busy = c->since;
            cs->trimmed = 0;
        }
        return;
    }
}

void gw_conns_free(gw_conns *cs)
{
    if (!cs)
        return;
    if (cs->sweep_ev)
        event_free(cs->sweep_ev);
    if (cs->kick_ev)
        event_free(cs->kick_ev);
    for (size_t i = 0; i < cs->n; i++)
        bufferevent_decref(cs->v[i].bev);
    free(cs->v);
    free(cs);
}
