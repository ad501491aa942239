"""CIMI creation and edits on the real daemon over libvirt's test:// driver:
MachineTemplates, MachineCreate (by reference and by value), PUT, Credentials,
Volumes, VolumeConfigurations/Templates, $expand, the machine's volumes and
graphics consoles, job cancel, and the rule that a rejected request changes
nothing.  (The full walk on real guests is tests/system/test_cimi_scenario_qemu.py.)"""
import base64
import re
import time

import pytest
import requests

from cgharness import db_rows
from conftest import wait_running
from hostile import signed_params
from test_cimi import JSON, NS, XML, Cimi, validate

ACTION = NS + "/action/"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl create"


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


def post(gw, cimi, path, body, ctype=JSON, accept=JSON, method="POST"):
    url = path if path.startswith("http") else gw.endpoint + path
    if ctype == JSON and not isinstance(body, (str, bytes)):
        import json
        body = json.dumps(body)
    return requests.request(method, url, data=body, auth=cimi.auth, timeout=60,
                            headers={"Content-Type": ctype, "Accept": accept})


def user_props(m):
    """A machine's properties without the security groups the gateway adds."""
    return {k: v for k, v in m.get("properties", {}).items()
            if k != "securityGroups" and not k.startswith("securityGroup.")}


def wait_job(cimi, uri, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = cimi.json(uri)
        if job["state"] in ("SUCCESS", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.1)
    raise AssertionError("job %s did not end" % uri)


def counts(cimi):
    return {k: cimi.json("/cimi/" + k)["count"]
            for k in ("machines", "machineTemplates", "volumes", "volumeConfigs",
                      "volumeTemplates", "credentials", "machineImages", "jobs")}


def template_body(gw, **extra):
    body = {"name": "web", "machineConfig": {"href": gw.endpoint + "/cimi/machineConfigs/t2.micro"},
            "machineImage": {"href": gw.endpoint + "/cimi/machineImages/" + gw.image_id}}
    body.update(extra)
    return body


def test_credential_create_and_delete(gw, cimi):
    r = post(gw, cimi, "/cimi/credentials", {"name": "cimi-made", "credentialTemplate": {"key": KEY}})
    assert r.status_code == 201, r.text
    cred = r.json()
    assert r.headers["Location"] == cred["id"]
    assert cred["key"].split()[:2] == KEY.split()[:2]
    # One world: EC2 sees the key pair.
    pairs = gw.client().describe_key_pairs(KeyNames=["cimi-made"])["KeyPairs"]
    assert pairs[0]["KeyName"] == "cimi-made"
    # XML carries the key as hexBinary.
    body = ('<CredentialCreate xmlns="%s"><name>cimi-xml</name><credentialTemplate>'
            '<key>%s</key></credentialTemplate></CredentialCreate>' % (NS, KEY.encode().hex()))
    r = post(gw, cimi, "/cimi/credentials", body, XML, XML)
    assert r.status_code == 201, r.text
    validate(r.content)
    loc = r.headers["Location"]
    assert requests.delete(loc, auth=cimi.auth, timeout=30).status_code == 200
    assert cimi.get(loc).status_code == 404
    # Bad keys and duplicates: 400 / 409, nothing stored.
    before = counts(cimi)
    assert post(gw, cimi, "/cimi/credentials",
                {"name": "bad", "credentialTemplate": {"key": "ssh-rsa nope"}}).status_code == 400
    assert post(gw, cimi, "/cimi/credentials",
                {"name": "cimi-made", "credentialTemplate": {"key": KEY}}).status_code == 409
    assert post(gw, cimi, "/cimi/credentials", {"name": "nokey"}).status_code == 400
    assert counts(cimi) == before


def test_template_and_machine_by_reference(gw, cimi):
    user_data = b"#cloud-config\nhostname: from-cimi\n"
    r = post(gw, cimi, "/cimi/machineTemplates", template_body(
        gw, userData=base64.b64encode(user_data).decode(), properties={"tier": "web"}))
    assert r.status_code == 201, r.text
    tpl = r.json()
    assert tpl["machineConfig"]["href"].endswith("/machineConfigs/t2.micro")
    assert tpl["properties"] == {"tier": "web"}
    assert cimi.json(r.headers["Location"]) == tpl
    cimi.xml(r.headers["Location"])  # and schema-valid in XML

    r = post(gw, cimi, "/cimi/machines", {"name": "from-template", "description": "made by CIMI",
                                          "properties": {"owner": "qa"},
                                          "machineTemplate": {"href": tpl["id"]}})
    assert r.status_code == 202, r.text
    loc, job_uri = r.headers["Location"], r.headers["CIMI-Job-URI"]
    assert r.json()["id"] == job_uri and "/machines/i-" in loc
    job = wait_job(cimi, job_uri)
    assert job["state"] == "SUCCESS", job
    assert job["targetResource"]["href"] == loc
    m = cimi.json(loc)
    assert m["name"] == "from-template" and m["description"] == "made by CIMI"
    assert m["state"] == "STARTED" and user_props(m) == {"owner": "qa"}
    iid = loc.rsplit("/", 1)[1]
    ec2 = gw.client()
    ud = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert base64.b64decode(ud["UserData"]["Value"]) == user_data
    tags = {t["Key"]: t["Value"] for t in
            ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["Tags"]}
    tags = {k: v for k, v in tags.items() if not k.startswith("cloudgate:")}
    assert tags == {"Name": "from-template", "Description": "made by CIMI", "owner": "qa"}


def test_empty_user_data_is_none(gw, cimi):
    """userData "" (and EC2's UserData of line breaks only) is no user data,
    as when absent: nothing stored, DescribeInstanceAttribute shows no value."""
    tpl = template_body(gw, userData="")
    del tpl["name"]
    r = post(gw, cimi, "/cimi/machines", {"name": "no-user-data", "machineTemplate": tpl})
    assert r.status_code == 202, r.text
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    ids = [r.headers["Location"].rsplit("/", 1)[1]]
    # boto3 would base64 the line breaks: send them as they are.
    reply = signed_params(gw, [("Action", "RunInstances"), ("ImageId", gw.image_id),
                               ("MinCount", "1"), ("MaxCount", "1"), ("UserData", "\r\n\n")])
    assert reply.status == 200, reply.body
    ids += re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", reply.text)
    assert len(ids) == 2, reply.body
    ec2 = gw.client()
    try:
        wait_running(ec2, ids)
        for iid in ids:
            ud = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
            assert ud["UserData"] == {}, (iid, ud)
            assert db_rows(gw, "SELECT length(data) FROM user_data WHERE instance_id = ?",
                           iid) == [], iid
    finally:
        ec2.terminate_instances(InstanceIds=ids)


def test_machine_by_value_xml_initially_stopped(gw, cimi):
    body = ('<MachineCreate xmlns="%s"><name>by-value</name><machineTemplate>'
            '<initialState>STOPPED</initialState>'
            '<machineConfig href="%s/cimi/machineConfigs/t2.micro"/>'
            '<machineImage href="%s/cimi/machineImages/%s"/>'
            '</machineTemplate></MachineCreate>' % (NS, gw.endpoint, gw.endpoint, gw.image_id))
    r = post(gw, cimi, "/cimi/machines", body, XML, XML)
    assert r.status_code == 202, r.text
    validate(r.content)
    job = wait_job(cimi, r.headers["CIMI-Job-URI"])
    assert job["state"] == "SUCCESS", job
    m = cimi.json(r.headers["Location"])
    assert m["state"] == "STOPPED" and m["name"] == "by-value"


@pytest.mark.parametrize("body,word", [
    ({}, "machineTemplate"),
    ({"machineTemplate": "x"}, "object"),
    ({"machineTemplate": {"machineImage": {"href": "machineImages/ami-00000000000000000"}}},
     "does not exist"),
    ({"machineTemplate": {"href": "machineTemplates/mt-00000000000000000"}}, "does not exist"),
    ({"machineTemplate": {"machineConfig": {"href": "machineConfigs/huge"}}}, "does not exist"),
    ({"machineTemplate": {"machineConfig": {"href": "machineConfigs/t2.micro"}}},
     "machineImage"),
    ({"machineTemplate": {"userData": "not base64!"}}, "base64"),
    ({"machineTemplate": {"initialState": "FLYING"}}, "initialState"),
    ({"machineTemplate": {"credential": {"userName": "x"}}}, "reference"),
    ({"machineTemplate": {"volumes": [{"href": "volumes/vol-0", "initialLocation": "/dev/sda"}]}},
     "initialLocation"),
    ({"name": 7, "machineTemplate": {}}, "name"),
])
def test_rejected_creates_change_nothing(gw, cimi, body, word):
    before = counts(cimi)
    doms = gw.client().describe_instances()["Reservations"]
    r = post(gw, cimi, "/cimi/machines", body)
    assert r.status_code == 400, r.text
    assert word in r.json()["message"], r.text
    assert counts(cimi) == before
    assert gw.client().describe_instances()["Reservations"] == doms


def test_malformed_bodies(gw, cimi):
    before = counts(cimi)
    for body, ctype in (("{nope", JSON), ("<MachineCreate", XML),
                        ('<Machine xmlns="%s"/>' % NS, XML), ('["x"]', JSON),
                        ('{"resourceURI": "%s/Volume"}' % NS, JSON)):
        r = post(gw, cimi, "/cimi/machines", body, ctype)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"]
    r = post(gw, cimi, "/cimi/machines", "x", "text/plain")
    assert r.status_code == 415
    assert counts(cimi) == before


def test_edit_machine(gw, cimi):
    r = post(gw, cimi, "/cimi/machines", {"name": "edit-me", "properties": {"a": "1", "b": "2"},
                                          "machineTemplate": template_body(gw)})
    loc = r.headers["Location"]
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    r = post(gw, cimi, loc, {"name": "edited", "description": "now", "properties": {"a": "9"}},
             method="PUT")
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["name"] == "edited" and m["description"] == "now" and user_props(m) == {"a": "9"}
    # Hardware while running: 409; no configuration with that shape: 400.
    r = post(gw, cimi, loc, {"cpu": 2, "memory": 4 * 1024 * 1024}, method="PUT")
    assert r.status_code in (400, 409), r.text
    r = post(gw, cimi, loc, {"cpu": 3, "memory": 12345}, method="PUT")
    assert r.status_code == 400 and "MachineConfiguration" in r.json()["message"]
    assert cimi.json(loc)["cpu"] == 1
    # Stopped, the machine takes another configuration.
    configs = cimi.json("/cimi/machineConfigs")["machineConfigurations"]
    other = next(c for c in configs if c["cpu"] != 1 or c["memory"] != 1024 * 1024)
    stop = post(gw, cimi, loc, {"action": ACTION + "stop", "force": True})
    assert wait_job(cimi, stop.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    r = post(gw, cimi, loc, {"cpu": other["cpu"], "memory": other["memory"]}, method="PUT")
    assert r.status_code == 200, r.text
    assert (r.json()["cpu"], r.json()["memory"]) == (other["cpu"], other["memory"])


def test_volumes_configs_templates(gw, cimi):
    r = post(gw, cimi, "/cimi/volumeConfigs", {"name": "small", "format": "qcow2",
                                               "capacity": 1024 * 64})
    assert r.status_code == 201, r.text
    vc = r.json()
    r = post(gw, cimi, "/cimi/volumeTemplates", {"name": "small-t",
                                                 "volumeConfig": {"href": vc["id"]}})
    assert r.status_code == 201, r.text
    vt = r.json()
    assert vt["volumeConfig"]["href"] == vc["id"] and vt["volumeConfig"]["capacity"] == 65536
    cimi.xml(vt["id"])
    r = post(gw, cimi, "/cimi/volumes", {"name": "data", "volumeTemplate": {"href": vt["id"]}})
    assert r.status_code == 201, r.text
    vol = r.json()
    assert vol["capacity"] == 65536 and vol["state"] == "AVAILABLE"
    assert r.headers["Location"] == vol["id"]
    cimi.xml(vol["id"])
    # Errors change nothing.
    before = counts(cimi)
    for body in ({}, {"volumeTemplate": {}}, {"volumeTemplate": {"volumeConfig": {"capacity": 1}}},
                 {"volumeTemplate": {"volumeConfig": {"capacity": 2048, "format": "vmdk"}}},
                 {"volumeTemplate": {"href": "volumeTemplates/vt-00000000000000000"}}):
        r = post(gw, cimi, "/cimi/volumes", body)
        assert r.status_code == 400, (body, r.text)
    assert counts(cimi) == before
    assert requests.delete(vol["id"], auth=cimi.auth, timeout=30).status_code == 200
    assert cimi.get(vol["id"]).status_code == 404
    for uri in (vt["id"], vc["id"]):
        assert requests.delete(uri, auth=cimi.auth, timeout=30).status_code == 200
        assert cimi.get(uri).status_code == 404


def test_expand_and_subcollections(gw, cimi):
    r = post(gw, cimi, "/cimi/machines", {"name": "expand-me", "machineTemplate": template_body(gw)})
    loc = r.headers["Location"]
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    m = cimi.json(loc)
    assert set(m["disks"]) == {"href"} and set(m["volumes"]) == {"href"}
    m = cimi.json(loc, params={"$expand": "disks,volumes"})
    assert m["disks"]["count"] == 1 and m["disks"]["disks"][0]["initialLocation"] == "/dev/vda"
    assert m["volumes"]["count"] == 0
    cimi.xml(loc, params={"$expand": "*"})
    coll = cimi.json("/cimi/machines", params={"$expand": "disks",
                                               "$filter": "name='expand-me'"})
    assert coll["count"] == 1 and coll["machines"][0]["disks"]["count"] == 1
    assert cimi.json(m["disks"]["id"])["count"] == 1
    assert cimi.json(m["volumes"]["id"])["count"] == 0
    assert cimi.get(loc + "/disks/x").status_code == 404
    assert cimi.get("/cimi/machines", params={"$expand": "no such"}).status_code == 400


def test_job_cancel_refused_when_done(gw, cimi):
    jobs = cimi.json("/cimi/jobs")["jobs"]
    done = next(j for j in jobs if j["state"] == "SUCCESS")
    assert "operations" not in done
    r = post(gw, cimi, done["id"], {"action": ACTION + "stop"})
    assert r.status_code == 409, r.text
    r = post(gw, cimi, done["id"], {"action": ACTION + "start"})
    assert r.status_code == 400
    assert cimi.json(done["id"])["state"] == "SUCCESS"


def act(gw, cimi, loc, name, **extra):
    r = post(gw, cimi, loc, dict({"action": ACTION + name}, **extra))
    assert r.status_code == 202, r.text
    return wait_job(cimi, r.headers["CIMI-Job-URI"])


def test_pause_suspend_capture(gw, cimi):
    r = post(gw, cimi, "/cimi/machines", {"name": "states", "machineTemplate": template_body(gw)})
    loc = r.headers["Location"]
    iid = loc.rsplit("/", 1)[1]
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    ec2 = gw.client()

    def ec2_state():
        return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
            "State"]["Name"]

    assert act(gw, cimi, loc, "pause")["state"] == "SUCCESS"
    m = cimi.json(loc)
    assert m["state"] == "PAUSED" and ec2_state() == "running"
    assert sorted(o["rel"].rsplit("/", 1)[-1] for o in m["operations"]) == [
        "capture", "delete", "edit", "start", "stop"]
    # Not allowed while paused: 409 naming what is.
    r = post(gw, cimi, loc, {"action": ACTION + "pause"})
    assert r.status_code == 409 and "start" in r.json()["message"]
    assert act(gw, cimi, loc, "start")["state"] == "SUCCESS"
    assert cimi.json(loc)["state"] == "STARTED"

    assert act(gw, cimi, loc, "suspend")["state"] == "SUCCESS"
    assert cimi.json(loc)["state"] == "SUSPENDED" and ec2_state() == "stopped"
    assert act(gw, cimi, loc, "start")["state"] == "SUCCESS"
    assert cimi.json(loc)["state"] == "STARTED"

    # capture, as an Action on the machine: the job names the new image.
    # (test:// has no block copy, so the running capture is the system tier's.)
    assert act(gw, cimi, loc, "stop", force=True)["state"] == "SUCCESS"
    job = act(gw, cimi, loc, "capture", properties={"name": "captured-by-action"})
    assert job["state"] == "SUCCESS", job.get("statusMessage")
    image = [a["href"] for a in job["affectedResources"] if "/machineImages/" in a["href"]][0]
    img = cimi.json(image)
    assert img["name"] == "captured-by-action" and img["state"] == "AVAILABLE"
    assert ec2.describe_images(ImageIds=[image.rsplit("/", 1)[1]])["Images"][0]["Name"] == \
        "captured-by-action"
    assert cimi.json(loc)["state"] == "STOPPED"
    assert requests.delete(image, auth=cimi.auth, timeout=30).status_code == 200


def test_graphics_consoles(gw, cimi):
    r = post(gw, cimi, "/cimi/machines", {"name": "gfx", "machineTemplate": template_body(gw)})
    loc = r.headers["Location"]
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    gc = loc + "/graphicsConsoles"
    assert cimi.json(gc)["count"] == 0  # headless: the default
    cimi.xml(gc)
    r = post(gw, cimi, gc, {"protocol": "vnc"})
    assert r.status_code == 201, r.text
    # Chosen while running: it applies at the next start.
    assert r.json()["state"] == "PENDING_RESTART"
    coll = cimi.json(gc)
    assert coll["count"] == 1 and coll["graphicsConsoles"][0]["protocol"] == "vnc"
    assert post(gw, cimi, gc, {"protocol": "rdp"}).status_code == 400
    assert requests.delete(gc + "/spice", auth=cimi.auth, timeout=30).status_code == 404
    assert requests.delete(gc + "/vnc", auth=cimi.auth, timeout=30).status_code == 200
    assert cimi.json(gc)["count"] == 0
    # Images carry the choice to the machines made from them.
    igc = "/cimi/machineImages/%s/graphicsConsoles" % gw.image_id
    assert cimi.json(igc)["count"] == 0
    r = post(gw, cimi, igc, {"protocol": "spice"})
    assert r.status_code == 201, r.text
    r = post(gw, cimi, "/cimi/machines", {"name": "gfx2", "machineTemplate": template_body(gw)})
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    consoles = cimi.json(r.headers["Location"] + "/graphicsConsoles")["graphicsConsoles"]
    assert [c["protocol"] for c in consoles] == ["spice"]
    assert requests.delete(gw.endpoint + igc + "/spice", auth=cimi.auth, timeout=30).status_code == 200
    assert cimi.json(igc)["count"] == 0


def test_display_property_at_create(gw, cimi):
    r = post(gw, cimi, "/cimi/machines", {"name": "gfx3", "properties": {"display": "vnc",
                                                                         "keep": "me"},
                                          "machineTemplate": template_body(gw)})
    assert r.status_code == 202, r.text
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    m = cimi.json(r.headers["Location"])
    assert user_props(m) == {"keep": "me"}  # the choice is not a tag
    consoles = cimi.json(r.headers["Location"] + "/graphicsConsoles")["graphicsConsoles"]
    assert [(c["protocol"], c["state"]) for c in consoles] == [("vnc", "ACTIVE")]
    r = post(gw, cimi, "/cimi/machines", {"properties": {"display": "hologram"},
                                          "machineTemplate": template_body(gw)})
    assert r.status_code == 400 and "display" in r.json()["message"]


def test_failed_creation_job_removes_what_it_made(gw, cimi):
    """test:// cannot attach disks, so a machine with a volumeTemplate fails
    in its job after the instance and the volume were made: both go."""
    before = counts(cimi)
    r = post(gw, cimi, "/cimi/machines", {
        "name": "rolled-back",
        "machineTemplate": template_body(gw, volumeTemplates=[
            {"volumeConfig": {"capacity": 1024}, "initialLocation": "/dev/vdc"}])})
    assert r.status_code == 202, r.text
    job = wait_job(cimi, r.headers["CIMI-Job-URI"])
    assert job["state"] == "FAILED" and job["statusMessage"], job
    iid = r.headers["Location"].rsplit("/", 1)[1]
    assert cimi.get(r.headers["Location"]).status_code == 404
    inst = gw.client().describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "terminated"
    after = counts(cimi)
    assert after["volumes"] == before["volumes"]
    assert after["machines"] == before["machines"]


def test_template_graphics_consoles(gw, cimi):
    r = post(gw, cimi, "/cimi/machineTemplates", template_body(gw, name="gfx-template"))
    tpl = r.json()["id"]
    gc = tpl + "/graphicsConsoles"
    assert cimi.json(gc)["count"] == 0
    r = post(gw, cimi, gc, {"protocol": "spice"})
    assert r.status_code == 201, r.text
    assert cimi.json(tpl)["properties"] == {"display": "spice"}
    assert [c["protocol"] for c in cimi.json(gc)["graphicsConsoles"]] == ["spice"]
    cimi.xml(gc)
    r = post(gw, cimi, "/cimi/machines", {"name": "from-gfx-template",
                                          "machineTemplate": {"href": tpl}})
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    consoles = cimi.json(r.headers["Location"] + "/graphicsConsoles")["graphicsConsoles"]
    assert [c["protocol"] for c in consoles] == ["spice"]
    assert requests.delete(gc + "/vnc", auth=cimi.auth, timeout=30).status_code == 404
    assert requests.delete(gc + "/spice", auth=cimi.auth, timeout=30).status_code == 200
    assert cimi.json(gc)["count"] == 0
    assert cimi.get(gw.endpoint + "/cimi/machineTemplates/mt-00000000000000000/graphicsConsoles"
                    ).status_code == 404
