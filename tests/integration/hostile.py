"""Helpers for the malformed-request suite (test_malformed*.py): requests
signed by hand with botocore and sent byte for byte with http.client or a raw
socket, EC2/CIMI error parsing, and a snapshot of everything a rejected
request must leave alone (EC2 Describe calls, CIMI collection counts, the
files under the gateway's directory and the row counts of its SQLite
databases).  Everything talks to 127.0.0.1 only."""
import base64
import datetime
import http.client
import json
import os
import socket
import sqlite3
import urllib.parse
import xml.etree.ElementTree as ET

from unittest import mock

import botocore.auth
import pytest
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FORM = "application/x-www-form-urlencoded; charset=utf-8"
VERSION = "2016-11-15"
CIMI_NS = "http://schemas.dmtf.org/cimi/1"
CIMI_COLLECTIONS = ("machines", "machineTemplates", "volumes", "credentials", "jobs")


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:300])

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def send(gw, method, target, body=b"", headers=None, timeout=30):
    """One request with http.client: the body goes out exactly as given."""
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if not any(k.lower() == "host" for k in hdrs):
            hdrs["Host"] = "127.0.0.1:%d" % gw.port
        if body or method in ("POST", "PUT"):
            if not any(k.lower() == "content-length" for k in hdrs):
                hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body if body else None)
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def raw(gw, data, timeout=10, shut_write=False):
    """Raw bytes on a socket; everything the server sends until it closes (or
    until timeout).  Returns (bytes, closed_by_server)."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=timeout)
    out = b""
    closed = False
    try:
        try:
            s.sendall(data)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413...) and closed before reading it all
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
    finally:
        s.close()
    return out, closed


def raw_request(gw, method, target, headers, body):
    """An HTTP/1.1 request written by hand from a headers dict (for a body
    the server may refuse before reading it); returns raw()'s answer."""
    head = "%s %s HTTP/1.1\r\n" % (method, target)
    if not any(k.lower() == "host" for k in headers):
        head += "Host: 127.0.0.1:%d\r\n" % gw.port
    head += "".join("%s: %s\r\n" % kv for kv in headers.items())
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return raw(gw, head.encode() + body, timeout=10)


def status_of(data):
    """The status code of the first HTTP response in data, or None."""
    if not data.startswith(b"HTTP/1."):
        return None
    return int(data.split(b" ", 2)[1])


def form(params):
    """Form-encode (name, value) pairs (str or bytes), RFC 3986 style."""
    parts = []
    for k, v in params:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        parts.append(urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe=""))
    return "&".join(parts).encode()


def _skewed(when):
    class Skewed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

        @classmethod
        def now(cls, tz=None):
            return when if tz is None else when.replace(tzinfo=tz)
    return mock.patch.object(botocore.auth.datetime, "datetime", Skewed)


def sign_v4(gw, body=b"", method="POST", query="", region="cloudgate", key_id=None,
            secret=None, skew=None, content_type=FORM, extra_headers=None):
    """SigV4 header signature over exactly these body bytes, with the clock
    off by skew (a timedelta) if given.  Returns (target, headers)."""
    when = datetime.datetime.utcnow() + skew if skew is not None else None
    url = gw.endpoint + "/" + ("?" + query if query else "")
    headers = dict(extra_headers or {})
    if content_type is not None and method == "POST":
        headers["Content-Type"] = content_type
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    creds = Credentials(key_id or gw.key_id, secret or gw.secret)
    if when is not None:
        with _skewed(when):
            SigV4Auth(creds, "ec2", region).add_auth(req)
    else:
        SigV4Auth(creds, "ec2", region).add_auth(req)
    p = req.prepare()
    hdrs = dict(p.headers.items())
    hdrs.pop("Content-Length", None)
    return "/" + ("?" + query if query else ""), hdrs


def signed(gw, body, **kw):
    """Send a SigV4-signed POST with the body bytes as given."""
    if isinstance(body, str):
        body = body.encode()
    target, hdrs = sign_v4(gw, body, **kw)
    return send(gw, kw.get("method", "POST"), target, body, hdrs)


