"""Images and snapshots together (issue 11): CreateImage records the root
disk as a snapshot (BlockDeviceMappings[].Ebs.SnapshotId is real), and
RegisterImage makes an image from a root snapshot; DeleteSnapshot refuses
a snapshot an image uses, DeregisterImage leaves the snapshot behind, as on
AWS.  boto3 and the aws CLI against the daemon on libvirt's test:// driver;
tests/system/test_snapshots_qemu.py boots such an image on real qemu."""
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.exceptions import ClientError

from cgharness import Gateway
from conftest import NODE
from hostile import assert_ec2_error, signed_params
from test_cimi import Cimi

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

ZONE = "cloudgate-a"
FAST = {"Delay": 1, "MaxAttempts": 60}


def code(e):
    return e.value.response["Error"]["Code"]


def fails(call, want, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    assert code(e) == want, (kw, e.value.response["Error"])
    return e.value.response["Error"]["Message"]


def name(prefix="img"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def image(ec2, ami):
    return ec2.describe_images(ImageIds=[ami])["Images"][0]


def snapshot(ec2, sid):
    return ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]


def root_snapshot(ec2, size=1):
    """A completed snapshot of a stopped instance's root disk."""
    vid = ec2.create_volume(AvailabilityZone=ZONE, Size=size)["VolumeId"]
    sid = ec2.create_snapshot(VolumeId=vid, Description="root")["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
    ec2.delete_volume(VolumeId=vid)
    return sid


def register(ec2, sid, **kw):
    args = dict(Name=name(), RootDeviceName="/dev/xvda",
                BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                      "Ebs": {"SnapshotId": sid}}])
    args.update(kw)
    return ec2.register_image(**args)["ImageId"]


