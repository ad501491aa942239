/* cloudgate engine: ImportImage of foreign formats through virt-v2v (see
 * v2v_import.h).
 *
 * Progress: a download 0..10%, the conversion 10..85% (cg_v2v_percent
 * scaled), the converted disks into the pool 85..90%, inspection, sealing
 * and publishing the rest (cg_image_finish).  A guest with several disks
 * makes a template whose first disk is its root and whose others are its
 * further disks (vdb, vdc, ... in the guest's order), each stored as a
 * completed snapshot, as EC2's ImportImage does; they go with the image if
 * the job fails (the driver's discard of a pending image).
 */
#define _XOPEN_SOURCE 700
#include "v2v_import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "../gateway/util.h"
#include "disk_header.h"
#include "disk_writer.h"
#include "import_source.h"
#include "tool_run.h"
#include "v2v.h"

#define DIR_PREFIX ".cg-v2v-"
#define OUT_NAME "guest"               /* -on: DIR/guest-sda, DIR/guest.xml */
#define COPY_CHUNK (256 * 1024)        /* as images.c's WRITE_CHUNK */

typedef struct v2v_job {
    cg_core core;
    char url[1024];
    char shown_url[1024];     /* without secrets */
    char format[16];          /* ova, vmdk, vhdx */
    char name[256];           /* "": the job's id */
    char description[256];
    int seal;
    cg_tags tags;
    char image_id[24];
    char dir[PATH_MAX];       /* the private directory, once made */
    const char *job_id;
    int download_fd;
    /* A provider's VM (format "libvirt") instead of a file: */
    char uri[1024];
    char password_file[PATH_MAX];
    char vm[256];
} v2v_job;

static const char *const formats[] = {"ova", "vmdk", "vhdx", NULL};

int cg_v2v_import_format(const char *format)
{
    for (size_t i = 0; format && formats[i]; i++)
        if (strcmp(format, formats[i]) == 0)
            return 1;
    return 0;
}

static void v2v_job_free(void *arg)
{
    v2v_job *vj = arg;

    if (vj) {
        cg_tags_release(&vj->tags);
        free(vj);
    }
}

static int job_cancelled(void *arg)
{
    v2v_job *vj = arg;

    return cg_job_cancelled(vj->core.jobs, vj->job_id);
}

/* ---- the private directory ------------------------------------------------ */

/* Remove dir and what is in it; only our own (the name says so). */
void cg_v2v_dir_remove(const char *dir)
{
    if (!dir[0] || !strstr(dir, "/" DIR_PREFIX))
        return;
    if (cg_rm_tree(dir) < 0)
        cg_warn("v2v: cannot remove all of %s: %s", dir, strerror(errno));
}

static void remove_dir(const char *dir)
{
    cg_v2v_dir_remove(dir);
}

void cg_v2v_import_recover(const char *undo)
{
    const char *dir = strstr(undo, " v2v /");

    if (!dir)
        return;
    dir += 5;
    /* virt-v2v's command line names DIR (-os): its group goes, qemu too */
    if (cg_tool_kill_leftovers(CG_V2V_TOOL, dir) > 0)
        usleep(500 * 1000);
    remove_dir(dir);
    cg_warn("removed the conversion directory %s of an interrupted job", dir);
}

int cg_v2v_dir_make(const cg_core *c, const char *job_id, char *dir, size_t len, cg_error *err)
{
    char base[PATH_MAX - 64];

    dir[0] = '\0';
    if (CG_DRV_CALL(c->driver, c->drv, pool_local_dir, err, base, sizeof(base)) < 0)
        return -1;
    snprintf(dir, len, "%s/%s%s", base, DIR_PREFIX, job_id);
    if (mkdir(dir, 0700) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: cannot create %s: %s", dir, strerror(errno));
        dir[0] = '\0'; /* not ours to remove */
        return -1;
    }
    return 0;
}

static int make_dir(v2v_job *vj, cg_error *err)
{
    return cg_v2v_dir_make(&vj->core, vj->job_id, vj->dir, sizeof(vj->dir), err);
}

/* ---- the source ------------------------------------------------------------ */

