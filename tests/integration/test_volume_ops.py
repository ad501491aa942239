"""Volumes as tools use them, through boto3 and the aws CLI against the daemon
on libvirt's test:// driver: ModifyVolume and DescribeVolumesModifications,
DescribeVolumeStatus, DeleteOnTermination per attachment (ModifyInstanceAttribute,
TerminateInstances) and RunInstances' BlockDeviceMapping.

The test driver implements neither virStorageVolResize nor
virDomainBlockResize: there ModifyVolume answers UnsupportedOperation and
changes nothing (checked here with the parameter errors); growing is shown
on real storage by tests/system/test_volume_modify_qemu.py and, online, by
test_volume_grow_qemu.py.  It cannot hot-plug disks either, so attached
volumes here come from RunInstances' mappings, which are in the domain's
definition from the start."""
import datetime
import os
import sqlite3

import pytest
from botocore.exceptions import ClientError

from cgharness import db_rows, wait_for
from conftest import wait_running

WAIT = {"Delay": 1, "MaxAttempts": 20}


def code(e):
    return e.value.response["Error"]["Code"]


def fails(want, call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    assert code(e) == want, (kw, e.value.response["Error"])
    return e.value.response["Error"]["Message"]


def cli_fails(gw, want, *args):
    r = gw.aws(*args, check=False)
    assert r.returncode != 0, r.stdout
    assert want in r.stderr, r.stderr
    return r.stderr


def live_instances(ec2):
    res = ec2.describe_instances()["Reservations"]
    return sorted(i["InstanceId"] for r in res for i in r["Instances"]
                  if i["State"]["Name"] != "terminated")


def volume_ids(ec2):
    return sorted(v["VolumeId"] for v in ec2.describe_volumes()["Volumes"])


def launch(ec2, gw, mappings=None, count=1):
    kw = {"BlockDeviceMappings": mappings} if mappings else {}
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=count, MaxCount=count,
                          InstanceType="t2.micro", **kw)
    return wait_running(ec2, [i["InstanceId"] for i in r["Instances"]])


def attached(ec2, iid):
    vols = ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    return {v["Attachments"][0]["Device"]: v for v in vols}


def image_gib(ec2, gw):
    img = ec2.describe_images(ImageIds=[gw.image_id])["Images"][0]
    assert img["RootDeviceName"] == "/dev/vda"
    return img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"]


# ---- ModifyVolume / DescribeVolumesModifications ---------------------------

def test_modify_volume_unsupported_here_changes_nothing(ec2, gw):
    vid = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    fails("DryRunOperation", ec2.modify_volume, VolumeId=vid, Size=2, DryRun=True)
    # No resize in libvirt's test driver: said plainly, nothing recorded.
    msg = fails("UnsupportedOperation", ec2.modify_volume, VolumeId=vid, Size=3)
    assert "resize" in msg, msg
    cli_fails(gw, "(UnsupportedOperation)", "modify-volume", "--volume-id", vid, "--size", "4")
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 1
    assert db_rows(gw, "SELECT 1 FROM volume_modifications WHERE volume_id = ?", vid) == []
    assert ec2.describe_volumes_modifications(VolumeIds=[vid])["VolumesModifications"] == []

    # Shrinking, the same size, other types and IOPS: refused before libvirt.
    fails("InvalidParameterValue", ec2.modify_volume, VolumeId=vid, Size=1)
    fails("InvalidParameterValue", ec2.modify_volume, VolumeId=vid, Size=6, VolumeType="io2")
    fails("InvalidParameterValue", ec2.modify_volume, VolumeId=vid, Size=6, Iops=3000)
    fails("InvalidParameterValue", ec2.modify_volume, VolumeId=vid, VolumeType="gp2")
    fails("InvalidParameterValue", ec2.modify_volume, VolumeId=vid, Size=16385)
    fails("InvalidVolume.NotFound", ec2.modify_volume, VolumeId="vol-0123456789abcdef0",
          Size=2)
    fails("InvalidVolumeID.Malformed", ec2.modify_volume, VolumeId="vol-zz", Size=2)
    cli_fails(gw, "InvalidParameterValue", "modify-volume", "--volume-id", vid, "--size", "1")
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 1
    ec2.delete_volume(VolumeId=vid)


