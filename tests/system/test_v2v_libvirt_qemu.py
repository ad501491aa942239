"""cloudgate-admin v2v-import of a VM from another libvirt connection (the
seed's "KVM via libvirt" case), as a locked instance, on qemu:///system
(TCG):

    a copy of the Debian cloud image as the disk of a stopped domain defined
    here with virsh, outside cloudgate, with a second 64 MiB data disk
    holding a byte pattern -> v2v-add --uri qemu:///system ->
    cloudgate-admin v2v-import PROVIDER VM --as instance (in the background)
    -> while virt-v2v runs: DescribeInstances shows the new instance
    "pending", StopInstances and TerminateInstances answer
    IncorrectInstanceState (boto3 and the aws CLI) -> the command ends with
    the instance id -> the instance is running on virtio disks, the data
    disk is an EBS volume (DescribeVolumes: in-use, /dev/vdb,
    DeleteOnTermination; in the domain as vdb; the pattern intact) and its
    serial console shows a login prompt or cloud-init -> terminated, the
    volume with it.

The same VM imported through CIMI's machines import operation (a Job, the
locked Machine answering 409, then STARTED): also behind CG_SLOW_V2V=1.

One conversion of about 12 minutes under TCG: behind CG_SLOW_V2V=1 (CI
keeps only the OVA conversion).  The source domain, its disk, the provider
and the instance are removed whatever happens.

Two shorter tests (no real conversion: the source's disk is blank, so
virt-v2v would fail at inspection; it is interrupted before that) show the
undo paths: SIGINT to cloudgate-admin cancels the job and removes the
locked instance, its volume and the conversion directory; SIGKILL leaves
them, and the daemon's next start removes them (recovery).  A third, behind
CG_SLOW_V2V=1, kills cloudgate-admin once the converted data disk is an
EBS volume of the still locked instance: recovery removes that too."""
import os
import re
import shutil
import subprocess
import tempfile
import signal
import time
import uuid

import botocore.exceptions
import pytest
import requests

from cgharness import ADMIN, wait_for
from conftest import (GUESTFS_ENV, POOL, assert_virtio_disks, pool_dir, pool_names, qemu_gateway,
                      run_instance, v2v_leftovers, virsh, wait_console)

slow = pytest.mark.skipif(os.environ.get("CG_SLOW_V2V") != "1",
                          reason="a multi-minute conversion: set CG_SLOW_V2V=1")

CONVERT_TIMEOUT = 3000
BOOT_TIMEOUT = 900
BOOTED_RE = re.compile(r"login: |Cloud-init v\. \S+ finished at")

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
    </disk>{data}
    <serial type='pty'/>
  </devices>
