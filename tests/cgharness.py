"""Test harness: start a real cloudgated with its own config, state and port,
and give tests boto3 clients and `aws` CLI runs against it.

Used by tests/integration (libvirt test:// driver) and tests/system
(qemu:///system with real guests).  Everything listens on 127.0.0.1.
"""
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

import boto3
import botocore.config

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("CG_BUILDDIR", TOP)
DAEMON = os.path.join(BUILD, "cloudgated")
ADMIN = os.path.join(BUILD, "cloudgate-admin")
AWS = "/usr/bin/aws"  # the Debian CLI; a pyenv shim may shadow `aws`


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """One cloudgated process.  zones: list of (name, uri)."""

    # Every Gateway made, for the system tier's last look at their nwfilters
    # (tests/system/conftest.py).
    made = []

    def __init__(self, zones, domain_type, pool="cloudgate", network="cloudgate-isolated",
                 extra_gateway="", extra_libvirt="", tls=None):
        self.dir = tempfile.mkdtemp(prefix="cg-test-")
        self.zones = list(zones)
        self.filters_left = None    # remove_filters not run yet
        Gateway.made.append(self)
        self.port = free_port()
        self.key_id = "AKIA" + secrets.token_hex(8).upper()
        self.secret = secrets.token_urlsafe(30)
        self.cred_path = os.path.join(self.dir, "credentials")
        with open(os.open(self.cred_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  "w") as f:
            f.write("# test key\n%s %s\n" % (self.key_id, self.secret))
        self.scheme = "https" if tls else "http"
        tls_lines = ""
        if tls:
            tls_lines = "tls_cert = %s\ntls_key = %s\n" % tls
        zone_text = "".join("[zone %s]\nuri = %s\n" % z for z in zones)
        self.conf = os.path.join(self.dir, "cloudgate.conf")
        with open(self.conf, "w") as f:
            f.write(
                "[gateway]\nlisten = 127.0.0.1:%d\ncredentials = %s\nstate_dir = %s\n"
                "workers = 4\n%s%s"
                "[libvirt]\ndomain_type = %s\nstorage_pool = %s\nnetwork = %s\n"
                "stop_timeout = 5\n%s%s"
                % (self.port, self.cred_path, os.path.join(self.dir, "state"), tls_lines,
                   extra_gateway, domain_type, pool, network, extra_libvirt, zone_text))
        self.log = os.path.join(self.dir, "cloudgated.log")
        self.proc = None
        self.endpoint = "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def admin(self, *args, check=True):
        r = subprocess.run([ADMIN, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=600)
        # The failure shows stderr: the error, or a sanitizer's report (exit 23).
        if check and r.returncode != 0:
            raise AssertionError("cloudgate-admin %s exited %d:\n%s" % (
                " ".join(args), r.returncode, r.stderr))
        return r

    def start(self, timeout=30):
        # stderr goes to a file: gcc's UBSan writes its reports there whatever
        # log_path says, and scripts/test-sanitizers.sh reads them from
        # CG_STDERR_DIR.
        # Ready means this process logged that it listens: a connect alone
        # can reach a socket the previous process, killed, still shares with
        # a child it was spawning, before this one has even begun.
        try:
            log_start = os.path.getsize(self.log)
        except OSError:
            log_start = 0
        with tempfile.NamedTemporaryFile(dir=os.environ.get("CG_STDERR_DIR", self.dir),
                                         prefix="cloudgated-stderr.", delete=False) as f:
            self.stderr_path = f.name
            self.proc = subprocess.Popen([DAEMON, "-c", self.conf, "-L", self.log],
                                         stdout=subprocess.DEVNULL, stderr=f)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                with open(self.stderr_path, errors="replace") as f:
                    err = f.read()
                raise RuntimeError("cloudgated exited %d: %s\n%s" % (
                    self.proc.returncode, err, self.log_text()))
            if self._logged_since(log_start, " listening on %s://" % self.scheme):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return self
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("cloudgated did not listen within %ds" % timeout)

    def _logged_since(self, offset, text):
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return text.encode() in f.read()
        except OSError:
            return False

    def stop(self, timeout=40):
        """SIGTERM by PID (ours), wait; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def client(self, secret=None, key_id=None, retries=0, **kw):
        cfg = botocore.config.Config(retries={"max_attempts": retries, "mode": "standard"}
                                     if retries else {"max_attempts": 0},
                                     connect_timeout=10, read_timeout=300)
        return boto3.client(
            "ec2", region_name="cloudgate", endpoint_url=self.endpoint,
            aws_access_key_id=key_id or self.key_id,
            aws_secret_access_key=secret or self.secret, config=cfg, **kw)

    def aws(self, *args, check=True, timeout=600, extra_env=None):
        """Run the real aws CLI; returns parsed JSON (or None for empty output)."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.key_id,
                   AWS_SECRET_ACCESS_KEY=self.secret, AWS_DEFAULT_REGION="cloudgate",
                   AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                   AWS_PAGER="")
        env.update(extra_env or {})
        cmd = [AWS, "--endpoint-url", self.endpoint, "--output", "json", "ec2"] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                             r.stderr))
        if not check:
            return r
        return json.loads(r.stdout) if r.stdout.strip() else None


