/* cloudgate: the SQLite helper (gateway/store.c): binding by format,
 * stepping, changed-row counts, conflicts and transactions, and the
 * statements it keeps prepared for reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/store.h"

static sqlite3 *db;

static int setup(void **state)
{
    cg_error err = {0};

    (void)state;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return -1;
    return cg_db_exec(db, "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, v TEXT, b BLOB);",
                      &err);
}

static int teardown(void **state)
{
    (void)state;
    cg_db_close(db);
    return 0;
}

/* Statements prepared on db now (kept or in use). */
static int n_stmts(sqlite3 *on)
{
    int n = 0;

    for (sqlite3_stmt *s = sqlite3_next_stmt(on, NULL); s; s = sqlite3_next_stmt(on, s))
        n++;
    return n;
}

static void test_bind_all_kinds_and_read_back(void **state)
{
    cg_error err = {0};
    sqlite3_stmt *s;
    char buf[4];
    int oom = 0;
    char *v;

    (void)state;
    assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t VALUES (?,?,?,?)", "sIsb",
                               "a", 1LL << 40, NULL, "x\0y", (size_t)3),
                     1);
    assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t VALUES (?,?,?,?)", "sisb",
                               "b", -7, "hello", NULL, (size_t)0),
                     1);
    s = cg_db_prep(db, &err, "SELECT n, v, length(b), b IS NULL FROM t WHERE k = ?", "s", "a");
    assert_non_null(s);
    assert_int_equal(cg_db_step(s, &err, "read"), 1);
    assert_true(sqlite3_column_int64(s, 0) == 1LL << 40);
    assert_null(cg_db_col_dup(s, 1, &oom));
    assert_int_equal(sqlite3_column_int(s, 2), 3);
    assert_int_equal(cg_db_step(s, &err, "read"), 0);
    cg_db_done(s);

    s = cg_db_prep(db, &err, "SELECT n, v, b IS NULL FROM t WHERE k = ?", "s", "b");
    assert_int_equal(cg_db_step(s, &err, "read"), 1);
    assert_int_equal(sqlite3_column_int(s, 0), -7);
    v = cg_db_col_dup(s, 1, &oom);
    assert_string_equal(v, "hello");
    free(v);
    cg_db_col_copy(s, 1, buf, sizeof(buf));
    assert_string_equal(buf, "hel");
    assert_int_equal(sqlite3_column_int(s, 2), 1);
    cg_db_done(s);
    assert_int_equal(oom, 0);
}

static void test_changes_conflicts_and_errors(void **state)
{
    cg_error err = {0};
    long long n = 0;

    (void)state;
    assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t (k, n) VALUES (?, ?)", "si",
                               "a", 1), 1);
    assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t (k, n) VALUES (?, ?)", "si",
                               "a", 2), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "insert"));
    assert_int_equal(cg_db_run(db, &err, "update", "UPDATE t SET n = n + 1 WHERE k = ?", "s",
                               "nope"), 0);
    assert_int_equal(cg_db_int(db, &err, &n, "SELECT n FROM t WHERE k = ?", "s", "a"), 1);
    assert_int_equal(n, 1);
    assert_int_equal(cg_db_int(db, &err, &n, "SELECT n FROM t WHERE k = ?", "s", "zz"), 0);

    memset(&err, 0, sizeof(err));
    assert_null(cg_db_prep(db, &err, "SELECT nosuch FROM t", NULL));
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    memset(&err, 0, sizeof(err));
    assert_null(cg_db_prep(db, &err, "SELECT ?", "x", 1));   /* unknown format letter */
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
}

