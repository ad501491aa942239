/* cloudgate: the EC2 actions of key pairs, instance attributes and consoles
 * end to end (parameters in, XML or AWS error out), against the fake driver
 * and a real key-pair store in a temporary directory (ec2_test_harness.h).
 * The store's own crypto is checked against OpenSSH/OpenSSL in
 * test_keypairs.c; the keys below were made with ssh-keygen and their
 * fingerprints computed with ssh-keygen -l -E sha256 and
 * openssl rsa -pubout -outform DER | openssl md5 -c.
 */
#include "ec2_test_harness.h"

#define ED_PUB                                                                                     \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP1VfPMAcn9kVb9RKNFjdeBNX1ZtBvZYOlhHmWa+2P+B "            \
    "alice@laptop\n"
#define ED_FP "NI89MF6vuAGuV/edmhtqyapvVL7ubm7O8Hjyig0IIcw="
#define RSA_PUB                                                                                    \
    "ssh-rsa "                                                                                     \
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQDGlf2JxRar/oxVjISMuBVpKVDOzHEt3U4LjmO1Lxbji87M3JG6zeUAPDd3MHwF" \
    "rt3g3TY3lrrsoE8imPT2qcTYmTjG3Qt1zI17snzXXDWqSnN/UjDWfppSi9M22ByIzbpb43C91T4pfG6SrOkwIDwju2A+" \
    "5riRNptVsCq1A6E4W8zHfHXgKc7Cqs+TpxeJgxT9mFqGu28iYEVto9Eoq9+5CaBr82cViwMDLvvo3AaTAWnMorXoJQi1" \
    "3g0e3ThdoNTyLT1wCcllp2NxF0rX6RMCMp76xlGIOkd4/vk0gH07dkgtvRzmM3n8Xasu2NhiwSzXR86x17ShD0tuiDwI" \
    "Wg6H bob@desk\n"
#define RSA_FP "8d:85:04:96:58:e2:96:fb:d4:62:fc:38:7f:73:a2:a8"

/* base64 of text, form-encoded: what botocore sends for a blob.  Static
 * buffer, one at a time. */
static const char *blob_param(const char *text, size_t len)
{
    static char out[8192];
    char *b64 = cg_base64_encode((const unsigned char *)text, len);
    char *enc = gw_uri_encode(b64, strlen(b64), 0);

    snprintf(out, sizeof(out), "%s", enc);
    free(b64);
    free(enc);
    return out;
}

static void import_key(const char *name, const char *pub)
{
    done(expect_ok("Action=ImportKeyPair&KeyName=%s&PublicKeyMaterial=%s", name,
                   blob_param(pub, strlen(pub))));
}

static size_t count(const gw_response *r, const char *expr)
{
    char *s = xp(r, expr);
    size_t n = (size_t)atol(s);

    free(s);
    return n;
}

/* ---- CreateKeyPair ------------------------------------------------------- */

static void test_create_key_pair(void **state)
{
    gw_response *r;
    char *s;

    r = expect_ok("Action=CreateKeyPair&KeyName=web");
    expect_xp(r, "/e:CreateKeyPairResponse/e:keyName", "web");
    s = xp(r, "//e:keyMaterial");
    assert_int_equal(strncmp(s, "-----BEGIN RSA PRIVATE KEY-----\n", 32), 0);
    assert_non_null(strstr(s, "-----END RSA PRIVATE KEY-----"));
    free(s);
    s = xp(r, "//e:keyFingerprint");
    assert_int_equal(strlen(s), 59); /* SHA-1, aa:bb:... */
    assert_int_equal(s[2], ':');
    free(s);
    s = xp(r, "//e:keyPairId");
    assert_int_equal(strncmp(s, "key-", 4), 0);
    assert_int_equal(strlen(s), 21);
    free(s);
    expect_xp(r, "count(//e:tagSet)", "1");
    done(r);

    r = expect_ok("Action=CreateKeyPair&KeyName=ed&KeyType=ed25519&KeyFormat=pem");
    s = xp(r, "//e:keyMaterial");
    assert_int_equal(strncmp(s, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36), 0);
    free(s);
    s = xp(r, "//e:keyFingerprint");
    assert_int_equal(strlen(s), 44); /* base64 SHA-256, '=' kept */
    assert_int_equal(s[43], '=');
    free(s);
    done(r);

    assert_string_equal(expect_error(400, "InvalidKeyPair.Duplicate",
                                     "Action=CreateKeyPair&KeyName=web&KeyType=ed25519"),
                        "The keypair 'web' already exists.");
    /* Validation before DryRun: a duplicate is reported even then. */
    expect_error(400, "InvalidKeyPair.Duplicate", "Action=CreateKeyPair&KeyName=web&DryRun=true");
    expect_error(400, "MissingParameter", "Action=CreateKeyPair");
    expect_error(400, "MissingParameter", "Action=CreateKeyPair&KeyName=");
    expect_error(400, "InvalidParameterValue", "Action=CreateKeyPair&KeyName=x&KeyType=dsa");
    expect_error(400, "InvalidParameterValue", "Action=CreateKeyPair&KeyName=x&KeyFormat=ppk");
    expect_error(400, "InvalidParameterValue", "Action=CreateKeyPair&KeyName=tab%%09name");
    expect_error(400, "InvalidParameterValue",
                 "Action=CreateKeyPair&KeyName=x&TagSpecification.1.ResourceType=instance"
                 "&TagSpecification.1.Tag.1.Key=a");
    expect_error(412, "DryRunOperation", "Action=CreateKeyPair&KeyName=x&DryRun=true");
    /* None of those made a key. */
    expect_error(400, "InvalidKeyPair.NotFound", "Action=DescribeKeyPairs&KeyName.1=x");
    r = expect_ok("Action=DescribeKeyPairs");
    assert_int_equal(count(r, "count(//e:keySet/e:item)"), 2);
    done(r);
}

