"""ImportImage of an OVA through virt-v2v, on qemu:///system (TCG), with
the aws CLI and boto3:

    the Debian cloud image -> a streamOptimized VMDK (qemu-img convert -O
    vmdk -o subformat=streamOptimized) + an OVF descriptor written here ->
    tar = the OVA -> aws ec2 import-image --disk-containers Format=ova,
    Url=file://... -> DescribeImportImageTasks: Progress rises through
    intermediate values, StatusMessage says "converting disk 1/1" -> the
    task completes with an AMI -> wait image-available -> RunInstances ->
    the serial console shows the guest booted (login prompt or
    cloud-init), on virtio disks.

With CG_MEASURE_V2V=1, then the same OVA converted by hand (virt-v2v -i ova
... -o local) for the timing ratio printed with -s.

test_v2v_cancel_midway (CG_SLOW_V2V=1: another conversion of several
minutes) cancels a conversion while virt-v2v runs: the task is deleted,
no virt-v2v is left, no volume, no directory, no image.
test_v2v_two_disk_template (CG_SLOW_V2V=1) imports a guest with a second
disk holding a marker: the template's /dev/vdb is a snapshot with the
marker, and a launched instance's copy has it too.

Conversions are slow under TCG: every wait is bounded and generous."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from cgharness import wait_for
from conftest import (GUESTFS_ENV, assert_virtio_disks, pool_names, qemu_gateway, run_instance,
                      v2v_leftovers, virsh, wait_console)

CONVERT_TIMEOUT = 2400
BOOT_TIMEOUT = 900
BOOTED_RE = re.compile(r"login: |Cloud-init v\. \S+ finished at")

OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
  xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="{name}-disk1.vmdk" ovf:id="file1" ovf:size="{fsize}"/></References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="{vsize}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1"
      ovf:fileRef="file1"
      ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="{name}"><Info>A virtual machine</Info><Name>{name}</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian10_64Guest"><Info>OS</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection><Info>Virtual hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>2 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>1024MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


def to_vmdk(src, vmdk):
    """src as a streamOptimized VMDK: (its file size, the disk's virtual size)."""
    subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized",
                    src, vmdk], check=True, timeout=900)
    info = subprocess.run(["qemu-img", "info", "--output=json", src], check=True,
                          capture_output=True, text=True).stdout
    return os.path.getsize(vmdk), int(re.search(r'"virtual-size": (\d+)', info).group(1))


def second_disk(ovf, name, fsize, vsize):
    """ovf with a second disk (vmdisk2 in file2, unit 1 of the SCSI controller)."""
    ovf = ovf.replace("</References>", '<File ovf:href="%s-disk2.vmdk" ovf:id="file2" '
                      'ovf:size="%d"/></References>' % (name, fsize))
    ovf = ovf.replace("</DiskSection>", '<Disk ovf:capacity="%d" '
                      'ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk2" '
                      'ovf:fileRef="file2" ovf:format="http://www.vmware.com/interfaces/'
                      'specifications/vmdk.html#streamOptimized"/></DiskSection>' % vsize)
    return ovf.replace("</VirtualHardwareSection>", "<Item><rasd:AddressOnParent>1"
                       "</rasd:AddressOnParent><rasd:ElementName>Hard Disk 2</rasd:ElementName>"
                       "<rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource>"
                       "<rasd:InstanceID>5</rasd:InstanceID><rasd:Parent>3</rasd:Parent>"
                       "<rasd:ResourceType>17</rasd:ResourceType></Item>"
                       "</VirtualHardwareSection>")


