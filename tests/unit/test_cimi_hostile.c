/* cloudgate: hostile CIMI input: bodies whose members collide or have the
 * wrong type, DTDs and entities, nesting and size bounds, JSON that json-c
 * would take silently (duplicate names, \u0000), $filter and paging
 * parameters, and q-values.  Each case was a crash, undefined behaviour or
 * a silent misuse before; each must now be a 400 that names the member or
 * the limit (or, for Accept, a defined choice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/cimi/cimi_filter.h"
#include "frontends/cimi/cimi_internal.h"

#define NS "xmlns='http://schemas.dmtf.org/cimi/1'"
/* A literal with a NUL byte in it, and its length. */
#define WITH_NUL(lit) lit, sizeof(lit) - 1

/* body of ctype as type must be refused with a 400 whose message holds want. */
static void refused(const char *ctype, const char *body, size_t len, const char *type,
                    const char *want)
{
    cg_error err = {0};
    json_object *j = cimi_body_parse(ctype, body, len, type, &err);

    if (j)
        fail_msg("accepted: %s", json_object_to_json_string(j));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    if (!strstr(err.message, want))
        fail_msg("'%s' does not say '%s'", err.message, want);
}

static void xml_refused(const char *body, const char *type, const char *want)
{
    refused("application/xml", body, strlen(body), type, want);
}

static void json_refused(const char *body, const char *want)
{
    refused("application/json", body, strlen(body), "MachineCreate", want);
}

static json_object *parsed(const char *ctype, const char *body, const char *type)
{
    cg_error err = {0};
    json_object *j = cimi_body_parse(ctype, body, strlen(body), type, &err);

    if (!j)
        fail_msg("refused: %s", err.message);
    return j;
}

/* The crash of issue 9: a member of one type that XML elements of another
 * add to (json-c asserted and the daemon aborted). */
static void test_xml_collisions(void **state)
{
    xml_refused("<MachineCreate " NS "><properties>x</properties><property name='a'>b</property>"
                "</MachineCreate>",
                "MachineCreate", "'properties'");
    xml_refused("<MachineCreate " NS "><machineTemplate><volumes>x</volumes><volume/>"
                "</machineTemplate></MachineCreate>",
                "MachineCreate", "'volumes'");
    xml_refused("<MachineTemplate " NS "><volumeTemplates/><volumeTemplate/>"
                "</MachineTemplate>",
                "MachineTemplate", "'volumeTemplates'");
    /* The attribute form: an attribute and elements of the same name. */
    xml_refused("<MachineCreate " NS " properties='x'><property name='a'>b</property>"
                "</MachineCreate>",
                "MachineCreate", "'properties'");
    xml_refused("<MachineCreate " NS "><machineTemplate volumes='x'><volume href='v'/>"
                "</machineTemplate></MachineCreate>",
                "MachineCreate", "'volumes'");
    xml_refused("<MachineCreate " NS "><machineTemplate><machineConfig href='a'><href>b</href>"
                "</machineConfig></machineTemplate></MachineCreate>",
                "MachineCreate", "<href> appears more than once in <machineConfig>");
    xml_refused("<MachineCreate " NS " name='a'><name>b</name></MachineCreate>", "MachineCreate",
                "<name> appears more than once");
    /* The other order, and a property given twice. */
    xml_refused("<MachineCreate " NS "><property name='a'>b</property><properties>x</properties>"
                "</MachineCreate>",
                "MachineCreate", "<properties> appears more than once");
    xml_refused("<MachineCreate " NS "><machineTemplate><volume/><volumes>x</volumes>"
                "</machineTemplate></MachineCreate>",
                "MachineCreate", "<volumes> appears more than once");
    xml_refused("<MachineCreate " NS "><property name='a'>1</property><property name='a'>2"
                "</property></MachineCreate>",
                "MachineCreate", "<property name='a'> appears more than once");
}

