/* Unit tests: the import locks (lv_v2v_instance.c) on a fresh database:
 * a lock row names its job, is seen through a second connection to the same
 * file (the admin CLI and the daemon share it), shows only its instance as
 * "pending" in a listing, and an id that is SQL text matches nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/libvirt/lv_driver.h"
#include "gateway/store.h"

#define LOCKED_ID "i-0000000000000000a"
#define OTHER_ID "i-0000000000000000b"

typedef struct fixture {
    char dir[64];
    cg_config cfg;
    lv_state *st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    cg_error err = {0};
    sqlite3 *db;

    snprintf(f->dir, sizeof(f->dir), "/tmp/cg-v2vlock-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->cfg.state_dir = f->dir;
    assert_non_null(f->st = lv_state_open(&f->cfg, &err));
    assert_int_equal(lv_v2v_lock_init(f->st, &err), 0);
    /* twice: CREATE TABLE IF NOT EXISTS */
    assert_int_equal(lv_v2v_lock_init(f->st, &err), 0);
    db = lv_state_db_lock(f->st);
    assert_int_equal(cg_db_run(db, &err, "lock", "INSERT INTO v2v_locks (instance_id, job_id,"
                               " zone, created) VALUES (?, ?, ?, 1)", "sss", LOCKED_ID,
                               "import-i-00000000000000001", "cloudgate-a"), 1);
    lv_state_db_unlock(f->st);
    *state = f;
    return 0;
}

/* The store's files (the database, its WAL and shared memory), then the
 * directory: rmdir fails, and so the test, if anything else was left. */
static int teardown(void **state)
{
    static const char *const files[] = {"cloudgate.db", "cloudgate.db-wal", "cloudgate.db-shm"};
    fixture *f = *state;
    char path[128];

    lv_state_close(f->st);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

static void test_locked_names_job(void **state)
{
    fixture *f = *state;
    char job[32] = "";

    assert_int_equal(lv_v2v_locked(f->st, LOCKED_ID, job, sizeof(job)), 1);
    assert_string_equal(job, "import-i-00000000000000001");
    assert_int_equal(lv_v2v_locked(f->st, LOCKED_ID, NULL, 0), 1);
    assert_int_equal(lv_v2v_locked(f->st, OTHER_ID, job, sizeof(job)), 0);
    assert_int_equal(lv_v2v_locked(f->st, "' OR 1=1 --", NULL, 0), 0);
    assert_int_equal(lv_v2v_locked(f->st, "", NULL, 0), 0);
}

static void test_seen_by_another_connection(void **state)
{
    fixture *f = *state;
    cg_error err = {0};
    lv_state *other = lv_state_open(&f->cfg, &err);

    assert_non_null(other);
    assert_int_equal(lv_v2v_lock_init(other, &err), 0);
    assert_int_equal(lv_v2v_locked(other, LOCKED_ID, NULL, 0), 1);
    lv_state_close(other);
}

static void test_apply_marks_only_locked(void **state)
{
    fixture *f = *state;
    cg_instance v[2];
    cg_instance_list l = {.v = v, .n = 2};

    memset(v, 0, sizeof(v));
    snprintf(v[0].id, sizeof(v[0].id), OTHER_ID);
    v[0].state = CG_STATE_RUNNING;
    snprintf(v[1].id, sizeof(v[1].id), LOCKED_ID);
    v[1].state = CG_STATE_STOPPED;
    v[1].sub = CG_SUB_SUSPENDED;
    lv_v2v_lock_apply(f->st, &l);
    assert_int_equal(v[0].state, CG_STATE_RUNNING);
    assert_int_equal(v[1].state, CG_STATE_PENDING);
    assert_int_equal(v[1].sub, CG_SUB_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_locked_names_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seen_by_another_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_marks_only_locked, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
