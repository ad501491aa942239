"""cloudgate-admin v2v-import of a VM from another libvirt connection (the
seed's "KVM via libvirt" case), as a locked instance, on qemu:///system
(TCG):

    a copy of the Debian cloud image as the disk of a stopped domain defined
    here with virsh, outside cloudgate -> v2v-add --uri qemu:///system ->
    cloudgate-admin v2v-import PROVIDER VM --as instance (in the background)
    -> while virt-v2v runs: DescribeInstances shows the new instance
    "pending", StopInstances and TerminateInstances answer
    IncorrectInstanceState (boto3 and the aws CLI) -> the command ends with
    the instance id -> the instance is running on virtio disks and its
    serial console shows a login prompt or cloud-init -> terminated.

One conversion of about 12 minutes under TCG: behind CG_SLOW_V2V=1 (CI
keeps only the OVA conversion).  The source domain, its disk, the provider
and the instance are removed whatever happens."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import botocore.exceptions
import pytest

from cgharness import ADMIN, Gateway, wait_for
from conftest import virsh

pytestmark = pytest.mark.skipif(os.environ.get("CG_SLOW_V2V") != "1",
                                reason="a multi-minute conversion: set CG_SLOW_V2V=1")

POOL = "cloudgate"
CONVERT_TIMEOUT = 3000
BOOT_TIMEOUT = 900
BOOTED_RE = re.compile(r"login: |Cloud-init v\. \S+ finished at")
GUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                   LIBGUESTFS_BACKEND_SETTINGS="force_tcg")

SOURCE_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'/>
  </devices>
</domain>
"""


def console(gw, iid):
    r = gw.aws("get-console-output", "--instance-id", iid, "--query", "Output",
               "--output", "text", check=False, timeout=60)
    return r.stdout if r.returncode == 0 else ""


def refused(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


@pytest.fixture
def source_vm(cloud_image):
    """A stopped domain on qemu:///system that cloudgate did not make."""
    d = tempfile.mkdtemp(prefix="cg-v2v-src-")
    os.chmod(d, 0o755)
    name = "cgv2v-src-" + uuid.uuid4().hex[:8]
    disk = os.path.join(d, name + ".qcow2")
    shutil.copyfile(cloud_image, disk)
    xml = os.path.join(d, name + ".xml")
    with open(xml, "w") as f:
        f.write(SOURCE_XML.format(name=name, disk=disk))
    virsh("define", xml)
    try:
        yield name
    finally:
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def v2vgw():
    gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu")
    gw.launched = []
    gw.start()
    try:
        yield gw
    finally:
        if gw.launched and gw.proc and gw.proc.poll() is None:
            gw.aws("terminate-instances", "--instance-ids", *gw.launched, check=False)
        gw.stop()
        for iid in gw.launched:
            virsh("destroy", iid, check=False)
            virsh("undefine", iid, "--nvram", check=False)
            virsh("vol-delete", "--pool", POOL, iid + ".qcow2", check=False)


def test_v2v_import_libvirt_vm_as_locked_instance(v2vgw, source_vm, tmp_path):
    gw = v2vgw
    ec2 = gw.client()
    gw.admin("v2v-add", "kvmhost", "--uri", "qemu:///system")
    vms = gw.admin("v2v-vms", "kvmhost").stdout
    assert source_vm in vms and "shut off" in vms, vms
    # Other instances may share qemu:///system: ours is found by its Name only.
    label = "from-kvm-" + uuid.uuid4().hex[:8]

    out_path, err_path = tmp_path / "import.out", tmp_path / "import.err"
    t0 = time.time()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([ADMIN, "-c", gw.conf, "v2v-import", "kvmhost", source_vm,
                                 "--as", "instance", "--name", label],
                                stdout=out, stderr=err, env=GUESTFS_ENV)
    try:
        def new_instance():
            now = [i for r in ec2.describe_instances(
                Filters=[{"Name": "tag:Name", "Values": [label]}])["Reservations"]
                for i in r["Instances"]]
            return now[0] if now else None
        inst = wait_for("the locked instance", new_instance, 120, 1)
        iid = inst["InstanceId"]
        gw.launched.append(iid)
        assert inst["State"]["Name"] == "pending", inst
        assert {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("Name") == label
        assert virsh("domstate", iid).stdout.strip() == "shut off"

        # while the conversion runs, every action is refused
        wait_for("virt-v2v running", lambda: subprocess.run(
            ["pgrep", "-f", "virt-v2v -i libvirt"], capture_output=True).returncode == 0, 300, 1)
        assert refused(lambda: ec2.stop_instances(InstanceIds=[iid])) == \
            "IncorrectInstanceState"
        assert refused(lambda: ec2.terminate_instances(InstanceIds=[iid])) == \
            "IncorrectInstanceState"
        assert refused(lambda: ec2.start_instances(InstanceIds=[iid])) == \
            "IncorrectInstanceState"
        r = gw.aws("stop-instances", "--instance-ids", iid, check=False)
        assert r.returncode != 0 and "IncorrectInstanceState" in r.stderr, r.stderr
        r = gw.aws("terminate-instances", "--instance-ids", iid, check=False)
        assert r.returncode != 0 and "IncorrectInstanceState" in r.stderr, r.stderr
        state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert state["State"]["Name"] == "pending", state

        rc = proc.wait(timeout=CONVERT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.terminate()   # ours, by its PID: cancels and rolls back
            proc.wait(timeout=300)
    took = time.time() - t0
    out, err = out_path.read_text(), err_path.read_text()
    print("v2v-import took %.0fs\n%s" % (took, out[-2000:]))
    assert rc == 0, err[-3000:] + out[-3000:]
    assert "%s\t%s" % (source_vm, iid) in out, out
    assert re.search(r"\d+% ", out), out   # plain progress lines (not a terminal)

    # unlocked and started, on virtio disks
    gw.aws("wait", "instance-running", "--instance-ids", iid, timeout=300)
    dom = virsh("dumpxml", iid).stdout
    disks = re.findall(r"<disk type='file' device='disk'>.*?</disk>", dom, re.S)
    assert disks and all("bus='virtio'" in d for d in disks), dom
    assert iid + ".qcow2" in virsh("vol-list", "--pool", POOL).stdout
    try:
        wait_for("%s booted" % iid, lambda: BOOTED_RE.search(console(gw, iid)), BOOT_TIMEOUT, 5)
    except AssertionError:
        print(console(gw, iid)[-4000:])
        raise
    print("console: %s" % BOOTED_RE.search(console(gw, iid)).group(0))
    # no conversion directory left next to the pool
    pool_dir = re.search(r"<path>([^<]+)</path>",
                         virsh("pool-dumpxml", POOL).stdout).group(1)
    assert not [n for n in os.listdir(pool_dir) if n.startswith(".cg-v2v-")]
    gw.aws("terminate-instances", "--instance-ids", iid, timeout=300)
    gw.admin("v2v-remove", "kvmhost")
