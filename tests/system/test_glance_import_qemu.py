"""Import from a real Glance into qemu:///system through the real `aws` CLI,
then boot what was imported (TCG).

Two Glance servers from tests/glance_env.py: "local" (no auth, plain http)
and "secure" (Keystone v3, https through haproxy, verified against its CA
file), both as [glance NAME] sections of the daemon's configuration.  The
Debian cloud image (fixture cloud_image) goes to "secure" as qcow2 and, made
raw with qemu-img, to "local".  Each is imported with `aws ec2 import-image
--disk-containers Format=...,Url=glance://NAME/ID`, followed with
describe-import-image-tasks (Progress rises, Status ends completed with an
ImageId; the job inspected the disk: tag cloudgate:os), `aws ec2 wait
image-available`, launched (t2.small) and watched on
its serial console until cloud-init's "finished" line or a login prompt;
one guest at a time, terminated before the next.

Failures, each ending `deleted` with a clear StatusMessage and no volume
left in the pool: a checksum that does not match (the stored file changed
behind Glance's back), container_format ovf, a qcow2 whose backing file is
an outside path, and a cancel midway (the 2 GiB raw image).  An unknown
provider is refused by ImportImage itself.  Timings are printed (-s).
"""
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

from cgharness import Gateway, remove_filters, wait_for
from conftest import virsh
from glance_env import CG_PROJECT, CG_USER, GlanceEnv, have_glance

pytestmark = pytest.mark.skipif(not have_glance(), reason="glance-api/keystone not installed "
                                "(scripts/setup-host.sh)")

POOL = "cloudgate"
IMPORT_TIMEOUT = 600     # a 2 GiB import plus inspection under TCG
BOOT_TIMEOUT = 420
FAIL_TIMEOUT = 180
BOOTED_RE = re.compile(r"Cloud-init v\. \S+ finished at [^\n]*|^\S+ login: ", re.M)
OTHERS_RE = re.compile(r"^i-[0-9a-f]{17}(\.qcow2|-seed\.iso)$")  # other tests' instances
T0 = time.time()


def stamp(what, since):
    print("[%6.1fs] %s: %.1fs" % (time.time() - T0, what, time.time() - since))


def pool_volumes():
    lines = virsh("vol-list", POOL).stdout.splitlines()[2:]     # past the header
    names = {l.split()[0] for l in lines if l.strip()}
    return {n for n in names if not OTHERS_RE.match(n)}


@pytest.fixture(scope="module")
def glances(cloud_image):
    """Both Glance servers, with the cloud image uploaded; cleaned up whatever happens."""
    local = secure = None
    tmp = tempfile.mkdtemp(prefix="cg-glance-import-")
    try:
        t = time.time()
        local = GlanceEnv("noauth").start()
        secure = GlanceEnv("keystone").start()
        stamp("two Glance servers up", t)
        t = time.time()
        raw = os.path.join(tmp, "debian-cloud.raw")
        subprocess.run(["qemu-img", "convert", "-O", "raw", cloud_image, raw], check=True,
                       timeout=300)
        stamp("qemu-img convert to raw", t)
        t = time.time()
        img = {"qcow2": secure.upload("debian-qcow2", cloud_image, "qcow2"),
               "raw": local.upload("debian-raw", raw, "raw")}
        os.unlink(raw)
        stamp("uploads (%d + %d bytes)" % (img["qcow2"]["size"], img["raw"]["size"]), t)
        yield {"local": local, "secure": secure, "img": img, "tmp": tmp}
    finally:
        for env in (secure, local):
            if env:
                env.cleanup()
        subprocess.run(["rm", "-rf", tmp], check=False)


@pytest.fixture(scope="module")
def gw(glances):
    local, secure = glances["local"], glances["secure"]
    g = Gateway(zones=[("cloudgate-a", "qemu:///system")], domain_type="qemu")
    with open(g.conf, "a") as f:
        f.write("[glance local]\nurl = %s\n" % local.url)
        f.write("[glance secure]\nurl = %s\nkeystone_url = %s\nuser = %s\npassword_file = %s\n"
                "project = %s\nca_file = %s\n" % (secure.https_url, secure.keystone_url, CG_USER,
                                                   secure.password_file, CG_PROJECT,
                                                   secure.ca_file))
    g.launched, g.images = [], []
    g.start()
    try:
        yield g
    finally:
        if g.launched and g.proc and g.proc.poll() is None:
            g.aws("terminate-instances", "--instance-ids", *g.launched, check=False)
        g.stop()
        for iid in g.launched:
            virsh("destroy", iid, check=False)
            virsh("undefine", iid, "--nvram", check=False)
            virsh("vol-delete", "--pool", POOL, iid + ".qcow2", check=False)
            virsh("vol-delete", "--pool", POOL, iid + "-seed.iso", check=False)
        for ami in g.images:
            g.admin("image-deregister", ami, check=False)
        remove_filters(g)