static void test_xml_doctype(void **state)
{
    char *body = malloc(400000), *p = body;
    int i;

    /* 20,000 references to a 1 KB entity: 20 MB if expanded. */
    p += sprintf(p, "<!DOCTYPE MachineCreate [<!ENTITY x '");
    for (i = 0; i < 1000; i++)
        *p++ = 'x';
    p += sprintf(p, "'>]><MachineCreate " NS "><name>");
    for (i = 0; i < 20000; i++)
        p += sprintf(p, "&x;");
    p += sprintf(p, "</name></MachineCreate>");
    refused("application/xml", body, (size_t)(p - body), "MachineCreate", "DOCTYPE");
    free(body);
    xml_refused("<!DOCTYPE MachineCreate SYSTEM 'http://127.0.0.1:1/x.dtd'><MachineCreate " NS "/>",
                "MachineCreate", "DOCTYPE");
    xml_refused("<?xml version='1.0'?>\n<!DOCTYPE MachineCreate><MachineCreate " NS "/>",
                "MachineCreate", "DOCTYPE");
    /* Undeclared entities are not well-formed; the predefined ones work. */
    xml_refused("<MachineCreate " NS "><name>&x;</name></MachineCreate>", "MachineCreate",
                "not an XML document");
    json_object *j =
        parsed("application/xml", "<MachineCreate " NS "><name>a&amp;b&#65;</name></MachineCreate>",
               "MachineCreate");
    assert_string_equal(json_object_get_string(json_object_object_get(j, "name")), "a&bA");
    json_object_put(j);
}

/* "<a><a>...</a></a>" nested n deep inside a MachineCreate. */
static char *nested_xml(int n)
{
    char *s = malloc((size_t)n * 8 + 200), *p = s;
    int i;

    p += sprintf(p, "<MachineCreate " NS ">");
    for (i = 0; i < n; i++)
        p += sprintf(p, "<a>");
    for (i = 0; i < n; i++)
        p += sprintf(p, "</a>");
    sprintf(p, "</MachineCreate>");
    return s;
}

static void test_xml_bounds(void **state)
{
    char *s = nested_xml(15), *p;
    json_object *j;
    int i;

    j = parsed("application/xml", s, "MachineCreate");
    json_object_put(j);
    free(s);
    xml_refused(s = nested_xml(17), "MachineCreate", "deeper than 16");
    free(s);
    xml_refused(s = nested_xml(100000), "MachineCreate", "deeper than 16");
    free(s);
    /* 10,001 elements and attributes (flat). */
    s = p = malloc(200000);
    p += sprintf(p, "<MachineCreate " NS "><x>");
    for (i = 0; i < 10000; i++)
        p += sprintf(p, "<b/>");
    sprintf(p, "</x></MachineCreate>");
    xml_refused(s, "MachineCreate", "more than 10000");
    free(s);
    /* Namespace declarations count too. */
    s = p = malloc(400000);
    p += sprintf(p, "<MachineCreate " NS "><x");
    for (i = 0; i < 10001; i++)
        p += sprintf(p, " xmlns:n%d='urn:%d'", i, i);
    sprintf(p, "/></MachineCreate>");
    xml_refused(s, "MachineCreate", "more than 10000");
    free(s);
    /* Not UTF-8 / a NUL byte: not XML. */
    xml_refused("<MachineCreate " NS "><name>\xff\xfe</name></MachineCreate>", "MachineCreate",
                "not an XML document");
    refused("application/xml", WITH_NUL("<MachineCreate " NS "><name>a\0b</name></MachineCreate>"),
            "MachineCreate", "not an XML document");
}

