/* cloudgate: GET /cimi/machines from per-machine fragments.
 *
 * Each machine's text, as it appears inside the rendered collection, is cut
 * out of a one-machine collection written by the ordinary renderers
 * (cimi_render.c), kept per instance and format under the instance's
 * fingerprint (drivers/driver.h), the base URL and the configuration it was
 * written with, and reused while those stay the same.  A GET with no query
 * option is the head and tail of a one-machine collection with the right
 * count, written per request, around the machines' fragments: the bytes the
 * renderers give for the whole collection, as pieces that refer to the
 * fragments (no copy of them).
 *
 * The cut relies only on the renderers' fixed two-space indentation: json-c
 * writes a pretty array's items at the array's indentation + 2, separated
 * by ",\n"; the XML writer puts each entry's element on lines of its own,
 * nothing between them.  Anything else: the ordinary path answers.
 */
#include "cimi_internal.h"

#include <pthread.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FMT_JSON, FMT_XML, FMT_N };

/* What goes before an item that is not the first. */
static const char *const item_sep[FMT_N] = {",\n", ""};

/* An immutable rendered machine: the separator, then its text, then the
 * base URL it was written with. */
typedef struct cimi_frag {
    int refs; /* atomic */
    uint64_t fingerprint;
    const cg_config *cfg;
    const char *base; /* in data */
    size_t sep_len, text_len;
    char data[];
} cimi_frag;

/* One instance's fragments, in a tree by id (tsearch: id comes first). */
typedef struct frag_entry {
    char id[sizeof(((cg_instance *)0)->id)];
    cimi_frag *frag[FMT_N];
} frag_entry;

static pthread_mutex_t frag_lock = PTHREAD_MUTEX_INITIALIZER;
static void *frag_tree;
static size_t frag_used;
static unsigned long frag_rendered, frag_reused;

/* Take (delta 1) or give back (-1) a reference to f (NULL: none); the
 * last one frees it.  f, or NULL once freed. */
