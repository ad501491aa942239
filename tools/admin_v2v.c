/* cloudgate-admin v2v-*: add, list and remove external VM providers (a
 * libvirt URI virt-v2v reads VMs from), list a provider's VMs, and check one
 * VM the way an import will before it starts virt-v2v.
 *
 * Exit status: 0 done, 1 failed (the reason on stderr), 2 usage; v2v-check
 * exits 3 when the VM exists but cannot be imported as it is. */
#include "tools/admin_v2v.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "drivers/libvirt/lv_v2v_source.h"
#include "gateway/providers.h"
#include "gateway/store.h"
#include "gateway/v2v_provider.h"

#define EXIT_USAGE 2
#define EXIT_NOT_IMPORTABLE 3
#define JSON_PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

static int fail(const char *what, const cg_error *err)
{
    fprintf(stderr, "cloudgate-admin: %s: %s\n", what, err->message);
    return EXIT_FAILURE;
}

int cg_admin_is_v2v(const char *cmd)
{
    return !strcmp(cmd, "v2v-add") || !strcmp(cmd, "v2v-list") || !strcmp(cmd, "v2v-remove") ||
           !strcmp(cmd, "v2v-vms") || !strcmp(cmd, "v2v-check");
}

static int cmd_add(const cg_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"uri", required_argument, NULL, 'u'},
        {"user", required_argument, NULL, 'U'},
        {"password-file", required_argument, NULL, 'p'},
        {"no-check", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    cg_provider p = {.origin = CG_PROVIDER_FROM_RUNTIME};
    lv_v2v_vm_list vms = {0};
    cg_error err = {0};
    sqlite3 *db = NULL;
    char why[512], *abs = NULL;
    struct stat st;
    int c, check = 1, rc = EXIT_USAGE;

    if (!(p.kind = strdup("v2v"))) {
        fprintf(stderr, "cloudgate-admin: out of memory\n");
        return EXIT_FAILURE;
    }
    /* 0, not 1: glibc then re-reads the ordering, so NAME may come first. */
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *key = NULL, *value = optarg;

        switch (c) {
        case 'u': key = "uri"; break;
        case 'U': key = "user"; break;
        case 'p':
            /* Stored as an absolute path, so the daemon finds it from anywhere. */
            key = "password_file";
            free(abs);
            if (!(abs = realpath(optarg, NULL))) {
                fprintf(stderr, "cloudgate-admin: v2v-add: --password-file %s: %s\n", optarg,
                        strerror(errno));
                rc = EXIT_FAILURE;
                goto cleanup;
            }
            value = abs;
            break;
        case 'n': check = 0; break;
        default: goto cleanup;
        }
        if (key && cg_provider_set(&p, key, value, why, sizeof(why)) < 0) {
            fprintf(stderr, "cloudgate-admin: v2v-add: --%s: %s\n", key, why);
            goto cleanup;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "cloudgate-admin: v2v-add takes one NAME and --uri URI\n");
        goto cleanup;
    }
    rc = EXIT_FAILURE;
    if (!(p.name = strdup(argv[optind]))) {
        fprintf(stderr, "cloudgate-admin: out of memory\n");
        goto cleanup;
    }
    if (cg_provider_check(&p, why, sizeof(why)) < 0) {
        fprintf(stderr, "cloudgate-admin: v2v-add: %s\n", why);
        goto cleanup;
    }
    if (cg_provider_get(&p, "password_file")) {
        if (cg_v2v_password_file_check(cg_provider_get(&p, "password_file"), why,
                                       sizeof(why)) < 0) {
            fprintf(stderr, "cloudgate-admin: v2v-add: %s\n", why);
            goto cleanup;
        }
        if (stat(cg_provider_get(&p, "password_file"), &st) == 0 && (st.st_mode & 077))
            fprintf(stderr, "cloudgate-admin: warning: %s can be read by others (chmod 600)\n",
                    cg_provider_get(&p, "password_file"));
    }
    if (!(db = cg_db_open(cfg, &err))) {
        fail("v2v-add", &err);
        goto cleanup;
    }
    /* Connect and list once, so a wrong URI or password shows now. */
    if (check && lv_v2v_list_vms(&p, &vms, &err) < 0) {
        fail("v2v-add", &err);
        goto cleanup;
    }
    if (cg_providers_add(db, cfg, &p, &err) < 0) {
        fail("v2v-add", &err);
        goto cleanup;
    }
    printf("%s\n", p.name);
    rc = EXIT_SUCCESS;

