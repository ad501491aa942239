/* cloudgate libvirt driver: instances in security groups (lv_sg.h).
 *
 * An instance's groups are rows of instance_groups; its NIC carries the
 * filter "cg-i-<id>" (lv_nwfilter_nic_xml) that references clean-traffic
 * and its groups' filters.  Changing the groups redefines that filter, and
 * libvirt re-applies it to the running NIC; the sets of the old and new
 * groups are rewritten, and the filters of groups that name them by their
 * member addresses are redefined too, concurrently (lv_sg_sync_sources).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "lv_nwfilter.h"
#include "lv_rows.h"
#include "lv_sg.h"
#include "lv_vpc.h"

/* Define instance_id's NIC filter for groups ids[0..n) in conn: its name
 * into filter, or "" when conn has no nwfilter (test://).  0 or -1. */
static int define_nic_filter(virConnectPtr conn, const char *instance_id,
                             const char *const *ids, size_t n, char *filter, size_t len,
                             cg_error *err)
{
    int spoof = lv_nwfilter_has_clean_traffic(conn);
    char *xml = lv_nwfilter_nic_xml(instance_id, ids, n, spoof, err);
    int rc;

    filter[0] = '\0';
    if (!xml)
        return -1;
    /* Without libvirt's stock filters a reference to clean-traffic would
     * keep the guest from starting: the groups still apply, and the gap is
     * said loudly. */
    if (!spoof && !lv_conn_is_test(conn))
        cg_warn("%s: no anti-spoofing: this host lacks libvirt's clean-traffic filter "
                "(install libvirt-daemon-config-nwfilter)", instance_id);
    rc = lv_nwfilter_define(conn, xml, err);
    free(xml);
    if (rc == 0)
        snprintf(filter, len, LV_NWFILTER_NIC "%s", instance_id);
    return rc < 0 ? -1 : 0;
}

/* The VPC of subnet_id (NULL: zone's default subnet) into buf.  0 or -1. */
static int vpc_of(cg_drv *drv, const char *subnet_id, const char *zone, char *buf, size_t len,
                  cg_error *err)
{
    cg_subnet_list subs = {0};
    size_t i;
    int ret = -1;

    if (lv_netstate_subnets(drv->state, &subs, err) < 0)
        return -1;
    for (i = 0; i < subs.n && ret < 0; i++) {
        if (subnet_id ? strcmp(subs.v[i].id, subnet_id) == 0
                      : subs.v[i].default_for_az && strcmp(subs.v[i].zone, zone) == 0) {
            snprintf(buf, len, "%s", subs.v[i].vpc_id);
            ret = 0;
        }
    }
    if (ret < 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "no subnet for the instance's network");
    cg_subnet_list_release(&subs);
    return ret;
}

/* The current groups of instance_id into cur (n of them). */
static size_t groups_of(const lv_sg_member *m, size_t n, const char *instance_id, const char **cur,
                        size_t max)
{
    size_t i, k = 0;

    for (i = 0; i < n && k < max; i++) {
        if (strcmp(m[i].instance_id, instance_id) == 0)
            cur[k++] = m[i].group_id;
    }
    return k;
}

int lv_sg_launch(cg_drv *drv, const char *instance_id, const char *subnet_id, const char *zone,
                 const char *const *ids, size_t n, cg_error *err)
{
    char def[32], vpc[24];
    const char *one[1] = {def};
    cg_sg_list l = {0};

    if (!n) {
        /* The VPC's default group (made now, with its filter, for a new VPC). */
        if (vpc_of(drv, subnet_id, zone, vpc, sizeof(vpc), err) < 0 ||
            lv_sg_list(drv, &l, err) < 0 ||
            lv_sgstate_default_of(drv->state, vpc, def, sizeof(def), err) < 0) {
            cg_sg_list_release(&l);
            return -1;
        }
        cg_sg_list_release(&l);
        ids = one;
        n = 1;
    }
    return lv_sgstate_instance_set(drv->state, instance_id, ids, n, err);
}

