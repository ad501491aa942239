"""System tier: the real daemon on qemu:///system with real (TCG) guests.
Needs scripts/setup-host.sh done (libvirtd, network cloudgate-isolated, pool
cloudgate); builds the demo guest once (cached)."""
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from cgharness import TOP, Gateway, remove_filters, wait_for

DEMO_DIR = os.environ.get("CG_DEMO_DIR", "/var/cache/cloudgate-tests/demo-guest")
TRAFFIC_DIR = os.environ.get("CG_TRAFFIC_DIR", "/var/cache/cloudgate-tests/traffic-guest")
CLOUD_DIR = os.environ.get("CG_CLOUD_DIR", "/var/cache/cloudgate-tests/debian-cloud")
POOL = "cloudgate"
# libguestfs tools (guestfish, virt-sysprep, virt-v2v) under TCG: KVM hangs here.
GUESTFS_ENV = dict(os.environ, LIBGUESTFS_BACKEND="direct",
                   LIBGUESTFS_BACKEND_SETTINGS="force_tcg")


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-c", "qemu:///system"] + list(args), check=check,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session", autouse=True)
def gateway_filters_at_end():
    """The last look, at the end of the session: the nwfilters of every
    gateway the session made whose teardown did not remove them all (a
    teardown that failed before, a filter still in use then).  Each gateway
    has its own state, which the run's temporary directory takes with it:
    a filter left on the host would stay there for ever."""
    yield
    for gw in Gateway.made:
        if gw.filters_left is None or gw.filters_left:
            left = remove_filters(gw)
            if left:
                print("nwfilters left on the host by %s: %s" % (gw.dir, " ".join(left)))


def libvirtd_answers():
    try:
        return subprocess.run(["virsh", "-c", "qemu:///system", "version"],
                              capture_output=True, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def libvirt_crashes():
    """The kernel's lines on libvirt processes that crashed."""
    log = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return [l for l in log.splitlines() if "libvirt" in l and "segfault" in l]


@pytest.fixture(autouse=True)
def libvirtd_outlives_the_test():
    """The host's libvirtd must outlive every test.  When it does not, the
    test it died in fails saying so, with the kernel's word on a crash, and
    libvirtd is started again so that the tests after it still report their
    own results rather than "connection refused"."""
    before = set(libvirt_crashes())
    yield
    if libvirtd_answers():
        return
    crashes = [l for l in libvirt_crashes() if l not in before]
    r = subprocess.run([os.path.join(TOP, "scripts", "setup-host.sh")],
                       capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, CG_SKIP_APT="1"))
    pytest.fail("libvirtd stopped answering during this test; kernel log: %s; "
                "restarted: %s" % ("; ".join(crashes) or "no crash noted",
                                   "yes" if r.returncode == 0 else r.stderr[-500:]))


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
    virsh("vol-delete", "--pool", POOL, iid + ".qcow2", check=False)
    virsh("vol-delete", "--pool", POOL, iid + "-seed.iso", check=False)


def console(gw, iid):
    """The serial console as the aws CLI shows it (decoded), "" on failure."""
    r = gw.aws("get-console-output", "--instance-id", iid, "--query", "Output",
               "--output", "text", check=False, timeout=60)
    return r.stdout if r.returncode == 0 else ""


def wait_console(gw, iid, pattern, timeout, what):
    """Wait (timeout seconds) for iid's console to match pattern; its tail is
    printed when it does not.  The match."""
    try:
        return wait_for(what, lambda: pattern.search(console(gw, iid)), timeout, 5)
    except AssertionError:
        print(console(gw, iid)[-4000:])
        raise


def run_instance(gw, image_id):
    """A t2.small of image_id through the aws CLI, recorded in gw.launched."""
    out = gw.aws("run-instances", "--image-id", image_id, "--instance-type", "t2.small",
                 timeout=300)
    iid = out["Instances"][0]["InstanceId"]
    gw.launched.append(iid)
    # Answered pending: the domain is defined and started by the launch worker.
    gw.aws("wait", "instance-running", "--instance-ids", iid, timeout=600)
    return iid


