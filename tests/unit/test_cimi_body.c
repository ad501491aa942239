/* cloudgate: CIMI request bodies: XML and JSON reach the handlers in one
 * form (cimi_body.c), and the readers name what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "frontends/cimi/cimi_internal.h"

typedef struct fixture {
    gw_header hdr;
    gw_request req;
    gw_response resp;
    cimi_call call;
} fixture;

/* A call whose request has body and Content-Type ctype. */
static cimi_call *call_with(fixture *f, const char *ctype, const char *body)
{
    memset(f, 0, sizeof(*f));
    f->hdr.name = "Content-Type";
    f->hdr.value = (char *)ctype;
    f->req.headers = &f->hdr;
    f->req.n_headers = 1;
    f->req.body = (char *)body;
    f->req.body_len = strlen(body);
    snprintf(f->req.method, sizeof(f->req.method), "POST");
    f->req.path = "/cimi/machines";
    f->call.req = &f->req;
    f->call.resp = &f->resp;
    return &f->call;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = o;
    char buf[128], *p, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (p = strtok_r(buf, ".", &save); p && v; p = strtok_r(NULL, ".", &save)) {
        if (!json_object_object_get_ex(v, p, &v))
            return NULL;
    }
    return v ? json_object_get_string(v) : NULL;
}

static void test_xml_machine_create(void **state)
{
    fixture f;
    cimi_call *c = call_with(
        &f, "application/xml",
        "<MachineCreate xmlns='http://schemas.dmtf.org/cimi/1' xmlns:x='urn:other'>"
        " <name> web-1 </name><property name='env'>prod</property>"
        " <property name='team'>ops</property><x:ignored>1</x:ignored>"
        " <machineTemplate><initialState>STOPPED</initialState>"
        "  <machineConfig href='http://h/cimi/machineConfigs/t2.micro'/>"
        "  <volume href='http://h/cimi/volumes/vol-1' initialLocation='/dev/vdb'/>"
        "  <volume href='http://h/cimi/volumes/vol-2'/>"
        "  <volumeTemplate initialLocation='/dev/vdd'><volumeConfig><capacity>2048</capacity>"
        "  </volumeConfig></volumeTemplate>"
        " </machineTemplate></MachineCreate>");
    json_object *j = cimi_body(c, "MachineCreate"), *vols, *props;
    long long kb = 0;
    int present = 0;

    assert_non_null(j);
    assert_int_equal(c->status, 0);
    assert_string_equal(jstr(j, "name"), "web-1");
    assert_true(json_object_object_get_ex(j, "properties", &props));
    assert_int_equal(json_object_object_length(props), 2);
    assert_string_equal(jstr(j, "properties.team"), "ops");
    assert_null(jstr(j, "ignored"));
    assert_string_equal(jstr(j, "machineTemplate.initialState"), "STOPPED");
    assert_string_equal(jstr(j, "machineTemplate.machineConfig.href"),
                        "http://h/cimi/machineConfigs/t2.micro");
    /* Repeated <volume> become the JSON binding's "volumes" array. */
    assert_true(
        json_object_object_get_ex(json_object_object_get(j, "machineTemplate"), "volumes", &vols));
    assert_int_equal(json_object_array_length(vols), 2);
    assert_string_equal(jstr(json_object_array_get_idx(vols, 0), "initialLocation"), "/dev/vdb");
    assert_null(jstr(json_object_array_get_idx(vols, 1), "initialLocation"));
    /* Numbers arrive as text in XML; the integer reader takes both. */
    vols = json_object_object_get(json_object_object_get(j, "machineTemplate"), "volumeTemplates");
    assert_int_equal(
        cimi_body_int(c, json_object_object_get(json_object_array_get_idx(vols, 0), "volumeConfig"),
                      "capacity", "volumeConfig", &kb, &present),
        0);
    assert_true(present);
    assert_int_equal(kb, 2048);
    json_object_put(j);
}

