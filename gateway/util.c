/* cloudgate: small shared helpers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cg_new_id(char *out, size_t outlen, const char *prefix)
{
    unsigned char rnd[9];
    static const char hex[] = "0123456789abcdef";
    size_t plen = strlen(prefix);
    size_t i;

    if (outlen < plen + 18) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    RAND_bytes(rnd, sizeof(rnd));
    memcpy(out, prefix, plen);
    /* 17 hex digits, as current AWS ids have. */
    for (i = 0; i < 17; i++) {
        unsigned char b = rnd[i / 2];
        out[plen + i] = hex[(i % 2) ? (b & 0xf) : (b >> 4)];
    }
    out[plen + 17] = '\0';
}

void cg_uuid4(char out[37])
{
    unsigned char b[16];

    RAND_bytes(b, sizeof(b));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

int cg_time_iso8601(time_t t, char *out, size_t len)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm))
        return -1;
    if (strftime(out, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
        return -1;
    return 0;
}

unsigned char *cg_base64_decode(const char *in, size_t inlen, size_t *outlen)
{
    unsigned char *out;
    int n;
    size_t pad = 0;

    while (inlen > 0 && (in[inlen - 1] == '\n' || in[inlen - 1] == '\r'))
        inlen--;
    if (inlen % 4 != 0 || inlen > (size_t)0x7fffffff)
        return NULL;
    for (size_t i = 0; i < inlen; i++) {
        char c = in[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' || (c == '=' && i >= inlen - 2);
        if (!ok)
            return NULL;
    }
    if (inlen >= 1 && in[inlen - 1] == '=')
        pad++;
    if (inlen >= 2 && in[inlen - 2] == '=') {
        if (in[inlen - 1] != '=')
            return NULL;
        pad++;
    }
    out = malloc(inlen / 4 * 3 + 1);
    if (!out)
        return NULL;
    n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen);
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding bytes as data. */
    n -= (int)pad;
    out[n] = '\0';
    if (outlen)
        *outlen = (size_t)n;
    return out;
}

char *cg_base64_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

int cg_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static __thread int rm_errno; /* nftw's callback has no argument */

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT && !rm_errno)
        rm_errno = errno;
    return 0;
}

int cg_rm_tree(const char *dir)
{
    rm_errno = 0;
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return -1;
    errno = rm_errno;
    return rm_errno ? -1 : 0;
}

char *cg_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

double cg_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cg_realtime_after(struct timespec *until, double sec)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += (time_t)sec;
    until->tv_nsec += (long)((sec - (double)(time_t)sec) * 1e9);
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

int cg_set_str(char **dst, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

int cg_tmp_path(char *buf, size_t len, const char *name)
{
    const char *base = getenv("TMPDIR");

    if (!base || !*base)
        base = "/tmp";
    return (size_t)snprintf(buf, len, "%s/%s", base, name) < len ? 0 : -1;
}
