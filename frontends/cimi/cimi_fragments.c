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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/fragment_store.h"

/* The formats, each an instance's slot in the store. */
enum { FMT_JSON, FMT_XML, FMT_N };
_Static_assert(FMT_N <= CG_FRAG_SLOTS, "a slot per format");

/* What goes before an item that is not the first. */
static const char *const item_sep[FMT_N] = {",\n", ""};

/* A rendered machine (engine/fragment_store.h) is the separator, then its
 * text, then the base URL it was written with (the fragment's tag: a
 * client chooses it by its Host header, so it is compared whole, not
 * trusted to the key).  part[SEP] and part[TEXT] are the first two's
 * lengths. */
enum { SEP, TEXT };

static cg_frag_store store = CG_FRAG_STORE_INIT;

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

/* inst's fragment in format fmt under key.  NULL on OOM or an unexpected
 * cut. */
static cg_frag *frag_render(const char *base, const cg_config *cfg, const cimi_collection *coll,
                            const cg_instance *inst, int fmt, uint64_t key)
{
    size_t len = 0, from, to, sep = strlen(item_sep[fmt]), base_len = strlen(base);
    char *doc = render_one(base, cfg, coll, inst, 1, fmt, &len);
    cg_frag *f = NULL;

    if (!doc || cut_item(doc, len, fmt, &from, &to) < 0 ||
        !(f = cg_frag_new(key, sep + (to - from) + base_len)))
        goto cleanup;
    f->part[SEP] = sep;
    f->part[TEXT] = to - from;
    memcpy(f->data, item_sep[fmt], sep);
    memcpy(f->data + sep, doc + from, to - from);
    memcpy(f->data + sep + f->part[TEXT], base, base_len + 1);
    f->tag = f->data + sep + f->part[TEXT];

cleanup:
    free(doc);
    return f;
}

/* ---- the store --------------------------------------------------------- */

/* What a machine's text is written from besides its base URL (the tag):
 * the instance and the configuration. */
static uint64_t machine_key(const cg_instance *inst, const cg_config *cfg)
{
    uint64_t h = cg_instance_fingerprint(inst);

    return cg_hash_bytes(h, &cfg, sizeof(cfg));
}

/* A reference to the fragment of each v[i] in format fmt, into out[i]
 * (NULL where it could not be made).  Rendering happens outside the
 * store's lock. */
static void frags_get(cimi_call *c, const cimi_collection *coll, const cg_instance *const *v,
                      size_t n, int fmt, cg_frag **out)
{
    const cg_config *cfg = c->ctx->cfg;
    uint64_t key;

    for (size_t i = 0; i < n; i++) {
        key = machine_key(v[i], cfg);
        if (!(out[i] = cg_frag_store_get(&store, v[i]->id, (unsigned)fmt, key, c->base)) &&
            (out[i] = frag_render(c->base, cfg, coll, v[i], fmt, key)))
            cg_frag_store_put(&store, v[i]->id, (unsigned)fmt, out[i]);
    }
}

/* ---- the reply ---------------------------------------------------------- */

/* The head and tail of the collection of n machines (v[0] the first, whose
 * fragment is first), as pieces the caller owns.  0, or -1 (OOM, or a cut
 * that does not give back first's text). */
static int head_and_tail(cimi_call *c, const cimi_collection *coll, const cg_instance *v0, size_t n,
                         int fmt, const cg_frag *first, gw_piece *head, gw_piece *tail)
{
    size_t len = 0, from, to;
    char *doc = render_one(c->base, c->ctx->cfg, coll, v0, n, fmt, &len), *rest = NULL;
    int ret = -1;

    if (!doc || cut_item(doc, len, fmt, &from, &to) < 0 || to - from != first->part[TEXT] ||
        memcmp(doc + from, first->data + first->part[SEP], first->part[TEXT]) != 0 ||
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
    cg_frag **frags = NULL;
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
    if (n == 0 || !(frags = calloc(n, sizeof(*frags))) || !(pcs = calloc(n + 2, sizeof(*pcs))))
        goto cleanup;
    frags_get(c, coll, shown, n, fmt, frags);
    cg_frag_store_prune(&store, &l->list);
    for (i = 0; i < n; i++) {
        if (!frags[i])
            goto cleanup;
    }
    if (head_and_tail(c, coll, shown[0], n, fmt, frags[0], &pcs[0], &pcs[n + 1]) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        size_t skip = i ? 0 : frags[i]->part[SEP];

        pcs[i + 1] =
            (gw_piece){frags[i]->data + skip, frags[i]->part[SEP] + frags[i]->part[TEXT] - skip,
                       cg_frag_piece_unref, frags[i]};
        frags[i] = NULL; /* the piece holds that reference now */
    }
    gw_response_set_pieces(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, pcs, n + 2);
    pcs = NULL;
    ret = 0;

cleanup:
    if (pcs)
        gw_pieces_release(pcs, n + 2);
    for (i = 0; frags && i < n; i++)
        cg_frag_unref(frags[i]);
    free(frags);
    free(shown);
    cimi_machines_listing_put(l);
    return ret;
}

void cimi_fragments_stats(unsigned long *rendered, unsigned long *reused, size_t *cached)
{
    cg_frag_store_stats(&store, rendered, reused, cached);
}
