/* cloudgate libvirt driver: a zone's capacity for new instances (see
 * lv_capacity.h for the model). */
#include "lv_capacity.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "lv_host.h"

struct lv_capacity {
    pthread_mutex_t lock;     /* one reservation at a time: no two take the last slot */
    double memory_overcommit;
    double cpu_overcommit;
    unsigned long long reserved_mib;
    unsigned long long reserved_vcpus;
};

lv_capacity *lv_capacity_new(double memory_overcommit, double cpu_overcommit)
{
    lv_capacity *cap = calloc(1, sizeof(*cap));

    if (!cap)
        return NULL;
    pthread_mutex_init(&cap->lock, NULL);
    cap->memory_overcommit = memory_overcommit > 0 ? memory_overcommit : 1.0;
    cap->cpu_overcommit = cpu_overcommit > 0 ? cpu_overcommit : 1.0;
    return cap;
}

void lv_capacity_free(lv_capacity *cap)
{
    if (!cap)
        return;
    pthread_mutex_destroy(&cap->lock);
    free(cap);
}

/* What is left of total * ratio after used: never negative. */
static unsigned long long left(unsigned long long total, double ratio, unsigned long long used)
{
    unsigned long long cap = (unsigned long long)((double)total * ratio);

    return cap > used ? cap - used : 0;
}

unsigned lv_capacity_fit(const lv_capacity_view *v, unsigned mib, unsigned vcpus, unsigned want,
                         char *why, size_t whylen)
{
    unsigned long long mem_left =
        left(v->host_mib, v->memory_overcommit, v->committed_mib + v->reserved_mib);
    unsigned long long cpu_left = left(v->host_cpus, v->cpu_overcommit,
                                       (unsigned long long)v->committed_vcpus + v->reserved_vcpus);
    unsigned long long by_mem = mib ? mem_left / mib : want;
    unsigned long long by_cpu = vcpus ? cpu_left / vcpus : want;
    unsigned long long fit = by_mem < by_cpu ? by_mem : by_cpu;

    if (fit > want)
        fit = want;
    if (why && whylen) {
        if (fit < want && by_mem <= by_cpu)
            snprintf(why, whylen, "memory: %llu MiB left of %llu MiB x %.2g overcommit, "
                     "%u MiB per instance", mem_left, v->host_mib, v->memory_overcommit, mib);
        else if (fit < want)
            snprintf(why, whylen, "vCPUs: %llu left of %u x %.2g overcommit, %u per instance",
                     cpu_left, v->host_cpus, v->cpu_overcommit, vcpus);
        else
            why[0] = '\0';
    }
    return (unsigned)fit;
}

int lv_capacity_reserve(lv_capacity *cap, virConnectPtr conn, lv_cache *cache,
                        const cg_instance_type *type, unsigned want, unsigned *got, char *why,
                        size_t whylen, cg_error *err)
{
    lv_capacity_view v = {0};
    virNodeInfo info;
    int ret = -1;

    pthread_mutex_lock(&cap->lock);
    /* virNodeGetInfo's memory is the whole host's (every NUMA cell), KiB. */
    if (virNodeGetInfo(conn, &info) < 0) {
        lv_report(err, conn, CG_ERR_INTERNAL, "node information");
        goto cleanup;
    }
    v.host_mib = info.memory / 1024;
    v.host_cpus = info.cpus;
    v.memory_overcommit = cap->memory_overcommit;
    v.cpu_overcommit = cap->cpu_overcommit;
    lv_cache_committed(cache, &v.committed_mib, &v.committed_vcpus);
    v.reserved_mib = cap->reserved_mib;
    v.reserved_vcpus = (unsigned)cap->reserved_vcpus;
    *got = lv_capacity_fit(&v, type->memory_mib, type->vcpus, want, why, whylen);
    cap->reserved_mib += (unsigned long long)*got * type->memory_mib;
    cap->reserved_vcpus += (unsigned long long)*got * type->vcpus;
    ret = 0;

cleanup:
    pthread_mutex_unlock(&cap->lock);
    return ret;
}

unsigned long long lv_capacity_committed_mib(lv_capacity *cap, lv_cache *cache)
{
    unsigned long long mib;
    unsigned vcpus;

    /* Under the lock, as lv_capacity_admit moves reserved into the cache. */
    pthread_mutex_lock(&cap->lock);
    lv_cache_committed(cache, &mib, &vcpus);
    mib += cap->reserved_mib;
    pthread_mutex_unlock(&cap->lock);
    return mib;
}

void lv_capacity_release(lv_capacity *cap, const cg_instance_type *type, unsigned n)
{
    unsigned long long mib = (unsigned long long)n * type->memory_mib;
    unsigned long long vcpus = (unsigned long long)n * type->vcpus;

    pthread_mutex_lock(&cap->lock);
    cap->reserved_mib = cap->reserved_mib > mib ? cap->reserved_mib - mib : 0;
    cap->reserved_vcpus = cap->reserved_vcpus > vcpus ? cap->reserved_vcpus - vcpus : 0;
    pthread_mutex_unlock(&cap->lock);
}

int lv_capacity_admit(lv_capacity *cap, lv_cache *cache, const cg_instance *inst,
                      const cg_instance_type *type)
{
    int rc;

    /* Under the lock a reservation reads the cache too: the instance is
     * counted once, as reserved or as cached, never both, never neither. */
    pthread_mutex_lock(&cap->lock);
    rc = lv_cache_add_launching(cache, inst);
    if (rc == 0) {
        cap->reserved_mib = cap->reserved_mib > type->memory_mib
                                ? cap->reserved_mib - type->memory_mib : 0;
        cap->reserved_vcpus = cap->reserved_vcpus > type->vcpus
                                  ? cap->reserved_vcpus - type->vcpus : 0;
    }
    pthread_mutex_unlock(&cap->lock);
    return rc;
}
