/* cloudgate-admin: SIGINT/SIGTERM while a command runs jobs in this
 * process (image-import, v2v-import), which must cancel and roll them back
 * before exiting rather than die at once. */
#ifndef CG_ADMIN_SIGNALS_H
#define CG_ADMIN_SIGNALS_H

#include <signal.h>

/* The signal that asked us to stop (SIGINT/SIGTERM), 0 until then.  The
 * command clears it before cg_admin_catch_signals(1). */
extern volatile sig_atomic_t cg_admin_got_signal;

/* on: SIGINT and SIGTERM set cg_admin_got_signal; off: their default
 * action again. */
void cg_admin_catch_signals(int on);

#endif
