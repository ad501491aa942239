/* cloudgate: the kinds of EC2 resources that carry tags (ec2_tag_kinds.c),
 * one row each: CreateTags, DeleteTags and DescribeTags know a kind only
 * through its row.  A new kind is one more row and its two functions.
 */
#ifndef EC2_TAG_KINDS_H
#define EC2_TAG_KINDS_H

#include <stddef.h>

#include "ec2_internal.h"

/* One tagged resource as a kind lists it (id and tags are copies). */
typedef struct ec2_tagged {
    char *id;
    cg_tags tags;
} ec2_tagged;

typedef struct ec2_tagged_list {
    ec2_tagged *v;
    size_t n;
} ec2_tagged_list;

void ec2_tagged_list_release(ec2_tagged_list *list);

typedef struct ec2_tag_kind {
    const char *prefix;    /* of its ids: "vol-" (then 8 or 17 hex digits) */
    const char *type;      /* resource-type as DescribeTags reports it: "volume" */
    const char *noun;      /* in messages: "volume" */
    const char *not_found; /* AWS code for a well-formed id that does not exist */
    const char *malformed; /* AWS code for a bad id with this prefix */
    int display;           /* takes the cloudgate:display setting (ec2_display_set) */
    /* Every resource of the kind with its tags, appended to out.  0 or -1
     * (reported on c). */
    int (*list)(ec2_call *c, ec2_tagged_list *out);
    /* Add or replace (remove 0) or delete (remove 1; a NULL value: any
     * value) tags of one resource.  0 or -1 (err set, not reported). */
    int (*edit)(ec2_call *c, const char *id, const cg_tags *tags, int remove, cg_error *err);
} ec2_tag_kind;

extern const ec2_tag_kind ec2_tag_kinds[];
extern const size_t ec2_n_tag_kinds;

/* The kind whose prefix id starts with, or NULL. */
const ec2_tag_kind *ec2_tag_kind_of(const char *id);

/* The resource called id in list, or NULL. */
const ec2_tagged *ec2_tagged_find(const ec2_tagged_list *list, const char *id);

#endif
