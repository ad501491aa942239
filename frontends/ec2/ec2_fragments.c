/* cloudgate: DescribeInstances from per-instance fragments (see ec2_xml.h).
 *
 * Each instance's reservation head and instancesSet item are cut out of a
 * one-instance DescribeInstances document written by the ordinary writer,
 * kept under a fingerprint of everything that document was written from,
 * and reused while the fingerprint stays the same.  A fingerprint rather
 * than a version bumped by each writer: no writer (libvirt event, tag,
 * group, attribute, volume, pending launch record) can be missed, and the
 * instance record is the key, whether or not its domain exists yet.
 *
 * The cut relies only on the writer's fixed two-space indentation: the
 * assembled response is the same bytes the writer gives for the page.
 */
#include "ec2_xml.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/fragment_store.h"

/* A rendered instance (engine/fragment_store.h) is its reservation head,
 * its item, then the reservation's close, side by side so that one piece
 * covers what the instance's place in its reservation needs (half the
 * pieces of a separate close: fewer buffer chains and iovecs per
 * response).  part[HEAD] and part[ITEM] are the first two's lengths. */
enum { HEAD, ITEM };

static cg_frag_store store = CG_FRAG_STORE_INIT;

static const char set_open[] = "  <reservationSet>\n";
static const char set_close[] = "  </reservationSet>\n";
static const char set_empty[] = "  <reservationSet/>\n";
static const char head_end[] = "      <instancesSet>\n";
static const char group_close[] = "      </instancesSet>\n    </item>\n";
static const char doc_tail[] = "      </instancesSet>\n    </item>\n  </reservationSet>\n"
                               "</DescribeInstancesResponse>\n";

/* ---- fingerprint -------------------------------------------------------- */

static uint64_t mix_num(uint64_t h, long long v)
{
    return cg_hash_bytes(h, &v, sizeof(v));
}

/* The instance record (drivers/driver.h), and what is EC2's own: the
 * volumes attached and the region and account. */
static uint64_t instance_key(const cg_instance *inst, const cg_volume_list *vols,
                             const cg_config *cfg)
{
    uint64_t h = cg_instance_fingerprint(inst);
    size_t i;

    /* blockDeviceMapping: whether volumes are shown, and those attached. */
    h = mix_num(h, vols != NULL);
    for (i = 0; vols && i < vols->n; i++) {
        if (strcmp(vols->v[i].attached_to, inst->id) != 0)
            continue;
        h = cg_hash_str(h, vols->v[i].id);
        h = cg_hash_str(h, vols->v[i].device);
        h = mix_num(h, (long long)vols->v[i].created);
        h = mix_num(h, vols->v[i].delete_on_termination);
    }
    h = cg_hash_str(h, cfg->region);
    return cg_hash_str(h, cfg->account_id);
}

/* ---- rendering ---------------------------------------------------------- */

static const char *find_after(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    const char *p = memmem(hay, len, needle, n);

    return p ? p + n : NULL;
}

/* inst's fragment under key, cut from a one-instance document.  NULL on OOM or
 * when the document is not shaped as expected. */
static cg_frag *frag_render(const cg_instance *inst, const cg_volume_list *vols,
                            const cg_config *cfg, uint64_t key)
{
    const cg_instance *one[1] = {inst};
    const char *head, *item, *end;
    cg_frag *f = NULL;
    size_t len = 0, tail = sizeof(doc_tail) - 1;
    char *doc;

    if (!(doc = ec2_xml_describe_instances_vols("", cfg, one, 1, vols, NULL, &len)))
        return NULL;
    if (!(head = find_after(doc, len, set_open)) ||
        !(item = find_after(head, len - (size_t)(head - doc), head_end)) ||
        len - (size_t)(item - doc) < tail || memcmp(doc + len - tail, doc_tail, tail) != 0)
        goto cleanup;
    end = doc + len - tail;
    if (!(f = cg_frag_new(key, (size_t)(end - head) + sizeof(group_close) - 1)))
        goto cleanup;
    f->part[HEAD] = (size_t)(item - head);
    f->part[ITEM] = (size_t)(end - item);
    memcpy(f->data, head, (size_t)(end - head));
    memcpy(f->data + (end - head), group_close, sizeof(group_close) - 1);

cleanup:
    free(doc);
    return f;
}

/* One reference to the fragment of each instance whose entry in out is
 * NULL (left NULL where it could not be made).  Rendering happens outside
 * the store's lock. */
