/* cloudgate libvirt driver: instances in security groups (lv_sg.h).
 *
 * An instance's groups are rows of instance_groups; its NIC carries the
 * filter "cg-nic-<hash>" of its set of groups (lv_nwfilter_nic_xml), shared
 * by every NIC with the same groups, that references clean-traffic and the
 * groups' filters.  Changing the groups points the running NIC at another
 * such filter (virDomainUpdateDeviceFlags); the sets of the old and new
 * groups are rewritten, and the filters of groups that name them by their
 * member addresses are redefined too, concurrently (lv_sg_sync_sources).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "lv_domxml.h"
#include "lv_nwfilter.h"
#include "lv_rows.h"
#include "lv_sg.h"
#include "lv_vpc.h"

/* Shared NIC filters are made and dropped under this lock: a launch's
 * ensure (after its rows are written) and a release (which counts rows)
 * cannot cross, so a filter is never dropped under a launch about to use
 * it. */
static pthread_mutex_t nic_lock = PTHREAD_MUTEX_INITIALIZER;

/* Make sure conn has the NIC filter of groups ids[0..n): its name into
 * filter, or "" when conn has no nwfilter (test://).  Defined only when
 * missing: a launch into groups that already have NICs defines nothing.
 * 0 or -1. */
static int ensure_nic_filter(virConnectPtr conn, const char *const *ids, size_t n, char *filter,
                             size_t len, cg_error *err)
{
    int spoof, rc = 0;
    char *xml = NULL;

    filter[0] = '\0';
    if (lv_conn_is_test(conn))
        return 0;
    lv_nwfilter_nic_name(ids, n, filter, len);
    pthread_mutex_lock(&nic_lock);
    if (!lv_nwfilter_exists(conn, filter)) {
        /* Without libvirt's stock filters a reference to clean-traffic
         * would keep the guest from starting: the groups still apply, and
         * the gap is said loudly. */
        if (!(spoof = lv_nwfilter_has_clean_traffic(conn)))
            cg_warn("%s: no anti-spoofing: this host lacks libvirt's clean-traffic filter "
                    "(install libvirt-daemon-config-nwfilter)",
                    filter);
        rc = (xml = lv_nwfilter_nic_xml(ids, n, spoof, err)) ? lv_nwfilter_define(conn, xml, err)
                                                             : -1;
    }
    pthread_mutex_unlock(&nic_lock);
    free(xml);
    if (rc < 0)
        filter[0] = '\0';
    return rc < 0 ? -1 : 0;
}

/* The zone whose connection conn is, or NULL (a zone being connected:
 * its reconcile runs before the connection is its). */
static lv_host *zone_of(cg_drv *drv, virConnectPtr conn)
{
    size_t i;

    for (i = 0; i < drv->n_hosts; i++) {
        if (lv_host_has_conn(drv->hosts[i], conn))
            return drv->hosts[i];
    }
    return NULL;
}

/* 1 when an instance other than except has the NIC filter name in the
 * zone of conn, by the member rows m (sorted here): a running or a stopped
 * one (its definition names the filter: a start without it fails), or one
 * whose zone is not known for sure (a launch; any instance while conn's
 * zone connects).  1 as well when the rows cannot be read or sorted: a
 * filter is only ever dropped for sure. */
static int filter_used_in(cg_drv *drv, virConnectPtr conn, lv_sg_member *m, size_t n_m,
                          const char *name, const char *except)
{
    const char *ids[CG_INSTANCE_GROUPS_MAX];
    char other[64];
    lv_host *h, *here = zone_of(drv, conn);
    size_t i, j, n;
    int used = 0;

    if (lv_rows_sort_by_id(m, n_m, sizeof(*m)) < 0)
        return 1;
    for (i = 0; i < n_m && !used; i = j) {
        for (j = i, n = 0; j < n_m && strcmp(m[j].instance_id, m[i].instance_id) == 0; j++) {
            if (n < CG_INSTANCE_GROUPS_MAX)
                ids[n++] = m[j].group_id;
        }
        if (except && strcmp(m[i].instance_id, except) == 0)
            continue;
        lv_nwfilter_nic_name(ids, n, other, sizeof(other));
        if (strcmp(other, name) != 0)
            continue;
        h = lv_drv_find_instance(drv, m[i].instance_id);
        used = !h || !here || h == here;
    }
    return used;
}

/* filter_used_in over the member rows as they are now. */
static int nic_filter_used(cg_drv *drv, virConnectPtr conn, const char *name, const char *except)
{
    lv_sg_member *m = NULL;
    cg_error err = {0};
    size_t n_m = 0;
    int used = 1;

    if (lv_sgstate_members(drv->state, &m, &n_m, &err) == 0)
        used = filter_used_in(drv, conn, m, n_m, name, except);
    free(m);
    return used;
}

