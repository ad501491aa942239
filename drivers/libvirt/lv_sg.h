/* cloudgate libvirt driver: security groups (lv_sg.c), their records
 * (lv_sgstate.c) and their nwfilters (lv_nwfilter.h). */
#ifndef LV_SG_H
#define LV_SG_H

#include "lv_driver.h"

/* ---- lv_sgstate.c ---- */

/* Tables.  0 or -1. */
int lv_sgstate_init(lv_state *st, cg_error *err);
/* Give every VPC without one its "default" group (and forget the groups of
 * VPCs gone).  0 or -1. */
int lv_sgstate_ensure_defaults(lv_state *st, cg_error *err);
/* Every group with its rules and tags. */
int lv_sgstate_list(lv_state *st, cg_sg_list *out, cg_error *err);
/* Record g (id set, rules and tags included).  Unknown VPC:
 * CG_ERR_NOT_FOUND; name taken in the VPC: CG_ERR_CONFLICT. */
int lv_sgstate_add(lv_state *st, const cg_sg *g, cg_error *err);
/* Forget group id: CG_ERR_NOT_FOUND, CG_ERR_FORBIDDEN (default group),
 * CG_ERR_CONFLICT (an instance or another group's rule uses it). */
int lv_sgstate_delete(lv_state *st, const char *id, cg_error *err);
/* driver.h sg_rules_change's records; an unknown source group is
 * CG_ERR_MISSING.  All or nothing. */
int lv_sgstate_rules(lv_state *st, const char *group_id, int revoke, const cg_sg_rule *rules,
                     size_t n, cg_error *err);
/* Set (remove 0) or delete (remove 1) tags of "sg-...". */
int lv_sgstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove,
                    cg_error *err);
/* r = an all-protocol rule to cidr or group (the other NULL). */
void lv_sg_rule_all(cg_sg_rule *r, int egress, const char *cidr, const char *group);

/* ---- lv_sg.c (driver.h sg_*) ---- */

int lv_sg_list(cg_drv *drv, cg_sg_list *out, cg_error *err);
int lv_sg_create(cg_drv *drv, const cg_sg *spec, cg_sg *out, cg_error *err);
int lv_sg_delete(cg_drv *drv, const char *group_id, cg_error *err);
int lv_sg_rules_change(cg_drv *drv, const char *group_id, int revoke, const cg_sg_rule *rules,
                       size_t n, cg_error *err);
/* Intent kind: a group's filter is being made or removed (name
 * "FILTER@ZONE", data the filter's name). */
#define LV_INTENT_SG "sg-filter"
/* Repair an unfinished LV_INTENT_SG in conn: the filter goes unless a
 * group row names it.  0 (done) or -1 (try again at the next start). */
int lv_sg_fix_intent(cg_drv *drv, virConnectPtr conn, const char *filter);

#endif