static void test_transaction_rolls_back(void **state)
{
    cg_error err = {0};
    long long n = -1;

    (void)state;
    assert_int_equal(cg_db_begin(db, &err), 0);
    assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t (k) VALUES (?)", "s", "r"), 1);
    assert_int_equal(cg_db_end(db, 0, &err), -1);
    assert_int_equal(cg_db_int(db, &err, &n, "SELECT count(*) FROM t", NULL), 1);
    assert_int_equal(n, 0);

    assert_int_equal(cg_db_begin(db, &err), 0);
    assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t (k) VALUES (?)", "s", "c"), 1);
    assert_int_equal(cg_db_end(db, 1, &err), 0);
    assert_int_equal(cg_db_int(db, &err, &n, "SELECT count(*) FROM t", NULL), 1);
    assert_int_equal(n, 1);
}

static const char select_by_key[] = "SELECT n FROM t WHERE k = ?";

static void test_statements_are_kept_and_reused(void **state)
{
    cg_error err = {0};
    sqlite3_stmt *s, *again, *second;
    char sql[64];

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(cg_db_run(db, &err, "insert", "INSERT INTO t (k, n) VALUES (?, ?)", "si",
                                   i == 0   ? "a"
                                   : i == 1 ? "b"
                                            : "c",
                                   i),
                         1);
    /* The kept statement comes back, bound afresh: its rows are the new key's. */
    s = cg_db_prep(db, &err, select_by_key, "s", "a");
    assert_int_equal(cg_db_step(s, &err, "read"), 1);
    assert_int_equal(sqlite3_column_int(s, 0), 0);
    cg_db_done(s);
    assert_false(sqlite3_stmt_busy(s));
    /* The same text from another buffer is the same statement. */
    snprintf(sql, sizeof(sql), "%s", select_by_key);
    again = cg_db_prep(db, &err, sql, "s", "b");
    assert_ptr_equal(again, s);
    assert_int_equal(cg_db_step(again, &err, "read"), 1);
    assert_int_equal(sqlite3_column_int(again, 0), 1);
    /* In use: a second user gets one of its own (kept too). */
    second = cg_db_prep(db, &err, select_by_key, "s", "c");
    assert_non_null(second);
    assert_ptr_not_equal(second, again);
    assert_int_equal(cg_db_step(second, &err, "read"), 1);
    assert_int_equal(sqlite3_column_int(second, 0), 2);
    /* Left mid-way (a row not read): reset, so it holds no read open. */
    cg_db_done(again);
    assert_false(sqlite3_stmt_busy(again));
    cg_db_done(second);
    /* A statement failing to bind goes back too; nothing piles up. */
    assert_null(cg_db_prep(db, &err, select_by_key, "x", "a"));
    for (int i = 0; i < 50; i++) {
        s = cg_db_prep(db, &err, select_by_key, "s", "a");
        assert_int_equal(cg_db_step(s, &err, "read"), 1);
        cg_db_done(s);
    }
    /* INSERT and the two SELECTs, kept; no more. */
    assert_int_equal(n_stmts(db), 3);
    /* More texts than slots: the rest run as well, and are finalized. */
    for (int i = 0; i < 300; i++) {
        long long n = -1;

        snprintf(sql, sizeof(sql), "SELECT n + %d FROM t WHERE k = ?", i);
        assert_int_equal(cg_db_int(db, &err, &n, sql, "s", "c"), 1);
        assert_int_equal(n, 2 + i);
    }
    assert_true(n_stmts(db) < 300);
    cg_db_done(NULL);
}

static void test_close_finalizes_kept_statements(void **state)
{
    cg_error err = {0};
    sqlite3 *other;
    sqlite3_stmt *s, *mine;

    (void)state;
    assert_int_equal(sqlite3_open(":memory:", &other), SQLITE_OK);
    assert_int_equal(cg_db_exec(other, "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)", &err), 0);
    assert_int_equal(cg_db_run(other, &err, "insert", "INSERT INTO t VALUES ('z', 9)", ""), 1);
    /* The same text on two connections: a statement each. */
    s = cg_db_prep(other, &err, select_by_key, "s", "z");
    mine = cg_db_prep(db, &err, select_by_key, "s", "z");
    assert_ptr_not_equal(s, mine);
    assert_int_equal(cg_db_step(s, &err, "read"), 1);
    assert_int_equal(sqlite3_column_int(s, 0), 9);
    assert_int_equal(cg_db_step(mine, &err, "read"), 0);
    cg_db_done(s);
    cg_db_done(mine);
    assert_int_equal(n_stmts(other), 2);
    /* Closing finalizes its kept statements (sqlite3_close would refuse a
     * connection with statements left, and leak it); db's stay. */
    cg_db_close(other);
    assert_ptr_equal(cg_db_prep(db, &err, select_by_key, "s", "z"), mine);
    cg_db_done(mine);
}

