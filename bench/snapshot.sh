#!/usr/bin/env bash
# bench/snapshot.sh — CreateSnapshot time against a plain
# `qemu-img convert -O qcow2` of the same volume file.
#
# For each size in CG_BENCH_SNAP_SIZES (GiB, default "1 10"):
#   1. CreateVolume of that size (a sparse qcow2), 64 MiB of random bytes
#      written at its start and 16 MiB at its end (qemu-io on the file while
#      no guest uses it), the rest left unallocated;
#   2. CreateSnapshot while it is not attached (libvirt copies the volume:
#      virStorageVolCreateXMLFrom), timed from the request to "completed" in
#      DescribeSnapshots (polled every 50 ms);
#   3. the same while attached to a running demo guest (push-mode backup,
#      the guest keeps running);
#   4. qemu-img convert -O qcow2 of the volume file into the pool directory;
# and prints the seconds of each and the ratios snapshot/convert.  Each
# snapshot and copy is removed before the next.
#
# A private cloudgated on 127.0.0.1 (tests/cgharness.py) on CG_BENCH_URI;
# everything it made is terminated / deleted at the end, and what is left
# in the pool is checked with virsh.  Needs root, libvirtd with pool
# cloudgate (scripts/setup-host.sh), a built tree, Debian's python3-boto3.
#
# Environment: CG_BUILDDIR (default: repo top), CG_BENCH_URI (default
# qemu:///system), CG_BENCH_SNAP_SIZES (default "1 10").
set -euo pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CG_BUILDDIR=${CG_BUILDDIR:-$TOP}
export CG_BENCH_URI=${CG_BENCH_URI:-qemu:///system}
export CG_BENCH_SNAP_SIZES=${CG_BENCH_SNAP_SIZES:-1 10}
DEMO=${CG_DEMO_DIR:-/var/cache/cloudgate-tests/demo-guest}

"$TOP/scripts/build-demo-guest.sh" "$DEMO" >/dev/null
export CG_DEMO_DIR=$DEMO
cd "$TOP/tests"
exec /usr/bin/python3 - <<'EOF'
import os
import subprocess
import sys
import time

from cgharness import Gateway, wait_for

URI = os.environ["CG_BENCH_URI"]
SIZES = [int(s) for s in os.environ["CG_BENCH_SNAP_SIZES"].split()]
DEMO = os.environ["CG_DEMO_DIR"]
ZONE = "cloudgate-a"


def log(msg):
    print("bench-snapshot: " + msg, file=sys.stderr, flush=True)


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-c", URI] + list(args), check=check,
                          capture_output=True, text=True, timeout=600)


def pooldir():
    xml = virsh("pool-dumpxml", "cloudgate").stdout
    return xml.split("<path>")[1].split("</path>")[0]


def fill(path, gib):
    """64 MiB random at the start, 16 MiB at the end; the rest sparse."""
    for off, n in ((0, 64 << 20), ((gib << 30) - (16 << 20), 16 << 20)):
        data = os.path.join(os.path.dirname(path), ".bench-fill-%d" % os.getpid())
        with open(data, "wb") as f:
            f.write(os.urandom(n))
        try:
            subprocess.run(["qemu-io", "-f", "qcow2", path, "-c",
                            "write -s %s %d %d" % (data, off, n)],
                           check=True, capture_output=True, timeout=600)
        finally:
            os.unlink(data)


def timed_snapshot(ec2, vid):
    t0 = time.monotonic()
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    while True:
        s = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        if s["State"] != "pending":
            break
        time.sleep(0.05)
    took = time.monotonic() - t0
    assert s["State"] == "completed", s
    ec2.delete_snapshot(SnapshotId=sid)
    return took


gw = Gateway(zones=[(ZONE, URI)], domain_type="qemu")
r = gw.admin("image-register", "--no-inspect", "--name", "bench-snapshot-%d" % os.getpid(),
             "--disk", os.path.join(DEMO, "disk.qcow2"),
             "--kernel", os.path.join(DEMO, "vmlinuz"),
             "--initrd", os.path.join(DEMO, "initrd.img"), "--cmdline", "console=ttyS0")
image = r.stdout.strip().split()[-1]
gw.start()
ec2 = gw.client()
iid, vols, rows = None, [], []
try:
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                            InstanceType="t2.nano")["Instances"][0]["InstanceId"]
    wait_for("guest booted", lambda: "cloudgate-demo: booted" in
             ec2.get_console_output(InstanceId=iid).get("Output", ""), 300, 2)
    pool = pooldir()
    for gib in SIZES:
        vid = ec2.create_volume(AvailabilityZone=ZONE, Size=gib)["VolumeId"]
        vols.append(vid)
        path = os.path.join(pool, vid + ".qcow2")
        fill(path, gib)
        log("%d GiB: snapshot of the detached volume" % gib)
        detached = timed_snapshot(ec2, vid)
        ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")
        log("%d GiB: snapshot while attached to running %s" % (gib, iid))
        attached = timed_snapshot(ec2, vid)
        assert virsh("domstate", iid).stdout.strip() == "running"
        ec2.detach_volume(VolumeId=vid)
        copy = os.path.join(pool, "bench-snapshot-%d.qcow2" % os.getpid())
        t0 = time.monotonic()
        subprocess.run(["qemu-img", "convert", "-O", "qcow2", path, copy], check=True,
                       timeout=3600)
        convert = time.monotonic() - t0
        os.unlink(copy)
        rows.append((gib, detached, attached, convert))
        ec2.delete_volume(VolumeId=vid)
        vols.remove(vid)
finally:
    for v in vols:
        try:
            ec2.detach_volume(VolumeId=v)
        except Exception:
            pass
        try:
            ec2.delete_volume(VolumeId=v)
        except Exception:
            pass
    if iid:
        ec2.terminate_instances(InstanceIds=[iid])
        wait_for("terminated", lambda: ec2.describe_instances(InstanceIds=[iid])
                 ["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated", 120, 1)
    gw.stop()
    gw.admin("image-deregister", image, check=False)
    left = [l.split()[0] for l in virsh("vol-list", "cloudgate").stdout.splitlines()[2:]
            if l.strip() and (l.split()[0].startswith(("snap-", "bench-snapshot"))
                              or (iid and l.split()[0].startswith(iid)))]
    log("left in pool: %s" % (" ".join(left) or "nothing"))

print("size   snapshot-detached  snapshot-attached  qemu-img-convert  "
      "ratio-detached  ratio-attached")
for gib, d, a, c in rows:
    print("%3d GiB  %10.2f s  %14.2f s  %13.2f s  %12.2f  %14.2f"
          % (gib, d, a, c, d / c, a / c))
EOF
