/* cloudgate: inspection and sealing of guest disks (engine/guest.c).
 *
 * Real libguestfs and a real virt-sysprep: the group setup builds, in one
 * guestfish run, two small Debian-looking disks (one with cloud-init, one
 * without) and a blank one, under a mkdtemp directory removed at the end.
 * Each inspection or seal launches the appliance (under TCG here: tens of
 * seconds), so the disks are shared and the launches few.  A host where
 * libguestfs cannot run fails the group setup: the program fails.
 *
 * What only the process handling decides (arguments, descriptors, process
 * group, error line, a tool that ignores SIGTERM, Windows refused before
 * anything runs) is checked against a stand-in virt-sysprep put first on
 * PATH, which needs no appliance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "engine/guest.h"

static char dir[64];
static char disk_a[128], disk_b[128], disk_c[128], fakebin[128];
static char *saved_path;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void one_disk(cg_disk_paths *d, char **path, char **format, const char *p, const char *f)
{
    path[0] = (char *)p;
    format[0] = (char *)f;
    *d = (cg_disk_paths){path, format, 1};
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    return chmod(path, mode);
}

/* The whole of a small file (NUL-terminated into buf). */
static size_t read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, size - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return n;
}

/* A command's stdout (NUL-terminated into buf); its exit status. */
static int capture(const char *cmd, char *buf, size_t size)
{
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    if (!p)
        return -1;
    n = fread(buf, 1, size - 1, p);
    buf[n] = '\0';
    return pclose(p);
}

/* ---- processes, from /proc ------------------------------------------------ */

/* Fields of /proc/PID/stat after the command name.  0 or -1 (gone). */
static int proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp)
{
    char path[64], buf[1024], *close_paren;
    int ppid_i, pgrp_i;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_file(path, buf, sizeof buf) == 0 || !(close_paren = strrchr(buf, ')')))
        return -1;
    if (sscanf(close_paren + 1, " %c %d %d", state, &ppid_i, &pgrp_i) != 3)
        return -1;
    *ppid = ppid_i;
    *pgrp = pgrp_i;
    return 0;
}

/* Processes (zombies not counted) in process group pgid. */
static int live_in_group(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        char state;
        pid_t ppid, pgrp;
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        if (proc_stat(atoi(e->d_name), &state, &ppid, &pgrp) == 0 && pgrp == pgid && state != 'Z')
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Our child process, if any: pid, group and the program it runs. */
static pid_t find_child(pid_t *pgid, char *cmd, size_t cmd_size)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;

    while (d && !found && (e = readdir(d))) {
        char state, path[64];
        pid_t pid, ppid, pgrp;
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid = atoi(e->d_name);
        if (proc_stat(pid, &state, &ppid, &pgrp) < 0 || ppid != getpid() || state == 'Z')
            continue;
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
        cmd[0] = '\0';
        read_file(path, cmd, cmd_size); /* argv[0] ends at the first NUL */
        if (!cmd[0])
            continue; /* an earlier helper's child on its way out */
        found = pid;
        *pgid = pgrp;
    }
    if (d)
        closedir(d);
    return found;
}

/* ---- the disks ---------------------------------------------------------- */

/* guestfish commands making a Debian 12 root on dev (merged /usr, as
 * bookworm is): what inspection needs (/etc, /bin, /etc/fstab, os-release
 * and debian_version, an ELF /bin/ls for the architecture) and what sealing
 * removes (machine-id, SSH host keys, hostname). */
