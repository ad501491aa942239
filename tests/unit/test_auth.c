/* cloudgate: unit tests for gateway/auth.c.
 *
 * The positive cases are requests signed by botocore itself (SigV4Auth,
 * SigV4QueryAuth, SigV2Auth) and libcloud-style SigV2, read from
 * $CG_TOP_SRCDIR/tests/unit/data/sig_vectors.txt (see gen_sig_vectors.py).
 * Every negative case starts from such a valid request and changes one thing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/auth.h"
#include "gateway/sigv4_key.h"

#define MAX_VECTORS 64
#define MAX_HEADERS 16

typedef struct vec {
    char name[64], kind[16], key[160], secret[160], method[8];
    char *path, *query, *body;
    size_t body_len;
    long long now, expires;
    char *hname[MAX_HEADERS], *hvalue[MAX_HEADERS];
    size_t n_headers;
} vec;

static vec vecs[MAX_VECTORS];
static size_t n_vecs;
static gw_credentials creds; /* every key of the vectors, loaded from a file */

/* ---- loading ---- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    assert_non_null(d);
    return d;
}

static char *unhex(const char *h, size_t *len)
{
    size_t n = strlen(h) / 2, i;
    char *out = malloc(n + 1);
    unsigned int b;

    assert_non_null(out);
    for (i = 0; i < n; i++) {
        assert_int_equal(sscanf(h + 2 * i, "%2x", &b), 1);
        out[i] = (char)b;
    }
    out[n] = '\0';
    *len = n;
    return out;
}

static void load_vectors(void)
{
    const char *top = getenv("CG_TOP_SRCDIR");
    char path[4096], line[8192];
    FILE *f;
    vec *v = NULL;

    snprintf(path, sizeof(path), "%s/tests/unit/data/sig_vectors.txt", top ? top : ".");
    f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (set CG_TOP_SRCDIR)", path);
    while (fgets(line, sizeof(line), f)) {
        char *val;

        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        val = strchr(line, ' ');
        val = val ? (*val = '\0', val + 1) : line + strlen(line);
        if (strcmp(line, "vector") == 0) {
            assert_true(n_vecs < MAX_VECTORS);
            v = &vecs[n_vecs++];
            snprintf(v->name, sizeof(v->name), "%s", val);
            continue;
        }
        assert_non_null(v);
        if (strcmp(line, "kind") == 0)
            snprintf(v->kind, sizeof(v->kind), "%s", val);
        else if (strcmp(line, "key") == 0)
            snprintf(v->key, sizeof(v->key), "%s", val);
        else if (strcmp(line, "secret") == 0)
            snprintf(v->secret, sizeof(v->secret), "%s", val);
        else if (strcmp(line, "method") == 0)
            snprintf(v->method, sizeof(v->method), "%s", val);
        else if (strcmp(line, "now") == 0)
            v->now = atoll(val);
        else if (strcmp(line, "expires") == 0)
            v->expires = atoll(val);
        else if (strcmp(line, "path") == 0)
            v->path = xstrdup(val);
        else if (strcmp(line, "query") == 0)
            v->query = xstrdup(val);
        else if (strcmp(line, "body") == 0)
            v->body = unhex(val, &v->body_len);
        else if (strcmp(line, "header") == 0) {
            char *colon = strchr(val, ':');

            assert_non_null(colon);
            assert_true(v->n_headers < MAX_HEADERS);
            *colon = '\0';
            v->hname[v->n_headers] = xstrdup(val);
            v->hvalue[v->n_headers++] = xstrdup(colon + 1 + strspn(colon + 1, " "));
        }
    }
    fclose(f);
}

static int setup(void **state)
{
    char path[] = "/tmp/cg_test_creds_XXXXXX", err[256];
    size_t i;
    FILE *f;
    int fd;

    load_vectors();
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "# test credentials\n\n");
    for (i = 0; i < n_vecs; i++) {
        /* One line per key even when several vectors share it. */
        size_t j;
        int dup = 0;

        for (j = 0; j < i; j++)
            dup |= strcmp(vecs[j].key, vecs[i].key) == 0;
        if (!dup)
            fprintf(f, "  %s\t%s  \r\n", vecs[i].key, vecs[i].secret);
    }
    fclose(f);
    assert_int_equal(gw_credentials_load(&creds, path, err, sizeof(err)), 0);
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    size_t i, j;

    for (i = 0; i < n_vecs; i++) {
        free(vecs[i].path);
        free(vecs[i].query);
        free(vecs[i].body);
        for (j = 0; j < vecs[i].n_headers; j++) {
            free(vecs[i].hname[j]);
            free(vecs[i].hvalue[j]);
        }
    }
    gw_credentials_release(&creds);
    return 0;
}

/* ---- requests ---- */

