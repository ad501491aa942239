/* cloudgate: GET /cimi/machines from cached per-machine fragments.
 *
 * Every collection answered from fragments is compared byte for byte, in
 * JSON and XML, with the same collection built the ordinary way (each
 * machine by cimi_build_machine, rendered whole by cimi_render_json /
 * cimi_render_xml) and with the handler's own ordinary path (a query
 * option), and the counters say whether each machine was written again or
 * reused: a change of state or tag writes that machine again, and only it;
 * another base URL writes every machine again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/cimi/cimi.h"
#include "frontends/cimi/cimi_internal.h"

#define BASE "http://127.0.0.1:8773/cimi/"
#define OTHER_BASE "https://cloud.example:443/cimi/"
#define N_INST 6
#define N_SHOWN 5 /* one is terminated */

static cg_config cfg;
static cg_instance inst[N_INST];
static uint64_t version = 1; /* bumped with every change of inst */

static uint64_t fake_version(cg_drv *drv)
{
    (void)drv;
    return version;
}

static int fake_list(cg_drv *drv, cg_instance_list *out, cg_error *err)
{
    (void)drv;
    (void)err;
    for (size_t i = 0; i < N_INST; i++)
        assert_int_equal(cg_instance_list_append(out, &inst[i]), 0);
    return 0;
}

static const cg_driver fake_driver = {
    .name = "fake",
    .instance_list = fake_list,
    .instances_version = fake_version,
};
static int drv_token;

static void fill(cg_instance *i, unsigned n, cg_instance_state st, cg_instance_sub sub)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->id, sizeof(i->id), "i-0%016x", 0xc000u + n);
    snprintf(i->image_id, sizeof(i->image_id), "ami-0123456789abcdef0");
    snprintf(i->instance_type, sizeof(i->instance_type), "t2.micro");
    if (st == CG_STATE_RUNNING)
        snprintf(i->private_ip, sizeof(i->private_ip), "192.168.122.%u", 10 + n);
    i->state = st;
    i->sub = sub;
    i->launch_time = 1714564800;
    i->state_time = 1714564860 + n;
    i->vcpus = 1 + n % 2;
    i->memory_mib = 1024;
}

static int setup(void **state)
{
    cg_instance *i = inst;

    (void)state;
    assert_int_equal(cg_config_defaults(&cfg), 0);
    free(cfg.network);
    cfg.network = strdup("cloudgate-isolated");
    /* Running, named, with characters each format escapes. */
    fill(&i[0], 0, CG_STATE_RUNNING, CG_SUB_NONE);
    assert_int_equal(cg_tags_set(&i[0].tags, "Name", "web <1> & \"x\" \\ é"), 0);
    assert_int_equal(cg_tags_set(&i[0].tags, "env", "prod"), 0);
    /* Stopped, with a description and a VNC display. */
    fill(&i[1], 1, CG_STATE_STOPPED, CG_SUB_NONE);
    assert_int_equal(cg_tags_set(&i[1].tags, "Description", "line one\nline two"), 0);
    i[1].display = CG_DISPLAY_VNC;
    /* Paused, in a VPC with two security groups (properties, a NIC with
     * its network and port). */
    fill(&i[2], 2, CG_STATE_RUNNING, CG_SUB_PAUSED);
    snprintf(i[2].vpc_id, sizeof(i[2].vpc_id), "vpc-000000000000000a1");
    snprintf(i[2].subnet_id, sizeof(i[2].subnet_id), "subnet-000000000000000b1");
    snprintf(i[2].eni_id, sizeof(i[2].eni_id), "eni-0123456789abcdef0");
    assert_int_equal(cg_instance_add_group(&i[2], "sg-000000000000000c1", "web, <front>"), 0);
    assert_int_equal(cg_instance_add_group(&i[2], "sg-000000000000000c2", "default"), 0);
    /* Terminated: not shown. */
    fill(&i[3], 3, CG_STATE_TERMINATED, CG_SUB_NONE);
    /* Pending, no lease yet, locked by an import job. */
    fill(&i[4], 4, CG_STATE_PENDING, CG_SUB_NONE);
    snprintf(i[4].locked_by, sizeof(i[4].locked_by), "job-0000000000000001");
    /* Running with a SPICE console live. */
    fill(&i[5], 5, CG_STATE_RUNNING, CG_SUB_NONE);
    i[5].display = i[5].display_live = CG_DISPLAY_SPICE;
    snprintf(i[5].display_addr, sizeof(i[5].display_addr), "127.0.0.1");
    i[5].display_port = 5901;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_INST; i++)
        cg_instance_release(&inst[i]);
    cimi_idle();
    cg_config_release(&cfg);
    return 0;
}

/* The handler's answer to GET machines?query, flat. */
static char *get(const char *base, int xml, const char *query, size_t *len)
{
    gw_ctx ctx = {.cfg = &cfg, .driver = &fake_driver, .drv = (cg_drv *)(void *)&drv_token};
    gw_request req = {.method = "GET"};
    gw_response resp = {0};
    cimi_call c = {.ctx = &ctx, .req = &req, .resp = &resp, .xml = xml};
    char *body;

    snprintf(c.base, sizeof(c.base), "%s", base);
    assert_int_equal(gw_params_parse(&c.query, query, strlen(query)), 0);
    cimi_get_collection(&c, cimi_find_collection("machines", 8));
    assert_int_equal(c.status, 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, xml ? CIMI_XML : CIMI_JSON);
    assert_int_equal(gw_response_flatten(&resp), 0);
    body = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
    gw_response_release(&resp);
    gw_params_release(&c.query);
    return body;
}

