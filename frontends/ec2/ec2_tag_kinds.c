/* cloudgate: the kinds of EC2 resources that carry tags (ec2_tag_kinds.h).
 *
 * Instances, images and volumes are the driver's (tags_set/tags_delete);
 * key pairs are the gateway's key store; import tasks are jobs of the
 * engine (import-image), whose tags the job store keeps.  A store that is
 * not open (unit tests) or a driver without the kind lists nothing.
 */
#include "ec2_tag_kinds.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/images.h"
#include "../../engine/jobs.h"
#include "../../gateway/keypairs.h"

void ec2_tagged_list_release(ec2_tagged_list *list)
{
    size_t i;

    for (i = 0; list && i < list->n; i++) {
        free(list->v[i].id);
        cg_tags_release(&list->v[i].tags);
    }
    if (list) {
        free(list->v);
        list->v = NULL;
        list->n = 0;
    }
}

/* Append a copy of id and tags.  0 or -1 (out of memory, reported). */
static int tagged_add(ec2_call *c, ec2_tagged_list *out, const char *id, const cg_tags *tags)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
    ec2_tagged *grown = realloc(out->v, (out->n + 1) * sizeof(*grown));

    if (!grown)
        return ec2_fail_cg(c, &oom, NULL);
    out->v = grown;
    memset(&out->v[out->n], 0, sizeof(out->v[out->n]));
    if (!(out->v[out->n].id = strdup(id)) || cg_tags_copy(&out->v[out->n].tags, tags) < 0) {
        free(out->v[out->n].id);
        cg_tags_release(&out->v[out->n].tags);
        return ec2_fail_cg(c, &oom, NULL);
    }
    out->n++;
    return 0;
}

const ec2_tagged *ec2_tagged_find(const ec2_tagged_list *list, const char *id)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0)
            return &list->v[i];
    }
    return NULL;
}

/* ---- the driver's kinds --------------------------------------------------- */

/* Append each element of v[0..n) (size bytes apart), whose id array and
 * tags lie at id_at and tags_at: one loop for every driver list type. */
static int add_each(ec2_call *c, ec2_tagged_list *out, const void *v, size_t n, size_t size,
                    size_t id_at, size_t tags_at)
{
    const char *elem = v;
    size_t i;

    for (i = 0; i < n; i++, elem += size) {
        if (tagged_add(c, out, elem + id_at, (const cg_tags *)(const void *)(elem + tags_at)) < 0)
            return -1;
    }
    return 0;
}

#define ADD_EACH(c, out, list, type)                                                               \
    add_each((c), (out), (list).v, (list).n, sizeof(type), offsetof(type, id), offsetof(type, tags))

static int list_instances(ec2_call *c, ec2_tagged_list *out)
{
    cg_instance_list l = {0};
    cg_error err = {0};
    int ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &l);

    if (ret < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_instance);
    cg_instance_list_release(&l);
    return ret;
}

static int list_images(ec2_call *c, ec2_tagged_list *out)
{
    cg_image_list l = {0};
    cg_error err = {0};
    int ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &l);

    if (ret < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_image);
    cg_image_list_release(&l);
    return ret;
}

static int list_volumes(ec2_call *c, ec2_tagged_list *out)
{
    cg_volume_list l = {0};
    cg_error err = {0};
    int ret;

    if (!c->ctx->driver->volume_list)
        return 0; /* a driver without volumes has no volume tags */
    if ((ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, volume_list, &err, &l)) < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_volume);
    cg_volume_list_release(&l);
    return ret;
}

static int list_snapshots(ec2_call *c, ec2_tagged_list *out)
{
    cg_snapshot_list l = {0};
    cg_error err = {0};
    int ret;

    if (!c->ctx->driver->snapshot_list)
        return 0;
    if ((ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, snapshot_list, &err, &l)) < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_snapshot);
    cg_snapshot_list_release(&l);
    return ret;
}

