"""What SDK-based tools ask before they act (found by running Ansible's
amazon.aws modules against the gateway, test_ansible.py): DescribeVpcAttribute,
ModifyVpcAttribute, DescribeVpcClassicLink, DescribeVpcs' cidr-block filter,
DescribeInstanceAttribute groupSet and STS GetCallerIdentity on the same
endpoint; with boto3 and the aws CLI, errors included."""
import json
import os
import subprocess

import boto3
import botocore.config
import botocore.exceptions
import pytest

from cgharness import AWS


def error(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def cli_error(gw, *args):
    r = gw.aws(*args, check=False)
    assert r.returncode != 0, r.stdout
    return r.stderr


@pytest.fixture(scope="module")
def vpc(gw):
    ec2 = gw.client()
    vid = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    yield vid
    ec2.delete_vpc(VpcId=vid)


def test_describe_vpc_attribute(gw, ec2, vpc):
    for attr, key, want in [("enableDnsSupport", "EnableDnsSupport", True),
                            ("enableDnsHostnames", "EnableDnsHostnames", True),
                            ("enableNetworkAddressUsageMetrics",
                             "EnableNetworkAddressUsageMetrics", False)]:
        r = ec2.describe_vpc_attribute(VpcId=vpc, Attribute=attr)
        assert r["VpcId"] == vpc and r[key] == {"Value": want}, r
        # Only the attribute asked for is answered.
        assert len([k for k in r if k.startswith("Enable")]) == 1
        out = gw.aws("describe-vpc-attribute", "--vpc-id", vpc, "--attribute", attr)
        assert out[key] == {"Value": want} and out["VpcId"] == vpc
    dvpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert ec2.describe_vpc_attribute(VpcId=dvpc["VpcId"], Attribute="enableDnsSupport")[
        "EnableDnsSupport"]["Value"] is True

    assert error(ec2.describe_vpc_attribute, VpcId="vpc-0123456789abcdef0",
                 Attribute="enableDnsSupport")[0] == "InvalidVpcID.NotFound"
    assert error(ec2.describe_vpc_attribute, VpcId="vpc-!",
                 Attribute="enableDnsSupport")[0] == "InvalidVpcID.Malformed"
    assert error(ec2.describe_vpc_attribute, VpcId=vpc,
                 Attribute="enableEverything")[0] == "InvalidParameterValue"
    assert error(ec2.describe_vpc_attribute, VpcId="",
                 Attribute="enableDnsSupport")[0] == "MissingParameter"
    assert "InvalidVpcID.NotFound" in cli_error(
        gw, "describe-vpc-attribute", "--vpc-id", "vpc-0123456789abcdef0", "--attribute",
        "enableDnsHostnames")


def test_modify_vpc_attribute(gw, ec2, vpc):
    # The values the network already has are accepted and change nothing.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableNetworkAddressUsageMetrics={"Value": False})
    assert gw.aws("modify-vpc-attribute", "--vpc-id", vpc, "--enable-dns-hostnames") is None

    # Turning DNS off would need the libvirt network rebuilt: refused, unchanged.
    c, msg = error(ec2.modify_vpc_attribute, VpcId=vpc, EnableDnsSupport={"Value": False})
    assert c == "UnsupportedOperation" and "enableDnsSupport" in msg
    assert "UnsupportedOperation" in cli_error(gw, "modify-vpc-attribute", "--vpc-id", vpc,
                                               "--no-enable-dns-hostnames")
    assert ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsHostnames")[
        "EnableDnsHostnames"]["Value"] is True
    assert error(ec2.modify_vpc_attribute, VpcId=vpc)[0] == "MissingParameter"
    assert error(ec2.modify_vpc_attribute, VpcId=vpc, EnableDnsSupport={"Value": True},
                 EnableDnsHostnames={"Value": True})[0] == "InvalidParameterCombination"
    assert error(ec2.modify_vpc_attribute, VpcId="vpc-0123456789abcdef0",
                 EnableDnsSupport={"Value": True})[0] == "InvalidVpcID.NotFound"


def test_describe_vpc_classic_link(gw, ec2, vpc):
    # No EC2-Classic here: AWS's answer in a region without it, which
    # Ansible's ec2_vpc_net reads as "ClassicLink disabled".
    c, msg = error(ec2.describe_vpc_classic_link, VpcIds=[vpc])
    assert c == "UnsupportedOperation"
    assert msg == "The functionality you requested is not available in this region."
    assert "not available in this region" in cli_error(gw, "describe-vpc-classic-link")


