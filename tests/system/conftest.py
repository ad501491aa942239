"""System tier: the real daemon on qemu:///system with real (TCG) guests.
Needs scripts/setup-host.sh done (libvirtd, network cloudgate-isolated, pool
cloudgate); builds the demo guest once (cached)."""
import os
import subprocess

import pytest

from cgharness import TOP, Gateway

DEMO_DIR = os.environ.get("CG_DEMO_DIR", "/var/cache/cloudgate-tests/demo-guest")
TRAFFIC_DIR = os.environ.get("CG_TRAFFIC_DIR", "/var/cache/cloudgate-tests/traffic-guest")
CLOUD_DIR = os.environ.get("CG_CLOUD_DIR", "/var/cache/cloudgate-tests/debian-cloud")


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-c", "qemu:///system"] + list(args), check=check,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def demo_guest():
    subprocess.run([os.path.join(TOP, "scripts", "build-demo-guest.sh"), DEMO_DIR],
                   check=True, capture_output=True, timeout=600)
    return DEMO_DIR


@pytest.fixture(scope="session")
def traffic_guest():
    """The demo guest with listeners and a user-data script runner
    (CG_GUEST_ROLE=traffic in scripts/build-demo-guest.sh; cached)."""
    subprocess.run([os.path.join(TOP, "scripts", "build-demo-guest.sh"), TRAFFIC_DIR],
                   check=True, capture_output=True, timeout=600,
                   env=dict(os.environ, CG_GUEST_ROLE="traffic"))
    return TRAFFIC_DIR


@pytest.fixture(scope="session")
def cloud_image():
    """Debian 12 + cloud-init disk (scripts/build-cloud-image.sh; cached, ~8 min cold)."""
    r = subprocess.run([os.path.join(TOP, "scripts", "build-cloud-image.sh"), CLOUD_DIR],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        pytest.fail("build-cloud-image.sh failed:\n" + r.stdout[-2000:] + r.stderr[-4000:])
    return os.path.join(CLOUD_DIR, "debian-cloud.qcow2")


def register_guest(gw, guest_dir, name, cmdline="console=ttyS0"):
    """Register a built demo/traffic guest as gw.image_id (before gw.start)."""
    r = gw.admin("image-register", "--no-inspect", "--name", name,
                 "--disk", os.path.join(guest_dir, "disk.qcow2"),
                 "--kernel", os.path.join(guest_dir, "vmlinuz"),
                 "--initrd", os.path.join(guest_dir, "initrd.img"),
                 "--cmdline", cmdline)
    gw.image_id = r.stdout.strip().split()[-1]


def remove_instance_leftovers(iid):
    """What libvirt may still hold of an instance once its gateway is gone."""
    virsh("destroy", iid, check=False)
    virsh("undefine", iid, "--nvram", check=False)
    virsh("vol-delete", "--pool", "cloudgate", iid + ".qcow2", check=False)
    virsh("vol-delete", "--pool", "cloudgate", iid + "-seed.iso", check=False)


@pytest.fixture(scope="module")
def sysgw(demo_guest):
    gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu")
    register_guest(gw, demo_guest, "demo-system-test")
    gw.launched = []
    gw.start()
    try:
        yield gw
    finally:
        # Clean up even when a test failed: terminate what we launched, by id.
        if gw.launched and gw.proc and gw.proc.poll() is None:
            try:
                gw.client().terminate_instances(InstanceIds=gw.launched)
            except Exception:
                pass
        gw.stop()
        for iid in gw.launched:
            remove_instance_leftovers(iid)
        gw.admin("image-deregister", gw.image_id, check=False)
