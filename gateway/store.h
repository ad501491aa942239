/* cloudgate: the SQLite database for state libvirt cannot hold
 * (STATE_DIR/cloudgate.db).  Each user (driver, gateway) opens its own
 * connection and creates its own tables with CREATE TABLE IF NOT EXISTS. */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <sqlite3.h>

#include "config.h"
#include "error.h"

/* Open (creating state_dir and the file when missing) with WAL, a busy
 * timeout and foreign keys on; serialized mode, so one handle may be shared
 * by threads.  Returns NULL and reports into err on failure. */
sqlite3 *cg_db_open(const cg_config *cfg, cg_error *err);

/* Run SQL that returns no rows (schema statements). 0 or -1 (reported). */
int cg_db_exec(sqlite3 *db, const char *sql, cg_error *err);

void cg_db_close(sqlite3 *db);

#endif
