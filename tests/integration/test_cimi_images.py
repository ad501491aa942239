"""CIMI MachineImages made by the engine's jobs, on the real daemon over
libvirt's test:// driver: an import from a file:// URL under import_dirs or
an http:// URL (202 with the Job -> SUCCESS at progress 100 -> the image
AVAILABLE), refused imageLocations (400 naming the problem, nothing made),
DELETE (200, then 404; 409 while a job is making the image), cancelling a
running import by POSTing stop to its Job, and capture with the seal
property (test:// has no local disk to seal: the job fails and leaves no
image)."""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import make_gateway
from test_cimi import JSON, NS, XML, Cimi, validate

ACTION = NS + "/action/"


@pytest.fixture(scope="module")
def import_dir():
    d = tempfile.mkdtemp(prefix="cg-import-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def gw(import_dir):
    """This module's own daemon: file:// imports may read import_dir."""
    g = make_gateway(extra_gateway="import_dirs = %s\n" % import_dir)
    yield g
    assert g.stop() == 0, g.log_text()


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


@pytest.fixture(scope="module")
def disk(import_dir):
    """A small qcow2 disk in the import directory."""
    path = os.path.join(import_dir, "tiny.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "64M"], check=True)
    return path


def post(gw, cimi, url, body, ctype=JSON, accept=JSON):
    if not url.startswith("http"):
        url = gw.endpoint + url
    if ctype == JSON and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return requests.post(url, data=body, auth=cimi.auth, timeout=60,
                         headers={"Content-Type": ctype, "Accept": accept})


def delete(cimi, url):
    return requests.delete(url, auth=cimi.auth, timeout=30, headers={"Accept": JSON})


def wait_job(cimi, uri, timeout=120, until=("SUCCESS", "FAILED", "CANCELLED")):
    deadline = time.time() + timeout
    while True:
        job = cimi.json(uri)
        assert 0 <= job["progress"] <= 100, job
        if job["state"] in until:
            return job
        assert time.time() < deadline, job
        time.sleep(0.1)


def accepted(gw, r):
    """A 202 with the Job: Location and CIMI-Job-URI both the job."""
    assert r.status_code == 202, r.text
    uri = r.headers["CIMI-Job-URI"]
    assert uri.startswith(gw.endpoint + "/cimi/jobs/"), uri
    assert r.headers["Location"] == uri
    job = r.json() if r.headers["Content-Type"].startswith(JSON) else None
    if job:
        assert job["resourceURI"] == NS + "/Job" and job["id"] == uri
    return uri


def image_ids(cimi):
    return {i["id"].rsplit("/", 1)[1] for i in cimi.json("/cimi/machineImages")["machineImages"]}


def counts(cimi):
    return {k: cimi.json("/cimi/" + k)["count"] for k in ("machineImages", "jobs", "machines")}


def target_image(job):
    href = job.get("targetResource", {}).get("href", "")
    assert "/machineImages/ami-" in href, job
    return href


def test_import_from_file(gw, cimi, disk):
    before = image_ids(cimi)
    r = post(gw, cimi, "/cimi/machineImages", {
        "resourceURI": NS + "/MachineImage", "name": "imported", "description": "from a file",
        "type": "IMAGE", "imageLocation": "file://" + disk,
        "properties": {"format": "qcow2", "seal": "false", "owner": "qa"}})
    uri = accepted(gw, r)
    job = wait_job(cimi, uri)
    assert job["state"] == "SUCCESS" and job["progress"] == 100, job
    assert job["properties"]["source"] == "file://" + disk
    assert job["isCancellable"] is False and "operations" not in job
    image = target_image(job)
    cimi.xml(uri)  # the Job, schema-valid in XML

    img = cimi.json(image)
    assert img["resourceURI"] == NS + "/MachineImage"
    assert (img["name"], img["description"]) == ("imported", "from a file")
    assert img["state"] == "AVAILABLE" and img["type"] == "IMAGE"
    # seal and format steered the job; they are not the image's properties.
    assert img.get("properties", {}).get("owner") == "qa"
    assert "seal" not in img["properties"] and "format" not in img["properties"]
    assert {o["rel"] for o in img["operations"]} == {"delete"}
    assert image.rsplit("/", 1)[1] in image_ids(cimi) - before
    cimi.xml(image)
    cimi.xml("/cimi/machineImages")
    sel = cimi.json("/cimi/machineImages", params={"$filter": "state='AVAILABLE' and "
                                                   "name='imported'"})
    assert sel["count"] == 1
    # One world: EC2 sees the template, and machines can be made from it.
    ami = image.rsplit("/", 1)[1]
    assert gw.client().describe_images(ImageIds=[ami])["Images"][0]["State"] == "available"
    r = post(gw, cimi, "/cimi/machines", {"name": "from-import", "machineTemplate": {
        "machineConfig": {"href": gw.endpoint + "/cimi/machineConfigs/t2.micro"},
        "machineImage": {"href": image}}})
    assert wait_job(cimi, accepted_machine(r))["state"] == "SUCCESS"


def accepted_machine(r):
    assert r.status_code == 202, r.text
    return r.headers["CIMI-Job-URI"]


def test_import_xml(gw, cimi, disk):
    body = ('<MachineImage xmlns="%s"><name>imported-xml</name><imageLocation>file://%s'
            '</imageLocation><property name="format">qcow2</property></MachineImage>'
            % (NS, disk))
    r = post(gw, cimi, "/cimi/machineImages", body, XML, XML)
    assert r.status_code == 202, r.text
    validate(r.content)
    job = wait_job(cimi, r.headers["CIMI-Job-URI"])
    assert job["state"] == "SUCCESS", job
    assert cimi.json(target_image(job))["name"] == "imported-xml"


@pytest.mark.parametrize("body,status,words", [
    ({"imageLocation": "ftp://example.org/disk.qcow2"}, 400, ["ftp://"]),
    ({"imageLocation": "s3://bucket/disk"}, 400, ["imageLocation"]),
    ({"imageLocation": "file:///etc/passwd"}, 400, ["/etc/passwd"]),
    ({"imageLocation": "glance://no-such-provider/abc"}, 400, ["no-such-provider"]),
    ({"name": "x"}, 400, ["imageLocation"]),
    ({"imageLocation": ""}, 400, ["imageLocation"]),
    ({"imageLocation": 7}, 400, ["imageLocation"]),
    ({"imageLocation": "file:///tmp/x", "properties": {"seal": "maybe"}}, 400, ["seal"]),
    ({"imageLocation": "file:///tmp/x", "properties": {"format": "vmdk"}}, 400, ["format"]),
    ({"imageLocation": "file:///tmp/x", "type": "SNAPSHOT"}, 501, ["SNAPSHOT"]),
    ({"imageLocation": "machines/i-00000000000000000"}, 404, ["i-00000000000000000"]),
])
def test_refused_image_creates_make_nothing(gw, cimi, body, status, words):
    before = counts(cimi)
    r = post(gw, cimi, "/cimi/machineImages", body)
    assert r.status_code == status, r.text
    for w in words:
        assert w in r.json()["message"], r.text
    assert counts(cimi) == before


def test_delete(gw, cimi, disk):
    r = post(gw, cimi, "/cimi/machineImages", {"name": "delete-me",
                                               "imageLocation": "file://" + disk})
    job = wait_job(cimi, accepted(gw, r))
    assert job["state"] == "SUCCESS", job
    image = target_image(job)
    r = delete(cimi, image)
    assert r.status_code in (200, 204), r.text
    assert cimi.get(image).status_code == 404
    assert delete(cimi, image).status_code == 404
    r = delete(cimi, gw.endpoint + "/cimi/machineImages/ami-00000000000000000")
    assert r.status_code == 404 and "ami-00000000000000000" in r.json()["message"]
    ami = image.rsplit("/", 1)[1]
    assert not gw.client().describe_images(Filters=[{"Name": "image-id", "Values": [ami]}])[
        "Images"]


def root_snapshot(ec2, ami):
    return ec2.describe_images(ImageIds=[ami])["Images"][0]["BlockDeviceMappings"][0]["Ebs"][
        "SnapshotId"]


def snapshot_ids(ec2):
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


def test_delete_takes_the_images_own_snapshot(gw, cimi, disk):
    """CIMI has no snapshots: DELETE of a MachineImage removes the snapshot
    recorded for it (its disk), where EC2's DeregisterImage keeps it.  A
    snapshot the user made and registered as an image stays."""
    ec2 = gw.client()
    made = []
    for name in ("own-snap", "user-snap"):
        r = post(gw, cimi, "/cimi/machineImages", {"name": name, "imageLocation": "file://" + disk})
        job = wait_job(cimi, accepted(gw, r))
        assert job["state"] == "SUCCESS", job
        made.append(target_image(job).rsplit("/", 1)[1])
    own, user = (root_snapshot(ec2, ami) for ami in made)
    before = snapshot_ids(ec2)
    assert {own, user} <= before

    assert delete(cimi, gw.endpoint + "/cimi/machineImages/" + made[0]).status_code == 200
    assert snapshot_ids(ec2) == before - {own}
    assert "its snapshot %s deleted with it" % own in gw.log_text()

    # EC2's way keeps the snapshot; registered again, it is the user's.
    ec2.deregister_image(ImageId=made[1])
    assert user in snapshot_ids(ec2)
    again = ec2.register_image(Name="from-user-snap", RootDeviceName="/dev/vda",
                               BlockDeviceMappings=[{"DeviceName": "/dev/vda",
                                                     "Ebs": {"SnapshotId": user}}])["ImageId"]
    assert delete(cimi, gw.endpoint + "/cimi/machineImages/" + again).status_code == 200
    assert snapshot_ids(ec2) == before - {own}
    ec2.delete_snapshot(SnapshotId=user)


class SlowDisk(http.server.BaseHTTPRequestHandler):
    """Serves a qcow2 header then trickles zeros: an import that stays
    running until cancelled (bounded: 60 s at most)."""
    header = b""
    size = 64 << 20

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(self.size))
        self.end_headers()
        deadline = time.time() + 60
        try:
            self.wfile.write(self.header)
            while time.time() < deadline:
                self.wfile.write(b"\0" * 4096)
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass  # the gateway hung up: cancelled

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_url(disk):
    with open(disk, "rb") as f:
        SlowDisk.header = f.read(1 << 20)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowDisk)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/slow.qcow2" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_running_import_pending_then_cancelled(gw, cimi, slow_url):
    before = image_ids(cimi)
    r = post(gw, cimi, "/cimi/machineImages", {"name": "slow", "imageLocation": slow_url,
                                               "properties": {"format": "qcow2"}})
    uri = accepted(gw, r)
    # Running, with its pending image known.
    deadline = time.time() + 60
    while True:
        job = cimi.json(uri)
        if job["state"] == "RUNNING" and job.get("targetResource"):
            break
        assert job["state"] in ("QUEUED", "RUNNING"), job
        assert time.time() < deadline, job
        time.sleep(0.1)
    assert job["isCancellable"] is True
    assert {o["rel"] for o in job["operations"]} == {ACTION + "stop"}
    image = target_image(job)
    img = cimi.json(image)
    assert img["state"] == "CREATING" and img["properties"]["job"] == uri
    assert "operations" not in img  # no delete while a job makes it
    cimi.xml(image)
    r = delete(cimi, image)
    assert r.status_code == 409 and "stop the job" in r.json()["message"], r.text
    assert cimi.json(image)["state"] == "CREATING"

    # stop on the running job cancels it; the job removes the image.
    r = post(gw, cimi, uri, {"resourceURI": NS + "/Action", "action": ACTION + "stop"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] in ("STOPPING", "CANCELLED")
    job = wait_job(cimi, uri)
    assert job["state"] == "CANCELLED", job
    assert cimi.get(image).status_code == 404
    assert image_ids(cimi) == before
    # An ended job cannot be stopped again.
    r = post(gw, cimi, uri, {"action": ACTION + "stop"})
    assert r.status_code == 409, r.text


def run_stopped(gw):
    ec2 = gw.client()
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    deadline = time.time() + 60
    while ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
            "State"]["Name"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.2)
    return iid


