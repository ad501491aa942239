/* cloudgate-admin v2v-import: import VMs of a provider as instances, one
 * job each (engine/v2v_vm_import.c), run in this process like image-import:
 * the jobs' records are in the store the daemon reads, so DescribeInstances
 * shows the locked instances at once.  Every VM is checked (exists, shut
 * off, a disk; a template's further disks become snapshots, an instance's
 * volumes)
 * before any job starts: a refusal makes nothing.
 *
 * Progress: one line per VM, redrawn in place on a terminal; otherwise
 * plain "VM job: 42% converting" lines, on a change, at most one a second
 * per VM.  SIGINT/SIGTERM cancel every job and wait for their rollback.
 *
 * --as template makes an image per VM instead (the ImportImage job with
 * virt-v2v -i libvirt; DescribeImportImageTasks shows it).
 *
 * Exit status: 0 all imported, 1 one failed, 2 usage, 3 a VM cannot be
 * imported as it is (running, no disk...), 130 interrupted. */
#include "tools/admin_v2v.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/v2v_import.h"
#include "engine/v2v_vm_import.h"
#include "gateway/providers.h"
#include "gateway/store.h"
#include "tools/admin_signals.h"

#define EXIT_USAGE 2
#define EXIT_NOT_IMPORTABLE 3
#define EXIT_SIGNAL 130
#define POLL_NS 200000000L
#define BAR_WIDTH 30
#define MAX_VMS 64

typedef struct import_opts {
    const char *as, *type, *display, *zone, *name;
    unsigned vcpus, memory_mib;
} import_opts;

static void usage(FILE *to)
{
    fprintf(to, "usage: cloudgate-admin v2v-import PROVIDER VM... [--as instance]\n"
                "           [--type T | --vcpus N --memory MiB] [--display headless|vnc|spice]\n"
                "           [--zone Z] [--name N (one VM only)]\n");
}

static int usage_error(const char *why)
{
    fprintf(stderr, "cloudgate-admin: v2v-import: %s\n", why);
    return -1;
}

/* A positive count below 2^20. */
static int parse_count(const char *s, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (!*s || *end || *s == '-' || v == 0 || v >= (1ul << 20))
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* 0, 1 (--help printed) or -1 (usage error, reported). */
static int parse(int argc, char **argv, import_opts *o)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'a'},      {"type", required_argument, NULL, 't'},
        {"vcpus", required_argument, NULL, 'c'},   {"memory", required_argument, NULL, 'm'},
        {"display", required_argument, NULL, 'd'}, {"zone", required_argument, NULL, 'z'},
        {"name", required_argument, NULL, 'n'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cg_display disp;
    int c;

    memset(o, 0, sizeof(*o));
    o->as = "instance";
    optind = 0; /* glibc re-reads the ordering: options may follow the names */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': o->as = optarg; break;
        case 't': o->type = optarg; break;
        case 'c':
            if (parse_count(optarg, &o->vcpus) < 0)
                return usage_error("--vcpus must be a positive number");
            break;
        case 'm':
            if (parse_count(optarg, &o->memory_mib) < 0)
                return usage_error("--memory must be a positive number of MiB");
            break;
        case 'd':
            if (cg_display_parse(optarg, &disp) < 0 || disp == CG_DISPLAY_DEFAULT)
                return usage_error("--display must be headless, vnc or spice");
            o->display = optarg;
            break;
        case 'z': o->zone = optarg; break;
        case 'n': o->name = optarg; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (argc - optind < 2) {
        usage(stderr);
        return -1;
    }
    if (strcmp(o->as, "instance") != 0 && strcmp(o->as, "template") != 0)
        return usage_error("--as must be instance or template");
    if (!strcmp(o->as, "template") && (o->type || o->vcpus || o->display || o->zone))
        return usage_error("--type, --vcpus, --memory, --display and --zone apply to "
                           "--as instance (a template is published to every zone)");
    if (o->type && (o->vcpus || o->memory_mib))
        return usage_error("--type or --vcpus/--memory, not both");
    if (!o->vcpus != !o->memory_mib)
        return usage_error("--vcpus and --memory go together");
    if (o->name && argc - optind > 2)
        return usage_error("--name names one VM: give one VM with it");
    if (argc - optind - 1 > MAX_VMS)
        return usage_error("too many VMs at once");
    return 0;
}

/* The source's shape, from the check every importer shares (driver
 * v2v_vm_check: exists, shut off, a disk to convert). */
typedef struct vm_shape {
    unsigned vcpus, memory_mib;
} vm_shape;

/* Every VM found and importable, or the first refusal (reported): nothing
 * is made before all pass.  vms[i] filled for each. */
