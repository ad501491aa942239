/* cloudgate libvirt driver: private state shared by the lv_*.c files.
 *
 * lv_driver.c holds the table (lv_driver, declared in drivers/driver.h),
 * open/close, zones and listing; lv_images.c the templates; lv_instances.c
 * the instance lifecycle; lv_attrs.c the instance attributes (user-data,
 * tags, ModifyInstanceAttribute, console output).
 */
#ifndef LV_DRIVER_H
#define LV_DRIVER_H

#include <pthread.h>

#include <libvirt/libvirt.h>

#include "../driver.h"
#include "lv_host.h"
#include "lv_state.h"

struct cg_drv {
    const cg_config *cfg;      /* the caller's; must outlive the driver */
    lv_state *state;
    lv_host **hosts;           /* one per configured zone, in config order */
    size_t n_hosts;
    int events_started;
    /* Tag edits that live only in SQLite (images, terminated instances) are
     * read-modify-write: one at a time. */
    pthread_mutex_t tags_lock;
    time_t next_prune;         /* atomic: when expired records are deleted next */
};

/* The host whose cache holds instance id, or NULL. */
lv_host *lv_drv_find_instance(cg_drv *drv, const char *id);
/* The host of zone `name`, or NULL. */
lv_host *lv_drv_find_zone(cg_drv *drv, const char *name);
/* Into buf: the serial console log of instance id (console_dir/<id>.log,
 * console_dir defaulting to STATE_DIR/console), or with id NULL the directory. */
void lv_drv_console_path(const cg_drv *drv, const char *id, char *buf, size_t len);
/* "User initiated (YYYY-MM-DD hh:mm:ss GMT)" for now, into buf. */
void lv_user_initiated(char *buf, size_t len);

/* A reference to a zone's connection (virConnectClose it), or NULL with
 * CG_ERR_NOT_FOUND / CG_ERR_UNAVAILABLE.  For tests and tools that look at
 * libvirt directly: a test:///FILE world exists only inside this connection. */
virConnectPtr lv_driver_zone_conn(cg_drv *drv, const char *zone, cg_error *err);

/* ---- lv_images.c ---- */

int lv_image_list(cg_drv *drv, cg_image_list *out, cg_error *err);
/* Upload (disk_path) or adopt (volume) the template in every zone; kernel and
 * initrd are copied to STATE_DIR/images/<ami-id>/. */
int lv_image_register(cg_drv *drv, const cg_image_spec *spec, cg_image *out, cg_error *err);
/* Forget the image; an uploaded volume is deleted unless instances use it. */
int lv_image_deregister(cg_drv *drv, const char *image_id, cg_error *err);
/* Set (remove == 0) or delete (remove == 1) tags of an image. */
int lv_image_tags(cg_drv *drv, const char *image_id, const cg_tags *tags, int remove,
                  cg_error *err);

/* ---- lv_instances.c ---- */

/* The instances come back as "pending", as RunInstances reports them. */
int lv_instance_run(cg_drv *drv, const cg_launch_spec *spec, cg_instance_list *out,
                    cg_error *err);
/* The state changes report the state each instance is in when the call
 * returns (e.g. running after a start: the launch is synchronous). */
int lv_instance_start(cg_drv *drv, const char *id, cg_state_change *chg, cg_error *err);
int lv_instance_stop(cg_drv *drv, const char *id, int force, cg_state_change *chg,
                     cg_error *err);
int lv_instance_reboot(cg_drv *drv, const char *id, cg_error *err);
int lv_instance_terminate(cg_drv *drv, const char *id, cg_state_change *chg, cg_error *err);
/* Find an instance and mark it busy (lv_cache_release it).  Returns its host
 * with a copy in *inst, or NULL: then *terminated says whether it is a
 * retained terminated instance (copied into *inst, nothing reported), else
 * the error is reported. */
lv_host *lv_instance_take(cg_drv *drv, const char *id, cg_instance *inst, int *terminated,
                          cg_error *err);
/* lv_instance_take for operations on a live instance: a terminated one is
 * CG_ERR_STATE, and inst is released whenever NULL is returned. */
lv_host *lv_instance_take_live(cg_drv *drv, const char *id, cg_instance *inst, cg_error *err);
/* Look a domain up; NULL with the error reported (NOT_FOUND when gone). */
virDomainPtr lv_domain_get(virConnectPtr conn, const char *id, cg_error *err);

/* ---- lv_attrs.c ---- */

int lv_instance_user_data(cg_drv *drv, const char *id, unsigned char **data, size_t *len,
                          cg_error *err);
/* Set (remove == 0) or delete (remove == 1) tags of an instance. */
int lv_instance_tags(cg_drv *drv, const char *id, const cg_tags *tags, int remove,
                     cg_error *err);
/* ModifyInstanceAttribute (driver.h, instance_modify). */
int lv_instance_modify(cg_drv *drv, const char *id, const cg_instance_change *chg,
                       cg_error *err);
/* GetConsoleOutput (driver.h, instance_console): read from console_dir on
 * this machine, where virtlogd of a local libvirtd writes it. */
int lv_instance_console(cg_drv *drv, const char *id, size_t max_bytes, unsigned char **data,
                        size_t *len, time_t *when, cg_error *err);

#endif