static gw_request *req_new(const vec *v)
{
    gw_request *r = calloc(1, sizeof(*r));
    size_t i;

    assert_non_null(r);
    snprintf(r->method, sizeof(r->method), "%s", v->method);
    r->path = xstrdup(v->path);
    r->query = xstrdup(v->query);
    r->body = malloc(v->body_len + 1);
    assert_non_null(r->body);
    memcpy(r->body, v->body, v->body_len + 1);
    r->body_len = v->body_len;
    r->headers = calloc(MAX_HEADERS + 2, sizeof(gw_header));
    assert_non_null(r->headers);
    for (i = 0; i < v->n_headers; i++) {
        r->headers[i].name = xstrdup(v->hname[i]);
        r->headers[i].value = xstrdup(v->hvalue[i]);
    }
    r->n_headers = v->n_headers;
    return r;
}

/* Replace (or add) a header; value NULL removes it. */
static void set_header(gw_request *r, const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        free(r->headers[i].value);
        if (value) {
            r->headers[i].value = xstrdup(value);
            return;
        }
        free(r->headers[i].name);
        r->headers[i] = r->headers[--r->n_headers];
        return;
    }
    if (value) {
        r->headers[r->n_headers].name = xstrdup(name);
        r->headers[r->n_headers++].value = xstrdup(value);
    }
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = xstrdup(value);
}

static void set_body(gw_request *r, const char *body)
{
    set_str(&r->body, body);
    r->body_len = strlen(body);
}

/* Replace the first occurrence of from by to in *s (which must contain it). */
static void replace(char **s, const char *from, const char *to)
{
    char *at = strstr(*s, from), *n;

    assert_non_null(at);
    n = malloc(strlen(*s) - strlen(from) + strlen(to) + 1);
    assert_non_null(n);
    sprintf(n, "%.*s%s%s", (int)(at - *s), *s, to, at + strlen(from));
    free(*s);
    *s = n;
}

static const char *vec_header(const vec *v, const char *name)
{
    size_t i;

    for (i = 0; i < v->n_headers; i++)
        if (strcasecmp(v->hname[i], name) == 0)
            return v->hvalue[i];
    return NULL;
}

/* The gateway region checks run against; NULL: any scope. */
static const char *scope_region;

/* Verify as the daemon does (query, then a form body, as parameters) and
 * check the result; the message must never hold any secret. */
static void check_at(const vec *v, gw_request *r, const gw_credentials *c, long long now,
                     gw_auth_result want, const char *what)
{
    gw_params p = {0};
    char key[129] = "junk", msg[512];
    const char *ct = gw_request_header(r, "content-type");
    gw_auth_result got;
    size_t i;

    assert_int_equal(gw_params_parse(&p, r->query, strlen(r->query)), 0);
    if (ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        assert_int_equal(gw_params_parse(&p, r->body, r->body_len), 0);
    got = gw_auth_verify_ec2(r, &p, c, scope_region, (time_t)now, key, sizeof(key), msg, sizeof(msg));
    if (got != want)
        print_error("%s [%s]: got %d want %d: %s\n", v->name, what, got, want, msg);
    assert_int_equal(got, want);
    if (want == GW_AUTH_OK)
        assert_string_equal(key, v->key);
    else
        assert_string_equal(key, "");
    if (want != GW_AUTH_OK)
        assert_true(msg[0] != '\0');
    for (i = 0; i < n_vecs; i++)
        assert_null(strstr(msg, vecs[i].secret));
    gw_params_release(&p);
    gw_request_free(r);
}

static void check(const vec *v, gw_request *r, gw_auth_result want, const char *what)
{
    check_at(v, r, &creds, v->now, want, what);
}

static const vec *find_vec(const char *name)
{
    size_t i;

    for (i = 0; i < n_vecs; i++)
        if (strcmp(vecs[i].name, name) == 0)
            return &vecs[i];
    fail_msg("no vector %s", name);
    return NULL;
}

/* ---- positive cases ---- */

static void test_vectors_verify(void **state)
{
    size_t i, v4 = 0, pre = 0, v2 = 0;

    assert_true(n_vecs >= 12);
    assert_int_equal(creds.n, 3);
    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];

        v4 += strcmp(v->kind, "sigv4") == 0;
        pre += strcmp(v->kind, "presign") == 0;
        v2 += strcmp(v->kind, "sigv2") == 0;
        check(v, req_new(v), GW_AUTH_OK, "as signed");
    }
    assert_true(v4 >= 6 && pre >= 2 && v2 >= 3);
}

static void test_unsigned_header_may_change(void **state)
{
    size_t i;

    for (i = 0; i < n_vecs; i++) {
        gw_request *r = req_new(&vecs[i]);

        set_header(r, "User-Agent", "something/else");
        set_header(r, "X-Forwarded-For", "10.1.2.3");
        check(&vecs[i], r, GW_AUTH_OK, "unsigned header changed");
    }
}

