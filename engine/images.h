/* cloudgate engine: making templates and volumes, as jobs.
 *
 * Protocol-free: EC2 (ImportImage, CreateImage), CIMI (MachineImage create,
 * capture) and the admin CLI (image-import) call these, and read the jobs
 * back (engine/jobs.h) as import tasks, CIMI Jobs or progress bars.  A job's
 * steps:
 *
 *   import:  resolve the source -> pending image (templates) -> stream the
 *            bytes through a disk sink, checking the header, size and hash
 *            -> inspect -> [seal] -> publish (every zone; "available")
 *   capture: pending image -> snapshot each attached volume -> copy the
 *            instance's disk (the snapshots become the image's further
 *            disks) -> inspect -> [seal, every disk] -> publish
 *            (engine/capture.c)
 *
 * Any failure or cancel removes what the job made (the partial volume, the
 * pending image and its disks); a job a crash interrupted is rolled back at
 * the next start (cg_core_recover).
 */
#ifndef CG_ENGINE_IMAGES_H
#define CG_ENGINE_IMAGES_H

#include "../drivers/driver.h"
#include "jobs.h"

/* What the core works with; the daemon and the admin CLI each make one. */
typedef struct cg_core {
    const cg_config *cfg;
    const cg_driver *driver;
    cg_drv *drv;
    cg_jobs *jobs;
} cg_core;

/* Job actions (cg_job.action), one per kind of work. */
#define CG_JOB_IMPORT_IMAGE "import-image"
#define CG_JOB_IMPORT_VOLUME "import-volume"
#define CG_JOB_CAPTURE "capture"

typedef enum { CG_IMPORT_TEMPLATE = 0, CG_IMPORT_VOLUME } cg_import_as;

typedef struct cg_import_spec {
    const char *url;          /* glance://PROVIDER/IMAGE_ID, http(s)://..., file:///path */
    const char *format;       /* "qcow2", "raw" or NULL (Glance's disk_format, else the header) */
    cg_import_as as;
    const char *name;         /* NULL: from Glance's name or the file name */
    const char *description;  /* NULL */
    const char *zone;         /* volumes: NULL = the first available zone */
    int seal;                 /* templates: virt-sysprep before publishing */
    const cg_tags *tags;      /* NULL; on the image or volume made */
} cg_import_spec;

/* Check what can be checked now (scheme, provider known, file under one of
 * import_dirs, format), record the job (id "import-ami-..." or
 * "import-vol-...") and queue it.  out: the job as recorded.  0 or -1
 * (CG_ERR_INVALID / CG_ERR_NOT_FOUND name the problem). */
int cg_import_submit(const cg_core *core, const cg_import_spec *spec, cg_job *out,
                     cg_error *err);

/* Capture as a job: the image exists (pending) when this returns (img),
 * and becomes available when the job (out) succeeds; on failure it is
 * removed.  CG_ERR_CONFLICT: the name is taken. */
int cg_capture_submit(const cg_core *core, const cg_capture_spec *spec, cg_image *img,
                      cg_job *out, cg_error *err);

/* At start-up, for a capture job a crash interrupted (its image already
 * dropped): remove the snapshots it made of the instance's volumes. */
void cg_capture_recover(const cg_core *core, const cg_job *job, const char *undo);

/* Inspect an image's disk with libguestfs and store the result (a no-op
 * when the driver has no local path, e.g. test://).  Used by the jobs and
 * by image-register.  0 or -1. */
int cg_image_inspect(const cg_core *core, const char *image_id, cg_os_info *out,
                     cg_error *err);

/* The steps after a pending template's disk exists: inspect, seal when
 * asked, publish (progress from pct).  0 or -1 (the caller drops the image). */
int cg_image_finish(const cg_core *core, const char *job_id, const char *image_id, int sealing,
                    int pct, cg_error *err);

/* Remove a pending image and its disks (a failed or cancelled job). */
void cg_image_drop(const cg_core *core, const char *job_id, const char *image_id);

/* Are all zones reachable (waiting up to wait_sec)?  Rolling back deletes
 * volumes in every zone: at start-up the connections come up on their own
 * threads.  1 or 0. */
int cg_core_zones_up(const cg_core *core, double wait_sec);

/* At start-up: roll back the jobs a crash interrupted (their pending images
 * and volumes).  Returns how many, or -1. */
int cg_core_recover(const cg_core *core, cg_error *err);

#endif
