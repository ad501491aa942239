/* cloudgate: helpers shared by every driver and frontend (drivers/driver.h).
 *
 * Only plain data handling lives here: tag sets, deep copies and releases of
 * the structures the driver table hands out.  The libvirt driver's table
 * itself (lv_driver) is defined in drivers/libvirt/.
 */
#include "driver.h"

#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

/* ---- tags ------------------------------------------------------------- */

static ssize_t tags_find(const cg_tags *tags, const char *key)
{
    size_t i;

    if (!tags || !key)
        return -1;
    for (i = 0; i < tags->n; i++) {
        if (strcmp(tags->v[i].key, key) == 0)
            return (ssize_t)i;
    }
    return -1;
}

int cg_tags_set(cg_tags *tags, const char *key, const char *value)
{
    ssize_t at;
    char *k = NULL;
    char *v = NULL;
    cg_tag *grown;
    int ret = -1;

    if (!tags || !key)
        return -1;
    /* A stored tag never has a NULL value: EC2 treats a missing value as "". */
    if (!(v = strdup(value ? value : "")))
        goto cleanup;

    at = tags_find(tags, key);
    if (at >= 0) {
        free(tags->v[at].value);
        tags->v[at].value = v;
        v = NULL;
        ret = 0;
        goto cleanup;
    }

    if (!(k = strdup(key)))
        goto cleanup;
    if (!(grown = realloc(tags->v, (tags->n + 1) * sizeof(*grown))))
        goto cleanup;
    tags->v = grown;
    tags->v[tags->n].key = k;
    tags->v[tags->n].value = v;
    tags->n++;
    k = NULL;
    v = NULL;
    ret = 0;

cleanup:
    free(k);
    free(v);
    return ret;
}

void cg_tags_remove(cg_tags *tags, const char *key, const char *value)
{
    ssize_t at = tags_find(tags, key);

    if (at < 0)
        return;
    if (value && strcmp(tags->v[at].value, value) != 0)
        return;
    free(tags->v[at].key);
    free(tags->v[at].value);
    /* Keep the remaining tags in insertion order: callers list them as set. */
    memmove(&tags->v[at], &tags->v[at + 1], (tags->n - (size_t)at - 1) * sizeof(cg_tag));
    tags->n--;
    if (tags->n == 0) {
        free(tags->v);
        tags->v = NULL;
    }
}

const char *cg_tags_get(const cg_tags *tags, const char *key)
{
    ssize_t at = tags_find(tags, key);

    return at < 0 ? NULL : tags->v[at].value;
}

int cg_tags_copy(cg_tags *dst, const cg_tags *src)
{
    cg_tags tmp = {0};
    size_t i;
    int ret = -1;

    if (!dst)
        return -1;
    if (src && src->n > 0) {
        if (!(tmp.v = calloc(src->n, sizeof(*tmp.v))))
            goto cleanup;
        for (i = 0; i < src->n; i++) {
            tmp.v[i].key = strdup(src->v[i].key);
            tmp.v[i].value = strdup(src->v[i].value ? src->v[i].value : "");
            tmp.n++;
            if (!tmp.v[i].key || !tmp.v[i].value)
                goto cleanup;
        }
    }
    ret = 0;

cleanup:
    if (ret < 0)
        cg_tags_release(&tmp);
    /* On failure dst is left empty, so releasing it later is always safe. */
    *dst = tmp;
    return ret;
}

void cg_tags_release(cg_tags *tags)
{
    size_t i;

    if (!tags)
        return;
    for (i = 0; i < tags->n; i++) {
        free(tags->v[i].key);
        free(tags->v[i].value);
    }
    free(tags->v);
    tags->v = NULL;
    tags->n = 0;
}

void cg_tagged_array_free(void *v, size_t n, size_t size, size_t tags_at)
{
    char *elem = v;
    size_t i;

    for (i = 0; i < n; i++, elem += size)
        cg_tags_release((cg_tags *)(void *)(elem + tags_at));
    free(v);
}

/* ---- displays ------------------------------------------------------------ */

static const char *const display_names[] = {
    [CG_DISPLAY_DEFAULT] = "default",
    [CG_DISPLAY_HEADLESS] = "headless",
    [CG_DISPLAY_VNC] = "vnc",
    [CG_DISPLAY_SPICE] = "spice",
};

const char *cg_display_name(cg_display d)
{
    if ((unsigned)d < sizeof(display_names) / sizeof(display_names[0]))
        return display_names[d];
    return "unknown";
}

