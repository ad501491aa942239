/* Unit tests: the pure parts of the Glance client (gateway/glance_parse.c)
 * and the [glance NAME] configuration sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/config.h"
#include "gateway/glance.h"
#include "gateway/glance_store.h"

typedef struct seen {
    int n;
    char ids[4][40];
    long long sizes[4];
    char formats[4][16];
    int stop_after;
} seen;

static int collect(const cg_glance_image *im, void *arg)
{
    seen *s = arg;

    if (s->n < 4) {
        snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", im->id);
        snprintf(s->formats[s->n], sizeof(s->formats[0]), "%s",
                 im->disk_format ? im->disk_format : "(null)");
        s->sizes[s->n] = im->size;
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

static const char page[] =
    "{\"images\": [{\"id\": \"a1\", \"name\": \"cirros\", \"status\": \"active\","
    " \"disk_format\": \"qcow2\", \"container_format\": \"bare\", \"size\": 1234,"
    " \"checksum\": \"abc\", \"os_hash_algo\": \"sha512\", \"os_hash_value\": \"def\"},"
    " {\"id\": \"b2\", \"name\": null, \"status\": \"queued\", \"disk_format\": null,"
    " \"size\": null}],"
    " \"first\": \"/v2/images?limit=2\", \"schema\": \"/v2/schemas/images\","
    " \"next\": \"/v2/images?limit=2&marker=b2\"}";

static void test_parse_images(void **state)
{
    seen s = {0};
    char *next = NULL;
    cg_error err = {0};

    assert_int_equal(cg_glance_parse_images(page, strlen(page), collect, &s, &next, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "a1");
    assert_string_equal(s.formats[0], "qcow2");
    assert_int_equal(s.sizes[0], 1234);
    assert_string_equal(s.formats[1], "(null)");
    assert_int_equal(s.sizes[1], -1);   /* null size: unknown, not 0 */
    assert_string_equal(next, "/v2/images?limit=2&marker=b2");
    free(next);
}

static void test_parse_images_last_page_and_stop(void **state)
{
    static const char last[] = "{\"images\": [], \"first\": \"/v2/images\"}";
    seen s = {.stop_after = 1};
    char *next = (char *)1;
    cg_error err = {0};

    assert_int_equal(cg_glance_parse_images(last, strlen(last), collect, &s, &next, &err), 0);
    assert_null(next);
    assert_int_equal(s.n, 0);
    /* A callback that stops drops the next link: no further page. */
    assert_int_equal(cg_glance_parse_images(page, strlen(page), collect, &s, &next, &err), 0);
    assert_int_equal(s.n, 1);
    assert_null(next);
}

static void test_parse_images_bad(void **state)
{
    static const char *bad[] = {
        "", "[]", "{\"images\": 3}", "{\"images\": [{\"name\": \"no id\"}]}",
        "{\"images\": [1]}", "<html>404</html>", "{\"images\": [] ",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        seen s = {0};
        char *next = NULL;
        cg_error err = {0};

        assert_int_equal(cg_glance_parse_images(bad[i], strlen(bad[i]), collect, &s, &next,
                                                &err), -1);
        assert_null(next);
        assert_true(err.message[0] != '\0');
    }
}

static void test_parse_time(void **state)
{
    time_t t;

    assert_int_equal(cg_glance_parse_time("2026-12-03T04:01:14.000000Z", &t), 0);
    assert_int_equal(t, 1796270474);
    assert_int_equal(cg_glance_parse_time("1970-01-01T00:01:00Z", &t), 0);
    assert_int_equal(t, 60);
    assert_int_equal(cg_glance_parse_time("2026-12-03T04:01:14+00:00", &t), 0);
    assert_int_equal(cg_glance_parse_time("2026-12-03 04:01:14", &t), -1);
    assert_int_equal(cg_glance_parse_time("2026-12-03T04:01:14.Z", &t), -1);
    assert_int_equal(cg_glance_parse_time("2026-12-03T04:01:14+02:00", &t), -1);
    assert_int_equal(cg_glance_parse_time(NULL, &t), -1);
}