def signed_params(gw, params, **kw):
    """SigV4-signed POST of a parameter list (Version added when absent)."""
    params = list(params)
    if not any(k == "Version" for k, _ in params):
        params.append(("Version", VERSION))
    return signed(gw, form(params), **kw)


def presigned_url(gw, params, region="cloudgate", key_id=None, secret=None, expires=300,
                  skew=None):
    """A SigV4 presigned GET target (path + query)."""
    when = datetime.datetime.utcnow() + skew if skew is not None else None
    url = gw.endpoint + "/?" + urllib.parse.urlencode(dict(params, Version=VERSION))
    req = AWSRequest(method="GET", url=url)
    creds = Credentials(key_id or gw.key_id, secret or gw.secret)
    if when is not None:
        with _skewed(when):
            SigV4QueryAuth(creds, "ec2", region, expires=expires).add_auth(req)
    else:
        SigV4QueryAuth(creds, "ec2", region, expires=expires).add_auth(req)
    p = req.prepare()
    return p.url[len(gw.endpoint):]


def sigv2_body(gw, params, key_id=None, secret=None, timestamp=True, method="POST"):
    """A SigV2 POST body signed over exactly these parameters (botocore's
    calc_signature).  timestamp=True adds a current Timestamp; pass Expires
    or Timestamp in params to choose them."""
    params = dict(params)
    params.setdefault("Version", VERSION)
    params.setdefault("AWSAccessKeyId", key_id or gw.key_id)
    params.setdefault("SignatureVersion", "2")
    params.setdefault("SignatureMethod", "HmacSHA256")
    if timestamp and "Expires" not in params:
        params.setdefault("Timestamp", iso(datetime.datetime.utcnow()))
    req = AWSRequest(method=method, url=gw.endpoint + "/")
    signer = SigV2Auth(Credentials(key_id or gw.key_id, secret or gw.secret))
    qs, sig = signer.calc_signature(req, params)
    return (qs + "&Signature=" + urllib.parse.quote(sig, safe="")).encode()


def iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def ec2_error(reply):
    """(code, message) of an EC2 error document; fails if it is not one."""
    try:
        root = ET.fromstring(reply.body)
    except ET.ParseError as e:
        raise AssertionError("not an EC2 error document (%s): %r" % (e, reply))
    assert root.tag == "Response", reply
    assert root.findtext("RequestID"), reply
    code = root.findtext("Errors/Error/Code")
    assert code, reply
    return code, root.findtext("Errors/Error/Message") or ""


def assert_ec2_error(reply, status, code, message_has=()):
    got_code, msg = ec2_error(reply) if reply.body else (None, "")
    assert (reply.status, got_code) == (status, code), reply
    for word in ([message_has] if isinstance(message_has, str) else message_has):
        assert word in msg, (word, msg)
    return msg


def cimi_error(reply):
    """The message of a CIMI error document (JSON or XML); fails otherwise."""
    ctype = reply.headers.get("content-type", "").split(";")[0]
    if ctype == "application/xml":
        root = ET.fromstring(reply.body)
        assert root.tag == "error" and root.get("code") == str(reply.status), reply
        return root.findtext("message") or ""
    assert ctype == "application/json", reply
    doc = json.loads(reply.body)
    assert doc["code"] == reply.status and doc["message"], reply
    return doc["message"]


def basic(gw, key_id=None, secret=None):
    tok = base64.b64encode(("%s:%s" % (key_id or gw.key_id, secret or gw.secret)).encode())
    return "Basic " + tok.decode()


def cimi(gw, method, path, body=b"", ctype=None, auth=True, accept="application/json",
         headers=None):
    hdrs = {"Accept": accept} if accept else {}
    if auth is True:
        hdrs["Authorization"] = basic(gw)
    elif auth:
        hdrs["Authorization"] = auth
    if ctype:
        hdrs["Content-Type"] = ctype
    hdrs.update(headers or {})
    return send(gw, method, path, body, hdrs)


# ---- "nothing changed" -----------------------------------------------------

