/* cloudgate: CIMI Machines: list, create (MachineCreate), edit (PUT),
 * actions and delete (jobs, cimi_actions.c), and the sub-collections
 * networkInterfaces, disks, volumes (cimi_volumes.c) and graphicsConsoles. */
#include "cimi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The instances, shared by the requests that come while nothing changes
 * (engine/instance_view.h): CIMI's own, undecorated (EC2's carry its
 * pseudo tags). */
static cg_instance_view view = CG_INSTANCE_VIEW_INIT(NULL);

const cg_listing *cimi_machines_listing(cimi_call *c)
{
    const cg_listing *l;
    cg_error err = {0};

    if (!(l = cg_instance_view_get(&view, c->ctx->driver, c->ctx->drv, &err)))
        cimi_fail_cg(c, &err);
    return l;
}

void cimi_machines_listing_put(const cg_listing *l)
{
    cg_instance_view_put(&view, l);
}

void cimi_idle(void)
{
    cg_instance_view_clear(&view);
}

int cimi_list_machines(cimi_call *c, cimi_obj ***out, size_t *n)
{
    const cg_listing *l = cimi_machines_listing(c);
    size_t i;
    int ret = -1;

    if (!l || cimi_alloc_objs(c, out, l->list.n) < 0)
        goto cleanup;
    for (i = 0; i < l->list.n; i++) {
        if (!cimi_machine_shown(&l->list.v[i]))
            continue;
        if (!((*out)[(*n)++] = cimi_build_machine(c->base, c->ctx->cfg, &l->list.v[i],
                                                  CIMI_MACHINE_OPS_SERVED))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cimi_machines_listing_put(l);
    return ret;
}

int cimi_machine_get(cimi_call *c, const char *id, cg_instance *out)
{
    const cg_listing *l = cimi_machines_listing(c);
    size_t i;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!l)
        return -1;
    for (i = 0; i < l->list.n; i++) {
        if (strcmp(l->list.v[i].id, id) == 0 && cimi_machine_shown(&l->list.v[i])) {
            if (cg_instance_copy(out, &l->list.v[i]) < 0)
                cimi_fail(c, 500, "out of memory");
            else
                ret = 0;
            break;
        }
    }
    if (i == l->list.n)
        cimi_fail(c, 404, "Machine '%.128s' does not exist", id);
    cimi_machines_listing_put(l);
    return ret;
}

int cimi_machine_unlocked(cimi_call *c, const cg_instance *inst)
{
    if (!inst->locked_by[0])
        return 0;
    return cimi_fail(c, 409, "Machine %s is being imported by job %s: it is locked until the "
                             "conversion ends (stop the job to remove it)",
                     inst->id, inst->locked_by);
}

/* name, description and properties as tags (Name, Description, the rest).
 * The security-group properties the gateway shows are not tags: ignored, so
 * that a machine read and PUT back stays as it was. */
static int common_tags(cimi_call *c, json_object *body, const char *what, cg_tags *tags)
{
    const char *name = NULL, *desc = NULL;

    if (cimi_body_str(c, body, "name", what, &name) < 0 ||
        cimi_body_str(c, body, "description", what, &desc) < 0 ||
        cimi_body_props(c, body, what, tags) < 0)
        return -1;
    cimi_drop_derived_props(tags);
    if ((name && strlen(name) > 255) || (desc && strlen(desc) > 255))
        return cimi_fail(c, 400, "%s: name and description are at most 255 characters", what);
    if ((name && cg_tags_set(tags, "Name", name) < 0) ||
        (desc && cg_tags_set(tags, "Description", desc) < 0))
        return cimi_fail(c, 500, "out of memory");
    return 0;
}

/* ---- create ------------------------------------------------------------------------ */

/* The MachineCreate's machineTemplate as canonical: a stored one (href)
 * with any values given beside the href laid over it. */
static json_object *machine_template(cimi_call *c, json_object *body)
{
    json_object *tpl = NULL, *given = NULL, *canon = NULL;
    const char *href = NULL;
    cimi_stored st = {0};
    cg_error err = {0};
    char id[48];
    int r;

    if (cimi_body_obj(c, body, "machineTemplate", "machineTemplate", &tpl) < 0)
        return NULL;
    if (!tpl) {
        cimi_fail(c, 400, "the MachineCreate needs a machineTemplate");
        return NULL;
    }
    if (cimi_body_str(c, tpl, "href", "machineTemplate.href", &href) < 0 ||
        cimi_template_canonical(c, tpl, "machineTemplate", &given) < 0)
        return NULL;
    if (!href)
        return given;
    if (cimi_href_id(c, href, "machineTemplates", "machineTemplate.href", id, sizeof(id)) < 0)
        goto cleanup;
    if ((r = cimi_store_get(c->ctx->cimi, "machineTemplates", id, &st, &err)) != 0) {
        if (r < 0)
            cimi_fail_cg(c, &err);
        else
            cimi_fail(c, 400, "machineTemplate.href: MachineTemplate '%.64s' does not exist", id);
        goto cleanup;
    }
    canon = json_object_get(st.body);
    /* The template's own name, description and properties do not become
     * the machine's. */
    json_object_object_del(canon, "name");
    json_object_object_del(canon, "description");
    json_object_object_foreach(given, k, v) json_object_object_add(canon, k, json_object_get(v));

cleanup:
    cimi_stored_release(&st);
    json_object_put(given);
    return canon;
}

/* The engine's spec for launch l: the configuration and key pair looked
 * up (kp holds the key until the caller releases it). */
static int launch_spec(cimi_call *c, const cimi_launch *l, const cg_tags *tags, cg_keypair *kp,
                       cg_machine_create_spec *spec)
{
    const cg_instance_type *type = cg_config_find_type(c->ctx->cfg, l->type_name);
    cg_error err = {0};

    if (!type)
        return cimi_fail(c, 400, "MachineConfiguration '%s' does not exist", l->type_name);
    if (l->key_name[0] &&
        (!c->ctx->keys || cg_keypair_get(c->ctx->keys, l->key_name, kp, &err) < 0))
        return c->ctx->keys ? cimi_fail_cg(c, &err)
                            : cimi_fail(c, 501, "no key-pair store is configured");
    *spec = (cg_machine_create_spec){
        .image_id = l->image_id,
        .type = type,
        .key_name = l->key_name[0] ? l->key_name : NULL,
        .public_key = kp->public_key,
        .user_data = l->user_data,
        .user_data_len = l->user_data_len,
        .tags = tags,
        .display = l->display,
        .initial_stopped = l->initial_stopped,
        .volumes = l->volumes,
        .n_volumes = l->n_volumes,
    };
    return 0;
}

void cimi_machine_create(cimi_call *c)
{
    int is_action = 0;
    json_object *body = cimi_body_or_action(c, "MachineCreate", &is_action), *canon = NULL,
                *props;
    const cg_core *core = &c->ctx->core;
    cg_machine_create_spec spec;
    cimi_launch l = {0};
    cg_keypair kp = {0};
    cg_tags tags = {0};
    cg_instance inst = {0};
    cg_error err = {0};
    cg_job job;
    char loc[700];
    const char *display;

    if (!body)
        return;
    if (is_action) { /* the collection's import operation */
        cimi_import(c, body, 0);
        json_object_put(body);
        return;
    }
    if (common_tags(c, body, "MachineCreate", &tags) < 0 || !(canon = machine_template(c, body)))
        goto cleanup;
    /* The machine's own display property wins over the template's; it is
     * the launch's choice, not a tag (graphicsConsoles shows it after). */
    if ((display = cg_tags_get(&tags, "display"))) {
        props = json_object_new_object();
        json_object_object_add(props, "display", json_object_new_string(display));
        json_object_object_add(canon, "properties", props);
        cg_tags_remove(&tags, "display", NULL);
    }
    if (cimi_template_resolve(c, canon, &l) < 0 || launch_spec(c, &l, &tags, &kp, &spec) < 0)
        goto cleanup;
    if (cg_machine_create_submit(core, &spec, &inst, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    snprintf(loc, sizeof(loc), "%smachines/%s", c->base, inst.id);
    cimi_reply_job(c, &job, loc);

cleanup:
    free(l.user_data);
    cg_keypair_release(&kp);
    cg_instance_release(&inst);
    cg_tags_release(&tags);
    json_object_put(canon);
    json_object_put(body);
}

/* ---- edit ---------------------------------------------------------------------------- */

/* PUT: name, description and properties replace the machine's; cpu and
 * memory pick the MachineConfiguration with exactly those (while stopped). */
void cimi_machine_edit(cimi_call *c, const char *id)
{
    json_object *body = cimi_body(c, "Machine");
    cg_tags want = {0}, gone = {0};
    cg_instance inst = {0};
    cg_instance_change chg = {.disable_api_termination = -1};
    cg_error err = {0};
    long long cpu = 0, mem = 0;
    int has_cpu = 0, has_mem = 0;
    size_t i;
    cimi_obj *o = NULL;

    if (!body || cimi_machine_get(c, id, &inst) < 0 || cimi_machine_unlocked(c, &inst) < 0)
        goto cleanup;
    if (common_tags(c, body, "Machine", &want) < 0 ||
        cimi_body_int(c, body, "cpu", "cpu", &cpu, &has_cpu) < 0 ||
        cimi_body_int(c, body, "memory", "memory", &mem, &has_mem) < 0)
        goto cleanup;
    if ((has_cpu && cpu != inst.vcpus) || (has_mem && mem != (long long)inst.memory_mib * 1024)) {
        const cg_config *cfg = c->ctx->cfg;
        long long want_cpu = has_cpu ? cpu : inst.vcpus;
        long long want_mem = has_mem ? mem : (long long)inst.memory_mib * 1024;
        for (i = 0; i < cfg->n_types; i++) {
            if (cfg->types[i].vcpus == want_cpu &&
                (long long)cfg->types[i].memory_mib * 1024 == want_mem)
                chg.type = &cfg->types[i];
        }
        if (!chg.type) {
            cimi_fail(c, 400, "no MachineConfiguration has cpu %lld and memory %lld KiB", want_cpu,
                      want_mem);
            goto cleanup;
        }
        if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_modify, &err, id, &chg) < 0) {
            cimi_fail_cg(c, &err);
            goto cleanup;
        }
    }
    /* Properties (all tags but Name and Description) are replaced when
     * given; name and description only when given. */
    if (json_object_object_get_ex(body, "properties", NULL)) {
        for (i = 0; i < inst.tags.n; i++) {
            const char *k = inst.tags.v[i].key;
            if (strcmp(k, "Name") != 0 && strcmp(k, "Description") != 0 && !cg_tags_get(&want, k) &&
                cg_tags_set(&gone, k, "") < 0) {
                cimi_fail(c, 500, "out of memory");
                goto cleanup;
            }
        }
    }
    for (i = 0; i < gone.n; i++) {
        free(gone.v[i].value);
        gone.v[i].value = NULL; /* remove whatever the value */
    }
    if ((gone.n && CG_DRV_CALL(c->ctx->driver, c->ctx->drv, tags_delete, &err, id, &gone) < 0) ||
        (want.n && CG_DRV_CALL(c->ctx->driver, c->ctx->drv, tags_set, &err, id, &want) < 0)) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    cg_instance_release(&inst);
    if (cimi_machine_get(c, id, &inst) < 0)
        goto cleanup;
    o = cimi_build_machine(c->base, c->ctx->cfg, &inst, CIMI_MACHINE_OPS_SERVED);
    cimi_reply(c, 200, o);

cleanup:
    cimi_obj_free(o);
    cg_tags_release(&want);
    cg_tags_release(&gone);
    cg_instance_release(&inst);
    json_object_put(body);
}

/* ---- actions and delete ------------------------------------------------------------- */

static void submit(cimi_call *c, const char *id, const cimi_action *act)
{
    cg_instance inst = {0};
    cg_error err = {0};
    cg_job job;

    /* A locked machine: 409 now, not a job that fails. */
    if (cimi_machine_get(c, id, &inst) < 0 || cimi_machine_unlocked(c, &inst) < 0)
        goto cleanup;
    /* Location is the job: nothing new is made (a capture's image is the
     * job's affectedResource once known). */
    if (cimi_machine_submit(c->ctx, id, act, CIMI_MACHINE_OPS_SERVED, &job, &err) < 0) {
        cimi_fail_cg(c, &err);
        goto cleanup;
    }
    cimi_reply_job(c, &job, NULL);

cleanup:
    cg_instance_release(&inst);
}

void cimi_machine_action(cimi_call *c, const char *id)
{
    json_object *body = cimi_body(c, "Action");
    cimi_action act;

    if (body && cimi_parse_action(c, body, &act) == 0)
        submit(c, id, &act);
    json_object_put(body);
}

void cimi_machine_delete(cimi_call *c, const char *id)
{
    cimi_action act = {.op = CIMI_OP_DELETE};

    submit(c, id, &act);
}

/* ---- disks and graphics consoles -------------------------------------------------------- */

static cimi_obj *disks_collection(cimi_call *c, const cg_instance *inst)
{
    cg_image_list imgs = {0};
    cg_error err = {0};
    unsigned long long bytes = 0;
    char id[700];
    cimi_obj *o;
    cimi_attr *list;
    size_t i;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &imgs) == 0) {
        for (i = 0; i < imgs.n; i++) {
            if (strcmp(imgs.v[i].id, inst->image_id) == 0)
                bytes = imgs.v[i].size_bytes;
        }
    }
    cg_image_list_release(&imgs);
    snprintf(id, sizeof(id), "%smachines/%s/disks", c->base, inst->id);
    if (!(o = cimi_build_collection(c->base, id + strlen(c->base), "DiskCollection", 1)))
        return NULL;
    list = cimi_add_list(o, "disks", "Disk");
    cimi_list_push(o, list, cimi_build_disk(c->base, inst, bytes));
    return o;
}

