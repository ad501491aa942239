/* cloudgate libvirt driver: the in-memory instance cache of one host. */
#include "lv_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libvirt/libvirt.h>

typedef struct lv_entry {
    cg_instance inst;          /* inst.state is the effective state */
    cg_instance_state base;    /* derived from libvirt */
    int overlay;               /* LV_NO_OVERLAY or a cg_instance_state */
    int busy;
    double stop_deadline;      /* cg_monotonic() time; 0: none */
} lv_entry;

struct lv_cache {
    pthread_mutex_t lock;
    lv_entry **v;
    size_t n;
    size_t cap;
    uint64_t changes; /* counts every change of the entries */
};

cg_instance_state lv_state_from_libvirt(int vir_state)
{
    switch (vir_state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
        return CG_STATE_RUNNING;
    case VIR_DOMAIN_SHUTDOWN:
        return CG_STATE_STOPPING;
    case VIR_DOMAIN_SHUTOFF:
    case VIR_DOMAIN_CRASHED:
        return CG_STATE_STOPPED;
    default:
        return CG_STATE_PENDING;
    }
}

lv_cache *lv_cache_new(void)
{
    lv_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_free(lv_entry *e)
{
    if (!e)
        return;
    cg_instance_release(&e->inst);
    free(e);
}

void lv_cache_free(lv_cache *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->n; i++)
        entry_free(c->v[i]);
    free(c->v);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Entries are kept sorted by id: lookups are a binary search (the
 * initial sync of 1,000 domains was N^2 string compares) and a listing
 * comes out already in DescribeInstances' order.  The index of id, or
 * where it would go.  Lock held. */
static size_t find_at(const lv_cache *c, const char *id, int *found)
{
    size_t lo = 0, hi = c->n, mid;
    int cmp;

    *found = 0;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        cmp = strcmp(c->v[mid]->inst.id, id);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Called with the lock held. */
static lv_entry *find(lv_cache *c, const char *id)
{
    int found;
    size_t at = find_at(c, id, &found);

    return found ? c->v[at] : NULL;
}

/* Revisions of every cache, so that no two records share one. */
static uint64_t last_rev;

/* The entry's record changed: a new revision (see cg_instance.rev).  c is
 * NULL for an entry not inserted yet (insert counts that change). */
static void touch(lv_cache *c, lv_entry *e)
{
    e->inst.rev = __atomic_add_fetch(&last_rev, 1, __ATOMIC_RELAXED);
    if (c)
        c->changes++;
}

/* Recompute the effective state (state_time moves only when it changes)
 * after a change of the entry. */
static void refresh(lv_cache *c, lv_entry *e)
{
    cg_instance_state st = e->overlay != LV_NO_OVERLAY ? (cg_instance_state)e->overlay : e->base;

    if (st != e->inst.state || e->inst.state_time == 0) {
        e->inst.state = st;
        e->inst.state_time = time(NULL);
    }
    /* What display runs is known only while running (from the live XML). */
    if (e->base != CG_STATE_RUNNING) {
        e->inst.display_live = CG_DISPLAY_DEFAULT;
        e->inst.display_addr[0] = '\0';
        e->inst.display_port = 0;
    }
    touch(c, e);
}

/* Called with the lock held; takes ownership of e on success.  The id
 * must not be there yet. */
static int insert(lv_cache *c, lv_entry *e)
{
    int found;
    size_t at;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        lv_entry **grown = realloc(c->v, cap * sizeof(*grown));

        if (!grown)
            return -1;
        c->v = grown;
        c->cap = cap;
    }
    at = find_at(c, e->inst.id, &found);
    memmove(&c->v[at + 1], &c->v[at], (c->n - at) * sizeof(c->v[0]));
    c->v[at] = e;
    c->n++;
    c->changes++;
    return 0;
}

static lv_entry *entry_new(const cg_instance *inst, cg_instance_state base, int overlay)
{
    lv_entry *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    if (cg_instance_copy(&e->inst, inst) < 0) {
        free(e);
        return NULL;
    }
    e->base = base;
    e->overlay = overlay;
    refresh(NULL, e);
    return e;
}

int lv_cache_add_launching(lv_cache *c, const cg_instance *inst)
{
    lv_entry *e = NULL;
    int ret = -1;

    pthread_mutex_lock(&c->lock);
    if (find(c, inst->id))
        goto cleanup;
    if (!(e = entry_new(inst, CG_STATE_PENDING, CG_STATE_PENDING)))
        goto cleanup;
    e->busy = 1;
    if (insert(c, e) < 0)
        goto cleanup;
    e = NULL;
    ret = 0;

cleanup:
    pthread_mutex_unlock(&c->lock);
    entry_free(e);
    return ret;
}

/* Refresh e from inst read from libvirt, keeping what libvirt does not know. */
static int entry_update(lv_cache *c, lv_entry *e, const cg_instance *inst, cg_instance_state base)
{
    cg_instance fresh;
    char ip[sizeof(e->inst.private_ip)];
    char reason[sizeof(e->inst.state_reason)];
    cg_instance_state shown = e->inst.state;
    time_t shown_since = e->inst.state_time;

    if (cg_instance_copy(&fresh, inst) < 0)
        return -1;
    memcpy(ip, e->inst.private_ip, sizeof(ip));
    memcpy(reason, e->inst.state_reason, sizeof(reason));
    cg_instance_release(&e->inst);
    e->inst = fresh;
    memcpy(e->inst.private_ip, ip, sizeof(ip));
    if (!e->inst.state_reason[0])
        memcpy(e->inst.state_reason, reason, sizeof(reason));
    e->inst.state = shown;
    e->inst.state_time = shown_since;
    e->base = base;
    if (e->overlay == CG_STATE_STOPPING && base == CG_STATE_STOPPED) {
        e->overlay = LV_NO_OVERLAY;
        e->stop_deadline = 0;
    }
    refresh(c, e);
    return 0;
}

uint64_t lv_cache_rev(lv_cache *c, const char *id)
{
    lv_entry *e;
    uint64_t rev;

    pthread_mutex_lock(&c->lock);
    rev = (e = find(c, id)) ? e->inst.rev : 0;
    pthread_mutex_unlock(&c->lock);
    return rev;
}

/* lv_cache_update under c->lock. */
static int update_locked(lv_cache *c, const cg_instance *inst, cg_instance_state base)
{
    lv_entry *e;

    if ((e = find(c, inst->id)))
        return entry_update(c, e, inst, base);
    if (!(e = entry_new(inst, base, LV_NO_OVERLAY)))
        return -1;
    if (insert(c, e) < 0) {
        entry_free(e);
        return -1;
    }
    return 0;
}

int lv_cache_update_if(lv_cache *c, const cg_instance *inst, cg_instance_state base, uint64_t rev)
{
    lv_entry *e;
    int ret = 0;

    pthread_mutex_lock(&c->lock);
    e = find(c, inst->id);
    if ((e ? e->inst.rev : 0) == rev)
        ret = update_locked(c, inst, base) < 0 ? -1 : 1;
    pthread_mutex_unlock(&c->lock);
    return ret;
}

int lv_cache_update(lv_cache *c, const cg_instance *inst, cg_instance_state base)
{
    int ret;

    pthread_mutex_lock(&c->lock);
    ret = update_locked(c, inst, base);
    pthread_mutex_unlock(&c->lock);
    return ret;
}

int lv_cache_sync(lv_cache *c, const cg_instance *v, const cg_instance_state *base, size_t n)
{
    size_t i, j, kept = 0;
    int ret = 0;

    pthread_mutex_lock(&c->lock);
    /* Drop what libvirt no longer has, except entries an operation holds:
     * that operation decides their fate. */
    for (i = 0; i < c->n; i++) {
        lv_entry *e = c->v[i];
        int present = e->busy;

        for (j = 0; j < n && !present; j++)
            present = strcmp(v[j].id, e->inst.id) == 0;
        if (present)
            c->v[kept++] = e;
        else
            entry_free(e);
    }
    if (kept != c->n)
        c->changes++;
    c->n = kept;
    for (j = 0; j < n; j++) {
        lv_entry *e = find(c, v[j].id);

        if (e) {
            if (entry_update(c, e, &v[j], base[j]) < 0)
                ret = -1;
        } else if (!(e = entry_new(&v[j], base[j], LV_NO_OVERLAY)) || insert(c, e) < 0) {
            entry_free(e);
            ret = -1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return ret;
}

int lv_cache_remove(lv_cache *c, const char *id)
{
    size_t i;
    int found = 0;

    pthread_mutex_lock(&c->lock);
    i = find_at(c, id, &found);
    if (found) {
        entry_free(c->v[i]);
        memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(c->v[0]));
        c->n--;
        c->changes++;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

int lv_cache_contains(lv_cache *c, const char *id)
{
    int found;

    pthread_mutex_lock(&c->lock);
    found = find(c, id) != NULL;
    pthread_mutex_unlock(&c->lock);
    return found;
}

int lv_cache_is_busy(lv_cache *c, const char *id)
{
    lv_entry *e;
    int busy;

    pthread_mutex_lock(&c->lock);
    busy = (e = find(c, id)) && e->busy;
    pthread_mutex_unlock(&c->lock);
    return busy;
}

int lv_cache_get(lv_cache *c, const char *id, cg_instance *out)
{
    lv_entry *e;
    int ret = 0;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id)))
        ret = cg_instance_copy(out, &e->inst) < 0 ? -1 : 1;
    pthread_mutex_unlock(&c->lock);
    return ret;
}

lv_acquire_result lv_cache_acquire(lv_cache *c, const char *id, cg_instance *out)
{
    lv_entry *e;
    lv_acquire_result ret = LV_ACQ_OK;

    pthread_mutex_lock(&c->lock);
    if (!(e = find(c, id)))
        ret = LV_ACQ_NOT_FOUND;
    else if (e->busy)
        ret = LV_ACQ_BUSY;
    else if (out && cg_instance_copy(out, &e->inst) < 0)
        ret = LV_ACQ_NOMEM;
    else
        e->busy = 1;
    pthread_mutex_unlock(&c->lock);
    return ret;
}

void lv_cache_release(lv_cache *c, const char *id)
{
    lv_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id)))
        e->busy = 0;
    pthread_mutex_unlock(&c->lock);
}

