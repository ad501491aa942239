"""RunInstances' BlockDeviceMapping and ModifyVolume's online grow on a real
qemu guest (TCG): the mapped volume is in the guest from boot, the root disk
has the size asked for, a grow reaches the running guest through
virDomainBlockResize (its kernel logs the capacity change on the serial
console, no restart), and TerminateInstances deletes the mapped volume.
Names are this test's own (instances and volumes by id); under a minute."""
import pytest

from cgharness import wait_for
from conftest import virsh

GIB = 1 << 30


def state(ec2, iid):
    res = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
    return res[0]["Instances"][0]["State"]["Name"]


def console(ec2, iid):
    return ec2.get_console_output(InstanceId=iid).get("Output", "")


def blk_capacity(iid, dev):
    out = virsh("domblkinfo", iid, dev).stdout
    for line in out.splitlines():
        if line.startswith("Capacity:"):
            return int(line.split()[1])
    raise AssertionError("no capacity for %s %s: %s" % (iid, dev, out))


def pool_volumes():
    out = virsh("vol-list", "--pool", "cloudgate").stdout
    return {l.split()[0] for l in out.splitlines()[2:] if l.strip()}


def test_mapping_and_online_grow(sysgw):
    gw = sysgw
    ec2 = gw.client()
    img = ec2.describe_images(ImageIds=[gw.image_id])["Images"][0]
    root_gib = img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] + 1
    iid = ec2.run_instances(
        ImageId=gw.image_id, MinCount=1, MaxCount=1, InstanceType="t2.nano",
        BlockDeviceMappings=[{"DeviceName": img["RootDeviceName"],
                              "Ebs": {"VolumeSize": root_gib}},
                             {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}}],
    )["Instances"][0]["InstanceId"]
    gw.launched.append(iid)
    vid = None
    try:
        # RunInstances answers pending: the mapped volume is made by the
        # zone's launch worker.
        wait_for("%s running" % iid, lambda: state(ec2, iid) == "running", timeout=120,
                 interval=2)
        vols = ec2.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
        assert len(vols) == 1 and vols[0]["Attachments"][0]["Device"] == "/dev/vdf"
        vid = vols[0]["VolumeId"]
        wait_for("%s booted" % iid, lambda: "cloudgate-demo: booted" in console(ec2, iid),
                 timeout=120, interval=2)
        # The guest saw the mapped disk at boot (the guest names its virtio
        # disks in probe order: libvirt's vdf is its second, vdb); the root
        # disk has the size asked.
        disks = wait_for("disks line", lambda: [l for l in console(ec2, iid).splitlines()
                                                if "cloudgate-demo: disks=" in l], 60, 2)
        assert disks[-1].split("=", 1)[1].split() == ["vda", "vdb"], disks
        assert blk_capacity(iid, "vda") == root_gib * GIB
        assert blk_capacity(iid, "vdf") == 1 * GIB

        m = ec2.modify_volume(VolumeId=vid, Size=2)["VolumeModification"]
        assert m["ModificationState"] == "completed" and m["TargetSize"] == 2
        # qemu has the new size and the running guest's kernel was told.
        assert blk_capacity(iid, "vdf") == 2 * GIB
        wait_for("the guest sees its vdb grow",
                 lambda: "vdb: detected capacity change" in console(ec2, iid)
                 or "[vdb] new size" in console(ec2, iid), timeout=30, interval=1)
        assert state(ec2, iid) == "running"
        assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"] == 2

        ec2.terminate_instances(InstanceIds=[iid])
        wait_for("terminated", lambda: state(ec2, iid) == "terminated", timeout=60)
        assert vid + ".qcow2" not in pool_volumes()
        with pytest.raises(Exception):
            ec2.describe_volumes(VolumeIds=[vid])
    finally:
        if vid:
            virsh("vol-delete", "--pool", "cloudgate", vid + ".qcow2", check=False)
