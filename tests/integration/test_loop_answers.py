"""Actions marked EC2_ON_LOOP in the action table (DescribeRegions,
DescribeAvailabilityZones) are answered by the HTTP loop thread itself, with
the full signature check, while every other action still goes through the
worker pool.  Shown with the only worker held: the loop answers come back,
a worker action waits."""
import os
import re
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import make_gateway
from hostile import assert_ec2_error, send, sigv2_body, signed, signed_params


@pytest.fixture(scope="module")
def one_worker():
    g = make_gateway(extra_gateway="workers = 1\n")
    yield g
    assert g.stop() == 0, g.log_text()


def hold_the_worker(g):
    """Lock the database, then send an ImportKeyPair: it holds the only worker
    until the lock goes (or the daemon's 5 s busy timeout).  Returns (db,
    thread, results)."""
    db = sqlite3.connect(os.path.join(g.dir, "state", "cloudgate.db"), timeout=5,
                         isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    key = os.path.join(g.dir, "k%d" % time.monotonic_ns())
    subprocess.run(["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-f", key], check=True)
    with open(key + ".pub", "rb") as f:
        material = f.read()
    results = {}

    def run():
        try:
            g.client().import_key_pair(KeyName=os.path.basename(key), PublicKeyMaterial=material)
            results["import"] = "ok"
        except ClientError as e:
            results["import"] = e.response["Error"]["Code"]

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    return db, t, results


def test_loop_answers_while_the_worker_is_held(one_worker):
    g = one_worker
    ec2 = g.client()
    assert ec2.describe_regions()["Regions"]  # warm (connection, signing)
    db, busy, results = hold_the_worker(g)
    waited = {}

    def queued_call():
        ec2b = g.client()
        waited["pairs"] = ec2b.describe_key_pairs()["KeyPairs"]
        waited["done"] = time.monotonic()

    queued = threading.Thread(target=queued_call)
    try:
        queued.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        regions = ec2.describe_regions()["Regions"]
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
        loop_secs = time.monotonic() - t0
        # Both answered while the worker and the queued worker action wait.
        assert busy.is_alive() and queued.is_alive(), (results, waited)
        assert [r["RegionName"] for r in regions] == ["cloudgate"]
        assert [z["ZoneName"] for z in zones] == ["cloudgate-a"]
        assert zones[0]["State"] == "available"
        assert loop_secs < 2.0, loop_secs
        # Errors from the loop are the usual AWS errors.
        with pytest.raises(ClientError) as e:
            ec2.describe_regions(RegionNames=["eu-nowhere-1"])
        assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
        with pytest.raises(ClientError) as e:
            ec2.describe_availability_zones(ZoneNames=["no-such-zone"])
        assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
        # A wrong secret is refused on the loop too (the signature is checked).
        with pytest.raises(ClientError) as e:
            g.client(secret="wrong" * 8).describe_regions()
        assert e.value.response["Error"]["Code"] in ("AuthFailure", "SignatureDoesNotMatch")
        assert busy.is_alive() and queued.is_alive(), (results, waited)
    finally:
        released = time.monotonic()
        db.execute("ROLLBACK")
        db.close()
        busy.join(timeout=30)
        queued.join(timeout=30)
    assert results["import"] == "ok"
    # The worker action was answered only once the worker was free again.
    assert isinstance(waited["pairs"], list) and waited["done"] > released, waited


def test_loop_request_ids_and_access_log(one_worker):
    g = one_worker
    r = signed_params(g, [("Action", "DescribeRegions")])
    assert r.status == 200, r
    rid = r.headers.get("x-amzn-requestid")
    assert rid and ("<requestId>%s</requestId>" % rid).encode() in r.body, r
    assert b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"' in r.body
    bad = signed_params(g, [("Action", "DescribeAvailabilityZones"),
                            ("ZoneName.1", "nope")])
    assert_ec2_error(bad, 400, "InvalidParameterValue")
    bad_rid = bad.headers.get("x-amzn-requestid")
    assert bad_rid and bad_rid.encode() in bad.body
    deadline = time.time() + 5
    while time.time() < deadline:
        log = g.log_text()
        if rid in log and bad_rid in log:
            break
        time.sleep(0.1)
    assert re.search(r"request id=%s .* action=DescribeRegions status=200 error=-" % rid, log)
    assert re.search(r"request id=%s .* action=DescribeAvailabilityZones status=400 "
                     r"error=InvalidParameterValue" % bad_rid, log)


def test_loop_sigv2_and_unsigned(one_worker):
    g = one_worker
    ok = send(g, "POST", "/", sigv2_body(g, {"Action": "DescribeRegions"}),
              {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert ok.status == 200 and b"<regionName>cloudgate</regionName>" in ok.body, ok
    forged = send(g, "POST", "/", sigv2_body(g, {"Action": "DescribeRegions"}, secret="x" * 40),
                  {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert forged.status in (401, 403), forged
    unsigned = send(g, "POST", "/", b"Action=DescribeRegions&Version=2016-11-15",
                    {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert_ec2_error(unsigned, 401, "MissingAuthenticationToken")
    # Encoded or repeated Action names take the worker path and get the
    # same answers as before.
    enc = signed(g, b"Action=Describe%52egions&Version=2016-11-15")
    assert enc.status == 200 and b"<regionName>cloudgate</regionName>" in enc.body, enc
    twice = send(g, "GET", "/?" + urllib.parse.urlencode(
        [("Action", "DescribeRegions"), ("Action", "DescribeRegions")]), b"", {})
    assert twice.status >= 400, twice


def test_loop_actions_with_the_aws_cli(one_worker):
    g = one_worker
    out = g.aws("describe-regions")
    assert [r["RegionName"] for r in out["Regions"]] == ["cloudgate"]
    out = g.aws("describe-availability-zones", "--filters", "Name=state,Values=available")
    assert [z["ZoneName"] for z in out["AvailabilityZones"]] == ["cloudgate-a"]
    out = g.aws("describe-availability-zones", "--filters", "Name=state,Values=impaired")
    assert out["AvailabilityZones"] == []
    r = g.aws("describe-regions", "--region-names", "eu-nowhere-1", check=False)
    assert r.returncode != 0 and "InvalidParameterValue" in r.stderr, r.stderr
