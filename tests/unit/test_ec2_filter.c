/* cloudgate: EC2 filters, wildcards, parameter index and pagination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/ec2/ec2_filter.h"
#include "gateway/util.h"

/* Parsed parameters plus their index, built from a form string. */
typedef struct form {
    gw_params p;
    ec2_params ix;
} form;

static void form_init(form *f, const char *s)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(gw_params_parse(&f->p, s, strlen(s)), 0);
    assert_int_equal(ec2_params_index(&f->ix, &f->p), 0);
}

static void form_release(form *f)
{
    ec2_params_release(&f->ix);
    gw_params_release(&f->p);
}

/* ---- wildcards ---------------------------------------------------------- */

static void test_wildcard(void **state)
{
    assert_true(ec2_wildcard_match("web", "web"));
    assert_false(ec2_wildcard_match("web", "Web")); /* case-sensitive */
    assert_false(ec2_wildcard_match("web", "web1"));
    assert_true(ec2_wildcard_match("web*", "web"));
    assert_true(ec2_wildcard_match("web*", "web-01"));
    assert_true(ec2_wildcard_match("*-01", "web-01"));
    assert_true(ec2_wildcard_match("*", ""));
    assert_false(ec2_wildcard_match("?", ""));
    assert_true(ec2_wildcard_match("w?b", "wab"));
    assert_false(ec2_wildcard_match("w?b", "wb"));
    assert_true(ec2_wildcard_match("a*b*c", "a-x-b-y-c"));
    assert_false(ec2_wildcard_match("a*b*c", "a-x-c-y-b"));
    assert_true(ec2_wildcard_match("*ab", "aab")); /* needs backtracking */
    assert_true(ec2_wildcard_match("\\*", "*"));
    assert_false(ec2_wildcard_match("\\*", "x"));
    assert_true(ec2_wildcard_match("a\\?", "a?"));
    assert_false(ec2_wildcard_match("a\\?", "ab"));
    assert_true(ec2_wildcard_match("a\\\\b", "a\\b"));
    assert_true(ec2_wildcard_match("x\\", "x\\")); /* trailing backslash */
    /* '?' is one character, not one byte. */
    assert_true(ec2_wildcard_match("caf?", "caf\xc3\xa9"));
    assert_false(ec2_wildcard_match("caf??", "caf\xc3\xa9"));
    assert_true(ec2_wildcard_match("*\xc3\xa9", "caf\xc3\xa9"));
}

static void test_wildcard_is_not_exponential(void **state)
{
    char s[4001];
    double t0;

    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';
    t0 = cg_monotonic();
    assert_false(ec2_wildcard_match("*a*a*a*a*a*a*a*a*a*a*b", s));
    assert_true(cg_monotonic() - t0 < 1.0);
}

/* ---- parameter index ---------------------------------------------------- */

static void test_params_index(void **state)
{
    form f;

    form_init(&f, "B=2&A=first&Filter.1.Name=x&A=second&InstanceId.1=i-a&InstanceId.2=i-b"
                  "&InstanceId.4=i-d&Filter.2.Value.1=v&Filter.10.Name=z&Tag.1.Key=k");
    assert_string_equal(ec2_params_get(&f.ix, "A"), "first");
    assert_string_equal(ec2_params_get(&f.ix, "B"), "2");
    assert_null(ec2_params_get(&f.ix, "C"));
    assert_string_equal(ec2_params_getf(&f.ix, "InstanceId.%d", 2), "i-b");
    /* A gap ends a list; structured items count through their members. */
    assert_int_equal(ec2_params_list_len(&f.ix, "InstanceId"), 2);
    assert_int_equal(ec2_params_list_len(&f.ix, "Filter"), 2);
    assert_int_equal(ec2_params_list_len(&f.ix, "Tag"), 1);
    assert_int_equal(ec2_params_list_len(&f.ix, "Nope"), 0);
    form_release(&f);
}