static int download_write(const void *buf, size_t len, void *arg, cg_error *err)
{
    v2v_job *vj = arg;
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(vj->download_fd, (const char *)buf + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "v2v: writing the download: %s",
                         strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* The local file virt-v2v reads, into path: a file:// source where it is
 * (checked again: it may have changed since submit), an http(s) one
 * downloaded into the private directory first.  0 or -1. */
static int source_path(v2v_job *vj, char *path, size_t len, cg_error *err)
{
    const cg_core *c = &vj->core;
    cg_source_info info = {0};
    int ret = -1;

    if (strncmp(vj->url, "file://", 7) == 0) {
        if (!cg_source_path_allowed(c->cfg, vj->url + 7, path, len)) {
            cg_error_set(err, CG_ERR_INVALID, "%.300s is gone or not under import_dirs",
                         vj->url + 7);
            return -1;
        }
        return 0;
    }
    if ((size_t)snprintf(path, len, "%s/source.%s", vj->dir, vj->format) >= len) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: path too long under %s", vj->dir);
        return -1;
    }
    if ((vj->download_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    cg_job_progress(c->jobs, vj->job_id, 1, "downloading");
    cg_job_log(c->jobs, vj->job_id, "downloading %s", vj->shown_url);
    if (cg_source_fetch(c->cfg, vj->url, download_write, job_cancelled, vj, &info, err) < 0)
        goto cleanup;
    cg_job_set_size(c->jobs, vj->job_id, info.size);
    cg_job_log(c->jobs, vj->job_id, "%llu bytes received", info.size);
    ret = 0;
cleanup:
    if (close(vj->download_fd) < 0 && ret == 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: writing the download: %s", strerror(errno));
        ret = -1;
    }
    vj->download_fd = -1;
    return ret;
}

/* ---- conversion ------------------------------------------------------------ */

static int convert(v2v_job *vj, const char *src, cg_v2v_result *res, cg_error *err)
{
    cg_v2v_job_step js = {.jobs = vj->core.jobs, .job_id = vj->job_id, .lo = 10, .span = 75,
                          .queued = 0, .cfg = vj->core.cfg};
    cg_v2v_spec spec = {.input = strcmp(vj->format, "ova") == 0 ? CG_V2V_OVA : CG_V2V_DISK,
                        .source = src, .out_dir = vj->dir, .out_name = OUT_NAME};
    char what[64];

    if (vj->vm[0]) {
        spec.input = CG_V2V_LIBVIRT;
        spec.source = vj->vm;
        spec.uri = vj->uri;
        spec.password_file = vj->password_file[0] ? vj->password_file : NULL;
    }
    snprintf(what, sizeof(what), "converting with virt-v2v -i %s",
             spec.input == CG_V2V_OVA ? "ova" : spec.input == CG_V2V_DISK ? "disk" : "libvirt");
    return cg_v2v_job_convert(&js, &spec, what, res, err);
}

/* ---- into the pool --------------------------------------------------------- */

/* Stream the converted qcow2 into the pending image's volume (the same
 * disk sink as any import: the volume is named by the row first), or with
 * device, into a snapshot that becomes the image's further disk there.
 * 0 or -1. */
static int adopt(v2v_job *vj, const char *path, const char *device, cg_error *err)
{
    const cg_core *c = &vj->core;
    cg_sink_spec spec = {.image_id = vj->image_id, .device = device};
    cg_disk_sink *sink = NULL;
    cg_disk_writer *w = NULL;
    unsigned char *buf = NULL;
    const char *format = NULL;
    struct stat sb;
    ssize_t n;
    size_t got = 0;
    int fd = -1, ret = -1;

    cg_job_progress(c->jobs, vj->job_id, 85,
                    device ? "storing a further disk" : "storing the converted disk");
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &sb) < 0 ||
        !S_ISREG(sb.st_mode)) {
        cg_error_set(err, CG_ERR_INTERNAL, "v2v: cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!(buf = malloc(COPY_CHUNK))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    while (got < CG_DISK_HEADER_MAX && (n = pread(fd, buf + got, CG_DISK_HEADER_MAX - got,
                                                   (off_t)got)) > 0)
        got += (size_t)n;
    if (cg_disk_header_check(buf, got, (unsigned long long)sb.st_size, "qcow2", &format,
                             &spec.virtual_size, err) < 0)
        goto cleanup;
    spec.format = format;
    spec.length = (unsigned long long)sb.st_size;
    if (CG_DRV_CALL(c->driver, c->drv, disk_sink_open, err, &spec, &sink) < 0 ||
        !(w = cg_disk_writer_new(c, sink, COPY_CHUNK, err)))
        goto cleanup;
    while ((n = read(fd, buf, COPY_CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "v2v: reading %s: %s", path, strerror(errno));
            goto cleanup;
        }
        if (cg_job_cancelled(c->jobs, vj->job_id)) {
            cg_error_set(err, CG_ERR_STATE, "cancelled");
            goto cleanup;
        }
        if (cg_disk_writer_write(w, buf, (size_t)n, err) < 0)
            goto cleanup;
    }
    if (cg_disk_writer_flush(w, err) < 0)
        goto cleanup;
    ret = CG_DRV_CALL(c->driver, c->drv, disk_sink_finish, err, sink, NULL, 0);
    sink = NULL; /* finish frees it, also when it fails */
    if (ret == 0)
        cg_job_log(c->jobs, vj->job_id, "converted disk %s stored (%llu bytes, virtual %llu)",
                   device ? device : "vda", (unsigned long long)sb.st_size, spec.virtual_size);
cleanup:
    cg_disk_writer_free(w); /* before the sink goes: it may be sending */
    if (sink && c->driver->disk_sink_abort)
        c->driver->disk_sink_abort(c->drv, sink);
    free(buf);
    if (fd >= 0)
        close(fd);
    return ret;
}

