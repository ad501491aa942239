/* virt-v2v conversions (engine/v2v.c) and the tool runner under them
 * (engine/tool_run.c): the output parser against virt-v2v 2.2's real
 * output (tests/unit/fixtures/virt-v2v-2.2-ova.out, captured from
 * "virt-v2v -i ova ... -o local" with stdout a file), the command lines,
 * the -o local XML, conversion slots, and a tool's output, failure and
 * cancel through tool_run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/tool_run.h"
#include "engine/v2v.h"

static char fixture_out[1024], fixture_xml[1024];

static void fixtures(void)
{
    const char *top = getenv("CG_TOP_SRCDIR");

    snprintf(fixture_out, sizeof(fixture_out), "%s/tests/unit/fixtures/virt-v2v-2.2-ova.out",
             top ? top : ".");
    snprintf(fixture_xml, sizeof(fixture_xml), "%s/tests/unit/fixtures/virt-v2v-2.2-local.xml",
             top ? top : ".");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* ---- the parser on real output, through tool_run --------------------------- */

typedef struct seen {
    cg_v2v_progress p;
    int percents[512];
    int n;
    int stages_seen[CG_V2V_STAGE_FINISH + 1];
    int lines;
    char msg[128];
} seen;

static void seen_line(const char *line, void *arg)
{
    seen *s = arg;

    s->lines++;
    if (cg_v2v_parse_line(&s->p, line)) {
        s->stages_seen[s->p.stage] = 1;
        if (s->n < 512)
            s->percents[s->n++] = cg_v2v_percent(&s->p);
        if (s->p.stage == CG_V2V_STAGE_COPY)
            cg_v2v_describe(&s->p, s->msg, sizeof(s->msg));
    }
}

static void test_parse_real_output(void **state)
{
    char logpath[] = "/tmp/cg-v2v-log-XXXXXX";
    char *argv[] = {"cat", fixture_out, NULL};
    seen s = {0};
    cg_tool_spec spec = {.argv = argv, .on_line = seen_line, .arg = &s};
    cg_error err = {0};
    size_t flen, llen;
    char *orig, *logged;
    int distinct_copy = 0;

    (void)state;
    spec.log_fd = mkstemp(logpath);
    assert_true(spec.log_fd >= 0);
    assert_int_equal(cg_tool_run(&spec, &err), 0);
    /* the log holds the tool's output byte for byte */
    orig = read_all(fixture_out, &flen);
    logged = read_all(logpath, &llen);
    assert_int_equal(llen, flen);
    assert_memory_equal(orig, logged, flen);
    /* every stage, in order, and the copy of disk 1/1 to 100% */
    for (int st = CG_V2V_STAGE_OPEN; st <= CG_V2V_STAGE_FINISH; st++)
        assert_true(s.stages_seen[st]);
    assert_int_equal(s.p.stage, CG_V2V_STAGE_FINISH);
    assert_int_equal(s.p.disk, 1);
    assert_int_equal(s.p.ndisks, 1);
    assert_true(s.p.copy_pct == 100.0);
    assert_string_equal(s.msg, "converting disk 1/1: 100% copied");
    for (int i = 1; i < s.n; i++) {
        assert_true(s.percents[i] >= s.percents[i - 1]);
        distinct_copy += s.percents[i] > s.percents[i - 1] && s.percents[i] > 40 &&
                         s.percents[i] < 95;
    }
    /* the bar's redraws ('\r') became intermediate values */
    assert_true(distinct_copy >= 5);
    assert_int_equal(s.percents[s.n - 1], 96);
    assert_true(s.lines > 20);
    free(orig);
    free(logged);
    close(spec.log_fd);
    unlink(logpath);
}

