/* cloudgate: EC2 tag actions: CreateTags, DeleteTags, DescribeTags.
 *
 * Instances ("i-...") and images ("ami-...") carry tags.  AWS limits: keys of
 * 1..128 characters without the reserved "aws:" prefix, values of at most
 * 256 characters, 50 tags per resource.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EC2_TAG_KEY_MAX 128
#define EC2_TAG_VALUE_MAX 256

static const char *const tag_filters[] = {
    "key", "value", "resource-id", "resource-type", "tag:", NULL,
};

int ec2_tag_check(ec2_call *c, const char *key, const char *value)
{
    long n = ec2_xml_text_chars(key);

    if (n < 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "Tag keys must be UTF-8 text without control characters");
    if (n == 0)
        return ec2_fail(c, "InvalidParameterValue", "Tag key must not be empty");
    if (n > EC2_TAG_KEY_MAX)
        return ec2_fail(c, "InvalidParameterValue",
                        "Tag key exceeds the maximum length of %d characters", EC2_TAG_KEY_MAX);
    if (strncasecmp(key, "aws:", 4) == 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "Tag keys starting with 'aws:' are reserved for internal use");
    if (!value)
        return 0;
    n = ec2_xml_text_chars(value);
    if (n < 0)
        return ec2_fail(c, "InvalidParameterValue",
                        "Tag values must be UTF-8 text without control characters");
    if (n > EC2_TAG_VALUE_MAX)
        return ec2_fail(c, "InvalidParameterValue",
                        "Tag value exceeds the maximum length of %d characters", EC2_TAG_VALUE_MAX);
    return 0;
}

/* Append key/value (value may be NULL, which cg_tags_set would turn into
 * ""): DeleteTags tells "any value" from "only the empty value" by it. */
static int tags_append(cg_tags *tags, const char *key, const char *value)
{
    cg_tag *grown;
    char *k = strdup(key);
    char *v = value ? strdup(value) : NULL;

    if (!k || (value && !v) || !(grown = realloc(tags->v, (tags->n + 1) * sizeof(*grown)))) {
        free(k);
        free(v);
        return -1;
    }
    tags->v = grown;
    tags->v[tags->n].key = k;
    tags->v[tags->n].value = v;
    tags->n++;
    return 0;
}

int ec2_param_tags(ec2_call *c, const char *prefix, int keep_null_values, cg_tags *tags)
{
    size_t n = ec2_params_list_len(c->params, prefix), i, j;
    const char *key, *value;
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};

    if (n > EC2_LIST_MAX)
        return ec2_fail(c, "InvalidParameterValue", "Too many tags");
    for (i = 1; i <= n; i++) {
        if (!(key = ec2_params_getf(c->params, "%s.%zu.Key", prefix, i)))
            return ec2_fail(c, "MissingParameter",
                            "The request must contain the parameter %s.%zu.Key", prefix, i);
        value = ec2_params_getf(c->params, "%s.%zu.Value", prefix, i);
        if (!value && !keep_null_values)
            value = "";
        if (ec2_tag_check(c, key, value) < 0)
            return -1;
        for (j = 0; j < tags->n; j++) {
            if (strcmp(tags->v[j].key, key) == 0)
                return ec2_fail(c, "InvalidParameterValue", "Duplicate tag key '%.128s'", key);
        }
        if (tags_append(tags, key, value) < 0)
            return ec2_fail_cg(c, &oom, NULL);
    }
    return 0;
}

/* The resources a Create/DeleteTags names, checked and looked up. */
typedef struct tag_targets {
    const char **ids;
    size_t n;
    cg_instance_list instances;
    cg_image_list images;
    const cg_tags **current; /* each resource's tags now, parallel to ids */
} tag_targets;

static void tag_targets_release(tag_targets *t)
{
    free(t->ids);
    free(t->current);
    cg_instance_list_release(&t->instances);
    cg_image_list_release(&t->images);
}

/* 1 when ids[0..i) already holds ids[i]: act once per resource. */
static int seen_before(const char *const *ids, size_t i)
{
    size_t j;

    for (j = 0; j < i; j++) {
        if (strcmp(ids[j], ids[i]) == 0)
            return 1;
    }
    return 0;
}

