/* Unit tests: engine/scratch.c, the per-process scratch directory and the
 * sweep of those a killed process left. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/scratch.h"
#include "gateway/util.h"

static int exists(const char *fmt, const char *a, const char *b)
{
    char path[PATH_MAX + 64];
    struct stat sb;

    snprintf(path, sizeof path, fmt, a, b);
    return stat(path, &sb) == 0;
}

/* STATE/tmp/NAME with an owner file and one file of work; returns the
 * owner file open (not locked). */
static int fake_dir(const char *state, const char *name)
{
    char path[PATH_MAX];
    int fd;

    snprintf(path, sizeof path, "%s/tmp/%s", state, name);
    assert_int_equal(cg_mkdir_p(path, 0700), 0);
    snprintf(path, sizeof path, "%s/tmp/%s/seed.iso", state, name);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/tmp/%s/.owner", state, name);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    return fd;
}

static void test_sweep_takes_only_orphans(void **unused)
{
    char state[] = "/tmp/cg-scratch-XXXXXX", own[PATH_MAX];
    cg_error err = {0};
    int dead, live;

    (void)unused;
    assert_non_null(mkdtemp(state));
    dead = fake_dir(state, "p-dead01");
    close(dead); /* its process is gone: nobody holds the lock */
    live = fake_dir(state, "p-live01");
    /* Another open file holds it, as a running process would. */
    assert_int_equal(flock(live, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(cg_mkdir_p(strcat(strcpy(own, state), "/tmp/keepme"), 0700), 0);

    assert_int_equal(cg_scratch_init(state, &err), 1);
    assert_false(exists("%s/tmp/%s", state, "p-dead01"));
    assert_true(exists("%s/tmp/%s/seed.iso", state, "p-live01"));
    assert_true(exists("%s/tmp/%s", state, "keepme")); /* not ours by name */

    /* TMPDIR names this process's own directory, under STATE/tmp. */
    snprintf(own, sizeof own, "%s", getenv("TMPDIR"));
    assert_int_equal(strncmp(own, state, strlen(state)), 0);
    assert_non_null(strstr(own, "/tmp/p-"));
    assert_true(exists("%s%s", own, "/.owner"));
    assert_non_null(getenv("LIBGUESTFS_CACHEDIR"));

    /* A second process (here: a second sweep) leaves a living owner's
     * directory alone, ours included. */
    close(live);
    cg_scratch_fini();
    assert_false(exists("%s%s", own, ""));
    assert_int_equal(cg_scratch_init(state, &err), 1); /* p-live01, now free */
    assert_false(exists("%s/tmp/%s", state, "p-live01"));
    snprintf(own, sizeof own, "%s", getenv("TMPDIR"));
    cg_scratch_fini();
    assert_false(exists("%s%s", own, ""));
    assert_int_equal(cg_rm_tree(state), 0);
    assert_false(exists("%s%s", state, ""));
}

static void test_state_dir_too_long(void **unused)
{
    char state[PATH_MAX];
    cg_error err = {0};

    (void)unused;
    memset(state, 'a', sizeof state - 1);
    state[0] = '/';
    state[sizeof state - 1] = '\0';
    assert_int_equal(cg_scratch_init(state, &err), -1);
    assert_non_null(strstr(err.message, "too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_takes_only_orphans),
        cmocka_unit_test(test_state_dir_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
