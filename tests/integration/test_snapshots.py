"""EBS snapshots (CreateSnapshot, DescribeSnapshots, DeleteSnapshot,
CopySnapshot, CreateVolume from a snapshot) through boto3 and the aws CLI
against the daemon on libvirt's test:// driver.

test:// copies volumes (virStorageVolCreateXMLFrom) but has neither disk
attach nor the domain backup API: snapshots of volumes and of stopped
instances' root disks complete; a running instance's root disk cannot be
backed up there, so that job fails and leaves nothing behind.  The
running-guest path (push-mode backup, guest never paused) is
tests/system/test_snapshots_qemu.py."""
import os
import sqlite3
import time

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError, WaiterError

from cgharness import wait_for
from hostile import assert_ec2_error, signed_params

ZONE = "cloudgate-a"
FAST = {"Delay": 1, "MaxAttempts": 30}


def code(e):
    return e.value.response["Error"]["Code"]


def raw_client(gw):
    """A client that sends what it is given (no client-side validation)."""
    cfg = botocore.config.Config(parameter_validation=False, retries={"max_attempts": 0})
    return boto3.client("ec2", region_name="cloudgate", endpoint_url=gw.endpoint,
                        aws_access_key_id=gw.key_id, aws_secret_access_key=gw.secret,
                        config=cfg)


def fails(call, want, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    assert code(e) == want, (kw, e.value.response["Error"])
    return e.value.response["Error"]["Message"]


def snap_ids(ec2, **kw):
    return {s["SnapshotId"] for s in ec2.describe_snapshots(**kw)["Snapshots"]}


def completed(ec2, sid):
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
    return ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]


def new_volume(ec2, size=1):
    return ec2.create_volume(AvailabilityZone=ZONE, Size=size)["VolumeId"]


