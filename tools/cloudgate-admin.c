/* cloudgate-admin: manage the templates (images) cloudgate launches from.
 *
 *   cloudgate-admin [-c CONFIG] image-register --name N (--disk FILE | --volume VOL)
 *                   [--kernel K] [--initrd I] [--cmdline C] [--description D]
 *                   [--seed-format nocloud|configdrive|imds] [--display headless|vnc|spice]
 *   cloudgate-admin [-c CONFIG] image-list
 *   cloudgate-admin [-c CONFIG] image-deregister AMI
 *   cloudgate-admin [-c CONFIG] image-set-display AMI headless|vnc|spice
 *   cloudgate-admin [-c CONFIG] console INSTANCE-ID
 *   cloudgate-admin [-c CONFIG] glance-add|glance-list|glance-remove|glance-images|
 *                   glance-download ...   (tools/admin_glance.c)
 *   cloudgate-admin [-c CONFIG] image-import URL ... | jobs ...   (tools/admin_images.c)
 *
 * It goes through the same driver table as the gateway, so the images land
 * in the same database and pools the daemon uses.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/driver.h"
#include "engine/scratch.h"
#include "engine/tool_run.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/util.h"
#include "tools/admin_console.h"
#include "tools/admin_glance.h"
#include "tools/admin_images.h"
#include "tools/admin_v2v.h"
#include "tools/container_userdata.h"

#define EXIT_USAGE 2

static void usage(FILE *to)
{
    fprintf(to,
            "usage: cloudgate-admin [-c CONFIG] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  image-register --name NAME (--disk FILE | --volume VOLUME)\n"
            "                 [--kernel FILE] [--initrd FILE] [--cmdline TEXT]\n"
            "                 [--description TEXT] [--seed-format nocloud|configdrive|imds]\n"
            "                 [--display headless|vnc|spice] [--no-inspect]\n"
            "      upload a qcow2/raw disk (or adopt a volume already in the pool)\n"
            "      as a template; prints the new image id.  The cloud-init seed of\n"
            "      its instances: NoCloud (default) or ConfigDrive, or imds: none, the\n"
            "      guest reads the metadata service (metadata_listen).  The display its\n"
            "      machines get unless a launch chooses (default: [libvirt] default_display).\n"
            "      The disk is then inspected (libguestfs) and the OS found shown\n"
            "  image-import URL [--as template|volume] [--seal] [--name NAME]\n"
            "                 [--description TEXT] [--format qcow2|raw] [--zone ZONE]\n"
            "      import glance://PROVIDER/IMAGE_ID, http(s)://... or a file under\n"
            "      import_dirs (file:///PATH or a path) as a template (default) or a\n"
            "      volume, as a job run here and followed to its end; prints the image\n"
            "      or volume id.  Ctrl-C cancels the job and undoes what it made\n"
            "  jobs [--watch ID | --log ID]\n"
            "      list the jobs (id, action, state, progress, target, message; newest\n"
            "      first), follow one to its end (exit 0 if it succeeded), or print its log\n"
            "  image-list\n"
            "      one line per image: id, name, state, volume, size, created, boot, display\n"
            "  image-deregister AMI          (with the snapshot recorded for it)\n"
            "      forget an image (its uploaded volume goes unless instances use it)\n"
            "  image-set-display AMI headless|vnc|spice\n"
            "      change the display machines made from AMI get from now on\n"
            "  console INSTANCE-ID\n"
            "      attach this terminal to the instance's serial console (Ctrl-] leaves)\n"
            "  container-userdata --image IMAGE [--name N] [--port HOST:CONTAINER]...\n"
            "                 [--env K=V]... [--restart POLICY] [-- COMMAND [ARG]...]\n"
            "      print cloud-init user-data that runs IMAGE as a Docker container\n"
            "      (for templates with Docker; see container-userdata --help)\n"
            "  glance-add NAME --url URL [--keystone-url URL --user USER\n"
            "                 --password-file FILE --project PROJECT [--domain DOMAIN]]\n"
            "                 [--ca-file FILE] [--no-check]\n"
            "      add a Glance image source (no restart needed); it is checked first\n"
            "      (Keystone v3 token, one page of images) unless --no-check.  Only the\n"
            "      password file's path is stored\n"
            "  glance-list\n"
            "      one line per Glance provider: name, config|added, url, keystone url,\n"
            "      user, project, domain, CA file\n"
            "  glance-remove NAME\n"
            "      forget a provider added with glance-add\n"
            "  glance-images NAME\n"
            "      one line per image: id, name, status, disk_format, container_format, size\n"
            "  glance-download NAME IMAGE_ID FILE\n"
            "      stream an image's data to FILE, checking its size and hash\n"
            "  v2v-add NAME --uri URI [--user USER] [--password-file FILE] [--no-check]\n"
            "      add an external VM provider (a libvirt URI: qemu+ssh://, vpx://,\n"
            "      esx://, xen+ssh://, test://...); it is connected to and listed first\n"
            "      unless --no-check.  Only the password file's path is stored\n"
            "  v2v-list [--json]\n"
            "      one line per provider: name, config|added, uri, user, password file\n"
            "  v2v-remove NAME\n"
            "      forget a provider added with v2v-add\n"
            "  v2v-vms NAME [--json]\n"
            "      the provider's VMs, running and defined: name, state, vCPUs, memory\n"
            "      (MiB), disk count, then per disk: target, device, format, size, source\n"
            "  v2v-import NAME VM... [--as instance|template] [--type T | --vcpus N --memory MIB]\n"
            "           [--display headless|vnc|spice] [--zone Z] [--name N]\n"
            "      import shut-off VMs of provider NAME as instances (virt-v2v, one job\n"
            "      each): locked (pending) until converted, then started; or as templates\n"
            "  v2v-check NAME VM\n"
            "      the checks an import makes: the VM exists, is shut off (virt-v2v\n"
            "      refuses running VMs) and has a disk; exit 3 if it cannot be imported\n"
            "\n"
            "Without -c the built-in defaults are used (zone on qemu:///system).\n");
}

static int fail(const char *what, const cg_error *err)
{
    fprintf(stderr, "cloudgate-admin: %s: %s\n", what, err->message);
    return EXIT_FAILURE;
}

static int cmd_register(const cg_config *cfg, const cg_driver *d, cg_drv *drv, int argc,
                        char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},   {"disk", required_argument, NULL, 'd'},
        {"volume", required_argument, NULL, 'v'}, {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'}, {"cmdline", required_argument, NULL, 'l'},
        {"description", required_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'},
        {"seed-format", required_argument, NULL, 's'},
        {"display", required_argument, NULL, 'S'},
        {"no-inspect", no_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    cg_image_spec spec = {0};
    cg_image img;
    cg_error err = {0};
    int c, inspect = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': spec.name = optarg; break;
        case 'd': spec.disk_path = optarg; break;
        case 'v': spec.volume = optarg; break;
        case 'k': spec.kernel = optarg; break;
        case 'i': spec.initrd = optarg; break;
        case 'l': spec.cmdline = optarg; break;
        case 'D': spec.description = optarg; break;
        case 's': spec.seed_format = optarg; break;
        case 'S':
            if (cg_display_parse(optarg, &spec.display) < 0) {
                fprintf(stderr, "cloudgate-admin: --display must be headless, vnc or spice\n");
                return EXIT_USAGE;
            }
            break;
        case 'N': inspect = 0; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || !spec.name || !spec.disk_path == !spec.volume) {
        fprintf(stderr, "cloudgate-admin: image-register needs --name and exactly one of "
                        "--disk or --volume\n");
        return EXIT_USAGE;
    }
    if (CG_DRV_CALL(d, drv, image_register, &err, &spec, &img) < 0)
        return fail("image-register", &err);
    printf("%s\n", img.id);
    fflush(stdout);
    /* After the id: a script has the image even if inspection is slow. */
    if (inspect)
        cg_admin_inspect_registered(cfg, d, drv, img.id);
    cg_image_release(&img);
    return EXIT_SUCCESS;
}