static void test_uppercase_signature_hex(void **state)
{
    const vec *v = find_vec("sigv4-run-instances");
    gw_request *r = req_new(v);
    char *auth = xstrdup(gw_request_header(r, "Authorization")), *sig = strstr(auth, "Signature=");
    size_t i;

    for (i = 10; sig[i]; i++)
        sig[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    set_header(r, "Authorization", auth);
    check(v, r, GW_AUTH_OK, "upper-case hex");
    free(auth);
}

/* ---- tampering -> BAD_SIGNATURE ---- */

static void test_tampered_body(void **state)
{
    size_t i, n = 0;

    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];
        gw_request *r;

        if (v->body_len == 0)
            continue;
        r = req_new(v);
        replace(&r->body, "Version=2016-11-15", "Version=2016-11-16");
        r->body_len = strlen(r->body);
        check(v, r, GW_AUTH_BAD_SIGNATURE, "body value changed");
        r = req_new(v);
        replace(&r->body, "Version=", "InstanceId.1=i-1&Version=");
        r->body_len = strlen(r->body);
        check(v, r, GW_AUTH_BAD_SIGNATURE, "parameter added to body");
        n++;
    }
    assert_true(n >= 7);
}

static void test_tampered_query(void **state)
{
    size_t i, n = 0;

    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];
        gw_request *r;

        if (!v->query[0])
            continue;
        r = req_new(v);
        replace(&r->query, "Version=2016-11-15", "Version=2016-11-15&DryRun=true");
        check(v, r, GW_AUTH_BAD_SIGNATURE, "parameter added to query");
        r = req_new(v);
        replace(&r->query, "Action=Describe", "Action=XDescribe");
        check(v, r, GW_AUTH_BAD_SIGNATURE, "action changed in query");
        n++;
    }
    assert_true(n >= 6);
}

static void test_tampered_header(void **state)
{
    size_t i;

    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];
        gw_request *r = req_new(v);

        /* Host is signed by every scheme (SigV2 signs it in lower case). */
        set_header(r, "Host", "evil.example.com:8773");
        check(v, r, GW_AUTH_BAD_SIGNATURE, "Host changed");
        if (strcmp(v->kind, "sigv4") == 0 && vec_header(v, "Content-Type")) {
            r = req_new(v);
            set_header(r, "Content-Type", "application/x-www-form-urlencoded");
            check(v, r, GW_AUTH_BAD_SIGNATURE, "Content-Type changed");
        }
        if (strcmp(v->kind, "sigv4") == 0) {
            char later[17];
            long long t = v->now + 1;

            /* A different date (same day) changes the string to sign. */
            r = req_new(v);
            if (vec_header(v, "X-Amz-Date")) {
                snprintf(later, sizeof(later), "%s", gw_request_header(r, "X-Amz-Date"));
                later[14] = (char)(later[14] == '9' ? '8' : later[14] + 1);
                set_header(r, "X-Amz-Date", later);
            } else {
                set_header(r, "Date", "Sat, 04 Jul 2026 12:00:01 GMT");
            }
            check_at(v, r, &creds, t, GW_AUTH_BAD_SIGNATURE, "date changed");
        }
    }
}

static void test_host_case(void **state)
{
    const vec *v2 = find_vec("sigv2-botocore-get"), *v4 = find_vec("sigv4-get-query-params");
    gw_request *r = req_new(v2);

    /* SigV2 signs the host in lower case; SigV4 signs the header verbatim. */
    set_header(r, "Host", "Cloud.Example.ORG:8773");
    check(v2, r, GW_AUTH_OK, "SigV2 upper-case Host");
    r = req_new(v4);
    set_header(r, "Host", "127.0.0.1:8773 ");
    check(v4, r, GW_AUTH_OK, "SigV4 Host with trailing blank");
    r = req_new(v4);
    set_header(r, "Host", "127.0.0.1:877");
    check(v4, r, GW_AUTH_BAD_SIGNATURE, "SigV4 other port");
}

static void test_tampered_signature(void **state)
{
    size_t i;

    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];
        gw_request *r = req_new(v);
        char *sig;

        if (strcmp(v->kind, "sigv4") == 0) {
            char *a = xstrdup(gw_request_header(r, "Authorization"));

            sig = strstr(a, "Signature=") + 10;
            sig[5] = (char)(sig[5] == '0' ? '1' : '0');
            set_header(r, "Authorization", a);
            free(a);
        } else if (strcmp(v->kind, "presign") == 0) {
            sig = strstr(r->query, "X-Amz-Signature=") + 16;
            sig[5] = (char)(sig[5] == '0' ? '1' : '0');
        } else {
            /* SigV2 is base64, in the query or (POST) in the body. */
            sig = strstr(r->query, "&Signature=");
            sig = sig ? sig : strstr(r->body, "&Signature=");
            assert_non_null(sig);
            sig += 11;
            sig[0] = (char)(sig[0] == 'w' ? 'x' : 'w');
        }
        check(v, r, GW_AUTH_BAD_SIGNATURE, "signature changed");
    }
}

