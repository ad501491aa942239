"""Key pairs, user data, instance attributes and console output through boto3
and /usr/bin/aws against the real daemon on libvirt's test:// driver.

Fingerprints are recomputed here with the tools AWS's "Verify the
fingerprint of your key pair" names (openssl for RSA, ssh-keygen for
ED25519; EC2 keeps the base64 '=' padding ssh-keygen drops), and created
private keys must be accepted by ssh-keygen."""
import base64
import os
import subprocess
import uuid

import botocore.handlers
import pytest
from botocore.exceptions import ClientError
from conftest import wait_running


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True,
                          text=True).stdout.strip()


def write_private(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)  # ssh-keygen refuses readable private keys
    return str(path)


def digest_of(openssl_out):
    return openssl_out.split("= ", 1)[1]  # "SHA1(stdin)= aa:bb:..."


def sha256_fp(path):
    out = sh("ssh-keygen -l -E sha256 -f '%s'" % path)  # "256 SHA256:xxx c (ED25519)"
    return out.split("SHA256:", 1)[1].split(" ", 1)[0] + "="


def key_fields(line):
    return line.split()[:2]


def name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def run(ec2, gw, **kw):
    kw.setdefault("InstanceType", "t2.micro")
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1, **kw)
    wait_running(ec2, [r["Instances"][0]["InstanceId"]])
    return r["Instances"][0]


def wait(ec2, what, iid):
    ec2.get_waiter(what).wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})


# ---- key pairs -------------------------------------------------------------

def test_create_rsa(ec2, tmp_path):
    k = name("rsa")
    r = ec2.create_key_pair(KeyName=k)
    assert r["KeyName"] == k and r["KeyPairId"].startswith("key-")
    assert r["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    pem = write_private(tmp_path / "k.pem", r["KeyMaterial"])
    sh("openssl rsa -in '%s' -check -noout" % pem)
    want = digest_of(sh("openssl pkcs8 -topk8 -nocrypt -in '%s' -outform DER | openssl sha1 -c"
                        % pem))
    assert r["KeyFingerprint"] == want
    pub = sh("ssh-keygen -y -f '%s'" % pem)
    d = ec2.describe_key_pairs(KeyNames=[k], IncludePublicKey=True)["KeyPairs"][0]
    assert key_fields(d["PublicKey"]) == key_fields(pub)
    assert d["KeyFingerprint"] == want and d["KeyType"] == "rsa"
    assert d["KeyPairId"] == r["KeyPairId"] and d["CreateTime"].year >= 2024
    ec2.delete_key_pair(KeyName=k)


def test_create_ed25519(ec2, tmp_path):
    k = name("ed")
    r = ec2.create_key_pair(KeyName=k, KeyType="ed25519", KeyFormat="pem")
    assert r["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    pem = write_private(tmp_path / "ed.pem", r["KeyMaterial"])
    pub = sh("ssh-keygen -y -f '%s'" % pem)
    assert pub.startswith("ssh-ed25519 ")
    assert r["KeyFingerprint"] == sha256_fp(pem)
    d = ec2.describe_key_pairs(KeyNames=[k], IncludePublicKey=True)["KeyPairs"][0]
    assert key_fields(d["PublicKey"]) == key_fields(pub) and d["KeyType"] == "ed25519"
    # The private half signs, the stored public half verifies.
    (tmp_path / "pub").write_text(d["PublicKey"] + "\n")
    (tmp_path / "data").write_text("hello\n")
    sh("ssh-keygen -Y sign -f '%s' -n t < '%s' > '%s'" % (pem, tmp_path / "data",
                                                          tmp_path / "sig"))
    sh("ssh-keygen -Y check-novalidate -n t -f '%s' -s '%s' < '%s'"
       % (tmp_path / "pub", tmp_path / "sig", tmp_path / "data"))
    ec2.delete_key_pair(KeyName=k)


def test_create_errors(ec2):
    k = name("dup")
    ec2.create_key_pair(KeyName=k, KeyType="ed25519")
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName=k)
    assert code_of(e) == "InvalidKeyPair.Duplicate"
    assert e.value.response["Error"]["Message"] == "The keypair '%s' already exists." % k
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName=name("x"), KeyFormat="ppk")
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName="k" * 256)
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName=name("dry"), DryRun=True)
    assert code_of(e) == "DryRunOperation"
    ec2.delete_key_pair(KeyName=k)


