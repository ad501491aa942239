/* cloudgate: DescribeNetworkInterfaces.  Each instance that is not
 * terminated has exactly one interface, made and deleted with it, so the
 * list is read from the instances (driver instance_list). */
#include "ec2_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const nic_filters[] = {
    "network-interface-id", "vpc-id", "subnet-id", "attachment.instance-id",
    "attachment.device-index", "attachment.status", "availability-zone", "mac-address",
    "private-ip-address", "addresses.private-ip-address", "owner-id", "status",
    "interface-type", "group-id", "group-name", "tag-key", "tag-value", "tag:", NULL,
};

static void nic_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_instance *inst = obj;
    const char *owner = ud;
    unsigned i;

    if (strcmp(name, "group-id") == 0 || strcmp(name, "group-name") == 0) {
        for (i = 0; i < inst->n_groups; i++)
            ec2_match_offer(m, name[6] == 'n' ? inst->group_names[i] : inst->group_ids[i]);
    } else if (strcmp(name, "network-interface-id") == 0)
        ec2_match_offer(m, inst->eni_id);
    else if (strcmp(name, "vpc-id") == 0)
        ec2_match_offer(m, inst->vpc_id);
    else if (strcmp(name, "subnet-id") == 0)
        ec2_match_offer(m, inst->subnet_id);
    else if (strcmp(name, "attachment.instance-id") == 0)
        ec2_match_offer(m, inst->id);
    else if (strcmp(name, "attachment.device-index") == 0)
        ec2_match_offer(m, "0");
    else if (strcmp(name, "attachment.status") == 0)
        ec2_match_offer(m, "attached");
    else if (strcmp(name, "availability-zone") == 0)
        ec2_match_offer(m, inst->zone);
    else if (strcmp(name, "mac-address") == 0)
        ec2_match_offer(m, inst->mac);
    else if (strcmp(name, "private-ip-address") == 0 ||
             strcmp(name, "addresses.private-ip-address") == 0)
        ec2_match_offer(m, inst->private_ip[0] ? inst->private_ip : NULL);
    else if (strcmp(name, "owner-id") == 0)
        ec2_match_offer(m, owner);
    else if (strcmp(name, "status") == 0)
        ec2_match_offer(m, "in-use");
    else if (strcmp(name, "interface-type") == 0)
        ec2_match_offer(m, "interface");
    /* tag-key, tag-value, tag:KEY: interfaces carry no tags here. */
}

static const char *nic_key(const void *elem)
{
    return (*(const cg_instance *const *)elem)->eni_id;
}

int ec2_describe_network_interfaces(ec2_call *c)
{
    const char *owner = c->ctx->cfg->account_id ? c->ctx->cfg->account_id : "";
    const char *region = c->ctx->cfg->region ? c->ctx->cfg->region : "";
    cg_instance_list list = {0};
    const cg_instance **view = NULL;
    const char **ids = NULL;
    ec2_filters filters = {0};
    ec2_page page = {0};
    cg_error err = {0};
    char *next = NULL;
    size_t n_ids = 0, n = 0, i, j, len = 0;
    int ret = -1;

    if (ec2_param_list(c, "NetworkInterfaceId", 0, &ids, &n_ids) < 0 ||
        ec2_param_filters(c, nic_filters, &filters) < 0 ||
        ec2_param_page(c, "network-interfaces", 5, 1000, &page) < 0)
        goto cleanup;
    for (i = 0; i < n_ids; i++) {
        if (!ec2_id_valid(ids[i], "eni-")) {
            ec2_fail(c, "InvalidNetworkInterfaceID.Malformed",
                     "Invalid id: \"%.64s\" (expecting \"eni-...\")", ids[i]);
            goto cleanup;
        }
    }
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, &list) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (list.n && !(view = calloc(list.n, sizeof(*view)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < n_ids; i++) {
        for (j = 0; j < list.n && strcmp(list.v[j].eni_id, ids[i]) != 0; j++)
            ;
        if (j == list.n) {
            ec2_fail(c, "InvalidNetworkInterfaceID.NotFound",
                     "The networkInterface ID '%.64s' does not exist", ids[i]);
            goto cleanup;
        }
    }
    for (i = 0; i < list.n; i++) {
        if (!list.v[i].eni_id[0])
            continue;
        for (j = 0; j < n_ids && strcmp(list.v[i].eni_id, ids[j]) != 0; j++)
            ;
        if ((n_ids && j == n_ids) ||
            !ec2_filters_match(&filters, &list.v[i], nic_field, (void *)owner))
            continue;
        view[n++] = &list.v[i];
    }
    ec2_sort(view, n, sizeof(*view), nic_key);
    if (ec2_page_take(&page, view, &n, sizeof(*view), nic_key, &next, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_describe_network_interfaces(c->req->request_id, view, n, owner,
                                                           region, next, &len), &len);

cleanup:
    free(next);
    free(view);
    free(ids);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_instance_list_release(&list);
    return ret;
}
