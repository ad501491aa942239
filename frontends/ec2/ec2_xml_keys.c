/* cloudgate: EC2 response documents for key pairs, instance attributes,
 * console output and password data (see ec2_xml.h).  Element names are the
 * locationNames of botocore's KeyPair, ImportKeyPairResult, KeyPairInfo,
 * InstanceAttribute, GetConsoleOutputResult and GetPasswordDataResult. */
#include "ec2_xml.h"

char *ec2_xml_key_pair(const char *action, const char *request_id, const cg_keypair *kp,
                       const char *material, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new(action, request_id)))
        return NULL;
    ec2_xml_str(x, "keyName", kp->name);
    ec2_xml_str(x, "keyFingerprint", kp->fingerprint);
    if (material)
        ec2_xml_str(x, "keyMaterial", material);
    ec2_xml_str(x, "keyPairId", kp->key_id);
    ec2_xml_tags(x, &kp->tags);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_describe_key_pairs(const char *request_id, const cg_keypair *const *v, size_t n,
                                 int include_public_key, size_t *len)
{
    ec2_xml *x;
    size_t i;

    if (!(x = ec2_xml_new("DescribeKeyPairs", request_id)))
        return NULL;
    ec2_xml_start(x, "keySet");
    for (i = 0; i < n; i++) {
        ec2_xml_start(x, "item");
        ec2_xml_str(x, "keyPairId", v[i]->key_id);
        ec2_xml_str(x, "keyName", v[i]->name);
        ec2_xml_str(x, "keyFingerprint", v[i]->fingerprint);
        ec2_xml_str(x, "keyType", v[i]->type);
        ec2_xml_tags(x, &v[i]->tags);
        if (include_public_key)
            ec2_xml_str(x, "publicKey", v[i]->public_key);
        ec2_xml_time(x, "createTime", v[i]->created);
        ec2_xml_end(x);
    }
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_instance_attribute(const char *request_id, const char *instance_id,
                                 const char *attribute, const char *value, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new("DescribeInstanceAttribute", request_id)))
        return NULL;
    ec2_xml_str(x, "instanceId", instance_id);
    ec2_xml_start(x, attribute);
    if (value)
        ec2_xml_str(x, "value", value);
    ec2_xml_end(x);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_console_output(const char *request_id, const char *instance_id, time_t when,
                             const char *output, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new("GetConsoleOutput", request_id)))
        return NULL;
    ec2_xml_str(x, "instanceId", instance_id);
    ec2_xml_time(x, "timestamp", when);
    ec2_xml_str(x, "output", output);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_password_data(const char *request_id, const char *instance_id, time_t when,
                            size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new("GetPasswordData", request_id)))
        return NULL;
    ec2_xml_str(x, "instanceId", instance_id);
    ec2_xml_time(x, "timestamp", when);
    ec2_xml_str(x, "passwordData", NULL);
    return ec2_xml_finish(x, len);
}

char *ec2_xml_console_screenshot(const char *request_id, const char *instance_id,
                                 const char *image_data, size_t *len)
{
    ec2_xml *x;

    if (!(x = ec2_xml_new("GetConsoleScreenshot", request_id)))
        return NULL;
    ec2_xml_str(x, "instanceId", instance_id);
    ec2_xml_str(x, "imageData", image_data);
    return ec2_xml_finish(x, len);
}
