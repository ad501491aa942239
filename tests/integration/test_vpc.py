"""VPCs and subnets on libvirt networks (test:// driver): the default VPC
from the configured network, CreateVpc/CreateSubnet/Delete*/Describe* with
boto3 and the aws CLI, their errors, DescribeAccountAttributes and
DescribeAddresses."""
import ipaddress

import botocore.exceptions
import pytest

from cgharness import wait_for
from conftest import make_gateway

NETWORK_CIDR = "192.168.250.0/24"   # testnode.xml's cloudgate-isolated


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def error(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return code_of(e)


def default_vpc(ec2):
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1
    return vpcs[0]


def test_default_vpc_and_subnet(ec2):
    vpc = default_vpc(ec2)
    assert vpc["IsDefault"] is True
    assert vpc["CidrBlock"] == NETWORK_CIDR
    assert vpc["State"] == "available"
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlock"] == NETWORK_CIDR
    subs = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    assert [s["AvailabilityZone"] for s in subs["Subnets"]] == ["cloudgate-a"]
    sub = subs["Subnets"][0]
    assert sub["VpcId"] == vpc["VpcId"]
    assert sub["CidrBlock"] == NETWORK_CIDR
    assert sub["DefaultForAz"] is True
    # AWS counts a /24 as 256 - 5 reserved, minus the addresses in use.
    running = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
               if i["State"]["Name"] != "terminated"]
    assert sub["AvailableIpAddressCount"] == 251 - len(running)


def test_account_attributes_name_default_vpc(ec2):
    vpc_id = default_vpc(ec2)["VpcId"]
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["supported-platforms"] == ["VPC"]
    assert attrs["default-vpc"] == [vpc_id]
    assert "max-instances" in attrs
    one = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in one] == ["default-vpc"]


def test_available_ips_count_instances(gw, ec2):
    before = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=2, MaxCount=2, InstanceType="m1.small")
    ids = [i["InstanceId"] for i in r["Instances"]]
    after = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    assert (after["Subnets"][0]["AvailableIpAddressCount"]
            == before["Subnets"][0]["AvailableIpAddressCount"] - 2)
    ec2.terminate_instances(InstanceIds=ids)


def test_vpc_subnet_lifecycle_boto3(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "blue"}]}])["Vpc"]
    vid = vpc["VpcId"]
    assert vid.startswith("vpc-") and vpc["IsDefault"] is False
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    assert vpc["Tags"] == [{"Key": "Name", "Value": "blue"}]
    got = ec2.describe_vpcs(VpcIds=[vid])["Vpcs"]
    assert [v["VpcId"] for v in got] == [vid]
    assert [v["VpcId"] for v in ec2.describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": ["blue"]}])["Vpcs"]] == [vid]
    assert [v["VpcId"] for v in ec2.describe_vpcs(
        Filters=[{"Name": "cidr", "Values": ["10.20.0.0/16"]}])["Vpcs"]] == [vid]

    sub = ec2.create_subnet(VpcId=vid, CidrBlock="10.20.1.0/24",
                            AvailabilityZone="cloudgate-a", TagSpecifications=[
                                {"ResourceType": "subnet", "Tags": [{"Key": "tier",
                                                                     "Value": "web"}]}])["Subnet"]
    sid = sub["SubnetId"]
    assert sub["VpcId"] == vid and sub["CidrBlock"] == "10.20.1.0/24"
    assert sub["AvailableIpAddressCount"] == 251
    assert sub["DefaultForAz"] is False
    assert sub["AvailabilityZone"] == "cloudgate-a"
    # A /28 holds 16 - 5 usable addresses.
    small = ec2.create_subnet(VpcId=vid, CidrBlock="10.20.2.0/28")["Subnet"]
    assert small["AvailableIpAddressCount"] == 11

    for flt, want in [("vpc-id", [vid]), ("subnet-id", [sid]), ("cidr-block", ["10.20.1.0/24"]),
                      ("tag:tier", ["web"]), ("tag-key", ["tier"]),
                      ("availability-zone", ["cloudgate-a"]), ("state", ["available"])]:
        found = {s["SubnetId"] for s in ec2.describe_subnets(
            Filters=[{"Name": flt, "Values": want}])["Subnets"]}
        assert sid in found, flt
    in_vpc = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]
    assert {s["SubnetId"] for s in in_vpc} == {sid, small["SubnetId"]}
    assert ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]},
                                         {"Name": "vpc-id", "Values": [vid]}])["Subnets"] == []

    # Tags through CreateTags / DescribeTags too.
    ec2.create_tags(Resources=[vid, sid], Tags=[{"Key": "env", "Value": "test"}])
    tagged = {t["ResourceId"]: t["ResourceType"] for t in ec2.describe_tags(
        Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]}
    assert tagged == {vid: "vpc", sid: "subnet"}

    # Subnets keep their VPC.
    assert error(ec2.delete_vpc, VpcId=vid) == "DependencyViolation"
    assert ec2.describe_vpcs(VpcIds=[vid])["Vpcs"]
    ec2.delete_subnet(SubnetId=sid)
    ec2.delete_subnet(SubnetId=small["SubnetId"])
    assert error(ec2.describe_subnets, SubnetIds=[sid]) == "InvalidSubnetID.NotFound"
    ec2.delete_vpc(VpcId=vid)
    assert error(ec2.describe_vpcs, VpcIds=[vid]) == "InvalidVpcID.NotFound"
    assert error(ec2.delete_vpc, VpcId=vid) == "InvalidVpcID.NotFound"


