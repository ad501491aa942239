/* cloudgate-admin glance-*: add, list and remove Glance providers, list a
 * provider's images and download one (the seed of image-import).
 *
 * CG_GLANCE_PAGE_SIZE (1..1000) sets the images per GET /v2/images page,
 * so tests can make the client follow next links. */
#include "tools/admin_glance.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "gateway/glance.h"
#include "gateway/glance_store.h"
#include "gateway/store.h"
#include "gateway/util.h"

#define EXIT_USAGE 2
#define MAX_PAGES 10000   /* 10000 pages: a runaway next chain, not a catalogue */

static int fail(const char *what, const cg_error *err)
{
    fprintf(stderr, "cloudgate-admin: %s: %s\n", what, err->message);
    return EXIT_FAILURE;
}

int cg_admin_is_glance(const char *cmd)
{
    return !strcmp(cmd, "glance-add") || !strcmp(cmd, "glance-list") ||
           !strcmp(cmd, "glance-remove") || !strcmp(cmd, "glance-images") ||
           !strcmp(cmd, "glance-download");
}

/* A client for the provider called name, with the page size from the
 * environment.  Returns NULL (reported on stderr). */
static cg_glance *open_client(const cg_config *cfg, const char *name, const char *what)
{
    cg_glance_provider p = {0};
    cg_glance *g = NULL;
    cg_error err = {0};
    sqlite3 *db = NULL;
    const char *ps = getenv("CG_GLANCE_PAGE_SIZE");

    if (!(db = cg_db_open(cfg, &err)) || cg_glance_provider_find(db, cfg, name, &p, &err) < 0 ||
        !(g = cg_glance_new(&p, &err)))
        fail(what, &err);
    else if (ps && *ps)
        cg_glance_set_page_size(g, (unsigned)strtoul(ps, NULL, 10));
    cg_glance_provider_release(&p);
    cg_db_close(db);
    return g;
}

static int stop_at_first(const cg_glance_image *im, void *arg)
{
    ++*(unsigned *)arg;
    return 1;
}

/* An absolute path, so the daemon finds the file whatever its directory. */
static char *absolute(const char *path)
{
    char *abs = realpath(path, NULL);

    if (!abs)
        fprintf(stderr, "cloudgate-admin: %s: %s\n", path, strerror(errno));
    return abs;
}

static int cmd_add(const cg_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"keystone-url", required_argument, NULL, 'k'},
        {"user", required_argument, NULL, 'U'},
        {"password-file", required_argument, NULL, 'p'},
        {"project", required_argument, NULL, 'P'},
        {"domain", required_argument, NULL, 'd'},
        {"ca-file", required_argument, NULL, 'C'},
        {"no-check", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    cg_glance_provider p = {.origin = CG_GLANCE_FROM_RUNTIME};
    cg_glance *g = NULL;
    cg_error err = {0};
    sqlite3 *db = NULL;
    char why[256];
    unsigned seen = 0;
    struct stat st;
    int c, check = 1, rc = EXIT_USAGE;

    /* 0, not 1: glibc then re-reads the ordering, so NAME may come first. */
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *key = NULL;
        char **dst = NULL;

        switch (c) {
        case 'u': key = "url"; break;
        case 'k': key = "keystone_url"; break;
        case 'U': key = "user"; break;
        case 'P': key = "project"; break;
        case 'd': key = "domain"; break;
        case 'p': dst = &p.password_file; break;
        case 'C': dst = &p.ca_file; break;
        case 'n': check = 0; break;
        default: goto cleanup;
        }
        if (key && cg_glance_provider_set(&p, key, optarg, why, sizeof(why)) < 0) {
            fprintf(stderr, "cloudgate-admin: glance-add: --%s: %s\n", key, why);
            goto cleanup;
        }
        if (dst) {
            free(*dst);
            if (!(*dst = absolute(optarg)))
                goto cleanup;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "cloudgate-admin: glance-add takes one NAME and --url\n");
        goto cleanup;
    }
    if (!(p.name = strdup(argv[optind])))
        goto cleanup;
    if (cg_glance_provider_check(&p, why, sizeof(why)) < 0) {
        fprintf(stderr, "cloudgate-admin: glance-add: %s\n", why);
        goto cleanup;
    }
    if (p.password_file && stat(p.password_file, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "cloudgate-admin: warning: %s can be read by others (chmod 600)\n",
                p.password_file);
    rc = EXIT_FAILURE;
    if (!(db = cg_db_open(cfg, &err))) {
        fail("glance-add", &err);
        goto cleanup;
    }
    /* Authenticate and list one page, so a typo shows now, not at import. */
    if (check) {
        if (!(g = cg_glance_new(&p, &err)) || cg_glance_authenticate(g, &err) < 0) {
            fail("glance-add", &err);
            goto cleanup;
        }
        cg_glance_set_page_size(g, 1);
        if (cg_glance_list_images(g, 1, stop_at_first, &seen, &err) < 0) {
            fail("glance-add", &err);
            goto cleanup;
        }
    }
    if (cg_glance_store_add(db, cfg, &p, &err) < 0) {
        fail("glance-add", &err);
        goto cleanup;
    }
    printf("%s\n", p.name);
    rc = EXIT_SUCCESS;

cleanup:
    cg_glance_free(g);
    cg_db_close(db);
    cg_glance_provider_release(&p);
    return rc;
}