void lv_cache_set_base(lv_cache *c, const char *id, cg_instance_state base)
{
    lv_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id))) {
        e->base = base;
        if (e->overlay == CG_STATE_STOPPING && base == CG_STATE_STOPPED) {
            e->overlay = LV_NO_OVERLAY;
            e->stop_deadline = 0;
        }
        refresh(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}

void lv_cache_set_overlay(lv_cache *c, const char *id, int overlay, double deadline)
{
    lv_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id))) {
        e->overlay = overlay;
        e->stop_deadline = deadline;
        refresh(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}

void lv_cache_set_reason(lv_cache *c, const char *id, const char *reason)
{
    lv_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id))) {
        strncpy(e->inst.state_reason, reason ? reason : "", sizeof(e->inst.state_reason) - 1);
        e->inst.state_reason[sizeof(e->inst.state_reason) - 1] = '\0';
        touch(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}

int lv_cache_set_tags(lv_cache *c, const char *id, const cg_tags *tags)
{
    lv_entry *e;
    cg_tags copy;
    int ret = -1;

    if (cg_tags_copy(&copy, tags) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id))) {
        cg_tags_release(&e->inst.tags);
        e->inst.tags = copy;
        copy.v = NULL;
        copy.n = 0;
        touch(c, e);
        ret = 0;
    }
    pthread_mutex_unlock(&c->lock);
    cg_tags_release(&copy);
    return ret;
}

