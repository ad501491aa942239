/* cloudgate libvirt driver: private state shared by the lv_*.c files.
 *
 * lv_driver.c holds the table (lv_driver, declared in drivers/driver.h),
 * open/close, zones and listing; lv_images.c the templates; lv_instances.c
 * the instance lifecycle; lv_attrs.c the instance attributes (user-data,
 * tags, ModifyInstanceAttribute, console output); lv_power.c pause and
 * suspend; lv_capture.c image capture; lv_volumes.c volumes, whose records
 * lv_volstate.c keeps.
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
    /* Launches hold it shared from reading their image until their
     * instances are cached; deregistering holds it alone, so it never
     * misses an instance whose disk is about to be an overlay on it. */
    pthread_rwlock_t image_use_lock;
    time_t next_prune;         /* atomic: when expired records are deleted next */
    int reconcile_fd;          /* STATE_DIR/reconcile.lock, held: -1 when not */
    int reconciles;            /* this process repairs crash leftovers (lv_reconcile.c) */
    struct lv_launchq **launchq; /* one per host, same order (lv_launch.h) */
    uint64_t version_base;       /* instances_version's: apart from other drivers' */
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
/* lv_image_snaps.c: an image whose disk is a completed snapshot's volume
 * (spec->snapshot_id), which it claims. */
int lv_image_register_snapshot(cg_drv *drv, const cg_image_spec *spec, cg_image *out,
                               cg_error *err);
/* The disks a launch of img makes (lv_image_snaps.c): each of the image's
 * further disks, changed by the request's disk on the same device (which
 * may drop it: no_device), then the request's other disks; volume_tags on
 * each without tags of its own.  Pointers (snapshot ids, tags) are borrowed
 * from img and spec.  *out malloc'd (NULL when none).  0 or -1 (OOM). */
int lv_launch_disks_merge(const cg_image *img, const cg_launch_spec *spec, cg_launch_disk **out,
                          size_t *n_out);
/* Record a just-published image's disk in zone as a completed snapshot
 * (on that same volume) that the image uses.  Failure only warns. */
void lv_image_record_snapshot(cg_drv *drv, const cg_image *img, const char *zone,
                              unsigned long long size);
/* Copy kernel and initrd (NULL: none; initrd may be NULL) to
 * STATE_DIR/images/<img->id>/, their paths into img.  Direct-boot instances
 * must still boot when the originals move.  0 or -1 (a partial copy stays
 * for lv_image_remove_boot_files). */
int lv_image_copy_boot_files(cg_drv *drv, const char *kernel, const char *initrd,
                             cg_image *img, cg_error *err);
/* Rollback: delete volume from the pool of zones 0..n-1 (with made, only
 * those i with made[i]); failures are ignored. */
void lv_image_unplace(cg_drv *drv, const char *volume, size_t n, const int *made);
/* Remove STATE_DIR/images/<id>/{kernel,initrd} and the directory. */
void lv_image_remove_boot_files(cg_drv *drv, const char *id);
/* Forget the image and delete an uploaded volume.  Refused (CG_ERR_STATE)
 * while pending (its job owns it) or while instances that are not
 * terminated use it (their disks are overlays on it). */
int lv_image_deregister(cg_drv *drv, const char *image_id, cg_error *err);
int lv_image_delete(cg_drv *drv, const char *image_id, cg_error *err);
/* driver.h image_modify: description and launch permissions. */
int lv_image_modify(cg_drv *drv, const char *image_id, const cg_image_change *chg, cg_image *out,
                    cg_error *err);
/* Remove a pending image and its disks (driver.h image_discard). */
int lv_image_discard(cg_drv *drv, const char *image_id, cg_error *err);
/* Set (remove == 0) or delete (remove == 1) tags of an image. */
int lv_image_tags(cg_drv *drv, const char *image_id, const cg_tags *tags, int remove,
                  cg_error *err);

/* ---- lv_launch.c, lv_instances.c ---- */

/* The instances come back as "pending", as RunInstances reports them; their
 * launches go on in the zone's launch workers (lv_launch.h). */
int lv_instance_run(cg_drv *drv, const cg_launch_spec *spec, cg_instance_list *out,
                    cg_error *err);
/* The state changes report the state each instance is in when the call
 * returns (e.g. running after a start: the start is synchronous).  On an
 * instance still launching they wait for its launch first; terminate takes
 * a queued launch off its queue instead. */
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
/* The zone to place something new in: the one asked for (CG_ERR_INVALID when
 * unknown), or with zone NULL the first reachable one. */