static void test_parse_edges(void **state)
{
    cg_v2v_progress p = {0};

    (void)state;
    /* a percentage before any copy is not copy progress */
    assert_int_equal(cg_v2v_parse_line(&p, "  50% [****----]"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "[   1.0] Opening the source"), 1);
    assert_int_equal(p.stage, CG_V2V_STAGE_OPEN);
    assert_int_equal(cg_v2v_parse_line(&p, "[  40.1] Converting Debian 12 to run on KVM"), 1);
    assert_int_equal(cg_v2v_percent(&p), 15);
    /* never backwards */
    assert_int_equal(cg_v2v_parse_line(&p, "[  50.0] Opening the source"), 0);
    assert_int_equal(p.stage, CG_V2V_STAGE_CONVERT);
    /* nonsense disk numbers */
    assert_int_equal(cg_v2v_parse_line(&p, "[ 100.0] Copying disk 0/2"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "[ 100.0] Copying disk 3/2"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "[ 100.0] Copying disk 1/999"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "[ 100.0] Copying disk x/2"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "[ 100.0] Copying disk 2/2"), 1);
    assert_int_equal(cg_v2v_percent(&p), 40 + 55 / 2);
    assert_int_equal(cg_v2v_parse_line(&p, "\xe2\x96\x9d  50% [****----]"), 1);
    assert_int_equal(cg_v2v_percent(&p), 40 + (int)(55 * 0.75));
    /* out of range, not a number, not more than before */
    assert_int_equal(cg_v2v_parse_line(&p, "150% [****]"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "abc%"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "%"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "40%"), 0);
    assert_true(p.copy_pct == 50.0);
    assert_int_equal(cg_v2v_parse_line(&p, "[ 200.0] Finishing off"), 1);
    assert_int_equal(cg_v2v_percent(&p), 96);
    /* unknown stage lines and garbage change nothing */
    assert_int_equal(cg_v2v_parse_line(&p, "[ 201.0] Something new"), 0);
    assert_int_equal(cg_v2v_parse_line(&p, "["), 0);
    assert_int_equal(cg_v2v_parse_line(&p, ""), 0);
}

/* ---- command lines ------------------------------------------------------------ */

static void expect_argv(const cg_v2v_spec *spec, const char *const *want)
{
    cg_error err = {0};
    char **argv = cg_v2v_argv(spec, &err);
    size_t i;

    assert_non_null(argv);
    for (i = 0; want[i]; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want[i]);
    }
    assert_null(argv[i]);
    cg_v2v_argv_free(argv);
}

static void expect_refused(const cg_v2v_spec *spec)
{
    cg_error err = {0};

    assert_null(cg_v2v_argv(spec, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
}

static void test_argv(void **state)
{
    cg_v2v_spec s = {.input = CG_V2V_OVA, .source = "/srv/in/vm.ova", .out_dir = "/pool/.d",
                     .out_name = "guest"};
    const char *const ova[] = {"virt-v2v", "-i", "ova", "/srv/in/vm.ova", "-o", "local", "-os",
                               "/pool/.d", "-of", "qcow2", "-on", "guest", NULL};
    const char *const disk[] = {"virt-v2v", "-i", "disk", "/srv/in/d.vmdk", "-o", "local",
                                "-os", "/pool/.d", "-of", "qcow2", "-on", "guest", NULL};
    const char *const lv[] = {"virt-v2v", "-i", "libvirt", "-ic", "esx://h/?no_verify=1",
                              "--password-file", "/run/pw", "web01", "-o", "local", "-os",
                              "/pool/.d", "-of", "qcow2", "-on", "guest", NULL};
    const char *const lvnopw[] = {"virt-v2v", "-i", "libvirt", "-ic", "qemu:///system",
                                  "web01", "-o", "local", "-os", "/pool/.d", "-of", "qcow2",
                                  "-on", "guest", NULL};
    cg_v2v_spec b;

    (void)state;
    expect_argv(&s, ova);
    b = s;
    b.input = CG_V2V_DISK;
    b.source = "/srv/in/d.vmdk";
    expect_argv(&b, disk);
    b = s;
    b.input = CG_V2V_LIBVIRT;
    b.uri = "esx://h/?no_verify=1";
    b.source = "web01";
    b.password_file = "/run/pw";
    expect_argv(&b, lv);
    b.uri = "qemu:///system";
    b.password_file = NULL;
    expect_argv(&b, lvnopw);

    /* what could become an option, a relative path or a name leaving DIR */
    b = s, b.source = "-x";
    expect_refused(&b);
    b = s, b.source = "vm.ova";
    expect_refused(&b);
    b = s, b.source = NULL;
    expect_refused(&b);
    b = s, b.out_dir = "pool";
    expect_refused(&b);
    b = s, b.out_name = "../guest";
    expect_refused(&b);
    b = s, b.out_name = "-guest";
    expect_refused(&b);
    b = s, b.out_name = "a/b";
    expect_refused(&b);
    b = s, b.input = CG_V2V_LIBVIRT, b.uri = "-ic", b.source = "vm";
    expect_refused(&b);
    b = s, b.input = CG_V2V_LIBVIRT, b.uri = "qemu:///system", b.source = "--help";
    expect_refused(&b);
    b = s, b.input = CG_V2V_LIBVIRT, b.uri = "qemu:///system", b.source = "vm",
    b.password_file = "pw";
    expect_refused(&b);
    b = s, b.input = (cg_v2v_input)42;
    expect_refused(&b);
}

/* ---- the XML -o local writes --------------------------------------------------- */

static void write_xml(const char *dir, const char *path, const char *disk_dir)
{
    char *tmpl = read_all(fixture_xml, NULL), *at = strstr(tmpl, "@DIR@");
    FILE *f = fopen(path, "w");

    (void)dir;
    assert_non_null(at);
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - tmpl), tmpl, disk_dir, at + 5);
    fclose(f);
    free(tmpl);
}

