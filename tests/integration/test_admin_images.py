"""cloudgate-admin image-import and jobs against a running daemon (test://).

The import job runs in the admin process; the daemon reads the same job
and image records from the store, so boto3's describe_images,
describe_volumes and describe_import_image_tasks see what the admin made,
and CancelImportTask sent to the daemon reaches the admin's job.  Sources:
files under the gateway's import_dirs, and a local HTTP server on
127.0.0.1 (started here) that trickles its bytes, to have time to cancel.
"""
import http.server
import os
import pty
import re
import select
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from cgharness import ADMIN, wait_for
from conftest import make_gateway

LINE_RE = re.compile(r"^job (import-(?:ami|vol)-[0-9a-f]+): (\d+)% (.*)$")
END_RE = re.compile(r"^job (import-(?:ami|vol)-[0-9a-f]+): (SUCCESS|FAILED|CANCELLED) after")
QCOW2_VSIZE = 64 << 20
RAW_SIZE = 12 << 20
SLOW_SIZE = 48 << 20          # trickled at ~1.3 MB/s: ~35 s if nobody cancels
SIGNAL_WAIT = 60              # SIGINT -> rolled back and exited


@pytest.fixture(scope="module")
def files():
    d = tempfile.mkdtemp(prefix="cg-import-")
    imp = os.path.join(d, "import")
    os.makedirs(imp)
    qcow2 = os.path.join(imp, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow2, str(QCOW2_VSIZE)],
                   check=True)
    raw = os.path.join(imp, "disk.raw")
    with open(raw, "wb") as f:
        f.write(os.urandom(1 << 20))       # some data, then a sparse tail
        f.truncate(RAW_SIZE)
    bogus = os.path.join(imp, "bogus.qcow2")
    with open(bogus, "wb") as f:
        f.write(b"not a qcow2 header" + os.urandom(4096))
    outside = os.path.join(d, "outside.raw")
    with open(outside, "wb") as f:
        f.write(os.urandom(65536))
    os.symlink(outside, os.path.join(imp, "link-out.raw"))
    yield {"dir": d, "import": imp, "qcow2": qcow2, "raw": raw, "bogus": bogus,
           "outside": outside}
    subprocess.run(["rm", "-rf", d], check=False)


@pytest.fixture(scope="module")
def gw(files):
    g = make_gateway(extra_gateway="import_dirs = %s\n" % files["import"])
    yield g
    assert g.stop() == 0, g.log_text()


class Trickle(http.server.BaseHTTPRequestHandler):
    """SLOW_SIZE bytes (a raw disk of zeros) in 64 KiB pieces every 50 ms."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(SLOW_SIZE))
        self.end_headers()
        chunk = bytes(65536)
        deadline = time.time() + 120
        try:
            for _ in range(SLOW_SIZE // len(chunk)):
                if time.time() > deadline or self.server.stopping:
                    break
                self.wfile.write(chunk)
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def slow_url():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    srv.daemon_threads = True
    srv.stopping = False
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d/slow.raw" % srv.server_address[1]
    srv.stopping = True
    srv.shutdown()
    srv.server_close()
    t.join(timeout=10)


def progress(stdout):
    """(job id, [percent...], final state, last line) from image-import's output."""
    jid, pcts, end = None, [], None
    for line in stdout.splitlines():
        m = LINE_RE.match(line)
        if m:
            assert jid in (None, m.group(1)), line
            jid = m.group(1)
            pcts.append(int(m.group(2)))
            continue
        m = END_RE.match(line)
        if m:
            jid, end = m.group(1), m.group(2)
    lines = [l for l in stdout.splitlines() if l]
    return jid, pcts, end, lines[-1] if lines else ""


def jobs_rows(gw):
    return [l.split("\t") for l in gw.admin("jobs").stdout.splitlines() if l]


def task(ec2, jid):
    return ec2.describe_import_image_tasks(ImportTaskIds=[jid])["ImportImageTasks"][0]


def no_pending(ec2):
    return [i["ImageId"] for i in ec2.describe_images()["Images"] if i["State"] != "available"]