def make_ova(src_qcow2, out_dir, name, data=None):
    """An OVA as VMware exports it: the OVF first, then streamOptimized
    VMDKs (src_qcow2's, then data's when given)."""
    files = [name + ".ovf", name + "-disk1.vmdk"]
    fsize, vsize = to_vmdk(src_qcow2, os.path.join(out_dir, files[1]))
    text = OVF.format(name=name, fsize=fsize, vsize=vsize)
    if data:
        files.append(name + "-disk2.vmdk")
        text = second_disk(text, name, *to_vmdk(data, os.path.join(out_dir, files[2])))
    with open(os.path.join(out_dir, files[0]), "w") as f:
        f.write(text)
    ova = os.path.join(out_dir, name + ".ova")
    subprocess.run(["tar", "-C", out_dir, "-cf", ova] + files, check=True, timeout=600)
    for f in files:
        os.unlink(os.path.join(out_dir, f))
    return ova


@pytest.fixture(scope="module")
def ova(cloud_image):
    d = tempfile.mkdtemp(prefix="cg-v2v-ova-")
    os.chmod(d, 0o755)
    path = make_ova(cloud_image, d, "debvm")
    yield d, path
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def v2vgw(ova):
    d, _ = ova
    with qemu_gateway(extra_gateway="import_dirs = %s\n" % d) as gw:
        gw.start()
        yield gw


def task(ec2, tid):
    return ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]


def test_v2v_ova_import_and_boot(v2vgw, ova, tmp_path):
    gw = v2vgw
    ec2 = gw.client()
    _, path = ova
    images_before = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}

    t0 = time.time()
    out = gw.aws("import-image", "--description", "debian from an OVA",
                 "--disk-containers", "Format=OVA,Url=file://" + path)
    tid = out["ImportTaskId"]
    assert out["Status"] == "active", out

    seen, messages = [], set()

    def done():
        t = task(ec2, tid)
        assert t["Status"] in ("active", "completed"), t
        p = int(t.get("Progress", "100" if t["Status"] == "completed" else "0"))
        if not seen or seen[-1] != p:
            seen.append(p)
        messages.add(t.get("StatusMessage", ""))
        return t if t["Status"] == "completed" else None
    t = wait_for("import task %s completed" % tid, done, CONVERT_TIMEOUT, 2)
    t_gateway = time.time() - t0
    print("progress seen: %s" % seen)
    print("status messages: %s" % sorted(messages))
    assert seen == sorted(seen), seen          # never backwards
    middle = [p for p in seen if 0 < p < 100]
    assert len(middle) >= 4, seen               # intermediate values, not 0 then 100
    assert any(m.startswith("converting disk 1/1") for m in messages), messages
    assert any("converting the guest" in m for m in messages), messages
    ami = t["ImageId"]
    gw.images.append(ami)
    assert ami not in images_before
    gw.aws("wait", "image-available", "--image-ids", ami, timeout=600)
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert img["State"] == "available" and img["Description"] == "debian from an OVA"
    tags = {t["Key"]: t["Value"] for t in img.get("Tags", [])}
    # the OVF's 2 vCPUs and 1024 MB, read back from virt-v2v's XML
    assert tags.get("cloudgate:source-vcpus") == "2", tags
    assert tags.get("cloudgate:source-memory-mib") == "1024", tags
    # nothing of the conversion is left next to the pool
    assert v2v_leftovers() == ([], []), v2v_leftovers()
    print("gateway conversion: %.0fs (import-image to completed)" % t_gateway)
    # virt-v2v's whole output is kept in the task's job log
    with open(os.path.join(gw.dir, "state", "jobs", tid + ".log"), errors="replace") as f:
        log = f.read()
    assert "Copying disk 1/1" in log and "Finishing off" in log, log[-3000:]

    # --- it boots, on virtio disks
    iid = run_instance(gw, ami)
    assert_virtio_disks(iid)
    booted = wait_console(gw, iid, BOOTED_RE, BOOT_TIMEOUT, "%s booted" % iid)
    print("console: %s" % booted.group(0))
    gw.aws("terminate-instances", "--instance-ids", iid, timeout=300)

    # --- the same OVA by hand, for the ratio in the note (a second
    # multi-minute conversion: only when measuring)
    if os.environ.get("CG_MEASURE_V2V") != "1":
        print("gateway conversion %.0fs; CG_MEASURE_V2V=1 also times virt-v2v by hand"
              % t_gateway)
        return
    out_dir = tmp_path / "by-hand"
    out_dir.mkdir()
    t0 = time.time()
    r = subprocess.run(["virt-v2v", "-i", "ova", path, "-o", "local", "-os", str(out_dir),
                        "-of", "qcow2", "-on", "byhand"], env=GUESTFS_ENV,
                       capture_output=True, text=True, timeout=CONVERT_TIMEOUT)
    t_hand = time.time() - t0
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print("virt-v2v by hand: %.0fs; gateway import (conversion + copy into the pool + "
          "inspection + publish): %.0fs; ratio %.2f" % (t_hand, t_gateway, t_gateway / t_hand))