static void test_read_xml(void **state)
{
    char dir[] = "/tmp/cg-v2v-xml-XXXXXX", path[256];
    cg_v2v_result r;
    cg_error err = {0};

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/guest.xml", dir);
    write_xml(dir, path, dir);
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), 0);
    assert_int_equal(r.vcpus, 2);
    assert_int_equal(r.memory_bytes, 1024ULL * 1024 * 1024);
    assert_int_equal(r.ndisks, 1);
    assert_string_equal(r.name, "guest");
    assert_true(strncmp(r.disk[0], dir, strlen(dir)) == 0);
    assert_string_equal(r.disk[0] + strlen(dir), "/guest-sda");

    /* a disk outside the directory is refused */
    memset(&err, 0, sizeof(err));
    write_xml(dir, path, "/etc");
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), -1);
    assert_non_null(strstr(err.message, "outside"));
    memset(&err, 0, sizeof(err));
    {
        char sneaky[300];
        snprintf(sneaky, sizeof(sneaky), "%s/../x", dir);
        write_xml(dir, path, sneaky);
        assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), -1);
    }
    /* no file, not XML */
    memset(&err, 0, sizeof(err));
    unlink(path);
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), -1);
    {
        FILE *f = fopen(path, "w");
        fputs("<domain><vcpu>2</vcpu></domain>", f);
        fclose(f);
    }
    memset(&err, 0, sizeof(err));
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), -1);
    assert_non_null(strstr(err.message, "no disk"));
    unlink(path);
    rmdir(dir);
}

/* An -o local XML of n disks DIR/guest-sda, DIR/guest-sdb, ... */
static void write_disks_xml(const char *path, const char *dir, int n)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs("<domain type='kvm'><name>guest</name><memory unit='KiB'>1048576</memory>"
          "<vcpu>1</vcpu><devices>",
          f);
    for (int i = 0; i < n; i++)
        fprintf(f,
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                "<source file='%s/guest-sd%c'/><target dev='vd%c' bus='virtio'/></disk>",
                dir, 'a' + i, 'a' + i);
    fputs("<disk type='file' device='cdrom'><target dev='hdc'/></disk></devices></domain>", f);
    fclose(f);
}

/* Several disks, in the XML's order (the root first); more than the limit
 * is an error, never a guest silently missing a disk. */
static void test_read_xml_disks(void **state)
{
    char dir[] = "/tmp/cg-v2v-xml-XXXXXX", path[256], want[300];
    cg_v2v_result r;
    cg_error err = {0};

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/guest.xml", dir);
    write_disks_xml(path, dir, 3);
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), 0);
    assert_int_equal(r.ndisks, 3);
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof(want), "%s/guest-sd%c", dir, 'a' + i);
        assert_string_equal(r.disk[i], want);
    }
    write_disks_xml(path, dir, CG_V2V_MAX_DISKS);
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), 0);
    assert_int_equal(r.ndisks, CG_V2V_MAX_DISKS);
    write_disks_xml(path, dir, CG_V2V_MAX_DISKS + 1);
    assert_int_equal(cg_v2v_read_xml(path, dir, &r, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_non_null(strstr(err.message, "more than 16 disks"));
    unlink(path);
    rmdir(dir);
}

/* ---- slots ---------------------------------------------------------------------- */

static int waits;
static void count_wait(void *arg)
{
    (void)arg;
    waits++;
}
static int cancel_after_wait(void *arg)
{
    (void)arg;
    return waits > 0;
}

/* A state dir of our own with n slots. */
static void slot_config(cg_config *cfg, char *dir, unsigned n)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(dir, "/tmp/cg-v2v-slots-XXXXXX");
    assert_non_null(mkdtemp(dir));
    cfg->state_dir = dir;
    cfg->v2v_parallel = n;
}

