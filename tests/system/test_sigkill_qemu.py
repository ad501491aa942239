"""Crash safety on real qemu guests: cloudgated is killed with SIGKILL at a
random moment of RunInstances, CreateImage, a CIMI machine creation,
CreateVolume + AttachVolume and CreateSnapshot of a running guest's root
disk (a push-mode backup in qemu), restarted, and what it finds at start-up
must be repaired (drivers/libvirt/lv_reconcile.c, engine/jobs.c).

The gateway gets a storage pool of its own, made here and removed at the
end: other gateways may use the shared pool and libvirtd at the same time,
so every volume in this pool is this test's, and a domain is this test's
only when its disks are in it.  Nothing else is counted or removed.

CG_SIGKILL_RUNS (default 100) kills; CG_SIGKILL_SEED fixes the delays."""
import json
import os
import random
import re
import shutil
import signal
import threading
import time

import pytest
import requests

from cgharness import Gateway, remove_filters, wait_for
from conftest import virsh

RUNS = int(os.environ.get("CG_SIGKILL_RUNS", "100"))
OPS = ("run", "capture", "cimi", "attach", "snapshot")
TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")


class Pool:
    """A dir pool only this test uses."""

    def __init__(self):
        self.name = "cg-sigkill-%d" % os.getpid()
        self.path = "/var/lib/cloudgate/%s" % self.name
        os.makedirs(self.path, exist_ok=True)
        virsh("pool-create-as", self.name, "dir", "--target", self.path)

    def volumes(self):
        virsh("pool-refresh", self.name, check=False)
        out = virsh("vol-list", "--pool", self.name).stdout
        return {l.split()[0] for l in out.splitlines()[2:] if l.strip()}

    def remove(self):
        for v in self.volumes():
            virsh("vol-delete", "--pool", self.name, v, check=False)
        virsh("pool-destroy", self.name, check=False)
        shutil.rmtree(self.path, ignore_errors=True)


