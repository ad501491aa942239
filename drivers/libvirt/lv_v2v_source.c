/* cloudgate libvirt driver: listing an external VM provider's domains. */
#include "lv_v2v_source.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>

#include "../../gateway/util.h"
#include "lv_driver.h"

#define MAX_PASSWORD 4096

/* ---- domain XML ---------------------------------------------------------- */

static int is_el(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)name);
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (is_el(n, name))
            return n;
    return NULL;
}

/* A malloc'd copy of attribute name of n, or NULL (absent or no node).
 * *oom is set when the copy fails. */
static char *attr(xmlNodePtr n, const char *name, int *oom)
{
    xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;
    char *s = NULL;

    if (v && !(s = strdup((const char *)v)))
        *oom = 1;
    xmlFree(v);
    return s;
}

/* Where a disk's data is: file, dev, name (network) or pool/volume. */
static char *disk_source(xmlNodePtr src, int *oom)
{
    static const char *const keys[] = {"file", "dev", "name", "dir", NULL};
    char *pool, *vol, *s;

    if (!src)
        return NULL;
    for (size_t i = 0; keys[i]; i++)
        if ((s = attr(src, keys[i], oom)) || *oom)
            return s;
    pool = attr(src, "pool", oom);
    vol = attr(src, "volume", oom);
    s = NULL;
    if (pool && vol && !(s = malloc(strlen(pool) + strlen(vol) + 2)))
        *oom = 1;
    else if (s)
        sprintf(s, "%s/%s", pool, vol);
    free(pool);
    free(vol);
    return s;
}

