"""Malformed and hostile requests against the real cloudgated (libvirt
test:// driver), part 1: HTTP framing, form encoding, duplicated and empty
parameters, list indexes, counts and paging, content types and every EC2
authentication failure (raw and through boto3).

Every case asserts the exact status and error code, that nothing changed
(hostile.snapshot: EC2 Describe calls, CIMI counts, the files under the
gateway's directory and its SQLite row counts) and that the daemon still
serves.  One daemon per module; a case that kills it fails and the next case
gets a fresh one.  Each table's third column is what the daemon must answer:
adjust expectations there.  Parts 2 and 3: test_malformed_values.py
(injection in names and values) and test_malformed_cimi.py (CIMI)."""
import datetime
import re
import xml.etree.ElementTree as ET

import botocore
import botocore.config
import boto3
import pytest
from botocore.exceptions import ClientError

import hostile as H
from hostile import assert_ec2_error, raw, send, signed, signed_params, status_of
from conftest import wait_running

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
MAX_BODY = 1024 * 1024
MISSING_MSG = ("The request must contain either a valid (registered) AWS access key ID or "
               "X.509 certificate.")


@pytest.fixture(scope="module")
def guard():
    yield from H.module_guard()


@pytest.fixture(scope="module")
def world(guard):
    """Something to describe: two instances (one stopped), a key pair, a
    volume, tags.  Made once, before the first snapshot."""
    ec2 = guard.ec2
    r = ec2.run_instances(ImageId=guard.gw.image_id, MinCount=2, MaxCount=2,
                          InstanceType="t2.micro",
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": "Name", "Value": "w"}]}])
    ids = sorted(i["InstanceId"] for i in r["Instances"])
    wait_running(ec2, ids)   # the "changes nothing" checks compare states
    ec2.stop_instances(InstanceIds=[ids[1]], Force=True)
    ec2.import_key_pair(KeyName="world-key", PublicKeyMaterial=(
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl w"))
    ec2.create_volume(AvailabilityZone="cloudgate-a", Size=1)
    guard.last = None
    return ids


@pytest.fixture
def g(guard, world):
    guard.ensure_up()
    return guard


def host(g):
    return "127.0.0.1:%d" % g.gw.port


def ids_in(reply):
    root = ET.fromstring(reply.body)
    return sorted(e.text for e in root.iter(NS + "instanceId"))


def describe_ids(g):
    return sorted(i["InstanceId"] for res in g.ec2.describe_instances()["Reservations"]
                  for i in res["Instances"])


# ---- 1. HTTP framing (raw socket) -----------------------------------------
# (name, request bytes (a function of the Host header), expectation)
# expectation: an int status, a tuple of allowed statuses, or None for "the
# server closes without answering".  Every framing error must close.

def _req(head, body=b""):
    return lambda hp: head.replace("{host}", hp).encode() + body


SIGNED_CREATE = "Action=CreateKeyPair&KeyName=framing-trunc&KeyType=ed25519&Version=2016-11-15"

FRAMING = [
    ("content_length_larger_then_close",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded"
          "\r\nContent-Length: 100\r\n\r\n", b"Action=CreateKeyPair&KeyName=x"), None),
    ("content_length_huge",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000000000000\r\n\r\n",
          b"Action=DescribeRegions"), 413),
    ("content_length_over_max_body",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1),
          b"a" * (MAX_BODY + 1)), 413),
    ("content_length_negative",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: -5\r\n\r\n", b"abc"), 400),
    ("content_length_text",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: abc\r\n\r\n", b"abc"), 400),
    ("content_length_twice_differing",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
          b"abcdefg"), 400),
    ("content_length_and_chunked",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n"
          "Transfer-Encoding: chunked\r\n\r\n", b"0\r\n\r\n"), 400),
    ("chunk_size_not_hex",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n",
          b"zz\r\nabc\r\n0\r\n\r\n"), (400, 413)),
    ("chunk_size_enormous",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n",
          b"FFFFFFFFFFFF\r\nabc"), 413),
    ("chunks_over_max_body",
     _req("POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n",
          (b"%x\r\n" % (MAX_BODY // 2) + b"a" * (MAX_BODY // 2) + b"\r\n") * 3 + b"0\r\n\r\n"),
     413),
    ("header_over_max_headers",
     _req("GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: " + "a" * 70000 + "\r\n\r\n"), (400, 413)),
    ("many_headers_over_max_headers",
     _req("GET / HTTP/1.1\r\nHost: {host}\r\n" +
          "".join("X-H%d: %s\r\n" % (i, "v" * 30) for i in range(3000)) + "\r\n"), (400, 413)),
    ("uri_over_max_headers",
     _req("GET /?" + "a" * 70000 + " HTTP/1.1\r\nHost: {host}\r\n\r\n"), (400, 413)),
    ("request_line_garbage", _req("GARBAGE\r\n\r\n"), 400),
    ("request_line_binary", lambda hp: b"\x00\x01\x02\xff\x80\r\n\r\n", 400),
    ("http_version_9_9", _req("GET / HTTP/9.9\r\nHost: {host}\r\n\r\n"), 400),
    ("http2_preface", _req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 400),
    ("header_without_colon",
     _req("GET / HTTP/1.1\r\nHost: {host}\r\nthis is no header\r\n\r\n"), 400),
]


@pytest.mark.parametrize("name,make,want", FRAMING, ids=[c[0] for c in FRAMING])
def test_framing(g, name, make, want):
    before = g.before()
    out, closed = raw(g.gw, make(host(g)), timeout=5,
                      shut_write=name == "content_length_larger_then_close")
    if want is None:
        assert out == b"" and closed, out[:300]
    else:
        allowed = want if isinstance(want, tuple) else (want,)
        assert status_of(out) in allowed, out[:300]
        assert closed, "the connection stayed open after a framing error"
    g.after(before)


def test_truncated_signed_body_is_not_executed(g):
    """A correctly signed CreateKeyPair whose body is cut short (Content-Length
    says more) and the socket closed: no answer, no key pair."""
    before = g.before()
    target, hdrs = H.sign_v4(g.gw, SIGNED_CREATE.encode())
    head = "POST / HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in hdrs.items())
    head += "Content-Length: %d\r\n\r\n" % len(SIGNED_CREATE)
    out, closed = raw(g.gw, head.encode() + SIGNED_CREATE.encode()[:-10], timeout=5,
                      shut_write=True)
    assert out == b"" and closed, out[:300]
    g.after(before)


def test_body_over_max_body_signed(g):
    """A signed body one byte over max_body: 413 from the HTTP layer."""
    before = g.before()
    body = b"Action=DescribeRegions&Version=2016-11-15&x="
    body += b"a" * (MAX_BODY + 1 - len(body))
    target, hdrs = H.sign_v4(g.gw, body)
    out, closed = H.raw_request(g.gw, "POST", target, hdrs, body)
    assert status_of(out) == 413 and closed, out[:300]
    g.after(before)


# ---- 2. form encoding of signed bodies ------------------------------------
# Only after the signature verifies is the body parsed.

BAD = H.expect(400, "MalformedQueryString")
MISSING_ACTION = H.expect(400, "MissingParameter", "Action")
OK = H.expect(200)

ENCODING = [
    ("lone_percent", b"Action=DescribeRegions&x=%", BAD),
    ("percent_G1", b"Action=DescribeRegions&x=%G1", BAD),
    ("percent_one_digit", b"Action=DescribeRegions&x=%4", BAD),
    ("percent_in_name", b"Action=DescribeRegions&%ZZ=1", BAD),
    ("percent_at_end_of_name", b"Action=DescribeRegions&x%=1", BAD),
    ("nul_encoded_in_value", b"Action=DescribeRegions&x=a%00b", BAD),
    ("nul_encoded_in_name", b"Action=DescribeRegions&x%00y=1", BAD),
    ("nul_encoded_in_action", b"Action=DescribeRegions%00&Version=2016-11-15", BAD),
    ("nul_raw_in_value", b"Action=DescribeRegions&x=a\x00b", BAD),
    ("nul_raw_in_name", b"Action=DescribeRegions&a\x00b=1", BAD),
    ("invalid_utf8_in_value", b"Action=DescribeRegions&x=%FF%FE", OK),
    ("invalid_utf8_raw_in_name", b"Action=DescribeRegions&\xff\xfe=1", OK),
    ("invalid_utf8_in_action", b"Action=Describe%FFRegions", H.expect(400, "InvalidAction")),
    ("overlong_utf8_slash_in_value", b"Action=DescribeRegions&x=%C0%AF", OK),
    ("empty_action", b"Action=&Version=2016-11-15", MISSING_ACTION),
    ("action_without_equals", b"Action&Version=2016-11-15", MISSING_ACTION),
    ("no_parameters_at_all", b"", MISSING_ACTION),
    ("only_ampersands", b"&&&", MISSING_ACTION),
    ("only_equals", b"=", MISSING_ACTION),
    ("empty_name", b"=x&Action=DescribeRegions", OK),
    ("empty_name_and_value_pairs", b"=&=&Action=DescribeRegions&&", OK),
    ("duplicated_action_first_wins", b"Action=DescribeRegions&Action=DescribeImages", OK),
    ("duplicated_action_unknown_first",
     b"Action=LaunchRockets&Action=DescribeRegions", H.expect(400, "InvalidAction")),
    ("action_wrong_case", b"Action=describeregions", H.expect(400, "InvalidAction")),
    ("action_lowercase_name", b"action=DescribeRegions", MISSING_ACTION),
    ("action_with_space", b"Action=DescribeRegions+", H.expect(400, "InvalidAction")),
    ("action_huge", b"Action=" + b"A" * 100000, H.expect(400, "InvalidAction")),
    ("dryrun_not_bool", b"Action=DescribeRegions&DryRun=yes",
     H.expect(400, "InvalidParameterValue")),
    ("dryrun_empty", b"Action=DescribeRegions&DryRun=", H.expect(400, "InvalidParameterValue")),
    ("plus_and_spaces_in_names", b"Action=DescribeRegions&a+b=c+d", OK),
    ("semicolon_separator", b"Action=DescribeRegions;Version=2016-11-15",
     H.expect(400, "InvalidAction")),
]


@pytest.mark.parametrize("name,body,want", ENCODING, ids=[c[0] for c in ENCODING])
def test_signed_body_encoding(g, name, body, want):
    before = g.before()
    r = signed(g.gw, body)
    status, code, word = want
    if status == 200:
        assert r.status == 200, r
        assert b"<regionName>cloudgate</regionName>" in r.body, r
    else:
        assert_ec2_error(r, status, code, word or ())
    g.after(before)


# ---- 3. unsigned requests: never parsed beyond finding a signature --------

MISSING = H.expect(401, "MissingAuthenticationToken", MISSING_MSG)

UNSIGNED_CASES = [
    ("post_form", "POST", "/", b"Action=DescribeRegions&Version=2016-11-15", MISSING),
    ("post_mutating", "POST", "/", b"Action=CreateKeyPair&KeyName=unsigned&KeyType=ed25519",
     MISSING),
    ("post_bad_percent", "POST", "/", b"Action=DescribeRegions&x=%G1", MISSING),
    ("post_lone_percent", "POST", "/", b"Action=DescribeRegions&x=%", MISSING),
    ("post_nul", "POST", "/", b"Action=DescribeRegions&x=%00", MISSING),
    ("post_raw_nul", "POST", "/", b"Action=\x00", MISSING),
    ("post_empty", "POST", "/", b"", MISSING),
    ("post_garbage_binary", "POST", "/", bytes(range(256)), MISSING),
    ("post_too_many_params", "POST", "/", b"&".join(b"p%d=1" % i for i in range(1500)), MISSING),
    ("get_root", "GET", "/", b"", MISSING),
    ("get_action", "GET", "/?Action=DescribeRegions&Version=2016-11-15", b"", MISSING),
    ("get_bad_percent_query", "GET", "/?Action=DescribeRegions&x=%G1", b"",
     H.expect(400, "MalformedQueryString")),
    ("get_nul_query", "GET", "/?Action=DescribeRegions&x=%00", b"",
     H.expect(400, "MalformedQueryString")),
    ("get_lone_percent_query", "GET", "/?%", b"", H.expect(400, "MalformedQueryString")),
]


@pytest.mark.parametrize("name,method,target,body,want", UNSIGNED_CASES,
                         ids=[c[0] for c in UNSIGNED_CASES])
def test_unsigned(g, name, method, target, body, want):
    before = g.before()
    hdrs = {"Content-Type": H.FORM} if method == "POST" else {}
    r = send(g.gw, method, target, body, hdrs)
    assert_ec2_error(r, want[0], want[1], want[2] or ())
    g.after(before)


# ---- 4. parameter count ----------------------------------------------------

def many(n):
    """Action, Version and n - 2 filler parameters: n in all."""
    return b"Action=DescribeRegions&Version=2016-11-15&" + b"&".join(
        b"p%d=1" % i for i in range(n - 2))


COUNTS = [
    ("params_1000_accepted", many(1000), OK),
    ("params_1001", many(1001), H.expect(400, "MalformedQueryString", "too many")),
    ("params_100000_empty_values", b"Action=DescribeRegions&" + b"a=&" * 100000,
     H.expect(400, "MalformedQueryString", "too many")),
    ("params_1001_instance_ids", b"Action=DescribeInstances&" + b"&".join(
        b"InstanceId.%d=i-%08x" % (i, i) for i in range(1, 1002)),
     H.expect(400, "MalformedQueryString", "too many")),
]


@pytest.mark.parametrize("name,body,want", COUNTS, ids=[c[0] for c in COUNTS])
def test_parameter_count(g, name, body, want):
    before = g.before()
    r = signed(g.gw, body)
    if want[0] == 200:
        assert r.status == 200, r
    else:
        msg = assert_ec2_error(r, want[0], want[1])
        assert want[2] in msg.lower(), msg
    g.after(before)


# ---- 5. list indexes, counts and paging -----------------------------------
# ALL: the index is not a list item (not 1..N without leading zeros), so the
# parameter is ignored and every instance is described.

ALL = "all"
IPV = H.expect(400, "InvalidParameterValue")
RUN = [("Action", "RunInstances"), ("ImageId", None), ("InstanceType", "t2.micro"),
       ("DryRun", "true")]

LISTS = [
    ("instance_id_index_20_digits", "DescribeInstances",
     [("InstanceId.99999999999999999999", "i-00000000000000000")], ALL),
    ("instance_id_index_zero", "DescribeInstances", [("InstanceId.0", "i-00000000")], ALL),
    ("instance_id_index_leading_zero", "DescribeInstances",
     [("InstanceId.01", "i-00000000")], ALL),
    ("instance_id_index_negative", "DescribeInstances", [("InstanceId.-1", "i-00000000")], ALL),
    ("instance_id_index_hex", "DescribeInstances", [("InstanceId.0x1", "i-00000000")], ALL),
    ("instance_id_gap_after_1", "DescribeInstances",
     [("InstanceId.1", "i-00000000000000000"), ("InstanceId.99999999999999999999", "i-1")],
     H.expect(400, "InvalidInstanceID.NotFound")),
    ("instance_id_empty", "DescribeInstances", [("InstanceId.1", "")],
     H.expect(400, "InvalidInstanceID.Malformed")),
    ("instance_id_garbage", "DescribeInstances", [("InstanceId.1", "../../etc/passwd")],
     H.expect(400, "InvalidInstanceID.Malformed")),
    ("instance_id_only_submember", "DescribeInstances", [("InstanceId.1.x", "i-00000000")],
     H.expect(400, "MissingParameter")),
    ("instance_id_uppercase_hex", "DescribeInstances", [("InstanceId.1", "i-0000000A")],
     H.expect(400, "InvalidInstanceID.Malformed")),
    ("filter_index_4294967297", "DescribeInstances",
     [("Filter.4294967297.Name", "instance-id"), ("Filter.4294967297.Value.1", "x")], ALL),
    ("filter_index_2_pow_64_plus_1", "DescribeInstances",
     [("Filter.18446744073709551617.Name", "instance-id"),
      ("Filter.18446744073709551617.Value.1", "x")], ALL),
    ("filter_value_index_huge", "DescribeInstances",
     [("Filter.1.Name", "instance-id"), ("Filter.1.Value.4294967297", "x")], IPV),
    ("filter_without_name", "DescribeInstances", [("Filter.1.Value.1", "x")],
     H.expect(400, "MissingParameter", "Filter.1.Name")),
    ("filter_without_value", "DescribeInstances", [("Filter.1.Name", "instance-id")], IPV),
    ("filter_unknown_name", "DescribeInstances",
     [("Filter.1.Name", "rm -rf /"), ("Filter.1.Value.1", "x")], IPV),
    ("filter_empty_name", "DescribeInstances",
     [("Filter.1.Name", ""), ("Filter.1.Value.1", "x")], IPV),
    ("filter_tag_colon_only", "DescribeInstances",
     [("Filter.1.Name", "tag:"), ("Filter.1.Value.1", "x")], IPV),
    ("filter_997_values_accepted", "DescribeInstances",
     [("Filter.1.Name", "instance-id")] + [("Filter.1.Value.%d" % i, "x") for i in
                                           range(1, 998)], H.expect(200)),
    ("max_count_1e9", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "1e9")], IPV),
    ("max_count_minus_1", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "-1")], IPV),
    ("max_count_zero", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "0")], IPV),
    ("max_count_1001", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "1001")], IPV),
    ("max_count_1000000000000", "RunInstances",
     RUN + [("MinCount", "1"), ("MaxCount", "1000000000000")], IPV),
    ("max_count_2_pow_64_plus_2", "RunInstances",
     RUN + [("MinCount", "1"), ("MaxCount", "18446744073709551618")], IPV),
    ("max_count_leading_space", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", " 1")],
     IPV),
    ("max_count_float", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "1.0")], IPV),
    ("max_count_empty", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "")], IPV),
    ("min_count_above_max", "RunInstances", RUN + [("MinCount", "3"), ("MaxCount", "2")], IPV),
    ("min_count_missing", "RunInstances", RUN + [("MaxCount", "1")],
     H.expect(400, "MissingParameter", "MinCount")),
    ("counts_valid_dry_run", "RunInstances", RUN + [("MinCount", "1"), ("MaxCount", "2")],
     H.expect(412, "DryRunOperation")),
    ("max_results_0", "DescribeInstances", [("MaxResults", "0")], IPV),
    ("max_results_4", "DescribeInstances", [("MaxResults", "4")], IPV),
    ("max_results_1001", "DescribeInstances", [("MaxResults", "1001")], IPV),
    ("max_results_99999999999", "DescribeInstances", [("MaxResults", "99999999999")], IPV),
    ("max_results_minus_5", "DescribeInstances", [("MaxResults", "-5")], IPV),
    ("max_results_empty", "DescribeInstances", [("MaxResults", "")], IPV),
    ("max_results_text", "DescribeInstances", [("MaxResults", "ten")], IPV),
    ("max_results_5_accepted", "DescribeInstances", [("MaxResults", "5")], ALL),
    ("max_results_with_ids", "DescribeInstances",
     [("MaxResults", "5"), ("InstanceId.1", "i-00000000")],
     H.expect(400, "InvalidParameterCombination")),
    ("max_results_tags_0", "DescribeTags", [("MaxResults", "0")], IPV),
    ("max_results_types_101", "DescribeInstanceTypes", [("MaxResults", "101")], IPV),
    ("next_token_random_base64", "DescribeInstances",
     [("NextToken", "q83vEjRWeJq83vEjRWeJ")], IPV),
    ("next_token_not_base64", "DescribeInstances", [("NextToken", "!!!not-base64!!!")], IPV),
    ("next_token_huge", "DescribeInstances", [("NextToken", "QUFB" * 50000)], IPV),
    ("next_token_other_kind_status", "DescribeInstances",
     [("NextToken", H.base64.b64encode(b"status:i-00000000").decode())], IPV),
    ("next_token_other_kind_tags", "DescribeInstances",
     [("NextToken", H.base64.b64encode(b"tags:i-00000000").decode())], IPV),
    ("next_token_instances_to_status", "DescribeInstanceStatus",
     [("NextToken", H.base64.b64encode(b"instances:i-00000000").decode())], IPV),
    ("next_token_empty_key", "DescribeInstances",
     [("NextToken", H.base64.b64encode(b"instances:").decode())], IPV),
    ("next_token_with_nul", "DescribeInstances",
     [("NextToken", H.base64.b64encode(b"instances:\x00i-0").decode())], IPV),
    ("next_token_past_the_end", "DescribeInstances",
     [("NextToken", H.base64.b64encode(b"instances:zzzz").decode())], H.expect(200)),
    ("region_name_hostile", "DescribeRegions", [("RegionName.1", "../../etc/passwd")], IPV),
    ("zone_name_hostile", "DescribeAvailabilityZones", [("ZoneName.1", "$(reboot)")], IPV),
    ("volume_id_hostile", "DescribeVolumes", [("VolumeId.1", "vol-;rm -rf /")],
     H.expect(400, "InvalidVolumeID.Malformed")),
    ("image_id_hostile", "DescribeImages", [("ImageId.1", "ami-../../x")],
     H.expect(400, "InvalidAMIID.Malformed")),
]


