/* cloudgate: EC2 snapshot actions: CreateSnapshot, DescribeSnapshots,
 * DeleteSnapshot, CopySnapshot, over the driver's snapshot_* operations and
 * the engine's snapshot jobs (engine/snapshots.h).
 *
 * CreateSnapshot and CopySnapshot answer "pending" at once, as AWS does;
 * the job copies the bytes and DescribeSnapshots shows its progress.  A
 * cloudgate-only extension: CreateSnapshot with VolumeId=i-... snapshots
 * that instance's root disk.  Every snapshot belongs to the gateway's
 * account (cfg->account_id) and none is public or encrypted.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../engine/snapshots.h"

#define GIB (1024ULL * 1024ULL * 1024ULL)
/* EC2's limit on a snapshot's description. */
#define DESCRIPTION_MAX 255

static const char *const snapshot_filters[] = {
    "description", "owner-id", "progress", "snapshot-id", "start-time", "status",
    "volume-id", "volume-size", "encrypted", "tag-key", "tag-value", "tag:", NULL,
};

/* ---- documents ---------------------------------------------------------- */

static unsigned long long size_gib(const cg_snapshot *s)
{
    return (s->size_bytes + GIB - 1) / GIB;
}

/* One snapshot's fields (CreateSnapshot's top level, DescribeSnapshots' items). */
static void xml_snapshot(ec2_xml *x, const cg_snapshot *s)
{
    char progress[8];

    snprintf(progress, sizeof(progress), "%d%%", s->progress);
    ec2_xml_str(x, "snapshotId", s->id);
    ec2_xml_str(x, "volumeId", s->volume_id);
    ec2_xml_str(x, "status", s->state);
    ec2_xml_time(x, "startTime", s->started);
    ec2_xml_str(x, "progress", progress);
    ec2_xml_str(x, "ownerId", s->owner);
    ec2_xml_int(x, "volumeSize", (long long)size_gib(s));
    ec2_xml_str(x, "description", s->description ? s->description : "");
    ec2_xml_bool(x, "encrypted", 0);
    ec2_xml_str(x, "storageTier", "standard");
    ec2_xml_tags(x, &s->tags);
}

