import atexit
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

_run = {"top": None, "passed": False}


def _remove_if_passed():
    # At exit, after pytest's own tmp_path cleanup (atexit runs the later
    # registered first, and pytest registers when a test first asks).
    if _run["top"] and _run["passed"]:
        shutil.rmtree(_run["top"], ignore_errors=True)
    elif _run["top"]:
        print("kept for inspection: %s" % _run["top"])


def pytest_configure(config):
    # Every temporary directory the tests make (the gateways' state and
    # logs, images, keys) goes under one per run: removed when the run
    # passes, kept and named when it fails.  Readable by others below, as
    # /tmp is: libvirt and qemu open images the tests put there.
    top = tempfile.mkdtemp(prefix="cg-pytest-")
    os.chmod(top, 0o755)
    tempfile.tempdir = top
    _run["top"] = top
    atexit.register(_remove_if_passed)


def pytest_sessionfinish(session, exitstatus):
    _run["passed"] = exitstatus == 0