def test_create_describe_delete(ec2, gw):
    vid = new_volume(ec2, 2)
    fails(ec2.create_snapshot, "DryRunOperation", VolumeId=vid, DryRun=True)
    assert snap_ids(ec2) == set()
    tags = [{"Key": "Name", "Value": "first"}, {"Key": "team", "Value": "a b"}]
    snap = ec2.create_snapshot(VolumeId=vid, Description="before <upgrade>",
                               TagSpecifications=[{"ResourceType": "snapshot",
                                                   "Tags": tags}])
    sid = snap["SnapshotId"]
    assert sid.startswith("snap-") and len(sid) == 22
    # Answered at once, as on AWS; the job makes it completed.
    assert snap["State"] == "pending" and snap["Progress"] == "0%"
    assert snap["VolumeId"] == vid and snap["VolumeSize"] == 2
    assert snap["Description"] == "before <upgrade>" and snap["Encrypted"] is False
    assert snap["Tags"] == tags
    owner = snap["OwnerId"]
    assert len(owner) == 12 and owner.isdigit()

    got = completed(ec2, sid)
    assert got["State"] == "completed" and got["Progress"] == "100%"
    assert got["VolumeId"] == vid and got["VolumeSize"] == 2 and got["OwnerId"] == owner
    assert got["Tags"] == tags and got["StartTime"].year >= 2024

    for kw, want in [({"VolumeId": "vol-0123456789abcdef0"}, "InvalidVolume.NotFound"),
                     ({"VolumeId": "vol-xyz"}, "InvalidVolumeID.Malformed"),
                     ({"VolumeId": "snap-0123456789abcdef0"}, "InvalidVolumeID.Malformed"),
                     ({"VolumeId": "i-0123456789abcdef0"}, "InvalidInstanceID.NotFound"),
                     ({"VolumeId": vid, "Description": "x" * 256}, "InvalidParameterValue"),
                     ({"VolumeId": vid, "TagSpecifications": [
                         {"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]}]},
                      "InvalidParameterValue"),
                     ({"VolumeId": vid, "TagSpecifications": [
                         {"ResourceType": "snapshot", "Tags": [{"Key": "aws:x", "Value": "b"}]}]},
                      "InvalidParameterValue")]:
        fails(ec2.create_snapshot, want, **kw)
    fails(raw_client(gw).create_snapshot, "MissingParameter")
    assert snap_ids(ec2) == {sid}   # no failed request left a snapshot

    fails(ec2.delete_snapshot, "InvalidSnapshotID.Malformed", SnapshotId="snap-nothex")
    fails(ec2.delete_snapshot, "InvalidSnapshot.NotFound", SnapshotId="snap-0123456789abcdef0")
    fails(raw_client(gw).delete_snapshot, "MissingParameter")
    fails(ec2.delete_snapshot, "DryRunOperation", SnapshotId=sid, DryRun=True)
    assert snap_ids(ec2) == {sid}
    ec2.delete_snapshot(SnapshotId=sid)
    assert snap_ids(ec2) == set()
    fails(ec2.delete_snapshot, "InvalidSnapshot.NotFound", SnapshotId=sid)
    fails(ec2.describe_snapshots, "InvalidSnapshot.NotFound", SnapshotIds=[sid])
    # The source volume is untouched by all this.
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["State"] == "available"
    ec2.delete_volume(VolumeId=vid)


def test_root_disk_of_instance(ec2, gw):
    """cloudgate-only: VolumeId=i-... snapshots the instance's root disk."""
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    # Running: test:// has no backup API, so the job fails and removes it.
    live = ec2.create_snapshot(VolumeId=iid)["SnapshotId"]
    wait_for("failed snapshot removed", lambda: live not in snap_ids(ec2), 30, 0.3)
    with pytest.raises(WaiterError):
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[live], WaiterConfig=FAST)
    res = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert res["State"]["Name"] == "running"

    ec2.stop_instances(InstanceIds=[iid], Force=True)
    sid = ec2.create_snapshot(VolumeId=iid, Description="root")["SnapshotId"]
    got = completed(ec2, sid)
    assert got["VolumeId"] == iid and got["VolumeSize"] >= 1
    ec2.terminate_instances(InstanceIds=[iid])
    fails(ec2.create_snapshot, "InvalidInstanceID.NotFound", VolumeId=iid)
    # The snapshot outlives its instance.
    assert sid in snap_ids(ec2)
    ec2.delete_snapshot(SnapshotId=sid)


def test_describe_filters_owners_paging(ec2, gw):
    v1, v2 = new_volume(ec2), new_volume(ec2, 3)
    made = []
    for i in range(7):
        kw = {"VolumeId": v1 if i % 2 == 0 else v2, "Description": "d%d" % i}
        if i < 3:
            kw["TagSpecifications"] = [{"ResourceType": "snapshot",
                                        "Tags": [{"Key": "env", "Value": "e%d" % i}]}]
        made.append(ec2.create_snapshot(**kw)["SnapshotId"])
    for sid in made:
        completed(ec2, sid)
    owner = ec2.describe_snapshots(SnapshotIds=[made[0]])["Snapshots"][0]["OwnerId"]
    allset = set(made)
    assert snap_ids(ec2) == allset

    assert snap_ids(ec2, SnapshotIds=made[:2]) == set(made[:2])
    fails(ec2.describe_snapshots, "InvalidSnapshotID.Malformed", SnapshotIds=["snap-1"])
    fails(ec2.describe_snapshots, "InvalidSnapshot.NotFound",
          SnapshotIds=[made[0], "snap-0123456789abcdef0"])

    assert snap_ids(ec2, OwnerIds=["self"]) == allset
    assert snap_ids(ec2, OwnerIds=[owner]) == allset
    assert snap_ids(ec2, OwnerIds=["amazon"]) == set()
    assert snap_ids(ec2, OwnerIds=["123456789012" if owner != "123456789012"
                                   else "210987654321"]) == set()
    assert snap_ids(ec2, RestorableByUserIds=["self"]) == allset
    assert snap_ids(ec2, RestorableByUserIds=["all"]) == set()

    def filt(name, *values):
        return snap_ids(ec2, Filters=[{"Name": name, "Values": list(values)}])

    assert filt("volume-id", v2) == {made[i] for i in (1, 3, 5)}
    assert filt("status", "completed") == allset
    assert filt("status", "pending", "error") == set()
    assert filt("owner-id", owner) == allset
    assert filt("description", "d4", "d5") == {made[4], made[5]}
    assert filt("description", "d*") == allset
    assert filt("snapshot-id", made[6]) == {made[6]}
    assert filt("tag:env", "e1", "e2") == {made[1], made[2]}
    assert filt("tag-key", "env") == set(made[:3])
    assert filt("volume-size", "3") == {made[i] for i in (1, 3, 5)}
    assert snap_ids(ec2, Filters=[{"Name": "volume-id", "Values": [v1]},
                                  {"Name": "tag-key", "Values": ["env"]}]) == {made[0], made[2]}
    fails(ec2.describe_snapshots, "InvalidParameterValue",
          Filters=[{"Name": "colour", "Values": ["x"]}])

    # Paging: 5..1000, NextToken, not with SnapshotIds.
    for bad in (4, 1001):
        fails(ec2.describe_snapshots, "InvalidParameterValue", MaxResults=bad)
    fails(ec2.describe_snapshots, "InvalidParameterCombination", MaxResults=5,
          SnapshotIds=[made[0]])
    page = ec2.describe_snapshots(MaxResults=5)
    assert len(page["Snapshots"]) == 5 and page.get("NextToken")
    rest = ec2.describe_snapshots(MaxResults=5, NextToken=page["NextToken"])
    assert len(rest["Snapshots"]) == 2 and "NextToken" not in rest
    seen = [s["SnapshotId"] for s in page["Snapshots"] + rest["Snapshots"]]
    assert sorted(seen) == sorted(made)
    fails(ec2.describe_snapshots, "InvalidParameterValue", MaxResults=5, NextToken="bogus")
    pages = ec2.get_paginator("describe_snapshots").paginate(PaginationConfig={"PageSize": 5})
    assert sorted(s["SnapshotId"] for p in pages for s in p["Snapshots"]) == sorted(made)

    for sid in made:
        ec2.delete_snapshot(SnapshotId=sid)
    ec2.delete_volume(VolumeId=v1)
    ec2.delete_volume(VolumeId=v2)


def test_copy_snapshot(ec2, gw):
    vid = new_volume(ec2, 2)
    src = completed(ec2, ec2.create_snapshot(VolumeId=vid, Description="orig")["SnapshotId"])
    sid = src["SnapshotId"]
    fails(ec2.copy_snapshot, "DryRunOperation", SourceSnapshotId=sid,
          SourceRegion="cloudgate", DryRun=True)
    for kw, want in [({"SourceSnapshotId": sid, "SourceRegion": "us-east-1"},
                      "InvalidParameterValue"),
                     ({"SourceSnapshotId": sid, "SourceRegion": "cloudgate",
                       "Encrypted": True}, "InvalidParameterValue"),
                     ({"SourceSnapshotId": "snap-0123456789abcdef0",
                       "SourceRegion": "cloudgate"}, "InvalidSnapshot.NotFound"),
                     ({"SourceSnapshotId": "snap-zz", "SourceRegion": "cloudgate"},
                      "InvalidSnapshotID.Malformed")]:
        fails(ec2.copy_snapshot, want, **kw)
    raw = raw_client(gw)
    # botocore overwrites DestinationRegion with the client's region (and
    # adds a PresignedUrl, ignored here): a hand-signed request shows the check.
    r = signed_params(gw, [("Action", "CopySnapshot"), ("SourceSnapshotId", sid),
                           ("SourceRegion", "cloudgate"), ("DestinationRegion", "eu-west-1")])
    assert_ec2_error(r, 400, "InvalidParameterValue", "DestinationRegion")
    fails(raw.copy_snapshot, "MissingParameter", SourceRegion="cloudgate")
    r = signed_params(gw, [("Action", "CopySnapshot"), ("SourceSnapshotId", sid)])
    assert_ec2_error(r, 400, "MissingParameter", "SourceRegion")
    assert snap_ids(ec2) == {sid}

    copy = ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion="cloudgate",
                             Description="the copy",
                             TagSpecifications=[{"ResourceType": "snapshot",
                                                 "Tags": [{"Key": "k", "Value": "v"}]}])
    cid = copy["SnapshotId"]
    assert cid != sid and copy["Tags"] == [{"Key": "k", "Value": "v"}]
    got = completed(ec2, cid)
    assert got["Description"] == "the copy" and got["VolumeId"] == vid
    assert got["VolumeSize"] == 2
    # The copy stands alone: deleting the original leaves it usable.
    ec2.delete_snapshot(SnapshotId=sid)
    v2 = ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=cid)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[v2], WaiterConfig=FAST)
    for v in (vid, v2):
        ec2.delete_volume(VolumeId=v)
    ec2.delete_snapshot(SnapshotId=cid)


