"""Malformed and hostile requests, part 2: injection attempts (XML, shell,
path traversal, libvirt XML metacharacters, control characters, invalid
UTF-8, NULs, very long strings) in tag keys and values, key names, AMI names
and descriptions, user data, volume device names and filter values.

Each payload goes out percent-encoded byte for byte in a SigV4-signed body.
Where cloudgate refuses it the case asserts the exact code and that nothing
changed; where it legitimately accepts it (a tag value may contain '<') the
value must come back byte-identical through the Describe call (boto3's own
XML parser reads it), proving it was escaped and not interpreted, and the
case removes it again and then asserts that nothing changed."""
import base64

import pytest

import hostile as H
from hostile import assert_ec2_error, signed_params
from conftest import wait_running

# Expectation letters per rule family (one column each in PAYLOADS):
#   A  accepted (stored and read back; for the not-found probes: passes the
#      check and reaches the lookup)
#   V  400 InvalidParameterValue
#   N  400 InvalidAMIName.Malformed
#   M  400 MalformedQueryString (a NUL can never be a parameter)
# Columns: tv tag value (<= 256 XML characters), tk tag key (1..128, not
# aws:/cloudgate:), kn key name (1..255 printable ASCII), ami AMI name
# (3..128 of letters, digits and ()[] ./-'@_), desc AMI description (<= 255).
MB = 1000 * 1000

PAYLOADS = [
    # name               bytes                                   tv   tk   kn   ami  desc
    ("xml_close_tags", b"</key><value>pwn</value><key>",         "A", "A", "A", "N", "A"),
    ("cdata_end", b"]]>",                                        "A", "A", "A", "N", "A"),
    ("amp_entity", b"&amp;&lt;&#0;",                             "A", "A", "A", "N", "A"),
    ("doctype_entity", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
                                                                 "A", "A", "A", "N", "A"),
    ("lt", b"<",                                                 "A", "A", "A", "N", "A"),
    ("double_quote", b'"',                                       "A", "A", "A", "N", "A"),
    ("single_quote", b"'",                                       "A", "A", "A", "N", "A"),
    ("libvirt_attr_break", b"x' type='kvm'><name>evil</name>",   "A", "A", "A", "N", "A"),
    ("quotes_in_valid_ami_name", b"it's (1) [a]@b_c",            "A", "A", "A", "A", "A"),
    ("shell_substitution", b"$(reboot)",                         "A", "A", "A", "N", "A"),
    ("shell_semicolon", b"; rm -rf /",                           "A", "A", "A", "N", "A"),
    ("shell_backticks", b"`reboot`",                             "A", "A", "A", "N", "A"),
    ("shell_pipe_redirect", b"| cat /etc/shadow > /tmp/x",       "A", "A", "A", "N", "A"),
    ("path_traversal", b"../../etc/passwd",                      "A", "A", "A", "A", "A"),
    ("device_path", b"/dev/sda",                                 "A", "A", "A", "A", "A"),
    ("file_uri", b"file:///etc/passwd",                          "A", "A", "A", "N", "A"),
    ("literal_percents", b"%00%G1%",                             "A", "A", "A", "N", "A"),
    ("aws_prefix", b"aws:x",                                     "A", "V", "A", "N", "A"),
    ("cloudgate_prefix", b"cloudgate:x",                         "A", "V", "A", "N", "A"),
    ("control_01", b"a\x01b",                                    "V", "V", "V", "N", "A"),
    ("control_escape", b"\x1b[2J\x1b]0;x\x07",                   "V", "V", "V", "N", "A"),
    ("delete_7f", b"a\x7fb",                                     "A", "A", "V", "N", "A"),
    ("newline", b"a\nb",                                         "A", "A", "V", "N", "A"),
    ("tab", b"a\tb",                                             "A", "A", "V", "N", "A"),
    ("carriage_return", b"a\rb",                                 "A", "A", "V", "N", "A"),
    ("nul", b"a\x00b",                                           "M", "M", "M", "M", "M"),
    ("invalid_utf8", b"\xff\xfe",                                "V", "V", "V", "N", "A"),
    ("overlong_utf8", b"\xc0\xaf",                               "V", "V", "V", "N", "A"),
    ("utf8_surrogate", b"\xed\xa0\x80",                          "V", "V", "V", "N", "A"),
    ("utf8_noncharacter_fffe", b"\xef\xbf\xbe",                  "V", "V", "V", "N", "A"),
    ("utf8_multibyte", "é✓😀".encode(),                          "A", "A", "V", "N", "A"),
    ("long_257", b"v" * 257,                                     "V", "V", "V", "N", "V"),
    ("long_1mb", b"x" * MB,                                      "V", "V", "V", "N", "V"),
]

