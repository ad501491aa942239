/* cloudgate: long-running operations as jobs (CIMI Jobs, EC2 import tasks,
 * the admin CLI).
 *
 * A job is a record in SQLite (table jobs in STATE_DIR/cloudgate.db) plus,
 * while it runs, a function on one of the job threads.  Records survive a
 * restart; a job that was queued or running when the daemon stopped is
 * marked FAILED ("interrupted by a gateway restart") when the store opens,
 * since its work cannot be resumed; what it made is rolled back by its
 * owner's recovery hook (cg_jobs_recover).
 */
#ifndef CG_JOBS_H
#define CG_JOBS_H

#include <stddef.h>
#include <time.h>

#include "../gateway/config.h"
#include "../gateway/error.h"

typedef enum {
    CG_JOB_QUEUED,
    CG_JOB_RUNNING,
    CG_JOB_SUCCESS,
    CG_JOB_FAILED,
    CG_JOB_CANCELLED,
} cg_job_state;

/* "QUEUED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED" (CIMI's names). */
const char *cg_job_state_name(cg_job_state s);

typedef struct cg_job {
    char id[32];              /* "job-" + 17 hex digits */
    char action[128];         /* e.g. "start", "create", "import-image" */
    char target[128];         /* the resource acted on, e.g. "i-..." (may be "" until known) */
    char affected[512];       /* other resource ids, comma-separated, or "" */
    cg_job_state state;
    int progress;             /* 0..100 */
    char status_message[512];
    time_t created;
    time_t changed;           /* time of the last state change */
    int cancellable;          /* 1 while queued, or running a job that polls cg_job_cancelled */
    int cancel_requested;     /* a cancel reached it while running */
    /* What views such as EC2's import tasks show; "" / 0 when not set. */
    char description[256];
    char source[1024];        /* where the job reads from (an import's URL) */
    char format[16];          /* the source's disk format */
    unsigned long long size;  /* the source's size in bytes */
} cg_job;

typedef struct cg_job_list {
    cg_job *v;
    size_t n;
} cg_job_list;

typedef struct cg_jobs cg_jobs;
struct cg_tags;

/* The work of a job; runs on a job thread.  Report progress with
 * cg_job_progress and the resource it made with cg_job_set_target.
 * Return 0 for SUCCESS, -1 with err set for FAILED. */
typedef int (*cg_job_fn)(cg_jobs *jobs, const char *job_id, void *arg, cg_error *err);

/* Open the store and start nthreads job threads. NULL and err on failure. */
cg_jobs *cg_jobs_open(const cg_config *cfg, unsigned nthreads, cg_error *err);

/* Let running jobs finish (queued ones are CANCELLED), join, close. NULL ok. */
void cg_jobs_close(cg_jobs *jobs);

/* How a job is recorded (cg_jobs_submit_opts). */
typedef struct cg_job_opts {
    const char *action;       /* required */
    const char *target;       /* NULL: "" */
    const char *id_prefix;    /* NULL: "job-"; e.g. "import-ami-" (17 hex digits follow) */
    const char *id;           /* NULL, or the whole id made by the caller (cg_new_id) */
    int can_cancel_running;   /* the function polls cg_job_cancelled */
    const char *description;  /* NULL */
    const char *source;       /* NULL */
    const char *format;       /* NULL */
    const struct cg_tags *tags; /* NULL; recorded with the job (cg_job_tags_get) */
} cg_job_opts;

/* cg_jobs_submit with the options above. */
int cg_jobs_submit_opts(cg_jobs *jobs, const cg_job_opts *opts, cg_job_fn fn, void *arg,
                        void (*free_arg)(void *), cg_job *out, cg_error *err);

/* Record a QUEUED job and queue fn(arg).  free_arg (may be NULL) is called
 * on arg once the job has ended or was cancelled.  out gets the record. */
int cg_jobs_submit(cg_jobs *jobs, const char *action, const char *target, cg_job_fn fn, void *arg,
                   void (*free_arg)(void *), cg_job *out, cg_error *err);

/* From inside a job: progress 0..100 and an optional status message. */
int cg_job_progress(cg_jobs *jobs, const char *id, int percent, const char *message);

/* From inside a job: the target and affected resources once known. */
int cg_job_set_target(cg_jobs *jobs, const char *id, const char *target, const char *affected);

/* From inside a job: the source's size once known. */
int cg_job_set_size(cg_jobs *jobs, const char *id, unsigned long long size);

/* From inside a job: 1 when a cancel was asked for (in this process, or in
 * the database by another process: checked at most once a second).  The
 * job then undoes what it made and returns -1; it ends CANCELLED. */
int cg_job_cancelled(cg_jobs *jobs, const char *id);

/* The job's log file, STATE_DIR/jobs/ID.log (into buf).  0 or -1. */
int cg_job_log_path(cg_jobs *jobs, const char *id, char *buf, size_t len);
/* Append a line to the job's log (timestamped).  Tools' output goes there
 * too (open the path with O_APPEND). */
void cg_job_log(cg_jobs *jobs, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Cancel a QUEUED job, or ask a running one that polls cg_job_cancelled
 * to stop (also one run by another process): CG_ERR_STATE once it ended or
 * when it cannot be cancelled, CG_ERR_NOT_FOUND if unknown. */
int cg_jobs_cancel(cg_jobs *jobs, const char *id, cg_error *err);

int cg_jobs_get(cg_jobs *jobs, const char *id, cg_job *out, cg_error *err);
/* Wait until job id, queued or running in this process, has ended (its
 * final row is written): 1, or 0 when timeout_ms passed first.  -1 at
 * once when it is not queued or running here (ended, or run by another
 * process).  A follower (the admin CLI) so sees the end at once. */
int cg_jobs_wait_end(cg_jobs *jobs, const char *id, long timeout_ms);

/* All jobs, newest first. */
int cg_jobs_list(cg_jobs *jobs, cg_job_list *out, cg_error *err);

void cg_job_list_release(cg_job_list *list);

/* From inside a job: what a recovery hook needs to roll the job back should
 * the gateway die before the job ends (free text for the hook; replaces the
 * earlier one).  Record it before making each thing it names. */
int cg_job_set_undo(cg_jobs *jobs, const char *id, const char *undo);

/* Rolls back job (FAILED by a restart) from its undo text; logs what fails. */
typedef void (*cg_job_recover_fn)(const cg_job *job, const char *undo, void *arg);

/* Run fn once for every job of action that a restart interrupted and no
 * hook has recovered yet.  Returns how many, or -1 (reported). */
int cg_jobs_recover(cg_jobs *jobs, const char *action, cg_job_recover_fn fn, void *arg,
                    cg_error *err);

/* ---- tags (job_tags.c): what EC2 shows as an import task's Tags ---- */

/* Job id's tags into out (release with cg_tags_release), in the order they
 * were set.  CG_ERR_NOT_FOUND when there is no such job.  0 or -1. */
int cg_job_tags_get(cg_jobs *jobs, const char *id, struct cg_tags *out, cg_error *err);

/* Add or replace (remove 0) or delete (remove 1: a NULL value deletes the
 * key whatever its value) tags of job id, all or none.  CG_ERR_NOT_FOUND
 * when there is no such job.  0 or -1. */
int cg_job_tags_edit(cg_jobs *jobs, const char *id, const struct cg_tags *tags, int remove,
                     cg_error *err);

#endif