static void test_create_key_pair_name_limit(void **state)
{
    char name[300];
    gw_response *r;

    memset(name, 'k', 256);
    name[256] = '\0';
    expect_error(400, "InvalidParameterValue", "Action=CreateKeyPair&KeyName=%s", name);
    name[255] = '\0';
    r = expect_ok("Action=CreateKeyPair&KeyName=%s&KeyType=ed25519", name);
    expect_xp(r, "//e:keyName", name);
    done(r);
    /* Spaces and punctuation are ASCII too. */
    r = expect_ok("Action=CreateKeyPair&KeyName=my+key%%2C+v2&KeyType=ed25519");
    expect_xp(r, "//e:keyName", "my key, v2");
    done(r);
}

static void test_create_key_pair_tags(void **state)
{
    gw_response *r;

    r = expect_ok("Action=CreateKeyPair&KeyName=tagged&KeyType=ed25519"
                  "&TagSpecification.1.ResourceType=key-pair"
                  "&TagSpecification.1.Tag.1.Key=env&TagSpecification.1.Tag.1.Value=prod"
                  "&TagSpecification.1.Tag.2.Key=Name&TagSpecification.1.Tag.2.Value=%%3Cme%%3E");
    expect_xp(r, "count(//e:tagSet/e:item)", "2");
    expect_xp(r, "//e:tagSet/e:item[e:key='Name']/e:value", "<me>");
    done(r);
    r = expect_ok("Action=DescribeKeyPairs&Filter.1.Name=tag%%3Aenv&Filter.1.Value.1=prod");
    expect_xp(r, "//e:keySet/e:item/e:keyName", "tagged");
    expect_xp(r, "count(//e:keySet/e:item/e:tagSet/e:item)", "2");
    done(r);
}

/* ---- ImportKeyPair ------------------------------------------------------- */