static int cmd_list(const cg_config *cfg)
{
    cg_glance_provider_list l = {0};
    cg_error err = {0};
    sqlite3 *db = cg_db_open(cfg, &err);
    int rc = EXIT_FAILURE;

    if (!db || cg_glance_providers(db, cfg, &l, &err) < 0) {
        fail("glance-list", &err);
        goto cleanup;
    }
    /* name, origin, url, keystone, user, project, domain, CA: no password. */
    for (size_t i = 0; i < l.n; i++) {
        const cg_glance_provider *p = &l.v[i];

        printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p->name,
               p->origin == CG_GLANCE_FROM_CONFIG ? "config" : "added", p->url,
               p->keystone_url ? p->keystone_url : "-", p->user ? p->user : "-",
               p->project ? p->project : "-",
               p->domain ? p->domain : (p->user ? "Default" : "-"),
               p->ca_file ? p->ca_file : "-");
    }
    rc = EXIT_SUCCESS;

cleanup:
    cg_glance_provider_list_release(&l);
    cg_db_close(db);
    return rc;
}

static int cmd_remove(const cg_config *cfg, int argc, char **argv)
{
    cg_error err = {0};
    sqlite3 *db = NULL;
    int rc = EXIT_FAILURE;

    if (argc != 2) {
        fprintf(stderr, "cloudgate-admin: glance-remove takes one provider name\n");
        return EXIT_USAGE;
    }
    if (!(db = cg_db_open(cfg, &err)) || cg_glance_store_remove(db, cfg, argv[1], &err) < 0)
        fail("glance-remove", &err);
    else
        rc = EXIT_SUCCESS;
    cg_db_close(db);
    return rc;
}

static const char *dash(const char *s)
{
    return s ? s : "-";
}

static int print_image(const cg_glance_image *im, void *arg)
{
    printf("%s\t%s\t%s\t%s\t%s\t", im->id, dash(im->name), dash(im->status),
           dash(im->disk_format), dash(im->container_format));
    if (im->size >= 0)
        printf("%lld\n", im->size);
    else
        printf("-\n");
    return 0;
}

static int cmd_images(const cg_config *cfg, int argc, char **argv)
{
    cg_error err = {0};
    cg_glance *g;
    int rc = EXIT_FAILURE;

    if (argc != 2) {
        fprintf(stderr, "cloudgate-admin: glance-images takes one provider name\n");
        return EXIT_USAGE;
    }
    if (!(g = open_client(cfg, argv[1], "glance-images")))
        return EXIT_FAILURE;
    if (cg_glance_list_images(g, MAX_PAGES, print_image, NULL, &err) < 0)
        fail("glance-images", &err);
    else
        rc = EXIT_SUCCESS;
    cg_glance_free(g);
    return rc;
}

