/* cloudgate: STS GetCallerIdentity on the EC2 endpoint.
 *
 * SDK-based tools ask "who am I" before they act (Ansible's amazon.aws asks
 * it in ec2_security_group, to know which rules name its own account), and
 * with one endpoint_url for everything they ask it here, signed for the
 * service "sts".  The signature is checked as for EC2 (gateway/auth.c takes
 * both scopes); a request scoped to sts may call only this action, and EC2
 * actions are never reachable through it.  Every key in the credentials
 * file acts for the gateway's one account, so the caller is that account's
 * root identity, as AWS reports for an account's own access keys.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"

/* The service part of a SigV4 credential "KEY/DATE/REGION/SERVICE/aws4_request"
 * starting at cred, compared with service. */
static int scope_is(const char *cred, const char *service)
{
    size_t n = strlen(service);
    int slash;

    for (slash = 0; cred && *cred && slash < 3; cred++)
        slash += *cred == '/';
    return cred && slash == 3 && strncmp(cred, service, n) == 0 && cred[n] == '/';
}

int ec2_sts_scoped(const gw_request *req, const gw_params *params)
{
    const char *auth = gw_request_header(req, "Authorization");
    const char *cred = auth ? strstr(auth, "Credential=") : NULL;

    if (cred)
        return scope_is(cred + strlen("Credential="), "sts");
    return scope_is(gw_params_get(params, "X-Amz-Credential"), "sts");
}

char *ec2_xml_caller_identity(const char *request_id, const char *account, size_t *len)
{
    ec2_xml *x = ec2_xml_new_root("GetCallerIdentityResponse", STS_XMLNS);
    char arn[96];

    if (!x)
        return NULL;
    snprintf(arn, sizeof(arn), "arn:aws:iam::%s:root", account);
    ec2_xml_start(x, "GetCallerIdentityResult");
    ec2_xml_str(x, "Arn", arn);
    ec2_xml_str(x, "UserId", account);
    ec2_xml_str(x, "Account", account);
    ec2_xml_end(x);
    ec2_xml_start(x, "ResponseMetadata");
    ec2_xml_str(x, "RequestId", request_id);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

void ec2_sts_execute(const gw_ctx *ctx, const gw_request *req, const gw_params *params,
                     gw_response *resp)
{
    const char *action = gw_params_get(params, "Action");
    const char *account = ctx->cfg->account_id ? ctx->cfg->account_id : "";
    char *body = NULL;
    size_t len = 0;

    if (!action || strcmp(action, "GetCallerIdentity") != 0) {
        ec2_error_response(resp, req->request_id, "InvalidAction",
                           "Only GetCallerIdentity is served for the sts scope.");
        return;
    }
    snprintf(resp->action, sizeof(resp->action), "GetCallerIdentity");
    if (!(body = ec2_xml_caller_identity(req->request_id, account, &len))) {
        ec2_error_response(resp, req->request_id, "InternalError",
                           "An internal error has occurred");
        return;
    }
    gw_response_set_body(resp, 200, EC2_CONTENT_TYPE, body, len);
}
