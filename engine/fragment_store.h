/* cloudgate engine: rendered texts kept per instance, reused while what
 * they were written from stays the same.
 *
 * A frontend that answers a listing from per-instance fragments (EC2's
 * DescribeInstances, CIMI's GET machines) keeps each instance's text here
 * under a 64-bit key it computes from everything the text was written
 * from, and reuses the text while the key is the same.  A text never
 * changes once made: a new one replaces it, and a reader holding the old
 * one (a response's pieces still being sent) keeps it until it gives its
 * reference back.  Each instance has CG_FRAG_SLOTS slots (CIMI: one per
 * format), each with its own text and key.
 *
 *   static cg_frag_store store = CG_FRAG_STORE_INIT;
 *
 *   cg_frag *f = cg_frag_store_get(&store, id, slot, key);
 *   if (!f && (f = cg_frag_new(key, len))) {
 *       ... fill f->data (and f->part) ...
 *       cg_frag_store_put(&store, id, slot, f);
 *   }
 *   ... read f ...
 *   cg_frag_unref(f);
 */
#ifndef CG_ENGINE_FRAGMENT_STORE_H
#define CG_ENGINE_FRAGMENT_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../drivers/driver.h"

#define CG_FRAG_SLOTS 2

/* An immutable text once stored: only refs changes. */
typedef struct cg_frag {
    int refs; /* atomic */
    uint64_t key;
    /* A string the text was made from that a get compares exactly, not
     * only through the key: one a client chooses could be picked to make
     * the key of another's (CIMI's base URL, from the Host header).  In
     * data, or NULL. */
    const char *tag;
    size_t part[2]; /* the caller's: where its text splits */
    size_t len;
    char data[]; /* len bytes, then a NUL */
} cg_frag;

typedef struct cg_frag_entry cg_frag_entry;

typedef struct cg_frag_store {
    pthread_mutex_t lock;
    cg_frag_entry *table; /* open addressing by instance id, cap a power of two */
    size_t cap, used;     /* used: instances with an entry */
    unsigned long stored, reused;
} cg_frag_store;

#define CG_FRAG_STORE_INIT                                                                         \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0                                                \
    }

/* A text of len bytes (and a NUL after them, no tag, part[] zero) under key, with
 * one reference for the caller, to fill before it is stored.  NULL on OOM. */
cg_frag *cg_frag_new(uint64_t key, size_t len);
cg_frag *cg_frag_ref(cg_frag *f);
/* Give back a reference; the last one frees.  Accepts NULL. */
void cg_frag_unref(cg_frag *f);
/* The unref of a response piece (gateway/request.h) whose owner is a
 * reference to a cg_frag. */
void cg_frag_piece_unref(const void *data, size_t len, void *owner);

/* A reference to id's text in slot when it was stored under key and tag
 * (NULL: none; counted as reused), or NULL. */
cg_frag *cg_frag_store_get(cg_frag_store *s, const char *id, unsigned slot, uint64_t key,
                           const char *tag);
/* Store f as id's text in slot (the store takes a reference of its own;
 * the caller keeps its own), replacing the text there.  Counted as stored
 * even when there is no memory to keep it. */
void cg_frag_store_put(cg_frag_store *s, const char *id, unsigned slot, cg_frag *f);
/* Drop the texts of instances not in live, once they are a good share of
 * the store (so that a listing pays for this rarely). */
void cg_frag_store_prune(cg_frag_store *s, const cg_instance_list *live);
/* Texts stored and reused so far, and how many instances have an entry. */
void cg_frag_store_stats(cg_frag_store *s, unsigned long *stored, unsigned long *reused,
                         size_t *cached);
/* Drop every text (tests; the counters stay). */
void cg_frag_store_clear(cg_frag_store *s);

#endif
