"""The CIMI frontend (/cimi) on the real daemon over libvirt's test:// driver:
discovery from the entry point, both formats, collections and their query
parameters, single resources and the error statuses.  Every XML answer is
validated against the DSP8009 schema with xmllint."""
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest
import requests

NS = "http://schemas.dmtf.org/cimi/1"
XSD = os.environ.get("CG_CIMI_XSD", "/work/shared/schemas/cimi-1.0-DSP8009.xsd")
JSON = "application/json"
XML = "application/xml"


def validate(body):
    """xmllint --schema on an XML answer; fails the test when invalid."""
    if not os.path.exists(XSD):
        pytest.skip("no CIMI schema at %s" % XSD)
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(body)
        f.flush()
        r = subprocess.run(["xmllint", "--nonet", "--noout", "--schema", XSD, f.name],
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + body.decode()


class Cimi:
    def __init__(self, gw, auth=True):
        self.gw = gw
        self.auth = (gw.key_id, gw.secret) if auth else None

    def get(self, url, accept=JSON, **kw):
        if not url.startswith("http"):
            url = self.gw.endpoint + url
        r = requests.get(url, auth=self.auth, headers={"Accept": accept} if accept else {},
                         allow_redirects=False, timeout=30, **kw)
        assert r.headers.get("CIMI-Specification-Version") == "1.0.1", r.headers
        if r.status_code == 200 and accept == XML:
            assert r.headers["Content-Type"].split(";")[0] == XML
            validate(r.content)
        return r

    def json(self, url, **kw):
        r = self.get(url, JSON, **kw)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].split(";")[0] == JSON
        return r.json()

    def xml(self, url, **kw):
        r = self.get(url, XML, **kw)
        assert r.status_code == 200, r.text
        return ET.fromstring(r.content)


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