IDS = [p[0] for p in PAYLOADS]
COLS = {"tv": 2, "tk": 3, "kn": 4, "ami": 5, "desc": 6}
IPV = (400, "InvalidParameterValue")
MQS = (400, "MalformedQueryString")
LETTER = {"V": IPV, "M": MQS, "N": (400, "InvalidAMIName.Malformed")}
KEY = (b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x")
ORIGINAL_USER_DATA = b"#!/bin/sh\necho original\n"
NOBODY = "i-00000000000000000"


@pytest.fixture(scope="module")
def guard():
    yield from H.module_guard()


@pytest.fixture(scope="module")
def world(guard):
    """A stopped instance (with user data) and a running one."""
    ec2 = guard.ec2
    r = ec2.run_instances(ImageId=guard.gw.image_id, MinCount=2, MaxCount=2,
                          InstanceType="t2.micro", UserData=ORIGINAL_USER_DATA.decode())
    ids = sorted(i["InstanceId"] for i in r["Instances"])
    wait_running(ec2, ids)   # the "changes nothing" checks compare states
    ec2.stop_instances(InstanceIds=[ids[0]], Force=True)
    H_wait_stopped(ec2, ids[0])
    guard.last = None
    return {"stopped": ids[0], "running": ids[1]}


def H_wait_stopped(ec2, iid):
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid],
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 30})


@pytest.fixture
def g(guard, world):
    guard.ensure_up()
    guard.world = world
    return guard


def want(payload, col):
    return payload[COLS[col]]


def call(g, action, params):
    return signed_params(g.gw, [("Action", action)] + params)


def check_refused(r, letter):
    assert_ec2_error(r, *LETTER[letter])


def text(p):
    return p.decode("utf-8")


# ---- tags on an instance and on an image ----------------------------------

def _tag_case(g, resource, key, value, letter):
    before = g.before()
    r = call(g, "CreateTags", [("ResourceId.1", resource), ("Tag.1.Key", key),
                               ("Tag.1.Value", value)])
    if letter != "A":
        check_refused(r, letter)
    else:
        assert r.status == 200, r
        got = g.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource]}])["Tags"]
        mine = [t for t in got if t["Key"] == text(key)]
        assert [t["Value"] for t in mine] == [text(value)], got
        r = call(g, "DeleteTags", [("ResourceId.1", resource), ("Tag.1.Key", key)])
        assert r.status == 200, r
    g.after(before)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_instance_tag_value(g, payload):
    _tag_case(g, g.world["stopped"], b"probe", payload[1], want(payload, "tv"))


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_instance_tag_key(g, payload):
    _tag_case(g, g.world["stopped"], payload[1], b"v", want(payload, "tk"))


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_image_tag_value(g, payload):
    _tag_case(g, g.gw.image_id, b"probe", payload[1], want(payload, "tv"))


# ---- tags that go through DryRun: a volume's and a launch's ----------------

@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_volume_tag_value_dry_run(g, payload):
    before = g.before()
    r = call(g, "CreateVolume", [
        ("AvailabilityZone", "cloudgate-a"), ("Size", "1"), ("DryRun", "true"),
        ("TagSpecification.1.ResourceType", "volume"), ("TagSpecification.1.Tag.1.Key", "Name"),
        ("TagSpecification.1.Tag.1.Value", payload[1])])
    letter = want(payload, "tv")
    if letter == "A":
        assert_ec2_error(r, 412, "DryRunOperation")
    else:
        check_refused(r, letter)
    g.after(before)


