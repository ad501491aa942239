/* cloudgate fuzz target: ec2_on_loop, which the HTTP loop thread runs on
 * every unauthenticated EC2 request to decide whether to answer it itself,
 * and its raw scanner count_field (the query and body are not decoded).
 *
 * Input: QUERY, a NUL, BODY (the body may hold NULs; no NUL: no body).
 * Both are exact-size copies so ASan sees overreads.
 * Checks: the answer equals a plain reference (split at '&', exactly one
 * "Action=" field in query and body together, its value 1-63 ASCII letters
 * naming an EC2_ON_LOOP action), and an input over 4096 bytes per part
 * is never answered on the loop. */
#include "fuzz.h"
#include "frontends/ec2/ec2.h"
#include "frontends/ec2/ec2_internal.h"
#include "gateway/request.h"

#define ON_LOOP_MAX_BYTES 4096 /* as ec2_dispatch.c */

/* Count the "Action=" fields of s, keeping the value of the last one. */
static size_t ref_count(const char *s, size_t len, const char **value, size_t *value_len)
{
    static const char key[] = "Action=";
    size_t count = 0, at = 0, end;

    while (s && at <= len) {
        for (end = at; end < len && s[end] != '&'; end++)
            ;
        if (end - at >= sizeof(key) - 1 && memcmp(s + at, key, sizeof(key) - 1) == 0) {
            *value = s + at + sizeof(key) - 1;
            *value_len = end - at - (sizeof(key) - 1);
            count++;
        }
        at = end + 1;
    }
    return count;
}

static int ref_on_loop(const char *q, size_t qlen, const char *b, size_t blen)
{
    const char *value = NULL;
    size_t value_len = 0;
    char name[64];
    const ec2_action *a;

    if (qlen > ON_LOOP_MAX_BYTES || blen > ON_LOOP_MAX_BYTES)
        return 0;
    if (ref_count(q, qlen, &value, &value_len) + ref_count(b, blen, &value, &value_len) != 1 ||
        value_len == 0 || value_len >= sizeof(name))
        return 0;
    memcpy(name, value, value_len);
    name[value_len] = '\0';
    if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != value_len)
        return 0;
    a = ec2_action_find(name);
    return a && (a->flags & EC2_ON_LOOP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t qlen = nul ? (size_t)(nul - data) : size;
    gw_request req = {.method = "POST"};
    int got;

    req.query = fz_strdup(data, qlen);
    if (nul) {
        req.body_len = size - qlen - 1;
        req.body = fz_strdup(nul + 1, req.body_len);
    }
    if (!req.query || (nul && !req.body))
        goto cleanup;
    got = ec2_on_loop(&req);
    FZ_CHECK(got == 0 || got == 1);
    FZ_CHECK(got == ref_on_loop(req.query, qlen, req.body, req.body_len));

cleanup:
    free(req.query);
    free(req.body);
    return 0;
}
