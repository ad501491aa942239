/* cloudgate-admin image-import and jobs: image jobs run by the admin
 * process, and the job store read while the daemon runs its own. */
#ifndef CG_ADMIN_IMAGES_H
#define CG_ADMIN_IMAGES_H

#include "drivers/driver.h"
#include "gateway/config.h"

/* image-import URL [options] (argv[0] is the command): submits the import
 * as a job in this process, follows it to its end and prints the image or
 * volume id.  SIGINT/SIGTERM cancel it (exit 130 once rolled back).
 * Returns an exit status. */
int cg_admin_image_import(const cg_config *cfg, const cg_driver *d, cg_drv *drv, int argc,
                          char **argv);

/* jobs [--watch ID | --log ID]: list, follow or print the log of jobs; the
 * store only (no libvirt).  Returns an exit status. */
int cg_admin_jobs(const cg_config *cfg, int argc, char **argv);

/* After image-register: inspect the new image and print the OS found on
 * stderr; a failure is a warning only. */
void cg_admin_inspect_registered(const cg_config *cfg, const cg_driver *d, cg_drv *drv,
                                 const char *image_id);

#endif