def test_subnet_ranges_and_conflicts(ec2):
    vid = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    try:
        sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.30.0.0/20")["Subnet"]["SubnetId"]
        assert error(ec2.create_subnet, VpcId=vid, CidrBlock="10.30.4.0/24") \
            == "InvalidSubnet.Conflict"
        assert error(ec2.create_subnet, VpcId=vid, CidrBlock="10.31.0.0/24") \
            == "InvalidSubnet.Range"
        assert error(ec2.create_subnet, VpcId=vid, CidrBlock="10.30.64.0/29") \
            == "InvalidSubnet.Range"
        assert error(ec2.create_subnet, VpcId=vid, CidrBlock="10.30.64.1/24") \
            == "InvalidParameterValue"
        assert error(ec2.create_subnet, VpcId=vid, CidrBlock="10.30.64.0/24",
                     AvailabilityZone="nowhere") == "InvalidZone.NotFound"
        assert error(ec2.create_subnet, VpcId="vpc-0123456789abcdef0",
                     CidrBlock="10.30.64.0/24") == "InvalidVpcID.NotFound"
        assert error(ec2.create_subnet, VpcId="vpc-nope", CidrBlock="10.30.64.0/24") \
            == "InvalidVpcID.Malformed"
        assert error(ec2.create_subnet, VpcId=vid, CidrBlock="10.30.64.0/24", DryRun=True) \
            == "DryRunOperation"
        # Nothing was made by any of those.
        subs = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]
        assert [s["SubnetId"] for s in subs] == [sid]
        # The default VPC's default subnet covers its whole block.
        dvpc = default_vpc(ec2)
        assert error(ec2.create_subnet, VpcId=dvpc["VpcId"], CidrBlock="192.168.250.0/28") \
            == "InvalidSubnet.Conflict"
        ec2.delete_subnet(SubnetId=sid)
    finally:
        ec2.delete_vpc(VpcId=vid)


@pytest.mark.parametrize("cidr,code", [
    ("10.0.0.0/8", "InvalidVpc.Range"),
    ("10.0.0.0/29", "InvalidVpc.Range"),
    ("10.0.0.1/16", "InvalidParameterValue"),
    ("10.0.0.0", "InvalidParameterValue"),
    ("300.0.0.0/16", "InvalidParameterValue"),
    ("10.0.0.0/16/", "InvalidParameterValue"),
    ("010.0.0.0/16", "InvalidParameterValue"),
    ("", "MissingParameter"),
    ("192.168.0.0/16", "InvalidVpc.Range"),     # holds the default VPC's block
    ("10.0.0.0/16 ", "InvalidParameterValue"),
    ("10.0.0.0/016", "InvalidParameterValue"),
    ("10.0.0.0/-1", "InvalidParameterValue"),
    ("10.0.0.0/16\x00", "MalformedQueryString"),   # refused before any action runs
    ("1" * 5000, "InvalidParameterValue"),
    ("<a>&'\"", "InvalidParameterValue"),
])
def test_create_vpc_refused(ec2, cidr, code):
    before = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert error(ec2.create_vpc, CidrBlock=cidr) == code
    assert {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]} == before


