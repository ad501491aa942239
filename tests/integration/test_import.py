"""ImportImage / DescribeImportImageTasks / CancelImportTask and the
asynchronous CreateImage, through boto3 and the aws CLI, on the real daemon
(libvirt's test:// driver: volumes have no contents there, so what is
checked is the whole path up to libvirt, the header, size and checksum
checks, progress, cancel and the image states).  The sources are local
files under the configured import_dirs and an HTTP server on 127.0.0.1 that
this test runs.  Real disks in a real pool: tests/system."""
import base64
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import time

import botocore.exceptions
import pytest

from cgharness import wait_for
from conftest import make_gateway

MB = 1024 * 1024


def qemu_img(*args):
    subprocess.run(["qemu-img"] + list(args), check=True, capture_output=True)


@pytest.fixture(scope="module")
def files():
    d = tempfile.mkdtemp(prefix="cg-import-")
    os.chmod(d, 0o755)
    paths = {
        "qcow2": os.path.join(d, "disk.qcow2"),
        "raw": os.path.join(d, "disk.raw"),
        "backed": os.path.join(d, "backed.qcow2"),
        "big": os.path.join(d, "big.raw"),
    }
    qemu_img("create", "-f", "qcow2", paths["qcow2"], "64M")
    with open(paths["raw"], "wb") as f:
        f.write(os.urandom(3 * MB + 512))
    # A qcow2 whose backing file is outside any pool: must be refused.
    outside = os.path.join(d, "outside", "base.qcow2")
    os.mkdir(os.path.dirname(outside))
    qemu_img("create", "-f", "qcow2", outside, "16M")
    qemu_img("create", "-f", "qcow2", "-b", outside, "-F", "qcow2", paths["backed"])
    with open(paths["big"], "wb") as f:
        f.truncate(64 * MB)
    yield d, paths
    shutil.rmtree(d, ignore_errors=True)


class Trickle(http.server.BaseHTTPRequestHandler):
    """Serves /big (64 MiB of zeros) slowly, /small fast, /nolength without
    Content-Length."""
    delay = 0.05
    authorizations = []

    def do_GET(self):
        self.authorizations.append(self.headers.get("Authorization"))
        self.path = self.path.split("?")[0]
        if self.path == "/small":
            body = b"\0" * (2 * MB)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/nolength":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"\0" * 65536)
            return
        if self.path == "/missing":
            self.send_error(404)
            return
        size = 64 * MB
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"\0" * (256 * 1024)
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
                time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def web():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def igw(files):
    d, _ = files
    g = make_gateway(extra_gateway="import_dirs = %s\n" % d)
    yield g
    assert g.stop() == 0, g.log_text()


@pytest.fixture
def ec2(igw):
    return igw.client()


def task(ec2, tid):
    return ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]


def wait_task(ec2, tid, timeout=60):
    seen = []

    def done():
        t = task(ec2, tid)
        seen.append(t)
        return t["Status"] != "active"
    wait_for("import task %s" % tid, done, timeout, interval=0.2)
    return seen[-1], seen


def pending_images(ec2):
    return [i["ImageId"] for i in ec2.describe_images()["Images"] if i["State"] != "available"]