static int load_targets(ec2_call *c, tag_targets *t)
{
    const char **missing = NULL;
    size_t n_missing = 0, i;
    const cg_instance *inst;
    const cg_image *img;
    cg_error err = {0};
    int ret = -1;

    if (ec2_param_list(c, "ResourceId", 1, &t->ids, &t->n) < 0)
        return -1;
    for (i = 0; i < t->n; i++) {
        const char *id = t->ids[i];

        if (strncmp(id, "i-", 2) == 0 && !ec2_id_valid(id, "i-"))
            return ec2_fail(c, "InvalidInstanceID.Malformed", "Invalid id: \"%.100s\"", id);
        if (strncmp(id, "ami-", 4) == 0 && !ec2_id_valid(id, "ami-"))
            return ec2_fail(c, "InvalidAMIID.Malformed",
                            "Invalid id: \"%.100s\" (expecting \"ami-...\")", id);
        if (!ec2_id_valid(id, "i-") && !ec2_id_valid(id, "ami-"))
            return ec2_fail(c, "InvalidID", "The ID '%.100s' is not valid", id);
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &t->instances) < 0 ||
        CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &t->images) < 0)
        return ec2_fail_cg(c, &err, NULL);
    if (!(t->current = calloc(t->n, sizeof(*t->current))) ||
        !(missing = calloc(t->n, sizeof(*missing)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < t->n; i++) {
        if ((inst = ec2_find_instance(&t->instances, t->ids[i])))
            t->current[i] = &inst->tags;
        else if ((img = ec2_find_image(&t->images, t->ids[i])))
            t->current[i] = &img->tags;
        else if (!seen_before(t->ids, i))
            missing[n_missing++] = t->ids[i];
    }
    /* One NotFound code per answer: report the first kind that is missing. */
    if (n_missing) {
        size_t k = 0, j;
        int image = strncmp(missing[0], "ami-", 4) == 0;

        for (j = 0; j < n_missing; j++) {
            if ((strncmp(missing[j], "ami-", 4) == 0) == image)
                missing[k++] = missing[j];
        }
        ec2_fail_not_found(c, missing, k);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(missing);
    return ret;
}

int ec2_create_tags(ec2_call *c)
{
    tag_targets t = {0};
    cg_tags tags = {0};
    cg_display display;
    cg_error err = {0};
    size_t i, j, total, len = 0;
    char *body;
    int ret = -1;

    if (load_targets(c, &t) < 0 || ec2_param_tags(c, "Tag", 0, &tags) < 0)
        goto cleanup;
    if (tags.n == 0) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter Tag");
        goto cleanup;
    }
    /* cloudgate:display is a setting, not a tag: it goes to the driver. */
    if (ec2_display_tag_take(c, &tags, &display) < 0)
        goto cleanup;
    for (i = 0; i < t.n; i++) {
        total = t.current[i]->n;
        for (j = 0; j < tags.n; j++) {
            if (!cg_tags_get(t.current[i], tags.v[j].key))
                total++;
        }
        if (total > EC2_TAGS_PER_RESOURCE) {
            ec2_fail(c, "TagLimitExceeded",
                     "The maximum number of tags per resource (%d) would be exceeded for "
                     "'%s'",
                     EC2_TAGS_PER_RESOURCE, t.ids[i]);
            goto cleanup;
        }
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    for (i = 0; i < t.n; i++) {
        if (seen_before(t.ids, i))
            continue;
        if (ec2_display_set(c, t.ids[i], display) < 0)
            goto cleanup;
        if (tags.n &&
            CG_DRV_CALL(c->ctx->driver, c->ctx->drv, tags_set, &err, t.ids[i], &tags) < 0) {
            ec2_fail_cg(c, &err, t.ids[i]);
            goto cleanup;
        }
    }
    body = ec2_xml_return_true(c->action, c->req->request_id, &len);
    ret = ec2_reply(c, body, &len);

cleanup:
    cg_tags_release(&tags);
    tag_targets_release(&t);
    return ret;
}

int ec2_delete_tags(ec2_call *c)
{
    tag_targets t = {0};
    cg_tags tags = {0};
    cg_tags all = {0};
    const cg_tags *which;
    cg_error err = {0};
    size_t i, j, len = 0;
    char *body;
    int ret = -1;

    if (load_targets(c, &t) < 0 || ec2_param_tags(c, "Tag", 1, &tags) < 0)
        goto cleanup;
    for (i = 0; i < tags.n; i++) {
        if (strncasecmp(tags.v[i].key, EC2_CG_TAG_PREFIX, strlen(EC2_CG_TAG_PREFIX)) == 0) {
            ec2_fail(c, "InvalidParameterValue",
                     "Tag key '%.128s' is a cloudgate setting and cannot be deleted; change "
                     "it with CreateTags",
                     tags.v[i].key);
            goto cleanup;
        }
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    for (i = 0; i < t.n; i++) {
        if (seen_before(t.ids, i))
            continue;
        which = &tags;
        if (tags.n == 0) {
            /* No Tag.N: AWS deletes every tag of the resource. */
            cg_tags_release(&all);
            for (j = 0; j < t.current[i]->n; j++) {
                if (tags_append(&all, t.current[i]->v[j].key, NULL) < 0) {
                    cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
                    ec2_fail_cg(c, &err, NULL);
                    goto cleanup;
                }
            }
            which = &all;
        }
        if (which->n == 0)
            continue;
        if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, tags_delete, &err, t.ids[i], which) < 0) {
            ec2_fail_cg(c, &err, t.ids[i]);
            goto cleanup;
        }
    }
    body = ec2_xml_return_true(c->action, c->req->request_id, &len);
    ret = ec2_reply(c, body, &len);

cleanup:
    cg_tags_release(&all);
    cg_tags_release(&tags);
    tag_targets_release(&t);
    return ret;
}

/* ---- DescribeTags ------------------------------------------------------- */

typedef struct tag_entry {
    ec2_tag_row row;
    const cg_tags *resource_tags; /* for tag:KEY filters */
    char *sort_key;               /* "resource_id\x01key": unique, pagination order */
} tag_entry;

static void tag_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const tag_entry *e = obj;

    if (strcmp(name, "key") == 0)
        ec2_match_offer(m, e->row.key);
    else if (strcmp(name, "value") == 0)
        ec2_match_offer(m, e->row.value);
    else if (strcmp(name, "resource-id") == 0)
        ec2_match_offer(m, e->row.resource_id);
    else if (strcmp(name, "resource-type") == 0)
        ec2_match_offer(m, e->row.resource_type);
    else
        ec2_match_tags(m, name, e->resource_tags);
}

