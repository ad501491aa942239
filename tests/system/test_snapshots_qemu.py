"""EBS snapshots on real qemu guests (TCG): CreateSnapshot of a volume
attached to a running guest (libvirt push-mode backup: the guest keeps
running, never paused), CreateVolume from the snapshot, attached to a
second instance, reads back what was written.

The demo guest runs no commands for us, so the marker is written and read
through the running qemu's own block layer (HMP "qemu-io" on the disk's
device): the same path as a guest's writes, below any guest cache.  The
marker is a random byte pattern at offsets spread over the 1 GiB volume."""
import os
import re
import secrets
import subprocess
import time

from cgharness import wait_for
from conftest import virsh

ZONE = "cloudgate-a"
OFFSETS = [0, 4 << 20, 512 << 20, (1 << 30) - 65536]
CHUNK = 65536


def state(ec2, iid):
    res = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
    return res[0]["Instances"][0]["State"]["Name"]


def console(ec2, iid):
    return ec2.get_console_output(InstanceId=iid).get("Output", "")


def pool_volumes():
    out = virsh("vol-list", "--pool", "cloudgate").stdout
    return {l.split()[0] for l in out.splitlines()[2:] if l.strip()}


def launch(gw, ec2, image_id=None):
    iid = ec2.run_instances(ImageId=image_id or gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.nano")["Instances"][0]["InstanceId"]
    gw.launched.append(iid)
    wait_for("%s running" % iid, lambda: state(ec2, iid) == "running", timeout=300, interval=2)
    wait_for("%s booted" % iid, lambda: "cloudgate-demo: booted" in console(ec2, iid),
             timeout=180, interval=3)
    return iid


def disk_alias(iid, dev):
    """libvirt's alias (qemu's device id) of disk dev in the running domain."""
    xml = virsh("dumpxml", iid).stdout
    for disk in re.findall(r"<disk .*?</disk>", xml, re.S):
        if "dev='%s'" % dev in disk:
            m = re.search(r"<alias name='([^']+)'/>", disk)
            assert m, disk
            return m.group(1)
    raise AssertionError("no disk %s in %s" % (dev, iid))


def qemu_io(iid, dev, command, want):
    """HMP qemu-io on the guest's own disk device (the BlockBackend of a
    virtio-blk-pci disk hangs off its virtio-backend child).  qemu-io prints
    to qemu's stdout, which libvirt logs: returns the new log text once it
    shows want (or after 10 s)."""
    target = "/machine/peripheral/%s/virtio-backend" % disk_alias(iid, dev)
    log = "/var/log/libvirt/qemu/%s.log" % iid
    start = os.path.getsize(log)
    out = virsh("qemu-monitor-command", iid, "--hmp",
                'qemu-io -d %s "%s"' % (target, command)).stdout
    assert not out.strip(), out   # the monitor says only errors
    deadline = time.time() + 10
    while True:
        with open(log, errors="replace") as f:
            f.seek(start)
            text = f.read()
        if want in text or "fail" in text.lower() or time.time() > deadline:
            return text
        time.sleep(0.1)


def write_marker(iid, dev, pattern):
    for i, off in enumerate(OFFSETS):
        want = "wrote %d/%d bytes at offset %d" % (CHUNK, CHUNK, off)
        out = qemu_io(iid, dev, "write -P 0x%02x %d %d" % (pattern[i], off, CHUNK), want)
        assert want in out, out
    qemu_io(iid, dev, "flush", "")


def marker_matches(iid, dev, pattern):
    for i, off in enumerate(OFFSETS):
        want = "read %d/%d bytes at offset %d" % (CHUNK, CHUNK, off)
        out = qemu_io(iid, dev, "read -P 0x%02x %d %d" % (pattern[i], off, CHUNK), want)
        if want not in out or "fail" in out.lower():
            return False
    return True


def marked_guest(gw, ec2, made_vols):
    """A running guest with a new 1 GiB volume on vdb (into made_vols)
    holding a random marker: (instance, volume, pattern, a pattern that
    differs from it at every offset)."""
    pattern = [secrets.randbelow(254) + 1 for _ in OFFSETS]
    later = [(p % 254) + 1 for p in pattern]
    first = launch(gw, ec2)
    vid = ec2.create_volume(AvailabilityZone=ZONE, Size=1)["VolumeId"]
    made_vols.append(vid)
    ec2.attach_volume(VolumeId=vid, InstanceId=first, Device="/dev/vdb")
    write_marker(first, "vdb", pattern)
    return first, vid, pattern, later


def remove_made(ec2, snaps, vols):
    """What a test made, by id, even when it failed midway (the pool's
    volumes directly when the gateway cannot)."""
    for s in snaps:
        try:
            ec2.delete_snapshot(SnapshotId=s)
        except Exception:
            virsh("vol-delete", "--pool", "cloudgate", s + ".qcow2", check=False)
    for v in vols:
        try:
            ec2.detach_volume(VolumeId=v)
        except Exception:
            pass
        try:
            ec2.delete_volume(VolumeId=v)
        except Exception:
            virsh("vol-delete", "--pool", "cloudgate", v + ".qcow2", check=False)


def test_snapshot_of_running_guest(sysgw):
    gw = sysgw
    ec2 = gw.client()
    made_vols, made_snaps = [], []
    events = None
    try:
        first, vid, pattern, later = marked_guest(gw, ec2, made_vols)
        assert marker_matches(first, "vdb", pattern)

        # Watch the domain's lifecycle events while the snapshot is made:
        # a pause would show as a "Suspended" event.
        events = subprocess.Popen(["virsh", "-c", "qemu:///system", "event", "--domain", first,
                                   "--event", "lifecycle", "--loop"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.5)
        t0 = time.time()
        snap = ec2.create_snapshot(VolumeId=vid, Description="live %s" % first)
        sid = snap["SnapshotId"]
        made_snaps.append(sid)
        assert snap["State"] == "pending" and snap["VolumeSize"] == 1
        states = set()
        while ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] == "pending":
            states.add(virsh("domstate", first).stdout.strip())
            assert time.time() - t0 < 600
            time.sleep(0.2)
        took = time.time() - t0
        print("\nCreateSnapshot of an attached 1 GiB volume of a running guest: "
              "completed in %.1f s" % took)
        got = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        assert got["State"] == "completed" and got["Progress"] == "100%", got
        events.terminate()
        seen = events.communicate(timeout=10)[0]
        events = None
        assert "Suspended" not in seen and "Resumed" not in seen, seen
        assert states <= {"running"}, states
        assert virsh("domstate", first).stdout.strip() == "running"
        assert state(ec2, first) == "running"

        # The snapshot is a standalone qcow2 in the pool.
        assert sid + ".qcow2" in pool_volumes()
        info = virsh("vol-dumpxml", "--pool", "cloudgate", sid + ".qcow2").stdout
        assert "<backingStore>" not in info and "qcow2" in info

        # What the source holds now must not reach volumes made earlier.
        write_marker(first, "vdb", later)

        vol2 = ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=sid, Size=2)
        v2 = vol2["VolumeId"]
        made_vols.append(v2)
        assert vol2["SnapshotId"] == sid and vol2["Size"] == 2
        ec2.get_waiter("volume_available").wait(VolumeIds=[v2],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        second = launch(gw, ec2)
        ec2.attach_volume(VolumeId=v2, InstanceId=second, Device="/dev/vdc")
        assert marker_matches(second, "vdc", pattern)
        assert not marker_matches(second, "vdc", later)
        assert marker_matches(first, "vdb", later)
        # Grown to the size asked for.
        size = virsh("domblkinfo", second, "vdc").stdout
        assert re.search(r"Capacity:\s+%d" % (2 << 30), size), size

        # The snapshot stays deletable while volumes made from it live.
        ec2.detach_volume(VolumeId=v2)
        ec2.detach_volume(VolumeId=vid)
        ec2.delete_snapshot(SnapshotId=sid)
        made_snaps.remove(sid)
        assert sid + ".qcow2" not in pool_volumes()
    finally:
        if events:
            events.kill()
            events.wait()
        remove_made(ec2, made_snaps, made_vols)


def test_create_image_takes_attached_volume(sysgw):
    """CreateImage of a running guest with a volume attached (EC2's
    default: every attached EBS volume goes into the image): the image's
    /dev/vdb is a snapshot of the volume, and an instance launched from the
    image reads the guest's data on its own copy of it."""
    gw = sysgw
    ec2 = gw.client()
    made_vols, amis, snaps, children = [], [], [], []
    try:
        first, vid, pattern, later = marked_guest(gw, ec2, made_vols)
        t0 = time.time()
        ami = ec2.create_image(InstanceId=first, Name="with-volume-%s" % first,
                               NoReboot=True)["ImageId"]
        amis.append(ami)
        ec2.get_waiter("image_available").wait(ImageIds=[ami],
                                               WaiterConfig={"Delay": 2, "MaxAttempts": 300})
        print("\nCreateImage of a running guest with a 1 GiB volume attached: available in "
              "%.1f s" % (time.time() - t0))
        img = ec2.describe_images(ImageIds=[ami])["Images"][0]
        bdm = {m["DeviceName"]: m["Ebs"] for m in img["BlockDeviceMappings"]}
        assert sorted(bdm) == ["/dev/vda", "/dev/vdb"], bdm
        sid = bdm["/dev/vdb"]["SnapshotId"]
        # The root's snapshot keeps the image's disk after a deregister.
        snaps += [sid, bdm["/dev/vda"]["SnapshotId"]]
        snap = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        assert snap["VolumeId"] == vid and snap["State"] == "completed", snap
        assert state(ec2, first) == "running"
        # Written after the capture: not in the image.
        write_marker(first, "vdb", later)

        child = launch(gw, ec2, ami)
        children.append(child)
        vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                              "Values": [child]}])["Volumes"]
        assert [(v["Attachments"][0]["Device"], v["SnapshotId"]) for v in vols] == [
            ("/dev/vdb", sid)], vols
        # Attached by AttachVolume: DeleteOnTermination false, in the image too.
        made_vols.append(vols[0]["VolumeId"])
        assert vols[0]["Attachments"][0]["DeleteOnTermination"] is False
        assert marker_matches(child, "vdb", pattern)
        assert not marker_matches(child, "vdb", later)
        ec2.terminate_instances(InstanceIds=[child])
        ec2.get_waiter("instance_terminated").wait(
            InstanceIds=[child], WaiterConfig={"Delay": 2, "MaxAttempts": 90})
        children.remove(child)
        ec2.deregister_image(ImageId=ami)
        amis.remove(ami)
        # The snapshot outlives the image, as in EC2.
        assert ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] == "completed"
        ec2.detach_volume(VolumeId=vid)
    finally:
        # The image's disk is under its instances' overlays: they go first.
        if children:
            ec2.terminate_instances(InstanceIds=children)
            ec2.get_waiter("instance_terminated").wait(
                InstanceIds=children, WaiterConfig={"Delay": 2, "MaxAttempts": 90})
        for a in amis:
            try:
                ec2.deregister_image(ImageId=a)
            except Exception as e:
                print("deregister %s: %s" % (a, e))
        remove_made(ec2, snaps, made_vols)


def test_root_disk_snapshot_running(sysgw):
    """cloudgate-only: VolumeId=i-... backs up the root disk of a running
    guest (vda), again without pausing it."""
    gw = sysgw
    ec2 = gw.client()
    iid = launch(gw, ec2)
    sid = ec2.create_snapshot(VolumeId=iid)["SnapshotId"]
    made = [sid]
    wait = {"Delay": 1, "MaxAttempts": 300}
    try:
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=wait)
        assert virsh("domstate", iid).stdout.strip() == "running"
        pool = "/var/lib/cloudgate/pool/"
        r = subprocess.run(["qemu-img", "info", pool + sid + ".qcow2"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and "backing file" not in r.stdout, r.stdout
        # CopySnapshot: a standalone copy with the same contents.
        cid = ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion="cloudgate")["SnapshotId"]
        made.append(cid)
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[cid], WaiterConfig=wait)
        r = subprocess.run(["qemu-img", "compare", pool + sid + ".qcow2",
                            pool + cid + ".qcow2"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        for s in made:
            ec2.delete_snapshot(SnapshotId=s)
    assert not {s + ".qcow2" for s in made} & pool_volumes()
