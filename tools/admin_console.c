/* cloudgate-admin console: like `virsh console`, through the driver's zone
 * connection.  One thread copies the console to stdout while the main
 * thread copies stdin to the console; a blocking libvirt stream serves both
 * (the client library lets calls from several threads wait at once). */
#include "tools/admin_console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "drivers/libvirt/lv_driver.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-] */

typedef struct console {
    virStreamPtr st;
    volatile int done;  /* the reader saw the console close */
} console;

static void *reader(void *opaque)
{
    console *con = opaque;
    char buf[4096];
    int n;

    while ((n = virStreamRecv(con->st, buf, sizeof(buf))) > 0) {
        ssize_t off = 0;

        while (off < n) {
            ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                break;
            off += w;
        }
    }
    __atomic_store_n(&con->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Copy stdin to the console until Ctrl-], end of input or a closed console. */
static void writer(console *con)
{
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    char buf[1024];
    ssize_t n;
    char *esc;

    while (!__atomic_load_n(&con->done, __ATOMIC_ACQUIRE)) {
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if ((n = read(STDIN_FILENO, buf, sizeof(buf))) < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        if ((esc = memchr(buf, ESCAPE_CHAR, (size_t)n)))
            n = esc - buf;
        if (n > 0 && virStreamSend(con->st, buf, (size_t)n) < 0)
            return;
        if (esc)
            return;
    }
}

/* The zone of instance id; 0 or -1 (reported on stderr). */
static int find_zone(cg_drv *drv, const char *id, char *zone, size_t len)
{
    cg_instance_list l = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (lv_driver.instance_list(drv, &l, &err) < 0) {
        fprintf(stderr, "cloudgate-admin: console: %s\n", err.message);
        return -1;
    }
    for (i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].id, id) != 0)
            continue;
        if (l.v[i].state != CG_STATE_RUNNING) {
            fprintf(stderr, "cloudgate-admin: console: instance %s is %s, not running\n", id,
                    cg_instance_state_name(l.v[i].state));
            goto cleanup;
        }
        snprintf(zone, len, "%s", l.v[i].zone);
        ret = 0;
        goto cleanup;
    }
    fprintf(stderr, "cloudgate-admin: console: instance %s does not exist\n", id);

cleanup:
    cg_instance_list_release(&l);
    return ret;
}

int cg_admin_console(cg_drv *drv, int argc, char **argv)
{
    console con = {0};
    char zone[64];
    cg_error err = {0};
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    struct termios saved, raw;
    pthread_t thread;
    struct timespec until;
    int tty = isatty(STDIN_FILENO), started = 0, rc = EXIT_FAILURE;

    if (argc != 2) {
        fprintf(stderr, "cloudgate-admin: console takes one instance id\n");
        return 2;
    }
    if (find_zone(drv, argv[1], zone, sizeof(zone)) < 0)
        return EXIT_FAILURE;
    if (!(conn = lv_driver_zone_conn(drv, zone, &err))) {
        fprintf(stderr, "cloudgate-admin: console: %s\n", err.message);
        return EXIT_FAILURE;
    }
    if (!(dom = virDomainLookupByName(conn, argv[1])) || !(con.st = virStreamNew(conn, 0)) ||
        virDomainOpenConsole(dom, NULL, con.st, 0) < 0) {
        fprintf(stderr, "cloudgate-admin: console %s: %s\n", argv[1], virGetLastErrorMessage());
        goto cleanup;
    }
    fprintf(stderr, "Connected to %s (serial console); Ctrl-] leaves.\n", argv[1]);
    if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    } else {
        tty = 0;
    }
    if (pthread_create(&thread, NULL, reader, &con) != 0) {
        fprintf(stderr, "cloudgate-admin: console: cannot start a thread\n");
        goto restore;
    }
    started = 1;
    writer(&con);
    rc = EXIT_SUCCESS;

restore:
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fprintf(stderr, "\nLeft the console of %s.\n", argv[1]);

cleanup:
    if (con.st) {
        /* Ends the reader's wait; give it a moment, then go regardless. */
        virStreamAbort(con.st);
        if (started) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 2;
            if (pthread_timedjoin_np(thread, NULL, &until) != 0)
                pthread_detach(thread);
        }
        if (!started || __atomic_load_n(&con.done, __ATOMIC_ACQUIRE))
            virStreamFree(con.st);
    }
    if (dom)
        virDomainFree(dom);
    virConnectClose(conn);
    return rc;
}
