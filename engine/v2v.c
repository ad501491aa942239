/* cloudgate engine: virt-v2v conversions (see v2v.h).
 *
 * virt-v2v 2.2 with stdout not a tty prints its stages as "[  26.3]
 * Inspecting the source" lines and, while copying, nbdcopy's progress bar
 * as "NN% [****----]" redrawn with '\r' (tool_run.c splits at '\r' too).
 * The stage before the copy ("Converting ... to run on KVM") is the long
 * one under TCG (about 11 minutes for Debian 12): progress stays at the
 * convert stage's value while it runs.
 */
#include "v2v.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "../gateway/log.h"

/* ---- command line ------------------------------------------------------- */

/* A value that can never be read as an option, nor be empty. */
static int plain_value(const char *s)
{
    return s && *s && *s != '-';
}

/* -on NAME becomes file names in out_dir: letters, digits, '-', '_', '.'. */
static int safe_name(const char *s)
{
    if (!s || !*s || *s == '-' || *s == '.' || strlen(s) > 100)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

void cg_v2v_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

char **cg_v2v_argv(const cg_v2v_spec *spec, cg_error *err)
{
    const char *v[24];
    char **argv = NULL;
    size_t n = 0, i;

    if (!spec->out_dir || spec->out_dir[0] != '/' || !safe_name(spec->out_name)) {
        cg_error_set(err, CG_ERR_INVALID, "v2v: an absolute output directory and a plain "
                                          "output name are needed");
        return NULL;
    }
    v[n++] = CG_V2V_TOOL;
    switch (spec->input) {
    case CG_V2V_OVA:
    case CG_V2V_DISK:
        if (!spec->source || spec->source[0] != '/') {
            cg_error_set(err, CG_ERR_INVALID, "v2v: the source must be an absolute path");
            return NULL;
        }
        v[n++] = "-i";
        v[n++] = spec->input == CG_V2V_OVA ? "ova" : "disk";
        v[n++] = spec->source;
        break;
    case CG_V2V_LIBVIRT:
        if (!plain_value(spec->uri) || !plain_value(spec->source) ||
            (spec->password_file && spec->password_file[0] != '/')) {
            cg_error_set(err, CG_ERR_INVALID,
                         "v2v: a libvirt source needs a URI, a VM name (neither starting "
                         "with '-') and an absolute password file, if any");
            return NULL;
        }
        v[n++] = "-i";
        v[n++] = "libvirt";
        v[n++] = "-ic";
        v[n++] = spec->uri;
        if (spec->password_file) {
            v[n++] = "--password-file";
            v[n++] = spec->password_file;
        }
        v[n++] = spec->source;
        break;
    default:
        cg_error_set(err, CG_ERR_INVALID, "v2v: unknown input kind %d", (int)spec->input);
        return NULL;
    }
    v[n++] = "-o";
    v[n++] = "local";
    v[n++] = "-os";
    v[n++] = spec->out_dir;
    v[n++] = "-of";
    v[n++] = "qcow2";
    v[n++] = "-on";
    v[n++] = spec->out_name;
    if (!(argv = calloc(n + 1, sizeof(*argv))))
        goto oom;
    for (i = 0; i < n; i++)
        if (!(argv[i] = strdup(v[i])))
            goto oom;
    return argv;
oom:
    cg_v2v_argv_free(argv);
    cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    return NULL;
}

/* ---- output ------------------------------------------------------------- */

static const struct {
    const char *prefix;
    int stage;
} stages[] = {
    {"Opening the source", CG_V2V_STAGE_OPEN},
    {"Inspecting the source", CG_V2V_STAGE_INSPECT},
    {"Converting ", CG_V2V_STAGE_CONVERT},
    {"Mapping filesystem data", CG_V2V_STAGE_MAP},
    {"Copying disk ", CG_V2V_STAGE_COPY},
    {"Creating output metadata", CG_V2V_STAGE_FINISH},
    {"Finishing off", CG_V2V_STAGE_FINISH},
};

/* "NN%" or "NN.N%" anywhere in the line (nbdcopy's bar), as 0..100, or -1. */
static double percent_in(const char *line)
{
    const char *pc = strchr(line, '%'), *b;
    char *end;
    double v;

    if (!pc || pc == line)
        return -1;
    for (b = pc; b > line && (isdigit((unsigned char)b[-1]) || b[-1] == '.'); b--)
        ;
    if (b == pc || !isdigit((unsigned char)*b))
        return -1;
    errno = 0;
    v = strtod(b, &end);
    if (errno || end != pc || v < 0 || v > 100)
        return -1;
    return v;
}

int cg_v2v_parse_line(cg_v2v_progress *p, const char *line)
{
    const char *t = line;
    int disk, ndisks;
    double pct;

    /* "[ 123.4] Stage text" */
    if (*t == '[' && (t = strchr(t, ']')) && t[1] == ' ') {
        t += 2;
        for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
            if (strncmp(t, stages[i].prefix, strlen(stages[i].prefix)) != 0)
                continue;
            if (stages[i].stage == CG_V2V_STAGE_COPY) {
                /* Forward only: a later disk of the same count, never after
                 * the copy finished (the job's progress never goes back). */
                if (sscanf(t + strlen(stages[i].prefix), "%d/%d", &disk, &ndisks) != 2 ||
                    disk < 1 || ndisks < disk || ndisks > CG_V2V_MAX_DISKS ||
                    p->stage > CG_V2V_STAGE_COPY ||
                    (p->stage == CG_V2V_STAGE_COPY && (ndisks != p->ndisks || disk <= p->disk)))
                    return 0;
                p->disk = disk;
                p->ndisks = ndisks;
                p->copy_pct = 0;
            } else if (stages[i].stage < p->stage) {
                return 0; /* never backwards ("Converting" text seen late, say) */
            }
            p->stage = stages[i].stage;
            return 1;
        }
        return 0;
    }
    if (p->stage != CG_V2V_STAGE_COPY || (pct = percent_in(line)) < 0 || pct <= p->copy_pct)
        return 0;
    p->copy_pct = pct;
    return 1;
}

