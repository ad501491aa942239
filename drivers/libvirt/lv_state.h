/* cloudgate libvirt driver: what libvirt cannot hold, kept in SQLite
 * (STATE_DIR/cloudgate.db): images (templates) and their tags, instance
 * user-data, what rebuilds an instance's cloud-init seed, client tokens and
 * the terminated instances still shown.
 *
 * One lv_state per driver; every function is thread-safe (a mutex keeps the
 * multi-statement transactions of threads sharing the handle apart).
 */
#ifndef LV_STATE_H
#define LV_STATE_H

#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

#include "../driver.h"

typedef struct lv_state lv_state;

/* Open the database and create the driver's tables.  NULL on failure
 * (reported).  lv_state_close accepts NULL. */
lv_state *lv_state_open(const cg_config *cfg, cg_error *err);
void lv_state_close(lv_state *st);

/* ---- images ---- */

/* Insert an image (its tags included).  owned: the volume was uploaded by
 * cloudgate and is deleted with the image.  CG_ERR_CONFLICT on a duplicate
 * name.  0 or -1. */
int lv_state_image_add(lv_state *st, const cg_image *img, int owned, cg_error *err);
/* Read one image into out (caller releases); owned may be NULL.
 * 1 found, 0 not found (not reported), -1 error. */
int lv_state_image_get(lv_state *st, const char *id, cg_image *out, int *owned, cg_error *err);
/* All images, oldest first, appended to out.  0 or -1. */
int lv_state_image_list(lv_state *st, cg_image_list *out, cg_error *err);
/* 1 deleted, 0 not found, -1 error. */
int lv_state_image_delete(lv_state *st, const char *id, cg_error *err);
/* An image one of whose further disks is made from snapshot_id: 1 (its id
 * into image_id), 0 none, -1 error. */
int lv_state_image_mapping_user(lv_state *st, const char *snapshot_id, char *image_id, size_t len,
                                cg_error *err);
/* Replace all tags of an image.  0 or -1. */
/* Rewrite every column of an existing (owned) image and its tags, but its
 * description and launch permissions (lv_state_image_set_access's). */
int lv_state_image_replace(lv_state *st, const cg_image *img, cg_error *err);
/* Move an image to state ("pending", "available", "failed") with a reason;
 * volume (NULL: unchanged) and size (0: unchanged) once its disk exists. */
int lv_state_image_set_state(lv_state *st, const char *id, const char *state,
                             const char *reason, const char *volume, unsigned long long size,
                             cg_error *err);
/* Store the cloud-init seed format ("nocloud" or "configdrive"). */
int lv_state_image_set_seed_format(lv_state *st, const char *id, const char *format,
                                   cg_error *err);
/* Store what inspection found (architecture follows os->arch when set). */
int lv_state_image_set_os(lv_state *st, const char *id, const cg_os_info *os, cg_error *err);
/* Store an image's description (NULL or "": none) and launch permissions
 * (launch_users: space-separated account ids, NULL or "": none).  0 or -1
 * (CG_ERR_NOT_FOUND when the image is gone). */
int lv_state_image_set_access(lv_state *st, const char *id, const char *description, int is_public,
                              const char *launch_users, cg_error *err);
/* Record a launch from image id at when (kept when an earlier one is
 * later).  0 or -1. */
int lv_state_image_set_launched(lv_state *st, const char *id, time_t when, cg_error *err);
/* Store an image's display default (HEADLESS, VNC or SPICE). */
int lv_state_image_set_display(lv_state *st, const char *id, cg_display display, cg_error *err);
/* The database handle, locked against the other users of this store, for
 * tables kept in other files (lv_volstate.c); unlock when done. */
sqlite3 *lv_state_db_lock(lv_state *st);
void lv_state_db_unlock(lv_state *st);
/* A count that moves with every change of the database, this store's own
 * and those other connections commit (lv_driver.c, instances_version). */
uint64_t lv_state_version(lv_state *st);
int lv_state_image_set_tags(lv_state *st, const char *id, const cg_tags *tags, cg_error *err);

/* ---- user-data ---- */

int lv_state_user_data_put(lv_state *st, const char *id, const unsigned char *data, size_t len,
                           cg_error *err);
/* *data is malloc'd (NUL-terminated, not counted).  1 found, 0 not, -1 error. */
int lv_state_user_data_get(lv_state *st, const char *id, unsigned char **data, size_t *len,
                           cg_error *err);
int lv_state_user_data_delete(lv_state *st, const char *id, cg_error *err);

/* ---- cloud-init seeds ---- */

/* What an instance's seed was built from besides its user-data: the format
 * (from the image at launch) and the public key (from the key pair at
 * launch), so the seed can be rebuilt after the image or key is gone. */
int lv_state_seed_put(lv_state *st, const char *id, const char *format, const char *public_key,
                      cg_error *err);
/* *public_key malloc'd or NULL (none).  1 found, 0 not, -1 error. */
int lv_state_seed_get(lv_state *st, const char *id, char *format, size_t format_len,
                      char **public_key, cg_error *err);
int lv_state_seed_delete(lv_state *st, const char *id, cg_error *err);

/* ---- client tokens ---- */

typedef struct lv_token {
    char reservation_id[24];
    char image_id[24];
    char zone[64];
    char *instance_ids;   /* space-separated; "" while the launch is running */
} lv_token;

void lv_token_release(lv_token *tok);
/* Claim token for a new launch described by mine (instance_ids ignored).
 * 1 claimed; 0 already taken, *existing filled (caller releases); -1 error. */
int lv_state_token_claim(lv_state *st, const char *token, const lv_token *mine,
                         lv_token *existing, cg_error *err);
/* Record the instances the claimed launch made, and the zone placement
 * chose for them (the claim holds the zone asked for, maybe none). */
int lv_state_token_finish(lv_state *st, const char *token, const char *zone,
                          const char *instance_ids, cg_error *err);
/* Give a claimed token up after a failed launch. */
int lv_state_token_drop(lv_state *st, const char *token, cg_error *err);

/* ---- terminated instances ---- */

/* In one transaction: store inst (state terminated, tags included) and drop
 * its user-data and seed record.  0 or -1. */
int lv_state_terminated_add(lv_state *st, const cg_instance *inst, cg_error *err);
/* 1 found (out filled, caller releases), 0 not, -1 error. */
int lv_state_terminated_get(lv_state *st, const char *id, cg_instance *out, cg_error *err);
/* 1 when id has a terminated row, 0 not, -1 error (reads no more). */
int lv_state_terminated_has(lv_state *st, const char *id, cg_error *err);
/* Append those terminated at or after `since` to out.  0 or -1. */
int lv_state_terminated_list(lv_state *st, time_t since, cg_instance_list *out,
                             cg_error *err);
/* Replace all tags of a terminated instance.  0 or -1. */
int lv_state_terminated_set_tags(lv_state *st, const char *id, const cg_tags *tags,
                                 cg_error *err);
/* Forget instances terminated before `before`.  0 or -1. */
int lv_state_terminated_prune(lv_state *st, time_t before, cg_error *err);

/* ---- the last known instances of a zone (lv_known.c) ---- */

/* In one transaction: the instances known in zone become exactly l (state,
 * sub, display, disable_api_termination and tags kept).  0 or -1. */
int lv_state_known_save(lv_state *st, const char *zone, const cg_instance_list *l, cg_error *err);
/* Append zone's known instances to out, in id order.  0 or -1. */
int lv_state_known_list(lv_state *st, const char *zone, cg_instance_list *out, cg_error *err);

#endif
