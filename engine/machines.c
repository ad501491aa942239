/* cloudgate engine: machine creation and volume attach / detach as jobs.
 * The instance itself is made in the request (so the answer can name it);
 * the job waits for it, adds its volumes, reaches the initial state and, if
 * any of that fails, deletes what it made. */
#include "machines.h"

#include "../gateway/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a job waits for a machine to reach a state. */
#define WAIT_SECONDS 120

/* ---- machine state ------------------------------------------------------------ */

int cg_machine_state(const cg_core *core, const char *id, cg_instance_state *state,
                     cg_instance_sub *sub, cg_error *err)
{
    cg_instance_list insts = {0};
    size_t i;
    int ret = 1;

    if (CG_DRV_CALL(core->driver, core->drv, instance_list, err, &insts) < 0)
        return -1;
    for (i = 0; i < insts.n; i++) {
        if (strcmp(insts.v[i].id, id) == 0 && insts.v[i].state != CG_STATE_TERMINATED) {
            *state = insts.v[i].state;
            *sub = insts.v[i].sub;
            ret = 0;
            break;
        }
    }
    cg_instance_list_release(&insts);
    return ret;
}

int cg_machine_wait(const cg_core *core, const char *job_id, const char *id,
                    cg_instance_state state, cg_instance_sub sub, cg_error *err)
{
    cg_instance_state st = CG_STATE_PENDING;
    cg_instance_sub now = CG_SUB_NONE;
    int r, i;

    cg_job_progress(core->jobs, job_id, 50, "waiting for the machine");
    for (i = 0; i < WAIT_SECONDS * 10; i++) {
        r = cg_machine_state(core, id, &st, &now, err);
        if (r < 0)
            return -1;
        if (r == 1 ? state == CG_STATE_TERMINATED : st == state && now == sub) {
            cg_job_progress(core->jobs, job_id, 100, NULL);
            return 0;
        }
        if (r == 1) {
            cg_error_set(err, CG_ERR_NOT_FOUND, "machine %s disappeared", id);
            return -1;
        }
        usleep(100 * 1000);
    }
    cg_error_set(err, CG_ERR_INTERNAL, "machine %s did not become %s%s in %d s", id,
                 cg_instance_state_name(state),
                 sub == CG_SUB_PAUSED      ? " (paused)"
                 : sub == CG_SUB_SUSPENDED ? " (suspended)"
                                           : "",
                 WAIT_SECONDS);
    return -1;
}

/* ---- creation ------------------------------------------------------------------- */

typedef struct create_job {
    cg_core core;
    char id[32];   /* the instance */
    char zone[64];
    int initial_stopped;
    cg_machine_volume volumes[CG_MACHINE_MAX_VOLUMES];
    size_t n_volumes;
} create_job;

/* Undo a failed creation: the instance (which releases its volumes) and the
 * volumes made for it. */
static void create_rollback(const cg_core *core, const char *id, char made[][32], size_t n_made)
{
    cg_state_change chg;
    cg_error err = {0};
    size_t i;
    int tries;

    if (CG_DRV_CALL(core->driver, core->drv, instance_terminate, &err, id, &chg) < 0)
        return; /* the job's error says what failed first */
    for (i = 0; i < n_made; i++) {
        /* The terminate releases the attachment; retry briefly while it does. */
        for (tries = 0; tries < 50; tries++) {
            cg_error e = {0};
            if (CG_DRV_CALL(core->driver, core->drv, volume_delete, &e, made[i]) == 0 ||
                e.kind != CG_ERR_STATE)
                break;
            usleep(100 * 1000);
        }
    }
}

/* Append " item" (or ",item") to a bounded list. */
static void list_add(char *list, size_t len, const char *sep, const char *item)
{
    size_t n = strlen(list);

    snprintf(list + n, len - n, "%s%s", n ? sep : "", item);
}

