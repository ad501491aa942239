/* cloudgate: EC2 tag actions: CreateTags, DeleteTags, DescribeTags.
 *
 * The resources that carry tags are the kinds of ec2_tag_kinds.c (instances,
 * images, volumes, key pairs, import tasks); this file knows them only
 * through that table.  AWS limits: keys of 1..128 characters without the
 * reserved "aws:" prefix, values of at most 256 characters, 50 tags per
 * resource.
 */
#include "ec2_tag_kinds.h"

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

int ec2_param_tag_specs_of(ec2_call *c, const char *const *types, cg_tags *const *tags)
{
    size_t n = ec2_params_list_len(c->params, "TagSpecification"), i, k;
    const char *rt;
    char prefix[64];

    if (n > EC2_LIST_MAX)
        return ec2_fail(c, "InvalidParameterValue", "Too many tag specifications");
    for (i = 1; i <= n; i++) {
        if (!(rt = ec2_params_getf(c->params, "TagSpecification.%zu.ResourceType", i)))
            return ec2_fail(c, "MissingParameter",
                            "The request must contain the parameter "
                            "TagSpecification.%zu.ResourceType",
                            i);
        for (k = 0; types[k] && strcmp(rt, types[k]) != 0; k++)
            ;
        if (!types[k])
            return ec2_fail(c, "InvalidParameterValue",
                            "'%.64s' is not a valid taggable resource type for this operation.",
                            rt);
        snprintf(prefix, sizeof(prefix), "TagSpecification.%zu.Tag", i);
        if (ec2_param_tags(c, prefix, 0, tags[k]) < 0)
            return -1;
    }
    for (k = 0; types[k]; k++) {
        if (tags[k]->n > EC2_TAGS_PER_RESOURCE)
            return ec2_fail(c, "TagLimitExceeded",
                            "The maximum number of tags per resource (%d) has been exceeded",
                            EC2_TAGS_PER_RESOURCE);
    }
    return 0;
}

int ec2_param_tag_specs(ec2_call *c, const char *resource_type, cg_tags *tags)
{
    const char *const types[] = {resource_type, NULL};

    return ec2_param_tag_specs_of(c, types, &tags);
}

int ec2_tags_refuse_reserved(ec2_call *c, const cg_tags *tags, const char *allowed)
{
    for (size_t i = 0; i < tags->n; i++)
        if (strncasecmp(tags->v[i].key, EC2_CG_TAG_PREFIX, strlen(EC2_CG_TAG_PREFIX)) == 0 &&
            strcmp(tags->v[i].key, allowed) != 0)
            return ec2_fail(c, "InvalidParameterValue",
                            "Tag key '%.128s' is reserved: only %s can be given to %s",
                            tags->v[i].key, allowed, c->action);
    return 0;
}

/* The resources a Create/DeleteTags names, checked and looked up. */
typedef struct tag_targets {
    const char **ids;
    size_t n;
    ec2_tagged_list *lists;     /* per kind, parallel to ec2_tag_kinds */
    int *loaded;                /* per kind: lists[k] was read */
    const ec2_tag_kind **kinds; /* each resource's kind, parallel to ids */
    const cg_tags **current;    /* each resource's tags now, parallel to ids */
} tag_targets;

static void tag_targets_release(tag_targets *t)
{
    size_t k;

    for (k = 0; t->lists && k < ec2_n_tag_kinds; k++)
        ec2_tagged_list_release(&t->lists[k]);
    free(t->lists);
    free(t->loaded);
    free(t->kinds);
    free(t->ids);
    free(t->current);
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

/* Each id's kind, or the error AWS gives an id it cannot place. */
static int check_ids(ec2_call *c, tag_targets *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const char *id = t->ids[i];

        if (!(t->kinds[i] = ec2_tag_kind_of(id)))
            return ec2_fail(c, "InvalidID", "The ID '%.100s' is not valid", id);
        if (!ec2_id_valid(id, t->kinds[i]->prefix)) {
            if (strcmp(t->kinds[i]->malformed, "InvalidID") == 0)
                return ec2_fail(c, "InvalidID", "The ID '%.100s' is not valid", id);
            return ec2_fail(c, t->kinds[i]->malformed, "Invalid id: \"%.100s\"", id);
        }
    }
    return 0;
}

/* The kind's NotFound error naming ids[0..n). */
static int fail_not_found(ec2_call *c, const ec2_tag_kind *kind, const char *const *ids, size_t n)
{
    char list[400];

    ec2_join_ids(ids, n, list, sizeof(list));
    return ec2_fail(c, kind->not_found, "The %s '%s' does not exist", kind->noun, list);
}