cleanup:
    lv_v2v_vm_list_release(&vms);
    cg_db_close(db);
    cg_provider_release(&p);
    free(abs);
    return rc;
}

static const char *dash(const char *s)
{
    return s ? s : "-";
}

/* "--json" as the only option after the fixed arguments. */
static int parse_json_flag(int argc, char **argv, int fixed, int *json)
{
    *json = 0;
    if (argc == fixed + 1 && !strcmp(argv[fixed], "--json"))
        *json = 1;
    else if (argc != fixed)
        return -1;
    return 0;
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static int cmd_list(const cg_config *cfg, int argc, char **argv)
{
    cg_provider_list l = {0};
    cg_error err = {0};
    sqlite3 *db = NULL;
    json_object *arr = NULL;
    int json, rc = EXIT_FAILURE;

    if (parse_json_flag(argc, argv, 1, &json) < 0) {
        fprintf(stderr, "cloudgate-admin: v2v-list takes only --json\n");
        return EXIT_USAGE;
    }
    if (!(db = cg_db_open(cfg, &err)) || cg_providers_list(db, cfg, "v2v", &l, &err) < 0) {
        fail("v2v-list", &err);
        goto cleanup;
    }
    if (json && !(arr = json_object_new_array()))
        goto cleanup;
    /* name, config|added, uri, user, password file path: never the password. */
    for (size_t i = 0; i < l.n; i++) {
        const cg_provider *p = &l.v[i];
        const char *origin = p->origin == CG_PROVIDER_FROM_CONFIG ? "config" : "added";
        json_object *o;

        if (!json) {
            printf("%s\t%s\t%s\t%s\t%s\n", p->name, origin, dash(cg_provider_get(p, "uri")),
                   dash(cg_provider_get(p, "user")), dash(cg_provider_get(p, "password_file")));
            continue;
        }
        if (!(o = json_object_new_object()) || json_object_array_add(arr, o) < 0) {
            json_object_put(o);
            goto cleanup;
        }
        json_object_object_add(o, "name", jstr(p->name));
        json_object_object_add(o, "origin", jstr(origin));
        json_object_object_add(o, "uri", jstr(cg_provider_get(p, "uri")));
        json_object_object_add(o, "user", jstr(cg_provider_get(p, "user")));
        json_object_object_add(o, "password_file", jstr(cg_provider_get(p, "password_file")));
    }
    if (json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_PRETTY));
    rc = EXIT_SUCCESS;

cleanup:
    json_object_put(arr);
    cg_provider_list_release(&l);
    cg_db_close(db);
    return rc;
}

static int cmd_remove(const cg_config *cfg, int argc, char **argv)
{
    cg_error err = {0};
    sqlite3 *db = NULL;
    int rc = EXIT_FAILURE;

    if (argc != 2) {
        fprintf(stderr, "cloudgate-admin: v2v-remove takes one provider name\n");
        return EXIT_USAGE;
    }
    if (!(db = cg_db_open(cfg, &err)) || cg_providers_remove(db, cfg, "v2v", argv[1], &err) < 0)
        fail("v2v-remove", &err);
    else
        rc = EXIT_SUCCESS;
    cg_db_close(db);
    return rc;
}

static json_object *vm_json(const lv_v2v_vm *vm)
{
    json_object *o = json_object_new_object(), *disks = json_object_new_array();

    if (!o || !disks) {
        json_object_put(o);
        json_object_put(disks);
        return NULL;
    }
    json_object_object_add(o, "name", jstr(vm->name));
    json_object_object_add(o, "uuid", jstr(vm->uuid));
    json_object_object_add(o, "state", jstr(vm->state));
    json_object_object_add(o, "active", json_object_new_boolean(vm->active));
    json_object_object_add(o, "vcpus", json_object_new_int64(vm->vcpus));
    json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)vm->memory_mib));
    json_object_object_add(o, "disks", disks);
    for (size_t i = 0; i < vm->n_disks; i++) {
        const lv_v2v_disk *d = &vm->disks[i];
        json_object *j = json_object_new_object();

        if (!j || json_object_array_add(disks, j) < 0) {
            json_object_put(j);
            json_object_put(o);
            return NULL;
        }
        json_object_object_add(j, "target", jstr(d->target));
        json_object_object_add(j, "bus", jstr(d->bus));
        json_object_object_add(j, "device", jstr(d->device));
        json_object_object_add(j, "type", jstr(d->type));
        json_object_object_add(j, "source", jstr(d->source));
        json_object_object_add(j, "format", jstr(d->format));
        json_object_object_add(j, "capacity",
                               d->capacity >= 0 ? json_object_new_int64(d->capacity) : NULL);
    }
    return o;
}

