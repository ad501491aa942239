"""Glance providers against a real Glance and Keystone (tests/glance_env.py):
cloudgate-admin glance-add/-list/-remove/-images/-download, over plain http
without auth and over https behind Keystone."""
import filecmp
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import time

import pytest

from cgharness import ADMIN, Gateway
from glance_env import CG_PASSWORD, CG_PROJECT, CG_USER, GlanceEnv, have_glance

pytestmark = pytest.mark.skipif(not have_glance(), reason="glance-api/keystone not installed "
                                "(scripts/setup-host.sh)")

NODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testnode.xml")


def make_images(env, names):
    """A 64 MiB qcow2 (small file) and raw images of random bytes; returns
    {name: (record, path)}."""
    out = {}
    for i, name in enumerate(names):
        path = os.path.join(env.dir, name)
        if i == 0:
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "64M"], check=True)
            fmt = "qcow2"
        else:
            with open(path, "wb") as f:
                f.write(os.urandom(300000 + 4096 * i))
            fmt = "raw"
        out[name] = (env.upload(name, path, fmt), path)
    return out


@pytest.fixture(scope="module")
def noauth():
    env = GlanceEnv("noauth").start()
    try:
        env.images = make_images(env, ["cg-qcow2", "cg-raw", "cg-raw-2"])
        yield env
    finally:
        env.cleanup()


@pytest.fixture(scope="module")
def keystone():
    env = GlanceEnv("keystone").start()
    try:
        env.images = make_images(env, ["ks-qcow2", "ks-raw"])
        yield env
    finally:
        env.cleanup()


@pytest.fixture
def gw(noauth):
    """A gateway configuration (not started: the admin tool needs only its
    state dir) with one provider in the file itself."""
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE)], domain_type="test")
    with open(g.conf, "a") as f:
        f.write("[glance fromconf]\nurl = %s\n" % noauth.url)
    return g


def rows(text):
    return [line.split("\t") for line in text.splitlines() if line]


def add_keystone(gw, env, name="ks", ca=None, password_file=None, check=True, extra=()):
    return gw.admin("glance-add", name, "--url", env.https_url, "--keystone-url",
                    env.keystone_url, "--user", CG_USER, "--password-file",
                    password_file or env.password_file, "--project", CG_PROJECT,
                    "--ca-file", ca or env.ca_file, *extra, check=check)


