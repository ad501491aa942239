/* cloudgate engine: an import named by one source URL (see v2v_request.h).
 *
 * The checks run in the order a user fixes them: the URL, the provider,
 * the VM (exists, shut off, a disk to convert) or the file (under
 * import_dirs), the shape; only then the job, whose submit refuses a zone without a local
 * pool directory.  The VM is read again by virt-v2v when the job runs: a
 * VM started meanwhile makes the job fail, and nothing stays.
 */
#define _XOPEN_SOURCE 700
#include "v2v_request.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../gateway/providers.h"
#include "../gateway/store.h"
#include "import_source.h"
#include "v2v_import.h"
#include "v2v_vm_import.h"

/* A source's parts: a provider VM, or a local file. */
typedef struct source {
    char provider[72];
    char vm[256];
    char file[PATH_MAX];     /* resolved, under import_dirs */
    const char *format;      /* file: "ova", "vmdk" or "vhdx" */
} source;

/* The format a file's extension names, or NULL. */
static const char *file_format(const char *path)
{
    static const char *const formats[] = {"ova", "vmdk", "vhdx"};
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcasecmp(dot + 1, formats[i]) == 0)
            return formats[i];
    return NULL;
}

/* v2v://PROVIDER/VM: a provider name and a VM name of printable
 * characters without '/'.  0 or -1 (CG_ERR_INVALID). */
static int parse_v2v(const char *url, source *out, cg_error *err)
{
    const char *p = url + strlen(CG_V2V_SCHEME), *slash = strchr(p, '/');
    size_t plen = slash ? (size_t)(slash - p) : 0;

    if (!slash || plen == 0 || plen >= sizeof(out->provider) || !slash[1] ||
        strlen(slash + 1) >= sizeof(out->vm)) {
        cg_error_set(err, CG_ERR_INVALID, "source '%.200s' is not v2v://PROVIDER/VM", url);
        return -1;
    }
    memcpy(out->provider, p, plen);
    out->provider[plen] = '\0';
    snprintf(out->vm, sizeof(out->vm), "%s", slash + 1);
    if (!cg_provider_name_ok(out->provider)) {
        cg_error_set(err, CG_ERR_INVALID, "source '%.200s': '%s' is not a provider name", url,
                     out->provider);
        return -1;
    }
    for (const unsigned char *c = (const unsigned char *)out->vm; *c; c++)
        if (*c < 0x20 || *c == 0x7f || *c == '/') {
            cg_error_set(err, CG_ERR_INVALID, "source '%.200s': the VM name has a '/' or a "
                                              "control character", url);
            return -1;
        }
    return 0;
}

/* file:///PATH of a format virt-v2v reads, under import_dirs. */
static int parse_file(const cg_config *cfg, const char *url, source *out, cg_error *err)
{
    if (!(out->format = file_format(url))) {
        cg_error_set(err, CG_ERR_INVALID, "source '%.200s' must end in .ova, .vmdk or .vhdx",
                     url);
        return -1;
    }
    if (cg_source_check(cfg, url, err) < 0)
        return -1;
    if (!cg_source_path_allowed(cfg, url + strlen("file://"), out->file, sizeof(out->file))) {
        cg_error_set(err, CG_ERR_INVALID, "%.300s is not under import_dirs", url);
        return -1;
    }
    return 0;
}

/* The provider's URI and password file (copies in p) after checking its VM;
 * the VM's vCPUs and memory into the pointers. */
static int check_vm(const cg_core *c, const source *src, cg_provider *p, unsigned *vcpus,
                    unsigned *memory_mib, cg_error *err)
{
    sqlite3 *db = cg_db_open(c->cfg, err);
    int ret = -1;

    if (!db)
        return -1;
    if (cg_providers_init(db, err) < 0 ||
        cg_provider_find(db, c->cfg, "v2v", src->provider, p, err) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->driver, c->drv, v2v_vm_check, err, p, src->vm, vcpus, memory_mib) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    cg_db_close(db);
    return ret;
}

/* The instance's shape: the type asked for, else the source's (named after
 * a configured type of exactly that shape, else "custom"). */
