/* cloudgate engine: making machines, and attaching volumes to them, as jobs.
 *
 * Protocol-free: CIMI's MachineCreate and MachineVolume calls these today;
 * any frontend that wants a creation it can follow as a job (rather than
 * EC2's RunInstances answer) can too.  A creation's steps:
 *
 *   in the request: check the volumes named -> launch the instance (so the
 *                   answer can name it) -> record the job and queue it
 *   in the job:     wait until it runs -> create / attach its volumes ->
 *                   stop it when asked to start STOPPED
 *
 * Any failure terminates the instance and deletes the volumes the job made;
 * a job a crash interrupted is rolled back the same way at the next start
 * (cg_machines_recover), from the undo list it kept.
 */
#ifndef CG_ENGINE_MACHINES_H
#define CG_ENGINE_MACHINES_H

#include "../drivers/driver.h"
#include "images.h"
#include "jobs.h"

/* Job actions (cg_job.action). */
#define CG_JOB_CREATE_MACHINE "create"
#define CG_JOB_ATTACH_VOLUME "attach"
#define CG_JOB_DETACH_VOLUME "detach"

/* At most this many volumes per creation. */
#define CG_MACHINE_MAX_VOLUMES 8

/* One volume of a new machine: an existing one to attach, or a new one. */
typedef struct cg_machine_volume {
    char volume_id[32];              /* attach this free volume, or ("") */
    unsigned long long create_bytes; /* create one of this size */
    char format[16];                 /* of the one created: "qcow2" ("") or "raw" */
    char device[16];                 /* the guest's target ("vdb"), "" the next free */
} cg_machine_volume;

/* What a frontend asks for, resolved into gateway terms. */
typedef struct cg_machine_create_spec {
    const char *image_id;
    const cg_instance_type *type;
    const char *key_name;            /* NULL: none */
    const char *public_key;          /* key_name's OpenSSH public key, for the seed */
    const unsigned char *user_data;  /* decoded bytes; NULL: none */
    size_t user_data_len;
    const cg_tags *tags;             /* NULL; on the instance */
    cg_display display;              /* DEFAULT: the image's choice */
    int initial_stopped;             /* the job ends with the machine stopped */
    const cg_machine_volume *volumes;
    size_t n_volumes;                /* <= CG_MACHINE_MAX_VOLUMES */
} cg_machine_create_spec;

/* Check the volumes (they exist, are free and share a zone, which the
 * instance then gets), launch the instance (out, released by the caller)
 * and queue the job that finishes the creation (job).  Nothing is left
 * when this fails: CG_ERR_INVALID (a volume unknown, zones differ),
 * CG_ERR_STATE (a volume attached elsewhere), the driver's errors. */
int cg_machine_create_submit(const cg_core *core, const cg_machine_create_spec *spec,
                             cg_instance *out, cg_job *job, cg_error *err);

/* Attach volume_id to instance_id (device NULL: the next free vdX), or
 * detach it, as a job whose target is the instance and affected resource
 * the volume. */
int cg_volume_attach_submit(const cg_core *core, const char *volume_id, const char *instance_id,
                            const char *device, cg_job *job, cg_error *err);
int cg_volume_detach_submit(const cg_core *core, const char *volume_id, const char *instance_id,
                            cg_job *job, cg_error *err);

/* An instance's state and sub-state: 0, 1 when it is gone (terminated or
 * unknown), -1 on a driver error. */
int cg_machine_state(const cg_core *core, const char *id, cg_instance_state *state,
                     cg_instance_sub *sub, cg_error *err);

/* From a job: wait (bounded, 120 s) until instance id is in state with
 * sub-state sub (CG_STATE_TERMINATED: until it is gone); progress 50 while
 * waiting, 100 once there.  0, or -1 with err set. */
int cg_machine_wait(const cg_core *core, const char *job_id, const char *id,
                    cg_instance_state state, cg_instance_sub sub, cg_error *err);

/* At start-up, once the driver and job store are open: roll back the
 * creations a restart interrupted (their jobs are FAILED by then).
 * Returns how many, or -1 (logged: start-up goes on). */
int cg_machines_recover(const cg_core *core);

#endif