static const char *entry_key(const void *elem)
{
    return (*(const tag_entry *const *)elem)->sort_key;
}

static int add_entries(tag_entry *v, size_t *n, const char *id, const char *type,
                       const cg_tags *tags)
{
    size_t i, len;

    for (i = 0; i < tags->n; i++) {
        tag_entry *e = &v[(*n)];

        e->row.resource_id = id;
        e->row.resource_type = type;
        e->row.key = tags->v[i].key;
        e->row.value = tags->v[i].value ? tags->v[i].value : "";
        e->resource_tags = tags;
        len = strlen(id) + 1 + strlen(e->row.key) + 1;
        if (!(e->sort_key = malloc(len)))
            return -1;
        snprintf(e->sort_key, len, "%s\x01%s", id, e->row.key);
        (*n)++;
    }
    return 0;
}

int ec2_describe_tags(ec2_call *c)
{
    cg_instance_list instances = {0};
    cg_image_list images = {0};
    ec2_filters filters = {0};
    ec2_page page = {0};
    tag_entry *entries = NULL;
    tag_entry **view = NULL;
    const ec2_tag_row **rows = NULL;
    size_t total = 0, n_entries = 0, n = 0, i, len = 0;
    char *token = NULL;
    cg_error err = {0};
    int ret = -1;

    if (ec2_param_filters(c, tag_filters, &filters) < 0 ||
        ec2_param_page(c, "tags", 5, 1000, &page) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &instances) < 0 ||
        CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &images) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < instances.n; i++)
        total += instances.v[i].tags.n;
    for (i = 0; i < images.n; i++)
        total += images.v[i].tags.n;
    if (total && (!(entries = calloc(total, sizeof(*entries))) ||
                  !(view = calloc(total, sizeof(*view))) || !(rows = calloc(total, sizeof(*rows)))))
        goto oom;
    for (i = 0; i < instances.n; i++) {
        if (add_entries(entries, &n_entries, instances.v[i].id, "instance", &instances.v[i].tags) <
            0)
            goto oom;
    }
    for (i = 0; i < images.n; i++) {
        if (add_entries(entries, &n_entries, images.v[i].id, "image", &images.v[i].tags) < 0)
            goto oom;
    }
    for (i = 0; i < n_entries; i++) {
        if (ec2_filters_match(&filters, &entries[i], tag_field, c))
            view[n++] = &entries[i];
    }
    ec2_sort(view, n, sizeof(*view), entry_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), entry_key, &token, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < n; i++)
        rows[i] = &view[i]->row;
    ret = ec2_reply(c, ec2_xml_describe_tags(c->req->request_id, rows, n, token, &len), &len);
    goto cleanup;

oom:
    cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
    ec2_fail_cg(c, &err, NULL);
cleanup:
    for (i = 0; i < n_entries; i++)
        free(entries[i].sort_key);
    free(entries);
    free(view);
    free(rows);
    free(token);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_instance_list_release(&instances);
    cg_image_list_release(&images);
    return ret;
}