static void slot_config_done(const char *dir)
{
    char path[128];

    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/v2v-slots/slot-%d", dir, i);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/v2v-slots", dir);
    rmdir(path);
    rmdir(dir);
}

static void test_slots(void **state)
{
    cg_config cfg;
    cg_error err = {0};
    char dir[64];
    int a, b;

    (void)state;
    slot_config(&cfg, dir, 1);
    waits = 0;
    assert_true((a = cg_v2v_slot_take(&cfg, NULL, NULL, count_wait, &err)) >= 0);
    /* the only slot is taken, also for another thread of this process: the
     * second waits (told once), then is cancelled */
    assert_int_equal(cg_v2v_slot_take(&cfg, cancel_after_wait, NULL, count_wait, &err), -1);
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_int_equal(waits, 1);
    cg_v2v_slot_give(a);
    assert_true((a = cg_v2v_slot_take(&cfg, cancel_after_wait, NULL, count_wait, &err)) >= 0);
    cfg.v2v_parallel = 2;
    assert_true((b = cg_v2v_slot_take(&cfg, NULL, NULL, count_wait, &err)) >= 0);
    assert_int_not_equal(a, b);
    cg_v2v_slot_give(a);
    cg_v2v_slot_give(b);
    slot_config_done(dir);
}

/* Two gateways with their own state directories and the same slot
 * directory (v2v_slot_dir, by default /run/lock/cloudgate-v2v) share the
 * limit; a directory that is a link (someone else's) is refused. */
static void test_slots_shared_dir(void **state)
{
    cg_config one, other;
    cg_error err = {0};
    char dir1[64], dir2[64], shared[128], link[160];
    int a;

    (void)state;
    slot_config(&one, dir1, 1);
    slot_config(&other, dir2, 1);
    snprintf(shared, sizeof(shared), "%s/host-slots", dir1);
    one.v2v_slot_dir = other.v2v_slot_dir = shared;
    waits = 0;
    assert_true((a = cg_v2v_slot_take(&one, NULL, NULL, count_wait, &err)) >= 0);
    assert_int_equal(cg_v2v_slot_take(&other, cancel_after_wait, NULL, count_wait, &err), -1);
    assert_int_equal(waits, 1);
    cg_v2v_slot_give(a);
    assert_true((a = cg_v2v_slot_take(&other, NULL, NULL, count_wait, &err)) >= 0);
    cg_v2v_slot_give(a);
    snprintf(link, sizeof(link), "%s/link-slots", dir2);
    assert_int_equal(symlink(shared, link), 0);
    other.v2v_slot_dir = link;
    memset(&err, 0, sizeof(err));
    assert_int_equal(cg_v2v_slot_take(&other, NULL, NULL, count_wait, &err), -1);
    assert_non_null(strstr(err.message, "not a directory of this user's"));
    unlink(link);
    other.v2v_slot_dir = NULL; /* its state dir's, unused: nothing to remove */
    one.v2v_slot_dir = NULL;
    snprintf(link, sizeof(link), "%s/slot-0", shared);
    unlink(link);
    rmdir(shared);
    slot_config_done(dir1);
    slot_config_done(dir2);
}

/* The limit is per host (state dir), not per process: a child holding the
 * only slot keeps the parent waiting until it dies (no give: as in a
 * crash, the kernel frees the lock); with two slots both run at once. */