static void test_wrong_secret(void **state)
{
    gw_credential cv[3];
    gw_credentials wrong = {cv, 3};
    size_t i;

    cv[0] = (gw_credential){"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz"};
    cv[1] = (gw_credential){"AKIAOTHERKEY0001", "not-the-secret"};
    cv[2] = (gw_credential){"admin", "hunter3-is-not-a-good-secret"};
    for (i = 0; i < n_vecs; i++)
        check_at(&vecs[i], req_new(&vecs[i]), &wrong, vecs[i].now, GW_AUTH_BAD_SIGNATURE,
                 "wrong secret");
}

static void test_unknown_key(void **state)
{
    gw_credential cv[1] = {{"AKIDSOMEONEELSE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
    gw_credentials other = {cv, 1}, empty = {NULL, 0};
    size_t i;

    for (i = 0; i < n_vecs; i++) {
        check_at(&vecs[i], req_new(&vecs[i]), &other, vecs[i].now, GW_AUTH_UNKNOWN_KEY,
                 "unknown key");
        check_at(&vecs[i], req_new(&vecs[i]), &empty, vecs[i].now, GW_AUTH_UNKNOWN_KEY,
                 "no keys at all");
    }
}

/* ---- the clock ---- */

static void test_clock_skew(void **state)
{
    size_t i, n = 0;

    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];

        if (strcmp(v->kind, "presign") == 0 || strstr(v->query, "Expires="))
            continue;
        n++;
        check_at(v, req_new(v), &creds, v->now + 16 * 60, GW_AUTH_EXPIRED, "16 min late");
        check_at(v, req_new(v), &creds, v->now - 16 * 60, GW_AUTH_EXPIRED, "16 min early");
        check_at(v, req_new(v), &creds, v->now + 14 * 60, GW_AUTH_OK, "14 min late");
        check_at(v, req_new(v), &creds, v->now - 14 * 60, GW_AUTH_OK, "14 min early");
    }
    assert_true(n >= 10);
}

static void test_presigned_expiry(void **state)
{
    size_t i, n = 0;

    for (i = 0; i < n_vecs; i++) {
        const vec *v = &vecs[i];

        if (strcmp(v->kind, "presign") != 0)
            continue;
        n++;
        assert_true(v->expires > 0);
        check_at(v, req_new(v), &creds, v->now + v->expires, GW_AUTH_OK, "last second");
        check_at(v, req_new(v), &creds, v->now + v->expires + 1, GW_AUTH_EXPIRED, "expired");
        check_at(v, req_new(v), &creds, v->now + 86400, GW_AUTH_EXPIRED, "a day later");
        check_at(v, req_new(v), &creds, v->now - 16 * 60, GW_AUTH_EXPIRED, "from the future");
    }
    assert_int_equal(n, 2);
}

static void test_sigv2_expires(void **state)
{
    const vec *v = find_vec("sigv2-hmacsha1-expires"); /* Expires = now + 600 */

    check_at(v, req_new(v), &creds, v->now + 600, GW_AUTH_OK, "at Expires");
    check_at(v, req_new(v), &creds, v->now + 601, GW_AUTH_EXPIRED, "past Expires");
    check_at(v, req_new(v), &creds, v->now - 3600, GW_AUTH_OK, "well before Expires");
}

/* ---- missing and malformed ---- */

static void test_missing(void **state)
{
    const vec *v = find_vec("sigv4-run-instances");
    gw_request *r = req_new(v);
    char msg[256];

    set_header(r, "Authorization", NULL);
    check(v, r, GW_AUTH_MISSING, "no Authorization");
    r = req_new(find_vec("sigv4-get-query-params"));
    set_header(r, "Authorization", NULL);
    check(v, r, GW_AUTH_MISSING, "GET without auth");
    assert_int_equal(gw_auth_verify_ec2(NULL, NULL, &creds, NULL, 0, NULL, 0, msg, sizeof(msg)),
                     GW_AUTH_MALFORMED);
}

