/* cloudgate engine: an import named by one source URL, as CIMI's `import`
 * operation takes it (machines and machineImages):
 *
 *   v2v://PROVIDER/VM   a shut-off VM of an external VM provider ([v2v NAME]
 *                       or cloudgate-admin v2v-add), converted with
 *                       virt-v2v -i libvirt
 *   file:///PATH        an OVA (.ova) or one disk (.vmdk, .vhdx, .raw, .img)
 *                       under import_dirs, converted with -i ova / -i disk
 *
 * Everything is checked before a job is queued (the provider and VM exist,
 * the VM is shut off and has one disk for a template, at most 16 for an
 * instance, the file is under import_dirs, the
 * type is known): a refusal makes nothing.  Error kinds: CG_ERR_INVALID a
 * malformed source or field, CG_ERR_NOT_FOUND an unknown provider or VM,
 * CG_ERR_STATE a running VM, CG_ERR_UNSUPPORTED no local pool directory
 * (test://).
 */
#ifndef CG_ENGINE_V2V_REQUEST_H
#define CG_ENGINE_V2V_REQUEST_H

#include "images.h"

#define CG_V2V_SCHEME "v2v://"

typedef struct cg_v2v_request {
    const char *source;       /* v2v://PROVIDER/VM or file:///PATH */
    int as_template;          /* an image (machineImages) rather than an instance */
    const char *name;         /* NULL: the VM's name (instance), the job id (image) */
    const char *description;  /* template only; NULL */
    /* Instances: the instance type (NULL: the source VM's own shape; a file
     * has none, so it needs one), display and zone (NULL: the default). */
    const char *type_name;
    cg_display display;
    const char *zone;
    /* Templates: seal with virt-sysprep, and the image's tags (NULL). */
    int seal;
    const cg_tags *tags;
} cg_v2v_request;

/* Check r and queue its job (import-instance or import-image); out gets
 * the job's record.  0, or -1 with err (kinds above). */
int cg_v2v_request_submit(const cg_core *core, const cg_v2v_request *r, cg_job *out,
                          cg_error *err);

#endif