@pytest.mark.parametrize("name,action,params,want", LISTS, ids=[c[0] for c in LISTS])
def test_lists_counts_paging(g, name, action, params, want):
    before = g.before()
    params = [(k, g.gw.image_id if v is None else v) for k, v in params]
    r = signed_params(g.gw, [("Action", action)] + params)
    if want == ALL:
        assert r.status == 200, r
        assert ids_in(r) == describe_ids(g)
    elif want[0] == 200:
        assert r.status == 200, r
    else:
        assert_ec2_error(r, want[0], want[1], want[2] or ())
    g.after(before)


# ---- 6. content types -------------------------------------------------------

CTYPES = [
    ("json", "application/json", MISSING_ACTION),
    ("text_plain", "text/plain", MISSING_ACTION),
    ("multipart", "multipart/form-data; boundary=x", MISSING_ACTION),
    ("xml", "application/xml", MISSING_ACTION),
    ("garbage", "\x7f\x01garbage", MISSING_ACTION),
    ("form_latin1", "application/x-www-form-urlencoded; charset=iso-8859-1", OK),
    ("form_upper_case", "APPLICATION/X-WWW-FORM-URLENCODED", OK),
    ("none", None, OK),
]


@pytest.mark.parametrize("name,ctype,want", CTYPES, ids=[c[0] for c in CTYPES])
def test_ec2_content_type(g, name, ctype, want):
    """A signed POST whose body is a form but whose Content-Type says
    otherwise: the body is not read as parameters."""
    before = g.before()
    body = b"Action=DescribeRegions&Version=2016-11-15"
    r = signed(g.gw, body, content_type=ctype)
    if want[0] == 200:
        assert r.status == 200 and b"<regionName>cloudgate" in r.body, r
    else:
        assert_ec2_error(r, *want[:2], message_has=want[2])
    g.after(before)


