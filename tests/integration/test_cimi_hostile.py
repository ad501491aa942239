"""Hostile CIMI requests against the real daemon (libvirt's test:// driver):
bodies whose members collide or have the wrong type (one of them aborted
cloudgated), a DTD with an entity referenced 20,000 times, nesting and size
bounds, JSON that json-c would take silently, $filter / paging parameters,
q-values and odd paths.  Each must get its exact status with a message
naming the member or limit, change nothing (CIMI collections and EC2
counts), and leave the daemon serving with its memory in bounds."""
import base64
import http.client
import json
import os

import pytest
import requests

from test_cimi import JSON, NS, XML, Cimi
from test_cimi_create import counts, post, template_body, wait_job

ACTION = NS + "/action/"


@pytest.fixture(scope="module")
def cimi(gw):
    return Cimi(gw)


@pytest.fixture(scope="module")
def machine(gw, cimi):
    """One running machine (made through CIMI) for actions and attachments."""
    r = post(gw, cimi, "/cimi/machines", {"name": "target", "machineTemplate": template_body(gw)})
    assert r.status_code == 202, r.text
    assert wait_job(cimi, r.headers["CIMI-Job-URI"])["state"] == "SUCCESS"
    return r.headers["Location"]


def world(gw, cimi):
    """Everything a refused request must leave as it was."""
    ec2 = gw.client()
    insts = sorted((i["InstanceId"], i["State"]["Name"])
                   for res in ec2.describe_instances()["Reservations"] for i in res["Instances"])
    vols = sorted(v["VolumeId"] for v in ec2.describe_volumes()["Volumes"])
    return counts(cimi), insts, vols