/* The converted guest's vCPUs and memory, as the image's tags: a template
 * has no shape of its own (instance types give it), so this is what the
 * source VM had, for choosing a type. */
static int record_shape(v2v_job *vj, const cg_v2v_result *res, cg_error *err)
{
    const cg_core *c = &vj->core;
    cg_tags t = {0};
    char vcpus[16], mib[24];
    int ret;

    snprintf(vcpus, sizeof(vcpus), "%u", res->vcpus);
    snprintf(mib, sizeof(mib), "%llu", res->memory_bytes / (1024 * 1024));
    if (cg_tags_set(&t, CG_V2V_TAG_VCPUS, vcpus) < 0 ||
        cg_tags_set(&t, CG_V2V_TAG_MEMORY, mib) < 0) {
        cg_tags_release(&t);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    ret = CG_DRV_CALL(c->driver, c->drv, tags_set, err, vj->image_id, &t);
    cg_tags_release(&t);
    return ret;
}

/* ---- the job ---------------------------------------------------------------- */

static int run_v2v(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err)
{
    v2v_job *vj = arg;
    const cg_core *c = &vj->core;
    cg_pending_image_spec ps = {.name = vj->name[0] ? vj->name : job_id,
                                .description = vj->description[0] ? vj->description : NULL,
                                .job_id = job_id,
                                .tags = vj->tags.n ? &vj->tags : NULL};
    cg_image img = {0};
    cg_v2v_result res;
    char undo[PATH_MAX + 64], src[PATH_MAX];
    size_t i;
    int ret = -1;

    vj->job_id = job_id;
    vj->download_fd = -1;
    if (CG_DRV_CALL(c->driver, c->drv, image_create_pending, err, &ps, &img) < 0)
        return -1;
    snprintf(vj->image_id, sizeof(vj->image_id), "%s", img.id);
    cg_image_release(&img);
    snprintf(undo, sizeof(undo), "image %s", vj->image_id);
    cg_job_set_undo(jobs, job_id, undo);
    cg_job_set_target(jobs, job_id, vj->image_id, NULL);
    if (make_dir(vj, err) < 0)
        goto cleanup;
    /* Recovery kills the conversion and removes the directory too. */
    snprintf(undo, sizeof(undo), "image %s v2v %s", vj->image_id, vj->dir);
    cg_job_set_undo(jobs, job_id, undo);
    src[0] = '\0';
    if ((!vj->vm[0] && source_path(vj, src, sizeof(src), err) < 0) ||
        convert(vj, src, &res, err) < 0)
        goto cleanup;
    if (res.ndisks < 1 || res.ndisks > 26) {
        cg_error_set(err, CG_ERR_INVALID,
                     "the guest has %zu disks; a template holds 1 to 26 "
                     "(vda..vdz)",
                     res.ndisks);
        goto cleanup;
    }
    if (adopt(vj, res.disk[0], NULL, err) < 0 || record_shape(vj, &res, err) < 0)
        goto cleanup;
    for (i = 1; i < res.ndisks; i++) {
        char dev[4] = {'v', 'd', (char)('a' + i), '\0'};

        if (adopt(vj, res.disk[i], dev, err) < 0)
            goto cleanup;
    }
    /* The directory goes before the slow inspection: its disk is copied. */
    remove_dir(vj->dir);
    if (cg_image_finish(c, job_id, vj->image_id, vj->seal, 90, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (vj->download_fd >= 0)
        close(vj->download_fd);
    remove_dir(vj->dir);
    if (ret < 0)
        cg_image_drop(c, job_id, vj->image_id);
    return ret;
}

int cg_v2v_import_submit(const cg_core *c, const cg_import_spec *spec, cg_job *out,
                         cg_error *err)
{
    cg_job_opts o = {.action = CG_JOB_IMPORT_IMAGE, .id_prefix = "import-ami-",
                     .can_cancel_running = 1};
    v2v_job *vj;

    if (spec->as != CG_IMPORT_TEMPLATE) {
        cg_error_set(err, CG_ERR_INVALID, "a %s is converted into a template (image), not "
                                          "a volume", spec->format);
        return -1;
    }
    if (!spec->url || (strncmp(spec->url, "file://", 7) != 0 &&
                       strncmp(spec->url, "http://", 7) != 0 &&
                       strncmp(spec->url, "https://", 8) != 0)) {
        cg_error_set(err, CG_ERR_INVALID, "a %s is read from file:///PATH (under import_dirs) "
                                          "or http(s)://", spec->format);
        return -1;
    }
    if ((spec->name && strlen(spec->name) >= sizeof(vj->name)) ||
        (spec->description && strlen(spec->description) >= sizeof(vj->description)) ||
        strlen(spec->url) >= sizeof(vj->url)) {
        cg_error_set(err, CG_ERR_INVALID, "name, description or URL too long");
        return -1;
    }
    if (cg_source_check(c->cfg, spec->url, err) < 0)
        return -1;
    /* No local directory pool (test://, remote zones): refused now, not
     * after a download. */
    {
        char dir[PATH_MAX];

        if (CG_DRV_CALL(c->driver, c->drv, pool_local_dir, err, dir, sizeof(dir)) < 0)
            return -1;
    }
    if (!(vj = calloc(1, sizeof(*vj))) ||
        (spec->tags && cg_tags_copy(&vj->tags, spec->tags) < 0)) {
        v2v_job_free(vj);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    vj->core = *c;
    vj->download_fd = -1;
    snprintf(vj->url, sizeof(vj->url), "%s", spec->url);
    cg_source_display(spec->url, vj->shown_url, sizeof(vj->shown_url));
    snprintf(vj->format, sizeof(vj->format), "%s", spec->format);
    snprintf(vj->name, sizeof(vj->name), "%s", spec->name ? spec->name : "");
    snprintf(vj->description, sizeof(vj->description), "%s",
             spec->description ? spec->description : "");
    vj->seal = spec->seal;
    o.description = spec->description;
    o.source = vj->shown_url;
    o.format = spec->format;
    o.tags = spec->tags;
    if (cg_jobs_submit_opts(c->jobs, &o, run_v2v, vj, v2v_job_free, out, err) < 0) {
        v2v_job_free(vj);
        return -1;
    }
    return 0;
}

int cg_v2v_import_vm_template(const cg_core *c, const cg_vm_template_spec *spec, cg_job *out,
                              cg_error *err)
{
    cg_job_opts o = {.action = CG_JOB_IMPORT_IMAGE, .id_prefix = "import-ami-",
                     .can_cancel_running = 1, .format = "libvirt", .source = spec->vm};
    v2v_job *vj;
    char dir[PATH_MAX];

    if (!spec->uri || !spec->uri[0] || !spec->vm || !spec->vm[0] ||
        strlen(spec->uri) >= sizeof(vj->uri) || strlen(spec->vm) >= sizeof(vj->vm) ||
        (spec->password_file && strlen(spec->password_file) >= sizeof(vj->password_file)) ||
        (spec->name && strlen(spec->name) >= sizeof(vj->name))) {
        cg_error_set(err, CG_ERR_INVALID, "a provider URI and a VM name are needed (and "
                                          "short enough)");
        return -1;
    }
    if (CG_DRV_CALL(c->driver, c->drv, pool_local_dir, err, dir, sizeof(dir)) < 0)
        return -1;
    if (!(vj = calloc(1, sizeof(*vj)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    vj->core = *c;
    vj->download_fd = -1;
    snprintf(vj->format, sizeof(vj->format), "libvirt");
    snprintf(vj->uri, sizeof(vj->uri), "%s", spec->uri);
    snprintf(vj->password_file, sizeof(vj->password_file), "%s",
             spec->password_file ? spec->password_file : "");
    snprintf(vj->vm, sizeof(vj->vm), "%s", spec->vm);
    snprintf(vj->shown_url, sizeof(vj->shown_url), "%s", spec->vm);
    snprintf(vj->name, sizeof(vj->name), "%s", spec->name ? spec->name : "");
    vj->seal = spec->seal;
    if (cg_jobs_submit_opts(c->jobs, &o, run_v2v, vj, v2v_job_free, out, err) < 0) {
        v2v_job_free(vj);
        return -1;
    }
    return 0;
}
