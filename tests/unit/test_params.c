/* cloudgate: unit tests for gateway/params.c (form decoding, EC2 lists,
 * RFC 3986 encoding) and the small helpers of gateway/request.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/params.h"
#include "gateway/request.h"

static int parse(gw_params *p, const char *s)
{
    return gw_params_parse(p, s, strlen(s));
}

static void test_plus_and_escapes(void **state)
{
    gw_params p = {0};

    assert_int_equal(parse(&p, "Tag.1.Value=x+y&Dev=%2Fdev%2Fvdb&U=aGk%3D&Lower=%c3%a9"), 0);
    assert_int_equal(p.n, 4);
    assert_string_equal(gw_params_get(&p, "Tag.1.Value"), "x y");
    assert_string_equal(gw_params_get(&p, "Dev"), "/dev/vdb");
    assert_string_equal(gw_params_get(&p, "U"), "aGk=");
    assert_string_equal(gw_params_get(&p, "Lower"), "\xc3\xa9");
    /* Names are decoded too, and order is kept. */
    assert_int_equal(parse(&p, "Filter.1.Name=tag%3AName&a%2Bb=%2B"), 0);
    assert_int_equal(p.n, 6);
    assert_string_equal(p.v[4].name, "Filter.1.Name");
    assert_string_equal(p.v[4].value, "tag:Name");
    assert_string_equal(gw_params_get(&p, "a+b"), "+");
    gw_params_release(&p);
    assert_null(p.v);
    assert_int_equal(p.n, 0);
}

static void test_malformed_escape_fails_and_rolls_back(void **state)
{
    gw_params p = {0};

    assert_int_equal(parse(&p, "Action=RunInstances"), 0);
    assert_int_equal(parse(&p, "A=1&B=%G1"), -1);
    assert_int_equal(parse(&p, "A=1&B=%4"), -1);
    assert_int_equal(parse(&p, "A=%"), -1);
    assert_int_equal(parse(&p, "%zz=1"), -1);
    /* An encoded NUL would truncate the C string silently. */
    assert_int_equal(parse(&p, "A=x%00y"), -1);
    /* Nothing of the failed calls was kept. */
    assert_int_equal(p.n, 1);
    assert_null(gw_params_get(&p, "A"));
    assert_string_equal(gw_params_get(&p, "Action"), "RunInstances");
    gw_params_release(&p);
}

