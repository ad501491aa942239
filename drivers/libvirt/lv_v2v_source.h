/* cloudgate libvirt driver: the VMs of an external VM provider ("v2v"
 * kind, gateway/v2v_provider.h), read through a libvirt connection to its
 * URI, for cloudgate-admin v2v-vms and the checks an import runs before
 * virt-v2v: the VM exists, it is shut off, its disks and definition.
 *
 * Here rather than in gateway/ because it is libvirt code (connection,
 * auth callback, domain XML); it returns structs and prints nothing, so
 * the admin tool, the conversion job and a CIMI import share it. */
#ifndef LV_V2V_SOURCE_H
#define LV_V2V_SOURCE_H

#include <stddef.h>

#include "../../gateway/error.h"
#include "../../gateway/providers.h"

typedef struct lv_v2v_disk {
    char *target;        /* "vda", "hdc" */
    char *bus;           /* "virtio", "ide", ... or NULL */
    char *device;        /* "disk", "cdrom", "floppy", "lun" */
    char *type;          /* source type: "file", "block", "network", "volume" */
    char *source;        /* path, device, network name or POOL/VOLUME; NULL: empty drive */
    char *format;        /* driver type ("qcow2", "raw") or NULL */
    long long capacity;  /* bytes, -1 when unknown */
} lv_v2v_disk;

typedef struct lv_v2v_vm {
    char *name;
    char uuid[37];
    const char *state;   /* "running", "shut off", ... (static) */
    int active;          /* running, paused or shutting down: virt-v2v refuses it */
    unsigned vcpus;
    unsigned long long memory_mib;
    lv_v2v_disk *disks;
    size_t n_disks;
    char *xml;           /* inactive definition; only from lv_v2v_find_vm */
} lv_v2v_vm;

typedef struct lv_v2v_vm_list {
    lv_v2v_vm *v;
    size_t n;
} lv_v2v_vm_list;

/* The <disk> elements of a domain definition, in document order, into vm
 * (capacity -1).  Hostile XML (no <domain>, a disk without a target) is
 * CG_ERR_INVALID; entities are not expanded and nothing is fetched.
 * Returns 0 or -1. */
int lv_v2v_parse_disks(const char *xml, lv_v2v_vm *vm, cg_error *err);

/* Every domain of provider p, running and defined, sorted by name.  Opens a
 * read-only connection with p's user and password file for the duration.
 * An unreachable URI is CG_ERR_UNAVAILABLE.  Release *out.  0 or -1. */
int lv_v2v_list_vms(const cg_provider *p, lv_v2v_vm_list *out, cg_error *err);

/* The domain called name with its disks and definition (vm->xml).
 * CG_ERR_NOT_FOUND when the provider has no such VM.  Release *vm.  0 or -1. */
int lv_v2v_find_vm(const cg_provider *p, const char *name, lv_v2v_vm *vm, cg_error *err);

/* Whether virt-v2v may convert vm: CG_ERR_STATE for a running (or paused)
 * source, CG_ERR_INVALID without a disk to convert.  0 or -1. */
int lv_v2v_check_importable(const lv_v2v_vm *vm, cg_error *err);

void lv_v2v_vm_release(lv_v2v_vm *vm);
void lv_v2v_vm_list_release(lv_v2v_vm_list *l);

#endif
