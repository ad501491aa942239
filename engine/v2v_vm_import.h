/* cloudgate engine: importing a provider's VM as a locked instance through
 * virt-v2v (-i libvirt -ic URI VM).
 *
 * The same from a local file (an OVA, or a VMDK/VHDX/raw disk: -i ova,
 * -i disk) for CIMI's machine import.
 *
 * The job: the instance defined at once, locked (driver
 * instance_import_begin: "pending", every action refused) -> private
 * directory DIR in the pool's directory -> wait for a conversion slot
 * (v2v_parallel) -> virt-v2v -o local -os DIR -> the first converted disk
 * moved in as the instance's root volume, each further one as an EBS volume
 * attached as vdb, vdc, ... with DeleteOnTermination (instance_import_adopt)
 * -> unlocked and started (instance_import_finish).  DIR goes at the end
 * whatever happened; a failure or cancel drops the instance (domain,
 * volumes, log, lock).  The undo text ("instance ID v2v DIR") lets the next
 * start do the same after a crash (cg_v2v_vm_import_recover).
 *
 * Started, not left stopped: the caller asked for an instance, and an EC2
 * instance that reaches "running" by itself is what clients wait for
 * (InstanceRunning); oVirt leaves imported VMs down because its VMs are
 * not expected to run unattended after an import, ours are.
 */
#ifndef CG_ENGINE_V2V_VM_IMPORT_H
#define CG_ENGINE_V2V_VM_IMPORT_H

#include "images.h"

#define CG_JOB_IMPORT_INSTANCE "import-instance"

typedef struct cg_vm_import_spec {
    const char *uri;            /* the provider's libvirt URI */
    const char *password_file;  /* NULL, or the provider's password file (-ip) */
    const char *vm;             /* the source domain's name (checked shut off by the caller) */
    /* Instead of uri and vm: a local file (resolved, under import_dirs:
     * checked by the caller), an OVA (file_is_ova) or one disk (-i disk). */
    const char *file;
    int file_is_ova;
    const char *zone;           /* NULL: the default zone */
    const char *type_name;      /* recorded as the instance type ("" for a custom shape) */
    unsigned vcpus;
    unsigned memory_mib;
    cg_display display;         /* DEFAULT: the gateway's default */
    const char *name;           /* NULL, or the instance's Name tag */
} cg_vm_import_spec;

/* Queue one VM's import (one job; conversions wait for a slot).  out gets
 * the job's record.  CG_ERR_INVALID for a missing or unsafe field,
 * CG_ERR_UNSUPPORTED without a local pool directory (test://).  0 or -1. */
int cg_v2v_vm_import_submit(const cg_core *core, const cg_vm_import_spec *spec, cg_job *out,
                            cg_error *err);

/* Roll back import-instance jobs a crash interrupted: their virt-v2v group
 * killed, DIR removed, the locked instance dropped.  How many, or -1. */
int cg_v2v_vm_import_recover(const cg_core *core, cg_error *err);

#endif