# PUT and DELETE reach the EC2 frontend (which takes GET and POST only);
# the HTTP layer answers the methods it does not allow with 501.
METHODS = [("PUT", 400), ("DELETE", 400), ("PATCH", 501), ("OPTIONS", 501)]


@pytest.mark.parametrize("method,status", METHODS, ids=[m for m, _ in METHODS])
def test_ec2_other_methods(g, method, status):
    before = g.before()
    body = b"Action=CreateKeyPair&KeyName=by-%s&KeyType=ed25519" % method.encode()
    target, hdrs = H.sign_v4(g.gw, body)
    r = send(g.gw, method, target, body, hdrs)
    if status == 400:
        assert_ec2_error(r, 400, "InvalidAction")
    else:
        assert r.status == status, r
    g.after(before)


# ---- 7. EC2 authentication --------------------------------------------------

DR = b"Action=DescribeRegions&Version=2016-11-15"
NOW = datetime.datetime.utcnow


def _v4(**kw):
    def make(gw):
        args = dict(kw)
        target, hdrs = H.sign_v4(gw, args.pop("signed_body", DR), **args)
        return target, hdrs
    return make


def _mangle(fn, **kw):
    """Sign DR correctly, then let fn rewrite the Authorization header."""
    def make(gw):
        target, hdrs = H.sign_v4(gw, DR, **kw)
        hdrs["Authorization"] = fn(hdrs["Authorization"], gw)
        return target, hdrs
    return make


