/* cloudgate: the jobs behind a CIMI machine creation and a volume attach or
 * detach.  The instance itself is made in the request (so the 202 can name
 * it in Location); the job waits for it, adds its volumes, reaches the
 * initial state and, if any of that fails, deletes what it made. */
#include "cimi_internal.h"
#include "cimi.h"
#include "../../gateway/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct create_job {
    const cg_driver *driver;
    cg_drv *drv;
    char id[32];
    char zone[64];
    cimi_launch l;
} create_job;

static void create_job_free(void *arg)
{
    create_job *cj = arg;

    if (!cj)
        return;
    free(cj->l.user_data);
    free(cj);
}

/* Undo a failed creation: the instance (which releases its volumes) and the
 * volumes made for it. */
static void create_rollback(create_job *cj, char made[][32], size_t n_made)
{
    cg_state_change chg;
    cg_error err = {0};
    size_t i;
    int tries;

    if (CG_DRV_CALL(cj->driver, cj->drv, instance_terminate, &err, cj->id, &chg) < 0)
        return; /* the job's error says what failed first */
    for (i = 0; i < n_made; i++) {
        /* The terminate releases the attachment; retry briefly while it does. */
        for (tries = 0; tries < 50; tries++) {
            cg_error e = {0};
            if (CG_DRV_CALL(cj->driver, cj->drv, volume_delete, &e, made[i]) == 0 ||
                e.kind != CG_ERR_STATE)
                break;
            usleep(100 * 1000);
        }
    }
}

static int run_create(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    create_job *cj = arg;
    char made[8][32], affected[512] = "", undo[512] = "";
    size_t n_made = 0, i;
    cg_state_change chg;
    cg_volume vol = {0};

    if (cimi_wait_machine(jobs, job_id, cj->driver, cj->drv, cj->id, CIMI_M_STARTED, err) < 0)
        goto fail;
    for (i = 0; i < cj->l.n_volumes; i++) {
        const char *dev = cj->l.volumes[i].device[0] ? cj->l.volumes[i].device : NULL;
        const char *vid = cj->l.volumes[i].volume_id;
        cg_job_progress(jobs, job_id, 60 + (int)(30 * i / cj->l.n_volumes), "adding volumes");
        if (!vid[0]) {
            cg_volume_spec spec = {.zone = cj->zone,
                                   .size_bytes = cj->l.volumes[i].create_bytes,
                                   .format =
                                       cj->l.volumes[i].format[0] ? cj->l.volumes[i].format : NULL};
            if (CG_DRV_CALL(cj->driver, cj->drv, volume_create, err, &spec, &vol) < 0)
                goto fail;
            snprintf(made[n_made++], sizeof(made[0]), "%s", vol.id);
            vid = made[n_made - 1];
            cg_volume_release(&vol);
            /* For cimi_create_recover, should the gateway die from here on. */
            snprintf(undo + strlen(undo), sizeof(undo) - strlen(undo), "%s%s",
                     undo[0] ? " " : "", vid);
            cg_job_set_undo(jobs, job_id, undo);
        }
        snprintf(affected + strlen(affected), sizeof(affected) - strlen(affected), "%s%s",
                 affected[0] ? "," : "", vid);
        if (CG_DRV_CALL(cj->driver, cj->drv, volume_attach, err, vid, cj->id, dev, &vol) < 0)
            goto fail;
        cg_volume_release(&vol);
    }
    if (affected[0])
        cg_job_set_target(jobs, job_id, cj->id, affected);
    if (cj->l.initial_stopped) {
        if (CG_DRV_CALL(cj->driver, cj->drv, instance_stop, err, cj->id, 1, &chg) < 0 ||
            cimi_wait_machine(jobs, job_id, cj->driver, cj->drv, cj->id, CIMI_M_STOPPED, err) < 0)
            goto fail;
    }
    cg_job_progress(jobs, job_id, 100, NULL);
    return 0;

fail:
    create_rollback(cj, made, n_made);
    return -1;
}

/* Volumes named by the template must exist, be free and share a zone with
 * the machine (which the driver then picks). */