static void test_json_and_its_checks(void **state)
{
    fixture f;
    cimi_call *c;
    json_object *j;
    const char *s = NULL;
    long long n;
    int present;

    c = call_with(&f, "application/json",
                  "{\"resourceURI\": \"http://schemas.dmtf.org/cimi/1/VolumeCreate\","
                  " \"name\": 5, \"capacity\": \"12x\"}");
    assert_non_null(j = cimi_body(c, "VolumeCreate"));
    assert_int_equal(cimi_body_str(c, j, "name", "VolumeCreate", &s), -1);
    assert_int_equal(c->status, 400);
    assert_non_null(strstr(c->message, "'name' in VolumeCreate"));
    c->status = 0;
    assert_int_equal(cimi_body_int(c, j, "capacity", "VolumeCreate", &n, &present), -1);
    assert_non_null(strstr(c->message, "12x"));
    json_object_put(j);

    /* The wrong resourceURI, trailing garbage, the wrong root: 400, named. */
    c = call_with(&f, "application/json", "{\"resourceURI\": \"http://x/Machine\"}");
    assert_null(cimi_body(c, "VolumeCreate"));
    assert_int_equal(c->status, 400);
    assert_non_null(strstr(c->message, "VolumeCreate"));
    c = call_with(&f, "application/json", "{} x");
    assert_null(cimi_body(c, "VolumeCreate"));
    assert_int_equal(c->status, 400);
    c = call_with(&f, "application/xml", "<Machine xmlns='http://schemas.dmtf.org/cimi/1'/>");
    assert_null(cimi_body(c, "MachineCreate"));
    assert_non_null(strstr(c->message, "<MachineCreate"));
    c = call_with(&f, "application/xml", "<MachineCreate xmlns='urn:not-cimi'/>");
    assert_null(cimi_body(c, "MachineCreate"));
    c = call_with(&f, "application/xml",
                  "<MachineCreate><name>a</name><name>b</name></MachineCreate>");
    assert_null(cimi_body(c, "MachineCreate"));
    assert_non_null(strstr(c->message, "more than once"));
    c = call_with(&f, "application/json", "");
    assert_null(cimi_body(c, "MachineCreate"));
    assert_non_null(strstr(c->message, "body is required"));
}

static void test_href_id(void **state)
{
    fixture f;
    cimi_call *c = call_with(&f, "application/json", "{}");
    char id[48];

    assert_int_equal(
        cimi_href_id(c, "https://proxy:9/cimi/volumes/vol-1", "volumes", "v", id, sizeof(id)), 0);
    assert_string_equal(id, "vol-1");
    assert_int_equal(cimi_href_id(c, "volumes/vol-2", "volumes", "v", id, sizeof(id)), 0);
    assert_string_equal(id, "vol-2");
    assert_int_equal(cimi_href_id(c, "http://h/cimi/machines/i-1", "volumes", "v", id, sizeof(id)),
                     -1);
    assert_int_equal(c->status, 400);
    c->status = 0;
    assert_int_equal(
        cimi_href_id(c, "http://h/cimi/volumes/vol-1/extra", "volumes", "v", id, sizeof(id)), -1);
}

/* A collection's POST: its own type or an Action (an import), told apart
 * by the XML root, the JSON resourceURI or, without one, "action". */
static void test_body_or_action(void **state)
{
    static const struct {
        const char *ctype, *body;
        int ok, is_action;
    } cases[] = {
        {"application/xml", "<Action xmlns=\"" CIMI_NS "\"><action>x</action></Action>", 1, 1},
        {"application/xml", "<MachineCreate xmlns=\"" CIMI_NS "\"><name>n</name>"
                            "</MachineCreate>", 1, 0},
        /* an <action> element does not make a MachineCreate an Action */
        {"application/xml", "<MachineCreate><action>x</action></MachineCreate>", 1, 0},
        {"application/xml", "<Machine><name>n</name></Machine>", 0, 0},
        {"application/json", "{\"resourceURI\": \"" CIMI_NS "/Action\"}", 1, 1},
        {"application/json", "{\"resourceURI\": \"" CIMI_NS "/MachineCreate\", "
                             "\"action\": \"x\"}", 1, 0},
        {"application/json", "{\"action\": \"x\"}", 1, 1},
        {"application/json", "{\"name\": \"x\"}", 1, 0},
        {"application/json", "{\"resourceURI\": \"" CIMI_NS "/Volume\"}", 0, 0},
        {"application/json", "{\"resourceURI\": \"" CIMI_NS "/MachineCreate|Action\"}", 0, 0},
    };
    fixture f;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int is_action = -1;
        json_object *j = cimi_body_or_action(call_with(&f, cases[i].ctype, cases[i].body),
                                             "MachineCreate", &is_action);

        if (!cases[i].ok) {
            assert_null(j);
            assert_int_equal(f.call.status, 400);
            continue;
        }
        assert_non_null(j);
        assert_int_equal(is_action, cases[i].is_action);
        json_object_put(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_machine_create),
        cmocka_unit_test(test_json_and_its_checks),
        cmocka_unit_test(test_href_id),
        cmocka_unit_test(test_body_or_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
