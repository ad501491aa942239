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
/* One instance_groups row: instance_id is in group_id. */
typedef struct lv_sg_member {
    char instance_id[24];
    char group_id[32];
} lv_sg_member;

/* Every row into *out (malloc'd array of n).  0 or -1. */
int lv_sgstate_members(lv_state *st, lv_sg_member **out, size_t *n, cg_error *err);
/* Make ids[0..n) instance_id's groups (n 0: forget them).  An unknown group
 * is CG_ERR_NOT_FOUND.  0 or -1. */
int lv_sgstate_instance_set(lv_state *st, const char *instance_id, const char *const *ids,
                            size_t n, cg_error *err);
/* The default group of vpc_id into buf.  0 or -1. */
int lv_sgstate_default_of(lv_state *st, const char *vpc_id, char *buf, size_t len,
                          cg_error *err);
/* r = an all-protocol rule to cidr or group (the other NULL). */
void lv_sg_rule_all(cg_sg_rule *r, int egress, const char *cidr, const char *group);

/* ---- lv_sg.c (driver.h sg_*) ---- */

int lv_sg_list(cg_drv *drv, cg_sg_list *out, cg_error *err);
int lv_sg_create(cg_drv *drv, const cg_sg *spec, cg_sg *out, cg_error *err);
int lv_sg_delete(cg_drv *drv, const char *group_id, cg_error *err);
int lv_sg_rules_change(cg_drv *drv, const char *group_id, int revoke, const cg_sg_rule *rules,
                       size_t n, cg_error *err);
/* The members of sources[0..n) changed: rewrite the source groups' sets
 * (lv_sg_ipset.h) and redefine, concurrently, the filters of the groups
 * whose rules name one of them by its members' addresses (without sets:
 * every rule naming them).  0 or -1. */
int lv_sg_sync_sources(cg_drv *drv, const char *const *sources, size_t n, cg_error *err);
/* 1 (once) when a refresh left out a zone that was down and every zone is
 * up again: the source-group filters should be redefined. */
int lv_sg_refresh_pending(cg_drv *drv);

/* Define the filters of groups ids[0..n) that conn lacks (a host whose
 * filters were lost, or a zone added since).  0 or -1. */
int lv_sg_ensure_filters(cg_drv *drv, virConnectPtr conn, const char *const *ids, size_t n,
                         cg_error *err);
/* 1 while the calling thread holds the lock of group changes. */
int lv_sg_lock_held(void);

/* ---- lv_sg_inst.c: instances in groups ---- */

/* At launch, in RunInstances: record instance_id in ids[0..n) (none: the
 * default group of the VPC of subnet_id, NULL meaning zone's default
 * subnet).  0 or -1. */
int lv_sg_launch(cg_drv *drv, const char *instance_id, const char *subnet_id, const char *zone,
                 const char *const *ids, size_t n, cg_error *err);
/* Then in the launch worker, before the domain is defined: define the NIC
 * filter of the groups recorded for instance_id in conn (the instance's
 * zone), whose name goes into filter ("" on test://, which has no
 * nwfilter).  Kept out of the request: a filter definition makes libvirt
 * rebuild the host's rules (about half a second on qemu:///system).
 * 0 or -1. */
int lv_sg_launch_filter(cg_drv *drv, virConnectPtr conn, const char *instance_id, char *filter,
                        size_t len, cg_error *err);
/* The instance's domain is gone: undefine its NIC filter and forget its
 * groups (a failure is logged and keeps the rows: lv_sg_reconcile_zone
 * removes both at the next start). */
void lv_sg_instance_gone(cg_drv *drv, virConnectPtr conn, const char *instance_id);
/* driver.h instance_set_groups. */
int lv_sg_instance_set_groups(cg_drv *drv, const char *instance_id, const char *const *ids,
                              size_t n, cg_error *err);
/* Fill each instance's groups (recorded ones; none recorded: its VPC's
 * default group).  Failures leave them empty (logged).  all: list is every
 * instance, and group filters whose source members' addresses changed
 * since they were built are redefined. */
void lv_sg_fill_instances(cg_drv *drv, cg_instance_list *list, int all);
/* At a zone's start: NIC filters ("cg-i-<id>") of this gateway's instances
 * (group rows here) whose domain is gone are undefined with the rows;
 * another gateway's stay, even without a domain (its launch may be between
 * the filter and the define). */
void lv_sg_reconcile_zone(cg_drv *drv, virConnectPtr conn);

/* Intent kind: a group's filter is being made or removed (name
 * "FILTER@ZONE", data the filter's name). */
/* With source groups as ipsets (lv_sg_ipset.h), at a zone's connect:
 * every source group's set exists (the host may have rebooted: libvirt
 * cannot start a NIC whose filter names a missing set), and a filter
 * built before sets is rebuilt with them. */
void lv_sg_sets_reconcile(cg_drv *drv, virConnectPtr conn);
#define LV_INTENT_SG "sg-filter"
/* Repair an unfinished LV_INTENT_SG in conn: the filter goes unless a
 * group row names it.  0 (done) or -1 (try again at the next start). */
int lv_sg_fix_intent(cg_drv *drv, virConnectPtr conn, const char *filter);

#endif
