/* cloudgate: reading EC2 Query parameters: an index over the decoded pairs,
 * Filter.N.Name / Filter.N.Value.M filters with AWS wildcards, and
 * MaxResults / NextToken pagination.
 *
 * Errors are reported into a cg_error: CG_ERR_INVALID becomes EC2
 * InvalidParameterValue, CG_ERR_MISSING MissingParameter.
 */
#ifndef EC2_FILTER_H
#define EC2_FILTER_H

#include <stddef.h>

#include "../../drivers/driver.h"
#include "../../gateway/error.h"
#include "../../gateway/params.h"

/* Longest list (InstanceId.N, Filter.N, Filter.N.Value.M, ...) accepted. */
#define EC2_LIST_MAX 1000

/* ---- parameter index ---------------------------------------------------- */

/* The request's parameters sorted by name, so lookups cost O(log n) whatever
 * a client puts in a body (gw_params_get is a linear scan). */
typedef struct ec2_params {
    const gw_param **sorted;
    size_t n;
} ec2_params;

/* Index p (which must outlive ix).  0 or -1 (out of memory). */
int ec2_params_index(ec2_params *ix, const gw_params *p);
/* Free the index (not the parameters). Accepts NULL. */
void ec2_params_release(ec2_params *ix);
/* Value of the first parameter called name, or NULL. */
const char *ec2_params_get(const ec2_params *ix, const char *name);
const char *ec2_params_getf(const ec2_params *ix, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Length of the 1-based list prefix.1, prefix.2, ... where item N exists when
 * "prefix.N" or any "prefix.N.*" does; stops at the first gap.  Counts at
 * most EC2_LIST_MAX + 1, so callers can reject overlong lists. */
size_t ec2_params_list_len(const ec2_params *ix, const char *prefix);
/* The values of prefix.1 .. prefix.N as a malloc'd array of borrowed
 * strings (*out NULL when the list is empty).  More than EC2_LIST_MAX items
 * is CG_ERR_INVALID.  0 or -1. */
int ec2_params_strings(const ec2_params *ix, const char *prefix, const char ***out, size_t *n,
                       cg_error *err);

/* ---- filters ------------------------------------------------------------ */

typedef struct ec2_filter {
    char *name;
    char **values; /* patterns; OR'd */
    size_t n_values;
} ec2_filter;

typedef struct ec2_filters {
    ec2_filter *v; /* AND'd */
    size_t n;
} ec2_filters;

/* Read Filter.N.Name / Filter.N.Value.M.  allowed is a NULL-terminated list
 * of the filter names the action supports; an entry ending in ':' (e.g.
 * "tag:") admits any name with that prefix and a non-empty rest.  An unknown
 * name or a filter without values is CG_ERR_INVALID, a value without a name
 * CG_ERR_MISSING.  0 or -1. */
int ec2_filters_parse(const ec2_params *ix, const char *const *allowed, ec2_filters *out,
                      cg_error *err);
/* The same for a list not called "Filter" (DescribeImportImageTasks: "Filters"). */
int ec2_filters_parse_list(const ec2_params *ix, const char *list, const char *const *allowed,
                           ec2_filters *out, cg_error *err);
/* Free the contents. Accepts NULL. */
void ec2_filters_release(ec2_filters *f);

/* AWS filter wildcards: '*' matches any run of characters, '?' exactly one,
 * a backslash makes the next character literal.  Case-sensitive.  1 on a
 * match, else 0. */
int ec2_wildcard_match(const char *pattern, const char *s);

/* The state of evaluating one filter against one object. */
typedef struct ec2_match {
    const ec2_filter *filter;
    int matched;
} ec2_match;

/* Offer one of the object's values for the filter being evaluated (NULL is
 * ignored); it matches when any pattern of the filter matches it. */
void ec2_match_offer(ec2_match *m, const char *value);
/* Offer an unsigned number, as its decimal text. */
void ec2_match_offer_uint(ec2_match *m, unsigned long long value);
/* Handle the tag filters shared by every resource: "tag:KEY" (the value of
 * tag KEY), "tag-key" (every key), "tag-value" (every value).  Returns 1 when
 * name was one of them (values offered), else 0. */
int ec2_match_tags(ec2_match *m, const char *name, const cg_tags *tags);

/* Offers obj's values for filter name via ec2_match_offer*. */
typedef void (*ec2_field_fn)(const void *obj, const char *name, ec2_match *m, void *ud);

/* 1 when obj passes every filter (an empty set passes everything), else 0. */
int ec2_filters_match(const ec2_filters *f, const void *obj, ec2_field_fn field, void *ud);

/* ---- pagination --------------------------------------------------------- */

typedef struct ec2_page {
    size_t max;    /* items per page; 0: everything */
    char *after;   /* sort key of the last item of the previous page, or NULL */
    char kind[32]; /* what the token belongs to ("instances", "tags", ...) */
} ec2_page;

/* Read MaxResults (min..max; absent: no limit) and NextToken.  kind ties a
 * token to one listing so another's token is rejected.  Out-of-range
 * MaxResults and tokens we did not issue are CG_ERR_INVALID.  0 or -1. */
int ec2_page_parse(const ec2_params *ix, const char *kind, unsigned min, unsigned max,
                   ec2_page *out, cg_error *err);
/* Free the contents. Accepts NULL. */
void ec2_page_release(ec2_page *pg);

/* Sort key of the array element at elem (a pointer to the element, as for
 * qsort); keys must be unique within a listing. */
typedef const char *(*ec2_key_fn)(const void *elem);

/* Sort base (n elements of size bytes) by key. */
void ec2_sort(void *base, size_t n, size_t size, ec2_key_fn key);

/* Given base sorted by key, keep the page: the elements after pg->after,
 * at most pg->max of them, moved to the front; *n becomes their count.
 * *next_token gets a malloc'd token when elements remain beyond the page,
 * else NULL.  0 or -1 (out of memory, reported). */
int ec2_page_take(const ec2_page *pg, void *base, size_t *n, size_t size, ec2_key_fn key,
                  char **next_token, cg_error *err);

/* The opaque token for a page that ended with key (malloc'd, NULL on OOM). */
char *ec2_page_token(const char *kind, const char *key);

#endif
