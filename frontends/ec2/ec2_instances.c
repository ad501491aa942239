/* cloudgate: EC2 instance actions: RunInstances, DescribeInstances,
 * DescribeInstanceStatus, Start/Stop/Reboot/TerminateInstances, and the
 * user-data and TagSpecification rules ModifyInstanceAttribute and the key
 * pair actions share.
 *
 * State rules live in the driver: it answers CG_ERR_STATE and friends, and
 * ec2_fail_cg() turns them into AWS codes naming the instance.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/instance_ops.h"
#include "../../engine/instance_view.h"
#include "ec2.h"
#include "../../gateway/util.h"

#define EC2_CLIENT_TOKEN_MAX 64

/* AWS's RunInstances default when InstanceType is absent. */
#define EC2_DEFAULT_TYPE "m1.small"

static const char *const instance_filters[] = {
    "instance-id",
    "instance-state-name",
    "instance-state-code",
    "image-id",
    "instance-type",
    "availability-zone",
    "private-ip-address",
    "private-dns-name",
    "reservation-id",
    "key-name",
    "client-token",
    "owner-id",
    "launch-index",
    "vpc-id",
    "subnet-id",
    "network-interface.network-interface-id",
    "instance.group-id",
    "instance.group-name",
    "group-id",
    "group-name",
    "tag-key",
    "tag-value",
    "tag:",
    NULL,
};

static const char *const status_filters[] = {
    "instance-id",
    "instance-state-name",
    "instance-state-code",
    "image-id",
    "instance-type",
    "availability-zone",
    "private-ip-address",
    "private-dns-name",
    "tag-key",
    "tag-value",
    "tag:",
    "instance-status.status",
    "system-status.status",
    "instance-status.reachability",
    "system-status.reachability",
    "event.code",
    NULL,
};

static int load_instances(ec2_call *c, cg_instance_list *list)
{
    cg_error err = {0};

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_list, &err, list) < 0)
        return ec2_fail_cg(c, &err, NULL);
    return 0;
}

static void instance_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_instance *inst = obj;
    const ec2_call *c = ud;
    char dns[160];
    unsigned i;

    if (ec2_match_tags(m, name, &inst->tags))
        return;
    if (strcmp(name, "instance-id") == 0) {
        ec2_match_offer(m, inst->id);
    } else if (strcmp(name, "instance-state-name") == 0) {
        ec2_match_offer(m, cg_instance_state_name(inst->state));
    } else if (strcmp(name, "instance-state-code") == 0) {
        ec2_match_offer_uint(m, (unsigned)inst->state);
    } else if (strcmp(name, "image-id") == 0) {
        ec2_match_offer(m, inst->image_id);
    } else if (strcmp(name, "instance-type") == 0) {
        ec2_match_offer(m, inst->instance_type);
    } else if (strcmp(name, "availability-zone") == 0) {
        ec2_match_offer(m, inst->zone);
    } else if (strcmp(name, "private-ip-address") == 0) {
        /* No lease yet: no address to match, as in the response. */
        if (inst->private_ip[0])
            ec2_match_offer(m, inst->private_ip);
    } else if (strcmp(name, "private-dns-name") == 0) {
        ec2_private_dns_name(inst->private_ip, c->ctx->cfg->region, dns, sizeof(dns));
        if (dns[0])
            ec2_match_offer(m, dns);
    } else if (strcmp(name, "reservation-id") == 0) {
        ec2_match_offer(m, inst->reservation_id);
    } else if (strcmp(name, "key-name") == 0) {
        if (inst->key_name[0])
            ec2_match_offer(m, inst->key_name);
    } else if (strcmp(name, "client-token") == 0) {
        if (inst->client_token[0])
            ec2_match_offer(m, inst->client_token);
    } else if (strcmp(name, "owner-id") == 0) {
        ec2_match_offer(m, c->ctx->cfg->account_id);
    } else if (strcmp(name, "launch-index") == 0) {
        ec2_match_offer_uint(m, inst->ami_launch_index);
    } else if (strcmp(name, "vpc-id") == 0) {
        ec2_match_offer(m, inst->vpc_id[0] ? inst->vpc_id : NULL);
    } else if (strcmp(name, "subnet-id") == 0) {
        ec2_match_offer(m, inst->subnet_id[0] ? inst->subnet_id : NULL);
    } else if (strcmp(name, "network-interface.network-interface-id") == 0) {
        ec2_match_offer(m, inst->eni_id[0] ? inst->eni_id : NULL);
    } else if (strcmp(name, "instance.group-id") == 0 || strcmp(name, "group-id") == 0 ||
               strcmp(name, "instance.group-name") == 0 || strcmp(name, "group-name") == 0) {
        for (i = 0; i < inst->n_groups; i++)
            ec2_match_offer(m, strstr(name, "name") ? inst->group_names[i] : inst->group_ids[i]);
    } else if (strncmp(name, "instance-status.", 16) == 0 ||
               strncmp(name, "system-status.", 14) == 0) {
        const char *reach;
        const char *status = ec2_status_check(inst, name[0] == 's', &reach);

        if (strcmp(strchr(name, '.') + 1, "status") == 0)
            ec2_match_offer(m, status);
        else if (strcmp(strchr(name, '.') + 1, "reachability") == 0 && reach)
            ec2_match_offer(m, reach);
    }
    /* event.code: we never schedule events, so nothing matches. */
}

