/* cloudgate-admin image-import and jobs.
 *
 * image-import runs the import job in this process (one job thread) and
 * follows it; the job's record is in the same SQLite store the daemon
 * reads, so EC2 DescribeImportImageTasks shows it and CancelImportTask
 * reaches it (cg_job_cancelled polls the database).  jobs reads the store
 * only, so it works while the daemon runs jobs of its own.
 *
 * Progress: a bar with rate and ETA when stdout is a terminal, else lines
 * "job ID: 42% downloading", at most one a second and only on a change. */
#include "tools/admin_images.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/images.h"
#include "engine/jobs.h"
#include "tools/admin_signals.h"

#define EXIT_USAGE 2
#define EXIT_SIGNAL 130
#define POLL_MS 200          /* between looks at the job; its end here wakes us at once */
#define LINE_INTERVAL 1.0    /* plain lines: at most one a second */
#define BAR_WIDTH 30

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, const cg_error *err)
{
    fprintf(stderr, "cloudgate-admin: %s: %s\n", what, err->message);
    return EXIT_FAILURE;
}

static int job_ended(const cg_job *j)
{
    return j->state == CG_JOB_SUCCESS || j->state == CG_JOB_FAILED ||
           j->state == CG_JOB_CANCELLED;
}

/* ---- progress display --------------------------------------------------- */

typedef struct view {
    int tty;
    double start;              /* when we first saw the job */
    int first_progress;        /* its progress then (a watch may join late) */
    double last_line;
    int last_progress;
    char last_message[512];
    int bar_shown;
} view;

static void view_init(view *v, const cg_job *j)
{
    memset(v, 0, sizeof(*v));
    v->tty = isatty(STDOUT_FILENO);
    v->start = now();
    v->first_progress = j->progress;
    v->last_line = -1e9;
    v->last_progress = -1;
}

static const char *what_now(const cg_job *j)
{
    return j->status_message[0] ? j->status_message : cg_job_state_name(j->state);
}

