/* cloudgate engine: a provider's VM imported as a locked instance (see
 * v2v_vm_import.h).
 *
 * Progress: the instance defined 0..5%, the conversion 5..95%
 * (cg_v2v_percent scaled), the disk adopted and the instance started the
 * rest.
 */
#define _XOPEN_SOURCE 700
#include "v2v_vm_import.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "tool_run.h"
#include "v2v.h"
#include "v2v_import.h"

#define OUT_NAME "guest"        /* -on: DIR/guest-sda, DIR/guest.xml */

_Static_assert(CG_V2V_MAX_DISKS <= CG_IMPORT_MAX_DISKS,
               "every disk a conversion reports fits an imported instance");

typedef struct vm_job {
    cg_core core;
    char uri[1024];
    char password_file[PATH_MAX];
    char vm[256];
    char file[PATH_MAX];        /* instead of uri and vm: a local file */
    int file_is_ova;
    char zone[64];
    char type_name[64];
    unsigned vcpus, memory_mib;
    cg_display display;
    cg_tags tags;
    char instance_id[24];
    char dir[PATH_MAX];
    const char *job_id;
} vm_job;

static void vm_job_free(void *arg)
{
    vm_job *vj = arg;

    if (vj) {
        cg_tags_release(&vj->tags);
        free(vj);
    }
}

/* virt-v2v -i libvirt -ic URI [-ip FILE] VM -o local -os DIR, in a slot. */
static int convert(vm_job *vj, cg_v2v_result *res, cg_error *err)
{
    cg_v2v_job_step js = {.jobs = vj->core.jobs, .job_id = vj->job_id, .lo = 5, .span = 90,
                          .queued = 5, .cfg = vj->core.cfg};
    cg_v2v_spec spec = {.input = CG_V2V_LIBVIRT, .source = vj->vm, .uri = vj->uri,
                        .password_file = vj->password_file[0] ? vj->password_file : NULL,
                        .out_dir = vj->dir, .out_name = OUT_NAME};
    char what[sizeof(vj->vm) + sizeof(vj->uri) + sizeof(vj->file) + 64];

    if (vj->file[0]) {
        spec = (cg_v2v_spec){.input = vj->file_is_ova ? CG_V2V_OVA : CG_V2V_DISK,
                             .source = vj->file, .out_dir = vj->dir, .out_name = OUT_NAME};
        snprintf(what, sizeof(what), "converting %s with virt-v2v -i %s", vj->file,
                 vj->file_is_ova ? "ova" : "disk");
    } else {
        /* The URI may hold a user name, never a password (that is in the file). */
        snprintf(what, sizeof(what), "converting %s from %s with virt-v2v -i libvirt", vj->vm,
                 vj->uri);
    }
    return cg_v2v_job_convert(&js, &spec, what, res, err);
}

static int run_vm_import(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    vm_job *vj = arg;
    const cg_core *c = &vj->core;
    cg_import_instance_spec is = {.job_id = job_id, .zone = vj->zone[0] ? vj->zone : NULL,
                                  .type_name = vj->type_name, .vcpus = vj->vcpus,
                                  .memory_mib = vj->memory_mib, .display = vj->display,
                                  .tags = vj->tags.n ? &vj->tags : NULL};
    cg_instance inst = {0};
    cg_v2v_result res;
    const char *disks[CG_V2V_MAX_DISKS];
    char undo[PATH_MAX + 64];
    int ret = -1;

    vj->job_id = job_id;
    if (CG_DRV_CALL(c->driver, c->drv, instance_import_begin, err, &is, &inst) < 0)
        return -1;
    snprintf(vj->instance_id, sizeof(vj->instance_id), "%s", inst.id);
    cg_instance_release(&inst);
    snprintf(undo, sizeof(undo), "instance %s", vj->instance_id);
    cg_job_set_undo(jobs, job_id, undo);
    cg_job_set_target(jobs, job_id, vj->instance_id, NULL);
    cg_job_progress(jobs, job_id, 2, "instance defined (locked)");
    cg_job_log(jobs, job_id, "instance %s defined, locked until the conversion ends",
               vj->instance_id);
    if (cg_v2v_dir_make(c, job_id, vj->dir, sizeof(vj->dir), err) < 0)
        goto cleanup;
    /* Recovery kills the conversion and removes the directory too. */
    snprintf(undo, sizeof(undo), "instance %s v2v %s", vj->instance_id, vj->dir);
    cg_job_set_undo(jobs, job_id, undo);
    if (convert(vj, &res, err) < 0)
        goto cleanup;
    if (cg_job_cancelled(jobs, job_id)) {
        cg_error_set(err, CG_ERR_STATE, "cancelled");
        goto cleanup;
    }
    for (size_t i = 0; i < res.ndisks; i++)
        disks[i] = res.disk[i];
    cg_job_progress(jobs, job_id, 95,
                    res.ndisks > 1 ? "adopting the converted disks"
                                   : "adopting the converted disk");
    if (CG_DRV_CALL(c->driver, c->drv, instance_import_adopt, err, vj->instance_id, disks,
                    res.ndisks) < 0)
        goto cleanup;
    if (res.ndisks > 1)
        cg_job_log(jobs, job_id, "root disk and %zu volume(s) (vdb..) attached to %s",
                   res.ndisks - 1, vj->instance_id);
    cg_job_progress(jobs, job_id, 98, "starting the instance");
    if (CG_DRV_CALL(c->driver, c->drv, instance_import_finish, err, vj->instance_id, 1) < 0)
        goto cleanup;
    cg_job_log(jobs, job_id, "instance %s unlocked and started", vj->instance_id);
    ret = 0;

cleanup:
    cg_v2v_dir_remove(vj->dir);
    if (ret < 0 && c->driver->instance_import_drop) {
        cg_job_log(jobs, job_id, "removing instance %s: %s", vj->instance_id, err->message);
        c->driver->instance_import_drop(c->drv, vj->instance_id);
    }
    return ret;
}