int cg_v2v_percent(const cg_v2v_progress *p)
{
    static const int at[] = {
        [CG_V2V_STAGE_START] = 0,   [CG_V2V_STAGE_OPEN] = 2,  [CG_V2V_STAGE_INSPECT] = 8,
        [CG_V2V_STAGE_CONVERT] = 15, [CG_V2V_STAGE_MAP] = 38, [CG_V2V_STAGE_COPY] = 40,
        [CG_V2V_STAGE_FINISH] = 96,
    };
    double done;

    if (p->stage < 0 || p->stage > CG_V2V_STAGE_FINISH)
        return 0;
    if (p->stage != CG_V2V_STAGE_COPY || p->ndisks < 1)
        return at[p->stage];
    done = ((p->disk - 1) + p->copy_pct / 100.0) / p->ndisks;
    return 40 + (int)(55 * done);
}

void cg_v2v_describe(const cg_v2v_progress *p, char *buf, size_t len)
{
    static const char *const what[] = {
        "starting virt-v2v", "opening the source", "inspecting the source",
        "converting the guest to run on KVM", "mapping filesystem data", NULL,
        "writing the converted guest's metadata",
    };

    if (p->stage == CG_V2V_STAGE_COPY)
        snprintf(buf, len, "converting disk %d/%d: %.0f%% copied", p->disk, p->ndisks,
                 p->copy_pct);
    else if (p->stage >= 0 && p->stage <= CG_V2V_STAGE_FINISH)
        snprintf(buf, len, "%s", what[p->stage]);
    else
        snprintf(buf, len, "converting");
}

/* ---- the XML -o local writes -------------------------------------------- */

static unsigned long long xpath_number(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    unsigned long long v = 0;

    if (o && o->type == XPATH_NUMBER && o->floatval > 0 && o->floatval < 1e18)
        v = (unsigned long long)o->floatval;
    xmlXPathFreeObject(o);
    return v;
}

/* The memory element's value in bytes (libvirt's unit attribute, KiB default). */
static unsigned long long memory_bytes(xmlXPathContextPtr ctx)
{
    static const struct { const char *unit; unsigned long long mul; } units[] = {
        {"b", 1}, {"bytes", 1}, {"KiB", 1024}, {"k", 1024}, {"MiB", 1 << 20},
        {"M", 1 << 20}, {"GiB", 1ULL << 30}, {"G", 1ULL << 30},
    };
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)"string(/domain/memory/@unit)",
                                                 ctx);
    unsigned long long v = xpath_number(ctx, "number(/domain/memory)"), mul = 1024;

    for (size_t i = 0; o && o->stringval && o->stringval[0] && i < sizeof(units) / sizeof(units[0]);
         i++)
        if (strcmp((const char *)o->stringval, units[i].unit) == 0)
            mul = units[i].mul;
    xmlXPathFreeObject(o);
    return v > ULLONG_MAX / mul ? 0 : v * mul;
}

/* 1 when rel names a file below its directory: components neither empty
 * nor "." nor ".." ("dir/.." would be the directory's parent). */