def admin_env(gw, *args, env=None):
    """cloudgate-admin with extra environment variables; must succeed."""
    r = subprocess.run([ADMIN, "-c", gw.conf] + list(args), capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, r.stderr
    return r


def test_noauth_add_list_images(gw, noauth):
    assert gw.admin("glance-add", "open", "--url", noauth.url).stdout.strip() == "open"
    listed = {r[0]: r for r in rows(gw.admin("glance-list").stdout)}
    assert listed["open"][1:3] == ["added", noauth.url]
    assert listed["fromconf"][1] == "config"
    for name in ("open", "fromconf"):
        got = {r[1]: r for r in rows(gw.admin("glance-images", name).stdout)}
        for img, (rec, path) in noauth.images.items():
            assert got[img] == [rec["id"], img, "active", rec["disk_format"], "bare",
                                str(os.path.getsize(path))]
    # A runtime provider may not take a configured name, nor remove one.
    r = gw.admin("glance-add", "fromconf", "--url", noauth.url, check=False)
    assert r.returncode == 1 and "configuration file" in r.stderr
    r = gw.admin("glance-remove", "fromconf", check=False)
    assert r.returncode == 1 and "configuration file" in r.stderr


def test_paging_follows_next(gw, noauth):
    """Page size 1 over 3 images: the client must follow next links (and
    stop at the empty page Glance ends a full last page with)."""
    gw.admin("glance-add", "open", "--url", noauth.url)
    log = os.path.join(noauth.dir, "log", "glance-api.log")

    def settled():
        """limit=1 requests in Glance's log once it stops growing: it is
        written after the answer (glance-add's own check asks limit=1)."""
        last, stable_since = None, time.time()
        while time.time() - stable_since < 1.0:
            n = open(log).read().count("limit=1")
            if n != last:
                last, stable_since = n, time.time()
            time.sleep(0.1)
        return last

    before = settled()
    r = admin_env(gw, "glance-images", "open", env={"CG_GLANCE_PAGE_SIZE": "1"})
    names = sorted(row[1] for row in rows(r.stdout))
    assert names == sorted(noauth.images)
    pages = settled() - before
    assert pages == len(noauth.images) + 1, pages


def test_noauth_download_identical(gw, noauth, tmp_path):
    gw.admin("glance-add", "open", "--url", noauth.url)
    for name, (rec, path) in noauth.images.items():
        out = str(tmp_path / name)
        r = gw.admin("glance-download", "open", rec["id"], out)
        assert filecmp.cmp(out, path, shallow=False)
        assert r.stdout.split("\t")[2].strip() == "sha512"
        assert "100%" in r.stderr
        assert not os.path.exists(out + ".part")


def test_unknown_provider_and_image(gw, noauth, tmp_path):
    r = gw.admin("glance-images", "nosuch", check=False)
    assert r.returncode == 1 and "no Glance provider called nosuch" in r.stderr
    gw.admin("glance-add", "open", "--url", noauth.url)
    out = str(tmp_path / "x")
    r = gw.admin("glance-download", "open", "00000000-0000-4000-8000-000000000000", out,
                 check=False)
    assert r.returncode == 1 and "no image 00000000-0000-4000-8000-000000000000" in r.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".part")


def test_unreachable_and_needs_auth(gw, keystone):
    r = gw.admin("glance-add", "down", "--url", "http://127.0.0.1:1", check=False)
    assert r.returncode == 1 and "unreachable" in r.stderr
    r = gw.admin("glance-add", "noauth", "--url", keystone.url, check=False)
    assert r.returncode == 1 and "401" in r.stderr
    assert "down" not in gw.admin("glance-list").stdout


def test_keystone_https(gw, keystone, tmp_path):
    r = add_keystone(gw, keystone)
    assert r.stdout.strip() == "ks" and "warning" not in r.stderr   # a 0600 file
    listed = {r[0]: r for r in rows(gw.admin("glance-list").stdout)}
    assert listed["ks"] == ["ks", "added", keystone.https_url, keystone.keystone_url, CG_USER,
                            CG_PROJECT, "Default", keystone.ca_file]
    got = {r[1]: r for r in rows(gw.admin("glance-images", "ks").stdout)}
    assert set(got) == set(keystone.images)
    for name, (rec, path) in keystone.images.items():
        assert got[name][3:] == [rec["disk_format"], "bare", str(os.path.getsize(path))]
        out = str(tmp_path / name)
        gw.admin("glance-download", "ks", rec["id"], out)
        with open(out, "rb") as f:
            assert hashlib.sha512(f.read()).hexdigest() == rec["os_hash_value"]
        assert filecmp.cmp(out, path, shallow=False)
    assert gw.admin("glance-remove", "ks").returncode == 0
    assert "ks" not in [r[0] for r in rows(gw.admin("glance-list").stdout)]
    r = gw.admin("glance-images", "ks", check=False)
    assert r.returncode == 1


def test_wrong_password_saves_nothing(gw, keystone):
    bad = os.path.join(gw.dir, "bad-password")
    with open(bad, "w") as f:
        f.write("not-the-password\n")
    os.chmod(bad, 0o644)
    r = add_keystone(gw, keystone, name="badpw", password_file=bad, check=False)
    assert r.returncode == 1
    assert "refused the credentials of user %s" % CG_USER in r.stderr
    assert "can be read by others (chmod 600)" in r.stderr
    assert "not-the-password" not in r.stderr + r.stdout
    assert "badpw" not in gw.admin("glance-list").stdout