def _set_header(name, value):
    def make(gw):
        target, hdrs = H.sign_v4(gw, DR)
        hdrs[name] = value
        return target, hdrs
    return make


def _sub(pattern, repl):
    return _mangle(lambda a, gw: re.sub(pattern, repl, a))


def _date_changed(gw):
    target, hdrs = H.sign_v4(gw, DR)
    stamp = hdrs["X-Amz-Date"]
    when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ") - datetime.timedelta(seconds=1)
    hdrs["X-Amz-Date"] = when.strftime("%Y%m%dT%H%M%SZ")
    return target, hdrs


def _service_s3(gw):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=gw.endpoint + "/", data=DR,
                     headers={"Content-Type": H.FORM})
    SigV4Auth(Credentials(gw.key_id, gw.secret), "s3", "cloudgate").add_auth(req)
    hdrs = dict(req.prepare().headers.items())
    hdrs.pop("Content-Length", None)
    return "/", hdrs


INCOMPLETE = H.expect(400, "IncompleteSignature")
NOMATCH = H.expect(403, "SignatureDoesNotMatch")
AUTHFAIL = H.expect(401, "AuthFailure")
EXPIRED = H.expect(400, "RequestExpired")
REGION_MSG = ["Credential should be scoped to a valid region, not 'us-east-1'", "cloudgate"]