def test_modification_in_progress_is_refused(ec2, gw):
    vid = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]
    # A change still "modifying" (as a concurrent request leaves it while it
    # runs) blocks the next: written into the daemon's table by hand.
    path = os.path.join(gw.dir, "state", "cloudgate.db")
    with sqlite3.connect(path, timeout=10) as con:
        con.execute("INSERT INTO volume_modifications (volume_id, state, original_size,"
                    " target_size, start_time) VALUES (?, 'modifying', ?, ?, 0)",
                    (vid, 1 << 30, 2 << 30))
    fails("IncorrectModificationState", ec2.modify_volume, VolumeId=vid, Size=4)
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 1
    got = ec2.describe_volumes_modifications(
        Filters=[{"Name": "modification-state", "Values": ["modifying"]}])
    assert [x["VolumeId"] for x in got["VolumesModifications"]] == [vid]
    fails("InvalidParameterValue", ec2.describe_volumes_modifications, NextToken="garbage")
    fails("InvalidVolume.NotFound", ec2.describe_volumes_modifications,
          VolumeIds=["vol-0123456789abcdef0"])
    fails("InvalidParameterValue", ec2.describe_volumes_modifications,
          Filters=[{"Name": "nonsense", "Values": ["x"]}])
    with sqlite3.connect(path, timeout=10) as con:
        con.execute("DELETE FROM volume_modifications WHERE volume_id = ?", (vid,))
    ec2.delete_volume(VolumeId=vid)


# ---- DescribeVolumeStatus --------------------------------------------------

def test_describe_volume_status(ec2, gw):
    vids = [ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]
            for _ in range(6)]
    got = ec2.describe_volume_status(VolumeIds=vids[:2])["VolumeStatuses"]
    assert sorted(s["VolumeId"] for s in got) == sorted(vids[:2])
    for s in got:
        assert s["VolumeStatus"]["Status"] == "ok"
        assert s["VolumeStatus"]["Details"] == [{"Name": "io-enabled", "Status": "passed"}]
        assert s["Actions"] == [] and s["Events"] == []
        assert s["AvailabilityZone"] == "cloudgate-a"
    # Paging over all of them with the paginator.
    pages = ec2.get_paginator("describe_volume_status").paginate(PaginationConfig={"PageSize": 5})
    seen = [s["VolumeId"] for p in pages for s in p["VolumeStatuses"]]
    assert set(vids) <= set(seen) and len(seen) == len(set(seen))
    got = ec2.describe_volume_status(
        Filters=[{"Name": "volume-status.status", "Values": ["impaired"]}])["VolumeStatuses"]
    assert got == []
    got = ec2.describe_volume_status(
        VolumeIds=vids, Filters=[{"Name": "event.event-type", "Values": ["x"]}])
    assert got["VolumeStatuses"] == []
    out = gw.aws("describe-volume-status", "--volume-ids", vids[0])
    assert out["VolumeStatuses"][0]["VolumeStatus"]["Status"] == "ok"
    fails("InvalidVolume.NotFound", ec2.describe_volume_status,
          VolumeIds=["vol-0123456789abcdef0"])
    fails("InvalidParameterCombination", ec2.describe_volume_status, VolumeIds=vids[:1],
          MaxResults=5)
    fails("InvalidParameterValue", ec2.describe_volume_status, MaxResults=2)
    cli_fails(gw, "InvalidVolumeID.Malformed", "describe-volume-status", "--volume-ids", "vol-x")
    for vid in vids:
        ec2.delete_volume(VolumeId=vid)


# ---- RunInstances BlockDeviceMapping, DeleteOnTermination ------------------

