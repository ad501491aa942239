/* cloudgate: the SQLite database for state libvirt cannot hold. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

sqlite3 *cg_db_open(const cg_config *cfg, cg_error *err)
{
    sqlite3 *db = NULL;
    char path[4096];
    int rc;

    if (cg_mkdir_p(cfg->state_dir, 0700) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot create state directory %s: %s",
                     cfg->state_dir, strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/cloudgate.db", cfg->state_dir);
    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot open database %s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    /* Several processes (daemon, admin CLI) share the file: WAL plus a busy
     * timeout lets them without "database is locked" failures. */
    sqlite3_busy_timeout(db, 5000);
    if (cg_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", err) < 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int cg_db_exec(sqlite3 *db, const char *sql, cg_error *err)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

void cg_db_close(sqlite3 *db)
{
    if (db)
        sqlite3_close(db);
}