</domain>
"""


def refused(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


DATA_XML = """
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vdb' bus='virtio'/>
    </disk>"""
# The data disk: 64 MiB, blank but for this pattern (no file system, so
# neither virt-v2v nor the booting guest touches it): it must arrive intact.
DATA_PATTERN = ("0xa5", "1M", "64k")


def define_source(make_disk, data_disk=False):
    """A stopped domain on qemu:///system that cloudgate did not make; with
    data_disk a second disk (vdb) holding DATA_PATTERN."""
    d = tempfile.mkdtemp(prefix="cg-v2v-src-")
    os.chmod(d, 0o755)
    name = "cgv2v-src-" + uuid.uuid4().hex[:8]
    disk = os.path.join(d, name + ".qcow2")
    make_disk(disk)
    data = ""
    if data_disk:
        data_path = os.path.join(d, name + "-data.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", data_path, "64M"], check=True)
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P %s %s %s" % DATA_PATTERN,
                        data_path], check=True, capture_output=True)
        data = DATA_XML.format(disk=data_path)
    xml = os.path.join(d, name + ".xml")
    with open(xml, "w") as f:
        f.write(SOURCE_XML.format(name=name, disk=disk, data=data))
    virsh("define", xml)
    return name, d


def remove_source(name, d):
    virsh("destroy", name, check=False)
    virsh("undefine", name, check=False)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def source_vm(cloud_image):
    name, d = define_source(lambda disk: shutil.copyfile(cloud_image, disk))
    try:
        yield name
    finally:
        remove_source(name, d)


@pytest.fixture
def two_disk_vm(cloud_image):
    """The Debian guest with a second, data disk."""
    name, d = define_source(lambda disk: shutil.copyfile(cloud_image, disk), data_disk=True)
    try:
        yield name
    finally:
        remove_source(name, d)


@pytest.fixture
def blank_vm():
    name, d = define_source(lambda disk: subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"], check=True))
    try:
        yield name
    finally:
        remove_source(name, d)


@pytest.fixture
def v2vgw():
    with qemu_gateway() as gw:
        gw.start()
        yield gw


def assert_data_volume(gw, iid):
    """The source's second disk is an EBS volume: in-use, attached to iid at
    /dev/vdb with DeleteOnTermination (boto3 and the aws CLI agree), in the
    domain as vdb, and holding the source's bytes.  Returns its id."""
    ec2 = gw.client()
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                          "Values": [iid]}])["Volumes"]
    assert len(vols) == 1, vols
    v = vols[0]
    assert v["State"] == "in-use" and v["Size"] == 1, v       # 64 MiB, shown in GiB
    att = v["Attachments"]
    assert [(a["InstanceId"], a["Device"], a["State"], a["DeleteOnTermination"])
            for a in att] == [(iid, "/dev/vdb", "attached", True)], att
    cli = gw.aws("describe-volumes", "--volume-ids", v["VolumeId"])["Volumes"][0]
    assert cli["State"] == "in-use" and cli["Attachments"][0]["Device"] == "/dev/vdb", cli
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    # (the root /dev/vda is listed without a volume id: it is no vol-)
    mapped = {m["DeviceName"]: m["Ebs"].get("VolumeId") for m in inst["BlockDeviceMappings"]}
    assert mapped.get("/dev/vdb") == v["VolumeId"], mapped
    blk = virsh("domblklist", iid).stdout
    path = re.search(r"^\s*vdb\s+(\S+)$", blk, re.M)
    assert path and path.group(1).endswith("/%s.qcow2" % v["VolumeId"]), blk
    # read beside the running guest (-U: qemu holds the image's lock)
    r = subprocess.run(["qemu-io", "-U", "-r", "-f", "qcow2", "-c",
                        "read -P %s %s %s" % DATA_PATTERN, path.group(1)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Pattern verification failed" not in r.stdout, r.stdout
    return v["VolumeId"]


@slow
def test_v2v_import_libvirt_vm_as_locked_instance(v2vgw, two_disk_vm, tmp_path):
    """The source has a second disk: it becomes an EBS volume at /dev/vdb."""
    source_vm = two_disk_vm
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

    # unlocked and started, on virtio disks, the data disk a volume
    gw.aws("wait", "instance-running", "--instance-ids", iid, timeout=300)
    assert_virtio_disks(iid)
    assert iid + ".qcow2" in virsh("vol-list", "--pool", POOL).stdout
    vol = assert_data_volume(gw, iid)
    booted = wait_console(gw, iid, BOOTED_RE, BOOT_TIMEOUT, "%s booted" % iid)
    print("console: %s" % booted.group(0))
    # no conversion directory left next to the pool
    assert not v2v_leftovers()[0]
    gw.aws("terminate-instances", "--instance-ids", iid, timeout=300)
    # DeleteOnTermination: the volume goes with the instance
    assert not [v for v in ec2.describe_volumes()["Volumes"] if v["VolumeId"] == vol]
    assert vol + ".qcow2" not in virsh("vol-list", "--pool", POOL).stdout
    gw.admin("v2v-remove", "kvmhost")


@slow
def test_v2v_import_libvirt_vm_as_template(v2vgw, source_vm):
    """--as template: an AMI through the ImportImage job (virt-v2v -i libvirt),
    seen by DescribeImportImageTasks, launchable, booting on virtio."""
    gw = v2vgw
    ec2 = gw.client()
    gw.admin("v2v-add", "kvmhost", "--uri", "qemu:///system")
    name = "kvm-tpl-" + uuid.uuid4().hex[:8]
    r = subprocess.run([ADMIN, "-c", gw.conf, "v2v-import", "kvmhost", source_vm, "--as",
                        "template", "--name", name], capture_output=True, text=True,
                       env=GUESTFS_ENV, timeout=CONVERT_TIMEOUT)
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    ami = r.stdout.strip().splitlines()[-1].split("\t")[1]
    assert ami.startswith("ami-"), r.stdout
    gw.images.append(ami)   # the fixture deregisters it and removes its volume
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert img["State"] == "available" and img["Name"] == name, img
    tags = {t["Key"]: t["Value"] for t in img.get("Tags", [])}
    assert tags.get("cloudgate:source-vcpus") == "1", tags      # SOURCE_XML's
    assert tags.get("cloudgate:source-memory-mib") == "1024", tags
    tasks = ec2.describe_import_image_tasks()["ImportImageTasks"]
    assert [t for t in tasks if t.get("ImageId") == ami and t["Status"] == "completed"]
    iid = run_instance(gw, ami)
    assert_virtio_disks(iid)
    wait_console(gw, iid, BOOTED_RE, BOOT_TIMEOUT, "%s booted" % iid)
    gw.aws("terminate-instances", "--instance-ids", iid, timeout=300)


CIMI_NS = "http://schemas.dmtf.org/cimi/1"
CIMI_JSON = {"Accept": "application/json"}


def cimi_get(gw, href):
    r = requests.get(href, auth=(gw.key_id, gw.secret), headers=CIMI_JSON, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def cimi_post(gw, href, body):
    return requests.post(href, json=body, auth=(gw.key_id, gw.secret), headers=CIMI_JSON,
                         timeout=120)


@slow
def test_cimi_import_libvirt_vm_as_machine(v2vgw, source_vm):
    """The same source VM through CIMI: the machines collection's import
    operation (found from its operations) -> 202 with the Job -> the job's
    targetResource is the locked Machine (CREATING, no operations; DELETE
    and stop 409, EC2 IncorrectInstanceState) -> the Job (also in
    cloudgate-admin jobs) reaches SUCCESS at 100 -> the machine STARTED, on
    virtio disks, booted -> DELETE accepted."""
    gw = v2vgw
    ec2 = gw.client()
    gw.admin("v2v-add", "kvmhost", "--uri", "qemu:///system")
    coll = cimi_get(gw, gw.endpoint + "/cimi/machines")
    href = [o["href"] for o in coll["operations"] if o["rel"] == CIMI_NS + "/action/import"][0]
    label = "cimi-kvm-" + uuid.uuid4().hex[:8]
    t0 = time.time()
    r = cimi_post(gw, href, {
        "resourceURI": CIMI_NS + "/Action", "action": CIMI_NS + "/action/import",
        "source": "v2v://kvmhost/" + source_vm, "name": label,
        "machineConfig": {"href": gw.endpoint + "/cimi/machineConfigs/t2.small"},
        "properties": {"display": "headless"}})
    assert r.status_code == 202, r.text
    job_uri = r.headers["CIMI-Job-URI"]
    assert r.headers["Location"] == job_uri
    job_id = job_uri.rsplit("/", 1)[1]
    gw.jobs.append(job_id)
    assert job_id in gw.admin("jobs").stdout   # one job record for CIMI, EC2 and the CLI

    def target():
        return cimi_get(gw, job_uri).get("targetResource", {}).get("href")
    machine = wait_for("the locked machine", target, 300, 1)
    iid = machine.rsplit("/", 1)[1]
    gw.launched.append(iid)
    m = cimi_get(gw, machine)
    assert m["state"] == "CREATING" and not m.get("operations"), m
    assert m["name"] == label and m["properties"]["job"] == job_uri, m
    r = requests.delete(machine, auth=(gw.key_id, gw.secret), headers=CIMI_JSON, timeout=60)
    assert r.status_code == 409, r.text
    r = cimi_post(gw, machine, {"resourceURI": CIMI_NS + "/Action",
                                "action": CIMI_NS + "/action/stop"})
    assert r.status_code == 409, r.text
    assert refused(lambda: ec2.terminate_instances(InstanceIds=[iid])) == \
        "IncorrectInstanceState"

    seen = set()

    def done():
        j = cimi_get(gw, job_uri)
        seen.add(j["progress"])
        return j if j["state"] in ("SUCCESS", "FAILED", "CANCELLED") else None
    job = wait_for("the import job", done, CONVERT_TIMEOUT, 5)
    print("CIMI import took %.0fs, progress seen %s" % (time.time() - t0, sorted(seen)))
    assert job["state"] == "SUCCESS" and job["progress"] == 100, job
    assert len(seen) > 2, seen

    gw.aws("wait", "instance-running", "--instance-ids", iid, timeout=300)
    m = cimi_get(gw, machine)
    assert m["state"] == "STARTED" and "job" not in m.get("properties", {}), m
    assert m["memory"] == 2048 * 1024, m   # t2.small's, not the source's 1024 MiB
    assert_virtio_disks(iid)
    assert "<graphics" not in virsh("dumpxml", iid).stdout   # headless
    wait_console(gw, iid, BOOTED_RE, BOOT_TIMEOUT, "%s booted" % iid)
    r = requests.delete(machine, auth=(gw.key_id, gw.secret), headers=CIMI_JSON, timeout=60)
    assert r.status_code == 202, r.text
    gw.admin("v2v-remove", "kvmhost")



def start_import(gw, vm, label, tmp_path, env=GUESTFS_ENV):
    gw.admin("v2v-add", "kvmhost", "--uri", "qemu:///system")
    out = open(tmp_path / "import.out", "w")
    proc = subprocess.Popen([ADMIN, "-c", gw.conf, "v2v-import", "kvmhost", vm, "--name", label],
                            stdout=out, stderr=subprocess.STDOUT, env=env)
    out.close()
    ec2 = gw.client()

    def ours():
        now = [i for r in ec2.describe_instances(
            Filters=[{"Name": "tag:Name", "Values": [label]}])["Reservations"]
            for i in r["Instances"]]
        return now[0] if now else None
    inst = wait_for("the locked instance", ours, 120, 0.5)
    gw.launched.append(inst["InstanceId"])
    job = [line.split("\t") for line in gw.admin("jobs").stdout.splitlines()]
    job = [j for j in job if j[1] == "import-instance" and j[4] == inst["InstanceId"]][0][0]
    gw.jobs.append(job)
    wait_for("virt-v2v running", lambda: v2v_leftovers(job)[1], 300, 0.5)
    return proc, inst, job


def gone(gw, iid):
    """No domain, no root volume, and the instance not live in DescribeInstances."""
    virsh("pool-refresh", POOL, check=False)
    listed = [i for r in gw.client().describe_instances()["Reservations"]
              for i in r["Instances"] if i["InstanceId"] == iid
              and i["State"]["Name"] != "terminated"]
    return (virsh("domstate", iid, check=False).returncode != 0 and not listed and
            iid + ".qcow2" not in virsh("vol-list", "--pool", POOL).stdout)


def test_v2v_import_interrupted_rolls_back(v2vgw, blank_vm, tmp_path):
    """Also: cloudgate-admin run without LIBGUESTFS_* in its environment
    gives virt-v2v the daemon's libguestfs settings for a qemu (TCG) zone."""
    gw = v2vgw
    bare = {k: v for k, v in os.environ.items() if not k.startswith("LIBGUESTFS_")}
    proc, inst, job = start_import(gw, blank_vm, "cg-int-" + uuid.uuid4().hex[:8], tmp_path,
                                   env=bare)
    iid = inst["InstanceId"]
    assert inst["State"]["Name"] == "pending"
    pid = v2v_leftovers(job)[1][0]
    with open("/proc/%s/environ" % pid, "rb") as f:
        env = f.read().split(b"\0")
    assert b"LIBGUESTFS_BACKEND=direct" in env and \
        b"LIBGUESTFS_BACKEND_SETTINGS=force_tcg" in env, env
    assert v2v_leftovers(job)[0], "no conversion directory while converting"
    proc.send_signal(signal.SIGINT)     # ours, by its PID
    assert proc.wait(timeout=300) == 130, (tmp_path / "import.out").read_text()
    wait_for("the instance removed", lambda: gone(gw, iid), 120, 1)
    wait_for("no conversion left", lambda: v2v_leftovers(job) == ([], []), 120, 1)
    row = [line.split("\t") for line in gw.admin("jobs").stdout.splitlines()
           if line.startswith(job)][0]
    assert row[2] == "CANCELLED", row


def test_v2v_import_sigkill_recovered_at_start(v2vgw, blank_vm, tmp_path):
    gw = v2vgw
    proc, inst, job = start_import(gw, blank_vm, "cg-kill-" + uuid.uuid4().hex[:8], tmp_path)
    iid = inst["InstanceId"]
    proc.send_signal(signal.SIGKILL)    # ours, by its PID
    proc.wait(timeout=30)
    # the admin process is gone: its instance stays locked, its directory stays
    ec2 = gw.client()
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "pending", state
    # a stable window for every refusal: nothing ends the lock but a restart
    for call in (lambda: ec2.terminate_instances(InstanceIds=[iid]),
                 lambda: ec2.reboot_instances(InstanceIds=[iid]),
                 lambda: ec2.modify_instance_attribute(InstanceId=iid,
                                                       DisableApiTermination={"Value": True}),
                 lambda: ec2.create_image(InstanceId=iid, Name="from-locked")):
        try:
            call()
            code = "accepted"
        except botocore.exceptions.ClientError as e:
            code = e.response["Error"]["Code"]
        assert code == "IncorrectInstanceState", (call.__code__.co_firstlineno, code)
    r = gw.aws("reboot-instances", "--instance-ids", iid, check=False)
    assert r.returncode != 0 and "IncorrectInstanceState" in r.stderr, r.stderr
    auth, json_h = (gw.key_id, gw.secret), {"Accept": "application/json",
                                            "Content-Type": "application/json"}
    ns = "http://schemas.dmtf.org/cimi/1"
    r = requests.post(gw.endpoint + "/cimi/machines/" + iid, auth=auth, headers=json_h,
                      timeout=30, data='{"resourceURI": "%s/Action", "action": "%s/action/stop"}'
                      % (ns, ns))
    assert r.status_code == 409, (r.status_code, r.text)
    # A locked machine refuses DELETE at once (no job is made)
    r = requests.delete(gw.endpoint + "/cimi/machines/" + iid, auth=auth, headers=json_h,
                        timeout=30)
    assert r.status_code == 409 and "CIMI-Job-URI" not in r.headers, (r.status_code, r.text)
    assert "being imported" in r.text, r.text
    assert iid + ".qcow2" not in virsh("vol-list", "--pool", POOL).stdout
    assert not [i for i in ec2.describe_images(Owners=["self"])["Images"]
                if i["Name"] == "from-locked"]
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "pending" and not state.get("DisableApiTermination")
    assert v2v_leftovers(job)[0]
    gw.stop()
    gw.start(timeout=180)
    wait_for("recovery removed the instance", lambda: gone(gw, iid), 180, 1)
    wait_for("recovery removed the conversion", lambda: v2v_leftovers(job) == ([], []),
             120, 1)
    row = [line.split("\t") for line in gw.admin("jobs").stdout.splitlines()
           if line.startswith(job)][0]
    assert row[2] == "FAILED", row


@slow
def test_v2v_import_sigkill_after_data_volumes(v2vgw, two_disk_vm, tmp_path):
    """SIGKILL of cloudgate-admin after the conversion, once the data disk is
    in the pool as the locked instance's volume and before the instance is
    unlocked: the next start removes the instance, its root volume and the
    data volume (file and row), and the job ends FAILED."""
    gw = v2vgw
    ec2 = gw.client()
    names_before = pool_names()
    proc, inst, job = start_import(gw, two_disk_vm, "cg-kill2-" + uuid.uuid4().hex[:8], tmp_path)
    iid = inst["InstanceId"]
    pdir = pool_dir()

    def data_volume_adopted():
        assert proc.poll() is None, "the import ended before a data volume was seen: " + \
            (tmp_path / "import.out").read_text()[-2000:]
        # frozen while we look, so that what is seen is what the kill leaves
        os.kill(proc.pid, signal.SIGSTOP)       # ours, by its PID
        vols = [n for n in set(os.listdir(pdir)) - names_before
                if n.startswith("vol-") and n.endswith(".qcow2")]
        if vols:
            return vols
        os.kill(proc.pid, signal.SIGCONT)
        return None
    try:
        vols = wait_for("the data disk adopted as a volume", data_volume_adopted,
                        CONVERT_TIMEOUT, 0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            proc.wait(timeout=300)
    vid = vols[0][:-len(".qcow2")]
    state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "pending", state   # still locked
    print("killed with %s in the pool; the volume row %s" % (
        vols, "written" if [v for v in ec2.describe_volumes()["Volumes"]
                            if v["VolumeId"] == vid] else "not yet written"))
    gw.stop()
    gw.start(timeout=180)
    wait_for("recovery removed the instance", lambda: gone(gw, iid), 180, 1)
    wait_for("recovery removed the conversion", lambda: v2v_leftovers(job) == ([], []),
             120, 1)
    assert pool_names() == names_before, pool_names() - names_before
    ec2 = gw.client()
    assert not [v for v in ec2.describe_volumes()["Volumes"]
                if v["VolumeId"] == vid or
                any(a["InstanceId"] == iid for a in v.get("Attachments", []))]
    row = [line.split("\t") for line in gw.admin("jobs").stdout.splitlines()
           if line.startswith(job)][0]
    assert row[2] == "FAILED", row
    gw.admin("v2v-remove", "kvmhost")
