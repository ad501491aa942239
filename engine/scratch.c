/* cloudgate engine: a process's scratch directory (see scratch.h).
 *
 * Each directory holds an owner file its process keeps flock()ed for life;
 * the kernel drops that lock when the process dies however it dies, so a
 * free lock means the directory is an orphan.  Sweep and creation happen
 * under one lock on STATE_DIR/tmp/.lock, so a sweeper never sees a
 * directory between its mkdtemp and its owner's flock.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "../gateway/util.h"

#define OWNER ".owner"
#define PREFIX "p-"

static char own_dir[PATH_MAX];
static int own_fd = -1;

/* 1 when dir's owner is gone (or it never got one), 0 while it lives. */
static int orphaned(const char *dir)
{
    char path[PATH_MAX];
    int fd, free_lock;

    if ((size_t)snprintf(path, sizeof path, "%s/" OWNER, dir) >= sizeof path)
        return 0;
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return errno == ENOENT;
    /* Our own open file: closing it never releases the owner's lock. */
    free_lock = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return free_lock;
}

static int sweep(const char *base)
{
    char path[PATH_MAX];
    struct dirent *e;
    DIR *d = opendir(base);
    int removed = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 ||
            (size_t)snprintf(path, sizeof path, "%s/%s", base, e->d_name) >= sizeof path ||
            !orphaned(path))
            continue;
        if (cg_rm_tree(path) < 0)
            cg_warn("scratch: cannot remove all of %s: %s", path, strerror(errno));
        else
            removed++;
    }
    closedir(d);
    return removed;
}

/* mkdtemp under base and hold its owner lock.  0, or -1 with err. */
static int make_own(const char *base, cg_error *err)
{
    char path[PATH_MAX];

    if ((size_t)snprintf(own_dir, sizeof own_dir, "%s/" PREFIX "XXXXXX", base) >= sizeof own_dir ||
        !mkdtemp(own_dir)) {
        cg_error_set(err, CG_ERR_INTERNAL, "scratch: cannot make a directory in %s: %s", base,
                     strerror(errno));
        own_dir[0] = '\0';
        return -1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/" OWNER, own_dir) >= sizeof path)
        errno = ENAMETOOLONG;
    else
        own_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (own_fd < 0 || flock(own_fd, LOCK_EX | LOCK_NB) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "scratch: cannot lock %s: %s", path, strerror(errno));
        cg_scratch_fini();
        return -1;
    }
    return 0;
}

int cg_scratch_init(const char *state_dir, cg_error *err)
{
    char base[PATH_MAX], lock[PATH_MAX];
    int fd = -1, ret = -1;

    /* Room for PREFIX "XXXXXX/" OWNER below it. */
    if ((size_t)snprintf(base, sizeof base, "%s/tmp", state_dir) >= sizeof base - 32 ||
        (size_t)snprintf(lock, sizeof lock, "%s/.lock", base) >= sizeof lock) {
        cg_error_set(err, CG_ERR_INTERNAL, "scratch: state_dir is too long");
        return -1;
    }
    if (cg_mkdir_p(base, 0700) < 0 || (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
        flock(fd, LOCK_EX) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "scratch: %s: %s", base, strerror(errno));
        goto cleanup;
    }
    ret = sweep(base);
    if (make_own(base, err) < 0) {
        ret = -1;
        goto cleanup;
    }
    /* The tools and libguestfs make their temporary files under TMPDIR;
     * libguestfs would also put its appliance cache there unless told. */
    if (setenv("LIBGUESTFS_CACHEDIR", "/var/tmp", 0) < 0 || setenv("TMPDIR", own_dir, 1) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "scratch: out of memory");
        cg_scratch_fini();
        ret = -1;
    }

cleanup:
    if (fd >= 0)
        close(fd); /* releases the sweep lock */
    return ret;
}

void cg_scratch_fini(void)
{
    if (own_dir[0] && cg_rm_tree(own_dir) < 0)
        cg_warn("scratch: cannot remove all of %s: %s", own_dir, strerror(errno));
    own_dir[0] = '\0';
    if (own_fd >= 0)
        close(own_fd);
    own_fd = -1;
}
