/* cloudgate: CIMI machine actions and delete, run as jobs.
 *
 * An Action body (JSON or XML) names an action URI; it is checked against
 * the operations the machine's current state allows, then a job calls the
 * driver and waits (bounded, engine/machines.h) until the machine reaches
 * the action's end state; a capture is the engine's capture job
 * (engine/images.h).  The handler answers 202 with the job. */
#include "cimi_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const struct {
    const char *name;
    unsigned op;
} actions[] = {
    {"start", CIMI_OP_START},   {"stop", CIMI_OP_STOP},       {"restart", CIMI_OP_RESTART},
    {"pause", CIMI_OP_PAUSE},   {"suspend", CIMI_OP_SUSPEND}, {"capture", CIMI_OP_CAPTURE},
    {"delete", CIMI_OP_DELETE}, {"edit", CIMI_OP_EDIT},
};

const char *cimi_op_name(unsigned op)
{
    size_t i;

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (actions[i].op == op)
            return actions[i].name;
    }
    return "?";
}

/* ---- the Action body --------------------------------------------------------- */

int cimi_parse_seal(cimi_call *c, const char *text, int *seal)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        *seal = text[0] == 't';
        return 0;
    }
    return cimi_fail(c, 400, "the seal property must be true or false, not '%.32s'", text);
}

int cimi_parse_action(cimi_call *c, json_object *body, cimi_action *out)
{
    const char *uri = NULL, *name = NULL, *desc = NULL, *force = NULL, *seal = NULL;
    json_object *v, *props = NULL;
    size_t i, n = strlen(CIMI_ACTION_NS);

    memset(out, 0, sizeof(*out));
    if (cimi_body_str(c, body, "action", "action", &uri) < 0)
        return -1;
    if (!uri)
        return cimi_fail(c, 400, "the Action has no 'action'");
    if (strncmp(uri, CIMI_ACTION_NS, n) != 0)
        return cimi_fail(c, 400, "action '%.128s' is not a CIMI action URI (%s...)", uri,
                         CIMI_ACTION_NS);
    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (actions[i].op != CIMI_OP_DELETE && actions[i].op != CIMI_OP_EDIT &&
            strcmp(uri + n, actions[i].name) == 0)
            out->op = actions[i].op;
    }
    if (!out->op) {
        /* Defined by DSP0263 (or its drafts) but not done by this gateway. */
        static const char *const unserved[] = {"export", "import", "snapshot", "restore"};
        for (i = 0; i < sizeof(unserved) / sizeof(unserved[0]); i++) {
            if (strcmp(uri + n, unserved[i]) == 0)
                return cimi_fail(c, 501, "the %s action is not supported by this gateway",
                                 unserved[i]);
        }
        return cimi_fail(c, 400, "unknown machine action '%.128s'", uri);
    }
    if (json_object_object_get_ex(body, "force", &v)) {
        /* JSON true/false; XML gives the text. */
        if (json_object_is_type(v, json_type_boolean))
            out->force = json_object_get_boolean(v) ? 1 : 0;
        else if (json_object_is_type(v, json_type_string) && (force = json_object_get_string(v)) &&
                 (strcmp(force, "true") == 0 || strcmp(force, "1") == 0))
            out->force = 1;
        else if (!force || (strcmp(force, "false") != 0 && strcmp(force, "0") != 0))
            return cimi_fail(c, 400, "'force' must be true or false");
    }
    /* capture: the new image's name, description and whether to seal it,
     * as properties of the Action (Sirocco's CimiAction has none of its own
     * for them). */
    if (cimi_body_obj(c, body, "properties", "properties", &props) < 0 ||
        cimi_body_str(c, props, "name", "properties.name", &name) < 0 ||
        cimi_body_str(c, props, "description", "properties.description", &desc) < 0 ||
        cimi_body_str(c, props, "seal", "properties.seal", &seal) < 0)
        return -1;
    if (seal && cimi_parse_seal(c, seal, &out->seal) < 0)
        return -1;
    snprintf(out->image_name, sizeof(out->image_name), "%s", name ? name : "");
    snprintf(out->image_description, sizeof(out->image_description), "%s", desc ? desc : "");
    return 0;
}

/* ---- the job ------------------------------------------------------------------- */

typedef struct action_job {
    cg_core core;
    char id[64];
    unsigned op; /* one CIMI_OP_* bit */
    int force;
} action_job;