static void debian_root(FILE *f, const char *dev, int cloud_init)
{
    fprintf(f, "part-disk %s mbr\n", dev);
    fprintf(f, "mkfs ext4 %s1 label:root\n", dev);
    fprintf(f, "mount %s1 /\n", dev);
    fputs(
        "mkdir-p /usr/bin\nmkdir-p /usr/sbin\nmkdir-p /etc/ssh\nmkdir-p /var/log\n"
        "ln-s usr/bin /bin\nln-s usr/sbin /sbin\n"
        "upload /bin/ls /usr/bin/ls\n"
        "write /etc/os-release \"PRETTY_NAME=\\\"Debian GNU/Linux 12 (bookworm)\\\"\\n"
        "NAME=\\\"Debian GNU/Linux\\\"\\nVERSION_ID=\\\"12\\\"\\n"
        "VERSION=\\\"12 (bookworm)\\\"\\nVERSION_CODENAME=bookworm\\nID=debian\\n\"\n"
        "write /etc/debian_version \"12.0\\n\"\n"
        "write /etc/fstab \"LABEL=root / ext4 defaults 0 1\\n\"\n"
        "write /etc/hostname \"source-host\\n\"\n"
        "write /etc/hosts \"127.0.0.1 localhost\\n127.0.1.1 source-host\\n\"\n"
        "write /etc/machine-id \"0123456789abcdef0123456789abcdef\\n\"\n"
        "write /etc/ssh/ssh_host_ed25519_key \"not a real key\\n\"\n"
        "write /etc/ssh/ssh_host_ed25519_key.pub \"ssh-ed25519 AAAAnotreal root@source-host\\n\"\n"
        "write /var/log/dmesg \"source-host booted\\n\"\n",
        f);
    if (cloud_init)
        fputs("write /usr/bin/cloud-init \"#!/usr/bin/python3\\n\"\n"
              "chmod 0755 /usr/bin/cloud-init\n"
              "mkdir-p /etc/cloud\nwrite /etc/cloud/cloud.cfg \"users: [default]\\n\"\n",
              f);
    fputs("umount-all\n", f);
}

/* Stands in for virt-sysprep; CG_FAKE_SYSPREP says what it does. */
static const char fake_sysprep[] =
    "#!/bin/sh\n"
    "case \"$CG_FAKE_SYSPREP\" in\n"
    "marker) : > \"$CG_FAKE_MARKER\" ;;\n"
    "report)\n"
    "    echo \"args: $*\"\n"
    "    echo \"stdin: $(readlink /proc/$$/fd/0)\"\n"
    "    read -r _ _ _ _ pgrp _ < /proc/$$/stat\n"
    "    echo \"pid: $$ pgrp: $pgrp\"\n"
    "    echo \"tag: $CLOUDGATE_TOOL_TAG\"\n"
    "    if [ -e /proc/$$/fd/77 ]; then echo 'fd77: open'; else echo 'fd77: closed'; fi\n"
    "    echo 'to stderr' >&2 ;;\n"
    "fail)\n"
    "    echo '[   0.0] Examining the guest ...'\n"
    "    echo 'virt-sysprep: error: libguestfs error: could not create appliance ' >&2\n"
    "    echo 'through libvirt.' >&2\n"
    "    echo >&2\n"
    "    echo 'If reporting bugs, run virt-sysprep with debugging enabled and include' >&2\n"
    "    echo 'the complete output:' >&2\n"
    "    echo >&2\n"
    "    echo '  virt-sysprep -v -x [...]' >&2\n"
    "    exit 1 ;;\n"
    "stubborn)\n"
    "    trap '' TERM\n"
    "    sleep 60 &\n"
    "    echo \"pid: $$ child: $!\"\n"
    "    echo ready\n"
    "    wait ;;\n"
    "esac\n";