# (name, make(gw) -> (target, headers), body actually sent, expectation)
AUTH_HEADER = [
    ("garbage", _set_header("Authorization", "garbage"), DR, INCOMPLETE),
    ("empty_after_algorithm", _set_header("Authorization", "AWS4-HMAC-SHA256"), DR, INCOMPLETE),
    ("basic_credentials", _set_header("Authorization", "Basic dXNlcjpwYXNz"), DR, INCOMPLETE),
    ("sigv2_style", _set_header("Authorization", "AWS AKIAXXXX:c2lnbmF0dXJl"), DR, INCOMPLETE),
    ("wrong_algorithm", _sub("^AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"), DR, INCOMPLETE),
    ("no_credential", _sub(r"Credential=[^,]*, ", ""), DR, INCOMPLETE),
    ("no_signed_headers", _sub(r"SignedHeaders=[^,]*, ", ""), DR, INCOMPLETE),
    ("no_signature", _sub(r", Signature=[0-9a-f]*", ""), DR, INCOMPLETE),
    ("signature_empty", _sub(r"Signature=[0-9a-f]*", "Signature="), DR, INCOMPLETE),
    ("signature_not_hex", _sub(r"Signature=[0-9a-f]*", "Signature=" + "z" * 64), DR, INCOMPLETE),
    ("signature_too_short", _sub(r"Signature=([0-9a-f]{10})[0-9a-f]*", r"Signature=\1"), DR,
     INCOMPLETE),
    ("credential_scope_short", _sub(r"/aws4_request", ""), DR, INCOMPLETE),
    ("credential_scope_long", _sub(r"/aws4_request", "/aws4_request/extra"), DR, INCOMPLETE),
    ("credential_date_not_digits", _sub(r"/\d{8}/", "/2026XX01/"), DR, INCOMPLETE),
    ("credential_empty_region", _sub(r"/\d{8}/cloudgate/", lambda m: m.group(0).replace(
        "cloudgate", "")), DR, INCOMPLETE),
    ("credential_terminator_wrong", _sub(r"aws4_request", "aws5_request"), DR, INCOMPLETE),
    ("signed_headers_without_host", _sub(r"SignedHeaders=[^,]*", "SignedHeaders=x-amz-date"),
     DR, INCOMPLETE),
    ("duplicate_credential", _mangle(lambda a, gw: a.replace(
        "Credential=", "Credential=AKIAOTHER/20260101/cloudgate/ec2/aws4_request, Credential=",
        1)), DR, INCOMPLETE),
    ("unknown_key", _v4(key_id="AKIANOTAREALKEY00000"), DR, AUTHFAIL),
    ("unknown_key_hostile", _v4(key_id="AKIA'\"<x>&;$(reboot)"), DR, AUTHFAIL),
    ("wrong_secret", _v4(secret="not-the-secret"), DR, NOMATCH),
    ("body_tampered", _v4(), DR.replace(b"Regions", b"Images"), NOMATCH),
    ("body_appended", _v4(), DR + b"&DryRun=true", NOMATCH),
    ("date_header_changed", _date_changed, DR, NOMATCH),
    ("content_sha256_mismatch", _v4(extra_headers={"X-Amz-Content-SHA256": "0" * 64}), DR,
     NOMATCH),
    ("service_s3", _service_s3, DR, NOMATCH),
    ("region_us_east_1", _v4(region="us-east-1"), DR, H.expect(403, "SignatureDoesNotMatch",
                                                                REGION_MSG)),
    ("timestamp_20_minutes_old", _v4(skew=-datetime.timedelta(minutes=20)), DR, EXPIRED),
    ("timestamp_20_minutes_ahead", _v4(skew=datetime.timedelta(minutes=20)), DR,
     EXPIRED),
    ("timestamp_10_years_old", _v4(skew=-datetime.timedelta(days=3650)), DR, EXPIRED),
    ("timestamp_14_minutes_old_accepted", _v4(skew=-datetime.timedelta(minutes=14)), DR,
     OK),
    ("signed_body_bad_encoding", _v4(signed_body=b"Action=DescribeRegions&x=%G1"),
     b"Action=DescribeRegions&x=%G1", BAD),
    ("unknown_key_bad_encoding", _v4(key_id="AKIANOTAREALKEY00000",
                                     signed_body=b"Action=DescribeRegions&x=%G1"),
     b"Action=DescribeRegions&x=%G1", AUTHFAIL),
    ("wrong_secret_bad_encoding", _v4(secret="nope", signed_body=b"x=%G1"), b"x=%G1", NOMATCH),
    ("garbage_header_bad_encoding", _set_header("Authorization", "garbage"), b"x=%", INCOMPLETE),
]


