"""CIMI machine actions and delete as Jobs, on the real daemon over libvirt's
test:// driver: POST an Action (JSON or XML) or DELETE -> 202 with the Job
(Location and CIMI-Job-URI) -> poll the Job to SUCCESS -> the machine's new
state, seen through CIMI and EC2.  Refusals change nothing."""
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from test_cimi import JSON, NS, XML, Cimi, validate

ACTION = NS + "/action/"


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


@pytest.fixture(scope="module")
def target(gw):
    """A running instance that refused actions must leave alone."""
    return run_one(gw)


def run_one(gw):
    ec2 = gw.client()
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1, InstanceType="t2.micro")
    iid = r["Instances"][0]["InstanceId"]
    deadline = time.time() + 60
    while ec2_state(gw, iid) != "running":
        assert time.time() < deadline, "instance never ran"
        time.sleep(0.2)
    return iid


def ec2_state(gw, iid):
    r = gw.client().describe_instances(InstanceIds=[iid])
    return r["Reservations"][0]["Instances"][0]["State"]["Name"]


def post(gw, cimi, iid, body, ctype=JSON, accept=JSON):
    return requests.post(gw.endpoint + "/cimi/machines/" + iid, auth=cimi.auth, data=body,
                         headers={"Content-Type": ctype, "Accept": accept}, timeout=30)


def action_json(name, force=None):
    d = '{"resourceURI": "%s/Action", "action": "%s%s"' % (NS, ACTION, name)
    if force is not None:
        d += ', "force": %s' % ("true" if force else "false")
    return d + "}"


def accepted(gw, r, iid, action):
    """Check a 202 answer and return the job's URI."""
    assert r.status_code == 202, r.text
    assert r.headers["CIMI-Specification-Version"] == "1.0.1"
    uri = r.headers["CIMI-Job-URI"]
    assert uri.startswith(gw.endpoint + "/cimi/jobs/job-"), uri
    assert r.headers["Location"] == uri
    job = r.json()
    assert job["resourceURI"] == NS + "/Job"
    assert job["id"] == uri
    assert job["targetResource"]["href"] == gw.endpoint + "/cimi/machines/" + iid
    assert job["action"] == action
    assert job["state"] in ("QUEUED", "RUNNING", "SUCCESS")
    return uri


def wait_job(cimi, uri, timeout=90):
    deadline = time.time() + timeout
    while True:
        job = cimi.json(uri)
        assert job["id"] == uri
        assert 0 <= job["progress"] <= 100
        if job["state"] in ("SUCCESS", "FAILED", "CANCELLED"):
            return job
        assert time.time() < deadline, job
        time.sleep(0.2)


def machine(cimi, iid):
    return cimi.json("/cimi/machines/" + iid)


def ops(m):
    return sorted(o["rel"].rsplit("/", 1)[-1] for o in m.get("operations", []))