static int group_setup(void **state)
{
    char script[128], cmd[512], log[128], buf[8192], fake[160];
    FILE *f;

    /* These machines cannot run KVM guests (docs: environment.md); a
     * caller's own choice wins. */
    setenv("LIBGUESTFS_BACKEND", "direct", 0);
    setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0);

    snprintf(dir, sizeof dir, "/tmp/cg-guest-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(disk_a, sizeof disk_a, "%s/debian.qcow2", dir);
    snprintf(disk_b, sizeof disk_b, "%s/no-cloud-init.qcow2", dir);
    snprintf(disk_c, sizeof disk_c, "%s/blank.qcow2", dir);
    snprintf(fakebin, sizeof fakebin, "%s/fakebin", dir);
    snprintf(script, sizeof script, "%s/build.gf", dir);
    snprintf(log, sizeof log, "%s/build.log", dir);

    if (!(f = fopen(script, "w")))
        return -1;
    fprintf(f, "disk-create %s qcow2 128M\n", disk_a);
    fprintf(f, "disk-create %s qcow2 128M\n", disk_b);
    fprintf(f, "disk-create %s qcow2 64M\n", disk_c);
    fprintf(f, "add %s format:qcow2\nadd %s format:qcow2\nrun\n", disk_a, disk_b);
    debian_root(f, "/dev/sda", 1);
    debian_root(f, "/dev/sdb", 0);
    if (fclose(f) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "guestfish -f %s > %s 2>&1", script, log);
    double t0 = now();
    if (system(cmd) != 0) {
        read_file(log, buf, sizeof buf);
        print_error("building the test disks failed (libguestfs cannot run here?):\n%s\n", buf);
        return -1;
    }
    printf("# building the test disks (one appliance launch): %.1f s\n", now() - t0);

    snprintf(fake, sizeof fake, "%s/virt-sysprep", fakebin);
    if (mkdir(fakebin, 0700) < 0 || write_file(fake, fake_sysprep, 0755) < 0)
        return -1;
    saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    return saved_path ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];
    if (dir[0] && strncmp(dir, "/tmp/cg-guest-", 14) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return -1;
    }
    free(saved_path);
    return 0;
}

/* The stand-in first on PATH, doing mode. */
static void use_fake(const char *mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s:%s", fakebin, saved_path);
    setenv("PATH", path, 1);
    setenv("CG_FAKE_SYSPREP", mode, 1);
}

/* After every stand-in test, even a failed one: the real tool again. */
static int real_tool(void **state)
{
    setenv("PATH", saved_path, 1);
    unsetenv("CG_FAKE_SYSPREP");
    return 0;
}

/* The stand-in doing mode, and a fresh write-only log dir/name for it. */
static int fake_with_log(const char *mode, const char *name, char *log, size_t size)
{
    use_fake(mode);
    snprintf(log, size, "%s/%s", dir, name);
    return open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
}

/* ---- inspection ----------------------------------------------------------- */

static void inspect(const char *disk, cg_os_info *os)
{
    char *path[1], *format[1];
    cg_disk_paths d;
    cg_error err = {0};
    double t0 = now();
    int rc;

    one_disk(&d, path, format, disk, "qcow2");
    rc = cg_guest_inspect(&d, os, &err);
    printf("# inspection of %s: %.1f s\n", strrchr(disk, '/') + 1, now() - t0);
    if (rc != 0)
        print_error("cg_guest_inspect: %s\n", err.message);
    assert_int_equal(rc, 0);
}

/* inspect disk; what it found must be type, distro, version, cloud_init */
static void expect_os(const char *disk, cg_os_info *os, const char *type, const char *distro,
                      const char *version, int cloud_init)
{
    inspect(disk, os);
    assert_string_equal(os->type, type);
    assert_string_equal(os->distro, distro);
    assert_string_equal(os->version, version);
    assert_int_equal(os->cloud_init, cloud_init);
}

static void test_inspect_debian(void **state)
{
    cg_os_info os;
    struct utsname u;

    assert_int_equal(uname(&u), 0);
    expect_os(disk_a, &os, "linux", "debian", "12", 1); /* 12.0: just the major */
    assert_string_equal(os.arch, u.machine);            /* from the host's /bin/ls in the image */
    assert_string_equal(os.product, "Debian GNU/Linux 12 (bookworm)");
}

/* Runs after the cancelled seal of the same disk: still readable. */
static void test_inspect_without_cloud_init(void **state)
{
    cg_os_info os;
    expect_os(disk_b, &os, "linux", "debian", "12", 0);
}

static void test_inspect_blank(void **state)
{
    cg_os_info os;
    expect_os(disk_c, &os, "unknown", "unknown", "", -1);
    assert_string_equal(os.product, "");
}