static void test_empty_values_and_bare_names(void **state)
{
    gw_params p = {0};

    assert_int_equal(parse(&p, "Tag.1.Value=&a&&b=1&=orphan&"), 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(gw_params_get(&p, "Tag.1.Value"), "");
    assert_string_equal(gw_params_get(&p, "a"), "");
    assert_string_equal(gw_params_get(&p, "b"), "1");
    assert_null(gw_params_get(&p, ""));
    assert_null(gw_params_get(&p, "c"));
    /* The empty string and len 0 parse to nothing. */
    assert_int_equal(gw_params_parse(&p, "", 0), 0);
    assert_int_equal(gw_params_parse(&p, NULL, 0), 0);
    assert_int_equal(p.n, 3);
    /* len is honoured: the bytes after it are not read. */
    assert_int_equal(gw_params_parse(&p, "x=12345", 4), 0);
    assert_string_equal(gw_params_get(&p, "x"), "12");
    gw_params_release(&p);
}

static void test_first_value_wins(void **state)
{
    gw_params p = {0};

    assert_int_equal(parse(&p, "Action=DescribeInstances"), 0);
    assert_int_equal(parse(&p, "Action=TerminateInstances&Version=2016-11-15"), 0);
    assert_string_equal(gw_params_get(&p, "Action"), "DescribeInstances");
    assert_string_equal(gw_params_get(&p, "Version"), "2016-11-15");
    gw_params_release(&p);
}

static void test_list_len(void **state)
{
    gw_params p = {0};

    assert_int_equal(parse(&p, "InstanceId.1=i-a&InstanceId.2=i-b&InstanceId.4=i-d"
                               "&Filter.1.Name=x&Filter.1.Value.1=y&Filter.2.Name=z"
                               "&Filter.3=bare&Filter.03.Name=lead&Filter.x.Name=nan"
                               "&Tag.2.Key=k&InstanceIdx.3=no"),
                     0);
    /* Stops at the gap: .4 is not counted. */
    assert_int_equal(gw_params_list_len(&p, "InstanceId"), 2);
    /* Nested members count the element; leading zeros name nothing. */
    assert_int_equal(gw_params_list_len(&p, "Filter"), 3);
    assert_int_equal(gw_params_list_len(&p, "Filter.1.Value"), 1);
    assert_int_equal(gw_params_list_len(&p, "Filter.2.Value"), 0);
    /* Lists start at 1. */
    assert_int_equal(gw_params_list_len(&p, "Tag"), 0);
    assert_int_equal(gw_params_list_len(&p, "Nothing"), 0);
    assert_int_equal(gw_params_list_len(NULL, "Filter"), 0);
    gw_params_release(&p);

    /* "Id.02" and "Id.2x" are not element 2; a huge index is no element. */
    assert_int_equal(parse(&p, "Id.1=a&Id.02=b&Id.2x=c&Id.3=d&Id.99999999999999999999999=e"), 0);
    assert_int_equal(gw_params_list_len(&p, "Id"), 1);
    assert_int_equal(parse(&p, "Id.2.Key=k"), 0);
    assert_int_equal(gw_params_list_len(&p, "Id"), 3);
    gw_params_release(&p);
}

static void test_getf(void **state)
{
    gw_params p = {0};
    char longname[400];

    assert_int_equal(parse(&p, "Filter.1.Name=tag%3AName&Filter.1.Value.2=b&"
                               "Filter.12.Name=owner"),
                     0);
    assert_string_equal(gw_params_getf(&p, "Filter.%d.Name", 1), "tag:Name");
    assert_string_equal(gw_params_getf(&p, "Filter.%d.Value.%zu", 1, (size_t)2), "b");
    assert_string_equal(gw_params_getf(&p, "%s.%d.Name", "Filter", 12), "owner");
    assert_null(gw_params_getf(&p, "Filter.%d.Name", 2));
    /* Names longer than the internal buffer still work. */
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(gw_params_parse(&p, longname, strlen(longname)), 0);
    assert_string_equal(gw_params_getf(&p, "%s", longname), "");
    assert_null(gw_params_getf(&p, "%sx", longname));
    gw_params_release(&p);
    gw_params_release(NULL);
}

static void test_uri_encode(void **state)
{
    char *e;

    e = gw_uri_encode("a b+c/d~e_f.g-h%\xc3\xa9", 18, 0);
    assert_string_equal(e, "a%20b%2Bc%2Fd~e_f.g-h%25%C3%A9");
    free(e);
    e = gw_uri_encode("/a b/c", 6, 1);
    assert_string_equal(e, "/a%20b/c");
    free(e);
    e = gw_uri_encode("a\0b", 3, 0);
    assert_string_equal(e, "a%00b");
    free(e);
    e = gw_uri_encode("", 0, 0);
    assert_string_equal(e, "");
    free(e);
}

static void test_uri_decode(void **state)
{
    size_t n = 99;
    char *d;

    d = gw_uri_decode("a+b%2B%2f%C3%A9", 15, 1, &n);
    assert_string_equal(d, "a b+/\xc3\xa9");
    assert_int_equal(n, 7);
    free(d);
    d = gw_uri_decode("a+b", 3, 0, NULL);
    assert_string_equal(d, "a+b");
    free(d);
    /* Embedded NUL: the length tells. */
    d = gw_uri_decode("x%00y", 5, 0, &n);
    assert_non_null(d);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "x\0y", 3);
    free(d);
    assert_null(gw_uri_decode("%G1", 3, 1, NULL));
    assert_null(gw_uri_decode("ab%4", 4, 1, NULL));
    assert_null(gw_uri_decode("ab%", 3, 1, NULL));
    /* len bounds the read: "%41" cut to "%4" is malformed. */
    assert_null(gw_uri_decode("%41", 2, 1, NULL));
    /* Round trip of every byte. */
    {
        char all[256], *enc, *dec;
        int i;

        for (i = 0; i < 256; i++)
            all[i] = (char)i;
        enc = gw_uri_encode(all, 256, 0);
        assert_non_null(enc);
        dec = gw_uri_decode(enc, strlen(enc), 0, &n);
        assert_int_equal(n, 256);
        assert_memory_equal(dec, all, 256);
        free(enc);
        free(dec);
    }
}

/* The cap on pairs is applied before anything is allocated: a 1 MB body of
 * "a&a&a..." cost ~40 MB per request before it was checked. */
