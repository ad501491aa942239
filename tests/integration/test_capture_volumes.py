"""CreateImage of an instance with EBS volumes attached, through boto3 and
the aws CLI against the daemon on libvirt's test:// driver: as in EC2, each
attached volume is snapshotted into the image's block device mappings
(NoDevice leaves one out), launches of the image get copies of them, a
failed capture leaves neither image nor snapshot, and a capture a crash cut
short is rolled back, snapshots included, at the next start.

The same on a real guest, with data written on the volume and read back in
the launched copy: tests/system/test_snapshots_qemu.py."""
import os
import sqlite3

import pytest
from botocore.exceptions import ClientError

from cgharness import wait_for

FAST = {"Delay": 1, "MaxAttempts": 30}


def fails(call, want, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    err = e.value.response["Error"]
    assert err["Code"] == want, (kw, err)
    return err["Message"]


def volumes_of(ec2, iid):
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                          "Values": [iid]}])["Volumes"]
    return {v["Attachments"][0]["Device"]: v for v in vols}


def snap_ids(ec2):
    return {s["SnapshotId"] for s in ec2.describe_snapshots()["Snapshots"]}


def image_ids(ec2):
    return {i["ImageId"] for i in ec2.describe_images()["Images"]}


def launch_with_volumes(ec2, gw):
    iid = ec2.run_instances(
        ImageId=gw.image_id, MinCount=1, MaxCount=1, InstanceType="t2.micro",
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
            {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 2, "DeleteOnTermination": False}},
            {"DeviceName": "/dev/sdh", "Ebs": {"VolumeSize": 1}}])["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    return iid


def stopped(ec2, iid):
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)


def test_image_holds_the_attached_volumes(ec2, gw):
    iid = launch_with_volumes(ec2, gw)
    src = volumes_of(ec2, iid)
    assert sorted(src) == ["/dev/vdf", "/dev/vdg", "/dev/vdh"], src
    stopped(ec2, iid)
    snaps, images = snap_ids(ec2), image_ids(ec2)

    # Refused before anything is made.
    for bdm, want in [([{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 3}}],
                       "InvalidParameterValue"),
                      ([{"DeviceName": "/dev/sda1", "NoDevice": ""}], "InvalidBlockDeviceMapping"),
                      ([{"DeviceName": "/dev/nope", "NoDevice": ""}], "InvalidParameterValue")]:
        fails(ec2.create_image, want, InstanceId=iid, Name="refused", BlockDeviceMappings=bdm)
    assert snap_ids(ec2) == snaps and image_ids(ec2) == images

    ami = ec2.create_image(InstanceId=iid, Name="with volumes", NoReboot=True,
                           BlockDeviceMappings=[{"DeviceName": "/dev/sdh",
                                                 "NoDevice": ""}])["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    bdm = {m["DeviceName"]: m["Ebs"] for m in img["BlockDeviceMappings"]}
    assert sorted(bdm) == ["/dev/vda", "/dev/vdf", "/dev/vdg"], bdm
    assert bdm["/dev/vdf"]["VolumeSize"] == 1 and bdm["/dev/vdf"]["DeleteOnTermination"] is True
    assert bdm["/dev/vdg"]["VolumeSize"] == 2 and bdm["/dev/vdg"]["DeleteOnTermination"] is False
    made = {d: bdm[d]["SnapshotId"] for d in ("/dev/vdf", "/dev/vdg")}
    assert set(made.values()) == snap_ids(ec2) - snaps - {bdm["/dev/vda"].get("SnapshotId")}
    for dev, sid in made.items():
        s = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        assert s["State"] == "completed" and s["VolumeId"] == src[dev]["VolumeId"], s
        assert s["Description"] == "Created by CreateImage(%s) for %s" % (iid, ami), s
        assert ami in fails(ec2.delete_snapshot, "InvalidSnapshot.InUse", SnapshotId=sid)

    # Each launch of the image gets its own copies.
    child = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                              InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[child], WaiterConfig=FAST)
    got = volumes_of(ec2, child)
    assert sorted(got) == ["/dev/vdf", "/dev/vdg"], got
    for dev in got:
        assert got[dev]["SnapshotId"] == made[dev]
        assert got[dev]["VolumeId"] != src[dev]["VolumeId"]
    assert got["/dev/vdg"]["Size"] == 2
    assert got["/dev/vdg"]["Attachments"][0]["DeleteOnTermination"] is False

    ec2.terminate_instances(InstanceIds=[iid, child])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid, child], WaiterConfig=FAST)
    # Deregistering keeps the snapshots, as in EC2.
    ec2.deregister_image(ImageId=ami)
    assert set(made.values()) <= snap_ids(ec2)
    for sid in made.values():
        ec2.delete_snapshot(SnapshotId=sid)
    for v in (src["/dev/vdg"], got["/dev/vdg"]):
        ec2.delete_volume(VolumeId=v["VolumeId"])


