/* cloudgate: application/x-www-form-urlencoded parameters (the EC2 Query API).
 *
 * EC2 lists arrive flattened: "InstanceId.1=i-a&InstanceId.2=i-b",
 * "Filter.1.Name=x&Filter.1.Value.1=y".  gw_params keeps the decoded pairs in
 * arrival order; the helpers below read them by exact name.
 */
#ifndef GW_PARAMS_H
#define GW_PARAMS_H

#include <stddef.h>

typedef struct gw_param {
    char *name;     /* decoded */
    char *value;    /* decoded, NUL-terminated ("" for "a=" and for "a") */
} gw_param;

typedef struct gw_params {
    gw_param *v;
    size_t n;
    size_t max;     /* most pairs p may hold; 0: no limit */
} gw_params;

/* Parse and append the pairs of a form-encoded string of len bytes into p
 * (which may already hold pairs, e.g. from the query string).  '+' means
 * space, %XX is decoded; a malformed escape or a NUL fails.  Returns 0, -1
 * when malformed, or GW_PARAMS_TOO_MANY (before allocating anything) when
 * the pairs would exceed p->max.  On failure p is as before the call. */
#define GW_PARAMS_TOO_MANY (-2)
int gw_params_parse(gw_params *p, const char *s, size_t len);

/* The value of the first parameter called name, or NULL. */
const char *gw_params_get(const gw_params *p, const char *name);

/* Like gw_params_get with a printf-built name: gw_params_getf(p, "Filter.%d.Name", 3). */
const char *gw_params_getf(const gw_params *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Count of a 1-based list "prefix.1", "prefix.2", ... stopping at the first gap. */
size_t gw_params_list_len(const gw_params *p, const char *prefix);

/* Free the contents (not the struct). Accepts NULL. */
void gw_params_release(gw_params *p);

/* RFC 3986 percent-encoding of len bytes (unreserved characters kept), as
 * SigV2/SigV4 canonical forms need.  Returns a malloc'd string. */
char *gw_uri_encode(const char *s, size_t len, int keep_slash);

/* Decode %XX and (when plus_is_space) '+'.  Returns malloc'd string, or NULL
 * on a malformed escape. *out_len gets the decoded length when non-NULL. */
char *gw_uri_decode(const char *s, size_t len, int plus_is_space, size_t *out_len);

#endif