static void test_parse_token(void **state)
{
    static const char body[] =
        "{\"token\": {\"methods\": [\"password\"], \"expires_at\": \"1970-01-01T01:00:30.000000Z\","
        " \"issued_at\": \"1970-01-01T00:00:30.000000Z\", \"catalog\": []}}";
    static const char noexp[] = "{\"token\": {\"issued_at\": \"1970-01-01T00:00:30Z\"}}";
    time_t issued, expires;
    cg_error err = {0};

    assert_int_equal(cg_glance_parse_token(body, strlen(body), &issued, &expires, &err), 0);
    assert_int_equal(issued, 30);
    assert_int_equal(expires, 3630);
    assert_int_equal(cg_glance_parse_token(noexp, strlen(noexp), &issued, &expires, &err), -1);
    assert_non_null(strstr(err.message, "expires_at"));
}

static void test_token_stale(void **state)
{
    /* An hour-long token: renewed only in its last minute. */
    assert_false(cg_glance_token_stale(1000, 0, 3600));
    assert_false(cg_glance_token_stale(3540, 0, 3600));
    assert_true(cg_glance_token_stale(3541, 0, 3600));
    assert_true(cg_glance_token_stale(4000, 0, 3600));
    /* A 30 s token: usable for 20 s, not renewed on every call. */
    assert_false(cg_glance_token_stale(10, 0, 30));
    assert_false(cg_glance_token_stale(20, 0, 30));
    assert_true(cg_glance_token_stale(21, 0, 30));
}

static void test_resolve_next(void **state)
{
    cg_error err = {0};
    char *u;

    u = cg_glance_resolve_next("http://127.0.0.1:9292", "/v2/images?limit=1&marker=x", &err);
    assert_string_equal(u, "http://127.0.0.1:9292/v2/images?limit=1&marker=x");
    free(u);
    /* A path prefix (Glance behind a proxy at /image) is kept. */
    u = cg_glance_resolve_next("https://cloud.example:443/image/", "/v2/images?marker=y", &err);
    assert_string_equal(u, "https://cloud.example:443/image/v2/images?marker=y");
    free(u);
    u = cg_glance_resolve_next("https://h:9293", "https://h:9293/v2/images?marker=z", &err);
    assert_string_equal(u, "https://h:9293/v2/images?marker=z");
    free(u);
    /* The token must not go to another server, scheme or port. */
    assert_null(cg_glance_resolve_next("https://h:9293", "https://evil:9293/v2/images", &err));
    assert_non_null(strstr(err.message, "another server"));
    cg_error_clear(&err);
    assert_null(cg_glance_resolve_next("https://h:9293", "http://h:9293/v2/images", &err));
    cg_error_clear(&err);
    assert_null(cg_glance_resolve_next("https://h:9293", "https://h:9294/v2/x", &err));
    cg_error_clear(&err);
    assert_null(cg_glance_resolve_next("https://h:9293", "//evil/v2/images", &err));
    cg_error_clear(&err);
    assert_null(cg_glance_resolve_next("https://h:9293", "/v2/images\r\nX: y", &err));
}

/* sha512("abc") and md5("abc"), from FIPS 180-2 and RFC 1321. */
#define SHA512_ABC \
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"

static int verify_text(cg_glance_image *im, const char *data, const char *algo, cg_error *err)
{
    cg_glance_verify *v = cg_glance_verify_new(im, err);
    int rc;

    assert_non_null(v);
    assert_string_equal(cg_glance_verify_algo(v), algo);
    /* In two pieces: the digest streams. */
    cg_glance_verify_update(v, data, 1);
    cg_glance_verify_update(v, data + 1, strlen(data) - 1);
    rc = cg_glance_verify_finish(v, err);
    cg_glance_verify_free(v);
    return rc;
}

