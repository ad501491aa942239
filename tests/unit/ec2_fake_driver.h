/* cloudgate tests: an in-memory driver table for exercising the EC2 frontend
 * without libvirt.  Test-only: included by tests/unit/test_ec2_actions.c.
 *
 * Instances launch as pending without an address; fake_settle() makes them
 * running with 10.0.0.N.  Stop and terminate finish at once but answer the
 * transitional state, as AWS does.  Every state-changing call is counted in
 * mutations so DryRun tests can check that nothing happened.  User data is
 * kept per instance; type and user data change only while stopped; a
 * protected instance (disable_api_termination) refuses to terminate; the
 * console log is `console` (or a line naming the instance).
 */
#ifndef EC2_FAKE_DRIVER_H
#define EC2_FAKE_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"

#define FAKE_LAUNCH_TIME ((time_t)1795429762)

struct cg_drv {
    const cg_config *cfg;
    cg_instance_list instances;
    cg_image_list images;
    unsigned next_id;
    unsigned capacity; /* most instances not terminated */
    unsigned mutations;
    size_t last_user_data_len; /* of the last launch */
    int last_user_data_given;  /* its spec's user_data was not NULL */
    unsigned char last_user_data[16384];
    char *last_key_name;   /* of the last launch, NULL: none */
    char *last_public_key;
    cg_errkind fail_list; /* inject a failure into instance_list */
    struct fake_user_data {
        unsigned char *data;
        size_t len;
    } *user_data; /* parallel to instances */
    unsigned char *console; /* NULL: "console of i-..." */
    size_t console_len;
    size_t last_console_max; /* what the frontend asked for */
};

static cg_drv *fake_open(const cg_config *cfg, cg_error *err)
{
    cg_drv *d = calloc(1, sizeof(*d));

    if (!d) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    d->cfg = cfg;
    d->capacity = 40;
    d->next_id = 0x100;
    return d;
}

static void fake_close(cg_drv *d)
{
    size_t i;

    if (!d)
        return;
    for (i = 0; d->user_data && i < d->instances.n; i++)
        free(d->user_data[i].data);
    free(d->user_data);
    free(d->console);
    free(d->last_key_name);
    free(d->last_public_key);
    cg_instance_list_release(&d->instances);
    cg_image_list_release(&d->images);
    free(d);
}

/* Register an image (test setup). */
static void fake_add_image(cg_drv *d, const char *id, const char *name, const char *state)
{
    cg_image_list *l = &d->images;
    cg_image *img;

    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    img = &l->v[l->n++];
    memset(img, 0, sizeof(*img));
    snprintf(img->id, sizeof(img->id), "%s", id);
    img->name = strdup(name);
    img->volume = strdup(name);
    snprintf(img->architecture, sizeof(img->architecture), "x86_64");
    snprintf(img->state, sizeof(img->state), "%s", state);
    img->created = FAKE_LAUNCH_TIME;
}

/* Pending instances become running and get their lease. */
static void fake_settle(cg_drv *d)
{
    size_t i;

    for (i = 0; i < d->instances.n; i++) {
        cg_instance *inst = &d->instances.v[i];

        if (inst->state == CG_STATE_PENDING) {
            inst->state = CG_STATE_RUNNING;
            snprintf(inst->private_ip, sizeof(inst->private_ip), "10.0.0.%zu", i + 2);
        }
    }
}

static cg_instance *fake_find(cg_drv *d, const char *id)
{
    size_t i;

    for (i = 0; i < d->instances.n; i++) {
        if (strcmp(d->instances.v[i].id, id) == 0)
            return &d->instances.v[i];
    }
    return NULL;
}

static int fake_zone_list(cg_drv *d, cg_zone_list *out, cg_error *err)
{
    size_t i;

    out->v = calloc(d->cfg->n_zones ? d->cfg->n_zones : 1, sizeof(*out->v));
    out->n = d->cfg->n_zones;
    for (i = 0; i < out->n; i++) {
        snprintf(out->v[i].name, sizeof(out->v[i].name), "%s", d->cfg->zones[i].name);
        snprintf(out->v[i].state, sizeof(out->v[i].state), "available");
    }
    return 0;
}

static int fake_image_list(cg_drv *d, cg_image_list *out, cg_error *err)
{
    size_t i;

    out->v = calloc(d->images.n ? d->images.n : 1, sizeof(*out->v));
    out->n = d->images.n;
    for (i = 0; i < out->n; i++)
        cg_image_copy(&out->v[i], &d->images.v[i]);
    return 0;
}

static int fake_instance_list(cg_drv *d, cg_instance_list *out, cg_error *err)
{
    size_t i;

    if (d->fail_list) {
        cg_error_set(err, d->fail_list, "injected failure (qemu:///system)");
        return -1;
    }
    for (i = 0; i < d->instances.n; i++)
        cg_instance_list_append(out, &d->instances.v[i]);
    return 0;
}

