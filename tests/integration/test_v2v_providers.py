"""External VM providers (virt-v2v sources): cloudgate-admin v2v-add, -list,
-remove, -vms and -check against libvirt's test driver (test:///default
and a node file with shut-off VMs) and, when reachable, a domain defined on
qemu:///system outside cloudgate."""
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import time

import pytest

from cgharness import ADMIN, Gateway

NODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testnode.xml")
TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
EXIT_NOT_IMPORTABLE = 3


def source_node(directory):
    """A test-driver node: 'legacy' shut off with a 3 MiB raw disk and an
    empty CD-ROM, 'db' shut off with two disks, 'live' running."""
    disk = os.path.join(directory, "legacy.img")
    with open(disk, "wb") as f:
        f.truncate(3 << 20)
    data = os.path.join(directory, "db-data.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", data, "5M"], check=True)

    def dom(name, mem_kib, vcpus, state, disks):
        return ("<domain type='test' xmlns:test='%s'><name>%s</name><memory>%d</memory>"
                "<vcpu>%d</vcpu><os><type>hvm</type></os><devices>%s</devices>"
                "<test:runstate>%d</test:runstate></domain>"
                % (TEST_NS, name, mem_kib, vcpus, disks, state))

    legacy = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
              "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
              "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
              % disk)
    db = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
          "<source file='%s'/><target dev='sda' bus='scsi'/></disk>"
          "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
          "<source file='%s'/><target dev='sdb' bus='scsi'/></disk>" % (disk, data))
    path = os.path.join(directory, "source.xml")
    with open(path, "w") as f:
        f.write("<node>%s%s%s</node>" % (dom("legacy", 1048576, 2, 5, legacy),
                                         dom("db", 2097152, 4, 5, db),
                                         dom("live", 524288, 1, 1, legacy)))
    return path, disk, data


@pytest.fixture
def cg(tmp_path):
    """A gateway configuration (the daemon is not started: the admin tool
    needs only the file and the state dir) with one provider in the file."""
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE)], domain_type="test")
    with open(g.conf, "a") as f:
        f.write("[v2v fromconf]\nuri = test:///default\n")
    yield g
    shutil.rmtree(g.dir, ignore_errors=True)


@pytest.fixture
def source(tmp_path):
    return source_node(str(tmp_path))


def rows(text):
    return [line.split("\t") for line in text.splitlines() if line]


def listed(cg):
    return {p["name"]: p for p in json.loads(cg.admin("v2v-list", "--json").stdout)}


def vms(cg, name):
    return {v["name"]: v for v in json.loads(cg.admin("v2v-vms", name, "--json").stdout)}


def fails(cg, *args, code=1):
    r = cg.admin(*args, check=False)
    assert r.returncode == code, (args, r.returncode, r.stdout, r.stderr)
    if code != 2:                   # usage errors may come from getopt
        assert r.stderr.startswith("cloudgate-admin: "), r.stderr
    return r.stderr


def test_add_list_remove(cg, source):
    node, _, _ = source
    assert cg.admin("v2v-add", "lab", "--uri", "test://" + node).stdout == "lab\n"
    assert cg.admin("v2v-add", "--uri", "test:///default", "other").stdout == "other\n"
    got = listed(cg)
    assert list(got) == ["fromconf", "lab", "other"]
    assert got["fromconf"]["origin"] == "config"
    assert got["lab"] == {"name": "lab", "origin": "added", "uri": "test://" + node,
                          "user": None, "password_file": None}
    # The plain table says the same.
    table = {r[0]: r for r in rows(cg.admin("v2v-list").stdout)}
    assert table["lab"] == ["lab", "added", "test://" + node, "-", "-"]
    assert table["fromconf"][1] == "config"

    cg.admin("v2v-remove", "lab")
    assert list(listed(cg)) == ["fromconf", "other"]
    assert "no v2v provider called lab" in fails(cg, "v2v-remove", "lab")
    assert "no v2v provider called lab" in fails(cg, "v2v-vms", "lab")


