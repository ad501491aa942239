/* cloudgate engine: rendered texts kept per instance (see fragment_store.h).
 *
 * The table is open addressing with linear probing and no deletion: an
 * instance's entry stays until a prune rebuilds the table with the live
 * instances only, which keeps lookups a hash and a few compares.
 */
#include "fragment_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cg_frag_entry {
    char id[sizeof(((cg_instance *)0)->id)]; /* "": a free entry */
    cg_frag *frag[CG_FRAG_SLOTS];
};

cg_frag *cg_frag_new(uint64_t key, size_t len)
{
    cg_frag *f = malloc(sizeof(*f) + len + 1);

    if (!f)
        return NULL;
    *f = (cg_frag){.refs = 1, .key = key, .len = len};
    f->data[len] = '\0';
    return f;
}

cg_frag *cg_frag_ref(cg_frag *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

void cg_frag_unref(cg_frag *f)
{
    if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(f);
}

void cg_frag_piece_unref(const void *data, size_t len, void *owner)
{
    (void)data;
    (void)len;
    cg_frag_unref(owner);
}

/* ---- the table ---------------------------------------------------------- */

static void entry_release(cg_frag_entry *e)
{
    for (int i = 0; i < CG_FRAG_SLOTS; i++)
        cg_frag_unref(e->frag[i]);
}

/* The entry of id, or the free entry where it goes.  Lock held. */
static cg_frag_entry *entry_find(cg_frag_entry *table, size_t cap, const char *id)
{
    size_t i = (size_t)cg_hash_str(0, id) & (cap - 1);

    while (table[i].id[0] && strcmp(table[i].id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

/* Move the entries into a table of cap entries; with keep, only those of
 * the instances keep lists (the others are released).  Lock held.  0, or
 * -1 (OOM: the table is unchanged). */
static int table_rebuild(cg_frag_store *s, size_t cap, const cg_instance_list *keep)
{
    cg_frag_entry *table, *from, *to;
    size_t i, used = 0;

    if (!(table = calloc(cap, sizeof(*table))))
        return -1;
    for (i = 0; i < (keep ? keep->n : s->cap); i++) {
        from = keep ? entry_find(s->table, s->cap, keep->v[i].id) : &s->table[i];
        if (!from->id[0])
            continue;
        to = entry_find(table, cap, from->id);
        if (to->id[0])
            continue; /* listed twice */
        *to = *from;
        used++;
    }
    /* Ids are unique: an entry whose id is not in the new table was not
     * moved, and the old table's references of it go. */
    for (i = 0; i < s->cap; i++) {
        from = &s->table[i];
        if (from->id[0] && !entry_find(table, cap, from->id)->id[0])
            entry_release(from);
    }
    free(s->table);
    s->table = table;
    s->cap = cap;
    s->used = used;
    return 0;
}

/* ---- the store ---------------------------------------------------------- */

static int tag_equal(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

cg_frag *cg_frag_store_get(cg_frag_store *s, const char *id, unsigned slot, uint64_t key,
                           const char *tag)
{
    cg_frag *f = NULL, *have;

    if (slot >= CG_FRAG_SLOTS || !id[0])
        return NULL;
    pthread_mutex_lock(&s->lock);
    if (s->cap) {
        have = entry_find(s->table, s->cap, id)->frag[slot];
        if (have && have->key == key && tag_equal(have->tag, tag)) {
            f = cg_frag_ref(have);
            s->reused++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return f;
}

void cg_frag_store_put(cg_frag_store *s, const char *id, unsigned slot, cg_frag *f)
{
    cg_frag_entry *e;

    pthread_mutex_lock(&s->lock);
    s->stored++;
    /* An id the table could not hold is simply not kept. */
    if (slot >= CG_FRAG_SLOTS || !id[0] || strlen(id) >= sizeof(e->id) ||
        ((s->used + 1) * 2 > s->cap && table_rebuild(s, s->cap ? s->cap * 2 : 64, NULL) < 0))
        goto cleanup;
    e = entry_find(s->table, s->cap, id);
    if (!e->id[0]) {
        snprintf(e->id, sizeof(e->id), "%s", id);
        s->used++;
    }
    cg_frag_unref(e->frag[slot]);
    e->frag[slot] = cg_frag_ref(f);

cleanup:
    pthread_mutex_unlock(&s->lock);
}

void cg_frag_store_prune(cg_frag_store *s, const cg_instance_list *live)
{
    pthread_mutex_lock(&s->lock);
    if (s->used > live->n + 64 + live->n / 4)
        table_rebuild(s, s->cap, live);
    pthread_mutex_unlock(&s->lock);
}

void cg_frag_store_stats(cg_frag_store *s, unsigned long *stored, unsigned long *reused,
                         size_t *cached)
{
    pthread_mutex_lock(&s->lock);
    *stored = s->stored;
    *reused = s->reused;
    *cached = s->used;
    pthread_mutex_unlock(&s->lock);
}

void cg_frag_store_clear(cg_frag_store *s)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->cap; i++) {
        if (s->table[i].id[0])
            entry_release(&s->table[i]);
    }
    free(s->table);
    s->table = NULL;
    s->cap = s->used = 0;
    pthread_mutex_unlock(&s->lock);
}
