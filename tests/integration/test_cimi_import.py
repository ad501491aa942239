"""CIMI's import operation on the machines and machineImages collections
(virt-v2v imports) and the 409 on a machine an import holds locked, on the
real daemon over libvirt's test:// driver.

test:// has no local pool directory virt-v2v could write into, so a
well-formed import is refused at submit (501) after every check has passed;
what runs here is everything decided before a conversion: the operation
advertised, the Action read in JSON and XML, each refusal with its status
(400 malformed, 404 unknown provider or VM, 409 running VM) and nothing made
(machines, images, jobs, EC2's DescribeInstances through boto3 and the aws
CLI).  The conversion itself through CIMI is
tests/system/test_v2v_libvirt_qemu.py (CG_SLOW_V2V=1).

The locked machine: an import job's lock is a row in the state database
(shared by the daemon and cloudgate-admin), written here for an instance
of the test driver as the job writes it; every CIMI operation then answers
409 at once and EC2 IncorrectInstanceState, and the machine advertises no
operation; without the row the same DELETE is accepted."""
import json
import os
import shutil
import sqlite3
import tempfile
import time
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest
import requests

from conftest import make_gateway
from test_cimi import JSON, NS, XML, Cimi, validate
from test_v2v_providers import source_node
from test_v2v_vm_import import instance_ids  # boto3 and the aws CLI agree

IMPORT = NS + "/action/import"


@pytest.fixture(scope="module")
def dirs():
    d = tempfile.mkdtemp(prefix="cg-cimi-import-")
    outside = tempfile.mkdtemp(prefix="cg-cimi-outside-")
    for name in ("vm.ova", "disk.vmdk", "disk.qcow2"):
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"not really a disk" * 100)
    with open(os.path.join(outside, "vm.ova"), "wb") as f:
        f.write(b"x" * 1000)
    os.symlink(os.path.join(outside, "vm.ova"), os.path.join(d, "link.ova"))
    node, _, _ = source_node(d)
    yield d, outside, node
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(outside, ignore_errors=True)


@pytest.fixture(scope="module")
def gw(dirs):
    d, _, node = dirs
    g = make_gateway(extra_gateway="import_dirs = %s\n" % d)
    g.stop()
    with open(g.conf, "a") as f:
        f.write("[v2v src]\nuri = test://%s\n" % node)
    g.start()
    yield g
    assert g.stop() == 0, g.log_text()


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


def post(gw, cimi, path, body, ctype=JSON):
    data = json.dumps(body) if ctype == JSON and not isinstance(body, str) else body
    return requests.post(gw.endpoint + path, data=data, auth=cimi.auth, timeout=60,
                         headers={"Content-Type": ctype, "Accept": JSON})


def action(source=None, **kw):
    body = {"resourceURI": NS + "/Action", "action": IMPORT}
    if source is not None:
        body["source"] = source
    body.update(kw)
    return body


def world(gw, cimi):
    """What an import could make: machines, images, jobs, EC2 instances."""
    return ({k: sorted(e["id"] for e in cimi.json("/cimi/" + k)[k])
             for k in ("machines", "machineImages", "jobs")}, instance_ids(gw))


def refused(gw, cimi, path, body, status, why, ctype=JSON):
    before = world(gw, cimi)
    r = post(gw, cimi, path, body, ctype)
    assert r.status_code == status, (body, r.status_code, r.text)
    assert why in r.text, (why, r.text)
    assert world(gw, cimi) == before  # nothing made
    return r


# ---- the operation is advertised --------------------------------------------------

@pytest.mark.parametrize("coll", ["machines", "machineImages"])
def test_collection_advertises_import(gw, cimi, coll):
    ops = {o["rel"]: o["href"] for o in cimi.json("/cimi/" + coll)["operations"]}
    assert ops[IMPORT] == gw.endpoint + "/cimi/" + coll
    assert ops["add"] == gw.endpoint + "/cimi/" + coll
    root = cimi.xml("/cimi/" + coll)  # validated against DSP8009
    rels = {o.get("rel") for o in root.findall("{%s}operation" % NS)}
    assert {IMPORT, "add"} <= rels


def test_machine_collection_operations_stay_on_entries(gw, cimi):
    """import is a collection's operation: a machine still refuses it (501)."""
    r = gw.client().run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                                  InstanceType="t2.micro")
    iid = r["Instances"][0]["InstanceId"]
    try:
        m = cimi.json("/cimi/machines/" + iid)
        assert IMPORT not in {o["rel"] for o in m["operations"]}
        r = post(gw, cimi, "/cimi/machines/" + iid, action("v2v://src/legacy"))
        assert r.status_code == 501, r.text
    finally:
        gw.client().terminate_instances(InstanceIds=[iid])


# ---- refusals: nothing made --------------------------------------------------------

