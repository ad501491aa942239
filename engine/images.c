/* cloudgate engine: image jobs (see images.h for the steps).
 *
 * Progress: an import's download is 0..80% (a volume's 0..99%), a
 * capture's copy 0..70%; inspection, sealing and publishing share the
 * rest.  Every step writes a line to the job's log; virt-sysprep's own
 * output goes there too.
 */
#include "images.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "../gateway/util.h"
#include "disk_header.h"
#include "disk_writer.h"
#include "guest.h"
#include "import_source.h"
#include "snapshots.h"
#include "v2v_import.h"
#include "v2v_vm_import.h"

#define MB (1024.0 * 1024.0)
/* Bytes per send to libvirt's upload stream (disk_writer.h says why): one
 * libvirt stream message carries at most 256 KiB.  Measured on an 885 MB
 * file import (loaded machine): 256 KiB 1.6-1.9 s, 1 MiB 1.4-3.7 s, 4 MiB
 * 2.3-5.0 s, 16 KiB (no gathering) about 4.5 s. */
#define WRITE_CHUNK (256 * 1024)

typedef struct import_job {
    cg_core core;
    char url[1024];
    char shown_url[1024];      /* url without secrets (cg_source_display) */
    char format[16];          /* declared, or "" */
    cg_import_as as;
    char name[256];           /* "" : the job's id */
    char description[256];
    char zone[64];
    int seal;
    cg_tags tags;
    char image_id[24];        /* the pending template, once made */
} import_job;

/* The write side of an import: the header is held back until it is
 * checked, then everything streams into the driver's disk sink. */
typedef struct pump {
    const cg_core *core;
    const char *job_id;
    const char *declared;     /* format, or NULL */
    const char *image_id;     /* template, or NULL */
    const char *zone;
    const import_job *ij;
    cg_source_info *info;
    cg_disk_sink *sink;
    cg_disk_writer *w;        /* into sink, once open */
    unsigned char *hdr;
    size_t hdr_n;
    unsigned long long done;
    int pct_hi;               /* progress at the last byte */
    char format[16];
} pump;

static void import_job_free(void *arg)
{
    import_job *ij = arg;

    if (ij) {
        cg_tags_release(&ij->tags);
        free(ij);
    }
}

static int job_cancelled(void *arg)
{
    pump *p = arg;

    return cg_job_cancelled(p->core->jobs, p->job_id);
}

/* Check the header and open the sink, then send what was held back. */
static int pump_open(pump *p, cg_error *err)
{
    const cg_core *c = p->core;
    const char *format = NULL;
    unsigned long long vsize = 0;
    cg_sink_spec spec = {0};

    if (cg_disk_header_check(p->hdr, p->hdr_n, p->info->size, p->declared, &format, &vsize,
                             err) < 0)
        return -1;
    snprintf(p->format, sizeof(p->format), "%s", format);
    spec.image_id = p->image_id;
    spec.zone = p->zone;
    spec.format = format;
    spec.virtual_size = vsize;
    spec.length = p->info->size;
    if (!p->image_id) {
        spec.name = p->ij->name[0] ? p->ij->name : NULL;
        spec.description = p->ij->description[0] ? p->ij->description : NULL;
        spec.tags = p->ij->tags.n ? &p->ij->tags : NULL;
    }
    cg_job_log(c->jobs, p->job_id, "format %s, %llu bytes, virtual size %llu bytes", format,
               p->info->size, vsize);
    if (CG_DRV_CALL(c->driver, c->drv, disk_sink_open, err, &spec, &p->sink) < 0 ||
        !(p->w = cg_disk_writer_new(c, p->sink, WRITE_CHUNK, err)) ||
        cg_disk_writer_write(p->w, p->hdr, p->hdr_n, err) < 0)
        return -1;
    free(p->hdr);
    p->hdr = NULL;
    return 0;
}