static void test_malformed_authorization(void **state)
{
#define A4 "AWS4-HMAC-SHA256 "
#define CRED "Credential=AKIDEXAMPLE/20261122/RegionOne/ec2/aws4_request, "
#define SH "SignedHeaders=content-type;host;x-amz-date, "
#define SIG "Signature=c603b71ce2f5a2a813a2e79ce9e6799fa8b8057f722b1523d6a111a84c4f46de"
    static const char *const bad[] = {
        "garbage",
        "",
        "AWS4-HMAC-SHA256",
        "AWS AKIDEXAMPLE:c2lnbmF0dXJl", /* SigV2-style header */
        "Basic QUtJREVYQU1QTEU6c2VjcmV0",
        "AWS4-ECDSA-P256-SHA256 " CRED SH SIG, /* SigV4a */
        A4 CRED SH,                            /* no Signature */
        A4 SH SIG,                             /* no Credential */
        A4 CRED SIG,                           /* no SignedHeaders */
        A4 "Credential=AKIDEXAMPLE/20261122/RegionOne/ec2, " SH SIG,
        A4 "Credential=AKIDEXAMPLE//RegionOne/ec2/aws4_request, " SH SIG,
        A4 "Credential=AKIDEXAMPLE/20261122//ec2/aws4_request, " SH SIG, /* empty region */
        A4 "Credential=AKIDEXAMPLE/2026112X/RegionOne/ec2/aws4_request, " SH SIG,
        A4 "Credential=AKIDEXAMPLE/20261122/RegionOne/ec2/aws4_request/x, " SH SIG,
        A4 CRED SH "Signature=c603b71ce2f5",
        A4 CRED SH "Signature=zz03b71ce2f5a2a813a2e79ce9e6799fa8b8057f722b1523d6a111a84c4f46de",
        A4 CRED "SignedHeaders=content-type;x-amz-date, " SIG, /* host not signed */
        A4 CRED "SignedHeaders=Content-Type;Host, " SIG,
        A4 CRED "SignedHeaders=content-type;;host, " SIG,
        A4 CRED SH SIG ", " SIG, /* twice */
        A4 CRED SH SIG ", Foo=bar",
    };
#undef A4
#undef CRED
#undef SH
#undef SIG
    const vec *v = find_vec("sigv4-run-instances");
    gw_request *r;
    gw_params p = {0};
    char key[129], msg[256];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = req_new(v);
        set_header(r, "Authorization", bad[i]);
        check(v, r, GW_AUTH_MALFORMED, bad[i]);
    }
    r = req_new(v);
    set_header(r, "X-Amz-Date", "2026-11-22T10:29:22Z");
    check(v, r, GW_AUTH_MALFORMED, "ISO date in X-Amz-Date");
    r = req_new(v);
    set_header(r, "X-Amz-Date", NULL);
    check(v, r, GW_AUTH_MALFORMED, "no date at all");
    /* The daemon refuses such a query before auth; auth must too. */
    r = req_new(v);
    set_str(&r->query, "a=%G1");
    assert_int_equal(
        gw_auth_verify_ec2(r, &p, &creds, NULL, (time_t)v->now, key, sizeof(key), msg, sizeof(msg)),
        GW_AUTH_MALFORMED);
    gw_request_free(r);
    r = req_new(find_vec("presign-get-describe-instances"));
    set_header(r, "Authorization", vec_header(v, "Authorization"));
    set_header(r, "X-Amz-Date", vec_header(v, "X-Amz-Date"));
    check(v, r, GW_AUTH_MALFORMED, "header and presigned together");
}

static void test_malformed_presigned(void **state)
{
    static const char *const edits[][2] = {
        {"X-Amz-Expires=300", "X-Amz-Expires=0"},
        {"X-Amz-Expires=300", "X-Amz-Expires=604801"},
        {"X-Amz-Expires=300", "X-Amz-Expires=-5"},
        {"X-Amz-Expires=300", "X-Amz-Expires=3OO"},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""},
        {"X-Amz-Date=20261122T102922Z", "X-Amz-Date=2026-11-22"},
        {"X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=user-agent"},
        {"&X-Amz-Signature=", "&X-Amz-Date=20261122T102922Z&X-Amz-Signature="},
        {"%2Faws4_request", "%2Faws5_request"},
    };
    const vec *v = find_vec("presign-get-describe-instances");
    gw_request *r;
    size_t i;

    for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        r = req_new(v);
        replace(&r->query, edits[i][0], edits[i][1]);
        check(v, r, GW_AUTH_MALFORMED, edits[i][1]);
    }
    /* Dropping the signature still looks presigned, and is incomplete. */
    r = req_new(v);
    *strstr(r->query, "&X-Amz-Signature=") = '\0';
    check(v, r, GW_AUTH_MALFORMED, "no X-Amz-Signature");
}

static void test_malformed_sigv2(void **state)
{
    static const char *const edits[][2] = {
        {"SignatureVersion=2", "SignatureVersion=1"},
        {"SignatureVersion=2&", ""},
        {"SignatureMethod=HmacSHA256", "SignatureMethod=HmacMD5"},
        {"Timestamp=2026-11-22T10%3A29%3A22Z", "Timestamp=yesterday"},
        {"Timestamp=", "Expires=2026-11-22T10%3A39%3A22Z&Timestamp="},
        {"Timestamp=2026-11-22T10%3A29%3A22Z&", ""},
        {"AWSAccessKeyId=AKIDEXAMPLE&", ""},
    };
    const vec *v = find_vec("sigv2-libcloud-post-signed-get");
    gw_request *r;
    size_t i;

    for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        r = req_new(v);
        replace(&r->query, edits[i][0], edits[i][1]);
        check(v, r, GW_AUTH_MALFORMED, edits[i][1]);
    }
}

/* ---- scope and payload rules ---- */

