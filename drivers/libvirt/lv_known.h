/* cloudgate libvirt driver: the last known instances of each zone.
 *
 * A zone's instances live in its cache, which libvirt fills at each connect.
 * A gateway that starts while a host is away would show none of that host's
 * instances, and answer InvalidInstanceID.NotFound for each.  So the host's
 * thread saves what its cache holds to SQLite whenever it changed (at most
 * every LV_HOST_CHANGED_SEC, and at a clean stop), and a new host's cache
 * starts from that: the instances show with their last known state,
 * impaired, until the first connection replaces them with libvirt's view.
 */
#ifndef LV_KNOWN_H
#define LV_KNOWN_H

#include "lv_host.h"

/* lv_host_hooks.starting (arg: the cg_drv): fill h's cache from the store. */
void lv_known_load(lv_host *h, void *arg);
/* lv_host_hooks.changed (arg: the cg_drv): save h's cache, when this process
 * reconciles (the admin CLI opens the driver too, and leaves it to the
 * daemon).  0 or -1 (logged). */
int lv_known_save(lv_host *h, void *arg);

#endif