def test_volume_from_snapshot(ec2, gw):
    vid = new_volume(ec2, 2)
    sid = completed(ec2, ec2.create_snapshot(VolumeId=vid)["SnapshotId"])["SnapshotId"]
    vol = ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=sid,
                            TagSpecifications=[{"ResourceType": "volume",
                                                "Tags": [{"Key": "Name", "Value": "r"}]}])
    assert vol["SnapshotId"] == sid and vol["Size"] == 2   # the snapshot's size
    ec2.get_waiter("volume_available").wait(VolumeIds=[vol["VolumeId"]], WaiterConfig=FAST)
    big = ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=sid, Size=5)
    assert big["Size"] == 5 and big["SnapshotId"] == sid   # grown
    got = ec2.describe_volumes(VolumeIds=[vol["VolumeId"], big["VolumeId"]])["Volumes"]
    assert {v["SnapshotId"] for v in got} == {sid}
    got = ec2.describe_volumes(Filters=[{"Name": "snapshot-id", "Values": [sid]}])["Volumes"]
    assert {v["VolumeId"] for v in got} == {vol["VolumeId"], big["VolumeId"]}
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["SnapshotId"] == ""

    before = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    for kw, want in [({"SnapshotId": sid, "Size": 1}, "InvalidParameterValue"),
                     ({"SnapshotId": "snap-0123456789abcdef0"}, "InvalidSnapshot.NotFound"),
                     ({"SnapshotId": "snap-!"}, "InvalidSnapshotID.Malformed"),
                     ({"SnapshotId": sid, "Size": 0}, "InvalidParameterValue")]:
        fails(ec2.create_volume, want, AvailabilityZone=ZONE, **kw)
    fails(ec2.create_volume, "DryRunOperation", AvailabilityZone=ZONE, SnapshotId=sid,
          DryRun=True)
    assert {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]} == before
    for v in (vid, vol["VolumeId"], big["VolumeId"]):
        ec2.delete_volume(VolumeId=v)
    ec2.delete_snapshot(SnapshotId=sid)