static int fake_instance_run(cg_drv *d, const cg_launch_spec *spec, cg_instance_list *out,
                             cg_error *err)
{
    unsigned active = 0, count, k;
    char rid[24];
    size_t i;
    cg_instance inst;

    for (i = 0; i < d->images.n && strcmp(d->images.v[i].id, spec->image_id); i++)
        ;
    if (i == d->images.n) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no image %s", spec->image_id);
        return -1;
    }
    for (i = 0; i < d->instances.n; i++)
        active += d->instances.v[i].state != CG_STATE_TERMINATED;
    if (active + spec->min_count > d->capacity) {
        cg_error_set(err, CG_ERR_CAPACITY, "We currently do not have sufficient %s capacity.",
                     spec->type->name);
        return -1;
    }
    count = spec->max_count;
    if (active + count > d->capacity)
        count = d->capacity - active;
    __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    snprintf(rid, sizeof(rid), "r-%017x", d->next_id++);
    for (k = 0; k < count; k++) {
        memset(&inst, 0, sizeof(inst));
        snprintf(inst.id, sizeof(inst.id), "i-%017x", d->next_id++);
        snprintf(inst.image_id, sizeof(inst.image_id), "%s", spec->image_id);
        snprintf(inst.reservation_id, sizeof(inst.reservation_id), "%s", rid);
        snprintf(inst.instance_type, sizeof(inst.instance_type), "%s", spec->type->name);
        snprintf(inst.zone, sizeof(inst.zone), "%s",
                 spec->zone ? spec->zone : d->cfg->zones[0].name);
        snprintf(inst.key_name, sizeof(inst.key_name), "%s", spec->key_name ? spec->key_name : "");
        snprintf(inst.client_token, sizeof(inst.client_token), "%s",
                 spec->client_token ? spec->client_token : "");
        inst.state = CG_STATE_PENDING;
        inst.launch_time = FAKE_LAUNCH_TIME;
        inst.ami_launch_index = k;
        inst.vcpus = spec->type->vcpus;
        inst.memory_mib = spec->type->memory_mib;
        if (spec->tags)
            cg_tags_copy(&inst.tags, spec->tags);
        d->user_data = realloc(d->user_data, (d->instances.n + 1) * sizeof(*d->user_data));
        d->user_data[d->instances.n].len = spec->user_data_len;
        d->user_data[d->instances.n].data = malloc(spec->user_data_len + 1);
        if (spec->user_data_len)
            memcpy(d->user_data[d->instances.n].data, spec->user_data, spec->user_data_len);
        cg_instance_list_append(&d->instances, &inst);
        cg_instance_list_append(out, &inst);
        cg_tags_release(&inst.tags);
    }
    d->last_user_data_len = spec->user_data_len;
    d->last_user_data_given = spec->user_data != NULL;
    if (spec->user_data_len)
        memcpy(d->last_user_data, spec->user_data, spec->user_data_len);
    free(d->last_key_name);
    free(d->last_public_key);
    d->last_key_name = spec->key_name ? strdup(spec->key_name) : NULL;
    d->last_public_key = spec->public_key ? strdup(spec->public_key) : NULL;
    return 0;
}

static int fake_state_error(cg_error *err, const cg_instance *inst, const char *what)
{
    cg_error_set(err, CG_ERR_STATE, "The instance '%s' is not in a state from which it can be %s.",
                 inst->id, what);
    return -1;
}

static int fake_instance_start(cg_drv *d, const char *id, cg_state_change *chg, cg_error *err)
{
    cg_instance *inst = fake_find(d, id);

    if (!inst) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    chg->previous = inst->state;
    if (inst->state == CG_STATE_STOPPED) {
        inst->state = CG_STATE_PENDING;
        __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    } else if (inst->state != CG_STATE_RUNNING && inst->state != CG_STATE_PENDING) {
        return fake_state_error(err, inst, "started");
    }
    chg->current = inst->state;
    return 0;
}

static int fake_instance_stop(cg_drv *d, const char *id, int force, cg_state_change *chg,
                              cg_error *err)
{
    cg_instance *inst = fake_find(d, id);

    if (!inst) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    chg->previous = chg->current = inst->state;
    if (inst->state == CG_STATE_RUNNING || inst->state == CG_STATE_PENDING) {
        chg->current = force ? CG_STATE_STOPPED : CG_STATE_STOPPING;
        inst->state = CG_STATE_STOPPED;
        inst->private_ip[0] = '\0';
        __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    } else if (inst->state != CG_STATE_STOPPED) {
        return fake_state_error(err, inst, "stopped");
    }
    return 0;
}

static int fake_instance_reboot(cg_drv *d, const char *id, cg_error *err)
{
    cg_instance *inst = fake_find(d, id);

    if (!inst) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    if (inst->state != CG_STATE_RUNNING)
        return fake_state_error(err, inst, "rebooted");
    __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    return 0;
}