static cimi_frag *frag_refs(cimi_frag *f, int delta)
{
    if (f && __atomic_add_fetch(&f->refs, delta, __ATOMIC_ACQ_REL) == 0) {
        free(f);
        return NULL;
    }
    return f;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void entry_free(void *p)
{
    frag_entry *e = p;

    for (int i = 0; i < FMT_N; i++)
        frag_refs(e->frag[i], -1);
    free(e);
}

/* ---- rendering ---------------------------------------------------------- */

/* The collection holding inst alone, as the GET's reply writes it with
 * count entries, in format fmt.  NULL on OOM. */
static char *render_one(const char *base, const cg_config *cfg, const cimi_collection *coll,
                        const cg_instance *inst, size_t count, int fmt, size_t *len)
{
    cimi_obj *machine = cimi_build_machine(base, cfg, inst, CIMI_MACHINE_OPS_SERVED), *o;
    char id[700], ctype[96], *doc;

    snprintf(id, sizeof(id), "%s%s", base, coll->path);
    snprintf(ctype, sizeof(ctype), "%sCollection", coll->type);
    o = cimi_collection_object(id, ctype, (long long)count, coll->entries, coll->type, &machine, 1,
                               coll->create != NULL, coll->imports);
    doc = !o ? NULL : fmt == FMT_XML ? cimi_render_xml(o, len) : cimi_render_json(o, len);
    cimi_obj_free(o);
    return doc;
}

static const char *find(const char *hay, const char *end, const char *needle)
{
    return memmem(hay, (size_t)(end - hay), needle, strlen(needle));
}

/* Where the one machine of a one-machine collection is: [*from, *to) of
 * doc.  0, or -1 when the document is not shaped as expected. */
static int cut_item(const char *doc, size_t len, int fmt, size_t *from, size_t *to)
{
    static const char *const open[FMT_N] = {"\n  \"machines\": [\n", "\n  <Machine>\n"};
    /* The item's last line, then what follows it. */
    static const char *const close[FMT_N] = {"\n    }\n  ]", "\n  </Machine>\n"};
    static const size_t close_keep[FMT_N] = {6, 14};
    const char *end = doc + len, *start, *stop;

    if (!(start = find(doc, end, open[fmt])) || !(stop = find(start, end, close[fmt])))
        return -1;
    *from = (size_t)(start - doc) + (fmt == FMT_JSON ? strlen(open[fmt]) : 1);
    *to = (size_t)(stop - doc) + close_keep[fmt];
    return 0;
}

/* inst's fragment in format fmt.  NULL on OOM or an unexpected cut. */
static cimi_frag *frag_render(const char *base, const cg_config *cfg, const cimi_collection *coll,
                              const cg_instance *inst, int fmt, uint64_t fingerprint)
{
    size_t len = 0, from, to, sep = strlen(item_sep[fmt]), base_len = strlen(base);
    char *doc = render_one(base, cfg, coll, inst, 1, fmt, &len);
    cimi_frag *f = NULL;

    if (!doc || cut_item(doc, len, fmt, &from, &to) < 0 ||
        !(f = malloc(sizeof(*f) + sep + (to - from) + base_len + 1)))
        goto cleanup;
    *f = (cimi_frag){
        .refs = 1, .fingerprint = fingerprint, .cfg = cfg, .sep_len = sep, .text_len = to - from};
    memcpy(f->data, item_sep[fmt], sep);
    memcpy(f->data + sep, doc + from, to - from);
    memcpy(f->data + sep + f->text_len, base, base_len + 1);
    f->base = f->data + sep + f->text_len;

cleanup:
    free(doc);
    return f;
}

/* ---- the table ---------------------------------------------------------- */

static int frag_fits(const cimi_frag *f, uint64_t fingerprint, const char *base,
                     const cg_config *cfg)
{
    return f && f->fingerprint == fingerprint && f->cfg == cfg && strcmp(f->base, base) == 0;
}

/* Store f (its reference passes to the table) for id.  Lock held. */
static void table_put(const char *id, int fmt, cimi_frag *f)
{
    frag_entry *e = calloc(1, sizeof(*e)), **at = NULL;

    if (e)
        snprintf(e->id, sizeof(e->id), "%s", id);
    if (!e || !(at = tsearch(e, &frag_tree, id_cmp))) {
        free(e);
        frag_refs(f, -1);
        return;
    }
    if (*at != e)
        free(e); /* id has an entry already */
    else
        frag_used++;
    frag_refs((*at)->frag[fmt], -1);
    (*at)->frag[fmt] = f;
}

/* Keep only the entries of the instances in all, once the others are a
 * good share of the table (a listing pays for this rarely).  Lock held. */
static void table_prune(const cg_instance_list *all)
{
    void *kept = NULL;
    frag_entry **at, *e;
    size_t used = 0;

    if (frag_used <= all->n + 64 + all->n / 4)
        return;
    for (size_t i = 0; i < all->n; i++) {
        if (!(at = tfind(all->v[i].id, &frag_tree, id_cmp)))
            continue;
        e = *at;
        tdelete(e, &frag_tree, id_cmp);
        if (tsearch(e, &kept, id_cmp))
            used++;
        else
            entry_free(e);
    }
    tdestroy(frag_tree, entry_free);
    frag_tree = kept;
    frag_used = used;
}

/* A reference to the fragment of each v[i] in format fmt, into frags[i]
 * (NULL where it could not be made).  Rendering happens outside the lock. */
static void frags_get(cimi_call *c, const cimi_collection *coll, const cg_instance *const *v,
                      size_t n, int fmt, cimi_frag **frags, uint64_t *fingerprints)
{
    const cg_config *cfg = c->ctx->cfg;
    frag_entry **at;
    size_t i;

    for (i = 0; i < n; i++)
        fingerprints[i] = cg_instance_fingerprint(v[i]);
    pthread_mutex_lock(&frag_lock);
    for (i = 0; i < n; i++) {
        at = tfind(v[i]->id, &frag_tree, id_cmp);
        if (at && frag_fits((*at)->frag[fmt], fingerprints[i], c->base, cfg)) {
            frags[i] = frag_refs((*at)->frag[fmt], 1);
            frag_reused++;
        }
    }
    pthread_mutex_unlock(&frag_lock);
    for (i = 0; i < n; i++) {
        if (frags[i] || !(frags[i] = frag_render(c->base, cfg, coll, v[i], fmt, fingerprints[i])))
            continue;
        pthread_mutex_lock(&frag_lock);
        frag_rendered++;
        table_put(v[i]->id, fmt, frag_refs(frags[i], 1));
        pthread_mutex_unlock(&frag_lock);
    }
}

/* ---- the reply ---------------------------------------------------------- */

/* A piece of a fragment holds a reference to it. */
static void piece_frag_unref(const void *data, size_t len, void *owner)
{
    (void)data, (void)len;
    frag_refs(owner, -1);
}

/* The head and tail of the collection of n machines (v[0] the first, whose
 * fragment is first), as pieces the caller owns.  0, or -1 (OOM, or a cut
 * that does not give back first's text). */
static int head_and_tail(cimi_call *c, const cimi_collection *coll, const cg_instance *v0, size_t n,
                         int fmt, const cimi_frag *first, gw_piece *head, gw_piece *tail)
{
    size_t len = 0, from, to;
    char *doc = render_one(c->base, c->ctx->cfg, coll, v0, n, fmt, &len), *rest = NULL;
    int ret = -1;

    if (!doc || cut_item(doc, len, fmt, &from, &to) < 0 || to - from != first->text_len ||
        memcmp(doc + from, first->data + first->sep_len, first->text_len) != 0 ||
        !(rest = malloc(len - to + 1)))
        goto cleanup;
    /* Each piece owns its memory: the head may be sent, and freed, first. */
    memcpy(rest, doc + to, len - to);
    *head = (gw_piece){doc, from, gw_piece_free, doc};
    *tail = (gw_piece){rest, len - to, gw_piece_free, rest};
    doc = NULL;
    ret = 0;

cleanup:
    free(doc);
    return ret;
}

static int has_query_options(const cimi_call *c)
{
    static const char *const options[] = {"$filter", "$orderby", "$first",
                                          "$last",   "$select",  "$expand"};

    for (size_t i = 0; i < c->query.n; i++) {
        for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
            if (strcmp(c->query.v[i].name, options[k]) == 0)
                return 1;
        }
    }
    return 0;
}