@pytest.mark.parametrize("name,make,body,want", AUTH_HEADER, ids=[c[0] for c in AUTH_HEADER])
def test_auth_sigv4_header(g, name, make, body, want):
    before = g.before()
    target, hdrs = make(g.gw)
    r = send(g.gw, "POST", target, body, hdrs)
    if want[0] == 200:
        assert r.status == 200, r
    else:
        assert_ec2_error(r, want[0], want[1], want[2] or ())
    g.after(before)


def _presigned(**kw):
    return lambda gw: H.presigned_url(gw, {"Action": "DescribeRegions"}, **kw)


def _presigned_edit(fn, **kw):
    return lambda gw: fn(H.presigned_url(gw, {"Action": "DescribeRegions"}, **kw))


AUTH_PRESIGNED = [
    ("valid_accepted", _presigned(), OK),
    ("unknown_key", _presigned(key_id="AKIANOTAREALKEY00000"), AUTHFAIL),
    ("wrong_secret", _presigned(secret="nope"), NOMATCH),
    ("signature_flipped", _presigned_edit(lambda u: re.sub(
        r"X-Amz-Signature=(.)", lambda m: "X-Amz-Signature=" + ("0" if m.group(1) != "0"
                                                                else "1"), u)), NOMATCH),
    ("parameter_added", _presigned_edit(lambda u: u + "&DryRun=true"), NOMATCH),
    ("region_us_east_1", _presigned(region="us-east-1"),
     H.expect(403, "SignatureDoesNotMatch", REGION_MSG)),
    ("expired", _presigned(skew=-datetime.timedelta(minutes=20), expires=300), EXPIRED),
    ("no_signature", _presigned_edit(lambda u: re.sub(r"&?X-Amz-Signature=[0-9a-f]*", "", u)),
     INCOMPLETE),
    ("no_credential", _presigned_edit(lambda u: re.sub(r"&?X-Amz-Credential=[^&]*", "", u)),
     INCOMPLETE),
    ("expires_over_7_days", _presigned(expires=604801), INCOMPLETE),
    ("credential_scope_short", _presigned_edit(lambda u: u.replace("%2Faws4_request", "")),
     INCOMPLETE),
    ("bad_percent_encoding", _presigned_edit(lambda u: u + "&x=%G1"),
     H.expect(400, "MalformedQueryString")),
    ("nul_in_query", _presigned_edit(lambda u: u + "&x=%00"),
     H.expect(400, "MalformedQueryString")),
]