lv_host *lv_drv_pick_zone(cg_drv *drv, const char *zone, cg_error *err);
/* The zone for a launch, with its capacity reserved (lv_place.c): the zone
 * asked for, or with spec->zone NULL the first by weight (least or, with
 * placement = pack, most memory committed) with room for min_count.  On
 * success *h, *conn (the caller closes it) and *fit (1..max_count reserved,
 * lv_capacity_release gives back what is not used); else -1 with err
 * (CG_ERR_CAPACITY naming each zone and what it is short of). */
int lv_drv_place(cg_drv *drv, const cg_launch_spec *spec, lv_host **h, virConnectPtr *conn,
                 unsigned *fit, cg_error *err);
/* Its weighing, pure (the unit tests' way in): the available zones' indexes
 * into order, least committed_mib first (pack: most first), ties in the
 * configuration's order; returns how many. */
size_t lv_place_order(const unsigned long long *committed_mib, const int *available, size_t n,
                      int pack, size_t *order);
/* One operation on a live instance: taken (busy) in its host's cache, then
 * (lv_op_open) its connection and domain.  lv_op_end releases all of it. */
typedef struct lv_op {
    lv_host *h;
    lv_cache *c;
    cg_instance inst;   /* the instance as taken */
    virConnectPtr conn; /* NULL until lv_op_open */
    virDomainPtr dom;
} lv_op;

/* lv_instance_take_live into op: 0, or -1 (reported) with nothing to end. */
int lv_op_take(cg_drv *drv, const char *id, lv_op *op, cg_error *err);
/* Open the connection and the domain.  0 or -1 (reported). */
int lv_op_open(lv_op *op, cg_error *err);
void lv_op_end(lv_op *op);
/* Look a domain up; NULL with the error reported (NOT_FOUND when gone). */
virDomainPtr lv_domain_get(virConnectPtr conn, const char *id, cg_error *err);
/* Power off (again, up to 3 times, while libvirtd is busy with the domain)
 * and undefine instance id's domain; one already gone is fine.
 * 0 or -1 (reported). */
int lv_domain_remove(virConnectPtr conn, const char *id, cg_error *err);

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

/* ---- pause/suspend, capture, volumes (lv_power.c, lv_capture.c,
 * lv_volumes.c, lv_volstate.c) ---- */

/* The sub-state of dom in state (a virDomainState): PAUSED, SUSPENDED (shut
 * off with a managed save image) or NONE.  May ask libvirt once. */
cg_instance_sub lv_power_sub(virDomainPtr dom, int state);
/* Read dom's state and sub-state into the cache; returns the EC2 base state. */
cg_instance_state lv_power_sync(lv_cache *c, virDomainPtr dom, const char *id);
/* Resume the paused domain of instance id, which the caller holds busy. */
int lv_power_resume(lv_host *h, const char *id, cg_error *err);
int lv_instance_pause(cg_drv *drv, const char *id, cg_error *err);
int lv_instance_suspend(cg_drv *drv, const char *id, cg_error *err);

int lv_image_capture(cg_drv *drv, const cg_capture_spec *spec, cg_image *out, cg_error *err);
/* Copy volume `name` of zone src (conn) into every other zone; done[i]
 * marks the zones that got it.  0 or -1. */
int lv_image_replicate(cg_drv *drv, lv_host *src, virConnectPtr conn, const char *name,
                       int *done, cg_error *err);

/* ---- image jobs' steps (lv_imagework.c; driver.h documents them) ---- */
int lv_image_create_pending(cg_drv *drv, const cg_pending_image_spec *spec, cg_image *out,
                            cg_error *err);
int lv_disk_sink_open(cg_drv *drv, const cg_sink_spec *spec, cg_disk_sink **out, cg_error *err);
int lv_disk_sink_write(cg_drv *drv, cg_disk_sink *s, const void *buf, size_t len, cg_error *err);
int lv_disk_sink_finish(cg_drv *drv, cg_disk_sink *s, char *out_volume_id, size_t len,
                        cg_error *err);
void lv_disk_sink_abort(cg_drv *drv, cg_disk_sink *s);
int lv_image_disk_paths(cg_drv *drv, const char *image_id, cg_disk_paths *out, cg_error *err);
int lv_pool_local_dir(cg_drv *drv, char *out, size_t len, cg_error *err);
int lv_image_set_os(cg_drv *drv, const char *image_id, const cg_os_info *os, cg_error *err);
int lv_image_publish(cg_drv *drv, const char *image_id, cg_error *err);

