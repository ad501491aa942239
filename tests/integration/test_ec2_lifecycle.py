"""EC2 lifecycle through boto3 (waiters, paginators, ClientError codes)
against the real daemon on libvirt's test:// driver."""
import base64
import uuid

import pytest
from botocore.exceptions import ClientError, WaiterError
from conftest import wait_running


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def run(ec2, gw, count=1, **kw):
    kw.setdefault("InstanceType", "t2.micro")
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=count, MaxCount=count, **kw)
    return wait_running(ec2, [i["InstanceId"] for i in r["Instances"]]), r


def test_describe_static(ec2, gw):
    regions = ec2.describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == ["cloudgate"]
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert zones[0]["ZoneName"] == "cloudgate-a"
    assert zones[0]["State"] == "available"
    attrs = ec2.describe_account_attributes()["AccountAttributes"]
    assert "supported-platforms" in [a["AttributeName"] for a in attrs]
    types = [t for p in ec2.get_paginator("describe_instance_types").paginate()
             for t in p["InstanceTypes"]]
    micro = [t for t in types if t["InstanceType"] == "t2.micro"][0]
    assert micro["VCpuInfo"]["DefaultVCpus"] == 1
    assert micro["MemoryInfo"]["SizeInMiB"] == 1024


def test_describe_images(ec2, gw):
    images = ec2.describe_images()["Images"]
    demo = [i for i in images if i["ImageId"] == gw.image_id]
    assert demo and demo[0]["Name"] == "demo" and demo[0]["State"] == "available"
    assert ec2.describe_images(ImageIds=[gw.image_id])["Images"][0]["ImageId"] == gw.image_id
    assert ec2.describe_images(Filters=[{"Name": "name", "Values": ["nomatch*"]}])["Images"] == []
    with pytest.raises(ClientError) as e:
        ec2.describe_images(ImageIds=["ami-0123456789abcdef0"])
    assert code_of(e) == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.describe_images(ImageIds=["bogus"])
    assert code_of(e) == "InvalidAMIID.Malformed"


def test_run_describe_and_waiter(ec2, gw):
    ids, r = run(ec2, gw, count=2, UserData="#!/bin/sh\necho hi\n",
                 TagSpecifications=[{"ResourceType": "instance",
                                     "Tags": [{"Key": "Name", "Value": "web <&>"}]}])
    assert len(ids) == 2 and len(set(ids)) == 2
    assert r["ReservationId"].startswith("r-")
    ec2.get_waiter("instance_running").wait(InstanceIds=ids,
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    res = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    insts = [i for rr in res for i in rr["Instances"]]
    assert sorted(i["InstanceId"] for i in insts) == sorted(ids)
    for i in insts:
        assert i["State"] == {"Code": 16, "Name": "running"}
        assert i["ImageId"] == gw.image_id
        assert i["InstanceType"] == "t2.micro"
        assert i["Placement"]["AvailabilityZone"] == "cloudgate-a"
        assert {"Key": "Name", "Value": "web <&>"} in i["Tags"]
        assert i["LaunchTime"].year >= 2024
    assert sorted(i["AmiLaunchIndex"] for i in insts) == [0, 1]
    by_tag = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web <&>"]}])
    assert sorted(i["InstanceId"] for rr in by_tag["Reservations"]
                  for i in rr["Instances"]) == sorted(ids)
    ec2.terminate_instances(InstanceIds=ids)


def test_filters(ec2, gw):
    ids, _ = run(ec2, gw, count=2, InstanceType="t2.nano",
                 TagSpecifications=[{"ResourceType": "instance",
                                     "Tags": [{"Key": "role", "Value": "db"}]}])
    ec2.stop_instances(InstanceIds=[ids[0]], Force=True)

    def ids_for(filters):
        res = ec2.describe_instances(Filters=filters)["Reservations"]
        return sorted(i["InstanceId"] for r in res for i in r["Instances"])

    assert ids_for([{"Name": "instance-type", "Values": ["t2.nano"]},
                    {"Name": "tag-key", "Values": ["role"]}]) == sorted(ids)
    assert ids_for([{"Name": "tag:role", "Values": ["db"]},
                    {"Name": "instance-state-name", "Values": ["stopped"]}]) == [ids[0]]
    assert ids_for([{"Name": "tag:role", "Values": ["d?"]},
                    {"Name": "instance-state-name", "Values": ["running", "stopped"]}]) \
        == sorted(ids)
    assert ids_for([{"Name": "instance-id", "Values": [ids[1]]}]) == [ids[1]]
    assert ids[0] in ids_for([{"Name": "image-id", "Values": [gw.image_id]}])
    assert ids_for([{"Name": "availability-zone", "Values": ["nowhere"]}]) == []
    assert ids_for([{"Name": "tag:role", "Values": ["web"]}]) == []
    ec2.terminate_instances(InstanceIds=ids)


def test_pagination(ec2, gw):
    ids, _ = run(ec2, gw, count=7, InstanceType="t2.nano",
                 TagSpecifications=[{"ResourceType": "instance",
                                     "Tags": [{"Key": "page", "Value": "yes"}]}])
    flt = [{"Name": "tag:page", "Values": ["yes"]}]
    pages = list(ec2.get_paginator("describe_instances").paginate(
        Filters=flt, PaginationConfig={"PageSize": 5}))
    seen = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    assert sorted(seen) == sorted(ids)
    assert len(pages) == 2
    assert "NextToken" in pages[0] and "NextToken" not in pages[-1]
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(MaxResults=5, InstanceIds=[ids[0]])
    assert code_of(e) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(MaxResults=2000)
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(MaxResults=5, NextToken="not-a-token")
    assert code_of(e) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=ids)