@pytest.mark.parametrize("name,make,want", AUTH_PRESIGNED, ids=[c[0] for c in AUTH_PRESIGNED])
def test_auth_presigned(g, name, make, want):
    before = g.before()
    r = send(g.gw, "GET", make(g.gw))
    if want[0] == 200:
        assert r.status == 200 and b"<regionName>cloudgate" in r.body, r
    else:
        assert_ec2_error(r, want[0], want[1], want[2] or ())
    g.after(before)


def _v2(**kw):
    params = kw.pop("params", {"Action": "DescribeRegions"})
    return lambda gw: H.sigv2_body(gw, params, **kw)


def _v2_expires(delta):
    return lambda gw: H.sigv2_body(gw, {"Action": "DescribeRegions",
                                        "Expires": H.iso(NOW() + delta)})


def _v2_edit(fn, **kw):
    return lambda gw: fn(H.sigv2_body(gw, {"Action": "DescribeRegions"}, **kw))


AUTH_V2 = [
    ("valid_accepted", _v2(), OK),
    ("unknown_key", _v2(key_id="AKIANOTAREALKEY00000"), AUTHFAIL),
    ("wrong_secret", _v2(secret="nope"), NOMATCH),
    ("parameter_added", _v2_edit(lambda b: b + b"&DryRun=true"), NOMATCH),
    ("expires_8_days_ahead", _v2_expires(datetime.timedelta(days=8)),
     H.expect(401, "AuthFailure", "Expires")),
    ("expires_1_year_ahead", _v2_expires(datetime.timedelta(days=365)),
     H.expect(401, "AuthFailure", "Expires")),
    ("expires_6_days_ahead_accepted", _v2_expires(datetime.timedelta(days=6)), OK),
    ("expires_past", _v2_expires(-datetime.timedelta(minutes=1)), EXPIRED),
    ("timestamp_20_minutes_old",
     lambda gw: H.sigv2_body(gw, {"Action": "DescribeRegions", "Timestamp": H.iso(
         NOW() - datetime.timedelta(minutes=20))}), EXPIRED),
    # The form must be decoded to find a SigV2 signature in it.
    ("sigv2_fields_bad_encoding",
     lambda gw: b"AWSAccessKeyId=AKIANOTAREALKEY00000&Signature=x&x=%G1", BAD),
    # A SigV2 signature missing one of its pieces does not conform: AWS's
    # IncompleteSignature, as for a SigV4 header missing one.
    ("signature_without_key_id", _v2_edit(lambda b: re.sub(rb"AWSAccessKeyId=[^&]*&?", b"", b)),
     H.expect(400, "IncompleteSignature", "AWSAccessKeyId")),
    ("signature_version_1", _v2(params={"Action": "DescribeRegions",
                                        "SignatureVersion": "1"}),
     H.expect(400, "IncompleteSignature", "SignatureVersion")),
]


