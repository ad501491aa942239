/* cloudgate engine: converting a foreign guest with virt-v2v.
 *
 * One conversion = one virt-v2v run, "-o local -os DIR -of qcow2 -on NAME":
 * it writes DIR/NAME-sda, DIR/NAME-sdb... (qcow2) and DIR/NAME.xml (libvirt
 * domain XML: vCPUs, memory).  DIR is the caller's private directory on the
 * target pool's filesystem.  The tool runs through tool_run.c (own process
 * group, output into the job's log, cancel kills the group), tagged with
 * DIR so that its qemu-nbd, in a session of its own, goes with it.  At most
 * v2v_parallel conversions run at once on this host (cg_v2v_slot_take);
 * the others wait for a slot.
 */
#ifndef CG_ENGINE_V2V_H
#define CG_ENGINE_V2V_H

#include <stddef.h>

#include "../gateway/config.h"
#include "../gateway/error.h"
#include "jobs.h"
#include "tool_run.h"

#define CG_V2V_TOOL "virt-v2v"
#define CG_V2V_MAX_DISKS 16

typedef enum {
    CG_V2V_OVA = 0,   /* source: an .ova file (tar) or a directory holding an .ovf */
    CG_V2V_DISK,      /* source: one disk file (vmdk, vhdx, raw, qcow2): -i disk */
    CG_V2V_LIBVIRT,   /* source: a VM's name on the libvirt connection uri */
} cg_v2v_input;

typedef struct cg_v2v_spec {
    cg_v2v_input input;
    const char *source;         /* path (ova, disk) or VM name (libvirt) */
    const char *uri;            /* libvirt: -ic URI (vpx://, esx://, xen+ssh://, qemu://...) */
    const char *password_file;  /* libvirt: NULL, or a file with the password */
    const char *out_dir;        /* -os: an existing empty directory */
    const char *out_name;       /* -on: the converted guest's name (file names) */
} cg_v2v_spec;

/* The command line for spec (NULL-terminated, malloc'd: cg_v2v_argv_free),
 * or NULL with err (CG_ERR_INVALID: a missing or unsafe field). */
char **cg_v2v_argv(const cg_v2v_spec *spec, cg_error *err);
void cg_v2v_argv_free(char **argv);

/* Where a conversion is, from its output lines. */
typedef struct cg_v2v_progress {
    int stage;                  /* CG_V2V_STAGE_* */
    int disk, ndisks;           /* copying disk disk/ndisks (1-based), 0 before */
    double copy_pct;            /* of the current disk, 0..100 */
} cg_v2v_progress;

enum {
    CG_V2V_STAGE_START = 0,
    CG_V2V_STAGE_OPEN,          /* "Opening the source" */
    CG_V2V_STAGE_INSPECT,       /* "Inspecting the source" */
    CG_V2V_STAGE_CONVERT,       /* "Converting ... to run on KVM" (the long one) */
    CG_V2V_STAGE_MAP,           /* "Mapping filesystem data ..." */
    CG_V2V_STAGE_COPY,          /* "Copying disk N/M" */
    CG_V2V_STAGE_FINISH,        /* "Creating output metadata", "Finishing off" */
};

/* Fold one output line in.  1 when p changed, else 0. */
int cg_v2v_parse_line(cg_v2v_progress *p, const char *line);
/* The whole conversion's percentage (0..100) for p: the stages before the
 * copy share 0..40, the copy 40..95 (disk i of M at c% -> (i-1+c/100)/M). */
int cg_v2v_percent(const cg_v2v_progress *p);
/* "converting disk 1/2" style text for p, into buf. */
void cg_v2v_describe(const cg_v2v_progress *p, char *buf, size_t len);

/* What -o local wrote. */
typedef struct cg_v2v_result {
    char name[128];
    unsigned vcpus;
    unsigned long long memory_bytes;
    size_t ndisks;
    char disk[CG_V2V_MAX_DISKS][1024];   /* absolute paths, in the XML's order */
} cg_v2v_result;

/* Read DIR/NAME.xml (libxml2, no network, no entities): vCPUs, memory and
 * the disks' files, which must be inside dir, at most CG_V2V_MAX_DISKS
 * (more: CG_ERR_INVALID).  0 or -1. */
int cg_v2v_read_xml(const char *xml_path, const char *dir, cg_v2v_result *out, cg_error *err);

/* Progress callback: p as parsed so far. */
typedef void (*cg_v2v_progress_fn)(const cg_v2v_progress *p, void *arg);

/* Run one conversion (the caller holds a slot: cg_v2v_slot_take): virt-v2v
 * with its output appended to log_fd and parsed into on_progress (may be
 * NULL), then its XML read into out.  0 or -1 (CG_ERR_STATE "cancelled").
 * The caller removes out_dir on failure. */
int cg_v2v_run(const cg_v2v_spec *spec, int log_fd, cg_v2v_progress_fn on_progress,
               cg_tool_cancel_fn cancelled, void *arg, cg_v2v_result *out, cg_error *err);

/* Wait for one of this host's cfg->v2v_parallel conversion slots (lock
 * files in STATE_DIR/v2v-slots, shared by the daemon and cloudgate-admin;
 * a crashed holder's slot is freed by the kernel), polling cancelled every
 * 0.2 s; waiting (may be NULL) is called once if it has to wait.  Returns
 * the slot (give it back with cg_v2v_slot_give), or -1 with err
 * (CG_ERR_STATE "cancelled"). */
int cg_v2v_slot_take(const cg_config *cfg, cg_tool_cancel_fn cancelled, void *arg,
                     void (*waiting)(void *arg), cg_error *err);
void cg_v2v_slot_give(int slot);

/* One conversion as a step of job job_id. */
typedef struct cg_v2v_job_step {
    cg_jobs *jobs;
    const char *job_id;
    int lo, span;       /* the conversion's band of the job's progress: lo + percent * span / 100 */
    int queued;         /* the job's progress while it waits for a slot */
    const cg_config *cfg; /* v2v_parallel and the slots' directory */
} cg_v2v_job_step;

/* Run spec as js's step: wait for a slot (the job's progress and log say
 * so; a cancel while queued: CG_ERR_STATE "cancelled"), log what, run
 * virt-v2v with its output appended to the job's log and its progress as
 * the job's, then log the result.  0 or -1 (cg_v2v_run's errors). */
int cg_v2v_job_convert(cg_v2v_job_step *js, const cg_v2v_spec *spec, const char *what,
                       cg_v2v_result *res, cg_error *err);

#endif