static void fmt_eta(double secs, char *buf, size_t len)
{
    long s = (long)(secs + 0.5);

    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

/* Rate (bytes/s) and ETA (s) from the source size and the progress made
 * since we started watching; -1 each while unknown. */
static void estimate(const view *v, const cg_job *j, double *rate, double *eta)
{
    double dt = now() - v->start;
    double done = (double)j->size * (j->progress - v->first_progress) / 100.0;

    *rate = *eta = -1;
    if (j->size == 0 || dt < 0.5 || done <= 0)
        return;
    *rate = done / dt;
    *eta = (double)j->size * (100 - j->progress) / 100.0 / *rate;
}

static void show_bar(view *v, const cg_job *j)
{
    char bar[BAR_WIDTH + 1], extra[64] = "";
    int fill = j->progress * BAR_WIDTH / 100, i;
    double rate, eta;

    for (i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    estimate(v, j, &rate, &eta);
    if (rate > 0) {
        char e[24];

        fmt_eta(eta, e, sizeof(e));
        snprintf(extra, sizeof(extra), "  %.1f MB/s  ETA %s", rate / 1e6, e);
    }
    /* \r and erase-to-end: one line, redrawn in place. */
    printf("\r%s [%s] %3d%%%s  %.60s\033[K", j->id, bar, j->progress, extra, what_now(j));
    fflush(stdout);
    v->bar_shown = 1;
}

static void show_line(view *v, const cg_job *j)
{
    double t = now();

    if (j->progress == v->last_progress && !strcmp(j->status_message, v->last_message))
        return;
    if (t - v->last_line < LINE_INTERVAL)
        return;
    printf("job %s: %d%% %s\n", j->id, j->progress, what_now(j));
    fflush(stdout);
    v->last_line = t;
    v->last_progress = j->progress;
    snprintf(v->last_message, sizeof(v->last_message), "%s", j->status_message);
}

static void show(view *v, const cg_job *j)
{
    if (v->tty)
        show_bar(v, j);
    else
        show_line(v, j);
}

/* The last word on a job that ended. */
static void show_end(view *v, const cg_job *j)
{
    double dt = now() - v->start;
    /* On success the message is only the last step's name: left out. */
    int why = j->state != CG_JOB_SUCCESS && j->status_message[0];

    if (v->tty && v->bar_shown) {
        show_bar(v, j);
        printf("\n");
    }

    printf("job %s: %s after %.0fs%s%s\n", j->id, cg_job_state_name(j->state), dt,
           why ? ": " : "", why ? j->status_message : "");
    fflush(stdout);
}

/* Follow job id to its end (final).  cancel: a signal cancels the job and
 * we go on waiting for its rollback; otherwise a signal stops the watch.
 * Returns 0 (ended), EXIT_SIGNAL (watch interrupted) or -1 (reported). */
static int follow(cg_jobs *jobs, const char *id, int cancel, cg_job *final)
{
    struct timespec pause = {0, POLL_MS * 1000000L};
    cg_error err = {0};
    int asked = 0;
    view v;

    if (cg_jobs_get(jobs, id, final, &err) < 0) {
        fail("jobs", &err);
        return -1;
    }
    view_init(&v, final);
    for (;;) {
        show(&v, final);
        if (job_ended(final))
            break;
        if (cg_admin_got_signal && !cancel) {
            if (v.tty)
                printf("\n");
            return EXIT_SIGNAL;
        }
        if (cg_admin_got_signal && !asked) {
            asked = 1;
            if (v.tty)
                printf("\n");
            if (cg_jobs_cancel(jobs, id, &err) < 0)
                fprintf(stderr, "cloudgate-admin: cannot cancel %s: %s; waiting for it to end\n",
                        id, err.message);
            else
                fprintf(stderr, "cloudgate-admin: cancelling %s; waiting for its rollback\n", id);
        }
        if (cg_jobs_wait_end(jobs, id, POLL_MS) < 0)
            nanosleep(&pause, NULL); /* run by another process: look again later */
        cg_error_clear(&err);
        if (cg_jobs_get(jobs, id, final, &err) < 0) {
            fail("jobs", &err);
            return -1;
        }
    }
    show_end(&v, final);
    return 0;
}

/* ---- image-import ------------------------------------------------------- */

/* A bare path becomes a file:// URL (absolute: the check against
 * import_dirs compares normalised paths).  *url: malloc'd. */
static int to_url(const char *arg, char **url)
{
    char *abs;

    if (strstr(arg, "://")) {
        *url = strdup(arg);
        return *url ? 0 : -1;
    }
    if (!(abs = realpath(arg, NULL))) {
        fprintf(stderr, "cloudgate-admin: image-import: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (asprintf(url, "file://%s", abs) < 0)
        *url = NULL;
    free(abs);
    return *url ? 0 : -1;
}

static void import_usage(FILE *to)
{
    fprintf(to, "usage: cloudgate-admin image-import URL [--as template|volume] [--seal]\n"
                "           [--name N] [--description D] [--format qcow2|raw] [--zone Z]\n"
                "  URL: glance://PROVIDER/IMAGE_ID, http(s)://..., file:///PATH (or a\n"
                "  path) under one of import_dirs\n");
}

static int usage_error(const char *why)
{
    fprintf(stderr, "cloudgate-admin: image-import: %s\n", why);
    return -1;
}

/* 0, 1 (--help was printed) or -1 (usage error, reported). */
static int parse_import(int argc, char **argv, cg_import_spec *spec)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'a'},     {"seal", no_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},   {"description", required_argument, NULL, 'D'},
        {"format", required_argument, NULL, 'f'}, {"zone", required_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;

    /* 0, not 1: glibc then re-reads the ordering, so URL may come first. */
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (!strcmp(optarg, "template"))
                spec->as = CG_IMPORT_TEMPLATE;
            else if (!strcmp(optarg, "volume"))
                spec->as = CG_IMPORT_VOLUME;
            else
                return usage_error("--as must be template or volume");
            break;
        case 's': spec->seal = 1; break;
        case 'n': spec->name = optarg; break;
        case 'D': spec->description = optarg; break;
        case 'f':
            if (strcmp(optarg, "qcow2") && strcmp(optarg, "raw"))
                return usage_error("--format must be qcow2 or raw");
            spec->format = optarg;
            break;
        case 'z': spec->zone = optarg; break;
        case 'h': import_usage(stdout); return 1;
        default: import_usage(stderr); return -1;
        }
    }
    if (optind != argc - 1) {
        import_usage(stderr);
        return -1;
    }
    if (spec->seal && spec->as == CG_IMPORT_VOLUME)
        return usage_error("--seal applies to templates only");
    return 0;
}

int cg_admin_image_import(const cg_config *cfg, const cg_driver *d, cg_drv *drv, int argc,
                          char **argv)
{
    cg_import_spec spec = {0};
    cg_core core = {.cfg = cfg, .driver = d, .drv = drv};
    cg_error err = {0};
    cg_job job;
    char *url = NULL;
    int rc = EXIT_USAGE, parsed;

    if ((parsed = parse_import(argc, argv, &spec)) != 0) {
        rc = parsed > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        goto cleanup;
    }
    rc = EXIT_FAILURE;
    if (to_url(argv[optind], &url) < 0)
        goto cleanup;
    spec.url = url;
    /* The job thread starts with the signals blocked: they are ours. */
    if (!(core.jobs = cg_admin_jobs_open(cfg, 1, &err))) {
        fail("image-import: cannot open the job store", &err);
        goto cleanup;
    }
    if (cg_import_submit(&core, &spec, &job, &err) < 0) {
        fail("image-import", &err);
        goto cleanup;
    }
    if (follow(core.jobs, job.id, 1, &job) < 0)
        goto cleanup;
    if (job.state == CG_JOB_SUCCESS) {
        printf("%s\n", job.target);
        rc = EXIT_SUCCESS;
    } else if (cg_admin_got_signal) {
        fprintf(stderr, "cloudgate-admin: image-import: interrupted; job %s %s\n", job.id,
                cg_job_state_name(job.state));
        rc = EXIT_SIGNAL;
    } else {
        fprintf(stderr, "cloudgate-admin: image-import: job %s %s: %s\n", job.id,
                cg_job_state_name(job.state),
                job.status_message[0] ? job.status_message : "no reason given");
    }

cleanup:
    cg_jobs_close(core.jobs);
    cg_admin_catch_signals(0);
    free(url);
    return rc;
}

/* ---- jobs --------------------------------------------------------------- */

static int list_jobs(cg_jobs *jobs)
{
    cg_job_list l = {0};
    cg_error err = {0};
    size_t i;

    if (cg_jobs_list(jobs, &l, &err) < 0)
        return fail("jobs", &err);
    for (i = 0; i < l.n; i++) {
        const cg_job *j = &l.v[i];

        printf("%s\t%s\t%s\t%d%%\t%s\t%s\n", j->id, j->action, cg_job_state_name(j->state),
               j->progress, j->target[0] ? j->target : "-", j->status_message);
    }
    cg_job_list_release(&l);
    return EXIT_SUCCESS;
}

static int print_log(cg_jobs *jobs, const char *id)
{
    char path[PATH_MAX], buf[8192];
    cg_error err = {0};
    cg_job j;
    FILE *f;
    size_t n;

    if (cg_jobs_get(jobs, id, &j, &err) < 0)
        return fail("jobs --log", &err);
    if (cg_job_log_path(jobs, id, path, sizeof(path)) < 0 || !(f = fopen(path, "r"))) {
        printf("no log\n");
        return EXIT_SUCCESS;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return EXIT_SUCCESS;
}

int cg_admin_jobs(const cg_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"watch", required_argument, NULL, 'w'},
        {"log", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    const char *watch = NULL, *log = NULL;
    cg_jobs *jobs = NULL;
    cg_error err = {0};
    cg_job j;
    int c, rc = EXIT_USAGE;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': watch = optarg; break;
        case 'l': log = optarg; break;
        default: goto cleanup;
        }
    }
    if (optind != argc || (watch && log)) {
        fprintf(stderr, "usage: cloudgate-admin jobs [--watch ID | --log ID]\n");
        goto cleanup;
    }
    cg_admin_got_signal = 0;
    if (watch)
        cg_admin_catch_signals(1);
    if (!(jobs = cg_jobs_open(cfg, 1, &err))) {
        rc = fail("jobs: cannot open the job store", &err);
        goto cleanup;
    }
    if (log)
        rc = print_log(jobs, log);
    else if (!watch)
        rc = list_jobs(jobs);
    else if ((rc = follow(jobs, watch, 0, &j)) == 0)
        rc = j.state == CG_JOB_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
    else if (rc < 0)
        rc = EXIT_FAILURE;

cleanup:
    cg_jobs_close(jobs);
    cg_admin_catch_signals(0);
    return rc;
}

/* ---- image-register's inspection ---------------------------------------- */

void cg_admin_inspect_registered(const cg_config *cfg, const cg_driver *d, cg_drv *drv,
                                 const char *image_id)
{
    cg_core core = {.cfg = cfg, .driver = d, .drv = drv};
    cg_os_info os;
    cg_error err = {0};

    memset(&os, 0, sizeof(os));
    if (cg_image_inspect(&core, image_id, &os, &err) < 0) {
        fprintf(stderr, "cloudgate-admin: warning: %s registered, but its inspection failed: %s\n",
                image_id, err.message);
        return;
    }
    if (!os.type[0])    /* the driver has no local disk to look into (test://) */
        return;
    fprintf(stderr, "cloudgate-admin: %s: %s %s %s %s%s%s, cloud-init %s\n", image_id, os.type,
            os.distro, os.version[0] ? os.version : "-", os.arch[0] ? os.arch : "-",
            os.product[0] ? ", " : "", os.product,
            os.cloud_init > 0 ? "yes" : os.cloud_init == 0 ? "no" : "unknown");
}
