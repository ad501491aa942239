/* cloudgate: security group list helpers (driver.h). */
#include <stddef.h>
#include <stdlib.h>

#include "driver.h"

void cg_sg_release(cg_sg *sg)
{
    if (!sg)
        return;
    cg_tagged_array_free(sg->rules, sg->n_rules, sizeof(*sg->rules), offsetof(cg_sg_rule, tags));
    sg->rules = NULL;
    sg->n_rules = 0;
    cg_tags_release(&sg->tags);
}

void cg_sg_list_release(cg_sg_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->n; i++)
        cg_sg_release(&list->v[i]);
    free(list->v);
    list->v = NULL;
    list->n = 0;
}
