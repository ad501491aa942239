/* cloudgate: limits on the HTTP connections a client may hold.
 *
 * evhttp owns its connections and tells nobody when one opens or closes, so
 * the gateway tracks them through the bufferevent it creates for each one
 * (evhttp_set_bevcb), holding a reference so that the pointer stays valid
 * after evhttp lets go of it.  A sweep on the loop thread then:
 * - closes connections that have not delivered a whole request within
 *   read_timeout of opening or of their previous reply (slow or idle
 *   clients: libevent's own timeout restarts at every byte received);
 * - keeps at most max_connections_per_peer per client address and
 *   max_connections in all, closing the oldest connections that are not
 *   waiting for a reply (a flood only pushes out idle sockets);
 * - returns freed heap memory to the system once no request is running.
 * A connection is closed with shutdown(2): evhttp sees end-of-file and frees
 * it as usual, so nothing is ever freed behind its back.
 */
#ifndef GW_CONNECTIONS_H
#define GW_CONNECTIONS_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stddef.h>

#include "config.h"

typedef struct gw_conns gw_conns;

/* on_idle (may be NULL) runs on the loop thread once the gateway has had
 * no request for a second, before the heap is trimmed: the frontends let
 * go of what only speeds up the next request.  NULL when out of memory. */
gw_conns *gw_conns_new(struct event_base *base, const cg_config *cfg, void (*on_idle)(void));

/* A connection's bufferevent was just made (from the evhttp_set_bevcb
 * callback, before evhttp gives it its socket).  Returns 0 or -1. */
int gw_conns_add(gw_conns *cs, struct bufferevent *bev);

/* The connection's request went to a worker (busy = 1) or its reply was
 * sent (busy = 0: the read deadline starts again). */
void gw_conns_set_busy(gw_conns *cs, struct bufferevent *bev, int busy);

/* Drop every reference (after evhttp_free).  Accepts NULL. */
void gw_conns_free(gw_conns *cs);

#endif