int lv_volume_list(cg_drv *drv, cg_volume_list *out, cg_error *err);
int lv_volume_create(cg_drv *drv, const cg_volume_spec *spec, cg_volume *out, cg_error *err);
int lv_volume_delete(cg_drv *drv, const char *volume_id, cg_error *err);
int lv_volume_attach(cg_drv *drv, const char *volume_id, const char *instance_id,
                     const char *device, cg_volume *out, cg_error *err);
int lv_volume_detach(cg_drv *drv, const char *volume_id, cg_volume *out, cg_error *err);
/* Terminate: the volumes attached to instance id with DeleteOnTermination
 * are deleted, the others become available.  0, or -1 when one may be left
 * (logged; it shows as available). */
int lv_volumes_release_instance(cg_drv *drv, const char *id);
int lv_volume_set_delete_on_termination(cg_drv *drv, const char *instance_id,
                                        const char *device, int flag, cg_error *err);
/* RunInstances' mappings: an empty volume per disk for instance inst,
 * recorded attached to it (with DeleteOnTermination, so a rollback or a
 * restart's repair of the launch deletes them with it); *out gets n domain
 * disks (lv_volumes_launch_free).  0 or -1, what was made stays attached. */
struct lv_domain_disk;
int lv_volumes_launch_make(cg_drv *drv, virConnectPtr conn, const cg_instance *inst,
                           const cg_launch_disk *disks, size_t n, struct lv_domain_disk **out,
                           cg_error *err);
void lv_volumes_launch_free(struct lv_domain_disk *d, size_t n);
/* The launch committed: give each disk the DeleteOnTermination asked for. */
void lv_volumes_launch_commit(cg_drv *drv, const char *instance_id, const cg_launch_disk *disks,
                              size_t n);
/* An import's further disk: the converted file src (in the pool's local
 * directory dir) moved in as a new volume of zone, attached to the locked
 * instance's domain dom as device (definition only) with
 * DeleteOnTermination, then recorded.  0, or -1 with nothing of it left
 * (the domain may keep a disk element: the caller drops the domain). */
int lv_volume_adopt(cg_drv *drv, virConnectPtr conn, virDomainPtr dom, const char *instance_id,
                    const char *zone, const char *device, const char *dir, const char *src,
                    cg_error *err);
/* lv_volmods.c: ModifyVolume and its records. */
/* Create the table; repair (the reconciling process): close changes a
 * restart cut short as failed. */
int lv_volmods_init(lv_state *st, int repair, cg_error *err);
int lv_volume_modify(cg_drv *drv, const char *volume_id, unsigned long long size_bytes,
                     cg_volume_mod *out, cg_error *err);
int lv_volume_mod_list(cg_drv *drv, cg_volume_mod_list *out, cg_error *err);

/* The volumes table (lv_volstate.c), in the driver's database. */
int lv_volstate_init(lv_state *st, cg_error *err);

/* ---- lv_v2v_instance.c: instances locked by a virt-v2v import job ---- */
int lv_v2v_lock_init(lv_state *st, cg_error *err);
/* 1 when instance id is locked by an import (its job into job_id, may be
 * NULL), 0 when not, -1 on a database error. */
int lv_v2v_locked(lv_state *st, const char *id, char *job_id, size_t len);
/* Show every locked instance of list as "pending", locked_by its job. */
void lv_v2v_lock_apply(lv_state *st, cg_instance_list *list);
int lv_instance_import_begin(cg_drv *drv, const cg_import_instance_spec *spec, cg_instance *out,
                             cg_error *err);
int lv_instance_import_adopt(cg_drv *drv, const char *id, const char *const *disks, size_t n,
                             cg_error *err);
int lv_instance_import_finish(cg_drv *drv, const char *id, int start, cg_error *err);
void lv_instance_import_drop(cg_drv *drv, const char *id);
/* driver.h v2v_vm_check (lv_v2v_source.c). */
int lv_v2v_vm_check(cg_drv *drv, const struct cg_provider *p, const char *vm, unsigned *vcpus,
                    unsigned *memory_mib, cg_error *err);
