/* bench_domains: define (never start) or undefine the benchmark's fake
 * cloudgate instances.
 *
 *   bench_domains define URI COUNT IMAGE_ID ZONE RUN_TAG IDFILE
 *   bench_domains undefine URI RUN_TAG IDFILE
 *
 * define: COUNT persistent domains named "i-" + 17 hex digits, built with
 * the product's own builder (lv_domxml_build) so they carry the same
 * <cloudgate:instance> metadata a RunInstances launch writes: the given
 * image id and zone, instance type t2.nano, one reservation each, and a tag
 * cloudgate-bench=RUN_TAG.  The disk path does not exist (libvirt only
 * checks it when a domain starts; these never do).  The NIC joins $CG_NETWORK
 * (default cloudgate-isolated).  Every id is appended to IDFILE just before
 * its define, so a cleanup after a crash knows everything that was made.
 *
 * undefine: undefines every domain listed in IDFILE whose XML still carries
 * the tag cloudgate-bench=RUN_TAG (a name that happens to match something
 * else is left alone).  Missing domains are fine.
 *
 * Prints key=value lines: defined= seconds= / undefined= skipped= seconds=.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "drivers/libvirt/lv_domxml.h"

static void quiet(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void new_id(char *out, size_t len, const char *prefix)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[9];
    size_t plen = strlen(prefix), i;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        perror("getrandom");
        exit(1);
    }
    snprintf(out, len, "%s", prefix);
    for (i = 0; i < 17 && plen + i + 1 < len; i++)
        out[plen + i] = hex[(i % 2) ? (rnd[i / 2] & 0xf) : (rnd[i / 2] >> 4)];
    out[plen + i] = '\0';
}

static int do_define(virConnectPtr conn, unsigned count, const char *image_id, const char *zone,
                     const char *tag, const char *idfile)
{
    FILE *ids = fopen(idfile, "a");
    double t0 = now();
    unsigned i, made = 0;

    if (!ids) {
        fprintf(stderr, "bench_domains: %s: %s\n", idfile, strerror(errno));
        return 1;
    }
    for (i = 0; i < count; i++) {
        cg_instance meta;
        lv_domain_spec ds;
        cg_error err = {0};
        char disk[128], mac[24];
        char *xml;
        virDomainPtr dom;

        memset(&meta, 0, sizeof(meta));
        new_id(meta.id, sizeof(meta.id), "i-");
        new_id(meta.reservation_id, sizeof(meta.reservation_id), "r-");
        snprintf(meta.image_id, sizeof(meta.image_id), "%s", image_id);
        snprintf(meta.instance_type, sizeof(meta.instance_type), "t2.nano");
        snprintf(meta.zone, sizeof(meta.zone), "%s", zone);
        /* 52:54:00:be:xx:xx: unique within a run (count <= 65536). */
        snprintf(mac, sizeof(mac), "52:54:00:be:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
        snprintf(meta.mac, sizeof(meta.mac), "%s", mac);
        meta.launch_time = time(NULL);
        meta.vcpus = 1;
        meta.memory_mib = 512;
        if (cg_tags_set(&meta.tags, "cloudgate-bench", tag) < 0 ||
            cg_tags_set(&meta.tags, "Name", "bench") < 0) {
            fprintf(stderr, "bench_domains: out of memory\n");
            fclose(ids);
            return 1;
        }
        snprintf(disk, sizeof(disk), "/nonexistent/cloudgate-bench/%s.qcow2", meta.id);

        memset(&ds, 0, sizeof(ds));
        ds.domain_type = "qemu";
        ds.name = meta.id;
        ds.vcpus = meta.vcpus;
        ds.memory_mib = meta.memory_mib;
        ds.disk_path = disk;
        ds.disk_format = "qcow2";
        ds.network = getenv("CG_NETWORK") && *getenv("CG_NETWORK") ? getenv("CG_NETWORK")
                                                                 : "cloudgate-isolated";
        ds.mac = mac;
        ds.meta = &meta;
        xml = lv_domxml_build(&ds, &err);
        cg_tags_release(&meta.tags);
        if (!xml) {
            fprintf(stderr, "bench_domains: build %s: %s\n", meta.id, err.message);
            fclose(ids);
            return 1;
        }
        /* Recorded before the define: a cleanup may find an id that was
         * never defined (fine), never a domain it does not know of. */
        fprintf(ids, "%s\n", meta.id);
        if (fflush(ids) != 0) {
            fprintf(stderr, "bench_domains: %s: %s\n", idfile, strerror(errno));
            free(xml);
            fclose(ids);
            return 1;
        }
        dom = virDomainDefineXML(conn, xml);
        free(xml);
        if (!dom) {
            fprintf(stderr, "bench_domains: define %s: %s\n", meta.id, virGetLastErrorMessage());
            fclose(ids);
            return 1;
        }
        virDomainFree(dom);
        made++;
    }
    fclose(ids);
    printf("defined=%u\nseconds=%.2f\n", made, now() - t0);
    return 0;
}

