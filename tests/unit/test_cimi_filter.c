/* cloudgate: the CIMI $filter grammar (parse errors, precedence, operand
 * order, kinds) and its evaluation against resource trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/cimi/cimi_filter.h"

/* A machine-like resource: name web-1, cpu 2, memory 1048576, state STARTED,
 * created 2024-05-01T12:00:00Z, enabled true, machineImage href, and
 * properties env=prod, tier=web. */
static cimi_obj *sample(const char *name, long long cpu)
{
    cimi_obj *o = cimi_obj_new("Machine");
    cimi_attr *props;

    cimi_add_str(o, "id", "http://h/cimi/machines/i-1");
    cimi_add_str(o, "name", name);
    cimi_add_time(o, "created", 1714564800);
    props = cimi_add_props(o);
    cimi_pair_push(o, props, "env", "prod");
    cimi_pair_push(o, props, "tier", "web");
    cimi_add_str(o, "state", "STARTED");
    cimi_add_int(o, "cpu", cpu);
    cimi_add_int(o, "memory", 1048576);
    cimi_add_bool(o, "enabled", 1);
    cimi_add_ref(o, "machineImage", "http://h/cimi/machineImages/ami-1", NULL);
    assert_false(cimi_obj_failed(o));
    return o;
}

/* Parse text (must succeed) and evaluate it against o. */
static int eval(const char *text, const cimi_obj *o)
{
    cg_error err = {0};
    cimi_filter *f = cimi_filter_parse(text, &err);
    int r;

    if (!f)
        fail_msg("'%s' did not parse: %s", text, err.message);
    r = cimi_filter_match(f, o);
    cimi_filter_free(f);
    return r;
}

/* Parse text, which must fail with a message containing want. */
static void parse_error(const char *text, const char *want)
{
    cg_error err = {0};
    cimi_filter *f = cimi_filter_parse(text, &err);

    if (f)
        fail_msg("'%s' parsed but should not", text);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    if (!strstr(err.message, want))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.message, want);
}

static void test_comparisons(void **state)
{
    cimi_obj *o = sample("web-1", 2);

    assert_true(eval("name='web-1'", o));
    assert_true(eval("name=\"web-1\"", o));
    assert_false(eval("name='web-2'", o));
    assert_true(eval("name!='web-2'", o));
    assert_true(eval("cpu=2", o));
    assert_true(eval("cpu>=2", o));
    assert_true(eval("cpu<=2", o));
    assert_false(eval("cpu<2", o));
    assert_true(eval("cpu>1", o));
    assert_true(eval("cpu != 3", o));
    assert_true(eval("memory > 1000", o));
    assert_true(eval("name < 'web-2'", o)); /* bytewise */
    assert_true(eval("name > 'a'", o));
    assert_true(eval("enabled=true", o));
    assert_false(eval("enabled=false", o));
    assert_true(eval("machineImage='http://h/cimi/machineImages/ami-1'", o));
    cimi_obj_free(o);
}

static void test_value_first(void **state)
{
    cimi_obj *o = sample("web-1", 2);

    /* Value Op Attribute reads as Attribute flip(Op) Value. */
    assert_true(eval("1 < cpu", o));
    assert_false(eval("2 < cpu", o));
    assert_true(eval("4 >= cpu", o));
    assert_true(eval("'web-1' = name", o));
    assert_true(eval("2024-01-01 < created", o));
    cimi_obj_free(o);
}