/* A random MAC address in QEMU's locally administered range. */
void lv_random_mac(char *buf, size_t len);
/* Insert (tags included).  CG_ERR_CONFLICT on a duplicate id.  0 or -1. */
int lv_volstate_add(lv_state *st, const cg_volume *vol, cg_error *err);
/* 1 found (out filled; caller releases), 0 not (not reported), -1 error. */
int lv_volstate_get(lv_state *st, const char *id, cg_volume *out, cg_error *err);
/* The volumes attached to instance_id (NULL: all), oldest first, into out,
 * which must be empty ({0}).  0 or -1 (the caller releases out either way). */
int lv_volstate_list(lv_state *st, const char *instance_id, cg_volume_list *out, cg_error *err);
/* Delete only while available: 1 deleted, 0 not (absent or in use), -1 error. */
int lv_volstate_delete_available(lv_state *st, const char *id, cg_error *err);
/* Claim an available volume for instance/device: 1 claimed, 0 not
 * (absent or in use), -1 error. */
int lv_volstate_attach(lv_state *st, const char *id, const char *instance_id,
                       const char *device, cg_error *err);
/* Release volume id if instance_id holds it.  0 or -1. */
int lv_volstate_detach(lv_state *st, const char *id, const char *instance_id, cg_error *err);
/* Release every volume attached to instance_id.  0 or -1. */
int lv_volstate_release_instance(lv_state *st, const char *instance_id, cg_error *err);
/* Set the flag of the volume attached to instance_id as device: 1 set, 0
 * none is, -1 error. */
int lv_volstate_set_delete_on_termination(lv_state *st, const char *instance_id,
                                          const char *device, int flag, cg_error *err);
/* Add or replace (remove 0) or delete (remove 1; NULL value: any value) a
 * volume's tags, all or none.  CG_ERR_NOT_FOUND when there is no volume. */
int lv_volstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove, cg_error *err);

/* ---- snapshots (lv_snapshots.c; records in lv_snapstate.c) ---- */

int lv_snapshot_list(cg_drv *drv, cg_snapshot_list *out, cg_error *err);
int lv_snapshot_create_pending(cg_drv *drv, const cg_snapshot_spec *spec, cg_snapshot *out,
                               cg_error *err);
int lv_snapshot_copy(cg_drv *drv, const char *snapshot_id, cg_progress_fn progress,
                     cg_cancelled_fn cancelled, void *arg, cg_error *err);
int lv_snapshot_delete(cg_drv *drv, const char *snapshot_id, int force, cg_error *err);
/* Set (remove == 0) or delete (remove == 1) tags of a snapshot (for tags_set
 * and tags_delete on "snap-" ids). */
int lv_snapshot_tags(cg_drv *drv, const char *snapshot_id, const cg_tags *tags, int remove,
                     cg_error *err);
/* Copy snapshot_id's bytes into a new volume `name` of the pool in format,
 * grown to capacity when that is larger.  Its path (malloc'd), or NULL
 * (reported; nothing left). */
char *lv_snapshot_restore(cg_drv *drv, virConnectPtr conn, const char *snapshot_id,
                          const char *name, unsigned long long capacity, const char *format,
                          cg_error *err);

int lv_snapstate_init(lv_state *st, cg_error *err);
/* Insert (tags included).  0 or -1. */
int lv_snapstate_add(lv_state *st, const cg_snapshot *snap, cg_error *err);
/* The same for a snapshot whose bytes are the existing volume volume_name
 * (an image's disk in that zone) rather than "<id>.qcow2". */
int lv_snapstate_add_on(lv_state *st, const cg_snapshot *snap, const char *volume_name,
                        cg_error *err);
/* snap (completed) with its bytes in volume_name, and as pending image
 * image_id's further disk m (device, size, delete_on_termination), in one
 * transaction.  0 or -1. */
int lv_snapstate_add_mapped(lv_state *st, const cg_snapshot *snap, const char *volume_name,
                            const char *image_id, const cg_image_mapping *m, cg_error *err);
/* The storage volume holding snapshot id's bytes, into buf.  0 or -1
 * (CG_ERR_NOT_FOUND). */
int lv_snapstate_storage(lv_state *st, const char *id, char *buf, size_t len, cg_error *err);
/* Mark a completed snapshot as used by image_id, unless a live image
 * already uses it: 1 claimed, 0 not, -1 error. */
int lv_snapstate_claim(lv_state *st, const char *id, const char *image_id, cg_error *err);
/* The snapshots image_id used are free again.  0 or -1. */
int lv_snapstate_release_image(lv_state *st, const char *image_id, cg_error *err);
/* Fill root_snapshot (and zone, when the image's disk is the snapshot's
 * own volume) of the images that snapshots name.  0 or -1. */
