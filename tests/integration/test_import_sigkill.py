"""SIGKILL in the middle of an import (a slow HTTP source on 127.0.0.1):
after the restart the task is `deleted` (interrupted), its pending image is
gone and the recovery said so.  (libvirt's test:// world starts afresh with
the daemon, so the pool side of this is tests/system/test_seal_qemu.py's
SIGKILL during sealing, on qemu:///system.)"""
import http.server
import os
import signal
import sqlite3
import threading
import time

import pytest

from cgharness import wait_for
from conftest import make_gateway

MB = 1024 * 1024


class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(64 * MB))
        self.end_headers()
        try:
            for _ in range(256):
                self.wfile.write(b"\0" * (256 * 1024))
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


@pytest.fixture
def web():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/disk.raw" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_sigkill_during_import(web):
    gw = make_gateway()
    try:
        ec2 = gw.client()
        tid = ec2.import_image(DiskContainers=[{"Format": "raw", "Url": web}])["ImportTaskId"]

        def task():
            return ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
        wait_for("bytes arriving", lambda: int(task().get("Progress", "0")) > 0, 30, 0.1)
        pending = [i["ImageId"] for i in ec2.describe_images()["Images"]
                   if i["State"] == "pending"]
        assert len(pending) == 1
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait(timeout=30)
        gw.start(timeout=60)
        ec2 = gw.client()
        t = task()
        assert t["Status"] == "deleted", t
        assert "interrupted" in t["StatusMessage"], t
        assert [i for i in ec2.describe_images()["Images"] if i["ImageId"] == pending[0]] == []
        db = sqlite3.connect(os.path.join(gw.dir, "state", "cloudgate.db"))
        try:
            assert db.execute("SELECT count(*) FROM images WHERE id = ?",
                              (pending[0],)).fetchone()[0] == 0
        finally:
            db.close()
        assert "removing its image %s" % pending[0] in gw.log_text()
    finally:
        assert gw.stop() == 0, gw.log_text()
