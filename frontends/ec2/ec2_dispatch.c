/* cloudgate: EC2 Query API entry points: parameters, signature check, the
 * action table, DryRun and AWS error documents. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "ec2.h"
#include "ec2_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../gateway/auth.h"
#include "../../gateway/log.h"
#include "../../gateway/params.h"

/* name -> handler, flags, as git's commands[].  1 = EC2_MUTATING: the
 * handler changes state and so must stop at ec2_dry_run() itself; for the
 * others the dispatcher turns a successful run into DryRunOperation.
 * EC2_ON_LOOP: the answer needs no blocking call (configuration, or in-memory
 * state under a mutex held briefly), so the HTTP loop answers it itself,
 * without the hand-off to a worker and back (see ec2_on_loop). */
static const ec2_action ec2_actions[] = {
    {"AttachVolume", ec2_attach_volume, 1},
    {"AuthorizeSecurityGroupEgress", ec2_authorize_security_group_egress, 1},
    {"AuthorizeSecurityGroupIngress", ec2_authorize_security_group_ingress, 1},
    {"CancelImportTask", ec2_cancel_import_task, 1},
    {"CopySnapshot", ec2_copy_snapshot, 1},
    {"CreateImage", ec2_create_image, 1},
    {"CreateKeyPair", ec2_create_key_pair, 1},
    {"CreateSecurityGroup", ec2_create_security_group, 1},
    {"CreateSnapshot", ec2_create_snapshot, 1},
    {"CreateSubnet", ec2_create_subnet, 1},
    {"CreateTags", ec2_create_tags, 1},
    {"CreateVolume", ec2_create_volume, 1},
    {"CreateVpc", ec2_create_vpc, 1},
    {"DeleteKeyPair", ec2_delete_key_pair, 1},
    {"DeleteSecurityGroup", ec2_delete_security_group, 1},
    {"DeleteSnapshot", ec2_delete_snapshot, 1},
    {"DeleteSubnet", ec2_delete_subnet, 1},
    {"DeleteTags", ec2_delete_tags, 1},
    {"DeleteVolume", ec2_delete_volume, 1},
    {"DeleteVpc", ec2_delete_vpc, 1},
    {"DeregisterImage", ec2_deregister_image, 1},
    {"DescribeAccountAttributes", ec2_describe_account_attributes, 0},
    {"DescribeAddresses", ec2_describe_addresses, 0},
    {"DescribeAvailabilityZones", ec2_describe_availability_zones, EC2_ON_LOOP},
    {"DescribeImageAttribute", ec2_describe_image_attribute, 0},
    {"DescribeImages", ec2_describe_images, 0},
    {"DescribeImportImageTasks", ec2_describe_import_image_tasks, 0},
    {"DescribeInstanceAttribute", ec2_describe_instance_attribute, 0},
    {"DescribeInstanceStatus", ec2_describe_instance_status, 0},
    {"DescribeInstanceTypes", ec2_describe_instance_types, 0},
    {"DescribeInstances", ec2_describe_instances, 0},
    {"DescribeKeyPairs", ec2_describe_key_pairs, 0},
    {"DescribeNetworkInterfaces", ec2_describe_network_interfaces, 0},
    {"DescribeRegions", ec2_describe_regions, EC2_ON_LOOP},
    {"DescribeSecurityGroupRules", ec2_describe_security_group_rules, 0},
    {"DescribeSecurityGroups", ec2_describe_security_groups, 0},
    {"DescribeSnapshots", ec2_describe_snapshots, 0},
    {"DescribeSubnets", ec2_describe_subnets, 0},
    {"DescribeTags", ec2_describe_tags, 0},
    {"DescribeVolumeStatus", ec2_describe_volume_status, 0},
    {"DescribeVolumes", ec2_describe_volumes, 0},
    {"DescribeVolumesModifications", ec2_describe_volumes_modifications, 0},
    {"DescribeVpcAttribute", ec2_describe_vpc_attribute, 0},
    {"DescribeVpcClassicLink", ec2_describe_vpc_classic_link, 0},
    {"DescribeVpcs", ec2_describe_vpcs, 0},
    {"DetachVolume", ec2_detach_volume, 1},
    {"GetConsoleOutput", ec2_get_console_output, 0},
    {"GetConsoleScreenshot", ec2_get_console_screenshot, 0},
    {"GetPasswordData", ec2_get_password_data, 0},
    {"ImportImage", ec2_import_image, 1},
    {"ImportKeyPair", ec2_import_key_pair, 1},
    {"ModifyImageAttribute", ec2_modify_image_attribute, 1},
    {"ModifyInstanceAttribute", ec2_modify_instance_attribute, 1},
    {"ModifyInstanceMetadataOptions", ec2_modify_instance_metadata_options, 1},
    {"ModifySubnetAttribute", ec2_modify_subnet_attribute, 1},
    {"ModifyVolume", ec2_modify_volume, 1},
    {"ModifyVpcAttribute", ec2_modify_vpc_attribute, 1},
    {"RebootInstances", ec2_reboot_instances, 1},
    {"RegisterImage", ec2_register_image, 1},
    {"ResetImageAttribute", ec2_reset_image_attribute, 1},
    {"RevokeSecurityGroupEgress", ec2_revoke_security_group_egress, 1},
    {"RevokeSecurityGroupIngress", ec2_revoke_security_group_ingress, 1},
    {"RunInstances", ec2_run_instances, 1},
    {"StartInstances", ec2_start_instances, 1},
    {"StopInstances", ec2_stop_instances, 1},
    {"TerminateInstances", ec2_terminate_instances, 1},
};