void lv_cache_set_leases(lv_cache *c, const lv_lease *leases, size_t n)
{
    size_t i, j;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->n; i++) {
        lv_entry *e = c->v[i];
        cg_instance *inst = &e->inst;
        const char *ip = "";

        /* A stopped guest keeps its lease in dnsmasq for a while; EC2 keeps
         * the private address of a stopped instance too, so no state check. */
        for (j = 0; j < n; j++) {
            if (strcasecmp(leases[j].mac, inst->mac) == 0) {
                ip = leases[j].ip;
                break;
            }
        }
        /* Every few seconds for every entry: a new revision only when
         * the address changes. */
        if ((*ip || inst->state != CG_STATE_STOPPED) && strcmp(inst->private_ip, ip) != 0) {
            strncpy(inst->private_ip, ip, sizeof(inst->private_ip) - 1);
            inst->private_ip[sizeof(inst->private_ip) - 1] = '\0';
            touch(c, e);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

int lv_cache_snapshot(lv_cache *c, cg_instance_list *out)
{
    size_t i;
    int ret = 0;

    pthread_mutex_lock(&c->lock);
    /* One allocation for the whole snapshot (appending one at a time is a
     * realloc per instance, under the lock every listing takes). */
    if (cg_instance_list_reserve(out, c->n) < 0) {
        ret = -1;
        goto cleanup;
    }
    for (i = 0; i < c->n; i++) {
        if ((ret = cg_instance_copy(&out->v[out->n], &c->v[i]->inst)) < 0)
            break;
        out->n++;
    }

cleanup:
    pthread_mutex_unlock(&c->lock);
    return ret;
}

size_t lv_cache_due_stops(lv_cache *c, double now, char (*ids)[24], size_t max)
{
    size_t i, n = 0;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->n && n < max; i++) {
        lv_entry *e = c->v[i];

        if (e->busy || e->overlay != CG_STATE_STOPPING || e->stop_deadline <= 0 ||
            e->stop_deadline > now)
            continue;
        memcpy(ids[n++], e->inst.id, sizeof(ids[0]));
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

void lv_cache_committed(lv_cache *c, unsigned long long *mib, unsigned *vcpus)
{
    size_t i;

    *mib = 0;
    *vcpus = 0;
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->n; i++) {
        *mib += c->v[i]->inst.memory_mib;
        *vcpus += c->v[i]->inst.vcpus;
    }
    pthread_mutex_unlock(&c->lock);
}

size_t lv_cache_count_image(lv_cache *c, const char *image_id)
{
    size_t i, n = 0;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->n; i++)
        n += strcmp(c->v[i]->inst.image_id, image_id) == 0;
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t lv_cache_size(lv_cache *c)
{
    size_t n;

    pthread_mutex_lock(&c->lock);
    n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void lv_cache_set_sub(lv_cache *c, const char *id, cg_instance_sub sub)
{
    lv_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id))) {
        e->inst.sub = sub;
        touch(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}

void lv_cache_set_display(lv_cache *c, const char *id, cg_display live, const char *addr,
                          int port)
{
    lv_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, id))) {
        e->inst.display_live = live;
        snprintf(e->inst.display_addr, sizeof(e->inst.display_addr), "%s", addr ? addr : "");
        e->inst.display_port = port;
        refresh(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}

uint64_t lv_cache_changes(lv_cache *c)
{
    uint64_t n;

    pthread_mutex_lock(&c->lock);
    n = c->changes;
    pthread_mutex_unlock(&c->lock);
    return n;
}
