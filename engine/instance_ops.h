/* cloudgate engine: one state change applied to several instances.
 *
 * EC2's Start/Stop/Reboot/TerminateInstances name many ids, and each change
 * is one driver call that may wait on libvirt for long: destroying a busy
 * guest takes seconds (30 s each with 60 TCG guests on 2 cores), a start as
 * long.  They run CG_INSTANCE_OPS_PARALLEL at a time, so a request waits for
 * about its slowest instance rather than for the sum, and never longer than
 * answer_sec ([libvirt] change_wait, 20 s by default): what is not done by then is answered in its
 * transitional state (shutting-down, pending, stopping), as EC2 answers at once, and finishes
 * behind the answer.  SDKs give up on a read after 60 s and send the request again.  A terminate
 * cut short by a crash after its answer is finished at the next start (its intent: lv_reconcile.c);
 * one whose turn has not come by then is answered as it is (running) and goes later.
 * Protocol-free: the frontend only formats what comes back.
 */
#ifndef CG_ENGINE_INSTANCE_OPS_H
#define CG_ENGINE_INSTANCE_OPS_H

#include <stddef.h>

#include "../drivers/driver.h"

/* Driver calls in flight at once for one request.  libvirt serves 5 calls
 * of one connection at a time by default (max_client_requests); a stop
 * spends most of its time waiting, not calling. */
#define CG_INSTANCE_OPS_PARALLEL 8
typedef enum { CG_IOP_START, CG_IOP_STOP, CG_IOP_REBOOT, CG_IOP_TERMINATE } cg_iop;

typedef struct cg_instance_ops {
    cg_iop op;
    int force;              /* stop: power off now */
    cg_display once;        /* start: run once with this display (DEFAULT: a plain start) */
    const char *const *ids; /* distinct */
    size_t n;
    double answer_sec; /* answer by then whatever is not done; 0: when all are */
} cg_instance_ops;

/* Apply ops to every id; chg[i] is what the driver says of ids[i] (callers
 * set defaults first; a reboot leaves it alone), or for one still running
 * at answer_sec its transitional state (a terminate: once its driver
 * recorded it; one not begun keeps the caller's default).  Every id is tried, in parallel.
 * 0 when none failed by the answer; else -1 with *failed the first index in
 * ids' order that had failed and err its error.  A failure after the answer
 * is logged. */
int cg_instance_ops_apply(const cg_driver *d, cg_drv *drv, const cg_instance_ops *ops,
                          cg_state_change *chg, size_t *failed, cg_error *err);

/* Wait up to timeout_sec for the changes still running after their answer
 * (at shutdown, before the driver closes).  How many are left: when not 0,
 * the driver must stay open. */
unsigned cg_instance_ops_drain(double timeout_sec);

#endif