def test_vms_of_a_node_file(cg, source):
    node, disk, data = source
    cg.admin("v2v-add", "lab", "--uri", "test://" + node)
    got = vms(cg, "lab")
    assert list(got) == ["db", "legacy", "live"]          # sorted by name
    legacy = got["legacy"]
    assert (legacy["state"], legacy["active"], legacy["vcpus"], legacy["memory_mib"]) == \
        ("shut off", False, 2, 1024)
    assert [(d["target"], d["device"], d["source"], d["format"]) for d in legacy["disks"]] == \
        [("vda", "disk", disk, "raw"), ("hdc", "cdrom", None, None)]
    assert legacy["disks"][0]["capacity"] == 3 << 20
    assert legacy["disks"][1]["capacity"] is None
    db = got["db"]
    assert (db["vcpus"], db["memory_mib"], len(db["disks"])) == (4, 2048, 2)
    assert [d["target"] for d in db["disks"]] == ["sda", "sdb"]
    assert db["disks"][1]["format"] == "qcow2" and db["disks"][1]["source"] == data
    assert got["live"]["state"] == "running" and got["live"]["active"] is True

    # The table: a VM row, then one indented row per disk.
    lines = cg.admin("v2v-vms", "lab").stdout.splitlines()
    i = lines.index("legacy\tshut off\t2\t1024\t2")
    assert lines[i + 1] == "\tvda\tdisk\traw\t%d\t%s" % (3 << 20, disk)
    assert lines[i + 2] == "\thdc\tcdrom\t-\t-\t-"


def test_default_test_driver(cg):
    got = vms(cg, "fromconf")
    assert list(got) == ["test"]
    assert got["test"]["state"] == "running" and got["test"]["vcpus"] >= 1
    assert got["test"]["memory_mib"] > 0
    assert got["test"]["disks"][0]["target"] == "vda"


def test_check_importable(cg, source):
    node, disk, _ = source
    cg.admin("v2v-add", "lab", "--uri", "test://" + node)
    r = cg.admin("v2v-check", "lab", "legacy")
    assert r.stdout.splitlines()[0] == "legacy\tshut off\t2\t1024\t2"
    err = fails(cg, "v2v-check", "lab", "live", code=EXIT_NOT_IMPORTABLE)
    assert "VM live is running" in err and "virt-v2v converts only shut-off VMs" in err
    err = fails(cg, "v2v-check", "lab", "nosuch")
    assert "v2v provider lab has no VM called nosuch" in err
    err = fails(cg, "v2v-check", "fromconf", "test", code=EXIT_NOT_IMPORTABLE)
    assert "running" in err
    fails(cg, "v2v-check", "lab", code=2)


def test_duplicates_and_config_provider(cg):
    cg.admin("v2v-add", "a", "--uri", "test:///default")
    assert "v2v provider a already exists" in fails(cg, "v2v-add", "a", "--uri",
                                                    "test:///default")
    err = fails(cg, "v2v-add", "fromconf", "--uri", "test:///default")
    assert "fromconf is in the configuration file" in err
    err = fails(cg, "v2v-remove", "fromconf")
    assert "comes from the configuration file" in err and "[v2v fromconf]" in err
    assert list(listed(cg)) == ["fromconf", "a"]


@pytest.mark.parametrize("uri, why", [
    ("http://example.com/", "uri scheme 'http' is not a libvirt driver"),
    ("qemu", "has no scheme"),
    ("qemu:/system", "must be SCHEME://"),
    ("qemu+ftp://host/system", "uri transport 'ftp'"),
    ("qemu:///sys tem", "space or control character"),
    ("", "uri is required"),
    ("x" * 1100, "longer than 1024"),
    ("esx://root:hunter2@esx1/?no_verify=1", "must not hold a password"),
])
def test_bad_uri(cg, uri, why):
    err = fails(cg, "v2v-add", "bad", "--uri", uri)
    assert why in err and "hunter2" not in err
    assert "bad" not in listed(cg)


def test_bad_names_and_usage(cg):
    for name in ("-x", ".hidden", "a/b", "a b", "x" * 65, ""):
        assert "name is 1..64 of" in fails(cg, "v2v-add", "--uri", "test:///default", "--",
                                           name)
    fails(cg, "v2v-add", "--uri", "test:///default", code=2)            # no NAME
    fails(cg, "v2v-add", "a", "b", "--uri", "test:///default", code=2)
    fails(cg, "v2v-add", "a", "--uri", "test:///default", "--bogus", code=2)
    fails(cg, "v2v-list", "extra", code=2)
    fails(cg, "v2v-vms", code=2)
    fails(cg, "v2v-vms", "fromconf", "--xml", code=2)
    fails(cg, "v2v-remove", code=2)
    assert list(listed(cg)) == ["fromconf"]


