/* cloudgate fuzz target: the EC2 Query form parser (gw_params_parse) and
 * signature verification (gw_auth_verify_ec2: SigV4 header and presigned
 * query, SigV2) over one request made from the input.
 *
 * Input: newline-separated fields
 *   MODE [NOW]     '1' first: sign the request ourselves (SigV4 header over
 *                  host;x-amz-date[;content-type][;x-amz-content-sha256],
 *                  path "/") so the success path is reached; NOW: server clock
 *   METHOD, PATH, QUERY
 *   Authorization, X-Amz-Date, Host, X-Amz-Content-SHA256, Content-Type
 *                  (an empty line leaves the header out)
 *   EXTRA          one more header as "Name: value"
 *   BODY           the rest
 * Checks: a verified request names a key we hold, and no message carries a
 * secret. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "fuzz.h"
#include "gateway/auth.h"
#include "gateway/params.h"

enum { F_MODE, F_METHOD, F_PATH, F_QUERY, F_AUTH, F_DATE, F_HOST, F_SHA, F_CTYPE, F_EXTRA,
       F_BODY, F_N };

#define REGION "cloudgate"
#define NOW_DEFAULT 1795343362 /* 20261122T102922Z, the date of most seeds */

static gw_credential cred_v[] = {
    {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    {"AKIAOTHERKEY0001", "Zm9vYmFyYmF6/+secret+with/slashes=="},
    {"admin", "hunter2-is-not-a-good-secret"},
};
static const gw_credentials creds = {cred_v, sizeof(cred_v) / sizeof(cred_v[0])};

/* The one call of the function under test, so a signature change is one edit. */
static gw_auth_result verify(const gw_request *req, const gw_params *params, time_t now,
                             char *key_id, size_t keylen, char *msg, size_t msglen)
{
    return gw_auth_verify_ec2(req, params, &creds, REGION, now, key_id, keylen, msg, msglen);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_hex(const char *s, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;

    EVP_Digest(s, n, md, &len, EVP_sha256(), NULL);
    hex(md, 32, out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The query's pairs RFC 3986-encoded as "k=v", sorted and joined by '&'
 * (what SigV4 signs), into a malloc'd string; NULL on a bad query or OOM. */
static char *canonical_query(const char *query)
{
    gw_params p = {0};
    char **pairs = NULL, *k, *v, *out = NULL;
    size_t i, n = 0, total = 1;

    if (gw_params_parse(&p, query, strlen(query)) < 0 ||
        !(pairs = calloc(p.n + 1, sizeof(*pairs))))
        goto cleanup;
    for (i = 0; i < p.n; i++, n++) {
        k = gw_uri_encode(p.v[i].name, strlen(p.v[i].name), 0);
        v = gw_uri_encode(p.v[i].value, strlen(p.v[i].value), 0);
        if (k && v && (pairs[n] = malloc(strlen(k) + strlen(v) + 2)))
            sprintf(pairs[n], "%s=%s", k, v);
        free(k);
        free(v);
        if (!pairs[n])
            goto cleanup;
        total += strlen(pairs[n]) + 1;
    }
    qsort(pairs, n, sizeof(*pairs), cmp_str);
    if (!(out = calloc(1, total)))
        goto cleanup;
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, "&");
        strcat(out, pairs[i]);
    }

cleanup:
    for (i = 0; pairs && i < n; i++)
        free(pairs[i]);
    free(pairs);
    gw_params_release(&p);
    return out;
}

/* Sign req (path "/") as botocore would with the first credential; the
 * Authorization value goes into auth (len bytes).  date is the request's
 * X-Amz-Date as sent. */
static void sign(const gw_request *req, const char *date, const char *ctype, const char *sha,
                 char *auth, size_t len)
{
    char signed_h[96], body_hash[65], cr_hash[65], date8[9], key[128], sig[65];
    char *query = canonical_query(req->query), *canon = NULL, *sts = NULL;
    unsigned char k[32];
    const char *host = gw_request_header(req, "host");

    snprintf(date8, sizeof(date8), "%.8s", date);
    /* Sorted names, as botocore sends them. */
    snprintf(signed_h, sizeof(signed_h), "%shost%s;x-amz-date", ctype ? "content-type;" : "",
             sha ? ";x-amz-content-sha256" : "");
    sha256_hex(req->body, req->body_len, body_hash);
    /* Values are signed as sent: an input with blanks to squeeze simply
     * fails to verify, which is fine. */
    if (!query || !host ||
        asprintf(&canon, "%s\n/\n%s\n%s%s%shost:%s\n%s%s%sx-amz-date:%s\n\n%s\n%s",
                 req->method, query, ctype ? "content-type:" : "", ctype ? ctype : "",
                 ctype ? "\n" : "", host, sha ? "x-amz-content-sha256:" : "", sha ? sha : "",
                 sha ? "\n" : "", date, signed_h, sha ? sha : body_hash) < 0) {
        canon = NULL;
        goto cleanup;
    }
    sha256_hex(canon, strlen(canon), cr_hash);
    if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/" REGION "/ec2/aws4_request\n%s", date, date8,
                 cr_hash) < 0) {
        sts = NULL;
        goto cleanup;
    }
    snprintf(key, sizeof(key), "AWS4%s", cred_v[0].secret);
    hmac(key, strlen(key), date8, k);
    hmac(k, 32, REGION, k);
    hmac(k, 32, "ec2", k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, sts, k);
    hex(k, 32, sig);
    snprintf(auth, len,
             "AWS4-HMAC-SHA256 Credential=%s/%s/" REGION "/ec2/aws4_request, "
             "SignedHeaders=%s, Signature=%s",
             cred_v[0].key_id, date8, signed_h, sig);

cleanup:
    free(query);
    free(canon);
    free(sts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[F_N] = {
        [F_AUTH] = "Authorization", [F_DATE] = "X-Amz-Date", [F_HOST] = "Host",
        [F_SHA] = "X-Amz-Content-SHA256", [F_CTYPE] = "Content-Type"};
    char *f[F_N], key_id[128], msg[512], auth[512] = "", date[17], *colon;
    size_t len[F_N], i;
    gw_header hdrs[F_N];
    gw_request req;
    gw_params params = {0};
    time_t now = NOW_DEFAULT;
    gw_auth_result r;
    struct tm tm;
    int self_sign;

    if (fz_split(data, size, F_N, f, len) < 0)
        return 0;
    memset(&req, 0, sizeof(req));
    self_sign = f[F_MODE][0] == '1';
    /* A server clock between 1970 and 9999, as time() gives: auth.c adds
     * the 15-minute skew to it (9223372036854775807 + 900 overflows). */
    if (f[F_MODE][0] && f[F_MODE][1] == ' ') {
        now = (time_t)strtoll(f[F_MODE] + 2, NULL, 10);
        if (now < 0 || now > 253402300799LL)
            now = NOW_DEFAULT;
    }
    snprintf(req.method, sizeof(req.method), "%s", f[F_METHOD]);
    req.path = self_sign ? "/" : f[F_PATH];
    req.query = f[F_QUERY];
    req.body = f[F_BODY];
    req.body_len = len[F_BODY];
    req.headers = hdrs;
    for (i = F_AUTH; i <= F_CTYPE; i++) {
        if (len[i] || (self_sign && (i == F_AUTH || i == F_DATE))) {
            hdrs[req.n_headers].name = (char *)names[i];
            hdrs[req.n_headers++].value = f[i];
        }
    }
    if ((colon = strchr(f[F_EXTRA], ':'))) {
        *colon = '\0';
        hdrs[req.n_headers].name = f[F_EXTRA];
        hdrs[req.n_headers++].value = colon + 1 + (colon[1] == ' ');
    }
    if (self_sign) {
        if (!len[F_DATE]) { /* no date given: sign at the server's clock */
            gmtime_r(&now, &tm);
            strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
        } else {
            snprintf(date, sizeof(date), "%s", f[F_DATE]);
        }
        sign(&req, date, len[F_CTYPE] ? f[F_CTYPE] : NULL, len[F_SHA] ? f[F_SHA] : NULL, auth,
             sizeof(auth));
        for (i = 0; i < req.n_headers; i++) {
            if (hdrs[i].name == names[F_AUTH])
                hdrs[i].value = auth;
            else if (hdrs[i].name == names[F_DATE])
                hdrs[i].value = date;
        }
    }
    /* As the EC2 frontend reads them: the query, then a form body. */
    if (gw_params_parse(&params, req.query, len[F_QUERY]) == 0 &&
        strncasecmp(f[F_CTYPE], "application/x-www-form-urlencoded", 33) == 0)
        gw_params_parse(&params, req.body, req.body_len);
    r = verify(&req, &params, now, key_id, sizeof(key_id), msg, sizeof(msg));
#ifndef CG_LIBFUZZER
    if (getenv("CG_FUZZ_VERBOSE")) /* seed triage: which path each input takes */
        fprintf(stderr, "auth %d key '%s': %s\n", (int)r, key_id, msg);
#endif
    if (r == GW_AUTH_OK)
        FZ_CHECK(gw_credentials_find(&creds, key_id) != NULL);
    /* Unless the client sent it itself (messages quote what it sent). */
    for (i = 0; i < creds.n; i++)
        if (!memmem(data, size, cred_v[i].secret, strlen(cred_v[i].secret)))
            FZ_CHECK(strstr(msg, cred_v[i].secret) == NULL);
    gw_params_release(&params);
    fz_free(f, F_N);
    return 0;
}
