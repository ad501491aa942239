"""Instances in security groups (test:// driver): RunInstances'
SecurityGroupId.N / SecurityGroup.N / NetworkInterface.1.SecurityGroupId.N,
the default group when none is named, groupSet in DescribeInstances and
DescribeNetworkInterfaces, the instance.group-* filters,
ModifyInstanceAttribute GroupId.N, and DependencyViolation while an
instance uses a group; with boto3 and the aws CLI."""
import botocore.exceptions
import pytest
from conftest import wait_running


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def error(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return code_of(e)


def run(gw, ec2, **kw):
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                          InstanceType="m1.small", **kw)
    wait_running(ec2, [r["Instances"][0]["InstanceId"]])
    return r["Instances"][0]


def instance(ec2, iid):
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def groups_of(inst):
    return sorted((g["GroupId"], g["GroupName"]) for g in inst["SecurityGroups"])


def default_group(ec2, vpc=None):
    filters = [{"Name": "group-name", "Values": ["default"]}]
    if vpc:
        filters.append({"Name": "vpc-id", "Values": [vpc]})
    else:
        filters = None
        return ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    return ec2.describe_security_groups(Filters=filters)["SecurityGroups"][0]


def test_launch_without_groups_gets_default(gw, ec2):
    dflt = default_group(ec2)
    inst = run(gw, ec2)
    try:
        assert groups_of(inst) == [(dflt["GroupId"], "default")]
        got = instance(ec2, inst["InstanceId"])
        assert groups_of(got) == [(dflt["GroupId"], "default")]
        [nic] = got["NetworkInterfaces"]
        assert [g["GroupId"] for g in nic["Groups"]] == [dflt["GroupId"]]
        enis = ec2.describe_network_interfaces(
            NetworkInterfaceIds=[nic["NetworkInterfaceId"]])["NetworkInterfaces"]
        assert [g["GroupName"] for g in enis[0]["Groups"]] == ["default"]
    finally:
        ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_launch_with_groups_and_filters(gw, ec2):
    web = ec2.create_security_group(GroupName="inst-web", Description="w")["GroupId"]
    db = ec2.create_security_group(GroupName="inst-db", Description="d")["GroupId"]
    a = run(gw, ec2, SecurityGroupIds=[web], SecurityGroups=["inst-db"])
    b = run(gw, ec2, NetworkInterfaces=[{"DeviceIndex": 0, "Groups": [db]}])
    try:
        assert groups_of(instance(ec2, a["InstanceId"])) == sorted(
            [(web, "inst-web"), (db, "inst-db")])
        assert groups_of(instance(ec2, b["InstanceId"])) == [(db, "inst-db")]

        def ids(name, value):
            res = ec2.describe_instances(Filters=[{"Name": name, "Values": [value]}])
            return sorted(i["InstanceId"] for r in res["Reservations"] for i in r["Instances"])
        assert ids("instance.group-id", web) == [a["InstanceId"]]
        assert ids("instance.group-id", db) == sorted([a["InstanceId"], b["InstanceId"]])
        assert ids("instance.group-name", "inst-web") == [a["InstanceId"]]
        assert ids("group-name", "inst-d*") == sorted([a["InstanceId"], b["InstanceId"]])
        # In use: the group stays.
        assert error(ec2.delete_security_group, GroupId=web) == "DependencyViolation"
        # groupSet of a running instance changes.
        ec2.modify_instance_attribute(InstanceId=a["InstanceId"], Groups=[db])
        assert groups_of(instance(ec2, a["InstanceId"])) == [(db, "inst-db")]
        ec2.delete_security_group(GroupId=web)
        assert error(ec2.modify_instance_attribute, InstanceId=a["InstanceId"],
                     Groups=[web]) == "InvalidGroup.NotFound"
        assert error(ec2.modify_instance_attribute, InstanceId=a["InstanceId"],
                     Groups=["sg-nope"]) == "InvalidGroupId.Malformed"
        assert error(ec2.modify_instance_attribute, InstanceId="i-0123456789abcdef0",
                     Groups=[db]) == "InvalidInstanceID.NotFound"
        assert groups_of(instance(ec2, a["InstanceId"])) == [(db, "inst-db")]
    finally:
        ec2.terminate_instances(InstanceIds=[a["InstanceId"], b["InstanceId"]])
    # Terminated instances use no group: it can go now.
    assert instance(ec2, a["InstanceId"])["SecurityGroups"] == []
    ec2.delete_security_group(GroupId=db)


