/* cloudgate: AWS request signature verification (see auth.h).
 *
 * Three EC2 schemes: SigV4 in the Authorization header (aws CLI, boto3,
 * libcloud), SigV4 presigned query strings (botocore's SigV4QueryAuth) and
 * SigV2 query signatures (libcloud, older tools); HTTP Basic for CIMI.  The
 * canonical forms follow the AWS documentation and what botocore 1.29 signs;
 * tests/unit/data/sig_vectors.txt holds requests signed by botocore itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strptime, timegm */
#endif
#include "auth.h"
#include "sigv4_key.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Allowed clock difference, seconds.  Comparisons take differences of the
 * two (both are bounded dates): now + SKEW_MAX could overflow. */
#define SKEW_MAX (15 * 60)
#define PRESIGN_EXPIRES_MAX 604800 /* AWS limit for X-Amz-Expires: 7 days */
#define ALGO_V4 "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define MSG_UNKNOWN "AWS was not able to validate the provided access credentials"
#define MSG_OOM "Could not verify the signature (out of memory)"

static const char MSG_NOMATCH[] = "The request signature we calculated does not match the "
                                  "signature you provided. Check your AWS Secret Access Key "
                                  "and signing method.";

static void __attribute__((format(printf, 3, 4)))
set_msg(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (!msg || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
}

/* ---- growable text buffer: an OOM flag checked once at the end ---- */

typedef struct abuf {
    char *p;
    size_t len, cap;
    int oom;
} abuf;

static void ab_add(abuf *b, const char *s, size_t n)
{
    char *p;
    size_t cap = b->cap ? b->cap : 256;

    if (b->oom)
        return;
    while (cap - b->len <= n && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap != b->cap) {
        if (cap - b->len <= n || !(p = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Append NUL-terminated strings up to AB_END. */
#define AB_END ((const char *)NULL)

static void __attribute__((sentinel)) ab_cat(abuf *b, ...)
{
    const char *s;
    va_list ap;

    va_start(ap, b);
    while ((s = va_arg(ap, const char *)))
        ab_add(b, s, strlen(s));
    va_end(ap);
}

/* ---- digests ---- */

static void hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return -1;
    hex_lower(md, 32, out);
    return 0;
}

static int hmac(const EVP_MD *md, const void *key, size_t klen, const char *msg, size_t mlen,
                unsigned char *out, unsigned int *outlen)
{
    if (klen > INT32_MAX)
        return -1;
    return HMAC(md, key, (int)klen, (const unsigned char *)msg, mlen, out, outlen) ? 0 : -1;
}

/* ---- dates (UTC; the daemon never calls setlocale, so %a/%b are English) ---- */

static int parse_time(const char *s, const char *fmt, time_t *t)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (!(end = strptime(s, fmt, &tm)) || *end)
        return -1;
    *t = timegm(&tm);
    return 0;
}

/* SigV2 Timestamp/Expires: "YYYY-MM-DDTHH:MM:SS[.fff]Z". */
static int parse_iso8601(const char *s, time_t *t)
{
    char buf[24];
    size_t n = strcspn(s, ".Z");

    if (n != 19 || (s[n] == '.' && s[n + 1 + strspn(s + n + 1, "0123456789")] != 'Z') ||
        s[strlen(s) - 1] != 'Z' || strchr(s, 'Z') != s + strlen(s) - 1)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return parse_time(buf, "%Y-%m-%dT%H:%M:%S", t);
}

/* SigV4 X-Amz-Date: exactly "YYYYMMDDTHHMMSSZ". */
static int parse_amz_date(const char *s, time_t *t)
{
    return strlen(s) == 16 && strspn(s, "0123456789") == 8 ? parse_time(s, "%Y%m%dT%H%M%SZ", t)
                                                           : -1;
}

/* Date header: IMF-fixdate ends in "GMT"; botocore writes email.utils.formatdate(),
 * which ends in "-0000". */
static int parse_http_date(const char *s, time_t *t)
{
    return parse_time(s, "%a, %d %b %Y %H:%M:%S GMT", t) == 0 ||
                   parse_time(s, "%a, %d %b %Y %H:%M:%S -0000", t) == 0 ||
                   parse_time(s, "%a, %d %b %Y %H:%M:%S +0000", t) == 0
               ? 0
               : -1;
}

static void fmt_amz_date(time_t t, char out[17])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical query strings ---- */

typedef struct qpair {
    const char *dk; /* decoded name */
    char *ek, *ev;  /* RFC 3986-encoded name and value */
} qpair;

static int cmp_encoded(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int r = strcmp(x->ek, y->ek);

    return r ? r : strcmp(x->ev, y->ev);
}

static int cmp_decoded(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int r = strcmp(x->dk, y->dk);

    return r ? r : strcmp(x->ev, y->ev);
}

/* Append the parameters of p, RFC 3986-encoded, sorted by cmp and joined by
 * '&', leaving out those named skip.  SigV4 sorts by the encoded name (AWS,
 * botocore); SigV2 by the decoded one (botocore and libcloud: sorted(params)).
 * Returns 0, or -1 when out of memory. */
static int canonical_query(const gw_params *p, int (*cmp)(const void *, const void *),
                           const char *skip, abuf *out)
{
    qpair *v = calloc(p->n + 1, sizeof(*v));
    size_t i, n = 0;
    int ret = -1;

    if (!v)
        return -1;
    for (i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, skip) == 0)
            continue;
        v[n].dk = p->v[i].name;
        v[n].ek = gw_uri_encode(p->v[i].name, strlen(p->v[i].name), 0);
        v[n].ev = gw_uri_encode(p->v[i].value, strlen(p->v[i].value), 0);
        if (!v[n].ek || !v[n++].ev)
            goto cleanup;
    }
    qsort(v, n, sizeof(*v), cmp);
    for (i = 0; i < n; i++)
        ab_cat(out, i ? "&" : "", v[i].ek, "=", v[i].ev, AB_END);
    ab_add(out, "", 0);
    ret = out->oom ? -1 : 0;

cleanup:
    for (i = 0; i < p->n; i++) {
        free(v[i].ek);
        free(v[i].ev);
    }
    free(v);
    return ret;
}

/* ---- SigV4 ---- */

typedef struct sigv4 {
    const char *cred;           /* "KEY/YYYYMMDD/REGION/SERVICE/aws4_request" */
    const char *signed_headers; /* "content-type;host;x-amz-date" */
    const char *signature;      /* hex, as sent */
    char stamp[17];             /* YYYYMMDDTHHMMSSZ as signed */
    time_t t;                   /* the same, parsed */
    long expires;               /* presigned: X-Amz-Expires; 0 for the header form */
} sigv4;

/* SignedHeaders: lowercase names joined by ';', "host" among them, since AWS
 * refuses requests whose Host is not signed (they could be replayed elsewhere). */
static int signed_headers_ok(const char *p)
{
    int host = 0;

    for (;; p++) {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-_");

        if (n == 0 || (p[n] != ';' && p[n] != '\0'))
            return 0;
        host |= n == 4 && strncmp(p, "host", 4) == 0;
        p += n;
        if (*p == '\0')
            return host;
    }
}

/* Canonical URI as botocore builds it: dot segments and empty segments
 * removed, then the (already percent-encoded) path encoded once more. */
static char *canonical_uri(const char *raw)
{
    size_t o = 0, len;
    char *norm, *ret;
    const char *p;

    raw = raw && raw[0] ? raw : "/";
    len = strlen(raw);
    if (!(norm = malloc(len + 2)))
        return NULL;
    for (p = raw; *p; p += *p == '/') {
        size_t sl = strcspn(p, "/");

        if (sl == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && norm[--o] != '/') /* drop the last segment kept */
                ;
        } else if (sl && !(sl == 1 && p[0] == '.')) {
            norm[o++] = '/';
            memcpy(norm + o, p, sl);
            o += sl;
        }
        p += sl;
    }
    if (o == 0 || raw[len - 1] == '/')
        norm[o++] = '/';
    /* Every segment was written with a leading '/': right for origin-form
     * paths, the only ones HTTP clients send to us. */
    ret = gw_uri_encode(norm, o, 1);
    free(norm);
    return ret;
}

