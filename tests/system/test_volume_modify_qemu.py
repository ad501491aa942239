"""ModifyVolume and DescribeVolumesModifications on real libvirt storage
(qemu:///system's pool; no guest is booted): a detached volume's storage
grows through virStorageVolResize, the change is recorded and shown, and
what cannot be done is refused with nothing changed.  libvirt's test://
driver has no resize at all: there ModifyVolume answers
UnsupportedOperation (tests/integration/test_volume_ops.py).  The online
grow of an attached volume is tests/system/test_volume_grow_qemu.py.  Also
CreateSnapshot, CopySnapshot, CreateVolume from a copy and
DescribeVolumeStatus on the same storage."""
import datetime

import pytest
from botocore.exceptions import ClientError

from cgharness import Gateway, db_rows, remove_filters
from conftest import virsh

ZONE = "cloudgate-a"
WAIT = {"Delay": 1, "MaxAttempts": 30}
GIB = 1 << 30


@pytest.fixture(scope="module")
def gw():
    g = Gateway(zones=[(ZONE, "qemu:///system")], domain_type="qemu")
    g.made = []
    g.start()
    try:
        yield g
    finally:
        ec2 = g.client() if g.proc and g.proc.poll() is None else None
        for vid in g.made:
            if ec2:
                try:
                    ec2.delete_volume(VolumeId=vid)
                except ClientError:
                    pass
        code = g.stop()
        for vid in g.made:
            virsh("vol-delete", "--pool", "cloudgate", vid + ".qcow2", check=False)
        remove_filters(g)
        assert code == 0, g.log_text()


@pytest.fixture
def ec2(gw):
    return gw.client()


