/* cloudgate libvirt driver: storage volumes in a zone's pool.
 *
 * Templates are volumes in the pool (uploaded by image_register or adopted);
 * each instance gets a qcow2 overlay "<instance-id>.qcow2" backed by its
 * template, so launching never copies a disk.
 */
#ifndef LV_STORAGE_H
#define LV_STORAGE_H

#include <libvirt/libvirt.h>

#include "../../gateway/error.h"

/* Create the overlay volume `name` backed by template volume `base`, of
 * virtual size capacity (0: the template's; never less than it).
 * Returns its path (malloc'd) or NULL (reported; nothing left behind). */
char *lv_storage_overlay_create(virConnectPtr conn, const char *pool, const char *base,
                                const char *name, unsigned long long capacity, cg_error *err);

/* Delete volume `name`.  1 deleted, 0 it did not exist, -1 error (reported). */
int lv_storage_delete(virConnectPtr conn, const char *pool, const char *name, cg_error *err);

/* Grow volume `name` to capacity bytes (virStorageVolResize).  0, or -1
 * reported: CG_ERR_UNSUPPORTED when the driver has no resize at all. */
int lv_storage_resize(virConnectPtr conn, const char *pool, const char *name,
                      unsigned long long capacity, cg_error *err);

/* Check that volume `name` exists (refreshing the pool once when it does not
 * yet know it) and read its capacity.  0, or -1 (CG_ERR_NOT_FOUND or other). */
int lv_storage_find(virConnectPtr conn, const char *pool, const char *name,
                    unsigned long long *capacity, cg_error *err);

/* The path of volume `name` (malloc'd), or NULL (reported; CG_ERR_NOT_FOUND
 * when there is none). */
char *lv_storage_path(virConnectPtr conn, const char *pool, const char *name, cg_error *err);

/* Move the local file src (on the pool directory dir's filesystem) in as
 * volume `name` of the directory pool: renamed, then the pool refreshed.
 * 0, or -1 (reported) with src where it was. */
int lv_storage_adopt(virConnectPtr conn, const char *pool, const char *dir, const char *src,
                     const char *name, cg_error *err);

/* Look at a local disk file: format "qcow2" (by its magic; virtual size read
 * from the header) or "raw" (size of the file).  0 or -1 (reported). */
int lv_storage_probe(const char *path, const char **format, unsigned long long *virtual_size,
                     cg_error *err);

/* Create volume `name` in the pool and upload the local file into it through
 * a virStream.  *capacity gets the virtual size.  0, or -1 with nothing left
 * behind.  On libvirt's test driver, whose volumes have no contents, only the
 * volume is created. */
int lv_storage_upload(virConnectPtr conn, const char *pool, const char *name, const char *path,
                      unsigned long long *capacity, cg_error *err);

/* Create an empty volume `name` of capacity bytes in format ("qcow2" or
 * "raw").  Returns its path (malloc'd) or NULL (reported; nothing left). */
char *lv_storage_create(virConnectPtr conn, const char *pool, const char *name,
                        unsigned long long capacity, const char *format, cg_error *err);

/* Copy volume `src` into a new standalone qcow2 volume `name`
 * (virStorageVolCreateXMLFrom: a qcow2 overlay comes out flattened).  The
 * source must not be in use by a running domain (qemu holds its lock).
 * *capacity gets the size.  0, or -1 with nothing left behind. */
int lv_storage_clone(virConnectPtr conn, const char *pool, const char *src, const char *name,
                     unsigned long long *capacity, cg_error *err);

/* lv_storage_clone into format ("qcow2" or "raw") and at least capacity
 * bytes (grown when the source is smaller).  Its path (malloc'd), or NULL
 * (reported; nothing left behind). */
char *lv_storage_clone_grown(virConnectPtr conn, const char *pool, const char *src,
                             const char *name, unsigned long long capacity, const char *format,
                             cg_error *err);

#endif
