/* Unit tests: the snapshots table (lv_snapstate.c) on a fresh database:
 * add/get/list with tags, progress and completion only while pending,
 * deletes refused while an image uses the snapshot or (unforced) while it
 * is pending, tags set/replaced/removed with the 50-tag limit, and the rows
 * surviving a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/libvirt/lv_driver.h"
#include "gateway/store.h"

typedef struct fixture {
    char dir[64];
    cg_config cfg;
    lv_state *st;
    uint64_t seen; /* lv_state_version from another thread */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    cg_error err = {0};

    snprintf(f->dir, sizeof(f->dir), "/tmp/cg-snapstate-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->cfg.state_dir = f->dir;
    assert_non_null(f->st = lv_state_open(&f->cfg, &err));
    assert_int_equal(lv_snapstate_init(f->st, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    lv_state_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void make(cg_snapshot *s, const char *id, const char *state, time_t started)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->volume_id, sizeof(s->volume_id), "vol-0a1b2c3d4e5f60718");
    snprintf(s->zone, sizeof(s->zone), "cloudgate-a");
    snprintf(s->state, sizeof(s->state), "%s", state);
    snprintf(s->owner, sizeof(s->owner), "123456789012");
    s->size_bytes = 3ULL << 30;
    s->started = started;
}

static void test_add_get_list(void **state)
{
    fixture *f = *state;
    cg_snapshot a, b, got;
    cg_snapshot_list l = {0};
    cg_error err = {0};

    make(&a, "snap-00000000000000002", "pending", 200);
    a.description = strdup("it's <nightly>");
    assert_int_equal(cg_tags_set(&a.tags, "Name", "n"), 0);
    assert_int_equal(cg_tags_set(&a.tags, "empty", ""), 0);
    make(&b, "snap-00000000000000001", "completed", 100);
    snprintf(b.copy_of, sizeof(b.copy_of), "snap-0000000000000000f");
    assert_int_equal(lv_snapstate_add(f->st, &a, &err), 0);
    assert_int_equal(lv_snapstate_add(f->st, &b, &err), 0);
    /* A duplicate id is refused and changes nothing. */
    assert_int_equal(lv_snapstate_add(f->st, &b, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    cg_error_clear(&err);

    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_string_equal(got.description, "it's <nightly>");
    assert_string_equal(got.state, "pending");
    assert_int_equal(got.size_bytes, 3ULL << 30);
    assert_int_equal(got.tags.n, 2);
    assert_string_equal(cg_tags_get(&got.tags, "empty"), "");
    cg_snapshot_release(&got);
    assert_int_equal(lv_snapstate_get(f->st, "snap-0000000000000000e", &got, &err), 0);

    /* Oldest first. */
    assert_int_equal(lv_snapstate_list(f->st, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, b.id);
    assert_string_equal(l.v[0].copy_of, "snap-0000000000000000f");
    assert_null(l.v[0].description);
    assert_string_equal(l.v[1].id, a.id);
    cg_snapshot_list_release(&l);
    cg_snapshot_release(&a);
    cg_snapshot_release(&b);
}

static void test_progress_complete_delete(void **state)
{
    fixture *f = *state;
    cg_snapshot a, got;
    cg_error err = {0};
    sqlite3 *db;

    make(&a, "snap-00000000000000003", "pending", 1);
    snprintf(a.job_id, sizeof(a.job_id), "job-00000000000000001");
    assert_int_equal(lv_snapstate_add(f->st, &a, &err), 0);
    assert_int_equal(lv_snapstate_progress(f->st, a.id, 42, &err), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_int_equal(got.progress, 42);
    cg_snapshot_release(&got);
    /* Pending: only a forced delete (a job's rollback) removes it. */
    assert_int_equal(lv_snapstate_delete(f->st, a.id, 0, &err), 0);
    assert_int_equal(lv_snapstate_complete(f->st, a.id, &err), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_string_equal(got.state, "completed");
    assert_int_equal(got.progress, 100);
    assert_string_equal(got.job_id, "");
    cg_snapshot_release(&got);
    /* Completed: progress and a second completion change nothing. */
    assert_int_equal(lv_snapstate_progress(f->st, a.id, 5, &err), 0);
    assert_int_equal(lv_snapstate_complete(f->st, a.id, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_int_equal(got.progress, 100);
    cg_snapshot_release(&got);

    /* An image using it keeps it, forced or not; claimed once only. */
    db = lv_state_db_lock(f->st);
    assert_int_equal(cg_db_run(db, &err, "t", "INSERT INTO images (id, name, volume,"
                               " architecture, state, created, size) VALUES"
                               " ('ami-00000000000000001', 'n', 'v', 'x86_64', 'available',"
                               " 1, 1)", NULL), 1);
    lv_state_db_unlock(f->st);
    assert_int_equal(lv_snapstate_claim(f->st, a.id, "ami-00000000000000001", &err), 1);
    assert_int_equal(lv_snapstate_claim(f->st, a.id, "ami-00000000000000002", &err), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_string_equal(got.image_id, "ami-00000000000000001");
    cg_snapshot_release(&got);
    assert_int_equal(lv_snapstate_delete(f->st, a.id, 0, &err), 0);
    assert_int_equal(lv_snapstate_delete(f->st, a.id, 1, &err), 0);
    /* Its image row gone (a crash before the release): it holds nothing. */
    db = lv_state_db_lock(f->st);
    assert_int_equal(cg_db_run(db, &err, "t", "DELETE FROM images", NULL), 1);
    lv_state_db_unlock(f->st);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_string_equal(got.image_id, "");
    cg_snapshot_release(&got);
    assert_int_equal(lv_snapstate_delete(f->st, a.id, 0, &err), 1);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 0);
    assert_int_equal(lv_snapstate_delete(f->st, a.id, 1, &err), 0);
}

static void test_tags(void **state)
{
    fixture *f = *state;
    cg_snapshot a, got;
    cg_tags t = {0};
    cg_error err = {0};
    char key[16];
    int i;

    make(&a, "snap-00000000000000004", "completed", 1);
    assert_int_equal(cg_tags_set(&a.tags, "a", "1"), 0);
    assert_int_equal(lv_snapstate_add(f->st, &a, &err), 0);
    assert_int_equal(cg_tags_set(&t, "a", "2"), 0);
    assert_int_equal(cg_tags_set(&t, "b", "x"), 0);
    assert_int_equal(lv_snapstate_tags(f->st, a.id, &t, 0, &err), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_int_equal(got.tags.n, 2);
    assert_string_equal(cg_tags_get(&got.tags, "a"), "2");
    cg_snapshot_release(&got);
    /* Remove: a value that differs keeps the tag; NULL removes whatever. */
    cg_tags_release(&t);
    assert_int_equal(cg_tags_set(&t, "a", "9"), 0);
    assert_int_equal(lv_snapstate_tags(f->st, a.id, &t, 1, &err), 0);
    free(t.v[0].value);
    t.v[0].value = NULL;
    assert_int_equal(cg_tags_set(&t, "b", "x"), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_string_equal(cg_tags_get(&got.tags, "a"), "2");
    cg_snapshot_release(&got);
    assert_int_equal(lv_snapstate_tags(f->st, a.id, &t, 1, &err), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_int_equal(got.tags.n, 0);
    cg_snapshot_release(&got);
    cg_tags_release(&t);

    /* 51 tags: refused whole. */
    for (i = 0; i < 51; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(cg_tags_set(&t, key, "v"), 0);
    }
    assert_int_equal(lv_snapstate_tags(f->st, a.id, &t, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_int_equal(got.tags.n, 0);
    cg_snapshot_release(&got);
    assert_int_equal(lv_snapstate_tags(f->st, "snap-0000000000000000e", &t, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_tags_release(&t);
    cg_snapshot_release(&a);
}

static void *read_version(void *arg)
{
    fixture *f = arg;

    f->seen = lv_state_version(f->st);
    return NULL;
}

/* The version moves with each commit, the store's own and another
 * connection's, and asking for it waits for no transaction in progress
 * (a DescribeInstances asks on every request). */
static void test_version(void **state)
{
    fixture *f = *state;
    cg_snapshot s;
    cg_error err = {0};
    sqlite3 *db, *other = NULL;
    pthread_t t;
    struct timespec deadline;
    char path[128];
    uint64_t v0 = lv_state_version(f->st), v1, v2;

    assert_int_equal(lv_state_version(f->st), v0); /* nothing changed */
    make(&s, "snap-00000000000000003", "completed", 100);
    assert_int_equal(lv_snapstate_add(f->st, &s, &err), 0);
    assert_true((v1 = lv_state_version(f->st)) > v0);

    snprintf(path, sizeof(path), "%s/cloudgate.db", f->dir);
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 5000);
    assert_int_equal(sqlite3_exec(other, "UPDATE snapshots SET progress = 7", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_true((v2 = lv_state_version(f->st)) > v1);

    /* A write transaction open on the store's connection, its lock held. */
    db = lv_state_db_lock(f->st);
    assert_int_equal(
        sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE snapshots SET progress = 8", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(pthread_create(&t, NULL, read_version, f), 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    assert_int_equal(pthread_timedjoin_np(t, NULL, &deadline), 0);
    assert_true(f->seen == v2); /* not committed: not seen */
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    lv_state_db_unlock(f->st);
    assert_true(lv_state_version(f->st) > v2);
    sqlite3_close(other);
    cg_snapshot_release(&s);
}

static void test_reopen(void **state)
{
    fixture *f = *state;
    cg_snapshot a, got;
    cg_error err = {0};

    make(&a, "snap-00000000000000005", "completed", 7);
    assert_int_equal(cg_tags_set(&a.tags, "keep", "me"), 0);
    assert_int_equal(lv_snapstate_add(f->st, &a, &err), 0);
    lv_state_close(f->st);
    assert_non_null(f->st = lv_state_open(&f->cfg, &err));
    assert_int_equal(lv_snapstate_init(f->st, &err), 0);
    assert_int_equal(lv_snapstate_get(f->st, a.id, &got, &err), 1);
    assert_string_equal(cg_tags_get(&got.tags, "keep"), "me");
    assert_int_equal(got.started, 7);
    cg_snapshot_release(&got);
    cg_snapshot_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_complete_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