def _files(top):
    out = set()
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.relpath(os.path.join(d, n), top)
            # The log grows with every request; SQLite's journal files come
            # and go with its own transactions.
            if p == "cloudgated.log" or p.endswith(("-journal", "-wal", "-shm")):
                continue
            out.add(p)
    return out


def _databases(top):
    dbs = []
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            try:
                with open(p, "rb") as f:
                    if f.read(16) == b"SQLite format 3\x00":
                        dbs.append(p)
            except OSError:
                pass
    return sorted(dbs)


def row_counts(top):
    counts = {}
    for path in _databases(top):
        uri = "file:%s?mode=ro" % urllib.parse.quote(path)
        con = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")]
            for t in tables:
                # The zones' last known instances: written by each zone's
                # thread within 2 s of a change libvirt reports, not by a
                # request (what they hold shows in DescribeInstances).
                if t in ("known", "known_tags"):
                    continue
                n = con.execute('SELECT count(*) FROM "%s"' % t.replace('"', '""')).fetchone()[0]
                counts[(os.path.relpath(path, top), t)] = n
        finally:
            con.close()
    return counts


def _strip_meta(r):
    r.pop("ResponseMetadata", None)
    return r


def snapshot(gw, ec2):
    snap = {
        "instances": _strip_meta(ec2.describe_instances()),
        "volumes": _strip_meta(ec2.describe_volumes()),
        "images": _strip_meta(ec2.describe_images()),
        "keypairs": _strip_meta(ec2.describe_key_pairs(IncludePublicKey=True)),
        "tags": _strip_meta(ec2.describe_tags()),
    }
    for coll in CIMI_COLLECTIONS:
        r = cimi(gw, "GET", "/cimi/" + coll)
        assert r.status == 200, r
        snap["cimi:" + coll] = json.loads(r.body)["count"]
    snap["files"] = _files(gw.dir)
    snap["rows"] = row_counts(gw.dir)
    return snap


def without_jobs(snap):
    """snap without job records, their CIMI view and their log files."""
    s = dict(snap)
    s.pop("cimi:jobs", None)
    s["files"] = {f for f in snap["files"] if not f.startswith("state/jobs/")}
    s["rows"] = {k: v for k, v in snap["rows"].items() if k[1] != "jobs"}
    return s


def diff(a, b):
    return {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}


def assert_serving(gw, ec2):
    assert gw.proc.poll() is None, "cloudgated died (exit %s):\n%s" % (
        gw.proc.returncode, gw.log_text()[-3000:])
    regions = ec2.describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == ["cloudgate"]


class Guard:
    """One daemon for a module, restarted when a case killed it; the case
    that killed it fails (assert_serving)."""

    def __init__(self, gw):
        self.gw = gw
        self.ec2 = gw.client()
        self.last = None  # the snapshot after the previous case
        self.crashes = []

    def ensure_up(self):
        if self.gw.proc.poll() is not None:
            self.crashes.append(self.gw.proc.returncode)
            self.gw.start()
            self.last = None

    def before(self):
        self.ensure_up()
        snap = self.last if self.last is not None else snapshot(self.gw, self.ec2)
        self.last = None  # a case that fails half-way leaves no trusted snapshot
        return snap

    def after(self, before, changed_ok=(), jobs_ok=False):
        """Fail unless the daemon serves and nothing changed (jobs_ok: but a
        job record and its log, which a successful long action leaves)."""
        self.last = None
        assert_serving(self.gw, self.ec2)
        now = snapshot(self.gw, self.ec2)
        a, b = before, now
        if jobs_ok:
            a, b = without_jobs(before), without_jobs(now)
        d = {k: v for k, v in diff(a, b).items() if k not in changed_ok}
        assert not d, "the request changed state: %r" % (d,)
        self.last = now
        return now


def skip_unless(cond, why):
    if not cond:
        pytest.skip(why)


def module_guard():
    """Body of each module's `guard` fixture: one daemon for the module."""
    from conftest import make_gateway
    g = Guard(make_gateway())
    yield g
    if g.gw.proc.poll() is None:
        g.gw.stop()


def expect(status, code=None, message=None):
    """A table entry's expectation (kept in one place so it is easy to adjust)."""
    return (status, code, message)
