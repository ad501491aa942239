/* cloudgate: the SigV4 signing-key cache (see sigv4_key.h).  Four HMACs per
 * request were most of the loop thread's libcrypto time for small requests;
 * a client signs a day's requests with one key.  The secret itself is part
 * of the match, so a key id whose secret was rotated misses and derives
 * anew: an old secret's key can never verify a request. */
#include "sigv4_key.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CACHE_SIZE 64

/* Longer fields are never cached (derived every time): keeps entries fixed. */
typedef struct entry {
    unsigned long used; /* 0: empty; else the tick of the last use (LRU) */
    char key_id[128], secret[128], date8[9], region[64], service[16];
    size_t secret_len;
    unsigned char key[32];
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry cache[CACHE_SIZE];
static unsigned long tick, hits, misses;

static int hmac32(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int len = 0;

    if (klen > INT32_MAX ||
        !HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len))
        return -1;
    return len == 32 ? 0 : -1;
}

static int derive(const char *secret, const char *date8, const char *region, const char *service,
                  unsigned char out[32])
{
    unsigned char k[32], k2[32];
    size_t slen = strlen(secret);
    char *key = slen < INT32_MAX - 5 ? malloc(slen + 5) : NULL;
    int ret = -1;

    if (!key)
        goto cleanup;
    memcpy(key, "AWS4", 4);
    memcpy(key + 4, secret, slen + 1);
    if (!hmac32(key, slen + 4, date8, k) && !hmac32(k, 32, region, k2) &&
        !hmac32(k2, 32, service, k) && !hmac32(k, 32, "aws4_request", out))
        ret = 0;
    OPENSSL_cleanse(key, slen + 4);

cleanup:
    free(key);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(k2, sizeof(k2));
    return ret;
}

static int matches(const entry *e, const char *key_id, const char *secret, size_t slen,
                   const char *date8, const char *region, const char *service)
{
    /* The secret last and in constant time: the scope is public. */
    return e->used && strcmp(e->key_id, key_id) == 0 && strcmp(e->date8, date8) == 0 &&
           strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0 &&
           e->secret_len == slen && CRYPTO_memcmp(e->secret, secret, slen) == 0;
}

static int fits(const char *s, size_t size)
{
    return strlen(s) < size;
}

int gw_sigv4_key(const char *key_id, const char *secret, const char *date8, const char *region,
                 const char *service, unsigned char out[32])
{
    size_t slen = strlen(secret), i, victim = 0;
    entry *e;
    int ret;

    if (!fits(key_id, sizeof(cache[0].key_id)) || !fits(secret, sizeof(cache[0].secret)) ||
        !fits(date8, sizeof(cache[0].date8)) || !fits(region, sizeof(cache[0].region)) ||
        !fits(service, sizeof(cache[0].service)))
        return derive(secret, date8, region, service, out);
    pthread_mutex_lock(&lock);
    for (i = 0; i < CACHE_SIZE; i++) {
        if (matches(&cache[i], key_id, secret, slen, date8, region, service)) {
            cache[i].used = ++tick;
            memcpy(out, cache[i].key, 32);
            hits++;
            pthread_mutex_unlock(&lock);
            return 0;
        }
        if (cache[i].used < cache[victim].used)
            victim = i;
    }
    misses++;
    /* Derived under the lock: a miss is rare and costs microseconds. */
    ret = derive(secret, date8, region, service, out);
    e = &cache[victim];
    OPENSSL_cleanse(e, sizeof(*e));
    if (ret == 0) {
        strcpy(e->key_id, key_id);
        memcpy(e->secret, secret, slen + 1);
        e->secret_len = slen;
        strcpy(e->date8, date8);
        strcpy(e->region, region);
        strcpy(e->service, service);
        memcpy(e->key, out, 32);
        e->used = ++tick;
    }
    pthread_mutex_unlock(&lock);
    return ret;
}

void gw_sigv4_key_get_stats(gw_sigv4_key_stats *st)
{
    pthread_mutex_lock(&lock);
    st->hits = hits;
    st->misses = misses;
    pthread_mutex_unlock(&lock);
}

void gw_sigv4_key_clear(void)
{
    pthread_mutex_lock(&lock);
    OPENSSL_cleanse(cache, sizeof(cache));
    tick = hits = misses = 0;
    pthread_mutex_unlock(&lock);
}
