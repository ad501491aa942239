/* cloudgate tests: the request harness shared by the EC2 action tests
 * (test_ec2_actions.c, test_ec2_keypair_actions.c).  Test-only.
 *
 * setup() gives each test a fresh fake driver (ec2_fake_driver.h) with two
 * images and a fresh key-pair store in a temporary state directory; act()
 * and friends run form-encoded requests through ec2_execute() (after the
 * signature check) and read the answer with XPath (prefix "e" = EC2's
 * namespace).
 */
#ifndef EC2_TEST_HARNESS_H
#define EC2_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "ec2_fake_driver.h"
#include "engine/instance_ops.h"
#include "frontends/ec2/ec2.h"
#include "frontends/ec2/ec2_internal.h"
#include "gateway/keypairs.h"
#include "gateway/util.h"

/* Not every test program uses every helper. */
#define HARNESS static __attribute__((unused))

#define AMI "ami-0a1b2c3d4e5f60718"
#define AMI_PENDING "ami-12345678"
#define HOST "127.0.0.1:8773"

static cg_zone_config zones[] = {{"cloudgate-a", "test:///default"},
                                 {"cloudgate-b", "test:///default"}};
static cg_instance_type types[] = {{"t2.nano", 1, 512},   {"t2.micro", 1, 1024},
                                   {"t2.small", 1, 2048}, {"t2.medium", 2, 4096},
                                   {"t2.large", 2, 8192}, {"m1.small", 1, 2048}};
static gw_credential cred = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG"};
static gw_credentials creds = {&cred, 1};
static cg_config cfg;
static gw_ctx ctx;
static cg_drv *drv;
static char state_dir[64];

HARNESS int setup(void **state)
{
    cg_error err = {0};

    memset(&cfg, 0, sizeof(cfg));
    cfg.region = "cloudgate";
    cfg.account_id = "123456789012";
    cfg.listen_addr = "127.0.0.1";
    cfg.listen_port = 8773;
    cfg.zones = zones;
    cfg.n_zones = 2;
    cfg.types = types;
    cfg.n_types = 6;
    /* The default (cg_config_defaults): state changes answer when done.
     * Zero would answer at once, with the change still running. */
    cfg.change_wait_sec = 20;
    snprintf(state_dir, sizeof(state_dir), "/tmp/cg-ec2-XXXXXX");
    assert_non_null(mkdtemp(state_dir));
    cfg.state_dir = state_dir;
    drv = fake_open(&cfg, &err);
    assert_non_null(drv);
    fake_add_image(drv, AMI, "debian-12", "available");
    fake_add_image(drv, AMI_PENDING, "cirros", "pending");
    ctx.cfg = &cfg;
    ctx.creds = &creds;
    ctx.driver = &fake_driver;
    ctx.drv = drv;
    ctx.keys = cg_keystore_open(&cfg, &err);
    if (!ctx.keys)
        fail_msg("key store: %s", err.message);
    return 0;
}

HARNESS int teardown(void **state)
{
    char path[128];

    /* Changes that outlived their answer use the driver (none with the
     * default change_wait; bounded all the same). */
    assert_int_equal(cg_instance_ops_drain(20), 0);
    fake_close(drv);
    drv = NULL;
    cg_keystore_close(ctx.keys);
    ctx.keys = NULL;
    /* cloudgate.db and its WAL files, then the directory. */
    snprintf(path, sizeof(path), "%s/cloudgate.db", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/cloudgate.db-wal", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/cloudgate.db-shm", state_dir);
    unlink(path);
    rmdir(state_dir);
    return 0;
}

/* ---- requests ----------------------------------------------------------- */

HARNESS void request_init(gw_request *req, const char *method, char *body)
{
    static gw_header hdrs[4];

    memset(req, 0, sizeof(*req));
    snprintf(req->request_id, sizeof(req->request_id), "req-0001");
    snprintf(req->method, sizeof(req->method), "%s", method);
    req->path = "/";
    req->query = "";
    req->body = body;
    req->body_len = strlen(body);
    hdrs[0].name = "Host";
    hdrs[0].value = HOST;
    hdrs[1].name = "Content-Type";
    hdrs[1].value = "application/x-www-form-urlencoded; charset=utf-8";
    req->headers = hdrs;
    req->n_headers = 2;
}