char *ec2_xml_create_snapshot(const char *request_id, const cg_snapshot *s, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CreateSnapshot", request_id);

    if (!x)
        return NULL;
    xml_snapshot(x, s);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_snapshots(const char *request_id, const cg_snapshot *const *v, size_t n,
                                 const char *next_token, size_t *len)
{
    ec2_xml *x = ec2_xml_new("DescribeSnapshots", request_id);
    size_t i;

    if (!x)
        return NULL;
    ec2_xml_start(x, "snapshotSet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        xml_snapshot(x, v[i]);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    if (next_token)
        ec2_xml_str(x, "nextToken", next_token);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_copy_snapshot(const char *request_id, const cg_snapshot *s, size_t *len)
{
    ec2_xml *x = ec2_xml_new("CopySnapshot", request_id);

    if (!x)
        return NULL;
    ec2_xml_str(x, "snapshotId", s->id);
    ec2_xml_tags(x, &s->tags);
    return ec2_xml_finish(x, len);
}

/* ---- helpers ------------------------------------------------------------ */

static int fail_malformed(ec2_call *c, const char *id)
{
    return ec2_fail(c, "InvalidSnapshotID.Malformed",
                    "Invalid id: \"%.64s\" (expecting \"snap-...\")", id);
}

static int fail_not_found(ec2_call *c, const char *id)
{
    return ec2_fail(c, "InvalidSnapshot.NotFound", "The snapshot '%.64s' does not exist.", id);
}

/* All snapshots into list; with id (checked: shape, existence) also the
 * one called id into *snap.  0 or -1. */
static int load_snapshots(ec2_call *c, cg_snapshot_list *list, const char *id,
                          const cg_snapshot **snap)
{
    cg_error err = {0};
    size_t i;

    if (id && !ec2_id_valid(id, "snap-"))
        return fail_malformed(c, id);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; id && i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0) {
            *snap = &list->v[i];
            return 0;
        }
    }
    return id ? fail_not_found(c, id) : 0;
}

/* Description: optional, valid text of at most 255 characters.  0 or -1. */
static int param_description(ec2_call *c, const char **out)
{
    const char *d = ec2_params_get(c->params, "Description");
    long n;

    *out = d && *d ? d : NULL;
    if (d && ((n = ec2_xml_text_chars(d)) < 0 || n > DESCRIPTION_MAX))
        return ec2_fail(c, "InvalidParameterValue",
                        "Value for parameter Description is invalid: at most %d characters "
                        "of text are allowed.", DESCRIPTION_MAX);
    return 0;
}

/* The source of CreateSnapshot: a volume, or (cloudgate) an instance's
 * root disk; it must exist now.  0 or -1. */
static int check_source(ec2_call *c, const char *id)
{
    cg_volume_list vols = {0};
    cg_instance_list insts = {0};
    const cg_instance *inst;
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (ec2_id_valid(id, "i-")) {
        if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &insts) < 0)
            return ec2_fail_cg(c, &err, NULL);
        inst = ec2_find_instance(&insts, id);
        if (!inst || inst->state == CG_STATE_TERMINATED)
            ec2_fail_not_found(c, &id, 1);
        else
            ret = 0;
        cg_instance_list_release(&insts);
        return ret;
    }
    if (!ec2_id_valid(id, "vol-"))
        return ec2_fail(c, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\"", id);
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_list, &err, &vols) < 0)
        return ec2_fail_cg(c, &err, NULL);
    for (i = 0; i < vols.n && ret < 0; i++)
        ret = strcmp(vols.v[i].id, id) == 0 ? 0 : -1;
    if (ret < 0)
        ec2_fail(c, "InvalidVolume.NotFound", "The volume '%.64s' does not exist.", id);
    cg_volume_list_release(&vols);
    return ret;
}

/* Submit the job; a driver refusal becomes the AWS code for source. */
static int submit(ec2_call *c, const cg_snapshot_spec *spec, cg_snapshot *snap)
{
    cg_job job;
    cg_error err = {0};
    const char *src = spec->source_id;

    if (cg_snapshot_submit(&c->ctx->core, spec, snap, &job, &err) == 0)
        return 0;
    if (err.kind == CG_ERR_NOT_FOUND && strncmp(src, "vol-", 4) == 0)
        return ec2_fail(c, "InvalidVolume.NotFound", "The volume '%.64s' does not exist.", src);
    if (err.kind == CG_ERR_NOT_FOUND && strncmp(src, "snap-", 5) == 0)
        return fail_not_found(c, src);
    if (err.kind == CG_ERR_STATE && strncmp(src, "snap-", 5) == 0)
        return ec2_fail(c, "IncorrectState", "%s", err.message);
    return ec2_fail_cg(c, &err, src);
}

/* ---- actions ------------------------------------------------------------ */

int ec2_create_snapshot(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "VolumeId");
    cg_snapshot_spec spec = {0};
    cg_snapshot snap = {0};
    cg_tags tags = {0};
    size_t len = 0;
    int ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter VolumeId");
        goto cleanup;
    }
    if (param_description(c, &spec.description) < 0 ||
        ec2_param_tag_specs(c, "snapshot", &tags) < 0 || check_source(c, id) < 0 ||
        ec2_dry_run(c) < 0)
        goto cleanup;
    spec.source_id = id;
    spec.tags = &tags;
    if (submit(c, &spec, &snap) < 0)
        goto cleanup;
    ret = ec2_reply(c, ec2_xml_create_snapshot(c->req->request_id, &snap, &len), &len);

cleanup:
    cg_snapshot_release(&snap);
    cg_tags_release(&tags);
    return ret;
}