static int run_create(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    create_job *cj = arg;
    const cg_core *core = &cj->core;
    char made[CG_MACHINE_MAX_VOLUMES][32], affected[512] = "", undo[512] = "";
    size_t n_made = 0, i;
    cg_state_change chg;
    cg_volume vol = {0};

    if (cg_machine_wait(core, job_id, cj->id, CG_STATE_RUNNING, CG_SUB_NONE, err) < 0)
        goto fail;
    for (i = 0; i < cj->n_volumes; i++) {
        const cg_machine_volume *v = &cj->volumes[i];
        const char *vid = v->volume_id;
        cg_job_progress(jobs, job_id, 60 + (int)(30 * i / cj->n_volumes), "adding volumes");
        if (!vid[0]) {
            cg_volume_spec spec = {.zone = cj->zone,
                                   .size_bytes = v->create_bytes,
                                   .format = v->format[0] ? v->format : NULL};
            if (CG_DRV_CALL(core->driver, core->drv, volume_create, err, &spec, &vol) < 0)
                goto fail;
            snprintf(made[n_made++], sizeof(made[0]), "%s", vol.id);
            vid = made[n_made - 1];
            cg_volume_release(&vol);
            /* For cg_machines_recover, should the gateway die from here on. */
            list_add(undo, sizeof(undo), " ", vid);
            cg_job_set_undo(jobs, job_id, undo);
        }
        list_add(affected, sizeof(affected), ",", vid);
        if (CG_DRV_CALL(core->driver, core->drv, volume_attach, err, vid, cj->id,
                        v->device[0] ? v->device : NULL, &vol) < 0)
            goto fail;
        cg_volume_release(&vol);
    }
    if (affected[0])
        cg_job_set_target(jobs, job_id, cj->id, affected);
    if (cj->initial_stopped) {
        if (CG_DRV_CALL(core->driver, core->drv, instance_stop, err, cj->id, 1, &chg) < 0 ||
            cg_machine_wait(core, job_id, cj->id, CG_STATE_STOPPED, CG_SUB_NONE, err) < 0)
            goto fail;
    }
    cg_job_progress(jobs, job_id, 100, NULL);
    return 0;

fail:
    create_rollback(core, cj->id, made, n_made);
    return -1;
}

/* Volumes named by the spec must exist, be free and share a zone with the
 * machine (which the driver then picks). */
static int check_volumes(const cg_core *core, const cg_machine_create_spec *spec, char *zone,
                         size_t zlen, cg_error *err)
{
    cg_volume_list vols = {0};
    size_t i, j;
    int ret = -1;

    for (i = 0; i < spec->n_volumes && !spec->volumes[i].volume_id[0]; i++)
        ;
    if (i == spec->n_volumes)
        return 0;
    if (CG_DRV_CALL(core->driver, core->drv, volume_list, err, &vols) < 0)
        return -1;
    for (i = 0; i < spec->n_volumes; i++) {
        const char *vid = spec->volumes[i].volume_id;
        if (!vid[0])
            continue;
        for (j = 0; j < vols.n && strcmp(vols.v[j].id, vid) != 0; j++)
            ;
        if (j == vols.n) {
            cg_error_set(err, CG_ERR_INVALID, "Volume '%s' does not exist", vid);
            goto cleanup;
        }
        if (vols.v[j].attached_to[0]) {
            cg_error_set(err, CG_ERR_STATE, "Volume '%s' is attached to %s", vid,
                         vols.v[j].attached_to);
            goto cleanup;
        }
        if (zone[0] && strcmp(zone, vols.v[j].zone) != 0) {
            cg_error_set(err, CG_ERR_INVALID, "the volumes are in different zones (%s, %s)", zone,
                         vols.v[j].zone);
            goto cleanup;
        }
        snprintf(zone, zlen, "%s", vols.v[j].zone);
    }
    ret = 0;

cleanup:
    cg_volume_list_release(&vols);
    return ret;
}