# ---- key names --------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_key_name(g, payload):
    before = g.before()
    name = payload[1]
    r = call(g, "ImportKeyPair", [("KeyName", name),
                                  ("PublicKeyMaterial", base64.b64encode(KEY))])
    letter = want(payload, "kn")
    if letter != "A":
        check_refused(r, letter)
    else:
        assert r.status == 200, r
        got = g.ec2.describe_key_pairs(KeyNames=[text(name)], IncludePublicKey=True)["KeyPairs"]
        assert [k["KeyName"] for k in got] == [text(name)]
        assert got[0]["PublicKey"].split()[:2] == KEY.decode().split()[:2]
        r = call(g, "DeleteKeyPair", [("KeyName", name)])
        assert r.status == 200, r
    g.after(before)


def run_key_expectation(p):
    """RunInstances checks only that KeyName is 1..255 bytes, then looks it up."""
    if b"\x00" in p:
        return MQS
    if not p or len(p) > 255:
        return IPV
    return (400, "InvalidKeyPair.NotFound")


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_run_instances_key_name(g, payload):
    before = g.before()
    r = call(g, "RunInstances", [("ImageId", g.gw.image_id), ("MinCount", "1"),
                                 ("MaxCount", "1"), ("InstanceType", "t2.micro"),
                                 ("KeyName", payload[1]), ("DryRun", "true")])
    assert_ec2_error(r, *run_key_expectation(payload[1]))
    g.after(before)


# ---- AMI names and descriptions (CreateImage of an instance that does not
# exist: the checks run first, the lookup answers NotFound) ----------------

@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_ami_name(g, payload):
    before = g.before()
    r = call(g, "CreateImage", [("InstanceId", NOBODY), ("Name", payload[1])])
    letter = want(payload, "ami")
    if letter == "A":
        assert_ec2_error(r, 400, "InvalidInstanceID.NotFound")
    else:
        check_refused(r, letter)
    g.after(before)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_ami_description(g, payload):
    before = g.before()
    r = call(g, "CreateImage", [("InstanceId", NOBODY), ("Name", "probe-image"),
                                ("Description", payload[1])])
    letter = want(payload, "desc")
    if letter == "A":
        assert_ec2_error(r, 400, "InvalidInstanceID.NotFound")
    else:
        check_refused(r, letter)
    g.after(before)


# ---- user data: any bytes (base64 on the wire) up to 16 KiB ----------------

USER_DATA_MAX = 16 * 1024


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_user_data(g, payload):
    """Stored byte for byte on the stopped instance, read back, restored."""
    before = g.before()
    data = payload[1][:600000]  # base64 of 1 MB would pass max_body
    iid = g.world["stopped"]
    r = call(g, "ModifyInstanceAttribute", [("InstanceId", iid),
                                            ("UserData.Value", base64.b64encode(data))])
    if len(data) > USER_DATA_MAX:
        assert_ec2_error(r, *IPV, message_has="User data is limited")
    else:
        assert r.status == 200, r
        got = g.ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
        assert base64.b64decode(got["UserData"]["Value"]) == data
        r = call(g, "ModifyInstanceAttribute", [
            ("InstanceId", iid), ("UserData.Value", base64.b64encode(ORIGINAL_USER_DATA))])
        assert r.status == 200, r
    g.after(before)