/* Codes whose HTTP status is not 400.  5xx and 412 matter to clients:
 * botocore retries 500/503 (and RequestLimitExceeded), never 412. */
static const struct {
    const char *code;
    int status;
} ec2_statuses[] = {
    {"DryRunOperation", 412},       {"AuthFailure", 401},
    {"MissingAuthenticationToken", 401},
    {"SignatureDoesNotMatch", 403}, {"UnauthorizedOperation", 403},
    {"RequestLimitExceeded", 503},  {"Unavailable", 503},
    {"InternalError", 500},         {"InsufficientInstanceCapacity", 500},
};

const ec2_action *ec2_action_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof(ec2_actions) / sizeof(ec2_actions[0]); i++) {
        if (strcmp(ec2_actions[i].name, name) == 0)
            return &ec2_actions[i];
    }
    return NULL;
}

int ec2_error_status(const char *code)
{
    size_t i;

    for (i = 0; i < sizeof(ec2_statuses) / sizeof(ec2_statuses[0]); i++) {
        if (strcmp(ec2_statuses[i].code, code) == 0)
            return ec2_statuses[i].status;
    }
    return 400;
}

void ec2_error_response(gw_response *resp, const char *request_id, const char *code,
                        const char *message)
{
    size_t len = 0;
    int status = ec2_error_status(code);
    char *body = ec2_xml_error(request_id, code, message, &len);

    snprintf(resp->error_code, sizeof(resp->error_code), "%s", code);
    if (!body) {
        /* Out of memory even for the error: a bare 500 is all that is left. */
        resp->status = 500;
        resp->content_type = EC2_CONTENT_TYPE;
        return;
    }
    gw_response_set_body(resp, status, EC2_CONTENT_TYPE, body, len);
}

/* ---- reporting ---------------------------------------------------------- */