def test_import(ec2, tmp_path):
    rsa, ed = tmp_path / "rsa", tmp_path / "ed"
    sh("ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C me@host -f '%s'" % rsa)
    sh("ssh-keygen -q -t ed25519 -N '' -C me@host -f '%s'" % ed)
    kr, ke = name("imp-rsa"), name("imp-ed")
    r = ec2.import_key_pair(KeyName=kr, PublicKeyMaterial=(tmp_path / "rsa.pub").read_bytes())
    want = digest_of(sh("openssl rsa -in '%s' -pubout -outform DER | openssl md5 -c" % rsa))
    assert r["KeyFingerprint"] == want and r["KeyName"] == kr
    assert "KeyMaterial" not in r
    r = ec2.import_key_pair(KeyName=ke, PublicKeyMaterial=(tmp_path / "ed.pub").read_bytes())
    assert r["KeyFingerprint"] == sha256_fp(str(tmp_path / "ed.pub"))
    d = ec2.describe_key_pairs(KeyNames=[ke], IncludePublicKey=True)["KeyPairs"][0]
    assert key_fields(d["PublicKey"]) == key_fields((tmp_path / "ed.pub").read_text())

    with pytest.raises(ClientError) as e:
        ec2.import_key_pair(KeyName=name("bad"), PublicKeyMaterial=b"ssh-rsa AAAA not-a-key")
    assert code_of(e) == "InvalidKey.Format"
    with pytest.raises(ClientError) as e:
        ec2.import_key_pair(KeyName=name("bad"),
                            PublicKeyMaterial=(tmp_path / "rsa").read_bytes())  # private
    assert code_of(e) == "InvalidKey.Format"
    with pytest.raises(ClientError) as e:
        ec2.import_key_pair(KeyName=kr, PublicKeyMaterial=(tmp_path / "ed.pub").read_bytes())
    assert code_of(e) == "InvalidKeyPair.Duplicate"
    ec2.delete_key_pair(KeyName=kr)
    ec2.delete_key_pair(KeyName=ke)


def test_describe_filters_tags_delete(ec2):
    a, b = name("desc-a"), name("desc-b")
    ra = ec2.create_key_pair(KeyName=a, KeyType="ed25519", TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": "env", "Value": "it"}]}])
    assert ra["Tags"] == [{"Key": "env", "Value": "it"}]
    rb = ec2.create_key_pair(KeyName=b)
    ec2.get_waiter("key_pair_exists").wait(KeyNames=[a, b])

    got = ec2.describe_key_pairs(KeyNames=[a, b])["KeyPairs"]
    assert sorted(k["KeyName"] for k in got) == sorted([a, b])
    f = ec2.describe_key_pairs(Filters=[{"Name": "fingerprint",
                                         "Values": [rb["KeyFingerprint"]]}])["KeyPairs"]
    assert [k["KeyName"] for k in f] == [b]
    f = ec2.describe_key_pairs(Filters=[{"Name": "key-pair-id",
                                         "Values": [ra["KeyPairId"]]}])["KeyPairs"]
    assert [k["KeyName"] for k in f] == [a]
    f = ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["desc-*"]},
                                        {"Name": "tag:env", "Values": ["it"]}])["KeyPairs"]
    assert a in [k["KeyName"] for k in f] and b not in [k["KeyName"] for k in f]
    assert ec2.describe_key_pairs(KeyPairIds=[rb["KeyPairId"]])["KeyPairs"][0]["KeyName"] == b
    with pytest.raises(ClientError) as e:
        ec2.describe_key_pairs(KeyNames=[a, "no-such-key"])
    assert code_of(e) == "InvalidKeyPair.NotFound"

    ec2.delete_key_pair(KeyName=a)
    ec2.delete_key_pair(KeyPairId=rb["KeyPairId"])
    ec2.delete_key_pair(KeyName=a)  # missing: still fine, as on AWS
    for k in (a, b):
        with pytest.raises(ClientError) as e:
            ec2.describe_key_pairs(KeyNames=[k])
        assert code_of(e) == "InvalidKeyPair.NotFound"


