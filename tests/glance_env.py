"""A real OpenStack Glance (and Keystone v3) on 127.0.0.1 for tests, from the
Debian packages (scripts/setup-host.sh installs glance-api, keystone, haproxy,
uwsgi).  See /work/shared/docs/glance.md for the facts this relies on.

GlanceEnv("noauth"): glance-api without authentication, plain http.
GlanceEnv("keystone"): Keystone under uwsgi, glance-api in keystone mode, and
haproxy in front of Glance giving https with a CA made here (openssl).

Everything lives in a temp dir and listens on 127.0.0.1 on free ports.  Only
the processes started here are stopped, by PID; every wait is bounded.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import requests

from cgharness import free_port

PASTE_INI = "/usr/share/glance-common/glance-api-paste.ini"
ADMIN_PASSWORD = "cg-admin-pass"
GLANCE_PASSWORD = "cg-glance-pass"
# The user cloudgate logs in as; its password only ever sits in a file.
CG_USER = "cloudgate"
CG_PROJECT = "images"
CG_PASSWORD = "Zq8-cg-SECRET-pw-7731"


def have_glance():
    return all(os.path.exists(p) for p in ("/usr/bin/glance-api", "/usr/bin/keystone-manage",
                                           "/usr/bin/uwsgi_python3", "/usr/sbin/haproxy",
                                           PASTE_INI))


class GlanceEnv:
    def __init__(self, mode, hashing=None):
        """hashing: Glance's hashing_algorithm (os_hash_algo), None: its default, sha512."""
        assert mode in ("noauth", "keystone")
        self.mode = mode
        self.hashing = hashing
        self.dir = tempfile.mkdtemp(prefix="cg-glance-")
        self.procs = []          # (name, Popen): ours, stopped by PID
        self.glance_port = free_port()
        self.url = "http://127.0.0.1:%d" % self.glance_port
        self.keystone_port = self.tls_port = None
        self.keystone_url = self.https_url = self.ca_file = None
        self.password_file = None
        self._token = None
        for d in ("etc", "log", "images", "staging", "tasks", "lock", "keystone", "tls"):
            os.makedirs(os.path.join(self.dir, d))

    # ---- processes ----
    def _run(self, argv, log, timeout=120):
        with open(os.path.join(self.dir, "log", log), "ab") as f:
            r = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d (see %s)" % (argv[0], r.returncode, log))

    def _spawn(self, name, argv, env=None):
        f = open(os.path.join(self.dir, "log", name + ".out"), "ab")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env,
                             stdin=subprocess.DEVNULL)
        f.close()
        self.procs.append((name, p))
        return p

    def _wait_http(self, name, url, timeout=60, **kw):
        deadline = time.time() + timeout
        proc = dict(self.procs)[name]
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("%s exited %d: %s" % (name, proc.returncode,
                                                          self.tail(name + ".out")))
            try:
                if requests.get(url, timeout=2, **kw).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("%s did not answer %s within %ds" % (name, url, timeout))

    def tail(self, log, n=3000):
        try:
            with open(os.path.join(self.dir, "log", log), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        """SIGTERM our processes (newest first), bounded wait, then SIGKILL."""
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        self.procs = []

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- set-up ----
    def start(self):
        try:
            if self.mode == "keystone":
                self._start_keystone()
            self._start_glance()
            if self.mode == "keystone":
                self._start_tls()
        except BaseException:
            self.cleanup()
            raise
        return self

    @staticmethod
    def _wal(path):
        # Keystone/Glance on SQLite: WAL, or an idle reader blocks writers
        # ("database is locked"); the mode persists in the file.
        with sqlite3.connect(path) as c:
            c.execute("PRAGMA journal_mode=WAL")

    def _start_keystone(self):
        d = self.dir
        self.keystone_port = free_port()
        self.keystone_url = "http://127.0.0.1:%d" % self.keystone_port
        kdir = os.path.join(d, "keystone")
        conf = os.path.join(kdir, "keystone.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nlog_file = %s/log/keystone.log\n"
                    "[database]\nconnection = sqlite:///%s/keystone.sqlite\n"
                    "[token]\nprovider = fernet\n"
                    "[fernet_tokens]\nkey_repository = %s/fernet-keys/\n"
                    "[fernet_receipts]\nkey_repository = %s/fernet-keys/\n"
                    "[credential]\nkey_repository = %s/credential-keys/\n"
                    % (d, d, kdir, kdir, kdir))
        km = ["keystone-manage", "--config-file", conf]
        self._run(km + ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
                  "keystone-manage.log")
        self._run(km + ["credential_setup", "--keystone-user", "root", "--keystone-group",
                        "root"], "keystone-manage.log")
        self._run(km + ["db_sync"], "keystone-manage.log")
        v3 = self.keystone_url + "/v3"
        self._run(km + ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                        "--bootstrap-region-id", "RegionOne", "--bootstrap-admin-url", v3,
                        "--bootstrap-public-url", v3, "--bootstrap-internal-url", v3],
                  "keystone-manage.log")
        self._wal(os.path.join(d, "keystone.sqlite"))
        env = dict(os.environ, OS_KEYSTONE_CONFIG_DIR=kdir)
        self._spawn("keystone", [
            "uwsgi_python3", "--http-socket", "127.0.0.1:%d" % self.keystone_port,
            "--wsgi-file", "/usr/bin/keystone-wsgi-public", "--master", "--processes", "2",
            "--threads", "1", "--lazy-apps", "--need-app", "--die-on-term", "--no-orphans",
            "--skip-atexit-teardown", "--add-header", "Connection: close"], env=env)
        self._wait_http("keystone", v3)
        admin = self.token("admin", ADMIN_PASSWORD, "admin")
        h = {"X-Auth-Token": admin}
        self._admin_headers = h
        post = self.admin_post

        def role_id(name):
            r = requests.get(v3 + "/roles?name=" + name, headers=h, timeout=30)
            return r.json()["roles"][0]["id"]

        def grant(project, user, role):
            r = requests.put(v3 + "/projects/%s/users/%s/roles/%s" % (project, user, role),
                             headers=h, timeout=30)
            assert r.status_code in (200, 204), r.text

        service = post("/projects", {"project": {"name": "service", "domain_id": "default"}})
        glance = post("/users", {"user": {"name": "glance", "password": GLANCE_PASSWORD,
                                          "domain_id": "default"}})
        grant(service["project"]["id"], glance["user"]["id"], role_id("admin"))
        images = post("/projects", {"project": {"name": CG_PROJECT, "domain_id": "default"}})
        user = post("/users", {"user": {"name": CG_USER, "password": CG_PASSWORD,
                                        "domain_id": "default"}})
        grant(images["project"]["id"], user["user"]["id"], role_id("member"))
        self.password_file = os.path.join(d, "cg-password")
        with open(os.open(self.password_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(CG_PASSWORD + "\n")

    def admin_post(self, path, body, method="POST", expect=201):
        """A Keystone v3 admin call (as the bootstrap admin); returns the JSON."""
        r = requests.request(method, self.keystone_url + "/v3" + path, json=body, timeout=30,
                             headers=self._admin_headers)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json() if r.text else None

    def add_user(self, name, password):
        """A user with role member on the images project; returns its id."""
        v3 = self.keystone_url + "/v3"
        h = self._admin_headers
        user = self.admin_post("/users", {"user": {"name": name, "password": password,
                                                   "domain_id": "default"}})["user"]["id"]
        project = requests.get(v3 + "/projects?name=" + CG_PROJECT, headers=h,
                               timeout=30).json()["projects"][0]["id"]
        role = requests.get(v3 + "/roles?name=member", headers=h, timeout=30).json()["roles"][0]
        r = requests.put(v3 + "/projects/%s/users/%s/roles/%s" % (project, user, role["id"]),
                         headers=h, timeout=30)
        assert r.status_code in (200, 204), r.text
        return user

    def token(self, user=CG_USER, password=CG_PASSWORD, project=CG_PROJECT):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
        r = requests.post(self.keystone_url + "/v3/auth/tokens", json=body, timeout=30)
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]

    def _start_glance(self):
        d = self.dir
        paste = os.path.join(d, "etc", "glance-api-paste.ini")
        shutil.copy(PASTE_INI, paste)
        conf = os.path.join(d, "etc", "glance-api.conf")
        text = ("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 0\n"
                "log_file = %s/log/glance-api.log\nenabled_backends = fs:file\n"
                "[database]\nconnection = sqlite:///%s/glance.sqlite\n"
                "[glance_store]\ndefault_backend = fs\n"
                "[fs]\nfilesystem_store_datadir = %s/images/\n"
                "[os_glance_staging_store]\nfilesystem_store_datadir = %s/staging/\n"
                "[os_glance_tasks_store]\nfilesystem_store_datadir = %s/tasks/\n"
                "[oslo_concurrency]\nlock_path = %s/lock\n"
                "[oslo_middleware]\nenable_proxy_headers_parsing = true\n"
                "[paste_deploy]\nconfig_file = %s\n"
                % (self.glance_port, d, d, d, d, d, d, paste))
        if self.hashing:
            text = text.replace("[DEFAULT]\n", "[DEFAULT]\nhashing_algorithm = %s\n"
                                % self.hashing, 1)
        if self.mode == "keystone":
            text += ("flavor = keystone\n[keystone_authtoken]\nwww_authenticate_uri = %s\n"
                     "auth_url = %s\nauth_type = password\nuser_domain_name = Default\n"
                     "project_domain_name = Default\nproject_name = service\n"
                     "username = glance\npassword = %s\n"
                     # No cache of validated tokens: a revoked one fails at once.
                     "token_cache_time = -1\n"
                     % (self.keystone_url, self.keystone_url, GLANCE_PASSWORD))
        with open(conf, "w") as f:
            f.write(text)
        self._run(["glance-manage", "--config-file", conf, "db_sync"], "glance-manage.log")
        self._wal(os.path.join(d, "glance.sqlite"))
        self._spawn("glance", ["glance-api", "--config-file", conf])
        self._wait_http("glance", self.url + "/versions")

    def _start_tls(self):
        t = os.path.join(self.dir, "tls")
        ossl = lambda *a: self._run(["openssl"] + list(a), "openssl.log")
        for ca in ("ca", "other-ca"):
            ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-keyout", "%s/%s.key" % (t, ca), "-out", "%s/%s.crt" % (t, ca),
                 "-subj", "/CN=cloudgate test %s" % ca)
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", t + "/server.key",
             "-out", t + "/server.csr", "-subj", "/CN=127.0.0.1")
        with open(t + "/san.ext", "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        ossl("x509", "-req", "-in", t + "/server.csr", "-CA", t + "/ca.crt", "-CAkey",
             t + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", t + "/san.ext",
             "-out", t + "/server.crt")
        with open(t + "/server.pem", "w") as out:
            for part in ("server.crt", "server.key"):
                with open(os.path.join(t, part)) as f:
                    out.write(f.read())
        self.ca_file = t + "/ca.crt"
        self.other_ca_file = t + "/other-ca.crt"
        self.tls_port = free_port()
        self.https_url = "https://127.0.0.1:%d" % self.tls_port
        cfg = os.path.join(self.dir, "etc", "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n"
                    "  timeout server 60s\n"
                    "frontend glance_tls\n  bind 127.0.0.1:%d ssl crt %s/server.pem\n"
                    "  http-request set-header X-Forwarded-Proto https\n"
                    "  default_backend glance\n"
                    "backend glance\n  server glance 127.0.0.1:%d\n"
                    % (self.tls_port, t, self.glance_port))
        self._spawn("haproxy", ["haproxy", "-db", "-f", cfg])
        self._wait_http("haproxy", self.https_url + "/versions", verify=self.ca_file)

    # ---- Glance API (python requests) ----
    def headers(self):
        if self.mode == "noauth":
            return {}
        if not self._token:
            self._token = self.token()
        return {"X-Auth-Token": self._token}

    def upload(self, name, path, disk_format, container_format="bare"):
        """Create an image and upload path; returns its record."""
        r = requests.post(self.url + "/v2/images", headers=self.headers(), timeout=60,
                          json={"name": name, "disk_format": disk_format,
                                "container_format": container_format})
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        with open(path, "rb") as f:
            r = requests.put(self.url + "/v2/images/%s/file" % image_id, data=f, timeout=120,
                             headers=dict(self.headers(),
                                          **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204, r.text
        r = requests.get(self.url + "/v2/images/" + image_id, headers=self.headers(),
                         timeout=60)
        assert r.json()["status"] == "active", r.text
        return r.json()

    def count_token_posts(self):
        """POST /v3/auth/tokens requests Keystone has logged so far."""
        return self.tail("keystone.out", n=10 ** 9).count("POST /v3/auth/tokens")


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)