def test_password_file(cg, tmp_path):
    secret = "pw-" + secrets.token_hex(12)
    pw = tmp_path / "pw"
    pw.write_text(secret + "\n")
    pw.chmod(0o600)
    r = cg.admin("v2v-add", "auth", "--uri", "test:///default", "--user", "alice",
                 "--password-file", str(pw))
    assert r.stderr == ""                     # 0600: no warning
    got = listed(cg)["auth"]
    assert got["user"] == "alice" and got["password_file"] == str(pw)
    out = [r.stdout, cg.admin("v2v-list").stdout, cg.admin("v2v-vms", "auth").stdout,
           cg.admin("v2v-vms", "auth", "--json").stdout]
    assert not any(secret in o for o in out)
    # Only the path is stored, never the password.
    db = os.path.join(cg.dir, "state", "cloudgate.db")
    con = sqlite3.connect(db)
    try:
        (settings,) = con.execute("SELECT settings FROM providers WHERE kind = 'v2v' AND "
                                  "name = 'auth'").fetchone()
    finally:
        con.close()
    assert json.loads(settings) == {"uri": "test:///default", "user": "alice",
                                    "password_file": str(pw)}
    for f in os.listdir(os.path.join(cg.dir, "state")):
        with open(os.path.join(cg.dir, "state", f), "rb") as fh:
            assert secret.encode() not in fh.read(), f

    # A relative path is stored absolute.
    r = subprocess.run([ADMIN, "-c", cg.conf,
                        "v2v-add", "rel", "--uri", "test:///default", "--password-file", "pw"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert listed(cg)["rel"]["password_file"] == str(pw)

    # Readable by others: added, with a warning.
    pw.chmod(0o644)
    r = cg.admin("v2v-add", "open", "--uri", "test:///default", "--password-file", str(pw))
    assert "can be read by others" in r.stderr and secret not in r.stderr


def test_unreadable_password_file(cg, tmp_path):
    err = fails(cg, "v2v-add", "a", "--uri", "test:///default", "--password-file",
                str(tmp_path / "missing"))
    assert "missing" in err and "No such file" in err
    err = fails(cg, "v2v-add", "a", "--uri", "test:///default", "--password-file",
                str(tmp_path))
    assert "is not a regular file" in err
    if os.geteuid() != 0:                       # root reads a mode-000 file anyway
        f = tmp_path / "locked"
        f.write_text("x\n")
        f.chmod(0)
        assert "Permission denied" in fails(cg, "v2v-add", "a", "--uri", "test:///default",
                                            "--password-file", str(f))
    assert "a" not in listed(cg)


def test_unreachable_uri_fails_fast(cg):
    uri = "qemu+tcp://127.0.0.1:1/system"
    t = time.monotonic()
    err = fails(cg, "v2v-add", "down", "--uri", uri)
    assert time.monotonic() - t < 10
    assert "cannot connect to v2v provider down (%s)" % uri in err
    assert "down" not in listed(cg)
    # --no-check saves it; listing its VMs then says why, as fast.
    cg.admin("v2v-add", "down", "--uri", uri, "--no-check")
    t = time.monotonic()
    err = fails(cg, "v2v-vms", "down")
    assert time.monotonic() - t < 10
    assert "cannot connect" in err and "127.0.0.1:1" in err
    cg.admin("v2v-remove", "down")


def test_config_errors(tmp_path):
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE)], domain_type="test")
    try:
        base = open(g.conf).read()
        for extra, why in [
            ("[v2v a]\nuser = root\n", "uri is required"),
            ("[v2v a]\nuri = ftp://x/\n", "not a libvirt driver"),
            ("[v2v a]\nuri = test:///default\npassword = x\n", "unknown key 'password'"),
            ("[v2v a]\nuri = test:///default\n[v2v a]\nuri = test:///default\n", "twice"),
            ("[v2v a]\nuri = test:///default\npassword_file = pw\n", "absolute path"),
        ]:
            with open(g.conf, "w") as f:
                f.write(base + extra)
            r = g.admin("v2v-list", check=False)
            assert r.returncode == 1 and why in r.stderr, (extra, r.stderr)
    finally:
        shutil.rmtree(g.dir, ignore_errors=True)


def qemu_system_ok():
    r = subprocess.run(["virsh", "-c", "qemu:///system", "uri"], capture_output=True, timeout=30)
    return r.returncode == 0


