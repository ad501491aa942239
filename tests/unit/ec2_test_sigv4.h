/* cloudgate tests: sign an EC2 Query POST with AWS SigV4 the way botocore
 * does (SignedHeaders content-type;host;x-amz-date, region "cloudgate"), so
 * ec2_handle() can be driven through the real signature check.  Test-only:
 * included by tests/unit/test_ec2_actions.c. */
#ifndef EC2_TEST_SIGV4_H
#define EC2_TEST_SIGV4_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gateway/request.h"

static void hex(const unsigned char *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;

    EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
    hex(md, 32, out);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

/* Sign req as botocore does: SigV4 over content-type;host;x-amz-date.
 * hdrs (req->headers) holds Host and Content-Type in [0] and [1]; [2] and
 * [3] receive X-Amz-Date and Authorization, whose values live in date_buf
 * (17 bytes) and auth_buf. */
static void sign_v4(gw_request *req, gw_header *hdrs, const char *host, const char *key_id,
                    const char *secret, char *date_buf, char *auth_buf, size_t auth_len)
{
    char date8[9], body_hash[65], cr_hash[65], canon[2048], sts[512], key[128], sig[65];
    unsigned char k[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(date_buf, 17, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date8, date_buf, 8);
    date8[8] = '\0';
    sha256_hex(req->body, body_hash);
    snprintf(canon, sizeof(canon),
             "POST\n/\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\n\n"
             "content-type;host;x-amz-date\n%s",
             hdrs[1].value, host, date_buf, body_hash);
    sha256_hex(canon, cr_hash);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/cloudgate/ec2/aws4_request\n%s", date_buf,
             date8, cr_hash);
    snprintf(key, sizeof(key), "AWS4%s", secret);
    hmac((unsigned char *)key, strlen(key), date8, k);
    hmac(k, 32, "cloudgate", k);
    hmac(k, 32, "ec2", k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, sts, k);
    hex(k, 32, sig);
    snprintf(auth_buf, auth_len,
             "AWS4-HMAC-SHA256 Credential=%s/%s/cloudgate/ec2/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-date, Signature=%s",
             key_id, date8, sig);
    hdrs[2].name = "X-Amz-Date";
    hdrs[2].value = date_buf;
    hdrs[3].name = "Authorization";
    hdrs[3].value = auth_buf;
    req->n_headers = 4;
}

#endif
