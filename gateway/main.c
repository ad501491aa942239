/* cloudgated: the cloudgate daemon.
 *
 * Startup order: config -> log -> credentials -> driver (libvirt) -> event
 * loop, worker pool, HTTP.  SIGTERM/SIGINT stop accepting, let requests in
 * flight finish, then exit.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <getopt.h>
#include <libxml/parser.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../drivers/driver.h"
#include "../frontends/cimi/cimi.h"
#include "auth.h"
#include "config.h"
#include "context.h"
#include "http.h"
#include "imds_http.h"
#include "../engine/jobs.h"
#include "../engine/instance_ops.h"
#include "../engine/machines.h"
#include "../engine/scratch.h"
#include "../engine/tool_run.h"
#include "keypairs.h"
#include "log.h"
#include "workers.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

/* After the drain (shutdown_grace), how long requests already running on a
 * worker may still take before the daemon leaves without freeing anything
 * they could touch. */
#define SHUTDOWN_STUCK_SEC 5.0
/* File descriptors kept beyond max_connections (libvirt, SQLite, logs). */
#define FD_RESERVE 256

typedef struct daemon_state {
    struct event_base *base;
    gw_http *http;
    gw_imds_http *imds;
    gw_pool *pool;
    struct event *drain_ev;
    int drain_ticks;
    double grace_sec;
} daemon_state;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: cloudgated [-c CONFIG] [-d] [-p PIDFILE] [-l ADDR:PORT]\n"
            "  -c, --config FILE    configuration (default: embedded defaults)\n"
            "  -d, --daemon         detach and run in the background\n"
            "  -p, --pidfile FILE   write the daemon's pid here\n"
            "  -t, --check          check the configuration and exit\n"
            "  -L, --log-file FILE  log here instead of log_file/stderr\n"
            "  -V, --version\n");
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    daemon_state *st = arg;

    st->drain_ticks++;
    /* 100 ms ticks; one more tick after the last reply lets it flush. */
    if ((gw_pool_in_flight(st->pool) == 0 && st->drain_ticks > 1) ||
        st->drain_ticks > st->grace_sec * 10) {
        if (gw_pool_in_flight(st->pool))
            cg_warn("shutdown: %u requests still in flight after %.0f s",
                    gw_pool_in_flight(st->pool), st->grace_sec);
        event_base_loopexit(st->base, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_state *st = arg;
    struct timeval tick = {0, 100000};

    if (st->drain_ev)
        return;
    cg_info("signal %d: no longer accepting, finishing %u requests in flight", (int)sig,
            gw_pool_in_flight(st->pool));
    gw_http_stop_accepting(st->http);
    gw_imds_http_stop(st->imds);
    st->drain_ev = event_new(st->base, -1, EV_PERSIST, drain_tick, st);
    if (st->drain_ev)
        event_add(st->drain_ev, &tick);
    else
        event_base_loopexit(st->base, NULL);
}

/* Room for max_connections sockets: past the descriptor limit accept()
 * fails over and over while the listener stays readable. */
static void raise_fd_limit(const cg_config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->max_connections + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
        cg_warn("file descriptor limit %lu is below max_connections + %d: raise it (ulimit -n)",
                (unsigned long)rl.rlim_cur, FD_RESERVE);
}

static int write_pidfile(const char *path)
{
    FILE *fp = fopen(path, "w");

    if (!fp)
        return -1;
    fprintf(fp, "%ld\n", (long)getpid());
    return fclose(fp);
}

static int daemonize(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    setsid();
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"daemon", no_argument, NULL, 'd'},
        {"pidfile", required_argument, NULL, 'p'}, {"check", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},       {"help", no_argument, NULL, 'h'},
        {"log-file", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *pidfile = NULL, *log_file = NULL;
    int detach = 0, check_only = 0, opt, rc = 1, n_swept;
    char errbuf[1024];
    cg_config cfg;
    gw_credentials creds = {0};
    cg_error err = {0};
    cg_drv *drv = NULL;
    cg_keystore *keys = NULL;
    cimi_store *cimi = NULL;
    cg_jobs *jobs = NULL;
    daemon_state st = {0};
    struct event *sigterm = NULL, *sigint = NULL;
    gw_ctx ctx;

    while ((opt = getopt_long(argc, argv, "c:dp:tVhL:", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'd': detach = 1; break;
        case 'p': pidfile = optarg; break;
        case 't': check_only = 1; break;
        case 'L': log_file = optarg; break;
        case 'V': printf("cloudgated %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    if (cg_config_defaults(&cfg) < 0) {
        fprintf(stderr, "cloudgated: out of memory\n");
        return 1;
    }
    if (config_path && cg_config_load(&cfg, config_path, errbuf, sizeof(errbuf)) < 0) {
        fprintf(stderr, "cloudgated: configuration error: %s\n", errbuf);
        goto cleanup;
    }
    if (gw_credentials_load(&creds, cfg.credentials_file, errbuf, sizeof(errbuf)) < 0) {
        fprintf(stderr, "cloudgated: credentials error: %s\n", errbuf);
        goto cleanup;
    }
    if (check_only) {
        printf("configuration OK: %zu zone(s), %zu instance type(s), %zu access key(s)\n",
               cfg.n_zones, cfg.n_types, creds.n);
        rc = 0;
        goto cleanup;
    }
    if (log_file) {
        free(cfg.log_file);
        cfg.log_file = strdup(log_file);
    }
    if (cg_log_init(cfg.log_file, CG_LOG_INFO) < 0) {
        fprintf(stderr, "cloudgated: cannot open log file %s: %s\n", cfg.log_file,
                strerror(errno));
        goto cleanup;
    }
    if (detach && daemonize() < 0) {
        fprintf(stderr, "cloudgated: fork: %s\n", strerror(errno));
        goto cleanup;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(&cfg);
    /* A fixed threshold keeps request bodies and other large buffers in
     * their own mappings, returned to the system when freed (glibc's
     * adaptive threshold would move them onto the heap for good). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* glibc gives each thread that allocates its own arena, up to 8 per
     * core: the 8 workers, job threads and libvirt's threads each keep
     * freed memory of their own (about 10 MiB more at the peak of 16
     * concurrent 1,000-instance listings, 2 MiB more when idle).  As many
     * arenas as cores: no more threads than that allocate at once. */
    mallopt(M_ARENA_MAX,
            (int)(sysconf(_SC_NPROCESSORS_ONLN) > 2 ? sysconf(_SC_NPROCESSORS_ONLN) : 2));
    /* libxml2 must initialise once, before worker threads parse or write. */
    xmlInitParser();
    /* Before any thread: libguestfs (inspection, sealing, virt-v2v) on TCG
     * when the zones run qemu, and temporary files where a restart after a
     * SIGKILL finds them. */
    cg_tool_env_init(cfg.domain_type);
    if ((n_swept = cg_scratch_init(cfg.state_dir, &err)) < 0) {
        cg_err("%s", err.message);
        goto cleanup;
    }
    if (n_swept > 0)
        cg_info("removed %d scratch director%s left by a process that was killed", n_swept,
                n_swept == 1 ? "y" : "ies");

    drv = lv_driver.open(&cfg, &err);
    if (!drv) {
        cg_err("driver %s: %s", lv_driver.name, err.message);
        goto cleanup;
    }
    keys = cg_keystore_open(&cfg, &err);
    if (!keys) {
        cg_err("key pairs: %s", err.message);
        goto cleanup;
    }
    jobs = cg_jobs_open(&cfg, cfg.job_threads, &err);
    if (!jobs) {
        cg_err("jobs: %s", err.message);
        goto cleanup;
    }
    cimi = cimi_store_open(&cfg, &err);
    if (!cimi) {
        cg_err("CIMI store: %s", err.message);
        goto cleanup;
    }
    ctx = (gw_ctx){.cfg = &cfg, .creds = &creds, .driver = &lv_driver, .drv = drv, .keys = keys};
    ctx.jobs = jobs;
    ctx.cimi = cimi;
    ctx.core = (cg_core){.cfg = &cfg, .driver = &lv_driver, .drv = drv, .jobs = jobs};
    /* Jobs a crash interrupted are FAILED by now; undo what they made. */
    cg_machines_recover(&ctx.core);
    if (cg_core_recover(&ctx.core, &err) < 0)
        cg_err("recovering interrupted image jobs: %s", err.message);

    if (evthread_use_pthreads() < 0 || !(st.base = event_base_new())) {
        cg_err("cannot initialise libevent");
        goto cleanup;
    }
    st.grace_sec = cfg.shutdown_grace_sec;
    st.pool = gw_pool_new(st.base, cfg.workers, cfg.queue_max);
    if (!st.pool) {
        cg_err("cannot start %u worker threads", cfg.workers);
        goto cleanup;
    }
    st.http = gw_http_new(st.base, &ctx, st.pool, errbuf, sizeof(errbuf));
    if (!st.http) {
        cg_err("%s", errbuf);
        goto cleanup;
    }
    if (gw_imds_http_new(st.base, &ctx, st.pool, &st.imds, errbuf, sizeof(errbuf)) < 0) {
        cg_err("%s", errbuf);
        goto cleanup;
    }
    sigterm = evsignal_new(st.base, SIGTERM, on_signal, &st);
    sigint = evsignal_new(st.base, SIGINT, on_signal, &st);
    if (!sigterm || !sigint || event_add(sigterm, NULL) < 0 || event_add(sigint, NULL) < 0) {
        cg_err("cannot install signal handlers");
        goto cleanup;
    }
    if (pidfile && write_pidfile(pidfile) < 0) {
        cg_err("cannot write pidfile %s: %s", pidfile, strerror(errno));
        goto cleanup;
    }
    cg_info("cloudgated %s listening on %s://%s:%u (%zu zone(s), domain type %s, %u workers)",
            PACKAGE_VERSION, cfg.tls_cert ? "https" : "http", cfg.listen_addr, cfg.listen_port,
            cfg.n_zones, cfg.domain_type, cfg.workers);
    event_base_dispatch(st.base);
    rc = 0;

cleanup:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (st.drain_ev)
        event_free(st.drain_ev);
    /* The pool goes first: its jobs hold requests of the HTTP layer.
     * Queued ones are answered 503 now, running ones get a last bound. */
    if (st.pool && gw_pool_stop(st.pool, SHUTDOWN_STUCK_SEC) > 0) {
        cg_err("shutdown: requests still running after %.0f s more; exiting without "
               "freeing what they use",
               SHUTDOWN_STUCK_SEC);
        if (pidfile)
            unlink(pidfile);
        _exit(1);
    }
    if (st.base && st.pool) {
        /* Let the last replies (503s for dropped jobs included) reach the
         * wire before the connections close. */
        struct timeval flush = {0, 200000};
        event_base_loopexit(st.base, &flush);
        event_base_dispatch(st.base);
    }
    gw_pool_free(st.pool);
    gw_imds_http_free(st.imds);
    gw_http_free(st.http);
    if (st.base)
        event_base_free(st.base);
    /* Instance changes that outlived their answer use the driver too; one
     * cut short here is finished at the next start (its intent). */
    if (cg_instance_ops_drain(SHUTDOWN_STUCK_SEC) > 0) {
        cg_err("shutdown: instance changes still running after %.0f s; exiting without "
               "closing the driver",
               SHUTDOWN_STUCK_SEC);
        if (pidfile)
            unlink(pidfile);
        _exit(1);
    }
    cg_jobs_close(jobs); /* waits for running jobs, which may still use the driver */
    cg_keystore_close(keys);
    cimi_store_close(cimi);
    if (drv)
        lv_driver.close(drv);
    cg_scratch_fini(); /* no job or zone thread is left to use it */
    /* Only now: closing the driver is part of stopping (it waits, within
     * bounds, for the zones' threads). */
    if (rc == 0)
        cg_info("cloudgated stopped");
    if (pidfile && rc == 0)
        unlink(pidfile);
    gw_credentials_release(&creds);
    cg_config_release(&cfg);
    xmlCleanupParser();
    return rc;
}
