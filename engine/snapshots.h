/* cloudgate engine: EBS-style snapshots as jobs.
 *
 * Protocol-free: EC2 (CreateSnapshot, CopySnapshot) calls these, and reads
 * the snapshot's state and progress back from the driver's records.  A
 * job's steps: pending snapshot (recorded before the job is queued, so the
 * answer names it at once) -> the driver copies the bytes (snapshot_copy,
 * progress from the copy) -> completed.  A failure or cancel removes the
 * snapshot and its partial volume; a job a crash interrupted is rolled
 * back at the next start (cg_snapshots_recover, from cg_core_recover).
 */
#ifndef CG_ENGINE_SNAPSHOTS_H
#define CG_ENGINE_SNAPSHOTS_H

#include "images.h"

#define CG_JOB_SNAPSHOT "snapshot"

/* Record a pending snapshot of spec->source_id (a volume, an instance's
 * root disk or, for a copy, a completed snapshot) into snap, and queue
 * the job copying it (out).  0 or -1 (the driver's CG_ERR_NOT_FOUND /
 * CG_ERR_STATE; nothing is left behind). */
int cg_snapshot_submit(const cg_core *core, const cg_snapshot_spec *spec, cg_snapshot *snap,
                       cg_job *out, cg_error *err);

/* From job job_id's rollback: delete snapshot_id (row and volume; forced,
 * it may be pending), logged in the job's log.  One already gone is fine;
 * one an image uses (published before a crash cut the job's end) stays,
 * with a warning, as does one the driver cannot delete. */
void cg_snapshot_drop(const cg_core *core, const char *job_id, const char *snapshot_id);

/* At start-up: remove the snapshots whose job a crash interrupted (row and
 * partial volume), and pending snapshots no live job owns.  How many, or -1. */
int cg_snapshots_recover(const cg_core *core, cg_error *err);

#endif