def assert_virtio_disks(iid):
    """Every file disk of the domain is on virtio (what virt-v2v converts to)."""
    dom = virsh("dumpxml", iid).stdout
    disks = re.findall(r"<disk type='file' device='disk'>.*?</disk>", dom, re.S)
    assert disks and all("bus='virtio'" in d for d in disks), dom


def pool_dir():
    return re.search(r"<path>([^<]+)</path>", virsh("pool-dumpxml", POOL).stdout).group(1)


def pool_names():
    virsh("pool-refresh", POOL, check=False)
    return set(virsh("vol-list", "--pool", POOL).stdout.split())


def tagged_processes(tag_prefix):
    """Live processes whose environment has CLOUDGATE_TOOL_TAG starting with
    tag_prefix: what a tool the gateway ran started, whatever their process
    group or session (virt-v2v's qemu-nbd, nbdcopy, its appliance)."""
    want = ("CLOUDGATE_TOOL_TAG=" + tag_prefix).encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if any(e.startswith(want) for e in env):
            found.append(pid)
    return found


def v2v_leftovers(job_id=None):
    """Conversion directories in the pool's directory and their processes
    (virt-v2v and every helper it started): job_id's, or every job's when
    None."""
    prefix = ".cg-v2v-" + (job_id or "")
    dirs = [n for n in os.listdir(pool_dir())
            if (n == prefix if job_id else n.startswith(prefix))]
    procs = subprocess.run(["pgrep", "-f", "virt-v2v .*-os %s/%s" % (pool_dir(), prefix)],
                           capture_output=True, text=True).stdout.split()
    procs += [p for p in tagged_processes("%s/%s" % (pool_dir(), prefix)) if p not in procs]
    return dirs, procs


def snapshot_files(gw):
    """The pool files of the snapshots gw's own database still records: a
    test that failed midway leaves them (an image's further disks outlive
    it, as in EC2)."""
    db = os.path.join(gw.dir, "state", "cloudgate.db")
    if not os.path.exists(db):
        return []
    with sqlite3.connect(db, timeout=10) as c:
        try:
            rows = c.execute("SELECT id, volume_name FROM snapshots").fetchall()
        except sqlite3.Error:
            return []
    return [name or sid + ".qcow2" for sid, name in rows]


@contextlib.contextmanager
def qemu_gateway(**kwargs):
    """A Gateway on qemu:///system (TCG), not started.  Whatever happens,
    at exit: what it launched (gw.launched) is terminated and its domain and
    volumes removed, the conversions of gw.jobs (a test that killed their
    cloudgate-admin) stopped and their directories removed, the images of
    gw.images deregistered with their volumes, newest first, and the
    nwfilters of its groups and instances undefined.  All by id: ours
    only."""
    gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu", **kwargs)
    gw.launched, gw.images, gw.jobs = [], [], []
    try:
        yield gw
    finally:
        if gw.launched and gw.proc and gw.proc.poll() is None:
            gw.aws("terminate-instances", "--instance-ids", *gw.launched, check=False)
        gw.stop()
        for job in gw.jobs:
            for pid in v2v_leftovers(job)[1]:
                subprocess.run(["kill", "-9", pid], check=False)
            shutil.rmtree(os.path.join(pool_dir(), ".cg-v2v-" + job), ignore_errors=True)
        for iid in gw.launched:
            remove_instance_leftovers(iid)
        for ami in reversed(gw.images):    # newest first
            gw.admin("image-deregister", ami, check=False)
            virsh("vol-delete", "--pool", POOL, ami + ".qcow2", check=False)
        for name in snapshot_files(gw):    # e.g. an attached volume's, made by CreateImage
            virsh("vol-delete", "--pool", POOL, name, check=False)
        remove_filters(gw)   # after the domains: a running NIC holds its filters


@contextlib.contextmanager
def system_gateway(demo_guest, extra_libvirt=""):
    """A gateway on qemu:///system with the demo image; what it launched
    (gw.launched) is terminated and removed afterwards, even on failure."""
    gw = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu",
                 extra_libvirt=extra_libvirt)
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
        remove_filters(gw)


@pytest.fixture(scope="module")
def sysgw(demo_guest):
    with system_gateway(demo_guest) as gw:
        yield gw