def test_run_instances_with_key(ec2, gw):
    k = name("launch")
    ec2.create_key_pair(KeyName=k, KeyType="ed25519")
    inst = run(ec2, gw, KeyName=k)
    assert inst["KeyName"] == k
    iid = inst["InstanceId"]
    r = ec2.describe_instances(Filters=[{"Name": "key-name", "Values": [k]}])["Reservations"]
    assert [i["InstanceId"] for rr in r for i in rr["Instances"]] == [iid]
    assert r[0]["Instances"][0]["KeyName"] == k

    before = ec2.describe_instances()["Reservations"]
    with pytest.raises(ClientError) as e:
        run(ec2, gw, KeyName="no-such-key")
    assert code_of(e) == "InvalidKeyPair.NotFound"
    assert e.value.response["Error"]["Message"] == "The key pair 'no-such-key' does not exist"
    assert len(ec2.describe_instances()["Reservations"]) == len(before)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_key_pair(KeyName=k)


# ---- user data --------------------------------------------------------------

def count_instances(ec2):
    return sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])


def test_user_data_limits(ec2, gw):
    before = count_instances(ec2)
    with pytest.raises(ClientError) as e:
        run(ec2, gw, UserData="x" * 16385)  # boto3 base64-encodes it
    assert code_of(e) == "InvalidParameterValue"
    raw = gw.client()
    # Skip boto3's own encoding to send what is not base64 at all.
    raw.meta.events.unregister("before-parameter-build.ec2.RunInstances",
                               botocore.handlers.base64_encode_user_data)
    with pytest.raises(ClientError) as e:
        run(raw, gw, UserData="!!! not base64 !!!")
    assert code_of(e) == "InvalidParameterValue"
    assert count_instances(ec2) == before

    inst = run(ec2, gw, UserData="u" * 16384)
    iid = inst["InstanceId"]
    a = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert a["InstanceId"] == iid
    assert base64.b64decode(a["UserData"]["Value"]) == b"u" * 16384
    ec2.terminate_instances(InstanceIds=[iid])


# ---- attributes, console, password --------------------------------------------

def test_describe_attributes(ec2, gw):
    iid = run(ec2, gw, InstanceType="t2.small")["InstanceId"]
    assert ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="instanceType")["InstanceType"] == {"Value": "t2.small"}
    assert ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="disableApiTermination")["DisableApiTermination"] == {
            "Value": False}
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"] == {}
    with pytest.raises(ClientError) as e:
        ec2.describe_instance_attribute(InstanceId=iid, Attribute="kernel")
    assert code_of(e) == "UnsupportedOperation"
    with pytest.raises(ClientError) as e:
        ec2.describe_instance_attribute(InstanceId="i-0123456789abcdef0", Attribute="userData")
    assert code_of(e) == "InvalidInstanceID.NotFound"
    ec2.terminate_instances(InstanceIds=[iid])


def test_modify_type_and_user_data(ec2, gw):
    """Waits on the libvirt driver's instance_modify."""
    iid = run(ec2, gw)["InstanceId"]
    wait(ec2, "instance_running", iid)
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t2.small"})
    assert code_of(e) == "IncorrectInstanceState"
    assert e.value.response["Error"]["Message"] == (
        "The instance '%s' is not in the 'stopped' state." % iid)
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    wait(ec2, "instance_stopped", iid)

    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t2.small"})
    assert ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="instanceType")["InstanceType"] == {"Value": "t2.small"}
    i = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert i["InstanceType"] == "t2.small"
    # The Attribute/Value form too.
    ec2.modify_instance_attribute(InstanceId=iid, Attribute="instanceType", Value="t2.micro")
    assert ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="instanceType")["InstanceType"] == {"Value": "t2.micro"}

    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#!/bin/sh\necho new\n"})
    a = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert base64.b64decode(a["UserData"]["Value"]) == b"#!/bin/sh\necho new\n"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"x" * 16385})
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "x9.huge"})
    assert code_of(e) == "InvalidInstanceAttributeValue"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t2.nano"},
                                      DryRun=True)
    assert code_of(e) == "DryRunOperation"
    ec2.start_instances(InstanceIds=[iid])
    wait(ec2, "instance_running", iid)
    i = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert i["InstanceType"] == "t2.micro"
    ec2.terminate_instances(InstanceIds=[iid])