static int check_vms(const cg_driver *d, cg_drv *drv, const cg_provider *p, char **names, size_t n,
                     vm_shape *vms)
{
    cg_error err = {0};

    for (size_t i = 0; i < n; i++) {
        if (CG_DRV_CALL(d, drv, v2v_vm_check, &err, p, names[i], &vms[i].vcpus,
                        &vms[i].memory_mib) < 0) {
            fprintf(stderr, "cloudgate-admin: v2v-import: %s\n", err.message);
            /* a VM that exists but cannot be imported as it is */
            return err.kind == CG_ERR_STATE || err.kind == CG_ERR_INVALID ? EXIT_NOT_IMPORTABLE
                                                                          : EXIT_FAILURE;
        }
    }
    return 0;
}

/* The shape of VM vm: --type, --vcpus/--memory, else the source's. */
static int shape(const cg_config *cfg, const import_opts *o, const vm_shape *vm,
                 cg_vm_import_spec *s)
{
    if (o->type) {
        const cg_instance_type *t = cg_config_find_type(cfg, o->type);

        if (!t) {
            fprintf(stderr, "cloudgate-admin: v2v-import: no instance type %s\n", o->type);
            return -1;
        }
        s->type_name = t->name;
        s->vcpus = t->vcpus;
        s->memory_mib = t->memory_mib;
        return 0;
    }
    s->vcpus = o->vcpus ? o->vcpus : vm->vcpus;
    s->memory_mib = o->memory_mib ? o->memory_mib : vm->memory_mib;
    s->type_name = "custom";
    /* A configured type of exactly that shape names it better. */
    for (size_t i = 0; i < cfg->n_types; i++)
        if (cfg->types[i].vcpus == s->vcpus && cfg->types[i].memory_mib == s->memory_mib) {
            s->type_name = cfg->types[i].name;
            break;
        }
    return 0;
}

/* ---- progress: one line per VM ---------------------------------------------- */

typedef struct watch {
    cg_job job;
    const char *vm;
    int last_progress;
    char last_message[512];
    double last_line;
} watch;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ended(const cg_job *j)
{
    return j->state == CG_JOB_SUCCESS || j->state == CG_JOB_FAILED ||
           j->state == CG_JOB_CANCELLED;
}

static const char *what_now(const cg_job *j)
{
    return j->status_message[0] ? j->status_message : cg_job_state_name(j->state);
}

static void draw_bars(const watch *w, size_t n, int redraw)
{
    if (redraw)
        printf("\033[%zuA", n); /* back to the first VM's line */
    for (size_t i = 0; i < n; i++) {
        char bar[BAR_WIDTH + 1];
        int fill = w[i].job.progress * BAR_WIDTH / 100;

        for (int k = 0; k < BAR_WIDTH; k++)
            bar[k] = k < fill ? '#' : '-';
        bar[BAR_WIDTH] = '\0';
        printf("\r%-20.20s %s [%s] %3d%%  %.50s\033[K\n", w[i].vm, w[i].job.target[0]
               ? w[i].job.target : w[i].job.id, bar, w[i].job.progress, what_now(&w[i].job));
    }
    fflush(stdout);
}

static void draw_lines(watch *w, size_t n)
{
    double t = now();

    for (size_t i = 0; i < n; i++) {
        const cg_job *j = &w[i].job;

        if (j->progress == w[i].last_progress && !strcmp(j->status_message, w[i].last_message))
            continue;
        if (!ended(j) && t - w[i].last_line < 1.0)
            continue;
        printf("%s %s%s%s: %d%% %s\n", w[i].vm, j->id, j->target[0] ? " " : "", j->target,
               j->progress, what_now(j));
        w[i].last_line = t;
        w[i].last_progress = j->progress;
        snprintf(w[i].last_message, sizeof(w[i].last_message), "%s", j->status_message);
    }
    fflush(stdout);
}

/* Follow every job to its end; a signal cancels them all (once). */
static int follow_all(cg_jobs *jobs, watch *w, size_t n)
{
    struct timespec pause = {0, POLL_NS};
    int tty = isatty(STDOUT_FILENO), drawn = 0, asked = 0;
    cg_error err = {0};
    size_t left;

    for (;;) {
        left = 0;
        for (size_t i = 0; i < n; i++) {
            cg_error_clear(&err);
            if (!ended(&w[i].job) && cg_jobs_get(jobs, w[i].job.id, &w[i].job, &err) < 0) {
                fprintf(stderr, "cloudgate-admin: v2v-import: %s\n", err.message);
                return -1;
            }
            left += !ended(&w[i].job);
        }
        if (tty) {
            draw_bars(w, n, drawn);
            drawn = 1;
        } else {
            draw_lines(w, n);
        }
        if (!left)
            return 0;
        if (cg_admin_got_signal && !asked) {
            asked = 1;
            for (size_t i = 0; i < n; i++)
                if (!ended(&w[i].job) && cg_jobs_cancel(jobs, w[i].job.id, &err) < 0)
                    fprintf(stderr, "cloudgate-admin: cannot cancel %s: %s\n", w[i].job.id,
                            err.message);
            fprintf(stderr, "cloudgate-admin: cancelling; waiting for the rollback\n");
            drawn = 0;
        }
        nanosleep(&pause, NULL);
    }
}