static void test_scope_and_payload(void **state)
{
    const vec *v = find_vec("sigv4-run-instances");
    const vec *lc = find_vec("sigv4-libcloud-unsigned-payload");
    static const char *const scope[][3] = {
        {"/ec2/", "/s3/", "service s3"},
        /* sts is a scope the gateway takes, but the signature is ec2's. */
        {"/ec2/", "/sts/", "service sts, signed for ec2"},
        {"/20261122/", "/20261123/", "scope date is not the X-Amz-Date day"},
        {"/RegionOne/", "/RegionTwo/", "region changed (any region is fine, but signed)"},
    };
    gw_request *r;
    char *a;
    size_t i;

    for (i = 0; i < sizeof(scope) / sizeof(scope[0]); i++) {
        r = req_new(v);
        a = xstrdup(vec_header(v, "Authorization"));
        replace(&a, scope[i][0], scope[i][1]);
        set_header(r, "Authorization", a);
        check(v, r, GW_AUTH_BAD_SIGNATURE, scope[i][2]);
        free(a);
    }
    /* A payload hash header must match the body it stands for. */
    r = req_new(v);
    set_header(r, "X-Amz-Content-SHA256",
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check(v, r, GW_AUTH_BAD_SIGNATURE, "X-Amz-Content-SHA256 of another body");
    r = req_new(v);
    set_header(r, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
    check(v, r, GW_AUTH_BAD_SIGNATURE, "UNSIGNED-PAYLOAD with a body");
    /* libcloud's UNSIGNED-PAYLOAD is fine only while the body is empty. */
    r = req_new(lc);
    set_header(r, "Content-Type", "application/x-www-form-urlencoded");
    set_body(r, "Action=TerminateInstances&InstanceId.1=i-1");
    check(lc, r, GW_AUTH_BAD_SIGNATURE, "body smuggled under UNSIGNED-PAYLOAD");
    /* A signed header that is not in the request. */
    r = req_new(v);
    set_header(r, "Content-Type", NULL);
    check(v, r, GW_AUTH_BAD_SIGNATURE, "signed header missing");
    /* A different path. */
    r = req_new(v);
    set_str(&r->path, "/services/Cloud/");
    check(v, r, GW_AUTH_BAD_SIGNATURE, "path changed");
    /* Only one mechanism per request. */
    r = req_new(find_vec("sigv2-botocore-get"));
    set_header(r, "Authorization", vec_header(v, "Authorization"));
    set_header(r, "X-Amz-Date", vec_header(v, "X-Amz-Date"));
    check(v, r, GW_AUTH_MALFORMED, "SigV2 and an Authorization header");
}

static void test_key_id_buffer(void **state)
{
    const vec *v = find_vec("sigv4-run-instances");
    gw_request *r = req_new(v);
    gw_params p = {0};
    char small[4] = "xyz", msg[256];

    /* A key id that does not fit is refused, never truncated. */
    assert_int_equal(
        gw_auth_verify_ec2(r, &p, &creds, NULL, (time_t)v->now, small, sizeof(small), msg, sizeof(msg)),
        GW_AUTH_MALFORMED);
    assert_string_equal(small, "");
    /* key_id and msg are optional. */
    assert_int_equal(gw_auth_verify_ec2(r, &p, &creds, NULL, (time_t)v->now, NULL, 0, NULL, 0),
                     GW_AUTH_OK);
    gw_request_free(r);
}

/* ---- credentials file ---- */

static char *write_tmp(const char *content)
{
    char *path = xstrdup("/tmp/cg_test_creds_XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

/* A world-readable (or -writable) credentials file was loaded silently. */
static void test_credentials_mode(void **state)
{
    gw_credentials c = {0};
    char err[512], *path = write_tmp("AKID1 secret1\n");

    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(c.n, 0);
    assert_int_equal(chmod(path, 0602), 0);
    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), -1);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.n, 1);
    gw_credentials_release(&c);
    unlink(path);
    free(path);
}

static void expect_load_error(const char *content, int line, const char *why)
{
    gw_credentials c = {0};
    char err[512], where[512], *path = write_tmp(content);

    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), -1);
    snprintf(where, sizeof(where), "%s:%d:", path, line);
    if (!strstr(err, where) || !strstr(err, why))
        print_error("error '%s' lacks '%s' / '%s'\n", err, where, why);
    assert_non_null(strstr(err, where));
    assert_non_null(strstr(err, why));
    assert_null(strstr(err, "s3cr3t"));
    assert_null(c.v);
    assert_int_equal(c.n, 0);
    unlink(path);
    free(path);
}

