/* cloudgate engine: capture jobs (EC2 CreateImage, CIMI capture).
 *
 * As in EC2, the image holds every EBS volume attached to the instance:
 * each one is snapshotted first (a snapshot job's copy, run inside this
 * job; DescribeSnapshots shows "Created by CreateImage(i-..) for ami-.."),
 * then the root disk is copied and the snapshots become the image's
 * further disks (block device mappings), which each launch copies into
 * new volumes.  Progress: the volumes 5..35%, the root 35..70%, then
 * inspection, sealing (every disk together) and publishing.
 *
 * Rollback: the pending image goes first (it holds the snapshots through
 * its mappings), then the snapshots.  The job's undo text names the image
 * and each snapshot as soon as it exists, so a restart after a crash
 * removes them too; a snapshot made just before its name reached the undo
 * text is still pending and carries the job's id, which is enough for
 * cg_snapshots_recover.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/log.h"
#include "../gateway/util.h"
#include "images.h"
#include "snapshots.h"

#define MAX_VOLUMES 25 /* vdb..vdz */

typedef struct capture_job {
    cg_core core;
    char image_id[24];
    char instance_id[24];
    int seal;
    cg_display display;        /* asked for, or DEFAULT: the instance's */
    char skip[MAX_VOLUMES][8]; /* attached devices left out (NoDevice) */
    size_t n_skip;
    /* filled by the job */
    char job_id[32];
    cg_image_mapping maps[MAX_VOLUMES];
    size_t n_maps;
    int pct_lo, pct_hi; /* the current copy's share of the progress */
} capture_job;

static void on_progress(unsigned long long done, unsigned long long total, void *arg)
{
    capture_job *cj = arg;
    int pct = cj->pct_lo + (total ? (int)((cj->pct_hi - cj->pct_lo) * (double)done / total) : 0);

    cg_job_progress(cj->core.jobs, cj->job_id, pct, NULL);
}

static int on_cancelled(void *arg)
{
    capture_job *cj = arg;

    return cg_job_cancelled(cj->core.jobs, cj->job_id);
}

static int skipped(const capture_job *cj, const char *device)
{
    size_t i;

    for (i = 0; i < cj->n_skip; i++)
        if (strcmp(cj->skip[i], device) == 0)
            return 1;
    return 0;
}

/* "image ID snap-.. snap-..": what a restart removes should we die now. */
static void record_undo(capture_job *cj)
{
    char undo[64 + MAX_VOLUMES * 24];
    size_t i, n;

    n = (size_t)snprintf(undo, sizeof(undo), "image %s", cj->image_id);
    for (i = 0; i < cj->n_maps && n < sizeof(undo); i++)
        n += (size_t)snprintf(undo + n, sizeof(undo) - n, " %s", cj->maps[i].snapshot_id);
    cg_job_set_undo(cj->core.jobs, cj->job_id, undo);
}

/* Snapshot every volume attached to the instance (but the skipped ones)
 * into cj->maps, sorted by device.  0 or -1. */