int cg_display_parse(const char *s, cg_display *out)
{
    unsigned i;

    for (i = CG_DISPLAY_HEADLESS; s && i < sizeof(display_names) / sizeof(display_names[0]); i++) {
        if (strcasecmp(s, display_names[i]) == 0) {
            *out = (cg_display)i;
            return 0;
        }
    }
    return -1;
}

/* ---- instances -------------------------------------------------------- */

const char *cg_instance_state_name(cg_instance_state s)
{
    switch (s) {
    case CG_STATE_PENDING:
        return "pending";
    case CG_STATE_RUNNING:
        return "running";
    case CG_STATE_SHUTTING_DOWN:
        return "shutting-down";
    case CG_STATE_TERMINATED:
        return "terminated";
    case CG_STATE_STOPPING:
        return "stopping";
    case CG_STATE_STOPPED:
        return "stopped";
    }
    return "unknown";
}

int cg_instance_copy(cg_instance *dst, const cg_instance *src)
{
    if (!dst || !src)
        return -1;
    /* Everything but the tags and the group names is fixed-size. */
    *dst = *src;
    dst->n_groups = 0;
    memset(dst->group_names, 0, sizeof(dst->group_names));
    if (cg_tags_copy(&dst->tags, &src->tags) < 0)
        return -1;
    for (unsigned i = 0; i < src->n_groups && i < CG_INSTANCE_GROUPS_MAX; i++) {
        if (cg_instance_add_group(dst, src->group_ids[i], src->group_names[i]) < 0) {
            cg_instance_release(dst);
            return -1;
        }
    }
    return 0;
}

/* ---- fingerprint -------------------------------------------------------- */

uint64_t cg_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t w;

    while (n >= 8) {
        memcpy(&w, b, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
        b += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, b, n);
    h = (h ^ w ^ ((uint64_t)n << 56)) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
}

/* With its length, so that "ab","c" and "a","bc" differ. */
uint64_t cg_hash_str(uint64_t h, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    h = cg_hash_bytes(h, &n, sizeof(n));
    return n ? cg_hash_bytes(h, s, n) : h;
}

static uint64_t hash_num(uint64_t h, long long v)
{
    return cg_hash_bytes(h, &v, sizeof(v));
}

/* Every field of the instance, string fields up to their NUL (the bytes
 * after it are not part of the record); with a driver revision, that
 * stands for the fields it covers (see cg_instance.rev: computed once
 * when the record changes instead of hashing them on every listing).
 * A new field of cg_instance must be added here: the size check below
 * fails until it is. */
uint64_t cg_instance_fingerprint(const cg_instance *inst)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    size_t i;

    _Static_assert(sizeof(cg_instance) == 1336 && offsetof(cg_instance, tags) == 1320,
                   "cg_instance changed: add the new field to cg_instance_fingerprint");
    h = hash_num(h, (long long)inst->rev);
    if (!inst->rev) {
        h = cg_hash_str(h, inst->id);
        h = cg_hash_str(h, inst->image_id);
        h = cg_hash_str(h, inst->reservation_id);
        h = cg_hash_str(h, inst->instance_type);
        h = cg_hash_str(h, inst->zone);
        h = cg_hash_str(h, inst->key_name);
        h = cg_hash_str(h, inst->client_token);
        h = cg_hash_str(h, inst->private_ip);
        h = cg_hash_str(h, inst->mac);
        h = cg_hash_str(h, inst->state_reason);
        h = hash_num(h, (long long)inst->launch_time);
        h = hash_num(h, (long long)inst->state_time);
        h = hash_num(h, inst->ami_launch_index);
        h = hash_num(h, inst->vcpus);
        h = hash_num(h, inst->memory_mib);
        h = hash_num(h, inst->disable_api_termination);
        h = hash_num(h, inst->display);
        h = hash_num(h, inst->display_live);
        h = cg_hash_str(h, inst->display_addr);
        h = hash_num(h, inst->display_port);
    }
    h = hash_num(h, inst->state);
    h = hash_num(h, inst->sub);
    h = cg_hash_str(h, inst->locked_by);
    h = hash_num(h, inst->impaired);
    h = cg_hash_str(h, inst->vpc_id);
    h = cg_hash_str(h, inst->subnet_id);
    h = cg_hash_str(h, inst->eni_id);
    h = hash_num(h, inst->n_groups);
    for (i = 0; i < inst->n_groups && i < CG_INSTANCE_GROUPS_MAX; i++) {
        h = cg_hash_str(h, inst->group_ids[i]);
        h = cg_hash_str(h, inst->group_names[i]);
    }
    h = hash_num(h, inst->metadata.http_tokens);
    h = hash_num(h, inst->metadata.http_endpoint);
    h = hash_num(h, inst->metadata.hop_limit);
    h = hash_num(h, (long long)inst->tags.n);
    for (i = 0; i < inst->tags.n; i++) {
        h = cg_hash_str(h, inst->tags.v[i].key);
        h = cg_hash_str(h, inst->tags.v[i].value);
    }
    return h;
}

