/* cloudgate: EC2 ImportImage, DescribeImportImageTasks, CancelImportTask.
 *
 * An import task is the engine's job (engine/images.h): ImportImage calls
 * cg_import_submit and answers with the job as an "active" task; the other
 * two read and cancel jobs.  Task view of a job:
 *   QUEUED/RUNNING -> Status "active", Progress and StatusMessage live;
 *   SUCCESS -> "completed" with ImageId;
 *   FAILED/CANCELLED -> "deleted" with the reason in StatusMessage.
 * The one DiskContainer's Url is glance://PROVIDER/IMAGE_ID, http(s)://...
 * or file:///path (under import_dirs); Format qcow2 or raw (optional: the
 * bytes tell), or ova, vmdk, vhdx: converted by virt-v2v (file:// or
 * http(s):// only), with the conversion's stage in StatusMessage.  Description, LicenseType,
 * Platform and Architecture are accepted; the image's OS comes from inspection.  A TagSpecification
 * of ResourceType import-image-task tags the image made; cloudgate:seal=true in it seals the image
 * (virt-sysprep) before it becomes available, and other cloudgate: keys are refused.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EC2_TASK_PREFIX "import-ami-"

static const char *task_status(const cg_job *j)
{
    switch (j->state) {
    case CG_JOB_QUEUED:
    case CG_JOB_RUNNING:
        return "active";
    case CG_JOB_SUCCESS:
        return "completed";
    default:
        return "deleted";
    }
}

/* One ImportImageTask (DescribeImportImageTasks item, ImportImage result);
 * tags may be NULL (none). */
static void write_task(ec2_xml *x, const cg_job *j, const cg_tags *tags)
{
    char num[32];
    const char *status = task_status(j);
    int active = strcmp(status, "active") == 0;

    ec2_xml_str(x, "importTaskId", j->id);
    if (j->description[0])
        ec2_xml_str(x, "description", j->description);
    ec2_xml_str(x, "architecture", "x86_64");
    ec2_xml_bool(x, "encrypted", 0);
    ec2_xml_str(x, "hypervisor", "xen"); /* the only value the API knows */
    if (j->state == CG_JOB_SUCCESS && j->target[0])
        ec2_xml_str(x, "imageId", j->target);
    if (active) {
        snprintf(num, sizeof(num), "%d", j->progress);
        ec2_xml_str(x, "progress", num);
    }
    ec2_xml_start(x, "snapshotDetailSet");
    ec2_xml_start(x, "item");
    if (j->size) {
        snprintf(num, sizeof(num), "%llu.0", j->size);
        ec2_xml_str(x, "diskImageSize", num);
    }
    if (j->format[0])
        ec2_xml_str(x, "format", j->format);
    if (active) {
        snprintf(num, sizeof(num), "%d", j->progress);
        ec2_xml_str(x, "progress", num);
    }
    ec2_xml_str(x, "status", status);
    if (j->status_message[0] && j->state != CG_JOB_SUCCESS)
        ec2_xml_str(x, "statusMessage", j->status_message);
    ec2_xml_str(x, "url", j->source);
    ec2_xml_end(x);
    ec2_xml_end(x);
    ec2_xml_str(x, "status", status);
    /* A completed task says nothing more (the job keeps its last step). */
    if (j->status_message[0] && j->state != CG_JOB_SUCCESS)
        ec2_xml_str(x, "statusMessage", j->status_message);
    ec2_xml_tags(x, tags);   /* NULL: an empty tagSet */
}

