"""The CIMI walk of issue 4, with curl, in JSON and in XML, on real TCG guests.

Only the entry point's URL is known beforehand; every other URL comes from
an href or a Location/CIMI-Job-URI header:

    GET /cimi (301) -> cloudEntryPoint -> create a Credential and a
    MachineTemplate (by reference to a machineConfig, machineImage and
    credential, with userData) -> MachineCreate by reference to it -> follow
    the job to SUCCESS -> STARTED with stop/restart/capture operations ->
    stop -> start -> capture (MachineImage posted to the capture href) ->
    create a Volume -> attach it through the machine's volumes collection
    (hot-plug: the live domain has the disk) -> detach -> delete everything
    -> the collections are as they were.

Every XML answer is validated against DSP8009 (xmllint --schema).  The
guest is the busybox demo guest (boots in seconds); user-data is checked
through EC2 (one world: DescribeInstanceAttribute returns what CIMI sent).
"""
import base64
import json
import os
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import pool_names, virsh

NS = "http://schemas.dmtf.org/cimi/1"
ACTION = NS + "/action/"
JOB_TIMEOUT = 300
XSD = os.environ.get("CG_CIMI_XSD", "/work/shared/schemas/cimi-1.0-DSP8009.xsd")

# XML elements that repeat and are lists in the JSON binding.
XML_LISTS = {"operation": "operations", "affectedResource": "affectedResources"}


def xml_to_dict(el):
    """A CIMI XML element as the JSON binding spells it (values stay text)."""
    out = dict(el.attrib)
    for child in el:
        tag = child.tag.split("}", 1)[-1]
        if tag == "property":
            out.setdefault("properties", {})[child.attrib["name"]] = child.text or ""
        elif tag in XML_LISTS:
            out.setdefault(XML_LISTS[tag], []).append(dict(child.attrib))
        elif tag[0].isupper():  # collection entries: <Machine>, <Job>, ...
            out.setdefault("entries", []).append(xml_to_dict(child))
        elif len(child) or child.attrib:
            out[tag] = xml_to_dict(child)
        else:
            out[tag] = (child.text or "").strip()
    return out


def to_xml(tag, d):
    """A request body: dict -> CIMI XML (href/initialLocation as attributes)."""
    el = ET.Element(tag)
    for k, v in d.items():
        if k == "properties":
            for pk, pv in v.items():
                ET.SubElement(el, "property", name=pk).text = pv
        elif isinstance(v, dict):
            sub = to_xml(k, v)
            for a in ("href", "initialLocation"):
                if a in v:
                    sub.set(a, v[a])
                    sub.remove(sub.find(a))
            el.append(sub)
        else:
            ET.SubElement(el, k).text = str(v)
    return el