def test_stop_start_reboot_terminate(ec2, gw):
    ids, _ = run(ec2, gw)
    iid = ids[0]
    out = ec2.stop_instances(InstanceIds=[iid], Force=True)["StoppingInstances"][0]
    assert out["InstanceId"] == iid and out["PreviousState"]["Name"] == "running"
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    with pytest.raises(ClientError) as e:
        ec2.reboot_instances(InstanceIds=[iid])
    assert code_of(e) == "IncorrectInstanceState"
    out = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert out["PreviousState"]["Name"] == "stopped"
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ec2.reboot_instances(InstanceIds=[iid])
    out = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert out["PreviousState"]["Name"] == "running"
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["State"] == {"Code": 48, "Name": "terminated"}
    with pytest.raises(ClientError) as e:
        ec2.start_instances(InstanceIds=[iid])
    assert code_of(e) == "IncorrectInstanceState"
    # Terminating again succeeds, as on AWS.
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert again["CurrentState"]["Name"] == "terminated"


def test_not_found_and_malformed(ec2, gw):
    for call in (ec2.stop_instances, ec2.start_instances, ec2.terminate_instances,
                 ec2.reboot_instances):
        with pytest.raises(ClientError) as e:
            call(InstanceIds=["i-0123456789abcdef0"])
        assert code_of(e) == "InvalidInstanceID.NotFound"
        with pytest.raises(ClientError) as e:
            call(InstanceIds=["x-123"])
        assert code_of(e) == "InvalidInstanceID.Malformed"
    # One missing id among existing ones: nothing is done to the others.
    ids, _ = run(ec2, gw)
    with pytest.raises(ClientError) as e:
        ec2.stop_instances(InstanceIds=[ids[0], "i-0123456789abcdef0"], Force=True)
    assert code_of(e) == "InvalidInstanceID.NotFound"
    inst = ec2.describe_instances(InstanceIds=ids)["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running"
    ec2.terminate_instances(InstanceIds=ids)


def test_run_errors_leave_nothing(ec2, gw):
    def count():
        return sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    before = count()
    cases = [
        (dict(ImageId="ami-0123456789abcdef0"), "InvalidAMIID.NotFound"),
        (dict(ImageId="nonsense"), "InvalidAMIID.Malformed"),
        (dict(ImageId=gw.image_id, InstanceType="x9.huge"), "InvalidParameterValue"),
        (dict(ImageId=gw.image_id, UserData="x" * 17000), "InvalidParameterValue"),
        (dict(ImageId=gw.image_id, Placement={"AvailabilityZone": "nowhere"}),
         "InvalidParameterValue"),
    ]
    for kw, code in cases:
        kw.setdefault("InstanceType", "t2.micro")
        with pytest.raises(ClientError) as e:
            ec2.run_instances(MinCount=1, MaxCount=1, **kw)
        assert code_of(e) == code, kw
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=gw.image_id, MinCount=3, MaxCount=2, InstanceType="t2.micro")
    assert code_of(e) == "InvalidParameterValue"
    assert count() == before


