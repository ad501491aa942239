/* cloudgate: application/x-www-form-urlencoded parameters and RFC 3986
 * percent-encoding (see params.h). */
#include "params.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *gw_uri_decode(const char *s, size_t len, int plus_is_space, size_t *out_len)
{
    char *out = NULL;
    size_t i, o = 0;

    /* Decoding never grows the text, so len + 1 bytes always suffice. */
    if (len == SIZE_MAX || !(out = malloc(len + 1)))
        return NULL;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi, lo;

            if (len - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

char *gw_uri_encode(const char *s, size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out;
    size_t i, o = 0;

    if (len > (SIZE_MAX - 1) / 3 || !(out = malloc(len * 3 + 1)))
        return NULL;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        /* The RFC 3986 unreserved set: what AWS canonical forms leave alone. */
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* Decode one form field; embedded NULs are refused because names and values
 * are handed out as C strings, and a silently truncated value could differ
 * from what the client signed. */
static char *decode_field(const char *s, size_t len)
{
    size_t n = 0;
    char *d = gw_uri_decode(s, len, 1, &n);

    if (d && strlen(d) != n) {
        free(d);
        return NULL;
    }
    return d;
}

int gw_params_parse(gw_params *p, const char *s, size_t len)
{
    size_t n0, i, pieces = 0;
    gw_param *v;

    if (!p || (!s && len))
        return -1;
    n0 = p->n;
    /* Count the non-empty segments first: a hostile "&&&&..." or "a&a&a..."
     * must be refused before it costs an allocation per pair. */
    for (i = 0; i < len; i++)
        pieces += s[i] != '&' && (i == 0 || s[i - 1] == '&');
    if (pieces == 0)
        return 0;
    if (p->max && (pieces > p->max || n0 > p->max - pieces))
        return GW_PARAMS_TOO_MANY;
    /* gw_params has no capacity field: grow once per call to an upper bound
     * so a large body does not cost one realloc per pair. */
    if (pieces > SIZE_MAX / sizeof(*v) - n0)
        return -1;
    v = realloc(p->v, (n0 + pieces) * sizeof(*v));
    if (!v)
        return -1;
    p->v = v;

    i = 0;
    while (i < len) {
        const char *seg = s + i, *amp = memchr(seg, '&', len - i), *eq;
        size_t seglen = amp ? (size_t)(amp - seg) : len - i;
        char *name = NULL, *value = NULL;

        i += seglen + 1;
        if (seglen == 0)
            continue; /* "a=1&&b=2" and a trailing '&' */
        eq = memchr(seg, '=', seglen);
        name = decode_field(seg, eq ? (size_t)(eq - seg) : seglen);
        value = eq ? decode_field(eq + 1, seglen - (size_t)(eq - seg) - 1) : strdup("");
        if (!name || !value) {
            free(name);
            free(value);
            goto fail;
        }
        if (name[0] == '\0') { /* "=x" names nothing */
            free(name);
            free(value);
            continue;
        }
        p->v[p->n].name = name;
        p->v[p->n].value = value;
        p->n++;
    }
    return 0;

fail:
    /* Leave p as it was before the call. */
    while (p->n > n0) {
        p->n--;
        free(p->v[p->n].name);
        free(p->v[p->n].value);
    }
    return -1;
}

const char *gw_params_get(const gw_params *p, const char *name)
{
    size_t i;

    if (!p || !name)
        return NULL;
    for (i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    }
    return NULL;
}

const char *gw_params_getf(const gw_params *p, const char *fmt, ...)
{
    char buf[256], *big = NULL;
    const char *ret = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if ((size_t)n >= sizeof(buf)) { /* rare: names are short */
        if (!(big = malloc((size_t)n + 1)))
            return NULL;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    ret = gw_params_get(p, big ? big : buf);
    free(big);
    return ret;
}

/* If name is "prefix.N" or "prefix.N.<anything>" with N a decimal without
 * leading zeros, return N (0 otherwise, or when N > max). */
static size_t list_index(const char *name, const char *prefix, size_t plen, size_t max)
{
    const char *c;
    size_t idx = 0;

    if (strncmp(name, prefix, plen) != 0 || name[plen] != '.')
        return 0;
    c = name + plen + 1;
    if (*c < '1' || *c > '9')
        return 0;
    for (; *c >= '0' && *c <= '9'; c++) {
        idx = idx * 10 + (size_t)(*c - '0');
        if (idx > max)
            return 0;
    }
    return (*c == '\0' || *c == '.') ? idx : 0;
}

size_t gw_params_list_len(const gw_params *p, const char *prefix)
{
    unsigned char *seen = NULL;
    size_t plen, i, count = 0;

    if (!p || !prefix || p->n == 0)
        return 0;
    plen = strlen(prefix);
    /* One pass marking the indices present: an unbroken run from 1 can
     * never be longer than the number of parameters, so n + 1 flags do. */
    seen = calloc(p->n + 1, 1);
    if (!seen)
        return 0;
    for (i = 0; i < p->n; i++)
        seen[list_index(p->v[i].name, prefix, plen, p->n)] = 1;
    while (count < p->n && seen[count + 1])
        count++;
    free(seen);
    return count;
}

void gw_params_release(gw_params *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}