def test_create_image_records_its_snapshot(ec2, gw):
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ami = ec2.create_image(InstanceId=iid, Name=name("cap"))["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    img = image(ec2, ami)
    bdm = img["BlockDeviceMappings"]
    assert len(bdm) == 1 and bdm[0]["DeviceName"] == "/dev/vda"
    sid = bdm[0]["Ebs"]["SnapshotId"]
    snap = snapshot(ec2, sid)
    assert snap["State"] == "completed" and snap["Progress"] == "100%"
    assert snap["Description"] == "Created by CreateImage(%s) for %s" % (iid, ami)
    assert snap["VolumeId"] == iid
    assert snap["VolumeSize"] == bdm[0]["Ebs"]["VolumeSize"]
    # The image uses it: not deletable, not registrable a second time.
    msg = fails(ec2.delete_snapshot, "InvalidSnapshot.InUse", SnapshotId=sid)
    assert ami in msg
    fails(ec2.register_image, "InvalidSnapshot.InUse", Name=name(), RootDeviceName="/dev/vda",
          BlockDeviceMappings=[{"DeviceName": "/dev/vda", "Ebs": {"SnapshotId": sid}}])
    ec2.terminate_instances(InstanceIds=[iid])

    # Deregistering leaves the snapshot (and its bytes: a volume can be
    # made from it), as on AWS.
    ec2.deregister_image(ImageId=ami)
    assert snapshot(ec2, sid)["State"] == "completed"
    vid = ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=sid)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
    ec2.delete_volume(VolumeId=vid)
    # ... and an image again, from the bytes the old image left.
    again = register(ec2, sid, RootDeviceName="/dev/vda",
                     BlockDeviceMappings=[{"DeviceName": "/dev/vda",
                                           "Ebs": {"SnapshotId": sid}}])
    assert image(ec2, again)["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] == sid
    ec2.deregister_image(ImageId=again)
    ec2.delete_snapshot(SnapshotId=sid)
    fails(ec2.describe_snapshots, "InvalidSnapshot.NotFound", SnapshotIds=[sid])


def test_register_from_snapshot_and_launch(ec2, gw):
    sid = root_snapshot(ec2, 1)
    tags = [{"Key": "Name", "Value": "from a snapshot"}]
    fails(register, "DryRunOperation", ec2=ec2, sid=sid, DryRun=True)
    assert snapshot(ec2, sid).get("Description") == "root"
    ami = register(
        ec2, sid, Description="registered", Architecture="x86_64",
        VirtualizationType="hvm", BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda",
             "Ebs": {"SnapshotId": sid, "VolumeSize": 3, "DeleteOnTermination": True,
                     "VolumeType": "gp2"}}])
    ec2.create_tags(Resources=[ami], Tags=tags)
    # Available at once: the snapshot's volume is the image's disk.
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    img = image(ec2, ami)
    assert img["State"] == "available" and img["Description"] == "registered"
    assert tags[0] in img["Tags"] and img["Architecture"] == "x86_64"
    ebs = img["BlockDeviceMappings"][0]["Ebs"]
    assert ebs["SnapshotId"] == sid and ebs["VolumeSize"] == 3
    fails(ec2.delete_snapshot, "InvalidSnapshot.InUse", SnapshotId=sid)

    inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                             InstanceType="t2.micro")["Instances"][0]
    assert inst["ImageId"] == ami and inst["Placement"]["AvailabilityZone"] == ZONE
    iid = inst["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    # Its users hold the image; then the image holds the snapshot.
    fails(ec2.deregister_image, "IncorrectState", ImageId=ami)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.deregister_image(ImageId=ami)
    fails(ec2.describe_images, "InvalidAMIID.NotFound", ImageIds=[ami])
    assert snapshot(ec2, sid)["State"] == "completed"
    ec2.delete_snapshot(SnapshotId=sid)


def test_register_errors_change_nothing(ec2, gw):
    sid = root_snapshot(ec2, 2)
    before = {i["ImageId"] for i in ec2.describe_images()["Images"]}
    ok_map = [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": sid}}]
    taken = image(ec2, gw.image_id)["Name"]
    cases = [
        ("MissingParameter", dict(Name=name())),                       # no RootDeviceName
        ("MissingParameter", dict(Name=name(), RootDeviceName="/dev/xvda")),
        ("InvalidAMIName.Malformed", dict(Name="x", RootDeviceName="/dev/xvda",
                                          BlockDeviceMappings=ok_map)),
        ("InvalidAMIName.Duplicate", dict(Name=taken, RootDeviceName="/dev/xvda",
                                          BlockDeviceMappings=ok_map)),
        ("InvalidParameterValue", dict(Name=name(), RootDeviceName="/dev/hda",
                                       BlockDeviceMappings=ok_map)),
        ("InvalidParameterValue", dict(Name=name(), ImageLocation="bucket/manifest.xml")),
        ("InvalidParameterValue", dict(Name=name(), Architecture="arm64",
                                       RootDeviceName="/dev/xvda",
                                       BlockDeviceMappings=ok_map)),
        ("InvalidParameterValue", dict(Name=name(), VirtualizationType="paravirtual",
                                       RootDeviceName="/dev/xvda",
                                       BlockDeviceMappings=ok_map)),
        ("InvalidParameterValue", dict(Name=name(), BootMode="uefi",
                                       RootDeviceName="/dev/xvda",
                                       BlockDeviceMappings=ok_map)),
        ("InvalidParameterValue", dict(Name=name(), KernelId="aki-12345678",
                                       RootDeviceName="/dev/xvda",
                                       BlockDeviceMappings=ok_map)),
        ("InvalidBlockDeviceMapping", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=ok_map + [{"DeviceName": "/dev/sdf", "Ebs": {}}])),
        ("InvalidBlockDeviceMapping", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=ok_map + [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
                                          {"DeviceName": "/dev/xvdf", "Ebs": {"VolumeSize": 1}}])),
        ("InvalidBlockDeviceMapping", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=ok_map + [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 1}}])),
        ("InvalidBlockDeviceMapping", dict(      # smaller than its snapshot
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=ok_map + [{"DeviceName": "/dev/sdf",
                                           "Ebs": {"SnapshotId": sid, "VolumeSize": 1}}])),
        ("InvalidParameterValue", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=ok_map + [{"DeviceName": "/dev/sda", "Ebs": {"VolumeSize": 1}}])),
        ("InvalidSnapshot.NotFound", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=ok_map + [{"DeviceName": "/dev/sdf", "Ebs": {
                "SnapshotId": "snap-0123456789abcdef0"}}])),
        ("InvalidBlockDeviceMapping", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                  "Ebs": {"SnapshotId": sid,
                                          "DeleteOnTermination": False}}])),
        ("InvalidBlockDeviceMapping", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "VirtualName": "ephemeral0"}])),
        ("InvalidBlockDeviceMapping", dict(      # as RunInstances says it
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                  "Ebs": {"SnapshotId": sid, "VolumeSize": 1}}])),
        ("InvalidParameterValue", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                  "Ebs": {"SnapshotId": sid, "Encrypted": True}}])),
        ("InvalidSnapshotID.Malformed", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                  "Ebs": {"SnapshotId": "snap-nothex!"}}])),
        ("InvalidSnapshot.NotFound", dict(
            Name=name(), RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                  "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}])),
    ]
    for want, kw in cases:
        fails(ec2.register_image, want, **kw)
    assert {i["ImageId"] for i in ec2.describe_images()["Images"]} == before
    # Nothing claimed the snapshot meanwhile.
    ec2.delete_snapshot(SnapshotId=sid)


def _volumes_of(ec2, iid):
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                          "Values": [iid]}])["Volumes"]
    return {v["Attachments"][0]["Device"]: v for v in vols}