char *ec2_xml_import_image(const char *request_id, const cg_job *j, const cg_tags *tags,
                           size_t *len)
{
    ec2_xml *x = ec2_xml_new("ImportImage", request_id);

    if (!x)
        return NULL;
    write_task(x, j, tags);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_import_tasks(const char *request_id, const cg_job *const *v,
                           const cg_tags *const *tags, size_t n, const char *next_token,
                           size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeImportImageTasks", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "importImageTaskSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        write_task(x, v[i], tags ? tags[i] : NULL);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_cancel_import_task(const char *request_id, const char *id, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CancelImportTask", request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "importTaskId", id);
    ec2_xml_str(x, "previousState", "active");
    ec2_xml_str(x, "state", "deleting");
    return ec2_xml_finish(x, len);
}

/* Format, case-insensitive as AWS takes it ("RAW", "qcow2", "OVA"): into
 * fmt.  ova, vmdk and vhdx go through virt-v2v (engine/v2v_import.h). */
static int disk_format(ec2_call *c, char *fmt, size_t len)
{
    static const char *const known[] = {"qcow2", "raw", "ova", "vmdk", "vhdx", NULL};
    const char *f = ec2_params_get(c->params, "DiskContainer.1.Format");

    fmt[0] = '\0';
    if (!f)
        return 0;
    for (size_t i = 0; known[i]; i++) {
        if (strcasecmp(f, known[i]) == 0) {
            snprintf(fmt, len, "%s", known[i]);
            return 0;
        }
    }
    if (strcasecmp(f, "vhd") == 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "Format VHD is not converted here; convert it to VHDX, qcow2 or raw "
                        "first (qemu-img convert)");
    return ec2_fail(c, "InvalidParameterValue",
                    "Value (%.32s) for parameter DiskContainer.1.Format is invalid. Supported "
                    "formats: qcow2, raw, ova, vmdk, vhdx.",
                    f);
}

/* The task's tags (on the image made) and the seal request among them. */
static int task_tags(ec2_call *c, cg_tags *tags, int *seal)
{
    *seal = 0;
    if (ec2_param_tag_specs(c, "import-image-task", tags) < 0 ||
        ec2_seal_tag_take(c, tags, seal) < 0)
        return -1;
    /* (The display: CreateTags on the image made.) */
    return ec2_tags_refuse_reserved(c, tags, EC2_TAG_SEAL);
}

int ec2_import_image(ec2_call *c)
{
    const char *url = ec2_params_get(c->params, "DiskContainer.1.Url");
    const char *desc = ec2_params_get(c->params, "Description");
    cg_import_spec spec = {.as = CG_IMPORT_TEMPLATE};
    cg_tags tags = {0};
    cg_error err = {0};
    cg_job job;
    char fmt[16];
    size_t len = 0;
    int ret = -1;

    if (ec2_params_list_len(c->params, "DiskContainer") > 1) {
        ec2_fail(c, "InvalidParameterValue", "Only one DiskContainer is supported per image");
        goto cleanup;
    }
    if (ec2_params_get(c->params, "DiskContainer.1.UserBucket.S3Bucket") ||
        ec2_params_get(c->params, "DiskContainer.1.SnapshotId")) {
        ec2_fail(c, "InvalidParameterValue",
                 "There is no S3 or snapshot source here: give DiskContainer.1.Url "
                 "(glance://PROVIDER/ID, http(s)://... or file:///...)");
        goto cleanup;
    }
    if (!url || !*url) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter DiskContainer.1.Url");
        goto cleanup;
    }
    if (desc && ec2_xml_text_chars(desc) > 255) {
        ec2_fail(c, "InvalidParameterValue", "The description must be at most 255 characters");
        goto cleanup;
    }
    if (disk_format(c, fmt, sizeof(fmt)) < 0 || task_tags(c, &tags, &spec.seal) < 0 ||
        ec2_dry_run(c) < 0)
        goto cleanup;
    spec.url = url;
    spec.format = fmt[0] ? fmt : NULL;
    spec.description = desc;
    spec.tags = tags.n ? &tags : NULL;
    if (cg_import_submit(&c->ctx->core, &spec, &job, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_import_image(c->req->request_id, &job, &tags, &len), &len);

cleanup:
    cg_tags_release(&tags);
    return ret;
}

static const char *const task_filters[] = {"task-state", "tag-key", "tag-value", "tag:", NULL};

/* A task as DescribeImportImageTasks filters and shows it. */
typedef struct task_row {
    const cg_job *job;
    cg_tags tags;
} task_row;

static void task_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const task_row *r = obj;

    (void)ud;
    if (strcmp(name, "task-state") == 0)
        ec2_match_offer(m, task_status(r->job));
    else
        ec2_match_tags(m, name, &r->tags);
}

/* Its model calls the list "Filters" (Filters.N.Name, Filters.N.Value.M). */
static int task_filters_parse(ec2_call *c, ec2_filters *out)
{
    cg_error err = {0};

    if (ec2_filters_parse_list(c->params, "Filters", task_filters, out, &err) < 0)
        return ec2_fail_cg(c, &err, NULL);
    return 0;
}

static const char *task_key(const void *elem)
{
    return (*(const task_row *const *)elem)->job->id;
}

static int is_task(const cg_job *j)
{
    return strcmp(j->action, CG_JOB_IMPORT_IMAGE) == 0;
}

static const cg_job *find_task(const cg_job_list *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (is_task(&l->v[i]) && strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    return NULL;
}

/* Each wanted task of jobs (ids[0..n_ids), or all) with its tags into rows;
 * *n counts them.  0 or -1 (reported). */
static int task_rows(ec2_call *c, const cg_job_list *jobs, const char *const *ids, size_t n_ids,
                     task_row *rows, size_t *n)
{
    cg_error err = {0};
    size_t i, k;
    int wanted;

    for (i = 0; i < jobs->n; i++) {
        for (k = 0, wanted = !n_ids; k < n_ids && !wanted; k++)
            wanted = strcmp(ids[k], jobs->v[i].id) == 0;
        if (!is_task(&jobs->v[i]) || !wanted)
            continue;
        rows[*n].job = &jobs->v[i];
        if (cg_job_tags_get(c->ctx->jobs, jobs->v[i].id, &rows[*n].tags, &err) < 0)
            return ec2_fail_cg(c, &err, NULL);
        (*n)++;
    }
    return 0;
}

int ec2_describe_import_image_tasks(ec2_call *c)
{
    const char **ids = NULL;
    task_row *rows = NULL;
    task_row **view = NULL;
    const cg_job **shown = NULL;
    const cg_tags **shown_tags = NULL;
    cg_job_list jobs = {0};
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_error err = {0};
    char *next = NULL;
    size_t n_ids = 0, n_rows = 0, n = 0, i, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "ImportTaskId", 0, &ids, &n_ids) < 0 ||
        task_filters_parse(c, &filters) < 0 ||
        ec2_param_page(c, "import-tasks", 1, 500, &page) < 0 || ec2_dry_run(c) < 0)
        goto cleanup;
    if (cg_jobs_list(c->ctx->jobs, &jobs, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < n_ids; i++) {
        if (!find_task(&jobs, ids[i])) {
            ec2_fail(c, "InvalidConversionTaskId.Malformed",
                     "The import task ID '%.64s' does not exist", ids[i]);
            goto cleanup;
        }
    }
    if (jobs.n &&
        (!(rows = calloc(jobs.n, sizeof(*rows))) || !(view = calloc(jobs.n, sizeof(*view))) ||
         !(shown = calloc(jobs.n, sizeof(*shown))) ||
         !(shown_tags = calloc(jobs.n, sizeof(*shown_tags))))) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
        ec2_fail_cg(c, &oom, NULL);
        goto cleanup;
    }
    if (task_rows(c, &jobs, ids, n_ids, rows, &n_rows) < 0)
        goto cleanup;
    for (i = 0; i < n_rows; i++) {
        if (ec2_filters_match(&filters, &rows[i], task_field, c))
            view[n++] = &rows[i];
    }
    ec2_sort(view, n, sizeof(*view), task_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), task_key, &next, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        shown[i] = view[i]->job;
        shown_tags[i] = &view[i]->tags;
    }
    ret = ec2_reply(c, ec2_xml_import_tasks(c->req->request_id, shown, shown_tags, n, next, &len),
                    &len);

