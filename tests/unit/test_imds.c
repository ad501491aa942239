/* cloudgate: the metadata service's answers (gateway/imds.c): who the
 * caller is, the meta-data tree, user-data, the identity document, IMDSv2
 * tokens (TTL bounds, binding to one instance, expiry, the cap), the
 * HttpTokens / HttpEndpoint options and hostile paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "gateway/imds.h"

#define T0 ((time_t)1795429762)

static void make(gw_imds_instance *a, const char *id, const char *ip, const char *mac)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", id);
    snprintf(a->image_id, sizeof(a->image_id), "ami-0a1b2c3d4e5f60718");
    snprintf(a->instance_type, sizeof(a->instance_type), "t2.micro");
    snprintf(a->zone, sizeof(a->zone), "cloudgate-a");
    snprintf(a->private_ip, sizeof(a->private_ip), "%s", ip);
    snprintf(a->mac, sizeof(a->mac), "%s", mac);
    snprintf(a->vpc_id, sizeof(a->vpc_id), "vpc-0bbbbbbbbbbbbbbbb");
    snprintf(a->subnet_id, sizeof(a->subnet_id), "subnet-0bbbbbbbbbbbbbbbb");
    a->launch_time = T0;
    a->md = (cg_metadata_options){CG_MD_TOKENS_OPTIONAL, CG_MD_ENDPOINT_ENABLED, 1};
}

/* Two instances: A (10.20.1.7, a key, user-data, two groups) and B (no
 * lease known: found by its MAC). */
static gw_imds *world(void)
{
    gw_imds *m = gw_imds_new("123456789012", "cloudgate", 8);
    gw_imds_instance *v = calloc(2, sizeof(*v));

    assert_non_null(m);
    assert_non_null(v);
    make(&v[0], "i-0aaaaaaaaaaaaaaaa", "10.20.1.7", "52:54:00:12:34:56");
    v[0].key_name = strdup("mykey");
    v[0].public_key = strdup("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake mykey");
    v[0].user_data = (unsigned char *)strdup("#!/bin/sh\necho hi\n");
    v[0].user_data_len = strlen((char *)v[0].user_data);
    assert_int_equal(gw_imds_instance_add_group(&v[0], "sg-01111111111111111", "default"), 0);
    assert_int_equal(gw_imds_instance_add_group(&v[0], "sg-02222222222222222", "web"), 0);
    make(&v[1], "i-0bbbbbbbbbbbbbbbb", "", "52:54:00:ab:cd:ef");
    gw_imds_set_instances(m, v, 2);
    return m;
}

/* Answer one request; the body is returned (caller frees), status in *st. */
static char *ask(gw_imds *m, const char *method, const char *path, const char *ip,
                 const char *mac, const char *token, const char *ttl, int *st)
{
    gw_imds_request rq = {.method = method, .path = path, .src_ip = ip, .src_mac = mac,
                          .token = token, .ttl = ttl, .now = T0 + 100};
    gw_imds_reply r;

    gw_imds_answer(m, &rq, &r);
    *st = r.status;
    return r.body;
}

#define A_IP "10.20.1.7"

static void expect(gw_imds *m, const char *path, int want_status, const char *want_body)
{
    int st;
    char *b = ask(m, "GET", path, A_IP, NULL, NULL, NULL, &st);

    assert_int_equal(st, want_status);
    if (want_body)
        assert_string_equal(b, want_body);
    free(b);
}