static void frags_get(const cg_instance *const *v, size_t n, const cg_volume_list *vols,
                      const cg_config *cfg, cg_frag **out)
{
    uint64_t key;

    for (size_t i = 0; i < n; i++) {
        if (out[i])
            continue;
        key = instance_key(v[i], vols, cfg);
        if (!(out[i] = cg_frag_store_get(&store, v[i]->id, 0, key, NULL)) &&
            (out[i] = frag_render(v[i], vols, cfg, key)))
            cg_frag_store_put(&store, v[i]->id, 0, out[i]);
    }
}

/* ---- kept with a listing ------------------------------------------------ */

/* Each instance's fragment by its index in one listing, found once for
 * all the requests that share the listing (engine/instance_view.h): they
 * skip the fingerprints and the table, which were most of the gateway's
 * own time for a DescribeInstances of 1,000 instances. */
typedef struct frag_memo {
    cg_listing_memo base;
    const cg_config *cfg; /* what the fragments were written with */
    size_t n;
    cg_frag *frags[]; /* one reference each; NULL: could not be made */
} frag_memo;

static unsigned long memo_hits; /* atomic */

static void memo_release(cg_listing_memo *base)
{
    frag_memo *m = (frag_memo *)base;

    for (size_t i = 0; i < m->n; i++)
        cg_frag_unref(m->frags[i]);
    free(m);
}

/* Whether v is the whole of l: each of its instances, in its order (the
 * driver lists by id, the order DescribeInstances sorts in). */
static int whole_listing(const cg_listing *l, const cg_instance *const *v, size_t n)
{
    if (n != l->list.n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] != &l->list.v[i])
            return 0;
    }
    return 1;
}

/* l's memo, made now if it has none and v is the whole listing: a
 * filtered request looks up its own few instances, not all of l's for a
 * memo the next requests may not use.  NULL when there is none, on OOM,
 * or when it was made with another configuration (the caller looks each
 * fragment up). */
static frag_memo *memo_of(const cg_listing *l, const cg_config *cfg, const cg_instance *const *v,
                          size_t n)
{
    frag_memo *m = (frag_memo *)cg_listing_memo_get(l);

    if (m)
        return m->cfg == cfg ? m : NULL;
    if (!whole_listing(l, v, n) || !(m = calloc(1, sizeof(*m) + n * sizeof(m->frags[0]))))
        return NULL;
    m->base.release = memo_release;
    m->cfg = cfg;
    m->n = n;
    frags_get(v, n, &l->volumes, cfg, m->frags);
    m = (frag_memo *)cg_listing_memo_keep(l, &m->base);
    return m->cfg == cfg ? m : NULL;
}

/* A reference to the kept fragment of each v[i] that is an entry of l
 * and has one, into frags[i]. */
static void frags_from_memo(const frag_memo *m, const cg_listing *l, const cg_instance *const *v,
                            size_t n, cg_frag **frags)
{
    uintptr_t first = (uintptr_t)l->list.v, at;
    unsigned long hits = 0;
    size_t i, idx;

    for (i = 0; i < n; i++) {
        at = (uintptr_t)v[i];
        if (at < first || (at - first) % sizeof(cg_instance) != 0)
            continue;
        idx = (at - first) / sizeof(cg_instance);
        if (idx < m->n && m->frags[idx]) {
            frags[i] = cg_frag_ref(m->frags[idx]);
            hits++;
        }
    }
    __atomic_add_fetch(&memo_hits, hits, __ATOMIC_RELAXED);
}

/* A malloc'd copy of s[0..len) as a piece.  0 or -1. */
static int piece_copy(gw_piece *pc, const char *s, size_t len)
{
    char *copy = malloc(len ? len : 1);

    if (!copy)
        return -1;
    memcpy(copy, s, len);
    *pc = (gw_piece){copy, len, gw_piece_free, copy};
    return 0;
}

static gw_piece piece_static(const char *s, size_t len)
{
    return (gw_piece){s, len, NULL, NULL};
}

/* The envelope (a document with no reservations) split around its empty
 * reservationSet, as pieces: the instances go between them.  The caller
 * owns both pieces.  0 or -1. */