def test_launch_with_volumes_from_a_snapshot(ec2, gw):
    """RunInstances' BlockDeviceMapping.N.Ebs.SnapshotId: each instance gets
    its own copy (the snapshot's size unless a larger one is asked for),
    deleted with it by default; refusals make nothing."""
    vid = new_volume(ec2, 2)
    sid = completed(ec2, ec2.create_snapshot(VolumeId=vid)["SnapshotId"])["SnapshotId"]
    run = dict(ImageId=gw.image_id, InstanceType="t2.micro")
    before = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    for mapping, want in [
            ({"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": sid, "VolumeSize": 1}},
             "InvalidBlockDeviceMapping"),
            ({"DeviceName": "/dev/vda", "Ebs": {"SnapshotId": sid}}, "InvalidBlockDeviceMapping"),
            ({"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}},
             "InvalidSnapshot.NotFound"),
            ({"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "snap-!"}},
             "InvalidSnapshotID.Malformed")]:
        fails(ec2.run_instances, want, MinCount=1, MaxCount=1, BlockDeviceMappings=[mapping],
              **run)
    assert {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]} == before

    r = ec2.run_instances(MinCount=2, MaxCount=2, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": sid}},
        {"DeviceName": "/dev/sdg", "Ebs": {"SnapshotId": sid, "VolumeSize": 4,
                                           "DeleteOnTermination": False}}], **run)
    ids = [i["InstanceId"] for i in r["Instances"]]
    assert {i["Placement"]["AvailabilityZone"] for i in r["Instances"]} == {ZONE}
    # The launch's volumes are made by the zone's launch worker: as with EC2
    # (eventually consistent), a pending instance's volumes may not be listed
    # yet; clients wait for running, and so does this test.
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=FAST)
    made = [v for v in ec2.describe_volumes(
        Filters=[{"Name": "snapshot-id", "Values": [sid]}])["Volumes"]
        if v["Attachments"] and v["Attachments"][0]["InstanceId"] in ids]
    assert len(made) == 4, made
    by_dev = {}
    for v in made:
        by_dev.setdefault(v["Attachments"][0]["Device"], []).append(v)
    assert sorted(by_dev) == ["/dev/vdf", "/dev/vdg"], by_dev
    sizes = {d: {v["Size"] for v in vs} for d, vs in by_dev.items()}
    assert sorted(sizes.values(), key=min) == [{2}, {4}], sizes
    kept = [v["VolumeId"] for v in made if v["Size"] == 4]
    ec2.terminate_instances(InstanceIds=ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=FAST)
    left = {v["VolumeId"]: v["State"] for v in ec2.describe_volumes()["Volumes"]}
    assert {v["VolumeId"] for v in made if v["Size"] == 2}.isdisjoint(left)
    assert all(left[v] == "available" for v in kept), left
    out = gw.aws("run-instances", "--image-id", gw.image_id, "--instance-type", "t2.micro",
                 "--block-device-mappings",
                 '[{"DeviceName": "/dev/sdh", "Ebs": {"SnapshotId": "%s"}}]' % sid)
    cli = out["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[cli], WaiterConfig=FAST)
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [cli]}])
    assert [v["SnapshotId"] for v in vols["Volumes"]] == [sid]
    ec2.terminate_instances(InstanceIds=[cli])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[cli], WaiterConfig=FAST)
    for v in kept + [vid]:
        ec2.delete_volume(VolumeId=v)
    ec2.delete_snapshot(SnapshotId=sid)