static int snapshot_volumes(capture_job *cj, cg_error *err)
{
    const cg_core *c = &cj->core;
    cg_volume_list vl = {0};
    char desc[96];
    size_t i, n = 0, k;
    int ret = -1;

    if (CG_DRV_CALL(c->driver, c->drv, volume_list, err, &vl) < 0)
        return -1;
    for (i = 0; i < vl.n; i++)
        n += strcmp(vl.v[i].attached_to, cj->instance_id) == 0 && !skipped(cj, vl.v[i].device);
    if (n > MAX_VOLUMES) {
        cg_error_set(err, CG_ERR_INVALID, "instance %s has %zu volumes attached, at most %d",
                     cj->instance_id, n, MAX_VOLUMES);
        goto cleanup;
    }
    snprintf(desc, sizeof(desc), "Created by CreateImage(%s) for %s", cj->instance_id,
             cj->image_id);
    for (i = 0, k = 0; i < vl.n; i++) {
        const cg_volume *v = &vl.v[i];
        cg_snapshot_spec ss = {.source_id = v->id, .description = desc, .job_id = cj->job_id};
        cg_image_mapping *m = &cj->maps[cj->n_maps];
        cg_snapshot snap = {0};

        if (strcmp(v->attached_to, cj->instance_id) != 0 || skipped(cj, v->device))
            continue;
        if (CG_DRV_CALL(c->driver, c->drv, snapshot_create_pending, err, &ss, &snap) < 0)
            goto cleanup;
        snprintf(m->device, sizeof(m->device), "%.7s", v->device);
        snprintf(m->snapshot_id, sizeof(m->snapshot_id), "%s", snap.id);
        m->size_bytes = v->size_bytes;
        m->delete_on_termination = v->delete_on_termination;
        cj->n_maps++;
        cg_snapshot_release(&snap);
        record_undo(cj);
        cj->pct_lo = 5 + (int)(30 * k / n);
        cj->pct_hi = 5 + (int)(30 * (k + 1) / n);
        k++;
        cg_job_progress(c->jobs, cj->job_id, cj->pct_lo, "snapshotting the volumes");
        cg_job_log(c->jobs, cj->job_id, "snapshot %s of volume %s (%s)", m->snapshot_id, v->id,
                   v->device);
        if (CG_DRV_CALL(c->driver, c->drv, snapshot_copy, err, m->snapshot_id, on_progress,
                        on_cancelled, cj) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    cg_volume_list_release(&vl);
    return ret;
}

static int run_capture(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    capture_job *cj = arg;
    const cg_core *c = &cj->core;
    cg_capture_spec spec = {
        .instance_id = cj->instance_id, .image_id = cj->image_id, .display = cj->display};
    cg_image img = {0};
    size_t i;

    snprintf(cj->job_id, sizeof(cj->job_id), "%s", job_id);
    record_undo(cj);
    if (snapshot_volumes(cj, err) < 0)
        goto fail;
    spec.mappings = cj->maps;
    spec.n_mappings = cj->n_maps;
    cg_job_progress(jobs, job_id, 35, "copying the disk");
    cg_job_log(jobs, job_id, "copying the disk of %s into %s", cj->instance_id, cj->image_id);
    if (CG_DRV_CALL(c->driver, c->drv, image_capture, err, &spec, &img) < 0 ||
        cg_image_finish(c, job_id, cj->image_id, cj->seal, 70, err) < 0)
        goto fail;
    cg_image_release(&img);
    return 0;

fail:
    cg_job_log(jobs, job_id, "capture failed: %s", err->message);
    cg_image_release(&img);
    cg_image_drop(c, job_id, cj->image_id);
    /* The image takes its mappings' snapshots along only once image_capture
     * recorded them; before that (or when it failed) they are ours. */
    for (i = 0; i < cj->n_maps; i++)
        cg_snapshot_drop(c, job_id, cj->maps[i].snapshot_id);
    return -1;
}

/* CG_ERR_MISSING / NOT_FOUND / STATE unless the instance can be captured. */
static int capturable(const cg_core *c, const char *instance_id, cg_error *err)
{
    cg_instance_list il = {0};
    size_t i;
    int found = 0, pending = 0;

    if (CG_DRV_CALL(c->driver, c->drv, instance_list, err, &il) < 0)
        return -1;
    for (i = 0; i < il.n; i++)
        if (strcmp(il.v[i].id, instance_id) == 0) {
            found |= il.v[i].state != CG_STATE_TERMINATED;
            pending |= il.v[i].state == CG_STATE_PENDING;
        }
    cg_instance_list_release(&il);
    if (!found) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "instance %s does not exist", instance_id);
        return -1;
    }
    /* As on EC2; and an instance being imported has no disk to copy yet. */
    if (pending) {
        cg_error_set(err, CG_ERR_STATE, "instance %s is pending: it cannot be captured yet",
                     instance_id);
        return -1;
    }
    return 0;
}

int cg_capture_submit(const cg_core *c, const cg_capture_spec *spec, cg_image *img, cg_job *out,
                      cg_error *err)
{
    cg_pending_image_spec ps = {.name = spec->name,
                                .description = spec->description,
                                .source_instance = spec->instance_id,
                                .display = spec->display,
                                .tags = spec->tags};
    cg_job_opts o = {.action = CG_JOB_CAPTURE, .can_cancel_running = 1};
    capture_job *cj = NULL;
    char job_id[32];
    size_t i;
    int ret = -1;

    memset(img, 0, sizeof(*img));
    if (!spec->instance_id || strlen(spec->instance_id) >= sizeof(cj->instance_id)) {
        cg_error_set(err, CG_ERR_MISSING, "an instance to capture is required");
        return -1;
    }
    if (spec->n_skip > MAX_VOLUMES) {
        cg_error_set(err, CG_ERR_INVALID, "at most %d devices can be left out", MAX_VOLUMES);
        return -1;
    }
    /* Refuse an unknown or gone instance before making an image for it. */
    if (capturable(c, spec->instance_id, err) < 0)
        return -1;
    cg_new_id(job_id, sizeof(job_id), "job-");
    ps.job_id = job_id;
    o.id = job_id;
    if (CG_DRV_CALL(c->driver, c->drv, image_create_pending, err, &ps, img) < 0)
        return -1;
    o.target = img->id;
    if (!(cj = calloc(1, sizeof(*cj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    cj->core = *c;
    cj->seal = spec->seal;
    cj->display = spec->display;
    snprintf(cj->image_id, sizeof(cj->image_id), "%s", img->id);
    snprintf(cj->instance_id, sizeof(cj->instance_id), "%s", spec->instance_id);
    for (i = 0; i < spec->n_skip; i++)
        snprintf(cj->skip[i], sizeof(cj->skip[i]), "%s", spec->skip_devices[i]);
    cj->n_skip = spec->n_skip;
    if (cg_jobs_submit_opts(c->jobs, &o, run_capture, cj, free, out, err) < 0)
        goto cleanup;
    cj = NULL;
    ret = 0;

cleanup:
    if (ret < 0) {
        free(cj);
        cg_image_drop(c, job_id, img->id);
        cg_image_release(img);
    }
    return ret;
}

void cg_capture_recover(const cg_core *c, const cg_job *job, const char *undo)
{
    const char *p;
    char id[32];
    int n;

    /* Named in the undo text, after "image ID".  (One made but not yet
     * named there is still pending with the job's id: cg_snapshots_recover
     * has removed it.) */
    for (p = strstr(undo, " snap-"); p && sscanf(p, " %31s%n", id, &n) == 1; p += n) {
        cg_warn("job %s was interrupted: removing its snapshot %s", job->id, id);
        cg_snapshot_drop(c, job->id, id);
    }
}
