/* cloudgate engine: importing a foreign guest as a template through
 * virt-v2v (ImportImage with Format ova, vmdk or vhdx).
 *
 * The job: pending image -> private directory DIR in the pool's directory
 * (".cg-v2v-JOB") -> [download an http(s) source into DIR] -> wait for a
 * conversion slot (v2v_parallel) -> virt-v2v -o local -os DIR -> the
 * converted qcow2 disk streamed into the image's volume through the
 * driver's disk sink -> the source VM's vCPUs and memory (from the XML)
 * as image tags -> inspect, [seal], publish.  DIR is removed at the
 * end, whatever happened; a failure or cancel also drops the image.  The
 * job's undo text names DIR, so a crash is rolled back at the next start
 * (its virt-v2v group killed, DIR removed, the image dropped).
 */
#ifndef CG_ENGINE_V2V_IMPORT_H
#define CG_ENGINE_V2V_IMPORT_H

#include "images.h"

/* Tags on the image made: the source VM's vCPUs and memory (MiB). */
#define CG_V2V_TAG_VCPUS "cloudgate:source-vcpus"
#define CG_V2V_TAG_MEMORY "cloudgate:source-memory-mib"

/* Is format one that needs virt-v2v ("ova", "vmdk", "vhdx")?  1 or 0. */
int cg_v2v_import_format(const char *format);

/* cg_import_submit for those formats (templates only; file:// under
 * import_dirs or http(s)://).  Same contract as cg_import_submit. */
int cg_v2v_import_submit(const cg_core *core, const cg_import_spec *spec, cg_job *out,
                         cg_error *err);

/* A provider's VM converted into a template (cloudgate-admin v2v-import
 * --as template): the same job as above, with virt-v2v -i libvirt. */
typedef struct cg_vm_template_spec {
    const char *uri;            /* the provider's libvirt URI */
    const char *password_file;  /* NULL or the provider's password file */
    const char *vm;             /* the source VM (checked shut off by the caller) */
    const char *name;           /* the image's name; NULL: the job's id */
    int seal;
} cg_vm_template_spec;

int cg_v2v_import_vm_template(const cg_core *core, const cg_vm_template_spec *spec,
                              cg_job *out, cg_error *err);

/* Recovery of an interrupted job from its undo text ("image AMI v2v DIR"):
 * kill its leftover virt-v2v group, remove DIR.  No-op for other texts. */
void cg_v2v_import_recover(const char *undo);

/* The private directory of job_id's conversion in the pool's directory
 * (POOLDIR/.cg-v2v-JOB, mode 0700) into dir.  0, or -1 with dir "". */
int cg_v2v_dir_make(const cg_core *c, const char *job_id, char *dir, size_t len, cg_error *err);
/* Remove such a directory and what is in it (nothing else: the name is checked). */
void cg_v2v_dir_remove(const char *dir);

#endif
