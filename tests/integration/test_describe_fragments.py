"""DescribeInstances answers from per-instance fragments rendered when an
instance changes: after each kind of change (state, tags, security groups,
attributes, metadata options), the very next
DescribeInstances (boto3 and /usr/bin/aws) shows it, while the instances
that did not change keep answering the same, filters and pages included.
On the real daemon over libvirt's test:// driver."""
import pytest
from botocore.exceptions import ClientError

from conftest import make_gateway

WAIT = {"Delay": 1, "MaxAttempts": 30}


@pytest.fixture(scope="module")
def gw():
    g = make_gateway()
    yield g
    assert g.stop() == 0, g.log_text()


@pytest.fixture(scope="module")
def ec2(gw):
    return gw.client()


@pytest.fixture(scope="module")
def fleet(gw, ec2):
    """Seven instances in two reservations, warmed into the fragment cache."""
    a = ec2.run_instances(ImageId=gw.image_id, InstanceType="t2.micro", MinCount=4, MaxCount=4)
    b = ec2.run_instances(ImageId=gw.image_id, InstanceType="t2.micro", MinCount=3, MaxCount=3)
    ids = [i["InstanceId"] for i in a["Instances"] + b["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
    listing(ec2)
    listing(ec2)
    yield ids
    ec2.terminate_instances(InstanceIds=ids)


def listing(ec2, **kw):
    """{instance id: instance} of one DescribeInstances."""
    r = ec2.describe_instances(**kw)
    return {i["InstanceId"]: i for res in r["Reservations"] for i in res["Instances"]}


def one(ec2, iid):
    return listing(ec2, InstanceIds=[iid])[iid]


def cli_one(gw, iid):
    out = gw.aws("describe-instances", "--instance-ids", iid)
    [inst] = [i for r in out["Reservations"] for i in r["Instances"]]
    return inst


def unchanged_except(before, after, changed):
    for iid, inst in before.items():
        if iid != changed:
            assert after[iid] == inst, iid


def tag_dict(inst):
    """The instance's own tags (not the cloudgate: display pseudo-tags)."""
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])
            if not t["Key"].startswith("cloudgate:")}


def test_tags_show_at_once(gw, ec2, fleet):
    iid = fleet[1]
    before = listing(ec2)
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "role", "Value": "web <&> x"}])
    after = listing(ec2)
    assert tag_dict(after[iid]) == {"role": "web <&> x"}
    unchanged_except(before, after, iid)
    assert tag_dict(cli_one(gw, iid)) == {"role": "web <&> x"}
    # The filters see the same data as the fragment.
    got = listing(ec2, Filters=[{"Name": "tag:role", "Values": ["web <&> x"]}])
    assert list(got) == [iid]
    gw.aws("create-tags", "--resources", iid, "--tags", "Key=role,Value=db")
    assert tag_dict(one(ec2, iid)) == {"role": "db"}
    assert listing(ec2, Filters=[{"Name": "tag:role", "Values": ["web <&> x"]}]) == {}
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "role"}])
    assert tag_dict(one(ec2, iid)) == {}
    assert listing(ec2) == before


def test_state_shows_at_once(gw, ec2, fleet):
    iid = fleet[2]
    before = listing(ec2)
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    after = listing(ec2)
    assert after[iid]["State"] == {"Code": 80, "Name": "stopped"}
    unchanged_except(before, after, iid)
    got = listing(ec2, Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}])
    assert iid in got and all(i["State"]["Name"] == "stopped" for i in got.values())
    assert cli_one(gw, iid)["State"]["Name"] == "stopped"
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert one(ec2, iid)["State"]["Name"] == "running"


def test_attributes_show_at_once(gw, ec2, fleet):
    iid = fleet[4]
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    before = listing(ec2)
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "m1.small"})
    after = listing(ec2)
    assert after[iid]["InstanceType"] == "m1.small"
    unchanged_except(before, after, iid)
    assert list(listing(ec2, Filters=[{"Name": "instance-type", "Values": ["m1.small"]}])) \
        == [iid]
    gw.aws("modify-instance-attribute", "--instance-id", iid, "--instance-type",
           "Value=t2.micro")
    assert cli_one(gw, iid)["InstanceType"] == "t2.micro"
    # Metadata options are part of the item too.
    ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required")
    assert one(ec2, iid)["MetadataOptions"]["HttpTokens"] == "required"
    gw.aws("modify-instance-metadata-options", "--instance-id", iid,
           "--http-tokens", "optional")
    assert cli_one(gw, iid)["MetadataOptions"]["HttpTokens"] == "optional"
    # A refused change changes nothing.
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "no.such"})
    assert e.value.response["Error"]["Code"] == "InvalidInstanceAttributeValue"
    assert one(ec2, iid)["InstanceType"] == "t2.micro"
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)


def test_groups_show_at_once(gw, ec2, fleet):
    iid = fleet[5]
    sg = ec2.create_security_group(GroupName="frag-web", Description="w")["GroupId"]
    try:
        before = listing(ec2)
        ec2.modify_instance_attribute(InstanceId=iid, Groups=[sg])
        after = listing(ec2)
        assert [(g["GroupId"], g["GroupName"]) for g in after[iid]["SecurityGroups"]] \
            == [(sg, "frag-web")]
        unchanged_except(before, after, iid)
        assert list(listing(ec2, Filters=[{"Name": "instance.group-id", "Values": [sg]}])) \
            == [iid]
        assert [g["GroupName"] for g in cli_one(gw, iid)["SecurityGroups"]] == ["frag-web"]
        ec2.modify_instance_attribute(InstanceId=iid, Groups=[
            before[iid]["SecurityGroups"][0]["GroupId"]])
        assert one(ec2, iid)["SecurityGroups"] == before[iid]["SecurityGroups"]
    finally:
        ec2.delete_security_group(GroupId=sg)


def test_refused_attach_changes_nothing(gw, ec2, fleet):
    """libvirt's test driver refuses to attach disks: the item stays as it
    was (the attached-volume case is covered by the unit test)."""
    iid = fleet[6]
    vol = ec2.create_volume(Size=1, AvailabilityZone="cloudgate-a")["VolumeId"]
    try:
        before = listing(ec2)
        with pytest.raises(ClientError):
            ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/vdc")
        assert listing(ec2) == before
        assert ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"] == "available"
    finally:
        ec2.delete_volume(VolumeId=vol)


def test_pages_and_errors_unchanged(gw, ec2, fleet):
    whole = listing(ec2)
    assert set(fleet) <= set(whole)
    seen, token = {}, None
    while True:
        kw = {"MaxResults": 5}
        if token:
            kw["NextToken"] = token
        r = ec2.describe_instances(**kw)
        for res in r["Reservations"]:
            for i in res["Instances"]:
                assert i["InstanceId"] not in seen
                seen[i["InstanceId"]] = i
        token = r.get("NextToken")
        if not token:
            break
    assert seen == whole
    # The CLI follows the pages itself.
    out = gw.aws("describe-instances", "--page-size", "5")
    assert sorted(i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]) \
        == sorted(whole)
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert e.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    r = gw.aws("describe-instances", "--instance-ids", "i-0123456789abcdef0", check=False)
    assert r.returncode != 0 and "InvalidInstanceID.NotFound" in r.stderr


def test_terminated_shows_at_once(gw, ec2, fleet):
    iid = fleet[0]
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    got = listing(ec2, Filters=[{"Name": "instance-state-name", "Values": ["terminated"]}])
    assert iid in got
    assert cli_one(gw, iid)["State"]["Name"] == "terminated"
