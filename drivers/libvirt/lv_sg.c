/* cloudgate libvirt driver: security groups (lv_sg.h).
 *
 * SQLite holds the groups and rules (lv_sgstate.c); each group is also the
 * nwfilter "cg-sg-<id>" in every zone (lv_nwfilter.c), redefined after each
 * change, which libvirt applies live to the NICs that use it.  A new group's
 * filter is defined before its row is written and undefined if the row
 * cannot be; a rule change is recorded first and undone if the filter cannot
 * be redefined.  A crash between the two leaves a "cg-sg-" filter without a
 * row, which lv_sg_reconcile_zone removes at the next start.  A group named
 * as a source by an all-protocol rule is also an ipset of its members'
 * addresses (lv_sg_ipset.h), destroyed after its filter.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_nwfilter.h"
#include "lv_sg.h"
#include "lv_sg_ipset.h"

/* Changes to groups and their filters, one at a time: a filter is always
 * built from the rows as the last change left them. */
static pthread_mutex_t sg_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set while this thread holds sg_lock: a listing made under it must not
 * start a peer resync (lv_sg_peers_changed), which takes the lock. */
static __thread int holding;

static void sg_lock_take(void)
{
    pthread_mutex_lock(&sg_lock);
    holding = 1;
}

static void sg_lock_drop(void)
{
    holding = 0;
    pthread_mutex_unlock(&sg_lock);
}

int lv_sg_lock_held(void)
{
    return holding;
}

static const cg_sg *find_group(const cg_sg_list *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    }
    return NULL;
}

/* Announce (add 1) or clear the intent to change filter name in every
 * zone: a crash in between leaves an intent lv_sg_fix_intent repairs.
 * 0 or -1 (adding; what was added is cleared). */
static int filter_intents(cg_drv *drv, const char *name, int add, cg_error *err)
{
    char key[160];
    size_t i;

    for (i = 0; i < drv->n_hosts; i++) {
        snprintf(key, sizeof(key), "%s@%s", name, lv_host_zone(drv->hosts[i]));
        if (!add) {
            lv_intent_done(drv->state, key);
        } else if (lv_intent_add(drv->state, LV_INTENT_SG, key, lv_host_zone(drv->hosts[i]),
                                 name, err) < 0) {
            while (i-- > 0) {
                snprintf(key, sizeof(key), "%s@%s", name, lv_host_zone(drv->hosts[i]));
                lv_intent_done(drv->state, key);
            }
            return -1;
        }
    }
    return 0;
}

/* Who is in which group, with their addresses: the peers of every group
 * of a listing (a group-source rule becomes one rule per address). */
typedef struct peer_set {
    cg_instance_list insts;
    lv_sg_member *members;
    size_t n_members;
    const char **ips;          /* grouped by group, pointing into insts */
    lv_sg_peers *v;            /* one per group of the listing */
} peer_set;

static void peer_set_release(peer_set *p)
{
    cg_instance_list_release(&p->insts);
    free(p->members);
    free(p->ips);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* The address of live instance id in insts, or NULL (not known yet). */
static const char *address_of(const cg_instance_list *insts, const char *id)
{
    size_t i;

    for (i = 0; i < insts->n; i++) {
        if (strcmp(insts->v[i].id, id) == 0)
            return insts->v[i].state != CG_STATE_TERMINATED && insts->v[i].private_ip[0]
                       ? insts->v[i].private_ip
                       : NULL;
    }
    return NULL;
}

static int peer_set_read(cg_drv *drv, const cg_sg_list *l, peer_set *p, cg_error *err)
{
    size_t i, j, used = 0;
    const char *ip;

    memset(p, 0, sizeof(*p));
    if (lv_sgstate_members(drv->state, &p->members, &p->n_members, err) < 0 ||
        lv_driver.instance_list(drv, &p->insts, err) < 0)
        return -1;
    p->ips = calloc(p->n_members + 1, sizeof(*p->ips));
    p->v = calloc(l->n + 1, sizeof(*p->v));
    if (!p->ips || !p->v) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < l->n; i++) {
        p->v[i].group_id = l->v[i].id;
        p->v[i].ips = p->ips + used;
        for (j = 0; j < p->n_members; j++) {
            if (strcmp(p->members[j].group_id, l->v[i].id) == 0 &&
                (ip = address_of(&p->insts, p->members[j].instance_id))) {
                p->ips[used++] = ip;
                p->v[i].n++;
            }
        }
    }
    return 0;
}

