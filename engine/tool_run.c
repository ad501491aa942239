/* cloudgate engine: running an external tool as a job's child (see
 * tool_run.h).  Moved out of guest.c (sealing) so virt-v2v runs the same
 * way, with its output read back line by line for progress. */
#include "tool_run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "../gateway/util.h"

extern char **environ;

#define POLL_MS 200          /* cancel polling and exit checks (the header promises <= 500) */
#define TERM_GRACE_MS 5000   /* SIGTERM, then SIGKILL */
#define GONE_WAIT_MS 2000    /* after SIGKILL, for the group to empty */
#define LOG_TAIL 4096        /* how much of the log is read for the error line */
#define LINE_MAX_LEN 4096    /* a longer line is cut (still written whole to the log) */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Wait up to ms for the tool to exit.  Its pidfd turns readable at that
 * moment; a plain sleep would cost most of ms per run, since the end of its
 * output (closed at exit) comes just before it can be reaped. */
static void wait_exit(int pidfd, long ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};

    if (pidfd < 0)
        sleep_ms(ms);
    else
        (void)poll(&p, 1, (int)ms); /* EINTR: the caller checks again */
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
 * the last " : FAILURE : " line (xorriso), else xorriso's "UNIX-SIGNAL:" line
 * (a signal it caught: it exits 1), else the last line; white space folded.
 * "" when there is nothing to read. */
static void log_error_line(int log_fd, off_t start, char *dst, size_t size)
{
    char buf[LOG_TAIL + 1], path[64];
    off_t end = log_size(log_fd), from;
    ssize_t got = -1;
    int own = -1;
    size_t k = 0;
    char *p, *line = NULL, *failure = NULL, *stop;

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
    /* xorriso's: "xorriso : FAILURE : why", then two lines of aborting */
    for (p = buf; !line && (p = strstr(p, " : FAILURE : ")); p++)
        failure = p;
    for (p = buf; !line && !failure && (p = strstr(p, "UNIX-SIGNAL:")); p++)
        failure = p;
    if (failure) {
        while (failure > buf && failure[-1] != '\n')
            failure--;
        if ((stop = strchr(failure, '\n')))
            *stop = '\0';
        line = failure;
    } else if (line) {
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

/* "CLOUDGATE_TOOL_TAG=tag" into dst; -1 when it does not fit. */
static int tag_entry(const char *tag, char *dst, size_t size)
{
    int n = snprintf(dst, size, "%s=%s", CG_TOOL_TAG_ENV, tag);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The daemon's environment with entry (NULL: none) in place of any tag it
 * has.  A NULL-terminated array of borrowed strings; NULL when out of memory. */
static char **tool_env(char *entry)
{
    size_t n = 0, k = 0, len = strlen(CG_TOOL_TAG_ENV);
    char **env;

    while (environ[n])
        n++;
    if (!(env = calloc(n + 2, sizeof(*env))))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], CG_TOOL_TAG_ENV, len) != 0 || environ[i][len] != '=')
            env[k++] = environ[i];
    if (entry)
        env[k++] = entry;
    return env;
}

/* Does pid's (a /proc name) environment hold entry?  A zombie's has nothing. */
static int env_has(const char *pid, const char *entry, char *buf, size_t size)
{
    char path[64];
    size_t got = 0, len = strlen(entry);
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%.20s/environ", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    for (size_t off = 0; off < got; off += strlen(buf + off) + 1)
        if (strncmp(buf + off, entry, len + 1) == 0)
            return 1;
    return 0;
}

/* Room for any environment a tool is given. */
#define ENV_BUF_SIZE (256 * 1024)

/* Send sig to every process but this one whose environment holds entry,
 * each read into buf (ENV_BUF_SIZE).  Returns how many. */
static int signal_tagged(const char *entry, int sig, char *buf)
{
    struct dirent *de;
    DIR *d = opendir("/proc");
    pid_t self = getpid();
    int count = 0;

    while (d && (de = readdir(d))) {
        pid_t pid = (pid_t)atoi(de->d_name);
        int pidfd;

        if (pid <= 1 || pid == self || de->d_name[strspn(de->d_name, "0123456789")] != '\0')
            continue;
        /* the process whose environment is read is the one signalled, even
         * if its pid is reused meanwhile */
        if ((pidfd = pidfd_open(pid, 0)) < 0)
            continue;
        if (env_has(de->d_name, entry, buf, ENV_BUF_SIZE) &&
            pidfd_send_signal(pidfd, sig, NULL, 0) == 0)
            count++;
        close(pidfd);
    }
    if (d)
        closedir(d);
    return count;
}

/* Kill what carries the tag until nothing does (bounded): they hold the
 * disks open until they are gone.  Returns how many the first pass found
 * (-1: no memory to look). */