static int list_vpcs(ec2_call *c, ec2_tagged_list *out)
{
    cg_vpc_list l = {0};
    cg_error err = {0};
    int ret;

    if (!c->ctx->driver->vpc_list)
        return 0;
    if ((ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, vpc_list, &err, &l)) < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_vpc);
    cg_vpc_list_release(&l);
    return ret;
}

static int list_subnets(ec2_call *c, ec2_tagged_list *out)
{
    cg_subnet_list l = {0};
    cg_error err = {0};
    int ret;

    if (!c->ctx->driver->subnet_list)
        return 0;
    if ((ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, subnet_list, &err, &l)) < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_subnet);
    cg_subnet_list_release(&l);
    return ret;
}

static int list_security_groups(ec2_call *c, ec2_tagged_list *out)
{
    cg_sg_list l = {0};
    cg_error err = {0};
    int ret;

    if (!c->ctx->driver->sg_list)
        return 0;
    if ((ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_list, &err, &l)) < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = ADD_EACH(c, out, l, cg_sg);
    cg_sg_list_release(&l);
    return ret;
}

static int list_security_group_rules(ec2_call *c, ec2_tagged_list *out)
{
    cg_sg_list l = {0};
    cg_error err = {0};
    size_t i;
    int ret = 0;

    if (!c->ctx->driver->sg_list)
        return 0;
    if ((ret = CG_DRV_CALL(c->ctx->driver, c->ctx->drv, sg_list, &err, &l)) < 0)
        ec2_fail_cg(c, &err, NULL);
    for (i = 0; ret == 0 && i < l.n; i++)
        ret = add_each(c, out, l.v[i].rules, l.v[i].n_rules, sizeof(cg_sg_rule),
                       offsetof(cg_sg_rule, id), offsetof(cg_sg_rule, tags));
    cg_sg_list_release(&l);
    return ret;
}

static int edit_by_driver(ec2_call *c, const char *id, const cg_tags *tags, int remove,
                          cg_error *err)
{
    if (remove)
        return CG_DRV_CALL(c->ctx->driver, c->ctx->drv, tags_delete, err, id, tags);
    return CG_DRV_CALL(c->ctx->driver, c->ctx->drv, tags_set, err, id, tags);
}

/* ---- key pairs (gateway/keypairs.c) ---------------------------------------- */

static int list_key_pairs(ec2_call *c, ec2_tagged_list *out)
{
    cg_keypair_list l = {0};
    cg_error err = {0};
    int ret;

    if (!c->ctx->keys)
        return 0;
    if ((ret = cg_keypair_list_all(c->ctx->keys, &l, &err)) < 0)
        ec2_fail_cg(c, &err, NULL);
    else
        ret = add_each(c, out, l.v, l.n, sizeof(*l.v), offsetof(cg_keypair, key_id),
                       offsetof(cg_keypair, tags));
    cg_keypair_list_release(&l);
    return ret;
}

static int edit_key_pair(ec2_call *c, const char *id, const cg_tags *tags, int remove,
                         cg_error *err)
{
    return cg_keypair_tags_edit(c->ctx->keys, id, tags, remove, err);
}

/* ---- import tasks (engine/jobs.c) ------------------------------------------ */

static int list_import_tasks(ec2_call *c, ec2_tagged_list *out)
{
    cg_job_list l = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (!c->ctx->jobs)
        return 0;
    if (cg_jobs_list(c->ctx->jobs, &l, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].action, CG_JOB_IMPORT_IMAGE) != 0)
            continue;
        cg_tags_release(&tags);
        if (cg_job_tags_get(c->ctx->jobs, l.v[i].id, &tags, &err) < 0) {
            ec2_fail_cg(c, &err, NULL);
            goto cleanup;
        }
        if (tagged_add(c, out, l.v[i].id, &tags) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    cg_tags_release(&tags);
    cg_job_list_release(&l);
    return ret;
}