static int plain_relative(const char *rel)
{
    const char *c = rel, *end;
    size_t n;

    for (;;) {
        end = strchr(c, '/');
        n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!end)
            return 1;
        c = end + 1;
    }
}

int cg_v2v_read_xml(const char *xml_path, const char *dir, cg_v2v_result *out, cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr disks = NULL, name = NULL;
    size_t dlen = strlen(dir);
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!(doc = xmlReadFile(xml_path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                XML_PARSE_NOWARNING)) ||
        !(ctx = xmlXPathNewContext(doc))) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: cannot read %s", xml_path);
        goto cleanup;
    }
    out->vcpus = (unsigned)xpath_number(ctx, "number(/domain/vcpu)");
    out->memory_bytes = memory_bytes(ctx);
    name = xmlXPathEvalExpression((const xmlChar *)"string(/domain/name)", ctx);
    if (name && name->stringval)
        snprintf(out->name, sizeof(out->name), "%s", (const char *)name->stringval);
    disks = xmlXPathEvalExpression(
        (const xmlChar *)"/domain/devices/disk[@device='disk']/source/@file", ctx);
    for (int i = 0; disks && disks->nodesetval && i < disks->nodesetval->nodeNr; i++) {
        xmlChar *f = xmlNodeGetContent(disks->nodesetval->nodeTab[i]);
        const char *file = (const char *)f;
        int inside = file && strncmp(file, dir, dlen) == 0 && file[dlen] == '/' &&
                     plain_relative(file + dlen + 1) && strlen(file) < sizeof(out->disk[0]);

        if (inside && out->ndisks < CG_V2V_MAX_DISKS)
            snprintf(out->disk[out->ndisks++], sizeof(out->disk[0]), "%s", file);
        xmlFree(f);
        if (!inside) {
            cg_error_set(err, CG_ERR_INTERNAL, "v2v: %s names a disk outside %s", xml_path,
                         dir);
            goto cleanup;
        }
        /* Never a guest silently missing a disk. */
        if (i >= CG_V2V_MAX_DISKS) {
            cg_error_set(err, CG_ERR_INVALID, "the guest has more than %d disks", CG_V2V_MAX_DISKS);
            goto cleanup;
        }
    }
    if (out->ndisks == 0 || out->vcpus == 0 || out->memory_bytes == 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: %s has no disk, vCPU count or memory",
                     xml_path);
        goto cleanup;
    }
    ret = 0;
cleanup:
    xmlXPathFreeObject(disks);
    xmlXPathFreeObject(name);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return ret;
}

/* ---- running ------------------------------------------------------------ */

/* tool_run gives on_line and cancelled one argument: this. */
typedef struct run_state {
    cg_v2v_progress p;
    cg_v2v_progress_fn on_progress;
    cg_tool_cancel_fn cancelled;
    void *arg;
} run_state;

static void on_line(const char *line, void *arg)
{
    run_state *rs = arg;

    if (cg_v2v_parse_line(&rs->p, line) && rs->on_progress)
        rs->on_progress(&rs->p, rs->arg);
}

static int run_cancelled(void *arg)
{
    run_state *rs = arg;

    return rs->cancelled && rs->cancelled(rs->arg);
}

int cg_v2v_run(const cg_v2v_spec *spec, int log_fd, cg_v2v_progress_fn on_progress,
               cg_tool_cancel_fn cancelled, void *arg, cg_v2v_result *out, cg_error *err)
{
    run_state rs = {.on_progress = on_progress, .cancelled = cancelled, .arg = arg};
    cg_tool_spec run = {.package = "virt-v2v, nbdkit and libnbd-bin", .log_fd = log_fd,
                        .on_line = on_line, .cancelled = run_cancelled, .arg = &rs};
    char **argv = NULL, xml[1200];
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!(argv = cg_v2v_argv(spec, err)))
        goto cleanup;
    run.argv = argv;
    run.tag = spec->out_dir; /* what a crash leaves is found by it too (cg_v2v_import_recover) */
    if (cg_tool_run(&run, err) < 0)
        goto cleanup;
    snprintf(xml, sizeof(xml), "%s/%s.xml", spec->out_dir, spec->out_name);
    if (cg_v2v_read_xml(xml, spec->out_dir, out, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    cg_v2v_argv_free(argv);
    return ret;
}

/* ---- this host's conversions at once --------------------------------------- */

/* Slot i is the file SLOTDIR/slot-i, held with flock(LOCK_EX) on a
 * descriptor of its own: flock conflicts between two open() of one file
 * even in one process, so threads, the daemon and cloudgate-admin all
 * count against the same v2v_parallel, and a crashed holder's lock goes
 * with its descriptors.  O_CLOEXEC: virt-v2v does not inherit the slot (a
 * leftover conversion is killed by the next start's recovery instead). */
#define SLOT_DIR "v2v-slots"

/* STATE_DIR/v2v-slots, made 0700 when missing.  0 or -1. */
static int slot_dir(const cg_config *cfg, char *buf, size_t len, cg_error *err)
{
    struct stat st;
    int n = cfg->v2v_slot_dir ? snprintf(buf, len, "%s", cfg->v2v_slot_dir)
                              : snprintf(buf, len, "%s/" SLOT_DIR, cfg->state_dir);

    if (n < 0 || (size_t)n >= len) {
        cg_error_set(err, CG_ERR_INTERNAL, "the v2v slots' directory path is too long");
        return -1;
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot make %s: %s", buf, strerror(errno));
        return -1;
    }
    /* /run/lock is writable by everyone: not a link, and ours */
    if (lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s (v2v_slot_dir) is not a directory of this user's",
                     buf);
        return -1;
    }
    return 0;
}

