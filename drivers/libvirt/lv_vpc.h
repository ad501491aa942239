/* cloudgate libvirt driver: VPCs and subnets as libvirt networks (lv_vpc.c)
 * and their records (lv_netstate.c).
 *
 * A VPC is one isolated libvirt network, "cg-<vpc-id>", defined and started
 * in every zone with the VPC's first address as its <ip>; a subnet is a
 * DHCP range of that network in its own zone's copy.  The configured
 * instance network is the default VPC, with one default subnet per zone.
 */
#ifndef LV_VPC_H
#define LV_VPC_H

#include "lv_driver.h"

/* ---- lv_netstate.c ---- */

/* Tables, and the default VPC / default subnets' rows.  0 or -1. */
int lv_netstate_init(lv_state *st, const cg_config *cfg, cg_error *err);
/* Every row (CIDRs as stored: "" for the defaults), tags included. */
int lv_netstate_vpcs(lv_state *st, cg_vpc_list *out, cg_error *err);
int lv_netstate_subnets(lv_state *st, cg_subnet_list *out, cg_error *err);
int lv_netstate_vpc_add(lv_state *st, const cg_vpc *vpc, cg_error *err);
int lv_netstate_subnet_add(lv_state *st, const cg_subnet *subnet, cg_error *err);
/* Delete a non-default VPC without subnets and security groups other than
 * its default one (lv_sgstate.c) / a non-default subnet no instance_nics
 * row names: rows deleted (0 or 1), or -1. */
int lv_netstate_vpc_delete(lv_state *st, const char *id, cg_error *err);
int lv_netstate_subnet_delete(lv_state *st, const char *id, cg_error *err);
/* Remove a non-default VPC's rows, its subnets' and their NICs' (the
 * network is gone).  0 or -1. */
int lv_netstate_vpc_forget(lv_state *st, const char *id, cg_error *err);
/* Set (remove 0) or delete (remove 1) tags of "vpc-..." or "subnet-...". */
int lv_netstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove,
                     cg_error *err);
/* Record / forget that an instance's NIC is in subnet_id (eni_id: its id). */
int lv_netstate_nic_add(lv_state *st, const char *instance_id, const char *subnet_id,
                        const char *eni_id, cg_error *err);
void lv_netstate_nic_delete(lv_state *st, const char *instance_id);
/* One recorded NIC: the instance and its subnet. */
typedef struct lv_nic {
    char instance_id[24];
    char subnet_id[32];
} lv_nic;

/* Every recorded NIC into *out (malloc'd array of n).  0 or -1. */
int lv_netstate_nics(lv_state *st, lv_nic **out, size_t *n, cg_error *err);
/* Forget subnet_id's NICs of instances not in live or terminated.  0 or -1. */
int lv_netstate_nic_prune(lv_state *st, const char *subnet_id, const cg_instance_list *live,
                          cg_error *err);

/* ---- lv_vpc.c (driver.h vpc_* and subnet_*) ---- */

/* Held by every change to networks, subnets and NIC records. */
extern pthread_mutex_t lv_vpc_lock;

int lv_vpc_list(cg_drv *drv, cg_vpc_list *out, cg_error *err);
int lv_vpc_create(cg_drv *drv, const char *cidr, const cg_tags *tags, cg_vpc *out,
                  cg_error *err);
int lv_vpc_delete(cg_drv *drv, const char *vpc_id, cg_error *err);
int lv_subnet_list(cg_drv *drv, cg_subnet_list *out, cg_error *err);
int lv_subnet_create(cg_drv *drv, const cg_subnet_spec *spec, cg_subnet *out, cg_error *err);
int lv_subnet_delete(cg_drv *drv, const char *subnet_id, cg_error *err);
/* Intent kind: a VPC's network is being made (name "NETWORK@ZONE", data
 * the network's name). */
#define LV_INTENT_VPC "vpc-network"
/* Repair an unfinished LV_INTENT_VPC in conn: the network goes unless a
 * VPC row names it.  0 (done) or -1 (try again at the next start). */
int lv_vpc_fix_intent(cg_drv *drv, virConnectPtr conn, const char *network);
/* At a zone's first connection, with one zone: a VPC row whose network
 * libvirt no longer has is removed (libvirt says what exists).  Networks
 * without a row are left alone: another gateway may share the host. */
void lv_vpc_reconcile_zone(cg_drv *drv, lv_host *h, virConnectPtr conn);

/* ---- lv_vpc_nics.c: instances in subnets ---- */

/* The libvirt network a launch in zone uses for subnet_id (NULL: the
 * configured one) into net.  Unknown subnet: CG_ERR_NOT_FOUND; one of
 * another zone: CG_ERR_INVALID.  0 or -1. */
int lv_vpc_launch_network(cg_drv *drv, const char *subnet_id, const char *zone, char *net,
                          size_t len, cg_error *err);
/* Record instance_id (cached already) in subnet_id.  0 or -1. */
int lv_vpc_nic_add(cg_drv *drv, const char *instance_id, const char *subnet_id, cg_error *err);
/* Fill each instance's vpc_id, subnet_id and eni_id (terminated ones keep
 * none, as on EC2).  Failures leave them empty (logged). */
void lv_vpc_fill_instances(cg_drv *drv, cg_instance_list *list);
/* Append the DHCP leases of conn's active VPC networks to *all (n leases,
 * malloc'd as libvirt returns them): the new count.  Errors add nothing. */
int lv_vpc_add_leases(virConnectPtr conn, virNetworkDHCPLeasePtr **all, int n);

#endif
