/* cloudgate-inspect: what operating system a guest's disks hold.
 *
 *   cloudgate-inspect FORMAT PATH [FORMAT PATH ...]
 *
 * Run by the gateway (engine/guest.c) for each template it inspects, so
 * that libguestfs (its library constructors alone touch about 4 MiB, and
 * its appliance, threads and signals) stays out of the daemon: the daemon
 * does not link it.  The disks are added read-only with their format
 * given (never probed: a raw disk whose guest wrote a qcow2 header must
 * stay raw).  The result is printed on stdout as lines "os.KEY=VALUE"
 * (type, distro, version, arch, product, cloud_init); a disk with no
 * operating system gives type "unknown".  libguestfs' warnings go to
 * stderr as "libguestfs: ...".  Exit 0, or 1 with the reason as the last
 * line of stderr.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <guestfs.h>

#define OS_RELEASE_MAX 65536 /* larger is not an os-release */

static void on_message(guestfs_h *g, void *opaque, uint64_t event, int handle, int flags,
                       const char *buf, size_t len, const uint64_t *array, size_t array_len)
{
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len > 0)
        fprintf(stderr, "libguestfs: %.*s\n", (int)len, buf);
}

static int fail(guestfs_h *g, const char *fmt, ...)
{
    const char *msg = g ? guestfs_last_error(g) : NULL;
    va_list ap;

    fputs("cloudgate-inspect: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (g)
        fprintf(stderr, ": %s", msg ? msg : "unknown error");
    fputc('\n', stderr);
    return -1;
}

/* One result line; a value is one line whatever the guest wrote. */
static void put(const char *key, const char *value)
{
    printf("os.%s=", key);
    for (const char *p = value ? value : ""; *p; p++)
        putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
    putchar('\n');
}

/* A quiet handle that still honours LIBGUESTFS_BACKEND & co.: the
 * environment is parsed only once the error handler is off. */
static guestfs_h *open_handle(void)
{
    guestfs_h *g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);

    if (!g) {
        fail(NULL, "cannot create a libguestfs handle: %s", strerror(errno));
        return NULL;
    }
    guestfs_set_error_handler(g, NULL, NULL);
    if (guestfs_set_event_callback(g, on_message, GUESTFS_EVENT_WARNING, 0, NULL) < 0 ||
        guestfs_parse_environment(g) < 0) {
        fail(g, "setting up the handle");
        guestfs_close(g);
        return NULL;
    }
    return g;
}

static void free_strings(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
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
    if (!(pairs = calloc(n ? n : 1, sizeof *pairs)))
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
        }
        /* else a missing /boot or an odd /srv does not hide /usr/bin */
    }
cleanup:
    free(pairs);
    free_strings(mps);
    return rc;
}

static int only_version_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return 0;
    return 1;
}

/* Debian's product name from libguestfs is the first line of
 * /etc/debian_version ("12.5"): os-release's PRETTY_NAME instead, or NULL.
 * Best effort; the guest's own file, so resolved inside the guest and
 * bounded in size.  Malloc'd. */
static char *pretty_name(guestfs_h *g)
{
    char *path = guestfs_realpath(g, "/etc/os-release"), *name = NULL;
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
            name = strndup(v, vl);
        break;
    }
cleanup:
    free_strings(lines);
    free(path);
    return name;
}

/* What the first root holds, printed.  0 or -1. */
static int print_root(guestfs_h *g, const char *root)
{
    char *type = NULL, *distro = NULL, *arch = NULL, *product = NULL, *pretty = NULL;
    char version[32] = "";
    int major, minor, cloud_init = -1, rc = -1;

    if (!(type = guestfs_inspect_get_type(g, root)) ||
        !(distro = guestfs_inspect_get_distro(g, root)) ||
        !(arch = guestfs_inspect_get_arch(g, root)) ||
        !(product = guestfs_inspect_get_product_name(g, root)) ||
        (major = guestfs_inspect_get_major_version(g, root)) < 0 ||
        (minor = guestfs_inspect_get_minor_version(g, root)) < 0) {
        fail(g, "reading the inspection result");
        goto cleanup;
    }
    /* "12" for 12.0, "" when libguestfs found none (0.0) */
    if (minor > 0)
        snprintf(version, sizeof version, "%d.%d", major, minor);
    else if (major > 0)
        snprintf(version, sizeof version, "%d", major);

    if (strcmp(type, "windows") == 0) {
        cloud_init = 0; /* cloudbase-init: not looked for */
    } else if (mount_root(g, root) == 0) {
        cloud_init = guestfs_exists(g, "/usr/bin/cloud-init") == 1 ||
                     guestfs_exists(g, "/etc/cloud/cloud.cfg") == 1;
        if (strcmp(type, "linux") == 0 && only_version_chars(product))
            pretty = pretty_name(g);
    } else {
        fprintf(stderr, "libguestfs: cannot mount %s read-only (%s): cloud-init not known\n", root,
                guestfs_last_error(g));
    }
    put("type", type);
    put("distro", distro);
    put("version", version);
    put("arch", arch);
    put("product", pretty ? pretty : product);
    printf("os.cloud_init=%d\n", cloud_init);
    rc = 0;
cleanup:
    free(type);
    free(distro);
    free(arch);
    free(product);
    free(pretty);
    return rc;
}

int main(int argc, char **argv)
{
    guestfs_h *g = NULL;
    char **roots = NULL;
    int rc = 1;

    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: cloudgate-inspect FORMAT PATH [FORMAT PATH ...]\n");
        return 2;
    }
    /* Gone with the gateway that asked (libguestfs' recovery process then
     * stops the appliance). */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
        return 1;
    if (!(g = open_handle()))
        goto cleanup;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (guestfs_add_drive_opts(g, argv[i + 1], GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
                                   GUESTFS_ADD_DRIVE_OPTS_FORMAT, argv[i], -1) < 0) {
            fail(g, "adding disk %s", argv[i + 1]);
            goto cleanup;
        }
    }
    if (guestfs_launch(g) < 0) {
        fail(g, "launching the appliance");
        goto cleanup;
    }
    if (!(roots = guestfs_inspect_os(g))) {
        fail(g, "inspecting");
        goto cleanup;
    }
    if (!roots[0]) {
        /* a blank or data disk: what runs on it is not known */
        put("type", "unknown");
        put("distro", "unknown");
    } else if (print_root(g, roots[0]) < 0) {
        goto cleanup;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
cleanup:
    free_strings(roots);
    if (g)
        guestfs_close(g);
    return rc;
}