/* The collection built and rendered whole, as the ordinary path does. */
static char *rendered_whole(const char *base, int xml, size_t *len)
{
    const cimi_collection *coll = cimi_find_collection("machines", 8);
    cimi_obj *items[N_INST], *o;
    size_t n = 0;
    char id[600];
    char *doc;

    for (size_t i = 0; i < N_INST; i++) {
        if (inst[i].state != CG_STATE_TERMINATED)
            items[n++] = cimi_build_machine(base, &cfg, &inst[i], CIMI_MACHINE_OPS_SERVED);
    }
    snprintf(id, sizeof(id), "%smachines", base);
    o = cimi_collection_object(id, "MachineCollection", (long long)n, "machines", "Machine", items,
                               n, coll->create != NULL, coll->imports);
    doc = xml ? cimi_render_xml(o, len) : cimi_render_json(o, len);
    cimi_obj_free(o);
    assert_non_null(doc);
    return doc;
}

/* GET machines in both ways and compare.  Returns how many machines were
 * written again (not reused); every shown machine is one or the other. */
static unsigned long check_get(const char *base, int xml)
{
    unsigned long r0, u0, r1, u1;
    size_t cached, len_a = 0, len_b = 0, len_c = 0;
    char *a, *b, *c;

    cimi_fragments_stats(&r0, &u0, &cached);
    a = get(base, xml, "", &len_a);
    cimi_fragments_stats(&r1, &u1, &cached);
    b = rendered_whole(base, xml, &len_b);
    if (len_a != len_b || memcmp(a, b, len_a) != 0)
        fail_msg("from fragments:\n%.*s\nrendered whole:\n%.*s", (int)len_a, a, (int)len_b, b);
    /* $first=1 takes the ordinary path and pages nothing away. */
    c = get(base, xml, "$first=1", &len_c);
    assert_int_equal(len_c, len_b);
    assert_memory_equal(c, b, len_b);
    assert_int_equal((r1 - r0) + (u1 - u0), N_SHOWN);
    free(a);
    free(b);
    free(c);
    return r1 - r0;
}

static void test_same_bytes_and_reuse(void **state)
{
    unsigned long rendered, reused;
    size_t cached;

    (void)state;
    /* JSON: all written, then all reused. */
    assert_int_equal(check_get(BASE, 0), N_SHOWN);
    assert_int_equal(check_get(BASE, 0), 0);
    /* XML is kept beside JSON. */
    assert_int_equal(check_get(BASE, 1), N_SHOWN);
    assert_int_equal(check_get(BASE, 1), 0);
    assert_int_equal(check_get(BASE, 0), 0);

    /* A machine stops: it alone is written again, in each format. */
    inst[0].state = CG_STATE_STOPPED;
    inst[0].private_ip[0] = '\0';
    version++;
    assert_int_equal(check_get(BASE, 0), 1);
    assert_int_equal(check_get(BASE, 1), 1);
    assert_int_equal(check_get(BASE, 0), 0);

    /* A tag on another machine: it alone. */
    assert_int_equal(cg_tags_set(&inst[2].tags, "owner", "ops & <dev>"), 0);
    version++;
    assert_int_equal(check_get(BASE, 1), 1);
    assert_int_equal(check_get(BASE, 0), 1);
    assert_int_equal(check_get(BASE, 1), 0);

    /* The base URL is in every machine's text: another one writes all. */
    assert_int_equal(check_get(OTHER_BASE, 0), N_SHOWN);
    assert_int_equal(check_get(OTHER_BASE, 0), 0);

    /* The terminated instance has no fragment; the others have. */
    cimi_fragments_stats(&rendered, &reused, &cached);
    assert_int_equal(cached, N_SHOWN);
}

/* A query option, or no machine shown: the ordinary path answers. */
static void test_ordinary_path(void **state)
{
    unsigned long r0, u0, r1, u1;
    size_t cached, len = 0;
    cg_instance_state saved[N_INST];
    char *body;

    (void)state;
    cimi_fragments_stats(&r0, &u0, &cached);
    body = get(BASE, 0, "$orderby=name:desc", &len);
    assert_non_null(strstr(body, "\"count\": 5"));
    free(body);
    body = get(BASE, 1, "$select=name", &len);
    free(body);
    cimi_fragments_stats(&r1, &u1, &cached);
    assert_int_equal(r1, r0);
    assert_int_equal(u1, u0);

    for (size_t i = 0; i < N_INST; i++) {
        saved[i] = inst[i].state;
        inst[i].state = CG_STATE_TERMINATED;
    }
    version++;
    for (int xml = 0; xml < 2; xml++) {
        size_t len_b = 0;
        char *want;

        body = get(BASE, xml, "", &len);
        want = rendered_whole(BASE, xml, &len_b);
        assert_int_equal(len, len_b);
        assert_memory_equal(body, want, len);
        free(body);
        free(want);
    }
    for (size_t i = 0; i < N_INST; i++)
        inst[i].state = saved[i];
    version++;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_and_reuse),
        cmocka_unit_test(test_ordinary_path),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
