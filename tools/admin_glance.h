/* cloudgate-admin glance-*: Glance providers and their images. */
#ifndef CG_ADMIN_GLANCE_H
#define CG_ADMIN_GLANCE_H

#include "gateway/config.h"

/* True if cmd is one of the glance-* commands. */
int cg_admin_is_glance(const char *cmd);

/* Run glance-add, glance-list, glance-remove, glance-images or
 * glance-download (argv[0] is the command).  Returns an exit status. */
int cg_admin_glance(const cg_config *cfg, int argc, char **argv);

#endif