static int run_action(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    action_job *a = arg;
    const cg_core *core = &a->core;
    cg_state_change chg;
    cg_instance_state want = CG_STATE_TERMINATED;
    cg_instance_sub want_sub = CG_SUB_NONE;
    int r = 0;

    memset(&chg, 0, sizeof(chg));
    cg_job_progress(jobs, job_id, 10, "calling the driver");
    switch (a->op) {
    case CIMI_OP_START:
        want = CG_STATE_RUNNING;
        r = CG_DRV_CALL(core->driver, core->drv, instance_start, err, a->id, &chg);
        break;
    case CIMI_OP_STOP:
        want = CG_STATE_STOPPED;
        r = CG_DRV_CALL(core->driver, core->drv, instance_stop, err, a->id, a->force, &chg);
        break;
    case CIMI_OP_RESTART:
        want = CG_STATE_RUNNING;
        r = CG_DRV_CALL(core->driver, core->drv, instance_reboot, err, a->id);
        break;
    case CIMI_OP_PAUSE:
        want = CG_STATE_RUNNING;
        want_sub = CG_SUB_PAUSED;
        r = CG_DRV_CALL(core->driver, core->drv, instance_pause, err, a->id);
        break;
    case CIMI_OP_SUSPEND:
        want = CG_STATE_STOPPED;
        want_sub = CG_SUB_SUSPENDED;
        r = CG_DRV_CALL(core->driver, core->drv, instance_suspend, err, a->id);
        break;
    default: /* delete: gone */
        r = CG_DRV_CALL(core->driver, core->drv, instance_terminate, err, a->id, &chg);
        break;
    }
    if (r < 0)
        return -1;
    return cg_machine_wait(core, job_id, a->id, want, want_sub, err);
}

/* A capture is the engine's job: the image exists (pending) once it is
 * submitted and becomes available when the job succeeds. */
static int submit_capture(const gw_ctx *ctx, const char *id, const cimi_action *act, cg_job *out,
                          cg_error *err)
{
    const cg_core *core = &ctx->core;
    cg_capture_spec spec = {.instance_id = id, .seal = act->seal};
    cg_image img = {0};
    char name[160];
    int ret;

    if (act->image_name[0])
        snprintf(name, sizeof(name), "%s", act->image_name);
    else
        snprintf(name, sizeof(name), "%s-capture-%ld", id, (long)time(NULL));
    spec.name = name;
    spec.description = act->image_description[0] ? act->image_description : NULL;
    spec.tags = act->image_tags;
    ret = cg_capture_submit(core, &spec, &img, out, err);
    if (ret == 0) {
        /* As for the other actions, the job's target is the machine; the
         * image it makes is the affected resource. */
        cg_job_set_target(core->jobs, out->id, id, img.id);
        snprintf(out->target, sizeof(out->target), "%s", id);
        snprintf(out->affected, sizeof(out->affected), "%s", img.id);
    }
    cg_image_release(&img);
    return ret;
}

int cimi_machine_submit(const gw_ctx *ctx, const char *id, const cimi_action *act, unsigned served,
                        cg_job *out, cg_error *err)
{
    const cg_core *core = &ctx->core;
    cg_instance_state st;
    cg_instance_sub sub;
    cimi_machine_state ms;
    unsigned allowed, bit;
    char names[128] = "";
    action_job *a;
    int r;

    if (!ctx->jobs) {
        cg_error_set(err, CG_ERR_UNSUPPORTED, "no job store is configured");
        return -1;
    }
    if (strlen(id) >= sizeof(a->id)) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "Machine '%.64s' does not exist", id);
        return -1;
    }
    r = cg_machine_state(core, id, &st, &sub, err);
    if (r < 0)
        return -1;
    if (r == 1) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "Machine '%.64s' does not exist", id);
        return -1;
    }
    ms = cimi_machine_state_of(st, sub);
    allowed = cimi_machine_ops(ms) & served;
    if (!(allowed & act->op)) {
        for (bit = 1; bit <= CIMI_OP_LAST; bit <<= 1) {
            if (allowed & bit)
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                         names[0] ? ", " : "", cimi_op_name(bit));
        }
        cg_error_set(err, CG_ERR_STATE, "Machine %s is %s: %s is not allowed (allowed: %s)", id,
                     cimi_machine_state_name(ms), cimi_op_name(act->op), names[0] ? names : "none");
        return -1;
    }
    if (act->op == CIMI_OP_CAPTURE)
        return submit_capture(ctx, id, act, out, err);
    if (!(a = calloc(1, sizeof(*a)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    a->core = *core;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->op = act->op;
    a->force = act->force;
    if (cg_jobs_submit(ctx->jobs, cimi_op_name(act->op), id, run_action, a, free, out, err) < 0) {
        free(a);
        return -1;
    }
    return 0;
}