int lv_sg_launch_filter(cg_drv *drv, virConnectPtr conn, const char *instance_id, char *filter,
                        size_t len, cg_error *err)
{
    const char *ids[CG_INSTANCE_GROUPS_MAX];
    lv_sg_member *m = NULL;
    size_t n_m = 0, n;
    int ret = -1;

    filter[0] = '\0';
    if (lv_sgstate_members(drv->state, &m, &n_m, err) < 0)
        return -1;
    /* The rows lv_sg_launch wrote: a pending instance's groups cannot
     * change (operations wait for its launch) nor its groups go (they
     * have a member). */
    n = groups_of(m, n_m, instance_id, ids, CG_INSTANCE_GROUPS_MAX);
    if (n == 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "instance %s has no security group", instance_id);
        goto cleanup;
    }
    /* The NIC's filter may only name filters that exist, or the guest
     * does not start. */
    if (lv_sg_ensure_filters(drv, conn, ids, n, err) < 0 ||
        define_nic_filter(conn, instance_id, ids, n, filter, len, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    free(m);
    return ret;
}

void lv_sg_instance_gone(cg_drv *drv, virConnectPtr conn, const char *instance_id)
{
    cg_error err = {0};
    char name[64];

    /* The filter first, the rows only once it is gone: the rows are how the
     * next start knows a leftover filter is this gateway's to remove. */
    snprintf(name, sizeof(name), LV_NWFILTER_NIC "%s", instance_id);
    if (lv_nwfilter_undefine(conn, name, &err) < 0) {
        cg_warn("filter %s stays until the next start: %s", name, err.message);
        return;
    }
    lv_sgstate_instance_set(drv->state, instance_id, NULL, 0, NULL);
}

int lv_sg_instance_set_groups(cg_drv *drv, const char *instance_id, const char *const *ids,
                              size_t n, cg_error *err)
{
    const char *old[CG_INSTANCE_GROUPS_MAX], *changed[2 * CG_INSTANCE_GROUPS_MAX];
    char filter[64];
    lv_sg_member *m = NULL;
    virConnectPtr conn = NULL;
    lv_host *h;
    size_t n_m = 0, n_old, i;
    int ret = -1;

    if (!(h = lv_drv_find_instance(drv, instance_id))) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "The instance ID '%s' does not exist", instance_id);
        return -1;
    }
    if (!(conn = lv_host_conn(h, err)) || lv_sgstate_members(drv->state, &m, &n_m, err) < 0)
        goto cleanup;
    n_old = groups_of(m, n_m, instance_id, old, CG_INSTANCE_GROUPS_MAX);
    if (lv_sgstate_instance_set(drv->state, instance_id, ids, n, err) < 0)
        goto cleanup;
    /* libvirt applies the redefined filter to the running NIC. */
    if (lv_sg_ensure_filters(drv, conn, ids, n, err) < 0 ||
        define_nic_filter(conn, instance_id, ids, n, filter, sizeof(filter), err) < 0) {
        /* The NIC still has the old groups: so must the rows. */
        lv_sgstate_instance_set(drv->state, instance_id, old, n_old, NULL);
        goto cleanup;
    }
    for (i = 0; i < n_old; i++)
        changed[i] = old[i];
    for (i = 0; i < n; i++)
        changed[n_old + i] = ids[i];
    /* Its address left the old groups and joined the new ones. */
    if (lv_sg_sync_sources(drv, changed, n_old + n, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    free(m);
    if (conn)
        virConnectClose(conn);
    return ret;
}

static const cg_sg *find(const cg_sg_list *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    }
    return NULL;
}

/* Add group g to inst's list. */
static void add_group(cg_instance *inst, const cg_sg *g)
{
    if (!g || inst->n_groups >= CG_INSTANCE_GROUPS_MAX)
        return;
    snprintf(inst->group_ids[inst->n_groups], sizeof(inst->group_ids[0]), "%s", g->id);
    snprintf(inst->group_names[inst->n_groups], sizeof(inst->group_names[0]), "%s", g->name);
    inst->n_groups++;
}

