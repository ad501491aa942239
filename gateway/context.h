/* cloudgate: what a frontend handler needs, shared read-only by all workers. */
#ifndef GW_CONTEXT_H
#define GW_CONTEXT_H

#include "../drivers/driver.h"
#include "auth.h"
#include "config.h"
#include "../engine/images.h"
#include "../engine/jobs.h"
#include "keypairs.h"

typedef struct cimi_store cimi_store; /* frontends/cimi/cimi.h */

typedef struct gw_ctx {
    const cg_config *cfg;
    const gw_credentials *creds;
    const cg_driver *driver;
    cg_drv *drv;
    cg_keystore *keys;
    cg_jobs *jobs;       /* long-running operations */
    cimi_store *cimi;    /* CIMI-only resources (templates) */
    cg_core core;        /* cfg, driver, drv and jobs, for the engine's calls */
} gw_ctx;

#endif