static void test_import_key_pair(void **state)
{
    gw_response *r;
    static const char garbage[] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB bob@desk\n";

    r = expect_ok("Action=ImportKeyPair&KeyName=alice&PublicKeyMaterial=%s",
                  blob_param(ED_PUB, strlen(ED_PUB)));
    expect_xp(r, "/e:ImportKeyPairResponse/e:keyName", "alice");
    expect_xp(r, "//e:keyFingerprint", ED_FP);
    expect_xp(r, "count(//e:keyMaterial)", "0");
    done(r);
    r = expect_ok("Action=ImportKeyPair&KeyName=bob&PublicKeyMaterial=%s",
                  blob_param(RSA_PUB, strlen(RSA_PUB)));
    expect_xp(r, "//e:keyFingerprint", RSA_FP);
    done(r);

    r = expect_ok("Action=DescribeKeyPairs&KeyName.1=bob&IncludePublicKey=true");
    expect_xp(r, "//e:keyType", "rsa");
    expect_xp(r, "//e:keyFingerprint", RSA_FP);
    /* The public key keeps its blob; the comment becomes the key's name. */
    expect_xp(
        r, "substring-after(//e:publicKey, ' ')",
        "AAAAB3NzaC1yc2EAAAADAQABAAABAQDGlf2JxRar/oxVjISMuBVpKVDOzHEt3U4LjmO1Lxbji87M3JG6zeUAP"
        "Dd3MHwFrt3g3TY3lrrsoE8imPT2qcTYmTjG3Qt1zI17snzXXDWqSnN/UjDWfppSi9M22ByIzbpb43C91T4p"
        "fG6SrOkwIDwju2A+5riRNptVsCq1A6E4W8zHfHXgKc7Cqs+TpxeJgxT9mFqGu28iYEVto9Eoq9+5CaBr82c"
        "ViwMDLvvo3AaTAWnMorXoJQi13g0e3ThdoNTyLT1wCcllp2NxF0rX6RMCMp76xlGIOkd4/vk0gH07dkgtvR"
        "zmM3n8Xasu2NhiwSzXR86x17ShD0tuiDwIWg6H bob");
    done(r);

    assert_string_equal(expect_error(400, "InvalidKey.Format",
                                     "Action=ImportKeyPair&KeyName=x&PublicKeyMaterial=%s",
                                     blob_param(garbage, strlen(garbage))),
                        "Key is not in valid OpenSSH public key format");
    /* Not base64 at all: what `aws ... file://` (not fileb://) sends. */
    expect_error(400, "InvalidKey.Format", "Action=ImportKeyPair&KeyName=x&PublicKeyMaterial=%s",
                 "ssh-ed25519%20AAAA");
    expect_error(400, "InvalidKey.Format",
                 "Action=ImportKeyPair&KeyName=x&DryRun=true&PublicKeyMaterial=%s",
                 blob_param("ecdsa-sha2-nistp256 AAAA", 24));
    expect_error(400, "MissingParameter", "Action=ImportKeyPair&KeyName=x");
    expect_error(400, "MissingParameter", "Action=ImportKeyPair&PublicKeyMaterial=%s",
                 blob_param(ED_PUB, strlen(ED_PUB)));
    expect_error(400, "InvalidKeyPair.Duplicate",
                 "Action=ImportKeyPair&KeyName=alice&PublicKeyMaterial=%s",
                 blob_param(RSA_PUB, strlen(RSA_PUB)));
    expect_error(412, "DryRunOperation",
                 "Action=ImportKeyPair&KeyName=x&DryRun=true&PublicKeyMaterial=%s",
                 blob_param(ED_PUB, strlen(ED_PUB)));
    expect_error(400, "InvalidKeyPair.NotFound", "Action=DescribeKeyPairs&KeyName.1=x");
}

/* ---- DescribeKeyPairs / DeleteKeyPair ------------------------------------ */