def is_base64(p):
    try:
        base64.b64decode(p, validate=True)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_user_data_not_base64(g, payload):
    """The raw payload where base64 belongs (as a client that forgot to
    encode): refused unless it happens to be valid base64, with DryRun so an
    accepted one changes nothing either."""
    before = g.before()
    p = payload[1]
    r = call(g, "RunInstances", [("ImageId", g.gw.image_id), ("MinCount", "1"),
                                 ("MaxCount", "1"), ("InstanceType", "t2.micro"),
                                 ("UserData", p), ("DryRun", "true")])
    if b"\x00" in p:
        assert_ec2_error(r, *MQS)
    elif len(p.replace(b"\n", b"").replace(b"\r", b"")) > 4 * ((USER_DATA_MAX + 2) // 3):
        assert_ec2_error(r, *IPV, message_has="User data is limited")
    elif is_base64(p):  # "/dev/sda" is base64 of 6 bytes
        assert_ec2_error(r, 412, "DryRunOperation")
    else:
        assert_ec2_error(r, *IPV, message_has="BASE64")
    g.after(before)


# ---- volume device names ---------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_attach_device_name(g, payload):
    """No payload is a device (sd/xvd/vd + b..z): refused before any lookup."""
    before = g.before()
    r = call(g, "AttachVolume", [("VolumeId", "vol-00000000000000000"),
                                 ("InstanceId", g.world["running"]), ("Device", payload[1])])
    assert_ec2_error(r, *(MQS if b"\x00" in payload[1] else IPV))
    g.after(before)


# ---- filter values: matched as text, never interpreted ---------------------

@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_filter_value(g, payload):
    before = g.before()
    r = call(g, "DescribeInstances", [("Filter.1.Name", "tag:Name"),
                                      ("Filter.1.Value.1", payload[1])])
    if b"\x00" in payload[1]:
        assert_ec2_error(r, *MQS)
    else:
        assert r.status == 200, r
        assert b"<reservationSet/>" in r.body or b"<reservationSet></reservationSet>" in r.body, r
    g.after(before)


# ---- accepted AMI names and descriptions, captured for real -----------------
# The names pass EC2's character rule; they must be stored as text (never a
# path) and come back byte-identical.  Removed with cloudgate-admin, since EC2
# DeregisterImage is not served.

CAPTURES = [
    ("path_traversal_name", b"../../etc/passwd", b"</description><x>]]>&amp;"),
    ("device_name", b"/dev/sda", b"$(reboot); rm -rf / `reboot`"),
    ("quotes_name", b"it's (1) [a]@b_c", b"x' type='kvm'><name>evil</name>\"\t\n\r"),
    ("dots_name", b"..", None),  # too short: refused
    ("dot_slash_name", b"./.", b"../../../../../../tmp/cg-owned"),
]


@pytest.mark.parametrize("name,ami_name,desc", CAPTURES, ids=[c[0] for c in CAPTURES])
def test_capture_hostile_name(g, name, ami_name, desc):
    before = g.before()
    params = [("InstanceId", g.world["stopped"]), ("Name", ami_name)]
    if desc is not None:
        params.append(("Description", desc))
    r = call(g, "CreateImage", params)
    if len(ami_name) < 3:
        assert_ec2_error(r, 400, "InvalidAMIName.Malformed")
        g.after(before)
        return
    assert r.status == 200, r
    ami = H.ET.fromstring(r.body).findtext("{http://ec2.amazonaws.com/doc/2016-11-15/}imageId")
    assert ami and ami.startswith("ami-"), r
    try:
        g.ec2.get_waiter("image_available").wait(ImageIds=[ami],
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        img = g.ec2.describe_images(ImageIds=[ami])["Images"][0]
        assert img["Name"] == text(ami_name)
        assert img.get("Description", "") == text(desc)
        # Nothing was written where the name points.
        assert not H.os.path.exists("/tmp/cg-owned")
    finally:
        snaps = [m["Ebs"]["SnapshotId"] for m in g.ec2.describe_images(
            ImageIds=[ami])["Images"][0].get("BlockDeviceMappings", [])
            if m.get("Ebs", {}).get("SnapshotId")]
        g.gw.admin("image-deregister", ami)
    # The admin removes the template with the snapshot recorded for it.
    assert snaps and not set(snaps) & {x["SnapshotId"] for x in
                                      g.ec2.describe_snapshots()["Snapshots"]}
    assert ami not in [i["ImageId"] for i in g.ec2.describe_images()["Images"]]
    g.after(before, jobs_ok=True)  # CreateImage's job stays on record, as CIMI shows