def test_aws_cli_no_device(gw):
    ec2 = gw.client()
    iid = launch_with_volumes(ec2, gw)
    stopped(ec2, iid)
    out = gw.aws("create-image", "--instance-id", iid, "--name", "cli volumes",
                 "--block-device-mappings", "DeviceName=/dev/xvdf,NoDevice=",
                 "DeviceName=/dev/xvdg,NoDevice=")
    ami = out["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert [m["DeviceName"] for m in img["BlockDeviceMappings"]] == ["/dev/vda", "/dev/vdh"]
    sid = img["BlockDeviceMappings"][1]["Ebs"]["SnapshotId"]
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.deregister_image(ImageId=ami)
    ec2.delete_snapshot(SnapshotId=sid)
    for v in ec2.describe_volumes()["Volumes"]:
        if v["State"] == "available":
            ec2.delete_volume(VolumeId=v["VolumeId"])


def test_failed_capture_leaves_no_snapshot(ec2, gw):
    """test:// cannot back up a running domain's disk: the snapshot step of
    a running instance's capture fails, and the job removes the image and
    every snapshot it made."""
    iid = launch_with_volumes(ec2, gw)
    snaps, images = snap_ids(ec2), image_ids(ec2)
    ami = ec2.create_image(InstanceId=iid, Name="will fail")["ImageId"]
    wait_for("failed capture removed", lambda: ami not in image_ids(ec2), 30, 0.3)
    assert snap_ids(ec2) == snaps and image_ids(ec2) == images
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running"
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)


def test_recovery_after_crash(ec2, gw):
    """What a crash in the middle of a capture leaves: its image pending,
    its job RUNNING naming the image and a completed snapshot, and a pending
    snapshot made before its name reached the job.  The next start removes
    the three."""
    iid = launch_with_volumes(ec2, gw)
    stopped(ec2, iid)
    ami = ec2.create_image(InstanceId=iid, Name="cut short",
                           BlockDeviceMappings=[{"DeviceName": "/dev/sdg", "NoDevice": ""},
                                                {"DeviceName": "/dev/sdh",
                                                 "NoDevice": ""}])["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    sid = [m for m in img["BlockDeviceMappings"] if m["DeviceName"] == "/dev/vdf"][0]
    sid = sid["Ebs"]["SnapshotId"]
    vid = volumes_of(ec2, iid)["/dev/vdf"]["VolumeId"]
    root = img["BlockDeviceMappings"][0]["Ebs"].get("SnapshotId")
    job = "job-0000000000000cafe"
    assert gw.stop() == 0, gw.log_text()
    db = sqlite3.connect(os.path.join(gw.dir, "state", "cloudgate.db"))
    try:
        with db:
            db.execute("UPDATE images SET state = 'pending', job_id = ? WHERE id = ?", (job, ami))
            # Published images record their root snapshot; a pending one has none yet.
            if root:
                db.execute("UPDATE snapshots SET image_id = '' WHERE id = ?", (root,))
            db.execute("INSERT INTO jobs (id, action, target, state, created, changed, owner,"
                       " undo) VALUES (?, 'capture', ?, 'RUNNING', 1, 1, 0, ?)",
                       (job, ami, "image %s %s" % (ami, sid)))
            db.execute("INSERT INTO snapshots (id, volume_id, zone, state, size, started,"
                       " owner, job_id) VALUES ('snap-0000000000000cafe', ?, 'cloudgate-a',"
                       " 'pending', 1073741824, 2, '000000000000', ?)", (vid, job))
    finally:
        db.close()
    gw.start()
    c = gw.client()
    assert ami not in image_ids(c)
    left = snap_ids(c)
    assert sid not in left and "snap-0000000000000cafe" not in left, left
    log = gw.log_text()
    assert "removing its snapshot %s" % sid in log, log
    assert "snapshot snap-0000000000000cafe was left pending" in log, log
    if root and root in left:
        c.delete_snapshot(SnapshotId=root)