def test_describe_vpcs_cidr_block_filter(gw, ec2, vpc):
    for name in ("cidr-block", "cidrBlock", "cidr"):
        got = ec2.describe_vpcs(Filters=[{"Name": name, "Values": ["10.61.0.0/16"]}])["Vpcs"]
        assert [v["VpcId"] for v in got] == [vpc], name
        assert ec2.describe_vpcs(Filters=[{"Name": name, "Values": ["10.62.0.0/16"]}])[
            "Vpcs"] == []
    out = gw.aws("describe-vpcs", "--filters", "Name=cidr-block,Values=10.61.0.0/16")
    assert [v["VpcId"] for v in out["Vpcs"]] == [vpc]
    assert error(ec2.describe_vpcs, Filters=[{"Name": "cidr-blocks", "Values": ["x"]}])[0] == \
        "InvalidParameterValue"


def test_instance_attribute_group_set(gw, ec2, vpc):
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="probe-sg", Description="d", VpcId=vpc)["GroupId"]
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1, InstanceType="m1.small",
                            SubnetId=sub, SecurityGroupIds=[sg])["Instances"][0]["InstanceId"]
    try:
        r = ec2.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")
        assert r["InstanceId"] == iid
        assert r["Groups"] == [{"GroupId": sg, "GroupName": "probe-sg"}]
        out = gw.aws("describe-instance-attribute", "--instance-id", iid, "--attribute",
                     "groupSet")
        assert out["Groups"] == [{"GroupId": sg, "GroupName": "probe-sg"}]
        assert error(ec2.describe_instance_attribute, InstanceId="i-0123456789abcdef0",
                     Attribute="groupSet")[0] == "InvalidInstanceID.NotFound"
        # groupSet changes through GroupId.N, not Attribute/Value.
        c, msg = error(ec2.modify_instance_attribute, InstanceId=iid, Attribute="groupSet",
                       Value=sg)
        assert c == "UnsupportedOperation" and "GroupId.N" in msg
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_security_group(GroupId=sg)
    ec2.delete_subnet(SubnetId=sub)


def sts_client(gw, secret=None):
    return boto3.client("sts", region_name="cloudgate", endpoint_url=gw.endpoint,
                        aws_access_key_id=gw.key_id, aws_secret_access_key=secret or gw.secret,
                        config=botocore.config.Config(retries={"max_attempts": 0}))