def db_rows(gw, sql, *args):
    """Rows of sql on the gateway's database, read-only."""
    path = os.path.join(gw.dir, "state", "cloudgate.db")
    con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def wait_for(what, predicate, timeout, interval=1.0):
    """Poll predicate until it returns a truthy value; fail after timeout seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s (last: %r)" % (timeout, what, last))


def virsh_on(uri, *args, check=True):
    """virsh -q -c uri ARGS; fails the test on a non-zero exit when check."""
    r = subprocess.run(["virsh", "-q", "-c", uri] + list(args), capture_output=True, text=True,
                       timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("virsh %s: %s" % (" ".join(args), r.stderr))
    return r


def _blocks_in_use(uri):
    """The IPv4 networks this host routes or has addresses on, and those of
    every network (active or not) defined on libvirtd uri."""
    import ipaddress
    import re
    used = []
    for cmd in (["ip", "-o", "-4", "addr", "show"], ["ip", "-4", "route", "show", "table", "all"]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        for m in re.finditer(r"\b(\d+\.\d+\.\d+\.\d+/\d+)\b", out):
            used.append(ipaddress.ip_network(m.group(1), strict=False))
    names = _virsh_unchecked(uri, "net-list", "--all", "--name").stdout.split()
    for name in names:
        xml = _virsh_unchecked(uri, "net-dumpxml", "--inactive", name).stdout
        for m in re.finditer(r"<ip address='([\d.]+)' (?:prefix='(\d+)'|netmask='([\d.]+)')", xml):
            mask = m.group(2) or m.group(3)
            used.append(ipaddress.ip_network("%s/%s" % (m.group(1), mask), strict=False))
    return used


def free_block24(preferred, uri="qemu:///system"):
    """A /24 ("10.x.0") that no host route, address or libvirt network uses:
    preferred ("10.217.0") when free, else the first free 10.200-250.0.  A
    VPC network left by a run that was killed must not fail the next one."""
    import ipaddress
    used = _blocks_in_use(uri)
    for cand in [preferred] + ["10.%d.0" % i for i in range(200, 251)]:
        net = ipaddress.ip_network(cand + ".0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return cand
    raise AssertionError("no free 10.x.0.0/24 on this host")


def _virsh_unchecked(uri, *args):
    """virsh_on without check; a libvirtd that does not answer (timeout) is
    one more failure: teardown goes on."""
    try:
        return virsh_on(uri, *args, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", "virsh timed out")


def _one_line(text):
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def nic_filter_name(group_ids):
    """The shared NIC filter of a set of groups (lv_nwfilter_nic_name):
    "cg-nic-" and FNV-1a 64 over the sorted ids, each followed by 0xff."""
    mask, prime, h = (1 << 64) - 1, 1099511628211, 14695981039346656037
    for gid in sorted(group_ids):
        for b in gid.encode() + b"\xff":
            h = ((h ^ b) * prime) & mask
    return "cg-nic-%016x" % h


def gateway_filters(gw):
    """The nwfilters gw's database says it made, NIC filters first (they
    reference the groups'): the shared "cg-nic-<hash>" of each set of groups
    an instance has and the "cg-i-<id>" of each instance (before shared
    filters), from the rows written before a NIC filter is made, then
    "cg-sg-<id>" of each group, and the filter of each unfinished
    security-group intent (a change a kill cut short, or a filter libvirt
    would not let go)."""
    if not os.path.exists(os.path.join(gw.dir, "state", "cloudgate.db")):
        return []
    names = []
    try:
        per_instance = {}
        for iid, gid in db_rows(gw, "SELECT instance_id, group_id FROM instance_groups"):
            per_instance.setdefault(iid, []).append(gid)
        names += sorted({nic_filter_name(g) for g in per_instance.values()})
    except sqlite3.Error as e:   # a table this gateway never made
        print("nwfilters of %s: instance_groups: %s" % (gw.dir, e))
    for sql in ("SELECT DISTINCT 'cg-i-' || instance_id FROM instance_groups",
                "SELECT 'cg-sg-' || id FROM security_groups",
                "SELECT DISTINCT data FROM intents WHERE kind = 'sg-filter'"):
        try:
            rows = db_rows(gw, sql)
        except sqlite3.Error as e:   # a table this gateway never made
            print("nwfilters of %s: %s: %s" % (gw.dir, sql, e))
            continue
        names += [r[0] for r in rows if r[0].startswith(("cg-i-", "cg-sg-")) and
                  r[0] not in names]
    return names


def remove_filters(gw):
    """Undefine in each zone of gw the nwfilters it made (gateway_filters)
    that are still defined: its groups end with its state directory, their
    filters would stay on the host for ever.  Names come from gw's database
    only, never from a listing: other gateways (a CI run) may share the
    libvirtd.  Only once gw has stopped (a running one may define them
    again); reads its database read-only.  A filter libvirt refuses (in use
    by a running guest) is logged and stays.  Returns the names that stay,
    also kept in gw.filters_left; None when gw still runs."""
    if gw.proc and gw.proc.poll() is None:
        print("nwfilters of %s left alone: its cloudgated still runs" % gw.dir)
        return None
    # test:// has no nwfilter driver.
    zones = [(zone, uri) for zone, uri in gw.zones if not uri.startswith("test:")]
    names = gateway_filters(gw) if zones else []
    left = gw.filters_left = []
    if not names:
        return left
    for zone, uri in zones:
        r = _virsh_unchecked(uri, "nwfilter-list")
        if r.returncode != 0:
            print("nwfilters of %s in %s not removed: %s" % (gw.dir, zone, _one_line(r.stderr)))
            left += [n for n in names if n not in left]
            continue
        defined = set(r.stdout.split()[1::2])
        for name in names:
            if name not in defined:
                continue
            u = _virsh_unchecked(uri, "nwfilter-undefine", name)
            if u.returncode == 0:
                print("nwfilter %s in %s undefined" % (name, zone))
            else:
                print("nwfilter %s in %s stays: %s" % (name, zone, _one_line(u.stderr)))
                if name not in left:
                    left.append(name)
    remove_sets(gw, [n for n in names if n not in left])
    return left


def ipset_members(name):
    """The addresses in ipset name, or None when there is no such set."""
    r = subprocess.run(["ipset", "list", name], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    return r.stdout.split("Members:\n", 1)[1].split()


def remove_sets(gw, names):
    """Destroy the ipsets of gw's groups among names (a group's set is
    named as its filter, drivers/libvirt/lv_sg_ipset.h; with its swap
    partner "-t"), once no filter names them.  Only on this machine: a
    remote zone's groups have no sets."""
    if not any("://" in uri and uri.split("://", 1)[1].startswith("/")
               for _, uri in gw.zones if not uri.startswith("test")):
        return
    try:
        have = set(subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True,
                                  timeout=30).stdout.split())
    except OSError:
        return      # no ipset here: the gateway made no sets either
    for name in names:
        for s in (name + "-t", name):
            if name.startswith("cg-sg-") and s in have:
                r = subprocess.run(["ipset", "destroy", s], capture_output=True, text=True,
                                   timeout=30)
                print("ipset %s %s" % (s, "destroyed" if r.returncode == 0 else
                                       "stays: " + _one_line(r.stderr)))
