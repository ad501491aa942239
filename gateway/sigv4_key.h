/* cloudgate: a small cache of SigV4 signing keys (kSigning), which depend
 * only on the secret, the date and the scope, not on the request. */
#ifndef CG_SIGV4_KEY_H
#define CG_SIGV4_KEY_H

#include <stddef.h>

typedef struct gw_sigv4_key_stats {
    unsigned long hits, misses;
} gw_sigv4_key_stats;

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region), service),
 * "aws4_request") into out, from the cache when the same key id, secret,
 * date and scope were seen.  Thread-safe.  0, or -1 on failure. */
int gw_sigv4_key(const char *key_id, const char *secret, const char *date8, const char *region,
                 const char *service, unsigned char out[32]);

/* Hit and miss counts since start (or the last gw_sigv4_key_clear). */
void gw_sigv4_key_get_stats(gw_sigv4_key_stats *st);

/* Forget every cached key (zeroed) and the counts. */
void gw_sigv4_key_clear(void);

#endif
