/* cloudgate: IPv4 blocks and the VPC/subnet lists of drivers/driver.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* The mask of a prefix length, host order. */
static unsigned mask_of(unsigned prefix)
{
    return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

/* One decimal number of 1..3 digits, no leading zero, up to max; *s moves
 * past it.  0 or -1. */
static int read_num(const char **s, unsigned max, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;
    int digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 3) {
        v = v * 10 + (unsigned)(*p - '0');
        p++;
        digits++;
    }
    if (!digits || (digits > 1 && **s == '0') || v > max || (*p >= '0' && *p <= '9'))
        return -1;
    *s = p;
    *out = v;
    return 0;
}

int cg_cidr_parse(const char *s, cg_cidr *out)
{
    unsigned octet, addr = 0, prefix;
    int i;

    if (!s)
        return -1;
    for (i = 0; i < 4; i++) {
        if (read_num(&s, 255, &octet) < 0 || *s++ != (i < 3 ? '.' : '/'))
            return -1;
        addr = (addr << 8) | octet;
    }
    if (read_num(&s, 32, &prefix) < 0 || *s || (addr & ~mask_of(prefix)))
        return -1;
    out->addr = addr;
    out->prefix = prefix;
    return 0;
}

void cg_cidr_format(const cg_cidr *c, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u.%u/%u", c->addr >> 24, (c->addr >> 16) & 255,
             (c->addr >> 8) & 255, c->addr & 255, c->prefix);
}

int cg_cidr_contains(const cg_cidr *outer, const cg_cidr *inner)
{
    return inner->prefix >= outer->prefix &&
           (inner->addr & mask_of(outer->prefix)) == outer->addr;
}

int cg_cidr_overlap(const cg_cidr *a, const cg_cidr *b)
{
    return cg_cidr_contains(a, b) || cg_cidr_contains(b, a);
}

void cg_vpc_list_release(cg_vpc_list *list)
{
    if (!list)
        return;
    cg_tagged_array_free(list->v, list->n, sizeof(*list->v), offsetof(cg_vpc, tags));
    list->v = NULL;
    list->n = 0;
}

void cg_subnet_list_release(cg_subnet_list *list)
{
    if (!list)
        return;
    cg_tagged_array_free(list->v, list->n, sizeof(*list->v), offsetof(cg_subnet, tags));
    list->v = NULL;
    list->n = 0;
}
