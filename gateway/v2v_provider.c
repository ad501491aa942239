/* cloudgate: checks of the "v2v" provider kind. */
#include "v2v_provider.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <libxml/uri.h>

#define MAX_URI 1024
#define MAX_USER 256

static const char *const v2v_keys[] = {"uri", "user", "password_file", NULL};

/* The hypervisor drivers a libvirt client can name (libvirt's
 * docs/uri.rst and drivers pages), and the remote transports. */
static const char *const drivers[] = {
    "qemu", "test", "vpx", "esx", "gsx", "xen", "libxl", "lxc", "vbox", "bhyve", "hyperv",
    "openvz", "vz", "ch", "vmwareplayer", "vmwarews", "vmwarefusion", "parallels", "remote",
    NULL,
};
static const char *const transports[] = {
    "ssh", "libssh", "libssh2", "tcp", "tls", "unix", "ext", NULL,
};

static int in(const char *const *set, const char *s, size_t len)
{
    for (size_t i = 0; set[i]; i++)
        if (strlen(set[i]) == len && !strncmp(set[i], s, len))
            return 1;
    return 0;
}

int cg_v2v_uri_check(const char *uri, char *why, size_t whylen)
{
    const char *colon, *plus;
    xmlURIPtr parsed = NULL;
    size_t dlen;

    if (!uri || !*uri) {
        snprintf(why, whylen,
                 "uri is required (a libvirt URI such as qemu+ssh://root@host/system)");
        return -1;
    }
    if (strlen(uri) > MAX_URI) {
        snprintf(why, whylen, "uri is longer than %d bytes", MAX_URI);
        return -1;
    }
    for (const char *s = uri; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            snprintf(why, whylen, "uri has a space or control character");
            return -1;
        }
    colon = strchr(uri, ':');
    if (!colon || colon == uri) {
        snprintf(why, whylen, "uri '%s' has no scheme (want e.g. qemu:///system)", uri);
        return -1;
    }
    plus = memchr(uri, '+', (size_t)(colon - uri));
    dlen = (size_t)((plus ? plus : colon) - uri);
    if (!in(drivers, uri, dlen)) {
        snprintf(why, whylen, "uri scheme '%.*s' is not a libvirt driver (qemu, test, vpx, "
                 "esx, xen, libxl, lxc, vbox, ...)", (int)dlen, uri);
        return -1;
    }
    if (plus && !in(transports, plus + 1, (size_t)(colon - plus - 1))) {
        snprintf(why, whylen, "uri transport '%.*s' is not one of ssh, libssh, libssh2, tcp, "
                 "tls, unix, ext", (int)(colon - plus - 1), plus + 1);
        return -1;
    }
    if (strncmp(colon, "://", 3)) {
        snprintf(why, whylen, "uri '%s' must be SCHEME://[USER@][HOST[:PORT]]/PATH", uri);
        return -1;
    }
    if (!(parsed = xmlParseURI(uri))) {
        snprintf(why, whylen, "uri '%s' is not a valid URI", uri);
        return -1;
    }
    /* USER:PASSWORD@ would keep a password where v2v-list shows it. */
    if (parsed->user && strchr(parsed->user, ':')) {
        xmlFreeURI(parsed);
        snprintf(why, whylen, "uri must not hold a password (USER:PASSWORD@): use "
                 "password_file");
        return -1;
    }
    xmlFreeURI(parsed);
    return 0;
}

int cg_v2v_password_file_check(const char *path, char *why, size_t whylen)
{
    struct stat st;
    int fd;

    if (path[0] != '/') {
        snprintf(why, whylen, "password_file '%s' must be an absolute path", path);
        return -1;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        snprintf(why, whylen, "password_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "password_file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int v2v_check(const cg_provider *p, char *why, size_t whylen)
{
    const char *user = cg_provider_get(p, "user");
    const char *pwf = cg_provider_get(p, "password_file");

    if (cg_v2v_uri_check(cg_provider_get(p, "uri"), why, whylen) < 0)
        return -1;
    if (user && (!*user || strlen(user) > MAX_USER)) {
        snprintf(why, whylen, "user must be 1..%d bytes", MAX_USER);
        return -1;
    }
    if (pwf && pwf[0] != '/') {
        snprintf(why, whylen, "password_file '%s' must be an absolute path", pwf);
        return -1;
    }
    return 0;
}

const cg_provider_kind cg_v2v_kind = {
    .name = "v2v",
    .label = "v2v provider",
    .keys = v2v_keys,
    .check = v2v_check,
};
