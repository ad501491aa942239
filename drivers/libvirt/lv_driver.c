/* cloudgate libvirt driver: the table, open/close, zones and listing. */
#include "lv_driver.h"
#include "lv_imds.h"
#include "lv_known.h"
#include "lv_launch.h"
#include "lv_rows.h"
#include "lv_sg.h"
#include "lv_vpc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"

#define PRUNE_SEC 60
/* How long start-up waits for the hosts' first connection attempts, and
 * shutdown for the hosts' threads: all hosts together, not each. */
#define OPEN_WAIT_SEC 3.0
#define CLOSE_WAIT_SEC 5.0

/* Drivers opened in this process so far (version_base). */
static uint64_t versions_opened;

lv_host *lv_drv_find_instance(cg_drv *drv, const char *id)
{
    size_t i;

    for (i = 0; i < drv->n_hosts; i++) {
        if (lv_cache_contains(lv_host_cache(drv->hosts[i]), id))
            return drv->hosts[i];
    }
    return NULL;
}

lv_host *lv_drv_find_zone(cg_drv *drv, const char *name)
{
    size_t i;

    for (i = 0; i < drv->n_hosts; i++) {
        if (strcmp(lv_host_zone(drv->hosts[i]), name) == 0)
            return drv->hosts[i];
    }
    return NULL;
}

void lv_drv_console_path(const cg_drv *drv, const char *id, char *buf, size_t len)
{
    const char *dir = drv->cfg->console_dir;

    if (dir)
        snprintf(buf, len, "%s%s%s%s", dir, id ? "/" : "", id ? id : "", id ? ".log" : "");
    else
        snprintf(buf, len, "%s/console%s%s%s", drv->cfg->state_dir, id ? "/" : "",
                 id ? id : "", id ? ".log" : "");
}

void lv_user_initiated(char *buf, size_t len)
{
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, len, "User initiated (%s GMT)", when);
}

virConnectPtr lv_driver_zone_conn(cg_drv *drv, const char *zone, cg_error *err)
{
    lv_host *h = lv_drv_find_zone(drv, zone);

    if (!h) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "no availability zone '%s'", zone);
        return NULL;
    }
    return lv_host_conn(h, err);
}

static void lv_close(cg_drv *drv)
{
    double deadline;
    size_t i;

    if (!drv)
        return;
    /* Hosts go first: they deregister from the event thread still running.
     * All are told at once and share one deadline, so hosts whose daemon
     * hangs cost the shutdown CLOSE_WAIT_SEC however many there are. */
    /* Launch workers first: they use the hosts' connections. */
    for (i = 0; drv->launchq && i < drv->n_hosts; i++)
        lv_launchq_free(drv->launchq[i]);
    free(drv->launchq);
    drv->launchq = NULL;
    for (i = 0; i < drv->n_hosts; i++)
        lv_host_stop(drv->hosts[i]);
    deadline = cg_monotonic() + CLOSE_WAIT_SEC;
    for (i = 0; i < drv->n_hosts; i++)
        lv_host_free(drv->hosts[i], deadline);
    free(drv->hosts);
    if (drv->events_started)
        lv_event_stop();
    lv_state_close(drv->state);
    if (drv->reconcile_fd >= 0)
        close(drv->reconcile_fd);   /* releases the lock */
    pthread_mutex_destroy(&drv->tags_lock);
    pthread_rwlock_destroy(&drv->image_use_lock);
    free(drv);
}

/* Whoever holds the lock repairs crash leftovers: the daemon, or the admin
 * CLI while no daemon runs, never one while the other works. */
static void take_reconcile_lock(cg_drv *drv)
{
    char *path = cg_asprintf("%s/reconcile.lock", drv->cfg->state_dir);

    if (path)
        drv->reconcile_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (drv->reconcile_fd >= 0 && flock(drv->reconcile_fd, LOCK_EX | LOCK_NB) == 0) {
        drv->reconciles = 1;
    } else {
        cg_debug("another cloudgate process holds %s: not reconciling", path ? path : "?");
        if (drv->reconcile_fd >= 0)
            close(drv->reconcile_fd);
        drv->reconcile_fd = -1;
    }
    free(path);
}

