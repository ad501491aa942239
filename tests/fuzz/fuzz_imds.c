/* cloudgate fuzz target: the metadata service's request handling
 * (gateway/imds.c): path cleaning, listings, token headers.
 *
 * Input: newline-separated METHOD, PATH, TOKEN, TTL, FORWARDED ("1" or
 * not), SOURCE-IP.  One served instance (10.20.1.7) with a key and
 * user-data.  Checks: every answer has a known status and a NUL-terminated
 * body of its stated length; a 200 for a GET comes only from the known
 * address; a PUT answering 200 hands out a 44-character token, which then
 * reads the instance id from that address and is refused from another. */
#include "fuzz.h"
#include "gateway/imds.h"

static gw_imds *world(void)
{
    gw_imds *m = gw_imds_new("123456789012", "cloudgate", 4);
    gw_imds_instance *v = calloc(1, sizeof(*v));

    if (!m || !v) {
        free(v);
        gw_imds_free(m);
        return NULL;
    }
    snprintf(v->id, sizeof(v->id), "i-0aaaaaaaaaaaaaaaa");
    snprintf(v->image_id, sizeof(v->image_id), "ami-0a1b2c3d4e5f60718");
    snprintf(v->instance_type, sizeof(v->instance_type), "t2.micro");
    snprintf(v->zone, sizeof(v->zone), "cloudgate-a");
    snprintf(v->private_ip, sizeof(v->private_ip), "10.20.1.7");
    snprintf(v->mac, sizeof(v->mac), "52:54:00:12:34:56");
    v->key_name = strdup("k");
    v->public_key = strdup("ssh-ed25519 AAAA k");
    v->user_data = (unsigned char *)strdup("#!/bin/sh\n");
    v->user_data_len = v->user_data ? 10 : 0;
    v->md = (cg_metadata_options){CG_MD_TOKENS_OPTIONAL, CG_MD_ENDPOINT_ENABLED, 1};
    gw_imds_set_instances(m, v, 1);
    return m;
}

static void check_reply(const gw_imds_reply *r)
{
    FZ_CHECK(r->status == 200 || r->status == 400 || r->status == 401 || r->status == 403 ||
             r->status == 404 || r->status == 405 || r->status == 503 || r->status == 500);
    if (r->status != 500) {
        FZ_CHECK(r->body != NULL);
        FZ_CHECK(r->body[r->len] == '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[6];
    size_t len[6];
    gw_imds *m;
    gw_imds_request rq;
    gw_imds_reply r, r2;

    if (fz_split(data, size, 6, f, len) < 0)
        return 0;
    if (!(m = world()))
        goto cleanup;
    rq = (gw_imds_request){.method = f[0], .path = f[1], .token = len[2] ? f[2] : NULL,
                           .ttl = len[3] ? f[3] : NULL, .forwarded = strcmp(f[4], "1") == 0,
                           .src_ip = f[5], .now = 1000};
    gw_imds_answer(m, &rq, &r);
    check_reply(&r);
    if (r.status == 200 && strcmp(f[0], "GET") == 0)
        FZ_CHECK(strcmp(f[5], "10.20.1.7") == 0);
    if (r.status == 200 && strcmp(f[0], "PUT") == 0) {
        FZ_CHECK(r.len == 44 && strcmp(f[5], "10.20.1.7") == 0);
        rq = (gw_imds_request){.method = "GET", .path = "/latest/meta-data/instance-id",
                               .token = r.body, .src_ip = "10.20.1.7", .now = 1000};
        gw_imds_answer(m, &rq, &r2);
        FZ_CHECK(r2.status == 200 && strcmp(r2.body, "i-0aaaaaaaaaaaaaaaa") == 0);
        gw_imds_reply_release(&r2);
        rq.src_ip = "10.20.1.8";
        gw_imds_answer(m, &rq, &r2);
        FZ_CHECK(r2.status == 403);
        gw_imds_reply_release(&r2);
    }
    gw_imds_reply_release(&r);
    gw_imds_free(m);

cleanup:
    for (size_t i = 0; i < 6; i++)
        free(f[i]);
    return 0;
}