/* Is value in the list, or does any entry name this account ("self")? */
static int names_us(ec2_call *c, const char *const *v, size_t n)
{
    const char *account = c->ctx->cfg->account_id ? c->ctx->cfg->account_id : "";
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v[i], "self") == 0 || strcmp(v[i], account) == 0)
            return 1;
    }
    return 0;
}

static void snapshot_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_snapshot *s = obj;
    char progress[8], when[32] = "";
    struct tm tm;

    if (ec2_match_tags(m, name, &s->tags))
        return;
    if (strcmp(name, "snapshot-id") == 0)
        ec2_match_offer(m, s->id);
    else if (strcmp(name, "volume-id") == 0)
        ec2_match_offer(m, s->volume_id);
    else if (strcmp(name, "status") == 0)
        ec2_match_offer(m, s->state);
    else if (strcmp(name, "owner-id") == 0)
        ec2_match_offer(m, s->owner);
    else if (strcmp(name, "description") == 0)
        ec2_match_offer(m, s->description ? s->description : "");
    else if (strcmp(name, "volume-size") == 0)
        ec2_match_offer_uint(m, size_gib(s));
    else if (strcmp(name, "encrypted") == 0)
        ec2_match_offer(m, "false");
    else if (strcmp(name, "progress") == 0) {
        snprintf(progress, sizeof(progress), "%d%%", s->progress);
        ec2_match_offer(m, progress);
    } else if (strcmp(name, "start-time") == 0 && gmtime_r(&s->started, &tm)) {
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
        ec2_match_offer(m, when);
    }
}

static const char *snapshot_key(const void *elem)
{
    return (*(const cg_snapshot *const *)elem)->id;
}

int ec2_describe_snapshots(ec2_call *c)
{
    cg_snapshot_list list = {0};
    const cg_snapshot **view = NULL;
    const char **ids = NULL, **owners = NULL, **restorable = NULL;
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_error err = {0};
    char *next = NULL;
    size_t n_ids = 0, n_owners = 0, n_rest = 0, n = 0, i, j, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "SnapshotId", 0, &ids, &n_ids) < 0 ||
        ec2_param_list(c, "Owner", 0, &owners, &n_owners) < 0 ||
        ec2_param_list(c, "RestorableBy", 0, &restorable, &n_rest) < 0 ||
        ec2_param_filters(c, snapshot_filters, &filters) < 0 ||
        ec2_param_page(c, "snapshots", 5, 1000, &page) < 0)
        goto cleanup;
    if (n_ids && ec2_params_get(c->params, "MaxResults")) {
        ec2_fail(c, "InvalidParameterCombination",
                 "The parameter snapshotSet cannot be used with the parameter maxResults");
        goto cleanup;
    }
    for (i = 0; i < n_ids; i++) {
        if (!ec2_id_valid(ids[i], "snap-")) {
            fail_malformed(c, ids[i]);
            goto cleanup;
        }
    }
    if (ec2_dry_run(c) < 0 || load_snapshots(c, &list, NULL, NULL) < 0)
        goto cleanup;
    /* Asked-for ids must all exist, as on EC2. */
    for (i = 0; i < n_ids; i++) {
        for (j = 0; j < list.n && strcmp(list.v[j].id, ids[i]) != 0; j++)
            ;
        if (j == list.n) {
            fail_not_found(c, ids[i]);
            goto cleanup;
        }
    }
    if (list.n && !(view = calloc(list.n, sizeof(*view)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    /* Every snapshot is this account's, restorable by it alone. */
    if ((!n_owners || names_us(c, owners, n_owners)) && (!n_rest || names_us(c, restorable, n_rest))) {
        for (i = 0; i < list.n; i++) {
            for (j = 0; j < n_ids && strcmp(list.v[i].id, ids[j]) != 0; j++)
                ;
            if ((n_ids && j == n_ids) ||
                !ec2_filters_match(&filters, &list.v[i], snapshot_field, NULL))
                continue;
            view[n++] = &list.v[i];
        }
    }
    ec2_sort(view, n, sizeof(*view), snapshot_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), snapshot_key, &next, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_describe_snapshots(c->req->request_id, view, n, next, &len),
                    &len);

cleanup:
    free(next);
    free(view);
    free(ids);
    free(owners);
    free(restorable);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_snapshot_list_release(&list);
    return ret;
}

int ec2_delete_snapshot(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "SnapshotId");
    cg_snapshot_list list = {0};
    const cg_snapshot *snap = NULL;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter SnapshotId");
        goto cleanup;
    }
    if (load_snapshots(c, &list, id, &snap) < 0)
        goto cleanup;
    if (snap->image_id[0]) {
        ec2_fail(c, "InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id,
                 snap->image_id);
        goto cleanup;
    }
    if (strcmp(snap->state, "pending") == 0) {
        ec2_fail(c, "IncorrectState", "The snapshot '%s' is still being made (pending).", id);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_delete, &err, id, 0) < 0) {
        if (err.kind == CG_ERR_NOT_FOUND)
            fail_not_found(c, id);
        else if (err.kind == CG_ERR_CONFLICT)
            ec2_fail(c, "InvalidSnapshot.InUse", "%s", err.message);
        else if (err.kind == CG_ERR_STATE)
            ec2_fail(c, "IncorrectState", "%s", err.message);
        else
            ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    cg_snapshot_list_release(&list);
    return ret;
}

