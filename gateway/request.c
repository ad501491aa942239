/* cloudgate: request/response plain-copy helpers (see request.h). */
#include "request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *gw_request_header(const gw_request *req, const char *name)
{
    size_t i;

    if (!req || !name)
        return NULL;
    for (i = 0; i < req->n_headers; i++) {
        if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

static void headers_free(gw_header *h, size_t n)
{
    size_t i;

    if (!h)
        return;
    for (i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

void gw_request_free(gw_request *req)
{
    if (!req)
        return;
    free(req->path);
    free(req->query);
    headers_free(req->headers, req->n_headers);
    free(req->body);
    free(req);
}

void gw_piece_free(const void *data, size_t len, void *owner)
{
    (void)data;
    (void)len;
    free(owner);
}

void gw_pieces_release(gw_piece *pieces, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pieces[i].unref)
            pieces[i].unref(pieces[i].data, pieces[i].len, pieces[i].owner);
    free(pieces);
}

void gw_response_set_body(gw_response *resp, int status, const char *content_type, char *body,
                          size_t len)
{
    if (!resp) {
        free(body);
        return;
    }
    if (resp->body != body)
        free(resp->body);
    gw_pieces_release(resp->pieces, resp->n_pieces);
    resp->pieces = NULL;
    resp->n_pieces = 0;
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->body_len = body ? len : 0;
}

int gw_response_add_header(gw_response *resp, const char *name, const char *value)
{
    gw_header *h;
    char *n = NULL, *v = NULL;

    if (!resp || !name || !value)
        return -1;
    /* A header must never smuggle a second header or a body into the reply. */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || !name[0])
        return -1;
    if (resp->n_headers >= SIZE_MAX / sizeof(*h) - 1)
        return -1;
    n = strdup(name);
    v = strdup(value);
    h = (n && v) ? realloc(resp->headers, (resp->n_headers + 1) * sizeof(*h)) : NULL;
    if (!h) {
        free(n);
        free(v);
        return -1;
    }
    h[resp->n_headers].name = n;
    h[resp->n_headers].value = v;
    resp->headers = h;
    resp->n_headers++;
    return 0;
}

void gw_response_set_pieces(gw_response *resp, int status, const char *content_type,
                            gw_piece *pieces, size_t n)
{
    size_t total = 0;

    if (!resp) {
        gw_pieces_release(pieces, n);
        return;
    }
    gw_response_set_body(resp, status, content_type, NULL, 0);
    for (size_t i = 0; i < n; i++)
        total += pieces[i].len;
    resp->pieces = pieces;
    resp->n_pieces = n;
    resp->body_len = total;
}

int gw_response_flatten(gw_response *resp)
{
    char *body, *p;

    if (!resp->pieces)
        return 0;
    if (!(body = malloc(resp->body_len + 1)))
        return -1;
    p = body;
    for (size_t i = 0; i < resp->n_pieces; i++) {
        memcpy(p, resp->pieces[i].data, resp->pieces[i].len);
        p += resp->pieces[i].len;
    }
    *p = '\0';
    gw_pieces_release(resp->pieces, resp->n_pieces);
    resp->pieces = NULL;
    resp->n_pieces = 0;
    resp->body = body;
    return 0;
}

void gw_response_release(gw_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    gw_pieces_release(resp->pieces, resp->n_pieces);
    resp->pieces = NULL;
    resp->n_pieces = 0;
    headers_free(resp->headers, resp->n_headers);
    resp->body = NULL;
    resp->body_len = 0;
    resp->headers = NULL;
    resp->n_headers = 0;
}