def test_import_qcow2_file_then_launch(ec2, files):
    _, p = files
    r = ec2.import_image(Description="a qcow2 file",
                         DiskContainers=[{"Format": "qcow2", "Url": "file://" + p["qcow2"]}])
    assert r["ImportTaskId"].startswith("import-ami-")
    assert r["Status"] == "active"
    t, _ = wait_task(ec2, r["ImportTaskId"])
    assert t["Status"] == "completed", t
    assert t["Description"] == "a qcow2 file"
    assert t["SnapshotDetails"][0]["Format"] == "qcow2"
    assert t["SnapshotDetails"][0]["DiskImageSize"] == os.path.getsize(p["qcow2"])
    img = ec2.describe_images(ImageIds=[t["ImageId"]])["Images"][0]
    assert img["State"] == "available"
    assert img["PlatformDetails"] == "Linux/UNIX"
    # The virtual size from the qcow2 header, not the file's size.
    assert img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 1
    ec2.get_waiter("image_available").wait(ImageIds=[t["ImageId"]],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    inst = ec2.run_instances(ImageId=t["ImageId"], MinCount=1, MaxCount=1,
                             InstanceType="t2.micro")["Instances"][0]
    assert inst["ImageId"] == t["ImageId"]
    ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_import_raw_detected_without_format(igw, files):
    _, p = files
    out = igw.aws("import-image", "--disk-containers", "Url=file://%s" % p["raw"])
    tid = out["ImportTaskId"]
    ec2 = igw.client()
    t, _ = wait_task(ec2, tid)
    assert t["Status"] == "completed", t
    assert t["SnapshotDetails"][0]["DiskImageSize"] == os.path.getsize(p["raw"])
    img = ec2.describe_images(ImageIds=[t["ImageId"]])["Images"][0]
    assert img["State"] == "available"


@pytest.mark.parametrize("name,fmt,why", [
    ("backed", "qcow2", "backing file"),
    ("raw", "qcow2", "not qcow2"),
    ("qcow2", "raw", "qcow2, not raw"),
])
def test_bad_disks_end_deleted_and_leave_nothing(ec2, files, name, fmt, why):
    _, p = files
    before = {i["ImageId"] for i in ec2.describe_images()["Images"]}
    r = ec2.import_image(DiskContainers=[{"Format": fmt, "Url": "file://" + p[name]}])
    t, _ = wait_task(ec2, r["ImportTaskId"])
    assert t["Status"] == "deleted"
    assert why in t["StatusMessage"], t
    assert "ImageId" not in t
    assert {i["ImageId"] for i in ec2.describe_images()["Images"]} == before


@pytest.mark.parametrize("url,why", [
    ("file:///etc/passwd", "not under a directory imports may read"),
    ("file:///nonexistent/disk.img", "cannot import"),
    ("glance://nosuch/0b6b0f5e-0000-4000-8000-000000000000", "no Glance provider called nosuch"),
    ("ftp://127.0.0.1/disk.img", "not a glance://"),
    ("glance://missing-id", "glance://PROVIDER/IMAGE_ID"),
])
def test_refused_at_once(ec2, url, why):
    before = ec2.describe_import_image_tasks()["ImportImageTasks"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_image(DiskContainers=[{"Url": url}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue", e.value.response
    assert why in e.value.response["Error"]["Message"]
    assert ec2.describe_import_image_tasks()["ImportImageTasks"] == before


def test_parameters_refused(ec2, files):
    _, p = files
    before = ec2.describe_import_image_tasks()["ImportImageTasks"]
    cases = [
        ({"DiskContainers": [{"Format": "vhd", "Url": "file://" + p["raw"]}]},
         "InvalidParameterValue", "VHDX"),
        ({"DiskContainers": [{"Format": "qcow2"}]}, "MissingParameter", "DiskContainer.1.Url"),
        ({"DiskContainers": [{"Url": "file://" + p["raw"]}, {"Url": "file://" + p["raw"]}]},
         "InvalidParameterValue", "one DiskContainer"),
        ({"DiskContainers": [{"UserBucket": {"S3Bucket": "b", "S3Key": "k"}}]},
         "InvalidParameterValue", "S3"),
        # Only cloudgate:seal is a setting here; a stored cloudgate: tag
        # could never be deleted.
        ({"DiskContainers": [{"Url": "file://" + p["raw"]}],
          "TagSpecifications": [{"ResourceType": "import-image-task",
                                 "Tags": [{"Key": "cloudgate:display", "Value": "vnc"}]}]},
         "InvalidParameterValue", "reserved"),
    ]
    for kw, code, why in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ec2.import_image(**kw)
        assert e.value.response["Error"]["Code"] == code, (kw, e.value.response)
        assert why in e.value.response["Error"]["Message"]
    assert ec2.describe_import_image_tasks()["ImportImageTasks"] == before
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.import_image(DryRun=True, DiskContainers=[{"Url": "file://" + p["raw"]}])
    assert e.value.response["Error"]["Code"] == "DryRunOperation"


def test_http_import_with_progress(ec2, web):
    r = ec2.import_image(DiskContainers=[{"Format": "raw", "Url": web + "/big"}])
    t, seen = wait_task(ec2, r["ImportTaskId"], timeout=120)
    assert t["Status"] == "completed", t
    progress = [int(s["Progress"]) for s in seen if "Progress" in s]
    assert progress == sorted(progress), progress
    assert any(0 < x < 100 for x in progress), progress
    assert t["SnapshotDetails"][0]["DiskImageSize"] == 64 * MB


def test_secrets_in_the_url_are_used_but_never_shown(ec2, web, igw):
    """A password and a presigned-style query reach the server but not the
    task record, DescribeImportImageTasks or the job's log."""
    url = web.replace("http://", "http://alice:s3cr3tpw@") + "/small?X-Amz-Signature=t0ken42"
    Trickle.authorizations.clear()
    r = ec2.import_image(DiskContainers=[{"Format": "raw", "Url": url}])
    t, _ = wait_task(ec2, r["ImportTaskId"])
    assert t["Status"] == "completed", t
    assert base64.b64encode(b"alice:s3cr3tpw").decode() in str(Trickle.authorizations)
    shown = t["SnapshotDetails"][0]["Url"]
    assert shown.startswith("http://alice:***@127.0.0.1:") and shown.endswith("/small?***"), shown
    logs = os.path.join(igw.dir, "state", "jobs", r["ImportTaskId"] + ".log")
    with open(logs) as f:
        text = f.read()
    assert "reading http://alice:***@" in text, text
    for where in (str(t), text, igw.log_text()):
        assert "s3cr3tpw" not in where and "t0ken42" not in where


@pytest.mark.parametrize("path,why", [("/nolength", "Content-Length"),
                                      ("/missing", "HTTP 404")])
def test_http_failures(ec2, web, path, why):
    r = ec2.import_image(DiskContainers=[{"Url": web + path}])
    t, _ = wait_task(ec2, r["ImportTaskId"])
    assert t["Status"] == "deleted" and why in t["StatusMessage"], t


def test_cancel_midway_and_pending_image_is_unavailable(ec2, web):
    before = {i["ImageId"] for i in ec2.describe_images()["Images"]}
    r = ec2.import_image(DiskContainers=[{"Format": "raw", "Url": web + "/big"}])
    tid = r["ImportTaskId"]
    wait_for("progress", lambda: int(task(ec2, tid).get("Progress", "0")) > 0, 30, 0.1)
    # The template exists as pending while the bytes arrive; it cannot launch.
    pend = pending_images(ec2)
    assert len(pend) == 1
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.run_instances(ImageId=pend[0], MinCount=1, MaxCount=1, InstanceType="t2.micro")
    assert e.value.response["Error"]["Code"] == "InvalidAMIID.Unavailable"
    c = ec2.cancel_import_task(ImportTaskId=tid, CancelReason="test")
    assert c["State"] == "deleting" and c["PreviousState"] == "active"
    t, _ = wait_task(ec2, tid)
    assert t["Status"] == "deleted" and t["StatusMessage"] == "cancelled", t
    assert {i["ImageId"] for i in ec2.describe_images()["Images"]} == before
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.cancel_import_task(ImportTaskId=tid)
    assert e.value.response["Error"]["Code"] == "IncorrectState"


def test_describe_tasks_filters_ids_and_paging(ec2, files):
    # Tasks of its own: two that complete and one that ends deleted.
    _, p = files
    mine = {}
    for fmt, name in (("raw", "raw"), ("qcow2", "qcow2"), ("qcow2", "raw")):
        tid = ec2.import_image(DiskContainers=[{"Format": fmt, "Url": "file://" + p[name]}])[
            "ImportTaskId"]
        mine[tid] = None
    for tid in mine:
        mine[tid] = wait_task(ec2, tid)[0]["Status"]
    assert sorted(mine.values()) == ["completed", "completed", "deleted"]
    all_tasks = ec2.describe_import_image_tasks()["ImportImageTasks"]
    assert set(mine) <= {t["ImportTaskId"] for t in all_tasks}

    def by_state(state):
        return ec2.describe_import_image_tasks(
            Filters=[{"Name": "task-state", "Values": [state]}])["ImportImageTasks"]
    for state in ("completed", "deleted"):
        got = by_state(state)
        assert all(t["Status"] == state for t in got), got
        assert {tid for tid, s in mine.items() if s == state} <= {t["ImportTaskId"] for t in got}
    got, token = [], None
    while True:
        kw = {"MaxResults": 1}
        if token:
            kw["NextToken"] = token
        r = ec2.describe_import_image_tasks(**kw)
        got += [t["ImportTaskId"] for t in r["ImportImageTasks"]]
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(got) == sorted(t["ImportTaskId"] for t in all_tasks)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_import_image_tasks(ImportTaskIds=["import-ami-00000000000000000"])
    assert e.value.response["Error"]["Code"] == "InvalidConversionTaskId.Malformed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_import_image_tasks(Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_create_image_is_asynchronous(igw, ec2):
    inst = ec2.run_instances(ImageId=igw.image_id, MinCount=1, MaxCount=1,
                             InstanceType="t2.micro")["Instances"][0]
    iid = inst["InstanceId"]
    # test:// cannot block-copy a running disk: capture it stopped.
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    r = ec2.create_image(InstanceId=iid, Name="async-capture",
                         TagSpecifications=[{"ResourceType": "image",
                                             "Tags": [{"Key": "team", "Value": "a"}]}])
    ec2.get_waiter("image_available").wait(ImageIds=[r["ImageId"]],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    img = ec2.describe_images(ImageIds=[r["ImageId"]])["Images"][0]
    assert img["State"] == "available"
    assert {"Key": "team", "Value": "a"} in img["Tags"]
    # Sealing needs the disk in a local file: test:// has none, so the job
    # fails and the image it made is gone again.
    r2 = ec2.create_image(InstanceId=iid, Name="sealed-capture",
                          TagSpecifications=[{"ResourceType": "image",
                                              "Tags": [{"Key": "cloudgate:seal",
                                                        "Value": "true"}]}])
    wait_for("sealed capture to end",
             lambda: not ec2.describe_images(
                 Filters=[{"Name": "image-id", "Values": [r2["ImageId"]]}])["Images"], 60, 0.3)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="bad-seal", TagSpecifications=[
            {"ResourceType": "image", "Tags": [{"Key": "cloudgate:seal", "Value": "maybe"}]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="async-capture")
    assert e.value.response["Error"]["Code"] == "InvalidAMIName.Duplicate"
    ec2.terminate_instances(InstanceIds=[iid])