def test_aws_cli(gw):
    vid = gw.aws("create-volume", "--availability-zone", ZONE, "--size", "2")["VolumeId"]
    out = gw.aws("create-snapshot", "--volume-id", vid, "--description", "cli snap",
                 "--tag-specifications", "ResourceType=snapshot,Tags=[{Key=via,Value=cli}]")
    sid = out["SnapshotId"]
    assert out["State"] == "pending" and out["Tags"] == [{"Key": "via", "Value": "cli"}]
    time.sleep(1)   # the CLI's waiter sleeps 15 s between polls
    gw.aws("wait", "snapshot-completed", "--snapshot-ids", sid)
    got = gw.aws("describe-snapshots", "--owner-ids", "self", "--filters",
                 "Name=tag:via,Values=cli")["Snapshots"]
    assert [s["SnapshotId"] for s in got] == [sid] and got[0]["State"] == "completed"
    got = gw.aws("describe-snapshots", "--page-size", "5")["Snapshots"]
    assert sid in {s["SnapshotId"] for s in got}

    cid = gw.aws("copy-snapshot", "--source-snapshot-id", sid, "--source-region",
                 "cloudgate")["SnapshotId"]
    time.sleep(1)
    gw.aws("wait", "snapshot-completed", "--snapshot-ids", cid)
    v2 = gw.aws("create-volume", "--availability-zone", ZONE, "--snapshot-id", cid,
                "--size", "3")
    assert v2["SnapshotId"] == cid and v2["Size"] == 3
    gw.aws("wait", "volume-available", "--volume-ids", v2["VolumeId"])

    for args, want in [(["create-snapshot", "--volume-id", "vol-0123456789abcdef0"],
                        "InvalidVolume.NotFound"),
                       (["describe-snapshots", "--snapshot-ids", "snap-bad"],
                        "InvalidSnapshotID.Malformed"),
                       (["describe-snapshots", "--max-results", "3"], "InvalidParameterValue"),
                       (["copy-snapshot", "--source-snapshot-id", sid, "--source-region",
                         "us-west-2"], "InvalidParameterValue"),
                       (["create-volume", "--availability-zone", ZONE, "--snapshot-id", cid,
                         "--size", "1"], "InvalidParameterValue"),
                       (["delete-snapshot", "--snapshot-id", "snap-0123456789abcdef0"],
                        "InvalidSnapshot.NotFound")]:
        r = gw.aws(*args, check=False)
        assert r.returncode != 0 and "(%s)" % want in r.stderr, (args, r.stderr)

    for s in (sid, cid):
        assert gw.aws("delete-snapshot", "--snapshot-id", s) is None
    gw.aws("delete-volume", "--volume-id", vid)
    gw.aws("delete-volume", "--volume-id", v2["VolumeId"])
    assert gw.aws("describe-snapshots")["Snapshots"] == []


def test_restart_keeps_snapshots(ec2, gw):
    vid = new_volume(ec2)
    sid = completed(ec2, ec2.create_snapshot(
        VolumeId=vid, Description="kept",
        TagSpecifications=[{"ResourceType": "snapshot",
                            "Tags": [{"Key": "k", "Value": "v"}]}])["SnapshotId"])["SnapshotId"]
    before = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert gw.stop() == 0, gw.log_text()
    gw.start()
    after = gw.client().describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
    assert after == before
    assert "interrupted" not in gw.log_text()
    gw.client().delete_snapshot(SnapshotId=sid)