def test_run_instances_mappings_and_terminate(ec2, gw):
    gib = image_gib(ec2, gw)
    before = volume_ids(ec2)
    mappings = [
        {"DeviceName": "/dev/vda", "Ebs": {"VolumeSize": gib + 2}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2, "VolumeType": "gp2"}},
        {"DeviceName": "/dev/xvdg", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}},
        {"DeviceName": "/dev/sdh", "NoDevice": ""},
    ]
    a, b = launch(ec2, gw, mappings, count=2)
    for iid in (a, b):
        vols = attached(ec2, iid)
        assert sorted(vols) == ["/dev/vdf", "/dev/vdg"]
        assert vols["/dev/vdf"]["Size"] == 2 and vols["/dev/vdg"]["Size"] == 1
        assert vols["/dev/vdf"]["Attachments"][0]["DeleteOnTermination"] is True
        assert vols["/dev/vdg"]["Attachments"][0]["DeleteOnTermination"] is False
        assert {v["State"] for v in vols.values()} == {"in-use"}
    ec2.get_waiter("volume_in_use").wait(
        VolumeIds=[v["VolumeId"] for v in attached(ec2, a).values()], WaiterConfig=WAIT)
    ec2.get_waiter("instance_running").wait(InstanceIds=[a, b], WaiterConfig=WAIT)

    # DescribeInstances: the root device and both volumes with their flags.
    inst = ec2.describe_instances(InstanceIds=[a])["Reservations"][0]["Instances"][0]
    bdm = {m["DeviceName"]: m["Ebs"] for m in inst["BlockDeviceMappings"]}
    assert sorted(bdm) == ["/dev/vda", "/dev/vdf", "/dev/vdg"]
    assert bdm["/dev/vda"]["DeleteOnTermination"] is True
    assert bdm["/dev/vdf"]["DeleteOnTermination"] is True
    assert bdm["/dev/vdg"]["DeleteOnTermination"] is False
    assert bdm["/dev/vdf"]["VolumeId"] == attached(ec2, a)["/dev/vdf"]["VolumeId"]
    # DescribeInstanceAttribute says the same; rootDeviceName too; neither
    # is changed through Attribute/Value.
    got = ec2.describe_instance_attribute(InstanceId=a, Attribute="blockDeviceMapping")
    assert {m["DeviceName"]: m["Ebs"]["DeleteOnTermination"]
            for m in got["BlockDeviceMappings"]} == {"/dev/vda": True, "/dev/vdf": True,
                                                     "/dev/vdg": False}
    assert ec2.describe_instance_attribute(
        InstanceId=a, Attribute="rootDeviceName")["RootDeviceName"]["Value"] == "/dev/vda"
    out = gw.aws("describe-instance-attribute", "--instance-id", a, "--attribute",
                 "blockDeviceMapping")
    assert len(out["BlockDeviceMappings"]) == 3
    for attribute in ("rootDeviceName", "blockDeviceMapping"):
        with pytest.raises(ClientError) as e:
            ec2.modify_instance_attribute(InstanceId=a, Attribute=attribute, Value="true")
        assert e.value.response["Error"]["Code"] == "UnsupportedOperation"
    kept = ec2.describe_volumes(Filters=[
        {"Name": "attachment.delete-on-termination", "Values": ["false"]},
        {"Name": "attachment.instance-id", "Values": [a, b]}])["Volumes"]
    assert sorted(v["Attachments"][0]["Device"] for v in kept) == ["/dev/vdg", "/dev/vdg"]

    # Flip the flags of a: vdf kept, vdg deleted with it (boto3 and the CLI).
    ec2.modify_instance_attribute(InstanceId=a, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdf", "Ebs": {"DeleteOnTermination": False}}])
    gw.aws("modify-instance-attribute", "--instance-id", a, "--block-device-mappings",
           '[{"DeviceName": "/dev/vdg", "Ebs": {"DeleteOnTermination": true}}]')
    vols_a = attached(ec2, a)
    assert vols_a["/dev/vdf"]["Attachments"][0]["DeleteOnTermination"] is False
    assert vols_a["/dev/vdg"]["Attachments"][0]["DeleteOnTermination"] is True
    fails("InvalidInstanceAttributeValue", ec2.modify_instance_attribute, InstanceId=a,
          BlockDeviceMappings=[{"DeviceName": "/dev/sdk", "Ebs": {"DeleteOnTermination": True}}])
    fails("InvalidParameterValue", ec2.modify_instance_attribute, InstanceId=a,
          BlockDeviceMappings=[{"DeviceName": "/dev/vda", "Ebs": {"DeleteOnTermination": False}}])
    cli_fails(gw, "InvalidInstanceAttributeValue", "modify-instance-attribute", "--instance-id",
              a, "--block-device-mappings",
              '[{"DeviceName": "/dev/sdz", "Ebs": {"DeleteOnTermination": false}}]')
    fails("DryRunOperation", ec2.modify_instance_attribute, InstanceId=a, DryRun=True,
          BlockDeviceMappings=[{"DeviceName": "/dev/sdg", "Ebs": {"DeleteOnTermination": False}}])
    assert attached(ec2, a)["/dev/vdg"]["Attachments"][0]["DeleteOnTermination"] is True

    # An attached volume: the test driver has no online resize either.
    gvid = vols_a["/dev/vdf"]["VolumeId"]
    size = ec2.describe_volumes(VolumeIds=[gvid])["Volumes"][0]["Size"]
    fails("UnsupportedOperation", ec2.modify_volume, VolumeId=gvid, Size=size + 2)
    assert ec2.describe_volumes(VolumeIds=[gvid])["Volumes"][0]["Size"] == size
    status = ec2.describe_volume_status(VolumeIds=[gvid])["VolumeStatuses"][0]
    assert status["AttachmentStatuses"] == [{"InstanceId": a}]

    # Terminate: exactly the flagged volumes go.
    vols_b = attached(ec2, b)
    ec2.terminate_instances(InstanceIds=[a, b])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[a, b], WaiterConfig=WAIT)
    left = set(volume_ids(ec2)) - set(before)
    assert left == {vols_a["/dev/vdf"]["VolumeId"], vols_b["/dev/vdg"]["VolumeId"]}
    ec2.get_waiter("volume_available").wait(VolumeIds=sorted(left), WaiterConfig=WAIT)
    gone = [vols_a["/dev/vdg"]["VolumeId"], vols_b["/dev/vdf"]["VolumeId"]]
    assert db_rows(gw, "SELECT id FROM volumes WHERE id IN (?, ?)", *gone) == []
    fails("InvalidVolume.NotFound", ec2.describe_volumes, VolumeIds=gone[:1])
    for vid in left:
        ec2.delete_volume(VolumeId=vid)
    assert volume_ids(ec2) == before