def import_image(gw, fmt, url, desc):
    return gw.aws("import-image", "--description", desc, "--disk-containers",
                  "Format=%s,Url=%s" % (fmt, url), timeout=120)["ImportTaskId"]


def get_task(gw, tid):
    return gw.aws("describe-import-image-tasks", "--import-task-ids", tid,
                  timeout=60)["ImportImageTasks"][0]


def follow(gw, tid, timeout, until=("completed", "deleted")):
    """Poll the task until its Status is one of until; returns (task, progress seen)."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = get_task(gw, tid)
        if t.get("Progress"):
            p = int(t["Progress"])
            if not seen or seen[-1] != p:
                seen.append(p)
        if t["Status"] in until:
            return t, seen
        time.sleep(2)
    raise AssertionError("task %s did not reach %s in %ds (last %r)" % (tid, until, timeout, t))


def console(gw, iid):
    r = gw.aws("get-console-output", "--instance-id", iid, "--query", "Output", "--output",
               "text", check=False, timeout=60)
    return r.stdout if r.returncode == 0 else ""


def boot(gw, ami):
    """Launch ami, wait for a booted guest on the serial console, terminate it."""
    t = time.time()
    iid = gw.aws("run-instances", "--image-id", ami, "--instance-type", "t2.small",
                 timeout=300)["Instances"][0]["InstanceId"]
    gw.launched.append(iid)
    seen = {}

    def booted():
        seen["text"] = console(gw, iid)
        m = BOOTED_RE.search(seen["text"])
        return m.group(0) if m else None

    try:
        line = wait_for("%s booted (serial console)" % iid, booted, BOOT_TIMEOUT, interval=3)
    except AssertionError:
        print("---- console (tail) ----\n%s" % seen.get("text", "")[-4000:])
        raise
    stamp("%s from %s booted (%s)" % (iid, ami, line.strip()), t)
    t = time.time()
    gw.aws("terminate-instances", "--instance-ids", iid, timeout=300)
    wait_for("%s terminated" % iid, lambda: gw.aws(
        "describe-instances", "--instance-ids", iid, timeout=60)["Reservations"][0][
        "Instances"][0]["State"]["Name"] == "terminated", 180, interval=2)
    stamp("terminate %s" % iid, t)


@pytest.mark.parametrize("fmt,provider", [("qcow2", "secure"), ("raw", "local")])
def test_import_and_boot(gw, glances, fmt, provider):
    image = glances["img"][fmt]
    t = time.time()
    tid = import_image(gw, fmt, "glance://%s/%s" % (provider, image["id"]),
                       "debian %s from %s" % (fmt, provider))
    assert tid.startswith("import-ami-"), tid
    task, seen = follow(gw, tid, IMPORT_TIMEOUT)
    stamp("import %s (%d bytes) via %s; progress seen %s" % (fmt, image["size"], provider,
                                                            seen), t)
    assert task["Status"] == "completed", task
    ami = task["ImageId"]
    gw.images.append(ami)
    assert re.fullmatch(r"ami-[0-9a-f]{17}", ami), task
    # Progress rises while active (a completed task, as on AWS, has none).
    assert seen == sorted(seen) and len(seen) >= 2 and seen[-1] > seen[0], seen
    gw.aws("wait", "image-available", "--image-ids", ami, timeout=300)
    img = gw.aws("describe-images", "--image-ids", ami, timeout=60)["Images"][0]
    assert img["State"] == "available", img
    # The job inspected the disk (libguestfs): a read-only tag says what it found.
    tags = {t["Key"]: t["Value"] for t in img.get("Tags", [])}
    assert tags.get("cloudgate:os", "").startswith("linux/debian/12"), img
    boot(gw, ami)


def expect_deleted(gw, tid, words, before):
    task, _ = follow(gw, tid, FAIL_TIMEOUT)
    assert task["Status"] == "deleted", task
    msg = task.get("StatusMessage", "")
    assert any(w in msg.lower() for w in words), (words, task)
    if task.get("ImageId"):
        r = gw.aws("describe-images", "--image-ids", task["ImageId"], check=False)
        assert r.returncode != 0 or not json.loads(r.stdout)["Images"], (task, r.stdout)
    wait_for("pool as before", lambda: pool_volumes() == before, 60, interval=2)
    return msg


def no_pending(gw):
    return [i["ImageId"] for i in gw.aws("describe-images", timeout=60)["Images"]
            if i["State"] != "available"]


def test_wrong_checksum(gw, glances):
    local = glances["local"]
    path = os.path.join(glances["tmp"], "small.raw")
    with open(path, "wb") as f:
        f.write(os.urandom(4 << 20))
    rec = local.upload("corrupt-me", path, "raw")
    # Glance's file store: image ID is stored as DIR/images/ID.  Same size,
    # other bytes: only the hashes can tell.
    stored = os.path.join(local.dir, "images", rec["id"])
    with open(stored, "r+b") as f:
        f.seek(1 << 20)
        f.write(os.urandom(4096))
    before = pool_volumes()
    t = time.time()
    tid = import_image(gw, "raw", "glance://local/%s" % rec["id"], "corrupted")
    msg = expect_deleted(gw, tid, ("checksum", "hash", "sha512", "md5"), before)
    stamp("checksum mismatch -> deleted (%s)" % msg, t)
    assert no_pending(gw) == []


def test_container_ovf_refused(gw, glances):
    local = glances["local"]
    path = os.path.join(glances["tmp"], "ovf.raw")
    with open(path, "wb") as f:
        f.write(os.urandom(1 << 20))
    rec = local.upload("an-ovf", path, "raw", container_format="ovf")
    before = pool_volumes()
    t = time.time()
    r = gw.aws("import-image", "--disk-containers",
               "Format=raw,Url=glance://local/%s" % rec["id"], check=False, timeout=120)
    if r.returncode != 0:
        # Refused by ImportImage itself: also fine, if it says why.
        assert "ovf" in r.stderr.lower() or "container" in r.stderr.lower(), r.stderr
        msg = r.stderr.strip()
    else:
        tid = json.loads(r.stdout)["ImportTaskId"]
        msg = expect_deleted(gw, tid, ("ovf", "container"), before)
    assert pool_volumes() == before
    stamp("container_format ovf refused (%s)" % msg, t)


def test_backing_file_refused(gw, glances):
    secure = glances["secure"]
    tmp = glances["tmp"]
    outside = os.path.join(tmp, "outside.qcow2")
    evil = os.path.join(tmp, "evil.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", outside, "64M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", outside, "-F", "qcow2",
                    evil], check=True)
    rec = secure.upload("backed", evil, "qcow2")
    before = pool_volumes()
    t = time.time()
    tid = import_image(gw, "qcow2", "glance://secure/%s" % rec["id"], "backing file")
    msg = expect_deleted(gw, tid, ("backing",), before)
    stamp("qcow2 with a backing file -> deleted (%s)" % msg, t)


def test_unknown_provider_refused(gw):
    before = pool_volumes()
    r = gw.aws("import-image", "--disk-containers",
               "Format=qcow2,Url=glance://nosuch/0b0e1e2a-1d1e-4c3a-9d5f-123456789abc",
               check=False, timeout=60)
    assert r.returncode != 0, r.stdout
    assert "nosuch" in r.stderr, r.stderr
    assert pool_volumes() == before


def test_cancel_midway(gw, glances):
    raw = glances["img"]["raw"]
    before = pool_volumes()
    t = time.time()
    tid = import_image(gw, "raw", "glance://local/%s" % raw["id"], "to be cancelled")

    def moving():
        task = get_task(gw, tid)
        assert task["Status"] == "active", task
        p = int(task.get("Progress") or 0)
        return task if 0 < p < 100 else None

    task = wait_for("progress between 0 and 100", moving, 120, interval=0.5)
    gw.aws("cancel-import-task", "--import-task-id", tid, timeout=60)
    msg = expect_deleted(gw, tid, ("cancel",), before)
    stamp("cancel at %s%% -> deleted (%s)" % (task["Progress"], msg), t)
    assert no_pending(gw) == []