def test_recovery_after_crash(ec2, gw):
    """What a crash leaves: a snapshot job RUNNING with its undo text, and a
    pending snapshot whose job never got recorded.  The next start removes
    both snapshots (rows and volumes); completed ones stay."""
    vid = new_volume(ec2)
    keep, a = (completed(ec2, ec2.create_snapshot(VolumeId=vid)["SnapshotId"])["SnapshotId"]
               for _ in range(2))
    before = snap_ids(ec2)
    assert gw.stop() == 0, gw.log_text()
    db = sqlite3.connect(os.path.join(gw.dir, "state", "cloudgate.db"))
    try:
        with db:
            db.execute("UPDATE snapshots SET state = 'pending', progress = 40,"
                       " job_id = 'job-0000000000000000a' WHERE id = ?", (a,))
            db.execute("INSERT INTO jobs (id, action, target, state, created, changed, owner,"
                       " undo) VALUES ('job-0000000000000000a', 'snapshot', ?, 'RUNNING',"
                       " 1, 1, 0, ?)", (a, "snapshot " + a))
            # Completed, but the crash came before its job's end was recorded.
            db.execute("INSERT INTO jobs (id, action, target, state, created, changed, owner,"
                       " undo) VALUES ('job-0000000000000000c', 'snapshot', ?, 'RUNNING',"
                       " 1, 1, 0, ?)", (keep, "snapshot " + keep))
            db.execute("INSERT INTO snapshots (id, volume_id, zone, state, size, started,"
                       " owner, job_id) VALUES ('snap-0000000000000000b', ?, ?, 'pending',"
                       " 1073741824, 2, '000000000000', 'job-0000000000000000b')", (vid, ZONE))
    finally:
        db.close()
    gw.start()
    c = gw.client()
    assert snap_ids(c) == before - {a} and keep in before
    log = gw.log_text()
    assert "removing its snapshot %s" % a in log, log
    assert "snapshot snap-0000000000000000b was left pending" in log, log
    assert "after its snapshot %s completed: kept" % keep in log, log
    # (test:// starts its world afresh with the daemon: the volume is gone.)
    c.delete_snapshot(SnapshotId=keep)


def test_hostile_parameters(ec2, gw):
    """Bad bytes, ids and values: an AWS error each, nothing made."""
    vid = new_volume(ec2)
    before = snap_ids(ec2)

    def call(*params):
        return signed_params(gw, list(params))

    for params, code_, words in [
            ([("Action", "CreateSnapshot"), ("VolumeId", vid), ("Description", b"a\xffb")],
             "InvalidParameterValue", "Description"),
            ([("Action", "CreateSnapshot"), ("VolumeId", vid), ("Description", "\x01")],
             "InvalidParameterValue", "Description"),
            ([("Action", "CreateSnapshot"), ("VolumeId", "vol-" + "a" * 300)],
             "InvalidVolumeID.Malformed", ()),
            ([("Action", "CreateSnapshot"), ("VolumeId", "vol-0123456789ABCDEF0")],
             "InvalidVolumeID.Malformed", ()),
            ([("Action", "CreateSnapshot"), ("VolumeId", vid), ("DryRun", "maybe")],
             "InvalidParameterValue", ()),
            ([("Action", "DescribeSnapshots"), ("MaxResults", "ten")],
             "InvalidParameterValue", ()),
            ([("Action", "DescribeSnapshots"), ("MaxResults", "-5")],
             "InvalidParameterValue", ()),
            ([("Action", "DescribeSnapshots"), ("SnapshotId.1", "snap-%00")],
             "InvalidSnapshotID.Malformed", ()),
            ([("Action", "DescribeSnapshots"), ("Filter.1.Name", "status")],
             "InvalidParameterValue", ()),
            ([("Action", "DeleteSnapshot"), ("SnapshotId", "")], "MissingParameter", ()),
            ([("Action", "CopySnapshot"), ("SourceSnapshotId", "snap-0123456789abcdef0"),
              ("SourceRegion", "cloudgate"), ("Encrypted", "yes")],
             "InvalidParameterValue", ()),
            ([("Action", "CreateVolume"), ("AvailabilityZone", ZONE),
              ("SnapshotId", "snap-0123456789abcdef0"), ("Size", "99999999999999999999")],
             "InvalidParameterValue", ()),
            ([("Action", "CreateVolume"), ("AvailabilityZone", ZONE),
              ("SnapshotId", "vol-0123456789abcdef0")], "InvalidSnapshotID.Malformed", ())]:
        assert_ec2_error(call(*params), 400, code_, words)
    assert snap_ids(ec2) == before
    ec2.delete_volume(VolumeId=vid)


