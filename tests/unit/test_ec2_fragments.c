/* cloudgate: DescribeInstances from cached per-instance fragments.
 *
 * Every response assembled from fragments is compared byte for byte with
 * the one the writer gives for the same page (ec2_xml_describe_instances_vols,
 * itself checked against the golden files), and the counters say whether
 * each instance was written again or reused: a change of state, tag, group,
 * attribute or attached volume must write that instance again, and only it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/instance_view.h"
#include "frontends/ec2/ec2_xml.h"

#define T_LAUNCH ((time_t)1795429762)
#define RID "7f1e3a52-0c4b-4d7e-9a61-2b8c5d9e0f13"
#define N_INST 6

/* np pieces joined into one body, as a client receives them (NULL: none). */
static char *joined(gw_piece *pcs, size_t np, size_t *len)
{
    gw_response resp = {0};
    char *body;

    if (!pcs)
        return NULL;
    gw_response_set_pieces(&resp, 200, NULL, pcs, np);
    assert_int_equal(gw_response_flatten(&resp), 0);
    body = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
    gw_response_release(&resp);
    return body;
}

static char *ec2_fragments_describe_instances(const char *request_id, const cg_config *cfg,
                                              const cg_instance *const *v, size_t n,
                                              const cg_volume_list *vols, const char *next_token,
                                              size_t *len)
{
    size_t np = 0;
    gw_piece *pcs = ec2_fragments_describe_pieces(request_id, cfg, v, n, vols, next_token, &np);

    return joined(pcs, np, len);
}

static cg_config cfg;
static cg_instance inst[N_INST];
static cg_volume vol;
static cg_volume_list vols;

static void make_instance(cg_instance *i, unsigned n)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->id, sizeof(i->id), "i-0%016x", 0xa000u + n);
    snprintf(i->image_id, sizeof(i->image_id), "ami-0a1b2c3d4e5f60718");
    /* Reservations of 1, 2 and 3 instances. */
    snprintf(i->reservation_id, sizeof(i->reservation_id), "r-0%016x", n == 0 ? 1 : n < 3 ? 2 : 3);
    snprintf(i->instance_type, sizeof(i->instance_type), "t2.micro");
    snprintf(i->zone, sizeof(i->zone), "cloudgate-a");
    snprintf(i->private_ip, sizeof(i->private_ip), "10.0.0.%u", 10 + n);
    i->state = CG_STATE_RUNNING;
    i->launch_time = T_LAUNCH;
    i->state_time = T_LAUNCH;
    i->ami_launch_index = n;
    i->vcpus = 1;
    i->memory_mib = 1024;
    i->metadata.http_tokens = CG_MD_TOKENS_OPTIONAL;
    i->metadata.http_endpoint = CG_MD_ENDPOINT_ENABLED;
    i->metadata.hop_limit = 1;
}

static int setup(void **state)
{
    unsigned i;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.region = "cloudgate";
    cfg.account_id = "123456789012";
    for (i = 0; i < N_INST; i++)
        make_instance(&inst[i], i);
    memset(&vol, 0, sizeof(vol));
    snprintf(vol.id, sizeof(vol.id), "vol-0a1b2c3d4e5f60718");
    snprintf(vol.zone, sizeof(vol.zone), "cloudgate-a");
    snprintf(vol.state, sizeof(vol.state), "available");
    vol.created = T_LAUNCH;
    vols.v = &vol;
    vols.n = 1;
    return 0;
}

static int teardown(void **state)
{
    unsigned i;

    (void)state;
    for (i = 0; i < N_INST; i++)
        cg_instance_release(&inst[i]);
    return 0;
}

/* The page (all instances, in reverse so that grouping has work to do)
 * through both paths: the bytes must be the same.  Returns how many
 * instances were written again (not reused). */