/* A thread that holds a connection's mutex until told to let go, as a job
 * in the middle of a statement does. */
typedef struct holder {
    sqlite3 *db;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int holding, go;
} holder;

static void *hold_db(void *arg)
{
    holder *h = arg;

    sqlite3_mutex_enter(sqlite3_db_mutex(h->db));
    pthread_mutex_lock(&h->mu);
    h->holding = 1;
    pthread_cond_broadcast(&h->cv);
    while (!h->go)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    sqlite3_mutex_leave(sqlite3_db_mutex(h->db));
    return NULL;
}

/* What a connection of cg_db_open caches after reading a table larger than
 * a few pages goes when the gateway is idle (cg_db_release_memory), and the
 * connection works on afterwards.  A closed one is no longer tracked. */
static void test_idle_releases_the_page_cache(void **state)
{
    char dir[] = "/tmp/cg-test-store-XXXXXX", path[64], pad[1001];
    cg_config cfg = {0};
    cg_error err = {0};
    sqlite3 *file;
    long long n = 0;
    int used = 0, hi = 0, before;
    holder h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;

    (void)state;
    assert_non_null(mkdtemp(dir));
    cfg.state_dir = dir;
    file = cg_db_open(&cfg, &err);
    assert_non_null(file);
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    assert_int_equal(cg_db_exec(file, "CREATE TABLE big (k INTEGER PRIMARY KEY, v TEXT)", &err), 0);
    for (int i = 0; i < 400; i++)
        assert_int_equal(
            cg_db_run(file, &err, "insert", "INSERT INTO big VALUES (?, ?)", "is", i, pad), 1);
    assert_int_equal(cg_db_int(file, &err, &n, "SELECT count(*) FROM big WHERE v LIKE 'p%'", ""),
                     1);
    assert_int_equal(n, 400);
    sqlite3_db_status(file, SQLITE_DBSTATUS_CACHE_USED, &used, &hi, 0);
    before = used;
    assert_true(before > 100 * 1024); /* 400 KB of rows were read */
    /* In use by another thread: left alone, and not waited for. */
    h.db = file;
    assert_int_equal(pthread_create(&t, NULL, hold_db, &h), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.holding)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    cg_db_release_memory();
    pthread_mutex_lock(&h.mu);
    h.go = 1;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    sqlite3_db_status(file, SQLITE_DBSTATUS_CACHE_USED, &used, &hi, 0);
    assert_int_equal(used, before);
    cg_db_release_memory();
    sqlite3_db_status(file, SQLITE_DBSTATUS_CACHE_USED, &used, &hi, 0);
    assert_true(used < before / 4);
    assert_int_equal(cg_db_int(file, &err, &n, "SELECT count(*) FROM big", ""), 1);
    assert_int_equal(n, 400);
    cg_db_close(file);
    cg_db_release_memory(); /* must not touch the closed connection */
    for (const char **f = (const char *[]){"", "-wal", "-shm", NULL}; *f; f++) {
        snprintf(path, sizeof(path), "%s/cloudgate.db%s", dir, *f);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bind_all_kinds_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_conflicts_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statements_are_kept_and_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_finalizes_kept_statements, setup, teardown),
        cmocka_unit_test(test_idle_releases_the_page_cache),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