int lv_snapstate_image_roots(lv_state *st, cg_image_list *images, cg_error *err);
/* 1 found (out filled; caller releases), 0 not (not reported), -1 error. */
int lv_snapstate_get(lv_state *st, const char *id, cg_snapshot *out, cg_error *err);
/* All snapshots, oldest first, appended to out.  0 or -1. */
int lv_snapstate_list(lv_state *st, cg_snapshot_list *out, cg_error *err);
/* A pending snapshot's progress (0..100).  0 or -1. */
int lv_snapstate_progress(lv_state *st, const char *id, int progress, cg_error *err);
/* pending -> completed (progress 100).  0, or -1 (CG_ERR_NOT_FOUND: not pending). */
int lv_snapstate_complete(lv_state *st, const char *id, cg_error *err);
/* Delete unless a live image uses it or (without force) it is pending: 1
 * deleted, 0 not, -1 error. */
int lv_snapstate_delete(lv_state *st, const char *id, int force, cg_error *err);
/* Set or (remove) delete tags; at most 50 per snapshot (CG_ERR_INVALID).
 * CG_ERR_NOT_FOUND when there is no such snapshot.  0 or -1. */
int lv_snapstate_tags(lv_state *st, const char *id, const cg_tags *tags, int remove,
                      cg_error *err);

/* ---- displays: headless, VNC, SPICE (lv_displayops.c; XML in lv_display.c) ---- */

struct lv_domain_spec;
/* The gateway's default_display (headless when unset). */
cg_display lv_display_default(const cg_drv *drv);
/* Read a started dom's display (its live XML has the autoport-assigned
 * port) into the cache; after lv_power_sync. */
void lv_display_sync(lv_cache *c, virDomainPtr dom, const char *id);
/* Set a new instance's stored display (launch choice, else the image's,
 * else the default) and warn when a headless one has no way in but the
 * serial console. */
void lv_display_launch(cg_drv *drv, const cg_launch_spec *spec, const cg_image *img,
                       cg_instance *inst);
/* Fill ds's display fields: the shape of ds->meta->display, listen address
 * and password from the configuration (the launch's password first). */
void lv_display_domspec(const cg_drv *drv, const cg_launch_spec *spec,
                        struct lv_domain_spec *ds);
/* Store display as inst's choice: metadata and persistent devices now; a
 * running domain keeps its devices until the next start.  No-op for DEFAULT
 * or an unchanged choice.  0 or -1 (reported). */
int lv_display_store(cg_drv *drv, virConnectPtr conn, virDomainPtr dom, cg_instance *inst,
                     cg_display display, cg_error *err);
int lv_instance_run_once(cg_drv *drv, const char *id, cg_display display, cg_state_change *chg,
                         cg_error *err);
/* PNG (converted from qemu's PPM) or what the driver gives, with its MIME type. */
int lv_instance_screenshot(cg_drv *drv, const char *id, unsigned char **data, size_t *len,
                           char *mime, size_t mime_len, cg_error *err);
int lv_image_set_display(cg_drv *drv, const char *image_id, cg_display display, cg_error *err);

/* ---- crash safety (lv_reconcile.c) ---- */

/* Intent kinds: what an unfinished operation named `name` may have left. */
#define LV_INTENT_LAUNCH "launch"       /* i-...; data: client token or "" */
#define LV_INTENT_CAPTURE "capture"     /* ami-...; data: "<instance-id>[ pause]" */
#define LV_INTENT_VOLUME "volume"       /* vol-... or snap-...; data: the storage volume's name */
#define LV_INTENT_TERMINATE "terminate" /* i-...; data: the domain's XML */

int lv_intent_init(lv_state *st, cg_error *err);
/* Record that an operation is about to make (or remove) objects named by
 * name in zone.  0 or -1 (reported): the operation must not go on. */
int lv_intent_add(lv_state *st, const char *kind, const char *name, const char *zone,
                  const char *data, cg_error *err);
/* The operation reached its commit point (or undid itself). */
void lv_intent_done(lv_state *st, const char *name);
/* lv_host_hooks.connected (arg: the cg_drv), when drv->reconciles: at the first
 * connection repair zone h after a crash; at a reconnect finish the
 * terminates the lost connection cut.  Each repair is logged as
 * "reconcile: ...". */
void lv_reconcile_zone(lv_host *h, virConnectPtr conn, int first, void *arg);
/* Drops the ClientTokens of launches a dead process left unfinished. */
void lv_reconcile_tokens(cg_drv *drv);

#endif