/* Submit one job per VM (vms checked), follow them, report.  Exit status. */
static int run_jobs(const cg_core *core, const cg_provider *p, const import_opts *o,
                    char **names, const vm_shape *vms, size_t n)
{
    watch w[MAX_VMS];
    cg_error err = {0};
    cg_display disp = CG_DISPLAY_DEFAULT;
    size_t started = 0;
    int rc = EXIT_SUCCESS;

    memset(w, 0, sizeof(w));
    if (o->display)
        cg_display_parse(o->display, &disp);
    for (size_t i = 0; i < n; i++) {
        cg_vm_import_spec s = {.uri = cg_provider_get(p, "uri"),
                               .password_file = cg_provider_get(p, "password_file"),
                               .vm = names[i], .zone = o->zone, .display = disp,
                               .name = o->name};

        cg_vm_template_spec t = {.uri = s.uri, .password_file = s.password_file,
                                 .vm = names[i], .name = o->name};
        int failed = !strcmp(o->as, "template")
                         ? cg_v2v_import_vm_template(core, &t, &w[i].job, &err) < 0
                         : shape(core->cfg, o, &vms[i], &s) < 0 ||
                               cg_v2v_vm_import_submit(core, &s, &w[i].job, &err) < 0;

        if (failed) {
            if (err.message[0])
                fprintf(stderr, "cloudgate-admin: v2v-import: %s: %s\n", names[i], err.message);
            rc = EXIT_FAILURE;
            cg_admin_got_signal = SIGTERM; /* the ones already queued go back */
            break;
        }
        w[i].vm = names[i];
        w[i].last_progress = -1;
        w[i].last_line = -1e9;
        started++;
    }
    if (follow_all(core->jobs, w, started) < 0)
        return EXIT_FAILURE;
    for (size_t i = 0; i < started; i++) {
        const cg_job *j = &w[i].job;

        if (j->state == CG_JOB_SUCCESS) {
            printf("%s\t%s\n", w[i].vm, j->target);
            continue;
        }
        fprintf(stderr, "cloudgate-admin: v2v-import: %s: job %s %s: %s\n", w[i].vm, j->id,
                cg_job_state_name(j->state),
                j->status_message[0] ? j->status_message : "no reason given");
        if (rc == EXIT_SUCCESS)
            rc = cg_admin_got_signal ? EXIT_SIGNAL : EXIT_FAILURE;
    }
    return rc;
}

int cg_admin_v2v_import(const cg_config *cfg, const cg_driver *d, cg_drv *drv, int argc,
                        char **argv)
{
    cg_core core = {.cfg = cfg, .driver = d, .drv = drv};
    vm_shape vms[MAX_VMS];
    cg_provider p = {0};
    cg_error err = {0};
    import_opts o;
    sqlite3 *db = NULL;
    size_t n = 0;
    int rc, parsed;

    memset(vms, 0, sizeof(vms));
    if ((parsed = parse(argc, argv, &o)) != 0)
        return parsed > 0 ? EXIT_SUCCESS : EXIT_USAGE;
    n = (size_t)(argc - optind - 1);
    rc = EXIT_FAILURE;
    if (!(db = cg_db_open(cfg, &err)) || cg_provider_find(db, cfg, "v2v", argv[optind], &p,
                                                          &err) < 0) {
        fprintf(stderr, "cloudgate-admin: v2v-import: %s\n", err.message);
        goto cleanup;
    }
    if ((rc = check_vms(d, drv, &p, argv + optind + 1, n, vms)) != 0)
        goto cleanup;
    rc = EXIT_FAILURE;
    /* One job thread per VM: the conversions themselves wait for a slot. */
    if (!(core.jobs = cg_admin_jobs_open(cfg, (unsigned)n, &err))) {
        fprintf(stderr, "cloudgate-admin: v2v-import: cannot open the job store: %s\n",
                err.message);
        goto cleanup;
    }
    /* An earlier v2v-import killed outright left a locked instance: the
     * daemon's start removes it, and so does this. */
    if (cg_v2v_vm_import_recover(&core, &err) < 0)
        fprintf(stderr, "cloudgate-admin: warning: %s\n", err.message);
    rc = run_jobs(&core, &p, &o, argv + optind + 1, vms, n);

cleanup:
    cg_jobs_close(core.jobs);
    cg_admin_catch_signals(0);
    cg_provider_release(&p);
    cg_db_close(db);
    return rc;
}
