/* cloudgate: EC2 key pair actions: CreateKeyPair, ImportKeyPair,
 * DescribeKeyPairs, DeleteKeyPair.
 *
 * Key pairs are user state kept by the gateway's key-pair store
 * (gateway/keypairs.h), not by the driver.  Only public keys are kept; the
 * private key CreateKeyPair makes is answered once and forgotten.
 */
#include "ec2_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/sshkey.h"
#include "../../gateway/util.h"

#define EC2_KEY_NAME_MAX 255

static const char *const key_pair_filters[] = {
    "fingerprint", "key-name", "key-pair-id", "key-type", "tag-key", "tag-value", "tag:", NULL,
};

static cg_keystore *keystore(ec2_call *c)
{
    cg_error err = {0};

    if (c->ctx->keys)
        return c->ctx->keys;
    cg_error_set(&err, CG_ERR_INTERNAL, "the key-pair store is not open");
    ec2_fail_cg(c, &err, NULL);
    return NULL;
}

static int fail_not_found(ec2_call *c, const char *what)
{
    return ec2_fail(c, "InvalidKeyPair.NotFound", "The key pair '%.255s' does not exist", what);
}

static int fail_duplicate(ec2_call *c, const char *name)
{
    return ec2_fail(c, "InvalidKeyPair.Duplicate", "The keypair '%.255s' already exists.", name);
}

int ec2_key_pair_find(ec2_call *c, const char *name, cg_keypair *kp)
{
    cg_keystore *ks = keystore(c);
    cg_error err = {0};

    memset(kp, 0, sizeof(*kp));
    if (!ks)
        return -1;
    if (cg_keypair_get(ks, name, kp, &err) == 0)
        return 0;
    if (err.kind == CG_ERR_NOT_FOUND)
        return fail_not_found(c, name);
    return ec2_fail_cg(c, &err, NULL);
}

/* KeyName: required, up to 255 printable ASCII characters (EC2 allows 255
 * ASCII; the name is also the comment of the authorized_keys line). */
static const char *param_key_name(ec2_call *c)
{
    const char *name = ec2_params_get(c->params, "KeyName");
    size_t i, n;

    if (!name || !*name) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter KeyName");
        return NULL;
    }
    n = strlen(name);
    for (i = 0; i < n && name[i] >= 0x20 && name[i] <= 0x7e; i++)
        ;
    if (n > EC2_KEY_NAME_MAX || i < n) {
        ec2_fail(c, "InvalidParameterValue",
                 "Value for parameter KeyName is invalid: up to %d printable ASCII characters "
                 "are allowed.",
                 EC2_KEY_NAME_MAX);
        return NULL;
    }
    return name;
}

/* Fail with InvalidKeyPair.Duplicate when name is taken.  0 or -1. */
static int check_unused(ec2_call *c, cg_keystore *ks, const char *name)
{
    cg_keypair kp;
    cg_error err = {0};

    if (cg_keypair_get(ks, name, &kp, &err) == 0) {
        cg_keypair_release(&kp);
        return fail_duplicate(c, name);
    }
    if (err.kind != CG_ERR_NOT_FOUND)
        return ec2_fail_cg(c, &err, NULL);
    return 0;
}

/* Store tags on the new key pair kp (and in kp for the answer); a failure
 * removes the key again, so the request leaves nothing behind.  0 or -1. */
static int tag_new_key(ec2_call *c, cg_keystore *ks, cg_keypair *kp, const cg_tags *tags)
{
    cg_error err = {0};

    if (!tags->n)
        return 0;
    if (cg_keypair_tag(ks, kp->name, tags, &err) < 0 || cg_tags_copy(&kp->tags, tags) < 0) {
        cg_keypair_delete(ks, kp->name, NULL);
        if (!err.kind)
            cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        return ec2_fail_cg(c, &err, NULL);
    }
    return 0;
}

/* After a store failure on create/import: the codes EC2 uses. */
static int fail_store(ec2_call *c, const cg_error *err, const char *name)
{
    if (err->kind == CG_ERR_CONFLICT)
        return fail_duplicate(c, name);
    return ec2_fail_cg(c, err, NULL);
}

