/* cloudgate: the SQLite helper (gateway/store.c): binding by format,
 * stepping, changed-row counts, conflicts and transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    sqlite3_close(db);
    return 0;
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
    sqlite3_finalize(s);

    s = cg_db_prep(db, &err, "SELECT n, v, b IS NULL FROM t WHERE k = ?", "s", "b");
    assert_int_equal(cg_db_step(s, &err, "read"), 1);
    assert_int_equal(sqlite3_column_int(s, 0), -7);
    v = cg_db_col_dup(s, 1, &oom);
    assert_string_equal(v, "hello");
    free(v);
    cg_db_col_copy(s, 1, buf, sizeof(buf));
    assert_string_equal(buf, "hel");
    assert_int_equal(sqlite3_column_int(s, 2), 1);
    sqlite3_finalize(s);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bind_all_kinds_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_conflicts_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rolls_back, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
