"""RegisterImage from an instance's root snapshot, booted (issue 11), on a
real Debian 12 cloud guest (TCG) through the real aws CLI:

    run-instances (user-data writes a random marker file on the root disk)
    -> create-snapshot --volume-id i-... of the RUNNING instance's root disk
       (libvirt push-mode backup, the guest keeps running)
    -> register-image from that snapshot, with a further disk (/dev/sdb) from
       a data snapshot -> wait image-available
    -> run-instances of the new AMI, whose user-data prints the marker file
       to the serial console: the marker shows that the new instance booted
       from the snapshot's disk; it prints vdb's size too (the further disk)
    -> delete-snapshot refused (InvalidSnapshot.InUse) while the AMI lives;
       deregister-image; delete-snapshot; no volume of ours is left.

Every wait is bounded; timings are printed (-s)."""
import time
import uuid

import pytest

from cgharness import Gateway, remove_filters, wait_for
from conftest import virsh

BOOT_TIMEOUT = 480
POOL = "cloudgate"


def pool_volumes():
    out = virsh("vol-list", "--pool", POOL).stdout
    return {l.split()[0] for l in out.splitlines()[2:] if l.strip()}


@pytest.fixture(scope="module")
def cloudgw(cloud_image):
    gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu")
    r = gw.admin("image-register", "--no-inspect", "--name", "debian-cloud", "--disk",
                 cloud_image, "--description", "Debian 12 with cloud-init")
    gw.image_id = r.stdout.strip().split()[-1]
    gw.launched, gw.snapshots, gw.images, gw.volumes = [], [], [], []
    gw.start()
    try:
        yield gw
    finally:
        if gw.proc and gw.proc.poll() is None:
            if gw.launched:
                gw.aws("terminate-instances", "--instance-ids", *gw.launched, check=False)
                deadline = time.time() + 120
                while time.time() < deadline and any(
                        virsh("domstate", i, check=False).returncode == 0 for i in gw.launched):
                    time.sleep(2)
            for ami in gw.images:
                gw.aws("deregister-image", "--image-id", ami, check=False)
            for sid in gw.snapshots:
                gw.aws("delete-snapshot", "--snapshot-id", sid, check=False)
            for vid in gw.volumes:
                gw.aws("delete-volume", "--volume-id", vid, check=False)
        gw.stop()
        for iid in gw.launched:
            virsh("destroy", iid, check=False)
            virsh("undefine", iid, "--nvram", check=False)
            for vol in (iid + ".qcow2", iid + "-seed.iso"):
                virsh("vol-delete", "--pool", POOL, vol, check=False)
        for sid in gw.snapshots:
            virsh("vol-delete", "--pool", POOL, sid + ".qcow2", check=False)
        gw.admin("image-deregister", gw.image_id, check=False)
        remove_filters(gw)


def console_text(gw, iid):
    r = gw.aws("get-console-output", "--instance-id", iid, "--query", "Output",
               "--output", "text", check=False, timeout=60)
    return r.stdout if r.returncode == 0 else ""


def launch(gw, image_id, user_data, tmp_path):
    path = tmp_path / ("ud-%s" % uuid.uuid4().hex[:6])
    path.write_text(user_data)
    out = gw.aws("run-instances", "--image-id", image_id, "--instance-type", "t2.small",
                 "--user-data", "file://%s" % path, timeout=300)
    iid = out["Instances"][0]["InstanceId"]
    gw.launched.append(iid)
    return iid


def wait_console(gw, iid, text, what):
    seen = {}

    def found():
        seen["text"] = console_text(gw, iid)
        return text in seen["text"]

    try:
        wait_for(what, found, timeout=BOOT_TIMEOUT, interval=3)
    except AssertionError:
        print("\n---- console of %s (last 4000) ----\n%s" % (iid, seen.get("text", "")[-4000:]))
        raise