@pytest.mark.parametrize("body, status, why", [
    (action(), 400, "needs a source"),
    (action(""), 400, "needs a source"),
    (action(42), 400, "'source' in Action must be a string"),
    (action("ftp://host/vm.ova"), 400, "neither v2v://PROVIDER/VM nor file:///PATH"),
    (action("v2v://src"), 400, "is not v2v://PROVIDER/VM"),
    (action("v2v://src/"), 400, "is not v2v://PROVIDER/VM"),
    (action("v2v:///legacy"), 400, "is not v2v://PROVIDER/VM"),
    (action("v2v://-bad/legacy"), 400, "is not a provider name"),
    (action("v2v://src/a\u0001b"), 400, "control character"),
    (action("v2v://nosuch/legacy"), 404, "nosuch"),
    (action("v2v://src/ghost"), 404, "ghost"),
    (action("v2v://src/live"), 409, "shut-off"),
    (action("v2v://src/legacy", machineConfig={"href": "machineConfigs/x9.nonesuch"}), 400, "x9.nonesuch"),
    (action("v2v://src/legacy", machineConfig="t2.micro"), 400, "machineConfig"),
    (action("v2v://src/legacy", properties={"display": "rdp"}), 400, "display"),
    (action("v2v://src/legacy", properties={"owner": "qa"}), 400, "owner"),
    (action("v2v://src/legacy", properties={"seal": "true"}), 400, "are for images"),
    (action("v2v://src/legacy", description="d"), 400, "are for images"),
    (action("v2v://src/legacy", name=""), 400, "name is 1 to 127"),
    (action("v2v://src/legacy", name="n" * 128), 400, "name is 1 to 127"),
    (dict(action("v2v://src/legacy"), action=NS + "/action/export"), 400, "only the"),
    (dict(action("v2v://src/legacy"), action="import"), 400, "only the"),
    (dict(action("v2v://src/legacy"), resourceURI=NS + "/Machine"), 400, "resourceURI"),
])
def test_machine_import_refused(gw, cimi, body, status, why):
    refused(gw, cimi, "/cimi/machines", body, status, why)


@pytest.mark.parametrize("name, why", [
    ("outside", "is not under a directory"),
    ("link", "is not under a directory"),
    ("missing", "No such file"),
    ("qcow2", "must end in .ova, .vmdk or .vhdx"),
])
def test_file_import_refused(gw, cimi, dirs, name, why):
    d, outside, _ = dirs
    path = {"outside": os.path.join(outside, "vm.ova"), "link": os.path.join(d, "link.ova"),
            "missing": os.path.join(d, "missing.ova"),
            "qcow2": os.path.join(d, "disk.qcow2")}[name]
    for coll in ("machines", "machineImages"):
        refused(gw, cimi, "/cimi/" + coll,
                action("file://" + path, machineConfig={"href": "machineConfigs/t2.micro"})
                if coll == "machines" else action("file://" + path), 400, why)


def test_file_machine_needs_a_config(gw, cimi, dirs):
    """An OVA says nothing of the size virt-v2v will keep: a machineConfig is needed."""
    d, _, _ = dirs
    refused(gw, cimi, "/cimi/machines", action("file://" + d + "/vm.ova"), 400,
            "machineConfig")


def test_image_import_refused(gw, cimi):
    refused(gw, cimi, "/cimi/machineImages",
            action("v2v://src/legacy", machineConfig={"href": "machineConfigs/t2.micro"}), 400,
            "are for machines")
    refused(gw, cimi, "/cimi/machineImages",
            action("v2v://src/legacy", properties={"seal": "maybe"}), 400, "seal")
    refused(gw, cimi, "/cimi/machineImages", action("v2v://src/live"), 409, "shut-off")
    refused(gw, cimi, "/cimi/machineImages", action("v2v://nosuch/legacy"), 404, "nosuch")
    # a VM with two disks makes a template too (its second disk a snapshot
    # the image maps): only test://'s missing pool directory refuses it
    r = refused(gw, cimi, "/cimi/machineImages", action("v2v://src/db"), 501, "local")
    assert "disks" not in r.text, r.text


def test_xml_action(gw, cimi):
    """The same Action in XML: read from its root, refused alike."""
    body = ('<Action xmlns="%s"><action>%s</action><source>v2v://src/live</source>'
            '<name>x</name></Action>' % (NS, IMPORT))
    refused(gw, cimi, "/cimi/machines", body, 409, "shut-off", ctype=XML)
    body = '<Action xmlns="%s"><action>%s</action></Action>' % (NS, IMPORT)
    refused(gw, cimi, "/cimi/machines", body, 400, "needs a source", ctype=XML)
    body = '<Volume xmlns="%s"><action>%s</action></Volume>' % (NS, IMPORT)
    refused(gw, cimi, "/cimi/machines", body, 400, "root element", ctype=XML)