class World:
    """The gateway under test, its pool and what it is known to have made."""

    def __init__(self, demo_guest):
        self.pool = Pool()
        self.gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu",
                          pool=self.pool.name)
        r = self.gw.admin("image-register", "--no-inspect", "--name", "demo-sigkill",
                          "--disk", os.path.join(demo_guest, "disk.qcow2"),
                          "--kernel", os.path.join(demo_guest, "vmlinuz"),
                          "--initrd", os.path.join(demo_guest, "initrd.img"),
                          "--cmdline", "console=ttyS0")
        self.image_id = r.stdout.strip().split()[-1]
        self.ours = {}          # domain name -> its disks are in our pool
        self.shared = None      # the running instance CreateImage/AttachVolume use
        self.gw.start()
        self.auth = (self.gw.key_id, self.gw.secret)

    def ec2(self):
        return self.gw.client()

    # ---- libvirt, seen directly ----

    def our_domains(self):
        names = virsh("list", "--all", "--name").stdout.split()
        for n in names:
            if n.startswith("i-") and n not in self.ours:
                xml = virsh("dumpxml", "--inactive", n, check=False).stdout
                self.ours[n] = self.pool.path + "/" in xml
        return {n for n in names if self.ours.get(n)}

    def domstate(self, iid):
        return virsh("domstate", iid, check=False).stdout.strip()

    # ---- the gateway ----

    def kill_restart(self):
        self.gw.proc.send_signal(signal.SIGKILL)   # our own child, by PID
        self.gw.proc.wait()
        self.gw.start()
        wait_for("zone available", lambda: self.ec2().describe_availability_zones()
                 ["AvailabilityZones"][0]["State"] == "available", timeout=60, interval=0.2)

    def instances(self):
        out = {}
        for r in self.ec2().describe_instances(
                Filters=[{"Name": "image-id", "Values": [self.image_id]}])["Reservations"]:
            for i in r["Instances"]:
                out[i["InstanceId"]] = i["State"]["Name"]
        return out

    def cimi(self, method, path, body=None):
        url = path if path.startswith("http") else self.gw.endpoint + path
        return requests.request(method, url, auth=self.auth, timeout=120,
                                data=json.dumps(body) if body is not None else None,
                                headers={"Content-Type": "application/json",
                                         "Accept": "application/json"})

    # ---- the operations, each run to its end ----

    def op_run(self):
        self.ec2().run_instances(ImageId=self.image_id, MinCount=1, MaxCount=1,
                                 InstanceType="t2.nano",
                                 ClientToken="sigkill-%d" % random.getrandbits(48))

    def op_capture(self):
        ec2 = self.ec2()
        ami = ec2.create_image(InstanceId=self.shared,
                               Name="sk-%d" % random.getrandbits(48))["ImageId"]
        # To its end: CreateImage answers at once, its job makes the image.
        while ec2.describe_images(ImageIds=[ami])["Images"][0]["State"] == "pending":
            time.sleep(0.1)

    def op_cimi(self):
        r = self.cimi("POST", "/cimi/machines", {
            "name": "sigkill",
            "machineTemplate": {
                "machineConfig": {"href": self.gw.endpoint + "/cimi/machineConfigs/t2.nano"},
                "machineImage": {"href": self.gw.endpoint + "/cimi/machineImages/" +
                                 self.image_id},
                "volumeTemplates": [{"volumeConfig": {"capacity": 1024}}]}})
        assert r.status_code == 202, r.text
        job = r.headers["CIMI-Job-URI"]
        while self.cimi("GET", job).json()["state"] not in TERMINAL:
            time.sleep(0.1)

    def op_attach(self):
        ec2 = self.ec2()
        vid = ec2.create_volume(Size=1, AvailabilityZone="cloudgate-a")["VolumeId"]
        ec2.attach_volume(VolumeId=vid, InstanceId=self.shared, Device="/dev/vdf")

    def op_snapshot(self):
        ec2 = self.ec2()
        sid = ec2.create_snapshot(VolumeId=self.shared)["SnapshotId"]
        while ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] == "pending":
            time.sleep(0.1)

    # ---- judging and cleaning up ----

    def leftovers(self):
        """What start-up should have repaired and did not, as strings."""
        bad = []
        ec2 = self.ec2()
        live = {i for i, s in self.instances().items() if s != "terminated"}
        doms = self.our_domains()
        bad += ["domain %s unknown to EC2" % d for d in doms - live]
        images = {i["ImageId"] for i in ec2.describe_images()["Images"]}
        vols = {v["VolumeId"]: v for v in ec2.describe_volumes()["Volumes"]}
        pool = self.pool.volumes()
        snaps = {x["SnapshotId"]: x for x in ec2.describe_snapshots()["Snapshots"]}
        # A published image's snapshot is its own volume ("... for ami-X"),
        # which outlives the image.
        snap_volume = {}
        for sid, x in snaps.items():
            m = re.search(r"for (ami-[0-9a-f]+)$", x.get("Description", ""))
            snap_volume[sid] = (m.group(1) if m else sid) + ".qcow2"
            if x["State"] != "completed":
                bad.append("snapshot %s is %s after the restart" % (sid, x["State"]))
            elif snap_volume[sid] not in pool:
                bad.append("snapshot %s without its volume %s" % (sid, snap_volume[sid]))
        for name in pool:
            stem = re.sub(r"(-seed\.iso|\.qcow2|\.img)$", "", name)
            if stem.startswith("i-") and stem not in doms:
                bad.append("volume %s without its domain" % name)
            elif stem.startswith("vol-") and stem not in vols:
                bad.append("volume %s without its record" % name)
            elif stem.startswith("snap-") and stem not in snaps:
                bad.append("snapshot volume %s without its record" % name)
            elif (stem.startswith("ami-") and stem not in images and
                  name not in snap_volume.values()):
                bad.append("template volume %s without its image" % name)
        for img in images:
            if img + ".qcow2" not in pool and img + ".img" not in pool:
                bad.append("image %s without its volume" % img)
        for vid, v in vols.items():
            if not {vid + ".qcow2", vid + ".img"} & pool:
                bad.append("volume record %s without its volume" % vid)
            for a in v.get("Attachments", []):
                xml = virsh("dumpxml", a["InstanceId"], check=False).stdout
                if "<serial>vol%s</serial>" % vid[4:] not in xml:
                    bad.append("volume %s recorded on %s, which lacks it" % (vid, a["InstanceId"]))
        r = self.cimi("GET", "/cimi/jobs")
        jobs = r.json().get("jobs", [])
        bad += ["job %s is %s" % (j["id"], j["state"]) for j in jobs
                if j["state"] not in TERMINAL]
        # A creation the restart interrupted is rolled back at start-up: its
        # machine is terminated (or on its way), not left running.
        alive = {i for i, s in self.instances().items()
                 if s not in ("terminated", "shutting-down")}
        for j in jobs:
            target = j.get("targetResource", {}).get("href", "").rsplit("/", 1)[-1]
            if (j["state"] == "FAILED" and "restart" in j.get("statusMessage", "") and
                    target in alive and target != self.shared):
                bad.append("machine %s of interrupted job %s still there" % (target, j["id"]))
        if self.shared and self.domstate(self.shared) != "running":
            bad.append("instance %s is %s" % (self.shared, self.domstate(self.shared)))
        return bad

    def new_shared(self):
        self.shared = self.ec2().run_instances(
            ImageId=self.image_id, MinCount=1, MaxCount=1,
            InstanceType="t2.nano")["Instances"][0]["InstanceId"]
        wait_for("shared running", lambda: self.instances().get(self.shared) == "running",
                 timeout=120, interval=0.2)

    def clean(self):
        """Remove through the API what an iteration made.  A hot-unplug needs
        the guest's help (slow, or refused while it boots): an instance that
        got a volume is replaced instead, which releases the volume."""
        ec2 = self.ec2()
        vols = ec2.describe_volumes()["Volumes"]
        keep = self.shared
        if any(a["InstanceId"] == self.shared for v in vols for a in v["Attachments"]):
            keep = None
        doomed = [i for i, s in self.instances().items() if s != "terminated" and i != keep]
        if doomed:
            ec2.terminate_instances(InstanceIds=doomed)
        for v in vols:
            ec2.delete_volume(VolumeId=v["VolumeId"])
        if self.shared and not keep:
            self.new_shared()
        for img in ec2.describe_images()["Images"]:
            if img["ImageId"] != self.image_id and img["State"] != "pending":
                self.gw.admin("image-deregister", img["ImageId"])
        for x in ec2.describe_snapshots()["Snapshots"]:
            if x["State"] != "pending":
                ec2.delete_snapshot(SnapshotId=x["SnapshotId"])
        if self.shared and self.domstate(self.shared) == "paused":
            ec2.start_instances(InstanceIds=[self.shared])   # resumes

    def close(self):
        try:
            if self.gw.proc and self.gw.proc.poll() is None:
                self.clean()
                if self.shared:
                    self.ec2().terminate_instances(InstanceIds=[self.shared])
        finally:
            self.gw.stop()
            for d in self.our_domains():
                virsh("destroy", d, check=False)
                virsh("undefine", d, "--nvram", check=False)
            self.gw.admin("image-deregister", self.image_id, check=False)
            self.pool.remove()
            # Read from its database, complete even after a SIGKILL: rows
            # come before a filter, an intent before a group's.
            remove_filters(self.gw)


