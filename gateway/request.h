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

/* A piece of a response body that is not copied: data stays valid until
 * unref(data, len, owner) is called (libevent's reference cleanup
 * signature, so the loop thread hands pieces to the socket's buffer as
 * they are).  unref may be NULL for static data. */
typedef struct gw_piece {
    const char *data;
    size_t len;
    void (*unref)(const void *data, size_t len, void *owner);
    void *owner;
} gw_piece;

typedef struct gw_response {
    int status;            /* HTTP status */
    const char *content_type; /* static string */
    char *body;            /* malloc'd, owned by the response */
    size_t body_len;
    /* Instead of body: the body as pieces (n_pieces of them, the array
     * malloc'd), body_len their total.  A large listing is assembled from
     * shared cached fragments without copying them into one buffer. */
    gw_piece *pieces;
    size_t n_pieces;
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

/* Set the body as pieces (takes ownership of the array and of a reference
 * to each piece, released even when resp is NULL). */
void gw_response_set_pieces(gw_response *resp, int status, const char *content_type,
                            gw_piece *pieces, size_t n);
/* The unref of a piece whose owner is malloc'd memory: frees it. */
void gw_piece_free(const void *data, size_t len, void *owner);
/* Release n pieces and the array. */
void gw_pieces_release(gw_piece *pieces, size_t n);
/* Join pieces into one malloc'd, NUL-terminated body (for code that needs
 * the body flat: tests).  0, or -1 (OOM: the response is unchanged). */
int gw_response_flatten(gw_response *resp);
/* Append an extra response header (both strings are copied). */
int gw_response_add_header(gw_response *resp, const char *name, const char *value);

/* Free the response's contents (not the struct). Accepts NULL. */
void gw_response_release(gw_response *resp);

#endif