def test_vpc_errors(ec2):
    dvpc = default_vpc(ec2)
    assert error(ec2.delete_vpc, VpcId=dvpc["VpcId"]) == "OperationNotPermitted"
    dsub = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    assert error(ec2.delete_subnet, SubnetId=dsub["Subnets"][0]["SubnetId"]) \
        == "OperationNotPermitted"
    assert error(ec2.delete_vpc, VpcId="vpc-xyz") == "InvalidVpcID.Malformed"
    assert error(ec2.delete_subnet, SubnetId="subnet-xyz") == "InvalidSubnetID.Malformed"
    assert error(ec2.delete_subnet, SubnetId="subnet-0123456789abcdef0") \
        == "InvalidSubnetID.NotFound"
    assert error(ec2.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"]) == "InvalidVpcID.NotFound"
    assert error(ec2.describe_vpcs, Filters=[{"Name": "bogus", "Values": ["x"]}]) \
        == "InvalidParameterValue"
    assert error(ec2.create_vpc, CidrBlock="10.40.0.0/16", DryRun=True) == "DryRunOperation"
    assert not ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.40.0.0/16"]}])["Vpcs"]
    assert error(ec2.create_tags, Resources=["vpc-0123456789abcdef0"],
                 Tags=[{"Key": "a", "Value": "b"}]) == "InvalidVpcID.NotFound"
    assert error(ec2.create_tags, Resources=["subnet-0123456789abcdef0"],
                 Tags=[{"Key": "a", "Value": "b"}]) == "InvalidSubnetID.NotFound"


def test_hostile_parameters(ec2):
    before = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert error(ec2.create_vpc, CidrBlock="10.41.0.0/16", TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}]) \
        == "InvalidParameterValue"
    assert error(ec2.create_vpc, CidrBlock="10.41.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "aws:x", "Value": "b"}]}]) \
        == "InvalidParameterValue"
    assert error(ec2.create_vpc, CidrBlock="10.41.0.0/16", InstanceTenancy="dedicated") \
        == "InvalidParameterValue"
    assert error(ec2.create_vpc, CidrBlock="10.41.0.0/16", AmazonProvidedIpv6CidrBlock=True) \
        == "InvalidParameterValue"
    assert {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]} == before
    assert error(ec2.describe_vpcs, VpcIds=["vpc-" + "a" * 3000]) == "InvalidVpcID.Malformed"
    assert error(ec2.describe_subnets, SubnetIds=["subnet-<x>"]) == "InvalidSubnetID.Malformed"
    assert error(ec2.describe_subnets, Filters=[{"Name": "tag:", "Values": ["x"]}]) \
        == "InvalidParameterValue"
    assert error(ec2.create_subnet, VpcId="vpc-0123456789abcdef0", CidrBlock="nope") \
        == "InvalidParameterValue"
    assert error(ec2.create_subnet, VpcId="", CidrBlock="10.0.0.0/24") == "MissingParameter"
    assert error(ec2.create_subnet, VpcId=default_vpc(ec2)["VpcId"], CidrBlock="10.0.0.0/24",
                 AvailabilityZone="cloudgate-a", AvailabilityZoneId="other") \
        == "InvalidParameterCombination"
    assert error(ec2.delete_vpc, VpcId="") == "MissingParameter"
    # Filter values are patterns, never markup.
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:<x>", "Values": ["*&*"]}])["Vpcs"] == []