static void test_json_bounds(void **state)
{
    char *s = malloc(100000), *p = s;
    int i;

    json_refused("{\"a\": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", "deeper than 16");
    p += sprintf(p, "{\"a\": [");
    for (i = 0; i < 10001; i++)
        p += sprintf(p, "%s0", i ? "," : "");
    sprintf(p, "]}");
    json_refused(s, "more than 10000 values");
    free(s);
    /* json-c keeps the last of repeated names and cuts names at \u0000. */
    json_refused("{\"name\": \"a\", \"name\": 5}", "repeats a member name");
    json_refused("{\"m\": {\"x\": 1, \"y\": {}, \"x\": 2}}", "repeats a member name");
    json_refused("{\"name\\u0000x\": 1, \"name\": \"a\"}", "NUL");
    json_refused("{\"name\": \"a\\u0000b\"}", "NUL");
    refused("application/json", WITH_NUL("{\"name\": \"a\0\"}"), "MachineCreate", "NUL");
    json_refused("{\"name\": \"\xc3\x28\"}", "UTF-8");
    json_refused("{\"name\": \"a\",}", "not a JSON document");
    json_refused("{\"name\": 'a'}", "not a JSON document");
    json_refused("{} {}", "not a JSON document");
    json_refused("[]", "must be a JSON object");
    /* Escaped quotes and backslashes do not confuse the name count. */
    json_object_put(parsed("application/json",
                           "{\"a\\\"\": \"x\\\\\", \"b\": [\"c:\", {\"d\": 1}]}", "MachineCreate"));
}

/* Members of the wrong JSON type: a 400 naming them from each reader. */
static void test_wrong_types(void **state)
{
    cimi_call c = {0};
    json_object *j = parsed("application/json",
                            "{\"name\": 5, \"properties\": [], \"n\": 99999999999999999999999,"
                            " \"s\": \"99999999999999999999\", \"t\": \" 5\", \"o\": \"x\","
                            " \"p2\": {\"a\": {}}}",
                            "MachineCreate"),
                *o = NULL;
    const char *s = NULL;
    long long n = 0;
    int present;
    cg_tags tags = {0};

    assert_int_equal(cimi_body_str(&c, j, "name", "MachineCreate", &s), -1);
    assert_non_null(strstr(c.message, "'name' in MachineCreate must be a string"));
    c.status = 0;
    assert_int_equal(cimi_body_props(&c, j, "MachineCreate", &tags), -1);
    assert_non_null(strstr(c.message, "'properties'"));
    c.status = 0;
    assert_int_equal(cimi_body_int(&c, j, "n", "x", &n, &present), -1);
    assert_non_null(strstr(c.message, "'n' in x is out of range"));
    c.status = 0;
    assert_int_equal(cimi_body_int(&c, j, "s", "x", &n, &present), -1);
    assert_non_null(strstr(c.message, "'s' in x is out of range"));
    c.status = 0;
    assert_int_equal(cimi_body_int(&c, j, "t", "x", &n, &present), -1);
    assert_non_null(strstr(c.message, "'t' in x must be an integer"));
    c.status = 0;
    assert_int_equal(cimi_body_obj(&c, j, "o", "x", &o), -1);
    assert_non_null(strstr(c.message, "'o' in x must be an object"));
    c.status = 0;
    o = json_object_object_get(j, "p2");
    assert_int_equal(cimi_body_str(&c, o, "a", "p2", &s), -1);
    assert_non_null(strstr(c.message, "'a' in p2"));
    assert_int_equal(c.status, 400);
    cg_tags_release(&tags);
    json_object_put(j);
}

/* Properties become tags: 48 fit (EC2's 50 with name and description). */
static void test_property_count(void **state)
{
    char body[4000], *p;
    cimi_call c = {0};
    cg_tags tags = {0};
    json_object *j;
    int n, i;

    for (n = 48; n <= 49; n++) {
        p = body + sprintf(body, "{\"properties\": {");
        for (i = 0; i < n; i++)
            p += sprintf(p, "%s\"k%d\": \"v\"", i ? ", " : "", i);
        sprintf(p, "}}");
        j = parsed("application/json", body, "MachineCreate");
        assert_int_equal(cimi_body_props(&c, j, "MachineCreate", &tags), n == 48 ? 0 : -1);
        json_object_put(j);
    }
    assert_int_equal(tags.n, 48);
    assert_non_null(strstr(c.message, "more than 48 properties"));
    cg_tags_release(&tags);
}