/* Run one form-encoded request after authentication.  Returns the response
 * (free with done()). */
HARNESS gw_response *act(const char *fmt, ...)
{
    gw_response *resp = calloc(1, sizeof(*resp));
    gw_params params = {0};
    gw_request req;
    char body[70000];
    va_list ap;

    assert_non_null(resp);
    va_start(ap, fmt);
    assert_true(vsnprintf(body, sizeof(body), fmt, ap) < (int)sizeof(body));
    va_end(ap);
    request_init(&req, "POST", body);
    assert_int_equal(gw_params_parse(&params, body, strlen(body)), 0);
    ec2_execute(&ctx, &req, &params, resp);
    gw_params_release(&params);
    /* A listing answers in pieces; the checks read one body. */
    assert_int_equal(gw_response_flatten(resp), 0);
    assert_non_null(resp->body);
    return resp;
}

HARNESS void done(gw_response *resp)
{
    gw_response_release(resp);
    free(resp);
}

HARNESS char *xp(const gw_response *resp, const char *expr)
{
    xmlDocPtr d = xmlReadMemory(resp->body, (int)resp->body_len, "r.xml", NULL, XML_PARSE_NONET);
    xmlXPathContextPtr x;
    xmlXPathObjectPtr o;
    xmlChar *s;
    char *out;

    if (!d)
        fail_msg("response is not XML:\n%s", resp->body);
    x = xmlXPathNewContext(d);
    xmlXPathRegisterNs(x, BAD_CAST "e", BAD_CAST EC2_XMLNS);
    o = xmlXPathEvalExpression(BAD_CAST expr, x);
    assert_non_null(o);
    s = xmlXPathCastToString(o);
    out = strdup((char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    xmlFreeDoc(d);
    return out;
}

HARNESS void expect_xp(const gw_response *resp, const char *expr, const char *want)
{
    char *got = xp(resp, expr);

    if (strcmp(got, want) != 0)
        fail_msg("%s = '%s', want '%s' in:\n%s", expr, got, want, resp->body);
    free(got);
}

/* Run a request expecting an AWS error; returns its message (freed by
 * the next call). */
HARNESS const char *expect_error(int status, const char *code, const char *fmt, ...)
{
    static char msg[600];
    gw_response *resp;
    char body[70000];
    char *m;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    resp = act("%s", body);
    if (resp->status != status || strcmp(resp->error_code, code) != 0)
        fail_msg("%.200s: got %d %s, want %d %s\n%s", body, resp->status, resp->error_code, status,
                 code, resp->body);
    expect_xp(resp, "/Response/Errors/Error/Code", code);
    expect_xp(resp, "/Response/RequestID", "req-0001");
    m = xp(resp, "/Response/Errors/Error/Message");
    snprintf(msg, sizeof(msg), "%s", m);
    free(m);
    done(resp);
    return msg;
}

HARNESS gw_response *expect_ok(const char *fmt, ...)
{
    gw_response *resp;
    char body[70000];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    resp = act("%s", body);
    if (resp->status != 200)
        fail_msg("%.200s: got %d\n%s", body, resp->status, resp->body);
    expect_xp(resp, "/*/e:requestId", "req-0001");
    return resp;
}

/* Launch count instances and return the id of the first one launched. */
HARNESS void launch(unsigned count, const char *extra, char first_id[24])
{
    gw_response *r = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=%u&MaxCount=%u%s",
                               count, count, extra ? extra : "");
    char *id = xp(r, "//e:instancesSet/e:item[1]/e:instanceId");

    if (first_id)
        snprintf(first_id, 24, "%s", id);
    free(id);
    done(r);
}
#endif