/* Append "name:v1,v2\n" for every signed header, values trimmed and runs of
 * blanks squeezed as the SigV4 rules say.  -1 when a header is absent. */
static int canonical_headers(const gw_request *req, const char *p, abuf *out, char *msg,
                             size_t msglen)
{
    for (; *p; p += *p == ';') {
        size_t n = strcspn(p, ";"), i;
        int found = 0;

        ab_add(out, p, n);
        ab_add(out, ":", 1);
        for (i = 0; i < req->n_headers; i++) {
            const char *v = req->headers[i].value, *name = req->headers[i].name;

            if (!name || !v || strlen(name) != n || strncasecmp(name, p, n) != 0)
                continue;
            if (found++)
                ab_add(out, ",", 1);
            for (v += strspn(v, " \t"); *v; v += strspn(v, " \t")) {
                size_t w = strcspn(v, " \t");

                ab_add(out, v, w);
                v += w;
                if (v[strspn(v, " \t")])
                    ab_add(out, " ", 1);
            }
        }
        if (!found) {
            set_msg(msg, msglen, "Signed header '%.*s' is not in the request", (int)n, p);
            return -1;
        }
        ab_add(out, "\n", 1);
        p += n;
    }
    return 0;
}

/* The signature AWS would compute, as 64 hex digits: HMAC(kSigning, sts),
 * kSigning from the cache (sigv4_key.c). */
