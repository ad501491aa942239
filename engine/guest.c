/* cloudgate engine: looking into and sealing guest disks (see guest.h).
 *
 * Inspection uses the libguestfs C API on a handle of its own per call,
 * disks added read-only with their format given (never probed: a raw disk
 * whose guest wrote a qcow2 header must stay raw).  libguestfs must not
 * write to the daemon's stderr: errors are read back with
 * guestfs_last_error, its messages go to our log.
 *
 * Sealing runs virt-sysprep as a child in a process group of its own, so a
 * cancel reaches the appliance (qemu and libguestfs' recovery process stay
 * in that group) and not the daemon.
 */
#include "guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <guestfs.h>

#include "../gateway/log.h"

extern char **environ;

#define SYSPREP "virt-sysprep"
#define POLL_MS 200          /* cancel polling and exit checks (the header promises <= 500) */
#define TERM_GRACE_MS 5000   /* SIGTERM, then SIGKILL */
#define GONE_WAIT_MS 2000    /* after SIGKILL, for the group to empty */
#define LOG_TAIL 4096        /* how much of the log is read for the error line */
#define OS_RELEASE_MAX 65536 /* larger is not an os-release */

/* What every instance of a template must not share, and what the default
 * operations of virt-sysprep 1.48 leave: its "customize" step writes a
 * fresh (so then shared) /etc/machine-id after the "machine-id" operation
 * emptied it, and the hostname is only reset when asked for.  Customize
 * actions run after that write, so these two undo it. */