/* A field of the table: names and paths come from the provider, so a tab
 * or newline in them must not make rows of their own. */
static void field(const char *s, const char *end)
{
    if (!s)
        s = "-";
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
    fputs(end, stdout);
}

/* A VM row, then one indented row per disk: target, device, format, size,
 * source. */
static void vm_print(const lv_v2v_vm *vm)
{
    field(vm->name, "\t");
    printf("%s\t%u\t%llu\t%zu\n", vm->state, vm->vcpus, vm->memory_mib, vm->n_disks);
    for (size_t i = 0; i < vm->n_disks; i++) {
        const lv_v2v_disk *d = &vm->disks[i];

        putchar('\t');
        field(d->target, "\t");
        field(d->device, "\t");
        field(d->format, "\t");
        if (d->capacity >= 0)
            printf("%lld\t", d->capacity);
        else
            fputs("-\t", stdout);
        field(d->source, "\n");
    }
}

/* The provider named argv[1] from the configuration or the table. */
static int find_provider(const cg_config *cfg, const char *name, cg_provider *p, cg_error *err)
{
    sqlite3 *db = cg_db_open(cfg, err);
    int rc = db ? cg_provider_find(db, cfg, "v2v", name, p, err) : -1;

    cg_db_close(db);
    return rc;
}

static int cmd_vms(const cg_config *cfg, int argc, char **argv)
{
    cg_provider p = {0};
    lv_v2v_vm_list vms = {0};
    cg_error err = {0};
    json_object *arr = NULL;
    int json, rc = EXIT_FAILURE;

    if (argc < 2 || parse_json_flag(argc, argv, 2, &json) < 0) {
        fprintf(stderr, "cloudgate-admin: v2v-vms takes one provider name [--json]\n");
        return EXIT_USAGE;
    }
    if (find_provider(cfg, argv[1], &p, &err) < 0 || lv_v2v_list_vms(&p, &vms, &err) < 0) {
        fail("v2v-vms", &err);
        goto cleanup;
    }
    if (json && !(arr = json_object_new_array()))
        goto cleanup;
    for (size_t i = 0; i < vms.n; i++) {
        json_object *o;

        if (!json) {
            vm_print(&vms.v[i]);
            continue;
        }
        if (!(o = vm_json(&vms.v[i])) || json_object_array_add(arr, o) < 0) {
            json_object_put(o);
            fprintf(stderr, "cloudgate-admin: out of memory\n");
            goto cleanup;
        }
    }
    if (json)
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_PRETTY));
    rc = EXIT_SUCCESS;

cleanup:
    json_object_put(arr);
    lv_v2v_vm_list_release(&vms);
    cg_provider_release(&p);
    return rc;
}

/* v2v-check NAME VM: the checks an import makes before virt-v2v runs. */
static int cmd_check(const cg_config *cfg, int argc, char **argv)
{
    cg_provider p = {0};
    lv_v2v_vm vm = {0};
    cg_error err = {0};
    int rc = EXIT_FAILURE;

    if (argc != 3) {
        fprintf(stderr, "cloudgate-admin: v2v-check takes a provider name and a VM name\n");
        return EXIT_USAGE;
    }
    if (find_provider(cfg, argv[1], &p, &err) < 0 || lv_v2v_find_vm(&p, argv[2], &vm, &err) < 0) {
        fail("v2v-check", &err);
        goto cleanup;
    }
    vm_print(&vm);
    if (lv_v2v_check_importable(&vm, &err) < 0) {
        fail("v2v-check", &err);
        rc = EXIT_NOT_IMPORTABLE;
        goto cleanup;
    }
    rc = EXIT_SUCCESS;

cleanup:
    lv_v2v_vm_release(&vm);
    cg_provider_release(&p);
    return rc;
}

int cg_admin_v2v(const cg_config *cfg, int argc, char **argv)
{
    if (!strcmp(argv[0], "v2v-add"))
        return cmd_add(cfg, argc, argv);
    if (!strcmp(argv[0], "v2v-list"))
        return cmd_list(cfg, argc, argv);
    if (!strcmp(argv[0], "v2v-remove"))
        return cmd_remove(cfg, argc, argv);
    if (!strcmp(argv[0], "v2v-vms"))
        return cmd_vms(cfg, argc, argv);
    return cmd_check(cfg, argc, argv);
}