/* lv_host_hooks.ended: a terminated row is written when a launch fails
 * (lv_launch_undo) and when an instance is terminated. */
static int instance_ended(const char *id, void *arg)
{
    cg_drv *drv = arg;
    cg_error err = {0};
    int rc = lv_state_terminated_has(drv->state, id, &err);

    /* On a read error the domain is cached as before: shown, never lost. */
    if (rc < 0)
        cg_warn("instance %s: cannot read its terminated row: %s", id, err.message);
    return rc;
}

static cg_drv *lv_open(const cg_config *cfg, cg_error *err)
{
    cg_drv *drv = NULL;
    lv_host_hooks hooks = {.starting = lv_known_load,
                           .connected = lv_reconcile_zone,
                           .changed = lv_known_save,
                           .ended = instance_ended};
    double deadline;
    size_t i;

    if (!cfg || cfg->n_zones == 0 || !cfg->state_dir || !cfg->storage_pool ||
        !cfg->network || !cfg->domain_type) {
        cg_error_set(err, CG_ERR_INVALID, "libvirt driver: incomplete configuration%s",
                     cfg && cfg->n_zones == 0 ? " (no zone)" : "");
        return NULL;
    }
    if (!(drv = calloc(1, sizeof(*drv)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&drv->tags_lock, NULL);
    pthread_rwlock_init(&drv->image_use_lock, NULL);
    drv->cfg = cfg;
    drv->reconcile_fd = -1;
    /* Each driver opened in the process numbers its versions above those of
     * the ones before: a listing of a closed driver never serves a new one. */
    drv->version_base = (__atomic_add_fetch(&versions_opened, 1, __ATOMIC_RELAXED)) << 40;
    if (lv_event_start(err) < 0)
        goto error;
    drv->events_started = 1;
    if (!(drv->state = lv_state_open(cfg, err)) || lv_volstate_init(drv->state, err) < 0 ||
        lv_snapstate_init(drv->state, err) < 0 ||
        lv_intent_init(drv->state, err) < 0 || lv_netstate_init(drv->state, cfg, err) < 0 ||
        lv_sgstate_init(drv->state, err) < 0 || lv_v2v_lock_init(drv->state, err) < 0 ||
        lv_imds_init(drv->state, err) < 0)
        goto error;
    take_reconcile_lock(drv);
    lv_reconcile_tokens(drv);
    if (lv_volmods_init(drv->state, drv->reconciles, err) < 0)
        goto error;
    if (!(drv->hosts = calloc(cfg->n_zones, sizeof(*drv->hosts)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto error;
    }
    /* An unreachable host does not stop the gateway: its zone shows as
     * unavailable and its own thread keeps trying.  Each host connects in
     * its thread, so they all try at once. */
    hooks.arg = drv;
    for (i = 0; i < cfg->n_zones; i++) {
        if (!(drv->hosts[i] = lv_host_new(cfg, &cfg->zones[i], &hooks, err)))
            goto error;
        drv->n_hosts++;
    }
    if (!(drv->launchq = calloc(cfg->n_zones, sizeof(*drv->launchq)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto error;
    }
    for (i = 0; i < drv->n_hosts; i++) {
        if (!(drv->launchq[i] = lv_launchq_new(drv, drv->hosts[i], err)))
            goto error;
    }
    /* A moment for the first attempts, so that a reachable zone is available
     * from the first request on; a hung daemon does not hold start-up longer. */
    deadline = cg_monotonic() + OPEN_WAIT_SEC;
    for (i = 0; i < drv->n_hosts; i++) {
        if (!lv_host_wait_attempt(drv->hosts[i], deadline))
            cg_warn("zone %s: no answer from %s after %.0f s; unavailable until it connects",
                    lv_host_zone(drv->hosts[i]), cfg->zones[i].uri, OPEN_WAIT_SEC);
    }
    return drv;

error:
    lv_close(drv);
    return NULL;
}

static int lv_zone_list(cg_drv *drv, cg_zone_list *out, cg_error *err)
{
    size_t i;

    out->v = NULL;
    out->n = 0;
    if (!(out->v = calloc(drv->n_hosts ? drv->n_hosts : 1, sizeof(*out->v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < drv->n_hosts; i++) {
        snprintf(out->v[i].name, sizeof(out->v[i].name), "%s", lv_host_zone(drv->hosts[i]));
        snprintf(out->v[i].state, sizeof(out->v[i].state), "%s",
                 lv_host_available(drv->hosts[i]) ? "available" : "unavailable");
    }
    out->n = drv->n_hosts;
    return 0;
}

/* 1 when id is among the zones' snapshots in l (zone i: first[i] to
 * first[i + 1], sorted by id). */
static int live_in(const cg_instance_list *l, const size_t *first, size_t n_zones, const char *id)
{
    size_t i, n;

    for (i = 0; i < n_zones; i++) {
        n = first[i + 1] - first[i];
        if (lv_rows_find_id(l->v + first[i], n, sizeof(l->v[0]), id) < n)
            return 1;
    }
    return 0;
}

static int lv_instance_list(cg_drv *drv, cg_instance_list *out, cg_error *err)
{
    cg_instance_list term = {0};
    time_t now = time(NULL), due;
    time_t cutoff = now - (time_t)drv->cfg->terminated_retention_sec;
    size_t i, j, *first = calloc(drv->n_hosts + 1, sizeof(*first));
    int ret = -1;

    if (!first) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    /* Each zone's snapshot comes sorted by id: first[i]..first[i + 1]. */
    for (i = 0; i < drv->n_hosts; i++) {
        first[i] = out->n;
        if (lv_cache_snapshot(lv_host_cache(drv->hosts[i]), out) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        if (!lv_host_available(drv->hosts[i]))
            for (j = first[i]; j < out->n; j++)
                out->v[j].impaired = 1;
    }
    first[drv->n_hosts] = out->n;
    lv_v2v_lock_apply(drv->state, out);
    /* Expired records are filtered here and deleted at most once a minute:
     * a listing should not write to the database every time. */
    due = __atomic_load_n(&drv->next_prune, __ATOMIC_RELAXED);
    if (now >= due && __atomic_compare_exchange_n(&drv->next_prune, &due, now + PRUNE_SEC, 0,
                                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        lv_state_terminated_prune(drv->state, cutoff, NULL);
    if (lv_state_terminated_list(drv->state, cutoff, &term, err) < 0)
        goto cleanup;
    for (i = 0; i < term.n; i++) {
        /* An instance being terminated right now is in both for a moment.
         * A search per zone: terminated x live compares were half a million
         * per listing of 1,000 instances after 500 terminates. */
        if (live_in(out, first, drv->n_hosts, term.v[i].id))
            continue;
        if (cg_instance_list_append(out, &term.v[i]) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    lv_vpc_fill_instances(drv, out);
    lv_sg_fill_instances(drv, out, 1);
    lv_imds_fill_instances(drv, out);
    ret = 0;

cleanup:
    free(first);
    cg_instance_list_release(&term);
    if (ret < 0)
        cg_instance_list_release(out);
    return ret;
}

/* The sum of counts that never go down, so it moves when any one does:
 * each zone's cache and availability, the state database (terminated
 * records, NICs, groups, metadata options, v2v locks) and, for records
 * that expire, the seconds. */
static uint64_t lv_instances_version(cg_drv *drv)
{
    uint64_t v = drv->version_base + lv_state_version(drv->state) + (uint64_t)cg_monotonic();
    size_t i;

    for (i = 0; i < drv->n_hosts; i++)
        v += lv_cache_changes(lv_host_cache(drv->hosts[i])) + lv_host_flips(drv->hosts[i]);
    return v;
}

static int tags_apply(cg_drv *drv, const char *id, const cg_tags *tags, int remove,
                      cg_error *err)
{
    if (strncmp(id, "i-", 2) == 0)
        return lv_instance_tags(drv, id, tags, remove, err);
    if (strncmp(id, "ami-", 4) == 0)
        return lv_image_tags(drv, id, tags, remove, err);
    if (strncmp(id, "vol-", 4) == 0)
        return lv_volstate_tags(drv->state, id, tags, remove, err);
    if (strncmp(id, "snap-", 5) == 0)
        return lv_snapshot_tags(drv, id, tags, remove, err);
    if (strncmp(id, "vpc-", 4) == 0 || strncmp(id, "subnet-", 7) == 0)
        return lv_netstate_tags(drv->state, id, tags, remove, err);
    if (strncmp(id, "sg-", 3) == 0 || strncmp(id, "sgr-", 4) == 0)
        return lv_sgstate_tags(drv->state, id, tags, remove, err);
    cg_error_set(err, CG_ERR_NOT_FOUND, "resource %s does not exist", id);
    return -1;
}

static int lv_tags_set(cg_drv *drv, const char *id, const cg_tags *tags, cg_error *err)
{
    return tags_apply(drv, id, tags, 0, err);
}

static int lv_tags_delete(cg_drv *drv, const char *id, const cg_tags *tags, cg_error *err)
{
    return tags_apply(drv, id, tags, 1, err);
}

const cg_driver lv_driver = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .zone_list = lv_zone_list,
    .image_list = lv_image_list,
    .image_register = lv_image_register,
    .image_deregister = lv_image_deregister,
    .image_delete = lv_image_delete,
    .image_modify = lv_image_modify,
    .instance_list = lv_instance_list,
    .instances_version = lv_instances_version,
    .instance_run = lv_instance_run,
    .instance_start = lv_instance_start,
    .instance_stop = lv_instance_stop,
    .instance_reboot = lv_instance_reboot,
    .instance_terminate = lv_instance_terminate,
    .instance_user_data = lv_instance_user_data,
    .instance_modify = lv_instance_modify,
    .instance_console = lv_instance_console,
    .instance_pause = lv_instance_pause,
    .instance_suspend = lv_instance_suspend,
    .instance_import_begin = lv_instance_import_begin,
    .instance_import_adopt = lv_instance_import_adopt,
    .instance_import_finish = lv_instance_import_finish,
    .instance_import_drop = lv_instance_import_drop,
    .v2v_vm_check = lv_v2v_vm_check,
    .image_capture = lv_image_capture,
    .image_create_pending = lv_image_create_pending,
    .disk_sink_open = lv_disk_sink_open,
    .disk_sink_write = lv_disk_sink_write,
    .disk_sink_finish = lv_disk_sink_finish,
    .disk_sink_abort = lv_disk_sink_abort,
    .image_disk_paths = lv_image_disk_paths,
    .pool_local_dir = lv_pool_local_dir,
    .image_set_os = lv_image_set_os,
    .image_publish = lv_image_publish,
    .image_discard = lv_image_discard,
    .volume_list = lv_volume_list,
    .volume_create = lv_volume_create,
    .volume_delete = lv_volume_delete,
    .volume_attach = lv_volume_attach,
    .volume_detach = lv_volume_detach,
    .snapshot_list = lv_snapshot_list,
    .snapshot_create_pending = lv_snapshot_create_pending,
    .snapshot_copy = lv_snapshot_copy,
    .snapshot_delete = lv_snapshot_delete,
    .volume_modify = lv_volume_modify,
    .volume_mod_list = lv_volume_mod_list,
    .volume_set_delete_on_termination = lv_volume_set_delete_on_termination,
    .instance_run_once = lv_instance_run_once,
    .instance_screenshot = lv_instance_screenshot,
    .image_set_display = lv_image_set_display,
    .vpc_list = lv_vpc_list,
    .vpc_create = lv_vpc_create,
    .vpc_delete = lv_vpc_delete,
    .subnet_list = lv_subnet_list,
    .subnet_create = lv_subnet_create,
    .subnet_delete = lv_subnet_delete,
    .sg_list = lv_sg_list,
    .sg_create = lv_sg_create,
    .sg_delete = lv_sg_delete,
    .sg_rules_change = lv_sg_rules_change,
    .instance_set_groups = lv_sg_instance_set_groups,
    .instance_metadata_options = lv_imds_options,
    .tags_set = lv_tags_set,
    .tags_delete = lv_tags_delete,
};
