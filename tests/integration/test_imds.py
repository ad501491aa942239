"""The instance metadata service (metadata_listen) on test://, reached from
network namespaces this test creates: namespace A's veth end carries the
MAC of a test:// instance (test:// has no DHCP leases, so the gateway finds
the caller through the host's neighbour table), namespace B is a stranger.
Requests really come from those addresses; nothing leaves the machine.
Plus ModifyInstanceMetadataOptions / RunInstances MetadataOptions /
DescribeInstances MetadataOptions through boto3 and the aws CLI."""
import base64
import json
import os
import random
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from cgharness import wait_for
from conftest import make_gateway

TAG = "%x" % (os.getpid() & 0xffff)
NET = random.randint(2, 250)
HOST_A, NS_A_IP = "10.253.%d.1" % NET, "10.253.%d.2" % NET
HOST_B, NS_B_IP = "10.252.%d.1" % NET, "10.252.%d.2" % NET
NS_A, NS_B = "cgimdsA" + TAG, "cgimdsB" + TAG
STRANGER_MAC = "52:54:00:de:ad:%02x" % NET
PUBKEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq6VJ2Rmq0z1O2nJc3Qm3QnHMVvJcJ3ZrJ8x0cYxXUo "
          "imds-test")
USER_DATA = "#!/bin/sh\necho imds-user-data-marker\n"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


def make_ns(name, host_if, ns_if, host_ip, ns_ip, mac, via=None):
    sh("ip", "netns", "add", name)
    sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
    sh("ip", "link", "set", ns_if, "netns", name)
    sh("ip", "addr", "add", host_ip + "/24", "dev", host_if)
    sh("ip", "link", "set", host_if, "up")
    sh("ip", "netns", "exec", name, "ip", "link", "set", ns_if, "address", mac)
    sh("ip", "netns", "exec", name, "ip", "addr", "add", ns_ip + "/24", "dev", ns_if)
    sh("ip", "netns", "exec", name, "ip", "link", "set", ns_if, "up")
    sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
    if via:
        sh("ip", "netns", "exec", name, "ip", "route", "add", "default", "via", via)


def drop_ns(name, host_if):
    sh("ip", "link", "del", host_if, check=False)
    sh("ip", "netns", "del", name, check=False)


def fetch(ns, method, path, headers=None):
    """curl from inside namespace ns to the metadata listener: (status, body, headers)."""
    cmd = ["ip", "netns", "exec", ns, "curl", "-s", "-S", "--max-time", "10", "-X", method,
           "-i", "--path-as-is", "http://%s%s" % (HOST_A, path)]
    for k, v in (headers or {}).items():
        cmd += ["-H", "%s: %s" % (k, v)]
    # Bytes: text mode would turn the CRLFs that end the header into LFs.
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout.decode()
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, body, hdrs


@pytest.fixture(scope="module")
def world():
    gw = make_gateway(extra_gateway="metadata_listen = %s:80\n" % HOST_A)
    made = []
    try:
        ec2 = gw.client()
        ec2.import_key_pair(KeyName="imds-key", PublicKeyMaterial=PUBKEY.encode())
        r = ec2.run_instances(ImageId=gw.image_id, InstanceType="t2.micro", MinCount=1,
                              MaxCount=1, KeyName="imds-key", UserData=USER_DATA,
                              MetadataOptions={"HttpTokens": "required",
                                               "HttpPutResponseHopLimit": 2})
        inst = r["Instances"][0]
        mac = inst["NetworkInterfaces"][0]["MacAddress"]
        make_ns(NS_A, "cgiA" + TAG + "h", "cgiA" + TAG + "n", HOST_A, NS_A_IP, mac)
        made.append((NS_A, "cgiA" + TAG + "h"))
        make_ns(NS_B, "cgiB" + TAG + "h", "cgiB" + TAG + "n", HOST_B, NS_B_IP, STRANGER_MAC,
                via=HOST_B)
        made.append((NS_B, "cgiB" + TAG + "h"))
        yield gw, ec2, inst
    finally:
        for ns, hif in made:
            drop_ns(ns, hif)
        assert gw.stop() == 0, gw.log_text()