static int shape(const cg_config *cfg, const char *type_name, unsigned vcpus,
                 unsigned memory_mib, cg_vm_import_spec *s, cg_error *err)
{
    const cg_instance_type *t = NULL;

    if (type_name && !(t = cg_config_find_type(cfg, type_name))) {
        cg_error_set(err, CG_ERR_INVALID, "there is no machine configuration '%.64s'",
                     type_name);
        return -1;
    }
    if (!t && (vcpus == 0 || memory_mib == 0)) {
        cg_error_set(err, CG_ERR_INVALID, "a file says nothing of the machine's size: give "
                                          "a machineConfig");
        return -1;
    }
    for (size_t i = 0; !t && i < cfg->n_types; i++)
        if (cfg->types[i].vcpus == vcpus && cfg->types[i].memory_mib == memory_mib)
            t = &cfg->types[i];
    s->type_name = t ? t->name : "custom";
    s->vcpus = t && type_name ? t->vcpus : vcpus;
    s->memory_mib = t && type_name ? t->memory_mib : memory_mib;
    return 0;
}

static int submit_template(const cg_core *c, const cg_v2v_request *r, const source *src,
                           const cg_provider *p, cg_job *out, cg_error *err)
{
    if (r->type_name || r->zone || r->display != CG_DISPLAY_DEFAULT) {
        cg_error_set(err, CG_ERR_INVALID, "machineConfig, zone and display are for machines "
                                          "(an image is published to every zone)");
        return -1;
    }
    if (src->file[0]) {
        cg_import_spec spec = {.url = r->source, .format = src->format,
                               .as = CG_IMPORT_TEMPLATE, .name = r->name,
                               .description = r->description, .seal = r->seal,
                               .tags = r->tags};

        return cg_import_submit(c, &spec, out, err);
    }
    cg_vm_template_spec t = {.uri = cg_provider_get(p, "uri"),
                             .password_file = cg_provider_get(p, "password_file"),
                             .vm = src->vm, .name = r->name, .seal = r->seal};

    return cg_v2v_import_vm_template(c, &t, out, err);
}

int cg_v2v_request_submit(const cg_core *c, const cg_v2v_request *r, cg_job *out,
                          cg_error *err)
{
    cg_vm_import_spec s = {.display = r->display, .zone = r->zone};
    cg_provider p = {0};
    unsigned vcpus = 0, memory_mib = 0;
    source *src = calloc(1, sizeof(*src));
    int ret = -1;

    if (!src) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (!r->source || !r->source[0]) {
        cg_error_set(err, CG_ERR_INVALID, "an import needs a source: v2v://PROVIDER/VM or "
                                          "file:///PATH");
        goto cleanup;
    }
    if (strncmp(r->source, CG_V2V_SCHEME, strlen(CG_V2V_SCHEME)) == 0) {
        if (parse_v2v(r->source, src, err) < 0 ||
            check_vm(c, src, &p, &vcpus, &memory_mib, err) < 0)
            goto cleanup;
    } else if (strncmp(r->source, "file://", 7) == 0) {
        if (parse_file(c->cfg, r->source, src, err) < 0)
            goto cleanup;
    } else {
        cg_error_set(err, CG_ERR_INVALID, "source '%.200s' is neither v2v://PROVIDER/VM nor "
                                          "file:///PATH", r->source);
        goto cleanup;
    }
    if (r->as_template) {
        ret = submit_template(c, r, src, &p, out, err);
        goto cleanup;
    }
    if (r->description || r->seal || r->tags) {
        cg_error_set(err, CG_ERR_INVALID, "description, seal and properties are for images");
        goto cleanup;
    }
    if (shape(c->cfg, r->type_name, vcpus, memory_mib, &s, err) < 0)
        goto cleanup;
    if (src->file[0]) {
        s.file = src->file;
        s.file_is_ova = strcmp(src->format, "ova") == 0;
    } else {
        s.uri = cg_provider_get(&p, "uri");
        s.password_file = cg_provider_get(&p, "password_file");
        s.vm = src->vm;
    }
    s.name = r->name ? r->name : src->vm[0] ? src->vm : NULL;
    ret = cg_v2v_vm_import_submit(c, &s, out, err);

cleanup:
    cg_provider_release(&p);
    free(src);
    return ret;
}