static int pump_write(const void *buf, size_t len, void *arg, cg_error *err)
{
    pump *p = arg;
    const cg_core *c = p->core;
    const unsigned char *b = buf;
    char msg[128];

    if (!p->sink) {
        size_t take = CG_DISK_HEADER_MAX - p->hdr_n;

        if (take > len)
            take = len;
        memcpy(p->hdr + p->hdr_n, b, take);
        p->hdr_n += take;
        b += take;
        len -= take;
        p->done += take;
        if (p->hdr_n < CG_DISK_HEADER_MAX)
            return 0;
        if (pump_open(p, err) < 0)
            return -1;
    }
    if (len && cg_disk_writer_write(p->w, b, len, err) < 0)
        return -1;
    p->done += len;
    snprintf(msg, sizeof(msg), "downloading: %.1f of %.1f MB", p->done / MB,
             p->info->size / MB);
    cg_job_progress(c->jobs, p->job_id,
                    p->info->size ? (int)(p->pct_hi * (double)p->done / p->info->size) : 0, msg);
    return 0;
}

/* Stream url into a new disk (a template's when image_id, else a volume).
 * vol_id (may be NULL) gets the volume's id.  0 or -1. */
static int transfer(const cg_core *c, const char *job_id, const import_job *ij,
                    const char *image_id, int pct_hi, char *vol_id, size_t vlen, cg_error *err)
{
    cg_source_info info;
    pump p = {.core = c, .job_id = job_id, .ij = ij, .info = &info, .image_id = image_id,
              .declared = ij->format[0] ? ij->format : NULL, .pct_hi = pct_hi,
              .zone = ij->zone[0] ? ij->zone : NULL};
    int ret = -1;

    if (cg_source_stat(c->cfg, ij->url, &info, err) < 0)
        goto cleanup;
    /* Glance's disk_format is the declaration when the request had none. */
    if (!p.declared && info.format[0])
        p.declared = info.format;
    if (info.size)
        cg_job_set_size(c->jobs, job_id, info.size);
    if (!(p.hdr = malloc(CG_DISK_HEADER_MAX))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    cg_job_log(c->jobs, job_id, "reading %s", ij->shown_url);
    if (cg_source_fetch(c->cfg, ij->url, pump_write, job_cancelled, &p, &info, err) < 0)
        goto cleanup;
    cg_job_set_size(c->jobs, job_id, info.size);
    if (!p.sink && pump_open(&p, err) < 0) /* shorter than a header's worth */
        goto cleanup;
    if (cg_disk_writer_flush(p.w, err) < 0)
        goto cleanup;
    cg_job_log(c->jobs, job_id, "%llu bytes received%s%s", p.done,
               info.verified[0] ? ", checksum verified: " : ", size verified",
               info.verified);
    ret = CG_DRV_CALL(c->driver, c->drv, disk_sink_finish, err, p.sink, vol_id, vlen);
    p.sink = NULL; /* finish frees it, also when it fails */

cleanup:
    cg_disk_writer_free(p.w); /* before the sink goes: it may be sending */
    if (p.sink && c->driver->disk_sink_abort)
        c->driver->disk_sink_abort(c->drv, p.sink);
    free(p.hdr);
    return ret;
}

/* ---- inspection, sealing, publishing ----------------------------------- */

int cg_image_inspect(const cg_core *c, const char *image_id, cg_os_info *out, cg_error *err)
{
    cg_disk_paths paths = {0};
    cg_error perr = {0};
    int ret = -1;

    memset(out, 0, sizeof(*out));
    out->cloud_init = -1;
    if (CG_DRV_CALL(c->driver, c->drv, image_disk_paths, &perr, image_id, &paths) < 0) {
        if (perr.kind == CG_ERR_UNSUPPORTED)
            return 0; /* nothing local to look at (test://, remote zones) */
        *err = perr;
        return -1;
    }
    if (cg_guest_inspect(&paths, out, err) == 0 &&
        CG_DRV_CALL(c->driver, c->drv, image_set_os, err, image_id, out) == 0)
        ret = 0;
    cg_disk_paths_release(&paths);
    return ret;
}

static int seal_cancelled(void *arg)
{
    const void *const *a = arg;

    return cg_job_cancelled((cg_jobs *)a[0], (const char *)a[1]);
}

static int seal(const cg_core *c, const char *job_id, const char *image_id, const cg_os_info *os,
                cg_error *err)
{
    cg_disk_paths paths = {0};
    const void *cargs[2] = {c->jobs, job_id};
    cg_error perr = {0};
    char log[4096];
    int fd = -1, ret = -1;

    /* perr, not err: cg_error_set keeps the first error it is given. */
    if (CG_DRV_CALL(c->driver, c->drv, image_disk_paths, &perr, image_id, &paths) < 0) {
        if (perr.kind == CG_ERR_UNSUPPORTED)
            cg_error_set(err, CG_ERR_UNSUPPORTED,
                         "sealing needs the image's disk in a zone on this host: %s",
                         perr.message);
        else
            *err = perr;
        return -1;
    }
    if (cg_job_log_path(c->jobs, job_id, log, sizeof(log)) == 0)
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    cg_job_log(c->jobs, job_id, "sealing with virt-sysprep");
    ret = cg_guest_seal(&paths, os && os->type[0] ? os : NULL, image_id, fd, seal_cancelled, cargs,
                        err);
    if (ret == 0)
        cg_job_log(c->jobs, job_id, "sealed");
    if (fd >= 0)
        close(fd);
    cg_disk_paths_release(&paths);
    return ret;
}

/* The steps after a template's disk exists: inspect (a failure is only
 * logged: an image libguestfs cannot read may still boot), seal, publish. */
int cg_image_finish(const cg_core *c, const char *job_id, const char *image_id, int sealing,
                    int pct, cg_error *err)
{
    cg_os_info os;
    cg_error ierr = {0};

    cg_job_progress(c->jobs, job_id, pct, "inspecting");
    if (cg_image_inspect(c, image_id, &os, &ierr) < 0)
        cg_job_log(c->jobs, job_id, "inspection failed: %s", ierr.message);
    else if (os.type[0])
        cg_job_log(c->jobs, job_id, "inspected: %s %s %s (%s), cloud-init %s", os.type,
                   os.distro, os.version, os.arch, os.cloud_init > 0 ? "yes" : "no");
    if (cg_job_cancelled(c->jobs, job_id)) {
        cg_error_set(err, CG_ERR_STATE, "cancelled");
        return -1;
    }
    if (sealing) {
        cg_job_progress(c->jobs, job_id, pct + 5, "sealing");
        if (seal(c, job_id, image_id, &os, err) < 0)
            return -1;
    }
    cg_job_progress(c->jobs, job_id, 97, "publishing");
    if (CG_DRV_CALL(c->driver, c->drv, image_publish, err, image_id) < 0)
        return -1;
    cg_job_log(c->jobs, job_id, "image %s available", image_id);
    return 0;
}

/* Remove a pending image and its disks (a failed or cancelled job). */
void cg_image_drop(const cg_core *c, const char *job_id, const char *image_id)
{
    cg_error e = {0};

    if (CG_DRV_CALL(c->driver, c->drv, image_discard, &e, image_id) < 0 &&
        e.kind != CG_ERR_NOT_FOUND)
        cg_warn("job %s: image %s not removed: %s", job_id, image_id, e.message);
    else
        cg_job_log(c->jobs, job_id, "removed image %s and its disks", image_id);
}

/* ---- import -------------------------------------------------------------- */

static int run_import(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    import_job *ij = arg;
    const cg_core *c = &ij->core;
    cg_pending_image_spec ps = {.name = ij->name[0] ? ij->name : job_id,
                                .description = ij->description[0] ? ij->description : NULL,
                                .job_id = job_id,
                                .tags = ij->tags.n ? &ij->tags : NULL};
    cg_image img = {0};
    char vol_id[64] = "", undo[64];

    if (ij->as == CG_IMPORT_VOLUME) {
        if (transfer(c, job_id, ij, NULL, 99, vol_id, sizeof(vol_id), err) < 0)
            return -1;
        cg_job_set_target(jobs, job_id, vol_id, NULL);
        cg_job_log(jobs, job_id, "volume %s available", vol_id);
        return 0;
    }
    if (CG_DRV_CALL(c->driver, c->drv, image_create_pending, err, &ps, &img) < 0)
        return -1;
    snprintf(ij->image_id, sizeof(ij->image_id), "%s", img.id);
    cg_image_release(&img);
    /* Recovery deletes the image should the gateway die from here on. */
    snprintf(undo, sizeof(undo), "image %s", ij->image_id);
    cg_job_set_undo(jobs, job_id, undo);
    cg_job_set_target(jobs, job_id, ij->image_id, NULL);
    if (transfer(c, job_id, ij, ij->image_id, 80, NULL, 0, err) < 0 ||
        cg_image_finish(c, job_id, ij->image_id, ij->seal, 82, err) < 0) {
        cg_image_drop(c, job_id, ij->image_id);
        return -1;
    }
    return 0;
}

int cg_import_submit(const cg_core *c, const cg_import_spec *spec, cg_job *out, cg_error *err)
{
    cg_job_opts o = {.can_cancel_running = 1};
    import_job *ij;

    if (spec->format && cg_v2v_import_format(spec->format))
        return cg_v2v_import_submit(c, spec, out, err);
    if (spec->format && strcmp(spec->format, "qcow2") && strcmp(spec->format, "raw")) {
        cg_error_set(err, CG_ERR_INVALID, "format '%.32s' is not qcow2 or raw", spec->format);
        return -1;
    }
    if (spec->seal && spec->as == CG_IMPORT_VOLUME) {
        cg_error_set(err, CG_ERR_INVALID, "only templates are sealed, not volumes");
        return -1;
    }
    if ((spec->name && strlen(spec->name) >= sizeof(ij->name)) ||
        (spec->description && strlen(spec->description) >= sizeof(ij->description)) ||
        (spec->zone && strlen(spec->zone) >= sizeof(ij->zone))) {
        cg_error_set(err, CG_ERR_INVALID, "name, description or zone too long");
        return -1;
    }
    if (cg_source_check(c->cfg, spec->url, err) < 0)
        return -1;
    if (!(ij = calloc(1, sizeof(*ij))) || (spec->tags && cg_tags_copy(&ij->tags, spec->tags) < 0)) {
        import_job_free(ij);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    ij->core = *c;
    snprintf(ij->url, sizeof(ij->url), "%s", spec->url);
    cg_source_display(spec->url, ij->shown_url, sizeof(ij->shown_url));
    snprintf(ij->format, sizeof(ij->format), "%s", spec->format ? spec->format : "");
    snprintf(ij->name, sizeof(ij->name), "%s", spec->name ? spec->name : "");
    snprintf(ij->description, sizeof(ij->description), "%s",
             spec->description ? spec->description : "");
    snprintf(ij->zone, sizeof(ij->zone), "%s", spec->zone ? spec->zone : "");
    ij->as = spec->as;
    ij->seal = spec->seal;
    o.action = spec->as == CG_IMPORT_VOLUME ? CG_JOB_IMPORT_VOLUME : CG_JOB_IMPORT_IMAGE;
    o.id_prefix = spec->as == CG_IMPORT_VOLUME ? "import-vol-" : "import-ami-";
    o.description = spec->description;
    o.source = ij->shown_url;
    o.format = spec->format;
    o.tags = spec->tags; /* the task's own tags; the image made gets them too */
    if (cg_jobs_submit_opts(c->jobs, &o, run_import, ij, import_job_free, out, err) < 0) {
        import_job_free(ij);
        return -1;
    }
    return 0;
}

/* ---- recovery ------------------------------------------------------------- */

static void recover_one(const cg_job *job, const char *undo, void *arg)
{
    const cg_core *c = arg;
    char id[32];

    if (sscanf(undo, "image %31s", id) == 1) {
        cg_warn("job %s was interrupted: removing its image %s", job->id, id);
        /* A seal the crash interrupted may still be running on the disk. */
        if (cg_guest_kill_leftovers(id) > 0)
            usleep(500 * 1000);
        cg_v2v_import_recover(undo); /* a conversion's process group and directory */
        cg_image_drop(c, job->id, id);
        if (strcmp(job->action, CG_JOB_CAPTURE) == 0)
            cg_capture_recover(c, job, undo); /* the snapshots of its volumes */
    }
}

int cg_core_zones_up(const cg_core *c, double wait_sec)
{
    double end = cg_monotonic() + wait_sec;
    cg_zone_list zl;
    cg_error e;
    size_t i;
    int up;

    do {
        memset(&zl, 0, sizeof(zl));
        memset(&e, 0, sizeof(e));
        up = CG_DRV_CALL(c->driver, c->drv, zone_list, &e, &zl) == 0;
        for (i = 0; up && i < zl.n; i++)
            up = strcmp(zl.v[i].state, "available") == 0;
        cg_zone_list_release(&zl);
        if (up)
            return 1;
        usleep(200 * 1000);
    } while (cg_monotonic() < end);
    return 0;
}

int cg_core_recover(const cg_core *c, cg_error *err)
{
    static const char *const actions[] = {CG_JOB_IMPORT_IMAGE, CG_JOB_CAPTURE};
    cg_image_list il = {0};
    cg_job job;
    cg_error e;
    size_t i;
    int n, total = 0;

    if ((total = cg_snapshots_recover(c, err)) < 0 || (n = cg_v2v_vm_import_recover(c, err)) < 0)
        return -1;
    total += n;
    /* Every job rolled back here left a pending image: none, nothing to do
     * (and no waiting for zones). */
    if (CG_DRV_CALL(c->driver, c->drv, image_list, err, &il) < 0)
        return -1;
    for (i = 0, n = 0; i < il.n; i++)
        n += strcmp(il.v[i].state, "pending") == 0;
    cg_image_list_release(&il);
    if (n == 0)
        return total;
    /* Unreachable zones would keep their copies: the pending images then
     * stay (not launchable) until a start that reaches every zone. */
    if (!cg_core_zones_up(c, 30.0)) {
        cg_warn("a zone is unreachable: interrupted image jobs are rolled back at a later start");
        return total;
    }

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if ((n = cg_jobs_recover(c->jobs, actions[i], recover_one, (void *)c, err)) < 0)
            return -1;
        total += n;
    }
    /* A pending image whose job is not queued or running anywhere (its
     * process died before the job recorded what to undo). */
    if (CG_DRV_CALL(c->driver, c->drv, image_list, err, &il) < 0)
        return -1;
    for (i = 0; i < il.n; i++) {
        if (strcmp(il.v[i].state, "pending") != 0)
            continue;
        memset(&e, 0, sizeof(e));
        if (il.v[i].job_id[0] && cg_jobs_get(c->jobs, il.v[i].job_id, &job, &e) == 0 &&
            (job.state == CG_JOB_QUEUED || job.state == CG_JOB_RUNNING))
            continue;
        cg_warn("image %s was left pending by job %s: removing it", il.v[i].id,
                il.v[i].job_id[0] ? il.v[i].job_id : "(none)");
        cg_guest_kill_leftovers(il.v[i].id);
        cg_image_drop(c, il.v[i].job_id, il.v[i].id);
        total++;
    }
    cg_image_list_release(&il);
    return total;
}