def fails(want, call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    assert e.value.response["Error"]["Code"] == want, (kw, e.value.response["Error"])


def new_volume(gw, ec2, size=1):
    vid = ec2.create_volume(AvailabilityZone=ZONE, Size=size)["VolumeId"]
    gw.made.append(vid)
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    return vid


def capacity(vid):
    out = virsh("vol-info", "--pool", "cloudgate", vid + ".qcow2", "--bytes").stdout
    return int([l.split()[1] for l in out.splitlines() if l.startswith("Capacity")][0])


def test_modify_volume_grows_storage(gw, ec2):
    vid = new_volume(gw, ec2)
    fails("DryRunOperation", ec2.modify_volume, VolumeId=vid, Size=2, DryRun=True)
    assert capacity(vid) == GIB

    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    m = ec2.modify_volume(VolumeId=vid, Size=3, VolumeType="standard")["VolumeModification"]
    assert m["VolumeId"] == vid and m["ModificationState"] == "completed"
    assert (m["OriginalSize"], m["TargetSize"]) == (1, 3)
    assert m["TargetVolumeType"] == "standard" and m["Progress"] == 100
    assert m["StartTime"] >= before and m["EndTime"] >= m["StartTime"]
    # libvirt's pool says so, not only our record.
    assert capacity(vid) == 3 * GIB
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 3
    rows = db_rows(gw, "SELECT state, original_size, target_size FROM volume_modifications"
                       " WHERE volume_id = ?", vid)
    assert rows == [("completed", GIB, 3 * GIB)]

    out = gw.aws("modify-volume", "--volume-id", vid, "--size", "5")
    assert (out["VolumeModification"]["OriginalSize"],
            out["VolumeModification"]["TargetSize"]) == (3, 5)
    assert capacity(vid) == 5 * GIB
    mods = ec2.describe_volumes_modifications(VolumeIds=[vid])["VolumesModifications"]
    assert [(x["OriginalSize"], x["TargetSize"]) for x in mods] == [(3, 5)]

    # Shrinking, the same size, other types, IOPS, too large: refused, unchanged.
    for kw in (dict(Size=4), dict(Size=5), dict(Size=6, VolumeType="io2"),
               dict(Size=6, Iops=3000), dict(VolumeType="gp2"), dict(Size=16385)):
        fails("InvalidParameterValue", ec2.modify_volume, VolumeId=vid, **kw)
    assert capacity(vid) == 5 * GIB
    assert len(db_rows(gw, "SELECT 1 FROM volume_modifications WHERE volume_id = ?", vid)) == 2
    # Filters see only the latest change (3 -> 5), not the first (1 -> 3).
    got = ec2.describe_volumes_modifications(
        VolumeIds=[vid], Filters=[{"Name": "target-size", "Values": ["3"]}])
    assert got["VolumesModifications"] == []
    ec2.delete_volume(VolumeId=vid)
    gw.made.remove(vid)


def test_describe_volumes_modifications_filters_and_pages(gw, ec2):
    vids = [new_volume(gw, ec2) for _ in range(3)]
    for n, vid in enumerate(vids):
        ec2.modify_volume(VolumeId=vid, Size=2 + n)

    def mods(**kw):
        got = ec2.describe_volumes_modifications(**kw)
        return sorted(x["VolumeId"] for x in got["VolumesModifications"])

    assert mods(VolumeIds=vids) == sorted(vids)
    assert mods(Filters=[{"Name": "target-size", "Values": ["3"]}]) == [vids[1]]
    assert mods(Filters=[{"Name": "original-size", "Values": ["1"]},
                         {"Name": "volume-id", "Values": [vids[0], vids[2]]}]) == \
        sorted([vids[0], vids[2]])
    assert mods(Filters=[{"Name": "modification-state", "Values": ["failed"]}]) == []
    first = ec2.describe_volumes_modifications(VolumeIds=vids, MaxResults=2)
    assert len(first["VolumesModifications"]) == 2 and first["NextToken"]
    second = ec2.describe_volumes_modifications(VolumeIds=vids, MaxResults=2,
                                                NextToken=first["NextToken"])
    assert "NextToken" not in second
    seen = [x["VolumeId"] for x in first["VolumesModifications"] +
            second["VolumesModifications"]]
    assert sorted(seen) == sorted(vids)
    for vid in vids:
        ec2.delete_volume(VolumeId=vid)
        gw.made.remove(vid)
    # A deleted volume's changes are gone with it.
    assert not set(mods()) & set(vids)
    assert db_rows(gw, "SELECT volume_id FROM volume_modifications WHERE volume_id IN"
                       " (?, ?, ?)", *vids) == []


def test_snapshot_copy_and_status_on_pool_storage(gw, ec2):
    """CreateSnapshot, CopySnapshot, CreateVolume from the copy and
    DescribeVolumeStatus on qemu:///system's pool (no guest): each step's
    bytes are a real volume libvirt lists, and deleting removes them."""
    vid = new_volume(gw, ec2, 2)
    sid = ec2.create_snapshot(VolumeId=vid, Description="pool")["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)
    cid = ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion="cloudgate")["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[cid], WaiterConfig=WAIT)
    assert ec2.describe_snapshots(SnapshotIds=[cid])["Snapshots"][0]["VolumeSize"] == 2
    vols = virsh("vol-list", "--pool", "cloudgate").stdout
    assert sid + ".qcow2" in vols and cid + ".qcow2" in vols
    v2 = ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=cid, Size=3)["VolumeId"]
    gw.made.append(v2)
    ec2.get_waiter("volume_available").wait(VolumeIds=[v2], WaiterConfig=WAIT)
    assert capacity(v2) == 3 * GIB
    st = ec2.describe_volume_status(VolumeIds=[v2])["VolumeStatuses"][0]
    assert st["VolumeStatus"]["Status"] == "ok"
    for s in (sid, cid):
        ec2.delete_snapshot(SnapshotId=s)
    vols = virsh("vol-list", "--pool", "cloudgate").stdout
    assert sid + ".qcow2" not in vols and cid + ".qcow2" not in vols
    for v in (vid, v2):
        ec2.delete_volume(VolumeId=v)
        gw.made.remove(v)