static int check_volumes(const gw_ctx *ctx, const cimi_launch *l, char *zone, size_t zlen,
                         cg_error *err)
{
    cg_volume_list vols = {0};
    size_t i, j;
    int ret = -1;

    for (i = 0; i < l->n_volumes && !l->volumes[i].volume_id[0]; i++)
        ;
    if (i == l->n_volumes)
        return 0;
    if (CG_DRV_CALL(ctx->driver, ctx->drv, volume_list, err, &vols) < 0)
        return -1;
    for (i = 0; i < l->n_volumes; i++) {
        const char *vid = l->volumes[i].volume_id;
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

int cimi_machine_create_submit(const gw_ctx *ctx, cimi_launch *l, const cg_tags *tags,
                               cg_instance *inst, cg_job *out, cg_error *err)
{
    const cg_instance_type *type = cg_config_find_type(ctx->cfg, l->type_name);
    cg_launch_spec spec = {0};
    cg_instance_list made = {0};
    cg_keypair kp = {0};
    create_job *cj = NULL;
    char zone[64] = "";
    int ret = -1;

    memset(inst, 0, sizeof(*inst));
    if (!ctx->jobs) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no job store is configured");
        goto cleanup;
    }
    if (!type) {
        cg_error_set(err, CG_ERR_INVALID, "MachineConfiguration '%s' does not exist", l->type_name);
        goto cleanup;
    }
    if (l->key_name[0] && (!ctx->keys || cg_keypair_get(ctx->keys, l->key_name, &kp, err) < 0))
        goto cleanup;
    if (check_volumes(ctx, l, zone, sizeof(zone), err) < 0)
        goto cleanup;
    spec.image_id = l->image_id;
    spec.type = type;
    spec.zone = zone[0] ? zone : NULL;
    spec.min_count = spec.max_count = 1;
    spec.key_name = l->key_name[0] ? l->key_name : NULL;
    spec.public_key = kp.public_key;
    spec.user_data = l->user_data;
    spec.user_data_len = l->user_data_len;
    spec.tags = tags;
    spec.display = l->display;
    if (!(cj = calloc(1, sizeof(*cj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (CG_DRV_CALL(ctx->driver, ctx->drv, instance_run, err, &spec, &made) < 0)
        goto cleanup;
    if (made.n != 1 || cg_instance_copy(inst, &made.v[0]) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "the driver made %zu instances, not 1", made.n);
        goto cleanup;
    }
    cj->driver = ctx->driver;
    cj->drv = ctx->drv;
    snprintf(cj->id, sizeof(cj->id), "%s", inst->id);
    snprintf(cj->zone, sizeof(cj->zone), "%s", inst->zone);
    cj->l = *l;
    l->user_data = NULL; /* the job owns it now */
    if (cg_jobs_submit(ctx->jobs, "create", inst->id, run_create, cj, create_job_free, out, err) <
        0) {
        cg_state_change chg;
        cg_error e2 = {0};
        CG_DRV_CALL(ctx->driver, ctx->drv, instance_terminate, &e2, inst->id, &chg);
        l->user_data = cj->l.user_data;
        cj->l.user_data = NULL;
        goto cleanup;
    }
    cj = NULL;
    ret = 0;

cleanup:
    if (ret < 0)
        cg_instance_release(inst);
    create_job_free(cj);
    cg_instance_list_release(&made);
    cg_keypair_release(&kp);
    return ret;
}

/* ---- attach and detach ---------------------------------------------------------------- */

typedef struct volume_job {
    const cg_driver *driver;
    cg_drv *drv;
    char vol[32];
    char id[32];
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
        r = CG_DRV_CALL(vj->driver, vj->drv, volume_detach, err, vj->vol, &vol);
    else
        r = CG_DRV_CALL(vj->driver, vj->drv, volume_attach, err, vj->vol, vj->id,
                        vj->device[0] ? vj->device : NULL, &vol);
    cg_volume_release(&vol);
    if (r < 0)
        return -1;
    cg_job_progress(jobs, job_id, 100, NULL);
    return 0;
}

int cimi_volume_submit(const gw_ctx *ctx, const char *vol, const char *id, const char *device,
                       int detach, cg_job *out, cg_error *err)
{
    volume_job *vj;

    if (!ctx->jobs) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no job store is configured");
        return -1;
    }
    if (!(vj = calloc(1, sizeof(*vj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    vj->driver = ctx->driver;
    vj->drv = ctx->drv;
    snprintf(vj->vol, sizeof(vj->vol), "%s", vol);
    snprintf(vj->id, sizeof(vj->id), "%s", id);
    snprintf(vj->device, sizeof(vj->device), "%s", device ? device : "");
    vj->detach = detach;
    if (cg_jobs_submit(ctx->jobs, detach ? "detach" : "attach", id, run_volume, vj, free, out,
                       err) < 0) {
        free(vj);
        return -1;
    }
    cg_job_set_target(ctx->jobs, out->id, id, vol);
    return 0;
}

/* cg_job_recover_fn: the job's own failure path, for a job a restart cut
 * short.  target: the machine; undo: the volumes it made. */
static void recover_create(const cg_job *job, const char *undo, void *arg)
{
    const gw_ctx *ctx = arg;
    create_job cj = {.driver = ctx->driver, .drv = ctx->drv};
    char made[8][32], list[512], *tok, *save = NULL;
    cg_state_change chg;
    size_t n = 0;
    int tries;

    if (strlen(job->target) >= sizeof(cj.id))
        return;   /* not a machine id */
    memcpy(cj.id, job->target, strlen(job->target) + 1);
    snprintf(list, sizeof(list), "%s", undo);
    for (tok = strtok_r(list, " ", &save); tok && n < 8; tok = strtok_r(NULL, " ", &save))
        snprintf(made[n++], sizeof(made[0]), "%s", tok);
    /* The zone may still be connecting: give it a moment. */
    for (tries = 0; tries < 100; tries++) {
        cg_error e = {0};
        if (CG_DRV_CALL(cj.driver, cj.drv, instance_terminate, &e, cj.id, &chg) == 0 ||
            e.kind != CG_ERR_UNAVAILABLE)
            break;
        usleep(100 * 1000);
    }
    create_rollback(&cj, made, n);
    cg_warn("job %s: interrupted creation of %s rolled back (%zu volume(s) made)", job->id,
            cj.id, n);
}

void cimi_create_recover(const gw_ctx *ctx)
{
    cg_error err = {0};

    if (ctx->jobs && cg_jobs_recover(ctx->jobs, "create", recover_create, (void *)ctx, &err) < 0)
        cg_err("CIMI: interrupted creations not rolled back: %s", err.message);
}
