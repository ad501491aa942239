/* cloudgate libvirt driver: the members of a source group as a kernel
 * ipset (lv_sg_ipset.c).
 *
 * A rule whose source is a group ("allow from members of sg-X") used to
 * become one nwfilter rule per member address, so every member that got
 * its lease, joined or left redefined the filters naming sg-X, and libvirt
 * re-applied them to every NIC using them (~3 s per NIC): a launch of N
 * into a self-referencing default group cost N^2 re-applies.  When every
 * zone's libvirt runs on this machine, the rule is instead one nwfilter
 * rule matching the ipset "cg-sg-<id>" (libvirt's ipset attribute), and a
 * membership change is one `ipset restore` that swaps in the new members:
 * the filters do not change.  A zone on another host (ipsets are that
 * host's kernel's) keeps the per-address rules.
 */
#ifndef LV_SG_IPSET_H
#define LV_SG_IPSET_H

#include <stddef.h>

#include "lv_driver.h"
#include "lv_nwfilter.h"

/* 1 when source groups are ipsets for drv: every zone is a local libvirt
 * (no host in its URI, not the test driver) and the ipset tool works.
 * Decided at the first call and kept: the filters' form must not change
 * under a running gateway. */
int lv_sg_ipset_on(cg_drv *drv);

/* The set of group_id ("cg-sg-<id>", the name of its filter) into buf. */
void lv_sg_ipset_name(const char *group_id, char *buf, size_t len);

/* `ipset restore` input that makes the set of each of peers[0..n) exist
 * and, with fill, hold exactly its IPv4 addresses: filled aside and
 * swapped in, so a set is never seen half-filled.  Addresses that are not
 * dotted IPv4 are left out.  Without fill a set keeps what it has (made
 * empty when missing: after the host's reboot).  Malloc'd, or NULL with
 * err (a bad group id or out of memory). */
char *lv_sg_ipset_script(const lv_sg_peers *peers, size_t n, int fill, cg_error *err);

/* Run that script.  0, or -1 with err. */
int lv_sg_ipset_write(const lv_sg_peers *peers, size_t n, int fill, cg_error *err);

/* Destroy group_id's set, if sets are on and there is one; one still in
 * use stays (warned).  For a group whose filter is gone. */
void lv_sg_ipset_destroy(cg_drv *drv, const char *group_id);

#endif
