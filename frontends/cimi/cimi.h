/* cloudgate: the DMTF CIMI 1.x REST frontend (what the gateway calls).
 * Served at /cimi on the same port as EC2. */
#ifndef CIMI_H
#define CIMI_H

#include "../../gateway/context.h"
#include "../../gateway/request.h"

/* What only CIMI knows (machine templates, volume configurations and
 * templates), in SQLite beside the other state.  Opened once by the daemon. */
cimi_store *cimi_store_open(const cg_config *cfg, cg_error *err);
void cimi_store_close(cimi_store *st);

/* Handle one request under /cimi: HTTP Basic auth, routing by path and
 * method, JSON or XML by Accept / Content-Type.  Runs on a worker thread. */
void cimi_handle(const gw_ctx *ctx, const gw_request *req, gw_response *resp);

/* The 503 answer when the worker queue is full.  Must not block. */
void cimi_overloaded(const gw_request *req, gw_response *resp);

/* The gateway is idle: drop the instance listing kept for the next GET of
 * machines (it is made again on the next request).  Must not block long. */
void cimi_idle(void);

#endif