def test_image_with_further_disks(ec2, gw):
    """An image's further disks: a snapshot's copy and an empty volume made for
    each instance, changed or dropped by RunInstances' own mappings."""
    sid = root_snapshot(ec2, 1)
    data = root_snapshot(ec2, 2)
    n = name("disks")
    ami = gw.aws("register-image", "--name", n, "--root-device-name", "/dev/sda1",
                 "--block-device-mappings",
                 "DeviceName=/dev/sda1,Ebs={SnapshotId=%s}" % sid,
                 "DeviceName=/dev/sdb,Ebs={SnapshotId=%s}" % data,
                 "DeviceName=/dev/sdc,Ebs={VolumeSize=3,DeleteOnTermination=false}",
                 "DeviceName=/dev/sdd,NoDevice=")["ImageId"]
    bdm = {m["DeviceName"]: m["Ebs"] for m in image(ec2, ami)["BlockDeviceMappings"]}
    assert sorted(bdm) == ["/dev/vda", "/dev/vdb", "/dev/vdc"], bdm
    assert bdm["/dev/vdb"]["SnapshotId"] == data and bdm["/dev/vdb"]["VolumeSize"] == 2
    assert bdm["/dev/vdb"]["DeleteOnTermination"] is True
    assert "SnapshotId" not in bdm["/dev/vdc"] and bdm["/dev/vdc"]["VolumeSize"] == 3
    assert bdm["/dev/vdc"]["DeleteOnTermination"] is False
    msg = fails(ec2.delete_snapshot, "InvalidSnapshot.InUse", SnapshotId=data)
    assert ami in msg

    # As the image says, with the launch's volume tags.
    one = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
                            TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                {"Key": "team", "Value": "red"}]}])["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[one], WaiterConfig=FAST)
    vols = _volumes_of(ec2, one)
    assert sorted(vols) == ["/dev/vdb", "/dev/vdc"], vols
    assert vols["/dev/vdb"]["SnapshotId"] == data and vols["/dev/vdb"]["Size"] == 2
    assert vols["/dev/vdc"]["Size"] == 3 and not vols["/dev/vdc"]["Attachments"][0][
        "DeleteOnTermination"]
    assert all({"Key": "team", "Value": "red"} in v.get("Tags", []) for v in vols.values())

    # Changed by the launch: vdb dropped, vdc bigger (DeleteOnTermination
    # left out: the image's false stays), vde added.
    fails(ec2.run_instances, "InvalidBlockDeviceMapping", ImageId=ami, MinCount=1, MaxCount=1,
          InstanceType="t2.micro",
          BlockDeviceMappings=[{"DeviceName": "/dev/sdc", "Ebs": {"VolumeSize": 2}}])
    two = ec2.run_instances(
        ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t2.micro",
        BlockDeviceMappings=[{"DeviceName": "/dev/sdb", "NoDevice": ""},
                             {"DeviceName": "/dev/sdc", "Ebs": {"VolumeSize": 4}},
                             {"DeviceName": "/dev/sde", "Ebs": {"VolumeSize": 1}}]
    )["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[two], WaiterConfig=FAST)
    vols2 = _volumes_of(ec2, two)
    assert sorted(vols2) == ["/dev/vdc", "/dev/vde"], vols2
    assert vols2["/dev/vdc"]["Size"] == 4
    assert not vols2["/dev/vdc"]["Attachments"][0]["DeleteOnTermination"]
    assert vols2["/dev/vde"]["Attachments"][0]["DeleteOnTermination"]

    # A CIMI machine of the image gets them too (the driver adds them).
    cimi = Cimi(gw)
    r = requests.post(gw.endpoint + "/cimi/machines", auth=cimi.auth, timeout=60, json={
        "name": "disks", "machineTemplate": {
            "machineConfig": {"href": gw.endpoint + "/cimi/machineConfigs/t2.micro"},
            "machineImage": {"href": gw.endpoint + "/cimi/machineImages/" + ami}}})
    assert r.status_code == 202, r.text
    three = r.headers["Location"].rsplit("/", 1)[1]
    ec2.get_waiter("instance_running").wait(InstanceIds=[three], WaiterConfig=FAST)
    assert sorted(_volumes_of(ec2, three)) == ["/dev/vdb", "/dev/vdc"]
    kept3 = _volumes_of(ec2, three)["/dev/vdc"]["VolumeId"]

    ec2.terminate_instances(InstanceIds=[one, two, three])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[one, two, three],
                                               WaiterConfig=FAST)
    left = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    kept = vols["/dev/vdc"]["VolumeId"]     # DeleteOnTermination false: left available
    kept2 = vols2["/dev/vdc"]["VolumeId"]
    assert {kept, kept2} <= left
    assert not {vols["/dev/vdb"]["VolumeId"], vols2["/dev/vde"]["VolumeId"]} & left
    ec2.delete_volume(VolumeId=kept)
    ec2.delete_volume(VolumeId=kept2)
    ec2.delete_volume(VolumeId=kept3)
    ec2.deregister_image(ImageId=ami)
    ec2.delete_snapshot(SnapshotId=data)
    ec2.delete_snapshot(SnapshotId=sid)


def test_tag_specification_raw(gw):
    """Newer models send TagSpecification with RegisterImage; botocore here
    predates it, so the request is signed by hand."""
    ec2 = gw.client()
    sid = root_snapshot(ec2, 1)
    params = [("Action", "RegisterImage"), ("Name", name("raw")),
              ("RootDeviceName", "/dev/vda"), ("BlockDeviceMapping.1.DeviceName", "/dev/vda"),
              ("BlockDeviceMapping.1.Ebs.SnapshotId", sid),
              ("TagSpecification.1.ResourceType", "image"),
              ("TagSpecification.1.Tag.1.Key", "team"),
              ("TagSpecification.1.Tag.1.Value", "blue")]
    bad = [(k, "volume" if k.endswith("ResourceType") else v) for k, v in params]
    assert_ec2_error(signed_params(gw, bad), 400, "InvalidParameterValue")
    r = signed_params(gw, params)
    assert r.status == 200, r
    ami = ET.fromstring(r.body).find("{%s}imageId" % NS).text
    assert {"Key": "team", "Value": "blue"} in image(ec2, ami)["Tags"]
    ec2.deregister_image(ImageId=ami)
    ec2.delete_snapshot(SnapshotId=sid)


def test_aws_cli(gw):
    ec2 = gw.client()
    sid = root_snapshot(ec2, 1)
    n = name("cli")
    ami = gw.aws("register-image", "--name", n, "--root-device-name", "/dev/sda1",
                 "--block-device-mappings",
                 "DeviceName=/dev/sda1,Ebs={SnapshotId=%s}" % sid)["ImageId"]
    time.sleep(1)   # the CLI's waiter sleeps 15 s between polls; the image is ready
    gw.aws("wait", "image-available", "--image-ids", ami)
    got = gw.aws("describe-images", "--image-ids", ami)["Images"][0]
    assert got["Name"] == n and got["RootDeviceName"] == "/dev/vda"
    assert got["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] == sid
    r = gw.aws("delete-snapshot", "--snapshot-id", sid, check=False)
    assert r.returncode != 0 and "(InvalidSnapshot.InUse)" in r.stderr, r.stderr
    r = gw.aws("register-image", "--name", name(), check=False)
    assert r.returncode != 0 and "(MissingParameter)" in r.stderr, r.stderr
    gw.aws("deregister-image", "--image-id", ami)
    assert gw.aws("delete-snapshot", "--snapshot-id", sid) is None


def test_image_of_a_snapshot_launches_in_its_zone():
    """Two zones: a snapshot's bytes are in one, so an image registered from
    it launches there, and a Placement elsewhere is refused."""
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE), ("cloudgate-b", "test://" + NODE)],
                domain_type="test")
    g.admin("image-register", "--name", "demo", "--volume", "demo.qcow2")
    g.start()
    try:
        ec2 = g.client()
        vid = ec2.create_volume(AvailabilityZone="cloudgate-b", Size=1)["VolumeId"]
        sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
        ami = register(ec2, sid)
        fails(ec2.run_instances, "InvalidParameterValue", ImageId=ami, MinCount=1,
              MaxCount=1, InstanceType="t2.micro",
              Placement={"AvailabilityZone": "cloudgate-a"})
        for _ in range(2):
            inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                     InstanceType="t2.micro")["Instances"][0]
            assert inst["Placement"]["AvailabilityZone"] == "cloudgate-b"
    finally:
        assert g.stop() == 0, g.log_text()


def test_admin_deregister_removes_the_recorded_snapshot_only(ec2, gw):
    """cloudgate-admin image-deregister removes a template entirely (with
    the snapshot recorded for it); a snapshot a user registered an image
    from stays theirs."""
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ami = ec2.create_image(InstanceId=iid, Name=name("adm"))["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    recorded = image(ec2, ami)["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    ec2.terminate_instances(InstanceIds=[iid])
    gw.admin("image-deregister", ami)
    fails(ec2.describe_snapshots, "InvalidSnapshot.NotFound", SnapshotIds=[recorded])

    sid = root_snapshot(ec2, 1)
    mine = register(ec2, sid)
    gw.admin("image-deregister", mine)
    fails(ec2.describe_images, "InvalidAMIID.NotFound", ImageIds=[mine])
    assert snapshot(ec2, sid)["State"] == "completed"
    ec2.delete_snapshot(SnapshotId=sid)