static void test_credentials_file(void **state)
{
    gw_credentials c = {0};
    char err[512] = "", *path;

    path = write_tmp("# comment\n\n   \nAKID1 s3cr3t/+=\n\tadmin\t\tpass word\n");
    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), -1); /* 3 fields */
    unlink(path);
    free(path);

    path = write_tmp("# comment\n\n   \nAKID1 s3cr3t/+=\r\n\tadmin\t\tp@ss \n  # indented\nx y");
    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(gw_credentials_find(&c, "AKID1"), "s3cr3t/+=");
    assert_string_equal(gw_credentials_find(&c, "admin"), "p@ss");
    assert_string_equal(gw_credentials_find(&c, "x"), "y");
    assert_null(gw_credentials_find(&c, "akid1"));
    assert_null(gw_credentials_find(&c, "AKID"));
    assert_null(gw_credentials_find(NULL, "AKID1"));
    gw_credentials_release(&c);
    assert_null(c.v);
    gw_credentials_release(&c);
    gw_credentials_release(NULL);
    unlink(path);
    free(path);

    path = write_tmp("");
    assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.n, 0);
    unlink(path);
    free(path);

    expect_load_error("A s3cr3t\n# c\nB s3cr3t extra\n", 3, "KEY_ID SECRET");
    expect_load_error("\n\nlonely\n", 3, "KEY_ID SECRET");
    expect_load_error("A s3cr3t\nA s3cr3t2\n", 2, "duplicate");
    expect_load_error("A s3cr3t\nAK/ID s3cr3t\n", 2, "access key id");
    expect_load_error("AK:ID s3cr3t\n", 1, "access key id");
    {
        /* 127 characters is the longest id: it fits a caller's char key_id[128]. */
        char longid[160];

        memset(longid, 'K', 128);
        strcpy(longid + 128, " s3cr3t\n");
        expect_load_error(longid, 1, "access key id");
        memmove(longid + 127, longid + 128, strlen(longid + 128) + 1);
        path = write_tmp(longid);
        assert_int_equal(gw_credentials_load(&c, path, err, sizeof(err)), 0);
        assert_int_equal(c.n, 1);
        gw_credentials_release(&c);
        unlink(path);
        free(path);
    }
    expect_load_error("A s3cr3t\nB s3cr\xc3\xa9t\n", 2, "KEY_ID SECRET");

    assert_int_equal(gw_credentials_load(&c, "/nonexistent/cg/credentials", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/cg/credentials"));
}

/* ---- HTTP Basic (CIMI) ---- */

static gw_auth_result basic(const char *value, char *key, size_t keylen)
{
    gw_header h = {"Authorization", (char *)value};
    gw_request r;

    memset(&r, 0, sizeof(r));
    r.headers = &h;
    r.n_headers = value ? 1 : 0;
    return gw_auth_verify_basic(&r, &creds, key, keylen);
}

static void test_basic(void **state)
{
    char key[129] = "junk";

    /* "admin:hunter2-is-not-a-good-secret" */
    assert_int_equal(
        basic("Basic YWRtaW46aHVudGVyMi1pcy1ub3QtYS1nb29kLXNlY3JldA==", key, sizeof(key)),
        GW_AUTH_OK);
    assert_string_equal(key, "admin");
    assert_int_equal(
        basic("basic YWRtaW46aHVudGVyMi1pcy1ub3QtYS1nb29kLXNlY3JldA==", key, sizeof(key)),
        GW_AUTH_OK);
    /* "admin:hunter2-is-not-a-good-secre" (one short) and "admin:x" */
    assert_int_equal(basic("Basic YWRtaW46aHVudGVyMi1pcy1ub3QtYS1nb29kLXNlY3Jl", key, sizeof(key)),
                     GW_AUTH_BAD_SIGNATURE);
    assert_string_equal(key, "");
    assert_int_equal(basic("Basic YWRtaW46eA==", key, sizeof(key)), GW_AUTH_BAD_SIGNATURE);
    /* "nobody:x" */
    assert_int_equal(basic("Basic bm9ib2R5Ong=", key, sizeof(key)), GW_AUTH_UNKNOWN_KEY);
    assert_int_equal(basic(NULL, key, sizeof(key)), GW_AUTH_MISSING);
    /* "adminhunter2" has no colon; then bad base64, wrong schemes. */
    assert_int_equal(basic("Basic YWRtaW5odW50ZXIy", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("Basic YWRtaW46eA=", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("Basic YWRt!W46eA==", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("Basic YW=taW46eA==", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("Basic YWRtaW46eA==AAAA", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("Basic ", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("Bearer YWRtaW46eA==", key, sizeof(key)), GW_AUTH_MALFORMED);
    assert_int_equal(basic("AWS4-HMAC-SHA256 Credential=admin", key, sizeof(key)),
                     GW_AUTH_MALFORMED);
    /* A key id that does not fit the buffer is refused. */
    assert_int_equal(basic("Basic YWRtaW46aHVudGVyMi1pcy1ub3QtYS1nb29kLXNlY3JldA==", key, 5),
                     GW_AUTH_MALFORMED);
}

static void test_ec2_codes(void **state)
{
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_BAD_SIGNATURE), "SignatureDoesNotMatch");
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_EXPIRED), "RequestExpired");
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_UNKNOWN_KEY), "AuthFailure");
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_MISSING), "MissingAuthenticationToken");
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_MALFORMED), "IncompleteSignature");
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_REFUSED), "AuthFailure");
}

/* A SigV4 scope must name the gateway's region (aws --region us-east-1
 * against a "cloudgate" gateway was accepted); the message says both. */