int ec2_create_key_pair(ec2_call *c)
{
    cg_keystore *ks = keystore(c);
    const char *name, *type, *format;
    cg_keypair kp = {0};
    cg_tags tags = {0};
    char *pem = NULL;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!ks || !(name = param_key_name(c)))
        goto cleanup;
    type = ec2_params_get(c->params, "KeyType");
    if (type && strcmp(type, "rsa") != 0 && strcmp(type, "ed25519") != 0) {
        ec2_fail(c, "InvalidParameterValue",
                 "Value (%.32s) for parameter KeyType is invalid. Valid values are: rsa, ed25519",
                 type);
        goto cleanup;
    }
    format = ec2_params_get(c->params, "KeyFormat");
    if (format && strcmp(format, "pem") != 0) {
        ec2_fail(c, "InvalidParameterValue",
                 "Value (%.32s) for parameter KeyFormat is invalid. Only pem is supported", format);
        goto cleanup;
    }
    if (ec2_param_tag_specs(c, "key-pair", &tags) < 0 || check_unused(c, ks, name) < 0 ||
        ec2_dry_run(c) < 0)
        goto cleanup;
    if (cg_keypair_create(ks, name, type ? type : "rsa", &kp, &pem, &err) < 0) {
        fail_store(c, &err, name);
        goto cleanup;
    }
    if (tag_new_key(c, ks, &kp, &tags) < 0)
        goto cleanup;
    ret = ec2_reply(c, ec2_xml_key_pair(c->action, c->req->request_id, &kp, pem, &len), &len);

cleanup:
    if (pem) {
        explicit_bzero(pem, strlen(pem));
        free(pem);
    }
    cg_keypair_release(&kp);
    cg_tags_release(&tags);
    return ret;
}

int ec2_import_key_pair(ec2_call *c)
{
    cg_keystore *ks = keystore(c);
    const char *name, *b64;
    unsigned char *material = NULL;
    size_t material_len = 0, len = 0;
    cg_sshkey key = {0};
    cg_keypair kp = {0};
    cg_tags tags = {0};
    cg_error err = {0};
    int ret = -1;

    if (!ks || !(name = param_key_name(c)))
        goto cleanup;
    if (!(b64 = ec2_params_get(c->params, "PublicKeyMaterial")) || !*b64) {
        ec2_fail(c, "MissingParameter", "The request must contain the parameter PublicKeyMaterial");
        goto cleanup;
    }
    /* A blob: base64 on the wire, an OpenSSH public key line inside.  The
     * key is checked here too, so DryRun reports a bad one. */
    if (!(material = cg_base64_decode(b64, strlen(b64), &material_len)) ||
        cg_sshkey_parse_public((const char *)material, material_len, &key, &err) < 0) {
        ec2_fail(c, "InvalidKey.Format", "Key is not in valid OpenSSH public key format");
        goto cleanup;
    }
    if (ec2_param_tag_specs(c, "key-pair", &tags) < 0 || check_unused(c, ks, name) < 0 ||
        ec2_dry_run(c) < 0)
        goto cleanup;
    if (cg_keypair_import(ks, name, (const char *)material, material_len, &kp, &err) < 0) {
        fail_store(c, &err, name);
        goto cleanup;
    }
    if (tag_new_key(c, ks, &kp, &tags) < 0)
        goto cleanup;
    ret = ec2_reply(c, ec2_xml_key_pair(c->action, c->req->request_id, &kp, NULL, &len), &len);

cleanup:
    free(material);
    cg_sshkey_release(&key);
    cg_keypair_release(&kp);
    cg_tags_release(&tags);
    return ret;
}

static void key_pair_field(const void *obj, const char *name, ec2_match *m, void *ud)
{
    const cg_keypair *kp = obj;

    if (ec2_match_tags(m, name, &kp->tags))
        return;
    if (strcmp(name, "fingerprint") == 0)
        ec2_match_offer(m, kp->fingerprint);
    else if (strcmp(name, "key-name") == 0)
        ec2_match_offer(m, kp->name);
    else if (strcmp(name, "key-pair-id") == 0)
        ec2_match_offer(m, kp->key_id);
    else if (strcmp(name, "key-type") == 0)
        ec2_match_offer(m, kp->type);
}