@pytest.fixture(scope="module")
def world(demo_guest):
    w = World(demo_guest)
    try:
        yield w
    finally:
        w.close()


def timed(fn):
    t = time.time()
    fn()
    return time.time() - t


def test_sigkill_anywhere(world):
    w = world
    seed = int(os.environ.get("CG_SIGKILL_SEED", str(random.randrange(1 << 30))))
    print("sigkill: seed %d" % seed)
    rng = random.Random(seed)
    w.new_shared()
    # Each operation once to its end: it works, and its length spreads the kills.
    spans = {}
    for op in OPS:
        spans[op] = timed(getattr(w, "op_" + op))
        w.clean()
    print("sigkill: operation lengths %s" % {k: round(v, 2) for k, v in spans.items()})
    assert w.leftovers() == []

    start, total, counts = time.time(), 0, {op: 0 for op in OPS}
    for n in range(RUNS):
        op = OPS[n % len(OPS)]
        errors = []

        def work():
            try:
                getattr(w, "op_" + op)()
            except Exception as e:   # the kill cuts it short: expected
                errors.append(e)

        t = threading.Thread(target=work, daemon=True)
        t.start()
        time.sleep(rng.uniform(0, spans[op] * 1.2 + 0.05))
        w.kill_restart()
        t.join(60)
        assert not t.is_alive(), "%s still waiting after the restart" % op
        bad = w.leftovers()
        if bad:
            print("sigkill: run %d (%s): %s" % (n, op, bad))
        total += len(bad)
        counts[op] += 1
        w.clean()
    took = time.time() - start
    repaired = w.gw.log_text().count("reconcile: ")
    print("sigkill: %d runs, %d leftovers (%s; %.0f s; %d repairs logged)"
          % (RUNS, total, counts, took, repaired))
    assert total == 0
    # The kills did land inside operations: start-up had things to repair.
    assert RUNS < 8 or repaired > 0