static void test_slots_two_processes(void **state)
{
    cg_config cfg;
    cg_error err = {0};
    int to_parent[2], to_child[2], status, fd;
    char dir[64], c;
    pid_t pid;

    (void)state;
    slot_config(&cfg, dir, 1);
    for (unsigned slots = 1; slots <= 2; slots++) {
        cfg.v2v_parallel = slots;
        assert_int_equal(pipe(to_parent), 0);
        assert_int_equal(pipe(to_child), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            cg_error e = {0};
            int held = cg_v2v_slot_take(&cfg, NULL, NULL, NULL, &e);

            c = held >= 0 ? 'y' : 'n';
            if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
                _exit(2);
            _exit(held >= 0 ? 0 : 1); /* dies holding it */
        }
        assert_int_equal(read(to_parent[0], &c, 1), 1);
        assert_int_equal(c, 'y');
        waits = 0;
        if (slots == 1) {
            /* taken in the other process: this one waits, then gives up */
            assert_int_equal(cg_v2v_slot_take(&cfg, cancel_after_wait, NULL, count_wait, &err),
                             -1);
            assert_int_equal(waits, 1);
        } else {
            /* the child holds one of two: this one gets the other at once */
            assert_true((fd = cg_v2v_slot_take(&cfg, NULL, NULL, count_wait, &err)) >= 0);
            assert_int_equal(waits, 0);
            cg_v2v_slot_give(fd);
        }
        assert_int_equal(write(to_child[1], "x", 1), 1);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* the child died holding its slot: free again, at once */
        waits = 0;
        assert_true((fd = cg_v2v_slot_take(&cfg, NULL, NULL, count_wait, &err)) >= 0);
        assert_int_equal(waits, 0);
        cg_v2v_slot_give(fd);
        close(to_parent[0]);
        close(to_parent[1]);
        close(to_child[0]);
        close(to_child[1]);
    }
    slot_config_done(dir);
}

/* ---- tool_run: failure, cancel ---------------------------------------------------- */

static void test_tool_failure(void **state)
{
    char logpath[] = "/tmp/cg-v2v-log-XXXXXX";
    char *argv[] = {"sh", "-c", "echo working; echo 'virt-v2v: error: no bootloader detected'; "
                                "echo; echo 'more text'; exit 1", NULL};
    cg_tool_spec spec = {.argv = argv};
    cg_error err = {0};
    char *missing[] = {"cg-no-such-tool-here", NULL};
    /* xorriso stopped by a signal it caught (as it prints it): which one */
    char *signalled[] = {"sh", "-c",
                         "echo; echo 'UNIX-SIGNAL:  SIGTERM  errno= 2'; "
                         "echo 'libburn : FATAL : Burn run failed'; "
                         "echo 'xorriso : ABORT : Program done. Even if you do not see a shell "
                         "prompt.'; exit 1",
                         NULL};
    /* xorriso's way: the cause, then two lines about aborting */
    char *xorriso[] = {"sh", "-c",
                       "echo 'xorriso : FAILURE : Cannot determine attributes of "
                       "source file /r: No such file'; "
                       "echo \"xorriso : aborting : -abort_on 'FAILURE'\"; "
                       "echo 'xorriso : ABORT : Program done.'; exit 5",
                       NULL};

    (void)state;
    spec.log_fd = mkstemp(logpath);
    assert_int_equal(cg_tool_run(&spec, &err), -1);
    assert_string_equal(err.message,
                        "sh failed (exit 1): virt-v2v: error: no bootloader detected");
    memset(&err, 0, sizeof(err));
    spec.argv = xorriso;
    assert_int_equal(cg_tool_run(&spec, &err), -1);
    assert_string_equal(err.message, "sh failed (exit 5): xorriso : FAILURE : Cannot determine "
                                     "attributes of source file /r: No such file");
    memset(&err, 0, sizeof(err));
    spec.argv = signalled;
    assert_int_equal(cg_tool_run(&spec, &err), -1);
    assert_string_equal(err.message, "sh failed (exit 1): UNIX-SIGNAL: SIGTERM errno= 2");
    memset(&err, 0, sizeof(err));
    spec.argv = missing;
    spec.package = "some-package";
    assert_int_equal(cg_tool_run(&spec, &err), -1);
    assert_int_equal(err.kind, CG_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "some-package"));
    close(spec.log_fd);
    unlink(logpath);
}

typedef struct cancel_state {
    pid_t grandchild;
    double asked;
} cancel_state;

static void grab_pid(const char *line, void *arg)
{
    cancel_state *cs = arg;
    if (!cs->grandchild)
        cs->grandchild = (pid_t)atoi(line);
}

static int cancel_once_started(void *arg)
{
    cancel_state *cs = arg;
    if (cs->grandchild > 0 && cs->asked == 0)
        cs->asked = now();
    return cs->grandchild > 0;
}

