/* cloudgate libvirt driver: cloud-init seeds.
 *
 * Every instance gets a small ISO 9660 image (Rock Ridge and Joliet) that
 * cloud-init finds by its volume label, in one of two layouts:
 *   NoCloud      label "cidata":   meta-data (YAML), user-data
 *   ConfigDrive  label "config-2": openstack/latest/meta_data.json, user_data
 * The files are written into a private temporary directory and turned into
 * an image by xorriso, which is uploaded into the zone's storage pool as
 * volume "<instance-id>-seed.iso" (a stream, so a remote libvirt host works
 * too).  The domain mounts it as a read-only CD-ROM (lv_domxml.c).
 */
#ifndef LV_SEED_H
#define LV_SEED_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "../../gateway/error.h"

#define LV_SEED_NOCLOUD "nocloud"
#define LV_SEED_CONFIGDRIVE "configdrive"
/* No seed at all: the guest reads the gateway's metadata service, told by
 * SMBIOS that it runs on EC2 (lv_domxml.h smbios_uuid). */
#define LV_SEED_IMDS "imds"

typedef struct lv_seed_spec {
    const char *format;             /* LV_SEED_NOCLOUD (also NULL) or LV_SEED_CONFIGDRIVE */
    const char *instance_id;        /* instance-id, and the hostname */
    const char *key_name;           /* ConfigDrive's public_keys name; NULL: "default" */
    const char *public_key;         /* OpenSSH authorized_keys line(s); NULL: none */
    const unsigned char *user_data; /* written exactly as given; NULL: none */
    size_t user_data_len;
} lv_seed_spec;

/* 1 when format is NULL, "nocloud", "configdrive" or "imds", else 0. */
int lv_seed_format_ok(const char *format);

/* The seed volume's name for instance id ("<id>-seed.iso") into buf. */
void lv_seed_volume_name(const char *id, char *buf, size_t len);

/* NoCloud's meta-data (YAML, every value double-quoted and escaped) or
 * ConfigDrive's meta_data.json (json-c), malloc'd; NULL on failure (a value
 * that is not valid UTF-8: CG_ERR_INVALID). */
char *lv_seed_nocloud_meta(const lv_seed_spec *spec, cg_error *err);
char *lv_seed_configdrive_meta(const lv_seed_spec *spec, cg_error *err);

/* Write the seed image to iso_path (created or replaced).  The temporary
 * directory (under $TMPDIR, default /tmp) is removed whatever happens.
 * 0 or -1 (reported). */
int lv_seed_write_iso(const lv_seed_spec *spec, const char *iso_path, cg_error *err);

/* Build the seed and upload it as volume "<id>-seed.iso" into pool.  With
 * replaced non-NULL, a volume of that name is deleted first, but only once
 * the new image is built; *replaced then says whether one was (also when
 * the upload failed after it).  Returns the volume's path (malloc'd) or NULL
 * (reported); no new volume is left behind on failure. */
char *lv_seed_create(virConnectPtr conn, const char *pool, const lv_seed_spec *spec, int *replaced,
                     cg_error *err);

/* Delete instance id's seed volume.  1 deleted, 0 there was none, -1 error. */
int lv_seed_delete(virConnectPtr conn, const char *pool, const char *id, cg_error *err);

#endif