static int cmd_list(const cg_driver *d, cg_drv *drv)
{
    cg_image_list l = {0};
    cg_error err = {0};
    char when[32];
    size_t i;

    if (CG_DRV_CALL(d, drv, image_list, &err, &l) < 0)
        return fail("image-list", &err);
    for (i = 0; i < l.n; i++) {
        const cg_image *im = &l.v[i];

        if (cg_time_iso8601(im->created, when, sizeof(when)) < 0)
            snprintf(when, sizeof(when), "-");
        printf("%s\t%s\t%s\t%s\t%llu\t%s\t%s\t%s\n", im->id, im->name, im->state, im->volume,
               im->size_bytes, when, im->kernel ? "kernel" : "disk",
               cg_display_name(im->display ? im->display : CG_DISPLAY_HEADLESS));
    }
    cg_image_list_release(&l);
    return EXIT_SUCCESS;
}

/* The snapshot recorded for image id when it was published (its disk is
 * the image's own volume), into snap; "" when none. */
static void own_snapshot(const cg_driver *d, cg_drv *drv, const char *id, char *snap,
                         size_t len)
{
    cg_image_list l = {0};
    cg_error err = {0};
    size_t i, n = strlen(id);

    snap[0] = '\0';
    if (CG_DRV_CALL(d, drv, image_list, &err, &l) < 0)
        return;
    for (i = 0; i < l.n; i++)
        if (strcmp(l.v[i].id, id) == 0 && l.v[i].root_snapshot[0] && l.v[i].volume &&
            strncmp(l.v[i].volume, id, n) == 0 && l.v[i].volume[n] == '.')
            snprintf(snap, len, "%s", l.v[i].root_snapshot);
    cg_image_list_release(&l);
}

/* Unlike EC2's DeregisterImage, which leaves the image's snapshot (and so
 * its disk), the admin removes a template entirely: the snapshot recorded
 * for it goes too.  One a user registered the image from stays. */
