/* cloudgate: the CIMI resources machines are made from and the jobs:
 * MachineConfigurations (the instance types), Credentials (the key pairs
 * EC2 also sees) and Jobs (cancel).  MachineImages are cimi_images.c's. */
#include "cimi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cimi_list_configs(cimi_call *c, cimi_obj ***out, size_t *n)
{
    const cg_config *cfg = c->ctx->cfg;
    size_t i;

    if (cimi_alloc_objs(c, out, cfg->n_types) < 0)
        return -1;
    for (i = 0; i < cfg->n_types; i++) {
        if (!((*out)[(*n)++] = cimi_build_machine_config(c->base, &cfg->types[i])))
            return cimi_fail(c, 500, "out of memory");
    }
    return 0;
}

/* ---- credentials ------------------------------------------------------------------------ */

int cimi_list_credentials(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_keypair_list kps = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (!c->ctx->keys)
        return cimi_fail(c, 501, "no key-pair store is configured");
    if (cg_keypair_list_all(c->ctx->keys, &kps, &err) < 0)
        return cimi_fail_cg(c, &err);
    if (cimi_alloc_objs(c, out, kps.n) < 0)
        goto cleanup;
    for (i = 0; i < kps.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_credential(c->base, &kps.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_keypair_list_release(&kps);
    return ret;
}

/* hexBinary (XML's form of Credential.key) into a malloc'd string, or NULL. */
static char *unhex(const char *s)
{
    size_t n = strlen(s), i;
    char *out;
    unsigned hi, lo;

    if (n % 2 || !(out = malloc(n / 2 + 1)))
        return NULL;
    for (i = 0; i < n / 2; i++) {
        if (sscanf(s + 2 * i, "%1x%1x", &hi, &lo) != 2) {
            free(out);
            return NULL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    return strlen(out) == n / 2 ? out : (free(out), NULL);
}

/* A CredentialCreate imports the SSH public key of its credentialTemplate
 * as a key pair named name (the credential's name is the key pair's). */
void cimi_credential_create(cimi_call *c)
{
    json_object *body = cimi_body(c, "CredentialCreate"), *tpl = NULL;
    const char *name = NULL, *key = NULL, *ct = gw_request_header(c->req, "Content-Type");
    char *material = NULL;
    cg_keypair kp = {0};
    cg_error err = {0};
    cimi_obj *o = NULL;

    if (!body)
        return;
    if (!c->ctx->keys) {
        cimi_fail(c, 501, "no key-pair store is configured");
        goto cleanup;
    }
    if (cimi_body_str(c, body, "name", "name", &name) < 0 ||
        cimi_body_obj(c, body, "credentialTemplate", "credentialTemplate", &tpl) < 0 ||
        cimi_body_str(c, tpl, "key", "credentialTemplate.key", &key) < 0)
        goto cleanup;
    if (!name || !*name) {
        cimi_fail(c, 400, "a CredentialCreate needs a name (the key pair's)");
        goto cleanup;
    }
    if (!tpl || !key) {
        cimi_fail(c, 400, "the credentialTemplate needs a key (an OpenSSH public key)");
        goto cleanup;
    }
    /* XML carries byte[] as hexBinary; JSON as the text itself. */
    if (ct && strncasecmp(ct, "application/json", 16) == 0) /* as cimi_body decides */
        material = strdup(key);
    else if (!(material = unhex(key))) {
        cimi_fail(c, 400, "credentialTemplate.key must be hexBinary in XML");
        goto cleanup;
    }
    if (!material ||
        cg_keypair_import(c->ctx->keys, name, material, strlen(material), &kp, &err) < 0) {
        if (material)
            cimi_fail_cg(c, &err);
        else
            cimi_fail(c, 500, "out of memory");
        goto cleanup;
    }
    o = cimi_build_credential(c->base, &kp);
    cimi_reply_created(c, o);

cleanup:
    cimi_obj_free(o);
    cg_keypair_release(&kp);
    free(material);
    json_object_put(body);
}

void cimi_credential_delete(cimi_call *c, const char *id)
{
    cg_keypair_list kps = {0};
    cg_error err = {0};
    size_t i;

    if (!c->ctx->keys || cg_keypair_list_all(c->ctx->keys, &kps, &err) < 0) {
        if (c->ctx->keys)
            cimi_fail_cg(c, &err);
        else
            cimi_fail(c, 501, "no key-pair store is configured");
        return;
    }
    for (i = 0; i < kps.n && strcmp(kps.v[i].key_id, id) != 0; i++)
        ;
    if (i == kps.n)
        cimi_fail(c, 404, "Credential '%.64s' does not exist", id);
    else if (cg_keypair_delete(c->ctx->keys, kps.v[i].name, &err) < 0)
        cimi_fail_cg(c, &err);
    else
        gw_response_set_body(c->resp, 200, c->xml ? CIMI_XML : CIMI_JSON, NULL, 0);
    cg_keypair_list_release(&kps);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

int cimi_list_jobs(cimi_call *c, cimi_obj ***out, size_t *n)
{
    cg_job_list jobs = {0};
    cg_error err = {0};
    size_t i;
    int ret = -1;

    if (!c->ctx->jobs)
        return cimi_fail(c, 501, "no job store is configured");
    if (cg_jobs_list(c->ctx->jobs, &jobs, &err) < 0)
        return cimi_fail_cg(c, &err);
    if (cimi_alloc_objs(c, out, jobs.n) < 0)
        goto cleanup;
    for (i = 0; i < jobs.n; i++) {
        if (!((*out)[(*n)++] = cimi_build_job(c->base, &jobs.v[i]))) {
            cimi_fail(c, 500, "out of memory");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    cg_job_list_release(&jobs);
    return ret;
}

/* An Action "stop" posted to a job (isCancellable) cancels it: a queued one
 * at once (CANCELLED), a running one that polls for it (an import, a
 * capture) once it has undone its work (STOPPING until then).  Other
 * running jobs, and ended ones, are 409. */
void cimi_job_action(cimi_call *c, const char *id)
{
    json_object *body = cimi_body(c, "Action");
    const char *uri = NULL;
    cg_error err = {0};
    cg_job job;
    cimi_obj *o = NULL;

    if (!body)
        return;
    if (cimi_body_str(c, body, "action", "action", &uri) < 0)
        goto cleanup;
    if (!uri || strcmp(uri, CIMI_ACTION_NS "stop") != 0) {
        cimi_fail(c, 400, "a Job takes one action: %sstop (cancel)", CIMI_ACTION_NS);
        goto cleanup;
    }
    if (!c->ctx->jobs || cg_jobs_cancel(c->ctx->jobs, id, &err) < 0 ||
        cg_jobs_get(c->ctx->jobs, id, &job, &err) < 0) {
        if (c->ctx->jobs)
            cimi_fail_cg(c, &err);
        else
            cimi_fail(c, 501, "no job store is configured");
        goto cleanup;
    }
    o = cimi_build_job(c->base, &job);
    cimi_reply(c, 200, o);

cleanup:
    cimi_obj_free(o);
    json_object_put(body);
}