cimi_obj *cimi_machine_subcollection(cimi_call *c, const char *id_and_sub)
{
    const char *slash = strchr(id_and_sub, '/');
    cimi_obj *o = NULL, **items = NULL;
    cg_instance inst = {0};
    int saved = c->status;
    char id[64];
    size_t n = 0;

    if (!slash || (size_t)(slash - id_and_sub) >= sizeof(id))
        return NULL;
    memcpy(id, id_and_sub, (size_t)(slash - id_and_sub));
    id[slash - id_and_sub] = '\0';
    if (cimi_machine_get(c, id, &inst) < 0) {
        c->status = saved;
        return NULL;
    }
    if (strcmp(slash + 1, "disks") == 0)
        o = disks_collection(c, &inst);
    else if (strcmp(slash + 1, "volumes") == 0)
        o = cimi_machine_volumes_collection(c, id);
    cimi_free_objs(items, n);
    cg_instance_release(&inst);
    c->status = saved;
    return o;
}

/* A machine's console state: ACTIVE (running with it), INACTIVE (stopped)
 * or PENDING_RESTART (chosen while running: applies at the next start, as
 * oVirt's next-run). */
static void machine_graphics(cimi_call *c, cg_instance *inst, const char *proto)
{
    cg_instance_change chg = {.disable_api_termination = -1};
    int running = inst->state == CG_STATE_RUNNING;
    int live = running && inst->display_live == inst->display;
    cimi_console_live shown = {live      ? "ACTIVE"
                               : running ? "PENDING_RESTART"
                                         : "INACTIVE",
                               live ? inst->display_addr : NULL, live ? inst->display_port : 0};
    cg_error err = {0};
    char owner[96];

    snprintf(owner, sizeof(owner), "machines/%s", inst->id);
    if (strcmp(c->req->method, "GET") == 0) {
        cimi_reply_consoles(c, owner, inst->display, &shown, proto);
        return;
    }
    if (cimi_machine_unlocked(c, inst) < 0)
        return;
    if (cimi_console_request(c, owner, inst->display, proto, &chg.display) < 0)
        return;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_modify, &err, inst->id, &chg) < 0) {
        cimi_fail_cg(c, &err);
        return;
    }
    cimi_console_changed(c, owner, chg.display, running ? "PENDING_RESTART" : "INACTIVE");
}