def test_register_image_from_root_snapshot_boots(cloudgw, tmp_path):
    gw = cloudgw
    before = pool_volumes()
    token = uuid.uuid4().hex
    # Computed in the guest: seeing 42 proves the command ran there.
    origin = launch(gw, gw.image_id,
                    "#cloud-config\nruncmd:\n"
                    "  - echo \"CG-ORIGIN-$((6*7))-%s\" > /var/lib/cloudgate-origin\n"
                    "  - sync\n"
                    "  - echo \"CG-WRITTEN-%s\" > /dev/ttyS0\n" % (token, token), tmp_path)
    t0 = time.time()
    wait_console(gw, origin, "CG-WRITTEN-%s" % token, "the origin wrote its marker")
    print("\norigin booted and wrote its marker in %.0fs" % (time.time() - t0))

    # A snapshot of the running guest's root disk: it keeps running.
    t1 = time.time()
    sid = gw.aws("create-snapshot", "--volume-id", origin,
                 "--description", "root of %s" % origin)["SnapshotId"]
    gw.snapshots.append(sid)
    wait_for("snapshot completed",
             lambda: gw.aws("describe-snapshots", "--snapshot-ids", sid)["Snapshots"][0]
             ["State"] == "completed", timeout=900, interval=3)
    print("root snapshot of the running guest in %.0fs" % (time.time() - t1))
    state = gw.aws("describe-instances", "--instance-ids", origin)[
        "Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "running"
    gw.aws("terminate-instances", "--instance-ids", origin)

    # A further disk for the image: a 1 GiB data snapshot, mapped as 2 GiB.
    vid = gw.aws("create-volume", "--availability-zone", "cloudgate-a", "--size", "1")["VolumeId"]
    gw.volumes.append(vid)
    data = gw.aws("create-snapshot", "--volume-id", vid)["SnapshotId"]
    gw.snapshots.append(data)
    wait_for("data snapshot completed",
             lambda: gw.aws("describe-snapshots", "--snapshot-ids", data)["Snapshots"][0]
             ["State"] == "completed", timeout=300, interval=2)
    gw.aws("delete-volume", "--volume-id", vid)
    gw.volumes.remove(vid)

    size = gw.aws("describe-snapshots", "--snapshot-ids", sid)["Snapshots"][0]["VolumeSize"]
    ami = gw.aws("register-image", "--name", "from-root-" + token[:8],
                 "--root-device-name", "/dev/sda1", "--block-device-mappings",
                 "DeviceName=/dev/sda1,Ebs={SnapshotId=%s,VolumeSize=%d}" % (sid, size + 1),
                 "DeviceName=/dev/sdb,Ebs={SnapshotId=%s,VolumeSize=2}" % data
                 )["ImageId"]
    gw.images.append(ami)
    gw.aws("wait", "image-available", "--image-ids", ami)
    img = gw.aws("describe-images", "--image-ids", ami)["Images"][0]
    assert img["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] == sid
    assert img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == size + 1
    assert img["BlockDeviceMappings"][1]["DeviceName"] == "/dev/vdb"
    assert img["BlockDeviceMappings"][1]["Ebs"]["SnapshotId"] == data
    for snap in (sid, data):
        r = gw.aws("delete-snapshot", "--snapshot-id", snap, check=False)
        assert r.returncode != 0 and "(InvalidSnapshot.InUse)" in r.stderr, r.stderr

    # The new AMI boots, its disk is the snapshot's, and it has the further
    # disk as vdb (512-byte sectors: 2 GiB).
    t2 = time.time()
    copy = launch(gw, ami, "#cloud-config\nruncmd:\n"
                  "  - echo \"CG-READBACK-$(cat /var/lib/cloudgate-origin)\" > /dev/ttyS0\n"
                  "  - echo \"CG-VDB-$(cat /sys/block/vdb/size)-END\" > /dev/ttyS0\n",
                  tmp_path)
    wait_console(gw, copy, "CG-READBACK-CG-ORIGIN-42-%s" % token,
                 "the new instance printed the origin's marker")
    print("instance of the registered AMI booted and read the marker in %.0fs"
          % (time.time() - t2))
    wait_console(gw, copy, "CG-VDB-%d-END" % (2 << 21), "the new instance saw its 2 GiB vdb")
    vols = gw.aws("describe-volumes", "--filters",
                  "Name=attachment.instance-id,Values=%s" % copy)["Volumes"]
    assert [(v["Attachments"][0]["Device"], v["SnapshotId"], v["Size"]) for v in vols] == [
        ("/dev/vdb", data, 2)], vols
    # Its root disk is an overlay on the snapshot's volume, grown to the
    # registered size.
    info = virsh("vol-info", "--pool", POOL, copy + ".qcow2", "--bytes").stdout
    cap = int([l.split()[1] for l in info.splitlines() if l.startswith("Capacity")][0])
    assert cap == (size + 1) << 30, info

    gw.aws("terminate-instances", "--instance-ids", copy)
    wait_for("copy terminated", lambda: virsh("domstate", copy, check=False).returncode != 0,
             timeout=180, interval=2)
    gw.aws("deregister-image", "--image-id", ami)
    gw.images.remove(ami)
    assert sid + ".qcow2" in pool_volumes()      # the snapshot keeps its bytes
    assert gw.aws("delete-snapshot", "--snapshot-id", sid) is None
    gw.snapshots.remove(sid)
    assert gw.aws("delete-snapshot", "--snapshot-id", data) is None
    gw.snapshots.remove(data)
    # The further disk's volume went with the instance (DeleteOnTermination).
    assert vols[0]["VolumeId"] not in {
        v["VolumeId"] for v in gw.aws("describe-volumes")["Volumes"]}
    left = pool_volumes() - before
    assert not left, left