static int edit_import_task(ec2_call *c, const char *id, const cg_tags *tags, int remove,
                            cg_error *err)
{
    return cg_job_tags_edit(c->ctx->jobs, id, tags, remove, err);
}

/* ---- the table -------------------------------------------------------------- */

/* A malformed id is InvalidID (CreateTags' code for an id it cannot parse),
 * except for the two kinds whose .Malformed codes clients already see here.
 * For import tasks AWS lists InvalidConversionTaskId(.Malformed) and no
 * .NotFound: an unknown task gets InvalidConversionTaskId.Malformed, as
 * DescribeImportImageTasks and CancelImportTask answer it here. */
const ec2_tag_kind ec2_tag_kinds[] = {
    {.prefix = "i-",
     .type = "instance",
     .noun = "instance ID",
     .not_found = "InvalidInstanceID.NotFound",
     .malformed = "InvalidInstanceID.Malformed",
     .display = 1,
     .list = list_instances,
     .edit = edit_by_driver},
    {.prefix = "ami-",
     .type = "image",
     .noun = "image id",
     .not_found = "InvalidAMIID.NotFound",
     .malformed = "InvalidAMIID.Malformed",
     .display = 1,
     .list = list_images,
     .edit = edit_by_driver},
    {.prefix = "vol-",
     .type = "volume",
     .noun = "volume",
     .not_found = "InvalidVolume.NotFound",
     .malformed = "InvalidID",
     .list = list_volumes,
     .edit = edit_by_driver},
    {.prefix = "snap-",
     .type = "snapshot",
     .noun = "snapshot",
     .not_found = "InvalidSnapshot.NotFound",
     .malformed = "InvalidSnapshotID.Malformed",
     .list = list_snapshots,
     .edit = edit_by_driver},
    {.prefix = "vpc-",
     .type = "vpc",
     .noun = "vpc ID",
     .not_found = "InvalidVpcID.NotFound",
     .malformed = "InvalidVpcID.Malformed",
     .list = list_vpcs,
     .edit = edit_by_driver},
    {.prefix = "subnet-",
     .type = "subnet",
     .noun = "subnet ID",
     .not_found = "InvalidSubnetID.NotFound",
     .malformed = "InvalidSubnetID.Malformed",
     .list = list_subnets,
     .edit = edit_by_driver},
    {.prefix = "sgr-",
     .type = "security-group-rule",
     .noun = "security group rule ID",
     .not_found = "InvalidSecurityGroupRuleId.NotFound",
     .malformed = "InvalidSecurityGroupRuleId.Malformed",
     .list = list_security_group_rules,
     .edit = edit_by_driver},
    {.prefix = "sg-",
     .type = "security-group",
     .noun = "security group ID",
     .not_found = "InvalidGroup.NotFound",
     .malformed = "InvalidGroupId.Malformed",
     .list = list_security_groups,
     .edit = edit_by_driver},
    {.prefix = "key-",
     .type = "key-pair",
     .noun = "key pair",
     .not_found = "InvalidKeyPair.NotFound",
     .malformed = "InvalidID",
     .list = list_key_pairs,
     .edit = edit_key_pair},
    {.prefix = "import-ami-",
     .type = "import-image-task",
     .noun = "import task",
     .not_found = "InvalidConversionTaskId.Malformed",
     .malformed = "InvalidID",
     .list = list_import_tasks,
     .edit = edit_import_task},
};

const size_t ec2_n_tag_kinds = sizeof(ec2_tag_kinds) / sizeof(ec2_tag_kinds[0]);

const ec2_tag_kind *ec2_tag_kind_of(const char *id)
{
    size_t i;

    for (i = 0; i < ec2_n_tag_kinds; i++) {
        if (strncmp(id, ec2_tag_kinds[i].prefix, strlen(ec2_tag_kinds[i].prefix)) == 0)
            return &ec2_tag_kinds[i];
    }
    return NULL;
}
