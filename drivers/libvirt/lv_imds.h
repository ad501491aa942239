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
/* ---- lv_imds_net.c: reaching 169.254.169.254 from instance networks ---- */

#define LV_IMDS_ADDR "169.254.169.254"
#define LV_IMDS_NETWORK "cloudgate-imds"

/* The dnsmasq option giving guests a route to LV_IMDS_ADDR via bridge_ip
 * (DHCP option 121) into buf.  0 or -1 (too small). */
int lv_imds_dhcp_route(const char *bridge_ip, char *buf, size_t len);
/* With metadata_listen on LV_IMDS_ADDR: define, start and autostart the
 * network holding that address on conn's host (failures logged). */
void lv_imds_net_ensure(cg_drv *drv, lv_host *h, virConnectPtr conn);

/* driver.h instance_metadata_options. */
int lv_imds_options(cg_drv *drv, const char *instance_id, const cg_metadata_options *chg,
                    cg_metadata_options *out, cg_error *err);

#endif