def test_dry_run(ec2, gw):
    def count():
        return sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    before = count()
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1, DryRun=True)
    assert code_of(e) == "DryRunOperation"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert count() == before
    ids, _ = run(ec2, gw)
    for call in (ec2.stop_instances, ec2.terminate_instances, ec2.reboot_instances):
        with pytest.raises(ClientError) as e:
            call(InstanceIds=ids, DryRun=True)
        assert code_of(e) == "DryRunOperation"
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=ids, Tags=[{"Key": "a", "Value": "b"}], DryRun=True)
    assert code_of(e) == "DryRunOperation"
    inst = ec2.describe_instances(InstanceIds=ids)["Reservations"][0]["Instances"][0]
    # Only the read-only cloudgate:* pseudo tags (the display), no user tag.
    assert inst["State"]["Name"] == "running"
    assert [t for t in inst.get("Tags", []) if not t["Key"].startswith("cloudgate:")] == []
    ec2.terminate_instances(InstanceIds=ids)


def test_client_token_idempotent(ec2, gw):
    token = str(uuid.uuid4())
    a, ra = run(ec2, gw, count=2, ClientToken=token)
    b, rb = run(ec2, gw, count=2, ClientToken=token)
    assert sorted(a) == sorted(b)
    assert ra["ReservationId"] == rb["ReservationId"]
    ec2.terminate_instances(InstanceIds=a)


def test_tags(ec2, gw):
    ids, _ = run(ec2, gw)
    iid = ids[0]
    ec2.create_tags(Resources=[iid, gw.image_id],
                    Tags=[{"Key": "env", "Value": "prod"}, {"Key": "empty", "Value": ""}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == \
        {("env", "prod", "instance"), ("empty", "", "instance")}
    img = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["image"]},
                                     {"Name": "key", "Values": ["env"]}])["Tags"]
    assert [(t["ResourceId"], t["Value"]) for t in img] == [(gw.image_id, "prod")]
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "wrong"}])
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert {"Key": "env", "Value": "prod"} in inst["Tags"]
    ec2.delete_tags(Resources=[iid, gw.image_id], Tags=[{"Key": "env"}])
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    # cloudgate:* are read-only pseudo tags (the display), not user tags.
    assert [t for t in inst["Tags"] if not t["Key"].startswith("cloudgate:")] == \
        [{"Key": "empty", "Value": ""}]
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[iid], Tags=[{"Key": "aws:x", "Value": "1"}])
    assert code_of(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "1"}])
    assert code_of(e) == "InvalidInstanceID.NotFound"
    ec2.terminate_instances(InstanceIds=ids)


def test_instance_status(ec2, gw):
    ids, _ = run(ec2, gw, count=2)
    ec2.stop_instances(InstanceIds=[ids[1]], Force=True)
    st = ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"]
    assert [s["InstanceId"] for s in st] == [ids[0]]
    assert st[0]["InstanceState"]["Name"] == "running"
    all_st = ec2.describe_instance_status(InstanceIds=ids, IncludeAllInstances=True)
    assert sorted(s["InstanceId"] for s in all_st["InstanceStatuses"]) == sorted(ids)
    ec2.terminate_instances(InstanceIds=ids)


def test_auth_errors(gw):
    with pytest.raises(ClientError) as e:
        gw.client(secret="wrong-secret").describe_regions()
    assert code_of(e) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        gw.client(key_id="AKIAUNKNOWN000000000").describe_regions()
    assert code_of(e) == "AuthFailure"
