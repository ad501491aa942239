/* cloudgate: the EC2 Query API frontend (what the gateway calls). */
#ifndef EC2_H
#define EC2_H

#include "../../gateway/context.h"
#include "../../gateway/request.h"

/* Handle one EC2 Query request (POST / form body, or GET / with a query
 * string): verify its signature, dispatch through the action table, format
 * the XML response or AWS error.  Runs on a worker thread. */
void ec2_handle(const gw_ctx *ctx, const gw_request *req, gw_response *resp);

/* The 503 RequestLimitExceeded answer the loop thread sends when the worker
 * queue is full.  Must not block. */
void ec2_overloaded(const gw_request *req, gw_response *resp);

#endif
