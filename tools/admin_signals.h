/* cloudgate-admin: SIGINT/SIGTERM while a command runs jobs in this
 * process (image-import, v2v-import), which must cancel and roll them back
 * before exiting rather than die at once. */
#ifndef CG_ADMIN_SIGNALS_H
#define CG_ADMIN_SIGNALS_H

#include <signal.h>

#include "engine/jobs.h"

/* The signal that asked us to stop (SIGINT/SIGTERM), 0 until then.  The
 * command clears it before cg_admin_catch_signals(1). */
extern volatile sig_atomic_t cg_admin_got_signal;

/* on: SIGINT and SIGTERM set cg_admin_got_signal; off: their default
 * action again. */
void cg_admin_catch_signals(int on);

/* For a command that runs jobs here: clear cg_admin_got_signal, catch the
 * signals, and open the job store with threads job threads, which start
 * with SIGINT/SIGTERM blocked (they are the main thread's to take).  The
 * store, or NULL (err).  The caller calls cg_admin_catch_signals(0) at the
 * end either way. */
cg_jobs *cg_admin_jobs_open(const cg_config *cfg, unsigned threads, cg_error *err);

#endif