static int v4_sign(const char *key_id, const char *secret, const char *date8, const char *region,
                   const char *service, const abuf *sts, char out[65])
{
    unsigned char k[32], mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ret = -1;

    if (gw_sigv4_key(key_id, secret, date8, region, service, k) == 0 &&
        !hmac(EVP_sha256(), k, 32, sts->p, sts->len, mac, &len) && len == 32) {
        hex_lower(mac, 32, out);
        ret = 0;
    }
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(mac, sizeof(mac));
    return ret;
}

/* Everything after the header or query string has been picked apart: check
 * the pieces, look up the key, rebuild the canonical request, compare, and
 * only then apply the clock rules (a forged request gets BAD_SIGNATURE, not
 * a hint about our clock).  *cred holds the key id on return. */
static gw_auth_result v4_verify(const gw_request *req, const gw_params *q,
                                const gw_credentials *creds, const char *region, time_t now,
                                sigv4 *s, char **cred, char *msg, size_t msglen)
{
    gw_auth_result r = GW_AUTH_MALFORMED;
    abuf cr = {0}, sts = {0};
    char *part[5], *p, *uri = NULL, body_hash[65], cr_hash[65], sig[65], theirs[65], srv[17];
    const char *payload = body_hash, *xsha = gw_request_header(req, "x-amz-content-sha256");
    const char *secret;
    int i;

    if (!(p = *cred = strdup(s->cred))) {
        set_msg(msg, msglen, MSG_OOM);
        goto cleanup;
    }
    for (i = 0; i < 5 && p && *p != '/' && *p; i++) /* five non-empty parts */
        part[i] = strsep(&p, "/");
    if (i != 5 || p || strlen(part[1]) != 8 || strspn(part[1], "0123456789") != 8 ||
        strcmp(part[4], "aws4_request") != 0) {
        set_msg(msg, msglen, "Credential must be KEY/YYYYMMDD/REGION/ec2/aws4_request");
        goto cleanup;
    }
    if (strlen(s->signature) != 64 || strspn(s->signature, "0123456789abcdefABCDEF") != 64) {
        set_msg(msg, msglen, "Signature must be 64 hexadecimal digits");
        goto cleanup;
    }
    if (!signed_headers_ok(s->signed_headers)) {
        set_msg(msg, msglen, "SignedHeaders must be lowercase names joined by ';', with host");
        goto cleanup;
    }
    if (!(secret = gw_credentials_find(creds, part[0]))) {
        set_msg(msg, msglen, MSG_UNKNOWN);
        r = GW_AUTH_UNKNOWN_KEY;
        goto cleanup;
    }
    r = GW_AUTH_BAD_SIGNATURE;
    /* AWS's own wording: botocore users see it when --region is wrong. */
    if (region && strcmp(part[2], region) != 0) {
        set_msg(msg, msglen,
                "Credential should be scoped to a valid region, not '%.64s'. "
                "This endpoint's region is '%.64s'.",
                part[2], region);
        goto cleanup;
    }
    /* sts: SDKs ask the same endpoint who they are (GetCallerIdentity,
     * ec2_sts.c); the frontend keeps that scope to that one action. */
    if ((strcmp(part[3], "ec2") != 0 && strcmp(part[3], "sts") != 0) ||
        strncmp(part[1], s->stamp, 8) != 0) {
        set_msg(msg, msglen,
                "Credential should be scoped to service 'ec2' and to the date "
                "of the request (%.8s)",
                s->stamp);
        goto cleanup;
    }
    if (sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0, body_hash) < 0)
        goto cleanup;
    /* botocore signs an X-Amz-Content-SHA256 header verbatim; libcloud sends
     * UNSIGNED-PAYLOAD with an empty body.  A body the signature does not
     * cover is never accepted: it carries the EC2 parameters. */
    if (xsha) {
        if (strcmp(xsha, UNSIGNED_PAYLOAD) == 0 ? req->body_len != 0
                                                : strcasecmp(xsha, body_hash) != 0) {
            set_msg(msg, msglen, "X-Amz-Content-SHA256 does not match the request body");
            goto cleanup;
        }
        payload = xsha;
    }
    if (!(uri = canonical_uri(req->path))) {
        set_msg(msg, msglen, MSG_OOM);
        r = GW_AUTH_MALFORMED;
        goto cleanup;
    }
    /* Method, URI, query, headers, a blank line, signed names, payload hash. */
    ab_cat(&cr, req->method, "\n", uri, "\n", AB_END);
    if (canonical_query(q, cmp_encoded, s->expires ? "X-Amz-Signature" : "", &cr) < 0)
        cr.oom = 1;
    ab_add(&cr, "\n", 1);
    if (canonical_headers(req, s->signed_headers, &cr, msg, msglen) < 0)
        goto cleanup;
    ab_cat(&cr, "\n", s->signed_headers, "\n", payload, AB_END);
    if (!cr.oom && sha256_hex(cr.p, cr.len, cr_hash) == 0)
        ab_cat(&sts, ALGO_V4 "\n", s->stamp, "\n", part[1], "/", part[2], "/", part[3],
               "/aws4_request\n", cr_hash, AB_END);
    if (cr.oom || sts.oom || !sts.p ||
        v4_sign(part[0], secret, part[1], part[2], part[3], &sts, sig) < 0) {
        set_msg(msg, msglen, MSG_OOM);
        r = GW_AUTH_MALFORMED;
        goto cleanup;
    }
    for (i = 0; i < 65; i++) /* accept upper-case hex from odd clients */
        theirs[i] = (char)(s->signature[i] >= 'A' && s->signature[i] <= 'F' ? s->signature[i] + 32
                                                                            : s->signature[i]);
    if (CRYPTO_memcmp(sig, theirs, 64) != 0) {
        set_msg(msg, msglen, "%s", MSG_NOMATCH);
        goto cleanup;
    }
    fmt_amz_date(now, srv);
    r = GW_AUTH_EXPIRED;
    if (s->expires && (s->t - now > SKEW_MAX || now - s->t > s->expires))
        set_msg(msg, msglen, "Request has expired (signed %s for %ld seconds; server time %s)",
                s->stamp, s->expires, srv);
    else if (!s->expires && (s->t - now > SKEW_MAX || now - s->t > SKEW_MAX))
        set_msg(msg, msglen,
                "Request timestamp %s is more than 15 minutes from the server "
                "time %s",
                s->stamp, srv);
    else
        r = GW_AUTH_OK;