def test_wrong_ca_names_the_file(gw, keystone):
    r = add_keystone(gw, keystone, name="badca", ca=keystone.other_ca_file, check=False)
    assert r.returncode == 1
    assert "TLS verification" in r.stderr and keystone.other_ca_file in r.stderr
    assert "badca" not in gw.admin("glance-list").stdout
    # --no-check saves it; then every use fails the same way.
    add_keystone(gw, keystone, name="badca", ca=keystone.other_ca_file, extra=("--no-check",))
    r = gw.admin("glance-images", "badca", check=False)
    assert r.returncode == 1 and keystone.other_ca_file in r.stderr


def test_token_reused_within_a_run(gw, keystone, tmp_path):
    """One Keystone token per admin run, however many Glance requests it
    makes: 3 pages of images, or an image record plus its data."""
    add_keystone(gw, keystone)
    before = keystone.count_token_posts()
    r = admin_env(gw, "glance-images", "ks", env={"CG_GLANCE_PAGE_SIZE": "1"})
    assert len(rows(r.stdout)) == len(keystone.images)
    assert keystone.count_token_posts() - before == 1
    rec, path = keystone.images["ks-raw"]
    before = keystone.count_token_posts()
    gw.admin("glance-download", "ks", rec["id"], str(tmp_path / "d"))
    assert keystone.count_token_posts() - before == 1


def test_password_stored_nowhere(gw, keystone):
    r = add_keystone(gw, keystone)
    gw.admin("glance-images", "ks")
    assert CG_PASSWORD not in r.stdout + r.stderr
    state = os.path.join(gw.dir, "state")
    db = os.path.join(state, "cloudgate.db")
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(FULL)")
        row = c.execute("SELECT * FROM providers WHERE kind = 'glance' AND name = 'ks'"
                        ).fetchone()
        cols = [d[0] for d in c.execute("SELECT * FROM providers").description]
    assert row is not None
    assert json.loads(dict(zip(cols, row))["settings"])["password_file"] == \
        keystone.password_file
    assert not any(CG_PASSWORD in str(v) for v in row)
    # The bytes of every file under the state dir (db, WAL, logs).
    for top, _, files in os.walk(gw.dir):
        for name in files:
            if os.path.join(top, name) == keystone.password_file:
                continue
            with open(os.path.join(top, name), "rb") as f:
                assert CG_PASSWORD.encode() not in f.read(), name
    assert re.search(r"^cloudgate.db$", "\n".join(os.listdir(state)), re.M)