@pytest.mark.skipif(os.environ.get("CG_SLOW_V2V") != "1",
                    reason="another multi-minute conversion: set CG_SLOW_V2V=1")
def test_v2v_cancel_midway(v2vgw, ova):
    gw = v2vgw
    ec2 = gw.client()
    _, path = ova
    names_before = pool_names()
    images_before = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}

    tid = ec2.import_image(DiskContainers=[{"Format": "ova", "Url": "file://" + path}])[
        "ImportTaskId"]

    def converting():
        t = task(ec2, tid)
        assert t["Status"] == "active", t
        return "converting" in t.get("StatusMessage", "") and v2v_leftovers()[1]
    wait_for("virt-v2v running for %s" % tid, converting, 900, 1)
    time.sleep(10)  # inside the conversion (the appliance is up)
    assert v2v_leftovers()[0], "no conversion directory while converting"
    out = gw.aws("cancel-import-task", "--import-task-id", tid)
    assert out["State"] == "deleting", out
    wait_for("task %s deleted" % tid, lambda: task(ec2, tid)["Status"] == "deleted", 120, 1)
    assert "cancel" in task(ec2, tid).get("StatusMessage", ""), task(ec2, tid)
    wait_for("no conversion left", lambda: v2v_leftovers() == ([], []), 60, 1)
    assert pool_names() == names_before
    images = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    assert images == images_before


@pytest.mark.skipif(os.environ.get("CG_SLOW_V2V") != "1",
                    reason="another multi-minute conversion: set CG_SLOW_V2V=1")
def test_v2v_sigkill_recovery(v2vgw, ova):
    """The daemon dies (SIGKILL) while virt-v2v runs: virt-v2v, in its own
    process group, outlives it; the restart kills it and removes the
    directory and the pending image."""
    gw = v2vgw
    ec2 = gw.client()
    _, path = ova
    names_before = pool_names()
    images_before = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    tid = ec2.import_image(DiskContainers=[{"Format": "ova", "Url": "file://" + path}])[
        "ImportTaskId"]
    wait_for("virt-v2v running for %s" % tid, lambda: v2v_leftovers()[1], 900, 1)
    time.sleep(10)
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait(timeout=30)
    assert v2v_leftovers()[1], "virt-v2v died with the daemon: nothing to recover"
    gw.start(timeout=180)
    wait_for("recovery removed the conversion", lambda: v2v_leftovers() == ([], []), 120, 1)
    ec2 = gw.client()
    assert task(ec2, tid)["Status"] == "deleted"
    assert pool_names() == names_before
    images = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    assert images == images_before


MARK_OFFSETS = [0, 300 << 20, (1 << 30) - 65536]


