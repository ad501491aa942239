/* cloudgate: the HTTP(S) front door on the loop thread.
 *
 * Copies each request into a gw_request, routes it by path to a frontend,
 * runs the frontend on the worker pool and sends the reply from the loop
 * thread; one access-log line per request.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "context.h"
#include "workers.h"

typedef struct gw_http gw_http;

/* Bind cfg->listen_addr:listen_port (TLS when cfg->tls_cert is set).
 * NULL with a message in errbuf on failure. */
gw_http *gw_http_new(struct event_base *base, const gw_ctx *ctx, gw_pool *pool,
                     char *errbuf, size_t errlen);

/* Stop accepting connections; requests in flight still get their replies. */
void gw_http_stop_accepting(gw_http *http);

/* Free the server (closes remaining connections). Accepts NULL. */
void gw_http_free(gw_http *http);

#endif