cleanup:
    free(uri);
    free(cr.p);
    free(sts.p);
    return r;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...";
 * h is a modifiable copy that s will point into. */
static gw_auth_result v4_parse_header(sigv4 *s, char *h, const gw_request *req, char *msg,
                                      size_t msglen)
{
    const char *date = gw_request_header(req, "x-amz-date");
    char *p;
    int bad = 0;

    if (strncmp(h, ALGO_V4, strlen(ALGO_V4)) != 0 || (h[16] != ' ' && h[16] != '\t')) {
        set_msg(msg, msglen, "Unsupported Authorization header: expected " ALGO_V4);
        return GW_AUTH_MALFORMED;
    }
    for (p = h + 16; !bad && *(p += strspn(p, " \t,"));) {
        char *name = p, *val = strchr(p, '='), *end;
        const char **slot = NULL;

        if ((bad = !val))
            break;
        *val++ = '\0';
        end = val + strcspn(val, ",");
        p = end + (*end == ',');
        *end = '\0';
        while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (strcmp(name, "Credential") == 0)
            slot = &s->cred;
        else if (strcmp(name, "SignedHeaders") == 0)
            slot = &s->signed_headers;
        else if (strcmp(name, "Signature") == 0)
            slot = &s->signature;
        if ((bad = !slot || *slot))
            break;
        *slot = val;
    }
    if (bad || !s->cred || !s->signed_headers || !s->signature) {
        set_msg(msg, msglen, "Authorization needs exactly Credential, SignedHeaders, Signature");
        return GW_AUTH_MALFORMED;
    }
    if (date && parse_amz_date(date, &s->t) == 0) {
        memcpy(s->stamp, date, 17);
    } else if (!date && (date = gw_request_header(req, "date")) &&
               parse_http_date(date, &s->t) == 0) {
        fmt_amz_date(s->t, s->stamp);
    } else {
        set_msg(msg, msglen, "Signed requests need an X-Amz-Date (YYYYMMDDTHHMMSSZ) or Date");
        return GW_AUTH_MALFORMED;
    }
    return GW_AUTH_OK;
}