cleanup:
    for (i = 0; i < n_rows; i++)
        cg_tags_release(&rows[i].tags);
    free(rows);
    free(next);
    free(view);
    free(shown);
    free(shown_tags);
    free(ids);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_job_list_release(&jobs);
    return ret;
}

int ec2_cancel_import_task(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "ImportTaskId");
    const char *reason = ec2_params_get(c->params, "CancelReason");
    cg_job_list jobs = {0};
    const cg_job *j;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter ImportTaskId");
        goto cleanup;
    }
    if (cg_jobs_list(c->ctx->jobs, &jobs, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (!(j = find_task(&jobs, id))) {
        ec2_fail(c, "InvalidConversionTaskId.Malformed",
                 "The import task ID '%.64s' does not exist", id);
        goto cleanup;
    }
    if (strcmp(task_status(j), "active") != 0) {
        ec2_fail(c, "IncorrectState", "The import task %.64s is %s and cannot be cancelled", id,
                 task_status(j));
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (cg_jobs_cancel(c->ctx->jobs, id, &err) < 0) {
        if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectState", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (reason)
        cg_job_log(c->ctx->jobs, id, "cancel reason: %.200s", reason);
    ret = ec2_reply(c, ec2_xml_cancel_import_task(c->req->request_id, id, &len), &len);

cleanup:
    cg_job_list_release(&jobs);
    return ret;
}