@pytest.mark.skipif(not qemu_system_ok(), reason="qemu:///system not reachable")
def test_qemu_system_stopped_domain(cg, tmp_path):
    """A domain defined (never started) on qemu:///system outside cloudgate,
    the issue's "another KVM host" source, is listed with its disk and
    passes the import checks."""
    name = "cg-v2vprov-" + secrets.token_hex(4)
    disk = str(tmp_path / "src.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"], check=True)
    xml = tmp_path / "dom.xml"
    xml.write_text(
        "<domain type='qemu'><name>%s</name><memory unit='MiB'>256</memory><vcpu>2</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda' bus='virtio'/></disk>"
        "</devices></domain>" % (name, disk))
    subprocess.run(["virsh", "-c", "qemu:///system", "define", str(xml)], check=True,
                   capture_output=True)
    try:
        cg.admin("v2v-add", "kvm", "--uri", "qemu:///system")
        got = vms(cg, "kvm")[name]
        assert (got["state"], got["active"], got["vcpus"], got["memory_mib"]) == \
            ("shut off", False, 2, 256)
        assert [(d["target"], d["format"], d["source"], d["capacity"])
                for d in got["disks"]] == [("vda", "qcow2", disk, 64 << 20)]
        r = cg.admin("v2v-check", "kvm", name)
        assert r.stdout.splitlines()[0] == "%s\tshut off\t2\t256\t1" % name
    finally:
        subprocess.run(["virsh", "-c", "qemu:///system", "undefine", name],
                       capture_output=True)


def test_hostile_names_stay_in_their_row(cg, tmp_path):
    """A disk path with a tab and a newline (char references in the source's
    XML) cannot make table rows or columns of its own (libvirt may already
    turn them into spaces; either way the row keeps its shape)."""
    node = tmp_path / "odd.xml"
    node.write_text(
        "<node><domain type='test' xmlns:test='%s'><name>odd</name><memory>65536</memory>"
        "<vcpu>1</vcpu><os><type>hvm</type></os><devices><disk type='file' device='disk'>"
        "<source file='/tmp/a&#9;b&#10;odd&#9;running'/><target dev='vda'/></disk>"
        "</devices><test:runstate>5</test:runstate></domain></node>" % TEST_NS)
    cg.admin("v2v-add", "odd", "--uri", "test://%s" % node)
    lines = cg.admin("v2v-vms", "odd").stdout.splitlines()
    assert lines[0] == "odd\tshut off\t1\t64\t1"
    assert len(lines) == 2 and lines[1].count("\t") == 5, lines
    source = vms(cg, "odd")["odd"]["disks"][0]["source"]
    assert source.replace("\t", " ").replace("\n", " ") == "/tmp/a b odd running"
    assert lines[1].endswith("\t" + source.replace("\t", "?").replace("\n", "?"))


def test_credentials_answered_from_settings(cg, tmp_path):
    """libvirt's esx driver asks for a user name and a password before it
    connects: with a password file the questions are answered and the
    connection itself fails (nothing listens on port 1); without one the
    password question is refused at once (no prompt, even on a terminal)."""
    uri = "esx://127.0.0.1:1/?no_verify=1&transport=http"
    pw = tmp_path / "pw"
    pw.write_text("s3cret-" + secrets.token_hex(8) + "\n")
    pw.chmod(0o600)
    err = fails(cg, "v2v-add", "esx", "--uri", uri, "--user", "bob", "--password-file", str(pw))
    assert "Password request failed" not in err
    assert "Couldn't connect to server" in err and pw.read_text().strip() not in err
    err = fails(cg, "v2v-add", "esx", "--uri", uri, "--user", "bob")
    assert "authentication failed: Password request failed" in err
    # A password file that went away after v2v-add: refused the same way.
    cg.admin("v2v-add", "esx", "--uri", uri, "--user", "bob", "--password-file", str(pw),
             "--no-check")
    pw.unlink()
    err = fails(cg, "v2v-vms", "esx")
    assert "Password request failed" in err


def test_ssh_never_prompts(cg, tmp_path):
    """qemu+ssh runs ssh(1): it must run in batch mode (no password prompt
    on a terminal, no wait) without changing the stored URI.  A fake ssh
    on PATH records how libvirt runs it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "ssh"
    args = tmp_path / "ssh-args"
    fake.write_text("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\nexit 255\n" % args)
    fake.chmod(0o755)
    uri = "qemu+ssh://root@kvm2.invalid/system"
    cg.admin("v2v-add", "kvm2", "--uri", uri, "--no-check")
    env = dict(os.environ, PATH="%s:%s" % (bindir, os.environ["PATH"]))
    r = subprocess.run([ADMIN, "-c", cg.conf, "v2v-vms", "kvm2"], env=env, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "cannot connect to v2v provider kvm2 (%s)" % uri in r.stderr
    argv = args.read_text().splitlines()
    assert "BatchMode=yes" in argv and "kvm2.invalid" in argv and "root" in argv
    assert listed(cg)["kvm2"]["uri"] == uri