/* Undefine NIC filter name in conn unless an instance but except still has
 * it there.  0 or -1 (the filter stays). */
static int release_nic_filter(cg_drv *drv, virConnectPtr conn, const char *name, const char *except,
                              cg_error *err)
{
    int rc = 0;

    pthread_mutex_lock(&nic_lock);
    if (!nic_filter_used(drv, conn, name, except))
        rc = lv_nwfilter_undefine(conn, name, err);
    pthread_mutex_unlock(&nic_lock);
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
        ensure_nic_filter(conn, ids, n, filter, len, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    free(m);
    return ret;
}

void lv_sg_instance_gone(cg_drv *drv, virConnectPtr conn, const char *instance_id)
{
    const char *ids[CG_INSTANCE_GROUPS_MAX];
    lv_sg_member *m = NULL;
    cg_error err = {0};
    char name[64];
    size_t n_m = 0, n;

    /* The filters first, the rows only once they are gone: the rows are how
     * the next start (and a test's cleanup) knows a leftover filter is this
     * gateway's to remove.  The shared one stays while other NICs have it. */
    snprintf(name, sizeof(name), LV_NWFILTER_NIC "%s", instance_id);
    if (lv_nwfilter_undefine(conn, name, &err) < 0)
        goto cleanup;
    /* Read, check, undefine and forget under one lock: the last two NICs
     * of a set going at once (a TerminateInstances runs several in
     * parallel) would otherwise each see the other and both keep the
     * filter. */
    pthread_mutex_lock(&nic_lock);
    if (lv_sgstate_members(drv->state, &m, &n_m, &err) < 0) {
        pthread_mutex_unlock(&nic_lock);
        goto cleanup;
    }
    name[0] = '\0';
    if ((n = groups_of(m, n_m, instance_id, ids, CG_INSTANCE_GROUPS_MAX)))
        lv_nwfilter_nic_name(ids, n, name, sizeof(name));
    if (name[0] && !filter_used_in(drv, conn, m, n_m, name, instance_id) &&
        lv_nwfilter_undefine(conn, name, &err) < 0) {
        pthread_mutex_unlock(&nic_lock);
        goto cleanup;
    }
    lv_sgstate_instance_set(drv->state, instance_id, NULL, 0, NULL);
    pthread_mutex_unlock(&nic_lock);

cleanup:
    if (err.message[0])
        cg_warn("%s: its NIC filter and group rows stay until the next start: %s", instance_id,
                err.message);
    free(m);
}

/* Point the NIC of domain id in conn at filter: live (libvirt re-applies
 * the NIC's rules, keeping the address it learned), then in the persistent
 * definition.  A NIC without a cloudgate filter (a guest from before
 * security groups) is left as it is.  0 or -1. */
static int swap_nic_filter(virConnectPtr conn, const char *id, const char *filter, cg_error *err)
{
    virDomainPtr dom = virDomainLookupByName(conn, id);
    char *xml = NULL, *dev = NULL;
    int pass, ret = -1;

    if (!dom) {
        lv_report(err, conn, CG_ERR_NOT_FOUND, "look up domain %s", id);
        return -1;
    }
    for (pass = virDomainIsActive(dom) == 1 ? 0 : 1; pass < 2; pass++) {
        free(xml);
        free(dev);
        dev = NULL;
        if (!(xml = virDomainGetXMLDesc(dom, pass ? VIR_DOMAIN_XML_INACTIVE : 0))) {
            lv_report(err, conn, CG_ERR_UNAVAILABLE, "read domain %s", id);
            goto cleanup;
        }
        if (!(dev = lv_domxml_nic_refiltered(xml, lv_nwfilter_is_nic, filter, err))) {
            if (err->kind != CG_ERR_NOT_FOUND)
                goto cleanup;
            cg_info("%s: its NIC has no security group filter: groups recorded only", id);
            cg_error_clear(err);
            continue;
        }
        if (virDomainUpdateDeviceFlags(
                dom, dev, pass ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE) < 0) {
            lv_report(err, conn, CG_ERR_INTERNAL, "change the NIC filter of %s", id);
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    free(xml);
    free(dev);
    virDomainFree(dom);
    return ret;
}

int lv_sg_instance_set_groups(cg_drv *drv, const char *instance_id, const char *const *ids,
                              size_t n, cg_error *err)
{
    const char *old[CG_INSTANCE_GROUPS_MAX], *changed[2 * CG_INSTANCE_GROUPS_MAX];
    char filter[64], old_filter[64], legacy[64];
    lv_sg_member *m = NULL;
    virConnectPtr conn = NULL;
    cg_error e = {0};
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
    if (lv_sg_ensure_filters(drv, conn, ids, n, err) < 0 ||
        ensure_nic_filter(conn, ids, n, filter, sizeof(filter), err) < 0 ||
        (filter[0] && swap_nic_filter(conn, instance_id, filter, err) < 0)) {
        /* The NIC still has the old groups: so must the rows. */
        lv_sgstate_instance_set(drv->state, instance_id, old, n_old, NULL);
        if (filter[0])
            release_nic_filter(drv, conn, filter, NULL, &e);
        goto cleanup;
    }
    /* The NIC's old filter, unless other NICs share it, and the
     * per-instance one of a launch from before shared filters. */
    lv_nwfilter_nic_name(old, n_old, old_filter, sizeof(old_filter));
    snprintf(legacy, sizeof(legacy), LV_NWFILTER_NIC "%s", instance_id);
    if (filter[0] && ((n_old && strcmp(old_filter, filter) != 0 &&
                       release_nic_filter(drv, conn, old_filter, NULL, &e) < 0) ||
                      lv_nwfilter_undefine(conn, legacy, &e) < 0))
        cg_warn("%s: a NIC filter it no longer uses stays until the next start: %s", instance_id,
                e.message);
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

/* Add group g to inst's list.  0, or -1 (OOM). */
static int add_group(cg_instance *inst, const cg_sg *g)
{
    return g ? cg_instance_add_group(inst, g->id, g->name) : 0;
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
                h = lv_nwfilter_mix(lv_nwfilter_mix(h, list->v[i].group_ids[g]),
                                    list->v[i].private_ip);
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
    int oom = 0;

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

        cg_instance_clear_groups(inst);
        if (inst->state == CG_STATE_TERMINATED)
            continue;
        for (j = lv_rows_find_id(m, n_m, sizeof(*m), inst->id);
             j < n_m && strcmp(m[j].instance_id, inst->id) == 0; j++)
            oom |= add_group(inst, find(&l, m[j].group_id));
        /* Launched before security groups: its VPC's default group. */
        for (j = 0; !inst->n_groups && inst->vpc_id[0] && j < l.n; j++) {
            if (l.v[j].is_default && strcmp(l.v[j].vpc_id, inst->vpc_id) == 0)
                oom |= add_group(inst, &l.v[j]);
        }
    }
    if (oom)
        cg_warn("instance security groups: out of memory (some instances show fewer groups)");
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

/* At reconcile: shared NIC filter f, when it is this gateway's (it names
 * only groups of this gateway) and no instance has it any more (a kill
 * between the rows and the filter's release), is undefined. */
static void reconcile_shared(cg_drv *drv, virConnectPtr conn, virNWFilterPtr f, const cg_sg_list *l)
{
    char ids[CG_INSTANCE_GROUPS_MAX][32];
    const char *name = virNWFilterGetName(f);
    char *xml = virNWFilterGetXMLDesc(f, 0);
    int n = lv_nwfilter_nic_groups(xml, ids, CG_INSTANCE_GROUPS_MAX), i, mine = n > 0;
    cg_error err = {0};

    for (i = 0; i < n && mine; i++)
        mine = find(l, ids[i]) != NULL;
    free(xml);
    if (!mine) {
        cg_info("reconcile: filter %s left alone (not of this gateway's groups)", name);
        return;
    }
    pthread_mutex_lock(&nic_lock);
    if (!nic_filter_used(drv, conn, name, NULL)) {
        if (lv_nwfilter_undefine(conn, name, &err) < 0)
            cg_warn("reconcile: filter %s stays: %s", name, err.message);
        else
            cg_info("reconcile: removed filter %s (no instance has it)", name);
    }
    pthread_mutex_unlock(&nic_lock);
}

void lv_sg_reconcile_zone(cg_drv *drv, virConnectPtr conn)
{
    virNWFilterPtr *filters = NULL;
    virDomainPtr dom;
    lv_sg_member *m = NULL;
    cg_sg_list l = {0};
    size_t n_m = 0;
    cg_error err = {0};
    const char *name, *id;
    int i, n;

    /* test:// has no nwfilter driver: nothing to remove there. */
    if ((n = virConnectListAllNWFilters(conn, &filters, 0)) < 0) {
        virResetLastError();
        return;
    }
    if (lv_sgstate_members(drv->state, &m, &n_m, &err) < 0 ||
        lv_sgstate_list(drv->state, &l, &err) < 0) {
        cg_warn("reconcile: NIC filters left as they are: %s", err.message);
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        name = virNWFilterGetName(filters[i]);
        if (name && strncmp(name, LV_NWFILTER_NICS, strlen(LV_NWFILTER_NICS)) == 0) {
            reconcile_shared(drv, conn, filters[i], &l);
            continue;
        }
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
    }

cleanup:
    for (i = 0; i < n; i++)
        virNWFilterFree(filters[i]);
    free(filters);
    free(m);
    cg_sg_list_release(&l);
}