static const cg_keypair *find_by(const cg_keypair_list *list, const char *value, int by_id)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        if (strcmp(by_id ? list->v[i].key_id : list->v[i].name, value) == 0)
            return &list->v[i];
    }
    return NULL;
}

static int listed(const char *const *v, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    return 0;
}

int ec2_describe_key_pairs(ec2_call *c)
{
    cg_keystore *ks = keystore(c);
    cg_keypair_list list = {0};
    ec2_filters filters = {0};
    const char **names = NULL, **ids = NULL;
    const cg_keypair **view = NULL;
    size_t n_names = 0, n_ids = 0, n = 0, i, len = 0;
    int with_public = 0, ret = -1;
    cg_error err = {0};

    if (!ks || ec2_param_list(c, "KeyName", 0, &names, &n_names) < 0 ||
        ec2_param_list(c, "KeyPairId", 0, &ids, &n_ids) < 0 ||
        ec2_param_filters(c, key_pair_filters, &filters) < 0 ||
        ec2_param_bool(c, "IncludePublicKey", 0, &with_public) < 0)
        goto cleanup;
    if (cg_keypair_list_all(ks, &list, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    /* Every name and id asked for must exist, as EC2 answers. */
    for (i = 0; i < n_names; i++) {
        if (!find_by(&list, names[i], 0)) {
            fail_not_found(c, names[i]);
            goto cleanup;
        }
    }
    for (i = 0; i < n_ids; i++) {
        if (!find_by(&list, ids[i], 1)) {
            fail_not_found(c, ids[i]);
            goto cleanup;
        }
    }
    if (list.n && !(view = calloc(list.n, sizeof(*view)))) {
        cg_error_set(&err, CG_ERR_INTERNAL, "out of memory");
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    /* The store lists by name. */
    for (i = 0; i < list.n; i++) {
        const cg_keypair *kp = &list.v[i];

        if ((n_names && !listed(names, n_names, kp->name)) ||
            (n_ids && !listed(ids, n_ids, kp->key_id)) ||
            !ec2_filters_match(&filters, kp, key_pair_field, c))
            continue;
        view[n++] = kp;
    }
    ret = ec2_reply(c, ec2_xml_describe_key_pairs(c->req->request_id, view, n, with_public, &len),
                    &len);

cleanup:
    free(view);
    free(names);
    free(ids);
    ec2_filters_release(&filters);
    cg_keypair_list_release(&list);
    return ret;
}

int ec2_delete_key_pair(ec2_call *c)
{
    cg_keystore *ks = keystore(c);
    const char *name = ec2_params_get(c->params, "KeyName");
    const char *id = ec2_params_get(c->params, "KeyPairId");
    cg_keypair_list list = {0};
    const cg_keypair *kp;
    cg_error err = {0};
    size_t len = 0;
    int ret = -1;

    if (!ks)
        goto cleanup;
    if (name && !*name)
        name = NULL;
    if (id && !*id)
        id = NULL;
    if (!name && !id) {
        ec2_fail(c, "MissingParameter",
                 "The request must contain the parameter KeyName or KeyPairId");
        goto cleanup;
    }
    if (id) {
        /* By id: find its name; an unknown id, like an unknown name, is
         * nothing to delete. */
        if (cg_keypair_list_all(ks, &list, &err) < 0) {
            ec2_fail_cg(c, &err, NULL);
            goto cleanup;
        }
        kp = find_by(&list, id, 1);
        if (name && kp && strcmp(kp->name, name) != 0) {
            ec2_fail(c, "InvalidParameterCombination",
                     "KeyName '%.255s' and KeyPairId '%.32s' name different key pairs", name, id);
            goto cleanup;
        }
        name = kp ? kp->name : NULL;
    }
    if (ec2_dry_run(c) < 0)
        goto cleanup;
    if (name && cg_keypair_delete(ks, name, &err) < 0) {
        ec2_fail_cg(c, &err, NULL);
        goto cleanup;
    }
    ret = ec2_reply(c, ec2_xml_return_true(c->action, c->req->request_id, &len), &len);

cleanup:
    cg_keypair_list_release(&list);
    return ret;
}