/* One try at every slot: the held slot's descriptor, -1 when all are
 * taken, -2 with err when a slot file cannot be opened. */
static int slot_try(const char *dir, unsigned n, cg_error *err)
{
    char path[PATH_MAX + 32];
    int fd;

    for (unsigned i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/slot-%u", dir, i);
        if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "cannot open %s: %s", path, strerror(errno));
            return -2;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        close(fd);
    }
    return -1;
}

int cg_v2v_slot_take(const cg_config *cfg, cg_tool_cancel_fn cancelled, void *arg,
                     void (*waiting)(void *arg), cg_error *err)
{
    struct timespec ts = {0, 200 * 1000000L};
    char dir[PATH_MAX];
    int waited = 0, fd;

    if (slot_dir(cfg, dir, sizeof(dir), err) < 0)
        return -1;
    for (;;) {
        if ((fd = slot_try(dir, cfg->v2v_parallel ? cfg->v2v_parallel : 1, err)) >= 0)
            return fd;
        if (fd == -2)
            return -1;
        if (cancelled && cancelled(arg)) {
            cg_error_set(err, CG_ERR_STATE, "cancelled");
            return -1;
        }
        if (!waited && waiting)
            waiting(arg);
        waited = 1;
        nanosleep(&ts, NULL);
    }
}

void cg_v2v_slot_give(int slot)
{
    if (slot >= 0)
        close(slot); /* releases the flock */
}

/* ---- a conversion as a job's step ------------------------------------------ */

static void job_progress(const cg_v2v_progress *p, void *arg)
{
    cg_v2v_job_step *js = arg;
    char msg[128];

    cg_v2v_describe(p, msg, sizeof(msg));
    cg_job_progress(js->jobs, js->job_id, js->lo + cg_v2v_percent(p) * js->span / 100, msg);
}

static void job_waiting(void *arg)
{
    cg_v2v_job_step *js = arg;
    char msg[128];

    snprintf(msg, sizeof(msg), "queued: waiting for another conversion to finish "
                               "(v2v_parallel = %u)", js->cfg->v2v_parallel);
    cg_job_progress(js->jobs, js->job_id, js->queued, msg);
    cg_job_log(js->jobs, js->job_id, "%s", msg);
}

static int job_cancelled(void *arg)
{
    cg_v2v_job_step *js = arg;

    return cg_job_cancelled(js->jobs, js->job_id);
}

int cg_v2v_job_convert(cg_v2v_job_step *js, const cg_v2v_spec *spec, const char *what,
                       cg_v2v_result *res, cg_error *err)
{
    char log[PATH_MAX];
    int fd = -1, ret, slot;

    if ((slot = cg_v2v_slot_take(js->cfg, job_cancelled, js, job_waiting, err)) < 0)
        return -1;
    /* cg_job_log first: it makes the log's directory */
    cg_job_log(js->jobs, js->job_id, "%s", what);
    if (cg_job_log_path(js->jobs, js->job_id, log, sizeof(log)) == 0)
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    job_progress(&(cg_v2v_progress){0}, js);
    ret = cg_v2v_run(spec, fd, job_progress, job_cancelled, js, res, err);
    if (fd >= 0)
        close(fd);
    cg_v2v_slot_give(slot);
    if (ret == 0)
        cg_job_log(js->jobs, js->job_id, "converted: %u vCPUs, %.0f MiB of memory, %zu disk(s)",
                   res->vcpus, res->memory_bytes / (1024.0 * 1024.0), res->ndisks);
    return ret;
}