int cg_instance_add_group(cg_instance *inst, const char *id, const char *name)
{
    char *copy;

    if (inst->n_groups >= CG_INSTANCE_GROUPS_MAX)
        return 0;
    if (!(copy = strdup(name ? name : "")))
        return -1;
    snprintf(inst->group_ids[inst->n_groups], sizeof(inst->group_ids[0]), "%s", id ? id : "");
    inst->group_names[inst->n_groups++] = copy;
    return 0;
}

void cg_instance_clear_groups(cg_instance *inst)
{
    for (unsigned i = 0; i < CG_INSTANCE_GROUPS_MAX; i++) {
        free(inst->group_names[i]);
        inst->group_names[i] = NULL;
    }
    memset(inst->group_ids, 0, sizeof(inst->group_ids));
    inst->n_groups = 0;
}

void cg_instance_release(cg_instance *inst)
{
    if (!inst)
        return;
    cg_tags_release(&inst->tags);
    cg_instance_clear_groups(inst);
    memset(inst, 0, sizeof(*inst));
}

int cg_instance_list_append(cg_instance_list *list, const cg_instance *inst)
{
    if (!list || !inst)
        return -1;
    /* The list carries no capacity: the allocation's usable size is it. */
    if (cg_instance_list_reserve(list, 1) < 0)
        return -1;
    if (cg_instance_copy(&list->v[list->n], inst) < 0)
        return -1;
    list->n++;
    return 0;
}

/* Listing arrays of many instances (1,000 x 2.5 KiB) are recycled: each
 * would otherwise be a fresh mapping (the gateway's mmap threshold) whose
 * every page faults in again on each DescribeInstances.  A few are kept,
 * as many as listings run at once, and freed when the gateway is idle. */
#define LIST_POOL_MAX 8
#define LIST_POOL_MIN_BYTES (128 * 1024)

static pthread_mutex_t list_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *list_pool[LIST_POOL_MAX];
static size_t list_pool_n;

/* A recycled array of at least bytes, or NULL. */
static void *list_pool_take(size_t bytes)
{
    void *v = NULL;

    pthread_mutex_lock(&list_pool_lock);
    for (size_t i = 0; i < list_pool_n; i++) {
        if (malloc_usable_size(list_pool[i]) >= bytes) {
            v = list_pool[i];
            list_pool[i] = list_pool[--list_pool_n];
            break;
        }
    }
    pthread_mutex_unlock(&list_pool_lock);
    return v;
}

/* Keep v for a later listing, or free it. */
static void list_pool_put(void *v)
{
    if (v && malloc_usable_size(v) >= LIST_POOL_MIN_BYTES) {
        pthread_mutex_lock(&list_pool_lock);
        if (list_pool_n < LIST_POOL_MAX) {
            list_pool[list_pool_n++] = v;
            v = NULL;
        }
        pthread_mutex_unlock(&list_pool_lock);
    }
    free(v);
}

void cg_instance_list_pool_trim(void)
{
    pthread_mutex_lock(&list_pool_lock);
    while (list_pool_n)
        free(list_pool[--list_pool_n]);
    pthread_mutex_unlock(&list_pool_lock);
}

int cg_instance_list_reserve(cg_instance_list *list, size_t more)
{
    size_t bytes = (list->n + more) * sizeof(*list->v);
    cg_instance *grown;

    if (!more)
        return 0;
    if (!list->v && bytes >= LIST_POOL_MIN_BYTES && (list->v = list_pool_take(bytes)))
        return 0;
    if (list->v && malloc_usable_size(list->v) >= bytes)
        return 0;
    if (!(grown = realloc(list->v, bytes)))
        return -1;
    list->v = grown;
    return 0;
}

void cg_instance_list_release(cg_instance_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->n; i++)
        cg_instance_release(&list->v[i]);
    list_pool_put(list->v);
    list->v = NULL;
    list->n = 0;
}

/* ---- images ------------------------------------------------------------- */

void cg_image_release(cg_image *img)
{
    if (!img)
        return;
    free(img->name);
    free(img->description);
    free(img->volume);
    free(img->kernel);
    free(img->initrd);
    free(img->cmdline);
    free(img->launch_users);
    free(img->mappings);
    cg_tags_release(&img->tags);
    memset(img, 0, sizeof(*img));
}