def test_vpcs_do_not_overlap(ec2):
    a = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    try:
        assert error(ec2.create_vpc, CidrBlock="10.50.128.0/17") == "InvalidVpc.Range"
    finally:
        ec2.delete_vpc(VpcId=a)
    b = ec2.create_vpc(CidrBlock="10.50.128.0/17")["Vpc"]["VpcId"]
    ec2.delete_vpc(VpcId=b)


def test_pagination(ec2):
    made = [ec2.create_vpc(CidrBlock="10.%d.0.0/16" % (60 + i))["Vpc"]["VpcId"]
            for i in range(6)]
    try:
        seen = []
        for page in ec2.get_paginator("describe_vpcs").paginate(
                PaginationConfig={"PageSize": 5}):
            assert len(page["Vpcs"]) <= 5
            seen += [v["VpcId"] for v in page["Vpcs"]]
        assert set(made) <= set(seen) and len(seen) == len(set(seen))
    finally:
        for v in made:
            ec2.delete_vpc(VpcId=v)


def test_describe_addresses_empty(ec2):
    r = ec2.describe_addresses()
    assert r["Addresses"] == []
    assert error(ec2.describe_addresses, PublicIps=["203.0.113.7"]) == "InvalidAddress.NotFound"
    assert error(ec2.describe_addresses, AllocationIds=["eipalloc-0123456789abcdef0"]) \
        == "InvalidAllocationID.NotFound"


def test_aws_cli(gw):
    vpc = gw.aws("create-vpc", "--cidr-block", "10.70.0.0/24")["Vpc"]
    vid = vpc["VpcId"]
    assert ipaddress.ip_network(vpc["CidrBlock"]) == ipaddress.ip_network("10.70.0.0/24")
    sub = gw.aws("create-subnet", "--vpc-id", vid, "--cidr-block", "10.70.0.16/28")["Subnet"]
    assert sub["AvailableIpAddressCount"] == 11
    subs = gw.aws("describe-subnets", "--filters", "Name=vpc-id,Values=" + vid)["Subnets"]
    assert [s["SubnetId"] for s in subs] == [sub["SubnetId"]]
    r = gw.aws("delete-vpc", "--vpc-id", vid, check=False)
    assert r.returncode != 0 and "DependencyViolation" in r.stderr
    r = gw.aws("create-subnet", "--vpc-id", vid, "--cidr-block", "10.70.0.16/28", check=False)
    assert r.returncode != 0 and "InvalidSubnet.Conflict" in r.stderr
    gw.aws("delete-subnet", "--subnet-id", sub["SubnetId"])
    gw.aws("delete-vpc", "--vpc-id", vid)
    r = gw.aws("describe-vpcs", "--vpc-ids", vid, check=False)
    assert r.returncode != 0 and "InvalidVpcID.NotFound" in r.stderr
    attrs = gw.aws("describe-account-attributes", "--attribute-names", "default-vpc")
    dvpc = gw.aws("describe-vpcs", "--filters", "Name=is-default,Values=true")["Vpcs"]
    assert attrs["AccountAttributes"][0]["AttributeValues"][0]["AttributeValue"] \
        == dvpc[0]["VpcId"]
    assert gw.aws("describe-addresses")["Addresses"] == []


def test_default_vpc_id_survives_restart():
    g = make_gateway()
    try:
        ec2 = g.client()
        first = default_vpc(ec2)["VpcId"]
        sub = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        # A VPC made now lives in this daemon's test:// world only: after
        # the restart its network is gone, and so is the VPC.
        gone = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
        assert g.stop() == 0
        g.start()
        ec2 = g.client()
        # The zone reconciles before it takes work: wait for it.
        wait_for("zone available", lambda: ec2.describe_availability_zones()[
            "AvailabilityZones"][0]["State"] == "available", 30, 0.2)
        assert default_vpc(ec2)["VpcId"] == first
        assert ec2.describe_subnets()["Subnets"][0]["SubnetId"] == sub
        assert error(ec2.describe_vpcs, VpcIds=[gone]) == "InvalidVpcID.NotFound"
    finally:
        assert g.stop() == 0, g.log_text()
