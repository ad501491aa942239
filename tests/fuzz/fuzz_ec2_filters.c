/* cloudgate fuzz target: reading EC2 Query parameters (frontends/ec2/
 * ec2_filter.c): the sorted index, Filter.N.Name/Value.M parsing, wildcard
 * matching against a few fixed instances, and MaxResults/NextToken paging.
 *
 * Input: a form-encoded parameter string ("Filter.1.Name=tag:Name&...").
 * Checks: a literal pattern matches itself and '*' matches anything; a
 * token we issue parses back to its key; paging over the parameter values
 * (sorted, as keys) visits each exactly once, in order. */
#include "fuzz.h"
#include "frontends/ec2/ec2_filter.h"

typedef struct thing {
    const char *id, *state;
    unsigned long long size;
    cg_tag tags[2];
} thing;

static const char *const allowed[] = {"instance-id", "instance-state-name", "size", "tag:",
                                      "tag-key", "tag-value", NULL};

static void field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const thing *t = obj;
    cg_tags tags = {(cg_tag *)t->tags, 2};

    (void)ud;
    if (ec2_match_tags(m, name, &tags))
        return;
    if (strcmp(name, "instance-id") == 0)
        ec2_match_offer(m, t->id);
    else if (strcmp(name, "instance-state-name") == 0)
        ec2_match_offer(m, t->state);
    else if (strcmp(name, "size") == 0)
        ec2_match_offer_uint(m, t->size);
}

static const char *key_of(const void *elem)
{
    return *(const char *const *)elem;
}

/* NextToken tok read back through ec2_page_parse: the key it carries
 * (malloc'd) or NULL when refused. */
static char *token_key(const char *tok)
{
    gw_param one = {"NextToken", (char *)tok};
    gw_params p = {.v = &one, .n = 1};
    ec2_params ix = {0};
    ec2_page pg;
    cg_error err = {0};
    char *key = NULL;

    if (ec2_params_index(&ix, &p) == 0 && ec2_page_parse(&ix, "fuzz", 1, 1000, &pg, &err) == 0) {
        key = pg.after;
        pg.after = NULL;
        ec2_page_release(&pg);
    }
    ec2_params_release(&ix);
    return key;
}

/* Page through keys (sorted, unique, non-empty) max at a time. */
static void walk_pages(const char **keys, size_t n, size_t max)
{
    const char **page = malloc((n ? n : 1) * sizeof(*page));
    ec2_page pg = {max, NULL, "fuzz"};
    cg_error err = {0};
    size_t seen = 0, count, i, rounds;
    char *next = NULL;

    FZ_CHECK(page != NULL);
    for (rounds = 0; rounds <= n; rounds++) {
        memcpy(page, keys, n * sizeof(*page));
        count = n;
        FZ_CHECK(ec2_page_take(&pg, page, &count, sizeof(*page), key_of, &next, &err) == 0);
        FZ_CHECK(!max || count <= max);
        for (i = 0; i < count; i++)
            FZ_CHECK(seen + i < n && page[i] == keys[seen + i]);
        seen += count;
        free(pg.after);
        pg.after = NULL;
        if (!next)
            break;
        FZ_CHECK((pg.after = token_key(next)) != NULL);
        FZ_CHECK(strcmp(pg.after, keys[seen - 1]) == 0);
        free(next);
        next = NULL;
    }
    FZ_CHECK(seen == n);
    free(pg.after);
    free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const thing things[] = {
        {"i-0123456789abcdef0", "running", 8, {{"Name", "web *1"}, {"env", "prod"}}},
        {"i-00000000000000001", "stopped", 1024, {{"Name", ""}, {"a\\b", "?"}}},
        {"i-fffffffffffffffff", "terminated", 0, {{"x", "y"}, {"tag:", "*"}}},
    };
    gw_params p = {0};
    ec2_params ix = {0};
    ec2_filters filters = {0};
    ec2_page pg = {0};
    cg_error err = {0};
    const char **keys = NULL, **ids = NULL;
    char *s = fz_strdup(data, size), *tok;
    size_t i, j, n = 0, n_ids = 0;

    if (!s || gw_params_parse(&p, s, size) < 0 || ec2_params_index(&ix, &p) < 0)
        goto cleanup;
    cg_error_clear(&err);
    if (ec2_params_strings(&ix, "InstanceId", &ids, &n_ids, &err) == 0)
        for (i = 0; i < n_ids; i++)
            FZ_CHECK(ids[i] != NULL);
    cg_error_clear(&err);
    if (ec2_filters_parse(&ix, allowed, &filters, &err) == 0) {
        for (i = 0; i < sizeof(things) / sizeof(things[0]); i++)
            ec2_filters_match(&filters, &things[i], field, NULL);
        for (i = 0; i < filters.n; i++) {
            for (j = 0; j < filters.v[i].n_values; j++) {
                const char *v = filters.v[i].values[j];
                if (!strpbrk(v, "*?\\"))
                    FZ_CHECK(ec2_wildcard_match(v, v));
                FZ_CHECK(ec2_wildcard_match("*", v));
                ec2_wildcard_match(v, things[0].tags[0].value);
            }
        }
    } else {
        FZ_CHECK(err.kind != CG_ERR_NONE);
    }
    cg_error_clear(&err);
    if (ec2_page_parse(&ix, "fuzz", 1, 1000, &pg, &err) == 0 && pg.after && *pg.after) {
        tok = ec2_page_token("fuzz", pg.after);
        FZ_CHECK(tok != NULL);
        free(pg.after);
        FZ_CHECK((pg.after = token_key(tok)) != NULL);
        free(tok);
    }
    /* The parameter values as the keys of a listing. */
    if (!(keys = malloc((p.n ? p.n : 1) * sizeof(*keys))))
        goto cleanup;
    for (i = 0; i < p.n; i++)
        if (p.v[i].value[0])
            keys[n++] = p.v[i].value;
    ec2_sort(keys, n, sizeof(*keys), key_of);
    for (i = 0, j = 0; i < n; i++) /* unique, as listings' keys are */
        if (j == 0 || strcmp(keys[j - 1], keys[i]) != 0)
            keys[j++] = keys[i];
    walk_pages(keys, j, pg.max ? pg.max : 2);

cleanup:
    free(keys);
    free(ids);
    ec2_page_release(&pg);
    ec2_filters_release(&filters);
    ec2_params_release(&ix);
    gw_params_release(&p);
    free(s);
    return 0;
}