def test_sts_get_caller_identity(gw, ec2):
    owner = ec2.describe_security_groups()["SecurityGroups"][0]["OwnerId"]
    r = sts_client(gw).get_caller_identity()
    assert r["Account"] == owner and r["UserId"] == owner
    assert r["Arn"] == "arn:aws:iam::%s:root" % owner
    assert r["ResponseMetadata"]["RequestId"]

    env = dict(os.environ, AWS_ACCESS_KEY_ID=gw.key_id, AWS_SECRET_ACCESS_KEY=gw.secret,
               AWS_DEFAULT_REGION="cloudgate", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    cli = subprocess.run([AWS, "--endpoint-url", gw.endpoint, "--output", "json", "sts",
                          "get-caller-identity"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Account"] == owner

    # Signed for sts with a wrong secret: refused like any other request.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts_client(gw, secret="wrong").get_caller_identity()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # The sts scope reaches this one action only, never EC2's.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts_client(gw).get_session_token()
    assert e.value.response["Error"]["Code"] == "InvalidAction"
    sts = sts_client(gw)

    def as_ec2(request, **kw):
        request.data = b"Action=DescribeVpcs&Version=2016-11-15"
    sts.meta.events.register_first("before-sign.sts.GetCallerIdentity", as_ec2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidAction"
    # And EC2's scope does not answer GetCallerIdentity.
    ec2c = gw.client()

    def as_sts(request, **kw):
        request.data = b"Action=GetCallerIdentity&Version=2011-06-15"
    ec2c.meta.events.register_first("before-sign.ec2.DescribeRegions", as_sts)
    assert error(ec2c.describe_regions)[0] == "InvalidAction"
    cli = subprocess.run([AWS, "--endpoint-url", gw.endpoint, "sts", "get-caller-identity"],
                         capture_output=True, text=True, timeout=120,
                         env=dict(env, AWS_SECRET_ACCESS_KEY="wrong"))
    assert cli.returncode != 0 and "SignatureDoesNotMatch" in cli.stderr


def test_modify_vpc_attribute_hostile_value(gw, vpc):
    """A value that is not a boolean, sent past botocore's own checks."""
    ec2 = gw.client()

    def bad_value(request, **kw):
        request.data["EnableDnsSupport.Value"] = "maybe"
    ec2.meta.events.register_first("before-sign.ec2.ModifyVpcAttribute", bad_value)
    assert error(ec2.modify_vpc_attribute, VpcId=vpc,
                 EnableDnsSupport={"Value": True})[0] == "InvalidParameterValue"


def test_attach_volume_unsupported_by_test_driver(gw, ec2):
    """libvirt's test driver has no disk hot-plug: AttachVolume answers a 400
    UnsupportedOperation at once (no retries), and the volume stays available."""
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="m1.small")["Instances"][0]["InstanceId"]
    vid = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]
    try:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
        assert e.value.response["Error"]["Code"] == "UnsupportedOperation"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "UnsupportedOperation" in cli_error(
            gw, "attach-volume", "--volume-id", vid, "--instance-id", iid, "--device", "/dev/vdb")
        vol = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
        assert vol["State"] == "available" and vol["Attachments"] == []
    finally:
        ec2.delete_volume(VolumeId=vid)
        ec2.terminate_instances(InstanceIds=[iid])


def sts_signed(gw, body, presign=False):
    """Send body (or, presigned, a GET with it as the query) signed for sts."""
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    import hostile

    creds = Credentials(gw.key_id, gw.secret)
    if presign:
        req = AWSRequest(method="GET", url=gw.endpoint + "/?" + body)
        SigV4QueryAuth(creds, "sts", "cloudgate", expires=60).add_auth(req)
        return hostile.send(gw, "GET", req.prepare().url[len(gw.endpoint):])
    req = AWSRequest(method="POST", url=gw.endpoint + "/", data=body.encode(),
                     headers={"Content-Type": hostile.FORM})
    SigV4Auth(creds, "sts", "cloudgate").add_auth(req)
    hdrs = dict(req.prepare().headers.items())
    hdrs.pop("Content-Length", None)
    return hostile.send(gw, "POST", "/", body.encode(), hdrs)


def test_sts_scope_hostile(gw, ec2):
    owner = ec2.describe_security_groups()["SecurityGroups"][0]["OwnerId"]
    before = ec2.describe_vpcs()["Vpcs"]
    # Presigned (X-Amz-Credential in the query) works as the header form does.
    r = sts_signed(gw, "Action=GetCallerIdentity&Version=2011-06-15", presign=True)
    assert r.status == 200 and ("<Account>%s</Account>" % owner).encode() in r.body
    for body, want in [("Version=2011-06-15", "InvalidAction"),
                       ("Action=&Version=2011-06-15", "InvalidAction"),
                       ("Action=CreateVpc&CidrBlock=10.63.0.0%2F16&Version=2016-11-15",
                        "InvalidAction"),
                       ("Action=GetCallerIdentity%00&Version=2011-06-15",
                        "MalformedQueryString"),
                       ("Action=" + "G" * 5000, "InvalidAction")]:
        r = sts_signed(gw, body)
        assert r.status == 400 and ("<Code>%s</Code>" % want).encode() in r.body, (body, r)
    r = sts_signed(gw, "Action=CreateVpc&CidrBlock=10.63.0.0%2F16&Version=2016-11-15",
                   presign=True)
    assert r.status == 400 and b"<Code>InvalidAction</Code>" in r.body
    assert ec2.describe_vpcs()["Vpcs"] == before


def test_modify_subnet_attribute(gw, ec2, vpc):
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.2.0/24")["Subnet"]["SubnetId"]
    try:
        # No public or IPv6 addresses here: false is accepted, true refused.
        ec2.modify_subnet_attribute(SubnetId=sub, MapPublicIpOnLaunch={"Value": False})
        ec2.modify_subnet_attribute(SubnetId=sub, AssignIpv6AddressOnCreation={"Value": False})
        assert gw.aws("modify-subnet-attribute", "--subnet-id", sub,
                      "--no-map-public-ip-on-launch") is None
        c, msg = error(ec2.modify_subnet_attribute, SubnetId=sub,
                       MapPublicIpOnLaunch={"Value": True})
        assert c == "UnsupportedOperation" and "mapPublicIpOnLaunch" in msg
        assert "UnsupportedOperation" in cli_error(gw, "modify-subnet-attribute", "--subnet-id",
                                                   sub, "--assign-ipv6-address-on-creation")
        got = ec2.describe_subnets(SubnetIds=[sub])["Subnets"][0]
        assert got["MapPublicIpOnLaunch"] is False and got["AssignIpv6AddressOnCreation"] is False
        assert error(ec2.modify_subnet_attribute, SubnetId=sub)[0] == "MissingParameter"
        assert error(ec2.modify_subnet_attribute, SubnetId=sub,
                     MapPublicIpOnLaunch={"Value": False},
                     EnableDns64={"Value": False})[0] == "InvalidParameterCombination"
        assert error(ec2.modify_subnet_attribute, SubnetId="subnet-0123456789abcdef0",
                     MapPublicIpOnLaunch={"Value": False})[0] == "InvalidSubnetID.NotFound"
        assert error(ec2.modify_subnet_attribute, SubnetId="subnet-?",
                     MapPublicIpOnLaunch={"Value": False})[0] == "InvalidSubnetID.Malformed"
        assert error(ec2.modify_subnet_attribute, SubnetId=sub,
                     PrivateDnsHostnameTypeOnLaunch="resource-name")[0] == "UnsupportedOperation"
        assert "InvalidSubnetID.NotFound" in cli_error(
            gw, "modify-subnet-attribute", "--subnet-id", "subnet-0123456789abcdef0",
            "--no-map-public-ip-on-launch")
    finally:
        ec2.delete_subnet(SubnetId=sub)