static int do_undefine(virConnectPtr conn, const char *tag, const char *idfile)
{
    FILE *ids = fopen(idfile, "r");
    char line[128], marker[256];
    unsigned done = 0, skipped = 0;
    double t0 = now();
    int rc = 0;

    if (!ids) {
        if (errno == ENOENT) {
            printf("undefined=0\nskipped=0\nseconds=0\n");
            return 0;
        }
        fprintf(stderr, "bench_domains: %s: %s\n", idfile, strerror(errno));
        return 1;
    }
    /* lv_domxml_build writes tags as <cloudgate:tag key="K">V</cloudgate:tag>;
     * libvirt may rename the prefix, so match the part after it. */
    snprintf(marker, sizeof(marker), "tag key=\"cloudgate-bench\">%s<", tag);
    while (fgets(line, sizeof(line), ids)) {
        virDomainPtr dom;
        char *xml;

        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (!(dom = virDomainLookupByName(conn, line))) {
            if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
                fprintf(stderr, "bench_domains: lookup %s: %s\n", line, virGetLastErrorMessage());
                rc = 1;
            }
            continue;
        }
        xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        if (!xml || !strstr(xml, marker)) {
            fprintf(stderr, "bench_domains: %s is not a domain of run %s; left alone\n", line,
                    tag);
            skipped++;
        } else if (virDomainIsActive(dom) == 1) {
            fprintf(stderr, "bench_domains: %s is running; left alone\n", line);
            skipped++;
        } else if (virDomainUndefine(dom) < 0) {
            fprintf(stderr, "bench_domains: undefine %s: %s\n", line, virGetLastErrorMessage());
            rc = 1;
        } else {
            done++;
        }
        free(xml);
        virDomainFree(dom);
    }
    fclose(ids);
    printf("undefined=%u\nskipped=%u\nseconds=%.2f\n", done, skipped, now() - t0);
    return rc;
}

int main(int argc, char **argv)
{
    virConnectPtr conn;
    int rc;

    virSetErrorFunc(NULL, quiet);
    if (argc == 8 && strcmp(argv[1], "define") == 0) {
        char *end;
        unsigned long n = strtoul(argv[3], &end, 10);

        if (*end || n == 0 || n > 65536) {
            fprintf(stderr, "bench_domains: bad count %s\n", argv[3]);
            return 2;
        }
        if (!(conn = virConnectOpen(argv[2]))) {
            fprintf(stderr, "bench_domains: %s: %s\n", argv[2], virGetLastErrorMessage());
            return 1;
        }
        rc = do_define(conn, (unsigned)n, argv[4], argv[5], argv[6], argv[7]);
    } else if (argc == 5 && strcmp(argv[1], "undefine") == 0) {
        if (!(conn = virConnectOpen(argv[2]))) {
            fprintf(stderr, "bench_domains: %s: %s\n", argv[2], virGetLastErrorMessage());
            return 1;
        }
        rc = do_undefine(conn, argv[3], argv[4]);
    } else {
        fprintf(stderr, "usage: bench_domains define URI COUNT IMAGE_ID ZONE RUN_TAG IDFILE\n"
                        "       bench_domains undefine URI RUN_TAG IDFILE\n");
        return 2;
    }
    virConnectClose(conn);
    return rc;
}
