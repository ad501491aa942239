/* cloudgate libvirt driver: asynchronous launches.
 *
 * RunInstances (lv_launch.c) validates, reserves capacity, records each
 * instance (launch intent, cache entry shown as pending) and answers; the
 * volume, seed, define and start of each instance then run as one job on its
 * zone's launch queue (lv_launchq.c): a bounded queue and a few worker
 * threads per zone, so the instances of one call proceed in parallel within
 * that bound.  A launch that fails in a worker is undone and recorded as
 * terminated with a "Server.InternalError: ..." reason.
 */
#ifndef LV_LAUNCH_H
#define LV_LAUNCH_H

#include "lv_driver.h"

/* Worker threads per zone, and launches that may wait in a zone's queue. */
#define LV_LAUNCH_WORKERS 4
#define LV_LAUNCH_QUEUE_MAX 1000

/* What one call's launches share: deep copies of the spec and the image. */
typedef struct lv_launch_batch lv_launch_batch;

/* One launch: what it made so far, so a failure can undo exactly that;
 * queued, it is also the queue's entry. */
typedef struct lv_launched {
    struct lv_launched *next;       /* the queue's */
    lv_launch_batch *batch;         /* a reference, once queued */
    cg_instance inst;
    int intent, cached, volume, log, seed, defined, user_data, disks, nic, groups;
    char net[256];      /* its libvirt network, chosen in the request */
    char filter[64];    /* its security groups' nwfilter, "" none */
    double queued;      /* cg_monotonic() when queued */
    /* Milliseconds of each step of lv_launch_build, for its log line. */
    double ms_wait, ms_disk, ms_volumes, ms_seed, ms_filter, ms_define, ms_start;
} lv_launched;

typedef struct lv_launchq lv_launchq;

/* A copy of spec and img for the jobs of one call (refcount 1), or NULL (OOM). */
lv_launch_batch *lv_launch_batch_new(const cg_launch_spec *spec, const cg_image *img);
void lv_launch_batch_ref(lv_launch_batch *b);
/* Drop one reference; the last frees.  Accepts NULL. */
void lv_launch_batch_unref(lv_launch_batch *b);

/* The queue of zone h with LV_LAUNCH_WORKERS threads started, or NULL
 * (reported). */
lv_launchq *lv_launchq_new(cg_drv *drv, lv_host *h, cg_error *err);
/* Stop: running launches finish, queued ones are failed (undone, recorded
 * terminated).  Accepts NULL. */
void lv_launchq_free(lv_launchq *q);
/* The queue of the zone h, or NULL. */
lv_launchq *lv_launchq_of(cg_drv *drv, lv_host *h);
/* Set aside n places in the queue (atomic); 0, or -1 with CG_ERR_CAPACITY
 * when fewer are free.  lv_launchq_unreserve gives back those not used. */
int lv_launchq_reserve(lv_launchq *q, unsigned n, cg_error *err);
void lv_launchq_unreserve(lv_launchq *q, unsigned n);
/* Queue l (malloc'd; intent written, instance cached and busy): the queue
 * owns it from here and takes one reserved place and a reference to b. */
void lv_launchq_push(lv_launchq *q, lv_launch_batch *b, lv_launched *l);
/* TerminateInstances of an instance still launching: a queued launch is
 * taken off the queue and undone (1: the instance is terminated now); a
 * running one is waited for (0: go on with the usual terminate, the launch
 * has either finished or been undone); 0 too when id is not launching. */
int lv_launch_cancel(cg_drv *drv, const char *id);
/* Wait until instance id is neither queued nor being launched: 1 when it
 * was (another operation on it may go on now), 0 not launching. */
int lv_launch_wait(cg_drv *drv, const char *id);
/* Wait until no zone has a launch queued or running (tests, tools). */
void lv_launch_drain(cg_drv *drv);

/* lv_launch.c, for the workers.  Make the instance's volume, seed and
 * domain and start it: 0, or -1 (reported) with what was made in l. */
int lv_launch_build(cg_drv *drv, lv_host *h, virConnectPtr conn, lv_launch_batch *b,
                    lv_launched *l, cg_error *err);
/* The launch ended well: no longer for a restart to undo, idle. */
void lv_launch_commit(cg_drv *drv, lv_host *h, lv_launch_batch *b, lv_launched *l);
/* Undo what l made (conn may be NULL when nothing in libvirt was) and, with
 * why, record the instance as terminated with that reason. */
void lv_launch_undo(cg_drv *drv, lv_host *h, virConnectPtr conn, lv_launched *l,
                    const char *why);
/* Before a launch starts over on a new connection (the old one was lost
 * midway): remove what its build made, on conn, keeping its reservation,
 * NIC, groups, intent and pending cache entry.  0, or -1 when a piece may
 * stay (logged): then it is undone and fails as usual. */
int lv_launch_clear(cg_drv *drv, virConnectPtr conn, lv_launched *l);

/* The intent data of a launch: what a restart needs to record the instance
 * as terminated when the launch never finished (a <domain> with the
 * instance's metadata, lv_domxml_parse reads it).  malloc'd or NULL. */
char *lv_launch_intent_data(const cg_instance *inst, cg_error *err);

#endif
