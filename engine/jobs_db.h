/* cloudgate: what jobs.c shares with job_tags.c (not for other users). */
#ifndef CG_JOBS_DB_H
#define CG_JOBS_DB_H

#include <sqlite3.h>

#include "jobs.h"

/* The store's connection, under its lock (release with cg_jobs_db_unlock). */
sqlite3 *cg_jobs_db_lock(cg_jobs *jobs);
void cg_jobs_db_unlock(cg_jobs *jobs);

/* Create table job_tags.  0 or -1 (reported). */
int cg_job_tags_init(sqlite3 *db, cg_error *err);

/* Insert tags of a job being recorded (caller holds the lock and the
 * transaction).  tags may be NULL.  0 or -1. */
int cg_job_tags_insert(sqlite3 *db, const char *id, const struct cg_tags *tags, cg_error *err);

#endif
