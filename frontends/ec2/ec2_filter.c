/* cloudgate: EC2 parameter index, filters and pagination (see ec2_filter.h). */
#include "ec2_filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/util.h"

/* ---- parameter index ---------------------------------------------------- */

static int param_cmp(const void *a, const void *b)
{
    const gw_param *x = *(const gw_param *const *)a;
    const gw_param *y = *(const gw_param *const *)b;
    int c = strcmp(x->name, y->name);

    /* Equal names keep arrival order (their place in gw_params.v), so a
     * lookup finds the first one as gw_params_get does. */
    if (c)
        return c;
    return x < y ? -1 : x > y;
}

int ec2_params_index(ec2_params *ix, const gw_params *p)
{
    size_t i;

    ix->sorted = NULL;
    ix->n = 0;
    if (!p || p->n == 0)
        return 0;
    if (!(ix->sorted = malloc(p->n * sizeof(*ix->sorted))))
        return -1;
    for (i = 0; i < p->n; i++)
        ix->sorted[i] = &p->v[i];
    ix->n = p->n;
    qsort(ix->sorted, ix->n, sizeof(*ix->sorted), param_cmp);
    return 0;
}

void ec2_params_release(ec2_params *ix)
{
    if (!ix)
        return;
    free(ix->sorted);
    ix->sorted = NULL;
    ix->n = 0;
}