static const char *const seal_extra[] = {
    "--hostname", "localhost.localdomain", "--write", "/etc/machine-id:", NULL,
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int check_disks(const cg_disk_paths *disks, cg_error *err)
{
    if (!disks || disks->n == 0) {
        cg_error_set(err, CG_ERR_INVALID, "guest: no disks given");
        return -1;
    }
    for (size_t i = 0; i < disks->n; i++) {
        if (!disks->path[i] || !disks->path[i][0]) {
            cg_error_set(err, CG_ERR_INVALID, "guest: disk %zu has no path", i);
            return -1;
        }
        if (!disks->format || !disks->format[i] || !disks->format[i][0]) {
            cg_error_set(err, CG_ERR_INVALID, "guest: disk %s: format not known", disks->path[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- inspection ---------------------------------------------------------- */

/* libguestfs' own messages (debug, trace, appliance console, warnings):
 * printed on stderr unless someone takes them. */
static void on_message(guestfs_h *g, void *opaque, uint64_t event, int handle, int flags,
                       const char *buf, size_t len, const uint64_t *array, size_t array_len)
{
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0)
        return;
    if (event == GUESTFS_EVENT_WARNING)
        cg_warn("libguestfs: %.*s", (int)len, buf);
    else
        cg_debug("libguestfs: %.*s", (int)len, buf);
}

static void guestfs_fail(cg_error *err, guestfs_h *g, const char *what)
{
    const char *msg = guestfs_last_error(g);
    cg_error_set(err, CG_ERR_INTERNAL, "libguestfs: %s: %s", what, msg ? msg : "unknown error");
}

/* A quiet handle that still honours LIBGUESTFS_BACKEND & co.: the
 * environment is parsed only once the error handler is off.  No atexit
 * close: a job thread may be using it while the daemon exits, and
 * libguestfs' recovery process kills qemu when we are gone. */
static guestfs_h *open_handle(cg_error *err)
{
    guestfs_h *g =
        guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT | GUESTFS_CREATE_NO_CLOSE_ON_EXIT);
    if (!g) {
        cg_error_set(err, CG_ERR_INTERNAL, "libguestfs: cannot create a handle: %s",
                     strerror(errno));
        return NULL;
    }
    guestfs_set_error_handler(g, NULL, NULL);
    if (guestfs_set_event_callback(g, on_message,
                                   GUESTFS_EVENT_LIBRARY | GUESTFS_EVENT_WARNING |
                                       GUESTFS_EVENT_APPLIANCE | GUESTFS_EVENT_TRACE,
                                   0, NULL) < 0 ||
        guestfs_parse_environment(g) < 0) {
        guestfs_fail(err, g, "setting up the handle");
        guestfs_close(g);
        return NULL;
    }
    return g;
}

static void free_strings(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* Copy, cut to fit (these are labels and messages, a cut one still reads). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* inspect_get_mountpoints gives mountpoint, device pairs. */
typedef struct mount_pair {
    const char *mp, *dev;
} mount_pair;

static int by_mountpoint_length(const void *a, const void *b)
{
    size_t la = strlen(((const mount_pair *)a)->mp), lb = strlen(((const mount_pair *)b)->mp);
    return la < lb ? -1 : la > lb;
}

/* Mount the root's filesystems read-only, parents before children.  0 when
 * at least "/" is mounted, else -1 (nothing to look at). */
static int mount_root(guestfs_h *g, const char *root)
{
    char **mps = guestfs_inspect_get_mountpoints(g, root);
    mount_pair *pairs = NULL;
    size_t n = 0;
    int rc = -1;

    if (!mps)
        goto cleanup;
    while (mps[2 * n])
        n++;
    pairs = calloc(n ? n : 1, sizeof *pairs);
    if (!pairs)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        pairs[i] = (mount_pair){mps[2 * i], mps[2 * i + 1]};
    qsort(pairs, n, sizeof *pairs, by_mountpoint_length);
    for (size_t i = 0; i < n; i++) {
        if (guestfs_mount_ro(g, pairs[i].dev, pairs[i].mp) == 0) {
            if (strcmp(pairs[i].mp, "/") == 0)
                rc = 0;
        } else if (strcmp(pairs[i].mp, "/") == 0) {
            break; /* nothing to mount the rest on */
        } else {
            /* a missing /boot or an odd /srv does not hide /usr/bin */
            cg_debug("guest: cannot mount %s on %s: %s", pairs[i].dev, pairs[i].mp,
                     guestfs_last_error(g));
        }
    }
cleanup:
    free(pairs);
    free_strings(mps);
    return rc;
}

static int only_version_chars(const char *s)
{
    if (!*s)
        return 1;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return 0;
    return 1;
}

/* Debian's product name from libguestfs is the first line of
 * /etc/debian_version ("12.5"): take os-release's PRETTY_NAME instead.
 * Best effort; the guest's own file, so resolved inside the guest and
 * bounded in size. */
static void pretty_name(guestfs_h *g, char *dst, size_t size)
{
    char *path = guestfs_realpath(g, "/etc/os-release");
    char **lines = NULL;
    int64_t len;

    if (!path || guestfs_is_file(g, path) != 1)
        goto cleanup;
    len = guestfs_filesize(g, path);
    if (len <= 0 || len > OS_RELEASE_MAX)
        goto cleanup;
    lines = guestfs_read_lines(g, path);
    for (size_t i = 0; lines && lines[i]; i++) {
        const char *v = lines[i];
        size_t vl;
        if (strncmp(v, "PRETTY_NAME=", 12) != 0)
            continue;
        v += 12;
        vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v++;
            vl -= 2;
        }
        if (vl > 0)
            snprintf(dst, size, "%.*s", (int)vl, v);
        break;
    }
cleanup:
    free_strings(lines);
    free(path);
}

/* What the first root holds.  0 or -1. */
static int read_root(guestfs_h *g, const char *root, cg_os_info *out, cg_error *err)
{
    char *type = NULL, *distro = NULL, *arch = NULL, *product = NULL;
    int major, minor, n = 0, rc = -1;

    if (!(type = guestfs_inspect_get_type(g, root)) ||
        !(distro = guestfs_inspect_get_distro(g, root)) ||
        !(arch = guestfs_inspect_get_arch(g, root)) ||
        !(product = guestfs_inspect_get_product_name(g, root)) ||
        (major = guestfs_inspect_get_major_version(g, root)) < 0 ||
        (minor = guestfs_inspect_get_minor_version(g, root)) < 0) {
        guestfs_fail(err, g, "reading the inspection result");
        goto cleanup;
    }
    copy_str(out->type, sizeof out->type, type);
    copy_str(out->distro, sizeof out->distro, distro);
    copy_str(out->arch, sizeof out->arch, arch);
    copy_str(out->product, sizeof out->product, product);
    /* "12" for 12.0, "" when libguestfs found none (0.0) */
    if (minor > 0)
        n = snprintf(out->version, sizeof out->version, "%d.%d", major, minor);
    else if (major > 0)
        n = snprintf(out->version, sizeof out->version, "%d", major);
    if (n >= (int)sizeof out->version)
        out->version[0] = '\0'; /* not a version anyone wrote */

    if (strcmp(type, "windows") == 0) {
        out->cloud_init = 0; /* cloudbase-init: not looked for */
    } else if (mount_root(g, root) == 0) {
        out->cloud_init = guestfs_exists(g, "/usr/bin/cloud-init") == 1 ||
                          guestfs_exists(g, "/etc/cloud/cloud.cfg") == 1;
        if (strcmp(type, "linux") == 0 && only_version_chars(out->product))
            pretty_name(g, out->product, sizeof out->product);
    } else {
        cg_warn("guest: cannot mount %s read-only (%s): cloud-init not known", root,
                guestfs_last_error(g));
    }
    rc = 0;
cleanup:
    free(type);
    free(distro);
    free(arch);
    free(product);
    return rc;
}

int cg_guest_inspect(const cg_disk_paths *disks, cg_os_info *out, cg_error *err)
{
    guestfs_h *g = NULL;
    char **roots = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->cloud_init = -1;
    if (check_disks(disks, err) < 0 || !(g = open_handle(err)))
        goto cleanup;
    for (size_t i = 0; i < disks->n; i++) {
        if (guestfs_add_drive_opts(g, disks->path[i], GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
                                   GUESTFS_ADD_DRIVE_OPTS_FORMAT, disks->format[i], -1) < 0) {
            guestfs_fail(err, g, "adding a disk");
            goto cleanup;
        }
    }
    if (guestfs_launch(g) < 0) {
        guestfs_fail(err, g, "launching the appliance");
        goto cleanup;
    }
    if (!(roots = guestfs_inspect_os(g))) {
        guestfs_fail(err, g, "inspecting");
        goto cleanup;
    }
    if (!roots[0]) {
        /* a blank or data disk: what runs on it is not known */
        copy_str(out->type, sizeof out->type, "unknown");
        copy_str(out->distro, sizeof out->distro, "unknown");
        rc = 0;
        goto cleanup;
    }
    if (read_root(g, roots[0], out, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free_strings(roots);
    if (g)
        guestfs_close(g);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        out->cloud_init = -1;
    }
    return rc;
}

/* ---- sealing ------------------------------------------------------------- */

/* virt-sysprep --format F1 -a P1 ... EXTRA..., NULL-terminated. */
static char **seal_argv(const cg_disk_paths *disks)
{
    size_t nextra = sizeof seal_extra / sizeof seal_extra[0] - 1;
    char **argv = calloc(1 + 4 * disks->n + nextra + 1, sizeof *argv);
    size_t k = 0;

    if (!argv)
        return NULL;
    argv[k++] = SYSPREP;
    for (size_t i = 0; i < disks->n; i++) {
        argv[k++] = "--format";
        argv[k++] = disks->format[i];
        argv[k++] = "-a";
        argv[k++] = disks->path[i];
    }
    for (size_t i = 0; i < nextra; i++)
        argv[k++] = (char *)seal_extra[i];
    return argv;
}

/* Size of the log file now (-1: not a regular file, no tail to read). */
static off_t log_size(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    return st.st_size;
}

/* The tool's error, from what it appended to the log after start: the last
 * "error:" line with its wrapped continuation (up to the blank line), else
 * the last line; white space folded.  "" when there is nothing to read. */
static void log_error_line(int log_fd, off_t start, char *dst, size_t size)
{
    char buf[LOG_TAIL + 1], path[64];
    off_t end = log_size(log_fd), from;
    ssize_t got = -1;
    int own = -1;
    size_t k = 0;
    char *p, *line = NULL, *stop;

    if (start < 0 || end <= start)
        goto cleanup;
    from = end - start > LOG_TAIL ? end - LOG_TAIL : start;
    got = pread(log_fd, buf, (size_t)(end - from), from);
    if (got < 0 && errno == EBADF) {
        /* opened write-only: read the same file through a descriptor of our own */
        snprintf(path, sizeof path, "/proc/self/fd/%d", log_fd);
        if ((own = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
            got = pread(own, buf, (size_t)(end - from), from);
    }
    if (got <= 0)
        goto cleanup;
    buf[got] = '\0';
    for (p = buf; (p = strstr(p, "error:")); p++)
        line = p;
    if (line) {
        while (line > buf && line[-1] != '\n')
            line--;
        if ((stop = strstr(line, "\n\n")))
            *stop = '\0';
    } else {
        while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
            buf[--got] = '\0';
        line = strrchr(buf, '\n');
        line = line ? line + 1 : buf;
    }
    for (p = line; *p && k + 1 < size; p++) {
        int space = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';
        if (!space || (k > 0 && dst[k - 1] != ' '))
            dst[k++] = space ? ' ' : *p;
    }
    while (k > 0 && dst[k - 1] == ' ')
        k--;
cleanup:
    dst[k] = '\0';
    if (own >= 0)
        close(own);
}

/* Start the tool: stdin /dev/null, stdout+stderr to log_fd (or /dev/null),
 * no other descriptor, default signals, a new process group.  posix_spawn,
 * not fork: nothing of this multithreaded process runs in the child. */
static pid_t spawn_tool(char **argv, int log_fd, cg_error *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    pid_t pid = -1;
    int have_fa = 0, have_attr = 0, e;

    sigemptyset(&none);
    sigfillset(&all);
    if ((e = posix_spawn_file_actions_init(&fa)) != 0)
        goto cleanup;
    have_fa = 1;
    if ((e = posix_spawnattr_init(&attr)) != 0)
        goto cleanup;
    have_attr = 1;
    /* log_fd first: it may itself be 0 */
    if (log_fd >= 0)
        e = posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
    else
        e = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (!e)
        e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!e) /* descriptors other threads opened without O_CLOEXEC */
        e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!e)
        e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
    if (!e)
        e = posix_spawnattr_setpgroup(&attr, 0);
    if (!e)
        e = posix_spawnattr_setsigmask(&attr, &none);
    if (!e)
        e = posix_spawnattr_setsigdefault(&attr, &all);
    if (!e)
        e = posix_spawnp(&pid, SYSPREP, &fa, &attr, argv, environ);
cleanup:
    if (e == ENOENT)
        cg_error_set(err, CG_ERR_UNSUPPORTED, "sealing needs %s (guestfs-tools), not found",
                     SYSPREP);
    else if (e)
        cg_error_set(err, CG_ERR_INTERNAL, "seal: cannot run %s: %s", SYSPREP, strerror(e));
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    if (have_fa)
        posix_spawn_file_actions_destroy(&fa);
    return e ? -1 : pid;
}

/* Has pid exited?  Leaves it a zombie (WNOWAIT), so its pid, which names
 * the group, cannot be reused while we still signal the group. */
static int exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
        if (errno != EINTR)
            return 1; /* not our child any more: nothing to wait for */
    }
    return si.si_pid == pid;
}

/* Wait for the tool, polling cancelled.  Every way out kills what is left
 * of the group and reaps the tool.  0 with its wait status, or -1 when it
 * was reaped elsewhere (status unknown).  *was_cancelled: cancelled asked
 * to stop. */
static int wait_tool(pid_t pid, cg_guest_cancel_fn cancelled, void *arg, int *status,
                     int *was_cancelled)
{
    pid_t r;

    *was_cancelled = 0;
    while (!exited(pid)) {
        if (cancelled && cancelled(arg)) {
            *was_cancelled = 1;
            kill(-pid, SIGTERM);
            for (int ms = 0; ms < TERM_GRACE_MS && !exited(pid); ms += 50)
                sleep_ms(50);
            break;
        }
        sleep_ms(POLL_MS);
    }
    /* the tool's qemu and recovery process, or a tool that ignored SIGTERM */
    kill(-pid, SIGKILL);
    while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
        ;
    /* its orphans (qemu) hold the disk's lock until they are gone: wait for
     * init to reap them (bounded: a lazy init keeps zombies a while) */
    for (int ms = 0; ms < GONE_WAIT_MS && kill(-pid, 0) == 0; ms += 20)
        sleep_ms(20);
    return r == pid ? 0 : -1;
}

int cg_guest_seal(const cg_disk_paths *disks, const cg_os_info *os, int log_fd,
                  cg_guest_cancel_fn cancelled, void *arg, cg_error *err)
{
    cg_os_info found;
    char **argv = NULL;
    char last[256];
    off_t log_start;
    pid_t pid;
    int status, was_cancelled, rc = -1;

    if (check_disks(disks, err) < 0)
        goto cleanup;
    if (!os) {
        if (cg_guest_inspect(disks, &found, err) < 0)
            goto cleanup;
        os = &found;
    }
    if (strcmp(os->type, "windows") == 0) {
        cg_error_set(err, CG_ERR_INVALID,
                     "sealing Windows images is not supported "
                     "(sysprep inside the guest is needed)");
        goto cleanup;
    }
    if (!(argv = seal_argv(disks))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    log_start = log_size(log_fd);
    if ((pid = spawn_tool(argv, log_fd, err)) < 0)
        goto cleanup;
    if (wait_tool(pid, cancelled, arg, &status, &was_cancelled) < 0 && !was_cancelled) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s: its exit status was lost", SYSPREP);
        goto cleanup;
    }
    if (was_cancelled) {
        cg_error_set(err, CG_ERR_STATE, "cancelled");
        goto cleanup;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        log_error_line(log_fd, log_start, last, sizeof last);
        if (WIFSIGNALED(status))
            cg_error_set(err, CG_ERR_INTERNAL, "%s killed by signal %d%s%s", SYSPREP,
                         WTERMSIG(status), last[0] ? ": " : "", last);
        else
            cg_error_set(err, CG_ERR_INTERNAL, "%s failed (exit %d)%s%s", SYSPREP,
                         WEXITSTATUS(status), last[0] ? ": " : "", last);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(argv);
    return rc;
}

/* The whole command line of pid (NULs turned into spaces), or "". */
static void cmdline_of(const char *pid, char *buf, size_t len)
{
    char path[64];
    ssize_t n = 0, i;
    int fd;

    snprintf(path, sizeof(path), "/proc/%.20s/cmdline", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        n = read(fd, buf, len - 1);
        close(fd);
    }
    if (n < 0)
        n = 0;
    for (i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
}

int cg_guest_kill_leftovers(const char *match)
{
    char line[8192];
    struct dirent *de;
    DIR *d;
    pid_t pgid;
    int killed = 0;

    if (!match || !*match || !(d = opendir("/proc")))
        return 0;
    while ((de = readdir(d))) {
        if (de->d_name[strspn(de->d_name, "0123456789")] != '\0')
            continue;
        cmdline_of(de->d_name, line, sizeof(line));
        if (!strstr(line, "virt-sysprep") || !strstr(line, match))
            continue;
        /* Its own group (see cg_guest_seal): the appliance goes with it. */
        pgid = getpgid((pid_t)atoi(de->d_name));
        if (pgid > 1 && pgid != getpgrp() && kill(-pgid, SIGKILL) == 0) {
            cg_warn("killed virt-sysprep (pid %s) left over from an interrupted job on %s",
                    de->d_name, match);
            killed++;
        }
    }
    closedir(d);
    return killed;
}
