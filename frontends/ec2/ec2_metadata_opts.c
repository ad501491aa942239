/* cloudgate: the instance metadata service's options on the EC2 side:
 * ModifyInstanceMetadataOptions, RunInstances' MetadataOptions.* and the
 * metadataOptions element of an instance.
 *
 * The options apply at once (the gateway's metadata service reads them from
 * its next refresh of instance data), so the state answered is "applied".
 * HttpProtocolIpv6 and InstanceMetadataTags are accepted only as "disabled":
 * instance networks have no IPv6 and tags are not served.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOP_LIMIT_MAX 64

/* prefix+name as one of two values: *out = v1 or v2, untouched when absent.
 * 0 or -1 (InvalidParameterValue). */
static int param_choice(ec2_call *c, const char *prefix, const char *name, const char *s1,
                        int v1, const char *s2, int v2, int *out)
{
    const char *v = ec2_params_getf(c->params, "%s%s", prefix, name);

    if (!v)
        return 0;
    if (strcmp(v, s1) == 0)
        *out = v1;
    else if (strcmp(v, s2) == 0)
        *out = v2;
    else
        return ec2_fail(c, "InvalidParameterValue",
                        "Value (%.64s) for parameter %s is invalid. Valid values are %s, %s.", v,
                        name, s1, s2);
    return 0;
}

/* An option this gateway cannot enable: absent or "disabled" only. */
static int param_disabled_only(ec2_call *c, const char *prefix, const char *name,
                               const char *why)
{
    const char *v = ec2_params_getf(c->params, "%s%s", prefix, name);

    if (!v || strcmp(v, "disabled") == 0)
        return 0;
    if (strcmp(v, "enabled") == 0)
        return ec2_fail(c, "InvalidParameterValue", "%s cannot be enabled: %s.", name, why);
    return ec2_fail(c, "InvalidParameterValue",
                    "Value (%.64s) for parameter %s is invalid. Valid values are enabled, "
                    "disabled.", v, name);
}

int ec2_param_metadata_options(ec2_call *c, const char *prefix, cg_metadata_options *out)
{
    const char *hop = ec2_params_getf(c->params, "%sHttpPutResponseHopLimit", prefix);
    char *end = NULL;
    long n;

    memset(out, 0, sizeof(*out));
    if (param_choice(c, prefix, "HttpTokens", "optional", CG_MD_TOKENS_OPTIONAL, "required",
                     CG_MD_TOKENS_REQUIRED, &out->http_tokens) < 0 ||
        param_choice(c, prefix, "HttpEndpoint", "enabled", CG_MD_ENDPOINT_ENABLED, "disabled",
                     CG_MD_ENDPOINT_DISABLED, &out->http_endpoint) < 0 ||
        param_disabled_only(c, prefix, "HttpProtocolIpv6", "instance networks have no IPv6") < 0 ||
        param_disabled_only(c, prefix, "InstanceMetadataTags",
                            "instance tags are not served in the metadata") < 0)
        return -1;
    if (hop) {
        n = strtol(hop, &end, 10);
        if (!*hop || *end || n < 1 || n > HOP_LIMIT_MAX)
            return ec2_fail(c, "InvalidParameterValue",
                            "Value (%.64s) for parameter HttpPutResponseHopLimit is invalid. "
                            "It must be an integer from 1 to %d.", hop, HOP_LIMIT_MAX);
        out->hop_limit = (int)n;
    }
    return 0;
}

void ec2_xml_metadata_options(ec2_xml *x, const char *name, const cg_metadata_options *o)
{
    ec2_xml_start(x, name);
    ec2_xml_str(x, "state", "applied");
    ec2_xml_str(x, "httpTokens",
                o->http_tokens == CG_MD_TOKENS_REQUIRED ? "required" : "optional");
    ec2_xml_int(x, "httpPutResponseHopLimit", o->hop_limit ? o->hop_limit : 1);
    ec2_xml_str(x, "httpEndpoint",
                o->http_endpoint == CG_MD_ENDPOINT_DISABLED ? "disabled" : "enabled");
    ec2_xml_str(x, "httpProtocolIpv6", "disabled");
    ec2_xml_str(x, "instanceMetadataTags", "disabled");
    ec2_xml_end(x);
}

char *ec2_xml_modify_metadata_options(const char *request_id, const char *instance_id,
                                      const cg_metadata_options *o, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new("ModifyInstanceMetadataOptions", request_id)))
        return NULL;
    ec2_xml_str(x, "instanceId", instance_id);
    ec2_xml_metadata_options(x, "instanceMetadataOptions", o);
    return ec2_xml_finish(x, len);
}

int ec2_modify_instance_metadata_options(ec2_call *c)
{
    cg_instance_list list = {0};
    cg_metadata_options chg, now;
    const cg_instance *inst;
    const char *id = NULL;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (ec2_param_metadata_options(c, "", &chg) < 0 ||
        ec2_load_instance(c, &list, &inst, &id) < 0)
        goto cleanup;
    if (inst->state == CG_STATE_TERMINATED || inst->state == CG_STATE_SHUTTING_DOWN) {
        ec2_fail(c, "IncorrectInstanceState", "The instance '%s' is not in a state from which "
                 "its metadata options can be modified.", id);
        goto cleanup;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (CG_DRV_CALL(c->ctx->driver, c->ctx->drv, instance_metadata_options, &err, id, &chg,
                    &now) < 0) {
        ec2_fail_cg(c, &err, id);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_modify_metadata_options(c->req->request_id, id, &now, &len), &len);

cleanup:
    cg_instance_list_release(&list);
    return ret;
}
