/* cloudgate-admin v2v-*: external VM providers (virt-v2v sources) and
 * their VMs. */
#ifndef CG_ADMIN_V2V_H
#define CG_ADMIN_V2V_H

#include "drivers/driver.h"
#include "gateway/config.h"

/* True if cmd is one of the v2v-* commands. */
int cg_admin_is_v2v(const char *cmd);

/* Run v2v-add, v2v-list, v2v-remove, v2v-vms or v2v-check (argv[0] is the
 * command).  Returns an exit status. */
int cg_admin_v2v(const cg_config *cfg, int argc, char **argv);

/* v2v-import PROVIDER VM... (admin_v2v_import.c): one import job per VM,
 * followed with a progress line each.  Returns an exit status. */
int cg_admin_v2v_import(const cg_config *cfg, const cg_driver *d, cg_drv *drv, int argc,
                        char **argv);

#endif