def test_run_instances_mapping_cli(ec2, gw):
    before = volume_ids(ec2)
    out = gw.aws("run-instances", "--image-id", gw.image_id, "--instance-type", "t2.micro",
                 "--block-device-mappings",
                 '[{"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 3}}]')
    iid = out["Instances"][0]["InstanceId"]
    vols = attached(ec2, iid)
    assert list(vols) == ["/dev/vdb"] and vols["/dev/vdb"]["Size"] == 3
    assert vols["/dev/vdb"]["Attachments"][0]["DeleteOnTermination"] is True
    gw.aws("wait", "volume-in-use", "--volume-ids", vols["/dev/vdb"]["VolumeId"])
    gw.aws("terminate-instances", "--instance-ids", iid)
    gw.aws("wait", "instance-terminated", "--instance-ids", iid)
    assert volume_ids(ec2) == before


def test_run_instances_bad_mappings_leave_nothing(ec2, gw):
    gib = image_gib(ec2, gw)
    insts, vols = live_instances(ec2), volume_ids(ec2)
    rows = db_rows(gw, "SELECT count(*) FROM volumes")
    for want, mappings in [
            ("InvalidBlockDeviceMapping", [{"DeviceName": "/dev/vda",
                                            "Ebs": {"VolumeSize": max(gib - 1, 0) or 1}}]
             if gib > 1 else None),
            ("InvalidBlockDeviceMapping", [{"DeviceName": "/dev/sdf", "Ebs": {}}]),
            ("InvalidBlockDeviceMapping", [{"DeviceName": "/dev/sdf", "VirtualName": "ephemeral0"}]),
            ("InvalidBlockDeviceMapping", [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
                                           {"DeviceName": "/dev/xvdf", "Ebs": {"VolumeSize": 1}}]),
            ("InvalidBlockDeviceMapping", [{"DeviceName": "/dev/vda",
                                            "Ebs": {"DeleteOnTermination": False}}]),
            ("InvalidSnapshot.NotFound", [{"DeviceName": "/dev/sdf",
                                           "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}]),
            ("InvalidSnapshotID.Malformed", [{"DeviceName": "/dev/sdf",
                                              "Ebs": {"SnapshotId": "snap-xyz"}}]),
            ("InvalidParameterValue", [{"DeviceName": "/dev/hda", "Ebs": {"VolumeSize": 1}}]),
            ("InvalidParameterValue", [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 0}}]),
            ("InvalidParameterValue", [{"DeviceName": "/dev/sdf",
                                        "Ebs": {"VolumeSize": 1, "VolumeType": "floppy"}}]),
            ("InvalidParameterValue", [{"DeviceName": "/dev/sdf",
                                        "Ebs": {"VolumeSize": 1, "Encrypted": True}}])]:
        if mappings is None:
            continue
        fails(want, ec2.run_instances, ImageId=gw.image_id, MinCount=1, MaxCount=1,
              InstanceType="t2.micro", BlockDeviceMappings=mappings)
    cli_fails(gw, "InvalidBlockDeviceMapping", "run-instances", "--image-id", gw.image_id,
              "--instance-type", "t2.micro", "--block-device-mappings",
              '[{"DeviceName": "/dev/sdf", "VirtualName": "ephemeral0"}]')
    # Launches that fail in the workers while making the volumes (the test
    # pool holds 100 GiB): answered pending, then each ends terminated with
    # Server.InternalError and nothing of it stays.
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                          InstanceType="t2.micro",
                          BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
                                               {"DeviceName": "/dev/sdg",
                                                "Ebs": {"VolumeSize": 16000}}])
    iid = r["Instances"][0]["InstanceId"]
    # (botocore's instance_terminated waiter gives up on pending: polled here.)
    inst = wait_for("failed launch terminated", lambda: [
        i for r in ec2.describe_instances(InstanceIds=[iid])["Reservations"]
        for i in r["Instances"] if i["State"]["Name"] == "terminated"], 60, 0.2)[0]
    assert inst["StateReason"]["Code"] == "Server.InternalError"
    assert "Not enough free space" in inst["StateReason"]["Message"]
    assert "launch of %s failed, undone" % iid in gw.log_text()
    assert live_instances(ec2) == insts
    assert volume_ids(ec2) == vols
    assert db_rows(gw, "SELECT count(*) FROM volumes") == rows
    assert db_rows(gw, "SELECT count(*) FROM intents") == [(0,)]