static void test_max_pairs(void **state)
{
    gw_params p = {.max = 3};
    size_t n = 1 << 20;
    char *big = malloc(n + 1);

    assert_int_equal(gw_params_parse(&p, "a=1&&b=2&", 9), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(gw_params_parse(&p, "c=3&d=4", 7), GW_PARAMS_TOO_MANY);
    assert_int_equal(p.n, 2); /* untouched */
    assert_int_equal(gw_params_parse(&p, "&&&c=3&&", 8), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(gw_params_parse(&p, "&&&&", 4), 0); /* nothing to add */
    gw_params_release(&p);

    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (i & 1) ? '&' : 'a';
    big[n] = '\0';
    p.max = 1000;
    assert_int_equal(gw_params_parse(&p, big, n), GW_PARAMS_TOO_MANY);
    assert_int_equal(p.n, 0);
    assert_null(p.v);
    free(big);
}

static void test_request_helpers(void **state)
{
    gw_request *req = calloc(1, sizeof(*req));
    gw_response resp;

    assert_non_null(req);
    req->headers = calloc(2, sizeof(gw_header));
    req->n_headers = 2;
    req->headers[0].name = strdup("X-Amz-Date");
    req->headers[0].value = strdup("20261122T102922Z");
    req->headers[1].name = strdup("host");
    req->headers[1].value = strdup("127.0.0.1:8773");
    req->path = strdup("/");
    req->query = strdup("");
    req->body = strdup("Action=x");
    req->body_len = 8;
    assert_string_equal(gw_request_header(req, "x-amz-date"), "20261122T102922Z");
    assert_string_equal(gw_request_header(req, "HOST"), "127.0.0.1:8773");
    assert_null(gw_request_header(req, "Authorization"));
    assert_null(gw_request_header(NULL, "Host"));
    gw_request_free(req);
    gw_request_free(NULL);

    memset(&resp, 0, sizeof(resp));
    gw_response_set_body(&resp, 200, "text/xml", strdup("<a/>"), 4);
    gw_response_set_body(&resp, 400, "text/xml", strdup("<Response/>"), 11);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp.body, "<Response/>");
    assert_int_equal(resp.body_len, 11);
    assert_int_equal(gw_response_add_header(&resp, "Retry-After", "1"), 0);
    assert_int_equal(gw_response_add_header(&resp, "X-A", "b"), 0);
    assert_int_equal(gw_response_add_header(&resp, "X-Bad", "a\r\nSet-Cookie: x"), -1);
    assert_int_equal(gw_response_add_header(&resp, "X:Bad", "a"), -1);
    assert_int_equal(resp.n_headers, 2);
    assert_string_equal(resp.headers[1].name, "X-A");
    assert_string_equal(resp.headers[1].value, "b");
    gw_response_release(&resp);
    assert_null(resp.body);
    assert_int_equal(resp.n_headers, 0);
    gw_response_release(&resp);
    gw_response_release(NULL);
}

static int unrefs;

static void count_unref(const void *data, size_t len, void *owner)
{
    (void)data;
    (void)len;
    unrefs++;
    free(owner);
}

/* A body in pieces: joined in order, each piece released exactly once,
 * whether flattened, replaced by an error body or released unsent. */
static void test_response_pieces(void **state)
{
    gw_response resp = {0};
    gw_piece *pcs;
    char *a = strdup("<a>"), *b = strdup("</a>");

    (void)state;
    assert_non_null(pcs = calloc(3, sizeof(*pcs)));
    pcs[0] = (gw_piece){a, 3, count_unref, a};
    pcs[1] = (gw_piece){"x", 1, NULL, NULL};
    pcs[2] = (gw_piece){b, 4, count_unref, b};
    unrefs = 0;
    gw_response_set_pieces(&resp, 200, "text/xml", pcs, 3);
    assert_int_equal(resp.body_len, 8);
    assert_null(resp.body);
    assert_int_equal(gw_response_flatten(&resp), 0);
    assert_int_equal(unrefs, 2);
    assert_null(resp.pieces);
    assert_string_equal(resp.body, "<a>x</a>");
    assert_int_equal(resp.body_len, 8);
    gw_response_release(&resp);

    a = strdup("<a>");
    assert_non_null(pcs = calloc(1, sizeof(*pcs)));
    pcs[0] = (gw_piece){a, 3, count_unref, a};
    gw_response_set_pieces(&resp, 200, "text/xml", pcs, 1);
    gw_response_set_body(&resp, 500, "text/xml", strdup("<E/>"), 4);
    assert_int_equal(unrefs, 3);
    assert_int_equal(resp.n_pieces, 0);
    assert_string_equal(resp.body, "<E/>");
    gw_response_release(&resp);

    a = strdup("<a>");
    assert_non_null(pcs = calloc(1, sizeof(*pcs)));
    pcs[0] = (gw_piece){a, 3, count_unref, a};
    gw_response_set_pieces(&resp, 200, "text/xml", pcs, 1);
    gw_response_release(&resp);
    assert_int_equal(unrefs, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plus_and_escapes),
        cmocka_unit_test(test_malformed_escape_fails_and_rolls_back),
        cmocka_unit_test(test_empty_values_and_bare_names),
        cmocka_unit_test(test_first_value_wins),
        cmocka_unit_test(test_list_len),
        cmocka_unit_test(test_getf),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_uri_decode),
        cmocka_unit_test(test_request_helpers),
        cmocka_unit_test(test_response_pieces),
        cmocka_unit_test(test_max_pairs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
