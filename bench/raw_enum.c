/* raw_enum: what a DescribeInstances costs a gateway without an instance
 * cache.  One "enumeration" is what cloudgate's host_sync does when it
 * (re)fills its cache, and what a cacheless gateway would do per request:
 *
 *   virConnectListAllDomains
 *   for each domain: virDomainGetXMLDesc + virDomainGetState + lv_domxml_parse
 *
 * with the product's own parser (drivers/libvirt/lv_domxml.c).
 *
 *   raw_enum URI latency REPEAT          one thread, REPEAT timed enumerations
 *   raw_enum URI throughput THREADS SECS THREADS threads sharing one
 *                                        connection (as the gateway's workers
 *                                        share one per zone), for SECS seconds
 *
 * Prints key=value lines: domains=, instances=, and p50_ms= p95_ms= ops_s=
 * (latency) or ops= ops_s= (throughput).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "drivers/libvirt/lv_domxml.h"

static virConnectPtr conn;
static double deadline;

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

/* One enumeration; returns the number of cloudgate instances, -1 on error.
 * *n_doms gets the number of domains. */
static int enumerate(int *n_doms)
{
    virDomainPtr *doms = NULL;
    int i, n, found = 0;

    if ((n = virConnectListAllDomains(conn, &doms, 0)) < 0) {
        fprintf(stderr, "raw_enum: list domains: %s\n", virGetLastErrorMessage());
        return -1;
    }
    for (i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        cg_instance inst;
        cg_error err = {0};
        int state, reason;

        memset(&inst, 0, sizeof(inst));
        /* A domain undefined between the list and here is skipped, as
         * host_sync skips it. */
        if (xml && lv_domxml_parse(xml, &inst, &err) == 1 &&
            virDomainGetState(doms[i], &state, &reason, 0) == 0)
            found++;
        cg_instance_release(&inst);
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    if (n_doms)
        *n_doms = n;
    return found;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
    int k = (int)(p / 100.0 * n + 0.999999);

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void *worker(void *arg)
{
    long *ops = arg;

    while (now() < deadline) {
        if (enumerate(NULL) < 0)
            return NULL;
        (*ops)++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int n_doms = 0, found, i;

    if (argc < 4 || (strcmp(argv[2], "latency") == 0 && argc != 4) ||
        (strcmp(argv[2], "throughput") == 0 && argc != 5) ||
        (strcmp(argv[2], "latency") != 0 && strcmp(argv[2], "throughput") != 0)) {
        fprintf(stderr, "usage: raw_enum URI latency REPEAT | raw_enum URI throughput THREADS SECS\n");
        return 2;
    }
    virSetErrorFunc(NULL, quiet);
    if (!(conn = virConnectOpen(argv[1]))) {
        fprintf(stderr, "raw_enum: %s: %s\n", argv[1], virGetLastErrorMessage());
        return 1;
    }
    /* Warm-up (connection, libvirtd caches), and the counts. */
    if ((found = enumerate(&n_doms)) < 0)
        return 1;
    printf("domains=%d\ninstances=%d\n", n_doms, found);

    if (strcmp(argv[2], "latency") == 0) {
        int repeat = atoi(argv[3]);
        double *t, total = 0;

        if (repeat < 1 || !(t = calloc((size_t)repeat, sizeof(*t))))
            return 2;
        for (i = 0; i < repeat; i++) {
            double t0 = now();

            if (enumerate(NULL) < 0)
                return 1;
            t[i] = now() - t0;
            total += t[i];
        }
        qsort(t, (size_t)repeat, sizeof(*t), cmp_double);
        printf("repeat=%d\np50_ms=%.2f\np95_ms=%.2f\nops_s=%.2f\n", repeat,
               pct(t, repeat, 50) * 1000, pct(t, repeat, 95) * 1000, repeat / total);
        free(t);
    } else {
        int threads = atoi(argv[3]);
        double secs = atof(argv[4]), t0;
        pthread_t *tid;
        long *ops, sum = 0;

        if (threads < 1 || secs <= 0 || !(tid = calloc((size_t)threads, sizeof(*tid))) ||
            !(ops = calloc((size_t)threads, sizeof(*ops))))
            return 2;
        t0 = now();
        deadline = t0 + secs;
        for (i = 0; i < threads; i++)
            pthread_create(&tid[i], NULL, worker, &ops[i]);
        for (i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            sum += ops[i];
        }
        /* Count whole enumerations over the time they really took (the
         * last ones end after the deadline). */
        printf("threads=%d\nops=%ld\nops_s=%.2f\n", threads, sum, sum / (now() - t0));
        free(tid);
        free(ops);
    }
    virConnectClose(conn);
    return 0;
}