/* strdup that maps NULL to NULL; *failed is set when a non-NULL copy fails. */
static char *dup_opt(const char *s, int *failed)
{
    char *d;

    if (!s)
        return NULL;
    if (!(d = strdup(s)))
        *failed = 1;
    return d;
}

int cg_image_copy(cg_image *dst, const cg_image *src)
{
    int failed = 0;

    if (!dst || !src)
        return -1;
    *dst = *src;
    dst->name = dup_opt(src->name, &failed);
    dst->description = dup_opt(src->description, &failed);
    dst->volume = dup_opt(src->volume, &failed);
    dst->kernel = dup_opt(src->kernel, &failed);
    dst->initrd = dup_opt(src->initrd, &failed);
    dst->cmdline = dup_opt(src->cmdline, &failed);
    dst->launch_users = dup_opt(src->launch_users, &failed);
    dst->mappings = NULL;
    if (src->n_mappings && !(dst->mappings = malloc(src->n_mappings * sizeof(*dst->mappings))))
        failed = 1;
    else if (src->n_mappings)
        memcpy(dst->mappings, src->mappings, src->n_mappings * sizeof(*dst->mappings));
    if (cg_tags_copy(&dst->tags, &src->tags) < 0)
        failed = 1;
    if (failed) {
        cg_image_release(dst);
        return -1;
    }
    return 0;
}

const cg_image_mapping *cg_image_mapping_find(const cg_image *img, const char *device)
{
    size_t i;

    for (i = 0; i < img->n_mappings; i++)
        if (strcmp(img->mappings[i].device, device) == 0)
            return &img->mappings[i];
    return NULL;
}

void cg_image_list_release(cg_image_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->n; i++)
        cg_image_release(&list->v[i]);
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

/* ---- volumes ------------------------------------------------------------ */

void cg_volume_release(cg_volume *vol)
{
    if (!vol)
        return;
    free(vol->name);
    free(vol->description);
    cg_tags_release(&vol->tags);
    memset(vol, 0, sizeof(*vol));
}

int cg_volume_copy(cg_volume *dst, const cg_volume *src)
{
    int failed = 0;

    if (!dst || !src)
        return -1;
    *dst = *src;
    dst->name = dup_opt(src->name, &failed);
    dst->description = dup_opt(src->description, &failed);
    if (cg_tags_copy(&dst->tags, &src->tags) < 0)
        failed = 1;
    if (failed) {
        cg_volume_release(dst);
        return -1;
    }
    return 0;
}

void cg_volume_list_release(cg_volume_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->n; i++)
        cg_volume_release(&list->v[i]);
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

/* ---- snapshots ----------------------------------------------------------- */

void cg_snapshot_release(cg_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->description);
    cg_tags_release(&snap->tags);
    memset(snap, 0, sizeof(*snap));
}

int cg_snapshot_copy(cg_snapshot *dst, const cg_snapshot *src)
{
    int failed = 0;

    if (!dst || !src)
        return -1;
    *dst = *src;
    dst->description = dup_opt(src->description, &failed);
    if (cg_tags_copy(&dst->tags, &src->tags) < 0)
        failed = 1;
    if (failed) {
        cg_snapshot_release(dst);
        return -1;
    }
    return 0;
}

void cg_snapshot_list_release(cg_snapshot_list *list)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < list->n; i++)
        cg_snapshot_release(&list->v[i]);
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

/* ---- zones -------------------------------------------------------------- */

void cg_zone_list_release(cg_zone_list *list)
{
    if (!list)
        return;
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

/* ---- the table ---------------------------------------------------------- */

int cg_driver_unsupported(cg_error *err, const char *op)
{
    cg_error_set(err, CG_ERR_UNSUPPORTED, "%s is not supported by this driver",
                 op ? op : "this operation");
    return -1;
}

static __thread void (*watch_fn)(void *arg);
static __thread void *watch_arg;

void cg_change_watch(void (*fn)(void *arg), void *arg)
{
    watch_fn = fn;
    watch_arg = arg;
}

void cg_change_recorded(void)
{
    if (watch_fn)
        watch_fn(watch_arg);
}

void cg_disk_paths_release(cg_disk_paths *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->n; i++) {
        if (p->path)
            free(p->path[i]);
        if (p->format)
            free(p->format[i]);
    }
    free(p->path);
    free(p->format);
    p->path = p->format = NULL;
    p->n = 0;
}