int ec2_fail(ec2_call *c, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (c->error.code[0])
        return -1;
    snprintf(c->error.code, sizeof(c->error.code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(c->error.message, sizeof(c->error.message), fmt, ap);
    va_end(ap);
    return -1;
}

static int is_image_id(const char *id)
{
    return id && strncmp(id, "ami-", 4) == 0;
}

static int is_instance_id(const char *id)
{
    return id && strncmp(id, "i-", 2) == 0;
}

int ec2_fail_cg(ec2_call *c, const cg_error *err, const char *resource_id)
{
    const char *msg = err->message[0] ? err->message : "invalid request";

    switch (err->kind) {
    case CG_ERR_NOT_FOUND:
        if (resource_id && (is_instance_id(resource_id) || is_image_id(resource_id)))
            return ec2_fail_not_found(c, &resource_id, 1);
        return ec2_fail(c, "InvalidParameterValue", "%s", msg);
    case CG_ERR_MALFORMED:
        if (is_instance_id(resource_id))
            return ec2_fail(c, "InvalidInstanceID.Malformed", "Invalid id: \"%.100s\"",
                            resource_id);
        if (is_image_id(resource_id))
            return ec2_fail(c, "InvalidAMIID.Malformed",
                            "Invalid id: \"%.100s\" (expecting \"ami-...\")", resource_id);
        return ec2_fail(c, "InvalidParameterValue", "%s", msg);
    case CG_ERR_INVALID:
        return ec2_fail(c, "InvalidParameterValue", "%s", msg);
    case CG_ERR_MISSING:
        return ec2_fail(c, "MissingParameter", "%s", msg);
    case CG_ERR_STATE:
        if (is_image_id(resource_id))
            return ec2_fail(c, "InvalidAMIID.Unavailable", "%s", msg);
        return ec2_fail(c, "IncorrectInstanceState", "%s", msg);
    case CG_ERR_CAPACITY:
        return ec2_fail(c, "InsufficientInstanceCapacity", "%s", msg);
    case CG_ERR_UNSUPPORTED:
        return ec2_fail(c, "UnsupportedOperation", "%s", msg);
    case CG_ERR_CONFLICT:
        /* The driver's conflict on launch is a ClientToken reused with
         * different parameters. */
        if (strcmp(c->action, "RunInstances") == 0)
            return ec2_fail(c, "IdempotentParameterMismatch", "%s", msg);
        if (is_instance_id(resource_id))
            return ec2_fail(c, "IncorrectInstanceState", "%s", msg);
        return ec2_fail(c, "InvalidParameterValue", "%s", msg);
    case CG_ERR_FORBIDDEN:
        /* The one protection we have: disableApiTermination. */
        if (is_instance_id(resource_id) && strcmp(c->action, "TerminateInstances") == 0)
            return ec2_fail(c, "OperationNotPermitted",
                            "The instance '%.100s' may not be terminated. Modify its "
                            "'disableApiTermination' instance attribute and try again.",
                            resource_id);
        return ec2_fail(c, "OperationNotPermitted", "%s", msg);
    case CG_ERR_UNAVAILABLE:
        cg_warn("ec2 %s: backend unavailable: %s", c->action, err->message);
        return ec2_fail(c, "Unavailable", "The service is unavailable. Please try again shortly.");
    case CG_ERR_NONE:
    case CG_ERR_INTERNAL:
    default:
        /* Operators of a private cloud need the why (e.g. qemu's own
         * start-up error), so the detail goes to the client and the log. */
        cg_err("ec2 %s (request %s): %s: %s", c->action, c->req ? c->req->request_id : "-",
               cg_errkind_name(err->kind), err->message);
        if (err->message[0])
            return ec2_fail(c, "InternalError", "An internal error has occurred: %s",
                            err->message);
        return ec2_fail(c, "InternalError", "An internal error has occurred");
    }
}

void ec2_join_ids(const char *const *ids, size_t n, char *buf, size_t size)
{
    size_t used = 0, i;
    int w;

    buf[0] = '\0';
    for (i = 0; i < n && used < size; i++) {
        w = snprintf(buf + used, size - used, "%s%.100s", i ? ", " : "", ids[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int ec2_fail_not_found(ec2_call *c, const char *const *ids, size_t n)
{
    char list[400];
    int image = n > 0 && is_image_id(ids[0]);

    ec2_join_ids(ids, n, list, sizeof(list));
    if (image)
        return ec2_fail(c, "InvalidAMIID.NotFound",
                        n > 1 ? "The image ids '[%s]' do not exist"
                              : "The image id '[%s]' does not exist",
                        list);
    return ec2_fail(
        c, "InvalidInstanceID.NotFound",
        n > 1 ? "The instance IDs '%s' do not exist" : "The instance ID '%s' does not exist", list);
}

int ec2_dry_run(ec2_call *c)
{
    c->dry_run_checked = 1;
    if (!c->dry_run)
        return 0;
    return ec2_fail(c, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
}

int ec2_reply(ec2_call *c, char *body, const size_t *len)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory writing the response"};

    if (!body)
        return ec2_fail_cg(c, &oom, NULL);
    free(c->body);
    c->body = body;
    c->body_len = *len;
    return 0;
}

int ec2_reply_pieces(ec2_call *c, gw_piece *pieces, size_t n)
{
    cg_error oom = {CG_ERR_INTERNAL, "out of memory writing the response"};

    if (!pieces)
        return ec2_fail_cg(c, &oom, NULL);
    free(c->body);
    c->body = NULL;
    gw_pieces_release(c->pieces, c->n_pieces);
    c->pieces = pieces;
    c->n_pieces = n;
    return 0;
}

/* ---- parameters --------------------------------------------------------- */

int ec2_param_bool(ec2_call *c, const char *name, int def, int *out)
{
    const char *v = ec2_params_get(c->params, name);

    *out = def;
    if (!v)
        return 0;
    if (strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.64s) for parameter %s is invalid. Expecting a boolean.", v, name);
    return 0;
}

int ec2_param_list(ec2_call *c, const char *prefix, int required, const char ***out, size_t *n)
{
    cg_error err = {0};

    if (ec2_params_strings(c->params, prefix, out, n, &err) < 0)
        return ec2_fail_cg(c, &err, NULL);
    if (required && *n == 0)
        return ec2_fail(c, "MissingParameter", "The request must contain the parameter %s", prefix);
    return 0;
}

int ec2_param_filters(ec2_call *c, const char *const *allowed, ec2_filters *out)
{
    cg_error err = {0};

    if (ec2_filters_parse(c->params, allowed, out, &err) < 0)
        return ec2_fail_cg(c, &err, NULL);
    return 0;
}

int ec2_param_page(ec2_call *c, const char *kind, unsigned min, unsigned max, ec2_page *out)
{
    cg_error err = {0};

    if (ec2_page_parse(c->params, kind, min, max, out, &err) < 0)
        return ec2_fail_cg(c, &err, NULL);
    return 0;
}

/* ---- ids ---------------------------------------------------------------- */

int ec2_id_valid(const char *s, const char *prefix)
{
    size_t plen = strlen(prefix), n = 0;

    if (!s || strncmp(s, prefix, plen) != 0)
        return 0;
    for (s += plen; *s; s++, n++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    }
    return n == 8 || n == 17;
}

const cg_instance *ec2_find_instance(const cg_instance_list *list, const char *id)
{
    size_t i;

    for (i = 0; list && i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0)
            return &list->v[i];
    }
    return NULL;
}

const cg_image *ec2_find_image(const cg_image_list *list, const char *id)
{
    size_t i;

    for (i = 0; list && i < list->n; i++) {
        if (strcmp(list->v[i].id, id) == 0)
            return &list->v[i];
    }
    return NULL;
}

static int id_in(const char *const *ids, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0)
            return 1;
    }
    return 0;
}

int ec2_check_instance_ids(ec2_call *c, const char *const *ids, size_t n,
                           const cg_instance_list *list)
{
    const char **missing = NULL;
    size_t i, n_missing = 0;
    cg_error oom = {CG_ERR_INTERNAL, "out of memory"};
    int ret = -1;

    for (i = 0; i < n; i++) {
        if (!ec2_id_valid(ids[i], "i-"))
            return ec2_fail(c, "InvalidInstanceID.Malformed", "Invalid id: \"%.100s\"", ids[i]);
    }
    if (n && !(missing = calloc(n, sizeof(*missing))))
        return ec2_fail_cg(c, &oom, NULL);
    for (i = 0; i < n; i++) {
        if (!ec2_find_instance(list, ids[i]) && !id_in(missing, n_missing, ids[i]))
            missing[n_missing++] = ids[i];
    }
    if (n_missing) {
        ec2_fail_not_found(c, missing, n_missing);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(missing);
    return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

void ec2_execute(const gw_ctx *ctx, const gw_request *req, const gw_params *params,
                 gw_response *resp)
{
    ec2_params ix = {0};
    ec2_call call = {0};
    const ec2_action *a;
    const char *name;
    cg_error oom = {CG_ERR_INTERNAL, "out of memory indexing parameters"};

    call.ctx = ctx;
    call.req = req;
    call.params = &ix;
    call.action = "";
    if (ec2_params_index(&ix, params) < 0) {
        ec2_fail_cg(&call, &oom, NULL);
        goto cleanup;
    }
    if (!(name = ec2_params_get(&ix, "Action")) || !*name) {
        ec2_fail(&call, "MissingParameter", "The request must contain the parameter Action");
        goto cleanup;
    }
    if (!(a = ec2_action_find(name))) {
        ec2_fail(&call, "InvalidAction", "The action %.64s is not valid for this web service.",
                 name);
        goto cleanup;
    }
    call.action = a->name;
    snprintf(resp->action, sizeof(resp->action), "%s", a->name);
    if (ec2_param_bool(&call, "DryRun", 0, &call.dry_run) < 0)
        goto cleanup;

    if (a->fn(&call) < 0)
        goto cleanup;
    if (call.dry_run) {
        if ((a->flags & EC2_MUTATING) && !call.dry_run_checked) {
            /* A handler bug: it acted although DryRun was set. */
            cg_err("ec2 %s: handler ignored DryRun", a->name);
            ec2_fail(&call, "InternalError", "An internal error has occurred");
        } else {
            /* Read-only actions ran in full: parameters and resources are
             * checked, nothing changed. */
            ec2_dry_run(&call);
        }
    }

cleanup:
    if (!call.error.code[0] && !call.body && !call.pieces) {
        cg_err("ec2 %s: handler returned no document", call.action);
        ec2_fail(&call, "InternalError", "An internal error has occurred");
    }
    if (call.error.code[0]) {
        ec2_error_response(resp, req->request_id, call.error.code, call.error.message);
        free(call.body);
        gw_pieces_release(call.pieces, call.n_pieces);
    } else if (call.pieces) {
        gw_response_set_pieces(resp, 200, EC2_CONTENT_TYPE, call.pieces, call.n_pieces);
    } else {
        gw_response_set_body(resp, 200, EC2_CONTENT_TYPE, call.body, call.body_len);
    }
    ec2_params_release(&ix);
}

static int form_content_type(const gw_request *req)
{
    const char *ct = gw_request_header(req, "Content-Type");
    static const char form[] = "application/x-www-form-urlencoded";

    /* A POST without a type is read as a form, as AWS does. */
    return !ct || strncasecmp(ct, form, sizeof(form) - 1) == 0;
}

/* How many fields called name a form string has, found without decoding
 * it; *value and *value_len: the raw value of the last one.  memmem, because
 * a hostile body may be a megabyte of one-byte fields. */
static size_t count_field(const char *s, size_t len, const char *name, const char **value,
                          size_t *value_len)
{
    size_t n = strlen(name), i = 0, count = 0;
    const char *hit, *end;

    while (s && i < len && (hit = memmem(s + i, len - i, name, n))) {
        size_t at = (size_t)(hit - s);

        if ((at == 0 || s[at - 1] == '&') && at + n < len && s[at + n] == '=') {
            *value = s + at + n + 1;
            end = memchr(*value, '&', len - (at + n + 1));
            *value_len = end ? (size_t)(end - *value) : len - (at + n + 1);
            count++;
        }
        i = at + 1;
    }
    return count;
}

/* Whether a form body has a field called name, found without decoding it:
 * an unsigned body is never parsed. */
static int body_has_field(const char *body, size_t len, const char *name)
{
    const char *value;
    size_t value_len;

    return count_field(body, len, name, &value, &value_len) > 0;
}

/* Requests larger than this go to a worker whatever their action: decoding
 * and verifying them must not hold up the loop. */
#define ON_LOOP_MAX_BYTES 4096

int ec2_on_loop(const gw_request *req)
{
    size_t qlen = req->query ? strlen(req->query) : 0, blen = req->body ? req->body_len : 0;
    const char *value = NULL;
    const ec2_action *a;
    size_t value_len = 0, i;
    char name[64];

    if (qlen > ON_LOOP_MAX_BYTES || blen > ON_LOOP_MAX_BYTES)
        return 0;
    /* Exactly one Action, spelled plainly; anything else (repeated, encoded)
     * takes the usual path and gets the usual answer. */
    if (count_field(req->query, qlen, "Action", &value, &value_len) +
            count_field(req->body, blen, "Action", &value, &value_len) != 1 ||
        value_len == 0 || value_len >= sizeof(name))
        return 0;
    for (i = 0; i < value_len; i++) {
        if (!((value[i] >= 'A' && value[i] <= 'Z') || (value[i] >= 'a' && value[i] <= 'z')))
            return 0;
        name[i] = value[i];
    }
    name[value_len] = '\0';
    a = ec2_action_find(name);
    return a && (a->flags & EC2_ON_LOOP);
}

/* Decode a form string into params; on failure the EC2 error goes to resp. */
static int parse_form(const gw_request *req, gw_params *params, const char *s, size_t len,
                      gw_response *resp)
{
    int rc = gw_params_parse(params, s, len);
    char msg[128];

    if (rc == GW_PARAMS_TOO_MANY) {
        snprintf(msg, sizeof(msg), "Too many parameters: the limit is %zu per request.",
                 params->max);
        ec2_error_response(resp, req->request_id, "MalformedQueryString", msg);
    } else if (rc < 0) {
        ec2_error_response(resp, req->request_id, "MalformedQueryString",
                           "The query string or form body is not valid URL encoding.");
    }
    return rc < 0 ? -1 : 0;
}

static const char *auth_default_message(const char *code)
{
    if (strcmp(code, "SignatureDoesNotMatch") == 0)
        return "The request signature we calculated does not match the signature you "
               "provided. Check your AWS Secret Access Key and signing method.";
    if (strcmp(code, "RequestExpired") == 0)
        return "Request has expired.";
    return "AWS was not able to validate the provided access credentials";
}

/* Authenticate first, parse second: the query string (bounded by the header
 * limit) is decoded to find a signature; a form body only when it carries a
 * SigV2 signature, which lives among its fields.  SigV4 signs the raw body,
 * so a body is decoded only once its sender is known. */
void ec2_handle(const gw_ctx *ctx, const gw_request *req, gw_response *resp)
{
    gw_params params = {.max = ctx->cfg->max_params};
    gw_auth_result r;
    char key_id[128] = "", msg[256] = "";
    const ec2_action *a;
    const char *code;
    int form = strcmp(req->method, "POST") == 0 && req->body && req->body_len > 0 &&
               form_content_type(req);

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        ec2_error_response(resp, req->request_id, "InvalidAction",
                           "The EC2 Query API takes GET or POST requests.");
        goto cleanup;
    }
    if (req->query && *req->query &&
        parse_form(req, &params, req->query, strlen(req->query), resp) < 0)
        goto cleanup;
    if (form && !gw_request_header(req, "Authorization") && !gw_auth_params_signed(&params) &&
        (body_has_field(req->body, req->body_len, "AWSAccessKeyId") ||
         body_has_field(req->body, req->body_len, "Signature"))) {
        if (parse_form(req, &params, req->body, req->body_len, resp) < 0)
            goto cleanup;
        form = 0; /* parsed */
    }
    r = gw_auth_verify_ec2(req, &params, ctx->creds, ctx->cfg->region, time(NULL), key_id,
                           sizeof(key_id), msg, sizeof(msg));
    if (r != GW_AUTH_OK) {
        code = gw_auth_ec2_code(r);
        ec2_error_response(resp, req->request_id, code, msg[0] ? msg : auth_default_message(code));
        goto cleanup;
    }
    if (form && parse_form(req, &params, req->body, req->body_len, resp) < 0)
        goto cleanup;
    /* Signed for sts: GetCallerIdentity only, never an EC2 action. */
    if (ec2_sts_scoped(req, &params)) {
        ec2_sts_execute(ctx, req, &params, resp);
        goto cleanup;
    }
    /* Name the action in the access log, but only one of ours: the raw
     * value is client-controlled. */
    if ((a = ec2_action_find(gw_params_get(&params, "Action"))))
        snprintf(resp->action, sizeof(resp->action), "%s", a->name);
    ec2_execute(ctx, req, &params, resp);

cleanup:
    gw_params_release(&params);
}

void ec2_overloaded(const gw_request *req, gw_response *resp)
{
    ec2_error_response(resp, req->request_id, "RequestLimitExceeded", "Request limit exceeded.");
}