class Curl:
    """curl against the gateway in one format; answers parsed to dicts."""

    def __init__(self, gw, fmt):
        self.gw, self.fmt = gw, fmt
        self.mime = "application/json" if fmt == "json" else "application/xml"
        self.dir = tempfile.mkdtemp(prefix="cimi-curl-")

    def call(self, method, url, body_type=None, body=None, follow=False):
        hdr, out = os.path.join(self.dir, "h"), os.path.join(self.dir, "b")
        cmd = ["curl", "-sS", "-X", method, "-u", "%s:%s" % (self.gw.key_id, self.gw.secret),
               "-H", "Accept: " + self.mime, "-D", hdr, "-o", out, "--max-time", "120"]
        if follow:
            cmd = [c for c in cmd if c not in ("-X", method)] + ["-L"]
        data = None
        if body is not None:
            if self.fmt == "json":
                data = json.dumps(dict(body, resourceURI=NS + "/" + body_type)).encode()
            else:
                root = to_xml(body_type, body)
                root.set("xmlns", NS)
                data = ET.tostring(root)
            cmd += ["-H", "Content-Type: " + self.mime, "--data-binary", "@-"]
        subprocess.run(cmd + [url], input=data, check=True, timeout=180)
        with open(hdr, newline="") as f:
            blocks = f.read().strip().split("\r\n\r\n")
        lines = blocks[-1].split("\r\n")  # the last response when redirected
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line)}
        with open(out, "rb") as f:
            raw = f.read()
        doc = None
        if raw.strip():
            assert headers.get("content-type", "").startswith(self.mime), (url, blocks, raw)
            if self.fmt == "json":
                doc = json.loads(raw)
            else:
                root = ET.fromstring(raw)
                if root.tag.startswith("{" + NS + "}") and not root.tag.endswith("}GraphicsConsole"):
                    self.validate(raw)
                doc = xml_to_dict(root)
        assert headers.get("cimi-specification-version"), headers
        return status, headers, doc

    def validate(self, raw):
        path = os.path.join(self.dir, "doc.xml")
        with open(path, "wb") as f:
            f.write(raw)
        r = subprocess.run(["xmllint", "--nonet", "--noout", "--schema", XSD, path],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr + raw.decode()

    def get(self, url):
        status, _, doc = self.call("GET", url)
        assert status == 200, (url, doc)
        return doc

    def entries(self, coll, key):
        return coll.get("entries", []) if self.fmt == "xml" else coll.get(key, [])

    def wait_job(self, uri):
        deadline = time.time() + JOB_TIMEOUT
        while time.time() < deadline:
            job = self.get(uri)
            if job["state"] in ("SUCCESS", "FAILED", "CANCELLED"):
                assert job["state"] == "SUCCESS", json.dumps(job)
                assert str(job["progress"]) == "100"
                return job
            time.sleep(1)
        raise AssertionError("job %s did not end in %ds" % (uri, JOB_TIMEOUT))

    def accepted(self, status, headers, doc):
        assert status == 202, doc
        job_uri = headers["cimi-job-uri"]
        assert doc["id"] == job_uri
        return headers["location"], self.wait_job(job_uri)


def ops(resource):
    return {o["rel"].rsplit("/", 1)[-1]: o["href"] for o in resource.get("operations", [])}


def machine_state(cimi, uri, want, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = cimi.get(uri)
        if m["state"] == want:
            return m
        time.sleep(1)
    raise AssertionError("%s did not become %s (last %s)" % (uri, want, m["state"]))


@pytest.fixture(scope="module")
def pubkey():
    d = tempfile.mkdtemp(prefix="cimi-key-")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", d + "/k"], check=True)
    with open(d + "/k.pub") as f:
        return f.read().strip()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_cimi_walk(sysgw, pubkey, fmt):
    cimi = Curl(sysgw, fmt)
    tag = "walk-%s-%s" % (fmt, uuid.uuid4().hex[:6])
    made = {}
    try:
        status, _, cep = cimi.call("GET", sysgw.endpoint + "/cimi", follow=True)
        assert status == 200 and cep["baseURI"].endswith("/cimi/")
        colls = {k: cep[k]["href"] for k in ("machines", "machineTemplates", "machineConfigs",
                                              "machineImages", "credentials", "volumes", "jobs")}
        # Machines are every cloudgate domain on the host (other tests' too);
        # the rest lives in this gateway's state.
        before = {k: int(cimi.get(colls[k])["count"])
                  for k in ("machineTemplates", "volumes", "credentials", "machineImages")}

        # What the template refers to, found through the collections.
        config = next(c for c in cimi.entries(cimi.get(colls["machineConfigs"]),
                                              "machineConfigurations") if c["name"] == "t2.micro")
        image = next(i for i in cimi.entries(cimi.get(colls["machineImages"]), "machineImages")
                     if i["name"] == "demo-system-test")
        status, headers, cred = cimi.call(
            "POST", colls["credentials"], "CredentialCreate",
            {"name": tag, "credentialTemplate": {
                "key": pubkey if fmt == "json" else pubkey.encode().hex()}})
        assert status == 201, cred
        made["credential"] = headers["location"]
        assert cred["id"] == headers["location"]

        user_data = "#cloud-config\nruncmd:\n - echo %s\n" % tag
        status, headers, tpl = cimi.call(
            "POST", colls["machineTemplates"], "MachineTemplate",
            {"name": tag, "machineConfig": {"href": config["id"]},
             "machineImage": {"href": image["id"]}, "credential": {"href": cred["id"]},
             "userData": base64.b64encode(user_data.encode()).decode()})
        assert status == 201, tpl
        made["template"] = headers["location"]
        assert cimi.get(made["template"])["machineImage"]["href"] == image["id"]

        # The machine, from the template by reference; the job says when it is up.
        status, headers, job = cimi.call(
            "POST", colls["machines"], "MachineCreate",
            {"name": tag, "properties": {"walk": fmt},
             "machineTemplate": {"href": made["template"]}})
        made["machine"], job = cimi.accepted(status, headers, job)
        iid = made["machine"].rsplit("/", 1)[1]
        sysgw.launched.append(iid)
        m = cimi.get(made["machine"])
        assert m["state"] == "STARTED" and m["name"] == tag
        assert m["properties"]["walk"] == fmt
        assert {"stop", "restart", "capture"} <= set(ops(m)), m
        # One world: EC2 sees the same instance, key and user-data.
        ec2 = sysgw.client()
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert inst["KeyName"] == tag and inst["State"]["Name"] == "running"
        ud = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
        assert base64.b64decode(ud["UserData"]["Value"]).decode() == user_data
        # Its groups are properties; its interface is a port on its VPC's Network.
        assert sorted(m["properties"]["securityGroups"].split(",")) == sorted(
            g["GroupId"] for g in inst["SecurityGroups"])
        eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
        port = cimi.get(cep["networkPorts"]["href"] + "/" + eni)
        assert port["network"]["href"] == cep["networks"]["href"] + "/" + inst["VpcId"]

        # stop, start
        cimi.accepted(*cimi.call("POST", ops(m)["stop"], "Action", {"action": ACTION + "stop"}))
        m = machine_state(cimi, made["machine"], "STOPPED")
        assert "start" in ops(m) and "stop" not in ops(m)
        cimi.accepted(*cimi.call("POST", ops(m)["start"], "Action", {"action": ACTION + "start"}))
        m = machine_state(cimi, made["machine"], "STARTED")

        # capture: a MachineImage posted where the capture operation points.
        status, headers, job = cimi.call(
            "POST", ops(m)["capture"], "MachineImage",
            {"name": tag + "-image", "type": "IMAGE", "imageLocation": made["machine"]})
        _, job = cimi.accepted(status, headers, job)
        images = [r["href"] for r in job.get("affectedResources", [])
                  if "/machineImages/" in r["href"]]
        assert len(images) == 1, job
        made["image"] = images[0]
        captured = cimi.get(made["image"])
        assert captured["state"] == "AVAILABLE" and captured["name"] == tag + "-image"
        assert cimi.get(made["machine"])["state"] == "STARTED"

        # A volume, attached through the machine's volumes collection.
        status, headers, vol = cimi.call(
            "POST", colls["volumes"], "VolumeCreate",
            {"name": tag, "volumeTemplate": {"volumeConfig": {"capacity": "65536"}}})
        assert status == 201, vol
        made["volume"] = headers["location"]
        assert str(vol["capacity"]) == "65536"
        mvols = m["volumes"]["href"]
        status, headers, job = cimi.call(
            "POST", mvols, "MachineVolume",
            {"initialLocation": "/dev/vdb", "volume": {"href": made["volume"]}})
        made["attachment"], job = cimi.accepted(status, headers, job)
        coll = cimi.get(mvols)
        assert int(coll["count"]) == 1
        assert cimi.entries(coll, "machineVolumes")[0]["volume"]["href"] == made["volume"]
        live = virsh("dumpxml", iid).stdout
        assert "dev='vdb'" in live or 'dev="vdb"' in live, live
        # In use: the volume cannot be deleted (409), and nothing changes.
        status, _, err = cimi.call("DELETE", made["volume"])
        assert status == 409, err

        # Delete everything.  The busybox guest has no PCI hot-unplug
        # support, so the volume is detached from the stopped machine.
        cimi.accepted(*cimi.call("POST", ops(m)["stop"], "Action",
                                 {"action": ACTION + "stop", "force": "true"}))
        machine_state(cimi, made["machine"], "STOPPED")
        cimi.accepted(*cimi.call("DELETE", made.pop("attachment")))
        assert int(cimi.get(mvols)["count"]) == 0
        status, _, _ = cimi.call("DELETE", made.pop("volume"))
        assert status == 200
        cimi.accepted(*cimi.call("DELETE", made.pop("machine")))
        ami = made["image"].rsplit("/", 1)[1]
        for key in ("image", "template", "credential"):
            status, _, doc = cimi.call("DELETE", made.pop(key))
            assert status == 200, (key, doc)
        # The captured image's disk went with it (CIMI has no snapshot to
        # delete it by).
        assert not [n for n in pool_names() if n.startswith(ami)], ami
        after = {k: int(cimi.get(colls[k])["count"]) for k in before}
        assert after == before
        gone = [m["id"] for m in cimi.entries(cimi.get(colls["machines"]), "machines")]
        assert "/" + iid not in " ".join(gone)
        status, _, _ = cimi.call("GET", "%s/%s" % (colls["machines"], iid))
        assert status == 404
    finally:
        # Whatever failed: remove what this walk made, through the API; the
        # machine first (its deletion frees its volumes).
        if "machine" in made:
            status, headers, _ = cimi.call("DELETE", made["machine"])
            if status == 202:
                try:
                    cimi.wait_job(headers["cimi-job-uri"])
                except AssertionError:
                    pass
        for key in ("volume", "image", "template", "credential"):
            if key in made:
                cimi.call("DELETE", made[key])
