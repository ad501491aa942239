"""The wire itself: raw signed requests (SigV4 header and presigned, SigV2),
error shapes, limits and TLS, against the real daemon on test://."""
import datetime
import os
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

from unittest import mock

import botocore.auth
import pytest
import requests
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import make_gateway

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"


def signed(gw, params, signer="v4", method="POST", when=None):
    creds = Credentials(gw.key_id, gw.secret)
    params = dict(params, Version="2016-11-15")
    body = urllib.parse.urlencode(params)
    if signer == "v2":
        # botocore's SigV2Auth adds its parameters to a dict of them.
        if method == "POST":
            req = AWSRequest(method="POST", url=gw.endpoint + "/", data=params)
        else:
            req = AWSRequest(method="GET", url=gw.endpoint + "/", params=params)
    elif method == "POST":
        req = AWSRequest(method="POST", url=gw.endpoint + "/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    else:
        req = AWSRequest(method="GET", url=gw.endpoint + "/?" + body)
    if signer == "v4" and when:
        # Sign with a skewed clock: botocore reads datetime.datetime.utcnow().
        class Skewed(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return when
        with mock.patch.object(botocore.auth.datetime, "datetime", Skewed):
            SigV4Auth(creds, "ec2", "cloudgate").add_auth(req)
    elif signer == "v4":
        SigV4Auth(creds, "ec2", "cloudgate").add_auth(req)
    elif signer == "v4query":
        SigV4QueryAuth(creds, "ec2", "cloudgate", expires=300).add_auth(req)
    elif signer == "v2":
        SigV2Auth(creds).add_auth(req)
    p = req.prepare()
    return requests.request(p.method, p.url, headers=dict(p.headers), data=p.body,
                            timeout=30, verify=False)


def error_code(resp):
    root = ET.fromstring(resp.content)
    assert root.tag == "Response", resp.text
    assert root.find("RequestID").text
    return root.find("Errors/Error/Code").text


def test_success_shape_and_empty_wrappers(gw):
    r = signed(gw, {"Action": "DescribeInstances", "Filter.1.Name": "instance-id",
                    "Filter.1.Value.1": "i-00000000000000000"})
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    assert root.tag == NS + "DescribeInstancesResponse"
    assert root.find(NS + "requestId").text == r.headers["x-amzn-RequestId"]
    wrapper = root.find(NS + "reservationSet")
    assert wrapper is not None and len(wrapper) == 0


def test_sigv2_and_presigned_and_get(gw):
    for signer, method in (("v2", "POST"), ("v2", "GET"), ("v4query", "GET"), ("v4", "GET")):
        r = signed(gw, {"Action": "DescribeRegions"}, signer=signer, method=method)
        assert r.status_code == 200, (signer, method, r.text)
        assert b"<regionName>cloudgate</regionName>" in r.content


def test_expired_and_unsigned(gw):
    old = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
    r = signed(gw, {"Action": "DescribeRegions"}, when=old)
    assert r.status_code == 400 and error_code(r) == "RequestExpired"
    r = requests.post(gw.endpoint + "/", data={"Action": "DescribeRegions"}, timeout=30)
    assert r.status_code in (400, 401) and error_code(r) in ("AuthFailure",
                                                              "MissingAuthenticationToken")
    # The secret never reaches the log.
    assert gw.secret not in gw.log_text()


def test_invalid_action_and_missing_parameter(gw):
    r = signed(gw, {"Action": "LaunchRockets"})
    assert r.status_code == 400 and error_code(r) == "InvalidAction"
    r = signed(gw, {"Action": "RunInstances", "MinCount": "1", "MaxCount": "1"})
    assert r.status_code == 400 and error_code(r) == "MissingParameter"
    r = signed(gw, {"Action": "StopInstances"})
    assert r.status_code == 400 and error_code(r) == "MissingParameter"


def test_body_limit(gw):
    r = requests.post(gw.endpoint + "/", data=b"Action=DescribeRegions&x=" + b"a" * (2 << 20),
                      timeout=30)
    assert r.status_code == 413


def test_access_log_line(gw):
    r = signed(gw, {"Action": "DescribeAvailabilityZones"})
    rid = r.headers["x-amzn-RequestId"]
    lines = [l for l in gw.log_text().splitlines() if rid in l]
    assert len(lines) == 1
    assert "action=DescribeAvailabilityZones" in lines[0] and "status=200" in lines[0]
    assert "ms=" in lines[0]


@pytest.fixture(scope="module")
def tls_gw(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    g = make_gateway(tls=(cert, key))
    g.cert = cert
    yield g
    assert g.stop() == 0


def test_tls(tls_gw):
    ec2 = tls_gw.client(verify=tls_gw.cert)
    assert ec2.describe_regions()["Regions"][0]["RegionName"] == "cloudgate"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(tls_gw.endpoint.replace("https", "http") + "/", timeout=10)