static int fake_instance_terminate(cg_drv *d, const char *id, cg_state_change *chg, cg_error *err)
{
    cg_instance *inst = fake_find(d, id);

    if (!inst) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    chg->previous = chg->current = inst->state;
    if (inst->disable_api_termination) {
        cg_error_set(err, CG_ERR_FORBIDDEN, "%s is protected", id);
        return -1;
    }
    if (inst->state != CG_STATE_TERMINATED) {
        chg->current = CG_STATE_SHUTTING_DOWN;
        inst->state = CG_STATE_TERMINATED;
        __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    }
    return 0;
}

static cg_tags *fake_tags_of(cg_drv *d, const char *id)
{
    cg_instance *inst = fake_find(d, id);
    size_t i;

    if (inst)
        return &inst->tags;
    for (i = 0; i < d->images.n; i++) {
        if (strcmp(d->images.v[i].id, id) == 0)
            return &d->images.v[i].tags;
    }
    return NULL;
}

static int fake_tags_set(cg_drv *d, const char *id, const cg_tags *tags, cg_error *err)
{
    cg_tags *t = fake_tags_of(d, id);
    size_t i;

    if (!t) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no resource %s", id);
        return -1;
    }
    for (i = 0; i < tags->n; i++)
        cg_tags_set(t, tags->v[i].key, tags->v[i].value);
    __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    return 0;
}

static int fake_tags_delete(cg_drv *d, const char *id, const cg_tags *tags, cg_error *err)
{
    cg_tags *t = fake_tags_of(d, id);
    size_t i;

    if (!t) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no resource %s", id);
        return -1;
    }
    for (i = 0; i < tags->n; i++)
        cg_tags_remove(t, tags->v[i].key, tags->v[i].value);
    __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    return 0;
}

static int fake_instance_user_data(cg_drv *d, const char *id, unsigned char **data, size_t *len,
                                   cg_error *err)
{
    cg_instance *inst = fake_find(d, id);
    struct fake_user_data *ud;

    if (!inst) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    ud = &d->user_data[inst - d->instances.v];
    *data = malloc(ud->len + 1);
    memcpy(*data, ud->data, ud->len);
    *len = ud->len;
    return 0;
}

static int fake_instance_modify(cg_drv *d, const char *id, const cg_instance_change *chg,
                                cg_error *err)
{
    cg_instance *inst = fake_find(d, id);
    struct fake_user_data *ud;

    if (!inst) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    if ((chg->type || chg->set_user_data) && inst->state != CG_STATE_STOPPED) {
        cg_error_set(err, CG_ERR_STATE, "%s is %s", id, cg_instance_state_name(inst->state));
        return -1;
    }
    if (chg->type) {
        snprintf(inst->instance_type, sizeof(inst->instance_type), "%s", chg->type->name);
        inst->vcpus = chg->type->vcpus;
        inst->memory_mib = chg->type->memory_mib;
    }
    if (chg->set_user_data) {
        ud = &d->user_data[inst - d->instances.v];
        free(ud->data);
        ud->data = malloc(chg->user_data_len + 1);
        if (chg->user_data_len)
            memcpy(ud->data, chg->user_data, chg->user_data_len);
        ud->len = chg->user_data_len;
    }
    if (chg->disable_api_termination >= 0)
        inst->disable_api_termination = chg->disable_api_termination;
    __atomic_add_fetch(&d->mutations, 1, __ATOMIC_RELAXED); /* ops run in parallel */
    return 0;
}

static int fake_instance_console(cg_drv *d, const char *id, size_t max_bytes,
                                 unsigned char **data, size_t *len, time_t *when, cg_error *err)
{
    char line[64];
    const unsigned char *src = (const unsigned char *)line;
    size_t n;

    if (!fake_find(d, id)) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no instance %s", id);
        return -1;
    }
    d->last_console_max = max_bytes;
    n = (size_t)snprintf(line, sizeof(line), "console of %s\n", id);
    if (d->console) {
        src = d->console;
        n = d->console_len;
    }
    if (n > max_bytes) {
        src += n - max_bytes;
        n = max_bytes;
    }
    *data = malloc(n + 1);
    memcpy(*data, src, n);
    *len = n;
    *when = FAKE_LAUNCH_TIME + 60;
    return 0;
}

static const cg_driver fake_driver = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .zone_list = fake_zone_list,
    .image_list = fake_image_list,
    .instance_list = fake_instance_list,
    .instance_run = fake_instance_run,
    .instance_start = fake_instance_start,
    .instance_stop = fake_instance_stop,
    .instance_reboot = fake_instance_reboot,
    .instance_terminate = fake_instance_terminate,
    .instance_user_data = fake_instance_user_data,
    .instance_modify = fake_instance_modify,
    .instance_console = fake_instance_console,
    .tags_set = fake_tags_set,
    .tags_delete = fake_tags_delete,
};

#endif