static int parse_disk(xmlNodePtr n, lv_v2v_disk *d, cg_error *err)
{
    xmlNodePtr src = child(n, "source");
    int oom = 0;

    memset(d, 0, sizeof(*d));
    d->capacity = -1;
    d->target = attr(child(n, "target"), "dev", &oom);
    d->bus = attr(child(n, "target"), "bus", &oom);
    d->device = attr(n, "device", &oom);
    d->type = attr(n, "type", &oom);
    d->format = attr(child(n, "driver"), "type", &oom);
    d->source = disk_source(src, &oom);
    if (oom) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (!d->target || !*d->target) {
        cg_error_set(err, CG_ERR_INVALID, "domain XML has a <disk> without <target dev=...>");
        return -1;
    }
    if (!d->device && !(d->device = strdup("disk"))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

static void disk_release(lv_v2v_disk *d)
{
    free(d->target);
    free(d->bus);
    free(d->device);
    free(d->type);
    free(d->source);
    free(d->format);
    memset(d, 0, sizeof(*d));
}

int lv_v2v_parse_disks(const char *xml, lv_v2v_vm *vm, cg_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, devices;
    int rc = -1;

    if (!xml || !(doc = xmlReadMemory(xml, (int)strnlen(xml, 16 << 20), "domain.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING))) {
        cg_error_set(err, CG_ERR_INVALID, "domain XML does not parse");
        goto cleanup;
    }
    root = xmlDocGetRootElement(doc);
    if (!root || !is_el(root, "domain")) {
        cg_error_set(err, CG_ERR_INVALID, "domain XML has no <domain> root");
        goto cleanup;
    }
    devices = child(root, "devices");
    for (xmlNodePtr n = devices ? devices->children : NULL; n; n = n->next) {
        lv_v2v_disk *grown;

        if (!is_el(n, "disk"))
            continue;
        if (!(grown = realloc(vm->disks, (vm->n_disks + 1) * sizeof(*grown)))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            goto cleanup;
        }
        vm->disks = grown;
        if (parse_disk(n, &vm->disks[vm->n_disks], err) < 0) {
            disk_release(&vm->disks[vm->n_disks]);
            goto cleanup;
        }
        vm->n_disks++;
    }
    rc = 0;

cleanup:
    xmlFreeDoc(doc);
    return rc;
}

/* ---- the connection ------------------------------------------------------ */

static void quiet_errors(void *opaque, virErrorPtr e)
{
}

typedef struct auth_data {
    const char *user;
    const char *password_file;
} auth_data;

/* The first line of the password file into buf.  0 or -1. */
static int read_password(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "re");
    int rc = -1;

    if (!fp)
        return -1;
    if (fgets(buf, (int)size, fp)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        rc = 0;
    }
    fclose(fp);
    return rc;
}

/* libvirt asks for what its transport needs: a user name (AUTHNAME) and a
 * password (PASSPHRASE), from the provider's settings only; never a prompt. */
static int answer_creds(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
    const auth_data *a = cbdata;
    char pw[MAX_PASSWORD];

    for (unsigned i = 0; i < ncred; i++) {
        const char *v = NULL;

        if (cred[i].type == VIR_CRED_AUTHNAME)
            v = a->user ? a->user : cred[i].defresult;
        else if (cred[i].type == VIR_CRED_PASSPHRASE || cred[i].type == VIR_CRED_NOECHOPROMPT) {
            if (!a->password_file || read_password(a->password_file, pw, sizeof(pw)) < 0)
                return -1;
            v = pw;
        }
        if (!v)
            return -1;
        cred[i].result = strdup(v);
        cred[i].resultlen = (unsigned)strlen(v);
        if (v == pw)
            explicit_bzero(pw, sizeof(pw));
        if (!cred[i].result)
            return -1;
    }
    return 0;
}

/* The ssh transport runs ssh(1), which would ask for a password on a
 * terminal and wait: no_tty=1 makes it fail instead (keys only; libssh and
 * libssh2 ask us, and get password_file).  NULL when out of memory. */
static char *batch_uri(const char *uri)
{
    const char *colon = strchr(uri, ':');
    const char *plus = colon ? memchr(uri, '+', (size_t)(colon - uri)) : NULL;

    if (!plus || strncmp(plus, "+ssh:", 5) || strstr(uri, "no_tty="))
        return strdup(uri);
    return cg_asprintf("%s%cno_tty=1", uri, strchr(uri, '?') ? '&' : '?');
}

static virConnectPtr open_provider(const cg_provider *p, cg_error *err)
{
    static int credtypes[] = {VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE, VIR_CRED_NOECHOPROMPT};
    auth_data a = {cg_provider_get(p, "user"), cg_provider_get(p, "password_file")};
    virConnectAuth auth = {credtypes, sizeof(credtypes) / sizeof(credtypes[0]), answer_creds,
                           &a};
    const char *uri = cg_provider_get(p, "uri");
    virConnectPtr conn = NULL;
    char *open_uri = NULL;

    virSetErrorFunc(NULL, quiet_errors);
    if (!uri) {
        cg_error_set(err, CG_ERR_INVALID, "v2v provider %s has no uri", p->name);
        goto cleanup;
    }
    if (!(open_uri = batch_uri(uri))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (!(conn = virConnectOpenAuth(open_uri, &auth, VIR_CONNECT_RO))) {
        const char *why = virGetLastErrorMessage();

        cg_error_set(err, CG_ERR_UNAVAILABLE, "cannot connect to v2v provider %s (%s): %s",
                     p->name, uri, why ? why : "unknown error");
    }

cleanup:
    free(open_uri);
    return conn;
}

/* ---- listing ------------------------------------------------------------- */

static const char *state_name(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting down";
    case VIR_DOMAIN_SHUTOFF: return "shut off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return "no state";
    }
}

/* How disk sizes can be read from a provider. */
typedef struct size_source {
    int local;        /* no host in the URI: a file source can be stat'ed here */
    int block_info;   /* virDomainGetBlockInfo tells the truth (the test driver invents it) */
} size_source;

static size_source size_source_of(const char *uri)
{
    xmlURIPtr u = xmlParseURI(uri);
    size_source s = {
        .local = u && (!u->server || !*u->server),
        .block_info = strncmp(uri, "test:", 5) && strncmp(uri, "test+", 5),
    };

    xmlFreeURI(u);
    return s;
}

/* Capacity in bytes: libvirt's (virtual size, from the image header), else
 * the size of a local file (raw images: the same thing). */
static void disk_sizes(virDomainPtr dom, lv_v2v_vm *vm, size_source how)
{
    for (size_t i = 0; i < vm->n_disks; i++) {
        lv_v2v_disk *d = &vm->disks[i];
        virDomainBlockInfo info;
        struct stat st;

        if (!d->source)
            continue;
        if (how.block_info && virDomainGetBlockInfo(dom, d->target, &info, 0) == 0)
            d->capacity = (long long)info.capacity;
        else if (how.local && d->type && !strcmp(d->type, "file") &&
                 stat(d->source, &st) == 0 && S_ISREG(st.st_mode))
            d->capacity = (long long)st.st_size;
    }
}

/* One domain into vm.  keep_xml: also the inactive definition.  A domain
 * that went away meanwhile (a transient one stopped) is CG_ERR_NOT_FOUND. */
static int read_vm(virDomainPtr dom, size_source how, int keep_xml, lv_v2v_vm *vm, cg_error *err)
{
    virDomainInfo info;
    char *xml = NULL;
    const char *name;
    int rc = -1;

    memset(vm, 0, sizeof(*vm));
    if (!(name = virDomainGetName(dom)) || virDomainGetUUIDString(dom, vm->uuid) < 0 ||
        virDomainGetInfo(dom, &info) < 0 ||
        !(xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE))) {
        virErrorPtr e = virGetLastError();

        if (e && e->code == VIR_ERR_NO_DOMAIN)
            cg_error_set(err, CG_ERR_NOT_FOUND, "the VM went away while being read");
        else
            cg_error_set(err, CG_ERR_UNAVAILABLE, "reading a domain of the provider: %s",
                         e && e->message ? e->message : "unknown error");
        goto cleanup;
    }
    if (!(vm->name = strdup(name))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    vm->state = state_name(info.state);
    vm->active = virDomainIsActive(dom) == 1;
    vm->vcpus = info.nrVirtCpu;
    vm->memory_mib = info.maxMem / 1024;
    if (lv_v2v_parse_disks(xml, vm, err) < 0)
        goto cleanup;
    disk_sizes(dom, vm, how);
    if (keep_xml) {
        vm->xml = xml;
        xml = NULL;
    }
    rc = 0;

cleanup:
    free(xml);
    if (rc < 0)
        lv_v2v_vm_release(vm);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const lv_v2v_vm *)a)->name, ((const lv_v2v_vm *)b)->name);
}

