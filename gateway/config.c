/* cloudgate: configuration file parsing and the embedded defaults. */
#include "config.h"
#include "util.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

typedef enum { SEC_NONE, SEC_GATEWAY, SEC_LIBVIRT, SEC_ZONE, SEC_TYPE, SEC_PROVIDER } section_kind;

typedef struct parse_state {
    const char *path;
    int line;
    char *errbuf;
    size_t errlen;
    section_kind section;
    int zones_replaced;   /* the first [zone] replaces the default zone list */
    int types_replaced;
} parse_state;

static int fail(parse_state *ps, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parse_state *ps, const char *key, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (key)
        snprintf(ps->errbuf, ps->errlen, "%s:%d: key '%s': %s", ps->path, ps->line, key, why);
    else
        snprintf(ps->errbuf, ps->errlen, "%s:%d: %s", ps->path, ps->line, why);
    return -1;
}

static int add_zone(cg_config *cfg, const char *name, const char *uri)
{
    cg_zone_config *z = realloc(cfg->zones, (cfg->n_zones + 1) * sizeof(*z));

    if (!z)
        return -1;
    cfg->zones = z;
    z = &cfg->zones[cfg->n_zones];
    z->name = strdup(name);
    z->uri = strdup(uri);
    if (!z->name || !z->uri) {
        free(z->name);
        free(z->uri);
        return -1;
    }
    cfg->n_zones++;
    return 0;
}

static int add_type(cg_config *cfg, const char *name, unsigned vcpus, unsigned mib)
{
    cg_instance_type *t = realloc(cfg->types, (cfg->n_types + 1) * sizeof(*t));

    if (!t)
        return -1;
    cfg->types = t;
    t = &cfg->types[cfg->n_types];
    t->name = strdup(name);
    if (!t->name)
        return -1;
    t->vcpus = vcpus;
    t->memory_mib = mib;
    cfg->n_types++;
    return 0;
}

static void clear_zones(cg_config *cfg)
{
    for (size_t i = 0; i < cfg->n_zones; i++) {
        free(cfg->zones[i].name);
        free(cfg->zones[i].uri);
    }
    free(cfg->zones);
    cfg->zones = NULL;
    cfg->n_zones = 0;
}

static void clear_types(cg_config *cfg)
{
    for (size_t i = 0; i < cfg->n_types; i++)
        free(cfg->types[i].name);
    free(cfg->types);
    cfg->types = NULL;
    cfg->n_types = 0;
}

