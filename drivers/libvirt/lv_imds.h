/* cloudgate libvirt driver: each instance's metadata-service options
 * (lv_imds.c), one row per instance whose options were ever set. */
#ifndef LV_IMDS_H
#define LV_IMDS_H

#include "lv_driver.h"

/* The table.  0 or -1. */
int lv_imds_init(lv_state *st, cg_error *err);
/* Record a launching instance's options (0 fields: the defaults).  0 or -1. */
int lv_imds_put(lv_state *st, const char *instance_id, const cg_metadata_options *opts,
                cg_error *err);
/* Forget an instance's options (a launch rolled back, a record pruned). */
void lv_imds_forget(lv_state *st, const char *instance_id);
/* Set inst->metadata of every instance of list (defaults when no row). */
void lv_imds_fill_instances(cg_drv *drv, cg_instance_list *list);
/* driver.h instance_metadata_options. */
int lv_imds_options(cg_drv *drv, const char *instance_id, const cg_metadata_options *chg,
                    cg_metadata_options *out, cg_error *err);

#endif