static void test_tool_cancel(void **state)
{
    /* the grandchild stands for the appliance: it must go with the group */
    char *argv[] = {"sh", "-c", "sleep 60 & echo $!; wait", NULL};
    cancel_state cs = {0};
    cg_tool_spec spec = {.argv = argv, .log_fd = -1, .on_line = grab_pid,
                         .cancelled = cancel_once_started, .arg = &cs};
    cg_error err = {0};
    double t0 = now();

    (void)state;
    assert_int_equal(cg_tool_run(&spec, &err), -1);
    assert_string_equal(err.message, "cancelled");
    assert_int_equal(err.kind, CG_ERR_STATE);
    assert_true(cs.grandchild > 1);
    assert_true(now() - t0 < 10);
    /* noticed within the promised half second (+ the SIGTERM and reaping) */
    assert_true(cs.asked - t0 < 5);
    assert_int_equal(kill(cs.grandchild, 0), -1);
    assert_int_equal(errno, ESRCH);
}

/* ---- tool_run: a daemon in a session of its own (virt-v2v's qemu-nbd) ------------ */

/* Running, not a zombie waiting for init. */
static int alive(pid_t pid)
{
    char path[64], buf[512], *end;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    end = strrchr(buf, ')');
    return end && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
}

/* Run a tool that leaves "sleep 60" behind with setsid (as qemu-nbd
 * --fork does) and waits until it has written its pid; returns that pid. */
static pid_t run_daemonizing(const char *tag)
{
    char pidfile[] = "/tmp/cg-v2v-daemon-XXXXXX", script[512];
    char *argv[] = {"sh", "-c", script, NULL};
    cg_tool_spec spec = {.argv = argv, .log_fd = -1, .tag = tag};
    cg_error err = {0};
    int fd = mkstemp(pidfile), pid = 0;
    FILE *f;

    assert_true(fd >= 0);
    close(fd);
    unlink(pidfile);
    snprintf(script, sizeof(script),
             "setsid -f sh -c 'echo $$ > \"$0.w\" && mv \"$0.w\" \"$0\"; exec sleep 60' %s "
             "</dev/null >/dev/null 2>&1; "
             "i=0; while [ ! -s %s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done",
             pidfile, pidfile);
    assert_int_equal(cg_tool_run(&spec, &err), 0);
    assert_non_null(f = fopen(pidfile, "r"));
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    unlink(pidfile);
    assert_true(pid > 1);
    return (pid_t)pid;
}

static void test_tool_tag_sweeps_daemon(void **state)
{
    pid_t untagged, tagged;

    (void)state;
    /* untagged, the group kill misses it: the reason for the tag */
    untagged = run_daemonizing(NULL);
    assert_true(alive(untagged));
    kill(untagged, SIGKILL);
    /* tagged, it is gone when cg_tool_run returns */
    tagged = run_daemonizing("/tmp/cg-v2v-test-tag");
    assert_false(alive(tagged));
}

static void test_tool_tag_leftovers(void **state)
{
    char entry[] = CG_TOOL_TAG_ENV "=/tmp/cg-v2v-crashed-job";
    char *argv[] = {"sleep", "60", NULL}, *env[] = {entry, NULL};
    int status = 0;
    pid_t pid;

    (void)state;
    /* what a gateway killed mid-conversion leaves: a tagged process in its
     * own session whose command line names neither the tool nor the job */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        execve("/bin/sleep", argv, env);
        _exit(127);
    }
    for (int i = 0; i < 100 && !alive(pid); i++)
        usleep(10 * 1000);
    usleep(50 * 1000); /* past the exec: its environment is the new one */
    assert_int_equal(cg_tool_kill_leftovers("virt-v2v", "/tmp/cg-v2v-other-job"), 0);
    assert_true(alive(pid));
    assert_true(cg_tool_kill_leftovers("virt-v2v", "/tmp/cg-v2v-crashed-job") >= 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_real_output),
        cmocka_unit_test(test_parse_edges),
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_read_xml),
        cmocka_unit_test(test_read_xml_disks),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_slots_two_processes),
        cmocka_unit_test(test_slots_shared_dir),
        cmocka_unit_test(test_tool_failure),
        cmocka_unit_test(test_tool_cancel),
        cmocka_unit_test(test_tool_tag_sweeps_daemon),
        cmocka_unit_test(test_tool_tag_leftovers),
    };

    fixtures();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