int cimi_machines_from_fragments(cimi_call *c, const cimi_collection *coll)
{
    int fmt = c->xml ? FMT_XML : FMT_JSON, ret = 1;
    const cg_listing *l = NULL;
    const cg_instance **shown = NULL;
    cimi_frag **frags = NULL;
    uint64_t *fingerprints = NULL;
    gw_piece *pcs = NULL;
    size_t n = 0, i;

    if (has_query_options(c))
        return 1;
    if (!(l = cimi_machines_listing(c))) {
        ret = 0; /* reported */
        goto cleanup;
    }
    if (!(shown = calloc(l->list.n + 1, sizeof(*shown))))
        goto cleanup;
    for (i = 0; i < l->list.n; i++) {
        if (cimi_machine_shown(&l->list.v[i]))
            shown[n++] = &l->list.v[i];
    }
    if (n == 0 || !(frags = calloc(n, sizeof(*frags))) ||
        !(fingerprints = calloc(n, sizeof(*fingerprints))) || !(pcs = calloc(n + 2, sizeof(*pcs))))
        goto cleanup;
    frags_get(c, coll, shown, n, fmt, frags, fingerprints);
    pthread_mutex_lock(&frag_lock);
    table_prune(&l->list);
    pthread_mutex_unlock(&frag_lock);
    for (i = 0; i < n; i++) {
        if (!frags[i])
            goto cleanup;
    }
    if (head_and_tail(c, coll, shown[0], n, fmt, frags[0], &pcs[0], &pcs[n + 1]) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        size_t skip = i ? 0 : frags[i]->sep_len;

        pcs[i + 1] =
            (gw_piece){frags[i]->data + skip, frags[i]->sep_len + frags[i]->text_len - skip,
                       piece_frag_unref, frags[i]};
        frags[i] = NULL; /* the piece holds that reference now */
    }
    gw_response_set_pieces(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, pcs, n + 2);
    pcs = NULL;
    ret = 0;

cleanup:
    if (pcs)
        gw_pieces_release(pcs, n + 2);
    for (i = 0; frags && i < n; i++)
        frag_refs(frags[i], -1);
    free(fingerprints);
    free(frags);
    free(shown);
    cimi_machines_listing_put(l);
    return ret;
}

void cimi_fragments_stats(unsigned long *rendered, unsigned long *reused, size_t *cached)
{
    pthread_mutex_lock(&frag_lock);
    *rendered = frag_rendered;
    *reused = frag_reused;
    *cached = frag_used;
    pthread_mutex_unlock(&frag_lock);
}