/* SourceRegion (required) and DestinationRegion (optional) must be ours. */
static int check_regions(ec2_call *c)
{
    const char *region = c->ctx->cfg->region ? c->ctx->cfg->region : "";
    const char *src = ec2_params_get(c->params, "SourceRegion");
    const char *dst = ec2_params_get(c->params, "DestinationRegion");

    if (!src || !*src)
        return ec2_fail(c, "MissingParameter",
                        "The request must contain the parameter SourceRegion");
    if (strcmp(src, region) != 0 || (dst && strcmp(dst, region) != 0))
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.64s) for parameter %s is invalid: snapshots are copied "
                        "within region %s only.", strcmp(src, region) != 0 ? src : dst,
                        strcmp(src, region) != 0 ? "SourceRegion" : "DestinationRegion",
                        region);
    return 0;
}

int ec2_copy_snapshot(ec2_call *c)
{
    const char *id = ec2_params_get(c->params, "SourceSnapshotId");
    cg_snapshot_list list = {0};
    const cg_snapshot *src = NULL;
    cg_snapshot_spec spec = {0};
    cg_snapshot snap = {0};
    cg_tags tags = {0};
    size_t len = 0;
    int encrypted = 0, ret = -1;

    if (!id || !*id) {
        ec2_fail(c, "MissingParameter",
                 "The request must contain the parameter SourceSnapshotId");
        goto cleanup;
    }
    if (check_regions(c) < 0 || param_description(c, &spec.description) < 0 ||
        ec2_param_bool(c, "Encrypted", 0, &encrypted) < 0 ||
        ec2_param_tag_specs(c, "snapshot", &tags) < 0)
        goto cleanup;
    if (encrypted || ec2_params_get(c->params, "KmsKeyId")) {
        ec2_fail(c, "InvalidParameterValue", "Encrypted snapshots are not supported.");
        goto cleanup;
    }
    if (load_snapshots(c, &list, id, &src) < 0)
        goto cleanup;
    if (strcmp(src->state, "completed") != 0) {
        ec2_fail(c, "IncorrectState", "Snapshot '%s' is in the '%s' state.", id, src->state);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    spec.source_id = id;
    spec.tags = &tags;
    if (submit(c, &spec, &snap) < 0)
        goto cleanup;
    ret = ec2_reply(c, ec2_xml_copy_snapshot(c->req->request_id, &snap, &len), &len);

cleanup:
    cg_snapshot_release(&snap);
    cg_tags_release(&tags);
    cg_snapshot_list_release(&list);
    return ret;
}