@pytest.mark.parametrize("coll, body", [
    ("machines", action("v2v://src/legacy", name="from-src",
                        machineConfig={"href": "machineConfigs/t2.micro"},
                        properties={"display": "vnc"})),
    ("machines", action("v2v://src/legacy")),
    # two disks: the second becomes a volume of the machine
    ("machines", action("v2v://src/db", machineConfig={"href": "machineConfigs/t2.micro"})),
    ("machineImages", action("v2v://src/legacy", name="legacy-image",
                             properties={"seal": "false", "owner": "qa"})),
    ("machineImages", action("file:///IMPORT/vm.ova", name="from-ova")),
    ("machines", action("file:///IMPORT/disk.vmdk", machineConfig={"href": "machineConfigs/t2.micro"})),
])
def test_valid_import_reaches_the_pool_check(gw, cimi, dirs, coll, body):
    """Every check passed: test:// has no pool directory to convert into,
    so 501 naming it, and still nothing made."""
    d, _, _ = dirs
    body = json.loads(json.dumps(body).replace("/IMPORT", d))
    refused(gw, cimi, "/cimi/" + coll, body, 501, "local directory")


def test_machine_create_still_served(gw, cimi):
    """The collection's POST still takes a MachineCreate (no action member)."""
    r = post(gw, cimi, "/cimi/machines", {
        "resourceURI": NS + "/MachineCreate", "name": "plain",
        "machineTemplate": {"machineConfig": {"href": "machineConfigs/t2.micro"},
                            "machineImage": {"href": "machineImages/" + gw.image_id}}})
    assert r.status_code == 202, r.text
    loc = r.headers["Location"]
    assert "/cimi/machines/i-" in loc, loc
    deadline = time.time() + 60
    while cimi.json(r.headers["CIMI-Job-URI"])["state"] not in ("SUCCESS", "FAILED"):
        assert time.time() < deadline
        time.sleep(0.2)
    requests.delete(loc, auth=cimi.auth, timeout=30)


# ---- a machine an import holds locked -----------------------------------------------

@pytest.fixture
def locked(gw):
    """A running test:// instance with the lock row an import job writes."""
    ec2 = gw.client()
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    db = sqlite3.connect(os.path.join(gw.dir, "state", "cloudgate.db"), timeout=30)
    with db:
        db.execute("INSERT INTO v2v_locks (instance_id, job_id, zone, created)"
                   " VALUES (?, 'import-i-0123456789abcdef0', 'cloudgate-a', ?)",
                   (iid, int(time.time())))
    yield iid, db
    with db:
        db.execute("DELETE FROM v2v_locks WHERE instance_id = ?", (iid,))
    db.close()
    try:
        ec2.terminate_instances(InstanceIds=[iid])
    except botocore.exceptions.ClientError:
        pass


def test_locked_machine_refuses_everything(gw, cimi, locked):
    iid, db = locked
    url = gw.endpoint + "/cimi/machines/" + iid
    m = cimi.json("/cimi/machines/" + iid)
    assert m["state"] == "CREATING", m
    assert m.get("operations", []) == [], m
    assert m["properties"]["job"].endswith("/cimi/jobs/import-i-0123456789abcdef0"), m
    validate(cimi.get("/cimi/machines/" + iid, XML).content)
    jobs = cimi.json("/cimi/jobs")["count"]
    r = requests.delete(url, auth=cimi.auth, timeout=30, headers={"Accept": JSON})
    assert r.status_code == 409, r.text
    assert "being imported by job import-i-0123456789abcdef0" in r.json()["message"]
    for op in ("stop", "start", "restart", "capture", "pause"):
        r = post(gw, cimi, "/cimi/machines/" + iid,
                 {"resourceURI": NS + "/Action", "action": NS + "/action/" + op})
        assert r.status_code == 409, (op, r.text)
    r = requests.put(url, data=json.dumps({"name": "renamed"}), auth=cimi.auth, timeout=30,
                     headers={"Content-Type": JSON, "Accept": JSON})
    assert r.status_code == 409, r.text
    r = post(gw, cimi, "/cimi/machines/%s/graphicsConsoles" % iid, {"protocol": "vnc"})
    assert r.status_code == 409, r.text
    r = post(gw, cimi, "/cimi/machines/%s/volumes" % iid,
             {"resourceURI": NS + "/MachineVolume", "initialLocation": "/dev/vdb",
              "volume": {"href": "vol-00000000000000000"}})
    assert r.status_code == 409, r.text
    assert cimi.json("/cimi/jobs")["count"] == jobs  # no job was made
    assert cimi.json("/cimi/machines/" + iid).get("name") != "renamed"
    # EC2: IncorrectInstanceState, through boto3 and the aws CLI
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gw.client().terminate_instances(InstanceIds=[iid])
    assert e.value.response["Error"]["Code"] == "IncorrectInstanceState"
    r = gw.aws("stop-instances", "--instance-ids", iid, check=False)
    assert r.returncode != 0 and "IncorrectInstanceState" in r.stderr, r.stderr
    states = {i["InstanceId"]: i["State"]["Name"]
              for res in gw.aws("describe-instances")["Reservations"] for i in res["Instances"]}
    assert states[iid] == "pending"
    # Unlocked (the job ended): the same DELETE is accepted.
    with db:
        db.execute("DELETE FROM v2v_locks WHERE instance_id = ?", (iid,))
    m = cimi.json("/cimi/machines/" + iid)
    assert "delete" in {o["rel"] for o in m["operations"]}
    r = requests.delete(url, auth=cimi.auth, timeout=30, headers={"Accept": JSON})
    assert r.status_code == 202, r.text