def marker_in(path, fmt, pattern):
    """Does the disk file hold pattern[i] at MARK_OFFSETS[i]?  (qemu-io on
    the host, read-only and sharing the image with a running guest.)"""
    for off, p in zip(MARK_OFFSETS, pattern):
        r = subprocess.run(["qemu-io", "-r", "-U", "-f", fmt, "-c",
                            "read -P 0x%02x %d 65536" % (p, off), path],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or "read 65536/65536" not in r.stdout or \
                "verification failed" in r.stdout:
            return False
    return True


@pytest.mark.skipif(os.environ.get("CG_SLOW_V2V") != "1",
                    reason="another multi-minute conversion: set CG_SLOW_V2V=1")
def test_v2v_two_disk_template(v2vgw, ova, cloud_image, tmp_path):
    """A guest with two disks becomes one template: its first disk the
    root, its second the image's /dev/vdb, a completed snapshot (as EC2's
    ImportImage makes), which every instance of the image gets a copy of."""
    gw = v2vgw
    ec2 = gw.client()
    d, _ = ova
    pattern = [0x5a, 0xc3, 0x3c]
    data = str(tmp_path / "data.raw")
    with open(data, "wb") as f:
        f.truncate(1 << 30)
        for off, p in zip(MARK_OFFSETS, pattern):
            f.seek(off)
            f.write(bytes([p]) * 65536)
    assert marker_in(data, "raw", pattern)
    path = make_ova(cloud_image, d, "twodisk", data)
    sid = None
    try:
        tid = ec2.import_image(Description="two disks",
                               DiskContainers=[{"Format": "ova", "Url": "file://" + path}])[
            "ImportTaskId"]

        def done():
            t = task(ec2, tid)
            assert t["Status"] in ("active", "completed"), t
            return t if t["Status"] == "completed" else None
        t = wait_for("import task %s completed" % tid, done, CONVERT_TIMEOUT, 3)
        ami = t["ImageId"]
        gw.images.append(ami)
        with open(os.path.join(gw.dir, "state", "jobs", tid + ".log"), errors="replace") as f:
            log = f.read()
        assert "Copying disk 2/2" in log and "converted disk vdb stored" in log, log[-3000:]
        img = ec2.describe_images(ImageIds=[ami])["Images"][0]
        bdm = {m["DeviceName"]: m["Ebs"] for m in img["BlockDeviceMappings"]}
        assert sorted(bdm) == ["/dev/vda", "/dev/vdb"], bdm
        sid = bdm["/dev/vdb"]["SnapshotId"]
        assert bdm["/dev/vdb"]["VolumeSize"] == 1, bdm
        snap = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        assert snap["State"] == "completed" and snap["VolumeSize"] == 1, snap
        assert snap["Description"] == "Created for %s (vdb)" % ami, snap
        spath = virsh("vol-path", "--pool", "cloudgate", sid + ".qcow2").stdout.strip()
        assert marker_in(spath, "qcow2", pattern)

        iid = run_instance(gw, ami)
        assert_virtio_disks(iid)
        wait_console(gw, iid, BOOTED_RE, BOOT_TIMEOUT, "%s booted" % iid)
        vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                              "Values": [iid]}])["Volumes"]
        assert [(v["Attachments"][0]["Device"], v["SnapshotId"]) for v in vols] == [
            ("/dev/vdb", sid)], vols
        vpath = virsh("vol-path", "--pool", "cloudgate",
                      vols[0]["VolumeId"] + ".qcow2").stdout.strip()
        assert marker_in(vpath, "qcow2", pattern)
        gw.aws("terminate-instances", "--instance-ids", iid, timeout=300)
        wait_for("%s terminated" % iid, lambda: ec2.describe_instances(InstanceIds=[iid])[
            "Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated", 300, 3)
        ec2.deregister_image(ImageId=ami)
        gw.images.remove(ami)
        root = bdm["/dev/vda"].get("SnapshotId")
        if root:
            ec2.delete_snapshot(SnapshotId=root)
    finally:
        os.unlink(path)
        if sid:
            try:
                gw.client().delete_snapshot(SnapshotId=sid)
            except Exception as e:
                print("snapshot %s: %s" % (sid, e))
                virsh("vol-delete", "--pool", "cloudgate", sid + ".qcow2", check=False)
