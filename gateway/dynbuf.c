/* cloudgate: a growable byte buffer (see dynbuf.h). */
#include "dynbuf.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_ROOM 4096

void cg_dynbuf_init(cg_dynbuf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

int cg_dynbuf_add(cg_dynbuf *b, const void *data, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max - b->len)
        return -1;
    need = b->len + n + 1;
    if (need > b->cap) {
        for (cap = b->cap ? b->cap : FIRST_ROOM; cap < need; cap *= 2)
            ;
        if (!(p = realloc(b->p, cap)))
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

char *cg_dynbuf_take(cg_dynbuf *b, size_t *len)
{
    char *p = b->p ? b->p : calloc(1, 1);

    if (len)
        *len = p ? b->len : 0;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void cg_dynbuf_free(cg_dynbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