int cg_config_defaults(cg_config *cfg)
{
    static const struct {
        const char *name;
        unsigned vcpus, mib;
    } types[] = {
        {"t2.nano", 1, 512},   {"t2.micro", 1, 1024},  {"t2.small", 1, 2048},
        {"t2.medium", 2, 4096}, {"t2.large", 2, 8192}, {"m1.small", 1, 2048},
    };

    memset(cfg, 0, sizeof(*cfg));
    cfg->listen_port = 8773;
    cfg->workers = 8;
    cfg->v2v_parallel = 1;
    cfg->queue_max = 256;
    cfg->max_body = 1024 * 1024;
    cfg->max_headers = 64 * 1024;
    cfg->timeout_sec = 60;
    cfg->read_timeout_sec = 30;
    cfg->shutdown_grace_sec = 30;
    cfg->max_connections = 1024;
    cfg->max_connections_per_peer = 128;
    cfg->max_params = 1000;
    cfg->max_queued_body = 64 * 1024 * 1024;
    cfg->job_threads = 4;
    cfg->stop_timeout_sec = 30;
    cfg->change_wait_sec = 20; /* inside an SDK's 60 s read timeout */
    cfg->terminated_retention_sec = 3600;
    /* OpenStack's long-standing defaults (ram 1.0, cpu 16.0): memory is
     * not overcommitted unless the operator says so; vCPUs are time-shared. */
    cfg->memory_overcommit = 1.0;
    cfg->cpu_overcommit = 16.0;
    /* qemu (TCG) is the default because it runs everywhere, nested hosts
     * included; real hosts set domain_type = kvm. */
    if (cg_set_str(&cfg->listen_addr, "127.0.0.1") < 0 ||
        cg_set_str(&cfg->credentials_file, LOCALSTATEDIR "/lib/cloudgate/credentials") < 0 ||
        cg_set_str(&cfg->state_dir, LOCALSTATEDIR "/lib/cloudgate") < 0 ||
        cg_set_str(&cfg->import_dirs, LOCALSTATEDIR "/lib/cloudgate/import") < 0 ||
        cg_set_str(&cfg->v2v_slot_dir, "/run/lock/cloudgate-v2v") < 0 ||
        cg_set_str(&cfg->region, "cloudgate") < 0 ||
        cg_set_str(&cfg->account_id, "000000000000") < 0 ||
        cg_set_str(&cfg->domain_type, "qemu") < 0 ||
        cg_set_str(&cfg->storage_pool, "cloudgate") < 0 ||
        cg_set_str(&cfg->network, "cloudgate-isolated") < 0 ||
        cg_set_str(&cfg->default_display, "headless") < 0 ||
        cg_set_str(&cfg->display_listen, "127.0.0.1") < 0 ||
        cg_set_str(&cfg->vpc_forward, "isolated") < 0 ||
        add_zone(cfg, "cloudgate-a", "qemu:///system") < 0)
        return -1;
    cfg->console_dir = NULL; /* derived from state_dir by validate() or below */
    if (!(cfg->console_dir = malloc(strlen(cfg->state_dir) + sizeof("/console"))))
        return -1;
    sprintf(cfg->console_dir, "%s/console", cfg->state_dir);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (add_type(cfg, types[i].name, types[i].vcpus, types[i].mib) < 0)
            return -1;
    return 0;
}

static int parse_uint(parse_state *ps, const char *key, const char *value, unsigned long max,
                      unsigned long *out)
{
    char *end;
    unsigned long long v;
    unsigned long long mult = 1;

    errno = 0;
    if (!isdigit((unsigned char)value[0]))
        return fail(ps, key, "'%s' is not a number", value);
    v = strtoull(value, &end, 10);
    if (*end == 'K' || *end == 'k')
        mult = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mult = 1024 * 1024, end++;
    if (errno || *end || v * mult > max || v * mult / mult != v)
        return fail(ps, key, "'%s' is not a number between 0 and %lu", value, max);
    *out = (unsigned long)(v * mult);
    return 0;
}

/* A decimal ratio in [min, max] ("1.5"). */
static int parse_ratio(parse_state *ps, const char *key, const char *value, double min,
                       double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    if (!isdigit((unsigned char)value[0]))
        return fail(ps, key, "'%s' is not a number", value);
    v = strtod(value, &end);
    if (errno || *end || !(v >= min && v <= max))
        return fail(ps, key, "'%s' is not a number between %g and %g", value, min, max);
    *out = v;
    return 0;
}

/* ADDRESS:PORT of key into *addr and *port. */
static int parse_listen(parse_state *ps, const char *key, const char *value, char **addr,
                        unsigned short *port)
{
    const char *colon = strrchr(value, ':');
    unsigned long n;
    char host[256];

    if (!colon || colon == value || (size_t)(colon - value) >= sizeof(host))
        return fail(ps, key, "'%s' is not ADDRESS:PORT", value);
    if (parse_uint(ps, key, colon + 1, 65535, &n) < 0 || n == 0)
        return fail(ps, key, "'%s' has no valid port", value);
    memcpy(host, value, (size_t)(colon - value));
    host[colon - value] = '\0';
    *port = (unsigned short)n;
    return cg_set_str(addr, host);
}

static int gateway_number(parse_state *ps, cg_config *cfg, const char *key, const char *value);

