/* cloudgate engine: looking into and sealing guest disks (see guest.h).
 *
 * Inspection runs our helper program cloudgate-inspect
 * (tools/cloudgate-inspect.c, the libguestfs C API), sealing runs
 * virt-sysprep: the daemon does not load libguestfs (about 4 MiB of its
 * memory for the library's start-up alone, and the appliance's children
 * and signals), and both run through tool_run.c.  The helper prints lines
 * "os.KEY=VALUE"; its reason for failing is its last "cloudgate-inspect:"
 * line.
 *
 * Sealing runs virt-sysprep through tool_run.c, in a process group of its
 * own, so a cancel reaches the appliance (qemu and libguestfs' recovery
 * process stay in that group) and not the daemon.
 */
#include "guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gateway/log.h"
#include "tool_run.h"

#define SYSPREP "virt-sysprep"
#define INSPECT_PROG "cloudgate-inspect"
#define INSPECT_ENV "CLOUDGATE_INSPECT"

/* What every instance of a template must not share, and what the default
 * operations of virt-sysprep 1.48 leave: its "customize" step writes a
 * fresh (so then shared) /etc/machine-id after the "machine-id" operation
 * emptied it, and the hostname is only reset when asked for.  Customize
 * actions run after that write, so these two undo it. */
static const char *const seal_extra[] = {
    "--hostname", "localhost.localdomain", "--write", "/etc/machine-id:", NULL,
};

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

/* The helper program: CLOUDGATE_INSPECT (tests, unusual installs), else
 * next to the running program (the build tree), else where make install
 * put it. */
static const char *inspect_helper(char *buf, size_t size)
{
    const char *env = getenv(INSPECT_ENV);
    ssize_t n;
    char *slash;

    if (env && *env)
        return env;
    n = readlink("/proc/self/exe", buf, size - 1);
    if (n > 0) {
        buf[n] = '\0';
        if ((slash = strrchr(buf, '/')) &&
            (size_t)(slash + 1 - buf) + sizeof(INSPECT_PROG) <= size) {
            memcpy(slash + 1, INSPECT_PROG, sizeof(INSPECT_PROG));
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return LIBEXECDIR "/" INSPECT_PROG;
}

/* Copy, cut to fit (these are labels and messages, a cut one still reads). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

typedef struct inspect_read {
    cg_os_info *out;
    int typed;         /* an os.type line came */
    char failure[256]; /* its last "cloudgate-inspect: " line */
} inspect_read;

/* One line of the helper's output: a result, a libguestfs message or its
 * reason for failing. */
static void on_inspect_line(const char *line, void *arg)
{
    inspect_read *r = arg;
    cg_os_info *o = r->out;
    static const char fail_prefix[] = INSPECT_PROG ": ";
    const char *v;

    if (strncmp(line, "os.", 3) == 0 && (v = strchr(line, '='))) {
        size_t klen = (size_t)(v++ - line) - 3;
        const char *k = line + 3;

#define FIELD(name)                                                                                \
    if (klen == sizeof(#name) - 1 && memcmp(k, #name, klen) == 0)                                  \
        copy_str(o->name, sizeof o->name, v);
        FIELD(type)
        FIELD(distro)
        FIELD(version)
        FIELD(arch)
        FIELD(product)
#undef FIELD
        if (klen == 4 && memcmp(k, "type", 4) == 0)
            r->typed = 1;
        else if (klen == 10 && memcmp(k, "cloud_init", 10) == 0)
            o->cloud_init = atoi(v) > 0 ? 1 : atoi(v) == 0 ? 0 : -1;
    } else if (strncmp(line, fail_prefix, sizeof(fail_prefix) - 1) == 0) {
        copy_str(r->failure, sizeof r->failure, line + sizeof(fail_prefix) - 1);
    } else if (*line) {
        cg_warn("%s", line); /* "libguestfs: ..." */
    }
}

int cg_guest_inspect(const cg_disk_paths *disks, cg_os_info *out, cg_error *err)
{
    char path[4096];
    inspect_read r = {.out = out};
    cg_tool_spec run = {.package = "cloudgate (" INSPECT_PROG ")",
                        .log_fd = -1,
                        .on_line = on_inspect_line,
                        .arg = &r};
    char **argv = NULL;
    size_t k = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->cloud_init = -1;
    if (check_disks(disks, err) < 0)
        goto cleanup;
    if (!(argv = calloc(2 + 2 * disks->n, sizeof *argv))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    argv[k++] = (char *)inspect_helper(path, sizeof path);
    for (size_t i = 0; i < disks->n; i++) {
        argv[k++] = disks->format[i];
        argv[k++] = disks->path[i];
    }
    run.argv = argv;
    if (cg_tool_run(&run, err) < 0) {
        if (r.failure[0])
            cg_error_set(err, CG_ERR_INTERNAL, "libguestfs: %s", r.failure);
        goto cleanup;
    }
    if (!r.typed) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s gave no result", INSPECT_PROG);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(argv);
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

int cg_guest_seal(const cg_disk_paths *disks, const cg_os_info *os, const char *tag, int log_fd,
                  cg_guest_cancel_fn cancelled, void *arg, cg_error *err)
{
    cg_os_info found;
    cg_tool_spec run = {.package = "guestfs-tools",
                        .log_fd = log_fd,
                        .cancelled = cancelled,
                        .arg = arg,
                        .tag = tag};
    char **argv = NULL;
    int rc = -1;

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
    run.argv = argv;
    if (cg_tool_run(&run, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(argv);
    return rc;
}

int cg_guest_kill_leftovers(const char *match)
{
    return cg_tool_kill_leftovers(SYSPREP, match);
}