static void test_params_strings(void **state)
{
    form f;
    const char **v = NULL;
    size_t n = 0, i;
    cg_error err = {0};
    char *big, *p;

    form_init(&f, "ImageId.1=ami-1&ImageId.2=ami-2");
    assert_int_equal(ec2_params_strings(&f.ix, "ImageId", &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[1], "ami-2");
    free(v);
    assert_int_equal(ec2_params_strings(&f.ix, "Other", &v, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    form_release(&f);

    /* An item that only has members is not a string value. */
    form_init(&f, "ImageId.1.x=1");
    assert_int_equal(ec2_params_strings(&f.ix, "ImageId", &v, &n, &err), -1);
    assert_int_equal(err.kind, CG_ERR_MISSING);
    form_release(&f);

    /* More than EC2_LIST_MAX items is refused. */
    big = malloc((EC2_LIST_MAX + 1) * 24);
    assert_non_null(big);
    for (i = 1, p = big; i <= EC2_LIST_MAX + 1; i++)
        p += sprintf(p, "%sX.%zu=v", i > 1 ? "&" : "", i);
    form_init(&f, big);
    cg_error_clear(&err);
    assert_int_equal(ec2_params_strings(&f.ix, "X", &v, &n, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    form_release(&f);
    free(big);
}

/* ---- filters ------------------------------------------------------------ */

typedef struct thing {
    const char *id;
    const char *state;
    cg_tags tags;
} thing;

static void thing_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const thing *t = obj;

    (*(int *)ud)++;
    if (ec2_match_tags(m, name, &t->tags))
        return;
    if (strcmp(name, "instance-id") == 0)
        ec2_match_offer(m, t->id);
    else if (strcmp(name, "instance-state-name") == 0)
        ec2_match_offer(m, t->state);
}

static const char *const allowed[] = {
    "instance-id", "instance-state-name", "tag-key", "tag-value", "tag:", NULL};

static int matches(const char *form_s, const thing *t)
{
    form f;
    ec2_filters fl;
    cg_error err = {0};
    int calls = 0, r;

    form_init(&f, form_s);
    assert_int_equal(ec2_filters_parse(&f.ix, allowed, &fl, &err), 0);
    r = ec2_filters_match(&fl, t, thing_field, &calls);
    ec2_filters_release(&fl);
    form_release(&f);
    return r;
}

static void test_filters_or_and(void **state)
{
    thing web = {"i-0000000a", "running", {0}};
    thing db = {"i-0000000b", "stopped", {0}};

    assert_int_equal(cg_tags_set(&web.tags, "Name", "web-01"), 0);
    assert_int_equal(cg_tags_set(&web.tags, "env", "prod"), 0);
    assert_int_equal(cg_tags_set(&db.tags, "Name", "db"), 0);

    /* No filters: everything. */
    assert_true(matches("Action=X", &db));
    /* Values inside one filter are OR'd. */
    assert_true(matches("Filter.1.Name=instance-state-name&Filter.1.Value.1=running"
                        "&Filter.1.Value.2=stopped",
                        &db));
    assert_false(matches("Filter.1.Name=instance-state-name&Filter.1.Value.1=running"
                         "&Filter.1.Value.2=pending",
                         &db));
    /* Filters are AND'd. */
    assert_true(matches("Filter.1.Name=instance-state-name&Filter.1.Value.1=running"
                        "&Filter.2.Name=tag%3AName&Filter.2.Value.1=web*",
                        &web));
    assert_false(matches("Filter.1.Name=instance-state-name&Filter.1.Value.1=running"
                         "&Filter.2.Name=tag%3AName&Filter.2.Value.1=db",
                         &web));
    /* tag:KEY compares the value of KEY only. */
    assert_false(matches("Filter.1.Name=tag%3Aenv&Filter.1.Value.1=web-01", &web));
    assert_false(matches("Filter.1.Name=tag%3Aenv&Filter.1.Value.1=*", &db));
    assert_true(matches("Filter.1.Name=tag%3Aenv&Filter.1.Value.1=*", &web));
    /* tag-key / tag-value look at every tag. */
    assert_true(matches("Filter.1.Name=tag-key&Filter.1.Value.1=env", &web));
    assert_false(matches("Filter.1.Name=tag-key&Filter.1.Value.1=env", &db));
    assert_true(matches("Filter.1.Name=tag-value&Filter.1.Value.1=pro?", &web));
    assert_false(matches("Filter.1.Name=tag-value&Filter.1.Value.1=pro?", &db));
    assert_true(matches("Filter.1.Name=instance-id&Filter.1.Value.1=i-0000000?", &db));

    cg_tags_release(&web.tags);
    cg_tags_release(&db.tags);
}

static void test_filters_stop_early(void **state)
{
    thing t = {"i-0000000a", "running", {0}};
    form f;
    ec2_filters fl;
    cg_error err = {0};
    int calls = 0;

    /* The first filter fails, so the second is never evaluated. */
    form_init(&f, "Filter.1.Name=instance-id&Filter.1.Value.1=nope"
                  "&Filter.2.Name=instance-state-name&Filter.2.Value.1=running");
    assert_int_equal(ec2_filters_parse(&f.ix, allowed, &fl, &err), 0);
    assert_int_equal(fl.n, 2);
    assert_false(ec2_filters_match(&fl, &t, thing_field, &calls));
    assert_int_equal(calls, 1);
    ec2_filters_release(&fl);
    form_release(&f);
}

static void expect_parse_error(const char *s, cg_errkind kind, const char *in_message)
{
    form f;
    ec2_filters fl;
    cg_error err = {0};

    form_init(&f, s);
    assert_int_equal(ec2_filters_parse(&f.ix, allowed, &fl, &err), -1);
    assert_int_equal(err.kind, kind);
    if (!strstr(err.message, in_message))
        fail_msg("message '%s' lacks '%s'", err.message, in_message);
    assert_null(fl.v);
    form_release(&f);
}

static void test_filters_errors(void **state)
{
    expect_parse_error("Filter.1.Name=colour&Filter.1.Value.1=red", CG_ERR_INVALID, "'colour'");
    /* "tag:" needs a key after the colon. */
    expect_parse_error("Filter.1.Name=tag%3A&Filter.1.Value.1=x", CG_ERR_INVALID, "'tag:'");
    expect_parse_error("Filter.1.Value.1=x", CG_ERR_MISSING, "Filter.1.Name");
    expect_parse_error("Filter.1.Name=instance-id", CG_ERR_INVALID, "requires a value");
    /* The second filter is bad: the first one's allocations are freed. */
    expect_parse_error("Filter.1.Name=instance-id&Filter.1.Value.1=a&Filter.2.Name=x"
                       "&Filter.2.Value.1=b",
                       CG_ERR_INVALID, "'x'");
}

/* ---- pagination --------------------------------------------------------- */

static const char *str_key(const void *elem)
{
    return *(const char *const *)elem;
}

static int page_parse(const char *s, unsigned min, unsigned max, ec2_page *pg, cg_error *err)
{
    form f;
    int r;

    form_init(&f, s);
    r = ec2_page_parse(&f.ix, "instances", min, max, pg, err);
    form_release(&f);
    return r;
}

static void test_max_results_bounds(void **state)
{
    ec2_page pg;
    cg_error err = {0};
    const char *bad[] = {
        "MaxResults=4", "MaxResults=1001", "MaxResults=0",  "MaxResults=abc",
        "MaxResults=",  "MaxResults=-5",   "MaxResults=5x", "MaxResults=99999999999999999999"};
    size_t i;

    assert_int_equal(page_parse("MaxResults=5", 5, 1000, &pg, &err), 0);
    assert_int_equal(pg.max, 5);
    ec2_page_release(&pg);
    assert_int_equal(page_parse("MaxResults=1000", 5, 1000, &pg, &err), 0);
    assert_int_equal(pg.max, 1000);
    ec2_page_release(&pg);
    assert_int_equal(page_parse("Action=X", 5, 1000, &pg, &err), 0);
    assert_int_equal(pg.max, 0);
    assert_null(pg.after);
    ec2_page_release(&pg);
    /* DescribeInstanceTypes allows at most 100. */
    assert_int_equal(page_parse("MaxResults=101", 5, 100, &pg, &err), -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cg_error_clear(&err);
        assert_int_equal(page_parse(bad[i], 5, 1000, &pg, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INVALID);
        assert_null(pg.after);
    }
}

/* Walk a sorted listing page by page as a client following nextToken does. */
static void test_pages(void **state)
{
    const char *all[] = {"i-0000000c", "i-0000000a", "i-0000000e", "i-0000000b",
                         "i-0000000d", "i-0000000f", "i-00000010", "i-00000011",
                         "i-00000012", "i-00000013", "i-00000014", "i-00000015"};
    const size_t total = sizeof(all) / sizeof(all[0]);
    const char *v[12];
    char *token = NULL, *next = NULL, q[256];
    size_t n, seen = 0, pages = 0;
    ec2_page pg;
    cg_error err = {0};
    const char *last = "";

    do {
        if (token) {
            /* Tokens are base64: '+' '/' '=' are escaped in a form. */
            char *enc = gw_uri_encode(token, strlen(token), 0);

            snprintf(q, sizeof(q), "MaxResults=5&NextToken=%s", enc);
            free(enc);
        } else {
            snprintf(q, sizeof(q), "MaxResults=5");
        }
        assert_int_equal(page_parse(q, 5, 1000, &pg, &err), 0);
        memcpy(v, all, sizeof(all));
        n = total;
        ec2_sort(v, n, sizeof(v[0]), str_key);
        assert_int_equal(ec2_page_take(&pg, v, &n, sizeof(v[0]), str_key, &next, &err), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(strcmp(v[i], last) > 0); /* ascending, no repeats */
            last = v[i];
        }
        seen += n;
        pages++;
        assert_int_equal(n, pages < 3 ? 5 : 2);
        ec2_page_release(&pg);
        free(token);
        token = next;
        next = NULL;
    } while (token);
    assert_int_equal(pages, 3);
    assert_int_equal(seen, total);
    assert_string_equal(last, "i-00000015");
}

static void test_exact_last_page_has_no_token(void **state)
{
    const char *v[] = {"a", "b", "c", "d", "e"};
    size_t n = 5;
    char *next = (char *)"sentinel";
    ec2_page pg = {5, NULL, "instances"};
    cg_error err = {0};

    assert_int_equal(ec2_page_take(&pg, v, &n, sizeof(v[0]), str_key, &next, &err), 0);
    assert_int_equal(n, 5);
    assert_null(next);
}

static void test_token_survives_deletion(void **state)
{
    const char *v[] = {"a", "b", "d", "e"};
    size_t n = 4;
    char *next = NULL, *tok, q[128];
    ec2_page pg;
    cg_error err = {0};

    /* The previous page ended at "c", which has gone since. */
    tok = ec2_page_token("instances", "c");
    assert_null(strpbrk(tok, "+/"));
    snprintf(q, sizeof(q), "NextToken=%s", tok);
    assert_int_equal(page_parse(q, 5, 1000, &pg, &err), 0);
    assert_string_equal(pg.after, "c");
    assert_int_equal(ec2_page_take(&pg, v, &n, sizeof(v[0]), str_key, &next, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "d");
    assert_null(next);
    ec2_page_release(&pg);
    free(tok);
}

static void test_invalid_tokens(void **state)
{
    ec2_page pg;
    cg_error err = {0};
    char *other = ec2_page_token("tags", "i-0000000a");
    char *empty_key = ec2_page_token("instances", "");
    char q[256];
    const char *bad[] = {"NextToken=tok", "NextToken=%21%21%21%21", "NextToken=aW5zdGFuY2Vz"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cg_error_clear(&err);
        assert_int_equal(page_parse(bad[i], 5, 1000, &pg, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INVALID);
    }
    /* Another listing's token is not ours. */
    snprintf(q, sizeof(q), "NextToken=%s", other);
    cg_error_clear(&err);
    assert_int_equal(page_parse(q, 5, 1000, &pg, &err), -1);
    snprintf(q, sizeof(q), "NextToken=%s", empty_key);
    cg_error_clear(&err);
    assert_int_equal(page_parse(q, 5, 1000, &pg, &err), -1);
    /* An empty NextToken means the first page. */
    assert_int_equal(page_parse("NextToken=", 5, 1000, &pg, &err), 0);
    assert_null(pg.after);
    ec2_page_release(&pg);
    free(other);
    free(empty_key);
}

static void test_no_limit_returns_all(void **state)
{
    const char *v[] = {"c", "a", "b"};
    size_t n = 3;
    char *next = NULL;
    ec2_page pg = {0, NULL, "instances"};
    cg_error err = {0};

    ec2_sort(v, n, sizeof(v[0]), str_key);
    assert_int_equal(ec2_page_take(&pg, v, &n, sizeof(v[0]), str_key, &next, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[2], "c");
    assert_null(next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_wildcard_is_not_exponential),
        cmocka_unit_test(test_params_index),
        cmocka_unit_test(test_params_strings),
        cmocka_unit_test(test_filters_or_and),
        cmocka_unit_test(test_filters_stop_early),
        cmocka_unit_test(test_filters_errors),
        cmocka_unit_test(test_max_results_bounds),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_exact_last_page_has_no_token),
        cmocka_unit_test(test_token_survives_deletion),
        cmocka_unit_test(test_invalid_tokens),
        cmocka_unit_test(test_no_limit_returns_all),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