/* The X-Amz-* parameters of a presigned query string (values point into q). */
static gw_auth_result v4_parse_query(sigv4 *s, const gw_params *q, char *msg, size_t msglen)
{
    static const char *const names[] = {"X-Amz-Algorithm",     "X-Amz-Credential",
                                        "X-Amz-Date",          "X-Amz-Expires",
                                        "X-Amz-SignedHeaders", "X-Amz-Signature"};
    const char *val[6];
    char *end = NULL;
    size_t i, j, count;

    for (j = 0; j < 6; j++) {
        for (i = 0, count = 0; i < q->n; i++)
            count += strcmp(q->v[i].name, names[j]) == 0;
        if (count != 1) {
            set_msg(msg, msglen, "A presigned request needs exactly one %s", names[j]);
            return GW_AUTH_MALFORMED;
        }
        val[j] = gw_params_get(q, names[j]);
    }
    if (strcmp(val[0], ALGO_V4) != 0 || parse_amz_date(val[2], &s->t) < 0) {
        set_msg(msg, msglen,
                "X-Amz-Algorithm must be " ALGO_V4 " and X-Amz-Date "
                "YYYYMMDDTHHMMSSZ");
        return GW_AUTH_MALFORMED;
    }
    memcpy(s->stamp, val[2], 17);
    errno = 0;
    s->expires = strtol(val[3], &end, 10);
    if (errno || *end || val[3][strspn(val[3], "0123456789")] || s->expires < 1 ||
        s->expires > PRESIGN_EXPIRES_MAX) {
        set_msg(msg, msglen, "X-Amz-Expires must be 1 to %d seconds", PRESIGN_EXPIRES_MAX);
        return GW_AUTH_MALFORMED;
    }
    s->cred = val[1];
    s->signed_headers = val[4];
    s->signature = val[5];
    return GW_AUTH_OK;
}

/* ---- SigV2 ---- */