/* A machineTemplate whose members have the wrong type is refused before
 * any store or driver is asked (c.ctx is NULL here). */
static void template_refused(const char *tpl_json, const char *want)
{
    cimi_call c = {0};
    json_object *tpl = parsed("application/json", tpl_json, "MachineTemplate"), *out = NULL;

    assert_int_equal(cimi_template_canonical(&c, tpl, "machineTemplate", &out), -1);
    assert_null(out);
    assert_int_equal(c.status, 400);
    if (!strstr(c.message, want))
        fail_msg("'%s' does not say '%s'", c.message, want);
    json_object_put(tpl);
}

static void test_template_types(void **state)
{
    template_refused("{\"volumes\": {}}", "machineTemplate.volumes must be an array");
    template_refused("{\"volumeTemplates\": \"x\"}", "machineTemplate.volumeTemplates");
    template_refused("{\"volumes\": [5]}", "machineTemplate.volumes[0]");
    template_refused("{\"volumes\": [{\"href\": 5}]}", "volumes[0]");
    template_refused("{\"volumeTemplates\": [[]]}", "machineTemplate.volumeTemplates[0]");
    template_refused("{\"machineConfig\": \"x\"}", "'machineConfig'");
    template_refused("{\"machineImage\": {\"href\": []}}",
                     "'href' in machineTemplate.machineImage");
    template_refused("{\"properties\": {\"display\": 5}}", "property 'display'");
    template_refused("{\"initialState\": true}", "'initialState'");
    template_refused("{\"userData\": {}}", "'userData'");
    /* Nine items are refused before any of them is looked up. */
    template_refused("{\"volumeTemplates\": [{}, {}, {}, {}, {}, {}, {}, {}, {}]}",
                     "at most 8 volumes");
}

/* An Action body cimi_parse_action must refuse, naming want. */
static void action_refused(const char *body, const char *want)
{
    cimi_call c = {0};
    cimi_action act;
    json_object *j = parsed("application/json", body, "Action");

    assert_int_equal(cimi_parse_action(&c, j, &act), -1);
    assert_int_equal(c.status, 400);
    if (!strstr(c.message, want))
        fail_msg("'%s' does not say '%s'", c.message, want);
    json_object_put(j);
}

static void test_action_types(void **state)
{
    action_refused("{\"action\": \"http://schemas.dmtf.org/cimi/1/action/stop\", \"force\": 5}",
                   "'force'");
    action_refused("{\"action\": \"http://schemas.dmtf.org/cimi/1/action/capture\","
                   " \"properties\": \"x\"}",
                   "'properties'");
    action_refused("{\"action\": \"http://schemas.dmtf.org/cimi/1/action/capture\","
                   " \"properties\": {\"name\": []}}",
                   "properties.name");
    action_refused("{\"action\": {}}", "'action'");
}

/* A $filter of n comparisons joined by op. */
static char *chain(int n, const char *op)
{
    char *s = malloc((size_t)n * 32 + 1), *p = s;
    int i;

    for (i = 0; i < n; i++)
        p += sprintf(p, "%sname!='x%d'", i ? op : "", i);
    return s;
}

static void filter_refused(const char *text, const char *want)
{
    cg_error err = {0};
    cimi_filter *f = cimi_filter_parse(text, &err);

    assert_null(f);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    if (!strstr(err.message, want))
        fail_msg("'%s' does not say '%s'", err.message, want);
}