/* First index whose name is >= name. */
static size_t lower_bound(const ec2_params *ix, const char *name)
{
    size_t lo = 0, hi = ix->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (strcmp(ix->sorted[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *ec2_params_get(const ec2_params *ix, const char *name)
{
    size_t i = lower_bound(ix, name);

    if (i < ix->n && strcmp(ix->sorted[i]->name, name) == 0)
        return ix->sorted[i]->value;
    return NULL;
}

const char *ec2_params_getf(const ec2_params *ix, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(name))
        return NULL;
    return ec2_params_get(ix, name);
}

static int list_item_exists(const ec2_params *ix, const char *prefix, size_t i)
{
    char name[256];
    size_t at, len;
    int n;

    n = snprintf(name, sizeof(name), "%s.%zu", prefix, i);
    if (n < 0 || (size_t)n + 1 >= sizeof(name))
        return 0;
    if (ec2_params_get(ix, name))
        return 1;
    /* "prefix.N." sorts before "prefix.N0", so the lower bound is the first
     * structured member of item N if there is one. */
    strcat(name, ".");
    len = (size_t)n + 1;
    at = lower_bound(ix, name);
    return at < ix->n && strncmp(ix->sorted[at]->name, name, len) == 0;
}

size_t ec2_params_list_len(const ec2_params *ix, const char *prefix)
{
    size_t i;

    for (i = 1; i <= EC2_LIST_MAX + 1; i++) {
        if (!list_item_exists(ix, prefix, i))
            break;
    }
    return i - 1;
}

int ec2_params_strings(const ec2_params *ix, const char *prefix, const char ***out, size_t *n,
                       cg_error *err)
{
    size_t len = ec2_params_list_len(ix, prefix), i;
    const char **v = NULL;
    const char *s;

    *out = NULL;
    *n = 0;
    if (len > EC2_LIST_MAX) {
        cg_error_set(err, CG_ERR_INVALID, "The list %s has more than %d items", prefix,
                     EC2_LIST_MAX);
        return -1;
    }
    if (len == 0)
        return 0;
    if (!(v = calloc(len, sizeof(*v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < len; i++) {
        /* An item that only has sub-members ("InstanceId.1.x") is no value. */
        if (!(s = ec2_params_getf(ix, "%s.%zu", prefix, i + 1))) {
            cg_error_set(err, CG_ERR_MISSING, "The request must contain the parameter %s.%zu",
                         prefix, i + 1);
            free(v);
            return -1;
        }
        v[i] = s;
    }
    *out = v;
    *n = len;
    return 0;
}

/* ---- filters ------------------------------------------------------------ */

static int filter_name_allowed(const char *const *allowed, const char *name)
{
    size_t len;

    for (; allowed && *allowed; allowed++) {
        len = strlen(*allowed);
        if (len > 0 && (*allowed)[len - 1] == ':') {
            if (strncmp(name, *allowed, len) == 0 && name[len] != '\0')
                return 1;
        } else if (strcmp(name, *allowed) == 0) {
            return 1;
        }
    }
    return 0;
}

void ec2_filters_release(ec2_filters *f)
{
    size_t i, j;

    if (!f)
        return;
    for (i = 0; i < f->n; i++) {
        free(f->v[i].name);
        for (j = 0; j < f->v[i].n_values; j++)
            free(f->v[i].values[j]);
        free(f->v[i].values);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

int ec2_filters_parse(const ec2_params *ix, const char *const *allowed, ec2_filters *out,
                      cg_error *err)
{
    return ec2_filters_parse_list(ix, "Filter", allowed, out, err);
}

int ec2_filters_parse_list(const ec2_params *ix, const char *list, const char *const *allowed,
                           ec2_filters *out, cg_error *err)
{
    ec2_filters f = {0};
    ec2_filter *cur;
    size_t count, i, j, nvals;
    char prefix[64];
    const char *name, *val;
    int ret = -1;

    out->v = NULL;
    out->n = 0;
    count = ec2_params_list_len(ix, list);
    if (count > EC2_LIST_MAX) {
        cg_error_set(err, CG_ERR_INVALID, "Too many filters (at most %d)", EC2_LIST_MAX);
        return -1;
    }
    if (count == 0)
        return 0;
    if (!(f.v = calloc(count, sizeof(*f.v))))
        goto oom;
    for (i = 1; i <= count; i++) {
        if (!(name = ec2_params_getf(ix, "%s.%zu.Name", list, i))) {
            cg_error_set(err, CG_ERR_MISSING,
                         "The request must contain the parameter %s.%zu.Name", list, i);
            goto cleanup;
        }
        if (!filter_name_allowed(allowed, name)) {
            cg_error_set(err, CG_ERR_INVALID, "The filter '%.200s' is invalid", name);
            goto cleanup;
        }
        snprintf(prefix, sizeof(prefix), "%.16s.%zu.Value", list, i);
        nvals = ec2_params_list_len(ix, prefix);
        if (nvals == 0) {
            cg_error_set(err, CG_ERR_INVALID, "The filter '%.200s' requires a value", name);
            goto cleanup;
        }
        if (nvals > EC2_LIST_MAX) {
            cg_error_set(err, CG_ERR_INVALID, "The filter '%.200s' has more than %d values", name,
                         EC2_LIST_MAX);
            goto cleanup;
        }
        cur = &f.v[f.n++];
        if (!(cur->name = strdup(name)) || !(cur->values = calloc(nvals, sizeof(char *))))
            goto oom;
        for (j = 1; j <= nvals; j++) {
            if (!(val = ec2_params_getf(ix, "%s.%zu", prefix, j))) {
                cg_error_set(err, CG_ERR_MISSING, "The request must contain the parameter %s.%zu",
                             prefix, j);
                goto cleanup;
            }
            if (!(cur->values[cur->n_values] = strdup(val)))
                goto oom;
            cur->n_values++;
        }
    }
    *out = f;
    f.v = NULL;
    f.n = 0;
    ret = 0;
    goto cleanup;

oom:
    cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
cleanup:
    ec2_filters_release(&f);
    return ret;
}

/* Bytes in the UTF-8 character at s (1 for a stray byte), so '?' matches a
 * character, not a byte. */
static size_t utf8_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = 1;

    if (c >= 0xc0) {
        while (n < 4 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n++;
    }
    return n;
}

int ec2_wildcard_match(const char *pattern, const char *s)
{
    const char *p = pattern;
    const char *star_p = NULL, *star_s = NULL;
    char lit;
    size_t plen;

    /* Greedy matching with one backtrack point (the last '*'): linear in
     * practice and never recursive, whatever a client sends. */
    while (*s) {
        if (*p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (*p == '?') {
            p++;
            s += utf8_len(s);
            continue;
        }
        lit = *p;
        plen = 1;
        if (*p == '\\' && p[1]) {
            lit = p[1];
            plen = 2;
        }
        if (*p && lit == *s) {
            p += plen;
            s++;
            continue;
        }
        if (!star_p)
            return 0;
        p = star_p;
        star_s += utf8_len(star_s);
        s = star_s;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

void ec2_match_offer(ec2_match *m, const char *value)
{
    size_t i;

    if (m->matched || !value)
        return;
    for (i = 0; i < m->filter->n_values; i++) {
        if (ec2_wildcard_match(m->filter->values[i], value)) {
            m->matched = 1;
            return;
        }
    }
}

void ec2_match_offer_uint(ec2_match *m, unsigned long long value)
{
    char num[32];

    snprintf(num, sizeof(num), "%llu", value);
    ec2_match_offer(m, num);
}

int ec2_match_tags(ec2_match *m, const char *name, const cg_tags *tags)
{
    size_t i;

    if (strncmp(name, "tag:", 4) == 0) {
        ec2_match_offer(m, cg_tags_get(tags, name + 4));
        return 1;
    }
    if (strcmp(name, "tag-key") == 0) {
        for (i = 0; tags && i < tags->n; i++)
            ec2_match_offer(m, tags->v[i].key);
        return 1;
    }
    if (strcmp(name, "tag-value") == 0) {
        for (i = 0; tags && i < tags->n; i++)
            ec2_match_offer(m, tags->v[i].value);
        return 1;
    }
    return 0;
}

int ec2_filters_match(const ec2_filters *f, const void *obj, ec2_field_fn field, void *ud)
{
    ec2_match m;
    size_t i;

    for (i = 0; f && i < f->n; i++) {
        m.filter = &f->v[i];
        m.matched = 0;
        field(obj, f->v[i].name, &m, ud);
        if (!m.matched)
            return 0;
    }
    return 1;
}

/* ---- pagination --------------------------------------------------------- */

char *ec2_page_token(const char *kind, const char *key)
{
    char *plain, *tok;

    if (!(plain = cg_asprintf("%s:%s", kind, key)))
        return NULL;
    tok = cg_base64_encode((const unsigned char *)plain, strlen(plain));
    free(plain);
    return tok;
}

void ec2_page_release(ec2_page *pg)
{
    if (!pg)
        return;
    free(pg->after);
    pg->after = NULL;
}

static int parse_uint(const char *s, unsigned long *out)
{
    unsigned long v = 0;

    if (!*s || strlen(s) > 9)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    *out = v;
    return 0;
}

int ec2_page_parse(const ec2_params *ix, const char *kind, unsigned min, unsigned max,
                   ec2_page *out, cg_error *err)
{
    const char *maxs = ec2_params_get(ix, "MaxResults");
    const char *tok = ec2_params_get(ix, "NextToken");
    unsigned char *plain = NULL;
    size_t plain_len = 0, klen = strlen(kind);
    unsigned long v;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    if (maxs) {
        if (parse_uint(maxs, &v) < 0 || v < min || v > max) {
            cg_error_set(err, CG_ERR_INVALID,
                         "Value (%.32s) for parameter maxResults is invalid. "
                         "Expecting a value between %u and %u.",
                         maxs, min, max);
            goto cleanup;
        }
        out->max = v;
    }
    /* An empty NextToken is what some clients send for "first page". */
    if (tok && *tok) {
        plain = cg_base64_decode(tok, strlen(tok), &plain_len);
        if (!plain || plain_len <= klen + 1 || strlen((char *)plain) != plain_len ||
            strncmp((char *)plain, kind, klen) != 0 || plain[klen] != ':') {
            cg_error_set(err, CG_ERR_INVALID, "The token '%.64s' is invalid.", tok);
            goto cleanup;
        }
        if (!(out->after = strdup((char *)plain + klen + 1))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    free(plain);
    if (ret < 0)
        ec2_page_release(out);
    return ret;
}

/* qsort has no context argument (qsort_r is not portable): the key
 * function travels in a thread-local, safe since qsort returns before the
 * thread sorts anything else. */
static _Thread_local ec2_key_fn sort_key;

static int sort_cmp(const void *a, const void *b)
{
    return strcmp(sort_key(a), sort_key(b));
}

void ec2_sort(void *base, size_t n, size_t size, ec2_key_fn key)
{
    const char *b = base;
    size_t i;

    /* Listings usually come sorted (the driver's cache keeps ids in
     * order): one pass instead of a merge sort's n log n compares. */
    for (i = 1; i < n && strcmp(key(b + (i - 1) * size), key(b + i * size)) <= 0; i++)
        ;
    if (i >= n)
        return;
    sort_key = key;
    qsort(base, n, size, sort_cmp);
    sort_key = NULL;
}

int ec2_page_take(const ec2_page *pg, void *base, size_t *n, size_t size, ec2_key_fn key,
                  char **next_token, cg_error *err)
{
    char *b = base;
    size_t lo = 0, hi = *n, mid, count;

    *next_token = NULL;
    if (pg->after) {
        /* The previous page's last item may be gone by now; start after
         * where it would sort. */
        while (lo < hi) {
            mid = lo + (hi - lo) / 2;
            if (strcmp(key(b + mid * size), pg->after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    count = *n - lo;
    if (pg->max && count > pg->max)
        count = pg->max;
    if (lo + count < *n) {
        if (!(*next_token = ec2_page_token(pg->kind, key(b + (lo + count - 1) * size)))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return -1;
        }
    }
    if (lo && count)
        memmove(b, b + lo * size, count * size);
    *n = count;
    return 0;
}
