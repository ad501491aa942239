/* cloudgate: the SQLite database for state libvirt cannot hold
 * (STATE_DIR/cloudgate.db).  Each user (driver, gateway) opens its own
 * connection and creates its own tables with CREATE TABLE IF NOT EXISTS. */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <stdarg.h>
#include <stddef.h>

#include <sqlite3.h>

#include "config.h"
#include "error.h"

/* Open (creating state_dir and the file when missing) with WAL, a busy
 * timeout and foreign keys on; serialized mode, so one handle may be shared
 * by threads.  Returns NULL and reports into err on failure. */
sqlite3 *cg_db_open(const cg_config *cfg, cg_error *err);

/* Run SQL that returns no rows (schema statements). 0 or -1 (reported). */
int cg_db_exec(sqlite3 *db, const char *sql, cg_error *err);

/* Finalizes the statements kept for db (cg_db_done), then closes it. */
void cg_db_close(sqlite3 *db);

/* Free what every open connection caches (pages read or written, up to
 * 2 MB each) that no statement holds: the gateway calls it when idle.
 * Never waits: a connection in use by another thread is left as it is. */
void cg_db_release_memory(void);

/* ---- statements: one way to bind, step and read ------------------------
 *
 * Arguments are bound by a format, one character per '?':
 *   's' const char *          (NULL binds SQL NULL)
 *   'i' int
 *   'I' long long
 *   'b' const void *, size_t  (a blob; NULL binds SQL NULL)
 * Everything reports into err (may be NULL) and returns -1 on failure. */

/* A prepared statement with its arguments bound, or NULL (reported).
 * Give it back with cg_db_done, never sqlite3_finalize: it may be kept
 * prepared for the next user of the same SQL. */
sqlite3_stmt *cg_db_prep(sqlite3 *db, cg_error *err, const char *sql, const char *fmt, ...);
/* Done with a statement (any: kept ones are reset for reuse, others
 * finalized).  Accepts NULL. */
void cg_db_done(sqlite3_stmt *s);
/* The next row: 1 a row, 0 no more rows, -1 an error (reported as what). */
int cg_db_step(sqlite3_stmt *s, cg_error *err, const char *what);
/* Run a statement that returns no rows: the number of rows it changed, or
 * -1; a constraint violation is CG_ERR_CONFLICT ("what: sqlite message"). */
int cg_db_run(sqlite3 *db, cg_error *err, const char *what, const char *sql, const char *fmt,
              ...);
int cg_db_vrun(sqlite3 *db, cg_error *err, const char *what, const char *sql, const char *fmt,
               va_list ap);
/* The first column of the first row as an integer: 1 found (*out set), 0
 * no row, -1 error. */
int cg_db_int(sqlite3 *db, cg_error *err, long long *out, const char *sql, const char *fmt, ...);
/* A text column: malloc'd copy (NULL for SQL NULL; *oom set when a copy
 * fails), or copied into buf ("" for NULL, truncated to size). */
char *cg_db_col_dup(sqlite3_stmt *s, int i, int *oom);
void cg_db_col_copy(sqlite3_stmt *s, int i, char *buf, size_t size);
/* BEGIN IMMEDIATE; and its end: COMMIT when ok, else ROLLBACK.  0 or -1. */
int cg_db_begin(sqlite3 *db, cg_error *err);
int cg_db_end(sqlite3 *db, int ok, cg_error *err);

/* Tag tables (TABLE (ID_COL, key, value), primary key (ID_COL, key)):
 * add or replace (remove 0) or delete (remove 1; a NULL value deletes the
 * key whatever its value) tags of id.  Run it inside the caller's
 * transaction.  0 or -1. */
struct cg_tags;
int cg_db_tags_write(sqlite3 *db, const char *table, const char *id_col, const char *id,
                     const struct cg_tags *tags, int remove, cg_error *err);

#endif