static void test_region_scope(void **state)
{
    const vec *v = find_vec("sigv4-run-instances"); /* signed for RegionOne */
    gw_params p = {0};
    gw_request *r = req_new(v);
    char key[129], msg[512];

    scope_region = "RegionOne";
    check(v, req_new(v), GW_AUTH_OK, "the gateway's region");
    check(find_vec("presign-get-describe-instances"),
          req_new(find_vec("presign-get-describe-instances")), GW_AUTH_OK, "presigned, same");
    scope_region = "cloudgate";
    check(v, req_new(v), GW_AUTH_BAD_SIGNATURE, "another region");
    check(find_vec("presign-get-describe-instances"),
          req_new(find_vec("presign-get-describe-instances")), GW_AUTH_BAD_SIGNATURE,
          "presigned, another region");
    scope_region = NULL;
    assert_int_equal(gw_params_parse(&p, r->body, r->body_len), 0);
    assert_int_equal(gw_auth_verify_ec2(r, &p, &creds, "cloudgate", (time_t)v->now, key,
                                        sizeof(key), msg, sizeof(msg)),
                     GW_AUTH_BAD_SIGNATURE);
    assert_non_null(strstr(msg, "Credential should be scoped to a valid region, not 'RegionOne'"));
    assert_non_null(strstr(msg, "'cloudgate'"));
    gw_params_release(&p);
    gw_request_free(r);
}

/* SigV2 Expires had no upper bound: a signed URL that never expires. */
static void test_sigv2_expires_bound(void **state)
{
    const vec *v = find_vec("sigv2-hmacsha1-expires"); /* Expires = now + 600 */

    check_at(v, req_new(v), &creds, v->now - 604800 + 600, GW_AUTH_OK, "7 days ahead");
    check_at(v, req_new(v), &creds, v->now - 604800 + 599, GW_AUTH_REFUSED, "7 days + 1 s");
    check_at(v, req_new(v), &creds, v->now - 400LL * 86400, GW_AUTH_REFUSED, "a year ahead");
    assert_string_equal(gw_auth_ec2_code(GW_AUTH_OK), "");
}

/* ---- the signing-key cache ---- */

/* AWS's published example (IAM, 2012-02-15); then the same from the cache. */
static void test_signing_key_derivation(void **state)
{
    static const unsigned char want[32] = {0xf4, 0x78, 0x0e, 0x2d, 0x9f, 0x65, 0xfa, 0x89,
                                           0x5f, 0x9c, 0x67, 0xb3, 0x2c, 0xe1, 0xba, 0xf0,
                                           0xb0, 0xd8, 0xa4, 0x35, 0x05, 0xa0, 0x00, 0xa1,
                                           0xa9, 0xe0, 0x90, 0xd4, 0x14, 0xdb, 0x40, 0x4d};
    unsigned char k[32];
    gw_sigv4_key_stats st;
    int i;

    gw_sigv4_key_clear();
    for (i = 0; i < 2; i++) {
        memset(k, 0, sizeof(k));
        assert_int_equal(gw_sigv4_key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      "20120215", "us-east-1", "iam", k),
                         0);
        assert_memory_equal(k, want, 32);
    }
    gw_sigv4_key_get_stats(&st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 1);
}

/* A second verification hits; a rotated secret for the same key id misses
 * and is refused, and the old secret still works only while it is current. */
static void test_signing_key_cache(void **state)
{
    const vec *v = find_vec("sigv4-run-instances");
    gw_credential cv[1] = {{(char *)v->key, "rotated-secret-for-the-same-key-id"}};
    gw_credentials rotated = {cv, 1};
    gw_sigv4_key_stats st;

    gw_sigv4_key_clear();
    check(v, req_new(v), GW_AUTH_OK, "first");
    gw_sigv4_key_get_stats(&st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 0);
    check(v, req_new(v), GW_AUTH_OK, "second");
    gw_sigv4_key_get_stats(&st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 1);
    check_at(v, req_new(v), &rotated, v->now, GW_AUTH_BAD_SIGNATURE, "rotated secret");
    check_at(v, req_new(v), &rotated, v->now, GW_AUTH_BAD_SIGNATURE, "rotated secret again");
    gw_sigv4_key_get_stats(&st);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.hits, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_verify),
        cmocka_unit_test(test_unsigned_header_may_change),
        cmocka_unit_test(test_uppercase_signature_hex),
        cmocka_unit_test(test_tampered_body),
        cmocka_unit_test(test_tampered_query),
        cmocka_unit_test(test_tampered_header),
        cmocka_unit_test(test_host_case),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_clock_skew),
        cmocka_unit_test(test_presigned_expiry),
        cmocka_unit_test(test_sigv2_expires),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_malformed_authorization),
        cmocka_unit_test(test_malformed_presigned),
        cmocka_unit_test(test_malformed_sigv2),
        cmocka_unit_test(test_scope_and_payload),
        cmocka_unit_test(test_key_id_buffer),
        cmocka_unit_test(test_credentials_file),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_ec2_codes),
        cmocka_unit_test(test_region_scope),
        cmocka_unit_test(test_credentials_mode),
        cmocka_unit_test(test_sigv2_expires_bound),
        cmocka_unit_test(test_signing_key_derivation),
        cmocka_unit_test(test_signing_key_cache),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