static void test_meta_data_tree(void **state)
{
    gw_imds *m = world();

    (void)state;
    expect(m, "/latest/meta-data/instance-id", 200, "i-0aaaaaaaaaaaaaaaa");
    expect(m, "/latest/meta-data/ami-id", 200, "ami-0a1b2c3d4e5f60718");
    expect(m, "/latest/meta-data/local-ipv4", 200, "10.20.1.7");
    expect(m, "/latest/meta-data/hostname", 200, "ip-10-20-1-7.cloudgate.compute.internal");
    expect(m, "/latest/meta-data/placement/availability-zone", 200, "cloudgate-a");
    expect(m, "/latest/meta-data/placement/", 200, "availability-zone\nregion");
    expect(m, "/latest/meta-data/public-keys/", 200, "0=mykey");
    expect(m, "/latest/meta-data/public-keys/0/", 200, "openssh-key");
    expect(m, "/latest/meta-data/public-keys/0/openssh-key", 200,
           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake mykey");
    expect(m, "/latest/meta-data/security-groups", 200, "default\nweb");
    expect(m, "/latest/meta-data/network/interfaces/macs/", 200, "52:54:00:12:34:56/");
    expect(m, "/latest/meta-data/network/interfaces/macs/52:54:00:12:34:56/security-group-ids",
           200, "sg-01111111111111111\nsg-02222222222222222");
    expect(m, "/latest/meta-data/network/interfaces/macs/52:54:00:12:34:56/vpc-id", 200,
           "vpc-0bbbbbbbbbbbbbbbb");
    expect(m, "/latest/meta-data", 200,
           "ami-id\nami-launch-index\nhostname\ninstance-action\ninstance-id\n"
           "instance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\n"
           "placement/\npublic-keys/\nsecurity-groups\nnetwork/");
    expect(m, "/latest/meta-data/?x=1", 200, NULL);
    expect(m, "/latest/", 200, "dynamic\nmeta-data\nuser-data");
    expect(m, "/latest/user-data", 200, "#!/bin/sh\necho hi\n");
    expect(m, "/latest/meta-data/nothing", 404, NULL);
    expect(m, "/latest/meta-data/instance-id/", 404, NULL);
    expect(m, "/2009-04-04/meta-data/instance-id", 200, "i-0aaaaaaaaaaaaaaaa");
    expect(m, "/2021-03-23/user-data", 200, "#!/bin/sh\necho hi\n");
    expect(m, "/2021-03-23", 200, "dynamic\nmeta-data\nuser-data");
    expect(m, "/", 200, "2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\nlatest");
    expect(m, "/1.0/meta-data/", 404, NULL);
    expect(m, "/2021-3-23/meta-data/", 404, NULL);
    gw_imds_free(m);
}

static void test_identity_and_unknown(void **state)
{
    gw_imds *m = world();
    json_object *o, *f;
    char *b;
    int st;

    (void)state;
    b = ask(m, "GET", "/latest/dynamic/instance-identity/document", A_IP, NULL, NULL, NULL,
            &st);
    assert_int_equal(st, 200);
    assert_non_null(o = json_tokener_parse(b));
    assert_true(json_object_object_get_ex(o, "instanceId", &f));
    assert_string_equal(json_object_get_string(f), "i-0aaaaaaaaaaaaaaaa");
    assert_true(json_object_object_get_ex(o, "accountId", &f));
    assert_string_equal(json_object_get_string(f), "123456789012");
    assert_true(json_object_object_get_ex(o, "pendingTime", &f));
    assert_string_equal(json_object_get_string(f), "2026-11-23T10:29:22Z");
    assert_true(json_object_object_get_ex(o, "privateIp", &f));
    assert_string_equal(json_object_get_string(f), "10.20.1.7");
    json_object_put(o);
    free(b);
    /* B has no lease: its MAC finds it, and it has no user-data (404). */
    b = ask(m, "GET", "/latest/meta-data/instance-id", "10.20.1.99", "52:54:00:AB:CD:EF", NULL,
            NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(b, "i-0bbbbbbbbbbbbbbbb");
    free(b);
    /* Its lease not seen yet: the address it speaks from is its address. */
    b = ask(m, "GET", "/latest/meta-data/local-hostname", "10.20.1.99", "52:54:00:ab:cd:ef",
            NULL, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(b, "ip-10-20-1-99.cloudgate.compute.internal");
    free(b);
    b = ask(m, "GET", "/latest/user-data", "10.20.1.99", "52:54:00:ab:cd:ef", NULL, NULL, &st);
    assert_int_equal(st, 404);
    free(b);
    /* A's MAC from another address: A has a known address, so no. */
    b = ask(m, "GET", "/latest/meta-data/instance-id", "10.20.1.98", "52:54:00:12:34:56", NULL,
            NULL, &st);
    assert_int_equal(st, 403);
    free(b);
    b = ask(m, "GET", "/latest/meta-data/", "10.9.9.9", NULL, NULL, NULL, &st);
    assert_int_equal(st, 403);
    free(b);
    gw_imds_free(m);
}

static void test_tokens(void **state)
{
    gw_imds *m = world();
    gw_imds_request rq = {.method = "PUT", .path = "/latest/api/token", .src_ip = A_IP,
                          .ttl = "60", .now = T0};
    gw_imds_reply r;
    char *tok, *b;
    int st, i;

    (void)state;
    for (i = 0; i < 6; i++) {
        static const char *const bad[] = {NULL, "", "0", "21601", "12x", "-5"};

        rq.ttl = bad[i];
        gw_imds_answer(m, &rq, &r);
        assert_int_equal(r.status, 400);
        gw_imds_reply_release(&r);
    }
    rq.ttl = "600";
    rq.forwarded = 1;
    gw_imds_answer(m, &rq, &r);
    assert_int_equal(r.status, 403);
    gw_imds_reply_release(&r);
    rq.forwarded = 0;
    gw_imds_answer(m, &rq, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.ttl, 600);
    assert_int_equal(r.hop_limit, 1);
    tok = r.body;
    assert_int_equal(strlen(tok), 44);
    /* Bound to A: B presenting it is refused. */
    b = ask(m, "GET", "/latest/meta-data/instance-id", "10.20.1.99", "52:54:00:ab:cd:ef", tok,
            NULL, &st);
    assert_int_equal(st, 401);
    free(b);
    b = ask(m, "GET", "/latest/meta-data/instance-id", A_IP, NULL, tok, NULL, &st);
    assert_int_equal(st, 200);
    free(b);
    b = ask(m, "GET", "/latest/meta-data/instance-id", A_IP, NULL, "forged", NULL, &st);
    assert_int_equal(st, 401);
    free(b);
    /* Expired: minted at T0 for 1 s, presented at T0 + 100 (ask()). */
    rq.ttl = "1";
    gw_imds_answer(m, &rq, &r);
    assert_int_equal(r.status, 200);
    b = ask(m, "GET", "/latest/meta-data/instance-id", A_IP, NULL, r.body, NULL, &st);
    assert_int_equal(st, 401);
    free(b);
    gw_imds_reply_release(&r);
    /* The cap: 8 live tokens in all; A alone may take them all here
     * (TOKENS_PER_INSTANCE is larger), then 503, and expiry frees them. */
    rq.ttl = "21600";
    for (i = 0; i < 10; i++) {
        gw_imds_answer(m, &rq, &r);
        assert_int_equal(r.status, i < 7 ? 200 : 503);
        gw_imds_reply_release(&r);
    }
    assert_int_equal(gw_imds_token_count(m), 8);
    rq.now = T0 + 21601;
    gw_imds_answer(m, &rq, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(gw_imds_token_count(m), 1);
    gw_imds_reply_release(&r);
    free(tok);
    gw_imds_free(m);
}

static void test_options(void **state)
{
    gw_imds *m = gw_imds_new("123456789012", "cloudgate", 8);
    gw_imds_instance *v = calloc(1, sizeof(*v));
    gw_imds_request rq = {.method = "PUT", .path = "/latest/api/token", .src_ip = A_IP,
                          .ttl = "300", .now = T0 + 50};
    gw_imds_reply r;
    char *b;
    int st;

    (void)state;
    make(v, "i-0aaaaaaaaaaaaaaaa", A_IP, "52:54:00:12:34:56");
    v->md.http_tokens = CG_MD_TOKENS_REQUIRED;
    v->md.hop_limit = 3;
    gw_imds_set_instances(m, v, 1);
    b = ask(m, "GET", "/latest/meta-data/", A_IP, NULL, NULL, NULL, &st);
    assert_int_equal(st, 401);
    free(b);
    gw_imds_answer(m, &rq, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.hop_limit, 3);
    b = ask(m, "GET", "/latest/meta-data/instance-id", A_IP, NULL, r.body, NULL, &st);
    assert_int_equal(st, 200);
    free(b);
    /* Disabled: nothing, not even with a token. */
    v = calloc(1, sizeof(*v));
    make(v, "i-0aaaaaaaaaaaaaaaa", A_IP, "52:54:00:12:34:56");
    v->md.http_endpoint = CG_MD_ENDPOINT_DISABLED;
    gw_imds_set_instances(m, v, 1);
    b = ask(m, "GET", "/latest/meta-data/instance-id", A_IP, NULL, r.body, NULL, &st);
    assert_int_equal(st, 403);
    free(b);
    gw_imds_reply_release(&r);
    /* An instance no longer served loses its tokens. */
    gw_imds_set_instances(m, NULL, 0);
    assert_int_equal(gw_imds_token_count(m), 0);
    gw_imds_free(m);
}

/* The record made from the driver's owns its group names (a shared name
 * would be read after the driver's list is released: ASan in CI), cut at
 * 255 characters as before; release frees them (LeakSanitizer). */
static void test_record_owns_group_names(void **state)
{
    cg_instance s;
    gw_imds_instance d;
    char long_name[300];
    int i;

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(long_name, 'g', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    snprintf(s.id, sizeof(s.id), "i-0aaaaaaaaaaaaaaaa");
    assert_int_equal(cg_instance_add_group(&s, "sg-01111111111111111", "default"), 0);
    assert_int_equal(cg_instance_add_group(&s, "sg-02222222222222222", long_name), 0);
    for (i = 0; i < CG_INSTANCE_GROUPS_MAX; i++)
        assert_int_equal(cg_instance_add_group(&s, "sg-03333333333333333", "more"), 0);
    assert_int_equal(gw_imds_instance_from(&d, &s), 0);
    assert_int_equal(d.n_groups, CG_INSTANCE_GROUPS_MAX);
    for (i = 0; i < CG_INSTANCE_GROUPS_MAX; i++)
        assert_ptr_not_equal(d.group_names[i], s.group_names[i]);
    cg_instance_release(&s);
    assert_string_equal(d.id, "i-0aaaaaaaaaaaaaaaa");
    assert_string_equal(d.group_ids[0], "sg-01111111111111111");
    assert_string_equal(d.group_names[0], "default");
    assert_int_equal(strlen(d.group_names[1]), 255);
    assert_int_equal(strspn(d.group_names[1], "g"), 255);
    assert_string_equal(d.group_names[4], "more");
    gw_imds_instance_release(&d);
    assert_int_equal(d.n_groups, 0);
    for (i = 0; i < CG_INSTANCE_GROUPS_MAX; i++)
        assert_null(d.group_names[i]);
}

static void test_hostile(void **state)
{
    static const char *const paths[] = {
        "latest/meta-data/", "/latest/../latest/meta-data/", "/latest/./meta-data",
        "/latest//meta-data/", "/latest/meta-data/%2e%2e/", "/latest/meta\x01-data",
        "/latest/meta-data/\xc3\xa9", "", NULL,
    };
    gw_imds *m = world();
    char big[2048];
    char *b;
    int st, i;

    (void)state;
    for (i = 0; i < (int)(sizeof(paths) / sizeof(paths[0])); i++) {
        b = ask(m, "GET", paths[i], A_IP, NULL, NULL, NULL, &st);
        assert_int_equal(st, 400);
        assert_non_null(b);
        free(b);
    }
    memset(big, 'a', sizeof(big) - 1);
    big[0] = '/';
    big[sizeof(big) - 1] = '\0';
    b = ask(m, "GET", big, A_IP, NULL, NULL, NULL, &st);
    assert_int_equal(st, 400);
    free(b);
    b = ask(m, "DELETE", "/latest/meta-data/", A_IP, NULL, NULL, NULL, &st);
    assert_int_equal(st, 405);
    free(b);
    b = ask(m, "PUT", "/latest/meta-data/", A_IP, NULL, NULL, "60", &st);
    assert_int_equal(st, 405);
    free(b);
    b = ask(m, "GET", "/latest/meta-data/", NULL, NULL, NULL, NULL, &st);
    assert_int_equal(st, 403);
    free(b);
    gw_imds_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_data_tree),
        cmocka_unit_test(test_identity_and_unknown),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_record_owns_group_names),
        cmocka_unit_test(test_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