@pytest.mark.parametrize("src,fmt", [("qcow2", "qcow2"), ("raw", "raw")])
def test_import_template(gw, ec2, files, src, fmt):
    name = "imported-%s" % src
    t0 = time.time()
    r = gw.admin("image-import", "file://" + files[src], "--name", name, "--format", fmt,
                 "--description", "from a file")
    print("image-import %s as template: %.1fs" % (src, time.time() - t0))
    jid, pcts, end, last = progress(r.stdout)
    assert jid and jid.startswith("import-ami-"), r.stdout
    assert end == "SUCCESS", r.stdout
    assert pcts == sorted(pcts) and all(0 <= p <= 100 for p in pcts), pcts
    ami = last
    assert re.fullmatch(r"ami-[0-9a-f]{17}", ami), r.stdout

    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert img["State"] == "available" and img["Name"] == name, img
    t = task(ec2, jid)
    assert t["Status"] == "completed" and t.get("ImageId") == ami, t
    rows = {row[0]: row for row in jobs_rows(gw)}
    assert rows[jid][2] == "SUCCESS" and rows[jid][3] == "100%" and rows[jid][4] == ami, rows
    w = gw.admin("jobs", "--watch", jid)
    assert "SUCCESS" in w.stdout, w.stdout
    lg = gw.admin("jobs", "--log", jid)
    assert lg.stdout.strip(), "jobs --log printed nothing"


@pytest.mark.parametrize("src,fmt", [("qcow2", "qcow2"), ("raw", "raw")])
def test_import_volume(gw, ec2, files, src, fmt):
    before = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    r = gw.admin("image-import", files[src], "--as", "volume", "--zone", "cloudgate-a")
    jid, pcts, end, vid = progress(r.stdout)
    assert jid and jid.startswith("import-vol-") and end == "SUCCESS", r.stdout
    assert pcts == sorted(pcts), pcts
    assert re.fullmatch(r"vol-[0-9a-f]{17}", vid), r.stdout
    vols = {v["VolumeId"]: v for v in ec2.describe_volumes()["Volumes"]}
    assert set(vols) - before == {vid}, vols
    v = vols[vid]
    assert v["State"] == "available" and v["AvailabilityZone"] == "cloudgate-a", v
    want = QCOW2_VSIZE if src == "qcow2" else RAW_SIZE
    assert v["Size"] == max(1, -(-want // (1 << 30))), v    # GiB, rounded up
    rows = {row[0]: row for row in jobs_rows(gw)}
    assert rows[jid][2] == "SUCCESS" and rows[jid][4] == vid, rows


def test_jobs_list_newest_first(gw):
    rows = jobs_rows(gw)
    assert rows and all(len(row) == 6 for row in rows), rows
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids))
    # Newest first: the volume imports above ran after the template ones.
    vol = [i for i, row in enumerate(rows) if row[0].startswith("import-vol-")]
    ami = [i for i, row in enumerate(rows) if row[0].startswith("import-ami-")]
    assert vol and ami and max(vol) < min(ami), ids


def test_outside_import_dirs_refused(gw, ec2, files):
    before = jobs_rows(gw)
    for arg in (files["outside"], "file://" + files["outside"],
                "file://" + os.path.join(files["import"], "link-out.raw"),
                "file://" + files["import"] + "/../outside.raw", "file:///etc/passwd"):
        r = gw.admin("image-import", arg, "--format", "raw", check=False)
        assert r.returncode == 1, (arg, r.returncode, r.stdout, r.stderr)
        assert "import_dirs" in r.stderr or "not allowed" in r.stderr, (arg, r.stderr)
        assert not re.search(r"^(ami|vol)-", r.stdout, re.M), r.stdout
    assert jobs_rows(gw) == before     # refused before any job was recorded
    assert no_pending(ec2) == []


