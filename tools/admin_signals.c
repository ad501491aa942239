/* cloudgate-admin: SIGINT/SIGTERM caught for commands that run jobs (see
 * admin_signals.h). */
#include "tools/admin_signals.h"

#include <pthread.h>
#include <string.h>

volatile sig_atomic_t cg_admin_got_signal;

static void on_signal(int signo)
{
    cg_admin_got_signal = signo;
}

/* A handler rather than the default action: the jobs must be cancelled and
 * rolled back before we exit.  SA_RESTART, since any thread may take it. */
void cg_admin_catch_signals(int on)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

cg_jobs *cg_admin_jobs_open(const cg_config *cfg, unsigned threads, cg_error *err)
{
    sigset_t block, old;
    cg_jobs *jobs;

    cg_admin_got_signal = 0;
    cg_admin_catch_signals(1);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    jobs = cg_jobs_open(cfg, threads, err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return jobs;
}