static unsigned long describe_page(const char *token, char **out)
{
    const cg_instance *page[N_INST];
    unsigned long r0, u0, r1, u1;
    size_t cached, len_a = 0, len_b = 0, i;
    char *a, *b;

    for (i = 0; i < N_INST; i++)
        page[i] = &inst[N_INST - 1 - i];
    ec2_fragments_stats(&r0, &u0, &cached);
    a = ec2_fragments_describe_instances(RID, &cfg, page, N_INST, &vols, token, &len_a);
    ec2_fragments_stats(&r1, &u1, &cached);
    b = ec2_xml_describe_instances_vols(RID, &cfg, page, N_INST, &vols, token, &len_b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(len_a, strlen(a));
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);
    assert_int_equal((r1 - r0) + (u1 - u0), N_INST);
    free(b);
    if (out)
        *out = a;
    else
        free(a);
    return r1 - r0;
}

static void test_same_bytes_and_reuse(void **state)
{
    const cg_instance *none[1] = {NULL};
    size_t len_a = 0, len_b = 0;
    char *a, *b;

    (void)state;
    describe_page(NULL, NULL);
    /* Nothing changed: every instance reused. */
    assert_int_equal(describe_page(NULL, NULL), 0);
    assert_int_equal(describe_page("dG9rZW4=", NULL), 0);
    /* An empty page is the writer's own document. */
    a = ec2_fragments_describe_instances(RID, &cfg, none, 0, &vols, NULL, &len_a);
    b = ec2_xml_describe_instances_vols(RID, &cfg, none, 0, &vols, NULL, &len_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);
    free(a);
    free(b);
}

static void test_state_change(void **state)
{
    char *doc;

    (void)state;
    describe_page(NULL, NULL);
    inst[2].state = CG_STATE_STOPPED;
    snprintf(inst[2].state_reason, sizeof(inst[2].state_reason), "User initiated");
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "<name>stopped</name>"));
    free(doc);
    assert_int_equal(describe_page(NULL, NULL), 0);
    /* A pending launch record (no domain yet) renders like any other. */
    inst[4].state = CG_STATE_PENDING;
    inst[4].private_ip[0] = '\0';
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "<name>pending</name>"));
    free(doc);
}

static void test_tag_change(void **state)
{
    char *doc;

    (void)state;
    describe_page(NULL, NULL);
    assert_int_equal(cg_tags_set(&inst[1].tags, "Name", "web <1> & \"x\""), 0);
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "<value>web &lt;1&gt; &amp; "));
    free(doc);
    /* Same key, new value; then bytes XML forbids (written as '?'). */
    assert_int_equal(cg_tags_set(&inst[1].tags, "Name", "db"), 0);
    assert_int_equal(describe_page(NULL, NULL), 1);
    assert_int_equal(cg_tags_set(&inst[1].tags, "bad", "\x01\xff"), 0);
    assert_int_equal(describe_page(NULL, NULL), 1);
    cg_tags_remove(&inst[1].tags, "bad", NULL);
    assert_int_equal(describe_page(NULL, NULL), 1);
}

static void test_group_change(void **state)
{
    char *doc;

    (void)state;
    describe_page(NULL, NULL);
    assert_int_equal(cg_instance_add_group(&inst[3], "sg-0a1b2c3d4e5f60718", "web"), 0);
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "sg-0a1b2c3d4e5f60718"));
    free(doc);
    /* Renamed group, same id. */
    cg_instance_clear_groups(&inst[3]);
    assert_int_equal(cg_instance_add_group(&inst[3], "sg-0a1b2c3d4e5f60718", "web2"), 0);
    assert_int_equal(describe_page(NULL, NULL), 1);
    cg_instance_clear_groups(&inst[3]);
    assert_int_equal(describe_page(NULL, NULL), 1);
}