def test_stop_start_restart_delete(gw, cimi):
    iid = run_one(gw)
    m = machine(cimi, iid)
    assert m["state"] == "STARTED"
    assert ops(m) == ["capture", "delete", "edit", "pause", "restart", "stop", "suspend"]
    for o in m["operations"]:
        assert o["href"] == (m["id"] if not o["rel"].endswith("capture")
                             else gw.endpoint + "/cimi/machineImages")

    # stop (force) -> 202 -> job SUCCESS -> STOPPED, in CIMI and EC2.
    uri = accepted(gw, post(gw, cimi, iid, action_json("stop", True)), iid, ACTION + "stop")
    job = wait_job(cimi, uri)
    assert job["state"] == "SUCCESS" and job["progress"] == 100, job
    assert job["isCancellable"] is False
    m = machine(cimi, iid)
    assert m["state"] == "STOPPED"
    assert ops(m) == ["capture", "delete", "edit", "start"]
    assert ec2_state(gw, iid) == "stopped"

    # stop again is not allowed: 409, and nothing changes (no new job).
    before = cimi.json("/cimi/jobs")["count"]
    r = post(gw, cimi, iid, action_json("stop"))
    assert r.status_code == 409, r.text
    assert "STOPPED" in r.json()["message"] and "start" in r.json()["message"]
    assert cimi.json("/cimi/jobs")["count"] == before
    assert machine(cimi, iid)["state"] == "STOPPED"

    # start, as an XML Action, answered in XML.
    body = ('<Action xmlns="%s"><action>%sstart</action></Action>' % (NS, ACTION))
    r = post(gw, cimi, iid, body, XML, XML)
    assert r.status_code == 202, r.text
    uri = r.headers["CIMI-Job-URI"]
    root = ET.fromstring(r.content)
    assert root.tag == "{%s}Job" % NS
    assert root.find("{%s}id" % NS).text == uri
    assert root.find("{%s}action" % NS).text == ACTION + "start"
    validate(r.content)
    assert wait_job(cimi, uri)["state"] == "SUCCESS"
    assert machine(cimi, iid)["state"] == "STARTED"
    assert ec2_state(gw, iid) == "running"

    # restart
    uri = accepted(gw, post(gw, cimi, iid, action_json("restart")), iid, ACTION + "restart")
    assert wait_job(cimi, uri)["state"] == "SUCCESS"
    assert machine(cimi, iid)["state"] == "STARTED"

    # The jobs are listed, newest first, and each can be read in XML.
    jobs = cimi.json("/cimi/jobs")
    assert jobs["resourceURI"] == NS + "/JobCollection"
    mine = [j for j in jobs["jobs"]
            if j.get("targetResource", {}).get("href", "").endswith("/" + iid)]
    assert [j["action"] for j in mine] == [ACTION + a for a in ("restart", "start", "stop")]
    assert all(j["state"] == "SUCCESS" for j in mine)
    for j in mine:
        root = cimi.xml(j["id"])
        assert root.find("{%s}state" % NS).text == "SUCCESS"
    root = cimi.xml("/cimi/jobs")
    assert root.tag == "{%s}Collection" % NS
    assert int(root.find("{%s}count" % NS).text) == jobs["count"]
    sel = cimi.json("/cimi/jobs?$filter=action='%srestart'" % ACTION)
    assert sel["count"] >= 1 and all(j["action"] == ACTION + "restart" for j in sel["jobs"])

    # DELETE -> job -> the machine is gone, EC2 says terminated.
    r = requests.delete(gw.endpoint + "/cimi/machines/" + iid, auth=cimi.auth,
                        headers={"Accept": JSON}, timeout=30)
    uri = accepted(gw, r, iid, "delete")
    assert wait_job(cimi, uri)["state"] == "SUCCESS"
    assert cimi.get("/cimi/machines/" + iid).status_code == 404
    assert ec2_state(gw, iid) == "terminated"
    r = requests.delete(gw.endpoint + "/cimi/machines/" + iid, auth=cimi.auth, timeout=30)
    assert r.status_code == 404


@pytest.mark.parametrize("body,ctype,status,word", [
    ("", JSON, 400, "body"),
    ("{nope", JSON, 400, "JSON"),
    ('["x"]', JSON, 400, "object"),
    ('{"resourceURI": "%s/Action"}' % NS, JSON, 400, "action"),
    ('{"action": 7}', JSON, 400, "action"),
    ('{"action": "start"}', JSON, 400, "URI"),
    ('{"action": "%sfly"}' % ACTION, JSON, 400, "fly"),
    ('{"resourceURI": "%s/Machine", "action": "%sstop"}' % (NS, ACTION), JSON, 400,
     "resourceURI"),
    ('{"action": "%sstop", "force": "yes"}' % ACTION, JSON, 400, "force"),
    ("<Action", XML, 400, "XML"),
    ('<Machine xmlns="%s"/>' % NS, XML, 400, "Action"),
    ('<Action xmlns="%s"/>' % NS, XML, 400, "action"),
    ('<Action xmlns="%s"><action>%sstop</action><force>maybe</force></Action>' % (NS, ACTION),
     XML, 400, "force"),
    ('{"action": "%sexport"}' % ACTION, JSON, 501, "export"),
    ('{"action": "%ssnapshot"}' % ACTION, JSON, 501, "snapshot"),
    ('<Action xmlns="%s"><action>%simport</action></Action>' % (NS, ACTION), XML, 501,
     "import"),
])
def test_refused(gw, cimi, target, body, ctype, status, word):
    iid = target
    before = cimi.json("/cimi/jobs")["count"]
    r = post(gw, cimi, iid, body, ctype)
    assert r.status_code == status, r.text
    assert word in r.json()["message"], r.text
    assert cimi.json("/cimi/jobs")["count"] == before
    assert machine(cimi, iid)["state"] == "STARTED"




def test_unknown_machine(gw, cimi):
    r = post(gw, cimi, "i-00000000000000000", action_json("stop"))
    assert r.status_code == 404, r.text
    r = requests.delete(gw.endpoint + "/cimi/machines/i-00000000000000000", auth=cimi.auth,
                        timeout=30)
    assert r.status_code == 404, r.text
    assert cimi.get("/cimi/jobs/job-00000000000000000").status_code == 404


def test_jobs_survive_restart(gw, cimi):
    """Last in this module: restarts the module's daemon."""
    def summary():
        return [(j["id"], j["state"], j["action"], j["progress"])
                for j in cimi.json("/cimi/jobs")["jobs"]]
    before = summary()
    assert len(before) >= 4 and all(s == "SUCCESS" for _, s, _, _ in before)
    assert gw.stop() == 0, gw.log_text()
    gw.start()
    assert summary() == before