/* FNV-1a over s, continuing from h. */
static unsigned long long mix(unsigned long long h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

/* The member addresses of groups named as rule sources, as listed now,
 * against those the filters were last built from: when they differ (a
 * member got its DHCP lease, or left), lv_sg_sync_sources rewrites their
 * sets (one `ipset restore`) and redefines the filters that name members
 * one by one.  Leases arrive after launch, so this is what lets a default
 * group's members reach each other. */
static void resync_peers(cg_drv *drv, const cg_instance_list *list, const cg_sg_list *l)
{
    static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
    static unsigned long long last;
    const char *sources[64];
    unsigned long long h = 14695981039346656037ULL;
    cg_error err = {0};
    size_t n = 0, i, j, k;
    unsigned g;
    int changed;

    for (i = 0; i < l->n; i++) {
        for (j = 0; j < l->v[i].n_rules; j++) {
            const char *src = l->v[i].rules[j].group;

            for (k = 0; src[0] && k < n && strcmp(sources[k], src) != 0; k++)
                ;
            if (src[0] && k == n && n < sizeof(sources) / sizeof(sources[0]))
                sources[n++] = src;
        }
    }
    for (i = 0; i < list->n; i++) {
        for (g = 0; list->v[i].private_ip[0] && g < list->v[i].n_groups; g++) {
            for (k = 0; k < n && strcmp(sources[k], list->v[i].group_ids[g]) != 0; k++)
                ;
            if (k < n)
                h = mix(mix(h, list->v[i].group_ids[g]), list->v[i].private_ip);
        }
    }
    pthread_mutex_lock(&last_lock);
    changed = lv_sg_refresh_pending(drv) || h != last;
    last = h;
    pthread_mutex_unlock(&last_lock);
    if (changed && n && lv_sg_sync_sources(drv, sources, n, &err) < 0)
        cg_warn("security group peers: %s", err.message);
}

void lv_sg_fill_instances(cg_drv *drv, cg_instance_list *list, int all)
{
    cg_sg_list l = {0};
    cg_error err = {0};
    lv_sg_member *m = NULL;
    size_t n_m = 0, i, j;

    if (!list->n)
        return;
    if (lv_sgstate_list(drv->state, &l, &err) < 0 ||
        lv_sgstate_members(drv->state, &m, &n_m, &err) < 0) {
        cg_warn("instance security groups: %s", err.message);
        goto cleanup;
    }
    /* Sorted by instance, the order of each instance's groups kept. */
    if (lv_rows_sort_by_id(m, n_m, sizeof(*m)) < 0) {
        cg_warn("instance security groups: out of memory");
        goto cleanup;
    }
    for (i = 0; i < list->n; i++) {
        cg_instance *inst = &list->v[i];

        inst->n_groups = 0;
        if (inst->state == CG_STATE_TERMINATED)
            continue;
        for (j = lv_rows_find_id(m, n_m, sizeof(*m), inst->id);
             j < n_m && strcmp(m[j].instance_id, inst->id) == 0; j++)
            add_group(inst, find(&l, m[j].group_id));
        /* Launched before security groups: its VPC's default group. */
        for (j = 0; !inst->n_groups && inst->vpc_id[0] && j < l.n; j++) {
            if (l.v[j].is_default && strcmp(l.v[j].vpc_id, inst->vpc_id) == 0)
                add_group(inst, &l.v[j]);
        }
    }
    /* From a listing of every instance only, and not from inside a group
     * change (it holds the lock the resync takes,
     * and rebuilds the filters itself). */
    if (all && !lv_sg_lock_held())
        resync_peers(drv, list, &l);

cleanup:
    free(m);
    cg_sg_list_release(&l);
}

/* 1 when instance_id has group rows here: a launch of this gateway. */
static int ours(const lv_sg_member *m, size_t n, const char *instance_id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].instance_id, instance_id) == 0)
            return 1;
    return 0;
}

void lv_sg_reconcile_zone(cg_drv *drv, virConnectPtr conn)
{
    virNWFilterPtr *filters = NULL;
    virDomainPtr dom;
    lv_sg_member *m = NULL;
    size_t n_m = 0;
    cg_error err = {0};
    const char *name, *id;
    int i, n;

    /* test:// has no nwfilter driver: nothing to remove there. */
    if ((n = virConnectListAllNWFilters(conn, &filters, 0)) < 0) {
        virResetLastError();
        return;
    }
    if (lv_sgstate_members(drv->state, &m, &n_m, &err) < 0) {
        cg_warn("reconcile: NIC filters left as they are: %s", err.message);
        n_m = 0;
        m = NULL;
    }
    for (i = 0; i < n; i++) {
        name = virNWFilterGetName(filters[i]);
        id = name && strncmp(name, LV_NWFILTER_NIC, strlen(LV_NWFILTER_NIC)) == 0
                 ? name + strlen(LV_NWFILTER_NIC)
                 : NULL;
        if (id && (dom = virDomainLookupByName(conn, id))) {
            virDomainFree(dom);
        } else if (id && !ours(m, n_m, id)) {
            /* Another gateway on this libvirtd may be launching it: its
             * filter is defined before its domain. */
            cg_info("reconcile: filter %s left alone (not an instance of this gateway)", name);
        } else if (id && virNWFilterUndefine(filters[i]) < 0) {
            cg_warn("reconcile: filter %s stays: %s", name, virGetLastErrorMessage());
        } else if (id) {
            lv_sgstate_instance_set(drv->state, id, NULL, 0, NULL);
            cg_info("reconcile: removed filter %s (its instance is gone)", name);
        }
        virResetLastError();
        virNWFilterFree(filters[i]);
    }
    free(filters);
    free(m);
}
