/* cloudgate engine: looking into and sealing guest disks (see guest.h).
 *
 * Inspection uses the libguestfs C API on a handle of its own per call,
 * disks added read-only with their format given (never probed: a raw disk
 * whose guest wrote a qcow2 header must stay raw).  libguestfs must not
 * write to the daemon's stderr: errors are read back with
 * guestfs_last_error, its messages go to our log.
 *
 * Sealing runs virt-sysprep through tool_run.c, in a process group of its
 * own, so a cancel reaches the appliance (qemu and libguestfs' recovery
 * process stay in that group) and not the daemon.
 */
#include "guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <guestfs.h>

#include "../gateway/log.h"
#include "tool_run.h"

#define SYSPREP "virt-sysprep"
#define OS_RELEASE_MAX 65536 /* larger is not an os-release */

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
