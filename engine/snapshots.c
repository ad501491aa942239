/* cloudgate engine: snapshot jobs (see snapshots.h for the steps). */
#include "snapshots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/log.h"
#include "../gateway/util.h"

typedef struct snapshot_job {
    cg_core core;
    char job_id[32];
    char snapshot_id[24];
} snapshot_job;

static void on_progress(unsigned long long done, unsigned long long total, void *arg)
{
    snapshot_job *sj = arg;
    char msg[128];
    int pct = total ? (int)(done * 100.0 / total) : 0;

    snprintf(msg, sizeof(msg), "copying: %.1f of %.1f MiB", done / 1048576.0,
             total / 1048576.0);
    cg_job_progress(sj->core.jobs, sj->job_id, pct > 99 ? 99 : pct, msg);
}

static int on_cancelled(void *arg)
{
    snapshot_job *sj = arg;

    return cg_job_cancelled(sj->core.jobs, sj->job_id);
}

/* Remove a snapshot a job made (failure, cancel, recovery). */
void cg_snapshot_drop(const cg_core *c, const char *job_id, const char *snapshot_id)
{
    cg_error e = {0};

    if (CG_DRV_CALL(c->driver, c->drv, snapshot_delete, &e, snapshot_id, 1) == 0)
        cg_job_log(c->jobs, job_id, "removed snapshot %s", snapshot_id);
    else if (e.kind != CG_ERR_NOT_FOUND)
        cg_warn("job %s: snapshot %s not removed: %s", job_id, snapshot_id, e.message);
}

static int run_snapshot(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    snapshot_job *sj = arg;
    const cg_core *c = &sj->core;
    char undo[64];

    /* Recovery deletes the snapshot should the gateway die from here on. */
    snprintf(undo, sizeof(undo), "snapshot %s", sj->snapshot_id);
    cg_job_set_undo(jobs, job_id, undo);
    cg_job_progress(jobs, job_id, 0, "copying");
    cg_job_log(jobs, job_id, "copying the bytes of snapshot %s", sj->snapshot_id);
    if (CG_DRV_CALL(c->driver, c->drv, snapshot_copy, err, sj->snapshot_id, on_progress,
                    on_cancelled, sj) < 0) {
        cg_job_log(jobs, job_id, "copy failed: %s", err->message);
        cg_snapshot_drop(c, job_id, sj->snapshot_id);
        return -1;
    }
    cg_job_log(jobs, job_id, "snapshot %s completed", sj->snapshot_id);
    return 0;
}

int cg_snapshot_submit(const cg_core *c, const cg_snapshot_spec *spec, cg_snapshot *snap,
                       cg_job *out, cg_error *err)
{
    cg_snapshot_spec s = *spec;
    cg_job_opts o = {.action = CG_JOB_SNAPSHOT, .can_cancel_running = 1};
    snapshot_job *sj = NULL;
    char job_id[32];
    int made = 0, ret = -1;

    memset(snap, 0, sizeof(*snap));
    cg_new_id(job_id, sizeof(job_id), "job-");
    s.job_id = job_id;
    if (!(sj = calloc(1, sizeof(*sj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (CG_DRV_CALL(c->driver, c->drv, snapshot_create_pending, err, &s, snap) < 0)
        goto cleanup;
    made = 1;
    sj->core = *c;
    snprintf(sj->job_id, sizeof(sj->job_id), "%s", job_id);
    snprintf(sj->snapshot_id, sizeof(sj->snapshot_id), "%s", snap->id);
    o.id = job_id;
    o.target = snap->id;
    o.description = spec->description;
    o.source = spec->source_id;
    if (cg_jobs_submit_opts(c->jobs, &o, run_snapshot, sj, free, out, err) < 0)
        goto cleanup;
    sj = NULL;
    ret = 0;

cleanup:
    free(sj);
    if (ret < 0 && made) {
        cg_snapshot_drop(c, job_id, snap->id);
        cg_snapshot_release(snap);
    }
    return ret;
}

/* The snapshot called id in list, or NULL. */
static const cg_snapshot *find(const cg_snapshot_list *list, const char *id)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0)
            return &list->v[i];
    }
    return NULL;
}

static void recover_one(const cg_job *job, const char *undo, void *arg)
{
    const void *const *a = arg;
    const cg_core *c = a[0];
    const cg_snapshot *s;
    char id[32];

    if (sscanf(undo, "snapshot %31s", id) != 1)
        return;
    /* Completed just before the crash (the job's end not yet recorded):
     * whole, so it stays. */
    if ((s = find(a[1], id)) && strcmp(s->state, "pending") != 0) {
        cg_warn("job %s was interrupted after its snapshot %s completed: kept", job->id, id);
        return;
    }
    cg_warn("job %s was interrupted: removing its snapshot %s", job->id, id);
    cg_snapshot_drop(c, job->id, id);
}

int cg_snapshots_recover(const cg_core *c, cg_error *err)
{
    cg_snapshot_list sl = {0};
    const void *args[2] = {c, &sl};
    cg_job job;
    cg_error e;
    size_t i;
    int n, total = -1;

    /* Every job rolled back here left a pending snapshot: none, nothing to
     * do (and no waiting for zones). */
    if (CG_DRV_CALL(c->driver, c->drv, snapshot_list, err, &sl) < 0)
        return -1;
    for (i = 0, n = 0; i < sl.n; i++)
        n += strcmp(sl.v[i].state, "pending") == 0;
    if (n == 0) {
        total = 0;
        goto cleanup;
    }
    /* An unreachable zone keeps the snapshot's volume: then they stay
     * pending until a start that reaches every zone. */
    if (!cg_core_zones_up(c, 30.0)) {
        cg_warn("a zone is unreachable: interrupted snapshot jobs are rolled back at a later "
                "start");
        total = 0;
        goto cleanup;
    }
    if ((total = cg_jobs_recover(c->jobs, CG_JOB_SNAPSHOT, recover_one, args, err)) < 0)
        goto cleanup;
    cg_snapshot_list_release(&sl);
    /* A pending snapshot whose job is not queued or running (its process
     * died before the job recorded what to undo). */
    if (CG_DRV_CALL(c->driver, c->drv, snapshot_list, err, &sl) < 0) {
        total = -1;
        goto cleanup;
    }
    for (i = 0, n = 0; i < sl.n; i++) {
        if (strcmp(sl.v[i].state, "pending") != 0)
            continue;
        memset(&e, 0, sizeof(e));
        if (sl.v[i].job_id[0] && cg_jobs_get(c->jobs, sl.v[i].job_id, &job, &e) == 0 &&
            (job.state == CG_JOB_QUEUED || job.state == CG_JOB_RUNNING))
            continue;
        cg_warn("snapshot %s was left pending by job %s: removing it", sl.v[i].id,
                sl.v[i].job_id[0] ? sl.v[i].job_id : "(none)");
        cg_snapshot_drop(c, sl.v[i].job_id, sl.v[i].id);
        n++;
    }
    total += n;

cleanup:
    cg_snapshot_list_release(&sl);
    return total;
}
