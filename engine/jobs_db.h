/* cloudgate: what jobs.c shares with jobs_store.c and job_tags.c (not for
 * other users). */
#ifndef CG_JOBS_DB_H
#define CG_JOBS_DB_H

#include <sqlite3.h>

#include "jobs.h"

/* The store's connection, under its lock (release with cg_jobs_db_unlock). */
sqlite3 *cg_jobs_db_lock(cg_jobs *jobs);
void cg_jobs_db_unlock(cg_jobs *jobs);

/* jobs_store.c, on the store's connection (the caller holds its lock):
 * create or upgrade the table and fail the jobs whose process is gone,
 * marking them for recovery; read the rows (all, newest first, or the one
 * called id); read the jobs of action awaiting recovery, each with its undo
 * text (undo: a parallel array, each and itself freed by the caller).
 * 0 or -1. */
int cg_jobs_store_open(sqlite3 *db, cg_error *err);
int cg_jobs_store_select(sqlite3 *db, const char *id, cg_job_list *out, cg_error *err);
int cg_jobs_store_recovery(sqlite3 *db, const char *action, cg_job_list *out, char ***undo,
                           cg_error *err);

/* Create table job_tags.  0 or -1 (reported). */
int cg_job_tags_init(sqlite3 *db, cg_error *err);

/* Insert tags of a job being recorded (caller holds the lock and the
 * transaction).  tags may be NULL.  0 or -1. */
int cg_job_tags_insert(sqlite3 *db, const char *id, const struct cg_tags *tags, cg_error *err);

#endif