/* base64(HMAC(secret, METHOD \n host \n path \n query)) into out. */
static int v2_sign(const char *method, const char *host, const gw_request *req, const char *query,
                   const char *secret, const EVP_MD *md, char *out)
{
    abuf sts = {0};
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int ret = -1;
    const char *path = req->path && req->path[0] ? req->path : "/";

    ab_cat(&sts, method, "\n", host, "\n", path, "\n", query, AB_END);
    if (!sts.oom && hmac(md, secret, strlen(secret), sts.p, sts.len, mac, &maclen) == 0) {
        EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
        ret = 0;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    free(sts.p);
    return ret;
}

static gw_auth_result v2_verify(const gw_request *req, const gw_params *params,
                                const gw_credentials *creds, time_t now, const char **key_id,
                                char *msg, size_t msglen)
{
    const char *sig = gw_params_get(params, "Signature");
    const char *ver = gw_params_get(params, "SignatureVersion");
    const char *meth = gw_params_get(params, "SignatureMethod");
    const char *ts = gw_params_get(params, "Timestamp");
    const char *exp = gw_params_get(params, "Expires");
    const char *host = gw_request_header(req, "host"), *secret;
    const EVP_MD *md = NULL;
    gw_auth_result r = GW_AUTH_MALFORMED;
    abuf qs = {0};
    char mine[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1] = "", *lhost = NULL;
    time_t t = 0;
    size_t i;
    int pass;

    *key_id = gw_params_get(params, "AWSAccessKeyId");
    if (meth && strcmp(meth, "HmacSHA256") == 0)
        md = EVP_sha256();
    else if (meth && strcmp(meth, "HmacSHA1") == 0)
        md = EVP_sha1();
    if (!*key_id || !sig || !ver || strcmp(ver, "2") != 0 || !md || !ts == !exp ||
        parse_iso8601(ts ? ts : exp, &t) < 0 || !host || !host[0]) {
        set_msg(msg, msglen,
                "SigV2 needs AWSAccessKeyId, Signature, SignatureVersion=2, "
                "SignatureMethod=HmacSHA256|HmacSHA1, one ISO 8601 Timestamp or Expires, "
                "and a Host header");
        return GW_AUTH_MALFORMED;
    }
    if (!(secret = gw_credentials_find(creds, *key_id))) {
        set_msg(msg, msglen, MSG_UNKNOWN);
        return GW_AUTH_UNKNOWN_KEY;
    }
    if (canonical_query(params, cmp_decoded, "Signature", &qs) < 0 || !(lhost = strdup(host)))
        goto cleanup;
    for (i = 0; lhost[i]; i++)
        lhost[i] = (char)(lhost[i] >= 'A' && lhost[i] <= 'Z' ? lhost[i] + 32 : lhost[i]);
    /* libcloud signs every request as "GET", even those it POSTs; the EC2
     * Query API gives GET and POST the same meaning, so accept that too. */
    for (pass = 0; pass < 2 && r != GW_AUTH_OK; pass++) {
        if (pass && strcmp(req->method, "GET") == 0)
            break;
        if (v2_sign(pass ? "GET" : req->method, lhost, req, qs.p, secret, md, mine) < 0) {
            r = GW_AUTH_MALFORMED;
            goto cleanup;
        }
        r = strlen(sig) == strlen(mine) && CRYPTO_memcmp(sig, mine, strlen(mine)) == 0
                ? GW_AUTH_OK
                : GW_AUTH_BAD_SIGNATURE;
    }
    if (r != GW_AUTH_OK) {
        set_msg(msg, msglen, "%s", MSG_NOMATCH);
    } else if (!ts && t - now > PRESIGN_EXPIRES_MAX) {
        /* A signed URL that never expires is a key that cannot be revoked
         * short of the key itself: AWS caps presigned SigV4 at 7 days. */
        set_msg(msg, msglen, "Expires must be at most %d seconds (7 days) after the server time",
                PRESIGN_EXPIRES_MAX);
        r = GW_AUTH_REFUSED;
    } else if (ts ? (t - now > SKEW_MAX || now - t > SKEW_MAX) : now > t) {
        set_msg(msg, msglen, "%s",
                ts ? "Request timestamp is more than 15 minutes from the "
                     "server time"
                   : "Request has expired");
        r = GW_AUTH_EXPIRED;
    }

cleanup:
    if (r == GW_AUTH_MALFORMED)
        set_msg(msg, msglen, MSG_OOM);
    OPENSSL_cleanse(mine, sizeof(mine));
    free(qs.p);
    free(lhost);
    return r;
}

/* ---- entry points ---- */

static gw_auth_result copy_key_id(gw_auth_result r, const char *id, char *key_id, size_t keylen,
                                  char *msg, size_t msglen)
{
    if (r != GW_AUTH_OK || !key_id || keylen == 0)
        return r;
    /* A truncated id would name another (or no) account: refuse instead. */
    if (!id || strlen(id) >= keylen) {
        set_msg(msg, msglen, "Access key id too long");
        return GW_AUTH_MALFORMED;
    }
    memcpy(key_id, id, strlen(id) + 1);
    return r;
}

int gw_auth_params_signed(const gw_params *params)
{
    return gw_params_get(params, "X-Amz-Algorithm") || gw_params_get(params, "X-Amz-Credential") ||
           gw_params_get(params, "X-Amz-Signature") || gw_params_get(params, "AWSAccessKeyId") ||
           gw_params_get(params, "Signature");
}

gw_auth_result gw_auth_verify_ec2(const gw_request *req, const gw_params *params,
                                  const gw_credentials *creds, const char *region, time_t now,
                                  char *key_id, size_t keylen, char *msg, size_t msglen)
{
    const char *auth, *id = NULL;
    gw_auth_result r = GW_AUTH_MALFORMED;
    sigv4 s;
    gw_params q = {.max = params ? params->max : 0};
    char *hdr = NULL, *cred = NULL;
    int presigned, v2;

    memset(&s, 0, sizeof(s));
    if (key_id && keylen)
        key_id[0] = '\0';
    set_msg(msg, msglen, "%s", "");
    if (!req || !creds) {
        set_msg(msg, msglen, "No request to verify");
        return GW_AUTH_MALFORMED;
    }
    /* The raw query again, alone: SigV4 signs only the query string, and
     * form-decoding it is right since botocore sends GET parameters through
     * urlencode() ('+' for space) but signs them RFC 3986-encoded. */
    if (gw_params_parse(&q, req->query ? req->query : "", req->query ? strlen(req->query) : 0)) {
        set_msg(msg, msglen, "Malformed query string");
        goto cleanup;
    }
    params = params ? params : &q;
    presigned = gw_params_get(&q, "X-Amz-Algorithm") || gw_params_get(&q, "X-Amz-Credential") ||
                gw_params_get(&q, "X-Amz-Signature");
    v2 = gw_params_get(params, "AWSAccessKeyId") || gw_params_get(params, "Signature");
    auth = gw_request_header(req, "authorization");
    if ((auth != NULL) + presigned + v2 > 1) {
        set_msg(msg, msglen, "Only one authentication mechanism allowed");
    } else if (auth) {
        if (!(hdr = strdup(auth)))
            set_msg(msg, msglen, MSG_OOM);
        else if ((r = v4_parse_header(&s, hdr, req, msg, msglen)) == GW_AUTH_OK)
            r = v4_verify(req, &q, creds, region, now, &s, &cred, msg, msglen);
        id = cred;
    } else if (presigned) {
        if ((r = v4_parse_query(&s, &q, msg, msglen)) == GW_AUTH_OK)
            r = v4_verify(req, &q, creds, region, now, &s, &cred, msg, msglen);
        id = cred;
    } else if (v2) {
        r = v2_verify(req, params, creds, now, &id, msg, msglen);
    } else {
        set_msg(msg, msglen, "The request must contain either a valid (registered) AWS access "
                             "key ID or X.509 certificate.");
        r = GW_AUTH_MISSING;
    }
    r = copy_key_id(r, id, key_id, keylen, msg, msglen);

cleanup:
    gw_params_release(&q);
    free(hdr);
    free(cred);
    return r;
}

const char *gw_auth_ec2_code(gw_auth_result r)
{
    switch (r) {
    case GW_AUTH_OK:
        return "";
    case GW_AUTH_MISSING:
        return "MissingAuthenticationToken";
    case GW_AUTH_BAD_SIGNATURE:
        return "SignatureDoesNotMatch";
    case GW_AUTH_EXPIRED:
        return "RequestExpired";
    case GW_AUTH_MALFORMED:
        return "IncompleteSignature";
    default: /* UNKNOWN_KEY, REFUSED */
        return "AuthFailure";
    }
}