def test_cimi_volume_images(ec2, gw):
    """CIMI shows the snapshots as VolumeImages (both formats, XML checked
    against DSP8009) and deletes them."""
    import requests
    from test_cimi import NS, Cimi

    cimi = Cimi(gw)
    vid = new_volume(ec2)
    sid = completed(ec2, ec2.create_snapshot(
        VolumeId=vid, Description="for cimi",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
            {"Key": "Name", "Value": "nightly"}, {"Key": "env", "Value": "prod"}]}])["SnapshotId"])[
        "SnapshotId"]
    cep = cimi.json("/cimi/cloudEntryPoint")
    href = cep["volumeImages"]["href"]
    assert href == cep["baseURI"] + "volumeImages"
    coll = cimi.json(href)
    assert coll["resourceURI"] == NS + "/VolumeImageCollection"
    assert coll["count"] == len(coll["volumeImages"]) == len(snap_ids(ec2))
    one = [v for v in coll["volumeImages"] if v["id"] == href + "/" + sid]
    assert len(one) == 1
    v = cimi.json(one[0]["id"])
    assert v["resourceURI"] == NS + "/VolumeImage"
    assert v["name"] == "nightly" and v["description"] == "for cimi"
    assert v["state"] == "AVAILABLE" and v["bootable"] is False
    assert v["properties"] == {"env": "prod"}
    assert v["imageLocation"].endswith("/%s.qcow2" % sid)
    assert [o["rel"] for o in v["operations"]] == ["delete"]
    cimi.xml(href)
    cimi.xml(one[0]["id"])
    assert cimi.get(href + "/snap-0123456789abcdef0").status_code == 404

    # A Volume from the VolumeImage: the snapshot's size, or a larger capacity.
    vols = cep["baseURI"] + "volumes"
    made = []
    for template, gib in [({"volumeImage": {"href": one[0]["id"]}}, 1),
                          ({"volumeImage": {"href": one[0]["id"]},
                            "volumeConfig": {"capacity": 3 * 1024 * 1024}}, 3)]:
        r = requests.post(vols, json={"resourceURI": NS + "/VolumeCreate", "name": "restored",
                                      "volumeTemplate": template}, auth=cimi.auth, timeout=30)
        assert r.status_code == 201, r.text
        vol_id = r.json()["id"].rsplit("/", 1)[1]
        made.append(vol_id)
        got = ec2.describe_volumes(VolumeIds=[vol_id])["Volumes"][0]
        assert got["SnapshotId"] == sid and got["Size"] == gib, got
    count = len(ec2.describe_volumes()["Volumes"])
    for template, why in [
            ({"volumeImage": {"href": href + "/snap-0123456789abcdef0"}}, "does not exist"),
            ({"volumeImage": {"href": one[0]["id"]},
              "volumeConfig": {"capacity": 1024}}, "at least"),
            ({"volumeImage": {"href": cep["baseURI"] + "machineImages/x"}}, "volumeImages")]:
        r = requests.post(vols, json={"resourceURI": NS + "/VolumeCreate",
                                      "volumeTemplate": template}, auth=cimi.auth, timeout=30)
        assert r.status_code == 400 and why in r.text, r.text
    assert len(ec2.describe_volumes()["Volumes"]) == count
    for v in made:
        ec2.delete_volume(VolumeId=v)

    r = requests.delete(one[0]["id"], auth=cimi.auth, timeout=30)
    assert r.status_code == 200, r.text
    assert sid not in snap_ids(ec2)
    assert cimi.get(one[0]["id"]).status_code == 404
    r = requests.delete(one[0]["id"], auth=cimi.auth, timeout=30)
    assert r.status_code == 404, r.text
    ec2.delete_volume(VolumeId=vid)
