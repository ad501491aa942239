/* cloudgate libvirt driver: domain and volume XML, built (lv_domxml.c) and
 * read (lv_domparse.c) with libxml2.
 *
 * An instance is a domain named after its instance id whose EC2 attributes
 * live in <metadata><cloudgate:instance xmlns:cloudgate=LV_METADATA_NS>.
 */
#ifndef LV_DOMXML_H
#define LV_DOMXML_H

#include "../driver.h"

#define LV_METADATA_NS "http://cloudgate.dev/xmlns/instance/1"
#define LV_METADATA_PREFIX "cloudgate"

/* A volume in the definition from the start (RunInstances' mappings). */
typedef struct lv_domain_disk {
    const char *path;
    const char *format;       /* "qcow2" or "raw" */
    const char *dev;          /* "vdb".."vdz" */
    const char *serial;       /* NULL: none */
} lv_domain_disk;

typedef struct lv_domain_spec {
    const char *domain_type;  /* "kvm" (adds host-passthrough cpu), "qemu" or "test" */
    const char *name;         /* domain name = instance id */
    unsigned vcpus;
    unsigned memory_mib;
    const char *disk_path;    /* the instance's overlay volume */
    const char *disk_format;  /* "qcow2" */
    const char *kernel;       /* direct kernel boot; NULL: boot from the disk */
    const char *initrd;       /* NULL allowed */
    const char *cmdline;      /* NULL allowed */
    const char *network;      /* libvirt network for the NIC */
    const char *mac;          /* "52:54:00:xx:xx:xx" */
    const char *nwfilter;     /* the NIC's network filter (IP learned by DHCP); NULL: none */
    const char *console_log;  /* file the serial console is logged to */
    const char *seed_path;    /* cloud-init seed ISO, attached as a read-only CD-ROM; NULL: none */
    /* With no seed: the domain's UUID, also its SMBIOS system serial and
     * uuid ("ec2..." makes cloud-init's ds-identify pick its EC2 datasource,
     * i.e. the metadata service).  NULL: libvirt picks a UUID, no sysinfo. */
    const char *smbios_uuid;
    const cg_instance *meta;  /* EC2 attributes written into <metadata> */
    cg_display display;       /* the devices' shape (DEFAULT: headless); may differ
                               * from meta->display, the stored choice, in a run-once */
    const char *display_listen;   /* VNC/SPICE listen address; NULL: 127.0.0.1 */
    const char *display_password; /* NULL: none */
    const lv_domain_disk *extra_disks; /* virtio disks after vda */
    size_t n_extra_disks;
} lv_domain_spec;

/* The full domain XML for virDomainDefineXML.  Returns malloc'd XML or NULL. */
char *lv_domxml_build(const lv_domain_spec *spec, cg_error *err);

/* Just the <cloudgate:instance> metadata element, for virDomainSetMetadata
 * (VIR_DOMAIN_METADATA_ELEMENT with LV_METADATA_NS).  malloc'd or NULL. */
char *lv_metadata_build(const cg_instance *meta, cg_error *err);

/* A domain XML as libvirt gave it (virDomainGetXMLDesc, inactive) with
 * <vcpu>, <memory> and <currentMemory> set from meta->vcpus and memory_mib
 * and the <cloudgate:instance> metadata rebuilt from meta; everything else is
 * kept.  For a redefinition with virDomainDefineXML.  malloc'd or NULL. */
char *lv_domxml_update(const char *xml, const cg_instance *meta, cg_error *err);

/* Read a domain XML (virDomainGetXMLDesc): fills out's EC2 attributes from the
 * metadata, and vcpus, memory_mib and mac from the definition.  out->state is
 * not touched.  The stored display comes from the metadata (none: headless);
 * a live XML (a running domain's, with an id) also gives display_live,
 * display_addr and display_port, else they are cleared.  Returns 1 for a cloudgate instance, 0 for a domain without
 * cloudgate metadata (left alone by cloudgate), -1 on unparsable XML. */
int lv_domxml_parse(const char *xml, cg_instance *out, cg_error *err);
/* The first <interface> of domain xml whose filterref names a filter for
 * which ours(name) is 1 (lv_nwfilter_is_nic), with filter in its place and
 * everything else kept: the device for virDomainUpdateDeviceFlags, which
 * swaps a running NIC's filter.  Malloc'd, or NULL (CG_ERR_NOT_FOUND: no
 * such NIC). */
char *lv_domxml_nic_refiltered(const char *xml, int (*ours)(const char *), const char *filter,
                               cg_error *err);

/* Storage volume XML for virStorageVolCreateXML: a format volume of
 * capacity_bytes; with backing_path, a copy-on-write overlay on it. */
char *lv_volxml_build(const char *name, unsigned long long capacity_bytes, const char *format,
                      const char *backing_path, const char *backing_format, cg_error *err);

#endif