def test_token_renewed_when_refused(keystone, tmp_path):
    """One long-lived client (tests/glance_probe): its token is revoked by a
    password change (Keystone revokes a user's tokens then), so Glance
    answers 401; the client takes a new token once, reading the new password
    from the file, and the listing succeeds.  (Renewal before expiry is the
    same fetch, decided by cg_glance_token_stale: unit-tested.)"""
    probe = os.path.join(os.path.dirname(ADMIN), "tests", "glance_probe")
    pwfile = str(tmp_path / "pw")
    with open(pwfile, "w") as f:
        f.write("first-Pass-1\n")
    user = keystone.add_user("renewer", "first-Pass-1")
    p = subprocess.Popen([probe, keystone.https_url, keystone.keystone_url, "renewer", pwfile,
                          CG_PROJECT, keystone.ca_file], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "images=%d tokens=1" % len(keystone.images)
        keystone.admin_post("/users/" + user, {"user": {"password": "second-Pass-2"}},
                            method="PATCH", expect=200)
        with open(pwfile, "w") as f:
            f.write("second-Pass-2\n")
        # Keystone's revocation has one-second granularity: a token issued
        # in the same second as the change counts as revoked too.
        time.sleep(1.5)
        out, err = p.communicate("go\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert out.strip() == "images=%d tokens=2" % len(keystone.images), (out, err)


def test_download_cancel_and_tamper(gw, noauth, tmp_path):
    """Cancellation from the write callback stops the stream; bytes changed
    in Glance's store (same size) fail the sha512 check, and no file is left."""
    probe = os.path.join(os.path.dirname(ADMIN), "tests", "glance_probe")
    src = str(tmp_path / "big.raw")
    with open(src, "wb") as f:
        f.write(os.urandom(4 * 1024 * 1024))
    rec = noauth.upload("cg-tamper", src, "raw")
    r = subprocess.run([probe, noauth.url, "-", "-", "-", "-", "-", "download", rec["id"],
                        "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("rc=-1 ") and "download cancelled" in r.stdout, r.stdout
    got = int(re.search(r"got=(\d+)", r.stdout).group(1))
    assert 0 < got < 4 * 1024 * 1024
    r = subprocess.run([probe, noauth.url, "-", "-", "-", "-", "-", "download", rec["id"],
                        str(1 << 40)], capture_output=True, text=True, timeout=60)
    assert "rc=0 got=%d progress=yes" % (4 * 1024 * 1024) in r.stdout, r.stdout
    # The fs store keeps image ID as images/ID: flip one byte in the middle.
    stored = os.path.join(noauth.dir, "images", rec["id"])
    with open(stored, "r+b") as f:
        f.seek(2 * 1024 * 1024)
        b = f.read(1)
        f.seek(2 * 1024 * 1024)
        f.write(bytes([b[0] ^ 0xff]))
    gw.admin("glance-add", "open", "--url", noauth.url)
    out = str(tmp_path / "tampered")
    r = gw.admin("glance-download", "open", rec["id"], out, check=False)
    assert r.returncode == 1 and "checksum mismatch: sha512" in r.stderr, r.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".part")


def test_old_table_moves_to_providers():
    """Providers added by earlier versions (a glance_providers table) are
    moved once into the providers table: listed as before, table gone."""
    g = Gateway(zones=[("cloudgate-a", "test://" + NODE)], domain_type="test")
    state = os.path.join(g.dir, "state")
    os.makedirs(state)
    with sqlite3.connect(os.path.join(state, "cloudgate.db")) as c:
        c.execute("CREATE TABLE glance_providers (name TEXT PRIMARY KEY, url TEXT NOT NULL,"
                  " keystone_url TEXT, user TEXT, password_file TEXT, project TEXT,"
                  " domain TEXT, ca_file TEXT,"
                  " created INTEGER NOT NULL DEFAULT (strftime('%s','now')))")
        c.execute("INSERT INTO glance_providers (name, url, keystone_url, user, password_file,"
                  " project) VALUES ('old', 'https://g.example:9292', 'https://k.example/v3',"
                  " 'cg', '/etc/cloudgate/pw', 'images')")
        c.execute("INSERT INTO glance_providers (name, url) VALUES ('plain', 'http://h:9292')")
        # Edited by hand into something glance-add refuses: left out.
        c.execute("INSERT INTO glance_providers (name, url) VALUES ('bad', 'ftp://h')")
    listed = {r[0]: r for r in rows(g.admin("glance-list").stdout)}
    assert sorted(listed) == ["old", "plain"]
    assert listed["old"] == ["old", "added", "https://g.example:9292", "https://k.example/v3",
                             "cg", "images", "Default", "-"]
    assert listed["plain"][:3] == ["plain", "added", "http://h:9292"]
    with sqlite3.connect(os.path.join(state, "cloudgate.db")) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "glance_providers" not in tables
        settings = json.loads(c.execute("SELECT settings FROM providers WHERE kind = 'glance'"
                                        " AND name = 'old'").fetchone()[0])
    assert settings["password_file"] == "/etc/cloudgate/pw"
    assert g.admin("glance-remove", "old").returncode == 0
    assert "old" not in g.admin("glance-list").stdout
