/* cloudgate: a growable byte buffer (curl's dynbuf is the model).
 *
 * Appends double the room, so building N bytes copies them about once,
 * whatever else the heap holds (glibc's realloc moves a block it cannot
 * grow in place: grown by the bytes added, a large XML response was
 * copied once per 4 KB written).  A bound (max) keeps any one buffer from
 * growing without limit; the bytes are handed over without a copy. */
#ifndef CG_DYNBUF_H
#define CG_DYNBUF_H

#include <stddef.h>

typedef struct cg_dynbuf {
    char *p; /* NUL-terminated when not NULL */
    size_t len;
    size_t cap;
    size_t max; /* len never exceeds it */
} cg_dynbuf;

/* An empty buffer of at most max bytes. */
void cg_dynbuf_init(cg_dynbuf *b, size_t max);
/* Append n bytes.  0, or -1 (OOM, or max would be passed: then b is
 * unchanged). */
int cg_dynbuf_add(cg_dynbuf *b, const void *data, size_t n);
/* The bytes (malloc'd, NUL-terminated; "" when empty, NULL on OOM) and
 * their length; b is empty again. */
char *cg_dynbuf_take(cg_dynbuf *b, size_t *len);
void cg_dynbuf_free(cg_dynbuf *b);

#endif