static void test_attribute_change(void **state)
{
    (void)state;
    describe_page(NULL, NULL);
    snprintf(inst[5].instance_type, sizeof(inst[5].instance_type), "t2.large");
    inst[5].vcpus = 2;
    assert_int_equal(describe_page(NULL, NULL), 1);
    inst[5].metadata.http_tokens = CG_MD_TOKENS_REQUIRED;
    assert_int_equal(describe_page(NULL, NULL), 1);
    inst[0].disable_api_termination = 1;
    assert_int_equal(describe_page(NULL, NULL), 1);
    inst[0].private_ip[0] = '\0'; /* lease gone */
    assert_int_equal(describe_page(NULL, NULL), 1);
}

static void test_volume_change(void **state)
{
    char *doc;

    (void)state;
    describe_page(NULL, NULL);
    snprintf(vol.attached_to, sizeof(vol.attached_to), "%s", inst[1].id);
    snprintf(vol.device, sizeof(vol.device), "vdb");
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "<deviceName>/dev/vdb</deviceName>"));
    free(doc);
    vol.delete_on_termination = 1;
    assert_int_equal(describe_page(NULL, NULL), 1);
    vol.attached_to[0] = '\0';
    vol.device[0] = '\0';
    assert_int_equal(describe_page(NULL, NULL), 1);
}

static void test_config_change(void **state)
{
    (void)state;
    describe_page(NULL, NULL);
    cfg.account_id = "210987654321";
    assert_int_equal(describe_page(NULL, NULL), N_INST);
    cfg.region = "elsewhere";
    assert_int_equal(describe_page(NULL, NULL), N_INST);
}

static void test_prune(void **state)
{
    cg_instance_list some = {inst, 2};
    unsigned long r, u;
    size_t cached, i;
    char id[24];

    (void)state;
    describe_page(NULL, NULL);
    ec2_fragments_stats(&r, &u, &cached);
    assert_true(cached >= N_INST);
    /* Many instances gone: a prune keeps only the listed ones. */
    for (i = 0; i < 100; i++) {
        const cg_instance *one[1] = {&inst[0]};
        cg_instance tmp = inst[0];
        size_t len;
        char *doc;

        snprintf(id, sizeof(id), "i-0%016zx", 0xb000 + i);
        snprintf(tmp.id, sizeof(tmp.id), "%s", id);
        tmp.tags.n = 0;
        tmp.tags.v = NULL;
        one[0] = &tmp;
        doc = ec2_fragments_describe_instances(RID, &cfg, one, 1, &vols, NULL, &len);
        assert_non_null(doc);
        free(doc);
    }
    ec2_fragments_stats(&r, &u, &cached);
    assert_true(cached >= 100);
    ec2_fragments_prune(&some);
    ec2_fragments_stats(&r, &u, &cached);
    assert_int_equal(cached, 2);
    /* The two kept are still reused; the others are written again. */
    assert_int_equal(describe_page(NULL, NULL), N_INST - 2);
}

/* A large listing array is recycled by the next listing (no fresh
 * mapping to fault in), and holds that listing's entries correctly. */
/* With the driver's revisions the fields they cover are not hashed: a
 * new revision writes the instance again, and what a listing fills in
 * (network, groups, lock, tags) still counts on its own. */
static void test_revision(void **state)
{
    unsigned i;
    char *doc;

    (void)state;
    for (i = 0; i < N_INST; i++)
        inst[i].rev = 100 + i;
    assert_int_equal(describe_page(NULL, NULL), N_INST);
    assert_int_equal(describe_page(NULL, NULL), 0);
    snprintf(inst[1].state_reason, sizeof(inst[1].state_reason), "Client.UserInitiatedShutdown");
    inst[1].rev = 200;
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "Client.UserInitiatedShutdown"));
    free(doc);
    snprintf(inst[3].vpc_id, sizeof(inst[3].vpc_id), "vpc-0a1b2c3d4e5f60718");
    assert_int_equal(describe_page(NULL, &doc), 1);
    assert_non_null(strstr(doc, "vpc-0a1b2c3d4e5f60718"));
    free(doc);
    snprintf(inst[4].locked_by, sizeof(inst[4].locked_by), "import-i-0a1b2c3d");
    inst[4].state = CG_STATE_PENDING;
    assert_int_equal(describe_page(NULL, NULL), 1);
    assert_int_equal(cg_tags_set(&inst[5].tags, "cloudgate:display", "vnc"), 0);
    assert_int_equal(describe_page(NULL, NULL), 1);
    for (i = 0; i < N_INST; i++)
        inst[i].rev = 0;
}