int cimi_machine_sub(cimi_call *c, const char *id, const char *rest)
{
    cg_instance inst = {0};
    const char *slash = strchr(rest, '/'), *proto;
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    cimi_obj *o = NULL;
    char mid[64];

    if (strlen(id) >= sizeof(mid))
        return 1;
    snprintf(mid, sizeof(mid), "%s", id);
    if (n == 7 && strncmp(rest, "volumes", 7) == 0)
        return cimi_machine_volumes(c, mid, slash ? slash + 1 : NULL);
    if (cimi_console_path(rest, &proto)) {
        if (cimi_machine_get(c, mid, &inst) == 0)
            machine_graphics(c, &inst, proto);
        cg_instance_release(&inst);
        return 0;
    }
    if (slash || (!(n == 17 && strncmp(rest, "networkInterfaces", 17) == 0) &&
                  !(n == 5 && strncmp(rest, "disks", 5) == 0)))
        return 1;
    if (cimi_machine_get(c, mid, &inst) < 0)
        return 0;
    if (strcmp(c->req->method, "GET") != 0) {
        gw_response_add_header(c->resp, "Allow", "GET");
        cimi_fail(c, 405, "%s is not allowed here (only GET)", c->req->method);
    } else {
        o = rest[0] == 'n' ? cimi_build_machine_nics(c->base, c->ctx->cfg, &inst)
                           : disks_collection(c, &inst);
        cimi_reply(c, 200, o);
    }
    cimi_obj_free(o);
    cg_instance_release(&inst);
    return 0;
}