def test_run_instances_metadata_options(world):
    gw, ec2, inst = world
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    d = ec2.describe_instances(InstanceIds=[inst["InstanceId"]])
    mo = d["Reservations"][0]["Instances"][0]["MetadataOptions"]
    assert mo == {"State": "applied", "HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                  "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled",
                  "InstanceMetadataTags": "disabled"}


def test_bad_options_change_nothing(world):
    gw, ec2, inst = world
    iid = inst["InstanceId"]
    for kw, code in [({"HttpTokens": "sometimes"}, "InvalidParameterValue"),
                     ({"HttpEndpoint": "on"}, "InvalidParameterValue"),
                     ({"HttpPutResponseHopLimit": 65}, "InvalidParameterValue"),
                     ({"HttpPutResponseHopLimit": 0}, "InvalidParameterValue"),
                     ({"HttpProtocolIpv6": "enabled"}, "InvalidParameterValue")]:
        with pytest.raises(ClientError) as e:
            ec2.modify_instance_metadata_options(InstanceId=iid, **kw)
        assert e.value.response["Error"]["Code"] == code, kw
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_metadata_options(InstanceId="i-0123456789abcdef0", HttpTokens="optional")
    assert e.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_metadata_options(InstanceId="nope", HttpTokens="optional")
    assert e.value.response["Error"]["Code"] == "InvalidInstanceID.Malformed"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional", DryRun=True)
    assert e.value.response["Error"]["Code"] == "DryRunOperation"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=gw.image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                          MetadataOptions={"HttpTokens": "always"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    d = ec2.describe_instances()
    assert len([i for r in d["Reservations"] for i in r["Instances"]]) == 1
    mo = d["Reservations"][0]["Instances"][0]["MetadataOptions"]
    assert (mo["HttpTokens"], mo["HttpPutResponseHopLimit"]) == ("required", 2)
    r = gw.aws("modify-instance-metadata-options", "--instance-id", iid,
               "--http-put-response-hop-limit", "99", check=False)
    assert r.returncode != 0 and "InvalidParameterValue" in r.stderr


def test_imdsv2_required(world):
    gw, ec2, inst = world
    iid = inst["InstanceId"]
    wait_for("the metadata service knows the instance",
             lambda: fetch(NS_A, "GET", "/latest/meta-data/instance-id")[0] == 401, 20, 0.5)
    for ttl in ["0", "21601", "abc", ""]:
        st, _, _ = fetch(NS_A, "PUT", "/latest/api/token",
                         {"X-aws-ec2-metadata-token-ttl-seconds": ttl} if ttl else None)
        assert st == 400, ttl
    st, _, _ = fetch(NS_A, "PUT", "/latest/api/token",
                     {"X-aws-ec2-metadata-token-ttl-seconds": "60",
                      "X-Forwarded-For": "10.0.0.1"})
    assert st == 403
    st, token, h = fetch(NS_A, "PUT", "/latest/api/token",
                         {"X-aws-ec2-metadata-token-ttl-seconds": "120"})
    assert st == 200 and len(token) == 44
    assert h["x-aws-ec2-metadata-token-ttl-seconds"] == "120"
    tok = {"X-aws-ec2-metadata-token": token}
    assert fetch(NS_A, "GET", "/latest/meta-data/instance-id", tok)[:2] == (200, iid)
    st, body, _ = fetch(NS_A, "GET", "/latest/meta-data/", tok)
    assert st == 200 and "instance-id" in body.split("\n") and "public-keys/" in body.split("\n")
    assert fetch(NS_A, "GET", "/latest/meta-data/public-keys/", tok)[1] == "0=imds-key"
    # The stored key, named after the key pair as EC2 serves it.
    key = fetch(NS_A, "GET", "/latest/meta-data/public-keys/0/openssh-key", tok)[1].split()
    assert key[:2] == PUBKEY.split()[:2] and key[2:] == ["imds-key"]
    assert fetch(NS_A, "GET", "/latest/user-data", tok)[1] == USER_DATA
    mac = inst["NetworkInterfaces"][0]["MacAddress"]
    assert fetch(NS_A, "GET", "/latest/meta-data/mac", tok)[1] == mac
    st, body, _ = fetch(NS_A, "GET", "/latest/meta-data/network/interfaces/macs/%s/vpc-id" % mac,
                        tok)
    assert st == 200 and body == inst["VpcId"]
    st, body, h = fetch(NS_A, "GET", "/latest/dynamic/instance-identity/document", tok)
    doc = json.loads(body)
    assert st == 200 and h["content-type"] == "application/json"
    assert doc["instanceId"] == iid and doc["imageId"] == gw.image_id
    assert doc["instanceType"] == "t2.micro" and doc["availabilityZone"] == "cloudgate-a"
    assert doc["region"] == "cloudgate" and doc["accountId"]
    assert fetch(NS_A, "GET", "/latest/meta-data/no-such-key", tok)[0] == 404
    assert fetch(NS_A, "GET", "/latest/meta-data/", {"X-aws-ec2-metadata-token": "x" * 44})[0] == 401
    assert fetch(NS_A, "GET", "/latest/../latest/meta-data/", tok)[0] == 400
    # The stranger gets nothing, with or without A's token.
    assert fetch(NS_B, "GET", "/latest/meta-data/instance-id")[0] == 403
    assert fetch(NS_B, "GET", "/latest/meta-data/instance-id", tok)[0] == 403
    assert fetch(NS_B, "PUT", "/latest/api/token",
                 {"X-aws-ec2-metadata-token-ttl-seconds": "60"})[0] == 403


def test_options_reach_the_service(world):
    gw, ec2, inst = world
    iid = inst["InstanceId"]
    out = gw.aws("modify-instance-metadata-options", "--instance-id", iid,
                 "--http-tokens", "optional")
    assert out["InstanceId"] == iid
    assert out["InstanceMetadataOptions"]["HttpTokens"] == "optional"
    assert out["InstanceMetadataOptions"]["HttpPutResponseHopLimit"] == 2
    wait_for("IMDSv1 allowed",
             lambda: fetch(NS_A, "GET", "/latest/meta-data/instance-id")[:2] == (200, iid),
             20, 0.5)
    r = ec2.modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="disabled")
    assert r["InstanceMetadataOptions"]["HttpEndpoint"] == "disabled"
    assert r["InstanceMetadataOptions"]["HttpTokens"] == "optional"
    wait_for("endpoint disabled",
             lambda: fetch(NS_A, "GET", "/latest/meta-data/instance-id")[0] == 403, 20, 0.5)
    assert fetch(NS_A, "PUT", "/latest/api/token",
                 {"X-aws-ec2-metadata-token-ttl-seconds": "60"})[0] == 403
    d = gw.aws("describe-instances", "--instance-ids", iid)
    mo = d["Reservations"][0]["Instances"][0]["MetadataOptions"]
    assert mo["HttpEndpoint"] == "disabled" and mo["HttpTokens"] == "optional"
    ec2.modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="enabled")
    wait_for("endpoint enabled again",
             lambda: fetch(NS_A, "GET", "/latest/meta-data/instance-id")[0] == 200, 20, 0.5)
    # A terminated instance is served no more and cannot be modified.
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for("terminated instance dropped",
             lambda: fetch(NS_A, "GET", "/latest/meta-data/instance-id")[0] == 403, 30, 0.5)
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required")
    assert e.value.response["Error"]["Code"] == "IncorrectInstanceState"


def test_imds_image_launches_without_seed(world):
    """An image registered with --seed-format imds launches with no seed ISO
    (the domain says "EC2" through SMBIOS: tests/domxml/smbios-imds-qemu.xml
    shows the XML; test:// cannot be asked for it from here); an unknown
    seed format is refused."""
    gw, ec2, inst = world
    r = gw.admin("image-register", "--name", "demo-imds", "--volume", "demo.qcow2",
                 "--seed-format", "imds", "--no-inspect")
    image_id = r.stdout.strip().split()[-1]
    bad = gw.admin("image-register", "--name", "demo-bad", "--volume", "demo.qcow2",
                   "--seed-format", "isofs", "--no-inspect", check=False)
    assert bad.returncode != 0 and "imds" in bad.stderr
    out = gw.aws("run-instances", "--image-id", image_id, "--instance-type", "t2.micro",
                 "--metadata-options", "HttpTokens=required,HttpEndpoint=enabled")
    new = out["Instances"][0]
    assert new["MetadataOptions"]["HttpTokens"] == "required"
    ec2.get_waiter("instance_running").wait(InstanceIds=[new["InstanceId"]],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ec2.terminate_instances(InstanceIds=[new["InstanceId"]])