static void test_listing_array_recycled(void **state)
{
    cg_instance_list l = {0};
    cg_instance one = {0};
    cg_instance *first;
    size_t i;

    (void)state;
    cg_instance_list_pool_trim();
    assert_int_equal(cg_instance_list_reserve(&l, 200), 0);
    for (i = 0; i < 200; i++) {
        snprintf(one.id, sizeof(one.id), "i-0%016zx", i);
        assert_int_equal(cg_instance_list_append(&l, &one), 0);
    }
    first = l.v;
    cg_instance_list_release(&l);
    assert_null(l.v);
    assert_int_equal(cg_instance_list_reserve(&l, 150), 0);
    assert_ptr_equal(l.v, first);
    for (i = 0; i < 150; i++) {
        snprintf(one.id, sizeof(one.id), "i-1%016zx", i);
        assert_int_equal(cg_instance_list_append(&l, &one), 0);
    }
    assert_ptr_equal(l.v, first);
    assert_int_equal(l.n, 150);
    assert_string_equal(l.v[149].id, "i-10000000000000095");
    cg_instance_list_release(&l);
    cg_instance_list_pool_trim();
}

/* Group names are the record's own strings (drivers/driver.c): a copy has
 * its own, release frees them, and a sixth group is left out as on EC2. */
static void test_instance_copy_owns_group_names(void **state)
{
    cg_instance a = {0}, b = {0};
    char id[32], name[300];

    (void)state;
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    name[255] = '\0'; /* the longest name EC2 allows */
    for (int i = 0; i < CG_INSTANCE_GROUPS_MAX + 1; i++) {
        snprintf(id, sizeof(id), "sg-%017d", i);
        assert_int_equal(cg_instance_add_group(&a, id, i == 1 ? name : "web"), 0);
    }
    assert_int_equal(a.n_groups, CG_INSTANCE_GROUPS_MAX);
    assert_int_equal(cg_instance_copy(&b, &a), 0);
    assert_int_equal(b.n_groups, CG_INSTANCE_GROUPS_MAX);
    assert_ptr_not_equal(b.group_names[1], a.group_names[1]);
    assert_string_equal(b.group_names[1], name);
    assert_string_equal(b.group_ids[4], "sg-00000000000000004");
    cg_instance_clear_groups(&a);
    assert_int_equal(a.n_groups, 0);
    assert_null(a.group_names[0]);
    assert_string_equal(b.group_names[0], "web");
    cg_instance_release(&a);
    cg_instance_release(&b);
    assert_null(b.group_names[1]);
}

/* The pieces of a response for entries of a listing, joined. */
static char *describe_listed(const cg_listing *l, const cg_instance *const *v, size_t n,
                             size_t *len)
{
    size_t np = 0;
    gw_piece *pcs = ec2_fragments_describe_listed(RID, &cfg, l, v, n, NULL, &np);

    assert_non_null(pcs);
    return joined(pcs, np, len);
}

/* Requests that share a listing take its instances' fragments from what
 * the first one kept with it: the same bytes as the writer's, no
 * fingerprint or table lookup, and a filtered page picks its own entries.
 * Only a request for the whole listing makes the memo: a filtered one on
 * a new listing (something changed) looks up its own instances, and
 * writes again only the instance that changed. */
