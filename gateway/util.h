/* cloudgate: small shared helpers (ids, time, base64, files). */
#ifndef CG_UTIL_H
#define CG_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* prefix + 17 random lowercase hex digits, e.g. "i-0a1b2c3d4e5f60718".
 * outlen must be >= strlen(prefix) + 18. */
void cg_new_id(char *out, size_t outlen, const char *prefix);

/* Random RFC 4122 version-4 uuid, 36 characters plus NUL. */
void cg_uuid4(char out[37]);

/* ISO 8601 UTC with milliseconds as AWS writes it: "2026-11-22T10:29:22.000Z".
 * len >= 25.  Returns 0 or -1. */
int cg_time_iso8601(time_t t, char *out, size_t len);

/* Strict base64 (RFC 4648, padding required, whitespace not allowed except
 * trailing newlines).  Returns malloc'd bytes (NUL-terminated for convenience,
 * not counted in *outlen) or NULL when invalid. */
unsigned char *cg_base64_decode(const char *in, size_t inlen, size_t *outlen);

/* Base64 without line breaks.  Returns malloc'd NUL-terminated text. */
char *cg_base64_encode(const unsigned char *in, size_t len);

/* mkdir -p.  Returns 0 or -1 with errno set. */
int cg_mkdir_p(const char *path, mode_t mode);

/* rm -r of dir and what is under it, not following links.  0, or -1 with
 * errno of the first entry that could not be removed (the rest are still
 * tried). */
int cg_rm_tree(const char *dir);

/* "$TMPDIR/name" (TMPDIR unset or empty: /tmp) into buf, for mkstemp or
 * mkdtemp: the gateway's TMPDIR is its scratch directory, swept after a
 * crash.  0, or -1 when it does not fit. */
int cg_tmp_path(char *buf, size_t len, const char *name);

/* printf into a new malloc'd string; NULL on OOM. */
char *cg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Replace *dst with a copy of value (freeing the old one).  0, or -1 when
 * out of memory (then *dst is unchanged). */
int cg_set_str(char **dst, const char *value);

/* Monotonic clock in seconds (double). */
double cg_monotonic(void);

/* *until = the CLOCK_REALTIME time sec seconds from now (sec >= 0), the
 * deadline pthread_cond_timedwait takes. */
void cg_realtime_after(struct timespec *until, double sec);

#endif
