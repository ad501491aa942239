"""Sealing on a real Debian guest (TCG), through the aws CLI and boto3:

    run-instances -> cloud-init gives the guest its identity (machine-id,
    SSH host keys, hostname = instance id) -> stop -> create-image with
    TagSpecification cloudgate:seal=true -> wait image-available ->
    guestfish (read-only) on the template: /etc/machine-id empty, no SSH
    host keys, hostname reset -> run-instances from it -> the new guest
    boots and makes its own identity (new machine-id, new host keys, its
    own hostname).

Then crash safety: create-image with sealing again, SIGKILL the daemon while
virt-sysprep runs, restart: the image is gone and no volume of it is left
in the pool, and no virt-sysprep is left running.

Every wait is bounded; guestfish and virt-sysprep run under TCG here (the
appliance boots without KVM), so the bounds are generous.  Timings print
with -s: the seal's duration sits next to virt-sysprep run by hand on a
copy of the same disk (bench numbers for the note)."""
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from cgharness import wait_for
from conftest import (GUESTFS_ENV, POOL, pool_names, qemu_gateway, run_instance, virsh,
                      wait_console)

BOOT_TIMEOUT = 600
SEAL_TIMEOUT = 1200
FINISHED_RE = re.compile(r"Cloud-init v\. \S+ finished at")


@pytest.fixture(scope="module")
def sealgw(cloud_image):
    with qemu_gateway() as gw:
        r = gw.admin("image-register", "--name", "debian-seal-src", "--disk", cloud_image)
        gw.image_id = r.stdout.strip().split()[-1]
        gw.images.append(gw.image_id)
        gw.start()
        yield gw


def state(gw, iid):
    out = gw.aws("describe-instances", "--instance-ids", iid, timeout=60)
    return out["Reservations"][0]["Instances"][0]["State"]["Name"]


def boot_and_stop(gw, image_id):
    """Launch, wait for cloud-init's finished line, stop.  The instance id."""
    t0 = time.time()
    iid = run_instance(gw, image_id)
    wait_console(gw, iid, FINISHED_RE, BOOT_TIMEOUT, "cloud-init finished on %s" % iid)
    print("%s booted (cloud-init finished) in %.0fs" % (iid, time.time() - t0))
    gw.aws("stop-instances", "--instance-ids", iid, timeout=300)
    wait_for("%s stopped" % iid, lambda: state(gw, iid) == "stopped", 300, 3)
    return iid


