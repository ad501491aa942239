/* cloudgate engine: one state change applied to several instances.
 *
 * EC2's Start/Stop/Reboot/TerminateInstances name many ids, and each change
 * is one driver call that may wait on libvirt for long: destroying a busy
 * guest takes seconds (30 s each with 60 TCG guests on 2 cores), a graceful
 * stop up to stop_timeout.  They run CG_INSTANCE_OPS_PARALLEL at a time, so
 * a request waits for about its slowest instance rather than for the sum.
 * Protocol-free: the frontend only formats what comes back.
 */
#ifndef CG_ENGINE_INSTANCE_OPS_H
#define CG_ENGINE_INSTANCE_OPS_H

#include <stddef.h>

#include "../drivers/driver.h"

/* Driver calls in flight at once for one request (the calling thread is one
 * of them).  libvirt serves 5 calls of one connection at a time by default
 * (max_client_requests); a stop spends most of its time waiting, not
 * calling. */
#define CG_INSTANCE_OPS_PARALLEL 8

typedef enum { CG_IOP_START, CG_IOP_STOP, CG_IOP_REBOOT, CG_IOP_TERMINATE } cg_iop;

typedef struct cg_instance_ops {
    cg_iop op;
    int force;              /* stop: power off now */
    cg_display once;        /* start: run once with this display (DEFAULT: a plain start) */
    const char *const *ids; /* distinct */
    size_t n;
} cg_instance_ops;

/* Apply ops to every id; chg[i] is what the driver says of ids[i] (callers
 * set defaults first; a reboot leaves it alone).  Every id is tried, in
 * parallel.  0 when all succeeded; else -1 with *failed the first index in
 * ids' order that failed and err its error. */
int cg_instance_ops_apply(const cg_driver *d, cg_drv *drv, const cg_instance_ops *ops,
                          cg_state_change *chg, size_t *failed, cg_error *err);

#endif