static const char *instance_key(const void *elem)
{
    return (*(const cg_instance *const *)elem)->id;
}

static int id_listed(const char *const *ids, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0)
            return 1;
    }
    return 0;
}

/* A new listing's part, once before requests share it: the pseudo tags,
 * and the fragments of instances gone are dropped. */
static int decorate(cg_instance_list *list, cg_error *err)
{
    if (ec2_instances_pseudo_tags(list, err) < 0)
        return -1;
    ec2_fragments_prune(list);
    return 0;
}

/* The instances as DescribeInstances shows them, shared by the requests
 * that come while nothing changes (engine/instance_view.h). */
static cg_instance_view view = CG_INSTANCE_VIEW_INIT(decorate);

void ec2_idle(void)
{
    cg_instance_view_clear(&view);
}

/* The shared body of DescribeInstances and DescribeInstanceStatus. */
static int describe(ec2_call *c, int status)
{
    const cg_listing *listing = NULL;
    const cg_instance_list *list;
    ec2_filters filters = {0};
    ec2_page page = {0};
    const char **ids = NULL;
    const cg_instance **shown = NULL;
    size_t n_ids = 0, n = 0, i;
    char *token = NULL, *body = NULL;
    size_t len = 0;
    int all = 0, ret = -1;
    cg_error err = {0};

    if (ec2_param_list(c, "InstanceId", 0, &ids, &n_ids) < 0 ||
        ec2_param_filters(c, status ? status_filters : instance_filters, &filters) < 0 ||
        ec2_param_page(c, status ? "status" : "instances", 5, 1000, &page) < 0)
        goto cleanup;
    if (status && ec2_param_bool(c, "IncludeAllInstances", 0, &all) < 0)
        goto cleanup;
    if (n_ids && ec2_params_get(c->params, "MaxResults")) {
        ec2_fail(c, "InvalidParameterCombination",
                 "The parameter instancesSet cannot be used with the parameter maxResults");
        goto cleanup;
    }
    if (!(listing = cg_instance_view_get(&view, c->ctx->driver, c->ctx->drv, &err))) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    list = &listing->list;
    if (ec2_check_instance_ids(c, ids, n_ids, list) < 0)
        goto cleanup;

    if (list->n && !(shown = calloc(list->n, sizeof(*shown)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < list->n; i++) {
        const cg_instance *inst = &list->v[i];

        if (n_ids && !id_listed(ids, n_ids, inst->id))
            continue;
        /* DescribeInstanceStatus shows running instances unless asked. */
        if (status && !all && inst->state != CG_STATE_RUNNING)
            continue;
        if (!ec2_filters_match(&filters, inst, instance_field, c))
            continue;
        shown[n++] = inst;
    }
    ec2_sort(shown, n, sizeof(*shown), instance_key);
    if (ec2_page_take(&page, shown, &n, sizeof(*shown), instance_key, &token, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (status) {
        body = ec2_xml_instance_status(c->req->request_id, shown, n, token, &len);
    } else {
        /* Attached volumes show in blockDeviceMapping (a driver without
         * volumes: the root disks only). */
        gw_piece *pcs = ec2_fragments_describe_listed(c->req->request_id, c->ctx->cfg, listing,
                                                      shown, n, token, &len);

        ret = ec2_reply_pieces(c, pcs, len);
        goto cleanup;
    }
    ret = ec2_reply(c, body, &len);

cleanup:
    free(token);
    free(shown);
    free(ids);
    ec2_page_release(&page);
    ec2_filters_release(&filters);
    cg_instance_view_put(&view, listing);
    return ret;
}

int ec2_describe_instances(ec2_call *c)
{
    return describe(c, 0);
}

int ec2_describe_instance_status(ec2_call *c)
{
    return describe(c, 1);
}

/* ---- RunInstances ------------------------------------------------------- */

static int parse_count(ec2_call *c, const char *name, unsigned *out)
{
    const char *s = ec2_params_get(c->params, name);
    unsigned long v = 0;
    const char *p;

    if (!s)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter %s", name);
    for (p = s; *p >= '0' && *p <= '9' && v <= 1000000; p++)
        v = v * 10 + (unsigned long)(*p - '0');
    if (!*s || *p || v < 1 || v > 1000)
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.32s) for parameter %s is invalid. Expecting a number "
                        "between 1 and 1000.",
                        s, name);
    *out = (unsigned)v;
    return 0;
}

/* UserData: base64 (line breaks tolerated, as MIME encoders add them),
 * at most EC2_USER_DATA_MAX bytes once decoded; *data is NULL when it
 * decodes to nothing. */
int ec2_user_data_decode(ec2_call *c, const char *s, unsigned char **data, size_t *len)
{
    char *packed = NULL;
    size_t i, n = 0;
    int ret = -1;

    *data = NULL;
    *len = 0;
    if (!s || !*s)
        return 0;
    if (!(packed = malloc(strlen(s) + 1))) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
        return ec2_fail_cg(c, &oom, NULL);
    }
    for (i = 0; s[i]; i++) {
        if (s[i] != '\r' && s[i] != '\n')
            packed[n++] = s[i];
    }
    packed[n] = '\0';
    /* Refuse oversized input before decoding it. */
    if (n > 4 * ((EC2_USER_DATA_MAX + 2) / 3)) {
        ec2_fail(c, "InvalidParameterValue", "User data is limited to %d bytes", EC2_USER_DATA_MAX);
        goto cleanup;
    }
    if (!(*data = cg_base64_decode(packed, n, len))) {
        ec2_fail(c, "InvalidParameterValue", "Invalid BASE64 encoding of user data.");
        goto cleanup;
    }
    if (*len > EC2_USER_DATA_MAX) {
        free(*data);
        *data = NULL;
        ec2_fail(c, "InvalidParameterValue", "User data is limited to %d bytes", EC2_USER_DATA_MAX);
        goto cleanup;
    }
    /* Only line breaks: no user data, as an absent parameter (the driver
     * reads a non-NULL pointer as user data to store). */
    if (*len == 0) {
        free(*data);
        *data = NULL;
    }
    ret = 0;

cleanup:
    free(packed);
    return ret;
}

static const cg_instance_type *pick_type(ec2_call *c)
{
    const cg_config *cfg = c->ctx->cfg;
    const char *name = ec2_params_get(c->params, "InstanceType");
    const cg_instance_type *t;

    if (!name) {
        if ((t = cg_config_find_type(cfg, EC2_DEFAULT_TYPE)))
            return t;
        if (cfg->n_types)
            return &cfg->types[0];
        ec2_fail(c, "InvalidParameterValue", "No instance types are configured.");
        return NULL;
    }
    if (!(t = cg_config_find_type(cfg, name)))
        ec2_fail(c, "InvalidParameterValue", "Invalid value '%.64s' for InstanceType.", name);
    return t;
}

static int check_zone(ec2_call *c, const char *zone)
{
    size_t i;

    for (i = 0; i < c->ctx->cfg->n_zones; i++) {
        if (strcmp(c->ctx->cfg->zones[i].name, zone) == 0)
            return 0;
    }
    return ec2_fail(c, "InvalidParameterValue", "Invalid availability zone: [%.64s]", zone);
}

static int by_launch_index(const void *a, const void *b)
{
    const cg_instance *x = *(const cg_instance *const *)a;
    const cg_instance *y = *(const cg_instance *const *)b;

    if (x->ami_launch_index != y->ami_launch_index)
        return x->ami_launch_index < y->ami_launch_index ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Answer with the reservation in list (launch order). */
static int reply_reservation(ec2_call *c, const cg_instance_list *list, const char *rid)
{
    const cg_instance **shown = NULL;
    size_t n = 0, i, len = 0;
    int ret;

    if (list->n && !(shown = calloc(list->n, sizeof(*shown)))) {
        cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
        return ec2_fail_cg(c, &oom, NULL);
    }
    for (i = 0; i < list->n; i++) {
        if (!rid || strcmp(list->v[i].reservation_id, rid) == 0)
            shown[n++] = &list->v[i];
    }
    if (n > 1)
        qsort(shown, n, sizeof(*shown), by_launch_index);
    ret =
        ec2_reply(c, ec2_xml_run_instances(c->req->request_id, c->ctx->cfg, shown, n, &len), &len);
    free(shown);
    return ret;
}

/* ClientToken seen before: the same launch again returns the earlier
 * reservation; different parameters are IdempotentParameterMismatch.
 * Returns 1 when answered, 0 when the token is new, -1 on error. */
static int replay_client_token(ec2_call *c, const char *token, const char *image_id,
                               const cg_instance_type *type)
{
    cg_instance_list list = {0};
    const cg_instance *prev = NULL;
    size_t i;
    int ret = -1;

    if (load_instances(c, &list) < 0)
        return -1;
    for (i = 0; i < list.n && !prev; i++) {
        if (strcmp(list.v[i].client_token, token) == 0)
            prev = &list.v[i];
    }
    if (!prev) {
        ret = 0;
    } else if (strcmp(prev->image_id, image_id) != 0 ||
               strcmp(prev->instance_type, type->name) != 0) {
        ec2_fail(c, "IdempotentParameterMismatch",
                 "Arguments on this idempotent request are inconsistent with arguments used "
                 "in previous request(s).");
    } else if (reply_reservation(c, &list, prev->reservation_id) == 0) {
        ret = 1;
    }
    cg_instance_list_release(&list);
    return ret;
}

/* AWS tags the volumes a launch makes with ResourceType volume: here the
 * BlockDeviceMapping volumes get them; the root disk is no volume resource
 * (it has none to carry them). */
static const char *const run_tag_types[] = {"instance", "volume", NULL};

int ec2_run_instances(ec2_call *c)
{
    cg_launch_spec spec = {0};
    cg_tags tags = {0};
    cg_tags volume_tags = {0}; /* for the mapped volumes: see run_tag_types */
    cg_image_list images = {0};
    cg_instance_list out = {0};
    cg_keypair kp = {0};
    cg_launch_disk *disks = NULL;
    const cg_image *img;
    unsigned char *user_data = NULL;
    size_t user_data_len = 0, i;
    const char *image_id, *zone, *key, *token;
    char subnet_zone[64], subnet[32];
    ec2_group_choice groups;
    cg_error err = {0};
    int ret = -1, replayed;

    if (!(image_id = ec2_params_get(c->params, "ImageId"))) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter ImageId");
        goto cleanup;
    }
    if (!ec2_id_valid(image_id, "ami-")) {
        ec2_fail(c, "InvalidAMIID.Malformed", "Invalid id: \"%.100s\" (expecting \"ami-...\")",
                 image_id);
        goto cleanup;
    }
    if (parse_count(c, "MinCount", &spec.min_count) < 0 ||
        parse_count(c, "MaxCount", &spec.max_count) < 0)
        goto cleanup;
    if (spec.min_count > spec.max_count) {
        ec2_fail(c, "InvalidParameterValue",
                 "MinCount (%u) must be less than or equal to MaxCount (%u)", spec.min_count,
                 spec.max_count);
        goto cleanup;
    }
    if (!(spec.type = pick_type(c)))
        goto cleanup;
    zone = ec2_params_get(c->params, "Placement.AvailabilityZone");
    if (zone && !*zone)
        zone = NULL;
    if (zone && check_zone(c, zone) < 0)
        goto cleanup;
    if (ec2_launch_subnet(c, &zone, subnet_zone, sizeof(subnet_zone), subnet, sizeof(subnet)) < 0)
        goto cleanup;
    spec.subnet_id = subnet[0] ? subnet : NULL;
    /* Placement's or the subnet's: a zoned image or a mapped snapshot must agree with it. */
    spec.zone = zone;
    if (ec2_launch_groups(c, spec.subnet_id, &groups) < 0)
        goto cleanup;
    spec.group_ids = groups.ptrs;
    spec.n_groups = groups.n;
    key = ec2_params_get(c->params, "KeyName");
    if (key && (!*key || strlen(key) > 255)) {
        ec2_fail(c, "InvalidParameterValue", "Invalid value for KeyName");
        goto cleanup;
    }
    token = ec2_params_get(c->params, "ClientToken");
    if (token && strlen(token) > EC2_CLIENT_TOKEN_MAX) {
        ec2_fail(c, "InvalidParameterValue",
                 "Value for parameter clientToken is invalid. Length exceeds maximum of %d",
                 EC2_CLIENT_TOKEN_MAX);
        goto cleanup;
    }
    if (token && !*token)
        token = NULL;
    if (ec2_user_data_decode(c, ec2_params_get(c->params, "UserData"), &user_data,
                             &user_data_len) < 0 ||
        ec2_param_tag_specs_of(c, run_tag_types, (cg_tags *const[]){&tags, &volume_tags}) < 0 ||
        ec2_display_tag_take(c, &tags, &spec.display) < 0 ||
        ec2_param_metadata_options(c, "MetadataOptions.", &spec.metadata) < 0)
        goto cleanup;

    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, image_list, &err, &images) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    if (!(img = ec2_find_image(&images, image_id))) {
        ec2_fail_not_found(c, &image_id, 1);
        goto cleanup;
    }
    if (strcmp(img->state, "available") != 0) {
        ec2_fail(c, "InvalidAMIID.Unavailable", "The image '%s' is %s", img->id, img->state);
        goto cleanup;
    }
    if (ec2_param_launch_disks(c, img, &spec, &disks) < 0)
        goto cleanup;
    for (i = 0; volume_tags.n && i < spec.n_disks; i++)
        disks[i].tags = &volume_tags;
    spec.volume_tags = volume_tags.n ? &volume_tags : NULL;
    /* The key pair must exist; its public key goes into the seed. */
    if (key && ec2_key_pair_find(c, key, &kp) < 0)
        goto cleanup;
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (token && (replayed = replay_client_token(c, token, image_id, spec.type)) != 0) {
        ret = replayed > 0 ? 0 : -1;
        goto cleanup;
    }

    spec.image_id = image_id;
    spec.key_name = key;
    spec.public_key = key ? kp.public_key : NULL;
    spec.user_data = user_data;
    spec.user_data_len = user_data_len;
    spec.client_token = token;
    spec.tags = tags.n ? &tags : NULL;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_run, &err, &spec, &out) < 0) {
        ec2_fail_cg(c, &err, (err.kind == CG_ERR_NOT_FOUND || err.kind == CG_ERR_STATE) ? image_id : NULL);
        goto cleanup;
    }
    ret = reply_reservation(c, &out, NULL);

