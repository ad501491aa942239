/* cloudgate engine: one listing of the instances, shared while nothing
 * changes.
 *
 * A DescribeInstances used to copy every instance out of the driver (1,000
 * of them: 2.5 MB with their tags, and a dozen SQLite reads for their NICs,
 * groups, options and terminated records) and decorate the copy, once per
 * request, so that at 16 connections malloc and free were a fifth of the
 * gateway's time.  The listing seldom changes between two requests: the
 * driver says when it may have (instances_version, driver.h), and a request
 * takes a reference to the last listing when that is at least as new as
 * what it read.  The volumes come with it: their attachments are part of
 * what DescribeInstances shows.  A request that finds a listing being made
 * for its version waits for it instead of making another.
 *
 *   const cg_listing *l = cg_instance_view_get(&view, driver, drv, &err);
 *   ... read l->list (never change it) ...
 *   cg_instance_view_put(&view, l);
 */
#ifndef CG_ENGINE_INSTANCE_VIEW_H
#define CG_ENGINE_INSTANCE_VIEW_H

#include <pthread.h>
#include <stdint.h>

#include "../drivers/driver.h"

/* What one reader derives from a listing and keeps with it, freed with the
 * listing by release (EC2: each instance's response fragment, so that the
 * requests sharing a listing do not look each one up again).  The reader
 * embeds this as the first member of its own record. */
typedef struct cg_listing_memo {
    void (*release)(struct cg_listing_memo *m);
} cg_listing_memo;

typedef struct cg_listing {
    cg_instance_list list;  /* decorated; read-only once shared */
    cg_volume_list volumes; /* the driver's volume_list (their attachments), if it has one */
    const cg_drv *drv;
    uint64_t version;      /* instances_version read before listing */
    unsigned refs;         /* the view's lock guards it */
    cg_listing_memo *memo; /* set once, atomically (cg_listing_memo_keep) */
} cg_listing;

/* Run once on each new listing before anyone shares it (EC2 adds its
 * pseudo tags).  0, or -1 with err set. */
typedef int (*cg_listing_decorate)(cg_instance_list *list, cg_error *err);

typedef struct cg_instance_view {
    pthread_mutex_t lock;
    pthread_cond_t made; /* a listing was made (or failed) */
    cg_listing_decorate decorate;
    cg_listing *last;         /* the newest listing, one reference */
    const cg_drv *making_drv; /* a listing being made, NULL none */
    uint64_t making_version;
    unsigned long lists, shared; /* listings made, requests served one made before */
} cg_instance_view;

#define CG_INSTANCE_VIEW_INIT(decorate_fn)                                                         \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, (decorate_fn), NULL, NULL, 0, 0, 0    \
    }

/* The instances of drv now: a listing at least as new as the driver's
 * version at the call, with one reference for the caller, or NULL (err
 * set).  A driver without instances_version lists every time. */
const cg_listing *cg_instance_view_get(cg_instance_view *v, const cg_driver *d, cg_drv *drv,
                                       cg_error *err);
/* Give back a reference; the last one frees.  Accepts NULL. */
void cg_instance_view_put(cg_instance_view *v, const cg_listing *l);
/* The memo kept with l, or NULL. */
cg_listing_memo *cg_listing_memo_get(const cg_listing *l);
/* Keep m with l unless another reader kept one first: the memo now kept
 * (m, or the earlier one, m then released). */
cg_listing_memo *cg_listing_memo_keep(const cg_listing *l, cg_listing_memo *m);
/* Release l's memo (a listing not made by a view: tests). */
void cg_listing_memo_clear(cg_listing *l);
/* Drop the kept listing (a driver closing; tests). */
void cg_instance_view_clear(cg_instance_view *v);
void cg_instance_view_stats(cg_instance_view *v, unsigned long *lists, unsigned long *shared);

#endif