static void test_filter_bounds(void **state)
{
    cimi_obj *o = cimi_obj_new("Machine");
    cg_error err = {0};
    cimi_filter *f;
    char *s, *p;
    int i;

    cimi_add_str(o, "name", "web");
    /* 256 comparisons in one chain: one node, evaluated in a loop. */
    assert_non_null(f = cimi_filter_parse(s = chain(256, " and "), &err));
    assert_int_equal(cimi_filter_match(f, o), 1);
    cimi_filter_free(f);
    free(s);
    assert_non_null(f = cimi_filter_parse(s = chain(200, " or "), &err));
    assert_int_equal(cimi_filter_match(f, o), 1);
    cimi_filter_free(f);
    free(s);
    filter_refused(s = chain(257, " and "), "comparisons");
    free(s);
    /* Longer than the limit (one long string), and parentheses too deep. */
    s = malloc(9000);
    memset(s, 'a', 8999);
    memcpy(s, "name='", 6);
    s[8997] = '\'';
    s[8998] = '\0';
    filter_refused(s, "longer than 8192");
    free(s);
    s = p = malloc(200);
    for (i = 0; i < 40; i++)
        *p++ = '(';
    strcpy(p, "name='a'");
    filter_refused(s, "nested");
    free(s);
    filter_refused("cpu=9223372036854775808", "integer");
    filter_refused("cpu=-9223372036854775809", "integer");
    filter_refused("name='abc", "unterminated");
    filter_refused("name='a' and", "expected");
    cimi_obj_free(o);
}

static void query_refused(const char *q, const char *want)
{
    cg_error err = {0};

    assert_int_equal(cimi_query_parse(q, strlen(q), &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    if (!strstr(err.message, want))
        fail_msg("'%s' does not say '%s'", err.message, want);
}

static void test_query_params(void **state)
{
    const char *ok = "$first=1&$last=2&$select=name,cpu&$expand=*&$orderby=name:desc"
                     "&$filter=cpu%3D2&other=x";
    cg_error err = {0};
    char many[400] = "", *p = many;
    int i;

    assert_int_equal(cimi_query_parse(ok, strlen(ok), &err), 0);
    query_refused("$first=99999999999999999999999", "$first");
    query_refused("$first=-1", "$first");
    query_refused("$first=", "$first");
    query_refused("$first=0", "$first");
    query_refused("$last=1e3", "$last");
    query_refused("$first=3&$last=2", "$last");
    query_refused("$select=", "$select");
    query_refused("$select=a,,b", "$select");
    query_refused("$expand=a%00b", "URL encoding");
    query_refused("$orderby=name:up", "$orderby");
    query_refused("$filter=", "$filter");
    for (i = 0; i < 17; i++)
        p += sprintf(p, "%s$filter=cpu%%3D%d", i ? "&" : "", i);
    query_refused(many, "more than 16 $filter");
}

static void test_qvalues(void **state)
{
    /* Not RFC 7231 qvalues: the range is ignored (here: the only one, so
     * as if there were no Accept: JSON). */
    assert_int_equal(cimi_negotiate("application/xml;q=1e300"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=-1e300"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=nan"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=inf"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=1.0001"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=2"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q="), 0);
    assert_int_equal(cimi_negotiate("application/json;q=0.1, application/xml;q=0.5x"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=1e300, application/json;q=0"), -1);
    /* Valid ones, with spaces and three decimals. */
    assert_int_equal(cimi_negotiate("application/json;q=0.001, application/xml;q=0.002"), 1);
    assert_int_equal(cimi_negotiate("application/xml ; q=0.5 , application/json;q=0.4"), 1);
    assert_int_equal(cimi_negotiate("application/xml;q=1., application/json;q=0.999"), 1);
    assert_int_equal(cimi_negotiate("application/xml;q=1.000, application/json;q=1"), 0);
    assert_int_equal(cimi_negotiate("application/xml;q=0, application/json;q=0"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_collisions), cmocka_unit_test(test_xml_doctype),
        cmocka_unit_test(test_xml_bounds),     cmocka_unit_test(test_json_bounds),
        cmocka_unit_test(test_wrong_types),    cmocka_unit_test(test_property_count),
        cmocka_unit_test(test_template_types), cmocka_unit_test(test_action_types),
        cmocka_unit_test(test_filter_bounds),  cmocka_unit_test(test_query_params),
        cmocka_unit_test(test_qvalues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
