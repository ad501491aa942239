/* cloudgate libvirt driver: security groups as libvirt nwfilters
 * (lv_nwfilter.c).
 *
 * A group is the filter "cg-sg-<id>" holding only accept rules; an
 * instance NIC's filter "cg-nic-<hash of its groups>" (shared by every NIC
 * with the same groups) references libvirt's clean-traffic
 * (anti-spoofing on $IP and $MAC, where the host has it), its groups' filters, accepts
 * established/related traffic and drops everything else: the groups' rules
 * are a union, as on EC2.
 */
#ifndef LV_NWFILTER_H
#define LV_NWFILTER_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "../driver.h"

#define LV_NWFILTER_GROUP "cg-sg-"
#define LV_NWFILTER_NICS "cg-nic-"
/* Before shared NIC filters: one per instance, "cg-i-<instance id>". */
#define LV_NWFILTER_NIC "cg-i-"

/* The member addresses of a group named as a rule's source. */
typedef struct lv_sg_peers {
    const char *group_id;
    const char *const *ips;
    size_t n;
} lv_sg_peers;

/* The filter of group g (no <uuid>: lv_nwfilter_define adds it); a rule
 * whose source is a group becomes, with by_set and when
 * lv_nwfilter_rule_by_set, one rule matching that group's ipset
 * (lv_sg_ipset.h), else one rule per member address in peers (none
 * known: no rule).  Malloc'd XML or NULL (reported). */
char *lv_nwfilter_group_xml(const cg_sg *g, const lv_sg_peers *peers, size_t n_peers, int by_set,
                            cg_error *err);
/* The filter of the NICs in groups group_ids[0..n) (any order), named
 * lv_nwfilter_nic_name, referencing the groups' filters, and libvirt's
 * clean-traffic when anti_spoofing.  Malloc'd XML or NULL (reported). */
char *lv_nwfilter_nic_xml(const char *const *group_ids, size_t n, int anti_spoofing, cg_error *err);
/* "cg-nic-" and 16 hex digits of FNV-1a (lv_nwfilter_mix) over the sorted
 * group ids into buf: one filter per set of groups, so a launch into
 * groups that already have NICs defines nothing (a define waits for
 * libvirt's nwfilter lock behind every NIC being started). */
void lv_nwfilter_nic_name(const char *const *group_ids, size_t n, char *buf, size_t len);
/* The group ids a NIC filter's XML references (its "cg-sg-" filterrefs)
 * into ids[0..max): how many, or -1 (unparsable, or more than max). */
int lv_nwfilter_nic_groups(const char *xml, char (*ids)[32], size_t max);
/* 1 when name is a cloudgate NIC filter (shared or per instance). */
int lv_nwfilter_is_nic(const char *name);
/* FNV-1a of s continuing from h, then a separator byte. */
unsigned long long lv_nwfilter_mix(unsigned long long h, const char *s);
/* 1 when conn has a filter called name, else 0. */
int lv_nwfilter_exists(virConnectPtr conn, const char *name);
/* 1 when conn has libvirt's stock "clean-traffic" filter (package
 * libvirt-daemon-config-nwfilter), else 0. */
int lv_nwfilter_has_clean_traffic(virConnectPtr conn);
/* 1 when r, a rule whose source is a group, can match that group's set:
 * an all-protocol rule (the default group's own).  The others name each
 * member address. */
int lv_nwfilter_rule_by_set(const cg_sg_rule *r);
/* "cg-sg-<id>" into buf. */
void lv_nwfilter_group_name(const char *group_id, char *buf, size_t len);

/* Define (or redefine, keeping its UUID) the filter xml in conn.  libvirt
 * re-applies it to every running NIC that uses it before returning.
 * 0 done, 1 skipped (the test:// driver, which has no nwfilter), -1. */
int lv_nwfilter_define(virConnectPtr conn, const char *xml, cg_error *err);
/* Undefine filter name; absent is fine.  0, 1 skipped (test://), -1. */
int lv_nwfilter_undefine(virConnectPtr conn, const char *name, cg_error *err);
/* Define xmls[0..n) in every zone of drv, concurrently (each define waits
 * for libvirt to re-apply the filter to its NICs, ~3 s each).  0 or -1 (the
 * first failure reported; the others are still tried).  With
 * skip_unreachable, a zone that cannot be reached is left out (warned) and
 * *skipped (when not NULL) counts it: refreshes that follow a change
 * elsewhere must not wait for, or fail on, a zone that is down. */
int lv_nwfilter_define_all(cg_drv *drv, char *const *xmls, size_t n, int skip_unreachable,
                           size_t *skipped, cg_error *err);
/* Undefine filter name in every zone.  0 or -1. */
int lv_nwfilter_undefine_all(cg_drv *drv, const char *name, cg_error *err);

#endif