static int load_targets(ec2_call *c, tag_targets *t)
{
    const char **missing = NULL;
    const ec2_tag_kind *first = NULL;
    const ec2_tagged *found;
    size_t n_missing = 0, i, k;
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
    int ret = -1;

    if (ec2_param_list(c, "ResourceId", 1, &t->ids, &t->n) < 0)
        return -1;
    if (!(t->kinds = calloc(t->n, sizeof(*t->kinds))) ||
        !(t->current = calloc(t->n, sizeof(*t->current))) ||
        !(missing = calloc(t->n, sizeof(*missing))) ||
        !(t->lists = calloc(ec2_n_tag_kinds, sizeof(*t->lists))) ||
        !(t->loaded = calloc(ec2_n_tag_kinds, sizeof(*t->loaded)))) {
        ec2_fail_cg(c, &oom, NULL);
        goto cleanup;
    }
    if (check_ids(c, t) < 0)
        goto cleanup;
    for (i = 0; i < t->n; i++) {
        k = (size_t)(t->kinds[i] - ec2_tag_kinds);
        if (!t->loaded[k] && t->kinds[i]->list(c, &t->lists[k]) < 0)
            goto cleanup;
        t->loaded[k] = 1;
        if ((found = ec2_tagged_find(&t->lists[k], t->ids[i])))
            t->current[i] = &found->tags;
        else if (!seen_before(t->ids, i))
            missing[n_missing++] = t->ids[i];
    }
    /* One NotFound code per answer: the first missing id's kind, naming all
     * the missing ids of that kind. */
    if (n_missing) {
        size_t n_kind = 0, j;

        first = ec2_tag_kind_of(missing[0]);
        for (j = 0; j < n_missing; j++) {
            if (ec2_tag_kind_of(missing[j]) == first)
                missing[n_kind++] = missing[j];
        }
        fail_not_found(c, first, missing, n_kind);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(missing);
    return ret;
}

/* Report a failed edit of t->ids[i]: its kind's NotFound when it went
 * meanwhile. */
static int fail_edit(ec2_call *c, const tag_targets *t, size_t i, cg_error *err)
{
    if (err->kind == CG_ERR_NOT_FOUND)
        return fail_not_found(c, t->kinds[i], &t->ids[i], 1);
    return ec2_fail_cg(c, err, t->ids[i]);
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
        if (display != CG_DISPLAY_DEFAULT && !t.kinds[i]->display) {
            ec2_fail(c, "InvalidParameterValue",
                     "Tag %s applies to instances and images, not to '%.100s'", EC2_TAG_DISPLAY,
                     t.ids[i]);
            goto cleanup;
        }
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
        if (tags.n && t.kinds[i]->edit(c, t.ids[i], &tags, 0, &err) < 0) {
            fail_edit(c, &t, i, &err);
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
    /* cloudgate:* keys of instances and images are settings (shown as
     * tags); on other kinds they are plain tags a TagSpecification set. */
    for (i = 0; i < t.n; i++) {
        for (j = 0; t.kinds[i]->display && j < tags.n; j++) {
            if (strncasecmp(tags.v[j].key, EC2_CG_TAG_PREFIX, strlen(EC2_CG_TAG_PREFIX)) == 0) {
                ec2_fail(c, "InvalidParameterValue",
                         "Tag key '%.128s' is a cloudgate setting and cannot be deleted; change "
                         "it with CreateTags",
                         tags.v[j].key);
                goto cleanup;
            }
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
        if (t.kinds[i]->edit(c, t.ids[i], which, 1, &err) < 0) {
            fail_edit(c, &t, i, &err);
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

    (void)ud;
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

/* One entry per tag of every resource in list, at v + *n. */
static int add_entries(tag_entry *v, size_t *n, const ec2_tagged_list *list, const char *type)
{
    size_t r, i, len;

    for (r = 0; r < list->n; r++) {
        const ec2_tagged *res = &list->v[r];

        for (i = 0; i < res->tags.n; i++) {
            tag_entry *e = &v[*n];

            e->row.resource_id = res->id;
            e->row.resource_type = type;
            e->row.key = res->tags.v[i].key;
            e->row.value = res->tags.v[i].value ? res->tags.v[i].value : "";
            e->resource_tags = &res->tags;
            len = strlen(res->id) + 1 + strlen(e->row.key) + 1;
            if (!(e->sort_key = malloc(len)))
                return -1;
            snprintf(e->sort_key, len, "%s\x01%s", res->id, e->row.key);
            (*n)++;
        }
    }
    return 0;
}

int ec2_describe_tags(ec2_call *c)
{
    ec2_tagged_list *lists = NULL;
    ec2_filters filters = {0};
    ec2_page page = {0};
    tag_entry *entries = NULL;
    tag_entry **view = NULL;
    const ec2_tag_row **rows = NULL;
    size_t total = 0, n_entries = 0, n = 0, i, k, len = 0;
    char *token = NULL;
    cg_error err = {0};
    int ret = -1;

    if (ec2_param_filters(c, tag_filters, &filters) < 0 ||
        ec2_param_page(c, "tags", 5, 1000, &page) < 0)
        goto cleanup;
    if (!(lists = calloc(ec2_n_tag_kinds, sizeof(*lists))))
        goto oom;
    for (k = 0; k < ec2_n_tag_kinds; k++) {
        if (ec2_tag_kinds[k].list(c, &lists[k]) < 0)
            goto cleanup;
        for (i = 0; i < lists[k].n; i++)
            total += lists[k].v[i].tags.n;
    }
    if (total && (!(entries = calloc(total, sizeof(*entries))) ||
                  !(view = calloc(total, sizeof(*view))) || !(rows = calloc(total, sizeof(*rows)))))
        goto oom;
    for (k = 0; k < ec2_n_tag_kinds; k++) {
        if (add_entries(entries, &n_entries, &lists[k], ec2_tag_kinds[k].type) < 0)
            goto oom;
    }
    for (i = 0; i < n_entries; i++) {
        if (ec2_filters_match(&filters, &entries[i], tag_field, c))
            view[n++] = &entries[i];
    }
    /* Sorted by resource id then key: a page boundary stays put when tags
     * are added elsewhere, so each tag comes once over a walk. */
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
    for (k = 0; lists && k < ec2_n_tag_kinds; k++)
        ec2_tagged_list_release(&lists[k]);
    free(lists);
    return ret;
}
