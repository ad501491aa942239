/* cloudgate: security group list helpers (driver.h). */
#include <stdlib.h>

#include "driver.h"

void cg_sg_release(cg_sg *sg)
{
    size_t i;

    if (!sg)
        return;
    for (i = 0; i < sg->n_rules; i++)
        cg_tags_release(&sg->rules[i].tags);
    free(sg->rules);
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