static void test_kept_with_the_listing(void **state)
{
    cg_listing l = {0}, next = {0};
    const cg_instance *page[N_INST], *two[2];
    unsigned long r0, u0, r1, u1, hits0;
    size_t cached, len_a, len_b, i;
    char *a, *b;

    (void)state;
    l.list.v = inst;
    l.list.n = N_INST;
    l.volumes = vols;
    for (i = 0; i < N_INST; i++)
        page[i] = &l.list.v[i];
    describe_page(NULL, NULL); /* the table knows every instance */
    ec2_fragments_stats(&r0, &u0, &cached);
    hits0 = ec2_fragments_memo_hits();
    a = describe_listed(&l, page, N_INST, &len_a);
    b = ec2_xml_describe_instances_vols(RID, &cfg, page, N_INST, &vols, NULL, &len_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);
    free(a);
    free(b);
    assert_non_null(cg_listing_memo_get(&l));
    assert_int_equal(ec2_fragments_memo_hits() - hits0, N_INST);
    ec2_fragments_stats(&r1, &u1, &cached);
    assert_int_equal(r1 - r0, 0);
    assert_int_equal(u1 - u0, N_INST); /* found in the table once, for the memo */

    /* Shared again, and a page of two: from the memo alone. */
    two[0] = &l.list.v[4];
    two[1] = &l.list.v[1];
    a = describe_listed(&l, two, 2, &len_a);
    b = ec2_xml_describe_instances_vols(RID, &cfg, two, 2, &vols, NULL, &len_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);
    free(a);
    free(b);
    ec2_fragments_stats(&r0, &u0, &cached);
    assert_int_equal(r0 - r1, 0);
    assert_int_equal(u0 - u1, 0);
    assert_int_equal(ec2_fragments_memo_hits() - hits0, N_INST + 2);

    /* A filtered request on a new listing makes no memo: it looks up its
     * own instances (one of them not of the listing) as before. */
    two[0] = &inst[0];
    two[1] = &l.list.v[3];
    next.list.v = inst;
    next.list.n = 3; /* inst[3] is past its end */
    next.volumes = vols;
    inst[3].state = CG_STATE_STOPPED;
    a = describe_listed(&next, two, 2, &len_a);
    b = ec2_xml_describe_instances_vols(RID, &cfg, two, 2, &vols, NULL, &len_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);
    assert_non_null(strstr(a, "<name>stopped</name>"));
    free(a);
    free(b);
    ec2_fragments_stats(&r1, &u1, &cached);
    assert_int_equal(r1 - r0, 1); /* inst[3], changed */
    assert_int_equal(u1 - u0, 1); /* inst[0] alone: not next's three */
    assert_null(cg_listing_memo_get(&next));
    assert_int_equal(ec2_fragments_memo_hits() - hits0, N_INST + 2);

    /* The whole of next, in its order, makes its memo. */
    a = describe_listed(&next, page, 3, &len_a);
    free(a);
    assert_non_null(cg_listing_memo_get(&next));
    ec2_fragments_stats(&r0, &u0, &cached);
    assert_int_equal(r0 - r1, 0);
    assert_int_equal(u0 - u1, 3);
    assert_int_equal(ec2_fragments_memo_hits() - hits0, N_INST + 2 + 3);
    inst[3].state = CG_STATE_RUNNING;
    cg_listing_memo_clear(&l);
    cg_listing_memo_clear(&next);
    assert_null(cg_listing_memo_get(&l));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_and_reuse),
        cmocka_unit_test(test_listing_array_recycled),
        cmocka_unit_test(test_state_change),
        cmocka_unit_test(test_instance_copy_owns_group_names),
        cmocka_unit_test(test_tag_change),
        cmocka_unit_test(test_group_change),
        cmocka_unit_test(test_attribute_change),
        cmocka_unit_test(test_volume_change),
        cmocka_unit_test(test_config_change),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_revision),
        cmocka_unit_test(test_kept_with_the_listing),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