/* 1 when a rule of l matches group g's set (lv_nwfilter_rule_by_set):
 * only such groups need one. */
static int named_as_source(const cg_sg_list *l, const cg_sg *g)
{
    size_t i, j;

    for (i = 0; i < l->n; i++) {
        for (j = 0; j < l->v[i].n_rules; j++) {
            if (lv_nwfilter_rule_by_set(&l->v[i].rules[j]) &&
                strcmp(l->v[i].rules[j].group, g->id) == 0)
                return 1;
        }
    }
    return 0;
}

/* With source groups as ipsets: the set of every group of l named as a
 * source, with its members' addresses in p (fill) or as it is (created
 * empty when missing).  Before a filter naming a set is applied: libvirt
 * cannot apply a rule naming a set that does not exist.  0 or -1. */
static int write_sets(cg_drv *drv, const cg_sg_list *l, const peer_set *p, int fill, cg_error *err)
{
    lv_sg_peers *v;
    size_t i, n = 0;
    int ret;

    if (!lv_sg_ipset_on(drv))
        return 0;
    if (!(v = calloc(l->n + 1, sizeof(*v)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < l->n; i++) {
        if (named_as_source(l, &l->v[i])) {
            v[n] = p ? p->v[i] : (lv_sg_peers){.group_id = l->v[i].id};
            n++;
        }
    }
    ret = lv_sg_ipset_write(v, n, fill, err);
    free(v);
    return ret;
}

/* Set when a refresh left out a zone that was down: the next listing of
 * every instance redefines the source-group filters again
 * (lv_sg_refresh_pending), so a zone that comes back catches up. */
static int refresh_pending;

int lv_sg_refresh_pending(cg_drv *drv)
{
    size_t i;

    if (!__atomic_load_n(&refresh_pending, __ATOMIC_ACQUIRE))
        return 0;
    /* Not while a zone is still down: each try would cost a listing the
     * defines' seconds, for nothing. */
    for (i = 0; i < drv->n_hosts; i++) {
        if (!lv_host_available(drv->hosts[i]))
            return 0;
    }
    return __atomic_exchange_n(&refresh_pending, 0, __ATOMIC_ACQ_REL);
}

/* Build and define the filters of the groups of l that want[i] marks,
 * concurrently.  A refresh (membership or a new default group, not a change
 * the caller asked for) skips zones that are down.  0 or -1. */
static int sync_filters(cg_drv *drv, const cg_sg_list *l, const int *want, int refresh,
                        cg_error *err)
{
    char **xmls = l->n ? calloc(l->n, sizeof(*xmls)) : NULL;
    int by_set = lv_sg_ipset_on(drv);
    peer_set peers;
    size_t i, n = 0, skipped = 0;
    int ret = -1;

    if (l->n && !xmls) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (peer_set_read(drv, l, &peers, err) < 0 || write_sets(drv, l, &peers, 1, err) < 0)
        goto cleanup;
    for (i = 0; i < l->n; i++) {
        if (want[i] && !(xmls[n++] = lv_nwfilter_group_xml(&l->v[i], peers.v, l->n, by_set, err)))
            goto cleanup;
    }
    ret = lv_nwfilter_define_all(drv, xmls, n, refresh, &skipped, err);
    if (skipped)
        __atomic_store_n(&refresh_pending, 1, __ATOMIC_RELEASE);

cleanup:
    for (i = 0; i < n; i++)
        free(xmls[i]);
    free(xmls);
    peer_set_release(&peers);
    return ret;
}

/* The groups of l to redefine: id itself (id may be NULL), and, when
 * sources, those with a rule naming one of sources[0..n_sources) by its
 * members' addresses (with by_set, a rule matching the source's set does
 * not change with its members).  Into want (l->n, calloc'd).  NULL on
 * failure (reported). */
static int *pick_groups(const cg_sg_list *l, const char *id, const char *const *sources,
                        size_t n_sources, int by_set, cg_error *err)
{
    int *want = calloc(l->n + 1, sizeof(*want));
    size_t i, j, k;

    if (!want) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (i = 0; i < l->n; i++) {
        want[i] = id && strcmp(l->v[i].id, id) == 0;
        for (j = 0; j < l->v[i].n_rules && !want[i]; j++) {
            if (by_set && lv_nwfilter_rule_by_set(&l->v[i].rules[j]))
                continue;
            for (k = 0; k < n_sources; k++)
                want[i] |= strcmp(l->v[i].rules[j].group, sources[k]) == 0;
        }
    }
    return want;
}

int lv_sg_ensure_filters(cg_drv *drv, virConnectPtr conn, const char *const *ids, size_t n,
                         cg_error *err)
{
    virNWFilterPtr f;
    cg_sg_list l = {0};
    int *want = NULL;
    char name[64];
    size_t i, j, missing = 0;
    int ret = -1;

    sg_lock_take();
    if (lv_sgstate_list(drv->state, &l, err) < 0 ||
        !(want = pick_groups(&l, NULL, NULL, 0, 0, err)))
        goto cleanup;
    for (i = 0; i < n; i++) {
        lv_nwfilter_group_name(ids[i], name, sizeof(name));
        if ((f = virNWFilterLookupByName(conn, name))) {
            virNWFilterFree(f);
            continue;
        }
        virResetLastError();
        for (j = 0; j < l.n; j++) {
            if (strcmp(l.v[j].id, ids[i]) == 0 && !want[j]) {
                want[j] = 1;
                missing++;
            }
        }
    }
    ret = missing ? sync_filters(drv, &l, want, 1, err) : 0;

cleanup:
    sg_lock_drop();
    free(want);
    cg_sg_list_release(&l);
    return ret;
}

int lv_sg_sync_sources(cg_drv *drv, const char *const *sources, size_t n, cg_error *err)
{
    cg_sg_list l = {0};
    int *want = NULL, by_set = lv_sg_ipset_on(drv), ret = -1;
    peer_set peers = {0};
    size_t i;

    sg_lock_take();
    if (lv_sgstate_list(drv->state, &l, err) < 0)
        goto cleanup;
    /* With sets, a rule naming a set stays as it is: its set changes.
     * The filters with rules naming each member still change. */
    if (!(want = pick_groups(&l, NULL, sources, n, by_set, err)))
        goto cleanup;
    for (i = 0; i < l.n && !want[i]; i++)
        ;
    if (i < l.n)
        ret = sync_filters(drv, &l, want, 1, err); /* the sets too */
    else if (!by_set)
        ret = 0;
    else if (peer_set_read(drv, &l, &peers, err) == 0)
        ret = write_sets(drv, &l, &peers, 1, err);

cleanup:
    sg_lock_drop();
    free(want);
    peer_set_release(&peers);
    cg_sg_list_release(&l);
    return ret;
}

/* Redefine group id's filter from its rows.  0 or -1. */
static int sync_group(cg_drv *drv, const char *id, cg_error *err)
{
    cg_sg_list l = {0};
    int *want = NULL;
    int ret = -1;

    if (lv_sgstate_list(drv->state, &l, err) < 0 || !(want = pick_groups(&l, id, NULL, 0, 0, err)))
        goto cleanup;
    ret = sync_filters(drv, &l, want, 0, err);

cleanup:
    free(want);
    cg_sg_list_release(&l);
    return ret;
}

/* The filters of the groups in before but not in after (their VPC is
 * gone) go; one that cannot keeps an intent for the next start. */
static void drop_gone_filters(cg_drv *drv, const cg_sg_list *before, const cg_sg_list *after)
{
    cg_error quiet = {0};
    char name[64];
    size_t i;

    for (i = 0; i < before->n; i++) {
        if (find_group(after, before->v[i].id))
            continue;
        lv_nwfilter_group_name(before->v[i].id, name, sizeof(name));
        if (lv_nwfilter_undefine_all(drv, name, &quiet) < 0) {
            cg_warn("filter %s stays until the next start: %s", name, quiet.message);
            filter_intents(drv, name, 1, NULL);
        }
    }
    /* Their sets once no filter names them. */
    for (i = 0; i < before->n; i++) {
        if (!find_group(after, before->v[i].id))
            lv_sg_ipset_destroy(drv, before->v[i].id);
    }
}

int lv_sg_list(cg_drv *drv, cg_sg_list *out, cg_error *err)
{
    cg_sg_list before = {0};
    int *want = NULL;
    size_t i, n_new = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    sg_lock_take();
    /* A VPC made since gets its default group (and its filter) now; the
     * groups of a VPC deleted since go (with theirs). */
    if (lv_sgstate_list(drv->state, &before, err) < 0 ||
        lv_sgstate_ensure_defaults(drv->state, err) < 0 ||
        lv_sgstate_list(drv->state, out, err) < 0)
        goto cleanup;
    drop_gone_filters(drv, &before, out);
    if (out->n && !(want = calloc(out->n, sizeof(*want)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < out->n; i++)
        n_new += want[i] = !find_group(&before, out->v[i].id);
    if (n_new && sync_filters(drv, out, want, 1, err) < 0)
        cg_warn("new default security group filters: %s", err->message);
    ret = 0;

cleanup:
    sg_lock_drop();
    free(want);
    cg_sg_list_release(&before);
    if (ret < 0)
        cg_sg_list_release(out);
    return ret;
}

int lv_sg_create(cg_drv *drv, const cg_sg *spec, cg_sg *out, cg_error *err)
{
    cg_sg_rule egress;
    char *xml = NULL, name[64];
    cg_sg g;
    int intents = 0, ret = -1;

    memset(out, 0, sizeof(*out));
    g = *spec;
    memset(&g.tags, 0, sizeof(g.tags));
    cg_new_id(g.id, sizeof(g.id), "sg-");
    g.is_default = 0;
    /* AWS's default egress rule: everything, anywhere. */
    lv_sg_rule_all(&egress, 1, "0.0.0.0/0", NULL);
    g.rules = &egress;
    g.n_rules = 1;
    g.tags = spec->tags;
    lv_nwfilter_group_name(g.id, name, sizeof(name));
    sg_lock_take();
    if (lv_sgstate_ensure_defaults(drv->state, err) < 0 ||
        !(xml = lv_nwfilter_group_xml(&g, NULL, 0, lv_sg_ipset_on(drv), err)) ||
        filter_intents(drv, name, 1, err) < 0)
        goto cleanup;
    intents = 1;
    if (lv_nwfilter_define_all(drv, &xml, 1, 0, NULL, err) < 0 || lv_sgstate_add(drv->state, &g, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    /* Undone, or kept with its intent for the next start to remove. */
    if (ret < 0 && intents && lv_nwfilter_undefine_all(drv, name, NULL) < 0)
        intents = 0;
    if (intents)
        filter_intents(drv, name, 0, NULL);
    sg_lock_drop();
    free(xml);
    if (ret == 0) {
        *out = g;
        out->rules = NULL;
        out->n_rules = 0;
        memset(&out->tags, 0, sizeof(out->tags));
        if (cg_tags_copy(&out->tags, &spec->tags) < 0 ||
            !(out->rules = malloc(sizeof(egress)))) {
            /* The group exists; only this copy of it is short. */
            cg_warn("security group %s made; out of memory copying it", g.id);
        } else {
            out->rules[0] = egress;
            out->n_rules = 1;
        }
    }
    return ret;
}

/* Forget the group rows of instances that are gone or terminated (a crash
 * between a terminate and its cleanup leaves them): they use no group.
 * 0 or -1. */
static int forget_gone_members(cg_drv *drv, cg_error *err)
{
    cg_instance_list insts = {0};
    lv_sg_member *m = NULL;
    size_t i, j, n = 0;
    int ret = -1;

    if (lv_sgstate_members(drv->state, &m, &n, err) < 0 ||
        lv_driver.instance_list(drv, &insts, err) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        for (j = 0; j < insts.n && strcmp(insts.v[j].id, m[i].instance_id) != 0; j++)
            ;
        if ((j == insts.n || insts.v[j].state == CG_STATE_TERMINATED) &&
            lv_sgstate_instance_set(drv->state, m[i].instance_id, NULL, 0, err) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    free(m);
    cg_instance_list_release(&insts);
    return ret;
}

int lv_sg_delete(cg_drv *drv, const char *group_id, cg_error *err)
{
    cg_error quiet = {0};
    char name[64];
    int ret = -1;

    lv_nwfilter_group_name(group_id, name, sizeof(name));
    sg_lock_take();
    if (forget_gone_members(drv, err) < 0 || filter_intents(drv, name, 1, err) < 0)
        goto cleanup;
    if (lv_sgstate_delete(drv->state, group_id, err) < 0) {
        filter_intents(drv, name, 0, NULL);
        goto cleanup;
    }
    /* The row is gone: a filter that stays keeps its intent, and the next
     * start removes it. */
    if (lv_nwfilter_undefine_all(drv, name, &quiet) < 0) {
        cg_warn("filter %s stays until the next start: %s", name, quiet.message);
    } else {
        /* The intent outlives the set too: the next start removes it. */
        lv_sg_ipset_destroy(drv, group_id);
        filter_intents(drv, name, 0, NULL);
    }
    ret = 0;

cleanup:
    sg_lock_drop();
    return ret;
}

int lv_sg_rules_change(cg_drv *drv, const char *group_id, int revoke, const cg_sg_rule *rules,
                       size_t n, cg_error *err)
{
    cg_error undo = {0};
    char name[64];
    int intents = 0, ret = -1;

    lv_nwfilter_group_name(group_id, name, sizeof(name));
    sg_lock_take();
    /* The rows change before the filter: a crash in between leaves the
     * intent, and the next start rebuilds the filter from the rows
     * (lv_sg_fix_intent), so a revoke cannot stay open. */
    if (filter_intents(drv, name, 1, err) < 0)
        goto cleanup;
    intents = 1;
    if (lv_sgstate_rules(drv->state, group_id, revoke, rules, n, err) < 0)
        goto cleanup;
    if (sync_group(drv, group_id, err) < 0) {
        /* The filter still holds the old rules: so must the rows. */
        if (lv_sgstate_rules(drv->state, group_id, !revoke, rules, n, &undo) < 0) {
            cg_warn("security group %s: rules and filter differ until the next start: %s",
                    group_id, undo.message);
            intents = 0;     /* kept: the next start rebuilds the filter */
        }
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (intents)
        filter_intents(drv, name, 0, NULL);
    sg_lock_drop();
    return ret;
}

/* Define g's filter in conn from its rows (and the members of the groups
 * its rules name, as far as the caches know them).  0 or -1. */
static int redefine_here(cg_drv *drv, virConnectPtr conn, const cg_sg_list *l, const cg_sg *g,
                         cg_error *err)
{
    peer_set peers;
    char *xml = NULL;
    int ret = -1;

    if (peer_set_read(drv, l, &peers, err) < 0)
        return -1;
    if (write_sets(drv, l, &peers, 1, err) == 0 &&
        (xml = lv_nwfilter_group_xml(g, peers.v, l->n, lv_sg_ipset_on(drv), err)))
        ret = lv_nwfilter_define(conn, xml, err);
    free(xml);
    peer_set_release(&peers);
    return ret;
}

int lv_sg_fix_intent(cg_drv *drv, virConnectPtr conn, const char *filter)
{
    const cg_sg *g = NULL;
    cg_sg_list l = {0};
    cg_error err = {0};
    int ret = -1;

    sg_lock_take();
    if (lv_sgstate_list(drv->state, &l, &err) < 0) {
        cg_warn("reconcile: filter %s: %s", filter, err.message);
        goto cleanup;
    }
    /* A group whose row exists gets its filter rebuilt from the row: a
     * rule change is recorded before the filter is redefined, so a crash
     * in between left the old rules enforced.  Without a row the group was
     * never shown to anyone (a create cut short) or is deleted already. */
    if (strncmp(filter, LV_NWFILTER_GROUP, strlen(LV_NWFILTER_GROUP)) == 0 &&
        (g = find_group(&l, filter + strlen(LV_NWFILTER_GROUP)))) {
        if ((ret = redefine_here(drv, conn, &l, g, &err)) < 0)
            cg_warn("reconcile: filter %s: %s", filter, err.message);
        else
            cg_info("reconcile: filter %s rebuilt from its group's rules", filter);
        goto cleanup;
    }
    if (lv_nwfilter_undefine(conn, filter, &err) < 0) {
        cg_warn("reconcile: filter %s: %s", filter, err.message);
        goto cleanup;
    }
    if (strncmp(filter, LV_NWFILTER_GROUP, strlen(LV_NWFILTER_GROUP)) == 0)
        lv_sg_ipset_destroy(drv, filter + strlen(LV_NWFILTER_GROUP));
    cg_info("reconcile: removed filter %s (its group has no record)", filter);
    ret = 0;

cleanup:
    sg_lock_drop();
    cg_sg_list_release(&l);
    return ret;
}

/* 1 when conn's filter of g was built with sets (or g needs none, or
 * conn has none). */
static int filter_has_sets(virConnectPtr conn, const cg_sg *g)
{
    virNWFilterPtr f;
    char name[64], *xml = NULL;
    size_t i;
    int yes = 1;

    for (i = 0; i < g->n_rules && !lv_nwfilter_rule_by_set(&g->rules[i]); i++)
        ;
    if (i == g->n_rules)
        return 1;
    lv_nwfilter_group_name(g->id, name, sizeof(name));
    if ((f = virNWFilterLookupByName(conn, name))) {
        xml = virNWFilterGetXMLDesc(f, 0);
        yes = xml && strstr(xml, "ipset=") != NULL;
        virNWFilterFree(f);
    }
    virResetLastError();
    free(xml);
    return yes;
}

void lv_sg_sets_reconcile(cg_drv *drv, virConnectPtr conn)
{
    cg_sg_list l = {0};
    cg_error err = {0};
    size_t i;

    if (!lv_sg_ipset_on(drv) || lv_conn_is_test(conn))
        return;
    sg_lock_take();
    if (lv_sgstate_list(drv->state, &l, &err) < 0 || write_sets(drv, &l, NULL, 0, &err) < 0) {
        cg_warn("reconcile: security group sets: %s", err.message);
        goto cleanup;
    }
    /* A filter from before sets (one rule per member address) is rebuilt
     * once: its members would otherwise never change again. */
    for (i = 0; i < l.n; i++) {
        if (filter_has_sets(conn, &l.v[i]))
            continue;
        if (redefine_here(drv, conn, &l, &l.v[i], &err) < 0) {
            cg_warn("reconcile: filter of %s: %s", l.v[i].id, err.message);
            cg_error_clear(&err);
        } else {
            cg_info("reconcile: filter of %s now names its source groups' sets", l.v[i].id);
        }
    }

cleanup:
    sg_lock_drop();
    cg_sg_list_release(&l);
}
