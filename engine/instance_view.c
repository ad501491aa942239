/* cloudgate engine: one listing of the instances, shared while nothing
 * changes (see instance_view.h). */
#include "instance_view.h"

#include <stdlib.h>

static void listing_free(cg_listing *l)
{
    if (!l)
        return;
    cg_listing_memo_clear(l);
    cg_instance_list_release(&l->list);
    cg_volume_list_release(&l->volumes);
    free(l);
}

/* A new listing of drv, decorated, with one reference, or NULL (err set). */
static cg_listing *make(cg_instance_view *v, const cg_driver *d, cg_drv *drv, uint64_t version,
                        cg_error *err)
{
    cg_listing *l = calloc(1, sizeof(*l));

    if (!l) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    l->drv = drv;
    l->version = version;
    l->refs = 1;
    if (CG_DRV_CALL(d, drv, instance_list, err, &l->list) < 0 ||
        (d->volume_list && CG_DRV_CALL(d, drv, volume_list, err, &l->volumes) < 0) ||
        (v->decorate && v->decorate(&l->list, err) < 0)) {
        listing_free(l);
        return NULL;
    }
    return l;
}

/* 1 when l lists drv as it was at version or later. */
static int fresh(const cg_listing *l, const cg_drv *drv, uint64_t version)
{
    return l && l->drv == drv && l->version >= version;
}

const cg_listing *cg_instance_view_get(cg_instance_view *v, const cg_driver *d, cg_drv *drv,
                                       cg_error *err)
{
    cg_listing *l, *old = NULL;
    uint64_t version;
    int mine = 0;

    if (!d->instances_version) {
        l = make(v, d, drv, 0, err);
        pthread_mutex_lock(&v->lock);
        v->lists += l != NULL;
        pthread_mutex_unlock(&v->lock);
        return l;
    }
    /* Read before listing: what the listing shows is at least this new. */
    version = d->instances_version(drv);
    pthread_mutex_lock(&v->lock);
    for (;;) {
        if (fresh(v->last, drv, version)) {
            l = v->last;
            l->refs++;
            v->shared++;
            pthread_mutex_unlock(&v->lock);
            return l;
        }
        /* One being made for this version or a later one will do. */
        if (v->making_drv != drv || v->making_version < version)
            break;
        pthread_cond_wait(&v->made, &v->lock);
    }
    if (!v->making_drv) {
        v->making_drv = drv;
        v->making_version = version;
        mine = 1;
    }
    pthread_mutex_unlock(&v->lock);

    l = make(v, d, drv, version, err);

    pthread_mutex_lock(&v->lock);
    if (mine) {
        v->making_drv = NULL;
        pthread_cond_broadcast(&v->made); /* waiters look again, or make their own */
    }
    if (l) {
        v->lists++;
        if (!v->last || v->last->drv != drv || v->last->version < version) {
            if (v->last && --v->last->refs == 0)
                old = v->last;
            v->last = l;
            l->refs++;
        }
    }
    pthread_mutex_unlock(&v->lock);
    listing_free(old); /* outside the lock: 1,000 instances take a while */
    return l;
}

void cg_instance_view_put(cg_instance_view *v, const cg_listing *cl)
{
    cg_listing *l = (cg_listing *)cl;
    int last;

    if (!l)
        return;
    pthread_mutex_lock(&v->lock);
    last = --l->refs == 0;
    pthread_mutex_unlock(&v->lock);
    if (last)
        listing_free(l);
}

void cg_instance_view_clear(cg_instance_view *v)
{
    cg_listing *l;

    pthread_mutex_lock(&v->lock);
    l = v->last;
    v->last = NULL;
    pthread_mutex_unlock(&v->lock);
    cg_instance_view_put(v, l);
}

void cg_instance_view_stats(cg_instance_view *v, unsigned long *lists, unsigned long *shared)
{
    pthread_mutex_lock(&v->lock);
    *lists = v->lists;
    *shared = v->shared;
    pthread_mutex_unlock(&v->lock);
}

/* The memo is the one field of a shared listing that changes: readers
 * that hold it const set it once, so a compare-and-swap is all it needs. */
cg_listing_memo *cg_listing_memo_get(const cg_listing *l)
{
    return __atomic_load_n(&l->memo, __ATOMIC_ACQUIRE);
}

cg_listing_memo *cg_listing_memo_keep(const cg_listing *l, cg_listing_memo *m)
{
    cg_listing_memo *none = NULL;

    if (__atomic_compare_exchange_n(&((cg_listing *)l)->memo, &none, m, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return m;
    m->release(m);
    return none; /* what the other reader kept */
}

void cg_listing_memo_clear(cg_listing *l)
{
    cg_listing_memo *m = __atomic_exchange_n(&l->memo, NULL, __ATOMIC_ACQ_REL);

    if (m)
        m->release(m);
}