static void test_describe_key_pairs(void **state)
{
    gw_response *r;
    char *id_a;

    r = expect_ok("Action=DescribeKeyPairs");
    expect_xp(r, "count(/e:DescribeKeyPairsResponse/e:keySet)", "1");
    expect_xp(r, "count(//e:keySet/e:item)", "0");
    done(r);
    done(expect_ok("Action=CreateKeyPair&KeyName=b&KeyType=ed25519"));
    done(expect_ok("Action=CreateKeyPair&KeyName=a"));
    import_key("c", ED_PUB);

    r = expect_ok("Action=DescribeKeyPairs");
    expect_xp(r, "count(//e:keySet/e:item)", "3");
    expect_xp(r, "//e:keySet/e:item[1]/e:keyName", "a");
    expect_xp(r, "//e:keySet/e:item[1]/e:keyType", "rsa");
    expect_xp(r, "//e:keySet/e:item[2]/e:keyType", "ed25519");
    expect_xp(r, "//e:keySet/e:item[3]/e:keyFingerprint", ED_FP);
    expect_xp(r, "count(//e:keySet/e:item/e:createTime)", "3");
    expect_xp(r, "count(//e:keySet/e:item/e:tagSet)", "3");
    expect_xp(r, "count(//e:publicKey)", "0");
    id_a = xp(r, "//e:keySet/e:item[1]/e:keyPairId");
    done(r);

    r = expect_ok("Action=DescribeKeyPairs&KeyName.1=c&KeyName.2=a");
    expect_xp(r, "count(//e:keySet/e:item)", "2");
    done(r);
    r = expect_ok("Action=DescribeKeyPairs&KeyPairId.1=%s&IncludePublicKey=true", id_a);
    expect_xp(r, "//e:keyName", "a");
    expect_xp(r, "substring-before(//e:publicKey, ' ')", "ssh-rsa");
    done(r);
    assert_string_equal(expect_error(400, "InvalidKeyPair.NotFound",
                                     "Action=DescribeKeyPairs&KeyName.1=a"
                                     "&KeyName.2=nope"),
                        "The key pair 'nope' does not exist");
    expect_error(400, "InvalidKeyPair.NotFound",
                 "Action=DescribeKeyPairs&KeyPairId.1=key-0123456789abcdef0");

    r = expect_ok("Action=DescribeKeyPairs&Filter.1.Name=fingerprint&Filter.1.Value.1=%s",
                  "NI89MF6vuAGuV%2Fedmhtqyapv*");
    expect_xp(r, "count(//e:keySet/e:item)", "1");
    expect_xp(r, "//e:keyName", "c");
    done(r);
    r = expect_ok("Action=DescribeKeyPairs&Filter.1.Name=key-name&Filter.1.Value.1=a"
                  "&Filter.1.Value.2=b");
    expect_xp(r, "count(//e:keySet/e:item)", "2");
    done(r);
    r = expect_ok("Action=DescribeKeyPairs&Filter.1.Name=key-pair-id&Filter.1.Value.1=%s"
                  "&Filter.2.Name=key-type&Filter.2.Value.1=ed25519",
                  id_a);
    expect_xp(r, "count(//e:keySet/e:item)", "0");
    done(r);
    expect_error(400, "InvalidParameterValue",
                 "Action=DescribeKeyPairs&Filter.1.Name=colour&Filter.1.Value.1=red");
    expect_error(412, "DryRunOperation", "Action=DescribeKeyPairs&DryRun=true");
    free(id_a);
}

static void test_delete_key_pair(void **state)
{
    gw_response *r;
    char *id;

    r = expect_ok("Action=DeleteKeyPair&KeyName=never-there");
    expect_xp(r, "/e:DeleteKeyPairResponse/e:return", "true");
    done(r);
    done(expect_ok("Action=DeleteKeyPair&KeyPairId=key-0123456789abcdef0"));
    expect_error(400, "MissingParameter", "Action=DeleteKeyPair");

    done(expect_ok("Action=CreateKeyPair&KeyName=one&KeyType=ed25519"));
    import_key("two", RSA_PUB);
    expect_error(412, "DryRunOperation", "Action=DeleteKeyPair&KeyName=one&DryRun=true");
    done(expect_ok("Action=DescribeKeyPairs&KeyName.1=one"));
    done(expect_ok("Action=DeleteKeyPair&KeyName=one"));
    expect_error(400, "InvalidKeyPair.NotFound", "Action=DescribeKeyPairs&KeyName.1=one");

    r = expect_ok("Action=DescribeKeyPairs&KeyName.1=two");
    id = xp(r, "//e:keyPairId");
    done(r);
    expect_error(400, "InvalidParameterCombination",
                 "Action=DeleteKeyPair&KeyName=one&KeyPairId=%s", id);
    done(expect_ok("Action=DeleteKeyPair&KeyPairId=%s", id));
    r = expect_ok("Action=DescribeKeyPairs");
    expect_xp(r, "count(//e:keySet/e:item)", "0");
    done(r);
    /* The name can be used again. */
    import_key("two", ED_PUB);
    free(id);
}

/* ---- RunInstances with KeyName ------------------------------------------- */

static void test_run_with_key(void **state)
{
    gw_response *r;

    assert_string_equal(expect_error(400, "InvalidKeyPair.NotFound",
                                     "Action=RunInstances&ImageId=" AMI
                                     "&MinCount=1&MaxCount=1&KeyName=nope"),
                        "The key pair 'nope' does not exist");
    expect_error(400, "InvalidKeyPair.NotFound",
                 "Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1&KeyName=nope"
                 "&DryRun=true");
    assert_int_equal(drv->instances.n, 0);
    assert_int_equal(drv->mutations, 0);

    import_key("deploy", RSA_PUB);
    r = expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1&KeyName=deploy");
    expect_xp(r, "//e:instancesSet/e:item/e:keyName", "deploy");
    done(r);
    assert_string_equal(drv->last_key_name, "deploy");
    assert_int_equal(strncmp(drv->last_public_key, RSA_PUB, strlen(RSA_PUB) - 9), 0);
    assert_string_equal(drv->last_public_key + strlen(drv->last_public_key) - 7, " deploy");
    r = expect_ok("Action=DescribeInstances&Filter.1.Name=key-name&Filter.1.Value.1=deploy");
    expect_xp(r, "count(//e:instancesSet/e:item)", "1");
    done(r);
    /* Without a key, none is passed. */
    launch(1, NULL, NULL);
    assert_null(drv->last_key_name);
    assert_null(drv->last_public_key);
}