def test_capture_by_machine_image(gw, cimi):
    iid = run_stopped(gw)
    before = image_ids(cimi)
    r = post(gw, cimi, "/cimi/machineImages", {
        "name": "captured", "description": "by POST", "type": "IMAGE",
        "imageLocation": gw.endpoint + "/cimi/machines/" + iid,
        "properties": {"seal": "false", "team": "ops"}})
    uri = accepted(gw, r)
    job = wait_job(cimi, uri)
    assert job["state"] == "SUCCESS" and job["progress"] == 100, job
    (new,) = image_ids(cimi) - before
    img = cimi.json("/cimi/machineImages/" + new)
    assert (img["name"], img["state"]) == ("captured", "AVAILABLE")
    assert img["properties"]["team"] == "ops" and "seal" not in img["properties"]
    hrefs = [job.get("targetResource", {}).get("href", "")] + [
        a["href"] for a in job.get("affectedResources", [])]
    assert any(h.endswith("/machineImages/" + new) for h in hrefs), job
    # The format property is for imports.
    r = post(gw, cimi, "/cimi/machineImages", {
        "imageLocation": "machines/" + iid, "properties": {"format": "raw"}})
    assert r.status_code == 400 and "format" in r.json()["message"]


@pytest.mark.parametrize("how", ["machineImages", "action"])
def test_capture_sealed_fails_on_test_driver(gw, cimi, how):
    """Sealing runs virt-sysprep on a local copy of the disk; test:// has
    none, so the job fails saying so and no image is left."""
    iid = run_stopped(gw)
    before = image_ids(cimi)
    if how == "machineImages":
        r = post(gw, cimi, "/cimi/machineImages", {
            "name": "sealed-" + iid, "imageLocation": "machines/" + iid,
            "properties": {"seal": "true"}})
    else:
        r = post(gw, cimi, "/cimi/machines/" + iid, {
            "action": ACTION + "capture",
            "properties": {"name": "sealed-" + iid, "seal": "true"}})
    uri = accepted(gw, r)
    job = wait_job(cimi, uri)
    assert job["state"] == "FAILED", job
    assert "seal" in job["statusMessage"].lower(), job
    assert image_ids(cimi) == before
    assert not gw.client().describe_images(Filters=[{"Name": "name",
                                                     "Values": ["sealed-" + iid]}])["Images"]
    # The machine is as it was.
    assert cimi.json("/cimi/machines/" + iid)["state"] == "STOPPED"