cleanup:
    free(disks);
    free(user_data);
    cg_keypair_release(&kp);
    cg_tags_release(&tags);
    cg_tags_release(&volume_tags);
    cg_image_list_release(&images);
    cg_instance_list_release(&out);
    return ret;
}

/* ---- state changes ------------------------------------------------------ */

/* Check every id exists before touching any (NotFound lists all missing
 * ones), honour DryRun, then act on each distinct id (several at a time,
 * answering within [libvirt] change_wait: engine/instance_ops.h), in
 * request order. */
static int change_state(ec2_call *c, cg_iop op)
{
    cg_instance_list list = {0};
    cg_state_change *changes = NULL;
    /* change_wait 0 is "at once": a moment, not "when all are done". */
    cg_instance_ops ops = {
        .op = op,
        .once = CG_DISPLAY_DEFAULT,
        .answer_sec = c->ctx->cfg->change_wait_sec ? (double)c->ctx->cfg->change_wait_sec : 0.001};
    const char **ids = NULL, **distinct = NULL;
    const cg_instance *inst;
    size_t n_ids = 0, n = 0, i, len = 0, failed = 0;
    int ret = -1;
    cg_error err = {0};
    char *body;

    if (ec2_param_list(c, "InstanceId", 1, &ids, &n_ids) < 0)
        goto cleanup;
    if (op == CG_IOP_STOP && ec2_param_bool(c, "Force", 0, &ops.force) < 0)
        goto cleanup;
    if (op == CG_IOP_START && ec2_run_once_param(c, &ops.once) < 0)
        goto cleanup;
    if (load_instances(c, &list) < 0 || ec2_check_instance_ids(c, ids, n_ids, &list) < 0)
        goto cleanup;
    /* A protected instance stops the whole request before any is touched;
     * the driver enforces it again for a change made meanwhile. */
    for (i = 0; op == CG_IOP_TERMINATE && i < n_ids; i++) {
        if (ec2_find_instance(&list, ids[i])->disable_api_termination) {
            cg_error_set(&err, CG_ERR_FORBIDDEN, "termination protection");
            ec2_fail_cg(c, &err, ids[i]);
            goto cleanup;
        }
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (!(changes = calloc(n_ids, sizeof(*changes))) ||
        !(distinct = calloc(n_ids, sizeof(*distinct)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    for (i = 0; i < n_ids; i++) {
        if (id_listed(ids, i, ids[i]))
            continue;
        inst = ec2_find_instance(&list, ids[i]);
        /* Defaults in case the driver leaves fields alone. */
        snprintf(changes[n].id, sizeof(changes[n].id), "%s", ids[i]);
        changes[n].previous = inst->state;
        changes[n].current = inst->state;
        distinct[n++] = ids[i];
    }
    ops.ids = distinct;
    ops.n = n;
    if (cg_instance_ops_apply(c->ctx->driver, c->ctx->drv, &ops, changes, &failed, &err) < 0) {
        ec2_fail_cg(c, &err, distinct[failed]);
        goto cleanup;
    }
    if (op == CG_IOP_REBOOT) {
        body = ec2_xml_return_true(c->action, c->req->request_id, &len);
    } else {
        body = ec2_xml_state_changes(c->action, c->req->request_id, changes, n, &len);
    }
    ret = ec2_reply(c, body, &len);

cleanup:
    free(changes);
    free(distinct);
    free(ids);
    cg_instance_list_release(&list);
    return ret;
}

int ec2_start_instances(ec2_call *c)
{
    return change_state(c, CG_IOP_START);
}

int ec2_stop_instances(ec2_call *c)
{
    return change_state(c, CG_IOP_STOP);
}

int ec2_reboot_instances(ec2_call *c)
{
    return change_state(c, CG_IOP_REBOOT);
}

int ec2_terminate_instances(ec2_call *c)
{
    return change_state(c, CG_IOP_TERMINATE);
}