int cg_machine_create_submit(const cg_core *core, const cg_machine_create_spec *spec,
                             cg_instance *out, cg_job *job, cg_error *err)
{
    cg_launch_spec launch = {0};
    cg_instance_list made = {0};
    create_job *cj = NULL;
    char zone[64] = "";
    size_t i;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!core->jobs) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no job store is configured");
        goto cleanup;
    }
    if (spec->n_volumes > CG_MACHINE_MAX_VOLUMES) {
        cg_error_set(err, CG_ERR_INVALID, "at most %d volumes per machine",
                     CG_MACHINE_MAX_VOLUMES);
        goto cleanup;
    }
    if (check_volumes(core, spec, zone, sizeof(zone), err) < 0)
        goto cleanup;
    if (!(cj = calloc(1, sizeof(*cj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    launch.image_id = spec->image_id;
    launch.type = spec->type;
    launch.zone = zone[0] ? zone : NULL;
    launch.min_count = launch.max_count = 1;
    launch.key_name = spec->key_name;
    launch.public_key = spec->public_key;
    launch.user_data = spec->user_data;
    launch.user_data_len = spec->user_data_len;
    launch.tags = spec->tags;
    launch.display = spec->display;
    if (CG_DRV_CALL(core->driver, core->drv, instance_run, err, &launch, &made) < 0)
        goto cleanup;
    if (made.n != 1 || cg_instance_copy(out, &made.v[0]) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "the driver made %zu instances, not 1", made.n);
        goto cleanup;
    }
    cj->core = *core;
    snprintf(cj->id, sizeof(cj->id), "%s", out->id);
    snprintf(cj->zone, sizeof(cj->zone), "%s", out->zone);
    cj->initial_stopped = spec->initial_stopped;
    if (spec->n_volumes)
        memcpy(cj->volumes, spec->volumes, spec->n_volumes * sizeof(cj->volumes[0]));
    cj->n_volumes = spec->n_volumes;
    if (cg_jobs_submit(core->jobs, CG_JOB_CREATE_MACHINE, out->id, run_create, cj, free, job,
                       err) < 0)
        goto cleanup;
    cj = NULL; /* the job owns it */
    ret = 0;

cleanup:
    /* A failure leaves no instance behind. */
    for (i = 0; ret < 0 && i < made.n; i++) {
        cg_state_change chg;
        cg_error ignored = {0};
        CG_DRV_CALL(core->driver, core->drv, instance_terminate, &ignored, made.v[i].id, &chg);
    }
    if (ret < 0)
        cg_instance_release(out);
    free(cj);
    cg_instance_list_release(&made);
    return ret;
}

/* cg_job_recover_fn: the job's own failure path, for a job a restart cut
 * short.  target: the machine; undo: the volumes it made. */
static void recover_create(const cg_job *job, const char *undo, void *arg)
{
    const cg_core *core = arg;
    char made[CG_MACHINE_MAX_VOLUMES][32], list[512], id[32], *tok, *save = NULL;
    cg_state_change chg;
    size_t n = 0;
    int tries;

    if (strlen(job->target) >= sizeof(id))
        return; /* not a machine id */
    memcpy(id, job->target, strlen(job->target) + 1);
    snprintf(list, sizeof(list), "%s", undo);
    for (tok = strtok_r(list, " ", &save); tok && n < CG_MACHINE_MAX_VOLUMES;
         tok = strtok_r(NULL, " ", &save))
        snprintf(made[n++], sizeof(made[0]), "%s", tok);
    /* The zone may still be connecting: give it a moment. */
    for (tries = 0; tries < 100; tries++) {
        cg_error e = {0};
        if (CG_DRV_CALL(core->driver, core->drv, instance_terminate, &e, id, &chg) == 0 ||
            e.kind != CG_ERR_UNAVAILABLE)
            break;
        usleep(100 * 1000);
    }
    create_rollback(core, id, made, n);
    cg_warn("job %s: interrupted creation of %s rolled back (%zu volume(s) made)", job->id, id,
            n);
}

int cg_machines_recover(const cg_core *core)
{
    cg_error err = {0};
    int n;

    if (!core->jobs)
        return 0;
    n = cg_jobs_recover(core->jobs, CG_JOB_CREATE_MACHINE, recover_create, (void *)core, &err);
    if (n < 0)
        cg_err("interrupted machine creations not rolled back: %s", err.message);
    return n;
}

/* ---- attach and detach ------------------------------------------------------------ */

typedef struct volume_job {
    cg_core core;
    char volume[32];
    char instance[32];
    char device[16];
    int detach;
} volume_job;

static int run_volume(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    volume_job *vj = arg;
    cg_volume vol = {0};
    int r;

    cg_job_progress(jobs, job_id, 10, vj->detach ? "detaching" : "attaching");
    if (vj->detach)
        r = CG_DRV_CALL(vj->core.driver, vj->core.drv, volume_detach, err, vj->volume, &vol);
    else
        r = CG_DRV_CALL(vj->core.driver, vj->core.drv, volume_attach, err, vj->volume,
                        vj->instance, vj->device[0] ? vj->device : NULL, &vol);
    cg_volume_release(&vol);
    if (r < 0)
        return -1;
    cg_job_progress(jobs, job_id, 100, NULL);
    return 0;
}

static int volume_submit(const cg_core *core, const char *volume_id, const char *instance_id,
                         const char *device, int detach, cg_job *job, cg_error *err)
{
    volume_job *vj;

    if (!core->jobs) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no job store is configured");
        return -1;
    }
    if (!(vj = calloc(1, sizeof(*vj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    vj->core = *core;
    snprintf(vj->volume, sizeof(vj->volume), "%s", volume_id);
    snprintf(vj->instance, sizeof(vj->instance), "%s", instance_id);
    snprintf(vj->device, sizeof(vj->device), "%s", device ? device : "");
    vj->detach = detach;
    if (cg_jobs_submit(core->jobs, detach ? CG_JOB_DETACH_VOLUME : CG_JOB_ATTACH_VOLUME,
                       instance_id, run_volume, vj, free, job, err) < 0) {
        free(vj);
        return -1;
    }
    cg_job_set_target(core->jobs, job->id, instance_id, volume_id);
    return 0;
}

int cg_volume_attach_submit(const cg_core *core, const char *volume_id, const char *instance_id,
                            const char *device, cg_job *job, cg_error *err)
{
    return volume_submit(core, volume_id, instance_id, device, 0, job, err);
}

int cg_volume_detach_submit(const cg_core *core, const char *volume_id, const char *instance_id,
                            cg_job *job, cg_error *err)
{
    return volume_submit(core, volume_id, instance_id, NULL, 1, job, err);
}