def test_bad_header_fails_and_watch_says_so(gw, ec2, files):
    images = len(ec2.describe_images()["Images"])
    r = gw.admin("image-import", files["bogus"], "--format", "qcow2", "--name", "bogus",
                 check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    jid, _, end, _ = progress(r.stdout)
    assert end == "FAILED" and "FAILED" in r.stderr, (r.stdout, r.stderr)
    assert len(ec2.describe_images()["Images"]) == images and no_pending(ec2) == []
    assert gw.admin("jobs", "--watch", jid, check=False).returncode == 1
    assert gw.admin("jobs", "--watch", "import-ami-00000000000000000",
                    check=False).returncode == 1
    assert gw.admin("jobs", "--log", "import-ami-00000000000000000",
                    check=False).returncode == 1


def test_progress_bar_on_a_terminal(gw, files):
    """On a terminal: one line redrawn in place with percent, rate and ETA."""
    master, slave = pty.openpty()
    p = subprocess.Popen([ADMIN, "-c", gw.conf, "image-import", files["raw"], "--as",
                          "volume"], stdout=slave, stderr=subprocess.PIPE, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        assert p.wait(timeout=30) == 0, p.stderr.read()
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.decode(errors="replace")
    assert re.search(r"\r(import-vol-[0-9a-f]{17}) \[[#-]{30}\] +100%", text), text
    assert "\x1b[K" in text and "SUCCESS" in text, text
    assert re.search(r"^vol-[0-9a-f]{17}\r?$", text, re.M), text


def slow_import(gw, url, name):
    p = subprocess.Popen([ADMIN, "-c", gw.conf, "image-import", url, "--format", "raw",
                          "--name", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    jid = None
    lines = []
    deadline = time.time() + 60
    # Wait until bytes flow: a progress line above 0%.
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = LINE_RE.match(line.rstrip("\n"))
        if m and int(m.group(2)) > 0:
            jid = m.group(1)
            break
    if not jid:
        p.kill()
        out, err = p.communicate(timeout=30)
        raise AssertionError("no progress from the slow import: %s%s\n%s" % (
            "".join(lines), out, err))
    return p, jid, lines


def stop_with(p, what, action):
    """Do action, wait (bounded) for the admin to exit; it never outlives this."""
    try:
        t0 = time.time()
        action()
        out, err = p.communicate(timeout=SIGNAL_WAIT)
        print("%s -> admin exit: %.1fs" % (what, time.time() - t0))
        return out, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_sigint_cancels_and_rolls_back(gw, ec2, slow_url):
    p, jid, lines = slow_import(gw, slow_url, "slow-sigint")
    # Plain lines come at most once a second (the progress message changes
    # with every chunk).
    stamps = []
    for _ in range(3):
        lines.append(p.stdout.readline())
        stamps.append(time.time())
        assert LINE_RE.match(lines[-1]), lines
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert min(gaps) > 0.8, gaps
    t = task(ec2, jid)
    assert t["Status"] == "active" and 0 < int(t["Progress"]) < 100, t
    out, err = stop_with(p, "SIGINT", lambda: p.send_signal(signal.SIGINT))
    assert p.returncode == 130, (p.returncode, out, err)
    _, _, end, _ = progress("".join(lines) + out)
    assert end == "CANCELLED", out
    rows = {row[0]: row for row in jobs_rows(gw)}
    assert rows[jid][2] == "CANCELLED", rows[jid]
    assert task(ec2, jid)["Status"] == "deleted"
    assert no_pending(ec2) == []
    assert not ec2.describe_images(Filters=[{"Name": "name", "Values": ["slow-sigint"]}])[
        "Images"]


def test_cancel_import_task_reaches_the_admin(gw, ec2, slow_url):
    """CancelImportTask to the daemon stops the job running in the admin."""
    p, jid, _ = slow_import(gw, slow_url, "slow-ec2-cancel")
    out, err = stop_with(p, "CancelImportTask", lambda: ec2.cancel_import_task(ImportTaskId=jid))
    assert p.returncode == 1 and "CANCELLED" in err, (p.returncode, out, err)
    wait_for("task deleted", lambda: task(ec2, jid)["Status"] == "deleted", 30)
    assert no_pending(ec2) == []


def test_jobs_follows_a_daemon_job(gw, ec2, slow_url):
    """jobs reads the store only: a job the daemon runs (EC2 ImportImage)
    shows in the list while it runs, and --watch follows it to its end."""
    jid = ec2.import_image(Description="daemon-run",
                           DiskContainers=[{"Format": "raw", "Url": slow_url}])["ImportTaskId"]
    try:
        row = wait_for("the daemon's job running with progress", lambda: next(
            (r for r in jobs_rows(gw) if r[0] == jid and r[2] == "RUNNING" and r[3] != "0%"),
            None), 60, interval=0.5)
        assert row[1] == "import-image", row
        watch = subprocess.Popen([ADMIN, "-c", gw.conf, "jobs", "--watch", jid],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        out, err = stop_with(watch, "CancelImportTask (daemon job)",
                             lambda: ec2.cancel_import_task(ImportTaskId=jid))
    finally:
        if task(ec2, jid)["Status"] == "active":
            ec2.cancel_import_task(ImportTaskId=jid)
    assert watch.returncode == 1, (out, err)
    pcts = [int(m.group(2)) for m in map(LINE_RE.match, out.splitlines()) if m]
    assert pcts and pcts == sorted(pcts), out
    assert END_RE.search(out.splitlines()[-1]) and "CANCELLED" in out, out
    wait_for("task deleted", lambda: task(ec2, jid)["Status"] == "deleted", 30)
    assert no_pending(ec2) == []