def test_launch_refusals(gw, ec2):
    vpc = ec2.create_vpc(CidrBlock="10.92.0.0/16")["Vpc"]["VpcId"]
    before = len(ec2.describe_instances()["Reservations"])
    try:
        other = ec2.create_security_group(GroupName="elsewhere", Description="o",
                                          VpcId=vpc)["GroupId"]
        assert error(ec2.run_instances, ImageId=gw.image_id, MinCount=1, MaxCount=1,
                     SecurityGroupIds=[other]) == "InvalidParameter"
        # A name is looked up in the instance's VPC only.
        assert error(ec2.run_instances, ImageId=gw.image_id, MinCount=1, MaxCount=1,
                     SecurityGroups=["elsewhere"]) == "InvalidGroup.NotFound"
        assert error(ec2.run_instances, ImageId=gw.image_id, MinCount=1, MaxCount=1,
                     SecurityGroupIds=["sg-0123456789abcdef0"]) == "InvalidGroup.NotFound"
        assert error(ec2.run_instances, ImageId=gw.image_id, MinCount=1, MaxCount=1,
                     SecurityGroupIds=["sg-zzz"]) == "InvalidGroupId.Malformed"
        made = [ec2.create_security_group(GroupName="many%d" % i, Description="m")["GroupId"]
                for i in range(6)]
        assert error(ec2.run_instances, ImageId=gw.image_id, MinCount=1, MaxCount=1,
                     SecurityGroupIds=made) == "SecurityGroupsPerInstanceLimitExceeded"
        for g in made:
            ec2.delete_security_group(GroupId=g)
        ec2.delete_security_group(GroupId=other)
        assert len(ec2.describe_instances()["Reservations"]) == before
    finally:
        ec2.delete_vpc(VpcId=vpc)


def test_launch_in_new_vpc_uses_its_default_group(gw, ec2):
    vpc = ec2.create_vpc(CidrBlock="10.93.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.93.1.0/24")["Subnet"]["SubnetId"]
    try:
        inst = run(gw, ec2, SubnetId=sub)
        dflt = default_group(ec2, vpc)
        assert groups_of(instance(ec2, inst["InstanceId"])) == [(dflt["GroupId"], "default")]
        # A group of the default VPC is of another network here.
        assert error(ec2.modify_instance_attribute, InstanceId=inst["InstanceId"],
                     Groups=[default_group(ec2)["GroupId"]]) == "InvalidParameter"
        ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])
    finally:
        ec2.delete_subnet(SubnetId=sub)
        ec2.delete_vpc(VpcId=vpc)


def test_aws_cli(gw, ec2):
    gid = gw.aws("create-security-group", "--group-name", "cli-inst",
                 "--description", "x")["GroupId"]
    r = gw.aws("run-instances", "--image-id", gw.image_id, "--count", "1",
               "--security-group-ids", gid)
    iid = r["Instances"][0]["InstanceId"]
    try:
        got = gw.aws("describe-instances", "--filters",
                     "Name=instance.group-id,Values=" + gid)["Reservations"]
        assert [i["InstanceId"] for r in got for i in r["Instances"]] == [iid]
        dflt = default_group(ec2)["GroupId"]
        gw.aws("modify-instance-attribute", "--instance-id", iid, "--groups", dflt)
        got = gw.aws("describe-instances", "--instance-ids", iid)["Reservations"]
        assert [g["GroupId"] for g in got[0]["Instances"][0]["SecurityGroups"]] == [dflt]
        r = gw.aws("run-instances", "--image-id", gw.image_id, "--count", "1",
                   "--security-groups", "no-such-group", check=False)
        assert r.returncode != 0 and "InvalidGroup.NotFound" in r.stderr
    finally:
        gw.aws("terminate-instances", "--instance-ids", iid)
    gw.aws("delete-security-group", "--group-id", gid)