@pytest.fixture(scope="module")
def machines(gw):
    """Two running instances and a key pair, made through EC2."""
    ec2 = gw.client()
    r = ec2.run_instances(ImageId=gw.image_id, MinCount=2, MaxCount=2, InstanceType="t2.micro",
                          TagSpecifications=[{"ResourceType": "instance", "Tags": [
                              {"Key": "env", "Value": "prod"}]}])
    ids = sorted(i["InstanceId"] for i in r["Instances"])
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "Name", "Value": "alpha"}])
    ec2.create_tags(Resources=[ids[1]], Tags=[{"Key": "Name", "Value": "beta"},
                                              {"Key": "env", "Value": "dev"}])
    ec2.import_key_pair(KeyName="cimi-key", PublicKeyMaterial=(
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x"))
    return ids


def entry_point(cimi):
    return cimi.json("/cimi/cloudEntryPoint")


def test_redirect_to_entry_point(gw, cimi):
    for path in ("/cimi", "/cimi/"):
        r = Cimi(gw, auth=False).get(path)
        assert r.status_code == 301
        assert r.headers["Location"] == gw.endpoint + "/cimi/cloudEntryPoint"


def cep_href(cimi, coll):
    return entry_point(cimi)[coll]["href"]


def test_entry_point_json(gw, cimi):
    cep = entry_point(cimi)
    assert cep["resourceURI"] == NS + "/CloudEntryPoint"
    assert cep["baseURI"] == gw.endpoint + "/cimi/"
    assert cep["id"] == cep["baseURI"] + "cloudEntryPoint"
    assert cep["name"]
    for coll in ("machines", "machineTemplates", "machineConfigs", "machineImages",
                 "credentials", "volumes", "volumeTemplates", "volumeConfigs", "networks",
                 "networkPorts", "jobs"):
        assert cep[coll]["href"] == cep["baseURI"] + coll, coll
    # Only what is served is advertised.
    for coll in ("meters", "addresses", "systems", "credentialTemplates"):
        assert coll not in cep


def test_entry_point_xml_and_wildcards(gw, cimi):
    root = cimi.xml("/cimi/cloudEntryPoint")
    assert root.tag == "{%s}CloudEntryPoint" % NS
    assert root.find("{%s}baseURI" % NS).text == gw.endpoint + "/cimi/"
    assert root.find("{%s}machines" % NS).get("href") == gw.endpoint + "/cimi/machines"
    for accept in ("*/*", None, "application/*", "text/html;q=0.5, */*;q=0.1"):
        r = cimi.get("/cimi/cloudEntryPoint", accept)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(JSON), accept
    r = cimi.get("/cimi/cloudEntryPoint", "application/json;q=0.2, application/xml")
    assert r.headers["Content-Type"].startswith(XML)
    r = cimi.get("/cimi/cloudEntryPoint", "application/xml, */*")
    assert r.headers["Content-Type"].startswith(XML)


def test_discover_every_collection_both_formats(cimi, machines):
    cep = entry_point(cimi)
    names = {"machines": "machines", "machineConfigs": "machineConfigurations",
             "machineImages": "machineImages", "credentials": "credentials"}
    for attr, entries in names.items():
        coll = cimi.json(cep[attr]["href"])
        assert coll["id"] == cep[attr]["href"]
        assert coll["resourceURI"].startswith(NS + "/") and coll["resourceURI"].endswith(
            "Collection")
        assert coll["count"] == len(coll[entries]) > 0, attr
        root = cimi.xml(cep[attr]["href"])
        assert root.tag == "{%s}Collection" % NS
        assert root.get("resourceURI") == coll["resourceURI"]
        assert int(root.find("{%s}count" % NS).text) == coll["count"]
        # Every entry can be fetched by its id, in both formats, unchanged.
        for e in coll[entries]:
            one = cimi.json(e["id"])
            assert one["id"] == e["id"] and one["name"] == e["name"]
            cimi.xml(e["id"])


def test_machines(gw, cimi, machines):
    coll = cimi.json("/cimi/machines")
    got = {m["id"].rsplit("/", 1)[1]: m for m in coll["machines"]}
    assert set(machines) <= set(got)
    m = got[machines[0]]
    assert m["resourceURI"] == NS + "/Machine"
    assert m["state"] == "STARTED"
    assert m["cpu"] == 1 and m["memory"] == 1024 * 1024  # t2.micro in KiB
    assert m["name"] == "alpha" and m["properties"]["env"] == "prod"
    nics = m["networkInterfaces"]
    # The interface's network is the machine's VPC (a Network), by reference.
    assert nics["count"] == 1
    assert nics["networkInterfaces"][0]["network"]["href"].startswith(cep_href(cimi, "networks"))
    assert cimi.json(nics["networkInterfaces"][0]["network"]["href"])["state"] == "STARTED"
    assert cimi.json(nics["id"])["count"] == 1
    cimi.xml(nics["id"])
    # Operations: those of the current state only, each on the machine itself
    # but capture, which is served by the machineImages collection.
    assert {o["rel"] for o in m["operations"]} == {
        NS + "/action/restart", NS + "/action/stop", NS + "/action/pause",
        NS + "/action/suspend", NS + "/action/capture", "edit", "delete"}
    for o in m["operations"]:
        want = m["id"] if not o["rel"].endswith("capture") else cep_href(cimi, "machineImages")
        assert o["href"] == want, o
    # The collection: add (MachineCreate) and import (an Action: virt-v2v).
    assert coll["operations"] == [{"rel": "add", "href": coll["id"]},
                                  {"rel": NS + "/action/import", "href": coll["id"]}]


def test_terminated_machine_disappears(gw, cimi):
    ec2 = gw.client()
    iid = ec2.run_instances(ImageId=gw.image_id, MinCount=1, MaxCount=1,
                            InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    assert cimi.get("/cimi/machines/" + iid).status_code == 200
    ec2.terminate_instances(InstanceIds=[iid])
    ids = [m["id"] for m in cimi.json("/cimi/machines")["machines"]]
    assert not any(i.endswith("/" + iid) for i in ids)
    assert cimi.get("/cimi/machines/" + iid).status_code == 404


def test_machine_configs_images_credentials(gw, cimi, machines):
    cfgs = cimi.json("/cimi/machineConfigs")["machineConfigurations"]
    micro = [c for c in cfgs if c["name"] == "t2.micro"][0]
    assert micro["resourceURI"] == NS + "/MachineConfiguration"
    assert micro["cpu"] == 1 and micro["memory"] == 1024 * 1024
    img = cimi.json("/cimi/machineImages/" + gw.image_id)
    assert img["state"] == "AVAILABLE" and img["type"] == "IMAGE"
    assert img["imageLocation"].endswith("demo.qcow2")
    creds = cimi.json("/cimi/credentials")["credentials"]
    key = [c for c in creds if c["name"] == "cimi-key"][0]
    assert key["key"].startswith("ssh-ed25519 AAAA")
    root = cimi.xml(key["id"])
    # hexBinary in XML: the same bytes.
    assert bytes.fromhex(root.find("{%s}key" % NS).text).decode() == key["key"]


def test_filter_select_page_order(cimi, machines):
    def names(**params):
        coll = cimi.json("/cimi/machines", params=params)
        return coll["count"], [m.get("name") for m in coll["machines"]]

    assert names(**{"$filter": "name='alpha'"}) == (1, ["alpha"])
    assert names(**{"$filter": "property['env']='dev'"}) == (1, ["beta"])
    assert names(**{"$filter": "name='alpha' or name='beta'", "$orderby": "name:desc"}) == (
        2, ["beta", "alpha"])
    assert names(**{"$filter": "(name='alpha' or name='beta') and cpu>=1 and state='STARTED'",
                    "$orderby": "name"}) == (2, ["alpha", "beta"])
    assert names(**{"$filter": "memory < 1"}) == (0, [])
    # Two $filter parameters are ANDed.
    r = cimi.get("/cimi/machines?$filter=cpu%3D1&$filter=name%3D'beta'")
    assert [m["name"] for m in r.json()["machines"]] == ["beta"]
    # Paging: 1-based, inclusive; count is the whole (filtered) collection.
    flt = {"$filter": "name='alpha' or name='beta'", "$orderby": "name"}
    assert names(**flt, **{"$first": "2"}) == (2, ["beta"])
    assert names(**flt, **{"$first": "1", "$last": "1"}) == (2, ["alpha"])
    assert names(**flt, **{"$first": "3"}) == (2, [])
    # $select keeps the named attributes (and resourceURI and operations) only.
    coll = cimi.json("/cimi/machines", params={"$select": "name,state", **flt})
    ops = coll["machines"][0].pop("operations")
    assert {o["rel"].rsplit("/", 1)[-1] for o in ops} == {
        "stop", "restart", "pause", "suspend", "capture", "edit", "delete"}
    assert coll["machines"][0] == {"resourceURI": NS + "/Machine", "name": "alpha",
                                   "state": "STARTED"}
    cimi.xml("/cimi/machines", params={"$select": "name,state", **flt})
    one = cimi.json("/cimi/machines/" + machines[0], params={"$select": "cpu"})
    assert len(one.pop("operations")) == 7
    assert one == {"resourceURI": NS + "/Machine", "cpu": 1}


@pytest.mark.parametrize("query,word", [
    ("$filter=name%3D", "$filter"),
    ("$filter=name%3D'x' and", "$filter"),
    ("$first=0", "$first"),
    ("$last=x", "$last"),
    ("$first=3&$last=2", "$last"),
    ("$select=na-me", "$select"),
    ("$orderby=name:up", "$orderby"),
])
def test_bad_query_400(cimi, query, word):
    for accept in (JSON, XML):
        r = cimi.get("/cimi/machines?" + query, accept)
        assert r.status_code == 400, query
        if accept == JSON:
            assert r.json()["code"] == 400 and word in r.json()["message"]
        else:
            assert word in ET.fromstring(r.content).find("message").text


def test_auth(gw):
    r = requests.get(gw.endpoint + "/cimi/cloudEntryPoint", timeout=30)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="cloudgate"'
    assert r.headers["CIMI-Specification-Version"] == "1.0.1"
    assert "Basic" in r.json()["message"]
    r = requests.get(gw.endpoint + "/cimi/machines", auth=(gw.key_id, "wrong"), timeout=30)
    assert r.status_code == 401 and "not valid" in r.json()["message"]
    r = requests.get(gw.endpoint + "/cimi/machines", auth=("AKIANOBODY", gw.secret), timeout=30)
    assert r.status_code == 401


def test_errors(gw, cimi, machines):
    r = cimi.get("/cimi/machines/i-00000000000000000")
    assert r.status_code == 404 and "i-00000000000000000" in r.json()["message"]
    assert cimi.get("/cimi/nosuch").status_code == 404
    assert cimi.get("/cimi/machines/%s/nosuch" % machines[0]).status_code == 404
    r = cimi.get("/cimi/machines/i-00000000000000000", XML)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith(XML)
    r = cimi.get("/cimi/cloudEntryPoint", "text/html")
    assert r.status_code == 406 and "application/json" in r.json()["message"]
    url = gw.endpoint + "/cimi/machines/" + machines[0]
    r = requests.request("PUT", url + "/networkInterfaces", auth=cimi.auth, timeout=30)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"
    assert "PUT" in r.json()["message"]
    allowed = {"/cimi/machines": "GET, POST", "/cimi/machineConfigs": "GET",
               "/cimi/machineImages/" + gw.image_id: "GET, DELETE", "/cimi/jobs": "GET",
               "/cimi/machines/%s/networkInterfaces" % machines[0]: "GET"}
    for path, allow in allowed.items():
        for method in ("DELETE", "PUT", "POST"):
            if method in allow:
                continue
            r = requests.request(method, gw.endpoint + path, auth=cimi.auth, timeout=30)
            assert r.status_code == 405, (method, path)
            assert r.headers["Allow"] == allow
            assert method in r.json()["message"]
    r = requests.post(gw.endpoint + "/cimi/machines", auth=cimi.auth, data="x=1",
                      headers={"Content-Type": "text/plain"}, timeout=30)
    assert r.status_code == 415 and "application/json" in r.json()["message"]
    # EC2 still owns "/" and nothing else moved.
    assert gw.client().describe_regions()["Regions"]


def test_machines_from_fragments_as_rendered(gw, cimi, machines):
    """Without a query option the collection comes from per-machine
    fragments; with one ($first=1 selects them all) it is rendered whole:
    the bytes must be the same, before and after a machine changes."""
    ec2 = gw.client()
    for rnd in range(3):
        for accept in (JSON, XML):
            whole = cimi.get("/cimi/machines?$first=1", accept)
            for _ in range(2):  # written, then reused
                r = cimi.get("/cimi/machines", accept)
                assert r.status_code == 200 and whole.status_code == 200
                assert r.content == whole.content
                assert r.headers["Content-Type"] == whole.headers["Content-Type"]
        ec2.create_tags(Resources=[machines[0]], Tags=[{"Key": "round", "Value": str(rnd)}])