static int cmd_deregister(const cg_driver *d, cg_drv *drv, int argc, char **argv)
{
    cg_error err = {0};
    char snap[24];

    if (argc != 2) {
        fprintf(stderr, "cloudgate-admin: image-deregister takes one image id\n");
        return EXIT_USAGE;
    }
    own_snapshot(d, drv, argv[1], snap, sizeof(snap));
    if (CG_DRV_CALL(d, drv, image_deregister, &err, argv[1]) < 0)
        return fail("image-deregister", &err);
    if (snap[0] && CG_DRV_CALL(d, drv, snapshot_delete, &err, snap, 0) < 0)
        return fail("image-deregister: its snapshot", &err);
    return EXIT_SUCCESS;
}

static int cmd_set_display(const cg_driver *d, cg_drv *drv, int argc, char **argv)
{
    cg_display display;
    cg_error err = {0};

    if (argc != 3 || cg_display_parse(argv[2], &display) < 0) {
        fprintf(stderr, "cloudgate-admin: image-set-display takes an image id and one of "
                        "headless, vnc, spice\n");
        return EXIT_USAGE;
    }
    if (CG_DRV_CALL(d, drv, image_set_display, &err, argv[1], display) < 0)
        return fail("image-set-display", &err);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    const cg_driver *d = &lv_driver;
    const char *config = NULL, *cmd;
    char why[512] = "";
    cg_config cfg;
    cg_drv *drv = NULL;
    cg_error err = {0};
    int c, rc = EXIT_FAILURE;

    /* '+': stop at the command, whose own options follow it. */
    while ((c = getopt(argc, argv, "+c:h")) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[optind];
    /* Needs no configuration or libvirt: only prints text. */
    if (!strcmp(cmd, "container-userdata"))
        return cg_container_userdata_main(argc - optind, argv + optind);
    if (strcmp(cmd, "image-register") && strcmp(cmd, "image-list") &&
        strcmp(cmd, "image-deregister") && strcmp(cmd, "image-set-display") &&
        strcmp(cmd, "console") && strcmp(cmd, "image-import") && strcmp(cmd, "jobs") &&
        strcmp(cmd, "v2v-import") &&
        !cg_admin_is_glance(cmd) && !cg_admin_is_v2v(cmd)) {
        fprintf(stderr, "cloudgate-admin: unknown command '%s'\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    /* Progress notes stay out of the way; warnings and errors still show. */
    cg_log_init(NULL, CG_LOG_WARN);
    if (cg_config_defaults(&cfg) < 0) {
        fprintf(stderr, "cloudgate-admin: out of memory\n");
        return EXIT_FAILURE;
    }
    if (config && cg_config_load(&cfg, config, why, sizeof(why)) < 0) {
        fprintf(stderr, "cloudgate-admin: %s\n", why);
        goto cleanup;
    }
    /* Glance needs the configuration and the database, not libvirt. */
    if (cg_admin_is_glance(cmd)) {
        rc = cg_admin_glance(&cfg, argc - optind, argv + optind);
        goto cleanup;
    }
    /* v2v-* opens its own connections to the providers, not the zones'. */
    if (cg_admin_is_v2v(cmd)) {
        rc = cg_admin_v2v(&cfg, argc - optind, argv + optind);
        goto cleanup;
    }
    /* jobs reads the job store only. */
    if (!strcmp(cmd, "jobs")) {
        rc = cg_admin_jobs(&cfg, argc - optind, argv + optind);
        goto cleanup;
    }
    /* Inspection, sealing and v2v-import run tools here too: the same
     * libguestfs backend as the daemon's, the same swept scratch space. */
    cg_tool_env_init(cfg.domain_type);
    if (cg_scratch_init(cfg.state_dir, &err) < 0) {
        fail("cannot make a scratch directory", &err);
        goto cleanup;
    }
    if (!(drv = d->open(&cfg, &err))) {
        fail("cannot open the libvirt driver", &err);
        goto cleanup;
    }
    if (!strcmp(cmd, "image-register"))
        rc = cmd_register(&cfg, d, drv, argc - optind, argv + optind);
    else if (!strcmp(cmd, "image-import"))
        rc = cg_admin_image_import(&cfg, d, drv, argc - optind, argv + optind);
    else if (!strcmp(cmd, "v2v-import"))
        rc = cg_admin_v2v_import(&cfg, d, drv, argc - optind, argv + optind);
    else if (!strcmp(cmd, "image-list"))
        rc = cmd_list(d, drv);
    else if (!strcmp(cmd, "image-set-display"))
        rc = cmd_set_display(d, drv, argc - optind, argv + optind);
    else if (!strcmp(cmd, "console"))
        rc = cg_admin_console(drv, argc - optind, argv + optind);
    else
        rc = cmd_deregister(d, drv, argc - optind, argv + optind);

cleanup:
    d->close(drv);
    cg_scratch_fini();
    cg_config_release(&cfg);
    return rc;
}