static int gateway_key(parse_state *ps, cg_config *cfg, const char *key, const char *value)
{

    if (!strcmp(key, "listen"))
        return parse_listen(ps, key, value, &cfg->listen_addr, &cfg->listen_port);
    if (!strcmp(key, "metadata_listen"))
        return parse_listen(ps, key, value, &cfg->metadata_addr, &cfg->metadata_port);
    if (!strcmp(key, "tls_cert"))
        return cg_set_str(&cfg->tls_cert, value);
    if (!strcmp(key, "tls_key"))
        return cg_set_str(&cfg->tls_key, value);
    if (!strcmp(key, "credentials"))
        return cg_set_str(&cfg->credentials_file, value);
    if (!strcmp(key, "state_dir")) {
        /* The console directory follows the state directory unless set. */
        char derived[4096];
        snprintf(derived, sizeof(derived), "%s/console", cfg->state_dir);
        if (cfg->console_dir && !strcmp(cfg->console_dir, derived)) {
            free(cfg->console_dir);
            cfg->console_dir = NULL;
        }
        return cg_set_str(&cfg->state_dir, value);
    }
    if (!strcmp(key, "region"))
        return cg_set_str(&cfg->region, value);
    if (!strcmp(key, "import_dirs")) {
        /* Absolute paths only: a relative one would depend on the cwd. */
        const char *p = value;
        while (*p) {
            p += strspn(p, ", ");
            if (*p && *p != '/')
                return fail(ps, key, "'%s': every directory must be an absolute path", value);
            p += strcspn(p, ",");
        }
        return cg_set_str(&cfg->import_dirs, value);
    }
    if (!strcmp(key, "v2v_slot_dir")) {
        if (!*value) { /* empty: the state directory's, per gateway */
            free(cfg->v2v_slot_dir);
            cfg->v2v_slot_dir = NULL;
            return 0;
        }
        if (*value != '/')
            return fail(ps, key, "'%s' must be an absolute path", value);
        return cg_set_str(&cfg->v2v_slot_dir, value);
    }
    if (!strcmp(key, "log_file"))
        return cg_set_str(&cfg->log_file, value);
    if (!strcmp(key, "account_id")) {
        if (strlen(value) != 12 || strspn(value, "0123456789") != 12)
            return fail(ps, key, "'%s' is not 12 digits", value);
        return cg_set_str(&cfg->account_id, value);
    }
    return gateway_number(ps, cfg, key, value);
}

/* The numeric [gateway] keys: each with its bounds (K/M suffixes allowed). */
static int gateway_number(parse_state *ps, cg_config *cfg, const char *key, const char *value)
{
    static const struct {
        const char *key;
        unsigned long min, max;
        size_t offset;
        int is_size;   /* size_t field, else unsigned */
    } keys[] = {
        {"workers", 1, 256, offsetof(cg_config, workers), 0},
        {"queue_max", 1, 1000000, offsetof(cg_config, queue_max), 0},
        /* A body limit below 1 KiB would refuse every EC2 request. */
        {"max_body", 1024, 64UL * 1024 * 1024, offsetof(cg_config, max_body), 1},
        {"max_headers", 1024, 1024UL * 1024, offsetof(cg_config, max_headers), 1},
        {"timeout", 1, 3600, offsetof(cg_config, timeout_sec), 0},
        {"shutdown_grace", 0, 3600, offsetof(cg_config, shutdown_grace_sec), 0},
        {"read_timeout", 1, 3600, offsetof(cg_config, read_timeout_sec), 0},
        {"max_connections", 1, 1000000, offsetof(cg_config, max_connections), 0},
        {"max_connections_per_peer", 1, 1000000, offsetof(cg_config, max_connections_per_peer),
         0},
        {"max_params", 1, 1000000, offsetof(cg_config, max_params), 0},
        {"job_threads", 1, 64, offsetof(cg_config, job_threads), 0},
        {"v2v_parallel", 1, 64, offsetof(cg_config, v2v_parallel), 0},
        {"max_queued_body", 1024 * 1024, 4096UL * 1024 * 1024, offsetof(cg_config, max_queued_body),
         1},
    };
    unsigned long n;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key) != 0)
            continue;
        if (parse_uint(ps, key, value, keys[i].max, &n) < 0 || n < keys[i].min)
            return fail(ps, key, "'%s' must be %lu..%lu", value, keys[i].min, keys[i].max);
        if (keys[i].is_size)
            *(size_t *)((char *)cfg + keys[i].offset) = n;
        else
            *(unsigned *)((char *)cfg + keys[i].offset) = (unsigned)n;
        return 0;
    }
    return fail(ps, key, "unknown key in [gateway]");
}