@pytest.mark.parametrize("name,make,want", AUTH_V2, ids=[c[0] for c in AUTH_V2])
def test_auth_sigv2(g, name, make, want):
    before = g.before()
    r = send(g.gw, "POST", "/", make(g.gw), {"Content-Type": H.FORM})
    if want[0] == 200:
        assert r.status == 200 and b"<regionName>cloudgate" in r.body, r
    else:
        assert_ec2_error(r, want[0], want[1], want[2] or ())
    g.after(before)


def _boto(gw, **kw):
    cfg = botocore.config.Config(retries={"max_attempts": 0}, **kw.pop("config", {}))
    return boto3.client("ec2", endpoint_url=gw.endpoint, config=cfg,
                        region_name=kw.pop("region_name", "cloudgate"),
                        aws_access_key_id=kw.pop("key_id", gw.key_id),
                        aws_secret_access_key=kw.pop("secret", gw.secret))


BOTO = [
    ("wrong_secret", {"secret": "nope"}, NOMATCH),
    ("unknown_key", {"key_id": "AKIANOTAREALKEY00000"}, AUTHFAIL),
    ("region_us_east_1", {"region_name": "us-east-1"},
     H.expect(403, "SignatureDoesNotMatch", REGION_MSG)),
    ("unsigned", {"config": {"signature_version": botocore.UNSIGNED}}, MISSING),
    ("clock_20_minutes_behind", {"skew": -datetime.timedelta(minutes=20)}, EXPIRED),
    ("clock_1_day_ahead", {"skew": datetime.timedelta(days=1)}, EXPIRED),
    ("sigv2_wrong_secret", {"secret": "nope", "config": {"signature_version": "v2"}}, NOMATCH),
    ("sigv2_unknown_key", {"key_id": "AKIANOTAREALKEY00000",
                           "config": {"signature_version": "v2"}}, AUTHFAIL),
]


@pytest.mark.parametrize("name,kw,want", BOTO, ids=[c[0] for c in BOTO])
def test_auth_boto3(g, name, kw, want):
    before = g.before()
    kw = dict(kw)
    skew = kw.pop("skew", None)
    client = _boto(g.gw, **kw)
    with pytest.raises(ClientError) as e:
        if skew is None:
            client.create_key_pair(KeyName="boto-" + name, KeyType="ed25519")
        else:
            with H._skewed(NOW() + skew):
                client.create_key_pair(KeyName="boto-" + name, KeyType="ed25519")
    err = e.value.response
    assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == want[:2], err
    for word in want[2] or ():
        assert word in err["Error"]["Message"], err
    g.after(before)