static void test_bad_disks(void **state)
{
    char *path[1] = {disk_a}, *format[1] = {NULL};
    cg_disk_paths none = {NULL, NULL, 0}, unformatted = {path, format, 1};
    cg_os_info os, linux_os = {.type = "linux"};
    cg_error err = {0};

    assert_int_equal(cg_guest_inspect(&none, &os, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_string_equal(os.type, "");
    cg_error_clear(&err);
    /* never probed: a raw disk could claim to be qcow2 */
    assert_int_equal(cg_guest_inspect(&unformatted, &os, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    assert_int_equal(cg_guest_seal(&unformatted, &linux_os, NULL, -1, NULL, NULL, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
}

/* ---- sealing with the real tool -------------------------------------------- */

typedef struct cancel_probe {
    int calls;
    pid_t pid, pgid;
    char cmd[256];
} cancel_probe;

/* Cancel at the first poll that sees the tool's process (noted first). */
static int cancel_at_once(void *arg)
{
    cancel_probe *p = arg;
    p->calls++;
    if (!p->pid)
        p->pid = find_child(&p->pgid, p->cmd, sizeof p->cmd);
    return p->pid != 0 || p->calls > 50;
}

static int never(void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static void test_seal_cancelled(void **state)
{
    char *path[1], *format[1], out[1024], cmd[256];
    cg_disk_paths d;
    cg_os_info linux_os = {.type = "linux"};
    cancel_probe p = {0};
    cg_error err = {0};
    double t0 = now();

    one_disk(&d, path, format, disk_b, "qcow2");
    assert_int_equal(cg_guest_seal(&d, &linux_os, NULL, -1, cancel_at_once, &p, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_string_equal(err.message, "cancelled");
    assert_true(now() - t0 < 5.0); /* it went at SIGTERM, no grace needed */
    assert_true(p.calls >= 1 && p.calls <= 50);
    assert_true(p.pid > 0);
    assert_string_equal(p.cmd, "virt-sysprep");
    assert_int_equal(p.pgid, p.pid);         /* a group of its own ... */
    assert_int_not_equal(p.pgid, getpgrp()); /* ... not ours */
    assert_int_equal(live_in_group(p.pgid), 0);
    assert_int_equal(kill(p.pid, 0), -1); /* reaped */
    snprintf(cmd, sizeof cmd, "qemu-img check -q -f qcow2 '%s' 2>&1", disk_b);
    assert_int_equal(capture(cmd, out, sizeof out), 0);
}

static void test_seal_debian(void **state)
{
    char *path[1], *format[1], log[128], text[16384], cmd[512], out[4096];
    cg_disk_paths d;
    cg_os_info linux_os = {.type = "linux"};
    cg_error err = {0};
    int polls = 0, fd, rc;
    double t0;

    one_disk(&d, path, format, disk_a, "qcow2");
    snprintf(log, sizeof log, "%s/seal.log", dir);
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "before the seal\n", 16), 16);
    t0 = now();
    rc = cg_guest_seal(&d, &linux_os, NULL, fd, never, &polls, &err);
    printf("# seal of debian.qcow2: %.1f s\n", now() - t0);
    close(fd);
    if (rc != 0)
        print_error("cg_guest_seal: %s\n", err.message);
    assert_int_equal(rc, 0);
    assert_true(polls > 0);

    /* the tool's output, appended */
    read_file(log, text, sizeof text);
    assert_memory_equal(text, "before the seal\n", 16);
    assert_non_null(strstr(text, "Performing \"machine-id\""));
    assert_non_null(strstr(text, "Performing \"ssh-hostkeys\""));

    /* what the disk holds now (one more launch, read-only) */
    snprintf(cmd, sizeof cmd,
             "guestfish --ro --format=qcow2 -a '%s' -i <<'EOF'\n"
             "echo ==machine-id==\nfilesize /etc/machine-id\n"
             "echo ==hostname==\ncat /etc/hostname\n"
             "echo ==hosts==\ncat /etc/hosts\n"
             "echo ==keys==\nglob-expand /etc/ssh/ssh_host_*\n"
             "echo ==dmesg==\nexists /var/log/dmesg\n"
             "echo ==cloud-init==\nis-file /usr/bin/cloud-init\n"
             "EOF\n",
             disk_a);
    rc = capture(cmd, out, sizeof out);
    printf("# sealed disk:\n%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "==machine-id==\n0\n"));
    assert_non_null(strstr(out, "==hostname==\nlocalhost.localdomain\n"));
    assert_null(strstr(out, "source-host"));               /* nor in /etc/hosts */
    assert_non_null(strstr(out, "==keys==\n==dmesg==\n")); /* no host keys left */
    assert_non_null(strstr(out, "==dmesg==\nfalse\n"));
    assert_non_null(strstr(out, "==cloud-init==\ntrue\n")); /* the software stays */
}

/* ---- process handling, with the stand-in ------------------------------------ */

static void test_seal_child_setup(void **state)
{
    char *path[2] = {disk_a, disk_c}, *format[2] = {"qcow2", "raw"};
    cg_disk_paths d = {path, format, 2};
    cg_os_info linux_os = {.type = "linux"};
    char log[128], text[4096], want[512];
    cg_error err = {0};
    int pid = 0, pgrp = 0, fd, leak;
    const char *p;

    fd = fake_with_log("report", "report.log", log, sizeof log);
    assert_true(fd >= 0);
    leak = dup2(fd, 77); /* no O_CLOEXEC: only the spawn can keep it out */
    assert_int_equal(leak, 77);
    assert_int_equal(cg_guest_seal(&d, &linux_os, "ami-0123456789abcdef0", fd, NULL, NULL, &err),
                     0);
    close(leak);
    close(fd);

    read_file(log, text, sizeof text);
    snprintf(want, sizeof want,
             "args: --format qcow2 -a %s --format raw -a %s "
             "--hostname localhost.localdomain --write /etc/machine-id:\n",
             disk_a, disk_c);
    assert_non_null(strstr(text, want)); /* every disk in one run */
    assert_non_null(strstr(text, "stdin: /dev/null\n"));
    assert_non_null(strstr(text, "fd77: closed\n"));
    assert_non_null(strstr(text, "to stderr\n"));
    assert_non_null(strstr(text, "tag: ami-0123456789abcdef0\n")); /* found after a crash */
    assert_non_null(p = strstr(text, "pid: "));
    assert_int_equal(sscanf(p, "pid: %d pgrp: %d", &pid, &pgrp), 2);
    assert_int_equal(pgrp, pid);
    assert_int_not_equal(pgrp, getpgrp());
}

static void test_seal_failure_message(void **state)
{
    char *path[1], *format[1], log[128];
    cg_disk_paths d;
    cg_os_info linux_os = {.type = "linux"};
    cg_error err = {0};
    int fd;

    one_disk(&d, path, format, disk_c, "qcow2");
    /* write-only, with an earlier run's error that must not be picked */
    fd = fake_with_log("fail", "fail.log", log, sizeof log);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "virt-sysprep: error: stale\n", 27), 27);
    assert_int_equal(cg_guest_seal(&d, &linux_os, NULL, fd, NULL, NULL, &err), -1);
    close(fd);
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    assert_string_equal(err.message,
                        "virt-sysprep failed (exit 1): virt-sysprep: error: libguestfs error: "
                        "could not create appliance through libvirt.");

    cg_error_clear(&err); /* no log: the exit code alone */
    assert_int_equal(cg_guest_seal(&d, &linux_os, NULL, -1, NULL, NULL, &err), -1);
    assert_string_equal(err.message, "virt-sysprep failed (exit 1)");
}

static void test_seal_windows_refused(void **state)
{
    char *path[1], *format[1], marker[128];
    cg_disk_paths d;
    cg_os_info windows = {.type = "windows", .distro = "windows"};
    cg_error err = {0};

    use_fake("marker");
    snprintf(marker, sizeof marker, "%s/tool-ran", dir);
    setenv("CG_FAKE_MARKER", marker, 1);
    one_disk(&d, path, format, disk_a, "qcow2");
    assert_int_equal(cg_guest_seal(&d, &windows, NULL, -1, NULL, NULL, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_string_equal(err.message, "sealing Windows images is not supported "
                                     "(sysprep inside the guest is needed)");
    assert_int_equal(access(marker, F_OK), -1); /* nothing ran */

    /* the stand-in does run for Linux: the check above could fail */
    cg_os_info linux_os = {.type = "linux"};
    cg_error_clear(&err);
    assert_int_equal(cg_guest_seal(&d, &linux_os, NULL, -1, NULL, NULL, &err), 0);
    assert_int_equal(access(marker, F_OK), 0);
}

typedef struct stubborn_probe {
    const char *log;
    double cancelled_at;
} stubborn_probe;

/* Cancel once the stand-in has set itself to ignore SIGTERM. */
static int cancel_when_ready(void *arg)
{
    stubborn_probe *p = arg;
    char text[512];
    if (p->cancelled_at == 0 && read_file(p->log, text, sizeof text) > 0 && strstr(text, "ready\n"))
        p->cancelled_at = now();
    return p->cancelled_at != 0;
}

static void test_seal_cancel_stubborn(void **state)
{
    char *path[1], *format[1], log[128], text[512], proc[64];
    cg_disk_paths d;
    cg_os_info linux_os = {.type = "linux"};
    stubborn_probe p = {log, 0};
    cg_error err = {0};
    int fd, pid = 0, child = 0;
    double waited;

    one_disk(&d, path, format, disk_c, "qcow2");
    fd = fake_with_log("stubborn", "stubborn.log", log, sizeof log);
    assert_true(fd >= 0);
    assert_int_equal(cg_guest_seal(&d, &linux_os, NULL, fd, cancel_when_ready, &p, &err), -1);
    waited = now() - p.cancelled_at;
    close(fd);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_string_equal(err.message, "cancelled");
    printf("# SIGTERM ignored: returned %.1f s after the cancel\n", waited);
    assert_true(waited >= 4.5 && waited < 9.0); /* the grace, then SIGKILL */

    read_file(log, text, sizeof text);
    assert_int_equal(sscanf(text, "pid: %d child: %d", &pid, &child), 2);
    assert_int_equal(live_in_group(pid), 0); /* its child went too */
    snprintf(proc, sizeof proc, "/proc/%d", child);
    for (int i = 0; i < 100 && access(proc, F_OK) == 0; i++)
        usleep(20000); /* the orphan is reaped by init */
    char state_c = 'Z';
    pid_t ppid, pgrp;
    assert_true(proc_stat(child, &state_c, &ppid, &pgrp) < 0 || state_c == 'Z');
}

int main(void)
{
    /* scripts/test-sanitizers.sh: the appliance boots take minutes and
     * libguestfs's own allocations are not ours to judge; the plain unit
     * tier runs this program.  77 is automake's SKIP, shown as such. */
    if (getenv("CG_SKIP_GUESTFS")) {
        fprintf(stderr, "test_guest: skipped (CG_SKIP_GUESTFS set)\n");
        return 77;
    }
    /* Order matters where it saves a launch: the cancelled seal of disk b
     * comes before its inspection, which shows the disk still readable. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_disks),
        cmocka_unit_test(test_inspect_debian),
        cmocka_unit_test(test_seal_cancelled),
        cmocka_unit_test(test_inspect_without_cloud_init),
        cmocka_unit_test(test_inspect_blank),
        cmocka_unit_test(test_seal_debian),
        cmocka_unit_test_teardown(test_seal_child_setup, real_tool),
        cmocka_unit_test_teardown(test_seal_failure_message, real_tool),
        cmocka_unit_test_teardown(test_seal_windows_refused, real_tool),
        cmocka_unit_test_teardown(test_seal_cancel_stubborn, real_tool),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
