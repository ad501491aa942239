/* cloudgate: the SQLite database for state libvirt cannot hold. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/driver.h"
#include "util.h"

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER; /* guards both lists */

/* ---- open connections, for cg_db_release_memory ------------------------- */
#define OPEN_MAX 32

static sqlite3 *open_dbs[OPEN_MAX]; /* NULL: free slot; more stay untracked */

static void open_track(sqlite3 *db, sqlite3 *replace)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < OPEN_MAX; i++) {
        if (open_dbs[i] == replace) {
            open_dbs[i] = db;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

void cg_db_release_memory(void)
{
    /* sqlite3_release_memory needs SQLITE_ENABLE_MEMORY_MANAGEMENT, which
     * Debian's build lacks; the per-connection call always works.  The
     * caller is the event loop: a connection a job is using (a statement
     * may wait out the busy timeout) is skipped, not waited for; its
     * (recursive) mutex held here, the call takes it once more. */
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < OPEN_MAX; i++) {
        sqlite3_mutex *mu = open_dbs[i] ? sqlite3_db_mutex(open_dbs[i]) : NULL;

        if (mu && sqlite3_mutex_try(mu) == SQLITE_OK) {
            sqlite3_db_release_memory(open_dbs[i]);
            sqlite3_mutex_leave(mu);
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

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
    open_track(db, NULL);
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

/* ---- prepared statements, kept for reuse ----------------------------------
 *
 * Preparing costs more than running most of these queries (a listing reads
 * each instance's rows with the same few statements: preparing them was a
 * tenth of a DescribeInstances).  A statement cg_db_prep made stays
 * prepared after cg_db_done, keyed by its connection and SQL text, and is
 * handed out again, to one user at a time; a second user of the same text
 * meanwhile gets one of its own (kept too: threads running one query at
 * once each find one).  Once every slot is taken, new statements are
 * finalized when done. */
#define STMT_CACHE_SIZE 128

typedef struct cached_stmt {
    sqlite3_stmt *s; /* NULL: free slot */
    int busy;        /* handed out, not yet back through cg_db_done */
} cached_stmt;

static cached_stmt cache[STMT_CACHE_SIZE];

/* A kept statement of db for sql that nobody uses, now marked busy; NULL. */
static sqlite3_stmt *cache_take(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *found = NULL;

    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < STMT_CACHE_SIZE && !found; i++) {
        if (cache[i].s && !cache[i].busy && sqlite3_db_handle(cache[i].s) == db &&
            strcmp(sqlite3_sql(cache[i].s), sql) == 0) {
            cache[i].busy = 1;
            found = cache[i].s;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Keep a new statement (busy) when a slot is free. */
static void cache_keep(sqlite3_stmt *s)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        if (!cache[i].s) {
            cache[i].s = s;
            cache[i].busy = 1;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

void cg_db_done(sqlite3_stmt *s)
{
    size_t i;

    if (!s)
        return;
    /* Still ours alone: reset outside the lock (it takes the connection's). */
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < STMT_CACHE_SIZE && cache[i].s != s; i++)
        ;
    if (i < STMT_CACHE_SIZE)
        cache[i].busy = 0;
    pthread_mutex_unlock(&cache_lock);
    if (i == STMT_CACHE_SIZE)
        sqlite3_finalize(s);
}

void cg_db_close(sqlite3 *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
        if (cache[i].s && sqlite3_db_handle(cache[i].s) == db) {
            sqlite3_finalize(cache[i].s);
            cache[i].s = NULL;
            cache[i].busy = 0;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    open_track(NULL, db);
    sqlite3_close(db);
}

static sqlite3_stmt *prep_v(sqlite3 *db, cg_error *err, const char *sql, const char *fmt,
                            va_list ap)
{
    sqlite3_stmt *s = cache_take(db, sql);
    const char *t;
    const void *blob;
    size_t len;
    int i, rc = SQLITE_OK;

    if (!s) {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
            cg_error_set(err, CG_ERR_INTERNAL, "database: prepare: %s", sqlite3_errmsg(db));
            sqlite3_finalize(s);
            return NULL;
        }
        cache_keep(s);
    }
    for (i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
        switch (fmt[i]) {
        case 's':
            t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(s, i + 1, t, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(s, i + 1);
            break;
        case 'i':
            rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
            break;
        case 'I':
            rc = sqlite3_bind_int64(s, i + 1, (sqlite3_int64)va_arg(ap, long long));
            break;
        case 'b':
            blob = va_arg(ap, const void *);
            len = va_arg(ap, size_t);
            rc = blob ? sqlite3_bind_blob64(s, i + 1, blob, len, SQLITE_TRANSIENT)
                      : sqlite3_bind_null(s, i + 1);
            break;
        default:
            rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK) {
        cg_error_set(err, CG_ERR_INTERNAL, "database: bind %d of \"%s\": %s", i, fmt,
                     sqlite3_errstr(rc));
        cg_db_done(s);
        return NULL;
    }
    return s;
}

sqlite3_stmt *cg_db_prep(sqlite3 *db, cg_error *err, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s;
    va_list ap;

    va_start(ap, fmt);
    s = prep_v(db, err, sql, fmt, ap);
    va_end(ap);
    return s;
}

int cg_db_step(sqlite3_stmt *s, cg_error *err, const char *what)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    cg_error_set(err, rc == SQLITE_CONSTRAINT ? CG_ERR_CONFLICT : CG_ERR_INTERNAL,
                 "database: %s: %s", what, sqlite3_errmsg(sqlite3_db_handle(s)));
    return -1;
}

int cg_db_run(sqlite3 *db, cg_error *err, const char *what, const char *sql, const char *fmt,
              ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = cg_db_vrun(db, err, what, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int cg_db_vrun(sqlite3 *db, cg_error *err, const char *what, const char *sql, const char *fmt,
               va_list ap)
{
    sqlite3_stmt *s = prep_v(db, err, sql, fmt, ap);
    int rc;

    if (!s)
        return -1;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        rc = sqlite3_changes(db);
    } else {
        if (rc == SQLITE_CONSTRAINT)
            cg_error_set(err, CG_ERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(db));
        else
            cg_error_set(err, CG_ERR_INTERNAL, "database: %s: %s", what, sqlite3_errmsg(db));
        rc = -1;
    }
    cg_db_done(s);
    return rc;
}

int cg_db_int(sqlite3 *db, cg_error *err, long long *out, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    s = prep_v(db, err, sql, fmt, ap);
    va_end(ap);
    if (!s)
        return -1;
    rc = cg_db_step(s, err, "read");
    if (rc == 1)
        *out = (long long)sqlite3_column_int64(s, 0);
    cg_db_done(s);
    return rc;
}

char *cg_db_col_dup(sqlite3_stmt *s, int i, int *oom)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    char *d;

    if (!t)
        return NULL;
    if (!(d = strdup((const char *)t)))
        *oom = 1;
    return d;
}

void cg_db_col_copy(sqlite3_stmt *s, int i, char *buf, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    snprintf(buf, size, "%s", t ? (const char *)t : "");
}

int cg_db_begin(sqlite3 *db, cg_error *err)
{
    return cg_db_exec(db, "BEGIN IMMEDIATE", err);
}

int cg_db_end(sqlite3 *db, int ok, cg_error *err)
{
    if (ok && cg_db_exec(db, "COMMIT", err) == 0)
        return 0;
    cg_db_exec(db, "ROLLBACK", NULL);
    return -1;
}

int cg_db_tags_write(sqlite3 *db, const char *table, const char *id_col, const char *id,
                     const cg_tags *tags, int remove, cg_error *err)
{
    char sql[256];
    size_t i;

    /* table and id_col are the caller's constants, never request text. */
    if (remove)
        snprintf(sql, sizeof(sql),
                 "DELETE FROM %s WHERE %s = ?1 AND key = ?2 AND (?3 IS NULL OR value = ?3)", table,
                 id_col);
    else
        snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO %s (%s, key, value) VALUES (?,?,?)",
                 table, id_col);
    for (i = 0; tags && i < tags->n; i++) {
        /* Removing, a NULL value deletes the key whatever its value. */
        const char *value = tags->v[i].value || remove ? tags->v[i].value : "";

        if (cg_db_run(db, err, remove ? "delete tag" : "write tag", sql, "sss", id, tags->v[i].key,
                      value) < 0)
            return -1;
    }
    return 0;
}
