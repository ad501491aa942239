/* cloudgate: one HTTP request as handed from the loop thread to a worker,
 * and the response the worker hands back.  Both are plain copies: a worker
 * never touches libevent objects.
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>

typedef struct gw_header {
    char *name;   /* as received */
    char *value;
} gw_header;

typedef struct gw_request {
    char request_id[40];   /* uuid, echoed as EC2 requestId */
    char method[8];        /* "GET", "POST", ... */
    char *path;            /* decoded-free raw path, e.g. "/" or "/cimi/machines" */
    char *query;           /* raw query string without '?', or "" */
    gw_header *headers;
    size_t n_headers;
    char *body;            /* NUL-terminated copy of the body */
    size_t body_len;
    char peer[64];         /* "127.0.0.1:53211" */
    int tls;               /* 1 when received over TLS */
} gw_request;

typedef struct gw_response {
    int status;            /* HTTP status */
    const char *content_type; /* static string */
    char *body;            /* malloc'd, owned by the response */
    size_t body_len;
    gw_header *headers;    /* extra headers, malloc'd */
    size_t n_headers;
    char action[64];       /* for the access log: "DescribeInstances", "GET machines" */
    char error_code[64];   /* for the access log: "" or the error code sent */
} gw_response;

/* Case-insensitive header lookup; NULL when absent. */
const char *gw_request_header(const gw_request *req, const char *name);

/* Free the request's contents and the struct itself.  Accepts NULL. */
void gw_request_free(gw_request *req);

/* Set the body (takes ownership of body, which must be malloc'd). */
void gw_response_set_body(gw_response *resp, int status, const char *content_type,
                          char *body, size_t len);

/* Append an extra response header (both strings are copied). */
int gw_response_add_header(gw_response *resp, const char *name, const char *value);

/* Free the response's contents (not the struct). Accepts NULL. */
void gw_response_release(gw_response *resp);

#endif