/* ---- user data ------------------------------------------------------------ */

static void test_user_data_rules(void **state)
{
    /* "#!/bin/sh\necho hi" wrapped as MIME encoders do. */
    done(expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1"
                   "&UserData=IyEvYmluL3No%%0D%%0ACmVjaG8gaGk%%3D"));
    assert_int_equal(drv->last_user_data_len, 17);
    assert_true(drv->last_user_data_given);
    /* Line breaks only decode to nothing: no user data, as when absent. */
    done(expect_ok("Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1"
                   "&UserData=%%0D%%0A%%0A"));
    assert_int_equal(drv->last_user_data_len, 0);
    assert_false(drv->last_user_data_given);
    expect_error(400, "InvalidParameterValue",
                 "Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1&UserData=IyEvYmluL3No"
                 "CmVjaG8gaGk");
    expect_error(400, "InvalidParameterValue",
                 "Action=RunInstances&ImageId=" AMI "&MinCount=1&MaxCount=1&UserData=%%C3%%A9");
    assert_int_equal(drv->instances.n, 2);
}

/* ---- DescribeInstanceAttribute / ModifyInstanceAttribute ----------------- */

static void test_describe_instance_attribute(void **state)
{
    char a[24], b[24];
    gw_response *r;

    launch(1, "&UserData=IyEvYmluL3NoCmVjaG8gaGk%3D&InstanceType=t2.small", a);
    launch(1, NULL, b);
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=userData", a);
    expect_xp(r, "/e:DescribeInstanceAttributeResponse/e:instanceId", a);
    expect_xp(r, "//e:userData/e:value", "IyEvYmluL3NoCmVjaG8gaGk=");
    done(r);
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=userData", b);
    expect_xp(r, "count(//e:userData)", "1");
    expect_xp(r, "count(//e:userData/e:value)", "0");
    done(r);
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=instanceType", a);
    expect_xp(r, "//e:instanceType/e:value", "t2.small");
    done(r);
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s"
                  "&Attribute=disableApiTermination",
                  a);
    expect_xp(r, "//e:disableApiTermination/e:value", "false");
    done(r);

    expect_error(400, "UnsupportedOperation",
                 "Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=kernel", a);
    expect_error(400, "InvalidParameterValue",
                 "Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=colour", a);
    expect_error(400, "MissingParameter", "Action=DescribeInstanceAttribute&InstanceId=%s", a);
    expect_error(400, "MissingParameter", "Action=DescribeInstanceAttribute&Attribute=userData");
    expect_error(400, "InvalidInstanceID.Malformed",
                 "Action=DescribeInstanceAttribute&InstanceId=i-xyz&Attribute=userData");
    expect_error(400, "InvalidInstanceID.NotFound",
                 "Action=DescribeInstanceAttribute&InstanceId=i-0000000000000dead"
                 "&Attribute=userData");
    expect_error(412, "DryRunOperation",
                 "Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=userData&DryRun=true",
                 a);
}