def test_termination_protection(ec2, gw):
    """Waits on the libvirt driver's instance_modify and disableApiTermination."""
    iid = run(ec2, gw)["InstanceId"]
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    assert ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="disableApiTermination")["DisableApiTermination"] == {
            "Value": True}
    with pytest.raises(ClientError) as e:
        ec2.terminate_instances(InstanceIds=[iid])
    assert code_of(e) == "OperationNotPermitted"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "may not be terminated" in e.value.response["Error"]["Message"]
    i = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert i["State"]["Name"] != "terminated"
    ec2.modify_instance_attribute(InstanceId=iid, Attribute="disableApiTermination",
                                  Value="false")
    ec2.terminate_instances(InstanceIds=[iid])
    wait(ec2, "instance_terminated", iid)


def test_console_and_password(ec2, gw):
    """GetConsoleOutput waits on the libvirt driver's instance_console."""
    iid = run(ec2, gw)["InstanceId"]
    wait(ec2, "instance_running", iid)
    out = ec2.get_console_output(InstanceId=iid)
    assert out["InstanceId"] == iid and "Timestamp" in out
    assert isinstance(out.get("Output", ""), str)  # botocore decoded the base64
    assert ec2.get_console_output(InstanceId=iid, Latest=True)["InstanceId"] == iid
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    wait(ec2, "instance_stopped", iid)
    assert ec2.get_console_output(InstanceId=iid)["InstanceId"] == iid
    pw = ec2.get_password_data(InstanceId=iid)
    assert pw["InstanceId"] == iid and pw["PasswordData"] == ""
    with pytest.raises(ClientError) as e:
        ec2.get_console_output(InstanceId="i-0123456789abcdef0")
    assert code_of(e) == "InvalidInstanceID.NotFound"
    ec2.terminate_instances(InstanceIds=[iid])


# ---- the aws CLI ---------------------------------------------------------------

def test_cli_key_pairs(gw, tmp_path):
    for kind in ("rsa", "ed25519"):
        k = name("cli-" + kind)
        r = gw.aws("create-key-pair", "--key-name", k, "--key-type", kind,
                   "--query", "KeyMaterial", "--output", "text", check=False)
        assert r.returncode == 0, r.stderr
        pem = write_private(tmp_path / (k + ".pem"), r.stdout)
        assert sh("ssh-keygen -y -f '%s'" % pem).startswith("ssh-")
        gw.aws("delete-key-pair", "--key-name", k)

    sh("ssh-keygen -q -t ed25519 -N '' -f '%s'" % (tmp_path / "mine"))
    k = name("cli-imp")
    r = gw.aws("import-key-pair", "--key-name", k,
               "--public-key-material", "fileb://%s" % (tmp_path / "mine.pub"))
    assert r["KeyName"] == k
    assert r["KeyFingerprint"] == sha256_fp(str(tmp_path / "mine.pub"))
    d = gw.aws("describe-key-pairs", "--key-names", k)["KeyPairs"]
    assert d[0]["KeyFingerprint"] == r["KeyFingerprint"]
    out = gw.aws("run-instances", "--image-id", gw.image_id, "--instance-type", "t2.micro",
                 "--key-name", k)
    assert out["Instances"][0]["KeyName"] == k
    gw.aws("terminate-instances", "--instance-ids", out["Instances"][0]["InstanceId"])
    gw.aws("delete-key-pair", "--key-name", k)
    r = gw.aws("describe-key-pairs", "--key-names", k, check=False)
    assert r.returncode != 0 and "InvalidKeyPair.NotFound" in r.stderr