static int kill_tagged(const char *entry)
{
    char *buf = malloc(ENV_BUF_SIZE);
    int first, n;

    if (!buf)
        return -1;
    first = n = signal_tagged(entry, SIGKILL, buf);
    for (int ms = 0; n > 0 && ms < GONE_WAIT_MS; ms += 20) {
        sleep_ms(20);
        n = signal_tagged(entry, SIGKILL, buf);
    }
    free(buf);
    return first;
}

static void sweep_tagged(const char *tool, const char *entry)
{
    int first = kill_tagged(entry);

    if (first > 0)
        cg_warn("killed %d process(es) that %s left running outside its group (%s)", first, tool,
                entry);
}

/* Start the tool: stdin /dev/null, stdout+stderr to out_fd, no other
 * descriptor, default signals, a new process group, env as its environment. */
static pid_t spawn_tool(const cg_tool_spec *spec, char **env, int out_fd, cg_error *err)
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
    /* out_fd first: it may itself be 0 */
    e = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
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
        e = posix_spawnp(&pid, spec->argv[0], &fa, &attr, spec->argv, env);
cleanup:
    if (e == ENOENT)
        cg_error_set(err, CG_ERR_UNSUPPORTED, "%s is needed%s%s%s, not found", spec->argv[0],
                     spec->package ? " (" : "", spec->package ? spec->package : "",
                     spec->package ? ")" : "");
    else if (e)
        cg_error_set(err, CG_ERR_INTERNAL, "cannot run %s: %s", spec->argv[0], strerror(e));
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

/* The read side of the tool's output: appended to the log, cut into lines. */
typedef struct out_reader {
    const cg_tool_spec *spec;
    char line[LINE_MAX_LEN];
    size_t n;
} out_reader;

static void feed(out_reader *r, const char *buf, size_t len)
{
    size_t off = 0;

    while (r->spec->log_fd >= 0 && off < len) {
        ssize_t w = write(r->spec->log_fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a full disk loses log lines, not the job */
        off += (size_t)w;
    }
    for (size_t i = 0; r->spec->on_line && i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r') {
            r->line[r->n] = '\0';
            if (r->n)
                r->spec->on_line(r->line, r->spec->arg);
            r->n = 0;
        } else if (r->n + 1 < sizeof r->line) {
            r->line[r->n++] = buf[i];
        }
    }
}

/* Read what is there, waiting up to ms.  0 read some, -1 nothing came,
 * 1 at the end of the output (or it cannot be read). */
static int pump_output(out_reader *r, int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[8192];
    ssize_t n;

    if (poll(&p, 1, ms) <= 0)
        return -1;
    n = read(fd, buf, sizeof buf);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? -1 : 1;
    if (n == 0)
        return 1;
    feed(r, buf, (size_t)n);
    return 0;
}

/* Wait for the tool, reading its output and polling cancelled.  Every way
 * out kills what is left of the group and reaps the tool.  0 with its wait
 * status, or -1 when it was reaped elsewhere (status unknown). */
static int wait_tool(const cg_tool_spec *spec, pid_t pid, int rd, int *status,
                     int *was_cancelled)
{
    out_reader r = {.spec = spec};
    pid_t rc;
    int eof = 0, pidfd = pidfd_open(pid, 0);

    *was_cancelled = 0;
    while (!exited(pid)) {
        if (spec->cancelled && spec->cancelled(spec->arg)) {
            *was_cancelled = 1;
            kill(-pid, SIGTERM);
            for (int ms = 0; ms < TERM_GRACE_MS && !exited(pid); ms += 50) {
                if (eof)
                    wait_exit(pidfd, 50);
                else
                    eof = pump_output(&r, rd, 50) == 1;
            }
            break;
        }
        if (eof)
            wait_exit(pidfd, POLL_MS);
        else
            eof = pump_output(&r, rd, POLL_MS) == 1;
    }
    if (pidfd >= 0)
        close(pidfd);
    /* the tool's qemu and helpers, or a tool that ignored SIGTERM */
    kill(-pid, SIGKILL);
    while ((rc = waitpid(pid, status, 0)) < 0 && errno == EINTR)
        ;
    /* what is left in the pipe (its orphans may hold the write end: bounded) */
    for (int i = 0; i < 64 && !eof && pump_output(&r, rd, 0) == 0; i++)
        ;
    if (r.n && spec->on_line) {
        r.line[r.n] = '\0';
        spec->on_line(r.line, spec->arg);
    }
    /* its orphans (qemu) hold the disk's lock until they are gone: wait for
     * init to reap them (bounded: a lazy init keeps zombies a while) */
    for (int ms = 0; ms < GONE_WAIT_MS && kill(-pid, 0) == 0; ms += 20)
        sleep_ms(20);
    return rc == pid ? 0 : -1;
}

