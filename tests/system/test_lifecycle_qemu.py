"""The whole EC2 lifecycle with the aws CLI on real qemu guests (TCG)."""
import signal
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from cgharness import wait_for
from conftest import system_gateway, virsh


def domains():
    out = virsh("list", "--all", "--name").stdout
    return {l.strip() for l in out.splitlines() if l.strip()}


def running_domains():
    out = virsh("list", "--state-running", "--name").stdout
    return {l.strip() for l in out.splitlines() if l.strip()}


def volumes():
    out = virsh("vol-list", "--pool", "cloudgate").stdout
    return {l.split()[0] for l in out.splitlines()[2:] if l.strip()}


def made_from(ami):
    """Domains and volumes that belong to instances of image ami (other users
    of this libvirtd, e.g. a benchmark, may be creating their own meanwhile)."""
    doms = {d for d in domains() if ami in virsh("dumpxml", d, check=False).stdout}
    vols = {v for v in volumes() if v.startswith("i-") and
            ami in virsh("vol-dumpxml", "--pool", "cloudgate", v, check=False).stdout}
    return doms, vols


def describe(ec2, ids):
    res = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return {i["InstanceId"]: i for r in res for i in r["Instances"]}


def test_lifecycle_on_real_guests(sysgw, tmp_path):
    gw = sysgw
    ec2 = gw.client()
    script = tmp_path / "x.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    out = gw.aws("run-instances", "--image-id", gw.image_id, "--instance-type", "t2.nano",
                 "--count", "2", "--user-data", "file://%s" % script)
    ids = [i["InstanceId"] for i in out["Instances"]]
    gw.launched += ids
    gw.aws("wait", "instance-running", "--instance-ids", *ids, timeout=300)

    # Real qemu processes behind them.
    assert set(ids) <= running_domains()
    for iid in ids:
        xml = virsh("dumpxml", iid).stdout
        assert "type='qemu'" in xml.split("\n")[0]
        assert iid + ".qcow2" in xml
        # The cloud-init seed, a read-only CD-ROM the guest boots with.
        cdroms = [l.split() for l in virsh("domblklist", iid, "--details").stdout.splitlines()
                  if " cdrom " in l]
        assert len(cdroms) == 1 and cdroms[0][2] == "hdc"
        assert cdroms[0][3].endswith("/%s-seed.iso" % iid)
        assert iid + "-seed.iso" in volumes()

    # The guest's DHCP lease shows up as privateIpAddress.
    def ips():
        insts = describe(ec2, ids)
        got = {k: v.get("PrivateIpAddress") for k, v in insts.items()}
        return got if all(got.values()) else None
    addrs = wait_for("DHCP leases", ips, timeout=180, interval=3)
    for iid, ip in addrs.items():
        assert ip.startswith("10.")
        inst = describe(ec2, [iid])[iid]
        assert inst["PrivateDnsName"] == "ip-%s.cloudgate.compute.internal" % ip.replace(".", "-")

    running = gw.aws("describe-instances", "--filters",
                     "Name=instance-state-name,Values=running",
                     "Name=private-ip-address,Values=%s" % addrs[ids[0]])
    assert [i["InstanceId"] for r in running["Reservations"] for i in r["Instances"]] == [ids[0]]

    # Graceful stop (ACPI) of one, forced stop of the other.
    gw.aws("stop-instances", "--instance-ids", ids[0])
    gw.aws("stop-instances", "--force", "--instance-ids", ids[1])
    gw.aws("wait", "instance-stopped", "--instance-ids", *ids, timeout=300)
    assert not (set(ids) & running_domains())
    assert set(ids) <= domains()

    # A gateway restart loses nothing.
    assert gw.stop() == 0
    gw.start()
    ec2 = gw.client()
    states = {k: v["State"]["Name"] for k, v in describe(ec2, ids).items()}
    assert states == {ids[0]: "stopped", ids[1]: "stopped"}

    gw.aws("start-instances", "--instance-ids", ids[0])
    gw.aws("wait", "instance-running", "--instance-ids", ids[0], timeout=300)
    assert ids[0] in running_domains()
    gw.aws("reboot-instances", "--instance-ids", ids[0])
    assert describe(ec2, [ids[0]])[ids[0]]["State"]["Name"] == "running"

    gw.aws("terminate-instances", "--instance-ids", *ids)
    gw.aws("wait", "instance-terminated", "--instance-ids", *ids, timeout=300)
    assert not (set(ids) & domains())
    assert not ({i + ".qcow2" for i in ids} & volumes())
    assert not ({i + "-seed.iso" for i in ids} & volumes())


