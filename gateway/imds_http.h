/* cloudgate: the instance metadata service's listener (metadata_listen),
 * a second evhttp server on the loop thread.
 *
 * Requests are answered from memory (gateway/imds.c) on the loop thread;
 * a timer refreshes that memory from the driver on a worker every
 * GW_IMDS_REFRESH_SEC, so no request waits on libvirt or SQLite.
 */
#ifndef GW_IMDS_HTTP_H
#define GW_IMDS_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "context.h"
#include "workers.h"

#define GW_IMDS_REFRESH_SEC 2

typedef struct gw_imds_http gw_imds_http;

/* Bind cfg->metadata_addr:metadata_port (IP_FREEBIND: the address may
 * appear on a bridge later).  *out NULL when metadata_listen is not set.
 * 0, or -1 with a message in errbuf. */
int gw_imds_http_new(struct event_base *base, const gw_ctx *ctx, gw_pool *pool,
                     gw_imds_http **out, char *errbuf, size_t errlen);
/* Stop serving (at shutdown).  Accepts NULL. */
void gw_imds_http_stop(gw_imds_http *h);
/* Free (after the pool stopped: a refresh in flight holds h).  Accepts NULL. */
void gw_imds_http_free(gw_imds_http *h);

#endif