int cg_tool_run(const cg_tool_spec *spec, cg_error *err)
{
    const char *tool = spec->argv[0];
    char last[256], entry[4200];
    off_t log_start = log_size(spec->log_fd);
    int pfd[2] = {-1, -1};
    int status = 0, was_cancelled = 0, rc = -1, waited;
    char **env = NULL;
    pid_t pid;

    if (spec->tag && tag_entry(spec->tag, entry, sizeof(entry)) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot run %s: tag too long", tool);
        goto cleanup;
    }
    if (!(env = tool_env(spec->tag ? entry : NULL))) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot run %s: out of memory", tool);
        goto cleanup;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot run %s: pipe: %s", tool, strerror(errno));
        goto cleanup;
    }
    if ((pid = spawn_tool(spec, env, pfd[1], err)) < 0)
        goto cleanup;
    close(pfd[1]); /* the tool holds the only write end: EOF when it is gone */
    pfd[1] = -1;
    waited = wait_tool(spec, pid, pfd[0], &status, &was_cancelled);
    if (spec->tag)
        sweep_tagged(tool, entry);
    if (waited < 0 && !was_cancelled) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s: its exit status was lost", tool);
        goto cleanup;
    }
    if (was_cancelled) {
        cg_error_set(err, CG_ERR_STATE, "cancelled");
        goto cleanup;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        log_error_line(spec->log_fd, log_start, last, sizeof last);
        if (WIFSIGNALED(status))
            cg_error_set(err, CG_ERR_INTERNAL, "%s killed by signal %d%s%s", tool,
                         WTERMSIG(status), last[0] ? ": " : "", last);
        else
            cg_error_set(err, CG_ERR_INTERNAL, "%s failed (exit %d)%s%s", tool,
                         WEXITSTATUS(status), last[0] ? ": " : "", last);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    free(env);
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

int cg_tool_kill_leftovers(const char *tool, const char *match)
{
    char line[8192];
    struct dirent *de;
    DIR *d;
    pid_t pgid;
    int killed = 0;

    if (!tool || !match || !*match)
        return 0;
    /* what carries the tag first: a qemu-nbd in a session of its own */
    if (tag_entry(match, line, sizeof(line)) == 0 && (killed = kill_tagged(line)) > 0)
        cg_warn("killed %d process(es) of %s left over from an interrupted job on %s", killed, tool,
                match);
    if (!(d = opendir("/proc")))
        return killed;
    while ((de = readdir(d))) {
        if (de->d_name[strspn(de->d_name, "0123456789")] != '\0')
            continue;
        cmdline_of(de->d_name, line, sizeof(line));
        if (!strstr(line, tool) || !strstr(line, match))
            continue;
        /* Its own group (see cg_tool_run): the appliance goes with it. */
        pgid = getpgid((pid_t)atoi(de->d_name));
        if (pgid > 1 && pgid != getpgrp() && kill(-pgid, SIGKILL) == 0) {
            cg_warn("killed %s (pid %s) left over from an interrupted job on %s", tool,
                    de->d_name, match);
            killed++;
        }
    }
    closedir(d);
    return killed;
}

void cg_tool_env_init(const char *domain_type)
{
    if (!domain_type || strcmp(domain_type, "qemu") != 0)
        return;
    /* KVM is refused here: libguestfs' appliance would abort trying it. */
    setenv("LIBGUESTFS_BACKEND", "direct", 0);
    setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0);
}

int cg_tool_run_input(const cg_tool_spec *spec, const char *text, cg_error *err)
{
    char path[4096], *argv[16];
    cg_tool_spec with = *spec;
    size_t i, len = strlen(text);
    int fd, ret = -1;

    for (i = 0; spec->argv[i] && i < 15; i++)
        argv[i] = strcmp(spec->argv[i], CG_TOOL_INPUT) == 0 ? path : spec->argv[i];
    argv[i] = NULL;
    with.argv = argv;
    if (cg_tmp_path(path, sizeof(path), "cg-input-XXXXXX") < 0 || (fd = mkstemp(path)) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s: cannot make a temporary file", spec->argv[0]);
        return -1;
    }
    if (write(fd, text, len) == (ssize_t)len)
        ret = cg_tool_run(&with, err);
    else
        cg_error_set(err, CG_ERR_INTERNAL, "%s: cannot write %s", spec->argv[0], path);
    close(fd);
    unlink(path);
    return ret;
}

char *cg_tool_input_done(FILE *f, char **buf, int ok, cg_error *err)
{
    if (fclose(f) != 0 && ok) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        ok = 0;
    }
    if (!ok) {
        free(*buf);
        *buf = NULL;
    }
    return *buf;
}
