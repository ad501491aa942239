/* cloudgate libvirt driver: security groups (lv_sg.h).
 *
 * SQLite holds the groups and rules (lv_sgstate.c); each group is also the
 * nwfilter "cg-sg-<id>" in every zone (lv_nwfilter.c), redefined after each
 * change, which libvirt applies live to the NICs that use it.  A new group's
 * filter is defined before its row is written and undefined if the row
 * cannot be; a rule change is recorded first and undone if the filter cannot
 * be redefined.  A crash between the two leaves a "cg-sg-" filter without a
 * row, which lv_sg_reconcile_zone removes at the next start.
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

/* Changes to groups and their filters, one at a time: a filter is always
 * built from the rows as the last change left them. */
static pthread_mutex_t sg_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* Build and define the filters of the groups of l that want[i] marks,
 * concurrently.  No instance is a member of a group yet, so a group source
 * has no addresses (lv_sg_peers empty).  0 or -1. */
static int sync_filters(cg_drv *drv, const cg_sg_list *l, const int *want, cg_error *err)
{
    char **xmls = l->n ? calloc(l->n, sizeof(*xmls)) : NULL;
    size_t i, n = 0;
    int ret = -1;

    if (l->n && !xmls) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (i = 0; i < l->n; i++) {
        if (want[i] && !(xmls[n++] = lv_nwfilter_group_xml(&l->v[i], NULL, 0, err)))
            goto cleanup;
    }
    ret = lv_nwfilter_define_all(drv, xmls, n, err);

cleanup:
    for (i = 0; i < n; i++)
        free(xmls[i]);
    free(xmls);
    return ret;
}

/* Redefine group id's filter from its rows.  0 or -1. */
static int sync_group(cg_drv *drv, const char *id, cg_error *err)
{
    cg_sg_list l = {0};
    int *want = NULL;
    size_t i;
    int ret = -1;

    if (lv_sgstate_list(drv->state, &l, err) < 0)
        goto cleanup;
    if (l.n && !(want = calloc(l.n, sizeof(*want)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < l.n; i++)
        want[i] = strcmp(l.v[i].id, id) == 0;
    ret = sync_filters(drv, &l, want, err);

cleanup:
    free(want);
    cg_sg_list_release(&l);
    return ret;
}

int lv_sg_list(cg_drv *drv, cg_sg_list *out, cg_error *err)
{
    int *want = NULL;
    size_t i, before = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&sg_lock);
    if (lv_sgstate_list(drv->state, out, err) < 0)
        goto cleanup;
    for (i = 0; i < out->n; i++)
        before += out->v[i].is_default;
    cg_sg_list_release(out);
    /* A VPC made since gets its default group (and its filter) now. */
    if (lv_sgstate_ensure_defaults(drv->state, err) < 0 ||
        lv_sgstate_list(drv->state, out, err) < 0)
        goto cleanup;
    if (out->n && !(want = calloc(out->n, sizeof(*want)))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < out->n; i++)
        want[i] = out->v[i].is_default;
    for (i = 0; i < out->n && out->v[i].is_default; i++)
        ;
    if (i > before && sync_filters(drv, out, want, err) < 0)
        cg_warn("default security group filters: %s", err->message);
    ret = 0;

cleanup:
    pthread_mutex_unlock(&sg_lock);
    free(want);
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
    pthread_mutex_lock(&sg_lock);
    if (lv_sgstate_ensure_defaults(drv->state, err) < 0 ||
        !(xml = lv_nwfilter_group_xml(&g, NULL, 0, err)) ||
        filter_intents(drv, name, 1, err) < 0)
        goto cleanup;
    intents = 1;
    if (lv_nwfilter_define_all(drv, &xml, 1, err) < 0 || lv_sgstate_add(drv->state, &g, err) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    /* Undone, or kept with its intent for the next start to remove. */
    if (ret < 0 && intents && lv_nwfilter_undefine_all(drv, name, NULL) < 0)
        intents = 0;
    if (intents)
        filter_intents(drv, name, 0, NULL);
    pthread_mutex_unlock(&sg_lock);
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

int lv_sg_delete(cg_drv *drv, const char *group_id, cg_error *err)
{
    cg_error quiet = {0};
    char name[64];
    int ret = -1;

    lv_nwfilter_group_name(group_id, name, sizeof(name));
    pthread_mutex_lock(&sg_lock);
    if (filter_intents(drv, name, 1, err) < 0)
        goto cleanup;
    if (lv_sgstate_delete(drv->state, group_id, err) < 0) {
        filter_intents(drv, name, 0, NULL);
        goto cleanup;
    }
    /* The row is gone: a filter that stays keeps its intent, and the next
     * start removes it. */
    if (lv_nwfilter_undefine_all(drv, name, &quiet) < 0)
        cg_warn("filter %s stays until the next start: %s", name, quiet.message);
    else
        filter_intents(drv, name, 0, NULL);
    ret = 0;

cleanup:
    pthread_mutex_unlock(&sg_lock);
    return ret;
}

int lv_sg_rules_change(cg_drv *drv, const char *group_id, int revoke, const cg_sg_rule *rules,
                       size_t n, cg_error *err)
{
    cg_error undo = {0};
    int ret = -1;

    pthread_mutex_lock(&sg_lock);
    if (lv_sgstate_rules(drv->state, group_id, revoke, rules, n, err) < 0)
        goto cleanup;
    if (sync_group(drv, group_id, err) < 0) {
        /* The filter still holds the old rules: so must the rows. */
        if (lv_sgstate_rules(drv->state, group_id, !revoke, rules, n, &undo) < 0)
            cg_warn("security group %s: rules and filter differ: %s", group_id, undo.message);
        goto cleanup;
    }
    ret = 0;

cleanup:
    pthread_mutex_unlock(&sg_lock);
    return ret;
}

int lv_sg_fix_intent(cg_drv *drv, virConnectPtr conn, const char *filter)
{
    cg_sg_list l = {0};
    cg_error err = {0};
    int ret = -1;

    if (lv_sgstate_list(drv->state, &l, &err) < 0) {
        cg_warn("reconcile: filter %s: %s", filter, err.message);
        goto cleanup;
    }
    /* A group whose row exists keeps its filter; otherwise it was never
     * shown to anyone (a create cut short) or is deleted already. */
    if (strncmp(filter, LV_NWFILTER_GROUP, strlen(LV_NWFILTER_GROUP)) == 0 &&
        find_group(&l, filter + strlen(LV_NWFILTER_GROUP))) {
        ret = 0;
        goto cleanup;
    }
    if (lv_nwfilter_undefine(conn, filter, &err) < 0) {
        cg_warn("reconcile: filter %s: %s", filter, err.message);
        goto cleanup;
    }
    cg_info("reconcile: removed filter %s (its group has no record)", filter);
    ret = 0;

cleanup:
    cg_sg_list_release(&l);
    return ret;
}
