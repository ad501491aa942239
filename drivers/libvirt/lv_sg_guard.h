/* cloudgate libvirt driver: the host-side guard behind security group
 * filters (lv_sg_guard.c).
 *
 * Measured on libvirt 9.0 (iptables-nft): every time libvirt applies a
 * NIC's filter it deletes FORWARD's jumps to libvirt-in, libvirt-out and
 * libvirt-in-post and inserts them again at positions 1-3, one iptables
 * command at a time.  In between, traffic to a guest NIC meets none of
 * its nwfilter chain and is accepted by libvirt-in-post, the network's
 * LIBVIRT_FWX or FORWARD's policy.  (The NIC's new chain itself is safe:
 * it is appended behind the old one and filled before the old goes.)
 *
 * The guard is the chain CG-SG-GUARD, one DROP per NIC carrying a
 * cloudgate filter (matched as bridge port, --physdev-out), jumped to
 * from the top of libvirt-in-post and from FORWARD right behind the jump
 * to libvirt-in-post: both places a packet reaches only when it fell past
 * libvirt-out, and both survive libvirt's re-insertion.  Normally no
 * packet to such a NIC gets there (its chain ends in DROP).
 */
#ifndef LV_SG_GUARD_H
#define LV_SG_GUARD_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "../../gateway/error.h"

#define LV_SG_GUARD_CHAIN "CG-SG-GUARD"

/* 1 when name is a plausible interface name (1-15 of [A-Za-z0-9_.-], not
 * starting with '-'). */
int lv_sg_guard_ifname_ok(const char *name);

/* iptables-restore input (for --noflush) that makes the guard chain hold
 * exactly one DROP per interface of ifnames.  Malloc'd, or NULL with err
 * set (a bad name or out of memory). */
char *lv_sg_guard_rules(const char *const *ifnames, size_t n, cg_error *err);

/* The 1-based position in FORWARD for the guard's jump given `iptables -S
 * FORWARD`'s lines: just behind the jump to libvirt-in-post, or 1 when
 * there is none yet (libvirt's jumps, inserted at 1-3 later, go before
 * it).  0 when the guard's jump is there already. */
int lv_sg_guard_forward_pos(const char *const *lines, size_t n);

/* Make the guard on conn's host cover every running NIC whose filter is
 * a cloudgate one (idempotent; also repairs missing jumps).  Does nothing
 * on test:// or on a host that is not this machine.  0, or -1 with err. */
int lv_sg_guard_refresh(virConnectPtr conn, cg_error *err);

#endif