typedef struct dl_state {
    FILE *fp;
    double last;        /* monotonic time of the last progress line */
    long long shown;    /* bytes in the last progress line */
    int werrno;         /* why writing failed, or 0 */
    int tty;
} dl_state;

static int dl_write(const void *buf, size_t len, void *arg)
{
    dl_state *s = arg;

    if (fwrite(buf, 1, len, s->fp) == len)
        return 0;
    s->werrno = errno ? errno : EIO;
    return -1;
}

static int dl_progress(long long done, long long total, void *arg)
{
    dl_state *s = arg;
    double now = cg_monotonic();

    /* At most twice a second, and the final line once. */
    if (done == s->shown || (now - s->last < 0.5 && done != total))
        return 0;
    s->last = now;
    s->shown = done;
    if (total > 0)
        fprintf(stderr, "%s%lld / %lld bytes (%d%%)%s", s->tty ? "\r" : "", done, total,
                (int)(done * 100 / total), s->tty ? "" : "\n");
    else
        fprintf(stderr, "%s%lld bytes%s", s->tty ? "\r" : "", done, s->tty ? "" : "\n");
    return 0;
}

static int cmd_download(const cg_config *cfg, int argc, char **argv)
{
    dl_state s = {.last = -1, .shown = -1, .tty = isatty(2)};
    cg_glance_image im = {.size = -1};
    cg_error err = {0};
    cg_glance *g = NULL;
    char *part = NULL;
    int rc = EXIT_FAILURE, created = 0;

    if (argc != 4) {
        fprintf(stderr, "cloudgate-admin: glance-download takes NAME IMAGE_ID FILE\n");
        return EXIT_USAGE;
    }
    if (!(g = open_client(cfg, argv[1], "glance-download")))
        return EXIT_FAILURE;
    /* Into FILE.part, renamed once verified: FILE is never half an image. */
    if (!(part = cg_asprintf("%s.part", argv[3])) || !(s.fp = fopen(part, "wbx"))) {
        fprintf(stderr, "cloudgate-admin: glance-download: %s: %s\n", part ? part : argv[3],
                strerror(errno));
        goto cleanup;
    }
    created = 1;
    if (cg_glance_download(g, argv[2], dl_write, dl_progress, &s, &im, &err) < 0) {
        if (s.tty)
            fputc('\n', stderr);
        if (s.werrno)
            fprintf(stderr, "cloudgate-admin: glance-download: writing %s: %s\n", part,
                    strerror(s.werrno));
        else
            fail("glance-download", &err);
        goto cleanup;
    }
    if (fclose(s.fp) != 0) {
        s.fp = NULL;
        fprintf(stderr, "cloudgate-admin: glance-download: %s: %s\n", part, strerror(errno));
        goto cleanup;
    }
    s.fp = NULL;
    if (rename(part, argv[3]) < 0) {
        fprintf(stderr, "cloudgate-admin: glance-download: %s: %s\n", argv[3], strerror(errno));
        goto cleanup;
    }
    if (s.tty)
        fputc('\n', stderr);
    printf("%s\t%lld\t%s\n", argv[3], im.size,
           im.os_hash_algo && im.os_hash_value ? im.os_hash_algo : im.checksum ? "md5" : "-");
    rc = EXIT_SUCCESS;

cleanup:
    if (s.fp)
        fclose(s.fp);
    if (rc != EXIT_SUCCESS && created)
        unlink(part);
    free(part);
    cg_glance_image_release(&im);
    cg_glance_free(g);
    return rc;
}

int cg_admin_glance(const cg_config *cfg, int argc, char **argv)
{
    if (!strcmp(argv[0], "glance-add"))
        return cmd_add(cfg, argc, argv);
    if (!strcmp(argv[0], "glance-list")) {
        if (argc != 1) {
            fprintf(stderr, "cloudgate-admin: glance-list takes no arguments\n");
            return EXIT_USAGE;
        }
        return cmd_list(cfg);
    }
    if (!strcmp(argv[0], "glance-remove"))
        return cmd_remove(cfg, argc, argv);
    if (!strcmp(argv[0], "glance-images"))
        return cmd_images(cfg, argc, argv);
    return cmd_download(cfg, argc, argv);
}