static int libvirt_key(parse_state *ps, cg_config *cfg, const char *key, const char *value)
{
    unsigned long n;

    if (!strcmp(key, "domain_type")) {
        if (strcmp(value, "kvm") && strcmp(value, "qemu") && strcmp(value, "test"))
            return fail(ps, key, "'%s' must be kvm, qemu or test", value);
        return cg_set_str(&cfg->domain_type, value);
    }
    if (!strcmp(key, "storage_pool"))
        return cg_set_str(&cfg->storage_pool, value);
    if (!strcmp(key, "network"))
        return cg_set_str(&cfg->network, value);
    if (!strcmp(key, "console_dir"))
        return cg_set_str(&cfg->console_dir, value);
    /* What EC2 users expect by default is headless: a serial console only. */
    if (!strcmp(key, "default_display")) {
        if (strcmp(value, "headless") && strcmp(value, "vnc") && strcmp(value, "spice"))
            return fail(ps, key, "'%s' must be headless, vnc or spice", value);
        return cg_set_str(&cfg->default_display, value);
    }
    /* A VPC is a private network, as on AWS without an internet gateway;
     * nat gives its guests the host's masqueraded way out instead. */
    if (!strcmp(key, "vpc_forward")) {
        if (strcmp(value, "isolated") && strcmp(value, "nat"))
            return fail(ps, key, "'%s' must be isolated or nat", value);
        return cg_set_str(&cfg->vpc_forward, value);
    }
    if (!strcmp(key, "display_listen")) {
        if (!*value || strspn(value, "0123456789abcdefABCDEF.:") != strlen(value))
            return fail(ps, key, "'%s' must be an IPv4 or IPv6 address", value);
        return cg_set_str(&cfg->display_listen, value);
    }
    /* VNC passwords are at most 8 characters; printable ASCII keeps the
     * value safe in the domain XML and in qemu's monitor commands. */
    if (!strcmp(key, "display_password")) {
        size_t i;

        for (i = 0; value[i]; i++)
            if (value[i] < 0x21 || value[i] > 0x7e)
                return fail(ps, key, "must be printable ASCII without spaces");
        if (i > 8)
            return fail(ps, key, "at most 8 characters (the VNC limit)");
        if (!*value) {
            free(cfg->display_password);
            cfg->display_password = NULL;
            return 0;
        }
        return cg_set_str(&cfg->display_password, value);
    }
    if (!strcmp(key, "uri")) {
        /* Shorthand for a single host: replaces the default zone's URI. */
        if (cfg->n_zones == 0)
            return fail(ps, key, "no zone to apply it to");
        return cg_set_str(&cfg->zones[0].uri, value);
    }
    if (!strcmp(key, "stop_timeout")) {
        if (parse_uint(ps, key, value, 86400, &n) < 0)
            return -1;
        cfg->stop_timeout_sec = (unsigned)n;
        return 0;
    }
    if (!strcmp(key, "change_wait")) {
        if (parse_uint(ps, key, value, 50, &n) < 0)
            return -1;
        cfg->change_wait_sec = (unsigned)n;
        return 0;
    }
    if (!strcmp(key, "memory_overcommit"))
        return parse_ratio(ps, key, value, 0.1, 10, &cfg->memory_overcommit);
    if (!strcmp(key, "cpu_overcommit"))
        return parse_ratio(ps, key, value, 0.1, 64, &cfg->cpu_overcommit);
    if (!strcmp(key, "placement")) {
        if (strcmp(value, "spread") != 0 && strcmp(value, "pack") != 0)
            return fail(ps, key, "must be spread or pack");
        cfg->placement_pack = strcmp(value, "pack") == 0;
        return 0;
    }
    if (!strcmp(key, "terminated_retention")) {
        if (parse_uint(ps, key, value, 30UL * 86400, &n) < 0)
            return -1;
        cfg->terminated_retention_sec = (unsigned)n;
        return 0;
    }
    return fail(ps, key, "unknown key in [libvirt]");
}