static int too_long(const char *s, size_t size)
{
    return s && strlen(s) >= size;
}

int cg_v2v_vm_import_submit(const cg_core *c, const cg_vm_import_spec *spec, cg_job *out,
                            cg_error *err)
{
    cg_job_opts o = {.action = CG_JOB_IMPORT_INSTANCE, .id_prefix = "import-i-",
                     .can_cancel_running = 1, .format = "libvirt"};
    char dir[PATH_MAX];
    vm_job *vj;

    if (spec->file ? !spec->file[0] || spec->file[0] != '/'
                   : !spec->uri || !spec->uri[0] || !spec->vm || !spec->vm[0]) {
        cg_error_set(err, CG_ERR_INVALID, "a provider URI and a VM name, or an absolute file "
                                          "path, are needed");
        return -1;
    }
    if (spec->vcpus == 0 || spec->memory_mib == 0) {
        cg_error_set(err, CG_ERR_INVALID, "vCPUs and memory must be above 0");
        return -1;
    }
    if (too_long(spec->uri, sizeof(vj->uri)) || too_long(spec->vm, sizeof(vj->vm)) ||
        too_long(spec->password_file, sizeof(vj->password_file)) ||
        too_long(spec->file, sizeof(vj->file)) ||
        too_long(spec->zone, sizeof(vj->zone)) ||
        too_long(spec->type_name, sizeof(vj->type_name)) || too_long(spec->name, 256)) {
        cg_error_set(err, CG_ERR_INVALID, "URI, VM, zone, type or name too long");
        return -1;
    }
    /* No local directory pool (test://, remote zones): refused now. */
    if (CG_DRV_CALL(c->driver, c->drv, pool_local_dir, err, dir, sizeof(dir)) < 0)
        return -1;
    if (!(vj = calloc(1, sizeof(*vj))) ||
        (spec->name && cg_tags_set(&vj->tags, "Name", spec->name) < 0)) {
        vm_job_free(vj);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    vj->core = *c;
    snprintf(vj->uri, sizeof(vj->uri), "%s", spec->uri ? spec->uri : "");
    snprintf(vj->file, sizeof(vj->file), "%s", spec->file ? spec->file : "");
    vj->file_is_ova = spec->file_is_ova;
    snprintf(vj->password_file, sizeof(vj->password_file), "%s",
             spec->password_file ? spec->password_file : "");
    snprintf(vj->vm, sizeof(vj->vm), "%s", spec->vm ? spec->vm : "");
    snprintf(vj->zone, sizeof(vj->zone), "%s", spec->zone ? spec->zone : "");
    snprintf(vj->type_name, sizeof(vj->type_name), "%s", spec->type_name ? spec->type_name : "");
    vj->vcpus = spec->vcpus;
    vj->memory_mib = spec->memory_mib;
    vj->display = spec->display;
    o.source = vj->file[0] ? vj->file : vj->vm;
    if (vj->file[0])
        o.format = vj->file_is_ova ? "ova" : "disk";
    o.description = spec->name;
    if (cg_jobs_submit_opts(c->jobs, &o, run_vm_import, vj, vm_job_free, out, err) < 0) {
        vm_job_free(vj);
        return -1;
    }
    return 0;
}

/* ---- recovery ------------------------------------------------------------- */

static void recover_one(const cg_job *job, const char *undo, void *arg)
{
    const cg_core *c = arg;
    char id[32];

    if (sscanf(undo, "instance %31s", id) != 1)
        return;
    cg_warn("job %s was interrupted: removing its locked instance %s", job->id, id);
    cg_v2v_import_recover(undo); /* the conversion's process group and directory */
    if (c->driver->instance_import_drop)
        c->driver->instance_import_drop(c->drv, id);
}

int cg_v2v_vm_import_recover(const cg_core *c, cg_error *err)
{
    return cg_jobs_recover(c->jobs, CG_JOB_IMPORT_INSTANCE, recover_one, (void *)c, err);
}
