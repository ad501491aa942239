/* cloudgate libvirt driver: instances in subnets (lv_vpc.h).
 *
 * An instance has one NIC, on its subnet's VPC network in its zone.  Which
 * subnet is recorded (instance_nics) for launches that named one; every
 * other instance, those made before VPCs existed included, is in its zone's
 * default subnet.  The interface id is derived from the instance id, so it
 * needs no record and stays the same for the instance's life.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "lv_rows.h"
#include "lv_vpc.h"

/* "eni-" + the hex digits of instance id into buf. */
static void eni_of(const char *instance_id, char *buf, size_t len)
{
    snprintf(buf, len, "eni-%.17s", strncmp(instance_id, "i-", 2) == 0 ? instance_id + 2
                                                                     : instance_id);
}

/* The subnet called id in l, or NULL. */
static const cg_subnet *subnet_find(const cg_subnet_list *l, const char *id)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    }
    return NULL;
}

int lv_vpc_launch_network(cg_drv *drv, const char *subnet_id, const char *zone, char *net,
                          size_t len, cg_error *err)
{
    cg_subnet_list subs = {0};
    cg_vpc_list vpcs = {0};
    const cg_subnet *s;
    size_t i;
    int ret = -1;

    if (!subnet_id) {
        snprintf(net, len, "%s", drv->cfg->network ? drv->cfg->network : "");
        return 0;
    }
    if (lv_netstate_subnets(drv->state, &subs, err) < 0 ||
        lv_netstate_vpcs(drv->state, &vpcs, err) < 0)
        goto cleanup;
    if (!(s = subnet_find(&subs, subnet_id))) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "The subnet ID '%s' does not exist", subnet_id);
        goto cleanup;
    }
    if (strcmp(s->zone, zone) != 0) {
        cg_error_set(err, CG_ERR_INVALID, "subnet %s is in zone %s, not %s", subnet_id, s->zone,
                     zone);
        goto cleanup;
    }
    for (i = 0; i < vpcs.n && strcmp(vpcs.v[i].id, s->vpc_id) != 0; i++)
        ;
    if (i == vpcs.n) {
        cg_error_set(err, CG_ERR_NOT_FOUND, "subnet %s has no VPC", subnet_id);
        goto cleanup;
    }
    snprintf(net, len, "%s", vpcs.v[i].network);
    ret = 0;

cleanup:
    cg_vpc_list_release(&vpcs);
    cg_subnet_list_release(&subs);
    return ret;
}

int lv_vpc_nic_add(cg_drv *drv, const char *instance_id, const char *subnet_id, cg_error *err)
{
    char eni[24];
    int ret;

    eni_of(instance_id, eni, sizeof(eni));
    /* Under the lock, so that a DeleteSubnet either sees this row or ran
     * before it (then the subnet's row is gone and the insert fails). */
    pthread_mutex_lock(&lv_vpc_lock);
    ret = lv_netstate_nic_add(drv->state, instance_id, subnet_id, eni, err);
    pthread_mutex_unlock(&lv_vpc_lock);
    return ret;
}

void lv_vpc_fill_instances(cg_drv *drv, cg_instance_list *list)
{
    cg_subnet_list subs = {0};
    cg_error err = {0};
    lv_nic *nics = NULL;
    const cg_subnet *s;
    size_t i, j, n_nics = 0;

    if (!list->n)
        return;
    if (lv_netstate_subnets(drv->state, &subs, &err) < 0 ||
        lv_netstate_nics(drv->state, &nics, &n_nics, &err) < 0) {
        cg_warn("instance networks: %s", err.message);
        goto cleanup;
    }
    if (lv_rows_sort_by_id(nics, n_nics, sizeof(*nics)) < 0) {
        cg_warn("instance networks: out of memory");
        goto cleanup;
    }
    for (i = 0; i < list->n; i++) {
        cg_instance *inst = &list->v[i];

        inst->vpc_id[0] = inst->subnet_id[0] = inst->eni_id[0] = '\0';
        if (inst->state == CG_STATE_TERMINATED)
            continue;
        j = lv_rows_find_id(nics, n_nics, sizeof(*nics), inst->id);
        s = j < n_nics ? subnet_find(&subs, nics[j].subnet_id) : NULL;
        for (j = 0; !s && j < subs.n; j++) {
            if (subs.v[j].default_for_az && strcmp(subs.v[j].zone, inst->zone) == 0)
                s = &subs.v[j];
        }
        if (!s)
            continue;
        snprintf(inst->vpc_id, sizeof(inst->vpc_id), "%s", s->vpc_id);
        snprintf(inst->subnet_id, sizeof(inst->subnet_id), "%s", s->id);
        eni_of(inst->id, inst->eni_id, sizeof(inst->eni_id));
    }

cleanup:
    free(nics);
    cg_subnet_list_release(&subs);
}

int lv_vpc_add_leases(virConnectPtr conn, virNetworkDHCPLeasePtr **all, int n)
{
    virNetworkPtr *nets = NULL;
    virNetworkDHCPLeasePtr *more = NULL, *grown;
    const char *name;
    int i, j, m, k;

    if ((m = virConnectListAllNetworks(conn, &nets, VIR_CONNECT_LIST_NETWORKS_ACTIVE)) < 0) {
        virResetLastError();
        return n;
    }
    for (i = 0; i < m; i++) {
        name = virNetworkGetName(nets[i]);
        k = name && strncmp(name, "cg-vpc-", 7) == 0
                ? virNetworkGetDHCPLeases(nets[i], NULL, &more, 0) : 0;
        if (k > 0 && (grown = realloc(*all, (size_t)(n + k) * sizeof(*grown)))) {
            memcpy(grown + n, more, (size_t)k * sizeof(*more));
            *all = grown;
            n += k;
        } else {
            for (j = 0; j < k; j++)
                virNetworkDHCPLeaseFree(more[j]);
        }
        free(more);
        more = NULL;
        virNetworkFree(nets[i]);
    }
    free(nets);
    virResetLastError();
    return n;
}