static void test_dates(void **state)
{
    cimi_obj *o = sample("web-1", 2);
    time_t t;

    assert_true(eval("created > 2024-05-01T11:59:59Z", o));
    assert_true(eval("created = 2024-05-01T12:00:00Z", o));
    assert_true(eval("created = 2024-05-01T14:00:00+02:00", o));
    assert_true(eval("created = 2024-05-01T12:00:00.000Z", o));
    assert_true(eval("created < 2024-05-02", o));
    assert_true(eval("created = '2024-05-01T12:00:00Z'", o)); /* a string that is a date */
    assert_false(eval("created = 'yesterday'", o));
    assert_int_equal(cimi_parse_date("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(cimi_parse_date("2024-13-01", &t), -1);
    assert_int_equal(cimi_parse_date("2024-05-01T25:00", &t), -1);
    assert_int_equal(cimi_parse_date("2024-05-01junk", &t), -1);
    cimi_obj_free(o);
}

static void test_and_or_precedence(void **state)
{
    cimi_obj *o = sample("web-1", 2);

    assert_true(eval("cpu=2 and name='web-1'", o));
    assert_false(eval("cpu=2 and name='x'", o));
    assert_true(eval("cpu=9 or name='web-1'", o));
    /* and binds tighter: false or (true and true) */
    assert_true(eval("cpu=9 or cpu=2 and state='STARTED'", o));
    /* (false or true) and false */
    assert_false(eval("(cpu=9 or cpu=2) and state='STOPPED'", o));
    /* false or (true and false) is false; true and false or true is true */
    assert_false(eval("cpu=9 or cpu=2 and state='STOPPED'", o));
    assert_true(eval("cpu=2 and state='STOPPED' or name='web-1'", o));
    assert_true(eval("((cpu=2))", o));
    assert_true(eval("cpu=2 AND name='web-1' Or cpu=1", o)); /* keywords any case */
    assert_true(eval("cpu=2 and (name='x' or (state='STARTED' and memory=1048576))", o));
    cimi_obj_free(o);
}

static void test_properties(void **state)
{
    cimi_obj *o = sample("web-1", 2);

    assert_true(eval("property['env']='prod'", o));
    assert_true(eval("property[\"tier\"] = \"web\"", o));
    assert_false(eval("property['env']='dev'", o));
    assert_true(eval("property['env']!='dev'", o));
    assert_false(eval("property['missing']='x'", o));
    assert_false(eval("property['missing']!='x'", o)); /* absent: every comparison false */
    assert_true(eval("property['env']='prod' and property['tier']='web'", o));
    cimi_obj_free(o);
}

static void test_missing_and_mismatch(void **state)
{
    cimi_obj *o = sample("web-1", 2);

    assert_false(eval("nosuch=1", o));
    assert_false(eval("nosuch!=1", o));
    assert_false(eval("cpu='2'", o)); /* an int does not compare with a string */
    assert_false(eval("name=2", o));
    assert_false(eval("enabled=1", o));
    cimi_obj_free(o);
}

static void test_strings(void **state)
{
    cimi_obj *o = sample("it's \"q\"", 2);

    assert_true(eval("name='it\\'s \"q\"'", o));
    assert_true(eval("name=\"it's \\\"q\\\"\"", o));
    cimi_obj_free(o);
}

static void test_parse_errors(void **state)
{
    parse_error("", "empty");
    parse_error("   ", "empty");
    parse_error("name", "expected one of");
    parse_error("name=", "expected a value");
    parse_error("name='abc", "unterminated");
    parse_error("cpu=2 and", "expected an attribute");
    parse_error("cpu=2 or or cpu=3", "expected an attribute");
    parse_error("(cpu=2", "expected ')'");
    parse_error("cpu=2)", "unexpected text");
    parse_error("cpu==2", "expected a value");
    parse_error("cpu=2x", "integer or an ISO 8601 date");
    parse_error("cpu=2 name='a'", "unexpected text");
    parse_error("property['a'=1", "expected ']'");
    parse_error("property['a']=1", "quoted string");
    parse_error("property[a]='x'", "quoted string");
    parse_error("2 = 3", "attribute name");
    parse_error("cpu ~ 2", "expected one of");
    parse_error("cpu=99999999999999999999", "integer");
}

static void test_offsets_and_depth(void **state)
{
    cg_error err = {0};
    char deep[200];
    size_t i;

    assert_null(cimi_filter_parse("cpu=2 and ?", &err));
    assert_non_null(strstr(err.message, "offset 10"));
    for (i = 0; i < 40; i++)
        deep[i] = '(';
    snprintf(deep + 40, sizeof(deep) - 40, "cpu=2");
    for (i = 0; i < 40; i++)
        strcat(deep, ")");
    cg_error_clear(&err);
    assert_null(cimi_filter_parse(deep, &err));
    assert_non_null(strstr(err.message, "too deeply nested"));
}

static void test_attribute_called_property(void **state)
{
    cimi_obj *o = cimi_obj_new("X");

    cimi_add_str(o, "property", "v");
    cimi_add_str(o, "propertyName", "w");
    assert_true(eval("property='v'", o));
    assert_true(eval("propertyName='w'", o));
    assert_true(cimi_filter_match(NULL, o)); /* no filter: everything */
    cimi_obj_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_value_first),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_and_or_precedence),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_missing_and_mismatch),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_offsets_and_depth),
        cmocka_unit_test(test_attribute_called_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
