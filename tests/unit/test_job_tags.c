/* Unit tests: tags of jobs (engine/job_tags.c) and the table of taggable
 * kinds the EC2 tag actions read (frontends/ec2/ec2_tag_kinds.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "engine/jobs.h"
#include "frontends/ec2/ec2_tag_kinds.h"

static cg_config cfg;
static char dir[64];
static cg_jobs *jobs;

static int quick(cg_jobs *j, const char *id, void *arg, cg_error *err)
{
    (void)j, (void)id, (void)arg, (void)err;
    return 0;
}

static int setup(void **state)
{
    cg_error err = {0};

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cg-jobtags-XXXXXX");
    assert_non_null(mkdtemp(dir));
    memset(&cfg, 0, sizeof(cfg));
    cfg.state_dir = dir;
    if (!(jobs = cg_jobs_open(&cfg, 1, &err)))
        fail_msg("cg_jobs_open: %s", err.message);
    return 0;
}

static int teardown(void **state)
{
    static const char *const files[] = {"cloudgate.db", "cloudgate.db-wal", "cloudgate.db-shm"};
    char path[128];
    size_t i;

    (void)state;
    cg_jobs_close(jobs);
    jobs = NULL;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/jobs", dir);
    rmdir(path);
    rmdir(dir);
    return 0;
}

/* How many job_tags rows the database holds, read on a connection of its own. */
static int tag_rows(void)
{
    char path[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    snprintf(path, sizeof(path), "%s/cloudgate.db", dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM job_tags", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static cg_job submit_tagged(const cg_tags *tags)
{
    cg_job_opts o = {.action = "import-image", .id_prefix = "import-ami-", .tags = tags};
    cg_error err = {0};
    cg_job j;

    if (cg_jobs_submit_opts(jobs, &o, quick, NULL, NULL, &j, &err) < 0)
        fail_msg("submit: %s", err.message);
    return j;
}

static void expect_tags(const char *id, const char *want)
{
    cg_tags got = {0};
    cg_error err = {0};
    char buf[256] = "";
    size_t i, used = 0;

    if (cg_job_tags_get(jobs, id, &got, &err) < 0)
        fail_msg("cg_job_tags_get: %s", err.message);
    for (i = 0; i < got.n; i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s=%s", i ? "," : "",
                                 got.v[i].key, got.v[i].value);
    assert_string_equal(buf, want);
    cg_tags_release(&got);
}

static void test_submit_edit_delete(void **state)
{
    cg_tags t = {0}, edit = {0};
    cg_error err = {0};
    cg_job j;

    (void)state;
    cg_tags_set(&t, "Name", "imp");
    cg_tags_set(&t, "src", "");
    j = submit_tagged(&t);
    expect_tags(j.id, "Name=imp,src=");

    cg_tags_set(&edit, "src", "glance");
    cg_tags_set(&edit, "team", "ops");
    assert_int_equal(cg_job_tags_edit(jobs, j.id, &edit, 0, &err), 0);
    expect_tags(j.id, "Name=imp,src=glance,team=ops");

    /* Removing with a value deletes only that value; NULL, any value. */
    cg_tags_release(&edit);
    cg_tags_set(&edit, "team", "dev");
    assert_int_equal(cg_job_tags_edit(jobs, j.id, &edit, 1, &err), 0);
    expect_tags(j.id, "Name=imp,src=glance,team=ops");
    free(edit.v[0].value);
    edit.v[0].value = NULL;
    assert_int_equal(cg_job_tags_edit(jobs, j.id, &edit, 1, &err), 0);
    expect_tags(j.id, "Name=imp,src=glance");

    /* A job without tags has none; the tags outlive a reopen. */
    j = submit_tagged(NULL);
    expect_tags(j.id, "");
    cg_jobs_close(jobs);
    assert_non_null(jobs = cg_jobs_open(&cfg, 1, &err));
    assert_int_equal(tag_rows(), 2);
    cg_tags_release(&t);
    cg_tags_release(&edit);
}

static void test_unknown_job(void **state)
{
    cg_tags t = {0}, got = {0};
    cg_error err = {0};

    (void)state;
    cg_tags_set(&t, "a", "b");
    assert_int_equal(cg_job_tags_edit(jobs, "import-ami-0123456789abcdef0", &t, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    memset(&err, 0, sizeof(err));
    assert_int_equal(cg_job_tags_get(jobs, "import-ami-0123456789abcdef0", &got, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    assert_int_equal(got.n, 0);
    assert_int_equal(tag_rows(), 0);
    cg_tags_release(&t);
}

/* Every row complete; no prefix hides another (ec2_tag_kind_of takes the
 * first match); ids find their kind. */
static void test_kind_table(void **state)
{
    size_t i, j;

    (void)state;
    assert_true(ec2_n_tag_kinds >= 5);
    for (i = 0; i < ec2_n_tag_kinds; i++) {
        const ec2_tag_kind *k = &ec2_tag_kinds[i];

        assert_non_null(k->prefix);
        assert_non_null(k->type);
        assert_non_null(k->noun);
        assert_non_null(k->not_found);
        assert_non_null(k->malformed);
        assert_non_null(k->list);
        assert_non_null(k->edit);
        for (j = i + 1; j < ec2_n_tag_kinds; j++)
            assert_false(strncmp(ec2_tag_kinds[j].prefix, k->prefix, strlen(k->prefix)) == 0);
    }
    assert_string_equal(ec2_tag_kind_of("i-0123456789abcdef0")->type, "instance");
    assert_string_equal(ec2_tag_kind_of("ami-0123456789abcdef0")->type, "image");
    assert_string_equal(ec2_tag_kind_of("vol-0123456789abcdef0")->not_found,
                        "InvalidVolume.NotFound");
    assert_string_equal(ec2_tag_kind_of("key-0123456789abcdef0")->type, "key-pair");
    assert_string_equal(ec2_tag_kind_of("import-ami-0123456789abcdef0")->type, "import-image-task");
    assert_string_equal(ec2_tag_kind_of("sg-0123456789abcdef0")->type, "security-group");
    assert_string_equal(ec2_tag_kind_of("sgr-0123456789abcdef0")->type, "security-group-rule");
    assert_null(ec2_tag_kind_of("igw-0123456789abcdef0"));
    assert_null(ec2_tag_kind_of("import-vol-0123456789abcdef0"));
    assert_null(ec2_tag_kind_of(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_edit_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_job, setup, teardown),
        cmocka_unit_test(test_kind_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