int lv_v2v_list_vms(const cg_provider *p, lv_v2v_vm_list *out, cg_error *err)
{
    size_source how;
    virConnectPtr conn = NULL;
    virDomainPtr *doms = NULL;
    int n = 0, rc = -1;

    memset(out, 0, sizeof(*out));
    if (!(conn = open_provider(p, err)))
        goto cleanup;
    if ((n = virConnectListAllDomains(conn, &doms, 0)) < 0) {
        const char *why = virGetLastErrorMessage();

        n = 0;
        cg_error_set(err, CG_ERR_UNAVAILABLE, "listing the VMs of %s: %s", p->name,
                     why ? why : "unknown error");
        goto cleanup;
    }
    how = size_source_of(cg_provider_get(p, "uri"));
    if (n > 0 && !(out->v = calloc((size_t)n, sizeof(*out->v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        cg_error one = {0};

        if (read_vm(doms[i], how, 0, &out->v[out->n], &one) == 0)
            out->n++;
        else if (one.kind != CG_ERR_NOT_FOUND) {   /* gone since the listing: skip it */
            cg_error_set(err, one.kind, "%s", one.message);
            goto cleanup;
        }
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), by_name);
    rc = 0;

cleanup:
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    if (conn)
        virConnectClose(conn);
    if (rc < 0)
        lv_v2v_vm_list_release(out);
    return rc;
}

int lv_v2v_find_vm(const cg_provider *p, const char *name, lv_v2v_vm *vm, cg_error *err)
{
    virConnectPtr conn = NULL;
    virDomainPtr dom = NULL;
    int rc = -1;

    memset(vm, 0, sizeof(*vm));
    if (!(conn = open_provider(p, err)))
        goto cleanup;
    if (!(dom = virDomainLookupByName(conn, name))) {
        virErrorPtr e = virGetLastError();

        if (e && e->code == VIR_ERR_NO_DOMAIN)
            cg_error_set(err, CG_ERR_NOT_FOUND, "v2v provider %s has no VM called %s "
                         "(see v2v-vms %s)", p->name, name, p->name);
        else
            cg_error_set(err, CG_ERR_UNAVAILABLE, "looking up VM %s on %s: %s", name,
                         p->name, e && e->message ? e->message : "unknown error");
        goto cleanup;
    }
    rc = read_vm(dom, size_source_of(cg_provider_get(p, "uri")), 1, vm, err);

cleanup:
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    return rc;
}

int lv_v2v_check_importable(const lv_v2v_vm *vm, cg_error *err)
{
    size_t disks = 0;

    if (vm->active) {
        cg_error_set(err, CG_ERR_STATE, "VM %s is %s: virt-v2v converts only shut-off VMs, "
                     "shut it down on its host first", vm->name, vm->state);
        return -1;
    }
    for (size_t i = 0; i < vm->n_disks; i++)
        if (!strcmp(vm->disks[i].device, "disk") && vm->disks[i].source)
            disks++;
    if (disks == 0) {
        cg_error_set(err, CG_ERR_INVALID, "VM %s has no disk to convert", vm->name);
        return -1;
    }
    return 0;
}

int lv_v2v_vm_check(cg_drv *drv, const cg_provider *p, const char *name, unsigned *vcpus,
                    unsigned *memory_mib, cg_error *err)
{
    lv_v2v_vm vm = {0};
    int disks = 0, ret = -1;

    (void)drv; /* the provider's own connection, not a zone's */
    if (lv_v2v_find_vm(p, name, &vm, err) < 0 || lv_v2v_check_importable(&vm, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < vm.n_disks; i++)
        disks += vm.disks[i].device && !strcmp(vm.disks[i].device, "disk");
    /* A template keeps the further disks as snapshots of its mappings, an
     * instance as volumes: the same bound for both. */
    if (disks > CG_IMPORT_MAX_DISKS) {
        cg_error_set(err, CG_ERR_INVALID,
                     "VM %s has %d disks; an import takes at most %d (vda..vdq)", name, disks,
                     CG_IMPORT_MAX_DISKS);
        goto cleanup;
    }
    *vcpus = vm.vcpus;
    *memory_mib = vm.memory_mib > UINT_MAX ? UINT_MAX : (unsigned)vm.memory_mib;
    ret = 0;

cleanup:
    lv_v2v_vm_release(&vm);
    return ret;
}

void lv_v2v_vm_release(lv_v2v_vm *vm)
{
    if (!vm)
        return;
    for (size_t i = 0; i < vm->n_disks; i++)
        disk_release(&vm->disks[i]);
    free(vm->disks);
    free(vm->name);
    free(vm->xml);
    memset(vm, 0, sizeof(*vm));
}

void lv_v2v_vm_list_release(lv_v2v_vm_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        lv_v2v_vm_release(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