def test_capture_action_refuses_bad_seal(gw, cimi):
    iid = run_stopped(gw)
    before = counts(cimi)
    r = post(gw, cimi, "/cimi/machines/" + iid, {"action": ACTION + "capture",
                                                  "properties": {"seal": "yes"}})
    assert r.status_code == 400 and "seal" in r.json()["message"], r.text
    assert counts(cimi) == before


def test_volume_import(gw, cimi, disk):
    """A VolumeCreate whose volumeTemplate has a volumeImage by value with
    an imageLocation imports the volume, as a job."""
    volumes = cimi.json("/cimi/volumes")["count"]
    r = post(gw, cimi, "/cimi/volumes", {
        "name": "imported-data", "properties": {"team": "ops"},
        "volumeTemplate": {"volumeImage": {"imageLocation": "file://" + disk},
                           "volumeConfig": {"format": "qcow2"}}})
    uri = accepted(gw, r)
    job = wait_job(cimi, uri)
    assert job["state"] == "SUCCESS" and job["progress"] == 100, job
    href = job.get("targetResource", {}).get("href", "")
    assert "/volumes/vol-" in href, job
    vol = cimi.json(href)
    assert vol["name"] == "imported-data" and vol["state"] == "AVAILABLE"
    assert vol["properties"] == {"team": "ops"}
    cimi.xml(href)
    assert delete(cimi, href).status_code == 200
    # XML, with a format the header contradicts: the job fails, nothing stays.
    body = ('<VolumeCreate xmlns="%s"><name>wrong-format</name><volumeTemplate><volumeConfig>'
            '<format>raw</format></volumeConfig><volumeImage><imageLocation>file://%s'
            '</imageLocation></volumeImage></volumeTemplate></VolumeCreate>' % (NS, disk))
    r = post(gw, cimi, "/cimi/volumes", body, XML, XML)
    assert r.status_code == 202, r.text
    validate(r.content)
    job = wait_job(cimi, r.headers["CIMI-Job-URI"])
    assert job["state"] == "FAILED" and job["statusMessage"], job
    assert "raw" in job["statusMessage"], job
    assert cimi.json("/cimi/volumes")["count"] == volumes


@pytest.mark.parametrize("image,word", [
    ({"href": "volumeImages/x"}, "does not exist"),
    ({}, "imageLocation"),
    ({"imageLocation": "ftp://example.org/x"}, "ftp://"),
    ({"imageLocation": "file:///etc/hostname"}, "/etc/hostname"),
])
def test_volume_import_refused(gw, cimi, image, word):
    before = cimi.json("/cimi/volumes")["count"], counts(cimi)
    r = post(gw, cimi, "/cimi/volumes", {"volumeTemplate": {"volumeImage": image}})
    assert r.status_code == 400, r.text
    assert word in r.json()["message"], r.text
    assert (cimi.json("/cimi/volumes")["count"], counts(cimi)) == before