def test_failed_launch_leaves_nothing(sysgw):
    gw = sysgw
    ec2 = gw.client()
    before = made_from(gw.image_id)
    # More memory than the host has: refused before anything is made.
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=gw.image_id, MinCount=40, MaxCount=40,
                          InstanceType="t2.large")
    assert e.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert made_from(gw.image_id) == before


def test_failed_start_rolls_back(sysgw, demo_guest, tmp_path):
    """qemu itself fails to start the guest (its kernel vanished): the domain,
    the overlay volume and the console log made for it are all removed."""
    import glob
    import os
    import shutil
    gw = sysgw
    kernel = tmp_path / "vmlinuz"
    shutil.copy(os.path.join(demo_guest, "vmlinuz"), kernel)
    r = gw.admin("image-register", "--no-inspect", "--name", "doomed",
                 "--disk", os.path.join(demo_guest, "disk.qcow2"), "--kernel", str(kernel),
                 "--initrd", os.path.join(demo_guest, "initrd.img"))
    ami = r.stdout.strip().split()[-1]
    try:
        copies = glob.glob(os.path.join(gw.dir, "state", "images", ami, "kernel"))
        assert copies, "the template's kernel copy was not found"
        for c in copies:
            os.unlink(c)
        assert made_from(ami) == (set(), set())
        # Answered pending; the launch fails in the zone's worker and the
        # instance ends terminated with EC2's StateReason.
        ec2 = gw.client()
        iid = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                InstanceType="t2.nano")["Instances"][0]["InstanceId"]
        # (botocore's instance_terminated waiter gives up on pending: polled.)
        inst = wait_for("failed launch terminated", lambda: [
            i for r in ec2.describe_instances(InstanceIds=[iid])["Reservations"]
            for i in r["Instances"] if i["State"]["Name"] == "terminated"], 120, 0.5)[0]
        print("StateReason:", inst["StateReason"])
        assert inst["StateReason"]["Code"] == "Server.InternalError"
        assert "kernel" in inst["StateReason"]["Message"]
        assert made_from(ami) == (set(), set())
        assert iid + "-seed.iso" not in volumes()
        logs = os.listdir(os.path.join(gw.dir, "state", "console"))
        leftovers = [l for l in logs if l[:-4] not in gw.launched]
        assert leftovers == []
    finally:
        gw.admin("image-deregister", ami, check=False)


def test_terminate_answered_before_it_ends(demo_guest):
    """With [libvirt] change_wait = 0 TerminateInstances answers at once, as
    EC2 does: shutting-down, then terminated with nothing left.  A gateway
    killed right after such an answer finishes the terminate at its next
    start (its intent was written before the answer)."""
    with system_gateway(demo_guest, "change_wait = 0\n") as gw:
        ec2 = gw.client()
        ids = [i["InstanceId"] for i in ec2.run_instances(
            ImageId=gw.image_id, MinCount=3, MaxCount=3, InstanceType="t2.nano")["Instances"]]
        gw.launched += ids
        gw.aws("wait", "instance-running", "--instance-ids", *ids, timeout=300)
        assert set(ids) <= running_domains()

        t0 = time.monotonic()
        r = ec2.terminate_instances(InstanceIds=ids[:2])["TerminatingInstances"]
        print("\nTerminateInstances of 2 running answered in %.2f s" % (time.monotonic() - t0))
        assert {c["InstanceId"]: (c["PreviousState"]["Name"], c["CurrentState"]["Name"])
                for c in r} == {i: ("running", "shutting-down") for i in ids[:2]}
        gw.aws("wait", "instance-terminated", "--instance-ids", *ids[:2], timeout=300)
        assert not (set(ids[:2]) & domains())
        assert not ({i + ".qcow2" for i in ids[:2]} & volumes())
        assert not ({i + "-seed.iso" for i in ids[:2]} & volumes())

        # Killed right after the answer: the terminate is finished at start.
        [c] = ec2.terminate_instances(InstanceIds=[ids[2]])["TerminatingInstances"]
        assert c["CurrentState"]["Name"] == "shutting-down"
        gw.proc.send_signal(signal.SIGKILL)   # our own child, by PID
        gw.proc.wait()
        gw.start()
        ec2 = gw.client()
        wait_for("the killed terminate finished", lambda: describe(ec2, [ids[2]])[ids[2]]
                 ["State"]["Name"] == "terminated", timeout=120, interval=1)
        assert ids[2] not in domains()
        assert not ({ids[2] + ".qcow2", ids[2] + "-seed.iso"} & volumes())
        assert "finished terminating instance %s" % ids[2] in gw.log_text() or \
            "instance %s terminated" % ids[2] in gw.log_text()