def rss_kb(gw):
    with open("/proc/%d/status" % gw.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def assert_serving(gw, cimi):
    assert gw.proc.poll() is None, "cloudgated died:\n" + gw.log_text()[-3000:]
    assert cimi.get("/cimi/cloudEntryPoint").status_code == 200


def refused(gw, cimi, path, body, ctype, status, words, method="POST"):
    """Send body; expect status and a message holding every word; nothing
    changed; the daemon still serving."""
    before = world(gw, cimi)
    r = post(gw, cimi, path, body, ctype, method=method)
    assert_serving(gw, cimi)
    assert r.status_code == status, (body[:200], r.status_code, r.text)
    message = r.json()["message"]
    for w in words:
        assert w in message, (body[:200], message)
    assert world(gw, cimi) == before
    return message


MC = '<MachineCreate xmlns="%s">%%s</MachineCreate>' % NS

XML_COLLISIONS = [
    # The reproduction of issue 9: json-c asserted and cloudgated aborted.
    (MC % '<properties>x</properties><property name="a">b</property>', "'properties'"),
    (MC % '<machineTemplate><volumes>x</volumes><volume/></machineTemplate>', "'volumes'"),
    (MC % '<machineTemplate><volumeTemplates>x</volumeTemplates><volumeTemplate/>'
          '</machineTemplate>', "'volumeTemplates'"),
    # The attribute form.
    ('<MachineCreate xmlns="%s" properties="x"><property name="a">b</property>'
     '</MachineCreate>' % NS, "'properties'"),
    (MC % '<machineTemplate volumes="x"><volume href="v"/></machineTemplate>', "'volumes'"),
    (MC % '<machineTemplate><machineConfig href="a"><href>b</href></machineConfig>'
          '</machineTemplate>', "<href> appears more than once in <machineConfig>"),
    # The other order, and a property twice.
    (MC % '<property name="a">b</property><properties>x</properties>',
     "<properties> appears more than once"),
    (MC % '<property name="a">1</property><property name="a">2</property>',
     "<property name='a'> appears more than once"),
]


@pytest.mark.parametrize("body,word", XML_COLLISIONS)
def test_xml_collisions(gw, cimi, body, word):
    refused(gw, cimi, "/cimi/machines", body, XML, 400, [word])


JSON_WRONG_TYPES = [
    ({"name": 5}, ["'name'"]),
    ({"properties": []}, ["'properties'"]),
    ({"properties": {"a": {}}}, ["property 'a'"]),
    ({"properties": {"k%d" % i: "v" for i in range(49)}}, ["more than 48 properties"]),
    ({"machineTemplate": "x"}, ["'machineTemplate'"]),
    ({"machineTemplate": {"volumes": {}}}, ["machineTemplate.volumes must be an array"]),
    ({"machineTemplate": {"volumeTemplates": [5]}}, ["machineTemplate.volumeTemplates[0]"]),
    ({"machineTemplate": {"machineConfig": "x"}}, ["'machineConfig'"]),
    ({"machineTemplate": {"href": 7}}, ["'href'"]),
    ({"machineTemplate": {"userData": ["x"]}}, ["'userData'"]),
    ({"machineTemplate": {"volumeTemplates": [{"volumeConfig": {"capacity": "x"}}]}},
     ["capacity"]),
    ({"machineTemplate": {"volumeTemplates": [{"volumeConfig": {
        "capacity": 99999999999999999999999}}]}}, ["capacity", "out of range"]),
    ({"machineTemplate": {"volumeTemplates": [{}] * 9}}, ["at most 8"]),
]


@pytest.mark.parametrize("body,words", JSON_WRONG_TYPES)
def test_json_wrong_types(gw, cimi, body, words):
    refused(gw, cimi, "/cimi/machines", json.dumps(body), JSON, 400, words)


def test_wrong_types_elsewhere(gw, cimi, machine):
    refused(gw, cimi, "/cimi/volumes", json.dumps({"volumeTemplate": {"volumeConfig": []}}),
            JSON, 400, ["'volumeConfig'"])
    refused(gw, cimi, "/cimi/volumes", json.dumps(
        {"volumeTemplate": {"volumeConfig": {"capacity": 1e300}}}), JSON, 400, ["capacity"])
    refused(gw, cimi, "/cimi/machineTemplates", json.dumps({"volumes": {}}), JSON, 400,
            ["MachineTemplate.volumes must be an array"])
    refused(gw, cimi, "/cimi/credentials", json.dumps({"name": "k", "credentialTemplate": "x"}),
            JSON, 400, ["'credentialTemplate'"])
    refused(gw, cimi, machine + "/volumes", json.dumps({"volume": "x"}), JSON, 400, ["'volume'"])
    refused(gw, cimi, machine, json.dumps({"action": ACTION + "stop", "force": 5}), JSON, 400,
            ["'force'"])
    refused(gw, cimi, machine, json.dumps({"action": ACTION + "capture", "properties": []}), JSON,
            400, ["'properties'"])
    refused(gw, cimi, machine, json.dumps({"name": ["x"]}), JSON, 400, ["'name'"], method="PUT")
    refused(gw, cimi, machine, json.dumps({"cpu": 1e300}), JSON, 400, ["'cpu'"], method="PUT")


def test_dtd_entity_amplification(gw, cimi):
    """20,000 references to a 1 KB entity (20 MB expanded): refused before
    the DTD is read; the daemon's RSS does not grow."""
    body = ('<!DOCTYPE MachineCreate [<!ENTITY x "%s">]>' % ("x" * 1000) +
            MC % ("<name>" + "&x;" * 20000 + "</name>"))
    rss = rss_kb(gw)
    for _ in range(5):
        refused(gw, cimi, "/cimi/machines", body, XML, 400, ["DOCTYPE"])
    # Expanded, the five bodies would be 100 MB; ASan's quarantine of freed
    # memory alone adds some MB, so its build gets a wider bound.
    assert rss_kb(gw) - rss < (32768 if "ASAN_OPTIONS" in os.environ else 4096), \
        (rss, rss_kb(gw))
    # Nested entities (billion laughs) and an external DTD: the same answer.
    laughs = '<!DOCTYPE MachineCreate [<!ENTITY a "aaaaaaaaaa">' + "".join(
        '<!ENTITY %s "%s">' % (chr(98 + i), ("&%s;" % chr(97 + i)) * 10) for i in range(8)) + ']>'
    refused(gw, cimi, "/cimi/machines", laughs + MC % "<name>&i;</name>", XML, 400, ["DOCTYPE"])
    refused(gw, cimi, "/cimi/machines",
            '<!DOCTYPE MachineCreate SYSTEM "http://127.0.0.1:1/x.dtd">' + MC % "", XML, 400,
            ["DOCTYPE"])
    # Expanded, the five bodies would be 100 MB; ASan's quarantine of freed
    # memory alone adds some MB, so its build gets a wider bound.
    assert rss_kb(gw) - rss < (32768 if "ASAN_OPTIONS" in os.environ else 4096), \
        (rss, rss_kb(gw))


def test_bounds(gw, cimi):
    deep = MC % ("<a>" * 40 + "</a>" * 40)
    refused(gw, cimi, "/cimi/machines", deep, XML, 400, ["deeper than 16"])
    wide = MC % ("<x>" + "<b/>" * 10001 + "</x>")
    refused(gw, cimi, "/cimi/machines", wide, XML, 400, ["more than 10000"])
    refused(gw, cimi, "/cimi/machines", '{"a": ' + "[" * 40 + "]" * 40 + "}", JSON, 400,
            ["deeper than 16"])
    refused(gw, cimi, "/cimi/machines", '{"a": [' + ",".join(["0"] * 10001) + "]}", JSON, 400,
            ["more than 10000 values"])
    # What json-c takes silently: repeated names, \u0000, invalid UTF-8.
    refused(gw, cimi, "/cimi/machines", '{"name": "a", "name": 5}', JSON, 400, ["repeats"])
    refused(gw, cimi, "/cimi/machines", '{"name\\u0000x": 1}', JSON, 400, ["NUL"])
    refused(gw, cimi, "/cimi/machines", b'{"name": "\xc3\x28"}', JSON, 400, ["UTF-8"])
    refused(gw, cimi, "/cimi/machines", MC.encode() % b"<name>\xff</name>", XML, 400,
            ["not an XML document"])
    # userData of ~900 KB base64: refused by its bound, named.
    big = json.dumps({"machineTemplate": {"userData": "QUFB" * 230000}})
    refused(gw, cimi, "/cimi/machines", big, JSON, 400, ["userData"])


def get_refused(gw, cimi, query, status, words):
    r = cimi.get("/cimi/machines?" + query)
    assert_serving(gw, cimi)
    assert r.status_code == status, (query[:200], r.text)
    for w in words:
        assert w in r.json()["message"], (query[:200], r.text)


def test_query_parameters(gw, cimi):
    before = world(gw, cimi)
    get_refused(gw, cimi, "$filter=" + "%20and%20".join("name!='x%d'" % i for i in range(300)),
                400, ["comparisons", "limit"])
    get_refused(gw, cimi, "$filter=" + "(" * 40 + "name='a'" + ")" * 40, 400, ["nested"])
    get_refused(gw, cimi, "$filter=name='" + "a" * 9000 + "'", 400, ["longer than 8192"])
    get_refused(gw, cimi, "$filter=cpu=99999999999999999999", 400, ["integer"])
    get_refused(gw, cimi, "&".join("$filter=cpu%%3D%d" % i for i in range(17)), 400,
                ["more than 16 $filter"])
    for q in ("$first=99999999999999999999999", "$first=-1", "$first=", "$last=0", "$last=1e9x"):
        get_refused(gw, cimi, q, 400, [q.split("=")[0]])
    get_refused(gw, cimi, "$select=" + ",".join("a%d" % i for i in range(65)), 400,
                ["more than 64"])
    get_refused(gw, cimi, "$orderby=" + ",".join("a%d" % i for i in range(9)), 400,
                ["more than 8"])
    get_refused(gw, cimi, "$expand=a%00b", 400, ["URL encoding"])
    # 256 comparisons are fine (one node, evaluated in a loop).
    r = cimi.get("/cimi/machines?$filter=" + "%20and%20".join(
        "name!='x%d'" % i for i in range(256)))
    assert r.status_code == 200, r.text
    assert world(gw, cimi) == before


def test_accept_qvalues(gw, cimi):
    # Not RFC 7231 qvalues: the range is ignored (alone: as no Accept, JSON).
    for q in ("1e300", "-1e300", "nan", "inf", "2", "0.0001", ""):
        r = cimi.get("/cimi/cloudEntryPoint", accept="application/xml;q=" + q)
        assert r.status_code == 200, (q, r.text)
        assert r.headers["Content-Type"].split(";")[0] == JSON, q
    r = cimi.get("/cimi/cloudEntryPoint", accept="application/json;q=0.001, application/xml;q=0.002")
    assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == XML
    assert_serving(gw, cimi)


def raw_get(gw, path):
    """GET path exactly as written (requests would remove dot segments)."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    auth = base64.b64encode(("%s:%s" % (gw.key_id, gw.secret)).encode()).decode()
    try:
        conn.request("GET", path, headers={"Authorization": "Basic " + auth, "Accept": JSON})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_odd_paths(gw, cimi, machine):
    before = world(gw, cimi)
    mid = machine.rsplit("/", 1)[1]
    for path in ("/cimi/machines/" + "a" * 20000, "/cimi/machines/..", "/cimi/machines/%00",
                 "/cimi/machines/" + mid + "%00", "/cimi/machines/" + mid + "%2Fvolumes",
                 "/cimi/machines/../credentials", "/cimi/machines/" + mid + "/volumes/" + "v" * 5000,
                 "/cimi/machines/" + mid + "/graphicsConsoles/" + "x" * 5000,
                 "/cimi/machineTemplates/" + "t" * 150 + "/graphicsConsoles",
                 "/cimi/machineImages/" + "i" * 150 + "/graphicsConsoles"):
        status, body = raw_get(gw, path)
        assert status == 404, (path[:80], status, body[:300])
        assert json.loads(body)["message"], path[:80]
        assert_serving(gw, cimi)
    # The same odd ids in bodies' references: 400, named.
    refused(gw, cimi, machine + "/volumes",
            json.dumps({"volume": {"href": gw.endpoint + "/cimi/volumes/../x"}}), JSON, 400,
            ["volume.href"])
    refused(gw, cimi, "/cimi/machines", json.dumps({"machineTemplate": {
        "machineConfig": {"href": gw.endpoint + "/cimi/machineConfigs/" + "c" * 5000}}}), JSON,
        400, ["machineTemplate.machineConfig"])
    assert world(gw, cimi) == before


def expanded_refs(machines):
    """(expanded, all) references among the machines' attributes (disks,
    volumes): an expanded one carries more than its href."""
    refs = [v for m in machines for v in m.values() if isinstance(v, dict) and "href" in v]
    return sum(len(v) > 1 for v in refs), len(refs)


def test_expand_is_bounded(gw, cimi):
    """$expand=* lists a collection per reference: at most 64 per answer."""
    gw.client().run_instances(ImageId=gw.image_id, MinCount=40, MaxCount=40,
                              InstanceType="t2.nano")
    r = cimi.get("/cimi/machines", params={"$expand": "*"})
    assert r.status_code == 200, r.text
    done, total = expanded_refs(r.json()["machines"])
    assert total > 64 and done == 64, (done, total)
    assert_serving(gw, cimi)