# ---- hostile values: raw signed requests, nothing changes ------------------

def test_hostile_values_change_nothing(ec2, gw):
    import hostile as H

    vid = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]
    (iid,) = launch(ec2, gw, [{"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 1}}])
    before = H.snapshot(gw, ec2)
    run = [("Action", "RunInstances"), ("ImageId", gw.image_id), ("MinCount", "1"),
           ("MaxCount", "1"), ("InstanceType", "t2.micro")]
    cases = [
        ([("Action", "ModifyVolume"), ("VolumeId", vid), ("Size", s)], "InvalidParameterValue")
        for s in ["", "-1", "0", "2x", "1e3", "99999999999999999999999", " 2", "0x10",
                  "18446744073709551617"]
    ] + [
        ([("Action", "ModifyVolume"), ("VolumeId", vid + "'; DROP TABLE volumes;--"),
          ("Size", "2")], "InvalidVolumeID.Malformed"),
        ([("Action", "ModifyVolume"), ("Size", "2")], "MissingParameter"),
        ([("Action", "ModifyVolume"), ("VolumeId", vid), ("Size", "2"),
          ("MultiAttachEnabled", "maybe")], "InvalidParameterValue"),
        ([("Action", "DescribeVolumesModifications"), ("VolumeId.1", "../../etc")],
         "InvalidVolumeID.Malformed"),
        ([("Action", "DescribeVolumesModifications"), ("MaxResults", "0")],
         "InvalidParameterValue"),
        ([("Action", "DescribeVolumeStatus"), ("MaxResults", "100000")],
         "InvalidParameterValue"),
        ([("Action", "ModifyInstanceAttribute"), ("InstanceId", iid),
          ("BlockDeviceMapping.1.DeviceName", "/dev/sdb"),
          ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "yes please")],
         "InvalidParameterValue"),
        ([("Action", "ModifyInstanceAttribute"), ("InstanceId", iid),
          ("BlockDeviceMapping.1.DeviceName", "/dev/sdb</x>")],
         "MissingParameter"),
        ([("Action", "ModifyInstanceAttribute"), ("InstanceId", iid),
          ("BlockDeviceMapping.1.DeviceName", "/dev/sdb'/><disk"),
          ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true")],
         "InvalidParameterValue"),
        (run + [("BlockDeviceMapping.1.DeviceName", "/dev/sdb"),
                ("BlockDeviceMapping.1.Ebs.VolumeSize", "1; reboot")], "InvalidParameterValue"),
        (run + [("BlockDeviceMapping.1.DeviceName", "/dev/sdb"),
                ("BlockDeviceMapping.1.Ebs.VolumeSize", "1"),
                ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "1")],
         "InvalidParameterValue"),
        (run + [("BlockDeviceMapping.1.DeviceName", "/dev/sdb'><source file='/etc/shadow'/>"),
                ("BlockDeviceMapping.1.Ebs.VolumeSize", "1")], "InvalidParameterValue"),
        (run + [("BlockDeviceMapping.1.Ebs.VolumeSize", "1")], "MissingParameter"),
        (run + [("BlockDeviceMapping.%d.DeviceName" % n, "/dev/sd%s" % chr(97 + n))
                for n in range(1, 28)], "InvalidParameterValue"),
    ]
    for params, want in cases:
        r = H.signed_params(gw, params)
        H.assert_ec2_error(r, 400, want)
    after = H.snapshot(gw, ec2)
    assert H.diff(before, after) == {}
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_volume(VolumeId=vid)