static void test_modify_instance_attribute(void **state)
{
    char a[24];
    gw_response *r;
    unsigned before;
    char *b64, *enc, want[200];
    unsigned char *big;

    launch(1, NULL, a);
    fake_settle(drv);
    /* Type and user data only while stopped, in AWS's words. */
    snprintf(want, sizeof(want), "The instance '%s' is not in the 'stopped' state.", a);
    assert_string_equal(expect_error(400, "IncorrectInstanceState",
                                     "Action=ModifyInstanceAttribute&InstanceId=%s"
                                     "&InstanceType.Value=t2.large",
                                     a),
                        want);
    assert_string_equal(expect_error(400, "IncorrectInstanceState",
                                     "Action=ModifyInstanceAttribute&InstanceId=%s"
                                     "&UserData.Value=aGk%%3D",
                                     a),
                        want);
    done(expect_ok("Action=StopInstances&InstanceId.1=%s", a));

    r = expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s&InstanceType.Value=t2.large", a);
    expect_xp(r, "/e:ModifyInstanceAttributeResponse/e:return", "true");
    done(r);
    r = expect_ok("Action=DescribeInstances&InstanceId.1=%s", a);
    expect_xp(r, "//e:instancesSet/e:item/e:instanceType", "t2.large");
    done(r);
    done(expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s&Attribute=instanceType"
                   "&Value=t2.micro",
                   a));
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=instanceType", a);
    expect_xp(r, "//e:instanceType/e:value", "t2.micro");
    done(r);
    expect_error(400, "InvalidInstanceAttributeValue",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&InstanceType.Value=x9.huge", a);

    /* User data: base64 on the wire, stored decoded, shown base64 again. */
    done(expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s&UserData.Value=aGVsbG8%%3D", a));
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=userData", a);
    expect_xp(r, "//e:userData/e:value", "aGVsbG8=");
    done(r);
    done(expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s&UserData.Value=", a));
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s&Attribute=userData", a);
    expect_xp(r, "count(//e:userData/e:value)", "0");
    done(r);

    /* The same limits as RunInstances, and nothing changes. */
    before = drv->mutations;
    big = calloc(1, 16385);
    b64 = cg_base64_encode(big, 16385);
    enc = gw_uri_encode(b64, strlen(b64), 0);
    expect_error(400, "InvalidParameterValue",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&UserData.Value=%s", a, enc);
    free(enc);
    free(b64);
    b64 = cg_base64_encode(big, 16384);
    enc = gw_uri_encode(b64, strlen(b64), 0);
    done(expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s&UserData.Value=%s", a, enc));
    free(enc);
    free(b64);
    free(big);
    before++;
    expect_error(400, "InvalidParameterValue",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&UserData.Value=%%21%%21", a);
    expect_error(400, "InvalidParameterCombination",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&InstanceType.Value=t2.micro"
                 "&DisableApiTermination.Value=true",
                 a);
    expect_error(400, "MissingParameter", "Action=ModifyInstanceAttribute&InstanceId=%s", a);
    expect_error(400, "MissingParameter",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&Attribute=instanceType", a);
    expect_error(400, "UnsupportedOperation",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&SourceDestCheck.Value=false", a);
    expect_error(400, "UnsupportedOperation",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&Attribute=kernel&Value=x", a);
    expect_error(400, "InvalidParameterValue",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&DisableApiTermination.Value=maybe",
                 a);
    expect_error(400, "InvalidInstanceID.NotFound",
                 "Action=ModifyInstanceAttribute&InstanceId=i-0000000000000dead"
                 "&InstanceType.Value=t2.micro");
    expect_error(412, "DryRunOperation",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&InstanceType.Value=t2.nano"
                 "&DryRun=true",
                 a);
    assert_int_equal(drv->mutations, before);
}

static void test_termination_protection(void **state)
{
    char a[24], b[24], want[200];
    gw_response *r;
    cg_driver no_modify = fake_driver;
    unsigned before;

    launch(1, NULL, a);
    launch(1, NULL, b);
    fake_settle(drv);
    /* Allowed while running. */
    done(expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s"
                   "&DisableApiTermination.Value=true",
                   a));
    r = expect_ok("Action=DescribeInstanceAttribute&InstanceId=%s"
                  "&Attribute=disableApiTermination",
                  a);
    expect_xp(r, "//e:disableApiTermination/e:value", "true");
    done(r);
    snprintf(want, sizeof(want),
             "The instance '%s' may not be terminated. Modify its 'disableApiTermination' "
             "instance attribute and try again.",
             a);
    before = drv->mutations;
    assert_string_equal(
        expect_error(400, "OperationNotPermitted", "Action=TerminateInstances&InstanceId.1=%s", a),
        want);
    /* One protected instance stops the whole request: b is not touched. */
    assert_string_equal(expect_error(400, "OperationNotPermitted",
                                     "Action=TerminateInstances&InstanceId.1=%s"
                                     "&InstanceId.2=%s",
                                     b, a),
                        want);
    assert_int_equal(drv->mutations, before);
    assert_int_equal(fake_find(drv, b)->state, CG_STATE_RUNNING);
    /* The driver refuses too (a flag set after the frontend looked). */
    {
        cg_error err = {0};
        cg_state_change chg;

        assert_int_equal(fake_instance_terminate(drv, a, &chg, &err), -1);
        assert_int_equal(err.kind, CG_ERR_FORBIDDEN);
    }

    done(expect_ok("Action=ModifyInstanceAttribute&InstanceId=%s"
                   "&Attribute=disableApiTermination&Value=false",
                   a));
    r = expect_ok("Action=TerminateInstances&InstanceId.1=%s&InstanceId.2=%s", a, b);
    expect_xp(r, "count(//e:instancesSet/e:item)", "2");
    done(r);

    /* A driver without the operation. */
    no_modify.instance_modify = NULL;
    ctx.driver = &no_modify;
    expect_error(400, "UnsupportedOperation",
                 "Action=ModifyInstanceAttribute&InstanceId=%s&DisableApiTermination.Value=true",
                 a);
    ctx.driver = &fake_driver;
}

/* ---- GetConsoleOutput / GetPasswordData ---------------------------------- */

static unsigned char *decoded_output(const gw_response *r, size_t *len)
{
    char *b64 = xp(r, "//e:output");
    unsigned char *out = cg_base64_decode(b64, strlen(b64), len);

    assert_non_null(out);
    free(b64);
    return out;
}

static void test_console_output(void **state)
{
    char a[24], want[64];
    gw_response *r;
    unsigned char *out;
    size_t len, i;
    cg_driver no_console = fake_driver;

    launch(1, NULL, a);
    r = expect_ok("Action=GetConsoleOutput&InstanceId=%s", a);
    expect_xp(r, "/e:GetConsoleOutputResponse/e:instanceId", a);
    expect_xp(r, "//e:timestamp", "2026-11-23T10:30:22.000Z");
    out = decoded_output(r, &len);
    snprintf(want, sizeof(want), "console of %s\n", a);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);
    done(r);
    assert_int_equal(drv->last_console_max, 65536);

    /* The newest 64 KiB of a longer log, also for a stopped instance. */
    done(expect_ok("Action=StopInstances&InstanceId.1=%s", a));
    drv->console_len = 70000;
    drv->console = malloc(drv->console_len);
    for (i = 0; i < drv->console_len; i++)
        drv->console[i] = (unsigned char)('a' + i % 26);
    r = expect_ok("Action=GetConsoleOutput&InstanceId=%s&Latest=true", a);
    out = decoded_output(r, &len);
    assert_int_equal(len, 65536);
    assert_memory_equal(out, drv->console + 70000 - 65536, 65536);
    free(out);
    done(r);

    expect_error(400, "InvalidParameterValue", "Action=GetConsoleOutput&InstanceId=%s&Latest=maybe",
                 a);
    expect_error(400, "MissingParameter", "Action=GetConsoleOutput");
    expect_error(400, "InvalidInstanceID.NotFound",
                 "Action=GetConsoleOutput&InstanceId=i-0000000000000dead");
    expect_error(412, "DryRunOperation", "Action=GetConsoleOutput&InstanceId=%s&DryRun=true", a);
    no_console.instance_console = NULL;
    ctx.driver = &no_console;
    expect_error(400, "UnsupportedOperation", "Action=GetConsoleOutput&InstanceId=%s", a);
    ctx.driver = &fake_driver;
}

static void test_password_data(void **state)
{
    char a[24];
    gw_response *r;

    launch(1, NULL, a);
    r = expect_ok("Action=GetPasswordData&InstanceId=%s", a);
    expect_xp(r, "/e:GetPasswordDataResponse/e:instanceId", a);
    expect_xp(r, "count(//e:passwordData)", "1");
    expect_xp(r, "//e:passwordData", "");
    expect_xp(r, "//e:timestamp", "2026-11-23T10:29:22.000Z");
    done(r);
    expect_error(400, "InvalidInstanceID.NotFound",
                 "Action=GetPasswordData&InstanceId=i-0000000000000dead");
    expect_error(400, "MissingParameter", "Action=GetPasswordData");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_key_pair),
        T(test_create_key_pair_name_limit),
        T(test_create_key_pair_tags),
        T(test_import_key_pair),
        T(test_describe_key_pairs),
        T(test_delete_key_pair),
        T(test_run_with_key),
        T(test_user_data_rules),
        T(test_describe_instance_attribute),
        T(test_modify_instance_attribute),
        T(test_termination_protection),
        T(test_console_output),
        T(test_password_data),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    xmlCleanupParser();
    return rc;
}
