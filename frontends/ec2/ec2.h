/* cloudgate: the EC2 Query API frontend (what the gateway calls). */
#ifndef EC2_H
#define EC2_H

#include "../../gateway/context.h"
#include "../../gateway/request.h"

/* Handle one EC2 Query request (POST / form body, or GET / with a query
 * string): verify its signature, dispatch through the action table, format
 * the XML response or AWS error.  Runs on a worker thread, or on the loop
 * thread when ec2_on_loop(req) says so. */
void ec2_handle(const gw_ctx *ctx, const gw_request *req, gw_response *resp);

/* 1 when req is small and names an action marked EC2_ON_LOOP in the action
 * table: ec2_handle() answers it without any blocking call (SigV4/SigV2 use
 * the credentials loaded at start), so the loop thread may call it itself.
 * Looks at the raw query and body only.  Must not block. */
int ec2_on_loop(const gw_request *req);

/* The 503 RequestLimitExceeded answer the loop thread sends when the worker
 * queue is full.  Must not block. */
void ec2_overloaded(const gw_request *req, gw_response *resp);

/* The gateway is idle: drop the instance listing kept for the next
 * DescribeInstances (2.5 MB at 1,000 instances; it is made again on the
 * next request).  Must not block for long. */
void ec2_idle(void);

#endif