static int zone_key(parse_state *ps, cg_config *cfg, const char *key, const char *value)
{
    if (!strcmp(key, "uri"))
        return cg_set_str(&cfg->zones[cfg->n_zones - 1].uri, value);
    return fail(ps, key, "unknown key in [zone]");
}

static int type_key(parse_state *ps, cg_config *cfg, const char *key, const char *value)
{
    cg_instance_type *t = &cfg->types[cfg->n_types - 1];
    unsigned long n;

    if (!strcmp(key, "vcpus")) {
        if (parse_uint(ps, key, value, 512, &n) < 0 || n == 0)
            return fail(ps, key, "'%s' must be 1..512", value);
        t->vcpus = (unsigned)n;
        return 0;
    }
    if (!strcmp(key, "memory")) {
        if (parse_uint(ps, key, value, 16UL * 1024 * 1024, &n) < 0 || n < 16)
            return fail(ps, key, "'%s' must be 16..16777216 MiB", value);
        t->memory_mib = (unsigned)n;
        return 0;
    }
    return fail(ps, key, "unknown key in [instance-type]");
}

static int is_valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
            return 0;
    return 1;
}

static int parse_section(parse_state *ps, cg_config *cfg, char *head)
{
    char *name = strchr(head, ' ');

    if (name) {
        *name++ = '\0';
        while (*name == ' ')
            name++;
    }
    if (!strcmp(head, "gateway") && !name)
        ps->section = SEC_GATEWAY;
    else if (!strcmp(head, "libvirt") && !name)
        ps->section = SEC_LIBVIRT;
    else if (!strcmp(head, "zone") && name && is_valid_name(name)) {
        if (!ps->zones_replaced)
            clear_zones(cfg);
        ps->zones_replaced = 1;
        for (size_t i = 0; i < cfg->n_zones; i++)
            if (!strcmp(cfg->zones[i].name, name))
                return fail(ps, NULL, "zone '%s' defined twice", name);
        if (add_zone(cfg, name, "") < 0)
            return fail(ps, NULL, "out of memory");
        ps->section = SEC_ZONE;
    } else if (!strcmp(head, "instance-type") && name && is_valid_name(name)) {
        if (!ps->types_replaced)
            clear_types(cfg);
        ps->types_replaced = 1;
        if (cg_config_find_type(cfg, name))
            return fail(ps, NULL, "instance type '%s' defined twice", name);
        if (add_type(cfg, name, 0, 0) < 0)
            return fail(ps, NULL, "out of memory");
        ps->section = SEC_TYPE;
    } else if (name && cg_provider_kind_find(head) && cg_provider_name_ok(name)) {
        /* [glance NAME], [v2v NAME]: named providers (gateway/providers.h). */
        for (size_t i = 0; i < cfg->providers.n; i++)
            if (!strcmp(cfg->providers.v[i].kind, head) &&
                !strcmp(cfg->providers.v[i].name, name))
                return fail(ps, NULL, "%s provider '%s' defined twice", head, name);
        if (!cg_provider_list_new(&cfg->providers, head, name, CG_PROVIDER_FROM_CONFIG))
            return fail(ps, NULL, "out of memory");
        ps->section = SEC_PROVIDER;
    } else {
        return fail(ps, NULL, "unknown section [%s%s%s]", head, name ? " " : "",
                    name ? name : "");
    }
    return 0;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Checks that need the whole file: every zone has a URI, every type a size. */
static int validate(parse_state *ps, cg_config *cfg)
{
    ps->line = 0;
    if (!cfg->console_dir) {
        cfg->console_dir = malloc(strlen(cfg->state_dir) + sizeof("/console"));
        if (!cfg->console_dir)
            return fail(ps, NULL, "out of memory");
        sprintf(cfg->console_dir, "%s/console", cfg->state_dir);
    }
    if (cfg->n_zones == 0)
        return fail(ps, NULL, "no [zone] defined");
    for (size_t i = 0; i < cfg->n_zones; i++)
        if (!cfg->zones[i].uri[0])
            return fail(ps, "uri", "missing in [zone %s]", cfg->zones[i].name);
    for (size_t i = 0; i < cfg->n_types; i++)
        if (!cfg->types[i].vcpus || !cfg->types[i].memory_mib)
            return fail(ps, "vcpus/memory", "missing in [instance-type %s]",
                        cfg->types[i].name);
    if (!!cfg->tls_cert != !!cfg->tls_key)
        return fail(ps, cfg->tls_cert ? "tls_key" : "tls_cert",
                    "tls_cert and tls_key must be set together");
    for (size_t i = 0; i < cfg->providers.n; i++) {
        char why[256];

        if (cg_provider_check(&cfg->providers.v[i], why, sizeof(why)) < 0)
            return fail(ps, NULL, "[%s %s]: %s", cfg->providers.v[i].kind,
                        cfg->providers.v[i].name, why);
    }
    if (cfg->max_queued_body < cfg->max_body)
        return fail(ps, "max_queued_body", "must be at least max_body (%zu)", cfg->max_body);
    if (cfg->max_connections_per_peer > cfg->max_connections)
        return fail(ps, "max_connections_per_peer", "must be at most max_connections (%u)",
                    cfg->max_connections);
    return 0;
}

int cg_config_load(cg_config *cfg, const char *path, char *errbuf, size_t errlen)
{
    parse_state ps = {.path = path, .errbuf = errbuf, .errlen = errlen};
    FILE *fp = fopen(path, "r");
    char buf[4096];
    int rc = -1;

    if (!fp) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(buf, sizeof(buf), fp)) {
        char *line, *eq, *key, *value;

        ps.line++;
        if (!strchr(buf, '\n') && !feof(fp)) {
            fail(&ps, NULL, "line too long");
            goto cleanup;
        }
        line = trim(buf);
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (!close || close[1]) {
                fail(&ps, NULL, "malformed section header");
                goto cleanup;
            }
            *close = '\0';
            if (parse_section(&ps, cfg, trim(line + 1)) < 0)
                goto cleanup;
            continue;
        }
        eq = strchr(line, '=');
        if (!eq) {
            fail(&ps, NULL, "expected 'key = value'");
            goto cleanup;
        }
        *eq = '\0';
        key = trim(line);
        value = trim(eq + 1);
        switch (ps.section) {
        case SEC_NONE:
            fail(&ps, key, "outside of any section");
            goto cleanup;
        case SEC_GATEWAY:
            if (gateway_key(&ps, cfg, key, value) < 0)
                goto cleanup;
            break;
        case SEC_LIBVIRT:
            if (libvirt_key(&ps, cfg, key, value) < 0)
                goto cleanup;
            break;
        case SEC_ZONE:
            if (zone_key(&ps, cfg, key, value) < 0)
                goto cleanup;
            break;
        case SEC_TYPE:
            if (type_key(&ps, cfg, key, value) < 0)
                goto cleanup;
            break;
        case SEC_PROVIDER: {
            char why[256];

            if (cg_provider_set(&cfg->providers.v[cfg->providers.n - 1], key, value, why,
                                sizeof(why)) < 0) {
                fail(&ps, key, "%s", why);
                goto cleanup;
            }
            break;
        }
        }
    }
    rc = validate(&ps, cfg);

cleanup:
    fclose(fp);
    return rc;
}

const cg_instance_type *cg_config_find_type(const cg_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_types; i++)
        if (!strcmp(cfg->types[i].name, name))
            return &cfg->types[i];
    return NULL;
}

void cg_config_release(cg_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->listen_addr);
    free(cfg->metadata_addr);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->credentials_file);
    free(cfg->state_dir);
    free(cfg->import_dirs);
    free(cfg->v2v_slot_dir);
    free(cfg->region);
    free(cfg->account_id);
    free(cfg->log_file);
    free(cfg->domain_type);
    free(cfg->storage_pool);
    free(cfg->network);
    free(cfg->console_dir);
    free(cfg->default_display);
    free(cfg->display_listen);
    free(cfg->vpc_forward);
    free(cfg->display_password);
    clear_zones(cfg);
    clear_types(cfg);
    cg_provider_list_release(&cfg->providers);
    memset(cfg, 0, sizeof(*cfg));
}
