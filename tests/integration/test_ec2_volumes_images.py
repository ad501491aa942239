"""CreateImage and the volume actions through boto3 and the aws CLI against
the daemon on libvirt's test:// driver.  That driver cannot attach disks or
block-copy a running disk, so those end in errors that must change nothing;
the successful paths on real guests are in
tests/system/test_volumes_capture_qemu.py."""
import pytest

from cgharness import wait_for
from botocore.exceptions import ClientError
from conftest import wait_running


def code(e):
    return e.value.response["Error"]["Code"]


def launch(ec2, gw):
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    return wait_running(ec2, [iid])[0]


def test_create_image(ec2, gw):
    iid = launch(ec2, gw)
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    with pytest.raises(ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="ok-name", DryRun=True)
    assert code(e) == "DryRunOperation"
    ami = ec2.create_image(InstanceId=iid, Name="snap (1)", Description="d",
                           NoReboot=True)["ImageId"]
    # Asynchronous, as on AWS: pending, then available.
    ec2.get_waiter("image_available").wait(ImageIds=[ami],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert img["State"] == "available" and img["Name"] == "snap (1)"
    # The captured image launches.
    child = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                              InstanceType="t2.micro")["Instances"][0]
    assert child["ImageId"] == ami
    wait_running(ec2, [child["InstanceId"]])

    for kw, want in [({"InstanceId": iid, "Name": "snap (1)"}, "InvalidAMIName.Duplicate"),
                     ({"InstanceId": iid, "Name": "ab"}, "InvalidAMIName.Malformed"),
                     ({"InstanceId": iid, "Name": "bad*name"}, "InvalidAMIName.Malformed"),
                     ({"InstanceId": "i-0123456789abcdef0", "Name": "x-1"},
                      "InvalidInstanceID.NotFound"),
                     ({"InstanceId": "i-zz", "Name": "x-1"}, "InvalidInstanceID.Malformed")]:
        with pytest.raises(ClientError) as e:
            ec2.create_image(**kw)
        assert code(e) == want, kw
    # A running instance: no block copy on the test driver, so its job
    # fails and leaves the instance running and no image behind.
    before = len(ec2.describe_images()["Images"])
    live = ec2.create_image(InstanceId=child["InstanceId"], Name="live-one")["ImageId"]
    wait_for("failed capture removed",
             lambda: not ec2.describe_images(
                 Filters=[{"Name": "image-id", "Values": [live]}])["Images"], 30, 0.3)
    assert len(ec2.describe_images()["Images"]) == before
    res = ec2.describe_instances(InstanceIds=[child["InstanceId"]])["Reservations"]
    assert res[0]["Instances"][0]["State"]["Name"] == "running"
    ec2.terminate_instances(InstanceIds=[iid, child["InstanceId"]])


def test_volumes(ec2, gw):
    iid = launch(ec2, gw)
    vol = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=2, VolumeType="gp3",
                            TagSpecifications=[{"ResourceType": "volume",
                                                "Tags": [{"Key": "Name", "Value": "v1"}]}])
    vid = vol["VolumeId"]
    assert vol["State"] == "available" and vol["Size"] == 2
    assert vol["Tags"] == [{"Key": "Name", "Value": "v1"}]
    other = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]

    got = ec2.describe_volumes()["Volumes"]
    assert {v["VolumeId"] for v in got} == {vid, other}
    got = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["v1"]}])["Volumes"]
    assert [v["VolumeId"] for v in got] == [vid]
    got = ec2.describe_volumes(Filters=[{"Name": "size", "Values": ["1"]}])["Volumes"]
    assert [v["VolumeId"] for v in got] == [other]
    assert ec2.describe_volumes(VolumeIds=[other])["Volumes"][0]["VolumeId"] == other

    for call, kw, want in [
            (ec2.create_volume, {"AvailabilityZone": "nowhere", "Size": 1}, "InvalidZone.NotFound"),
            (ec2.create_volume, {"AvailabilityZone": "cloudgate-a", "Size": 0},
             "InvalidParameterValue"),
            (ec2.describe_volumes, {"VolumeIds": ["vol-0123456789abcdef0"]},
             "InvalidVolume.NotFound"),
            (ec2.describe_volumes, {"VolumeIds": ["vol-x"]}, "InvalidVolumeID.Malformed"),
            (ec2.attach_volume, {"VolumeId": vid, "InstanceId": iid, "Device": "/dev/hda"},
             "InvalidParameterValue"),
            (ec2.attach_volume, {"VolumeId": vid, "InstanceId": "i-0123456789abcdef0",
                                 "Device": "/dev/sdf"}, "InvalidInstanceID.NotFound"),
            (ec2.attach_volume, {"VolumeId": "vol-0123456789abcdef0", "InstanceId": iid,
                                 "Device": "/dev/sdf"}, "InvalidVolume.NotFound"),
            (ec2.detach_volume, {"VolumeId": vid}, "IncorrectState"),
            (ec2.delete_volume, {"VolumeId": vid, "DryRun": True}, "DryRunOperation")]:
        with pytest.raises(ClientError) as e:
            call(**kw)
        assert code(e) == want, kw

    # The test driver refuses the attach itself: the volume stays available.
    with pytest.raises(ClientError):
        ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["State"] == "available"

    gw.aws("delete-volume", "--volume-id", vid)
    ec2.delete_volume(VolumeId=other)
    assert ec2.describe_volumes()["Volumes"] == []
    ec2.terminate_instances(InstanceIds=[iid])