static void test_verify(void **state)
{
    cg_glance_image im = {.size = 3, .checksum = MD5_ABC, .os_hash_algo = "sha512",
                          .os_hash_value = SHA512_ABC};
    cg_error err = {0};

    assert_int_equal(verify_text(&im, "abc", "sha512", &err), 0);
    assert_int_equal(verify_text(&im, "abd", "sha512", &err), -1);
    assert_non_null(strstr(err.message, "checksum mismatch"));
    cg_error_clear(&err);
    assert_int_equal(verify_text(&im, "abcd", "sha512", &err), -1);
    assert_non_null(strstr(err.message, "size mismatch"));
    cg_error_clear(&err);
    /* An algorithm OpenSSL does not know: the md5 checksum instead. */
    im.os_hash_algo = "nohash";
    assert_int_equal(verify_text(&im, "abc", "md5", &err), 0);
    assert_int_equal(verify_text(&im, "abx", "md5", &err), -1);
    cg_error_clear(&err);
    /* Upper-case hex is the same digest. */
    im.checksum = "900150983CD24FB0D6963F7D28E17F72";
    assert_int_equal(verify_text(&im, "abc", "md5", &err), 0);
    /* Nothing to check against but the size. */
    im.checksum = NULL;
    im.size = -1;
    assert_int_equal(verify_text(&im, "anything", "none", &err), 0);
}

static int load_text(cg_config *cfg, const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/cg-glance-conf-XXXXXX";
    int fd = mkstemp(path), rc;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    assert_int_equal(cg_config_defaults(cfg), 0);
    rc = cg_config_load(cfg, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_config_sections(void **state)
{
    cg_glance_provider_list gl = {0};
    cg_error e = {0};
    cg_config cfg;
    char err[512] = "";

    assert_int_equal(load_text(&cfg,
                               "[glance open]\nurl = http://127.0.0.1:9292\n"
                               "[glance secure]\nurl = https://glance.example:9293/\n"
                               "keystone_url = http://127.0.0.1:5000/v3\nuser = cg\n"
                               "password_file = /etc/cloudgate/glance.pw\nproject = images\n"
                               "ca_file = /etc/cloudgate/ca.crt\n",
                               err, sizeof(err)),
                     0);
    assert_int_equal(cg_glance_providers(NULL, &cfg, &gl, &e), 0);
    assert_int_equal(gl.n, 2);
    assert_string_equal(gl.v[0].name, "open");
    assert_null(gl.v[0].keystone_url);
    assert_string_equal(gl.v[1].user, "cg");
    assert_string_equal(gl.v[1].ca_file, "/etc/cloudgate/ca.crt");
    assert_null(gl.v[1].domain);   /* "Default" when used */
    assert_int_equal(gl.v[1].origin, CG_GLANCE_FROM_CONFIG);
    cg_glance_provider_list_release(&gl);
    cg_config_release(&cfg);
}

static void test_config_errors(void **state)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"[glance g]\nurl = ftp://x/\n", "not an http"},
        {"[glance g]\nurl = http://\n", "not an http"},
        {"[glance g]\nkeystone_url = http://k:5000\n", "url must be"},
        {"[glance g]\nurl = http://x\npassword_file = /p\n", "need user"},
        {"[glance g]\nurl = http://x\nuser = u\n", "user needs keystone_url"},
        {"[glance g]\nurl = http://x\nkeystone_url = http://k\n", "keystone_url needs user"},
        {"[glance g]\nurl = http://x\ncolour = blue\n", "unknown key in [glance]"},
        {"[glance g]\nurl = http://x\n[glance g]\nurl = http://y\n", "defined twice"},
        {"[glance]\nurl = http://x\n", "unknown section"},
        {"[glance a/b]\nurl = http://x\n", "unknown section"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cg_config cfg;
        char err[512] = "";

        assert_int_equal(load_text(&cfg, cases[i].text, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].expect);
        cg_config_release(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_images),
        cmocka_unit_test(test_parse_images_last_page_and_stop),
        cmocka_unit_test(test_parse_images_bad),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_token),
        cmocka_unit_test(test_token_stale),
        cmocka_unit_test(test_resolve_next),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_config_sections),
        cmocka_unit_test(test_config_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