static int envelope(const char *request_id, const cg_config *cfg, const char *next_token, size_t n,
                    gw_piece *before, gw_piece *after)
{
    size_t env_len = 0, pre;
    const char *mark;
    char *env;
    int ret = -1;

    if (!(env = ec2_xml_describe_instances_vols(request_id, cfg, NULL, 0, NULL, next_token,
                                                &env_len)))
        return -1;
    if (n == 0) { /* the envelope is the whole answer */
        *before = (gw_piece){env, env_len, gw_piece_free, env};
        *after = piece_static("", 0);
        return 0;
    }
    if (!(mark = memmem(env, env_len, set_empty, sizeof(set_empty) - 1)))
        goto cleanup;
    pre = (size_t)(mark - env);
    if (piece_copy(before, env, pre) < 0)
        goto cleanup;
    pre += sizeof(set_empty) - 1;
    if (piece_copy(after, env + pre, env_len - pre) < 0) {
        free(before->owner);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(env);
    return ret;
}

/* The response for v (entries of listing, when not NULL). */
static gw_piece *describe(const char *request_id, const cg_config *cfg, const cg_instance *const *v,
                          size_t n, const cg_volume_list *vols, const cg_listing *listing,
                          const char *next_token, size_t *n_out)
{
    const frag_memo *memo;
    const cg_instance **order = NULL;
    unsigned char *starts = NULL;
    cg_frag **frags = NULL, *f;
    gw_piece *pcs = NULL, *out = NULL, tail = {0};
    size_t np = 0, i, from, len;

    *n_out = 0;
    /* envelope head, set open, one per instance, set close, envelope tail */
    if (!(pcs = calloc(n + 4, sizeof(*pcs))) ||
        envelope(request_id, cfg, next_token, n, &pcs[0], &tail) < 0)
        goto cleanup;
    np = 1;
    if (n == 0) { /* the envelope alone; tail is empty */
        out = pcs;
        goto cleanup;
    }
    pcs[np++] = piece_static(set_open, sizeof(set_open) - 1);
    if (!(order = calloc(n, sizeof(*order))) || !(starts = calloc(n, 1)) ||
        !(frags = calloc(n, sizeof(*frags))) || ec2_xml_reservation_order(v, n, order, starts) < 0)
        goto cleanup;
    if (listing && (memo = memo_of(listing, cfg, v, n)))
        frags_from_memo(memo, listing, order, n, frags);
    frags_get(order, n, vols, cfg, frags);
    for (i = 0; i < n; i++) {
        if (!(f = frags[i]))
            goto cleanup;
        /* The item, with the head when a reservation starts here and
         * the close when it ends here: one piece of the fragment. */
        from = starts[i] ? 0 : f->part[HEAD];
        len = f->part[HEAD] + f->part[ITEM] - from;
        if (i + 1 == n || starts[i + 1])
            len += sizeof(group_close) - 1;
        pcs[np++] = (gw_piece){f->data + from, len, cg_frag_piece_unref, f};
        frags[i] = NULL; /* the piece holds that reference now */
    }
    pcs[np++] = piece_static(set_close, sizeof(set_close) - 1);
    pcs[np++] = tail;
    tail = (gw_piece){0};
    out = pcs;

cleanup:
    if (tail.unref)
        tail.unref(tail.data, tail.len, tail.owner);
    if (!out)
        gw_pieces_release(pcs, np);
    for (i = 0; frags && i < n; i++)
        cg_frag_unref(frags[i]);
    free(frags);
    free(starts);
    free(order);
    if (out)
        *n_out = np;
    return out;
}

gw_piece *ec2_fragments_describe_pieces(const char *request_id, const cg_config *cfg,
                                        const cg_instance *const *v, size_t n,
                                        const cg_volume_list *vols, const char *next_token,
                                        size_t *n_out)
{
    return describe(request_id, cfg, v, n, vols, NULL, next_token, n_out);
}

gw_piece *ec2_fragments_describe_listed(const char *request_id, const cg_config *cfg,
                                        const cg_listing *listing, const cg_instance *const *v,
                                        size_t n, const char *next_token, size_t *n_out)
{
    return describe(request_id, cfg, v, n, &listing->volumes, listing, next_token, n_out);
}

void ec2_fragments_prune(const cg_instance_list *all)
{
    cg_frag_store_prune(&store, all);
}

void ec2_fragments_stats(unsigned long *rendered, unsigned long *reused, size_t *cached)
{
    cg_frag_store_stats(&store, rendered, reused, cached);
}

unsigned long ec2_fragments_memo_hits(void)
{
    return __atomic_load_n(&memo_hits, __ATOMIC_RELAXED);
}