def identity(disk):
    """machine-id, SSH host public keys and hostname of a disk (read-only)."""
    script = ("-cat /etc/machine-id\necho ---\n-cat /etc/hostname\necho ---\n"
              "-glob cat /etc/ssh/ssh_host_*_key.pub\n")
    r = subprocess.run(["guestfish", "--ro", "--format=qcow2", "-a", disk, "-m", "/dev/sda1"],
                       input=script, env=GUESTFS_ENV, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0 or "---" in r.stdout, r.stderr[-2000:]
    parts = r.stdout.split("---\n")
    assert len(parts) == 3, r.stdout
    keys = sorted(line for line in parts[2].splitlines() if line.startswith("ssh-"))
    return parts[0].strip(), parts[1].strip(), keys


def vol_path(name):
    return virsh("vol-path", "--pool", POOL, name).stdout.strip()


def test_seal_then_boot_then_sigkill(sealgw, tmp_path):
    gw = sealgw
    ec2 = gw.client()

    src = boot_and_stop(gw, gw.image_id)
    mid, host, keys = identity(vol_path(src + ".qcow2"))
    print("source: machine-id %s, hostname %s, %d host keys" % (mid, host, len(keys)))
    assert re.fullmatch(r"[0-9a-f]{32}", mid) and host == src and keys

    # --- seal by hand on a copy of the same disk, for the timing comparison
    hand = tmp_path / "by-hand.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", vol_path(src + ".qcow2"), str(hand)],
                   check=True, timeout=600)
    t0 = time.time()
    r = subprocess.run(["virt-sysprep", "--format", "qcow2", "-a", str(hand)], env=GUESTFS_ENV,
                       capture_output=True, text=True, timeout=SEAL_TIMEOUT)
    t_hand = time.time() - t0
    assert r.returncode == 0, r.stderr[-2000:]
    hand.unlink()

    # --- CreateImage with sealing, through the aws CLI
    t0 = time.time()
    out = gw.aws("create-image", "--instance-id", src, "--name", "sealed-debian",
                 "--tag-specifications",
                 "ResourceType=image,Tags=[{Key=cloudgate:seal,Value=true},{Key=team,Value=qa}]")
    ami = out["ImageId"]
    gw.images.append(ami)
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["State"] == "pending"
    gw.aws("wait", "image-available", "--image-ids", ami, timeout=SEAL_TIMEOUT,
           extra_env={"AWS_MAX_ATTEMPTS": "200"})
    t_seal = time.time() - t0
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    tags = {t["Key"]: t["Value"] for t in img["Tags"]}
    print("create-image with sealing: %.0fs (copy + inspection + virt-sysprep + publish); "
          "virt-sysprep by hand on the same disk: %.0fs; ratio %.2f"
          % (t_seal, t_hand, t_seal / t_hand))
    assert tags.get("team") == "qa" and "cloudgate:seal" not in tags
    assert tags.get("cloudgate:os", "").startswith("linux/debian/12"), tags
    assert img["PlatformDetails"] == "Linux/UNIX"

    smid, shost, skeys = identity(vol_path(ami + ".qcow2"))
    print("sealed: machine-id %r, hostname %r, %d host keys" % (smid, shost, len(skeys)))
    assert smid == "" and skeys == [] and shost != src

    # --- a machine from the sealed template makes its own identity
    child = boot_and_stop(gw, ami)
    cmid, chost, ckeys = identity(vol_path(child + ".qcow2"))
    assert re.fullmatch(r"[0-9a-f]{32}", cmid) and cmid != mid
    assert chost == child
    assert ckeys and set(ckeys).isdisjoint(keys)

    # --- SIGKILL while virt-sysprep runs: nothing of the image stays.  With
    # a volume attached, whose snapshot is the image's second disk: sealed
    # together with the root (one virt-sysprep on both), and removed too.
    vid = ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)["VolumeId"]
    try:
        ec2.attach_volume(VolumeId=vid, InstanceId=src, Device="/dev/vdb")
        killed_while_sealing(gw, ec2, src)
    finally:
        try:
            ec2 = gw.client()
            ec2.detach_volume(VolumeId=vid)
            ec2.delete_volume(VolumeId=vid)
        except Exception as e:
            print("volume %s: %s" % (vid, e))
            virsh("vol-delete", "--pool", POOL, vid + ".qcow2", check=False)


def killed_while_sealing(gw, ec2, src):
    out = gw.aws("create-image", "--instance-id", src, "--name", "sealed-killed",
                 "--tag-specifications",
                 "ResourceType=image,Tags=[{Key=cloudgate:seal,Value=true}]")
    ami2 = out["ImageId"]
    gw.images.append(ami2)
    db = os.path.join(gw.dir, "state", "cloudgate.db")

    def sealing():
        with sqlite3.connect(db, timeout=10) as c:
            row = c.execute("SELECT status_message FROM jobs WHERE target = ?",
                            (ami2,)).fetchone()
        return row and row[0] == "sealing" and \
            subprocess.run(["pgrep", "-f", "virt-sysprep.*" + ami2], capture_output=True).stdout
    wait_for("virt-sysprep running for %s" % ami2, sealing, 600, 1)
    cmd = subprocess.run(["pgrep", "-af", "virt-sysprep.*" + ami2], capture_output=True,
                         text=True).stdout
    # (virt-sysprep forks a child with its own command line: one per process)
    snaps = sorted(set(re.findall(r"-a \S*/(snap-[0-9a-f]{17})\.qcow2", cmd)))
    assert len(snaps) == 1 and "/%s.qcow2" % ami2 in cmd, cmd
    time.sleep(5)  # well inside the tool's run
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait(timeout=30)
    # virt-sysprep runs in its own process group and outlives the daemon;
    # the restart's recovery stops it and removes the image and its disk.
    gw.start(timeout=120)
    wait_for("the leftover virt-sysprep stopped",
             lambda: not subprocess.run(["pgrep", "-f", "virt-sysprep.*" + ami2],
                                        capture_output=True).stdout, 60, 1)
    names = pool_names()
    assert not any(n.startswith(ami2) or n.startswith(snaps[0]) for n in names), names
    r = gw.aws("describe-snapshots", "--snapshot-ids", snaps[0], check=False)
    assert r.returncode != 0 and "InvalidSnapshot.NotFound" in r.stderr, r.stderr
    r = gw.aws("describe-images", "--image-ids", ami2, check=False)
    assert r.returncode != 0 and "InvalidAMIID.NotFound" in r.stderr, r.stderr
    assert ami2 in gw.log_text()  # the recovery said what it removed
